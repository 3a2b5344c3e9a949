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
- the code's reads of the old name become reads of the new one, line by line: each hunk of
  the commit that removes lines naming the old flag (under one of its spellings) adds as many
  naming the new flag, and its other lines back as they were (white space, comments and
  blank lines aside), or at least half alike (the code under the read edited with it). An
  honest new flag added the same day is read by new code, not by the old flag's code with
  its reads changed.

The fields tell a rename over two versions too: the old entry dropped (or retired) in one, and
the new one, carrying its fields, added in a later one. So do the purpose, or the code as
above, where the new entry was added first and the old one dropped in a later version. And the
code tells a rename made in other commits than the registry's: reads of the old flag renamed,
as above, after the version that dropped it (``_renamed_in_code``), the new flag listed by
then, or before, the version that drops it adding the new one (``_renamed_before``).

Only flags some version gave a ``remove_by`` are looked at, so a registry without dates costs
nothing more. The commit's diff is asked of git only where the fields did not tell.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from checker.evidence.flagnames import flag_key, spellings, spelt_ere
from checker.evidence.git import GitHistory
from checker.evidence.git_content import FileVersion, TreeIndex
from checker.evidence.models import Flag as FlagRecord
from checker.evidence.models import FlagRegistry
from checker.evidence.objectcheck import git_failed


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
    """The commit that wrote the version, or, for a rename made in the code after the version
    dropped the old flag, the commit that changed the code's reads (``_renamed_in_code``)."""
    partly: tuple[str, ...] = ()
    """The other commits that renamed reads of the old flag into reads of the new one, some of
    them (a rename over several commits), or all before the registry caught up: each took part
    in the rename, and its writers cannot waive what it hid."""


ParentRegistry = Callable[[str], tuple[str | None, FlagRegistry | None]]
"""The registry at a commit: its path and its parsed version (None: none, or unreadable)."""


def renames(
    history: GitHistory,
    trees: TreeIndex,
    parsed: list[tuple[FileVersion, FlagRegistry | None]],
    registry_at: ParentRegistry,
    code: CodeReads | None = None,
) -> list[Rename]:
    """Each rename of a flag some version gave a ``remove_by`` (``parsed``: the registry's
    versions, ancestors first; ``registry_at``: the registry at a parent commit), in order:
    by a version against its parent, and, by the fields carried over (``_carried``), by a
    version that adds the new flag after an earlier one in its history dropped the old; and,
    where ``code`` is given, by a later commit that changed the code's reads of a flag a
    version dropped into reads of a flag added since (``_renamed_in_code``)."""
    dated = {flag_key(f.name) for _, r in parsed if r is not None for f in r.flags if f.remove_by}
    found: list[Rename] = []
    gone: list[FlagRecord] = []
    dropped: list[tuple[int, FlagRecord, FlagRegistry]] = []
    for index, (version, registry) in enumerate(parsed if dated else ()):
        if registry is None:
            continue
        for parent in trees.parents(version.commit):
            path, before = registry_at(parent)
            if before is not None:
                diff = _Diff(history, (parent, version.commit), path)
                pairs = _renamed(diff, (before, registry), dated, gone)
                found += [Rename(old.name, new.name, index, version.commit) for old, new in pairs]
                dropped += _unrenamed(index, (before, registry), dated, pairs)
                gone += _gone(before, registry, dated)
    if code is not None:
        found += [r for d in dropped for r in _renamed_in_code(history, parsed, d, code)]
    return found


def _unrenamed(
    index: int,
    versions: tuple[FlagRegistry, FlagRegistry],
    dated: set[str],
    pairs: list[tuple[FlagRecord, FlagRecord]],
) -> list[tuple[int, FlagRecord, FlagRegistry]]:
    """Each dated flag the version ``index`` drops or retires (``versions``: its parent's
    registry and its own) with no rename among ``pairs``, with the index and the parent's
    registry: its code may be renamed later (``_renamed_in_code``)."""
    before, after = versions
    renamed = {flag_key(old.name) for old, _ in pairs}
    left = [f for f in _gone(before, after, dated) if flag_key(f.name) not in renamed]
    return [(index, flag, before) for flag in left]


