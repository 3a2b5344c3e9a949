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
- or its stem is ``knightwatch`` and its first suffix is one typing mistake away from
  YAML's, keeping its ``y`` (``knightwatch.ymal``, ``knightwatch.yam``, ``knightwatch.ylm``);
  a doubled dot counts as one (``knightwatch..yaml``). The ``y`` kept leaves alone the formats
  a letter from ``yml`` (``.xml``, ``.iml``, ``.kml``, ``.ml``);
- or its stem is one or two typing mistakes away from ``knightwatch`` (a letter dropped,
  added, changed, or two swapped) and its first suffix is YAML's, or one mistake from it,
  two mistakes in all (``knigthwatch.yml``, ``nightwatch.yaml``, ``nightwatch.ymal``). Only
  YAML: a near stem with another suffix is as likely another tool's (Nightwatch.js reads
  ``nightwatch.json``).

An example of the options (``knightwatch.yaml.example``, ``.sample``, or
``knightwatch.example.yaml``) is not meant as the options file: it is kept to be copied, and
the run reads neither it nor its settings, and says so (``checker.config.option_examples``).
A ``.dist`` file is not an example: PHP's tools (PHPUnit, PHP_CodeSniffer, PHPStan) read
``phpunit.xml.dist`` when ``phpunit.xml`` is absent, so a team may believe its
``knightwatch.yaml.dist`` in force.

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

EXAMPLE_SUFFIXES = frozenset({"example", "examples", "sample", "samples"})
"""Suffixes of a copy kept to show the options: ``knightwatch.yaml.example``."""

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
    if is_example(name):
        return False
    stem, *rest = [part for part in plain_name(name).split(".") if part] or [""]
    suffix = _NOT_ALNUM.sub("", rest[0]) if rest else ""
    named = [word for word in _WORD_BREAK.split(stem) if word and word not in OPTIONS_WORDS]
    if len(named) != 1 and "".join(named) != STEM:  # knight-watch, but not knightwatch-ci
        return False
    word, carries_rc = _without_options_word("".join(named))
    if word == STEM:
        return suffix in OPTIONS_SUFFIXES or near_yaml(suffix) or (carries_rc and not rest)
    return mistakes(word, STEM) + _from_yaml(suffix) <= _MOST_MISTAKES


def _from_yaml(suffix: str) -> int:
    """How many typing mistakes ``suffix`` is from YAML's: none, one, or too many to count."""
    if suffix in YAML_SUFFIXES:
        return 0
    return 1 if near_yaml(suffix) else _MOST_MISTAKES + 1


def near_yaml(suffix: str) -> bool:
    """Whether ``suffix`` is one typing mistake from ``yaml`` or ``yml`` and keeps its ``y``
    (``ymal``, ``yam``, ``ylm``, ``yamll``): not ``xml``, ``iml`` or ``ml``, formats of their
    own a letter from ``yml``."""
    if "y" not in suffix or suffix in YAML_SUFFIXES:
        return False
    return min(mistakes(suffix, wanted) for wanted in YAML_SUFFIXES) == 1


def marked_example(name: str) -> bool:
    """Whether a suffix of ``name`` says it is an example (``config.example.yaml``)."""
    return any(part in EXAMPLE_SUFFIXES for part in plain_name(name).split(".")[1:])


def is_example(name: str) -> bool:
    """Whether ``name`` is an example of the options file, kept to be copied
    (``knightwatch.yaml.example``, ``knightwatch.sample.yml``): without its example suffix, a
    name meant as the options file's."""
    parts = plain_name(name).split(".")
    for index, part in enumerate(parts[1:], start=1):
        if part in EXAMPLE_SUFFIXES:
            return meant_as_options(".".join(parts[:index] + parts[index + 1 :]))
    return False


def options_suffix(name: str) -> bool:
    """Whether ``name`` ends in an options file's suffix (``config.yaml``, ``options.toml``),
    or in YAML's misspelt (``config.ymal``: ``near_yaml``)."""
    suffix = _NOT_ALNUM.sub("", plain_name(name).rpartition(".")[2])
    return suffix in OPTIONS_SUFFIXES or near_yaml(suffix)


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
