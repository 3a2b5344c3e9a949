"""Deployment streams: one service in one environment, in the order deployments started."""

from __future__ import annotations

import bisect
from collections import defaultdict

from checker.evidence.models import Deployment, timestamp_ns


def succeeded_anywhere(deployment: Deployment) -> bool:
    """True when at least one target succeeded."""
    return any(t.status == "succeeded" for t in deployment.targets)


class Streams:
    """Deployments grouped by (service, environment), each group ordered by start, then id."""

    def __init__(self, deployments: list[Deployment]) -> None:
        grouped: dict[tuple[str, str], list[Deployment]] = defaultdict(list)
        for deployment in deployments:
            grouped[(deployment.service, deployment.environment)].append(deployment)
        # Ties on started_at are broken by id so that the answer never depends on file order.
        self.by_key = {
            key: sorted(group, key=lambda d: (timestamp_ns(d.started_at), d.id))
            for key, group in sorted(grouped.items())
        }
        self._succeeded: dict[tuple[str, str], tuple[list[int], list[Deployment]]] = {}
        for key, group in self.by_key.items():
            good = [d for d in group if succeeded_anywhere(d)]
            self._succeeded[key] = ([timestamp_ns(d.started_at) for d in good], good)

    def latest_succeeded_before(
        self, service: str, environment: str, at_ns: int
    ) -> Deployment | None:
        """The last deployment that started strictly before ``at_ns`` and succeeded anywhere."""
        starts, good = self._succeeded.get((service, environment), ([], []))
        position = bisect.bisect_left(starts, at_ns)
        return good[position - 1] if position else None

    def latest_succeeded_by(self, service: str, environment: str, at_ns: int) -> Deployment | None:
        """The last deployment that started at or before ``at_ns`` and succeeded anywhere: one
        that started in that very instant was running then."""
        starts, good = self._succeeded.get((service, environment), ([], []))
        position = bisect.bisect_right(starts, at_ns)
        return good[position - 1] if position else None

    def succeeded_starting_at(self, service: str, environment: str, at_ns: int) -> list[Deployment]:
        """The deployments that started at ``at_ns`` itself and succeeded anywhere."""
        starts, good = self._succeeded.get((service, environment), ([], []))
        return good[bisect.bisect_left(starts, at_ns) : bisect.bisect_right(starts, at_ns)]
