"""``knightwatch import kubectl-pods``: observations of what a cluster's pods run, from
``kubectl get pods -o json`` (a List of Pods) listed at ``--observed-at``. Only a whole list
is read: one Pod alone, an array, or one page of a chunked list (``metadata.continue``) says
nothing of the pods left out of it.

The service's pods are those its workloads control in the cluster's namespace (fleet.yaml's
``workload``, one name or a list, default the service's name: a pod's controller is a
ReplicaSet named ``WORKLOAD-<pod-template-hash>``, or the StatefulSet or DaemonSet itself; a
pod without a controller is its own workload). Of these, each pod that runs counts, whatever
its readiness: phase ``Running`` (ready or not, and while it terminates), or ``Unknown`` (its
node stopped reporting: the last word on it is that it ran). Readiness gates only a Service's
traffic: a pod whose readiness probe fails still runs its code (a queue consumer, a cron loop
does its work), so it is observed; how many were not ready, or terminating, the import's note
says. A ``Pending`` pod has not started its containers, and a ``Succeeded`` or ``Failed`` one
has ended them: left out of the listing's observations, counted in the note. An ended pod's
containers of the service's image that ran are sightings of their commit at their
``finishedAt`` (``_ended``): an old pod evicted after the rollout ran the old commit then. A
listing with no running pod of the workloads is an error: an empty observation would say
nothing, and the wrong namespace or context is the likely cause.

The workloads listed beside the pods (``kubectl get pods,replicasets,deployments,...``) count
them, and a listing that holds fewer of a named workload's pods than it counts (a selector's)
is refused; a named workload not listed is accepted only where fleet.yaml gives ``replicas``
(``k8s_workloads``).

``--observed-at`` is the importer's word: every pod of the listing, of any namespace,
workload or phase (a CronJob's finished run too), is held to it, and one that gives a time
after it (its creation, start, a condition's transition, a container's start or end) refuses
the listing as made later.

Pods that look like the service's but are not its named workloads' are refused, never passed
over: a running pod (ready or not) of a Flagger canary's primary (``WORKLOAD-primary``, which
keeps the old version while the canary runs the new) or a ``WORKLOAD-canary``; one with no
controller named like the workload; one that carries all the labels its pods share, or their
``app``-like label (a Service selecting on it routes to the pod: a left-over ``checkout-blue``
Deployment on the old commit); and one that runs, in any running container, whatever its
labels, the service container's image repository or an image linked to a commit of the
repository (``_linked_pairs``: a mirror's). List them under ``workload:`` to count them.

Each running pod runs the service in its service container and in every other running
container of the service's image (``k8s_containers``: a second container, a native sidecar,
an ephemeral one): a pod whose containers run two commits is in the observation of each.
Each such container's image is compared by its registry digest (``imageID``
``REPOSITORY@sha256:...``), never by its tag, and linked
to a commit as ``k8s_images`` describes. A running pod whose image nothing links to a commit of
the repository is an input error naming the pod, its image and digest: it is never counted as
running the deployed version. An ``imageID`` with no repository (``docker://sha256:...``, a
bare ``sha256:...``, or an empty one, ``docker-pullable://@sha256:...``) is the node's id of an
image built or loaded there, not a registry digest, and is refused. One observation is written
per image digest: the cluster as ``host``, the commit as ``version``, how many running pods ran it
as ``pods``, the image by digest as ``image``, and the digest of those pods' uids as
``pod_set``: one set of pods recorded as another cluster's is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.config import ImagesConfig
from checker.errors import InputError
from checker.evidence.bundle import KIND_BY_NAME, find_file
from checker.evidence.files import Located, parse_records, read_text, validate
from checker.evidence.git import GitHistory
from checker.evidence.models import Cluster, Observation, timestamp_ns
from checker.importers.common import dig, expect, read_objects
from checker.importers.k8s_containers import (
    KINDS,
    Container,
    containers,
    registry_digest,
    repository,
)
from checker.importers.k8s_images import DIGEST, Running, image_revisions, link, tag_of
from checker.importers.k8s_shapes import objects, time_text
from checker.importers.k8s_workloads import KINDS as WORKLOADS
from checker.importers.k8s_workloads import check as check_counts

WHAT = "Pod objects as kubectl get pods -o json prints them (a List)"
# Labels a controller sets per pod or per revision: not what a Service selects on.
_PER_POD = (
    "pod-template-hash",
    "rollouts-pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "pod-template-generation",
)


@dataclass(frozen=True)
class Listing:
    """One cluster's pods, and what the command line says of them."""

    path: Path
    cluster: str
    service: str
    observed_at: str
    where: Cluster
    """The cluster's entry in fleet.yaml (or the defaults: the service's name as workload)."""
    images: ImagesConfig
    metadata: tuple[Path, ...] = ()
    recorded: tuple[Observation, ...] = ()
    """The observations already in the evidence, which this listing must not contradict."""


