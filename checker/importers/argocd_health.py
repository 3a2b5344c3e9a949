"""What an Argo CD application's health says of its latest sync.

A sync ``Succeeded`` once Kubernetes accepted its manifests; whether the workload then ran is
the application's ``status.health``: ``Healthy``, ``Progressing`` (a Deployment still rolling
out), ``Suspended`` (a paused rollout), ``Degraded`` (``Deployment "checkout" exceeded its
progress deadline``), ``Missing`` or ``Unknown``. Argo CD assesses it from the resources that
run now, so it describes the latest sync that changed them and no older one: the history keeps
no health. The latest sync is judged by it (failed unless ``Healthy``, unfinished while
``Progressing`` or ``Suspended``); an older one counts as succeeded on the tool's word that its
manifests were applied.

The application's ``status.sync`` is the same kind of word about now: Argo CD compares the live
objects with the manifests of ``status.sync.revision`` (``revisions`` for several sources).
When that is the latest sync's revision and the status is not ``Synced`` (``OutOfSync``: the
live state drifted after the sync, ``kubectl set image`` back to the old build; ``Unknown``:
the comparison failed), the cluster does not run what that sync applied, however ``Healthy``
the drifted workload is: the sync is failed, its reason naming the sync status. A status
other than ``Synced`` that compared another revision (the branch moved on, not synced: with no
``syncPolicy.automated`` it stays so) shows nothing of the synced one either, so it fails the
sync too, as does one that names no revision (it compared nothing). ``Synced`` at another
revision says the live objects match that revision's manifests, the synced one's where the
branch moved on without changing them, and stands. An application annotated
``argocd.argoproj.io/skip-reconcile: "true"`` is no longer processed, its status frozen as it
was: the latest sync is failed whatever that status says (``_skipped``), as it is where
another application of the same listing was compared long after this one (``_frozen``): Argo
CD compares each every few minutes, so one left behind is no longer processed (its cluster's
secret annotated ``SKIP``, its namespace no longer watched). The last history
entry is judged so whatever operation came after it (a selective sync, a failed one): by its
sync status always, by its health too when that operation was of the entry's own revision.
A comparison with other sources than the latest sync rendered (``status.sync.comparedTo``:
an image set with ``argocd app set`` since, the live Deployment set by hand to match) says
nothing of what it applied, ``Synced`` or not, and fails it too (``_rendered_otherwise``).
An application that ignores differences in fields that choose what runs
(``spec.ignoreDifferences``, other than the replica count alone: ``argocd_ignored.unwatched``)
has a sync status that covers nothing in them, so whatever it says, the latest sync is
failed, its reason naming the entries.

Both are as of the application's last comparison (``status.reconciledAt``). Argo CD persists
a finished sync (its history entry, ``operationState`` ``Succeeded``) before it compares the
application again: until it does, ``status.health`` is what it assessed before the sync
applied anything, the old pods' ``Healthy`` (argoproj/argo-cd#9070, the ``on-deployed``
notification sent for a sync whose pods never started). A comparison that is not after the
sync (``reconciledAt`` before its ``deployedAt``, or not after its ``deployStartedAt``: the
same second as a sync that took less than one) says nothing of it: the sync is failed and
unfinished, as one still ``Progressing`` is, until a later import sees it assessed.

A sync judged ``Healthy`` ran healthily from when the application became so
(``status.health.lastTransitionTime``, newer Argo CD), where that is after the sync ended: its
pods were still rolling out when it was applied, and a flag switched on before then was
switched on over old and new pods.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.models import check_timestamp, timestamp_ns
from checker.importers import argocd_ignored
from checker.importers.common import dig, expect, moment, optional
from checker.importers.gitops import DRIFT, HEALTH, Sync
from checker.importers.k8s_shapes import objects, time_text

UNFINISHED = ("Progressing", "Suspended")
"""Health of a rollout that has not ended: the cluster's rollout stays unfinished."""
DRIFTED = "OutOfSync"
"""What a sync's ``health`` says when the live state no longer matches it, however healthy."""
SHOWN = 3
"""How many unhealthy resources a reason quotes."""
UNASSESSED = "not assessed since the sync"
"""What a sync's ``health`` says when Argo CD had not compared the application since it."""
SKIP = "argocd.argoproj.io/skip-reconcile"
"""The annotation that stops Argo CD processing an application, its status left as it was."""
TRUE = ("1", "t", "T", "TRUE", "true", "True")
"""What Go's ``strconv.ParseBool`` reads as true, as Argo CD reads ``SKIP``."""
RECONCILIATION_S = 180
"""How often Argo CD compares each application by default, in seconds (argocd-cm's
``timeout.reconciliation``); ``--reconciliation-timeout`` gives a raised one, with its
``timeout.reconciliation.jitter``."""
RECONCILIATION_MAX_S = 3_600
"""The longest ``--reconciliation-timeout`` taken, an hour: a longer one would leave a status
frozen that long unjudged; list such applications after a refresh instead."""
MARGIN_S = 420
"""How much later than the reconciliation timeout another application of the same listing may
have been compared before one's status is taken as frozen: with the default 180 seconds, ten
minutes, room for the jitter (up to 60 seconds by default) and a queue of comparisons, so a
healthy controller leaves none that far behind."""


