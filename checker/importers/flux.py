"""``knightwatch import flux``: deployment records from Flux's ``Kustomization`` and
``HelmRelease`` objects, one listing per cluster (Flux runs in each cluster it deploys to):
``kubectl --context CLUSTER get kustomizations.kustomize.toolkit.fluxcd.io -A -o json``.

A Kustomization's ``status.history`` (kustomize-controller v1.7 and later) holds one snapshot
per applied set of manifests and outcome, newest first: ``metadata.revision``
(``main@sha1:<sha>``, or ``main/<sha>`` before Flux 2.0), ``firstReconciled``,
``lastReconciled`` and ``lastReconciledStatus``; ``ReconciliationSucceeded`` is a sync that
succeeded, any other status (``HealthCheckFailed``, ``ReconciliationFailed``, ``PruneFailed``)
one that failed; ``status.lastAttemptedRevision`` where the newest snapshot is not of it, an
attempt still under way or ended before a snapshot was written (``flux_attempts``).
Flux updates a snapshot in place when the same manifests are applied again (fluxcd/pkg
``History.Upsert``: ``firstReconciled`` kept, the snapshot moved to the front), so a rollback
to an earlier revision is no new snapshot: a snapshot listed before one that was first
reconciled after it came back after that one's ``lastReconciled``, within one
``spec.interval`` (Flux reconciles the current revision every interval). The newest
successful snapshot must be ``status.lastAppliedRevision``.

A HelmRelease's ``status.history`` (helm.toolkit.fluxcd.io/v2) holds one snapshot per Helm
release, ordered by its ``version``: ``chartVersion``, ``lastDeployed`` (when that release
was deployed; Helm copies ``firstDeployed`` from the first release to every later one),
``configDigest`` (its values) and ``status`` (``deployed`` and ``superseded`` succeeded,
``failed``, ``uninstalled`` and ``uninstalling`` failed, ``pending-*`` still running). A chart
Flux builds from a GitRepository with ``spec.chart.spec.reconcileStrategy: Revision`` carries
the commit in its version's build metadata (``1.2.3+0a1b2c3d4e5f``; with any other strategy or
source the version, build metadata included, is the chart's own, a claim
(``_commit_stamped``); from an OCI repository the build metadata is the start of the
snapshot's ``ociDigest`` instead, no commit); any other chart version must be mapped with
``--revision-commit``, and a chart version deployed with different values is mapped per release
(``--revision-commit 1.2.0@sha256:...=SHA``, the snapshot's ``configDigest``). A release Helm
records as ``deployed`` or ``superseded`` whose own test (``testHooks``) ``Failed`` did not
succeed, and one whose test is still ``Running`` is unfinished. ``status.lastAttemptedRevision``
and ``lastAttemptedConfigDigest`` (set before each Helm action) must be a release the history
holds, or the object is refused (``_attempt_released``). Helm writes ``lastDeployed`` as an
action begins and then waits for the resources, so a release that succeeded is dated when that
wait had ended at the latest (``_waited``): the action's timeout later, or when its test or the
next release began.

Flux assesses health only where asked: a Kustomization without ``spec.wait: true`` or
``spec.healthChecks`` (Flux's default; an empty list is none) reports
``ReconciliationSucceeded`` once the manifests are applied (kustomize-controller
``checkHealth`` returns at once), and Helm does not wait for the resources of a release whose
action has ``disableWait``. Such a success says nothing of whether the new pods ever became
ready, so it is recorded ``failed``, naming the missing health assessment. So is one whose
``spec.healthChecks`` (without ``spec.wait``, which replaces them) name no workload whose
rollout Flux checks (``WORKLOADS``: a Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod or
Job): kstatus takes a ConfigMap or Secret as always ready and a Namespace as current once it
exists, Flux skips the Kustomization itself, and a HelmRelease, another Kustomization or a
custom resource is as ready as its own controller says, which the Kustomization does not
show. A workload counts only where the Kustomization applied it (one of its
``status.inventory`` entries): a health check of another service's Deployment says nothing of
this one's pods, and a listing without the inventory cannot show it is not that; and every
workload in the inventory must be checked, as Flux waits for the entries it is given and no
more (a migration Job that completed says nothing of the Deployment's pods). An entry
without ``kind`` or ``name`` (both required by Flux's CRD) is refused.

``disableWaitForJobs`` hides failure too, and is read as ``disableWait`` is: Helm then waits
for the release's other resources but not for its Jobs to complete (helm-controller's
``Wait``, in ``internal/action/wait.go``, takes a Job that has started as ready, where
``WaitWithJobs`` waits for it to complete), so a release whose migration or batch Job then
fails stays ``deployed``. Whether the chart has a Job the HelmRelease does not say, so the
release is recorded ``failed`` either way. (Hook Jobs are waited for regardless:
``WatchUntilReady`` waits for them to complete.)

``lastAppliedRevision`` alone does not say when a revision was applied: an object without
``status.history`` is refused, rather than dated by guess.

A Kustomization of an OCI artifact records its digest as the revision (``TAG@sha256:...``) and
the artifact's ``org.opencontainers.image.revision`` as ``originRevision``: what whoever pushed
it wrote, never checked by Flux. It is not taken as the commit deployed; the digest must be
mapped with ``--revision-commit`` like any revision that names no commit, and the refusal
quotes the claim. A mapping to another commit of the repository than the claim names is
refused (``gitops._contradicted``): the claim is no proof, but a mapping it contradicts is
one of two words of which one is wrong.

Images, patches or variables a Kustomization sets, values, values from a ConfigMap or Secret
or post renderers a HelmRelease sets, change what Flux renders from the revision: each success
is recorded ``failed``, naming them (``flux_overrides``), unless the commit deployed holds the
object's manifest setting exactly the same (``in_git.restored``, once commits are known).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.models import Status, timestamp_ns
from checker.importers import common, flux_attempts, flux_disabled, flux_overrides
from checker.importers.common import dig, expect, named_ref
from checker.importers.gitops import UNASSESSED, Sync
from checker.importers.k8s_shapes import time_text

WHAT = (
    "Flux Kustomization or HelmRelease objects (kubectl get kustomizations.kustomize."
    "toolkit.fluxcd.io -o json, or helmreleases.helm.toolkit.fluxcd.io)"
)
KINDS = ("Kustomization", "HelmRelease")
_GIT_REVISION = re.compile(r"^(?:\S*@)?sha1:([0-9a-f]{40})$|^(?:\S+/)?([0-9a-f]{40})$")
_CHART_COMMIT = re.compile(r"^[^+]+\+([0-9a-f]{7,40})$")
HELM_STATUS: dict[str, Status] = {
    "deployed": "succeeded",
    "superseded": "succeeded",
    "failed": "failed",
    # A release uninstalled afterwards, or a failed install that Flux's remediation removed:
    # which of the two, the snapshot does not say, so it never counts as running.
    "uninstalled": "failed",
    "uninstalling": "failed",
}
WORKLOADS = frozenset({
    ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"), ("extensions", "Deployment"), ("extensions", "DaemonSet"),
    ("extensions", "ReplicaSet"), ("", "Pod"), ("batch", "Job"),
})  # fmt: skip
"""The API groups and kinds of a ``spec.healthChecks`` entry whose check is a workload's
rollout: kstatus (fluxcd/cli-utils ``pkg/kstatus/status/core.go``, ``legacyTypes``) computes
their readiness from their replicas and pods, and kustomize-controller reads a Job as ready only
once complete (fluxcd/pkg ``runtime/statusreaders/job.go``). Anything else says nothing of one:
kstatus takes a ConfigMap, Secret or CronJob as always ready, and a kind without ``Ready``,
``Reconciling`` or ``Stalled`` conditions (a Namespace, a ServiceAccount) as current once it
exists; a HelmRelease, another Kustomization or a custom resource is as ready as its own
controller says, which this object does not show (a HelmRelease with ``disableWait`` is
``Ready`` without waiting for anything); and Flux skips the Kustomization itself."""
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job")
HELM_ACTIONS = ("install", "upgrade", "rollback")
"""The Helm actions whose wait a HelmRelease can disable (``spec.<action>.disableWait``)."""
HELM_WAITS = ("disableWait", "disableWaitForJobs")
"""The fields of a Helm action that disable its wait, the broader first: ``disableWait``
(helm-controller's ``getWaitStrategy``: hooks only), ``disableWaitForJobs`` (Helm's
``WaitForJobs`` false: ``Wait`` rather than ``WaitWithJobs``, Jobs not waited to complete)."""
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


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


def git_ref(revision: str) -> str | None:
    """The branch or tag a Flux source revision names (``main`` of ``main@sha1:SHA``,
    ``v1.2.3`` of ``v1.2.3@sha1:SHA``, ``main`` of ``refs/heads/main@sha1:SHA``), for the
    record's ``ref``: None for a bare ``sha1:SHA``, an OCI or chart revision, or a name git
    does not allow (a ref is never judged)."""
    name, at, rest = revision.rpartition("@")
    if not at:
        name, slash, rest = revision.rpartition("/")
        if not slash or not re.fullmatch(r"[0-9a-f]{40}", rest):
            return None
    elif not rest.startswith("sha1:"):
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        name = name.removeprefix(prefix)
    return named_ref(name)


def git_commit(revision: str) -> str | None:
    """The commit in a Flux source revision (``main@sha1:SHA``, ``main/SHA``) or in a chart
    version's build metadata (``1.2.3+SHA``), else None (an OCI digest, a chart version: for
    ``--revision-commit``)."""
    match = _GIT_REVISION.match(revision)
    if match:
        return match.group(1) or match.group(2)
    chart = _CHART_COMMIT.match(revision)
    return chart.group(1) if chart else None


def interval(item: dict[str, Any], path: Path) -> timedelta:
    """The object's ``spec.interval`` (a Go duration, ``10m0s``)."""
    return _duration(item, ("spec", "interval"), path)


