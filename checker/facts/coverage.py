"""What the judged evidence covers: a rule is evaluated only on evidence that exists.

A file that is present can still hold nothing for the deployments judged (no observations
between a deployment and the next, no flag events in the month, no registry at the deployed
commits). Each name a rule ``requires`` is judged here on the input document, after the run's
scope is applied, and a gap that leaves part of the judged evidence uncovered is told as a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checker.evidence.bundle import Evidence

_LISTED = 5


@dataclass(frozen=True)
class Coverage:
    """Whether a rule needing this evidence can be judged, and what it leaves uncovered."""

    present: bool
    note: str | None = None
    """Why it is absent; or, when present, what part of the judged records it misses."""
    read: bool = True
    """Whether there was evidence of this kind at all (its file), judged records or not: what a
    rule that uses it where it exists (``optional``) asks."""


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:_LISTED])
    return shown + (f" and {len(ids) - _LISTED} more" if len(ids) > _LISTED else "")


def describe(
    document: dict[str, Any],
    evidence: Evidence,
    *,
    scope: str,
    registry_file: str,
    unbounded: set[str],
) -> dict[str, Coverage]:
    """Coverage of every evidence name a rule may require, over the judged records.

    ``scope`` words the run's span for messages (``" in 2026-10"``, or nothing)."""
    deployments = document["deployments"]
    count = len(deployments)
    result: dict[str, Coverage] = {}
    for name in ("reviews", "identities", "waivers"):
        present = name in evidence.present
        result[name] = Coverage(present, None if present else f"no {name} evidence", present)

    def from_file(name: str, judged: Coverage) -> Coverage:
        if name not in evidence.present:
            return Coverage(False, f"no {name} evidence", read=False)
        return judged

    result["deploys"] = from_file(
        "deploys", Coverage(count > 0, None if count else f"no deployments{scope}")
    )

    fleet = document.get("fleet", {})
    outside = sorted({d["service"] for d in deployments if d["service"] not in fleet})
    inventoried = count - sum(1 for d in deployments if d["service"] not in fleet)
    result["fleet"] = from_file(
        "fleet",
        Coverage(
            inventoried > 0 or count == 0,
            (
                f"services outside the inventory (unlisted_services) not judged: {_some(outside)}"
                if outside
                else None
            ),
        ),
    )

    without_window = sorted(d["id"] for d in deployments if d.get("finished_at_ns") is None)
    unobserved = sorted(
        d["id"]
        for d in deployments
        if d.get("finished_at_ns") is not None and not d.get("window_observations")
    )
    observed = count - len(without_window) - len(unobserved)
    unseen = sorted(
        f"{d['id']}:{host}"
        for d in deployments
        if d.get("window_observations")
        for host in fleet.get(d["service"], [])
        if host not in d["window_observations"]
    )
    short = _short_listings(deployments, evidence)
    gaps = []
    if not observed:
        gaps.append(f"no observations after any deployment{scope}")
    elif unobserved:
        gaps.append(
            f"no observations after {len(unobserved)} of {count} deployments: {_some(unobserved)}"
        )
    if unseen:
        gaps.append(f"{len(unseen)} hosts never observed after a deployment: {_some(unseen)}")
    if short:
        gaps.append(
            f"{len(short)} listings of a cluster showed fewer ready pods than fleet.yaml's "
            f"replicas, so the pods not seen were not judged: {_some(short)}"
        )
    if without_window:
        gaps.append(
            f"{len(without_window)} of {count} deployments have no finished_at, so nothing "
            f"after them was judged: {_some(without_window)}"
        )
    result["observations"] = from_file(
        "observations",
        Coverage(observed > 0, "; ".join(gaps) or None),
    )

    first = sorted(d["id"] for d in deployments if d["id"] in unbounded)
    result["history"] = Coverage(
        count > 0,
        (
            f"the first deployment of its service and environment ships its own commit alone "
            f"(no baseline), and the commits before it were not judged: {_some(first)}"
            if first
            else None
        )
        if count
        else f"no deployments{scope}",
    )

    events = document.get("flag_events", [])
    short_at_flags = [
        f"{e['flag']}@{e['at']}: {listing}"
        for e in events
        if e["enabled"]
        for listing in e.get("short_listings", [])
    ]
    result["flag_events"] = from_file(
        "flag_events",
        Coverage(
            bool(events),
            (
                f"{len(short_at_flags)} latest listings of a cluster before a flag was switched "
                "on showed fewer ready pods than fleet.yaml's replicas, so the pods not seen "
                f"were not judged: {_some(short_at_flags)}"
                if short_at_flags
                else None
            )
            if events
            else f"no flag events{scope}",
        ),
    )

    lacking = sorted(
        f"{d['id']} ({d['short_commit']})" for d in deployments if d.get("registry") == "none"
    )
    has_registry = document.get("flag_history") or len(lacking) < count
    result["registry"] = Coverage(
        bool(has_registry),
        (
            f"no flag registry ({registry_file}) at {len(lacking)} of {count} deployed commits: "
            f"{_some(lacking)}"
            if lacking
            else None
        )
        if has_registry
        else f"no flag registry ({registry_file}) in the repository",
    )
    return result


def _short_listings(deployments: list[dict[str, Any]], evidence: Evidence) -> list[str]:
    """``DEPLOY:CLUSTER@AT (N of M ready pods)`` for each listing of a cluster, in a judged
    deployment's window, that counted fewer ready pods than the cluster's ``replicas``."""
    if evidence.fleet is None:
        return []
    expected = {
        (name, cluster.name): cluster.replicas
        for name, service in evidence.fleet.services.items()
        for cluster in service.clusters
        if cluster.replicas
    }
    short = []
    for deployment in deployments:
        for host, observations in sorted(deployment.get("window_observations", {}).items()):
            replicas = expected.get((deployment["service"], host))
            if replicas is None:
                continue
            counted: dict[str, int] = {}
            for seen in observations:
                counted[seen["observed_at"]] = counted.get(seen["observed_at"], 0) + (
                    seen["pods"] or 0
                )
            short += [
                f"{deployment['id']}:{host}@{at} ({pods} of {replicas} ready pods)"
                for at, pods in sorted(counted.items())
                if pods < replicas
            ]
    return short
