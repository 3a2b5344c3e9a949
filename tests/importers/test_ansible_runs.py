"""``knightwatch import ansible`` on real recordings of the runs the importer used to get wrong:
a release task skipped on one host by its ``when:`` (Knight Capital's case), a play on
``localhost`` before the deploy play, a rolling run killed part-way (jsonl callback), and the
same release as ansible-runner keeps it (``job_events``).

The recordings in ``fixtures/ansible/`` (beside it) are regenerated and compared by the first tests
here (see ``tests/importers/ansible_recordings.py`` and the README there); ``KNIGHTWATCH_REGEN=1``
rewrites them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers import ansible_recordings as rec
from tests.importers.workspaces import import_ansible, order_router

KNIGHT = rec.FIXTURES / "knight"
ROLLING = rec.FIXTURES / "rolling"
KNIGHT_RECORDINGS = {
    "json": KNIGHT / "result.json",
    "jsonl": KNIGHT / "result.jsonl",
    "runner": KNIGHT / "runner",
}
KILLED = ROLLING / "killed.jsonl"
RELEASE = "Install the release"
REAL_RUN = ("--not-check-mode",)

# -- the recordings are what Ansible writes ------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every recording made again, the playbooks run side by side."""
    ansible = rec.ansible_home()
    if ansible is None:
        pytest.skip("Ansible is not installed ($KNIGHTWATCH_ANSIBLE; make test installs it)")
    work = tmp_path_factory.mktemp("ansible")
    knight, rolling = ("knight", "knight.yml"), ("rolling", "rolling.yml")
    jobs: dict[str, Callable[[Path], Any]] = {
        "json": lambda w: rec.record_callback(ansible, *knight, "ansible.posix.json", w),
        "jsonl": lambda w: rec.record_callback(ansible, *knight, "ansible.posix.jsonl", w),
        "runner": lambda w: rec.record_runner(ansible, *knight, w),
        "killed": lambda w: rec.record_killed(ansible, *rolling, "Wait for the health check", w),
    }  # fmt: skip
    return rec.side_by_side(jobs, work)


@pytest.mark.parametrize("name", ["json", "jsonl", "killed"])
def test_the_callback_recordings_are_what_ansible_playbook_writes(
    recorded: dict[str, Any], name: str, tmp_path: Path
) -> None:
    fixture = KILLED if name == "killed" else KNIGHT_RECORDINGS[name]
    if rec.regenerating():
        fixture.write_text(recorded[name])
    fresh = tmp_path / fixture.name
    fresh.write_text(recorded[name])
    assert rec.summary(fresh) == rec.summary(fixture)


def test_the_runner_recording_is_what_ansible_runner_keeps(
    recorded: dict[str, Any], tmp_path: Path
) -> None:
    if rec.regenerating():
        rec.write_runner(recorded["runner"], KNIGHT_RECORDINGS["runner"])
    rec.write_runner(recorded["runner"], tmp_path / "runner")
    assert rec.summary(tmp_path / "runner") == rec.summary(KNIGHT_RECORDINGS["runner"])
    assert (KNIGHT_RECORDINGS["runner"] / "status").read_text() == "successful"


def test_the_recordings_show_the_defects() -> None:
    """What made the old importer wrong is in the real output: smars-03 skipped the install but
    has ok and changed results (facts, restart); localhost ran a play; the killed run has no
    stats at all."""
    stats = json.loads((KNIGHT / "result.json").read_text())["stats"]
    assert stats["smars-03"]["skipped"] == 1 and stats["smars-03"]["ok"] >= 1
    assert stats["smars-03"]["changed"] >= 1 and "localhost" in stats
    events = [json.loads(line)["_event"] for line in KILLED.read_text().splitlines()]
    assert "v2_playbook_on_stats" not in events and events.count("v2_playbook_on_play_start") == 2


# -- importing them -----------------------------------------------------------------------------


def _workspace(tmp_path: Path, hosts: int = 4) -> tuple[ScriptedRepo, Path]:
    repo, evidence, _ = order_router(tmp_path, hosts)
    return repo, evidence


