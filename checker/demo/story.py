"""The demo's narrative: the 2012 story, what the audit found, and where it would have stopped."""

from __future__ import annotations

import textwrap
from pathlib import Path

from checker.report.model import Finding, Report

STORY = """\
Knight Capital Group, 1 August 2012 — rebuilt as a git repository and its evidence.

  2003-06-02  Power Peg, a test-only routine, is added to SMARS behind the flag power_peg.
  2005-03-14  Power Peg is retired in the flag registry. Its code stays in SMARS.
  2012-07-25  New Retail Liquidity Program code reuses the power_peg flag for RLP.
  2012-07-27  A technician deploys it by hand to 7 of the 8 SMARS servers.
              No second person reviews the deployment.
  2012-08-01  13:30 UTC: the flag is switched on. The eighth server still runs Power Peg,
              which sends millions of orders: $460 million lost in 45 minutes.
"""

# Where each rule stands in the path to production: the gate that would have stopped it.
GATES = {
    "REVIEW-001": "before the deployment started: no second person approved it",
    "REVIEW-002": "at merge: a commit went to production that nobody but its author reviewed",
    "REVIEW-003": "before the deployment started: its commit was not on the protected branch",
    "FLEET-001": "when the deployment finished: a server was left on the old code",
    "FLEET-002": "from the first observation: a server ran another version than deployed",
    "FLEET-003": "before the flag was switched on: the fleet ran mixed versions",
    "FLEET-004": "before the deployment: it targeted a server outside the inventory",
    "DEAD-001": "at merge: a retired flag was still referenced in the code",
    "DEAD-002": "at merge: a flag was given a new meaning",
    "DEAD-003": "before the deployment: a flag had outlived its removal date",
    "DEAD-004": "at merge: code retired years before was still present",
    "DEAD-007": "before the flag was switched on: a server's code had it retired",
}


def _line(finding: Finding) -> list[str]:
    gate = GATES.get(finding.rule, "at the next check")
    indent = " " * 6
    return [
        f"  {finding.rule} ({finding.severity}) — {finding.title}",
        *textwrap.wrap(finding.message, 92, initial_indent=indent, subsequent_indent=indent),
        *textwrap.wrap(
            f"Would have been stopped {gate}.", 92, initial_indent=indent, subsequent_indent=indent
        ),
    ]


# The story's path to production, in order, and the rules whose findings each step would
# have turned into a stop.
STOPS = (
    ("At merge, before the code reached main", ("DEAD-001", "DEAD-002", "DEAD-004", "REVIEW-002")),
    ("Before the deployment of 27 July started", ("REVIEW-001", "REVIEW-003", "DEAD-003")),
    ("When that deployment finished, one server short", ("FLEET-001", "FLEET-002", "FLEET-004")),
    ("Before the flag was switched on at 13:30 UTC on 1 August", ("DEAD-007", "FLEET-003")),
)


def _stops(report: Report) -> list[str]:
    found = {f.rule for f in report.findings if not f.waived}
    lines = ["What would have been blocked, and when:"]
    for step, rules in STOPS:
        hits = [r for r in rules if r in found]
        if hits:
            lines.extend(
                textwrap.wrap(
                    f"{step}: {', '.join(hits)}.",
                    92,
                    initial_indent="  ",
                    subsequent_indent="      ",
                )
            )
    if found & {"DEAD-007", "FLEET-003"}:
        lines.append("  The last of these alone would have kept Power Peg switched off.")
    return lines


def narrate(report: Report, written: list[Path], verify: str | None = None) -> str:
    """The whole demo text, derived from the report alone."""
    lines = [
        STORY,
        f"What knightwatch finds: {len(report.findings)} findings, verdict {report.verdict_line}.",
        "",
    ]
    for finding in sorted(report.findings, key=lambda f: (f.rule, f.subject)):
        lines.extend(_line(finding))
        lines.append("")
    pending = [r for r in report.rules if not r.evaluated]
    if pending:
        lines.append("Not evaluated (not judged, so not passed):")
        lines.extend(f"  {r.id}: {r.reason}" for r in pending)
        lines.append("")
    if report.partial_rules:
        lines.append("Judged on part of their evidence:")
        for rule in report.partial_rules:
            lines.extend(
                textwrap.wrap(
                    f"{rule.id}: {rule.reason}",
                    width=92,
                    initial_indent="  ",
                    subsequent_indent="      ",
                )
            )
        lines.append("")
    lines.extend(_stops(report))
    lines.append("")
    lines.append("Reports written:")
    lines.extend(f"  {path}" for path in written)
    if verify:
        lines += ["", "Check the signed audit as an auditor would:", f"  {verify}"]
    return "\n".join(lines) + "\n"
