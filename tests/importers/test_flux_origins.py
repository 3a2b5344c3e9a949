"""What a deployed thing says of its own origin is no proof of it. A Kustomization reconciled
from an OCI artifact (``flux push artifact``): its revision is the artifact's digest, and its
``originRevision`` the ``org.opencontainers.image.revision`` that whoever pushed it wrote. A
HelmRelease's chart version: its build metadata is the commit only where Flux wrote it there
(``reconcileStrategy: Revision``), else whatever the chart's Chart.yaml says. Neither claim is
the commit deployed: the import refuses the revision until ``--revision-commit`` ties it to a
commit. Real git repositories, the real
engine, the recorded Kustomization of tests/importers/fixtures/kubernetes/ changed only where
the scenario needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import (
    Reconciled,
    Released,
    from_oci,
    helm_release,
    kustomization,
    write_list,
)
from tests.importers.test_kubernetes import DEV, Case, findings, targets

DIGEST = "latest@sha256:" + "3b6cdcc7adcc9a84d3214ee1c029543789d90b5ae69debe9efa3f66e982875de"
SIGN_OFF = ("--approval", "lee@example.com,2024-06-04T09:30:00Z")


@pytest.fixture
def case(tmp_path: Path) -> Case:
    case = Case(tmp_path)
    (case.evidence / "fleet.yaml").write_text(
        "services:\n  checkout:\n    clusters:\n"
        "      - {name: eu-west-1, namespace: shop, workload: checkout}\n"
    )
    return case


def _pushed(case: Case) -> Path:
    """One artifact applied, whose pusher wrote v2's commit as its origin (nothing in the
    object says what the artifact was built from)."""
    item = kustomization("checkout", [
        Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-05T09:00:00Z"),
    ])  # fmt: skip
    return write_list(case.work / "flux.json", [from_oci(item, {case.v2: DIGEST})])


def _flux(case: Case, path: Path, *extra: str) -> tuple[int, str]:
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout",
                      "--deployer", "ops@example.com", *extra)  # fmt: skip
    return result.code, result.err


def test_an_artifacts_claimed_origin_is_not_the_commit_deployed(case: Case) -> None:
    """The pusher's originRevision named reviewed v2, signed off; the artifact held an
    unreviewed hotfix's manifests. It was recorded as v2's deployment and the check passed."""
    case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    path = _pushed(case)
    code, err = _flux(case, path, "--revision", case.v2, *SIGN_OFF)
    assert code == 2
    assert f"revision '{DIGEST}' on cluster eu-west-1 is not a git commit" in err
    assert (
        f"the artifact says it was built from main@sha1:{case.v2} (its originRevision, the "
        "org.opencontainers.image.revision annotation that whoever pushed it sets), which "
        "nothing ties to what was deployed"
    ) in err
    assert f"--revision-commit {DIGEST}=SHA, once you have checked that it was" in err
    assert "Traceback" not in err
    assert not (case.evidence / "deploys.jsonl").exists()  # nothing half-written


def test_a_digest_tied_to_another_commit_than_its_claim_is_refused(case: Case) -> None:
    """The pusher's originRevision named reviewed v2; the digest is mapped to the hotfix. One of
    the two is wrong, and nothing shows which: refused, never advising the claimed commit."""
    hot = case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    code, err = _flux(case, _pushed(case), "--revision-commit", f"{DIGEST}={hot}")
    assert code == 2
    assert f"says it was built from commit {case.v2[:12]}" in err
    assert "where it is wrong, record the rollout by hand" in err
    assert f"={case.v2}" not in err and "Traceback" not in err
    assert not (case.evidence / "deploys.jsonl").exists()


def _charted(case: Case, strategy: str | None) -> Path:
    """A chart built at the unreviewed hotfix whose Chart.yaml says version 1.1.0+<v2>."""
    item = helm_release(
        "checkout", [Released(1, f"1.1.0+{case.v2[:12]}", "2024-06-05T10:00:00Z")],
        strategy=strategy,
    )  # fmt: skip
    return write_list(case.work / "helm.json", [item])


def test_a_chart_versions_own_build_metadata_is_not_the_commit_deployed(case: Case) -> None:
    """With Flux's default reconcileStrategy (ChartVersion) the chart version is what its
    Chart.yaml says: the chart's author wrote v2's commit there, the chart came from an
    unreviewed commit, and the release was recorded as v2's deployment, signed off: the check
    passed."""
    case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    code, err = _flux(case, _charted(case, None), "--revision", case.v2, *SIGN_OFF)
    assert code == 2
    assert (
        f"revision '1.1.0+{case.v2[:12]}' on cluster eu-west-1 is not a git commit (an OCI "
        f"artifact's digest or a chart version); its build metadata {case.v2[:12]} is the "
        "chart's own version, as its Chart.yaml says it: Flux writes the commit there only "
        "for a chart it builds from a GitRepository with spec.chart.spec.reconcileStrategy: "
        "Revision"
    ) in err
    assert "Traceback" not in err and not (case.evidence / "deploys.jsonl").exists()


def test_build_metadata_flux_wrote_names_the_commit(case: Case) -> None:
    """reconcileStrategy: Revision from a GitRepository: source-controller replaces the build
    metadata with the commit it fetched."""
    code, err = _flux(case, _charted(case, "Revision"))
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert record["commit"] == case.v2


def _hotfix_pushed(case: Case) -> tuple[str, Path]:
    """An unreviewed hotfix's manifests pushed as an artifact whose originRevision says so
    (``flux push artifact --revision main@sha1:HOTFIX``, as a build pipeline writes it)."""
    hot = case.repo.commit("hotfix", {"app": "3"}, author=DEV, date="2024-06-05T08:00:00Z")
    item = kustomization("checkout", [
        Reconciled(hot, "2024-06-05T10:11:00Z", "2024-06-05T12:00:00Z"),
    ])  # fmt: skip
    return hot, write_list(case.work / "flux.json", [from_oci(item, {hot: DIGEST})])


def test_a_mapping_the_artifact_contradicts_is_refused(case: Case) -> None:
    """The artifact says it was built from the unreviewed hotfix; the team mapped its digest to
    reviewed v2, signed off. The rollout was recorded as v2's, and the check passed (exit 0)."""
    hot, path = _hotfix_pushed(case)
    code, err = _flux(case, path, "--revision-commit", f"{DIGEST}={case.v2}",
                      "--revision", case.v2, *SIGN_OFF)  # fmt: skip
    assert code == 2
    assert (
        f"--revision-commit maps '{DIGEST}' to {case.v2[:12]}, but the artifact cluster "
        f"eu-west-1 ran says it was built from commit {hot[:12]}"
    ) in err
    assert "Traceback" not in err
    assert not (case.evidence / "deploys.jsonl").exists()  # nothing half-written


def test_a_digest_tied_to_its_commit_is_judged_as_that_commit(case: Case) -> None:
    """Whoever ties the digest to the commit it was built from (here the one its
    originRevision names) answers for it; the record then names that commit, and the review
    rules judge it."""
    hot, path = _hotfix_pushed(case)
    code, err = _flux(case, path, "--revision-commit", f"{DIGEST}={hot}")
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert record["commit"] == hot
    assert targets(record) == {"eu-west-1": "succeeded"} and "ref" not in record
    report = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                     "--format", "json", "--as-of", "2024-06-30").json()  # fmt: skip
    assert report["verdict"] == "fail"
    assert record["id"] in findings(report, "REVIEW-002")[hot]
