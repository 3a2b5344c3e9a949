"""``verify`` tells an auditor the verdict a signed audit gives, and with it every setting
the audit was judged with that weakened or changed the rules: the verdict means nothing
without them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import run_cli, write_yaml
from tests.signing.test_audit_dates import unapproved_march


def _audit(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    """March 2026: one reviewed commit deployed with no approval (REVIEW-001, high)."""
    repo, evidence = unapproved_march(tmp_path)
    out = tmp_path / "march.json"
    made = run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2026-03",
        "--as-of", "2026-04-01", "--key", tmp_path / "k.key", "-o", out, *extra,
    )  # fmt: skip
    assert made.code in (0, 1), made.err
    return out, tmp_path / "k.pub"


def test_verify_names_a_weakening_setting_beside_the_verdict(tmp_path: Path) -> None:
    """Judged ``--fail-on critical``, the month's high finding does not fail it: ``verify``
    said ``verdict pass; 1 findings`` and nothing of the setting the signed report holds."""
    out, pub = _audit(tmp_path, "--fail-on", "critical")
    result = run_cli("verify", out, "--key", pub)
    assert result.code == 0, result.err
    assert "verdict pass; 1 findings" in result.out
    assert (
        "settings: judged with a setting that weakens or changes the rules: fail_on: critical "
        "from command line (WEAKER; default high)"
    ) in result.out


def test_verify_of_an_audit_with_the_default_settings_says_nothing_of_them(
    tmp_path: Path,
) -> None:
    out, pub = _audit(tmp_path)
    result = run_cli("verify", out, "--key", pub)
    assert result.code == 0, result.err
    assert "verdict fail; 1 findings" in result.out
    assert "settings:" not in result.out


def test_verify_names_whose_waivers_a_pass_rests_on(tmp_path: Path) -> None:
    """Whoever runs the audit names the waiver approvers; in a team's own pipeline, the team.
    ``verify`` said ``verdict pass; 1 findings (1 waived)`` and nothing of whose approvals
    the signed audit had accepted: the pass could rest on the team's own list unseen."""
    repo, evidence = unapproved_march(tmp_path)
    write_yaml(evidence / "waivers.yaml", [{
        "rule": "REVIEW-001", "subject": "D1", "reason": "emergency fix, ticket INC-4",
        "approved_by": "lee@example.com", "expires": "2026-06-30",
    }])  # fmt: skip
    config = tmp_path / "pipeline.yaml"
    config.write_text("waiver_approvers: [lee@example.com]\n")
    out = tmp_path / "march.json"
    made = run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2026-03",
        "--as-of", "2026-04-01", "--key", tmp_path / "k.key", "-o", out, "--config", config,
    )  # fmt: skip
    assert made.code == 0, made.err
    result = run_cli("verify", out, "--key", tmp_path / "k.pub")
    assert result.code == 0, result.err
    assert "verdict pass; 1 findings (1 waived)" in result.out
    assert (
        "waivers: 1 finding waived, under waiver_approvers lee@example.com "
        "(from --config pipeline.yaml); no approver's signature required (no waiver_keys): "
        "approved_by is the team's word\n"
    ) in result.out


def _waived_march(tmp_path: Path, approver: str) -> Path:
    """March's REVIEW-001 finding waived by ``approver``, whom the auditor's list names."""
    repo, evidence = unapproved_march(tmp_path)
    write_yaml(evidence / "waivers.yaml", [{
        "rule": "REVIEW-001", "subject": "D1", "reason": "emergency fix, ticket INC-4",
        "approved_by": approver, "expires": "2026-06-30",
    }])  # fmt: skip
    config = tmp_path / "pipeline.yaml"
    config.write_text("waiver_approvers: [lee@example.com]\n")
    out = tmp_path / "march.json"
    made = run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2026-03",
        "--as-of", "2026-04-01", "--key", tmp_path / "k.key", "-o", out, "--config", config,
    )  # fmt: skip
    assert made.code == 0, made.err
    return out


def test_verify_accepts_a_waiver_its_approver_wrote_in_another_form(tmp_path: Path) -> None:
    """The audit compares approvers by address alone (case, a display name aside); so does
    verify, and an honest waiver by ``Lee <LEE@Example.com>`` verifies."""
    out = _waived_march(tmp_path, "Lee <LEE@Example.com>")
    result = run_cli("verify", out, "--key", tmp_path / "k.pub")
    assert result.code == 0, result.err
    assert "verdict pass; 1 findings (1 waived)" in result.out


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        (
            "approved_by",
            "dev@example.com",
            "finding #1 is waived by 'dev@example.com', who is not among the waiver_approvers "
            "its report records (lee@example.com)",
        ),
        (
            "expires",
            "2026-03-15",
            "finding #1 of REVIEW-001 is waived by a waiver of 'REVIEW-001' expiring "
            "'2026-03-15', as of 2026-04-01",
        ),
        (
            "rule",
            "DEAD-003",
            "finding #1 of REVIEW-001 is waived by a waiver of 'DEAD-003' expiring",
        ),
    ],
)
def test_a_finding_waived_by_a_waiver_the_audit_would_not_apply_fails_verify(
    tmp_path: Path, field: str, value: str, said: str
) -> None:
    """The team signs in its own CI and writes what it likes: its high finding marked waived
    by a waiver approved by one of its own, not among the auditor's waiver_approvers the
    report records, or by one expired before the audit, or of another rule, verified
    (exit 0, verdict pass). The audit applies none of these."""
    out = _waived_march(tmp_path, "lee@example.com")
    st = json.loads(base64.b64decode(json.loads(out.read_text())["payload"]))
    (finding,) = st["predicate"]["report"]["findings"]
    finding["waived_by"][0][field] = value
    forged = tmp_path / "forged.json"
    forged.write_text(sign_statement(st, load_private(str(tmp_path / "k.key")))[0])
    result = run_cli("verify", forged, "--key", tmp_path / "k.pub")
    assert result.code == 1 and result.out == "", result.out + result.err
    assert f"verification failed (verdict): {forged}: {said}" in result.err
