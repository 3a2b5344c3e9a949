"""Fleet facts: the inventory, observations joined to deployment windows, flag events in context.

Every join happens here through sorted indexes, so that the fleet rules only look things up:
10,000 deployments and 1,000 hosts are one pass over each list, not a product of them.

Where a deployment says when each target finished (a GitOps rollout: each cluster's own sync),
a host's window starts when it finished, and a flag event counts a host as succeeded only once
it had: a slow cluster neither moves the others' windows nor hides a mixed fleet at the flag.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from checker.evidence.bundle import Evidence
from checker.evidence.models import Deployment, FlagEvent, Observation, timestamp_ns
from checker.facts import document
from checker.facts.streams import Streams, succeeded_anywhere
from checker.vocabulary import short

Windows = dict[str, dict[str, list[document.Observation]]]
"""By deployment id, by host: the observations in the deployment's window."""
WindowStarts = dict[str, dict[str, int]]
"""By deployment id, by host observed in its window: the instant the host's window starts."""
Unwindowed = dict[str, list[int]]
"""By id of a deployment without ``finished_at``: when its service was observed after it, in
observations no window holds."""
Unjudged = dict[str, list[str]]
"""By id of a deployment without ``finished_at``: the hosts of those observations."""
Dropped = dict[str, dict[str, str]]
"""By deployment id: the targets the deployment before it in its stream named that it does not
name and fleet.yaml does not list, each with why it is a host the deployment did not reach."""
Judged = dict[str, dict[str, str]]
"""By deployment id, by host of its window judged on part of what was observed of it: which
part, as FLEET-002's message says it (``_judged_words``)."""
Unreached = dict[str, dict[str, str]]
"""By id of a deployment without ``finished_at``: the targets it says succeeded that nothing
shows it reached and no later redeploy says it did (``unreached``), each with why."""


@dataclass(frozen=True)
class FleetFacts:
    """The hosts' part of the input document."""

    fleet: dict[str, list[str]] | None
    """Each service's hosts; None without fleet.yaml."""
    clusters: dict[str, list[str]] | None
    windows: Windows
    """For every deployment (judged or not: a flag event may need it)."""
    window_starts: WindowStarts
    """For every deployment, where each host of ``windows`` starts being judged."""
    unwindowed: Unwindowed
    """For every deployment that gives no ``finished_at``, the instants, sorted, of its
    service's observations from its start up to (not including) the start of the next
    deployment of its stream that no window holds: those FLEET-002 did not judge. Only
    deployments with such observations."""
    unjudged: Unjudged
    """For the same deployments, the hosts of those observations."""
    judged: Judged
    """For every deployment that has any: the hosts its window judges on part of what was
    observed of them, with which part (``_judged_words``)."""
    flag_events: list[document.FlagEvent]
    """Every flag event, in order of time."""
    dropped: Dropped
    """For every deployment that has any: its ``dropped_targets``."""
    unreached: Unreached
    """For each deployment that gives no ``finished_at`` and has any: the targets it says
    succeeded that nothing shows it reached and no later redeploy says it did (``unreached``)."""


def fleet_facts(
    evidence: Evidence,
    streams: Streams,
    resolved: dict[str, str | None],
    summaries: dict[str, document.DeploymentSummary],
    deployed: dict[str, str],
    is_ancestor: Callable[[str, str], bool],
    grace_ns: int = 0,
) -> FleetFacts:
    """The inventory, each deployment's window of observations, and each flag event with the
    last good deployment before it (from ``summaries``) and the last observations.
    ``deployed``: each deployment's commit, by id. ``is_ancestor``: whether a commit is in the
    history of another (``GitHistory.is_ancestor``). ``grace_ns``: FLEET-002's grace period."""
    by_service = observations_by_service(evidence.observations, resolved)
    found, starts, unheld, unjudged, judged = windows(streams, by_service, deployed, is_ancestor)
    dropped = dropped_targets(evidence, streams)
    missed: Unreached = {}
    if "observations" in evidence.present:
        unasked = marked(evidence)
        missed = unreached(streams, by_service, deployed, unasked)
        seen = _Seen(by_service, found, grace_ns)
        missed.update(unobserved(evidence, streams, deployed, seen, unasked))
    return FleetFacts(
        fleet=_inventory(evidence),
        clusters=_clusters(evidence),
        windows=found,
        window_starts=starts,
        unwindowed=unheld,
        unjudged=unjudged,
        judged=judged,
        flag_events=flag_events(
            evidence.flag_events,
            streams,
            {i: {**s, "dropped_targets": dropped.get(i, {})} for i, s in summaries.items()},
            by_service,
            _replicas(evidence),
            _clusters(evidence) or {},
            deployed,
        ),
        dropped=dropped,
        unreached=missed,
    )


def _inventory(evidence: Evidence) -> dict[str, list[str]] | None:
    if evidence.fleet is None:
        return None
    return {
        name: sorted(set(service.host_names()))
        for name, service in sorted(evidence.fleet.services.items())
    }


