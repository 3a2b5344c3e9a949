"""What the judged evidence covers: a rule is evaluated only on evidence that exists.

A file that is present can still hold nothing for the deployments judged (no observations
between a deployment and the next, no flag events in the month, no registry at the deployed
commits). Each name a rule ``requires`` is judged here on the input document, after the run's
scope is applied, and a gap that leaves part of the judged evidence uncovered is told as a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from checker.evidence.archives import REASONS
from checker.evidence.bundle import KINDS, Evidence
from checker.facts.document import CarriedWindow, Deployment, InputDocument, Reference

_LISTED = 5

DERIVED = ("registry", "history", "windows", "code", "reach")
"""Evidence that is no file of the evidence directory: a flag registry in the repository's
history, a history that gives every judged deployment a start for its shipped range, the
deployments whose observation windows the run judges (those in scope, and in a monthly audit
those of earlier months whose windows hold the month's observations), and the content of the
deployed commits' files, searched for flag names (all of it but what Git LFS pointers stand
for: that content is not in the repository); and what shows a deployment reached the hosts it
says it succeeded on (always present: the record itself; partial where fleet.yaml says no
observation covers some hosts, whose records alone are read)."""
EVIDENCE_NAMES: tuple[str, ...] = (*(kind.name for kind in KINDS), *DERIVED)
"""What a rule may name in ``requires`` and ``optional``; ``describe`` judges each of them."""


@dataclass(frozen=True)
class Coverage:
    """Whether a rule needing this evidence can be judged, and what it leaves uncovered."""

    present: bool
    note: str | None = None
    """Why it is absent; or, when present, what part of the judged records it misses."""
    read: bool = True
    """Whether there was evidence of this kind at all (its file), judged records or not: what a
    rule that uses it where it exists (``optional``) asks."""


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_LISTED])
    return shown + (f" and {len(ids) - _LISTED} more" if len(ids) > _LISTED else "")


def describe(
    document: InputDocument,
    evidence: Evidence,
    *,
    scope: str,
    registry_file: str,
    unbounded: set[str],
    unwindowed: Sequence[str] = (),
    unjudged: Mapping[str, Sequence[str]] | None = None,
    unsearched: Mapping[str, Reference] | None = None,
    encrypted: Mapping[str, Reference] | None = None,
    unpacked_in_part: Mapping[str, Mapping[str, Reference]] | None = None,
    grace_ns: int = 0,
) -> dict[str, Coverage]:
    """Coverage of every evidence name a rule may require, over the judged records.

    ``scope`` words the run's span for messages (``" in 2026-10"``, or nothing);
    ``unwindowed``: in a monthly audit, the earlier deployments without ``finished_at`` whose
    service was observed in the month after them (observations no window judged);
    ``unjudged``: by judged deployment, the hosts of observations after it no window holds;
    ``unsearched`` holds, by deployment id, the Git LFS pointers among the files searched,
    ``encrypted`` the files git-crypt encrypted, and ``unpacked_in_part``, by reason, the
    compressed files that could not be unpacked whole; ``grace_ns``, the observation grace
    period FLEET-002 applies (an observation within it judges nothing)."""
    deployments = document["deployments"]
    # Every kind of file is covered where its file is present; those below say more.
    result = {kind.name: _file(evidence, kind.name) for kind in KINDS}
    count = len(deployments)
    result["deploys"] = _from_file(evidence, "deploys", _counted(count, scope))
    result["fleet"] = _from_file(evidence, "fleet", _fleet(document))
    result["reach"] = _reach(document, evidence, scope)
    result["observations"] = _from_file(
        evidence,
        "observations",
        _observations(document, evidence, scope, (unwindowed, unjudged or {}), grace_ns),
    )
    result["history"] = _history(deployments, unbounded, scope)
    carried = len(document.get("carried_windows", []))
    result["windows"] = _from_file(evidence, "deploys", _counted(count + carried, scope))
    result["flag_events"] = _from_file(evidence, "flag_events", _flag_events(document, scope))
    result["registry"] = _registry(document, registry_file)
    result["code"] = _code(
        deployments, (unsearched or {}, encrypted or {}), unpacked_in_part or {}, scope
    )
    return result


def _counted(deployments: int, scope: str) -> Coverage:
    """Present where some deployments are judged."""
    return Coverage(deployments > 0, None if deployments else f"no deployments{scope}")


def _file(evidence: Evidence, name: str) -> Coverage:
    present = name in evidence.present
    return Coverage(present, None if present else f"no {name} evidence", present)


def _from_file(evidence: Evidence, name: str, judged: Coverage) -> Coverage:
    """``judged`` where the file is present; else absent, and not read."""
    if name not in evidence.present:
        return Coverage(False, f"no {name} evidence", read=False)
    return judged


def _fleet(document: InputDocument) -> Coverage:
    deployments = document["deployments"]
    fleet = document.get("fleet", {})
    outside = sorted({d["service"] for d in deployments if d["service"] not in fleet})
    inventoried = len(deployments) - sum(1 for d in deployments if d["service"] not in fleet)
    return Coverage(
        inventoried > 0 or not deployments,
        (
            f"services outside the inventory (unlisted_services) not judged: {_some(outside)}"
            if outside
            else None
        ),
    )


def _reach(document: InputDocument, evidence: Evidence, scope: str) -> Coverage:
    """What shows the judged deployments reached the hosts they say they succeeded on: their
    records, and, where observations are evidence, that each such host was observed after
    them (``fleet.unobserved``), but for the hosts fleet.yaml says no observation covers
    (``observed: false``): ``SERVICE/HOST`` of each, of the judged deployments' services."""
    if not document["deployments"]:
        return Coverage(False, f"no deployments{scope}")
    if evidence.fleet is None or "observations" not in evidence.present:
        return Coverage(True)
    services = sorted({d["service"] for d in document["deployments"]})
    unobserved = [
        f"{name}/{host}"
        for name in services
        if (service := evidence.fleet.services.get(name)) is not None
        for host in service.unobserved()
    ]
    if not unobserved:
        return Coverage(True)
    return Coverage(
        True,
        "fleet.yaml says no observation covers these hosts (observed: false), so the "
        f"deployments' records alone say they reached them: {_some(unobserved)}",
    )


