"""``knightwatch import kubectl-pods``: observations of what a cluster's pods run, from
``kubectl get pods -o json`` (a List of Pods) listed at ``--observed-at``.

The service's pods are those its workload controls in the cluster's namespace (fleet.yaml's
``workload``, default the service's name: a pod's controller is a ReplicaSet named
``WORKLOAD-<pod-template-hash>``, or the StatefulSet or DaemonSet itself). Of these, each
ready pod (phase ``Running``, condition ``Ready``) counts; the others serve nothing and are
only counted in the import's note. A listing with no ready pod of the workload is an error: an
empty observation would say nothing, and the wrong namespace or context is the likely cause.

Each ready pod's image is compared by its digest (``imageID``), never by its tag, and linked to
a commit by (all that apply, and they must agree):

- the image's ``org.opencontainers.image.revision`` label or annotation, read from the image's
  metadata (``--image-metadata``: ``skopeo inspect`` output, or an OCI manifest or index as
  ``crane manifest`` prints it, whose digest is the sha256 of its bytes);
- a pod annotation or label named by ``images.commit_annotation`` in knightwatch.yaml;
- the image's tag, where ``images.tag_pattern`` matches it; a tag that names two digests in one
  listing has moved, and is refused as a link.

A ready pod whose image none of them links to a commit of the repository is an input error
naming the pod, its image and digest: it is never counted as running the deployed version.
One observation is written per image digest: the cluster as ``host``, the commit as
``version``, how many ready pods ran it as ``pods``, the image by digest as ``image``.
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
from checker.evidence.files import Located, read_text, validate
from checker.evidence.git import GitHistory, ObjectId
from checker.evidence.models import Cluster, Observation, timestamp_ns
from checker.importers.common import dig, expect, read_json, read_objects
from checker.vocabulary import short

WHAT = "Pod objects as kubectl get pods -o json prints them (a List)"
OCI_REVISION = "org.opencontainers.image.revision"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}$")


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


@dataclass
class Observed:
    """The observations, and what was passed over."""

    records: list[Observation] = field(default_factory=list)
    not_ready: int = 0
    links: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Pod:
    name: str
    image: str
    """The image as the pod names it (with its tag)."""
    digest: str
    reference: str
    """The image by digest, ``REPOSITORY@sha256:...`` where the runtime says which."""
    annotations: tuple[tuple[str, str], ...]
    """The pod's labels and annotations (annotations win)."""

    def annotation(self, key: str) -> str | None:
        """The value of a pod annotation or label."""
        return dict(self.annotations).get(key)


def read_pods(path: Path) -> list[dict[str, Any]]:
    """Every Pod in the listing."""
    return read_objects(
        path,
        WHAT,
        "a Pod (kind Pod, metadata.name, spec)",
        lambda i: i.get("kind", "Pod") == "Pod" and isinstance(i.get("spec"), dict),
    )


def workload_of(pod: dict[str, Any]) -> str | None:
    """The workload that controls a pod: a ReplicaSet's Deployment (or Argo Rollout), else the
    controller itself."""
    labels = dig(pod, "metadata", "labels") or {}
    for owner in dig(pod, "metadata", "ownerReferences") or []:
        if not isinstance(owner, dict) or owner.get("controller") is not True:
            continue
        name = str(owner.get("name", ""))
        if owner.get("kind") == "ReplicaSet":
            for key in ("pod-template-hash", "rollouts-pod-template-hash"):
                suffix = f"-{labels.get(key)}" if isinstance(labels, dict) else ""
                if labels.get(key) and name.endswith(suffix):
                    return name[: -len(suffix)]
        return name
    return None


def _ready(pod: dict[str, Any]) -> bool:
    conditions = dig(pod, "status", "conditions") or []
    ready = any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in conditions
    )
    return bool(dig(pod, "status", "phase") == "Running" and ready)


def _container(pod: dict[str, Any], listing: Listing, workload: str) -> str:
    names = [str(c.get("name")) for c in pod["spec"].get("containers") or [] if isinstance(c, dict)]
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


