"""DEAD-004: retired code moved to another path is still retired code. The registry listed
``legacy/power_peg.py`` under ``retired_code`` while the file was there; one commit moved it
(``git mv legacy/power_peg.py src/peg.py``) and the audit passed: the entry was matched by
path alone. A file whose bytes are those of a file the entry covered, at a version of the
registry that listed it in the deployed commit's history, counts as the retired code, at
whatever path it now is."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.git_content import TreeIndex
from checker.facts.retired import RetiredCodeHistory
from tests.conftest import DEV, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, _tarred, _zipped, ar_archive, registry, v7_tarred
from tests.facts.test_retired_history import CODE, PEG, _check, _commit, _retired

OTHER = "def smars_router(): ...\n"
FOLDER = {"path": "legacy/smars/", "reason": "SMARS v1 retired", "retired_at": "2005-01-01"}


def _listed(tmp_path: Path, **files: str) -> tuple[ScriptedRepo, str]:
    """The registry retires legacy/power_peg.py while the file is still there."""
    repo = ScriptedRepo(tmp_path / "repo")
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}
    base = _commit(repo, {**listed, "app.py": "print('router')\n", **files}, 1)
    return repo, base


def test_retired_code_moved_to_another_path_is_still_there(tmp_path: Path) -> None:
    repo, _ = _listed(tmp_path)
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": CODE}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == {
        "D1:legacy/power_peg.py": (
            "Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            "file: src/peg.py (the content of the retired code, at another path)."
        )
    }


def test_moved_and_dropped_from_the_registry_is_still_there(tmp_path: Path) -> None:
    repo, base = _listed(tmp_path)
    _commit(repo, {"flags.yaml": registry()}, 2)
    moved = _commit(repo, {"legacy/power_peg.py": None, "vendor/x/peg.py": CODE}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == {
        "D1:legacy/power_peg.py": (
            "Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            "file: vendor/x/peg.py (the content of the retired code, at another path); listed "
            f"under retired_code at {base[:12]} and since dropped from the registry."
        )
    }


def test_a_retired_folder_moved_is_found_file_by_file(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"legacy/smars/router.py": OTHER, "legacy/smars/peg.py": CODE}
    _commit(repo, {"flags.yaml": registry(retired_code=[FOLDER]), **files}, 1)
    moved = {"legacy/smars/router.py": None, "legacy/smars/peg.py": None}
    moved |= {"old/router.py": OTHER, "old/peg.py": CODE}
    sha = _commit(repo, moved, 2)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {
        "D1:legacy/smars/": (
            "Deployment D1 shipped retired code legacy/smars/ (SMARS v1 retired) in 2 files: "
            "old/peg.py, old/router.py (the content of the retired code, at another path)."
        )
    }


def test_moved_and_still_in_place_names_both(tmp_path: Path) -> None:
    repo, _ = _listed(tmp_path)
    copied = _commit(repo, {"src/peg.py": CODE}, 2)
    messages = _retired(_check(tmp_path, repo, {"D1": copied}))
    assert messages["D1:legacy/power_peg.py"].endswith(
        "in 2 files: legacy/power_peg.py, src/peg.py (src/peg.py: the content of the retired "
        "code, at another path)."
    )


def test_content_live_code_shared_when_it_was_retired_is_no_retired_code(
    tmp_path: Path,
) -> None:
    """A file the retired code had in common with live code (a copy, an empty
    ``__init__.py``) says nothing of where the retired code went."""
    repo = ScriptedRepo(tmp_path / "repo")
    listed = {"legacy/smars/__init__.py": "", "legacy/smars/peg.py": CODE}
    live = {"app/__init__.py": "", "app/peg_copy.py": CODE}
    _commit(repo, {"flags.yaml": registry(retired_code=[FOLDER]), **listed, **live}, 1)
    gone = _commit(repo, dict.fromkeys(listed), 2)
    assert _retired(_check(tmp_path, repo, {"D1": gone})) == {}
    renamed = _commit(repo, {"lib/__init__.py": ""}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": renamed})) == {}


def test_retired_code_edited_as_it_moved_is_not_recognised(tmp_path: Path) -> None:
    """A file of fewer than five lines is matched exactly (the limit the documentation
    states): an edit as it moves hides it from DEAD-004, though not from DEAD-001 where it
    names a retired flag. A longer one is matched by likeness (``test_retired_edited``)."""
    repo, _ = _listed(tmp_path)
    edited = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": CODE + "# x\n"}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": edited})) == {}


def _vendored(kind: str) -> tuple[str, bytes]:
    """The retired file, renamed, in an archive of ``kind``."""
    code = CODE.encode()
    if kind == "zip":
        return "vendor/peg.zip", _zipped("peg/strategy.py", code)
    if kind == "gz":
        return "vendor/strategy.py.gz", gzip.compress(code, mtime=0)
    if kind == "v7 tar":
        return "vendor/peg.tar", v7_tarred("peg/strategy.py", code)
    tarred = _tarred("peg/strategy.py", code)
    if kind == "deb":
        data = ar_archive(
            ("debian-binary", b"2.0\n"), ("data.tar.gz", gzip.compress(tarred, mtime=0))
        )
        return "vendor/peg.deb", data
    return (
        ("vendor/peg.tar", tarred)
        if kind == "tar"
        else ("vendor/peg.tgz", gzip.compress(tarred, mtime=0))
    )


@pytest.mark.parametrize("kind", ["zip", "gz", "tar", "tar.gz", "v7 tar", "deb"])
def test_retired_code_vendored_in_an_archive_is_still_there(tmp_path: Path, kind: str) -> None:
    """The retired file moved into a zip, a gzip stream, a tar or a .tar.gz, under another
    name: its blob was sought among the tree's files alone, and DEAD-004 passed. So it did in
    a tar without magic (Seventh Edition's) and in a .deb (an ar archive), which were taken for
    no archive at all."""
    repo, _ = _listed(tmp_path)
    path, data = _vendored(kind)
    (repo.path / "vendor").mkdir()
    (repo.path / path).write_bytes(data)
    repo.git("add", path)
    moved = _commit(repo, {"legacy/power_peg.py": None}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == {
        "D1:legacy/power_peg.py": (
            "Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            f"file: {path} (the content of the retired code, at another path)."
        )
    }


def test_a_listing_on_a_line_never_merged_says_nothing(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    base = _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    repo.branch("side", base)
    repo.checkout("side")
    side = _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 2)
    repo.checkout("main")
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": CODE}, 3)
    found = _retired(_check(tmp_path, repo, {"D1": moved, "D2": side}))
    assert found == {
        "D2:legacy/power_peg.py": (
            "Deployment D2 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            "file: legacy/power_peg.py."
        )
    }


def test_a_cached_run_finds_the_moved_code_too(tmp_path: Path) -> None:
    """What a root tree holds of the retired blobs is kept in the cache with the words it holds:
    a second run, answered from it, finds the same; a run for other retired content does not
    take its answer."""
    repo, _ = _listed(tmp_path)
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": CODE}, 2)
    expected = _retired(_check(tmp_path, repo, {"D1": moved}))
    cache = tmp_path / "cache"
    runs = [_cached(tmp_path, repo, moved, cache) for _ in range(2)]
    assert runs == [expected, expected]
    assert list(expected) == ["D1:legacy/power_peg.py"]


def _cached(tmp_path: Path, repo: ScriptedRepo, sha: str, cache: Path) -> dict[str, str]:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-02-01T00:00:00Z", approvals=APPROVAL)],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--cache-dir", cache,
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    return _retired(result)


@pytest.mark.parametrize("folder", [False, True])
def test_moved_in_the_commit_before_it_is_listed_is_still_there(
    tmp_path: Path, folder: bool
) -> None:
    """``git mv legacy/power_peg.py src/peg.py`` (or the whole folder legacy/smars/ moved to
    lib/), then, in the next commit, the registry lists the old path: the entry covered no
    file where it was listed, nor in that commit's parent, so its content was never learnt,
    the code lived on under its new name, and the check passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    entry = FOLDER if folder else PEG
    old = {"legacy/smars/peg.py": CODE, "legacy/smars/router.py": OTHER} if folder else {}
    old = old or {"legacy/power_peg.py": CODE}
    _commit(repo, {"flags.yaml": registry(), "app.py": "print('router')\n", **old}, 1)
    new = {path.replace("legacy/smars/", "lib/").replace("legacy/power_peg", "src/peg"): text
           for path, text in old.items()}  # fmt: skip
    _commit(repo, {**dict.fromkeys(old), **new}, 2)
    listed = _commit(repo, {"flags.yaml": registry(retired_code=[entry])}, 3)
    shown = "2 files: lib/peg.py, lib/router.py" if folder else "1 file: src/peg.py"
    assert _retired(_check(tmp_path, repo, {"D1": listed})) == {
        f"D1:{entry['path']}": (
            f"Deployment D1 shipped retired code {entry['path']} ({entry['reason']}) in "
            f"{shown} (the content of the retired code, at another path)."
        )
    }


def test_code_deleted_long_before_it_is_listed_is_found_where_it_comes_back(
    tmp_path: Path,
) -> None:
    """A guard listed years after its code was deleted: the same bytes written back at
    another path, later, are the retired code; code of other bytes is not."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE, "app.py": "1\n"}, 1)
    _commit(repo, {"legacy/power_peg.py": None}, 2)
    listed = _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 3)
    back = _commit(repo, {"vendor/peg.py": CODE, "app.py": "2\n"}, 4)
    found = _retired(_check(tmp_path, repo, {"D1": listed, "D2": back}))
    assert list(found) == ["D2:legacy/power_peg.py"]
    # where the code was last held is kept in the cache: a second run finds the same
    runs = [_cached(tmp_path, repo, back, tmp_path / "cache") for _ in range(2)]
    assert [list(run) for run in runs] == [["D1:legacy/power_peg.py"]] * 2


def test_listed_and_moved_in_one_commit_is_still_there(tmp_path: Path) -> None:
    """The commit that lists the code retires what its parent held: listing it and moving it
    at once (one pull request, judged by the gate) left the content unknown, and passed."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    both = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    sha = _commit(repo, {**both, "src/peg.py": CODE}, 2)
    write_yaml(tmp_path / "ev" / "deploys.yaml", [])
    fleet = {"environments": ["production"], "services": {"web": {"hosts": ["web-1"]}}}
    write_yaml(tmp_path / "ev" / "fleet.yaml", fleet)
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--candidate", sha,
        "--service", "web", "--as-of", "2024-02-01", "--no-cache", "--format", "json",
    )  # fmt: skip
    assert result.code == 1, result.err
    assert _retired(result) == {
        "candidate:legacy/power_peg.py": (
            "Deployment candidate shipped retired code legacy/power_peg.py (Power Peg retired) "
            "in 1 file: src/peg.py (the content of the retired code, at another path)."
        )
    }


