"""What an Argo CD application's health says of its latest sync.

A sync ``Succeeded`` once Kubernetes accepted its manifests; whether the workload then ran is
the application's ``status.health``: ``Healthy``, ``Progressing`` (a Deployment still rolling
out), ``Suspended`` (a paused rollout), ``Degraded`` (``Deployment "checkout" exceeded its
progress deadline``), ``Missing`` or ``Unknown``. Argo CD assesses it from the resources that
run now, so it describes the latest sync that changed them and no older one: the history keeps
no health. The latest sync is judged by it (failed unless ``Healthy``, unfinished while
``Progressing`` or ``Suspended``); an older one counts as succeeded on the tool's word that its
manifests were applied.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.importers.common import dig, optional
from checker.importers.gitops import HEALTH, Sync
from checker.importers.k8s_shapes import objects

UNFINISHED = ("Progressing", "Suspended")
"""Health of a rollout that has not ended: the cluster's rollout stays unfinished."""
SHOWN = 3
"""How many unhealthy resources a reason quotes."""


def judged(item: dict[str, Any], sync: Sync, path: Path) -> Sync:
    """``sync``, the application's latest, as its health says: unchanged when ``Healthy``,
    else failed with the health and the unhealthy resources' messages as its reason
    (unfinished while the rollout goes on). An application that records no health is
    refused: whether the commit ever ran cannot be known."""
    name = item["metadata"]["name"]
    health = optional(
        dig(item, "status", "health"),
        dict,
        path,
        f"application {name}: status.health is not an object",
    )
    status = optional(
        (health or {}).get("status"),
        str,
        path,
        f"application {name}: status.health.status is not text",
    )
    if not status:
        raise InputError(
            f"application {name}: no status.health.status, so whether its latest sync "
            f"({sync.origin}) left a running workload cannot be known",
            path=str(path),
            hint="list the applications with kubectl get applications.argoproj.io -o json or "
            "argocd app list -o json, which print their health",
        )
    if status == "Healthy":
        return replace(sync, health=status)
    said = _messages(item, status, name, path)
    running = status in UNFINISHED
    if running:
        reason = f"{HEALTH}{status}: the rollout had not ended when the application was listed"
        reason += f" ({said})" if said else ""
    else:
        reason = f"{HEALTH}{status}" + (f": {said}" if said else "")
    return replace(
        sync,
        status="failed",
        reason=reason,
        finished_at=None if running else sync.finished_at,
        health=status,
        applied_at=sync.finished_at,
    )


def _messages(item: dict[str, Any], status: str, name: str, path: Path) -> str:
    """What Argo CD said of the application's health (``status.health.message``, which older
    versions write) and of the resources in that state."""
    found = []
    own = dig(item, "status", "health", "message")
    if isinstance(own, str) and own.strip():
        found.append(own.strip())
    for resource in objects(dig(item, "status", "resources"), path, f"application {name}: "
                            "status.resources"):  # fmt: skip
        health = resource.get("health")
        if not isinstance(health, dict) or health.get("status") != status:
            continue
        message = health.get("message")
        said = f"{resource.get('kind')} {resource.get('name')}"
        found.append(f"{said}: {message.strip()}" if isinstance(message, str) else said)
    shown = "; ".join(found[:SHOWN])
    return shown + (f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else "")
