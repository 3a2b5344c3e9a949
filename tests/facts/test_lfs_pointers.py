"""Git LFS: a file stored with LFS is a pointer in the repository, and a checkout with git-lfs
writes the real content in its place. A retired flag in that content is in no git object, so
the search for it was blind there, and DEAD-001 passed as if every file had been searched. The
rules that search file content now say they were judged without it; a pointer is known by the
spec's format, not by ``.gitattributes``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.git_content import is_lfs_pointer
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry

REAL = 'if flag("power_peg"): run_power_peg()\n'
"""What git-lfs would check out for generated/strategy.py: it names the retired flag."""
OID = hashlib.sha256(REAL.encode()).hexdigest()
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize {len(REAL)}\n"
VERSION = b"version https://git-lfs.github.com/spec/v1\n"
ATTRIBUTES = "generated/** filter=lfs diff=lfs merge=lfs -text\n"
NOTE = (
    "1 of 1 deployed commits hold Git LFS pointers, whose content is not in the repository, "
    "so it was not searched: generated/strategy.py (in D1)"
)


def _repo(tmp_path: Path, strategy: str, **extra: str) -> ScriptedRepo:
    """A registry retiring power_peg, and generated/strategy.py holding ``strategy``."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("base", {}, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    files = {
        "flags.yaml": registry(flag("power_peg", "Power Peg", "retired")),
        ".gitattributes": ATTRIBUTES,
        "app.py": "import generated.strategy\n",
        "generated/strategy.py": strategy,
        **extra,
    }
    repo.commit("bundle", files, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    return repo


def _check(tmp_path: Path, repo: ScriptedRepo, *extra: str | Path) -> CliResult:
    head = repo.git("rev-parse", "HEAD")
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", head, "2024-01-10T00:00:00Z", approvals=APPROVAL)],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json", *extra
    )
    assert result.code in (0, 1), result.err
    return result


def _status(result: CliResult) -> dict[str, dict[str, Any]]:
    summary = result.json()["summary"]
    return {rule["id"]: rule for rule in summary["rules"] if rule["id"].startswith("DEAD")}


def _dead(result: CliResult) -> set[tuple[str, str]]:
    return {
        (f["rule"], f["subject"]) for f in result.json()["findings"] if f["rule"].startswith("DEAD")
    }


@pytest.mark.parametrize(
    "pointer",
    [POINTER, POINTER.replace("\n", "\r\n"), "\n" + POINTER, POINTER.ljust(1061, "\n")],
    ids=["as git-lfs writes it", "CRLF", "a blank line first", "1,061 bytes"],
)
def test_a_pointer_is_not_searched_and_the_rules_say_so(tmp_path: Path, pointer: str) -> None:
    """Every pointer git-lfs would check out the content of; the last three passed as searched
    (a pointer's text names nothing, so DEAD-001 passed whole)."""
    result = _check(tmp_path, _repo(tmp_path, pointer), "--no-cache")
    assert _dead(result) == set()  # the flag's name is in no git object: nothing can find it
    status = _status(result)
    assert status["DEAD-001"]["partial"] is True
    assert status["DEAD-001"]["reason"] == NOTE
    assert status["DEAD-005"]["reason"] == NOTE
    # Retired code is found by its content too (moved elsewhere): the pointer may be it.
    assert status["DEAD-004"]["reason"] == NOTE
    # The registry is judged by its own history: whole.
    assert "partial" not in status["DEAD-002"]
    partial = {r for r in result.json()["summary"]["partial"] if r.startswith("DEAD")}
    assert partial == {"DEAD-001", "DEAD-004", "DEAD-005"}


def _complete(tmp_path: Path, repo: ScriptedRepo) -> CliResult:
    """``check --require-all`` of HEAD with evidence for every rule (fleet, observations, a
    flag event, and a baseline for the commits shipped)."""
    head = repo.git("rev-parse", "HEAD")
    record = deployment("D1", head, "2024-01-10T00:00:00Z", approvals=APPROVAL)
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [{**record, "finished_at": "2024-01-10T00:10:00Z"}])
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    seen = {"host": "web-1", "service": "web", "version": head}
    write_yaml(evidence / "observations.yaml", [{**seen, "observed_at": "2024-01-11T00:00:00Z"}])
    event = {"flag": "power_peg", "service": "web", "environment": "production"}
    at = {"enabled": False, "at": "2024-01-12T00:00:00Z", "by": "ops@example.com"}
    write_yaml(evidence / "flag_events.yaml", [{**event, **at}])
    root = repo.git("rev-list", "--max-parents=0", "HEAD")
    return run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--baseline", root,
        "--require-all", "--format", "json", "--no-cache",
    )  # fmt: skip


def test_require_all_fails_a_pass_that_did_not_search_a_pointer(tmp_path: Path) -> None:
    repo = _repo(tmp_path, POINTER)
    result = _complete(tmp_path, repo)
    assert result.code == 1, result.err
    summary = result.json()["summary"]
    assert (summary["findings"], summary["not_evaluated"]) == (0, [])
    assert summary["partial"] == ["DEAD-001", "DEAD-004", "DEAD-005"]
    # The pointer excluded, knowingly: the same evidence is judged whole, and passes.
    excluded = {"knightwatch.yaml": "reference_exclude: [generated/*]\n"}
    repo.commit("exclude", excluded, author=DEV, date="2024-01-03T00:00:00Z", trailers=REVIEWED)
    result = _complete(tmp_path, repo)
    assert result.code == 0, result.json()["summary"]
    assert result.json()["summary"]["complete"] is True


