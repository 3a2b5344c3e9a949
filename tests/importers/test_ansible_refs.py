"""``import ansible`` records the branch or tag a release task's ``git`` module checked out as
the deployment's ``ref``: from a real run (``fixtures/ansible/outcomes/git.json``, the git
module at ``version: v4.1``), and from copies of it that change only that argument."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers import ansible_recordings as rec
from tests.importers.workspaces import import_ansible, order_router

RECORDING = rec.FIXTURES / "outcomes" / "git.json"
HOSTS = ("smars-01", "smars-02", "smars-03", "smars-04")
RELEASE = ("--release-task", "Install the release", "--not-check-mode")


def _with_versions(tmp_path: Path, versions: dict[str, Any]) -> Path:
    """The recording, each named host's git ``version`` argument replaced."""
    document = json.loads(RECORDING.read_text())
    for host, result in document["plays"][1]["tasks"][0]["hosts"].items():
        if host in versions:
            result["invocation"]["module_args"]["version"] = versions[host]
    path = tmp_path / "git.json"
    path.write_text(json.dumps(document, indent=4))
    return path


def _as_deployed(source: Path, sha: str, tmp_path: Path) -> Path:
    """The recording with its git checkouts holding ``sha``, the workspace's deployed commit
    (the recording's own repository had other shas; a checkout of another commit than
    ``--commit`` did not release)."""
    document = json.loads(source.read_text())
    for play in document["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("after"):
                    result["after"] = sha
    path = tmp_path / f"deployed-{source.name}"
    path.write_text(json.dumps(document, indent=4))
    return path


def _imported(tmp_path: Path, source: Path, *extra: str) -> dict[str, Any]:
    repo, evidence, _ = order_router(tmp_path, 4)
    source = _as_deployed(source, repo.git("rev-parse", "main"), tmp_path)
    result = import_ansible(repo, source, *extra)
    assert result.code == 0, result.err
    record: dict[str, Any] = json.loads((evidence / "deploys.jsonl").read_text())
    return record


def test_the_recorded_git_checkout_names_its_tag(tmp_path: Path) -> None:
    recorded = json.loads(RECORDING.read_text())["plays"][1]["tasks"][0]["hosts"]
    assert {r["invocation"]["module_args"]["version"] for r in recorded.values()} == {"v4.1"}
    record = _imported(tmp_path, RECORDING, *RELEASE)
    assert record["ref"] == "v4.1"
    assert {t["status"] for t in record["targets"]} == {"succeeded"}


@pytest.mark.parametrize(
    "versions",
    [
        {"smars-03": "v4.2"},  # hosts that disagree: no one name for the deployment
        dict.fromkeys(HOSTS, "0" * 40),  # by sha
        dict.fromkeys(HOSTS, "HEAD"),
        dict.fromkeys(HOSTS, "v4.1\x1b[31m"),
        {host: ["v4.1"] for host in HOSTS},
    ],
    ids=["disagree", "sha", "HEAD", "control-character", "not-text"],
)
def test_no_ref_unless_every_host_names_one_branch_or_tag(
    tmp_path: Path, versions: dict[str, Any]
) -> None:
    record = _imported(tmp_path, _with_versions(tmp_path, versions), *RELEASE)
    assert "ref" not in record
    assert {t["status"] for t in record["targets"]} == {"succeeded"}


def test_only_the_release_tasks_git_checkout_counts(tmp_path: Path) -> None:
    extra = ("--release-task", "Restart the order router", "--not-check-mode")
    assert "ref" not in _imported(tmp_path, RECORDING, *extra)


def test_a_ref_changes_no_verdict(tmp_path: Path) -> None:
    verdicts = []
    by_sha = _with_versions(tmp_path, dict.fromkeys(HOSTS, "1" * 40))
    for name, source in [("tag", RECORDING), ("sha", by_sha)]:
        repo, _, _ = order_router(tmp_path / name, 5)  # smars-05 is never reached: FLEET-001
        deployed = _as_deployed(source, repo.git("rev-parse", "main"), tmp_path / name)
        assert import_ansible(repo, deployed, *RELEASE).code == 0
        check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2026-12-31")
        report = check.json()
        verdicts.append((check.code, report["verdict"], report["findings"], report["summary"]))
    assert verdicts[0][2], "the scenario has findings to compare"
    assert verdicts[0] == verdicts[1]


def test_a_checkout_of_another_commit_did_not_release(tmp_path: Path) -> None:
    """The release task checked out another commit than ``--commit`` (asked for an older
    sha): every host was recorded succeeded with the deployed commit."""
    repo, evidence, _ = order_router(tmp_path, 4)
    result = import_ansible(repo, _as_deployed(RECORDING, "1" * 40, tmp_path), *RELEASE)
    assert result.code == 0, result.err
    record: dict[str, Any] = json.loads((evidence / "deploys.jsonl").read_text())
    assert {t["status"] for t in record["targets"]} == {"skipped"}
    assert all("its git checkout holds 111111111111, not the deployed commit" in t["reason"]
               for t in record["targets"])  # fmt: skip
