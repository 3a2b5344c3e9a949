"""A Flux Kustomization or HelmRelease can render its revision with images, patches, variables
or values set in the object itself (``spec.images``, ``spec.postBuild.substitute``,
``spec.values``, ``spec.valuesFrom`` a ConfigMap): the cluster then runs what the commit does
not hold alone. Each success is recorded ``failed``, naming them. Real git repositories, the
real engine, the recorded objects of tests/importers/fixtures/kubernetes/ with the overrides
as Flux's own documentation writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import (
    Reconciled,
    Released,
    helm_release,
    kustomization,
    write_list,
)
from tests.importers.k8s_scenario import CLUSTERS, OPS
from tests.importers.test_kubernetes import Case, findings, targets

FLUX_OVERRIDDEN = "Flux rendered it with overrides set in the object, not in git"
IMAGES = [{"name": "podinfo", "newName": "my-registry/podinfo", "newTag": "v1"}]
"""``spec.images`` as kustomize-controller's ``docs/spec/v1/kustomizations.md`` ("Images")
writes its first entry."""
SUBSTITUTE_FROM = [{"kind": "ConfigMap", "name": "cluster-vars", "optional": True}]
"""``spec.postBuild.substituteFrom`` as the same page ("Post build variable substitution")
writes its first entry."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _kustomizations(case: Case, **spec: Any) -> list[str]:
    """Each cluster's listing of one Kustomization that applied v1 then v2; ap-south-1's with
    ``spec`` set in its object."""
    files = []
    for cluster in CLUSTERS:
        v1 = Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z")
        v2 = Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-04T11:12:00Z")
        item = kustomization("podinfo", [v2, v1])
        if cluster == "ap-south-1":
            item["spec"].update(spec)
        files.append(f"{cluster}={write_list(case.work / f'{cluster}.json', [item])}")
    return files


def _flux(case: Case, files: list[str], *extra: str) -> tuple[int, str]:
    result = case.cli("flux", *files, "--name", "podinfo", "--service", "checkout", *extra)
    return result.code, result.err


def _check(case: Case) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                     "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
    return result.code, result.json()


def test_an_image_a_kustomization_sets_is_no_deployment_of_the_commit(case: Case) -> None:
    """ap-south-1's Kustomization sets ``spec.images``: it ran my-registry/podinfo:v1, which no
    commit names, and was recorded as running v2, signed off; check passed."""
    files = _kustomizations(case, images=IMAGES)
    for commit, at in ((case.v2, "2024-06-04T09:30:00Z"), (case.v1, "2024-06-03T09:30:00Z")):
        code, err = _flux(case, files, "--revision", commit, "--deployer", OPS,
                          "--approval", f"lee@example.com,{at}")  # fmt: skip
        assert code == 0, err
    v2 = next(r for r in case.records("deploys.jsonl") if r["commit"] == case.v2)
    assert targets(v2) == {**dict.fromkeys(CLUSTERS, "succeeded"), "ap-south-1": "failed"}
    (target,) = [t for t in v2["targets"] if t["host"] == "ap-south-1"]
    assert target["reason"] == (
        f"{FLUX_OVERRIDDEN}: Kustomization podinfo sets spec.images "
        "(podinfo=my-registry/podinfo:v1): what the cluster runs is not what the revision "
        "holds (the object as listed; Flux keeps no spec per snapshot); it carries no "
        "kustomize.toolkit.fluxcd.io/name and kustomize.toolkit.fluxcd.io/namespace labels: no "
        "Kustomization is known to apply it from the commit, so no manifest there is known to "
        "be the one applied"
    )
    code, report = _check(case)
    assert code == 1 and report["verdict"] == "fail"
    assert f"{v2['id']}:ap-south-1" in findings(report, "FLEET-001")


