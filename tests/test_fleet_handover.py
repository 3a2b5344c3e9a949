"""While the next deployment of a stream rolls out, a host runs the commit of the deployment
before it or the next one's: seen on any other commit, it drifted from the deployment before
(FLEET-002), though no window held the observation. A redeploy started as the last deployment
finished made every observation of its run unjudged, and the check passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL
from tests.test_examples import ROOT, check_args

PARTIAL_ROLLOUT = ROOT / "evidence" / "examples" / "partial-rollout"
V1 = "ebedadc8ec3cb8de84414434f6c9dbd3e84544a2"
V2 = "7bef6e7b0668940b42f021f61d8c708f6f7d157a"
"""partial-rollout's two commits: RT-1 shipped V1 to r-1..r-4, RT-2 V2 to r-1..r-3."""


def _redeployed(tmp_path: Path, rt3: dict[str, str], seen: list[str]) -> list[str | Path]:
    """partial-rollout with RT-2 recording r-4 as succeeded, RT-3 (``rt3`` over a redeploy of
    V2 to every host, started a minute after RT-2 finished) and r-4 alone observed, on V1, at
    each of ``seen``: no observation after either deployment finished. fleet.yaml says the
    other hosts are not observed."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    redeploy = {**deploys[1], "id": "RT-3", "started_at": "2024-05-02T10:41:00Z"}
    del redeploy["finished_at"]
    deploys.append({**redeploy, **rt3})
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    observations = [
        {"host": "r-4", "service": "router", "version": V1, "observed_at": at} for at in seen
    ]
    (evidence / "observations.jsonl").write_text(
        "".join(json.dumps(o) + "\n" for o in observations)
    )
    # r-4 alone is observed: the others are marked so, or FLEET-001 would find each of them
    # claimed by a record and never observed after it
    (evidence / "fleet.yaml").write_text(
        "services:\n  router:\n    hosts: [r-4"
        + "".join(f", {{name: r-{n}, observed: false}}" for n in (1, 2, 3))
        + "]\n"
    )
    return args


@pytest.mark.parametrize(
    ("rt3", "flag"),
    [
        ({}, False),  # still running: r-4's last observation after it is judged by it too
        ({"finished_at": "2024-05-02T11:50:00Z"}, True),  # the flag saw only r-4, alone
    ],
)
def test_a_host_seen_on_the_old_commit_while_a_redeploy_ran_drifted(
    tmp_path: Path, rt3: dict[str, str], flag: bool
) -> None:
    args = _redeployed(tmp_path, rt3, ["2024-05-02T11:00:00Z"])
    if not flag:
        (tmp_path / "evidence" / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    drifts = {f["subject"]: f for f in result.json()["findings"] if f["rule"] == "FLEET-002"}
    assert set(drifts) == ({"RT-2:r-4"} if flag else {"RT-2:r-4", "RT-3:r-4"})
    for drift in drifts.values():
        assert f"running {V1[:12]} at 2024-05-02T11:00:00Z, not {V2[:12]}" in drift["message"]


def test_a_host_seen_on_the_commit_a_rollback_brings_did_not_drift(tmp_path: Path) -> None:
    """RT-3 rolls back to V1: while it runs, r-4 on V1 has already been rolled back."""
    args = _redeployed(
        tmp_path, {"commit": V1, "finished_at": "2024-05-02T11:50:00Z"}, ["2024-05-02T11:00:00Z"]
    )
    (tmp_path / "evidence" / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == 0, result.err + result.out
    assert not result.json()["findings"]


def test_a_host_seen_after_the_next_deployment_reached_it_is_judged_by_that_one(
    tmp_path: Path,
) -> None:
    """r-4 on V1 at 12:00, after RT-3 (V2) finished at 11:50, is RT-3's drift, not RT-2's."""
    args = _redeployed(tmp_path, {"finished_at": "2024-05-02T11:50:00Z"}, ["2024-05-02T12:00:00Z"])
    (tmp_path / "evidence" / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert {(f["rule"], f["subject"]) for f in result.json()["findings"]} == {
        ("FLEET-002", "RT-3:r-4")
    }


def test_a_target_that_says_when_it_finished_is_judged_though_its_deployment_does_not(
    tmp_path: Path,
) -> None:
    """RT-2 gives no finished_at, but each target says it finished at 10:10; r-4, alone
    observed, runs V1 at 11:00 and 11:30, and the flag goes on at 12:00. FLEET-003 counted
    every target as succeeded by its own time and saw one version; FLEET-002 gave RT-2 no
    window at all, and the check passed."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    del deploys[1]["finished_at"]
    deploys[1]["targets"] = [
        {"host": host, "status": "succeeded", "finished_at": "2024-05-02T10:10:00Z"}
        for host in ("r-1", "r-2", "r-3", "r-4")
    ]
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "observations.jsonl").write_text(
        "".join(
            json.dumps({"host": "r-4", "service": "router", "version": V1, "observed_at": at})
            + "\n"
            for at in ("2024-05-02T11:00:00Z", "2024-05-02T11:30:00Z")
        )
    )
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    (drift,) = [f for f in result.json()["findings"] if f["rule"] == "FLEET-002"]
    assert drift["subject"] == "RT-2:r-4"
    assert "(2 of 2 observations" in drift["message"]
    statuses = {r["id"]: r for r in result.json()["summary"]["rules"]}
    assert "finished_at" not in statuses["FLEET-002"]["reason"]  # every observation judged


