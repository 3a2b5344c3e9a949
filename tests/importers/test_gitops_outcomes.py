"""What the GitOps tools say beyond their history, and a pass must not ignore: an Argo CD
selective sync (no history entry). Real git repositories, the real engine, the recorded
objects of tests/importers/fixtures/kubernetes/ changed only where the scenario needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.importers.k8s_recordings import (
    selective_sync,
)
from tests.importers.k8s_scenario import applications
from tests.importers.test_kubernetes import DEV, Case, findings, targets

ALICE = "alice@example.com"


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _target(record: dict[str, Any], cluster: str) -> dict[str, Any]:
    return next(t for t in record["targets"] if t["host"] == cluster)


def _of(case: Case, commit: str) -> dict[str, Any]:
    return next(r for r in case.records("deploys.jsonl") if r["commit"] == commit)


# --- an Argo CD selective sync --------------------------------------------------------------


def test_a_selective_sync_is_a_deployment_of_its_commit(case: Case) -> None:
    """``argocd app sync --resource apps:Deployment:checkout`` of an unreviewed commit: Argo
    CD keeps no history entry of it, only the last operation. Its commit runs on the cluster,
    so it is a deployment, judged like any other; the cluster did not reach it whole."""
    hot = case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    apps = applications(case.v1, case.v2)
    selective_sync(apps[0], hot, "2024-06-05T09:00:00Z", "2024-06-05T09:00:05Z", ALICE,
                   ["checkout"])  # fmt: skip
    result = case.argocd(apps)
    assert result.code == 0, result.err
    record = _of(case, hot)
    assert record["deployer"] == ALICE
    assert record["started_at"] == "2024-06-05T09:00:00Z"
    assert targets(record) == {"eu-west-1": "failed"}
    assert _target(record, "eu-west-1")["reason"] == (
        "Argo CD synced only Deployment checkout (a selective sync): the application's other "
        "resources were not synced to this revision"
    )
    assert _target(record, "eu-west-1")["finished_at"] == "2024-06-05T09:00:05Z"
    # v2's sync of the whole application, before it, still stands.
    assert targets(_of(case, case.v2))["eu-west-1"] == "succeeded"
    report = case.check()
    assert record["id"] in findings(report, "REVIEW-002")[hot]  # shipped with no review
    assert f"{record['id']}:eu-west-1" in findings(report, "FLEET-001")


def test_a_selective_sync_of_a_revision_that_is_no_commit_is_refused(case: Case) -> None:
    """It changed the cluster: like a history entry, its revision must name the commit."""
    apps = applications(case.v1, case.v2)
    selective_sync(apps[0], "0.3.0", "2024-06-05T09:00:00Z", "2024-06-05T09:00:05Z", ALICE,
                   ["checkout"])  # fmt: skip
    result = case.argocd(apps)
    assert result.code == 2
    assert "operation Succeeded (selective sync): revision '0.3.0' on cluster eu-west-1" in (
        result.err
    )
    assert "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


def test_a_dry_run_applies_nothing(case: Case) -> None:
    hot = case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    apps = applications(case.v1, case.v2)
    selective_sync(apps[0], hot, "2024-06-05T09:00:00Z", "2024-06-05T09:00:05Z", ALICE,
                   ["checkout"])  # fmt: skip
    apps[0]["status"]["operationState"]["operation"]["sync"]["dryRun"] = True
    result = case.argocd(apps)
    assert result.code == 0, result.err
    assert "application checkout-eu-west-1: its last operation, a dry run, applied nothing" in (
        result.err
    )
    assert hot not in {r["commit"] for r in case.records("deploys.jsonl")}
    apps[0]["status"]["operationState"]["operation"]["sync"]["resources"] = [{"kind": 7}]
    bad = case.argocd(apps)
    assert bad.code == 2 and "Traceback" not in bad.err
    assert "checkout-eu-west-1" in bad.err and "applications.json" in bad.err
