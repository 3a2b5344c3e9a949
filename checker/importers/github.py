"""``knightwatch import github-reviews``: review records from GitHub's REST API objects.

Input, as the API documents them (and ``gh api --include --paginate`` writes them), or fetched
directly (``--repository OWNER/REPO``, see ``checker.importers.fetch``):

- ``PULLS.json``: pull requests (``GET /repos/{owner}/{repo}/pulls?state=closed``); merged ones
  (``merged_at`` set) are imported, the rest skipped;
- ``REVIEWS_DIR/<number>/reviews.json``: that pull request's reviews
  (``GET .../pulls/{number}/reviews``: ``user``, ``state``, ``commit_id``, ``submitted_at``,
  and ``pull_request_url``, which must be the pull request's own ``url``), every page of
  them;
- ``REVIEWS_DIR/<number>/commits.json``: its commits (``GET .../pulls/{number}/commits``);
- ``REVIEWS_DIR/<number>/events.json``: its issue events (``GET .../issues/{number}/events``).
  GitHub's answer names no issue in them; what ties the file to the pull request is that every
  event's ``url`` is an issue event of its repository (``.../repos/OWNER/REPO/issues/events/ID``,
  the pull request's own ``url`` naming the repository), and that one is its ``merged`` event,
  naming its ``merge_commit_sha`` or its head and dated at its ``merged_at`` (which also shows
  the file saved whole up to the merge). An event id in the events of two pull requests is
  refused: GitHub lists an event under one issue only, so one file was copied from the other.

Each list must show itself whole (``github_pages``): every page with its headers (``gh api
--include --paginate``), numbered by its ``Link`` header. A body saved alone is refused: pages
1 and 3, or page 1 then the empty page asked past a lost page 2, look like a whole list, and a
request for changes, an approver's own commit or a change of base on page 2 would be missing.
``PULLS.json`` alone may be one body, as ``jq`` reads it: a pull request missing from it has no
review record, and its commits are reported unreviewed.

An approval counts only when it still stands at the merge (a later review by the same person
requesting changes, or its dismissal, withdraws it), was submitted before ``merged_at``, by
someone who authored none of its commits (nor co-authored one: a ``Co-authored-by:`` line of
its message, read as :func:`checker.evidence.trailers.coauthor_lines` says; a GitHub no-reply
address names the login), committed none of them (whoever commits a commit wrote it as it
stands, whatever author it names; a no-reply address as author or committer names its login
too) and is not the pull request's author, and not by a
bot (``user.type`` ``Bot``, a ``[bot]`` login, or ``review_bots``). An approval of the final
head (``head.sha``) is written without a ``commit``: it covers the whole change, including the
merge, squash or rebase commit (``merge_commit_sha``) that lands on the branch, which is listed
only where it holds git's own merge of what it merges (``checker.evidence.merges``): a merge
pushed with code of its own is left out, and judged as a commit of whoever made it. An
approval of an earlier head is written with that ``commit``: REVIEW-002 then counts it for that
commit and its ancestors among the change's commits, not for what was pushed after it. A
pending review (never submitted) counts for nothing.

An approval given before the pull request's base was changed (an event in ``BASE_CHANGES``:
``base_ref_changed``, ``automatic_base_change_succeeded``, ``base_ref_force_pushed``,
``base_ref_deleted``, ``automatic_base_change_failed`` or ``reopened``, dated at or after it,
and before the merge) counts for nothing: GitHub lists a pull request's commits against its
base as it is now, so after a change of base the list holds commits the approver never saw (a
commit pushed straight to the old base, an unprotected ``dev``), and which commits were in the
pull request as approved cannot be told from the API (the events name no base commit). A base
branch deleted closes the pull request; pushed again under the same name, perhaps pointing
elsewhere, it is the base of the reopened pull request with no event saying so, and a closed
pull request's base is not followed at all: so a reopening counts as a change of base, whether
or not the deletion is recorded. The reviewer approves again after the change; that approval
counts as any other.

GitHub lists at most 250 commits of a pull request; a list that long is refused unless the pull
request object says (``commits``) that it has exactly that many.

Saved output is read for the repository ``--repository`` names (``OWNER/REPO``,
:class:`checker.importers.forge_origins.Origin`): GitHub gives every pull request the API's
addresses of its repository (``url``, ``issue_url``, ``commits_url``, ... and its base's
``repo``), every review its ``pull_request_url`` and every issue event its ``url``, and each one
given must name that repository (regardless of case), at the API of ``--api-url``. A pull
request that gives no ``url`` is refused, since nothing ties it to the repository (fetched, the
request names it); a review and an event must name their pull request's anyway (above).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.files import Located, validate
from checker.evidence.git import GitHistory
from checker.evidence.merges import Landing
from checker.evidence.models import Review
from checker.evidence.trailers import coauthor_lines
from checker.importers import github_pages
from checker.importers.common import (
    Imported,
    Logins,
    check_change_commits,
    commit_writers,
    credited,
    dig,
    expect,
    moment,
    once_each,
)
from checker.importers.common import (
    as_recorded as common_as_recorded,
)
from checker.importers.forge_origins import Origin

PULLS = "GitHub pull request objects (GET /repos/{owner}/{repo}/pulls?state=closed)"
REVIEWS = "GitHub review objects (GET /repos/{owner}/{repo}/pulls/{number}/reviews)"
COMMITS = "GitHub commit objects (GET /repos/{owner}/{repo}/pulls/{number}/commits)"
EVENTS = "GitHub issue event objects (GET /repos/{owner}/{repo}/issues/{number}/events)"
BASE_CHANGES = frozenset(
    {
        "base_ref_changed",
        "automatic_base_change_succeeded",
        "base_ref_force_pushed",
        "base_ref_deleted",
        "automatic_base_change_failed",
        "reopened",
    }
)
"""Issue events after which the pull request's commits may be listed against another base:
its base changed, force-pushed or deleted (GitHub then closes the pull request, and a branch
of that name pushed again, perhaps elsewhere, is its base when it is reopened), and any
reopening (while it is closed GitHub follows no change of its base, and records none)."""
WHOLE_REVIEWS = (
    "save it with 'gh api --include --paginate repos/OWNER/REPO/pulls/{number}/reviews"
    "?per_page=100' (the docs' commands)"
)
SAVE = "save it with 'gh api --include --paginate {address}' (the docs' commands)"
PULL_PARAMETERS = frozenset({"state", "sort", "direction"})
"""What a saved pull request list's addresses may name besides its page: which pull requests
(closed ones hold the merged) and their order, no filter that would leave merged ones out."""
COMMIT_LIMIT = 250
"""GitHub's "List commits on a pull request" returns no more than this many."""
PULL_URL = re.compile(r"(?P<repository>.+/repos/(?P<name>[^/]+/[^/]+))/pulls/(?P<number>[0-9]+)")
"""A pull request object's ``url``: its repository's API URL and name, and its number."""
PULL_ADDRESSES = (
    ("url", "/pulls/{number}"),
    ("issue_url", "/issues/{number}"),
    ("commits_url", "/pulls/{number}/commits"),
    ("review_comments_url", "/pulls/{number}/comments"),
    ("comments_url", "/issues/{number}/comments"),
    ("review_comment_url", None),
    ("statuses_url", None),
    ("base.repo.url", ""),
    ("_links.self.href", "/pulls/{number}"),
    ("_links.issue.href", "/issues/{number}"),
    ("_links.commits.href", "/pulls/{number}/commits"),
    ("_links.review_comments.href", "/pulls/{number}/comments"),
    ("_links.comments.href", "/issues/{number}/comments"),
    ("_links.review_comment.href", None),
    ("_links.statuses.href", None),
)
"""The API addresses GitHub gives a pull request, each after its repository's
(``API/repos/OWNER/REPO``), and what follows it where that names the pull request itself
(``statuses_url`` names its head commit). ``head.repo`` is not compared: a pull request from a
fork into the repository is the repository's."""
UNNAMED = "a commit of the change has a writer who is not an identity"
"""Why every approval of a change is left out whose commit was written from ``dana@laptop``."""
REVIEW_ADDRESSES = ("pull_request_url", "_links.pull_request.href")
"""The API addresses GitHub gives a review: its pull request's."""