def _duration(item: dict[str, Any], keys: tuple[str, ...], path: Path) -> timedelta:
    """A Go duration (``10m0s``) of the object, at ``keys``."""
    text = dig(item, *keys)
    name = item["metadata"]["name"]
    parts = _DURATION.findall(text) if isinstance(text, str) else []
    if not parts or "".join(a + b for a, b in parts) != text:
        raise InputError(
            f"{item['kind']} {name}: {'.'.join(keys)} {text!r} is not a duration (10m0s)",
            path=str(path),
        )
    return timedelta(seconds=sum(float(a) * _UNIT_SECONDS[b] for a, b in parts))


def syncs(
    item: dict[str, Any], cluster: str, path: Path, listed: list[dict[str, Any]]
) -> list[Sync]:
    """The syncs one object's history records on ``cluster``; ``listed`` is every object of
    its listing, its parent Kustomization among them (``flux_overrides.parent_folder``)."""
    kind, name = item["kind"], item["metadata"]["name"]
    status = item.get("status")
    expect(
        isinstance(status, dict) or status is None, path, f"{kind} {name}: status is not an object"
    )
    _check_not_remote(item, cluster, path)
    history = dig(item, "status", "history")
    if not isinstance(history, list) or not history:
        raise InputError(
            f"{kind} {name} has no status.history: when each revision was applied cannot be "
            "known from lastAppliedRevision alone",
            path=str(path),
            hint="Flux records history from kustomize-controller v1.7 and helm-controller "
            "v1.0 (helm.toolkit.fluxcd.io/v2) on; upgrade, or record these deployments by hand",
        )
    for index, entry in enumerate(history, start=1):
        expect(
            isinstance(entry, dict),
            path,
            f"{kind} {name} on {cluster}, history entry #{index}: not a history entry",
        )
    if kind == "HelmRelease":
        stamped = _commit_stamped(item, path)
        found = _releases(history, name, cluster, path, _waits_skipped(item, path), stamped)
        found = _waited(found, history, _helm_timeouts(item, path))
        _attempt_released(item, history, f"HelmRelease {name} on {cluster}", path)
    else:
        found = flux_disabled.marked(item, _kustomization(item, history, cluster, path))
    return flux_overrides.applied(item, flux_disabled.own(item, found), path, listed)


