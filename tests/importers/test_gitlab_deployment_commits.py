"""A GitLab deployment's commit is the one its job built. GitLab records a deployment's
``sha`` from its job's pipeline, and gives the job (``deployable``) with its ``commit`` and its
``pipeline``'s ``sha``: the three are one commit. A record whose ``sha`` named a reviewed
commit while its job built another (unreviewed) one was imported as a deployment of the
reviewed commit, and check passed. Such a record is refused, saved or fetched.

On deployment 42 of tests/importers/fixtures/forges/gitlab (sources in its README), as
tests/importers/test_gitlab_deployments.py prepares it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult
from tests.importers.test_gitlab_deployments import _check, _import, _workspace
from tests.importers.workspaces import fetched_gitlab_deployment, refused


def _hotfix(repo: ScriptedRepo) -> str:
    """A commit after the reviewed release that no review covers."""
    return repo.commit("hotfix", {"app.py": "2\n"}, author="Dev <dev@example.com>",
                       date="2016-08-05T00:00:00Z")  # fmt: skip


def _built(deployment: dict[str, Any], sha: str, *fields: str) -> dict[str, Any]:
    """The deployment, its job having built ``sha`` by ``fields`` (commit, pipeline)."""
    changed = copy.deepcopy(deployment)
    if "commit" in fields:
        changed["deployable"]["commit"]["id"] = sha
    if "pipeline" in fields:
        changed["deployable"]["pipeline"]["sha"] = sha
    return changed


def _refused(result: CliResult, repo: ScriptedRepo, *said: str) -> None:
    refused(result, repo.path / "compliance" / "deploys.jsonl", *said)


def test_the_deployments_own_commit_passes(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    result = _import(repo, export, deployment)
    assert result.code == 0, result.err
    assert _check(repo).code == 0


@pytest.mark.parametrize("fields", [("commit", "pipeline"), ("commit",), ("pipeline",)])
def test_a_deployment_whose_job_built_another_commit_is_refused(
    tmp_path: Path, fields: tuple[str, ...]
) -> None:
    """The job built the hotfix; the record said the reviewed release, which check passed."""
    repo, export, deployment = _workspace(tmp_path)
    hotfix = _hotfix(repo)
    result = _import(repo, export, _built(deployment, hotfix, *fields))
    field = "deployable.commit.id" if "commit" in fields else "deployable.pipeline.sha"
    _refused(result, repo, f"{export / 'deployments.json'}: deployment 42: its sha "
             f"{deployment['sha']} is not the commit its job (deployable 664) built: "
             f"{field} is {hotfix}")  # fmt: skip


def test_a_failed_deployment_whose_job_built_another_commit_is_refused(tmp_path: Path) -> None:
    """A failure recorded against the wrong commit says the right one failed: refused too."""
    repo, export, deployment = _workspace(tmp_path)
    failed = _built(deployment, _hotfix(repo), "commit", "pipeline")
    failed["status"] = failed["deployable"]["status"] = "failed"
    _refused(_import(repo, export, failed), repo, "deployment 42: its sha")


def test_a_job_whose_commit_is_gone_is_read_by_its_pipeline(tmp_path: Path) -> None:
    """GitLab gives ``commit`` null when the job's commit is no longer in the repository
    (``job.json``'s schema allows it); the pipeline's ``sha`` still says what was built."""
    repo, export, deployment = _workspace(tmp_path)
    deployment["deployable"]["commit"] = None
    assert _import(repo, export, deployment).code == 0
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    hotfix = _hotfix(repo)
    _refused(_import(repo, export, _built(deployment, hotfix, "pipeline")), repo,
             f"deployable.pipeline.sha is {hotfix}")  # fmt: skip


def test_a_job_that_names_no_commit_is_refused(tmp_path: Path) -> None:
    """GitLab gives every job its pipeline, with its sha: a job without either was trimmed,
    and nothing shows that it built the deployment's sha."""
    repo, export, deployment = _workspace(tmp_path)
    del deployment["deployable"]["commit"]
    del deployment["deployable"]["pipeline"]["sha"]
    _refused(_import(repo, export, deployment), repo,
             "deployment 42: its job (deployable 664) names no commit it built")  # fmt: skip


def test_a_fetched_deployment_whose_job_built_another_commit_is_refused(tmp_path: Path) -> None:
    repo, _, deployment = _workspace(tmp_path)
    built = _built(deployment, _hotfix(repo), "commit", "pipeline")
    result = fetched_gitlab_deployment(repo, built)
    _refused(result, repo, "deployment 42: its sha", "is not the commit its job")
