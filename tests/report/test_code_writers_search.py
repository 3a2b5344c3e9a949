"""Who named a flag, found in two steps (``codewriters._naming``): one walk with every flag's
words in any case (``_loose``), then each flag's spellings asked of the commits it kept, as a
tree of their shared beginnings (``flagnames.spelt_ere``). Each step is checked to find what the
spellings written one after another find, in Python and in git on the report tests' storm
month (a real repository, references to thirty flags across 600 commits; four of them and one
named nowhere are compared over the first 120, since git takes a second a flag and a hundred
commits for the plain form)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker.evidence.flagnames import spellings, spelt_ere
from checker.evidence.git import GitHistory
from checker.facts import codewriters

NAMES = ["power_peg", "flag_021", "turbo", "PowerPeg2", "http.server-v2", "café_mode", "a"]


def _near(text: str) -> set[str]:
    """Texts one letter from ``text``: one dropped, doubled, or put in the other case."""
    cuts = {text[:i] + text[i + 1 :] for i in range(len(text))}
    doubled = {text[:i] + text[i] + text[i:] for i in range(len(text))}
    cased = {text[:i] + text[i].swapcase() + text[i + 1 :] for i in range(len(text))}
    return cuts | doubled | cased | {text + "x", "x" + text}


@pytest.mark.parametrize("name", NAMES)
def test_the_tree_of_spellings_matches_them_and_nothing_else(name: str) -> None:
    spelt = spellings(name)
    tree = re.compile(f"(?:{spelt_ere(name)})")
    assert all(tree.fullmatch(s) for s in spelt)
    for near in set().union(*map(_near, spelt)):
        assert bool(tree.fullmatch(near)) == (near in spelt), near


@pytest.mark.parametrize("name", NAMES)
def test_every_spelling_holds_a_match_of_the_loose_words(name: str) -> None:
    loose = codewriters._loose(name)
    if loose is None:  # a word not ASCII: searched with its spellings alone
        assert not name.isascii()
        return
    assert all(re.search(loose, s) for s in spellings(name))


def test_two_steps_find_the_commits_one_walk_a_flag_finds(storm_root: Path) -> None:
    history = GitHistory(storm_root / "repo")
    tips = history.git_output(["rev-parse", "HEAD~480"]).decode().split()  # 120 commits
    flags = {("DEAD-001", f"d:flag_{n:03d}"): f"flag_{n:03d}" for n in (0, 1, 2, 3, 999)}
    targets = {target: (tips[0],) for target in flags}
    found = codewriters._naming(history, targets, flags, lambda path: False)
    named = 0
    for target, name in flags.items():
        words = "|".join(re.sub(r"[.\[\]()*+?{}|^$\\]", r"\\\g<0>", w) for w in spellings(name))
        out = history.git_output(
            [*codewriters._PICKAXE, f"-G(^|[^A-Za-z0-9_])({words})([^A-Za-z0-9_]|$)", *tips]
        )
        plain = {sha for sha, _ in codewriters._pickaxed(out)}
        assert found.get(target, set()) == plain, name
        named += bool(plain)
    assert named >= 2  # flag_999 is named nowhere: the comparison compared something