def other_namespace(
    item: dict[str, Any], cluster: str, wanted: str | None, path: Path
) -> str | None:
    """Why the object is left out, where its ``spec.targetNamespace`` is another namespace
    than ``wanted`` (fleet.yaml's for the service on ``cluster``); None otherwise. Flux renders
    everything it applies into that namespace (a HelmRelease's release too), so the one the
    service runs in keeps what it ran: set by hand, it would take the reviewed commit to a
    scratch namespace and record it succeeded here. Without one, a Kustomization's manifests
    name their namespaces, as git says, and a HelmRelease installs into its own namespace
    (``_release_namespace``)."""
    kind, name = item["kind"], item["metadata"]["name"]
    target = dig(item, "spec", "targetNamespace")
    expect(
        target is None or isinstance(target, str),
        path,
        f"{kind} {name}: spec.targetNamespace is not a string",
    )
    if wanted is None:
        return None
    if target:
        where = None if target == wanted else f"{target} (spec.targetNamespace)"
    elif kind == "HelmRelease":
        where = _release_namespace(item, wanted, path)
    else:
        return None
    if where is None and kind == "HelmRelease":
        # A snapshot records where that release went, whatever targetNamespace says now.
        where = _released_elsewhere(item, wanted, path)
    if where is None:
        return None
    return (
        f"{kind} {name} on {cluster} left out: it deploys to namespace {where}, where "
        f"fleet.yaml runs the service in namespace {wanted}"
    )


def _release_namespace(item: dict[str, Any], wanted: str, path: Path) -> str | None:
    """Where a HelmRelease without ``spec.targetNamespace`` installed its release, as shown,
    where that is not ``wanted``; None where it is. helm-controller installs it into the
    HelmRelease's own ``metadata.namespace`` (``GetReleaseNamespace``), and each snapshot of
    ``status.history`` records the namespace of its release: one of another namespace, or an
    object that names none, is not the service's. ``spec.storageNamespace`` only says where
    Helm keeps its release records, not where the chart's resources run."""
    name = item["metadata"]["name"]
    own = dig(item, "metadata", "namespace")
    expect(
        own is None or isinstance(own, str), path, f"HelmRelease {name}: metadata.namespace "
        "is not a string"
    )  # fmt: skip
    if own != wanted:
        return f"{own} (metadata.namespace)" if own else "none (no metadata.namespace)"
    return None


def _released_elsewhere(item: dict[str, Any], wanted: str, path: Path) -> str | None:
    """The namespace of a release of the HelmRelease's ``status.history`` other than
    ``wanted``, as shown; None where every snapshot's is ``wanted`` (or unrecorded). Each
    snapshot records where helm-controller installed that release. It clears the history
    when the namespace changes, so one of another namespace beside a ``spec.targetNamespace``
    of ``wanted`` shows a spec changed since it last reconciled (suspended, say): that release
    went there, and the service's namespace kept what it ran."""
    name = item["metadata"]["name"]
    history = dig(item, "status", "history")
    for entry in history if isinstance(history, list) else []:
        released = entry.get("namespace") if isinstance(entry, dict) else None
        expect(
            released is None or isinstance(released, str),
            path,
            f"HelmRelease {name}: status.history[].namespace is not a string",
        )
        if released is not None and released != wanted:
            version = entry.get("version")
            return f"{released} (status.history, release version {version})"
    return None


