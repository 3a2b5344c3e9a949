"""Waivers: time-boxed exceptions. Waived findings stay in the report, marked; expired waivers
waive nothing; both expired waivers and waivers that match nothing become WAIVER-001 findings.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from datetime import date
from typing import Any

from checker.evidence.models import Waiver
from checker.report.model import Finding


def _matches(waiver: Waiver, finding: Finding) -> bool:
    return waiver.rule == finding.rule and fnmatch.fnmatchcase(finding.subject, waiver.subject)


def apply_waivers(
    waivers: list[Waiver], findings: list[Finding], as_of: date
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Mark the findings live waivers cover; return them and each waiver's facts for WAIVER-001.

    A waiver is expired when ``expires`` is before the as-of date: it still holds on the day
    it expires.
    """
    live = [w for w in waivers if w.expires >= as_of]
    marked = [
        dataclasses.replace(f, waived=True) if any(_matches(w, f) for w in live) else f
        for f in findings
    ]
    facts = [
        {
            "rule": w.rule,
            "subject": w.subject,
            "reason": w.reason,
            "approved_by": w.approved_by,
            "expires": w.expires.isoformat(),
            "expired": w.expires < as_of,
            "matches": sum(1 for f in findings if _matches(w, f)),
        }
        for w in waivers
    ]
    return marked, facts