def dropped_targets(evidence: Evidence, streams: Streams) -> Dropped:
    """Each deployment's targets of the deployment before it in its stream that it does not
    name and fleet.yaml does not list for its service: a host the deploy tool knew ran the
    service, that this deployment's record leaves out (deploy tools drop unreachable hosts
    from their summaries) and the inventory does not list (Knight's eighth server, left out of
    both), still runs the code before it. Only services of the inventory."""
    if evidence.fleet is None:
        return {}
    dropped: Dropped = {}
    for (service, _), stream in streams.by_key.items():
        if service not in evidence.fleet.services:
            continue
        listed = set(evidence.fleet.services[service].host_names())
        for before, deployment in itertools.pairwise(stream):
            named = {t.host for t in deployment.targets}
            hosts = sorted({t.host for t in before.targets} - listed - named)
            why = (
                f"absent from its targets (deployment {before.id} targeted it; "
                "fleet.yaml does not list it)"
            )
            if hosts:
                dropped[deployment.id] = dict.fromkeys(hosts, why)
    return dropped


def marked(evidence: Evidence) -> dict[str, set[str]]:
    """Of each service of the inventory, the hosts and clusters fleet.yaml marks
    ``observed: false``."""
    if evidence.fleet is None:
        return {}
    return {name: set(service.unobserved()) for name, service in evidence.fleet.services.items()}


def _excused(
    stream: list[Deployment],
    position: int,
    hosts: set[str],
    last: dict[str, list[document.Observation]],
) -> set[str]:
    """Of ``hosts``, marked ``observed: false``, those read from the records of the deployment
    at ``position``: the hosts no observation shows from the start of the deployment before it
    (else its own) on, ``last`` giving each host's last observations. A marked host seen since
    then was covered by an observation stream while the code before ran, whatever fleet.yaml
    says, and is asked as any other: without this, the inventory marking Knight's eighth server,
    seen on the old code just before the deployment and never after, left the claim unasked."""
    since = timestamp_ns(stream[max(position - 1, 0)].started_at)
    return {h for h in hosts if h not in last or last[h][0]["observed_at_ns"] < since}


def unreached(
    streams: Streams,
    by_service: dict[str, list[document.Observation]],
    deployed: dict[str, str],
    unasked: dict[str, set[str]],
) -> Unreached:
    """For each deployment that gives no ``finished_at``: each target it says succeeded, without
    a ``finished_at`` of its own and not handed on to a later redeploy (``_span_asked``), that
    no observation of its service shows from the deployment's start up to the
    next deployment's (or on its commit, up to the next that succeeded anywhere), and whose last
    observation before it (all those of its last instant) shows another commit than the
    deployment's, or that was never observed. The record does not say when it reached the
    host, no deployment after it says it had, and no observation shows it: what the evidence
    last says of the host is the old code, or nothing. Without this, a rollout record of new
    code that never finished and said it succeeded on every host, the eighth host seen only
    before it started, on the old code, passed with a note (Knight's eighth server: nobody
    looked at it after the rollout); and, asked of the stream's newest alone, it passed again
    once a rollback followed it, or a deployment that reached no host. Only where observations
    are evidence (without them FLEET-002 is not evaluated), and never of a host ``unasked``
    holds (marked ``observed: false``) that ``_excused`` reads from the record alone."""
    found: Unreached = {}
    for (service, _), stream in streams.by_key.items():
        seen = by_service.get(service, [])
        last = _last_instants(seen)
        for position, deployment in enumerate(stream):
            if deployment.finished_at is not None:
                continue
            span, handed = _span_asked(stream, position, deployed)
            why = _unseen(deployment, deployed.get(deployment.id), span, seen)
            skip = handed | _excused(stream, position, unasked.get(service, set()), last)
            why = {host: said for host, said in why.items() if host not in skip}
            if why:
                found[deployment.id] = why
    return found


class _Seen:
    """What ``unobserved`` reads: each deployment's windows, the grace period, and when each
    host of each service was last observed, and its observations then."""

    def __init__(
        self, by_service: dict[str, list[document.Observation]], found: Windows, grace_ns: int
    ) -> None:
        self._windows, self._grace_ns = found, grace_ns
        self._last = {
            service: _last_instants(observations) for service, observations in by_service.items()
        }
        self._latest = {
            service: max((seen[0]["observed_at_ns"] for seen in last.values()), default=-1)
            for service, last in self._last.items()
        }

    def since(self, deployment: Deployment, commit: str | None) -> Callable[[str, int], bool]:
        """Whether a host of its service was observed since it finished (at the instant
        given, in nanoseconds): past the grace period, on any commit and in any window, or in
        the window of ``deployment`` (of ``commit``) on its commit."""
        last = self._last.get(deployment.service, {})
        window = self._windows.get(deployment.id, {})
        on_commit = {h for h, seen in window.items() if any(o["commit"] == commit for o in seen)}

        def observed(host: str, finished_ns: int) -> bool:
            after = finished_ns + self._grace_ns
            return host in on_commit or (host in last and last[host][0]["observed_at_ns"] >= after)

        return observed

    def any_since(self, deployment: Deployment, commit: str | None, finished_ns: int) -> bool:
        """Whether any host of its service was observed since ``finished_ns``, when
        ``deployment`` (of ``commit``) first finished with a host."""
        after = finished_ns + self._grace_ns
        window = self._windows.get(deployment.id, {})
        return self._latest.get(deployment.service, -1) >= after or any(
            o["commit"] == commit for seen in window.values() for o in seen
        )

    def last(self, service: str, host: str) -> list[document.Observation]:
        """The host's observations at its last observed instant."""
        return self._last.get(service, {}).get(host, [])

    def lasts(self, service: str) -> dict[str, list[document.Observation]]:
        """Each observed host's observations at its last observed instant."""
        return self._last.get(service, {})

    def hosts(self, service: str) -> list[str]:
        """The hosts of ``service`` ever observed."""
        return sorted(self._last.get(service, {}))