@dataclass
class Observed:
    """The observations, and what was passed over."""

    records: list[Observation] = field(default_factory=list)
    not_ready: int = 0
    """Pods counted that were not ready (they run all the same)."""
    terminating: int = 0
    """Pods counted that were being deleted (they run until their containers stop)."""
    not_running: int = 0
    """The workloads' pods left out: not started (``Pending``) or ended."""
    pods: int = 0
    """The pods counted (a pod that runs two versions is in two observations)."""
    ended: int = 0
    """The workloads' ended pods observed at the time they stopped."""


@dataclass(frozen=True)
class _Pod:
    """One container's image in one pod."""

    running: Running
    uid: str
    reference: str
    """The image by digest, ``REPOSITORY@sha256:...`` where the runtime says which."""
    extra: bool = False
    """Another container than the service container, of the service's image."""


def recorded(directory: Path) -> tuple[Observation, ...]:
    """The observations already in the evidence directory."""
    kind = KIND_BY_NAME["observations"]
    path = find_file(directory, kind) if directory.is_dir() else None
    if path is None:
        return ()
    return tuple(
        validate(Observation, item, path, kind.what)
        for item in parse_records(read_text(path), path)
    )


def read_pods(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every Pod in the listing, and every workload listed beside them
    (``k8s_workloads.KINDS``)."""
    items = read_objects(
        path,
        WHAT,
        "a Pod (kind Pod, metadata.name, spec) or a workload (" + ", ".join(WORKLOADS) + ")",
        lambda i: (
            i.get("kind", "Pod") in ("Pod", *WORKLOADS)
            and isinstance(i.get("spec"), dict)
            and isinstance(i["metadata"], dict)
            and bool(i["metadata"]["name"])
        ),
        listing="the namespace's pods (kubectl get pod NAME prints that pod alone)",
    )
    pods = [i for i in items if i.get("kind", "Pod") == "Pod"]
    return pods, [i for i in items if i.get("kind", "Pod") != "Pod"]


def _strings(pod: dict[str, Any], key: str, path: Path) -> dict[str, str]:
    """A pod's labels or annotations: a map of text to text, as the API serves them."""
    value = dig(pod, "metadata", key)
    if value is None:
        return {}
    expect(
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
        path,
        f"pod {pod['metadata']['name']}: metadata.{key} is not a map of text to text",
    )
    return dict(value)


def _list(value: Any, pod: dict[str, Any], what: str, path: Path) -> list[dict[str, Any]]:
    return objects(value, path, f"pod {pod['metadata']['name']}: {what}")


def workload_of(pod: dict[str, Any], path: Path) -> tuple[str, str | None]:
    """The workload that controls a pod (a ReplicaSet's Deployment or Argo Rollout, else the
    controller itself), and its controller's kind ("" where it gives none), None where it has
    no controller; a pod without one is its own workload."""
    labels = _strings(pod, "labels", path)
    owners = _list(dig(pod, "metadata", "ownerReferences"), pod, "ownerReferences", path)
    for owner in owners:
        if owner.get("controller") is not True:
            continue
        name = owner.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(
                f"pod {pod['metadata']['name']}: its controller has no name", path=str(path)
            )
        kind = str(owner.get("kind") or "")
        if kind == "ReplicaSet":
            for key in ("pod-template-hash", "rollouts-pod-template-hash"):
                suffix = f"-{labels.get(key)}"
                if labels.get(key) and name.endswith(suffix):
                    return name[: -len(suffix)], kind
        return str(name), kind
    return str(pod["metadata"]["name"]), None


RUNS = ("Running", "Unknown")
"""Pod phases in which its containers run: ``Unknown`` when its node stopped reporting, the
last word on it being that they ran."""


ENDED = ("Succeeded", "Failed")
"""Pod phases in which every container has stopped for good."""
PHASES = ("Pending", *RUNS, *ENDED)


def _check_status(pod: dict[str, Any], path: Path) -> None:
    """A pod's status holds one of the phases the API gives every pod (``Pending`` from its
    creation on): a pod without one, its status cut out of the listing, runs what nothing
    says, and is never left out as not running."""
    status = pod.get("status")
    name = pod["metadata"]["name"]
    expect(
        isinstance(status, dict),
        path,
        f"pod {name}: status is {'missing' if status is None else 'not an object'}, so no "
        "status.phase says whether it runs",
    )
    phase = status.get("phase") if isinstance(status, dict) else None
    expect(
        phase in PHASES,
        path,
        f"pod {name}: status.phase {phase!r} is none of the API's ({', '.join(PHASES)}): "
        "whether it runs cannot be told",
    )


def _ready(pod: dict[str, Any], path: Path) -> bool:
    conditions = _list(dig(pod, "status", "conditions"), pod, "status.conditions", path)
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _container(pod: dict[str, Any], listing: Listing, workload: str) -> str:
    containers = _list(pod["spec"].get("containers"), pod, "spec.containers", listing.path)
    names = [str(c.get("name")) for c in containers]
    if listing.where.container:
        wanted = listing.where.container
    elif len(names) == 1:
        wanted = names[0]
    else:
        wanted = workload
    if wanted not in names:
        raise InputError(
            f"pod {pod['metadata']['name']} has no container {wanted!r} (its containers: "
            f"{', '.join(names)})",
            path=str(listing.path),
            hint=f"name the service's container in fleet.yaml: container: under cluster "
            f"{listing.cluster}",
        )
    return wanted


def _pod(
    pod: dict[str, Any], listing: Listing, workload: str
) -> tuple[list[_Pod], list[Container]]:
    """What the pod runs of the service: its service container (in a pod that runs, or when it
    runs itself), and every other running container of the service container's image
    repository; and the pod's other running containers, which run the service only if their
    image is linked to one of its commits (``_linked``)."""
    wanted = _container(pod, listing, workload)
    every = containers(pod, listing.path)
    service = next((c for c in every if c.kind == "container" and c.name == wanted), None)
    phase = dig(pod, "status", "phase")
    counted, others = [], []
    for container in every:
        if container is service:
            if container.runs or phase in RUNS:
                counted.append(_entry(pod, container, listing, extra=False))
        elif not container.runs:
            continue
        elif service is not None and container.repositories & service.repositories:
            counted.append(_entry(pod, container, listing, extra=True))
        else:
            others.append(container)
    if service is None and phase in RUNS:  # no status for it: nothing says what it runs
        missing = Container(wanted, "container", "", "", True, frozenset())
        counted.insert(0, _entry(pod, missing, listing, extra=False))
    return counted, others


def _entry(pod: dict[str, Any], container: Container, listing: Listing, *, extra: bool) -> _Pod:
    """One container's image in one pod, as the links and the observations need it."""
    name = pod["metadata"]["name"]
    reference, digest = registry_digest(name, container, listing.path)
    running = Running(
        name=f"{name} ({container.kind} {container.name})" if extra else name,
        image=container.image,
        digest=digest,
        labels=tuple(sorted(_strings(pod, "labels", listing.path).items())),
        annotations=tuple(sorted(_strings(pod, "annotations", listing.path).items())),
    )
    return _Pod(running, _uid(pod), reference, extra)


def _linked(
    others: list[tuple[dict[str, Any], Container]], listing: Listing, history: GitHistory
) -> list[_Pod]:
    """The running containers of another image repository whose image is linked to a commit of
    the repository all the same (``_linked_pairs``), as entries of their pods."""
    return [
        _entry(pod, container, listing, extra=True)
        for pod, container in _linked_pairs(others, listing, history)
    ]


def _linked_pairs(
    others: list[tuple[dict[str, Any], Container]], listing: Listing, history: GitHistory
) -> list[tuple[dict[str, Any], Container]]:
    """Those of ``others`` whose image is linked to a commit of the repository: by its own
    revision label (``--image-metadata``), or by a tag the tag convention matches that names one
    of its commits (the service's image pushed to a mirror or a renamed repository). The pod
    annotation says nothing of such a container."""
    revisions = image_revisions(listing.metadata)
    pattern = re.compile(listing.images.tag_pattern) if listing.images.tag_pattern else None
    named: list[tuple[dict[str, Any], Container, list[str]]] = []
    for pod, container in others:
        found = DIGEST.search(container.image_id)
        names = [revisions[found.group(0)]] if found and found.group(0) in revisions else []
        tag = tag_of(container.image)
        match = pattern.fullmatch(tag) if pattern and tag else None
        names += [match.group("commit")] if match else []
        named.append((pod, container, names))
    ids = history.resolve_ids({n for _, _, names in named for n in names})
    return [
        (pod, container)
        for pod, container, names in named
        if any(ids[n].sha is not None for n in names)
    ]


def observe(listing: Listing, history: GitHistory) -> Observed:
    """The observations one listing makes."""
    result = Observed()
    workloads = listing.where.workloads(listing.service)
    found = _sorted_pods(listing, workloads, result)
    _lookalikes(found.others, found.ours, workloads, listing, history)
    pods = _counted(found.ours, listing, history, result)
    if not pods:
        where = f" in namespace {listing.where.namespace}" if listing.where.namespace else ""
        raise InputError(
            f"no running pod of workload {', '.join(workloads)}{where} in this listing "
            f"({result.not_running} not running)",
            path=str(listing.path),
            hint="is it the listing of cluster "
            f"{listing.cluster} (kubectl --context), of the right namespace (-n or -A)? "
            "fleet.yaml names the workload and namespace under the cluster",
        )
    given = listing.where.replicas is not None
    check_counts(found.workloads, found.every, workloads, given, listing.path)
    uids = Counter(entries[0].uid for entries in pods)
    twice = sorted(uid for uid, n in uids.items() if n > 1)
    expect(not twice, listing.path, f"pod uid {twice[:1]} is listed twice in this listing")
    ended = [pair for item, workload in found.ended for pair in _ended(item, listing, workload)]
    commits = link(
        [e.running for entries in pods for e in entries] + [e.running for e, _ in ended],
        listing.images,
        listing.metadata,
        history,
        listing.path,
        list(listing.recorded),
    )
    result.records.extend(_running_records(listing, pods, commits))
    result.records.extend(_ended_records(listing, ended, commits))
    result.pods = len(pods)
    result.ended = len({entry.uid for entry, _ in ended})
    return result


def _running_records(
    listing: Listing, pods: list[list[_Pod]], commits: dict[Running, str]
) -> list[Observation]:
    """One observation per image and commit the running pods run, at the listing's time."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entries in pods:
        seen: set[str] = set()
        for entry in entries:
            commit = commits[entry.running]
            # Another container of the same commit is the same version: the pod counts once.
            if not entry.extra or commit not in seen:
                groups[(entry.reference, commit)].add(entry.uid)
            seen.add(commit)
    return [
        _observation(listing, reference, commit, sorted(uids_here))
        for (reference, commit), uids_here in sorted(groups.items())
    ]


def _ended(pod: dict[str, Any], listing: Listing, workload: str) -> list[tuple[_Pod, str]]:
    """What an ended pod of the service's workloads last ran of the service (its service
    container, and every other container of the service container's image repository) and
    when it stopped: each such container that ran (``terminated`` with ``finishedAt``, and an
    image digest), with that ``finishedAt``. A container that never started ran nothing."""
    wanted = _container(pod, listing, workload)
    every = containers(pod, listing.path)
    service = next((c for c in every if c.kind == "container" and c.name == wanted), None)
    if service is None:
        return []
    finished = {
        str(status.get("name")): at
        for _, status_key, _ in KINDS
        for status in objects(dig(pod, "status", status_key), listing.path, "containers")
        if isinstance(at := dig(status, "state", "terminated", "finishedAt"), str)
    }
    return [
        (_entry(pod, c, listing, extra=c is not service), finished[c.name])
        for c in every
        if (c is service or c.repositories & service.repositories)
        and c.name in finished
        and DIGEST.search(c.image_id)
    ]


def _ended_records(
    listing: Listing, ended: list[tuple[_Pod, str]], commits: dict[Running, str]
) -> list[Observation]:
    """One observation per image, commit and instant at which ended pods of the service last
    ran it: not a listing of the workload (no ``pods`` count), a sighting of what ran then."""
    groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for entry, at in ended:
        groups[(entry.reference, commits[entry.running], at)].add(entry.uid)
    return [
        _observation(listing, reference, commit, sorted(uids), at=at)
        for (reference, commit, at), uids in sorted(groups.items())
    ]


def _counted(
    ours: list[tuple[dict[str, Any], str]], listing: Listing, history: GitHistory, result: Observed
) -> list[list[_Pod]]:
    """What each pod of the service's that runs the service runs (its service container's
    image first); ``result`` counts those left out, and those counted though not ready or
    terminating."""
    found: list[list[_Pod]] = []
    others: list[tuple[dict[str, Any], Container]] = []
    for item, workload in ours:
        entries, rest = _pod(item, listing, workload)
        found.append(entries)
        others += [(item, c) for c in rest]
    for entry in _linked(others, listing, history):
        index = next(i for i, (item, _) in enumerate(ours) if _uid(item) == entry.uid)
        found[index].append(entry)
    counted = []
    for (item, _), entries in zip(ours, found, strict=True):
        if not entries:
            result.not_running += 1
            continue
        result.not_ready += not _ready(item, listing.path)
        result.terminating += dig(item, "metadata", "deletionTimestamp") is not None
        counted.append(entries)
    return counted


def _uid(pod: dict[str, Any]) -> str:
    """The pod's uid, else (a listing without uids) its namespace and name."""
    uid = dig(pod, "metadata", "uid")
    return (
        uid
        if isinstance(uid, str) and uid
        else f"{dig(pod, 'metadata', 'namespace')}/{pod['metadata']['name']}"
    )


