"""Whatever Argo CD, Flux or kubectl printed, ``import argocd``, ``import flux`` and ``import
kubectl-pods`` either do their work or refuse the input (exit 2, naming the file): never a
traceback, never a record dated by a time that did not parse. Seeded mutations of the recorded
objects, and the odd shapes found by hand."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.importers.k8s_recordings import (
    FIXTURES,
    Reconciled,
    Released,
    helm_release,
    kustomization,
    write_list,
)
from tests.importers.k8s_scenario import DIGEST_V2, TAG_PATTERN, applications, listing
from tests.importers.test_kubernetes import Case
from tests.importers.test_robustness import mutate

Mutation = Callable[[dict[str, Any]], None]
EARLIER, LATER = "2024-01-01T00:00:00Z", "2024-06-09T00:00:00Z"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case(tmp_path_factory.mktemp("k8s-robust"))


def _judged(result: CliResult, path: Path) -> None:
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    if result.code == 2:
        assert str(path) in result.err or "--" in result.err


def _fresh(case: Case) -> None:
    for name in ("deploys.jsonl", "observations.jsonl", "superseded.jsonl"):
        (case.evidence / name).unlink(missing_ok=True)


def _argocd(case: Case, apps: list[dict[str, Any]]) -> None:
    _fresh(case)
    _judged(case.argocd(apps), case.work / "applications.json")


def _flux(case: Case, item: dict[str, Any]) -> None:
    _fresh(case)
    path = write_list(case.work / "flux.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", str(item["metadata"]["name"]),
                      "--service", "checkout", "--deployer", "r@example.com")  # fmt: skip
    _judged(result, path)


def _pods(case: Case, items: list[dict[str, Any]]) -> None:
    _fresh(case)
    result = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN,
                       "--commit-annotation", "example.com/git-sha")  # fmt: skip
    _judged(result, case.work / "pods-eu-west-1.json")


@pytest.mark.parametrize("seed", range(40))
def test_mutated_argocd_applications(seed: int, shared: Case) -> None:
    rng = random.Random(seed)  # noqa: S311  (seeded mutations, not secrets)
    apps = applications(shared.v1, shared.v2)
    for index in rng.sample(range(len(apps)), 2):
        mutate(apps[index], rng)
    _argocd(shared, apps)


@pytest.mark.parametrize("seed", range(30))
def test_mutated_flux_objects(seed: int, shared: Case) -> None:
    rng = random.Random(seed)  # noqa: S311
    if seed % 2:
        item = kustomization("checkout", [
            Reconciled(shared.v2, "2024-06-04T10:00:00Z", "2024-06-04T11:00:00Z"),
            Reconciled(shared.v1, "2024-06-03T10:00:00Z", "2024-06-04T09:50:00Z"),
        ])  # fmt: skip
    else:
        item = helm_release("checkout", [
            Released(2, f"1.1.0+{shared.v2[:12]}", "2024-06-04T10:00:00Z"),
            Released(1, f"1.0.0+{shared.v1[:12]}", "2024-06-03T10:00:00Z", "superseded"),
        ])  # fmt: skip
    name = item["metadata"]["name"]
    mutate(item, rng)
    if not isinstance(item.get("metadata"), dict) or item["metadata"].get("name") != name:
        item["metadata"] = {"name": name}  # still findable by --name: the rest is mutated
    _flux(shared, item)


@pytest.mark.parametrize("seed", range(40))
def test_mutated_pod_listings(seed: int, shared: Case) -> None:
    rng = random.Random(seed)  # noqa: S311
    items = listing("eu-west-1", [(shared.v2, DIGEST_V2)] * 2)
    mutate(items[rng.randrange(len(items))], rng)
    _pods(shared, items)


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting the member at a dotted path (``status.history.0.deployedAt``)."""

    def apply(item: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = item
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


ODD_APPLICATIONS = {
    "destination a list": _set("spec.destination", ["x"]),
    "destination name a number": _set("spec.destination.name", 5),
    "history an object": _set("status.history", {"a": 1}),
    "history entry text": _set("status.history", ["x"]),
    "deployedAt not a time": _set("status.history.0.deployedAt", "yesterday"),
    "deployStartedAt not a time": _set("status.history.0.deployStartedAt", "soon"),
    "started after it was deployed": _set("status.history.1.deployStartedAt", LATER),
    "revision a number": _set("status.history.0.revision", 5),
    "revisions text": _set("status.history.0.revisions", "abc"),
    "initiatedBy text": _set("status.history.0.initiatedBy", "bob"),
    "username a number": _set("status.history.0.initiatedBy", {"username": 5}),
    "username with a newline": _set("status.history.1.initiatedBy", {"username": "eve\n@x"}),
    "operationState a list": _set("status.operationState", ["x"]),
    "phase a number": _set("status.operationState.phase", 5),
    "ownerReferences an object": _set("metadata.ownerReferences", {"kind": "ApplicationSet"}),
    "status a list": _set("status", [1]),
}  # fmt: skip


@pytest.mark.parametrize("mutation", sorted(ODD_APPLICATIONS))
def test_odd_argocd_shapes_are_refused(mutation: str, shared: Case) -> None:
    apps = applications(shared.v1, shared.v2)[:1]
    ODD_APPLICATIONS[mutation](apps[0])
    _fresh(shared)
    result = shared.argocd(apps)
    assert result.code == 2, result.err
    assert str(shared.work / "applications.json") in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("phase", ["Failed", "Running"])
@pytest.mark.parametrize("part", ["syncResult", "operation", "startedAt"])
def test_odd_argocd_operations_are_refused(phase: str, part: str, shared: Case) -> None:
    apps = applications(shared.v1, shared.v2)[:1]
    state = apps[0]["status"]["operationState"]
    state["phase"] = phase
    state[part] = "x"
    _fresh(shared)
    result = shared.argocd(apps)
    assert result.code == 2 and "operation " + phase in result.err, result.err


ODD_FLUX = {
    "firstReconciled not a time": _set("status.history.0.firstReconciled", "x"),
    "lastReconciled before firstReconciled": _set("status.history.0.lastReconciled", EARLIER),
    "metadata null": _set("status.history.0.metadata", None),
    "metadata text": _set("status.history.0.metadata", "x"),
    "status text": _set("status", "x"),
    "interval not a duration": _set("spec.interval", "ten minutes"),
}  # fmt: skip
ODD_HELM = {
    "lastDeployed not a time": _set("status.history.0.lastDeployed", "x"),
    "version missing": _set("status.history.0.version", None),
    "status unknown": _set("status.history.0.status", "exploded"),
    "configDigest a number": _set("status.history.0.configDigest", 5),
}


@pytest.mark.parametrize("mutation", sorted(ODD_FLUX) + sorted(ODD_HELM))
def test_odd_flux_shapes_are_refused(mutation: str, shared: Case) -> None:
    if mutation in ODD_FLUX:
        item = kustomization(
            "checkout", [Reconciled(shared.v2, "2024-06-04T10:00:00Z", "2024-06-04T11:00:00Z")]
        )
        ODD_FLUX[mutation](item)
    else:
        item = helm_release(
            "checkout", [Released(1, f"1.0.0+{shared.v2[:12]}", "2024-06-04T10:00:00Z")]
        )
        ODD_HELM[mutation](item)
    _fresh(shared)
    path = write_list(shared.work / "flux.json", [item])
    result = shared.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service",
                        "checkout")  # fmt: skip
    assert result.code == 2, result.err
    assert str(path) in result.err and "Traceback" not in result.err


