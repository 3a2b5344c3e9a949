"""A timestamp's offset is one some time zone uses: -12:00 to +14:00, in quarter hours. An
offset no clock shows (``+23:59``) is within RFC 3339's grammar, yet moves the instant by up
to a day: a flag switched on over a mixed fleet, read as switched on before the deployment."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.models import check_timestamp
from tests.conftest import DEV, run_cli
from tests.evidence.test_bad_input import GOOD
from tests.test_examples import ROOT, SCHEMAS, check_args

PARTIAL_ROLLOUT = ROOT / "evidence" / "examples" / "partial-rollout"

IN_USE = ["+05:45", "+08:45", "+12:45", "+13:45", "+14:00", "-09:30", "-12:00", "-03:30"]
"""Offsets of real time zones at their edges: Nepal, Eucla, Chatham (standard and summer),
the Line Islands, the Marquesas, the International Date Line's west, Newfoundland."""

NO_ZONE = ["+23:59", "-15:00", "+05:17", "+14:15", "-12:15", "+00:01"]


def _forge(tmp_path: Path, at: str) -> list[str | Path]:
    """partial-rollout, its flag switched on at ``at`` instead of after the second rollout."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    events = tmp_path / "evidence" / "flag_events.yaml"
    events.write_text(events.read_text().replace("2024-05-02T12:00:00Z", at))
    return args


def test_a_forged_offset_no_longer_hides_a_flag_switched_on_over_a_mixed_fleet(
    tmp_path: Path,
) -> None:
    # 2024-05-03T08:59+23:59 is 2024-05-02T09:00Z: before the rollout that missed r-4, so
    # FLEET-003 found nothing and the flag event's date still read as the day after.
    result = run_cli(*_forge(tmp_path, "2024-05-03T08:59:00+23:59"))
    assert result.code == 2, result.err
    assert result.out == ""
    first = result.err.splitlines()[0]
    assert "flag_events.yaml:1: flag event #1: at: " in first
    assert "'2024-05-03T08:59:00+23:59' has offset +23:59, which no time zone uses" in first


def test_the_same_instant_in_a_real_zone_is_judged(tmp_path: Path) -> None:
    """The event as the clock of a real zone wrote it (+05:45): still a finding."""
    result = run_cli(*_forge(tmp_path, "2024-05-02T17:45:00+05:45"))
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]) for f in json.loads(result.out)["findings"]}
    assert ("FLEET-003", "fast_path@2024-05-02T17:45:00+05:45") in found


@pytest.mark.parametrize("offset", NO_ZONE)
def test_an_offset_no_time_zone_uses_is_an_input_error(tmp_path: Path, offset: str) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "deploys.yaml").write_text(GOOD.replace("09:00:00Z", f"09:00:00{offset}"))
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence)
    assert result.code == 2, result.err
    assert "deploys.yaml:5: deployment #1: started_at: timestamp " in result.err
    assert f"has offset {offset}, which no time zone uses" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("offset", [*IN_USE, "-00:00", "+00:00"])
def test_offsets_time_zones_use_are_read(offset: str) -> None:
    text = f"2024-05-02T12:00:00{offset}"
    assert check_timestamp(text) == text


def test_the_published_schema_allows_the_same_offsets() -> None:
    schema = json.loads((SCHEMAS / "flag_events.schema.json").read_text())
    event = {"flag": "f", "service": "s", "environment": "e", "enabled": True, "by": "x"}
    for offset in IN_USE:
        jsonschema.validate([{**event, "at": f"2024-05-02T12:00:00{offset}"}], schema)
    for offset in NO_ZONE:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([{**event, "at": f"2024-05-02T12:00:00{offset}"}], schema)