@dataclass(frozen=True)
class _Sorted:
    """A listing's pods and workloads in the cluster's namespace."""

    ours: list[tuple[dict[str, Any], str]]
    """The service's workloads' pods that are not ended, each with its workload."""
    others: list[tuple[dict[str, Any], str, bool]]
    """Other workloads' pods, each with its workload and whether a controller owns it."""
    every: list[tuple[dict[str, Any], str]]
    """Every pod, each with its workload."""
    ended: list[tuple[dict[str, Any], str]]
    """The service's workloads' pods that ended (``Succeeded``, ``Failed``: evicted, shut
    down), each with its workload."""
    workloads: list[dict[str, Any]]
    """The workload objects listed beside the pods."""


def _sorted_pods(listing: Listing, workloads: tuple[str, ...], result: Observed) -> _Sorted:
    """The listing's pods and workloads in the cluster's namespace; ``result`` counts the
    service's pods left out. Every pod and workload of the listing, of any namespace, is held
    to ``--observed-at``."""
    at_ns = timestamp_ns(listing.observed_at)
    ours: list[tuple[dict[str, Any], str]] = []
    others: list[tuple[dict[str, Any], str, bool]] = []
    every: list[tuple[dict[str, Any], str]] = []
    ended: list[tuple[dict[str, Any], str]] = []
    pods, items = read_pods(listing.path)
    for pod in pods:
        _check_time(pod, at_ns, listing)
        if not _here(pod, listing):
            continue
        _check_status(pod, listing.path)
        workload, controller = workload_of(pod, listing.path)
        controlled = controller is not None
        every.append((pod, workload))
        if workload in workloads and not _made_by_workload(pod, workload, controller):
            _stand_in(pod, workload, listing)
            others.append((pod, f"{workload} (not its controller's)", controlled))
        elif workload not in workloads:
            others.append((pod, workload, controlled))
        elif dig(pod, "status", "phase") in ENDED:
            result.not_running += 1
            ended.append((pod, workload))
        else:
            ours.append((pod, workload))
    for item in items:
        _check_time(item, at_ns, listing)
    here = [i for i in items if _here(i, listing)]
    return _Sorted(ours=ours, others=others, every=every, ended=ended, workloads=here)


