"""Deployment streams: one service in one environment, in the order deployments started."""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict

from checker.evidence.models import Deployment, timestamp_ns


def succeeded_anywhere(deployment: Deployment) -> bool:
    """True when at least one target succeeded."""
    return any(t.status == "succeeded" for t in deployment.targets)


UNFINISHED = 2**63
"""``finish_order`` of a deployment that gives no ``finished_at``: after any finish."""


def finish_order(deployment: Deployment) -> int:
    """Where a deployment falls among those of its stream that started in the same instant: by
    its finish, one without ``finished_at`` last (``UNFINISHED``)."""
    if deployment.finished_at is None:
        return UNFINISHED
    return timestamp_ns(deployment.finished_at)


def same_start_order(deployment: Deployment) -> tuple[bool, int]:
    """Where a deployment falls among those of its stream that started in the same instant:
    one that succeeded nowhere first, then by ``finish_order``. A deploy tool that dates to the
    second gives a run cancelled as the next merge's began (GitHub: failed on every host, its
    last status maybe later than the next one's finish, or none) the next one's start; read as
    the newer, every host running the code that did reach it was judged against the commit
    that reached none."""
    return succeeded_anywhere(deployment), finish_order(deployment)


def sequence_order(first: Deployment, second: Deployment) -> int | None:
    """-1 where the deploy tool's own numbers (``Target.sequence``) say ``first`` ran before
    ``second`` on every host both name and number, 1 where they say after; None where no host
    is numbered by both, or the hosts disagree. Argo CD's controller numbers each sync of an
    Application; two syncs dated in one second are ordered by it."""
    theirs = {t.host: t.sequence for t in second.targets if t.sequence is not None}
    signs = {
        (t.sequence > theirs[t.host]) - (t.sequence < theirs[t.host])
        for t in first.targets
        if t.sequence is not None and t.host in theirs
    }
    return signs.pop() if len(signs) == 1 and 0 not in signs else None


def _in_order(first: Deployment, second: Deployment) -> int:
    """By start; of one start, by the deploy tool's numbers where they tell (``sequence_order``),
    else by ``same_start_order``, then id."""
    starts = timestamp_ns(first.started_at), timestamp_ns(second.started_at)
    if starts[0] != starts[1]:
        return -1 if starts[0] < starts[1] else 1
    told = sequence_order(first, second)
    if told is not None:
        return told
    keys = (same_start_order(first), first.id), (same_start_order(second), second.id)
    return (keys[0] > keys[1]) - (keys[0] < keys[1])


def contradiction(group: list[Deployment]) -> tuple[Deployment, Deployment] | None:
    """Of deployments of one stream that start in one instant, two that ``_in_order`` puts
    in an order their sorted place contradicts, where it is no order at all: the deploy tool's
    numbers of some pairs and the finishes of others may go round in a circle (A before B and
    B before C by the numbers, C before A by the finish), and then the line order of the file
    chose which ran last. None where the order holds (always, where none is numbered)."""
    if not any(t.sequence is not None for d in group for t in d.targets):
        return None
    ordered = sorted(group, key=functools.cmp_to_key(_in_order))
    for index, first in enumerate(ordered):
        for second in ordered[index + 1 :]:
            if _in_order(first, second) != -1:
                return first, second
    return None


class Streams:
    """Deployments grouped by (service, environment), each group ordered by start, then
    ``same_start_order``, then id."""

    def __init__(self, deployments: list[Deployment]) -> None:
        grouped: dict[tuple[str, str], list[Deployment]] = defaultdict(list)
        for deployment in deployments:
            grouped[(deployment.service, deployment.environment)].append(deployment)
        # Ties on started_at are broken by the deploy tool's own numbers of its runs on a host
        # (Argo CD's history ids), else by whether it reached any host (one that reached none
        # first), by finish (the one that finished last ran last), then by id so that the
        # answer never depends on file order. Two of one start and different commits that
        # none of these tells apart are refused (``_refuse_same_instant``).
        self.by_key = {
            key: sorted(group, key=functools.cmp_to_key(_in_order))
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
