"""Who wrote the code a DEAD-001, DEAD-004 or DEAD-005 finding is about: a waiver of such a
finding is not theirs to approve (``waivers.own_exception``).

Only the findings a waiver of the evidence could cover are asked about, so a run without
such waivers walks nothing more. For those, one ``git log`` over the deployed commits walks
the history of every file the findings are about, however many (``GitHistory.changes_below``:
past ``PATHSPECS_AT_MOST`` files, of every path, the files picked out here), and one walk of
the loaded history keeps the commits each deployed commit holds (``GitHistory.reaching``;
at a gate, whose history is not all loaded, one ``git rev-list`` a finding and tip).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence

from checker.evidence import git_content
from checker.evidence.flagnames import spellings, spelt_ere, words
from checker.evidence.git import GitHistory
from checker.evidence.git_content import check_copy_sources, check_diffs
from checker.evidence.identities import IdentityResolver
from checker.evidence.likeness import Likeness, hold_mark, like_mark
from checker.evidence.models import Waiver
from checker.evidence.objectcheck import read_verified
from checker.facts import review
from checker.facts.deadcode import DeadCodeFacts, pathspec
from checker.facts.document import InputDocument
from checker.facts.misspelt import literal_folder
from checker.report.model import Finding
from checker.waivers import covers

REFERENCE_RULES = ("DEAD-001", "DEAD-005")
"""The rules whose findings name a flag the deployed code references, and its files."""
RETIRED_CODE_RULE = "DEAD-004"
"""The rule whose findings name retired code the deployed commit holds, and its files."""

Target = tuple[str, str]
"""A finding a waiver could cover, by (rule, subject)."""
Held = tuple[tuple[str, ...], tuple[str, ...]]
"""What a finding is about: its files (and folders), as paths; and the ``retired_code`` globs
whose every file, wherever it lies in the history, counts."""


def code_writers(
    history: GitHistory,
    waivers: Iterable[Waiver],
    document: InputDocument,
    identities: IdentityResolver,
    code: tuple[DeadCodeFacts, tuple[str, str] | None],
) -> dict[Target, frozenset[str]]:
    """By (rule, subject) of each DEAD-001, DEAD-004 and DEAD-005 finding one of ``waivers``
    could cover, whoever authored, co-authored or committed a commit of the deployed commit's
    history that changed a file the finding is about (every file holding the reference, or
    the retired code, at the deployed commit, not only those its record lists: ``code``'s
    ``CodeAtCommit.every_file``): they wrote it there, or kept it as they changed the file.
    At a merge gate (``code``'s second part: the candidate, and the protected branch's tip it
    would merge onto), the history is the merge's, the branch's too: a file the merge takes
    from the branch's side was written there. Read as ``review.commit_writers`` reads a
    person (``.mailmap`` and identities.yaml). For a flag's findings, whoever added or
    removed a line naming the flag in any file of that history too (``_naming``), but the
    registry and the files of ``reference_exclude``."""
    facts, merging = code
    skip = _skipped(document, facts.reference_exclude)
    wanted = dict(_targets(list(waivers), document, facts))
    if not wanted:
        return {}
    onto = {merging[0]: merging[1]} if merging is not None else {}
    tips = {t: (sha, *([onto[sha]] if sha in onto else [])) for t, (sha, _) in wanted.items()}
    touched = _touched(history, sorted({tip for both in tips.values() for tip in both}), wanted)
    for target, shas in _naming(history, tips, _flags(wanted, document), skip).items():
        touched[target] |= shas
    found = _in_history(history, tips, touched)
    writers = review.commit_writers(
        history, identities, set().union(*found.values()), committers=True
    )
    return {
        target: frozenset().union(*(writers[sha] for sha in shas))
        for target, shas in found.items()
        if shas
    }


PATHSPECS_AT_MOST = 256
"""Past this many paths, git walks the changes of every path and those below the paths are
picked out here: git matches each pathspec against each path a commit changes, so a
finding of thousands of files would cost thousands of walks; a set costs a look-up a folder."""


def _changes(
    history: GitHistory, tips: list[str], paths: list[str], added: bool = False
) -> Iterator[tuple[str, str]]:
    """Each (commit, path) of a change in the history of ``tips`` to one of ``paths`` or
    below it (``GitHistory.changes_below``), in one walk however many paths there are; a
    merge's where it holds the path unlike every parent (it joined both sides' changes, or its
    resolution wrote it; with ``added``, which looks for the commits that renamed a file
    there, where no parent held the path: a rename made resolving the merge)."""
    merges = True
    every = {_fold(path) for path in paths}
    if len(paths) <= PATHSPECS_AT_MOST or "" in every:  # "": every path
        for commit, _, path in history.changes_below(tips, [], paths, added, merges):
            yield commit, path
        return
    for commit, _, path in history.changes_below(tips, [], "", added, merges):
        if any(folder in every for folder in _folders(path)):
            yield commit, path


def _fold(path: str) -> str:
    """A path as git's ``:(icase)`` pathspec of it compares it: case folded, no ``/`` after."""
    return path.casefold().rstrip("/")


