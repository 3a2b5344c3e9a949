"""When two spellings in the flag registry name one flag.

Flags are compared by name, and a name is text: ``power_peg`` retired in one version of the
registry and ``POWER_PEG``, ``power-peg``, ``PowerPeg`` or ``power\u200b_peg`` (a zero-width
space inside) written active, with a new purpose, into a later one was a new flag, and the
repurposing passed (Knight Capital's Power Peg, under another spelling). A flag's *key* is
what every such spelling shares; the registry's history is read by key. A name whose letters
come from two alphabets (a Cyrillic ``\u0435`` among Latin letters) looks like another name
without sharing its key, and is refused.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from typing import Any


@functools.lru_cache(maxsize=1 << 14)
def flag_key(name: str) -> str:
    """The form the spellings of one flag share: Unicode NFKC (fullwidth letters are letters),
    case folded, and its letters and digits alone (no ``_``, ``-``, ``.``, space or invisible
    character: they only separate words). A name with no letter or digit is its own key."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return "".join(char for char in text if char.isalnum()) or name


@functools.lru_cache(maxsize=1 << 14)
def spellings(name: str) -> frozenset[str]:
    """The usual ways code spells the flag ``name``, each holding ``name``'s words (``words``)
    in order: ``name`` itself; the words as ``lower_snake``, ``UPPER_SNAKE``, ``kebab-case``,
    ``camelCase`` and ``PascalCase`` (``_cases``), and run together (``powerpeg``,
    ``POWERPEG``, ``Powerpeg``); and, for a name of two words or more, inside the identifiers
    code tests a flag with: one of ``PREFIXES`` before the words and one of ``SUFFIXES``
    after them, or both, in each of those five cases (``isPowerPegEnabled``,
    ``FLAG_POWER_PEG``, ``--enable-power-peg``, ``kPowerPeg``); and gflags'
    ``FLAGS_power_peg``, for a one-word name too (``FLAGS_turbo`` is a gflags flag and
    nothing else). A one-word name is not searched with the other words: ``isAlpha`` or
    ``enableCache`` is ordinary code too often.
    Only ``name`` where a word is not ASCII letters and digits (code spells such a name as the
    registry does, or in ways no rule can list)."""
    parts = words(name)
    if not parts or not all(_ASCII_WORD.fullmatch(part) for part in parts):
        return frozenset({name})
    lower = [part.lower() for part in parts]
    run = "".join(lower)
    found = {name, run, run.upper(), run.capitalize(), *_cases(lower)}
    found.add("FLAGS_" + "_".join(lower))
    if len(lower) > 1:
        for before, after in itertools.product(("", *PREFIXES), ("", *SUFFIXES)):
            found.update(_cases([*filter(None, [before]), *lower, *filter(None, [after])]))
    return frozenset(found)


def spelt_ere(name: str) -> str:
    """A POSIX extended regular expression (``git log -G``) matching any of the flag ``name``'s
    ``spellings`` and nothing else, as a tree of their shared beginnings
    (``DISABLE_FLAG_021(_(ACTIVE|ON))?``): git tries a few hundred spellings written one after
    another at every place of every changed line (four seconds a flag over 600 commits), and
    their tree in a fifth of that."""
    tree: dict[str, Any] = {}
    for text in sorted(spellings(name)):
        node = tree
        for char in text:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branches(tree)


def _branches(node: dict[str, Any]) -> str:
    ways = [_ERE_SPECIAL.sub(r"\\\g<0>", c) + _branches(n) for c, n in sorted(node.items()) if c]
    if not ways:
        return ""
    either = ways[0] if len(ways) == 1 and "" not in node else f"({'|'.join(ways)})"
    return f"{either}?" if "" in node else either


_ERE_SPECIAL = re.compile(r"[.\[\]()*+?{}|^$\\]")
"""The characters a POSIX extended regular expression reads as its own."""


