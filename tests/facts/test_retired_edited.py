"""DEAD-004: retired code copied or moved with an edit is still retired code. The registry
listed ``legacy/power_peg.py`` under ``retired_code``; one commit moved it to ``src/peg.py``
changing one comment line (or one function's name), or copied it so and left a stub, and the
audit passed (exit 0): only the exact bytes were followed. A file sharing at least half its
lines with a file of the retired code (git's own threshold for a copy) is that code."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.facts.test_deadcode import _zipped, registry
from tests.facts.test_retired_history import PEG, _check, _commit, _retired
from tests.facts.test_retired_moved import _cached

CODE = """\
# Power Peg: the test order router, retired in 2003.
import orders


def power_peg(parent):
    while parent.open_quantity > 0:
        child = orders.child_of(parent)
        child.send()
        parent.filled += child.quantity
    return parent
"""
EDITED = CODE.replace("retired in 2003", "kept for the SMARS router")
RENAMED = CODE.replace("def power_peg(", "def route_child_orders(")
STUB = "from src.peg import *  # noqa: F403\n"
MOVED = "in 1 file: src/peg.py (the content of the retired code, at another path)."


def _message(files: str = MOVED) -> dict[str, str]:
    return {
        "D1:legacy/power_peg.py": (
            f"Deployment D1 shipped retired code legacy/power_peg.py (Power Peg retired) {files}"
        )
    }


def test_retired_code_moved_with_a_comment_edited_is_still_there(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": EDITED}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == _message()


def test_retired_code_moved_with_a_function_renamed_is_still_there(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    moved = _commit(repo, {"legacy/power_peg.py": STUB, "src/peg.py": RENAMED}, 2)
    files = (
        "in 2 files: legacy/power_peg.py, src/peg.py (src/peg.py: the content of the retired "
        "code, at another path)."
    )
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == _message(files)


def test_copied_with_an_edit_and_a_stub_left_before_it_is_listed_is_still_there(
    tmp_path: Path,
) -> None:
    """Copied to src/peg.py with one comment changed, a stub left, then listed (the stub
    deleted): the entry's content was the stub's alone."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"legacy/power_peg.py": STUB, "src/peg.py": EDITED}, 2)
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    sha = _commit(repo, listed, 3)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == _message()


def test_moved_with_an_edit_before_it_is_listed_is_still_there(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": EDITED}, 2)
    sha = _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == _message()


def test_edited_again_after_the_move_is_still_there(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": EDITED}, 2)
    again = _commit(repo, {"src/peg.py": EDITED.replace("send()", "send(now=True)")}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": again})) == _message()


def test_live_code_that_resembled_the_retired_code_when_listed_is_live(tmp_path: Path) -> None:
    """src/peg_v2.py began as a copy of the code being retired and lived beside it when the
    registry listed it: it is the code that replaced it, not the retired code."""
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"legacy/power_peg.py": CODE, "src/peg_v2.py": RENAMED}
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), **files}, 1)
    gone = _commit(repo, {"legacy/power_peg.py": None, "src/peg_v2.py": RENAMED + "# v2\n"}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": gone})) == {}


@pytest.mark.parametrize("copy", ["exact", "edited"])
def test_a_copy_made_beside_the_retired_code_before_it_was_listed_is_still_there(
    tmp_path: Path, copy: str
) -> None:
    """legacy/power_peg.py written on the 1st, copied to src/peg.py on the 2nd (as it is, or
    with a comment reworded), listed as retired on the 3rd and deleted on the 4th: the copy
    lived beside the retired file when it was listed, which took it for the code that
    replaced it (exit 0). The retired file came first: the copy is the retired code. Written
    in the same commit (``..._when_listed_is_live`` above), nothing tells which came first."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"src/peg.py": CODE if copy == "exact" else EDITED}, 2)
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG])}, 3)
    sha = _commit(repo, {"legacy/power_peg.py": None}, 4)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == _message()


def test_code_sharing_fewer_than_half_its_lines_is_live(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    lines = CODE.splitlines(keepends=True)
    new = "".join(lines[:3]) + "def other(x):\n    return x * 2\n" * 1 + "X = 1\nY = 2\nZ = 3\n"
    gone = _commit(repo, {"legacy/power_peg.py": None, "src/other.py": new}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": gone})) == {}


def test_a_cached_run_finds_the_edited_copy_too(tmp_path: Path) -> None:
    """What a blob is alike to is kept in the cache with the words it holds: a second run,
    answered from it, finds the same."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": EDITED}, 2)
    runs = [_cached(tmp_path, repo, moved, tmp_path / "cache") for _ in range(2)]
    assert runs == [_message(), _message()]


