"""A signed audit's verdict, read back: the one its own findings give.

The report inside a signed audit states its findings, the severity that fails (``fail_on``),
its summary and its verdict. Whoever holds the key signs what they like: a statement whose
report lists an unwaived finding at or above ``fail_on`` and says ``pass`` verified, and
``verify`` printed ``verdict pass`` (exit 0). The verdict is a function of what the report
states beside it (``Report.verdict``), so ``verify`` and ``sample`` work it out again and
fail one that is not it, as they do a population that does not add up."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from checker.errors import VerificationError
from checker.evidence.identities import normalise
from checker.vocabulary import SEVERITIES, severity_rank

DEFAULT_FAIL_ON = "high"
DEFAULT_BRANCH = "main"
"""``protected_branch`` as an audit applies it unless a setting changes it."""


def _fail(source: str, message: str) -> VerificationError:
    return VerificationError("verdict", f"{source}: {message}")


def _findings(report: dict[str, Any], source: str) -> list[tuple[str, bool]]:
    """Each finding's severity and whether it is waived; a malformed one fails."""
    findings = report.get("findings")
    if not isinstance(findings, list):
        raise _fail(source, "its report lists no findings")
    out = []
    for index, finding in enumerate(findings):
        if (
            not isinstance(finding, dict)
            or finding.get("severity") not in SEVERITIES
            or not isinstance(finding.get("waived"), bool)
        ):
            raise _fail(source, f"finding #{index + 1} has no severity or waived flag")
        out.append((str(finding["severity"]), bool(finding["waived"])))
    return out


def _rules(summary: object, source: str) -> dict[str, dict[str, Any]] | None:
    """The summary's rules by id; None where the summary lists none (an earlier version's)."""
    rules = summary.get("rules") if isinstance(summary, dict) else None
    if rules is None:
        return None
    if not isinstance(rules, list) or not all(
        isinstance(r, dict) and isinstance(r.get("id"), str) for r in rules
    ):
        raise _fail(source, "its report's summary.rules is not a list of rules")
    return {r["id"]: r for r in rules}


def _check_statuses(summary: Any, rules: list[dict[str, Any]], source: str) -> None:
    """The summary's lists of rules not evaluated (``not_evaluated``, and ``incomplete``,
    which ``verify`` prints: an audit asks every rule) and judged on part of their evidence
    (``partial``) are those its rules' statuses give. A rule set to not evaluated, its
    findings dropped, beside lists left as they were, verified as judged."""
    lists = {
        "not_evaluated": [r["id"] for r in rules if r.get("status") != "evaluated"],
        "incomplete": [r["id"] for r in rules if r.get("status") != "evaluated"],
        "partial": [r["id"] for r in rules if r.get("partial") is True],
    }
    for name, ids in lists.items():
        if name in summary and summary[name] != ids:
            raise _fail(
                source,
                f"its summary's {name} is {summary[name]}, and its rules' statuses give {ids}",
            )


def _check_rules(report: dict[str, Any], findings: list[Any], source: str) -> None:
    """Each finding is of a rule the summary lists, at that rule's severity (a
    finding has its rule's, ``runner``), and each rule's and each severity's count of unwaived
    findings is the findings'. A finding's severity lowered to ``low``, its rule renamed to
    one no policy has, or findings dropped beside a rule still counting them, verified."""
    summary = report.get("summary")
    rules = _rules(summary, source)
    if rules is None:
        return
    by_rule: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    for index, finding in enumerate(findings):
        rule = rules.get(str(finding.get("rule")))
        if rule is None:
            raise _fail(
                source,
                f"finding #{index + 1} is of rule {finding.get('rule')!r}, which its summary "
                "does not list",
            )
        if rule.get("severity") != finding["severity"]:
            raise _fail(
                source,
                f"finding #{index + 1} of {rule['id']} is {finding['severity']!r}, and its "
                f"summary gives {rule['id']} severity {rule.get('severity')!r}",
            )
        if not finding["waived"]:
            by_rule[rule["id"]] += 1
            by_severity[finding["severity"]] += 1
    for rule_id, rule in rules.items():
        _check_counts(rule, {"findings": by_rule[rule_id]}, f"{source}: rule {rule_id}")
    _check_statuses(summary, list(rules.values()), source)
    severities = summary.get("by_severity") if isinstance(summary, dict) else None
    if isinstance(severities, dict):
        _check_counts(severities, {s: by_severity[s] for s in SEVERITIES}, f"{source}: by_severity")


