"""``import argocd``, ``import flux`` and ``import kubectl-pods`` on recorded objects, and the
FLEET rules judging what they write: real git repositories, the real engine, no cluster."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.k8s_recordings import (
    FIXTURES,
    Reconciled,
    Released,
    RunningPod,
    Synced,
    application,
    helm_release,
    kustomization,
    pod,
    recorded_pods,
    without_overrides,
    write_list,
)
from tests.importers.k8s_scenario import (
    CLUSTERS,
    DIGEST_V1,
    DIGEST_V2,
    FLAG_EVENTS,
    OBSERVED_AT,
    OPS,
    REGISTRY,
    TAG_PATTERN,
    applications,
    fleet_yaml,
    import_all,
    listing,
)
from tests.test_examples import build

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "evidence" / "examples" / "container-fleet"
REVIEW = ("Reviewed-by: Lee Lead <lee@example.com>",)
DEV = "Dana Dev <dana@example.com>"


class Case:
    """A repository with v1 and v2 of ``checkout``, and an evidence directory for it."""

    def __init__(self, root: Path) -> None:
        self.repo = ScriptedRepo(root / "repo")
        self.v1 = self.repo.commit("v1", {"app": "1"}, author=DEV, date="2024-06-03T09:00:00Z",
                                   trailers=REVIEW)  # fmt: skip
        self.v2 = self.repo.commit("v2", {"app": "2"}, author=DEV, date="2024-06-04T09:00:00Z",
                                   trailers=REVIEW)  # fmt: skip
        self.evidence = root / "evidence"
        self.evidence.mkdir()
        (self.evidence / "fleet.yaml").write_text(fleet_yaml())
        self.work = root / "work"
        self.work.mkdir()

    def argocd(self, apps: list[dict[str, Any]], *extra: str) -> CliResult:
        path = write_list(self.work / "applications.json", apps)
        return self.cli("argocd", path, "--service", "checkout", *extra)

    def pods(self, cluster: str, items: list[dict[str, Any]], *extra: str | Path) -> CliResult:
        path = write_list(self.work / f"pods-{cluster}.json", items)
        return self.cli(
            "kubectl-pods", path, "--cluster", cluster, "--service", "checkout",
            "--observed-at", OBSERVED_AT, *extra,
        )  # fmt: skip

    def cli(self, tool: str, *args: str | Path) -> CliResult:
        return run_cli("import", tool, *args, "--repo", self.repo.path, "--evidence",
                       self.evidence)  # fmt: skip

    def recorded_flux(self) -> CliResult:
        """``import flux`` of the recorded Kustomization (fixtures/kubernetes/), its two
        revisions mapped to v1 and v2."""
        return self.cli(
            "flux", f"eu-west-1={FIXTURES / 'flux-kustomizations.json'}", "--name", "podinfo",
            "--service", "checkout",
            "--revision-commit", f"v1.0.0@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9={self.v1}",
            "--revision-commit", f"v1.0.1@sha1:450796ddb2ab6724ee1cc32a4be56da032d1cca0={self.v2}",
        )  # fmt: skip

    def records(self, name: str) -> list[dict[str, Any]]:
        path = self.evidence / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def check(self) -> dict[str, Any]:
        result = run_cli("check", "--repo", self.repo.path, "--evidence", self.evidence,
                         "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
        assert result.code in (0, 1), result.err
        report: dict[str, Any] = json.loads(result.out)
        return report


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def findings(report: dict[str, Any], rule: str) -> dict[str, str]:
    return {f["subject"]: f["message"] for f in report["findings"] if f["rule"] == rule}


def targets(record: dict[str, Any]) -> dict[str, str]:
    return {t["host"]: t["status"] for t in record["targets"]}


# --- the example case ---------------------------------------------------------------------


def test_the_container_fleet_example_is_what_the_importers_write(tmp_path: Path) -> None:
    repo, shas = build(EXAMPLE, tmp_path / "repo")
    evidence = tmp_path / "evidence"
    shutil.copytree(EXAMPLE / "evidence", evidence)
    for name in ("deploys.jsonl", "observations.jsonl"):
        (evidence / name).unlink()
    (tmp_path / "work").mkdir()
    import_all(repo.path, evidence, tmp_path / "work", shas["v1"], shas["v2"])
    for name in ("deploys.jsonl", "observations.jsonl"):
        if os.environ.get("KNIGHTWATCH_REGEN") == "1":
            shutil.copy(evidence / name, EXAMPLE / "evidence" / name)
        assert (evidence / name).read_text() == (EXAMPLE / "evidence" / name).read_text()


# --- import argocd ------------------------------------------------------------------------


def test_one_rollout_across_the_applications_of_a_service(case: Case) -> None:
    result = case.argocd(applications(case.v1, case.v2))
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert v1["commit"] == case.v1 and v2["commit"] == case.v2
    assert targets(v1) == dict.fromkeys(CLUSTERS, "succeeded")
    # ap-south-1's application never synced v2: absent, not succeeded.
    assert targets(v2) == dict.fromkeys(CLUSTERS[:3], "succeeded")
    assert v2["started_at"] == "2024-06-04T10:00:00Z"
    assert v2["finished_at"] == "2024-06-04T10:02:40Z"
    assert v2["deployer"] == OPS
    assert "1 rollouts" not in result.err and "ap-south-1" not in result.err
    assert "REVIEW-001 reports these rollouts" in result.err
    again = case.argocd(applications(case.v1, case.v2))
    assert again.code == 0 and "0 added, 2 already there" in again.err


def test_the_recorded_application_resyncs_are_one_deployment(case: Case) -> None:
    recorded = without_overrides(
        json.loads((FIXTURES / "argocd-applications.json").read_text())["items"][0]
    )
    revision = recorded["status"]["history"][0]["revision"]
    assert len(recorded["status"]["history"]) == 10
    # The recording's revision is another repository's commit: refused, naming it.
    result = case.argocd([recorded])
    assert result.code == 2
    assert f"revision {revision!r} on cluster gke-alpha-01-europe-west1" in result.err
    assert "is not a commit of" in result.err
    assert not (case.evidence / "deploys.jsonl").exists()
    # Mapped to the commit it was built from, its ten syncs of one revision are one deployment.
    mapped = case.argocd([recorded], "--revision-commit", f"{revision}={case.v2}")
    assert mapped.code == 0, mapped.err
    (record,) = case.records("deploys.jsonl")
    assert targets(record) == {"gke-alpha-01-europe-west1": "succeeded"}
    assert record["started_at"] == "2024-03-04T22:00:05Z"
    assert record["finished_at"] == "2024-03-04T22:00:06Z"  # when it first succeeded


def test_a_failed_sync_is_a_failed_cluster_and_a_running_one_unfinished(case: Case) -> None:
    apps = applications(case.v1, case.v2)
    apps[3] = application(
        "checkout-ap-south-1",
        "ap-south-1",
        [Synced(case.v1, "2024-06-03T10:03:00Z", "2024-06-03T10:03:40Z", OPS)],
        phase="Failed",
        operation_revision=case.v2,
        operation_at="2024-06-04T10:03:00Z",
        message="one or more objects failed to apply",
    )
    assert case.argocd(apps).code == 0
    v2 = case.records("deploys.jsonl")[1]
    assert targets(v2)["ap-south-1"] == "failed"
    reason = next(t["reason"] for t in v2["targets"] if t["host"] == "ap-south-1")
    assert reason == "Argo CD sync Failed: one or more objects failed to apply"
    assert "finished_at" in v2
    report = case.check()
    assert (
        "cluster ap-south-1: failed (Argo CD sync Failed"
        in findings(report, "FLEET-001")[f"checkout-production-{case.v2[:12]}:ap-south-1"]
    )

    apps[3]["status"]["operationState"]["phase"] = "Running"
    del apps[3]["status"]["operationState"]["finishedAt"]
    assert case.argocd(apps).code == 0
    v2 = case.records("deploys.jsonl")[1]
    assert "finished_at" not in v2  # a sync still running: no window for FLEET-002 yet
    assert "still running" in next(t["reason"] for t in v2["targets"] if t["host"] == "ap-south-1")
    assert (case.evidence / "superseded.jsonl").exists()


def test_a_rollback_is_a_rollout_of_its_own(case: Case) -> None:
    apps = []
    for index, cluster in enumerate(CLUSTERS):
        history = [
            Synced(case.v1, f"2024-06-03T10:0{index}:00Z", f"2024-06-03T10:0{index}:30Z", OPS),
            Synced(case.v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:30Z", OPS),
        ]
        if cluster != "us-east-1":  # rolled back everywhere but us-east-1
            history.append(
                Synced(case.v1, f"2024-06-05T10:0{index}:00Z", f"2024-06-05T10:0{index}:30Z", OPS)
            )
        apps.append(application(f"checkout-{cluster}", cluster, history))
    assert case.argocd(apps).code == 0
    ids = [r["id"] for r in case.records("deploys.jsonl")]
    assert ids == [
        f"checkout-production-{case.v1[:12]}",
        f"checkout-production-{case.v2[:12]}",
        f"checkout-production-{case.v1[:12]}-2",
    ]
    rollback = case.records("deploys.jsonl")[2]
    assert "us-east-1" not in targets(rollback)
    assert f"checkout-production-{case.v1[:12]}-2:us-east-1" in findings(case.check(), "FLEET-001")


def test_a_chart_version_is_refused_unless_mapped(case: Case) -> None:
    apps = applications(case.v1, case.v2)
    apps[0]["status"]["history"][0]["revision"] = "0.2.0"
    result = case.argocd(apps)
    assert result.code == 2
    assert "revision '0.2.0' on cluster eu-west-1 is not a git commit" in result.err
    assert "--revision-commit 0.2.0=SHA" in result.err
    assert not (case.evidence / "deploys.jsonl").exists()
    assert case.argocd(apps, "--revision-commit", f"0.2.0={case.v1}").code == 0
    assert case.argocd(apps, "--revision-commit", "0.2.0=main").code == 2  # a ref: refused


def test_choosing_applications_and_clusters(case: Case) -> None:
    apps = applications(case.v1, case.v2)
    none = case.argocd(apps, "--application", "chekout-*")
    assert none.code == 2 and "no application in this file matches" in none.err
    assert "checkout-eu-west-1" in none.err
    other = case.argocd(apps, "--application-set", "payments")
    assert other.code == 2
    # A destination given by server URL joins the fleet.yaml cluster with that server.
    (case.evidence / "fleet.yaml").write_text(
        fleet_yaml().replace("{name: eu-west-1,", "{name: eu-west-1, server: 'https://eu.example',")
    )
    del apps[0]["spec"]["destination"]["name"]
    apps[0]["spec"]["destination"]["server"] = "https://eu.example"
    apps[1]["spec"]["destination"]["name"] = "eu-centrall-1"  # outside the inventory
    assert case.argocd(apps, "--application", "checkout-eu-*").code == 0
    v2 = case.records("deploys.jsonl")[1]
    assert set(targets(v2)) == {"eu-west-1", "eu-centrall-1"}
    report = case.check()
    assert set(findings(report, "FLEET-004")) == {
        f"checkout-production-{case.v1[:12]}:eu-centrall-1",
        f"checkout-production-{case.v2[:12]}:eu-centrall-1",
    }
    assert "targeted cluster eu-centrall-1" in next(iter(findings(report, "FLEET-004").values()))


def test_automated_syncs_need_a_named_deployer(case: Case) -> None:
    apps = applications(case.v1, case.v2)
    for app in apps:
        for entry in app["status"]["history"]:
            entry["initiatedBy"] = {"automated": True}
    assert case.argocd(apps, "--revision", case.v1).code == 0
    assert case.records("deploys.jsonl")[0]["deployer"] == "argocd (automated sync)"
    signed = case.argocd(
        apps, "--revision", case.v2, "--deployer", "release@example.com",
        "--approval", "lee@example.com,2024-06-04T09:30:00Z",
    )  # fmt: skip
    assert signed.code == 0, signed.err
    v2 = case.records("deploys.jsonl")[1]
    assert v2["deployer"] == "release@example.com" and v2["approvals"]
    # A later import of every rollout keeps that sign-off.
    assert case.argocd(apps, "--deployer", "release@example.com").code == 0
    assert case.records("deploys.jsonl")[1]["approvals"] == v2["approvals"]
    unsigned = case.argocd(apps, "--approval", "lee@example.com,2024-06-04T09:30:00Z")
    assert unsigned.code == 2 and "--revision" in unsigned.err


def test_argocd_refuses_what_is_not_an_application(case: Case) -> None:
    pods = case.argocd(recorded_pods()["items"])
    assert pods.code == 2 and "is not an Argo CD Application" in pods.err
    (case.work / "empty.json").write_text("")
    empty = case.cli("argocd", case.work / "empty.json", "--service", "checkout")
    assert empty.code == 2 and "empty" in empty.err
    unknown = case.argocd(applications(case.v1, case.v2), "--service", "chekout")
    assert unknown.code == 2 and "is not in" in unknown.err


# --- import kubectl-pods ------------------------------------------------------------------


def test_a_sync_that_succeeded_while_old_pods_run_is_fleet_002(case: Case) -> None:
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    old, new = (case.v1, DIGEST_V1), (case.v2, DIGEST_V2)
    for cluster in CLUSTERS[:2]:
        assert case.pods(cluster, listing(cluster, [new, new, new]), "--tag-pattern",
                         TAG_PATTERN).code == 0  # fmt: skip
    partial = case.pods("us-east-1", listing("us-east-1", [new, old, old]),
                        "--tag-pattern", TAG_PATTERN)  # fmt: skip
    assert partial.code == 0, partial.err
    assert f"{case.v1[:12]} on 2 pods" in partial.err and f"{case.v2[:12]} on 1 pods" in partial.err
    report = case.check()
    v2 = f"checkout-production-{case.v2[:12]}"
    drift = findings(report, "FLEET-002")
    assert set(drift) == {f"{v2}:us-east-1"}
    observed = f"Cluster us-east-1 was observed running {case.v1[:12]}"
    assert drift[f"{v2}:us-east-1"].startswith(observed)
    # ap-south-1 is listed by no pod listing, while the other clusters are: the v1 sync that
    # says it reached it is not shown to have
    v1 = f"checkout-production-{case.v1[:12]}"
    assert set(findings(report, "FLEET-001")) == {f"{v2}:ap-south-1", f"{v1}:ap-south-1"}


def test_a_flag_switched_on_during_a_canary_is_mixed(case: Case) -> None:
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    assert case.argocd(apps).code == 0
    old, new = (case.v1, DIGEST_V1), (case.v2, DIGEST_V2)
    for cluster in CLUSTERS:
        pods = [new, old, old] if cluster == "eu-west-1" else [new, new, new]  # a canary
        assert case.pods(cluster, listing(cluster, pods), "--tag-pattern", TAG_PATTERN).code == 0
    (case.evidence / "flag_events.yaml").write_text(FLAG_EVENTS)
    report = case.check()
    (message,) = findings(report, "FLEET-003").values()
    assert f"last observed {case.v1[:12]} on eu-west-1;" in message
    assert f"{case.v2[:12]} on ap-south-1, eu-central-1, eu-west-1, us-east-1" in message


def test_fewer_running_pods_than_replicas_is_a_partial_observation(case: Case) -> None:
    assert case.argocd(applications(case.v1, case.v2, v2_on=CLUSTERS)).code == 0
    new = (case.v2, DIGEST_V2)
    for cluster in CLUSTERS:
        pods = listing(cluster, [new, new, new])
        if cluster == "us-east-1":  # a pod still being created runs nothing yet
            pods[1] = pod(RunningPod("checkout-7d4b9c1f5d-ue19", "checkout", "7d4b9c1f5d",
                                     f"{REGISTRY}:{case.v1}", DIGEST_V1, ready=False,
                                     namespace="shop", phase="Pending"))  # fmt: skip
            pods[2]["metadata"]["namespace"] = "staging"  # another namespace: not ours
        result = case.pods(cluster, pods, "--tag-pattern", TAG_PATTERN)
        assert result.code == 0, result.err
        if cluster == "us-east-1":
            assert "1 not running (Pending, Succeeded or Failed), left out" in result.err
            assert "1 running pods of 3 expected" in result.err
    report = case.check()
    assert not findings(report, "FLEET-002")
    notes = json.dumps(report)
    short = f"checkout-production-{case.v2[:12]}:us-east-1@{OBSERVED_AT} (1 of 3 running pods)"
    assert short in notes


def test_an_image_nothing_links_to_a_commit_is_refused(case: Case) -> None:
    items = listing("eu-west-1", [(case.v2, DIGEST_V2)])
    bare = case.pods("eu-west-1", items)  # no tag pattern, no metadata, no annotation
    assert bare.code == 2
    assert "running pod checkout-7d4b9c2f5d-ew10 runs" in bare.err
    assert "nothing links to a commit" in bare.err
    items[0]["spec"]["containers"][0]["image"] = f"{REGISTRY}:latest"
    items[0]["status"]["containerStatuses"][0]["image"] = f"{REGISTRY}:latest"
    latest = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert latest.code == 2 and "nothing links to a commit" in latest.err
    assert not (case.evidence / "observations.jsonl").exists()


def test_a_moved_tag_or_disagreeing_links_are_refused(case: Case) -> None:
    moved = listing("eu-west-1", [(case.v2, DIGEST_V2), (case.v2, DIGEST_V1)])
    result = case.pods("eu-west-1", moved, "--tag-pattern", TAG_PATTERN)
    assert result.code == 2 and "the tag moved" in result.err
    annotated = listing("eu-west-1", [(case.v2, DIGEST_V2)])
    annotated[0]["metadata"]["annotations"] = {"example.com/commit": case.v1}
    disagree = case.pods("eu-west-1", annotated, "--tag-pattern", TAG_PATTERN,
                         "--commit-annotation", "example.com/commit")  # fmt: skip
    assert disagree.code == 2 and "its links disagree" in disagree.err
    alone = case.pods("eu-west-1", annotated, "--commit-annotation", "example.com/commit")
    assert alone.code == 0, alone.err
    assert case.records("observations.jsonl")[0]["version"] == case.v1
    assert case.pods("eu-west-1", annotated, "--tag-pattern", "sha-[0-9a-f]+").code == 2


def test_the_oci_revision_label_links_a_digest(case: Case) -> None:
    items = listing("eu-west-1", [(case.v2, DIGEST_V2)])
    items[0]["status"]["containerStatuses"][0]["image"] = f"{REGISTRY}:latest"
    metadata = case.work / "skopeo.json"
    metadata.write_text(json.dumps({
        "Name": REGISTRY, "Digest": DIGEST_V2,
        "Labels": {"org.opencontainers.image.revision": case.v2},
    }))  # fmt: skip
    result = case.pods("eu-west-1", items, "--image-metadata", metadata)
    assert result.code == 0, result.err
    (seen,) = case.records("observations.jsonl")
    assert seen["version"] == case.v2
    assert seen["image"] == f"{REGISTRY}@{DIGEST_V2}"
    again = case.pods("eu-west-1", items, "--image-metadata", metadata)
    assert again.code == 0 and "0 added, 1 already there" in again.err


def test_the_recorded_listing_and_its_mistakes(case: Case) -> None:
    recorded = recorded_pods()["items"]
    annotated = json.loads(json.dumps(recorded))
    annotated[0]["metadata"]["annotations"] = {"example.com/commit": case.v2}
    args = ("--commit-annotation", "example.com/commit")
    # Without a namespace (or a fleet.yaml) a listing of any namespace would stand for the
    # service's: staging's pods, a developer's copy of the workload.
    fleet = case.evidence / "fleet.yaml"
    fleet.unlink()
    unlisted = case.pods("minikube", annotated, *args)
    assert unlisted.code == 2 and "names no clusters of checkout" in unlisted.err
    fleet.write_text("services:\n  checkout:\n    clusters: [{name: minikube, workload: queue}]\n")
    anywhere = case.pods("minikube", annotated, *args)
    assert anywhere.code == 2 and "cluster 'minikube' of checkout no namespace" in anywhere.err
    assert "namespace: NAMESPACE" in anywhere.err and "Traceback" not in anywhere.err
    assert not (case.evidence / "observations.jsonl").exists()
    (case.evidence / "fleet.yaml").write_text(
        "services:\n  checkout:\n    clusters: [{name: minikube, namespace: default, "
        "workload: queue, replicas: 1}]\n"
    )
    late = case.pods("minikube", annotated, *args)  # listed 2022, before it was --observed-at?
    assert late.code == 0, late.err  # the recording's pod became ready before OBSERVED_AT
    (seen,) = case.records("observations.jsonl")
    assert seen["image"].startswith("gcr.io/kuar-demo/kuard-amd64@sha256:bd17153e")
    early = case.cli(
        "kubectl-pods", write_list(case.work / "p.json", annotated), "--cluster", "minikube",
        "--service", "checkout", "--observed-at", "2022-12-23T09:00:00Z", *args,
    )  # fmt: skip
    assert early.code == 2 and "after --observed-at" in early.err
    wrong = case.pods("eu-west-1", annotated, *args)
    assert wrong.code == 2 and "is not a cluster of checkout" in wrong.err
    empty = case.pods("minikube", [], *args)
    assert empty.code == 2 and "no running pod of workload queue" in empty.err
    zone = case.cli("kubectl-pods", case.work / "p.json", "--cluster", "minikube", "--service",
                    "checkout", "--observed-at", "2024-06-04T11:00:00", *args)  # fmt: skip
    assert zone.code == 2 and "--observed-at" in zone.err and "zone" in zone.err


# --- import flux --------------------------------------------------------------------------


def test_flux_history_per_cluster_is_one_rollout(case: Case) -> None:
    recorded = FIXTURES / "flux-kustomizations.json"
    refused = case.cli("flux", f"eu-west-1={recorded}", "--name", "podinfo", "--service",
                       "checkout")  # fmt: skip
    assert refused.code == 2 and "v1.0.0@sha1:67e2c98a60dc" in refused.err
    assert "is not a commit of" in refused.err
    files = []
    for cluster in CLUSTERS:
        v1 = Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z")
        if cluster == "us-east-1":  # v2's health check failed: its last success is still v1
            v2 = Reconciled(case.v2, "2024-06-04T10:05:00Z", "2024-06-04T11:12:00Z",
                            "HealthCheckFailed")  # fmt: skip
        else:
            v2 = Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-04T11:12:00Z")
        item = kustomization("podinfo", [v2, v1])
        files.append(f"{cluster}={write_list(case.work / f'{cluster}.json', [item])}")
    result = case.cli("flux", *files, "--name", "flux-system/podinfo", "--service", "checkout")
    assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert targets(v1) == dict.fromkeys(CLUSTERS, "succeeded")
    assert targets(v2) == {**dict.fromkeys(CLUSTERS, "succeeded"), "us-east-1": "failed"}
    assert "Flux reconciliation HealthCheckFailed" in json.dumps(v2)
    assert v1["deployer"] == "flux (kustomize-controller)"
    wrong = case.cli("flux", files[0], "--name", "podinf", "--service", "checkout")
    assert wrong.code == 2 and "flux-system/podinfo" in wrong.err


def test_flux_objects_without_history_are_refused(case: Case) -> None:
    item = kustomization("podinfo", [Reconciled(case.v2, OBSERVED_AT, OBSERVED_AT)])
    del item["status"]["history"]
    path = write_list(case.work / "old.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "podinfo", "--service", "checkout")
    assert result.code == 2 and "no status.history" in result.err
    assert not (case.evidence / "deploys.jsonl").exists()


def test_flux_helm_release_chart_versions(case: Case) -> None:
    recorded = FIXTURES / "flux-helmreleases.json"
    # The recording's release runs in namespace podinfo: fleet.yaml runs the service there.
    fleet = case.evidence / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("namespace: shop", "namespace: podinfo"))
    # The recording's charts come from an OCI repository: their build metadata is the OCI
    # digest, not a commit, so they must be mapped.
    refused = case.cli("flux", f"eu-west-1={recorded}", "--name", "podinfo", "--service",
                       "checkout")  # fmt: skip
    assert refused.code == 2 and "revision '6.6.0+cdd538a0167e'" in refused.err
    assert "is not a git commit" in refused.err
    release = helm_release("checkout", [
        Released(2, f"1.1.0+{case.v2[:12]}", "2024-06-04T10:00:00Z"),
        Released(1, "1.0.0", "2024-06-03T10:00:00Z", "superseded"),
    ], namespace="podinfo")  # fmt: skip
    path = write_list(case.work / "helm.json", [release])
    args = ("--name", "checkout", "--service", "checkout")
    unmapped = case.cli("flux", f"eu-west-1={path}", *args)
    assert unmapped.code == 2 and "revision '1.0.0'" in unmapped.err
    mapped = case.cli("flux", f"eu-west-1={path}", *args, "--revision-commit", f"1.0.0={case.v1}")
    assert mapped.code == 0, mapped.err
    v1, v2 = case.records("deploys.jsonl")
    assert [v1["commit"], v2["commit"]] == [case.v1, case.v2]
    # Each release from when it was deployed (lastDeployed), not when the first one was (Helm
    # copies firstDeployed to every later release), to the end of Helm's wait at the latest
    # (helm-controller's default timeout, five minutes).
    assert [v1["started_at"], v1["finished_at"]] == ["2024-06-03T10:00:00Z", "2024-06-03T10:05:00Z"]
    assert [v2["started_at"], v2["finished_at"]] == ["2024-06-04T10:00:00Z", "2024-06-04T10:05:00Z"]


# --- fleet.yaml ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ("checkout: {clusters: []}", "a service lists at least one host or cluster"),
        ("checkout: {hosts: [a], clusters: [a]}", "'a' is listed as a host and as a cluster"),
        ("checkout: {clusters: [a, {name: a}]}", "'a' is listed twice in clusters"),
        ("checkout: {hosts: [a, {name: a, tags: [canary]}]}", "'a' is listed twice in hosts"),
        ("checkout: {clusters: [{name: a, replica: 3}]}", "replica"),
        ("checkout: {clusters: [{name: a, replicas: 0}]}", "replicas"),
    ],
)
def test_bad_cluster_inventories_are_input_errors(case: Case, services: str, message: str) -> None:
    (case.evidence / "fleet.yaml").write_text(f"services:\n  {services}\n")
    (case.evidence / "deploys.yaml").write_text("[]\n")
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence)
    assert result.code == 2
    assert "fleet.yaml" in result.err and message in result.err