def test_listed_and_deleted_in_one_commit_then_brought_back_is_still_there(
    tmp_path: Path,
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}, 2)
    back = _commit(repo, {"src/peg.py": CODE}, 3)
    assert list(_retired(_check(tmp_path, repo, {"D1": back}))) == ["D1:legacy/power_peg.py"]


def test_content_two_retired_folders_share_is_retired_code(tmp_path: Path) -> None:
    """A blob held in two retired folders is neither folder's live twin: each left it out as
    shared with the other, and the file moved out of both passed."""
    smars = {"path": "legacy/smars/", "reason": "SMARS v1 retired", "retired_at": "2005-01-01"}
    peg = {"path": "legacy/peg/", "reason": "Power Peg retired", "retired_at": "2005-01-01"}
    repo = ScriptedRepo(tmp_path / "repo")
    both = {"legacy/smars/peg.py": CODE, "legacy/peg/peg.py": CODE}
    _commit(repo, {"flags.yaml": registry(retired_code=[smars, peg]), **both}, 1)
    moved = _commit(repo, {**dict.fromkeys(both), "src/peg.py": CODE}, 2)
    assert sorted(_retired(_check(tmp_path, repo, {"D1": moved}))) == [
        "D1:legacy/peg/",
        "D1:legacy/smars/",
    ]


