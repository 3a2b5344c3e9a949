"""GitLab deployments read as GitLab keeps them: a deployment made by a CI job takes its
status from the job (GitLab syncs one to the other, and refuses to update such a deployment
through the API), so a deployment that says ``success`` while its job (``deployable``) failed,
was canceled, or never ran to its end is no success. Each was a false pass: the record said
``succeeded`` on every host, and ``check`` passed.

On deployment 42 of tests/importers/fixtures/forges/gitlab (sources in its README), its
approval dated before its job was created, as the README says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.test_forges import FIXTURES, _copy, _records
from tests.importers.workspaces import fetched_gitlab_deployment, saved_pages

REAL_SHA = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"
GITLAB_DEV = "http://gitlab.dev"
"""The instance of GitLab's documented examples, whose addresses the recorded deployment
gives: saved output is read with it as ``--api-url``."""
PEOPLE = {"ops": ["ops@example.com", "root"], "lead": ["lead@example.com", "security-user-1"]}
APPROVED_AT = "2016-08-11T11:00:00.000Z"


def _workspace(tmp_path: Path) -> tuple[ScriptedRepo, Path, dict[str, Any]]:
    """A repository whose deployed commit is reviewed and comes after the baseline, the hosts
    of ``app``, who ``root`` and ``security-user-1`` are; and deployment 42, saved."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"app.py": "0\n"}, author="Dev <dev@example.com>",
                       date="2016-07-01T00:00:00Z")  # fmt: skip
    sha = repo.commit("release", {"app.py": "1\n"}, author="Dev <dev@example.com>",
                      date="2016-08-01T00:00:00Z")  # fmt: skip
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    evidence = repo.path / "compliance"
    evidence.mkdir()
    (evidence / "fleet.yaml").write_text(
        yaml.safe_dump({"services": {"app": {"hosts": ["app-1"]}}})
    )
    (evidence / "identities.yaml").write_text(yaml.safe_dump(PEOPLE))
    review = {"change": "group/app!1", "author": "dev@example.com", "commits": [sha],
              "approvals": [{"by": "lead@example.com", "at": "2016-08-02T00:00:00Z"}]}  # fmt: skip
    (evidence / "reviews.jsonl").write_text(json.dumps(review) + "\n")
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", {REAL_SHA: sha})
    [deployment, _] = json.loads((export / "deployments.json").read_text())
    deployment["approvals"][0]["created_at"] = APPROVED_AT
    return repo, export, deployment


def _import(repo: ScriptedRepo, export: Path, *items: dict[str, Any]) -> CliResult:
    (export / "deployments.json").write_text(saved_pages(list(items)))
    return _import_saved(repo, export / "deployments.json")


def _import_saved(repo: ScriptedRepo, path: Path) -> CliResult:
    return run_cli("import", "gitlab-deployments", path, "--project", "group/app", "--service",
                   "app", "--target", "app-1", "--api-url", GITLAB_DEV,
                   "--repo", repo.path)  # fmt: skip


def _check(repo: ScriptedRepo) -> CliResult:
    return run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2017-01-01")