def test_variables_from_a_config_map_are_named(case: Case) -> None:
    """``postBuild.substitute`` and ``substituteFrom``: the variables by name, the ConfigMap by
    kind and name, no value (a value may be a secret)."""
    post_build = {"substitute": {"cluster_env": "prod"}, "substituteFrom": SUBSTITUTE_FROM}
    code, err = _flux(case, _kustomizations(case, postBuild=post_build), "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "ap-south-1"]
    assert (
        "spec.postBuild.substitute (cluster_env); spec.postBuild.substituteFrom "
        in (target["reason"])
    )
    assert "(ConfigMap/cluster-vars)" in target["reason"] and "prod" not in target["reason"]


def test_values_a_helm_release_sets_are_an_override(case: Case) -> None:
    """A chart built from the commit (its version's build metadata), with an image tag given
    in the HelmRelease's ``spec.values`` and values from a ConfigMap (``valuesFrom``)."""
    release = helm_release("checkout", [Released(1, f"1.1.0+{case.v2[:12]}",
                                                 "2024-06-04T10:00:00Z")])  # fmt: skip
    release["spec"]["values"] = {"image": {"tag": "hotfix"}}
    release["spec"]["valuesFrom"] = [{"kind": "ConfigMap", "name": "checkout-values"}]
    path = write_list(case.work / "helm.json", [release])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    assert record["commit"] == case.v2
    (target,) = record["targets"]
    assert target["status"] == "failed"
    assert target["reason"].startswith(
        f"{FLUX_OVERRIDDEN}: HelmRelease checkout sets spec.values; spec.valuesFrom "
        "(ConfigMap/checkout-values): "
    )
    assert "hotfix" not in target["reason"]


def test_values_files_of_the_charts_source_are_the_commits(case: Case) -> None:
    """``spec.chart.spec.valuesFiles`` are read from the chart's source at the revision: git's
    content, no override."""
    release = helm_release("checkout", [Released(1, f"1.1.0+{case.v2[:12]}",
                                                 "2024-06-04T10:00:00Z")])  # fmt: skip
    release["spec"]["chart"]["spec"]["valuesFiles"] = ["values-production.yaml"]
    path = write_list(case.work / "helm.json", [release])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    assert targets(record) == {"eu-west-1": "succeeded"}


def test_a_spec_that_is_not_an_object_is_refused(case: Case) -> None:
    item = kustomization("podinfo", [Reconciled(case.v1, "2024-06-03T10:05:00Z",
                                                "2024-06-04T10:04:00Z")])  # fmt: skip
    item["spec"]["postBuild"] = ["substitute"]
    path = write_list(case.work / "bad.json", [item])
    code, err = _flux(case, [f"eu-west-1={path}"])
    assert code == 2 and "bad.json" in err
    assert "Kustomization podinfo: spec.postBuild is not an object" in err
    assert "Traceback" not in err and not (case.evidence / "deploys.jsonl").exists()


def test_a_failure_for_an_override_stands_once_the_object_drops_it(case: Case) -> None:
    """ap-south-1 ran v1 and v2 with ``spec.images`` set in its Kustomization, both recorded
    failed; the team then removed the images from the object and imported again. Flux keeps no
    spec per snapshot, so the listing now says nothing of what those rollouts ran: before, both
    were rewritten succeeded and check passed (exit 0)."""
    overridden = _kustomizations(case, images=IMAGES)
    for commit, at in ((case.v2, "2024-06-04T09:30:00Z"), (case.v1, "2024-06-03T09:30:00Z")):
        code, err = _flux(case, overridden, "--revision", commit, "--deployer", OPS,
                          "--approval", f"lee@example.com,{at}")  # fmt: skip
        assert code == 0, err
    recorded = case.records("deploys.jsonl")
    code, err = _flux(case, _kustomizations(case), "--deployer", OPS)
    assert code == 0, err
    assert case.records("deploys.jsonl") == recorded
    for record in recorded:
        assert f"{record['id']}: ap-south-1 stays failed as recorded, for what its object" in err
    code, report = _check(case)
    assert code == 1 and report["verdict"] == "fail"
    assert {f"{r['id']}:ap-south-1" for r in recorded} <= set(findings(report, "FLEET-001"))


def test_a_success_is_still_rewritten_failed_by_an_override_read_later(case: Case) -> None:
    """The other way stays open: a success recorded before the object set an image is
    brought to failed once it does (the spec as listed stands for every snapshot)."""
    code, err = _flux(case, _kustomizations(case), "--revision", case.v2, "--deployer", OPS)
    assert code == 0, err
    code, err = _flux(case, _kustomizations(case, images=IMAGES), "--revision", case.v2,
                      "--deployer", OPS)  # fmt: skip
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert targets(record)["ap-south-1"] == "failed"
    assert len(case.records("superseded.jsonl")) == 1
