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

The fields tell a rename over two versions too: the old entry dropped (or retired) in one, and
the new one, carrying its fields, added in a later one. So do the purpose, or the code as
above, where the new entry was added first and the old one dropped in a later version.

Only flags some version gave a ``remove_by`` are looked at, so a registry without dates costs
nothing more. The commit's diff is asked of git only where the fields did not tell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
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
    versions, ancestors first; ``registry_at``: the registry at a parent commit), in order:
    by a version against its parent, and, by the fields carried over (``_carried``), by a
    version that adds the new flag after an earlier one in its history dropped the old."""
    dated = {flag_key(f.name) for _, r in parsed if r is not None for f in r.flags if f.remove_by}
    found: list[Rename] = []
    gone: list[FlagRecord] = []
    for index, (version, registry) in enumerate(parsed if dated else ()):
        if registry is None:
            continue
        for parent in trees.parents(version.commit):
            path, before = registry_at(parent)
            if before is not None:
                diff = _Diff(history, (parent, version.commit), path)
                pairs = _renamed(diff, (before, registry), dated, gone)
                found += [Rename(old.name, new.name, index, version.commit) for old, new in pairs]
                gone += _gone(before, registry, dated)
    return found


def _renamed(
    diff: _Diff,
    versions: tuple[FlagRegistry, FlagRegistry],
    dated: set[str],
    earlier: list[FlagRecord],
) -> list[tuple[FlagRecord, FlagRecord]]:
    """Each (old, new) a version renamed (``versions``: its parent's registry and its own;
    ``diff``: its changes to the code): a flag of ``dated`` it drops and one it adds, by the
    fields or the code; one it drops and one its parent listed already (added first, the old
    entry dropped next), by the purpose or the code; or one an earlier version dropped
    (``earlier``) and one it adds, by the fields."""
    before, after = versions
    gone = _gone(before, after, dated)
    pairs = [(old, new) for old in gone for new in _added(before, after)]
    found = [(o, n) for o, n in pairs if _carried(o, n) or diff.replaces(o.name, n.name)]
    found += [
        (old, new)
        for old in gone
        for new in _kept(before, after)
        if old.purpose == new.purpose or diff.replaces(old.name, new.name)
    ]
    return found + [pair for pair in _carried_later(earlier, versions) if pair not in pairs]


def _kept(before: FlagRegistry, after: FlagRegistry) -> list[FlagRecord]:
    """Each flag active in both ``before`` and ``after``."""
    active = {flag_key(flag.name) for flag in before.flags if flag.status == "active"}
    return [f for f in after.flags if f.status == "active" and flag_key(f.name) in active]


def _gone(before: FlagRegistry, after: FlagRegistry, dated: set[str]) -> list[FlagRecord]:
    """Each active flag of ``before`` with a key of ``dated``, which ``after`` no longer lists
    or lists retired."""
    listed = {flag_key(flag.name): flag for flag in after.flags}
    return [
        flag
        for flag in before.flags
        if flag.status == "active"
        and flag_key(flag.name) in dated
        and getattr(listed.get(flag_key(flag.name)), "status", "retired") == "retired"
    ]


def _added(before: FlagRegistry, after: FlagRegistry) -> list[FlagRecord]:
    """Each active flag ``after`` adds: one ``before`` does not list."""
    had = {flag_key(flag.name) for flag in before.flags}
    return [f for f in after.flags if f.status == "active" and flag_key(f.name) not in had]


def _carried_later(
    gone: list[FlagRecord], versions: tuple[FlagRegistry, FlagRegistry]
) -> list[tuple[FlagRecord, FlagRecord]]:
    """Each (old, new): a flag ``new`` that a version adds (``versions``: its parent's
    registry and its own) carrying over the entry of a flag ``old`` that an earlier version
    dropped or retired (``gone``), and that its parent does not list active again. A rename
    in two commits (the old entry dropped in one, the new one added in the next) is a rename
    all the same. Which of them the deployed commit's history holds is asked where the dates
    are applied (``deadcode._earlier_dates``): both the version that gave the date and the
    one that added the new flag."""
    before, after = versions
    active = {flag_key(f.name) for f in before.flags if f.status == "active"}
    return [
        (old, new)
        for new in _added(before, after)
        for old in gone
        if flag_key(old.name) not in active and _carried(old, new)
    ]


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
