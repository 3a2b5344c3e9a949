"""``import kubectl-pods`` tried as the audited team would try it, wanting a pass: a pod
annotation vouching for a moved tag, a Flagger primary left out of the named workload, a bare
debug pod, listings that contradict each other, a listing short of its replicas before a flag,
and a label and an annotation that disagree. Pods derived from the recorded listing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker.importers.k8s_containers import repository
from tests.conftest import run_cli
from tests.importers.k8s_recordings import (
    RunningPod,
    deployment,
    pending,
    pod,
    with_container,
)
from tests.importers.k8s_scenario import (
    CLUSTERS,
    DIGEST_V1,
    DIGEST_V2,
    FLAG_EVENTS,
    REGISTRY,
    TAG_PATTERN,
    applications,
    listing,
)
from tests.importers.test_kubernetes import Case, findings

SHA_TAG = ("--tag-pattern", "sha-(?P<commit>[0-9a-f]{7,40})")
ANNOTATION = "example.com/git-sha"


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _pod(name: str, image: str, digest: str, **extra: Any) -> dict[str, Any]:
    workload = extra.pop("workload", "checkout")
    template = extra.pop("template", "7d4b9c2f5d")
    return pod(RunningPod(name=f"{workload}-{template}-{name}", workload=workload,
                          template_hash=template, image=image, digest=digest,
                          namespace="shop", **extra))  # fmt: skip


# --- links that do not hold the digest ------------------------------------------------------


def test_a_pod_annotation_never_vouches_for_a_moved_tag(case: Case) -> None:
    """The tag sha-<v2> was pushed twice; a node that had the first push kept it. Every pod
    carries the template's annotation, whatever it pulled."""
    tag = f"{REGISTRY}:sha-{case.v2[:7]}"
    vouched = (("annotations", ((ANNOTATION, case.v2),)),)
    pods = [
        _pod("a", tag, DIGEST_V2, **dict(vouched)),
        _pod("b", tag, DIGEST_V1, **dict(vouched)),
    ]
    moved = case.pods("us-east-1", pods, *SHA_TAG, "--commit-annotation", ANNOTATION)
    assert moved.code == 2 and "the tag moved" in moved.err
    # A mutable tag and the annotation alone: one commit, two images.
    latest = [_pod(n, f"{REGISTRY}:latest", d, **dict(vouched)) for n, d in
              (("a", DIGEST_V2), ("b", DIGEST_V1))]  # fmt: skip
    alone = case.pods("us-east-1", latest, "--commit-annotation", ANNOTATION)
    assert alone.code == 2
    assert f"commit {case.v2[:12]} is linked to 2 different images" in alone.err
    assert not (case.evidence / "observations.jsonl").exists()
    # Each image's own revision label settles it: both were built from v2 (a rebuild).
    metadata = []
    for digest in (DIGEST_V1, DIGEST_V2):
        path = case.work / f"skopeo-{digest[7:9]}.json"
        path.write_text(
            json.dumps(
                {
                    "Name": REGISTRY,
                    "Digest": digest,
                    "Labels": {"org.opencontainers.image.revision": case.v2},
                }
            )
        )
        metadata += ["--image-metadata", str(path)]  # fmt: skip
    proven = case.pods("us-east-1", latest, "--commit-annotation", ANNOTATION, *metadata)
    assert proven.code == 0, proven.err


def test_a_label_and_an_annotation_that_disagree_are_refused(case: Case) -> None:
    item = _pod("a", f"{REGISTRY}:latest", DIGEST_V2, annotations=((ANNOTATION, case.v2),))
    item["metadata"]["labels"][ANNOTATION] = case.v1
    result = case.pods("eu-west-1", [item], "--commit-annotation", ANNOTATION)
    assert result.code == 2
    assert f"its label {ANNOTATION} says {case.v1!r}" in result.err