def unobserved(
    evidence: Evidence,
    streams: Streams,
    deployed: dict[str, str],
    seen: _Seen,
    unasked: dict[str, set[str]],
) -> Unreached:
    """For each deployment: each host fleet.yaml lists for its service, but those it says no
    observation covers (``observed: false``, ``unasked``) and ``_excused`` reads from the
    record alone, that the record says succeeded and when
    (``_claimed_finishes``) and that no observation shows since then, while another host of the
    service is observed since (``_Seen.since``). The record is written by the team audited; the
    observations are the only evidence it does not write itself, and they cover the service
    but never this host after the deployment. Without this, a record of new code that said it
    succeeded on all four hosts, the fourth never observed after it (or seen only before it,
    on the old code), passed with a note: Knight's eighth server, the one nobody looked at; and
    so did the same record giving each target's ``finished_at`` and not its own."""
    found: Unreached = {}
    for (service, _), stream in streams.by_key.items():
        entry = evidence.fleet.services.get(service) if evidence.fleet else None
        if entry is None:
            continue
        hosts, marks = set(entry.host_names()), unasked.get(service, set())
        for position, deployment in enumerate(stream):
            watched = hosts - _excused(stream, position, marks, seen.lasts(service))
            commit, finished = deployed.get(deployment.id), _claimed_finishes(deployment)
            if not finished or not seen.any_since(deployment, commit, min(finished.values())):
                continue  # ``unreached`` asks the first; nothing covers the second
            observed = seen.since(deployment, commit)
            missing = sorted(
                h for h, at in finished.items() if h in watched and not observed(h, at)
            )
            if missing:
                first = min(finished.values())
                others = [h for h in seen.hosts(service) if observed(h, first)]
                found[deployment.id] = {
                    host: _unobserved_since(seen.last(service, host), others) for host in missing
                }
    return found


def _claimed_finishes(deployment: Deployment) -> dict[str, int]:
    """Each target ``deployment`` says succeeded that it says when it finished with (its own
    ``finished_at``, else the deployment's): when, in nanoseconds. A deployment that gives no
    ``finished_at`` while its targets give their own says when each was done as plainly as one
    that does; those that give no time at all are ``unreached``'s."""
    return {
        t.host: timestamp_ns(done)
        for t in deployment.targets
        if t.status == "succeeded" and (done := t.finished_at or deployment.finished_at)
    }


def _unobserved_since(last: list[document.Observation], others: list[str]) -> str:
    """Why a target of ``unobserved`` counts as not reached: ``last``, its last observations,
    if any, and ``others``, the hosts of its service observed since the deployment finished."""
    shown = ", ".join(others[:_LISTED]) + (
        f" and {len(others) - _LISTED} more" if len(others) > _LISTED else ""
    )
    were = "were" if len(others) > 1 else "was"
    said = f"succeeded by its record, but never observed after it finished, while {shown} {were}"
    if not last:
        return f"{said} (never observed at all)"
    running = ", ".join(sorted({o["short"] for o in last}))
    return f"{said} (last observed running {running} at {last[0]['observed_at']})"


_LISTED = 5
"""How many of the hosts observed since a deployment its FLEET-001 message names."""


def _unseen(
    deployment: Deployment,
    commit: str | None,
    span: tuple[int, int, int, str | None],
    observations: list[document.Observation],
) -> dict[str, str]:
    """``unreached`` of one deployment of ``commit``, asked over ``span`` (``_span_asked``)
    with its service's ``observations``."""
    start, until, reached_by, then = span
    since = {
        seen["host"]
        for seen in observations
        if start <= seen["observed_at_ns"] < (reached_by if seen["commit"] == commit else until)
    }
    last = _last_instants(seen for seen in observations if seen["observed_at_ns"] < start)
    why = {
        t.host: _unseen_since(last.get(t.host, []), then)
        for t in deployment.targets
        if t.status == "succeeded" and t.finished_at is None and t.host not in since
        if {o["commit"] for o in last.get(t.host, [])} != {commit}
    }
    return dict(sorted(why.items()))


def _span_asked(
    stream: list[Deployment], position: int, deployed: dict[str, str]
) -> tuple[tuple[int, int, int, str | None], frozenset[str]]:
    """Where ``unreached`` looks for a deployment's targets: from its start up to the start of
    the next deployment, and, for a host seen on its commit, of the next one that succeeded
    anywhere (forever, with none); and the next one's id. With it, the hosts handed on: where
    the next that succeeded anywhere redeploys the same commit, those it says it succeeded on.
    It says what reached them since, and is asked in turn. It says nothing of a host it did not
    reach: a redeploy that succeeded on one host, its failure on the eighth waived, does not
    excuse the earlier rollout's claim on the eighth. One of another commit (a rollback, or the
    next release) does not say the host ever ran this one's, and one that reached no host says
    nothing of any host."""
    deployment = stream[position]
    start = timestamp_ns(deployment.started_at)
    after = stream[position + 1 :]
    following = next((d for d in after if succeeded_anywhere(d)), None)
    handed: frozenset[str] = frozenset()
    if following is not None and deployed.get(following.id) == deployed.get(deployment.id):
        handed = _succeeded(following)
    until = timestamp_ns(following.started_at) if following is not None else _FOREVER
    then = after[0] if after else None
    if then is None:
        return (start, until, until, None), handed
    return (start, timestamp_ns(then.started_at), until, then.id), handed


