"""org.yaml: the systems in scope, each with its repository, evidence, services, owner and the
key that signs its own audits. Strict: unknown keys, a system listed twice, a service claimed
by two systems and a path that climbs out of the file's directory are input errors at their
line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as Day
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from checker.errors import InputError
from checker.evidence.bundle import sha256_hex
from checker.evidence.files import LineDict, Located, parse_yaml, read_text, validate
from checker.evidence.models import Ident, IsoDate
from checker.parameters import WaiverKeys

ORG_NAME = "org.yaml"
URL = re.compile(r"^(?:(?:https|http|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+)$")
"""A git URL: a scheme git fetches over, or scp-like ``git@host:path``."""
SYSTEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _system_name(name: str) -> str:
    """A system's name also names its attestation file (``DIR/NAME.json``)."""
    if not SYSTEM_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a system name: letters, digits, '.', '_' and '-', starting with "
            "a letter or digit"
        )
    return name


def _relative(path: str) -> str:
    """A path inside the organisation file's directory: relative, never climbing out."""
    parts = PurePosixPath(path).parts
    if path.startswith(("/", "\\")) or ".." in parts or not parts or re.match(r"^[A-Za-z]:", path):
        raise ValueError(
            f"{path!r} leaves the directory of org.yaml: give a path relative to it, without "
            "'..' (or a git URL for a repository kept elsewhere)"
        )
    return path


def _repository(value: str) -> str:
    return value if URL.match(value) else _relative(value)


def _glob(pattern: str) -> str:
    """A path glob inside the repository."""
    parts = PurePosixPath(pattern).parts
    if pattern.startswith("/") or ".." in parts or not parts:
        raise ValueError(f"{pattern!r} is not a path inside the repository (relative, no '..')")
    return pattern


def _month(value: str) -> str:
    if not re.match(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z", value):
        raise ValueError(f"{value!r} is not a month: YYYY-MM")
    return value


def _address(value: str) -> str:
    if "@" not in value:
        raise ValueError(
            f"{value!r} is not an address: the organisation names the approvers of waivers "
            "by address (a team's identities.yaml says who a person is)"
        )
    return value


def _named(value: object) -> object:
    """A service given by its name alone is a service without paths."""
    return {"name": value} if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True
    )


class OrgService(_Strict):
    """A service of a system; in a monorepo, the paths that are its code."""

    name: Ident
    paths: list[Annotated[str, Field(min_length=1), AfterValidator(_glob)]] = []
    """Globs of the repository's files that are this service's (``services/payments/**``):
    its deployments ship only the commits that touched them, and its dead-code rules look
    only there. Without them the service is the whole repository."""
    quiet: list[Annotated[str, AfterValidator(_month)]] = []
    """Months (``YYYY-MM``) the organisation states the service deployed nothing. In any
    other month a service without a deployment leaves its system not judged; in these, a
    deployment of it does."""


class OrgSystem(_Strict):
    """One system in scope: a repository, its evidence, its services, who owns it."""

    name: Annotated[str, Field(min_length=1), AfterValidator(_system_name)]
    """Unique in the file; the system's attestation in federated mode is ``NAME.json``."""
    repository: Annotated[str, Field(min_length=1), AfterValidator(_repository)]
    """A path relative to org.yaml, or a git URL (cloned with full history when judged)."""
    evidence: Annotated[str, Field(min_length=1), AfterValidator(_relative)] | None = None
    """The evidence directory, relative to org.yaml; without it, the repository's own
    (``compliance/``, or its knightwatch.yaml's ``evidence``)."""
    services: list[
        Annotated[OrgService, BeforeValidator(_named, json_schema_input_type=Ident | OrgService)]
    ] = Field(min_length=1)
    """The services it deploys: a name, or ``{name, paths}`` for a path-scoped service."""
    owner: Ident
    """Who answers for it (a team or an address)."""
    key: Annotated[str, Field(min_length=1), AfterValidator(_relative)] | None = None
    """Its public key (PEM, relative to org.yaml): the key that signs the system's own monthly
    audits. Needed for ``--from-attestations``."""