_NOT_A_WORKLOADS = frozenset({"Job", "CronJob", "Node"})
"""Controllers whose pods are no workload's that fleet.yaml names: a Job's run (a migration
named like the service), a node's static pod."""


def _made_by_workload(pod: dict[str, Any], workload: str, controller: str | None) -> bool:
    """Whether a pod ``workload_of`` gives a named workload was made by that workload's
    controller (of kind ``controller``): not a bare pod, nor a Job's or a node's, nor one
    named as the workload itself (a controller names its pods after the workload, with a
    suffix)."""
    return (
        controller is not None
        and controller not in _NOT_A_WORKLOADS
        and pod["metadata"]["name"] != workload
    )


def _stand_in(pod: dict[str, Any], workload: str, listing: Listing) -> None:
    """A running pod named as a named workload (or a Job's of that name) that the workload's
    controller did not make is refused: counted, it stood in for a pod the rollout never
    brought up (``replicas: 3``, two of the Deployment's pods and a bare pod ``checkout``)."""
    if dig(pod, "status", "phase") in ENDED:
        return
    name = pod["metadata"]["name"]
    raise InputError(
        f"running pod {name} is taken for one of workload {workload}'s, but no controller of "
        f"that workload made it (a bare pod, a Job's, or one named as the workload itself): "
        "counted, it would stand in for a pod of the rollout that never came up",
        path=str(listing.path),
        hint=f"remove pod {name} from the namespace (or rename what made it), and list again",
    )


