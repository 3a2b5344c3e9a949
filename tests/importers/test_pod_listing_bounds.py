"""What a pod listing itself says of when it was taken and of what it holds, against the
command line's word: a listing backdated before a rollout it should show incomplete, shown up
by any pod in it (a CronJob's finished run, another namespace's); and a listing narrowed by a
selector, shown up by its workloads' own count of their pods. Pods derived from the recorded
listing, a Job's pod and a Deployment as the API serves them (fixtures/kubernetes/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.importers.k8s_recordings import (
    deployment,
    job_pod,
    pending,
    replica_set,
    write_list,
)
from tests.importers.k8s_scenario import (
    CLUSTERS,
    DIGEST_V1,
    DIGEST_V2,
    FLAG_EVENTS,
    TAG_PATTERN,
    applications,
    listing,
)
from tests.importers.test_kubernetes import Case, findings

BACKDATED = "2024-06-04T10:01:00Z"
"""Before v2's sync on us-east-1 (10:02:40): an observation of v1 then is no finding."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _backdated(case: Case, items: list[dict[str, Any]], at: str = BACKDATED) -> Any:
    path = write_list(case.work / "pods-us-east-1.json", items)
    return case.cli(
        "kubectl-pods", path, "--cluster", "us-east-1", "--service", "checkout",
        "--observed-at", at, "--tag-pattern", TAG_PATTERN,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("where", "phase"),
    [("shop", "Succeeded"), ("shop", "Failed"), ("batch", "Running")],
)
def test_any_pod_of_the_listing_dates_it(case: Case, where: str, phase: str) -> None:
    """v2 was synced to us-east-1 at 10:02:40 and none of its pods moved. Listed at 11:00 and
    given as 10:01, the listing of old pods stood in v1's window and FLEET-002 passed. A
    CronJob's run created at 10:55 (finished, failed or still running, in the namespace or
    another) says the listing was taken after it."""
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    old = (case.v1, DIGEST_V1)
    items = listing("us-east-1", [old, old, old])
    items.append(job_pod("report-28624655", where, phase, "2024-06-04T10:55:00Z"))
    backdated = _backdated(case, items)
    assert backdated.code == 2, backdated.err
    assert "pod report-28624655-x7k2p" in backdated.err
    assert "2024-06-04T10:55:00Z, after --observed-at 2024-06-04T10:01:00Z" in backdated.err
    assert "Traceback" not in backdated.err
    assert not (case.evidence / "observations.jsonl").exists()
    # Given its time, the same listing shows the sync that never moved the pods.
    honest = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert honest.code == 0, honest.err
    drift = findings(case.check(), "FLEET-002")
    assert f"checkout-production-{case.v2[:12]}:us-east-1" in drift


def test_a_new_pod_s_creation_dates_the_listing(case: Case) -> None:
    """A pod created after the time given, whatever its conditions say (a listing whose
    conditions were cut, or a pod whose conditions were set before it was recreated)."""
    new = (case.v2, DIGEST_V2)
    items = listing("us-east-1", [new, new, new])
    for item in items:
        item["metadata"]["creationTimestamp"] = "2024-06-04T10:40:00Z"
        del item["status"]["conditions"]
    result = _backdated(case, items)
    assert result.code == 2, result.err
    assert "metadata.creationTimestamp 2024-06-04T10:40:00Z, after --observed-at" in result.err
    assert not (case.evidence / "observations.jsonl").exists()


def test_an_unreadable_time_in_any_pod_is_refused(case: Case) -> None:
    new = (case.v2, DIGEST_V2)
    items = listing("us-east-1", [new, new, new])
    items.append(job_pod("report-28624655", "batch", "Succeeded", "2024-06-04T10:55:00Z"))
    items[-1]["metadata"]["creationTimestamp"] = "yesterday"
    result = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert result.code == 2 and "report-28624655-x7k2p" in result.err
    assert "Traceback" not in result.err


# --- a listing narrowed by a selector -------------------------------------------------------


def _without_replicas(case: Case) -> None:
    fleet = (case.evidence / "fleet.yaml").read_text().replace(", replicas: 3", "")
    (case.evidence / "fleet.yaml").write_text(fleet)


def _us_east(case: Case) -> list[dict[str, Any]]:
    """us-east-1 after v2's sync: two pods run v2 and one still v1."""
    new, old = (case.v2, DIGEST_V2), (case.v1, DIGEST_V1)
    return listing("us-east-1", [new, new, old])


def test_a_listing_no_workload_counts_is_refused_without_replicas(case: Case) -> None:
    """``kubectl get pods -l pod-template-hash=7d4b9c2f5d`` lists the two new pods alone: the
    same List as a whole listing. Without replicas in fleet.yaml nothing said a pod was left
    out, and FLEET-002 passed the sync that left one on v1."""
    _without_replicas(case)
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    narrowed = _backdated(case, _us_east(case)[:2], at="2024-06-04T11:00:00Z")
    assert narrowed.code == 2, narrowed.err
    assert "holds no Deployment, StatefulSet, DaemonSet, Rollout or ReplicaSet named checkout" in (
        narrowed.err.replace("\n", " ")
    )
    assert "fleet.yaml gives the cluster no replicas" in narrowed.err
    assert "Traceback" not in narrowed.err
    assert not (case.evidence / "observations.jsonl").exists()


