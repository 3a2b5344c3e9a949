"""Text for a terminal: findings worst first, then the rules, then one line of verdict."""

from __future__ import annotations

import textwrap

from checker.report.escape import visible as v
from checker.report.model import Report
from checker.vocabulary import SEVERITIES, severity_rank, short

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
        (see ``escape``)."""

        def paint(style: str, text: str) -> str:
            return f"{_COLORS[style]}{text}{_RESET}" if color else text

        lines: list[str] = []
        summary = report.summary()
        lines.append(
            f"knightwatch {report.tool_version} · repository HEAD {v(short(report.head))} · "
            f"{summary.get('deployments', 0)} deployments · "
            f"{summary.get('commits_shipped', 0)} commits shipped · as of {v(report.as_of)}"
        )
        if report.gate:
            gate = report.gate
            lines.append(
                v(
                    f"{gate['stage']} gate: {gate['candidate']} ({short(gate['commit'])}) to "
                    f"{gate['service']} in {gate['environment']}"
                )
            )
        if report.headline:
            lines.append(report.headline)
        if report.ignored:
            lines.append(f"Not evidence (evidence_ignore): {', '.join(report.ignored)}")
        lines.extend(report.settings_lines)
        lines.append("")
        findings = sorted(
            report.findings, key=lambda f: (-severity_rank(f.severity), f.rule, f.subject)
        )
        if not findings:
            lines.extend(["No findings.", ""])
        for finding in findings:
            label = f"{finding.severity.upper():<8}"
            waived = " (waived)" if finding.waived else ""
            lines.append(
                f"{paint(finding.severity, label)} {v(finding.rule)}  {v(finding.subject)}{waived}"
            )
            wrapped = textwrap.wrap(v(finding.message), width=88)
            lines.extend(f"         {line}" for line in wrapped)
            lines.append(paint("dim", f"         controls: {v(', '.join(finding.controls))}"))
            lines.append("")
        not_evaluated = [r for r in report.rules if not r.evaluated]
        if not_evaluated:
            lines.append("Not evaluated (these rules were not judged, so they did not pass):")
            for rule in not_evaluated:
                lines.append(f"  {v(rule.id):<11} {v(rule.reason or '')}")
            lines.append("")
        partial = [r for r in report.rules if r.evaluated and r.reason]
        if partial:
            lines.append("Judged on part of their evidence:")
            lines.extend(f"  {v(rule.id):<11} {v(rule.reason or '')}" for rule in partial)
            lines.append("")
        counts = summary["by_severity"]
        parts = [f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]]
        totals = ", ".join(parts) if parts else "no findings"
        if summary["waived"]:
            totals += f" ({summary['waived']} waived)"
        evaluated = sum(1 for r in report.rules if r.evaluated)
        lines.append(
            f"{paint(report.verdict, report.verdict_line)}: {totals}; "
            f"{evaluated} of {len(report.rules)} rules evaluated; "
            f"fail on {v(report.fail_on)} and above"
        )
        return "\n".join(lines) + "\n"