def _here(item: dict[str, Any], listing: Listing) -> bool:
    """Whether a listed object is in the cluster's namespace (any, where none is given)."""
    namespace = dig(item, "metadata", "namespace")
    expect(
        namespace is None or isinstance(namespace, str),
        listing.path,
        f"{item.get('kind', 'Pod').lower()} {item['metadata']['name']}: metadata.namespace is "
        "not text",
    )
    return not listing.where.namespace or namespace == listing.where.namespace


def _observation(
    listing: Listing, reference: str, commit: str, uids: list[str], at: str | None = None
) -> Observation:
    """One observation: the pods of one image and commit, named by the digest of their uids;
    at ``at`` (ended pods, when they stopped: no count of the workload's pods), else at the
    listing's time."""
    pod_set = "sha256:" + hashlib.sha256("\n".join(sorted(uids)).encode()).hexdigest()
    _not_another_cluster(pod_set, listing)
    plain: dict[str, Any] = {
        "host": listing.cluster,
        "service": listing.service,
        "version": commit,
        "observed_at": at or listing.observed_at,
        "image": reference,
        "pod_set": pod_set,
    }
    if at is None:
        plain["pods"] = len(uids)
    return validate(Observation, Located(plain, 0), listing.path, "observation")


IDENTITY = ("app", "app.kubernetes.io/name", "k8s-app")
"""Labels that name the application a pod belongs to, on which Services commonly select."""


