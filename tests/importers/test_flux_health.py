"""A Flux success that assessed no health is no success: a Kustomization without ``spec.wait``
or ``spec.healthChecks`` (Flux's default) reports ``ReconciliationSucceeded`` once its
manifests are applied, and a Helm action with ``disableWait`` records the release deployed
without waiting for it. Real git repositories, the real engine, the recorded objects of
tests/importers/fixtures/kubernetes/ changed only where the scenario needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.importers.k8s_recordings import (
    Reconciled,
    Released,
    helm_release,
    kustomization,
    write_list,
)
from tests.importers.test_kubernetes import Case, findings, targets

UNASSESSED = (
    "Flux assessed no health: Kustomization checkout has neither spec.wait: true nor "
    "spec.healthChecks, so Flux reported ReconciliationSucceeded once the manifests were "
    "applied, without waiting for the workloads to become ready"
)
HEALTH_CHECK = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout",
                "namespace": "shop"}  # fmt: skip
"""A health check as Flux's documentation writes one (``.spec.healthChecks``)."""
SAMPLE_CHECK = {"kind": "Deployment", "name": "checkout", "namespace": "shop"}
"""As kustomize-controller's ``config/samples`` write one: no ``apiVersion`` (``apps/v1``)."""
JOB_CHECK = {"apiVersion": "batch/v1", "kind": "Job", "name": "checkout-migrate",
             "namespace": "shop"}  # fmt: skip
CONFIG_MAP_CHECK = {"apiVersion": "v1", "kind": "ConfigMap", "name": "checkout",
                    "namespace": "shop"}  # fmt: skip
"""As kustomize-controller's own tests write one (``kustomization_disallowed_managers_test.go``):
kstatus takes a ConfigMap as always ready."""
SECRET_CHECK = {**CONFIG_MAP_CHECK, "kind": "Secret"}  # kustomization_fetcher_test.go
ACCOUNT_CHECK = {**CONFIG_MAP_CHECK, "kind": "ServiceAccount"}  # kustomization_varsub_test.go
NAMESPACE_CHECK = {"apiVersion": "v1", "kind": "Namespace", "name": "shop"}
CRON_JOB_CHECK = {**JOB_CHECK, "kind": "CronJob", "name": "checkout-report"}
ITSELF_CHECK = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "name": "checkout", "namespace": "flux-system"}  # fmt: skip
"""The Kustomization itself, which kustomize-controller leaves out ("Guard against deadlock")."""
RELEASE_CHECK = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                 "name": "frontend", "namespace": "dev"}  # fmt: skip
"""As Flux's documentation writes one ("Health checks"): ready as helm-controller says."""
UNCHECKED = (
    "Flux assessed no health: Kustomization checkout has no spec.wait: true, and its "
    "spec.healthChecks name no workload whose rollout Flux checks (Deployment, StatefulSet, "
    "DaemonSet, ReplicaSet, Pod, Job), only {}, so Flux reported ReconciliationSucceeded "
    "without waiting for the workloads to become ready"
)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _target(record: dict[str, Any], cluster: str) -> dict[str, Any]:
    return next(t for t in record["targets"] if t["host"] == cluster)


def _checkout(case: Case, spec: dict[str, Any] | None = None) -> list[str]:
    """``CLUSTER=FILE`` arguments: v1, then v2, applied on two clusters by the Kustomization
    ``checkout`` whose spec is the recording's with ``spec`` (no health assessment)."""
    files = []
    for cluster in ("eu-west-1", "us-east-1"):
        item = kustomization("checkout", [
            Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-04T11:12:00Z"),
            Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z"),
        ], wait=False)  # fmt: skip
        item["spec"].update(spec or {})
        files.append(f"{cluster}={write_list(case.work / f'flux-{cluster}.json', [item])}")
    return files


def _flux(case: Case, *files: str) -> Any:
    return case.cli("flux", *files, "--name", "checkout", "--service", "checkout")


