"""An ``--environment`` that no listed deployment went to (``prod`` for ``production``) is
refused: the import would write nothing, and check would pass without the deployments it
meant. The forge deployment importers on the recorded API responses of
tests/importers/fixtures/forges (sources in its README), from saved output and fetched through
the stand-in forge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import Forge, serve
from tests.importers.test_forges import FIXTURES, _copy, _deploy_repo, _records
from tests.importers.workspaces import GITLAB_DEPLOYMENTS, with_headers

GITHUB_SHA = "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5"
GITLAB_SHA = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"
BASE = "/projects/group%2Fapp"
PRODUCTION = {"id": 1, "name": "production", "slug": "production-dfjre3",
              "external_url": "https://production-dfjre3.example.gitlab.com",
              "state": "available"}  # fmt: skip
"""The example answer of ``GET /projects/:id/environments?name=...`` in GitLab's API
documentation (``doc/api/environments.md``, "List environments"), named ``production``."""


def _refused(result: CliResult, evidence: Path, listed: str) -> None:
    assert result.code == 2, result.err
    err = result.err
    assert f"no deployment to prod was listed (environments listed: {listed}); " in err
    assert "check --environment" in err and "Traceback" not in err
    assert not (evidence / "deploys.jsonl").exists()


def test_a_github_environment_no_deployment_went_to_is_refused(tmp_path: Path) -> None:
    repo, shas = _deploy_repo(tmp_path, GITHUB_SHA)
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    argv = ["import", "github-deployments", export / "deployments.json", export,
            "--repository", "PyGithub/PyGithub", "--service",
            "pygithub", "--target", "web-1", "--repo", repo.path]  # fmt: skip
    typo = run_cli(*argv, "--environment", "prod")
    _refused(typo, repo.path / "compliance", "production, test")
    assert str(export / "deployments.json") in typo.err
    # One right name beside the wrong one imports nothing either.
    both = run_cli(*argv, "--environment", "production", "--environment", "prod")
    _refused(both, repo.path / "compliance", "production, test")
    right = run_cli(*argv, "--environment", "production")
    assert right.code == 0, right.err
    assert len(_records(repo.path / "compliance" / "deploys.jsonl")) == 1


def test_a_gitlab_environment_no_deployment_went_to_is_refused(tmp_path: Path) -> None:
    repo, shas = _deploy_repo(tmp_path, GITLAB_SHA)
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", shas)
    with_headers(export / "deployments.json", GITLAB_DEPLOYMENTS)
    typo = run_cli("import", "gitlab-deployments", export / "deployments.json", "--project",
                   "group/app", "--service", "app", "--environment", "prod",
                   "--api-url", "http://gitlab.dev", "--repo", repo.path)  # fmt: skip
    _refused(typo, repo.path / "compliance", "production")
    assert str(export / "deployments.json") in typo.err


@pytest.mark.parametrize("environment", ["production", "prod"])
def test_a_fetched_window_without_a_deployment_to_an_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    """``--since`` lists the window's deployments only: a quiet night lists none. The
    environment is then looked up among the project's: ``production`` exists (nothing to
    import, no mistake), ``prod`` does not (refused, as without a window)."""
    repo, _ = _deploy_repo(tmp_path, GITLAB_SHA)
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    routes = {f"{BASE}/deployments": [[]], f"{BASE}/environments": [[PRODUCTION]]}
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-deployments", "--fetch", "--project", "group/app",
                         "--service", "app", "--environment", environment, "--since",
                         "2024-06-04T00:00:00Z", "--api-url", forge.url,
                         "--repo", repo.path)  # fmt: skip
    assert f"{BASE}/environments" in forge.requests
    if environment == "prod":
        _refused(result, repo.path / "compliance", "none")
    else:
        assert result.code == 0, result.err
        assert "0 finished deployments" in result.err
        assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_fetched_window_that_lists_the_environment_asks_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, shas = _deploy_repo(tmp_path, GITLAB_SHA)
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    saved = (FIXTURES / "gitlab" / "deployments.json").read_text()
    deployments = json.loads(saved.replace(GITLAB_SHA, shas[GITLAB_SHA]))
    routes = {
        f"{BASE}/deployments": [deployments],
        f"{BASE}/deployments/42": [deployments[0]],
    }
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-deployments", "--fetch", "--project", "group/app",
                         "--service", "app", "--environment", "production", "--since",
                         "2016-01-01T00:00:00Z", "--api-url", forge.url,
                         "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert f"{BASE}/environments" not in forge.requests
    assert len(_records(repo.path / "compliance" / "deploys.jsonl")) == 1
