"""Revisions in the evidence are object ids, tried as the audited team would try them: a tag
named like the deployed commit's short sha, a branch, ``HEAD~1``. Each is refused (exit 2,
naming the record), never resolved to whatever it points at when the check runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml

APPROVED = [{"by": "lee@example.com", "at": "2024-03-01T08:00:00Z"}]


def _history(root: Path) -> tuple[ScriptedRepo, str, str]:
    """A reviewed commit and, after it, an unreviewed one (what was really deployed)."""
    repo = ScriptedRepo(root / "repo")
    reviewed = repo.commit(
        "reviewed",
        {"a": "1"},
        author=DEV,
        date="2024-02-01T00:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    unreviewed = repo.commit("unreviewed", {"a": "2"}, author=DEV, date="2024-02-02T00:00:00Z")
    return repo, reviewed, unreviewed


def _check(repo: ScriptedRepo, root: Path, commit: str) -> tuple[int, str]:
    evidence = root / "evidence"
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", commit, "2024-03-01T09:00:00Z", approvals=APPROVED)],
    )
    out = root / "report.json"
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "-o", out)
    assert not out.exists() or result.code != 2
    return result.code, result.err


def test_the_deployed_sha_is_judged(tmp_path: Path) -> None:
    repo, _, unreviewed = _history(tmp_path)
    for name in (unreviewed, unreviewed[:7], unreviewed[:7].upper()):
        code, err = _check(repo, tmp_path, name)
        assert code == 1, err  # the unreviewed commit, as deployed


def test_a_tag_named_like_the_short_sha_is_refused_as_ambiguous(tmp_path: Path) -> None:
    """git resolves a short name to a ref before a sha: this tag would make the check, and a
    replay on a fresh clone, judge the reviewed commit instead of the one deployed."""
    repo, reviewed, unreviewed = _history(tmp_path)
    short = unreviewed[:7]
    repo.git("tag", short, reviewed)
    assert repo.git("rev-parse", short) == reviewed
    code, err = _check(repo, tmp_path, short)
    assert code == 2
    assert "deploys.yaml:1:" in err
    assert (
        f"deployment D1: commit '{short}' is ambiguous: both a sha and the ref refs/tags/{short}"
        in err
    )
    assert "record the full sha" in err


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("main", "a ref (a branch or tag)"),
        ("release", "a ref (a branch or tag)"),
        ("HEAD", "HEAD"),
        ("HEAD~1", "a relative revision"),
        ("main^", "a relative revision"),
        ("main@{1}", "a reflog entry"),
    ],
)
def test_refs_and_relative_forms_are_refused(tmp_path: Path, name: str, kind: str) -> None:
    repo, reviewed, _ = _history(tmp_path)
    repo.git("branch", "release", reviewed)
    code, err = _check(repo, tmp_path, name)
    assert code == 2, err
    assert f"deploys.yaml:1: deployment D1: commit '{name}' is {kind}, not a sha" in err
    assert "(it points at " in err and "record the full commit sha" in err


def test_an_abbreviation_more_than_one_object_shares_is_refused(tmp_path: Path) -> None:
    repo, _, _ = _history(tmp_path)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    for n in range(1500):  # enough objects that two share their first four digits
        (blobs / str(n)).write_text(f"{n}\n")
    names = "".join(f"{blobs / str(n)}\n" for n in range(1500))
    written = subprocess.run(
        ["git", "hash-object", "-w", "--stdin-paths"],
        cwd=repo.path,
        input=names,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    prefixes = [sha[:4] for sha in written]
    shared = next(p for i, p in enumerate(prefixes) if p in prefixes[:i])
    code, err = _check(repo, tmp_path, shared)
    assert code == 2, err
    assert f"commit '{shared}' is ambiguous: more than one object starts with it" in err
