"""Which files of a commit a GitOps tool applies from one folder: kustomize's resources,
Flux's generated kustomization, Argo CD's directory and Helm chart sources."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from checker.evidence.manifest_scope import Folder, Unfollowed, applied

FILES = {
    "clusters/production/apps.yaml": "kind: Kustomization\n",
    "apps/base/podinfo/kustomization.yaml": "resources:\n  - release.yaml\n",
    "apps/base/podinfo/release.yaml": "kind: HelmRelease\n",
    "apps/base/podinfo/unlisted.yaml": "kind: HelmRelease\n",
    "apps/production/kustomization.yaml": "resources:\n  - ../base/podinfo\n",
    "apps/production/podinfo-values.yaml": "kind: HelmRelease\n",
    "apps/loose/release.yaml": "kind: HelmRelease\n",
    "apps/loose/release.json": "{}",
    "apps/loose/nested/more.yml": "kind: HelmRelease\n",
    "docs/example-helmrelease.yaml": "kind: HelmRelease\n",
}
"""flux2-kustomize-helm-example's layout (``apps/base/podinfo``, ``apps/production`` naming
it), with files no kustomization lists and a copy in docs/."""


def _applied(folder: Folder, files: dict[str, str] | None = None) -> set[str]:
    held = FILES if files is None else files

    def read(path: str) -> list[Any]:
        return list(yaml.safe_load_all(held[path]))

    def text(path: str) -> bytes:
        return held[path].encode()

    return set(applied(dict.fromkeys(held, "blob"), folder, read, text).files)


def test_a_kustomization_applies_what_it_lists() -> None:
    """``apps/production`` renders ``../base/podinfo``, whose kustomization lists one file:
    neither the patch beside it nor the unlisted file is a resource."""
    assert _applied(Folder("./apps/production", "apps", "flux")) == {
        "apps/base/podinfo/release.yaml"
    }


def test_flux_generates_a_kustomization_of_every_yaml_file_below() -> None:
    """Without a kustomization, every ``.yaml`` and ``.yml`` file under the folder, a
    subfolder with a kustomization taken whole; JSON is left out."""
    assert _applied(Folder("./apps", "apps", "flux")) == {
        "apps/base/podinfo/release.yaml",
        "apps/loose/release.yaml",
        "apps/loose/nested/more.yml",
    }


@pytest.mark.parametrize(
    ("recurse", "found"),
    [
        (False, {"apps/loose/release.yaml", "apps/loose/release.json"}),
        (
            True,
            {"apps/loose/release.yaml", "apps/loose/release.json", "apps/loose/nested/more.yml"},
        ),
    ],
)
def test_argo_cd_reads_subfolders_only_with_recurse(recurse: bool, found: set[str]) -> None:
    assert _applied(Folder("apps/loose", "apps", "argocd", recurse)) == found


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"a/kustomization.yaml": "resources:\n  - ../../outside\n"}, "outside the repository"),
        ({"a/kustomization.yaml": "resources:\n  - github.com/org/repo//x?ref=v1\n"},
         "fetched from outside it"),
        ({"a/kustomization.yaml": "resources:\n  - missing.yaml\n"}, "holds as no manifest"),
        ({"a/kustomization.yaml": "resources: release.yaml\n"}, "is not a list of paths"),
        ({"b/x.yaml": "kind: List\n"}, "the commit holds no folder 'a'"),
        ({"a/kustomization.yaml": "resources:\n  - /docs/release.yaml\n",
          "docs/release.yaml": "kind: HelmRelease\n"}, "a path from the root of the machine"),
    ],
)  # fmt: skip
def test_what_cannot_be_followed_is_told(files: dict[str, str], said: str) -> None:
    with pytest.raises(Unfollowed, match=said):
        _applied(Folder("a", "apps", "flux"), files)


def test_kustomizations_that_name_each_other_end() -> None:
    files = {
        "a/kustomization.yaml": "resources:\n  - ../b\n  - x.yaml\n",
        "a/x.yaml": "kind: List\n",
        "b/kustomization.yaml": "resources:\n  - ../a\n",
    }
    assert _applied(Folder("a", "apps", "flux"), files) == {"a/x.yaml"}


CHART = "apiVersion: v2\nname: applications\nversion: 0.1.0\n"


def test_a_chart_applies_what_helm_renders() -> None:
    """Templates, but not a partial, what ``.helmignore`` leaves out (an exception with ``!``
    left unread), a subchart's files outside its ``templates/``, a subchart a ``condition``
    turns off (by its alias too), nor a library chart's; a subchart's templates are."""
    files = {
        "apps/Chart.yaml": CHART + "dependencies:\n  - name: off\n    condition: off.enabled\n"
        "  - name: lib2\n    alias: aliased\n    tags: [extra]\n",
        "apps/.helmignore": "# comment\n*.orig.yaml\n/templates/tests/\n!keep.orig.yaml\n",
        "apps/templates/app.yaml": "kind: List\n",
        "apps/templates/_partial.yaml": "kind: List\n",
        "apps/templates/keep.orig.yaml": "kind: List\n",
        "apps/templates/tests/test.yaml": "kind: List\n",
        "apps/values.yaml": "{}\n",
        "apps/charts/on/Chart.yaml": "name: on\n",
        "apps/charts/on/templates/on.yaml": "kind: List\n",
        "apps/charts/on/examples/example.yaml": "kind: List\n",
        "apps/charts/off/Chart.yaml": "name: off\n",
        "apps/charts/off/templates/off.yaml": "kind: List\n",
        "apps/charts/lib/Chart.yaml": "name: lib\ntype: library\n",
        "apps/charts/lib/templates/lib.yaml": "kind: List\n",
        "apps/charts/aliased/Chart.yaml": "name: lib2\n",
        "apps/charts/aliased/templates/lib2.yaml": "kind: List\n",
    }
    assert _applied(Folder("apps", "apps", "argocd"), files) == {
        "apps/templates/app.yaml",
        "apps/charts/on/templates/on.yaml",
    }


def test_argo_cd_kustomize_reads_no_file_outside_the_kustomizations_folder() -> None:
    """kustomize's default load restrictor refuses a file resource above the kustomization's
    folder (a folder there is a kustomization of its own, and is read); Flux builds without
    it, so there such a file is rendered."""
    files = {
        "apps/kustomization.yaml": "resources:\n  - ../docs/checkout.yaml\n",
        "docs/checkout.yaml": "kind: Application\n",
    }
    with pytest.raises(Unfollowed, match="outside its own folder: the kustomize Argo CD runs"):
        _applied(Folder("apps", "apps", "argocd"), files)
    assert _applied(Folder("apps", "apps", "flux"), files) == {"docs/checkout.yaml"}
