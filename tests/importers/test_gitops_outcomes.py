"""What the GitOps tools say beyond their history, and a pass must not ignore: an Argo CD
selective sync (no history entry), a sync of an application that keeps no history
(``spec.revisionHistoryLimit: 0``), an application whose latest sync left it Degraded or still
Progressing, a Helm release whose own test failed. Real git repositories, the real engine,
the recorded objects of tests/importers/fixtures/kubernetes/ changed only where the scenario
needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.importers.k8s_recordings import (
    FIXTURES,
    Released,
    Synced,
    application,
    compared_before_the_sync,
    drifted,
    health,
    helm_release,
    selective_sync,
    without_history,
    without_overrides,
    write_list,
)
from tests.importers.k8s_scenario import APPROVER, CLUSTERS, OPS, applications
from tests.importers.test_kubernetes import DEV, Case, findings, targets

ALICE = "alice@example.com"
DEADLINE = 'Deployment "test-lla" exceeded its progress deadline'
"""gitops-engine's message for a Deployment whose rollout timed out (Degraded), for the
recording's Deployment ``test-lla``."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _target(record: dict[str, Any], cluster: str) -> dict[str, Any]:
    """The cluster's target, without Argo CD's history id (``sequence``)."""
    found = next(t for t in record["targets"] if t["host"] == cluster)
    return {k: v for k, v in found.items() if k != "sequence"}


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


def test_a_sign_off_import_names_the_rollouts_it_leaves_unrecorded(case: Case) -> None:
    """Signing off v2 with --revision writes v2's rollout alone; the selective sync of an
    unreviewed commit after it is in no record yet, and the import says so."""
    hot = case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    apps = applications(case.v1, case.v2)
    selective_sync(apps[0], hot, "2024-06-05T09:00:00Z", "2024-06-05T09:00:05Z", ALICE,
                   ["checkout"])  # fmt: skip
    signed = case.argocd(apps, "--revision", case.v1, "--approval",
                         "lee@example.com,2024-06-03T09:30:00Z")  # fmt: skip
    assert signed.code == 0, signed.err
    assert (
        f"2 rollouts these objects hold are in no record and were not imported "
        f"(checkout-production-{case.v2[:12]}, checkout-production-{hot[:12]})"
    ) in signed.err
    assert case.argocd(apps).code == 0  # the scheduled import records them
    again = case.argocd(apps, "--revision", case.v1)
    assert again.code == 0 and "in no record" not in again.err


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


def test_a_sync_of_an_application_that_keeps_no_history_is_a_deployment(case: Case) -> None:
    """``spec.revisionHistoryLimit: 0`` keeps no history entry, not even of the sync that just
    ran: an unreviewed commit synced to every cluster left its operation alone, the import
    recorded nothing (exit 0, "0 added") and the check passed. The operation holds what the
    entry would: it is recorded and judged as the latest history entry is."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    for commit, day in ((case.v1, "03"), (case.v2, "04")):
        signed = case.argocd(apps, "--revision", commit,
                             "--approval", f"{APPROVER},2024-06-{day}T09:30:00Z")  # fmt: skip
        assert signed.code == 0, signed.err
    assert case.check()["verdict"] == "pass"
    hot = case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    unkept = [
        without_history(application(f"checkout-{cluster}", cluster, [Synced(
            hot, f"2024-06-05T09:0{n}:00Z", f"2024-06-05T09:0{n}:40Z", ALICE)]))
        for n, cluster in enumerate(CLUSTERS)
    ]  # fmt: skip
    result = case.argocd(unkept)
    assert result.code == 0, result.err
    assert (
        "application checkout-eu-west-1, operation Succeeded (a sync its status.history does "
        "not keep: spec.revisionHistoryLimit 0): read from status.operationState"
    ) in result.err
    record = _of(case, hot)
    assert targets(record) == dict.fromkeys(CLUSTERS, "succeeded")
    assert record["deployer"] == ALICE and record["started_at"] == "2024-06-05T09:00:00Z"
    report = case.check()
    assert report["verdict"] == "fail"
    assert record["id"] in findings(report, "REVIEW-002")[hot]
    # Judged as a latest history entry is: not Healthy, it did not reach the cluster.
    health(unkept[0], "Degraded", DEADLINE)
    (case.evidence / "deploys.jsonl").unlink()
    assert case.argocd(unkept).code == 0
    assert targets(_of(case, hot))["eu-west-1"] == "failed"


# --- an Argo CD application's health ----------------------------------------------------------


def test_a_degraded_application_did_not_reach_its_latest_commit(case: Case) -> None:
    """The sync of v2 Succeeded (its manifests were applied) but the Deployment never became
    available: not succeeded. v1, an older entry, keeps the tool's word."""
    apps = applications(case.v1, case.v2)
    health(apps[0], "Degraded", DEADLINE)
    result = case.argocd(apps)
    assert result.code == 0, result.err
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == "failed"
    assert (
        _target(v2, "eu-west-1")["reason"]
        == f"Argo CD health Degraded: Deployment test-lla: {DEADLINE}"
    )
    assert targets(_of(case, case.v1))["eu-west-1"] == "succeeded"
    assert (
        "cluster eu-west-1: failed (Argo CD health Degraded"
        in (findings(case.check(), "FLEET-001")[f"{v2['id']}:eu-west-1"])
    )


