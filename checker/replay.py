"""Replay: evaluate a signed report's recorded inputs again and confirm the same findings.

Pipeline level, beside the runner it re-runs: signing proves who said what, and never runs
the pipeline itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from checker.errors import VerificationError
from checker.facts.population import population_record
from checker.runner import CheckOptions, Prepared, evaluate, prepare
from checker.settings import JUDGING
from checker.signing.attestation import Signed
from checker.signing.population import compare, read_population, replayed_late
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
    evaluated = evaluate(prepared, options).report
    report = evaluated.to_dict()
    _same_findings(recorded, report)
    population = read_population(signed.predicate)
    compare(population, population_record(evaluated.population))
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


def _same_findings(recorded: dict[str, Any], report: dict[str, Any]) -> None:
    """The same findings, field for field, and the same verdict; else what changed."""
    before = {_finding_key(f): f for f in recorded["findings"]}
    after = {_finding_key(f): f for f in report["findings"]}
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
