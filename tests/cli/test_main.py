"""The command line itself: version, help, module entry point, internal errors."""

from __future__ import annotations

import os
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


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize(
    ("argv", "redirect"),
    [
        (["schema", "deploys"], "full"),  # a whole JSON Schema, at exit
        (["--version"], "full"),  # argparse's own print
        (["schema", "deploys"], "closed"),  # `knightwatch ... >&-`: Python has no stdout
    ],
)
def test_standard_output_that_cannot_be_written_is_not_called_a_bug(
    argv: list[str], redirect: str
) -> None:
    """`> /dev/full` or a closed descriptor was "internal error (a bug in knightwatch, not in
    your input): OSError" (or AttributeError), exit 3: the output was lost for a reason the
    user can fix, and the message sent them to report a bug."""
    with Path("/dev/full").open("w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "checker", *argv],
            stdout=full if redirect == "full" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            preexec_fn=None if redirect == "full" else _close_stdout,
        )
    said = "No space left on device" if redirect == "full" else "it is closed"
    assert proc.stderr == f"knightwatch: error: cannot write to standard output: {said}\n"
    assert proc.returncode == 2


def _close_stdout() -> None:
    os.close(1)
