"""Markdown: for a CI job summary, a pull-request comment or a ticket."""

from __future__ import annotations

import re

from checker.report.escape import visible
from checker.report.groups import Group
from checker.report.model import FOLD_ABOVE, Report, waived_by
from checker.vocabulary import SEVERITIES, short

_ICONS = {"critical": "🟥", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}


_BARE_LINK = re.compile(r"(?<![A-Za-z0-9+.-])(?:[A-Za-z][A-Za-z0-9+.-]*:(?=//)|www\.)")
"""A URL's scheme (``https://``) or ``www.``: GitHub makes a link of either, unless escaped."""


def cell(text: str) -> str:
    """Text safe inside a table cell: pipes, markup and control characters escaped, and
    neither an ``@mention`` (which would notify someone where the report is posted) nor a
    bare URL (which would become a link) left for a renderer to act on."""
    out = visible(text).replace("\\", "\\\\").replace("|", "\\|")
    for char in "`*_[]<>#@":
        out = out.replace(char, "\\" + char)
    return _BARE_LINK.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], out)


class MarkdownRenderer:
    """``--format markdown``."""

    name = "markdown"
    media_type = "text/markdown"

    def render(self, report: Report, *, color: bool = False) -> str:
        """Verdict, counts, findings table, rules not evaluated, inputs."""
        lines = _head(report) + _findings(report) + _not_evaluated(report) + _inputs(report)
        return "\n".join(lines) + "\n"


def _head(report: Report) -> list[str]:
    """The verdict, what a reader must know before it, the settings and the counts."""
    scope = f" for {report.period}" if report.period else ""
    lines = [f"## knightwatch{scope}: {report.verdict_line}", ""]
    if report.headline:
        lines += [f"**{cell(report.headline)}**", ""]
    lines += _settings(report)
    lines += [_counts(report), ""]
    lines += _branch(report)
    if report.signature:
        lines += [f"- {cell(k)}: `{v}`" for k, v in report.signature.items()] + [""]
    return lines


def within(report: Report, budget: int) -> str:
    """The report in at most ``budget`` bytes of UTF-8 (a GitHub job summary takes 1 MiB and
    refuses, whole, one byte more): whole when it fits; else its verdict, counts and rules not
    evaluated, and as many rows of findings as fit, the failing ones chosen first, with how
    many rows, and of them how many failing, are not shown. The inputs are left out."""
    whole = MarkdownRenderer().render(report)
    if len(whole.encode()) <= budget:
        return whole
    rows = _rows(report)
    fixed = [*_head(report), *_TABLE, "", _NOTE_ROOM, "", *_not_evaluated(report)]
    room = budget - len(("\n".join(fixed) + "\n").encode())
    order = sorted(range(len(rows)), key=lambda i: (not rows[i][0], i))
    kept: set[int] = set()
    for index in order:
        size = len(rows[index][1].encode()) + 1
        if size > room:
            break
        kept.add(index)
        room -= size
    left = len(rows) - len(kept)
    failing_left = sum(1 for i, (failing, _) in enumerate(rows) if failing and i not in kept)
    note = (
        f"**{left:,} of {len(rows):,} rows of findings not shown, {failing_left:,} of them "
        "failing**: a GitHub job summary holds at most 1 MiB. The JSON report lists every "
        "finding, and its inputs."
    )
    table = [*_TABLE, *(line for i, (_, line) in enumerate(rows) if i in kept)] if kept else []
    lines = [*_head(report), *table, "", note, "", *_not_evaluated(report)]
    return "\n".join(lines) + "\n"


_TABLE = ["| | Rule | Subject | Finding |", "|---|---|---|---|"]
_NOTE_ROOM = "x" * 300
"""Room kept for the line saying what was not shown."""


def _branch(report: Report) -> list[str]:
    """Which tip of the protected branch the deployed commits were judged against, and,
    where REVIEW-003 failed against a remote-tracking ref, how to refresh it."""
    branch = report.branch
    if branch is None:
        return []
    note = report.stale_branch_note
    return [
        f"- Protected branch: {cell(branch.name)} at `{branch.commit}` "
        f"(read from {cell(branch.ref)})",
        *([f"- {cell(note)}"] if note else []),
        "",
    ]


def _settings(report: Report) -> list[str]:
    if not report.settings_lines:
        return []
    return [
        *(
            f"- {cell(line.strip())}" if line.startswith("  ") else f"**{cell(line)}**"
            for line in report.settings_lines
        ),
        "",
    ]


def _counts(report: Report) -> str:
    summary = report.summary()
    by_severity = summary["by_severity"]
    counts = ", ".join(f"{by_severity[s]} {s}" for s in reversed(SEVERITIES) if by_severity[s])
    return (
        f"{counts or 'no findings'}; {summary['waived']} waived; fails on {report.fail_on} "
        f"and above. HEAD `{short(report.head)}`, {summary.get('deployments', 0)} "
        f"deployments, as of {report.as_of}."
    )


def _findings(report: Report) -> list[str]:
    if not report.findings:
        return []
    return [*_TABLE, *(line for _, line in _rows(report)), ""]


def _rows(report: Report) -> list[tuple[bool, str]]:
    """The table's rows, worst first, each with whether it fails the check."""
    rows = []
    for f in report.folded():
        if isinstance(f, Group):
            rows.append((f.failing(report.fails_at), _group(f)))
        else:
            waived = " *(waived)*" if f.waived else ""
            why = f"<br>{cell(waived_by([f]))}" if f.waived else ""  # the waiver that covered it
            line = (
                f"| {_ICONS[f.severity]} {f.severity} | {cell(f.rule)} | "
                f"{cell(f.subject)}{waived} | {cell(f.message)}{why} |"
            )
            rows.append((not f.waived and report.fails_at(f.severity), line))
    return rows


def _group(group: Group) -> str:
    """A large group in one row: its cause and count, its statement and first subjects."""
    count, subjects = group.fold(FOLD_ABOVE)
    return (
        f"| {_ICONS[group.severity]} {group.severity} | {cell(group.rule)} | "
        f"{cell(group.key)}: {cell(count)} | {cell(group.statement)}.<br>{cell(subjects)} |"
    )


def _not_evaluated(report: Report) -> list[str]:
    """The rules not evaluated, and those judged on part of their evidence, with why: the
    verdict line counts them, and a reader of a job summary must see which they are."""
    lines = []
    pending = [r for r in report.rules if not r.evaluated]
    if pending:
        named = ", ".join(f"{cell(r.id)} ({cell(r.reason or '')})" for r in pending)
        lines += [f"**Not evaluated** (not judged, so not passed): {named}.", ""]
    partial = [r for r in report.rules if r.evaluated and r.partial]
    if partial:
        named = ", ".join(f"{cell(r.id)} ({cell(r.reason or '')})" for r in partial)
        lines += [f"**Judged on part of their evidence** (not passed whole): {named}.", ""]
    return lines


def _inputs(report: Report) -> list[str]:
    return [
        "<details><summary>Inputs</summary>",
        "",
        "| Role | File | sha256 |",
        "|---|---|---|",
        *(f"| {f.role} | {cell(f.path)} | `{f.sha256}` |" for f in report.files),
        "",
        "</details>",
    ]
