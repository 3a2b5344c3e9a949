"""SARIF 2.1.0, so that code scanning (GitHub and others) shows findings with the rule catalog.

GitHub code scanning refuses a run of more than 25,000 results, a result of more than 1,000
locations and an upload of more than 10 MB gzipped (docs.github.com, "SARIF results exceed
limit" and "SARIF file is too large"). A report past the first or the last of these is written
one result per group of findings (one cause), its instances in ``relatedLocations`` and
properties, both capped, the failing causes kept first; a log still too large has its texts
cut. The run says so, and so does stderr. Every result carries its cause's fingerprint, grouped
or not, so that crossing a limit neither closes nor reopens an alert."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checker.report.escape import json_safe
from checker.report.groups import Group
from checker.report.model import Finding, Report, RuleStatus, waived_by
from checker.vocabulary import severity_rank

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub ranks code-scanning alerts by this property: critical >= 9.0, high >= 7.0, ...
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
FALLBACK_LOCATION = "knightwatch.yaml"
MAX_RESULTS = 25_000
"""GitHub's results per run: past it, a run is rejected."""
MAX_GZIPPED = 10_000_000
"""GitHub's upload limit, 10 MB gzipped (taken as 10^7 bytes, the smaller reading)."""
RELATED_SHOWN = 100
"""Instances of a grouped result given as relatedLocations (GitHub shows 100 locations of a
result and rejects more than 1,000)."""
SUBJECTS_LISTED = 1_000
"""Instances of a grouped result whose subjects its properties list."""
TEXT_SHOWN = 1_000
"""Characters kept of each text (a message, a subject) of a log still past the upload limit
when no instance is listed any more."""


