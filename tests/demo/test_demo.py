"""``knightwatch demo``: the Knight Capital story, and its text agrees with its JSON report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from checker.demo.run import run_demo
from tests.conftest import run_cli


def test_demo_story_matches_its_report(tmp_path: Path) -> None:
    text, code = run_demo(tmp_path)
    assert code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "fail"
    rules = {(f["rule"], f["subject"]) for f in report["findings"]}
    assert ("REVIEW-001", "D-2012-07-27") in rules
    assert ("REVIEW-001", "D-2011-11-02") not in rules  # the earlier, approved deployment
    for finding in report["findings"]:
        assert f"{finding['rule']} ({finding['severity']})" in text
        assert finding["message"] in " ".join(text.split())
    assert f"{len(report['findings'])} findings, verdict FAIL" in text
    assert str(tmp_path / "report.json") in text


def test_demo_is_reproducible(tmp_path: Path) -> None:
    run_demo(tmp_path / "a")
    run_demo(tmp_path / "b")
    a = (tmp_path / "a" / "report.json").read_bytes()
    assert a == (tmp_path / "b" / "report.json").read_bytes()


def test_demo_command_needs_no_arguments() -> None:
    result = run_cli("demo")
    assert result.code == 0, result.err
    assert "Knight Capital" in result.out
    written = re.findall(r"^  (/\S+report\.json)$", result.out, re.MULTILINE)
    assert written and Path(written[0]).is_file()


def test_the_demo_signed_audit_verifies_with_the_printed_command(tmp_path: Path) -> None:
    text, _ = run_demo(tmp_path)
    command = text.strip().splitlines()[-1].split()
    assert command[:2] == ["knightwatch", "verify"]
    result = run_cli(*command[1:])
    assert result.code == 0, result.err
    assert "period: 2012-07; verdict fail" in result.out
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "What would have been blocked, and when:" in text
    assert "Before the flag was switched on at 13:30 UTC on 1 August: DEAD-007, FLEET-003." in text