def _folders(path: str) -> Iterator[str]:
    """``path`` case folded, and each folder it lies in (``a/b/c.py``: ``a``, ``a/b``, ...)."""
    parts = path.casefold().split("/")
    for n in range(1, len(parts) + 1):
        yield "/".join(parts[:n])


def _touched(
    history: GitHistory, tips: list[str], wanted: dict[Target, tuple[str, Held]]
) -> dict[Target, set[str]]:
    """By target, the commits of the history of ``tips`` that changed one of its files (under
    any path it had before a rename: ``_renamed_from``) or a file one of its globs covers, in
    one walk for every target: each path changed is looked up once (``_Holding``)."""
    helds = sorted({held for _, held in wanted.values()})  # targets naming the same files share
    paths = sorted({path for files, _ in helds for path in files})
    older = _renamed_from(history, tips, paths)
    holding = _Holding(helds, older)
    below = sorted({literal_folder(glob) for _, globs in helds for glob in globs})
    changed: list[set[str]] = [set() for _ in helds]
    for commit, path in _changes(history, tips, [*paths, *sorted(older), *below]):
        for number in holding.of(path):
            changed[number].add(commit)
    by_held = dict(zip(helds, changed, strict=True))
    return {target: by_held[held] for target, (_, held) in wanted.items()}


class _Holding:
    """Which of the helds a changed path belongs to: by the folders it lies in (a held file or
    folder, or a path one had before a rename), or by a ``retired_code`` glob covering it."""

    def __init__(self, helds: list[Held], older: dict[str, set[str]]) -> None:
        self._folders: dict[str, set[int]] = defaultdict(set)  # by path folded
        self._globs: list[tuple[str, int]] = []
        for number, (files, globs) in enumerate(helds):
            for path in files:
                self._folders[_fold(path)].add(number)
            self._globs += [(glob.strip("/"), number) for glob in globs]
        given = {folded: set(numbers) for folded, numbers in self._folders.items()}
        for old, roots in sorted(older.items()):
            self._folders[_fold(old)] |= set().union(*(given[_fold(root)] for root in roots))
        self._seen: dict[str, set[int]] = {}

    def of(self, path: str) -> set[int]:
        """The helds ``path`` is a file of, or lies below one of."""
        if path not in self._seen:
            found = set().union(*(self._folders.get(folder, ()) for folder in _folders(path)))
            self._seen[path] = found | {
                n for glob, n in self._globs if git_content.covers(glob, path)
            }
        return self._seen[path]


def _in_history(
    history: GitHistory, tips: dict[Target, tuple[str, ...]], touched: dict[Target, set[str]]
) -> dict[Target, set[str]]:
    """By target, those of its ``touched`` commits one of its ``tips`` (its deployed commit,
    and at a merge gate the branch's tip) is or descends from: in one walk of the loaded
    history (``GitHistory.reaching``), or, where it was not all loaded (a gate's), asked of
    git, one ``rev-list`` a tip."""
    every = {tip for both in tips.values() for tip in both}
    reached = history.reaching(every, set().union(*touched.values()))
    if reached is not None:
        return {
            target: set().union(*(reached[tip] for tip in tips[target])) & shas
            for target, shas in touched.items()
        }
    return {
        target: set().union(*(history.in_history_of(shas, tip) for tip in tips[target]))
        if shas
        else set()
        for target, shas in touched.items()
    }


def _skipped(document: InputDocument, exclude: Sequence[str]) -> Callable[[str], bool]:
    """Whether a path is no read of a flag: a registry's, or one ``reference_exclude`` covers."""
    registries = {r["path"] for r in document["registries"].values() if r["path"] is not None}
    excluded = [pathspec(glob) for glob in exclude]
    return lambda path: path in registries or any(x(path) for x in excluded)


