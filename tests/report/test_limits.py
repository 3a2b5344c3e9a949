"""SARIF and JUnit within the services' limits: a report past GitHub code scanning's results
per run is written one result per cause, validated against the SARIF 2.1.0 schema, within the
gzipped upload limit, and says so; its fingerprints follow a cause from one month to the next.

The limits are lowered here (monkeypatched) so that the small storm month crosses them; the
full-size storm of ``make bench`` crosses the real ones (docs/performance.md)."""

from __future__ import annotations

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
from tests.report.storm import build_storm, check, storm_copy
from tests.report.test_ci_formats import SCHEMA


def validate(log: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the SARIF schema is missing at {SCHEMA}")
        pytest.skip(f"the SARIF schema is not at {SCHEMA}: run make test")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)


def sarif_run(storm: tuple[Path, Path], tmp_path: Path) -> tuple[dict[str, Any], str, int]:
    """The storm's SARIF written with -o: its only run, what stderr said, and its exit code."""
    out = tmp_path / "report.sarif"
    result = check(storm, "-o", out, "--format", "sarif")
    log = json.loads(out.read_text())
    validate(log)
    (run,) = log["runs"]
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


def test_past_the_results_limit_in_causes_the_worst_are_kept_and_the_rest_counted(
    storm: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(storm).json()
    monkeypatch.setattr(sarif, "MAX_RESULTS", 5)
    run, _, _ = sarif_run(storm, tmp_path)
    assert [(r["ruleId"], r["properties"]["cause"]) for r in run["results"]] == [
        (g["rule"], g["cause"]) for g in report["groups"][:5]
    ]
    account = run["properties"]["grouped"]
    assert account["groups_not_written"] == len(report["groups"]) - 5
    assert account["findings_not_written"] == sum(g["count"] for g in report["groups"][5:])
    text = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert f"the {len(report['groups']) - 5:,} least severe causes" in text


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
    for result in run["results"]:
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
