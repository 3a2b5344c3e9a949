"""Where an identifier ends with a flag's words.

A flag of two words or more is found in any identifier whose words end with its own, whatever
words come before them, with one of ``flagnames.SUFFIXES`` after them or none
(``SMARS_POWER_PEG``, ``isHTTPServerEnabled``, ``features.power.peg``). The search holds a
*marker* for such a flag (``ending``) and judges each identifier it meets against the markers
(``Ended``), by the identifier's letters and digits and where its words may start (``told``):

- a number written in parts is the number written whole, in the identifier and in the flag's
  name alike (``TLS_1_3``, ``Tls13`` and ``tls.1.3`` end with the words of ``tls_1_3`` and of
  ``tls_13``): a flag's key (``flagnames.flag_key``) reads them as one;
- in an identifier that also holds lower-case letters, a run of capitals is an acronym, or
  several, whose words camel case does not tell apart: a flag's words may start anywhere in
  it (``useAPIV2`` and ``isAPIv2Enabled`` end with ``api_v2``'s words, ``HTTPServer`` with
  ``http_server``'s). In an identifier of capitals alone, ``_`` and the like say where its
  words start (``SMARS_POWERPEG`` holds the one word ``powerpeg``).

A one-word name holding a number has a marker too (``WHOLE``), for the identifiers that are its
words alone, the number written whole or in parts (``TLS_13`` and ``TLS_1_3`` for ``tls13``):
no word is searched around a one-word name.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from checker.evidence.flagnames import SUFFIXES, flag_words, words

ENDING = "\0ending "
"""What a search for a flag's name holds, before its words (``ending``), to find every
identifier ending with them: no name or identifier holds a control character."""
WHOLE = "\0whole "
"""What a search for a one-word name holding a number holds, before its words (``ending``), to
find every identifier that is those words alone."""
MARKERS = (ENDING, WHOLE)


@functools.lru_cache(maxsize=1 << 14)
def ending(name: str) -> str | None:
    """The word that stands in a search for every identifier whose words end with ``name``'s
    (``Ended``): for a name of two words or more in ASCII letters and digits, ``ENDING`` and
    its words (``compared``); for a one-word name of letters and a number (``tls13``, ``v2``),
    ``WHOLE`` and its words. None for others, as a one-word name is not searched with other
    words around it (``flagnames.spellings``)."""
    parts = words(name)
    if not parts or not all(_ASCII_WORD.fullmatch(part) for part in parts):
        return None
    own = flag_words(name)
    if len(parts) > 1:
        return ENDING + compared(own)
    return WHOLE + compared(own) if len(own) > 1 else None


def compared(parts: list[str]) -> str:
    """Words in lower case as ``Ended`` compares them: joined by spaces, but for two numbers side
    by side, which are one (``1_3`` is ``13``)."""
    out = ""
    for index, part in enumerate(parts):
        joined = index and part.isdigit() and parts[index - 1].isdigit()
        out += part if not index or joined else " " + part
    return out


def marked(marker: str) -> list[str]:
    """A marker's words."""
    return marker.removeprefix(ENDING).removeprefix(WHOLE).split(" ")


def cuts(marker: str) -> list[tuple[str, str]]:
    """Where a separator may cut ``marker``'s words in a key (``smars.power.peg``) or a
    string (``"power peg"``): the letters and digits before it and after it, in lower case,
    each cut between two of its words (``power``, ``peg``) or inside a number
    (``tls.1.3`` for ``tls_13``: ``tls1``, ``3``)."""
    own = marked(marker)
    found = []
    for index, word in enumerate(own):
        before, rest = "".join(own[:index]), "".join(own[index + 1 :])
        if index:
            found.append((before, word + rest))
        if word.isdigit():
            found.extend((before + word[:cut], word[cut:] + rest) for cut in range(1, len(word)))
    return found


@dataclass(frozen=True)
class Told:
    """An identifier as ``Ended`` reads it."""

    letters: str
    """Its ASCII letters and digits, in lower case."""
    starts: frozenset[int]
    """Where in ``letters`` a word starts: at 0, after any other character, where a lower-case
    letter or a digit meets a capital, and where a number follows a letter."""
    maybe: frozenset[int]
    """Where a word may start besides: inside a run of capitals of an identifier that also
    holds a lower-case letter, and between such a run and a lower-case letter after it."""
    heads: tuple[int, ...]
    """Where a flag's words may start, in order: ``starts``, and where a run of capitals
    followed by a lower-case letter may end, before its last capital (``HTTP|Server``) or
    after it (``API|v2``): not inside an acronym (``useAPIV2`` does not end with ``pi_v2``)."""
    stops: tuple[int, ...]
    """Where a flag's words may end: at the end, or before a last word of ``SUFFIXES``."""


