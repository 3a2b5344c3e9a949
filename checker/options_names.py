"""Names a team plausibly meant as knightwatch's options file, ``knightwatch.yaml``.

Only the repository root's ``knightwatch.yaml`` is read. A file a team wrote under another
name (``knightwatch.yml``, ``.knightwatch.yaml``, ``knightwatch-config.yaml``, a misspelt
``knightwach.yaml``) would be passed over, and every setting in it with it: its
``require_all``, its policies, its review bots. The check would then pass on the defaults
where the team asked it to fail. Such a name is refused instead (``checker.config``).

A name is meant as the options file when, letter case, leading dots and an editor's ``#``
and ``~`` aside:

- its stem is ``knightwatch`` (alone, spelt ``knight-watch``, or with a word options files
  carry: ``-config``, ``_settings``, ``rc``) and its first suffix is an options file's
  (``.yaml``, ``.yml``, ``.json``, ``.toml``, ``.ini``, ``.cfg``, ``.conf``, ``.config``):
  ``knightwatch.json``, ``knightwatch.yaml.txt``, ``knightwatch.config.yaml``; or it is
  ``.knightwatchrc``;
- or its stem is one or two typing mistakes away from ``knightwatch`` (a letter dropped,
  added, changed, or two swapped) and its first suffix is YAML's (``knigthwatch.yml``,
  ``nightwatch.yaml``). Only YAML: a near stem with another suffix is as likely another
  tool's (Nightwatch.js reads ``nightwatch.json``).

Other names are left alone: a ``knightwatch/`` package, ``knightwatch.md`` documentation,
the reports a CI job writes (``knightwatch.sarif``, ``knightwatch.xml``), and a name whose
first suffix is a word of its own (``knightwatch.schema.json``, the options' JSON Schema
saved for an editor; ``knightwatch.audit.yaml``, an auditor's ``--config``).
"""

from __future__ import annotations

import re

from checker.evidence.registry_names import CONFIG_NAME

STEM = "knightwatch"

OPTIONS_SUFFIXES = frozenset(
    {"yaml", "yml", "json", "jsonc", "json5", "toml", "ini", "cfg", "conf", "config"}
)
"""The suffixes of options files: first after ``knightwatch``, they make it the options file's."""

YAML_SUFFIXES = frozenset({"yaml", "yml"})

OPTIONS_WORDS = ("configuration", "settings", "options", "config", "conf", "opts", "cfg", "rc")
"""Words an options file's name carries beside the tool's (``knightwatch-config.yaml``)."""

_WORD_BREAK = re.compile(r"[-_\s]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_MOST_MISTAKES = 2


def plain_name(name: str) -> str:
    """``name`` case-folded, without the leading dots of a hidden file and the ``#`` and ``~``
    an editor puts around its backups (``#knightwatch.yaml#``, ``knightwatch.yaml~``)."""
    return name.casefold().strip().lstrip(".#").rstrip("#~")


def meant_as_options(name: str) -> bool:
    """Whether a file named ``name`` was plausibly meant as the options file (the module's
    rule); ``knightwatch.yaml`` itself is too."""
    stem, *rest = plain_name(name).split(".")
    suffix = _NOT_ALNUM.sub("", rest[0]) if rest else ""
    named = [word for word in _WORD_BREAK.split(stem) if word and word not in OPTIONS_WORDS]
    if len(named) != 1 and "".join(named) != STEM:  # knight-watch, but not knightwatch-ci
        return False
    word, carries_rc = _without_options_word("".join(named))
    if word == STEM:
        return suffix in OPTIONS_SUFFIXES or (carries_rc and not rest)
    return suffix in YAML_SUFFIXES and mistakes(word, STEM) <= _MOST_MISTAKES


def options_suffix(name: str) -> bool:
    """Whether ``name`` ends in an options file's suffix (``config.yaml``, ``options.toml``)."""
    return _NOT_ALNUM.sub("", plain_name(name).rpartition(".")[2]) in OPTIONS_SUFFIXES


def _without_options_word(word: str) -> tuple[str, bool]:
    """``word`` without an options word it ends with (``knightwatchrc``, ``knightwatchconfig``)
    where what is left is the tool's name; and whether the word was ``rc``."""
    for extra in OPTIONS_WORDS:
        if word.endswith(extra) and word[: -len(extra)] == STEM:
            return STEM, extra == "rc"
    return word, False


def is_backup(name: str) -> bool:
    """Whether ``name`` is an editor's copy of ``knightwatch.yaml`` (``knightwatch.yaml.bak``,
    ``.knightwatch.yaml.swp``, ``knightwatch.yaml~``, ``#knightwatch.yaml#``): harmless beside
    the file itself, though not in its stead."""
    bare = name.lstrip(".#")
    return bare.startswith(CONFIG_NAME) and bare[len(CONFIG_NAME) : len(CONFIG_NAME) + 1] in (
        ".",
        "~",
        "#",
    )


def mistakes(word: str, other: str) -> int:
    """How many typing mistakes turn ``word`` into ``other``: a letter dropped, added or
    changed, or two neighbours swapped, each one (the optimal string alignment distance)."""
    before: list[int] = []
    row = list(range(len(other) + 1))
    for i, letter in enumerate(word, start=1):
        current = [i]
        for j, wanted in enumerate(other, start=1):
            cost = 0 if letter == wanted else 1
            best = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            swapped = i > 1 and j > 1 and letter == other[j - 2] and word[i - 2] == wanted
            if swapped:
                best = min(best, before[j - 2] + 1)
            current.append(best)
        before, row = row, current
    return row[-1]
