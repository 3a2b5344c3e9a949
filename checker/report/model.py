"""The report: findings, verdict, summary and the digests of every input read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from checker.errors import EXIT_FINDINGS, EXIT_PASS
from checker.report.groups import Group, group_findings
from checker.vocabulary import SEVERITIES, severity_rank

if TYPE_CHECKING:
    from checker.evidence.bundle import FileDigest
    from checker.evidence.git import BranchTip
    from checker.facts.population import Deployed
    from checker.settings import SettingNote

SCHEMA = "knightwatch/report/v1"
COMPACT_SCHEMA = "knightwatch/report-compact/v1"
BRANCH_RULE = "REVIEW-003"
"""The rule that judges deployed commits against the protected branch."""
FOLD_ABOVE = 3
"""The human formats show a group of up to this many instances as its findings, each in full
(the Knight case reads as it always has); a larger group as its statement, its count, its
first and last occurrence and the first of its subjects."""


@dataclass(frozen=True, order=True)
class Occurrence:
    """A moment as the evidence gave it, ordered by the instant it names."""

    ns: int
    text: str


@dataclass(frozen=True)
class WaiverNote:
    """A waiver that waived findings in this run, as a report states it."""

    rule: str
    target: str
    """Its subject glob, or with ``cause``, its cause glob."""
    cause: bool
    reason: str
    approved_by: str
    expires: str
    purpose: str | None = None
    """A DEAD-002 waiver's: the purpose approved for the flag."""

    def describe(self) -> str:
        """One line: what it waives, why, by whom, until when."""
        kind = "cause" if self.cause else "subject"
        purpose = f' for "{self.purpose}"' if self.purpose is not None else ""
        return (
            f"{self.rule} {kind} {self.target}{purpose} waived: {self.reason} (approved by "
            f"{self.approved_by}, until {self.expires})"
        )

    def to_dict(self) -> dict[str, str]:
        """As a waived finding's ``waived_by`` lists it: the waiver's own fields."""
        purpose = {"purpose": self.purpose} if self.purpose is not None else {}
        return {
            "rule": self.rule,
            "cause" if self.cause else "subject": self.target,
            **purpose,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires,
        }


def covering(findings: Iterable[Finding]) -> list[str]:
    """Each waiver that covered one of ``findings``, described, each once, in order."""
    return list(dict.fromkeys(w.describe() for f in findings for w in f.waivers))


def waived_by(findings: Iterable[Finding]) -> str:
    """What waived ``findings``: each waiver that covered one of them (its subject or cause
    matched), with its reason, approver and expiry, each once, for the formats that show a
    waived finding as not failing. Not every waiver of their rule: the one for another
    deployment is not why this one does not fail."""
    named = covering(findings)
    if not named:
        return "waived (the waivers file is among the inputs)"
    return "waived: " + "; ".join(named)


@dataclass(frozen=True)
class Finding:
    """One rule failing for one subject."""

    rule: str
    severity: str
    subject: str
    message: str
    controls: tuple[str, ...]
    title: str
    waived: bool = False
    location: str | None = None
    """A file in the repository the finding points at, when it has one."""
    cause: str | None = None
    """Its cause within its rule (the rule's ``cause`` template filled in, e.g. the flag);
    None for a rule without one, whose every subject is its own cause."""
    statement: str = ""
    """The one-line statement of its cause, the same for every instance of a group."""
    when: Occurrence | None = None
    """When it happened: the start of the deployment it names, or the event's time."""
    parts: tuple[str, ...] | None = ()
    """The values its rule's subject template was filled with, in the template's order
    (``{deployment}:{host}``: the deployment, the host): what a waiver's glob is matched
    against, part by part. Empty where the template has one field or none (the glob is then
    matched against the subject); None where it has several but the rule gave its subject as
    one string, without them (only a waiver naming that subject exactly covers it). Not
    reported (the subject says the same)."""
    waivers: tuple[WaiverNote, ...] = ()
    """The waivers that covered it (a waived finding's), in the waivers file's order."""

    @property
    def group_key(self) -> str:
        """What it is grouped by within its rule: its cause, or else its subject."""
        return self.subject if self.cause is None else self.cause

    def to_dict(self) -> dict[str, Any]:
        """As it appears in the JSON report."""
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "controls": list(self.controls),
            "title": self.title,
            "waived": self.waived,
            "cause": self.group_key,
        }
        if self.location:
            out["location"] = self.location
        if self.waivers:
            out["waived_by"] = [w.to_dict() for w in self.waivers]
        return out


