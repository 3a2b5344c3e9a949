"""A revision Flux attempted that its history does not record yet: kustomize-controller sets
``status.lastAttemptedRevision`` before it builds the manifests and writes a history snapshot
only once the attempt ends after applying them, so while the health checks run (``Ready``
``Unknown``, ``Progressing``) the newest snapshot is still the revision before. Real git
repositories, the real engine, the recorded objects of tests/importers/fixtures/kubernetes/
changed only where the scenario needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.importers.k8s_recordings import (
    Reconciled,
    Released,
    attempting,
    helm_release,
    kustomization,
    write_list,
)
from tests.importers.test_kubernetes import DEV, Case, findings, targets

PROGRESSING = ("Unknown", "Progressing", "Reconciliation in progress")
"""The Ready condition kustomize-controller sets as each reconciliation begins."""
BUILD_FAILED = ("False", "BuildFailed", "kustomize build failed: accumulating resources")
CANCELED = ("False", "HealthCheckCanceled",
            "New reconciliation triggered by GitRepository/flux-system/podinfo")  # fmt: skip
AT = "2024-06-05T09:05:00Z"
EARLY = "2024-06-05T08:59:00Z"
"""Before v2's snapshot was last reconciled (09:00)."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _hotfix(case: Case) -> str:
    """A commit no one reviewed, after v1 and v2."""
    return case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")


def _listing(case: Case, commit: str, ready: tuple[str, str, str], at: str = AT) -> Path:
    """v1 then v2 applied, and ``commit`` attempted since ``at`` with the Ready ``ready``."""
    item = kustomization("checkout", [
        Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-05T09:00:00Z"),
        Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z"),
    ])  # fmt: skip
    return write_list(case.work / "flux.json", [attempting(item, commit, *ready, at)])


def _flux(case: Case, path: Path) -> CliResult:
    return case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")


def _of(case: Case, commit: str) -> dict[str, Any]:
    return next(r for r in case.records("deploys.jsonl") if r["commit"] == commit)


def test_a_revision_still_being_applied_is_an_unfinished_deployment(case: Case) -> None:
    """Flux applied the hotfix and runs its health checks: no snapshot names it yet, but its
    commit is live on the cluster, so it is a deployment that has not succeeded, and its
    commits are judged like any other."""
    hot = _hotfix(case)
    result = _flux(case, _listing(case, hot, PROGRESSING))
    assert result.code == 0, result.err
    record = _of(case, hot)
    assert record["started_at"] == AT
    assert "finished_at" not in record and targets(record) == {"eu-west-1": "failed"}
    (target,) = record["targets"]
    assert "finished_at" not in target
    assert target["reason"] == (
        f"Flux was still reconciling main@sha1:{hot} when the object was listed (Ready "
        "Unknown, Progressing: Reconciliation in progress); no history entry records its "
        "outcome yet"
    )
    assert targets(_of(case, case.v2)) == {"eu-west-1": "succeeded"}  # v2's stands
    assert record["id"] in findings(case.check(), "REVIEW-002")[hot]  # shipped with no review

    # The health checks passed since: the next import finds the snapshot, and says so.
    item = kustomization("checkout", [
        Reconciled(hot, "2024-06-05T09:06:00Z", "2024-06-05T09:06:00Z"),
        Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-05T09:00:00Z"),
        Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z"),
    ])  # fmt: skip
    again = _flux(case, write_list(case.work / "flux.json", [item]))
    assert again.code == 0, again.err
    assert targets(_of(case, hot)) == {"eu-west-1": "succeeded"}


@pytest.mark.parametrize(
    ("ready", "outcome"),
    [
        (BUILD_FAILED, "its manifests did not build, so this attempt applied nothing"),
        (CANCELED, "no history entry records whether it was applied"),
    ],
)
def test_a_revision_whose_attempt_ended_unrecorded_did_not_succeed(
    case: Case, ready: tuple[str, str, str], outcome: str
) -> None:
    """A build that failed applied nothing; health checks cancelled by a newer
    reconciliation left what they checked applied. Neither writes a snapshot; both are
    deployments of the revision that did not succeed, ended when Ready turned False."""
    hot = _hotfix(case)
    result = _flux(case, _listing(case, hot, ready))
    assert result.code == 0, result.err
    record = _of(case, hot)
    (target,) = record["targets"]
    assert target["status"] == "failed" and target["finished_at"] == AT
    status, reason, message = ready
    assert target["reason"] == f"Flux reconciliation {reason} (Ready {status}, {reason}: " + (
        f"{message}): {outcome}"
    )
    assert record["id"] in findings(case.check(), "REVIEW-002")[hot]