def test_the_recorded_application_degraded(case: Case) -> None:
    """The recording's ten syncs of one revision, its last operation the sync the last entry
    records: with its health Degraded, the revision's move did not succeed, whatever the
    older re-syncs of it said."""
    recorded = without_overrides(
        json.loads((FIXTURES / "argocd-applications.json").read_text())["items"][0]
    )
    revision = recorded["status"]["history"][0]["revision"]
    health(recorded, "Degraded", DEADLINE)
    result = case.argocd([recorded], "--revision-commit", f"{revision}={case.v2}")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    assert targets(record) == {"gke-alpha-01-europe-west1": "failed"}
    assert "exceeded its progress deadline" in record["targets"][0]["reason"]


@pytest.mark.parametrize("status", ["Progressing", "Suspended"])
def test_a_rollout_still_progressing_is_unfinished(case: Case, status: str) -> None:
    apps = applications(case.v1, case.v2)
    health(apps[0], status)
    assert case.argocd(apps).code == 0
    v2 = _of(case, case.v2)
    assert "finished_at" not in v2 and "finished_at" not in _target(v2, "eu-west-1")
    assert _target(v2, "eu-west-1")["reason"] == (
        f"Argo CD health {status}: the rollout had not ended when the application was listed "
        "(Deployment test-lla)"
    )
    health(apps[0], "Healthy")  # it ended since
    assert case.argocd(apps).code == 0
    v2 = _of(case, case.v2)
    assert targets(v2) == dict.fromkeys(CLUSTERS[:3], "succeeded")
    assert v2["finished_at"] == "2024-06-04T10:02:40Z"


def _flag_at(case: Case, at: str) -> None:
    (case.evidence / "flag_events.yaml").write_text(
        "- {flag: new_checkout, service: checkout, environment: production, enabled: true,"
        f" at: '{at}', by: {OPS}}}\n"
    )


