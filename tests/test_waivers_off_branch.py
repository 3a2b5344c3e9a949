"""REVIEW-003's waiver is not for whoever wrote what shipped off the protected branch: an
approver the auditor names who wrote, committed or co-wrote a commit a deployment shipped
from outside the branch waived its finding, and the audit signed a pass. A real repository
with a side branch, the real engine, the real command line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

WAIVER = "REVIEW-003:hotfix-1"
OWN = "not applied: lee@example.com wrote what shipped off the protected branch in hotfix-1"


def _side(tmp_path: Path, written: str) -> tuple[ScriptedRepo, list[str]]:
    """main with Dana's reviewed commit; a side branch off it whose commits Lee had a hand in
    as ``written`` says, reviewed by Dana; main checked out again."""
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit("base", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    repo.branch("side")
    repo.checkout("side")
    at = "2024-01-02T00:00:00Z"
    if written == "author":
        side = [repo.commit("lee's fix", {"a": "2\n"}, author=LEAD, date=at)]
    elif written == "committer":
        side = [repo.commit("fix", {"a": "2\n"}, author=DEV, date=at, committer=(LEAD, at))]
    else:  # beneath Dana's tip: the deployed commit alone names Dana
        side = [repo.commit("lee's fix", {"a": "2\n"}, author=LEAD, date=at)]
        side.append(repo.commit("tidy", {"b": "1\n"}, author=DEV, date="2024-01-03T00:00:00Z"))
    repo.checkout("main")
    return repo, [base, *side]


def _audit(tmp_path: Path, written: str, approver: str) -> CliResult:
    """Ops deploys the side branch's tip, approved by Dana; its one finding is REVIEW-003,
    waived by ``approver``, whom the auditor names with the CRO."""
    repo, (base, *side) = _side(tmp_path, written)
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [
        deployment("hotfix-0", base, "2024-01-20T00:00:00Z",
                   approvals=[{"by": "dana@example.com"}]),
        deployment("hotfix-1", side[-1], "2024-02-01T00:00:00Z",
                   approvals=[{"by": "dana@example.com"}]),
    ])  # fmt: skip
    write_yaml(evidence / "reviews.yaml", [
        {"change": "1", "author": "dana@example.com", "commits": [base],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-01T10:00:00Z"}]},
        {"change": "2", "author": "lee@example.com", "commits": side,
         "approvals": [{"by": "cro@example.com", "at": "2024-01-04T00:00:00Z"}]},
    ])  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "REVIEW-003", "subject": "hotfix-1", "reason": "INC-7781 from a branch",
         "approved_by": approver, "expires": "2024-06-01"},
    ])  # fmt: skip
    auditor = write_yaml(
        tmp_path / "auditor.yaml", {"waiver_approvers": ["lee@example.com", "cro@example.com"]}
    )
    assert run_cli("keygen", "--output", tmp_path / "k").code == 0
    return run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2024-02",
        "--as-of", "2024-03-01", "--key", tmp_path / "k.key", "--config", auditor,
        "-o", tmp_path / "feb.json",
    )  # fmt: skip


def _messages(tmp_path: Path) -> dict[str, str]:
    verified = run_cli("verify", tmp_path / "feb.json", "--key", tmp_path / "k.pub")
    assert verified.code in (0, 1), verified.err
    envelope = json.loads((tmp_path / "feb.json").read_text())
    report = json.loads(base64.b64decode(envelope["payload"]))["predicate"]["report"]
    return {f"{f['rule']}:{f['subject']}": f["message"] for f in report["findings"]}


@pytest.mark.parametrize("written", ["author", "committer", "beneath"])
def test_whoever_wrote_what_shipped_off_the_branch_cannot_waive_it(
    tmp_path: Path, written: str
) -> None:
    """Lee wrote the deployed commit, committed it under Dana's name, or wrote a commit beneath
    Dana's tip on the side branch; the deployment shipped it from outside main. Lee's waiver
    of its REVIEW-003 was applied (exit 0): the exception excused Lee's own way round the
    branch's review and merge controls."""
    result = _audit(tmp_path, written, "lee@example.com")
    assert result.code == 1, result.err
    messages = _messages(tmp_path)
    assert "not reachable from the protected branch main" in messages["REVIEW-003:hotfix-1"]
    assert OWN in messages[f"WAIVER-001:{WAIVER}"]


def test_another_approver_still_waives_it(tmp_path: Path) -> None:
    """The CRO, who wrote none of it, may: the finding stays in the report, waived."""
    result = _audit(tmp_path, "author", "cro@example.com")
    assert result.code == 0, result.err
    assert f"WAIVER-001:{WAIVER}" not in _messages(tmp_path)


