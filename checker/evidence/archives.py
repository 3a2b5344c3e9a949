"""What a compressed file holds, searched for flag names as its own bytes are; and, where it
could not be unpacked whole, why not.

A compiled program names a flag in its bytes, and is searched as it is; but a Java program
ships as a ``.jar``, a zip archive whose classes are compressed, and a vendored ``.jar``,
``.whl`` or ``.tar.gz`` holding a retired flag's name hid that reference (DEAD-001 passed).
The members of a zip archive and the streams of a gzip, bzip2 or xz file are unpacked and
searched too, and what they hold in turn (a ``.jar`` inside a ``.war``, or inside a tar's
members), a few levels deep and up to a budget of bytes per file, so that a small file
unpacking to gigabytes costs a bounded time.

A tar's members and an ``ar`` archive's (a ``.deb``) are stored as they are, searched with
the archive's bytes, and unpacked where compressed themselves.

What was not unpacked is said, never passed over: a file past the budget or nested too deeply,
a damaged archive, an encrypted member, a compression method Python does not read (a zip's
PPMd, or a whole file in zstd, lz4, 7-Zip, RAR or lzip, known by its magic bytes). Such a file
is searched as far as it could be read, and its reasons (``Unpacked.unsearched``) make the
rules that search file content judged on part of their evidence. Unpacking is tried only on a
file that starts with an archive's magic bytes (a tar's are at byte 257), so plain files cost
nothing more.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

MAX_UNPACKED = 64 * 1024 * 1024
"""Bytes unpacked out of one file, all its members and levels together."""
MAX_DEPTH = 3
"""Archives inside archives unpacked, counting the file itself."""

TOO_LARGE = f"past the {MAX_UNPACKED >> 20} MiB unpacking budget"
TOO_DEEP = f"archives nested more than {MAX_DEPTH} deep"
DAMAGED = "damaged"
ENCRYPTED = "encrypted"
UNSUPPORTED = "compressed by a method not read"
REASONS = (TOO_LARGE, TOO_DEEP, DAMAGED, ENCRYPTED, UNSUPPORTED)
"""Why a compressed file was not searched whole, as the report words it."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


