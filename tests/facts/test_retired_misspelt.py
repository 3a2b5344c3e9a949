"""DEAD-006: a ``retired_code`` entry that names no file retires nothing. The registry listed
``legacy/powerpg.py`` for ``legacy/powerpeg.py`` (or a glob ``legacy/powerpeg/*.pyy``, or a
folder ``legcy/``): the entry covered nothing, the retired code shipped, and the check passed
(exit 0). An entry no tree in the history of a version listing it ever held a file of is
reported for the oldest such version; an honest entry (a guard for code deleted long before
it was listed, code deleted or moved in the listing commit, code renamed before) is not."""

from __future__ import annotations

from pathlib import Path

from checker.demo.builder import ScriptedRepo
from checker.facts.misspelt import literal_folder
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, flag, registry
from tests.facts.test_retired_history import CODE, PEG, _check, _commit, _retired

WHY = (
    "no file: no commit in the history of the versions listing it held one, so it retires "
    "nothing (a misspelt path?); write the path the retired code has, or had, in the repository"
)


def _entry(path: str) -> dict[str, str]:
    return {**PEG, "path": path}


def _unreadable(result: CliResult) -> dict[str, str]:
    return {
        f["subject"]: f["message"] for f in result.json()["findings"] if f["rule"] == "DEAD-006"
    }


def _listed_beside_the_code(tmp_path: Path, *paths: str) -> tuple[ScriptedRepo, str]:
    """The registry lists ``paths`` while the code is at legacy/powerpeg.py and in
    legacy/powerpeg/."""
    repo = ScriptedRepo(tmp_path / "repo")
    code = {"legacy/powerpeg.py": CODE, "legacy/powerpeg/strategy.py": CODE + "x = 1\n"}
    flags = registry(retired_code=[_entry(path) for path in paths])
    sha = _commit(repo, {"flags.yaml": flags, **code, "app.py": "print('router')\n"}, 1)
    return repo, sha


def test_a_misspelt_path_is_reported_for_the_version_listing_it(tmp_path: Path) -> None:
    repo, sha = _listed_beside_the_code(tmp_path, "legacy/powerpg.py")
    result = _check(tmp_path, repo, {"D1": sha})
    assert result.code == 1
    assert _unreadable(result) == {
        f"{sha}:flags.yaml": (
            f"The flag registry flags.yaml at commit {sha[:12]} cannot be read: its "
            f"retired_code entry 'legacy/powerpg.py' names {WHY}"
        )
    }
    assert _retired(result) == {}


def test_a_glob_matching_nothing_is_reported(tmp_path: Path) -> None:
    repo, sha = _listed_beside_the_code(tmp_path, "legacy/powerpeg/*.pyy")
    result = _check(tmp_path, repo, {"D1": sha})
    assert list(_unreadable(result)) == [f"{sha}:flags.yaml"]
    assert "'legacy/powerpeg/*.pyy' names no file" in _unreadable(result)[f"{sha}:flags.yaml"]


def test_a_misspelt_folder_is_reported(tmp_path: Path) -> None:
    repo, sha = _listed_beside_the_code(tmp_path, "legcy/")
    assert list(_unreadable(_check(tmp_path, repo, {"D1": sha}))) == [f"{sha}:flags.yaml"]


def test_misspelt_entries_of_one_version_are_one_finding(tmp_path: Path) -> None:
    """Kept in later versions, the entries are still reported once, for the version that
    first listed them; the honest entry beside them is not named."""
    repo, sha = _listed_beside_the_code(tmp_path, "legacy/powerpeg.py", "lgacy/", "x/*.pyy")
    later = _commit(repo, {"app.py": "print('router v2')\n"}, 2)
    assert _unreadable(_check(tmp_path, repo, {"D1": later})) == {
        f"{sha}:flags.yaml": (
            f"The flag registry flags.yaml at commit {sha[:12]} cannot be read: its "
            f"retired_code entries 'lgacy/', 'x/*.pyy' name {WHY}"
        )
    }