def test_a_gate_refuses_it_too(tmp_path: Path) -> None:
    """At a gate the candidate is the deployment: Lee's commit beneath Dana's tip of the side
    branch, waived by Lee, passed the gate (exit 0). The gate reads only the candidate's
    commits, and asks the branch of each of them."""
    repo, (base, *side) = _side(tmp_path, "beneath")
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [
        deployment("hotfix-0", base, "2024-01-20T00:00:00Z",
                   approvals=[{"by": "dana@example.com"}]),
    ])  # fmt: skip
    write_yaml(evidence / "reviews.yaml", [
        {"change": "1", "author": "dana@example.com", "commits": [base],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-01T10:00:00Z"}]},
        {"change": "2", "author": "lee@example.com", "commits": side,
         "approvals": [{"by": "cro@example.com", "at": "2024-01-04T00:00:00Z"}]},
    ])  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "REVIEW-003", "subject": "candidate", "reason": "INC-7781 from a branch",
         "approved_by": "lee@example.com", "expires": "2024-06-01"},
    ])  # fmt: skip
    auditor = write_yaml(tmp_path / "auditor.yaml", {"waiver_approvers": ["lee@example.com"]})
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--candidate", side[-1],
        "--service", "web", "--format", "json", "--as-of", "2024-02-01", "--config", auditor,
    )  # fmt: skip
    assert result.code == 1, result.err + result.out
    waived = {(f["rule"], f["subject"]): f["waived"] for f in result.json()["findings"]}
    assert waived == {("REVIEW-003", "candidate"): False}


def test_a_writer_whose_commit_shipped_first_in_an_earlier_deployment_cannot_waive_it(
    tmp_path: Path,
) -> None:
    """Lee's side-branch commit shipped first in January (hotfix-0); February's hotfix-1
    shipped Dana's commit on top of it, still off main. Only hotfix-1's range (Dana's commit)
    was read for its writers, so Lee's waiver of its REVIEW-003 was applied and the February
    audit signed a pass (exit 0), though what hotfix-1 runs off the branch is Lee's too."""
    repo, (base, lees, tidy) = _side(tmp_path, "beneath")
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [
        deployment("hotfix-0", lees, "2024-01-20T00:00:00Z",
                   approvals=[{"by": "dana@example.com"}]),
        deployment("hotfix-1", tidy, "2024-02-01T00:00:00Z",
                   approvals=[{"by": "dana@example.com"}]),
    ])  # fmt: skip
    write_yaml(evidence / "reviews.yaml", [
        {"change": "1", "author": "dana@example.com", "commits": [base],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-01T10:00:00Z"}]},
        {"change": "2", "author": "lee@example.com", "commits": [lees, tidy],
         "approvals": [{"by": "cro@example.com", "at": "2024-01-04T00:00:00Z"}]},
    ])  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "REVIEW-003", "subject": "hotfix-1", "reason": "INC-7781 from a branch",
         "approved_by": "lee@example.com", "expires": "2024-06-01"},
    ])  # fmt: skip
    auditor = write_yaml(
        tmp_path / "auditor.yaml", {"waiver_approvers": ["lee@example.com", "cro@example.com"]}
    )
    assert run_cli("keygen", "--output", tmp_path / "k").code == 0
    result = run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2024-02",
        "--as-of", "2024-03-01", "--key", tmp_path / "k.key", "--config", auditor,
        "-o", tmp_path / "feb.json",
    )  # fmt: skip
    assert result.code == 1, result.err
    assert OWN in _messages(tmp_path)[f"WAIVER-001:{WAIVER}"]


def test_a_gate_reads_what_an_earlier_deployment_shipped_off_the_branch(tmp_path: Path) -> None:
    """At the gate too: Lee's side-branch commit was deployed first (hotfix-0), and the
    candidate is Dana's commit on top of it. The candidate's range held Dana's commit alone,
    and Lee's waiver of its REVIEW-003 was applied: the gate passed it."""
    repo, (_base, lees, tidy) = _side(tmp_path, "beneath")
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [
        deployment("hotfix-0", lees, "2024-01-20T00:00:00Z",
                   approvals=[{"by": "dana@example.com"}]),
    ])  # fmt: skip
    write_yaml(evidence / "reviews.yaml", [
        {"change": "2", "author": "lee@example.com", "commits": [lees, tidy],
         "approvals": [{"by": "cro@example.com", "at": "2024-01-04T00:00:00Z"}]},
    ])  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "REVIEW-003", "subject": "candidate", "reason": "INC-7781 from a branch",
         "approved_by": "lee@example.com", "expires": "2024-06-01"},
    ])  # fmt: skip
    auditor = write_yaml(tmp_path / "auditor.yaml", {"waiver_approvers": ["lee@example.com"]})
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--candidate", tidy,
        "--service", "web", "--format", "json", "--as-of", "2024-02-01", "--config", auditor,
    )  # fmt: skip
    assert result.code == 1, result.err + result.out
    waived = {(f["rule"], f["subject"]): f["waived"] for f in result.json()["findings"]}
    assert waived == {("REVIEW-003", "candidate"): False}
