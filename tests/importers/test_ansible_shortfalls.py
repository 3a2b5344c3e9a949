"""``knightwatch import ansible`` on real runs whose release Ansible counts ``changed`` on every
host while it did not release on one: a loop item skipped there (the Knight case inside a
loop), the copy run in check mode there alone (``check_mode:`` templated per host), the
release's exit code let through by ``failed_when: false``, and a rollback that no failure shows
(``--rollback-task``).

The recordings are in ``tests/importers/fixtures/ansible/outcomes/`` (its README says how
each was made); the first test runs two of them again and compares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.errors import InputError
from checker.importers import ansible
from checker.importers.ansible_runs import shortfall
from tests.conftest import run_cli
from tests.importers import ansible_recordings as rec
from tests.importers.workspaces import import_ansible, order_router

OUTCOMES = rec.FIXTURES / "outcomes"
RELEASE = ("--release-task", "Install the release")
ROLLBACK = ("--rollback-task", "Roll back to the previous release")
REAL_RUN = ("--not-check-mode",)
DEPLOYMENT = "D-2012-08-01"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two of the recordings made again, side by side."""
    return rec.json_recordings(tmp_path_factory, "outcomes", ("loopskip", "taskcheck"))


@pytest.mark.parametrize("name", ["loopskip.json", "taskcheck.json"])
def test_the_recordings_are_what_ansible_writes(
    recorded: dict[str, Any], name: str, tmp_path: Path
) -> None:
    fixture, fresh = OUTCOMES / name, tmp_path / name
    if rec.regenerating():
        fixture.write_text(recorded[name])
    fresh.write_text(recorded[name])
    assert rec.summary(fresh) == rec.summary(fixture)


def _real(source: Path) -> tuple[str, ...]:
    return () if source.is_dir() else REAL_RUN


def _import(tmp_path: Path, source: Path, *extra: str) -> tuple[ScriptedRepo, Path, str]:
    """Import ``source`` into a fresh workspace of smars-01 .. smars-04: the repository, the
    evidence directory and what the import said."""
    repo, evidence, _ = order_router(tmp_path, 4)
    result = import_ansible(repo, source, *RELEASE, *_real(source), *extra)
    assert result.code == 0, result.err
    return repo, evidence, result.err


def _not_succeeded(evidence: Path) -> dict[str, tuple[str, str]]:
    record = json.loads((evidence / "deploys.jsonl").read_text())
    return {
        t["host"]: (t["status"], t.get("reason", ""))
        for t in record["targets"]
        if t["status"] != "succeeded"
    }


def _fleet_001(repo: ScriptedRepo) -> set[str]:
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2026-12-31")
    assert check.code in (0, 1), check.err
    return {f["subject"] for f in check.json()["findings"] if f["rule"] == "FLEET-001"}


@pytest.mark.parametrize("name", ["loopskip.json", "loopskip.jsonl", "runner-loopskip"])
def test_a_release_loop_whose_item_was_skipped_on_a_host_did_not_release_there(
    tmp_path: Path, name: str
) -> None:
    """smars-03's result is ``changed`` (its ``config`` item ran) while its ``app`` item was
    skipped by the ``when:``; the stats count no skip."""
    repo, evidence, _ = _import(tmp_path, OUTCOMES / name)
    targets = _not_succeeded(evidence)
    status, reason = targets.pop("smars-03")
    assert status == "skipped"
    assert "'Install the release'" in reason and "loop item 'app' was skipped" in reason
    assert targets == {}
    assert _fleet_001(repo) == {f"{DEPLOYMENT}:smars-03"}


@pytest.mark.parametrize("name", ["taskcheck.json", "taskcheck.jsonl", "runner-taskcheck"])
def test_a_copy_run_in_check_mode_on_one_host_of_a_real_run_did_not_release_there(
    tmp_path: Path, name: str
) -> None:
    """No record of a run keeps a task's ``check_mode:``; the copy's result shows it: it
    names no ``dest`` (the copy action returns before it writes)."""
    repo, evidence, _ = _import(tmp_path, OUTCOMES / name)
    assert {host: status for host, (status, _) in _not_succeeded(evidence).items()} == {
        "smars-03": "skipped"
    }
    assert "check mode" in _not_succeeded(evidence)["smars-03"][1]
    assert _fleet_001(repo) == {f"{DEPLOYMENT}:smars-03"}


