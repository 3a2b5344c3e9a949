"""The deployments a printed report lists: every one while there are few; past
``FOLD_DEPLOYMENTS_ABOVE``, each deployment that a finding shown in full or a rule judged on
part of its evidence names, and the rest folded into one line per service and environment. A
cause folded into one entry (more than ``FOLD_ABOVE`` instances: a findings storm, where every
deployment may be an instance) lists its subjects itself, so the deployments only it names
are folded too: the table stays a page, and finding them costs nothing per instance. A signed
audit's ``population`` keeps every one, and ``knightwatch sample`` draws from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from checker.evidence.models import timestamp_ns

if TYPE_CHECKING:
    from collections.abc import Iterable

    from checker.facts.population import Deployed
    from checker.report.model import Report

from checker.report.model import Finding

FOLD_DEPLOYMENTS_ABOVE = 200
"""A report judging up to this many deployments lists each one (the Knight case reads as it
always has); a larger one folds those that nothing names."""

_SEPARATOR = re.compile(r"[\s:,;()\[\]{}<>'\"`/=@]+")
"""What stands between an id and the text around it in a subject or message."""


@dataclass(frozen=True)
class Folded:
    """The deployments of one service and environment that nothing names, in one line."""

    service: str
    environment: str
    count: int
    first: str
    last: str
    """The earliest and latest start, as recorded."""
    commits: int
    """How many commits they shipped together."""


def _texts(report: Report) -> set[str]:
    """Every text that may name a deployment listed: the subjects and messages of the
    findings shown one by one (waived ones too), and the reasons of the rules judged on part
    of their evidence or not at all."""
    texts = {
        text
        for item in report.folded()
        if isinstance(item, Finding)
        for text in (item.subject, item.message)
    }
    texts.update(r.reason for r in report.rules if r.reason and (r.partial or not r.evaluated))
    return texts


def named(report: Report, ids: set[str]) -> set[str]:
    """The ids of ``ids`` that some finding or rule's reason names: as a whole word, or, for
    an id that holds a separator itself (``deploy 7``, ``eu:42``), anywhere in the text."""
    texts = _texts(report)
    found: set[str] = set()
    for text in texts:
        for token in _SEPARATOR.split(text):
            found.update(c for c in (token, token.rstrip(".")) if c in ids)
    awkward = [i for i in ids - found if _SEPARATOR.search(i) or i.endswith(".")]
    found.update(i for i in awkward if any(i in text for text in texts))
    return found


def _fold(deployments: Iterable[Deployed]) -> list[Folded]:
    by_stream: dict[tuple[str, str], list[Deployed]] = {}
    for item in deployments:
        by_stream.setdefault((item.service, item.environment), []).append(item)
    folded = []
    for (service, environment), items in sorted(by_stream.items()):
        starts = sorted(items, key=lambda d: (timestamp_ns(d.started_at), d.id))
        commits = sum(len(d.commits) for d in items)
        first, last = starts[0].started_at, starts[-1].started_at
        folded.append(Folded(service, environment, len(items), first, last, commits))
    return folded


def shown(report: Report) -> tuple[list[Deployed], list[Folded]]:
    """The deployments listed one by one, by start, and the lines that fold the others."""
    ordered = sorted(report.population, key=lambda d: (d.started_at, d.id))
    if len(ordered) <= FOLD_DEPLOYMENTS_ABOVE:
        return ordered, []
    keep = named(report, {d.id for d in ordered})
    return [d for d in ordered if d.id in keep], _fold(d for d in ordered if d.id not in keep)
