"""What a compressed file holds, searched for flag names as its own bytes are.

A compiled program names a flag in its bytes, and is searched as it is; but a Java program
ships as a ``.jar``, a zip archive whose classes are compressed, and a vendored ``.jar``,
``.whl`` or ``.tar.gz`` holding a retired flag's name hid that reference (DEAD-001 passed).
The members of a zip archive and the stream of a gzip, bzip2 or xz file are unpacked and
searched too, and what they hold in turn (a ``.jar`` inside a ``.war``), a few levels deep
and up to a budget of bytes per file, so that a small file unpacking to gigabytes costs a
bounded time. What cannot be unpacked (a damaged or encrypted archive, a method Python does
not read) is searched as its bytes alone, as before.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zipfile
import zlib
from dataclasses import dataclass

MAX_UNPACKED = 64 * 1024 * 1024
"""Bytes unpacked out of one file, all its members and levels together."""
MAX_DEPTH = 3
"""Archives inside archives unpacked, counting the file itself."""

_ZIP = b"PK\x03\x04"
_STREAMS = (
    (b"\x1f\x8b", lambda: zlib.decompressobj(wbits=31)),  # gzip
    (b"BZh", bz2.BZ2Decompressor),
    (b"\xfd7zXZ\x00", lzma.LZMADecompressor),
)
_UNREADABLE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)
"""What a damaged archive raises; an encrypted member or an unknown method raises
RuntimeError or NotImplementedError, caught with them."""


@dataclass
class _Budget:
    left: int
    """Bytes that may still be unpacked."""


def unpacked(data: bytes) -> list[bytes]:
    """The contents ``data`` holds compressed, at every level (empty where it holds none)."""
    found: list[bytes] = []
    _unpack(data, _Budget(MAX_UNPACKED), 1, found)
    return found


def _unpack(data: bytes, budget: _Budget, depth: int, found: list[bytes]) -> None:
    if depth > MAX_DEPTH or budget.left <= 0:
        return
    try:
        contents = _members(data, budget) if data.startswith(_ZIP) else _stream(data, budget)
    except (*_UNREADABLE, RuntimeError, NotImplementedError):
        return
    for content in contents:
        found.append(content)
        _unpack(content, budget, depth + 1, found)


def _members(data: bytes, budget: _Budget) -> list[bytes]:
    contents: list[bytes] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if budget.left <= 0:
                break
            if info.is_dir():
                continue
            with archive.open(info) as member:
                content = member.read(budget.left)
            budget.left -= len(content)
            contents.append(content)
    return contents


def _stream(data: bytes, budget: _Budget) -> list[bytes]:
    for magic, decompressor in _STREAMS:
        if data.startswith(magic):
            content: bytes = decompressor().decompress(data, budget.left)
            budget.left -= len(content)
            return [content]
    return []
