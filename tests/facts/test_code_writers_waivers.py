"""Whoever wrote the code a DEAD-001, DEAD-004 or DEAD-005 finding names cannot waive it.

Before, these findings named only their deployment, so only its deployer was barred: the
developer who wrote the reference to a retired flag (or kept the retired code) approved the
waiver of that very finding, and with them among the auditor's ``waiver_approvers`` the
check passed (exit 0, the finding waived)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence import git
from checker.evidence.git import GitHistory
from checker.facts import codewriters
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import flag, registry

KIM = "Kim Cro <cro@example.com>"
POWER_PEG = flag("power_peg", "Power Peg", status="retired", retired_at="2024-01-01")
RETIRED = registry(POWER_PEG)
BY_DEV = (f"Reviewed-by: {KIM}",)


def _commit(
    repo: ScriptedRepo,
    day: int,
    files: dict[str, str | None],
    author: str = DEV,
    trailers: tuple[str, ...] = (),
    committer: tuple[str, str] | None = None,
) -> str:
    return repo.commit(
        f"day {day}", files, author=author, date=f"2024-01-{day:02}T00:00:00Z",
        trailers=(*BY_DEV, *trailers), committer=committer,
    )  # fmt: skip


def _check(
    tmp_path: Path, repo: ScriptedRepo, shas: list[str], *waivers: dict[str, str]
) -> CliResult:
    approval = [{"by": "cro@example.com"}]  # an hour before each deployment starts
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment(f"D{n}", sha, f"2024-01-2{n}T00:00:00Z", approvals=approval)
            for n, sha in enumerate(shas, 1)
        ],
    )
    common = {"reason": "removal planned", "expires": "2024-06-01"}
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**common, **w} for w in waivers])
    config = tmp_path / "auditor.yaml"
    config.write_text("waiver_approvers: [lee@example.com, cro@example.com]\n")
    return run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--no-cache", "--as-of", "2024-02-01", "--config", config,
    )  # fmt: skip


def _said(result: CliResult) -> dict[str, tuple[bool, str]]:
    assert result.code in (0, 1), result.err
    return {f["subject"]: (f["waived"], f["message"]) for f in result.json()["findings"]}


def _repo(tmp_path: Path) -> ScriptedRepo:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": RETIRED, "app.py": "go()\n", "lib.py": "x = 1\n"})
    return repo


def test_whoever_wrote_the_reference_to_a_retired_flag_cannot_waive_it(tmp_path: Path) -> None:
    """Lee wrote the reference to the retired power_peg; Lee's waiver of its DEAD-001 finding
    was applied and the check passed. The CRO's waiver of it still applies."""
    repo = _repo(tmp_path)
    sha = _commit(repo, 2, {"app.py": "if power_peg:\n    go()\n"}, author=LEAD)
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    said = _said(result)
    assert result.code == 1
    assert said["D1:power_peg"][0] is False
    assert (
        "not applied: lee@example.com changed the files of D1:power_peg, which it covers"
        in said["DEAD-001:D1:power_peg"][1]
    )
    by_cause = {"rule": "DEAD-001", "cause": "power_peg", "approved_by": "lee@example.com"}
    assert _said(_check(tmp_path, repo, [sha], by_cause))["D1:power_peg"][0] is False
    cro = _check(tmp_path, repo, [sha], {**lee, "approved_by": "cro@example.com"})
    assert cro.code == 0, cro.out
    assert _said(cro)["D1:power_peg"][0] is True


def test_a_reference_written_before_the_deployed_range_still_names_its_writer(
    tmp_path: Path,
) -> None:
    """Lee's reference shipped in D1; D2 shipped another change and the same reference. The
    finding of D2 is about Lee's code too, though D2's range holds none of Lee's commits."""
    repo = _repo(tmp_path)
    first = _commit(repo, 2, {"app.py": "if power_peg:\n    go()\n"}, author=LEAD)
    second = _commit(repo, 3, {"lib.py": "x = 2\n"})
    lee = {"rule": "DEAD-001", "subject": "D2:power_peg", "approved_by": "lee@example.com"}
    said = _said(_check(tmp_path, repo, [first, second], lee))
    assert said["D2:power_peg"][0] is False


