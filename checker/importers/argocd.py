"""``knightwatch import argocd``: deployment records from Argo CD Application objects, as
``kubectl get applications.argoproj.io -o json`` (a List), ``argocd app list -o json`` (an
array) or ``argocd app get -o json`` (one object) print them.

An application's ``status.history`` holds each successful sync: its ``revision`` (or, for an
application of several sources, ``revisions``), ``deployStartedAt``, ``deployedAt`` and
``initiatedBy``. Argo CD keeps no history of failed syncs: only ``status.operationState``, the
latest operation, says that a sync ``Failed`` (or raised an ``Error``) or is still
``Running``; such a sync is recorded for its revision's rollout as ``failed``, with Argo CD's
message, and a running one leaves its rollout unfinished. An older failure that a later
operation replaced is not in the object, and cannot be imported.

The cluster of an application is ``--cluster`` when given (one Argo CD per cluster), else its
``spec.destination.name``, else the fleet.yaml cluster whose ``server`` is its
``spec.destination.server``, else that URL itself (which FLEET-004 then reports, being in no
inventory). Applications are chosen by ``--application`` (a name or glob, repeatable) or
``--application-set`` (those an ApplicationSet owns); with neither, every application read.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.models import Status
from checker.importers.common import dig, expect, read_objects
from checker.importers.gitops import Sync

WHAT = (
    "Argo CD Application objects (kubectl get applications.argoproj.io -o json, or argocd "
    "app get/list -o json)"
)
FAILED: dict[str, Status] = {"Failed": "failed", "Error": "failed"}
RUNNING = ("Running", "Terminating")


@dataclass(frozen=True)
class Selection:
    """Which applications are the service's, and where each runs."""

    applications: tuple[str, ...] = ()
    application_set: str | None = None
    cluster: str | None = None
    source_repo: str | None = None
    servers: tuple[tuple[str, str], ...] = ()
    """fleet.yaml's (server URL, cluster name) pairs for the service."""


def read_applications(path: Path) -> list[dict[str, Any]]:
    """Every Application object in the file."""
    return read_objects(
        path,
        WHAT,
        "an Argo CD Application (metadata.name, spec)",
        lambda i: isinstance(i.get("spec"), dict) and i.get("kind", "Application") == "Application",
    )


def chosen(items: list[dict[str, Any]], selection: Selection, path: Path) -> list[dict[str, Any]]:
    """The service's applications among ``items``; none at all is an error."""
    picked = []
    for item in items:
        name = item["metadata"]["name"]
        owners = dig(item, "metadata", "ownerReferences") or []
        if selection.applications and not any(
            fnmatch.fnmatchcase(name, glob) for glob in selection.applications
        ):
            continue
        if selection.application_set and not any(
            isinstance(o, dict)
            and o.get("kind") == "ApplicationSet"
            and o.get("name") == selection.application_set
            for o in owners
        ):
            continue
        picked.append(item)
    if not picked:
        names = ", ".join(sorted(i["metadata"]["name"] for i in items)[:12]) or "none"
        raise InputError(
            "no application in this file matches "
            + (
                f"--application {', '.join(selection.applications)}"
                if selection.applications
                else f"--application-set {selection.application_set}"
            )
            + f" (applications here: {names})",
            path=str(path),
        )
    return picked


def syncs(items: list[dict[str, Any]], selection: Selection, path: Path) -> list[Sync]:
    """Every sync the chosen applications record."""
    found: list[Sync] = []
    for item in chosen(items, selection, path):
        found += _application_syncs(item, selection, path)
    return found


def _cluster(item: dict[str, Any], selection: Selection) -> str:
    if selection.cluster:
        return selection.cluster
    destination = dig(item, "spec", "destination") or {}
    if isinstance(destination.get("name"), str) and destination["name"]:
        return str(destination["name"])
    server = destination.get("server")
    for url, name in selection.servers:
        if server == url:
            return name
    if isinstance(server, str) and server:
        return server
    raise InputError(
        f"application {item['metadata']['name']}: spec.destination names no cluster",
        hint="pass --cluster NAME",
    )


