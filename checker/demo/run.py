"""``knightwatch demo``: rebuild the 2012 case in a new directory, audit it, tell the story."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from checker.demo.knight import build_knight
from checker.demo.story import narrate
from checker.report import RENDERERS
from checker.runner import CheckOptions, run_check
from checker.writer import write_atomic

AS_OF = date(2012, 8, 1)


def run_demo(directory: Path | None = None) -> tuple[str, int]:
    """Build, check and narrate; returns the text to print and the report's exit code."""
    target = directory or Path(tempfile.mkdtemp(prefix="knightwatch-demo-"))
    case = build_knight(target)
    report = run_check(CheckOptions(repo=case.repo, evidence=case.evidence, as_of=AS_OF))
    written = []
    for name in ("json", "text"):
        path = target / f"report.{'txt' if name == 'text' else name}"
        write_atomic(path, RENDERERS[name].render(report))
        written.append(path)
    return narrate(report, written), report.exit_code
