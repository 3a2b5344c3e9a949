"""GitHub Actions: workflow-command annotations for each finding, and the job summary."""

from __future__ import annotations

import hashlib

from checker.report.escape import visible
from checker.report.model import Finding, Report


def _data(text: str) -> str:
    # Line breaks first, as the runner decodes them; then every other control character
    # (an ANSI sequence would colour the log) shown as an escape.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return visible(text)


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


ANNOTATIONS_SHOWN = 10
"""Annotations of one kind (error, warning, notice) GitHub shows for a step, the first
printed; it drops the rest without a word."""


def workflow_commands(report: Report) -> str:
    """``::error``/``::warning``/``::notice`` lines, each kind in the order that matters,
    capped so that what GitHub shows of it says what it does not: errors (failing findings,
    worst first, then rules not judged under --require-all); warnings (settings that weaken
    the rules, rules not judged, then findings below fail-on); notices (waived findings)."""
    findings: dict[str, list[str]] = {"error": [], "warning": [], "notice": []}
    for finding in report.worst_first:
        findings[_kind(finding, report)].append(_finding(finding, report))
    settings = [
        f"::warning {_title(f'setting {n.name}')}::{_data(n.describe())}" for n in report.weakening
    ]
    unjudged = []
    kind = "error" if report.require_all else "warning"
    for rule in (*report.incomplete, *report.partial_rules):
        what = "judged on part of its evidence" if rule.evaluated else "not evaluated"
        reason = _data(rule.reason or "its evidence is absent")
        unjudged.append(f"::{kind} {_title(f'{rule.id} {what}')}::{reason}")
    errors = findings["error"] + (unjudged if report.require_all else [])
    warnings = settings + ([] if report.require_all else unjudged) + findings["warning"]
    lines = _capped("error", errors) + _capped("warning", warnings)
    lines += _capped("notice", findings["notice"])
    return "".join(line + "\n" for line in lines)


def _kind(finding: Finding, report: Report) -> str:
    if finding.waived:
        return "notice"
    return "error" if report.fails_at(finding.severity) else "warning"


def _title(text: str) -> str:
    return "title=" + _property(text)


def _finding(finding: Finding, report: Report) -> str:
    """A finding's line: its kind, where it points (``file=``), its title and message."""
    location = finding.location or report.evidence_location
    where = f"file={_property(location)}," if location else ""
    title = _title(f"{finding.rule} {finding.subject}" + (" (waived)" if finding.waived else ""))
    return f"::{_kind(finding, report)} {where}{title}::{_data(finding.message)}"


def _capped(kind: str, lines: list[str]) -> list[str]:
    """The lines of one kind; past ``ANNOTATIONS_SHOWN``, the last one GitHub shows says how
    many more follow, which the log still prints in full."""
    if len(lines) <= ANNOTATIONS_SHOWN:
        return lines
    shown = ANNOTATIONS_SHOWN - 1
    more = len(lines) - shown
    said = (
        f"{more:,} more {kind} annotations follow in this step's log, which GitHub does not "
        f"show ({ANNOTATIONS_SHOWN} per kind and step): the job summary and the report list "
        "every finding"
    )
    return [
        *lines[:shown],
        f"::{kind} {_title(f'knightwatch: {more:,} more')}::{said}",
        *lines[shown:],
    ]


def inert(text: str) -> str:
    """``text`` for the log with no line of it read as a workflow command. The runner takes
    ``##[COMMAND]`` anywhere in a line, and ``::COMMAND::`` at a line's start after spaces,
    as a command: evidence quoted in a finding (a deployer written ``x ##[stop-commands]y``)
    would stop it reading every annotation written after the report, or forge, mask or end
    lines of the log. So the text stands between ``::stop-commands::TOKEN`` and
    ``::TOKEN::``, the token drawn from the text's sha256, which the text cannot hold."""
    token = "knightwatch-" + hashlib.sha256(text.encode()).hexdigest()[:32]
    end = "" if text.endswith("\n") else "\n"
    return f"::stop-commands::{token}\n{text}{end}::{token}::\n"
