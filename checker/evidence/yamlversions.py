"""Many versions of one YAML file, each item of its long list parsed once across them.

Two hundred versions of a flag registry of five hundred flags differ in a few entries each,
yet libyaml tokenises every byte of every version: 1.2 million events for a registry's
history, most of a cold gate's time. A version is parsed here in pieces where its text shows
it can be: the lines of the list under a top-level key (``flags:``) are cut at each item
line, and an item whose exact text an earlier version had is not parsed again; only the new
items and the rest of the document (with the list's lines left blank) go to the YAML parser.

Cutting text is only safe where no YAML construct crosses a line: every line of the list
must be blank, a comment, or ``key: value`` (after ``- `` on an item's first line) with a
one-line value: a plain scalar of ordinary characters, or a quoted one closed on its line.
No flow collection, block scalar, anchor, alias, tag or continued plain scalar can then
start in one item and end in the next, and an item line at the list's column always begins
a new item; each piece is still parsed by the YAML parser itself, at its own line, as an
item of the same list. A version laid out otherwise, one mostly new, or one whose pieces do
not parse as exactly one item each, is parsed whole as before: the result is the same
document either way (``tests/evidence/test_yamlversions.py`` compares them on generated
and hostile layouts). The pieces only ever make parsing faster, never different.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath
from typing import Any

from checker.errors import InputError
from checker.evidence.files import decode, parse_yaml_text

_KEY = r"[A-Za-z_][A-Za-z0-9_-]*"
_TEXT = r"[^\x00-\x20\x7f-\x9f\u2028\u2029\ufeff\"'#:\[\]{}|>&*!%@`,?=~-]"
"""A plain scalar's first character: printable, no indicator, no line break of any kind."""
_MORE = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff#:\[\]{}]"
_VALUE = (
    rf"(?:{_TEXT}(?:{_MORE}*[^\x00-\x20\x7f-\x9f\u2028\u2029\ufeff#:\[\]{{}}])?"
    r"|'(?:[^'\x00-\x1f\x7f-\x9f\u2028\u2029]|'')*'"
    r'|"[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029]*")'
)
_PAIR = rf"{_KEY}:(?: +{_VALUE})?(?: +#[^\n]*)? *"
_QUIET = r" *(?:#[^\n]*)?"
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
_AFTER = re.compile(rf"\Z|{_KEY}:")


class VersionParser:
    """Parses versions of a YAML file whose top-level ``key`` holds a long list, sharing
    the items the versions have in common. The values it returns share those items: they
    are read, never changed."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._key_line = re.compile(rf"^{re.escape(key)}:{_QUIET}\n", re.MULTILINE)
        self.items: dict[int, dict[str, Any]] = {}
        """By the list's column, each item's text (after its ``- ``) and its value; only
        items whose every line the layout allows."""

    def parse(self, data: bytes, path: PurePath) -> Any:
        """The document in ``data``, as ``files.parse_yaml`` would give it."""
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
        laid out so that cutting it could be safe."""
        head = self._key_line.search(text)
        if head is None:
            return None
        start = head.end()
        first = _FIRST_ITEM.match(text, start)
        if first is None:
            return None
        after = _END.search(text, start - 1)
        end = len(text) if after is None else after.start() + 1
        if not _AFTER.match(text, end):
            return None
        column = len(first.group(1))
        lead, *items = f"\n{text[start:end]}".split(f"\n{' ' * column}- ")
        return _Layout(
            frame=text[:start] + "\n" * text.count("\n", start, end) + text[end:],
            column=column,
            line=text.count("\n", 0, start) + lead.count("\n") + 1,
            items=items,
        )

    def _assembled(self, layout: _Layout, path: PurePath) -> Any:
        """The document from its frame and its items, each new item parsed at its own line;
        None where the version is mostly new, or a piece is not what it must be (the caller
        then parses it whole)."""
        known = self.items.setdefault(layout.column, {})
        new = [item for item in layout.items if item not in known]
        if len(new) > WHOLE_AT * len(layout.items):
            return None
        check = _item_text(layout.column).fullmatch
        if not all(check(item) for item in new):
            return None
        document = parse_yaml_text(layout.frame, path)
        if not isinstance(document, dict) or document.get(self.key, False) is not None:
            return None
        line = layout.line
        indent = " " * layout.column
        for item in layout.items:
            if item not in known:
                prefix = "\n" * (line - 2)
                parsed = parse_yaml_text(f"{prefix}{self.key}:\n{indent}- {item}", path)
                if not isinstance(parsed, dict) or len(parsed.get(self.key) or ()) != 1:
                    return None
                known[item] = parsed[self.key][0]
            line += item.count("\n") + 1
        document[self.key] = [known[item] for item in layout.items]
        return document

    def _learn(self, document: Any, layout: _Layout) -> None:
        """Keep the items of a version parsed whole that the layout allows."""
        values = document.get(self.key) if isinstance(document, dict) else None
        if not isinstance(values, list) or len(values) != len(layout.items):
            return
        check = _item_text(layout.column).fullmatch
        known = self.items.setdefault(layout.column, {})
        for item, value in zip(layout.items, values, strict=True):
            if check(item):
                known[item] = value


@dataclass(frozen=True)
class _Layout:
    frame: str
    """The document with the list's lines blank."""
    column: int
    line: int
    """The line of the list's first item."""
    items: list[str]
    """Each item's text after its ``- ``."""