def _import(repo: ScriptedRepo, source: Path, *extra: str) -> CliResult:
    """The callbacks do not record check mode (see test_ansible_outcomes.py): for their
    output the user says the run was real; a runner directory's command file says it."""
    return import_ansible(repo, source, *extra, *(() if source.is_dir() else REAL_RUN))


def _record(evidence: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((evidence / "deploys.jsonl").read_text())
    return record


def _statuses(record: dict[str, Any]) -> dict[str, str]:
    return {t["host"]: t["status"] for t in record["targets"]}


def _findings(repo: ScriptedRepo) -> dict[str, dict[str, str]]:
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2026-12-31")
    assert check.code in (0, 1), check.err
    found: dict[str, dict[str, str]] = {}
    for finding in check.json()["findings"]:
        found.setdefault(finding["rule"], {})[finding["subject"]] = finding["message"]
    return found


@pytest.mark.parametrize("kind", sorted(KNIGHT_RECORDINGS))
def test_a_real_run_that_skipped_the_release_on_one_host_fails_fleet_001(
    tmp_path: Path, kind: str
) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, KNIGHT_RECORDINGS[kind], "--release-task", RELEASE)
    assert result.code == 0, result.err
    record = _record(evidence)
    # localhost built the bundle: it is not a target (no FLEET-004 for it).
    assert _statuses(record) == {
        "smars-01": "succeeded",
        "smars-02": "succeeded",
        "smars-03": "skipped",
        "smars-04": "succeeded",
    }
    skipped = next(t for t in record["targets"] if t["host"] == "smars-03")
    assert "'Install the release'" in skipped["reason"] and "smars-03: skipped" in result.err
    assert "finished_at" in record
    findings = _findings(repo)
    assert set(findings["FLEET-001"]) == {"D-2012-08-01:smars-03"}
    assert "Install the release" in findings["FLEET-001"]["D-2012-08-01:smars-03"]
    assert "FLEET-004" not in findings


def test_a_release_task_named_wrong_is_refused_with_the_tasks_the_run_has(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, KNIGHT / "result.json", "--release-task", "Install release")
    assert result.code == 2 and "'Install release' is in no play of this run" in result.err
    assert "'Install the release'" in result.err and "Traceback" not in result.err
    assert not (evidence / "deploys.jsonl").exists()


def test_a_killed_rolling_run_is_an_unfinished_deployment(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path, hosts=5)
    result = _import(repo, KILLED, "--release-task", RELEASE)
    assert result.code == 0, result.err
    assert "4 hosts: 2 failed, 2 succeeded, unfinished" in result.err
    record = _record(evidence)
    assert "finished_at" not in record
    # The first batch was released and checked; the second was killed in its health check;
    # smars-05 was never reached and is no target at all.
    assert _statuses(record) == {
        "smars-01": "succeeded",
        "smars-02": "succeeded",
        "smars-03": "failed",
        "smars-04": "failed",
    }
    assert "killed while task 'Wait for the health check'" in record["targets"][2]["reason"]
    findings = _findings(repo)
    assert set(findings["FLEET-001"]) == {f"D-2012-08-01:smars-0{n}" for n in (3, 4, 5)}


def test_a_run_killed_in_a_verification_play_after_the_release_fails_the_unverified_host(
    tmp_path: Path,
) -> None:
    """The release in a play of its own, the run killed while the next play's health check ran
    on smars-03 (the others passed it): that play shows no result on smars-03, which no more
    passed its check than a host killed in the release's own play did."""
    repo, evidence = _workspace(tmp_path)
    result = _import(
        repo, rec.FIXTURES / "outcomes" / "verify-killed.jsonl", "--release-task", RELEASE
    )
    assert result.code == 0, result.err
    assert "4 hosts: 1 failed, 3 succeeded, unfinished" in result.err
    record = _record(evidence)
    assert _statuses(record)["smars-03"] == "failed"
    assert "killed in play 'Verify the order router'" in record["targets"][2]["reason"]
    assert set(_findings(repo)["FLEET-001"]) == {"D-2012-08-01:smars-03"}


def test_a_run_without_a_release_task_named_is_refused(tmp_path: Path) -> None:
    """What released cannot be read from what ran (see test_ansible_outcomes.py)."""
    repo, evidence = _workspace(tmp_path, hosts=5)
    result = _import(repo, KILLED)
    assert result.code == 2 and "--release-task" in result.err
    assert "'Install the release', 'Wait for the health check'" in result.err
    assert not (evidence / "deploys.jsonl").exists()


