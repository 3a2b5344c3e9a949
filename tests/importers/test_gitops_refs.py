"""The branch or tag a GitOps tool was asked to follow, recorded as a deployment's ``ref``: read
from the recorded Argo CD Application (``targetRevision``) and Flux Kustomization
(``TAG@sha1:SHA``), left out when it is a sha, ``HEAD``, a chart version or a name git does not
allow, and never judged. Real git repositories, the real engine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from checker.importers.flux import git_ref
from tests.importers.k8s_recordings import (
    FIXTURES,
    Reconciled,
    kustomization,
    without_overrides,
    write_list,
)
from tests.importers.k8s_scenario import CLUSTERS, applications
from tests.importers.test_kubernetes import Case


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _refs(case: Case) -> dict[str, str | None]:
    return {r["commit"]: r.get("ref") for r in case.records("deploys.jsonl")}


def _with_target(apps: list[dict[str, Any]], target: object, **source: Any) -> None:
    """Every sync of ``apps`` asked for ``target`` (the history entries' and the last
    operation's source, as Argo CD keeps it)."""
    for app in apps:
        for entry in [*app["status"]["history"], app["status"]["operationState"]["syncResult"]]:
            entry["source"].update(targetRevision=target, **source)


def test_the_recorded_applications_target_revision_is_the_ref(case: Case) -> None:
    recorded = without_overrides(
        json.loads((FIXTURES / "argocd-applications.json").read_text())["items"][0]
    )
    assert recorded["status"]["history"][0]["source"]["targetRevision"] == "test-lla"
    revision = recorded["status"]["history"][0]["revision"]
    result = case.argocd([recorded], "--revision-commit", f"{revision}={case.v2}")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    assert record["ref"] == "test-lla" and record["commit"] == case.v2


@pytest.mark.parametrize(
    ("target", "source", "expected"),
    [
        ("release/2024-06", {}, "release/2024-06"),
        ("v2.1.0", {}, "v2.1.0"),
        ("HEAD", {}, None),  # the default branch, named by no one
        ("0123456789abcdef0123456789abcdef01234567", {}, None),  # a deployment asked by sha
        ("0123456", {}, None),
        ("main branch", {}, None),  # not a name git allows: left out, never an error
        ("x\x1b[31mred", {}, None),
        ("", {}, None),
        (42, {}, None),
        ("1.2.*", {"chart": "checkout"}, None),  # a Helm chart's version constraint
        ("main", {"chart": "checkout"}, None),
    ],
)
def test_a_target_revision_is_a_ref_only_when_it_names_a_branch_or_tag(
    case: Case, target: object, source: dict[str, Any], expected: str | None
) -> None:
    apps = applications(case.v1, case.v2)
    _with_target(apps, target, **source)
    result = case.argocd(apps)
    assert result.code == 0, result.err
    assert _refs(case) == {case.v1: expected, case.v2: expected}


def test_a_ref_changes_no_verdict(tmp_path: Path) -> None:
    """The same rollouts asked for by a branch, by a tag claiming a release, and by nothing
    at all are judged alike: the commit is what was deployed."""
    reports = []
    for number, target in enumerate(("HEAD", "main", "v9.9.9-approved")):
        case = Case(tmp_path / str(number))
        apps = applications(case.v1, case.v2)
        _with_target(apps, target)
        assert case.argocd(apps).code == 0
        report = case.check()
        reports.append((report["verdict"], report["findings"], report["summary"]))
    assert reports[0][1], "the scenario has findings to compare"
    assert reports[0] == reports[1] == reports[2]


def _failed(app: dict[str, Any], commit: str, target: str) -> dict[str, Any]:
    """``app`` with a last operation that failed to sync ``commit``, asked for ``target``."""
    failed = copy.deepcopy(app)
    state = failed["status"]["operationState"]
    state.update(
        phase="Failed", startedAt="2024-06-04T10:05:00Z", finishedAt="2024-06-04T10:06:00Z"
    )
    state["syncResult"]["revision"] = state["operation"]["sync"]["revision"] = commit
    state["syncResult"]["source"]["targetRevision"] = target
    return failed


def test_a_failed_operation_names_its_ref(tmp_path: Path) -> None:
    case = Case(tmp_path / "fleet")
    apps = applications(case.v1, case.v2)
    result = case.argocd([*apps[:3], _failed(apps[3], case.v2, "hotfix/checkout")])
    assert result.code == 0, result.err
    # The rollout's first sync (eu-west-1's, from its history) named the recording's branch.
    assert _refs(case)[case.v2] == "test-lla"
    v2 = case.records("deploys.jsonl")[1]
    assert {t["host"]: t["status"] for t in v2["targets"]} == {
        **dict.fromkeys(CLUSTERS[:3], "succeeded"),
        CLUSTERS[3]: "failed",
    }
    alone = Case(tmp_path / "alone")
    apps = applications(alone.v1, alone.v2)
    assert alone.argocd([_failed(apps[3], alone.v2, "hotfix/checkout")]).code == 0
    assert _refs(alone) == {alone.v1: "test-lla", alone.v2: "hotfix/checkout"}


def test_the_recorded_kustomizations_tags_are_the_refs(case: Case) -> None:
    result = case.recorded_flux()
    assert result.code == 0, result.err
    assert _refs(case) == {case.v1: "v1.0.0", case.v2: "v1.0.1"}


def test_a_kustomizations_branch_is_the_ref(case: Case) -> None:
    item = kustomization(
        "podinfo",
        [
            Reconciled(case.v2, "2024-06-04T10:11:00Z", "2024-06-04T11:12:00Z"),
            Reconciled(case.v1, "2024-06-03T10:05:00Z", "2024-06-04T10:04:00Z"),
        ],
    )
    path = write_list(case.work / "eu.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "podinfo", "--service", "checkout")
    assert result.code == 0, result.err
    assert _refs(case) == {case.v1: "main", case.v2: "main"}


SHA = "450796ddb2ab6724ee1cc32a4be56da032d1cca0"


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        (f"v1.0.1@sha1:{SHA}", "v1.0.1"),
        (f"main@sha1:{SHA}", "main"),
        (f"refs/heads/release/1.x@sha1:{SHA}", "release/1.x"),
        (f"refs/tags/v2@sha1:{SHA}", "v2"),
        (f"main/{SHA}", "main"),  # the form of Flux before v2.0
        (f"sha1:{SHA}", None),  # a GitRepository that follows a commit
        (f"HEAD@sha1:{SHA}", None),
        (f"bad..name@sha1:{SHA}", None),
        ("latest@sha256:" + "a" * 64, None),  # an OCI artifact's tag and digest
        ("6.3.5", None),  # a chart version
        (f"6.3.5+{SHA[:12]}", None),
    ],
)
def test_a_flux_revision_names_its_branch_or_tag(revision: str, expected: str | None) -> None:
    assert git_ref(revision) == expected
