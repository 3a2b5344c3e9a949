"""What a blob, or a whole root tree, holds of a set of searched words, kept across runs.

Both depend on the object's bytes alone (its id) and on the words searched. An entry names
the word set it was searched for by that set's digest (the set is an entry of its own, keyed
by its digest and checked against it), and answers for any subset of that set: whether a
blob holds a word does not depend on the other words searched with it. A set may hold a flag
name's ``endings.ending``, which stands for every identifier ending with its words: what an
object holds of it is those identifiers, each kept where the set searched now holds a marker
it ends with (``endings.Ended``). An object searched for words outside its entry's set is a
miss: searched again and written again for the new set.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from checker.cache import FactCache
from checker.evidence.endings import Ended

BLOB_WORDS = "blob-words"
"""Entries: the words a blob holds, ``{"words": WORD_SET digest, "found": [word, ...]}``."""
ROOT_WORDS = "root-words"
"""Entries: the files of a root tree naming each word, ``{"words": ..., "found": {word:
[path, ...]}}``, paths in git's order."""
WORD_SET = "word-set"
"""Entries: a set of words searched for, sorted, keyed by ``words_digest``."""


class SearchedWords:
    """The cache's answers about one kind of object (``BLOB_WORDS`` or ``ROOT_WORDS``) for the
    words searched now."""

    def __init__(self, cache: FactCache, words: set[str], kind: str) -> None:
        self._cache = cache
        self._words = frozenset(words)
        self._digest = words_digest(words)
        self._kind = kind
        self.found: dict[str, Any] = {}

    def known(self, keys: list[str]) -> dict[str, Any]:
        """The objects the cache answers for: searched for a superset of the words searched
        now, what they hold of these words (a frozenset for a blob, a dict for a tree)."""
        if not self._cache.enabled or not keys:
            return {}
        entries = self._cache.get(self._kind, keys, _is_entry)
        sets = self._cache.get(WORD_SET, {e["words"] for e in entries.values()}, _is_words)
        supersets = {
            digest: (frozenset(listed), Ended(listed)) for digest, listed in sets.items()
            if words_digest(listed) == digest and self._words <= set(listed)
        }  # fmt: skip
        for key, entry in entries.items():
            searched = supersets.get(entry["words"])
            if searched is not None and all(_sought(*searched, w) for w in entry["found"]):
                self.found[key] = self._restricted(entry["found"])
        return self.found

    @functools.cached_property
    def _ended(self) -> Ended:
        """The markers among the words searched now, made where the cache answers."""
        return Ended(self._words)

    def _restricted(self, found: list[str] | dict[str, list[str]]) -> Any:
        if isinstance(found, list):
            return frozenset(word for word in found if _sought(self._words, self._ended, word))
        return {
            word: paths for word, paths in found.items() if _sought(self._words, self._ended, word)
        }

    def keep(self, computed: dict[str, Any]) -> None:
        """Write what was searched now, for the words searched now."""
        if not computed:
            return
        self._cache.put(WORD_SET, {self._digest: sorted(self._words)})
        self._cache.put(
            self._kind,
            {
                key: {"words": self._digest, "found": _plain(found)}
                for key, found in computed.items()
            },
        )


def _sought(words: frozenset[str], ended: Ended, word: str) -> bool:
    """Whether a search for ``words`` finds ``word``: one of them, or an identifier ending
    with the words of one (``ended``: theirs)."""
    return word in words or bool(ended and ended(word))


def _plain(found: frozenset[str] | dict[str, list[str]]) -> list[str] | dict[str, list[str]]:
    return found if isinstance(found, dict) else sorted(found)


def words_digest(words: Iterable[str]) -> str:
    """A word set's content address."""
    return hashlib.sha256(json.dumps(sorted(set(words))).encode()).hexdigest()


def _is_words(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(w, str) for w in value)


def _is_entry(value: object) -> bool:
    if not (isinstance(value, dict) and set(value) == {"words", "found"}):
        return False
    if not isinstance(value["words"], str):
        return False
    found = value["found"]
    if isinstance(found, dict):
        return all(_is_words(paths) for paths in found.values())  # JSON keys are strings
    return _is_words(found)
