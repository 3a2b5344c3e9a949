"""A GitLab merge request's diff versions: whether a push after an approval kept the diff the
approval saw, as GitLab itself decides whether to keep an approval on a push.

GitLab records a diff version of the merge request at every push to its source branch
(``GET /projects/:id/merge_requests/:iid/versions``, newest first: ``head_commit_sha``,
``base_commit_sha``, ``created_at`` and, since GitLab 16.7, ``patch_id_sha``). An approval keeps
the patch id of the version current when it was given, and on a push GitLab deletes the
approvals whose patch id is not the new version's (``MergeRequests::ResetApprovalsService``,
``Approval.with_invalid_patch_id_sha``): a rebase, the Rebase button a fast-forward project
needs among them, keeps them when the diff is unchanged. Gitaly computes the patch id as ``git
diff --full-index BASE HEAD | git patch-id``: ``--verbatim`` in current GitLab (white space
counts; Gitaly's ``verbatim_patch_id`` flag, from 17.7), ``--stable`` before (white space
ignored: a line indented out of its ``if`` keeps the approval).

So an approval given before a push counts (:meth:`Diffs.unchanged_since`) when the version it
saw (the last one created before it) and every version after it up to the merge have one patch
id, and git, in the repository, computes that patch id with ``--verbatim`` for the last
version's base and head, which must be the merged head: a saved file cannot claim an unchanged
diff that the repository contradicts, and a patch id that ignores white space does not stand for
the code that was merged. Where the versions hold none (GitLab records one at the opening, so
``[]`` says nothing of the pushes), lack patch ids, or do not agree with git, the approval is
left out as before, and the import says why (:attr:`Diffs.why_not`).
So is it where the versions lack a push the notes show (:func:`unchained`): GitLab's version
ids are numbered across the instance, and a gap between two says nothing, but every push note
links the version its push made and the head before it. A version no push note names (the
target branch force-pushed, or brought in the merge request's commits) is seen by the target's
head moving between two versions otherwise than forward (:func:`hidden`), or by commits of
the earlier version: in its head's history where the repository has that head, else among its
commits, which GitLab gives only for a version asked singly (``versions/ID.json``, or the direct
fetch, which asks each version so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from checker.evidence.git import GitHistory
from checker.evidence.git_content import check_commit_diffs
from checker.importers import gitlab_pages
from checker.importers.common import expect, moment, read_json

VERSIONS = "GitLab merge request diff versions (GET /projects/:id/merge_requests/:iid/versions)"
WHOLE_VERSIONS = (
    "save every page of .../merge_requests/IID/versions?per_page=100 with its headers (curl "
    "-i, page=1, 2, ... down to the page whose x-next-page is empty), as the docs' whole does"
)
VERSIONS_FILE = "versions.json"
VERSIONS_DIR = "versions"
"""Where each version's single answer may be saved, as ``versions/ID.json``."""
SINGLE_VERSION = (
    "GitLab's single merge request diff version (GET /projects/:id/merge_requests/:iid/"
    "versions/:version_id), with its commits"
)
COMMIT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
PATCH_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
DIFF = [
    "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--full-index", "--src-prefix=a/",
    "--dst-prefix=b/", "--diff-algorithm=myers", "--indent-heuristic", "--find-renames",
    "--unified=3", "--inter-hunk-context=0", "--submodule=short",
]  # fmt: skip
"""Gitaly's ``git diff --full-index BASE HEAD``, with git's defaults pinned against the
repository's own configuration (an external diff, another algorithm or prefix)."""


@dataclass(frozen=True)
class Version:
    """One diff version: when GitLab recorded it, its head and base, and its patch id."""

    created_ns: int
    number: int
    head: str
    base: str
    patch_id: str | None
    start: str | None = None
    """The target branch's head when it was recorded (``start_commit_sha``)."""
    commits: frozenset[str] | None = None
    """Its commits, as GitLab answers the version singly (``GET .../versions/:version_id``,
    its ``commits``), where they were saved and name its head; else None."""


@dataclass(frozen=True)
class Diffs:
    """What a merge request's diff versions show of the pushes before its merge."""

    versions: list[Version] = field(default_factory=list)
    """Its versions created before the merge, oldest first; empty where they cannot be used."""
    why_not: str = ""
    """Why they cannot be used, where they cannot."""
    last_ns: int | None = None
    """When the last version before the merge was created, where it is not the first (the
    merge request's opening), whether or not they can be used: GitLab records a version at
    every push, also one that writes no note (a force-push of the source branch back to an
    earlier commit lists no commit, so ``RefreshService`` writes no "added N commits" note),
    and an approval older than it may not have seen the code merged."""

    hidden: dict[int, str] = field(default_factory=dict)
    """Why a version may be missing after the one of each index (:func:`hidden`)."""

    def unchanged_since(self, given_ns: int | None) -> bool:
        """Whether an approval given at ``given_ns`` saw the diff that was merged: the version
        current before it and every later one have the last version's patch id, and no version
        may be missing between that one and the next (:attr:`hidden`)."""
        if given_ns is None or not self.versions:
            return False
        seen = [i for i, v in enumerate(self.versions) if v.created_ns < given_ns]
        if not seen or seen[-1] in self.hidden:
            return False
        final = self.versions[-1].patch_id
        return all(v.patch_id == final for v in self.versions[seen[-1] :])


