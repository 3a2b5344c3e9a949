"""A registry moved without a rename git sees keeps its history: the paths knightwatch.yaml
named as the registry over its history are walked too. Before, deleting ``ops/flags.yaml``
(which retired power_peg) and writing ``flags.yaml`` in a later commit, with power_peg active
and a new purpose, passed: ``git log --follow`` saw an addition, not a rename."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence.registry_names import named
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry

OLD = "Power Peg test strategy"
NEW = "Retail Liquidity Program order routing"


def _commit(repo: ScriptedRepo, day: int, files: dict[str, str | None]) -> str:
    return repo.commit(
        f"day {day}", files, author=DEV, date=f"2024-01-{day:02}T00:00:00Z", trailers=REVIEWED
    )


def _check(tmp_path: Path, repo: ScriptedRepo, sha: str) -> CliResult:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-20T00:00:00Z", approvals=APPROVAL)],
    )
    return run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--no-cache",
    )  # fmt: skip


def _repurposed(result: CliResult) -> list[str]:
    assert result.code in (0, 1), result.err
    return [f["message"] for f in result.json()["findings"] if f["rule"] == "DEAD-002"]


def _retire_at(repo: ScriptedRepo, old_path: str, config: str | None) -> None:
    """power_peg in ``old_path`` (knightwatch.yaml ``config``, None: no file), used, then
    retired and its code removed."""
    files: dict[str, str | None] = {"app.py": "power_peg()\n"}
    if config is not None:
        files["knightwatch.yaml"] = config
    _commit(repo, 1, {**files, old_path: registry(flag("power_peg", OLD))})
    retired = flag("power_peg", OLD, "retired", retired_at="2024-01-02")
    _commit(repo, 2, {old_path: registry(retired), "app.py": "route()\n"})


@pytest.mark.parametrize("days_apart", [0, 1])
def test_a_registry_deleted_and_written_elsewhere_keeps_its_retirements(
    tmp_path: Path, days_apart: int
) -> None:
    """ops/flags.yaml (named by knightwatch.yaml) deleted with the setting, flags.yaml (the
    default) written with power_peg active for a new purpose: in the same commit, or later."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "ops/flags.yaml", "flags_file: ops/flags.yaml\n")
    revived: dict[str, str | None] = {
        "flags.yaml": registry(flag("power_peg", NEW)),
        "app.py": "power_peg()\n",
    }
    gone: dict[str, str | None] = {"ops/flags.yaml": None, "knightwatch.yaml": None}
    if days_apart:
        _commit(repo, 3, gone)
        sha = _commit(repo, 4, revived)
    else:
        sha = _commit(repo, 3, {**gone, **revived})
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


def test_a_registry_moved_away_from_the_default_keeps_its_retirements(tmp_path: Path) -> None:
    """flags.yaml (no knightwatch.yaml: the default) deleted, and ops/flags.yaml named by a
    new knightwatch.yaml two commits later, power_peg active again in it."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "flags.yaml", None)
    _commit(repo, 3, {"flags.yaml": None})
    sha = _commit(
        repo,
        4,
        {
            "knightwatch.yaml": "flags_file: ops/flags.yaml\n",
            "ops/flags.yaml": registry(flag("power_peg", NEW)),
            "app.py": "power_peg()\n",
        },
    )
    assert len(_repurposed(_check(tmp_path, repo, sha))) == 1


@pytest.mark.parametrize("named", ["nowhere/flags.yaml", "reg/flags.yaml"])
def test_a_registry_deleted_as_knightwatch_yaml_names_a_path_in_no_commit(
    tmp_path: Path, named: str
) -> None:
    """flags.yaml retired power_peg; one commit deleted it and wrote a knightwatch.yaml naming
    a path no commit holds (or one inside a submodule, reg/, whose files are in no tree of
    this repository), and the code named power_peg again. The configured path had no
    versions, so the older names were not walked either: every DEAD rule went unevaluated and
    the check passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "flags.yaml", None)
    files: dict[str, str | None] = {
        "flags.yaml": None,
        "knightwatch.yaml": yaml.safe_dump({"flags_file": named}),
        "app.py": "power_peg()\n",
    }
    sha = _commit(repo, 3, files)
    result = _check(tmp_path, repo, sha)
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]) for f in result.json()["findings"]}
    assert found == {("DEAD-001", "D1:power_peg"), ("DEAD-006", f"{sha}:{named}")}