def test_a_target_that_said_when_it_finished_is_judged_in_the_month_after(
    tmp_path: Path,
) -> None:
    """D2 of 31 March gives no finished_at; each target says it finished at 12:10. March is
    attested, and on 5 April h2 runs the old commit. April's audit carried no window of D2
    (it had none), so that observation was only noted as unjudged, and April passed."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    base = repo.commit("base", {"flags.yaml": "flags: []\n", "app.py": "1\n"}, author=DEV,
                       date="2024-02-01T09:00:00Z", trailers=reviewed)  # fmt: skip
    v2 = repo.commit("v2", {"app.py": "2\n"}, author=DEV, date="2024-02-02T09:00:00Z",
                     trailers=reviewed)  # fmt: skip
    done = "2024-03-31T12:10:00Z"
    hosts = ("h1", "h2")
    first = deployment("D1", base, "2024-03-01T12:00:00Z", approvals=[APPROVAL[0]],
                       targets=[{"host": h, "status": "succeeded"} for h in hosts])  # fmt: skip
    second = deployment("D2", v2, "2024-03-31T12:00:00Z", approvals=[APPROVAL[0]], targets=[
        {"host": h, "status": "succeeded", "finished_at": done} for h in ("h1", "h2")
    ])  # fmt: skip
    evidence = tmp_path / "ev"
    write_yaml(
        evidence / "deploys.yaml", [{**first, "finished_at": "2024-03-01T12:10:00Z"}, second]
    )
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["h1", "h2"]}}})

    def seen(host: str, sha: str, at: str) -> dict[str, str]:
        return {"host": host, "service": "web", "version": sha, "observed_at": at}

    march = [seen(h, v2, "2024-03-31T13:00:00Z") for h in ("h1", "h2")]
    write_yaml(evidence / "observations.yaml", march)
    run_cli("keygen", "--output", tmp_path / "k")
    common = ["--repo", repo.path, "--evidence", evidence, "--key", tmp_path / "k.key"]
    attested = run_cli("audit", *common, "--period", "2024-03", "--as-of", "2024-04-01",
                       "-o", tmp_path / "march.json")  # fmt: skip
    assert attested.code == 0, attested.err
    write_yaml(evidence / "observations.yaml", [*march, seen("h2", base, "2024-04-05T09:00:00Z")])
    april = run_cli("audit", *common, "--period", "2024-04", "--as-of", "2024-05-01",
                    "--previous", tmp_path / "march.json",
                    "-o", tmp_path / "april.json")  # fmt: skip
    assert april.code == 1, april.err
    assert "1 findings" in april.err, april.err
    report = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "json",
                     "--as-of", "2024-05-01")  # fmt: skip
    assert ("FLEET-002", "D2:h2") in {(f["rule"], f["subject"]) for f in report.json()["findings"]}


def test_a_host_seen_on_the_old_commit_while_two_redeploys_ran_drifted(tmp_path: Path) -> None:
    """RT-3 redeploys V2 a minute after RT-2 finished and never says it finished; RT-4 does it
    again a minute later and finishes at 11:50. r-4, alone observed, runs V1 at 11:00, and the
    flag goes on at 12:00. Only the next deployment was asked whether it had reached r-4, so
    the handover ended when RT-4 started, no window held the observation, and the check
    passed. RT-3 says it succeeded on r-4, so it had reached r-4 when RT-4 started: the drift
    is from it."""
    args = _redeployed(tmp_path, {}, ["2024-05-02T11:00:00Z"])
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    again = {"id": "RT-4", "started_at": "2024-05-02T10:42:00Z"}
    deploys.append({**deploys[2], **again, "finished_at": "2024-05-02T11:50:00Z"})
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    (drift,) = [f for f in result.json()["findings"] if f["rule"] == "FLEET-002"]
    assert drift["subject"] == "RT-3:r-4"
    assert f"running {V1[:12]} at 2024-05-02T11:00:00Z, not {V2[:12]}" in drift["message"]


def test_a_host_seen_on_the_commit_a_rollback_brings_before_it_said_it_reached_it_did_not_drift(
    tmp_path: Path,
) -> None:
    """RT-3 rolls back to V1 and says r-4 was done at 11:30; RT-4 redeploys V2 from 10:42 to
    11:50. r-4 on V1 at 11:00 may have been reached by RT-3: it runs RT-3's commit."""
    args = _redeployed(tmp_path, {"commit": V1}, ["2024-05-02T11:00:00Z"])
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    deploys[2]["targets"] = [
        {**t, "finished_at": "2024-05-02T11:30:00Z"} if t["host"] == "r-4" else t
        for t in deploys[2]["targets"]
    ]
    again = {"id": "RT-4", "commit": V2, "started_at": "2024-05-02T10:42:00Z"}
    deploys.append({**deploys[2], **again, "finished_at": "2024-05-02T11:50:00Z"})
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert "FLEET-002" not in {f["rule"] for f in result.json()["findings"]}, result.out