@pytest.mark.parametrize(
    "image_id",
    [
        f"docker://{DIGEST_V2}",
        DIGEST_V2,
        f"docker-pullable://{DIGEST_V2}",
        f"docker-pullable://@{DIGEST_V2}",
        f"@{DIGEST_V2}",
    ],
)
def test_a_local_image_id_is_not_a_registry_digest(case: Case, image_id: str) -> None:
    """dockershim reports ``docker://sha256:...`` (containerd a bare ``sha256:...``) for an
    image built or loaded on the node: its own id, which no registry and no --image-metadata
    knows, even when a revision label vouches for the tag."""
    item = _pod("a", f"{REGISTRY}:{case.v2}", DIGEST_V2)
    item["status"]["containerStatuses"][0]["imageID"] = image_id
    result = case.pods("eu-west-1", [item], "--tag-pattern", TAG_PATTERN)
    assert result.code == 2, result.err
    assert "not a registry digest" in result.err and repr(image_id) in result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "observations.jsonl").exists()
    # The same pod pulled from the registry is recorded.
    item["status"]["containerStatuses"][0]["imageID"] = f"{REGISTRY}@{DIGEST_V2}"
    assert case.pods("eu-west-1", [item], "--tag-pattern", TAG_PATTERN).code == 0


# --- pods of the service outside the named workload ---------------------------------------


def test_a_flagger_primary_is_never_passed_over(case: Case) -> None:
    (case.evidence / "fleet.yaml").write_text(
        "services:\n  checkout:\n    clusters:\n      - {name: eu-west-1, namespace: shop}\n"
    )
    assert case.argocd(applications(case.v1, case.v2)[:1]).code == 0
    primary = [
        _pod(n, f"{REGISTRY}:{case.v1}", DIGEST_V1, workload="checkout-primary",
             template="6b8f9c7d5") for n in "abc"
    ]  # fmt: skip
    canary = [_pod("z", f"{REGISTRY}:{case.v2}", DIGEST_V2, template="5f6d7c8b9")]
    refused = case.pods("eu-west-1", primary + canary, "--tag-pattern", TAG_PATTERN)
    assert refused.code == 2 and "workload checkout-primary" in refused.err
    assert "workload: [checkout, checkout-primary]" in refused.err
    (case.evidence / "fleet.yaml").write_text(
        "services:\n  checkout:\n    clusters:\n"
        "      - {name: eu-west-1, namespace: shop, workload: [checkout, checkout-primary], "
        "replicas: 4}\n"
    )
    counted = case.pods("eu-west-1", primary + canary, "--tag-pattern", TAG_PATTERN)
    assert counted.code == 0, counted.err
    assert f"{case.v1[:12]} on 3 pods" in counted.err
    (case.evidence / "flag_events.yaml").write_text(FLAG_EVENTS)
    report = case.check()
    (message,) = findings(report, "FLEET-003").values()
    assert f"last observed {case.v1[:12]} on eu-west-1; {case.v2[:12]} on eu-west-1" in message
    drift = findings(report, "FLEET-002")
    assert "(3 of 4 pods observed" in drift[f"checkout-production-{case.v2[:12]}:eu-west-1"]


def test_a_bare_pod_like_the_services_is_refused(case: Case) -> None:
    new = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2) for n in "abc"]
    debug = _pod("x", f"{REGISTRY}:{case.v1}", DIGEST_V1)
    del debug["metadata"]["ownerReferences"]
    debug["metadata"]["name"] = "checkout-debug"
    result = case.pods("eu-west-1", [*new, debug], "--tag-pattern", TAG_PATTERN)
    assert result.code == 2 and "running pod checkout-debug" in result.err
    assert "no controller" in result.err
    debug["metadata"]["name"] = "shell"  # named otherwise, but labelled like the service's pods
    labelled = case.pods("eu-west-1", [*new, debug], "--tag-pattern", TAG_PATTERN)
    assert labelled.code == 2 and "carries their pods' labels" in labelled.err
    debug["metadata"]["labels"] = {"run": "shell"}  # labelled otherwise, the service's image
    image = case.pods("eu-west-1", [*new, debug], "--tag-pattern", TAG_PATTERN)
    assert image.code == 2 and f"runs their image {REGISTRY}:{case.v1}" in image.err
    status = debug["status"]["containerStatuses"][0]  # another pod altogether: passed over
    debug["spec"]["containers"][0]["image"] = status["image"] = "docker.io/library/busybox:1.36"
    status["imageID"] = "docker-pullable://busybox@sha256:" + "7" * 64
    other = case.pods("eu-west-1", [*new, debug], "--tag-pattern", TAG_PATTERN)
    assert other.code == 0, other.err


