"""A git directory's object store, told by what its files hold, not by their names alone: a
file named as git names its objects, packs and tables is passed over only where it is laid
out as git writes it (compressed objects, a table ending in the checksum of its bytes)."""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_NAMED = r"objects/pack/pack-(?:[0-9a-f]{40}|[0-9a-f]{64})"
_LOOSE = re.compile(r"objects/[0-9a-f]{2}/(?:[0-9a-f]{38}|[0-9a-f]{62})")
_PACK = re.compile(rf"{_NAMED}\.pack")
_GRAPH = r"objects/info/commit-graph|objects/info/commit-graphs/graph-[0-9a-f]+\.graph"
_TABLES = (
    (re.compile(rf"{_NAMED}\.idx"), (b"\xfftOc", b"")),
    (re.compile(rf"{_NAMED}\.rev"), (b"RIDX",)),
    (re.compile(rf"{_NAMED}\.bitmap"), (b"BITM",)),
    (re.compile(rf"{_NAMED}\.mtimes"), (b"MTME",)),
    (re.compile(_GRAPH), (b"CGPH",)),
    (re.compile(r"index"), (b"DIRC",)),
)
"""Git's tables, by path inside a git directory, and the bytes each begins with (an index of
a pack written before 2006 begins with its fan-out table): each ends in the checksum of the
bytes before it. A pack's ``.keep`` and ``.promisor`` and ``objects/info/packs`` are text a
person or a command writes, and are read as any other file."""

_CHUNK = 1 << 20
_RUN = re.compile(rb"[\t\n\r\x20-\x7e]{8,}")
"""A run of text in a table: its object names and sums are bytes of any value, so a run of 8
printable ones is rare there, and a record written into one is text."""
_PRINTABLE = bytes([9, 10, 13, *range(0x20, 0x7F)])
TEXT_AT_MOST = 1 << 20
"""The text a table may hold and still be looked at for records, run by run: more is not a
table git wrote, and the file is read as any other is."""
_KINDS = (b"blob", b"tree", b"commit", b"tag")


def git_own(path: Path, inside: str, holds: Callable[[bytes], bool]) -> bool:
    """Whether ``path``, at ``inside`` in a git directory, is a file of its object store or its
    index as git writes it, holding no text a person wrote there (``holds``: whether text
    holds records, asked of a table's runs of text). Named so, a file holding a deployment as
    plain YAML (``objects/ab/<38 hex>``, ``pack-<40 hex>.keep``, an index beginning ``DIRC``)
    was passed over, and the check passed."""
    try:
        with path.open("rb") as data:
            if _LOOSE.fullmatch(inside):
                return _loose(data)
            if _PACK.fullmatch(inside):
                return _pack(data, path.stat().st_size)
            heads = next((h for r, h in _TABLES if r.fullmatch(inside)), None)
            if heads is None or not any(data.read(4).startswith(h) for h in heads):
                return False
            if not _sealed(data, path.stat().st_size):
                return False
            runs = _text(data)
            return runs is not None and not holds(runs)
    except OSError:
        return False


def _text(data: BinaryIO) -> bytes | None:
    """The runs of text in a table, a line each; None where they are more than
    ``TEXT_AT_MOST`` (read in chunks, a run across two of them read whole)."""
    data.seek(0)
    runs: list[bytes] = []
    carry = b""
    total = 0
    while chunk := data.read(_CHUNK):
        chunk = carry + chunk
        end = len(chunk.rstrip(_PRINTABLE))
        found = _RUN.findall(chunk, 0, end)
        runs.extend(found)
        carry = chunk[end:]
        total += sum(map(len, found))
        if total + len(carry) > TEXT_AT_MOST:
            return None
    runs.extend(_RUN.findall(carry))
    return b"\n".join(runs)