ODD_PODS = {
    "labels a list": _set("metadata.labels", ["a"]),
    "annotations a list": _set("metadata.annotations", ["x"]),
    "annotation a number": _set("metadata.annotations", {"example.com/git-sha": 5}),
    "ownerReferences an object": _set("metadata.ownerReferences", {"a": 1}),
    "controller name a number": _set("metadata.ownerReferences.0.name", 5),
    "conditions an object": _set("status.conditions", {"type": "Ready"}),
    "containers an object": _set("spec.containers", {"name": "x"}),
    "container name a list": _set("spec.containers.0.name", ["checkout"]),
    "containerStatuses an object": _set("status.containerStatuses", {"name": "x"}),
    "imageID a number": _set("status.containerStatuses.0.imageID", 5),
    "lastTransitionTime a number": _set("status.conditions.1.lastTransitionTime", 5),
    "lastTransitionTime not a time": _set("status.conditions.1.lastTransitionTime", "yesterday"),
    "namespace a number": _set("metadata.namespace", 5),
}


@pytest.mark.parametrize("mutation", sorted(ODD_PODS))
def test_odd_pod_shapes_are_refused(mutation: str, shared: Case) -> None:
    items = listing("eu-west-1", [(shared.v2, DIGEST_V2)])
    ODD_PODS[mutation](items[0])
    _fresh(shared)
    result = shared.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN,
                         "--commit-annotation", "example.com/git-sha")  # fmt: skip
    assert result.code == 2, result.err
    assert str(shared.work / "pods-eu-west-1.json") in result.err


def test_the_recordings_import_as_they_are(shared: Case) -> None:
    """The mutations above start from objects that import cleanly."""
    recorded = json.loads((FIXTURES / "argocd-applications.json").read_text())["items"][0]
    _fresh(shared)
    revision = recorded["status"]["history"][0]["revision"]
    result = shared.argocd(
        [copy.deepcopy(recorded)], "--revision-commit", f"{revision}={shared.v2}"
    )
    assert result.code == 0, result.err
    _fresh(shared)
    assert shared.argocd(applications(shared.v1, shared.v2)).code == 0
