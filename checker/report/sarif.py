"""SARIF 2.1.0, so that code scanning (GitHub and others) shows findings with the rule catalog.

GitHub code scanning refuses a run of more than 25,000 results, a result of more than 1,000
locations and an upload of more than 10 MB gzipped (docs.github.com, "SARIF results exceed
limit" and "SARIF file is too large"). A report past the first of these is written one result
per group of findings (one cause), its instances in ``relatedLocations`` and properties, both
capped, and the run says so."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from checker.report.escape import json_safe
from checker.report.groups import Group
from checker.report.model import Finding, Report, RuleStatus
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


@dataclass(frozen=True)
class Caps:
    """How much of each group a grouped run lists."""

    related: int
    subjects: int

    def smaller(self) -> Caps:
        """Half of each, for a log still past the upload limit."""
        return Caps(self.related // 2, self.subjects // 2)


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

    def render(self, report: Report, *, color: bool = False) -> str:
        """One run, its rules from the policy metadata, one result per finding; or, past
        GitHub's limits, one result per group of findings, capped until the log fits."""
        if not self.grouped(report):
            return _dump(_log(report, [_result(f, report) for f in report.findings], None))
        caps = Caps(RELATED_SHOWN, SUBJECTS_LISTED)
        while True:
            text = _dump(_log(report, *_grouped(report, caps)))
            if caps.subjects == 0 or len(gzip.compress(text.encode(), 6, mtime=0)) <= MAX_GZIPPED:
                return text
            caps = caps.smaller()

    def grouped(self, report: Report) -> bool:
        """Whether the report is written one result per group: past GitHub's results per
        run, or with a single finding's result too large to upload."""
        return len(report.findings) > MAX_RESULTS

    def notice(self, report: Report) -> str | None:
        """What the CLI says on stderr when the log is grouped."""
        if not self.grouped(report):
            return None
        return (
            f"SARIF: {len(report.findings):,} findings are past code scanning's "
            f"{MAX_RESULTS:,} results per run: written as {_kept(report):,} results, one per "
            "cause, each with its instances in relatedLocations and properties"
        )


def _fingerprint(rule: str, key: str) -> str:
    return hashlib.sha256(f"{rule}\0{key}".encode()).hexdigest()


def _suppressed() -> list[dict[str, str]]:
    return [{"kind": "external", "status": "accepted", "justification": "waived in waivers.yaml"}]


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
        "partialFingerprints": {
            "knightwatchFinding/v1": _fingerprint(finding.rule, finding.subject)
        },
        "properties": {
            "subject": finding.subject,
            "severity": finding.severity,
            "controls": list(finding.controls),
        },
    }
    if finding.waived:
        result["suppressions"] = _suppressed()
    return result


def _group_result(group: Group, report: Report, caps: Caps) -> dict[str, Any]:
    """One cause's result: its statement, its first instance's location, and its instances,
    capped, in relatedLocations and properties. Its fingerprint is the rule and the cause
    alone (no date, no count), so code scanning tracks one alert per cause month after month;
    a group without a cause keeps its one finding's fingerprint."""
    first, last = group.span
    span = f", {first.text} to {last.text}" if first and last else ""
    instances = group.findings
    fingerprint = (
        {"knightwatchCause/v1": _fingerprint(group.rule, group.key)}
        if group.caused
        else {"knightwatchFinding/v1": _fingerprint(group.rule, group.key)}
    )
    result: dict[str, Any] = {
        "ruleId": group.rule,
        "level": _level(group.first_finding, report),
        "message": {"text": f"{group.statement} ({group.count:,} instances{span})."},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(group.first_finding, report)}
                },
                "logicalLocations": [{"name": group.key, "kind": "object"}],
            }
        ],
        "relatedLocations": [
            {
                "id": number,
                "physicalLocation": {"artifactLocation": {"uri": _uri(finding, report)}},
                "message": {"text": finding.subject},
            }
            for number, finding in enumerate(instances[: caps.related])
        ],
        "partialFingerprints": fingerprint,
        "properties": {
            "cause": group.key,
            "severity": group.severity,
            "controls": list(group.first_finding.controls),
            "instances": group.count,
            "waived": group.waived,
            "first": first.text if first else None,
            "last": last.text if last else None,
            "subjects": [f.subject for f in instances[: caps.subjects]],
            "subjects_not_listed": max(0, group.count - caps.subjects),
        },
    }
    if group.waived == group.count:
        result["suppressions"] = _suppressed()
    return result


def _uri(finding: Finding, report: Report) -> str:
    return finding.location or report.evidence_location or FALLBACK_LOCATION


def _kept(report: Report) -> int:
    """How many groups a grouped run writes: the worst first, up to the results per run."""
    return min(len(report.groups), MAX_RESULTS)


def _grouped(report: Report, caps: Caps) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The grouped results, and the run's account of what grouping did."""
    kept = _kept(report)
    results = [_group_result(g, report, caps) for g in report.groups[:kept]]
    omitted = report.groups[kept:]
    account = {
        "findings": len(report.findings),
        "groups": len(report.groups),
        "results": kept,
        "groups_not_written": len(omitted),
        "findings_not_written": sum(g.count for g in omitted),
        "related_locations_per_result": caps.related,
        "subjects_per_result": caps.subjects,
    }
    return results, account


def _notification(account: dict[str, Any]) -> dict[str, Any]:
    text = (
        f"{account['findings']:,} findings exceed code scanning's {MAX_RESULTS:,} results per "
        f"run: written as {account['results']:,} results, one per cause, each listing up to "
        f"{account['related_locations_per_result']:,} instances in relatedLocations and "
        f"{account['subjects_per_result']:,} subjects in its properties; the JSON report "
        "keeps every instance"
    )
    if account["groups_not_written"]:
        text += (
            f"; the {account['groups_not_written']:,} least severe causes "
            f"({account['findings_not_written']:,} findings) are not written here"
        )
    return {
        "level": "warning",
        "message": {"text": text + "."},
        "descriptor": {"id": "knightwatch/grouped"},
    }


def _log(
    report: Report, results: list[dict[str, Any]], account: dict[str, Any] | None
) -> dict[str, Any]:
    """The SARIF log: one run, its rules from the policy metadata, the results given."""
    rules = sorted(report.rules, key=lambda r: r.id)
    index = {rule.id: position for position, rule in enumerate(rules)}
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
        "versionControlProvenance": [{"repositoryUri": "file:.", "revisionId": report.head}],
        "results": results,
        "properties": {
            "verdict": report.verdict,
            "complete": report.complete,
            "partial": [r.id for r in report.partial_rules],
            "settings": [n.to_dict() for n in report.settings],
            "not_evaluated": [r.id for r in report.incomplete],
            "fail_on": report.fail_on,
            "as_of": report.as_of,
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
