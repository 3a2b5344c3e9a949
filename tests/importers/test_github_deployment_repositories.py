"""Saved GitHub deployments are the repository's that ``--repository`` names. GitHub gives
every deployment its API addresses (``url``, ``https://api.github.com/repos/OWNER/REPO/
deployments/ID``, ``repository_url`` and ``statuses_url``), and every status its own; the
deployments of a fork or of a sandbox copy with the same commits, all successful, saved and
imported, were the audited repository's deployments and check passed on them. A record that
names another repository, or none, is refused; so is saved output with no ``--repository``.

On the recorded deployment objects of tests/importers/fixtures/forges (sources in its README),
as tests/importers/test_deployment_statuses.py prepares them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import Forge, serve
from tests.importers.test_deployment_statuses import DEPLOYMENT, _check, _export
from tests.importers.test_forges import _records
from tests.importers.workspaces import (
    fetched_as_saved,
    named,
    read_against_api_url,
    refused,
    saved_items,
    saved_pages,
)

REPOSITORY = "PyGithub/PyGithub"
API = "https://api.github.com"


def _import(repo: ScriptedRepo, export: Path, *options: str) -> CliResult:
    """Production's deployments: the recorded one to ``test`` (three ``queued`` statuses, no
    outcome) is recorded unfinished, and would put web-1 in two environments."""
    argv = named("--repository", REPOSITORY, options)
    return run_cli("import", "github-deployments", export / "deployments.json", export,
                   "--service", "pygithub", "--environment", "production", "--target", "web-1",
                   "--repo", repo.path, *argv)  # fmt: skip


def _moved(export: Path, repository: str, api: str = API) -> None:
    """The saved output as GitHub gives it for ``repository`` at ``api``: every API address
    of the deployments and their statuses names it."""
    for path in export.rglob("*.json"):
        text = path.read_text().replace(f"{API}/repos/{REPOSITORY}", f"{api}/repos/{repository}")
        path.write_text(text)


def _deployments(export: Path) -> list[dict[str, Any]]:
    return list(saved_items(export / "deployments.json"))


def _write(export: Path, items: list[dict[str, Any]]) -> None:
    (export / "deployments.json").write_text(saved_pages(items))


def _refused(result: CliResult, repo: ScriptedRepo, *said: str) -> None:
    refused(result, repo.path / "compliance" / "deploys.jsonl", *said)


def test_the_repositorys_own_deployments_are_imported(tmp_path: Path) -> None:
    repo, export, _ = _export(tmp_path)
    result = _import(repo, export)
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["id"] == f"{REPOSITORY}/deployments/{DEPLOYMENT}"
    assert _check(repo).code == 0
    # GitHub's names are one regardless of case: pygithub/PYGITHUB is PyGithub/PyGithub.
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    assert _import(repo, export, "--repository", "pygithub/PYGITHUB").code == 0


@pytest.mark.parametrize("other", ["mallory/PyGithub", "PyGithub/PyGithub-sandbox", "PyGithub/Py"])
def test_another_repositorys_deployments_are_refused(tmp_path: Path, other: str) -> None:
    """A fork, a sandbox copy with the same commits, a name that the audited one begins
    with: every deployment successful, and check passed on them as the audited one's."""
    repo, export, _ = _export(tmp_path)
    _moved(export, other)
    result = _import(repo, export)
    said = f"item #1 (deployment 263877258) is, by its url, of repository {other}, not {REPOSITORY}"
    _refused(result, repo, f"{export / 'deployments.json'}: {said}", "check --repository")


def test_saved_output_without_a_repository_is_refused(tmp_path: Path) -> None:
    """Nothing on the command line said whose deployments the file holds: a fork's were
    imported as the audited repository's, and check passed."""
    repo, export, _ = _export(tmp_path)
    _moved(export, "mallory/PyGithub")
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--service", "pygithub", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    _refused(result, repo, "give --repository OWNER/REPO", "every saved record must be its")
    assert _check(repo).code != 0  # nothing imported: the evidence has no deployment


def test_one_record_of_another_repository_among_the_repositorys_is_refused(
    tmp_path: Path,
) -> None:
    repo, export, _ = _export(tmp_path)
    items = _deployments(export)
    fork = f"{API}/repos/mallory/PyGithub"
    items[1] |= {"repository_url": fork, "url": f"{fork}/deployments/{DEPLOYMENT}"}
    _write(export, items)
    result = _import(repo, export)
    _refused(result, repo, f"item #2 (deployment {DEPLOYMENT}) is, by its url, of repository "
             "mallory/PyGithub")  # fmt: skip


def test_addresses_that_disagree_are_refused(tmp_path: Path) -> None:
    """The deployment's own address and its repository's must both name the repository."""
    repo, export, _ = _export(tmp_path)
    items = _deployments(export)
    items[1]["repository_url"] = f"{API}/repos/mallory/PyGithub"
    _write(export, items)
    _refused(_import(repo, export), repo, "by its repository_url, of repository mallory/PyGithub")


