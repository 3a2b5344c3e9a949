"""Flags renamed in the registry: a version that drops an active flag, or retires it, and adds
another in its place carries the old flag's ``remove_by`` over to the new name.

A flag past its ``remove_by`` is DEAD-003. Renamed with its code in one commit (``promo``
dropped, ``promo_banner`` added with a later date or none, and every ``promo`` the code read
now ``promo_banner``), it shipped under its new name with no finding: the old name was no
longer listed nor read, and the new one had no date of its own yet. A rename is told two
ways, each of which only adds:

- the new entry carries the old one's fields over: the same ``purpose``, or the same
  ``created`` day and ``owner`` (an honest new flag is created the day it is added, and says
  what it is for);
- the code's reads of the old name become reads of the new one, line by line: every line the
  commit removes that names the old flag (under one of its spellings) comes back as a line it
  adds that is the same but for naming the new flag there. An honest new flag added the same
  day is read by new lines, not by the old flag's lines with its name changed.

Only flags some version gave a ``remove_by`` are looked at, so a registry without dates costs
nothing more. The commit's diff is asked of git only where the fields did not tell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from checker.evidence.flagnames import flag_key, spellings
from checker.evidence.git import GitHistory
from checker.evidence.git_content import FileVersion, TreeIndex
from checker.evidence.models import Flag as FlagRecord
from checker.evidence.models import FlagRegistry


@dataclass(frozen=True)
class Rename:
    """A flag a version of the registry renamed."""

    old: str
    """The old flag's name, as the parent's registry wrote it."""
    new: str
    """The new flag's name, as this version writes it."""
    index: int
    """The version's index among the parsed versions (ancestors first)."""
    commit: str
    """The commit that wrote the version."""


ParentRegistry = Callable[[str], tuple[str | None, FlagRegistry | None]]
"""The registry at a commit: its path and its parsed version (None: none, or unreadable)."""


def renames(
    history: GitHistory,
    trees: TreeIndex,
    parsed: list[tuple[FileVersion, FlagRegistry | None]],
    registry_at: ParentRegistry,
) -> list[Rename]:
    """Each rename of a flag some version gave a ``remove_by`` (``parsed``: the registry's
    versions, ancestors first; ``registry_at``: the registry at a parent commit), in order."""
    dated = {flag_key(f.name) for _, r in parsed if r is not None for f in r.flags if f.remove_by}
    found: list[Rename] = []
    for index, (version, registry) in enumerate(parsed if dated else ()):
        if registry is None:
            continue
        for parent in trees.parents(version.commit):
            path, before = registry_at(parent)
            if before is not None:
                pairs = _pairs(before, registry, dated)
                diff = _Diff(history, (parent, version.commit), path)
                found += [
                    Rename(old.name, new.name, index, version.commit)
                    for old, new in pairs
                    if _carried(old, new) or diff.replaces(old.name, new.name)
                ]
    return found


def _pairs(
    before: FlagRegistry, after: FlagRegistry, dated: set[str]
) -> Iterator[tuple[FlagRecord, FlagRecord]]:
    """Each (old, new): an active flag of ``before`` with a key of ``dated``, which ``after``
    no longer lists or lists retired, and an active flag ``after`` adds."""
    listed = {flag_key(flag.name): flag for flag in after.flags}
    had = {flag_key(flag.name) for flag in before.flags}
    gone = [
        flag
        for flag in before.flags
        if flag.status == "active"
        and flag_key(flag.name) in dated
        and getattr(listed.get(flag_key(flag.name)), "status", "retired") == "retired"
    ]
    added = [f for f in after.flags if f.status == "active" and flag_key(f.name) not in had]
    return ((old, new) for old in gone for new in added)


def _carried(old: FlagRecord, new: FlagRecord) -> bool:
    """Whether ``new`` carries ``old``'s entry over: its purpose, or its creation and owner."""
    return old.purpose == new.purpose or (old.created, old.owner) == (new.created, new.owner)


_TOKEN = re.compile(r"\w+(?:-\w+)*")


Hunk = tuple[str, tuple[str, ...], tuple[str, ...]]
"""One hunk of a ``git diff -U0``: its ``@@`` line, the lines it removes and those it adds."""


class _Diff:
    """A commit's changes to the code (all but the registry) against one parent, read once."""

    def __init__(self, history: GitHistory, commits: tuple[str, str], registry: str | None):
        self._history = history
        self._commits = commits
        self._registry = registry
        self._hunks: list[Hunk] | None = None

    def replaces(self, old: str, new: str) -> bool:
        """Whether each hunk removing a line that names ``old`` adds the same lines back, but
        for naming ``new`` where they named ``old``; and there is one. A hunk that removes
        more (the old flag's code) or adds more (the new flag's) is no rename: an honest
        commit that drops one flag's code and adds another's in its place is read so."""
        named = 0
        for _, removed, added in self._read():
            before = [_masked(line, spellings(old)) for line in removed]
            if before == list(removed):
                continue
            after = [_masked(line, spellings(new)) for line in added]
            if sorted(before) != sorted(after):
                return False
            named += 1
        return named > 0

    def _read(self) -> list[Hunk]:
        """The hunks outside the registry: all of them, less the registry's own (paths are
        read literally, ``HISTORY_ENV``, so no pathspec magic can leave it out; its
        ``- name: promo`` and ``+ name: promo_banner`` are no code)."""
        if self._hunks is None:
            hunks = self._changed()
            if self._registry is not None:
                hunks = _less(hunks, self._changed(self._registry))
            self._hunks = hunks
        return self._hunks

    def _changed(self, *paths: str) -> list[Hunk]:
        parent, commit = self._commits
        args = ["diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", "--text"]
        text = self._history.git_output([*args, parent, commit, "--", *paths])
        return _hunks(text.decode("utf-8", errors="replace"))


def _less(hunks: list[Hunk], taken: list[Hunk]) -> list[Hunk]:
    """``hunks`` without one of each of ``taken``."""
    left = Counter(taken)
    out = []
    for hunk in hunks:
        if left[hunk] > 0:
            left[hunk] -= 1
        else:
            out.append(hunk)
    return out


def _hunks(diff: str) -> list[Hunk]:
    """The hunks of a ``git diff -U0``, its files' headers left out."""
    hunks: list[Hunk] = []
    head: str | None = None
    removed: list[str] = []
    added: list[str] = []
    for line in [*diff.splitlines(), "diff --git "]:
        if line.startswith(("diff --git ", "@@")) and head is not None:
            hunks.append((head, tuple(removed), tuple(added)))
            head, removed, added = None, [], []
        if line.startswith("@@"):
            head = line
        elif head is not None and line[:1] in "-+" and line:
            (removed if line[0] == "-" else added).append(line[1:])
    return hunks


def _masked(line: str, names: frozenset[str]) -> str:
    """``line`` with each whole word of ``names`` written ``\\0``."""
    return _TOKEN.sub(lambda m: "\0" if m.group(0) in names else m.group(0), line)
