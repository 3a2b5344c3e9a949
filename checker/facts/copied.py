"""Retired code copied elsewhere with a stub left at its path, before it was listed.

``RetiredCodeHistory.content`` takes the retired code's content from the files an entry covers
where a version listing it was written (and in that commit's parents). Code copied to
``src/peg.py`` in one commit, ``legacy/power_peg.py`` reduced to ``from src.peg import *`` in
the same commit, and ``legacy/power_peg.py`` listed (and the stub deleted) in a later one, left
the stub as the entry's content: the code itself lived on at ``src/peg.py``, and DEAD-004
passed (exit 0). ``git mv`` was followed (``misspelt.last_held``); a copy with a stub left was
not, since the entry still covered a file where it was listed.

For each file an entry covers in the commit of the oldest version listing it (or in that
commit's parents), the commits of that history that wrote it are asked what they changed,
newest first (``git diff-tree``, as git's copy detection reads a commit): where one changed
the file from content X and, in the same commit, wrote X at a path no ``retired_code`` entry
covers, X was copied out of the retired code, and is its content too. A write that copied
nothing (the stub edited again before it was listed) sends the search on to the write before
it, until a copy or the file's first write is found. Where the parent of the commit that
left the stub held X at such a path already (a copy made in an earlier commit), X is the
retired code's where it began as that: the oldest commit to write X (``git log
--find-object``) held it at paths retired code covers alone. Not where X began elsewhere (the
retired file began as a copy of a live module, which lives on), nor an empty file. A file
written in the commit that left the stub is the copy where it is alike to X too
(``checker.evidence.likeness``: copied with a comment reworded), and so is one made with an
edit in an earlier commit, where the commit that left the stub rewrote the file (what it
wrote is not alike to X), X began as retired code, and a file written since X's first write
at a path no retired code covers, held by the stub's parent, is alike to X
(``_alike_earlier``).

One walk per entry of the history below the folders its path starts with, stopped once each
covered file's copy or first write is found, one ``git diff-tree`` per commit met, and one
``git log`` of the history where X was held elsewhere already; each answer is kept in the
facts cache by entry and version. A registry without ``retired_code`` costs
nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Mapping

from checker.cache import NO_CACHE, FactCache
from checker.evidence.git import GitHistory
from checker.evidence.git_content import TreeIndex, check_diffs, covers
from checker.evidence.likeness import Likeness
from checker.facts.misspelt import literal_folder
from checker.facts.retired import began_retired, first_writer

COPIED = "retired-copied"
"""Cache entries: the blobs copied out of the files a ``retired_code`` path covered, where a
stub was left in their place (a list, often empty); keyed by the path and the commit of the
oldest version listing it."""

Change = tuple[str, str, str]
"""One file a commit changed: its status letter, old blob and new blob."""


def copied_out(
    history: GitHistory,
    trees: TreeIndex,
    listed: Mapping[str, str],
    cache: FactCache = NO_CACHE,
) -> dict[str, frozenset[str]]:
    """By path of ``listed`` (each ``retired_code`` path and the commit of the oldest version
    listing it), the content copied out of the files it covered there with a stub left in
    their place: blobs a deployed commit may hold at another path."""
    keys = {path: f"{path}\0{commit}" for path, commit in listed.items()}
    known = cache.get(COPIED, keys.values(), lambda value: isinstance(value, list))
    patterns = [path.strip("/") for path in listed]
    diffs: dict[str, dict[str, Change]] = {}
    found: dict[str, frozenset[str]] = {}
    for path, commit in sorted(listed.items()):
        blobs = known.get(keys[path])
        if blobs is None:
            blobs = sorted(_copies(history, trees, (path.strip("/"), commit), patterns, diffs))
            cache.put(COPIED, {keys[path]: blobs})
        if blobs:
            found[path] = frozenset(blobs)
    return found


def _copies(
    history: GitHistory,
    trees: TreeIndex,
    entry: tuple[str, str],
    patterns: list[str],
    diffs: dict[str, dict[str, Change]],
) -> set[str]:
    """The blobs copied out of the files ``entry`` (a pattern, and the commit listing it)
    covers in that commit or its parents, each at the newest commit that wrote it there and
    copied out what it held before (an edit of the stub after it is passed over)."""
    pattern, listing = entry
    sources = (listing, *trees.parents(listing))
    left = {file for source in sources for file in trees.matching(source, pattern)}
    copies: set[str] = set()
    if not left:
        return copies
    walk = history.changes_below([listing], [], literal_folder(pattern))
    try:
        for commit, _, changed in walk:
            if changed not in left or not covers(pattern, changed):
                continue
            change = _diff(history, commit, diffs).get(changed)
            if change is None or change[0] == "D":  # deleted here: its last write is older
                continue
            found: set[str] = set()
            if change[0] == "M":
                found = _copied(history, trees, commit, (changed, change[1]), patterns, diffs)
                if not found:  # an edit of the stub, say: the writes before it are read too
                    continue
            left.discard(changed)
            copies |= found
            if not left:
                break
    finally:
        walk.close()
    return copies


def _copied(
    history: GitHistory,
    trees: TreeIndex,
    commit: str,
    file: tuple[str, str],
    patterns: list[str],
    diffs: dict[str, dict[str, Change]],
) -> set[str]:
    """``{X}`` where ``commit`` changed ``file`` (its path, and X, its blob before) and X
    lives on at a path no retired code covers: written there in the same commit, or held there
    by its parent already where X began as retired code (``retired.began_retired``: copied out in an
    earlier commit than the one that left the stub). Not where X is empty, nor where it began
    as live code (a retired file that began as a copy of a live module, which lives on)."""
    path, before = file
    if before == _empty(before):
        return set()
    for parent in trees.parents(commit)[:1]:
        held = trees.holding(parent, frozenset({before}))
        if any(f != path and not _retired(f, patterns) for f, _ in held):
            writer = first_writer(history, parent, before)
            return {before} if began_retired(trees, writer, before, patterns) else set()
    live = [new for f, (status, _, new) in diffs[commit].items()
            if status in "AM" and not _retired(f, patterns)]  # fmt: skip
    if before in live or _alike_written(trees, before, live):
        return {before}
    after = diffs[commit][path][2]
    return {before} if _alike_earlier(history, trees, (commit, before, after), patterns) else set()


def _alike_written(trees: TreeIndex, before: str, written: list[str]) -> bool:
    """Whether one of the blobs ``written`` (at paths no retired code covers) is alike to
    ``before`` (``likeness``): the code copied out with an edit, a comment reworded or a
    function renamed. Only the files of a commit that changed the retired file are read."""
    if not written:
        return False
    read = trees.contents([before, *written])
    sought = Likeness({before: read[before]})
    return any(sought.marks([read[blob]]) for blob in written)


def _alike_earlier(
    history: GitHistory, trees: TreeIndex, write: tuple[str, str, str], patterns: list[str]
) -> bool:
    """Whether X was copied out with an edit before ``write`` (a commit that rewrote a retired
    file from X, and what it wrote, not alike to X: a stub, not an edit): X began as retired
    code (``retired.began_retired``), and a commit since X's first write, up to the commit's parent,
    wrote a file alike to X at a path no retired code covers that the parent still holds.
    Only a rewrite of the retired file asks this (an edit keeps it alike), and only the files
    written in that stretch of history that the parent holds are read."""
    commit, before, after = write
    parent = trees.parents(commit)[:1]
    read = trees.contents([before, after])
    sought = Likeness({before: read[before]})
    if not parent or not sought.blobs or sought.marks([read[after]]):
        return False
    first = first_writer(history, parent[0], before)
    if first is None or not began_retired(trees, first, before, patterns):
        return False
    args = ["log", "--format=", "--raw", "-z", "--no-renames", "--no-abbrev", "--diff-filter=AM"]
    out = history.git_output([*args, parent[0], f"^{first}"]).split(b"\0")
    written = {
        head.split()[3].decode("ascii")
        for head, name in itertools.pairwise(out)
        if head.startswith(b":")
        and not _submodule(head.decode("ascii", errors="replace").split())
        and not _retired(os.fsdecode(name), patterns)
    }
    held = trees.holding(parent[0], frozenset(written))
    kept = sorted({blob for file, blob in held if not _retired(file, patterns)})
    return any(sought.marks([data]) for data in trees.contents(kept).values())


def _diff(
    history: GitHistory, commit: str, diffs: dict[str, dict[str, Change]]
) -> dict[str, Change]:
    """What ``commit`` changed against its first parent, by path (none for a root commit)."""
    if commit not in diffs:
        check_diffs(history, [commit])  # git believes the trees it reads: hashed first
        args = ["diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", "--no-ext-diff"]
        out = history.git_output([*args, commit]).split(b"\0")
        changes: dict[str, Change] = {}
        for head, name in zip(out[::2], out[1::2], strict=False):
            fields = head.decode("ascii", errors="replace").split()
            if len(fields) == 5 and not _submodule(fields):
                _, _, old, new, status = fields
                path = name.decode("utf-8", errors="surrogateescape")
                changes[path] = (status[:1], old, new)
        diffs[commit] = changes
    return diffs[commit]


def _submodule(fields: list[str]) -> bool:
    """Whether a change git writes raw (``:<old mode> <new mode> <old> <new> <status>``) is of
    a submodule's entry, before or after: it names a commit of another repository, not a
    file's content, and is not read. A submodule added in a commit that edited a retired file
    was read so, and the audit of the repository stopped (exit 2: the object could not be
    read)."""
    return _GITLINK in (fields[0].removeprefix(":"), *fields[1:2])


_GITLINK = "160000"
"""The mode of a submodule's entry in a tree."""


def _retired(path: str, patterns: list[str]) -> bool:
    """Whether a ``retired_code`` pattern covers ``path``."""
    return any(covers(pattern, path) for pattern in patterns)


def _empty(like: str) -> str:
    """The id of an empty file, in the object format of ``like`` (SHA-1 or SHA-256)."""
    return hashlib.new("sha1" if len(like) == 40 else "sha256", b"blob 0\0").hexdigest()
