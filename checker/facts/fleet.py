"""Fleet facts: the inventory, observations joined to deployment windows, flag events in context.

Every join happens here through sorted indexes, so that the fleet rules only look things up:
10,000 deployments and 1,000 hosts are one pass over each list, not a product of them.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

from checker.evidence.bundle import Evidence
from checker.evidence.models import Observation, timestamp_ns
from checker.facts.streams import Streams
from checker.vocabulary import short


def _observation(observation: Observation, commit: str) -> dict[str, Any]:
    return {
        "host": observation.host,
        "version": observation.version,
        "commit": commit,
        "short": short(commit),
        "observed_at": observation.observed_at,
        "observed_at_ns": timestamp_ns(observation.observed_at),
        "pods": observation.pods,
    }


def add_fleet_facts(
    document: dict[str, Any],
    evidence: Evidence,
    streams: Streams,
    deployed: dict[str, str],
    resolved: dict[str, str | None],
) -> None:
    """Add ``fleet``, each deployment's ``window_observations`` and ``flag_events``."""
    if evidence.fleet is not None:
        document["fleet"] = {
            name: sorted(set(service.host_names()))
            for name, service in sorted(evidence.fleet.services.items())
        }
        document["clusters"] = {
            name: sorted(c.name for c in service.clusters)
            for name, service in sorted(evidence.fleet.services.items())
            if service.clusters
        }
    by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for observation in evidence.observations:
        by_service[observation.service].append(
            _observation(observation, resolved[observation.version] or "")
        )
    for observations in by_service.values():
        observations.sort(key=lambda o: (o["observed_at_ns"], o["host"], o["commit"]))
    times = {s: [o["observed_at_ns"] for o in obs] for s, obs in by_service.items()}

    index = {d["id"]: position for position, d in enumerate(document["deployments"])}
    for entry in document["deployments"]:
        entry["window_observations"] = {}
    for (service, _), stream in streams.by_key.items():
        observations = by_service.get(service, [])
        for position, deployment in enumerate(stream):
            if deployment.finished_at is None:
                continue
            start = timestamp_ns(deployment.finished_at)
            following = stream[position + 1] if position + 1 < len(stream) else None
            lo = bisect.bisect_left(times.get(service, []), start)
            hi = (
                bisect.bisect_left(times[service], timestamp_ns(following.started_at))
                if following is not None and service in times
                else len(observations)
            )
            window: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for seen in observations[lo:hi]:
                window[seen["host"]].append(seen)
            document["deployments"][index[deployment.id]]["window_observations"] = dict(window)

    summaries = {d["id"]: _summary(d) for d in document["deployments"]}
    document["flag_events"] = _flag_events(evidence, streams, summaries, by_service)


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    """What a flag event needs of a deployment, copied in: it may lie outside an audit period."""
    keys = ("id", "service", "environment", "short_commit", "succeeded_hosts", "target_status")
    return {key: entry[key] for key in keys}


def _flag_events(
    evidence: Evidence,
    streams: Streams,
    summaries: dict[str, dict[str, Any]],
    by_service: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Each flag event with the last good deployment before it and the last observations."""
    order = sorted(
        range(len(evidence.flag_events)),
        key=lambda i: (timestamp_ns(evidence.flag_events[i].at), i),
    )
    # Each host's observations at the last instant it was observed: a cluster's listing is
    # one record per version its pods ran, and a canary is exactly two of them at one time.
    latest: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    cursor: dict[str, int] = defaultdict(int)
    events: list[dict[str, Any]] = []
    for i in order:
        event = evidence.flag_events[i]
        at_ns = timestamp_ns(event.at)
        observations = by_service.get(event.service, [])
        seen = latest[event.service]
        while cursor[event.service] < len(observations):
            observation = observations[cursor[event.service]]
            if observation["observed_at_ns"] >= at_ns:
                break
            last = seen.get(observation["host"])
            if last and last[0]["observed_at_ns"] == observation["observed_at_ns"]:
                last.append(observation)
            else:
                seen[observation["host"]] = [observation]
            cursor[event.service] += 1
        by_version: dict[str, list[str]] = defaultdict(list)
        for host, observed in sorted(seen.items()):
            for commit in sorted({o["commit"] for o in observed}):
                by_version[commit].append(host)
        deployment = streams.latest_succeeded_before(event.service, event.environment, at_ns)
        events.append(
            {
                "flag": event.flag,
                "service": event.service,
                "environment": event.environment,
                "enabled": event.enabled,
                "at": event.at,
                "at_ns": at_ns,
                "by": event.by,
                "last_deployment": summaries[deployment.id] if deployment else None,
                "observed_by_version": dict(by_version),
                "short_commits": {commit: short(commit) for commit in by_version},
            }
        )
    return events
