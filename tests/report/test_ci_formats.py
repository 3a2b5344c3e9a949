"""SARIF against the official 2.1.0 schema, and JUnit XML parsed as JUnit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Failure, JUnitXml, Skipped

from checker.demo.builder import ScriptedRepo
from checker.demo.knight import build_knight
from tests.conftest import DEV, deployment, run_cli, write_yaml

SCHEMA = Path(os.environ.get("KNIGHTWATCH_SARIF_SCHEMA", ".venv/schemas/sarif-2.1.0.json"))


@pytest.fixture(scope="module")
def knight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = build_knight(tmp_path_factory.mktemp("knight"))
    # One waived finding, so that suppressions and skipped cases appear too.
    write_yaml(
        case.evidence / "waivers.yaml",
        [
            {
                "rule": "REVIEW-002",
                "subject": "7a082e589e0183926ecd89cb1c9c3f4a5c69c604",
                "reason": "reviewed after the fact",
                "approved_by": "cro@knight.example",
                "expires": "2012-12-31",
            }
        ],
    )
    return case.repo


def render(repo: Path, fmt: str) -> str:
    result = run_cli("check", "--repo", repo, "--format", fmt, "--as-of", "2012-08-01")
    assert result.code == 1, result.err
    return result.out


def report(repo: Path) -> dict[str, object]:
    return json.loads(render(repo, "json"))  # type: ignore[no-any-return]


def test_sarif_validates_against_the_sarif_2_1_0_schema(knight: Path) -> None:
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SCHEMA} missing: `make test` fetches it")
        pytest.skip(f"{SCHEMA} missing: run `make test`, which fetches it from the npm registry")
    log = json.loads(render(knight, "sarif"))
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    run = log["runs"][0]
    findings = report(knight)["findings"]
    assert isinstance(findings, list)
    unjudged = [r for r in run["results"] if "status" in r["properties"]]
    assert [(r["ruleId"], r["properties"]["status"]) for r in unjudged] == [
        ("FLEET-002", "partial"),
        ("REVIEW-002", "partial"),
    ]
    assert len(run["results"]) == len(findings) + len(unjudged)
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(rule_ids) and "FLEET-003" in rule_ids
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    by_rule = {r["ruleId"]: r for r in run["results"] if r not in unjudged}
    assert by_rule["REVIEW-002"]["suppressions"][0]["kind"] == "external"
    assert (
        by_rule["DEAD-004"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "smars/power_peg.py"
    )
    assert (
        by_rule["FLEET-001"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "compliance/deploys.yaml"
    )
    assert by_rule["FLEET-001"]["level"] == "error"
    fleet = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "FLEET-001")
    assert fleet["properties"]["security-severity"] == "9.5"


def test_a_broken_sarif_log_fails_the_schema(knight: Path) -> None:
    """The validation above can fail: a result without its message is refused."""
    if not SCHEMA.is_file():
        pytest.skip(f"{SCHEMA} missing: run `make test`")
    log = json.loads(render(knight, "sarif"))
    del log["runs"][0]["results"][0]["message"]
    schema = json.loads(SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(log)


def test_junit_parses_with_one_case_per_rule_and_subject(knight: Path) -> None:
    xml = JUnitXml.fromstring(render(knight, "junit"))
    data = report(knight)
    findings = data["findings"]
    assert isinstance(findings, list)
    cases = {(case.classname, case.name): case for suite in xml for case in suite}
    for finding in findings:
        case = cases[(finding["rule"], finding["subject"])]
        kinds = {type(r) for r in case.result}
        assert kinds == ({Skipped} if finding["waived"] else {Failure})
    failing = sum(1 for f in findings if not f["waived"])
    assert xml.failures == failing
    assert ("REVIEW-003", "no findings") in cases
    assert xml.tests == len(cases)


@pytest.fixture(scope="module")
def unjudged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A reviewed and approved change, judged with most rules lacking their evidence and
    REVIEW-002 on part of it (no baseline): no findings, PASS (incomplete), and FAIL under
    --require-all."""
    root = tmp_path_factory.mktemp("unjudged")
    repo = ScriptedRepo(root / "repo")
    message = "one\n\nReviewed-by: Lee Lead <lee@example.com>"
    sha = repo.commit(message, {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = root / "ev"
    approval = [{"by": "lee@example.com", "at": "2024-02-01T08:00:00Z"}]
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", sha, "2024-02-01T09:00:00Z", approvals=approval)],
    )
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    return repo.path, evidence


def _sarif_results(unjudged: tuple[Path, Path], *extra: str) -> tuple[int, list[dict[str, Any]]]:
    repo, evidence = unjudged
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--format", "sarif", *extra,
    )  # fmt: skip
    log = json.loads(result.out)
    if SCHEMA.is_file():
        jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    return result.code, log["runs"][0]["results"]