@dataclass(frozen=True)
class Compared:
    """The application of a listing Argo CD compared last: its name, and when."""

    name: str
    value: str
    at: int
    within: int = RECONCILIATION_S + MARGIN_S
    """How many seconds behind it another application may have been compared last."""


def judged(
    item: dict[str, Any],
    sync: Sync,
    path: Path,
    *,
    health: bool = True,
    newest: Compared | None = None,
) -> Sync:
    """``sync``, the application's last history entry, as its health and sync status say:
    unchanged when ``Healthy`` and ``Synced`` (or compared with another revision), else failed
    with the health and the unhealthy resources' messages, or the sync status and the resources
    out of sync, as its reason (unfinished while the rollout goes on). Without ``health`` (an
    operation on another revision came after the entry, and the health may be that one's), the
    sync status alone judges it. An application that records no health or sync status is
    refused: whether the commit ever ran cannot be known. ``newest`` is the latest comparison
    of any application of the same listing (``newest_comparison``): one long after this
    application's shows its status frozen (``_frozen``)."""
    name = item["metadata"]["name"]
    drift = _drift(item, name, path, newest)
    if not health:
        _compared_at(item, name, path)
        return sync if drift is None else _drifted(sync, drift)
    status = _health(item, sync, name, path)
    before = _compared_before(item, sync, status, name, path)
    if before is not None:
        return _unassessed(sync, before)
    if drift is not None and (status == "Healthy" or status in UNFINISHED):
        # Drift is no rollout going on: it stays until someone syncs again.
        return _drifted(sync, drift + ("" if status == "Healthy" else f" ({HEALTH}{status})"))
    if status == "Healthy":
        since = _healthy_since(item, sync, name, path)
        if since is None:
            return replace(sync, health=status)
        return replace(sync, health=status, finished_at=since, applied_at=sync.finished_at)
    said = _messages(item, status, name, path)
    running = status in UNFINISHED
    if running:
        reason = f"{HEALTH}{status}: the rollout had not ended when the application was listed"
        reason += f" ({said})" if said else ""
    else:
        reason = f"{HEALTH}{status}" + (f": {said}" if said else "")
        reason += f"; {drift}" if drift else ""
    return replace(
        sync,
        status="failed",
        reason=reason,
        finished_at=None if running else sync.finished_at,
        health=status,
        applied_at=sync.finished_at,
    )


def _compared_at(item: dict[str, Any], name: str, path: Path) -> None:
    """Refuses an application that does not say when Argo CD last compared it: whether its
    sync status is still kept up to date (``_frozen``) cannot then be known."""
    if dig(item, "status", "reconciledAt") is None:
        raise InputError(
            f"application {name}: status.reconciledAt is missing, so whether Argo CD still "
            "compares it, and its sync status says anything of now, cannot be known",
            path=str(path),
            hint="list the applications with kubectl get applications.argoproj.io -o json or "
            "argocd app list -o json, which print it",
        )


def _unassessed(sync: Sync, before: str) -> Sync:
    """``sync`` failed and unfinished: Argo CD had not compared the application since it
    (``before`` says when it did)."""
    return replace(
        sync,
        status="failed",
        reason=f"{HEALTH}{UNASSESSED}: {before}",
        finished_at=None,
        health=UNASSESSED,
        applied_at=sync.finished_at,
    )


