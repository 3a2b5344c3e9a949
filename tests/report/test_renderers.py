"""Renderers are pure: every format, with and without findings, colour only when asked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from checker.report import RENDERERS
from checker.report.model import Finding, InputFile, Report, RuleStatus
from checker.vocabulary import SEVERITIES


def make_report(*findings: Finding, fail_on: str = "high") -> Report:
    return Report(
        findings=findings,
        rules=(
            RuleStatus("REVIEW-001", "Approved", "high", ("SOX",), True),
            RuleStatus("FLEET-001", "Fleet", "critical", ("CM-8",), False, "no fleet evidence"),
        ),
        fail_on=fail_on,
        as_of="2024-03-01",
        head="a" * 40,
        files=(InputFile("evidence", "deploys.yaml", "0" * 64),),
        tool_version="0.0.0",
        engine="regorus test",
        counts={"deployments": 1, "commits_shipped": 2},
    )


def finding(severity: str = "high", subject: str = "D1", waived: bool = False) -> Finding:
    return Finding(
        "REVIEW-001", severity, subject, f"<b>{subject}</b> & co", ("SOX",), "Approved", waived
    )


def test_each_format_is_the_renderer_of_its_name_loaded_only_when_asked_for() -> None:
    assert sorted(RENDERERS) == sorted(
        ["text", "json", "json-compact", "markdown", "html", "sarif", "junit", "oscal"]
    )
    script = (
        "import sys; from checker.cli import main; "
        "assert 'checker.report.html' not in sys.modules; "
        "from checker.report import RENDERERS; RENDERERS['html']; "
        "assert 'checker.report.html' in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", script], check=False).returncode == 0
    for name in RENDERERS:
        assert RENDERERS[name].name == name
        assert RENDERERS[name] is RENDERERS[name]


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_renderer_is_deterministic_and_mentions_each_finding(name: str) -> None:
    report = make_report(finding(subject="D2"), finding(subject="D1"))
    first = RENDERERS[name].render(report)
    assert first == RENDERERS[name].render(report)
    assert first.endswith("\n")
    for subject in ("D1", "D2", "FLEET-001"):
        assert subject in first


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("fail_on", SEVERITIES)
def test_exit_code_for_every_severity_and_threshold(severity: str, fail_on: str) -> None:
    report = make_report(finding(severity), fail_on=fail_on)
    failing = SEVERITIES.index(severity) >= SEVERITIES.index(fail_on)
    assert report.exit_code == (1 if failing else 0)
    assert report.verdict == ("fail" if failing else "pass")
    waived = make_report(finding(severity, waived=True), fail_on=fail_on)
    assert waived.exit_code == 0 and waived.summary()["waived"] == 1


def test_no_findings_passes() -> None:
    report = make_report()
    assert report.exit_code == 0
    assert "No findings." in RENDERERS["text"].render(report)


def test_json_shape() -> None:
    data = json.loads(RENDERERS["json"].render(make_report(finding())))
    assert data["schema"] == "knightwatch/report/v1"
    assert set(data) >= {"verdict", "findings", "summary", "inputs"}
    assert set(data["findings"][0]) >= {
        "rule",
        "severity",
        "subject",
        "message",
        "controls",
        "waived",
    }
    assert data["summary"]["not_evaluated"] == ["FLEET-001"]
    assert data["inputs"]["repository"]["head"] == "a" * 40


def test_text_colour_only_when_asked() -> None:
    report = make_report(finding("critical"))
    assert "\033[" not in RENDERERS["text"].render(report)
    assert "\033[1;31mCRITICAL" in RENDERERS["text"].render(report, color=True)
    assert "(waived)" in RENDERERS["text"].render(make_report(finding(waived=True)))


def test_html_escapes_every_value_and_loads_nothing() -> None:
    evil = Finding(
        "REVIEW-001", "high", '<script>alert("x")</script>', "a <b>bold</b> & co", ("SOX",), "T"
    )
    html = RENDERERS["html"].render(make_report(evil))
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html and "a &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert "http://" not in html and "https://" not in html and " src=" not in html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_markdown_escapes_table_cells() -> None:
    text = RENDERERS["markdown"].render(make_report(finding(subject="a|b")))
    assert "a\\|b" in text
    assert "\\<b\\>a\\|b\\</b\\> & co" in text


def test_markdown_cells_neither_mention_nor_link() -> None:
    """Posted as a pull-request comment, ``@org/team`` would notify a team and a bare URL
    become a link to wherever the evidence's author chose."""
    subject = "@org/team see https://evil.example/x or www.evil.example, mail a@b.example"
    text = RENDERERS["markdown"].render(make_report(finding(subject=subject)))
    assert "\\@org/team see https\\://evil.example/x or www\\.evil.example, mail a\\@b" in text
    assert "@org" not in text.replace("\\@", "") and "https://" not in text
