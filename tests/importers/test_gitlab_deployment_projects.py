"""A saved GitLab deployments file is the project's that ``--project`` names. GitLab gives a
deployment made by a CI job the job's ``web_url`` (``https://HOST/GROUP/PROJECT/-/jobs/ID``),
its pipeline's ``web_url`` and ``project_id``; the deployments of a sandbox copy, saved and
imported with ``--project`` of production, were production's deployments and check passed on
them. A record that names another project is refused; one that names none (created through the
API, or trimmed) cannot be tied to the project from the file, and is refused too: fetching
asks GitLab for the project's own.

On deployment 42 of tests/importers/fixtures/forges/gitlab (sources in its README), as
tests/importers/test_gitlab_deployments.py prepares it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.test_forges import _records
from tests.importers.test_gitlab_deployments import GITLAB_DEV, _check, _workspace
from tests.importers.workspaces import fetched_gitlab_deployment, named, refused, saved_pages


def _import(
    repo: ScriptedRepo, export: Path, items: list[dict[str, Any]], *options: str
) -> CliResult:
    (export / "deployments.json").write_text(saved_pages(items))
    argv = named("--project", "group/app", options)
    argv += () if "--api-url" in options else ("--api-url", GITLAB_DEV)
    return run_cli("import", "gitlab-deployments", export / "deployments.json", *argv,
                   "--service", "app", "--target", "app-1", "--repo", repo.path)  # fmt: skip


def _moved(deployment: dict[str, Any], path: str, host: str = "http://gitlab.dev") -> Any:
    """The deployment as GitLab gives it for the project at ``path`` of ``host``."""
    moved = copy.deepcopy(deployment)
    job = moved["deployable"]
    job["web_url"] = f"{host}/{path}/-/jobs/{job['id']}"
    job["pipeline"]["web_url"] = f"{host}/{path}/-/pipelines/{job['pipeline']['id']}"
    return moved


def _refused(result: CliResult, repo: ScriptedRepo, *said: str) -> None:
    refused(result, repo.path / "compliance" / "deploys.jsonl", *said)


def test_the_projects_own_deployments_are_imported(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    result = _import(repo, export, [deployment])
    assert result.code == 0, result.err
    assert _check(repo).code == 0
    # GitLab's paths are one regardless of case: Group/App is group/app.
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    assert _import(repo, export, [_moved(deployment, "Group/App")]).code == 0


@pytest.mark.parametrize("path", ["group/app-sandbox", "sandbox/group/app", "group"])
def test_another_projects_deployments_are_refused(tmp_path: Path, path: str) -> None:
    """A sandbox copy, a subgroup whose path ends in the project's, a parent group."""
    repo, export, deployment = _workspace(tmp_path)
    result = _import(repo, export, [_moved(deployment, path)])
    said = (
        f"item #1 (deployment 42) is, by its deployable.web_url, of project {path}, not group/app"
    )
    _refused(result, repo, f"{export / 'deployments.json'}: {said}", "check --project")