@pytest.mark.parametrize(
    ("spec", "assessed"),
    [
        ({}, False),  # Flux's default
        ({"wait": False}, False),
        ({"healthChecks": []}, False),
        ({"wait": True}, True),
        ({"healthChecks": [HEALTH_CHECK, JOB_CHECK]}, True),
        ({"healthChecks": [JOB_CHECK, SAMPLE_CHECK]}, True),
        ({"healthChecks": [CONFIG_MAP_CHECK, HEALTH_CHECK, JOB_CHECK]}, True),
        ({"healthChecks": [HEALTH_CHECK]}, False),  # the migration Job is not waited for
        ({"healthChecks": [JOB_CHECK]}, False),  # nor the Deployment's pods
        ({"wait": True, "healthChecks": [CONFIG_MAP_CHECK]}, True),  # wait replaces them
        ({"healthChecks": [ITSELF_CHECK]}, False),
        ({"healthChecks": [CONFIG_MAP_CHECK]}, False),
        ({"healthChecks": [NAMESPACE_CHECK]}, False),
        ({"healthChecks": [SECRET_CHECK, ACCOUNT_CHECK, CRON_JOB_CHECK]}, False),
        ({"healthChecks": [RELEASE_CHECK]}, False),
        ({"healthChecks": [{**HEALTH_CHECK, "apiVersion": "v1"}]}, False),  # no such kind
    ],
)
def test_a_kustomization_succeeds_only_where_flux_assessed_health(
    case: Case, spec: dict[str, Any], assessed: bool
) -> None:
    result = _flux(case, *_checkout(case, spec))
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    status = "succeeded" if assessed else "failed"
    assert targets(v1) == targets(v2) == {"eu-west-1": status, "us-east-1": status}
    report = findings(case.check(), "FLEET-001")
    # (The fleet's two other clusters are absent from every rollout: FLEET-001 either way.)
    assert (f"{v2['id']}:us-east-1" not in report) is assessed
    if not assessed:
        assert _target(v2, "eu-west-1")["reason"].startswith("Flux assessed no health: ")
        # Applied is not running: the time applied is kept, the record cannot claim success.
        assert _target(v2, "eu-west-1")["finished_at"] == "2024-06-04T10:11:00Z"


@pytest.mark.parametrize(
    ("checks", "named"),
    [
        ([], None),  # an empty list is none (kustomize-controller: len(...) == 0)
        ([ITSELF_CHECK], "Kustomization flux-system/checkout (itself: Flux skips it)"),
        ([CONFIG_MAP_CHECK], "ConfigMap shop/checkout"),
        ([NAMESPACE_CHECK], "Namespace shop"),
        (
            [RELEASE_CHECK, ITSELF_CHECK, SECRET_CHECK, NAMESPACE_CHECK],
            "HelmRelease dev/frontend, Kustomization flux-system/checkout (itself: Flux skips "
            "it), Secret shop/checkout and 1 more",
        ),
    ],
)
def test_health_checks_that_name_no_workload_are_no_assessment(
    case: Case, checks: list[dict[str, Any]], named: str | None
) -> None:
    """Flux reports ReconciliationSucceeded once each entry is ready, and none of these is a
    workload's rollout: the success says nothing of the pods."""
    result = _flux(case, *_checkout(case, {"healthChecks": checks}))
    assert result.code == 0, result.err
    for record in case.records("deploys.jsonl"):
        assert targets(record) == {"eu-west-1": "failed", "us-east-1": "failed"}
        reason = _target(record, "us-east-1")["reason"]
        assert reason == (UNASSESSED if named is None else UNCHECKED.format(named))
    report = findings(case.check(), "FLEET-001")
    v2 = case.records("deploys.jsonl")[1]
    assert f"{v2['id']}:us-east-1" in report


NOT_APPLIED = "but none of those workloads is among the objects it applied (status.inventory)"
NO_INVENTORY = (
    "but it lists no status.inventory, so whether they name a workload it applied cannot be told"
)