def _blue_green(case: Case, **blue: Any) -> list[dict[str, Any]]:
    """Deployment ``checkout`` runs v2 on three pods; a left-over Deployment ``checkout-blue``
    still runs v1 on two, in the same namespace."""
    new = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2) for n in "abc"]
    old = [_pod(n, f"{REGISTRY}:{case.v1}", DIGEST_V1, workload="checkout-blue",
                template="5c4b8a9d7f", **blue) for n in "de"]  # fmt: skip
    return new + old


def test_a_left_over_workload_labelled_like_the_service_is_refused(case: Case) -> None:
    """``checkout-blue`` carries every label of ``checkout``'s pods: the Service routes to it,
    it runs the service. Refused, naming it and how to map it; once named, FLEET-002 sees v1."""
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    items = _blue_green(case)
    refused = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert refused.code == 2, refused.err
    assert "of workload checkout-blue looks like one of workload checkout's" in refused.err
    assert "carries their pods' labels (all of them)" in refused.err
    assert "workload: [checkout, checkout-blue]" in refused.err
    assert not (case.evidence / "observations.jsonl").exists()
    fleet = (case.evidence / "fleet.yaml").read_text()
    both = "workload: [checkout, checkout-blue],"
    fleet = fleet.replace("{name: eu-west-1, namespace: shop, workload: checkout,",
                          "{name: eu-west-1, namespace: shop, " + both)  # fmt: skip
    (case.evidence / "fleet.yaml").write_text(fleet)
    counted = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert counted.code == 0, counted.err
    assert f"{case.v1[:12]} on 2 pods" in counted.err
    drift = findings(case.check(), "FLEET-002")
    assert f"checkout-production-{case.v2[:12]}:eu-west-1" in drift


@pytest.mark.parametrize(
    ("change", "why"),
    [
        # A label of their own (color) keeps it off "all their labels"; app still matches.
        (lambda labels: labels.update(color="blue"), "their label app=checkout"),
        # Labelled as nothing like the service, it still runs the service's image.
        (lambda labels: (labels.clear(), labels.update(run="legacy")), "runs their image"),
    ],
)
def test_a_look_alike_by_one_label_or_by_its_image_is_refused(
    case: Case, change: Any, why: str
) -> None:
    items = _blue_green(case)
    for item in items:
        item["metadata"]["labels"]["app"] = "checkout"
        if item["metadata"]["name"].startswith("checkout-blue"):
            change(item["metadata"]["labels"])
        else:
            item["metadata"]["labels"]["color"] = "green"
    refused = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert refused.code == 2, refused.err
    assert "pod checkout-blue-5c4b8a9d7f-d of workload checkout-blue" in refused.err
    assert why in refused.err


def test_a_look_alike_whose_status_reports_no_container_is_refused(case: Case) -> None:
    """A listing that reports no container of the left-over pod (truncated, or taken while
    the kubelet lagged): what it runs is not known, so the image its spec names decides."""
    items = _blue_green(case)
    for item in items[3:]:
        item["metadata"]["labels"] = {"run": "legacy"}
        del item["status"]["containerStatuses"]
    refused = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert refused.code == 2, refused.err
    assert "its spec names their image and its status reports no container" in refused.err


