"""``knightwatch import ansible`` on the output of a real ansible-playbook run.

``fixtures/ansible/result.json`` is what ``ansible-playbook`` (ansible-core, with the
``ansible.posix.json`` stdout callback) wrote for ``deploy.yml`` on ``inventory.ini``: five
hosts on this machine, one whose verification fails, one unreachable, one outside the play.
``test_the_fixture_is_what_ansible_playbook_writes`` runs it again (``make test`` installs
ansible into ``.venv/ansible``) and compares; ``KNIGHTWATCH_REGEN=1`` rewrites the fixture.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, run_cli
from tests.importers.workspaces import order_router

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ansible"
RESULT = FIXTURES / "result.json"
PLAYBOOK_DIR = "/srv/deploy"  # where the fixture says the playbook was; the run used a temp dir


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    """What a run shows, without its times, ids and paths."""
    tasks = []
    for play in document["plays"]:
        for task in play["tasks"]:
            outcome = {
                host: sorted(k for k in ("changed", "failed", "unreachable", "skipped") if r.get(k))
                for host, r in task["hosts"].items()
            }
            tasks.append([task["task"]["name"], outcome])
    return {"stats": document["stats"], "tasks": tasks}


def test_the_fixture_is_what_ansible_playbook_writes(tmp_path: Path) -> None:
    ansible = os.environ.get("KNIGHTWATCH_ANSIBLE")
    if not ansible or not Path(ansible, "bin", "ansible-playbook").is_file():
        pytest.skip("ansible-playbook not installed ($KNIGHTWATCH_ANSIBLE; make test installs it)")
    ansible = str(Path(ansible).resolve())
    work = tmp_path / "deploy"
    shutil.copytree(FIXTURES, work, ignore=shutil.ignore_patterns("result.json"))
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_COLLECTIONS_PATH": str(Path(ansible, "collections")),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    run = subprocess.run(
        [str(Path(ansible, "bin", "ansible-playbook")), "-i", "inventory.ini", "deploy.yml"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # ansible-playbook exits 2 for failed hosts and 4 for unreachable ones.
    assert run.returncode in (2, 4), run.stderr
    written = json.loads(run.stdout.replace(str(work), PLAYBOOK_DIR))
    if os.environ.get("KNIGHTWATCH_REGEN"):
        RESULT.write_text(json.dumps(written, indent=4, sort_keys=True) + "\n")
    assert _summary(written) == _summary(json.loads(RESULT.read_text()))


def test_the_fixture_shows_each_kind_of_host() -> None:
    stats = json.loads(RESULT.read_text())["stats"]
    assert sorted(stats) == ["smars-01", "smars-02", "smars-03", "smars-04"]  # not smars-05
    assert stats["smars-03"]["failures"] == 1
    assert stats["smars-04"]["unreachable"] == 1


def _workspace(tmp_path: Path) -> tuple[ScriptedRepo, Path, str]:
    return order_router(tmp_path, hosts=5)


def _import(repo: ScriptedRepo, *extra: str | Path) -> Any:
    return run_cli(
        "import", "ansible", RESULT, "--repo", repo.path, "--deployment-id", "D-2012-07-27",
        "--service", "smars", "--commit", "main", "--deployer", "tech1@knight.example",
        "--approval", "lead@knight.example,2012-07-27T21:30:00Z",
        "--release-task", "Install the release", "--not-check-mode", *extra,
    )  # fmt: skip


def test_an_imported_run_with_an_unreachable_host_fails_fleet_001(tmp_path: Path) -> None:
    repo, evidence, sha = _workspace(tmp_path)
    result = _import(repo)
    assert result.code == 0, result.err
    assert "4 hosts: 1 failed, 2 succeeded, 1 unreachable" in result.err
    record = json.loads((evidence / "deploys.jsonl").read_text())
    assert record["commit"] == sha  # "main" recorded as the commit it meant at import time
    assert record["approvals"] == [{"by": "lead@knight.example", "at": "2012-07-27T21:30:00Z"}]
    started = json.loads(RESULT.read_text())["plays"][0]["play"]["duration"]["start"]
    assert record["started_at"] == started
    assert {t["host"]: t["status"] for t in record["targets"]} == {
        "smars-01": "succeeded",
        "smars-02": "succeeded",
        "smars-03": "failed",
        "smars-04": "unreachable",
    }
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2026-11-24")
    assert check.code == 1, check.err
    fleet = {f["subject"] for f in check.json()["findings"] if f["rule"] == "FLEET-001"}
    assert fleet == {"D-2012-07-27:smars-03", "D-2012-07-27:smars-04", "D-2012-07-27:smars-05"}


def test_importing_the_same_run_twice_adds_nothing_and_a_clash_is_refused(
    tmp_path: Path,
) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    assert _import(repo).code == 0
    before = (evidence / "deploys.jsonl").read_bytes()
    again = _import(repo)
    assert again.code == 0 and "0 added, 1 already there" in again.err
    clash = _import(repo, "--environment", "staging")
    assert clash.code == 2
    assert "already recorded, differently" in clash.err and "deploys.jsonl:1" in clash.err
    assert (evidence / "deploys.jsonl").read_bytes() == before


def test_a_run_appends_to_an_existing_yaml_file(tmp_path: Path) -> None:
    repo, evidence, sha = _workspace(tmp_path)
    existing = (
        "# deployments of smars\n"
        f"- {{id: D-0, service: smars, environment: production, commit: {sha},\n"
        "   started_at: '2012-07-01T10:00:00Z', deployer: tech1@knight.example,\n"
        "   targets: [{host: smars-01, status: succeeded}]}\n"
    )
    (evidence / "deploys.yaml").write_text(existing)
    assert _import(repo).code == 0
    text = (evidence / "deploys.yaml").read_text()
    assert text.startswith(existing)  # what was there is kept byte for byte
    assert [d["id"] for d in yaml.safe_load(text)] == ["D-0", "D-2012-07-27"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"plays": [], "stats": {}}', "'plays' is empty"),
        ('{"custom_stats": {}}', "no 'plays' and 'stats'"),
        ("PLAY [all] ****\nok: [smars-01]\n", "not the callback's JSON: 'PLAY [all] ****'"),
        ('{"plays": [{"play": {}}], "stats": {"h": {"ok": 1}}}', "play #1 has no"),
        (
            '{"plays": [{"play": {"duration": {"start": "x"}}}], "stats": {"h": {"ok": "1"}}}',
            "counts",
        ),
    ],
)
def test_output_that_is_not_the_json_callbacks_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    result_file = tmp_path / "result.json"
    result_file.write_text(content)
    result = run_cli(
        "import", "ansible", result_file, "--repo", repo.path, "--deployment-id", "D-1",
        "--service", "smars", "--commit", "main", "--deployer", "tech1@knight.example",
    )  # fmt: skip
    assert result.code == 2, result.err
    assert message in result.err and str(result_file) in result.err
    assert "Traceback" not in result.err
    assert not (evidence / "deploys.jsonl").exists()


def test_a_commit_that_does_not_resolve_is_refused(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    result = run_cli(
        "import", "ansible", RESULT, "--repo", repo.path, "--deployment-id", "D-1",
        "--service", "smars", "--commit", "v9.9", "--deployer", "tech1@knight.example",
    )  # fmt: skip
    assert result.code == 2 and "'v9.9' does not resolve" in result.err
    bad = _import(repo, "--approval", "lead@knight.example")
    assert bad.code == 2 and "ADDRESS,TIMESTAMP" in bad.err
    assert not (evidence / "deploys.jsonl").exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (("--service", "smras"), "--service 'smras' is not in"),
        (("--service", "SMARS"), "--service 'SMARS' is not in"),
    ],
)
def test_a_service_fleet_yaml_does_not_list_is_refused_before_anything_is_written(
    tmp_path: Path, extra: tuple[str, ...], said: str
) -> None:
    """A misspelt --service was appended with exit 0, and the next check refused the whole
    evidence directory for the record the import had written."""
    repo, evidence, _ = _workspace(tmp_path)
    result = _import(repo, *extra)
    assert result.code == 2
    assert said in result.err and "fleet.yaml (did you mean 'smars'?)" in result.err
    assert not (evidence / "deploys.jsonl").exists()
    (repo.path / "knightwatch.yaml").write_text("unlisted_services: [smras]\n")
    listed = _import(repo, "--service", "smras")
    assert listed.code == 0, listed.err


def test_a_commit_shaped_like_a_sha_that_is_also_a_branch_is_refused(tmp_path: Path) -> None:
    """git takes the branch: the record would name whatever commit the branch points at."""
    repo, evidence, _ = _workspace(tmp_path)
    head = repo.git("rev-parse", "HEAD").strip()
    repo.commit("later", {"later.txt": "x\n"}, author=DEV, date="2012-07-28T00:00:00Z")
    repo.git("branch", head[:8], "HEAD")
    result = run_cli(
        "import", "ansible", RESULT, "--repo", repo.path, "--deployment-id", "D-1",
        "--service", "smars", "--commit", head[:8], "--deployer", "tech1@knight.example",
    )  # fmt: skip
    assert result.code == 2, result.err
    assert f"--commit '{head[:8]}' is ambiguous: both a sha and the ref refs/heads/" in result.err
    assert not (evidence / "deploys.jsonl").exists()
