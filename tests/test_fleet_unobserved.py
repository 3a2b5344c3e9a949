"""A finished deployment whose record says it succeeded on a host that no observation shows
after it, while the service's other hosts are seen: the record is written by the team audited,
and the observations are the only evidence it does not write itself. Such a host is not shown
reached (Knight Capital's eighth server), unless fleet.yaml says no observation covers it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.test_examples import ROOT, check_args

PARTIAL_ROLLOUT = ROOT / "evidence" / "examples" / "partial-rollout"
V1 = "ebedadc8ec3cb8de84414434f6c9dbd3e84544a2"
V2 = "7bef6e7b0668940b42f021f61d8c708f6f7d157a"


def _check(
    tmp_path: Path,
    seen: list[tuple[str, str, str]],
    *extra: str,
    fleet: str | None = None,
    per_target: bool = False,
    unfinished: bool = False,
) -> dict[str, Any]:
    """partial-rollout with RT-2 (V2, finished at 10:40) saying it succeeded on all four hosts,
    no flag event, ``seen`` (host, commit, time) as the observations, and ``fleet`` as
    fleet.yaml where given: the JSON report of the check, with its exit code. ``per_target``:
    RT-2 gives its finish on each target instead of its own; ``unfinished``: on none."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    if unfinished:
        deploys[1].pop("finished_at")
    if per_target:
        finished = deploys[1].pop("finished_at")
        for target in deploys[1]["targets"]:
            target["finished_at"] = finished
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "observations.jsonl").write_text(
        "".join(
            json.dumps({"host": host, "service": "router", "version": commit, "observed_at": at})
            + "\n"
            for host, commit, at in seen
        )
    )
    (evidence / "flag_events.yaml").unlink()
    if fleet is not None:
        (evidence / "fleet.yaml").write_text(fleet)
    result = run_cli(*args, *extra)
    assert result.code in (0, 1), result.err
    return {**result.json(), "code": result.code}


def _fleet_001(report: dict[str, Any]) -> dict[str, str]:
    return {f["subject"]: f["message"] for f in report["findings"] if f["rule"] == "FLEET-001"}


def _reason(report: dict[str, Any], rule: str) -> str:
    (status,) = [r for r in report["summary"]["rules"] if r["id"] == rule]
    return str(status.get("reason") or "")


SIBLINGS = [(host, V2, "2024-05-02T11:00:00Z") for host in ("r-1", "r-2", "r-3")]


def test_a_host_claimed_but_never_observed_while_its_siblings_are_fails(tmp_path: Path) -> None:
    """r-1..r-3 are seen on V2 after RT-2 finished; r-4, which RT-2 says it succeeded on, is
    never observed at all. The check passed (exit 0) with a note that r-4 was never observed
    after the deployment: only --require-all failed it. RT-1, which says it succeeded on r-4
    too, is not shown to have reached it either."""
    report = _check(tmp_path, SIBLINGS)
    assert report["code"] == 1
    findings = _fleet_001(report)
    assert set(findings) == {"RT-1:r-4", "RT-2:r-4"}
    assert "(never observed at all)" in findings["RT-2:r-4"]
    assert "never observed after it finished" in findings["RT-2:r-4"]
    assert "r-1, r-2, r-3 were" in findings["RT-2:r-4"]


def test_a_host_seen_only_before_the_deployment_is_not_shown_reached(tmp_path: Path) -> None:
    """r-4 seen on V1 before RT-2 started, never after: what the evidence last says of it is
    the old code."""
    report = _check(tmp_path, [*SIBLINGS, ("r-4", V1, "2024-05-02T09:00:00Z")])
    assert report["code"] == 1
    findings = _fleet_001(report)
    assert set(findings) == {"RT-2:r-4"}
    assert f"last observed running {V1[:12]} at 2024-05-02T09:00:00Z" in findings["RT-2:r-4"]


def test_a_record_giving_each_target_its_finish_is_asked_the_same(tmp_path: Path) -> None:
    """RT-2 gives no finished_at of its own, only each target's (10:40): r-4, seen on V1 before
    it started and never after, while r-1..r-3 are seen on V2. The check passed (exit 0, a note
    that r-4 was never observed after the deployment): the claim was asked only of deployments
    giving their own finished_at, and the one on targets without a time."""
    report = _check(tmp_path, [*SIBLINGS, ("r-4", V1, "2024-05-02T09:00:00Z")], per_target=True)
    assert report["code"] == 1
    findings = _fleet_001(report)
    assert set(findings) == {"RT-2:r-4"}
    assert "never observed after it finished, while r-1, r-2, r-3 were" in findings["RT-2:r-4"]
    seen_after = [*SIBLINGS, ("r-4", V2, "2024-05-02T11:00:00Z")]
    assert _check(tmp_path / "seen", seen_after, per_target=True)["code"] == 0


def test_a_host_observed_after_the_deployment_on_its_commit_passes(tmp_path: Path) -> None:
    report = _check(tmp_path, [*SIBLINGS, ("r-4", V2, "2024-05-03T11:00:00Z")])
    assert report["code"] == 0
    assert not _fleet_001(report)