@pytest.mark.parametrize(
    ("checks", "named", "why"),
    [
        (  # always healthy, and no part of the service
            [{**HEALTH_CHECK, "name": "coredns", "namespace": "kube-system"}],
            "Deployment kube-system/coredns",
            NOT_APPLIED,
        ),
        ([{**HEALTH_CHECK, "name": "cart"}], "Deployment shop/cart", NOT_APPLIED),
        # Flux reads no namespace as none (a cluster-scoped object): not shop's checkout.
        ([{"kind": "Deployment", "name": "checkout"}], "Deployment checkout", NOT_APPLIED),
        ([HEALTH_CHECK], "Deployment shop/checkout", NO_INVENTORY),
    ],
)
def test_health_checks_of_a_workload_it_did_not_apply_are_no_assessment(
    case: Case, checks: list[dict[str, Any]], named: str, why: str
) -> None:
    """The false pass: a health check of another service's Deployment, ready all along, made
    Flux report ReconciliationSucceeded for checkout's revisions whatever checkout's pods did,
    and the rollouts were recorded succeeded. A workload counts only where the Kustomization
    applied it (its status.inventory, which kustomize-controller sets on every apply)."""
    files = _checkout(case, {"healthChecks": checks})
    if why == NO_INVENTORY:
        for argument in files:
            path = Path(argument.split("=", 1)[1])
            listing = json.loads(path.read_text())
            del listing["items"][0]["status"]["inventory"]
            path.write_text(json.dumps(listing))
    result = _flux(case, *files)
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert targets(v1) == targets(v2) == {"eu-west-1": "failed", "us-east-1": "failed"}
    reason = UNCHECKED.format(f"{named}, {why}")
    assert _target(v2, "eu-west-1")["reason"] == reason
    assert f"{v2['id']}:us-east-1" in findings(case.check(), "FLEET-001")


LEFT_OUT = (
    "Flux assessed no health: Kustomization checkout has no spec.wait: true, and its "
    "spec.healthChecks leave out workloads it applied (status.inventory): {}, so Flux reported "
    "ReconciliationSucceeded without waiting for those to become ready"
)


@pytest.mark.parametrize(
    ("checks", "left_out"),
    [
        ([JOB_CHECK], "Deployment shop/checkout"),
        ([HEALTH_CHECK, CONFIG_MAP_CHECK], "Job shop/checkout-migrate"),
        # Checked with the group it was not applied with: not the object in the inventory.
        ([{**HEALTH_CHECK, "apiVersion": "extensions/v1beta1"}, JOB_CHECK],
         "Deployment shop/checkout"),
    ],
)  # fmt: skip
def test_health_checks_of_some_workloads_it_applied_say_nothing_of_the_others(
    case: Case, checks: list[dict[str, Any]], left_out: str
) -> None:
    """The false pass: Flux waits for the entries of spec.healthChecks and no more. Checking
    the migration Job alone, it reported ReconciliationSucceeded once the Job completed,
    whatever the checkout Deployment's pods did, and the rollouts were recorded succeeded
    because the Job is one of the objects the Kustomization applied. Every workload in its
    status.inventory must be checked (or spec.wait: true, which checks all)."""
    result = _flux(case, *_checkout(case, {"healthChecks": checks}))
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert targets(v1) == targets(v2) == {"eu-west-1": "failed", "us-east-1": "failed"}
    assert _target(v2, "eu-west-1")["reason"] == LEFT_OUT.format(left_out)
    assert f"{v2['id']}:us-east-1" in findings(case.check(), "FLEET-001")


def test_the_recorded_kustomization_assessed_no_health(case: Case) -> None:
    """The recording's spec has neither wait nor healthChecks: its ReconciliationSucceeded
    snapshot (v1.0.1) only says the manifests were applied."""
    result = case.recorded_flux()
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert _target(v1, "eu-west-1")["reason"] == "Flux reconciliation HealthCheckFailed"
    assert _target(v2, "eu-west-1")["status"] == "failed"
    assert _target(v2, "eu-west-1")["reason"].startswith(
        "Flux assessed no health: Kustomization podinfo has neither spec.wait"
    )


