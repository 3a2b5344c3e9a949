"""Fleet facts: the inventory, observations joined to deployment windows, flag events in context.

Every join happens here through sorted indexes, so that the fleet rules only look things up:
10,000 deployments and 1,000 hosts are one pass over each list, not a product of them.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass

from checker.evidence.bundle import Evidence
from checker.evidence.models import FlagEvent, Observation, timestamp_ns
from checker.facts import document
from checker.facts.streams import Streams
from checker.vocabulary import short

Windows = dict[str, dict[str, list[document.Observation]]]
"""By deployment id, by host: the observations in the deployment's window."""


@dataclass(frozen=True)
class FleetFacts:
    """The hosts' part of the input document."""

    fleet: dict[str, list[str]] | None
    """Each service's hosts; None without fleet.yaml."""
    clusters: dict[str, list[str]] | None
    windows: Windows
    """For every deployment (judged or not: a flag event may need it)."""
    flag_events: list[document.FlagEvent]
    """Every flag event, in order of time."""


def fleet_facts(
    evidence: Evidence,
    streams: Streams,
    resolved: dict[str, str | None],
    summaries: dict[str, document.DeploymentSummary],
) -> FleetFacts:
    """The inventory, each deployment's window of observations, and each flag event with the
    last good deployment before it (from ``summaries``) and the last observations."""
    by_service = observations_by_service(evidence.observations, resolved)
    return FleetFacts(
        fleet=_inventory(evidence),
        clusters=_clusters(evidence),
        windows=windows(streams, by_service),
        flag_events=flag_events(evidence.flag_events, streams, summaries, by_service),
    )


def _inventory(evidence: Evidence) -> dict[str, list[str]] | None:
    if evidence.fleet is None:
        return None
    return {
        name: sorted(set(service.host_names()))
        for name, service in sorted(evidence.fleet.services.items())
    }


def _clusters(evidence: Evidence) -> dict[str, list[str]] | None:
    if evidence.fleet is None:
        return None
    return {
        name: sorted(c.name for c in service.clusters)
        for name, service in sorted(evidence.fleet.services.items())
        if service.clusters
    }


def _observation(observation: Observation, commit: str) -> document.Observation:
    return document.Observation(
        host=observation.host,
        version=observation.version,
        commit=commit,
        short=short(commit),
        observed_at=observation.observed_at,
        observed_at_ns=timestamp_ns(observation.observed_at),
        pods=observation.pods,
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


def windows(streams: Streams, by_service: dict[str, list[document.Observation]]) -> Windows:
    """Each deployment's observations from the instant it finished up to (not including) the
    start of the next deployment of its stream, by host; none for an unfinished one."""
    times = {s: [o["observed_at_ns"] for o in found] for s, found in by_service.items()}
    result: Windows = {}
    for (service, _), stream in streams.by_key.items():
        observations = by_service.get(service, [])
        for position, deployment in enumerate(stream):
            result[deployment.id] = {}
            if deployment.finished_at is None:
                continue
            following = stream[position + 1] if position + 1 < len(stream) else None
            lo = bisect.bisect_left(times.get(service, []), timestamp_ns(deployment.finished_at))
            hi = (
                bisect.bisect_left(times[service], timestamp_ns(following.started_at))
                if following is not None and service in times
                else len(observations)
            )
            window: dict[str, list[document.Observation]] = defaultdict(list)
            for seen in observations[lo:hi]:
                window[seen["host"]].append(seen)
            result[deployment.id] = dict(window)
    return result


def flag_events(
    events: list[FlagEvent],
    streams: Streams,
    summaries: dict[str, document.DeploymentSummary],
    by_service: dict[str, list[document.Observation]],
) -> list[document.FlagEvent]:
    """Each flag event with the last good deployment before it and the last observations."""
    order = sorted(range(len(events)), key=lambda i: (timestamp_ns(events[i].at), i))
    latest = _LatestObservations(by_service)
    out: list[document.FlagEvent] = []
    for i in order:
        event = events[i]
        at_ns = timestamp_ns(event.at)
        by_version = latest.by_version_before(event.service, at_ns)
        deployment = streams.latest_succeeded_before(event.service, event.environment, at_ns)
        out.append(
            document.FlagEvent(
                flag=event.flag,
                service=event.service,
                environment=event.environment,
                enabled=event.enabled,
                at=event.at,
                at_ns=at_ns,
                by=event.by,
                last_deployment=summaries[deployment.id] if deployment else None,
                observed_by_version=by_version,
                short_commits={commit: short(commit) for commit in by_version},
            )
        )
    return out


class _LatestObservations:
    """Each host's observations at the last instant it was observed, advanced through time: a
    cluster's listing is one record per version its pods ran, and a canary is exactly two of
    them at one time. Events must be asked about in order of time."""

    def __init__(self, by_service: dict[str, list[document.Observation]]) -> None:
        self._by_service = by_service
        self._seen: dict[str, dict[str, list[document.Observation]]] = defaultdict(dict)
        self._cursor: dict[str, int] = defaultdict(int)

    def by_version_before(self, service: str, at_ns: int) -> dict[str, list[str]]:
        """The service's hosts grouped by the commit each was last observed running before
        ``at_ns``."""
        observations = self._by_service.get(service, [])
        seen = self._seen[service]
        while self._cursor[service] < len(observations):
            observation = observations[self._cursor[service]]
            if observation["observed_at_ns"] >= at_ns:
                break
            last = seen.get(observation["host"])
            if last and last[0]["observed_at_ns"] == observation["observed_at_ns"]:
                last.append(observation)
            else:
                seen[observation["host"]] = [observation]
            self._cursor[service] += 1
        by_version: dict[str, list[str]] = defaultdict(list)
        for host, observed in sorted(seen.items()):
            for commit in sorted({o["commit"] for o in observed}):
                by_version[commit].append(host)
        return dict(by_version)
