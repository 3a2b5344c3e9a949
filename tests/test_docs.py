"""Docs that are generated or quoted must match what the code does today."""

from __future__ import annotations

import os
import re
from pathlib import Path

from checker.demo.run import run_demo
from checker.rules.catalog import catalog_markdown
from checker.rules.policyset import load_policy_set
from checker.schemas import input_schema, markdown

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = os.environ.get("KNIGHTWATCH_REGEN") == "1"
"""``KNIGHTWATCH_REGEN=1 make pytest`` rewrites generated docs; review them as a diff."""


def _golden(path: Path, want: str) -> None:
    if REGENERATE:
        path.write_text(want)
    assert path.read_text() == want, f"{path.name} drifted: regenerate with KNIGHTWATCH_REGEN=1"


def test_rule_catalog_page_is_current() -> None:
    _golden(ROOT / "docs" / "rules.md", catalog_markdown(load_policy_set().rules))


def test_input_document_page_is_current() -> None:
    _golden(ROOT / "docs" / "input.md", markdown(input_schema()))


def test_readme_shows_the_demo_real_output(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    pattern = re.compile(
        r"<!-- demo-output:start -->\n```\n(.*?)```\n<!-- demo-output:end -->", re.DOTALL
    )
    block = pattern.search(readme)
    assert block, "README has no demo output block"
    text, _ = run_demo(tmp_path / "demo")
    normalised = text.replace(str(tmp_path / "demo"), "/tmp/knightwatch-demo-XXXXXXXX")  # noqa: S108
    start, end = block.span(1)
    _golden(ROOT / "README.md", readme[:start] + normalised + readme[end:])


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_docs_links_resolve() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+\.md)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
