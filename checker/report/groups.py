"""Findings grouped by cause: one group per rule and cause, every instance kept.

A retired flag still referenced is one finding per deployment that ships it; a month can hold
thousands of them and one cause. A rule's METADATA ``cause`` template says what its findings
share (``{flag}``); findings of a rule without one are each their own group."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from checker.vocabulary import severity_rank

if TYPE_CHECKING:
    from checker.report.model import Finding, Occurrence


@dataclass(frozen=True)
class Group:
    """The findings of one rule that share a cause, sorted by subject."""

    rule: str
    key: str
    """The cause (``power_peg``), or for a rule without a cause template, the subject."""
    caused: bool
    """Whether ``key`` is a cause the rule's template gave (else it is the one subject)."""
    findings: tuple[Finding, ...]

    @property
    def first_finding(self) -> Finding:
        """The instance with the lowest subject: its severity, title and controls are the
        rule's, shared by every instance."""
        return self.findings[0]

    @property
    def severity(self) -> str:
        """The rule's severity."""
        return self.first_finding.severity

    @property
    def statement(self) -> str:
        """One line: the cause's statement, or for a single instance without a cause, its
        message."""
        first = self.first_finding
        return first.statement if self.caused and first.statement else first.message

    @property
    def count(self) -> int:
        """How many instances."""
        return len(self.findings)

    @cached_property
    def waived(self) -> int:
        """How many instances are waived."""
        return sum(1 for f in self.findings if f.waived)

    @property
    def live(self) -> int:
        """How many instances are not waived."""
        return self.count - self.waived

    @cached_property
    def span(self) -> tuple[Occurrence | None, Occurrence | None]:
        """The first and last occurrence, by the instant each names (None where no instance
        has a time)."""
        times = [f.when for f in self.findings if f.when is not None]
        return (min(times), max(times)) if times else (None, None)

    @property
    def subjects(self) -> list[str]:
        """Every instance's subject, in order."""
        return [f.subject for f in self.findings]

    @property
    def unwaived_first(self) -> tuple[Finding, ...]:
        """Every instance, the unwaived ones first (each part by subject): a folded or capped
        list names the instances that fail before those a waiver covers."""
        return tuple(f for f in self.findings if not f.waived) + tuple(
            f for f in self.findings if f.waived
        )

    def fold(self, shown: int) -> tuple[str, str]:
        """Its count as the human formats head it (``1,204 instances (3 waived), FIRST to
        LAST``, or ``(all waived)``), and its first ``shown`` subjects, the unwaived first,
        saying how many of those named are waived, with how many more."""
        first, last = self.span
        span = f", {first.text} to {last.text}" if first and last else ""
        waived = ""
        if self.waived:
            waived = " (all waived)" if self.live == 0 else f" ({self.waived:,} waived)"
        listed = self.unwaived_first[:shown]
        subjects = ", ".join(f.subject for f in listed)
        marked = sum(1 for f in listed if f.waived)
        if marked and self.live:
            subjects += f" ({marked:,} of these waived)"
        more = self.count - len(listed)
        return (
            f"{self.count:,} instances{waived}{span}",
            f"{subjects} and {more:,} more" if more > 0 and listed else subjects,
        )

    def named(self, *, waived: bool, shown: int) -> str:
        """The subjects of its waived (or unwaived) instances, the first ``shown`` of them
        and how many more; ``none`` when it has no such instance."""
        chosen = [f.subject for f in self.findings if f.waived == waived]
        listed = ", ".join(chosen[:shown]) or "none"
        more = len(chosen) - shown
        return f"{listed} and {more:,} more" if more > 0 else listed

    def failing(self, fails_at: Callable[[str], bool]) -> bool:
        """Whether any instance fails the check (unwaived, at or above fail-on)."""
        return self.live > 0 and fails_at(self.severity)

    def to_dict(self) -> dict[str, Any]:
        """As the JSON report lists it: the statement once, and every instance's subject."""
        first, last = self.span
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "cause": self.key,
            "statement": self.statement,
            "count": self.count,
            "waived": self.waived,
            "first": first.text if first else None,
            "last": last.text if last else None,
            "subjects": self.subjects,
        }
        if self.waived > 0:
            out["waived_subjects"] = [f.subject for f in self.findings if f.waived]
            notes = dict.fromkeys(w for f in self.findings if f.waived for w in f.waivers)
            out["waived_by"] = [w.to_dict() for w in notes]
        return out

    def to_compact_dict(self) -> dict[str, Any]:
        """As the compact JSON report lists it: also what every instance shares (the rule's
        title and controls), and the files the instances point at, each once."""
        first = self.first_finding
        out = self.to_dict()
        out["title"] = first.title
        out["controls"] = list(first.controls)
        locations = sorted({f.location for f in self.findings if f.location})
        if locations:
            out["locations"] = locations
        return out


def group_findings(findings: Iterable[Finding]) -> tuple[Group, ...]:
    """One group per rule and cause, worst first: by severity, then rule, then the most
    instances, then the lowest subject (so single findings keep the order they always had)."""
    by_key: dict[tuple[str, str], list[Finding]] = {}
    caused: dict[tuple[str, str], bool] = {}
    for finding in findings:
        key = (finding.rule, finding.group_key)
        by_key.setdefault(key, []).append(finding)
        caused[key] = finding.cause is not None
    groups = [
        Group(rule, key, caused[(rule, key)], tuple(sorted(items, key=lambda f: f.subject)))
        for (rule, key), items in by_key.items()
    ]
    return tuple(
        sorted(
            groups,
            key=lambda g: (-severity_rank(g.severity), g.rule, -g.count, g.first_finding.subject),
        )
    )