def test_a_look_alike_not_ready_or_by_digest_is_refused_and_one_elsewhere_is_not(
    case: Case,
) -> None:
    items = _blue_green(case, ready=False)
    for item in items[3:]:
        item["metadata"]["labels"] = {"run": "legacy"}
        status = item["status"]["containerStatuses"][0]
        item["spec"]["containers"][0]["image"] = status["image"] = f"{REGISTRY}@{DIGEST_V1}"
    refused = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert refused.code == 2 and f"runs their image {REGISTRY}@{DIGEST_V1}" in refused.err
    for item in items[3:]:  # in another namespace, no Service of this one selects it
        item["metadata"]["namespace"] = "shop-legacy"
    elsewhere = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert elsewhere.code == 0, elsewhere.err


@pytest.mark.parametrize(
    ("image", "why"),
    [
        # The old commit from a mirror: another repository, a tag that names a commit.
        ("mirror.example.com/shop/checkout", "which is linked to a commit of their repository"),
        # Their registry spelled with its default port: the same repository.
        ("registry.example.com:443/shop/checkout", "runs their image"),
    ],
)
def test_a_look_alike_by_an_image_linked_to_a_commit_is_refused(
    case: Case, image: str, why: str
) -> None:
    """A left-over ``checkout-blue`` runs v1 pulled from elsewhere, labelled like nothing of
    the service's: its image is the service's code all the same, as ``_linked`` counts it in
    the service's own pods."""
    items = _blue_green(case)
    for item in items[3:]:
        item["metadata"]["labels"] = {"app.kubernetes.io/instance": "checkout"}
        status = item["status"]["containerStatuses"][0]
        item["spec"]["containers"][0]["image"] = status["image"] = f"{image}:{case.v1}"
        status["imageID"] = f"docker-pullable://{image}@{DIGEST_V1}"
    refused = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert refused.code == 2, refused.err
    assert "pod checkout-blue-5c4b8a9d7f-d of workload checkout-blue" in refused.err
    assert why in refused.err
    assert not (case.evidence / "observations.jsonl").exists()


# --- pods that run, whatever their readiness --------------------------------------------


@pytest.mark.parametrize(
    ("state", "note"),
    [
        ({"ready": False}, "1 not ready (they run: counted)"),
        ({"terminating": True}, "1 terminating (they run until stopped: counted)"),
        ({"ready": False, "phase": "Unknown"}, "1 not ready (they run: counted)"),
    ],
)
@pytest.mark.parametrize("replicas", [True, False])
def test_a_running_pod_counts_whatever_its_readiness(
    case: Case, state: dict[str, Any], note: str, replicas: bool
) -> None:
    """Of three pods, two run v2 and one still runs v1 but fails its readiness probe (or is
    terminating, or its node stopped reporting): readiness gates only the Service's traffic,
    the old pod's code still runs (a queue consumer does its work), and FLEET-002 sees it,
    whether fleet.yaml gives replicas or not."""
    if not replicas:
        fleet = (case.evidence / "fleet.yaml").read_text().replace(", replicas: 3", "")
        (case.evidence / "fleet.yaml").write_text(fleet)
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    new = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2) for n in "ab"]
    old = _pod("c", f"{REGISTRY}:{case.v1}", DIGEST_V1, template="5c4b8a9d7f", **state)
    # Without replicas, the Deployment listed beside its pods counts them (not the one
    # terminating: status.replicas counts the pods not being deleted).
    workload = (
        [] if replicas else [deployment("checkout", "shop", 2 + ("terminating" not in state))]
    )
    result = case.pods("eu-west-1", [*new, old, *workload], "--tag-pattern", TAG_PATTERN)
    assert result.code == 0, result.err
    assert note in result.err and f"{case.v1[:12]} on 1 pods" in result.err
    assert "expected" not in result.err  # three pods run: the listing is whole
    drift = findings(case.check(), "FLEET-002")
    message = drift[f"checkout-production-{case.v2[:12]}:eu-west-1"]
    assert message.startswith(f"Cluster eu-west-1 was observed running {case.v1[:12]}")


