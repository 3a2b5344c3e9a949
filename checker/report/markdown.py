"""Markdown: for a CI job summary, a pull-request comment or a ticket."""

from __future__ import annotations

from checker.report.escape import visible
from checker.report.model import Report
from checker.vocabulary import SEVERITIES, severity_rank, short

_ICONS = {"critical": "🟥", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}


def cell(text: str) -> str:
    """Text safe inside a table cell: pipes, markup and control characters escaped."""
    out = visible(text).replace("\\", "\\\\").replace("|", "\\|")
    for char in "`*_[]<>#":
        out = out.replace(char, "\\" + char)
    return out


class MarkdownRenderer:
    """``--format markdown``."""

    name = "markdown"
    media_type = "text/markdown"

    def render(self, report: Report, *, color: bool = False) -> str:
        """Verdict, counts, findings table, rules not evaluated, inputs."""
        summary = report.summary()
        scope = f" for {report.period}" if report.period else ""
        counts = (
            ", ".join(
                f"{summary['by_severity'][s]} {s}"
                for s in reversed(SEVERITIES)
                if summary["by_severity"][s]
            )
            or "no findings"
        )
        lines = [
            f"## knightwatch{scope}: {report.verdict_line}",
            "",
            *([f"**{cell(report.headline)}**", ""] if report.headline else []),
            *(
                [
                    *(
                        f"- {cell(line.strip())}" if line.startswith("  ") else f"**{cell(line)}**"
                        for line in report.settings_lines
                    ),
                    "",
                ]
                if report.settings_lines
                else []
            ),
            f"{counts}; {summary['waived']} waived; fails on {report.fail_on} and above. "
            f"HEAD `{short(report.head)}`, {summary.get('deployments', 0)} deployments, "
            f"as of {report.as_of}.",
            "",
        ]
        if report.signature:
            lines += [f"- {cell(k)}: `{v}`" for k, v in report.signature.items()] + [""]
        if report.findings:
            lines += ["| | Rule | Subject | Finding |", "|---|---|---|---|"]
            for f in sorted(
                report.findings, key=lambda f: (-severity_rank(f.severity), f.rule, f.subject)
            ):
                waived = " *(waived)*" if f.waived else ""
                lines.append(
                    f"| {_ICONS[f.severity]} {f.severity} | {cell(f.rule)} | "
                    f"{cell(f.subject)}{waived} | {cell(f.message)} |"
                )
            lines.append("")
        pending = [r for r in summary["rules"] if r["status"] == "not_evaluated"]
        if pending:
            lines.append(
                "**Not evaluated** (not judged, so not passed): "
                + ", ".join(f"{cell(r['id'])} ({cell(r['reason'])})" for r in pending)
                + "."
            )
            lines.append("")
        lines += [
            "<details><summary>Inputs</summary>",
            "",
            "| Role | File | sha256 |",
            "|---|---|---|",
            *(f"| {f.role} | {cell(f.path)} | `{f.sha256}` |" for f in report.files),
            "",
            "</details>",
        ]
        return "\n".join(lines) + "\n"
