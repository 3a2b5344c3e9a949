"""What a system's audit must cover to count for it: the services org.yaml lists for it, each
deployed in the period, and no service org.yaml does not list for it; and, for an audit a team
signed itself, the organisation's settings, not weaker ones the team chose."""

from __future__ import annotations

from typing import Any

from checker.evidence.models import timestamp_ns
from checker.org.model import System

HELD = frozenset({"fail_on", "require_all", "service_paths", "waiver_approvers"})
"""Settings the organisation checks itself: its own bar re-judges the findings (and counts a
waiver only when it names the approvers the team's audit accepted), and the service paths are
compared with org.yaml's."""


def scope_problem(system: System, audit: dict[str, Any]) -> str | None:
    """Why the audit is not of the system org.yaml describes, or None when it is."""
    population = audit.get("population")
    deployments = population.get("deployments") if isinstance(population, dict) else None
    entries = [
        d for d in (deployments if isinstance(deployments, list) else []) if isinstance(d, dict)
    ]
    deployed = {str(d.get("service")) for d in entries}
    listed = {s.name for s in system.services}
    foreign = sorted(deployed - listed)
    if foreign:
        return (
            f"its evidence deploys {_names(foreign)}, which org.yaml does not list for "
            f"{system.name}: its repository or evidence is not this system's"
        )
    period = audit.get("period")
    # A deployment of the month before, recorded after its attestation, is judged this month
    # too: it says nothing of whether a service deployed in this month.
    deployed = {str(d.get("service")) for d in entries if not _before(d, str(period))}
    quiet = sorted(s.name for s in system.services if period in s.quiet)
    loud = sorted(deployed.intersection(quiet))
    if loud:
        return f"org.yaml says {_names(loud)} deployed nothing in {period}, and it did"
    idle = sorted(listed - deployed - set(quiet))
    if idle:
        return (
            f"no deployment of {_names(idle)} in {period}: a service org.yaml lists is "
            "judged on its deployments, and has none (org.yaml's 'quiet' states a month "
            "without any)"
        )
    return None


def _before(entry: dict[str, Any], period: str) -> bool:
    """Whether a population entry's deployment started before the month ``period``."""
    try:
        return timestamp_ns(str(entry.get("started_at"))) < timestamp_ns(f"{period}-01T00:00:00Z")
    except ValueError:  # not a month, or not a time: counted as the month's
        return False


def settings_problem(system: System, audit: dict[str, Any]) -> str | None:
    """Why a team's own audit was not judged as the organisation judges, or None."""
    report = _mapping(audit, "report")
    parameters = _mapping(report, "parameters")
    engine_url = _mapping(audit, "tool").get("engine_url") or _mapping(report, "tool").get(
        "engine_url"
    )
    if engine_url:
        return f"it was judged by an engine the organisation did not choose ({engine_url})"
    if parameters.get("baseline") is not None:
        return f"the team set its own baseline ({parameters.get('baseline')})"
    if (parameters.get("service_paths") or {}) != system.service_paths:
        return "its service_paths are not those org.yaml gives the system's services"
    settings = _mapping(audit, "settings")
    for note in [*(settings.get("weakened") or []), *(settings.get("not_applied") or [])]:
        if not isinstance(note, dict):
            return "its settings are not readable"
        if note.get("name") not in HELD and note.get("effect") != "stricter":
            return f"the team's setting {note.get('name')} ({note.get('source')}) weakens the rules"
    return None


def _mapping(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _names(services: list[str]) -> str:
    return ("service " if len(services) == 1 else "services ") + ", ".join(services)
