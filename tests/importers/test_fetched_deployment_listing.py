"""``import gitlab-deployments --fetch`` lists a project's deployments by update
(``order_by=updated_at``, which ``updated_after`` needs for ``--since``). A deployment that
finishes while the pages are read moves to the list's end: listed again there, it pushed the
one after it back onto a page already read, which no page listed. The import took the
deployment listed twice once and recorded the rest: a failed deployment never listed was
never recorded, and the check passed (exit 0). The list is read again until no deployment is
listed twice, and refused after three readings that each lost one.

On copies of GitLab's recorded deployment 42 (tests/importers/fixtures/forges, sources in its
README), as tests/importers/test_saved_deployment_pages.py makes them, answered by the stand-in
GitLab of tests/importers/forge_server.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers import test_deployment_statuses as github
from tests.importers import test_gitlab_deployments as gitlab
from tests.importers.forge_server import Forge, serve
from tests.importers.test_saved_deployment_pages import (
    _github_list,
    _gitlab_list,
    _outcome,
    _own_runs,
)
from tests.importers.workspaces import saved_items

BASE = "/projects/group%2Fapp"


def _moved(tmp_path: Path) -> tuple[ScriptedRepo, list[Any], list[Any], list[Any]]:
    """Deployment 100 (reviewed) running, then a success; deployment 101 failed after 100
    started. Read a deployment a page: the first page lists 100 running; 100 finishes and
    moves past 101, which moves back onto the first page, and the second lists 100 again.
    The repository; the pages read while 100 finished; those of the list read again; and the
    deployments, each as GitLab answers it singly."""
    repo, _, deployment = gitlab._workspace(tmp_path)
    done, failed = _gitlab_list(deployment, 2)
    running = copy.deepcopy(done)
    running["status"] = running["deployable"]["status"] = "running"
    running["deployable"]["finished_at"] = None
    running["updated_at"] = running["created_at"]
    listed = [{k: v for k, v in item.items() if k != "approvals"} for item in (done, failed)]
    moving = [[{k: v for k, v in running.items() if k != "approvals"}], [listed[0]]]
    return repo, moving, [[listed[1]], [listed[0]]], [done, failed]


def _fetched(repo: ScriptedRepo, forge: Forge, *options: str) -> CliResult:
    with serve(forge):
        return run_cli("import", "gitlab-deployments", "--fetch", "--project", "group/app",
                       "--service", "app", "--target", "app-1", "--api-url", forge.url,
                       "--repo", repo.path, *options)  # fmt: skip


def _forge(moving: list[Any], singles: list[Any], *later: list[Any]) -> Forge:
    routes = {f"{BASE}/deployments": moving}
    routes |= {f"{BASE}/deployments/{item['id']}": [item] for item in singles}
    return Forge(routes, relisted={f"{BASE}/deployments": list(later)})


def test_a_list_that_lost_a_deployment_is_read_again(tmp_path: Path) -> None:
    repo, moving, still, singles = _moved(tmp_path)
    forge = _forge(moving, singles, still)
    result = _fetched(repo, forge, "--since", "2016-01-01T00:00:00Z")
    assert result.code == 0, result.err
    assert (
        f"{BASE}/deployments: deployment 100 is listed twice (updated while the "
        "pages were read, so the one after it on the list was never listed): the list is read "
        "again"
    ) in result.err
    assert "1 finished deployments" not in result.err and "2 finished deployments" in result.err
    assert forge.requests.count(f"{BASE}/deployments") == 4  # two pages, twice
    check = gitlab._check(repo)
    assert check.code == 1  # deployment 101 failed
    assert {f["subject"] for f in check.json()["findings"]} == {"group/app/deployments/101:app-1"}


def test_a_list_that_loses_a_deployment_at_every_reading_is_refused(tmp_path: Path) -> None:
    repo, moving, _, singles = _moved(tmp_path)
    forge = _forge(moving, singles, moving, moving)
    result = _fetched(repo, forge)
    assert result.code == 2, result.err
    assert (
        f"{BASE}/deployments: deployment 100 is listed twice in each of 3 readings of the list"
    ) in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_list_that_holds_still_is_read_once(tmp_path: Path) -> None:
    """The nightly import of a project whose list did not change while it was read."""
    repo, _, still, singles = _moved(tmp_path)
    forge = _forge(still, singles)
    result = _fetched(repo, forge, "--since", "2016-01-01T00:00:00Z")
    assert result.code == 0, result.err
    assert "read again" not in result.err
    assert forge.requests.count(f"{BASE}/deployments") == 2
    assert gitlab._check(repo).code == 1  # deployment 101 failed


# -- GitHub ---------------------------------------------------------------------------------------

REPOSITORY = "/repos/PyGithub/PyGithub"


def _github_forge(tmp_path: Path, *readings: list[int]) -> tuple[ScriptedRepo, Forge, str]:
    """Three copies of GitHub's recorded deployment 262350588, newest first, each made by a
    run of its own (as test_saved_deployment_pages.py makes them): 262350003, then 262350002,
    a failed unreviewed hotfix, then 262350001. Each of ``readings`` lists them (by their
    place: 0, 1, 2) one a page; a deployment the first reading lists and the later ones do not
    was deleted, and GitHub answers its statuses 404. The repository, the stand-in GitHub, and
    the hotfix."""
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, 3)
    _own_runs(export, listed)
    _outcome(export, listed[1], "failure")
    _outcome(export, listed[2], "success")
    hotfix = repo.commit("hotfix", {"app.py": "2\n"}, author="Dev <dev@example.com>",
                         date="2016-01-02T00:00:00Z")  # fmt: skip
    listed[1] |= {"sha": hotfix, "ref": hotfix}
    kept = set(readings[-1])
    routes: dict[str, list[Any]] = {}
    for place, item in enumerate(listed):
        folder = export / str(item["id"])
        run = json.loads((folder / "run.json").read_text())
        routes[f"{REPOSITORY}/actions/runs/{run['id']}"] = [run]
        routes[f"{REPOSITORY}/actions/runs/{run['id']}/approvals"] = [
            json.loads((folder / "approvals.json").read_text())
        ]
        if place in kept:
            statuses = saved_items(folder / "statuses.json")
            routes[f"{REPOSITORY}/deployments/{item['id']}/statuses"] = [statuses]
    pages = [[[listed[place]] for place in reading] for reading in readings]
    routes[f"{REPOSITORY}/deployments"] = pages[0]
    return repo, Forge(routes, relisted={f"{REPOSITORY}/deployments": pages[1:]}), hotfix


def _github_fetched(repo: ScriptedRepo, forge: Forge) -> CliResult:
    with serve(forge):
        return run_cli("import", "github-deployments", "--repository", "PyGithub/PyGithub",
                       "--api-url", forge.url, "--service", "pygithub", "--environment",
                       "production", "--target", "web-1", "--repo", repo.path)  # fmt: skip


def test_a_github_list_read_while_a_deployment_was_deleted_is_read_again(
    tmp_path: Path,
) -> None:
    """262350003 deleted after the first page was read: 262350002 moved onto the first page,
    and the second page listed 262350001. The list was read once: 262350002, the failed
    hotfix, was never read, and the import failed on the statuses of the deleted one (HTTP
    404). Read again, the list names 262350002, which the first reading did not; a third
    reading agrees with the second, which is imported."""
    repo, forge, hotfix = _github_forge(tmp_path, [0, 2], [1, 2])
    result = _github_fetched(repo, forge)
    assert result.code == 0, result.err
    assert (
        f"{REPOSITORY}/deployments: deployment 262350002 is missing from a reading of the list "
        "and listed by the next"
    ) in result.err
    assert forge.requests.count(f"{REPOSITORY}/deployments") == 6  # two pages, three times
    assert f"{REPOSITORY}/deployments/262350003/statuses" not in forge.requests
    check = github._check(repo)
    assert check.code == 1, check.err
    assert ("REVIEW-002", hotfix) in {(f["rule"], f["subject"]) for f in check.json()["findings"]}


def test_a_github_list_that_held_still_is_read_twice(tmp_path: Path) -> None:
    """The nightly import, nothing deleted: two readings agree, and the first is imported."""
    repo, forge, _ = _github_forge(tmp_path, [0, 1, 2])
    result = _github_fetched(repo, forge)
    assert result.code == 0, result.err
    assert "read again" not in result.err
    assert forge.requests.count(f"{REPOSITORY}/deployments") == 6  # three pages, twice


def test_a_github_list_missing_a_deployment_at_every_reading_is_refused(tmp_path: Path) -> None:
    repo, forge, _ = _github_forge(tmp_path, [0], [0, 1], [0, 1, 2], [0, 1, 2])
    result = _github_fetched(repo, forge)
    assert result.code == 2, result.err
    assert (
        f"{REPOSITORY}/deployments: deployment 262350001 is missing from one reading of the list "
        "and listed by the next, in each of 3 readings"
    ) in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
