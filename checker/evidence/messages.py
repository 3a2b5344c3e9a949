"""Validation errors in the user's words: the field, the value given, and the nearest valid one.

Pydantic's own messages name its internals ("an instance of Target", "constrained-str") and
leave out the value that was wrong; a user fixing a file needs the opposite.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, RootModel, ValidationError
from pydantic_core import ErrorDetails

_LIMIT = 60
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")


def did_you_mean(value: str, known: Iterable[str], cutoff: float = 0.5) -> str:
    """`` (did you mean 'x'?)`` for the nearest of ``known``, or nothing when none is near
    (``cutoff``: difflib's ratio below which a name is not near)."""
    choices = sorted(set(known))
    folded = {choice.casefold(): choice for choice in choices}
    if value.casefold() in folded and folded[value.casefold()] != value:
        return f" (did you mean {folded[value.casefold()]!r}?)"
    lookalike = [c for c in choices if _lookalike(c) == _lookalike(value)]
    if lookalike:
        return f" (did you mean {lookalike[0]!r}?)"
    close = difflib.get_close_matches(value, choices, n=1, cutoff=cutoff)
    if not close:
        # "smars_prod" for "smars": a known name that the value starts or ends with.
        close = [c for c in choices if len(c) >= 3 and (value.startswith(c) or value.endswith(c))]
    return f" (did you mean {close[0]!r}?)" if close else ""


_LOOKALIKES = str.maketrans("lIO", "110")


def _lookalike(text: str) -> str:
    """A name with the characters typed for one another (l and 1, O and 0) made one."""
    return text.casefold().translate(_LOOKALIKES).replace("o", "0").replace("i", "1")


def shown(value: Any) -> str:
    """A value as the user wrote it, cut short when long."""
    text = repr(value) if isinstance(value, str) else _plain(value)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 3] + "..."


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def kind_of(value: Any) -> str:
    """What sort of value this is, in words."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a value of another kind"


def _unwrap(annotation: Any) -> list[Any]:
    """The model or dataclass types an annotation can hold, looking through lists, dicts,
    optionals and ``Annotated``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (list, tuple, set, frozenset, Sequence):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    ):
        return [annotation]
    return []


def _field_names(model: type) -> list[str]:
    if isinstance(model, type) and issubclass(model, RootModel):
        return []  # a mapping of the user's own keys, not of fields
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    if dataclasses.is_dataclass(model):
        return [f.name for f in dataclasses.fields(model)]
    return []


def _annotations(model: type) -> dict[str, Any]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {name: info.annotation for name, info in model.model_fields.items()}
    if dataclasses.is_dataclass(model):
        return typing.get_type_hints(model, include_extras=True)
    return {}


def fields_at(model: type, loc: Sequence[int | str]) -> list[str]:
    """The field names valid at ``loc`` (the mapping that holds the last part of it)."""
    current: list[type] = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # a list index: the same types
        following: list[type] = []
        for kind in current:
            annotation = _annotations(kind).get(part)
            if annotation is not None:
                following += _unwrap(annotation)
            elif not _field_names(kind):
                following.append(kind)
        if following:
            current = following
    return sorted({name for kind in current for name in _field_names(kind)})


def _path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _expected(error: ErrorDetails) -> list[str]:
    ctx = error.get("ctx") or {}
    return [m.group(1) for m in _QUOTED.finditer(str(ctx.get("expected", "")))]


def _sentence(error: ErrorDetails, model: type, errors: list[ErrorDetails]) -> str:
    """One error as the user should read it."""
    kind, value = error["type"], error.get("input")
    if kind in _UNKNOWN:
        return _unknown_field(error, model, errors)
    if kind == "literal_error":
        expected = _expected(error)
        hint = did_you_mean(value, expected) if isinstance(value, str) else ""
        return f"got {shown(value)}; expected one of {', '.join(expected)}{hint}"
    if kind in _WANTED:
        advice = "; quote it" if kind in _TEXT and isinstance(value, int | float) else ""
        return f"expected {_WANTED[kind]}, got {shown(value)} ({kind_of(value)}){advice}"
    if kind in ("dict_type", "model_type", "dataclass_type", "model_attributes_type"):
        fields = fields_at(model, (*tuple(error["loc"]), ""))
        listing = f" with fields {', '.join(fields)}" if fields else ""
        return f"expected a mapping{listing}, got {shown(value)} ({kind_of(value)})"
    if kind == "too_short":
        least = (error.get("ctx") or {}).get("min_length", 1)
        return "must not be empty" if least == 1 else f"must hold at least {least} items"
    if kind in _SAID:
        return _SAID[kind]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        return message
    return f"{message[:1].lower()}{message[1:]}, got {shown(value)}"


_TEXT = ("string_type", "str_type")
_WANTED = {
    **dict.fromkeys(_TEXT, "text"),
    "bool_type": "true or false",
    **dict.fromkeys(("int_type", "int_parsing", "float_type", "float_parsing"), "a number"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type"), "a list"),
}
"""What a value of the wrong type should have been, by pydantic's error type."""
_SAID = {"missing": "required field missing", "string_too_short": "must not be empty"}
"""Errors whose sentence says it all."""


def _unknown_field(error: ErrorDetails, model: type, errors: list[ErrorDetails]) -> str:
    """An unknown field, with the nearest field it may have meant: a required one missing
    beside it, else any field of the record."""
    loc = tuple(error["loc"])
    name = str(loc[-1])
    siblings = [
        str(e["loc"][-1])
        for e in errors
        if e["type"] == "missing" and tuple(e["loc"][:-1]) == loc[:-1]
    ]
    hint = did_you_mean(name, siblings)
    if not hint and len(siblings) == 1:
        hint = f" (the required field {siblings[0]!r} is missing: is this it?)"
    hint = hint or did_you_mean(name, fields_at(model, loc), cutoff=0.75)
    allowed = fields_at(model, loc)
    listing = f"; the fields here are {', '.join(allowed)}" if allowed and not hint else ""
    if isinstance(loc[-1], bool) or name in ("True", "False"):  # YAML 1.1: yes, no, on, off
        hint = (
            " (a key written yes, no, on, off, true or false is read as a boolean in YAML: "
            "quote it, or name a field)"
        )
    return f"unknown field {name!r}{hint}{listing}"


def describe_validation_error(
    exc: ValidationError, model: type
) -> tuple[str, tuple[int | str, ...]]:
    """The most telling error as one sentence (its field, the value given, what would be
    valid), and its location. An unknown field is told before the field it stands in for,
    which pydantic reports as missing: ``sha:`` for ``commit:`` is a misspelling."""
    errors = exc.errors(include_url=False)
    error = next((e for e in errors if e["type"] in _UNKNOWN), errors[0])
    loc = tuple(error["loc"])
    sentence = _sentence(error, model, errors)
    field = _path(loc)
    return (f"{field}: {sentence}" if field else sentence), loc
