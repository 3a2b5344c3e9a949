"""Gerrit's two exports of merged changes, read into one shape (:class:`Change`):

- REST: ``GET /changes/?q=status:merged&o=ALL_REVISIONS&o=ALL_COMMITS&o=DETAILED_LABELS``
  ``&o=DETAILED_ACCOUNTS`` (ChangeInfo objects; pages written back to back, each with its
  ``)]}'`` guard line);
- ssh: ``gerrit query --format=JSON --all-approvals --patch-sets --current-patch-set --comments
  status:merged`` (one change a line, then a ``stats`` line).

Output fetched without an option the judgement needs is refused, naming the option: without
``DETAILED_ACCOUNTS`` every account is a bare number, without ``DETAILED_LABELS`` no vote is
shown, without ``ALL_COMMITS`` a change of several patch sets does not say who wrote each one's
commit, and an export cut at a page limit (``_more_changes``, ``moreChanges``) is not the
whole of what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.trailers import coauthor_lines
from checker.importers.common import Logins, dig, expect, moment, read_documents

REST = (
    "Gerrit change objects "
    "(GET /changes/?q=status:merged&o=ALL_REVISIONS&o=ALL_COMMITS&o=DETAILED_LABELS"
    "&o=DETAILED_ACCOUNTS)"
)
SSH = (
    "the output of gerrit query --format=JSON --all-approvals --patch-sets --current-patch-set "
    "--comments"
)
WHAT = f"{REST}, or {SSH}"
LABEL = "Code-Review"
LEGACY_LABEL = "CRVW"  # Gerrit 2.1's name of the label in ssh output
MERGED_MESSAGE = "Change has been successfully"  # merged / cherry-picked / rebased / pushed


@dataclass(frozen=True)
class Account:
    """Who: ``ident`` to tell accounts apart, ``address`` for the record ("" when unknown)."""

    ident: str
    address: str
    bot: bool = False


@dataclass(frozen=True)
class PatchSet:
    """One patch set: when it was uploaded, by whom, and what kind of change it made."""

    number: int
    revision: str
    created_ns: int | None
    uploader: Account | None
    kind: str | None
    writers: tuple[tuple[str, str], ...] | None = None
    """(role, address) of its commit's author, committer and co-authors (over ssh its author
    alone), as the output shows them ("" for one without an address); None when it does not
    show them."""


@dataclass(frozen=True)
class Vote:
    """A Code-Review vote: its value, when it was given, and the patch set it is shown on."""

    by: Account
    value: int
    at: str
    at_ns: int | None
    post_submit: bool
    shown_on: int


@dataclass(frozen=True)
class Change:
    """A merged change, with its patch sets (the last is the one merged) and its votes."""

    name: str
    project: str | None
    """The Gerrit project it is of, as the output names it."""
    owner: Account
    submitted_ns: int
    patch_sets: tuple[PatchSet, ...]
    votes: tuple[Vote, ...]
    approving: int
    submitter: Account | None = None
    carried: frozenset[str] | None = None
    """Who the final patch set shows voting the approving value (ssh's ``currentPatchSet``,
    votes Gerrit copied forward included); None when the output does not show it (REST's votes
    are the final patch set's own)."""


def read_changes(path: Path, logins: Logins, approving: int | None) -> tuple[list[Change], int]:
    """The merged changes of a REST or ssh export, and how many unmerged ones it held."""
    documents = read_documents(path, WHAT)
    expect(documents.cut_at is None, path, f"line {documents.cut_at} is cut off; expected {WHAT}")
    values = [value for value, _ in documents.values]
    if all(isinstance(v, list) for v in values):
        return _rest([item for page in values for item in page], path, logins, approving)
    if all(isinstance(v, dict) for v in values):
        return _ssh(values, path, logins, approving)
    raise InputError(
        f"neither JSON arrays nor one JSON object a line; expected {WHAT}", path=str(path)
    )


def _project(change: dict[str, Any]) -> str | None:
    """The project a change object names (``project`` in both exports), or None."""
    project = change.get("project")
    return project if isinstance(project, str) else None


def gerrit_time(value: Any) -> str:
    """Gerrit's ``2024-02-01 09:00:00.000000000`` (always UTC) as RFC 3339."""
    text = str(value)
    return text.replace(" ", "T", 1) + "Z" if " " in text and not text.endswith("Z") else text


def _epoch(value: Any) -> str:
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _account(value: Any, logins: Logins) -> Account | None:
    """An account object of either export; None when it says neither address nor username."""
    if not isinstance(value, dict):
        return None
    email, username = value.get("email"), value.get("username")
    ident = str(value.get("_account_id") or username or email or "")
    tags = value.get("tags")
    bot = isinstance(tags, list) and "SERVICE_USER" in tags
    if isinstance(email, str) and email:
        return Account(ident, email, bot)
    if isinstance(username, str) and username:
        return Account(ident, logins.address(username), bot)
    return None


def _who(value: Any, logins: Logins, path: Path, what: str) -> Account:
    found = _account(value, logins)
    if found is None:
        shown = value.get("_account_id") or value.get("name") if isinstance(value, dict) else value
        raise InputError(
            f"{what} (account {shown}) has no email or username: for REST output, query with "
            "o=DETAILED_ACCOUNTS, as a user allowed to see accounts' email addresses",
            path=str(path),
        )
    return found


# -- REST ---------------------------------------------------------------------------------------


def _rest(
    changes: list[Any], path: Path, logins: Logins, approving: int | None
) -> tuple[list[Change], int]:
    if changes and isinstance(changes[-1], dict) and changes[-1].get("_more_changes") is True:
        raise InputError(
            "the last change has _more_changes: true: Gerrit holds more changes than this page",
            path=str(path),
            hint="fetch the following pages (S=500, S=1000, ... with n=500) and append them to "
            "this file, until a page ends without _more_changes",
        )
    missing: set[str] = set()
    merged = []
    skipped, first = 0, None
    for index, change in enumerate(changes, start=1):
        expect(
            isinstance(change, dict)
            and "_number" in change
            and isinstance(change.get("status"), str)
            and isinstance(change.get("owner"), dict),
            path,
            f"item #{index} is not a change object (_number, status, owner); expected {REST}",
        )
        if change["status"] != "MERGED":
            skipped += 1
            continue
        lacking = _rest_options(change)
        first = first if first is not None or not lacking else change["_number"]
        missing |= lacking
        merged.append(change)
    if missing:
        options = " and ".join(f"o={o}" for o in sorted(missing))
        raise InputError(
            f"these changes were fetched without {options} (change {first} the first), so "
            "their accounts, votes, patch sets or the writers of their commits cannot be read: "
            f"query with {options}",
            path=str(path),
        )
    return [_rest_change(c, path, logins, approving) for c in merged], skipped


def _rest_options(change: dict[str, Any]) -> set[str]:
    """The query options a merged change's object shows were missing."""
    missing = set()
    owner = change["owner"]
    if "email" not in owner and "username" not in owner:
        missing.add("DETAILED_ACCOUNTS")
    labels = change.get("labels")
    if not isinstance(labels, dict) or not any(
        isinstance(label, dict) and "values" in label for label in labels.values()
    ):
        missing.add("DETAILED_LABELS")
    revisions = change.get("revisions")
    current = change.get("current_revision")
    if (
        not isinstance(revisions, dict)
        or not isinstance(current, str)
        or current not in revisions
        or _fewer_than_numbered(revisions, current)
    ):
        missing.add("ALL_REVISIONS")
    elif len(revisions) > 1 and any(_rest_writers(r) is None for r in revisions.values()):
        missing.add("ALL_COMMITS")
    return missing


def _fewer_than_numbered(revisions: dict[str, Any], current: str) -> bool:
    """The current patch set is numbered N and fewer than N revisions are listed: the earlier
    patch sets are missing (``o=CURRENT_REVISION``), and with them who uploaded code and what
    each later patch set changed."""
    number = revisions[current].get("_number") if isinstance(revisions[current], dict) else None
    return isinstance(number, int) and len(revisions) < number


def _rest_change(
    change: dict[str, Any], path: Path, logins: Logins, approving: int | None
) -> Change:
    number = change["_number"]
    name = f"{change['project']}~{number}" if change.get("project") else str(number)
    expect("submitted" in change, path, f"change {number} is merged but has no submitted time")
    label = change["labels"].get(LABEL)
    expect(
        isinstance(label, dict) and isinstance(label.get("values"), dict),
        path,
        f"change {number} has no {LABEL} label with its values (labels: "
        f"{', '.join(sorted(map(str, change['labels'])))})",
    )
    highest = _highest(label["values"], path, number)
    if approving is not None and approving != highest:
        raise InputError(
            f"change {number}: {LABEL} goes up to {highest:+d} there, not {approving:+d}",
            path=str(path),
            hint="--approving-value is for output without label values (ssh); leave it out",
        )
    patch_sets = _rest_patch_sets(change, path, logins)
    current = next(p for p in patch_sets if p.revision == change["current_revision"])
    expect(
        current is patch_sets[-1],
        path,
        f"change {number}: its current revision is not its last patch set",
    )
    uploader = change["revisions"][current.revision].get("uploader")
    _who(uploader, logins, path, f"change {number}: the uploader of patch set {current.number}")
    votes = label.get("all", [])
    expect(isinstance(votes, list), path, f"change {number}: {LABEL}.all is not a list")
    found = [
        _rest_vote(vote, number, patch_sets, current, logins, path)
        for vote in votes
        if isinstance(vote, dict)
        and vote.get("value") not in (None, 0)
        and _is_highest(vote["value"], highest, path, number)
    ]
    return Change(
        name,
        _project(change),
        _who(change["owner"], logins, path, f"change {number}'s owner"),
        moment(gerrit_time(change["submitted"]), path, f"change {number} submitted"),
        tuple(patch_sets),
        tuple(found),
        highest,
        _account(change.get("submitter"), logins),
    )


def _rest_patch_sets(change: dict[str, Any], path: Path, logins: Logins) -> list[PatchSet]:
    """A REST change's patch sets, in order."""
    number = change["_number"]
    patch_sets = []
    for revision, info in change["revisions"].items():
        expect(
            isinstance(info, dict) and isinstance(info.get("_number"), int),
            path,
            f"change {number}: revision {revision} has no _number",
        )
        _check_commit(info.get("commit"), path, f"change {number}: patch set {info['_number']}")
        created = info.get("created")
        patch_sets.append(
            PatchSet(
                info["_number"],
                str(revision),
                moment(gerrit_time(created), path, f"change {number} revision created")
                if created
                else None,
                _account(info.get("uploader"), logins),
                info.get("kind") if isinstance(info.get("kind"), str) else None,
                _rest_writers(info),
            )
        )
    return sorted(patch_sets, key=lambda p: p.number)


def _check_commit(commit: Any, path: Path, where: str) -> None:
    """A revision's commit (``o=ALL_COMMITS``), where shown, shows its author, its committer
    and its message, as Gerrit gives every one: a commit trimmed of its message hid the
    co-authors it names, and one trimmed of its committer who committed it, and their votes
    counted."""
    if commit is None:
        return
    expect(isinstance(commit, dict), path, f"{where}'s commit is not a commit object")
    for key, kind in (("author", dict), ("committer", dict), ("message", str)):
        expect(
            isinstance(commit.get(key), kind),
            path,
            f"{where}'s commit has no {key}, which o=ALL_COMMITS gives every commit (trimmed?): "
            "who wrote it cannot be read; fetch the changes again with o=ALL_COMMITS, whole",
        )


def _rest_writers(info: Any) -> tuple[tuple[str, str], ...] | None:
    """The author and committer of a revision's commit (``commit``, a CommitInfo, which
    ``o=ALL_COMMITS`` adds), by address, and each co-author its message names (a
    ``Co-authored-by:`` line, as REVIEW-002 reads one in git: a line dropped in a later patch
    set leaves no trace in the commit merged); None when the revision holds no commit author."""
    commit = info.get("commit") if isinstance(info, dict) else None
    if not isinstance(commit, dict) or not isinstance(commit.get("author"), dict):
        return None
    message = commit.get("message")
    return tuple(
        (role, email if isinstance(email := person.get("email"), str) else "")
        for role in ("author", "committer")
        if isinstance(person := commit.get(role), dict)
    ) + tuple(coauthor_lines(message if isinstance(message, str) else ""))


def _is_highest(value: Any, highest: int, path: Path, number: Any) -> bool:
    """A vote's value is a number; whether it is the label's maximum (what approves)."""
    expect(isinstance(value, int), path, f"change {number}: a vote's value is not a number")
    return bool(value == highest)


def _rest_vote(
    vote: dict[str, Any],
    number: Any,
    patch_sets: list[PatchSet],
    current: PatchSet,
    logins: Logins,
    path: Path,
) -> Vote:
    """An approving vote of a REST change; one older than every patch set listed was copied
    from a patch set this output does not hold, and is refused."""
    value = vote["value"]
    by = _who(vote, logins, path, f"change {number}: a {value:+d} vote")
    date = vote.get("date")
    at = gerrit_time(date) if date else ""
    at_ns = moment(at, path, f"change {number} vote date") if date else None
    known = at_ns is None or any(
        p.number == 1 or (p.created_ns is not None and p.created_ns <= at_ns) for p in patch_sets
    )
    expect(
        known,
        path,
        f"change {number}: a vote by {by.address} is older than the patch sets in this output "
        "(Gerrit copied it from an earlier one): query with o=ALL_REVISIONS",
    )
    return Vote(by, value, at, at_ns, vote.get("post_submit") is True, current.number)


def _highest(values: dict[str, Any], path: Path, number: Any) -> int:
    """The label's maximum, from its values (``"-2"``, ``" 0"``, ``"+2"``)."""
    try:
        return max(int(str(key).strip()) for key in values)
    except ValueError:
        raise InputError(
            f"change {number}: {LABEL} values are not numbers", path=str(path)
        ) from None


# -- ssh ----------------------------------------------------------------------------------------


def _ssh(
    lines: list[dict[str, Any]], path: Path, logins: Logins, approving: int | None
) -> tuple[list[Change], int]:
    _check_complete(lines, path)
    changes = [line for line in lines if "type" not in line]
    merged, skipped = [], 0
    for index, change in enumerate(changes, start=1):
        expect(
            "number" in change and isinstance(change.get("status"), str),
            path,
            f"line #{index} is not a change (number, status); expected {SSH}",
        )
        if change["status"] != "MERGED":
            skipped += 1
            continue
        expect(
            isinstance(change.get("patchSets"), list) and bool(change["patchSets"]),
            path,
            f"change {change['number']} has no patchSets: query with --patch-sets --all-approvals",
        )
        merged.append(change)
    if merged and not any(
        isinstance(ps, dict) and ps.get("approvals") for c in merged for ps in c["patchSets"]
    ):
        raise InputError(
            f"no merged change shows an approval: query with --all-approvals; expected {SSH}",
            path=str(path),
        )
    return [_ssh_change(c, path, logins, approving or 2) for c in merged], skipped


def _check_complete(lines: list[dict[str, Any]], path: Path) -> None:
    """The output of gerrit query is whole: no error line, and a last stats line that says
    Gerrit holds no more changes."""
    for line in lines:
        if line.get("type") == "error":
            raise InputError(f"gerrit query failed: {line.get('message')}", path=str(path))
    stats = [line for line in lines if line.get("type") == "stats"]
    expect(
        bool(stats) and lines[-1].get("type") == "stats",
        path,
        "no stats line at the end: the output of gerrit query is cut off",
    )
    if stats[-1].get("moreChanges") is True:
        raise InputError(
            "the stats line says moreChanges: true: Gerrit holds more changes than this output",
            path=str(path),
            hint="run the query again with --start N (N: the changes read so far) and append "
            "its output to this file, until the last stats line says moreChanges: false",
        )


def _ssh_change(change: dict[str, Any], path: Path, logins: Logins, approving: int) -> Change:
    number = change["number"]
    name = f"{change['project']}~{number}" if change.get("project") else str(number)
    patch_sets, votes, submits = _ssh_patch_sets(change, path, logins, approving)
    patch_sets.sort(key=lambda p: p.number)
    _check_authors(patch_sets, number, path)
    final = max(change["patchSets"], key=lambda item: int(item["number"]))
    _who(
        final.get("uploader"), logins, path, f"change {number}: the uploader of its last patch set"
    )
    standing = _standing(votes)
    # The earliest submit: a submit that failed to merge and was tried again comes first.
    submitted, submitter = (
        min(submits, key=lambda s: s[0]) if submits else _merged_message(change, logins)
    )
    if submitted is None and any(v.value == approving for v in standing):
        raise InputError(
            f"change {number}: no submit time (no SUBM approval and no '{MERGED_MESSAGE} ...' "
            "message): query with --comments",
            path=str(path),
        )
    return Change(
        name,
        _project(change),
        _who(change.get("owner"), logins, path, f"change {number}'s owner"),
        (submitted or 0) * 10**9,
        tuple(patch_sets),
        tuple(standing),
        approving,
        submitter,
        _carried(change, patch_sets[-1].number if patch_sets else 0, logins, approving),
    )


def _check_authors(patch_sets: list[PatchSet], number: Any, path: Path) -> None:
    """Each patch set of a change of several shows its commit's author: whoever wrote an
    earlier one may have voted, and git holds the last patch set's commit alone."""
    if len(patch_sets) < 2:
        return
    for patch_set in patch_sets:
        expect(
            patch_set.writers is not None,
            path,
            f"change {number}: patch set {patch_set.number} does not show its commit's author, "
            "so a vote by whoever wrote it cannot be told from an independent approval: query "
            "with --patch-sets, of a Gerrit that shows each patch set's author",
        )


def _carried(
    change: dict[str, Any], final: int, logins: Logins, approving: int
) -> frozenset[str] | None:
    """The voters ``--current-patch-set`` shows with the approving value on the final patch
    set, votes copied from earlier ones included; None without it. ``--all-approvals`` lists
    each vote under the patch set it was given on only: a +2 given on patch set 1 and removed
    from patch set 2 after a trivial rebase is listed as one carried forward is."""
    current = change.get("currentPatchSet")
    if not isinstance(current, dict) or str(current.get("number")) != str(final):
        return None
    approvals = current.get("approvals") or []
    return frozenset(
        voter_key(found)
        for approval in (approvals if isinstance(approvals, list) else [])
        if isinstance(approval, dict)
        and approval.get("type") in (LABEL, LEGACY_LABEL)
        and str(approval.get("value", "")).strip().lstrip("+") == str(approving)
        and (found := _account(approval.get("by"), logins)) is not None
    )


def voter_key(account: Account) -> str:
    """How votes of one account are told apart from another's."""
    return account.ident or account.address


def _ssh_patch_sets(
    change: dict[str, Any], path: Path, logins: Logins, approving: int
) -> tuple[list[PatchSet], list[Vote], list[tuple[int, Account | None]]]:
    """An ssh query's patch sets, their Code-Review votes, and their submits (time, by)."""
    number = change["number"]
    patch_sets: list[PatchSet] = []
    votes: list[Vote] = []
    submits: list[tuple[int, Account | None]] = []
    for item in change["patchSets"]:
        expect(
            isinstance(item, dict)
            and str(item.get("number", "")).isdigit()
            and isinstance(item.get("revision"), str),
            path,
            f"change {number}: a patch set has no number and revision",
        )
        created = item.get("createdOn")
        patch_sets.append(
            PatchSet(
                int(item["number"]),
                item["revision"],
                int(created) * 10**9 if isinstance(created, int) else None,
                _account(item.get("uploader"), logins),
                item.get("kind") if isinstance(item.get("kind"), str) else None,
                _ssh_writers(item.get("author"), logins),
            )
        )
        approvals = item.get("approvals") or []
        expect(isinstance(approvals, list), path, f"change {number}: approvals is not a list")
        _ssh_votes(approvals, int(item["number"]), number, approving, logins, path, votes, submits)
    return patch_sets, votes, submits


def _ssh_writers(author: Any, logins: Logins) -> tuple[tuple[str, str], ...] | None:
    """A patch set's commit author over ssh (``author``: the account its address belongs to,
    or the address and name alone, with an empty username); None when it is not shown."""
    if not isinstance(author, dict):
        return None
    email, username = author.get("email"), author.get("username")
    if isinstance(email, str) and email:
        return (("author", email),)
    return (("author", logins.address(username) if isinstance(username, str) else ""),)


def _ssh_votes(
    approvals: list[Any],
    patch_set: int,
    number: Any,
    approving: int,
    logins: Logins,
    path: Path,
    votes: list[Vote],
    submits: list[tuple[int, Account | None]],
) -> None:
    """A patch set's Code-Review votes into ``votes``, and its submits' times into
    ``submits``; a vote above the approving value is refused."""
    for approval in approvals:
        granted = dig(approval, "grantedOn")
        if not isinstance(approval, dict) or not isinstance(granted, int):
            continue
        if approval.get("type") == "SUBM":
            submits.append((granted, _account(approval.get("by"), logins)))
        if approval.get("type") not in (LABEL, LEGACY_LABEL):
            continue
        try:
            value = int(str(approval.get("value", "0")))
        except ValueError:
            raise InputError(
                f"change {number}: an approval's value is not a number", path=str(path)
            ) from None
        if value > approving:
            raise InputError(
                f"change {number} has a {LABEL} vote of {value:+d}, above {approving:+d}",
                path=str(path),
                hint="pass the label's maximum as --approving-value",
            )
        by = _account(approval.get("by"), logins) or Account("", "")
        votes.append(Vote(by, value, _epoch(granted), granted * 10**9, False, patch_set))


def _merged_message(change: dict[str, Any], logins: Logins) -> tuple[int | None, Account | None]:
    """When the change's messages (``--comments``) say it was merged, and who posted that."""
    comments = change.get("comments")
    merged = [
        (message["timestamp"], _account(message.get("reviewer"), logins))
        for message in (comments if isinstance(comments, list) else [])
        if isinstance(message, dict)
        and str(message.get("message", "")).startswith(MERGED_MESSAGE)
        and isinstance(message.get("timestamp"), int)
    ]
    return min(merged, key=lambda m: m[0]) if merged else (None, None)


def _standing(votes: list[Vote]) -> list[Vote]:
    """Each voter's last vote (ssh lists every patch set's votes): a later vote replaces an
    earlier one."""
    last: dict[str, Vote] = {}
    for vote in sorted(votes, key=lambda v: (v.shown_on, v.at_ns or 0)):
        last[voter_key(vote.by)] = vote
    return [v for v in last.values() if v.value > 0]