def _check_not_remote(item: dict[str, Any], cluster: str, path: Path) -> None:
    """Refuse an object whose ``spec.kubeConfig`` names a kubeconfig (``secretRef``, or since
    Flux 2.7 ``configMapRef`` for a cloud provider's workload identity): Flux applies what it
    renders to that kubeconfig's cluster, not to the one whose listing holds it (kustomize-
    controller's ``docs/spec/v1/kustomizations.md``, "KubeConfig (Remote clusters)"), so its
    history says nothing of what ``cluster`` runs. Set by hand, it would take a revision to
    another cluster while this one keeps what it ran, and record it succeeded here."""
    kind, name = item["kind"], item["metadata"]["name"]
    remote = dig(item, "spec", "kubeConfig")
    if remote in (None, {}):
        return
    refs = [
        f"{key} {dig(remote, key, 'name')}"
        for key in ("secretRef", "configMapRef")
        if isinstance(remote, dict) and dig(remote, key) is not None
    ]
    raise InputError(
        f"{kind} {name}: spec.kubeConfig ({', '.join(refs) or 'not a kubeconfig reference'}) "
        f"applies what it renders to the cluster of that kubeconfig, not to cluster {cluster}, "
        "whose listing holds it: its history says nothing of what that cluster runs",
        path=str(path),
        hint="import the object that applies the service in each cluster itself; an object "
        "that applies it to a remote cluster is not read: record those deployments by hand",
    )


def _unassessed(item: dict[str, Any], path: Path) -> str | None:
    """Why a Kustomization's successes say nothing of health, or None where Flux assessed it:
    with neither ``spec.wait: true`` nor a ``spec.healthChecks`` entry (an empty list is none:
    kustomize-controller's ``len(obj.Spec.HealthChecks) == 0``), it applies the manifests and
    reports ``ReconciliationSucceeded`` without waiting for any workload; with entries none of
    which is a workload whose rollout Flux checks (``WORKLOADS``) among the objects it applied
    (``status.inventory``), it waits for nothing that says whether its own pods became ready;
    with some of those workloads left out, for nothing that says whether theirs did."""
    name = item["metadata"]["name"]
    wait, checks = dig(item, "spec", "wait"), dig(item, "spec", "healthChecks")
    expect(
        wait is None or isinstance(wait, bool),
        path,
        f"Kustomization {name}: spec.wait is not a boolean",
    )
    expect(
        checks is None or isinstance(checks, list),
        path,
        f"Kustomization {name}: spec.healthChecks is not a list",
    )
    read = [_health_check(item, index, entry, path) for index, entry in enumerate(checks or [], 1)]
    if wait:
        return None
    if not read:
        return (
            f"{UNASSESSED}: Kustomization {name} has neither spec.wait: true nor "
            "spec.healthChecks, so Flux reported ReconciliationSucceeded once the manifests "
            "were applied, without waiting for the workloads to become ready"
        )
    applied = _inventory(item, path)
    if not any(check.workload and check.ident in (applied or ()) for check in read):
        return _unchecked_reason(name, read, applied)
    return _left_out(name, read, applied or set())


def _left_out(name: str, read: list[_Check], applied: set[str]) -> str | None:
    """Why health checks of some of the workloads the Kustomization applied say nothing of
    the others (Flux waits for the entries it is given, no more: a migration Job that
    completed says nothing of the Deployment's pods, nor a Deployment of its Job), or None
    where every workload in ``status.inventory`` is checked."""
    checked = {check.ident for check in read if check.workload}
    unchecked = sorted(_workload(ident) for ident in applied - checked if _workload(ident))
    if not unchecked:
        return None
    listed = ", ".join(unchecked[:3]) + (f" and {len(unchecked) - 3} more" if unchecked[3:] else "")
    return (
        f"{UNASSESSED}: Kustomization {name} has no spec.wait: true, and its spec.healthChecks "
        f"leave out workloads it applied (status.inventory): {listed}, so Flux reported "
        "ReconciliationSucceeded without waiting for those to become ready"
    )


def _workload(ident: str) -> str:
    """How to name the object of an inventory id (``NAMESPACE_NAME_GROUP_KIND``, read from
    the right: a group or kind holds no ``_``, and a name's ``:`` is written ``__``) where it
    is a workload whose rollout Flux checks (``WORKLOADS``); else ""."""
    parts = ident.rsplit("_", 2)
    if len(parts) != 3 or (parts[1], parts[2]) not in WORKLOADS:
        return ""
    namespace, _, name = parts[0].partition("_")
    name = name.replace("__", ":")
    return f"{parts[2]} {namespace}/{name}" if namespace else f"{parts[2]} {name}"


def _unchecked_reason(name: str, read: list[_Check], applied: set[str] | None) -> str:
    """Why health checks that name no workload of the Kustomization's own say nothing."""
    named = [check.shown for check in read]
    listed = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if named[3:] else "")
    if applied is None and any(check.workload for check in read):
        why = (
            "but it lists no status.inventory, so whether they name a workload it applied "
            "cannot be told"
        )
    elif any(check.workload for check in read):
        why = "but none of those workloads is among the objects it applied (status.inventory)"
    else:
        why = ""
    return (
        f"{UNASSESSED}: Kustomization {name} has no spec.wait: true, and its spec.healthChecks "
        f"name no workload whose rollout Flux checks ({', '.join(WORKLOAD_KINDS)}), only "
        f"{listed}{', ' + why if why else ''}, so Flux reported ReconciliationSucceeded "
        "without waiting for the workloads to become ready"
    )