@pytest.mark.parametrize("pathspecs", [codewriters.PATHSPECS_AT_MOST, 0], ids=["few", "many"])
def test_the_writer_of_a_reference_in_a_file_renamed_since_is_barred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pathspecs: int
) -> None:
    """Lee wrote the reference in old.py; Dana renamed it twice, to mid.py and then main.py.
    The history of main.py alone shows only Dana's renames."""
    monkeypatch.setattr(codewriters, "PATHSPECS_AT_MOST", pathspecs)
    repo = _repo(tmp_path)
    _commit(repo, 2, {"old.py": "a = 1\nb = 2\nc = 3\nif power_peg:\n    go()\n"}, author=LEAD)
    repo.move("old.py", "mid.py", author=DEV, date="2024-01-03T00:00:00Z", message="move")
    _commit(repo, 4, {"lib.py": "x = 4\n"})
    repo.move("mid.py", "main.py", author=DEV, date="2024-01-05T00:00:00Z", message="again")
    sha = _commit(repo, 6, {"lib.py": "x = 6\n"})
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    assert _said(_check(tmp_path, repo, [sha], lee))["D1:power_peg"][0] is False


def test_the_writer_of_a_reference_in_a_file_copied_since_is_barred(tmp_path: Path) -> None:
    """Lee wrote the reference in old.py; Dana copied it to new.py (old.py kept, so no rename)
    and deleted old.py the next day. new.py's history showed only Dana, and Lee's waiver of the
    finding was applied (exit 0)."""
    repo = _repo(tmp_path)
    code = "def route():\n    if power_peg:\n        go()\n    return 1\n"
    _commit(repo, 2, {"old.py": code}, author=LEAD)
    _commit(repo, 3, {"new.py": code.replace("return 1", "return 2")})
    sha = _commit(repo, 4, {"old.py": None})
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False
    assert result.code == 1


def test_the_writer_of_a_reference_deleted_and_written_back_elsewhere_is_barred(
    tmp_path: Path,
) -> None:
    """Lee wrote the reference in old.py; Dana deleted old.py, and wrote its code back, one
    line changed, at new.py the next day: no commit copied or renamed it, and Lee's waiver of
    the finding about new.py was applied (exit 0)."""
    repo = _repo(tmp_path)
    code = "def route():\n    if power_peg:\n        go()\n    return 1\n"
    _commit(repo, 2, {"old.py": code}, author=LEAD)
    _commit(repo, 3, {"old.py": None})
    sha = _commit(repo, 4, {"new.py": code.replace("return 1", "return 2")})
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False
    assert result.code == 1


def test_naming_the_flag_in_the_registry_or_an_excluded_file_bars_no_one(
    tmp_path: Path,
) -> None:
    """Lee named power_peg in the registry and in docs/ (reference_exclude) alone: no read of
    it, so Lee's waiver of the finding about Dana's reference applies."""
    repo = _repo(tmp_path)
    (repo.path / "knightwatch.yaml").write_text("reference_exclude: ['docs/*']\n")
    repo.git("add", "knightwatch.yaml")
    retired = RETIRED.replace("Power Peg", "Power Peg, the 2003 router")
    lees = {"flags.yaml": retired, "docs/flags.md": "power_peg is retired\n"}
    _commit(repo, 2, lees, author=LEAD)
    sha = _commit(repo, 3, {"app.py": "if power_peg:\n    go()\n"})
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    assert _said(_check(tmp_path, repo, [sha], lee))["D1:power_peg"][0] is True