@dataclass(frozen=True)
class PullData:
    """One merged pull request's objects, and where each list came from (for messages)."""

    pull: dict[str, Any]
    reviews: list[Any]
    commits: list[Any]
    reviews_source: Path
    commits_source: Path
    events: list[Any]
    events_source: Path


def login_of(user: Any) -> tuple[str, bool]:
    """A user object's login, and whether it is a bot."""
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        return "", False
    login: str = user["login"]
    return login, user.get("type") == "Bot" or login.endswith("[bot]")


def check_pull(pull: Any, index: int, source: Path) -> None:
    """Refuse an item that is not a pull request object."""
    expect(
        isinstance(pull, dict)
        and isinstance(pull.get("number"), int)
        and isinstance(pull.get("head"), dict)
        and isinstance(pull["head"].get("sha"), str)
        and isinstance(dig(pull, "base", "sha"), str)
        and "merged_at" in pull,
        source,
        f"item #{index} is not a pull request object (number, head.sha, base.sha, merged_at); "
        f"expected {PULLS}",
    )
    number = pull["number"]
    found = PULL_URL.fullmatch(str(pull.get("url")))
    expect(
        not pull["merged_at"] or (found is not None and int(found["number"]) == number),
        source,
        f"item #{index}: merged pull request #{number} has no url naming it "
        f"(https://api.github.com/repos/OWNER/REPO/pulls/{number}), which ties the events and "
        f"reviews saved for it to it; expected {PULLS}",
    )


