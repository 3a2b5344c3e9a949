"""Fleet findings never merge across deployments, hosts or services: a name holding the
subject's or the cause's separator is an input error, and a cause waiver covers one service's
host only."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml

Build = tuple[Path, Path]


def _case(
    tmp_path: Path, fleet: dict[str, list[str]], deploys: list[tuple[str, str, list[str]]]
) -> Build:
    """Approved deployments (id, service, hosts succeeded) of one commit to the fleet given."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    write_yaml(evidence / "fleet.yaml", {"services": {s: {"hosts": h} for s, h in fleet.items()}})
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment(
                ident,
                sha,
                f"2024-02-0{day}T10:00:00Z",
                service=service,
                approvals=[{"by": "lee@example.com", "at": f"2024-02-0{day}T09:00:00Z"}],
                targets=[{"host": h, "status": "succeeded"} for h in hosts],
            )
            for day, (ident, service, hosts) in enumerate(deploys, start=1)
        ],
    )
    return repo.path, evidence


def _check(case: Build) -> CliResult:
    return run_cli(
        "check",
        "--repo",
        case[0],
        "--evidence",
        case[1],
        "--as-of",
        "2024-02-28",
        "--format",
        "json",
    )


def _fleet(result: CliResult) -> list[dict[str, object]]:
    return [f for f in result.json()["findings"] if str(f["rule"]).startswith("FLEET-")]


def _waive_cause(evidence: Path, cause: str) -> None:
    write_yaml(
        evidence / "waivers.yaml",
        [
            {
                "rule": "FLEET-001",
                "cause": cause,
                "reason": "CHG-9 host retired",
                "approved_by": "cro@example.com",
                "expires": "2024-03-31",
            }
        ],
    )


def test_a_deployment_id_that_extends_another_with_a_colon_is_an_input_error(
    tmp_path: Path,
) -> None:
    # RT-2 misses host z:r-4 and RT-2:z misses host r-4: both would be RT-2:z:r-4, and one
    # finding would hide the other (a waiver of z:r-4 then passed the month).
    case = _case(
        tmp_path,
        {"router": ["r-1", "z:r-4", "r-4"]},
        [("RT-2", "router", ["r-1", "r-4"]), ("RT-2:z", "router", ["r-1", "z:r-4"])],
    )
    _waive_cause(case[1], "router/z:r-4")
    result = _check(case)
    assert result.code == 2 and result.out == ""
    assert "deploys.yaml:15:" in result.err and "'RT-2:z'" in result.err
    assert "'RT-2'" in result.err and "Traceback" not in result.err


def test_a_colon_in_an_id_is_fine_where_no_other_id_precedes_it(tmp_path: Path) -> None:
    case = _case(
        tmp_path,
        {"router": ["r-1", "r-4"]},
        [("RT:2", "router", ["r-1"]), ("RT-2", "router", ["r-1", "r-4"])],
    )
    found = [(f["rule"], f["subject"]) for f in _fleet(_check(case))]
    assert found == [("FLEET-001", "RT:2:r-4")]


def test_two_services_and_hosts_whose_cause_reads_the_same_are_an_input_error(
    tmp_path: Path,
) -> None:
    # Service a/b's host c and service a's host b/c: both causes read a/b/c, so one cause
    # waiver would cover both; the run refuses rather than group them as one.
    case = _case(
        tmp_path,
        {"a/b": ["c", "d"], "a": ["b/c", "d"]},
        [("D-1", "a/b", ["d"]), ("D-2", "a", ["d"])],
    )
    result = _check(case)
    assert result.code == 2 and result.out == "", result.out
    assert "FLEET-001" in result.err and "'a/b/c'" in result.err
    assert "host 'b/c'" in result.err and "host 'c'" in result.err


def test_a_cause_waiver_covers_one_services_host_not_anothers(tmp_path: Path) -> None:
    case = _case(
        tmp_path,
        {"router": ["r-1", "shared-1"], "billing": ["b-1", "shared-1"]},
        [("RT-1", "router", ["r-1"]), ("BL-1", "billing", ["b-1"])],
    )
    _waive_cause(case[1], "router/shared-1")
    report = _check(case)
    waived = {f["subject"]: f["waived"] for f in _fleet(report)}
    assert waived == {"RT-1:shared-1": True, "BL-1:shared-1": False}
    assert report.code == 1
    causes = {g["cause"]: g["statement"] for g in report.json()["groups"]}
    assert causes["billing/shared-1"] == "Deployments of billing did not reach shared-1"


@pytest.mark.parametrize("cause", ["shared-1", "*/shared-1", "router/*"])
def test_a_fleet_cause_waiver_names_the_service_and_host_exactly(
    tmp_path: Path, cause: str
) -> None:
    case = _case(tmp_path, {"router": ["r-1", "shared-1"]}, [("RT-1", "router", ["r-1"])])
    _waive_cause(case[1], cause)
    result = _check(case)
    assert result.code == 2 and result.out == ""
    assert "waivers.yaml:1:" in result.err and repr(cause) in result.err
