"""YAML and JSON Lines loading that remembers where every record and field came from.

Timestamps stay strings here (YAML's own timestamp typing is switched off) so that YAML
and JSONL records go through one RFC 3339 parser in the models. Duplicate keys are input
errors: a second ``approvals:`` silently replacing the first would weaken an audit.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from checker.errors import InputError
from checker.evidence import jsonread
from checker.evidence.messages import describe_validation_error
from checker.evidence.yamlread import LineDict as LineDict
from checker.evidence.yamlread import NotPlain, build_plain, written_int
from checker.writer import note_input

ModelT = TypeVar("ModelT", bound=BaseModel)


# libyaml's parser where PyYAML was built with it (its wheels are): same nodes and marks,
# several times faster on a registry read at thousands of commits.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader without implicit timestamps, recording lines and refusing duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(node: yaml.MappingNode, build: Callable[[yaml.Node], Any]) -> LineDict:
    """A mapping node as a LineDict, its keys and values built by ``build``; a key given twice
    is an error at its line."""
    result = LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = build(key_node)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
            )
        result[key] = build(value_node)
        result.set_key_line(key, key_node.start_mark.line + 1)
    return result


def _construct_mapping(loader: _Loader, node: yaml.Node) -> LineDict:
    if not isinstance(node, yaml.MappingNode):  # an explicit !!map on a list or a scalar
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"expected a mapping node, but found {getattr(node, 'id', '')}",
            node.start_mark,
        )
    loader.flatten_mapping(node)
    return _mapping(node, lambda child: loader.construct_object(child, deep=True))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_int(loader: _Loader, node: yaml.Node) -> int:
    """An integer, kept with its text where YAML 1.1 reads it as another number than its
    digits show (``0042``, octal, is 34): ``change: 0042`` beside ``change: '0042'`` would
    otherwise be two changes, and the stale record's withdrawn approval counted."""
    return written_int(loader.construct_yaml_int(node), str(node.value))


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


@dataclass(frozen=True)
class Located:
    """One raw document or record and the line it starts on."""

    value: Any
    line: int


