"""The evidence directory: every file found, validated, and digested for the report."""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel

from checker.errors import InputError
from checker.evidence import archives, gitstore, jsonread, leftovers
from checker.evidence.files import (
    LineDict,
    Located,
    is_blank,
    iter_records,
    parse_yaml,
    read_text,
    validate,
)
from checker.evidence.identities import IdentityResolver
from checker.evidence.messages import did_you_mean, kind_of, shown
from checker.evidence.models import (
    Deployment,
    FlagEvent,
    Fleet,
    Identities,
    Observation,
    Review,
    Target,
    Waiver,
    check_timestamp,
)
from checker.evidence.shared import SharedLists
from checker.memory import paused_collection

Shape = Literal["list", "document"]


@dataclass(frozen=True)
class Kind:
    """One kind of evidence file the contract names."""

    name: str
    shape: Shape
    model: type[BaseModel]
    suffixes: tuple[str, ...]
    description: str
    """The schema's description: the file's names and what it holds."""
    required: bool = False
    what: str = "record"


_LIST = (".yaml", ".yml", ".jsonl")
_DOCUMENT = (".yaml", ".yml")

KINDS: tuple[Kind, ...] = (
    Kind(
        "deploys",
        "list",
        Deployment,
        _LIST,
        "deploys.yaml / deploys.jsonl: the deployments (JSON Lines: one item a line).",
        required=True,
        what="deployment",
    ),
    Kind(
        "reviews",
        "list",
        Review,
        _LIST,
        "reviews.yaml / reviews.jsonl: code-review records, one per merged change.",
        what="review",
    ),
    Kind("fleet", "document", Fleet, _DOCUMENT, "fleet.yaml: each service's hosts.", what="fleet"),
    Kind(
        "flag_events",
        "list",
        FlagEvent,
        _LIST,
        "flag_events.yaml / .jsonl: runtime flag changes.",
        what="flag event",
    ),
    Kind(
        "observations",
        "list",
        Observation,
        (".jsonl", ".yaml", ".yml"),
        "observations.jsonl / .yaml: what each host was seen running.",
        what="observation",
    ),
    Kind(
        "identities",
        "document",
        Identities,
        _DOCUMENT,
        "identities.yaml: each person's addresses.",
        what="identities",
    ),
    Kind(
        "waivers",
        "list",
        Waiver,
        _LIST,
        "waivers.yaml: time-boxed exceptions.",
        what="waiver",
    ),
)
"""Every kind of evidence file, declared once: its name, shape, model, file names and schema."""


@dataclass(frozen=True)
class FileDigest:
    """A file read, by its name in the report and the sha256 of its bytes."""

    role: str
    path: str
    sha256: str


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Shipment:
    """What REVIEW-002 needs of a deployment record a gate does not judge: which commit it
    shipped from when, and of which stream (whose names must join up like any record's). Only
    these fields are checked (the full check validates the rest)."""

    id: str
    service: str
    environment: str
    commit: str
    started_at: str
    path: Path
    line: int

    def error(self, message: str, hint: str | None = None) -> InputError:
        """An input error about this record, naming its file and line."""
        where = f"deployment {shown(self.id)} of another service"
        return InputError(
            f"{where}: {message}", path=str(self.path), line=self.line or None, hint=hint
        )


SHIPMENT_KEYS = ("id", "service", "environment", "commit", "started_at")


def _shipment(raw: dict[str, Any], path: Path, line: int) -> Shipment:
    """The shipment a deployment record outside the run's scope states, or an input error:
    a record that cannot say whether it shipped a candidate's commit first cannot be passed
    over."""
    values: list[Any] = [raw.get(key) for key in SHIPMENT_KEYS]
    where = "deployment {} of another service"  # named only where one fails: a gate reads 10,000
    if not all(isinstance(value, str) for value in values):
        problem = next(k for k in SHIPMENT_KEYS if not isinstance(raw.get(k), str))
        raise InputError(
            f"{where.format(shown(raw.get('id')))}: {problem} {shown(raw.get(problem))} cannot "
            "be read (a gate asks whether it shipped the candidate's commits first)",
            path=str(path),
            line=line or None,
        )
    identifier, service, environment, commit, started_at = values
    try:
        check_timestamp(started_at)
    except ValueError as exc:
        message = f"{where.format(shown(identifier))}: started_at: {exc}"
        raise InputError(message, path=str(path), line=line or None) from exc
    return Shipment(identifier, service, environment, commit, started_at, path, line)


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
    ignored: list[str] = field(default_factory=list)
    """Files of the directory that ``evidence_ignore`` says are not evidence."""
    streams: set[tuple[str, str]] = field(default_factory=set)
    """Every (service, environment) a deployment record names, in scope of this run or not."""
    locations: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)
    """Each kind's records' file and line, by position, for messages about them."""
    elsewhere: list[Shipment] = field(default_factory=list)
    """The deployment records a run's scope passed over (at a gate, every other stream's):
    REVIEW-002 asks whether one of them shipped a candidate's commit first."""
    read_as: dict[str, Any] | None = None
    """At a gate, where its files were read from: as the protected branch has them, or from
    the work tree (``checker.evidence.protected``); None where the directory was read as is."""

    def add_deployment(self, record: Deployment) -> None:
        """Add a deployment no file holds (a gate's candidate); messages about it name the
        evidence directory."""
        self.deployments.append(record)
        self.locations.setdefault("deploys", []).append((self.directory, 0))
        self.present.add("deploys")

    def error(self, kind: str, index: int, message: str, *, hint: str | None = None) -> InputError:
        """An input error naming the file and line of record ``index`` of ``kind``."""
        path, line = self.locations[kind][index]
        return InputError(message, path=str(path), line=line or None, hint=hint)


KIND_BY_NAME = {kind.name: kind for kind in KINDS}

TRACE = "superseded.jsonl"
"""Where importers keep the records a re-import replaced: not judged, but digested like the
evidence, so a report says which history of its records it rests on."""


@dataclass(frozen=True)
class Entry:
    """One entry of the evidence directory, as the run reads it."""

    name: str
    is_file: bool
    is_dir: bool


