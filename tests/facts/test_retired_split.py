"""DEAD-004: retired code split across several files is still retired code. The registry
listed ``legacy/router.py``; one commit deleted it and wrote its functions into three new
modules, each holding a third of its lines among lines of its own: no file shared half its
lines with the retired file, nor held half of them, and the audit passed (exit 0)."""

from __future__ import annotations

from pathlib import Path

from checker.demo.builder import ScriptedRepo
from tests.facts.test_deadcode import registry
from tests.facts.test_retired_history import _check, _commit, _retired
from tests.facts.test_retired_moved import _cached

ROUTER = {"path": "legacy/router.py", "reason": "Power Peg retired", "retired_at": "2024-01-01"}
PARTS = [
    "".join(f"    leg_{part}_{n} = orders.child_of(parent, {part}, {n})\n" for n in range(6))
    for part in range(3)
]
CODE = "".join(f"def part_{n}(parent):\n{body}    return parent\n" for n, body in enumerate(PARTS))
OWN = "".join(f"audit_{n} = journal.entry({n})\n" for n in range(12))


def _split(tmp_path: Path, parts: int = 3) -> tuple[ScriptedRepo, str]:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[ROUTER]), "legacy/router.py": CODE}, 1)
    written = {f"src/part_{n}.py": f"def part_{n}(parent):\n{PARTS[n]}{OWN}" for n in range(parts)}
    return repo, _commit(repo, {"legacy/router.py": None, **written}, 2)


def _message(count: int = 3) -> dict[str, str]:
    files = ", ".join(f"src/part_{n}.py" for n in range(count))
    return {
        "D1:legacy/router.py": (
            "Deployment D1 shipped retired code legacy/router.py (Power Peg retired) in "
            f"{count} files: {files} (the content of the retired code, at another path)."
        )
    }


def test_retired_code_split_across_three_files_is_still_there(tmp_path: Path) -> None:
    repo, sha = _split(tmp_path)
    result = _check(tmp_path, repo, {"D1": sha})
    assert _retired(result) == _message()
    assert result.code == 1


def test_a_cached_run_finds_the_split_code_too(tmp_path: Path) -> None:
    repo, sha = _split(tmp_path)
    runs = [_cached(tmp_path, repo, sha, tmp_path / "cache") for _ in range(2)]
    assert runs == [_message(), _message()]


def test_a_third_of_the_retired_lines_alone_is_live(tmp_path: Path) -> None:
    """One part kept (a third of the retired file's lines): less than half of it lives on."""
    repo, sha = _split(tmp_path, parts=1)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


LEGS = [line for part in PARTS for line in part.splitlines(keepends=True)]


def _few_each(tmp_path: Path, live: int = 0) -> tuple[ScriptedRepo, str]:
    """legacy/router.py deleted and its leg lines written four to a new module, among lines
    of their own; the first ``live`` of those modules already there when it was listed."""
    repo = ScriptedRepo(tmp_path / "repo")
    written = {f"src/few_{n}.py": "".join(LEGS[n * 4 : n * 4 + 4]) + OWN for n in range(4)}
    listed = {"flags.yaml": registry(retired_code=[ROUTER]), "legacy/router.py": CODE}
    _commit(repo, {**listed, **dict(list(written.items())[:live])}, 1)
    return repo, _commit(repo, {"legacy/router.py": None, **written}, 2)


def test_retired_code_split_into_parts_of_four_lines_is_still_there(tmp_path: Path) -> None:
    """Four files holding four of its lines each (fewer than five), together more than half
    of them: each part was taken for lines shared by chance, and the audit passed (exit 0).
    Lines no live code held when it was retired are no such chance."""
    repo, sha = _few_each(tmp_path)
    result = _check(tmp_path, repo, {"D1": sha})
    files = ", ".join(f"src/few_{n}.py" for n in range(4))
    assert _retired(result) == {
        "D1:legacy/router.py": (
            "Deployment D1 shipped retired code legacy/router.py (Power Peg retired) in 4 "
            f"files: {files} (the content of the retired code, at another path)."
        )
    }
    assert result.code == 1


def test_files_holding_lines_live_code_held_when_it_was_retired_are_live(
    tmp_path: Path,
) -> None:
    """The same four files, there already when legacy/router.py was listed: the lines they
    share with it are what its project shares by chance, and four of them are no part of it."""
    repo, sha = _few_each(tmp_path, live=4)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