def check_pull_repository(pull: dict[str, Any], index: int, origin: Origin, source: Path) -> None:
    """Refuse a saved pull request that is not ``origin``'s, or that names no repository:
    each API address GitHub gives it, and its base's repository, must be the repository's,
    and its own must be this pull request's."""
    number = pull["number"]
    where = f"item #{index} (pull request #{number})"
    for field, after in PULL_ADDRESSES:
        rest = origin.check(pull, field, where, source)
        own = None if after is None else after.format(number=number)
        expect(
            rest is None or own is None or rest.rstrip("/") == own,
            source,
            f"{where}: {field} {dig(pull, *field.split('.'))!r} is not pull request #{number}'s "
            f"address (.../repos/OWNER/REPO{own}); expected {PULLS}",
        )
    expect(
        pull.get("url") is not None,
        source,
        f"{where} names no repository (no url: trimmed), so nothing shows it is "
        f"{origin.repository}'s; save it whole, or import with --repository "
        f"{origin.repository} alone, which fetches its pull requests",
    )
    name = dig(pull, "base", "repo", "full_name")
    if name is not None:
        origin.same(str(name), f"{where} is, by its base.repo.full_name", source)


def import_reviews(
    pulls_path: Path,
    reviews_dir: Path,
    origin: Origin,
    logins: Logins,
    bots: list[str],
    history: GitHistory | None = None,
) -> Imported:
    """Review records for every merged pull request in ``pulls_path``, every one of it (and
    every review and event saved for it) ``origin``'s."""
    save = SAVE.format(address="repos/OWNER/REPO/pulls?state=closed&per_page=100")
    listed = github_pages.read_list(pulls_path, PULLS, save, bodies=True, asked=PULL_PARAMETERS)
    for index, pull in enumerate(listed, start=1):
        check_pull(pull, index, pulls_path)
        check_pull_repository(pull, index, origin, pulls_path)
    pulls, remarks = once_each(listed, "number", lambda n: f"pull request #{n}", pulls_path)
    merged = []
    skipped = 0
    for pull in pulls:
        if not pull["merged_at"]:
            skipped += 1
            continue
        merged.append(_saved(pull, reviews_dir, origin))
    result = records(merged, logins, bots, history)
    result.skipped_unmerged += skipped
    result.remarks.extend(remarks)
    return result


