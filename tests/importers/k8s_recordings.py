"""Kubernetes objects for tests, derived from the recordings in fixtures/kubernetes/ beside it.

Each function here copies a recorded object and changes only what a scenario needs: an
application's name, destination cluster, sync history, last operation (a selective sync) and
health; a pod's name, uid, owner, image and readiness; a Kustomization's or HelmRelease's
history. Every other field stays as the tool printed it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "kubernetes"


def _recorded(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def write_list(path: Path, items: list[dict[str, Any]]) -> Path:
    """``items`` as ``kubectl get ... -o json`` prints a List."""
    document = {
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    path.write_text(json.dumps(document, indent=4, sort_keys=True) + "\n")
    return path


@dataclass(frozen=True)
class Synced:
    """One entry of an application's ``status.history``."""

    revision: str
    started: str
    deployed: str
    by: str | None = None


def application(
    name: str,
    cluster: str,
    history: list[Synced],
    *,
    phase: str = "Succeeded",
    operation_revision: str | None = None,
    operation_at: str | None = None,
    message: str = "successfully synced (all tasks run)",
    application_set: str = "checkout",
    namespace: str = "shop",
) -> dict[str, Any]:
    """The recorded Argo CD Application, as the application ``name`` on ``cluster`` deploying
    to ``namespace``, owned by the ApplicationSet ``application_set``."""
    app = copy.deepcopy(_recorded("argocd-applications.json")["items"][0])
    without_overrides(app)
    app["metadata"]["name"] = name
    app["metadata"]["ownerReferences"][0]["name"] = application_set
    app["spec"]["destination"]["name"] = cluster
    app["spec"]["destination"]["namespace"] = namespace
    template = app["status"]["history"][0]
    entries = []
    for number, synced in enumerate(history, start=template["id"]):
        entry = copy.deepcopy(template)
        entry.update(
            id=number,
            revision=synced.revision,
            deployStartedAt=synced.started,
            deployedAt=synced.deployed,
        )
        if synced.by:
            entry["initiatedBy"] = {"username": synced.by}
        entries.append(entry)
    app["status"]["history"] = entries
    state = app["status"]["operationState"]
    last = history[-1] if history else None
    revision = operation_revision or (last.revision if last else "")
    state["phase"] = phase
    state["message"] = message
    state["operation"]["sync"]["revision"] = revision
    state["syncResult"]["revision"] = revision
    # Argo CD compares the live state with the revision it last synced: Synced there.
    app["status"]["sync"].update(status="Synced", revision=last.revision if last else "")
    state["startedAt"] = operation_at or (last.started if last else "")
    if phase == "Running":
        state.pop("finishedAt", None)
    else:
        state["finishedAt"] = operation_at or (last.deployed if last else "")
    # Argo CD compares the application again once an operation ends (the recording's
    # reconciledAt is its last sync's deployedAt): as of then.
    app["status"]["reconciledAt"] = (
        state.get("finishedAt") or state["startedAt"] or (app["status"]["reconciledAt"])
    )
    return app


def without_overrides(app: dict[str, Any]) -> dict[str, Any]:
    """``app`` without the recording's ``plugin.env`` (the Helm values and chart its plugin
    renders, set in the Application: an override of what git holds) in its ``spec``, history
    and last sync result, and in what Argo CD last compared with (``status.sync.comparedTo``,
    the spec's); the plugin's ``name`` stays."""
    state = app["status"]["operationState"]
    compared = app["status"]["sync"]["comparedTo"]
    for source in (app["spec"], *app["status"]["history"], state["syncResult"], compared):
        source["source"]["plugin"].pop("env", None)
    return app


def directory_source(app: dict[str, Any], url: str, folder: str) -> dict[str, Any]:
    """``app`` rendering ``folder`` of ``url`` as a directory source (no plugin), in its spec,
    history, last sync and last comparison alike."""
    status = app["status"]
    where = [app["spec"], *status["history"], status["operationState"]["syncResult"]]
    for holder in [*where, status["sync"]["comparedTo"]]:
        holder["source"] = {"repoURL": url, "path": folder, "targetRevision": "main"}
    return app