def _pod(pod: dict[str, Any], listing: Listing, workload: str) -> _Pod:
    name = pod["metadata"]["name"]
    container = _container(pod, listing, workload)
    status = next(
        (
            s
            for s in dig(pod, "status", "containerStatuses") or []
            if isinstance(s, dict) and s.get("name") == container
        ),
        {},
    )
    image_id = str(status.get("imageID") or "")
    found = DIGEST.search(image_id)
    if found is None:
        raise InputError(
            f"ready pod {name}: container {container} reports no image digest (imageID "
            f"{image_id!r}); a tag alone cannot say what runs",
            path=str(listing.path),
        )
    reference = re.sub(r"^[a-z-]+://", "", image_id)
    annotations = {
        **(dig(pod, "metadata", "labels") or {}),
        **(dig(pod, "metadata", "annotations") or {}),
    }
    pairs = tuple(sorted((str(k), str(v)) for k, v in annotations.items()))
    return _Pod(name, str(status.get("image") or ""), found.group(0), reference, pairs)


def image_revisions(paths: tuple[Path, ...]) -> dict[str, str]:
    """Each image digest's ``org.opencontainers.image.revision``, from ``skopeo inspect``
    output (``Digest``, ``Labels``) or OCI manifests and indexes (``annotations``)."""
    revisions: dict[str, str] = {}
    for path in paths:
        data = read_text(path)
        document = read_json(path, "skopeo inspect output or an OCI image manifest or index")
        expect(isinstance(document, dict), path, "expected one JSON object")
        if "Digest" in document:
            digest, labels = document.get("Digest"), document.get("Labels") or {}
        elif "schemaVersion" in document:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            labels = document.get("annotations") or {}
        else:
            raise InputError(
                "neither skopeo inspect output (Digest, Labels) nor an OCI manifest "
                "(schemaVersion, annotations)",
                path=str(path),
            )
        expect(
            isinstance(digest, str) and DIGEST.match(digest) is not None,
            path,
            f"Digest {digest!r} is not a sha256 digest",
        )
        revision = labels.get(OCI_REVISION) if isinstance(labels, dict) else None
        if not isinstance(revision, str) or not revision:
            raise InputError(f"the image {digest} carries no {OCI_REVISION} label", path=str(path))
        if revisions.get(str(digest), revision) != revision:
            raise InputError(f"image {digest} is given two revisions", path=str(path))
        revisions[str(digest)] = revision
    return revisions


def observe(listing: Listing, history: GitHistory) -> Observed:
    """The observations one listing makes."""
    result = Observed()
    workload = listing.where.workload or listing.service
    pods: list[_Pod] = []
    at_ns = timestamp_ns(listing.observed_at)
    for pod in read_pods(listing.path):
        if workload_of(pod) != workload:
            continue
        namespace = dig(pod, "metadata", "namespace")
        if listing.where.namespace and namespace != listing.where.namespace:
            continue
        if not _ready(pod):
            result.not_ready += 1
            continue
        _check_time(pod, at_ns, listing)
        pods.append(_pod(pod, listing, workload))
    if not pods:
        where = f" in namespace {listing.where.namespace}" if listing.where.namespace else ""
        raise InputError(
            f"no ready pod of workload {workload}{where} in this listing "
            f"({result.not_ready} not ready)",
            path=str(listing.path),
            hint="is it the listing of cluster "
            f"{listing.cluster} (kubectl --context), of the right namespace (-n or -A)? "
            "fleet.yaml names the workload and namespace under the cluster",
        )
    commits = _link(pods, listing, history, result)
    counted: Counter[tuple[str, str]] = Counter((p.reference, commits[p]) for p in pods)
    for (reference, commit), count in sorted(counted.items()):
        plain = {
            "host": listing.cluster,
            "service": listing.service,
            "version": commit,
            "observed_at": listing.observed_at,
            "pods": count,
            "image": reference,
        }
        result.records.append(validate(Observation, Located(plain, 0), listing.path, "observation"))
    return result


def _check_time(pod: dict[str, Any], at_ns: int, listing: Listing) -> None:
    """A pod that became ready after ``--observed-at`` shows that the time given is wrong."""
    for condition in dig(pod, "status", "conditions") or []:
        moment = condition.get("lastTransitionTime") if isinstance(condition, dict) else None
        if isinstance(moment, str) and _after(moment, at_ns):
            raise InputError(
                f"pod {pod['metadata']['name']} changed state at {moment}, after "
                f"--observed-at {listing.observed_at}: this listing was made later",
                path=str(listing.path),
                hint="give the time the listing was made (date -u just before kubectl get)",
            )


def _after(moment: str, at_ns: int) -> bool:
    try:
        return timestamp_ns(moment) > at_ns
    except ValueError:
        return False


