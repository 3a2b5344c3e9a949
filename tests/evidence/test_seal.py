"""What one run hashed of the object store is not hashed again by the next run over the same
files (``checker.evidence.seal``); any change to those files, even one that keeps a file's
size and modification time, is a new seal, and everything git walks is hashed again."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from checker.evidence import git as git_module
from checker.evidence.objectcheck import CommitCheck
from checker.evidence.seal import Layered, Packed, Sealed, packed, seal
from tests.conftest import DEV, run_cli
from tests.evidence.test_rewritten_objects import _case, _loose, _runs


class _Counted(CommitCheck):
    begun: ClassVar[list[frozenset[str]]] = []

    def __init__(self, root: Path, env: dict[str, str], tips: Iterable[str], *rest: object):
        super().__init__(root, env, tips, *rest)  # type: ignore[arg-type]
        _Counted.begun.append(self.tips)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str]]:
    """The tips of every commit check the runs begin."""
    _Counted.begun = []
    monkeypatch.setattr(git_module, "CommitCheck", _Counted)
    return _Counted.begun


def test_a_run_under_an_earlier_runs_seal_hashes_no_commit_again(
    tmp_path: Path, counted: list[frozenset[str]]
) -> None:
    repo, evidence = _case(tmp_path)
    cache = tmp_path / "cache"
    assert [r.code for r in _runs(repo, evidence, "--cache-dir", cache)] == [1, 1]
    assert counted  # the cold runs hashed what git walked
    counted.clear()
    assert [r.code for r in _runs(repo, evidence, "--cache-dir", cache)] == [1, 1]
    assert counted == []
    # without a cache, every run hashes
    assert [r.code for r in _runs(repo, evidence, "--no-cache")] == [1, 1]
    assert counted


def _forge_commit(repo_path: Path, sha: str, old_tree: str, new_tree: str) -> str:
    """A commit of ``sha``'s message and parents whose tree is ``old_tree``, written loose."""
    raw = subprocess.run(
        ["git", "cat-file", "commit", sha], cwd=repo_path, capture_output=True, check=True
    ).stdout
    forged = raw.replace(new_tree.encode(), old_tree.encode())
    made = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo_path, input=forged, capture_output=True, check=True,
    )  # fmt: skip
    return made.stdout.decode().strip()


def test_a_commit_rewritten_after_a_sealed_run_stops_the_next(tmp_path: Path) -> None:
    """The retiring commit rewritten in place after a clean run filled the cache, its file's
    modification time set back: the store's seal is another (its change time moved), so the
    warm runs hash the history again and stop."""
    repo, evidence = _case(tmp_path)
    cache = tmp_path / "cache"
    assert [r.code for r in _runs(repo, evidence, "--cache-dir", cache)] == [1, 1]
    sha = repo.git("rev-parse", "HEAD~1")
    old_tree, new_tree = repo.git("rev-parse", "HEAD~2^{tree}", "HEAD~1^{tree}").split()
    made = _forge_commit(repo.path, sha, old_tree, new_tree)
    target = _loose(repo, sha)
    before = target.stat()
    target.chmod(0o644)
    shutil.copyfile(_loose(repo, made), target)
    target.chmod(before.st_mode)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    for result in _runs(repo, evidence, "--cache-dir", cache):
        assert result.code == 2, (result.out, result.err)
        assert sha in result.err and "does not hash to its name" in result.err


def test_a_gate_over_a_new_commit_hashes_it(tmp_path: Path, counted: list[frozenset[str]]) -> None:
    """A commit added after a sealed run is a new seal: nothing of the old one is taken."""
    repo, evidence = _case(tmp_path)
    cache = tmp_path / "cache"
    assert [r.code for r in _runs(repo, evidence, "--cache-dir", cache)] == [1, 1]
    counted.clear()
    head = repo.commit("day 4", {"README": "x\n"}, author=DEV, date="2024-01-04T01:00:00Z")
    gate = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--as-of", "2024-01-05",
        "--cache-dir", cache, "--candidate", "main", "--service", "web",
    )  # fmt: skip
    assert gate.code == 1, gate.err
    assert any(head in tips for tips in counted)


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "objects"
    (store / "pack").mkdir(parents=True)
    (store / "ab").mkdir()
    (store / "ab" / ("c" * 38)).write_bytes(b"loose")
    (store / "pack" / "pack-1.pack").write_bytes(b"pack bytes")
    (store / "pack" / "pack-1.idx").write_bytes(b"index bytes")
    return store