def read_versions(
    items: list[Any] | None,
    source: Path,
    merge_request: dict[str, Any],
    merged_ns: int,
    saved: bool,
) -> list[Version] | None:
    """The versions created at or before the merge, oldest first; None when none were saved.
    An item that is no version, or a version of another merge request, is refused."""
    if items is None:
        return None
    found = []
    for index, item in enumerate(items, start=1):
        expect(
            isinstance(item, dict)
            and isinstance(item.get("id"), int)
            and all(isinstance(item.get(k), str) for k in ("head_commit_sha", "base_commit_sha"))
            and isinstance(item.get("patch_id_sha"), (str, type(None))),
            source,
            f"item #{index} is not a diff version (id, head_commit_sha, base_commit_sha, "
            f"created_at, patch_id_sha); expected {VERSIONS}",
        )
        _check_owner(item, index, source, merge_request, saved)
        created = moment(item.get("created_at"), source, f"version {item['id']} created_at")
        patch, start = item["patch_id_sha"], item.get("start_commit_sha")
        commits = commit_ids(item.get("commits"), source, f"version {item['id']}")
        found.append(Version(created, item["id"], item["head_commit_sha"],
                             item["base_commit_sha"], patch,
                             start if isinstance(start, str) else None,
                             _naming(commits, item["head_commit_sha"])))  # fmt: skip
    found.sort(key=lambda v: (v.created_ns, v.number))
    return [v for v in found if v.created_ns <= merged_ns]


def commit_ids(commits: Any, source: Path, what: str) -> list[str] | None:
    """The ids of a version's ``commits`` (GitLab's commit objects, or their ids alone, as
    the direct fetch keeps them); None where it has none. Any other shape is refused."""
    if commits is None:
        return None
    ids = [c.get("id") if isinstance(c, dict) else c for c in commits] if isinstance(
        commits, list) else [None]  # fmt: skip
    found = [i for i in ids if isinstance(i, str) and COMMIT_ID.fullmatch(i)]
    expect(
        len(found) == len(ids),
        source,
        f"{what}: commits is not a list of commits (each an object with a full id, or the id "
        f"alone); expected {SINGLE_VERSION}",
    )
    return found


def _naming(commits: list[str] | None, head: str) -> frozenset[str] | None:
    """The commits, where they name the version's head: GitLab lists its head among them; a
    list without it cannot stand for the version's commits."""
    return frozenset(commits) if commits is not None and head in commits else None


def with_commits(item: Any, single: Any, source: Path) -> Any:
    """A listed version with the ids of the commits its single answer (``single``, from
    ``source``) gives; the answer must be of that version and head."""
    if not isinstance(item, dict):
        return item
    expect(
        isinstance(single, dict)
        and single.get("id") == item.get("id")
        and single.get("head_commit_sha") == item.get("head_commit_sha"),
        source,
        f"not the single answer of version {item.get('id')} (its id and head_commit_sha "
        f"differ from the list's); expected {SINGLE_VERSION}",
    )
    return item | {"commits": commit_ids(single.get("commits"), source, f"version {item['id']}")}


def saved_commits(items: list[Any] | None, folder: Path) -> list[Any] | None:
    """The listed versions, each with the commits of its single answer where one is saved
    in ``folder`` (``ID.json``)."""
    if items is None or not folder.is_dir():
        return items
    found = []
    for item in items:
        path = folder / f"{item.get('id')}.json" if isinstance(item, dict) else None
        if path is not None and path.is_file():
            item = with_commits(item, read_json(path, SINGLE_VERSION), path)
        found.append(item)
    return found


def _check_owner(
    item: dict[str, Any], index: int, source: Path, merge_request: dict[str, Any], saved: bool
) -> None:
    """Refuse a version of another merge request (``merge_request_id``); a saved one must
    name its merge request (``gitlab_pages.check_owner``)."""
    theirs = item.get("merge_request_id")
    named = (index, theirs, f"version of merge request id {theirs}")
    listing = ("merge_request_id", "version", VERSIONS)
    gitlab_pages.check_owner(source, named, merge_request, saved, listing)


