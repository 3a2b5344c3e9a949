"""``knightwatch import gitlab-deployments``: deployment records from GitLab's deployment
objects, saved or fetched directly.

Input: ``DEPLOYMENTS.json`` (``GET /projects/:id/deployments``, or each
``GET /projects/:id/deployments/:deployment_id``, which carries the protected environment's
``approvals``). ``success`` is ``succeeded``; ``failed`` and ``canceled`` are ``failed``;
``created``, ``running``, ``blocked`` and ``skipped`` ones never finished a run and are passed
over. The job that ran a deployment (``deployable``) has the last word: GitLab sets the
deployment's status from the job's, so a job that failed or was canceled is a failure whatever
the deployment says, and a ``success`` whose job did not succeed, or has no ``finished_at``, is
refused. A deployment started when its job did (``deployable.started_at``; without it, when the
job was created, which is no later; else the deployment's creation, which GitLab may record
after its job finished), and ended when its job did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.evidence.models import Status
from checker.importers.common import Logins, dig, expect, named_ref, read_list
from checker.importers.forge_deploys import Deployments, Facts, Scope, record
from checker.importers.gitlab import username

DEPLOYMENTS = "GitLab deployment objects (GET /projects/:id/deployments)"
OUTCOME: dict[str, Status] = {"success": "succeeded", "failed": "failed", "canceled": "failed"}
JOB_FAILED = ("failed", "canceled")
"""A job's statuses that end it without success: its deployment failed."""


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


def import_saved_deployments(path: Path, project: str, scope: Scope, logins: Logins) -> Deployments:
    """Deployment records from saved API output."""
    items = read_list(path, DEPLOYMENTS)
    for index, item in enumerate(items, start=1):
        check_deployment(item, index, path)
    return deployment_records(items, project, scope, logins, path)


def deployment_records(
    items: list[Any], project: str, scope: Scope, logins: Logins, source: Path
) -> Deployments:
    """Records of the finished deployments among ``items`` (checked deployment objects)."""
    result = Deployments()
    for item in items:
        environment = item["environment"]["name"]
        result.environments.add(environment)
        if scope.environments and environment not in scope.environments:
            continue
        ended = _outcome(item, source, result)
        if ended is None:
            result.passed_over[f"{item['status']}, not a finished run"] += 1
            continue
        outcome, finished = ended
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
            finished_at=str(finished or started),
            deployer=logins.address(user),
            status=outcome,
            approvals=tuple(_approvals(item, logins, result)),
            ref=named_ref(item.get("ref"), item["sha"]),
        )
        result.records.append(record(facts, scope, source))
    return result


def _approvals(item: dict[str, Any], logins: Logins, result: Deployments) -> list[tuple[str, str]]:
    """The deployment's ``approved`` entries, as who and when; the others are counted as left
    out, with why."""
    approvals = []
    if "approvals" not in item:
        result.approvals_left_out["not in the list output (fetch each deployment)"] += 1
    for entry in item.get("approvals") or []:
        name, _ = username(dig(entry, "user"))
        at = dig(entry, "created_at")
        if dig(entry, "status") != "approved":
            result.approvals_left_out["rejected"] += 1
        elif not name or not isinstance(at, str):
            result.approvals_left_out["without a user or a time"] += 1
        else:
            approvals.append((logins.address(name), at))
    return approvals


def _outcome(item: dict[str, Any], source: Path, result: Deployments) -> tuple[Status, Any] | None:
    """A finished deployment's outcome and end, as its job (``deployable``) had them (GitLab
    sets the deployment's status from the job's); None for one that is not finished. One
    created through the API (``deployable`` null) has no job: its status is the one the tool
    that created it set, and it ended at its last update."""
    outcome = OUTCOME.get(item["status"])
    if outcome is None:
        return None
    expect(
        "deployable" in item or outcome != "succeeded",
        source,
        f"deployment {item['id']} gives no deployable (the job that ran it, or null for a "
        f"deployment created through the API), so its job's outcome is unknown; expected "
        f"{DEPLOYMENTS} as GitLab answers, whole",
    )
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