@pytest.mark.parametrize("phase", ["Pending", "Succeeded"])
def test_a_pod_not_started_or_ended_runs_nothing(case: Case, phase: str) -> None:
    new = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2) for n in "ab"]
    old = _pod("c", f"{REGISTRY}:{case.v1}", DIGEST_V1, ready=False, phase=phase)
    result = case.pods("eu-west-1", [*new, old], "--tag-pattern", TAG_PATTERN)
    assert result.code == 0, result.err
    assert "1 not running (Pending, Succeeded or Failed), left out" in result.err
    assert "2 running pods of 3 expected" in result.err
    seen, *ended = case.records("observations.jsonl")
    assert seen["version"] == case.v2 and seen["pods"] == 2
    # An ended pod is no running one, but it ran until it stopped: a sighting then (no count).
    stopped = [(r["version"], r["observed_at"], "pods" in r) for r in ended]
    assert stopped == ([(case.v1, "2022-12-23T09:40:00Z", False)] if phase == "Succeeded" else [])


# --- every container that runs the service's image -----------------------------------------

KINDS = ("containers", "initContainers", "ephemeralContainers")


def _metadata(case: Case, digest: str, commit: str) -> tuple[str, str]:
    path = case.work / f"skopeo-{digest[7:12]}.json"
    labels = {"org.opencontainers.image.revision": commit}
    path.write_text(json.dumps({"Name": REGISTRY, "Digest": digest, "Labels": labels}))
    return "--image-metadata", str(path)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spelling", ["tag", "digest", "mirror", "digest-only-label"])
def test_every_running_container_of_the_service_image_counts(
    case: Case, kind: str, spelling: str
) -> None:
    """Every pod's service container runs v2; a second container (or a native sidecar, or an
    ephemeral container), named otherwise, runs v1 from the same image repository, named by
    its tag or by its digest, or the same build pushed to a mirror. The old code runs in every
    pod: FLEET-002 reports it."""
    extra: tuple[str, ...] = ()
    image = {
        "tag": f"{REGISTRY}:{case.v1}",
        "digest": f"{REGISTRY}@{DIGEST_V1}",
        "mirror": f"mirror.example.com/shop/checkout:{case.v1}",
        "digest-only-label": f"mirror.example.com/shop/checkout@{DIGEST_V1}",
    }[spelling]
    if spelling.startswith("digest"):
        extra = _metadata(case, DIGEST_V1, case.v1)
    repo = image.split("@")[0].rsplit(":", 1)[0] if "@" not in image else image.split("@")[0]
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    items = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2, container="checkout") for n in "abc"]
    for item in items:
        with_container(item, kind, "order-router", image, f"{repo}@{DIGEST_V1}")
    result = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN, *extra)
    assert result.code == 0, result.err
    assert "imported 3 running pods" in result.err
    assert f"{case.v1[:12]} on 3 pods" in result.err and f"{case.v2[:12]} on 3 pods" in result.err
    drift = findings(case.check(), "FLEET-002")
    message = drift[f"checkout-production-{case.v2[:12]}:eu-west-1"]
    assert message.startswith(f"Cluster eu-west-1 was observed running {case.v1[:12]}")


def test_containers_that_do_not_run_the_service_are_not_counted(case: Case) -> None:
    """A mesh proxy of another image, an init container of the old build that finished (a
    migration), an old sidecar that never started, and a second container of the same build:
    the pods run v2 alone, each counted once."""
    items = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2, container="checkout") for n in "abc"]
    ended = {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "ready": False}
    waiting = {"state": {"waiting": {"reason": "PodInitializing"}}, "imageID": ""}
    for item in items:
        with_container(item, "containers", "istio-proxy", "docker.io/istio/proxyv2:1.20.0",
                       "docker-pullable://istio/proxyv2@sha256:" + "9" * 64)  # fmt: skip
        with_container(item, "initContainers", "migrate", f"{REGISTRY}:{case.v1}",
                       f"{REGISTRY}@{DIGEST_V1}", **ended)  # fmt: skip
        item["spec"]["initContainers"][-1].pop("restartPolicy")  # a plain init container
        with_container(item, "ephemeralContainers", "debugger", f"{REGISTRY}:{case.v1}", "",
                       **waiting)  # fmt: skip
        with_container(item, "containers", "worker", f"{REGISTRY}:{case.v2}",
                       f"{REGISTRY}@{DIGEST_V2}")  # fmt: skip
    result = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert result.code == 0, result.err
    (seen,) = case.records("observations.jsonl")
    assert seen["version"] == case.v2 and seen["pods"] == 3