def test_an_address_of_another_deployment_is_refused(tmp_path: Path) -> None:
    repo, export, _ = _export(tmp_path)
    items = _deployments(export)
    items[1]["url"] = f"{API}/repos/{REPOSITORY}/deployments/1"
    _write(export, items)
    _refused(_import(repo, export), repo, f"item #2 (deployment {DEPLOYMENT}): url ",
             "is not deployment 262350588's address")  # fmt: skip


@pytest.mark.parametrize("trimmed", [("url", "repository_url", "statuses_url"), ("url",)])
def test_a_deployment_that_names_no_repository_is_refused(
    tmp_path: Path, trimmed: tuple[str, ...]
) -> None:
    """Trimmed of its addresses, nothing ties a deployment to a repository; trimmed of its
    own address alone, its repository's still does."""
    repo, export, _ = _export(tmp_path)
    _write(export, [{k: v for k, v in i.items() if k not in trimmed} for i in _deployments(export)])
    result = _import(repo, export)
    if len(trimmed) == 1:
        assert result.code == 0, result.err
        return
    _refused(result, repo, "item #1 (deployment 263877258) names no repository",
             f"nothing shows it is {REPOSITORY}'s")  # fmt: skip


def test_a_status_of_another_repository_is_refused(tmp_path: Path) -> None:
    """GitHub gives a status its ``repository_url``: one saved from the fork is not the
    audited repository's deployment's."""
    repo, export, statuses = _export(tmp_path)
    fork = f"{API}/repos/mallory/PyGithub"
    moved = [s | {"repository_url": fork} for s in statuses]
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages(moved))
    said = "item #1 (status 388460003) is, by its repository_url, of repository mallory/PyGithub"
    _refused(_import(repo, export), repo, f"{export / DEPLOYMENT / 'statuses.json'}: {said}")
    own = [s | {"repository_url": f"{API}/repos/{REPOSITORY}"} for s in statuses]
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages(own))
    assert _import(repo, export).code == 0


def test_github_enterprise_addresses_are_read_against_api_url(tmp_path: Path) -> None:
    """GitHub Enterprise Server writes its API's addresses, ``https://HOST/api/v3/repos/...``:
    they are read against ``--api-url``, and the same repository on another host (github.com's,
    a staging server's) is another repository."""
    repo, export, _ = _export(tmp_path)
    _moved(export, REPOSITORY, "https://ghe.example.com/api/v3")
    written = repo.path / "compliance" / "deploys.jsonl"
    read_against_api_url(lambda *options: _import(repo, export, *options), written)


def test_a_repository_that_is_no_owner_and_name_is_refused(tmp_path: Path) -> None:
    repo, export, _ = _export(tmp_path)
    _refused(_import(repo, export, "--repository", "PyGithub"), repo, "OWNER/REPO")


def test_the_repository_alone_is_fetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--repository`` alone fetches, as before: the request names the repository, and the
    records are those the saved output of the same answers gives."""
    repo, export, _ = _export(tmp_path)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    base = f"/repos/{REPOSITORY}"
    routes: dict[str, list[Any]] = {f"{base}/deployments": [_deployments(export)]}
    for item in _deployments(export):
        statuses = saved_items(export / str(item["id"]) / "statuses.json")
        routes[f"{base}/deployments/{item['id']}/statuses"] = [statuses]
    run = json.loads((export / DEPLOYMENT / "run.json").read_text())
    approvals = json.loads((export / DEPLOYMENT / "approvals.json").read_text())
    routes[f"{base}/actions/runs/{run['id']}"] = [run]
    routes[f"{base}/actions/runs/{run['id']}/approvals"] = [approvals]
    with serve(Forge(routes)) as forge:
        fetched = run_cli("import", "github-deployments", "--repository", REPOSITORY,
                          "--api-url", forge.url, "--service", "pygithub", "--environment",
                          "production", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    assert fetched.code == 0, fetched.err
    fetched_as_saved(repo.path / "compliance" / "deploys.jsonl", lambda: _import(repo, export))


def test_statuses_without_their_deployments_address_are_refused(tmp_path: Path) -> None:
    """GitHub gives every status its ``deployment_url``. 263877258 failed; saved in its folder
    instead, 262350588's statuses and run, trimmed of their addresses: nothing showed they were
    another deployment's, and 263877258 was recorded as a success in production."""
    repo, export, _ = _export(tmp_path)
    other = export / "263877258"
    shutil.rmtree(other)
    shutil.copytree(export / DEPLOYMENT, other)
    statuses = saved_items(other / "statuses.json")
    addresses = ("url", "deployment_url", "repository_url")
    trimmed = [{k: v for k, v in s.items() if k not in addresses} for s in statuses]
    (other / "statuses.json").write_text(saved_pages(trimmed))
    _refused(_import(repo, export), repo, f"{other / 'statuses.json'}: item #1 names no "
             "deployment_url", "deployment 263877258")  # fmt: skip
