"""Evidence written to fool a reader: ANSI sequences that paint a fake PASS, carriage returns,
bidirectional overrides, C1 controls, NUL, non-characters and huge strings. Every format must
show them, never obey them, and stay well-formed."""

from __future__ import annotations

import json
import re
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from junitparser import JUnitXml

from checker.demo.builder import ScriptedRepo
from checker.report.escape import json_safe, visible
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.report.oscal_schema import schema_errors

FAKE_PASS = "\x1b[2K\r\x1b[32mPASS: no findings; 14 of 14 rules evaluated\x1b[0m"
HOSTILE_ID = f"D1\u202eFAIL\u202c\ufffe{'x' * 200_000}"
"""Ids and hosts refuse control characters (C0, DEL, C1, line separators) at input: what
stays allowed in them, bidirectional overrides and non-characters, must still be shown."""
HOSTILE_REASON = f"{FAKE_PASS}\x00\x9b31m\x1b]8;;https://example.invalid\x07link\x1b]8;;\x07"
"""A target's reason is free text the deploy tool wrote, quoted in FLEET findings."""
HOSTILE_HOST = "web-1\u202e"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
"""What no format may carry raw (JSON carries C0 as its own \\u escapes, never raw)."""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    repo = ScriptedRepo(root / "repo")
    sha = repo.commit("unreviewed", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = root / "ev"
    evidence.mkdir()
    record = deployment(
        HOSTILE_ID,
        sha,
        "2024-02-01T09:00:00Z",
        targets=[{"host": HOSTILE_HOST, "status": "failed", "reason": HOSTILE_REASON}],
    )
    # JSON Lines carry every character, including NUL, through JSON's own escapes.
    (evidence / "deploys.jsonl").write_text(json.dumps(record) + "\n")
    (evidence / "fleet.yaml").write_text(
        "services:\n  web:\n    hosts: [" + json.dumps(HOSTILE_HOST) + "]\n"
    )
    return repo.path, evidence


def _check(hostile: tuple[Path, Path], *argv: str | Path) -> CliResult:
    repo, evidence = hostile
    return run_cli("check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01", *argv)


@pytest.mark.parametrize("color", ["never", "always"])
def test_the_terminal_shows_escapes_and_obeys_none(hostile: tuple[Path, Path], color: str) -> None:
    result = _check(hostile, "--color", color)
    assert result.code == 1, result.err
    shown = result.out
    assert "\\x1b[32mPASS: no findings" in shown  # the fake verdict, visible as text
    assert shown.splitlines()[-1].startswith(("FAIL", "\x1b[1;31mFAIL"))
    assert "\x1b[2K" not in shown and "\x1b[32m" not in shown and "\r" not in shown
    assert "\x9b" not in shown and "\u202e" not in shown and "\x00" not in shown
    assert "\x1b]8;;" not in shown and "\x07" not in shown
    if color == "never":
        assert "\x1b" not in shown


def test_github_annotations_show_escapes(hostile: tuple[Path, Path]) -> None:
    result = _check(hostile, "--github", "always")
    commands = [line for line in result.out.splitlines() if line.startswith("::")]
    assert commands and all(RAW.search(line) is None for line in commands)


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_annotations_beside_a_report_on_standard_output_go_to_standard_error(
    hostile: tuple[Path, Path], fmt: str
) -> None:
    """Before, ``check --format sarif > report.sarif`` under GitHub Actions wrote the
    annotations after the document: the file was no longer one SARIF reader would take."""
    result = _check(hostile, "--github", "always", "--format", fmt)
    assert "::error" in result.err
    assert not [line for line in result.out.splitlines() if line.startswith("::")]
    if fmt == "junit":
        ET.fromstring(result.out)  # noqa: S314  (our own output)
    else:
        json.loads(result.out)


def test_every_file_format_stays_well_formed(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    names = ("r.json", "r.sarif", "r.xml", "r.html", "r.md", "r.txt", "r.oscal.json")
    result = _check(hostile, *(arg for name in names for arg in ("-o", tmp_path / name)))
    assert result.code == 1, result.err
    texts = {name: (tmp_path / name).read_text(encoding="utf-8") for name in names}
    for name, text in texts.items():
        assert RAW.search(text) is None, f"{name} carries a raw control character"
    report = json.loads(texts["r.json"])
    assert {f["subject"] for f in report["findings"]} >= {HOSTILE_ID}  # data kept exactly
    json.loads(texts["r.sarif"])
    assert schema_errors(json.loads(texts["r.oscal.json"])) == []
    assert "\\x1b[32mPASS" in texts["r.oscal.json"]
    junit = ET.fromstring(texts["r.xml"])  # noqa: S314  (our own output)
    assert junit.tag == "testsuites"
    suites = JUnitXml.fromfile(str(tmp_path / "r.xml"))
    assert sum(1 for suite in suites for _ in suite) >= 3
    parser = HTMLParser()
    parser.feed(texts["r.html"])
    parser.close()
    assert "\\x1b[32mPASS" in texts["r.html"]
    assert "\\\\x1b\\[32mPASS" in texts["r.md"]  # Markdown escapes the backslash and the bracket


def test_error_messages_show_escapes(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    (tmp_path / "ev").mkdir()
    record = deployment(f"D1{FAKE_PASS}", "0" * 40, "2024-02-01T09:00:00Z")
    (tmp_path / "ev" / "deploys.jsonl").write_text(json.dumps(record) + "\n")
    result = run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev")
    assert result.code == 2
    # Refused at input, and the refusal quotes the id with its escapes shown.
    assert "control character" in result.err and "\\x1b[32mPASS" in result.err
    assert "\x1b" not in result.err and "\r" not in result.err


def test_a_file_name_that_is_not_utf8_is_reported_not_a_crash(tmp_path: Path) -> None:
    """A repository may name a file with any bytes: the finding that points at it must still
    be written, in every format, with the byte shown as an escape."""
    repo = ScriptedRepo(tmp_path / "repo")
    registry = "flags:\n  - {name: old_mode, purpose: p, owner: o, status: retired, "
    registry += "created: 2023-01-01, retired_at: 2023-06-01}\n"
    name = "src/legacy\udcff.py"  # the byte 0xff, as Python spells an undecodable file name
    sha = repo.commit(
        "flag retired, code left",
        {"flags.yaml": registry, name: "if flags.on('old_mode'): pass\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
    )
    write_yaml(tmp_path / "ev" / "deploys.yaml", [deployment("D1", sha, "2024-02-01T09:00:00Z")])
    outputs = [tmp_path / f"r.{ext}" for ext in ("json", "sarif", "xml", "html", "md", "txt")]
    argv = [arg for out in outputs for arg in ("-o", out)]
    result = run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev", *argv)
    assert result.code == 1, result.err
    report = json.loads(outputs[0].read_text(encoding="utf-8"))
    dead = [f for f in report["findings"] if f["rule"] == "DEAD-001"]
    assert [f.get("location") for f in dead] == ["src/legacy\\xff.py"]
    for out in outputs:
        out.read_text(encoding="utf-8")  # every byte written is UTF-8


@pytest.mark.parametrize("shown_by", [visible, json_safe])
def test_escaping_many_line_separators_takes_memory_for_the_result_alone(
    shown_by: Callable[[str], str],
) -> None:
    text = json.dumps("R\u2028" * 200_000, ensure_ascii=False)
    tracemalloc.start()
    try:
        shown = shown_by(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shown.count("\\u2028") == 200_000
    assert peak < 2 * len(shown)  # a match object and a piece each would be ten times that


def test_the_text_reports_header_shows_the_repositorys_own_text(tmp_path: Path) -> None:
    """The header lists the files evidence_ignore matched and the settings that weaken the
    rules: a file name and a reference_exclude glob are the team's text. Before, both were
    printed raw, and a carriage return and colour painted over the line."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [deployment("D1", sha, "2024-02-01T09:00:00Z")])
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    (evidence / f"notes{FAKE_PASS}.txt").write_text("x\n")
    glob = f"x{FAKE_PASS}"
    write_yaml(
        repo.path / "knightwatch.yaml",
        {"evidence_ignore": ["notes*"], "reference_exclude": [glob]},
    )
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--as-of", "2024-03-01")
    assert result.code == 1, result.err
    assert not RAW.search(result.out)
    assert f"Not evidence (evidence_ignore): notes{visible(FAKE_PASS)}.txt" in result.out
    assert f"reference_exclude: [x{visible(FAKE_PASS)}]" in result.out
