"""``knightwatch import ansible`` on real runs that look finished but did not release everywhere:
a host rolled back by block/rescue, a release that failed with its error ignored or rescued, a
dry run (``--check``), a play stopped by ``any_errors_fatal``, a run that reached no host, two
runs in one file or artifact directory, and what a killed ansible-runner leaves behind.

The recordings are in ``tests/importers/fixtures/ansible/outcomes/`` (its README says how
each was made); the first test runs four of them again and compares.
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

OUTCOMES = rec.FIXTURES / "outcomes"
RELEASE = ("--release-task", "Install the release")
REAL_RUN = ("--not-check-mode",)
ROLLBACK = {
    "json": OUTCOMES / "rollback.json",
    "jsonl": OUTCOMES / "rollback.jsonl",
    "runner": OUTCOMES / "runner-rollback",
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Four of the recordings made again, side by side."""
    ansible = rec.ansible_home()
    if ansible is None:
        pytest.skip("Ansible is not installed ($KNIGHTWATCH_ANSIBLE; make test installs it)")
    work = tmp_path_factory.mktemp("outcomes")
    case = "outcomes"
    jobs: dict[str, Callable[[Path], Any]] = {
        "rollback.json": lambda w: rec.record_callback(
            ansible, case, "rollback.yml", "ansible.posix.json", w
        ),
        "check.json": lambda w: rec.record_callback(
            ansible, case, "deploy.yml", "ansible.posix.json", w, "--check"
        ),
        "runner-check": lambda w: rec.record_runner(ansible, case, "deploy.yml", w, "--check"),
        "git.json": lambda w: rec.record_callback(
            ansible, case, "git.yml", "ansible.posix.json", w
        ),
    }
    return rec.side_by_side(jobs, work)


@pytest.mark.parametrize("name", ["rollback.json", "check.json", "runner-check", "git.json"])
def test_the_recordings_are_what_ansible_writes(
    recorded: dict[str, Any], name: str, tmp_path: Path
) -> None:
    fixture, fresh = OUTCOMES / name, tmp_path / name
    if name.startswith("runner"):
        if rec.regenerating():
            rec.write_runner(recorded[name], fixture)
        rec.write_runner(recorded[name], fresh)
        assert (fresh / "command").read_text() == (fixture / "command").read_text()
    else:
        if rec.regenerating():
            fixture.write_text(recorded[name])
        fresh.write_text(recorded[name])
    assert rec.summary(fresh) == rec.summary(fixture)


# -- workspaces and imports ---------------------------------------------------------------------


