"""A deployment that gives no ``finished_at`` (a rollout still running, or a record that does not
say) never says when it reached a host. It once had no FLEET-002 window at all, so a rollout
record of new code that said it succeeded on every host, with one host seen on the old code for
weeks, was judged by nothing and passed: Knight Capital's case, the new code on seven of eight
servers. Now the evidence says what the record does not: a host seen running a commit only this
deployment can have put there was reached by then, and a target it says succeeded runs its
commit at its last observation before the next deployment started."""

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
HOSTS = ("r-1", "r-2", "r-3", "r-4")


def _unfinished(
    tmp_path: Path,
    seen: list[tuple[str, str, str]],
    after: tuple[dict[str, Any], ...] = (),
    waivers: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """partial-rollout with RT-2 (V2) saying it succeeded on all four hosts and giving no
    ``finished_at``, each of ``after`` over a copy of RT-2 as a deployment after it, no flag
    event, ``seen`` (host, commit, time) as the observations, and ``waivers``, if any: the JSON
    report of the check."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    deploys = [json.loads(line) for line in (evidence / "deploys.jsonl").read_text().splitlines()]
    del deploys[1]["finished_at"]
    deploys[1]["targets"].append({"host": "r-4", "status": "succeeded"})
    deploys += [{**deploys[1], **later} for later in after]
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (evidence / "observations.jsonl").write_text(
        "".join(
            json.dumps({"host": host, "service": "router", "version": commit, "observed_at": at})
            + "\n"
            for host, commit, at in seen
        )
    )
    (evidence / "flag_events.yaml").unlink()
    if waivers is not None:
        (evidence / "waivers.yaml").write_text(json.dumps(waivers))
    result = run_cli(*args)
    assert result.code in (0, 1), result.err
    report: dict[str, Any] = {**result.json(), "code": result.code}
    return report


def _fleet_002(report: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The FLEET-002 findings by subject, and what the report says of the rule's evidence."""
    findings = {f["subject"]: f["message"] for f in report["findings"] if f["rule"] == "FLEET-002"}
    (status,) = [r for r in report["summary"]["rules"] if r["id"] == "FLEET-002"]
    return findings, status.get("reason") or ""


def test_a_rollout_that_never_finished_and_left_a_host_on_the_old_code_fails(
    tmp_path: Path,
) -> None:
    """RT-2 says it succeeded on all four hosts and never finished. r-1..r-3 run V2 at 11:00 and
    three weeks later; r-4 runs V1 both times. The check passed: RT-2 had no window, and r-4's
    observations matched RT-1's commit."""
    seen = [
        (host, V1 if host == "r-4" else V2, at)
        for host in HOSTS
        for at in ("2024-05-02T11:00:00Z", "2024-05-23T11:00:00Z")
    ]
    report = _unfinished(tmp_path, seen)
    assert report["code"] == 1
    findings, reason = _fleet_002(report)
    assert set(findings) == {"RT-2:r-4"}
    assert (
        f"Host r-4 was observed running {V1[:12]} at 2024-05-23T11:00:00Z, not {V2[:12]} from "
        "deployment RT-2" in findings["RT-2:r-4"]
    )
    assert "finished_at" not in reason  # every observation was judged
    # r-4's last observation alone was judged: the message said those "between that
    # deployment and the next" were
    assert (
        "(1 of 1 observations at the host's last observed instant since that deployment started "
        "disagree; that deployment gives no finished_at, so only those were judged)"
        in findings["RT-2:r-4"]
    )


def test_a_host_seen_on_the_new_code_and_then_on_the_old_drifted(tmp_path: Path) -> None:
    """r-1 runs V2 at 11:00, V1 at 12:00 and V2 again at 13:00; the others run V2. Only RT-2
    can have put V2 on r-1, so it had reached r-1 by 11:00: the observation at 12:00 is a drift
    from it. It passed: no window held it, and V1 is RT-1's commit."""
    seen = [(host, V2, "2024-05-02T13:00:00Z") for host in HOSTS]
    seen += [("r-1", V2, "2024-05-02T11:00:00Z"), ("r-1", V1, "2024-05-02T12:00:00Z")]
    report = _unfinished(tmp_path, seen)
    assert report["code"] == 1
    findings, _ = _fleet_002(report)
    assert set(findings) == {"RT-2:r-1"}
    assert f"running {V1[:12]} at 2024-05-02T12:00:00Z, not {V2[:12]}" in findings["RT-2:r-1"]
    assert "(1 of 3 observations" in findings["RT-2:r-1"]


def test_a_rollout_that_never_finished_is_judged_where_the_evidence_shows_it(
    tmp_path: Path,
) -> None:
    """Every host seen on V2 after RT-2 started: nothing disagrees, and every observation was
    judged. The report named RT-2 as a deployment after which only targets that give their own
    finish were judged, though none was left unjudged."""
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS]
    report = _unfinished(tmp_path, seen)
    assert report["code"] == 0
    findings, reason = _fleet_002(report)
    assert not findings
    assert "finished_at" not in reason and "RT-2" not in reason, reason


