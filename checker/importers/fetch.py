"""Fetching the forges' objects directly, through their well-kept clients: PyGithub's requester
and python-gitlab's HTTP layer. Both page through lists, wait out rate limits (PyGithub's
``GithubRetry``, python-gitlab obeys 429 answers by default) and take the token from the environment
(``GITHUB_TOKEN`` or ``GH_TOKEN``; ``GITLAB_TOKEN``). What they return are the API's own
objects, judged by the same code as saved output.

The API's base URL comes only from the command line (``--api-url``), never from a repository's
configuration: a token is sent there.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from checker.errors import InputError, UsageError
from checker.importers import forge_deploys, github, github_deployments, gitlab, gitlab_versions
from checker.importers import gitlab_deployments as gitlab_deploys
from checker.importers.common import dig, expect, moment, once_each, option_moment

GITHUB_API = "https://api.github.com"
GITHUB_TOKENS = ("GITHUB_TOKEN", "GH_TOKEN")
GITLAB_TOKENS = ("GITLAB_TOKEN",)
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _client_missing(package: str) -> UsageError:
    return UsageError(
        f"fetching from the API needs {package}, which is not installed",
        hint="pip install 'knightwatch[forges]', or read saved API output (see the docs)",
    )


def _token(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class GitHubApi:
    """GET and paged GET against GitHub's REST API, through PyGithub's requester."""

    def __init__(self, api_url: str) -> None:
        try:
            import github as pygithub
            from github import Auth
        except ImportError:
            raise _client_missing("PyGithub") from None

        token = _token(GITHUB_TOKENS)
        self._client = pygithub.Github(
            base_url=api_url.rstrip("/"),
            auth=Auth.Token(token) if token else None,
            per_page=100,
            seconds_between_requests=None,
        )
        self._requester = self._client.requester
        self.source = Path(api_url)

    def get(self, path: str, parameters: dict[str, Any] | None = None) -> Any:
        """One response's JSON; a failure is an input error naming the request."""
        from github import GithubException

        try:
            _, data = self._requester.requestJsonAndCheck("GET", path, parameters)
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            raise InputError(
                f"GET {path}: HTTP {exc.status}: {message}",
                hint="check --repository, --api-url and the token in GITHUB_TOKEN or GH_TOKEN",
            ) from None
        return data

    def pages(self, path: str, parameters: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every page's JSON, following the ``Link: rel="next"`` header."""
        from github import GithubException

        url: str | None = path
        params = {"per_page": 100, **(parameters or {})}
        while url is not None:
            try:
                headers, data = self._requester.requestJsonAndCheck("GET", url, params)
            except GithubException as exc:
                raise InputError(
                    f"GET {url}: HTTP {exc.status}",
                    hint="check --repository, --api-url and the token in GITHUB_TOKEN or GH_TOKEN",
                ) from None
            yield data
            found = _NEXT.search(str(headers.get("link", "")))
            url, params = (found.group(1), {}) if found else (None, {})

    def items(self, path: str, parameters: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a paged list."""
        for page in self.pages(path, parameters):
            expect(isinstance(page, list), self.source / path, "expected a JSON array")
            yield from page

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


def github_pulls(
    api: GitHubApi, repository: str, since: str | None
) -> tuple[list[github.PullData], int, list[str]]:
    """The merged pull requests updated since ``since`` (all when None), newest update first,
    with their reviews, commits and issue events; how many closed but unmerged ones were
    passed; and what was said of pull requests listed twice (one that moved while the pages
    were read)."""
    since_ns = option_moment(since, "--since") if since else None
    base = f"/repos/{repository}"
    found: list[github.PullData] = []
    skipped = 0
    listing = api.items(
        f"{base}/pulls", {"state": "closed", "sort": "updated", "direction": "desc"}
    )
    source = api.source / f"{base}/pulls"
    listed = []
    for index, pull in enumerate(listing, start=1):
        github.check_pull(pull, index, source)
        updated = pull.get("updated_at")
        if (
            since_ns is not None
            and isinstance(updated, str)
            and moment(updated, source, "updated_at") < since_ns
        ):
            break  # sorted by update: every later one is older still
        listed.append(pull)
    pulls, remarks = once_each(listed, "number", lambda n: f"pull request #{n}", source)
    for pull in pulls:
        if not pull["merged_at"]:
            skipped += 1
            continue
        number = pull["number"]
        reviews = list(api.items(f"{base}/pulls/{number}/reviews"))
        commits = list(api.items(f"{base}/pulls/{number}/commits"))
        if len(commits) >= github.COMMIT_LIMIT:
            pull, commits = _compare(api, base, pull)
        events = list(api.items(f"{base}/issues/{number}/events"))
        found.append(
            github.PullData(
                pull,
                reviews,
                commits,
                api.source / f"{base}/pulls/{number}/reviews",
                api.source / f"{base}/pulls/{number}/commits",
                events,
                api.source / f"{base}/issues/{number}/events",
            )
        )
    return found, skipped, remarks


def _compare(api: GitHubApi, base: str, pull: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """A long pull request's commits, paged through the compare API, with its commit count."""
    number = pull["number"]
    full = api.get(f"{base}/pulls/{number}")
    base_sha = dig(full, "base", "sha")
    if not isinstance(base_sha, str):
        raise InputError(f"pull request #{number} has no base.sha", path=f"{base}/pulls/{number}")
    commits: list[Any] = []
    for page in api.pages(f"{base}/compare/{base_sha}...{pull['head']['sha']}"):
        page_commits = dig(page, "commits")
        expect(
            isinstance(page_commits, list),
            api.source / f"{base}/compare",
            "expected a comparison object with commits",
        )
        commits.extend(page_commits)
    return {**pull, "commits": full.get("commits")}, commits


def github_deployment_data(
    api: GitHubApi, repository: str, environments: tuple[str, ...]
) -> tuple[list[github_deployments.DeploymentData], set[str], list[str]]:
    """Every deployment (to ``environments``, or all), with its statuses, and the run's
    approvals and triggering actor where a workflow run made it; every environment listed;
    and what was said of deployments listed twice."""
    base = f"/repos/{repository}"
    source = api.source / f"{base}/deployments"
    found = []
    seen = set()
    listed, said = github_listed_whole(lambda: list(api.items(f"{base}/deployments")), source)
    items, remarks = forge_deploys.listed_once(listed, source)
    remarks = [*said, *remarks]
    for item in items:
        seen.add(item["environment"])
        statuses = list(api.items(f"{base}/deployments/{item['id']}/statuses"))
        named = {item["environment"]} | {dig(status, "environment") for status in statuses}
        if environments and not any(github_deployments.named(n, environments) for n in named):
            continue  # a status may move a deployment to another environment: read them all
        run = github_deployments.run_id(statuses)
        approvals = list(api.items(f"{base}/actions/runs/{run}/approvals")) if run else None
        run_object = api.get(f"{base}/actions/runs/{run}") if run else None
        found.append(
            github_deployments.DeploymentData(
                item, statuses, approvals, run_object, source / str(item["id"]) / "statuses"
            )
        )
    return found, seen, remarks


def github_listed_whole(
    listing: Callable[[], list[Any]], source: Path
) -> tuple[list[Any], list[str]]:
    """The deployments of ``listing``, GitHub's list newest first, read twice, and again while
    one reading lists a deployment that the reading before it did not, older than the newest
    that one listed; and what was said of each reading missing one. A deployment deleted while
    the pages are read moves the ones after it back a place: the first of the next page moves
    onto the page already read, and is never read. Nothing in a reading shows it; the next
    reading lists it. A deployment created meanwhile is newer than every one listed before, and
    misses nothing. Read ``LISTINGS`` times, each missing one, the list is refused."""
    said: list[str] = []
    earlier = _github_reading(listing, source)
    for _ in range(LISTINGS - 1):
        later = _github_reading(listing, source)
        missed = _missed(earlier, later)
        if not missed:
            return earlier, said
        said.append(
            f"{source}: {_deployments_named(missed)} missing from a reading of the list and "
            "listed by the next (a deployment deleted while the pages were read moves the one "
            "after it onto a page already read): the list is read again"
        )
        earlier = later
    raise InputError(
        f"{_deployments_named(missed)} missing from one reading of the list and listed by the "
        f"next, in each of {LISTINGS} readings: a deployment deleted while the pages are read "
        "moves the first of the next page onto the page already read, so a deployment, a "
        "failure perhaps, was never read",
        path=str(source),
        hint="import again once nobody is deleting deployments",
    )


def _missed(earlier: list[Any], later: list[Any]) -> list[int]:
    """The deployments ``later`` lists and ``earlier`` does not, older than the newest
    ``earlier`` lists: there when it was read (ids grow), and never read."""
    before = {item["id"] for item in earlier}
    newest = max(before, default=0)
    return sorted(ident for ident in {item["id"] for item in later} - before if ident < newest)


def _github_reading(listing: Callable[[], list[Any]], source: Path) -> list[Any]:
    """One reading of GitHub's deployment list, each item checked."""
    items = listing()
    for index, item in enumerate(items, start=1):
        github_deployments.check_deployment(item, index, source)
    return items


class GitLabApi:
    """GET and paged GET against GitLab's REST API, through python-gitlab."""

    def __init__(self, api_url: str) -> None:
        try:
            import gitlab as pygitlab
        except ImportError:
            raise _client_missing("python-gitlab") from None

        self._client = pygitlab.Gitlab(
            api_url.rstrip("/"),
            private_token=_token(GITLAB_TOKENS),
            per_page=100,
            retry_transient_errors=True,
        )
        self.source = Path(api_url)

    def get(self, path: str) -> Any:
        """One response's JSON; a failure is an input error naming the request."""
        return self._call(path, lambda: self._client.http_get(path))

    def found(self, path: str) -> Any:
        """One response's JSON, or None where GitLab answers 404; another failure is an
        input error naming the request."""
        return self._call(path, lambda: self._client.http_get(path), None)

    def items(
        self, path: str, parameters: dict[str, Any] | None = None, absent: str = ""
    ) -> list[Any]:
        """Every item of a paged list; ``absent``, where given, says what a 404 means."""
        query = parameters or {}
        found = self._call(
            path,
            lambda: list(self._client.http_list(path, query_data=query, iterator=True)),
            absent,
        )
        return list(found)

    @staticmethod
    def _call(path: str, request: Callable[[], Any], absent: str | None = "") -> Any:
        """``request``'s answer; a 404 is None where ``absent`` is None, else an input error
        that says what it means where ``absent`` does."""
        import gitlab as pygitlab

        try:
            return request()
        except pygitlab.GitlabError as exc:
            if absent is None and exc.response_code == 404:
                return None
            if absent and exc.response_code == 404:
                raise InputError(f"GET {path}: HTTP 404: {absent}") from None
            raise InputError(
                f"GET {path}: HTTP {exc.response_code}: {exc.error_message}",
                hint="check --project, --api-url and the token in GITLAB_TOKEN",
            ) from None

    def close(self) -> None:
        """Release the session."""
        self._client.session.close()


NO_STATE_EVENTS = (
    "this GitLab gives no state events of the merge request (resource_state_events, in GitLab "
    "since 13.2; a token that may not read them is answered 404 too), and without them it "
    "cannot be known whether the merge request was closed and reopened after an approval (a "
    "push while it was closed writes no note), so no approval of it can be judged; fetch with "
    "a token that may read the project's merge requests and their events, on GitLab 13.2 or "
    "later"
)
"""What a 404 for ``resource_state_events`` means, and what to do: nothing read stands for
the missing state events (an empty list would say it was never reopened)."""


def _project_path(project: str) -> str:
    return "/projects/" + project.replace("/", "%2F")


def gitlab_merge_requests(
    api: GitLabApi, project: str, since: str | None
) -> tuple[list[gitlab.MergeRequestData], Any]:
    """The merged merge requests (updated since ``since``), with their approvals, commits,
    notes, state events and diff versions, and the project's approval settings."""
    base = _project_path(project)
    settings = api.get(f"{base}/approvals")
    parameters: dict[str, Any] = {"state": "merged", "order_by": "updated_at", "sort": "desc"}
    if since:
        parameters["updated_after"] = since
    found = []
    source = api.source / f"{base}/merge_requests"
    users: dict[int, Any] = {}
    for index, item in enumerate(api.items(f"{base}/merge_requests", parameters), start=1):
        gitlab.check_merge_request(item, index, source)
        iid = item["iid"]
        approvals = api.get(f"{base}/merge_requests/{iid}/approvals")
        if isinstance(approvals, dict) and isinstance(approvals.get("approved_by"), list):
            said = [_user_said(api, entry, users) for entry in approvals["approved_by"]]
            approvals = approvals | {"approved_by": said}
        found.append(
            gitlab.MergeRequestData(
                item,
                approvals,
                api.items(f"{base}/merge_requests/{iid}/commits"),
                source / str(iid) / "approvals",
                api.items(f"{base}/merge_requests/{iid}/notes", {"sort": "asc"}),
                source / str(iid) / "notes",
                api.items(
                    f"{base}/merge_requests/{iid}/resource_state_events", absent=NO_STATE_EVENTS
                ),
                source / str(iid) / "resource_state_events",
                versions=_versions(api, f"{base}/merge_requests/{iid}/versions"),
                versions_source=source / str(iid) / "versions",
            )
        )
    return found, settings


def _user_said(api: GitLabApi, entry: Any, users: dict[int, Any]) -> Any:
    """An approval with the ``bot`` field of its approver's own user object (``GET
    /users/:id``, asked once per user, in ``users``): the approvals give a ``UserBasic``,
    which has no ``bot``, and a GitLab 16 service account may be given any username, so
    every approver is asked, and GitLab's word decides. A person whose username has a
    token's shape (``gitlab.bot_by_name``) must be answered; another not found (HTTP 404: a
    user the token may not see), an answer of another user (id or username), or one
    without ``bot``, leaves the approval as it was, to be judged by its username."""
    user = entry.get("user") if isinstance(entry, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        return entry
    if isinstance(user.get("bot"), bool):
        return entry
    ident = user["id"]
    if ident not in users:
        path = f"/users/{ident}"
        users[ident] = api.get(path) if gitlab.bot_by_name(user) else api.found(path)
    answer = users[ident]
    if not isinstance(answer, dict) or not isinstance(answer.get("bot"), bool):
        return entry
    if answer.get("id") != ident or answer.get("username") != user.get("username"):
        return entry
    return entry | {"user": user | {"bot": answer["bot"]}}


def _versions(api: GitLabApi, path: str) -> list[Any]:
    """A merge request's diff versions, each with the ids of its commits, which only the
    version's single answer gives (``gitlab_versions.with_commits``): where the repository
    lacks a version's head (a rebase replaced it), they show what the target brought in."""
    found = []
    for item in api.items(path):
        if isinstance(item, dict) and isinstance(item.get("id"), int):
            single = f"{path}/{item['id']}"
            item = gitlab_versions.with_commits(item, api.get(single), api.source / single)
        found.append(item)
    return found


def gitlab_deployments(
    api: GitLabApi, project: str, since: str | None
) -> tuple[list[Any], list[str]]:
    """Every deployment (updated since ``since``), each finished or running one fetched
    singly for its approvals, which the list leaves out; and what was said of lists read
    again (``listed_whole``)."""
    base = _project_path(project)
    parameters: dict[str, Any] = {"order_by": "updated_at", "sort": "asc"}
    if since:
        parameters["updated_after"] = since
    source = api.source / f"{base}/deployments"
    listed, remarks = listed_whole(lambda: api.items(f"{base}/deployments", parameters), source)
    found = []
    users: dict[int, Any] = {}
    for index, item in enumerate(listed, start=1):
        if gitlab_deploys.status_of(item) in (*gitlab_deploys.OUTCOME, gitlab_deploys.RUNNING):
            full = api.get(f"{base}/deployments/{item['id']}")
            gitlab_deploys.check_deployment(full, index, source / str(item["id"]))
            if isinstance(full.get("approvals"), list):
                said = [_user_said(api, entry, users) for entry in full["approvals"]]
                full = full | {"approvals": said}
            item = full
        found.append(item)
    return found, remarks


LISTINGS = 3
"""How many times a deployment list that changed while its pages were read is read."""


def listed_whole(listing: Callable[[], list[Any]], source: Path) -> tuple[list[Any], list[str]]:
    """The deployments of ``listing``, GitLab's list by update (``order_by=updated_at``, which
    ``updated_after`` needs), read again while a deployment is listed twice; and what was
    said of each list read again. A deployment that is updated (one finishing) while the pages
    are read moves to the list's end: listed again there, it pushed the one after it back onto
    a page already read, which no page listed. Read ``LISTINGS`` times, each time changed, the
    list is refused."""
    said: list[str] = []
    for _ in range(LISTINGS):
        items = listing()
        for index, item in enumerate(items, start=1):
            gitlab_deploys.check_deployment(item, index, source)
        counts = Counter(item["id"] for item in items)
        twice = sorted(ident for ident, count in counts.items() if count > 1)
        if not twice:
            return items, said
        said.append(
            f"{source}: {_deployments_named(twice)} listed twice (updated while the pages were "
            "read, so the one after it on the list was never listed): the list is read again"
        )
    raise InputError(
        f"{_deployments_named(twice)} listed twice in each of {LISTINGS} readings of the list: "
        "a deployment updated while the pages are read moves to the list's end and pushes the "
        "one after it back onto a page already read, so a deployment, a failure perhaps, was "
        "never listed",
        path=str(source),
        hint="import again: while no deployment is running, none moves on the list",
    )


def _deployments_named(idents: list[Any]) -> str:
    named = ", ".join(str(ident) for ident in idents)
    return f"deployment {named} is" if len(idents) == 1 else f"deployments {named} are"


def gitlab_environments(api: GitLabApi, project: str, names: list[str]) -> set[str]:
    """Which of ``names`` are environments of the project (``GET /environments?name=``)."""
    base = _project_path(project)
    found = set()
    for name in names:
        listed = api.items(f"{base}/environments", {"name": name})
        if any(isinstance(item, dict) and item.get("name") == name for item in listed):
            found.add(name)
    return found


def need(value: Any, flag: str, tool: str) -> None:
    """A usage error when a fetch lacks a required option."""
    if not value:
        raise UsageError(f"import {tool}: {flag} is required when fetching from the API")