@pytest.mark.parametrize("variant", ["alone", "redeployed", "older than the records"])
def test_a_rollback_that_never_says_it_finished_does_not_excuse_the_old_commit(
    tmp_path: Path, variant: str
) -> None:
    """RT-2 says it reached r-4; RT-3 rolls back to V1, RT-1's commit, a minute after, and
    gives no finished_at, of its own or of any target. r-4 is seen on V1 then and three weeks
    later. RT-3 excused the old commit for good (r-4 may have been rolled back, or may never
    have left V1), FLEET-002 judged nothing and the check passed. With a redeploy of V2
    (RT-4, 10:42 to 11:50) after it, the observation at 11:00 passed the same way; and so it
    did where RT-1 is not in the records, V1 being only in the history of RT-2's commit."""
    seen = ["2024-05-02T11:00:00Z"]
    if variant != "redeployed":
        seen.append("2024-05-23T11:00:00Z")
    args = _redeployed(tmp_path, {"commit": V1}, seen)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    if variant == "redeployed":
        again = {"id": "RT-4", "commit": V2, "started_at": "2024-05-02T10:42:00Z"}
        deploys.append({**deploys[2], **again, "finished_at": "2024-05-02T11:50:00Z"})
    if variant == "older than the records":
        deploys = deploys[1:]
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    (drift,) = [f for f in result.json()["findings"] if f["rule"] == "FLEET-002"]
    assert drift["subject"] == "RT-2:r-4"
    assert f"running {V1[:12]} at 2024-05-02T11:00:00Z, not {V2[:12]}" in drift["message"]
    assert f"({len(seen)} of {len(seen)} observations" in drift["message"]


