"""``knightwatch import github-reviews``: review records from GitHub's REST API objects.

Input, as the API documents them (and ``gh api --paginate`` writes them):

- ``PULLS.json``: pull requests (``GET /repos/{owner}/{repo}/pulls?state=closed``); merged ones
  (``merged_at`` set) are imported, the rest skipped;
- ``REVIEWS_DIR/<number>/reviews.json``: that pull request's reviews
  (``GET .../pulls/{number}/reviews``: ``user``, ``state``, ``commit_id``, ``submitted_at``);
- ``REVIEWS_DIR/<number>/commits.json``: its commits (``GET .../pulls/{number}/commits``).

An approval counts only when it still stands at the merge (a later review by the same person
requesting changes, or its dismissal, withdraws it), was given on the pull request's final head
commit (``head.sha``) and before ``merged_at``, by someone who authored none of its commits and
is not the pull request's author, and not by a bot (``user.type`` ``Bot``, a ``[bot]`` login,
or ``review_bots``). Those approvals are written without a ``commit``: they cover the whole
change, including the merge or squash commit (``merge_commit_sha``) that lands on the branch.
Logins become addresses through ``identities.yaml``, where a person's list may name their login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.evidence.files import Located, validate
from checker.evidence.models import Review
from checker.importers.common import Imported, Logins, dig, expect, moment, read_list

PULLS = "GitHub pull request objects (GET /repos/{owner}/{repo}/pulls?state=closed)"
REVIEWS = "GitHub review objects (GET /repos/{owner}/{repo}/pulls/{number}/reviews)"
COMMITS = "GitHub commit objects (GET /repos/{owner}/{repo}/pulls/{number}/commits)"


def _login(user: Any) -> tuple[str, bool]:
    """A user object's login, and whether it is a bot."""
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        return "", False
    login: str = user["login"]
    return login, user.get("type") == "Bot" or login.endswith("[bot]")


def import_reviews(
    pulls_path: Path,
    reviews_dir: Path,
    logins: Logins,
    bots: list[str],
) -> Imported:
    """Review records for every merged pull request in ``pulls_path``."""
    pulls = read_list(pulls_path, PULLS)
    result = Imported()
    bot_people = {logins.person(b) for b in bots}
    for index, pull in enumerate(pulls, start=1):
        expect(
            isinstance(pull, dict)
            and isinstance(pull.get("number"), int)
            and isinstance(pull.get("head"), dict)
            and isinstance(pull["head"].get("sha"), str)
            and "merged_at" in pull,
            pulls_path,
            f"item #{index} is not a pull request object (number, head.sha, merged_at); "
            f"expected {PULLS}",
        )
        if not pull["merged_at"]:
            result.skipped_unmerged += 1
            continue
        result.reviews.append(_review(pull, reviews_dir, logins, bot_people, result))
    result.unmapped = logins.unmapped
    return result


def _review(
    pull: dict[str, Any],
    reviews_dir: Path,
    logins: Logins,
    bot_people: set[str],
    result: Imported,
) -> Review:
    number, head, merged_at = pull["number"], pull["head"]["sha"], str(pull["merged_at"])
    folder = reviews_dir / str(number)
    reviews_path, commits_path = folder / "reviews.json", folder / "commits.json"
    for needed in (reviews_path, commits_path):
        expect(
            needed.is_file(),
            needed,
            f"missing for merged pull request #{number}: without it its reviews cannot be "
            "judged (fetch it with gh api, see the docs)",
        )
    reviews = read_list(reviews_path, REVIEWS)
    commits = read_list(commits_path, COMMITS)

    author_login, _ = _login(pull.get("user"))
    authors_logins = {author_login.lower()} - {""}
    author_people = {logins.person(logins.address(author_login))} if author_login else set()
    shas: list[str] = []
    for index, commit in enumerate(commits, start=1):
        expect(
            isinstance(commit, dict) and isinstance(commit.get("sha"), str),
            commits_path,
            f"item #{index} is not a commit object with a sha; expected {COMMITS}",
        )
        shas.append(commit["sha"])
        login, _ = _login(commit.get("author"))
        if login:
            authors_logins.add(login.lower())
            author_people.add(logins.person(logins.address(login)))
        email = dig(commit, "commit", "author", "email")
        if isinstance(email, str) and email:
            author_people.add(logins.person(email))
    if isinstance(pull.get("merge_commit_sha"), str) and pull["merge_commit_sha"] not in shas:
        shas.append(pull["merge_commit_sha"])

    # Each reviewer's standing at the merge: an approval, or nothing.
    merged_ns = moment(merged_at, reviews_path, f"pull request #{number} merged_at")
    standing: dict[str, dict[str, Any] | None] = {}
    for index, review in enumerate(reviews, start=1):
        expect(
            isinstance(review, dict)
            and isinstance(review.get("state"), str)
            and "user" in review
            and "submitted_at" in review,
            reviews_path,
            f"item #{index} is not a review object (user, state, submitted_at); expected {REVIEWS}",
        )
    dated = [
        (moment(r["submitted_at"], reviews_path, f"review {r.get('id', '?')}"), r)
        for r in reviews
        if r.get("submitted_at")  # a pending review has none, and counts for nothing
    ]
    for submitted_ns, review in sorted(dated, key=lambda pair: pair[0]):
        login, _ = _login(review["user"])
        if not login:
            continue
        if submitted_ns > merged_ns:
            if review["state"] == "APPROVED":
                result.left_out["after the merge"] += 1
            continue
        if review["state"] == "APPROVED":
            standing[login] = review
        elif review["state"] in ("CHANGES_REQUESTED", "DISMISSED"):
            if standing.get(login) is not None:
                result.left_out["withdrawn before the merge"] += 1
            standing[login] = None
    approvals = []
    for login, review in sorted(standing.items()):
        if review is None:
            continue
        _, is_bot = _login(review["user"])
        address = logins.address(login)
        if review.get("commit_id") != head:
            result.left_out["not on the final head commit"] += 1
        elif login.lower() in authors_logins or logins.person(address) in author_people:
            result.left_out["by an author of the change"] += 1
        elif is_bot or logins.person(address) in bot_people:
            result.left_out["by a bot"] += 1
        else:
            approvals.append({"by": address, "at": review["submitted_at"]})
            result.counted += 1
    repository = dig(pull, "base", "repo", "full_name")
    record = {
        "change": f"{repository}#{number}" if isinstance(repository, str) else f"#{number}",
        "author": logins.address(author_login) if author_login else "unknown",
        "commits": shas,
        "approvals": approvals,
    }
    return validate(Review, Located(record, 0), reviews_path, f"pull request #{number}")