def test_files_holding_one_line_each_are_still_there(tmp_path: Path) -> None:
    """Eighteen files holding one of its lines each, among lines of their own: one line was
    no part of it, and the audit passed (exit 0). A line no live code held when it was
    retired was carried from the retired code, alone as with others."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[ROUTER]), "legacy/router.py": CODE}, 1)
    written = {f"src/one_{n:02d}.py": line + OWN for n, line in enumerate(LEGS)}
    sha = _commit(repo, {"legacy/router.py": None, **written}, 2)
    result = _check(tmp_path, repo, {"D1": sha})
    assert list(_retired(result)) == ["D1:legacy/router.py"]
    assert "in 18 files: src/one_00.py" in _retired(result)["D1:legacy/router.py"]
    assert result.code == 1


def test_files_holding_one_line_each_that_live_code_held_are_live(tmp_path: Path) -> None:
    """The same eighteen files, there already when legacy/router.py was listed: a line each
    that its project shared is no part of it."""
    repo = ScriptedRepo(tmp_path / "repo")
    written = {f"src/one_{n:02d}.py": line + OWN for n, line in enumerate(LEGS)}
    listed = {"flags.yaml": registry(retired_code=[ROUTER]), "legacy/router.py": CODE}
    _commit(repo, {**listed, **written}, 1)
    sha = _commit(repo, {"legacy/router.py": None}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


SMALL = "".join(f"peg_{n} = orders.peg(parent, {n})\n" for n in range(8))


def test_a_retired_file_of_eight_lines_split_in_two_is_still_there(tmp_path: Path) -> None:
    """A retired file of eight lines (fewer than ten) split four and four into two modules
    among lines of their own: it was never read for parts, and the audit passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    lines = SMALL.splitlines(keepends=True)
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/peg.py": SMALL}, 1)
    written = {f"src/half_{n}.py": "".join(lines[n * 4 : n * 4 + 4]) + OWN for n in range(2)}
    sha = _commit(repo, {"legacy/peg.py": None, **written}, 2)
    result = _check(tmp_path, repo, {"D1": sha})
    assert list(_retired(result)) == ["D1:legacy/peg.py"]
    assert result.code == 1


IMPORTS = "import os\nimport sys\nimport json\nimport logging\nfrom app import orders\n"
PEG = {"path": "legacy/peg.py", "reason": "Power Peg retired", "retired_at": "2024-01-01"}


def _imports_shared(tmp_path: Path, body: str) -> dict[str, str]:
    """A retired module of ten lines, five of them imports, deleted; live modules importing
    the same five."""
    repo = ScriptedRepo(tmp_path / "repo")
    live = {
        f"src/mod_{n}.py": IMPORTS + "".join(f"own_{n}_{k} = work({k})\n" for k in range(30))
        for n in range(3)
    }
    peg = {"legacy/peg.py": IMPORTS + body}
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), **peg, **live}, 1)
    sha = _commit(repo, {"legacy/peg.py": None}, 2)
    return _retired(_check(tmp_path, repo, {"D1": sha}))


def test_modules_sharing_the_retired_modules_imports_are_live(tmp_path: Path) -> None:
    """Imports and lines of keywords alone (``else:``, ``return None``) say nothing of where
    code came from: every module importing what the retired one imported held half its lines,
    and DEAD-004 named them all."""
    body = "".join(f"peg_{n} = orders.peg({n})\n" for n in range(3)) + "else:\nreturn None\n"
    assert _imports_shared(tmp_path, body) == {}


def test_a_module_holding_the_retired_logic_besides_its_imports_holds_it(tmp_path: Path) -> None:
    body = "".join(f"peg_{n} = orders.peg({n})\n" for n in range(5))
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/peg.py": IMPORTS + body}, 1)
    sha = _commit(repo, {"legacy/peg.py": None, "src/kept.py": "import re\n" + body}, 2)
    assert list(_retired(_check(tmp_path, repo, {"D1": sha}))) == ["D1:legacy/peg.py"]


SHORT = (
    "import os\nimport sys\nfrom app import orders\nfrom app import peg\n\n"
    "def run(order):\n    if order.peg:\n        return peg.fire(order)\n    else:\n"
    "        return None\n"
)


