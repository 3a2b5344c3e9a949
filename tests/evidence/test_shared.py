"""Equal entries share one validated instance; entries Python merely finds equal do not."""

from __future__ import annotations

from typing import Any

from checker.evidence.shared import SharedEntries


def test_entries_equal_in_python_but_of_other_types_are_not_shared() -> None:
    shared = SharedEntries[str]()
    first: list[Any] = [{"a": 1}, {1: "x"}, {"a": "b"}]
    fresh = shared.swap(first)
    shared.learn(["int", "int key", "text"], fresh)
    later: list[Any] = [{"a": True}, {"a": 1.0}, {True: "x"}, {"a": "b"}, {"a": 1}, {"a": [1]}]
    fresh = shared.swap(later)
    assert later[3:5] == ["text", "int"]  # the same entries are swapped for their instances
    assert sorted(fresh) == [0, 1, 2]  # the others are validated on their own
    assert later[5] == {"a": [1]} and 5 not in fresh  # unhashable: validated alone, never kept


def test_by_object_knows_an_entry_object_met_again_without_its_identity() -> None:
    shared = SharedEntries[str](by_object=True)
    entry = {"name": "flag_001"}
    shared.learn(["flag"], shared.swap([entry]))
    again: list[Any] = [entry]
    assert shared.swap(again) == {} and again == ["flag"]
    assert shared.objects is not None and id(entry) in shared.objects
