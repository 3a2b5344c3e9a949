"""The evidence directory: every file found, validated, and digested for the report."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from checker.errors import InputError
from checker.evidence.files import LineDict, Located, parse_records, parse_yaml, read_text, validate
from checker.evidence.identities import IdentityResolver
from checker.evidence.models import (
    Deployment,
    FlagEvent,
    Fleet,
    Identities,
    Observation,
    Review,
    Waiver,
)
from checker.evidence.yamlread import paused_collection

Shape = Literal["list", "document"]


@dataclass(frozen=True)
class Kind:
    """One kind of evidence file the contract names."""

    name: str
    shape: Shape
    model: type[BaseModel]
    suffixes: tuple[str, ...]
    required: bool = False
    what: str = "record"


KINDS: tuple[Kind, ...] = (
    Kind("deploys", "list", Deployment, (".yaml", ".yml", ".jsonl"), True, "deployment"),
    Kind("reviews", "list", Review, (".yaml", ".yml", ".jsonl"), what="review"),
    Kind("fleet", "document", Fleet, (".yaml", ".yml"), what="fleet"),
    Kind("flag_events", "list", FlagEvent, (".yaml", ".yml", ".jsonl"), what="flag event"),
    Kind("observations", "list", Observation, (".jsonl", ".yaml", ".yml"), what="observation"),
    Kind("identities", "document", Identities, (".yaml", ".yml"), what="identities"),
    Kind("waivers", "list", Waiver, (".yaml", ".yml", ".jsonl"), what="waiver"),
)


@dataclass(frozen=True)
class FileDigest:
    """A file read, by its name in the report and the sha256 of its bytes."""

    role: str
    path: str
    sha256: str


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class Evidence:
    """Everything read from the evidence directory."""

    directory: Path
    deployments: list[Deployment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    fleet: Fleet | None = None
    flag_events: list[FlagEvent] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    identities: IdentityResolver = field(default_factory=IdentityResolver)
    present: set[str] = field(default_factory=set)
    files: list[FileDigest] = field(default_factory=list)
    locations: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)
    """Each kind's records' file and line, by position, for messages about them."""

    def error(self, kind: str, index: int, message: str, *, hint: str | None = None) -> InputError:
        """An input error naming the file and line of record ``index`` of ``kind``."""
        path, line = self.locations[kind][index]
        return InputError(message, path=str(path), line=line or None, hint=hint)


KIND_BY_NAME = {kind.name: kind for kind in KINDS}


def find_file(directory: Path, kind: Kind) -> Path | None:
    """The directory's one file of ``kind`` (any of its suffixes), or None; two are an error."""
    found = [
        directory / f"{kind.name}{s}"
        for s in kind.suffixes
        if (directory / f"{kind.name}{s}").is_file()
    ]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(
            f"more than one {kind.name} file ({names}); keep exactly one",
            path=str(directory),
        )
    return found[0] if found else None


Scope = Callable[[str, dict[str, Any]], bool]
"""Which raw records of a kind a run needs; the others are parsed but not validated."""


def parse_document(kind: Kind, path: Path, data: bytes) -> BaseModel:
    """A document file (fleet, identities) as its model; an empty file is an empty mapping."""
    document = parse_yaml(data, path)
    if document is None:
        document = LineDict()
    line = document.line if isinstance(document, LineDict) else 1
    return validate(kind.model, Located(document, line), path, kind.what)


def _load_list(kind: Kind, path: Path, data: bytes, scope: Scope | None) -> list[tuple[Any, int]]:
    keep = (
        None if scope is None else (lambda raw: not isinstance(raw, dict) or scope(kind.name, raw))
    )
    items: list[Located] = parse_records(data, path, keep)
    out: list[tuple[Any, int]] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item.value, dict):
            raise InputError(
                f"{kind.what} #{index}: expected a mapping, got {type(item.value).__name__}",
                path=str(path),
                line=item.line or None,
            )
        record = validate(kind.model, item, path, f"{kind.what} #{index}")
        out.append((record, item.line))
    return out


def load_evidence(directory: Path, *, gate: bool = False, scope: Scope | None = None) -> Evidence:
    """Read and validate every evidence file in ``directory``.

    A gate (``check --candidate``) judges a deployment that has no record yet, so there the
    directory and its deployment records may be absent: there is simply no history to use.
    ``scope`` keeps, of the list files, only the records it accepts (a gate needs only its
    service's); every file is still read whole, digested and parsed.
    """
    with paused_collection():
        return _load_evidence(directory, gate=gate, scope=scope)


def _load_evidence(directory: Path, *, gate: bool, scope: Scope | None) -> Evidence:
    if gate and not directory.is_dir():
        return Evidence(directory=directory)
    if not directory.is_dir():
        raise InputError(
            "evidence directory not found",
            path=str(directory),
            hint="pass --evidence DIR, or set 'evidence' in knightwatch.yaml",
        )
    evidence = Evidence(directory=directory)
    for kind in KINDS:
        path = find_file(directory, kind)
        if path is None:
            if kind.required and not gate:
                names = " or ".join(f"{kind.name}{s}" for s in kind.suffixes)
                raise InputError(
                    f"required evidence file missing: {names}",
                    path=str(directory),
                    hint="an audit cannot pass without its deployment records",
                )
            continue
        data = read_text(path)
        evidence.present.add(kind.name)
        evidence.files.append(FileDigest("evidence", path.name, sha256_hex(data)))
        if kind.shape == "document":
            model = parse_document(kind, path, data)
            if isinstance(model, Fleet):
                evidence.fleet = model
            elif isinstance(model, Identities):
                evidence.identities = IdentityResolver(model.root, source=str(path))
            continue
        records = _load_list(kind, path, data, scope)
        evidence.locations[kind.name] = [(path, line) for _, line in records]
        getattr(evidence, kind.name if kind.name != "deploys" else "deployments").extend(
            record for record, _ in records
        )
    _check_unique_ids(evidence)
    evidence.files.sort(key=lambda f: f.path)
    return evidence


def _check_unique_ids(evidence: Evidence) -> None:
    first: dict[str, int] = {}
    for index, deployment in enumerate(evidence.deployments):
        if deployment.id in first:
            path, line = evidence.locations["deploys"][first[deployment.id]]
            raise evidence.error(
                "deploys",
                index,
                f"duplicate deployment id {deployment.id!r} (first at {path.name}:{line})",
            )
        first[deployment.id] = index
