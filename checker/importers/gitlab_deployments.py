"""``knightwatch import gitlab-deployments``: deployment records from GitLab's deployment
objects, saved or fetched directly.

Input: ``DEPLOYMENTS.json`` (``GET /projects/:id/deployments?order_by=id&sort=asc``, or each
``GET /projects/:id/deployments/:deployment_id``, which carries the protected environment's
``approvals``), every page of the list with its headers, read only when they show the list
whole (``gitlab_deployment_pages``). ``success`` is ``succeeded``;
``failed`` and ``canceled`` are ``failed``; a ``running`` one is recorded unfinished (no end,
``failed``) until an import sees it finish. The job that ran a deployment (``deployable``) has
the last word: GitLab sets the deployment's status from the job's, so a job that failed or was
canceled is a failure whatever the deployment says, and a ``success`` whose job did not succeed,
or has no ``finished_at``, is refused. A ``created``, ``blocked`` or ``skipped`` one is passed
over until its job runs; once it has, it is recorded as its job ran (``status_of``). A
deployment's ``sha`` must be the commit its job built (the job's ``commit.id`` and its
pipeline's ``sha``, GitLab's source of it), or it is refused. A deployment started when its job
did (``deployable.started_at``; without it, when the job was created, which is no later; else
the deployment's creation, which GitLab may record after its job finished), and ended when its
job did.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from checker.evidence.models import Status
from checker.importers.common import Logins, dig, expect, named_ref
from checker.importers.forge_deploys import Deployments, Facts, Scope, record
from checker.importers.forge_origins import GITLAB_URL, Address, Project
from checker.importers.gitlab import username
from checker.importers.gitlab_deployment_pages import check_order, read_deployments

DEPLOYMENTS = "GitLab deployment objects (GET /projects/:id/deployments)"
OUTCOME: dict[str, Status] = {"success": "succeeded", "failed": "failed", "canceled": "failed"}
PROJECT_URLS = (
    Address(
        "deployable.web_url",
        "job",
        "-/jobs/ID",
        re.compile(r"/(?P<project>.+?)/(?:-/)?(?:jobs|builds)/\d+/?"),
    ),
    Address(
        "deployable.pipeline.web_url",
        "pipeline",
        "-/pipelines/ID",
        re.compile(r"/(?P<project>.+?)/(?:-/)?pipelines/\d+/?"),
    ),
)
"""The addresses of a deployment's job and pipeline, and the project path each names: GitLab
writes ``/GROUP/PROJECT/-/jobs/ID``, before GitLab 12 ``/GROUP/PROJECT/builds/ID`` (or
``/jobs/ID``) and ``/GROUP/PROJECT/pipelines/ID``."""
RUNNING = "running"
"""A deployment's status while its job runs: recorded unfinished."""
UNFINISHED = "the deployment has not finished: GitLab says it is running"
"""Why the hosts of a ``running`` deployment are recorded ``failed``: it may have put its
commit on them already, or never end (a deploy tool that created it through the API and
stopped); passed over, its commit and its approvals would never be judged. An import that
sees it finish brings the record up to date."""
JOB_FAILED = ("failed", "canceled")
"""A job's statuses that end it without success: its deployment failed."""
NOT_RUN = ("created", "blocked", "skipped")
"""A deployment's statuses while its job has not run (``blocked``: a ``manual`` job, waiting
to be started or approved), or when it never will (``skipped``)."""
JOB_RAN = {
    "success": ("succeeded", "succeeded"),
    "failed": ("failed", "failed"),
    "canceled": ("failed", "was canceled"),
    "running": ("unfinished", "is running"),
    "canceling": ("unfinished", "is being canceled"),
    "waiting_for_callback": ("unfinished", "is waiting for a callback"),
}
"""A job's statuses once it has started, and how its deployment is then recorded, whatever
status GitLab left the deployment in (see ``status_of``). ``waiting_for_callback``: the job ran
its script and waits for an outside system (a deploy tool) to say how it ended."""
JOB_NOT_STARTED = (
    "created",
    "pending",
    "preparing",
    "scheduled",
    "manual",
    "waiting_for_resource",
    "skipped",
)
"""A job's statuses before its script runs (``preparing``: the runner readies its
environment; ``waiting_for_resource``: a resource group holds it), or when it never will. A
job status neither here nor in ``JOB_RAN`` is refused where the deployment says it has not run:
passed over, a job that had deployed would never be judged."""
LAGGING = "the deployment has not finished: its job {job} (GitLab says the deployment is {status})"
"""Why the hosts of a deployment recorded unfinished after its job's status are ``failed``."""
JOB_COMMITS = (("commit", "id"), ("pipeline", "sha"))
"""Where GitLab names the commit a deployment's job built: the job's ``commit`` (null when that
commit is gone from the repository) and its pipeline's ``sha`` (which every pipeline has)."""


