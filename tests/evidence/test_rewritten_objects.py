"""An object rewritten in place, that git reads for itself while it walks the history, stops the
run. git does not hash what it reads: a tree of the commit that retired a flag overwritten with
its parent's bytes made that commit look as if it left the registry alone, and the revival of
the flag passed (exit 0). Every commit git walks, every tree its walk of the registry compares
and both sides of a commit where it looked for a rename are now hashed in the same run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry


def _case(tmp_path: Path, flags_file: str = "flags.yaml") -> tuple[ScriptedRepo, Path]:
    """``old`` is active, retired, then active again with code using it: the deployed commit
    revives a retired flag and references it (DEAD-002 and others: exit 1)."""
    repo = ScriptedRepo(tmp_path / "repo")
    config = {"knightwatch.yaml": f"flags_file: {flags_file}\n"}
    for day, status, code in (
        (1, "active", "x\n"),
        (2, "retired", "x\n"),
        (3, "active", "old()\n"),
    ):
        sha = repo.commit(
            f"day {day}",
            {flags_file: registry(flag("old", "O", status)), "src/app.py": code, **config},
            author=DEV,
            date=f"2024-01-0{day}T00:00:00Z",
            trailers=REVIEWED,
        )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-04T00:00:00Z", approvals=APPROVAL)],
    )
    return repo, tmp_path / "ev"


def _runs(repo: ScriptedRepo, evidence: Path, *cache: str | Path) -> list[CliResult]:
    common: list[str | Path] = [
        "--repo",
        repo.path,
        "--evidence",
        evidence,
        "--as-of",
        "2024-01-05",
        *cache,
    ]
    # A gate takes the registry's place (flags_file) from the platform's --config, not from
    # the candidate's knightwatch.yaml, as an audit does; and a --config the candidate's
    # commits track is the change's own, so the platform's is a copy outside the work tree.
    config = repo.path.parent / "platform.yaml"
    config.write_bytes((repo.path / "knightwatch.yaml").read_bytes())
    platform = ("--config", config)
    return [
        run_cli("check", *common),
        run_cli("check", *common, *platform, "--candidate", "main", "--service", "web"),
    ]


def _loose(repo: ScriptedRepo, sha: str) -> Path:
    return repo.path / ".git" / "objects" / sha[:2] / sha[2:]


def _overwrite(repo: ScriptedRepo, victim: str, source: str) -> str:
    """Overwrite the loose object ``victim`` names with the stored bytes of ``source``'s:
    git then reads ``source``'s content under ``victim``'s id."""
    sha, other = repo.git("rev-parse", victim), repo.git("rev-parse", source)
    target = _loose(repo, sha)
    target.chmod(0o644)
    shutil.copyfile(_loose(repo, other), target)
    return sha


def _assert_stopped(results: list[CliResult], sha: str) -> None:
    for result in results:
        assert result.code == 2, (result.out, result.err)
        assert sha in result.err
        assert "does not hash to its name" in result.err
        assert "git fsck" in result.err
        assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("flags_file", "victim", "source"),
    [
        ("flags.yaml", "HEAD~1^{tree}", "HEAD~2^{tree}"),
        ("config/flags.yaml", "HEAD~1^{tree}", "HEAD~2^{tree}"),
        ("config/flags.yaml", "HEAD~1:config", "HEAD~2:config"),
    ],
    ids=["root tree", "root tree above a folder", "the registry's folder"],
)
def test_a_tree_rewritten_with_its_parents_bytes_stops_the_run(
    tmp_path: Path, flags_file: str, victim: str, source: str
) -> None:
    repo, evidence = _case(tmp_path, flags_file)
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache"))
    sha = _overwrite(repo, victim, source)
    # git itself now sees a history in which the flag was never retired:
    log = repo.git("log", "--format=%s", "--", flags_file)
    assert "day 2" not in log
    _assert_stopped(_runs(repo, evidence, "--no-cache"), sha)


def _older_history(path: Path, commits: int) -> None:
    """A repository at ``path`` whose ``main`` holds ``commits`` commits of a file of their
    own, made in one fast-import (the case's commits then go on top)."""
    ScriptedRepo(path)
    stream = []
    for number in range(commits):
        stream += [
            "commit refs/heads/main",
            f"committer Builder <builder@example.invalid> {1_600_000_000 + number} +0000",
            "data 6",
            "older",
            "M 100644 inline filler.txt",
            f"data {len(str(number)) + 1}",
            str(number),
        ]
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=path,
        input="\n".join(stream).encode() + b"\n",
        check=True,
        capture_output=True,
    )
    subprocess.run(["git", "reset", "--quiet"], cwd=path, check=True, capture_output=True)


