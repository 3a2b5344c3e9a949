"""Whether a merge or squash commit holds nothing but git's own merge of what it merged.

A forge names the commit that landed a change on its branch (GitHub's and GitLab's
``merge_commit_sha``, GitLab's ``squash_commit_sha``), but whoever pushed that commit chose its
tree: a merge made locally and pushed may add code that no parent holds (an "evil" merge). The
commit holds only what was merged when git's own merge gives its tree: of its two parents for
a merge commit; of its parent and the approved head for a squash commit (and for the last
commit of a rebase, which GitHub names the same way). ``git merge-tree --write-tree`` (git 2.38
or later) redoes the merge, one git call per commit, in a scratch repository that borrows the
audited repository's objects: the audited repository gains no object, and neither its
configuration nor its ``.gitattributes`` (a merge driver, ``merge=ours``) takes part.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.cache import git_version
from checker.evidence.git import GitHistory
from checker.evidence.objectcheck import git_failed

MERGE_TREE_GIT = (2, 38)
"""The first git with ``git merge-tree --write-tree``."""
_MERGE_SETTINGS = (
    ("merge.renames", "true"),
    ("merge.directoryRenames", "conflict"),
    ("merge.renormalize", "false"),
    ("core.attributesFile", os.devnull),
)
"""git's defaults for a merge, pinned: the auditor's own configuration does not change it."""

NOT_IN_REPOSITORY = "not in the repository"
HEAD_NOT_IN_REPOSITORY = (
    "a squash or rebase commit whose approved head is not in the repository (fetch the "
    "changes' heads: refs/pull/*/head, refs/merge-requests/*/head)"
)
ROOT = "a root commit, which merges nothing"
OCTOPUS = "an octopus merge (more than two parents): git merge-tree merges two"
CONFLICTS = "git's own merge of what it merges conflicts: its resolution is nobody's approval"
CHANGED = "not git's own merge of what it merges: it changes something of its own"
"""Why a landing commit is not credited, as an import says it: the evil merge or squash."""


@dataclass(frozen=True)
class Landing:
    """A commit a forge says landed a change, and the change's head that was approved."""

    commit: str
    head: str


def unmerged_landings(
    history: GitHistory | None, landings: Sequence[Landing]
) -> dict[Landing, str]:
    """Why each landing commit is not git's own merge of what it merges; the empty string
    for one that is. Without a repository, or with a git too old to redo a merge, none is."""
    wanted = sorted(set(landings), key=lambda landing: (landing.commit, landing.head))
    if not wanted:
        return {}
    if history is None:
        return dict.fromkeys(wanted, "imported without a repository to redo the merge in")
    too_old = _too_old(history)
    if too_old:
        return dict.fromkeys(wanted, too_old)
    ids = history.resolve_ids(
        [name for landing in wanted for name in (landing.commit, landing.head)]
    )
    commits = _commits(history, {ids[landing.commit].sha for landing in wanted} - {None})
    verdicts: dict[Landing, str] = {}
    with tempfile.TemporaryDirectory(prefix="knightwatch-merge-") as scratch:
        git_dir = _scratch(history, Path(scratch))
        for landing in wanted:
            found = commits.get(ids[landing.commit].sha or "")
            if found is None:
                verdicts[landing] = NOT_IN_REPOSITORY
                continue
            tree, parents = found
            merged = parents if len(parents) != 1 else (parents[0], ids[landing.head].sha)
            verdicts[landing] = _judge(history, git_dir, tree, merged)
    return verdicts


def _judge(history: GitHistory, git_dir: Path, tree: str, merged: Sequence[str | None]) -> str:
    """Why ``tree`` is not git's merge of ``merged`` (a commit's parents, or its parent and
    the approved head, None where that is not in the repository), or empty."""
    if not merged:
        return ROOT
    if None in merged:
        return HEAD_NOT_IN_REPOSITORY
    if len(merged) > 2:
        return OCTOPUS
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), "merge-tree", "--write-tree", "--no-messages",
         *[str(sha) for sha in merged]],
        capture_output=True,
        cwd=git_dir,
        env=_env(history),
        check=False,
    )  # fmt: skip
    written = proc.stdout.decode(errors="replace").split("\n", 1)[0].strip()
    if proc.returncode == 0 and written:
        return "" if written == tree else CHANGED
    if proc.returncode == 1 and written:
        return CONFLICTS
    said = proc.stderr.decode(errors="replace").strip().splitlines()
    return f"git could not redo its merge ({said[-1] if said else f'exit {proc.returncode}'})"


def _too_old(history: GitHistory) -> str:
    """Why this git cannot redo a merge, or empty."""
    text = git_version().decode(errors="replace")
    found = re.search(r"(\d+)\.(\d+)", text)
    if found and (int(found[1]), int(found[2])) >= MERGE_TREE_GIT:
        return ""
    wanted = ".".join(map(str, MERGE_TREE_GIT))
    return f"{text or 'this git'} cannot redo a merge (git merge-tree --write-tree needs {wanted})"


def _commits(history: GitHistory, shas: set[str | None]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each commit's tree and parents, as its object records them, in one git call."""
    named = sorted(sha for sha in shas if sha)
    if not named:
        return {}
    listed = history.git_output(["log", "--no-walk=unsorted", "--format=%H %T %P", *named, "--"])
    found = {}
    for line in listed.decode().splitlines():
        sha, tree, *parents = line.split()
        found[sha] = (tree, tuple(parents))
    return found


def _scratch(history: GitHistory, folder: Path) -> Path:
    """An empty bare repository in ``folder`` that reads the audited repository's objects
    (``objects/info/alternates``) and writes its own."""
    object_format = history.git_output(["rev-parse", "--show-object-format"]).decode().strip()
    git_dir = folder / "scratch.git"
    made = subprocess.run(
        ["git", "init", "--quiet", "--bare", "--template=", f"--object-format={object_format}",
         str(git_dir)],
        capture_output=True,
        cwd=folder,
        env=_env(history),
        check=False,
    )  # fmt: skip
    if made.returncode != 0:
        raise git_failed("init", made.stderr.decode(errors="replace").strip(), history.root)
    stores = "".join(f"{store.resolve()}\n" for store in history.object_stores())
    (git_dir / "objects" / "info").mkdir(parents=True, exist_ok=True)
    (git_dir / "objects" / "info" / "alternates").write_text(stores)
    return git_dir


def _env(history: GitHistory) -> dict[str, str]:
    """The history's environment, with git's defaults for a merge pinned as well."""
    env = dict(history.env)
    count = int(env.get("GIT_CONFIG_COUNT", "0"))
    for index, (key, value) in enumerate(_MERGE_SETTINGS, start=count):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(_MERGE_SETTINGS))
    env["GIT_ATTR_NOSYSTEM"] = "1"
    return env
