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
    (export / "deployments.json").write_text(json.dumps(list(items)))
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