def test_a_root_tree_rewritten_near_the_tip_of_a_long_history_stops_the_run(
    tmp_path: Path,
) -> None:
    """The commits' hasher hands each root tree to the trees' hasher; where that one stops at
    the first tree (the newest commits come first) while thousands are still to be handed
    over, the run still names the tree, not the pipe that closed."""
    _older_history(tmp_path / "repo", 4000)
    repo, evidence = _case(tmp_path)
    sha = _overwrite(repo, "HEAD~1^{tree}", "HEAD~2^{tree}")
    _assert_stopped(_runs(repo, evidence, "--no-cache"), sha)


def test_a_commit_rewritten_in_place_stops_the_run(tmp_path: Path) -> None:
    """The retiring commit's bytes replaced by a commit of the same message whose tree is its
    parent's: git walks a history without the retirement."""
    repo, evidence = _case(tmp_path)
    sha = repo.git("rev-parse", "HEAD~1")
    raw = repo.git("cat-file", "commit", sha).encode() + b"\n"
    old_tree = repo.git("rev-parse", "HEAD~2^{tree}")
    new_tree = repo.git("rev-parse", "HEAD~1^{tree}")
    forged = raw.replace(new_tree.encode(), old_tree.encode())
    made = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repo.path,
            input=forged,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    _overwrite(repo, sha, made)
    _assert_stopped(_runs(repo, evidence, "--no-cache"), sha)


def test_a_rewritten_object_is_found_though_a_clean_run_filled_the_cache(
    tmp_path: Path,
) -> None:
    """The cache holds the walk of an intact history: a warm run uses it (the findings stand),
    and a run over other tips walks, and hashes, again."""
    repo, evidence = _case(tmp_path)
    cache = tmp_path / "cache"
    assert all(r.code == 1 for r in _runs(repo, evidence, "--cache-dir", cache))
    sha = _overwrite(repo, "HEAD~1^{tree}", "HEAD~2^{tree}")
    for result in _runs(repo, evidence, "--cache-dir", cache):
        assert result.code in (1, 2), (result.out, result.err)  # never a pass
    repo.commit("day 4", {"README": "x\n"}, author=DEV, date="2024-01-04T01:00:00Z")
    gate = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--as-of", "2024-01-05",
        "--cache-dir", cache, "--candidate", "main", "--service", "web",
    )  # fmt: skip
    _assert_stopped([gate], sha)


def test_a_rename_git_was_kept_from_seeing_stops_the_run(tmp_path: Path) -> None:
    """The registry was ``old.yaml``, retired the flag there, and became ``flags.yaml`` (edited
    on the way: a rename git finds by likeness). The old name's last version overwritten with
    unrelated bytes makes git find no rename, and the history before it (the retirement) would
    vanish: git read that blob to compare, so it is hashed too."""
    repo = ScriptedRepo(tmp_path / "repo")
    body = {"knightwatch.yaml": "flags_file: flags.yaml\n"}
    steps: list[tuple[str, dict[str, str | None]]] = [
        ("day 1", {"old.yaml": registry(flag("old", "O")), "src/app.py": "x\n", **body}),
        ("day 2", {"old.yaml": registry(flag("old", "O", "retired"))}),
        (
            "day 3",
            {"old.yaml": None, "flags.yaml": registry(flag("old", "O", "retired")) + "# moved\n"},
        ),
        ("day 4", {"flags.yaml": registry(flag("old", "O")), "src/app.py": "old()\n"}),
    ]
    for day, (message, files) in enumerate(steps, start=1):
        sha = repo.commit(
            message, files, author=DEV, date=f"2024-01-0{day}T00:00:00Z", trailers=REVIEWED
        )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-05T00:00:00Z", approvals=APPROVAL)],
    )
    evidence = tmp_path / "ev"
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache"))
    unrelated = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo.path,
            input=b"nothing like a registry\n" * 40,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    blob = _overwrite(repo, "HEAD~2:old.yaml", unrelated)
    log = repo.git("log", "--follow", "--format=%s", "--", "flags.yaml")
    assert "day 2" not in log  # git no longer follows the rename
    _assert_stopped(_runs(repo, evidence, "--no-cache"), blob)