def _observations(
    document: InputDocument,
    evidence: Evidence,
    scope: str,
    unheld: tuple[Sequence[str], Mapping[str, Sequence[str]]],
    grace_ns: int,
) -> Coverage:
    deployments = document["deployments"]
    count = len(deployments)
    unwindowed, unjudged = unheld
    without_window = [d["id"] for d in deployments if d["finished_at_ns"] is None]
    judged = {d["id"]: judged_hosts(d, grace_ns) for d in deployments}
    unobserved = sorted(d["id"] for d in deployments if not judged[d["id"]])
    # a window carried into an audit's month holds the month's observations by construction,
    # though perhaps only within the grace period
    carried = sum(1 for w in document.get("carried_windows", []) if judged_hosts(w, grace_ns))
    # a deployment without finished_at is judged where a target gave its own finish
    observed = sum(1 for d in deployments if judged[d["id"]]) + carried
    gaps = []
    if not observed:
        gaps.append(f"no observations after any deployment{scope}")
    elif unobserved:
        gaps.append(
            f"no observations after {len(unobserved)} of {count} deployments: {_some(unobserved)}"
        )
    gaps += _unseen(document, evidence, judged, grace_ns)
    gaps += _unfinished({i: unjudged[i] for i in without_window if i in unjudged}, scope)
    gaps += _unwindowed(unwindowed, scope)
    return Coverage(observed > 0, "; ".join(gaps) or None)