def test_a_success_recorded_without_health_is_not_kept_and_stays_failed(case: Case) -> None:
    """A success recorded before (by hand, or before knightwatch knew) is brought up to date;
    turning spec.wait on later does not make the snapshots Flux applied without it succeed:
    the history does not say which were reconciled before the change."""
    assert _flux(case, *_checkout(case, {"wait": True})).code == 0
    unassessed = _flux(case, *_checkout(case))
    assert unassessed.code == 0, unassessed.err
    v2 = case.records("deploys.jsonl")[1]
    assert targets(v2) == {"eu-west-1": "failed", "us-east-1": "failed"}
    superseded = {s["id"]: s for s in case.records("superseded.jsonl")}
    assert "targets" in superseded[v2["id"]]["changed"]
    waited = _flux(case, *_checkout(case, {"wait": True}))
    assert waited.code == 0, waited.err
    assert targets(case.records("deploys.jsonl")[1])["eu-west-1"] == "failed"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"wait": "true"}, "Kustomization checkout: spec.wait is not a boolean"),
        ({"healthChecks": HEALTH_CHECK}, "Kustomization checkout: spec.healthChecks is not a list"),
        # A user's typo: Flux's CRD requires kind and name, so Flux never printed these.
        (
            {"healthChecks": [HEALTH_CHECK, {"apiVersion": "apps/v1", "name": "checkout"}]},
            "Kustomization checkout: spec.healthChecks entry #2: no kind",
        ),
        (
            {"healthChecks": [{**HEALTH_CHECK, "name": ""}]},
            "Kustomization checkout: spec.healthChecks entry #1: no name",
        ),
        (
            {"healthChecks": [{"kind": "Deployment", "nmae": "checkout"}]},
            "Kustomization checkout: spec.healthChecks entry #1: no name",
        ),
        (
            {"healthChecks": ["Deployment/checkout"]},
            "Kustomization checkout: spec.healthChecks entry #1: not an object",
        ),
        (
            {"healthChecks": [{**HEALTH_CHECK, "apiVersion": 1}]},
            "Kustomization checkout: spec.healthChecks entry #1: apiVersion or namespace is not",
        ),
        (  # refused even where spec.wait replaces them: it is not what Flux prints
            {"wait": True, "healthChecks": [{"kind": "Deployment"}]},
            "Kustomization checkout: spec.healthChecks entry #1: no name",
        ),
        (
            {"healthChecks": [HEALTH_CHECK], "inventory": [{"id": 1}]},
            "Kustomization checkout: status.inventory is not Flux's inventory",
        ),
    ],
)
def test_a_health_assessment_that_cannot_be_read_is_refused(
    case: Case, spec: dict[str, Any], message: str
) -> None:
    inventory = spec.pop("inventory", None)
    files = _checkout(case, spec)
    if inventory is not None:
        path = Path(files[0].split("=", 1)[1])
        listing = json.loads(path.read_text())
        listing["items"][0]["status"]["inventory"] = {"entries": inventory}
        path.write_text(json.dumps(listing))
    result = _flux(case, *files)
    assert result.code == 2, result.err
    assert message in result.err and "flux-eu-west-1.json" in result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


# --- a HelmRelease whose Helm action did not wait ---------------------------------------------


def _release(
    case: Case, *disabled: str, action: str | None = None, jobs: tuple[str, ...] = ()
) -> str:
    """``CLUSTER=FILE``: releases 1 (v1, the install) and 2 (v2, an upgrade); ``disabled``
    the actions with ``disableWait``, ``jobs`` those with ``disableWaitForJobs``."""
    release = helm_release("checkout", [
        Released(2, f"1.1.0+{case.v2[:12]}", "2024-06-04T10:00:00Z", action=action),
        Released(1, f"1.0.0+{case.v1[:12]}", "2024-06-03T10:00:00Z", "superseded",
                 action=action),
    ], disable_wait=disabled, disable_wait_for_jobs=jobs)  # fmt: skip
    return f"eu-west-1={write_list(case.work / 'helm.json', [release])}"


