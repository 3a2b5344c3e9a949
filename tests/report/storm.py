"""A small storm month for the report tests: the bench's generator at a size that builds in a
second (a real repository written with git fast-import), where modules keep referencing flags
as they retire, so that most of its few hundred findings share a few dozen causes."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from tests.bench.generate import Size, generate
from tests.conftest import CliResult, run_cli

SMALL_STORM = Size(
    commits=600,
    deployments=60,
    services=2,
    hosts_per_service=2,
    flags=30,
    files_per_service=4,
    people=5,
    registry_every=20,
    storm=True,
    references=2,
    retire_one_in=2,
)
AS_OF = "2026-12-01"


def build_storm(root: Path, period: str = SMALL_STORM.period) -> Path:
    """The small storm under ``root`` (its deployments in ``period``)."""
    return generate(root, dataclasses.replace(SMALL_STORM, period=period))


def storm_copy(root: Path, target: Path) -> tuple[Path, Path]:
    """The storm's repository, and a copy of its evidence a test may add waivers to."""
    evidence = target / "evidence"
    shutil.copytree(root / "evidence", evidence)
    return root / "repo", evidence


def check(case: tuple[Path, Path], *extra: str | Path) -> CliResult:
    """``knightwatch check`` of the storm, JSON on stdout unless ``extra`` says otherwise."""
    repo, evidence = case
    return run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", AS_OF, "--format", "json",
        *extra,
    )  # fmt: skip