def _flags(wanted: dict[Target, tuple[str, Held]], document: InputDocument) -> dict[Target, str]:
    """By target of ``REFERENCE_RULES``, the flag it names (its subject ``DEPLOYMENT:FLAG``)."""
    ids = sorted({d["id"] for d in document["deployments"]}, key=len, reverse=True)
    found: dict[Target, str] = {}
    for rule, subject in wanted:
        parted = next((i for i in ids if subject.startswith(f"{i}:")), None)
        if rule in REFERENCE_RULES and parted is not None:
            found[(rule, subject)] = subject[len(parted) + 1 :]
    return found


def _naming(
    history: GitHistory,
    tips: dict[Target, tuple[str, ...]],
    flags: dict[Target, str],
    skip: Callable[[str], bool],
) -> dict[Target, set[str]]:
    """By target, the commits of its tips' history that added or removed a line naming its
    flag (one of its spellings, a whole word) in any file but those of ``skip`` (``git log
    -G``; a merge's resolution is read where it wrote a file of the finding, ``_changes``,
    and a merge bringing a side's change as it is bars that side's writers). A reference
    written in ``old.py``, the file deleted and the code written back at ``new.py`` a day
    later, is no rename nor copy git sees: its writer approved the waiver of it.

    Git's regular expressions try a few hundred spellings at every line of every diff slowly
    (six seconds a flag over 600 commits), so one walk of every target's tips first keeps the
    commits with a line any flag's words match in any case and spacing (``_loose``: every
    spelling holds such a match, checked here, so no commit the spellings would find is
    left out), and the spellings are asked of those commits alone (``--no-walk``), a flag at
    a time: the same commits and files as a walk of the flag's targets' tips with its
    spellings, and those of other targets' tips, which ``_in_history`` then leaves out."""
    found: dict[Target, set[str]] = defaultdict(set)
    loose = {name: _loose(name) for name in sorted(set(flags.values()))}
    candidates = _candidates(history, tips, [p for p in loose.values() if p is not None])
    for name, cheap in loose.items():
        targets = [t for t, flag in flags.items() if flag == name]
        pattern = f"-G(^|[^A-Za-z0-9_])({spelt_ere(name)})([^A-Za-z0-9_]|$)"
        if cheap is None:
            mine = sorted({tip for t in targets for tip in tips[t]})
            out = history.git_output([*_PICKAXE, pattern, *mine, "--"])
        elif candidates:
            listed = "".join(f"{sha}\n" for sha in candidates).encode()
            out = history.git_output(
                [*_PICKAXE, "--no-walk=unsorted", "--stdin", pattern], stdin=listed
            )
        else:
            out = b""
        shas = {sha for sha, path in _pickaxed(out) if not skip(path)}
        for target in targets:
            found[target] |= shas
    return found


_PICKAXE = ("log", "--format=%x00%H", "--full-history", "--no-renames", "--name-only", "-z")
"""A ``git log -G`` listing each commit found and its files (``_pickaxed`` reads it)."""


def _candidates(
    history: GitHistory, tips: dict[Target, tuple[str, ...]], patterns: list[str]
) -> list[str]:
    """The commits of every target's tips' history with a line that one of ``patterns``
    (``_loose``) matches: one walk for every flag."""
    if not patterns:
        return []
    heads = sorted({tip for of_target in tips.values() for tip in of_target})
    out = history.git_output([*_PICKAXE, f"-G{'|'.join(patterns)}", *heads, "--"])
    return sorted({sha for sha, _ in _pickaxed(out)})


def _loose(name: str) -> str | None:
    """A POSIX extended regular expression that every spelling of the flag ``name`` holds a
    match of: its words in order, each letter in either case, anything but a letter or digit
    between them (``power_peg``, ``POWER-PEG``, ``powerPeg``, ``FLAGS_power_peg``); it is
    cheap for git where the spellings' alternation is not. None where a spelling holds no
    match (a word that is not ASCII letters and digits): such a flag is searched as before."""
    parts = words(name)
    if not parts or not all(_LETTERS.fullmatch(part) for part in parts):
        return None
    either = ["".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in p) for p in parts]
    pattern = "[^A-Za-z0-9]*".join(either)
    if not all(re.search(pattern, spelling) for spelling in spellings(name)):
        return None
    return pattern