@pytest.mark.parametrize(("r4_done", "mixed"), [("10:45", True), ("09:58", False)])
def test_a_host_an_overlapping_rollout_of_another_commit_reached_last_is_mixed_at_the_flag(
    tmp_path: Path, r4_done: str, mixed: bool
) -> None:
    """RT-2b rolls V1 out from 09:55 to 10:50 and says it reached r-1..r-3 at 09:58 and r-4 at
    ``r4_done``; RT-2 rolls V2 out from 10:00 to 10:40 and says it reached all four. Nothing is
    observed, and the flag goes on at 12:00. Only RT-2, the latest, was asked, and by its record
    the fleet was whole: the check passed, though RT-2b says r-4 got V1 after RT-2 gave it V2."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    hosts = {"r-1": "09:58", "r-2": "09:58", "r-3": "09:58", "r-4": r4_done}
    overlapping = {
        **deploys[0],
        "id": "RT-2b",
        "started_at": "2024-05-02T09:55:00Z",
        "finished_at": "2024-05-02T10:50:00Z",
        "approvals": [{"by": "lee@example.com", "at": "2024-05-02T09:30:00Z"}],
        "targets": [
            {"host": h, "status": "succeeded", "finished_at": f"2024-05-02T{at}:00Z"}
            for h, at in hosts.items()
        ],
    }
    deploys.append(overlapping)
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "observations.jsonl").unlink()
    result = run_cli(*args)
    found = [f for f in result.json()["findings"] if f["rule"] == "FLEET-003"]
    if not mixed:
        assert result.code == 0, result.err + result.out
        assert not found
        return
    assert result.code == 1, result.err + result.out
    (flag,) = found
    assert (
        "deployment RT-2 of 7bef6e7b0668 did not succeed on r-4 (deployment RT-2b"
        in (flag["message"])
    )
    assert "says it reached it at 2024-05-02T10:45:00Z, not before it did" in flag["message"]


def test_an_earlier_rollout_still_running_behind_a_finished_one_is_asked_too(
    tmp_path: Path,
) -> None:
    """RT-2a rolls V1 out from 09:00 and says it reached r-1..r-3 at 09:10 and r-4 at 11:00;
    RT-2c redeploys V2 from 09:30 to 09:45, and RT-2 from 10:00 to 10:40, each to all four.
    Nothing is observed, and the flag goes on at 12:00. The walk back from RT-2 stopped at
    RT-2c, which had reached every target before RT-2 started, and RT-2a, which says r-4 got
    V1 after both gave it V2, was never asked: the check passed."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    hosts = {"r-1": "09:10", "r-2": "09:10", "r-3": "09:10", "r-4": "11:00"}
    early = {
        **deploys[0],
        "id": "RT-2a",
        "started_at": "2024-05-02T09:00:00Z",
        "finished_at": "2024-05-02T11:00:00Z",
        "approvals": [{"by": "lee@example.com", "at": "2024-05-02T08:30:00Z"}],
        "targets": [
            {"host": h, "status": "succeeded", "finished_at": f"2024-05-02T{at}:00Z"}
            for h, at in hosts.items()
        ],
    }
    between = {
        **deploys[1],
        "id": "RT-2c",
        "started_at": "2024-05-02T09:30:00Z",
        "finished_at": "2024-05-02T09:45:00Z",
    }
    deploys += [early, between]
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "observations.jsonl").unlink()
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    (flag,) = [f for f in result.json()["findings"] if f["rule"] == "FLEET-003"]
    assert "did not succeed on r-4 (deployment RT-2a of ebedadc8ec3c" in flag["message"]
    assert "says it reached it at 2024-05-02T11:00:00Z, not before it did" in flag["message"]


def test_a_rollback_vouches_only_for_the_targets_it_says_it_reached(tmp_path: Path) -> None:
    """RT-3 rolls back to V1 from 10:41 to 11:50 and says it skipped r-4; its FLEET-001
    finding is waived (r-4 was to keep V2). r-4, alone observed, runs V1 at 11:00. RT-3 vouched
    for V1 on r-4 while it rolled out, though it says it never gave r-4 anything: no window held
    the observation, and the check passed."""
    targets = [{"host": h, "status": "succeeded"} for h in ("r-1", "r-2", "r-3")]
    rt3 = {
        "commit": V1,
        "finished_at": "2024-05-02T11:50:00Z",
        "targets": [*targets, {"host": "r-4", "status": "skipped"}],
    }
    args = _redeployed(tmp_path, rt3, ["2024-05-02T11:00:00Z"])
    evidence = tmp_path / "evidence"
    (evidence / "flag_events.yaml").unlink()
    waiver = {"rule": "FLEET-001", "subject": "RT-3:r-4", "reason": "r-4 keeps v2",
              "approved_by": LEAD, "expires": "2024-12-31"}  # fmt: skip
    (evidence / "waivers.yaml").write_text(json.dumps([waiver]))
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    (drift,) = [f for f in result.json()["findings"] if f["rule"] == "FLEET-002"]
    assert drift["subject"] == "RT-2:r-4"
    assert f"running {V1[:12]} at 2024-05-02T11:00:00Z, not {V2[:12]}" in drift["message"]