@dataclass(frozen=True)
class PushLink:
    """What a push note says of the version its push made: GitLab ends every "added N commits"
    note with ``[Compare with previous version](.../diffs?diff_id=ID&start_sha=OLD)``
    (``SystemNotes::CommitService#add_commits``), ``ID`` the version it recorded at the push
    (the merge request's ``merge_request_diff``, reloaded before the note is written) and
    ``OLD`` the head before the push."""

    note: int
    """The note's number in the notes, from 1."""
    version: int | None
    """The version it names (``diff_id``), None where it names none."""
    previous: str | None
    """The head before the push (``start_sha``), None where it names none, or the branch
    was pushed anew (all zeros)."""


def diffs(
    versions: list[Version] | None,
    merged: tuple[str, int],
    history: GitHistory | None,
    where: str,
    links: list[PushLink] | None = None,
) -> Diffs:
    """The versions, where the last one is of the merged head (``merged``: it, and when it was
    merged), every push note before the merge names one of them and the head before it
    (``links``, :func:`unchained`), and git computes its patch id; else why they cannot show
    that a push kept the diff (``where`` names them). Either way, when the last push was: the
    last version's, or, where there is none, that is of another head or the notes show a push
    the file lacks (the file saved before a push), the merge, since a push may have come after
    it at a time the file does not say. A note that names no version (older GitLab wrote no
    link) shows no push the file lacks: its push is dated by the note, as any push note's."""
    head, merged_ns = merged
    found = _usable(versions, head, history, where)
    broken = unchained(versions or [], links or [], where) if versions else ""
    if broken and not found.why_not:
        found = Diffs(why_not=broken)
    lacking = broken and _lacking(versions or [], links or [], where)
    if versions is not None and (not versions or lacking or versions[-1].head != head):
        return replace(found, last_ns=merged_ns)  # none: GitLab records one at the opening
    if versions is None or len(versions) < 2:  # the first is the opening's: no push
        return found
    return replace(found, last_ns=versions[-1].created_ns)


def _lacking(versions: list[Version], links: list[PushLink], where: str) -> bool:
    """Whether the push notes that name a version show a push the versions lack (the file
    saved before it, or a version cut); a note that names none (older GitLab wrote no link)
    shows none."""
    return bool(unchained(versions, [link for link in links if link.version is not None], where))


def unchained(versions: list[Version], links: list[PushLink], where: str) -> str:
    """Why the versions do not hold every push the notes show (empty where they do): a push
    note whose version they lack, or the version before whose is of another head than the
    one the note says the push came after. Version ids are numbered across the instance, so
    a gap between two is no sign of a version missing; the notes' links are. A version cut
    from the middle of the file (one the approval saw, whose patch id another push then put
    back) made the approval look given on the version before it."""
    place = {version.number: index for index, version in enumerate(versions)}
    for link in links:
        if link.version is None:
            return (f"{where}: push note {link.note} names no diff version (no \"Compare with "
                    "previous version\" link with a diff_id, which GitLab writes in every push "
                    "note): the versions cannot be shown to hold its push")  # fmt: skip
        index = place.get(link.version)
        if index is None:
            return (f"{where}: push note {link.note} names diff version {link.version}, which "
                    "the file lacks: a push whose diff is missing (the file saved before it, or "
                    "cut); save the versions again, whole, after the merge")  # fmt: skip
        before = versions[index - 1].head if index else None
        if link.previous is not None and before != link.previous:
            return (f"{where}: push note {link.note} says version {link.version} followed head "
                    f"{link.previous}, and the version before it in the file is "
                    f"{f'of head {before}' if before else 'none'}: a version between them is "
                    "missing")  # fmt: skip
    return ""


def _usable(
    versions: list[Version] | None, head: str, history: GitHistory | None, where: str
) -> Diffs:
    """``diffs``, but for when the last version was created."""
    if versions is None:
        return Diffs(why_not=f"no {VERSIONS_FILE} saved ({VERSIONS})")
    if not versions or versions[-1].head != head:
        named = f"of head {versions[-1].head}" if versions else "none"
        return Diffs(why_not=f"{where}: its last version before the merge is {named}, not of "
                     f"the merged head {head}")  # fmt: skip
    last = versions[-1]
    if last.patch_id is None or not PATCH_ID.fullmatch(last.patch_id):
        return Diffs(why_not=f"{where}: version {last.number} has no patch_id_sha (GitLab "
                     "before 16.7, or not computed yet)")  # fmt: skip
    if history is None:
        return Diffs(why_not=f"{where}: no repository to compute the patch id in")
    found = history.resolve([last.base, last.head])
    if found.get(last.base) != last.base or found.get(last.head) != last.head:
        return Diffs(why_not=f"{where}: the repository lacks version {last.number}'s base "
                     f"{last.base} or head {last.head}")  # fmt: skip
    verbatim, stable = _patch_ids(history, last.base, last.head)
    if last.patch_id == verbatim:
        return Diffs(versions, hidden=hidden(versions, history, where))
    why = (
        "which is git patch-id --stable's, white space ignored (older GitLab): it does not "
        "show the merged code unchanged"
        if last.patch_id == stable
        else f"not the patch id git computes for {last.base}..{last.head} ({verbatim or 'none'})"
        ": the saved versions contradict the repository"
    )
    return Diffs(why_not=f"{where}: version {last.number}'s patch_id_sha {last.patch_id}, {why}")