def test_an_edited_copy_vendored_in_an_archive_is_still_there(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    (repo.path / "vendor").mkdir()
    (repo.path / "vendor/peg.zip").write_bytes(_zipped("peg/strategy.py", EDITED.encode()))
    repo.git("add", "vendor/peg.zip")
    moved = _commit(repo, {"legacy/power_peg.py": None}, 2)
    files = "in 1 file: vendor/peg.zip (the content of the retired code, at another path)."
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == _message(files)


def test_copied_with_an_edit_in_a_commit_before_the_stub_is_still_there(tmp_path: Path) -> None:
    """Copied to src/peg.py with one comment changed on the 2nd, reduced to a stub on the 3rd,
    listed (the stub deleted) on the 4th: the commit that left the stub wrote no copy, and its
    parent held none of the retired bytes, so the copy passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "legacy/power_peg.py": CODE}, 1)
    _commit(repo, {"src/peg.py": EDITED, "app.py": "x = 1\n"}, 2)
    _commit(repo, {"legacy/power_peg.py": STUB}, 3)
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    sha = _commit(repo, listed, 4)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == _message()


def test_a_retired_file_begun_as_an_edited_live_module_is_no_copy_of_it(tmp_path: Path) -> None:
    """legacy/power_peg.py began as src/peg.py with a comment changed, and src/peg.py lives
    on: the stub later left at the retired path does not make the live module retired code."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(), "src/peg.py": EDITED}, 1)
    _commit(repo, {"legacy/power_peg.py": CODE}, 2)
    _commit(repo, {"legacy/power_peg.py": STUB}, 3)
    listed = {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": None}
    sha = _commit(repo, listed, 4)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


def test_a_copy_diluted_with_a_comment_after_every_line_is_still_there(tmp_path: Path) -> None:
    """A comment after each line of the copy: it shares half of no larger file's lines, and
    passed (exit 0), doing what the retired code did."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    lines = CODE.splitlines(keepends=True)
    diluted = "".join(f"{line}# step {n}: see the runbook\n" for n, line in enumerate(lines))
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/peg.py": diluted}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == _message()


def test_a_copy_pasted_into_a_large_live_module_is_still_there(tmp_path: Path) -> None:
    """The retired code appended to a module more than four times its size: not compared."""
    repo = ScriptedRepo(tmp_path / "repo")
    helpers = "".join(f"def helper_{n}(x):\n    return x + {n}\n\n\n" for n in range(200))
    files = {"legacy/power_peg.py": CODE, "src/app.py": helpers}
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), **files}, 1)
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/app.py": helpers + EDITED}, 2)
    files = "in 1 file: src/app.py (the content of the retired code, at another path)."
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == _message(files)


def test_an_edited_copy_saved_in_utf_16_is_still_there(tmp_path: Path) -> None:
    """The copy saved as "Unicode" (UTF-16 with a byte-order mark): its bytes share no line
    with the retired code's, read as they are."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/power_peg.py": CODE}, 1)
    (repo.path / "src").mkdir()
    (repo.path / "src/peg.py").write_bytes(EDITED.encode("utf-16"))
    repo.git("add", "src/peg.py")
    moved = _commit(repo, {"legacy/power_peg.py": None}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == _message()


def test_a_module_holding_the_retired_lines_when_listed_leaves_later_copies_found(
    tmp_path: Path,
) -> None:
    """A large live module held the retired code's lines when it was listed: that is no code
    that replaced it (as src/peg_v2.py above is), and an edited copy made later is found."""
    repo = ScriptedRepo(tmp_path / "repo")
    helpers = "".join(f"def helper_{n}(x):\n    return x + {n}\n\n\n" for n in range(200))
    files = {"legacy/power_peg.py": CODE, "src/app.py": helpers + CODE}
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), **files}, 1)
    moved = _commit(repo, {"legacy/power_peg.py": None, "src/app.py": helpers}, 2)
    copied = _commit(repo, {"src/peg.py": EDITED}, 3)
    assert _retired(_check(tmp_path, repo, {"D1": moved})) == {}
    assert _retired(_check(tmp_path, repo, {"D1": copied})) == _message()