def _saved(pull: dict[str, Any], reviews_dir: Path, origin: Origin) -> PullData:
    number = pull["number"]
    folder = reviews_dir / str(number)
    reviews_path, commits_path = folder / "reviews.json", folder / "commits.json"
    events_path = folder / "events.json"
    for needed in (reviews_path, commits_path, events_path):
        expect(
            needed.is_file(),
            needed,
            f"missing for merged pull request #{number}: without it its reviews cannot be "
            "judged (fetch it with gh api, see the docs)"
            + (
                "; its events (gh api --include --paginate "
                f"repos/OWNER/REPO/issues/{number}/events) show whether its base was changed "
                "after an approval"
                if needed == events_path
                else ""
            ),
        )
    commits = _save(f"pulls/{number}/commits")
    data = PullData(
        pull,
        github_pages.read_list(reviews_path, REVIEWS, WHOLE_REVIEWS.format(number=number)),
        github_pages.read_list(commits_path, COMMITS, commits),
        reviews_path,
        commits_path,
        github_pages.read_list(events_path, EVENTS, _save(f"issues/{number}/events")),
        events_path,
    )
    _check_saved_repositories(data, origin)
    return data


def _save(list_path: str) -> str:
    """How to save a pull request's list at ``list_path`` (after the repository's address)."""
    return SAVE.format(address=f"repos/OWNER/REPO/{list_path}?per_page=100")


def _check_saved_repositories(data: PullData, origin: Origin) -> None:
    """Refuse a saved review or issue event whose API addresses name another repository than
    ``origin``'s (that each names its own pull request is checked apart, saved or fetched)."""
    for items, fields, source, kind in (
        (data.reviews, REVIEW_ADDRESSES, data.reviews_source, "review"),
        (data.events, ("url",), data.events_source, "event"),
    ):
        for index, item in enumerate(items, start=1):
            if isinstance(item, dict):
                for field in fields:
                    origin.check(item, field, f"item #{index} ({kind} {item.get('id')})", source)


def records(
    pulls: list[PullData], logins: Logins, bots: list[str], history: GitHistory | None = None
) -> Imported:
    """One review record per merged pull request; each one's commit list is checked against
    its head (and, where ``history`` has them, against the repository)."""
    result = Imported()
    _events_once(pulls)
    bot_people = {logins.person(b) for b in bots}
    landed = credited(history, [found for data in pulls if (found := _landing(data))], result)
    for data in pulls:
        result.reviews.append(_review(data, logins, bot_people, result, history, landed))
    result.unmapped = logins.unmapped
    return result


def _landing(data: PullData) -> Landing | None:
    """The commit that landed the pull request on its branch (``merge_commit_sha``: a merge,
    squash or rebase commit), with the head approved, where its own commits do not hold it."""
    landed = data.pull.get("merge_commit_sha")
    listed = {str(commit.get("sha")) for commit in data.commits if isinstance(commit, dict)}
    if not isinstance(landed, str) or landed in listed:
        return None
    return Landing(landed, data.pull["head"]["sha"])


def _commits(data: PullData, logins: Logins) -> tuple[list[str], set[str], set[str]]:
    """The change's commit shas, and the logins and people of its writers: the pull request's
    author, and each commit's author, committer and co-authors. A committer wrote the commit as
    it stands whatever author it names (``git commit --author``): the check sees that in git,
    but not once a squashed or rebased branch's commits are gone from the repository, and an
    approval given within a minute of a squash covers the squash commit by its date alone."""
    pull, number = data.pull, data.pull["number"]
    count = pull.get("commits")
    if len(data.commits) >= COMMIT_LIMIT and count != len(data.commits):
        raise_limit(number, len(data.commits), data.commits_source)
    author_login, _ = login_of(pull.get("user"))
    logins_seen = {author_login.lower()} - {""}
    people = {logins.person(logins.address(author_login))} if author_login else set()
    shas: list[str] = []
    for index, commit in enumerate(data.commits, start=1):
        expect(
            isinstance(commit, dict) and isinstance(commit.get("sha"), str),
            data.commits_source,
            f"item #{index} is not a commit object with a sha; expected {COMMITS}",
        )
        shas.append(commit["sha"])
        login, _ = login_of(commit.get("author"))
        if login:
            logins_seen.add(login.lower())
            people.add(logins.person(logins.address(login)))
        # Whoever commits writes the commit too: their login and address (GitHub's own,
        # web-flow's noreply@github.com, is no reviewer's), not named as a login to map; a
        # login identities.yaml lists is its person's, as an author's is.
        committer, _ = login_of(commit.get("committer"))
        logins_seen.add(committer.lower())
        if (mapped := logins.mapped(committer)) is not None:
            people.add(logins.person(mapped))
        for role in ("author", "committer"):
            email = dig(commit, "commit", role, "email")
            if isinstance(email, str) and email:
                _wrote(email, logins, logins_seen, people)
        message = dig(commit, "commit", "message")
        for _, value in coauthor_lines(message if isinstance(message, str) else ""):
            _wrote(value, logins, logins_seen, people)
    return shas, logins_seen - {""}, people


