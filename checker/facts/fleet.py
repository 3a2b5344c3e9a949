"""Fleet facts: the inventory, observations joined to deployment windows, flag events in context.

Every join happens here through sorted indexes, so that the fleet rules only look things up:
10,000 deployments and 1,000 hosts are one pass over each list, not a product of them.

Where a deployment says when each target finished (a GitOps rollout: each cluster's own sync),
a host's window starts when it finished, and a flag event counts a host as succeeded only once
it had: a slow cluster neither moves the others' windows nor hides a mixed fleet at the flag.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

from checker.evidence.bundle import Evidence
from checker.evidence.models import Deployment, Observation, timestamp_ns
from checker.facts.streams import SHORT, Streams


def _observation(observation: Observation, commit: str) -> dict[str, Any]:
    return {
        "host": observation.host,
        "version": observation.version,
        "commit": commit,
        "short": commit[:SHORT],
        "observed_at": observation.observed_at,
        "observed_at_ns": timestamp_ns(observation.observed_at),
        "pods": observation.pods,
        "count": observation.pods or 1,
    }


def window_starts(deployment: Deployment, finished_ns: int) -> tuple[dict[str, int], int]:
    """When each target's window starts (its own finish, where the deployment gives one), and
    when that of every other host does: the first finish, or the deployment's."""
    own = {
        t.host: timestamp_ns(t.finished_at) for t in deployment.targets if t.finished_at is not None
    }
    return own, min(own.values(), default=finished_ns)


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
            own, others = window_starts(deployment, timestamp_ns(deployment.finished_at))
            following = stream[position + 1] if position + 1 < len(stream) else None
            lo = bisect.bisect_left(times.get(service, []), min([others, *own.values()]))
            hi = (
                bisect.bisect_left(times[service], timestamp_ns(following.started_at))
                if following is not None and service in times
                else len(observations)
            )
            window: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for seen in observations[lo:hi]:
                if seen["observed_at_ns"] >= own.get(seen["host"], others):
                    window[seen["host"]].append(seen)
            entry = document["deployments"][index[deployment.id]]
            entry["window_observations"] = dict(window)
            entry["window_starts"] = {host: own.get(host, others) for host in sorted(window)}

    summaries = {d["id"]: _summary(d) for d in document["deployments"]}
    document["flag_events"] = _flag_events(evidence, streams, summaries, by_service)


def _at(summary: dict[str, Any], deployment: Deployment, at_ns: int) -> dict[str, Any]:
    """The deployment as it stood at a flag event: a target that succeeded only later had not
    succeeded yet."""
    late = {
        t.host: t.finished_at
        for t in deployment.targets
        if t.status == "succeeded"
        and t.finished_at is not None
        and timestamp_ns(t.finished_at) > at_ns
    }
    if not late:
        return summary
    return {
        **summary,
        "succeeded_hosts": [h for h in summary["succeeded_hosts"] if h not in late],
        "target_status": {
            **summary["target_status"],
            **{h: f"succeeded only at {at}, after the flag" for h, at in late.items()},
        },
    }


def _short(seen: dict[str, list[dict[str, Any]]], replicas: dict[str, int]) -> list[str]:
    """``CLUSTER@AT (N of M ready pods)`` for each latest listing that counted fewer ready pods
    than the cluster's ``replicas``: the pods not seen were not judged."""
    short = []
    for host, observed in sorted(seen.items()):
        pods = sum(o["pods"] or 0 for o in observed)
        if host in replicas and pods < replicas[host]:
            short.append(
                f"{host}@{observed[0]['observed_at']} ({pods} of {replicas[host]} ready pods)"
            )
    return short


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
    replicas: dict[str, dict[str, int]] = defaultdict(dict)
    for name, service in evidence.fleet.services.items() if evidence.fleet else []:
        for cluster in service.clusters:
            if cluster.replicas:
                replicas[name][cluster.name] = cluster.replicas
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
                "last_deployment": (
                    _at(summaries[deployment.id], deployment, at_ns) if deployment else None
                ),
                "observed_by_version": dict(by_version),
                "short_listings": _short(seen, replicas[event.service]),
            }
        )
    return events
