"""What a signed audit is judged as of, and which month it names: the dates an audit's
command line gives are the audited team's, so none may weaken what is judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml


def unapproved_march(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    """A reviewed commit deployed in March 2026 with no approval (REVIEW-001, high), and a
    key pair ``k`` to sign its audit."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "app",
        {"app.py": "1\n"},
        author=DEV,
        date="2026-03-02T09:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [deployment("D1", sha, "2026-03-10T10:00:00Z")])
    run_cli("keygen", "--output", tmp_path / "k")
    return repo, evidence


def _waived_march(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    """``unapproved_march``, and a waiver for its finding, approved by the auditor's approver,
    that runs five years."""
    repo, evidence = unapproved_march(tmp_path)
    waiver = {
        "rule": "REVIEW-001",
        "subject": "D1",
        "reason": "emergency fix, approved in the incident ticket",
        "approved_by": "lee@example.com",
        "expires": "2031-01-01",
    }
    write_yaml(evidence / "waivers.yaml", [waiver])
    (tmp_path / "auditor.yaml").write_text("waiver_approvers: [lee@example.com]\n")
    return repo, evidence


def test_an_as_of_date_after_today_is_refused(tmp_path: Path) -> None:
    """A waiver may run a year past the as-of date. Judged as of today, the five-year waiver
    is an input error; an audit judged ``--as-of 2030-06-01`` took it, waived the finding
    and signed a pass (exit 0) that ``verify`` called valid. Nobody can judge as of a day
    that has not come."""
    repo, evidence = _waived_march(tmp_path)
    out = tmp_path / "march.json"
    base = (
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2026-03",
        "--key", tmp_path / "k.key", "--config", tmp_path / "auditor.yaml", "-o", out,
    )  # fmt: skip
    today = datetime.now(UTC).date()
    if today <= datetime(2027, 12, 31, tzinfo=UTC).date():
        refused = run_cli(*base)
        assert refused.code == 2 and "more than a year after" in refused.err, refused.err
    tomorrow = today + timedelta(days=1)
    for later in ("2030-06-01", tomorrow.isoformat()):
        result = run_cli(*base, "--as-of", later)
        assert result.code == 2, result.err
        assert f"--as-of {later} is after today ({today} UTC)" in result.err
        assert "Traceback" not in result.err
        assert not out.exists()
    assert run_cli(*base, "--as-of", "2026-04-01").code == 2  # the waiver: over a year again
