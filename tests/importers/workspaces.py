"""Repositories with an evidence directory, as the importer tests start from them."""

from __future__ import annotations

from pathlib import Path

import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli


def dated_commits(tmp_path: Path, count: int) -> tuple[ScriptedRepo, Path, list[str]]:
    """``count`` commits by dana, a day apart from 2024-02-01, and an empty compliance/."""
    repo = ScriptedRepo(tmp_path / "smars")
    shas = [
        repo.commit(
            f"change {n}",
            {f"module{n}.py": f"VALUE = {n}\n"},
            author="Dana <dana@knight.example>",
            date=f"2024-02-{n + 1:02d}T10:00:00Z",
        )
        for n in range(count)
    ]
    evidence = repo.path / "compliance"
    evidence.mkdir()
    return repo, evidence, shas


def order_router(tmp_path: Path, hosts: int) -> tuple[ScriptedRepo, Path, str]:
    """The order router's reviewed release, and a fleet.yaml of smars-01 .. smars-0N."""
    repo = ScriptedRepo(tmp_path / "smars")
    sha = repo.commit(
        "Order router 4.1",
        {"router.py": "def route(order):\n    return order\n"},
        author="Dana <dana@knight.example>",
        date="2012-07-20T10:00:00Z",
        trailers=("Reviewed-by: Lee <lee@knight.example>",),
    )
    evidence = repo.path / "compliance"
    evidence.mkdir()
    fleet = {"services": {"smars": {"hosts": [f"smars-0{n}" for n in range(1, hosts + 1)]}}}
    (evidence / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    return repo, evidence, sha


def import_ansible(repo: ScriptedRepo, source: Path, *extra: str) -> CliResult:
    """``knightwatch import ansible`` of ``source`` as deployment D-2012-08-01 of smars."""
    return run_cli(
        "import", "ansible", source, "--repo", repo.path, "--deployment-id", "D-2012-08-01",
        "--service", "smars", "--commit", "main", "--deployer", "tech1@knight.example",
        "--approval", "lead@knight.example,2012-07-27T21:30:00Z", *extra,
    )  # fmt: skip
