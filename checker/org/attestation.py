"""The organisation's monthly attestation: one in-toto Statement v1 whose subjects are every
system's repository HEAD and evidence digests (or, federated, its signed audit), whose predicate
holds each system's audit and the organisation's verdict. Read back by ``verify``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from checker import __version__
from checker.errors import UsageError
from checker.org.judge import JUDGED, SystemResult
from checker.org.model import Organisation
from checker.signing.attestation import (
    ORG_PREDICATE_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Signed,
    previous_link,
    recorded_branch,
    recorded_branch_given,
)
from checker.vocabulary import counted, short

REPOSITORIES = "repositories"
ATTESTATIONS = "attestations"


@dataclass(frozen=True)
class OrgRun:
    """What one organisation audit was asked: the month, and how the systems were judged."""

    org: Organisation
    period: str
    as_of: date
    partial: bool
    mode: str
    """``repositories`` (each judged here) or ``attestations`` (federated)."""
    known_as: dict[str, str] = field(default_factory=dict)
    """Each system's name in last month's attestation (``continuity.predecessors``)."""
    retired: list[dict[str, Any]] = field(default_factory=list)
    """The retirements org.yaml states (``continuity.retirements``)."""

    def entry(self, result: SystemResult) -> dict[str, Any]:
        """A system's record, saying the name it had last month when it was renamed."""
        before = self.known_as.get(result.name, result.name)
        return result.entry if before == result.name else {**result.entry, "renamed_from": before}


def summary(results: list[SystemResult]) -> dict[str, int]:
    """How many systems, judged, passed, failed and not judged (rejected counts there)."""
    judged = [r for r in results if r.entry["status"] == JUDGED]
    passed = sum(1 for r in judged if r.passed)
    return {
        "systems": len(results),
        "judged": len(judged),
        "passed": passed,
        "failed": len(judged) - passed,
        "not_judged": len(results) - len(judged),
    }


def verdict(results: list[SystemResult]) -> str:
    """``pass`` only when every system was judged and passed."""
    return "pass" if results and all(r.passed for r in results) else "fail"


def _groups(results: list[SystemResult]) -> list[dict[str, Any]]:
    """The organisation's causes: each system's finding groups, under the system's name."""
    out = []
    for result in results:
        report = (result.entry.get("audit") or {}).get("report") or {}
        out += [{"system": result.name, **group} for group in report.get("groups", [])]
    return out


def build_org_statement(
    run: OrgRun, results: list[SystemResult], previous: Signed | None, signer: str
) -> dict[str, Any]:
    """The statement, systems and subjects sorted by name: the same bytes for the same inputs
    (``signer``: the id of the key that signs it)."""
    ordered = sorted(results, key=lambda r: r.name)
    subjects = [{"name": f"org:{run.org.path.name}", "digest": {"sha256": run.org.sha256}}]
    subjects += sorted((s for r in ordered for s in r.subjects), key=lambda s: str(s["name"]))
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": ORG_PREDICATE_TYPE,
        "predicate": {
            "period": run.period,
            **({"partial": True} if run.partial else {}),
            "as_of": run.as_of.isoformat(),
            "mode": run.mode,
            "organisation": {
                "name": run.org.name,
                "file": {"path": run.org.path.name, "sha256": run.org.sha256},
                **(
                    {"waiver_approvers": list(run.org.waiver_approvers)}
                    if run.org.waiver_approvers is not None
                    else {}
                ),
                **({"waiver_keys": dict(run.org.waiver_keys)} if run.org.waiver_keys else {}),
            },
            "tool": {"name": "knightwatch", "version": __version__},
            "verdict": verdict(ordered),
            "summary": summary(ordered),
            "groups": _groups(ordered),
            "systems": [run.entry(r) for r in ordered],
            **({"retired": run.retired} if run.retired else {}),
            "previous": previous_link(previous, signer),
        },
    }


def describe_system(entry: dict[str, Any]) -> str:
    """One line about one system of a verified organisation attestation."""
    name = entry.get("name")
    if entry.get("status") != JUDGED:
        return f"system {name}: {entry.get('status')}: {entry.get('reason')}"
    report = (entry.get("audit") or {}).get("report") or {}
    totals = report.get("summary") or {}
    weakened = ((entry.get("audit") or {}).get("settings") or {}).get("weakened") or []
    notes = [
        *([f"renamed from {entry['renamed_from']}"] if entry.get("renamed_from") else []),
        *([str(entry["verdict_note"])] if entry.get("verdict_note") else []),
        *(
            ["judged with weakened settings: " + ", ".join(str(w.get("name")) for w in weakened)]
            if weakened
            else []
        ),
        *(["no deployments in the period"] if totals.get("deployments") == 0 else []),
        *(
            [f"incomplete: {counted(len(totals['incomplete']), 'rule')} not evaluated"]
            if totals.get("incomplete")
            else []
        ),
    ]
    return (
        f"system {name}: {entry.get('verdict')}, "
        f"{counted(len(report.get('findings', [])), 'finding')} "
        f"({totals.get('failing', 0)} failing), HEAD {short(str(entry.get('head')))}"
        + _branch_shown(report)
        + "".join(f"; {note}" for note in notes)
    )


def _branch_shown(report: dict[str, Any]) -> str:
    """The protected branch a system's audit judged, as its line shows it after the HEAD:
    ``, main at SHA (read from REF)``, the commit in full, as one repository's ``verify``
    shows it (an auditor compares it with the forge, and a prefix of twelve digits is one
    whoever runs the audit can grind a commit of their own to share); for an audit that does
    not record it whole, that it is not recorded, as ``verify`` says of one repository's."""
    branch = recorded_branch(report)
    if branch is None:
        given = "recorded, but not whole" if recorded_branch_given(report) else "not recorded"
        return f", protected branch {given}: replay to judge it again"
    return f", {branch['name']} at {branch['commit']} (read from {branch['ref']})"


def describe(signed: Signed) -> list[str]:
    """What ``verify`` says of an organisation attestation, after its signature."""
    predicate = signed.predicate
    counts = predicate.get("summary") or {}
    name = (predicate.get("organisation") or {}).get("name")
    head = (
        f"period: {signed.period}; organisation {name + ' ' if name else ''}verdict "
        f"{predicate.get('verdict')}; {counts.get('systems')} systems: "
        f"{counts.get('passed')} passed, {counts.get('failed')} failed, "
        f"{counts.get('not_judged')} not judged; as of {predicate.get('as_of')}; "
        f"from {predicate.get('mode')}"
        + ("; partial: the month had not ended" if predicate.get("partial") else "")
    )
    from checker.org.continuity import describe_retired

    return [
        head,
        *(describe_system(e) for e in predicate["systems"] if isinstance(e, dict)),
        *describe_retired(predicate),
    ]


def system_entry(signed: Signed, name: str) -> dict[str, Any]:
    """One system's record in a verified organisation attestation."""
    for entry in signed.predicate["systems"]:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise UsageError(f"--system {name}: no such system in the attestation")


def system_audit(signed: Signed, entry: dict[str, Any]) -> Signed:
    """A judged system's audit as its own signed month: its predicate, under the signature of
    the organisation's attestation that holds it (a sample or replay reads it as one)."""
    statement = {"predicateType": PREDICATE_TYPE, "predicate": entry["audit"]}
    return Signed(signed.payload, statement, signed.keyid)
