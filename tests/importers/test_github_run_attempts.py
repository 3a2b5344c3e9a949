"""A workflow run's environment approvals, as GitHub lists them (``GET
.../actions/runs/{run_id}/approvals``), name an environment and who approved it, and neither
the deployment nor the attempt of the run (a re-run) they approved. And the run object
(``GET .../actions/runs/{run_id}``) is the run as of its last attempt: its
``triggering_actor`` started that attempt, and its ``actor`` the first.

Each was a false pass: a deployment of a run's first attempt, self-approved, recorded as
deployed by whoever re-ran the run later and approved by the approver of the re-run; a run's
second deployment to production, self-approved, credited with the approval of its first.

On the recorded deployment objects of tests/importers/fixtures/forges (sources in its README):
run 30433642 is given a second attempt (``run_attempt``, ``run_started_at``, the
``triggering_actor`` monalisa, as GitHub's ``workflow-run`` schema has them), and a second
production deployment 262350600 is derived from 262350588 (half an hour later, its statuses
linking job 90211 of the same run). Its approvals are the schema's objects, values ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import run_cli
from tests.importers.test_deployment_statuses import DEPLOYMENT, PEOPLE, _check, _export
from tests.importers.test_forges import _records
from tests.importers.workspaces import refused, saved_items, saved_pages

SECOND = "262350600"
REPOSITORY = "PyGithub/PyGithub"
USERS = {"jacquev6": 2102878, "octocat": 1, "monalisa": 2}


def _approval(login: str) -> dict[str, Any]:
    return {"state": "approved", "comment": "", "user": {"login": login, "id": USERS[login],
            "type": "User"}, "environments": [{"id": 161088068, "name": "production"}]}  # fmt: skip


def _later(text: str) -> str:
    """262350588's objects as 262350600's, half an hour later, of job 90211."""
    for old, new in ((DEPLOYMENT, SECOND), ("/job/90210", "/job/90211"), ("T11:4", "T12:1"),
                     ("T11:5", "T12:2")):  # fmt: skip
        text = text.replace(old, new)
    return text


def _run(
    tmp_path: Path, approvers: list[str], *, attempts: int = 1, second: bool = True
) -> tuple[ScriptedRepo, Path]:
    """The recorded export: run 30433642 started by jacquev6 made production deployment
    262350588 and, with ``second``, 262350600 half an hour later. With ``attempts`` above 1,
    monalisa re-ran it, its last attempt starting between the two deployments. The run's
    approvals are ``approvers``' of production."""
    repo, export, _ = _export(tmp_path)
    people = {**PEOPLE, "lisa": ["lisa@example.com", "monalisa"]}
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(people))
    run = json.loads((export / DEPLOYMENT / "run.json").read_text())
    if attempts > 1:
        monalisa = {"login": "monalisa", "id": 2, "type": "User"}
        run |= {"run_attempt": attempts, "run_started_at": "2020-08-26T12:05:00Z",
                "triggering_actor": monalisa}  # fmt: skip
    folders = [DEPLOYMENT]
    if second:
        items = saved_items(export / "deployments.json")
        [first] = [item for item in items if str(item["id"]) == DEPLOYMENT]
        (export / "deployments.json").write_text(
            saved_pages([json.loads(_later(json.dumps(first))), *items])
        )
        (export / SECOND).mkdir()
        statuses = _later((export / DEPLOYMENT / "statuses.json").read_text())
        (export / SECOND / "statuses.json").write_text(statuses)
        folders.append(SECOND)
    for folder in folders:
        (export / folder / "run.json").write_text(json.dumps(run))
        (export / folder / "approvals.json").write_text(
            json.dumps([_approval(login) for login in approvers])
        )
    return repo, export


def _imported(repo: ScriptedRepo, export: Path) -> dict[str, tuple[str, list[str]]]:
    """Each record's deployer and approvers, by the GitHub id."""
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", REPOSITORY, "--service", "pygithub", "--environment",
                     "production", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    return {
        record["id"].rsplit("/", 1)[1]: (record["deployer"], [a["by"] for a in record["approvals"]])
        for record in _records(repo.path / "compliance" / "deploys.jsonl")
    }


