"""A tree entry's mode is what git reads it as, however it is spelt: git parses the mode as an
octal number and keeps its file type (``canon_mode``), so a directory written ``040000`` (as
old versions of git and other tools wrote it; ``git fsck`` only warns) is a directory to
``ls-tree``, checkout and clone. Compared as text, it read as a file: nothing below it was
searched for retired flags (DEAD-001) or matched by ``retired_code`` (DEAD-004), and a signed
audit of the deployment passed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.errors import InputError
from checker.evidence.objectcheck import entry_kind
from tests.conftest import DEV, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry

_ENTRY = re.compile(rb"(\d+) ([^\0]*)\0(.{20})", re.DOTALL)


def _rewritten(repo: ScriptedRepo, tree: str, modes: dict[bytes, bytes]) -> str:
    """``tree`` written again with each mode of ``modes`` spelt as it says, as git would not
    write it itself; the new tree's id."""
    raw = subprocess.run(
        ["git", "cat-file", "tree", tree], cwd=repo.path, capture_output=True, check=True
    ).stdout
    spelt = b"".join(
        modes.get(mode, mode) + b" " + name + b"\0" + sha for mode, name, sha in _ENTRY.findall(raw)
    )
    return subprocess.run(
        ["git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
        cwd=repo.path, input=spelt, capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip


def _with_padded_folder(tmp_path: Path, modes: dict[bytes, bytes]) -> tuple[ScriptedRepo, str]:
    """A repository whose last commit brings back the retired ``power_peg`` in
    ``legacy/strategy.py``, its root tree spelling the folder's mode as ``modes`` says."""
    repo = ScriptedRepo(tmp_path / "repo")
    retired = {"path": "legacy/strategy.py", "reason": "retired", "retired_at": "2024-01-01"}
    files = {
        "flags.yaml": registry(flag("power_peg", "P", "retired"), retired_code=[retired]),
        "app.py": "x = 1\n",
    }
    repo.commit("base", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    back = {"legacy/strategy.py": "if flag('power_peg'):\n    run()\n"}
    sha = repo.commit("back", back, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    tree = _rewritten(repo, repo.git("rev-parse", f"{sha}^{{tree}}"), modes)
    message = repo.git("log", "-1", "--format=%B", sha)
    parent = repo.git("rev-parse", f"{sha}^")
    spelt = repo.git(
        "commit-tree", tree, "-p", parent, "-m", message, author=DEV, date="2024-01-02T00:00:00Z"
    )
    repo.git("update-ref", "refs/heads/main", spelt)
    return repo, spelt


def _check(tmp_path: Path, repo: ScriptedRepo, sha: str, *cache: str) -> tuple[int, str]:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-20T00:00:00Z", approvals=APPROVAL)],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--as-of", "2024-02-01", *cache,
    )  # fmt: skip
    return result.code, result.out if result.code in (0, 1) else result.err


@pytest.mark.parametrize("cached", [False, True])
def test_a_folder_whose_mode_is_zero_padded_is_searched(tmp_path: Path, cached: bool) -> None:
    repo, sha = _with_padded_folder(tmp_path, {b"40000": b"040000"})
    assert "040000 tree" in repo.git("cat-file", "-p", f"{sha}^{{tree}}")
    assert "legacy/strategy.py" in repo.git("ls-tree", "-r", "--name-only", sha)
    cache = ["--cache-dir", str(tmp_path / "cache")] if cached else ["--no-cache"]
    code, out = _check(tmp_path, repo, sha, *cache)
    assert code == 1, out
    assert '"subject": "D1:power_peg"' in out  # DEAD-001: the retired flag, read below it
    assert '"subject": "D1:legacy/strategy.py"' in out  # DEAD-004: the retired code


def test_a_gate_searches_below_a_zero_padded_folder(tmp_path: Path) -> None:
    repo, sha = _with_padded_folder(tmp_path, {b"40000": b"040000"})
    write_yaml(tmp_path / "ev" / "deploys.yaml", [])
    fleet = {"environments": ["production"], "services": {"smars": {"hosts": ["h1"]}}}
    write_yaml(tmp_path / "ev" / "fleet.yaml", fleet)
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--candidate", sha,
        "--service", "smars", "--as-of", "2024-02-01", "--no-cache",
    )  # fmt: skip
    assert result.code == 1, result.out + result.err
    assert "DEAD-001" in result.out and "DEAD-004" in result.out


def test_a_mode_git_cannot_read_is_damage(tmp_path: Path) -> None:
    repo, sha = _with_padded_folder(tmp_path, {b"40000": b"40009"})
    code, err = _check(tmp_path, repo, sha, "--no-cache")
    assert code == 2, err
    assert "git cannot read the repository's objects (malformed mode in tree entry)" in err
    assert "git fsck" in err


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        (b"40000", "tree"),
        (b"040000", "tree"),
        (b"100644", "blob"),
        (b"100755", "blob"),
        (b"100664", "blob"),  # what git before 1.5 wrote for a group-writable file
        (b"0100644", "blob"),
        (b"120000", "link"),
        (b"160000", "submodule"),
        (b"1", "submodule"),  # a type git does not know it takes for a submodule
    ],
)
def test_an_entry_is_what_its_mode_is_to_git(mode: bytes, kind: str) -> None:
    assert entry_kind(mode, b"name") == kind


@pytest.mark.parametrize("mode", [b"", b"4000a", b"1e5"])
def test_a_mode_that_is_not_octal_is_refused(mode: bytes) -> None:
    with pytest.raises(InputError, match="which git cannot read"):
        entry_kind(mode, b"name")