def overridden(app: dict[str, Any], field: str, value: Any, *, spec: bool = True) -> dict[str, Any]:
    """``app`` whose last sync rendered its source with ``field`` (``kustomize.images``,
    ``helm.parameters``: a path under ``source``) set to ``value`` in the Application, as
    ``argocd app set`` writes it: in ``spec.source`` (unless not ``spec``: set back since), in
    the last history entry's ``source`` and in the last sync result's, and in the source Argo
    CD last compared with (``status.sync.comparedTo``: the spec's)."""
    state = app["status"]["operationState"]
    targets = [app["status"]["history"][-1], state["syncResult"]]
    compared = app["status"]["sync"]["comparedTo"]
    for entry in [app["spec"], compared, *targets] if spec else targets:
        where = entry["source"]
        *parents, last = field.split(".")
        for key in parents:
            where = where.setdefault(key, {})
        where[last] = copy.deepcopy(value)
    return app


@dataclass(frozen=True)
class RunningPod:
    """A pod of a Deployment's ReplicaSet, as a scenario needs it."""

    name: str
    workload: str
    template_hash: str
    image: str
    digest: str
    ready: bool = True
    namespace: str = "default"
    annotations: tuple[tuple[str, str], ...] = ()
    phase: str = "Running"
    """``Pending``: scheduled, its container still being created (no image pulled yet);
    ``Unknown``: its node stopped reporting (the last status kept); ``Succeeded``: ended."""
    terminating: bool = False
    """Being deleted (``metadata.deletionTimestamp``), its container still running."""
    container: str | None = None
    """Its container's name, where not the recording's (``queue``)."""