def hidden(versions: list[Version], history: GitHistory, where: str) -> dict[int, str]:
    """Where a version may be missing from the file between two: by index of the first, why.
    GitLab records a version without a push note when the target branch is pushed to and the
    merge request's diff is reloaded (``RefreshService#reload_merge_requests``: a force push,
    or a push that brings in some of its commits), its head the head before; the next push
    note names that head, as it would the version before, so nothing in the notes shows it
    cut. An approval given on it kept its patch id, which may not be the merged one. So the
    target's head (``start_commit_sha``) between two versions must have moved only forward,
    by commits outside the earlier head's history, as git shows in the repository."""
    found = {}
    for index, (before, after) in enumerate(pairwise(versions)):
        why = _target_moved(before, after, history)
        if why:
            found[index] = (
                f"{where}: between versions {before.number} and {after.number} {why}, and GitLab "
                "records a version then that no push note names: the diff an approval given "
                "between them saw cannot be told"
            )
    return found


def _target_moved(before: Version, after: Version, history: GitHistory) -> str:
    """How the target branch moved between two versions so that GitLab may have recorded one
    between them ("" where it did not). The commits it brought in must be outside the earlier
    version's head's history, as git shows where the repository has that head, else outside
    the earlier version's commits, where they were saved (:attr:`Version.commits`)."""
    old, new = before.start or "", after.start or ""
    if old and old == new:
        return ""
    found = history.resolve([old, new, before.head]) if old and new else {}
    if any(found.get(sha) != sha for sha in (old, new)):
        return _targets_lacking(old, new)
    has_head = found.get(before.head) == before.head
    if not has_head and before.commits is None:
        return _unknown_head(before)
    if not history.is_ancestor(old, new):
        return f"the target branch was force-pushed ({old} to {new})"
    brought = history.git_output(["rev-list", new, f"^{old}"]).decode().split()
    return _brought_in(before, brought, has_head, history)


def _targets_lacking(old: str, new: str) -> str:
    """Why git cannot tell how the target moved: the repository lacks either of its heads (or
    a version names none)."""
    return (
        "the target branch's head moved (start_commit_sha), and the repository lacks it "
        f"({old or 'none'} or {new or 'none'}), so git cannot show that it moved only forward "
        f"(fetch them: git fetch origin {old or 'SHA'} {new or 'SHA'})"
    )


def _brought_in(before: Version, brought: list[str], has_head: bool, history: GitHistory) -> str:
    """Whether the commits the target brought in are of the earlier version: in its head's
    history, where the repository has that head, else among its saved commits."""
    if has_head:
        ours = history.in_history_of(brought, before.head)
        return f"the target branch brought in commits of head {before.head}" if ours else ""
    if (before.commits or frozenset()).intersection(brought):
        return f"the target branch brought in commits of version {before.number}"
    return ""


def _unknown_head(before: Version) -> str:
    """Why git cannot tell what the target brought in, where the repository lacks the earlier
    version's head and its commits were not saved; and how to have either."""
    return (
        f"the target branch's head moved (start_commit_sha), and the repository lacks head "
        f"{before.head} (a head a rebase replaced) and version {before.number}'s commits were "
        "not saved, so it cannot be shown that the target brought in none of them: import "
        "with --api-url (the fetch asks each version singly for its commits), or save GET "
        f".../merge_requests/IID/versions/{before.number} as {VERSIONS_DIR}/{before.number}"
        ".json beside the versions file, or fetch the head into the repository (git fetch "
        f"origin {before.head}: GitLab keeps every version's head and serves a commit by its "
        "id)"
    )


def _patch_ids(history: GitHistory, base: str, head: str) -> tuple[str, str]:
    """``git patch-id --verbatim`` and ``--stable`` of the diff from ``base`` to ``head``, as
    Gitaly computes them ("" where nothing differs)."""
    check_commit_diffs(history, [(head, base)], with_blobs=True)
    patch = history.git_output([*DIFF, base, head])

    def patch_id(mode: str) -> str:
        return (history.git_output(["patch-id", mode], stdin=patch).decode().split() or [""])[0]

    return patch_id("--verbatim"), patch_id("--stable")
