"""Deployment records written in ways that must not change what the fleet rules judge: a
target's status spelt another way is refused, not read as a host that did not succeed, and
deployments written in different time zones are ordered by the instant they give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.test_examples import ROOT, check_args

PARTIAL_ROLLOUT = ROOT / "evidence" / "examples" / "partial-rollout"
V1 = "ebedadc8ec3cb8de84414434f6c9dbd3e84544a2"
V2 = "7bef6e7b0668940b42f021f61d8c708f6f7d157a"
"""partial-rollout's two commits: RT-1 shipped V1 to r-1..r-4, RT-2 V2 to r-1..r-3."""


def _edited(tmp_path: Path) -> tuple[list[str | Path], Path, list[dict[str, Any]]]:
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    return args, evidence, deploys


def _write(evidence: Path, name: str, records: list[dict[str, Any]]) -> None:
    (evidence / name).write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize("status", ["Succeeded", "success", "running"])
def test_a_target_status_spelt_another_way_is_refused(tmp_path: Path, status: str) -> None:
    args, evidence, deploys = _edited(tmp_path)
    deploys[1]["targets"].append({"host": "r-4", "status": status})
    _write(evidence, "deploys.jsonl", deploys)
    result = run_cli(*args)
    assert result.code == 2, result.err + result.out
    assert "deploys.jsonl:2: deployment #2: targets.3.status: got" in result.err
    assert not result.out