_FOREVER = 2**63
"""Later than any instant an observation gives, in nanoseconds."""


def _unseen_since(last: list[document.Observation], then: str | None) -> str:
    """Why a target of ``unreached`` counts as not reached: ``last``, its last observations
    before the deployment started, if any, and ``then``, the next deployment of another commit
    where the span asked ends at its start."""
    said = "succeeded at a time the record does not give (no finished_at), and not observed"
    if not last:
        return f"{said} at all" + (f" before deployment {then} started" if then else "")
    since = f"from its start until deployment {then} started" if then else "since it started"
    running = ", ".join(sorted({o["short"] for o in last}))
    return f"{said} {since} (last observed running {running} at {last[0]['observed_at']})"


def _clusters(evidence: Evidence) -> dict[str, list[str]] | None:
    if evidence.fleet is None:
        return None
    return {
        name: sorted(c.name for c in service.clusters)
        for name, service in sorted(evidence.fleet.services.items())
        if service.clusters
    }


def _replicas(evidence: Evidence) -> dict[str, dict[str, int]]:
    """By service, by cluster: the running pods fleet.yaml expects, where it says."""
    replicas: dict[str, dict[str, int]] = defaultdict(dict)
    for name, service in evidence.fleet.services.items() if evidence.fleet else []:
        for cluster in service.clusters:
            if cluster.replicas:
                replicas[name][cluster.name] = cluster.replicas
    return replicas


def _observation(observation: Observation, commit: str) -> document.Observation:
    return document.Observation(
        host=observation.host,
        version=observation.version,
        commit=commit,
        short=short(commit),
        observed_at=observation.observed_at,
        observed_at_ns=timestamp_ns(observation.observed_at),
        pods=observation.pods,
        count=observation.pods or 1,
    )


def observations_by_service(
    observations: list[Observation], resolved: dict[str, str | None]
) -> dict[str, list[document.Observation]]:
    """Each service's observations, oldest first (then by host and commit)."""
    by_service: dict[str, list[document.Observation]] = defaultdict(list)
    for observation in observations:
        by_service[observation.service].append(
            _observation(observation, resolved[observation.version] or "")
        )
    for found in by_service.values():
        found.sort(key=lambda o: (o["observed_at_ns"], o["host"], o["commit"]))
    return by_service


def window_starts(
    deployment: Deployment, finished_ns: int | None
) -> tuple[dict[str, int], int | None]:
    """When each target's window starts (its own finish, where the deployment gives one), and
    when that of every other host does: the first finish, or the deployment's. A deployment
    without ``finished_at`` (``finished_ns`` None) has a window only for the targets that give
    their own: the others may not have been reached yet."""
    own = {
        t.host: timestamp_ns(t.finished_at) for t in deployment.targets if t.finished_at is not None
    }
    if finished_ns is None:
        return own, None
    return own, min(own.values(), default=finished_ns)


def _finished_ns(deployment: Deployment) -> int | None:
    return timestamp_ns(deployment.finished_at) if deployment.finished_at is not None else None


def windows(
    streams: Streams,
    by_service: dict[str, list[document.Observation]],
    deployed: dict[str, str],
    is_ancestor: Callable[[str, str], bool],
) -> tuple[Windows, WindowStarts, Unwindowed, Unjudged, Judged]:
    """Each deployment's observations from the instant it finished (each target's own finish,
    where it gives one) up to (not including) the start of the next deployment of its stream,
    and those made while the deployments after it rolled out that show a commit none of them
    brings, on a host none of them had reached (``_judged_by``), by host. An unfinished one has
    a window for the targets that say when they finished, for the hosts seen running its commit
    where no host could have run it before (``_sighted``: from the first such sighting), and,
    for each other target it says succeeded, the host's last observation before the next
    deployment started (``_claimed``). And where each host's window starts; and, for each
    unfinished deployment, the observations from its start to the next one's that no window
    holds (``Unwindowed``, ``Unjudged``). ``is_ancestor``: as in ``fleet_facts``."""
    result: Windows = {}
    starts: WindowStarts = {}
    unjudged: tuple[Unwindowed, Unjudged] = ({}, {})
    judged: Judged = {}
    for (service, _), stream in streams.by_key.items():
        seen = by_service.get(service, [])
        spans = [seen[lo:hi] for lo, hi in _spans(stream, seen)]
        commits = [deployed.get(d.id) for d in stream]
        older = _Older(first_shipped(stream, deployed), is_ancestor)
        reach = _sighted(stream, commits, spans, older)
        succeeded = [_succeeded(d) for d in stream]
        handed = _handed(stream, reach, succeeded)
        found = _Judge(reach, commits, older, (handed, succeeded)).assign(stream, seen)
        claimed = _claimed(stream, reach, spans, (found, succeeded))
        for position, deployment in enumerate(stream):
            own, others = reach[position]
            window = found.get(position, {})
            result[deployment.id] = window
            starts[deployment.id] = {
                h: own.get(h, others if others is not None else claimed.get(position)) or 0
                for h in sorted(window)
            }
        _not_held(stream, spans, found, unjudged)
        judged.update(_judged_words(stream, reach, succeeded, found))
    return result, starts, *unjudged, judged


