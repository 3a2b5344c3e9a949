"""Coverage judges every evidence name a rule may require, and nothing else."""

from __future__ import annotations

from pathlib import Path

from checker.evidence.bundle import KINDS, Evidence
from checker.facts.coverage import EVIDENCE_NAMES, describe
from checker.facts.document import InputDocument

EMPTY = InputDocument(
    deployments=[],
    commits={},
    flag_events=[],
    registries={},
    flag_history={},
    retired_in_history=[],
    registry_errors=[],
)


def test_every_evidence_name_is_judged() -> None:
    judged = describe(
        EMPTY, Evidence(directory=Path()), scope="", registry_file="f", unbounded=set()
    )
    assert sorted(judged) == sorted(EVIDENCE_NAMES)
    assert {kind.name for kind in KINDS} < set(EVIDENCE_NAMES)
    assert not any(c.present for c in judged.values())