def _unapproved(repo: ScriptedRepo) -> set[str]:
    check = _check(repo)
    assert check.code in (0, 1), check.err
    return {
        f["subject"].rsplit("/", 1)[1]
        for f in check.json()["findings"]
        if f["rule"] == "REVIEW-001"
    }


def test_a_deployment_of_an_earlier_attempt_is_the_first_starters(tmp_path: Path) -> None:
    """jacquev6 started the run and approved its deployment himself; monalisa re-ran the run
    later (a test after the deployment failed). The deployment is jacquev6's, self-approved:
    the run's triggering_actor made it monalisa's, and jacquev6's approval counted."""
    repo, export = _run(tmp_path, ["jacquev6"], attempts=2, second=False)
    assert _imported(repo, export) == {DEPLOYMENT: ("pascal@example.com", ["pascal@example.com"])}
    assert _unapproved(repo) == {DEPLOYMENT}


def test_a_deployment_made_by_the_last_attempt_keeps_its_approvals(tmp_path: Path) -> None:
    """The run's only deployment, made by the attempt monalisa started, approved by octocat:
    the approvals are its own."""
    repo, export = _run(tmp_path, ["octocat"], attempts=2, second=False)
    items = saved_items(export / "deployments.json")
    for item in items:
        item["created_at"] = item["updated_at"] = "2020-08-26T12:06:00Z"
    (export / "deployments.json").write_text(saved_pages(items))
    assert _imported(repo, export) == {DEPLOYMENT: ("lisa@example.com", ["octo@example.com"])}
    assert _unapproved(repo) == set()


def test_approvals_of_a_run_that_deployed_twice_name_neither_deployment(tmp_path: Path) -> None:
    """Two deployments of one run to production (a re-run, or two jobs): jacquev6 approved
    one of them himself, octocat the other, and GitHub does not say which. Each was credited
    with octocat's approval, and passed."""
    for attempts, deployers in ((2, ("pascal@example.com", "lisa@example.com")),
                                (1, ("pascal@example.com", "pascal@example.com"))):  # fmt: skip
        here = tmp_path / f"attempts-{attempts}"
        repo, export = _run(here, ["jacquev6", "octocat"], attempts=attempts)
        assert _imported(repo, export) == {
            DEPLOYMENT: (deployers[0], []),
            SECOND: (deployers[1], []),
        }
        assert _unapproved(repo) == {DEPLOYMENT, SECOND}


def test_a_deployment_of_an_attempt_that_cannot_be_told_has_no_approval(tmp_path: Path) -> None:
    """Made before the last of three attempts began: the second's or the first's, started by
    whom the run object does not say, so whose self-approval cannot be seen."""
    repo, export = _run(tmp_path, ["octocat"], attempts=3, second=False)
    [(_, approvers)] = _imported(repo, export).values()
    assert approvers == []
    assert _unapproved(repo) == {DEPLOYMENT}


def test_an_earlier_attempts_deployment_whose_statuses_github_deleted_is_still_the_runs(
    tmp_path: Path,
) -> None:
    """GitHub deletes a deployment's statuses after 90 days, the first attempt's before those
    of a re-run made up to 30 days later. jacquev6's first attempt, approved by octocat, and
    monalisa's re-run, approved by herself, each deployed to production: once the first
    deployment's statuses were gone, nothing linked it to the run, and the re-run's deployment
    was credited with octocat's approval, and passed."""
    repo, export = _run(tmp_path, ["octocat", "monalisa"], attempts=2)
    assert _imported(repo, export) == {
        DEPLOYMENT: ("pascal@example.com", []),
        SECOND: ("lisa@example.com", []),
    }
    (export / DEPLOYMENT / "statuses.json").write_text(saved_pages())
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", REPOSITORY, "--service", "pygithub", "--environment",
                     "production", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "1 recorded already, their statuses since deleted by GitHub" in result.err
    assert "2 of a run that may have deployed there before (statuses naming no run)" in result.err
    assert _imported(repo, export)[SECOND] == ("lisa@example.com", [])
    assert _unapproved(repo) == {DEPLOYMENT, SECOND}


