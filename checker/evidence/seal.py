"""The object store as it stands, sealed: what a run hashed of it need not be hashed again by
the next run over the same files.

Every commit git walks is hashed in every run (``checker.evidence.objectcheck``): git believes
whatever bytes it reads, so a verdict rests only on objects that hash to their ids. Which
bytes git reads for an id depends on nothing but the files of the object stores (packs and
their indexes, loose objects, the multi-pack index, ``info/alternates`` and the stores it
names) and on git itself. A ``Seal`` names those files as they stand: each one's path, size,
modification and change times (to the nanosecond), inode and device, and git's version. While
every file stands as it did, git reads every id from the same bytes, so a commit (or a tree)
hashed under a seal is the object its id names for every later run under the same seal.

The seal is the file system's word that no file changed, the word git's own index relies on
for a work tree: a file written to changes its change time, which no one but the system's
administrator (or its clock) can set back. Whoever can do that can also write the cache
directory, which is not a trust anchor either (``checker.cache``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
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
    (links followed, as git follows them; a directory met twice through links, once). A
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
        with os.scandir(folder) as entries:
            for entry in entries:
                name = f"{prefix}/{entry.name}" if prefix else entry.name
                if entry.is_dir():
                    pending.append((name, Path(entry.path)))
                else:
                    try:
                        found.append((name, entry.stat()))
                    except FileNotFoundError:  # a dangling link: git finds nothing there
                        found.append((name, entry.stat(follow_symlinks=False)))
    found.sort(key=lambda item: item[0])
    return found


@dataclass
class Sealed:
    """What runs under one seal hashed: every commit reachable from ``tips`` (each with its
    root tree, as its hashed bytes name it), and the trees in ``trees``."""

    tips: frozenset[str]
    commits: dict[str, str]
    trees: frozenset[str]

    def value(self) -> dict[str, Any]:
        """As the cache keeps it: one line a commit, one a tree, sorted."""
        return {
            "tips": sorted(self.tips),
            "commits": "".join(f"{c} {t}\n" for c, t in sorted(self.commits.items())),
            "trees": "".join(f"{t}\n" for t in sorted(self.trees)),
        }

    @classmethod
    def of(cls, value: Any) -> Sealed | None:
        """The value ``value`` keeps, or None where it is not one (a miss)."""
        if not is_sealed(value):
            return None
        words = value["commits"].split()
        if len(words) % 2:
            return None
        commits = dict(zip(words[::2], words[1::2], strict=True))
        if not all(tip in commits for tip in value["tips"]):
            return None
        return cls(frozenset(value["tips"]), commits, frozenset(value["trees"].split()))


def is_sealed(value: Any) -> bool:
    """Whether a cache value has the shape ``Sealed.value`` gives."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("tips"), list)
        and all(isinstance(tip, str) for tip in value["tips"])
        and isinstance(value.get("commits"), str)
        and isinstance(value.get("trees"), str)
    )