def check_deployment(item: Any, index: int, source: Path) -> None:
    """Refuse an item that is not a deployment object."""
    expect(
        isinstance(item, dict)
        and isinstance(item.get("id"), int)
        and isinstance(item.get("sha"), str)
        and isinstance(item.get("status"), str)
        and isinstance(item.get("created_at"), str)
        and isinstance(dig(item, "environment", "name"), str),
        source,
        f"item #{index} is not a deployment object (id, sha, status, created_at, "
        f"environment.name); expected {DEPLOYMENTS}",
    )
    expect(
        item.get("approvals") is None or isinstance(item["approvals"], list),
        source,
        f"item #{index} (deployment {item['id']}): approvals is not a list of approvals; "
        f"expected {DEPLOYMENTS}",
    )
    expect(
        "deployable" in item
        or not (OUTCOME.get(item["status"]) == "succeeded" or item["status"] in NOT_RUN),
        source,
        f"item #{index}: deployment {item['id']} gives no deployable (the job that ran it, or "
        f"null for a deployment created through the API), so its job's outcome, or whether it "
        f"ran at all, is unknown; expected {DEPLOYMENTS} as GitLab answers, whole",
    )
    ran = dig(item, "deployable", "status")
    expect(
        item["status"] not in NOT_RUN or ran is None or ran in (*JOB_RAN, *JOB_NOT_STARTED),
        source,
        f"item #{index}: deployment {item['id']} says {item['status']}, and its job's status "
        f"{ran!r} is none GitLab is known to give, so whether the job deployed is unknown",
    )


def import_saved_deployments(
    path: Path, project: str, scope: Scope, logins: Logins, api_url: str = GITLAB_URL
) -> Deployments:
    """Deployment records from saved API output, every one of it ``project``'s, every page
    of it saved (``gitlab_deployment_pages``)."""
    items = read_deployments(path, DEPLOYMENTS)
    for index, item in enumerate(items, start=1):
        check_deployment(item, index, path)
    check_order(items, path)
    check_projects(items, Project(project, api_url), path)
    return deployment_records(items, project, scope, logins, path)


def check_projects(items: list[Any], origin: Project, source: Path) -> None:
    """Refuse a saved deployment that is not ``origin``'s (its path, or its id when
    ``--project`` is a number), or that names no project at all. GitLab gives a deployment
    made by a CI job its job's ``web_url`` and its pipeline's ``web_url`` and
    ``project_id``: each one given must name the project (paths compared as GitLab does,
    regardless of case), and every record one project id (a copy of the project at the same
    path on another instance has another). A deployment created through the API names none;
    fetched, the request names the project."""
    project, numbers = origin.project, []
    for index, item in enumerate(items, start=1):
        where = f"item #{index} (deployment {item['id']})"
        paths = {
            at.field: matched["project"]
            for at in PROJECT_URLS
            if (matched := origin.address(item, at, where, DEPLOYMENTS, source))
        }
        number = _project_id(item, where, source)
        expect(
            bool(paths) if not origin.by_id else number is not None,
            source,
            f"{where} names no project (no deployable.web_url, deployable.pipeline.web_url "
            "or deployable.pipeline.project_id: created through the API, or trimmed), so "
            f"nothing shows it is {project}'s; import it with --fetch, which asks GitLab for "
            f"{project}'s deployments alone",
        )
        for field, found in paths.items():
            origin.check_path(found, field, where, source)
        if number is not None:
            numbers.append((number, where))
    origin.check_ids(numbers, source)