def _listed(case: Case, at: str, status: str, since: str) -> list[dict[str, Any]]:
    """v1 and v2 on every cluster, listed at ``at`` (each application's last comparison);
    us-east-1's ``status`` since ``since``."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    health(apps[2], status, since=since)
    for app in apps:
        app["status"]["reconciledAt"] = at
    return apps


def _signed(case: Case, apps: list[dict[str, Any]]) -> None:
    for commit, day in ((case.v1, "03"), (case.v2, "04")):
        signed = case.argocd(apps, "--revision", commit,
                             "--approval", f"{APPROVER},2024-06-{day}T09:30:00Z")  # fmt: skip
        assert signed.code == 0, signed.err


def test_a_cluster_healthy_only_after_its_sync_finished_then(case: Case) -> None:
    """v2's sync on us-east-1 ended at 10:02:40; its pods rolled out until 10:30 (Argo CD:
    Progressing, then Healthy since 10:30), and the flag went on at 10:15, over old and new
    pods. Listed at 11:00, the cluster was recorded succeeded at 10:02:40, and FLEET-003
    passed, even after an import at 10:20 had seen it Progressing."""
    _flag_at(case, "2024-06-04T10:15:00Z")
    _signed(case, _listed(case, "2024-06-04T10:20:00Z", "Progressing", "2024-06-04T10:02:41Z"))
    assert set(findings(case.check(), "FLEET-003")) == {"new_checkout@2024-06-04T10:15:00Z"}
    healthy = _listed(case, "2024-06-04T11:00:00Z", "Healthy", "2024-06-04T10:30:00Z")
    _signed(case, healthy)
    assert _target(_of(case, case.v2), "us-east-1") == {
        "host": "us-east-1", "status": "succeeded", "finished_at": "2024-06-04T10:30:00Z"
    }  # fmt: skip
    (message,) = findings(case.check(), "FLEET-003").values()
    assert "did not succeed on us-east-1 (succeeded only at 2024-06-04T10:30:00Z" in message
    # One import at 11:00 records the same; healthy since before the sync ended, it ended then.
    (case.evidence / "deploys.jsonl").unlink()
    _signed(case, healthy)
    assert _target(_of(case, case.v2), "us-east-1")["finished_at"] == "2024-06-04T10:30:00Z"
    (case.evidence / "deploys.jsonl").unlink()
    _signed(case, _listed(case, "2024-06-04T11:00:00Z", "Healthy", "2024-06-04T10:02:00Z"))
    assert _target(_of(case, case.v2), "us-east-1")["finished_at"] == "2024-06-04T10:02:40Z"


def test_a_later_change_of_health_rewrites_no_success(case: Case) -> None:
    """Recorded healthy since 10:30; a later listing healthy again only since 12:00 (it
    degraded meanwhile), or degraded now, is the same sync: the record stands."""
    _signed(case, _listed(case, "2024-06-04T11:00:00Z", "Healthy", "2024-06-04T10:30:00Z"))
    recorded = case.records("deploys.jsonl")
    for status, since in (
        ("Healthy", "2024-06-04T12:00:00Z"),
        ("Degraded", "2024-06-04T12:30:00Z"),
    ):
        again = case.argocd(_listed(case, "2024-06-04T13:00:00Z", status, since))
        assert again.code == 0, again.err
        assert case.records("deploys.jsonl") == recorded
    bad = _listed(case, "2024-06-04T11:00:00Z", "Healthy", "yesterday")
    refused = case.argocd(bad)
    assert refused.code == 2 and "Traceback" not in refused.err
    assert "application checkout-us-east-1: status.health.lastTransitionTime" in refused.err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("health"), "no status.health.status"),
        (lambda s: s.update(health="Degraded"), "status.health is not an object"),
        (lambda s: s.update(health={"status": 3}), "status.health.status is not text"),
        (lambda s: s.update(resources={}), "status.resources is not a list of objects"),
    ],
)
def test_health_that_cannot_be_read_is_refused(case: Case, change: Any, message: str) -> None:
    apps = applications(case.v1, case.v2)
    health(apps[0], "Degraded", DEADLINE)
    change(apps[0]["status"])
    result = case.argocd(apps)
    assert result.code == 2
    assert "application checkout-eu-west-1" in result.err and message in result.err
    assert "applications.json" in result.err and "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


def test_a_later_import_keeps_what_the_health_said(case: Case) -> None:
    """Health describes only the latest sync. A success recorded while the application was
    Healthy is not rewritten when it degrades later; a failure recorded while it was Degraded
    is not turned into a success once a newer sync makes that one's health unknown."""
    apps = applications(case.v1, case.v2)
    assert case.argocd(apps).code == 0  # healthy at 10:00:40
    health(apps[0], "Degraded", DEADLINE)  # later: a node lost, say
    later = case.argocd(apps)
    assert later.code == 0, later.err
    assert targets(_of(case, case.v2))["eu-west-1"] == "succeeded"

    v3 = case.repo.commit("v3", {"app": "3"}, author=DEV, date="2024-06-05T09:00:00Z",
                          trailers=("Reviewed-by: Lee Lead <lee@example.com>",))  # fmt: skip
    # ap-south-1 syncs v2 late, and its Deployment never becomes available.
    history = [
        Synced(case.v1, "2024-06-03T10:03:00Z", "2024-06-03T10:03:40Z", OPS),
        Synced(case.v2, "2024-06-04T15:03:00Z", "2024-06-04T15:03:40Z", OPS),
    ]
    apps[3] = health(application("checkout-ap-south-1", "ap-south-1", history), "Degraded",
                     DEADLINE)  # fmt: skip
    assert case.argocd(apps).code == 0
    assert targets(_of(case, case.v2))["ap-south-1"] == "failed"
    # v3 fixes it: v2's entry is now an older one, whose health nothing says.
    history.append(Synced(v3, "2024-06-05T10:03:00Z", "2024-06-05T10:03:40Z", OPS))
    apps[3] = application("checkout-ap-south-1", "ap-south-1", history)
    fixed = case.argocd(apps)
    assert fixed.code == 0, fixed.err
    v2 = _of(case, case.v2)
    assert targets(v2)["ap-south-1"] == "failed"
    assert _target(v2, "ap-south-1")["reason"].startswith("Argo CD health Degraded")
    assert targets(_of(case, v3)) == {"ap-south-1": "succeeded"}


