"""Knight Capital, 2003 to 2012, as a git repository and the evidence an auditor would hold.

The facts follow the SEC's order (Release 34-70694): Power Peg, a test-only routine, was
left in SMARS after it was retired; in 2012 new Retail Liquidity Program code reused the flag
that once switched Power Peg on; a technician deployed it to seven of eight servers with no
second review; on 1 August 2012 the flag was switched on while the eighth still ran the old
code, and Power Peg sent millions of orders in 45 minutes.

The case is data, in the format of the example cases: ``knight_case/history.yaml`` scripts
the repository (fixed authors and dates, so its shas are the same everywhere) and
``knight_case/evidence/`` holds the evidence, which ``build_knight`` puts in the repository's
``compliance/`` directory, where knightwatch looks by default.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.demo.builder import build_history

CASE = Path(__file__).resolve().parent / "knight_case"


@dataclass(frozen=True)
class KnightCase:
    """Where the reconstruction lives and the commits that matter in it."""

    repo: Path
    evidence: Path
    power_peg: str
    retired: str
    rlp: str
    rlp_flag: str


def build_knight(directory: Path) -> KnightCase:
    """Write the repository and its ``compliance/`` evidence under ``directory``."""
    history = yaml.safe_load((CASE / "history.yaml").read_text(encoding="utf-8"))
    repo, shas = build_history(history, directory / "smars")
    evidence = repo.path / "compliance"
    shutil.copytree(CASE / "evidence", evidence)
    return KnightCase(
        repo.path, evidence, shas["power_peg"], shas["retired"], shas["rlp"], shas["rlp_flag"]
    )