def _pickaxed(out: bytes) -> Iterator[tuple[str, str]]:
    """Each (commit, path) of a ``git log --format=%x00%H --name-only -z``: a header is an
    empty field, then the commit; its first path follows a newline."""
    tokens = iter(out.split(b"\0"))
    sha = ""
    for token in tokens:
        if not token:
            sha = next(tokens, b"").decode("ascii")
            first = next(tokens, b"")
            if first:
                yield sha, os.fsdecode(first.removeprefix(b"\n"))
        else:
            yield sha, os.fsdecode(token)


_LETTERS = re.compile(r"[A-Za-z0-9]+")


def _renamed_from(history: GitHistory, tips: list[str], paths: list[str]) -> dict[str, set[str]]:
    """Each path a file of ``paths`` had before a rename git sees (``diff-tree -M``) in the
    history of ``tips``, back through a chain of renames, with the paths of ``paths`` it became
    (one, or a file and the folder it lies in): a reference written in ``old.py`` is its
    writer's, though another renamed it ``app.py``. Only the commits that added a file at one
    of the paths are asked about, a walk a rename back; every rename of the chain is followed,
    however long (each walk asks about paths not asked about before, so the walks end): a
    chain cut short let the writer of the reference behind its seventeenth rename waive it.
    A rename git's similarity misses (a file grown past twice its size as it moved), and one
    made resolving a merge, is read by the files' lines too (``_alike_renames``)."""
    older: dict[str, set[str]] = {}
    given = set(paths)
    frontier = {path: {path} for path in paths}
    while frontier:
        adding = sorted({commit for commit, _ in _changes(history, tips, sorted(frontier), True)})
        folded: dict[str, set[str]] = defaultdict(set)
        for path, roots in frontier.items():
            folded[_fold(path)] |= roots
        found: dict[str, set[str]] = defaultdict(set)
        diffs = _raw_diffs(history, adding)
        for old, new in (*_renames(history, adding), *_alike_renames(history, diffs, folded)):
            roots = set().union(*(folded.get(folder, ()) for folder in _folders(new)))
            if roots and old not in older and old not in given:
                found[old] |= roots
        older.update(found)
        frontier = found
    return older


def _renames(history: GitHistory, commits: list[str]) -> Iterator[tuple[str, str]]:
    """Each (old path, new path) a rename or a copy of one of ``commits`` shows: a copy of any
    file of the parent (``--find-copies-harder``, with no limit on the files compared,
    ``-l0``), as a file copied to another path, the original kept or deleted later, is the
    code its writer wrote as much as a file renamed is. A merge's against each parent
    (``-m``): a file of four lines renamed with one of them edited, resolving a merge, is
    too short to be read by its lines (``_alike_renames``), and its writers went unread."""
    if not commits:
        return
    check_diffs(history, commits, with_blobs=True)  # -C reads the blobs that differ too
    check_copy_sources(history, commits)  # and every file of the parent, with copies harder
    args = ["diff-tree", "--stdin", "-m", "-r", "-C", "--find-copies-harder", "-l0", "-z"]
    args += ["--name-status", "--no-ext-diff"]
    fields = history.git_output(args, stdin="".join(f"{c}\n" for c in commits).encode())
    tokens = iter(fields.decode("utf-8", errors="surrogateescape").split("\0"))
    for token in tokens:
        if token[:1] in ("R", "C") and not _is_sha(token):
            old, new = next(tokens, ""), next(tokens, "")
            if old and new:
                yield old, new
        elif token[:1].isalpha() and not _is_sha(token):
            next(tokens, "")  # the path of an addition, change or deletion


Diff = tuple[str, str, str]
"""A file a commit changed against one of its parents: its status letter, blob and path (the
blob it held before for a deletion, the blob it holds after for an addition)."""


def _raw_diffs(history: GitHistory, commits: list[str]) -> dict[str, list[list[Diff]]]:
    """By commit, what it changed against each of its parents (one list a parent: a merge has
    several), the files it added and deleted alone, in one ``diff-tree -m`` for all."""
    if not commits:
        return {}
    check_diffs(history, commits)  # git believes the trees it reads: hashed first
    args = ["diff-tree", "--stdin", "-m", "-r", "--raw", "--no-renames", "--no-abbrev", "-z"]
    args += ["--no-ext-diff", "--diff-filter=AD"]
    out = history.git_output(args, stdin="".join(f"{c}\n" for c in commits).encode())
    tokens = iter(out.decode("utf-8", errors="surrogateescape").split("\0"))
    diffs: dict[str, list[list[Diff]]] = defaultdict(list)
    current: list[Diff] = []
    for token in tokens:
        if token.startswith(":"):
            _, mode, before, after, status = token.split()
            path = next(tokens, "")
            if mode != "160000" and token[1:7] != "160000":  # a submodule's commit: no file
                current.append((status[:1], before if status[:1] == "D" else after, path))
        elif _is_sha(token.strip()):
            current = []
            diffs[token.strip()].append(current)
    return diffs


