"""Replay: evaluate a signed report's recorded inputs again and confirm the same findings.

Pipeline level, beside the runner it re-runs: signing proves who said what, and never runs
the pipeline itself."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import rfc8785

from checker.errors import VerificationError
from checker.evidence.git import GitHistory
from checker.facts.population import population_record
from checker.report.model import Report
from checker.runner import CheckOptions, Prepared, evaluate, prepare
from checker.settings import JUDGING
from checker.signing.attestation import Signed, audit_predicate, recorded_branch
from checker.signing.population import OBJECT_ID, compare, read_population, replayed_late
from checker.vocabulary import counted, short


def _finding_key(finding: dict[str, Any]) -> tuple[str, str]:
    return (str(finding["rule"]), str(finding["subject"]))


def recorded_settings(report: dict[str, Any]) -> dict[str, Any]:
    """The settings a report was judged with, as a replay applies them: exactly those, from
    the report, whatever the configuration files say now."""
    parameters = report.get("parameters", {})
    settings = {name: parameters[name] for name in JUDGING if name in parameters}
    settings["fail_on"] = report["fail_on"]
    settings["require_all"] = bool((report.get("summary") or {}).get("require_all", False))
    return settings


def replay(signed: Signed, base: CheckOptions) -> str:
    """Re-run the audit on ``base``'s repository and evidence with the recorded parameters.

    Names the first input whose digest differs from the recorded one; otherwise compares the
    findings and verdict. Returns a one-line description of what was confirmed.
    """
    recorded = signed.predicate["report"]
    options = replace(
        base,
        period=signed.period,
        as_of=date.fromisoformat(recorded["as_of"]),
        audit=True,
        recorded=recorded_settings(recorded),
        attested=replayed_late(signed.predicate, signed.period),
    )
    prepared = prepare(options)
    recorded_inputs = _same_inputs(recorded["inputs"], prepared)
    _branch_holds(recorded, prepared)
    evaluated = evaluate(prepared, options).report
    report = evaluated.to_dict()
    _same_findings(recorded, report)
    population = read_population(signed.predicate)
    compare(population, population_record(evaluated.population))
    _same_claims(signed.predicate, evaluated)
    return (
        f"replayed {recorded_inputs} inputs and HEAD {short(prepared.facts.head)}: the same "
        f"{len(report['findings'])} findings and verdict {report['verdict']}, and the same "
        f"population of {counted(population.count, 'deployment')}"
    )


def _same_inputs(inputs: dict[str, Any], prepared: Prepared) -> int:
    """The recorded HEAD and input files are those of now; else the first that differs is
    named. Returns how many files were recorded."""
    if inputs["repository"]["head"] != prepared.facts.head:
        raise VerificationError(
            "replay",
            f"repository HEAD is {prepared.facts.head}, the report recorded "
            f"{inputs['repository']['head']}",
            hint="check out the recorded commit (git checkout --detach SHA) and replay again",
        )
    then = {(f["role"], f["path"]): f["sha256"] for f in inputs["files"]}
    now = {(f.role, f.path): f.sha256 for f in prepared.files}
    for key in sorted(then.keys() | now.keys()):
        role, path = key
        if key not in now:
            raise VerificationError("replay", f"{role} input {path} was recorded but is missing")
        if key not in then:
            raise VerificationError("replay", f"{role} input {path} is new since the report")
        if then[key] != now[key]:
            raise VerificationError(
                "replay",
                f"{role} input {path} differs: recorded sha256 {then[key]}, now {now[key]}",
            )
    return len(then)


def _branch_holds(report: dict[str, Any], prepared: Prepared) -> None:
    """The protected branch's tip the audit recorded is in the history of that branch as the
    replay's clone has it (the forge's, moved on since or not); else the replay fails, naming
    the branch. The audit ran in a clone whoever ran it controls: a ``main`` moved there onto
    an unmerged deployed commit passed REVIEW-003. A report signed before audits recorded
    the branch has nothing to compare (its findings are compared all the same)."""
    branch = prepared.facts.branch
    if "protected_branch" not in report["inputs"]["repository"] or branch is None:
        return
    recorded = recorded_branch(report)
    if recorded is None:
        raise VerificationError(
            "replay", "the signed report's protected branch is not a name, a ref and a commit"
        )
    judged = f"protected branch {recorded['name']}: the audit judged it at {recorded['commit']} "
    judged += f"({recorded['ref']})"
    hint = "replay in a clone of the forge's repository, its branches fetched as the forge has them"
    if recorded["name"] != branch.name:
        raise VerificationError("replay", f"{judged}, and the replay judged {branch.name}")
    history = GitHistory(prepared.root)
    try:
        commit = recorded["commit"]
        held = OBJECT_ID.fullmatch(commit) and history.resolve([commit])[commit] == commit
        if not held:
            raise VerificationError(
                "replay", f"{judged}, which is not in this repository's history", hint=hint
            )
        if not history.is_ancestor(commit, branch.commit):
            raise VerificationError(
                "replay",
                f"{judged}, which {branch.name} here ({branch.ref} at {branch.commit}) does "
                "not contain",
                hint=hint,
            )
    finally:
        history.close()


def _same_findings(recorded: dict[str, Any], report: dict[str, Any]) -> None:
    """The same findings, field for field, and the same verdict; else what changed."""
    before = {_finding_key(f): f for f in recorded["findings"]}
    after = {
        _finding_key(f): _as_recorded(f, before.get(_finding_key(f))) for f in report["findings"]
    }
    gone = sorted(before.keys() - after.keys())
    new = sorted(after.keys() - before.keys())
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    parts = [
        *(f"no longer found: {r} {s}" for r, s in gone),
        *(f"newly found: {r} {s}" for r, s in new),
        *(f"changed: {r} {s}" for r, s in changed),
    ]
    if parts or report["verdict"] != recorded["verdict"]:
        raise VerificationError("replay", "; ".join(parts) or "the verdict differs")


def _as_recorded(finding: dict[str, Any], recorded: dict[str, Any] | None) -> dict[str, Any]:
    """A replayed finding as a report signed before ``waived_by`` was written records it:
    without the field, where the recorded finding lacks it (its ``waived`` still compared)."""
    if recorded is None or "waived_by" in recorded or "waived_by" not in finding:
        return finding
    return {k: v for k, v in finding.items() if k != "waived_by"}


def _findings_as_recorded(signed: dict[str, Any], replayed: dict[str, Any]) -> None:
    """The replayed report's findings each as the signed one records it (``_as_recorded``)."""
    then, now = signed.get("report"), replayed.get("report")
    if not isinstance(then, dict) or not isinstance(now, dict):
        return
    recorded = {_finding_key(f): f for f in then.get("findings", []) if isinstance(f, dict)}
    now["findings"] = [
        _as_recorded(f, recorded.get(_finding_key(f))) for f in now.get("findings", [])
    ]