def _compared_before(
    item: dict[str, Any], sync: Sync, status: str, name: str, path: Path
) -> str | None:
    """Why the application's health and sync status are not of ``sync`` (its last history
    entry): Argo CD last compared it (``status.reconciledAt``) before the sync ended, or in
    the second the sync started and ended in; None when it compared it after. An application
    that does not say when it was compared is refused."""
    value = dig(item, "status", "reconciledAt")
    what = f"application {name}: status.reconciledAt"
    if value is None:
        raise InputError(
            f"{what} is missing, so whether its health ({sync.origin}) was assessed after the "
            "sync cannot be known",
            path=str(path),
            hint="list the applications with kubectl get applications.argoproj.io -o json or "
            "argocd app list -o json, which print it",
        )
    expect(isinstance(value, str), path, f"{what} is not a time")
    at = moment(value, path, what)
    ended = moment(sync.finished_at, path, sync.origin) if sync.finished_at else at
    began = moment(sync.started_at, path, sync.origin)
    if at >= ended and at > began:
        return None
    return (
        f"Argo CD last compared the application at {value}, not after the sync "
        f"({sync.started_at} to {sync.finished_at}), so the health it shows ({status}) is of "
        "what ran before the sync: whether the sync's workload runs is not known yet"
    )


def _healthy_since(item: dict[str, Any], sync: Sync, name: str, path: Path) -> str | None:
    """When a ``Healthy`` application became so (``status.health.lastTransitionTime``, which
    Argo CD moves only when the health changes), where that is after ``sync`` ended: the
    workload was still rolling out (``Progressing``) or failing when the sync was applied, and
    the cluster ran the commit healthily only from then. None where it was already ``Healthy``
    when the sync ended, or where the application does not say (older Argo CD)."""
    value = dig(item, "status", "health", "lastTransitionTime")
    if value is None:
        return None
    at = time_text(value, path, f"application {name}: status.health.lastTransitionTime")
    ended = moment(sync.finished_at, path, sync.origin) if sync.finished_at else at[1]
    return at[0] if at[1] > ended else None


def _drifted(sync: Sync, reason: str) -> Sync:
    """``sync`` failed by drift: the cluster no longer runs what it applied."""
    return replace(
        sync, status="failed", reason=reason, health=DRIFTED, applied_at=sync.finished_at
    )


def status_part(
    item: dict[str, Any], part: str, field: str, path: Path
) -> tuple[dict[str, Any], str | None]:
    """The application's ``status.PART`` object (empty when absent) and its text ``FIELD``
    (None when absent); either of another shape is refused."""
    name = item["metadata"]["name"]
    found = optional(
        dig(item, "status", part), dict, path, f"application {name}: status.{part} is not an object"
    )
    text = optional(
        (found or {}).get(field),
        str,
        path,
        f"application {name}: status.{part}.{field} is not text",
    )
    return found or {}, text


def _health(item: dict[str, Any], sync: Sync, name: str, path: Path) -> str:
    """The application's ``status.health.status``; none is refused."""
    _, status = status_part(item, "health", "status", path)
    if not status:
        raise InputError(
            f"application {name}: no status.health.status, so whether its latest sync "
            f"({sync.origin}) left a running workload cannot be known",
            path=str(path),
            hint="list the applications with kubectl get applications.argoproj.io -o json or "
            "argocd app list -o json, which print their health",
        )
    return str(status)


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


def _drift(item: dict[str, Any], name: str, path: Path, newest: Compared | None) -> str | None:
    """Why nothing shows the cluster still runs what the latest sync applied, from
    ``status.sync`` and the application's annotations (``_skipped``, ``_compared``,
    ``_unwatched``); None when it is ``Synced`` with the sources the sync rendered and covers
    every field that chooses what runs."""
    compared, status = status_part(item, "sync", "status", path)
    if not status:
        raise InputError(
            f"application {name}: no status.sync.status, so whether the cluster still runs what "
            "its latest sync applied cannot be known",
            path=str(path),
            hint="list the applications with kubectl get applications.argoproj.io -o json or "
            "argocd app list -o json, which print their sync status",
        )
    found = (
        _skipped(item, name, path)
        or _frozen(item, newest, name, path)
        or _compared(item, compared, status, name, path)
    )
    return found if found is not None else _unwatched(item, status, path)


