"""A commit whose manifests carry ``kustomize.toolkit.fluxcd.io/reconcile: disabled``:
kustomize-controller neither applies the revision to such an object nor prunes it once the live
object carries it (fluxcd/kustomize-controller#484), and still reports
``ReconciliationSucceeded``. Real git repositories, the real engine, the recorded
Kustomization of tests/importers/fixtures/kubernetes/ (``spec.path: ./kustomize``) over
manifests laid out as stefanprodan/podinfo's ``kustomize/`` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import Reconciled, kustomization, write_list
from tests.importers.test_kubernetes import DEV, REVIEW, Case, findings

KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" \
    "resources:\n  - deployment.yaml\n"  # fmt: skip
"""podinfo's ``kustomize/kustomization.yaml``, its HPA and Service left out."""


def deployment(metadata: str = "") -> str:
    """podinfo's ``kustomize/deployment.yaml`` (trimmed), ``metadata`` added to its own."""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
{metadata}spec:
  minReadySeconds: 3
  revisionHistoryLimit: 5
  progressDeadlineSeconds: 60
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfod
        image: ghcr.io/stefanprodan/podinfo:6.9.1
"""


DISABLED = "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n"


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _imported(
    case: Case, files: dict[str, str | None], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """The target of the import of the Kustomization that applied a commit of ``files``,
    listed with ``annotations``."""
    commit = case.repo.commit("deploy", {"kustomize/kustomization.yaml": KUSTOMIZATION, **files},
                              author=DEV, date="2024-06-05T09:00:00Z", trailers=REVIEW)  # fmt: skip
    item = kustomization("podinfo", [Reconciled(commit, "2024-06-05T10:05:00Z",
                                                "2024-06-05T11:04:00Z")])  # fmt: skip
    if annotations:
        item["metadata"]["annotations"] = annotations
    path = write_list(case.work / "kustomizations.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "podinfo", "--service", "checkout")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    assert record["commit"] == commit
    (target,) = record["targets"]
    return dict(target)


def test_an_object_flux_does_not_reconcile_is_not_vouched_for(case: Case) -> None:
    """The commit annotates podinfo's Deployment ``reconcile: disabled``: Flux leaves it as
    it is live (an image set by hand included) and reports ``ReconciliationSucceeded``.
    Before, the snapshot was recorded succeeded and check passed (exit 0)."""
    target = _imported(case, {"kustomize/deployment.yaml": deployment(DISABLED)})
    assert target["status"] == "failed", target
    assert target["reason"].startswith(
        "Flux does not reconcile what the commit holds: kustomize/deployment.yaml in what "
        "Kustomization flux-system/podinfo applies of commit "
    )
    assert (
        "sets kustomize.toolkit.fluxcd.io/reconcile: disabled on Deployment podinfo"
        in (target["reason"])
    )
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                     "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
    assert result.code == 1, result.out
    assert any(s.endswith(":eu-west-1") for s in findings(result.json(), "FLEET-001"))


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"kustomize/deployment.yaml": deployment()}, "succeeded"),
        ({"kustomize/deployment.yaml": deployment(DISABLED.replace("disabled", "enabled"))},
         "succeeded"),
        ({"kustomize/deployment.yaml": deployment(
            "  labels:\n    kustomize.toolkit.fluxcd.io/reconcile: Disabled\n")}, "failed"),
        # A copy outside the folder the Kustomization applies is no one's.
        ({"kustomize/deployment.yaml": deployment(),
          "docs/example.yaml": deployment(DISABLED)}, "succeeded"),
        ({"kustomize/deployment.yaml": deployment(DISABLED) + "  bad: [\n"}, "failed"),
    ],
)  # fmt: skip
def test_only_what_the_kustomization_applies_counts(
    case: Case, files: dict[str, str | None], status: str
) -> None:
    target = _imported(case, files)
    assert target["status"] == status, target


@pytest.mark.parametrize(("value", "status"), [("disabled", "failed"), ("enabled", "succeeded")])
def test_a_kustomization_its_parent_no_longer_reconciles_is_not_vouched_for(
    case: Case, value: str, status: str
) -> None:
    """The Kustomization itself listed with ``reconcile: disabled``: flux-system no longer
    applies it from git, so its spec (``path``, ``sourceRef``) may be set by hand, and Flux
    keeps no spec per snapshot. Before, its snapshot was recorded succeeded (exit 0)."""
    target = _imported(case, {"kustomize/deployment.yaml": deployment()},
                       {"kustomize.toolkit.fluxcd.io/reconcile": value})  # fmt: skip
    assert target["status"] == status, target
    if status == "failed":
        assert target["reason"].startswith(
            "Flux does not reconcile what the commit holds: Kustomization podinfo itself "
            "carries kustomize.toolkit.fluxcd.io/reconcile: disabled, so the Kustomization "
            "that applies it no longer updates it from git"
        )


KEY = "kustomize.toolkit.fluxcd.io/reconcile"
ON_ALL = KUSTOMIZATION + f"commonAnnotations:\n  {KEY}: disabled\n"
"""podinfo's kustomization annotating everything it renders ``reconcile: disabled``."""
JSON_PATCH = (
    "patches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: add\n"
    f"      path: /metadata/annotations/{KEY.replace('/', '~1')}\n      value: disabled\n"
)


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"kustomize/kustomization.yaml": ON_ALL}, "failed"),
        ({"kustomize/kustomization.yaml": ON_ALL.replace("commonAnnotations", "commonLabels")},
         "failed"),
        ({"kustomize/kustomization.yaml": KUSTOMIZATION + f"labels:\n- pairs:\n    {KEY}: "
          "disabled\n"}, "failed"),
        ({"kustomize/kustomization.yaml": KUSTOMIZATION + JSON_PATCH}, "failed"),
        ({"kustomize/kustomization.yaml": ON_ALL.replace("disabled", "enabled")}, "succeeded"),
        ({"kustomize/deployment.yaml": deployment(
            "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n")}, "failed"),
        ({"kustomize/deployment.yaml": deployment(
            "  labels:\n    kustomize.toolkit.fluxcd.io/ssa: ignore\n")}, "failed"),
        ({"kustomize/deployment.yaml": deployment(
            "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Merge\n")}, "succeeded"),
        # Flux's postBuild substitutes ${var} in what it applies, from values no commit holds.
        ({"kustomize/deployment.yaml": deployment(
            "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: ${reconcile}\n")},
         "failed"),
        ({"kustomize/deployment.yaml": deployment(
            "  labels:\n    kustomize.toolkit.fluxcd.io/${how}: ${mode:=enabled}\n")},
         "failed"),
        ({"kustomize/kustomization.yaml": ON_ALL.replace("disabled", "${podinfo_sync}")},
         "failed"),
        ({"kustomize/deployment.yaml": deployment(
            "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Merge-${x}\n"
            "    app.kubernetes.io/env: ${cluster_env}\n")}, "succeeded"),
    ],
)  # fmt: skip
def test_what_a_kustomization_or_the_apply_method_skips_counts(
    case: Case, files: dict[str, str | None], status: str
) -> None:
    """The annotation set on what podinfo's kustomization renders (``commonAnnotations``,
    ``commonLabels``, ``labels``, a JSON patch adding it), or the Deployment annotated
    ``kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`` (created where missing, never applied
    again) or ``Ignore`` (never applied): Flux leaves the Deployment as it is live and reports
    ``ReconciliationSucceeded``. Before, each was recorded succeeded (check exit 0): only an
    object's own ``reconcile`` annotation was read. So was a key or value that Flux's
    ``postBuild`` substitution (``${reconcile}``, set in a ConfigMap no commit holds) may make
    one of these; a substitution that cannot spell one leaves the object reconciled."""
    target = _imported(case, {"kustomize/deployment.yaml": deployment(), **files})
    assert target["status"] == status, target
    if status == "failed":
        assert target["reason"].startswith("Flux does not reconcile what the commit holds: "), (
            target
        )


def test_a_kustomization_annotating_what_it_applies_is_not_vouched_for(case: Case) -> None:
    """The listed Kustomization's ``spec.commonMetadata.annotations`` set ``reconcile:
    disabled`` on everything it applies. Before, the snapshot was recorded succeeded."""
    commit = case.repo.commit("deploy", {"kustomize/kustomization.yaml": KUSTOMIZATION,
                                         "kustomize/deployment.yaml": deployment()},
                              author=DEV, date="2024-06-05T09:00:00Z", trailers=REVIEW)  # fmt: skip
    item = kustomization("podinfo", [Reconciled(commit, "2024-06-05T10:05:00Z",
                                                "2024-06-05T11:04:00Z")])  # fmt: skip
    item["spec"]["commonMetadata"] = {"annotations": {KEY: "disabled"}}
    path = write_list(case.work / "kustomizations.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "podinfo", "--service", "checkout")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    (target,) = record["targets"]
    assert target["status"] == "failed", target
    assert "spec.commonMetadata or spec.patches" in target["reason"], target
