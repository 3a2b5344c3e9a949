"""The population of a run: every deployment judged, with the commits it shipped, so that an
auditor can draw a sample from a signed audit and check each item against the repository.

The digests are defined so that another tool (or a shell) can compute them again:

- a deployment's ``commits.sha256``: sha256 of its shipped commits' full shas, sorted, each
  followed by a newline (``git rev-list COMMIT ^START | LC_ALL=C sort | sha256sum``);
- the population's ``sha256``: sha256 of the RFC 8785 (canonical JSON) serialisation of the
  ``deployments`` list, sorted by id (``jq -jcS .deployments | sha256sum``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import rfc8785


def commits_digest(commits: list[str] | tuple[str, ...]) -> str:
    """sha256 of the sorted full shas, one a line."""
    return hashlib.sha256("".join(f"{sha}\n" for sha in sorted(commits)).encode()).hexdigest()


def population_digest(deployments: list[Any]) -> str:
    """sha256 of the canonical JSON of the population's ``deployments`` list."""
    return hashlib.sha256(rfc8785.dumps(deployments)).hexdigest()


@dataclass(frozen=True)
class Deployed:
    """One deployment judged: what the evidence said and what git says it shipped."""

    id: str
    service: str
    environment: str
    commit: str
    """The deployed commit, resolved to its full sha."""
    ref: str | None
    """The branch or tag the evidence named beside the commit, if it named one."""
    started_at: str
    """As recorded (RFC 3339)."""
    start: str | None
    """The commit its range excludes (the previous deployment of its stream that succeeded
    anywhere, else the baseline); ``None`` when it shipped its own commit alone."""
    commits: tuple[str, ...]
    """The commits it shipped, sorted."""

    def to_dict(self) -> dict[str, Any]:
        """As the audit's population lists it: the commits by count and digest."""
        return {
            "id": self.id,
            "service": self.service,
            "environment": self.environment,
            "commit": self.commit,
            "ref": self.ref,
            "started_at": self.started_at,
            "range_start": self.start,
            "commits": {"count": len(self.commits), "sha256": commits_digest(self.commits)},
        }


def population_record(population: tuple[Deployed, ...]) -> dict[str, Any]:
    """The audit's ``population``: every deployment judged, sorted by id, its counts, and
    the digest an auditor's sample is drawn from."""
    deployments = [d.to_dict() for d in sorted(population, key=lambda d: d.id)]
    return {
        "count": len(deployments),
        "commits": sum(len(d.commits) for d in population),
        "sha256": population_digest(deployments),
        "deployments": deployments,
    }
