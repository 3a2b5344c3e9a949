"""A waived finding names the waiver that covered it, in every format: not every waiver in
force for its rule, which told an auditor that one deployment was excused by another's
exception."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import rfc8785

from checker.demo.builder import ScriptedRepo
from checker.signing import dsse
from checker.signing.keys import load_private
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml

D1_WAIVER = "REVIEW-001 subject D1 waived: INC-1 outage fix (approved by cro@example.com"
D2_WAIVER = "REVIEW-001 subject D2 waived: INC-2 unrelated (approved by cfo@example.com"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two unapproved deployments of a reviewed commit (REVIEW-001 alone fails), each
    waived by a waiver of its own."""
    root = tmp_path_factory.mktemp("waived-by")
    repo = ScriptedRepo(root / "repo")
    sha = repo.commit("c", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = root / "ev"
    write_yaml(
        evidence / "deploys.yaml",
        [deployment(d, sha, f"2024-02-0{n}T09:00:00Z") for n, d in ((1, "D1"), (2, "D2"))],
    )
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    write_yaml(evidence / "reviews.yaml", [
        {"change": "1", "author": "dana@example.com", "commits": [sha],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-02T00:00:00Z"}]},
    ])  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "REVIEW-001", "subject": "D1", "reason": "INC-1 outage fix",
         "approved_by": "cro@example.com", "expires": "2024-12-31"},
        {"rule": "REVIEW-001", "subject": "D2", "reason": "INC-2 unrelated",
         "approved_by": "cfo@example.com", "expires": "2024-12-31"},
    ])  # fmt: skip
    return repo.path, evidence


def _check(case: tuple[Path, Path], fmt: str) -> CliResult:
    repo, evidence = case
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--format", fmt,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result


def test_the_json_report_lists_the_waiver_that_covered_each_finding(
    case: tuple[Path, Path],
) -> None:
    findings = {f["subject"]: f for f in _check(case, "json").json()["findings"]}
    assert findings["D1"]["waived"] is True
    assert findings["D1"]["waived_by"] == [
        {"rule": "REVIEW-001", "subject": "D1", "reason": "INC-1 outage fix",
         "approved_by": "cro@example.com", "expires": "2024-12-31"},
    ]  # fmt: skip
    assert [w["subject"] for w in findings["D2"]["waived_by"]] == ["D2"]


def test_sarif_junit_text_and_html_name_only_the_covering_waiver(
    case: tuple[Path, Path],
) -> None:
    """Before, each waived finding's SARIF justification and JUnit skipped message named
    both waivers, D2's reason under D1; the text and HTML reports named none."""
    sarif = _check(case, "sarif").json()
    said = {
        r["properties"]["subject"]: r["suppressions"][0]["justification"]
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "REVIEW-001"
    }
    junit = ET.fromstring(_check(case, "junit").out.encode())  # noqa: S314  (our own output)
    skipped = {
        c.get("name"): c.find("skipped").get("message")  # type: ignore[union-attr]
        for c in junit.iter("testcase")
        if c.get("classname") == "REVIEW-001"
    }
    for shown in (said, skipped):
        assert D1_WAIVER in shown["D1"] and "INC-2" not in shown["D1"]
        assert D2_WAIVER in shown["D2"] and "INC-1" not in shown["D2"]
    for fmt in ("text", "html"):
        out = " ".join(_check(case, fmt).out.split())
        assert D1_WAIVER in out and D2_WAIVER in out, fmt
        d1 = out.index("D1 of web")
        assert out.index(D1_WAIVER) > d1 and out.index(D1_WAIVER) < out.index("D2 of web")


def test_markdown_names_the_covering_waiver_in_its_row(case: tuple[Path, Path]) -> None:
    rows = {
        line.split(" | ")[2]: line
        for line in _check(case, "markdown").out.splitlines()
        if "REVIEW-001" in line
    }
    assert "INC-1 outage fix" in rows["D1 *(waived)*"] and "INC-2" not in rows["D1 *(waived)*"]
    assert "INC-2 unrelated" in rows["D2 *(waived)*"] and "INC-1" not in rows["D2 *(waived)*"]


def test_oscal_names_the_waiver_that_covered_each_cause(case: tuple[Path, Path]) -> None:
    """Each cause's observation says which waiver covered its waived instances: before, it
    said only that they were waived, and the reason stood only in the control's remarks,
    beside every other waiver of its rule."""
    document = _check(case, "oscal").json()
    observations = document["assessment-results"]["results"][0]["observations"]
    remarks = {o["title"]: o.get("remarks", "") for o in observations}
    assert D1_WAIVER in remarks["REVIEW-001 D1"] and "INC-2" not in remarks["REVIEW-001 D1"]
    assert D2_WAIVER in remarks["REVIEW-001 D2"] and "INC-1" not in remarks["REVIEW-001 D2"]


def test_an_audit_signed_before_waived_by_still_replays(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    """A report signed before findings carried ``waived_by`` replays as the same findings:
    the field is new, not a change in what was found or waived."""
    repo, evidence = case
    config = write_yaml(
        tmp_path / "auditor.yaml", {"waiver_approvers": ["cro@example.com", "cfo@example.com"]}
    )
    assert run_cli("keygen", "--output", tmp_path / "k").code == 0
    audit = tmp_path / "feb.json"
    argv = ("--repo", repo, "--evidence", evidence)
    result = run_cli(
        "audit", *argv, "--config", config, "--period", "2024-02", "--as-of", "2024-03-01",
        "--key", tmp_path / "k.key", "-o", audit,
    )  # fmt: skip
    assert result.code == 0, result.err
    envelope = json.loads(audit.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    findings = statement["predicate"]["report"]["findings"]
    assert [f["waived_by"][0]["subject"] for f in findings] == ["D1", "D2"]
    for finding in findings:
        del finding["waived_by"]
    older = tmp_path / "older.json"
    older.write_text(
        json.dumps(dsse.sign(rfc8785.dumps(statement), load_private(str(tmp_path / "k.key"))))
    )
    for signed in (audit, older):
        verified = run_cli("verify", signed, "--key", tmp_path / "k.pub", "--replay", *argv)
        assert verified.code == 0, verified.err
