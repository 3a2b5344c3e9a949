"""What editors, file managers and file systems leave in a directory beside its files, and
whether what a file holds reads as records.

An evidence directory on a real machine holds more than its evidence: the lock an office
editor keeps on a file it has open (``~$deploys.yaml``, ``.~lock.deploys.yaml#``), vim's swap
file (``.deploys.yaml.swp``), Emacs's autosave (``#deploys.yaml#``) and backup
(``deploys.yaml~``), Windows Explorer's ``Thumbs.db`` and ``desktop.ini``, the AppleDouble
file a Mac writes beside each file it copies to a share (``._deploys.yaml``), the
``lost+found`` of an ext4 file system's root and a NetApp filer's ``.snapshot``. Each was
refused until it was named in ``evidence_ignore``, a setting that then passed over anything
else of its name.
Each is decided on here by what it can hold (``checker.evidence.bundle``): never passed over
where it may hold records the check would otherwise read.
"""

from __future__ import annotations

import codecs
import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Rule = Literal["lock", "swap", "autosave", "backup", "explorer", "appledouble", "lost", "snapshot"]


@dataclass(frozen=True)
class Leftover:
    """One entry a program left: what it is, the file it is of (``""`` if none), and the rule
    it is decided by."""

    what: str
    of: str
    rule: Rule


_NAMED: tuple[tuple[re.Pattern[str], Rule, str], ...] = (
    (re.compile(r"~\$(.+)"), "lock", "the lock file an office editor keeps on {of} while open"),
    (re.compile(r"\.~lock\.(.+)#"), "lock", "the lock file LibreOffice keeps on {of} while open"),
    (re.compile(r"\.(.+)\.sw[a-p]"), "swap", "the swap file vim keeps while {of} is open"),
    (re.compile(r"#(.+)#"), "autosave", "the file Emacs saves unsaved edits of {of} to"),
    (re.compile(r"(.+?)(?:\.~\d+)?~"), "backup", "an editor's copy of {of} as it was before"),
    (re.compile(r"(.+)___jb_old___"), "backup", "an editor's copy of {of} as it was before"),
)
"""Editors' files, by name: each of the file named in its first group."""

_EXPLORER = ("thumbs.db", "ehthumbs.db", "desktop.ini")


def leftover(name: str, is_file: bool, is_dir: bool) -> Leftover | None:
    """What left the entry ``name``, if a program known to leave one of that name did."""
    if is_dir and name == "lost+found":
        return Leftover("the directory fsck puts what it recovers in", "", "lost")
    if is_dir and name == ".snapshot":
        return Leftover("a filer's snapshots of this directory", "", "snapshot")
    if not is_file:
        return None
    if name.casefold() in _EXPLORER:
        return Leftover("a file Windows Explorer keeps in a directory it shows", "", "explorer")
    if name.startswith("._") and len(name) > 2:
        what = "the file a Mac keeps {of}'s Finder data and extended attributes in"
        return Leftover(f"{what.format(of=name[2:])} (AppleDouble)", name[2:], "appledouble")
    for pattern, rule, what in _NAMED:
        found = pattern.fullmatch(name)
        if found:
            return Leftover(what.format(of=found[1]), found[1], rule)
    return None


VIM_MAGIC = b"b0VIM "
_VIM_DIRTY_AT = 1007
"""Where vim's swap file says whether the buffer holds edits not yet written to the file: the
last byte of block 0's file name (``b0_dirty``, 0x55 when it does)."""


def vim_unsaved(data: bytes) -> bool:
    """Whether a swap file holds edits vim has not written to the file, or cannot be read as
    vim's at all (then what it holds is not known either)."""
    if not data.startswith(VIM_MAGIC) or len(data) <= _VIM_DIRTY_AT:
        return True
    return data[_VIM_DIRTY_AT] == 0x55


_ORDERS = {b"ad": "<", b"da": ">", b"tp": "<", b"pt": ">"}
"""vim's data and pointer blocks, by the id each begins with (a short, written in the byte
order of the machine that wrote it), and that order."""


