"""From a running image's digest to the commit it was built from, for ``import kubectl-pods``.

A digest is linked by every one of these that applies, and they must agree:

- the image's ``org.opencontainers.image.revision`` label or annotation, read from the image's
  metadata (``--image-metadata``): the only link tied to the digest itself;
- a pod annotation or label named by ``images.commit_annotation`` (a label and an annotation
  of that name that disagree are refused);
- the image's tag, where ``images.tag_pattern`` matches it.

A tag and a pod annotation say what someone meant to run, not what the digest holds: a tag can
be pushed again, and an annotation is copied to every pod of a template, whatever image each
pulled. So a tag that names several digests in one listing, and a commit that a tag or an
annotation links to several digests (in the listing, or beside the observations already
recorded), are refused unless each of those digests carries its own revision label. One digest
is built from one commit: a digest linked to another commit than an observation already
recorded says is refused too.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from checker.config import ImagesConfig
from checker.errors import InputError
from checker.evidence.files import read_text
from checker.evidence.git import GitHistory
from checker.evidence.models import Observation
from checker.importers.common import expect, read_json
from checker.vocabulary import short

OCI_REVISION = "org.opencontainers.image.revision"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}$")
TIED = f"its image's {OCI_REVISION}"


@dataclass(frozen=True)
class Running:
    """What one running pod runs, as the links need it."""

    name: str
    image: str
    """The image as the pod names it (with its tag)."""
    digest: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]


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


def tag_of(image: str) -> str | None:
    """The tag of an image reference (``repo:tag``, ``repo:tag@sha256:...``), if it has one."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _annotation(pod: Running, key: str, path: Path) -> str | None:
    """The commit a pod's label or annotation ``key`` names; the two must agree."""
    label, annotation = dict(pod.labels).get(key), dict(pod.annotations).get(key)
    if label is not None and annotation is not None and label != annotation:
        raise InputError(
            f"running pod {pod.name}: its label {key} says {label!r} and its annotation of the "
            f"same name {annotation!r}: which commit it runs cannot be told",
            path=str(path),
        )
    return annotation or label or None


def _links(
    pods: list[Running], images: ImagesConfig, revisions: dict[str, str], path: Path
) -> dict[Running, list[tuple[str, str]]]:
    """Every (how, commit name) that applies to each pod."""
    pattern = re.compile(images.tag_pattern) if images.tag_pattern else None
    named: dict[Running, list[tuple[str, str]]] = {}
    for pod in pods:
        links: list[tuple[str, str]] = []
        if pod.digest in revisions:
            links.append((TIED, revisions[pod.digest]))
        key = images.commit_annotation
        value = _annotation(pod, key, path) if key else None
        if value:
            links.append((f"its {key} annotation", value))
        tag = tag_of(pod.image)
        match = pattern.fullmatch(tag) if pattern and tag else None
        if match:
            links.append((f"its image tag {tag!r}", match.group("commit")))
        named[pod] = links
    _refuse_moved_tags(named, revisions, path)
    return named


def _refuse_moved_tags(
    named: dict[Running, list[tuple[str, str]]], revisions: dict[str, str], path: Path
) -> None:
    """A tag linked to a commit must name one image in the listing, unless every image it
    names is tied to its revision by digest."""
    tags: dict[str, set[str]] = defaultdict(set)
    for pod, links in named.items():
        if any(how.startswith("its image tag") for how, _ in links):
            tags[pod.image].add(pod.digest)
    for image, digests in sorted(tags.items()):
        tied = all(d in revisions for d in digests)
        if len(digests) > 1 and not tied:
            raise InputError(
                f"image {image} names {len(digests)} different images in this listing "
                f"({', '.join(sorted(d[:19] for d in digests))}): the tag moved, so it "
                "cannot say which was built from its commit",
                path=str(path),
                hint="link each image by its digest (--image-metadata)",
            )