def test_a_last_line_cut_off_by_the_kill_is_left_out_and_said(tmp_path: Path) -> None:
    """A kill can land while the callback writes a line (made here by cutting the real
    recording's last result line in two): the rest is still evidence, and the host the cut line
    was about does not count as released."""
    repo, evidence = _workspace(tmp_path, hosts=5)
    lines = KILLED.read_text().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if "v2_runner_on_ok" in line)
    (host,) = json.loads(lines[last])["hosts"]
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:last]) + lines[last][:80])
    result = _import(repo, cut, "--release-task", RELEASE)
    assert result.code == 0, result.err
    assert f"line {last + 1} is cut off" in result.err
    statuses = _statuses(_record(evidence))
    assert statuses.get(host) != "succeeded" and statuses["smars-01"] == "succeeded"
    assert f"D-2012-08-01:{host}" in _findings(repo)["FLEET-001"]


def test_a_line_broken_inside_the_stream_is_refused(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    lines = KILLED.read_text().splitlines(keepends=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines[:3]) + lines[3][:50] + "\n" + "".join(lines[4:]))
    result = _import(repo, broken)
    assert result.code == 2 and f"{broken}:4" in result.err and "not JSON" in result.err
    assert not (evidence / "deploys.jsonl").exists()


def test_a_runner_private_data_dir_is_read_through_its_artifacts(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    private = tmp_path / "private"
    shutil.copytree(KNIGHT_RECORDINGS["runner"], private / "artifacts" / "knight")
    assert _import(repo, private, "--release-task", RELEASE).code == 0
    assert _statuses(_record(evidence))["smars-03"] == "skipped"
    shutil.copytree(KNIGHT_RECORDINGS["runner"], private / "artifacts" / "again")
    several = _import(repo, private, "--release-task", RELEASE)
    assert several.code == 2 and "several runs under artifacts/" in several.err
    empty = _import(repo, tmp_path / "smars", "--release-task", RELEASE)
    assert empty.code == 2 and "no job_events directory" in empty.err


def test_a_runner_run_cut_short_is_unfinished(tmp_path: Path) -> None:
    """ansible-runner's events of a run stopped after the install (made here by keeping the
    real recording's events up to there): no stats, so no finish time."""
    repo, evidence = _workspace(tmp_path)
    events = tmp_path / "artifacts" / "job_events"
    events.mkdir(parents=True)
    shutil.copy(KNIGHT_RECORDINGS["runner"] / "command", events.parent)
    for path in (KNIGHT_RECORDINGS["runner"] / "job_events").glob("*.json"):
        event = json.loads(path.read_text())
        if event["event"] != "playbook_on_stats" and "Restart" not in str(
            event["event_data"].get("task")
        ):
            shutil.copy(path, events / path.name)
    result = _import(repo, tmp_path / "artifacts", "--release-task", RELEASE)
    assert result.code == 0, result.err
    record = _record(evidence)
    assert "finished_at" not in record
    assert (
        _statuses(record)["smars-03"] == "skipped" and _statuses(record)["smars-01"] == "succeeded"
    )


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('{"_event": "v2_runner_on_ok", "task": {"id": "1", "name": "t"}, "hosts": {"h": {}}}',
         "comes before any play started"),
        ('{"_event": "v2_playbook_on_stats", "stats": {}, "_timestamp": "2024-01-01T00:00:00Z"}',
         "no play started"),
        ('{"_event": "v2_playbook_on_play_start", "play": {"id": "1"}}', "has no play name"),
        ('[1, 2]\n{"_event": "x"}', "expected the output of ansible-playbook"),
    ],
)  # fmt: skip
def test_event_streams_of_another_shape_are_refused(
    tmp_path: Path, lines: str, message: str
) -> None:
    repo, evidence = _workspace(tmp_path)
    stream = tmp_path / "run.jsonl"
    stream.write_text(lines + "\n")
    result = _import(repo, stream)
    assert result.code == 2 and message in result.err, result.err
    assert str(stream) in result.err and "Traceback" not in result.err
    assert not (evidence / "deploys.jsonl").exists()