def test_one_record_of_another_project_among_the_projects_is_refused(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    other = _moved(deployment, "group/app-sandbox") | {"id": 50}
    result = _import(repo, export, [deployment, other])
    _refused(result, repo, "item #2 (deployment 50) is, by its ", "of project group/app-sandbox")


def test_a_pipeline_and_a_job_of_two_projects_are_refused(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    mixed = copy.deepcopy(deployment)
    mixed["deployable"]["pipeline"]["web_url"] = (
        "http://gitlab.dev/group/app-sandbox/-/pipelines/42"
    )
    _refused(_import(repo, export, [mixed]), repo, "of project group/app-sandbox")


def test_records_of_two_project_ids_are_refused(tmp_path: Path) -> None:
    """Two projects cannot share a path on one instance: another project_id at the same path
    is another instance's project (a staging GitLab's copy)."""
    repo, export, deployment = _workspace(tmp_path)
    other = copy.deepcopy(deployment) | {"id": 50}
    other["deployable"]["pipeline"]["project_id"] = 77
    result = _import(repo, export, [deployment, other])
    _refused(result, repo, "item #2 (deployment 50) is of project id 77, but item #1 "
             "(deployment 42) of project id 1")  # fmt: skip


def test_a_project_named_by_its_id(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    assert _import(repo, export, [deployment], "--project", "1").code == 0
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["id"] == "1/deployments/42"
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    _refused(_import(repo, export, [deployment], "--project", "77"), repo,
             "is of project id 1, not 77")  # fmt: skip


def test_older_gitlabs_urls_and_an_instance_under_a_path(tmp_path: Path) -> None:
    """GitLab before 12 wrote ``/GROUP/PROJECT/pipelines/ID`` (GitLab's own API example) and
    ``/builds/ID``; an instance may live under a path (``https://HOST/gitlab``), which
    ``--api-url`` gives."""
    repo, export, deployment = _workspace(tmp_path)
    old = copy.deepcopy(deployment)
    old["deployable"]["web_url"] = "http://gitlab.dev/group/app/builds/664"
    old["deployable"]["pipeline"]["web_url"] = "http://gitlab.dev/group/app/pipelines/42"
    assert _import(repo, export, [old]).code == 0
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    under = _moved(deployment, "group/app", "https://example.com/gitlab")
    _refused(_import(repo, export, [under], "--api-url", "https://example.com"), repo,
             "of project gitlab/group/app, not group/app", "--api-url")  # fmt: skip
    rooted = _import(repo, export, [under], "--api-url", "https://example.com/gitlab/")
    assert rooted.code == 0, rooted.err


def test_a_url_that_is_no_jobs_is_refused(tmp_path: Path) -> None:
    repo, export, deployment = _workspace(tmp_path)
    odd = copy.deepcopy(deployment)
    odd["deployable"]["web_url"] = "http://gitlab.dev/group/app"
    _refused(_import(repo, export, [odd]), repo, "deployable.web_url", "is no job's address")


@pytest.mark.parametrize("trimmed", ["api", "no urls"])
def test_a_deployment_that_names_no_project_is_refused(tmp_path: Path, trimmed: str) -> None:
    """Created through the API (``deployable`` null, as GitLab's example of ``POST
    /projects/:id/deployments`` answers), or trimmed of the job's and the pipeline's
    addresses and ids: nothing in the file ties it to a project."""
    repo, export, deployment = _workspace(tmp_path)
    if trimmed == "api":
        deployment["deployable"] = None
    else:
        for key in ("web_url", "pipeline"):
            del deployment["deployable"][key]
    result = _import(repo, export, [deployment])
    _refused(result, repo, "item #1 (deployment 42) names no project",
             "nothing shows it is group/app's", "--fetch")  # fmt: skip


def test_a_deployment_created_through_the_api_is_fetched(tmp_path: Path) -> None:
    """Fetched, the request names the project: a deployment with no job is the project's,
    recorded with the status its tool set, ended at its last update."""
    repo, _, deployment = _workspace(tmp_path)
    deployment["deployable"] = None
    result = fetched_gitlab_deployment(repo, deployment)
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["finished_at"] == deployment["updated_at"]
    assert record["targets"] == [{"host": "app-1", "status": "succeeded"}]


@pytest.mark.parametrize("api", ["https://gitlab.example.com/api/v4", "https://gitlab.com"])
def test_the_same_path_on_another_instance_is_refused(tmp_path: Path, api: str) -> None:
    """A staging instance's copy of group/app, at the same path: its deployments were read as
    the production instance's that ``--api-url`` names (or gitlab.com's, by default), and check
    passed on them. Every job and pipeline address must be on the instance's host."""
    repo, export, deployment = _workspace(tmp_path)
    staging = _moved(deployment, "group/app", "https://staging.example.com")
    said = "deployable.web_url 'https://staging.example.com/group/app/-/jobs/664' is on "
    _refused(_import(repo, export, [staging], "--api-url", api), repo, said, "staging.example.com",
             "check --api-url")  # fmt: skip
    own = _moved(deployment, "group/app", "HTTPS://GitLab.Example.com")
    assert _import(repo, export, [own], "--api-url", "https://gitlab.example.com/api/v4").code == 0
