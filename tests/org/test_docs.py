"""Every `knightwatch` command of docs/organisation.md runs as written, in order, in the
organisation the page describes: three teams' repositories, their keys, org.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.org.orgcase import three_teams
from tests.test_docs_commands import ROOT, commands

PAGE = ROOT / "docs" / "organisation.md"


def test_the_organisation_page_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = three_teams(tmp_path, failing="payments")
    (org.root / "signed").mkdir()
    monkeypatch.chdir(org.root)
    ran = 0
    for words in commands(PAGE):
        result = run_cli(*words)
        shown = "knightwatch " + " ".join(words)
        assert result.code in (0, 1), f"`{shown}` exited {result.code}: {result.err}"
        assert "Traceback" not in result.err + result.out, shown
        ran += 1
    assert ran >= 8
    assert (org.root / "org-federated-2024-03.json").is_file()