def test_a_short_module_mostly_imports_copied_with_an_edit_is_retired_code(
    tmp_path: Path,
) -> None:
    """A retired module of nine lines, three of them its logic and the rest imports and bare
    keywords, copied with a comment added: once imports said nothing, it had fewer than five
    lines that count, was matched by its bytes alone, and the copy passed (exit 0). It is
    matched by all its lines, so long as the copy holds half the lines that count."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/peg.py": SHORT}, 1)
    sha = _commit(repo, {"legacy/peg.py": None, "src/peg.py": "# moved\n" + SHORT}, 2)
    result = _check(tmp_path, repo, {"D1": sha})
    assert list(_retired(result)) == ["D1:legacy/peg.py"]
    assert result.code == 1


def test_modules_sharing_a_short_modules_imports_alone_are_live(tmp_path: Path) -> None:
    """The same short module's imports, and its bare keywords, in live modules of few lines of
    their own: none holds its logic."""
    live = "".join(f"own_{n} = work({n})\n" for n in range(2))
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"flags.yaml": registry(retired_code=[PEG]), "legacy/peg.py": SHORT}
    body = SHORT.replace("return peg.fire(order)", "return orders.keep(order)")
    body = body.replace("def run(order):", "def keep(order):")
    _commit(repo, files, 1)
    sha = _commit(repo, {"legacy/peg.py": None, "src/keep.py": body + live}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


LICENCE = "".join(
    f"# {line}\n" if line else "#\n"
    for line in [
        "Copyright (c) 2020 Acme Corp. All rights reserved.",
        "",
        'Licensed under the Apache License, Version 2.0 (the "License");',
        "you may not use this file except in compliance with the License.",
        "You may obtain a copy of the License at",
        "",
        "    https://www.apache.org/licenses/LICENSE-2.0",
        "",
        "Unless required by applicable law or agreed to in writing, software",
        'distributed under the License is distributed on an "AS IS" BASIS,',
        "WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.",
        "See the License for the specific language governing permissions and",
        "limitations under the License.",
    ]
)


def test_modules_sharing_the_retired_modules_licence_header_are_live(tmp_path: Path) -> None:
    """Every module of the project opens with the same licence header, nine lines of text: a
    retired module of eight lines of logic under it shared more than half its lines with each
    live module, and DEAD-004 named all of them as the retired code. Comment lines say nothing
    of where code came from; the copy of its logic is still found."""
    repo = ScriptedRepo(tmp_path / "repo")
    body = "".join(f"peg_{n} = orders.peg({n})\n" for n in range(8))
    live = {
        f"src/mod_{n}.py": LICENCE + "".join(f"own_{n}_{k} = work({k})\n" for k in range(30))
        for n in range(3)
    }
    peg = {"legacy/peg.py": LICENCE + body}
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), **peg, **live}, 1)
    sha = _commit(repo, {"legacy/peg.py": None}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}
    kept = _commit(repo, {"src/kept.py": LICENCE.replace("2020", "2024") + body}, 3)
    assert list(_retired(_check(tmp_path, repo, {"D1": kept}))) == ["D1:legacy/peg.py"]


ROLLOUT = {"path": "examples/rollout/", "reason": "example retired", "retired_at": "2024-01-01"}


def _history(about: str, *commits: tuple[str, str, str]) -> str:
    """An evidence example's history.yaml: each commit's label, message and date."""
    return f"description: {about}\ncommits:\n" + "".join(
        f"  - label: {label}\n    message: {message}\n    author: Dana Dev <dana@example.com>\n"
        f"    date: {date}\n"
        '    trailers: ["Reviewed-by: Lee Lead <lee@example.com>"]\n'
        f"    files: {{router.py: \"VERSION = '{label}'\\n\"}}\n    tag: {label}\n"
        for label, message, date in commits
    )


def test_examples_of_one_schema_written_later_are_no_parts_of_a_retired_one(
    tmp_path: Path,
) -> None:
    """A retired evidence example, and examples of its schema written after it: one holding
    six of its fourteen lines (its keys, the test author, a first commit labelled v1), and
    two others a line of it each (a date, a label). Those two lines were taken as carried
    from the retired example and the parts held half of it: DEAD-004 named three live files
    (exit 1), as it did on this repository's own examples. Parts of fewer than five lines
    count where together they hold five of its lines, as one part must."""
    retired = _history(
        "A rollout.",
        ("v1", "router v1", "2024-05-01T09:00:00Z"),
        ("v2", "router v2 behind fast_path", "2024-05-02T09:00:00Z"),
    )
    repo = ScriptedRepo(tmp_path / "repo")
    path = "examples/rollout/history.yaml"
    _commit(repo, {"flags.yaml": registry(retired_code=[ROLLOUT]), path: retired}, 1)
    _commit(repo, {path: None, "app.py": "print('router')\n"}, 2)
    later = {
        "examples/clean/history.yaml": _history("Clean.", ("v1", "clean", "2024-06-01T09:00Z")),
        "examples/hotfix/hotfixes.yaml": "hotfixes:\n  - id: H1\n    date: 2024-05-02T09:00:00Z\n",
        "examples/fleet/rollouts.yaml": "rollouts:\n  - label: v2\n    hosts: 3\n",
    }
    sha = _commit(repo, later, 3)
    result = _check(tmp_path, repo, {"D1": sha})
    assert _retired(result) == {}
    assert result.code == 0


CLASS = """\
class Peg:
    @classmethod
    def of(cls, name):
        return cls(name)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Peg({self.name})"

    def fire(self, value):
        child = orders.send(self.name, value)
        journal.note("peg", child)
        limits.check(child.quantity)
        return value
