"""An object the history names but git cannot read (deleted from the object store, or damaged)
stops the run: read as empty, a registry version that retired a flag, a file naming a retired
flag or a directory holding one would each drop findings and turn a failing check into a pass."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.evidence.test_rewritten_objects import _case, _runs


def _remove(repo: ScriptedRepo, name: str, how: str) -> str:
    sha = repo.git("rev-parse", name)
    loose = repo.path / ".git" / "objects" / sha[:2] / sha[2:]
    loose.chmod(0o644)
    if how == "deleted":
        loose.unlink()
    elif how == "garbage":  # inflates, but to no commit ("bogus commit object")
        loose.write_bytes(zlib.compress(b"commit 5\x00hello"))
    elif how == "a blob":  # another type stored under the commit's name ("not a commit")
        loose.write_bytes(zlib.compress(b"blob 2\x00x\n"))
    else:
        loose.write_bytes(loose.read_bytes()[:20])
    return sha


@pytest.mark.parametrize("how", ["deleted", "truncated"])
@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("HEAD~1:flags.yaml", "the registry version that retired the flag"),
        ("HEAD:src/app.py", "the file that names the flag"),
        ("HEAD:src", "the directory that holds it"),
    ],
)
def test_an_object_git_cannot_read_stops_the_run(
    tmp_path: Path, name: str, what: str, how: str
) -> None:
    repo, evidence = _case(tmp_path)  # a retired flag revived, and used by the code
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache")), what  # intact
    sha = _remove(repo, name, how)
    for result in _runs(repo, evidence, "--no-cache"):
        assert result.code == 2, (what, result.out, result.err)
        assert sha in result.err
        assert "cannot be read" in result.err or "does not hash to its name" in result.err
        assert "Traceback" not in result.err


def _index_damaged(repo: ScriptedRepo) -> str:
    """Every object packed, and the pack index's table of offsets overwritten: git can no
    longer find where the objects' bytes are. Returns the pack's name."""
    repo.git("repack", "-a", "-d", "-q")
    (index,) = (repo.path / ".git" / "objects" / "pack").glob("*.idx")
    index.chmod(0o644)
    data = bytearray(index.read_bytes())
    count = int.from_bytes(data[8 + 255 * 4 : 8 + 256 * 4], "big")
    offsets = 8 + 256 * 4 + count * 20 + count * 4  # after the fan-out, the ids and the CRCs
    data[offsets : offsets + count * 4] = b"\xff" * (count * 4)
    index.write_bytes(bytes(data))
    return index.stem


@pytest.mark.parametrize(
    "how",
    [
        "commit deleted from the middle",
        "commit in the middle garbage",
        "commit in the middle a blob",
        "pack index damaged",
    ],
)
def test_damage_git_finds_while_it_walks_is_named_as_damage(tmp_path: Path, how: str) -> None:
    """git stops its own walk at an object it cannot read ("revision walk setup failed",
    "unable to read tree"): the run says which object, as damage, with the hint to run
    git fsck, not as a git command that failed."""
    repo, evidence = _case(tmp_path)
    damage = {
        "commit deleted from the middle": "deleted",
        "commit in the middle garbage": "garbage",
    }
    if how.startswith("commit"):
        sha = _remove(repo, "HEAD~1", damage.get(how, "a blob"))
    else:
        sha = _index_damaged(repo)
    for result in _runs(repo, evidence, "--no-cache"):
        assert result.code == 2, (how, result.out, result.err)
        assert sha in result.err
        assert "cannot be read" in result.err or "does not hash" in result.err, result.err
        assert "git fsck" in result.err
        assert "failed" not in result.err
        assert "Traceback" not in result.err


def test_a_baseline_commit_missing_from_the_store_is_named_as_possible_damage(
    tmp_path: Path,
) -> None:
    """A baseline written as a full sha that the object store no longer holds: the message
    points at the repository (git fsck), not only at the setting."""
    repo, evidence = _case(tmp_path)
    baseline = _remove(repo, "HEAD~2", "deleted")
    for result in _runs(repo, evidence, "--no-cache", "--baseline", baseline):
        assert result.code == 2, result.err
        assert f"baseline {baseline!r} does not resolve to a commit" in result.err
        assert "git fsck" in result.err
        assert "Traceback" not in result.err