@dataclass(frozen=True)
class _Likeness:
    """What the service's pods look like, for telling their look-alikes."""

    workloads: tuple[str, ...]
    shared: dict[str, str]
    """The labels (but those set per pod) that all of them carry alike."""
    repositories: frozenset[str]
    """Their service containers' image repositories."""
    linked: dict[str, Container] = field(default_factory=dict)
    """By pod uid, a running container of another workload's pod whose image is linked to a
    commit of the repository (``_linked_pairs``): the service's code, whatever its registry."""


def _lookalikes(
    others: list[tuple[dict[str, Any], str, bool]],
    ours: list[tuple[dict[str, Any], str]],
    workloads: tuple[str, ...],
    listing: Listing,
    history: GitHistory,
) -> None:
    """Running pods that look like the service's but belong to none of its named workloads:
    refused, since they may run another version and serve its traffic."""
    repositories: set[str] = set()
    for item, workload in ours:
        wanted = _container(item, listing, workload)
        repositories.update(
            r
            for c in containers(item, listing.path)
            if c.kind == "container" and c.name == wanted
            for r in c.repositories
        )
    running = [(p, c) for p, _, _ in others for c in containers(p, listing.path) if c.runs]
    like = _Likeness(
        workloads,
        _shared_labels([p for p, _ in ours], listing.path) or {},
        frozenset(repositories),
        {_uid(p): c for p, c in reversed(_linked_pairs(running, listing, history))},
    )
    for pod, workload, controlled in others:
        why = _why(pod, workload, controlled, like, listing)
        if why is None:
            continue
        raise InputError(
            f"running pod {pod['metadata']['name']} of workload {workload} looks like one of "
            f"workload {', '.join(workloads)}'s ({why}), but fleet.yaml does not name it: it "
            "may run another version of the service (a left-over blue/green copy, a worker of "
            "the same image), so it is never passed over",
            path=str(listing.path),
            hint=f"list it in fleet.yaml (cluster {listing.cluster}: workload: "
            f"[{', '.join([*workloads, workload])}]) so that its pods are observed as the "
            "service's, or remove it from the namespace",
        )


