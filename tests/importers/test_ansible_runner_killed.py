"""A rolling release run by ansible-runner and killed part-way (SIGTERM to its process group,
as a CI job's timeout does): ``fixtures/ansible/rolling/runner-killed/`` is that real artifact
directory (the README beside it says how it was made). ansible-runner wrote ``status``
``canceled`` and ``rc`` 254; the job events stop while the second batch waits for its health
checks. The first batch was released and checked, the second released and left waiting, and
smars-05 never reached.

The record a killed run leaves gives no ``finished_at``: it does not say when the run reached
the hosts it released, so each such host must be shown reached by what was observed of it
afterwards (FLEET-001 otherwise), and the hosts it never finished or never reached are not
``succeeded`` at all."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from checker.demo.builder import ScriptedRepo
from tests.conftest import run_cli
from tests.importers import ansible_recordings as rec
from tests.importers.workspaces import import_ansible, order_router

KILLED = rec.FIXTURES / "rolling" / "runner-killed"
RELEASE = ("--release-task", "Install the release")


def _imported(tmp_path: Path) -> tuple[ScriptedRepo, Path, str, dict[str, Any]]:
    """The order router with smars-01 .. smars-05 and the killed run imported: the repository,
    the evidence directory, the released commit, and the deployment's record."""
    repo, evidence, sha = order_router(tmp_path, 5)
    result = import_ansible(repo, KILLED, *RELEASE)
    assert result.code == 0, result.err
    assert "'canceled'" in result.err, result.err
    record: dict[str, Any] = json.loads((evidence / "deploys.jsonl").read_text())
    return repo, evidence, sha, record


def _fleet_001(repo: ScriptedRepo) -> dict[str, str]:
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2026-12-31")
    assert check.code in (0, 1), check.err
    return {
        f["subject"]: f["message"] for f in check.json()["findings"] if f["rule"] == "FLEET-001"
    }


def _observe(evidence: Path, sha: str, at: str, *hosts: str) -> None:
    (evidence / "observations.jsonl").write_text(
        "".join(
            json.dumps({"host": h, "service": "smars", "version": sha, "observed_at": at}) + "\n"
            for h in hosts
        )
    )


def test_a_killed_runner_run_succeeded_only_on_the_hosts_it_finished(tmp_path: Path) -> None:
    repo, _, _, record = _imported(tmp_path)
    assert "finished_at" not in record
    assert {t["host"]: t["status"] for t in record["targets"]} == {
        "smars-01": "succeeded",
        "smars-02": "succeeded",
        "smars-03": "failed",
        "smars-04": "failed",
    }
    reasons = {t["host"]: t.get("reason", "") for t in record["targets"]}
    assert "killed while task 'Wait for the health check'" in reasons["smars-03"]
    # without observations the record alone is read: the unfinished and the unreached fail
    assert set(_fleet_001(repo)) == {f"D-2012-08-01:smars-0{n}" for n in (3, 4, 5)}


def test_a_released_host_observed_on_the_new_commit_passes_one_never_observed_fails(
    tmp_path: Path,
) -> None:
    """smars-01 is seen on the released commit after the run; smars-02, which the run also
    finished, is never observed. The record does not say when the run reached either: only
    smars-01 is shown reached."""
    repo, evidence, sha, record = _imported(tmp_path)
    _observe(evidence, sha, _after(record), "smars-01")
    findings = _fleet_001(repo)
    assert set(findings) == {f"D-2012-08-01:smars-0{n}" for n in (2, 3, 4, 5)}
    assert "not observed at all" in findings["D-2012-08-01:smars-02"]
    _observe(evidence, sha, _after(record), "smars-01", "smars-02")
    assert set(_fleet_001(repo)) == {f"D-2012-08-01:smars-0{n}" for n in (3, 4, 5)}


def _after(record: dict[str, Any]) -> str:
    """An instant an hour after the run started."""
    started = datetime.fromisoformat(record["started_at"].replace("Z", "+00:00"))
    return (started + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