class OrgRetired(_Strict):
    """A system the organisation no longer attests: named as last month's attestation named
    it, with the day it was retired and why. The attestation records it."""

    name: Annotated[str, Field(min_length=1), AfterValidator(_system_name)]
    """The system's name in the attestation it was last covered by."""
    date: IsoDate
    """The day it was retired (``YYYY-MM-DD``): before the first day of the month audited,
    since a system retired during a month still deployed in it."""
    reason: Annotated[str, Field(min_length=1, pattern=r"\S")]
    """Why: the change that decommissioned it, where its service went."""
    repository_kept_by: Annotated[str, AfterValidator(_system_name)] | None = None
    """The listed system whose repository it shared (a monorepo), when its repository lives
    on in that system: needed to retire it then, and its evidence must still be readable."""


class OrgFile(_Strict):
    """``org.yaml``: the systems an organisation's monthly attestation covers."""

    organisation: Ident | None = None
    """The organisation's name, as the attestation states it."""
    systems: list[OrgSystem] = Field(min_length=1)
    """Every system in scope; at least one."""
    retired: list[OrgRetired] = []
    """Systems of last month's attestation no longer in scope. A chained audit stops on a
    system of last month's attestation that is neither in ``systems`` nor here."""
    waiver_approvers: list[Annotated[str, Field(min_length=1), AfterValidator(_address)]] | None = (
        None
    )
    """Who may approve the systems' waivers, by address. Federated, a team's waived finding
    counts as waived only when its audit applied waivers of these approvers alone; judging
    repositories, the list every system's waivers are applied with."""
    waiver_keys: WaiverKeys = {}
    """Approvers' public keys (``ed25519:BASE64``): judging repositories, every system's
    waivers of these approvers count only signed; federated, a team's waived finding counts
    only when its audit required the same keys' signatures."""

    @model_validator(mode="after")
    def _keys_of_approvers(self) -> OrgFile:
        """Each key is one of ``waiver_approvers``' (``checker.waivers.unasked_key``)."""
        from checker.evidence.identities import IdentityResolver, normalise
        from checker.waivers import UNASKED_HINT, unasked_key

        if self.waiver_approvers is None:
            return self
        approvers = frozenset(normalise(a) for a in self.waiver_approvers)
        listed, people = self.waiver_approvers, IdentityResolver()
        problem = unasked_key(self.waiver_keys, listed, approvers, people)
        if problem is not None:
            raise ValueError(f"waiver_keys: {problem}: {UNASKED_HINT}")
        return self


@dataclass(frozen=True)
class Service:
    """A service and its paths (none: the whole repository)."""

    name: str
    paths: tuple[str, ...] = ()
    quiet: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retired:
    """A retired system as org.yaml states it."""

    name: str
    date: Day
    reason: str
    line: int
    kept_by: str | None = None
    """``repository_kept_by``: the listed system now keeping its repository."""

    def record(self) -> dict[str, object]:
        """What the attestation says of the retirement, as org.yaml declares it."""
        kept = {"repository_kept_by": self.kept_by} if self.kept_by else {}
        return {"name": self.name, "date": self.date.isoformat(), "reason": self.reason, **kept}


