"""GitHub Actions: workflow-command annotations for each finding, and the job summary."""

from __future__ import annotations

import hashlib

from checker.report.escape import visible
from checker.report.model import Report


def _data(text: str) -> str:
    # Line breaks first, as the runner decodes them; then every other control character
    # (an ANSI sequence would colour the log) shown as an escape.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return visible(text)


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_commands(report: Report) -> str:
    """``::error``/``::warning``/``::notice`` lines: failing, below fail-on, waived."""
    lines = []
    for finding in report.findings:
        if finding.waived:
            kind = "notice"
        elif report.fails_at(finding.severity):
            kind = "error"
        else:
            kind = "warning"
        location = finding.location or report.evidence_location
        where = f"file={_property(location)}," if location else ""
        title = _property(
            f"{finding.rule} {finding.subject}" + (" (waived)" if finding.waived else "")
        )
        lines.append(f"::{kind} {where}title={title}::{_data(finding.message)}")
    for note in report.weakening:
        title = _property(f"setting {note.name}")
        lines.append(f"::warning title={title}::{_data(note.describe())}")
    for rule in (*report.incomplete, *report.partial_rules):
        kind = "error" if report.require_all else "warning"
        what = "judged on part of its evidence" if rule.evaluated else "not evaluated"
        title = _property(f"{rule.id} {what}")
        lines.append(f"::{kind} title={title}::{_data(rule.reason or 'its evidence is absent')}")
    return "".join(line + "\n" for line in lines)


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