def _workspace(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    repo, evidence, _ = order_router(tmp_path, 4)
    return repo, evidence


_import = import_ansible


def _real(source: Path) -> tuple[str, ...]:
    """The assertion a callback's output needs (it does not record check mode); a runner
    directory's ``command`` file says it itself."""
    return () if source.is_dir() else REAL_RUN


def _record(evidence: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((evidence / "deploys.jsonl").read_text())
    return record


def _targets(evidence: Path) -> dict[str, tuple[str, str]]:
    return {t["host"]: (t["status"], t.get("reason", "")) for t in _record(evidence)["targets"]}


def _statuses(evidence: Path) -> dict[str, str]:
    return {host: status for host, (status, _) in _targets(evidence).items()}


def _fleet_001(repo: ScriptedRepo) -> set[str]:
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2026-12-31")
    assert check.code in (0, 1), check.err
    return {f["subject"] for f in check.json()["findings"] if f["rule"] == "FLEET-001"}


def _refused(result: CliResult, evidence: Path, *phrases: str) -> None:
    assert result.code == 2, result.err
    for phrase in phrases:
        assert phrase in result.err, result.err
    assert "Traceback" not in result.err and not (evidence / "deploys.jsonl").exists()


# -- failures after the release -----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ROLLBACK))
def test_a_host_rolled_back_by_block_rescue_did_not_succeed(tmp_path: Path, kind: str) -> None:
    """ansible-playbook exits 0 and counts no failure: the health check failed on smars-03
    after the install, and the rescue put the old release back."""
    repo, evidence = _workspace(tmp_path)
    source = ROLLBACK[kind]
    result = _import(repo, source, *RELEASE, *_real(source))
    assert result.code == 0, result.err
    targets = _targets(evidence)
    assert {host: status for host, (status, _) in targets.items()} == {
        "smars-01": "succeeded",
        "smars-02": "succeeded",
        "smars-03": "failed",
        "smars-04": "succeeded",
    }
    assert "'Health check' failed after the release" in targets["smars-03"][1]
    assert _fleet_001(repo) == {"D-2012-08-01:smars-03"}


def test_a_rescued_failure_in_the_stats_alone_stops_a_host_succeeding(tmp_path: Path) -> None:
    """The rollback run's stats count smars-03's rescue; made here by taking its failed health
    check out of the recording, the stats alone still keep smars-03 from succeeding."""
    repo, evidence = _workspace(tmp_path)
    document = json.loads(ROLLBACK["json"].read_text())
    for play in document["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == "Health check":
                task["hosts"].pop("smars-03", None)
    derived = tmp_path / "rollback.json"
    derived.write_text(json.dumps(document))
    assert _import(repo, derived, *RELEASE, *REAL_RUN).code == 0
    status, reason = _targets(evidence)["smars-03"]
    assert status == "failed" and "rescued" in reason


@pytest.mark.parametrize("name", ["ignored.json", "rescued.json"])
def test_a_release_that_failed_everywhere_succeeds_nowhere(tmp_path: Path, name: str) -> None:
    repo, evidence = _workspace(tmp_path)
    assert _import(repo, OUTCOMES / name, *RELEASE, *REAL_RUN).code == 0
    targets = _targets(evidence)
    assert {status for status, _ in targets.values()} == {"failed"}
    assert all("'Install the release' failed" in reason for _, reason in targets.values())


# -- dry runs -----------------------------------------------------------------------------------


def test_a_runner_dry_run_is_refused_from_its_command_file(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / "runner-check", *RELEASE)
    _refused(result, evidence, "dry run", "--check", "command")
    # Saying otherwise does not make it a deployment.
    _refused(_import(repo, OUTCOMES / "runner-check", *RELEASE, *REAL_RUN), evidence, "dry run")


def test_a_run_that_shows_ansible_check_mode_says_itself_whether_it_was_a_dry_run(
    tmp_path: Path,
) -> None:
    repo, evidence = _workspace(tmp_path)
    dry = _import(repo, OUTCOMES / "marked-check.json", *RELEASE, *REAL_RUN)
    _refused(dry, evidence, "dry run", "ansible_check_mode")
    real = _import(repo, OUTCOMES / "marked.json", *RELEASE)
    assert real.code == 0, real.err
    assert set(_statuses(evidence).values()) == {"succeeded"}


@pytest.mark.parametrize("name", ["check.json", "check.jsonl", "deploy.json"])
def test_callback_output_that_cannot_say_whether_it_was_a_dry_run_needs_the_users_word(
    tmp_path: Path, name: str
) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / name, *RELEASE)
    _refused(result, evidence, "--not-check-mode", "ansible_check_mode")


@pytest.mark.parametrize("name", ["check.json", "check.jsonl"])
def test_a_dry_run_is_refused_even_when_the_user_says_it_was_not_one(
    tmp_path: Path, name: str
) -> None:
    """The command module skipped the restart "if not in check mode": the output contradicts
    --not-check-mode."""
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / name, *RELEASE, *REAL_RUN)
    _refused(result, evidence, "'Restart the order router'", "check mode")


def test_a_real_run_of_the_same_playbook_imports_with_the_users_word(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    assert _import(repo, OUTCOMES / "deploy.json", *RELEASE, *REAL_RUN).code == 0
    assert set(_statuses(evidence).values()) == {"succeeded"}


# -- the release must be named ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["include-role.json", "include-tasks.json", "fatal.json", "ignored.json",
             "rescued.json", "allskip.json"],
)  # fmt: skip
def test_without_a_release_task_the_import_is_refused_listing_the_tasks(
    tmp_path: Path, name: str
) -> None:
    """The old guess recorded every host of these runs succeeded (or all but one)."""
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / name, *REAL_RUN)
    _refused(result, evidence, "--release-task", "its tasks are:")


@pytest.mark.parametrize(
    ("name", "task"),
    [("include-role.json", "Install the release"), ("include-tasks.json", "Install the release")],
)  # fmt: skip
def test_a_release_included_everywhere_but_one_host(tmp_path: Path, name: str, task: str) -> None:
    """Named by the included task (``ROLE : NAME``); the include itself is refused (see
    test_ansible_shortfalls)."""
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / name, "--release-task", task, *REAL_RUN)
    assert result.code == 0, result.err
    statuses = _statuses(evidence)
    assert statuses.pop("smars-03") == "skipped"
    assert set(statuses.values()) == {"succeeded"}