def test_health_assessed_before_the_sync_ended_says_nothing_of_it(case: Case) -> None:
    """Argo CD writes a finished sync (its history entry, the operation Succeeded) before it
    compares the application again: listed in between, the application shows the health of
    the pods that ran before the sync, Healthy, while the new ones may never start. The sync
    is not succeeded until a comparison after it says so; once one says Degraded, it stays
    failed."""
    apps = applications(case.v1, case.v2)
    compared_before_the_sync(apps[0], "2024-06-04T09:58:10Z", case.v1)
    result = case.argocd(apps)
    assert result.code == 0, result.err
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == "failed"
    assert "finished_at" not in v2 and "finished_at" not in _target(v2, "eu-west-1")
    assert _target(v2, "eu-west-1")["reason"] == (
        "Argo CD health not assessed since the sync: Argo CD last compared the application at "
        "2024-06-04T09:58:10Z, not after the sync (2024-06-04T10:00:00Z to "
        "2024-06-04T10:00:40Z), so the health it shows (Healthy) is of what ran before the "
        "sync: whether the sync's workload runs is not known yet"
    )
    assert f"{v2['id']}:eu-west-1" in findings(case.check(), "FLEET-001")
    later = health(application("checkout-eu-west-1", "eu-west-1", [
        Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS),
        Synced(case.v2, "2024-06-04T10:00:00Z", "2024-06-04T10:00:40Z", OPS),
    ]), "Degraded", DEADLINE)  # fmt: skip
    later["status"]["reconciledAt"] = "2024-06-04T10:11:00Z"
    assert case.argocd([later, *apps[1:]]).code == 0
    assert _target(_of(case, case.v2), "eu-west-1")["reason"].startswith(
        "Argo CD health Degraded: Deployment test-lla"
    )


def test_a_comparison_in_the_second_a_sync_began_and_ended_is_not_after_it(case: Case) -> None:
    """A sync that took less than a second, and a comparison stamped with that second: it
    may be the one that started the sync (an automated sync), so it says nothing of it; a
    later import, after Argo CD compared again, records the success."""
    apps = applications(case.v1, case.v2)
    entry = apps[0]["status"]["history"][-1]
    entry.update(deployStartedAt="2024-06-04T10:00:00Z", deployedAt="2024-06-04T10:00:00Z")
    apps[0]["status"]["reconciledAt"] = "2024-06-04T10:00:00Z"
    assert case.argocd(apps).code == 0
    assert targets(_of(case, case.v2))["eu-west-1"] == "failed"
    apps[0]["status"]["reconciledAt"] = "2024-06-04T10:03:00Z"
    assert case.argocd(apps).code == 0
    assert targets(_of(case, case.v2)) == dict.fromkeys(CLUSTERS[:3], "succeeded")


def _newest_first(history: list[dict[str, Any]]) -> None:
    history.reverse()  # as Argo CD's UI and `argocd app history` show it


def _ids_kept(history: list[dict[str, Any]]) -> None:
    ids = [entry["id"] for entry in history]
    history.reverse()
    for entry, number in zip(history, ids, strict=True):
        entry["id"] = number


@pytest.mark.parametrize(
    ("reorder", "message"),
    [
        (_newest_first, "status.history ids [15, 14] are not increasing"),
        (_ids_kept, "status.history's last entry (application checkout-eu-west-1, history id "
                    "15) is not its latest sync (deployedAt)"),
    ],
)  # fmt: skip
def test_a_history_not_in_argo_cds_order_is_refused(case: Case, reorder: Any, message: str) -> None:
    """Argo CD appends each sync to the history, and the health is judged for the last entry:
    a listing sorted newest first lent the application's health (compared before v2's sync)
    to v1's entry, and v2's sync was recorded succeeded on Argo CD's word alone."""
    apps = applications(case.v1, case.v2)
    compared_before_the_sync(apps[0], "2024-06-04T09:58:10Z", case.v1)
    reorder(apps[0]["status"]["history"])
    result = case.argocd(apps)
    assert result.code == 2, result.err
    assert "application checkout-eu-west-1" in result.err and message in result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("reconciledAt"), "status.reconciledAt is missing"),
        (lambda s: s.update(reconciledAt=3), "status.reconciledAt is not a time"),
        (lambda s: s.update(reconciledAt="soon"), "not an RFC 3339 timestamp"),
    ],
)
def test_a_comparison_time_that_cannot_be_read_is_refused(
    case: Case, change: Any, message: str
) -> None:
    apps = applications(case.v1, case.v2)
    change(apps[0]["status"])
    result = case.argocd(apps)
    assert result.code == 2
    assert "application checkout-eu-west-1" in result.err and message in result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


