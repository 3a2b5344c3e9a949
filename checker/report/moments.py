"""When a finding happened: the start of the deployment it names, or its event's time.

Groups of findings report their first and last occurrence; the instants come from the input
document the rules judged, so a finding's time is the evidence's, never the clock's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from checker.report.model import Occurrence

if TYPE_CHECKING:
    from checker.facts.document import InputDocument


class Moments:
    """Deployment starts by id, and flag events' instants by their time as written."""

    def __init__(self, document: InputDocument) -> None:
        carried = document.get("carried_windows", [])
        self._starts = {
            d["id"]: Occurrence(d["started_at_ns"], d["started_at"])
            for d in [*document["deployments"], *carried]
        }
        self._events = {e["at"]: Occurrence(e["at_ns"], e["at"]) for e in document["flag_events"]}

    def of(self, fields: Mapping[str, object]) -> Occurrence | None:
        """The finding's time: the deployment it names (its ``deployment`` field, or a subject
        that is a deployment id), the earliest of the ``deployments`` it lists, or the flag
        event at its ``at``; None when it names none of these."""
        for name in (fields.get("deployment"), fields.get("subject")):
            if isinstance(name, str) and name in self._starts:
                return self._starts[name]
        listed = fields.get("deployments")
        if isinstance(listed, list):
            found = [self._starts[n] for n in listed if isinstance(n, str) and n in self._starts]
            if found:
                return min(found)
        at = fields.get("at")
        return self._events.get(at) if isinstance(at, str) else None