def _judged_words(
    stream: list[Deployment],
    reach: list[tuple[dict[str, int], int | None]],
    succeeded: list[frozenset[str]],
    found: dict[int, dict[str, list[document.Observation]]],
) -> Judged:
    """By deployment id, the hosts of each window that ``_claimed`` and ``_handed`` hold
    (targets of a deployment without ``finished_at`` that it reached at no time the evidence
    shows), with which of their observations were judged, as FLEET-002's message says it:
    their last instant before the next deployment started (or since this one started, for the
    newest), and those once the next one had started. Without this, the message said the
    observations "between that deployment and the next" were judged, though only the last
    was."""
    words: Judged = {}
    for position, deployment in enumerate(stream):
        own, others = reach[position]
        window = found.get(position, {})
        hosts = sorted((succeeded[position] - set(own)) & set(window)) if others is None else []
        if not hosts:
            continue
        last = len(stream) == position + 1
        until = math.inf if last else timestamp_ns(stream[position + 1].started_at)
        said = {}
        for host in hosts:
            before = any(o["observed_at_ns"] < until for o in window[host])
            after = any(o["observed_at_ns"] >= until for o in window[host])
            said[host] = _judged_phrase(last, before, after)
        words[deployment.id] = said
    return words


def _judged_phrase(last: bool, before: bool, after: bool) -> str:
    """FLEET-002's words for the observations judged of a target ``_claimed`` holds: those of
    its last instant (``before``: seen before the next deployment started, or since this one
    started where it is the newest, ``last``) and those once the next one had started
    (``after``)."""
    parts = []
    if before:
        since = "since that deployment started" if last else "before the next deployment started"
        parts.append(f"at the host's last observed instant {since}")
    if after:
        parts.append("once the next deployment had started, until a later one reached the host")
    return (
        f"{', or '.join(parts)} disagree; that deployment gives no finished_at, so only those "
        "were judged"
    )


def _spans(stream: list[Deployment], seen: list[document.Observation]) -> list[tuple[int, int]]:
    """For each deployment of ``stream``, the slice of ``seen`` (sorted by time) from its start
    up to (not including) the start of the next one."""
    times = [o["observed_at_ns"] for o in seen]
    edges = [bisect.bisect_left(times, timestamp_ns(d.started_at)) for d in stream]
    return list(zip(edges, [*edges[1:], len(times)], strict=True))


def _sighted(
    stream: list[Deployment],
    commits: list[str | None],
    spans: list[list[document.Observation]],
    older: _Older,
) -> list[tuple[dict[str, int], int | None]]:
    """Where each deployment reached each host (``window_starts``), and, for one without
    ``finished_at``, where it says nothing of a host: the first observation of the host running
    its commit from its start up to the next one's, where no host could have run that commit
    before it (``_Older``). Only this deployment can have put it there, so it had reached the
    host by then: without this, a host seen on the new commit and then back on the old one, its
    record never finished, was judged by nothing and passed."""
    reach = []
    for position, deployment in enumerate(stream):
        own, others = window_starts(deployment, _finished_ns(deployment))
        commit = commits[position] or ""
        before = (commits[position - 1] or "") if position else ""
        if others is None and commit and not older.ran_before(position, before, commit):
            for seen in spans[position]:
                if seen["commit"] == commit:
                    own.setdefault(seen["host"], seen["observed_at_ns"])
        reach.append((own, others))
    return reach


def _succeeded(deployment: Deployment) -> frozenset[str]:
    """The targets ``deployment`` says it succeeded on."""
    return frozenset(t.host for t in deployment.targets if t.status == "succeeded")


def _handed(
    stream: list[Deployment],
    reach: list[tuple[dict[str, int], int | None]],
    succeeded: list[frozenset[str]],
) -> list[dict[str, int]]:
    """For each deployment without ``finished_at``, the targets it says succeeded and that it
    reached at no time the evidence shows (``_sighted``), with the start of the next deployment
    of ``stream``: it had reached them by then, as ``_claimed`` holds, so a host seen on another
    commit from then on (until a later deployment reached it) drifted from it. Without this, a
    host it says it succeeded on, seen on the old commit only once the next deployment had
    started (while that one rolled out, or in the instant it started), was judged by the
    deployment before it, whose commit it ran, and passed. A host seen on its commit is not
    judged by it from then: where that commit may have run before (a rollback), the host may
    never have left it, and the deployment before judges it as ``_vouches`` says."""
    handed: list[dict[str, int]] = []
    for position, (own, others) in enumerate(reach):
        if others is not None or position + 1 == len(stream):
            handed.append({})
            continue
        given = timestamp_ns(stream[position + 1].started_at)
        handed.append(dict.fromkeys(sorted(succeeded[position] - set(own)), given))
    return handed


def _claimed(
    stream: list[Deployment],
    reach: list[tuple[dict[str, int], int | None]],
    spans: list[list[document.Observation]],
    judged: tuple[dict[int, dict[str, list[document.Observation]]], list[frozenset[str]]],
) -> dict[int, int]:
    """Adds to ``found`` (``judged``: the observations each deployment judges, and the
    targets each says it succeeded on) each unfinished deployment's targets that it says
    succeeded and that it reached at no time the evidence shows, with the host's last
    observation (all those of its last instant) from the deployment's start up to the next
    one's: whatever the record did not say of when, the host was to run the deployed commit
    by then. Without this, a rollout record that never finished and said it succeeded on all
    eight hosts, with the eighth seen on the old commit for weeks, had nothing judged and
    passed. The window keeps what it holds of the host after the next deployment started
    (``_handed``). Returns, by position, where such a host's window starts: the deployment's
    start."""
    found, succeeded = judged
    claimed_at: dict[int, int] = {}
    for position, deployment in enumerate(stream):
        own, others = reach[position]
        claimed = succeeded[position] - set(own)
        if others is not None or not claimed:
            continue
        last = _last_instants(seen for seen in spans[position] if seen["host"] in claimed)
        window = found.setdefault(position, {})
        for host, observed in sorted(last.items()):
            window[host] = [*observed, *window.get(host, [])]  # before those of ``_handed``
        claimed_at[position] = timestamp_ns(deployment.started_at)
    return claimed_at


