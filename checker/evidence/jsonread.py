"""Strict JSON for every file knightwatch reads: what Python's parser lets through, or fails
on with an exception that is not a ``ValueError``, is a ``ValueError`` here with one clear
sentence.

- a key given twice in one object (a second ``payload`` or ``approvals`` must not silently
  replace the first);
- ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON and no report could carry;
- an integer too long to convert (Python's int-string limit), named by its length;
- nesting deeper than Python's recursion allows (a ``RecursionError`` otherwise);
- a ``\\uD800``-style escape that is half a surrogate pair: no UTF-8 file can hold it, so a
  report repeating it could not be written.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import pydantic_core
from pydantic_core import SchemaValidator, core_schema

MAX_DIGITS = sys.get_int_max_str_digits() or 4300
_SPACE = re.compile(r"[ \t\n\r]*")


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members as a dict; a key given twice is an error."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise ValueError(f"a number of {digits} digits is longer than any field takes")
    return int(text)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


STRICT = json.JSONDecoder(
    object_pairs_hook=unique_keys, parse_int=_integer, parse_constant=_constant
)
LENIENT_KEYS = json.JSONDecoder(parse_int=_integer, parse_constant=_constant)
"""The same, but a duplicate key keeps the last value: for records only looked at, not used."""


def look(text: str) -> Any:
    """``loads(text, LENIENT_KEYS)``, parsed by pydantic-core where it can (several times
    faster, for the records a run only looks at): what it refuses is parsed again by Python's
    parser, whose message is then the one given, as it is for every other read. Both refuse
    the same documents but for nesting deeper than pydantic-core's limit, which Python's
    parser then reads."""
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError:
        return loads(text, LENIENT_KEYS)


@dataclass(frozen=True)
class LookedAt:
    """What ``look_at`` reads of an object (``looked_at``): some keys, each where present."""

    validator: SchemaValidator
    quoted: tuple[str, ...]
    """Each key as JSON writes it without an escape: ``"service"``."""


def looked_at(*keys: str) -> LookedAt:
    """``LookedAt`` the keys ``keys``, each as JSON has it."""
    fields = {
        key: core_schema.typed_dict_field(core_schema.any_schema(), required=False) for key in keys
    }
    validator = SchemaValidator(core_schema.typed_dict_schema(fields, extra_behavior="ignore"))
    return LookedAt(validator, tuple(f'"{key}"' for key in keys))


def unremarkable(text: str) -> bool:
    """Whether ``text`` holds none of what makes ``look_at`` read a document whole (``NaN``,
    ``Infinity``, a ``\\u`` escape): said once of a whole file, it holds for each line of it."""
    return "NaN" not in text and "Infinity" not in text and "\\u" not in text


def look_at(text: str, fields: LookedAt | None, screened: bool = False) -> Any:
    """``look(text)``, of which only the keys ``fields`` names are needed: pydantic-core then
    reads the object without building Python values for the rest (a deployment's fifty
    targets, at a gate that only asks which stream a record is of).

    pydantic-core keeps the last of a key given twice, and reads ``NaN`` where nothing is
    built. So a document that could write one of the keys twice (its quoted name twice, or
    any ``\\u`` escape, which could spell it) or that could hold ``NaN`` or ``Infinity`` is
    read whole by the strict parser (``loads``), as is one pydantic-core would not read (not
    an object, not JSON, nested too deeply): each is refused with ``loads``'s message, and a
    key read is never one of two. ``screened``: the file ``text`` is a line of was found
    ``unremarkable`` as a whole, so the line need not be searched again."""
    if fields is None:
        return look(text)
    twice = max(map(text.count, fields.quoted), default=0) > 1
    if twice or (not screened and not unremarkable(text)):
        return loads(text)
    try:
        return fields.validator.validate_json(text)
    except ValueError:
        return loads(text)


def loads(text: str, decoder: json.JSONDecoder = STRICT) -> Any:
    """One JSON document, surrounded by nothing but whitespace."""
    value, end = raw_decode(text, skip_space(text, 0), decoder)
    end = skip_space(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def skip_space(text: str, position: int) -> int:
    """Past the white space JSON allows (space, tab, line feed, carriage return) from
    ``position``: between values written back to back too, where ``str.isspace`` would also
    pass form feeds, no-break spaces and the like, which no JSON writer puts there."""
    match = _SPACE.match(text, position)
    return match.end() if match else position


def raw_decode(text: str, position: int, decoder: json.JSONDecoder = STRICT) -> tuple[Any, int]:
    """The JSON value starting at ``position``, and where it ends."""
    try:
        value, end = decoder.raw_decode(text, position)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if text.find("\\u", position, end) != -1:
        _check_unicode(value)
    return value, end


def _check_unicode(value: Any) -> None:
    """Refuse a string holding half a surrogate pair, anywhere in ``value``."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{item[:40]!r} holds half a surrogate pair (an escape like \\ud800 alone), "
                    "which is not text"
                ) from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
