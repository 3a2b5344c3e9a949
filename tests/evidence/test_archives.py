"""Compressed files are searched as what they hold, within a budget; what could not be
unpacked whole is said, with why, and is never an error."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile

import pytest

from checker.evidence import archives
from checker.evidence.archives import unpacked
from tests.facts.test_archives_in_part import _headers, zstd_frame
from tests.facts.test_deadcode import _tarred, _zipped, ar_archive, v7_tarred


def test_what_a_file_unpacks_to_is_bounded_and_said_to_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(archives, "MAX_UNPACKED", 1000)
    bomb = unpacked(gzip.compress(b"\0" * 100_000, mtime=0))
    assert ([len(c) for c in bomb.contents], bomb.unsearched) == ([1000], {archives.TOO_LARGE})
    member = unpacked(_zipped("a", b"a" * 1200))
    assert ([len(c) for c in member.contents], member.unsearched) == ([1000], {archives.TOO_LARGE})
    whole = unpacked(_zipped("a", b"a" * 1000))
    assert ([len(c) for c in whole.contents], whole.unsearched) == ([1000], set())


def test_archives_inside_archives_are_unpacked_a_few_levels_deep() -> None:
    nested = b"old"
    for level in range(archives.MAX_DEPTH + 1):
        nested = _zipped(f"level{level}", nested)
    deep = unpacked(nested)
    assert b"old" not in b"".join(deep.contents)
    assert deep.unsearched == {archives.TOO_DEEP}
    within = unpacked(_zipped("x", _zipped("y", b"old")))
    assert (b"old" in b"".join(within.contents), within.unsearched) == (True, set())


def test_every_stream_of_a_file_is_unpacked() -> None:
    """``cat a.gz b.gz`` is one file ``gunzip`` reads whole; the second stream was not read."""
    for compress in (gzip.compress, bz2.compress):
        found = unpacked(compress(b"first") + compress(b"old"))
        assert (found.contents, found.unsearched) == ([b"first", b"old"], set())


def test_what_a_tar_holds_compressed_is_unpacked() -> None:
    found = unpacked(gzip.compress(_tarred("lib/x.jar", _zipped("X.class", b"old"))))
    assert (found.contents[-1], found.unsearched) == (b"old", set())


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"flags": 0x1}, archives.ENCRYPTED), ({"method": 98}, archives.UNSUPPORTED)],
    ids=["encrypted", "PPMd"],
)
def test_one_unreadable_member_leaves_the_others_searched(
    change: dict[str, int], reason: str
) -> None:
    """Its first member unreadable, the whole archive was dropped: the second was not read."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("secret", b"x" * 100)
        archive.writestr("Strategy.class", b"old")
    found = unpacked(_headers(out.getvalue(), **change))  # the first member's headers
    assert (found.contents, found.unsearched) == ([b"old"], {reason})


@pytest.mark.parametrize(
    ("data", "unsearched"),
    [
        (b"PK\x03\x04 not a zip", {archives.DAMAGED}),
        (b"\x1f\x8b\x08 not gzip", {archives.DAMAGED}),
        (b"BZh9 is how this text starts", set()),  # not a bzip2 block: not tried
        (b"plain text", set()),
    ],
)
def test_what_does_not_unpack_holds_nothing_more(data: bytes, unsearched: set[str]) -> None:
    found = unpacked(data)
    assert (found.contents, found.unsearched) == ([], unsearched)


@pytest.mark.parametrize(
    "data",
    [
        zstd_frame(b"old"),
        b"\x50\x2a\x4d\x18" + bytes(8) + zstd_frame(b"old"),
        b"\x04\x22\x4d\x18\x64\x40\xa7" + b"old",
        b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24),
        b"Rar!\x1a\x07\x01\x00" + bytes(24),
        b"LZIP\x01\x0c" + bytes(24),
    ],
    ids=["zstd", "skippable frame", "lz4", "7z", "rar", "lzip"],
)
def test_a_format_not_read_is_said_to_be(data: bytes) -> None:
    """zstd, lz4, 7-Zip, RAR and lzip files were taken for plain bytes, searched whole: a
    ``.zst`` or a ``.7z`` holding retired code or a retired flag's name passed."""
    found = unpacked(data)
    assert (found.contents, found.unsearched) == ([], {archives.UNSUPPORTED})
    assert unpacked(_tarred("peg.tar.zst", data)).unsearched == {archives.UNSUPPORTED}


def test_what_an_ar_archive_holds_is_unpacked() -> None:
    """A ``.deb`` is an ``ar`` archive whose ``data.tar.gz`` holds the package's files: it was
    searched as its bytes alone, its members' compressed. A BSD name (``#1/6``) stands in
    front of its member's bytes."""
    deb = ar_archive(
        ("debian-binary", b"2.0\n"),
        ("data.tar.gz", gzip.compress(_tarred("usr/lib/peg.py", b"old"), mtime=0)),
    )
    found = unpacked(deb, tar_files=True)
    assert (found.tar_files[0], found.tar_files[-1], found.unsearched) == (b"2.0\n", b"old", set())
    bsd = unpacked(ar_archive(("#1/6", b"peg.pyold")), tar_files=True)
    assert (bsd.tar_files, bsd.unsearched) == ([b"old"], set())
    assert unpacked(b"!<arch>\n" + b"x" * 70).unsearched == {archives.DAMAGED}


def test_a_seventh_edition_tar_is_a_tar() -> None:
    """No magic at byte 257: its members were neither kept as files nor unpacked."""
    found = unpacked(v7_tarred("lib/x.jar", _zipped("X.class", b"old")), tar_files=True)
    assert (found.contents, found.unsearched) == ([b"old"], set())
    assert unpacked(b"x" * 148 + b"0000000\0" + b"y" * 400).unsearched == set()
