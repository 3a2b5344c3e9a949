"""Plain YAML built straight from libyaml's event stream: values and the lines they start on,
in time and memory linear in the file, with no node tree in between.

PyYAML's usual path composes the whole document into nodes (each scalar a node with two
marks) before building a single value: a 100 MB inventory became tens of gigabytes of nodes,
and the garbage collector traversed them again and again as they accumulated. Evidence,
inventories and registries are plain YAML, so they are built here from the events, one at a
time, with an explicit stack (no recursion, so no depth can overflow Python's). A document
with anchors, aliases, explicit tags, merge keys or keys that are not scalars raises
``NotPlain``, and the caller builds it the general way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from checker.errors import InputError
from checker.memory import paused_collection

MAX_DEPTH = 100
"""Deeper than any evidence nests (about six levels); a deeper document is refused."""

_TAG = "tag:yaml.org,2002:"
_STR, _INT = f"{_TAG}str", f"{_TAG}int"
_SCALARS = frozenset(f"{_TAG}{t}" for t in ("null", "bool", "int", "float", "str"))


_MISREAD = re.compile(r"[-+]?(?:0[0-7_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)")
"""The forms in which YAML 1.1 reads an integer other than its digits show: a leading zero
(octal: ``0042`` is 34) and colons (base 60: ``1:30`` is 90)."""


class WrittenInt(int):
    """An integer YAML 1.1 read from a form that shows another number (``_MISREAD``);
    ``written`` keeps the text as written, for a field that takes a name (a review's
    ``change``) to refuse it rather than take the number's digits for the name."""

    written: str


def written_int(value: int, text: str) -> int:
    """``value``, read from the plain scalar ``text``: a ``WrittenInt`` where the number is
    not what its digits show."""
    if not _MISREAD.fullmatch(text):
        return value
    result = WrittenInt(value)
    result.written = text
    return result


class NotPlain(Exception):
    """The document uses anchors, aliases, tags, merge keys or complex keys."""


class LineDict(dict[str, Any]):
    """A mapping that knows its line and the line of each of its keys (1-based)."""

    # An inventory holds hundreds of thousands of these: no instance dictionary, and key
    # lines kept only where they differ from the mapping's own (never, in a flow mapping).
    __slots__ = ("_key_lines", "line")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self._key_lines: dict[str, int] | None = None

    def set_key_line(self, key: str, line: int) -> None:
        """Record the line ``key`` is on."""
        if line != self.line:
            if self._key_lines is None:
                self._key_lines = {}
            self._key_lines[key] = line

    def key_line(self, key: str) -> int:
        """The line ``key`` is on."""
        return self._key_lines.get(key, self.line) if self._key_lines else self.line


def build_plain(loader: Any, path: str, *, item_lines: list[int] | None = None) -> Any:
    """The single document in ``loader``'s stream (None when empty). ``item_lines`` receives
    the line of each item of a top-level sequence."""
    builder = _Builder(loader, path)
    get = loader.get_event
    get()  # stream start
    event = get()
    if isinstance(event, yaml.StreamEndEvent):
        return None
    document_mark = event.start_mark
    with paused_collection():
        event = get()
        if item_lines is not None and type(event) is yaml.SequenceStartEvent:
            root = builder.sequence(event, 1, item_lines)
        else:
            root = builder.value(event, 0)
    get()  # document end
    event = get()
    if not isinstance(event, yaml.StreamEndEvent):
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            document_mark,
            "but found another document",
            event.start_mark,
        )
    return root


class _Builder:
    """Recursive descent over the events, at most ``MAX_DEPTH`` levels deep."""

    def __init__(self, loader: Any, path: str) -> None:
        self.loader = loader
        self.get = loader.get_event
        self.path = path
        self.resolvers = loader.yaml_implicit_resolvers
        self.constructors = loader.yaml_constructors
        self.tags: dict[str, str] = {}
        """Plain scalars already resolved: mapping keys repeat in every record."""

    def value(self, event: Any, depth: int) -> Any:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalar(event)
        if event.anchor is not None or event.tag not in (None, "!"):
            raise NotPlain
        if kind is yaml.MappingStartEvent:
            return self.mapping(event, depth + 1)
        if kind is yaml.SequenceStartEvent:
            return self.sequence(event, depth + 1, None)
        raise NotPlain  # an alias

    def scalar(self, event: Any) -> Any:
        if event.anchor is not None or event.tag not in (None, "!"):
            raise NotPlain
        text = event.value
        if not event.implicit[0] or (text and text[0] not in self.resolvers):
            return text
        tag = self.tags.get(text)
        if tag is None:
            tag = self.tags[text] = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
        if tag == _STR:
            return text
        if tag in _SCALARS:
            return _scalar(self.loader, self.constructors[tag], tag, event, self.path)
        raise NotPlain  # a merge key, or the '=' value key

    def _deep(self, event: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InputError(
                f"invalid YAML: nested more than {MAX_DEPTH} levels deep",
                path=self.path,
                line=event.start_mark.line + 1,
            )

    def mapping(self, start: Any, depth: int) -> Any:
        self._deep(start, depth)
        get = self.get
        result = LineDict()
        result.line = start.start_mark.line + 1
        while True:
            event: Any = get()
            if type(event) is not yaml.ScalarEvent:
                if type(event) is yaml.MappingEndEvent:
                    return result
                raise NotPlain  # a key that is a mapping, a sequence or an alias
            key = self.scalar(event)
            if not isinstance(key, str):
                key = str(key)
            mark: Any = event.start_mark
            if key in result:
                raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=mark)
            line = mark.line + 1
            following = get()
            if type(following) is yaml.ScalarEvent:
                result[key] = self.scalar(following)
            else:
                result[key] = self.value(following, depth)
            result.set_key_line(key, line)

    def sequence(self, start: Any, depth: int, item_lines: list[int] | None) -> list[Any]:
        self._deep(start, depth)
        get = self.get
        items: list[Any] = []
        while True:
            event = get()
            kind = type(event)
            if kind is yaml.SequenceEndEvent:
                return items
            if item_lines is not None:
                item_lines.append(event.start_mark.line + 1)
            if kind is yaml.ScalarEvent:
                items.append(self.scalar(event))
            else:
                items.append(self.value(event, depth))


def _scalar(loader: Any, construct: Any, tag: str, event: Any, path: str) -> Any:
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return construct(loader, node)
    except ValueError:
        if tag != _INT:
            raise
        digits = sum(c.isdigit() for c in event.value)
        raise InputError(
            f"invalid YAML: a number of {digits} digits is longer than any field takes",
            path=path,
            line=event.start_mark.line + 1,
        ) from None