def test_a_version_unreadable_for_two_reasons_is_one_finding_naming_both(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    odd = flag("turbo", "Turbo mode", retired_at="2024-01-01")
    flags = registry(odd, retired_code=[_entry("legacy/powerpg.py")])
    sha = _commit(repo, {"flags.yaml": flags, "legacy/powerpeg.py": CODE}, 1)
    assert _unreadable(_check(tmp_path, repo, {"D1": sha})) == {
        f"{sha}:flags.yaml": (
            f"The flag registry flags.yaml at commit {sha[:12]} cannot be read: flag 'turbo' is "
            "active but has retired_at 2024-01-01: a retired flag's status is 'retired'; and its "
            f"retired_code entry 'legacy/powerpg.py' names {WHY}"
        )
    }


def test_letter_case_and_globs_that_name_the_code_are_honest(tmp_path: Path) -> None:
    entries = ["Legacy/PowerPeg.py", "legacy/power*.py", "**/strategy.py", "legacy/powerpeg/"]
    repo, sha = _listed_beside_the_code(tmp_path, *entries)
    assert _unreadable(_check(tmp_path, repo, {"D1": sha})) == {}


def _guard(tmp_path: Path, deleted: dict[str, str], *paths: str) -> tuple[ScriptedRepo, str]:
    """``deleted`` was written, then deleted (days 1 and 2); ``paths`` are listed on day 5,
    so that the code never comes back."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "app.py": "x = 1\n", **deleted}, 1)
    _commit(repo, dict.fromkeys(deleted), 2)
    _commit(repo, {"app.py": "x = 2\n"}, 3)
    listed = _commit(repo, {"flags.yaml": registry(retired_code=[_entry(p) for p in paths])}, 5)
    return repo, listed


def test_a_guard_for_code_deleted_long_before_is_honest(tmp_path: Path) -> None:
    deleted = {"legacy/power_peg.py": CODE, "legacy/peg/run.py": CODE + "y = 1\n"}
    deleted["legacy/pöwer peg.py"] = CODE + "z = 1\n"
    entries = ["legacy/power_peg.py", "LEGACY/Power_Peg.py", "legacy/peg/", "legacy/**/run.py"]
    repo, listed = _guard(tmp_path, deleted, *entries, "**/power_peg.py", "legacy/pöwer peg.py")
    result = _check(tmp_path, repo, {"D1": listed})
    assert (_unreadable(result), _retired(result)) == ({}, {})
    assert result.code == 0


def test_a_misspelt_guard_is_reported_all_the_same(tmp_path: Path) -> None:
    repo, listed = _guard(tmp_path, {"legacy/power_peg.py": CODE}, "legacy/power_pg.py")
    assert list(_unreadable(_check(tmp_path, repo, {"D1": listed}))) == [f"{listed}:flags.yaml"]


def test_code_deleted_in_the_listing_commit_is_honest(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    flags = registry(retired_code=[PEG])
    listed = _commit(repo, {"flags.yaml": flags, "legacy/power_peg.py": None}, 2)
    assert _unreadable(_check(tmp_path, repo, {"D1": listed})) == {}


def test_a_path_code_was_renamed_from_is_honest(tmp_path: Path) -> None:
    """Renamed, then deleted: both the old and the new path held the code."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"legacy/power_peg.py": None, "legacy/peg.py": CODE}, 2)
    _commit(repo, {"legacy/peg.py": None}, 3)
    both = [PEG, _entry("legacy/peg.py")]
    listed = _commit(repo, {"flags.yaml": registry(retired_code=both)}, 4)
    assert _unreadable(_check(tmp_path, repo, {"D1": listed})) == {}


def test_code_that_lived_on_a_merged_branch_alone_is_honest(tmp_path: Path) -> None:
    """Written and deleted on a side branch, then merged: the main line's trees never held
    it, but the history of the listing commit does."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "app.py": "x = 1\n"}, 1)
    repo.branch("side")
    _commit(repo, {"legacy/power_peg.py": CODE}, 2)
    _commit(repo, {"legacy/power_peg.py": None}, 3)
    repo.checkout("main")
    _commit(repo, {"app.py": "x = 2\n"}, 4)
    repo.merge("side", "merge side", author=DEV, date="2024-01-05T00:00:00Z")
    listed = _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 6)
    assert _unreadable(_check(tmp_path, repo, {"D1": listed})) == {}


def test_code_on_a_line_the_listing_never_merged_does_not_name_it(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "app.py": "x = 1\n"}, 1)
    repo.branch("side")
    side = _commit(repo, {"legacy/power_peg.py": CODE}, 2)
    repo.checkout("main")
    listed = _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 3)
    found = _unreadable(_check(tmp_path, repo, {"D1": listed, "D2": side}))
    assert list(found) == [f"{listed}:flags.yaml"]


def test_cached_runs_agree_as_the_registry_grows(tmp_path: Path) -> None:
    """Each answer is kept by entry and version: a warm run gives the same report, and a new
    version listing the misspelt entry again is still reported, for the first version."""
    repo, listed = _guard(tmp_path, {"legacy/power_peg.py": CODE}, "legacy/power_peg.py", "lgcy/")
    uncached = _check(tmp_path, repo, {"D1": listed})
    assert list(_unreadable(uncached)) == [f"{listed}:flags.yaml"]
    for _ in ("cold", "warm"):
        assert _cached(tmp_path, repo, listed).out == uncached.out
    flags = registry(retired_code=[PEG, _entry("lgcy/"), _entry("old/")])
    _commit(repo, {"flags.yaml": flags, "old/x.py": "z = 1\n"}, 6)
    later = _commit(repo, {"old/x.py": None}, 7)
    for _ in ("cold", "warm"):
        assert list(_unreadable(_cached(tmp_path, repo, later))) == [f"{listed}:flags.yaml"]


def _cached(tmp_path: Path, repo: ScriptedRepo, sha: str) -> CliResult:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-02-01T00:00:00Z", approvals=APPROVAL)],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    return result


def test_the_walk_starts_at_the_entry_s_literal_folder() -> None:
    assert literal_folder("legacy/power_peg.py") == "legacy/power_peg.py"
    assert literal_folder("legacy/peg/*.py") == "legacy/peg"
    assert literal_folder("legacy/pe[g].py") == "legacy"
    assert literal_folder("legacy/peg\\*.py") == "legacy"
    assert literal_folder("**/power_peg.py") == ""
    assert literal_folder("lëgacy/peg.py") == ""