def _inventory(item: dict[str, Any], path: Path) -> set[str] | None:
    """The ids of the objects the Kustomization applied last (``status.inventory.entries``,
    each ``NAMESPACE_NAME_GROUP_KIND`` as fluxcd/cli-utils' ``ObjMetadata`` writes it), or None
    where the listing has no inventory (kustomize-controller sets it on every apply)."""
    inventory = dig(item, "status", "inventory")
    if inventory is None:
        return None
    entries = inventory.get("entries") if isinstance(inventory, dict) else None
    expect(
        isinstance(entries, list | None)
        and all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in entries or []),
        path,
        f"Kustomization {item['metadata']['name']}: status.inventory is not Flux's inventory "
        "(entries, each with an id)",
    )
    return {e["id"] for e in entries or []}


@dataclass(frozen=True)
class _Check:
    """One ``spec.healthChecks`` entry, as read."""

    workload: bool
    """Whether Flux's check of it is a workload's rollout."""
    ident: str
    """Its inventory id (``NAMESPACE_NAME_GROUP_KIND``)."""
    shown: str


def _health_check(item: dict[str, Any], index: int, entry: Any, path: Path) -> _Check:
    """One ``spec.healthChecks`` entry (Flux's ``NamespacedObjectKindReference``): whether
    Flux's check of it is a workload's rollout, its inventory id and how to name it. Its
    ``apiVersion`` defaults to ``apps/v1`` and its namespace stays empty where none is given,
    as kustomize-controller's ``ReferenceToObjMetadataSet`` does; ``kind`` and ``name`` are
    required (the CRD's schema), so an entry without either is not Flux's."""
    own = item["metadata"]["name"]
    origin = f"Kustomization {own}: spec.healthChecks entry #{index}"
    expect(isinstance(entry, dict), path, f"{origin}: not an object (kind, name, namespace)")
    kind, name = _text(entry, "kind", origin, path), _text(entry, "name", origin, path)
    version, namespace = entry.get("apiVersion"), entry.get("namespace")
    expect(
        (version is None or isinstance(version, str))
        and (namespace is None or isinstance(namespace, str)),
        path,
        f"{origin}: apiVersion or namespace is not text",
    )
    parts = (version or "apps/v1").split("/")
    group = parts[0] if len(parts) == 2 else "" if len(parts) == 1 else None
    shown = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    itself = (
        kind == "Kustomization" and name == own and namespace == dig(item, "metadata", "namespace")
    )
    ident = f"{namespace or ''}_{name.replace(':', '__')}_{group}_{kind}"
    shown += " (itself: Flux skips it)" if itself else ""
    return _Check((group, kind) in WORKLOADS, ident, shown)


def _waits_skipped(item: dict[str, Any], path: Path) -> dict[str, str]:
    """The Helm actions (``install``, ``upgrade``, ``rollback``) whose wait is disabled, each
    with the field that disables it: ``disableWait`` (Helm waited for no resource), else
    ``disableWaitForJobs`` (Helm waited for the other resources, not for its Jobs to complete:
    a Job that has started is ready to Helm's ``Wait``)."""
    name = item["metadata"]["name"]
    skipped: dict[str, str] = {}
    for action in HELM_ACTIONS:
        config = dig(item, "spec", action)
        expect(
            config is None or isinstance(config, dict),
            path,
            f"HelmRelease {name}: spec.{action} is not an object",
        )
        for field in HELM_WAITS:
            disabled = (config or {}).get(field)
            expect(
                disabled is None or isinstance(disabled, bool),
                path,
                f"HelmRelease {name}: spec.{action}.{field} is not a boolean",
            )
            if disabled:
                skipped.setdefault(action, field)
    return skipped


def _text(entry: dict[str, Any], key: str, origin: str, path: Path) -> str:
    value = entry.get(key)
    expect(isinstance(value, str) and bool(value), path, f"{origin}: no {key}")
    return str(value)


def _time(entry: dict[str, Any], key: str, origin: str, path: Path) -> tuple[str, int]:
    return time_text(entry.get(key), path, f"{origin}: {key}")


@dataclass(frozen=True)
class _Snapshot:
    """One entry of a Kustomization's history."""

    origin: str
    revision: str
    commit: str | None
    status: str
    first: tuple[str, int]
    last: tuple[str, int]
    """``lastReconciled``, as written and in nanoseconds."""
    claim: str | None = None
    """An OCI artifact's ``originRevision`` (its ``org.opencontainers.image.revision``
    annotation): what whoever pushed the artifact says it was built from, never taken as
    the commit deployed (``OCI_CLAIM``)."""
    claimed: str | None = None
    """The commit that ``originRevision`` names (``main@sha1:SHA``), where it names one."""

    def sync(self, cluster: str, at: str, done: str, how: str, path: Path) -> Sync:
        succeeded = self.status == "ReconciliationSucceeded"
        return Sync(
            cluster=cluster,
            origin=self.origin + how,
            revision=self.revision,
            commit=self.commit,
            ref=git_ref(self.revision),
            started_at=at,
            finished_at=done,
            status="succeeded" if succeeded else "failed",
            reason=None if succeeded else f"Flux reconciliation {self.status}",
            initiator="flux (kustomize-controller)",
            automated=True,
            path=str(path),
            claim=self.claim,
            claimed=self.claimed,
        )


