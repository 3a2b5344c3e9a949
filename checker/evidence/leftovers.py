"""What editors, file managers and file systems leave in a directory beside its files, and
whether what a file holds reads as records.

An evidence directory on a real machine holds more than its evidence: the lock an office
editor keeps on a file it has open (``~$deploys.yaml``, ``.~lock.deploys.yaml#``), vim's swap
file (``.deploys.yaml.swp``), Emacs's autosave (``#deploys.yaml#``) and backup
(``deploys.yaml~``), Windows Explorer's ``Thumbs.db`` and ``desktop.ini``, the ``lost+found``
of an ext4 file system's root and a NetApp filer's ``.snapshot``. Each was refused until it
was named in ``evidence_ignore``, a setting that then passed over anything else of its name.
Each is decided on here by what it can hold (``checker.evidence.bundle``): never passed over
where it may hold records the check would otherwise read.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Rule = Literal["lock", "swap", "autosave", "backup", "explorer", "lost", "snapshot"]


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


class _Plain(yaml.SafeLoader):
    """YAML as the evidence is read: a time is a string, as it is in JSON Lines."""


_Plain.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def mappings(data: bytes) -> list[dict[str, Any]]:
    """The mappings ``data`` holds as YAML (a mapping, or a list's mappings) or as JSON Lines
    (a line's object); none where it is neither, or holds none."""
    text = _text(data)
    if text is None:
        return []
    try:
        document = yaml.load(text, Loader=_Plain)  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, ValueError, RecursionError):
        document = None
    found = list(_of(document))
    return found or [m for line in text.splitlines() for m in _of(_json(line))]


def _text(data: bytes) -> str | None:
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _json(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _of(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        yield document
    elif isinstance(document, list):
        yield from (item for item in document if isinstance(item, dict))