def read_text(path: Path) -> bytes:
    """The file's bytes, or an input error naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    note_input(path)
    return data


def decode(data: bytes, path: PurePath) -> str:
    """UTF-8 text without a byte-order mark, or an input error naming ``path``."""
    if data.startswith(codecs.BOM_UTF8):
        # Refused, not skipped: JSON Lines forbids it, and a byte-order mark read as text
        # would stick to the first record's first key.
        raise InputError(
            "starts with a UTF-8 byte-order mark (EF BB BF); save the file as UTF-8 without one",
            path=str(path),
            line=1,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from exc


_HIDDEN_BREAK = re.compile("[\u0085\u2028\u2029]|\r(?!\n)")
"""What YAML 1.1 (libyaml, PyYAML) ends a line at, and line-based tools (grep, diff, a code
review) do not: NEL, the line and paragraph separators, and a carriage return alone."""


def _check_breaks(text: str, path: PurePath) -> None:
    """A YAML file has no line break a reader cannot see: ``status: succeeded  # h2
    failed<U+2028>  - host: h2<U+2028>    status: succeeded`` reads as one line with a
    comment in a review, and as a target h2 that succeeded to the parser (FLEET-001 passed)."""
    found = _HIDDEN_BREAK.search(text)
    if found is not None:
        char = found.group()
        name = "a carriage return alone" if char == "\r" else f"U+{ord(char):04X}"
        raise InputError(
            f"holds {name}, which YAML reads as a line break but line-based tools (grep, "
            "diff, a code review) do not",
            path=str(path),
            line=text.count("\n", 0, found.start()) + 1,
            hint="end lines with LF (or CRLF) alone; write the character escaped inside a "
            'double-quoted string ("\\u2028") where it is meant',
        )


def _compose(text: str, path: PurePath) -> tuple[_Loader, yaml.Node | None]:
    """The YAML node tree, for documents that are not plain (anchors, tags, merge keys)."""
    loader = _Loader(text)
    try:
        return loader, loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=str(path)) from exc


def _construct(loader: _Loader, node: yaml.Node, path: PurePath) -> Any:
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path) from exc
    except RecursionError:
        raise InputError(
            "invalid YAML: nested too deeply", path=str(path), line=node.start_mark.line + 1
        ) from None
    except ValueError as exc:  # an integer longer than Python converts
        raise InputError(
            f"invalid YAML: {str(exc).split(';')[0]}",
            path=str(path),
            line=node.start_mark.line + 1,
        ) from None


def _plain(text: str, path: PurePath, item_lines: list[int] | None = None) -> Any:
    """A plain document built from the event stream (see ``yamlread``); NotPlain otherwise."""
    try:
        return build_plain(_Loader(text), str(path), item_lines=item_lines)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=str(path)) from exc


def _yaml_error(exc: yaml.MarkedYAMLError, path: PurePath) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or "invalid YAML"
    return InputError(f"invalid YAML: {problem}", path=str(path), line=line)


def is_blank(data: bytes, path: PurePath) -> bool:
    """Whether a file holds no record at all: only white space, and in YAML only comments
    and document markers (an explicit ``[]`` is not blank: it says there are none)."""
    if path.suffix == ".jsonl":
        return not data or data.isspace()  # strip() would copy a 26 MB file to say no
    for found in _LINE.finditer(data):
        line = found.group().strip()
        if line and not (line.startswith(b"#") or line in (b"---", b"...")):
            return False
    return True


_LINE = re.compile(rb"[^\r\n]+")
"""A line as ``bytes.splitlines`` finds them (ended by CR, LF or both), taken one by one."""


def parse_yaml(data: bytes, path: PurePath) -> Any:
    """One YAML document, with input errors naming file and line."""
    return parse_yaml_text(decode(data, path), path)


def parse_yaml_text(text: str, path: PurePath) -> Any:
    """``parse_yaml`` of decoded text."""
    _check_breaks(text, path)
    try:
        return _plain(text, path)
    except NotPlain:
        loader, node = _compose(text, path)
        return None if node is None else _construct(loader, node, path)


def parse_records(
    data: bytes, path: PurePath, keep: Callable[[Any, int], bool] | None = None
) -> list[Located]:
    """Every record of a list file (``iter_records``), at once."""
    return list(iter_records(data, path, keep))


def iter_records(
    data: bytes,
    path: PurePath,
    keep: Callable[[Any, int], bool] | None = None,
    looked_at: jsonread.LookedAt | None = None,
) -> Iterator[Located]:
    """A list file: a YAML sequence, or JSON Lines (one object per line, blanks allowed).

    ``keep`` chooses the records returned, given each and its line. Every record is still
    parsed (a syntax error anywhere is an error), but a JSON Lines record passed over is not
    checked for duplicate keys; ``looked_at`` (``jsonread.looked_at``), if given, names the
    keys ``keep`` reads of a JSON Lines record, the only ones then built. JSON Lines are
    parsed as they are taken, so that a caller validating each record as it comes holds one
    line's values at a time, not a whole file's (a month's deployments are hundreds of
    megabytes of dictionaries).
    """
    if path.suffix == ".jsonl":
        return _json_lines(data, path, keep, looked_at)
    text = decode(data, path)
    _check_breaks(text, path)
    lines: list[int] = []
    try:
        document = _plain(text, path, lines)
        items = list(zip(document, lines, strict=True)) if isinstance(document, list) else None
    except NotPlain:
        loader, node = _compose(text, path)
        document = None if node is None else node.value
        items = None
        if isinstance(node, yaml.SequenceNode):
            items = [(_construct(loader, n, path), n.start_mark.line + 1) for n in node.value]
    if document is None and is_blank(data, path):
        return iter(())
    if document is None:  # ~ or null: what a failed export (jq's null) writes, not "none"
        raise InputError(
            "expected a list of records at the top level, got null",
            path=str(path),
            line=1,
            hint="if there really are no records, write []",
        )
    if items is None:
        raise InputError("expected a list of records at the top level", path=str(path), line=1)
    return iter(
        [Located(value, line) for value, line in items if keep is None or keep(value, line)]
    )


_JSON_SPACE = " \t\r"
"""What JSON reads as white space, but the line feed that ends a line."""


def _json_lines(
    data: bytes,
    path: PurePath,
    keep: Callable[[Any, int], bool] | None,
    looked_at: jsonread.LookedAt | None = None,
) -> Iterator[Located]:
    text = decode(data, path)
    screened = looked_at is not None and jsonread.unremarkable(text)
    # Lines end at a line feed alone: U+2028 and U+0085 may stand unescaped in a string.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip(_JSON_SPACE):  # not str.strip(): U+3000 alone is no blank line
            continue
        try:
            if keep is not None and not keep(jsonread.look_at(raw, looked_at, screened), number):
                continue
            value = jsonread.loads(raw)
        except ValueError as exc:
            raise InputError(f"invalid JSON: {exc}", path=str(path), line=number) from exc
        yield Located(value, number)


def _line_of(value: Any, loc: Sequence[int | str], fallback: int) -> int:
    """The line of the deepest located key along a pydantic error location."""
    line = fallback
    current = value
    for part in loc:
        if isinstance(current, LineDict):
            line = current.line or line
            if isinstance(part, str) and part in current:
                line = current.key_line(part)
        if isinstance(current, Mapping) and part in current:
            current = current[part]
            continue
        if isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
            continue
        break
    else:
        if isinstance(current, LineDict):
            line = current.line or line
    return line


def validate(model: type[ModelT], item: Located, path: PurePath, what: str) -> ModelT:
    """Validate one raw record; every ValidationError becomes an InputError here, and only here."""
    try:
        return model.model_validate(item.value)
    except ValidationError as exc:
        message, loc = describe_validation_error(exc, model)
        line = _line_of(item.value, loc, item.line) if path.suffix != ".jsonl" else item.line
        raise InputError(f"{what}: {message}", path=str(path), line=line or None) from exc