@pytest.mark.parametrize("replicas", [True, False])
def test_the_workload_s_own_count_shows_a_narrowed_listing(case: Case, replicas: bool) -> None:
    """``kubectl get pods,deployments -l ...`` with the Deployment: its status counts three
    pods, the listing holds two. fleet.yaml's replicas, the inventory's word (here 3, or none),
    do not excuse it."""
    if not replicas:
        _without_replicas(case)
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    counted = deployment("checkout", "shop", 3)
    narrowed = _backdated(case, [*_us_east(case)[:2], counted], at="2024-06-04T11:00:00Z")
    assert narrowed.code == 2, narrowed.err
    assert "Deployment checkout counts 3 non-terminated pods (its status)" in narrowed.err
    assert "this listing holds 2" in narrowed.err and "selector" in narrowed.err
    assert not (case.evidence / "observations.jsonl").exists()
    # The whole listing, with its workloads, is observed: the old pod is FLEET-002.
    whole = _backdated(case, [*_us_east(case), counted], at="2024-06-04T11:00:00Z")
    assert whole.code == 0, whole.err
    drift = findings(case.check(), "FLEET-002")
    assert f"checkout-production-{case.v2[:12]}:us-east-1" in drift


def test_a_replica_set_s_count_shows_a_narrowed_listing(case: Case) -> None:
    """Listed with its ReplicaSets and not the Deployment (its labels do not match the
    selector), the old ReplicaSet still counts the pod left out."""
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    owner = deployment("checkout", "shop", 3)
    sets = [replica_set(owner, "7d4b9c2f5d", 2), replica_set(owner, "7d4b9c1f5d", 1)]
    narrowed = _backdated(case, [*_us_east(case)[:2], *sets], at="2024-06-04T11:00:00Z")
    assert narrowed.code == 2, narrowed.err
    assert "ReplicaSet checkout-7d4b9c1f5d counts 1 non-terminated pods" in narrowed.err
    whole = _backdated(case, [*_us_east(case), *sets], at="2024-06-04T11:00:00Z")
    assert whole.code == 0, whole.err


def test_a_workload_listed_after_the_time_given_dates_the_listing(case: Case) -> None:
    """The Deployment's conditions say when its rollout last progressed."""
    counted = deployment("checkout", "shop", 3)
    counted["status"]["conditions"][0]["lastUpdateTime"] = "2024-06-04T10:30:00Z"
    result = _backdated(case, [*_us_east(case), counted])
    assert result.code == 2, result.err
    assert "deployment checkout: condition Progressing lastUpdateTime 2024-06-04T10:30:00Z" in (
        result.err
    )
    assert "after --observed-at" in result.err


def _controlled_by(item: dict[str, Any], kind: str, node: str) -> dict[str, Any]:
    """A scenario pod owned by StatefulSet or DaemonSet ``checkout`` (as their controllers
    label their pods), on ``node``."""
    meta = item["metadata"]
    meta["ownerReferences"][0].update(kind=kind, name="checkout")
    labels = meta["labels"]
    labels.pop("pod-template-hash")
    labels["controller-revision-hash"] = "checkout-6c9f8b7d5"
    item["spec"]["nodeName"] = node
    return item


@pytest.mark.parametrize(
    ("kind", "status", "said"),
    [
        ("StatefulSet", {"replicas": 3, "readyReplicas": 3}, "counts 3 pods"),
        (
            "DaemonSet",
            {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0},
            "counts 3 nodes running its pods",
        ),
    ],
)
def test_a_stateful_set_or_daemon_set_counts_its_pods(
    case: Case, kind: str, status: dict[str, int], said: str
) -> None:
    _without_replicas(case)
    pods = [
        _controlled_by(item, kind, f"node-{n}") for n, item in enumerate(_us_east(case), start=1)
    ]
    workload = deployment("checkout", "shop", 3)
    workload["kind"] = kind
    workload["status"] = {"observedGeneration": 1, **status}
    narrowed = _backdated(case, [*pods[:2], workload], at="2024-06-04T11:00:00Z")
    assert narrowed.code == 2, narrowed.err
    assert f"{kind} checkout {said} (its status), and this listing holds 2" in narrowed.err
    if kind == "DaemonSet":  # a pod not yet scheduled is on no node: not the one left out
        unscheduled = _controlled_by(pending(_us_east(case)[2]), kind, "")
        unscheduled["metadata"]["name"] += "-unscheduled"
        unscheduled["metadata"]["uid"] += "-unscheduled"
        del unscheduled["spec"]["nodeName"]
        padded = _backdated(case, [*pods[:2], unscheduled, workload], at="2024-06-04T11:00:00Z")
        assert padded.code == 2 and "this listing holds 2" in padded.err, padded.err
    whole = _backdated(case, [*pods, workload], at="2024-06-04T11:00:00Z")
    assert whole.code == 0, whole.err