# --- an Argo CD application whose live state drifted from its latest sync --------------------


def test_an_application_out_of_sync_at_its_synced_revision_did_not_reach_it(case: Case) -> None:
    """Argo CD synced v2 (Succeeded, Healthy), then someone set the Deployment's image back to
    the old build (no self-heal): Argo CD reports the application OutOfSync at v2. The cluster
    does not run v2, whatever the sync said."""
    apps = applications(case.v1, case.v2)
    drifted(apps[0])
    result = case.argocd(apps)
    assert result.code == 0, result.err
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == "failed"
    assert _target(v2, "eu-west-1")["reason"] == (
        "Argo CD sync status OutOfSync at the synced revision (Deployment test-lla): the live "
        "objects no longer match what the sync applied"
    )
    assert _target(v2, "eu-west-1")["finished_at"] == "2024-06-04T10:00:40Z"
    assert targets(_of(case, case.v1))["eu-west-1"] == "succeeded"  # an older entry
    message = findings(case.check(), "FLEET-001")[f"{v2['id']}:eu-west-1"]
    assert "cluster eu-west-1: failed (Argo CD sync status OutOfSync" in message


def test_the_recorded_application_out_of_sync(case: Case) -> None:
    """The recording's ten re-syncs of one revision: OutOfSync at that revision now, the
    older re-syncs' success does not make the move succeeded. ``Unknown`` (the comparison
    failed) cannot show the cluster runs it either; Degraded and OutOfSync are both named."""
    for status, state in (
        ("OutOfSync", "Healthy"),
        ("Unknown", "Healthy"),
        ("OutOfSync", "Degraded"),
    ):
        recorded = without_overrides(
            json.loads((FIXTURES / "argocd-applications.json").read_text())["items"][0]
        )
        revision = recorded["status"]["history"][-1]["revision"]
        recorded["status"]["sync"]["revision"] = revision
        health(drifted(recorded, status), state, DEADLINE)
        case.evidence.joinpath("deploys.jsonl").unlink(missing_ok=True)
        result = case.argocd([recorded], "--revision-commit", f"{revision}={case.v2}")
        assert result.code == 0, result.err
        (record,) = case.records("deploys.jsonl")
        assert targets(record) == {"gke-alpha-01-europe-west1": "failed"}, status
        assert (
            f"Argo CD sync status {status} at the synced revision" in record["targets"][0]["reason"]
        )
        if state == "Degraded":
            assert record["targets"][0]["reason"].startswith("Argo CD health Degraded")


def test_a_selective_sync_after_drift_does_not_hide_it(case: Case) -> None:
    """Argo CD synced v2, the Deployment was set back (OutOfSync at v2), then a selective sync
    of another resource at v2 succeeded: the last operation is not the history's, but the
    sync status at v2 still judges v2's latest deployment on the cluster."""
    apps = applications(case.v1, case.v2)
    drifted(apps[0])
    selective_sync(apps[0], case.v2, "2024-06-04T13:00:00Z", "2024-06-04T13:00:05Z", OPS,
                   ["checkout-config"])  # fmt: skip
    result = case.argocd(apps)
    assert result.code == 0, result.err
    assert targets(_of(case, case.v2))["eu-west-1"] == "failed"


@pytest.mark.parametrize("status", ["Unknown", "OutOfSync"])
def test_a_sync_status_that_compared_no_revision_is_not_synced(case: Case, status: str) -> None:
    """``Unknown`` (or ``OutOfSync``) with no ``status.sync.revision``: Argo CD compared the
    live objects with nothing, which shows nothing of v2 running; v2 is failed, saying so."""
    apps = applications(case.v1, case.v2)
    drifted(apps[0], status)["status"]["sync"].pop("revision", None)
    result = case.argocd(apps)
    assert result.code == 0, result.err
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == "failed"
    assert _target(v2, "eu-west-1")["reason"].startswith(
        f"Argo CD sync status {status} with no revision compared"
    )