def _unfinished(unjudged: Mapping[str, Sequence[str]], scope: str) -> list[str]:
    """What the deployments without ``finished_at`` left unjudged: the hosts of the
    observations after each, up to the next deployment of its stream, that no window holds.
    Those a window holds (of a target that gives its own finish, of a host seen on a commit
    only it brings, of a target's last observation) were judged, and are not named."""
    if not unjudged:
        return []
    named = [f"{i} ({', '.join(hosts)})" for i, hosts in sorted(unjudged.items())]
    return [
        f"observations{scope} after deployments that give no finished_at were judged by no "
        f"window: {_some(named)}"
    ]


def _unwindowed(unwindowed: Sequence[str], scope: str) -> list[str]:
    """In an audit, what came after the deployments of earlier months that give no
    ``finished_at`` and that no window holds."""
    if not unwindowed:
        return []
    return [
        f"the observations made{scope} after deployments of earlier months that give no "
        f"finished_at, that no window holds, were not judged: {_some(unwindowed)}"
    ]


def judged_hosts(deployment: Deployment | CarriedWindow, grace_ns: int) -> set[str]:
    """The hosts of ``deployment``'s window that FLEET-002 judged: those observed at least
    once past the grace period after their window started. A host seen only within it (still
    on the old version, as the grace allows) was judged by nothing."""
    starts = deployment["window_starts"]
    finished = deployment["finished_at_ns"] or 0
    return {
        host
        for host, observations in deployment["window_observations"].items()
        if any(o["observed_at_ns"] >= starts.get(host, finished) + grace_ns for o in observations)
    }


def _unseen(
    document: InputDocument, evidence: Evidence, judged: Mapping[str, set[str]], grace_ns: int
) -> list[str]:
    """The hosts no observation after a deployment (past the grace period) saw, and the
    cluster listings that saw fewer running pods than expected."""
    fleet = document.get("fleet", {})
    unseen = sorted(
        f"{d['id']}:{host}"
        for d in document["deployments"]
        if judged[d["id"]]
        for host in fleet.get(d["service"], [])
        if host not in judged[d["id"]]
    )
    short = _short_listings(document["deployments"], evidence)
    gaps = []
    if unseen:
        past = " (past observation_grace_seconds)" if grace_ns else ""
        gaps.append(f"{len(unseen)} hosts never observed after a deployment{past}: {_some(unseen)}")
    if short:
        gaps.append(
            f"{len(short)} listings of a cluster showed fewer running pods than fleet.yaml's "
            f"replicas, so the pods not seen were not judged: {_some(short)}"
        )
    return gaps


def _history(deployments: list[Deployment], unbounded: set[str], scope: str) -> Coverage:
    if not deployments:
        return Coverage(False, f"no deployments{scope}")
    first = sorted(d["id"] for d in deployments if d["id"] in unbounded)
    return Coverage(
        True,
        (
            f"the first deployment of its service and environment ships its own commit alone "
            f"(no baseline), and the commits before it were not judged: {_some(first)}"
            if first
            else None
        ),
    )


def _flag_events(document: InputDocument, scope: str) -> Coverage:
    events = document["flag_events"]
    if not events:
        return Coverage(False, f"no flag events{scope}")
    switched_on = [e for e in events if e["enabled"]]
    short = [
        f"{e['flag']}@{e['at']}: {listing}" for e in switched_on for listing in e["short_listings"]
    ]
    # Before every deployment of its stream and every observation of its service (a year
    # typo, 2014 for 2024), nothing shows what the hosts ran: FLEET-003 cannot fail it.
    blind = [
        f"{e['flag']}@{e['at']}"
        for e in switched_on
        if e["last_deployment"] is None and not e["observed_by_version"]
    ]
    gaps = []
    if blind:
        gaps.append(
            f"{len(blind)} flag events were switched on before any deployment of their stream "
            "and any observation of their service, so nothing showed what their hosts ran: "
            f"{_some(blind)}"
        )
    if short:
        gaps.append(
            f"{len(short)} latest listings of a cluster before a flag was switched on showed "
            "fewer running pods than fleet.yaml's replicas, so the pods not seen were not judged: "
            f"{_some(short)}"
        )
    return Coverage(True, "; ".join(gaps) or None)