def _wrote(value: str, logins: Logins, logins_seen: set[str], people: set[str]) -> None:
    """Add the writer an address names to ``people``, and where it is a GitHub no-reply
    address, the login it names to ``logins_seen`` and that login's person to ``people``. An
    author's or committer's no-reply address names the login as a co-author's does: a commit
    GitHub links to no account (``committer`` null) was committed by that login all the same,
    and its approval counted."""
    people.add(logins.person(value))
    noreply = noreply_login(value)
    if noreply:
        logins_seen.add(noreply.lower())
        people.add(logins.person(logins.address(noreply)))


def _writers(commits: list[Any]) -> list[tuple[str, str, Any]]:
    """(commit, role, address) of each writer of the change's commits: the author and committer
    of each, and its co-authors. A merge among them (the base merged into the branch) is no
    exception: its resolution, and any code written in it, lands with the squash commit."""
    return [
        writer
        for commit in commits
        for writer in commit_writers(
            str(commit.get("sha")),
            {role: dig(commit, "commit", role, "email") for role in ROLES},
            dig(commit, "commit", "message"),
        )
    ]


ROLES = ("author", "committer")
NOREPLY = "users.noreply.github.com"


def noreply_login(value: str) -> str | None:
    """The login in a GitHub no-reply address (``ID+LOGIN@`` or ``LOGIN@``
    ``users.noreply.github.com``), as GitHub writes co-authors' addresses."""
    text = value.rsplit("<", 1)[-1].split(">", 1)[0] if "<" in value else value
    local, _, domain = text.strip().rpartition("@")
    if domain.lower() != NOREPLY or not local:
        return None
    return local.split("+", 1)[-1] or None


