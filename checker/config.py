"""knightwatch.yaml at the repository root: option defaults; command-line flags win."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from checker.errors import InputError
from checker.evidence.bundle import FileDigest, sha256_hex
from checker.evidence.files import LineDict, Located, parse_yaml, read_text, validate
from checker.evidence.registry_names import CONFIG_NAME
from checker.options_names import (
    STEM,
    is_backup,
    is_example,
    marked_example,
    meant_as_options,
    near_yaml,
    options_suffix,
    plain_name,
)
from checker.parameters import RuleParameters
from checker.vocabulary import (
    DEFAULT_FAIL_ON,
    OPA_TIMEOUT_SECONDS,
    OPA_TOKEN_ENV,
    EngineName,
    Severity,
)


class OpaConfig(BaseModel):
    """Where the OPA server is, for ``engine: opa``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    url: str | None = None
    """The server's root, e.g. ``https://opa.internal:8181``."""
    timeout_seconds: float = Field(default=OPA_TIMEOUT_SECONDS, gt=0)
    """How long one request may take; a large audit's query may need more."""
    ca_file: str | None = None
    """A CA bundle (PEM) to verify the server's certificate with, relative to the repository."""
    token_env: str = Field(default=OPA_TOKEN_ENV, min_length=1)
    """The environment variable holding the bearer token (never the token itself)."""


def _commit_pattern(pattern: str) -> str:
    """A regular expression with a group named ``commit``."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression ({exc})") from None
    if "commit" not in compiled.groupindex:
        raise ValueError(
            f"{pattern!r} has no group named 'commit', e.g. (?P<commit>[0-9a-f]{{40}})"
        )
    return pattern


class ImagesConfig(BaseModel):
    """How ``import kubectl-pods`` links a pod's image to the commit it was built from, beside
    the image's own ``org.opencontainers.image.revision`` label (``--image-metadata``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tag_pattern: Annotated[str, AfterValidator(_commit_pattern)] | None = None
    """A regular expression the whole image tag matches, its group ``commit`` the commit's
    sha (full or abbreviated): ``(?P<commit>[0-9a-f]{40})``, ``sha-(?P<commit>[0-9a-f]{7,40})``."""
    commit_annotation: Annotated[str, Field(min_length=1)] | None = None
    """A pod annotation (or label) whose value is the commit, set by the manifests."""


