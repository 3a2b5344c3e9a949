"""The object store as it stands, sealed: what a run hashed of it need not be hashed again by
the next run over the same files.

Every commit git walks is hashed in every run (``checker.evidence.objectcheck``): git believes
whatever bytes it reads, so a verdict rests only on objects that hash to their ids. Which
bytes git reads for an id depends on nothing but the files of the object stores (packs and
their indexes, loose objects, the multi-pack index, ``info/alternates`` and the stores it
names) and on git itself: the settings that would let the repository's configuration choose
among them (``core.useReplaceRefs``, ``core.multiPackIndex``) are pinned for every git
command (``checker.evidence.git.HISTORY_ENV``). A ``Seal`` names those files as they stand:
each one's path, size, modification and change times (to the nanosecond), inode and device,
and git's version. While every file stands as it did, git reads every id from the same bytes,
so a commit (or a tree) hashed under a seal is the object its id names for every later run
under the same seal.

The seal is the file system's word that no file changed, the word git's own index relies on
for a work tree: a file written to changes its change time, which no one but the system's
administrator (or its clock) can set back. Whoever can do that can also write the cache
directory, which is not a trust anchor either (``checker.cache``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Collection, ItemsView, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEALED = "sealed-objects"
"""The cache's kind for what was hashed under a seal (``Sealed``)."""


@dataclass(frozen=True)
class Seal:
    """The object stores' files as they stood: ``digest`` names them."""

    stores: tuple[Path, ...]
    git: str
    digest: str

    def intact(self) -> bool:
        """Whether every file still stands as it did, and no file came or went."""
        return seal(self.stores, self.git) == self

    @property
    def place(self) -> str:
        """Which object stores are sealed (their paths), whatever their files: the cache keeps
        one record per place, the latest seal's, so that a store that changes from run to run
        (each fetch a new seal) does not leave a record behind for every seal it had."""
        paths = "\0".join(os.fsdecode(store) for store in self.stores)
        return hashlib.sha256(paths.encode("utf-8", "surrogateescape")).hexdigest()


def seal(stores: Iterable[Path], git: str) -> Seal | None:
    """The seal of ``stores`` (the object directories git reads, alternates included) under
    git ``git`` (its version); None where a store cannot be listed or a file cannot be
    looked at (nothing is then sealed)."""
    ordered = tuple(dict.fromkeys(Path(os.path.realpath(store)) for store in stores))
    digest = hashlib.sha256(git.encode() + b"\0")
    try:
        for number, store in enumerate(ordered):
            for name, status in _files(store):
                fields = (number, name, status.st_size, status.st_mtime_ns, status.st_ctime_ns,
                          status.st_ino, status.st_dev, status.st_mode)  # fmt: skip
                digest.update(repr(fields).encode("utf-8", "surrogateescape") + b"\n")
    except OSError:
        return None
    return Seal(ordered, git, digest.hexdigest())


def _files(store: Path) -> list[tuple[str, os.stat_result]]:
    """Every file below ``store``, by its path from there, with what ``stat`` says of it
    (links followed, as git follows them; a directory met twice through links, once, always
    under the same name), and every symbolic link itself: where it leads and its own
    ``lstat`` (a link re-pointed at another folder leaves every file as it was). A
    directory's own times are not: they change with files that come and go, which the
    listing shows itself."""
    found: list[tuple[str, os.stat_result]] = []
    seen: set[tuple[int, int]] = set()
    pending = [("", store)]
    while pending:
        prefix, folder = pending.pop()
        status = folder.stat()
        if (status.st_dev, status.st_ino) in seen:
            continue
        seen.add((status.st_dev, status.st_ino))
        with os.scandir(folder) as listed:
            entries = sorted(listed, key=lambda entry: entry.name, reverse=True)
        for entry in entries:  # the last pushed is walked first: in order of their names
            name = f"{prefix}/{entry.name}" if prefix else entry.name
            found.extend(_entry(entry, name))
            if entry.is_dir():
                pending.append((name, Path(entry.path)))
    found.sort(key=lambda item: item[0])
    return found


