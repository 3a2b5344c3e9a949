"""End to end: `knightwatch check` on a scripted repository reports exactly the REVIEW rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.bundle import load_evidence
from checker.evidence.git import GitHistory
from checker.facts import review
from checker.facts.streams import Streams
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml
from tests.facts.scenario import Scenario, build_scenario

Case = Scenario


def build_case(root: Path, *, jsonl: bool = False) -> Scenario:
    """Every edge the review rules name (scenarios/review); see the expected sets below."""
    return build_scenario("review", root, jsonl=jsonl)


def findings_of(result_json: dict[str, object]) -> set[tuple[str, str]]:
    findings = result_json["findings"]
    assert isinstance(findings, list)
    return {(f["rule"], f["subject"]) for f in findings}


def check_json(case: Case, *extra: str | Path) -> CliResult:
    """``knightwatch check`` on a case, JSON on stdout."""
    return run_cli(
        "check", "--repo", case.repo.path, "--evidence", case.evidence, "--format", "json", *extra
    )


def expected(case: Case, *extra: tuple[str, str]) -> set[tuple[str, str]]:
    s = case.shas
    return {
        ("REVIEW-001", "D1"),  # no approval at all
        ("REVIEW-001", "D4"),  # approved only by its deployer (another case of the address)
        ("REVIEW-001", "D5"),  # approved an hour after it started
        ("REVIEW-002", s["c2"]),  # trailer names the author
        ("REVIEW-002", s["c3"]),  # trailer names the author's other address
        ("REVIEW-002", s["c6b"]),  # pushed after the only approval of its change
        ("REVIEW-003", "D6"),  # deployed from a branch never merged
        *extra,
    }


@pytest.mark.parametrize("jsonl", [False, True], ids=["yaml", "jsonl"])
def test_check_reports_exactly_the_review_findings(tmp_path: Path, jsonl: bool) -> None:
    case = build_case(tmp_path, jsonl=jsonl)
    out = tmp_path / "out.json"
    result = check_json(case, "-o", out, "--as-of", "2024-03-01")
    assert result.code == 1, result.err
    report = json.loads(out.read_text())
    assert findings_of(report) == expected(case)
    assert report["verdict"] == "fail"
    assert report["schema"] == "knightwatch/report/v1"
    assert report["inputs"]["repository"]["head"] == case.shas["c6b"]
    c3 = next(f for f in report["findings"] if f["subject"] == case.shas["c3"])
    assert "D2, D3" in c3["message"]  # one finding, naming both deployments that shipped it
    assert all(f["waived"] is False and f["controls"] for f in report["findings"])
    assert "report written to" in result.err


def test_baseline_starts_the_first_range(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    result = check_json(case, "--baseline", case.shas["c0"])
    assert result.code == 1, result.err
    # With a baseline D1 shipped c1 and c2; without one, c2 alone (the test above).
    assert findings_of(result.json()) == expected(case, ("REVIEW-002", case.shas["c1"]))
    assert result.json()["parameters"]["baseline"] == case.shas["c0"]


def test_baseline_and_branch_from_knightwatch_yaml(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    (case.repo.path / "knightwatch.yaml").write_text(
        f"baseline: {case.shas['c0']}\nprotected_branch: feature\n"
    )
    result = check_json(case)
    assert result.code == 1, result.err
    got = findings_of(result.json())
    # On 'feature', D6 is on the protected branch and every main deployment after c1 is not.
    assert ("REVIEW-003", "D6") not in got
    assert {s for r, s in got if r == "REVIEW-003"} == {"D1", "D2", "D3", "D4", "D5", "D7"}
    assert ("REVIEW-002", case.shas["c1"]) in got
    files = result.json()["inputs"]["files"]
    assert {k: v for k, v in files[0].items() if k != "sha256"} == {
        "role": "config",
        "path": "knightwatch.yaml",
    }


def test_flags_win_over_knightwatch_yaml(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    (case.repo.path / "knightwatch.yaml").write_text("protected_branch: feature\n")
    result = check_json(case, "--protected-branch", "main")
    assert findings_of(result.json()) == expected(case)


def test_clean_history_passes(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "ok",
        {"a": "1\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment(
                "D1",
                sha,
                "2024-02-01T00:00:00Z",
                approvals=[{"by": "lee@example.com", "at": "2024-01-31T00:00:00Z"}],
            ),
        ],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json"
    )
    assert result.code == 0, result.err
    assert result.json()["verdict"] == "pass"
    assert result.json()["findings"] == []


def test_fail_on_critical_passes_high_findings(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    result = check_json(case, "--fail-on", "critical")
    assert result.code == 0
    report = result.json()
    assert report["verdict"] == "pass"
    assert report["fail_on"] == "critical"
    assert len(report["findings"]) == 7  # still reported, just not failing


def test_default_evidence_dir_is_compliance_in_the_repo(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    case.evidence.rename(case.repo.path / "compliance")
    result = run_cli("check", "--repo", case.repo.path, "--format", "json")
    assert result.code == 1, result.err
    assert findings_of(result.json()) == expected(case)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    first = build_case(tmp_path / "a")
    second = build_case(tmp_path / "b")
    outputs = []
    for case, name in ((first, "a"), (second, "b")):
        for fmt in ("json", "text"):
            out = tmp_path / f"{name}.{fmt}"
            run_cli(
                "check",
                "--repo",
                case.repo.path,
                "--evidence",
                case.evidence,
                "--format",
                fmt,
                "-o",
                out,
                "--as-of",
                "2024-03-01",
            )
            outputs.append(out.read_bytes())
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]
    assert first.shas == second.shas  # fixed dates: the same shas on every machine


def _shared_month(root: Path) -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """Two services deploying the same three commits, and a third deploying two of them:
    c2 carries no review."""
    repo = ScriptedRepo(root / "repo")
    shas = {
        name: repo.commit(
            name,
            {"app.py": f"{name}\n"},
            author=DEV,
            date=f"2026-09-0{n + 1}T09:00:00Z",
            trailers=() if name == "c2" else (f"Reviewed-by: {LEAD}",),
        )
        for n, name in enumerate(["c1", "c2", "c3"])
    }
    records = [
        deployment(f"{service}-{k}", shas[c], f"2026-10-0{k + 1}T09:00:00Z", service=service)
        for service, commits in (("web", "c1 c2 c3"), ("api", "c1 c2 c3"), ("db", "c1 c3"))
        for k, c in enumerate(commits.split())
    ]
    evidence = write_yaml(root / "evidence" / "deploys.yaml", records).parent
    return repo, evidence, shas


def test_a_range_many_services_ship_is_walked_once(tmp_path: Path) -> None:
    """Each distinct (tip, previous) pair is walked once and its answer is the same as
    walking it for each deployment; the commits name every deployment that shipped them."""
    repo, evidence, s = _shared_month(tmp_path)
    history = GitHistory(repo.path)
    history.load(list(s.values()))
    deployments = load_evidence(evidence).deployments
    deployed = {d.id: d.commit for d in deployments}
    walked: list[tuple[str, str]] = []
    real_range = history.range

    def counted(tip: str, exclude: str) -> list[str]:
        walked.append((tip, exclude))
        return real_range(tip, exclude)

    history.range = counted  # type: ignore[method-assign]
    ranges, starts = review.shipped_ranges(history, Streams(deployments), deployed, None)
    history.close()
    assert sorted(walked) == sorted({(s["c2"], s["c1"]), (s["c3"], s["c2"]), (s["c3"], s["c1"])})
    assert {d for d, start in starts.items() if start is None} == {"web-0", "api-0", "db-0"}
    assert ranges == {
        "web-0": [s["c1"]], "api-0": [s["c1"]], "db-0": [s["c1"]],
        "web-1": [s["c2"]], "api-1": [s["c2"]],
        "web-2": [s["c3"]], "api-2": [s["c3"]],
        "db-1": sorted([s["c2"], s["c3"]]),
    }  # fmt: skip
    result = check_json(Case(repo=repo, evidence=evidence, shas=s))
    unreviewed = [f for f in result.json()["findings"] if f["rule"] == "REVIEW-002"]
    assert [f["subject"] for f in unreviewed] == [s["c2"]]
    assert "shipped by api-1, db-1, web-1 with" in unreviewed[0]["message"]