def _revision(entry: dict[str, Any], origin: str, selection: Selection) -> str:
    """The revision of the service's source in a history entry or sync result."""
    single = entry.get("revision")
    revisions = entry.get("revisions")
    if isinstance(revisions, list) and revisions:
        sources = entry.get("sources") or []
        repos = [dig(s, "repoURL") for s in sources]
        if selection.source_repo is None:
            if len(revisions) == 1:
                return str(revisions[0])
            raise InputError(
                f"{origin}: the application deploys {len(revisions)} sources "
                f"({', '.join(str(r) for r in repos)}); which is built from --repo?",
                hint="pass --source-repo URL",
            )
        if selection.source_repo in repos:
            return str(revisions[repos.index(selection.source_repo)])
        raise InputError(
            f"{origin}: no source is --source-repo {selection.source_repo} "
            f"(sources: {', '.join(str(r) for r in repos)})"
        )
    if not isinstance(single, str) or not single:
        raise InputError(f"{origin}: no revision recorded")
    repo = dig(entry, "source", "repoURL")
    if selection.source_repo and isinstance(repo, str) and repo != selection.source_repo:
        raise InputError(
            f"{origin}: synced {repo}, not --source-repo {selection.source_repo}",
            hint="choose the applications that deploy the service's repository",
        )
    return single


def _initiator(entry: dict[str, Any]) -> str | None:
    by = entry.get("initiatedBy") or {}
    if isinstance(by, dict) and isinstance(by.get("username"), str) and by["username"]:
        return str(by["username"])
    if isinstance(by, dict) and by.get("automated") is True:
        return "argocd (automated sync)"
    return None


def _automated(entry: dict[str, Any]) -> bool:
    return dig(entry, "initiatedBy", "automated") is True


def _application_syncs(item: dict[str, Any], selection: Selection, path: Path) -> list[Sync]:
    name = item["metadata"]["name"]
    cluster = _cluster(item, selection)
    history = dig(item, "status", "history") or []
    expect(isinstance(history, list), path, f"application {name}: status.history is not a list")
    found = []
    for entry in history:
        origin = f"application {name}, history id {dig(entry, 'id')}"
        expect(isinstance(entry, dict), path, f"{origin}: not a history entry")
        finished = entry.get("deployedAt")
        expect(isinstance(finished, str), path, f"{origin}: no deployedAt")
        found.append(
            Sync(
                cluster=cluster,
                origin=origin,
                revision=_revision(entry, origin, selection),
                started_at=str(entry.get("deployStartedAt") or finished),
                finished_at=str(finished),
                status="succeeded",
                initiator=_initiator(entry),
                automated=_automated(entry),
            )
        )
    operation = dig(item, "status", "operationState") or {}
    phase = operation.get("phase") if isinstance(operation, dict) else None
    if phase in FAILED or phase in RUNNING:
        found.append(
            _unfinished(
                operation, f"application {name}, operation {phase}", cluster, selection, path
            )
        )
    elif phase is not None and phase != "Succeeded":
        raise InputError(f"application {name}: unknown operation phase {phase!r}", path=str(path))
    # An application that never synced is in no rollout: FLEET-001 names its cluster.
    return found


def _unfinished(
    operation: dict[str, Any], origin: str, cluster: str, selection: Selection, path: Path
) -> Sync:
    """The operation of a sync that failed, or was still running at the listing: a sync that
    did not succeed."""
    phase = operation.get("phase")
    result = operation.get("syncResult") or dig(operation, "operation", "sync") or {}
    started = operation.get("startedAt")
    expect(isinstance(started, str), path, f"{origin}: no startedAt")
    message = str(operation.get("message") or "").strip()
    return Sync(
        cluster=cluster,
        origin=origin,
        revision=_revision(result, origin, selection),
        started_at=str(started),
        finished_at=str(operation.get("finishedAt") or started) if phase in FAILED else None,
        status="failed",
        reason=(
            f"Argo CD sync {phase}" + (f": {message}" if message else "")
            if phase in FAILED
            else "the sync was still running when the application was listed"
        ),
        initiator=_initiator(dig(operation, "operation") or {}),
        automated=_automated(dig(operation, "operation") or {}),
    )
