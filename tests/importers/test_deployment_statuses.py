"""GitHub deployment statuses read as GitHub means them: a status may move its deployment to
another environment (its ``environment``), and statuses dated in the same second are ordered
by id. Each was a false pass: a deployment recorded ``succeeded`` in production that its last
status put in ``staging``, or whose failure came in the second of its success.

On the recorded deployment objects of tests/importers/fixtures/forges (sources in its README).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.test_forges import FIXTURES, _copy, _records
from tests.importers.workspaces import saved_items, saved_pages

DEPLOYMENT = "262350588"
PEOPLE = {"pascal": ["pascal@example.com", "jacquev6"], "mona": ["octo@example.com", "octocat"]}


def _export(tmp_path: Path) -> tuple[ScriptedRepo, Path, list[dict[str, Any]]]:
    repo = ScriptedRepo(tmp_path / "app")
    sha = repo.commit("release", {"app.py": "1\n"}, author="Dev <dev@example.com>",
                      date="2016-01-01T00:00:00Z")  # fmt: skip
    (repo.path / "compliance").mkdir()
    shas = {"743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5": sha}
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    review = {"change": "app#1", "author": "dev@example.com", "commits": list(shas.values()),
              "approvals": [{"by": "lead@example.com", "at": "2016-01-01T01:00:00Z"}]}  # fmt: skip
    (evidence / "reviews.jsonl").write_text(json.dumps(review) + "\n")
    (evidence / "identities.yaml").write_text(yaml.safe_dump(PEOPLE))
    (evidence / "fleet.yaml").write_text(
        yaml.safe_dump({"services": {"pygithub": {"hosts": ["web-1"]}}})
    )
    statuses = saved_items(export / DEPLOYMENT / "statuses.json")
    return repo, export, statuses


def _import(repo: ScriptedRepo, export: Path, statuses: list[dict[str, Any]]) -> CliResult:
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages(statuses))
    return _import_saved(repo, export)


def _import_saved(repo: ScriptedRepo, export: Path, environment: str = "production") -> CliResult:
    """The export imported for ``environment``: the recorded deployment to ``test``, three
    ``queued`` statuses and no outcome, is recorded unfinished, and would put web-1 in two."""
    return run_cli("import", "github-deployments", export / "deployments.json", export,
                   "--repository", "PyGithub/PyGithub", "--service", "pygithub",
                   "--environment", environment, "--target", "web-1",
                   "--repo", repo.path)  # fmt: skip


def _check(repo: ScriptedRepo) -> CliResult:
    return run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2021-01-01")


def test_the_recorded_deployment_passes(tmp_path: Path) -> None:
    repo, export, statuses = _export(tmp_path)
    assert _import(repo, export, statuses).code == 0
    assert _check(repo).code == 0


def test_a_failure_in_the_second_of_the_success_is_the_outcome(tmp_path: Path) -> None:
    """GitHub dates statuses to the second; ids grow. Compared as text, id 1000000000 came
    before 999999999, and the success after the failure was the outcome."""
    repo, export, statuses = _export(tmp_path)
    success = statuses[0] | {"id": 999999999}
    failure = success | {"id": 1000000000, "state": "failure"}
    result = _import(repo, export, [failure, success, *statuses[1:]])
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["targets"] == [{"host": "web-1", "status": "failed"}]
    assert _check(repo).code == 1


def test_a_status_whose_id_is_no_number_is_refused(tmp_path: Path) -> None:
    """GitHub's status ids are integers, and order the statuses of one second. Written as
    text ("1000000000"), the failure and the success above were left in the file's order, the
    success last, and the deployment was recorded a success: check passed."""
    repo, export, statuses = _export(tmp_path)
    success = statuses[0] | {"id": "999999999"}
    failure = success | {"id": "1000000000", "state": "failure"}
    result = _import(repo, export, [failure, success, *statuses[1:]])
    assert result.code == 2, result.err
    path = export / DEPLOYMENT / "statuses.json"
    assert f"{path}: item #1 is not a deployment status (id, state, created_at;" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


@pytest.mark.parametrize("state", ["FAILURE", "failed", "cancelled", ""])
def test_a_status_whose_state_is_none_of_githubs_is_refused(tmp_path: Path, state: str) -> None:
    """GitHub's states are lowercase, and few. A failure written otherwise after the success
    (``FAILURE``, ``failed``) was read as no state at all: the deployment succeeded, and check
    passed."""
    repo, export, statuses = _export(tmp_path)
    success = statuses[0]
    failure = success | {"id": success["id"] + 1, "state": state,
                         "created_at": "2020-08-26T12:30:00Z"}  # fmt: skip
    result = _import(repo, export, [failure, *statuses])
    path = export / DEPLOYMENT / "statuses.json"
    assert result.code == 2, result.err
    assert f"{path}: item #1 (status {failure['id']}) has the state {state!r}, none of" in (
        result.err
    )
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_status_that_moves_the_deployment_to_another_environment(tmp_path: Path) -> None:
    """A deployment listed for production whose success status names staging went to staging:
    it is staging's, and an --environment production import passes it over, saying so."""
    repo, export, statuses = _export(tmp_path)
    moved = [statuses[0] | {"environment": "staging"}, *statuses[1:]]
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages(moved))
    result = _import_saved(repo, export, "staging")
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["environment"] == "staging"
    # the run's approval of production does not approve it; its approval of staging does
    assert [a["by"] for a in record["approvals"]] == ["monalisa"]
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    only = _import_saved(repo, export)
    assert only.code == 0, only.err
    assert "1 moved to staging by a status, passed over" in only.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_status_without_an_environment_keeps_the_one_before(tmp_path: Path) -> None:
    """GitHub: a status that names no environment keeps the previous status's, else the
    deployment's; one listed for staging that a status moved to production is production's."""
    repo, export, statuses = _export(tmp_path)
    deployments = saved_items(export / "deployments.json")
    for item in deployments:
        if str(item["id"]) == DEPLOYMENT:
            item["environment"] = "staging"
    (export / "deployments.json").write_text(saved_pages(deployments))
    success, running, queued = statuses
    moved = [{k: v for k, v in success.items() if k != "environment"}, running, queued]
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages(moved))
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", "PyGithub/PyGithub",
                     "--service", "pygithub", "--environment", "production", "--target",
                     "web-1", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["environment"] == "production"