# --- pods of the service that ended ---------------------------------------------------------


def _evicted(item: dict[str, Any], at: str) -> dict[str, Any]:
    """``item`` evicted at ``at`` by the kubelet under node pressure: phase ``Failed``, reason
    ``Evicted``, its container terminated then, not ready since."""
    status = item["status"]
    status.update(phase="Failed", reason="Evicted",
                  message="The node was low on resource: memory. ")  # fmt: skip
    container = status["containerStatuses"][0]
    started = container["state"]["running"]["startedAt"]
    container.update(ready=False, started=False)
    container["state"] = {"terminated": {"exitCode": 137, "reason": "Error",
                                         "startedAt": started, "finishedAt": at}}  # fmt: skip
    for condition in status["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition.update(status="False", lastTransitionTime=at)
    return item


def test_an_evicted_old_pod_ran_until_it_stopped(case: Case) -> None:
    """v2 was synced to us-east-1 at 10:02:40; one pod kept running v1 until it was evicted
    at 10:30. Listed at 11:00, three pods run v2 and the evicted one is Failed: left out, it
    was no evidence, and FLEET-002 passed. It is a sighting of v1 at 10:30."""
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    new, old = (case.v2, DIGEST_V2), (case.v1, DIGEST_V1)
    items = listing("us-east-1", [new, new, new, old])
    _evicted(items[3], "2024-06-04T10:30:00Z")
    result = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert result.code == 0, result.err
    assert "1 of them ended: observed when they stopped" in result.err
    sighting = [r for r in case.records("observations.jsonl") if "pods" not in r]
    assert [(r["version"], r["observed_at"]) for r in sighting] == [
        (case.v1, "2024-06-04T10:30:00Z")
    ]
    report = case.check()
    drift = findings(report, "FLEET-002")
    assert drift[f"checkout-production-{case.v2[:12]}:us-east-1"].startswith(
        f"Cluster us-east-1 was observed running {case.v1[:12]}"
    )
    assert "running pods)" not in str(report)  # a sighting is no short listing
    again = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert again.code == 0 and "0 added" in again.err


def test_a_pod_that_never_started_left_no_sighting(case: Case) -> None:
    """Failed before its container ran (no imageID, no finishedAt): it ran nothing."""
    new, old = (case.v2, DIGEST_V2), (case.v1, DIGEST_V1)
    items = listing("us-east-1", [new, new, new, old])
    items[3]["status"]["phase"] = "Failed"
    status = items[3]["status"]["containerStatuses"][0]
    status.update(imageID="", ready=False, started=False)
    status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    result = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert result.code == 0, result.err
    assert all("pods" in r for r in case.records("observations.jsonl"))


def test_a_sighting_never_hides_the_listing_before_it(case: Case) -> None:
    """At 10:10 eu-west-1 ran one v2 pod and two v1 pods; a v2 pod evicted at 10:30 (sighted
    in the 11:00 listing) is one pod, not the cluster: the flag switched on at 10:45 was
    switched on over the mixed listing of 10:10, whatever was sighted after it."""
    assert case.argocd(applications(case.v1, case.v2, v2_on=CLUSTERS)).code == 0
    new, old = (case.v2, DIGEST_V2), (case.v1, DIGEST_V1)
    mixed = listing("eu-west-1", [new, old, old])
    for item in mixed:  # created before 10:10, as listed then
        item["metadata"]["creationTimestamp"] = "2024-06-04T10:05:00Z"
    assert case.pods("eu-west-1", mixed, "--tag-pattern", TAG_PATTERN, "--observed-at",
                     "2024-06-04T10:10:00Z").code == 0  # fmt: skip
    later = listing("eu-west-1", [new, new, new, new])
    _evicted(later[3], "2024-06-04T10:30:00Z")
    assert case.pods("eu-west-1", later, "--tag-pattern", TAG_PATTERN).code == 0
    (case.evidence / "flag_events.yaml").write_text(
        FLAG_EVENTS.replace("2024-06-04T12:00:00Z", "2024-06-04T10:45:00Z")
    )
    (message,) = findings(case.check(), "FLEET-003").values()
    assert f"last observed {case.v1[:12]} on eu-west-1;" in message


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("status", None, "ReplicaSet checkout-7d4b9c2f5d: no status"),
        ("status", {"replicas": "2"}, "status.replicas is not a count"),
        ("ownerReferences", "checkout", "replicaset checkout-7d4b9c2f5d: ownerReferences"),
    ],
)
def test_a_workload_s_odd_count_is_refused(case: Case, field: str, value: Any, said: str) -> None:
    owned = replica_set(deployment("checkout", "shop", 3), "7d4b9c2f5d", 2)
    if field == "status":
        owned["status"] = value
    else:
        owned["metadata"][field] = value
    result = _backdated(case, [*_us_east(case), owned], at="2024-06-04T11:00:00Z")
    assert result.code == 2 and said in result.err, result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "observations.jsonl").exists()
