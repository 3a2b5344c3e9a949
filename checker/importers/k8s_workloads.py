"""The workloads' own count of their pods, against the pods a listing holds, for ``import
kubectl-pods``.

A listing narrowed by a selector (``kubectl get pods -l ...``, ``--field-selector``) prints
the same ``List`` as a whole one: its body keeps no trace of the selector, and the pods it left
out may run the old version. What does say how many pods there are is the workload itself,
listed beside them (``kubectl get pods,replicasets,deployments,statefulsets,daemonsets -o
json``): a Deployment's (or Argo Rollout's) and each of its ReplicaSets' ``status.replicas``
("total number of non-terminated pods targeted by this deployment"), a StatefulSet's (every pod
it created), a DaemonSet's ``currentNumberScheduled`` and ``numberMisscheduled`` (the nodes that
run one of its pods). A listing that holds fewer of a workload's pods than the workload counts
is refused. A named workload whose object the listing lacks is accepted only where fleet.yaml
gives the cluster's ``replicas`` (the report then says when a listing counted fewer); else
nothing says how many of its pods the listing should hold, and it is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.importers.common import dig, expect
from checker.importers.k8s_shapes import objects

KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Rollout")
"""The workload kinds a listing may hold beside its pods."""
OWNERS = ("Deployment", "Rollout", "StatefulSet", "DaemonSet", "ReplicaSet")
"""The kinds fleet.yaml's ``workload`` names (a ReplicaSet of no Deployment too)."""
ENDED = ("Succeeded", "Failed")


def _controller(pod: dict[str, Any], path: Path) -> tuple[str, str] | None:
    """The kind and name of the object that controls ``pod`` (or a ReplicaSet) directly, if
    any."""
    what = f"{pod.get('kind', 'Pod').lower()} {pod['metadata']['name']}: ownerReferences"
    owners = objects(dig(pod, "metadata", "ownerReferences"), path, what)
    for owner in owners:
        if owner.get("controller") is True:
            return str(owner.get("kind")), str(owner.get("name"))
    return None


def _active(pod: dict[str, Any]) -> bool:
    """Counted by a ReplicaSet: not ended, and not being deleted."""
    return (
        dig(pod, "status", "phase") not in ENDED
        and dig(pod, "metadata", "deletionTimestamp") is None
    )


def _number(item: dict[str, Any], field: str, path: Path) -> int:
    """A count in a workload's status (absent when zero, as the API leaves it out)."""
    name = f"{item['kind']} {item['metadata']['name']}"
    status = item.get("status")
    expect(
        isinstance(status, dict),
        path,
        f"{name}: no status, so nothing says how many pods it has",
    )
    value = status.get(field, 0) if isinstance(status, dict) else None
    expect(
        isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        path,
        f"{name}: status.{field} is not a count",
    )
    return int(value) if isinstance(value, int) else 0


Pods = list[tuple[dict[str, Any], str]]
"""The namespace's pods, each with the workload that controls it."""


def _held(kind: str, name: str, pods: Pods, path: Path) -> list[dict[str, Any]]:
    """The listed pods a workload controls: a Deployment's or Rollout's through its
    ReplicaSets, any other's directly."""
    held = []
    for pod, workload in pods:
        controller = _controller(pod, path)
        if kind == "ReplicaSet":
            mine = controller == (kind, name)
        elif kind in ("Deployment", "Rollout"):
            mine = workload == name and controller is not None and controller[0] == "ReplicaSet"
        else:
            mine = workload == name and controller == (kind, name)
        if mine:
            held.append(pod)
    return held


def _counts(item: dict[str, Any], pods: Pods, path: Path) -> tuple[int, int, str]:
    """How many the workload counts, how many of its pods the listing holds, and of what."""
    kind, name = item["kind"], item["metadata"]["name"]
    held = _held(kind, name, pods, path)
    if kind == "DaemonSet":
        nodes = {
            node
            for p in held
            if dig(p, "status", "phase") not in ENDED
            and isinstance(node := dig(p, "spec", "nodeName"), str)
            and node
        }  # a pod not yet scheduled is on no node, and the DaemonSet counts nodes
        expected = _number(item, "currentNumberScheduled", path)
        expected += _number(item, "numberMisscheduled", path)
        return expected, len(nodes), "nodes running its pods"
    if kind == "StatefulSet":  # every pod it created, ended or terminating too
        return _number(item, "replicas", path), len(held), "pods"
    active = [p for p in held if _active(p)]
    return _number(item, "replicas", path), len(active), "non-terminated pods"


def check(
    items: list[dict[str, Any]],
    pods: Pods,
    names: tuple[str, ...],
    replicas_given: bool,
    path: Path,
) -> None:
    """Refuse a listing that holds fewer of a named workload's pods (or its ReplicaSets') than
    the workload counts, and one that lacks a named workload's object where fleet.yaml gives
    no ``replicas``."""
    wanted = [i for i in items if i["kind"] in OWNERS and i["metadata"]["name"] in names]
    owned = {(i["kind"], i["metadata"]["name"]) for i in wanted}
    for item in items:  # a named Deployment's or Rollout's, whether it is listed or not
        owner = _controller(item, path) if item["kind"] == "ReplicaSet" else None
        if owner is not None and owner[0] in ("Deployment", "Rollout") and owner[1] in names:
            wanted.append(item)
    for item in wanted:
        expected, held, what = _counts(item, pods, path)
        if held < expected:
            raise InputError(
                f"{item['kind']} {item['metadata']['name']} counts {expected} {what} "
                f"(its status), and this listing holds {held}: it was narrowed by a selector "
                "(-l, --field-selector) or taken while the workload changed, and the pods left "
                "out may run another version",
                path=str(path),
                hint="list the namespace's every pod and workload, with no selector "
                "(kubectl get pods,replicasets,deployments,statefulsets,daemonsets -n "
                "NAMESPACE -o json), once the rollout settles",
            )
    missing = sorted(set(names) - {name for _, name in owned})
    if missing and not replicas_given:
        raise InputError(
            "this listing holds no Deployment, StatefulSet, DaemonSet, Rollout or ReplicaSet "
            f"named {', '.join(missing)}, and fleet.yaml gives the cluster no replicas: nothing "
            "says how many pods the workload has, so a listing narrowed by a selector (-l) cannot "
            "be told from a whole one",
            path=str(path),
            hint="list the workloads with their pods (kubectl get pods,replicasets,"
            "deployments,statefulsets,daemonsets -n NAMESPACE -o json), or give the cluster "
            "its replicas in fleet.yaml",
        )