def test_a_file_no_version_of_knightwatch_yaml_names_is_not_read_as_a_registry(
    tmp_path: Path,
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": registry(flag("a", "A")), "other.yaml": "not: [yaml\n"})
    sha = _commit(repo, 2, {"knightwatch.yaml": "flags_file: flags.yaml\n"})
    result = _check(tmp_path, repo, sha)
    assert result.code == 0, result.out


def _moved_to_default(tmp_path: Path, repo: ScriptedRepo) -> CliResult:
    """From a history whose registry is ops/flags.yaml (retiring power_peg), the registry and
    its setting deleted, and flags.yaml written with power_peg active again."""
    _retire_at(repo, "ops/flags.yaml", "flags_file: ops/flags.yaml\n")
    _commit(repo, 3, {"ops/flags.yaml": None, "knightwatch.yaml": None})
    sha = _commit(
        repo, 4, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    return _check(tmp_path, repo, sha)


def test_a_registry_named_beside_a_date_no_calendar_has_keeps_its_retirements(
    tmp_path: Path,
) -> None:
    """knightwatch.yaml named ops/flags.yaml beside an unquoted date that does not exist: a
    string to a run, which read ops/flags.yaml as the registry, but no YAML to the reader of
    the registry's names, which took the version for one naming the default. ops/flags.yaml
    went unwalked, and power_peg, retired there and written active into flags.yaml with a new
    purpose, passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    config = "flags_file: ops/flags.yaml\nevidence_ignore: [2024-02-30]\n"
    _retire_at(repo, "ops/flags.yaml", config)
    _commit(repo, 3, {"ops/flags.yaml": None, "knightwatch.yaml": None})
    sha = _commit(
        repo, 4, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    result = _check(tmp_path, repo, sha)
    assert result.code == 1, result.err
    messages = _repurposed(result)
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


def test_a_placeholder_registry_in_the_root_commit_hides_no_move(tmp_path: Path) -> None:
    """An empty flags.yaml in the first commit, deleted in the next: the registry's first
    version being in a root commit proved nothing."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": "flags: []\n", "README": "x\n"})
    repo.commit("drop", {"flags.yaml": None}, author=DEV, date="2024-01-01T12:00:00Z")
    assert len(_repurposed(_moved_to_default(tmp_path, repo))) == 1


def test_a_registry_first_written_in_a_second_root_hides_no_move(tmp_path: Path) -> None:
    """flags.yaml, power_peg active, written as the root of an unrelated history merged in."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "ops/flags.yaml", "flags_file: ops/flags.yaml\n")
    repo.git("checkout", "--quiet", "--orphan", "other")
    repo.git("rm", "--quiet", "-r", "--cached", ".")
    for name in ("ops", "app.py", "knightwatch.yaml"):
        path = repo.path / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    _commit(repo, 5, {"flags.yaml": registry(flag("power_peg", NEW))})
    repo.checkout("main")
    repo.git(
        "merge", "--quiet", "--allow-unrelated-histories", "-m", "merge", "other",
        date="2024-01-06T00:00:00Z", author=DEV,
    )  # fmt: skip
    sha = _commit(
        repo, 7, {"ops/flags.yaml": None, "knightwatch.yaml": None, "app.py": "power_peg()\n"}
    )
    assert len(_repurposed(_check(tmp_path, repo, sha))) == 1


def test_a_knightwatch_yaml_that_was_a_link_names_what_it_led_to(tmp_path: Path) -> None:
    """knightwatch.yaml a symbolic link to ci/knightwatch.yaml, which named ops/flags.yaml."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "ops/flags.yaml", None)
    _commit(repo, 3, {"ci/knightwatch.yaml": "flags_file: ops/flags.yaml\n"})
    (repo.path / "knightwatch.yaml").symlink_to("ci/knightwatch.yaml")
    repo.git("add", "knightwatch.yaml")
    _commit(repo, 4, {})
    _commit(
        repo, 5, {"ops/flags.yaml": None, "knightwatch.yaml": None, "ci/knightwatch.yaml": None}
    )
    sha = _commit(
        repo, 6, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    assert len(_repurposed(_check(tmp_path, repo, sha))) == 1


@pytest.mark.parametrize("target", ["../team.yaml", "ci/local.yaml"])
def test_a_knightwatch_yaml_linked_to_a_file_no_commit_holds_is_an_unreadable_version(
    tmp_path: Path, target: str
) -> None:
    """knightwatch.yaml a symbolic link to a file outside the repository, or to one it does
    not track, which named ops/flags.yaml: the team's runs read that registry, but no commit
    holds what the link led to. Read as naming the default, ops/flags.yaml went unwalked, and
    power_peg, retired there and written active into flags.yaml with a new purpose, passed
    (exit 0). The version is now one whose registry cannot be read (DEAD-006)."""
    repo = ScriptedRepo(tmp_path / "repo")
    held = (repo.path / target).resolve()
    held.parent.mkdir(parents=True, exist_ok=True)
    held.write_text("flags_file: ops/flags.yaml\n")
    (repo.path / "knightwatch.yaml").symlink_to(target)
    repo.git("add", "knightwatch.yaml")
    _retire_at(repo, "ops/flags.yaml", None)
    linked = repo.git("log", "--format=%H", "--reverse").splitlines()[0]
    _commit(repo, 3, {"ops/flags.yaml": None, "knightwatch.yaml": None})
    held.unlink()
    sha = _commit(
        repo, 4, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    result = _check(tmp_path, repo, sha)
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]): f["message"] for f in result.json()["findings"]}
    assert list(found) == [("DEAD-006", f"{linked}:flags.yaml")]
    assert "knightwatch.yaml is a symbolic link to " in found["DEAD-006", f"{linked}:flags.yaml"]


