"""A task with ``check_mode: false`` runs for real in a dry run (``ansible-playbook --check``):
a release task so marked deploys, and the import refused the run as one that "deployed
nothing". Real runs of ``fixtures/ansible/outcomes/forced.yml`` and ``gitmarked.yml`` with
``--check``, recorded with the json callback (its README says how); the first test runs them
again and compares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.importers import ansible_recordings as rec
from tests.importers.workspaces import import_ansible, order_router

OUTCOMES = rec.FIXTURES / "outcomes"
RELEASE = ("--release-task", "Install the release")
DRY_RUN = (
    "this run was a dry run (ansible-playbook --check): task 'Show whether this is a dry run' "
    "shows ansible_check_mode: True"
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Both playbooks run again with --check, side by side."""
    ansible = rec.ansible_home()
    if ansible is None:
        pytest.skip("Ansible is not installed ($KNIGHTWATCH_ANSIBLE; make test installs it)")
    work = tmp_path_factory.mktemp("forced")

    def job(name: str) -> Any:
        return lambda w: rec.record_callback(
            ansible, "outcomes", f"{name}.yml", "ansible.posix.json", w, "--check"
        )

    jobs = {f"{name}-check.json": job(name) for name in ("forced", "gitmarked")}
    found: dict[str, str] = rec.side_by_side(jobs, work)
    return found


@pytest.mark.parametrize("name", ["forced-check.json", "gitmarked-check.json"])
def test_the_recordings_are_what_ansible_writes(
    recorded: dict[str, str], name: str, tmp_path: Path
) -> None:
    fixture, fresh = OUTCOMES / name, tmp_path / name
    if rec.regenerating():
        fixture.write_text(recorded[name])
    fresh.write_text(recorded[name])
    assert rec.summary(fresh) == rec.summary(fixture)


def test_a_release_task_that_ran_for_real_in_a_dry_run_is_a_deployment(tmp_path: Path) -> None:
    """The copy wrote the release on all four hosts (each result names its dest), and the
    import said the run "deployed nothing": an unrecorded deployment whose commit no rule
    judged."""
    repo, evidence, _ = order_router(tmp_path, 4)
    result = import_ansible(repo, OUTCOMES / "forced-check.json", *RELEASE)
    assert result.code == 0, result.err
    assert (
        f"{DRY_RUN}, but release task 'Install the release' ran for real on smars-01, "
        "smars-02, smars-03, smars-04 (check_mode: false on the task runs it in a dry run "
        "too): recorded as a deployment"
    ) in result.err
    (record,) = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    assert {t["host"]: t["status"] for t in record["targets"]} == dict.fromkeys(
        ("smars-01", "smars-02", "smars-03", "smars-04"), "succeeded"
    )


def test_a_dry_run_whose_git_release_cannot_show_it_ran_may_have_deployed(tmp_path: Path) -> None:
    """In check mode the git module reports the commit it would check out, changed, as a real
    checkout does: whether a check_mode: false made it real, the output cannot say."""
    repo, evidence, _ = order_router(tmp_path, 4)
    result = import_ansible(repo, OUTCOMES / "gitmarked-check.json", *RELEASE)
    assert result.code == 2
    assert (
        f"{DRY_RUN}, and whether release task 'Install the release' ran for real cannot be "
        "told: a task with check_mode: false runs in a dry run too, and its module's result "
        "looks the same either way, so this run may have deployed"
    ) in result.err
    assert "it deployed nothing" not in result.err and "Traceback" not in result.err
    assert not (evidence / "deploys.jsonl").exists()


def test_a_dry_run_whose_release_shows_it_wrote_nothing_deployed_nothing(tmp_path: Path) -> None:
    repo, evidence, _ = order_router(tmp_path, 4)
    result = import_ansible(repo, OUTCOMES / "marked-check.json", *RELEASE)
    assert result.code == 2 and f"{DRY_RUN}; it deployed nothing" in result.err
    assert not (evidence / "deploys.jsonl").exists()
