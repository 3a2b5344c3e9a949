"""A chained organisation audit answers for every system last month's attestation covered:
each is in org.yaml this month (by its name, or renamed: by its repository and evidence), or
org.yaml retires it and the attestation records the retirement. A system left out of org.yaml
stops the audit: a failing month followed by a pass that never names the system would read
as the organisation putting it right."""

from __future__ import annotations

from typing import Any

from checker.errors import InputError, VerificationError
from checker.org.model import Organisation, Retired
from checker.org.retirement import check_quiet, check_repository, check_signed_retirement
from checker.signing.attestation import Signed

UNJUDGED = "records of {period} recorded after its attestation are judged by no audit"
"""What a retirement leaves: the late records of the system's last attested month."""


def _entries(previous: Signed) -> list[tuple[str, dict[str, Any]]]:
    """Last month's systems, each with its record, whatever became of it (judged, not judged,
    rejected): a system that could not be judged is in scope all the same."""
    return [
        (str(entry.get("name")), entry)
        for entry in previous.predicate.get("systems") or []
        if isinstance(entry, dict)
    ]


def predecessors(org: Organisation, previous: Signed | None) -> dict[str, str]:
    """Each system's name in last month's attestation: its own, or (renamed since) that of
    the system there with its repository and evidence, resolved as org.yaml's paths are."""
    if previous is None:
        return {}
    entries = _entries(previous)
    names = {name for name, _ in entries}
    places: dict[str, str] = {}
    for name, entry in entries:
        places.setdefault(org.place_of(entry), name)
    found = {}
    for system in org.systems:
        if system.name in names:
            found[system.name] = system.name
        elif system.place in places:
            found[system.name] = places[system.place]
    return found


def retirements(
    org: Organisation, previous: Signed | None, period: str, *, judging: bool = True
) -> list[dict[str, Any]]:
    """The retirements the attestation records, each that accounts for a system of last
    month's with what that attestation said of it. Stops the audit (exit 2) on a system of
    last month's attestation neither in org.yaml nor retired, on a retired system org.yaml
    still lists under another name, and on a retirement dated in or after the month.
    ``judging``: the systems' repositories are read here (not federated)."""
    for retired in org.retired:
        if retired.date.isoformat() >= f"{period}-01":
            raise InputError(
                f"system {retired.name} is retired on {retired.date}, not before {period} "
                f"began: a system retired during {period} still deployed in it; list it for "
                f"{period} and retire it the month after",
                path=str(org.path),
                line=retired.line,
            )
    if previous is None:
        return [r.record() for r in org.retired]
    renamed = {old: new for new, old in predecessors(org, previous).items()}
    last = dict(_entries(previous))
    for name in last:
        _check_accounted(org, name, renamed.get(name), previous.period)
    for record in previous.predicate.get("retired") or []:
        check_signed_retirement(org, record, previous.period, period)
    return [_retirement(org, r, previous, last.get(r.name), judging) for r in org.retired]


def _retirement(
    org: Organisation,
    retired: Retired,
    previous: Signed,
    entry: dict[str, Any] | None,
    judging: bool,
) -> dict[str, Any]:
    """A retirement's record, checked against the system's repository and evidence as last
    month's attestation named them (``retirement``)."""
    if entry is None:
        return retired.record()
    check_repository(org, retired, entry, histories=judging)
    checked = check_quiet(org, retired, entry)
    return {**retired.record(), "last_attested": {**_last(previous, entry), **checked}}


def _check_accounted(org: Organisation, name: str, listed: str | None, before: str) -> None:
    retired = next((r for r in org.retired if r.name == name), None)
    if listed is not None and retired is not None:
        raise InputError(
            f"system {name} is retired, yet system {listed} has its repository and evidence: "
            "a system renamed is the same system; remove it from 'retired'",
            path=str(org.path),
            line=retired.line,
        )
    if listed is None and retired is None:
        raise InputError(
            f"system {name} of the {before} attestation is not in {org.path.name}: a chained "
            "audit answers for every system the previous attestation covered",
            path=str(org.path),
            hint=f"list {name} again, or, if it was decommissioned, add it under 'retired' "
            "with the date and the reason (the attestation records it)",
        )


def _last(previous: Signed, entry: dict[str, Any]) -> dict[str, Any]:
    """What last month's attestation said of a retired system."""
    return {
        "period": previous.period,
        "repository": entry.get("repository"),
        "evidence": entry.get("evidence"),
        "status": entry.get("status"),
        **({"verdict": entry["verdict"]} if "verdict" in entry else {}),
        "unjudged": UNJUDGED.format(period=previous.period),
    }


def describe_retired(predicate: dict[str, Any]) -> list[str]:
    """What ``verify`` says of the systems an organisation attestation retires."""
    lines = []
    for record in predicate.get("retired") or []:
        if not isinstance(record, dict):
            continue
        last = record.get("last_attested")
        line = f"system {record.get('name')}: retired {record.get('date')}: {record.get('reason')}"
        if isinstance(last, dict):
            outcome = last.get("verdict") or last.get("status")
            line += f"; last attested {last.get('period')} ({outcome}); {last.get('unjudged')}"
            if last.get("evidence_checked"):
                line += f"; its evidence checked for later deployments: {last['evidence_checked']}"
        lines.append(line)
    return lines


def check_accounted(current: Signed, previous: Signed) -> None:
    """``verify --previous``: every system of the previous attestation is in this one, by
    name, renamed (``renamed_from``, or its repository and evidence as written), or retired
    in it. An attestation that dropped one silently is not the previous one's sequel."""
    systems = [e for e in current.predicate.get("systems") or [] if isinstance(e, dict)]
    accounted = {str(e.get("name")) for e in systems}
    accounted |= {str(e["renamed_from"]) for e in systems if "renamed_from" in e}
    accounted |= {
        str(r.get("name"))
        for r in current.predicate.get("retired") or []
        if isinstance(r, dict) and isinstance(r.get("last_attested"), dict)
    }
    places = {(e.get("repository"), e.get("evidence")) for e in systems}
    for name, entry in _entries(previous):
        if name not in accounted and (entry.get("repository"), entry.get("evidence")) not in places:
            raise VerificationError(
                "link",
                f"system {name} of {previous.period} is neither in the attestation of "
                f"{current.period} nor retired in it: it was dropped without a word",
            )