def test_the_recorded_deployment_passes(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["targets"] == [{"host": "app-1", "status": "succeeded"}]
    assert record["finished_at"] == deployment["deployable"]["finished_at"]
    assert _check(repo).code == 0


@pytest.mark.parametrize("job", ["failed", "canceled"])
def test_a_success_whose_job_failed_is_recorded_failed(tmp_path: Path, job: str) -> None:
    """The job is what ran: its failure is the deployment's, whatever the deployment says."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["deployable"]["status"] = job
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    assert f"1 recorded failed: its job {job}, though the deployment says success" in result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["targets"] == [{"host": "app-1", "status": "failed"}]
    check = _check(repo)
    assert check.code == 1, check.err
    assert {(f["rule"], f["subject"]) for f in check.json()["findings"]} == {
        ("FLEET-001", "group/app/deployments/42:app-1")
    }


@pytest.mark.parametrize(
    "job", ["running", "pending", "created", "manual", "skipped", "scheduled", None]
)
def test_a_success_whose_job_did_not_finish_is_refused(tmp_path: Path, job: str | None) -> None:
    """A job that is still running, or never ran (manual, skipped), succeeded at nothing:
    GitLab gives no such record, so it is refused, naming the file and the deployment."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["deployable"]["status"] = job
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert f"{export / 'deployments.json'}: deployment 42 says success, but its job " in result.err
    assert f"(deployable 664) is {job}" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_success_whose_job_has_no_end_is_refused(tmp_path: Path) -> None:
    """GitLab dates the end of every finished job; the record's end was the deployment's
    last update instead."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["deployable"]["finished_at"] = None
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert "deployment 42: its job (deployable 664) succeeded but has no finished_at" in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_success_that_gives_no_job_at_all_is_refused(tmp_path: Path) -> None:
    """GitLab always gives ``deployable``: the job, or null for a deployment created through
    the API. A record without it was trimmed, and its job's outcome is unknown."""
    repo, export, deployment = _workspace(tmp_path)
    del deployment["deployable"]
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert "deployment 42 gives no deployable" in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_failure_whose_job_succeeded_stays_failed(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    deployment["status"] = "failed"
    assert _import(repo, export, deployment).code == 0
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["targets"] == [{"host": "app-1", "status": "failed"}]
    assert _check(repo).code == 1


def _running_hotfix(tmp_path: Path, job: bool) -> tuple[ScriptedRepo, Path, dict[str, Any], str]:
    """Deployment 42 running (its job too, not finished; or created through the API, with no
    job) for an unreviewed hotfix made after the reviewed release, which a deployment written
    by hand shipped before it."""
    repo, export, deployment = _workspace(tmp_path)
    [release] = json.loads((repo.path / "compliance" / "reviews.jsonl").read_text())["commits"]
    hotfix = repo.commit("hotfix", {"app.py": "2\n"}, author="Dev <dev@example.com>",
                         date="2016-08-05T00:00:00Z")  # fmt: skip
    earlier = {"id": "D-1", "service": "app", "environment": "production", "commit": release,
               "started_at": "2016-08-03T10:00:00Z", "finished_at": "2016-08-03T10:10:00Z",
               "deployer": "ops@example.com",
               "approvals": [{"by": "lead@example.com", "at": "2016-08-03T09:00:00Z"}],
               "targets": [{"host": "app-1", "status": "succeeded"}]}  # fmt: skip
    (repo.path / "compliance" / "deploys.jsonl").write_text(json.dumps(earlier) + "\n")
    deployment["sha"] = hotfix
    deployment["status"] = "running"
    if job:
        deployment["deployable"] |= {"status": "running", "finished_at": None}
        deployment["deployable"]["commit"]["id"] = hotfix
        deployment["deployable"]["pipeline"]["sha"] = hotfix
    else:
        deployment["deployable"] = None
    return repo, export, deployment, hotfix


@pytest.mark.parametrize("job", [True, False], ids=["job running", "created through the API"])
def test_a_running_deployment_is_recorded_unfinished(tmp_path: Path, job: bool) -> None:
    """A running deployment may have put its commit on the hosts already, and one that a deploy
    tool created through the API and never updated runs for ever. It was passed over: its
    unreviewed hotfix was never judged, and check passed. One with no job names no project,
    and is fetched; fetched, a running deployment is read singly for its approvals."""
    repo, export, deployment, hotfix = _running_hotfix(tmp_path, job)
    if job:
        result = _import(repo, export, deployment)
    else:
        result = fetched_gitlab_deployment(repo, deployment)
    assert result.code == 0, result.err
    assert "0 finished deployments and 1 unfinished" in result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert "finished_at" not in record
    assert record["approvals"] == [{"by": "lead@example.com", "at": APPROVED_AT}]
    assert record["targets"] == [
        {"host": "app-1", "status": "failed",
         "reason": "the deployment has not finished: GitLab says it is running"}
    ]  # fmt: skip
    checked = _check(repo)
    assert checked.code == 1, checked.err
    found = {(f["rule"], f["subject"]) for f in checked.json()["findings"]}
    assert found == {("REVIEW-002", hotfix), ("FLEET-001", f"{record['id']}:app-1")}


JOB_FINISHED = "2016-08-11T11:32:35.145Z"
"""When deployment 42's job finished, as recorded."""


def _left_unrun(
    tmp_path: Path, status: str, job: str, finished: str | None = JOB_FINISHED
) -> tuple[ScriptedRepo, Path, dict[str, Any], str]:
    """Deployment 42 of the unreviewed hotfix (as ``_running_hotfix``) that GitLab says is
    ``status``, its job ``job`` (finished at ``finished``)."""
    repo, export, deployment, hotfix = _running_hotfix(tmp_path, True)
    deployment["status"] = status
    deployment["deployable"] |= {"status": job, "finished_at": finished}
    return repo, export, deployment, hotfix


@pytest.mark.parametrize("status", ["created", "blocked", "skipped"])
@pytest.mark.parametrize(
    ("job", "recorded", "said"),
    [("success", "succeeded", "succeeded"), ("failed", "failed", "failed"),
     ("canceled", "failed", "was canceled")],
)  # fmt: skip
def test_a_deployment_left_unrun_whose_job_ended_is_recorded_as_its_job_ended(
    tmp_path: Path, status: str, job: str, recorded: str, said: str
) -> None:
    """GitLab brings a deployment's status up to date from its job's after the job's change is
    saved, and a change it fails at is left (a ``skipped`` deployment cannot be made
    ``running``): the job deployed all the same, since only a job that starts its environment
    has a deployment. Passed over as never run, its unreviewed hotfix was never judged, and
    check passed (exit 0)."""
    repo, export, deployment, hotfix = _left_unrun(tmp_path, status, job)
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    assert "1 finished deployments" in result.err
    assert f"1 recorded {recorded}: its job {said}, though the deployment says {status}" in (
        result.err
    )
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert record["targets"] == [{"host": "app-1", "status": recorded}]
    assert record["finished_at"] == JOB_FINISHED
    assert record["approvals"] == [{"by": "lead@example.com", "at": APPROVED_AT}]
    checked = _check(repo)
    assert checked.code == 1, checked.err
    found = {(f["rule"], f["subject"]) for f in checked.json()["findings"]}
    failed = {("FLEET-001", f"{record['id']}:app-1")} if recorded == "failed" else set()
    assert found == {("REVIEW-002", hotfix), *failed}


@pytest.mark.parametrize(
    ("job", "said"),
    [
        ("running", "is running"),
        ("canceling", "is being canceled"),
        ("waiting_for_callback", "is waiting for a callback"),
    ],
)
def test_a_deployment_left_unrun_whose_job_runs_is_recorded_unfinished(
    tmp_path: Path, job: str, said: str
) -> None:
    """A job that runs is deploying, whatever its deployment says: recorded unfinished, as a
    ``running`` deployment is, and the import says why."""
    repo, export, deployment, hotfix = _left_unrun(tmp_path, "created", job, finished=None)
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    assert "0 finished deployments and 1 unfinished" in result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert "finished_at" not in record
    assert record["targets"] == [
        {"host": "app-1", "status": "failed", "reason": "the deployment has not finished: its "
         f"job {said} (GitLab says the deployment is created)"}
    ]  # fmt: skip
    found = {(f["rule"], f["subject"]) for f in _check(repo).json()["findings"]}
    assert found == {("REVIEW-002", hotfix), ("FLEET-001", f"{record['id']}:app-1")}


@pytest.mark.parametrize(
    ("status", "job"),
    [("created", "pending"), ("created", "created"), ("created", "waiting_for_resource"),
     ("created", "preparing"), ("blocked", "manual"), ("created", "scheduled"),
     ("skipped", "skipped")],
)  # fmt: skip
def test_a_deployment_whose_job_has_not_started_is_passed_over(
    tmp_path: Path, status: str, job: str
) -> None:
    repo, export, deployment, _ = _left_unrun(tmp_path, status, job, finished=None)
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    assert f"1 {status}, not a finished run" in result.err
    assert len(_records(repo.path / "compliance" / "deploys.jsonl")) == 1  # the earlier one
    assert _check(repo).code == 0


def test_a_deployment_left_unrun_whose_job_status_is_unknown_is_refused(tmp_path: Path) -> None:
    """A job status GitLab adds later, or a saved file's typo: passed over as not started, a
    job that had deployed would never be judged."""
    repo, export, deployment, _ = _left_unrun(tmp_path, "created", "deployed", finished=None)
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert "deployment 42 says created, and its job's status 'deployed' is none" in result.err
    assert len(_records(repo.path / "compliance" / "deploys.jsonl")) == 1


def test_a_deployment_left_unrun_whose_job_succeeded_without_an_end_is_refused(
    tmp_path: Path,
) -> None:
    repo, export, deployment, _ = _left_unrun(tmp_path, "created", "success", finished=None)
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert "deployment 42: its job (deployable 664) succeeded but has no finished_at" in result.err
    assert len(_records(repo.path / "compliance" / "deploys.jsonl")) == 1


@pytest.mark.parametrize("status", ["created", "blocked", "skipped"])
def test_a_deployment_not_run_that_gives_no_job_at_all_is_refused(
    tmp_path: Path, status: str
) -> None:
    """Without its ``deployable``, nothing shows whether its job ran."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["status"] = status
    del deployment["deployable"]
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert "deployment 42 gives no deployable" in result.err and "whether it ran" in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_fetched_deployment_left_unrun_whose_job_ended_is_read_singly(tmp_path: Path) -> None:
    """The list leaves a deployment's approvals out: fetched, one recorded after its job is
    read singly, as a finished one is."""
    repo, _, deployment, hotfix = _left_unrun(tmp_path, "created", "success")
    result = fetched_gitlab_deployment(repo, deployment)
    assert result.code == 0, result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert record["approvals"] == [{"by": "lead@example.com", "at": APPROVED_AT}]
    assert {f["subject"] for f in _check(repo).json()["findings"]} == {hotfix}


@pytest.mark.parametrize(
    "user",
    [
        {"username": "project_1_bot_8e4f6b0c3a2d4e1f9a7b5c3d2e1f0a9b"},  # GitLab 16 and later
        {"username": "group_7_bot3"},  # a group's token, before GitLab 16
        {"username": "release-robot", "bot": True},  # a user object that says so
    ],
)
def test_an_approval_by_a_bot_is_left_out(tmp_path: Path, user: dict[str, Any]) -> None:
    """A protected environment's approval given through an access token: its user, mapped in
    identities.yaml to the team's CI address, counted as an approver other than the deployer,
    and check passed (exit 0). GitLab names the approver as a ``UserBasic``, without ``bot``:
    its username is the one GitLab gives a token's user, as for a merge request's approval."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["approvals"][0]["user"] |= {"id": 99, "name": "release bot", **user}
    identities = repo.path / "compliance" / "identities.yaml"
    people = {**PEOPLE, "ci": ["ci@example.com", user["username"]]}
    identities.write_text(yaml.safe_dump(people))
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    assert "0 approvals; approvals left out: 1 by a bot" in result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["approvals"] == []
    check = _check(repo)
    assert check.code == 1, check.out
    assert "REVIEW-001" in check.out


@pytest.mark.parametrize("said", ["true", 1, "false"])
def test_a_deployment_approver_whose_bot_is_not_true_or_false_is_refused(
    tmp_path: Path, said: Any
) -> None:
    """A ``bot`` given as text or a number (a converted export) was read as not given: the
    username decided, and a bot with a username of its own (``release-robot``) counted as an
    approver other than the deployer. The import stops, naming the file and the approval,
    and writes nothing."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["approvals"][0]["user"] |= {"id": 99, "username": "release-robot", "bot": said}
    identities = repo.path / "compliance" / "identities.yaml"
    identities.write_text(yaml.safe_dump({**PEOPLE, "ci": ["ci@example.com", "release-robot"]}))
    result = _import(repo, export, deployment)
    assert result.code == 2, result.err
    assert f"approval #1: the approver's bot is {said!r}, not true or false" in result.err
    assert "deployments.json" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


@pytest.mark.parametrize("bot", [False, True])
def test_a_fetched_deployment_approver_with_a_tokens_username_is_asked(
    tmp_path: Path, bot: bool
) -> None:
    """Fetched, an approver whose username alone reads as a bot's is asked for its user object
    (``GET /users/:id``), whose ``bot`` decides: a person so named counts."""
    repo, _, deployment = _workspace(tmp_path)
    name = "project_1_bot_8e4f6b0c3a2d4e1f9a7b5c3d2e1f0a9b"
    deployment["approvals"][0]["user"] |= {"id": 99, "username": name}
    identities = repo.path / "compliance" / "identities.yaml"
    identities.write_text(yaml.safe_dump({**PEOPLE, "ci": ["ci@example.com", name]}))
    user = deployment["approvals"][0]["user"] | {"bot": bot}
    result = fetched_gitlab_deployment(repo, deployment, {99: user})
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert [a["by"] for a in record["approvals"]] == ([] if bot else ["ci@example.com"])