def test_a_host_seen_on_the_old_code_before_the_rollout_reached_it_is_no_drift(
    tmp_path: Path,
) -> None:
    """r-1 at 10:10 and r-4 at 10:20 are seen on V1, RT-1's commit, then every host on V2 at
    12:00: RT-2 had not reached them yet. RT-1's window judges those two, and RT-2's the rest;
    nothing is left unjudged, and nothing disagrees."""
    seen = [(host, V2, "2024-05-02T12:00:00Z") for host in HOSTS]
    seen += [("r-1", V1, "2024-05-02T10:10:00Z"), ("r-4", V1, "2024-05-02T10:20:00Z")]
    report = _unfinished(tmp_path, seen)
    assert report["code"] == 0
    findings, reason = _fleet_002(report)
    assert not findings
    assert "RT-2" not in reason, reason


REDEPLOY = {
    "id": "RT-3",
    "started_at": "2024-05-03T10:00:00Z",
    "finished_at": "2024-05-03T10:40:00Z",
    "approvals": [{"by": "lee@example.com", "at": "2024-05-03T09:30:00Z"}],
}
"""A redeploy of V2 to all four hosts the day after RT-2 started, that finished."""


@pytest.mark.parametrize(
    ("at", "later"),
    [
        ("2024-05-03T10:10:00Z", REDEPLOY),  # while the next deployment rolled out
        ("2024-05-03T10:00:00Z", REDEPLOY),  # in the instant it started
        ("2024-05-03T10:10:00Z", {**REDEPLOY, "finished_at": None}),  # which never finished
    ],
)
def test_a_host_seen_on_the_old_code_once_the_next_deployment_started_drifted(
    tmp_path: Path, at: str, later: dict[str, Any]
) -> None:
    """RT-2 says it succeeded on r-4 and never finished; r-4 is first seen, on V1, once RT-3
    had started, and after RT-3 finished on V2 like the others. RT-2 had reached r-4 by the
    time RT-3 started, so that observation is a drift from it. It passed (exit 0, the report
    saying r-4 was never observed after RT-2): RT-2 held no observation of r-4, and V1 was the
    commit of RT-1, which judged it."""
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]]
    seen += [(host, V2, "2024-05-03T11:00:00Z") for host in HOSTS]
    seen.append(("r-4", V1, at))
    report = _unfinished(tmp_path, seen, ({k: v for k, v in later.items() if v is not None},))
    assert report["code"] == 1
    findings, reason = _fleet_002(report)
    assert set(findings) == {"RT-2:r-4"}
    assert f"running {V1[:12]} at {at}, not {V2[:12]} from deployment RT-2" in findings["RT-2:r-4"]
    assert (
        "(1 of 1 observations once the next deployment had started, until a later one reached "
        "the host disagree;" in findings["RT-2:r-4"]
    )
    assert "RT-2:r-4" not in reason, reason


def test_a_host_a_redeploy_last_saw_on_its_commit_is_still_judged_once_the_next_started(
    tmp_path: Path,
) -> None:
    """RT-3 redeploys V2 and never finishes; RT-4 redeploys it again and finishes. r-4 is seen
    on V2 while RT-3 runs, and on V1 while RT-4 rolls out: a drift from RT-3, which had reached
    r-4 when RT-4 started. The window that held it was replaced by r-4's last observation
    before RT-4 started, which agreed, and the check passed."""
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]]
    seen += [("r-4", V2, "2024-05-03T11:00:00Z"), ("r-4", V1, "2024-05-04T10:10:00Z")]
    seen += [(host, V2, "2024-05-04T11:00:00Z") for host in HOSTS]
    after = (
        {"id": "RT-3", "started_at": "2024-05-03T10:00:00Z"},
        {**REDEPLOY, "id": "RT-4", "started_at": "2024-05-04T10:00:00Z",
         "finished_at": "2024-05-04T10:40:00Z"},
    )  # fmt: skip
    report = _unfinished(tmp_path, seen, after)
    assert report["code"] == 1
    findings, _ = _fleet_002(report)
    assert set(findings) == {"RT-3:r-4"}
    assert "(1 of 2 observations" in findings["RT-3:r-4"]


@pytest.mark.parametrize(
    ("before", "said"),
    [
        (
            [("r-4", V1, "2024-05-02T09:00:00Z")],
            f"last observed running {V1[:12]} at 2024-05-02T09",
        ),
        ([], "not observed at all"),
    ],
)
def test_a_host_not_seen_since_a_rollout_that_never_finished_is_not_reached(
    tmp_path: Path, before: list[tuple[str, str, str]], said: str
) -> None:
    """RT-2, the stream's newest, says it succeeded on all four hosts and never finished;
    r-1..r-3 run V2 after it started, and r-4 is seen only before it, on V1 (or never). The
    record does not say when it reached r-4, no deployment after it says it had, and no
    observation shows it: the check passed, noting r-4 as never observed after RT-2
    (``--require-all`` alone failed it). Knight's eighth server is the host nobody looked at
    after the rollout."""
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]] + before
    report = _unfinished(tmp_path, seen)
    assert report["code"] == 1
    (finding,) = [f for f in report["findings"] if f["subject"] == "RT-2:r-4"]
    assert finding["rule"] == "FLEET-001"
    assert (
        "did not reach host r-4: succeeded at a time the record does not give" in finding["message"]
    )
    assert said in finding["message"]