def _registry(document: InputDocument, registry_file: str) -> Coverage:
    deployments = document["deployments"]
    count = len(deployments)
    lacking = sorted(
        f"{d['id']} ({d['short_commit']})" for d in deployments if d["registry"] == "none"
    )
    if not (document["flag_history"] or len(lacking) < count):
        return Coverage(False, f"no flag registry ({registry_file}) in the repository")
    return Coverage(
        True,
        (
            f"no flag registry ({registry_file}) at {len(lacking)} of {count} deployed commits: "
            f"{_some(lacking)}"
            if lacking
            else None
        ),
    )


def _code(
    deployments: list[Deployment],
    unsearched: tuple[Mapping[str, Reference], Mapping[str, Reference]],
    in_part: Mapping[str, Mapping[str, Reference]],
    scope: str,
) -> Coverage:
    """The deployed commits' files, searched but for their Git LFS pointers and the files
    git-crypt encrypted (``unsearched``): a checkout with git-lfs, or with git-crypt's key,
    writes other content in their place, which the repository does not hold, so a flag name
    in it is not found; and but for what compressed files hold past what could be unpacked
    (``in_part``). Judged on part of its evidence, a rule says so."""
    if not deployments:
        return Coverage(False, f"no deployments{scope}")
    kinds = ("hold Git LFS pointers, whose", "hold files git-crypt encrypted, whose plain")
    said = [
        _unsearched(len(deployments), kind, files)
        for kind, files in zip(kinds, unsearched, strict=True)
        if files
    ]
    if in_part:
        said.append(_unpacked_in_part(len(deployments), in_part))
    return Coverage(True, "; ".join(said) or None)


def _unpacked_in_part(count: int, in_part: Mapping[str, Mapping[str, Reference]]) -> str:
    """``lib/app.jar (encrypted)``, for each compressed file not searched whole, with why."""
    held = sorted(in_part)
    why: dict[str, list[str]] = {}
    for reason in REASONS:
        paths = {p for i in held for p in in_part[i].get(reason, {"files": []})["files"]}
        for path in paths:
            why.setdefault(path, []).append(reason)
    files = [f"{path} ({'; '.join(reasons)})" for path, reasons in sorted(why.items())]
    return (
        f"{len(held)} of {count} deployed commits hold compressed files that could not be "
        f"unpacked whole, so what they hold was searched in part: {_some(files)} "
        f"(in {_some(held)})"
    )


def _unsearched(count: int, kind: str, unsearched: Mapping[str, Reference]) -> str:
    held = sorted(unsearched)
    files = sorted({path for i in held for path in unsearched[i]["files"]})
    return (
        f"{len(held)} of {count} deployed commits {kind} content is not in the repository, "
        f"so it was not searched: {_some(files)} (in {_some(held)})"
    )


def _short_listings(deployments: list[Deployment], evidence: Evidence) -> list[str]:
    """``DEPLOY:CLUSTER@AT (N of M running pods)`` for each listing of a cluster, in a judged
    deployment's window, that counted fewer running pods than the cluster's ``replicas``."""
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
        for host, observations in sorted(deployment["window_observations"].items()):
            replicas = expected.get((deployment["service"], host))
            if replicas is None:
                continue
            counted: dict[str, int] = {}
            for seen in observations:  # a sighting of an ended pod (no count) is no listing
                if seen["pods"] is not None:
                    counted[seen["observed_at"]] = (
                        counted.get(seen["observed_at"], 0) + seen["pods"]
                    )
            short += [
                f"{deployment['id']}:{host}@{at} ({pods} of {replicas} running pods)"
                for at, pods in sorted(counted.items())
                if pods < replicas
            ]
    return short
