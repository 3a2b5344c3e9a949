"""A compressed file that could not be unpacked whole (past the budget, nested too deeply,
damaged, encrypted, compressed by a method not read) was searched "as its bytes alone" and the
rules that search file content were called complete: a retired flag's name hidden past one of
those limits passed DEAD-001 and ``check --require-all`` (exit 0). They now say which files,
and why, as for a Git LFS pointer."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence import archives
from tests.conftest import DEV
from tests.facts.test_deadcode import REVIEWED, _zipped, flag, registry
from tests.facts.test_lfs_pointers import _check, _complete, _dead, _status

CODE = b'if flag("power_peg"): run_power_peg()\n'
JAR = _zipped("com/x/Strategy.class", CODE)


def _headers(data: bytes, *, flags: int = 0, method: int | None = None) -> bytes:
    """``data``, a zip of one member, its local and central headers saying ``flags`` and
    ``method`` (what ``zip -e`` or a PPMd compressor writes; Python writes neither)."""
    out = bytearray(data)
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = out.index(signature) + at
        out[start] |= flags
        if method is not None:
            out[start + 2 : start + 4] = method.to_bytes(2, "little")
    return bytes(out)


def _nested(levels: int) -> bytes:
    data = CODE
    for level in range(levels):
        data = _zipped(f"level{level}.jar", data)
    return data


def zstd_frame(data: bytes) -> bytes:
    """``data`` as one zstd frame of one raw block (what ``zstd`` writes for data it cannot
    shrink; Python has no zstd to write one)."""
    assert len(data) < 256
    block = (len(data) << 3 | 1).to_bytes(3, "little")  # the last block, raw
    return b"\x28\xb5\x2f\xfd\x20" + bytes([len(data)]) + block + data


CASES = {
    "nested": (_nested(archives.MAX_DEPTH + 1), archives.TOO_DEEP),
    "encrypted": (_headers(JAR, flags=0x1), archives.ENCRYPTED),
    "ppmd": (_headers(JAR, method=98), archives.UNSUPPORTED),
    "damaged": (JAR[:40] + bytes(10) + JAR[50:], archives.DAMAGED),
    "truncated": (gzip.compress(CODE * 100, mtime=0)[:-40], archives.DAMAGED),
    "too large": (gzip.compress(bytes(2000) + CODE, mtime=0), archives.TOO_LARGE),
    "zstd": (zstd_frame(bytes(40)), archives.UNSUPPORTED),
}


def _repo(tmp_path: Path, content: bytes) -> ScriptedRepo:
    """A registry retiring power_peg, and lib/vendor.jar holding ``content``."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("base", {}, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    (repo.path / "lib").mkdir()
    (repo.path / "lib" / "vendor.jar").write_bytes(content)
    repo.git("add", "lib/vendor.jar")
    files = {"flags.yaml": registry(flag("power_peg", "Power Peg", "retired")), "app.py": "1\n"}
    repo.commit("bundle", files, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    return repo


@pytest.mark.parametrize(("content", "reason"), CASES.values(), ids=CASES.keys())
def test_a_file_not_unpacked_whole_is_named_and_require_all_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, reason: str
) -> None:
    monkeypatch.setattr(archives, "MAX_UNPACKED", 1000)
    repo = _repo(tmp_path, content)
    result = _check(tmp_path, repo, "--no-cache")
    assert _dead(result) == set()
    assert _status(result)["DEAD-001"]["reason"] == (
        "1 of 1 deployed commits hold compressed files that could not be unpacked whole, so "
        f"what they hold was searched in part: lib/vendor.jar ({reason}) (in D1)"
    )
    result = _complete(tmp_path, repo)
    assert result.code == 1, result.err
    assert result.json()["summary"]["partial"] == ["DEAD-001", "DEAD-004", "DEAD-005"]


def test_what_was_not_unpacked_is_said_from_the_cache_too(tmp_path: Path) -> None:
    """A blob's marks are kept with the words it holds: the second run reads them back."""
    repo = _repo(tmp_path, _headers(JAR, flags=0x1))
    first, second = (_status(_check(tmp_path, repo))["DEAD-001"] for _ in range(2))
    assert first == second
    assert second["partial"] is True


def test_an_archive_searched_whole_is_complete(tmp_path: Path) -> None:
    """Within every limit, the name is found, and nothing is said to be unsearched."""
    result = _check(tmp_path, _repo(tmp_path, _nested(archives.MAX_DEPTH)), "--no-cache")
    assert _dead(result) == {("DEAD-001", "D1:power_peg")}
    assert "partial" not in _status(result)["DEAD-001"]
