"""``verify`` tells an auditor the verdict a signed audit gives, and with it every setting
the audit was judged with that weakened or changed the rules: the verdict means nothing
without them."""

from __future__ import annotations

from pathlib import Path

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