def _alike_renames(
    history: GitHistory, diffs: dict[str, list[list[Diff]]], folded: dict[str, set[str]]
) -> Iterator[tuple[str, str]]:
    """Each (old path, new path) where a commit added a file at one of the paths sought
    (``folded``, case folded, or below one) and deleted another it is alike to, or that holds
    half its lines (``likeness``, as DEAD-004 reads a copy of retired code), or that has its
    bytes: against any parent, so a merge's too (a rename made resolving it, which
    ``diff-tree`` shows of no merge without ``-m``). git's rename detection calls a pair a
    rename where half their bytes are alike, of the larger file: a file renamed and grown past
    twice its size was an added and a deleted file to it. Only the files such a commit
    deleted are read, with the ones it added there."""
    for against in (diffs[commit] for commit in sorted(diffs)):
        changed = {(status, path, blob) for diff in against for status, blob, path in diff}
        added = {
            (p, b) for s, p, b in changed if s == "A" and any(map(folded.__contains__, _folders(p)))
        }
        deleted = {(path, blob) for status, path, blob in changed if status == "D"}
        if added and deleted:
            yield from _alike_pairs(history, added, deleted)


def _alike_pairs(
    history: GitHistory, added: set[tuple[str, str]], deleted: set[tuple[str, str]]
) -> Iterator[tuple[str, str]]:
    """Each (old path, new path) of ``deleted`` and ``added`` files (path, blob) where the new
    file has the old one's bytes, is alike to it or holds half its lines (``likeness``)."""
    blobs = sorted({blob for _, blob in added | deleted})
    read = {name: data for name, _, data in read_verified(history.root, history.env, blobs)}
    sought = Likeness({blob: read[blob] for _, blob in deleted})
    for new, blob in sorted(added):
        marks = sought.marks([read[blob]]) | {like_mark(blob)}
        for old, old_blob in sorted(deleted):
            if like_mark(old_blob) in marks or hold_mark(old_blob) in marks:
                yield old, new


def _is_sha(token: str) -> bool:
    return len(token) in (40, 64) and all(c in "0123456789abcdef" for c in token)


def _targets(
    waivers: list[Waiver], document: InputDocument, facts: DeadCodeFacts
) -> Iterator[tuple[Target, tuple[str, Held]]]:
    """Each finding of DEAD-001, DEAD-004 or DEAD-005 the document could give that one of
    ``waivers`` covers, with its deployed commit and what it is about: every file, where its
    record lists the first ten (``CodeAtCommit.every_file``), and a retired path as the
    registry names it: a file or folder, or a glob, whose files anywhere in the history
    count (the retired code's content copied to another path, and the original deleted)."""
    rules = {w.rule for w in waivers}
    if not rules & {*REFERENCE_RULES, RETIRED_CODE_RULE}:
        return
    sets = document["reference_sets"]
    for deployment in document["deployments"]:
        commit, id_ = deployment["commit"], deployment["id"]
        every = (facts.at_deployment.get(id_) or facts.at_commit[commit]).every_file
        for name, reference in sorted(sets.get(deployment["reference_set"], {}).items()):
            files = every.get(("flag", name), tuple(reference["files"]))
            for rule in REFERENCE_RULES:
                if _waived(waivers, rule, (id_, name), name):
                    yield (rule, f"{id_}:{name}"), (commit, (files, ()))
        for entry in deployment["retired_code"]:
            path = entry["path"]
            if entry["count"] > 0 and _waived(waivers, RETIRED_CODE_RULE, (id_, path), path):
                files = every.get(("retired", path), tuple(entry["files"]))
                literal = literal_folder(path) == path
                held = ((*files, path), ()) if literal else (files, (path,))
                yield (RETIRED_CODE_RULE, f"{id_}:{path}"), (commit, held)


def _waived(waivers: list[Waiver], rule: str, parts: tuple[str, str], cause: str) -> bool:
    """Whether one of ``waivers`` covers the finding of ``rule`` with these parts."""
    finding = Finding(
        rule=rule,
        severity="",
        subject=":".join(parts),
        message="",
        controls=(),
        title="",
        cause=cause,
        parts=parts,
    )
    return any(covers(w, finding) for w in waivers)
