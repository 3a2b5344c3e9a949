"""The repository's own configuration cannot change what git shows knightwatch of its history.

The repository handed over is the audited team's, ``.git/config`` included, and git reads that
configuration for ``git log``: with ``log.showRoot=false`` it showed nothing of a root commit,
so the registry's first version vanished and a flag dropped from it, then reused for another
purpose, passed (exit 0); with ``diff.renameLimit=1``, ``--follow`` no longer found the
registry's rename, so its versions under the old name (and the retirement among them)
vanished and the revived flag passed. Each case fails with the configuration as it is on
every clone, and must fail the same way with the team's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry

Case = tuple[ScriptedRepo, Path]


def _commit(repo: ScriptedRepo, day: int, files: dict[str, str | None]) -> str:
    return repo.commit(
        f"day {day}", files, author=DEV, date=f"2024-01-0{day}T00:00:00Z", trailers=REVIEWED
    )


def _deployed(tmp_path: Path, repo: ScriptedRepo, sha: str) -> Case:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-08T00:00:00Z", approvals=APPROVAL)],
    )
    return repo, tmp_path / "ev"


def _reused_from_the_root(tmp_path: Path) -> Case:
    """The registry begins in the root commit with ``old``; ``old`` is dropped, then comes
    back for another purpose (Knight Capital's Power Peg flag): DEAD-002."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": registry(flag("old", "Power Peg")), "app.py": "old()\n"})
    _commit(repo, 2, {"flags.yaml": registry(flag("other", "else")), "app.py": "x\n"})
    sha = _commit(repo, 3, {"flags.yaml": registry(flag("old", "RLP")), "app.py": "old()\n"})
    return _deployed(tmp_path, repo, sha)


def _revived_after_a_rename(tmp_path: Path) -> Case:
    """``old`` is retired in ``seed.yaml``, which is then renamed ``flags.yaml`` (with ``old``
    active again) in a commit that also adds and deletes other files: DEAD-002."""
    repo = ScriptedRepo(tmp_path / "repo")
    others = [flag(f"f{i}", f"purpose {i}") for i in range(8)]
    _commit(repo, 1, {"README": "x\n", "a.txt": "a\n", "b.txt": "b\n"})
    _commit(repo, 2, {"seed.yaml": registry(flag("old", "O"), *others), "app.py": "old()\n"})
    _commit(repo, 3, {"seed.yaml": registry(flag("old", "O", "retired"), *others), "app.py": ""})
    moved: dict[str, str | None] = {"seed.yaml": None, "a.txt": None, "b.txt": None}
    moved |= {"c.txt": "c\n", "d.txt": "d\n", "app.py": "old()\n"}
    sha = _commit(repo, 4, {**moved, "flags.yaml": registry(flag("old", "O"), *others)})
    return _deployed(tmp_path, repo, sha)


_HOSTILE = [
    ("diff.orderFile", "{tmp}/order"),
    ("log.follow", "true"),
    ("diff.renames", "false"),
    ("diff.relative", "true"),
    ("diff.ignoreSubmodules", "all"),
    ("color.ui", "always"),
    ("color.diff", "always"),
]
"""Settings that change what git log and diff-tree show, set beside the one each case needs."""


def _runs(repo: ScriptedRepo, evidence: Path) -> list[CliResult]:
    common = ["--repo", repo.path, "--evidence", evidence, "--as-of", "2024-01-09", "--no-cache"]
    return [
        run_cli("check", *common),
        run_cli("check", *common, "--candidate", "main", "--service", "web"),
    ]


@pytest.mark.parametrize(
    ("make", "key", "value"),
    [
        (_reused_from_the_root, "log.showRoot", "false"),
        (_revived_after_a_rename, "diff.renameLimit", "1"),
        (_reused_from_the_root, "i18n.logOutputEncoding", "UTF-16"),
    ],
    ids=["root commit hidden", "rename not followed", "history in UTF-16"],
)
def test_the_repositorys_configuration_cannot_hide_history(
    tmp_path: Path, make: Callable[[Path], Case], key: str, value: str
) -> None:
    repo, evidence = make(tmp_path)
    clean = _runs(repo, evidence)
    assert [r.code for r in clean] == [1, 1], [r.err for r in clean]
    assert all("DEAD-002" in r.out for r in clean)
    (tmp_path / "order").write_text("app.py\n*.txt\n")
    for name, setting in [(key, value), *_HOSTILE]:
        repo.git("config", name, setting.format(tmp=tmp_path))
    configured = _runs(repo, evidence)
    assert [(r.code, r.out) for r in configured] == [(r.code, r.out) for r in clean]