def test_content_shared_with_code_retired_earlier_is_retired_code(tmp_path: Path) -> None:
    """Two folders hold the same file; the registry retires one (the other is live then: the
    file is no sign of it), then the other, dropping the first. The first folder's copy is
    retired code, not live code the second shares its content with: the file moved out of
    both passed."""
    peg = {"path": "legacy/peg/", "reason": "Power Peg retired", "retired_at": "2005-01-01"}
    repo = ScriptedRepo(tmp_path / "repo")
    both = {"legacy/peg/peg.py": CODE, "legacy/smars/p.py": CODE}
    _commit(repo, {"flags.yaml": registry(retired_code=[peg]), **both}, 1)
    _commit(repo, {"flags.yaml": registry(retired_code=[FOLDER])}, 2)
    moved = _commit(repo, {**dict.fromkeys(both), "p.py": CODE}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == {
        "D1:legacy/smars/": (
            "Deployment D1 shipped retired code legacy/smars/ (SMARS v1 retired) in 1 file: "
            "p.py (the content of the retired code, at another path)."
        )
    }


def test_an_empty_file_of_retired_code_is_no_retired_code(tmp_path: Path) -> None:
    """The retired folder's empty ``__init__.py`` was the only one when it was listed: every
    package added later (an empty ``__init__.py``, ``py.typed``) was reported as the
    retired code, moved."""
    repo = ScriptedRepo(tmp_path / "repo")
    listed = {"legacy/smars/__init__.py": "", "legacy/smars/peg.py": CODE}
    _commit(repo, {"flags.yaml": registry(retired_code=[FOLDER]), **listed}, 1)
    _commit(repo, dict.fromkeys(listed), 2)
    later = _commit(repo, {"pkg/__init__.py": "", "pkg/py.typed": ""}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": later})) == {}


def test_the_content_of_many_versions_walks_each_tree_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Learning the content looked for each file of a version's tree that shared a blob with
    the retired code, walking the whole tree once per entry and version: with 50 entries over
    200 versions, thousands of walks. A tree is now walked once for all of them (the versions'
    commits share most of their trees): live code no entry covers, unchanged over 30 versions
    and listed by 10 entries, has each of its trees read once."""
    repo = ScriptedRepo(tmp_path / "repo")
    entries = [{**FOLDER, "path": f"legacy/m{k}/"} for k in range(10)]
    files = {f"lib/d{d}/f{f}.py": f"x = {d}{f}\n" for d in range(5) for f in range(5)}
    files |= {f"legacy/m{k}/a.py": f"y = {k}\n" for k in range(10)}
    _commit(repo, {"flags.yaml": registry(retired_code=entries[:1]), **files}, 1)
    for version in range(2, 31):
        listed = registry(retired_code=entries[: min(10, version)])
        _commit(repo, {"flags.yaml": listed, f"app/v{version}.py": "z = 1\n"}, version)
    lib = {repo.git("rev-parse", f"HEAD:lib/d{d}") for d in range(5)}
    read: list[str] = []
    entries_of = TreeIndex.entries

    def spy(self: TreeIndex, tree: str) -> list[tuple[str, str, bool]]:
        read.append(tree)
        return entries_of(self, tree)

    learn = RetiredCodeHistory.content

    def content(
        self: RetiredCodeHistory,
        trees: TreeIndex,
        held: dict[str, str] | None = None,
        copied: dict[str, frozenset[str]] | None = None,
    ) -> set[str]:
        with monkeypatch.context() as patch:
            patch.setattr(TreeIndex, "entries", spy)
            return learn(self, trees, held, copied)

    monkeypatch.setattr(RetiredCodeHistory, "content", content)
    _check(tmp_path, repo, {"D1": repo.git("rev-parse", "HEAD")})
    assert sorted(t for t in read if t in lib) == sorted(lib)


STUB = "from src.peg import *  # noqa: F403\n"


@pytest.mark.parametrize("stub_gone", [True, False], ids=["stub deleted", "stub kept"])
def test_copied_out_with_a_stub_left_before_it_is_listed_is_still_there(
    tmp_path: Path, stub_gone: bool
) -> None:
    """legacy/power_peg.py was copied to src/peg.py and reduced to a stub importing it in one
    commit; the next listed legacy/power_peg.py under retired_code (and deleted the stub). The
    entry's content was the stub's, and src/peg.py, the retired code itself, passed (exit 0)
    once the stub was gone."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"legacy/power_peg.py": STUB, "src/peg.py": CODE}, 2)
    listed = {"flags.yaml": registry(retired_code=[PEG])}
    sha = _commit(repo, {**listed, "legacy/power_peg.py": None if stub_gone else STUB}, 3)
    files = "1 file: src/peg.py (the content" if stub_gone else "2 files: legacy/power_peg.py, "
    files += "" if stub_gone else "src/peg.py (src/peg.py: the content"
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {
        "D1:legacy/power_peg.py": (
            f"Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in "
            f"{files} of the retired code, at another path)."
        )
    }


def test_a_stub_edited_before_it_is_listed_hides_no_copy(tmp_path: Path) -> None:
    """legacy/power_peg.py was copied to src/peg.py and reduced to a stub in one commit, the
    stub edited by a comment in the next, and legacy/power_peg.py listed (the stub deleted) in
    a third. Only the newest write of the file was read, the comment's, which copied nothing:
    src/peg.py, the retired code itself, passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"legacy/power_peg.py": STUB, "src/peg.py": CODE}, 2)
    _commit(repo, {"legacy/power_peg.py": STUB + "# moved to src/peg.py\n"}, 3)
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    sha = _commit(repo, listed, 4)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {
        "D1:legacy/power_peg.py": (
            "Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            "file: src/peg.py (the content of the retired code, at another path)."
        )
    }


@pytest.mark.parametrize("again", [False, True], ids=["copied before", "copied twice"])
def test_copied_out_in_a_commit_before_the_stub_is_still_there(tmp_path: Path, again: bool) -> None:
    """legacy/power_peg.py was copied to src/peg.py in one commit and reduced to a stub in the
    next (or copied again, to src/b.py, with the stub), then listed. Its parent held the code
    outside retired code already, which was read as live code: src/peg.py passed (exit 0).
    The code began at legacy/power_peg.py, so it is the retired code's."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"src/peg.py": CODE}, 2)
    _commit(repo, {"legacy/power_peg.py": STUB, **({"src/b.py": CODE} if again else {})}, 3)
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    sha = _commit(repo, listed, 4)
    files = "2 files: src/b.py, src/peg.py" if again else "1 file: src/peg.py"
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {
        "D1:legacy/power_peg.py": (
            f"Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in "
            f"{files} (the content of the retired code, at another path)."
        )
    }


def test_a_live_module_copied_into_retired_code_is_no_retired_code(tmp_path: Path) -> None:
    """legacy/power_peg.py started as a copy of src/util.py, which lives on: a later stub at
    the retired path does not make the live module retired code."""
    repo = ScriptedRepo(tmp_path / "repo")
    util = "def helper(): ...\n"
    _commit(repo, {"flags.yaml": registry(), "src/util.py": util}, 1)
    _commit(repo, {"legacy/power_peg.py": util}, 2)
    _commit(repo, {"legacy/power_peg.py": STUB, "src/peg.py": util}, 3)
    sha = _commit(repo, {"flags.yaml": registry(retired_code=[PEG]),
                         "legacy/power_peg.py": None}, 4)  # fmt: skip
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


def test_a_submodule_added_with_the_stub_is_no_file_to_read(tmp_path: Path) -> None:
    """A submodule added in the commit that left the stub: its entry names a commit of another
    repository, which the search for code copied out read as a file's content, and the audit
    of a repository with a submodule stopped (exit 2: "the repository is incomplete or
    damaged"). A submodule holds no file of this repository, and is not read."""
    other = ScriptedRepo(tmp_path / "other")
    sub = other.commit("lib", {"lib.py": "x = 1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    code = "".join(f"def leg_{n}(order):\n    return order.send({n})\n" for n in range(4))
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": code}, 1)
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    moved = {"legacy/power_peg.py": STUB, "src/peg.py": "# Power Peg, moved here\n" + code}
    _commit(repo, moved, 2)
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    result = _check(tmp_path, repo, {"D1": _commit(repo, listed, 3)})
    assert _retired(result) == {
        "D1:legacy/power_peg.py": (
            "Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) in 1 "
            "file: src/peg.py (the content of the retired code, at another path)."
        )
    }