def test_out_of_sync_with_a_newer_revision_shows_nothing_of_the_synced_one(case: Case) -> None:
    """The branch moved on to v3, not synced (no ``syncPolicy.automated``): OutOfSync compares
    the live state with v3's manifests, and a Deployment set by hand since v2's sync is as
    OutOfSync with v3 as v3's own changes are. Before, v2 was recorded succeeded (exit 0):
    nothing showed eu-west-1 still ran it. It is now failed, saying what was compared. Synced
    at v3 (a commit that left the manifests as they were) still shows the live objects are
    v2's."""
    apps = applications(case.v1, case.v2)
    assert "automated" not in apps[0]["spec"]["syncPolicy"]  # the recording syncs by hand
    drifted(apps[0])["status"]["sync"]["revision"] = "c" * 40
    assert case.argocd(apps).code == 0
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == "failed"
    assert _target(v2, "eu-west-1")["reason"] == (
        f"Argo CD sync status OutOfSync compares the live objects with another revision "
        f"({'c' * 40}) than the synced one: Argo CD has not compared them with what the sync "
        "applied since, so nothing shows the cluster still runs it"
    )
    case.evidence.joinpath("deploys.jsonl").unlink()
    drifted(apps[0], "Synced")
    assert case.argocd(apps).code == 0
    assert targets(_of(case, case.v2))["eu-west-1"] == "succeeded"
    # An import made after the sync keeps its success when the branch moves on later.
    drifted(apps[0])
    later = case.argocd(apps)
    assert later.code == 0, later.err
    assert targets(_of(case, case.v2))["eu-west-1"] == "succeeded"


@pytest.mark.parametrize(("value", "status"), [("true", "failed"), ("True", "failed"),
                                               ("false", "succeeded")])  # fmt: skip
def test_an_application_argo_cd_no_longer_processes_vouches_for_nothing(
    case: Case, value: str, status: str
) -> None:
    """``argocd.argoproj.io/skip-reconcile: "true"`` (argoproj/argo-cd
    ``docs/user-guide/skip_reconcile.md``): Argo CD stops processing the application and
    leaves its status as it was, ``Synced`` and ``Healthy`` from before a Deployment was set by
    hand. Before, v2 was recorded succeeded (exit 0); it is now failed, naming the
    annotation."""
    apps = applications(case.v1, case.v2)
    apps[0]["metadata"].setdefault("annotations", {})["argocd.argoproj.io/skip-reconcile"] = value
    result = case.argocd(apps)
    assert result.code == 0, result.err
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == status
    if status == "failed":
        assert _target(v2, "eu-west-1")["reason"] == (
            "Argo CD sync status not kept up to date: the application has "
            f"argocd.argoproj.io/skip-reconcile: {value!r}, so Argo CD no longer compares it "
            "nor updates its status: nothing shows the cluster still runs what the sync applied"
        )
    apps[0]["metadata"]["annotations"]["argocd.argoproj.io/skip-reconcile"] = True
    case.evidence.joinpath("deploys.jsonl").unlink(missing_ok=True)
    refused = case.argocd(apps)
    assert refused.code == 2 and "Traceback" not in refused.err
    assert "argocd.argoproj.io/skip-reconcile is not text" in refused.err
    assert not case.evidence.joinpath("deploys.jsonl").exists()


