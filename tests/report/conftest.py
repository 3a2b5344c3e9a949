"""The small storm month, shared by the report tests that need many findings of few causes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.storm import build_storm, storm_copy


@pytest.fixture(scope="session")
def storm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small storm month, generated once for the session."""
    return build_storm(tmp_path_factory.mktemp("storm") / "org")


@pytest.fixture
def storm(storm_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The storm's repository and a copy of its evidence that a test may add waivers to."""
    return storm_copy(storm_root, tmp_path)