def test_no_host_observed_after_the_deployment_is_a_note_not_a_finding(tmp_path: Path) -> None:
    """With no sibling observed in its window, nothing shows the observation stream covered
    the deployment at all: the report says FLEET-002 judged no observations after it."""
    report = _check(tmp_path, [(h, V1, "2024-04-30T11:00:00Z") for h in ("r-1", "r-2")])
    assert report["code"] == 0
    assert not _fleet_001(report)
    assert "no observations after any deployment" in _reason(report, "FLEET-002")


UNOBSERVED = """\
services:
  router:
    hosts: [r-1, r-2, r-3, {name: r-4, observed: false}]
"""


def test_a_host_fleet_yaml_says_is_not_observed_is_read_from_the_record(tmp_path: Path) -> None:
    """fleet.yaml says no observation covers r-4: FLEET-001 reads its record alone, the report
    says so, and --require-all fails."""
    report = _check(tmp_path, SIBLINGS, fleet=UNOBSERVED)
    assert report["code"] == 0
    assert not _fleet_001(report)
    reason = _reason(report, "FLEET-001")
    assert "fleet.yaml says no observation covers" in reason and "router/r-4" in reason
    assert _check(tmp_path / "all", SIBLINGS, "--require-all", fleet=UNOBSERVED)["code"] == 1


def test_a_host_marked_unobserved_that_the_observations_show_is_asked(tmp_path: Path) -> None:
    """fleet.yaml marks r-4 observed: false, yet r-4 was seen on V1 at 09:00, after RT-1 (the
    deployment before RT-2) started, and never after RT-2: an observation stream covered it
    while the old code ran. The mark left RT-2's claim unasked (exit 0, a note): Knight's
    eighth server, marked by the team whose record says it was reached."""
    report = _check(tmp_path, [*SIBLINGS, ("r-4", V1, "2024-05-02T09:00:00Z")], fleet=UNOBSERVED)
    assert report["code"] == 1
    findings = _fleet_001(report)
    assert set(findings) == {"RT-2:r-4"}
    assert f"last observed running {V1[:12]}" in findings["RT-2:r-4"]


def test_a_marked_host_last_seen_before_the_deployment_before_is_excused(tmp_path: Path) -> None:
    """r-4 last seen at 09:30 on May 1, before RT-1 started (its agent since removed): the mark
    stands, and the records alone are read, as the report says."""
    seen = [*SIBLINGS, ("r-4", V1, "2024-05-01T09:30:00Z")]
    report = _check(tmp_path, seen, fleet=UNOBSERVED)
    assert report["code"] == 0
    assert not _fleet_001(report)
    assert "router/r-4" in _reason(report, "FLEET-001")


def test_a_marked_host_is_excused_where_the_record_gives_no_finish(tmp_path: Path) -> None:
    """RT-2 gives no finished_at: fleet.yaml says no observation covers r-4, and none ever
    showed it. The rule for records without a time asked it all the same, and a standby the
    inventory marked failed FLEET-001 (exit 1, "not observed at all"), against what the
    report said of it; it is now read from its records, as with a finish."""
    report = _check(tmp_path, SIBLINGS, fleet=UNOBSERVED, unfinished=True)
    assert report["code"] == 0, _fleet_001(report)
    assert "router/r-4" in _reason(report, "FLEET-001")
    asked = _check(tmp_path / "seen", [*SIBLINGS, ("r-4", V1, "2024-05-02T09:00:00Z")],
                   fleet=UNOBSERVED, unfinished=True)  # fmt: skip
    assert set(_fleet_001(asked)) == {"RT-2:r-4"}


EVERY_HOST_UNOBSERVED = """\
services:
  router:
    hosts:
      - {name: r-1, observed: false}
      - {name: r-2, observed: false}
      - {name: r-3, observed: false}
      - {name: r-4, observed: false}
"""


def test_verify_names_the_rules_an_audit_judged_on_part_of_its_evidence(tmp_path: Path) -> None:
    """fleet.yaml says no observation covers any host: FLEET-001 reads the records alone. The
    signed audit passes as incomplete, and verify's line named only the rules not evaluated
    (DEAD-007, FLEET-003), so an auditor reading it saw nothing of FLEET-001's partial
    judgement; it now names the rules judged on part of their evidence too."""
    _check(tmp_path, SIBLINGS, fleet=EVERY_HOST_UNOBSERVED)
    key = tmp_path / "key"
    assert run_cli("keygen", "--output", key).code == 0
    evidence, repo = tmp_path / "evidence", tmp_path / "repo"
    audit = tmp_path / "audit.json"
    signed = run_cli(
        "audit", "--repo", repo, "--evidence", evidence, "--period", "2024-05",
        "--key", key.with_suffix(".key"), "--as-of", "2024-06-01", "-o", audit,
    )  # fmt: skip
    assert signed.code == 0, signed.err
    verified = run_cli("verify", audit, "--key", key.with_suffix(".pub"))
    assert verified.code == 0, verified.err
    (line,) = [line for line in verified.out.splitlines() if line.startswith("period:")]
    assert "judged on part of their evidence: " in line
    assert "FLEET-001" in line.split("judged on part of their evidence: ")[1]
