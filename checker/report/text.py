"""Text for a terminal: findings worst first, then the rules, then one line of verdict."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from checker.report.escape import log_inert
from checker.report.escape import visible as v
from checker.report.groups import Group
from checker.report.model import FOLD_ABOVE, Finding, Report, waived_by
from checker.vocabulary import SEVERITIES, short

_COLORS = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "info": "\033[2m",
    "pass": "\033[1;32m",
    "fail": "\033[1;31m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"


class TextRenderer:
    """``--format text``, the terminal default; colour only when asked (on a TTY)."""

    name = "text"
    media_type = "text/plain"

    def render(self, report: Report, *, color: bool = False) -> str:
        """A readable report; every value from evidence or policies is shown, never obeyed
        (see ``escape``): by a terminal (``visible``) nor by a CI log (``log_inert``)."""

        def paint(style: str, text: str) -> str:
            return f"{_COLORS[style]}{text}{_RESET}" if color else text

        lines = [*_header(report), ""]
        if not report.findings:
            lines.extend(["No findings.", ""])
        for item in report.folded():
            lines += _group(item, paint) if isinstance(item, Group) else _finding(item, paint)
        lines += _unjudged(report)
        lines.append(_verdict(report, paint))
        return log_inert("\n".join(lines) + "\n")


Paint = Callable[[str, str], str]


def _header(report: Report) -> list[str]:
    """What was checked, and what a reader must know before the findings."""
    summary = report.summary()
    lines = [
        f"knightwatch {report.tool_version} · repository HEAD {v(short(report.head))} · "
        f"{summary.get('deployments', 0)} deployments · "
        f"{summary.get('commits_shipped', 0)} commits shipped · as of {v(report.as_of)}"
    ]
    lines += [v(line) for line in report.branch_lines]
    if report.gate:
        gate = report.gate
        lines.append(
            v(
                f"{gate['stage']} gate: {gate['candidate']} ({short(gate['commit'])}) to "
                f"{gate['service']} in {gate['environment']}"
            )
        )
        lines += _gate_evidence(gate.get("evidence"))
    if report.headline:
        lines.append(v(report.headline))
    if report.ignored:
        lines.append(f"Not evidence (evidence_ignore): {v(', '.join(report.ignored))}")
    if report.examples:
        lines.append(
            f"Not read (examples of knightwatch.yaml): {v(', '.join(report.examples))}; "
            "the options are the defaults"
        )
    return lines + [v(line) for line in report.settings_lines]


def _gate_evidence(read: dict[str, Any] | None) -> list[str]:
    """Where a gate read its evidence from, where it lay in the work tree."""
    if read is None:
        return []
    branch = f"{read['branch']} ({short(read['commit'])})"
    said = [
        (read["read_from_branch"], f"Evidence read as {branch} has it, not the work tree"),
        (
            read["read_from_work_tree"],
            "Evidence read from the work tree (neither HEAD nor the candidate has it)",
        ),
        (read["not_read"], f"Evidence not read (the change's own: {read['branch']} has none)"),
    ]
    return [v(f"{what}: {', '.join(names)}") for names, what in said if names]


def _finding(finding: Finding, paint: Paint) -> list[str]:
    label = f"{finding.severity.upper():<8}"
    waived = " (waived)" if finding.waived else ""
    return [
        f"{paint(finding.severity, label)} {v(finding.rule)}  {v(finding.subject)}{waived}",
        *(f"         {line}" for line in textwrap.wrap(v(finding.message), width=88)),
        paint("dim", f"         controls: {v(', '.join(finding.controls))}"),
        *(
            f"         {line}"
            for line in (textwrap.wrap(v(waived_by([finding])), 88) if finding.waived else [])
        ),
        "",
    ]


def _group(group: Group, paint: Paint) -> list[str]:
    """A large group folded: its cause and count, its statement, the first few subjects."""
    label = f"{group.severity.upper():<8}"
    count, subjects = group.fold(FOLD_ABOVE)
    return [
        f"{paint(group.severity, label)} {v(group.rule)}  {v(group.key)}: {v(count)}",
        *(f"         {line}" for line in textwrap.wrap(v(group.statement) + ".", width=88)),
        *(f"         {line}" for line in textwrap.wrap(v(subjects), width=88)),
        paint("dim", f"         controls: {v(', '.join(group.first_finding.controls))}"),
        "",
    ]


def _unjudged(report: Report) -> list[str]:
    """The rules not evaluated, and those judged on part of their evidence, with why."""
    lines: list[str] = []
    not_evaluated = [r for r in report.rules if not r.evaluated]
    if not_evaluated:
        lines.append("Not evaluated (these rules were not judged, so they did not pass):")
        lines.extend(f"  {v(rule.id):<11} {v(rule.reason or '')}" for rule in not_evaluated)
        lines.append("")
    partial = [r for r in report.rules if r.evaluated and r.reason]
    if partial:
        lines.append("Judged on part of their evidence:")
        lines.extend(f"  {v(rule.id):<11} {v(rule.reason or '')}" for rule in partial)
        lines.append("")
    return lines


def _verdict(report: Report, paint: Paint) -> str:
    summary = report.summary()
    counts = summary["by_severity"]
    parts = [f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]]
    totals = ", ".join(parts) if parts else "no findings"
    if summary["waived"]:
        totals += f" ({summary['waived']} waived)"
    evaluated = sum(1 for r in report.rules if r.evaluated)
    return (
        f"{paint(report.verdict, report.verdict_line)}: {totals}; "
        f"{evaluated} of {len(report.rules)} rules evaluated; "
        f"fail on {v(report.fail_on)} and above"
    )