class Config(RuleParameters):  # the rules' parameters, and the options of a run
    """The options a repository may set for itself."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    evidence: str | None = None
    """Evidence directory, relative to the repository root."""
    fail_on: Severity = DEFAULT_FAIL_ON
    """Lowest severity that fails the check."""
    policies: list[str] = []  # noqa: RUF012  (a pydantic field; ruff sees no BaseModel)
    """Extra policy directories, relative to the repository root."""
    require_all: bool = False
    """A pass with rules not evaluated (their evidence absent) fails instead."""
    evidence_ignore: list[str] = []  # noqa: RUF012
    """Globs of files in the evidence directory that are not evidence (every other file must
    be one knightwatch reads); the report lists the files they matched."""
    engine: EngineName | None = None
    """Where the policies are evaluated: embedded (``regorus``, the default) or ``opa``."""
    opa: OpaConfig = OpaConfig()
    """The OPA server, for ``engine: opa``."""
    images: ImagesConfig = ImagesConfig()
    """How pods' images are linked to commits by ``import kubectl-pods``; not a judging
    setting: it shapes the observations an import writes, which then say what they compared."""


def load_config(repo_root: Path, given: Path | None = None) -> tuple[Config, FileDigest | None]:
    """The repository's knightwatch.yaml, or defaults when it has none. ``given``: the
    directory the run was pointed at (``--repo``), whose options files on the way to the root
    are refused (``_refuse_below_root``)."""
    if given is not None:
        _refuse_below_root(given, repo_root)
    path = repo_root / CONFIG_NAME
    present = path.is_file()
    if not present and (path.exists() or path.is_symlink()):  # its settings would be ignored
        what = "a link that leads to no file" if path.is_symlink() else "not a file"
        raise InputError(f"{CONFIG_NAME} is {what}", path=str(path), hint="make it a file")
    _refuse_near_names(repo_root, present)
    _refuse_options_folders(repo_root)
    _refuse_pyproject_table(repo_root, repo_root)
    if not present:
        return Config(), None
    return load_config_file(path, role="config", name=CONFIG_NAME)


def _refuse_near_names(root: Path, present: bool) -> None:
    """A file at the root under a name meant as the options file's (``.knightwatch.yaml``,
    ``knightwatch.yml``, ``knightwatch-config.yaml``, a misspelt ``knightwach.yaml``:
    ``checker.options_names``) would be silently passed over, its settings (``require_all``,
    policies, review bots) with it. An editor's backup beside the real file is harmless
    (``knightwatch.yaml.bak``, ``.knightwatch.yaml.swp``)."""
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name == CONFIG_NAME or not meant_as_options(name) or (present and is_backup(name)):
            continue
        raise InputError(
            f"{name} is not read: the options file is {CONFIG_NAME}",
            path=str(entry),
            hint=f"remove it: {CONFIG_NAME} is the one read" if present else _rename(name),
        )


def _rename(name: str) -> str:
    """What to do with a near name's file where there is no options file."""
    suffixes = plain_name(name).split(".")[1:]
    yaml = {"yaml", "yml", "json"} & set(suffixes) or any(map(near_yaml, suffixes))
    write = "rename it to" if yaml else "rewrite it as YAML in"
    return (
        f"{write} {CONFIG_NAME}; if it holds no options of knightwatch's, give it a name "
        f"further from {CONFIG_NAME}"
    )


def option_examples(root: Path) -> tuple[str, ...]:
    """Examples of the options file at the root (``knightwatch.yaml.example``,
    ``knightwatch.sample.yml``: ``checker.options_names.is_example``) where there is no
    knightwatch.yaml: never read, so the run's options are the defaults, and the report says
    so. Beside knightwatch.yaml, an example is the copy it was made from, and no note is made."""
    if (root / CONFIG_NAME).is_file():
        return ()
    return tuple(sorted(entry.name for entry in root.iterdir() if is_example(entry.name)))


OWN_FOLDERS = (".knightwatch", ".knightwatch.d")
"""Folders at the root named for knightwatch: any options file in one is meant as its."""
OPTIONS_FOLDERS = (*OWN_FOLDERS, ".github", ".config")
"""Folders at the root where tools look for their options (``.github/dependabot.yml``,
``.config/mise.toml``), and those named for knightwatch: an options file in one is not read.
Compared without letter case: ``.Knightwatch/`` is ``.knightwatch/`` where the team works (a
file system that ignores case, as macOS's and Windows' do), and is passed over all the same."""


def _options_folders(root: Path) -> list[tuple[str, bool]]:
    """The folders of ``OPTIONS_FOLDERS`` at the root as named there, and whether each is
    named for knightwatch; and in a folder where other tools keep theirs, a folder named for
    knightwatch (``.config/knightwatch/``, as mise reads ``.config/mise/config.toml``)."""
    found = []
    for entry in _folders(root):
        if entry.name.casefold() in OPTIONS_FOLDERS:
            found.append((entry.name, entry.name.casefold() in OWN_FOLDERS))
            if entry.name.casefold() not in OWN_FOLDERS:
                found.extend(
                    (f"{entry.name}/{inner.name}", True)
                    for inner in _folders(entry)
                    if "." + inner.name.casefold().lstrip(".") in OWN_FOLDERS
                )
    return found


def _folders(where: Path) -> list[Path]:
    """The folders in ``where``, in name order (not links to one)."""
    return [entry for entry in sorted(where.iterdir()) if entry.is_dir() and not entry.is_symlink()]