def _loose(data: BinaryIO) -> bool:
    """A loose object: one zlib stream, nothing after it, that inflates to an object's header
    (``blob 12\\0``) and as many bytes as it says."""
    inflate = zlib.decompressobj()
    head = b""
    size = 0
    try:
        while not inflate.eof and (chunk := inflate.unconsumed_tail or data.read(_CHUNK)):
            out = inflate.decompress(chunk, _CHUNK)
            head += out[: max(0, 64 - len(head))]
            size += len(out)
    except zlib.error:
        return False
    kind, _, rest = head.partition(b" ")
    length, nul, _ = rest.partition(b"\0")
    return (
        inflate.eof
        and not inflate.unused_data
        and not data.read(1)
        and kind in _KINDS
        and nul == b"\0"
        and length.isdigit()
        and size == len(kind) + 1 + len(length) + 1 + int(length)
    )


def _sealed(data: BinaryIO, size: int) -> bool:
    """Whether the file ends in the SHA-1 (or SHA-256) of every byte before it, as git's
    tables and packs do."""
    return _width(data, size) != 0


def _width(data: BinaryIO, size: int) -> int:
    """The width of the checksum the file ends in (SHA-1's, or SHA-256's), 0 where it ends in
    none (read in chunks: a pack may be gigabytes)."""
    for name in ("sha1", "sha256"):
        digest = hashlib.new(name)
        width = digest.digest_size
        data.seek(0)
        left = size - width
        while left > 0 and (chunk := data.read(min(_CHUNK, left))):
            digest.update(chunk)
            left -= len(chunk)
        if size > width and left == 0 and data.read(width) == digest.digest():
            return width
    return 0


def _pack(data: BinaryIO, size: int) -> bool:
    """A pack: its header, then each object's header and zlib stream (a delta's base before
    it), with no byte between them, then the checksum of all of it."""
    head = data.read(12)
    if head[:4] != b"PACK" or int.from_bytes(head[4:8], "big") not in (2, 3):
        return False
    width = _width(data, size)
    if not width:
        return False
    data.seek(12)
    reader = _Reader(data, size - width)
    for _ in range(int.from_bytes(head[8:12], "big")):
        if not _object(reader, width):
            return False
    return reader.at == size - width


class _Reader:
    """A pack's bytes up to its checksum, read forward in chunks."""

    def __init__(self, data: BinaryIO, end: int) -> None:
        self.data = data
        self.end = end
        self.at = data.tell()
        self.buffer = b""
        self.offset = 0

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes (fewer at the end)."""
        if self.offset + count > len(self.buffer):
            rest = self.buffer[self.offset :]
            want = max(count - len(rest), _CHUNK)
            self.buffer = rest + self.data.read(min(want, self.end - self.at - len(rest)))
            self.offset = 0
        out = self.buffer[self.offset : self.offset + count]
        self.offset += len(out)
        self.at += len(out)
        return out

    def give_back(self, count: int) -> None:
        """Step back over the last ``count`` bytes taken."""
        self.offset -= count
        self.at -= count


def _object(reader: _Reader, width: int) -> bool:
    """One object of a pack: its type and size, a delta's base, and its zlib stream, which
    inflates to as many bytes as the header says."""
    byte = reader.take(1)
    if not byte or (kind := (byte[0] >> 4) & 7) in (0, 5):
        return False
    size, shift = byte[0] & 15, 4
    while byte[0] & 0x80:
        byte = reader.take(1)
        if not byte:
            return False
        size, shift = size | (byte[0] & 0x7F) << shift, shift + 7
    if kind == 6:
        while (byte := reader.take(1)) and byte[0] & 0x80:
            pass
        if not byte:
            return False
    elif kind == 7 and len(reader.take(width)) != width:
        return False
    return _stream(reader, size)


def _stream(reader: _Reader, size: int) -> bool:
    """A zlib stream at the reader, inflating to ``size`` bytes; the reader left after it.
    Inflated a chunk at a time: a few bytes may inflate to gigabytes."""
    inflate = zlib.decompressobj()
    out = 0
    try:
        while not inflate.eof:
            chunk = inflate.unconsumed_tail or reader.take(min(size + 64, _CHUNK))
            if not chunk:
                return False
            out += len(inflate.decompress(chunk, _CHUNK))
    except zlib.error:
        return False
    reader.give_back(len(inflate.unused_data))
    return out == size