_ZIP = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"
"""A zip's end record, within its last 65,557 bytes: where a zip with something in front of it
is found (Python's zipfile reads such a zip, its offsets taken from the end)."""
_IN_FRONT = (b"#!", b"MZ")
"""What stands in front of a runnable zip: a launch script (Spring Boot's executable jars) or
a Windows program (a self-extracting archive)."""
_STREAMS: tuple[tuple[re.Pattern[bytes], Callable[[], _Decompressor]], ...] = (
    (re.compile(b"\x1f\x8b"), lambda: zlib.decompressobj(wbits=31)),  # gzip
    (re.compile(b"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), bz2.BZ2Decompressor),  # a block, or none
    (re.compile(b"\xfd7zXZ\x00"), lzma.LZMADecompressor),
)
_TAR_MAGIC = (257, b"ustar")
"""Where a POSIX or GNU tar header says what it is; a tar stores its members' bytes as they
are (searched with it), but a member may itself be compressed."""
_TAR_SUM = re.compile(rb" *[0-7]+[ \0]*")
"""A tar header's checksum field (bytes 148 to 155): octal digits, ended by NUL or space.
The tar of Seventh Edition Unix (``tar --format=v7``) writes no magic, and is known by it."""
_AR = b"!<arch>\n"
"""An ``ar`` archive (a ``.deb``: its ``data.tar.xz`` member holds the package's files), which
stores its members' bytes as they are, as a tar does."""
_AR_HEADER = 60
_NOT_READ = re.compile(
    rb"\x28\xb5\x2f\xfd"  # a zstd frame (.zst, .tar.zst)
    rb"|[\x50-\x5f]\x2a\x4d\x18"  # a skippable frame, zstd's or lz4's
    rb"|\x04\x22\x4d\x18"  # an lz4 frame (.lz4)
    rb"|7z\xbc\xaf\x27\x1c"  # a 7-Zip archive
    rb"|Rar!\x1a\x07"  # a RAR archive
    rb"|LZIP[\x00\x01]"  # an lzip file
)
"""Compressed formats Python does not read: such a file is not unpacked, and says so
(``UNSUPPORTED``). Taken for plain bytes, a ``.zst``, ``.lz4``, ``.7z`` or ``.rar`` holding
retired code or a retired flag's name passed as searched whole."""
_UNREADABLE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)
"""What a damaged archive raises."""


@dataclass
class Unpacked:
    """What one file holds compressed, at every level, and why any of it was not read."""

    contents: list[bytes] = field(default_factory=list)
    unsearched: set[str] = field(default_factory=set)
    """``REASONS`` for the parts not unpacked (empty: searched whole)."""
    left: int = MAX_UNPACKED
    """Bytes that may still be unpacked."""
    keep_tar_files: bool = False
    tar_files: list[bytes] = field(default_factory=list)
    """With ``keep_tar_files``, each file a tar or an ``ar`` archive holds: searched with the
    archive's own bytes, but each a file whose content may be another's (retired code vendored
    in a ``.tar.gz`` or a ``.deb``)."""


def is_archive(data: bytes) -> bool:
    """Whether ``data`` starts as an archive or a compressed stream does, or is a runnable
    zip (``_is_zip``)."""
    return _kind(data) is not None


def _kind(data: bytes) -> str | None:
    """What ``data`` is, read once: ``tar``, ``ar``, ``zip``, ``stream`` (gzip, bzip2 or xz),
    ``unread`` (compressed by a method not read: ``_NOT_READ``), or None."""
    if _is_tar(data):
        return "tar"
    if data.startswith(_AR):
        return "ar"
    if _is_zip(data):
        return "zip"
    if _stream(data) is not None:
        return "stream"
    return "unread" if _NOT_READ.match(data) else None


def _is_zip(data: bytes) -> bool:
    """A zip archive, or a zip behind a launch script or a Windows program that reads as one:
    a jar made executable was searched as its compressed bytes alone. Behind one, a zip whose
    end record is found but that does not open is taken for none (a script that happens to
    hold the record's four bytes), since nothing could run it either."""
    if data.startswith(_ZIP):
        return True
    if not data.startswith(_IN_FRONT) or data.rfind(_ZIP_END, max(0, len(data) - 65_557)) < 0:
        return False
    try:
        zipfile.ZipFile(io.BytesIO(data)).close()
    except (*_UNREADABLE, RuntimeError, NotImplementedError):
        return False
    return True


def _stream(data: bytes) -> Callable[[], _Decompressor] | None:
    """The decompressor of the stream ``data`` starts with, if it starts with one."""
    return next((make for magic, make in _STREAMS if magic.match(data)), None)


def _is_tar(data: bytes) -> bool:
    """A tar by its magic, or (Seventh Edition's, which has none) by a first header whose
    checksum is its own: the sum of its bytes, the checksum field read as spaces."""
    at, magic = _TAR_MAGIC
    if data[at : at + len(magic)] == magic:
        return True
    header = data[:512]
    if len(header) < 512 or not header[0] or not _TAR_SUM.fullmatch(header[148:156]):
        return False
    summed = sum(header[:148]) + 8 * ord(" ") + sum(header[156:])
    return int(header[148:156].strip(b" \0"), 8) == summed


def unpacked(data: bytes, *, tar_files: bool = False) -> Unpacked:
    """The contents ``data`` holds compressed, at every level, and what stopped the rest;
    with ``tar_files``, each file its tars hold too."""
    found = Unpacked(left=MAX_UNPACKED, keep_tar_files=tar_files)
    _unpack(data, found, 1)
    return found


def _unpack(data: bytes, found: Unpacked, depth: int) -> None:
    kind = _kind(data)
    if kind is None:
        return
    if kind == "tar":  # not compressed: its members stand at its own level
        _members_of_tar(data, found, depth)
        return
    if kind == "ar":
        _members_of_ar(data, found, depth)
        return
    if kind == "unread":
        found.unsearched.add(UNSUPPORTED)
        return
    if depth > MAX_DEPTH:
        found.unsearched.add(TOO_DEEP)
        return
    if found.left <= 0:
        found.unsearched.add(TOO_LARGE)
        return
    contents = _members(data, found) if kind == "zip" else _streams(data, found)
    for content in contents:
        found.contents.append(content)
        _unpack(content, found, depth + 1)


def _members(data: bytes, found: Unpacked) -> list[bytes]:
    contents: list[bytes] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _UNREADABLE:
        found.unsearched.add(DAMAGED)
        return contents
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if found.left <= 0:
                found.unsearched.add(TOO_LARGE)
                break
            content = _member(archive, info, found)
            if content is not None:
                contents.append(content)
    return contents


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, found: Unpacked) -> bytes | None:
    """One member's bytes, up to the budget; None, and the reason, where it cannot be read."""
    if info.flag_bits & 0x1:
        found.unsearched.add(ENCRYPTED)
        return None
    try:
        with archive.open(info) as member:
            content = member.read(found.left)
            if len(content) == found.left and member.read(1):
                found.unsearched.add(TOO_LARGE)
    except NotImplementedError:
        found.unsearched.add(UNSUPPORTED)
        return None
    except (*_UNREADABLE, RuntimeError):
        found.unsearched.add(DAMAGED)
        return None
    found.left -= len(content)
    return content


