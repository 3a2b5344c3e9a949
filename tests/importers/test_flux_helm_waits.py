"""A Helm release succeeds when Helm's wait for its resources ends, not when the action starts:
Helm writes ``lastDeployed`` as an install or upgrade begins and then waits up to the action's
timeout for the pods to become ready. Real git repositories, the real engine, the recorded
HelmRelease of tests/importers/fixtures/kubernetes/ changed only where the scenario needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import FIXTURES, Released, helm_release, write_list
from tests.importers.test_kubernetes import Case, findings

FLEET = (
    "services:\n  checkout:\n    clusters:\n"
    "      - {name: eu-west-1, namespace: shop, workload: checkout}\n"
    "      - {name: us-east-1, namespace: shop, workload: checkout}\n"
)
FLAG_AT = "2024-06-04T10:02:00Z"
"""Two minutes into us-east-1's upgrade to v2, while Helm still waited for its pods."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    case = Case(tmp_path)
    (case.evidence / "fleet.yaml").write_text(FLEET)
    (case.evidence / "flag_events.yaml").write_text(
        f"- {{flag: new_checkout, service: checkout, environment: production, enabled: true,"
        f" at: '{FLAG_AT}', by: ops@example.com}}\n"
    )
    return case


def _rollouts(case: Case, upgrade: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """v1 then v2 on both clusters, v2 an hour later on us-east-1; both signed off."""
    pairs = []
    for cluster, at in (
        ("eu-west-1", "2024-06-04T09:00:00Z"),
        ("us-east-1", "2024-06-04T10:00:00Z"),
    ):
        item = helm_release("checkout", [
            Released(2, f"1.1.0+{case.v2[:12]}", at),
            Released(1, f"1.0.0+{case.v1[:12]}", "2024-06-03T10:00:00Z", "superseded"),
        ])  # fmt: skip
        if upgrade is not None:
            item["spec"]["upgrade"] = upgrade
        pairs.append(f"{cluster}={write_list(case.work / f'helm-{cluster}.json', [item])}")
    for commit, day in ((case.v1, "03"), (case.v2, "04")):
        result = case.cli(
            "flux", *pairs, "--name", "checkout", "--service", "checkout",
            "--deployer", "ops@example.com", "--revision", commit,
            "--approval", f"lee@example.com,2024-06-{day}T08:30:00Z",
        )  # fmt: skip
        assert result.code == 0, result.err
    return {r["commit"]: r for r in case.records("deploys.jsonl")}


def _finished(record: dict[str, Any]) -> dict[str, str]:
    return {t["host"]: t["finished_at"] for t in record["targets"]}


def test_a_flag_switched_on_during_helms_wait_is_on_a_mixed_fleet(case: Case) -> None:
    """us-east-1 was recorded as running v2 from 10:00, when its upgrade began, and the flag
    switched on at 10:02 passed the check."""
    v2 = _rollouts(case)[case.v2]
    assert v2["started_at"] == "2024-06-04T09:00:00Z"
    assert _finished(v2) == {"eu-west-1": "2024-06-04T09:05:00Z",
                             "us-east-1": "2024-06-04T10:05:00Z"}  # fmt: skip
    check = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                    "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
    assert check.code == 1
    (message,) = findings(check.json(), "FLEET-003").values()
    assert "did not succeed on us-east-1 (succeeded only at 2024-06-04T10:05:00Z" in message
    listing = case.work / "helm-us-east-1.json"
    again = case.cli("flux", f"us-east-1={listing}", "--name", "checkout",
                     "--service", "checkout", "--deployer", "ops@example.com")  # fmt: skip
    assert again.code == 0 and "0 added, 2 already there" in again.err, again.err


def test_the_actions_own_timeout_bounds_the_wait(case: Case) -> None:
    """spec.upgrade.timeout: 15m0s: Helm waited up to fifteen minutes for an upgrade."""
    v2 = _rollouts(case, upgrade={"timeout": "15m0s"})[case.v2]
    assert _finished(v2)["us-east-1"] == "2024-06-04T10:15:00Z"


def test_a_helm_test_that_started_ends_the_wait(case: Case) -> None:
    """helm-controller tests a release once Helm has deployed it: the recorded release 2, whose
    upgrade began at 04:54:55, had succeeded by 04:55:09, when its test started. The
    recording's release runs in namespace podinfo, where fleet.yaml runs the service here."""
    fleet = case.evidence / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("namespace: shop", "namespace: podinfo"))
    result = case.cli(
        "flux", f"eu-west-1={FIXTURES / 'flux-helmreleases.json'}", "--name", "podinfo",
        "--service", "checkout",
        "--revision-commit", f"6.6.0+cdd538a0167e={case.v1}",
        "--revision-commit", f"6.6.1+0cc9a8446c95={case.v2}",
    )  # fmt: skip
    assert result.code == 0, result.err
    got = {r["commit"]: (r["started_at"], r["finished_at"]) for r in case.records("deploys.jsonl")}
    assert got[case.v2] == ("2024-05-07T04:54:55Z", "2024-05-07T04:55:09Z")
    assert got[case.v1] == ("2024-05-07T04:54:21Z", "2024-05-07T04:54:23Z")