def _last_instants(
    observations: Iterable[document.Observation],
) -> dict[str, list[document.Observation]]:
    """By host, its observations of the last instant ``observations`` (in order of time) show
    it at: all of them, where one instant shows it more than once."""
    last: dict[str, list[document.Observation]] = {}
    for seen in observations:
        host = seen["host"]
        same = host in last and last[host][0]["observed_at_ns"] == seen["observed_at_ns"]
        last[host] = [*last[host], seen] if same else [seen]
    return last


def _not_held(
    stream: list[Deployment],
    spans: list[list[document.Observation]],
    found: dict[int, dict[str, list[document.Observation]]],
    into: tuple[Unwindowed, Unjudged],
) -> None:
    """Adds to ``into``, for each deployment of ``stream`` without ``finished_at``, the instants
    and the hosts of the observations from its start up to the next one's that no window
    holds: those FLEET-002 did not judge. Only deployments with such observations."""
    held = {id(o) for window in found.values() for seen in window.values() for o in seen}
    for position, deployment in enumerate(stream):
        if deployment.finished_at is not None:
            continue
        left = [o for o in spans[position] if id(o) not in held]
        if left:
            into[0][deployment.id] = [o["observed_at_ns"] for o in left]
            into[1][deployment.id] = sorted({o["host"] for o in left})


def first_shipped(stream: list[Deployment], deployed: dict[str, str]) -> dict[str, int]:
    """Each commit the stream's deployments shipped, with the position of the first that did."""
    first: dict[str, int] = {}
    for position, deployment in enumerate(stream):
        first.setdefault(deployed.get(deployment.id, ""), position)
    return first


class _Older:
    """Which commits a host may have run before a deployment of a stream: one an earlier
    deployment of the stream shipped, or one in the history of the deployment's own commit (a
    rollback's, older than anything the records show). git is asked only when it matters."""

    def __init__(self, first: dict[str, int], is_ancestor: Callable[[str, str], bool]) -> None:
        self._first = first
        self._is_ancestor = is_ancestor
        self._asked: dict[tuple[str, str], bool] = {}

    def ran_before(self, position: int, deployed: str, commit: str) -> bool:
        """Whether a host may have run ``commit`` before the deployment at ``position`` of
        the stream, which shipped ``deployed``."""
        if self._first.get(commit, position) < position:
            return True
        if not deployed or not commit:
            return False
        if (commit, deployed) not in self._asked:
            self._asked[(commit, deployed)] = self._is_ancestor(commit, deployed)
        return self._asked[(commit, deployed)]


class _Judge:
    """Which deployment of a stream judges each observation of its service. Until a deployment
    reached a host (its window start there; where neither the deployment nor the host's target
    gives a finish, never), the host runs the commit of the latest deployment before it that
    had, or of one of the deployments after that one that had started by then: an observation
    showing any other commit is a drift from that latest deployment, and is judged in its
    window. Without this, a redeploy started as the last one finished hid a host seen on the
    old commit while it ran; and one only asked of the next deployment hid it behind a second
    redeploy that started before the first finished.
    A deployment that never says when it reached a host (no ``finished_at`` of its own or of
    the host's target) vouches for its commit on that host only where the host cannot have
    run that commit before the judging deployment (``_Older``): a host seen on a commit an
    earlier deployment shipped, or one in the history of the judging deployment's commit, may
    never have left it, and a rollback record that never finished must not excuse old code for
    good.
    Each observation walks back from the latest deployment started by its instant to the
    latest that had reached its host, so many deployments in a row cost one pass over the
    observations, not one per deployment."""

    def __init__(
        self,
        reach: list[tuple[dict[str, int], int | None]],
        commits: list[str | None],
        older: _Older,
        targets: tuple[list[dict[str, int]], list[frozenset[str]]],
    ) -> None:
        self._reach = reach
        self._commits = commits
        self._older = older
        self._handed, self._succeeded = targets

    def assign(
        self, stream: list[Deployment], observations: list[document.Observation]
    ) -> dict[int, dict[str, list[document.Observation]]]:
        """By position in ``stream``, by host: the observations each deployment judges."""
        began = [timestamp_ns(d.started_at) for d in stream]
        found: dict[int, dict[str, list[document.Observation]]] = {}
        for seen in observations:
            latest = bisect.bisect_right(began, seen["observed_at_ns"]) - 1
            position = self._judged_by(seen, latest)
            if position is not None:
                found.setdefault(position, {}).setdefault(seen["host"], []).append(seen)
        return found

    def _judged_by(self, seen: document.Observation, latest: int) -> int | None:
        """The position of the deployment whose window holds ``seen``, of those up to
        ``latest``: the latest that had reached its host by then (one without ``finished_at``
        had, by the next one's start, each target it says succeeded, where ``seen`` shows
        another commit: ``_handed``), unless one after it that had not vouches for the commit
        it shows. None where none judges it."""
        at, host = seen["observed_at_ns"], seen["host"]
        pending: list[tuple[int, int | None]] = []
        for position in range(latest, -1, -1):
            own, others = self._reach[position]
            until = own.get(host, others)
            if until is None and seen["commit"] != self._commits[position]:
                until = self._handed[position].get(host)  # reached by the next one's start
            if until is not None and until <= at:
                vouched = any(self._vouches(seen, position, *later) for later in pending)
                return None if vouched else position
            pending.append((position, own.get(host, others)))
        return None

    def _vouches(
        self, seen: document.Observation, judging: int, later: int, until: int | None
    ) -> bool:
        """Whether the deployment at ``later``, which had started but not reached the host of
        ``seen``, brings the commit it shows: only to a target it says succeeded (one it says
        it failed, skipped or could not reach, or leaves out, did not get its commit from it),
        and one that gives no time for the host only where the host cannot have run it before
        the deployment at ``judging``."""
        commit = self._commits[later]
        if commit is None:
            return True
        if commit != seen["commit"] or seen["host"] not in self._succeeded[later]:
            return False
        judged = self._commits[judging] or ""
        return until is not None or not self._older.ran_before(judging, judged, commit)


