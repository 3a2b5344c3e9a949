"""DEAD-004: retired code stays retired. One reviewed commit that dropped the ``retired_code``
entry from the registry, the code left in place, made the audit pass: only the registry at the
deployed commit was read. Every entry of a version of the registry in the deployed commit's
history counts, naming the version that listed it; a version on a line of history the deployed
commit does not hold says nothing about it."""

from __future__ import annotations

from pathlib import Path

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, registry

PEG = {"path": "legacy/power_peg.py", "reason": "Power Peg retired", "retired_at": "2005-01-01"}
CODE = "def power_peg(): ...\n"


def _commit(repo: ScriptedRepo, files: dict[str, str | None], day: int) -> str:
    date = f"2024-01-{day:02d}T00:00:00Z"
    return repo.commit(f"day {day}", files, author=DEV, date=date, trailers=REVIEWED)


def _check(tmp_path: Path, repo: ScriptedRepo, deployed: dict[str, str]) -> CliResult:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment(i, sha, f"2024-02-{n:02d}T00:00:00Z", approvals=APPROVAL)
            for n, (i, sha) in enumerate(sorted(deployed.items()), start=1)
        ],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--no-cache",
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    return result


def _retired(result: CliResult) -> dict[str, str]:
    return {
        f["subject"]: f["message"] for f in result.json()["findings"] if f["rule"] == "DEAD-004"
    }


def _dropped(tmp_path: Path) -> tuple[ScriptedRepo, str, str]:
    """The registry retires legacy/power_peg.py (base), then one commit drops the entry and
    leaves the file (dropped)."""
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}
    base = _commit(repo, {**files, "app.py": "import legacy.power_peg\n"}, 1)
    dropped = _commit(repo, {"flags.yaml": registry()}, 2)
    return repo, base, dropped


def test_dropping_the_entry_does_not_retire_the_code_again(tmp_path: Path) -> None:
    repo, base, dropped = _dropped(tmp_path)
    messages = _retired(_check(tmp_path, repo, {"D1": dropped}))
    assert messages == {
        "D1:legacy/power_peg.py": (
            "Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            f"file: legacy/power_peg.py; listed under retired_code at {base[:12]} and since "
            "dropped from the registry."
        )
    }


def test_code_deleted_after_the_entry_was_dropped_passes(tmp_path: Path) -> None:
    repo, _, _ = _dropped(tmp_path)
    gone = _commit(repo, {"legacy/power_peg.py": None}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": gone})) == {}


def test_a_path_reused_after_the_entry_was_dropped_is_still_found(tmp_path: Path) -> None:
    """New code at a retired path cannot be told from the old code come back: the finding
    stands, and a waiver (or another path) is the answer."""
    repo, _, _ = _dropped(tmp_path)
    _commit(repo, {"legacy/power_peg.py": None}, 3)
    reused = _commit(repo, {"legacy/power_peg.py": "def new_thing(): ...\n"}, 4)
    assert list(_retired(_check(tmp_path, repo, {"D1": reused}))) == ["D1:legacy/power_peg.py"]


def test_an_entry_dated_after_the_deployment_counts_all_the_same(tmp_path: Path) -> None:
    """``retired_at`` records when; it does not hold the rule off, at the deployed commit or
    in its history."""
    repo = ScriptedRepo(tmp_path / "repo")
    later = {**PEG, "retired_at": "2030-01-01"}
    _commit(repo, {"flags.yaml": registry(retired_code=[later]), "legacy/power_peg.py": CODE}, 1)
    listed = repo.git("rev-parse", "HEAD")
    dropped = _commit(repo, {"flags.yaml": registry()}, 2)
    assert list(_retired(_check(tmp_path, repo, {"D1": listed, "D2": dropped}))) == [
        "D1:legacy/power_peg.py",
        "D2:legacy/power_peg.py",
    ]


def test_an_entry_listed_only_on_another_line_of_history_does_not_count(tmp_path: Path) -> None:
    """A branch that retires the code, deployed from the branch, is judged by it; the main
    line, which never merged that branch, is not."""
    repo = ScriptedRepo(tmp_path / "repo")
    start = _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    repo.branch("retire")
    side = _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 2)
    reverted = _commit(repo, {"flags.yaml": registry()}, 3)
    repo.checkout("main")
    main = _commit(repo, {"app.py": "x = 1\n"}, 4)
    assert start != main
    got = _retired(_check(tmp_path, repo, {"D1": side, "D2": reverted, "D3": main}))
    assert list(got) == ["D1:legacy/power_peg.py", "D2:legacy/power_peg.py"]
    assert got["D2:legacy/power_peg.py"].endswith(
        f"at {side[:12]} and since dropped from the registry."
    )
    assert got["D1:legacy/power_peg.py"].endswith("in 1 file: legacy/power_peg.py.")


def test_cached_and_uncached_runs_agree(tmp_path: Path) -> None:
    repo, _, dropped = _dropped(tmp_path)
    uncached = _check(tmp_path, repo, {"D1": dropped})
    base = ["check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json"]
    for _ in ("cold", "warm"):
        cached = run_cli(*base, "--cache-dir", tmp_path / "cache")
        assert (cached.code, cached.out) == (uncached.code, uncached.out)