def _skipped(item: dict[str, Any], name: str, path: Path) -> str | None:
    """Why the application's status is no longer kept up to date, where its annotation
    ``SKIP`` is true (as Go's ``strconv.ParseBool`` reads it, spaces aside): Argo CD then
    stops processing it and leaves its status as it was (``docs/user-guide/
    skip_reconcile.md``), so a ``Synced`` and ``Healthy`` written before say nothing of now."""
    annotations = dig(item, "metadata", "annotations")
    expect(
        annotations is None or isinstance(annotations, dict),
        path,
        f"application {name}: metadata.annotations is not an object",
    )
    value = (annotations or {}).get(SKIP)
    expect(
        value is None or isinstance(value, str),
        path,
        f"application {name}: metadata.annotations {SKIP} is not text",
    )
    if value is None or value.strip() not in TRUE:
        return None
    return (
        f"{DRIFT}not kept up to date: the application has {SKIP}: {value!r}, so Argo CD no "
        "longer compares it nor updates its status: nothing shows the cluster still runs what "
        "the sync applied"
    )


def newest_comparison(
    items: list[dict[str, Any]], reconciliation: int = RECONCILIATION_S
) -> Compared | None:
    """The application of ``items`` (one listing, of one Argo CD) that Argo CD compared last,
    and when (``status.reconciledAt``), with how far behind it another may be compared, Argo
    CD comparing each every ``reconciliation`` seconds; None where none says. A time that
    cannot be read is passed over here: an application judged refuses it
    (``_compared_before``)."""
    found: list[tuple[int, str, str]] = []
    for item in items:
        value = dig(item, "status", "reconciledAt")
        try:
            at = timestamp_ns(check_timestamp(value)) if isinstance(value, str) else None
        except ValueError:
            at = None
        if at is not None:
            found.append((at, str(item["metadata"]["name"]), value))
    if not found:
        return None
    at, name, value = max(found)
    return Compared(name, value, at, reconciliation + MARGIN_S)


def _frozen(item: dict[str, Any], newest: Compared | None, name: str, path: Path) -> str | None:
    """Why the application's status is no longer kept up to date, where Argo CD compared
    another application of the same listing more than ``Compared.within`` after it last
    compared this one: it compares every application every ``timeout.reconciliation`` (three
    minutes, and up to a minute's jitter, by default), so a status left that far behind is one
    it no longer processes (its cluster's secret annotated ``SKIP``, its namespace no longer
    watched, a shard of the controller stopped), whatever it says."""
    value = dig(item, "status", "reconciledAt")
    if newest is None or not isinstance(value, str) or newest.name == name:
        return None
    at = moment(value, path, f"application {name}: status.reconciledAt")
    if newest.at - at <= newest.within * 10**9:
        return None
    span = newest.within
    shown = f"{span // 60} minutes" if span % 60 == 0 else f"{span} seconds"
    return (
        f"{DRIFT}not kept up to date: Argo CD last compared the application at {value}, more "
        f"than {shown} before it compared application {newest.name} of the same listing "
        f"({newest.value}), though it compares each every few minutes: its status "
        "is frozen (its cluster's secret annotated skip-reconcile, its namespace no longer "
        "watched), so nothing shows the cluster still runs what the sync applied; list the "
        "applications again once Argo CD compares it (argocd app get --refresh), or give "
        "--reconciliation-timeout where argocd-cm raises timeout.reconciliation"
    )


def _compared_revision(compared: dict[str, Any]) -> str:
    """The revision(s) ``status.sync`` compared with, as shown."""
    revisions = compared.get("revisions")
    if isinstance(revisions, list) and revisions:
        return ", ".join(str(r) for r in revisions)
    return str(compared.get("revision"))


def _unwatched(item: dict[str, Any], status: str, path: Path) -> str | None:
    """Why the sync status vouches for nothing where the application ignores differences in
    fields that choose what runs (``argocd_ignored.unwatched``); None where it ignores none."""
    shown = argocd_ignored.unwatched(item, path)
    if shown is None:
        return None
    return (
        f"{DRIFT}{status} does not cover {shown}: Argo CD no longer compares those fields, so "
        "a change made by hand there after the sync would show no drift: nothing shows the "
        "cluster still runs what it applied"
    )


