"""JUnit XML: one test case per rule and subject, so CI test views list what failed; past
``GROUP_ABOVE`` findings, one test case per rule and cause (a group of findings).

XML 1.0 cannot hold most control characters at all: every value from evidence or policies
is passed through ``escape.visible`` first, so the document stays well-formed."""

from __future__ import annotations

from collections import Counter
from xml.etree import ElementTree as ET

from checker.report.escape import markup_safe, visible
from checker.report.groups import Group
from checker.report.model import Finding, Report, RuleStatus, waived_by

GROUP_ABOVE = 5_000
"""Past this many findings, a test case stands for a cause, not an instance: CI test views
list a few thousand cases usefully, not hundreds of thousands."""
SUBJECTS_LISTED = 100
"""Instances a grouped case's text names."""


class JunitRenderer:
    """``--format junit``."""

    name = "junit"
    media_type = "application/xml"

    def notice(self, report: Report) -> str | None:
        """What the CLI says on stderr when the cases are grouped."""
        return _notice(report)

    def render(self, report: Report, *, color: bool = False) -> str:
        """A <testsuites> with one <testsuite> per rule.

        A finding at or above fail-on is a failure; a waived one, or one below fail-on, is
        skipped with the reason; a rule with no finding is one passing case; a rule not
        evaluated is one skipped case saying why.
        """
        suites = ET.Element("testsuites", name="knightwatch")
        totals = Counter({"tests": 0, "failures": 0, "skipped": 0})
        for rule in sorted(report.rules, key=lambda r: r.id):
            totals.update(_suite(suites, rule, report))
        for key, value in totals.items():
            suites.set(key, str(value))
        suites.set("errors", "0")
        ET.indent(suites)
        # Printed to a CI log, no line of it may read as a command there (``markup_safe``).
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + markup_safe(ET.tostring(suites, encoding="unicode"))
            + "\n"
        )


def _notice(report: Report) -> str | None:
    if len(report.findings) <= GROUP_ABOVE:
        return None
    return (
        f"JUnit: {len(report.findings):,} findings are more than {GROUP_ABOVE:,}: written as "
        f"{len(report.groups):,} test cases, one per cause"
    )


def _suite(suites: ET.Element, rule: RuleStatus, report: Report) -> Counter[str]:
    """One rule's <testsuite>; returns its counts."""
    suite = ET.SubElement(suites, "testsuite", name=visible(rule.id))
    _settings(suite, report)
    counts: Counter[str] = Counter({"tests": 0, "failures": 0, "skipped": 0})
    findings = sorted((f for f in report.findings if f.rule == rule.id), key=lambda f: f.subject)
    if not rule.evaluated:
        counts.update(_not_evaluated(suite, rule, report))
    elif not findings:
        ET.SubElement(suite, "testcase", classname=visible(rule.id), name="no findings")
        counts["tests"] += 1
    if rule.partial:
        counts.update(_partial(suite, rule, report))
    if len(report.findings) > GROUP_ABOVE:
        for group in (g for g in report.groups if g.rule == rule.id):
            counts.update(_group(suite, group, report))
    else:
        for finding in findings:
            counts.update(_finding(suite, rule, finding, report))
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")
    return counts


def _settings(suite: ET.Element, report: Report) -> None:
    """The judging settings that weaken or change the rules, and those an audit did not
    apply, as the suite's properties: a CI test view shows them beside any rule's cases."""
    notes = [("weakening setting", n) for n in report.weakening]
    notes += [("setting not applied", n) for n in report.settings if not n.applied]
    if not notes:
        return
    properties = ET.SubElement(suite, "properties")
    for name, note in notes:
        ET.SubElement(properties, "property", name=name, value=visible(note.describe()))


def _partial(suite: ET.Element, rule: RuleStatus, report: Report) -> Counter[str]:
    """One case for a rule judged on part of its evidence: a failure under --require-all,
    else skipped saying what was not judged (beside a passing "no findings", it would read
    as a rule judged whole and passed)."""
    case = ET.SubElement(
        suite, "testcase", classname=visible(rule.id), name="judged on part of its evidence"
    )
    if report.require_all:
        message = f"judged on part of its evidence, and --require-all is set: {rule.reason}"
        ET.SubElement(case, "failure", message=visible(message), type="incomplete")
        return Counter(tests=1, failures=1)
    message = f"judged on part of its evidence, so not passed whole: {rule.reason}"
    ET.SubElement(case, "skipped", message=visible(message))
    return Counter(tests=1, skipped=1)


def _not_evaluated(suite: ET.Element, rule: RuleStatus, report: Report) -> Counter[str]:
    """One case: a failure under --require-all (unless the gate did not ask), else skipped."""
    case = ET.SubElement(suite, "testcase", classname=visible(rule.id), name="not evaluated")
    if report.require_all and not rule.not_asked:
        ET.SubElement(
            case,
            "failure",
            message=visible(f"not evaluated, and --require-all is set: {rule.reason}"),
            type="incomplete",
        )
        return Counter(tests=1, failures=1)
    ET.SubElement(case, "skipped", message=visible(f"not evaluated: {rule.reason}"))
    return Counter(tests=1, skipped=1)


def _finding(suite: ET.Element, rule: RuleStatus, finding: Finding, report: Report) -> Counter[str]:
    """One case: skipped when waived or below fail-on, else a failure."""
    case = ET.SubElement(
        suite, "testcase", classname=visible(rule.id), name=visible(finding.subject)
    )
    if finding.waived:
        ET.SubElement(case, "skipped", message=visible(waived_by([finding])))
        return Counter(tests=1, skipped=1)
    if not report.fails_at(finding.severity):
        ET.SubElement(
            case, "skipped", message=f"{finding.severity}, below fail-on {report.fail_on}"
        ).text = visible(finding.message)
        return Counter(tests=1, skipped=1)
    failure = ET.SubElement(
        case, "failure", message=visible(finding.message), type=finding.severity
    )
    failure.text = f"{visible(rule.title)}\ncontrols: {visible('; '.join(finding.controls))}"
    return Counter(tests=1, failures=1)


def _group(suite: ET.Element, group: Group, report: Report) -> Counter[str]:
    """One case for a cause: skipped when every instance is waived or it is below fail-on,
    else a failure stating the cause, its count and its first failing instances, the waived
    ones listed apart."""
    count, _ = group.fold(0)
    case = ET.SubElement(suite, "testcase", classname=visible(group.rule), name=visible(group.key))
    if group.waived == group.count:
        said = waived_by(group.findings)
        ET.SubElement(case, "skipped", message=visible(f"{count}; {said}"))
        return Counter(tests=1, skipped=1)
    statement = visible(f"{group.statement} ({count})")
    if not report.fails_at(group.severity):
        ET.SubElement(
            case, "skipped", message=f"{group.severity}, below fail-on {report.fail_on}"
        ).text = statement
        return Counter(tests=1, skipped=1)
    failure = ET.SubElement(case, "failure", message=statement, type=group.severity)
    failing = group.named(waived=False, shown=SUBJECTS_LISTED)
    failure.text = (
        f"{visible(group.first_finding.title)}\ncontrols: "
        f"{visible('; '.join(group.first_finding.controls))}\n"
        f"failing instances ({group.live:,}): {visible(failing)}"
    )
    if group.waived:
        waived = group.named(waived=True, shown=SUBJECTS_LISTED)
        failure.text += f"\nwaived instances, not failing ({group.waived:,}): {visible(waived)}"
    return Counter(tests=1, failures=1)
