"""Who is who: each value naming a person resolved to one identity per person, or refused.

A value (an address, ``Name <address>``, a login, a person's key in identities.yaml) names an
identity only when it resolves: an address that identities.yaml lists or ``.mailmap`` maps, a
well-formed address, or the key of a person in identities.yaml. Everything else (a bare name,
``me``, a value with an invisible character) names nobody, and the finding says why.

Every source of identity only merges: identities.yaml joins a person's addresses, ``.mailmap``
joins an address to its canonical one, and normalisation joins the spellings of one address.
None of them can make one address count as two people.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from checker.errors import InputError

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_WELL_FORMED = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
"""A plain ASCII address whose domain has a dot, after normalisation (lower case)."""
_COMMENT = re.compile(r"\([^()]*\)")
_EDGES = " \t\r\n"
_SURROUNDING = " <>."
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# Default-ignorable code points outside those categories: they draw nothing either.
_IGNORABLE = frozenset(
    (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810))
) | frozenset((*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)))
_GITHUB_APP = re.compile(r"[0-9]+\+[^@]+\[bot\]@users\.noreply\.[^@]+")
"""A GitHub App's no-reply address, ``ID+NAME[bot]@users.noreply.HOST`` (after normalising,
the tag kept): github-actions', dependabot's, renovate's, as GitHub writes them."""
_NOREPLY_ID = re.compile(r"[0-9]+\+([^+\[\]]+)")
"""The local part of GitHub's no-reply address with an account id, ``ID+LOGIN`` (a person's,
not an App's ``ID+NAME[bot]``)."""
_PERSON = "\0"
"""Prefix of a person's node among the addresses (no address holds a NUL)."""
_BRACKETED = re.compile(r"<([^<>]*)>")
_ADDRESS_WORD = re.compile(r"[^\s@<>,;]+@[^\s@<>,;]+")
"""A word with an ``@`` and something either side of it, outside ``<...>``."""


def invisible(text: str) -> str | None:
    """The first character of ``text`` that draws nothing (a control or format character such
    as a zero-width space, a private-use or unassigned one), or None."""
    if text.isascii() and text.isprintable():  # the common case, answered in C
        return None
    for char in text:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES or ord(char) in _IGNORABLE:
            return char
    return None


def visible(text: str) -> str:
    """``text`` with every invisible character written as ``\\uXXXX``, for messages."""
    if invisible(text) is None:
        return text
    return "".join(f"\\u{ord(c):04x}" if invisible(c) is not None else c for c in text)


def normalise(value: str, *, fold: bool = True, tag: bool = False) -> str:
    """The comparable form of a value: Unicode NFKC, the address inside ``<...>`` if any,
    comments ``(...)`` and surrounding brackets, dots and spaces removed, case folded, and a
    ``+tag`` dropped from the local part (``Dana+Review@Ex.com.`` is ``dana@ex.com``); of a
    person's GitHub no-reply address, the account id dropped instead
    (``123+dana@users.noreply.github.com`` is ``dana@users.noreply.github.com``); with
    ``tag``, the tag kept."""
    return _normalised(value, fold, tag)


@functools.lru_cache(maxsize=1 << 16)
def _normalised(value: str, fold: bool, tag: bool) -> str:
    """``normalise``, remembered: a month's review facts ask it of each shipped commit's
    author and committer, the addresses of a few hundred people, 200,000 times."""
    text = _COMMENT.sub(" ", unicodedata.normalize("NFKC", value))
    if "<" in text:
        text = text.rsplit("<", 1)[1].split(">", 1)[0]
    text = text.strip(_SURROUNDING)
    text = text.casefold() if fold else text
    local, at, domain = text.rpartition("@")
    noreply = domain.casefold().startswith("users.noreply.")
    person = _NOREPLY_ID.fullmatch(local) if noreply else None
    if at and not tag and person is not None:
        # GitHub writes one account's address as LOGIN@ and, since 2017, as ID+LOGIN@: both
        # are the login's, or a person reviewing under the other form is a second person.
        local = person.group(1)
    elif at and not tag and "+" in local and not local.startswith("+"):
        local = local.split("+", 1)[0]
    return f"{local}{at}{domain}" if at else text


def addresses(value: str) -> list[str]:
    """Each distinct address ``value`` writes, as written: each between ``<`` and ``>``, and
    each word with an ``@`` outside them, comments aside. ``Sam <sam@ex.com>, Kim
    <kim@ex.com>`` writes two; ``dana@ex.com <Dana+git@ex.com>`` writes one, twice."""
    text = _COMMENT.sub(" ", unicodedata.normalize("NFKC", value))
    outside = _BRACKETED.sub(lambda match: " " * len(match[0]), text)
    written = [(m.start(), m[1]) for m in _BRACKETED.finditer(text)]
    written += [(m.start(), m[0]) for m in _ADDRESS_WORD.finditer(outside)]
    found: dict[str, str] = {}
    for _, part in sorted(written):
        address = normalise(part)
        if "@" in address:
            found.setdefault(address, part.strip())
    return list(found.values())


@dataclass(frozen=True)
class Identity:
    """What a value names: ``identity`` (a person's key or an address), or None and why."""

    identity: str | None
    unresolved: str = ""
    """Why the value names nobody; empty when it resolved."""