def _refuse_options_folders(root: Path) -> None:
    """An options file in a folder where other tools keep theirs (``.knightwatch/config.yaml``,
    ``.github/knightwatch.yml``) is passed over as one at the root under another name would
    be. Only the folder's own files, where other tools keep theirs:
    ``.github/workflows/knightwatch.yml`` is a workflow. In a folder at the root named for
    knightwatch, every file below it (``.knightwatch/ci/config.yaml``, one per pipeline)."""
    for folder, named_for_us in _options_folders(root):
        inside = root / folder  # below a root folder of its own: all; else its own files
        below = inside.rglob("*") if named_for_us and "/" not in folder else inside.iterdir()
        for entry in sorted(below):
            own = named_for_us and options_suffix(entry.name) and not marked_example(entry.name)
            if not own and not meant_as_options(entry.name):
                continue
            raise InputError(
                f"{entry.relative_to(root).as_posix()} is not read: the options file is "
                f"{CONFIG_NAME} at the repository root",
                path=str(entry),
                hint=f"move it to {root / CONFIG_NAME}"
                if not (root / CONFIG_NAME).exists()
                else f"merge it into {root / CONFIG_NAME}, the one read",
            )


def _refuse_pyproject_table(folder: Path, root: Path) -> None:
    """``[tool.knightwatch]`` in ``folder``'s pyproject.toml, where Python tools read their
    options (ruff's, mypy's, pytest's), is not read either. A pyproject.toml that is no TOML is
    not knightwatch's to judge."""
    path = folder / "pyproject.toml"
    if not path.is_file():
        return
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    tool = document.get("tool")
    if isinstance(tool, dict) and STEM in tool:
        raise InputError(
            f"[tool.{STEM}] is not read: the options file is {CONFIG_NAME}",
            path=str(path),
            hint=f"move its settings to {root / CONFIG_NAME}, in YAML, and remove the table",
        )


def _refuse_below_root(given: Path, root: Path) -> None:
    """An options file in the directory ``--repo`` names, or in one between it and the
    repository's root, is refused: only the root's knightwatch.yaml is read, and a monorepo's
    team that kept its options beside its service (``--repo services/web``) had them dropped
    unseen, its ``require_all``, policies and review bots with them: under any name meant as
    the options file's (``checker.options_names``), or as ``[tool.knightwatch]`` in the
    service's pyproject.toml. Options files in other folders (an example, a fixture) are no
    part of the run and are not looked at."""
    top = root.resolve()
    here = given.resolve()
    if top not in here.parents or not here.is_dir():
        return
    for folder in (here, *here.parents):
        if folder == top:
            return
        for entry in sorted(folder.iterdir()):
            if not meant_as_options(entry.name):
                continue
            raise InputError(
                f"{entry.name} is not read: the options file is read from the repository "
                f"root, {top}",
                path=str(entry),
                hint=f"move it to {top / CONFIG_NAME}"
                if not (top / CONFIG_NAME).exists()
                else f"merge it into {top / CONFIG_NAME}, the one read",
            )
        _refuse_pyproject_table(folder, top)


def load_config_file(
    path: Path, *, role: str, name: str | None = None
) -> tuple[Config, FileDigest]:
    """A configuration file (knightwatch.yaml, or an auditor's ``--config``), validated."""
    if not path.is_file():
        raise InputError("configuration file not found", path=str(path))
    data = read_text(path)
    return parse_config(data, path), FileDigest(role, name or path.name, sha256_hex(data))


def parse_config(data: bytes, path: PurePath) -> Config:
    """A configuration file's bytes, validated; errors name ``path``."""
    document = parse_yaml(data, path)
    if document is None:
        document = LineDict()
    if not isinstance(document, dict):
        raise InputError("expected a mapping of options", path=str(path), line=1)
    line = document.line if isinstance(document, LineDict) else 1
    return validate(Config, Located(document, line), path, "option")
