"""``knightwatch import ansible`` on real runs whose release task Ansible counts ``ok`` or
``changed`` on web-03 while its result there shows that nothing was released to it: a job only
started in the background (``async`` with ``poll: 0``), a command that ``creates:`` kept from
running, a copy that ``force: false`` kept from writing, an install ``delegate_to`` ran on
another host. A copy that changed nothing because
the host held the release already (its checksum compared) is a release.

The recordings are in ``tests/importers/fixtures/ansible/outcomes/web/`` (its README says how
each was made); the first test runs them again and compares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.importers import ansible
from checker.importers.ansible_runs import shortfall
from tests.importers import ansible_recordings as rec

WEB = rec.FIXTURES / "outcomes" / "web"
SHA = "586c6a0d3a5a8b0f0e4c1f6b2b7a9c3d4e5f6a7b"
PLAYBOOKS = ("async", "creates", "noforce", "rerun", "delegate")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The json recordings made again, side by side."""
    return rec.json_recordings(tmp_path_factory, "outcomes/web", PLAYBOOKS)


@pytest.mark.parametrize("name", [f"{name}.json" for name in PLAYBOOKS])
def test_the_recordings_are_what_ansible_writes(
    recorded: dict[str, Any], name: str, tmp_path: Path
) -> None:
    fixture, fresh = WEB / name, tmp_path / name
    if rec.regenerating():
        fixture.write_text(recorded[name])
    fresh.write_text(recorded[name])
    assert rec.summary(fresh) == rec.summary(fixture)


def _targets(name: str) -> dict[str, tuple[str, str]]:
    """Each host's status and reason in the record of the recording ``name`` in ``web/``."""
    run = ansible.Run(
        "D1", "web", "production", "0" * 40, "ops@knight.example",
        release_tasks=("Install the release",), not_check_mode=True,
    )  # fmt: skip
    record = ansible.deployment(WEB / name, run).deployment
    return {t.host: (t.status, t.reason or "") for t in record.targets}


def _not_succeeded(name: str) -> dict[str, tuple[str, str]]:
    return {h: (s, why) for h, (s, why) in _targets(name).items() if s != "succeeded"}


@pytest.mark.parametrize("name", ["async.json", "async.jsonl", "runner-async"])
def test_a_release_only_started_in_the_background_did_not_release(name: str) -> None:
    """Every host's result is ``changed``, ``started``, not ``finished``; the job failed on
    web-03 after the run ended with exit 0. No host's result shows its release done."""
    targets = _targets(name)
    assert set(targets) == {"web-01", "web-02", "web-03", "web-04"}
    for status, reason in targets.values():
        assert status == "failed"
        assert "release task 'Install the release' did not release" in reason
        assert "async with poll: 0" in reason


@pytest.mark.parametrize("name", ["creates.json", "creates.jsonl", "runner-creates"])
def test_a_release_command_that_creates_kept_from_running_did_not_release(name: str) -> None:
    """web-03 holds the marker an older release left: ``changed: false``, ``rc: 0``, "Did not
    run command since '...' exists"."""
    targets = _not_succeeded(name)
    status, reason = targets.pop("web-03")
    assert targets == {}
    assert status == "skipped"
    assert "its command did not run (creates or removes): Did not run command since" in reason
    assert "creates-web-03.marker' exists" in reason


@pytest.mark.parametrize("name", ["noforce.json", "noforce.jsonl", "runner-noforce"])
def test_a_release_copy_that_force_false_kept_from_writing_did_not_release(name: str) -> None:
    """web-03 keeps its older release, web-02 a copy of the new one: with ``force: false``
    the copy reads neither, and its result (no checksum) cannot tell them apart."""
    targets = _not_succeeded(name)
    assert set(targets) == {"web-02", "web-03"}
    for status, reason in targets.values():
        assert status == "skipped"
        assert "its copy changed nothing and names no checksum" in reason


@pytest.mark.parametrize("name", ["rerun.json", "rerun.jsonl", "runner-rerun"])
def test_a_release_copy_that_found_the_release_in_place_released(name: str) -> None:
    """web-03 holds the release from an earlier run: the copy compares checksums and changes
    nothing there; its result names the checksum, so the release is in place."""
    assert _not_succeeded(name) == {}


@pytest.mark.parametrize("name", ["delegate.json", "delegate.jsonl", "runner-delegate"])
def test_a_release_delegated_to_another_host_did_not_release(name: str) -> None:
    """web-03's install ran on web-01 (``_ansible_delegated_vars.ansible_host: web-01``);
    each other host's install was delegated to itself."""
    targets = _not_succeeded(name)
    status, reason = targets.pop("web-03")
    assert targets == {}
    assert status == "skipped"
    assert "it ran against 'web-01' (delegate_to)" in reason


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"changed": True, "_ansible_delegated_vars": {"ansible_host": "web-03"}}, None),
        ({"changed": True, "_ansible_delegated_vars": {"ansible_host": "10.0.0.3"}}, "skipped"),
        ({"changed": True, "_ansible_delegated_vars": {"ansible_port": 22}}, "skipped"),
        ({"changed": True, "_ansible_delegated_vars": "web-03"}, "skipped"),
        ({"changed": True, "results": [
            {"item": "a", "changed": True, "_ansible_delegated_vars": {"ansible_host": "x"}}]},
         "skipped"),
    ],
)  # fmt: skip
def test_what_a_delegated_result_shows(result: dict[str, Any], expected: str | None) -> None:
    """A delegated result is web-03's release only when it ran against web-03's name."""
    found = shortfall(result, None, "web-03")
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"changed": False, "action": "ansible.builtin.copy", "dest": "/a", "checksum": "1"}, None),
        ({"changed": False, "action": "template", "dest": "/a"}, "skipped"),
        ({"changed": False, "action": "git", "before": SHA, "after": SHA,
          "invocation": {"module_args": {"version": SHA[:12]}}}, None),
        # update: false kept an old clone of main: it holds what it held.
        ({"changed": False, "action": "git", "before": SHA, "after": SHA,
          "invocation": {"module_args": {"version": "main"}}}, "skipped"),
        ({"changed": False, "action": "git", "before": SHA, "after": SHA,
          "invocation": {"module_args": {"version": "0" * 12}}}, "skipped"),
        ({"changed": False, "action": "git", "before": None, "after": "ab"}, "skipped"),
        # changed_when: true does not make a command that creates: kept from running run.
        ({"changed": True, "action": "command", "rc": 0,
          "msg": "Did not run command since '/m' exists"}, "skipped"),
        ({"changed": False, "action": "ansible.builtin.apt", "rc": 0}, "skipped"),
        ({"action": "shell", "rc": 0, "msg": "Did not run command since '/m' does not exist"},
         "skipped"),
        ({"changed": True, "action": "shell", "rc": 0}, None),
        ({"changed": True, "results": [{"item": "a", "changed": False, "action": "wait_for"}]},
         "skipped"),
        ({"changed": True, "ansible_job_id": "j1", "started": 1, "finished": 0}, "failed"),
        ({"changed": True, "ansible_job_id": "j1", "finished": 1, "rc": 0}, None),
    ],
)  # fmt: skip
def test_what_an_unchanged_or_unfinished_result_lacks(
    result: dict[str, Any], expected: str | None
) -> None:
    """The rule on results the recordings do not hold: a template or git result, another
    module's unchanged result, ``removes:``, an unchanged loop item, a finished async job."""
    found = shortfall(result)
    assert (found[0] if found else None) == expected
