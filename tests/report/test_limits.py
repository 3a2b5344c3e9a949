"""SARIF and JUnit within the services' limits: a report past GitHub code scanning's results
per run is written one result per cause, validated against the SARIF 2.1.0 schema, within the
gzipped upload limit, and says so; its fingerprints follow a cause from one month to the next.

The limits are lowered here (monkeypatched) so that the small storm month crosses them; the
full-size storm of ``make bench`` crosses the real ones (docs/performance.md)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Failure, JUnitXml, Skipped

from checker.report import json as json_report
from checker.report import junit, sarif
from checker.vocabulary import severity_rank
from tests.conftest import run_cli
from tests.report.storm import build_storm, check, storm_copy
from tests.report.test_ci_formats import SCHEMA
from tests.report.test_groups import waive, waive_all_but_one
from tests.test_examples import inputs

EXAMPLES_DIR = Path(__file__).parents[2] / "evidence" / "examples"


def validate(log: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the SARIF schema is missing at {SCHEMA}")
        pytest.skip(f"the SARIF schema is not at {SCHEMA}: run make test")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)


def sarif_run(storm: tuple[Path, Path], tmp_path: Path) -> tuple[dict[str, Any], str, int]:
    """The storm's SARIF written with -o: its only run, what stderr said, and its exit code.
    The run's results are those of its findings: the results of its rules not judged on all
    their evidence (the storm's two partial rules), which lead the log, are set apart in
    ``unjudged``."""
    out = tmp_path / "report.sarif"
    result = check(storm, "-o", out, "--format", "sarif")
    log = json.loads(out.read_text())
    validate(log)
    (run,) = log["runs"]
    unjudged = [r for r in run["results"] if "status" in r["properties"]]
    assert len(unjudged) == 2 and run["results"][:2] == unjudged
    assert all(r["level"] == "warning" for r in unjudged)
    run["results"], run["unjudged"] = run["results"][2:], unjudged
    return run, result.err, result.code


def test_below_the_limits_every_finding_is_its_own_result(
    storm: tuple[Path, Path], tmp_path: Path
) -> None:
    findings = check(storm).json()["findings"]
    run, err, code = sarif_run(storm, tmp_path)
    assert code == 1 and len(run["results"]) == len(findings) < sarif.MAX_RESULTS
    assert "invocations" not in run and "grouped" not in run["properties"]
    assert "SARIF" not in err


def test_past_the_results_limit_one_result_per_cause(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(storm).json()
    monkeypatch.setattr(sarif, "MAX_RESULTS", 100)
    monkeypatch.setattr(sarif, "RELATED_SHOWN", 10)
    run, err, code = sarif_run(storm, tmp_path)
    assert code == 1
    results = run["results"]
    assert len(results) == len(report["groups"]) <= 100 < len(report["findings"])
    for result, group in zip(results, report["groups"], strict=True):
        props = result["properties"]
        assert (result["ruleId"], props["cause"]) == (group["rule"], group["cause"])
        assert props["instances"] == group["count"]
        assert props["subjects"] == group["subjects"]
        assert [r["message"]["text"] for r in result["relatedLocations"]] == group["subjects"][:10]
        assert len(result["locations"]) == 1
        assert result["message"]["text"].startswith(group["statement"])
    assert sum(r["properties"]["instances"] for r in results) == len(report["findings"])
    account = run["properties"]["grouped"]
    assert account["findings"] == len(report["findings"]) and account["groups_not_written"] == 0
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert (
        note["descriptor"]["id"] == "knightwatch/grouped"
        and "one per cause" in note["message"]["text"]
    )
    assert f"SARIF: {len(report['findings']):,} findings" in err and "one per cause" in err
    assert run["properties"]["verdict"] == "fail"


def test_the_rules_results_pushing_past_the_limit_are_the_reason_given(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The findings fit the results per run, but with the results of the two rules judged on
    part of their evidence they do not: the log is grouped for that. Before, stderr and the
    run's notification said that the findings were past the gzipped upload limit, which the
    log was far below."""
    findings = len(check(storm).json()["findings"])
    monkeypatch.setattr(sarif, "MAX_RESULTS", findings + 1)
    run, err, _ = sarif_run(storm, tmp_path)
    assert run["properties"]["grouped"]["rule_results"] == 2
    why = (
        f"SARIF: {findings:,} findings and 2 results for rules not judged on all their "
        f"evidence ({findings + 2:,} results) are past code scanning's {findings + 1:,} "
        "results per run: written as"
    )
    assert why in err and "gzipped" not in err
    text = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert text.startswith(why.removeprefix("SARIF: ").removesuffix(": written as"))


def test_past_the_results_limit_in_causes_the_failing_are_kept_and_the_rest_counted(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The causes kept are the failing ones first (a wholly waived cause, however large,
    yields its place), by severity, then by instances; the run and stderr say how many
    causes and findings are left out, and how many of those fail."""
    # the largest cause of a rule whose findings have causes (a FLEET-003 finding is its own)
    worst = next(g for g in check(storm).json()["groups"] if g["rule"] == "DEAD-001")
    waive(storm[1], {"rule": worst["rule"], "cause": worst["cause"]})
    report = check(storm).json()
    monkeypatch.setattr(sarif, "MAX_RESULTS", 7)
    run, err, _ = sarif_run(storm, tmp_path)
    assert len(run["unjudged"]) == 2  # of the 7 results allowed: 5 are left for causes
    failing = [g for g in report["groups"] if g["waived"] < g["count"]]
    failing.sort(key=lambda g: (-severity_rank(g["severity"]), -g["count"], g["rule"], g["cause"]))
    kept = {(g["rule"], g["cause"]) for g in failing[:5]}
    written = [(r["ruleId"], r["properties"]["cause"]) for r in run["results"]]
    # The five ranked first, written in the report's order.
    assert written == [
        (g["rule"], g["cause"]) for g in report["groups"] if (g["rule"], g["cause"]) in kept
    ]
    assert (worst["rule"], worst["cause"]) not in written
    dropped = [g for g in report["groups"] if (g["rule"], g["cause"]) not in written]
    account = run["properties"]["grouped"]
    assert account["groups_not_written"] == len(dropped) == len(report["groups"]) - 5
    assert account["findings_not_written"] == sum(g["count"] for g in dropped)
    unwaived = sum(g["count"] - g["waived"] for g in dropped)
    assert account["failing_not_written"] == unwaived > 0
    text = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    said = (
        f"{len(dropped):,} causes ({account['findings_not_written']:,} findings, "
        f"{unwaived:,} of them failing) are not written"
    )
    assert said in text and said in err
    assert "least severe" not in text


def test_a_log_past_the_upload_limit_lists_fewer_instances_until_it_fits(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 100)
    generous, _, _ = sarif_run(storm, tmp_path)
    size = len(gzip.compress(json.dumps(generous).encode()))
    monkeypatch.setattr(sarif, "MAX_GZIPPED", size * 3 // 4)
    out = tmp_path / "small.sarif"
    assert check(storm, "-o", out, "--format", "sarif").code == 1
    assert len(gzip.compress(out.read_bytes(), 6, mtime=0)) <= size * 3 // 4
    (run,) = json.loads(out.read_text())["runs"]
    validate({"version": "2.1.0", "runs": [run]})
    listed = run["properties"]["grouped"]["subjects_per_result"]
    assert listed < sarif.SUBJECTS_LISTED
    for result in run["results"][2:]:  # the two partial rules' results lead
        props = result["properties"]
        assert len(props["subjects"]) == min(listed, props["instances"])
        assert props["subjects_not_listed"] == props["instances"] - len(props["subjects"])


def test_a_cause_keeps_its_fingerprint_from_one_month_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 100)
    months = {}
    for period in ("2026-10", "2026-11"):
        root = build_storm(tmp_path / period, period)
        run, _, _ = sarif_run(storm_copy(root, tmp_path / f"{period}-copy"), tmp_path)
        months[period] = {
            (r["ruleId"], r["properties"]["cause"]): r
            for r in run["results"]
            if r["ruleId"] == "DEAD-001"
        }
    october, november = months["2026-10"], months["2026-11"]
    shared = october.keys() & november.keys()
    assert len(shared) > 5
    for rule, cause in shared:
        before, after = october[(rule, cause)], november[(rule, cause)]
        expected = hashlib.sha256(f"{rule}\0{cause}".encode()).hexdigest()
        assert before["partialFingerprints"] == {"knightwatchCause/v1": expected}
        assert after["partialFingerprints"] == before["partialFingerprints"]
        # The months differ (their dates, which no fingerprint holds), the cause does not.
        assert before["properties"]["first"][:7] == "2026-10"
        assert after["properties"]["first"][:7] == "2026-11"


def test_junit_past_its_limit_has_one_case_per_cause(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(storm).json()
    monkeypatch.setattr(junit, "GROUP_ABOVE", 100)
    out = tmp_path / "report.xml"
    result = check(storm, "-o", out, "--format", "junit")
    assert result.code == 1
    assert f"JUnit: {len(report['findings']):,} findings" in result.err
    xml = JUnitXml.fromfile(str(out))
    cases = {(case.classname, case.name): case for suite in xml for case in suite}
    for group in report["groups"]:
        case = cases[(group["rule"], group["cause"])]
        kinds = {type(r) for r in case.result}
        assert kinds == ({Skipped} if group["waived"] == group["count"] else {Failure})
        assert f"{group['count']:,} instances" in case.result[0].message
    assert xml.tests == len(cases)
    assert xml.failures == len(report["groups"])


def test_a_json_report_past_a_storm_of_findings_names_the_compact_form(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full JSON lists every instance whatever their number (the contract's findings), and
    past the hint's threshold says on stderr that the compact form exists; below it, nothing."""
    out = tmp_path / "report.json"
    quiet = check(storm, "-o", out)
    before = out.read_bytes()
    assert "json-compact" not in quiet.err
    monkeypatch.setattr(json_report, "COMPACT_HINT_ABOVE", 100)
    loud = check(storm, "-o", out)
    count = len(json.loads(before)["findings"])
    assert count > 100 and f"JSON: {count:,} findings" in loud.err
    assert "--format json-compact" in loud.err
    assert out.read_bytes() == before and loud.code == quiet.code == 1


def test_below_the_results_limit_a_log_past_the_upload_limit_is_grouped(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer results than the limit, but one result per finding past the gzipped size: the
    log is grouped, fits, and stderr says why."""
    ungrouped, _, _ = sarif_run(storm, tmp_path)
    size = len(gzip.compress(json.dumps(ungrouped).encode(), 6, mtime=0))
    monkeypatch.setattr(sarif, "MAX_GZIPPED", size // 2)
    out = tmp_path / "grouped.sarif"
    result = check(storm, "-o", out, "--format", "sarif")
    assert len(gzip.compress(out.read_bytes(), 6, mtime=0)) <= size // 2
    (run,) = json.loads(out.read_text())["runs"]
    assert run["properties"]["grouped"]["findings"] < sarif.MAX_RESULTS
    assert len(run["results"]) == len(check(storm).json()["groups"]) + 2  # and the partial rules
    assert f"past code scanning's {size // 2:,} bytes gzipped" in result.err
    assert "will be refused" not in result.err


def huge_reason(tmp_path: Path, characters: int) -> tuple[Path, Path, list[str | Path]]:
    """The partial-rollout example with one failed target whose reason is ``characters``
    long (random, so gzip cannot shrink it): its repository, evidence and options."""
    args = inputs(EXAMPLES_DIR / "partial-rollout", tmp_path)
    evidence = Path(args[args.index("--evidence") + 1])
    lines = (evidence / "deploys.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    noise = b"".join(hashlib.sha256(b"%d" % n).digest() for n in range(characters // 42 + 1))
    reason = base64.b64encode(noise).decode()[:characters]
    record["targets"].append({"host": "r-4", "status": "failed", "reason": reason})
    (evidence / "deploys.jsonl").write_text(f"{lines[0]}\n{json.dumps(record)}\n")
    return Path(args[args.index("--repo") + 1]), evidence, args


def test_a_result_too_large_to_upload_has_its_texts_cut_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three findings, one of whose message holds a 200,000-character reason: grouping alone
    cannot shrink it, so each long text is cut first (the instances are still listed), with
    the count of characters cut, and stderr and the run say so."""
    _, _, args = huge_reason(tmp_path, 200_000)
    monkeypatch.setattr(sarif, "MAX_GZIPPED", 100_000)
    out = tmp_path / "r.sarif"
    result = run_cli("check", *args, "-o", out)
    assert result.code == 1, result.err
    assert len(gzip.compress(out.read_bytes(), 6, mtime=0)) <= 100_000
    log = json.loads(out.read_text())
    validate(log)
    (run,) = log["runs"]
    account = run["properties"]["grouped"]
    assert account["text_cut_to"] == sarif.TEXT_SHOWN
    assert account["subjects_per_result"] == sarif.SUBJECTS_LISTED  # cut texts, not lists
    cut = [r for r in run["results"] if "characters cut)" in r["message"]["text"]]
    assert cut and all(len(r["message"]["text"]) < sarif.TEXT_SHOWN + 50 for r in cut)
    assert f"texts cut to {sarif.TEXT_SHOWN:,} characters" in result.err
    assert "will be refused" not in result.err


def test_a_log_that_cannot_be_made_to_fit_is_written_and_said_to_be_refused(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sarif, "MAX_GZIPPED", 1_000)
    out = tmp_path / "r.sarif"
    result = check(storm, "-o", out, "--format", "sarif")
    assert result.code == 1 and out.is_file()
    assert "still past code scanning's 1,000 bytes gzipped and will be refused" in result.err


def test_grouped_or_not_a_result_carries_its_causes_fingerprint(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month that crosses the results limit keeps every alert: each cause's fingerprint is
    the same whether its findings are written one result each or one result together."""
    ungrouped, _, _ = sarif_run(storm, tmp_path)
    monkeypatch.setattr(sarif, "MAX_RESULTS", 100)
    grouped, _, _ = sarif_run(storm, tmp_path)
    key = "knightwatchCause/v1"
    each = {(r["ruleId"], r["partialFingerprints"][key]) for r in ungrouped["results"]}
    together = {(r["ruleId"], r["partialFingerprints"][key]) for r in grouped["results"]}
    assert each == together and len(together) == len(grouped["results"])
    for result in ungrouped["results"]:
        subject = result["properties"]["subject"]
        expected = hashlib.sha256(f"{result['ruleId']}\0{subject}".encode()).hexdigest()
        assert result["partialFingerprints"]["knightwatchFinding/v1"] == expected


def test_grouped_junit_and_sarif_set_the_waived_instances_apart(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cause all of whose instances are waived but one: the JUnit failure names that one
    as failing and the waived apart; the SARIF result lists it first, marks the waived and
    lists them in ``waived_subjects``; a wholly waived cause's result is suppressed."""
    report, failing, wholly = waive_all_but_one(storm)
    group = next(g for g in report["groups"] if failing in g["subjects"])
    waived = [s for s in group["subjects"] if s != failing]
    monkeypatch.setattr(junit, "GROUP_ABOVE", 100)
    out = tmp_path / "report.xml"
    check(storm, "-o", out, "--format", "junit")
    case = next(
        c for suite in JUnitXml.fromfile(str(out)) for c in suite if c.name == group["cause"]
    )
    lines = case.result[0].text.splitlines()
    assert f"failing instances (1): {failing}" in lines
    waived_line = next(line for line in lines if line.startswith("waived instances"))
    assert failing not in waived_line and waived[0] in waived_line
    monkeypatch.setattr(sarif, "MAX_RESULTS", 100)
    run, _, _ = sarif_run(storm, tmp_path)
    results = {r["properties"]["cause"]: r for r in run["results"] if r["ruleId"] == "DEAD-001"}
    result = results[group["cause"]]
    assert result["properties"]["subjects"][0] == failing
    assert result["properties"]["waived_subjects"] == waived
    related = [r["message"]["text"] for r in result["relatedLocations"]]
    assert related[0] == failing and all(t.endswith(" (waived)") for t in related[1:])
    assert "suppressions" not in result
    assert results[wholly["cause"]]["suppressions"][0]["status"] == "accepted"


def test_a_job_summary_past_githubs_limit_keeps_the_verdict_and_the_failing_rows(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub refuses a step's summary past 1 MiB whole, its verdict with it. Before, the
    Markdown report was appended whatever its size: a month of many causes left the job
    with no summary at all. The limit is lowered here, and the step has written a line
    before: the summary written fits what is left, verdict first, the failing rows chosen
    before the waived ones (all of DEAD-007 is waived, and leads the table)."""
    dead7 = [g for g in check(storm).json()["groups"] if g["rule"] == "DEAD-007"]
    waive(storm[1], *({"rule": "DEAD-007", "cause": g["cause"]} for g in dead7))
    whole = check(storm, "--format", "markdown").out
    rows = [line for line in whole.splitlines() if line.startswith(("| 🟥", "| 🔴", "| 🟠"))]
    failing = [line for line in rows if "all waived" not in line]
    assert len(rows) > len(failing) > 10
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n")
    limit = len(whole.encode()) * 2 // 3
    monkeypatch.setattr("checker.cli.commands.STEP_SUMMARY_LIMIT", limit, raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert check(storm, "--github", "always").code == 1
    written = summary.read_bytes()
    assert len(written) <= limit
    text = written.decode().removeprefix("earlier step output\n")
    assert text.startswith("## knightwatch: FAIL")
    shown = [line for line in rows if line in text.splitlines()]
    assert all(line in shown for line in failing) and len(shown) < len(rows)
    left = len(rows) - len(shown)
    assert f"**{left:,} of {len(rows):,} rows of findings not shown, 0 of them failing**" in text