def test_statuses_of_a_deployment_listed_for_another_environment_must_be_saved(
    tmp_path: Path,
) -> None:
    """262350588, an unreviewed hotfix, listed for staging, and moved to production by its
    statuses; only the statuses of deployments listed for production were saved. It was passed
    over without a word, and check passed (exit 0)."""
    repo, export, statuses, hotfix = _hotfix(tmp_path)
    deployments = saved_items(export / "deployments.json")
    for item in deployments:
        item["environment"] = "staging" if str(item["id"]) == DEPLOYMENT else "production"
    (export / "deployments.json").write_text(saved_pages(deployments))
    path = export / DEPLOYMENT / "statuses.json"
    path.unlink()
    deploys = repo.path / "compliance" / "deploys.jsonl"
    before = deploys.read_bytes()
    result = _import_saved(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: missing for deployment {DEPLOYMENT}, listed for 'staging'" in result.err
    assert "Traceback" not in result.err
    assert deploys.read_bytes() == before
    path.write_text(saved_pages(statuses))
    whole = _import_saved(repo, export)
    assert whole.code == 0, whole.err
    checked = _check(repo)
    assert ("REVIEW-002", hotfix) in {(f["rule"], f["subject"]) for f in checked.json()["findings"]}


def _hotfix(tmp_path: Path) -> tuple[ScriptedRepo, Path, list[dict[str, Any]], str]:
    """The recorded export, its production deployment moved to an unreviewed hotfix made
    after the reviewed release, which a deployment written by hand shipped before it."""
    repo, export, statuses = _export(tmp_path)
    [release] = json.loads((repo.path / "compliance" / "reviews.jsonl").read_text())["commits"]
    hotfix = repo.commit("hotfix", {"app.py": "2\n"}, author="Dev <dev@example.com>",
                         date="2016-01-02T00:00:00Z")  # fmt: skip
    earlier = {"id": "D-1", "service": "pygithub", "environment": "production",
               "commit": release, "started_at": "2020-08-01T10:00:00Z",
               "finished_at": "2020-08-01T10:10:00Z", "deployer": "pascal@example.com",
               "approvals": [{"by": "octo@example.com", "at": "2020-08-01T09:00:00Z"}],
               "targets": [{"host": "web-1", "status": "succeeded"}]}  # fmt: skip
    (repo.path / "compliance" / "deploys.jsonl").write_text(json.dumps(earlier) + "\n")
    deployments = saved_items(export / "deployments.json")
    for item in deployments:
        if str(item["id"]) == DEPLOYMENT:
            item["sha"] = item["ref"] = hotfix
    (export / "deployments.json").write_text(saved_pages(deployments))
    return repo, export, statuses, hotfix


@pytest.mark.parametrize("last", ["in_progress", "inactive"])
def test_a_deployment_that_started_and_never_finished_is_recorded(
    tmp_path: Path, last: str
) -> None:
    """A deployment stuck at in_progress (a job killed before it posted its outcome), or
    marked inactive by a tool without an outcome, may have put its commit on the hosts. It was
    passed over as not finished: its unreviewed hotfix was never judged, and check passed."""
    repo, export, statuses, hotfix = _hotfix(tmp_path)
    success, running, queued = statuses
    stopped = [success | {"state": "inactive"}] if last == "inactive" else []
    result = _import(repo, export, [*stopped, running, queued])
    assert result.code == 0, result.err
    assert "0 finished deployments and 1 unfinished" in result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert "finished_at" not in record and record["started_at"] == running["created_at"]
    [target] = record["targets"]
    assert target["status"] == "failed"
    assert f"its last status is {last}" in target["reason"]
    checked = _check(repo)
    assert checked.code == 1, checked.err
    found = {(f["rule"], f["subject"]) for f in checked.json()["findings"]}
    assert found == {("REVIEW-002", hotfix), ("FLEET-001", f"{record['id']}:web-1")}


@pytest.mark.parametrize("states", [["pending"], ["queued"], ["queued", "pending"]])
def test_a_deployment_pending_or_queued_and_never_finished_is_recorded(
    tmp_path: Path, states: list[str]
) -> None:
    """A deploy tool that creates the deployment itself posts ``pending`` as it begins (the
    API's first state), and GitHub Actions ``queued`` as it releases the job: killed before
    its outcome (mid-rollout), the deployment keeps that status alone. It was passed over as
    never started: its unreviewed hotfix, on some hosts, was never judged, and check passed."""
    repo, export, statuses, hotfix = _hotfix(tmp_path)
    queued = statuses[-1]
    posted = [queued | {"id": queued["id"] + n, "state": state} for n, state in enumerate(states)]
    result = _import(repo, export, posted[::-1])
    assert result.code == 0, result.err
    assert "0 finished deployments and 1 unfinished" in result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert "finished_at" not in record
    [target] = record["targets"]
    assert target["status"] == "failed"
    assert f"its last status is {states[-1]} ({queued['created_at']})" in target["reason"]
    checked = _check(repo)
    assert checked.code == 1, checked.err
    found = {(f["rule"], f["subject"]) for f in checked.json()["findings"]}
    # It started at its creation, no in_progress status saying later; the run's approval is
    # dated at its release (queued), after that, or left out (pending alone releases nothing).
    assert found == {("REVIEW-002", hotfix), ("FLEET-001", f"{record['id']}:web-1"),
                     ("REVIEW-001", record["id"])}  # fmt: skip


def test_a_deployment_only_waiting_for_its_reviewers_has_not_started(tmp_path: Path) -> None:
    """``waiting``: the environment's reviewers have not released the job, which has run
    nothing. Passed over, counted, until a later import."""
    repo, export, statuses, _ = _hotfix(tmp_path)
    deploys = repo.path / "compliance" / "deploys.jsonl"
    before = deploys.read_bytes()
    result = _import(repo, export, [statuses[-1] | {"state": "waiting"}])
    assert result.code == 0, result.err
    assert "1 not started, passed over" in result.err
    assert deploys.read_bytes() == before


@pytest.mark.parametrize("state", ["failure", "error"])
def test_a_deployment_rejected_while_waiting_has_not_started(tmp_path: Path, state: str) -> None:
    """A reviewer rejected the deployment (or its protection rules failed, or it waited past
    30 days): GitHub posts a ``failure`` after its ``waiting``, and its job runs no step. It
    was recorded failed, its unreviewed commit as deployed, and the check failed (exit 1) on a
    deployment the environment's protection had stopped. ``waiting`` is GitHub Actions' own
    (the API's create-status takes no such state), so nothing else ran it."""
    repo, export, statuses, _ = _hotfix(tmp_path)
    deploys = repo.path / "compliance" / "deploys.jsonl"
    before = deploys.read_bytes()
    waiting = statuses[-1] | {"state": "waiting"}
    stopped = statuses[0] | {"id": waiting["id"] + 1, "state": state}
    result = _import(repo, export, [stopped, waiting])
    assert result.code == 0, result.err
    assert "1 stopped while waiting for its reviewers, passed over" in result.err
    assert deploys.read_bytes() == before
    assert _check(repo).code == 0


def test_a_deployment_released_after_waiting_then_failed_is_recorded(tmp_path: Path) -> None:
    """Released (queued) and then failed: its job ran, and the failure is its outcome."""
    repo, export, statuses, hotfix = _hotfix(tmp_path)
    success, running, queued = statuses
    waiting = queued | {"id": queued["id"] - 1, "state": "waiting"}
    result = _import(repo, export, [success | {"state": "failure"}, running, queued, waiting])
    assert result.code == 0, result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert record["commit"] == hotfix and record["targets"][0]["status"] == "failed"


def test_an_unfinished_deployment_is_brought_up_to_date_once_it_finished(
    tmp_path: Path,
) -> None:
    """The record of a deployment still running at one import is replaced by the next import
    that sees it finish, the unfinished one kept in superseded.jsonl."""
    repo, export, statuses, _ = _hotfix(tmp_path)
    assert _import(repo, export, statuses[1:]).code == 0
    result = _import(repo, export, statuses)
    assert result.code == 0, result.err
    assert "1 updated" in result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert record["finished_at"] == statuses[0]["created_at"]
    assert record["targets"] == [{"host": "web-1", "status": "succeeded"}]
    [kept] = _records(repo.path / "compliance" / "superseded.jsonl")
    assert kept["changed"] == ["finished_at", "targets"]


def _recorded_failed(
    repo: ScriptedRepo, export: Path, statuses: list[dict[str, Any]]
) -> tuple[Path, bytes]:
    """The deployment imported whole: a success, then a failure a check posted after it.
    The evidence file, and its bytes."""
    success = statuses[0]
    failure = success | {"id": success["id"] + 1, "state": "failure",
                         "created_at": "2020-08-26T12:30:00Z"}  # fmt: skip
    assert _import(repo, export, [failure, *statuses]).code == 0
    deploys = repo.path / "compliance" / "deploys.jsonl"
    return deploys, deploys.read_bytes()


@pytest.mark.parametrize("saved", ["before the failure", "while it ran"])
def test_an_export_saved_before_the_one_imported_is_refused(tmp_path: Path, saved: str) -> None:
    """A deploy job's check after the release posts a failure after the success. Imported
    whole, the deployment is failed; then the export saved before that failure imported again
    replaced the record, the failure kept only in superseded.jsonl: the deployment succeeded,
    and check passed. An export saved while it ran is older still, and refused too."""
    repo, export, statuses = _export(tmp_path)
    deploys, before = _recorded_failed(repo, export, statuses)
    older = statuses if saved == "before the failure" else statuses[1:]
    result = _import(repo, export, older)
    assert result.code == 2, result.err
    assert f"{deploys}:1: deployment 'PyGithub/PyGithub/deployments/{DEPLOYMENT}': it is " in (
        result.err
    )
    assert "recorded finished at 2020-08-26T12:30:00Z, and this import shows it " in result.err
    assert "brings a record up to date, never back" in result.err
    assert "Traceback" not in result.err
    assert deploys.read_bytes() == before
    assert not (repo.path / "compliance" / "superseded.jsonl").exists()
    assert _check(repo).code == 1


@pytest.mark.parametrize("left", [[], ["inactive"]])
def test_a_deployment_whose_statuses_github_deleted_is_refused(
    tmp_path: Path, left: list[str]
) -> None:
    """GitHub deletes deployment statuses after 90 days: an export saved later lists the
    deployment with no status at all, or with only the ``inactive`` a later deployment added.
    It was passed over as never started, its unreviewed hotfix was never judged, and check
    passed."""
    repo, export, statuses, _ = _hotfix(tmp_path)
    deploys = repo.path / "compliance" / "deploys.jsonl"
    before = deploys.read_bytes()
    result = _import(repo, export, [statuses[0] | {"state": state} for state in left])
    assert result.code == 2, result.err
    named = f"{export / DEPLOYMENT / 'statuses.json'}: deployment {DEPLOYMENT}"
    assert named in result.err
    assert "GitHub deletes deployment statuses after 90 days" in result.err
    assert "Traceback" not in result.err
    assert deploys.read_bytes() == before


def test_a_recorded_deployment_whose_statuses_github_deleted_stays_recorded(
    tmp_path: Path,
) -> None:
    """A deployment recorded while GitHub kept its statuses keeps its record when they are
    gone: nightly imports read every deployment, the old ones too."""
    repo, export, statuses, _ = _hotfix(tmp_path)
    assert _import(repo, export, statuses).code == 0
    deploys = repo.path / "compliance" / "deploys.jsonl"
    before = deploys.read_bytes()
    result = _import(repo, export, [])
    assert result.code == 0, result.err
    assert "1 recorded already, their statuses since deleted by GitHub" in result.err
    assert deploys.read_bytes() == before


def test_a_first_import_starts_at_since_past_deployments_github_forgot(tmp_path: Path) -> None:
    """Every deployment older than 90 days has lost its statuses: a first import on a
    repository deployed for a year was refused until each was recorded by hand. ``--since``
    passes over those created before it, counted; a deployment created at or after it is
    judged as before, refused where its statuses are gone."""
    repo, export, _, _ = _hotfix(tmp_path)
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages())
    argv = ["import", "github-deployments", export / "deployments.json", export,
            "--repository", "PyGithub/PyGithub",
            "--service", "pygithub", "--target", "web-1", "--repo", repo.path]  # fmt: skip
    created = {str(i["id"]): i["created_at"] for i in saved_items(export / "deployments.json")}
    later = run_cli(*argv, "--since", "2020-09-01T00:00:00Z")
    assert later.code == 0, later.err
    assert f"{len(created)} created before --since" in later.err
    at = run_cli(*argv, "--since", created[DEPLOYMENT])
    assert at.code == 2 and "GitHub deletes deployment statuses" in at.err, at.err
    typo = run_cli(*argv, "--since", "2020-09-01")
    assert typo.code == 2 and "--since" in typo.err and "Traceback" not in typo.err, typo.err


