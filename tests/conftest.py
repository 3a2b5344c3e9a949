"""Shared fixtures: scripted git repositories with fixed dates, evidence writers, a CLI runner."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.cli import main
from checker.demo.builder import ScriptedRepo

DEV = "Dana Dev <dana@example.com>"
LEAD = "Lee Lead <lee@example.com>"
OPS = "ops@example.com"


@dataclass
class CliResult:
    """What one ``main([...])`` call did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)


def run_cli(*argv: str | Path) -> CliResult:
    """Call the CLI in process, as a user would from a shell."""
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return CliResult(code, out.getvalue(), err.getvalue())


def check_json(repo: Path, evidence: Path, *extra: str | Path) -> CliResult:
    """``knightwatch check`` of ``repo`` on ``evidence``, the JSON report on stdout."""
    return run_cli("check", "--repo", repo, "--evidence", evidence, "--format", "json", *extra)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's runs keep their default cache in a directory of their own, empty at the
    start: never the user's, never another test's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(autouse=True)
def _outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs are judged as outside GitHub Actions unless a test says otherwise: under it the
    text report stands between markers and annotations follow it."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """The CLI runner."""
    return run_cli


@pytest.fixture
def repo(tmp_path: Path) -> ScriptedRepo:
    """An empty repository on branch main."""
    return ScriptedRepo(tmp_path / "repo")


def write_yaml(path: Path, document: object) -> Path:
    """Write a YAML evidence file, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _an_hour_before(started_at: str) -> str:
    """An hour before ``started_at``, in UTC; ``started_at`` itself where it is no time (a
    test of bad input)."""
    try:
        start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return started_at
    return (start.astimezone(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(
    id: str,
    commit: str,
    started_at: str,
    *,
    approvals: list[dict[str, str]] | None = None,
    deployer: str = OPS,
    targets: list[dict[str, str]] | None = None,
    service: str = "web",
    environment: str = "production",
) -> dict[str, Any]:
    """A deployment record with sensible defaults (a host runs one environment of a
    service: another environment's default host is its own). An approval given without
    ``at`` is dated an hour before the deployment starts: after its commit was written, as
    REVIEW-001 asks of an approval."""
    host = "web-1" if environment == "production" else f"{environment}-web-1"
    dated = _an_hour_before(started_at)
    return {
        "id": id,
        "service": service,
        "environment": environment,
        "commit": commit,
        "started_at": started_at,
        "deployer": deployer,
        "approvals": [{"at": dated, **a} for a in approvals] if approvals is not None else [],
        "targets": targets if targets is not None else [{"host": host, "status": "succeeded"}],
    }
