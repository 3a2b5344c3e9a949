"""What a pod listing itself says of when it was taken and of what it holds, against the
command line's word: a listing backdated before a rollout it should show incomplete, shown up
by any pod in it (a CronJob's finished run, another namespace's); and a listing narrowed by a
selector, shown up by its workloads' own count of their pods. Pods derived from the recorded
listing, a Job's pod and a Deployment as the API serves them (fixtures/kubernetes/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.importers.k8s_recordings import job_pod, write_list
from tests.importers.k8s_scenario import DIGEST_V1, DIGEST_V2, TAG_PATTERN, applications, listing
from tests.importers.test_kubernetes import Case, findings

BACKDATED = "2024-06-04T10:01:00Z"
"""Before v2's sync on us-east-1 (10:02:40): an observation of v1 then is no finding."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _backdated(case: Case, items: list[dict[str, Any]], at: str = BACKDATED) -> Any:
    path = write_list(case.work / "pods-us-east-1.json", items)
    return case.cli(
        "kubectl-pods", path, "--cluster", "us-east-1", "--service", "checkout",
        "--observed-at", at, "--tag-pattern", TAG_PATTERN,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("where", "phase"),
    [("shop", "Succeeded"), ("shop", "Failed"), ("batch", "Running")],
)
def test_any_pod_of_the_listing_dates_it(case: Case, where: str, phase: str) -> None:
    """v2 was synced to us-east-1 at 10:02:40 and none of its pods moved. Listed at 11:00 and
    given as 10:01, the listing of old pods stood in v1's window and FLEET-002 passed. A
    CronJob's run created at 10:55 (finished, failed or still running, in the namespace or
    another) says the listing was taken after it."""
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    old = (case.v1, DIGEST_V1)
    items = listing("us-east-1", [old, old, old])
    items.append(job_pod("report-28624655", where, phase, "2024-06-04T10:55:00Z"))
    backdated = _backdated(case, items)
    assert backdated.code == 2, backdated.err
    assert "pod report-28624655-x7k2p" in backdated.err
    assert "2024-06-04T10:55:00Z, after --observed-at 2024-06-04T10:01:00Z" in backdated.err
    assert "Traceback" not in backdated.err
    assert not (case.evidence / "observations.jsonl").exists()
    # Given its time, the same listing shows the sync that never moved the pods.
    honest = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert honest.code == 0, honest.err
    drift = findings(case.check(), "FLEET-002")
    assert f"checkout-production-{case.v2[:12]}:us-east-1" in drift


def test_a_new_pod_s_creation_dates_the_listing(case: Case) -> None:
    """A pod created after the time given, whatever its conditions say (a listing whose
    conditions were cut, or a pod whose conditions were set before it was recreated)."""
    new = (case.v2, DIGEST_V2)
    items = listing("us-east-1", [new, new, new])
    for item in items:
        item["metadata"]["creationTimestamp"] = "2024-06-04T10:40:00Z"
        del item["status"]["conditions"]
    result = _backdated(case, items)
    assert result.code == 2, result.err
    assert "metadata.creationTimestamp 2024-06-04T10:40:00Z, after --observed-at" in result.err
    assert not (case.evidence / "observations.jsonl").exists()


def test_an_unreadable_time_in_any_pod_is_refused(case: Case) -> None:
    new = (case.v2, DIGEST_V2)
    items = listing("us-east-1", [new, new, new])
    items.append(job_pod("report-28624655", "batch", "Succeeded", "2024-06-04T10:55:00Z"))
    items[-1]["metadata"]["creationTimestamp"] = "yesterday"
    result = _backdated(case, items, at="2024-06-04T11:00:00Z")
    assert result.code == 2 and "report-28624655-x7k2p" in result.err
    assert "Traceback" not in result.err