@functools.lru_cache(maxsize=1 << 16)
def told(identifier: str) -> Told:
    """``identifier`` (ASCII letters and digits, with any other characters between its words)
    as ``Ended`` reads it."""
    letters, starts, maybe, heads = "", set[int](), set[int](), set[int]()
    mixed = _LOWER.search(identifier) is not None
    for run in _ASCII_WORD.findall(identifier):
        base = len(letters)
        starts.add(base)
        starts.update(base + found.start() for found in _BREAK.finditer(run))
        for caps in _CAPITALS.finditer(run) if mixed else ():
            maybe.update(base + at for at in range(caps.start() + 1, caps.end()))
            if caps.end() < len(run) and run[caps.end()].islower():
                heads.update((base + caps.end() - 1, base + caps.end()))
        letters += run.lower()
    maybe = (maybe | heads) - starts
    last = max(starts, default=0)
    ends = [len(letters)] + [
        at
        for at in sorted(starts | maybe, reverse=True)
        if at > 0 and at >= last and letters[at:] in SUFFIXES
    ]
    order = tuple(sorted(starts | heads))
    return Told(letters, frozenset(starts), frozenset(maybe), order, tuple(ends))


def places(said: Told, own: list[str]) -> list[tuple[int, int]]:
    """Where (start, stop: in ``said.letters``) the identifier ``said`` ends with the words
    ``own`` (``compared``), or ends so before a suffix word: their letters, starting at one of
    its ``heads``, each of their words starting where one of the identifier's may, each of its
    words inside them starting where one of theirs does (or where a number meets a number:
    ``1_3`` is ``13``)."""
    letters = "".join(own)
    inner = _inner(own)
    found = []
    for stop in said.stops:
        start = stop - len(letters)
        if start < 0 or said.letters[start:stop] != letters or start not in said.heads:
            continue
        if all(start + at in said.starts or start + at in said.maybe for at in inner) and all(
            at - start in inner or said.letters[at - 1 : at + 1].isdigit()
            for at in said.starts
            if start < at < stop
        ):
            found.append((start, stop))
    return found


def _inner(own: list[str]) -> frozenset[int]:
    """Where the words ``own`` start among their letters, the first aside."""
    at, found = 0, set()
    for word in own[:-1]:
        at += len(word)
        found.add(at)
    return frozenset(found)


class Ended:
    """The markers (``ending``) among ``markers`` that identifiers end with, each identifier
    judged once."""

    def __init__(self, markers: Collection[str]) -> None:
        self._by_letters: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        for marker in markers:
            if marker.startswith(MARKERS):
                own = marked(marker)
                self._by_letters["".join(own)].append((marker, own))
        self._lengths = frozenset(len(letters) for letters in self._by_letters)
        self._ends = {letters + after for letters in self._by_letters for after in ("", *SUFFIXES)}
        """Each marker's letters, and those and a suffix word."""
        self._sizes: dict[str, set[int]] = defaultdict(set)
        """By their last three letters (or two, where they are two), the sizes of ``_ends``."""
        for end in self._ends:
            self._sizes[end[-3:]].add(len(end))
        self._memo: dict[str, frozenset[str]] = {}
        """The identifiers read further (``_could_end``): what they end with."""

    def __bool__(self) -> bool:
        return bool(self._by_letters)

    def __call__(self, identifier: str) -> frozenset[str]:
        """The markers ``identifier`` ends with: of a name of two words or more, its words at
        its end or before a suffix word, over two of the identifier's words or more
        (``places``); of a one-word name (``WHOLE``), its words alone."""
        found = self._memo.get(identifier)
        if found is None:
            if not self._could_end(identifier):
                return frozenset()
            found = self._memo[identifier] = frozenset(self._ended(told(identifier)))
        return found

    def _could_end(self, identifier: str) -> bool:
        """Whether ``identifier``'s letters and digits end with a marker's, or with those and
        a suffix word: few do, and only those are read further (``told``)."""
        letters = identifier.translate(_NOT_LETTERS).lower()
        return any(
            letters[-size:] in self._ends
            for last in (letters[-3:], letters[-2:])  # a flag's two letters, a_b, are two
            for size in self._sizes.get(last, ())
        )

    def _ended(self, said: Told) -> Iterator[str]:
        for stop in said.stops:
            for start in said.heads:
                if start >= stop or stop - start not in self._lengths:
                    continue
                for marker, own in self._by_letters.get(said.letters[start:stop], ()):
                    if marker.startswith(WHOLE) and (start, stop) != (0, len(said.letters)):
                        continue
                    if (start, stop) in places(said, own) and _two_words(said, start, stop):
                        yield marker


def _two_words(said: Told, start: int, stop: int) -> bool:
    """Whether ``said.letters[start:stop]`` holds two words or more of the identifier's (a
    flag's words start inside it where one of the identifier's does or may: ``places``)."""
    return any(start < at < stop for at in said.starts | said.maybe)


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_LOWER = re.compile(r"[a-z]")
_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])")
_CAPITALS = re.compile(r"[A-Z]{2,}")
_NOT_LETTERS = {code: None for code in range(128) if not chr(code).isalnum()}
"""``str.translate``'s table dropping every ASCII character but letters and digits."""