def _project_id(item: dict[str, Any], where: str, source: Path) -> int | None:
    number = dig(item, "deployable", "pipeline", "project_id")
    expect(
        number is None or (isinstance(number, int) and not isinstance(number, bool)),
        source,
        f"{where}: deployable.pipeline.project_id is not a project id; expected {DEPLOYMENTS}",
    )
    return number if isinstance(number, int) else None


def deployment_records(
    items: list[Any], project: str, scope: Scope, logins: Logins, source: Path
) -> Deployments:
    """Records of the finished and running deployments among ``items`` (checked deployment
    objects)."""
    result = Deployments()
    for item in items:
        environment = item["environment"]["name"]
        result.environments.add(environment)
        if scope.environments and environment not in scope.environments:
            continue
        status = status_of(item, result)
        running = status == RUNNING
        ended: tuple[Status, Any] | None = (
            ("failed", None) if running else _outcome(item, status, source, result)
        )
        if ended is None:
            result.passed_over[f"{item['status']}, not a finished run"] += 1
            continue
        outcome, finished = ended
        check_commit(item, source)
        user, _ = username(item.get("user"))
        expect(bool(user), source, f"deployment {item['id']} names no user who deployed it")
        started = (
            dig(item, "deployable", "started_at")
            or dig(item, "deployable", "created_at")
            or item["created_at"]
        )
        facts = Facts(
            ident=f"{project}/deployments/{item['id']}",
            environment=environment,
            commit=item["sha"],
            started_at=str(started),
            finished_at=None if running else str(finished or started),
            deployer=logins.address(user),
            status=outcome,
            approvals=tuple(_approvals(item, logins, result, source)),
            ref=named_ref(item.get("ref"), item["sha"]),
            reason=_unfinished(item) if running else None,
        )
        result.records.append(record(facts, scope, source))
    return result


def check_commit(item: dict[str, Any], source: Path) -> None:
    """Refuse a deployment whose ``sha`` is not the commit its job built. GitLab records a
    deployment's ``sha`` from its job's pipeline, and gives the job (``deployable``) with its
    ``commit`` and its ``pipeline``'s ``sha``: each one given must be the deployment's, and a
    job must give one. A deployment created through the API has no job: its ``sha`` is the
    one the tool that created it gave."""
    job = item.get("deployable")
    if not isinstance(job, dict):
        return
    given = {".".join(path): dig(job, *path) for path in JOB_COMMITS}
    given = {field: sha for field, sha in given.items() if sha is not None}
    expect(
        bool(given),
        source,
        f"deployment {item['id']}: its job (deployable {job.get('id')}) names no commit it built "
        f"(no deployable.commit.id or deployable.pipeline.sha), so nothing shows that it "
        f"deployed {item['sha']}; expected {DEPLOYMENTS} as GitLab answers, whole",
    )
    for field, sha in given.items():
        expect(
            isinstance(sha, str) and sha.lower() == item["sha"].lower(),
            source,
            f"deployment {item['id']}: its sha {item['sha']} is not the commit its job "
            f"(deployable {job.get('id')}) built: deployable.{field} is {sha}. GitLab records "
            "a deployment's sha from its job's pipeline, so this record was edited or put "
            f"together from two answers, and would count {item['sha']} as deployed; save it "
            f"again (GET /projects/:id/deployments/{item['id']})",
        )


