"""A host fleet.yaml lists under two services runs each of them, and each is judged on its
own records: a deployment or an observation of the host under one service never counts for
the other (a co-located process of billing says nothing of router's)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.test_examples import ROOT, check_args

PARTIAL_ROLLOUT = ROOT / "evidence" / "examples" / "partial-rollout"
V1 = "ebedadc8ec3cb8de84414434f6c9dbd3e84544a2"
V2 = "7bef6e7b0668940b42f021f61d8c708f6f7d157a"
"""partial-rollout's two commits: RT-2 shipped V2 to r-1..r-3, and r-4 kept V1."""


def _shared(tmp_path: Path) -> list[str | Path]:
    """partial-rollout, with r-4 also a host of billing, where billing's deployment BL-1
    reached it with V2 and billing's process on it was seen running V2, after router's."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    (evidence / "fleet.yaml").write_text(
        "services:\n  router:\n    hosts: [r-1, r-2, r-3, r-4]\n  billing:\n    hosts: [b-1, r-4]\n"
    )
    deploys = evidence / "deploys.jsonl"
    billing = json.loads(deploys.read_text().splitlines()[1])
    billing.update(
        id="BL-1",
        service="billing",
        started_at="2024-05-02T10:05:00Z",
        finished_at="2024-05-02T10:35:00Z",
        targets=[{"host": "b-1", "status": "succeeded"}, {"host": "r-4", "status": "succeeded"}],
    )
    with deploys.open("a") as out:
        out.write(json.dumps(billing) + "\n")
    with (evidence / "observations.jsonl").open("a") as out:
        for host in ("b-1", "r-4"):
            seen = {"host": host, "service": "billing", "version": V2}
            out.write(json.dumps({**seen, "observed_at": "2024-05-02T11:30:00Z"}) + "\n")
    return args


def test_another_services_deployment_and_observations_of_a_host_do_not_clear_it(
    tmp_path: Path,
) -> None:
    result = run_cli(*_shared(tmp_path))
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]) for f in result.json()["findings"]}
    assert found == {
        ("FLEET-001", "RT-2:r-4"),  # BL-1 reached r-4: billing's process, not router's
        ("FLEET-002", "RT-2:r-4"),  # router's process on r-4 seen on V1; billing's on V2
        ("FLEET-003", "fast_path@2024-05-02T12:00:00Z"),
    }


def test_each_service_of_a_shared_host_is_judged_on_its_own_observations(
    tmp_path: Path,
) -> None:
    """router's process on r-4 still on V1 is no finding of billing's BL-1 to r-4."""
    args = _shared(tmp_path)
    result = run_cli(*args)
    subjects = {f["subject"] for f in result.json()["findings"]}
    assert not any(subject.startswith("BL-1") for subject in subjects), subjects
