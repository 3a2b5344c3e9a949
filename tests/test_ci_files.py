"""The CI files we ship and document are valid for the systems that read them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHECK = [sys.executable, "-m", "check_jsonschema"]


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", ["action.yml"]),
        (
            "vendor.github-workflows",
            ["docs/examples/github-workflow.yml", "docs/examples/github-deploy-gate.yml"],
        ),
        ("vendor.gitlab-ci", ["docs/examples/gitlab-ci.yml"]),
    ],
)
def test_ci_files_validate_against_their_schemas(schema: str, files: list[str]) -> None:
    result = subprocess.run(
        [*CHECK, "--builtin-schema", schema, *(str(ROOT / f) for f in files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_hooks_are_well_formed() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"knightwatch-gate", "knightwatch-policy-test"}
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= hook.keys()
        assert hook["entry"].startswith("knightwatch ")


def test_documented_examples_are_the_validated_files() -> None:
    page = (ROOT / "docs" / "ci.md").read_text()
    for name in ("github-workflow.yml", "github-deploy-gate.yml", "gitlab-ci.yml"):
        assert (ROOT / "docs" / "examples" / name).read_text() in page


def test_every_example_fetches_full_history() -> None:
    for name in ("github-workflow.yml", "github-deploy-gate.yml"):
        workflow = yaml.safe_load((ROOT / "docs" / "examples" / name).read_text())
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout"):
                    assert step["with"]["fetch-depth"] == 0
    gitlab = yaml.safe_load((ROOT / "docs" / "examples" / "gitlab-ci.yml").read_text())
    assert gitlab["variables"]["GIT_DEPTH"] == 0


def test_the_deploy_gate_example_ships_the_commit_it_judged() -> None:
    """The dispatcher's ``ref`` reaches the gate only through the checkout: pasted into
    ``args`` (which the action splits at spaces), ``release --fail-on critical`` was options of
    the gate; and the deploy job ships the sha the gate judged, not the ref again, which a push
    between the two jobs could move to a commit no gate judged."""
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "github-deploy-gate.yml").read_text())
    gate, deploy = workflow["jobs"]["gate"], workflow["jobs"]["deploy"]
    steps = {step.get("uses", step.get("id", "")).split("@")[0]: step for step in gate["steps"]}
    assert steps["actions/checkout"]["with"]["ref"] == "${{ inputs.ref }}"
    judged = steps["judged"]["run"]
    assert "git rev-parse --verify HEAD" in judged
    args = steps["knightwatch/knightwatch"]["with"]["args"]
    assert "inputs." not in args
    assert "--candidate ${{ steps.judged.outputs.commit }}" in args
    assert gate["outputs"]["commit"] == "${{ steps.judged.outputs.commit }}"
    assert deploy["needs"] == "gate"
    shipped = yaml.safe_dump(deploy["steps"])
    assert "inputs." not in shipped
    assert "needs.gate.outputs.commit" in shipped


def test_the_gitlab_example_gives_each_job_a_fresh_clone() -> None:
    """GitLab's ``fetch`` strategy reuses the working copy an earlier job left: a local
    ``main`` one made (``git branch main HEAD`` in a merge request's test job) was taken for
    the protected branch at the next gate on that runner, and the gate passed on the merge
    request's own evidence."""
    gitlab = yaml.safe_load((ROOT / "docs" / "examples" / "gitlab-ci.yml").read_text())
    assert gitlab["variables"]["GIT_STRATEGY"] == "clone"
    for name, job in gitlab.items():
        if isinstance(job, dict) and "script" in job:
            assert job.get("variables", {}).get("GIT_STRATEGY", "clone") == "clone", name


def test_the_examples_never_upload_a_report_the_run_did_not_write() -> None:
    """A run that stops with exit 2 writes no report: an upload with ``if: always()`` of a path
    in the checkout, or GitLab's ``when: always`` artifacts, then took a report committed
    to the repository for this run's (a clean SARIF, a JUnit file of passes)."""
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "github-workflow.yml").read_text())
    gate = workflow["jobs"]["merge-gate"]["steps"]
    upload = next(s for s in gate if s.get("uses", "").startswith("github/codeql-action"))
    assert upload["with"]["sarif_file"].startswith("${{ runner.temp }}/")
    run = next(s for s in gate if s.get("uses", "").startswith("knightwatch/"))
    assert f"-o {upload['with']['sarif_file']}" in run["with"]["args"]
    gitlab = yaml.safe_load((ROOT / "docs" / "examples" / "gitlab-ci.yml").read_text())
    for name, job in gitlab.items():
        if not (isinstance(job, dict) and "artifacts" in job):
            continue
        written = set(re.findall(r"-o (\S+)", " ".join(job["script"])))
        assert written, name
        check = next(i for i, line in enumerate(job["script"]) if "knightwatch check" in line)
        removed = {
            word for line in job["script"][:check] if line.startswith("rm -f ")
            for word in line.split()[2:]
        }  # fmt: skip
        assert written <= removed, name


def test_the_action_runs_nothing_of_the_checkout_before_its_gate(tmp_path: Path) -> None:
    """The action's steps run in the checkout of the change judged. ``python -m pip`` puts the
    working directory first on Python's path: a pull request that added ``pip/__main__.py``
    ran its own code in place of pip, before its gate (and could replace the gate's command
    with one that exits 0)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install knightwatch")
    checkout = tmp_path / "checkout"
    (checkout / "pip").mkdir(parents=True)
    marker = tmp_path / "ran"
    (checkout / "pip" / "__init__.py").write_text("")
    (checkout / "pip" / "__main__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    action_path = tmp_path / "action"  # no project: the real pip refuses it, and says so
    action_path.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GITHUB_ACTION_PATH": str(action_path)}
    result = subprocess.run(
        ["bash", "-c", install["run"]],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert not marker.exists(), "the checkout's pip/ ran in place of pip"
    assert "is not installable" in result.stderr, result.stderr
