"""JUnit XML: one test case per rule and subject, so CI test views list what failed.

XML 1.0 cannot hold most control characters at all: every value from evidence or policies
is passed through ``escape.visible`` first, so the document stays well-formed."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from checker.report.escape import visible
from checker.report.model import Report
from checker.vocabulary import severity_rank


class JunitRenderer:
    """``--format junit``."""

    name = "junit"
    media_type = "application/xml"

    def render(self, report: Report, *, color: bool = False) -> str:
        """A <testsuites> with one <testsuite> per rule.

        A finding at or above fail-on is a failure; a waived one, or one below fail-on, is
        skipped with the reason; a rule with no finding is one passing case; a rule not
        evaluated is one skipped case saying why.
        """
        suites = ET.Element("testsuites", name="knightwatch")
        totals = {"tests": 0, "failures": 0, "skipped": 0}
        floor = severity_rank(report.fail_on)
        for rule in sorted(report.rules, key=lambda r: r.id):
            suite = ET.SubElement(suites, "testsuite", name=visible(rule.id))
            counts = {"tests": 0, "failures": 0, "skipped": 0}
            findings = sorted(
                (f for f in report.findings if f.rule == rule.id), key=lambda f: f.subject
            )
            if not rule.evaluated:
                case = ET.SubElement(
                    suite, "testcase", classname=visible(rule.id), name="not evaluated"
                )
                counts["tests"] += 1
                if report.require_all and not rule.not_asked:
                    ET.SubElement(
                        case,
                        "failure",
                        message=visible(f"not evaluated, and --require-all is set: {rule.reason}"),
                        type="incomplete",
                    )
                    counts["failures"] += 1
                else:
                    ET.SubElement(case, "skipped", message=visible(f"not evaluated: {rule.reason}"))
                    counts["skipped"] += 1
            elif not findings:
                ET.SubElement(suite, "testcase", classname=visible(rule.id), name="no findings")
                counts["tests"] += 1
            if rule.partial and report.require_all:
                case = ET.SubElement(
                    suite, "testcase", classname=rule.id, name="judged on part of its evidence"
                )
                ET.SubElement(
                    case,
                    "failure",
                    message=visible(
                        f"judged on part of its evidence, and --require-all is set: {rule.reason}"
                    ),
                    type="incomplete",
                )
                counts["tests"] += 1
                counts["failures"] += 1
            for finding in findings:
                case = ET.SubElement(
                    suite, "testcase", classname=visible(rule.id), name=visible(finding.subject)
                )
                counts["tests"] += 1
                if finding.waived:
                    ET.SubElement(case, "skipped", message="waived")
                    counts["skipped"] += 1
                elif severity_rank(finding.severity) < floor:
                    ET.SubElement(
                        case,
                        "skipped",
                        message=f"{finding.severity}, below fail-on {report.fail_on}",
                    ).text = visible(finding.message)
                    counts["skipped"] += 1
                else:
                    failure = ET.SubElement(
                        case, "failure", message=visible(finding.message), type=finding.severity
                    )
                    failure.text = (
                        f"{visible(rule.title)}\ncontrols: {visible('; '.join(finding.controls))}"
                    )
                    counts["failures"] += 1
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
            suite.set("errors", "0")
        for key, value in totals.items():
            suites.set(key, str(value))
        suites.set("errors", "0")
        ET.indent(suites)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(suites, encoding="unicode")
            + "\n"
        )
