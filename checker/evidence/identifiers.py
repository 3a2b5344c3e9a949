"""A text's identifiers, as the search for flag names reads them, each piece judged once a run.

The search looks a flag's spellings up among a file's tokens (``[A-Za-z0-9_]+``), a
kebab-case one among its runs of tokens joined by single hyphens (``smars-power-peg``), and
finds the identifiers ending with the words of a flag of two words or more
(``endings.Ended``: ``SMARS_POWER_PEG``, ``isHTTPServerEnabled``), whatever words come
before them. Those are no list of words to look up: each is judged. A text is cut into pieces
at every byte that is no letter, digit, ``_`` or ``-``, and each distinct piece is judged the
first time it is met: a repository's files hold the same identifiers again and again, and
judged in every file they doubled the cost of reading one.

A configuration key joins a flag's words with ``.``, ``/`` or ``:`` (``features.power.peg``,
``flags/power/peg``, ``Features:Power:Peg``), and a string used as a key may hold them apart
(``getFlag("power peg")``). Such keys and strings are looked for (``Apart``) only in a text
holding both a piece where a flag's words may start in one (``power``) and a piece where
they may end (``peg``), and only where that last piece stands after a separator, or between a
space and a quote: most texts hold none, and no text is cut into keys.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator

from checker.evidence.endings import MARKERS, Ended, compared, cuts, marked
from checker.evidence.flagnames import SUFFIXES, ending_words

KEBAB_RUN = re.compile(rb"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")
"""The longest runs of tokens joined by single hyphens: a kebab-case name stands as a whole
word exactly where it is one of a text's runs, so one pass over a file finds every such name
it holds."""
_PIECE_BYTES = bytes(
    byte if chr(byte) in "-_" or (chr(byte).isascii() and chr(byte).isalnum()) else 0x20
    for byte in range(256)
)
"""Each byte that is an ASCII letter, digit, ``_`` or ``-`` as itself, any other as a space:
``bytes.translate`` and ``split`` cut a text into pieces three times faster than a pattern."""
KEY_RUN = re.compile(rb"[A-Za-z0-9_]+(?:(?:[-./:]|::)[A-Za-z0-9_]+)*")
"""The longest runs of tokens joined by a single ``-``, ``.``, ``/`` or ``:`` (or ``::``): a
configuration key (``smars.power.peg``, ``flags/power/peg``, ``Features:Power:Peg``), a module
path (``smars::power::peg``), as a whole word."""
QUOTED = re.compile(rb"[A-Za-z0-9]+(?: [A-Za-z0-9]+)+")
"""What a string holds of words apart, one space between each (``"power peg"``)."""
_SEPARATORS = b"_-./:"
_KEY_PARTS = re.compile(rb"::|[./:]")
_KEY_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./:")
_WORD_CHARS = _KEY_CHARS - frozenset(b"./:")
_REACH = 512
"""How far from a separator or a quote a key or a string is read: a flag's name and the words
in front of it are far shorter."""
_QUOTED_CHARS = _KEY_CHARS - frozenset(b"_-./:") | {ord(" ")}
_MARKED_BYTES = bytes(
    byte
    if chr(byte) in "-_" or (chr(byte).isascii() and chr(byte).isalnum())
    else 1
    if chr(byte) in "./:"
    else 2
    if chr(byte) in "\"'`"
    else 0x20
    for byte in range(256)
)
"""As ``_PIECE_BYTES``, but a separator of keys as byte 1 and a quote as byte 2: a text as
``Apart`` reads it, where a piece stands after a separator (``\1peg``) or before a quote
(``peg\2``), and where a run of key bytes ends (a space or a quote)."""
REMEMBERED = 1 << 20
"""How many distinct pieces are remembered before starting afresh: the code of a repository
repeats its identifiers, but base64 or minified data holds pieces met once, and remembering
all of them would grow with the repository, not with its code."""


class Identifiers:
    """The tokens, the hyphenated runs and the identifiers ending with the words of one of
    ``markers`` (``endings.ending``) of the texts read: keys and quoted strings too."""

    def __init__(self, markers: Collection[str]) -> None:
        self._markers = frozenset(markers)
        self._ended = Ended(self._markers)
        joined = ["".join(marked(marker)) for marker in self._markers]
        self._width = min((3, *(len(letters) for letters in joined)))
        self._last = frozenset(
            (letters + after)[-self._width :].encode()
            for letters in joined
            for after in ("", *SUFFIXES)
        )
        self._seen: set[bytes] = set()
        self._hyphenated: dict[bytes, tuple[frozenset[bytes], frozenset[bytes]]] = {}
        """Of the pieces met, those holding a hyphen: their tokens, and their runs of tokens
        joined by hyphens."""
        self._ending: dict[bytes, frozenset[bytes]] = {}
        """Of the pieces met, those holding identifiers that end with a flag's words: those."""
        self._apart = Apart(self._markers, self._ended_by)

    def read(self, text: bytes) -> tuple[set[bytes], set[bytes], set[bytes]]:
        """The distinct tokens of ``text``, its runs of them joined by hyphens, and those of
        both that end with a searched flag's words, with the keys that do and the quoted
        strings that are a flag's words alone (``Apart``)."""
        pieces = set(text.translate(_PIECE_BYTES).split())
        unseen = pieces - self._seen
        if len(self._seen) + len(unseen) > REMEMBERED:  # afresh, with all of this text's
            self._seen, self._hyphenated, self._ending = set(), {}, {}
            self._apart.forget()
            unseen = pieces
        if unseen:
            self._learn(unseen)
        runs: set[bytes] = set()
        ending: set[bytes] = set()
        for piece in self._ending.keys() & pieces if self._ending else ():
            ending |= self._ending[piece]
        ending |= self._apart.read(text, pieces)
        joined = self._hyphenated.keys() & pieces if self._hyphenated else None
        if joined:
            pieces -= joined
            for piece in joined:
                tokens, hyphenated = self._hyphenated[piece]
                pieces |= tokens
                runs |= hyphenated
        return pieces, runs, ending

    def _learn(self, pieces: set[bytes]) -> None:
        self._seen |= pieces
        for piece in pieces:
            letters = piece.translate(None, _SEPARATORS).lower()
            if b"-" in piece:
                runs = KEBAB_RUN.findall(piece)
                tokens = frozenset(token for run in runs for token in run.split(b"-"))
                hyphenated = frozenset(run for run in runs if b"-" in run)
                self._hyphenated[piece] = (tokens, hyphenated)
                ending = frozenset(word for word in tokens | hyphenated if self._ended_by(word))
                if ending:
                    self._ending[piece] = ending
            elif letters[-self._width :] in self._last and self._ended(piece.decode()):
                self._ending[piece] = frozenset((piece,))
            self._apart.learn(piece, letters)

    def _ended_by(self, identifier: bytes) -> frozenset[str]:
        """The markers ``identifier`` ends with: its letters and digits end as a flag's words
        run together, or those and a suffix word, by their last three, for the few read
        further."""
        letters = identifier.translate(None, _SEPARATORS)
        if not self._markers or letters[-self._width :].lower() not in self._last:
            return frozenset()
        return self._ended(identifier.decode())