def _why(
    pod: dict[str, Any], workload: str, controlled: bool, like: _Likeness, listing: Listing
) -> str | None:
    """Why a running pod of another workload is taken for one of the service's, or None."""
    every = containers(pod, listing.path)
    if not _runs(pod, every):
        return None
    name = pod["metadata"]["name"]
    companions = {f"{w}-{role}" for w in like.workloads for role in ("primary", "canary")}
    image = next((c for c in every if c.runs and c.repositories & like.repositories), None)
    if workload in companions:
        return f"its workload {workload} is a canary's primary or canary beside theirs"
    if not controlled and any(name.startswith(f"{w}-") for w in like.workloads):
        return "it has no controller and is named like their pods"
    by_labels = _labelled_alike(_strings(pod, "labels", listing.path), like)
    if by_labels is not None:
        return by_labels
    if image is not None:
        return f"its {image.kind} {image.name} runs their image {image.image}"
    return _by_image(pod, every, like, listing.path)


def _by_image(
    pod: dict[str, Any], every: list[Container], like: _Likeness, path: Path
) -> str | None:
    """Why a running pod of another workload runs the service's code by what it runs: an
    image linked to a commit of the repository, or (its status reporting no container) the
    service's image named in its spec; else None."""
    if not every and _specified(pod, path) & like.repositories:
        return "its spec names their image and its status reports no container (unknown)"
    linked = like.linked.get(_uid(pod))
    if linked is not None:
        return (
            f"its {linked.kind} {linked.name} runs image {linked.image}, which is linked to a "
            "commit of their repository"
        )
    return None


def _specified(pod: dict[str, Any], path: Path) -> set[str]:
    """The image repositories a pod's spec names, for a pod whose status reports none of its
    containers (a truncated or lagging listing): what it runs is not known, so what it is
    meant to run is looked at."""
    name = pod["metadata"]["name"]
    return {
        found
        for spec_key, _, _ in KINDS
        for spec in objects(pod["spec"].get(spec_key), path, f"pod {name}: spec.{spec_key}")
        if isinstance(image := spec.get("image"), str) and (found := repository(image))
    }


def _runs(pod: dict[str, Any], every: list[Container]) -> bool:
    """Whether a pod runs: its phase says so, or (``Pending``) one of its containers does."""
    phase = dig(pod, "status", "phase")
    return phase not in ENDED and (phase in RUNS or any(c.runs for c in every))


