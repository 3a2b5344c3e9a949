"""Equal entries share one validated instance; entries Python merely finds equal do not."""

from __future__ import annotations

from typing import Any

from checker.evidence.shared import SharedEntries, SharedLists


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


def test_a_list_met_again_whole_is_swapped_for_its_instances() -> None:
    shared = SharedLists[str]()
    first: list[Any] = [{"host": "h1", "status": "succeeded"}, {"host": "h2", "reason": None}]
    shared.learn(["one", "two"], shared.swap(first))
    again: list[Any] = [{"host": "h1", "status": "succeeded"}, {"host": "h2", "reason": None}]
    assert shared.swap(again).known and again == ["one", "two"]
    other: list[Any] = [{"host": "h1", "status": "succeeded"}, {"host": "h3"}]
    swapped = shared.swap(other)
    assert not swapped.known and other[0] == "one" and sorted(swapped.fresh) == [1]


def test_only_lists_of_text_are_known_whole() -> None:
    """``1 == True``: a list holding numbers is never known by its items alone (its entries
    still are, by their types too); nor is a list whose values cannot be hashed."""
    shared = SharedLists[str]()
    numbers: list[Any] = [{"host": "h1", "weight": 1}]
    shared.learn(["one"], shared.swap(numbers))
    assert not shared.known
    same_in_python: list[Any] = [{"host": "h1", "weight": True}]
    swapped = shared.swap(same_in_python)
    assert not swapped.known and sorted(swapped.fresh) == [0]  # validated on its own
    nested: list[Any] = [{"host": "h1", "tags": ["a"]}]
    swapped = shared.swap(nested)
    assert swapped.items is None and not swapped.known
    shared.learn(["nested"], swapped)
    assert not shared.known


def test_lists_kept_whole_are_bounded() -> None:
    shared = SharedLists[str](limit=2)
    for n in range(4):
        shared.learn(["x"], shared.swap([{"host": f"h{n}"}]))
    assert len(shared.known) == 2