def approval_returned(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why ``new``, a pull request's record, is older than ``old``, the one an earlier import
    wrote; None when it is not. GitHub withdraws an approval after the merge (a dismissal, which
    then shows the review ``DISMISSED``) and never gives one back, and a merged pull request
    gains no review before its merge: so a record that counts an approval the earlier one did
    not was read from files saved before the dismissal, and replacing the record would count
    the withdrawn approval again. Approvals are matched by when they were given and on which
    commit, not by ``by``, which a login mapped in identities.yaml since respells."""
    was = Counter(_given(approval) for approval in old.get("approvals") or [])
    for approval in new.get("approvals") or []:
        if was[_given(approval)] > 0:
            was[_given(approval)] -= 1
            continue
        return (
            f"this import counts the approval by {approval.get('by')} given at "
            f"{approval.get('at')}, which the record imported earlier does not (GitHub "
            "withdraws an approval after the merge, by a dismissal, and never gives one back; "
            "if review_bots or identities.yaml changed since, remove the record by hand and "
            "import again)"
        )
    return None


def as_recorded(
    reviews: list[Review], existing: tuple[Path, dict[str, dict[str, Any]]], repository: str
) -> list[Review]:
    """``reviews``, each under the ``change`` of the record an earlier import wrote of the same
    pull request. GitHub's names are the same in any case, and a pull request saved without its
    ``base.repo`` is named ``#NUMBER``: one spelt otherwise than its record was added beside it
    rather than bringing it up to date, past :func:`approval_returned`, and the two records'
    approvals counted together (files saved before a dismissal, their ``full_name`` respelt or
    trimmed, brought the withdrawn approval back). ``repository`` is ``--repository``, whose
    every pull request the import read is; ``existing``, the evidence file and its records."""
    same = functools.partial(_pull, repository=repository)
    return common_as_recorded(reviews, "change", existing, "github-reviews", same, "pull request")


def _pull(change: str, repository: str) -> tuple[str, str]:
    """The pull request a record's ``change`` names, as :func:`as_recorded` matches it: its
    repository regardless of case (``repository`` where it names none) and its number."""
    name, _, number = change.rpartition("#")
    return ((name or repository).casefold(), number)


def _given(approval: Any) -> tuple[str, str]:
    """An approval of a record as :func:`approval_returned` matches it: when, and on what."""
    if not isinstance(approval, dict):
        return ("", "")
    return (str(approval.get("at")), str(approval.get("commit") or ""))


def raise_limit(number: int, listed: int, source: Path) -> None:
    """Refuse a commit list cut at GitHub's limit."""
    expect(
        False,
        source,
        f"pull request #{number} lists {listed} commits: GitHub lists no more than "
        f"{COMMIT_LIMIT}, so some of its commits may be missing and would be reported "
        "unreviewed or, worse, judged without them. Import it with --repository OWNER/REPO "
        "(pages through the compare API), or save its commits with "
        "'gh api --paginate repos/OWNER/REPO/compare/BASE...HEAD --jq .commits' and its object "
        "with 'gh api repos/OWNER/REPO/pulls/NUMBER' (which states its commit count)",
    )


def _check_reviews(data: PullData) -> None:
    """Every item of the reviews is a review object of this pull request (its
    ``pull_request_url`` is the pull request's ``url``): an approval saved from another pull
    request of the same head would cover what its reviewer never saw."""
    number, own = data.pull["number"], str(data.pull.get("url"))
    for index, review in enumerate(data.reviews, start=1):
        expect(
            isinstance(review, dict)
            and isinstance(review.get("state"), str)
            and "user" in review
            and ("submitted_at" in review or review.get("state") == "PENDING"),
            data.reviews_source,
            f"item #{index} is not a review object (user, state, submitted_at); expected {REVIEWS}",
        )
        url = review.get("pull_request_url")
        expect(
            isinstance(url, str),
            data.reviews_source,
            f"item #{index} names no pull_request_url (the pull request it reviews, {own}); "
            f"expected {REVIEWS} of #{number}",
        )
        expect(
            url.lower() == own.lower(),
            data.reviews_source,
            f"item #{index} is a review of {url}, saved for pull request #{number} ({own}); "
            f"expected {REVIEWS} of #{number}",
        )


def _standing(data: PullData, merged_ns: int, result: Imported) -> dict[str, dict[str, Any] | None]:
    """Each reviewer's standing at the merge: their approval, or nothing (the reviews checked
    by ``_check_reviews``)."""
    pending = [r for r in data.reviews if not r.get("submitted_at")]
    if pending:
        result.left_out["pending, never submitted"] += len(pending)
    dated = [
        (moment(r["submitted_at"], data.reviews_source, f"review {r.get('id', '?')}"), r)
        for r in data.reviews
        if r.get("submitted_at")
    ]
    standing: dict[str, dict[str, Any] | None] = {}
    for submitted_ns, review in sorted(dated, key=lambda pair: pair[0]):
        login, _ = login_of(review["user"])
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
    return standing


def base_changed(data: PullData, merged_ns: int) -> int | None:
    """When the pull request's base was last changed before its merge (ns since the epoch), or
    None when it never was. Its events must be its own, saved whole up to the merge."""
    _check_events(data, merged_ns)
    changes = [
        moment(event.get("created_at"), data.events_source, f"event {event.get('id', '?')}")
        for event in data.events
        if event["event"] in BASE_CHANGES
    ]
    return max((ns for ns in changes if ns <= merged_ns), default=None)


def _events_once(pulls: list[PullData]) -> None:
    """No issue event is in the events of two pull requests: GitHub lists each under its own
    issue only, so the one file was copied from the other, and hides what that pull request's
    own events hold."""
    seen: dict[str, PullData] = {}
    for data in pulls:
        for index, event in enumerate(data.events, start=1):
            key = event.get("id") if isinstance(event, dict) else None
            if not isinstance(key, int | str):
                continue
            # Compared as text: an id written 5 in one file and "5" in the other is one event,
            # as the url both give it (.../issues/events/5) says.
            first = seen.setdefault(str(key), data)
            expect(
                first.pull["number"] == data.pull["number"],
                data.events_source,
                f"item #{index}, event {key}, is also in the events saved for pull request "
                f"#{first.pull['number']} ({first.events_source}): GitHub lists an event under "
                f"its own issue only; save each pull request's events from its own "
                f"GET .../issues/NUMBER/events",
            )


def _check_events(data: PullData, merged_ns: int) -> None:
    """Every item is an issue event of the pull request's repository, none names another issue,
    and one is the pull request's ``merged`` event, naming what it merged at the time it
    merged: a file saved from another pull request, or cut short (one page of several), would
    hide a change of base."""
    pull, number = data.pull, data.pull["number"]
    found = PULL_URL.fullmatch(str(pull.get("url")))
    if found is None:  # check_pull refused it already
        raise InputError(f"pull request #{number} has no url", path=str(data.events_source))
    for index, event in enumerate(data.events, start=1):
        _check_event(data, index, event, found)
    named = [sha for sha in (pull.get("merge_commit_sha"), pull["head"]["sha"]) if sha]
    expect(
        any(
            e["event"] == "merged"
            and isinstance(e.get("commit_id"), str)
            and e["commit_id"] in named
            and moment(e.get("created_at"), data.events_source, f"event {e.get('id', '?')}")
            == merged_ns
            for e in data.events
        ),
        data.events_source,
        f"no merged event naming pull request #{number}'s merge commit or its head and dated "
        f"when it merged at {pull['merged_at']}: these are not its events, or they were cut "
        f"short (save them with 'gh api --include --paginate'); expected {EVENTS} of #{number}",
    )


def _check_event(data: PullData, index: int, event: Any, pull_url: re.Match[str]) -> None:
    """One item: an issue event (``event``, ``id``), of the pull request's repository (its
    ``url``) and, where it names its issue (the repository's list does), of this one."""
    number, name = data.pull["number"], pull_url["name"]
    expect(
        isinstance(event, dict) and isinstance(event.get("event"), str) and "id" in event,
        data.events_source,
        f"item #{index} is not an issue event object (id, event, created_at); expected {EVENTS}",
    )
    url = event.get("url")
    expect(
        isinstance(url, str),
        data.events_source,
        f"item #{index} names no issue event url (.../repos/{name}/issues/events/ID), which ties "
        f"it to its repository; expected {EVENTS} of #{number}",
    )
    own = f"{pull_url['repository']}/issues/events/{event['id']}"
    expect(
        url.lower() == own.lower(),
        data.events_source,
        f"item #{index} is not an issue event of {name} ({url}, not {own}); expected {EVENTS} "
        f"of #{number}",
    )
    other = dig(event, "issue", "number")
    expect(
        other is None or other == number,
        data.events_source,
        f"item #{index} is an event of #{other}, saved for pull request #{number}; "
        f"expected {EVENTS} of #{number}",
    )


def _check_dismissals(data: PullData) -> None:
    """Every review the events record as dismissed (``review_dismissed``, naming it by
    ``dismissed_review.review_id``) is saved, and saved ``DISMISSED``: reviews saved before
    the dismissal, or before the review, miss whatever was submitted since, too."""
    dismissed = {  # an integer as recorded, a string as GitHub's docs type it: compared as text
        str(dig(event, "dismissed_review", "review_id")): event
        for event in data.events
        if event["event"] == "review_dismissed"
        and isinstance(dig(event, "dismissed_review", "review_id"), int | str)
    }
    saved = {str(review.get("id")) for review in data.reviews}
    for key, event in dismissed.items():
        expect(
            key in saved,
            data.reviews_source,
            f"{data.events_source} records the dismissal of review {key} (review_dismissed, "
            f"event {event.get('id')}, at {event.get('created_at')}), which these reviews do "
            "not hold: they were saved before it was submitted, or are not the whole list; "
            "save them again",
        )
    for index, review in enumerate(data.reviews, start=1):
        key = review.get("id")
        event = dismissed.get(str(key))
        expect(
            event is None or review["state"] == "DISMISSED",
            data.reviews_source,
            f"item #{index}, review {key}, is {review['state']}, but {data.events_source} records "
            f"its dismissal (review_dismissed, event {(event or {}).get('id')}, at "
            f"{(event or {}).get('created_at')}): these reviews were saved before it; save them "
            "again",
        )


@dataclass(frozen=True)
class _Judge:
    """Which standing approvals of one pull request count, and how each is recorded."""

    head: str
    change_commits: set[str]
    author_logins: set[str]
    author_people: set[str]
    bot_people: set[str]
    changed_ns: int | None
    """When its base was last changed before the merge, if it was."""
    logins: Logins
    source: Path
    unnamed: str = ""
    """Why a writer of one of its commits names nobody (``Logins.unnamed``), or empty."""

    def approval(
        self, login: str, review: dict[str, Any], result: Imported
    ) -> dict[str, str] | None:
        """The record of one approval, or None (counted in ``result`` by why)."""
        why = self._left_out(login, review)
        if why:
            result.left_out[why] += 1
            return None
        address = self.logins.address(login)
        result.counted += 1
        commit = review.get("commit_id")
        if commit == self.head:
            return {"by": address, "at": review["submitted_at"]}
        # Covers what it saw: REVIEW-002 counts it for this commit and its ancestors.
        result.notes["of an earlier head, recorded with its commit"] += 1
        return {"by": address, "at": review["submitted_at"], "commit": str(commit)}

    def _left_out(self, login: str, review: dict[str, Any]) -> str | None:
        _, is_bot = login_of(review["user"])
        person = self.logins.person(self.logins.address(login))
        commit = review.get("commit_id")
        if self.unnamed:
            return UNNAMED
        if login.lower() in self.author_logins or person in self.author_people:
            return "by an author of the change"
        if is_bot or person in self.bot_people:
            return "by a bot"
        if commit != self.head and not (isinstance(commit, str) and commit in self.change_commits):
            return "on a commit no longer in the pull request"
        submitted = moment(review["submitted_at"], self.source, f"review {review.get('id', '?')}")
        if self.changed_ns is not None and submitted <= self.changed_ns:
            return "given before the pull request's base was changed"
        return None


def _review(
    data: PullData,
    logins: Logins,
    bot_people: set[str],
    result: Imported,
    history: GitHistory | None,
    landed: set[Landing],
) -> Review:
    pull = data.pull
    number, head, merged_at = pull["number"], pull["head"]["sha"], str(pull["merged_at"])
    shas, author_logins, author_people = _commits(data, logins)
    what = f"pull request #{number}"
    check_change_commits(history, head, shas, data.commits_source, what, pull["base"]["sha"])
    change_commits = set(shas)
    landing = _landing(data)
    if landing is not None and landing in landed:  # what landed holds only what was merged
        shas.append(landing.commit)
    merged_ns = moment(merged_at, data.reviews_source, f"pull request #{number} merged_at")
    changed = base_changed(data, merged_ns)
    _check_reviews(data)
    _check_dismissals(data)
    unnamed = logins.unnamed(_writers(data.commits))
    if unnamed:
        result.remarks.append(f"pull request #{number}: {unnamed}: no approval of it counts")
    judge = _Judge(
        head, change_commits, author_logins, author_people, bot_people, changed, logins,
        data.reviews_source, unnamed,
    )  # fmt: skip
    approvals = [
        found
        for login, review in sorted(_standing(data, merged_ns, result).items())
        if review is not None and (found := judge.approval(login, review, result))
    ]
    author_login, _ = login_of(pull.get("user"))
    repository = dig(pull, "base", "repo", "full_name")
    record = {
        "change": f"{repository}#{number}" if isinstance(repository, str) else f"#{number}",
        "author": logins.address(author_login) if author_login else "unknown",
        "commits": shas,
        "approvals": approvals,
    }
    return validate(Review, Located(record, 0), data.reviews_source, f"pull request #{number}")