@dataclass(frozen=True)
class CodeReads:
    """What ``_renamed_in_code`` needs beyond the registry's versions: the registry at any
    commit, the tips whose history is walked, and the files whose mentions of a flag are no
    read of it (``reference_exclude``)."""

    registry_at: ParentRegistry
    tips: list[str]
    excluded: Callable[[str], bool]


def _renamed_in_code(
    history: GitHistory,
    parsed: list[tuple[FileVersion, FlagRegistry | None]],
    dropped: tuple[int, FlagRecord, FlagRegistry],
    code: CodeReads,
) -> list[Rename]:
    """Each rename of ``dropped`` (the index of the version that dropped or retired a dated
    flag with no rename of its own, the flag, and its parent's registry) made in the code
    after it: a commit descending from that version whose diff changes the code's reads of
    the old flag into reads of a flag the registry lists active there and did not list before
    the drop (``_Diff.replaces``: line by line, nothing else changed; a merge's, against one
    of its parents: reads renamed on two branches are renamed by their merge), after which
    no file (but the registry, and those of ``reference_exclude``) names the old flag. Only the
    commits that changed a file naming the old flag where it was dropped are read (``git log
    -G`` on those files)."""
    index, old, before = dropped
    commit = parsed[index][0].commit
    files = _reading(history, commit, old.name, code)
    if not files:
        return _renamed_before(history, parsed, dropped, code)
    listed = {flag_key(flag.name) for flag in before.flags}
    found: list[Rename] = []
    partly: dict[str, list[str]] = {}
    for sha, *parents in _changing(history, old.name, [*code.tips, f"^{commit}"], files):
        path, registry = code.registry_at(sha)
        if registry is None:
            continue
        diffs = [_Diff(history, (parent, sha), path) for parent in parents]
        new = [
            f for f in registry.flags
            if f.status == "active" and flag_key(f.name) not in listed
            and any(diff.replaces(old.name, f.name) for diff in diffs)
        ]  # fmt: skip
        if new and not _reading(history, sha, old.name, code, path):
            found += [
                Rename(old.name, f.name, index, sha, tuple(partly.get(flag_key(f.name), ())))
                for f in new
            ]
        for flag in new:
            partly.setdefault(flag_key(flag.name), []).append(sha)
    return found


def _renamed_before(
    history: GitHistory,
    parsed: list[tuple[FileVersion, FlagRegistry | None]],
    dropped: tuple[int, FlagRecord, FlagRegistry],
    code: CodeReads,
) -> list[Rename]:
    """The rename of ``dropped`` (as ``_renamed_in_code``), no longer read where the version
    dropped it, made in the code before: a commit since the first version listing it, in the
    history of the one that dropped it, that changed the code's reads of it into reads of a
    flag this version adds (``_Diff.replaces``), the registry catching up after. Only the
    commits that changed lines naming the new flag in the files reading it are read."""
    index, old, before = dropped
    version, registry = parsed[index]
    listed = {flag_key(flag.name) for flag in before.flags}
    added = [
        f for f in (registry.flags if registry is not None else [])
        if f.status == "active" and flag_key(f.name) not in listed
    ]  # fmt: skip
    first = [f"^{v.commit}" for v, r in parsed if r and flag_key(old.name) in _keys(r)][:1]
    for new in added:
        files = _reading(history, version.commit, new.name, code)
        revisions = [version.commit, *first]
        renamers = [
            sha
            for sha, *parents in (_changing(history, new.name, revisions, files) if files else ())
            if any(
                _Diff(history, (p, sha), code.registry_at(sha)[0]).replaces(old.name, new.name)
                for p in parents
            )
        ]
        if renamers:
            return [Rename(old.name, new.name, index, version.commit, tuple(renamers))]
    return []


def _keys(registry: FlagRegistry) -> set[str]:
    """The keys of the flags ``registry`` lists."""
    return {flag_key(flag.name) for flag in registry.flags}


def _changing(
    history: GitHistory, name: str, revisions: list[str], files: list[str]
) -> list[list[str]]:
    """Each commit of ``revisions`` (oldest first) that changed a line naming flag ``name``
    (one of its spellings) in ``files``: its id and its parents' (``git log -G``, limited to
    those files)."""
    pattern = spelt_ere(name)
    args = ["log", "--format=%H %P", "--topo-order", "--reverse", "--full-history", "-m"]
    out = history.git_output([*args, f"-G{pattern}", *revisions, "--", *files])
    return [line.split() for line in dict.fromkeys(out.decode("ascii").splitlines())]


