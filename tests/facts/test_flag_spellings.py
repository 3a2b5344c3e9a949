"""A flag under another spelling is that flag. Before, ``power_peg`` retired and then written
active, with a new purpose, as ``POWER_PEG``, ``power-peg``, ``power\u200b_peg`` (a zero-width
space inside) or with a Cyrillic ``\u0435`` passed DEAD-002: flags were compared as exact
strings, so the revival was a new flag, and the code reading it referenced an active flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.flagnames import flag_key, second_script, shown
from tests.facts.test_deadcode import _deployed_once, flag, registry
from tests.facts.test_registry_moved import NEW, OLD, _commit

FULLWIDTH = "\uff50\uff4f\uff57\uff45\uff52_\uff50\uff45\uff47"
RESPELLINGS = ["POWER_PEG", "power-peg", "PowerPeg", "power\u200b_peg", FULLWIDTH]


def _retired_then(repo: ScriptedRepo, *flags: dict[str, object]) -> str:
    """power_peg used, retired (its code removed), then ``flags`` written as the registry."""
    _commit(repo, 1, {"flags.yaml": registry(flag("power_peg", OLD)), "app.py": "power_peg()\n"})
    retired = flag("power_peg", OLD, "retired", retired_at="2024-01-02")
    _commit(repo, 2, {"flags.yaml": registry(retired), "app.py": "route()\n"})
    return _commit(repo, 3, {"flags.yaml": registry(*flags), "app.py": "flags.on()\n"})


@pytest.mark.parametrize("name", RESPELLINGS)
def test_a_retired_flag_written_active_under_another_spelling_is_repurposed(
    tmp_path: Path, name: str
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = _retired_then(repo, flag(name, NEW))
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "DEAD-002"]
    assert finding["subject"] == "power_peg"
    assert f'then "{shown(name)}" from {sha[:12]}' in finding["message"]
    assert f"active again at {sha[:12]}" in finding["message"]


def test_a_registry_listing_two_spellings_of_one_flag_is_unreadable(tmp_path: Path) -> None:
    """Kept retired beside its active respelling, the retirement stood and the revival was a
    second flag."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = _retired_then(repo, flag("power_peg", OLD, "retired"), flag("POWER_PEG", NEW))
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "DEAD-006"]
    assert (
        "flag 'POWER_PEG' is listed twice (as 'power_peg' and as 'POWER_PEG')"
        in (finding["message"])
    )


def test_a_flag_name_mixing_alphabets_is_unreadable(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = _retired_then(repo, flag("pow\u0435r_peg", NEW))  # a Cyrillic ie
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "DEAD-006"]
    assert "mixes Latin letters ('p') with Cyrillic ones" in finding["message"]


def test_a_flag_only_respelled_keeps_its_meaning(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": registry(flag("power_peg", OLD)), "app.py": "power_peg\n"})
    sha = _commit(repo, 2, {"flags.yaml": registry(flag("PowerPeg", OLD)), "app.py": "PowerPeg\n"})
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 0, result.err


def test_the_key_and_the_scripts() -> None:
    assert {flag_key(name) for name in ["power_peg", *RESPELLINGS]} == {"powerpeg"}
    assert flag_key("power_peg_v2") != flag_key("power_peg")
    assert flag_key("--") == "--"
    assert second_script("new_checkout") is None
    assert second_script("新しい_checkout_チェック") is None  # kanji, kana and Latin
    assert second_script("новый_флаг") is None
    assert second_script("new_\u03c7heckout") is not None  # a Greek chi
    assert shown("power\u200b_peg") == "power\\u200b_peg"
