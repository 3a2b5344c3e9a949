"""``knightwatch import gerrit``: review records from Gerrit's merged changes, exported by the
REST API or by ``gerrit query`` over ssh (see :mod:`checker.importers.gerrit_formats`).

Each merged change becomes one record of its last patch set; every merged change must be of the
project ``--project`` names (a sandbox project's +2 on the same commits is no review here).
An approval is a ``Code-Review`` vote of the label's maximum (``labels.Code-Review.values`` in
REST output; ``--approving-value``, default +2, for ssh output, which does not carry the label's
range) that still stands, and is counted only when all of these hold:

- it was given no later than the submit (``submitted``; over ssh, the ``SUBM`` approval or the
  "Change has been successfully ..." message) and is not marked ``post_submit``;
- its voter is neither the change's owner nor the uploader of the final patch set (who made
  that patch set: a maximum vote on it is an author's own approval), nor the uploader of any
  patch set that changed the code (the first one, a ``REWORK``, or one whose kind the output
  does not give: they wrote part of what was merged), nor the author, committer or (over
  REST) a co-author of any patch set's commit (who uploads a commit need not have written it,
  and git holds the last patch set's alone; the committer of a trivial rebase who uploaded it,
  Gerrit's Rebase button, wrote none of it and is not counted), nor a bot (an account tagged
  ``SERVICE_USER``, or ``review_bots``). A final patch set that the submit itself made (the
  ``CHERRY_PICK`` and ``REBASE_ALWAYS`` submit types: same code, uploaded by the submitter at
  the submit time) does not make the submitter an author: the patch set before it is judged;
- it was given on the final patch set or, when it was given on an earlier one (Gerrit copies
  votes forward and keeps their date), every later patch set changed no code of the change
  (Gerrit's ``kind``: a trivial rebase, a new commit message, a new parent); otherwise it
  approved code that was changed after it. Over ssh, a vote listed under an earlier patch set
  counts only when ``currentPatchSet`` (``--current-patch-set``) shows it on the final one:
  ``--all-approvals`` lists a vote under the patch set it was given on alone, so a vote removed
  after a trivial rebase is listed as one copied forward is.

Gerrit's ``Reviewed-by`` and ``Reviewed-on`` commit trailers need no import: they are read
from git with every check.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from checker.errors import InputError
from checker.evidence.files import Located, validate
from checker.evidence.git import GitHistory
from checker.evidence.git_content import commit_parents, own_change
from checker.evidence.models import Review
from checker.importers.common import Imported, Logins
from checker.importers.gerrit_formats import (
    Account,
    Change,
    PatchSet,
    Vote,
    read_changes,
    voter_key,
)

SUBMIT_CLOCK_NS = 10**9
"""A patch set made by the submit is dated with the submit; ssh output has whole seconds."""
# The patch set kinds that leave the change's own code as it was (Gerrit's ChangeKind).
SAME_CODE = {
    "TRIVIAL_REBASE",
    "TRIVIAL_REBASE_WITH_MESSAGE_UPDATE",
    "MERGE_FIRST_PARENT_UPDATE",
    "NO_CODE_CHANGE",
    "NO_CHANGE",
}


def import_changes(
    path: Path,
    logins: Logins,
    bots: list[str],
    project: str,
    approving: int | None = None,
    history: GitHistory | None = None,
) -> Imported:
    """Review records for every merged change in ``path``, every one of them ``project``'s.
    ``history``: the repository, which must agree with what the export says of its commits."""
    changes, unmerged = read_changes(path, logins, approving)
    rebased: frozenset[str] = frozenset()
    if history is not None:
        _refuse_false_merges(changes, history, path)
        rebased = _refuse_false_rebases(changes, history, path)
    result = Imported(skipped_unmerged=unmerged)
    bot_people = {logins.person(b) for b in bots}
    for change in changes:
        _refuse_other_project(change, project, path)
        _refuse_unknown_coders(change, path)
        approvals = []
        for vote in change.votes:
            if vote.value != change.approving:
                continue
            why = _left_out(change, vote, logins, bot_people, rebased)
            if why:
                result.left_out[why] += 1
            else:
                approvals.append({"by": vote.by.address, "at": vote.at})
                result.counted += 1
        record = {
            "change": change.name,
            "author": change.owner.address,
            "commits": [change.patch_sets[-1].revision],
            "approvals": approvals,
        }
        result.reviews.append(validate(Review, Located(record, 0), path, f"change {change.name}"))
    return result


def _refuse_false_merges(changes: list[Change], history: GitHistory, path: Path) -> None:
    """A patch set the export calls ``MERGE_FIRST_PARENT_UPDATE`` (a merge whose first parent
    moved, the change's own code as it was) whose commit the repository holds must be a merge
    there: a vote carried over it counts for the code merged, so an export that calls a commit
    of one parent a merge would have a vote on an earlier patch set approve code nobody
    reviewed. The patch sets the repository does not hold (Gerrit's ``refs/changes``, seldom
    fetched) cannot be asked, and are read as the export says."""
    marked = {
        p.revision: (change, p)
        for change in changes
        for p in change.patch_sets
        if p.kind == "MERGE_FIRST_PARENT_UPDATE"
    }
    held = history.resolve(marked) if marked else {}
    for revision in sorted(r for r, sha in held.items() if sha == r):
        parents = commit_parents(history, revision)
        if len(parents) > 1:
            continue
        change, patch_set = marked[revision]
        raise InputError(
            f"change {change.name}: patch set {patch_set.number} is marked "
            f"MERGE_FIRST_PARENT_UPDATE (a merge), but its commit {revision} has "
            f"{len(parents)} parent{'s' if len(parents) != 1 else ''} in the repository: "
            "votes carried over it would approve code the export misdescribes",
            path=str(path),
            hint="export the change again from the Gerrit that merged it, or fetch the "
            "repository that holds its commits",
        )


REBASED = SAME_CODE - {"MERGE_FIRST_PARENT_UPDATE"}
"""The kinds that leave the change's own lines as they were: a rebase, a new message."""


def _refuse_false_rebases(changes: list[Change], history: GitHistory, path: Path) -> frozenset[str]:
    """A patch set the export calls a trivial rebase or a change of no code
    (``REBASED``), whose commit and the previous patch set's the repository both hold, must
    add and remove the same lines as the previous one does against its own parent
    (``own_change``): a vote carried over it counts for the code merged, so an export that
    called a patch set that changed the code a rebase would have a vote on the earlier one
    approve code nobody reviewed. The patch sets the repository does not hold cannot be
    asked, and are read as the export says. The revisions the repository showed to be such a
    patch set, that is, both commits held and the same lines."""
    pairs = [
        (change, before, after)
        for change in changes
        for before, after in itertools.pairwise(change.patch_sets)
        if after.kind in REBASED
    ]
    held = history.resolve({p.revision for _, *two in pairs for p in two}) if pairs else {}
    shown: set[str] = set()
    for change, before, after in pairs:
        if not all(held.get(p.revision) == p.revision for p in (before, after)):
            continue
        if own_change(history, before.revision) == own_change(history, after.revision):
            shown.add(after.revision)
            continue
        raise InputError(
            f"change {change.name}: patch set {after.number} is marked {after.kind} (the "
            f"code of patch set {before.number} as it was), but its commit {after.revision} "
            f"adds or removes other lines than {before.revision} in the repository: votes "
            "carried over it would approve code the export misdescribes",
            path=str(path),
            hint="export the change again from the Gerrit that merged it, or fetch the "
            "repository that holds its commits",
        )
    return frozenset(shown)


def _refuse_other_project(change: Change, project: str, path: Path) -> None:
    """A merged change of another project (a sandbox holding the same commits, an export whose
    query left out ``project:``) is refused: its votes would count for the repository's
    commits, which nobody reviewed in its project. Gerrit's project names are case-sensitive."""
    if change.project == project:
        return
    raise InputError(
        f"change {change.name} is "
        + (f"of project {change.project!r}" if change.project else "of no project named")
        + f", not of {project!r} (--project): its votes would count for this repository's "
        "commits, which nobody reviewed there",
        path=str(path),
        hint=f"query project:{project} alone (and export it whole, not trimmed of 'project'), "
        "or give --project the name of the project the repository is",
    )


def _refuse_unknown_coders(change: Change, path: Path) -> None:
    """A patch set that changed the code (or whose kind is not given) names its uploader: a
    vote by whoever wrote part of the change is not an independent approval, and an uploader
    the output leaves out, or shows as an account id alone, cannot be told from the voters."""
    for patch_set in change.patch_sets:
        if patch_set.kind not in SAME_CODE and patch_set.uploader is None:
            raise InputError(
                f"change {change.name}: patch set {patch_set.number} changed the code (kind "
                f"{patch_set.kind or 'not given'}) and its uploader has no email or username, so "
                "a vote by its uploader cannot be told from an independent approval",
                path=str(path),
                hint="for REST output, query with o=ALL_REVISIONS and o=DETAILED_ACCOUNTS, as a "
                "user allowed to see accounts' email addresses; over ssh, with --patch-sets",
            )


def _same(one: Account | None, other: Account, logins: Logins) -> bool:
    if one is None or not (one.address or one.ident):
        return False
    if one.ident and one.ident == other.ident:
        return True
    return bool(one.address) and logins.person(one.address) == logins.person(other.address)


def _left_out(
    change: Change, vote: Vote, logins: Logins, bot_people: set[str], rebased: frozenset[str]
) -> str | None:
    """Why ``vote`` is not an approval of what was merged, or None when it is one.
    ``rebased``: the patch sets the repository showed to be trivial rebases."""
    if not vote.by.address or vote.at_ns is None:
        return "without an account or a date"
    if vote.post_submit or vote.at_ns > change.submitted_ns:
        return "after the submit"
    if _same(change.owner, vote.by, logins):
        return "by the change's owner"
    if _same(_authored(change, logins).uploader, vote.by, logins):
        return "by the uploader of the final patch set"
    coders = [p.uploader for p in change.patch_sets if p.kind not in SAME_CODE]
    if any(_same(uploader, vote.by, logins) for uploader in coders):
        return "by the uploader of a patch set that changed the code"
    why = _by_writer(change, vote, logins, rebased)
    if why:
        return why
    if vote.by.bot or logins.person(vote.by.address) in bot_people:
        return "by a bot"
    return _outdated(change, vote)


def _by_writer(change: Change, vote: Vote, logins: Logins, rebased: frozenset[str]) -> str | None:
    """Why a vote is by whoever wrote one of the change's patch sets, as its commit names them
    (its author, its committer, who wrote it as it stands, and over REST each co-author its
    message names), or None. Git holds the last
    patch set's commit alone: a +2 by the author of patch set 1, which the owner uploaded and
    then amended under their own name (a ``NO_CODE_CHANGE``, over which the vote is carried),
    is by the author of the code merged. A patch set the submit made is not judged
    (:func:`_authored`). A writer who names nobody may be any voter."""
    last = _authored(change, logins).number
    writers = [
        (p.revision, role, address)
        for p in change.patch_sets
        if p.number <= last
        for role, address in p.writers or ()
        if not (p.revision in rebased and _rebaser(p, role, address, logins))
    ]
    unnamed = logins.unnamed(writers)
    if unnamed:
        return "a patch set's commit has a writer (author, committer, co-author) naming nobody"
    voter = logins.person(vote.by.address)
    if any(logins.person(address) == voter for _, _, address in writers):
        return "by the author, committer or a co-author of a patch set's commit"
    return None


TRIVIAL_REBASES = {"TRIVIAL_REBASE", "TRIVIAL_REBASE_WITH_MESSAGE_UPDATE"}
"""The kinds Gerrit gives a patch set its Rebase button made: the code of the one before, on
another parent (a rebase with a conflict is a ``REWORK``)."""


def _rebaser(patch_set: PatchSet, role: str, address: str, logins: Logins) -> bool:
    """Whether a writer of a patch set's commit is who rebased it alone: the committer of a
    trivial rebase, who uploaded it (Gerrit's Rebase button commits as whoever clicks it, and
    keeps the author). They wrote none of its lines, which the repository must show: the
    caller asks only of a patch set ``_refuse_false_rebases`` found with both commits held and
    the same lines, since an export marking the reviewer's own rework a trivial rebase would
    otherwise be believed. So a reviewer who rebased a patch set the owner then uploaded again
    is no writer of the change. Its author and co-authors, and the
    uploader of the patch set merged, are judged as before."""
    uploader = patch_set.uploader
    return (
        role == "committer"
        and patch_set.kind in TRIVIAL_REBASES
        and uploader is not None
        and bool(uploader.address)
        and bool(address)
        and logins.person(uploader.address) == logins.person(address)
    )


def _outdated(change: Change, vote: Vote) -> str | None:
    """Why a vote on an earlier patch set does not approve the code merged, or None."""
    given = _given_on(change.patch_sets, vote)
    later = [p for p in change.patch_sets if p.number > given.number]
    if any(p.kind is None for p in later):
        return "on an earlier patch set, and the output does not say what later ones changed"
    if any(p.kind not in SAME_CODE for p in later):
        return "on an earlier patch set whose code was changed after it"
    return _not_carried(change, vote)


def _not_carried(change: Change, vote: Vote) -> str | None:
    """Why a vote listed under an earlier patch set is not known to stand on the last, or
    None. ``gerrit query --all-approvals`` lists a vote under the patch set it was given on, and
    not under those it was copied to; one removed after a trivial rebase is listed the same
    way. Only ``--current-patch-set`` shows which votes the last patch set holds."""
    if vote.shown_on >= change.patch_sets[-1].number:
        return None
    if change.carried is None:
        return (
            "on an earlier patch set, and the output does not show that it still stood on "
            "the last (query with --current-patch-set)"
        )
    if voter_key(vote.by) not in change.carried:
        return "on an earlier patch set, and removed or changed before the last"
    return None


def _authored(change: Change, logins: Logins) -> PatchSet:
    """The last patch set someone uploaded: the final one, unless the submit made it (Gerrit's
    cherry-pick and rebase submit strategies insert a patch set of the same code, uploaded by
    the submitter, in the submit's own update); then the one the submit started from."""
    final = change.patch_sets[-1]
    made_by_submit = (
        len(change.patch_sets) > 1
        and final.kind in SAME_CODE
        and change.submitter is not None
        and final.uploader is not None
        and _same(final.uploader, change.submitter, logins)
        and final.created_ns is not None
        and abs(final.created_ns - change.submitted_ns) <= SUBMIT_CLOCK_NS
    )
    return change.patch_sets[-2] if made_by_submit else final


def _given_on(patch_sets: tuple[PatchSet, ...], vote: Vote) -> PatchSet:
    """The patch set a vote was given on: the last one uploaded before it, and none later than
    the one it is shown on (a vote copied forward keeps its date). A patch set whose upload
    time is unknown is taken as uploaded after the vote."""
    shown = [p for p in patch_sets if p.number <= vote.shown_on] or list(patch_sets)
    at = vote.at_ns if vote.at_ns is not None else 0
    before = [p for p in shown if p.created_ns is not None and p.created_ns <= at]
    return before[-1] if before else shown[0]