@pytest.mark.parametrize("name", ["failedwhen.json", "failedwhen.jsonl"])
def test_a_release_whose_exit_code_was_let_through_did_not_release(
    tmp_path: Path, name: str
) -> None:
    """``failed_when: false`` makes smars-03's failed install ``changed`` with ``rc`` 1."""
    repo, evidence, _ = _import(tmp_path, OUTCOMES / name)
    targets = _not_succeeded(evidence)
    status, reason = targets.pop("smars-03")
    assert status == "failed" and "rc 1" in reason
    assert targets == {}
    assert _fleet_001(repo) == {f"{DEPLOYMENT}:smars-03"}


@pytest.mark.parametrize("name", ["condrollback.json", "condrollback.jsonl", "failedwhen.json"])
def test_a_host_where_a_named_rollback_task_ran_failed(tmp_path: Path, name: str) -> None:
    repo, evidence, _ = _import(tmp_path, OUTCOMES / name, *ROLLBACK)
    targets = _not_succeeded(evidence)
    assert set(targets) == {"smars-03"} and targets["smars-03"][0] == "failed"
    if name.startswith("condrollback"):
        assert (
            "rollback task 'Roll back to the previous release' ran on it" in targets["smars-03"][1]
        )
    assert _fleet_001(repo) == {f"{DEPLOYMENT}:smars-03"}


def test_a_rollback_no_failure_shows_needs_its_task_named(tmp_path: Path) -> None:
    """Without --rollback-task the health check's ``failed_when: false`` hides the rollback:
    the output holds nothing else that says the release was undone."""
    _, evidence, _ = _import(tmp_path, OUTCOMES / "condrollback.json")
    assert _not_succeeded(evidence) == {}


def test_a_rollback_task_that_ran_nowhere_is_said_not_refused(tmp_path: Path) -> None:
    """A rescue or handler rollback appears only where it ran, so a name that matches no task
    is what a healthy run looks like, and what a misspelling looks like: the import says so."""
    _, evidence, said = _import(
        tmp_path, OUTCOMES / "loopskip.json", "--rollback-task", "Roll bakc"
    )
    assert "rollback task 'Roll bakc' is in no play of this run" in said
    assert "'Install the release'" in said
    assert set(_not_succeeded(evidence)) == {"smars-03"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"changed": True, "rc": 0}, None),
        ({"changed": True, "rc": 2}, "failed"),
        ({"changed": True, "results": [{"item": "a", "failed": True}]}, "failed"),
        ({"changed": True, "results": [{"item": "a", "rc": 1}]}, "failed"),
        ({"changed": True, "results": ["not a result"]}, "failed"),
        ({"changed": True, "action": "template"}, "skipped"),
        ({"changed": True, "action": "ansible.legacy.copy"}, "skipped"),
        ({"changed": True, "action": "ansible.builtin.copy", "dest": "/srv/app"}, None),
        ({"changed": True, "action": "community.general.copy"}, None),
        (
            {"changed": True, "action": "copy", "results": [{"item": "a", "changed": True}]},
            "skipped",
        ),
        ({"changed": False, "action": "uri", "failed_when_result": False}, "failed"),
        ({"changed": True, "rc": 0, "failed_when_result": False}, None),
    ],
)
def test_what_a_result_lacks(result: dict[str, Any], expected: str | None) -> None:
    """The rule on results the recordings do not hold: a failed or non-zero item, ``rc`` other
    than 0, and the module names Ansible gives the copy action."""
    found = shortfall(result)
    assert (found[0] if found else None) == expected


WEB = OUTCOMES / "web"
"""Recordings on web-01 .. web-04, web-03 the host where the release did not happen."""