def test_deployments_written_in_other_time_zones_are_ordered_by_their_instant(
    tmp_path: Path,
) -> None:
    """RT-2 (V2) starts at 12:00+02:00, 10:00 UTC, on every host; RT-3 rolls back to V1 from
    10:45 to 10:50 UTC. Every host runs V2 at 11:00: a drift from the rollback. Read as text,
    RT-2's start sorts after RT-3's, and the hosts would match the latest deployment."""
    args, evidence, deploys = _edited(tmp_path)
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    deploys[1].update(
        started_at="2024-05-02T12:00:00+02:00", finished_at="2024-05-02T12:40:00+02:00"
    )
    rollback = {
        **deploys[0],
        "id": "RT-3",
        "started_at": "2024-05-02T10:45:00Z",
        "finished_at": "2024-05-02T10:50:00Z",
        "approvals": [{"by": "lee@example.com", "at": "2024-05-02T09:30:00Z"}],
    }
    _write(evidence, "deploys.jsonl", [*deploys, rollback])
    seen = [
        {"host": h, "service": "router", "version": V2, "observed_at": "2024-05-02T11:00:00Z"}
        for h in ("r-1", "r-2", "r-3", "r-4")
    ]
    _write(evidence, "observations.jsonl", seen)
    (evidence / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    drifts = {f["subject"] for f in result.json()["findings"] if f["rule"] == "FLEET-002"}
    assert drifts == {"RT-3:r-1", "RT-3:r-2", "RT-3:r-3", "RT-3:r-4"}


@pytest.mark.parametrize("zone", ["2024-05-02T10:00:00Z", "2024-05-02T12:00:00+02:00"])
def test_two_deployments_of_one_instant_with_different_commits_are_refused(
    tmp_path: Path, zone: str
) -> None:
    """RT-2 ships V2 to every host; RT-3, started in the same instant (written in another
    zone or not), ships V1. Which ran last cannot be told: the stream was ordered by id, so
    RT-3 counted as the newer, every host seen on V1 matched it, and the check passed
    (exit 0); named the other way round, the same hosts were a drift."""
    args, evidence, deploys = _edited(tmp_path)
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    old = {**deploys[1], "id": "RT-3", "commit": V1, "started_at": zone}
    _write(evidence, "deploys.jsonl", [*deploys, old])
    seen = [
        {"host": h, "service": "router", "version": V1, "observed_at": "2024-05-02T11:00:00Z"}
        for h in ("r-1", "r-2", "r-3", "r-4")
    ]
    _write(evidence, "observations.jsonl", seen)
    (evidence / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == 2, result.err + result.out
    assert not result.out
    assert (
        "deploys.jsonl:3: deployment RT-3 of router to production starts in the same instant as "
        f"deployment RT-2 (deploys.jsonl:2), with another commit ({V1[:12]}, not {V2[:12]}), "
        "and they do not finish at different instants: which of them ran last cannot be told"
        in result.err
    )
    assert "Traceback" not in result.err


def test_two_deployments_of_one_instant_and_one_commit_are_read(tmp_path: Path) -> None:
    """RT-3 redeploys V2 in the instant RT-2 started: whichever ran last, the hosts were to run
    V2, and r-4 seen on V1 after both finished is a drift."""
    args, evidence, deploys = _edited(tmp_path)
    _write(evidence, "deploys.jsonl", [*deploys, {**deploys[1], "id": "RT-3"}])
    result = run_cli(*args)
    assert result.code == 1, result.err + result.out
    assert "FLEET-002" in {f["rule"] for f in result.json()["findings"]}


@pytest.mark.parametrize(
    ("v2_finish", "v1_finish", "drifted"),
    [
        # V2's finished last: hosts on V1 after both finished drifted from it
        ("2024-05-02T10:40:00Z", "2024-05-02T10:20:00Z", True),
        # V1's finished last (a rollback that overtook it): hosts on V1 are what it left
        ("2024-05-02T10:20:00Z", "2024-05-02T10:40:00Z", False),
    ],
)
def test_two_deployments_of_one_second_are_ordered_by_their_finish(
    tmp_path: Path, v2_finish: str, v1_finish: str, drifted: bool
) -> None:
    """GitHub dates a deployment to the second, so two merges deployed at once (RT-2 of V2,
    RT-3 of V1) start in one instant; they finish apart, and the one that finished last ran
    last. Such records were refused (exit 2) with no way out but to leave one of them out,
    though the finishes tell which ran last; their ids, the attack the refusal was for, still
    decide nothing."""
    args, evidence, deploys = _edited(tmp_path)
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    deploys[1]["finished_at"] = v2_finish
    # RT-0 sorts before RT-2 by id: only the finishes can put it after
    old = {**deploys[1], "id": "RT-0", "commit": V1, "finished_at": v1_finish}
    _write(evidence, "deploys.jsonl", [*deploys, old])
    seen = [
        {"host": h, "service": "router", "version": V1, "observed_at": "2024-05-02T11:00:00Z"}
        for h in ("r-1", "r-2", "r-3", "r-4")
    ]
    _write(evidence, "observations.jsonl", seen)
    (evidence / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == (1 if drifted else 0), result.err + result.out
    drifts = {f["subject"] for f in result.json()["findings"] if f["rule"] == "FLEET-002"}
    assert drifts == ({f"RT-2:r-{n}" for n in range(1, 5)} if drifted else set())


def test_two_deployments_of_one_instant_one_unfinished_are_refused(tmp_path: Path) -> None:
    """RT-3 (V1) starts in RT-2's instant and gives no finish: it may still be running, and
    which ran last cannot be told."""
    args, evidence, deploys = _edited(tmp_path)
    old = {k: v for k, v in deploys[1].items() if k != "finished_at"}
    _write(evidence, "deploys.jsonl", [*deploys, {**old, "id": "RT-3", "commit": V1}])
    result = run_cli(*args)
    assert result.code == 2, result.err + result.out
    assert "and they do not finish at different instants" in result.err


CANCELLED = [
    {"host": h, "status": "failed", "reason": "the deployment has not finished"}
    for h in ("r-1", "r-2", "r-3", "r-4")
]
"""Every host of a GitHub deployment whose run was cancelled before it posted an outcome, as
``import github-deployments`` records it."""


@pytest.mark.parametrize(
    "finish",
    [None, "2024-05-02T10:40:00Z", "2024-05-02T10:45:00Z"],
    ids=["unfinished", "same-finish", "finished-later"],
)
@pytest.mark.parametrize("r4", [V2, V1], ids=["r-4-on-v2", "r-4-on-v1"])
def test_a_deployment_that_reached_no_host_in_anothers_instant_ran_first(
    tmp_path: Path, finish: str | None, r4: str
) -> None:
    """RT-0 (V1), a run cancelled as RT-2 (V2) began in the same second, failed on every host,
    with no finish, one in RT-2's instant, or one after RT-2's; its FLEET-001 findings are
    waived. Refused (exit 2: which ran last cannot be told) without a finish, or with RT-2's,
    and with one after RT-2's read as the newer, so hosts on V2, RT-2's commit, drifted from
    RT-0 and r-4 on V1 was judged against the commit that reached no host. RT-2 ran last: every
    host on V2 passes, and r-4 on V1 is RT-2's drift."""
    args, evidence, deploys = _edited(tmp_path)
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    cancelled = {**deploys[1], "id": "RT-0", "commit": V1, "targets": CANCELLED}
    cancelled.pop("finished_at")
    if finish is not None:
        cancelled["finished_at"] = finish
    _write(evidence, "deploys.jsonl", [*deploys, cancelled])
    seen = [
        {"host": h, "service": "router", "version": r4 if h == "r-4" else V2,
         "observed_at": "2024-05-02T11:00:00Z"}
        for h in ("r-1", "r-2", "r-3", "r-4")
    ]  # fmt: skip
    _write(evidence, "observations.jsonl", seen)
    waiver = {"rule": "FLEET-001", "subject": "RT-0:*", "reason": "run cancelled",
              "approved_by": "lee@example.com", "expires": "2024-12-31"}  # fmt: skip
    _write(evidence, "waivers.jsonl", [waiver])
    (evidence / "flag_events.yaml").unlink()
    result = run_cli(*args)
    assert result.code == (0 if r4 == V2 else 1), result.err + result.out
    drifts = {f["subject"] for f in result.json()["findings"] if f["rule"] == "FLEET-002"}
    assert drifts == (set() if r4 == V2 else {"RT-2:r-4"})
