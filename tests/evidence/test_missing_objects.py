"""An object the history names but git cannot read (deleted from the object store, or damaged)
stops the run: read as empty, a registry version that retired a flag, a file naming a retired
flag or a directory holding one would each drop findings and turn a failing check into a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry


def _case(tmp_path: Path) -> tuple[ScriptedRepo, str, Path]:
    """``old`` is active, retired, then active again with code using it: the deployed commit
    revives a retired flag and references it."""
    repo = ScriptedRepo(tmp_path / "repo")
    for day, status, code in (
        (1, "active", "x\n"),
        (2, "retired", "x\n"),
        (3, "active", "old()\n"),
    ):
        sha = repo.commit(
            f"day {day}",
            {"flags.yaml": registry(flag("old", "O", status)), "src/app.py": code},
            author=DEV,
            date=f"2024-01-0{day}T00:00:00Z",
            trailers=REVIEWED,
        )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-04T00:00:00Z", approvals=APPROVAL)],
    )
    return repo, sha, tmp_path / "ev"


def _runs(repo: ScriptedRepo, evidence: Path) -> list[CliResult]:
    common = ["--repo", repo.path, "--evidence", evidence, "--no-cache", "--as-of", "2024-01-05"]
    return [
        run_cli("check", *common),
        run_cli("check", *common, "--candidate", "main", "--service", "web"),
    ]


def _remove(repo: ScriptedRepo, name: str, how: str) -> str:
    sha = repo.git("rev-parse", name)
    loose = repo.path / ".git" / "objects" / sha[:2] / sha[2:]
    loose.chmod(0o644)
    if how == "deleted":
        loose.unlink()
    else:
        loose.write_bytes(loose.read_bytes()[:20])
    return sha


@pytest.mark.parametrize("how", ["deleted", "truncated"])
@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("HEAD~1:flags.yaml", "the registry version that retired the flag"),
        ("HEAD:src/app.py", "the file that names the flag"),
        ("HEAD:src", "the directory that holds it"),
    ],
)
def test_an_object_git_cannot_read_stops_the_run(
    tmp_path: Path, name: str, what: str, how: str
) -> None:
    repo, _, evidence = _case(tmp_path)
    assert all(r.code == 1 for r in _runs(repo, evidence)), what  # findings while intact
    sha = _remove(repo, name, how)
    for result in _runs(repo, evidence):
        assert result.code == 2, (what, result.out, result.err)
        assert sha in result.err
        assert "cannot be read" in result.err or "does not hash to its name" in result.err
        assert "Traceback" not in result.err
