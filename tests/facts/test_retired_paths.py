"""DEAD-004: a ``retired_code`` entry names its files however they are spelt, and globs as
git reads them too. A path holding ``[`` or ``]`` (``legacy/peg[1].py``, a folder
``legacy/[old]``) was read only as a glob, whose brackets are a character class, so the
retired code at that very path was never found; ``**/power_peg.py`` missed ``power_peg.py`` at
the root, and ``legacy/**/peg.py`` missed ``legacy/peg.py``, which git's own ``:(glob)``
pathspecs (and ``reference_exclude``) match. Each passed the gate and the check."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.git_content import covers
from tests.conftest import DEV
from tests.facts.test_deadcode import REVIEWED
from tests.facts.test_retired_links import _check, _registry, _retired


@pytest.mark.parametrize(
    ("entry", "files", "found"),
    [
        ("legacy/peg[1].py", ["legacy/peg[1].py"], ["D1:legacy/peg[1].py"]),
        ("legacy/[old]", ["legacy/[old]/a.py", "legacy/[old]/b/c.py"], ["D1:legacy/[old]"]),
        ("**/power_peg.py", ["power_peg.py"], ["D1:**/power_peg.py"]),
        ("legacy/**/peg.py", ["legacy/peg.py"], ["D1:legacy/**/peg.py"]),
        # a backslash escapes: these named no file, and passed
        ("legacy/peg\\[1\\].py", ["legacy/peg[1].py"], ["D1:legacy/peg\\[1\\].py"]),
        ("legacy/\\[old\\]/*.py", ["legacy/[old]/a.py"], ["D1:legacy/\\[old\\]/*.py"]),
        ("legacy/peg\\*.py", ["legacy/peg*.py", "legacy/pegs.py"], ["D1:legacy/peg\\*.py"]),
    ],
)
def test_retired_code_is_found_at_its_path_however_it_is_spelt(
    tmp_path: Path, entry: str, files: list[str], found: list[str]
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    content: dict[str, str | None] = {"flags.yaml": _registry(entry)}
    content.update({path: "run()\n" for path in files})
    repo.commit("c", content, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    assert sorted(_retired(_check(tmp_path, repo))) == found


@pytest.mark.parametrize(
    ("pattern", "path", "covered"),
    [
        ("legacy/peg[1].py", "legacy/peg[1].py", True),
        ("legacy/peg[1].py", "legacy/peg1.py", True),  # read as a glob too: only adds
        ("legacy", "legacy/a/b.py", True),
        ("legacy", "legacy2/a.py", False),
        ("**/power_peg.py", "power_peg.py", True),
        ("**/power_peg.py", "a/b/power_peg.py", True),
        ("legacy/**/peg.py", "legacy/peg.py", True),
        ("legacy/**", "legacy/x/y.py", True),
        ("smars/*.py", "smars/sub/x.py", True),  # its * crosses / as written, as before
        ("smars/[!a]*.py", "smars/b.py", True),
        ("smars/[!a]*.py", "smars/a.py", False),
        ("smars/power_peg.py", "smars/power_peg.pyc", False),
        # Brackets as git's wildmatch reads them; each of these stopped the run (exit 3).
        ("legacy/[!]", "legacy/[!]", True),  # never closed: the path as written
        ("legacy/[!]", "legacy/x", False),
        ("smars/[!]a].py", "smars/b.py", True),  # the first member may be ]
        ("smars/[!]a].py", "smars/a.py", False),
        ("smars/[z-a].py", "smars/m.py", False),  # a backward range matches nothing
        ("smars/[a-\\]x].py", "smars/x.py", True),  # \ escapes: a-] runs backwards
        ("smars/[^a].py", "smars/b.py", True),  # ^ negates, as ! does
        ("smars/peg\\[1\\].py", "smars/peg[1].py", True),  # \ escapes outside brackets too
        ("smars/peg\\*.py", "smars/pegs.py", False),
        ("smars/\\[a\\]/*.py", "smars/[a]/x.py", True),
    ],
)
def test_what_an_entry_covers(pattern: str, path: str, covered: bool) -> None:
    assert covers(pattern, path) is covered


def test_an_entry_with_any_brackets_is_judged(tmp_path: Path) -> None:
    """``legacy/[!]`` in the registry was an internal error (exit 3), for every deployment."""
    repo = ScriptedRepo(tmp_path / "repo")
    content: dict[str, str | None] = {"flags.yaml": _registry("legacy/[!]"), "legacy/[!]": "x\n"}
    repo.commit("c", content, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    assert sorted(_retired(_check(tmp_path, repo))) == ["D1:legacy/[!]"]


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("./legacy/power_peg.py", "has a part '.', which names no file in git"),
        ("legacy//power_peg.py", "has an empty part"),
        ("legacy/../legacy/power_peg.py", "has a part '..'"),
        ("legacy\\power_peg.py", "separates folders with a backslash"),
        ("legacy/power_peg.py ", "has white space at its start or end"),
    ],
)
def test_an_entry_no_file_could_have_is_an_unreadable_registry(
    tmp_path: Path, entry: str, error: str
) -> None:
    """Each of these named no file of any tree, so DEAD-004 passed (exit 0) with the retired
    code at ``legacy/power_peg.py``."""
    repo = ScriptedRepo(tmp_path / "repo")
    content = {"flags.yaml": _registry(entry), "legacy/power_peg.py": "run()\n"}
    repo.commit("c", content, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    result = _check(tmp_path, repo)
    assert result.code == 1, result.err
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "DEAD-006"]
    assert f"path {entry!r} {error}" in finding["message"]


@pytest.mark.parametrize("entry", ["legacy/peg[[]1].py", "/legacy/peg[1].py", "legacy/"])
def test_brackets_and_slashes_at_the_ends_are_paths_still(tmp_path: Path, entry: str) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    content = {"flags.yaml": _registry(entry), "legacy/peg[1].py": "run()\n"}
    repo.commit("c", content, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    assert list(_retired(_check(tmp_path, repo))) == [f"D1:{entry}"]


@pytest.mark.parametrize("entry", ["Legacy/Power_Peg.py", "LEGACY/", "Legacy/*.py"])
def test_an_entry_written_in_another_letter_case_names_the_file(tmp_path: Path, entry: str) -> None:
    """On the file systems that ignore case (macOS's, Windows'), ``Legacy/Power_Peg.py`` is
    the file a checkout writes at ``legacy/power_peg.py``; read as written it matched nothing,
    and DEAD-004 passed (exit 0) with the retired code in place."""
    repo = ScriptedRepo(tmp_path / "repo")
    content = {"flags.yaml": _registry(entry), "legacy/power_peg.py": "run()\n"}
    repo.commit("c", content, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    result = _check(tmp_path, repo)
    assert result.code == 1, result.err
    assert list(_retired(result)) == [f"D1:{entry}"]
