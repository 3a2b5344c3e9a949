"""``knightwatch import ansible`` on real runs whose release task Ansible counts ``ok`` or
``changed`` on web-03 while its result there shows that nothing was released to it: a job only
started in the background (``async`` with ``poll: 0``).

The recordings are in ``tests/importers/fixtures/ansible/outcomes/web/`` (its README says how
each was made); the first test runs them again and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker.importers import ansible
from tests.importers import ansible_recordings as rec

WEB = rec.FIXTURES / "outcomes" / "web"
PLAYBOOKS = ("async",)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The json recordings made again, side by side."""
    ansible_home = rec.ansible_home()
    if ansible_home is None:
        pytest.skip("Ansible is not installed ($KNIGHTWATCH_ANSIBLE; make test installs it)")
    work = tmp_path_factory.mktemp("unreleased")
    jobs: dict[str, Callable[[Path], Any]] = {
        f"{name}.json": (
            lambda playbook: (
                lambda w: rec.record_callback(
                    ansible_home, "outcomes/web", playbook, "ansible.posix.json", w
                )
            )
        )(f"{name}.yml")
        for name in PLAYBOOKS
    }
    return rec.side_by_side(jobs, work)


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