class EvidenceFiles:
    """Where the evidence directory's files are read from: here, the directory itself. A gate
    reads them as the protected branch has them (``checker.evidence.protected``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def exists(self) -> bool:
        """Whether there is an evidence directory to read."""
        return self.directory.is_dir()

    def entries(self) -> list[Entry]:
        """The directory's entries, by name."""
        return [Entry(p.name, p.is_file(), p.is_dir()) for p in sorted(self.directory.iterdir())]

    def is_file(self, name: str) -> bool:
        """Whether the directory holds a file of that name."""
        return (self.directory / name).is_file()

    def read(self, name: str) -> bytes:
        """The bytes of one of the directory's files, or an input error naming it."""
        return read_text(self.directory / name)

    def where(self, name: str) -> Path:
        """The file as messages name it."""
        return self.directory / name

    def read_inside(self, name: str, inside: str) -> bytes:
        """The bytes of the file at ``inside`` (a path ``held`` gave) in the directory
        ``name``."""
        return read_text(self.directory / name / inside)

    def held(self, name: str, expected: set[str], *, any_name: bool = False) -> list[str]:
        """The files named for evidence (``held_evidence``) that the directory ``name`` holds,
        at any depth, by path inside it (``any_name``: and those of any name that hold
        records, ``held_holding``), other than those an entry of the evidence directory
        reads as the same file: a mounted ConfigMap's ``..data`` holds every file the
        directory's links lead to. Not only an evidence file's own name:
        ``.kw/prod.observations.jsonl``, ``.kw/observations.jsonl.1`` and
        ``.kw/export/observations.jsonl`` were passed over with their directory, and the host
        they showed on old code judged by no rule. Links to directories are followed (each
        directory searched once): ``.kw/may`` leading to a directory elsewhere that held the
        only observations was passed over, and the run passed."""
        inside = self.directory / name
        found = []
        seen: set[str] = set()
        stores: list[str] = []
        entries = 0
        for top, folders, names in os.walk(inside, onerror=_unreadable, followlinks=True):
            seen.add(os.path.realpath(top))
            folders[:] = sorted(f for f in folders if os.path.realpath(Path(top, f)) not in seen)
            if "HEAD" in names and {"objects", "refs"} <= set(folders):
                stores.append(top)
            entries += len(folders) + len(names)
            if entries > HELD_AT_MOST:
                raise InputError(
                    f"{name} holds more than {HELD_AT_MOST:,} files and directories (a link "
                    "to / or a whole disk?): it is not read as evidence, and its evidence "
                    "files could not all be looked for",
                    path=str(self.directory),
                    hint=f"move {name} out of the evidence directory",
                )
            for each in sorted(names):
                path = Path(top, each)
                if (
                    _git_own(path, stores)
                    or not path.is_file()
                    or not (
                        held_holding(each, expected, path.read_bytes)
                        or (any_name and _holds_records(path))
                    )
                ):
                    continue
                if not _same_file(self.directory / each, path):
                    found.append(path.relative_to(inside).as_posix())
        return found

    def not_read(self, name: str) -> str | None:
        """Why a file of that name, though present, was not read; None if it was not there."""
        return None

    def listable(self, name: str) -> bool:
        """Whether the directory ``name`` may be listed: ext4's ``lost+found`` is root's own."""
        return os.access(self.directory / name, os.R_OK | os.X_OK)

    def file_system_own(self, name: str) -> bool:
        """Whether the directory ``name`` is one a file system keeps at its root, as root's:
        the evidence directory is where a file system is mounted, and root owns ``name``."""
        return os.path.ismount(self.directory) and (self.directory / name).stat().st_uid == 0


def _git_own(path: Path, stores: list[str]) -> bool:
    """Whether ``path`` is a file of the object store, or the index, of a git directory
    ``held`` walked (one holding ``HEAD``, ``objects`` and ``refs``), laid out as git writes
    it (``gitstore.git_own``): git's compressed objects hold no records a person wrote there,
    and reading them as text took a minute for 57 MB of packs, an evidence directory kept in
    git (its ``.git``) read whole at every run. Any other file there (``.git/d2.yaml``, a
    loose object of another name, or of git's name holding plain text, or a table whose text
    holds records) is read as before."""
    return any(
        path.is_relative_to(store)
        and gitstore.git_own(
            path, path.relative_to(store).as_posix(), lambda text: records_kind(text) is not None
        )
        for store in stores
    )


HELD_AT_MOST = 100_000
"""The files and directories a hidden or ignored directory of the evidence is searched
through for files named for evidence: a link in it to ``/`` would walk the whole machine."""


def _unreadable(error: OSError) -> None:
    """A directory of a hidden or ignored one that cannot be listed: what it holds cannot be
    looked for, so it is not passed over."""
    raise InputError(
        f"{error.filename}: cannot be read ({error.strerror}): it lies in a hidden or ignored "
        "directory of the evidence, whose files named for evidence are looked for",
        hint="make it readable, or move it out of the evidence directory",
    )


_EVIDENCE_SUFFIXES = (".jsonl", ".yaml", ".yml", ".json", ".ndjson")
"""What a file's name holds, past a kind's, to be named for evidence inside a hidden directory:
``.ndjson`` is JSON Lines under another name, and ``.kw/observations.ndjson`` was passed over."""


WINDOW = 16 << 20
"""The bytes of a file of any name in a hidden directory looked at for records at a time: a
disk image in ``.Trashes`` was read whole, and looked at in nine times its size of memory
(200 MB in 1.8 GB; one of some gigabytes would not be looked at)."""
_OVERLAP = 1 << 20