def _approvers(report: dict[str, Any]) -> frozenset[str]:
    """The addresses the audit accepted waivers from (its ``waiver_approvers``), compared as
    the audit compares them; none where it records none (an audit then applies no waiver)."""
    parameters = report.get("parameters")
    listed = parameters.get("waiver_approvers") if isinstance(parameters, dict) else None
    if not isinstance(listed, list):
        return frozenset()
    return frozenset(normalise(a) for a in listed if isinstance(a, str))


def _check_waivers(report: dict[str, Any], findings: list[Any], source: str) -> None:
    """Each waiver a waived finding names (its ``waived_by``) is of the finding's rule, not
    expired at the audit's as-of date, and approved by one of the ``waiver_approvers`` the
    audit records: an audit applies no other. A finding marked waived by anyone the team
    liked, or under a waiver ended before the audit, verified. A finding without
    ``waived_by`` (an earlier version's report) is not compared."""
    approvers = _approvers(report)
    as_of = str(report.get("as_of"))
    for index, finding in enumerate(findings):
        waivers = finding.get("waived_by") if finding.get("waived") is True else None
        if waivers is None:
            continue
        if not isinstance(waivers, list) or not waivers:
            raise _fail(source, f"finding #{index + 1} is waived by no waiver")
        for waiver in waivers:
            if not isinstance(waiver, dict):
                raise _fail(source, f"finding #{index + 1} names a waiver that is not an object")
            by = waiver.get("approved_by")
            if not isinstance(by, str) or normalise(by) not in approvers:
                raise _fail(
                    source,
                    f"finding #{index + 1} is waived by {by!r}, who is not among the "
                    f"waiver_approvers its report records ({', '.join(sorted(approvers))})",
                )
            expires = waiver.get("expires")
            if waiver.get("rule") != finding.get("rule") or not str(expires or "") >= as_of:
                raise _fail(
                    source,
                    f"finding #{index + 1} of {finding.get('rule')} is waived by a waiver of "
                    f"{waiver.get('rule')!r} expiring {waiver.get('expires')!r}, as of {as_of}",
                )


def _weakened_fail_on(predicate: dict[str, Any], fail_on: str) -> bool:
    """Whether the predicate records ``fail_on`` among the settings that weakened the rules."""
    settings = predicate.get("settings")
    weakened = settings.get("weakened") if isinstance(settings, dict) else None
    return isinstance(weakened, list) and any(
        isinstance(item, dict) and item.get("name") == "fail_on" and item.get("value") == fail_on
        for item in weakened
    )


def _summary(report: dict[str, Any], source: str) -> dict[str, Any]:
    """The report's summary; an earlier version's report may lack one (or its
    ``require_all``), and one that is not an object, or whose ``require_all`` is not a
    boolean, fails (``verify`` reads its counts, and the verdict rests on the flag)."""
    summary = report.get("summary", {})
    if not isinstance(summary, dict):
        raise _fail(source, "its report's summary is not an object")
    for name in ("incomplete", "partial"):
        if not isinstance(summary.get(name, []), list):
            raise _fail(source, f"its report's summary.{name} is not a list of rules")
    if not isinstance(summary.get("require_all", False), bool):
        # The verdict is checked against it, and a replay judges with it: "yes" or 1 read
        # as unset here and as set there; a report writes true or false.
        raise _fail(
            source,
            f"its report's summary.require_all is {summary['require_all']!r}, not true or false",
        )
    return summary


def _check_counts(summary: dict[str, Any], counts: dict[str, int], source: str) -> None:
    """The summary's counts are those of the findings (where it records them)."""
    for name, count in counts.items():
        if name in summary and summary[name] != count:
            raise _fail(source, f"its summary says {summary[name]!r} {name}, and there are {count}")


