"""End to end: the FLEET rules firing and not firing at each of their edges."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

HOSTS = ["w1", "w2", "w3", "w4", "w5"]
APPROVAL = [{"by": "lee@example.com", "at": "2024-02-29T00:00:00Z"}]


@dataclass
class Case:
    repo: Path
    evidence: Path
    v1: str
    v2: str


def ok(*hosts: str) -> list[dict[str, str]]:
    return [{"host": h, "status": "succeeded"} for h in hosts]


def build(root: Path) -> Case:
    repo = ScriptedRepo(root / "repo")
    review = (f"Reviewed-by: {LEAD}",)
    v1 = repo.commit("v1", {"app": "1"}, author=DEV, date="2024-02-01T00:00:00Z", trailers=review)
    v2 = repo.commit("v2", {"app": "2"}, author=DEV, date="2024-02-02T00:00:00Z", trailers=review)
    evidence = root / "evidence"
    d1 = deployment("D1", v1, "2024-03-01T10:00:00Z", approvals=APPROVAL, targets=ok(*HOSTS))
    d2 = deployment(
        "D2",
        v2,
        "2024-03-02T10:00:00Z",
        approvals=APPROVAL,
        targets=[
            *ok("w1"),
            {"host": "w2", "status": "failed"},
            {"host": "w3", "status": "skipped"},
            {"host": "w5", "status": "unreachable"},
            *ok("w9"),  # not in the inventory; w4 is missing altogether
        ],
    )
    # A rollback to v1: it ships nothing new, and after it the hosts must run v1 again.
    d3 = deployment("D3", v1, "2024-03-03T10:00:00Z", approvals=APPROVAL, targets=ok(*HOSTS))
    for record, finished in (
        (d1, "2024-03-01T10:30:00Z"),
        (d2, "2024-03-02T10:30:00Z"),
        (d3, "2024-03-03T10:30:00Z"),
    ):
        record["finished_at"] = finished
    write_yaml(evidence / "deploys.yaml", [d1, d2, d3])
    write_yaml(
        evidence / "fleet.yaml",
        {"services": {"web": {"hosts": [*HOSTS[:4], {"name": "w5", "tags": ["dr"]}]}}},
    )

    def seen(host: str, version: str, at: str) -> dict[str, str]:
        return {"host": host, "service": "web", "version": version, "observed_at": at}

    write_yaml(
        evidence / "observations.yaml",
        [
            seen("w1", v1[:8], "2024-03-01T10:29:59Z"),  # before D1 finished: in no window
            seen("w3", v2[:12], "2024-03-01T12:00:00Z"),  # v2 during D1's window: drift
            seen("w1", v2, "2024-03-02T10:30:00Z"),  # exactly when D2 finished, as deployed
            seen("w2", v1, "2024-03-02T10:30:00Z"),  # exactly when D2 finished, not as deployed
            seen("w3", v2, "2024-03-03T10:00:00Z"),  # exactly when D3 started: D2's window is over
            seen("w4", v2, "2024-03-03T10:30:00Z"),  # after the rollback, still v2: drift
            seen("w1", v1, "2024-03-03T11:00:00Z"),  # after the rollback, v1 as deployed
        ],
    )

    def flag(name: str, enabled: bool, at: str) -> dict[str, object]:
        return {
            "flag": name,
            "service": "web",
            "environment": "production",
            "enabled": enabled,
            "at": at,
            "by": "ops@example.com",
        }

    write_yaml(
        evidence / "flag_events.yaml",
        [
            flag("early", True, "2024-03-01T11:00:00Z"),  # D1 reached every host: fine
            flag("feature_x", True, "2024-03-02T12:00:00Z"),  # D2 did not reach every host
            flag("feature_x", False, "2024-03-02T13:00:00Z"),  # switched off, not on: fine
            flag("feature_y", True, "2024-03-04T00:00:00+00:00"),  # D3 complete, hosts disagree
        ],
    )
    return Case(repo.path, evidence, v1, v2)


def check(case: Case, *extra: str) -> CliResult:
    return run_cli(
        "check",
        "--repo",
        case.repo,
        "--evidence",
        case.evidence,
        "--format",
        "json",
        "--as-of",
        "2024-03-05",
        *extra,
    )


def pairs(result: CliResult) -> set[tuple[str, str]]:
    return {(f["rule"], f["subject"]) for f in result.json()["findings"]}


def test_fleet_rules_fire_exactly_at_their_edges(tmp_path: Path) -> None:
    case = build(tmp_path)
    result = check(case)
    assert result.code == 1, result.err
    assert pairs(result) == {
        ("FLEET-001", "D2:w2"),  # failed
        ("FLEET-001", "D2:w3"),  # skipped
        ("FLEET-001", "D2:w4"),  # absent from targets
        ("FLEET-001", "D2:w5"),  # unreachable
        ("FLEET-002", "D1:w3"),
        ("FLEET-002", "D2:w2"),
        ("FLEET-002", "D3:w4"),
        ("FLEET-003", "feature_x@2024-03-02T12:00:00Z"),
        ("FLEET-003", "feature_y@2024-03-04T00:00:00+00:00"),  # the event's time as given
        ("FLEET-004", "D2:w9"),
    }
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    assert "did not reach host w4: absent from its targets" in messages["D2:w4"]
    assert "did not reach host w5: unreachable" in messages["D2:w5"]
    x = messages["feature_x@2024-03-02T12:00:00Z"]
    assert (
        f"deployment D2 of {case.v2[:12]} did not succeed on w2 (failed), w3 (skipped), "
        "w4 (absent from its targets), w5 (unreachable)" in x
    )
    y = messages["feature_y@2024-03-04T00:00:00+00:00"]
    assert f"last observed {case.v1[:12]} on w1, w2; {case.v2[:12]} on w3, w4" in y
    statuses = {r["id"]: r for r in result.json()["summary"]["rules"]}
    assert all(statuses[f"FLEET-00{n}"]["status"] == "evaluated" for n in range(1, 5))
    assert "reason" not in statuses["FLEET-003"]


def test_without_fleet_yaml_the_inventory_rules_are_not_evaluated(tmp_path: Path) -> None:
    case = build(tmp_path)
    (case.evidence / "fleet.yaml").unlink()
    result = check(case)
    statuses = {r["id"]: r for r in result.json()["summary"]["rules"]}
    for rule in ("FLEET-001", "FLEET-003", "FLEET-004"):
        assert statuses[rule]["status"] == "not_evaluated"
        assert "fleet" in statuses[rule]["reason"]
    assert statuses["FLEET-002"]["status"] == "evaluated"
    assert {r for r, _ in pairs(result)} == {"FLEET-002"}
    fleet_rules = [r for r in result.json()["summary"]["not_evaluated"] if r.startswith("FLEET")]
    assert fleet_rules == ["FLEET-001", "FLEET-003", "FLEET-004"]


def test_without_observations_fleet_002_is_not_evaluated(tmp_path: Path) -> None:
    case = build(tmp_path)
    (case.evidence / "observations.yaml").unlink()
    result = check(case)
    statuses = {r["id"]: r for r in result.json()["summary"]["rules"]}
    assert statuses["FLEET-002"] == {
        "id": "FLEET-002",
        "title": statuses["FLEET-002"]["title"],
        "severity": "critical",
        "status": "not_evaluated",
        "reason": "no observations evidence",
        "findings": 0,
    }
    # FLEET-003 still judges the deployment, and says it could not look at observations.
    assert statuses["FLEET-003"]["reason"] == "judged without observations evidence"
    assert ("FLEET-003", "feature_x@2024-03-02T12:00:00Z") in pairs(result)
    assert ("FLEET-003", "feature_y@2024-03-04T00:00:00+00:00") not in pairs(result)
    text = run_cli("check", "--repo", case.repo, "--evidence", case.evidence).out
    assert "Not evaluated" in text and "FLEET-002" in text
    assert "Judged on part of their evidence:" in text


def test_unresolvable_observed_version_is_an_input_error(tmp_path: Path) -> None:
    case = build(tmp_path)
    path = case.evidence / "observations.yaml"
    path.write_text(path.read_text().replace(f"version: {case.v2[:12]}", "version: release-9"))
    result = check(case)
    assert result.code == 2
    assert "observations.yaml:5:" in result.err
    assert "version 'release-9' is not a sha; record the full commit sha" in result.err


def test_host_listed_twice_in_targets_is_an_input_error(tmp_path: Path) -> None:
    case = build(tmp_path)
    path = case.evidence / "deploys.yaml"
    path.write_text(path.read_text().replace("host: w9", "host: w1"))
    result = check(case)
    assert result.code == 2
    assert "deploys.yaml:" in result.err and "host 'w1' is listed twice in targets" in result.err
