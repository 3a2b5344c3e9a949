"""Policy files are recorded relative to the repository: two checkouts of the same commit give
the same report, and a signed audit replays from another checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, deployment, run_cli

EXTRA = """package custom.extra

import rego.v1

# METADATA
# title: Every deployment names a change ticket
# description: The organisation's own rule.
# custom:
#   id: ORG-001
#   severity: low
#   controls: ["internal"]
#   message: "Deployment {subject} names no change ticket."
no_ticket contains deployment.id if {
	some deployment in input.deployments
	not deployment.change_ticket
}
"""


@pytest.fixture
def checkouts(tmp_path: Path) -> tuple[Path, Path]:
    origin = ScriptedRepo(tmp_path / "origin")
    sha = origin.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    record = json.dumps(deployment("D1", sha, "2024-02-01T09:00:00Z"))
    origin.commit(
        "policies and evidence",
        {
            "knightwatch.yaml": "policies: [custom]\n",
            "custom/extra.rego": EXTRA,
            "compliance/deploys.jsonl": record + "\n",
        },
        author=DEV,
        date="2024-01-02T00:00:00Z",
    )
    first, second = tmp_path / "a" / "checkout", tmp_path / "elsewhere" / "deeper" / "checkout"
    for target in (first, second):
        target.parent.mkdir(parents=True)
        origin.git("clone", "--quiet", str(origin.path), str(target))
    return first, second


def test_two_checkouts_give_the_same_report(checkouts: tuple[Path, Path], tmp_path: Path) -> None:
    outputs = []
    for number, checkout in enumerate(checkouts):
        out = tmp_path / f"report-{number}.json"
        result = run_cli("check", "--repo", checkout, "--as-of", "2024-03-01", "-o", out)
        assert result.code == 1, result.err
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    files = json.loads(outputs[0])["inputs"]["files"]
    assert {"role": "policy", "path": "custom/extra.rego"} in [
        {"role": f["role"], "path": f["path"]} for f in files
    ]
    assert not any(f["path"].startswith("/") for f in files)


def test_a_command_line_policy_directory_inside_the_repository_is_relative_too(
    checkouts: tuple[Path, Path], tmp_path: Path
) -> None:
    first, _ = checkouts
    out = tmp_path / "r.json"
    result = run_cli(
        "check", "--repo", first, "--policies", first / "custom", "--as-of", "2024-03-01", "-o", out
    )
    assert result.code == 1, result.err
    paths = [f["path"] for f in json.loads(out.read_text())["inputs"]["files"]]
    assert "custom/extra.rego" in paths


def test_an_audit_replays_from_another_checkout(
    checkouts: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = checkouts
    assert run_cli("keygen", "--output", tmp_path / "k").code == 0
    signed = tmp_path / "audit.json"
    audit = run_cli(
        "audit", "--repo", first, "--period", "2024-02", "--as-of", "2024-03-01",
        "--key", tmp_path / "k.key", "-o", signed,
    )  # fmt: skip
    assert audit.code == 1, audit.err
    replay = run_cli("verify", signed, "--key", tmp_path / "k.pub", "--replay", "--repo", second)
    assert replay.code == 0, replay.err
    assert "replay: replayed" in replay.out and "the same 3 findings" in replay.out
