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
from pathlib import Path
from typing import Any

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers import test_gitlab_deployments as gitlab
from tests.importers.forge_server import Forge, serve
from tests.importers.test_saved_deployment_pages import _gitlab_list

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