def test_a_release_skipped_everywhere_succeeds_nowhere(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    assert _import(repo, OUTCOMES / "allskip.json", *RELEASE, *REAL_RUN).code == 0
    assert set(_statuses(evidence).values()) == {"skipped"}


# -- runs that never reached the release --------------------------------------------------------


def test_a_play_stopped_by_any_errors_fatal_is_recorded_not_refused(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / "fatal.json", *RELEASE, *REAL_RUN)
    assert result.code == 0, result.err
    targets = _targets(evidence)
    assert targets["smars-03"] == ("failed", "task 'Check disk space' failed")
    for host in ("smars-01", "smars-02", "smars-04"):
        assert targets[host] == ("skipped", "release task 'Install the release' did not run on it")
    assert "release task 'Install the release' ran nowhere" in result.err
    assert _fleet_001(repo) == {f"D-2012-08-01:smars-0{n}" for n in range(1, 5)}


def test_a_run_that_reached_no_host_is_recorded_unreachable(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / "unreachable.json", *RELEASE, *REAL_RUN)
    assert result.code == 0, result.err
    assert set(_statuses(evidence).values()) == {"unreachable"}


def test_a_misspelt_release_task_is_still_refused_in_a_run_that_ran_to_its_end(
    tmp_path: Path,
) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / "deploy.json", "--release-task", "Install", *REAL_RUN)
    _refused(result, evidence, "'Install' is in no play of this run", "'Install the release'")


# -- several runs in one record, and what a killed runner leaves ---------------------------------


def test_two_runs_in_one_runner_artifact_directory_are_refused(tmp_path: Path) -> None:
    """ansible-runner run twice with one --ident: the second run was cancelled, and the first
    run's stats made the old importer record every host succeeded."""
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / "runner-reused", *RELEASE)
    _refused(result, evidence, "more than one run", "--ident")


def test_two_runs_appended_to_one_jsonl_file_are_refused(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    lines = (OUTCOMES / "appended.jsonl").read_text().splitlines()
    after = 1 + next(i for i, line in enumerate(lines) if "v2_playbook_on_stats" in line) + 1
    result = _import(repo, OUTCOMES / "appended.jsonl", *RELEASE, *REAL_RUN)
    _refused(result, evidence, f"appended.jsonl:{after}", "more than one run")


def test_two_json_documents_in_one_file_are_refused(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    twice = tmp_path / "twice.json"
    twice.write_text((OUTCOMES / "deploy.json").read_text() * 2)
    _refused(_import(repo, twice, *RELEASE, *REAL_RUN), evidence, "more than one run")


def test_a_killed_run_in_a_reused_artifact_directory_is_unfinished_by_its_status(
    tmp_path: Path,
) -> None:
    """runner-reused's second run alone (its own job events, made here by keeping those of
    slow.yml): runner's status says it was cancelled."""
    repo, evidence = _workspace(tmp_path)
    source = tmp_path / "second"
    shutil.copytree(OUTCOMES / "runner-reused", source)
    for path in (source / "job_events").glob("*.json"):
        if json.loads(path.read_text())["event_data"].get("playbook") != "slow.yml":
            path.unlink()
    result = _import(repo, source, *RELEASE)
    assert result.code == 0, result.err
    record = _record(evidence)
    assert "finished_at" not in record
    assert "succeeded" not in {_statuses(evidence)[h] for h in ("smars-03", "smars-04")}


def test_a_runner_status_that_says_cancelled_outweighs_the_stats(tmp_path: Path) -> None:
    """The rollback's artifacts with ``status`` changed to ``canceled`` (made here): a run
    ansible-runner says it cancelled is not finished, whatever events it wrote."""
    repo, evidence = _workspace(tmp_path)
    source = tmp_path / "runner"
    shutil.copytree(ROLLBACK["runner"], source)
    (source / "status").write_text("canceled")
    result = _import(repo, source, *RELEASE)
    assert result.code == 0, result.err
    assert "finished_at" not in _record(evidence)
    assert "status is 'canceled'" in result.err


def test_partial_job_events_of_a_killed_runner_are_left_out_and_said(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    source = OUTCOMES / "runner-partial"
    partial = sorted(p.name for p in (source / "job_events").glob("*-partial.json"))
    result = _import(repo, source, *RELEASE)
    assert result.code == 0, result.err
    assert f"left out {len(partial)} partial job events" in result.err
    record = _record(evidence)
    assert "finished_at" not in record
    assert "succeeded" not in set(_statuses(evidence).values())


# -- output that is not only the callback's -----------------------------------------------------


def test_verbose_output_is_refused_quoting_the_line_and_naming_the_cause(tmp_path: Path) -> None:
    repo, evidence = _workspace(tmp_path)
    result = _import(repo, OUTCOMES / "verbose.json", *RELEASE, *REAL_RUN)
    _refused(
        result,
        evidence,
        f"{OUTCOMES / 'verbose.json'}:1",
        "'No config file found; using defaults'",
        "-v",
    )
