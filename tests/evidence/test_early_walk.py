"""A walk of the registry's history begun ahead of the run (``begin_versions``): taken only for
exactly its tips, with the answer and calls a walk begun on demand gives; cancelled (its git
process killed) when the run asks for other tips, or never asks. And the gate's guess at its
tips (``recorded_commits``), which gives up rather than guess from what it cannot read."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.errors import InputError
from checker.evidence import git_content
from checker.evidence.bundle import recorded_commits
from checker.evidence.git import GitHistory
from checker.evidence.git_content import EarlyVersions, FileVersion, GitContent, begin_versions
from checker.gate import Gate
from tests.conftest import DEV, LEAD


def _date(n: int) -> str:
    return f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z"


def _flags(a: str, z: str) -> str:
    """A registry whose first and last flags change apart (git merges the two edits)."""
    return (
        f"flags:\n- name: a\n  status: {a}\n- name: m\n  status: active\n- name: z\n  status: {z}\n"
    )


@pytest.fixture
def registry(tmp_path: Path) -> tuple[ScriptedRepo, dict[str, str]]:
    """A registry written on main and on a branch, renamed once, merged back."""
    repo = ScriptedRepo(tmp_path / "repo")
    counter = itertools.count()
    s: dict[str, str] = {}

    def commit(name: str, files: dict[str, str | None]) -> None:
        s[name] = repo.commit(name, files, author=DEV, date=_date(next(counter)))

    commit("seed", {"seed.yaml": "flags: []\n", "app.py": "0"})
    s["moved"] = repo.move("seed.yaml", "flags.yaml", author=DEV, date=_date(50), message="mv")
    commit("one", {"flags.yaml": _flags("active", "active")})
    repo.branch("side")
    commit("side", {"flags.yaml": _flags("active", "retired")})
    repo.checkout("main")
    commit("code", {"app.py": "1"})
    commit("two", {"flags.yaml": _flags("retired", "active")})
    s["merge"] = repo.merge("side", "merge side", author=LEAD, date=_date(60))
    return repo, s


def _on_demand(path: Path, tips: list[str]) -> tuple[list[FileVersion], list[FileVersion]]:
    """The versions and the ``each`` calls of a walk no one began ahead."""
    history = GitHistory(path)
    seen: list[FileVersion] = []
    try:
        return GitContent(history).versions("flags.yaml", tips, seen.append), seen
    finally:
        history.close()


def _early_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "git log (early)"]


def test_a_walk_begun_ahead_answers_as_one_begun_on_demand(
    registry: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, s = registry
    read_on_demand = GitContent(GitHistory(repo.path))
    for tips in ([s["merge"]], [s["side"], s["two"]], [s["one"]], [s["merge"], s["one"]]):
        want, calls = _on_demand(repo.path, tips)
        assert want  # the registry has versions in every one of these histories
        history = GitHistory(repo.path)
        begin_versions(history, "flags.yaml", list(reversed(tips)))  # order does not matter
        seen: list[FileVersion] = []
        content = GitContent(history)
        assert content.versions("flags.yaml", tips, seen.append) == want
        assert seen == calls  # every version git reported, in the order it reported them
        assert not history.early  # taken
        blobs = {v.blob for v in want if v.blob is not None}
        assert set(content._ahead) == blobs  # read ahead, as git reported them
        assert all(content.blob(b) == read_on_demand.blob(b) for b in blobs)
        assert not content._ahead  # each handed out once
        history.close()


def test_a_walk_begun_for_other_tips_is_cancelled_and_the_run_walks_its_own(
    registry: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, s = registry
    want, _ = _on_demand(repo.path, [s["two"]])
    history = GitHistory(repo.path)
    begin_versions(history, "flags.yaml", [s["merge"]])
    (early,) = history.early.values()
    assert isinstance(early, EarlyVersions)
    assert GitContent(history).versions("flags.yaml", [s["two"]]) == want
    assert not history.early
    assert not _early_threads()
    assert all(p.poll() is not None for p in early._processes)
    history.close()


def test_closing_the_history_cancels_a_walk_no_one_asked_for(
    registry: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, s = registry
    history = GitHistory(repo.path)
    begin_versions(history, "flags.yaml", [s["merge"]])
    begin_versions(history, "flags.yaml", [s["merge"]])  # begun once
    (early,) = history.early.values()
    assert isinstance(early, EarlyVersions)
    history.close()
    assert not history.early
    assert not _early_threads()
    assert all(p.poll() is not None for p in early._processes)


def test_a_walk_begun_ahead_that_fails_fails_where_it_is_taken(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("c0", {"flags.yaml": "flags: []\n"}, author=DEV, date=_date(0))
    history = GitHistory(repo.path)
    begin_versions(history, "flags.yaml", ["f" * 40])
    with pytest.raises(InputError, match=r"git object f{40} cannot be read"):
        GitContent(history).versions("flags.yaml", ["f" * 40])
    history.close()


def _record(service: str, environment: str, commit: object, **extra: object) -> str:
    return json.dumps({"service": service, "environment": environment, "commit": commit, **extra})


def test_the_gate_guesses_its_tips_from_the_lines_naming_its_service(tmp_path: Path) -> None:
    scope = Gate(revision="main", service="svc00").stream
    needle = b'"svc00"'
    assert recorded_commits(tmp_path / "absent", scope, needle) == []
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    assert recorded_commits(evidence, scope, needle) == []  # no records: no history
    lines = [
        _record("svc00", "production", "c1"),
        _record("svc00", "staging", "c2"),  # another stream
        _record("svc01", "production", "c3", deployer="svc00"),  # names it, is not of it
        "",
        _record("svc00", "production", "c4"),
    ]
    (evidence / "deploys.jsonl").write_text("\n".join(lines))  # no final line feed
    assert recorded_commits(evidence, scope, needle) == ["c1", "c4"]


@pytest.mark.parametrize(
    "line",
    [
        '{"service": "svc00", "environment": "production", "commit": ',  # does not parse
        _record("svc00", "production", ["c1"]),  # not a string
    ],
)
def test_the_guess_gives_up_where_a_line_of_its_service_cannot_be_read(
    tmp_path: Path, line: str
) -> None:
    (tmp_path / "deploys.jsonl").write_text(_record("svc00", "production", "c0") + "\n" + line)
    assert recorded_commits(tmp_path, Gate("main", "svc00").stream, b'"svc00"') is None


def test_the_guess_gives_up_on_yaml_records_and_on_two_files(tmp_path: Path) -> None:
    scope = Gate("main", "svc00").stream
    (tmp_path / "deploys.yaml").write_text("[]\n")
    assert recorded_commits(tmp_path, scope, b'"svc00"') is None
    (tmp_path / "deploys.jsonl").write_text(_record("svc00", "production", "c0"))
    assert recorded_commits(tmp_path, scope, b'"svc00"') is None


def test_blobs_read_ahead_in_one_batch_are_the_blobs_read_one_by_one(
    registry: tuple[ScriptedRepo, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, s = registry
    history = GitHistory(repo.path)
    one_by_one = GitContent(history)
    versions = one_by_one.versions("flags.yaml", [s["merge"]])
    blobs = sorted({v.blob for v in versions if v.blob is not None})
    assert len(blobs) > 2
    ahead = GitContent(history)
    ahead.read_ahead([*blobs, "0" * 40])  # an absent object is no error here
    assert set(ahead._ahead) == set(blobs)
    assert all(ahead.blob(b) == one_by_one.blob(b) for b in blobs)
    assert ahead.blob("0" * 40) is None
    monkeypatch.setattr(git_content, "BLOBS_AHEAD", 1)
    budget = GitContent(history)
    budget.read_ahead(blobs)
    assert list(budget._ahead) == blobs[:1]  # over the budget after the first: the rest later
    assert all(budget.blob(b) == one_by_one.blob(b) for b in blobs)
    history.close()


def test_a_run_interrupted_while_it_waits_for_a_walk_leaves_no_git_process(
    registry: tuple[ScriptedRepo, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run stopped (a signal, a failure) while it waits for a walk begun ahead, already
    handed to it, kills the walk's git processes: none outlives the run."""
    repo, s = registry
    real = shutil.which("git")
    slow = tmp_path / "bin" / "git"  # a walk on a long history: git log says nothing for long
    slow.parent.mkdir()
    slow.write_text(f'#!/bin/sh\n[ "$1" = log ] && exec sleep 60\nexec {real} "$@"\n')
    slow.chmod(0o755)
    history = GitHistory(repo.path)
    monkeypatch.setenv("PATH", f"{slow.parent}{os.pathsep}{os.environ['PATH']}")
    begin_versions(history, "flags.yaml", [s["merge"]])
    (early,) = history.early.values()
    assert isinstance(early, EarlyVersions)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            GitContent(history).versions("flags.yaml", [s["merge"]])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert early._processes  # the walk had begun
    assert all(p.poll() is not None for p in early._processes)
    assert not _early_threads()
    history.close()