def test_a_crash_looping_old_sidecar_still_runs(case: Case) -> None:
    """Waiting to restart after it ran: it runs the old code between restarts."""
    items = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2, container="checkout") for n in "abc"]
    looping = {
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
        "ready": False,
    }
    with_container(items[0], "initContainers", "router", f"{REGISTRY}:{case.v1}",
                   f"{REGISTRY}@{DIGEST_V1}", **looping)  # fmt: skip
    result = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert result.code == 0, result.err
    assert f"{case.v1[:12]} on 1 pods" in result.err


def test_an_extra_container_of_the_service_image_is_held_to_the_same_links(case: Case) -> None:
    """One commit by tag alone on two images in one pod (the tag moved), a local image, and a
    pod still starting whose old native sidecar already runs."""
    item = _pod("a", f"{REGISTRY}:{case.v2}", DIGEST_V2, container="checkout")
    with_container(item, "containers", "router", f"{REGISTRY}:{case.v2}", f"{REGISTRY}@{DIGEST_V1}")
    moved = case.pods("eu-west-1", [item], "--tag-pattern", TAG_PATTERN)
    assert moved.code == 2 and "the tag moved" in moved.err
    item["status"]["containerStatuses"][-1]["imageID"] = f"docker://{DIGEST_V1}"
    local = case.pods("eu-west-1", [item], "--tag-pattern", TAG_PATTERN)
    assert local.code == 2 and "container router's imageID" in local.err
    started = {"running": {"startedAt": "2022-12-23T09:36:46Z"}}
    starting = pending(
        _pod("b", f"{REGISTRY}:{case.v2}", DIGEST_V2, ready=False, container="checkout")
    )
    with_container(starting, "initContainers", "router", f"{REGISTRY}:{case.v1}",
                   f"{REGISTRY}@{DIGEST_V1}", state=started, started=True)  # fmt: skip
    counted = case.pods("eu-west-1", [starting], "--tag-pattern", TAG_PATTERN)
    assert counted.code == 0, counted.err
    (seen,) = case.records("observations.jsonl")
    assert seen["version"] == case.v1 and seen["pods"] == 1


@pytest.mark.parametrize(
    ("reference", "repository_"),
    [
        (f"{REGISTRY}:sha-1", REGISTRY),
        (f"{REGISTRY}@{DIGEST_V1}", REGISTRY),
        (f"docker-pullable://{REGISTRY}@{DIGEST_V1}", REGISTRY),
        (f"{REGISTRY}:sha-1@{DIGEST_V1}", REGISTRY),
        ("Registry.Example.COM/shop/checkout:1", REGISTRY),
        ("registry.example.com:5000/shop/checkout:1", "registry.example.com:5000/shop/checkout"),
        ("registry.example.com:443/shop/checkout:1", REGISTRY),
        ("REGISTRY.example.com:80/shop/checkout@" + DIGEST_V1, REGISTRY),
        ("docker.io:443/library/nginx", "docker.io/library/nginx"),
        ("nginx:1.25", "docker.io/library/nginx"),
        ("docker.io/library/nginx@" + DIGEST_V1, "docker.io/library/nginx"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx"),
        ("acme/checkout:1", "docker.io/acme/checkout"),
        ("localhost/checkout:1", "localhost/checkout"),
    ],
)
def test_one_repository_however_the_image_is_named(reference: str, repository_: str) -> None:
    assert repository(reference) == repository_


@pytest.mark.parametrize("reference", [DIGEST_V1, f"docker://{DIGEST_V1}", ""])
def test_a_node_local_image_id_has_no_repository(reference: str) -> None:
    assert repository(reference) is None


# --- listings that contradict each other ---------------------------------------------------


def test_one_image_is_one_commit_across_listings(case: Case) -> None:
    old = [_pod("a", f"{REGISTRY}:sha-{case.v1[:7]}", DIGEST_V1)]
    assert case.pods("us-east-1", old, *SHA_TAG).code == 0
    # The tag sha-<v2> was moved onto the old image, and another cluster pulled it.
    moved = [_pod("b", f"{REGISTRY}:sha-{case.v2[:7]}", DIGEST_V1)]
    result = case.pods("eu-central-1", moved, *SHA_TAG)
    assert result.code == 2
    assert f"records it as {case.v1[:12]}: one image is built from one commit" in result.err


def test_one_tag_naming_two_images_across_listings_is_refused(case: Case) -> None:
    first = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2) for n in "abc"]
    assert case.pods("eu-west-1", first, "--tag-pattern", TAG_PATTERN).code == 0
    second = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V1) for n in "def"]
    result = case.pods("eu-central-1", second, "--tag-pattern", TAG_PATTERN)
    assert result.code == 2 and "recorded for eu-west-1 at" in result.err


