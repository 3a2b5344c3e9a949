"""``knightwatch import gerrit``: review records from Gerrit's REST change objects.

Input: ``GET /changes/?q=status:merged&o=CURRENT_REVISION&o=DETAILED_LABELS&o=DETAILED_ACCOUNTS``
as Gerrit writes it (its ``)]}'`` guard line included). Each merged change becomes one record
of its current revision; its approvals are the ``Code-Review`` votes of +2 in
``labels.Code-Review.all`` cast no later than ``submitted``, by an account other than the
change's owner, and not by a bot (an account tagged ``SERVICE_USER``, or ``review_bots``).

Gerrit's ``Reviewed-by`` and ``Reviewed-on`` commit trailers need no import: they are read
from git with every check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.evidence.files import Located, validate
from checker.evidence.models import Review
from checker.importers.common import Imported, Logins, dig, expect, moment, read_list

WHAT = "Gerrit change objects (GET /changes/?q=status:merged&o=DETAILED_LABELS&o=...)"
APPROVE = 2


def gerrit_time(value: Any) -> str:
    """Gerrit's ``2024-02-01 09:00:00.000000000`` (always UTC) as RFC 3339."""
    text = str(value)
    return text.replace(" ", "T", 1) + "Z" if " " in text and not text.endswith("Z") else text


def _account(account: Any, logins: Logins) -> tuple[str, str]:
    """An account's id (for comparisons) and address (for the record)."""
    if not isinstance(account, dict):
        return "", ""
    ident = str(account.get("_account_id", ""))
    if isinstance(account.get("email"), str):
        return ident, account["email"]
    if isinstance(account.get("username"), str):
        return ident, logins.address(account["username"])
    return ident, ""


def import_changes(path: Path, logins: Logins, bots: list[str]) -> Imported:
    """Review records for every merged change in ``path``."""
    changes = read_list(path, WHAT)
    result = Imported()
    bot_people = {logins.person(b) for b in bots}
    for index, change in enumerate(changes, start=1):
        expect(
            isinstance(change, dict)
            and "_number" in change
            and isinstance(change.get("status"), str)
            and isinstance(change.get("owner"), dict),
            path,
            f"item #{index} is not a change object (_number, status, owner); expected {WHAT}",
        )
        if change["status"] != "MERGED":
            result.skipped_unmerged += 1
            continue
        number = change["_number"]
        expect(
            isinstance(change.get("current_revision"), str) and "submitted" in change,
            path,
            f"change {number} has no current_revision or submitted time: query with "
            "o=CURRENT_REVISION",
        )
        labels = change.get("labels")
        expect(
            isinstance(labels, dict)
            and all(isinstance(v, dict) for v in labels.values())
            and all("all" in v for v in labels.values()),
            path,
            f"change {number} has no detailed labels: query with o=DETAILED_LABELS",
        )
        submitted = moment(gerrit_time(change["submitted"]), path, f"change {number} submitted")
        owner_id, owner = _account(change["owner"], logins)
        approvals = []
        votes = dig(labels, "Code-Review", "all") or []
        expect(isinstance(votes, list), path, f"change {number}: Code-Review.all is not a list")
        for vote in votes:
            if not isinstance(vote, dict) or vote.get("value") != APPROVE:
                continue
            voter_id, voter = _account(vote, logins)
            at = gerrit_time(vote.get("date", ""))
            tags: list[Any] = vote["tags"] if isinstance(vote.get("tags"), list) else []
            if not voter or not vote.get("date"):
                result.left_out["without an account or a date"] += 1
            elif moment(at, path, f"change {number} vote date") > submitted:
                result.left_out["after the submit"] += 1
            elif (voter_id and voter_id == owner_id) or logins.person(voter) == logins.person(
                owner
            ):
                result.left_out["by the change's owner"] += 1
            elif "SERVICE_USER" in tags or logins.person(voter) in bot_people:
                result.left_out["by a bot"] += 1
            else:
                approvals.append({"by": voter, "at": at})
                result.counted += 1
        project = change.get("project")
        record = {
            "change": f"{project}~{number}" if project else str(number),
            "author": owner or f"account {owner_id}",
            "commits": [change["current_revision"]],
            "approvals": approvals,
        }
        result.reviews.append(validate(Review, Located(record, 0), path, f"change {number}"))
    return result
