"""The container-fleet scenario: a service on four clusters, Argo CD synced to three.

``checkout`` runs on eu-west-1, eu-central-1, us-east-1 and ap-south-1, one Argo CD
application per cluster from an ApplicationSet. v1 reached all four. v2 was synced to three:
ap-south-1's application stayed OutOfSync (its history ends at v1), and on us-east-1 the sync
"Succeeded" while two of three pods still ran v1. At 11:00 every cluster's pods were listed,
and at 12:00 the flag ``new_checkout`` was switched on. The case in
evidence/examples/container-fleet/ is what the importers write from these objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.importers.k8s_recordings import RunningPod, Synced, application, pod, write_list

CLUSTERS = ("eu-west-1", "eu-central-1", "us-east-1", "ap-south-1")
REGISTRY = "registry.example.com/shop/checkout"
DIGEST_V1 = "sha256:" + "1" * 64
DIGEST_V2 = "sha256:" + "2" * 64
APPROVER = "lee@example.com"
OPS = "ops@example.com"
OBSERVED_AT = "2024-06-04T11:00:00Z"
TAG_PATTERN = "(?P<commit>[0-9a-f]{40})"
FLAG_EVENTS = (
    "- {flag: new_checkout, service: checkout, environment: production, enabled: true,"
    f" at: '2024-06-04T12:00:00Z', by: {OPS}}}\n"
)
"""flag_events.yaml of the scenario: the flag switched on at 12:00."""


def fleet_yaml() -> str:
    """fleet.yaml of the scenario."""
    clusters = "\n".join(
        f"      - {{name: {c}, namespace: shop, workload: checkout, replicas: 3}}" for c in CLUSTERS
    )
    return f"services:\n  checkout:\n    clusters:\n{clusters}\n"


def applications(
    v1: str, v2: str, *, v2_on: tuple[str, ...] = CLUSTERS[:3]
) -> list[dict[str, Any]]:
    """One application per cluster; v2 synced on ``v2_on``, minutes apart."""
    apps = []
    for index, cluster in enumerate(CLUSTERS):
        history = [Synced(v1, f"2024-06-03T10:0{index}:00Z", f"2024-06-03T10:0{index}:40Z", OPS)]
        if cluster in v2_on:
            history.append(
                Synced(v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z", OPS)
            )
        apps.append(application(f"checkout-{cluster}", cluster, history))
    return listed_together(apps)


def listed_together(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``apps`` as one listing shows them: Argo CD compares every application every three
    minutes, so each was last compared (``status.reconciledAt``) when the latest one was."""
    latest = max(app["status"]["reconciledAt"] for app in apps)
    for app in apps:
        app["status"]["reconciledAt"] = latest
    return apps


def listing(cluster: str, versions: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A cluster's pods: one ready pod per (commit, digest) given."""
    pods = []
    short = "".join(part[0] for part in cluster.split("-"))  # eu-west-1: ew1
    for number, (commit, digest) in enumerate(versions):
        template = "7d4b9c" + ("1" if digest == DIGEST_V1 else "2") + "f5d"
        pods.append(
            pod(
                RunningPod(
                    name=f"checkout-{template}-{short}{number}",
                    workload="checkout",
                    template_hash=template,
                    image=f"{REGISTRY}:{commit}",
                    digest=digest,
                    namespace="shop",
                )
            )
        )
    return pods


def import_all(repo: Path, evidence: Path, work: Path, v1: str, v2: str) -> None:
    """Run the importers on the scenario's objects, as the docs' commands do."""
    apps = write_list(work / "applications.json", applications(v1, v2))
    for commit in (v1, v2):
        day = "03" if commit == v1 else "04"
        result = run_cli(
            "import", "argocd", apps, "--repo", repo, "--evidence", evidence,
            "--service", "checkout", "--application-set", "checkout",
            "--revision", commit, "--approval", f"{APPROVER},2024-06-{day}T09:30:00Z",
        )  # fmt: skip
        assert result.code == 0, result.err
    old, new = (v1, DIGEST_V1), (v2, DIGEST_V2)
    pods = {
        "eu-west-1": [new, new, new],
        "eu-central-1": [new, new, new],
        "us-east-1": [new, old, old],
        "ap-south-1": [old, old, old],
    }
    for cluster in CLUSTERS:
        path = write_list(work / f"pods-{cluster}.json", listing(cluster, pods[cluster]))
        result = run_cli(
            "import", "kubectl-pods", path, "--repo", repo, "--evidence", evidence,
            "--cluster", cluster, "--service", "checkout", "--observed-at", OBSERVED_AT,
            "--tag-pattern", TAG_PATTERN,
        )  # fmt: skip
        assert result.code == 0, result.err