@dataclass(frozen=True)
class Caps:
    """How much of each group a grouped run lists, and how long a text may be (None: whole)."""

    related: int
    subjects: int
    text: int | None = None

    def smaller(self, long_texts: bool) -> Caps | None:
        """For a log still past the upload limit: its long texts cut first (when it has
        any), then each instance list halved; None when nothing is left to cut."""
        if self.text is None and long_texts:
            return Caps(self.related, self.subjects, TEXT_SHOWN)
        if self.subjects > 0:
            return Caps(self.related // 2, self.subjects // 2, self.text)
        return None


@dataclass(frozen=True)
class Written:
    """A log as written, and what stderr says about how (None when one result per finding)."""

    text: str
    notice: str | None


def _fits(text: str) -> bool:
    """Whether the log is within the upload limit, gzipped."""
    raw = text.encode()
    if len(raw) + len(raw) // 1_000 + 64 <= MAX_GZIPPED:  # gzip adds at most this
        return True
    return len(gzip.compress(raw, 6, mtime=0)) <= MAX_GZIPPED


def _cut(text: str, caps: Caps) -> str:
    """The text, or, when texts are cut, its first characters and how many were cut."""
    if caps.text is None or len(text) <= caps.text:
        return text
    return f"{text[: caps.text]}... ({len(text) - caps.text:,} characters cut)"


def _level(finding: Finding, report: Report) -> str:
    if report.fails_at(finding.severity):
        return "error"
    return "warning" if severity_rank(finding.severity) >= severity_rank("medium") else "note"


def _rule(rule: RuleStatus, report: Report) -> dict[str, Any]:
    """A rule of the driver's catalog."""
    return {
        "id": rule.id,
        "name": rule.id.replace("-", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": report.rule_docs.get(rule.id, rule.title)},
        "defaultConfiguration": {"level": "error" if report.fails_at(rule.severity) else "warning"},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "severity": rule.severity,
            "tags": ["compliance", *rule.controls],
        },
    }


class SarifRenderer:
    """``--format sarif``."""

    name = "sarif"
    media_type = "application/sarif+json"

    def __init__(self) -> None:
        self._last: tuple[Report, Written] | None = None

    def render(self, report: Report, *, color: bool = False) -> str:
        """One run, its rules from the policy metadata, one result per finding; or, past
        GitHub's limits, one result per group of findings, capped until the log fits."""
        written = _write(report)
        self._last = (report, written)
        return written.text

    def grouped(self, report: Report) -> bool:
        """Whether the report is written one result per group: past GitHub's results per
        run, or with one result per finding past its upload limit."""
        return self.notice(report) is not None

    def notice(self, report: Report) -> str | None:
        """What the CLI says on stderr when the log is grouped, what it leaves out, and
        whether it is still past the upload limit."""
        if self._last is not None and self._last[0] is report:
            return self._last[1].notice
        return _write(report).notice


def _write(report: Report) -> Written:
    """The log one result per finding when it is within both limits, else grouped."""
    if len(report.findings) + len(_unjudged(report)) <= MAX_RESULTS:
        text = _dump(_log(report, [_result(f, report) for f in report.findings], None))
        if _fits(text):
            return Written(text, None)
    caps, long_texts = Caps(RELATED_SHOWN, SUBJECTS_LISTED), _long_texts(report)
    while True:
        results, account = _grouped(report, caps)
        text = _dump(_log(report, results, account))
        fits = _fits(text)
        smaller = caps.smaller(long_texts)
        if fits or smaller is None:
            return Written(text, _said(account, fits))
        caps = smaller


def _long_texts(report: Report) -> bool:
    """Whether any text a grouped result holds (a statement, a cause, a subject) is longer
    than ``TEXT_SHOWN``."""
    return any(
        len(g.statement) > TEXT_SHOWN
        or len(g.key) > TEXT_SHOWN
        or any(len(f.subject) > TEXT_SHOWN for f in g.findings)
        for g in report.groups
    )


def _said(account: dict[str, Any], fits: bool) -> str:
    """The stderr notice of a grouped log."""
    said = f"SARIF: {_why(account)}: written as {account['results']:,} results, one per cause"
    if account["groups_not_written"]:
        said += (
            f"; {account['groups_not_written']:,} causes ({account['findings_not_written']:,} "
            f"findings, {account['failing_not_written']:,} of them failing) are not written"
        )
    if account["text_cut_to"] is not None:
        said += f"; texts cut to {account['text_cut_to']:,} characters"
    if not fits:
        said += (
            f"; the log is still past code scanning's {MAX_GZIPPED:,} bytes gzipped and "
            "will be refused: upload the JSON report instead"
        )
    return said


def _why(account: dict[str, Any]) -> str:
    """Why the log is grouped: its results one per finding, with one for each rule not
    judged whole, past the results per run (the rules' results counted: 24,996 findings
    and 9 rules are 25,005 results); else the log past the upload limit."""
    rules = account.get("rule_results", 0)
    if account["findings"] + rules > MAX_RESULTS:
        said = f"{account['findings']:,} findings"
        if rules:
            said += (
                f" and {rules:,} results for rules not judged on all their evidence "
                f"({account['findings'] + rules:,} results)"
            )
        return f"{said} are past code scanning's {MAX_RESULTS:,} results per run"
    return (
        f"{account['findings']:,} findings, one result each, are past code scanning's "
        f"{MAX_GZIPPED:,} bytes gzipped"
    )


def _fingerprint(rule: str, key: str) -> str:
    return hashlib.sha256(f"{rule}\0{key}".encode()).hexdigest()


def _fingerprints(rule: str, cause: str, subject: str | None) -> dict[str, str]:
    """The cause's fingerprint (rule and cause, or the subject for a rule without a cause),
    the same grouped or not; and the instance's, where the result is one instance."""
    out = {"knightwatchCause/v1": _fingerprint(rule, cause)}
    if subject is not None:
        out["knightwatchFinding/v1"] = _fingerprint(rule, subject)
    return out


def _suppressed(findings: Iterable[Finding]) -> list[dict[str, str]]:
    """A waived result's suppression, its justification the waivers that covered its
    findings (reason, approver, expiry): code scanning shows it beside the closed alert."""
    return [{"kind": "external", "status": "accepted", "justification": waived_by(findings)}]


def _result(finding: Finding, report: Report) -> dict[str, Any]:
    """One finding's result."""
    uri = finding.location or report.evidence_location or FALLBACK_LOCATION
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": _level(finding, report),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": uri}},
                "logicalLocations": [{"name": finding.subject, "kind": "object"}],
            }
        ],
        "partialFingerprints": _fingerprints(finding.rule, finding.group_key, finding.subject),
        "properties": {
            "subject": finding.subject,
            "severity": finding.severity,
            "controls": list(finding.controls),
        },
    }
    if finding.waived:
        result["suppressions"] = _suppressed([finding])
    return result