"""


def test_lines_many_files_hold_are_no_small_parts(tmp_path: Path) -> None:
    """A retired class of thirteen lines, five of them (``fire``) kept in a module, and ten
    models written later each holding three of its lines that every model holds
    (``@classmethod``, ``self.name = name``): DEAD-004 named eleven files as holding it
    (exit 1). A line that five files hold is a common line there, and counts in parts of five
    lines or more only."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[PEG]), "legacy/peg.py": CLASS}, 1)
    fire = "".join(CLASS.splitlines(keepends=True)[11:])
    models = {
        f"src/model_{n}.py": (
            f"class Model{n}:\n    @classmethod\n    def of(cls, name):\n        return cls(name)\n"
            if n % 2
            else f"class Model{n}:\n    def __init__(self, name):\n        self.name = name\n\n"
            f"    def __repr__(self):\n        return f'Model{n}({{self.name}})'\n"
        )
        + OWN
        for n in range(10)
    }
    sha = _commit(repo, {"legacy/peg.py": None, "src/fire.py": fire + OWN, **models}, 2)
    result = _check(tmp_path, repo, {"D1": sha})
    assert _retired(result) == {}
    assert result.code == 0


def test_lines_made_common_by_copies_are_still_parts(tmp_path: Path) -> None:
    """The four modules holding four of its lines each, and each of those lines copied into
    four throwaway notes, so that five files held it: every line was common, no part counted,
    and the audit passed (exit 0). Chance explains four lines of a retired file at most."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[ROUTER]), "legacy/router.py": CODE}, 1)
    written = {f"src/few_{n}.py": "".join(LEGS[n * 4 : n * 4 + 4]) + OWN for n in range(4)}
    notes = {f"docs/note_{n:02d}_{k}.md": "# Note\n" + LEGS[n] for n in range(16) for k in range(4)}
    sha = _commit(repo, {"legacy/router.py": None, **written, **notes}, 2)
    result = _check(tmp_path, repo, {"D1": sha})
    found = _retired(result)["D1:legacy/router.py"]
    # all but the notes of the four lines most files hold, and the module holding those alone
    assert " in 51 files: docs/note_04_0.md, " in found
    assert result.code == 1


def test_lines_common_in_retired_files_alone_are_still_parts(tmp_path: Path) -> None:
    """Three modules holding four of its lines each (twelve of its twenty-two), and four of
    those lines copied into notes under ``attic/``, itself listed as retired code: the lines
    the notes held were taken as common, no module was a part, and legacy/router.py was not
    named. A line is common where five live files hold it: retired files are no live ones."""
    attic = {"path": "attic/", "reason": "old notes", "retired_at": "2024-01-01"}
    repo = ScriptedRepo(tmp_path / "repo")
    listed = {"flags.yaml": registry(retired_code=[ROUTER, attic]), "legacy/router.py": CODE}
    _commit(repo, listed, 1)
    written = {f"src/few_{n}.py": "".join(LEGS[n * 4 : n * 4 + 4]) + OWN for n in range(3)}
    notes = {f"attic/note_{n}_{k}.md": "# Note\n" + LEGS[n] for n in range(4) for k in range(4)}
    sha = _commit(repo, {"legacy/router.py": None, **written, **notes}, 2)
    found = _retired(_check(tmp_path, repo, {"D1": sha}))
    assert sorted(found) == ["D1:attic/", "D1:legacy/router.py"]
    # the three modules and the sixteen notes, each holding lines of it
    assert " in 19 files: attic/note_0_0.md, " in found["D1:legacy/router.py"]