def test_a_return_to_the_last_applied_revision_is_recorded_under_way(case: Case) -> None:
    """v2's health checks failed (its snapshot is first) and Flux is applying v1 again: the
    cluster is on its way back, not yet there. The return starts when v2 was last reconciled,
    as the history dates it once v1's snapshot comes to the front, so the next import agrees."""
    v2 = Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-04T10:21:00Z", "HealthCheckFailed")
    item = kustomization("checkout", [
        v2, Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z"),
    ])  # fmt: skip
    attempting(item, case.v1, *PROGRESSING, "2024-06-04T10:30:00Z")
    result = _flux(case, write_list(case.work / "flux.json", [item]))
    assert result.code == 0, result.err
    back = [r for r in case.records("deploys.jsonl") if r["commit"] == case.v1]
    assert [targets(r) for r in back] == [{"eu-west-1": "succeeded"}, {"eu-west-1": "failed"}]
    assert back[1]["started_at"] == "2024-06-04T10:21:00Z" and "finished_at" not in back[1]

    item = kustomization("checkout", [
        Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:31:00Z"), v2,
    ])  # fmt: skip
    again = _flux(case, write_list(case.work / "flux.json", [item]))
    assert again.code == 0, again.err
    back = [r for r in case.records("deploys.jsonl") if r["commit"] == case.v1]
    assert [targets(r) for r in back] == [{"eu-west-1": "succeeded"}] * 2


def _drop(item: dict[str, Any], key: str) -> None:
    del item["status"][key]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda i: i["status"]["conditions"][1].update(status="True"),
            "which no history entry records, and its status has Ready 'True'",
        ),
        (
            lambda i: i["status"]["conditions"].pop(),
            "which no history entry records, and its status has no Ready condition",
        ),
        (
            lambda i: _drop(i, "conditions"),
            "which no history entry records, and its status has no Ready condition",
        ),
        (
            lambda i: i["status"]["conditions"][1].update(lastTransitionTime=EARLY),
            "but the Ready condition last changed at 2024-06-05T08:59:00Z, before the newest entry",
        ),
        (
            lambda i: _drop(i, "lastAttemptedRevision"),
            "has a status.history but no status.lastAttemptedRevision",
        ),
    ],
)
def test_an_attempt_whose_status_cannot_be_read_is_refused(
    case: Case, change: Any, message: str
) -> None:
    path = _listing(case, _hotfix(case), PROGRESSING)
    document = json.loads(path.read_text())
    change(document["items"][0])
    result = _flux(case, write_list(path, document["items"]))
    assert result.code == 2, result.err
    assert "Kustomization checkout on eu-west-1" in result.err and message in result.err
    assert "flux.json" in result.err and "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


@pytest.mark.parametrize("field", ["lastAttemptedRevision", "lastAttemptedConfigDigest"])
def test_a_helm_release_attempt_no_release_records_is_refused(case: Case, field: str) -> None:
    """helm-controller sets the chart version and values it attempts before the Helm action;
    an attempt of v2's chart (or of new values) that no release records may be live or half
    applied, and the history's newest release, v1's, says nothing of it. Before, the import
    recorded v1 alone and passed."""
    release = helm_release("checkout", [Released(1, f"1.1.0+{case.v1[:12]}", EARLY)])
    release["status"][field] = (
        f"1.2.0+{case.v2[:12]}" if field == "lastAttemptedRevision" else "sha256:" + "0" * 64
    )
    path = write_list(case.work / "helm.json", [release])
    result = _flux(case, path)
    assert result.code == 2, result.err
    assert "HelmRelease checkout on eu-west-1: status.lastAttemptedRevision is " in result.err
    assert "Flux attempted a release that no history entry records" in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


def test_a_helm_rollback_after_a_failed_upgrade_is_read(case: Case) -> None:
    """An upgrade to v2 that failed and was rolled back (upgrade remediation) leaves the
    attempted chart on the failed release before the rollback: its history records it."""
    release = helm_release("checkout", [
        Released(3, f"1.1.0+{case.v1[:12]}", "2024-06-04T10:20:00Z", action="rollback"),
        Released(2, f"1.2.0+{case.v2[:12]}", "2024-06-04T10:10:00Z", status="failed"),
        Released(1, f"1.1.0+{case.v1[:12]}", EARLY, status="superseded"),
    ])  # fmt: skip
    release["status"]["lastAttemptedRevision"] = f"1.2.0+{case.v2[:12]}"
    result = _flux(case, write_list(case.work / "helm.json", [release]))
    assert result.code == 0, result.err
    assert targets(_of(case, case.v2)) == {"eu-west-1": "failed"}