def _check_complete(predicate: dict[str, Any], summary: dict[str, Any], source: str) -> None:
    """The summary's ``complete`` is whether no rule went unjudged or was judged on part of
    its evidence, and the predicate's ``complete`` (what scripts read) is the summary's."""
    if "complete" not in summary:
        return
    whole = not summary.get("incomplete") and not summary.get("partial")
    if summary["complete"] is not whole:
        raise _fail(
            source,
            f"its summary says complete {summary['complete']!r}, and its rules not judged "
            f"whole are {[*(summary.get('incomplete') or []), *(summary.get('partial') or [])]}",
        )
    if "complete" in predicate and predicate["complete"] is not whole:
        raise _fail(
            source,
            f"the statement says complete {predicate['complete']!r}, and its report's summary "
            f"{summary['complete']!r}",
        )


def check_verdict(predicate: dict[str, Any], source: str) -> None:
    """The report's verdict is the one its findings, ``fail_on`` and completeness give, its
    summary's counts are those of its findings, its ``complete`` (and the statement's) is
    whether every rule was judged whole, and a ``fail_on`` weaker than the default is
    recorded among the weakening settings (``verify`` names them); else a VerificationError
    (``verdict``). Counts an earlier version did not record are not compared."""
    report = predicate.get("report")
    if not isinstance(report, dict):
        raise _fail(source, "the statement holds no report")
    fail_on = report.get("fail_on")
    if not isinstance(fail_on, str) or fail_on not in SEVERITIES:
        raise _fail(source, f"its report's fail_on {fail_on!r} is not a severity")
    findings = _findings(report, source)
    failing = sum(
        1 for s, waived in findings if not waived and severity_rank(s) >= severity_rank(fail_on)
    )
    summary = _summary(report, source)
    waived = sum(1 for _, w in findings if w)
    counts = {"findings": len(findings), "failing": failing, "waived": waived}
    _check_counts(summary, counts, source)
    _check_rules(report, report["findings"], source)
    _check_waivers(report, report["findings"], source)
    _check_complete(predicate, summary, source)
    _check_branch(predicate, report, source)
    incomplete = summary.get("require_all") is True and summary.get("complete") is False
    expected = "fail" if failing or incomplete else "pass"
    if report.get("verdict") != expected:
        raise _fail(
            source,
            f"its report says verdict {report.get('verdict')!r}, and its findings give "
            f"{expected!r} ({failing} unwaived at or above fail_on {fail_on})",
        )
    if severity_rank(fail_on) > severity_rank(DEFAULT_FAIL_ON) and not _weakened_fail_on(
        predicate, fail_on
    ):
        raise _fail(
            source,
            f"its report was judged with fail_on {fail_on}, weaker than {DEFAULT_FAIL_ON}, "
            "and the statement does not record it among the settings that weakened the rules",
        )


_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def branch_refs(name: str) -> list[str]:
    """The refs an audit reads a protected branch so named from (``GitHistory.branch_forms``
    in the clone it ran in): a full name is that ref, a branch's or a remote-tracking
    branch's alone (a tag is no branch); ``origin/main``, that remote-tracking branch; a
    name without a ``/``, origin's branch or the local one."""
    if name.startswith("refs/"):
        return [name] if name.startswith(("refs/heads/", "refs/remotes/")) else []
    if "/" in name:
        return [f"refs/remotes/{name}"]
    return [f"refs/remotes/origin/{name}", f"refs/heads/{name}"]


def _check_branch(predicate: dict[str, Any], report: dict[str, Any], source: str) -> None:
    """The protected branch the report records it judged (``inputs.repository.
    protected_branch``), where recorded whole, is the one its ``parameters`` name, read from
    a ref that name is read from, at a full commit id: an audit writes no other. One edited
    to name ``release`` under ``protected_branch: main``, or read from ``refs/tags/v1``,
    verified, and ``verify`` printed it as the branch judged. A ``protected_branch`` other
    than ``main`` is recorded among the settings that changed the rules (``_check_branch_
    setting``)."""
    _check_branch_setting(predicate, report, source)
    inputs = report.get("inputs")
    repository = inputs.get("repository") if isinstance(inputs, dict) else None
    branch = repository.get("protected_branch") if isinstance(repository, dict) else None
    if not isinstance(branch, dict) or set(branch) != {"name", "ref", "commit"}:
        return  # signed before audits recorded it, or not whole: verify says so
    parameters = report.get("parameters")
    named = parameters.get("protected_branch") if isinstance(parameters, dict) else None
    name, ref, commit = branch["name"], branch["ref"], branch["commit"]
    said = f"its report's protected branch {name!r} (read from {ref!r} at {commit!r})"
    if name != named:  # an audit that records the branch records the parameter too
        named_as = f"{named!r}" if named is not None else "none"
        raise _fail(source, f"{said} is not the one its parameters name, {named_as}")
    if not isinstance(name, str) or ref not in branch_refs(name):
        raise _fail(source, f"{said} is not read from a ref that branch is read from")
    if not isinstance(commit, str) or not _FULL_ID.fullmatch(commit):
        raise _fail(source, f"{said} does not name a commit by its full id")


