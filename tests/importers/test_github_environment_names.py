"""GitHub's environment names are the same in any case: a workflow's ``environment:
Production`` deploys to the environment ``production``, as its approvals name it. Compared as
written, ``--environment production`` passed over a failed deployment GitHub lists for
``Production``, saying nothing, and check passed.

On the recorded deployment objects of tests/importers/fixtures/forges (sources in its README):
a second production deployment is derived from 262350588 (its id 262350599, a day later, its
run 30433699, its last status ``failure``) and listed for ``Production``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import Forge, serve
from tests.importers.test_deployment_statuses import DEPLOYMENT, _check, _export
from tests.importers.test_forges import _records
from tests.importers.workspaces import saved_items, saved_pages

FAILED = "262350599"
REPOSITORY = "PyGithub/PyGithub"


def _renamed(text: str) -> str:
    """262350588's objects as 262350599's, a day later, of run 30433699."""
    return (
        text.replace(DEPLOYMENT, FAILED).replace("30433642", "30433699").replace("08-26T", "08-27T")
    )


def _with_failure(tmp_path: Path, spelt: str) -> tuple[ScriptedRepo, Path]:
    """The recorded export, and beside its production deployment a later one, listed (and its
    statuses written) for ``spelt``, that failed."""
    repo, export, _ = _export(tmp_path)
    items = saved_items(export / "deployments.json")
    [release] = [item for item in items if str(item["id"]) == DEPLOYMENT]
    failed = json.loads(_renamed(json.dumps(release)))
    failed["environment"] = failed["original_environment"] = spelt
    (export / "deployments.json").write_text(saved_pages([failed, *items]))
    (export / FAILED).mkdir()
    for name in ("statuses.json", "approvals.json", "run.json"):
        text = _renamed((export / DEPLOYMENT / name).read_text())
        (export / FAILED / name).write_text(text)
    statuses = saved_items(export / FAILED / "statuses.json")
    for status in statuses:
        status["environment"] = spelt
    statuses[0]["state"] = "failure"
    (export / FAILED / "statuses.json").write_text(saved_pages(statuses))
    return repo, export


def _import(repo: ScriptedRepo, export: Path, *options: str) -> CliResult:
    return run_cli("import", "github-deployments", export / "deployments.json", export,
                   "--repository", REPOSITORY, "--service", "pygithub", "--target", "web-1",
                   "--repo", repo.path, *options)  # fmt: skip


def _environments(repo: ScriptedRepo) -> dict[str, tuple[str, list[str]]]:
    """Each record's environment and approvers, by the GitHub id."""
    return {
        record["id"].rsplit("/", 1)[1]: (
            record["environment"],
            [approval["by"] for approval in record["approvals"]],
        )
        for record in _records(repo.path / "compliance" / "deploys.jsonl")
    }


@pytest.mark.parametrize("spelt", ["Production", "PRODUCTION"])
def test_a_deployment_to_production_spelt_otherwise_is_production(
    tmp_path: Path, spelt: str
) -> None:
    """It is imported under the name ``--environment`` gives, with the run's approval of
    ``production``; its failure is FLEET-001."""
    repo, export = _with_failure(tmp_path, spelt)
    result = _import(repo, export, "--environment", "production")
    assert result.code == 0, result.err
    assert _environments(repo) == {
        FAILED: ("production", ["octo@example.com"]),
        DEPLOYMENT: ("production", ["octo@example.com"]),
    }
    check = _check(repo)
    assert check.code == 1, check.out
    found = {(f["rule"], f["subject"]) for f in check.json()["findings"]}
    assert found == {("FLEET-001", f"{REPOSITORY}/deployments/{FAILED}:web-1")}


def test_an_environment_spelt_two_ways_without_environment_is_refused(tmp_path: Path) -> None:
    """Recorded as GitHub spells each, they would be two environments to the checks (a flag
    switched on in ``production`` would not see the failed ``Production`` deployment)."""
    repo, export = _with_failure(tmp_path, "Production")
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert str(export / DEPLOYMENT / "statuses.json") in result.err
    assert f"deployment {REPOSITORY}/deployments/{DEPLOYMENT} went to 'production'" in result.err
    assert f"{REPOSITORY}/deployments/{FAILED} to 'Production'" in result.err
    assert "--environment production" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
    # One spelling alone is recorded as GitHub gives it.
    items = saved_items(export / "deployments.json")
    (export / "deployments.json").write_text(saved_pages(items[:1]))
    alone = _import(repo, export)
    assert alone.code == 0, alone.err
    assert _environments(repo) == {FAILED: ("Production", ["octo@example.com"])}


def test_a_fetched_deployment_to_production_spelt_otherwise_is_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct fetch chooses it by the same rule: read, then recorded as production's."""
    repo, export = _with_failure(tmp_path, "Production")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    base = f"/repos/{REPOSITORY}"
    items = saved_items(export / "deployments.json")
    routes: dict[str, list[Any]] = {f"{base}/deployments": [copy.deepcopy(items)]}
    for item in items:
        here = export / str(item["id"])
        routes[f"{base}/deployments/{item['id']}/statuses"] = [saved_items(here / "statuses.json")]
        if (here / "run.json").is_file():
            run = json.loads((here / "run.json").read_text())
            routes[f"{base}/actions/runs/{run['id']}"] = [run]
            routes[f"{base}/actions/runs/{run['id']}/approvals"] = [
                json.loads((here / "approvals.json").read_text())
            ]
    with serve(Forge(routes)) as forge:
        fetched = run_cli("import", "github-deployments", "--repository", REPOSITORY,
                          "--api-url", forge.url, "--service", "pygithub", "--target", "web-1",
                          "--environment", "production", "--repo", repo.path)  # fmt: skip
    assert fetched.code == 0, fetched.err
    assert _environments(repo)[FAILED] == ("production", ["octo@example.com"])
