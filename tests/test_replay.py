"""Replay's comparison of a recorded report with a re-run, for a report past the listing limit:
its findings are one entry per group, so the groups' instances are compared too."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from checker.errors import VerificationError
from checker.replay import _same_findings
from checker.report import model
from tests.report.storm import build_storm, check, storm_copy


def test_a_grouped_report_replays_only_with_the_same_instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "LISTED_FINDINGS", 100)
    storm = storm_copy(build_storm(tmp_path / "org"), tmp_path)
    recorded = check(storm).json()
    assert recorded["findings_grouped"] is True
    _same_findings(recorded, check(storm).json())  # the same run: nothing to say

    # One instance of a group swapped for another subject: same count, same statement, so
    # the one-per-group findings are equal; the groups are not.
    changed = copy.deepcopy(recorded)
    group = next(g for g in changed["groups"] if g["count"] > 1)
    group["subjects"][0] = "svc99-9999:" + group["cause"]
    with pytest.raises(VerificationError, match=f"changed instances of: {group['rule']} "):
        _same_findings(changed, recorded)