def _link(
    pods: list[_Pod], listing: Listing, history: GitHistory, result: Observed
) -> dict[_Pod, str]:
    """Each pod's commit, through every link that applies; they must all agree."""
    named = _links(pods, listing)
    ids = history.resolve_ids({value for links in named.values() for _, value in links})
    commits: dict[_Pod, str] = {}
    for pod, links in named.items():
        found = _agreed(pod, links, ids, listing, history)
        commits[pod] = next(iter(found.values()))
        result.links.update(how.split(" '")[0] for how in found)
    by_digest: dict[str, set[str]] = defaultdict(set)
    for pod, sha in commits.items():
        by_digest[pod.digest].add(sha)
    for digest, shas in sorted(by_digest.items()):
        if len(shas) > 1:
            raise InputError(
                f"image {digest} is linked to {len(shas)} commits by different pods "
                f"({', '.join(sorted(short(s) for s in shas))}): one image is built from one "
                "commit",
                path=str(listing.path),
            )
    return commits


def _links(pods: list[_Pod], listing: Listing) -> dict[_Pod, list[tuple[str, str]]]:
    """Each pod's links to a commit, as (how, the value it gives); a tag that names different
    images in one listing links nothing, unless every pod of it is linked otherwise too."""
    revisions = image_revisions(listing.metadata)
    pattern = re.compile(listing.images.tag_pattern) if listing.images.tag_pattern else None
    key = listing.images.commit_annotation
    tags: dict[str, set[str]] = defaultdict(set)
    named: dict[_Pod, list[tuple[str, str]]] = {}
    for pod in pods:
        named[pod], tagged = _pod_links(pod, revisions, key, pattern)
        if tagged:
            tags[pod.image].add(pod.digest)
    for image, digests in sorted(tags.items()):
        linked_otherwise = all(len(named[p]) > 1 for p in pods if p.image == image)
        if len(digests) > 1 and not linked_otherwise:
            raise InputError(
                f"image {image} names {len(digests)} different images in this listing "
                f"({', '.join(sorted(d[:19] for d in digests))}): the tag moved, so it "
                "cannot say which was built from its commit",
                path=str(listing.path),
                hint="link the images by their digest (--image-metadata)",
            )
    return named


def _pod_links(
    pod: _Pod, revisions: dict[str, str], key: str | None, pattern: re.Pattern[str] | None
) -> tuple[list[tuple[str, str]], bool]:
    """What links one pod to a commit (its image's revision label, its annotation, its tag),
    and whether its tag is one of the links."""
    links: list[tuple[str, str]] = []
    if pod.digest in revisions:
        links.append((f"its image's {OCI_REVISION}", revisions[pod.digest]))
    value = pod.annotation(key) if key else None
    if key and value:
        links.append((f"its {key} annotation", value))
    tag = _tag(pod.image)
    match = pattern.fullmatch(tag) if pattern and tag else None
    if match:
        links.append((f"its image tag {tag!r}", match.group("commit")))
    return links, match is not None


def _agreed(
    pod: _Pod,
    links: list[tuple[str, str]],
    ids: dict[str, ObjectId],
    listing: Listing,
    history: GitHistory,
) -> dict[str, str]:
    """The commit each of a pod's links gives, which must exist and be one."""
    if not links:
        raise InputError(
            f"ready pod {pod.name} runs {pod.image or 'an image'} ({pod.digest}), which "
            "nothing links to a commit: it cannot be compared with what was deployed",
            path=str(listing.path),
            hint="pass the image's metadata (--image-metadata, from skopeo inspect), or "
            "set images.tag_pattern or images.commit_annotation in knightwatch.yaml",
        )
    found = {}
    for how, value in links:
        sha = ids[value].sha
        if sha is None:
            raise InputError(
                f"ready pod {pod.name}: {how} names {value!r}, which "
                + (ids[value].refused or f"is not a commit of {history.root}"),
                path=str(listing.path),
            )
        found[how] = sha
    if len(set(found.values())) > 1:
        said = "; ".join(f"{how} says {short(sha)}" for how, sha in found.items())
        raise InputError(
            f"ready pod {pod.name}: its links disagree ({said})", path=str(listing.path)
        )
    return found


def _tag(image: str) -> str | None:
    """The tag of an image reference (``repo:tag``, ``repo:tag@sha256:...``), if it has one."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None