@dataclass(frozen=True)
class RuleStatus:
    """Whether a rule was judged, and if not, why not."""

    id: str
    title: str
    severity: str
    controls: tuple[str, ...]
    evaluated: bool
    reason: str | None = None
    not_asked: bool = False
    """Not judged by design (a gate's stage), rather than for want of evidence."""
    partial: bool = False
    """Evaluated, but on part of its evidence only; ``reason`` says what it lacked."""

    def summary(self, findings: int) -> dict[str, Any]:
        """As the report's summary lists it, with its count of unwaived findings."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "status": "evaluated" if self.evaluated else "not_evaluated",
            **({"partial": True} if self.partial else {}),
            **({"reason": self.reason} if self.reason else {}),
            "findings": findings,
        }


@dataclass(frozen=True)
class InputFile:
    """A file the verdict depends on."""

    role: str
    path: str
    sha256: str


@dataclass(frozen=True)
class Report:
    """Everything a check concluded; its renderers and exit code derive from it alone."""

    findings: tuple[Finding, ...]
    rules: tuple[RuleStatus, ...]
    fail_on: str
    as_of: str
    head: str
    files: tuple[InputFile, ...]
    tool_version: str
    engine: str
    parameters: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    period: str | None = None
    """``YYYY-MM`` for a monthly audit; ``None`` for a check of every deployment."""
    gate: dict[str, Any] | None = None
    """For ``check --candidate``: the candidate, its commit, service, environment and stage."""
    evidence_location: str | None = None
    """Where the deployment records are, relative to the repository, for findings that point
    at no file of their own (SARIF needs a location). Not in to_dict."""
    rule_docs: dict[str, str] = field(default_factory=dict)
    """Each rule's description, for formats that carry a rule catalog. Not in to_dict."""
    signature: dict[str, str] | None = None
    """For a signed audit's renderings: key id, payload digest, previous link. Not in to_dict,
    which is what gets signed."""
    require_all: bool = False
    """Rules not evaluated for want of evidence fail the verdict (``--require-all``)."""
    ignored: tuple[str, ...] = ()
    """Files of the evidence directory that ``evidence_ignore`` names: read by nobody."""
    examples: tuple[str, ...] = ()
    """Examples of the options file at the repository's root, where it has no knightwatch.yaml
    (``knightwatch.yaml.example``): not read, so the options are the defaults."""
    partial: bool = False
    """An audit of a month that had not ended (``audit --partial``)."""
    settings: tuple[SettingNote, ...] = ()
    """Judging settings that differ from their defaults, with their source, and those a
    repository's configuration set that an audit did not apply."""
    auditor_config: FileDigest | None = None
    """The ``--config`` file the settings came from, if any."""
    engine_url: str | None = None
    """Where the policies were evaluated, for a server engine."""
    population: tuple[Deployed, ...] = ()
    """Every deployment judged, with what it shipped: a signed audit lists them (its
    ``population``) so an auditor can sample from it. Not in to_dict."""
    branch: BranchTip | None = None
    """The protected branch REVIEW-003 was judged against: its name, the ref read (origin's
    branch, or the local one) and the commit it pointed to. A signed audit records it, so that
    ``verify`` shows it and a replay in the forge's clone checks its branch holds that
    commit."""
    earlier: tuple[int, str] | None = None
    """A month's audit: how many deployment records started before its month, and the digest
    of their ids, streams, commits and starts (``facts.collect.earlier_records``), so that the
    next month's audit finds a record added to, or changed in, an attested month. Not in
    to_dict."""

    @property
    def weakening(self) -> tuple[SettingNote, ...]:
        """Applied settings that weaken or change the rules."""
        return tuple(n for n in self.settings if n.applied and n.effect != "stricter")

    @property
    def settings_lines(self) -> list[str]:
        """What every format shows about the settings: weakenings, then what was not applied."""
        lines = []
        if self.weakening:
            lines.append("Settings that weaken or change the rules:")
            lines += [f"  {n.describe()}" for n in self.weakening]
        ignored = [n for n in self.settings if not n.applied]
        if ignored:
            lines.append("Not applied:")
            lines += [f"  {n.describe()}" for n in ignored]
        return lines

    @property
    def branch_lines(self) -> list[str]:
        """What every format says of the protected branch judged (``branch``): its name, the
        commit it pointed to and the ref read; and, where REVIEW-003 failed against a
        remote-tracking ref, that the ref is only as new as the clone's last fetch."""
        if self.branch is None:
            return []
        lines = [f"Protected branch: {self.branch.describe()}"]
        stale = self.stale_branch_note
        return [*lines, stale] if stale else lines

    @property
    def stale_branch_note(self) -> str | None:
        """Where REVIEW-003 has an unwaived finding and the branch was read from a
        remote-tracking ref (``refs/remotes/origin/main``): which ref was read, its tip, and
        that a fetch refreshes it. A clone fetched long ago judges a deployed commit merged
        since then as off the branch, and the finding alone does not say why."""
        branch = self.branch
        if branch is None or not branch.ref.startswith("refs/remotes/"):
            return None
        if not any(f.rule == BRANCH_RULE and not f.waived for f in self.findings):
            return None
        # The remote's own branch is the ref's rest, whatever name the setting gave it
        # (``origin/main`` and ``refs/remotes/origin/main`` are origin's ``main``).
        remote, on_remote = branch.ref.removeprefix("refs/remotes/").split("/", 1)
        return (
            f"{BRANCH_RULE} judged the deployed commits against {branch.ref} as this clone "
            f"last fetched it ({branch.commit[:12]}): a commit merged on {remote}'s "
            f"{on_remote} since then is not on it. If the clone was fetched long ago, "
            f"'git fetch {remote}' refreshes the ref; then run again."
        )

    @property
    def incomplete(self) -> tuple[RuleStatus, ...]:
        """Rules not evaluated because their evidence was absent (a rule a gate does not judge
        at its stage is not among them: it was not asked)."""
        return tuple(r for r in self.rules if not r.evaluated and not r.not_asked)

    @property
    def partial_rules(self) -> tuple[RuleStatus, ...]:
        """Rules evaluated on part of their evidence (observations after some deployments
        only, a registry at some deployed commits only, a first deployment with no range)."""
        return tuple(r for r in self.rules if r.evaluated and r.partial)

    @property
    def complete(self) -> bool:
        """Every rule asked was evaluated, each on all of its evidence."""
        return not self.incomplete and not self.partial_rules

    def fails_at(self, severity: str) -> bool:
        """Whether a finding of this severity fails the check (unless it is waived): it is at
        or above ``fail_on``. Every format decides with this, and so does the verdict."""
        return severity_rank(severity) >= severity_rank(self.fail_on)

    @cached_property
    def failing(self) -> tuple[Finding, ...]:
        """Unwaived findings at or above ``fail_on``."""
        return tuple(f for f in self.findings if not f.waived and self.fails_at(f.severity))

    @property
    def worst_first(self) -> tuple[Finding, ...]:
        """The findings as the human formats list them: by severity, worst first, then by
        rule and subject."""
        return tuple(
            sorted(self.findings, key=lambda f: (-severity_rank(f.severity), f.rule, f.subject))
        )

    @property
    def verdict(self) -> str:
        """``fail`` when anything is failing, or with ``require_all`` when a rule could not be
        evaluated; else ``pass``."""
        return "fail" if self.failing or (self.require_all and not self.complete) else "pass"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail."""
        return EXIT_FINDINGS if self.verdict == "fail" else EXIT_PASS

    @property
    def verdict_line(self) -> str:
        """The verdict as every format words it: ``PASS``, ``FAIL``, and what was not judged,
        e.g. ``PASS (incomplete: 6 rules not evaluated)``."""
        text = self.verdict.upper()
        parts = []
        if self.incomplete:
            count = len(self.incomplete)
            parts.append(f"{count} {'rule' if count == 1 else 'rules'} not evaluated")
        if self.partial_rules:
            count = len(self.partial_rules)
            parts.append(f"{count} judged on part of {'its' if count == 1 else 'their'} evidence")
        if parts:
            required = ", and --require-all is set" if self.require_all else ""
            text += f" (incomplete: {', '.join(parts)}{required})"
        return text

    @property
    def headline(self) -> str | None:
        """What a reader must know before the verdict: nothing was deployed in the period, or
        the period had not ended."""
        parts = []
        if self.counts.get("deployments") == 0:
            span = f" in {self.period}" if self.period else ""
            parts.append(f"No deployments{span}: no deployment was judged.")
        if self.partial and self.period:
            parts.append(
                f"Partial: {self.period} had not ended; this covers the deployments so far."
            )
        return " ".join(parts) or None

    @cached_property
    def groups(self) -> tuple[Group, ...]:
        """The findings grouped by cause, worst first (``groups.group_findings``)."""
        return group_findings(self.findings)

    def folded(self) -> list[Group | Finding]:
        """What the human formats list, worst first: each finding of a group of up to
        ``FOLD_ABOVE`` instances, and each larger group folded into one item."""
        shown: list[Group | Finding] = []
        for group in self.groups:
            if group.count > FOLD_ABOVE:
                shown.append(group)
            else:
                shown.extend(group.findings)
        return shown

    def by_control(self) -> list[tuple[str, list[Finding]]]:
        """Every control any rule evidences, with the findings against it (possibly none)."""
        controls: dict[str, list[Finding]] = {c: [] for r in self.rules for c in r.controls}
        for finding in self.findings:
            for control in finding.controls:
                controls.setdefault(control, []).append(finding)
        return sorted(controls.items())

    def summary(self) -> dict[str, Any]:
        """Totals by severity and rule, and which rules could not be judged."""
        by_severity = Counter(f.severity for f in self.findings if not f.waived)
        by_rule = Counter(f.rule for f in self.findings if not f.waived)
        return {
            "findings": len(self.findings),
            "groups": len(self.groups),
            "failing": len(self.failing),
            "waived": sum(1 for f in self.findings if f.waived),
            "by_severity": {s: by_severity.get(s, 0) for s in reversed(SEVERITIES)},
            **self.counts,
            "rules": [r.summary(by_rule.get(r.id, 0)) for r in self.rules],
            "not_evaluated": [r.id for r in self.rules if not r.evaluated],
            "complete": self.complete,
            "incomplete": [r.id for r in self.incomplete],
            "partial": [r.id for r in self.partial_rules],
            "require_all": self.require_all,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON report object (``knightwatch/report/v1``)."""
        return self._document(
            SCHEMA,
            # Every instance, however many: scripts select findings by their subject.
            findings=[f.to_dict() for f in self.findings],
            groups=[g.to_dict() for g in self.groups],
        )

    def to_compact_dict(self) -> dict[str, Any]:
        """The compact JSON report (``knightwatch/report-compact/v1``): the same object without
        ``findings``; each group states its rule's title, controls and statement once and lists
        every instance by subject, so a storm of one cause is its subjects, not 300,000
        messages."""
        return self._document(COMPACT_SCHEMA, groups=[g.to_compact_dict() for g in self.groups])

    def _document(self, schema: str, **findings: list[dict[str, Any]]) -> dict[str, Any]:
        """The report object around its findings (``findings`` and ``groups``, or the groups
        alone)."""
        return {
            "schema": schema,
            "tool": {
                "name": "knightwatch",
                "version": self.tool_version,
                "engine": self.engine,
                **({"engine_url": self.engine_url} if self.engine_url else {}),
            },
            "verdict": self.verdict,
            "fail_on": self.fail_on,
            "as_of": self.as_of,
            "period": self.period,
            **({"partial": True} if self.partial else {}),
            **({"gate": self.gate} if self.gate else {}),
            "parameters": self.parameters,
            **({"settings": [n.to_dict() for n in self.settings]} if self.settings else {}),
            **findings,
            "summary": self.summary(),
            "inputs": {
                "repository": {
                    "head": self.head,
                    **({"protected_branch": self.branch.to_dict()} if self.branch else {}),
                },
                "files": [{"role": f.role, "path": f.path, "sha256": f.sha256} for f in self.files],
                **({"ignored": list(self.ignored)} if self.ignored else {}),
                **({"examples": list(self.examples)} if self.examples else {}),
                **(
                    {
                        "auditor_config": {
                            "path": self.auditor_config.path,
                            "sha256": self.auditor_config.sha256,
                        }
                    }
                    if self.auditor_config
                    else {}
                ),
            },
        }