@pytest.mark.parametrize("links", [10, 41])
def test_a_knightwatch_yaml_behind_a_long_chain_of_links_names_what_it_led_to(
    tmp_path: Path, links: int
) -> None:
    """knightwatch.yaml a link to ci/l1.yaml, a link to ci/l2.yaml, and so on, the last a link
    to ci/knightwatch.yaml, which named ops/flags.yaml: the walk stopped after eight files,
    unseen, ops/flags.yaml went unwalked, and power_peg, retired there and written active into
    flags.yaml with a new purpose, passed (exit 0). A chain the system follows (ten links) is
    followed; one longer than it follows (forty) is an unreadable version (DEAD-006)."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "ops/flags.yaml", None)
    _commit(repo, 3, {"ci/knightwatch.yaml": "flags_file: ops/flags.yaml\n"})
    chain = [f"ci/l{n}.yaml" for n in range(1, links)]
    names = ["knightwatch.yaml", *chain, "ci/knightwatch.yaml"]
    for link, target in itertools.pairwise(names):  # each but the first in ci/
        (repo.path / link).symlink_to(Path(target).name if "/" in link else target)
        repo.git("add", link)
    linked = _commit(repo, 4, {})
    gone: dict[str, str | None] = {name: None for name in names}
    _commit(repo, 5, {"ops/flags.yaml": None, **gone})
    sha = _commit(
        repo, 6, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    result = _check(tmp_path, repo, sha)
    assert result.code == 1, result.err
    if links < 40:
        assert len(_repurposed(result)) == 1
    else:
        found = {(f["rule"], f["subject"]): f["message"] for f in result.json()["findings"]}
        assert list(found) == [("DEAD-006", f"{linked}:flags.yaml")]
        assert "past 40 links" in found["DEAD-006", f"{linked}:flags.yaml"]


def test_a_knightwatch_yaml_linked_into_a_folder_linked_since_is_an_unreadable_version(
    tmp_path: Path,
) -> None:
    """knightwatch.yaml a link to conf/kw.yaml, a file naming the default registry; then conf
    moved to settings and a link to settings put in its place, so the link led to
    settings/kw.yaml, which named ops/flags.yaml. conf/kw.yaml's history held only its first
    version: ops/flags.yaml went unwalked, and power_peg, retired there and written active
    into flags.yaml with a new purpose, passed (exit 0). The commit that deleted conf/kw.yaml
    while the link still led to it is now an unreadable version (DEAD-006)."""
    repo = ScriptedRepo(tmp_path / "repo")
    (repo.path / "knightwatch.yaml").symlink_to("conf/kw.yaml")
    repo.git("add", "knightwatch.yaml")
    _commit(repo, 1, {"conf/kw.yaml": "reference_exclude: [docs]\n", "flags.yaml": registry()})
    repo.git("rm", "--quiet", "-r", "conf")
    (repo.path / "settings").mkdir()
    (repo.path / "settings" / "kw.yaml").write_text("flags_file: ops/flags.yaml\n")
    (repo.path / "conf").symlink_to("settings")
    repo.git("add", "conf", "settings")
    moved = _commit(repo, 2, {"flags.yaml": None})
    assert "ops/flags.yaml" in (repo.path / "knightwatch.yaml").read_text()
    _retire_at(repo, "ops/flags.yaml", None)
    repo.git("rm", "--quiet", "-r", "conf", "settings", "knightwatch.yaml")
    revived = {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    sha = _commit(repo, 5, {"ops/flags.yaml": None, **revived})
    result = _check(tmp_path, repo, sha)
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]): f["message"] for f in result.json()["findings"]}
    assert list(found) == [("DEAD-006", f"{moved}:flags.yaml")]
    said = found["DEAD-006", f"{moved}:flags.yaml"]
    assert "knightwatch.yaml is a symbolic link to conf/kw.yaml, which that commit deleted" in said


def test_what_the_options_files_name() -> None:
    def version(**config: object) -> bytes:
        return yaml.safe_dump(config).encode()

    assert named([version(flags_file="ops/f.yaml")], before_first=False) == {"ops/f.yaml"}
    assert named([version(flags_file="ops/f.yaml")], before_first=True) == {
        "ops/f.yaml",
        "flags.yaml",
    }
    # a version naming none, a deleted file, one that does not parse: the default held
    assert named([version(fail_on="high")], before_first=False) == {"flags.yaml"}
    assert named([None], before_first=False) == {"flags.yaml"}
    assert named([b"flags_file: [\n"], before_first=False) == {"flags.yaml"}
    # read as a run reads it (no implicit dates) and as YAML's usual reader does: both count
    dated = b"flags_file: ops/f.yaml\nevidence_ignore: [2024-02-30]\n"
    assert named([dated], before_first=False) == {"ops/f.yaml"}
    twice = b"flags_file: a.yaml\nflags_file: b.yaml\n"  # refused by a run: the last, as YAML
    assert named([twice], before_first=False) == {"b.yaml"}
    # never handed to git: what could not be a path knightwatch read (such a version was
    # refused, so it named no registry a run read)
    assert (
        named(
            [version(flags_file=p) for p in ("/etc/x", "../x", "*.yaml", ":(top)x", "")],
            before_first=False,
        )
        == set()
    )


def _merged_back(repo: ScriptedRepo, retiring: dict[str, str | None], moved: bool) -> str:
    """A registry (``moved``: once, ops/flags.yaml to flags.yaml, so that its names are walked
    without --follow), a side branch forked, ``retiring`` committed on main, then the side
    branch merged with the side's registry kept ("take theirs"): the merge's id."""
    first = "ops/flags.yaml" if moved else "flags.yaml"
    _commit(repo, 1, {first: registry(flag("power_peg", OLD)), "app.py": "0\n"})
    if moved:
        repo.move(first, "flags.yaml", author=DEV, date="2024-01-02T00:00:00Z",
                  message="registry moved\n\nReviewed-by: Lee Lead <lee@example.com>")  # fmt: skip
    repo.branch("side")
    repo.checkout("side")
    _commit(repo, 3, {"side.py": "side work\n"})
    repo.checkout("main")
    _commit(repo, 4, retiring)
    repo.git("merge", "--no-ff", "--no-commit", "side", date="2024-01-05T00:00:00Z", author=DEV)
    repo.git("checkout", "side", "--", "flags.yaml")
    repo.git("commit", "-m", "merge side\n\nReviewed-by: Lee Lead <lee@example.com>",
             date="2024-01-05T00:00:00Z", author=DEV)  # fmt: skip
    return repo.git("rev-parse", "HEAD")


@pytest.mark.parametrize("moved", [False, True])
def test_a_merge_that_kept_the_other_sides_registry_keeps_the_retired_code(
    tmp_path: Path, moved: bool
) -> None:
    """Main listed legacy/power_peg.py under retired_code; a merge took the side branch's
    registry, which did not, and left the file in place. Where the registry had had another
    name, git's simplified history followed only the side: the version that listed it was
    never walked, and the check passed."""
    repo = ScriptedRepo(tmp_path / "repo")
    retired = {"path": "legacy/power_peg.py", "reason": "retired", "retired_at": "2024-01-04"}
    listing = registry(flag("power_peg", OLD), retired_code=[retired])
    sha = _merged_back(repo, {"flags.yaml": listing, "legacy/power_peg.py": "run()\n"}, moved)
    result = _check(tmp_path, repo, sha)
    assert result.code == 1, result.err
    found = [f["subject"] for f in result.json()["findings"] if f["rule"] == "DEAD-004"]
    assert found == ["D1:legacy/power_peg.py"]


@pytest.mark.parametrize("moved", [False, True])
def test_a_merge_that_kept_the_other_sides_registry_revives_a_retired_flag(
    tmp_path: Path, moved: bool
) -> None:
    """Main retired power_peg; a merge took the side branch's registry, where it is still
    active, and the code names it: the merge revived it. git shows a merge no diff unless
    asked (-m), so the merge's registry was no version of the history, and the check
    passed."""
    repo = ScriptedRepo(tmp_path / "repo")
    retired = flag("power_peg", OLD, "retired", retired_at="2024-01-04")
    sha = _merged_back(repo, {"flags.yaml": registry(retired), "app.py": "power_peg()\n"}, moved)
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and "active again" in messages[0]


def test_a_registry_renamed_twice_keeps_the_retirements_of_its_first_name(
    tmp_path: Path,
) -> None:
    """old.yaml retired power_peg, was renamed mid.yaml, then flags.yaml (the default), where
    power_peg is active again for a new purpose. No knightwatch.yaml ever named the older
    names, and power_peg was dropped before the first rename: only the renames lead back to
    the version that retired it, one after the other."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "old.yaml", None)
    _commit(repo, 3, {"old.yaml": registry(flag("other", OLD))})
    repo.move("old.yaml", "mid.yaml", author=DEV, date="2024-01-04T00:00:00Z", message="mv")
    repo.move("mid.yaml", "flags.yaml", author=DEV, date="2024-01-04T00:00:00Z", message="mv")
    sha = _commit(
        repo, 5, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


def test_a_registry_renamed_on_a_merged_branch_keeps_its_retirements(tmp_path: Path) -> None:
    """old.yaml retired power_peg; a side branch renamed it flags.yaml, and main merged the
    side, then made power_peg active again in flags.yaml. power_peg was dropped from old.yaml
    before the rename: only the rename leads back to the version that retired it."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "old.yaml", None)
    _commit(repo, 3, {"old.yaml": registry(flag("other", OLD))})
    repo.branch("side")
    repo.checkout("side")
    repo.move("old.yaml", "flags.yaml", author=DEV, date="2024-01-03T00:00:00Z", message="mv")
    repo.checkout("main")
    _commit(repo, 4, {"b.py": "route()\n"})
    repo.merge("side", "merge side", author=DEV, date="2024-01-04T00:00:00Z")
    sha = _commit(
        repo, 5, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


def test_each_rename_into_the_registry_is_followed(tmp_path: Path) -> None:
    """a.yaml retired power_peg and b.yaml retired flag_b; each, emptied, was renamed in turn
    into flags.yaml, where both flags are then active again for new purposes. git's
    --follow, asked about both commits that added flags.yaml in one walk, follows the first
    rename it finds and no longer sees the second: each must be asked again."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, "a.yaml", None)
    _commit(repo, 3, {"a.yaml": registry(flag("other", OLD))})
    repo.move("a.yaml", "flags.yaml", author=DEV, date="2024-01-04T00:00:00Z", message="mv")
    _commit(repo, 5, {"b.yaml": registry(flag("flag_b", OLD))})
    _commit(repo, 6, {"b.yaml": registry(flag("flag_b", OLD, "retired", retired_at="2024-01-06"))})
    _commit(repo, 7, {"b.yaml": registry(flag("another", OLD)), "flags.yaml": None})
    repo.move("b.yaml", "flags.yaml", author=DEV, date="2024-01-08T00:00:00Z", message="mv")
    active = registry(flag("power_peg", NEW), flag("flag_b", NEW))
    sha = _commit(repo, 9, {"flags.yaml": active, "app.py": "power_peg()\nflag_b()\n"})
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 2, messages
    assert all("retired at" in m and NEW in m for m in messages)


@pytest.mark.parametrize("name", ["flägs.yaml", 'ops/fl"ags.yaml', "ops/fl\\ags.yaml"])
def test_a_registry_whose_name_git_quotes_keeps_its_retirements(tmp_path: Path, name: str) -> None:
    """git writes a path with a byte outside printable ASCII, a quote or a backslash quoted
    (core.quotePath): read as written, such a registry's versions were of another path, and
    all of them, with the retirement power_peg's revival contradicts, vanished."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, name, yaml.safe_dump({"flags_file": name}))
    sha = _commit(repo, 3, {name: registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"})
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


@pytest.mark.parametrize(("old", "new"), [("ölder.yaml", "flags.yaml"), ("old.yaml", "flägs.yaml")])
def test_a_rename_between_names_git_quotes_is_followed(tmp_path: Path, old: str, new: str) -> None:
    """A registry renamed from or to a name git quotes: the rename's source, as git writes
    it, was no name a commit holds, and walking it found nothing."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, old, yaml.safe_dump({"flags_file": new}))
    _commit(repo, 3, {old: registry(flag("other", OLD))})
    repo.move(old, new, author=DEV, date="2024-01-04T00:00:00Z", message="mv")
    sha = _commit(repo, 5, {new: registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"})
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


@pytest.mark.parametrize(
    ("named_as", "path"),
    [("./flags.yaml", "flags.yaml"), ("ops//flags.yaml", "ops/flags.yaml"),
     ("ops/./././././flags.yaml", "ops/flags.yaml")],
)  # fmt: skip
def test_a_registry_named_with_dots_or_slashes_keeps_its_retirements(
    tmp_path: Path, named_as: str, path: str
) -> None:
    """knightwatch.yaml names the registry as git does not write it: git shows the path it
    normalised it to. Compared as written, the registry had no versions: a near name was
    refused as a misspelling, and a far one (five ``./``) passed power_peg's revival."""
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, path, yaml.safe_dump({"flags_file": named_as}))
    sha = _commit(repo, 3, {path: registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"})
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


def test_a_rename_from_a_name_that_is_no_utf8_is_followed(tmp_path: Path) -> None:
    """A registry renamed from a name holding a byte that is no UTF-8: read with the byte
    escaped, the older name handed back to git was another path, and held nothing."""
    old = os.fsdecode(b"\xffold.yaml")
    repo = ScriptedRepo(tmp_path / "repo")
    _retire_at(repo, old, None)
    _commit(repo, 3, {old: registry(flag("other", OLD))})
    repo.move(old, "flags.yaml", author=DEV, date="2024-01-04T00:00:00Z", message="mv")
    sha = _commit(
        repo, 5, {"flags.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    messages = _repurposed(_check(tmp_path, repo, sha))
    assert len(messages) == 1 and "retired at" in messages[0] and NEW in messages[0]


def test_a_registry_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    """flags.yaml, a link to real.yaml: real.yaml retired power_peg, dropped it, then made it
    active for a new purpose. The registry's history was the link's (one version), so the
    retirement was never read, and the check passed with no finding."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"real.yaml": registry(flag("power_peg", OLD)), "app.py": "power_peg()\n"})
    (repo.path / "flags.yaml").symlink_to("real.yaml")
    repo.git("add", "flags.yaml")
    _commit(repo, 2, {})
    retired = flag("power_peg", OLD, "retired", retired_at="2024-01-03")
    _commit(repo, 3, {"real.yaml": registry(retired), "app.py": "route()\n"})
    _commit(repo, 4, {"real.yaml": registry(flag("other", OLD))})
    sha = _commit(
        repo, 5, {"real.yaml": registry(flag("power_peg", NEW)), "app.py": "power_peg()\n"}
    )
    result = _check(tmp_path, repo, sha)
    assert result.code == 2, result.err
    assert "the flag registry 'flags.yaml' is a symbolic link" in result.err