def vim_text(data: bytes) -> tuple[list[list[bytes]], bytes] | None:
    """The lines of text each of a swap file's data blocks holds, in order (vim writes a
    block's last line first), and every other byte of it (block 0, the pointer blocks, what
    lies between a data block's index and its text); None where
    it is not laid out as vim lays out a swap file: pages of the size block 0 gives, each a
    pointer block or a data block. A clean block 0 followed by other bytes was passed over,
    whatever those bytes held."""
    size = int.from_bytes(data[12:16], "little") if len(data) >= 16 else 0
    if size < 1024 or size & (size - 1) or len(data) % size:
        return None
    lines: list[list[bytes]] = []
    rest = [data[:size]]
    at = size
    while at < len(data):
        order = _ORDERS.get(data[at : at + 2])
        if order is None:
            return None
        if data[at : at + 2] in (b"tp", b"pt"):
            rest.append(data[at : at + size])
            at += size
            continue
        start, end = struct.unpack(f"{order}II", data[at + 8 : at + 16])
        if not 16 <= start <= end <= len(data) - at or end % size:
            return None
        lines.append(data[at + start : at + end].split(b"\0")[-2::-1])
        rest.append(data[at : at + start])
        at += end
    return lines, b"".join(rest)


class _Plain(yaml.SafeLoader):
    """YAML as the evidence is read: a time is a string, as it is in JSON Lines."""


_Plain.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _documents(text: str) -> Iterator[Any]:
    """Each YAML document of ``text``, up to one that does not parse."""
    try:
        yield from yaml.load_all(text, Loader=_Plain)
    except (yaml.YAMLError, ValueError, RecursionError):
        return


def nested(data: bytes) -> Iterator[dict[str, Any]]:
    """Every mapping ``data`` holds at any depth, as YAML or as JSON Lines, however little of
    it parses: what a lock file or an ignored file holds is looked at in any form records
    may take (under a key, several documents, after bytes that are not text), not only in
    the form an evidence file holds them."""
    return _walk(roots(data))


def roots(data: bytes) -> list[Any]:
    """What ``data`` reads as, as ``nested`` reads it, before looking inside: each YAML
    document up to one that does not parse, and each line's JSON value from its first
    brace."""
    text = _text(data)
    stack: list[Any] = [*_documents(text)]
    stack += [_json(line[line.find("{") :]) for line in text.splitlines() if "{" in line]
    return stack


def _walk(stack: list[Any]) -> Iterator[dict[str, Any]]:
    """Every mapping among ``stack``'s values, at any depth."""
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


_QUOTES = "\"'"


def _written(text: str, name: str) -> Iterator[int]:
    """Where ``text`` writes ``name`` as a key (``id:``, ``"id":``), at the start or after
    white space, ``{`` or ``,``. Found from the name on, not tried at every character: a
    36 MB library in a hidden directory took 26 s to look at, and a virtualenv 5 minutes."""
    for found in re.finditer(re.escape(name) + r"[\"']?[ \t]*:", text):
        at = found.start()
        quoted = at > 0 and text[at - 1] in _QUOTES
        if at == 0 or _opens(text[at - 1]) or (quoted and (at == 1 or _opens(text[at - 2]))):
            yield at


def _opens(char: str) -> bool:
    """Whether a key may follow ``char``."""
    return char.isspace() or char in "{,"


def keys_named(data: bytes, names: set[str]) -> set[str]:
    """Which of ``names`` ``data`` holds as a key (``id:``, ``"id":``), read as text whatever
    else it holds: bytes that are not UTF-8, UTF-16 without its byte-order mark."""
    text = data.replace(b"\0", b"").decode("latin-1")
    return {name for name in names if next(_written(text, name), None) is not None}


def keys_unparsed(data: bytes, documents: list[Any], names: list[str]) -> str | None:
    """The first of ``names`` that ``data``, which reads whole as ``documents``, writes as a key
    more often than its mappings at any depth hold it: a key written in a string, a block
    scalar or a comment, whose record no mapping reads as; None where there is none."""
    text = data.decode("utf-8")
    mappings = list(_walk(list(documents)))
    for name in names:
        written = sum(1 for _ in _written(text, name))
        if written > sum(any(str(key) == name for key in m) for m in mappings):
            return name
    return None


def whole(data: bytes) -> list[dict[str, Any]] | None:
    """Every mapping ``data`` holds at any depth (``nested``), where the whole of it reads as
    UTF-8 YAML or JSON Lines; None where some of it does not, and what it holds cannot all be
    told."""
    documents = whole_documents(data)
    return None if documents is None else list(_walk(documents))


def whole_documents(data: bytes) -> list[Any] | None:
    """``data``'s YAML documents, or its JSON Lines' values, where the whole of it reads as
    one or the other; else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        return list(yaml.load_all(text, Loader=_Plain))
    except (yaml.YAMLError, ValueError, RecursionError):
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except (ValueError, RecursionError):
            return None


def _text(data: bytes) -> str:
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _json(line: str) -> Any:
    try:
        return json.JSONDecoder().raw_decode(line)[0]
    except (ValueError, RecursionError):
        return None
