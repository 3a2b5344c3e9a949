"""Two Argo CD syncs of different commits dated in one second. Argo CD dates a sync
(``deployStartedAt``, ``deployedAt``) to the second, so a sync and the next one, a few hundred
milliseconds apart, read as one instant, and the check refused the pair (exit 2: "which of
them ran last cannot be told"). Argo CD's controller numbers each sync of an Application in
``status.history`` (``id``, one higher each time); the team cannot choose it without writing
the Application's status, which the controller overwrites. The import keeps it on each
cluster's target (``sequence``), and it orders the two."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.evidence.models import Deployment
from checker.facts.streams import sequence_order
from tests.importers.k8s_recordings import Synced, application
from tests.importers.k8s_scenario import CLUSTERS, DIGEST_V2, OPS, TAG_PATTERN, listing
from tests.importers.test_kubernetes import Case, findings

SECOND = "2024-06-04T10:00:00Z"


@pytest.mark.parametrize("newer", ["v2", "v1"])
def test_syncs_in_one_second_are_ordered_by_argo_cds_history_ids(
    tmp_path: Path, newer: str
) -> None:
    """Each cluster's Application synced both commits in one second, ``newer`` last (the higher
    history id); every cluster's pods then run v2. Only with v1 the newer is that a drift."""
    case = Case(tmp_path)
    first, last = (case.v1, case.v2) if newer == "v2" else (case.v2, case.v1)
    apps = [
        application(f"checkout-{c}", c, [Synced(first, SECOND, SECOND, OPS),
                                          Synced(last, SECOND, SECOND, OPS)])
        for c in CLUSTERS
    ]  # fmt: skip
    for app in apps:  # health assessed after both syncs
        app["status"]["reconciledAt"] = "2024-06-04T10:05:00Z"
    ids = [[entry["id"] for entry in app["status"]["history"]] for app in apps]
    assert all(a < b for a, b in ids)
    assert case.argocd(apps).code == 0
    for cluster in CLUSTERS:
        pods = listing(cluster, [(case.v2, DIGEST_V2)] * 3)
        assert case.pods(cluster, pods, "--tag-pattern", TAG_PATTERN).code == 0
    report = case.check()  # exit 2 before: the pair was refused
    drift = findings(report, "FLEET-002")
    if newer == "v2":
        assert not drift
    else:
        v1 = f"checkout-production-{case.v1[:12]}"
        assert set(drift) == {f"{v1}:{c}" for c in CLUSTERS}


def _numbered(ident: str, **sequences: int) -> Deployment:
    return Deployment.model_validate(
        {"id": ident, "service": "s", "environment": "e", "commit": ident,
         "started_at": SECOND, "deployer": OPS,
         "targets": [{"host": h, "status": "succeeded", "sequence": n}
                     for h, n in sequences.items()]}
    )  # fmt: skip


def test_clusters_whose_ids_disagree_or_are_not_shared_order_nothing() -> None:
    a = _numbered("a", eu=14, us=3)
    assert sequence_order(a, _numbered("b", eu=15, us=4)) == -1
    assert sequence_order(_numbered("b", eu=15, us=4), a) == 1
    assert sequence_order(a, _numbered("b", eu=15, us=2)) is None  # the clusters disagree
    assert sequence_order(a, _numbered("b", ap=20)) is None  # no cluster numbered by both