def link(
    pods: list[Running],
    images: ImagesConfig,
    metadata: tuple[Path, ...],
    history: GitHistory,
    path: Path,
    recorded: list[Observation],
) -> dict[Running, str]:
    """Each pod's commit, through every link that applies: they must all agree."""
    revisions = image_revisions(metadata)
    named = _links(pods, images, revisions, path)
    ids = history.resolve_ids({value for links in named.values() for _, value in links})
    commits: dict[Running, str] = {}
    for pod, links in named.items():
        if not links:
            raise InputError(
                f"running pod {pod.name} runs {pod.image or 'an image'} ({pod.digest}), which "
                "nothing links to a commit: it cannot be compared with what was deployed",
                path=str(path),
                hint="pass the image's metadata (--image-metadata, from skopeo inspect), or "
                "set images.tag_pattern or images.commit_annotation in knightwatch.yaml",
            )
        found = {}
        for how, value in links:
            sha = ids[value].sha
            if sha is None:
                raise InputError(
                    f"running pod {pod.name}: {how} names {value!r}, which "
                    + (ids[value].refused or f"is not a commit of {history.root}"),
                    path=str(path),
                )
            found[how] = sha
        if len(set(found.values())) > 1:
            said = "; ".join(f"{how} says {short(sha)}" for how, sha in found.items())
            raise InputError(f"running pod {pod.name}: its links disagree ({said})", path=str(path))
        commits[pod] = next(iter(found.values()))
    _one_commit_per_digest(commits, recorded, path)
    _untied_digests(commits, revisions, recorded, path)
    return commits


def _digest_of(observation: Observation) -> str | None:
    found = DIGEST.search(observation.image or "")
    return found.group(0) if found else None


def _one_commit_per_digest(
    commits: dict[Running, str], recorded: list[Observation], path: Path
) -> None:
    """An image is built from one commit: here, and beside what is recorded."""
    by_digest: dict[str, set[str]] = defaultdict(set)
    for pod, sha in commits.items():
        by_digest[pod.digest].add(sha)
    for digest, shas in sorted(by_digest.items()):
        if len(shas) > 1:
            raise InputError(
                f"image {digest} is linked to {len(shas)} commits by different pods "
                f"({', '.join(sorted(short(s) for s in shas))}): one image is built from one "
                "commit",
                path=str(path),
            )
    for seen in recorded:
        digest = _digest_of(seen) or ""
        if digest in by_digest and seen.version not in by_digest[digest]:
            (sha,) = by_digest[digest]
            raise InputError(
                f"image {digest} is linked here to {short(sha)}, but the observation of "
                f"{seen.host} at {seen.observed_at} records it as {short(seen.version)}: one "
                "image is built from one commit, so one of the links is wrong (a moved tag?)",
                path=str(path),
                hint="link the image by its digest (--image-metadata)",
            )


def _untied_digests(
    commits: dict[Running, str],
    revisions: dict[str, str],
    recorded: list[Observation],
    path: Path,
) -> None:
    """A commit that a tag or an annotation alone links to several digests: the tag was
    pushed again, or the annotation was copied to pods that pulled something else."""
    here: dict[str, set[str]] = defaultdict(set)
    for pod, sha in commits.items():
        here[sha].add(pod.digest)
    before: dict[str, dict[str, Observation]] = defaultdict(dict)
    for seen in recorded:
        digest = _digest_of(seen)
        if digest is not None and seen.version in here:
            before[seen.version].setdefault(digest, seen)
    for sha, found in sorted(here.items()):
        untied = sorted(d for d in found if d not in revisions)
        others = sorted((found | set(before[sha])) - set(untied[:1]))
        if not untied or not others:
            continue
        where = before[sha].get(others[0])
        said = f" (recorded for {where.host} at {where.observed_at})" if where else ""
        raise InputError(
            f"commit {short(sha)} is linked to {len(others) + 1} different images: "
            f"{untied[0][:19]} by a tag or pod annotation alone, and {others[0][:19]}{said}: "
            "a tag or an annotation cannot say which image holds that commit",
            path=str(path),
            hint="link each image by its digest (--image-metadata): a rebuilt image of one "
            "commit carries that commit in its own revision label",
        )
