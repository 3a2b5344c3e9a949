"""Three deployments of one stream that start in one instant, each pair told apart (two pairs
by the deploy tool's sequence numbers, the third by its finishes), but in a circle: RT-A before
RT-B and RT-B before RT-C by the numbers, RT-C before RT-A by the finish. No order holds them
all, so which ran last cannot be told; the stream used to be sorted as the file listed them,
and the line order chose the verdict."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.test_examples import ROOT, check_args

PARTIAL_ROLLOUT = ROOT / "evidence" / "examples" / "partial-rollout"
V1 = "ebedadc8ec3cb8de84414434f6c9dbd3e84544a2"
V2 = "7bef6e7b0668940b42f021f61d8c708f6f7d157a"
START = "2024-05-02T10:00:00Z"


def _deployment(ident: str, commit: str, second: int, *sequences: int | None) -> dict[str, Any]:
    """A deployment of router started at START and finished ``second`` seconds later, having
    succeeded on r-1 and r-2 with those ``sequences`` (None: not numbered)."""
    targets = [
        {"host": host, "status": "succeeded"} | ({} if number is None else {"sequence": number})
        for host, number in zip(("r-1", "r-2"), sequences, strict=True)
    ]
    return {
        "id": ident,
        "service": "router",
        "environment": "production",
        "commit": commit,
        "started_at": START,
        "finished_at": f"2024-05-02T10:00:0{second}Z",
        "deployer": "ops@example.com",
        "approvals": [{"by": "lee@example.com", "at": "2024-05-02T09:30:00Z"}],
        "targets": targets,
    }


CIRCLE = [
    _deployment("RT-A", V1, 5, 1, None),
    _deployment("RT-B", V2, 3, 2, 1),
    _deployment("RT-C", V1, 2, None, 2),
]


def _check(tmp_path: Path, deployments: list[dict[str, Any]], *extra: str | Path) -> Any:
    """partial-rollout on r-1 and r-2 alone, RT-1 (V1) and then ``deployments`` in that line
    order, both hosts seen on V1 at 11:00, no flag event: the check's result."""
    args, _ = check_args(PARTIAL_ROLLOUT, tmp_path)
    evidence = tmp_path / "evidence"
    first = json.loads((evidence / "deploys.jsonl").read_text().splitlines()[0])
    first["targets"] = [t for t in first["targets"] if t["host"] in ("r-1", "r-2")]
    listed = [first, *deployments]
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in listed))
    (evidence / "fleet.yaml").write_text("services:\n  router:\n    hosts: [r-1, r-2]\n")
    seen = [
        {"host": h, "service": "router", "version": V1, "observed_at": "2024-05-02T11:00:00Z"}
        for h in ("r-1", "r-2")
    ]
    (evidence / "observations.jsonl").write_text("".join(json.dumps(o) + "\n" for o in seen))
    (evidence / "flag_events.yaml").unlink()
    return run_cli(*args, *extra)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
def test_deployments_of_one_instant_ordered_in_a_circle_are_refused(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    """Both hosts are seen on V1 afterwards. Listed A, B, C the check passed (exit 0: RT-C of
    V1 sorted last); listed B, A, C it failed (RT-B of V2 last). Every order is now refused."""
    output = tmp_path / "report.json"
    result = _check(tmp_path, [CIRCLE[i] for i in order], "--output", output)
    assert result.code == 2, result.out
    assert "orders them in a circle: which of them ran last cannot be told" in result.err
    assert "deploys.jsonl:" in result.err and "Traceback" not in result.err
    assert not output.exists()


def test_three_of_one_instant_numbered_in_one_order_are_not_refused(tmp_path: Path) -> None:
    """RT-A, RT-B and RT-C numbered 1, 2, 3 on r-1: one order, whatever the finishes say; the
    hosts seen on V1 after RT-C (V1), the newest, pass."""
    listed = [
        _deployment("RT-C", V1, 2, 3, None),
        _deployment("RT-A", V1, 5, 1, None),
        _deployment("RT-B", V2, 3, 2, 1),
    ]
    result = _check(tmp_path, listed)
    assert result.code == 0, result.err
    assert not result.json()["findings"]