def _approvals(
    item: dict[str, Any], logins: Logins, result: Deployments, source: Path
) -> list[tuple[str, str]]:
    """The deployment's ``approved`` entries, as who and when; the others are counted as left
    out, with why. A bot's (``bot: true``, or a username GitLab gives an access token's user,
    ``gitlab.username``: the approver is a ``UserBasic``, which has no ``bot`` field) is left
    out: a token's approval is the pipeline's own, whatever person identities.yaml maps it to.
    A ``bot`` given as anything but true or false (``"true"`` from a converted export, 1) is
    refused, as a merge request approver's is: read as not given, the username decided, and a
    bot's approval under a username of its own counted as a person's."""
    approvals = []
    if "approvals" not in item:
        result.approvals_left_out["not in the list output (fetch each deployment)"] += 1
    for index, entry in enumerate(item.get("approvals") or [], start=1):
        said = dig(entry, "user", "bot")
        expect(
            said is None or isinstance(said, bool),
            source,
            f"deployment {item['id']}, approval #{index}: the approver's bot is {said!r}, not "
            "true or false as GitLab's users API gives it",
        )
        name, is_bot = username(dig(entry, "user"))
        at = dig(entry, "created_at")
        if dig(entry, "status") != "approved":
            result.approvals_left_out["rejected"] += 1
        elif not name or not isinstance(at, str):
            result.approvals_left_out["without a user or a time"] += 1
        elif is_bot:
            result.approvals_left_out["by a bot"] += 1
        else:
            approvals.append((logins.address(name), at))
    return approvals


def status_of(item: dict[str, Any], result: Deployments | None = None) -> str:
    """The status a deployment is judged by: its own, except where GitLab says it has not run
    (``created``, ``blocked``, ``skipped``) while its job (``deployable``) has: then its job's
    (``running`` while the job runs), which ``result`` notes. Only a job that starts its
    environment (``environment: action: start``, the default) has a deployment; one that
    prepares, verifies, accesses or stops it has none. So the job of a deployment deploys, and
    GitLab brings the deployment's status up to date from its job's after the job's change is
    saved, without a transaction between the two (a change it fails at is logged and left):
    a deployment left ``created`` while its job ran is the job's deployment all the same."""
    status: str = item["status"]
    job = item.get("deployable")
    ran = job.get("status") if isinstance(job, dict) else None
    if status not in NOT_RUN or not isinstance(ran, str) or ran not in JOB_RAN:
        return status
    recorded, said = JOB_RAN[ran]
    if result is not None:
        result.notes[
            f"recorded {recorded}: its job {said}, though the deployment says {status}"
        ] += 1
    return RUNNING if recorded == "unfinished" else ran


def _unfinished(item: dict[str, Any]) -> str:
    """Why a deployment recorded unfinished has its hosts ``failed``."""
    if item["status"] == RUNNING:
        return UNFINISHED
    return LAGGING.format(job=JOB_RAN[item["deployable"]["status"]][1], status=item["status"])


def _outcome(
    item: dict[str, Any], judged: str, source: Path, result: Deployments
) -> tuple[Status, Any] | None:
    """A finished deployment's outcome and end, as its job (``deployable``) had them (GitLab
    sets the deployment's status from the job's); None for one that is not finished (by
    ``judged``, its status from ``status_of``). One created through the API (``deployable``
    null) has no job: its status is the one the tool that created it set, and it ended at its
    last update."""
    outcome = OUTCOME.get(judged)
    if outcome is None:
        return None
    job = item.get("deployable")
    if job is None:
        return outcome, item.get("updated_at")
    expect(
        isinstance(job, dict),
        source,
        f"deployment {item['id']}: deployable is not a job object; expected {DEPLOYMENTS}",
    )
    status, finished = job.get("status"), job.get("finished_at")
    if status in JOB_FAILED:
        if outcome == "succeeded":
            result.notes[
                f"recorded failed: its job {status}, though the deployment says success"
            ] += 1
        return "failed", finished or item.get("updated_at")
    if outcome == "failed":
        return outcome, finished or item.get("updated_at")
    expect(
        status == "success",
        source,
        f"deployment {item['id']} says success, but its job (deployable {job.get('id')}) is "
        f"{status}: GitLab sets a deployment's status from its job's, so this record was "
        "edited, or saved while GitLab was still bringing the two together; save it again "
        f"(GET /projects/:id/deployments/{item['id']}) once its job has finished",
    )
    expect(
        isinstance(finished, str),
        source,
        f"deployment {item['id']}: its job (deployable {job.get('id')}) succeeded but has no "
        f"finished_at, which GitLab gives every finished job; expected {DEPLOYMENTS} as GitLab "
        "answers, whole",
    )
    return outcome, finished
