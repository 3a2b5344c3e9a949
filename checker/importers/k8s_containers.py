"""Which containers of a pod run the service's code, for ``import kubectl-pods``.

A pod runs the service in its service container (fleet.yaml's ``container``, else the only
container, else the one named like the workload), and in every other container that runs an
image of the service: a second container, a native sidecar (an init container with
``restartPolicy: Always``), an init container still running, an ephemeral container that
``kubectl debug`` added. Any of them may run another build than the service container, so each
is read: one whose image is from the service container's image repository (however it is
named: by tag or by digest, ``docker.io/library/x`` or ``x``), and one whose image is linked to
a commit of the repository by its own revision label or by the tag convention (the service's
image pushed to a mirror or a renamed repository).

A container counts while it runs: its state ``running``, or ``waiting`` to restart after it ran
(a crash loop runs the code between restarts). A container that ended (an init container that
finished) or never started runs nothing. A status without a state is read by the pod's phase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.importers.common import dig, expect
from checker.importers.k8s_images import DIGEST
from checker.importers.k8s_shapes import objects

KINDS = (
    ("containers", "containerStatuses", "container"),
    ("initContainers", "initContainerStatuses", "init container"),
    ("ephemeralContainers", "ephemeralContainerStatuses", "ephemeral container"),
)
"""Where a pod specifies its containers, where its status reports them, and what to call them."""
_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Container:
    """One container of a pod as its status reports it."""

    name: str
    kind: str
    """``container``, ``init container`` or ``ephemeral container``."""
    image: str
    """The image as the pod names it (``status.image``, else the spec's)."""
    image_id: str
    runs: bool
    repositories: frozenset[str]
    """The image's repository as the spec, the status and the runtime name it, normalised."""


def repository(reference: str) -> str | None:
    """The repository of an image reference (``REPO:TAG``, ``REPO@sha256:...``,
    ``docker-pullable://REPO@...``), in one spelling: the registry host lower-cased and
    without a default port (``:443``, ``:80``: the same registry as without it), Docker Hub's
    ``docker.io/library/`` spelled out. None for a bare digest (a node's own id)."""
    name = re.sub(r"^[a-z-]+://", "", reference.strip()).split("@", 1)[0]
    head, _, last = name.rpartition("/")
    name = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    if not name or DIGEST.match(reference.strip()) or name.startswith("sha256"):
        return None
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host = re.sub(r":(443|80)$", "", first.lower())
        host = "docker.io" if host in _HUB else host
        return f"{host}/{'library/' + rest if host == 'docker.io' and '/' not in rest else rest}"
    return f"docker.io/{name if rest else 'library/' + name}"


def _runs(status: dict[str, Any], phase: Any) -> bool:
    state, last = status.get("state"), status.get("lastState")
    if not isinstance(state, dict) or not state:
        return phase in ("Running", "Unknown")
    restarting = "waiting" in state and isinstance(last, dict) and "terminated" in last
    return "running" in state or restarting


def _spec_images(pod: dict[str, Any], spec_key: str, path: Path) -> dict[Any, Any]:
    """The image each container of the pod's spec list names, by the container's name (text,
    as the API gives it: a hand-edited listing is refused, not a traceback)."""
    name = pod["metadata"]["name"]
    specs = objects(pod["spec"].get(spec_key), path, f"pod {name}: spec.{spec_key}")
    expect(
        all(isinstance(c.get("name"), str) for c in specs),
        path,
        f"pod {name}: a container's name in spec.{spec_key} is not text",
    )
    return {c["name"]: c.get("image") for c in specs}


def containers(pod: dict[str, Any], path: Path) -> list[Container]:
    """Every container the pod's status reports, in the order of the spec's lists."""
    name = pod["metadata"]["name"]
    phase = dig(pod, "status", "phase")
    found = []
    for spec_key, status_key, kind in KINDS:
        spec_images = _spec_images(pod, spec_key, path)
        for status in objects(dig(pod, "status", status_key), path, f"pod {name}: "
                              f"status.{status_key}"):  # fmt: skip
            own = status.get("name")
            image, image_id = status.get("image") or "", status.get("imageID") or ""
            expect(
                isinstance(own, str) and isinstance(image, str) and isinstance(image_id, str),
                path,
                f"pod {name}: a {kind}'s name, image or imageID is not text",
            )
            given = spec_images.get(own)
            named = [r for r in (image, image_id, given if isinstance(given, str) else "") if r]
            found.append(
                Container(
                    name=str(own),
                    kind=kind,
                    image=image or (given if isinstance(given, str) else ""),
                    image_id=image_id,
                    runs=_runs(status, phase),
                    repositories=frozenset(r for r in map(repository, named) if r),
                )
            )
    return found


def registry_digest(pod_name: str, container: Container, path: Path) -> tuple[str, str]:
    """The container's image by registry digest (``REPOSITORY@sha256:...``) and its digest;
    a runtime's own id of a local image, or no digest at all, is refused."""
    said = f"running pod {pod_name}: {container.kind} {container.name}"
    found = DIGEST.search(container.image_id)
    if found is None:
        raise InputError(
            f"{said} reports no image digest (imageID {container.image_id!r}); a tag alone "
            "cannot say what runs",
            path=str(path),
        )
    reference = re.sub(r"^[a-z-]+://", "", container.image_id)
    named, at, _ = reference.partition("@")
    if not at or not named.strip():
        raise InputError(
            f"{said}'s imageID {container.image_id!r} is the node's own "
            "id of a local image, not a registry digest (REPOSITORY@sha256:...): the image was "
            "built or loaded on the node, not pulled from a registry, so nothing ties it to an "
            "image a registry holds, and no revision label can be looked up for it",
            path=str(path),
            hint="run images pulled from a registry (by digest, or by a tag the registry "
            "resolves): the runtime then reports imageID as REPOSITORY@sha256:...",
        )
    return reference, found.group(0)