def flag_events(
    events: list[FlagEvent],
    streams: Streams,
    summaries: dict[str, document.DeploymentSummary],
    by_service: dict[str, list[document.Observation]],
    replicas: dict[str, dict[str, int]],
    clusters: dict[str, list[str]],
    deployed: dict[str, str],
) -> list[document.FlagEvent]:
    """Each flag event with the last good deployment that started at or before it (one that
    started in its own instant was rolling out when it was switched) and the last
    observations. ``deployed``: each deployment's commit, by id."""
    order = sorted(range(len(events)), key=lambda i: (timestamp_ns(events[i].at), i))
    latest = _LatestObservations(by_service, clusters)
    overlaps = _Overlaps(streams, deployed)
    out: list[document.FlagEvent] = []
    for i in order:
        event = events[i]
        at_ns = timestamp_ns(event.at)
        by_version, seen = latest.by_version_before(event.service, at_ns)
        deployment = streams.latest_succeeded_by(event.service, event.environment, at_ns)
        out.append(
            document.FlagEvent(
                flag=event.flag,
                service=event.service,
                environment=event.environment,
                enabled=event.enabled,
                at=event.at,
                at_ns=at_ns,
                by=event.by,
                last_deployment=(
                    overlaps.at(summaries[deployment.id], deployment, at_ns) if deployment else None
                ),
                observed_by_version=by_version,
                short_commits={commit: short(commit) for commit in by_version},
                short_listings=_short(seen, replicas.get(event.service, {})),
                retired_in=[],  # the registries' part: ``collect``, once they are read
                unreadable_in=[],
            )
        )
    return out


def _at(
    summary: document.DeploymentSummary, deployment: Deployment, at_ns: int
) -> document.DeploymentSummary:
    """The deployment as it stood at a flag event: a target that succeeded only later had not
    succeeded yet. A target without a time of its own succeeded when the deployment finished
    (a flag switched on while the rollout ran is switched on over a mixed fleet), and, where
    the deployment gives no ``finished_at`` either, at no time the record shows."""
    late = {}
    for target in deployment.targets:
        if target.status != "succeeded":
            continue
        done = target.finished_at or deployment.finished_at
        if done is None:
            late[target.host] = "succeeded at a time the record does not give (no finished_at)"
        elif timestamp_ns(done) > at_ns:
            late[target.host] = f"succeeded only at {done}, after the flag"
    if not late:
        return summary
    return {
        **summary,
        "succeeded_hosts": [h for h in summary["succeeded_hosts"] if h not in late],
        "target_status": {**summary["target_status"], **late},
    }


def _reached(deployment: Deployment) -> dict[str, tuple[str, int] | None]:
    """Each target the deployment succeeded on, with when it did (as written, and in ns): its
    own ``finished_at``, else the deployment's; None where neither gives one."""
    done = deployment.finished_at
    reached: dict[str, tuple[str, int] | None] = {}
    for target in deployment.targets:
        if target.status == "succeeded":
            at = target.finished_at or done
            reached[target.host] = (at, timestamp_ns(at)) if at is not None else None
    return reached


class _Overlaps:
    """Each flag event's deployment as it stood at the event (``_at``), and as the
    deployments still rolling out when it started say it stood (``_contradicted``). What
    rolled out with a deployment is read once, however many events ask about it."""

    def __init__(self, streams: Streams, deployed: dict[str, str]) -> None:
        self._positions = {d.id: (s, p) for s in streams.by_key.values() for p, d in enumerate(s)}
        self._deployed = deployed
        self._found: dict[str, list[Deployment]] = {}
        self._done: dict[str, tuple[list[float], list[float]]] = {}  # by first id

    def at(
        self, summary: document.DeploymentSummary, deployment: Deployment, at_ns: int
    ) -> document.DeploymentSummary:
        """``deployment``, of ``summary``, as it stood at ``at_ns``."""
        summary = _at(summary, deployment, at_ns)
        if not summary["succeeded_hosts"]:  # nothing left for another record to contradict
            return summary
        if deployment.id not in self._found:
            stream, position = self._positions[deployment.id]
            if stream[0].id not in self._done:
                self._done[stream[0].id] = _done(stream)
            found = _overlapping(stream, position, *self._done[stream[0].id])
            self._found[deployment.id] = found
        return _contradicted(summary, self._found[deployment.id], self._deployed, at_ns)


