"""DEAD-004: retired code kept at its path as a symbolic link, or as a submodule, is still
there. Tree matching left both out, so the retired path "matched nothing" and passed: the
code moved to ``legacy/pp_impl.py`` with ``smars/power_peg.py`` a link to it (the import
still works), or the retired folder made a submodule of another repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry

RETIRED = {"path": "smars/power_peg.py", "reason": "Power Peg retired", "retired_at": "2024-01-01"}


def _registry(path: str) -> str:
    return registry(flag("rlp", "R"), retired_code=[{**RETIRED, "path": path}])


def _check(tmp_path: Path, repo: ScriptedRepo) -> CliResult:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment(
                "D1", repo.git("rev-parse", "HEAD"), "2024-01-20T00:00:00Z", approvals=APPROVAL
            )
        ],
    )
    return run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--no-cache",
    )  # fmt: skip


def _retired(result: CliResult) -> dict[str, str]:
    assert result.code in (0, 1), result.err
    return {
        f["subject"]: f["message"] for f in result.json()["findings"] if f["rule"] == "DEAD-004"
    }


def _linked(repo: ScriptedRepo, files: dict[str, str], link: str, target: str) -> None:
    """A commit of ``files``, then one adding the symbolic link ``link`` to ``target``."""
    repo.commit("files", dict(files), author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED)
    (repo.path / link).parent.mkdir(parents=True, exist_ok=True)
    (repo.path / link).symlink_to(target)
    repo.git("add", link)
    repo.commit("link", author=DEV, date="2024-01-03T00:00:00Z", trailers=REVIEWED)


@pytest.mark.parametrize(
    "path", ["smars/power_peg.py", "smars/*.py", "smars/", "smars/power_peg.py/inner.py"]
)
def test_retired_code_kept_as_a_symbolic_link_is_there(tmp_path: Path, path: str) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"flags.yaml": _registry(path), "legacy/pp_impl.py": "def run(): ...\n"}
    _linked(repo, files, "smars/power_peg.py", "../legacy/pp_impl.py")
    messages = _retired(_check(tmp_path, repo))
    assert list(messages) == [f"D1:{path}"]
    assert messages[f"D1:{path}"].endswith("in 1 file: smars/power_peg.py.")


def test_a_retired_folder_made_a_submodule_is_there(tmp_path: Path) -> None:
    other = ScriptedRepo(tmp_path / "other")
    sub = other.commit("peg", {"peg.py": "power_peg()\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit(
        "r", {"flags.yaml": _registry("smars/legacy_peg/")},
        author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED,
    )  # fmt: skip
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},smars/legacy_peg")
    repo.commit("submodule", author=DEV, date="2024-01-03T00:00:00Z", trailers=REVIEWED)
    assert list(_retired(_check(tmp_path, repo))) == ["D1:smars/legacy_peg/"]


def test_a_link_elsewhere_is_no_retired_code(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"flags.yaml": _registry("smars/power_peg.py"), "lib/x.py": "x\n"}
    _linked(repo, files, "smars/power_peg_v2.py", "../lib/x.py")
    assert _retired(_check(tmp_path, repo)) == {}


def test_a_folder_link_a_glob_reaches_through_is_retired_code(tmp_path: Path) -> None:
    """``services/*/power_peg.py`` retired, ``services/smars`` a link to ``../legacy/smars``
    holding power_peg.py: what is behind a link is in no tree, so the link is taken to hold
    what the glob matches."""
    repo = ScriptedRepo(tmp_path / "repo")
    files = {
        "flags.yaml": _registry("services/*/power_peg.py"),
        "legacy/smars/power_peg.py": "run()\n",
    }
    _linked(repo, files, "services/smars", "../legacy/smars")
    assert list(_retired(_check(tmp_path, repo))) == ["D1:services/*/power_peg.py"]