def test_one_listing_is_not_two_clusters(case: Case) -> None:
    items = listing("eu-west-1", [(case.v2, DIGEST_V2)] * 3)
    assert case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN).code == 0
    again = case.pods("eu-west-1", items, "--tag-pattern", TAG_PATTERN)
    assert again.code == 0 and "0 added, 1 already there" in again.err
    twice = case.pods("ap-south-1", items, "--tag-pattern", TAG_PATTERN)
    assert twice.code == 2 and "were recorded as cluster eu-west-1's" in twice.err
    doubled = case.pods("ap-south-1", items + items[:1], "--tag-pattern", TAG_PATTERN)
    assert doubled.code == 2 and "is listed twice in this listing" in doubled.err


# --- a short listing before a flag ---------------------------------------------------------


def test_a_listing_short_of_its_replicas_before_a_flag_makes_fleet_003_partial(
    case: Case,
) -> None:
    assert case.argocd(applications(case.v1, case.v2, v2_on=CLUSTERS)).code == 0
    for cluster in CLUSTERS:
        items = listing(cluster, [(case.v2, DIGEST_V2)] + [(case.v1, DIGEST_V1)] * 2)
        if cluster == "ap-south-1":  # two pods still being created: they run nothing yet
            for item in items[1:]:
                pending(item)
        else:
            items = listing(cluster, [(case.v2, DIGEST_V2)] * 3)
        assert case.pods(cluster, items, "--tag-pattern", TAG_PATTERN).code == 0
    (case.evidence / "flag_events.yaml").write_text(FLAG_EVENTS)
    report = case.check()
    status = {r["id"]: r for r in report["summary"]["rules"]}
    assert not findings(report, "FLEET-003")
    assert status["FLEET-003"].get("partial") is True
    assert "ap-south-1@2024-06-04T11:00:00Z (1 of 3 running pods)" in status["FLEET-003"]["reason"]
    required = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                       "--as-of", "2024-06-30", "--require-all")  # fmt: skip
    assert required.code == 1


# --- a listing of part of the namespace ----------------------------------------------------


