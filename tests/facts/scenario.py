"""The facts' end-to-end scenarios, as data in the format of evidence/examples/:
``scenarios/NAME/history.yaml`` scripts the repository (fixed authors and dates, so the same
shas everywhere) and ``scenarios/NAME/evidence/`` holds the evidence, which names them."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.demo.builder import ScriptedRepo, build_history
from checker.evidence.files import parse_records

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class Scenario:
    """A scenario built: its repository, its evidence directory, its commits by label."""

    repo: ScriptedRepo
    evidence: Path
    shas: dict[str, str]


def build_scenario(name: str, root: Path, *, jsonl: bool = False) -> Scenario:
    """Scenario ``name`` under ``root``; with ``jsonl``, its list files as JSON Lines."""
    source = SCENARIOS / name
    history = yaml.safe_load((source / "history.yaml").read_text())
    repo, shas = build_history(history, root / "repo")
    evidence = root / "evidence"
    shutil.copytree(source / "evidence", evidence)
    if jsonl:
        for path in sorted(evidence.glob("*.yaml")):
            if path.stem in ("deploys", "reviews", "observations", "flag_events", "waivers"):
                records = parse_records(path.read_bytes(), path)
                lines = "".join(json.dumps(record.value) + "\n" for record in records)
                path.with_suffix(".jsonl").write_text(lines)
                path.unlink()
    return Scenario(repo, evidence, shas)