def _same_claims(predicate: dict[str, Any], evaluated: Report) -> None:
    """Everything else the signed predicate says is what the replay gives: its as-of date,
    completeness, summary, settings and the records it rests on (``earlier``). Whoever holds
    the key signs what they like; with the findings alone compared, a predicate that hides a
    weakening setting or a rule not evaluated, or judged its waivers as of another day than
    the one ``verify`` shows, replayed as confirmed. Not compared: the link (``verify
    --previous`` checks it), the tool that judged (a replay may run another release or
    engine), the auditor's ``--config`` file (a replay applies the recorded settings
    themselves) and where each setting came from (the replay's are all ``replay``)."""
    partial = bool(predicate.get("partial"))
    again = json.loads(json.dumps(audit_predicate(replace(evaluated, partial=partial))))
    signed, replayed = _claims(predicate), _claims(again)
    _findings_as_recorded(signed, replayed)
    if rfc8785.dumps(signed) == rfc8785.dumps(replayed):
        return
    where, then, now = _difference(signed, replayed, "predicate")
    raise VerificationError(
        "replay",
        f"the signed {where} is {_shown(then)}, and the replay gives {_shown(now)}: the "
        "statement says what the audit did not",
    )


_NOT_REPLAYED = ("previous", "tool")


def _claims(predicate: dict[str, Any]) -> dict[str, Any]:
    """What of a predicate a replay can confirm (``_same_claims``)."""
    claims = {k: v for k, v in predicate.items() if k not in _NOT_REPLAYED}
    settings = claims.get("settings")
    if isinstance(settings, dict):
        claims["settings"] = {k: _sourceless(v) for k, v in settings.items() if k != "config_file"}
    report = claims.get("report")
    if isinstance(report, dict):
        claims["report"] = {k: v for k, v in report.items() if k != "tool"}
        if "settings" in report:
            claims["report"]["settings"] = _sourceless(report["settings"])
        inputs = report.get("inputs")
        if isinstance(inputs, dict):
            claims["report"]["inputs"] = _inputs_claimed(inputs)
    return claims


def _inputs_claimed(inputs: dict[str, Any]) -> dict[str, Any]:
    """What of a report's ``inputs`` a replay confirms as it is: not the auditor's ``--config``
    file, nor the protected branch's tip, which the branch may have moved on from since
    (``_branch_holds`` checks it holds the recorded one)."""
    claimed = {k: v for k, v in inputs.items() if k != "auditor_config"}
    repository = inputs.get("repository")
    if isinstance(repository, dict):
        claimed["repository"] = {k: v for k, v in repository.items() if k != "protected_branch"}
    return claimed


def _sourceless(notes: Any) -> Any:
    """Setting notes without their ``source``."""
    if not isinstance(notes, list):
        return notes
    return [
        {k: v for k, v in n.items() if k != "source"} if isinstance(n, dict) else n for n in notes
    ]


_ABSENT = object()
"""A key one side has and the other has not."""


def _difference(then: Any, now: Any, where: str) -> tuple[str, Any, Any]:
    """The first place two JSON values differ (``true`` is not ``1``), and the two values."""
    if isinstance(then, dict) and isinstance(now, dict):
        for key in sorted(then.keys() | now.keys()):
            if key not in then or key not in now:
                return f"{where}.{key}", then.get(key, _ABSENT), now.get(key, _ABSENT)
            if rfc8785.dumps(then[key]) != rfc8785.dumps(now[key]):
                return _difference(then[key], now[key], f"{where}.{key}")
    if isinstance(then, list) and isinstance(now, list) and len(then) == len(now):
        for index, (one, other) in enumerate(zip(then, now, strict=True)):
            if rfc8785.dumps(one) != rfc8785.dumps(other):
                return _difference(one, other, f"{where}[{index}]")
    return where, then, now


def _shown(value: Any) -> str:
    """A value as the message shows it: JSON, cut short."""
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."