def _group_result(group: Group, report: Report, caps: Caps) -> dict[str, Any]:
    """One cause's result: its statement, its first instance's location, and its instances,
    the unwaived first, capped, in relatedLocations (a waived one marked) and properties.
    Its fingerprint is the rule and the cause alone (no date, no count), so code scanning
    tracks one alert per cause month after month, grouped or not."""
    first, last = group.span
    instances = group.unwaived_first
    count, _ = group.fold(0)
    result: dict[str, Any] = {
        "ruleId": group.rule,
        "level": _level(group.first_finding, report),
        "message": {"text": _cut(f"{group.statement} ({count}).", caps)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(group.first_finding, report)}
                },
                "logicalLocations": [{"name": _cut(group.key, caps), "kind": "object"}],
            }
        ],
        "relatedLocations": _related(instances[: caps.related], report, caps),
        "partialFingerprints": _fingerprints(
            group.rule, group.key, None if group.caused else group.key
        ),
        "properties": {
            "cause": _cut(group.key, caps),
            "severity": group.severity,
            "controls": list(group.first_finding.controls),
            "instances": group.count,
            "waived": group.waived,
            "first": first.text if first else None,
            "last": last.text if last else None,
            "subjects": [_cut(f.subject, caps) for f in instances[: caps.subjects]],
            "waived_subjects": [
                _cut(f.subject, caps) for f in instances[: caps.subjects] if f.waived
            ],
            "subjects_not_listed": max(0, group.count - caps.subjects),
        },
    }
    if group.waived == group.count:
        result["suppressions"] = _suppressed(group.findings)
    return result


def _related(instances: tuple[Finding, ...], report: Report, caps: Caps) -> list[dict[str, Any]]:
    """Instances as relatedLocations, each named by its subject, a waived one marked."""
    return [
        {
            "id": number,
            "physicalLocation": {"artifactLocation": {"uri": _uri(finding, report)}},
            "message": {
                "text": _cut(finding.subject, caps) + (" (waived)" if finding.waived else "")
            },
        }
        for number, finding in enumerate(instances)
    ]


def _uri(finding: Finding, report: Report) -> str:
    return finding.location or report.evidence_location or FALLBACK_LOCATION


def _unjudged(report: Report) -> tuple[RuleStatus, ...]:
    """The rules not evaluated for want of evidence, and those judged on part of it."""
    return (*report.incomplete, *report.partial_rules)


def _unjudged_result(rule: RuleStatus, report: Report) -> dict[str, Any]:
    """A rule not evaluated, or judged on part of its evidence, as a result of its own: an
    error under --require-all, where it fails the verdict, else a warning. Code scanning
    reads results, not the run's properties: without it, a verdict failed by --require-all
    showed no alert at all (or only suppressed ones)."""
    what = "judged on part of its evidence" if rule.evaluated else "not evaluated"
    required = ", and --require-all is set" if report.require_all else ""
    return {
        "ruleId": rule.id,
        "level": "error" if report.require_all else "warning",
        "message": {
            "text": f"{rule.id} {what}{required}: {rule.reason or 'its evidence is absent'}"
        },
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": report.evidence_location or FALLBACK_LOCATION}
                },
                "logicalLocations": [{"name": rule.id, "kind": "object"}],
            }
        ],
        "partialFingerprints": {"knightwatchUnjudged/v1": _fingerprint(rule.id, what)},
        "properties": {
            "status": "partial" if rule.evaluated else "not_evaluated",
            "severity": rule.severity,
            "controls": list(rule.controls),
        },
    }


def _ranked(report: Report) -> list[Group]:
    """The groups in the order a grouped run keeps them: failing causes first, then the
    unwaived below fail-on, then the waived; each by severity, then the most instances."""

    def rank(group: Group) -> tuple[int, int, int, str, str]:
        standing = 0 if group.failing(report.fails_at) else 1 if group.live else 2
        return (standing, -severity_rank(group.severity), -group.count, group.rule, group.key)

    return sorted(report.groups, key=rank)