def _done(stream: list[Deployment]) -> tuple[list[float], list[float]]:
    """For each deployment of ``stream``, when its record says it had reached every target it
    succeeded on (infinity where one is not given, minus infinity where none succeeded), and
    the latest of these up to it: the deployments up to it still rolling out then."""
    done: list[float] = []
    for deployment in stream:
        times = list(_reached(deployment).values())
        if not times:
            done.append(-math.inf)
        elif any(t is None for t in times):
            done.append(math.inf)
        else:
            done.append(max(t[1] for t in times if t is not None))
    return done, list(itertools.accumulate(done, max))


def _overlapping(
    stream: list[Deployment], position: int, done: list[float], done_until: list[float]
) -> list[Deployment]:
    """``stream[position]`` and the deployments before it that were still rolling out when it
    started, by their records (a target succeeded at or after its start, or at a time the
    record does not give): every one of them, back to where all before had reached each of
    their targets (``_done``). Without this, the walk stopped at the latest deployment that
    had finished before, and an earlier rollout of another commit, reaching a host after both,
    was never asked."""
    started = timestamp_ns(stream[position].started_at)
    found = [stream[position]]
    for back in range(position - 1, -1, -1):
        if done_until[back] < started:
            break
        if done[back] >= started:
            found.append(stream[back])
    return found


def _contradicted(
    summary: document.DeploymentSummary,
    overlapping: list[Deployment],
    deployed: dict[str, str],
    at_ns: int,
) -> document.DeploymentSummary:
    """The deployment (``overlapping[0]``) as it stood at a flag event, where a deployment of
    another commit that was still rolling out when it started says it reached one of its
    hosts by the event, not before it did (or at a time its record does not give): the two
    records contradict each other, and the host may run either commit, so it is counted as
    not succeeded. Without this, only the latest deployment was asked, and a flag switched on
    after an earlier rollout reached a host last, with its older commit, passed."""
    deployment, *earlier = overlapping
    ours = _reached(deployment)
    late: dict[str, str] = {}
    for before in earlier:
        if deployed.get(before.id) == deployed.get(deployment.id):
            continue
        for host, when in _reached(before).items():
            if host not in summary["succeeded_hosts"] or host in late:
                continue
            mine = ours.get(host)
            if when is not None and (when[1] > at_ns or (mine and when[1] < mine[1])):
                continue
            said = f"at {when[0]}" if when else "at a time its record does not give"
            late[host] = (
                f"deployment {before.id} of {short(deployed.get(before.id, ''))}, still "
                f"rolling out when it started, says it reached it {said}, not before it did"
            )
    if not late:
        return summary
    return {
        **summary,
        "succeeded_hosts": [h for h in summary["succeeded_hosts"] if h not in late],
        "target_status": {**summary["target_status"], **late},
    }


def _short(seen: dict[str, list[document.Observation]], replicas: dict[str, int]) -> list[str]:
    """``CLUSTER@AT (N of M running pods)`` for each latest listing that counted fewer running pods
    than the cluster's ``replicas``: the pods not seen were not judged."""
    short_listings = []
    for host, observed in sorted(seen.items()):
        counts = [o["pods"] for o in observed if o["pods"] is not None]
        pods = sum(counts)
        if host in replicas and counts and pods < replicas[host]:
            short_listings.append(
                f"{host}@{observed[0]['observed_at']} ({pods} of {replicas[host]} running pods)"
            )
    return short_listings


class _LatestObservations:
    """Each host's observations at the last instant it was observed, advanced through time: a
    cluster's listing is one record per version its pods ran, and a canary is exactly two of
    them at one time. A cluster's observation without ``pods`` is a sighting (an ended pod, at
    the instant it stopped), not a listing: it adds its version to the cluster's latest
    listing rather than standing for the whole workload, so one pod sighted on the new commit
    never hides the old pods of the listing before it. Events must be asked about in order of
    time."""

    def __init__(
        self, by_service: dict[str, list[document.Observation]], clusters: dict[str, list[str]]
    ) -> None:
        self._by_service = by_service
        self._clusters = {service: set(names) for service, names in clusters.items()}
        self._seen: dict[str, dict[str, list[document.Observation]]] = defaultdict(dict)
        self._cursor: dict[str, int] = defaultdict(int)

    def by_version_before(
        self, service: str, at_ns: int
    ) -> tuple[dict[str, list[str]], dict[str, list[document.Observation]]]:
        """The service's hosts grouped by the commit each was last observed running at or
        before ``at_ns`` (observed in the event's own instant: what ran when it was switched),
        and each host's latest observations."""
        observations = self._by_service.get(service, [])
        seen = self._seen[service]
        while self._cursor[service] < len(observations):
            observation = observations[self._cursor[service]]
            if observation["observed_at_ns"] > at_ns:
                break
            last = seen.get(observation["host"])
            sighting = observation["pods"] is None and observation["host"] in self._clusters.get(
                service, set()
            )
            if last and (sighting or last[0]["observed_at_ns"] == observation["observed_at_ns"]):
                last.append(observation)
            else:  # a listing: what ran then, with the sightings of its own instant
                now = observation["observed_at_ns"]
                kept = [o for o in last or [] if o["observed_at_ns"] == now]
                seen[observation["host"]] = [*kept, observation]
            self._cursor[service] += 1
        by_version: dict[str, list[str]] = defaultdict(list)
        for host, observed in sorted(seen.items()):
            for commit in sorted({o["commit"] for o in observed}):
                by_version[commit].append(host)
        return dict(by_version), dict(seen)