def _labelled_alike(labels: dict[str, str], like: _Likeness) -> str | None:
    """How a pod's labels would have the service's Service select it: all the labels the
    service's pods share, or one that names the application (a selector may use only that)."""
    if like.shared and all(labels.get(k) == v for k, v in like.shared.items()):
        return "it carries their pods' labels (all of them), so their Service's selector picks it"
    same = [k for k in IDENTITY if k in like.shared and labels.get(k) == like.shared[k]]
    if same:
        return (
            f"it carries their label {same[0]}={like.shared[same[0]]}, which a Service selects on"
        )
    return None


def _shared_labels(pods: list[dict[str, Any]], path: Path) -> dict[str, str] | None:
    """The labels (but those set per pod) that every one of ``pods`` carries alike."""
    shared = None
    for pod in pods:
        labels = {k: v for k, v in _strings(pod, "labels", path).items() if k not in _PER_POD}
        shared = (
            labels if shared is None else {k: v for k, v in shared.items() if labels.get(k) == v}
        )
    return shared


def _not_another_cluster(pod_set: str, listing: Listing) -> None:
    for seen in listing.recorded:
        if seen.pod_set == pod_set and seen.host != listing.cluster:
            raise InputError(
                f"these pods were recorded as cluster {seen.host}'s at {seen.observed_at}: one "
                f"set of pods is not also cluster {listing.cluster}'s (the same listing "
                "imported twice?)",
                path=str(listing.path),
                hint=f"list cluster {listing.cluster} with kubectl --context {listing.cluster}",
            )


def _times(pod: dict[str, Any], path: Path) -> list[tuple[str, Any]]:
    """Every time a pod gives of something that had happened by the time it was listed (its
    creation, start, conditions' transitions, containers' starts and ends, writes of its
    fields), by the field that gives it. ``deletionTimestamp`` is left out: it is when the
    pod is to be gone, which may be after the listing."""
    found: list[tuple[str, Any]] = [
        ("metadata.creationTimestamp", dig(pod, "metadata", "creationTimestamp")),
        ("status.startTime", dig(pod, "status", "startTime")),
    ]
    managed = _list(dig(pod, "metadata", "managedFields"), pod, "managedFields", path)
    found += [("metadata.managedFields[].time", m.get("time")) for m in managed]
    conditions = _list(dig(pod, "status", "conditions"), pod, "status.conditions", path)
    found += [
        (f"condition {c.get('type')} {key}", c.get(key))
        for c in conditions
        for key in ("lastTransitionTime", "lastUpdateTime")
    ]
    found += _container_times(pod, path)
    return [(what, value) for what, value in found if value is not None]


def _container_times(pod: dict[str, Any], path: Path) -> list[tuple[str, Any]]:
    """When each container of the pod started and ended, now and before its last restart."""
    name = pod["metadata"]["name"]
    found: list[tuple[str, Any]] = []
    for _, status_key, _ in KINDS:
        what = f"pod {name}: status.{status_key}"
        for status in objects(dig(pod, "status", status_key), path, what):
            for which in ("state", "lastState"):
                state = status.get(which)
                for phase, detail in state.items() if isinstance(state, dict) else ():
                    found += [
                        (f"container {status.get('name')} {which}.{phase}.{key}", detail[key])
                        for key in ("startedAt", "finishedAt")
                        if isinstance(detail, dict) and key in detail
                    ]
    return found


def _check_time(pod: dict[str, Any], at_ns: int, listing: Listing) -> None:
    """A pod, any pod of the listing, that was created or changed after ``--observed-at``
    shows that the time given is wrong; a time that cannot be read cannot show it, and is
    refused."""
    name = f"{pod.get('kind', 'Pod').lower()} {pod['metadata']['name']}"
    for what, value in _times(pod, listing.path):
        at, at_ns_seen = time_text(value, listing.path, f"{name}: {what}")
        if at_ns_seen > at_ns:
            raise InputError(
                f"{name}: {what} {at}, after --observed-at {listing.observed_at}: this "
                "listing was made later (every pod in it, of any namespace, workload or phase, "
                "dates it)",
                path=str(listing.path),
                hint="give the time the listing was made (date -u just before kubectl get)",
            )
