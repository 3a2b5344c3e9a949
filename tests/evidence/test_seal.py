"""What one run hashed of the object store is not hashed again by the next run over the same
files (``checker.evidence.seal``); any change to those files, even one that keeps a file's
size and modification time, is a new seal, and everything git walks is hashed again."""

from __future__ import annotations

import os
import shutil
import subprocess
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence import git as git_module
from checker.evidence.objectcheck import CommitCheck
from checker.evidence.seal import Layered, Packed, Sealed, packed, seal
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.evidence.test_rewritten_objects import _case, _loose, _runs
from tests.facts.test_deadcode import APPROVAL, REVIEWED


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
    assert Sealed.of(Sealed(frozenset({"a" * 40}), commits).value(40, "s1"), "s1") is not None
    assert Sealed.of(Sealed(frozenset({"d" * 40}), commits).value(40, "s1"), "s1") is None
    # kept under another seal: the store changed since
    assert Sealed.of(Sealed(frozenset({"a" * 40}), commits).value(40, "s1"), "s2") is None
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


def _skipping(tmp_path: Path) -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """``A`` (deployed by D1) <- ``U`` (unreviewed) <- ``M`` <- ``X`` (deployed by D2): D2 ships
    ``U`` (REVIEW-002, exit 1). Beside them, ``forged``: ``M`` with ``A`` for its parent, which
    read under ``M``'s id would take ``U`` out of D2's range (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    shas: dict[str, str] = {}
    for hour, name in enumerate("AUMX"):
        shas[name] = repo.commit(
            name, {f"{name}.txt": f"{name}\n"}, author=DEV, date=f"2024-01-01T0{hour}:00:00Z",
            trailers=() if name == "U" else REVIEWED,
        )  # fmt: skip
    raw = subprocess.run(
        ["git", "cat-file", "commit", shas["M"]], cwd=repo.path, capture_output=True, check=True
    ).stdout.replace(f"parent {shas['U']}".encode(), f"parent {shas['A']}".encode())
    shas["forged"] = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.path, input=raw, capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip
    first = deployment("D1", shas["A"], "2024-01-02T00:00:00Z", approvals=APPROVAL)
    write_yaml(tmp_path / "gate" / "deploys.yaml", [first])
    second = deployment("D2", shas["X"], "2024-01-03T00:00:00Z", approvals=APPROVAL)
    write_yaml(tmp_path / "ev" / "deploys.yaml", [first, second])
    return repo, tmp_path, shas


def _judged(repo: ScriptedRepo, evidence: Path, *cache: str | Path) -> list[CliResult]:
    """D2 checked (``evidence/ev``), and ``X`` gated after D1 (``evidence/gate``)."""
    common = ["--repo", repo.path, "--as-of", "2024-01-05", *cache]
    return [
        run_cli("check", "--evidence", evidence / "ev", *common),
        run_cli(
            "check", "--evidence", evidence / "gate", *common,
            "--candidate", "main", "--service", "web",
        ),
    ]  # fmt: skip


def _reviews_failed(results: list[CliResult], sha: str) -> None:
    for result in results:
        assert result.code == 1, (result.out, result.err)
        assert "REVIEW-002" in result.out and sha in result.out


def test_replace_refs_turned_on_by_the_repositorys_configuration_are_not_followed(
    tmp_path: Path,
) -> None:
    """``core.useReplaceRefs=true`` in ``.git/config`` outranks ``GIT_NO_REPLACE_OBJECTS``:
    git followed a replace ref again. A ref and a setting are no files of the object store,
    so a run under an earlier run's seal hashed nothing, and git's walk read the
    replacement: the unreviewed commit left the range and the warm runs passed (exit 0).
    Replace refs are off whatever the repository says."""
    repo, evidence, shas = _skipping(tmp_path)
    cache = tmp_path / "cache"
    _reviews_failed(_judged(repo, evidence, "--cache-dir", cache), shas["U"])
    repo.git("update-ref", f"refs/replace/{shas['M']}", shas["forged"])
    repo.git("config", "core.useReplaceRefs", "true")
    assert "U" not in repo.git("log", "--format=%s", "main")  # git follows it
    _reviews_failed(_judged(repo, evidence, "--cache-dir", cache), shas["U"])
    _reviews_failed(_judged(repo, evidence, "--no-cache"), shas["U"])


def _forge_midx(repo: ScriptedRepo, real: str, forged: str) -> None:
    """Pack ``forged`` alone (its loose copy removed) and write a multi-pack-index that names
    it ``real``: git reading through that index reads ``forged``'s bytes for ``real``."""
    pack = repo.path / ".git" / "objects" / "pack"
    subprocess.run(
        ["git", "pack-objects", "--quiet", str(pack / "pack")],
        cwd=repo.path, input=f"{forged}\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    _loose(repo, forged).unlink()
    repo.git("-c", "core.multiPackIndex=true", "multi-pack-index", "write")
    index = pack / "multi-pack-index"
    data = bytearray(index.read_bytes())
    at = data.index(bytes.fromhex(forged))
    data[at : at + 20] = bytes.fromhex(real)
    chunks = {
        bytes(data[12 + 12 * i : 16 + 12 * i]): int.from_bytes(data[16 + 12 * i : 24 + 12 * i])
        for i in range(data[6])
    }
    fanout = chunks[b"OIDF"]  # one object: counted from its first byte on
    for byte in range(256):
        data[fanout + 4 * byte : fanout + 4 * byte + 4] = (byte >= data[at]).to_bytes(4)
    index.write_bytes(bytes(data))


def test_a_multi_pack_index_turned_on_after_a_sealed_run_is_read_as_git_reads_it(
    tmp_path: Path,
) -> None:
    """A multi-pack-index that names a forged copy of a commit, kept out of git's reads by
    ``core.multiPackIndex=false`` while a clean run filled the cache, then turned on: a setting
    is no file of the object store, so the warm runs hashed nothing while git's walk read the
    forged copy (exit 0). git reads a multi-pack-index wherever there is one, whatever the
    repository says: the copy is read, hashed, and stops every run."""
    repo, evidence, shas = _skipping(tmp_path)
    _forge_midx(repo, shas["M"], shas["forged"])
    repo.git("config", "core.multiPackIndex", "false")
    assert "U" in repo.git("log", "--format=%s", "main")
    cache = tmp_path / "cache"
    cold = _judged(repo, evidence, "--cache-dir", cache)
    repo.git("config", "core.multiPackIndex", "true")
    assert "U" not in repo.git("log", "--format=%s", "main")  # git reads the forged copy
    for result in [*cold, *_judged(repo, evidence, "--cache-dir", cache)]:
        assert result.code == 2, (result.out, result.err)
        assert shas["M"] in result.err and "does not hash to its name" in result.err


def _forged_pack(tmp_path: Path, repo: ScriptedRepo, shas: dict[str, str]) -> Path:
    """A folder outside the store holding a pack (and its index) of the forged copy of ``M``,
    under ``M``'s id (``git pack-objects`` takes each name as given)."""
    spare, forged = tmp_path / "spare", tmp_path / "forged"
    spare.mkdir()
    (forged / shas["M"][:2]).mkdir(parents=True)
    shutil.copyfile(_loose(repo, shas["forged"]), forged / shas["M"][:2] / shas["M"][2:])
    subprocess.run(
        ["git", "pack-objects", "--quiet", str(spare / "pack")],
        cwd=repo.path, input=f"{shas['M']}\n", capture_output=True, text=True, check=True,
        env={**os.environ, "GIT_OBJECT_DIRECTORY": str(forged)},
    )  # fmt: skip
    return spare


def test_a_store_changed_while_a_run_reads_it_under_an_earlier_seal_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm run seals the store as it starts and hashes nothing an earlier run hashed under
    that seal; a pack holding a forged copy of a commit, moved into the store once the run had
    sealed it (a process of the team's watching for the run), was read by git's walk and never
    hashed: the unreviewed commit left the range and the run passed (exit 0). A run that took
    what an earlier one hashed finds the store's files as they stood at its start, or stops."""
    repo, evidence, shas = _skipping(tmp_path)
    spare = _forged_pack(tmp_path, repo, shas)
    cache = tmp_path / "cache"
    _reviews_failed(_judged(repo, evidence, "--cache-dir", cache), shas["U"])
    sealing = git_module.GitHistory.use_seal

    def moved_in_once_sealed(history: git_module.GitHistory, *args: object) -> None:
        sealing(history, *args)  # type: ignore[arg-type]
        for made in sorted(spare.glob("pack-*"), reverse=True):  # the pack, then its index
            made.rename(repo.path / ".git" / "objects" / "pack" / made.name)

    monkeypatch.setattr(git_module.GitHistory, "use_seal", moved_in_once_sealed)
    result = _judged(repo, evidence, "--cache-dir", cache)[0]
    assert "U" not in repo.git("log", "--format=%s", "main")  # git reads the forged copy
    assert result.code == 2, (result.out, result.err)
    assert "changed while" in result.err and "Traceback" not in result.err


def _off_the_branch(tmp_path: Path) -> tuple[ScriptedRepo, Path, str]:
    """``main``: ``A`` <- ``P`` <- ``Z``; D1 deploys ``Y``, a child of ``A`` on a branch never
    merged (REVIEW-003, exit 1). Beside them, outside the store, a pack of ``P`` forged to
    have ``Y`` for a second parent, under ``P``'s id: read by git, ``Y`` is on ``main``."""
    repo = ScriptedRepo(tmp_path / "repo")

    def commit(name: str, hour: int) -> str:
        return repo.commit(
            name, {f"{name}.txt": f"{name}\n"}, author=DEV, date=f"2024-01-01T0{hour}:00:00Z",
            trailers=REVIEWED,
        )  # fmt: skip

    base = commit("A", 0)
    repo.git("checkout", "--quiet", "-b", "feature")
    side = commit("Y", 1)
    repo.git("checkout", "--quiet", "main")
    middle, _ = commit("P", 2), commit("Z", 3)
    raw = subprocess.run(
        ["git", "cat-file", "commit", middle], cwd=repo.path, capture_output=True, check=True
    ).stdout.replace(f"parent {base}\n".encode(), f"parent {base}\nparent {side}\n".encode())
    forged = tmp_path / "forged" / middle[:2] / middle[2:]
    forged.parent.mkdir(parents=True)
    forged.write_bytes(zlib.compress(b"commit %d\0" % len(raw) + raw))
    (tmp_path / "spare").mkdir()
    subprocess.run(
        ["git", "pack-objects", "--quiet", str(tmp_path / "spare" / "pack")],
        cwd=repo.path, input=f"{middle}\n", capture_output=True, text=True, check=True,
        env={**os.environ, "GIT_OBJECT_DIRECTORY": str(tmp_path / "forged")},
    )  # fmt: skip
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", side, "2024-01-02T00:00:00Z", approvals=APPROVAL)],
    )
    return repo, tmp_path / "ev", side


def test_a_store_changed_between_the_hashing_and_gits_walk_stops_a_run_without_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a cache every commit is hashed, but beside git's walks, not inside them: a pack
    holding a forged copy of a commit, moved into the store once the hashing had read the true
    one and before git walked the history, was read by git alone, and a deployed commit on a
    branch never merged was on the protected branch (exit 0). Every run seals the store as it
    starts and looks again once git's walks are done: a file that came, went or was written
    to stops it."""
    repo, evidence, side = _off_the_branch(tmp_path)
    spare, packs = tmp_path / "spare", repo.path / ".git" / "objects" / "pack"
    common = ["check", "--repo", repo.path, "--evidence", evidence, "--as-of", "2024-01-05"]
    result = run_cli(*common, "--no-cache")
    assert result.code == 1 and "REVIEW-003" in result.out, result.out + result.err
    walking = git_module.GitHistory._load

    def moved_in_once_hashed(history: git_module.GitHistory, *args: object, **kw: object) -> None:
        history.commits_checked()
        for later in list(history._later):  # the search for copies stored twice too
            later.join()
        for made in sorted(spare.glob("pack-*"), reverse=True):  # the pack, then its index
            made.rename(packs / made.name)
        walking(history, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(git_module.GitHistory, "_load", moved_in_once_hashed)
    for cache in (["--no-cache"], ["--cache-dir", tmp_path / "cache"]):
        for pack in packs.glob("pack-*") if packs.is_dir() else ():
            pack.rename(spare / pack.name)  # the store as it stood before the run
        result = run_cli(*common, *cache)
        assert repo.git("merge-base", "--is-ancestor", side, "main") == ""  # git is fooled
        assert result.code == 2, (cache, result.out, result.err)
        assert "changed while" in result.err and "Traceback" not in result.err
