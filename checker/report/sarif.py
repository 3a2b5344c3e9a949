"""SARIF 2.1.0, so that code scanning (GitHub and others) shows findings with the rule catalog."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from checker.report.escape import json_safe
from checker.report.model import Finding, Report, RuleStatus
from checker.vocabulary import severity_rank

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub ranks code-scanning alerts by this property: critical >= 9.0, high >= 7.0, ...
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
FALLBACK_LOCATION = "knightwatch.yaml"


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
        """One run, its rules from the policy metadata, one result per finding."""
        rules = sorted(report.rules, key=lambda r: r.id)
        index = {rule.id: position for position, rule in enumerate(rules)}
        driver_rules = [_rule(rule, report) for rule in rules]
        results = [self._result(f, report, index) for f in report.findings]
        log: dict[str, Any] = {
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "knightwatch",
                            "version": report.tool_version,
                            "semanticVersion": report.tool_version,
                            "rules": driver_rules,
                        }
                    },
                    "versionControlProvenance": [
                        {"repositoryUri": "file:.", "revisionId": report.head}
                    ],
                    "results": results,
                    "properties": {
                        "verdict": report.verdict,
                        "complete": report.complete,
                        "partial": [r.id for r in report.partial_rules],
                        "settings": [n.to_dict() for n in report.settings],
                        "not_evaluated": [r.id for r in report.incomplete],
                        "fail_on": report.fail_on,
                        "as_of": report.as_of,
                    },
                }
            ],
        }
        return json_safe(json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"

    def _result(self, finding: Finding, report: Report, index: dict[str, int]) -> dict[str, Any]:
        uri = finding.location or report.evidence_location or FALLBACK_LOCATION
        fingerprint = hashlib.sha256(f"{finding.rule}\0{finding.subject}".encode()).hexdigest()
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
            "partialFingerprints": {"knightwatchFinding/v1": fingerprint},
            "properties": {
                "subject": finding.subject,
                "severity": finding.severity,
                "controls": list(finding.controls),
            },
        }
        if finding.rule in index:
            result["ruleIndex"] = index[finding.rule]
        if finding.waived:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": "waived in waivers.yaml",
                }
            ]
        return result