def pod(spec: RunningPod) -> dict[str, Any]:
    """The recorded pod, as ``spec`` says."""
    item = copy.deepcopy(_recorded("kubectl-pods-minikube.json")["items"][0])
    meta = item["metadata"]
    meta["name"] = spec.name
    meta["namespace"] = spec.namespace
    # Each pod has its own uid: the recording's, turned into one per name and namespace.
    meta["uid"] = str(uuid.uuid5(uuid.UUID(meta["uid"]), f"{spec.namespace}/{spec.name}"))
    meta["generateName"] = f"{spec.workload}-{spec.template_hash}-"
    meta["labels"]["pod-template-hash"] = spec.template_hash
    meta["ownerReferences"][0]["name"] = f"{spec.workload}-{spec.template_hash}"
    if spec.annotations:
        meta["annotations"] = dict(spec.annotations)
    item["spec"]["containers"][0]["image"] = spec.image
    status = item["status"]["containerStatuses"][0]
    if spec.container:
        item["spec"]["containers"][0]["name"] = status["name"] = spec.container
    repository = spec.image.split("@")[0].rsplit(":", 1)[0]
    status["image"] = spec.image
    status["imageID"] = f"docker-pullable://{repository}@{spec.digest}"
    status["ready"] = spec.ready
    for condition in item["status"]["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition["status"] = "True" if spec.ready else "False"
    if spec.terminating:  # as the API server marks a pod it was asked to delete
        meta["deletionTimestamp"] = "2024-06-04T10:59:30Z"
        meta["deletionGracePeriodSeconds"] = item["spec"]["terminationGracePeriodSeconds"]
    item["status"]["phase"] = spec.phase
    if spec.phase == "Pending":
        pending(item)
    elif spec.phase == "Succeeded":
        status.update(ready=False, started=False)
        status["state"] = {"terminated": {"exitCode": 0, "reason": "Completed",
                                          "startedAt": "2022-12-23T09:36:47Z",
                                          "finishedAt": "2022-12-23T09:40:00Z"}}  # fmt: skip
    return item


def job_pod(job: str, namespace: str, phase: str, created: str) -> dict[str, Any]:
    """A pod of a CronJob's run, Job ``job``: the recorded pod, created at ``created`` and
    owned by the Job as the Job controller writes it (``ownerReferences`` kind ``Job``, the
    ``batch.kubernetes.io/job-name`` and ``controller-uid`` labels, restartPolicy ``Never``),
    running another image; ``Succeeded`` or ``Failed`` a minute after it started, else
    ``Running``. Every time it gives is ``created`` or that minute."""
    item = copy.deepcopy(_recorded("kubectl-pods-minikube.json")["items"][0])
    meta, name = item["metadata"], f"{job}-x7k2p"
    owner = str(uuid.uuid5(uuid.UUID(meta["uid"]), f"{namespace}/{job}"))
    meta.update(name=name, namespace=namespace, generateName=f"{job}-", creationTimestamp=created)
    meta["uid"] = str(uuid.uuid5(uuid.UUID(meta["uid"]), f"{namespace}/{name}"))
    meta["labels"] = {"batch.kubernetes.io/controller-uid": owner,
                      "batch.kubernetes.io/job-name": job,
                      "controller-uid": owner, "job-name": job}  # fmt: skip
    meta["ownerReferences"] = [{"apiVersion": "batch/v1", "blockOwnerDeletion": True,
                                "controller": True, "kind": "Job", "name": job,
                                "uid": owner}]  # fmt: skip
    item["spec"]["restartPolicy"] = "Never"
    image = "registry.example.com/shop/report:1"
    item["spec"]["containers"][0].update(name="report", image=image)
    status = item["status"]
    status["startTime"] = created
    for condition in status["conditions"]:
        condition["lastTransitionTime"] = created
    container = status["containerStatuses"][0]
    container.update(name="report", image=image,
                     imageID="docker-pullable://registry.example.com/shop/report@sha256:"
                     + "3" * 64)  # fmt: skip
    ended = created.replace(":00Z", ":59Z")
    status["phase"] = phase
    if phase == "Running":
        container["state"] = {"running": {"startedAt": created}}
        return item
    code = 0 if phase == "Succeeded" else 1
    container.update(ready=False, started=False)
    reason = "Completed" if code == 0 else "Error"
    container["state"] = {"terminated": {"exitCode": code, "startedAt": created,
                                         "finishedAt": ended, "reason": reason}}  # fmt: skip
    for condition in status["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition.update(status="False", lastTransitionTime=ended, reason="PodCompleted")
    return item


def deployment(name: str, namespace: str, replicas: int) -> dict[str, Any]:
    """The recorded Deployment (``kubectl-deployments-nginx.json``), named ``name`` in
    ``namespace``, its uid one per name and namespace, counting ``replicas`` pods: its
    ``spec.replicas`` and every count of its ``status`` (a rollout that settled), the API
    leaving out a count of zero."""
    item = copy.deepcopy(_recorded("kubectl-deployments-nginx.json")["items"][0])
    meta = item["metadata"]
    meta.update(name=name, namespace=namespace)
    meta["uid"] = str(uuid.uuid5(uuid.UUID(meta["uid"]), f"{namespace}/{name}"))
    item["spec"]["replicas"] = replicas
    status = item["status"]
    for count in ("availableReplicas", "readyReplicas", "replicas", "updatedReplicas"):
        status.pop(count)
        if replicas:
            status[count] = replicas
    return item


def replica_set(owner: dict[str, Any], template_hash: str, replicas: int) -> dict[str, Any]:
    """A ReplicaSet of Deployment ``owner`` (``deployment()``), as the Deployment controller
    names and owns one (``NAME-<pod-template-hash>``, the hash as a label of it and of its
    template, ``ownerReferences`` to the Deployment), counting ``replicas`` pods."""
    item = copy.deepcopy(owner)
    meta, name = item["metadata"], f"{owner['metadata']['name']}-{template_hash}"
    item["kind"] = "ReplicaSet"
    meta.update(name=name, labels={"pod-template-hash": template_hash})
    meta["uid"] = str(uuid.uuid5(uuid.UUID(meta["uid"]), name))
    meta["ownerReferences"] = [{"apiVersion": "apps/v1", "blockOwnerDeletion": True,
                                "controller": True, "kind": "Deployment",
                                "name": owner["metadata"]["name"],
                                "uid": owner["metadata"]["uid"]}]  # fmt: skip
    for key in ("progressDeadlineSeconds", "revisionHistoryLimit", "strategy"):
        item["spec"].pop(key)
    item["spec"]["replicas"] = replicas
    item["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = template_hash
    counts = ("availableReplicas", "fullyLabeledReplicas", "readyReplicas", "replicas")
    item["status"] = {"observedGeneration": 1, **dict.fromkeys(counts, replicas)}
    if not replicas:
        item["status"] = {"observedGeneration": 1}
    return item


CONTAINER_LISTS = {
    "containers": "containerStatuses",
    "initContainers": "initContainerStatuses",
    "ephemeralContainers": "ephemeralContainerStatuses",
}


def with_container(
    item: dict[str, Any], kind: str, name: str, image: str, image_id: str, **state: Any
) -> dict[str, Any]:
    """``item`` with one more container of ``kind`` (``containers``, ``initContainers`` as a
    native sidecar: ``restartPolicy: Always``, or ``ephemeralContainers`` as ``kubectl debug``
    adds one): the recorded container's spec and status, named ``name``, running ``image``
    (``imageID`` ``image_id``), its status's fields ``state`` replaced."""
    spec = copy.deepcopy(item["spec"]["containers"][0])
    spec.update(name=name, image=image)
    if kind == "initContainers":
        spec["restartPolicy"] = "Always"
    if kind == "ephemeralContainers":  # an ephemeral container has no probes, ports, resources
        spec = {"name": name, "image": image, "targetContainerName": spec["name"],
                "terminationMessagePolicy": "File", "stdin": True, "tty": True}  # fmt: skip
    item["spec"].setdefault(kind, []).append(spec)
    status = copy.deepcopy(item["status"]["containerStatuses"][0])
    digest = hashlib.sha256(f"{item['metadata']['uid']}/{name}".encode()).hexdigest()
    status.update(name=name, image=image, imageID=image_id, containerID=f"docker://{digest}")
    status.update(state)
    item["status"].setdefault(CONTAINER_LISTS[kind], []).append(status)
    return item


def pending(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` scheduled but not started: phase ``Pending``, not ready, each container as the
    kubelet reports one it is still creating (``waiting: ContainerCreating``, no image yet)."""
    item["status"]["phase"] = "Pending"
    for condition in item["status"]["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition["status"] = "False"
    for status in item["status"]["containerStatuses"]:
        status.update(imageID="", ready=False, started=False)
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    return item


def recorded_pods() -> dict[str, Any]:
    """The recorded listing, unchanged."""
    return _recorded("kubectl-pods-minikube.json")


@dataclass(frozen=True)
class Reconciled:
    """One snapshot of a Kustomization's ``status.history`` (newest first, as Flux lists it)."""

    commit: str
    first: str
    last: str
    status: str = "ReconciliationSucceeded"


INVENTORY = (
    ("shop_checkout__Service", "v1"),
    ("shop_checkout__ConfigMap", "v1"),
    ("shop_checkout_apps_Deployment", "v1"),
    ("shop_checkout-migrate_batch_Job", "v1"),
)
"""What the scenario's Kustomization applied, as ``status.inventory.entries`` lists it
(``NAMESPACE_NAME_GROUP_KIND``, the core group empty, and the version applied)."""


def kustomization(
    name: str,
    history: list[Reconciled],
    *,
    wait: bool = True,
    inventory: tuple[tuple[str, str], ...] | None = INVENTORY,
) -> dict[str, Any]:
    """The recorded Kustomization as ``name``, its history ``history``, its
    ``lastAppliedRevision`` the newest successful snapshot's (as kustomize-controller keeps
    them), and ``status.inventory`` the objects ``inventory`` names (None: none listed). With
    ``wait``, ``spec.wait: true`` (Flux assesses the health of every object it applies);
    without, the recording's spec as it is (Flux's default: no health assessment)."""
    item = copy.deepcopy(_recorded("flux-kustomizations.json")["items"][0])
    item["metadata"]["name"] = name
    if wait:
        item["spec"]["wait"] = True
    if inventory is not None:
        item["status"]["inventory"] = {"entries": [{"id": i, "v": v} for i, v in inventory]}
    template = item["status"]["history"][0]
    entries = []
    for snapshot in history:
        entry = copy.deepcopy(template)
        revision = f"main@sha1:{snapshot.commit}"
        entry.update(
            digest="sha256:" + hashlib.sha256(f"{revision} {snapshot.status}".encode()).hexdigest(),
            firstReconciled=snapshot.first,
            lastReconciled=snapshot.last,
            lastReconciledStatus=snapshot.status,
        )
        entry["metadata"]["revision"] = revision
        entries.append(entry)
    item["status"]["history"] = entries
    applied = next(e for e in entries if e["lastReconciledStatus"] == "ReconciliationSucceeded")
    item["status"]["lastAppliedRevision"] = applied["metadata"]["revision"]
    item["status"]["lastAttemptedRevision"] = entries[0]["metadata"]["revision"]
    return item


def from_oci(item: dict[str, Any], digests: dict[str, str]) -> dict[str, Any]:
    """``item`` (a ``kustomization()``) reconciled from an ``OCIRepository`` that
    ``flux push artifact --revision main@sha1:COMMIT`` filled: each snapshot's
    ``metadata.revision`` the artifact's ``TAG@sha256:DIGEST`` (``digests``, by the commit the
    snapshot named) and its ``originRevision`` the ``main@sha1:COMMIT`` the pusher gave, as
    kustomize-controller writes ``historyMeta``; ``lastAppliedRevision`` and
    ``lastAttemptedRevision`` follow."""
    item["spec"]["sourceRef"] = {"kind": "OCIRepository", "name": item["metadata"]["name"]}
    renamed = {}
    for entry in item["status"]["history"]:
        source = entry["metadata"]["revision"]
        commit = source.rpartition(":")[2]
        entry["metadata"] = {"originRevision": source, "revision": digests[commit]}
        renamed[source] = digests[commit]
    for field in ("lastAppliedRevision", "lastAttemptedRevision"):
        item["status"][field] = renamed[item["status"][field]]
    return item


def attempting(
    item: dict[str, Any], commit: str, ready: str, reason: str, message: str, at: str
) -> dict[str, Any]:
    """``item`` (a ``kustomization()``) as Flux leaves it while it reconciles ``commit``, or
    once that failed, before any history snapshot records it: ``status.lastAttemptedRevision``
    that commit's, and the recorded ``Ready`` condition ``ready`` with ``reason`` and
    ``message`` since ``at``, beside a ``Reconciling`` condition of the same shape (``True``,
    ``Progressing`` while ``Ready`` is ``Unknown``, ``ProgressingWithRetry`` once it is
    ``False``; its message the step the attempt reached), as kustomize-controller writes
    them."""
    revision = f"main@sha1:{commit}"
    step = "Building manifests" if reason == "BuildFailed" else "Running health checks"
    condition = item["status"]["conditions"][0]
    reconciling = {**condition, "type": "Reconciling", "status": "True",
                   "reason": "Progressing" if ready == "Unknown" else "ProgressingWithRetry",
                   "message": f"{step} for revision {revision} with a timeout of 10m0s",
                   "lastTransitionTime": at}  # fmt: skip
    condition.update(status=ready, reason=reason, message=message, lastTransitionTime=at)
    item["status"]["conditions"] = [reconciling, condition]
    item["status"]["lastAttemptedRevision"] = revision
    return item


@dataclass(frozen=True)
class Released:
    """One snapshot of a HelmRelease's ``status.history``: a Helm release."""

    version: int
    chart_version: str
    deployed: str
    status: str = "deployed"
    values: str = "e15c415d62760896bd8bec192a44c5716dc224db9e0fc609b9ac14718f8f9e56"
    """The sha256 of the release's values (its ``configDigest``)."""
    action: str | None = None
    """The Helm action that made it, where not the default (``rollback``, or none: ``""``,
    as helm-controller wrote snapshots before it recorded the action)."""


def helm_release(
    name: str,
    history: list[Released],
    *,
    disable_wait: tuple[str, ...] = (),
    disable_wait_for_jobs: tuple[str, ...] = (),
    strategy: str | None = "Revision",
    namespace: str = "shop",
) -> dict[str, Any]:
    """The recorded HelmRelease as ``name`` in ``namespace`` (the scenario's, where fleet.yaml
    runs the service; each release installed there, as helm-controller installs a release
    into the HelmRelease's own namespace when it gives no ``spec.targetNamespace``), its
    history ``history`` (newest first): each
    snapshot the recording's, with its version, chart version, values, status, ``action``
    (``install`` for the first release, ``upgrade`` for later ones, or the ``Released``'s)
    and ``lastDeployed``; ``firstDeployed`` stays the first release's, as Helm keeps it.
    ``disable_wait`` names the actions (``install``, ``upgrade``, ``rollback``) given
    ``spec.<action>.disableWait: true``, ``disable_wait_for_jobs`` those given
    ``spec.<action>.disableWaitForJobs: true``. ``status.lastAttemptedRevision`` and
    ``lastAttemptedConfigDigest`` are the newest release's chart version and values, as
    helm-controller leaves them once that release's action ended, and
    ``status.observedGeneration`` is ``metadata.generation`` (1): the spec listed is the one
    the controller last read. The chart is built from the
    GitRepository ``name`` with ``spec.chart.spec.reconcileStrategy`` ``strategy`` (``Revision``:
    Flux writes the commit into each chart version's build metadata; None: the default,
    ``ChartVersion``, the chart's own version)."""
    item = copy.deepcopy(_recorded("flux-helmreleases.json")["items"][0])
    item["metadata"]["name"] = name
    item["metadata"]["namespace"] = namespace
    item["metadata"]["generation"] = item["status"]["observedGeneration"] = 1
    chart = {"chart": "./charts/" + name, "sourceRef": {"kind": "GitRepository", "name": name}}
    if strategy is not None:
        chart["reconcileStrategy"] = strategy
    item["spec"] = {"chart": {"spec": chart}}
    for field, actions in (("disableWait", disable_wait),
                           ("disableWaitForJobs", disable_wait_for_jobs)):  # fmt: skip
        for action in actions:
            item.setdefault("spec", {}).setdefault(action, {})[field] = True
    template = item["status"]["history"][-1]
    first = min((r.deployed for r in history), default=template["firstDeployed"])
    oldest = min((r.version for r in history), default=1)
    entries = []
    for release in history:
        entry = copy.deepcopy(template)
        entry.pop("ociDigest", None)  # a chart from a Helm repository, not an OCI one
        entry.update(
            action=release.action or ("install" if release.version == oldest else "upgrade"),
            version=release.version,
            chartVersion=release.chart_version,
            configDigest=f"sha256:{release.values}",
            firstDeployed=first,
            lastDeployed=release.deployed,
            status=release.status,
            namespace=namespace,
        )
        if release.action == "":
            del entry["action"]
        entries.append(entry)
    item["status"]["history"] = entries
    if entries:  # helm-controller sets both before the Helm action of the newest release
        newest = max(entries, key=lambda e: e["version"])
        item["status"]["lastAttemptedRevision"] = newest["chartVersion"]
        item["status"]["lastAttemptedConfigDigest"] = newest["configDigest"]
    return item


def selective_sync(
    app: dict[str, Any], revision: str, at: str, done: str, by: str, resources: list[str]
) -> dict[str, Any]:
    """``app`` whose last operation is a selective sync (``argocd app sync --resource
    apps:Deployment:NAME``) of ``revision`` that succeeded: the recorded operation with
    ``operation.sync.resources`` (Argo CD's ``SyncOperationResource``: group, kind, name) and
    its ``syncResult.resources`` cut to those resources. Argo CD writes no history entry for
    it (``controller/sync.go``: history only for a sync of the whole application)."""
    state = app["status"]["operationState"]
    state.update(phase="Succeeded", startedAt=at, finishedAt=done)
    state["operation"]["initiatedBy"] = {"username": by}
    state["operation"]["sync"]["revision"] = revision
    state["operation"]["sync"]["resources"] = [
        {"group": "apps", "kind": "Deployment", "name": name} for name in resources
    ]
    result = state["syncResult"]
    result["revision"] = revision
    template = next(r for r in result["resources"] if r["kind"] == "Deployment")
    result["resources"] = [{**template, "name": name} for name in resources]
    return app


LOCAL_MANIFEST = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\n  namespace: shop\n"
)
"""One manifest ``argocd app sync --local DIR`` generated from a directory on a laptop."""


def local_sync(app: dict[str, Any], *, recorded_revision: bool = False) -> dict[str, Any]:
    """``app`` whose last operation, the sync its last history entry records, was
    ``argocd app sync --local``: the manifests the CLI sent in ``operation.sync.manifests``;
    Argo CD 2.1 on resolves no revision for it, so the operation, its ``syncResult`` and the
    history entry name none. ``recorded_revision``: as Argo CD 2.0 and before wrote it, the
    application's revision resolved all the same and recorded in all three."""
    state = app["status"]["operationState"]
    state["operation"]["sync"]["manifests"] = [LOCAL_MANIFEST]
    if not recorded_revision:
        del state["operation"]["sync"]["revision"]
        del state["syncResult"]["revision"]
        del app["status"]["history"][-1]["revision"]
    return app


def without_history(app: dict[str, Any]) -> dict[str, Any]:
    """``app`` with ``spec.revisionHistoryLimit: 0``, as Argo CD keeps it: ``status.history``
    empty, its last sync in ``status.operationState`` alone. Argo CD's ``ApplicationSpec``
    (``pkg/apis/application/v1alpha1/types.go``): "Setting to zero will store no history"; the
    controller appends each sync's entry, then cuts the history to the limit. The operation
    keeps the initiator the last entry had (Argo CD writes the operation's into the entry)."""
    app["spec"]["revisionHistoryLimit"] = 0
    last = app["status"]["history"][-1]
    app["status"]["operationState"]["operation"]["initiatedBy"] = last["initiatedBy"]
    app["status"]["history"] = []
    return app


def drifted(
    app: dict[str, Any], status: str = "OutOfSync", kind: str = "Deployment"
) -> dict[str, Any]:
    """``app`` whose live state no longer matches what its latest sync applied (``kubectl set
    image`` since, no self-heal): ``status.sync.status`` ``status`` at the revision the sync
    recorded, and the ``kind`` resource's ``status`` alike (Argo CD's ``SyncStatusCode``:
    ``Synced``, ``OutOfSync``, ``Unknown``); its health stays what it was."""
    app["status"]["sync"]["status"] = status
    for resource in app["status"]["resources"]:
        if resource["kind"] == kind:
            resource["status"] = status
    return app


def compared_before_the_sync(app: dict[str, Any], at: str, revision: str) -> dict[str, Any]:
    """``app`` as Argo CD persists it when a sync ends, before it compares it again: its last
    comparison (``reconciledAt``) at ``at``, the live state ``Synced`` at the ``revision`` it
    ran then, and the health it assessed then (argoproj/argo-cd#9070: the controller writes
    the finished operation and its history entry first, and refreshes the application after)."""
    app["status"]["reconciledAt"] = at
    app["status"]["sync"].update(status="Synced", revision=revision)
    return app


def health(
    app: dict[str, Any], status: str, message: str | None = None, since: str | None = None
) -> dict[str, Any]:
    """``app`` with ``status.health`` ``status``, and its Deployment's health ``status`` with
    ``message`` as Argo CD writes them (gitops-engine ``pkg/health/health_deployment.go``:
    ``Deployment "NAME" exceeded its progress deadline`` for Degraded); in that status
    ``since`` (``status.health.lastTransitionTime``, which Argo CD's ``setApplicationHealth``
    in ``controller/health.go`` moves "only if health status changes"), where given."""
    app["status"]["health"] = {"status": status}
    if since is not None:
        app["status"]["health"]["lastTransitionTime"] = since
    for resource in app["status"]["resources"]:
        if resource["kind"] == "Deployment":
            resource["health"] = {"status": status}
            if message:
                resource["health"]["message"] = message
    return app


def several_sources(app: dict[str, Any], sources: list[tuple[str, str, str]]) -> dict[str, Any]:
    """``app`` as an application of several sources (``spec.sources``): each history entry and
    ``status.sync`` record ``sources`` and ``revisions`` instead of ``source`` and ``revision``
    (Argo CD's ``RevisionHistory`` and ``SyncStatus``), one per ``(repoURL, path, revision)``;
    every source is the recorded one with its ``repoURL``, ``path`` and ``targetRevision: main``."""
    for entry in app["status"]["history"]:
        template = entry.pop("source")
        entry.pop("revision")
        entry["sources"] = [
            {**template, "repoURL": url, "path": path, "targetRevision": "main"}
            for url, path, _ in sources
        ]
        entry["revisions"] = [revision for _, _, revision in sources]
    app["status"]["sync"].pop("revision", None)
    app["status"]["sync"]["revisions"] = [revision for _, _, revision in sources]
    compared = app["status"]["sync"]["comparedTo"]
    compared.pop("source", None)
    compared["sources"] = copy.deepcopy(app["status"]["history"][-1]["sources"])
    return app


def of_applications(app: dict[str, Any], children: list[str]) -> dict[str, Any]:
    """``app`` as an app of apps: what it deploys (``status.resources``) is the Argo CD
    Applications ``children`` in ``argocd``, Synced, with no health (Argo CD assesses none for
    an Application since 1.8)."""
    shape = {"group": "argoproj.io", "kind": "Application", "namespace": "argocd"}
    app["status"]["resources"] = [
        {**shape, "name": child, "status": "Synced", "version": "v1alpha1"} for child in children
    ]
    return app