def test_a_tag_rewritten_in_place_stops_the_run(tmp_path: Path) -> None:
    """The baseline is a release tag; its tag object rewritten to point at a later commit would
    start the first range after an unreviewed commit. git hashes a tag it peels (it reads it
    as a whole object, not as part of a walk), so the tag names nothing and the run stops."""
    repo = ScriptedRepo(tmp_path / "repo")
    shas = []
    for day, trailers in ((1, REVIEWED), (2, ()), (3, REVIEWED)):
        date = f"2024-01-0{day}T00:00:00Z"
        files: dict[str, str | None] = {"src/app.py": f"{day}\n"}
        shas.append(repo.commit(f"day {day}", files, author=DEV, date=date, trailers=trailers))
    repo.git("tag", "-a", "v0", "-m", "release", shas[0], date="2024-01-01T00:00:00Z", author=DEV)
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", shas[2], "2024-01-04T00:00:00Z", approvals=APPROVAL)],
    )
    evidence = tmp_path / "ev"
    common: list[str | Path] = ["--repo", repo.path, "--evidence", evidence, "--no-cache"]
    common += ["--as-of", "2024-01-05"]
    assert run_cli("check", *common, "--baseline", "v0").code == 1  # day 2 is unreviewed
    tag = repo.git("rev-parse", "v0")
    raw = repo.git("cat-file", "tag", tag).encode() + b"\n"
    forged = (
        subprocess.run(
            ["git", "hash-object", "-t", "tag", "-w", "--stdin"],
            cwd=repo.path,
            input=raw.replace(shas[0].encode(), shas[1].encode()),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    _overwrite(repo, tag, forged)
    result = run_cli("check", *common, "--baseline", "v0")
    assert result.code == 2, (result.out, result.err)
    assert "v0" in result.err
    assert "Traceback" not in result.err


def test_a_tree_rewritten_in_place_cannot_narrow_a_scoped_range(tmp_path: Path) -> None:
    """A path-scoped service ships only the commits that changed its files, as ``git
    diff-tree`` tells them. The folder of an unreviewed commit that changed the service,
    rewritten with its parent's bytes, would make that commit change nothing of it."""
    from tests.facts.test_scopes import PATHS, REVIEWED, _base, _check, _deploy, _evidence

    repo, base = _base(tmp_path)
    repo.commit(
        "unreviewed", {"services/payments/charge.py": "def charge(card):\n    return 2\n"},
        author=DEV, date="2024-06-02T09:00:00Z",
    )  # fmt: skip
    tip = repo.commit(
        "reviewed", {"services/payments/refund.py": "def refund(card):\n    return 3\n"},
        author=DEV, date="2024-06-03T09:00:00Z", trailers=REVIEWED,
    )  # fmt: skip
    evidence = _evidence(tmp_path, [_deploy("D1", base, 1), _deploy("D2", tip, 4)])
    intact = _check(repo, evidence, PATHS, "--no-cache")
    assert intact.code == 1
    assert {f["rule"] for f in intact.json()["findings"]} >= {"REVIEW-002"}
    sha = _overwrite(repo, "HEAD~1:services/payments", "HEAD~2:services/payments")
    forged = _check(repo, evidence, PATHS, "--no-cache")
    assert forged.code == 2, (forged.out, forged.err)
    assert sha in forged.err
    assert "does not hash to its name" in forged.err


def test_a_run_stopped_by_a_rewritten_object_caches_nothing(tmp_path: Path) -> None:
    """The registry's walk is used while the trees git read for it are still being hashed;
    a run whose hashing fails writes none of its facts to the cache, so the next run does
    not take the walk of a rewritten tree from there (and skip hashing the trees)."""
    repo, evidence = _case(tmp_path)
    sha = _overwrite(repo, "HEAD~1^{tree}", "HEAD~2^{tree}")
    cache = tmp_path / "cache"
    _assert_stopped(_runs(repo, evidence, "--cache-dir", cache), sha)
    _assert_stopped(_runs(repo, evidence, "--cache-dir", cache), sha)


def _pack(repo: ScriptedRepo, objects: Path, names: list[str], mtime: float) -> None:
    """Pack ``names`` as the object store ``objects`` holds them into the repository's packs
    (``git pack-objects`` takes each name as given, whatever its bytes hash to)."""
    packs = repo.path / ".git" / "objects" / "pack"
    packs.mkdir(exist_ok=True)
    made = subprocess.run(
        ["git", "pack-objects", "--quiet", str(packs / "pack")],
        cwd=repo.path,
        input="".join(f"{name}\n" for name in names),
        env={**os.environ, "GIT_OBJECT_DIRECTORY": str(objects)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for suffix in ("pack", "idx"):
        os.utime(packs / f"pack-{made}.{suffix}", (mtime, mtime))


_BORROWED = {
    "own packs": ("", None),
    "through alternates": ("other", lambda store: os.fsencode(store) + b"\n"),
    "alternates quoted": ("other", lambda store: b'"' + os.fsencode(store) + b'"\n'),
    "alternates relative": ("other", lambda store: b"../../../other\n"),
    "alternates not UTF-8": (os.fsdecode(b"o\xffther"), lambda s: os.fsencode(s) + b"\n"),
}


@pytest.mark.parametrize("borrowed", [*_BORROWED, "index behind a link"])
def test_an_object_stored_twice_with_other_bytes_stops_the_run(
    tmp_path: Path, borrowed: str
) -> None:
    """Two packs hold the retiring commit's root tree: one its true bytes, one its parent's.
    git looks in the pack it used last first, so git's walk and a hashing process can each
    read another copy (the walk found no retirement: exit 0). Every copy of an object stored
    more than once is hashed."""
    repo, evidence = _case(tmp_path)
    objects = repo.path / ".git" / "objects"
    listed = repo.git("rev-list", "--objects", "--all").split("\n")
    names = [line.split()[0] for line in listed]
    c1, c2 = repo.git("rev-parse", "HEAD~2"), repo.git("rev-parse", "HEAD~1")
    t1, t2 = repo.git("rev-parse", "HEAD~2^{tree}"), repo.git("rev-parse", "HEAD~1^{tree}")
    forged = tmp_path / "forged"  # an object store of the four, the tree rewritten
    for name in (c1, c2, t1, t2):
        (forged / name[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_loose(repo, t1 if name == t2 else name), forged / name[:2] / name[2:])
    _pack(repo, objects, [n for n in names if n not in (c1, c2, t1)], mtime=1_700_000_000)
    _pack(repo, forged, [c1, c2, t1, t2], mtime=1_700_001_000)
    repo.git("prune-packed")
    name, line = _BORROWED.get(borrowed, ("", None))
    if borrowed == "index behind a link":  # the forged pack's index elsewhere, linked to
        index = next(i for i in (objects / "pack").glob("*.idx") if i.stat().st_mtime > 1.7e9 + 900)
        elsewhere = tmp_path / "elsewhere" / index.name
        elsewhere.parent.mkdir()
        index.rename(elsewhere)
        index.symlink_to(elsewhere)
    if line is not None:  # the forged pack in another object store the repository borrows from
        other = tmp_path / name / "pack"
        other.mkdir(parents=True)
        for made in (objects / "pack").glob("pack-*"):
            if made.stat().st_mtime == 1_700_001_000:
                made.rename(other / made.name)
        (objects / "info").mkdir(exist_ok=True)
        (objects / "info" / "alternates").write_bytes(line(other.parent))
    assert "day 2" not in repo.git("log", "--format=%s", "--", "flags.yaml")  # git is fooled
    _assert_stopped(_runs(repo, evidence, "--no-cache"), t2)


def test_an_object_stored_twice_alike_is_no_error(tmp_path: Path) -> None:
    """Repositories that fetch often hold objects in more than one pack (a thin pack's bases
    are added to it): copies that hash to their id are no error, and judge as one."""
    repo, evidence = _case(tmp_path)
    objects = repo.path / ".git" / "objects"
    names = [line.split()[0] for line in repo.git("rev-list", "--objects", "--all").split("\n")]
    _pack(repo, objects, names, mtime=1_700_000_000)
    _pack(repo, objects, names[:4], mtime=1_700_001_000)
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache"))
    repo.git("prune-packed")
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache"))
    index = next((objects / "pack").glob("*.idx"))  # an index left alone: git skips it
    shutil.copyfile(index, index.with_name("pack-" + "0" * 40 + ".idx"))
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache"))


def test_a_partial_clone_fetches_nothing_and_runs_nothing(tmp_path: Path) -> None:
    """A repository handed over as a partial clone whose configuration names a command to
    fetch missing objects with: git would run it on the auditor's machine to fetch the
    retiring registry version (and wait on it for as long as it liked). git never fetches
    here: the missing version stops the run."""
    repo, evidence = _case(tmp_path)
    objects = repo.path / ".git" / "objects"
    victim = repo.git("rev-parse", "HEAD~1:flags.yaml")
    names = [line.split()[0] for line in repo.git("rev-list", "--objects", "--all").split("\n")]
    _pack(repo, objects, [n for n in names if n != victim], mtime=1_700_000_000)
    repo.git("prune-packed")
    _loose(repo, victim).unlink()
    for promisor in (objects / "pack").glob("*.pack"):
        promisor.with_suffix(".promisor").write_text("")
    marker, command = tmp_path / "ran", tmp_path / "fetch.sh"
    command.write_text(f"#!/bin/sh\necho ran >> {marker}\nsleep 600\n")
    command.chmod(0o755)
    for key, value in (
        ("core.repositoryformatversion", "1"),
        ("extensions.partialClone", "origin"),
        ("remote.origin.url", str(tmp_path / "nowhere")),
        ("remote.origin.promisor", "true"),
        ("remote.origin.uploadpack", str(command)),
    ):
        repo.git("config", key, value)
    for result in _runs(repo, evidence, "--no-cache"):
        assert result.code == 2, (result.out, result.err)
        assert victim in result.err
        assert "Traceback" not in result.err
    assert not marker.exists()


def test_the_repositorys_configuration_runs_no_program(tmp_path: Path) -> None:
    """The repository handed over is the audited team's, configuration included: with
    ``log.showSignature`` on, ``git log`` checked each signed commit with the ``gpg.program``
    that configuration names, a program of the team's own, run on the auditor's machine."""
    repo, evidence = _case(tmp_path)
    tree, head = repo.git("rev-parse", "HEAD^{tree}"), repo.git("rev-parse", "HEAD")
    signed = (
        f"tree {tree}\nparent {head}\nauthor {DEV} 1704412800 +0000\n"
        f"committer {DEV} 1704412800 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n x\n"
        " -----END PGP SIGNATURE-----\n\nsigned\n"
    )
    made = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.path, input=signed, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    repo.git("update-ref", "refs/heads/main", made)
    marker, program = tmp_path / "ran", tmp_path / "gpg.sh"
    program.write_text(f"#!/bin/sh\necho ran >> {marker}\nexit 1\n")
    program.chmod(0o755)
    for key, value in (
        ("log.showSignature", "true"),
        ("gpg.program", str(program)),
        ("gpg.ssh.program", str(program)),
        ("core.fsmonitor", str(program)),
    ):
        repo.git("config", key, value)
    assert all(r.code == 1 for r in _runs(repo, evidence, "--no-cache"))
    assert not marker.exists()


def test_a_tip_rewritten_in_place_is_named_as_damage(tmp_path: Path) -> None:
    """git hashes a tip when it reads it, so a branch whose commit was rewritten in place
    names no commit: that is said as damage to the repository, not as a missing branch."""
    repo, evidence = _case(tmp_path)
    sha = _overwrite(repo, "HEAD", "HEAD~1")
    for result in _runs(repo, evidence, "--no-cache"):
        assert result.code == 2, (result.out, result.err)
        assert f"refs/heads/main names git object {sha}" in result.err
        assert "git fsck" in result.err


@pytest.mark.parametrize("reader", ["diff-tree of two commits", "ls-tree", "diff-tree -M"])
def test_a_folder_rewritten_in_place_stops_the_fact_readers_that_ask_git(
    tmp_path: Path, reader: str
) -> None:
    """The landing check (``diff-tree A B``, ``ls-tree``), the search for retired code copied
    out and for renames of a finding's files (``diff-tree`` of a commit, ``-M``) ask git for
    trees git believes unread: each hashes them first, so ``src`` rewritten with its parent's
    bytes (the change to ``src/app.py`` gone from git's view) is damage, not a change."""
    from checker.errors import InputError
    from checker.evidence.git import GitHistory
    from checker.evidence.git_content import check_commit_diffs, check_diffs, check_paths

    repo = ScriptedRepo(tmp_path / "repo")
    first = repo.commit("a", {"src/app.py": "x = 1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    second = repo.commit("b", {"src/app.py": "x = 2\n"}, author=DEV, date="2024-01-02T00:00:00Z")
    sha = _overwrite(repo, f"{second}:src", f"{first}:src")
    history = GitHistory(repo.path)
    try:
        with pytest.raises(InputError, match="does not hash to its name") as raised:
            if reader == "diff-tree of two commits":
                check_commit_diffs(history, [(second, first)])
            elif reader == "ls-tree":
                check_paths(history, second, ["src/app.py"])
            else:
                check_diffs(history, [second], with_blobs=True)
        assert sha in str(raised.value)
    finally:
        history.close()
