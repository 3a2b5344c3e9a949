"""Docs that are generated or quoted must match what the code does today."""

from __future__ import annotations

import re
from pathlib import Path

from checker.catalog import catalog_markdown
from checker.demo.run import run_demo
from checker.policyset import load_policy_set

ROOT = Path(__file__).resolve().parent.parent


def test_rule_catalog_page_is_current() -> None:
    page = (ROOT / "docs" / "rules.md").read_text()
    assert page == catalog_markdown(load_policy_set().rules), (
        "docs/rules.md drifted: regenerate with "
        "`knightwatch policy list --format markdown > docs/rules.md`"
    )


def test_readme_shows_the_demo_real_output(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- demo-output:start -->\n```\n(.*?)```\n<!-- demo-output:end -->", readme, re.DOTALL
    )
    assert block, "README has no demo output block"
    text, _ = run_demo(tmp_path / "demo")
    normalised = text.replace(str(tmp_path / "demo"), "/tmp/knightwatch-demo-XXXXXXXX")  # noqa: S108
    assert block.group(1) == normalised


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