THIRD = "262350611"


def _third(text: str) -> str:
    """262350588's objects as 262350611's, an hour later, of job 90212."""
    for old, new in ((DEPLOYMENT, THIRD), ("/job/90210", "/job/90212"), ("T11:4", "T12:4"),
                     ("T11:5", "T12:5")):  # fmt: skip
        text = text.replace(old, new)
    return text


def test_three_attempts_each_deploying_credit_no_approval(tmp_path: Path) -> None:
    """Attempts 1, 2 and 3 of one run each deployed to production (262350588, 262350600 and
    262350611, the last after the third attempt began). GitHub names neither the attempt nor
    the deployment of an approval: none is credited, and REVIEW-001 reports all three. Only the
    last one's starter is known (monalisa, who started the third attempt)."""
    repo, export = _run(tmp_path, ["octocat"], attempts=3)
    items = saved_items(export / "deployments.json")
    [first] = [item for item in items if str(item["id"]) == DEPLOYMENT]
    (export / "deployments.json").write_text(
        saved_pages([json.loads(_third(json.dumps(first))), *items])
    )
    (export / THIRD).mkdir()
    statuses = _third((export / DEPLOYMENT / "statuses.json").read_text())
    (export / THIRD / "statuses.json").write_text(statuses)
    for folder in (DEPLOYMENT, SECOND, THIRD):
        run = json.loads((export / DEPLOYMENT / "run.json").read_text())
        (export / folder / "run.json").write_text(
            json.dumps(run | {"run_started_at": "2020-08-26T12:35:00Z"})
        )
        (export / folder / "approvals.json").write_text(json.dumps([_approval("octocat")]))
    imported = _imported(repo, export)
    assert {ident: approvers for ident, (_, approvers) in imported.items()} == {
        DEPLOYMENT: [],
        SECOND: [],
        THIRD: [],
    }
    assert imported[THIRD][0] == "lisa@example.com"
    assert _unapproved(repo) == {DEPLOYMENT, SECOND, THIRD}


@pytest.mark.parametrize("attempts", ["2", 2.0, True, 0])
def test_a_run_attempt_in_another_shape_is_refused(tmp_path: Path, attempts: Any) -> None:
    """GitHub's ``run_attempt`` is a positive integer. Read as 1 when written otherwise (text,
    a float, a boolean), a first attempt's deployment, self-approved by jacquev6, was given
    monalisa, who re-ran the run, as its deployer, and passed."""
    repo, export = _run(tmp_path, ["jacquev6"], attempts=2, second=False)
    run = json.loads((export / DEPLOYMENT / "run.json").read_text())
    (export / DEPLOYMENT / "run.json").write_text(json.dumps(run | {"run_attempt": attempts}))
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", REPOSITORY, "--service", "pygithub", "--environment",
                     "production", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    refused(result, repo.path / "compliance" / "deploys.jsonl",
            f"{export / DEPLOYMENT / 'run.json'}: run_attempt {attempts!r} is not a number of "
            "attempts")  # fmt: skip


def test_a_run_that_does_not_say_its_attempts_credits_no_approval(tmp_path: Path) -> None:
    """A run object without ``run_attempt`` (a server older than the field) may have been
    re-run: whose attempt deployed cannot be told, and its approvals are left out."""
    repo, export = _run(tmp_path, ["octocat"], attempts=2, second=False)
    run = json.loads((export / DEPLOYMENT / "run.json").read_text())
    del run["run_attempt"]
    (export / DEPLOYMENT / "run.json").write_text(json.dumps(run))
    assert _imported(repo, export)[DEPLOYMENT][1] == []
    assert _unapproved(repo) == {DEPLOYMENT}