class IdentityResolver:
    """Maps a value naming a person to one identity per person, or refuses it."""

    def __init__(
        self, people: Mapping[str, Sequence[str]] | None = None, *, source: str = ""
    ) -> None:
        self._source = source or None
        self._people: dict[str, str] = {}
        listed: dict[str, str] = {}
        for person, values in sorted((people or {}).items()):
            self._check(person, person)
            key = _fold(person)
            if key in self._people:
                raise InputError(
                    f"people {self._people[key]!r} and {person!r} differ only in case",
                    path=self._source,
                )
            self._people[key] = person
            for value in values:
                self._check(value, person)
                address = normalise(value)
                owner = listed.get(address)
                if owner is not None and owner != person:
                    raise InputError(
                        f"address {value!r} is listed for both {owner!r} and {person!r}",
                        path=self._source,
                    )
                listed[address] = person
        for key, person in self._people.items():
            owner = listed.get(key)
            if owner is not None and owner != person:
                raise InputError(
                    f"{person!r} is both a person and an address listed for {owner!r}",
                    path=self._source,
                )
        self._links = [(address, _PERSON + person) for address, person in listed.items()]
        self._identity = _components(self._links)
        self._known: dict[str, Identity] = {}

    def _check(self, value: str, person: str) -> None:
        char = invisible(value)
        if char is not None:
            raise InputError(
                f"{person}: {visible(value)!r} holds an invisible character ({_name(char)})",
                path=self._source,
            )
        if not normalise(value):
            raise InputError(f"{person}: {value!r} names no address", path=self._source)

    def merged(self, aliases: Iterable[tuple[str, str]]) -> IdentityResolver:
        """A resolver that also holds each pair of addresses as one identity (``.mailmap``:
        an address and the canonical address git maps it to)."""
        pairs = [
            (normalise(a), normalise(b))
            for a, b in aliases
            if invisible(a) is None and invisible(b) is None
        ]
        # Addresses only (dana@localhost too): a .mailmap entry whose canonical side is a
        # bare word (<dana> <x@ex.com>) joined the word to an address, and a key of
        # identities.yaml spelt like it then named that address's group, not its person.
        pairs = [(a, b) for a, b in pairs if a != b and "@" in a and "@" in b]
        other = IdentityResolver.__new__(IdentityResolver)
        other._source = self._source
        other._people = self._people
        other._links = self._links + sorted(set(pairs))
        other._identity = _components(other._links)
        other._known = {}
        return other

    def identify(self, value: str) -> Identity:
        """The identity ``value`` names, or why it names none."""
        found = self._known.get(value)
        if found is None:
            found = self._known[value] = self._identify(value)
        return found

    def _identify(self, value: str) -> Identity:
        text = value.strip(_EDGES)
        char = invisible(text)
        if char is not None:
            return Identity(None, f"it holds an invisible character, {_name(char)}")
        if not (text.isascii() and text.count("@") < 2):
            several = addresses(text)
            if len(several) > 1:
                # Only the last was read: a deployer written "Ops <ops@...>, Lee <lee@...>"
                # was Lee, and Ops's approval counted as a second person's.
                listed = ", ".join(map(visible, several))
                return Identity(None, f"it holds more than one address: {listed}")
        address = normalise(text)
        if not address:
            return Identity(None, "it holds no address")
        if "@" not in text and "<" not in text and _fold(text) in self._people:
            # A key first, as the identity of its person's whole group: where .mailmap joined
            # two people's addresses, the key named the one while the addresses named the
            # other, and the deployer written as "dana" approved as dana@ (a second person).
            person = self._people[_fold(text)]
            return Identity(self._identity.get(_PERSON + person, person))
        found = self._identity.get(address)
        if found:
            return Identity(found)
        if "@" not in address:
            return Identity(None, "a name, not an address")
        # Checked before case folding, which turns 'ß' into 'ss': an ASCII address that
        # someone else may hold.
        if not normalise(text, fold=False).isascii():
            return Identity(None, "an address with characters outside ASCII, not listed")
        if _WELL_FORMED.fullmatch(address):
            return Identity(address)
        return Identity(None, "not a well-formed address")

    def github_apps(self) -> set[str]:
        """The identities of the values identified so far that are a GitHub App's no-reply
        address (``41898282+github-actions[bot]@users.noreply.github.com``): bots, whoever
        lists them. Without its tag the address is ``41898282@users.noreply.github.com``, a
        well-formed address that would count as a second person."""
        return {
            found.identity
            for value, found in self._known.items()
            if found.identity and _GITHUB_APP.fullmatch(normalise(value, tag=True))
        }

    def resolve(self, value: str) -> str:
        """The identity ``value`` names, else its normalised text: for grouping values (as
        the importers do), never for deciding that two values are different people."""
        return self.identify(value).identity or normalise(value)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip(_EDGES).casefold()


def _name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"


def _components(links: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Each address's identity after joining linked nodes: the person among them (the first
    by name, if links joined several), else the first well-formed address, else none."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = {}
    for node in parent:
        members.setdefault(find(node), []).append(node)
    identity: dict[str, str] = {}
    for nodes in members.values():
        people = sorted(n[1:] for n in nodes if n.startswith(_PERSON))
        addresses = sorted(n for n in nodes if _WELL_FORMED.fullmatch(n))
        chosen = people[0] if people else (addresses[0] if addresses else "")
        for node in nodes:  # a person's node too: its key names whom its group names
            identity[node] = chosen
    return identity
