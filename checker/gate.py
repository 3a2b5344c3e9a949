"""The gate: judge a prospective deployment of a revision to a service's whole fleet, now.

The candidate becomes one synthetic deployment record, ``candidate``, that reached every host
fleet.yaml lists (or none, without a fleet); the recorded deployments are only its history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from checker.errors import UsageError
from checker.evidence.bundle import Evidence
from checker.evidence.models import Deployment, Target, timestamp_ns

CANDIDATE_ID = "candidate"


def add_candidate(
    evidence: Evidence, revision: str, service: str, environment: str, as_of: date
) -> None:
    """Append the candidate deployment; it starts after every recorded one of its stream."""
    if any(d.id == CANDIDATE_ID for d in evidence.deployments):
        raise UsageError(f"the evidence already has a deployment with the id {CANDIDATE_ID!r}")
    start = timestamp_ns(f"{as_of.isoformat()}T00:00:00Z")
    same_stream = [
        timestamp_ns(d.started_at)
        for d in evidence.deployments
        if d.service == service and d.environment == environment
    ]
    start = max([start, *(t + 1_000_000_000 for t in same_stream)])
    seconds, _ = divmod(start, 1_000_000_000)
    started_at = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hosts = (
        evidence.fleet.services[service].host_names()
        if (evidence.fleet is not None and service in evidence.fleet.services)
        else []
    )
    evidence.deployments.append(
        Deployment(
            id=CANDIDATE_ID,
            service=service,
            environment=environment,
            commit=revision,
            started_at=started_at,
            deployer="candidate",
            targets=[Target(host=host, status="succeeded") for host in hosts],
        )
    )
    evidence.locations.setdefault("deploys", []).append((evidence.directory, 0))
    evidence.present.add("deploys")
