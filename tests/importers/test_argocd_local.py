"""``argocd app sync --local DIR`` applies manifests generated from a local directory, not read
from git. Argo CD still writes a history entry for it: with no revision (2.1 on), or with the
revision the application's branch resolved to (2.0 and before), which is no record of what was
applied. Such a sync is recorded ``failed``, a move of its own. Real git repositories, the real
engine, the recorded Application of tests/importers/fixtures/kubernetes/ changed only where the
scenario needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import Synced, application, local_sync
from tests.importers.k8s_scenario import CLUSTERS, OPS, applications
from tests.importers.test_kubernetes import Case, findings, targets

LOCAL = (
    "Argo CD synced manifests from a local directory (argocd app sync --local), not from git: "
    "what the cluster runs since is no commit's"
)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _import(case: Case, apps: list[dict[str, Any]], *extra: str) -> tuple[int, str]:
    result = case.argocd(apps, "--application-set", "checkout", *extra)
    return result.code, result.err


def _check(case: Case) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                     "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
    return result.code, result.json()


def test_a_local_sync_argo_cd_recorded_under_the_branchs_commit_is_no_deployment_of_it(
    case: Case,
) -> None:
    """Argo CD 2.0 resolved the branch for a local sync and wrote that commit in the history:
    ap-south-1 was recorded as running v2, signed off, and the check passed."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    local_sync(apps[3], recorded_revision=True)
    code, err = _import(case, apps, "--revision", case.v2,
                        "--approval", "lee@example.com,2024-06-04T09:30:00Z")  # fmt: skip
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert record["commit"] == case.v2
    (local,) = [t for t in record["targets"] if t["host"] == "ap-south-1"]
    assert isinstance(local.pop("sequence"), int)  # Argo CD's history id of the sync
    assert local == {"host": "ap-south-1", "status": "failed", "reason": LOCAL,
                     "finished_at": "2024-06-04T10:03:40Z"}  # fmt: skip
    assert targets(record) == {"ap-south-1": "failed", "eu-central-1": "succeeded",
                               "eu-west-1": "succeeded", "us-east-1": "succeeded"}  # fmt: skip
    assert _import(case, apps, "--revision", case.v1,
                   "--approval", "lee@example.com,2024-06-03T09:30:00Z")[0] == 0  # fmt: skip
    code, report = _check(case)
    assert code == 1 and report["verdict"] == "fail"
    assert f"{record['id']}:ap-south-1" in findings(report, "FLEET-001")


def test_a_local_sync_with_no_revision_is_filed_under_the_commit_it_replaced(case: Case) -> None:
    """Argo CD 2.1 on writes no revision for a local sync (its history entry was refused as
    naming none): it is recorded, failed, as a rollout of its own of the commit the cluster ran
    from git before it."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    local_sync(apps[3])  # ap-south-1: v1 from git, then local manifests
    code, err = _import(case, apps)
    assert code == 0, err
    records = {r["id"]: r for r in case.records("deploys.jsonl")}
    base = f"checkout-production-{case.v1[:12]}"
    assert targets(records[base])["ap-south-1"] == "succeeded"  # v1 from git, as it was
    again = records[f"{base}-2"]
    assert again["commit"] == case.v1 and targets(again) == {"ap-south-1": "failed"}
    assert again["targets"][0]["reason"] == (LOCAL + f" (filed under {case.v1}, synced before it)")
    code, report = _check(case)
    assert code == 1 and f"{base}-2:ap-south-1" not in findings(report, "FLEET-004")
    assert f"{base}-2:ap-south-1" in findings(report, "FLEET-001")


def test_a_sync_from_git_after_a_local_one_is_a_rollout_of_its_own(case: Case) -> None:
    """The local sync never merges with a sync of the same commit from git: the cluster went
    back to git's v1 afterwards, and that return succeeds on its own."""
    history = [
        Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS),
        Synced(case.v1, "2024-06-04T10:00:00Z", "2024-06-04T10:00:40Z", OPS),
    ]
    app = local_sync(application("checkout-eu-west-1", "eu-west-1", history))
    history.append(Synced(case.v1, "2024-06-04T11:00:00Z", "2024-06-04T11:00:40Z", OPS))
    later = application("checkout-eu-west-1", "eu-west-1", history)
    later["status"]["history"][1] = app["status"]["history"][1]  # the local sync, kept
    code, err = _import(case, [later])
    assert code == 0, err
    base = f"checkout-production-{case.v1[:12]}"
    got = {r["id"]: (targets(r), r["started_at"]) for r in case.records("deploys.jsonl")}
    assert got == {
        base: ({"eu-west-1": "succeeded"}, "2024-06-03T10:00:00Z"),
        f"{base}-2": ({"eu-west-1": "failed"}, "2024-06-04T10:00:00Z"),
        f"{base}-3": ({"eu-west-1": "succeeded"}, "2024-06-04T11:00:00Z"),
    }


def test_a_first_sync_that_was_local_is_refused(case: Case) -> None:
    """Nothing from git before it: no commit to file it under, and no record is written."""
    history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
    app = local_sync(application("checkout-eu-west-1", "eu-west-1", history))
    code, err = _import(case, [app])
    assert code == 2
    assert (
        "application checkout-eu-west-1, history id 14: Argo CD synced manifests from a local "
        "directory (argocd app sync --local; Argo CD records no revision for one) and "
        "application checkout-eu-west-1 records no sync from git before it" in err
    )
    assert "Traceback" not in err and not (case.evidence / "deploys.jsonl").exists()