PREFIXES = (
    *("is", "has", "use", "should", "enable", "disable", "flag", "feature", "ff", "k"),
    *("no", "get", "set"),
)
"""The words code puts before a flag's name in an identifier that tests or sets it:
``isPowerPegEnabled``, ``usePowerPeg`` (a React hook), ``ENABLE_POWER_PEG``, ``FF_POWER_PEG``,
``kPowerPeg`` (Chromium's features), ``--no-power-peg`` (the negative switch argparse's
``BooleanOptionalAction`` and most option parsers add), ``getPowerPeg()``,
``setPowerPeg(true)``."""
SUFFIXES = ("enabled", "disabled", "on", "active", "flag", "feature")
"""The words code puts after a flag's name in such an identifier: ``POWER_PEG_ENABLED``,
``powerPegOn``, ``PowerPegFeature``."""
AFFIXES = frozenset(PREFIXES + SUFFIXES)
"""The words ``spellings`` adds to a flag's own."""


def ending_words(identifier: str) -> list[str]:
    """The words of ``identifier`` (ASCII) in lower case: split as a flag name's are, and a
    number also cut from the letters before it, as camel case writes it against them
    (``Checkout2024`` is ``checkout``, ``2024``, as ``flag_words`` cuts ``checkout_2024``). Not
    a number from the letters after it: ``2fa`` is one word."""
    return [
        piece.lower()
        for run in _ASCII_WORD.findall(identifier)
        for word in _CAMEL_BREAK.split(run)
        for piece in _split_number(word)
        if piece
    ]


def flag_words(name: str) -> list[str]:
    """The words of the flag ``name`` (``words``) as ``endings.Ended`` compares them: in lower
    case, a number cut from the letters before it (``v2`` is ``v``, ``2``; ``2fa`` stays one)."""
    return [piece.lower() for word in words(name) for piece in _split_number(word) if piece]


def _split_number(word: str) -> list[str]:
    return _NUMBER_AFTER_LETTER.split(word)


def _cases(lower: list[str]) -> set[str]:
    """``lower`` (words in lower case) as ``lower_snake``, ``UPPER_SNAKE``, ``kebab-case``,
    ``camelCase`` and ``PascalCase``."""
    camel = lower[0] + "".join(part.capitalize() for part in lower[1:])
    snake = "_".join(lower)
    return {snake, snake.upper(), "-".join(lower), camel, camel[0].upper() + camel[1:]}


def words(name: str) -> list[str]:
    """The words of a flag's name (Unicode NFKC first): the runs of letters and digits
    between any other characters, each split where a lower-case letter or a digit meets an
    upper-case one (``powerPeg``) and before the last capital of a run of them followed by a
    lower-case letter (``HTTPServer``); never between a letter and a digit (``v2``, ``2fa``)."""
    text = unicodedata.normalize("NFKC", name)
    runs = "".join(char if char.isalnum() else " " for char in text).split()
    return [word for run in runs for word in _CAMEL_BREAK.split(run) if word]


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NUMBER_AFTER_LETTER = re.compile(r"(?<=[A-Za-z])(?=[0-9])")


def shown(name: str) -> str:
    """``name`` as a message shows it: each character that is invisible or draws nothing of its
    own (Unicode categories Cf, Mn, Me and the separators but a space) as ``\\uXXXX``."""
    return "".join(f"\\u{ord(char):04x}" if _invisible(char) else char for char in name)


def _invisible(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cf", "Mn", "Me", "Zl", "Zp") or (category == "Zs" and char != " ")


_HAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC"})
"""Scripts written together with any one other (Japanese mixes kanji, kana and Latin), as
Unicode's "highly restrictive" identifiers allow (UTS #39, section 5.2)."""


def second_script(name: str) -> str | None:
    """Why ``name`` is no flag name, where its letters (after NFKC) come from two scripts
    other than those of ``_HAN`` (a script is the first word of a letter's Unicode name:
    ``LATIN``, ``CYRILLIC``, ``GREEK``); None where they come from one."""
    first: dict[str, str] = {}
    for char in unicodedata.normalize("NFKC", name):
        script = unicodedata.name(char, "").partition(" ")[0] if char.isalpha() else ""
        if not script or script in _HAN:
            continue
        first.setdefault(script, char)
        if len(first) > 1:
            (one, seen), (other, odd) = first.items()
            return (
                f"flag name {name!r} mixes {one.title()} letters ({seen!r}) with "
                f"{other.title()} ones ({odd!r}, {unicodedata.name(odd)}): it reads as "
                "another name; write a flag's name in one alphabet"
            )
    return None