@pytest.mark.parametrize(
    ("compared", "status"),
    [
        ("2024-06-04T10:00:40Z", "failed"),  # 2 hours before the others: frozen
        ("2024-06-04T11:50:00Z", "failed"),  # just over ten minutes
        ("2024-06-04T11:51:00Z", "succeeded"),  # within a few comparisons
    ],
)
def test_a_status_left_behind_the_listing_vouches_for_nothing(
    case: Case, compared: str, status: str
) -> None:
    """The destination cluster's secret annotated ``argocd.argoproj.io/skip-reconcile:
    "true"`` (argoproj/argo-cd ``docs/user-guide/skip_reconcile.md``: every application of
    that cluster), or the application's namespace no longer watched: Argo CD stops comparing
    eu-west-1's application and leaves ``Synced`` and ``Healthy`` as they were, with no
    annotation on the application. The listing, taken at 12:01, shows the others compared
    then (Argo CD compares each every three minutes), and eu-west-1's last compared at the
    time given. Before, v2 was recorded succeeded there (exit 0) whatever ran since."""
    apps = applications(case.v1, case.v2)
    for app in apps:
        app["status"]["reconciledAt"] = "2024-06-04T12:01:00Z"
    apps[0]["status"]["reconciledAt"] = compared
    result = case.argocd(apps)
    assert result.code == 0, result.err
    v2 = _of(case, case.v2)
    assert targets(v2)["eu-west-1"] == status
    assert targets(v2)["eu-central-1"] == "succeeded"
    if status == "failed":
        assert _target(v2, "eu-west-1")["reason"] == (
            f"Argo CD sync status not kept up to date: Argo CD last compared the application at "
            f"{compared}, more than 10 minutes before it compared application "
            "checkout-us-east-1 of the same listing (2024-06-04T12:01:00Z), though it "
            "compares each every few minutes: its status is frozen (its cluster's secret "
            "annotated skip-reconcile, its namespace no longer watched), so nothing shows the "
            "cluster still runs what the sync applied; list the applications again once Argo "
            "CD compares it (argocd app get --refresh), or give --reconciliation-timeout where "
            "argocd-cm raises timeout.reconciliation"
        )
        assert any(s.endswith(":eu-west-1") for s in findings(case.check(), "FLEET-001"))


@pytest.mark.parametrize(
    ("timeout", "status"),
    [
        (None, "failed"),  # the default 180 seconds: twenty minutes behind is frozen
        ("960", "succeeded"),  # timeout.reconciliation 15m with its 60 s jitter
        ("600", "failed"),  # ten minutes: twenty behind is still frozen
    ],
)
def test_a_raised_reconciliation_timeout_is_given(
    case: Case, timeout: str | None, status: str
) -> None:
    """argocd-cm raises ``timeout.reconciliation`` to 15m, as a large installation does to
    spare its Git server (argoproj/argo-cd ``docs/operator-manual/argocd-cm.yaml``): a healthy
    controller then compares each application every fifteen minutes, plus jitter, and a
    listing shows eu-west-1's compared twenty minutes before us-east-1's (11:41 and 12:01).
    Before, no setting said so and the sync was recorded failed as frozen though Argo CD
    processed it; ``--reconciliation-timeout 960`` gives the timeout and its jitter."""
    apps = applications(case.v1, case.v2)
    for app in apps:
        app["status"]["reconciledAt"] = "2024-06-04T12:01:00Z"
    apps[0]["status"]["reconciledAt"] = "2024-06-04T11:41:00Z"
    result = case.argocd(apps, *(["--reconciliation-timeout", timeout] if timeout else []))
    assert result.code == 0, result.err
    assert targets(_of(case, case.v2))["eu-west-1"] == status


@pytest.mark.parametrize("timeout", ["0", "-5", "inf", "nan", "1.5", "3601"])
def test_a_reconciliation_timeout_that_is_no_span_is_refused(case: Case, timeout: str) -> None:
    """A timeout of no seconds judges nothing, and one of more than an hour would leave a
    status frozen that long unjudged: refused (exit 2), nothing written."""
    apps = applications(case.v1, case.v2)
    result = case.argocd(apps, "--reconciliation-timeout", timeout)
    assert result.code == 2, result.err
    assert "--reconciliation-timeout" in result.err
    assert not case.evidence.joinpath("deploys.jsonl").exists()


