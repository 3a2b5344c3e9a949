"""Whether a commit made after an approval is what a forge or git made from what the approval
saw: a merge, a squash or a rebase that holds exactly the approved change and nothing else.

The commit's tree is compared, file by file, with the three-way merge git makes of the same
sides: the file as the approved side left it, as the commit's own parent holds it, and as
both came from. A file that the commit changes but the approved side did not, or whose
content differs from that merge by a line, a moved line or white space, is not such a
commit. Nothing is written to the repository: the trees ``diff-tree`` and ``ls-tree`` read
are hashed first (``check_commit_diffs``, ``check_paths``), blobs are read with ``git
cat-file`` and hashed (``read_verified``), and a file changed on both sides is merged by
``git merge-file`` on temporary copies.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from checker.evidence.git import GitHistory
from checker.evidence.git_content import check_commit_diffs, check_paths
from checker.evidence.objectcheck import read_verified

Entry = tuple[str, str] | None
"""A file as a tree holds it: its mode and blob id, or None when the tree does not hold it."""

_BLOB_MODES = ("100644", "100755")


def landed(history: GitHistory, sha: str, seen: list[str]) -> bool:
    """Whether ``sha``, committed after an approval that saw ``seen``, holds what it saw and
    nothing else: a merge commit whose tree is git's merge of its parents (the landing merge,
    or main merged into the change), a commit that changes nothing, or a commit whose tree is
    its parent's with one seen commit's change applied (a rebase) or with all that the branch
    to a seen commit changed since it forked (a squash, onto a base that moved or not)."""
    parents = history.commits[sha].parents
    if len(parents) == 2:
        forks = history.merge_bases(*parents)
        return any(_applies(history, (fork, parents[0], parents[1]), sha) for fork in forks)
    if len(parents) != 1:
        return False
    base = parents[0]
    if not _changes(history, base, sha):
        return True
    for one in seen:
        own = history.commits[one].parents
        olds = ([own[0]] if len(own) == 1 else []) + history.merge_bases(base, one)
        if any(_applies(history, (old, base, one), sha) for old in olds):
            return True
    return False


def _applies(history: GitHistory, sides: tuple[str, str, str], result: str) -> bool:
    """Whether ``result``'s tree is the three-way merge of ``sides``: the common ancestor, the
    result's own parent and the approved commit. Every file the result changes from its parent
    must be one the approved side changed, and each file the approved side changed must be in
    the result as git merges it."""
    old, ours, theirs = sides
    wanted = _changes(history, old, theirs)
    made = _changes(history, ours, result)
    if not set(made) <= set(wanted):
        return False
    held = _entries(history, ours, sorted(set(wanted) - set(made)))
    for path, (before, after) in sorted(wanted.items()):
        mine = made[path][0] if path in made else held.get(path)
        final = made[path][1] if path in made else mine
        if not _merges_to(history, (before, mine, after), final):
            return False
    return True


def _merges_to(history: GitHistory, entries: tuple[Entry, Entry, Entry], final: Entry) -> bool:
    """Whether git's merge of one file (ancestor, ours, theirs) is ``final``. A file both sides
    changed is merged line by line; one whose merge conflicts, or that either side added,
    deleted or made other than a regular file, is not git's own merge."""
    before, mine, after = entries
    if mine == after:
        return final == mine
    if before == mine:
        return final == after
    if before == after:
        return final == mine
    if before is None or mine is None or after is None or final is None:
        return False
    if any(e[0] not in _BLOB_MODES for e in (before, mine, after, final)):
        return False
    if mine[0] == after[0] or before[0] == after[0]:
        mode = mine[0]
    elif before[0] == mine[0]:
        mode = after[0]
    else:
        return False
    return final[0] == mode and _merge_file(history, [mine[1], before[1], after[1], final[1]])


def _merge_file(history: GitHistory, blobs: list[str]) -> bool:
    """Whether ``git merge-file`` merges the first three blobs (ours, ancestor, theirs) without
    a conflict into the fourth's content."""
    data = [content for _, _, content in read_verified(history.root, history.env, blobs)]
    with tempfile.TemporaryDirectory(prefix="knightwatch-merge-") as folder:
        names = []
        for index, content in enumerate(data[:3]):
            name = Path(folder) / f"side-{index}"
            name.write_bytes(content)
            names.append(str(name))
        proc = history.run_git(["merge-file", "-p", *names])
    return proc.returncode == 0 and proc.stdout == data[3]


def _changes(history: GitHistory, old: str, new: str) -> dict[str, tuple[Entry, Entry]]:
    """Each file that differs between two commits' trees: as ``old`` and as ``new`` hold it."""
    check_commit_diffs(history, [(new, old)])  # git believes the trees it reads: hashed first
    raw = history.git_output(["diff-tree", "-r", "-z", "--no-renames", old, new])
    fields = raw.split(b"\0")
    found: dict[str, tuple[Entry, Entry]] = {}
    for index in range(0, len(fields) - 1, 2):
        meta = fields[index].decode().lstrip(":").split(" ")
        path = fields[index + 1].decode("utf-8", errors="surrogateescape")
        found[path] = (_entry(meta[0], meta[2]), _entry(meta[1], meta[3]))
    return found


def _entry(mode: str, blob: str) -> Entry:
    return None if set(mode) == {"0"} else (mode, blob)


def _entries(history: GitHistory, commit: str, paths: list[str]) -> dict[str, Entry]:
    """How ``commit``'s tree holds each of ``paths`` (those it holds)."""
    if not paths:
        return {}
    check_paths(history, commit, paths)
    raw = history.git_output(["ls-tree", "-r", "-z", commit, "--", *paths])
    found: dict[str, Entry] = {}
    for line in raw.split(b"\0"):
        if line:
            meta, _, path = line.partition(b"\t")
            mode, _, blob = meta.decode().split(" ")
            found[path.decode("utf-8", errors="surrogateescape")] = (mode, blob)
    return found