def test_every_rename_of_a_long_chain_is_followed(tmp_path: Path) -> None:
    """Lee wrote the reference in p00.py; Dana renamed it seventeen times, to p17.py. The
    renames were followed sixteen back, and Lee's waiver of the finding was applied (exit 0)."""
    repo = _repo(tmp_path)
    _commit(repo, 2, {"p00.py": "a = 1\nb = 2\nc = 3\nif power_peg:\n    go()\n"}, author=LEAD)
    for n in range(1, 18):
        when = f"2024-01-03T00:{n:02}:00Z"
        repo.move(f"p{n - 1:02}.py", f"p{n:02}.py", author=DEV, date=when, message=f"move {n}")
    sha = _commit(repo, 4, {"lib.py": "x = 4\n"})
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"] == (
        False,
        "Deployment D1 shipped code that still references retired flag power_peg in 1 file: "
        "p17.py.",
    )
    assert result.code == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"committer": (LEAD, "2024-01-02T00:00:00Z")},
        {"trailers": ("Co-authored-by: Lee Lead <lee@example.com>",)},
        {"author": "Lee Lead <lee@old.example>"},
    ],
    ids=["committer", "co-author", "mailmap"],
)
def test_committer_co_author_and_mailmap_spelling_are_barred_too(
    tmp_path: Path, extra: dict[str, object]
) -> None:
    """Dana authored the commit writing the reference, and Lee committed it; or Lee co-wrote
    it; or Lee wrote it under an old address that .mailmap joins to lee@example.com."""
    mailmap = "Lee Lead <lee@example.com> <lee@old.example>\n"
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": RETIRED, "app.py": "go()\n", ".mailmap": mailmap})
    sha = _commit(repo, 2, {"app.py": "power_peg()\n"}, **extra)
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    assert _said(_check(tmp_path, repo, [sha], lee))["D1:power_peg"][0] is False


def test_whoever_kept_retired_code_or_an_unregistered_flag_cannot_waive_it(
    tmp_path: Path,
) -> None:
    """Lee changed legacy/old.py, retired code, and wrote code reading turbo, a flag the
    registry dropped: DEAD-004 and DEAD-005, each waived by Lee."""
    repo = ScriptedRepo(tmp_path / "repo")
    legacy = [{"path": "legacy/", "reason": "retired", "retired_at": "2024-01-01"}]
    with_turbo = registry(POWER_PEG, flag("turbo", "Turbo"), retired_code=legacy)
    _commit(repo, 1, {"flags.yaml": with_turbo, "legacy/old.py": "old()\n"})
    _commit(repo, 2, {"flags.yaml": registry(POWER_PEG, retired_code=legacy)})
    sha = _commit(repo, 3, {"legacy/old.py": "old(1)\n", "lib.py": "turbo()\n"}, author=LEAD)
    waivers = [
        {"rule": "DEAD-004", "subject": "D1:legacy/", "approved_by": "lee@example.com"},
        {"rule": "DEAD-005", "subject": "D1:turbo", "approved_by": "lee@example.com"},
    ]
    said = _said(_check(tmp_path, repo, [sha], *waivers))
    assert said["D1:legacy/"][0] is False
    assert said["D1:turbo"][0] is False
    assert "lee@example.com changed the files of D1:legacy/" in said["DEAD-004:D1:legacy/"][1]
    cro = [{**w, "approved_by": "cro@example.com"} for w in waivers]
    said = _said(_check(tmp_path, repo, [sha], *cro))
    assert said["D1:legacy/"][0] is True and said["D1:turbo"][0] is True


@pytest.mark.parametrize("pathspecs", [codewriters.PATHSPECS_AT_MOST, 0], ids=["few", "many"])
def test_whoever_wrote_the_reference_in_a_merge_cannot_waive_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pathspecs: int
) -> None:
    """Lee merged a side branch and, resolving the merge, wrote the reference into app.py:
    the merge holds app.py unlike either parent, and no commit of either side wrote it. A
    merge's changes were not read (git's log shows none without ``-c``): Lee's waiver of the
    finding was applied, and the check passed (exit 0). A merge that brings a side's change
    as it is bars only that side's writers: Dana's here, and Lee's waiver of a later finding
    of theirs still applies. (A merge joining both sides' changes to one file holds it unlike
    either parent too, and counts as a commit changing it.)"""
    monkeypatch.setattr(codewriters, "PATHSPECS_AT_MOST", pathspecs)
    repo = _repo(tmp_path)
    _commit(repo, 2, {"app.py": "go()\n# a\n"})
    repo.branch("side")
    _commit(repo, 3, {"lib.py": "power_peg = 2\n"})
    repo.checkout("main")
    _commit(repo, 4, {"other.py": "y\n"})
    repo.git("merge", "--quiet", "--no-ff", "--no-commit", "side")
    (repo.path / "app.py").write_text("if power_peg:\n    go()\n# a\n")
    repo.git("add", "app.py")
    message = f"merge side\n\n{BY_DEV[0]}"
    repo.git("commit", "--quiet", "-m", message, author=LEAD, date="2024-01-05T00:00:00Z")
    sha = repo.git("rev-parse", "HEAD")
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False
    assert result.code == 1
    repo.git("checkout", "--quiet", "-B", "clean", f"{sha}^1")
    clean = repo.merge("side", "merge", author=LEAD, date="2024-01-06T00:00:00Z")
    assert _said(_check(tmp_path, repo, [clean], lee))["D1:power_peg"][0] is True


