"""``knightwatch import flux``: deployment records from Flux's ``Kustomization`` and
``HelmRelease`` objects, one listing per cluster (Flux runs in each cluster it deploys to):
``kubectl --context CLUSTER get kustomizations.kustomize.toolkit.fluxcd.io -A -o json``.

A Kustomization's ``status.history`` (kustomize-controller v1.7 and later) holds its last
reconciliations: ``metadata.revision`` (``main@sha1:<sha>``, or ``main/<sha>`` before Flux
2.0), ``firstReconciled`` and ``lastReconciledStatus``; ``ReconciliationSucceeded`` is a
sync that succeeded, any other status (``HealthCheckFailed``, ``BuildFailed``, ...) one that
failed. A HelmRelease's ``status.history`` (helm.toolkit.fluxcd.io/v2) holds each release:
``chartVersion``, ``firstDeployed`` and ``status`` (``deployed`` and ``superseded`` succeeded,
``failed`` failed, ``pending-*`` still running). A chart built from a git source carries the
commit in its version's build metadata (``1.2.3+0a1b2c3d4e5f``); any other chart version must
be mapped with ``--revision-commit``.

``lastAppliedRevision`` alone does not say when a revision was applied: an object without
``status.history`` is refused, rather than dated by guess.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.models import Status
from checker.importers import common
from checker.importers.common import dig, expect
from checker.importers.gitops import Sync

WHAT = (
    "Flux Kustomization or HelmRelease objects (kubectl get kustomizations.kustomize."
    "toolkit.fluxcd.io -o json, or helmreleases.helm.toolkit.fluxcd.io)"
)
KINDS = ("Kustomization", "HelmRelease")
_GIT_REVISION = re.compile(r"^(?:.*@)?sha1:([0-9a-f]{40})$|^(?:.*/)?([0-9a-f]{40})$")
_CHART_COMMIT = re.compile(r"^[^+]+\+([0-9a-f]{7,40})$")
HELM_STATUS: dict[str, Status | None] = {
    "deployed": "succeeded",
    "superseded": "succeeded",
    "failed": "failed",
}


def read_objects(path: Path) -> list[dict[str, Any]]:
    """Every Flux object of the kinds imported in the file."""
    return common.read_objects(
        path, WHAT, "a Flux Kustomization or HelmRelease", lambda i: i.get("kind") in KINDS
    )


def find_object(items: list[dict[str, Any]], name: str, path: Path) -> dict[str, Any]:
    """The object ``[NAMESPACE/]NAME`` (the only one of that name when no namespace is given)."""
    namespace, _, bare = name.rpartition("/")
    found = [
        item
        for item in items
        if item["metadata"]["name"] == bare
        and (not namespace or dig(item, "metadata", "namespace") == namespace)
    ]
    if not found:
        names = sorted(
            f"{dig(i, 'metadata', 'namespace') or ''}/{i['metadata']['name']}" for i in items
        )
        raise InputError(
            f"no Kustomization or HelmRelease named {name!r} here "
            f"(objects here: {', '.join(names[:12]) or 'none'})",
            path=str(path),
        )
    if len(found) > 1:
        raise InputError(
            f"{len(found)} objects are named {bare!r} here; name one as NAMESPACE/NAME",
            path=str(path),
        )
    return found[0]


def git_commit(revision: str) -> str | None:
    """The commit in a Flux source revision (``main@sha1:SHA``, ``main/SHA``) or in a chart
    version's build metadata (``1.2.3+SHA``), else None (an OCI digest, a chart version: for
    ``--revision-commit``)."""
    match = _GIT_REVISION.match(revision)
    if match:
        return match.group(1) or match.group(2)
    chart = _CHART_COMMIT.match(revision)
    return chart.group(1) if chart else None


def syncs(item: dict[str, Any], cluster: str, path: Path) -> list[Sync]:
    """The syncs one object's history records on ``cluster``."""
    kind, name = item["kind"], item["metadata"]["name"]
    history = dig(item, "status", "history")
    if not isinstance(history, list) or not history:
        raise InputError(
            f"{kind} {name} has no status.history: when each revision was applied cannot be "
            "known from lastAppliedRevision alone",
            path=str(path),
            hint="Flux records history from kustomize-controller v1.7 and helm-controller "
            "v1.0 (helm.toolkit.fluxcd.io/v2) on; upgrade, or record these deployments by hand",
        )
    found = []
    for index, entry in enumerate(history, start=1):
        origin = f"{kind} {name} on {cluster}, history entry #{index}"
        expect(isinstance(entry, dict), path, f"{origin}: not a history entry")
        found.append(
            _helm(entry, origin, cluster, path)
            if kind == "HelmRelease"
            else _kustomization(entry, origin, cluster, path)
        )
    return found


def _kustomization(entry: dict[str, Any], origin: str, cluster: str, path: Path) -> Sync:
    revision = dig(entry, "metadata", "revision")
    origin_revision = dig(entry, "metadata", "originRevision")
    at = entry.get("firstReconciled")
    status = entry.get("lastReconciledStatus")
    expect(
        isinstance(revision, str) and isinstance(at, str) and isinstance(status, str),
        path,
        f"{origin}: expected metadata.revision, firstReconciled, lastReconciledStatus",
    )
    commit = git_commit(str(revision))
    if commit is None and isinstance(origin_revision, str):
        commit = git_commit(origin_revision)  # an OCI artifact's org.opencontainers.image.revision
    succeeded = status == "ReconciliationSucceeded"
    return Sync(
        cluster=cluster,
        origin=origin,
        revision=str(revision),
        commit=commit,
        started_at=str(at),
        finished_at=str(at),
        status="succeeded" if succeeded else "failed",
        reason=None if succeeded else f"Flux reconciliation {status}",
        initiator="flux (kustomize-controller)",
        automated=True,
    )


def _helm(entry: dict[str, Any], origin: str, cluster: str, path: Path) -> Sync:
    version = entry.get("chartVersion")
    at = entry.get("firstDeployed")
    status = entry.get("status")
    expect(
        isinstance(version, str) and isinstance(at, str) and isinstance(status, str),
        path,
        f"{origin}: expected chartVersion, firstDeployed, status",
    )
    running = str(status).startswith("pending")
    outcome = HELM_STATUS.get(str(status))
    if outcome is None and not running:
        raise InputError(
            f"{origin}: release status {status!r} is not a deployment outcome", path=str(path)
        )
    return Sync(
        cluster=cluster,
        origin=origin,
        revision=str(version),
        commit=git_commit(str(version)),
        started_at=str(at),
        finished_at=None if running else str(at),
        status=outcome or "failed",
        reason=None if outcome == "succeeded" else f"Helm release {status}",
        initiator="flux (helm-controller)",
        automated=True,
    )