def test_sarif_shows_a_verdict_failed_by_require_all(unjudged: tuple[Path, Path]) -> None:
    """Before, the log of a verdict failed by --require-all held no result: code scanning,
    which reads results and not the run's properties, showed no alert."""
    code, results = _sarif_results(unjudged, "--require-all")
    assert code == 1
    open_errors = [r for r in results if r["level"] == "error" and "suppressions" not in r]
    assert {r["ruleId"] for r in open_errors} >= {"DEAD-001", "FLEET-002", "REVIEW-002"}
    partial = next(r for r in open_errors if r["ruleId"] == "REVIEW-002")
    assert "judged on part of its evidence, and --require-all is set" in partial["message"]["text"]
    assert partial["properties"]["status"] == "partial"


def test_sarif_warns_of_rules_not_judged_in_a_pass(unjudged: tuple[Path, Path]) -> None:
    code, results = _sarif_results(unjudged)
    assert code == 0
    assert not [r for r in results if r["level"] == "error" and "suppressions" not in r]
    warned = {r["ruleId"]: r for r in results if r["level"] == "warning"}
    assert warned["FLEET-002"]["message"]["text"] == (
        "FLEET-002 not evaluated: no observations evidence"
    )


def _junit(unjudged: tuple[Path, Path], *extra: str) -> tuple[int, JUnitXml]:
    repo, evidence = unjudged
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--format", "junit", *extra,
    )  # fmt: skip
    return result.code, JUnitXml.fromstring(result.out)


def test_junit_shows_a_rule_judged_on_part_of_its_evidence_as_not_passed(
    unjudged: tuple[Path, Path],
) -> None:
    """Before, without --require-all, REVIEW-002 judged on part of its evidence was one
    passing case, "no findings": a test view read it as judged and passed."""
    code, xml = _junit(unjudged)
    assert code == 0 and xml.failures == 0
    review = {case.name: case for suite in xml for case in suite if case.classname == "REVIEW-002"}
    (skipped,) = review["judged on part of its evidence"].result
    assert isinstance(skipped, Skipped)
    assert skipped.message.startswith("judged on part of its evidence, so not passed whole: ")
    code, xml = _junit(unjudged, "--require-all")
    assert code == 1
    failed = [c for s in xml for c in s if any(isinstance(r, Failure) for r in c.result)]
    assert ("REVIEW-002", "judged on part of its evidence") in {
        (c.classname, c.name) for c in failed
    }


def test_markdown_names_the_rules_judged_on_part_of_their_evidence(
    unjudged: tuple[Path, Path],
) -> None:
    """Before, a job summary's verdict counted "1 judged on part of its evidence" and named
    none: which rule, and what it lacked, was in no line of it."""
    repo, evidence = unjudged
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--format", "markdown",
    )  # fmt: skip
    assert result.code == 0
    (line,) = [x for x in result.out.splitlines() if x.startswith("**Judged on part")]
    assert line.startswith("**Judged on part of their evidence** (not passed whole): REVIEW-002 (")
    assert "no baseline" in line


def test_a_waived_finding_names_its_waiver_in_junit_and_sarif(knight: Path) -> None:
    """Before, a waived finding was a JUnit case skipped as "waived" and a SARIF result
    suppressed "in waivers.yaml": neither said why, by whose approval, or until when."""
    said = (
        "waived: REVIEW-002 subject 7a082e589e0183926ecd89cb1c9c3f4a5c69c604 waived: reviewed "
        "after the fact (approved by cro@knight.example, until 2012-12-31)"
    )
    xml = JUnitXml.fromstring(render(knight, "junit"))
    (case,) = [c for s in xml for c in s if c.name == "7a082e589e0183926ecd89cb1c9c3f4a5c69c604"]
    (skipped,) = case.result
    assert isinstance(skipped, Skipped) and skipped.message == said
    run = json.loads(render(knight, "sarif"))["runs"][0]
    (suppressed,) = [r for r in run["results"] if "suppressions" in r]
    assert suppressed["suppressions"][0]["justification"] == said


def test_html_never_paints_an_incomplete_pass_green(unjudged: tuple[Path, Path]) -> None:
    """Before, PASS (incomplete: ...) stood in the same green badge as a full pass."""
    repo, evidence = unjudged
    argv = ("check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01")
    passed = run_cli(*argv, "--format", "html")
    assert passed.code == 0
    assert '<span class="verdict incomplete">PASS (incomplete: ' in passed.out
    assert 'class="verdict pass"' not in passed.out
    failed = run_cli(*argv, "--format", "html", "--require-all")
    assert failed.code == 1 and '<span class="verdict fail">FAIL (incomplete: ' in failed.out
