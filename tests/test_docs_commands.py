"""Every `knightwatch` command in the docs' ```sh blocks runs as written.

Each page's commands run in order, in one workspace: the Knight Capital repository with its
`compliance/` evidence, as a reader following the page would have it. "Runs" means exit 0 or
1 (a verdict), never a usage or input error, never a traceback. Other commands (make, git,
opa, conftest) belong to other tools and are not run here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from checker.demo.knight import build_knight
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OWN_WORKSPACE = {"organisation.md"}
"""Pages whose commands run in a workspace of their own (an organisation's: tests/org/)."""
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def commands(page: Path) -> list[list[str]]:
    found = []
    for block in BLOCK.findall(page.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "knightwatch":
                found.append(words[1:])
    return found


@pytest.mark.parametrize(
    "page", [p for p in PAGES if commands(p) and p.name not in OWN_WORKSPACE], ids=lambda p: p.name
)
def test_doc_commands_run_as_written(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = build_knight(tmp_path)
    monkeypatch.chdir(case.repo)
    (case.repo / "my-rules").mkdir()
    for words in commands(page):
        result = run_cli(*words)
        shown = "knightwatch " + " ".join(words)
        assert result.code in (0, 1), f"{page.name}: `{shown}` exited {result.code}: {result.err}"
        assert "Traceback" not in result.err + result.out, shown


def test_the_docs_have_commands_to_test() -> None:
    assert sum(len(commands(p)) for p in PAGES) >= 15
