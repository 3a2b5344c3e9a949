"""Many versions of one YAML file, each item of its long list parsed once across them.

Two hundred versions of a flag registry of five hundred flags differ in a few entries each,
yet libyaml tokenises every byte of every version: 1.2 million events for a registry's
history, most of a cold gate's time. A version is parsed here in pieces where its text shows
it can be: the lines of the list under a top-level key (``flags:``) are cut at each item
line, and an item whose exact text an earlier version had is not parsed again; only the new
items and the rest of the document (with the list's lines left blank) go to the YAML parser.

Cutting text is only safe where no YAML construct crosses a line, so a version is cut only
when its whole text shows none can:

- it holds no character but the line feed that YAML could read as a line break (carriage
  return, NEL, U+2028, U+2029), no tab, and none YAML refuses (control characters, U+FFFE):
  a comment then ends where the line does;
- every line, in the list and around it, is blank, a comment, or ``key: value`` (after
  ``- `` on an item's first line) with a one-line value: a plain scalar of ordinary
  characters, or a quoted one closed on its line. No flow collection, block scalar, anchor,
  alias, tag, directive, document marker or continued plain scalar can then start in one
  piece and end in another, and an item line at the list's column always begins an item;
- the rest of the document, parsed, has the key on the very line the list was found under.

New items are parsed by the YAML parser itself, together, as items of a list at the same
column. A version laid out otherwise, one mostly new, or one whose pieces do not parse as
exactly those items, is parsed whole; the items of a version parsed whole are kept only
when its every line passes the same test. The values are the same as the whole version's
(``tests/evidence/test_yamlversions.py`` compares them on generated histories and on
layouts written to make a cut unsafe); only the line numbers a shared item carries are
those of where it was first parsed, so a caller that reports an error in a version parses
that version whole (``facts/deadcode.py`` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath
from typing import Any

from checker.errors import InputError
from checker.evidence.files import LineDict, decode, parse_yaml_text

# The grammar below is only ever applied to text ``_UNSAFE`` found clean: no line break but
# the line feed, no tab, no control character can be in it, so its classes leave them out.
_KEY = r"[A-Za-z_][A-Za-z0-9_-]*"
_TEXT = r"[^ \n\"'#:\[\]{}|>&*!%@`,?=~-]"
"""A plain scalar's first character: no indicator."""
_MORE = r"[^\n#:\[\]{}]"
_VALUE = rf"""(?:{_TEXT}(?:{_MORE}*[^ \n#:\[\]{{}}])?|'(?:[^'\n]|'')*'|"[^"\\\n]*")"""
_PAIR = rf"{_KEY}:(?: +{_VALUE})?(?: +#[^\n]*)? *"
_QUIET = r" *(?:#[^\n]*)?"
_LINE = rf"(?: *(?:- )?{_PAIR}|{_QUIET})"
_DOCUMENT = re.compile(rf"(?:{_LINE}\n)*")
"""Lines around the list: blank, comments, and one-line ``key: value`` at any indentation,
after ``- `` or not."""
_UNSAFE = re.compile(
    r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
"""A character other than the line feed that YAML reads as a line break (CR, NEL, U+2028,
U+2029), a tab, a byte-order mark, or one YAML refuses (C0 and C1 controls, surrogates,
U+FFFE, U+FFFF)."""
_SAFE_ASCII = b"\n" + bytes(range(0x20, 0x7F))
"""The ASCII characters ``_UNSAFE`` leaves: the line feed and the printable ones."""


def _unsafe(text: str) -> bool:
    """Whether ``_UNSAFE`` finds a character in ``text``; for ASCII text (a registry, nearly
    always) by deleting the characters it leaves, several times faster than the search."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _SAFE_ASCII))
    return _UNSAFE.search(text) is not None


WHOLE_AT = 0.25
"""A version with more than this share of new items is parsed whole."""


@cache
def _item_text(column: int) -> re.Pattern[str]:
    """An item of a list at ``column`` after its ``- ``, to its last line (whose line feed
    only the list's last item keeps): its first ``key: value``, then blank lines, comments
    and further ``key: value`` lines of its mapping."""
    indent = " " * column
    return re.compile(rf"{_PAIR}(?:\n(?:{indent}  {_PAIR}|{_QUIET}))*\n?")


_FIRST_ITEM = re.compile(rf"(?:{_QUIET}\n)*( *)- ")
_END = re.compile(r"\n(?=[^ \n#-]|-(?! ))")
"""The line feed before the first line after the list: at column 0, neither a comment nor
an item."""


class VersionParser:
    """Parses versions of a YAML file whose top-level ``key`` holds a long list, sharing
    the items the versions have in common. The values it returns share those items: they
    are read, never changed."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._key_line = re.compile(rf"^{re.escape(key)}:{_QUIET}\n", re.MULTILINE)
        self.items: dict[int, dict[str, Any]] = {}
        """By the list's column, each item's text (after its ``- ``) and its value; only
        items of versions whose every line the layout allows."""

    def parse(self, data: bytes, path: PurePath) -> Any:
        """The document in ``data``: the value ``files.parse_yaml`` gives, or its error."""
        text = decode(data, path)
        layout = self._layout(text if text.endswith("\n") else f"{text}\n")
        if layout is None:
            return parse_yaml_text(text, path)
        try:
            document = self._assembled(layout, path)
        except InputError:
            document = None  # the whole text's own error, at the place the parser meets it
        if document is None:
            document = parse_yaml_text(text, path)
            self._learn(document, layout)
        return document

    def _layout(self, text: str) -> _Layout | None:
        """The document cut into its frame and its list's items; None where the text is not
        laid out so that cutting it is safe."""
        if _unsafe(text):
            return None
        head = self._key_line.search(text)
        if head is None:
            return None
        start = head.end()
        first = _FIRST_ITEM.match(text, start)
        if first is None:
            return None
        after = _END.search(text, start - 1)
        end = len(text) if after is None else after.start() + 1
        if not (_DOCUMENT.fullmatch(text, 0, start) and _DOCUMENT.fullmatch(text, end)):
            return None
        column = len(first.group(1))
        _, *items = f"\n{text[start:end]}".split(f"\n{' ' * column}- ")
        return _Layout(
            frame=text[:start] + "\n" * text.count("\n", start, end) + text[end:],
            key_line=text.count("\n", 0, start),
            column=column,
            items=items,
        )

    def _assembled(self, layout: _Layout, path: PurePath) -> Any:
        """The document from its frame and its items, the new items parsed together; None
        where the version is mostly new, or a piece is not what it must be (the caller then
        parses it whole)."""
        known = self.items.setdefault(layout.column, {})
        fresh = list(dict.fromkeys(item for item in layout.items if item not in known))
        if len(fresh) > WHOLE_AT * len(layout.items):
            return None
        check = _item_text(layout.column).fullmatch
        if not all(check(item) for item in fresh):
            return None
        document = parse_yaml_text(layout.frame, path)
        if not self._framed(document, layout.key_line):
            return None
        if fresh and not self._parsed(fresh, layout.column, path, known):
            return None
        document[self.key] = [known[item] for item in layout.items]
        return document

    def _framed(self, document: Any, key_line: int) -> bool:
        """Whether the rest of the document holds the list's key, empty, on its own line."""
        return (
            isinstance(document, LineDict)
            and self.key in document
            and document[self.key] is None
            and document.key_line(self.key) == key_line
        )

    def _parsed(self, fresh: list[str], column: int, path: PurePath, known: dict[str, Any]) -> bool:
        """Parse the new items together, as a list at their column; False unless that list
        is exactly those items."""
        indent = " " * column
        listed = "".join(f"{indent}- {item.rstrip(chr(10))}\n" for item in fresh)
        parsed = parse_yaml_text(f"{self.key}:\n{listed}", path)
        values = parsed.get(self.key) if isinstance(parsed, dict) and len(parsed) == 1 else None
        if not isinstance(values, list) or len(values) != len(fresh):
            return False
        known.update(zip(fresh, values, strict=True))
        return True

    def _learn(self, document: Any, layout: _Layout) -> None:
        """Keep the items of a version parsed whole, when its every item is laid out as an
        item must be (the layout checked the lines around them): only then is each piece of
        text the item at its place in the parsed list."""
        values = document.get(self.key) if isinstance(document, dict) else None
        if not isinstance(values, list) or len(values) != len(layout.items):
            return
        check = _item_text(layout.column).fullmatch
        if all(check(item) for item in layout.items):
            known = self.items.setdefault(layout.column, {})
            known.update(zip(layout.items, values, strict=True))


@dataclass(frozen=True)
class _Layout:
    frame: str
    """The document with the list's lines blank."""
    key_line: int
    """The line of the list's key."""
    column: int
    items: list[str]
    """Each item's text after its ``- ``."""
