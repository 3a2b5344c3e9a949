"""Waivers: time-boxed exceptions. Waived findings stay in the report, marked; expired waivers
waive nothing; both expired waivers and waivers that match nothing become WAIVER-001 findings.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Collection
from datetime import date
from typing import Any

from checker.engine.metadata import RuleMeta
from checker.evidence.bundle import Evidence
from checker.evidence.messages import did_you_mean
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


_WILD = re.compile(r"[*?\[]")
_PARTS = {
    "commit": r"[0-9a-f]{40}(?:[0-9a-f]{24})?",
    "rule": r"[A-Z][A-Z0-9]*-\d{3}",
    "at": r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
}
_TEMPLATE = re.compile(r"\{(\w+)\}")


def _shape(template: str) -> re.Pattern[str]:
    """The subjects a template such as ``{deployment}:{host}`` describes, as a pattern."""
    out, index = "", 0
    for match in _TEMPLATE.finditer(template):
        out += re.escape(template[index : match.start()])
        out += f"(?P<{match.group(1)}>{_PARTS.get(match.group(1), '.+')})"
        index = match.end()
    return re.compile(out + re.escape(template[index:]))


def subject_problem(template: str | None, glob: str, rule_ids: Collection[str]) -> str | None:
    """Why a waiver's subject glob can match no subject of the rule's shape, or None.

    A glob without wildcards must be a subject of that shape; with wildcards, its literal
    characters must fit the parts they stand in: a commit is 40 (or 64) lowercase hex digits,
    and the rule of a WAIVER-001 subject is a rule id."""
    if template is None:
        return None
    if glob.count("[") != glob.count("]"):
        return "its [ and ] do not pair up, so it can only match itself literally"
    example = template.replace("{", "").replace("}", "").upper()
    if not _WILD.search(glob):
        match = _shape(template).fullmatch(glob)
        if match is None:
            if template == "{commit}" and re.fullmatch(r"[0-9a-fA-F]{4,39}", glob):
                return (
                    f"subjects of this rule are full 40-character commit shas; to cover every "
                    f"commit starting with it, write {glob.lower()}*"
                )
            if _shape(template).fullmatch(glob.lower()):
                return f"commit shas are lowercase: write {glob.lower()}"
            return f"subjects of this rule look like {example}, which {glob!r} cannot be"
        rule = match.groupdict().get("rule")
        if rule is not None and rule not in rule_ids:
            return f"{rule!r} is no rule's id{did_you_mean(rule, rule_ids)}"
        return None
    separators = [s for s in _TEMPLATE.split(template)[::2] if s]
    first = template.split("}", 1)[0].lstrip("{")
    head = glob.split(separators[0], 1)[0] if separators and separators[0] in glob else glob
    if first == "commit" and re.search(r"[^0-9a-f*?\[\]!-]", head):
        lowered = (
            " (write it in lowercase)" if not re.search(r"[^0-9a-f*?\[\]!-]", head.lower()) else ""
        )
        return (
            f"subjects of this rule start with a commit sha, in lowercase hex; {head!r} "
            f"cannot match one{lowered}"
        )
    if first == "rule" and not _WILD.search(head) and head != glob and head not in rule_ids:
        return f"{head!r} is no rule's id{did_you_mean(head, rule_ids)}"
    return None


def check_waivers(evidence: Evidence, rules: Collection[RuleMeta]) -> None:
    """Every waiver names a rule that exists and a subject that rule could ever have: a
    waiver that can never match is an error in the waiver, not an exception granted."""
    by_id = {rule.id: rule for rule in rules}
    for index, waiver in enumerate(evidence.waivers):
        rule = by_id.get(waiver.rule)
        if rule is None:
            raise evidence.error(
                "waivers",
                index,
                f"waiver: rule {waiver.rule!r} is no rule's id{did_you_mean(waiver.rule, by_id)}",
                hint="the rule ids are listed by 'knightwatch policy list'",
            )
        problem = subject_problem(rule.subject, waiver.subject, by_id)
        if problem is not None:
            raise evidence.error(
                "waivers",
                index,
                f"waiver for {waiver.rule}: subject {waiver.subject!r}: {problem}",
                hint=f"see 'knightwatch explain {waiver.rule}' for its subjects",
            )
