"""Waivers end to end: globs, expiry on both sides of the date, WAIVER-001, marking everywhere."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.demo.knight import build_knight
from checker.evidence.identities import IdentityResolver
from checker.evidence.models import Waiver
from checker.report.model import Finding
from checker.waivers import apply_waivers, subject_problem
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    """Two unapproved deployments and one unreviewed commit: three high findings."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment("hotfix-1", sha, "2024-02-01T00:00:00Z"),
            deployment("hotfix-2", sha, "2024-02-02T00:00:00Z"),
        ],
    )
    return repo.path, tmp_path / "ev"


def _head(case: tuple[Path, Path]) -> str:
    return subprocess.run(
        ["git", "-C", str(case[0]), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def waivers(evidence: Path, *entries: dict[str, str], **common: str) -> None:
    base = {"reason": "INC-7781 emergency", "approved_by": "cro@example.com", **common}
    write_yaml(evidence / "waivers.yaml", [{**base, **e} for e in entries])


def check(case: tuple[Path, Path], as_of: str, *extra: str) -> CliResult:
    repo, evidence = case
    return run_cli(
        "check",
        "--repo",
        repo,
        "--evidence",
        evidence,
        "--format",
        "json",
        "--as-of",
        as_of,
        *extra,
    )


def marked(result: CliResult) -> dict[tuple[str, str], bool]:
    return {(f["rule"], f["subject"]): f["waived"] for f in result.json()["findings"]}


def test_a_glob_waiver_marks_findings_and_they_stop_failing(case: tuple[Path, Path]) -> None:
    waivers(case[1], {"rule": "REVIEW-001", "subject": "hotfix-*", "expires": "2024-03-01"})
    result = check(case, "2024-03-01")  # the expiry day itself: still live
    got = marked(result)
    assert got[("REVIEW-001", "hotfix-1")] is True
    assert got[("REVIEW-001", "hotfix-2")] is True
    assert [k for k, v in got.items() if not v] == [
        ("REVIEW-002", next(s for r, s in got if r == "REVIEW-002"))
    ]
    assert result.code == 1  # REVIEW-002 still fails
    assert result.json()["summary"]["waived"] == 2
    text = run_cli("check", "--repo", case[0], "--evidence", case[1], "--as-of", "2024-03-01")
    assert text.out.count("(waived)") == 2


def test_waivers_can_make_a_check_pass_but_findings_stay(case: tuple[Path, Path]) -> None:
    waivers(
        case[1],
        {"rule": "REVIEW-001", "subject": "hotfix-?", "expires": "2024-03-01"},
        {"rule": "REVIEW-002", "subject": _head(case), "expires": "2024-03-01"},
    )
    result = check(case, "2024-02-15")
    assert result.code == 0, result.out
    report = result.json()
    assert report["verdict"] == "pass"
    assert len(report["findings"]) == 3 and all(f["waived"] for f in report["findings"])


def test_an_expired_waiver_waives_nothing_and_is_reported(case: tuple[Path, Path]) -> None:
    waivers(case[1], {"rule": "REVIEW-001", "subject": "hotfix-1", "expires": "2024-03-01"})
    result = check(case, "2024-03-02")  # the day after expiry
    got = marked(result)
    assert got[("REVIEW-001", "hotfix-1")] is False
    assert ("WAIVER-001", "REVIEW-001:hotfix-1") in got
    message = next(f["message"] for f in result.json()["findings"] if f["rule"] == "WAIVER-001")
    assert message == (
        "Waiver for REVIEW-001:hotfix-1 (approved by cro@example.com: INC-7781 emergency) "
        "expired on 2024-03-01 and waives nothing."
    )


def test_a_waiver_matching_nothing_is_reported(case: tuple[Path, Path]) -> None:
    waivers(case[1], {"rule": "FLEET-001", "subject": "hotfix-1:*", "expires": "2024-12-01"})
    result = check(case, "2024-03-01")
    assert ("WAIVER-001", "FLEET-001:hotfix-1:*") in marked(result)
    finding = next(f for f in result.json()["findings"] if f["rule"] == "WAIVER-001")
    assert finding["message"].endswith("matches no finding.")
    assert finding["severity"] == "medium"


def test_without_waivers_waiver_001_is_evaluated_and_silent(case: tuple[Path, Path]) -> None:
    result = check(case, "2024-03-01")
    statuses = {r["id"]: r["status"] for r in result.json()["summary"]["rules"]}
    assert statuses["WAIVER-001"] == "evaluated"
    assert not any(f["rule"] == "WAIVER-001" for f in result.json()["findings"])


def _finding(subject: str, *parts: str) -> Finding:
    return Finding(rule="FLEET-001", severity="critical", subject=subject, message="m",
                   controls=(), title="t", parts=parts)  # fmt: skip


@pytest.mark.parametrize(
    ("glob", "covered"),
    [
        ("*:web-2:9100", ["D2:web-2:9100", "D3:web-2:9100", "rel:1:web-2:9100"]),
        ("D3:*", ["D3:web-2:9100", "D3:web-3", "D3:web-3:9100"]),
        ("*:9100", []),  # the whole subject's *:9100 was every host on port 9100
        ("D*:9100", []),
        ("rel:*", []),  # the whole subject's rel:* was every deployment rel:N
        ("rel:1:web-3", ["rel:1:web-3"]),  # exact: the subject itself
    ],
)
def test_a_glob_is_matched_part_by_part(glob: str, covered: list[str]) -> None:
    """Hosts written host:port and ids holding ':' hold the separator: a wildcard covers the
    characters of its own part only."""
    findings = [
        _finding(f"{d}:{h}", d, h)
        for d in ("D2", "D3", "rel:1") for h in ("web-2:9100", "web-3:9100", "web-3")
    ]  # fmt: skip
    waiver = Waiver(rule="FLEET-001", subject=glob, reason="r", approved_by="cro@example.com",
                    expires=date(2024, 12, 31))  # fmt: skip
    marked, _ = apply_waivers([waiver], findings, date(2024, 3, 1), IdentityResolver())
    assert sorted(f.subject for f in marked if f.waived) == covered


@pytest.mark.parametrize(
    ("template", "subject", "refused"),
    [
        ("{commit}", "3f9c2e1*", True),  # a short sha: 28 bits, found for any commit in seconds
        ("{commit}", "3f9c2e1a7d40b6e5*", True),
        ("{commit}", "3f9c2e1a7d40b6e5c0f1a2b3c4d5e6f708192a3b", False),
        ("{commit}:{path}", "3f9c2e1*:flags.yaml", True),
        ("{commit}:{path}", "3f9c2e1a7d40b6e5c0f1a2b3c4d5e6f708192a3b:*", False),
        ("{commit}:{path}", "3f9c2e1a7d40b6e5c0f1a2b3c4d5e6f708192a3b:ops/*.yaml", False),
    ],
)
def test_a_commit_in_a_waiver_is_named_by_its_full_sha(
    template: str, subject: str, refused: bool
) -> None:
    """An emergency fix waived as ``a404ccc*``: its author made an unreviewed commit start
    with the same seven hex digits by varying a word of its message (a few seconds of
    hashing), and the waiver covered it too, in a signed pass."""
    problem = subject_problem(template, subject, ["REVIEW-002", "DEAD-006"])
    assert (problem is not None) is refused, problem


def test_a_waiver_approved_by_whom_it_excuses_waives_nothing(case: tuple[Path, Path]) -> None:
    """REVIEW-001 asks for a second person between a deployer and production, REVIEW-002
    between an author and production. A waiver of a deployment's finding approved by its own
    deployer (under another spelling of the address, too), or of a commit's by its author,
    is that one person excusing themself: it was applied, and the check passed (exit 0)."""
    waivers(
        case[1],
        {"rule": "REVIEW-001", "subject": "hotfix-1", "approved_by": "OPS+cab@Example.com"},
        {"rule": "REVIEW-002", "subject": _head(case), "approved_by": "dana@example.com"},
        {"rule": "REVIEW-001", "subject": "hotfix-2", "approved_by": "lee@example.com"},
        expires="2024-06-01",
    )
    result = check(case, "2024-03-01")
    assert result.code == 1, result.out
    got = marked(result)
    assert got[("REVIEW-001", "hotfix-1")] is False
    assert got[("REVIEW-002", _head(case))] is False
    assert got[("REVIEW-001", "hotfix-2")] is True  # approved by someone else: applied
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    assert messages["REVIEW-001:hotfix-1"].endswith(
        "not applied: OPS+cab@Example.com deployed hotfix-1, which it covers; an exception is "
        "approved by someone other than whom it excuses."
    )
    assert (
        f"dana@example.com wrote {_head(case)}, which it covers"
        in (messages[f"REVIEW-002:{_head(case)}"])
    )


def test_a_co_author_cannot_waive_the_commit_they_co_wrote(tmp_path: Path) -> None:
    """A co-author (``Co-authored-by:``) wrote the commit as its author did: their review of it
    does not count as a second person's. Their waiver of its REVIEW-002 was applied all the
    same, by a check and by an audit whose auditor names them among the approvers (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "fix", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z",
        trailers=("Co-authored-by: Lee Lead <Lee.Lead+pair@Example.com>",),
    )  # fmt: skip
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [deployment("hotfix-1", sha, "2024-02-01T00:00:00Z")])
    waivers(
        evidence,
        {"rule": "REVIEW-002", "subject": sha, "approved_by": "lee.lead@example.com"},
        expires="2024-06-01",
    )
    (tmp_path / "auditor.yaml").write_text("waiver_approvers: [lee.lead@example.com]\n")
    result = check((repo.path, evidence), "2024-03-01", "--config", tmp_path / "auditor.yaml")
    assert result.code == 1, result.out
    assert marked(result)[("REVIEW-002", sha)] is False
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    assert (
        f"not applied: lee.lead@example.com wrote {sha}, which it covers"
        in (messages[f"REVIEW-002:{sha}"])
    )


def test_whoever_switched_a_flag_cannot_waive_its_finding(tmp_path: Path) -> None:
    """FLEET-003 and DEAD-007 judge a flag event, whose subject is ``FLAG@AT``: Knight's
    ops@knight.example switched power_peg on over a mixed fleet. Their own waiver of it (under
    another spelling, too) was applied (the findings marked waived); another's still is."""
    case = build_knight(tmp_path / "knight")
    event = "power_peg@2012-08-01T13:30:00Z"
    waivers(
        case.repo / "compliance",
        {"rule": "FLEET-003", "subject": event, "approved_by": "ops@knight.example"},
        {"rule": "DEAD-007", "subject": event, "approved_by": "Ops+cab@Knight.example"},
        expires="2012-12-31",
    )
    result = check((case.repo, case.repo / "compliance"), "2012-08-02")
    got = marked(result)
    assert got[("FLEET-003", event)] is False and got[("DEAD-007", event)] is False
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    assert (
        f"not applied: ops@knight.example switched {event}, which it covers"
        in (messages[f"FLEET-003:{event}"])
    )
    waivers(
        case.repo / "compliance",
        {"rule": "FLEET-003", "subject": event, "approved_by": "cro@knight.example"},
        expires="2012-12-31",
    )
    assert marked(check((case.repo, case.repo / "compliance"), "2012-08-02"))[("FLEET-003", event)]


def _repurposed(tmp_path: Path) -> tuple[Path, Path]:
    """power_peg retired by Dana, then written active again for a new purpose by Lee, with
    Kim as co-author (the .mailmap joins lee@ops.example to Lee's address)."""
    repo = ScriptedRepo(tmp_path / "repo")

    def registry(status: str, purpose: str) -> str:
        entry = {"name": "power_peg", "purpose": purpose, "owner": "t", "status": status}
        return yaml.safe_dump({"flags": [{**entry, "created": "2023-12-01"}]})

    reviewed = ("Reviewed-by: Kim <kim@example.com>",)
    files = {"flags.yaml": registry("active", "Power Peg"), ".mailmap": MAILMAP}
    repo.commit("add", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=reviewed)
    retired = {"flags.yaml": registry("retired", "Power Peg")}
    repo.commit("retire", retired, author=DEV, date="2024-01-02T00:00:00Z", trailers=reviewed)
    sha = repo.commit(
        "reuse", {"flags.yaml": registry("active", "RLP routing")}, author=LEAD,
        date="2024-01-03T00:00:00Z",
        trailers=(f"Reviewed-by: {DEV}", "Co-authored-by: Kim <kim@example.com>"),
    )  # fmt: skip
    approved = [{"by": "kim@example.com", "at": "2024-01-04T00:00:00Z"}]
    record = deployment("D1", sha, "2024-01-05T00:00:00Z", approvals=approved)
    write_yaml(tmp_path / "ev" / "deploys.yaml", [record])
    return repo.path, tmp_path / "ev"


MAILMAP = "Lee Lead <lee@example.com> <lee@ops.example>\n"


@pytest.mark.parametrize(
    ("approver", "subject"),
    [
        ("Lee+cab@Example.com", "power_peg"),
        ("lee@ops.example", "power_peg"),
        ("kim@example.com", "power_*"),
    ],
)
def test_whoever_repurposed_a_flag_cannot_waive_its_finding(
    tmp_path: Path, approver: str, subject: str
) -> None:
    """DEAD-002's subject is the flag; Lee wrote it active again for a new purpose (Kim
    co-wrote the commit). Lee's waiver of that finding, under any of Lee's addresses, and
    Kim's, by name or by a glob, were applied, and the check passed (exit 0)."""
    case = _repurposed(tmp_path)
    waivers(
        case[1],
        {"rule": "DEAD-002", "subject": subject},
        approved_by=approver,
        expires="2024-06-01",
    )
    result = check(case, "2024-02-01")
    assert result.code == 1, result.err
    assert marked(result)[("DEAD-002", "power_peg")] is False
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    said = messages[f"DEAD-002:{subject}"]
    assert f"not applied: {approver} repurposed power_peg, which it covers" in said
    waivers(case[1], {"rule": "DEAD-002", "subject": "power_peg"}, expires="2024-06-01")
    result = check(case, "2024-02-01")
    assert result.code == 0, result.out
    assert marked(result)[("DEAD-002", "power_peg")] is True


def test_whoever_wrote_an_unreadable_registry_cannot_waive_its_finding(tmp_path: Path) -> None:
    """Lee wrote a registry version that does not parse, in a commit no deployment shipped
    (it is not in the range judged). DEAD-006 names that commit; Lee's waiver of it was
    applied and the check passed (exit 0): only shipped commits' authors were compared, and
    the finding gave its commit no part of its own."""
    repo = ScriptedRepo(tmp_path / "repo")
    registry = yaml.safe_dump({"flags": []})
    repo.commit("add", {"flags.yaml": registry}, author=DEV, date="2024-01-01T00:00:00Z")
    bad = repo.commit(
        "oops", {"flags.yaml": "flags: [\n"}, author=LEAD, date="2024-01-02T00:00:00Z"
    )
    sha = repo.commit(
        "fix", {"flags.yaml": registry}, author=DEV, date="2024-01-03T00:00:00Z",
        trailers=("Reviewed-by: Kim <kim@example.com>",),
    )  # fmt: skip
    approved = [{"by": "kim@example.com", "at": "2024-01-04T00:00:00Z"}]
    record = deployment("D1", sha, "2024-01-05T00:00:00Z", approvals=approved)
    write_yaml(tmp_path / "ev" / "deploys.yaml", [record])
    case = (repo.path, tmp_path / "ev")
    for subject in (f"{bad}:flags.yaml", f"{bad}:*"):
        waivers(
            case[1], {"rule": "DEAD-006", "subject": subject},
            approved_by="lee@example.com", expires="2024-06-01",
        )  # fmt: skip
        result = check(case, "2024-02-01")
        assert result.code == 1, result.err
        assert marked(result)[("DEAD-006", f"{bad}:flags.yaml")] is False
        said = {f["subject"]: f["message"] for f in result.json()["findings"]}
        assert f"not applied: lee@example.com wrote {bad}" in said[f"DEAD-006:{subject}"]
    waivers(case[1], {"rule": "DEAD-006", "subject": f"{bad}:flags.yaml"}, expires="2024-06-01")
    assert check(case, "2024-02-01").code == 0


@pytest.mark.parametrize(
    ("deployer", "approver"),
    [("lee@ops.example", "lee@example.com"), ("lee@example.com", "lee@ops.example")],
)
def test_a_deployer_joined_to_the_approver_by_mailmap_cannot_waive(
    tmp_path: Path, deployer: str, approver: str
) -> None:
    """The repository's .mailmap joins lee@ops.example to lee@example.com, and REVIEW-001
    judges by it (an approval by one is the other's own). A waiver of the deployment's
    REVIEW-001 by either address, the auditor naming it, was applied and the check passed
    (exit 0): the waiver's approver was matched with identities.yaml alone."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit(
        "mailmap", {".mailmap": "Lee Lead <lee@example.com> <lee@ops.example>\n"},
        author=DEV, date="2023-12-01T00:00:00Z",
    )  # fmt: skip
    sha = repo.commit(
        "fix", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z",
        trailers=("Reviewed-by: Kim <kim@example.com>",),
    )  # fmt: skip
    evidence = tmp_path / "ev"
    record = deployment("hotfix-1", sha, "2024-02-01T00:00:00Z", deployer=deployer)
    write_yaml(evidence / "deploys.yaml", [record])
    waivers(
        evidence,
        {"rule": "REVIEW-001", "subject": "hotfix-1", "approved_by": approver},
        expires="2024-06-01",
    )
    (tmp_path / "auditor.yaml").write_text(f"waiver_approvers: [{approver}]\n")
    result = check((repo.path, evidence), "2024-03-01", "--config", tmp_path / "auditor.yaml")
    assert result.code == 1, result.out
    assert marked(result)[("REVIEW-001", "hotfix-1")] is False
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    assert f"not applied: {approver} deployed hotfix-1" in messages["REVIEW-001:hotfix-1"]


def test_an_audit_refuses_its_approvers_own_exception(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    """The auditor names the approvers; one of them also deploys. Their waiver of their own
    unapproved deployment was applied and the audit signed a pass (exit 0)."""
    repo, evidence = case
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("hotfix-1", _head(case), "2024-02-01T00:00:00Z", deployer=LEAD)],
    )
    write_yaml(evidence / "reviews.yaml", [
        {"change": "1", "author": "dana@example.com", "commits": [_head(case)],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-02T00:00:00Z"}]},
    ])  # fmt: skip
    waivers(
        evidence,
        {"rule": "REVIEW-001", "subject": "hotfix-1", "approved_by": LEAD},
        expires="2024-06-01",
    )
    (tmp_path / "auditor.yaml").write_text("waiver_approvers: [lee@example.com]\n")
    run_cli("keygen", "--output", tmp_path / "k")
    out = tmp_path / "feb.json"
    result = run_cli(
        "audit", "--repo", repo, "--evidence", evidence, "--period", "2024-02", "--as-of",
        "2024-03-01", "--key", tmp_path / "k.key", "--config", tmp_path / "auditor.yaml",
        "-o", out,
    )  # fmt: skip
    assert result.code == 1, result.err
    verified = run_cli("verify", out, "--key", tmp_path / "k.pub")
    assert "verdict fail; 2 findings;" in verified.out, verified.out