def test_the_seal_names_every_file_as_it_stands(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = seal([store], "git version 2")
    assert first is not None and first.intact()
    assert seal([store], "git version 2") == first
    assert seal([store], "git version 3") != first  # another git may read the bytes otherwise
    pack = store / "pack" / "pack-1.pack"
    status = pack.stat()
    pack.write_bytes(b"pack bytez")  # the same size, the same modification time
    os.utime(pack, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert not first.intact()
    second = seal([store], "git version 2")
    (store / "pack" / "pack-2.idx").write_bytes(b"")  # a file more
    assert second is not None and not second.intact()
    (store / "pack" / "pack-2.idx").unlink()
    assert second.intact()
    (store / "ab" / ("c" * 38)).unlink()  # a file less
    assert not second.intact()


def test_the_seal_follows_links_and_alternates(tmp_path: Path) -> None:
    store, other = _store(tmp_path), tmp_path / "borrowed"
    (other / "pack").mkdir(parents=True)
    (other / "pack" / "pack-9.pack").write_bytes(b"borrowed")
    (store / "pack" / "linked.pack").symlink_to(other / "pack" / "pack-9.pack")
    (store / "loop").symlink_to(store)  # a directory met again through a link: once
    sealed = seal([store, other], "git version 2")
    assert sealed is not None and sealed.intact()
    (other / "pack" / "pack-9.pack").write_bytes(b"borrowed, rewritten")
    assert not sealed.intact()
    assert seal([tmp_path / "missing"], "git version 2") is None


def test_what_was_hashed_is_looked_up_where_it_is_kept() -> None:
    commits = {"b" * 40: "1" * 40, "a" * 40: "2" * 40, "c" * 40: "3" * 40}
    kept = Packed(packed(commits.items()), 40, 40)
    assert dict(kept) == commits and len(kept) == 3
    assert list(kept.items()) == sorted(commits.items())
    assert "d" * 40 not in kept and "a" * 39 not in kept and 7 not in kept
    with pytest.raises(KeyError):
        kept["d" * 40]
    trees = Packed(packed(["f" * 64, "e" * 64]), 64)
    assert "e" * 64 in trees and list(trees) == ["e" * 64, "f" * 64]
    # a string out of order finds less, never a key it does not hold
    shuffled = Packed("c" * 40 + "a" * 40 + "b" * 40)
    assert all(key in ("a" * 40, "b" * 40, "c" * 40) for key in shuffled if key in shuffled)
    assert "d" * 40 not in shuffled
    assert Sealed.of(Sealed(frozenset({"a" * 40}), commits).value(40)) is not None
    assert Sealed.of(Sealed(frozenset({"d" * 40}), commits).value(40)) is None  # a tip unkept
    layered = Layered({"x": "1"}, {"x": "2", "y": "3"})
    assert dict(layered) == {"x": "1", "y": "3"} and len(layered) == 2


def test_a_link_re_pointed_at_another_folder_breaks_the_seal(tmp_path: Path) -> None:
    """A loose objects' folder that is a link into the store, re-pointed at a folder of
    forged copies after a sealed run: every file stands as it did, the link does not."""
    store = _store(tmp_path)
    for folder in ("good", "bad"):
        (store / folder).mkdir()
        (store / folder / ("d" * 38)).write_bytes(folder.encode())
    (store / "53").symlink_to("good")
    sealed = seal([store], "git version 2")
    assert sealed is not None and sealed.intact()
    (store / "next").symlink_to("bad")
    (store / "next").replace(store / "53")  # ln -s bad next && mv -T next 53
    assert not sealed.intact()
