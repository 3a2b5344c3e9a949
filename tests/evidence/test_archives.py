"""Compressed files are searched as what they hold, within a budget, and a damaged one as its
bytes alone: never an error."""

from __future__ import annotations

import gzip

import pytest

from checker.evidence import archives
from checker.evidence.archives import unpacked
from tests.facts.test_deadcode import _zipped


def test_what_a_file_unpacks_to_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_UNPACKED", 1000)
    bomb = gzip.compress(b"\0" * 100_000, mtime=0)
    assert [len(content) for content in unpacked(bomb)] == [1000]
    members = _zipped("a", b"a" * 800)
    assert [len(content) for content in unpacked(members)] == [800]


def test_archives_inside_archives_are_unpacked_a_few_levels_deep() -> None:
    nested = b"old"
    for level in range(archives.MAX_DEPTH + 1):
        nested = _zipped(f"level{level}", nested)
    assert b"old" not in b"".join(unpacked(nested))
    assert b"old" in b"".join(unpacked(_zipped("x", _zipped("y", b"old"))))


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04 not a zip", b"\x1f\x8b\x08 not gzip", b"BZh9 not bzip2", b"plain text"],
)
def test_what_does_not_unpack_holds_nothing_more(data: bytes) -> None:
    assert unpacked(data) == []