def _reading(
    history: GitHistory, commit: str, name: str, code: CodeReads, registry: str | None = None
) -> list[str]:
    """The files of ``commit`` naming flag ``name`` under one of its spellings, as a whole
    word, but the registry (``registry``, or the one at ``commit``) and the files of
    ``reference_exclude``."""
    registry = registry if registry is not None else code.registry_at(commit)[0]
    names = spellings(name)
    args = ["grep", "-z", "-F", "--no-color", *(a for n in sorted(names) for a in ("-e", n))]
    proc = history.run_git([*args, commit])
    if proc.returncode not in (0, 1):
        raise git_failed("grep", proc.stderr.decode(errors="replace").strip(), history.root)
    files: set[str] = set()
    for line in proc.stdout.split(b"\n"):
        head, _, text = line.partition(b"\0")
        path = head.decode("utf-8", errors="surrogateescape")[len(commit) + 1 :]
        said = text.decode("utf-8", errors="replace")
        read = any(m.group(0) in names for m in _TOKEN.finditer(said))
        if read and path and path != registry and not code.excluded(path):
            files.add(path)
    return sorted(files)


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
_COMMENT = re.compile(r"(?:#|//).*")
"""A comment that ends a line, in the languages most code reading a flag is written in."""
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
        """Whether each hunk removing a line that names ``old`` adds as many lines naming
        ``new`` in their place, and its other lines back as they were; and there is one. A
        line naming the flag may change otherwise too (``flags.get('promo')`` becoming
        ``flags.promo_banner``): the read is what moved. The other lines may change too, where
        what they say stays half alike (``_alike``): the code under the read edited as it was
        renamed. A hunk that removes more (the old flag's code) or adds more (the new flag's),
        less than half alike, is no rename: an honest commit that drops one flag's code and
        adds another's in its place is read so."""
        named = 0
        for _, removed, added in self._read():
            before = [_masked(line, spellings(old)) for line in removed]
            if "\0" not in "".join(before):
                continue
            after = [_masked(line, spellings(new)) for line in added]
            if not _code_kept(before, after) and not _alike(_split(before), _split(after)):
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


SIMILAR = 0.5
"""How alike a hunk's other lines must stay for the reads it renames to be a rename: git's own
threshold for a file renamed with an edit (``-M50%``), of the characters here."""


def _alike(before: tuple[int, list[str]], after: tuple[int, list[str]]) -> bool:
    """Whether a hunk's lines before and after (``_split``) name the flag as many times, and
    its other lines are the same, or at least ``SIMILAR`` alike as characters (``difflib``'s
    ratio: twice the characters the two have in common in order, over both lengths)."""
    if before[0] != after[0]:
        return False
    if before[1] == after[1]:
        return True
    one, other = "\n".join(before[1]), "\n".join(after[1])
    matcher = difflib.SequenceMatcher(None, one, other, autojunk=False)
    return matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR


def _code_kept(before: list[str], after: list[str]) -> bool:
    """Whether a hunk (its lines ``_masked``) adds back each line it removed, but for the
    flag's name: the old flag's code stays as it was under the new read, whatever is added
    beside it. A line added above the renamed read (``log.info("banner")``), or the new flag
    read on a second line, made the hunk's lines less than half alike, and the flag shipped
    past the old one's remove_by (exit 0). A new flag's code put in place of the old one's,
    or a read of the old flag among others rewritten (``if alpha and beta:`` become ``if
    gamma:``), removes lines it does not add back."""
    return not Counter(line for line in before if line) - Counter(after)


def _split(lines: list[str]) -> tuple[int, list[str]]:
    """How many of ``lines`` (``_masked``) name the flag, and the others, sorted, but those
    left empty (blank, or a comment alone)."""
    named = [line for line in lines if "\0" in line]
    return len(named), sorted(line for line in lines if line and "\0" not in line)


def _masked(line: str, names: frozenset[str]) -> str:
    """``line`` with each whole word of ``names`` written ``\\0``, its white space and a
    comment ending it (``#`` or ``//`` to the end) left out: a read renamed with the line
    spaced anew or a comment added to it is renamed all the same."""
    masked = _TOKEN.sub(lambda m: "\0" if m.group(0) in names else m.group(0), line)
    return "".join(_COMMENT.sub("", masked).split())