def _web(name: str, *release: str, rollback: tuple[str, ...] = ()) -> dict[str, tuple[str, str]]:
    """Each host's status and reason in the record of the recording ``name`` in ``web/``."""
    run = ansible.Run(
        "D1", "web", "production", "0" * 40, "ops@knight.example",
        release_tasks=release or ("Install the release",), rollback_tasks=rollback,
        not_check_mode=True,
    )  # fmt: skip
    record = ansible.deployment(WEB / name, run).deployment
    return {t.host: (t.status, t.reason or "") for t in record.targets}


@pytest.mark.parametrize(
    ("name", "task"),
    [("incl1.json", "Include the release"), ("inclloop2.json", "Include the release"),
     ("inclrole.json", "Release")],
)  # fmt: skip
def test_an_include_named_as_the_release_is_refused(name: str, task: str) -> None:
    """An include's result on a host says only that the include was read: the included task
    skipped by its own ``when:`` on web-03 (and web-02) leaves it ``ok`` there."""
    with pytest.raises(InputError) as refused:
        _web(name, task)
    assert f"release task {task!r} is an include" in refused.value.message
    assert "name the included tasks" in (refused.value.hint or "")


@pytest.mark.parametrize(
    ("name", "task", "expected"),
    [("incl1.json", "Install release", {"web-02"}),
     ("inclloop2.json", "Install app", {"web-02", "web-03"}),
     ("inclrole.json", "Install the release files", {"web-03"})],
)  # fmt: skip
def test_the_included_tasks_named_as_the_release_show_it(
    name: str, task: str, expected: set[str]
) -> None:
    targets = _web(name, task)
    assert {h for h, (status, _) in targets.items() if status != "succeeded"} == expected


@pytest.mark.parametrize(
    "name", ["nolog_loop.json", "runner-nolog_loop", "nolog_rc.json", "nolog_check.json"]
)
def test_a_release_whose_result_no_log_censored_is_refused(name: str) -> None:
    """``no_log: true`` leaves ``censored`` and ``changed`` of the result and of each loop
    item: a skipped item (nolog_loop), rc 1 let through (nolog_rc) or a copy in check mode
    (nolog_check) on web-03 cannot be seen."""
    with pytest.raises(InputError) as refused:
        _web(name)
    assert "release task 'Install the release' has no_log" in refused.value.message
    assert "drop no_log from the release task" in (refused.value.hint or "")


@pytest.mark.parametrize("name", ["loopcheck.json", "runner-loopcheck"])
def test_a_copy_loop_run_in_check_mode_on_one_host_did_not_release_there(name: str) -> None:
    targets = _web(name)
    status, reason = targets.pop("web-03")
    assert status == "skipped" and "loop item 'config'" in reason and "check mode" in reason
    assert {status for status, _ in targets.values()} == {"succeeded"}


def test_a_release_whose_failure_failed_when_overrode_is_not_a_release() -> None:
    """get_url fails on web-03 (its source is missing); ``failed_when: false`` makes it ``ok``
    with ``failed_when_result: false``, and no exit code tells what happened. The other hosts'
    results carry the same flag: what the module did is told by nothing the importer can
    trust on any of them, so none is a release."""
    targets = _web("uri_fw.json", "Install the release2")
    assert set(targets) == {"web-01", "web-02", "web-03", "web-04"}
    for status, reason in targets.values():
        assert status == "failed" and "failed_when_result: false" in reason


@pytest.mark.parametrize("name", ["Rollback", "roll back", "ROLL BACK"])
def test_a_rollback_task_named_near_a_task_of_the_run_is_refused(name: str) -> None:
    """The handler "Roll back" ran on web-03; a near name would only be noted, and web-03
    would succeed."""
    with pytest.raises(InputError) as refused:
        _web("handler_rb.json", rollback=(name,))
    assert f"rollback task {name!r} is in no play of this run; did you mean 'Roll back'?" in (
        refused.value.message
    )


def test_the_handlers_rollback_named_exactly_fails_its_host() -> None:
    targets = _web("handler_rb.json", rollback=("Roll back",))
    assert {h for h, (status, _) in targets.items() if status != "succeeded"} == {"web-03"}