def _page(items: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """``items`` as the API serves one page of ``GET /api/v1/namespaces/shop/pods?limit=N``
    (a ``PodList``, its items without ``kind`` or ``apiVersion``)."""
    bare = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
    return {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": bare}


def _whole(case: Case, document: Any) -> Any:
    path = case.work / "pods.json"
    path.write_text(json.dumps(document))
    return case.cli("kubectl-pods", path, "--cluster", "us-east-1", "--service", "checkout",
                    "--observed-at", "2024-06-04T11:00:00Z", "--tag-pattern",
                    TAG_PATTERN)  # fmt: skip


@pytest.mark.parametrize(
    "meta",
    [
        {"resourceVersion": "10245", "continue": "ENCODED_CONTINUE_TOKEN", "remainingItemCount": 1},
        {"resourceVersion": "10245", "continue": "ENCODED_CONTINUE_TOKEN"},  # with a selector
    ],
)
def test_one_page_of_a_longer_list_is_refused(case: Case, meta: dict[str, Any]) -> None:
    """A script that lists the pods through the API with ``limit`` and does not follow
    ``continue`` has the first page only: the old pod is on the next one."""
    (case.evidence / "fleet.yaml").write_text(
        "services:\n  checkout:\n    clusters: [{name: us-east-1, namespace: shop, replicas: 3}]\n"
    )
    assert case.argocd(applications(case.v1, case.v2, v2_on=CLUSTERS)).code == 0
    items = listing("us-east-1", [(case.v2, DIGEST_V2)] * 2 + [(case.v1, DIGEST_V1)])
    page = _whole(case, _page(items[:2], **meta))
    assert page.code == 2, page.err
    assert "one page of a longer list" in page.err and "pods.json" in page.err
    assert "Traceback" not in page.err
    assert not (case.evidence / "observations.jsonl").exists()
    # The last page (no continue), or every page merged, is the whole list.
    whole = _whole(case, _page(items, resourceVersion="10245"))
    assert whole.code == 0, whole.err
    drift = findings(case.check(), "FLEET-002")
    assert f"checkout-production-{case.v2[:12]}:us-east-1" in drift


@pytest.mark.parametrize("shape", ["one pod", "array"])
def test_a_pod_or_an_array_is_no_listing_of_the_namespace(case: Case, shape: str) -> None:
    """``kubectl get pod NAME -o json`` prints that pod alone, and a ``jq`` filter an array:
    neither says what the namespace's other pods run."""
    items = listing("us-east-1", [(case.v2, DIGEST_V2)] * 2 + [(case.v1, DIGEST_V1)])
    result = _whole(case, items[0] if shape == "one pod" else items[:2])
    assert result.code == 2, result.err
    assert "not a listing of the namespace's pods" in result.err and "Traceback" not in result.err
    assert not (case.evidence / "observations.jsonl").exists()


@pytest.mark.parametrize("status", [None, {}, {"phase": "running"}])
def test_a_pod_whose_phase_is_not_known_is_refused(case: Case, status: Any) -> None:
    """The API gives every pod a phase (``Pending`` from its creation on): an old pod whose
    status was cut out of the listing (``jq 'del(.items[2].status)'``) was left out as not
    running, and only the new pods were observed."""
    items = listing("us-east-1", [(case.v2, DIGEST_V2)] * 2 + [(case.v1, DIGEST_V1)])
    if status is None:
        del items[2]["status"]
    else:
        items[2]["status"] = status
    result = case.pods("us-east-1", items, "--tag-pattern", TAG_PATTERN)
    assert result.code == 2, result.err
    assert f"pod {items[2]['metadata']['name']}: status" in result.err
    assert "status.phase" in result.err and "whether it runs" in result.err
    assert "Traceback" not in result.err
    assert not (case.evidence / "observations.jsonl").exists()


@pytest.mark.parametrize("kind", [None, "Job", "Pod"])
def test_a_pod_named_as_the_workload_does_not_pad_its_count(case: Case, kind: str | None) -> None:
    """fleet.yaml counts three pods of ``checkout``; one of the Deployment's never came up.
    A bare pod (or a Job's) that its creator named ``checkout`` itself, running v2, made up
    the count: ``v2 on 3 pods``, and FLEET-002 saw the rollout whole. A pod counts for a
    workload only where that workload's controller (a ReplicaSet of its Deployment, a
    StatefulSet, a DaemonSet) made it."""
    new = [_pod(n, f"{REGISTRY}:{case.v2}", DIGEST_V2) for n in "ab"]
    padding = _pod("c", f"{REGISTRY}:{case.v2}", DIGEST_V2)
    padding["metadata"]["name"] = "checkout"
    if kind is None:
        del padding["metadata"]["ownerReferences"]
    else:
        padding["metadata"]["ownerReferences"][0].update(kind=kind, name="checkout")
    result = case.pods("eu-west-1", [*new, padding], "--tag-pattern", TAG_PATTERN)
    assert f"{case.v2[:12]} on 3 pods" not in result.err
    assert result.code == 2, result.err
    assert "checkout" in result.err