def _grouped(report: Report, caps: Caps) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The grouped results, and the run's account of what grouping did."""
    ranked = _ranked(report)
    room = max(0, MAX_RESULTS - len(_unjudged(report)))
    chosen = {(g.rule, g.key) for g in ranked[:room]}
    kept = [g for g in report.groups if (g.rule, g.key) in chosen]  # in the report's order
    omitted = ranked[room:]
    results = [_group_result(g, report, caps) for g in kept]
    account = {
        "findings": len(report.findings),
        "rule_results": len(_unjudged(report)),
        "groups": len(report.groups),
        "results": len(kept),
        "groups_not_written": len(omitted),
        "findings_not_written": sum(g.count for g in omitted),
        "failing_not_written": sum(g.live for g in omitted if g.failing(report.fails_at)),
        "related_locations_per_result": caps.related,
        "subjects_per_result": caps.subjects,
        "text_cut_to": caps.text,
    }
    return results, account


def _notification(account: dict[str, Any]) -> dict[str, Any]:
    text = (
        f"{_why(account)}: written as {account['results']:,} results, one per cause, each "
        f"listing up to {account['related_locations_per_result']:,} instances in "
        f"relatedLocations and {account['subjects_per_result']:,} subjects in its properties, "
        "the unwaived first; the JSON report keeps every instance"
    )
    if account["groups_not_written"]:
        text += (
            f"; {account['groups_not_written']:,} causes ({account['findings_not_written']:,} "
            f"findings, {account['failing_not_written']:,} of them failing) are not written "
            "here: those ranked last, failing causes ranked before the rest, then by "
            "severity, then by instances"
        )
    if account["text_cut_to"] is not None:
        text += f"; each text is cut to {account['text_cut_to']:,} characters"
    return {
        "level": "warning",
        "message": {"text": text + "."},
        "descriptor": {"id": "knightwatch/grouped"},
    }


def _provenance(report: Report) -> list[dict[str, Any]]:
    """The repository at HEAD, and at the protected branch's tip REVIEW-003 was judged
    against (``versionControlDetails``: the branch by name, the tip as ``revisionId``, the
    ref it was read from among its properties)."""
    head: list[dict[str, Any]] = [{"repositoryUri": "file:.", "revisionId": report.head}]
    if report.branch is None:
        return head
    branch = {
        "repositoryUri": "file:.",
        "revisionId": report.branch.commit,
        "branch": report.branch.name,
        "properties": {"role": "protected_branch", "ref": report.branch.ref},
    }
    return [*head, branch]


def _log(
    report: Report, results: list[dict[str, Any]], account: dict[str, Any] | None
) -> dict[str, Any]:
    """The SARIF log: one run, its rules from the policy metadata, the results given."""
    rules = sorted(report.rules, key=lambda r: r.id)
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = [_unjudged_result(rule, report) for rule in _unjudged(report)] + results
    for result in results:
        if result["ruleId"] in index:
            result["ruleIndex"] = index[result["ruleId"]]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "knightwatch",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "rules": [_rule(rule, report) for rule in rules],
            }
        },
        "versionControlProvenance": _provenance(report),
        "results": results,
        "properties": {
            "verdict": report.verdict,
            "complete": report.complete,
            "partial": [r.id for r in report.partial_rules],
            "settings": [n.to_dict() for n in report.settings],
            "not_evaluated": [r.id for r in report.incomplete],
            "fail_on": report.fail_on,
            "as_of": report.as_of,
            **({"protected_branch": report.branch.to_dict()} if report.branch else {}),
            **({"notes": [report.stale_branch_note]} if report.stale_branch_note else {}),
            **({"grouped": account} if account is not None else {}),
        },
    }
    if account is not None:
        run["invocations"] = [
            {"executionSuccessful": True, "toolExecutionNotifications": [_notification(account)]}
        ]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _dump(log: dict[str, Any]) -> str:
    return json_safe(json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