def _compared(
    item: dict[str, Any], compared: dict[str, Any], status: str, name: str, path: Path
) -> str | None:
    """Why the comparison does not show the cluster runs what the latest sync applied: it
    rendered the manifests otherwise (``_rendered_otherwise``), or found drift at the synced
    revision (``status`` not ``Synced``), or compared another revision and found a difference;
    None when it is ``Synced`` with the sources the sync rendered."""
    history = dig(item, "status", "history")
    latest = history[-1] if isinstance(history, list) and history else {}
    otherwise = _rendered_otherwise(latest, compared, name, path)
    if otherwise is not None:
        return (
            f"{DRIFT}{status} compares the live objects with manifests rendered otherwise "
            f"({otherwise}) than the synced ones: the Application's sources changed since the "
            "sync, so nothing shows the cluster still runs what the sync applied"
        )
    if status == "Synced":
        return None
    if not compared.get("revision") and not compared.get("revisions"):
        return (
            f"{DRIFT}{status} with no revision compared: Argo CD compared the live objects with "
            "nothing, so nothing shows the cluster runs what the sync applied"
        )
    if not _same_revision(latest, compared):
        return (
            f"{DRIFT}{status} compares the live objects with another revision "
            f"({_compared_revision(compared)}) than the synced one: Argo CD has not compared "
            "them with what the sync applied since, so nothing shows the cluster still runs it"
        )
    shown = _out_of_sync(item, name, path)
    return (
        f"{DRIFT}{status} at the synced revision"
        + (f" ({shown})" if shown else "")
        + ": the live objects no longer match what the sync applied"
    )


def _rendered_otherwise(entry: Any, compared: dict[str, Any], name: str, path: Path) -> str | None:
    """The fields (``source.kustomize``) in which the sources Argo CD last compared with
    (``status.sync.comparedTo``: the spec's when it compared) differ from those the latest
    sync recorded, ``targetRevision`` aside (the revision is compared on its own); None where
    they are the same, or either records none (an older Argo CD). An image set since with
    ``argocd app set --kustomize-image``, the live Deployment set by hand to match, is
    ``Synced`` at the synced revision while the cluster runs what no sync applied."""
    seen = optional(
        compared.get("comparedTo"),
        dict,
        path,
        f"application {name}: status.sync.comparedTo is not an object",
    )
    synced = _rendered(entry)
    now = _rendered(seen)
    if synced is None or now is None or synced == now:
        return None
    field = "sources" if len(synced) > 1 or len(now) > 1 else "source"
    differ = [
        f"{field}{f'[{n}]' if field == 'sources' else ''}.{key}"
        for n, (left, right) in enumerate(zip(synced, now, strict=False))
        for key in sorted(set(left) | set(right))
        if left.get(key) != right.get(key)
    ]
    return ", ".join(differ[:SHOWN]) or f"{len(synced)} sources synced, {len(now)} compared"


def _rendered(where: Any) -> list[dict[str, Any]] | None:
    """The sources ``where`` (a history entry, ``comparedTo``) records, ``sources`` before
    ``source`` as Argo CD writes them, each without ``targetRevision``; None where it records
    none or they are not objects (``argocd._sources`` refuses those)."""
    if not isinstance(where, dict):
        return None
    listed = where.get("sources") or ([where["source"]] if where.get("source") else None)
    if not isinstance(listed, list) or not all(isinstance(s, dict) for s in listed):
        return None
    return [{k: v for k, v in s.items() if k != "targetRevision"} for s in listed]


def _out_of_sync(item: dict[str, Any], name: str, path: Path) -> str:
    """The resources Argo CD found other than the manifests, as a reason quotes them."""
    resources = objects(
        dig(item, "status", "resources"), path, f"application {name}: status.resources"
    )
    drifted = sorted(
        f"{r.get('kind')} {r.get('name')}"
        for r in resources
        if r.get("status") not in (None, "Synced")
    )
    return ", ".join(drifted[:SHOWN]) + (
        f" and {len(drifted) - SHOWN} more" if drifted[SHOWN:] else ""
    )


def _same_revision(entry: Any, compared: dict[str, Any]) -> bool:
    """Whether Argo CD compared the live state with the revision(s) of the history ``entry``."""
    if not isinstance(entry, dict):
        return False
    if entry.get("revisions") or compared.get("revisions"):
        return bool(entry.get("revisions") == compared.get("revisions"))
    return bool(entry.get("revision")) and entry.get("revision") == compared.get("revision")