@dataclass(frozen=True)
class System:
    """One system as read from org.yaml, its paths resolved: what a worker judges."""

    name: str
    owner: str
    repository: str
    """As written in org.yaml (what the attestation names)."""
    location: str
    """An absolute path, or the git URL."""
    is_url: bool
    evidence: str | None
    """As written."""
    evidence_path: Path | None
    services: tuple[Service, ...]
    key: Path | None
    key_name: str
    """The key as written in org.yaml (empty when none)."""
    line: int

    @property
    def place(self) -> str:
        """Its repository and evidence, resolved: the same system whatever its name, and
        however org.yaml spells the paths (``./repos/pay/``, a link to it)."""
        return f"{self.location}\0{self.evidence_path or ''}"

    @property
    def service_paths(self) -> dict[str, list[str]]:
        """The path-scoped services, as the rules' ``service_paths`` parameter."""
        return {s.name: list(s.paths) for s in self.services if s.paths}

    def record(self) -> dict[str, object]:
        """What the attestation says of the system, as org.yaml declares it."""
        return {
            "name": self.name,
            "owner": self.owner,
            "repository": self.repository,
            "evidence": self.evidence,
            "services": [
                {
                    "name": s.name,
                    "paths": list(s.paths),
                    **({"quiet": list(s.quiet)} if s.quiet else {}),
                }
                for s in self.services
            ],
        }


@dataclass(frozen=True)
class Organisation:
    """org.yaml, read and checked."""

    name: str | None
    path: Path
    sha256: str
    systems: tuple[System, ...]
    """Sorted by name."""
    retired: tuple[Retired, ...] = ()
    waiver_approvers: tuple[str, ...] | None = None
    waiver_keys: dict[str, str] = field(default_factory=dict)

    def place_of(self, record: dict[str, object]) -> str:
        """A system's repository and evidence as an attestation records them (as org.yaml
        wrote them), resolved against this org.yaml's directory, as ``System.place``."""
        root = self.path.parent.resolve()
        repository = str(record.get("repository"))
        evidence = record.get("evidence")
        location = repository if URL.match(repository) else str((root / repository).resolve())
        found = str((root / str(evidence)).resolve()) if isinstance(evidence, str) else ""
        return f"{location}\0{found}"

    def system(self, name: str) -> System | None:
        """The system of that name."""
        return next((s for s in self.systems if s.name == name), None)


def load_org(path: Path) -> Organisation:
    """Read org.yaml; every mistake is an input error naming the file and line."""
    if not path.is_file():
        raise InputError("organisation file not found", path=str(path))
    data = read_text(path)
    document = parse_yaml(data, path)
    if not isinstance(document, dict):
        raise InputError(
            "expected a mapping with 'systems': a list of the systems in scope",
            path=str(path),
            line=1,
        )
    parsed = validate(OrgFile, Located(document, 1), path, "organisation")
    lines = _system_lines(document)
    systems = [
        _system(spec, path.parent, path, line)
        for spec, line in zip(parsed.systems, lines, strict=True)
    ]
    _check_unique(systems, path)
    _check_distinct(systems, path)
    retired = [
        Retired(spec.name, spec.date, spec.reason.strip(), line, spec.repository_kept_by)
        for spec, line in zip(parsed.retired, _lines(document, "retired"), strict=True)
    ]
    _check_retired(retired, systems, path)
    return Organisation(
        name=parsed.organisation,
        path=path,
        sha256=sha256_hex(data),
        systems=tuple(sorted(systems, key=lambda s: s.name)),
        retired=tuple(sorted(retired, key=lambda r: r.name)),
        waiver_approvers=(
            None if parsed.waiver_approvers is None else tuple(parsed.waiver_approvers)
        ),
        waiver_keys=dict(sorted(parsed.waiver_keys.items())),
    )


def _check_retired(retired: list[Retired], systems: list[System], path: Path) -> None:
    """A system is retired once, and is not both retired and listed."""
    listed = {s.name for s in systems}
    seen: dict[str, int] = {}
    for entry in retired:
        if entry.name in listed:
            raise InputError(
                f"system {entry.name} is both in 'systems' and in 'retired'",
                path=str(path),
                line=entry.line,
            )
        if entry.name in seen:
            raise InputError(
                f"system {entry.name} is retired twice (first at line {seen[entry.name]})",
                path=str(path),
                line=entry.line,
            )
        seen[entry.name] = entry.line


def _system_lines(document: dict[str, object]) -> list[int]:
    return _lines(document, "systems")