def _entry(entry: os.DirEntry[str], name: str) -> list[tuple[str, os.stat_result]]:
    """What the seal records of one entry: a link as a link, a file as the file it is."""
    recorded = []
    if entry.is_symlink():
        target = Path(entry.path).readlink()
        recorded.append((f"{name} -> {target}", entry.stat(follow_symlinks=False)))
    if not entry.is_dir():
        with contextlib.suppress(FileNotFoundError):  # a dangling link: recorded as one
            recorded.append((name, entry.stat()))
    return recorded


class Packed(Mapping[str, str]):
    """Records of fixed width, sorted, in one string: a key of ``key`` characters, then a
    value of ``value`` (none: a set of keys). Looked up by bisection, never unpacked: a
    hundred thousand commits are read from the cache without building a dict of them. A
    key is found only where a record holds it exactly, whatever the string holds."""

    def __init__(self, text: str = "", key: int = 40, value: int = 0) -> None:
        self._text, self._key, self._width = text, key, key + value
        self._count = len(text) // self._width if self._width else 0

    def _at(self, index: int) -> str:
        start = index * self._width
        return self._text[start : start + self._key]

    def _find(self, key: str) -> int | None:
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            if self._at(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low if low < self._count and self._at(low) == key else None

    def _value(self, index: int) -> str:
        start = index * self._width
        return self._text[start + self._key : start + self._width]

    def __getitem__(self, key: str) -> str:
        index = self._find(key) if isinstance(key, str) else None
        if index is None:
            raise KeyError(key)
        return self._value(index)

    def items(self) -> ItemsView[str, str]:
        """Every record, read in order (not looked up one by one)."""
        return _Records(self)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def __iter__(self) -> Iterator[str]:
        return (self._at(index) for index in range(self._count))

    def __len__(self) -> int:
        return self._count


class _Records(ItemsView[str, str]):
    """``Packed.items``: the records as they stand in the string."""

    _mapping: Packed

    def __iter__(self) -> Iterator[tuple[str, str]]:
        kept = self._mapping
        return ((kept._at(index), kept._value(index)) for index in range(len(kept)))


def packed(items: Iterable[tuple[str, str]] | Iterable[str]) -> str:
    """Records (or keys alone) as ``Packed`` reads them: sorted, joined."""
    records: list[str] = [item if isinstance(item, str) else "".join(item) for item in items]
    return "".join(sorted(records))


class Layered(Mapping[str, str]):
    """Several mappings read as one, the first that holds a key answering (none copied)."""

    def __init__(self, *layers: Mapping[str, str]) -> None:
        self._layers = layers

    def __getitem__(self, key: str) -> str:
        for layer in self._layers:
            if key in layer:
                return layer[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(key in layer for layer in self._layers)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key for layer in self._layers for key in layer))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Sealed:
    """What runs under one seal hashed: every commit reachable from ``tips`` (each with its
    root tree, as its hashed bytes name it), and the trees in ``trees``."""

    tips: frozenset[str] = frozenset()
    commits: Mapping[str, str] = field(default_factory=dict)
    trees: Collection[str] = frozenset()

    def value(self, width: int, sealed: str) -> dict[str, Any]:
        """As the cache keeps it (``width``: the repository's object ids' length; ``sealed``:
        the digest of the seal it was hashed under)."""
        return {
            "seal": sealed,
            "width": width,
            "tips": sorted(self.tips),
            "commits": packed(self.commits.items()),
            "trees": packed(self.trees),
        }

    @classmethod
    def of(cls, value: Any, sealed: str) -> Sealed | None:
        """The value ``value`` keeps, or None where it is not one, or was kept under another
        seal than ``sealed`` (a miss)."""
        if not is_sealed(value) or value["seal"] != sealed:
            return None
        width = value["width"]
        commits = Packed(value["commits"], width, width)
        if not all(tip in commits for tip in value["tips"]):
            return None
        return cls(frozenset(value["tips"]), commits, Packed(value["trees"], width))


def is_sealed(value: Any) -> bool:
    """Whether a cache value has the shape ``Sealed.value`` gives."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("seal"), str)
        and value.get("width") in (40, 64)
        and isinstance(value.get("tips"), list)
        and all(isinstance(tip, str) for tip in value["tips"])
        and isinstance(value.get("commits"), str)
        and isinstance(value.get("trees"), str)
    )