@pytest.mark.parametrize(
    ("disabled", "action", "unwaited"),
    [
        ((), None, set()),
        (("upgrade",), None, {"v2"}),  # release 2 was an upgrade
        (("install",), None, {"v1"}),  # release 1 the install
        (("rollback",), None, set()),  # neither was a rollback
        (("rollback",), "", {"v1", "v2"}),  # snapshots that do not name their action
    ],
)
def test_a_helm_release_deployed_without_waiting_did_not_succeed(
    case: Case, disabled: tuple[str, ...], action: str | None, unwaited: set[str]
) -> None:
    result = _flux(case, _release(case, *disabled, action=action))
    assert result.code == 0, result.err
    records = dict(zip(("v1", "v2"), case.records("deploys.jsonl"), strict=True))
    for name, record in records.items():
        target = _target(record, "eu-west-1")
        if name in unwaited:
            assert target["status"] == "failed"
            assert target["reason"] == (
                f"Flux assessed no health: HelmRelease checkout has spec.{disabled[0]}."
                "disableWait: true, so Helm recorded the release deployed without waiting for "
                "its resources to become ready"
            )
        else:
            assert target["status"] == "succeeded"


def test_a_disable_wait_that_cannot_be_read_is_refused(case: Case) -> None:
    path = Path(_release(case, "upgrade").split("=", 1)[1])
    document = json.loads(path.read_text())
    document["items"][0]["spec"]["upgrade"]["disableWait"] = "yes"
    path.write_text(json.dumps(document))
    result = _flux(case, f"eu-west-1={path}")
    assert result.code == 2, result.err
    assert "HelmRelease checkout: spec.upgrade.disableWait is not a boolean" in result.err
    assert "helm.json" in result.err and "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


@pytest.mark.parametrize(
    ("jobs", "action", "unwaited"),
    [
        (("upgrade",), None, {"v2"}),
        (("install",), None, {"v1"}),
        (("rollback",), None, set()),
        (("install", "upgrade"), "", {"v1", "v2"}),  # snapshots that do not name their action
    ],
)
def test_a_helm_release_deployed_without_waiting_for_its_jobs_did_not_succeed(
    case: Case, jobs: tuple[str, ...], action: str | None, unwaited: set[str]
) -> None:
    """Helm marks the release deployed once its other resources are ready: a Job (a
    migration) that fails afterwards leaves it deployed."""
    result = _flux(case, _release(case, action=action, jobs=jobs))
    assert result.code == 0, result.err
    records = dict(zip(("v1", "v2"), case.records("deploys.jsonl"), strict=True))
    fields = " or ".join(f"spec.{a}.disableWaitForJobs" for a in sorted(jobs))
    for name, record in records.items():
        target = _target(record, "eu-west-1")
        if name in unwaited:
            assert target["status"] == "failed"
            assert target["reason"] == (
                f"Flux assessed no health: HelmRelease checkout has {fields}: true, so Helm "
                "recorded the release deployed without waiting for its Jobs to complete"
            )
        else:
            assert target["status"] == "succeeded"
    assert (f"{records['v2']['id']}:eu-west-1" in findings(case.check(), "FLEET-001")) is (
        "v2" in unwaited
    )


def test_disable_wait_says_more_than_disable_wait_for_jobs(case: Case) -> None:
    """Both on one action: Helm waited for nothing, which the reason says."""
    result = _flux(case, _release(case, "upgrade", jobs=("upgrade", "install")))
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert _target(v2, "eu-west-1")["reason"] == (
        "Flux assessed no health: HelmRelease checkout has spec.upgrade.disableWait: true, so "
        "Helm recorded the release deployed without waiting for its resources to become ready"
    )
    assert _target(v1, "eu-west-1")["reason"].endswith("without waiting for its Jobs to complete")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("disableWaitForJobs", "yes", "spec.upgrade.disableWaitForJobs is not a boolean"),
        (None, "upgrade", "spec.upgrade is not an object"),
    ],
)
def test_a_disable_wait_for_jobs_that_cannot_be_read_is_refused(
    case: Case, field: str | None, value: str, message: str
) -> None:
    path = Path(_release(case, jobs=("upgrade",)).split("=", 1)[1])
    document = json.loads(path.read_text())
    if field is None:
        document["items"][0]["spec"]["upgrade"] = value
    else:
        document["items"][0]["spec"]["upgrade"][field] = value
    path.write_text(json.dumps(document))
    result = _flux(case, f"eu-west-1={path}")
    assert result.code == 2, result.err
    assert f"HelmRelease checkout: {message}" in result.err
    assert "helm.json" in result.err and "Traceback" not in result.err
    assert not (case.evidence / "deploys.jsonl").exists()