def test_a_status_that_does_not_say_when_it_was_compared_is_refused(case: Case) -> None:
    """A selective sync of v1 came after eu-west-1's sync of v2, so the v2 entry is judged by
    the sync status alone; the listing of that application has no ``status.reconciledAt``
    (every application Argo CD has compared has one). Before, it was not judged frozen, nor
    refused, and v2 was recorded succeeded there (exit 0), where with the time listed two
    days behind the others it fails."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    for app in apps:
        app["status"]["reconciledAt"] = "2024-06-05T12:00:00Z"
    selective_sync(apps[0], case.v1, "2024-06-04T11:00:00Z", "2024-06-04T11:00:10Z", OPS,
                   ["checkout"])  # fmt: skip
    del apps[0]["status"]["reconciledAt"]
    result = case.argocd(apps, "--revision", case.v2)
    assert result.code == 2, result.err
    assert (
        "application checkout-eu-west-1: status.reconciledAt is missing, so whether Argo CD "
        "still compares it" in result.err
    )
    assert not case.evidence.joinpath("deploys.jsonl").exists()


def test_a_later_import_keeps_the_drift_it_saw(case: Case) -> None:
    """Seen OutOfSync while it was the latest sync, v2 stays failed once v3 is synced (v2's
    entry is then an older one, whose sync status nothing says); a re-sync of v2 seen Synced
    and Healthy while the latest makes it succeeded."""
    apps = applications(case.v1, case.v2)
    drifted(apps[0])
    assert case.argocd(apps).code == 0
    v3 = case.repo.commit("v3", {"app": "3"}, author=DEV, date="2024-06-05T09:00:00Z",
                          trailers=("Reviewed-by: Lee Lead <lee@example.com>",))  # fmt: skip
    history = [
        Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS),
        Synced(case.v2, "2024-06-04T10:00:00Z", "2024-06-04T10:00:40Z", OPS),
    ]
    again = Synced(case.v2, "2024-06-04T14:00:00Z", "2024-06-04T14:00:40Z", OPS)
    resynced = application("checkout-eu-west-1", "eu-west-1", [*history, again])
    later = Synced(v3, "2024-06-05T10:00:00Z", "2024-06-05T10:00:40Z", OPS)
    moved_on = application("checkout-eu-west-1", "eu-west-1", [*history, later])
    assert case.argocd([moved_on, *apps[1:]]).code == 0
    assert _target(_of(case, case.v2), "eu-west-1")["reason"].startswith("Argo CD sync status")
    assert case.argocd([resynced, *apps[1:]]).code == 0
    assert targets(_of(case, case.v2))["eu-west-1"] == "succeeded"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("sync"), "no status.sync.status"),
        (lambda s: s.update(sync="OutOfSync"), "status.sync is not an object"),
        (lambda s: s["sync"].update(status=None), "no status.sync.status"),
        (lambda s: s["sync"].update(status=7), "status.sync.status is not text"),
    ],
)
def test_a_sync_status_that_cannot_be_read_is_refused(
    case: Case, change: Any, message: str
) -> None:
    apps = applications(case.v1, case.v2)
    change(apps[0]["status"])
    result = case.argocd(apps)
    assert result.code == 2, result.err
    assert "application checkout-eu-west-1" in result.err and message in result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


# --- a Helm release's own test ----------------------------------------------------------------


def _tested_release(case: Case, phase: str) -> Path:
    release = helm_release("checkout", [
        Released(2, f"1.1.0+{case.v2[:12]}", "2024-06-04T10:00:00Z"),
        Released(1, f"1.0.0+{case.v1[:12]}", "2024-06-03T10:00:00Z", "superseded"),
    ])  # fmt: skip
    (hook,) = release["status"]["history"][0]["testHooks"].values()
    hook["phase"] = phase
    return write_list(case.work / "helm.json", [release])


def test_a_helm_release_whose_test_failed_did_not_succeed(case: Case) -> None:
    """Flux left the release ``deployed`` (no upgrade remediation), but its own test failed."""
    path = _tested_release(case, "Failed")
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert targets(v1) == {"eu-west-1": "succeeded"}
    assert targets(v2) == {"eu-west-1": "failed"}
    assert _target(v2, "eu-west-1")["reason"] == (
        "Helm test podinfo-grpc-test-q0ucx Failed: the release was deployed, but its own test "
        "did not pass"
    )
    assert f"{v2['id']}:eu-west-1" in findings(case.check(), "FLEET-001")


def test_a_helm_test_still_running_leaves_the_release_unfinished(case: Case) -> None:
    path = _tested_release(case, "Running")
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    v2 = case.records("deploys.jsonl")[1]
    assert "finished_at" not in v2
    assert _target(v2, "eu-west-1")["reason"].startswith(
        "Helm test podinfo-grpc-test-q0ucx Running"
    )


def test_helm_test_hooks_that_cannot_be_read_are_refused(case: Case) -> None:
    path = _tested_release(case, "Failed")
    document = json.loads(path.read_text())
    document["items"][0]["status"]["history"][0]["testHooks"] = ["podinfo-grpc-test-q0ucx"]
    path.write_text(json.dumps(document))
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2 and "Traceback" not in result.err
    assert "history entry #1 (release 2): testHooks is not a map of test hooks" in result.err
    assert "helm.json" in result.err