def _streams(data: bytes, found: Unpacked) -> list[bytes]:
    """Each stream of a gzip, bzip2 or xz file, one after another (``cat a.gz b.gz`` is one
    gzip file to ``gunzip``); what follows the last is searched with the file's own bytes."""
    contents: list[bytes] = []
    rest = data
    while rest and found.left > 0:
        make = _stream(rest)
        if make is None:
            break
        decompressor = make()
        try:
            content = decompressor.decompress(rest, found.left)
        except _UNREADABLE:
            found.unsearched.add(DAMAGED)
            break
        limit, found.left = found.left, found.left - len(content)
        contents.append(content)
        if not decompressor.eof:
            found.unsearched.add(TOO_LARGE if len(content) >= limit else DAMAGED)
            break
        rest = decompressor.unused_data
    else:
        if _stream(rest) is not None:
            found.unsearched.add(TOO_LARGE)
    return contents


def _members_of_tar(data: bytes, found: Unpacked, depth: int) -> None:
    """Unpack what a tar's members hold compressed (a ``.jar`` in a ``.tar.gz``)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for info in archive:
                member = archive.extractfile(info) if info.isfile() else None
                if member is None:
                    continue
                head = member.read(512)
                whole = found.keep_tar_files or is_archive(head)
                content = head + member.read() if whole else head
                if found.keep_tar_files:
                    found.tar_files.append(content)
                if is_archive(head):
                    _unpack(content, found, depth)
    except (tarfile.TarError, *_UNREADABLE):
        found.unsearched.add(DAMAGED)


def _members_of_ar(data: bytes, found: Unpacked, depth: int) -> None:
    """Unpack what an ``ar`` archive's members hold compressed (a ``.deb``'s
    ``data.tar.xz``), each kept as a file with ``keep_tar_files``, as a tar's are. A BSD name
    (``#1/LENGTH``) stands in front of its member's bytes."""
    at = len(_AR)
    while at + _AR_HEADER <= len(data):
        header = data[at : at + _AR_HEADER]
        size = header[48:58].strip()
        if header[58:60] != b"`\n" or not size.isdigit():
            found.unsearched.add(DAMAGED)
            return
        start, end = at + _AR_HEADER, at + _AR_HEADER + int(size)
        name = header[:16].strip()
        if name.startswith(b"#1/") and name[3:].isdigit():
            start += int(name[3:])
        if end > len(data) or start > end:
            found.unsearched.add(DAMAGED)
            return
        content = data[start:end]
        if found.keep_tar_files:
            found.tar_files.append(content)
        if is_archive(content):
            _unpack(content, found, depth)
        at = end + (end & 1)  # members start at even offsets