def _lines(document: dict[str, object], key: str) -> list[int]:
    raw = document.get(key)
    items = raw if isinstance(raw, list) else []
    return [item.line if isinstance(item, LineDict) else 1 for item in items]


def _system(spec: OrgSystem, root: Path, path: Path, line: int) -> System:
    is_url = URL.match(spec.repository) is not None
    location = spec.repository if is_url else str(_inside(root, spec.repository, path, line))
    key = _inside(root, spec.key, path, line) if spec.key else None
    if key is not None:
        _check_public_key(key, spec.name, path, line)
    return System(
        name=spec.name,
        owner=spec.owner,
        repository=spec.repository,
        location=location,
        is_url=is_url,
        evidence=spec.evidence,
        evidence_path=_inside(root, spec.evidence, path, line) if spec.evidence else None,
        services=tuple(
            Service(s.name, tuple(s.paths), tuple(sorted(set(s.quiet)))) for s in spec.services
        ),
        key=key,
        key_name=spec.key or "",
        line=line,
    )


def _inside(root: Path, relative: str, path: Path, line: int) -> Path:
    """``root / relative``, absolute; a symbolic link that leads out of ``root`` is refused."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise InputError(
            f"{relative!r} leads out of the directory of {path.name} (through a symbolic link)",
            path=str(path),
            line=line,
        )
    return target


def _check_public_key(key: Path, system: str, path: Path, line: int) -> None:
    """The key org.yaml names must be a public key; a private key here is leaked already."""
    from checker.signing.keys import load_public

    try:
        head = key.read_bytes()[:200]
    except OSError as exc:
        raise InputError(
            f"system {system}: cannot read its key {key.name}: {exc.strerror}",
            path=str(path),
            line=line,
        ) from exc
    if b"PRIVATE KEY" in head:
        raise InputError(
            f"system {system}: {key.name} is a private key; org.yaml names the team's public "
            "key (the .pub that 'knightwatch keygen' writes)",
            path=str(path),
            line=line,
            hint="keep the private key with the team that signs; never beside org.yaml",
        )
    try:
        load_public(key)
    except InputError as exc:
        raise InputError(f"system {system}: {exc.message}", path=str(path), line=line) from exc


def _check_unique(systems: list[System], path: Path) -> None:
    """Each system once; each service in one system only."""
    names: dict[str, int] = {}
    owners: dict[str, str] = {}
    for system in systems:
        if system.name in names:
            raise InputError(
                f"system {system.name} is listed twice (first at line {names[system.name]})",
                path=str(path),
                line=system.line,
            )
        names[system.name] = system.line
        for service in system.services:
            if service.name in owners:
                where = owners[service.name]
                raise InputError(
                    f"service {service.name} is in system {system.name} and "
                    + ("twice in it" if where == system.name else f"in system {where}")
                    + ": a service belongs to one system",
                    path=str(path),
                    line=system.line,
                )
            owners[service.name] = system.name


def _check_distinct(systems: list[System], path: Path) -> None:
    """Two systems never share a repository and its evidence, nor a key: the one month's
    deployments, or one team's signature, would count twice, once for a system they are not."""
    from checker.signing.keys import key_id, load_public

    seen: dict[tuple[str, str], System] = {}
    for system in sorted(systems, key=lambda s: s.line):
        evidence = str(system.evidence_path) if system.evidence_path else "its own"
        keys = [("repository", f"{system.location}\0{evidence}")]
        if system.key is not None:
            keys.append(("key", key_id(load_public(system.key))))
        for kind, value in keys:
            first = seen.setdefault((kind, value), system)
            if first is not system:
                what = (
                    f"the repository and evidence of system {first.name}"
                    if kind == "repository"
                    else f"the same public key as system {first.name}"
                )
                raise InputError(
                    f"system {system.name} has {what} (line {first.line}): each system is "
                    "its own repository or evidence, and its team's own key",
                    path=str(path),
                    line=system.line,
                )
