"""The command line itself: version, help, module entry point, internal errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checker import __version__
from tests.conftest import run_cli


def test_version() -> None:
    result = run_cli("--version")
    assert result.code == 0
    assert __version__ in result.out


def test_python_dash_m_works(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "checker", "check", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "not a git repository" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bug_is_exit_3_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr("checker.runner.run_check", broken)
    monkeypatch.delenv("KNIGHTWATCH_DEBUG", raising=False)
    result = run_cli("check")
    assert result.code == 3
    assert "internal error" in result.err and "ZeroDivisionError" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["verify", "audit.json", "--key", ""], "--key"),
        (["check", "--evidence", " "], "--evidence"),
        (["check", "--repo", ""], "--repo"),
        (["audit", "--period", "2024-03", "--key", "k.pem", "-o", ""], "-o/--output"),
        (["audit", "--period", "2024-03", "--key", "", "-o", "a.json"], "--key"),
        (["import", "ansible", "--service", "web", ""], "RESULT"),
    ],
)
def test_an_empty_path_is_refused_naming_its_option(argv: list[str], option: str) -> None:
    """Before, ``--key "$KEY"`` with the variable unset read the current directory, and
    failed as a directory without naming the option; ``--evidence ""`` read whatever files
    the current directory held as evidence."""
    result = run_cli(*argv)
    assert result.code == 2
    assert f"argument {option}" in result.err and "is empty" in result.err