def _holds_records(path: Path) -> bool:
    """Whether a file of any name holds records (``records_kind``), looked at a window at a
    time where it is larger than ``WINDOW``, each window overlapping the one before by a
    megabyte (a record's keys lie closer together), so what is looked at stays bounded. An
    archive is looked at whole, as what it holds lies past its own bytes."""
    size = path.stat().st_size
    if size <= WINDOW:
        return records_kind(path.read_bytes()) is not None
    with path.open("rb") as data:
        window = data.read(WINDOW)
        if archives.is_archive(window):
            return records_kind(window + data.read()) is not None
        while window:
            if records_kind(window) is not None:
                return True
            if data.tell() >= size:
                return False
            data.seek(data.tell() - min(_OVERLAP, WINDOW // 2))
            window = data.read(WINDOW)
    return False


def held_evidence(name: str, expected: set[str]) -> bool:
    """Whether a file of that name, inside a hidden directory, is named for evidence: an
    evidence file's own name, or one that holds a kind's (``_held_kind``) and an evidence
    file's suffix anywhere (``prod.observations.jsonl``, ``observations.jsonl.1``,
    ``Observations.JSONL``), or a kind's misspelt (``_near_kind``: ``observatons.jsonl``,
    ``deplys.yaml``). A git directory's branch named for a kind holds no such suffix."""
    folded = name.casefold()
    if name in expected:
        return True
    return _near_kind(name) is not None and any(s in folded for s in _EVIDENCE_SUFFIXES)


def held_holding(
    name: str, expected: set[str], read: Callable[[], bytes], any_name: bool = False
) -> bool:
    """Whether a file of that name, inside a hidden directory, is held as evidence: named for
    it (``held_evidence``), and where only by a word near a kind's, holding records
    (``records_kind``). ``.kw/entities.json`` (``entities``, near ``identities``), a tool's
    own file, was refused with its directory; misspelt, ``.kw/observatons.jsonl`` holding
    observations still is. ``any_name``: a file of any name is held where it holds records
    (``lost+found``, where fsck names what it recovers ``#131074``)."""
    if not held_evidence(name, expected):
        return any_name and records_kind(read()) is not None
    return name in expected or _held_kind(name) is not None or records_kind(read()) is not None


def _same_file(one: Path, other: Path) -> bool:
    """Whether ``one`` is a file that is ``other`` (through a link, or itself)."""
    return one.is_file() and one.samefile(other)


def find_file(directory: Path, kind: Kind) -> Path | None:
    """The directory's one file of ``kind`` (any of its suffixes), or None; two are an error."""
    name = _find_name(EvidenceFiles(directory), kind)
    return directory / name if name is not None else None


def _find_name(files: EvidenceFiles, kind: Kind) -> str | None:
    found = [f"{kind.name}{s}" for s in kind.suffixes if files.is_file(f"{kind.name}{s}")]
    if len(found) > 1:
        raise InputError(
            f"more than one {kind.name} file ({', '.join(found)}); keep exactly one",
            path=str(files.directory),
        )
    return found[0] if found else None


def recorded_commits(directory: Path, scope: Scope, needle: bytes) -> list[str] | None:
    """The ``commit`` of each deployment record ``scope`` keeps, read ahead of the evidence
    and quickly (of a JSON Lines file, only the lines holding ``needle`` are decoded): a guess
    at what the run will read, to begin git's work early, never evidence. None where no guess
    can be made (a YAML file, a line that does not parse, a commit that is not a string)."""
    try:
        path = find_file(directory, KIND_BY_NAME["deploys"]) if directory.is_dir() else None
        if path is None:
            return []  # no records: no history
        if path.suffix != ".jsonl":
            return None
        data = path.read_bytes()
    except (InputError, OSError):
        return None
    commits = []
    for line in _lines_holding(data, needle):
        try:
            raw = jsonread.loads(line.decode(), jsonread.LENIENT_KEYS)
        except ValueError:
            return None
        if isinstance(raw, dict) and scope("deploys", raw):
            commit = raw.get("commit")
            if not isinstance(commit, str):
                return None
            commits.append(commit)
    return commits


def _lines_holding(data: bytes, needle: bytes) -> Iterator[bytes]:
    """Each line of ``data`` that holds ``needle``, found by searching for it (most lines of a
    month's records do not hold a given service's name)."""
    found = data.find(needle)
    while found != -1:
        start = data.rfind(b"\n", 0, found) + 1
        end = data.find(b"\n", found)
        end = len(data) if end == -1 else end
        yield data[start:end]
        found = data.find(needle, end)


Scope = Callable[[str, dict[str, Any]], bool]
"""Which raw records of a kind a run needs; the others are parsed but not validated."""


def _empty(kind: Kind, path: Path) -> InputError:
    """An evidence file with nothing in it: an exporter that failed, or a file truncated.
    Knowing that there is nothing must be said, not inferred from silence."""
    if kind.shape == "list":
        hint = f"if there really are no {kind.what} records, write [] in {kind.name}.yaml" + (
            "" if kind.required else ", or remove the file"
        )
    else:
        hint = "fill it in, or remove the file"
    return InputError(f"{kind.name} file is empty", path=str(path), hint=hint)


def parse_document(kind: Kind, path: Path, data: bytes) -> BaseModel:
    """A document file (fleet, identities) as its model; an empty file is an error."""
    document = parse_yaml(data, path)
    if document is None or is_blank(data, path):
        raise _empty(kind, path)
    line = document.line if isinstance(document, LineDict) else 1
    return validate(kind.model, Located(document, line), path, kind.what)


_LOOKED_AT = jsonread.looked_at(*SHIPMENT_KEYS)
"""What a scoped run reads of a record before it knows the record is in its scope: the keys
``Scope`` and ``_shipment`` read."""


def _load_list(
    kind: Kind,
    path: Path,
    data: bytes,
    scope: Scope | None,
    streams: set[tuple[str, str]],
    elsewhere: list[Shipment],
) -> list[tuple[Any, int]]:
    def keep(raw: Any, line: int) -> bool:
        if not isinstance(raw, dict):
            return True
        if kind.name == "deploys":
            service, environment = raw.get("service"), raw.get("environment")
            if isinstance(service, str) and isinstance(environment, str):
                streams.add((service, environment))
        if scope is None or scope(kind.name, raw):
            return True
        if kind.name == "deploys":
            elsewhere.append(_shipment(raw, path, line))
        return False

    if is_blank(data, path):
        raise _empty(kind, path)
    # Unscoped, every record is validated and the streams come from the models.
    if scope is not None:
        items = iter_records(data, path, keep, _LOOKED_AT)
    else:
        items = iter_records(data, path)
    out: list[tuple[Any, int]] = []
    targets = SharedLists[Target]() if kind.name == "deploys" else None
    for index, item in enumerate(items, start=1):
        if not isinstance(item.value, dict):
            raise InputError(
                f"{kind.what} #{index}: expected a mapping, got {shown(item.value)} "
                f"({kind_of(item.value)})",
                path=str(path),
                line=item.line or None,
            )
        swapped = targets.swap(item.value.get("targets")) if targets is not None else None
        record = validate(kind.model, item, path, f"{kind.what} #{index}")
        if targets is not None and swapped is not None and isinstance(record, Deployment):
            targets.learn(record.targets, swapped)
        out.append((record, item.line))
    return out


def load_evidence(
    directory: Path,
    *,
    optional: bool = False,
    scope: Scope | None = None,
    ignore: Sequence[str] = (),
    registry: str = "flags.yaml",
    files: EvidenceFiles | None = None,
) -> Evidence:
    """Read and validate every evidence file in ``directory``; any other file in it is an
    error unless ``ignore`` names it (a misnamed file must not be silently skipped).

    ``optional``: the directory and its deployment records may be absent (a retired system's
    evidence, gone with its repository). A gate's are not: with no deployment records it
    would judge its candidate as a first deployment, shipping its own commit alone, so a
    service not yet deployed says so with ``[]``. ``scope`` keeps, of the list files, only the
    records it accepts (a gate needs only its service's); every file is still read whole,
    digested and parsed. ``files``: where the directory's files are read from (by default,
    the directory).
    """
    with paused_collection():
        return _load_evidence(files or EvidenceFiles(directory), optional, scope, ignore, registry)


def _load_evidence(
    files: EvidenceFiles,
    optional: bool,
    scope: Scope | None,
    ignore: Sequence[str],
    registry: str,
) -> Evidence:
    directory = files.directory
    if optional and not files.exists():
        return Evidence(directory=directory)
    if not files.exists():
        raise InputError(
            "is a file, not an evidence directory"
            if directory.is_file()
            else "evidence directory not found",
            path=str(directory),
            hint=f"pass the directory that holds it: --evidence {directory.parent}"
            if directory.is_file()
            else "pass --evidence DIR, or set 'evidence' in knightwatch.yaml",
        )
    evidence = Evidence(directory=directory)
    evidence.ignored = account_for_files(files, ignore, registry)
    if files.is_file(TRACE):
        evidence.files.append(FileDigest("trace", TRACE, sha256_hex(files.read(TRACE))))
    for kind in KINDS:
        name = _find_name(files, kind)
        if name is None:
            if kind.required and not optional:
                raise _missing(kind, files)
            continue
        _read_kind(evidence, kind, files, name, scope)
    evidence.streams.update((d.service, d.environment) for d in evidence.deployments)
    _check_unique_ids(evidence)
    _check_one_record_a_change(evidence)
    evidence.files.sort(key=lambda f: f.path)
    return evidence


def _missing(kind: Kind, files: EvidenceFiles) -> InputError:
    """A required evidence file that is not there, or was not read (and why)."""
    names = [f"{kind.name}{s}" for s in kind.suffixes]
    why = next((reason for n in names if (reason := files.not_read(n)) is not None), None)
    return InputError(
        f"required evidence file missing: {' or '.join(names)}" + (f" ({why})" if why else ""),
        path=str(files.directory),
        hint="an audit cannot pass without its deployment records; where there "
        "are none yet (a service not deployed yet), write [] in deploys.yaml",
    )


def _read_kind(
    evidence: Evidence, kind: Kind, files: EvidenceFiles, name: str, scope: Scope | None
) -> None:
    """Read one evidence file into ``evidence``: digested, validated, located."""
    data = files.read(name)
    path = files.where(name)
    evidence.present.add(kind.name)
    evidence.files.append(FileDigest("evidence", name, sha256_hex(data)))
    if kind.shape == "document":
        model = parse_document(kind, path, data)
        if isinstance(model, Identities):
            evidence.identities = IdentityResolver(model.root, source=str(path))
        else:
            setattr(evidence, kind.name, model)
        return
    records = _load_list(kind, path, data, scope, evidence.streams, evidence.elsewhere)
    evidence.locations[kind.name] = [(path, line) for _, line in records]
    getattr(evidence, kind.name if kind.name != "deploys" else "deployments").extend(
        record for record, _ in records
    )


_DOCUMENTATION = re.compile(r"^README(\.(md|txt|rst|adoc))?$", re.IGNORECASE)


def account_for_files(files: EvidenceFiles, ignore: Sequence[str], registry: str) -> list[str]:
    """Every entry of the evidence directory is an evidence file, a README, hidden, or named by
    ``ignore``; anything else is an error that says what name it should have. A hidden entry
    named like evidence (``_evidence_like``) is not passed over: it is refused as a misnamed
    file is. A glob that takes a directory, hidden or not, does not take the only file of an
    evidence kind it holds (``_check_not_hidden``): ``archive`` took
    ``archive/observations.jsonl``, no observations file was read, and the run passed. Returns
    the names ``ignore`` matched."""
    expected = {f"{kind.name}{suffix}" for kind in KINDS for suffix in kind.suffixes}
    ignored: list[str] = []
    entries = files.entries()
    present = {e.name for e in entries if e.name in expected}
    names = {e.name for e in entries}
    for entry in entries:
        held = _hidden_held(files, entry, expected)
        if held is None:
            _check_hidden_records(files, entry, present)
            continue
        if _evidence_file(files, entry, expected):
            continue
        left = _left_over(files, entry, (present, names), held)
        if left is True:
            continue
        glob = next((glob for glob in ignore if fnmatch.fnmatchcase(entry.name, glob)), None)
        if glob is None:
            raise (
                left
                if isinstance(left, InputError)
                else _unread_error(files, entry, (registry, present), held)
            )
        _check_ignored(files, entry, (glob, present), held)
        ignored.append(entry.name)
    return ignored


def _check_hidden_records(files: EvidenceFiles, entry: Entry, present: set[str]) -> None:
    """A hidden entry named for no evidence (``.DS_Store``, ``.nfs0000000000012345``, ``.notes``,
    ``.Trashes/``, ``.dropbox.cache/``, a ConfigMap's ``..2026_12_05_...`` directory) is passed
    over only where no file of it, of any name, holds a record that no file read holds (by
    what names it, as a snapshot's files are held: a copy a sync tool keeps of a record still
    read is the same record). Each was passed over whatever it held: ``.DS_Store`` holding a
    deployment of a commit no one reviewed, and the check passed, that deployment judged by
    no rule."""
    if not entry.name.startswith(".") or not (entry.is_file or entry.is_dir):
        return
    if entry.is_file:
        data = files.read(entry.name)
        inside: Iterable[tuple[str, bytes]] = [("", data)] if records_kind(data) is not None else []
    else:
        inside = _files_inside(files, entry.name)
    found = _first_unheld(files, inside, present)
    if found is None:
        return
    each, kind, said = found
    where = f"{entry.name}/{each}" if each else entry.name
    there = f"{each} there" if each else "it"
    raise InputError(
        f"{entry.name} is hidden, and {there} {said}, which no file read holds: a hidden "
        "entry is passed over only where it holds no records the check would otherwise miss",
        path=str(files.where(entry.name)),
        hint=f"put it in {_home(kind)} if it is evidence, else remove {where}",
    )


def _check_ignored(
    files: EvidenceFiles, entry: Entry, matched: tuple[str, set[str]], held: list[str]
) -> None:
    """What an ``evidence_ignore`` glob (``matched``: it, and the evidence files present) may
    not pass over: the only file of a kind, or one inside the directory it takes; a file
    holding a kind's records that no file read holds."""
    glob, present = matched
    inside = held or (files.held(entry.name, _EXPECTED) if entry.is_dir else [])
    for each in [entry.name, *inside]:
        _check_not_hidden(files, each, glob, present, entry.name)
    if entry.is_file:
        _check_ignored_records(files, entry.name, files.read(entry.name), matched)
        return
    for each in files.held(entry.name, _EXPECTED, any_name=True) if entry.is_dir else []:
        data = files.read_inside(entry.name, each)
        _check_ignored_records(files, f"{entry.name}/{each}", data, matched)


def _left_over(
    files: EvidenceFiles, entry: Entry, known: tuple[set[str], set[str]], held: list[str]
) -> bool | InputError:
    """True where ``entry`` is what a program left (``leftovers.leftover``) that holds nothing
    the check would read, and is passed over; False for any other entry. One that may hold
    records not read is refused, unless ``evidence_ignore`` names it, by the error returned,
    which says what it is: an office editor's lock holding a kind's records; vim's swap file
    or Emacs's autosave holding edits not saved to their file, or of a file not here; a filer's
    ``.snapshot`` holding a kind no file here holds; ``lost+found`` holding a file named for
    evidence. Each was refused until listed in ``evidence_ignore``, which passed over
    anything else of its name."""
    left = leftovers.leftover(entry.name, entry.is_file, entry.is_dir)
    present, names = known
    if left is None or (left.rule == "backup" and _of_evidence(left)):
        return False
    if left.rule in ("lost", "snapshot"):
        return _left_directory(files, entry.name, left, (present, held))
    data = files.read(entry.name)
    if left.rule in ("lock", "explorer", "appledouble") or not _of_evidence(left):
        kind = records_kind(data)
        return True if kind is None else _left_records(files, entry.name, left, kind)
    why = _unsaved(files, left, data, names)
    if why is not None:
        editor = "vim (or recover them with vim -r)" if left.rule == "swap" else "Emacs"
        return InputError(
            f"{entry.name} is {left.what}: {why}",
            path=str(files.where(entry.name)),
            hint=f"save {left.of} in {editor} and close it, or delete {entry.name} if the "
            "edits are not wanted",
        )
    return True


def _of_evidence(left: leftovers.Leftover) -> bool:
    """Whether what an editor left is of an evidence file: a swap file, autosave or backup of
    any other file (``#README.md#``, ``README.md~``) is decided on by what it holds, as a lock
    is. ``#README.md#``, holding edits to README.md not yet saved, was refused as holding
    edits to a file read, and ``.notes.swp`` of a file not here as read from no file."""
    return left.of in _EXPECTED or left.of == TRACE


def _unsaved(
    files: EvidenceFiles, left: leftovers.Leftover, data: bytes, names: set[str]
) -> str | None:
    """Why an editor's swap or autosave file may hold records its file does not; None where
    it holds the file as saved: vim's swap file that says so, Emacs's autosave of the file's
    very bytes."""
    if left.of not in names or not files.is_file(left.of):
        return f"{left.of} is not here, so what it holds is read from no file"
    if left.rule == "autosave" and files.read(left.of) != data:
        return f"it holds edits not saved to {left.of}, which is read as it was last saved"
    if left.rule == "swap" and not data.startswith(leftovers.VIM_MAGIC):
        return f"it is not one vim wrote, and may hold records {left.of} does not"
    if left.rule == "swap" and leftovers.vim_unsaved(data):
        return f"it holds edits not saved to {left.of}, which is read as it was last saved"
    return _swap_not_held(files, left, data) if left.rule == "swap" else None


def _swap_not_held(files: EvidenceFiles, left: leftovers.Leftover, data: bytes) -> str | None:
    """Why a swap file whose block 0 says nothing is unsaved may still hold records its file
    does not: not laid out as vim's, a data block's lines not a run of its file's, or
    records outside its text. A clean block 0 followed by a deployment of a commit no one
    reviewed was passed over, and the check passed; so was one whose data block held the
    lines of deploys.yaml in another order, making a record it does not hold."""
    laid = leftovers.vim_text(data)
    if laid is None:
        return (
            f"past its block 0 it is not laid out as vim's, and may hold records {left.of} does not"
        )
    saved = b"\n".join(line.rstrip(b"\r") for line in files.read(left.of).split(b"\n"))
    blocks, rest = laid
    if not all(b"\n%s\n" % b"\n".join(lines) in b"\n%s\n" % saved for lines in blocks):
        return f"it holds lines of text {left.of} does not, and may hold records it does not"
    if any(_swap_records(chunk) for chunk in rest.split(b"\0") if len(chunk) >= 8):
        return f"it holds records outside its text, which {left.of} may not hold"
    return None


def _swap_records(chunk: bytes) -> bool:
    """Whether what lies between NULs outside a swap file's text holds records: a mapping
    that reads as one, or, where it spans lines (vim's lines hold none), two of a kind's
    required fields as keys. One line alone is what vim left of a line it moved, and an old
    line's key (``commit:``) does not make it a record."""
    if b"\n" in chunk:
        return records_kind(chunk) is not None
    return b":" in chunk and _parsed_kind(chunk) is not None


def _left_directory(
    files: EvidenceFiles, name: str, left: leftovers.Leftover, known: tuple[set[str], list[str]]
) -> bool | InputError:
    """``lost+found`` passed over unless it holds a file named for evidence, or of any name
    holding records (one that cannot be listed is passed over where it is root's at a file
    system's root, where fsck alone writes; a team's own, made unreadable, held a deployment
    the check never read, and it passed): fsck
    names what it recovers by inode number, and ``lost+found/#12345`` holding a deployment
    of a commit no one reviewed was passed over, and the check passed; a
    filer's ``.snapshot`` unless it holds a file of a kind not read here (``held``: what it
    holds named for evidence), when it is refused as a hidden directory is."""
    present, held = known
    if left.rule == "snapshot":
        if not all(_present(_near_kind(PurePosixPath(p).name), present) for p in held):
            return False
        return _snapshot_unheld(files, name, left, present) or True
    if not files.listable(name):
        return files.file_system_own(name) or InputError(
            f"{name} cannot be listed, and is not the one ext4 keeps at a file system's root, "
            "as root's: what it holds cannot be looked for",
            path=str(files.where(name)),
            hint=f"make {name} readable, or move it out of the evidence directory",
        )
    lost = files.held(name, _EXPECTED, any_name=True)
    return not lost or InputError(
        f"{name} is {left.what}, and holds {', '.join(lost)}, named for evidence or holding "
        "records, which is not read from there",
        path=str(files.where(name)),
        hint=f"move {lost[0]} up into the evidence directory if it is evidence, else out of {name}",
    )


_EXPECTED = {f"{kind.name}{suffix}" for kind in KINDS for suffix in kind.suffixes}

_NAMED_BY = {
    "deploys": ("id",),
    "reviews": ("change",),
    "flag_events": ("flag", "service", "environment", "at"),
    "observations": ("host", "service", "observed_at"),
    "waivers": ("rule", "subject", "expires"),
}
"""What names one record of a list kind: a snapshot's older copy of a record (a deployment
since finished) is the same record."""

_REQUIRED = {
    kind.name: {n for n, f in kind.model.model_fields.items() if f.is_required()} for kind in KINDS
}
_RECORD_KEYS = sorted({field for kind in _NAMED_BY for field in _REQUIRED[kind]})
"""The keys a list kind's record requires: one written in a string or a comment of a
snapshot's or a hidden file (a deployment as JSON under ``note:``, or as YAML in a block
scalar) belongs to a record no mapping reads as, which was passed over, and the check passed;
so did one whose ``id`` alone was spelt with an escape (``"\\x69d"``)."""


def _snapshot_unheld(
    files: EvidenceFiles, name: str, left: leftovers.Leftover, present: set[str]
) -> InputError | None:
    """A filer's snapshot holding, in a file of any name, a record no file read holds (by
    what names it, ``_NAMED_BY``): a snapshot keeps older copies of the directory's files, so
    the record was removed from them since, or put there. ``.snapshot/hourly.0/deploys.yaml``
    holding a deployment of a commit no one reviewed beside ``deploys.yaml`` was passed over,
    and the check passed."""
    found = _first_unheld(files, _files_inside(files, name), present)
    if found is None:
        return None
    each, kind, said = found
    return InputError(
        f"{name} is {left.what}, and {each} there {said}, which no file read holds: a "
        "snapshot keeps older copies of the directory's files, so it was removed from "
        "them since, or put there",
        path=str(files.where(name)),
        hint=f"put it in {_home(kind)} if it is evidence, else remove {name}/{each}",
    )


def _files_inside(files: EvidenceFiles, name: str) -> Iterator[tuple[str, bytes]]:
    """Each file of any name the directory ``name`` holds, at any depth: its path inside it
    and its bytes, read as they are asked for."""
    for each in files.held(name, _EXPECTED, any_name=True):
        yield each, files.read_inside(name, each)


def _first_unheld(
    files: EvidenceFiles, inside: Iterable[tuple[str, bytes]], present: set[str]
) -> tuple[str, Kind | None, str] | None:
    """The first of ``inside`` (paths and bytes) that holds what no file read holds
    (``_not_held``): its path, the kind, and what it holds; None where none does."""
    names: dict[str, set[str]] = {}
    for each, data in inside:
        kind, said = _not_held(files, data, present, names)
        if said:
            return each, kind, said
    return None


def _home(kind: Kind | None) -> str:
    """The file a kind's records are read from, as messages name it."""
    return f"{kind.name}{kind.suffixes[0]}" if kind else "the evidence file of its kind"


def _own_file(kind: Kind, present: set[str]) -> str | None:
    """The file of ``kind`` read from the evidence directory, if any."""
    return next((p for p in sorted(present) if p.partition(".")[0] == kind.name), None)


def _not_held(
    files: EvidenceFiles, data: bytes, present: set[str], names: dict[str, set[str]]
) -> tuple[Kind | None, str]:
    """What a snapshot's file ``data`` holds that no file read holds, and its kind: a record
    (``_NAMED_BY``), or a fleet or identities where none is read; ``""`` where nothing."""
    documents = leftovers.whole_documents(data)
    if documents is None:
        return None, "holds records in what does not read whole as YAML or JSON Lines"
    for kind, record in _outer_records([*documents, *leftovers.roots(data)]):
        held = _names_held(files, kind, present, names)
        if _record_same(kind, record) not in held:
            named = _record_name(kind, record)
            other = _other(kind, record) if f"#{named}" in held else ""
            return kind, f"holds {kind.what} {named}{other}"
    key = leftovers.keys_unparsed(data, documents, _RECORD_KEYS)
    if key is not None:
        return None, f"holds a record (its {key!r}) written in a string or a comment"
    document = records_kind(data)
    if document is not None and not _present(document, present):
        return document, f"holds {document.what} records"
    return None, ""


def _outer_records(values: list[Any]) -> Iterator[tuple[Kind, dict[str, Any]]]:
    """Each mapping among ``values``, at any depth, that reads as a list kind's record (not
    looking inside one: a deployment's approvals are no flag events)."""
    stack = list(values)
    while stack:
        value = stack.pop()
        kind = _mapping_kind({str(k) for k in value}) if isinstance(value, dict) else None
        if kind is not None and kind.name in _NAMED_BY:
            yield kind, value
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _record_name(kind: Kind, record: dict[str, Any]) -> str:
    return "/".join(str(record.get(field)) for field in _NAMED_BY[kind.name])


_SHIPPED = ("id", "service", "environment", "commit", "started_at")
"""What a deployment shipped, where and when: a copy of deployment D1 that shipped another
commit is not an older copy of it (a deployment since finished), but another account of
it. ``.Trashes/501/x`` holding D1 of a commit no one reviewed, beside a ``deploys.yaml``
whose D1 shipped a reviewed one, was passed over, and the check passed."""


def _record_same(kind: Kind, record: dict[str, Any]) -> str:
    """What a record must share with one a file read holds to be the same record."""
    fields = _SHIPPED if kind.name == "deploys" else _NAMED_BY[kind.name]
    return json.dumps([str(record.get(field)) for field in fields])


def _other(kind: Kind, record: dict[str, Any]) -> str:
    """For a deployment the file read holds another account of, what this one shipped."""
    if kind.name != "deploys":
        return ""
    return f" (commit {shown(record.get('commit'))})"


def _names_held(
    files: EvidenceFiles, kind: Kind, present: set[str], names: dict[str, set[str]]
) -> set[str]:
    """What names each record of ``kind``'s own file (``names``: those read already): what
    it must share with another to be the same (``_record_same``), and its name after ``#``."""
    if kind.name not in names:
        own = _own_file(kind, present)
        documents = leftovers.whole_documents(files.read(own)) if own else None
        held = [r for k, r in _outer_records(documents or []) if k is kind]
        names[kind.name] = {_record_same(kind, r) for r in held}
        names[kind.name] |= {f"#{_record_name(kind, r)}" for r in held}
    return names[kind.name]


def _present(kind: Kind | None, present: set[str]) -> bool:
    """Whether a file of ``kind`` is read from the evidence directory."""
    return kind is not None and _own_file(kind, present) is not None


def _left_records(
    files: EvidenceFiles, name: str, left: leftovers.Leftover, kind: Kind
) -> InputError:
    """A lock file, or Explorer's, that holds a kind's records: not passed over."""
    hint = f"if they are evidence, put them in {_home(kind)}"
    if left.rule == "lock":
        hint += f"; else close the editor that has {left.of} open, or delete {name}"
    else:
        hint += f"; else delete {name}"
    return InputError(
        f"{name} is named as {left.what}, but holds {kind.what} records, which are not read "
        "from there",
        path=str(files.where(name)),
        hint=hint,
    )


def records_kind(data: bytes) -> Kind | None:
    """The evidence kind whose records ``data`` holds, if any: a mapping at any depth, as YAML
    or as JSON Lines however little of it parses (``leftovers.nested``), with two of a kind's
    required fields (``services``, for a fleet), or a mapping of lists of addresses
    (identities); else two of a kind's required fields written as keys anywhere in it
    (``leftovers.keys_named``). Named for no kind, such a file may be the evidence under
    another name, and is not passed over. Only the form an evidence file holds was looked
    at: a lock file holding a deployment after a byte that is not UTF-8, after an office
    lock's own bytes, in a second YAML document or under a key was passed over. What a
    compressed file or archive holds (``archives.unpacked``) is looked at too: a gzipped
    deployment in ``~$deploys.yaml`` was passed over."""
    kind = _plain_kind(data)
    if kind is not None or not archives.is_archive(data):
        return kind
    found = archives.unpacked(data, tar_files=True)
    return next(filter(None, map(_plain_kind, [*found.contents, *found.tar_files])), None)


def _plain_kind(data: bytes) -> Kind | None:
    """``records_kind`` of ``data``'s own bytes."""
    kind = _parsed_kind(data)
    if kind is not None:
        return kind
    return next(
        (
            kind
            for kind in _RECORDS
            if _enough(kind, leftovers.keys_named(data, _REQUIRED[kind.name]))
        ),
        None,
    )


def _parsed_kind(data: bytes) -> Kind | None:
    """The kind whose records a mapping ``data`` holds (``leftovers.nested``) reads as."""
    for mapping in leftovers.nested(data):
        kind = _mapping_kind({str(key) for key in mapping})
        if kind is not None:
            return kind
        if mapping and all(_addresses(value) for value in mapping.values()):
            return KIND_BY_NAME["identities"]
    return None


_RECORDS = tuple(kind for kind in KINDS if kind.name != "identities")


def _enough(kind: Kind, keys: set[str]) -> bool:
    """Whether ``keys`` are enough of ``kind``'s required fields to be one of its records."""
    needed = _REQUIRED[kind.name]
    return len(keys & needed) >= min(2, len(needed))


def _mapping_kind(keys: set[str]) -> Kind | None:
    return next((kind for kind in _RECORDS if _enough(kind, keys)), None)


def _addresses(value: Any) -> bool:
    return isinstance(value, list) and any("@" in str(each) for each in value)


def _check_ignored_records(
    files: EvidenceFiles, name: str, data: bytes, matched: tuple[str, set[str]]
) -> None:
    """An ``evidence_ignore`` glob does not pass over a file (``data``; ``matched``: the glob,
    and the evidence files present) holding a kind's records that the kind's own file does
    not hold: ``deploy.yaml`` holding a deployment not in ``deploys.yaml``, ignored by its
    name, had that deployment judged by no rule, and the run passed; so did
    ``archive/d2.yaml`` with ``archive`` ignored. A copy of records the kind's file holds (an
    older export, a backup) may be ignored; ignoring is for what is not evidence."""
    glob, present = matched
    kind = records_kind(data)
    if kind is None:
        return
    own = _own_file(kind, present)
    theirs = _record_keys(leftovers.whole(files.read(own)) or []) if own is not None else set()
    held = leftovers.whole(data)
    missing = len(_record_keys(held) - theirs) if held is not None else None
    if missing == 0:
        return
    home = own or _home(kind)
    holds = (
        f"holds {missing} {kind.what} record(s) that {own or 'no file read'} "
        f"{'does not hold' if own else 'holds'}"
        if missing is not None
        else f"holds {kind.what} records in what does not read whole as UTF-8 YAML or JSON "
        f"Lines, which cannot be told held by {own or 'a file read'}"
    )
    raise InputError(
        f"{name} matches evidence_ignore {glob!r}, but {holds}: ignored, they would be judged "
        "by no rule",
        path=str(files.where(name)),
        hint=f"put them in {home} if they are evidence, else remove {name}: evidence_ignore is "
        "for files that are not evidence",
    )


def _record_keys(mappings: list[dict[str, Any]]) -> set[str]:
    """Each mapping, at any depth, in one form whatever its key order or file format."""
    return {json.dumps(m, sort_keys=True, default=str) for m in mappings}


def _hidden_held(files: EvidenceFiles, entry: Entry, expected: set[str]) -> list[str] | None:
    """None for an entry passed over: a README, an editor's lock, a hidden entry named for no
    evidence (``_evidence_like``) that holds none; else the evidence files' names a hidden
    directory holds (``EvidenceFiles.held``): ``.kw/observations.jsonl`` was passed over with
    its directory, and the host it showed on old code judged by no rule."""
    name = entry.name
    if _DOCUMENTATION.match(name) or _editor_lock(entry):
        return None
    if not name.startswith("."):
        return []
    held = files.held(name, expected) if entry.is_dir else []
    snapshot = leftovers.leftover(name, entry.is_file, entry.is_dir)
    kept = snapshot is not None and snapshot.rule == "snapshot"  # whatever its files' names
    return held if held or kept or _evidence_like(name) else None


def _unread_error(
    files: EvidenceFiles, entry: Entry, known: tuple[str, set[str]], held: list[str]
) -> InputError:
    """The error for an entry of the evidence directory that is not read (``_unread``), with
    the evidence a hidden one holds (``held``). ``known``: the registry's path and the evidence
    files present."""
    message, hint = _unread(entry.name, entry.is_dir, *known)
    if held:
        message += f" (hidden, it holds {', '.join(held)}, which is not read from there)"
        hint = f"move {held[0]} up into the evidence directory if it is evidence; else {hint}"
    elif entry.name.startswith("."):
        message += " (a hidden file named for evidence is refused, not passed over)"
    return InputError(message, path=str(files.where(entry.name)), hint=hint)


def _editor_lock(entry: Entry) -> bool:
    """Whether ``entry`` is the lock an editor holds on a file while it is edited: Emacs links
    ``.#deploys.jsonl`` to ``user@host.pid``, a link that leads nowhere and holds no records.
    Named for evidence, it was refused while anyone had the file open."""
    return entry.name.startswith(".#") and not entry.is_file and not entry.is_dir


def _evidence_file(files: EvidenceFiles, entry: Entry, expected: set[str]) -> bool:
    """Whether ``entry`` is an evidence file to read. One of their names held by what is not a
    file (a link that leads nowhere, a pipe, a device) is an error: it was said to be not read
    because a file of its name was there already, naming itself."""
    if entry.name not in expected and entry.name != TRACE:
        return False
    if entry.is_file or entry.is_dir:
        return entry.is_file
    raise InputError(
        f"{entry.name} is not a file: a link that leads nowhere, a pipe or a device, whose "
        "records cannot be read",
        path=str(files.where(entry.name)),
        hint=f"put the file itself in the evidence directory as {entry.name}",
    )


_NAMED_FOR_DEPLOYS = ("deployments", "deployment", "deploy")


def _stem(name: str) -> tuple[str, str]:
    """A name's stem and suffix, read past the dots that hide it and the ``#`` an editor's
    autosave puts around it: ``.observations.jsonl`` is ``observations`` and ``jsonl``."""
    stem, _, suffix = name.lstrip(".#").partition(".")
    return stem, suffix


_WORDS = re.compile(r"[.\-\s#]+")
"""What separates the words of a file's name: ``.prod.observations.jsonl`` holds ``prod``,
``observations`` and ``jsonl``."""


def _evidence_like(name: str) -> bool:
    """Whether a hidden entry is named for evidence: its stem, or any word of its name, is an
    evidence kind's in any case, or near one, or its name holds one. Hidden,
    ``.observations.jsonl`` (a careless export, or a wish to pass) was passed over without a
    word, and the host it showed on old code judged by no rule; so were
    ``.prod.observations.jsonl`` and ``.export_observations_2024-05.jsonl``, whose stems
    (``prod``, ``export_observations_2024-05``) name no kind. What is truly not evidence
    (``.git``, ``.gitkeep``, ``.DS_Store``, a mounted ConfigMap's ``..data``) is still passed
    over."""
    folded = name.casefold()
    if any(kind in folded for kind in (*KIND_BY_NAME, "deploy")):
        return True
    words = [_stem(name)[0].casefold(), *_WORDS.split(folded.lstrip(".#"))]
    return any(
        word in _NAMED_FOR_DEPLOYS or did_you_mean(word, KIND_BY_NAME, cutoff=0.75)
        for word in words
        if word
    )


def _check_not_hidden(
    files: EvidenceFiles, name: str, glob: str, present: set[str], entry: str
) -> None:
    """An ``evidence_ignore`` glob does not pass over the only file of an evidence kind under
    another spelling: ``*.json``, meant for an export's leftovers, took ``observations.json``
    with it, and FLEET-002 went unjudged in a pass. Beside the kind's own file (a backup,
    ``deploys.yaml.bak``), it is not evidence and may be ignored. A name that holds a kind's
    (``prod.observations.jsonl``, ``observations-2024-05.jsonl``) is named for it too: ``prod.*``
    took the only observations with it, and the run passed; so is one that misspells it
    (``observatons.jsonl``), which ``obs*`` took as well."""
    stem, suffix = _stem(name)
    kind = KIND_BY_NAME.get(stem) or KIND_BY_NAME.get(stem.casefold()) or _near_kind(name)
    if kind is None or _present(kind, present):
        return
    _, hint = _misnamed(name, kind, suffix, None)
    held = f"{entry} holds {name}, and " if entry != name else ""
    raise InputError(
        f"{entry} matches evidence_ignore {glob!r}, but {held}{'it ' if not held else ''}is "
        f"named for {kind.what} evidence and no {kind.what} file is read: ignored, it would "
        "leave its rules unjudged",
        path=str(files.where(entry)),
        hint=hint,
    )


def _held_kind(name: str) -> Kind | None:
    """The evidence kind whose name ``name`` holds (in any case; ``deploy`` for deploys), if
    any."""
    folded = name.casefold()
    held = [kind for kind in KINDS if kind.name in folded]
    if not held and "deploy" in folded:
        held = [KIND_BY_NAME["deploys"]]
    return held[0] if held else None


def _near_kind(name: str) -> Kind | None:
    """The evidence kind whose name ``name`` holds (``_held_kind``), or that a word of it
    misspells (``observatons.jsonl``, ``deplys.yaml``), if any. Misspelt, the only
    observations were passed over inside a hidden directory, or with an ``evidence_ignore``
    glob, and the run passed."""
    held = _held_kind(name)
    if held is not None:
        return held
    for word in _WORDS.split(name.casefold().lstrip(".#")):
        close = difflib.get_close_matches(word, sorted(KIND_BY_NAME), n=1, cutoff=0.75)
        if close:
            return KIND_BY_NAME[close[0]]
    return None


_INTERRUPTED = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")
"""The temporary file knightwatch writes a file through (``.deploys.jsonl.k2j3x9_a.tmp``,
``checker.writer``), left behind when the write was interrupted."""


_COPYING = (
    (re.compile(r"\.(.+)\.[A-Za-z0-9]{6}"), "rsync"),
    (re.compile(r"\.syncthing\.(.+)\.tmp"), "Syncthing"),
    (re.compile(r"(.+)___jb_tmp___"), "a JetBrains IDE"),
)
"""The temporary files other tools write a file through (``.deploys.yaml.AbC123``,
``.syncthing.deploys.yaml.tmp``, ``deploys.yaml___jb_tmp___``): each was refused with the hint
to rename it to ``deploys.yaml``, which would have part of the records judged as all of
them."""


def _unread(name: str, is_dir: bool, registry: str, present: set[str]) -> tuple[str, str]:
    """Why a file in the evidence directory is not read, and what to do about it. What an
    interrupted write left is not to be renamed into place, as a misnamed file is: it may hold
    part of the records, and the rest would go unjudged."""
    behind = _left_behind(name, is_dir, present)
    if behind is not None:
        return behind
    stem, suffix = _stem(name)
    taken = next((p for p in sorted(present) if p.partition(".")[0] == stem.casefold()), None)
    elsewhere = "move it out of the evidence directory, or list it under evidence_ignore in "
    elsewhere += "knightwatch.yaml"
    if is_dir:
        kind = KIND_BY_NAME.get(stem.casefold())
        if kind is None:
            return "a directory in the evidence directory is not read", elsewhere
        return (
            f"a directory in the evidence directory is not read: {name} is named for "
            f"{kind.what} evidence, which is read from one file, not from a directory's files",
            f"put its records in one file, {kind.name}{kind.suffixes[0]}",
        )
    if stem == "knightwatch":
        return (
            f"{name} is not read here: knightwatch.yaml is read from the repository root",
            "move it to the root of the repository (--repo)",
        )
    if name == PurePosixPath(registry).name or stem in ("flags", "flag_registry", "registry"):
        return (
            f"{name} is not read here: the flag registry is read from the repository's "
            f"history ({registry} in the repository, or flags_file in knightwatch.yaml)",
            "commit the registry to the repository",
        )
    kind = KIND_BY_NAME.get(stem) or KIND_BY_NAME.get(stem.casefold())
    if kind is not None:
        return _misnamed(name, kind, suffix, taken)
    near = did_you_mean(stem, KIND_BY_NAME, cutoff=0.75)
    if stem.casefold() in _NAMED_FOR_DEPLOYS:
        near = " (did you mean 'deploys'?)"
    if near:
        return f"{name} is not an evidence file knightwatch reads{near}", "rename it"
    names = ", ".join(sorted(KIND_BY_NAME))
    return (
        f"{name} is not an evidence file knightwatch reads (the evidence files are {names}, "
        "each .yaml, .yml or .jsonl)",
        elsewhere,
    )


def _left_behind(name: str, is_dir: bool, present: set[str]) -> tuple[str, str] | None:
    """Why a file an interrupted write, or an editor's backup, left is not read; None for any
    other entry."""
    written = _INTERRUPTED.fullmatch(name)
    if written and not is_dir:
        return (
            f"{name} is what an interrupted write of {written[1]} left behind (each file is "
            "written through a temporary file beside it): it may hold only part of the records",
            f"remove it, and import again if {written[1]} is not here",
        )
    copied = next(((m, tool) for r, tool in _COPYING if (m := r.fullmatch(name))), None)
    if copied and not is_dir and copied[0][1] in _EXPECTED:
        of = copied[0][1]
        return (
            f"{name} is the temporary file {copied[1]} writes {of} through, left where the "
            "copy was interrupted or is still under way: it may hold only part of the records",
            f"remove it, and copy {of} again if it is not here",
        )
    left = leftovers.leftover(name, not is_dir, is_dir)
    return _backup(name, left, present) if left is not None and left.rule == "backup" else None


def _backup(name: str, left: leftovers.Leftover, present: set[str]) -> tuple[str, str]:
    """Why an editor's backup (``deploys.yaml~``) is not read: it is a whole copy of an older
    version of its file, not to be renamed into place (as a misnamed file is) nor kept."""
    if left.of in present:
        return f"{name} is {left.what} it was last saved: it is not read", f"delete {name}"
    return (
        f"{name} is {left.what} it was last saved, and {left.of} is not here: the backup is "
        "not read, and holds an older version of it",
        f"put {left.of} back as exported (export it again), then delete {name}",
    )


def _misnamed(name: str, kind: Kind, suffix: str, taken: str | None) -> tuple[str, str]:
    """Why a file named like an evidence kind is not read, and what to do about it."""
    names = ", ".join(f"{kind.name}{s}" for s in kind.suffixes)
    if taken:
        return (
            f"{name} is not read: {kind.what} evidence is read from {names}, and "
            f"{taken} is here already",
            "remove it, or move it out of the evidence directory",
        )
    own = f".{suffix.casefold()}"
    hint = f"rename it to {kind.name}{own if own in kind.suffixes else kind.suffixes[0]}"
    if suffix == "json":
        lines = f"{kind.name}.jsonl" if ".jsonl" in kind.suffixes else None
        hint = (
            f"JSON Lines (one object a line) go in {lines}; a JSON array or object is "
            f"YAML too: rename it to {kind.name}.yaml"
            if lines
            else f"JSON is YAML too: rename it to {kind.name}.yaml"
        )
    return f"{name} is not read: {kind.what} evidence is read from {names}", hint


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
    _check_separated_ids(evidence, first)


def _check_one_record_a_change(evidence: Evidence) -> None:
    """No merged change is recorded twice: each record's approvals vouch for its commits, so a
    record saved before an approval was dismissed, left beside the one saved after, would bring
    the withdrawn approval back, and which record is up to date cannot be told. Names are
    compared case folded (a forge gives a repository's name as it is spelt now), white space
    around them aside, whoever wrote the record: an import beside a hand-merged copy of the
    same change, one with ``source`` and one without, brought the withdrawn approval back."""
    first: dict[str, int] = {}
    named: dict[str, int] = {}
    """Pull and merge requests named with their repository, by their bare name (``#7``,
    ``!7``)."""
    for index, review in enumerate(evidence.reviews):
        key = review.change.strip().casefold()
        pull = _PULL_NAMED.fullmatch(key)
        bare = f"{pull.group(1)}{pull.group(2)}" if pull else None
        at = first.get(key, named.get(key))  # the same name, or #7 after org/shop#7
        at = first.get(bare, at) if bare is not None else at  # org/shop#7 after #7
        if at is not None:
            path, line = evidence.locations["reviews"][at]
            earlier = evidence.reviews[at].change
            also = "" if earlier == review.change else f" (as {earlier!r})"
            raise evidence.error(
                "reviews",
                index,
                f"change {review.change!r} is recorded twice: first at {path.name}:{line}{also}; "
                "which record is up to date cannot be told",
                hint="keep only the latest record of the change (import again to bring it up "
                "to date)",
            )
        first[key] = index
        if bare is not None:
            named.setdefault(bare, index)


_PULL_NAMED = re.compile(r"[^#!\s/]+(?:/[^#!\s/]+)+([#!])(\d+)")
"""A pull request named with its repository (``org/shop#7``): the same as ``#7``, the name an
import of a pull request saved without its ``base.repo`` gave it; and a GitLab merge request
(``group/app!7``, its ``references.full``): the same as ``!7``, the name an import of one
saved without its ``references`` gave it."""


def _check_separated_ids(evidence: Evidence, first: dict[str, int]) -> None:
    """No deployment id is another's followed by ':': findings about a deployment's hosts and
    flags are named ``DEPLOYMENT:HOST``, so deployment ``RT-2`` with host ``z:r-4`` and
    deployment ``RT-2:z`` with host ``r-4`` would be one subject, and a deployment's findings
    (in ``sample``, in a subject waiver) could not be told from the other's."""
    for ident, index in first.items():
        heads = [ident[:at] for at, char in enumerate(ident) if char == ":"]
        other = next((head for head in heads if head in first), None)
        if other is not None:
            path, line = evidence.locations["deploys"][first[other]]
            raise evidence.error(
                "deploys",
                index,
                f"deployment id {ident!r} begins with another deployment's id and ':' ({other!r}, "
                f"at {path.name}:{line}): their findings, named DEPLOYMENT:HOST, could not be "
                "told apart",
                hint=f"rename one of them, e.g. {ident.replace(':', '-')!r}",
            )