class Apart:
    """The keys (``KEY_RUN`` with a ``.``, ``/`` or ``:``) and the quoted strings of the texts
    read that hold a searched flag's words apart: keys ending with them (``ended``: the
    markers an identifier ends with) across a separator, strings of them alone."""

    def __init__(self, markers: frozenset[str], ended: Callable[[bytes], frozenset[str]]) -> None:
        self._markers = markers
        self._ended = ended
        self._tails: dict[bytes, set[str]] = defaultdict(set)
        """What the last part of a key or string ending with a marker's words holds where that
        part alone does not (``endings.cuts``: ``peg``, ``pegenabled``): their markers."""
        self._heads: dict[bytes, list[tuple[bytes, str]]] = defaultdict(list)
        """By their last three letters, what the part of such a key or string where the
        marker's words start ends with (``power``), and its marker."""
        self._anywhere: set[str] = set()
        """The markers whose words may start in a part that ends with fewer than three of
        their letters (``ui.redesign``, ``2.024``): looked for wherever a part may end them."""
        for marker in markers:
            for head, tail in cuts(marker):
                for after in ("", *SUFFIXES):
                    self._tails[(tail + after).encode()].add(marker)
                if len(head) < 3:  # most pieces end so: judged without
                    self._anywhere.add(marker)
                else:
                    self._heads[head[-3:].encode()].append((head.encode(), marker))
        self._tail: dict[bytes, set[str]] = {}
        """Of the pieces met, those that may end a key or a string ending with a marker's
        words (``_tails``), and which markers."""
        self._head: dict[bytes, set[str]] = {}
        """Of the pieces met, those where a marker's words may start in such a key or string
        (``_heads``), and which markers."""
        self._judged: dict[bytes, frozenset[bytes]] = {}
        """The spans of key bytes and the strings met, and what of them holds a flag's words
        apart."""

    def forget(self) -> None:
        """Start afresh (``Identifiers.read``)."""
        self._tail, self._head, self._judged = {}, {}, {}

    def learn(self, piece: bytes, letters: bytes) -> None:
        """Remember whether ``piece`` (its ``letters`` and digits in lower case) may end a key
        or string holding a marker's words, or hold where they start."""
        tail = self._tails.get(letters)
        if tail:
            self._tail[piece] = tail
        starts = self._heads.get(letters[-3:])
        head = {marker for start, marker in starts if letters.endswith(start)} if starts else None
        if head:
            self._head[piece] = head

    def read(self, text: bytes, pieces: set[bytes]) -> set[bytes]:
        """The keys and strings of ``text`` (its ``pieces``) holding a flag's words apart: looked
        for where a piece that may end one stands after a separator or before a quote."""
        found: set[bytes] = set()
        held = self._held(pieces) if self._tail else []
        if not held:
            return found
        if len(self._judged) > REMEMBERED:
            self._judged = {}
        cut = text.translate(_MARKED_BYTES)  # b"\1peg": .peg, b"peg\2": peg"
        for piece in held:
            if b"\1" + piece not in cut:
                continue
            for mark in (b".", b"/", b":"):
                for at in _places(text, mark + piece):
                    after = at + len(piece) + 1
                    if after == len(text) or text[after] not in _WORD_CHARS:
                        found |= self._keys(text, cut, at)
        for piece in held:
            if not piece.isalnum() or piece + b"\2" not in cut:
                continue  # a string's words are letters and digits
            for quote in (b'"', b"'", b"`"):
                for at in _places(text, b" " + piece + quote):
                    found |= self._quoted(text, at + len(piece) + 1)
        return found

    def _held(self, pieces: set[bytes]) -> list[bytes]:
        """Of ``pieces``, those that may end a key or string ending with a marker's words
        where ``pieces`` also hold one where its words may start: a text without both holds
        no such key or string."""
        tails = self._tail.keys() & pieces
        if not tails:
            return []
        heads = self._head.keys() & pieces
        starts = self._anywhere.union(*(self._head[piece] for piece in heads))
        return sorted(piece for piece in tails if not starts.isdisjoint(self._tail[piece]))

    def _keys(self, text: bytes, cut: bytes, at: int) -> frozenset[bytes]:
        """The keys around ``text[at]`` (a separator; ``cut``: the text as ``_MARKED_BYTES``
        reads it) that hold a flag's words apart, judged within ``_REACH`` bytes either side:
        a run of key bytes longer than that (base64's ``/``) is no key, and is not read whole
        for each separator in it, but from its first separator in reach."""
        low = max(0, at - _REACH)
        start = max(cut.rfind(b" ", low, at), cut.rfind(b"\2", low, at)) + 1
        if not start and low:  # a run longer than the reach: from a separator on
            start = cut.find(b"\1", low, at + 1) + 1
        reach = at + _REACH
        ends = [end for end in (cut.find(b" ", at, reach), cut.find(b"\2", at, reach)) if end >= 0]
        span = text[start : min((*ends, reach))]
        found = self._judged.get(span)
        if found is None:
            found = frozenset(
                key for key in KEY_RUN.findall(span) if _KEY_PARTS.search(key) and self._across(key)
            )
            self._judged[span] = found
        return found

    def _across(self, key: bytes) -> bool:
        """Whether ``key`` ends with a searched flag's words that its last part (between
        separators) does not end with alone, nor, where that part is a suffix word, the part
        before it: ``smars.power.peg``, not ``server.isHTTPServerEnabled`` or
        ``flags.power_peg.enabled``, whose parts are found as they are."""
        found = self._ended(key)
        if not found:
            return False
        parts = _KEY_PARTS.split(key)
        found -= self._ended(parts[-1])
        if len(parts) > 1 and parts[-1].decode().lower() in SUFFIXES:
            found -= self._ended(parts[-2])
        return bool(found)

    def _quoted(self, text: bytes, end: int) -> frozenset[bytes]:
        """The string closed by the quote at ``text[end]``, where it holds a flag's words alone,
        one space between each."""
        start, low = end, max(0, end - _REACH)
        while start > low and text[start - 1] in _QUOTED_CHARS:
            start -= 1
        string = text[start - 1 : end + 1] if start else b""
        if not string or string[0] != string[-1]:
            return frozenset()
        found = self._judged.get(string)
        if found is None:
            found = frozenset({string}) if self._alone(string[1:-1]) else frozenset()
            self._judged[string] = found
        return found

    def _alone(self, words: bytes) -> bool:
        """Whether ``words`` (a string's) are a searched flag's words, no other."""
        if not QUOTED.fullmatch(words):
            return False
        said = compared(ending_words(words.decode()))
        return any(marker + said in self._markers for marker in MARKERS)


def _places(text: bytes, needle: bytes) -> Iterator[int]:
    """Where ``needle`` stands in ``text``."""
    at = text.find(needle)
    while at >= 0:
        yield at
        at = text.find(needle, at + 1)