def test_the_writer_of_retired_code_a_glob_covered_is_barred_where_it_was_copied(
    tmp_path: Path,
) -> None:
    """Lee wrote legacy/a.py, which the glob legacy/*.py retires; Dana copied its content to
    src/a.py and deleted legacy/a.py, in commits of their own (no rename git sees). The
    finding names src/a.py, the retired code at another path. A literal retired path's own
    history counted, a glob's did not: Lee's waiver of the finding was applied (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    legacy = [{"path": "legacy/*.py", "reason": "retired", "retired_at": "2024-01-01"}]
    _commit(repo, 1, {"flags.yaml": registry(POWER_PEG), "legacy/notes.md": "old\n"})
    _commit(repo, 2, {"legacy/a.py": "def old():\n    return 42\n"}, author=LEAD)
    _commit(repo, 3, {"flags.yaml": registry(POWER_PEG, retired_code=legacy)})
    _commit(repo, 4, {"src/a.py": "def old():\n    return 42\n"})
    sha = _commit(repo, 5, {"legacy/a.py": None})
    lee = {"rule": "DEAD-004", "subject": "D1:legacy/*.py", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:legacy/*.py"][0] is False
    assert result.code == 1
    kim = {**lee, "approved_by": "cro@example.com"}  # legacy/notes.md is no file of the glob's
    _commit(repo, 6, {"legacy/notes.md": "older\n"}, author=KIM)
    head = repo.git("rev-parse", "HEAD")
    assert _said(_check(tmp_path, repo, [head], kim))["D1:legacy/*.py"][0] is True


def test_changes_to_other_files_or_off_the_deployed_history_bar_no_one(tmp_path: Path) -> None:
    """Lee changed lib.py, which names no flag, and app.py on a branch never deployed: the
    reference D1 ships is Dana's alone, and Lee's waiver of it applies."""
    repo = _repo(tmp_path)
    _commit(repo, 2, {"app.py": "if power_peg:\n    go()\n"})
    repo.branch("side")
    _commit(repo, 3, {"app.py": "if power_peg:\n    go(2)\n"}, author=LEAD)
    repo.checkout("main")
    sha = _commit(repo, 4, {"lib.py": "x = 3\n"}, author=LEAD)
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is True
    assert result.code == 0, result.out


def test_one_walk_of_the_loaded_history_answers_as_git_does(tmp_path: Path) -> None:
    """``GitHistory.reaching`` (one walk for every deployed commit) keeps, for each tip, the
    commits git's ``rev-list`` says it holds: across a merge, and not a branch never merged."""
    repo = _repo(tmp_path)
    shas = [_commit(repo, 2, {"a.py": "1\n"})]
    repo.branch("side")
    shas.append(_commit(repo, 3, {"b.py": "1\n"}))
    repo.branch("stray")
    shas.append(_commit(repo, 4, {"c.py": "1\n"}))
    repo.checkout("main")
    shas.append(_commit(repo, 5, {"a.py": "2\n"}))
    shas.append(repo.merge("side", "merge", author=DEV, date="2024-01-06T00:00:00Z"))
    history = GitHistory(repo.path)
    try:
        history.load(shas)
        reached = history.reaching(shas, set(shas))
        assert reached is not None
        for tip in shas:
            assert reached[tip] == history.in_history_of(shas, tip), tip
        assert shas[2] not in reached[shas[-1]] and shas[1] in reached[shas[-1]]
    finally:
        history.close()


