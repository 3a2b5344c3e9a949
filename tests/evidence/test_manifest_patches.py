"""Which documents patch an object as kustomize renders it."""

from __future__ import annotations

from typing import Any

import pytest

from checker.evidence.manifest_patches import Target, patching, selects

RELEASE = Target("helm.toolkit.fluxcd.io", "HelmRelease", "checkout", "podinfo")


@pytest.mark.parametrize(
    ("selector", "chosen"),
    [
        ({"kind": "HelmRelease"}, True),
        ({"kind": "Helm.*", "name": "check(out)?"}, True),
        ({"group": "helm.toolkit.fluxcd.io", "version": "v2beta1"}, True),
        ({"labelSelector": "app=other"}, True),
        ({"kind": "HelmRelease", "name": "[", "namespace": "podinfo"}, True),
        ({"kind": "HelmRelease", "name": "check"}, False),
        ({"kind": "HelmRelease", "namespace": "default"}, False),
        ({"group": "apps", "kind": "HelmRelease"}, False),
    ],
)
def test_a_target_selects_what_its_patterns_match_whole(
    selector: dict[str, Any], chosen: bool
) -> None:
    """Patterns matched whole; a label selector, a version or a pattern that is no regular
    expression may select it."""
    kustomization = {"patches": [{"path": "p.yaml", "target": selector}]}
    assert selects(kustomization, RELEASE) is chosen


def test_replacements_and_inline_patches_select_what_they_name() -> None:
    replacements = {"replacements": [{"targets": [{"select": {"kind": "HelmRelease"}}]}]}
    inline = {"patchesStrategicMerge": ["kind: HelmRelease\nmetadata:\n  name: checkout\n"]}
    other = {"patchesStrategicMerge": ["kind: HelmRelease\nmetadata:\n  name: payments\n"]}
    assert selects(replacements, RELEASE) and selects(inline, RELEASE)
    assert not selects(other, RELEASE)


def test_a_kustomization_is_told_by_its_file_name_or_its_kind() -> None:
    assert patching({"resources": ["../base"]}, "deploy/production/kustomization.yaml")
    assert patching({"kind": "PatchTransformer"}, "deploy/patch.yaml")
    assert not patching({"kind": "HelmRelease"}, "deploy/release.yaml")
