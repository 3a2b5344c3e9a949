"""Immutable records that a file repeats, validated once and shared.

10,000 deployments to the same 1,000 hosts repeat the same few thousand targets, and 200
versions of a flag registry repeat the same 500 flags but for a few: each distinct entry is
validated once, and the one validated instance (immutable) stands for all its equals. Only
entries that validated are shared; any other is validated where it stands, so its error
names its own place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Identity = tuple[tuple[tuple[Any, Any], ...], tuple[type, ...], tuple[type, ...]]
"""A mapping's items, and the type of each key and value (``1`` and ``True`` are equal in
Python, and YAML reads ``yes:`` as the key ``True``)."""


def identity(entry: object) -> Identity | None:
    """``entry`` as a key (built by C loops alone: a month holds half a million targets);
    None where it is not a mapping (validated alone). A mapping holding a list or another
    mapping is unhashable: ``SharedEntries`` validates it alone too."""
    if not isinstance(entry, dict):
        return None
    return tuple(entry.items()), tuple(map(type, entry)), tuple(map(type, entry.values()))


class SharedEntries(Generic[T]):
    """The validated instance of each distinct entry met so far. With ``by_object``, an
    entry object met again (a parser that shares unchanged entries between versions gives
    the same object) is known by the object itself, without building its identity again;
    the objects are then held, so only for files of a few thousand entries."""

    def __init__(self, *, by_object: bool = False) -> None:
        self.known: dict[Identity, T] = {}
        self.objects: dict[int, tuple[object, T]] | None = {} if by_object else None

    def swap(self, entries: object) -> dict[int, Identity]:
        """In ``entries`` (a list of raw mappings, changed in place), each mapping equal to a
        known one replaced by its instance; the places and identities of the others, for
        ``learn`` once the list is validated."""
        fresh: dict[int, Identity] = {}
        if not isinstance(entries, list):
            return fresh
        objects = self.objects
        for index, entry in enumerate(entries):
            held = objects.get(id(entry)) if objects is not None else None
            if held is not None and held[0] is entry:
                entries[index] = held[1]
                continue
            found = identity(entry)
            if found is None:
                continue
            try:
                known = self.known.get(found)
            except TypeError:  # a value is a list or a mapping
                continue
            if known is None:
                fresh[index] = found
                continue
            if objects is not None:
                objects[id(entry)] = (entry, known)
            entries[index] = known
        return fresh

    def learn(self, validated: Sequence[T], fresh: dict[int, Identity]) -> None:
        """Keep the instances ``validated`` made of the entries ``swap`` did not know."""
        for index, found in fresh.items():
            self.known[found] = validated[index]


Items = tuple[tuple[tuple[Any, Any], ...], ...]
"""A list of mappings as its entries' items, in order."""


@dataclass(frozen=True)
class Swapped:
    """What ``SharedLists.swap`` did to one list: nothing left to learn (``known``), or the
    list's items (None where they cannot stand for it) and its fresh entries."""

    items: Items | None
    fresh: dict[int, Identity]
    known: bool = False


class SharedLists(Generic[T]):
    """``SharedEntries`` for lists that repeat whole (a service's deployments list the same
    fifty hosts, all succeeded, month after month): a list met before is swapped for its
    instances in one look-up, not an identity per entry.

    A list is known by its entries' items alone, without their types, and only lists of
    mappings from text to text or null are kept: no value of another type is equal to a
    text or to null (``1 == True`` holds between numbers alone), so a list equal to a kept
    one is that list. At most ``limit`` lists are kept (lists that never repeat, such as
    targets each with its own finish time, would otherwise be held for nothing)."""

    def __init__(self, limit: int = 1024) -> None:
        self.entries = SharedEntries[T]()
        self.known: dict[Items, list[T]] = {}
        self.limit = limit

    def swap(self, entries: object) -> Swapped:
        """``SharedEntries.swap``, or the whole list's instances where it is known."""
        items = _items(entries)
        if items is not None:
            known = self.known.get(items)
            if known is not None and isinstance(entries, list):
                entries[:] = known
                return Swapped(items, {}, known=True)
        return Swapped(items, self.entries.swap(entries))

    def learn(self, validated: Sequence[T], swapped: Swapped) -> None:
        """``SharedEntries.learn``, and the list's instances kept whole where it is plain."""
        if swapped.known:
            return
        self.entries.learn(validated, swapped.fresh)
        if swapped.items is not None and len(self.known) < self.limit and _plain(swapped.items):
            self.known[swapped.items] = list(validated)


def _items(entries: object) -> Items | None:
    """A list of mappings as its entries' items (built by C loops alone); None for anything
    else, or where a value is a list or a mapping (unhashable)."""
    if not isinstance(entries, list):
        return None
    try:
        items = tuple(map(tuple, map(dict.items, entries)))
        hash(items)
    except TypeError:  # an entry that is not a mapping, or a value that cannot be hashed
        return None
    return items


def _plain(items: Items) -> bool:
    return all(
        type(key) is str and (type(value) is str or value is None)
        for entry in items
        for key, value in entry
    )
