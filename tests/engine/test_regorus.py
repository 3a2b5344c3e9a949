"""The embedded engine: values, undefined, and errors that name file and line."""

from __future__ import annotations

import pytest

from checker.engine import RegorusEngine
from checker.engine.base import UNDEFINED, PolicyModule
from checker.errors import PolicyError

MODULE = PolicyModule(
    "p/a.rego",
    """package a

import rego.v1

ok if input.x == 1

subjects contains s if {
	some s in input.items
}

boom := 1 / input.zero
""",
)


def engine(document: dict[str, object]) -> RegorusEngine:
    e = RegorusEngine()
    e.load([MODULE])
    e.set_data({})
    e.set_input(document)
    return e


def test_values_and_undefined() -> None:
    e = engine({"x": 1, "items": ["b", "a"], "zero": 1})
    assert e.evaluate("data.a.ok") is True
    assert sorted(e.evaluate("data.a.subjects")) == ["a", "b"]
    assert engine({"x": 2, "items": []}).evaluate("data.a.ok") is UNDEFINED
    # A string that merely looks like the engine's placeholder is still a value.
    assert engine({"x": 2, "items": ["<undefined>"]}).evaluate("data.a.subjects") == ["<undefined>"]


def test_runtime_error_names_file_and_line() -> None:
    with pytest.raises(PolicyError) as caught:
        engine({"zero": 0}).evaluate("data.a.boom")
    assert caught.value.message.startswith("p/a.rego:11:")
    assert "divide by zero" in caught.value.message
    assert "backtrace" not in caught.value.message.lower()


def test_parse_error_names_file_and_line() -> None:
    e = RegorusEngine()
    with pytest.raises(PolicyError) as caught:
        e.load([PolicyModule("user/bad.rego", "package bad\n\nx if {\n  1 = \n}\n")])
    assert caught.value.message.startswith("user/bad.rego:4:")
    assert "\n" not in caught.value.message


def test_rego_v0_syntax_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"old\.rego:3:"):
        RegorusEngine().load([PolicyModule("old.rego", "package old\n\ndeny[msg] { msg := 1 }\n")])