def _check_branch_setting(predicate: dict[str, Any], report: dict[str, Any], source: str) -> None:
    """A ``parameters.protected_branch`` other than the default is among the statement's
    ``settings.weakened``, as an audit records it: with the note taken out and signed again,
    ``verify`` named no changed setting, and an organisation took a team's audit judged
    against a branch of its own (a ``hotfix`` holding the deployed commit) as judged as it
    judges."""
    parameters = report.get("parameters")
    named = parameters.get("protected_branch") if isinstance(parameters, dict) else None
    if named is None or named == DEFAULT_BRANCH:
        return
    settings = predicate.get("settings")
    weakened = settings.get("weakened") if isinstance(settings, dict) else None
    if not isinstance(weakened, list) or not any(
        isinstance(item, dict)
        and item.get("name") == "protected_branch"
        and item.get("value") == named
        for item in weakened
    ):
        raise _fail(
            source,
            f"its report was judged against protected branch {named!r}, not "
            f"{DEFAULT_BRANCH}, and the statement does not record it among the settings that "
            "changed the rules",
        )


def _org_passed(entry: object, source: str) -> bool:
    """Whether one system of an organisation's attestation passed: judged, its verdict pass,
    which its own audit's report must give too (the organisation's bar may only fail it)."""
    if not isinstance(entry, dict):
        raise _fail(source, "a system's entry is not an object")
    if entry.get("status") != "judged" or entry.get("verdict") != "pass":
        return False
    audit = entry.get("audit")
    report = audit.get("report") if isinstance(audit, dict) else None
    own = report.get("verdict") if isinstance(report, dict) else None
    if own != "pass":
        raise _fail(
            source,
            f"system {entry.get('name')}: its verdict is pass, and its audit's report says {own!r}",
        )
    return True


def _check_named_once(systems: list[Any], source: str) -> None:
    """Each system is listed once: org.yaml names each once (``load_org`` refuses a name
    given twice), and a passing system listed again in a failed one's place counted as a
    third pass, the failed system gone from the statement."""
    names = Counter(str(entry.get("name")) for entry in systems)
    twice = sorted(name for name, count in names.items() if count > 1)
    if twice:
        raise _fail(
            source,
            f"system {twice[0]} is listed {names[twice[0]]} times: org.yaml names each once",
        )


def check_org_verdict(predicate: dict[str, Any], source: str) -> None:
    """An organisation's verdict is ``pass`` only when every system was judged and passed,
    each passing system's own report passes, and its summary's counts are those of its
    systems; else a VerificationError (``verdict``). A statement saying ``pass`` beside a
    failed system verified, and ``verify`` printed ``organisation verdict pass``."""
    systems = predicate.get("systems")
    if not isinstance(systems, list):
        raise _fail(source, "the statement lists no systems")
    passed = [_org_passed(entry, source) for entry in systems]
    _check_named_once(systems, source)
    judged = sum(1 for e in systems if e.get("status") == "judged")
    expected = "pass" if systems and all(passed) else "fail"
    if predicate.get("verdict") != expected:
        raise _fail(
            source,
            f"its organisation verdict is {predicate.get('verdict')!r}, and its systems give "
            f"{expected!r} ({sum(passed)} of {len(systems)} passed)",
        )
    summary = predicate.get("summary")
    if not isinstance(summary, dict):
        raise _fail(source, "its summary is not an object")
    counts = {
        "systems": len(systems),
        "judged": judged,
        "passed": sum(passed),
        "failed": judged - sum(passed),
        "not_judged": len(systems) - judged,
    }
    _check_counts(summary, counts, source)
