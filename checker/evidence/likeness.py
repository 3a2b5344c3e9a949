"""Files that are an edited copy of another: most of their lines in common.

Retired code moved or copied with one comment line changed, or one function renamed, is not
the same blob, and DEAD-004 followed the exact bytes alone: ``legacy/power_peg.py`` moved to
``src/peg.py`` with its first comment reworded passed (exit 0). Git calls a file a copy of
another when they are at least half alike (``git diff -C``, whose default threshold is 50%);
so does this, counting lines rather than bytes: two files are alike when the distinct lines
they share (each stripped of the spaces around it, lines without a letter or digit left out,
as ``}`` and blank lines say nothing of where code came from) are at least half of the
distinct lines of the larger one. A file of fewer than ``MIN_LINES`` such lines is matched by
its exact bytes alone: two short files share half their lines by chance.

Only a file whose size is within ``SIZE_RATIO`` of a sought one's is split into lines: two
files of which one is more than four times the other cannot share half the larger one's
lines unless lines repeat, so the cost is one comparison of sizes per file, and the lines of
the few files near a sought one's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

THRESHOLD = 0.5
"""The share of the larger file's distinct lines two alike files have in common: git's own
default for a copy (``-C50%``)."""
MIN_LINES = 5
"""The distinct lines a sought file must have to be matched by likeness, not bytes alone."""
SIZE_RATIO = 4
"""A file more than this many times larger or smaller than a sought one is not compared."""
LIKE_MARK = "\0like50 "
"""The word a file alike to a sought blob is found as, before that blob's id (the threshold
is in it, so that a cached answer for another one is not taken)."""

_TEXT = re.compile(rb"[A-Za-z0-9\x80-\xff]")
"""A letter or digit, ASCII or part of a character beyond it."""


def like_mark(blob: str) -> str:
    """The word under which files alike to ``blob`` are found."""
    return LIKE_MARK + blob


def lines(data: bytes) -> frozenset[bytes]:
    """The distinct lines of ``data`` that say something: stripped, holding a letter or
    digit."""
    return frozenset(s for s in (line.strip() for line in data.splitlines()) if _TEXT.search(s))


def alike(one: frozenset[bytes], other: frozenset[bytes]) -> bool:
    """Whether two files' ``lines`` share at least ``THRESHOLD`` of the larger set."""
    larger = max(len(one), len(other))
    return larger > 0 and len(one & other) >= THRESHOLD * larger


class Likeness:
    """The sought blobs long enough to be matched by likeness, and the files alike to them."""

    def __init__(self, sought: Mapping[str, bytes] | None = None) -> None:
        self._sought: list[tuple[str, int, frozenset[bytes]]] = []
        for blob, data in sorted((sought or {}).items()):
            held = lines(data)
            if len(held) >= MIN_LINES:
                self._sought.append((blob, len(data), held))

    @property
    def blobs(self) -> list[str]:
        """The blobs sought by likeness."""
        return [blob for blob, _, _ in self._sought]

    def marks(self, files: Iterable[bytes]) -> set[str]:
        """The ``like_mark`` of each sought blob one of ``files`` (a file's bytes, and those
        of the files a compressed one holds) is alike to."""
        found: set[str] = set()
        for data in files:
            near = [(b, held) for b, size, held in self._sought if _near(len(data), size)]
            if near:
                mine = lines(data)
                found.update(like_mark(blob) for blob, held in near if alike(mine, held))
        return found


def _near(size: int, sought: int) -> bool:
    """Whether a file of ``size`` bytes is near enough a sought one's to compare lines."""
    return size * SIZE_RATIO >= sought and size <= sought * SIZE_RATIO