ENCRYPTED = b"\0GITCRYPT\0" + bytes(12) + bytes((i * 37) % 256 for i in range(len(REAL)))
"""What git-crypt's clean filter stores for a file: its header, a 12-byte nonce, and the
file encrypted (AES-CTR), as many bytes as the file."""


def test_a_file_git_crypt_encrypted_is_not_searched_and_the_rules_say_so(tmp_path: Path) -> None:
    """git-crypt, like git-lfs, stores in the repository something other than what a checkout
    (with its key) writes: a retired flag in a file it encrypted passed DEAD-001 whole, and
    ``--require-all`` passed (exit 0)."""
    attributes = {".gitattributes": "generated/peg.py filter=git-crypt diff=git-crypt\n"}
    repo = _repo(tmp_path, "from generated import peg\n", **attributes)
    (repo.path / "generated" / "peg.py").write_bytes(ENCRYPTED)
    repo.git("add", "generated/peg.py")
    repo.commit("encrypted", author=DEV, date="2024-01-03T00:00:00Z", trailers=REVIEWED)
    status = _status(_check(tmp_path, repo, "--no-cache"))
    assert status["DEAD-001"]["reason"] == (
        "1 of 1 deployed commits hold files git-crypt encrypted, whose plain content is not in "
        "the repository, so it was not searched: generated/peg.py (in D1)"
    )
    result = _complete(tmp_path, repo)
    assert result.code == 1, result.err
    assert result.json()["summary"]["partial"] == ["DEAD-001", "DEAD-004", "DEAD-005"]


def test_content_the_lfs_filter_would_pass_through_is_searched(tmp_path: Path) -> None:
    """``.gitattributes`` sends generated/ through git-lfs, but the file committed is the code
    itself (committed without git-lfs installed): a checkout writes it as it is."""
    result = _check(tmp_path, _repo(tmp_path, REAL), "--no-cache")
    assert _dead(result) == {("DEAD-001", "D1:power_peg")}
    assert "partial" not in _status(result)["DEAD-001"]


def test_cached_and_uncached_runs_agree(tmp_path: Path) -> None:
    repo = _repo(tmp_path, POINTER)
    uncached = _check(tmp_path, repo, "--no-cache")
    for _ in ("cold", "warm"):
        cached = _check(tmp_path, repo, "--cache-dir", tmp_path / "cache")
        assert cached.out == uncached.out


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        (POINTER.encode(), True),
        (b"version https://hawser.github.com/spec/v1\noid sha256:" + OID.encode() + b"\n", True),
        (VERSION.ljust(1024, b"x"), True),
        (POINTER.encode().ljust(1061, b"\n"), True),  # git-lfs reads the first 1024 bytes
        (POINTER.replace("\n", "\r\n").encode(), True),  # CRLF, as git-lfs reads lines
        (b"\n\n" + POINTER.encode(), True),  # white space trimmed first
        ("\u00a0".encode() + POINTER.encode(), True),  # Go's TrimSpace trims Unicode spaces
        (b"version https://git-lfs.github.com/spec/v1", True),  # taken for one: still searched
        (b"version http://git-media.io/v/2\r\n", True),
        (b"ext-0-foo sha256:" + OID.encode() + b"\n" + POINTER.encode(), True),  # an extension
        (b"ext-0-foo sha256:0\n\next-1-bar sha256:0\r\n" + POINTER.encode(), True),
        (b"version https://git-lfs.github.com/spec/v12\noid sha256:0\nsize 1\n", False),
        (b"# version https://git-lfs.github.com/spec/v1\n", False),
        ("\ufeff".encode() + POINTER.encode(), False),  # a byte-order mark is no space
        (b"x" * 1024 + POINTER.encode(), False),
        (REAL.encode(), False),
    ],
)
def test_a_pointer_is_known_by_its_format(data: bytes, pointer: bool) -> None:
    assert is_lfs_pointer(data) is pointer


def test_retired_code_moved_into_a_pointer_is_not_judged_whole(tmp_path: Path) -> None:
    """DEAD-004 finds retired code moved elsewhere by its content: moved into Git LFS, the
    content is in no git object, and DEAD-004 passed whole (``--require-all`` too)."""
    code = "def power_peg(): ...\n"
    retired = {"path": "legacy/power_peg.py", "reason": "gone", "retired_at": "2005-01-01"}
    repo = ScriptedRepo(tmp_path / "repo")
    listed = {"flags.yaml": registry(retired_code=[retired]), "legacy/power_peg.py": code}
    repo.commit("listed", listed, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    oid = hashlib.sha256(code.encode()).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(code)}\n"
    moved = {"legacy/power_peg.py": None, ".gitattributes": ATTRIBUTES}
    moved["generated/strategy.py"] = pointer
    repo.commit("moved", moved, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    status = _status(_check(tmp_path, repo, "--no-cache"))["DEAD-004"]
    assert status["partial"] is True
    assert status["reason"] == NOTE