@pytest.mark.parametrize("left", [[], ["inactive"]])
def test_a_deployment_younger_than_githubs_90_days_without_a_status_is_recorded_unfinished(
    tmp_path: Path, left: list[str]
) -> None:
    """A deployment created through the API with no status yet: the export was saved no later
    than the import, so GitHub had deleted nothing of it. It was refused as one whose statuses
    GitHub deleted, failing a nightly import; then passed over as not started. But a deploy
    tool that creates the deployment posts its first status once it began, or never, killed
    mid-rollout (``create deployment && deploy && post success``): its unreviewed hotfix, on
    some hosts, was never judged. It is recorded unfinished, failed, until its statuses say
    more; one older than 90 days is still refused (above)."""
    repo, export, statuses, _ = _hotfix(tmp_path)
    listed = saved_items(export / "deployments.json")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    for item in listed:
        item["created_at"] = yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")
    (export / "deployments.json").write_text(saved_pages(listed))
    result = _import(repo, export, [statuses[0] | {"state": state} for state in left])
    assert result.code == 0, result.err
    assert "0 finished deployments and 1 unfinished" in result.err
    record = _records(repo.path / "compliance" / "deploys.jsonl")[-1]
    assert record["id"] == f"PyGithub/PyGithub/deployments/{DEPLOYMENT}"
    assert "finished_at" not in record
    [target] = record["targets"]
    assert target["status"] == "failed"
    said = "its last status is inactive" if left else "GitHub holds no status of it"
    assert said in target["reason"]


def test_an_older_export_spelling_the_repository_otherwise_is_refused(tmp_path: Path) -> None:
    """GitHub gives a repository's name as it is spelt now: after a rename in case, the older
    export's record (`pygithub/pygithub/deployments/...`) went in beside the failed one,
    past the check that an import never goes back, and a success stood beside the failure."""
    repo, export, statuses = _export(tmp_path)
    deploys, before = _recorded_failed(repo, export, statuses)
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages(statuses))
    for saved in [export / "deployments.json", *export.glob("*/*.json")]:
        saved.write_text(saved.read_text().replace("PyGithub/PyGithub", "pygithub/pygithub"))
    result = _import_saved(repo, export)
    assert result.code == 2, result.err
    assert f"deployment 'PyGithub/PyGithub/deployments/{DEPLOYMENT}': it is " in result.err
    assert deploys.read_bytes() == before