@pytest.mark.parametrize("pathspecs", [codewriters.PATHSPECS_AT_MOST, 0], ids=["few", "many"])
def test_the_writer_of_a_reference_past_the_tenth_file_is_barred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pathspecs: int
) -> None:
    """Dana wrote the references in a01.py to a10.py, Lee the one in z.py: the finding lists
    ten files, and Lee's reference lies in the eleventh. Before, only the listed files were
    followed to their writers: Lee's waiver of the finding was applied and the check passed
    (exit 0). Past ``PATHSPECS_AT_MOST`` files (here, any), git walks every path's changes and
    the files are picked out of them, as they are below."""
    monkeypatch.setattr(codewriters, "PATHSPECS_AT_MOST", pathspecs)
    repo = _repo(tmp_path)
    _commit(repo, 2, {f"a{n:02}.py": "if power_peg:\n    go()\n" for n in range(1, 11)})
    sha = _commit(repo, 3, {"z.py": "power_peg = 1\n"}, author=LEAD)
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    said = _said(result)
    assert "z.py" not in said["D1:power_peg"][1]  # the message lists ten of eleven
    assert said["D1:power_peg"][0] is False
    assert result.code == 1


def test_the_writer_of_retired_code_past_the_tenth_file_is_barred(tmp_path: Path) -> None:
    """As for references, the eleventh file a retired glob covers: Lee's waiver of DEAD-004."""
    repo = ScriptedRepo(tmp_path / "repo")
    legacy = [{"path": "legacy/*.py", "reason": "retired", "retired_at": "2024-01-01"}]
    files = {f"legacy/a{n:02}.py": f"old({n})\n" for n in range(1, 11)}
    _commit(repo, 1, {"flags.yaml": registry(POWER_PEG, retired_code=legacy), **files})
    sha = _commit(repo, 2, {"legacy/z.py": "old(11)\n"}, author=LEAD)
    lee = {"rule": "DEAD-004", "subject": "D1:legacy/*.py", "approved_by": "lee@example.com"}
    said = _said(_check(tmp_path, repo, [sha], lee))
    assert said["D1:legacy/*.py"][0] is False


def test_the_files_of_a_large_finding_are_walked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference in 300 files is followed to every writer in one walk of the history of
    every path, not 300 pathspecs (git matches each against each path a commit changes):
    Lee's reference in the last file still bars Lee."""
    repo = _repo(tmp_path)
    _commit(repo, 2, {f"m/f{n:03}.py": "power_peg()\n" for n in range(300)})
    sha = _commit(repo, 3, {"m/f299.py": "power_peg(1)\n"}, author=LEAD)
    walks: list[object] = []
    walk = GitHistory.changes_below

    def counted(self: GitHistory, *args: Any, **kwargs: Any) -> Any:
        walks.append(args[2])
        return walk(self, *args, **kwargs)

    monkeypatch.setattr(GitHistory, "changes_below", counted)
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    assert _said(_check(tmp_path, repo, [sha], lee))["D1:power_peg"][0] is False
    assert all(under == "" for under in walks) and len(walks) == 2  # changes, and additions


_MANY = "".join(f"step_{n} = compute({n})\n" for n in range(12))
"""Twelve lines of code Dana adds in a rename: what was old.py is less than half of route.py."""


def _kept_by_lee(repo: ScriptedRepo) -> str:
    """Dana writes old.py with the reference; Lee changes another of its lines, keeping it."""
    code = "def route():\n    a = 1\n    b = 2\n    if power_peg:\n        go()\n    return a\n"
    _commit(repo, 2, {"old.py": code})
    kept = code.replace("b = 2", "b = 3")
    _commit(repo, 3, {"old.py": kept}, author=LEAD)
    return kept


def test_the_writer_behind_a_rename_that_rewrote_most_of_the_file_is_barred(
    tmp_path: Path,
) -> None:
    """Lee changed old.py, which held Dana's reference; Dana renamed it route.py and added twelve
    lines in the same commit: git's rename detection (half the bytes alike) saw an added and a
    deleted file, the history of old.py was not read, and Lee's waiver of the finding about
    route.py was applied (exit 0). route.py holds every line of old.py: a rename, read by its
    lines (``likeness.holds``)."""
    repo = _repo(tmp_path)
    kept = _kept_by_lee(repo)
    repo.git("rm", "--quiet", "old.py")
    sha = _commit(repo, 4, {"route.py": kept + _MANY})
    assert "R" not in repo.git("diff-tree", "-r", "-M", "--name-status", sha)
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False
    assert result.code == 1