def _unchecked(sync: Sync, unassessed: str | None) -> Sync:
    """``sync`` as ``failed`` for ``unassessed`` where Flux reported success without assessing
    the workloads' health: it applied the manifests, which is all that success says."""
    if unassessed is None or sync.status != "succeeded":
        return sync
    return replace(sync, status="failed", reason=unassessed, applied_at=sync.finished_at)


def _snapshot(entry: dict[str, Any], origin: str, path: Path) -> _Snapshot:
    meta = entry.get("metadata")
    if not isinstance(meta, dict):
        raise InputError(f"{origin}: no metadata.revision", path=str(path))
    revision = _text(meta, "revision", origin, path)
    claim = meta.get("originRevision")
    expect(claim is None or isinstance(claim, str), path, f"{origin}: originRevision is not text")
    first = _time(entry, "firstReconciled", origin, path)
    last = _time(entry, "lastReconciled", origin, path) if "lastReconciled" in entry else first
    expect(first[1] <= last[1], path, f"{origin}: lastReconciled is before firstReconciled")
    status = _text(entry, "lastReconciledStatus", origin, path)
    said = None
    if claim:
        said = (
            f"the artifact says it was built from {claim} (its originRevision, the "
            "org.opencontainers.image.revision annotation that whoever pushed it sets), which "
            "nothing ties to what was deployed"
        )
    claimed = git_commit(claim) if claim else None
    return _Snapshot(origin, revision, git_commit(revision), status, first, last, said, claimed)


