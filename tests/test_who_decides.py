"""The audited team cannot weaken its own audit: written as that team would try it, with its
own knightwatch.yaml, policies and dates, against the Knight case (9 findings, FAIL)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from checker.demo.knight import KnightCase, build_knight
from tests.conftest import CliResult, run_cli

DEAD_SERVER = "http://127.0.0.1:9"  # nothing listens there: any request to it fails at once


@pytest.fixture
def knight(tmp_path: Path) -> KnightCase:
    case = build_knight(tmp_path / "knight")
    assert run_cli("keygen", "--output", case.repo.parent / "signing").code == 0
    return case


def config(knight: KnightCase, text: str) -> None:
    (knight.repo / "knightwatch.yaml").write_text(text)


def audit(knight: KnightCase, *extra: str | Path) -> tuple[CliResult, dict[str, object]]:
    """July 2012's signed audit; the result and the signed statement's predicate."""
    out = knight.repo.parent / "audit.json"
    key = knight.repo.parent / "signing.key"
    result = run_cli(
        "audit", "--repo", knight.repo, "--period", "2012-07", "--as-of", "2012-08-02",
        "--key", key, "-o", out, *extra,
    )  # fmt: skip
    if not out.exists():
        return result, {}
    payload = json.loads(base64.b64decode(json.loads(out.read_text())["payload"]))
    return result, payload["predicate"]


def found(predicate: dict[str, object]) -> set[str]:
    report = predicate["report"]
    assert isinstance(report, dict)
    return {f["rule"] for f in report["findings"]}


def test_the_repository_cannot_send_its_audit_to_a_server_of_its_choosing(
    knight: KnightCase,
) -> None:
    """Once: engine: opa at a server answering every rule with nothing signed a clean pass."""
    config(knight, f"engine: opa\nopa:\n  url: {DEAD_SERVER}\n")
    result, predicate = audit(knight)
    assert result.code == 1, result.err  # judged here, by the embedded engine
    assert {"FLEET-001", "REVIEW-001", "DEAD-004"} <= found(predicate)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    ignored = {n["name"]: n for n in settings["not_applied"]}
    assert ignored["engine"]["value"] == "opa" and ignored["engine"]["applied"] is False
    assert ignored["opa"]["value"]["url"] == DEAD_SERVER
    # The replay an auditor runs by default evaluates here too, not on that server.
    signed = knight.repo.parent / "audit.json"
    replay = run_cli(
        "verify", signed, "--key", knight.repo.parent / "signing.pub", "--replay",
        "--repo", knight.repo,
    )  # fmt: skip
    assert replay.code == 0, replay.err
    assert "replayed" in replay.out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("fail_on: critical\n", "fail_on"),
        ("observation_grace_seconds: 999999999\n", "observation_grace_seconds"),
        ("reference_exclude: ['smars/**']\n", "reference_exclude"),
        ("flags_file: nothing.yaml\n", "flags_file"),
        ("protected_branch: HEAD\n", "protected_branch"),
        ("unlisted_services: [smars]\n", "unlisted_services"),
    ],
)
def test_a_setting_that_weakens_the_audit_is_not_applied_and_is_recorded(
    knight: KnightCase, text: str, name: str
) -> None:
    _, honest = audit(knight)
    config(knight, text)
    readable = knight.repo.parent / "audit.md"
    result, predicate = audit(knight, "--markdown", readable)
    assert result.code == 1, result.err
    assert found(predicate) == found(honest)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    assert [n["name"] for n in settings["not_applied"]] == [name]
    shown = readable.read_text()
    assert "**Not applied:**" in shown and name.replace("_", "\\_") in shown


def _text(knight: KnightCase) -> str:
    return run_cli("check", "--repo", knight.repo, "--as-of", "2012-08-02").out


def test_the_check_applies_the_repository_settings_but_says_they_weaken_it(
    knight: KnightCase,
) -> None:
    config(knight, "fail_on: critical\nobservation_grace_seconds: 999999999\n")
    text = _text(knight)
    assert "Settings that weaken or change the rules:" in text
    assert "fail_on: critical from knightwatch.yaml (WEAKER; default high)" in text
    assert "observation_grace_seconds: 999999999 from knightwatch.yaml (WEAKER; default 0)" in text
    report = run_cli("check", "--repo", knight.repo, "--format", "json").json()
    assert {n["name"]: n["effect"] for n in report["settings"]} == {
        "fail_on": "weaker",
        "observation_grace_seconds": "weaker",
    }
    markdown = run_cli("check", "--repo", knight.repo, "--format", "markdown").out
    assert "fail\\_on: critical from knightwatch.yaml" in markdown


def test_a_stricter_repository_setting_applies_to_the_audit(knight: KnightCase) -> None:
    config(knight, "fail_on: medium\nrequire_all: true\nreview_bots: [bot@knight.example]\n")
    result, predicate = audit(knight)
    assert result.code == 1
    report = predicate["report"]
    assert isinstance(report, dict)
    assert report["fail_on"] == "medium" and report["summary"]["require_all"] is True
    assert report["parameters"]["review_bots"] == ["bot@knight.example"]


def test_the_auditor_decides_with_its_own_config_and_the_signature_names_it(
    knight: KnightCase, tmp_path: Path
) -> None:
    auditor = tmp_path / "auditor.yaml"
    auditor.write_text("fail_on: critical\n")
    config(knight, "fail_on: low\n")  # stricter than the auditor: applies
    _, predicate = audit(knight, "--config", auditor)
    report = predicate["report"]
    assert isinstance(report, dict)
    assert report["fail_on"] == "low"
    config(knight, "")
    _, predicate = audit(knight, "--config", auditor)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    weakened = settings["weakened"]
    assert [(n["name"], n["source"]) for n in weakened] == [("fail_on", "--config auditor.yaml")]
    assert settings["config_file"]["path"] == "auditor.yaml"


def test_a_token_variable_is_a_knightwatch_one(knight: KnightCase) -> None:
    config(
        knight, f"engine: opa\nopa:\n  url: {DEAD_SERVER}\n  token_env: KNIGHTWATCH_SIGNING_KEY\n"
    )
    result = run_cli("check", "--repo", knight.repo)
    assert result.code == 2
    assert "may name only a KNIGHTWATCH_OPA_* variable" in result.err


def test_the_repository_cannot_extend_the_shipped_packages(knight: KnightCase) -> None:
    policies = knight.repo / "our-rules"
    policies.mkdir()
    (policies / "approve.rego").write_text(
        "package knightwatch.review\n\nimport rego.v1\n\nindependently_approved(d) if true\n"
    )
    config(knight, "policies: [our-rules]\n")
    result = run_cli("check", "--repo", knight.repo)
    assert result.code == 2
    assert "package knightwatch.review is reserved for the shipped policies" in result.err


def test_an_as_of_date_before_the_month_ended_is_refused(knight: KnightCase) -> None:
    """Once: --as-of 1900-01-01 made expired waivers valid again, in a signed pass."""
    out = knight.repo.parent / "old.json"
    result = run_cli(
        "audit", "--repo", knight.repo, "--period", "2012-07", "--as-of", "1900-01-01",
        "--key", knight.repo.parent / "signing.key", "-o", out,
    )  # fmt: skip
    assert result.code == 2
    assert "--as-of 1900-01-01 is before 2012-08-01" in result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("old", "typo", "needle"),
    [
        ("2012-07-", "2102-07-", "started_at '2102-07-27T22:00:00Z' is in the future"),
        ("2012-07-27T", "2002-07-27T", "is before its commit 7a082e589e01 was written"),
    ],
)
def test_a_deployment_start_outside_its_history_is_refused(
    knight: KnightCase, old: str, typo: str, needle: str
) -> None:
    """Once: a year typo silently moved the Knight deployment out of July 2012."""
    deploys = knight.evidence / "deploys.yaml"
    deploys.write_text(deploys.read_text().replace(old, typo))
    result = run_cli("check", "--repo", knight.repo)
    assert result.code == 2
    assert "deploys.yaml:" in result.err and needle in result.err
