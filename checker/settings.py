"""Who decides what: a run's judging settings from the command line, an auditor's configuration
file (``--config``) and the repository's own knightwatch.yaml, and what each one changed.

The repository is the audited team's: its knightwatch.yaml may set anything for its own
``check``, but every setting that weakens or changes a rule is reported in every format. For an
``audit`` (a signed statement to someone else) it may only make the rules stricter: a setting
of it that would weaken or change what is judged is not applied, and the report records it as
ignored. An auditor who means such a setting passes it on the command line or in ``--config``,
where the signed report names it, with its source, as a weakening. A gate (``check
--candidate``) resolves its settings as an audit does: it says what the audit will report,
and the repository's knightwatch.yaml is then the candidate's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from checker.config import Config, OpaConfig, load_config_file
from checker.errors import InputError
from checker.evidence.bundle import FileDigest
from checker.vocabulary import DEFAULT_EVIDENCE, severity_rank

Effect = Literal["stricter", "weaker", "changed"]

TOKEN_PREFIX = "KNIGHTWATCH_OPA_"  # noqa: S105  (a variable-name prefix, not a secret)
"""The environment variables a repository's own configuration may name as the OPA token: its
own, never another (``KNIGHTWATCH_SIGNING_KEY`` holds the signing key)."""

JUDGING: tuple[str, ...] = (
    "fail_on",
    "require_all",
    "protected_branch",
    "baseline",
    "flags_file",
    "reference_exclude",
    "review_bots",
    "review_lines",
    "observation_grace_seconds",
    "unlisted_services",
    "waiver_approvers",
    "waiver_keys",
    "service_paths",
    "engine",
    "opa",
    "policies",
)
"""Settings that change what is judged or how; the others (``evidence``, ``evidence_ignore``)
only say where evidence is and cannot hide any of it. (At a gate, where the repository's
knightwatch.yaml is the change's own, ``evidence`` is the protected branch's: the runner's
``_settings``.)"""

AUDITOR_ONLY = ("waiver_approvers", "waiver_keys", "service_paths")
"""Settings an audit takes from the auditor's side alone: who may approve the team's own
waivers cannot be the team's to say, nor with which keys they sign, nor which of its files
make up a service (narrowed to ``docs/**``, a service would ship nothing)."""

UNION = ("review_bots", "policies")
"""Lists every source adds to: one more bot, or one more rule, only makes the rules stricter."""

_DEFAULTS = Config()


@dataclass(frozen=True)
class SettingNote:
    """A judging setting that differs from its default, or that was not applied."""

    name: str
    value: Any
    default: Any
    source: str
    """``command line``, ``--config NAME``, ``knightwatch.yaml`` or ``replay``."""
    effect: Effect
    """Against the default; for a setting not applied, against what was applied instead."""
    applied: bool

    def to_dict(self) -> dict[str, Any]:
        """As it appears in the JSON report."""
        return {
            "name": self.name,
            "value": self.value,
            "default": self.default,
            "source": self.source,
            "effect": self.effect,
            "applied": self.applied,
        }

    def describe(self) -> str:
        """One line for the human formats."""
        value = _shown(self.value)
        if not self.applied:
            return (
                f"{self.name}: {value} from {self.source} not applied (it would make the "
                f"rules {'weaker' if self.effect == 'weaker' else 'judge something else'}; "
                "a repository's own configuration may only make an audit or a gate stricter)"
            )
        verb = {"stricter": "stricter", "weaker": "WEAKER", "changed": "changes what is judged"}
        return (
            f"{self.name}: {value} from {self.source} "
            f"({verb[self.effect]}; default {_shown(self.default)})"
        )


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items() if v is not None) + "}"
    return "none" if value is None else str(value)


@dataclass(frozen=True)
class Settings:
    """The settings a run uses, and the notes the report carries about them."""

    config: Config
    notes: tuple[SettingNote, ...]
    policy_dirs: tuple[Path, ...]
    """Extra policy directories, each resolved against the file (or directory) that named it."""
    own_policy_dirs: tuple[Path, ...]
    """Those of ``policy_dirs`` that the repository's knightwatch.yaml alone names."""
    opa_ca: Path | None
    config_file: FileDigest | None
    """The auditor's ``--config`` file, digested."""

    @property
    def weakening(self) -> tuple[SettingNote, ...]:
        """Applied settings that weaken or change the rules."""
        return tuple(n for n in self.notes if n.applied and n.effect != "stricter")

    @property
    def ignored(self) -> tuple[SettingNote, ...]:
        """Settings of the repository that an audit did not apply."""
        return tuple(n for n in self.notes if not n.applied)


def effect(name: str, value: Any, base: Any) -> Effect | None:
    """How ``value`` compares with ``base`` for setting ``name``: None when it is the same."""
    if value == base:
        return None
    if name in _RANKED:
        rank = _RANKED[name]
        return "stricter" if rank(value) < rank(base) else "weaker"
    if name == "require_all":
        return "stricter" if value else "weaker"
    if name in ("reference_exclude", "unlisted_services"):
        return "weaker" if set(value) - set(base) else "stricter"
    if name in _COMPARED:
        return _COMPARED[name](value, base)
    if name in UNION:
        return "stricter" if set(value) >= set(base) else "weaker"
    return "changed"


_LINES = ("any", "committed", "none")
"""``review_lines`` from the weakest to the strictest."""
_RANKED: dict[str, Callable[[Any], int]] = {
    "fail_on": severity_rank,
    "observation_grace_seconds": int,
    "review_lines": lambda value: -_LINES.index(value),
}
"""Settings whose values are ranked: a lower rank is stricter."""


def _approvers_effect(value: list[str] | None, base: list[str] | None) -> Effect:
    """None is anyone for a check; a list names who. More approvers are weaker."""
    if value is None or base is None:
        return "weaker" if value is None else "stricter"
    return "weaker" if set(value) - set(base) else "stricter"


def _keys_effect(value: dict[str, str], base: dict[str, str]) -> Effect:
    """A key dropped or replaced lets a waiver count without its approver's signature."""
    return "weaker" if set(base.items()) - set(value.items()) else "stricter"


def _paths_effect(value: dict[str, list[str]], base: dict[str, list[str]]) -> Effect:
    """Scoping a service, or giving it other globs, narrows what its deployments ship (no
    glob's reach can be compared with another's); only un-scoping services is stricter."""
    if any(set(globs) != set(base.get(name, [])) for name, globs in value.items()):
        return "weaker"
    return "stricter"


_COMPARED: dict[str, Callable[[Any, Any], Effect]] = {
    "waiver_approvers": _approvers_effect,
    "waiver_keys": _keys_effect,
    "service_paths": _paths_effect,
}
"""Settings compared by a function of their own."""


def _value(config: Config, name: str) -> Any:
    value = getattr(config, name)
    return value.model_dump() if isinstance(value, OpaConfig) else value


@dataclass(frozen=True)
class _Layer:
    source: str
    values: Mapping[str, Any]
    base: Path
    """What relative paths in it are relative to."""


def _layer(source: str, config: Config | None, base: Path) -> _Layer:
    if config is None:
        return _Layer(source, {}, base)
    return _Layer(source, {name: getattr(config, name) for name in config.model_fields_set}, base)


def resolve(
    root: Path,
    repo: Config,
    *,
    auditor: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    overrides_source: str = "command line",
    audit: bool = False,
) -> Settings:
    """The settings of one run: ``overrides`` (the command line, or a replay's recorded
    settings) over the auditor's ``--config`` file over the repository's knightwatch.yaml over
    the defaults; for an audit, the repository's only where they make the rules stricter."""
    _check_token_env(root, repo)
    auditor_config, auditor_digest = (None, None)
    if auditor is not None:
        auditor_config, auditor_digest = load_config_file(auditor, role="auditor-config")
    layers = [
        _Layer(overrides_source, dict(overrides or {}), Path.cwd()),
        _layer(
            f"--config {auditor.name}" if auditor else "--config",
            auditor_config,
            auditor.parent if auditor else root,
        ),
    ]
    repo_layer = _layer("knightwatch.yaml", repo, root)
    values: dict[str, Any] = {}
    origin: dict[str, _Layer] = {}
    notes: list[SettingNote] = []
    for name in Config.model_fields:
        value, source, refused = _setting(name, layers, repo_layer, audit)
        values[name] = value
        if source is not None:
            origin[name] = source
        notes += [refused] if refused else []
    config = Config.model_validate(values)
    notes += _applied(config, origin)
    policy_dirs, own_policy_dirs = _policy_dirs(config, layers, repo_layer)
    ca_origin = origin.get("opa")
    opa_ca = (ca_origin.base / config.opa.ca_file) if config.opa.ca_file and ca_origin else None
    return Settings(
        config=config,
        notes=tuple(sorted(notes, key=lambda n: (n.name, n.applied))),
        policy_dirs=policy_dirs,
        own_policy_dirs=own_policy_dirs,
        opa_ca=opa_ca,
        config_file=auditor_digest,
    )


def _applied(config: Config, origin: dict[str, _Layer]) -> list[SettingNote]:
    """A note for each judging setting a source set to other than its default."""
    notes = []
    for name in JUDGING:
        default = _plain(getattr(_DEFAULTS, name))
        change = effect(name, _value(config, name), default)
        if change is not None and name in origin:
            value, source = _value(config, name), origin[name].source
            notes.append(SettingNote(name, value, default, source, change, applied=True))
    return notes + _placed(config, origin)


def _placed(config: Config, origin: dict[str, _Layer]) -> list[SettingNote]:
    """A note for an evidence directory the repository's own knightwatch.yaml names: the team
    writes that file, and one naming a second, edited copy of the evidence had a signed report
    that recorded its files' names, never their directory (a replay from the repository read
    the copy again, and agreed). Named on the command line or in an auditor's ``--config``, the
    directory is whoever runs the check's choice, and no note is made."""
    layer = origin.get("evidence")
    if layer is None or layer.source != "knightwatch.yaml" or config.evidence is None:
        return []
    if Path(config.evidence) == Path(DEFAULT_EVIDENCE):
        return []
    return [
        SettingNote(
            "evidence", config.evidence, DEFAULT_EVIDENCE, layer.source, "changed", applied=True
        )
    ]


def linked_evidence(root: Path, directory: Path, names: list[str]) -> list[SettingNote]:
    """A note for each symbolic link in the repository by which the evidence is read: the
    evidence directory (``compliance -> compliance-final``) or one of its files
    (``compliance/deploys.yaml -> ../edited/deploys.yaml``). The repository holds the link, as
    it holds knightwatch.yaml (``_placed``): a signed report names its files, never where they
    lead, and a replay in the repository follows the link again and agrees. A directory named
    outside the repository is whoever runs the check's choice, and no note is made.
    ``names``: the evidence files read."""
    base, real_root = root.absolute(), root.resolve()
    named = Path(os.path.normpath(directory.absolute()))
    if not named.is_relative_to(base):
        return []
    real = directory.resolve()
    places = [(named.relative_to(base), real, real_root / named.relative_to(base))]
    places += [(places[0][0] / n, (directory / n).resolve(), real / n) for n in names]
    notes = []
    for inside, leads, plain in places:
        if leads != plain:
            where = leads.relative_to(real_root) if leads.is_relative_to(real_root) else leads
            value, link = where.as_posix(), inside.as_posix()
            notes.append(SettingNote("evidence", value, link, f"the link {link}", "changed", True))
    return notes


def _setting(
    name: str, layers: list[_Layer], repo: _Layer, audit: bool
) -> tuple[Any, _Layer | None, SettingNote | None]:
    """One setting's value and the layer it came from (None: the default); and, for an
    audit, a note for the repository's value when it would not make the rules stricter."""
    above = next((layer for layer in layers if name in layer.values), None)
    level = above.values[name] if above else getattr(_DEFAULTS, name)
    if name not in repo.values:
        return level, above, None
    mine = repo.values[name]
    if name in UNION:
        joined = list(dict.fromkeys([*level, *mine]))
        return (joined, repo, None) if joined != list(level) else (level, above, None)
    if not audit or name not in JUDGING:
        return (mine, repo, None) if above is None else (level, above, None)
    change = effect(name, _plain(mine), _plain(level))
    if name in AUDITOR_ONLY and change is not None:
        change = "weaker"
    if change == "stricter":
        return mine, repo, None
    if change is None:
        return level, above, None
    note = SettingNote(name, _plain(mine), _plain(level), "knightwatch.yaml", change, False)
    return level, above, note


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, OpaConfig) else value


def _policy_dirs(
    config: Config, layers: list[_Layer], repo: _Layer
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Each policy directory against the layer that named it; and those that the repository's
    knightwatch.yaml alone names (one an auditor's ``--config`` names too is the auditor's)."""
    named: dict[bool, list[Path]] = {True: [], False: []}
    for layer in [*layers, repo]:
        for entry in layer.values.get("policies", []):
            if entry in config.policies:
                named[layer is repo].append(layer.base / entry)
    theirs = {directory.resolve() for directory in named[False]}
    own = [directory for directory in named[True] if directory.resolve() not in theirs]
    return tuple(dict.fromkeys([*named[False], *named[True]])), tuple(dict.fromkeys(own))


def _check_token_env(root: Path, repo: Config) -> None:
    """A repository may name only a ``KNIGHTWATCH_*`` variable as its OPA token: anything else
    could send a signing key or a cloud credential to a server of its choosing."""
    if "opa" in repo.model_fields_set and "token_env" in repo.opa.model_fields_set:
        name = repo.opa.token_env
        if not name.startswith(TOKEN_PREFIX):
            raise InputError(
                f"opa.token_env {name!r}: a repository's knightwatch.yaml may name only a "
                f"{TOKEN_PREFIX}* variable as the OPA token",
                path=str(root / "knightwatch.yaml"),
                hint="name the variable in an auditor's --config file instead",
            )