def _kustomization(
    item: dict[str, Any], history: list[dict[str, Any]], cluster: str, path: Path
) -> list[Sync]:
    """Each snapshot's first reconciliation, and each return to an earlier snapshot."""
    name = item["metadata"]["name"]
    every = interval(item, path)
    origin = f"Kustomization {name} on {cluster}"
    read = [
        _snapshot(entry, f"{origin}, history entry #{index}", path)
        for index, entry in enumerate(history, start=1)
    ]
    for newer, older in itertools.pairwise(read):
        expect(
            newer.last[1] >= older.last[1],
            path,
            f"{older.origin}: reconciled last after the entry before it; Flux lists its "
            "history newest first",
        )
    applied = dig(item, "status", "lastAppliedRevision")
    newest = next((r for r in read if r.status == "ReconciliationSucceeded"), None)
    if isinstance(applied, str) and newest is not None and newest.revision != applied:
        raise InputError(
            f"Kustomization {name} on {cluster}: status.lastAppliedRevision is {applied}, but "
            f"the newest successful entry of its history is {newest.revision}: the history "
            "does not say how the cluster came to run what it runs",
            path=str(path),
        )
    unassessed = _unassessed(item, path)
    found = []
    became: int | None = None  # when the older entry last became the one applied
    for position in range(len(read) - 1, -1, -1):
        snapshot = read[position]
        found.append(snapshot.sync(cluster, snapshot.first[0], snapshot.first[0], "", path))
        if became is not None and snapshot.first[1] < became:
            # Applied again after the older entry was last reconciled: a return to it.
            since = read[position + 1].last
            done = datetime.fromtimestamp(since[1] // 1_000_000_000, UTC) + every
            stamp = done.strftime("%Y-%m-%dT%H:%M:%SZ")
            found.append(snapshot.sync(cluster, since[0], stamp, ", applied again", path))
            became = since[1]
        else:
            became = snapshot.first[1]
    revisions = [snapshot.revision for snapshot in read]
    attempt = flux_attempts.unrecorded(item, revisions, read[0].last, origin, path)
    if attempt is not None:
        found.append(_attempted(attempt, cluster, origin, path))
    return [_unchecked(sync, unassessed) for sync in found]


def _attempted(attempt: flux_attempts.Attempt, cluster: str, origin: str, path: Path) -> Sync:
    """The last attempted revision no snapshot records, as a sync that did not succeed."""
    return Sync(
        cluster=cluster,
        origin=f"{origin}, status.lastAttemptedRevision",
        revision=attempt.revision,
        commit=git_commit(attempt.revision),
        ref=git_ref(attempt.revision),
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        status="failed",
        reason=attempt.reason,
        initiator="flux (kustomize-controller)",
        automated=True,
        path=str(path),
    )


def _commit_stamped(item: dict[str, Any], path: Path) -> bool:
    """Whether Flux itself wrote the git commit into the chart version's build metadata: only
    for a chart it builds from a GitRepository with ``spec.chart.spec.reconcileStrategy:
    Revision`` (source-controller then sets the metadata to the first 12 hex of the commit,
    replacing any). With the default strategy (``ChartVersion``) the version is the chart's
    own, as whoever wrote its Chart.yaml set it, build metadata included."""
    spec = dig(item, "spec", "chart", "spec")
    name = item["metadata"]["name"]
    strategy, kind = dig(spec, "reconcileStrategy"), dig(spec, "sourceRef", "kind")
    expect(
        isinstance(strategy, str | None) and isinstance(kind, str | None),
        path,
        f"HelmRelease {name}: spec.chart.spec.reconcileStrategy or sourceRef.kind is not text",
    )
    return bool(strategy == "Revision" and kind == "GitRepository")


def _releases(
    history: list[dict[str, Any]],
    name: str,
    cluster: str,
    path: Path,
    unwaited: dict[str, str],
    stamped: bool,
) -> list[Sync]:
    """Each Helm release, in the order of its version; one deployed by an action whose wait
    ``unwaited`` names (every such action, where the snapshot does not name its ``action``)
    is ``failed``. ``stamped``: Flux wrote the commit into the chart versions."""
    found = []
    versions: set[int] = set()
    for index, entry in enumerate(history, start=1):
        origin = f"HelmRelease {name} on {cluster}, history entry #{index}"
        version = entry.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version in versions:
            raise InputError(f"{origin}: no release version, or one listed twice", path=str(path))
        versions.add(version)
        sync = _release(entry, version, origin, cluster, path, stamped)
        found.append((version, _unchecked(sync, _unwaited(entry, unwaited, name))))
    return [sync for _, sync in sorted(found, key=lambda pair: pair[0])]


HELM_TIMEOUT = timedelta(minutes=5)
"""helm-controller's default ``spec.timeout``: how long Helm waits for the resources of a
release to become ready."""


def _helm_timeouts(item: dict[str, Any], path: Path) -> dict[str, timedelta]:
    """How long Helm waited at most for each action's resources: ``spec.<action>.timeout``,
    else ``spec.timeout``, else five minutes (helm-controller's ``GetTimeout``)."""
    base = HELM_TIMEOUT
    if dig(item, "spec", "timeout") is not None:
        base = _duration(item, ("spec", "timeout"), path)
    return {
        action: _duration(item, ("spec", action, "timeout"), path)
        if dig(item, "spec", action, "timeout") is not None
        else base
        for action in HELM_ACTIONS
    }


def _waited(
    found: list[Sync], history: list[dict[str, Any]], timeouts: dict[str, timedelta]
) -> list[Sync]:
    """Each succeeded release dated when Helm's wait for it had ended at the latest, not when
    the action started: Helm writes ``lastDeployed`` as it begins an install or upgrade and
    then waits up to the action's timeout for the resources to become ready, so at
    ``lastDeployed`` the old pods may still be all that serve. The latest is the timeout
    after ``lastDeployed`` (any action's, where the snapshot names none), or earlier: when a
    Helm test of the release started (helm-controller tests a release once it is deployed),
    or when the next release began (helm-controller runs one action at a time)."""
    by_version = {entry["version"]: entry for entry in history}
    versions = sorted(by_version)
    out = []
    for index, sync in enumerate(found):
        entry = by_version[versions[index]]
        if sync.status != "succeeded" or sync.finished_at is None:
            out.append(sync)
            continue
        action = entry.get("action")
        wait = timeouts[action] if action in timeouts else max(timeouts.values())
        start = timestamp_ns(sync.started_at)
        bounds = [start + int(wait.total_seconds() * 1e9)]
        tested = [time_text(t, Path(sync.path or "-"), f"{sync.origin}: lastStarted")[1]
                  for t in _tests_started(entry)]  # fmt: skip
        bounds += [t for t in tested if t >= start]
        if index + 1 < len(found):
            bounds.append(max(start, timestamp_ns(found[index + 1].started_at)))
        done = datetime.fromtimestamp(-(-min(bounds) // 1_000_000_000), UTC)
        stamp = done.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(replace(sync, finished_at=stamp, applied_at=sync.started_at))
    return out


def _tests_started(entry: dict[str, Any]) -> list[str]:
    """When each of the release's Helm tests started, where the snapshot says (its test hooks
    were read by ``_tested``)."""
    hooks = entry.get("testHooks")
    started = [(h or {}).get("lastStarted") for h in (hooks or {}).values()]
    return [t for t in started if isinstance(t, str) and t]


def _attempt_released(
    item: dict[str, Any], history: list[dict[str, Any]], origin: str, path: Path
) -> None:
    """Refuse a HelmRelease whose last attempt no release of its history records.
    helm-controller sets ``status.lastAttemptedRevision`` (the chart version) and
    ``lastAttemptedConfigDigest`` (its values) before any Helm action, and a snapshot exists
    only for a release Helm stored; so an attempt that matches neither the newest release nor,
    after a remediation (a ``rollback`` or ``uninstall``), the release before it, is one whose
    outcome the object does not show: still before Helm's action, or failed before a release
    was stored, with the workloads of either version possibly live."""
    attempted = dig(item, "status", "lastAttemptedRevision")
    digest = dig(item, "status", "lastAttemptedConfigDigest")
    expect(
        isinstance(attempted, str) and bool(attempted) and isinstance(digest, str | None),
        path,
        f"{origin} has a status.history but no status.lastAttemptedRevision, which "
        "helm-controller sets before every Helm action: which chart it attempted last cannot "
        "be told",
    )
    ordered = sorted(history, key=lambda e: e["version"], reverse=True)
    candidates = ordered[:1]
    if ordered[0].get("action") in ("rollback", "uninstall", "uninstall-remediation"):
        candidates = ordered[:2]
    if any(
        e.get("chartVersion") == attempted and digest in (None, "", e.get("configDigest"))
        for e in candidates
    ):
        return
    newest = ordered[0]
    raise InputError(
        f"{origin}: status.lastAttemptedRevision is {attempted} with values {digest or '?'}, "
        f"but its newest release (version {newest['version']}) is {newest.get('chartVersion')} "
        f"with values {newest.get('configDigest')}: Flux attempted a release that no history "
        "entry records, so whether it is being applied, failed or ran cannot be told",
        path=str(path),
        hint="list the object again once its Ready condition is True, or record this "
        "deployment by hand",
    )


def _unwaited(entry: dict[str, Any], unwaited: dict[str, str], name: str) -> str | None:
    """Why a release's success says nothing of health: the action that made it (the
    snapshot's ``action``; any action where it names none, as older helm-controllers wrote
    snapshots) deployed it with ``disableWait``, so Helm did not wait for its resources, or
    with ``disableWaitForJobs``, so Helm did not wait for its Jobs to complete."""
    action = entry.get("action")
    if action in HELM_ACTIONS:
        skipped = [action] if action in unwaited else []
    else:
        skipped = sorted(unwaited)
    if not skipped:
        return None
    fields = " or ".join(f"spec.{a}.{unwaited[a]}" for a in skipped)
    jobs = all(unwaited[a] == "disableWaitForJobs" for a in skipped)
    return (
        f"{UNASSESSED}: HelmRelease {name} has {fields}: true, so Helm recorded the release "
        "deployed without waiting for "
        + ("its Jobs to complete" if jobs else "its resources to become ready")
    )


def _release(
    entry: dict[str, Any], version: int, origin: str, cluster: str, path: Path, stamped: bool
) -> Sync:
    """One Helm release of a HelmRelease's history, as a sync; the commit in its chart
    version's build metadata only where Flux wrote it there (``stamped``)."""
    chart = _text(entry, "chartVersion", origin, path)
    status = _text(entry, "status", origin, path)
    at = _time(entry, "lastDeployed", origin, path)[0]
    digest, oci = entry.get("configDigest"), entry.get("ociDigest")
    expect(
        (digest is None or isinstance(digest, str)) and (oci is None or isinstance(oci, str)),
        path,
        f"{origin}: configDigest or ociDigest is not text",
    )
    commit, claim = _chart_commit(chart, oci, stamped)
    running = status.startswith("pending")
    outcome = HELM_STATUS.get(status)
    if outcome is None and not running:
        raise InputError(
            f"{origin}: release status {status!r} is not one Helm records "
            f"({', '.join([*HELM_STATUS, 'pending-*'])})",
            path=str(path),
        )
    sync = Sync(
        cluster=cluster,
        origin=f"{origin} (release {version})",
        revision=chart,
        commit=commit,
        variant=digest or None,
        started_at=at,
        finished_at=None if running else at,
        status=outcome or "failed",
        reason=None if outcome == "succeeded" else f"Helm release {status}",
        initiator="flux (helm-controller)",
        automated=True,
        path=str(path),
        claim=claim,
    )
    return _tested(entry, sync, path) if outcome == "succeeded" else sync


def _chart_commit(chart: str, oci: str | None, stamped: bool) -> tuple[str | None, str | None]:
    """The commit a chart version's build metadata names, where Flux wrote it there
    (``stamped``), and else what the metadata claims: nothing from an OCI repository, whose
    build metadata is the start of its digest."""
    commit = git_commit(chart)
    if commit is None or (oci is not None and oci.split(":")[-1].startswith(commit)):
        return None, None
    if stamped:
        return commit, None
    return None, (
        f"its build metadata {commit} is the chart's own version, as its Chart.yaml says it: "
        "Flux writes the commit there only for a chart it builds from a GitRepository with "
        "spec.chart.spec.reconcileStrategy: Revision"
    )


def _tested(entry: dict[str, Any], sync: Sync, path: Path) -> Sync:
    """A deployed release as its Helm tests say: ``failed`` when a test ``Failed`` (Flux
    itself never takes such a release as a rollback target: helm-controller's
    ``Snapshots.Previous``), unfinished while one is ``Running``. A test that never ran
    (no phase: left out by ``spec.test.filters``) says nothing."""
    phases = _test_phases(entry.get("testHooks"), sync.origin, path)
    failed = sorted(p for p in phases if p not in ("Succeeded", "Running"))
    if failed:
        names = [name for phase in failed for name in phases[phase]]
        return replace(sync, status="failed", reason=_tests_said(failed[0], names))
    if "Running" in phases:
        said = _tests_said("Running", phases["Running"])
        return replace(sync, status="failed", finished_at=None, reason=said)
    return sync


def _test_phases(hooks: Any, origin: str, path: Path) -> dict[str, list[str]]:
    """The test hooks' names by the phase each reached (a hook without one never ran)."""
    expect(
        hooks is None
        or (
            isinstance(hooks, dict)
            and all(h is None or isinstance(h, dict) for h in hooks.values())
        ),
        path,
        f"{origin}: testHooks is not a map of test hooks",
    )
    phases: dict[str, list[str]] = {}
    for name, hook in sorted((hooks or {}).items()):
        phase = (hook or {}).get("phase")
        expect(
            phase is None or isinstance(phase, str),
            path,
            f"{origin}: test hook {name}: phase is not text",
        )
        if phase:
            phases.setdefault(phase, []).append(name)
    return phases


def _tests_said(phase: str, names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if names[3:] else "")
    if phase == "Running":
        return f"Helm test {shown} Running: it had not ended when the object was listed"
    return f"Helm test {shown} {phase}: the release was deployed, but its own test did not pass"