def test_the_writer_behind_a_rename_made_resolving_a_merge_is_barred(tmp_path: Path) -> None:
    """Lee changed old.py, which held Dana's reference; Dana merged a side branch and, resolving
    it, renamed old.py route.py. A merge's renames were not read (``diff-tree`` shows a merge
    nothing), and Lee's waiver of the finding about route.py was applied (exit 0)."""
    repo = _repo(tmp_path)
    kept = _kept_by_lee(repo)
    repo.branch("side")
    _commit(repo, 4, {"lib.py": "x = 4\n"})
    repo.checkout("main")
    _commit(repo, 5, {"other.py": "y = 5\n"})
    repo.git("merge", "--quiet", "--no-ff", "--no-commit", "side")
    repo.git("mv", "old.py", "route.py")
    message = f"merge side\n\n{BY_DEV[0]}"
    repo.git("commit", "--quiet", "-m", message, author=DEV, date="2024-01-06T00:00:00Z")
    sha = repo.git("rev-parse", "HEAD")
    assert (repo.path / "route.py").read_text() == kept
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False
    assert result.code == 1


def test_the_writer_behind_a_rename_past_the_rename_limit_is_barred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dana renamed old.py route.py, one line changed, in a commit that also replaced three
    other files. knightwatch pins ``diff.renameLimit`` at git's 1,000; pinned at 1 here, so
    that this commit is past it as one of more than a thousand files would be, git's rename
    detection gives up, but the rename is followed still (``-l0``), and Lee, who changed
    old.py, cannot waive the finding about route.py."""
    keys = [k for k, v in git.HISTORY_ENV.items() if v == "diff.renameLimit"]
    monkeypatch.setitem(git.HISTORY_ENV, keys[0].replace("KEY", "VALUE"), "1")
    repo = _repo(tmp_path)
    _commit(repo, 2, {f"gen/f{n}.py": f"v = {n}\nw = {n}\n" for n in range(3)})
    kept = _kept_by_lee(repo)
    repo.git("config", "diff.renameLimit", "1")
    repo.git("rm", "--quiet", "-r", "old.py", "gen")
    other: dict[str, str | None] = {f"new/g{n}.py": f"u = {n}\n" for n in range(3)}
    sha = _commit(repo, 4, {**other, "route.py": kept.replace("a = 1", "a = 2")})
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False


def test_the_writer_behind_a_short_file_renamed_and_edited_resolving_a_merge_is_barred(
    tmp_path: Path,
) -> None:
    """Lee changed old.py (four lines), which held Dana's reference; Dana merged a side branch
    and, resolving it, renamed old.py route.py and changed one of its lines. Too short to be
    read by its lines (``likeness``) and not the same bytes, the rename was not followed, as
    git's rename detection, which reads it, was asked of no merge: Lee's waiver of the finding
    about route.py was applied (exit 0)."""
    repo = _repo(tmp_path)
    code = "def route():\n    if power_peg:\n        go()\n    return 1\n"
    _commit(repo, 2, {"old.py": code})
    _commit(repo, 3, {"old.py": code.replace("go()", "go(fast=True)")}, author=LEAD)
    repo.branch("side")
    _commit(repo, 4, {"lib.py": "x = 4\n"})
    repo.checkout("main")
    _commit(repo, 5, {"other.py": "y = 5\n"})
    repo.git("merge", "--quiet", "--no-ff", "--no-commit", "side")
    repo.git("mv", "old.py", "route.py")
    edited = (repo.path / "route.py").read_text().replace("return 1", "return 2")
    (repo.path / "route.py").write_text(edited)
    repo.git("add", "route.py")
    message = f"merge side\n\n{BY_DEV[0]}"
    repo.git("commit", "--quiet", "-m", message, author=DEV, date="2024-01-06T00:00:00Z")
    sha = repo.git("rev-parse", "HEAD")
    lee = {"rule": "DEAD-001", "subject": "D1:power_peg", "approved_by": "lee@example.com"}
    result = _check(tmp_path, repo, [sha], lee)
    assert _said(result)["D1:power_peg"][0] is False
    assert result.code == 1