def test_a_host_not_seen_since_a_rollout_a_later_one_followed_is_the_later_ones_business(
    tmp_path: Path,
) -> None:
    """RT-2 never finished, and RT-3, which did, redeployed V2 to all four hosts the next day;
    r-4 is seen only before RT-2, and every host on V2 after RT-3 finished. RT-2 is not the
    newest: RT-3 says it reached r-4, and r-4 was seen on V2 after it, so nothing is found."""
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]]
    seen += [("r-4", V1, "2024-05-02T09:00:00Z")]
    seen += [(host, V2, "2024-05-03T11:00:00Z") for host in HOSTS]
    report = _unfinished(tmp_path, seen, (REDEPLOY,))
    assert report["code"] == 0, report["findings"]


@pytest.mark.parametrize(
    "later",
    [
        {**REDEPLOY, "commit": V1},  # a rollback to V1, which finished
        # a deployment after it that reached no host says nothing of any host
        {**REDEPLOY, "commit": V1, "targets": [{"host": h, "status": "failed"} for h in HOSTS]},
    ],
    ids=["rollback", "failed"],
)
def test_a_host_not_seen_since_a_rollout_that_never_finished_is_not_reached_whatever_followed(
    tmp_path: Path, later: dict[str, Any]
) -> None:
    """RT-2 never finished and says it succeeded on all four hosts; r-4 is seen only before it,
    on V1. Then RT-3 rolls back to V1, and every host is seen on V1 after it; or RT-3, of V1
    too, fails on every host. Only the stream's newest was asked, so RT-2 was left to RT-3,
    which never says r-4 ran V2, and the check passed (exit 0 with the rollback; with the
    failure, a waiver of RT-3's findings passed it): nothing shows r-4 ever ran the code RT-2
    says it put there while r-1..r-3 did."""
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]]
    seen += [("r-4", V1, "2024-05-02T09:00:00Z")]
    seen += [(host, V1, "2024-05-03T11:00:00Z") for host in HOSTS]
    report = _unfinished(tmp_path, seen, (later,))
    assert report["code"] == 1
    findings = {f["subject"]: f["message"] for f in report["findings"] if f["rule"] == "FLEET-001"}
    assert {s for s in findings if s.startswith("RT-2:")} == {"RT-2:r-4"}
    assert (
        "not observed from its start until deployment RT-3 started (last observed running "
        f"{V1[:12]} at 2024-05-02T09:00:00Z)" in findings["RT-2:r-4"]
    )


def test_a_host_seen_on_a_rollouts_commit_before_a_later_one_reached_any_was_reached(
    tmp_path: Path,
) -> None:
    """RT-3, after RT-2 that never finished, fails on every host; r-4 is seen on V2 only once
    RT-3 had started. Nothing but RT-2 put V2 there, so RT-2 reached it: no FLEET-001 of RT-2."""
    failed = [{"host": h, "status": "failed"} for h in HOSTS]
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]]
    seen += [("r-4", V2, "2024-05-03T11:00:00Z")]
    report = _unfinished(tmp_path, seen, ({**REDEPLOY, "commit": V1, "targets": failed},))
    subjects = {f["subject"] for f in report["findings"] if f["rule"] == "FLEET-001"}
    assert subjects == {f"RT-3:{host}" for host in HOSTS}


def test_a_redeploy_answers_only_for_the_hosts_it_says_it_reached(tmp_path: Path) -> None:
    """RT-2 never finished and says it succeeded on all four hosts; r-4 is seen only before
    it, on V1. RT-3 redeploys V2 the next day and fails on r-4, a failure waived. RT-2 was left
    to RT-3 for every host, though RT-3 says nothing reached r-4, and the check passed (exit
    0): nothing shows r-4 ever ran V2."""
    targets = [{"host": h, "status": "failed" if h == "r-4" else "succeeded"} for h in HOSTS]
    seen = [(host, V2, "2024-05-02T11:00:00Z") for host in HOSTS[:3]]
    seen += [("r-4", V1, "2024-05-02T09:00:00Z")]
    seen += [(host, V2, "2024-05-03T11:00:00Z") for host in HOSTS[:3]]
    waiver = {
        "rule": "FLEET-001",
        "subject": "RT-3:r-4",
        "reason": "r-4 was down for maintenance",
        "approved_by": "lee@example.com",
        "expires": "2024-12-31",
    }
    report = _unfinished(tmp_path, seen, ({**REDEPLOY, "targets": targets},), [waiver])
    assert report["code"] == 1
    findings = {f["subject"]: f for f in report["findings"] if f["rule"] == "FLEET-001"}
    assert set(findings) == {"RT-2:r-4", "RT-3:r-4"}
    assert not findings["RT-2:r-4"]["waived"]
    assert (
        "not observed from its start until deployment RT-3 started (last observed running "
        f"{V1[:12]} at 2024-05-02T09:00:00Z)" in findings["RT-2:r-4"]["message"]
    )
