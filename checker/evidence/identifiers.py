"""A text's identifiers, as the search for flag names reads them, each piece judged once a run.

The search looks a flag's spellings up among a file's tokens (``[A-Za-z0-9_]+``), a
kebab-case one among its runs of tokens joined by single hyphens (``smars-power-peg``), and
finds the identifiers ending with the words of a flag of two words or more
(``endings.Ended``: ``SMARS_POWER_PEG``, ``isHTTPServerEnabled``), whatever words come
before them. Those are no list of words to look up: each is judged. A text is cut into pieces
at every byte that is no letter, digit, ``_`` or ``-``, and each distinct piece is judged the
first time it is met: a repository's files hold the same identifiers again and again, and
judged in every file they doubled the cost of reading one.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from checker.evidence.endings import Ended, marked
from checker.evidence.flagnames import SUFFIXES

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
_SEPARATORS = b"_-"
REMEMBERED = 1 << 20
"""How many distinct pieces are remembered before starting afresh: the code of a repository
repeats its identifiers, but base64 or minified data holds pieces met once, and remembering
all of them would grow with the repository, not with its code."""


class Identifiers:
    """The tokens, the hyphenated runs and the identifiers ending with the words of one of
    ``markers`` (``endings.ending``) of the texts read."""

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

    def read(self, text: bytes) -> tuple[set[bytes], set[bytes], set[bytes]]:
        """The distinct tokens of ``text``, its runs of them joined by hyphens, and those of
        both that end with a searched flag's words."""
        pieces = set(text.translate(_PIECE_BYTES).split())
        unseen = pieces - self._seen
        if len(self._seen) + len(unseen) > REMEMBERED:  # afresh, with all of this text's
            self._seen, self._hyphenated, self._ending = set(), {}, {}
            unseen = pieces
        if unseen:
            self._learn(unseen)
        runs: set[bytes] = set()
        ending: set[bytes] = set()
        for piece in self._ending.keys() & pieces if self._ending else ():
            ending |= self._ending[piece]
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

    def _ended_by(self, identifier: bytes) -> frozenset[str]:
        """The markers ``identifier`` ends with: its letters and digits end as a flag's words
        run together, or those and a suffix word, by their last three, for the few read
        further."""
        letters = identifier.translate(None, _SEPARATORS)
        if not self._markers or letters[-self._width :].lower() not in self._last:
            return frozenset()
        return self._ended(identifier.decode())
