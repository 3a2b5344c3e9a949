"""A Flux HelmRelease or Kustomization that sets values, images or patches is no override where
the commit it deployed holds its manifest setting exactly the same: in flux bootstrap's
``clusters/<name>/`` or an app's ``deploy/``, the object's values were reviewed with the commit.
Anything else stays ``failed``, naming why: a manifest on another branch, added later, not
tracked, set otherwise, given twice differently, without a namespace, unreadable, or values
from a ConfigMap. Real git repositories, the real engine, the recorded objects of
tests/importers/fixtures/kubernetes/ with manifests as fluxcd/flux2-kustomize-helm-example
writes them (see that directory's README)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.importers import k8s_recordings
from tests.importers.k8s_recordings import Reconciled, Released, kustomization, write_list
from tests.importers.k8s_scenario import fleet_yaml
from tests.importers.test_kubernetes import DEV, REVIEW, Case, findings

FLUX_OVERRIDDEN = "Flux rendered it with overrides set in the object, not in git"
VALUES = {"replicaCount": 2, "redis": {"tag": "8.6.2", "enabled": True}}
"""The HelmRelease's ``spec.values`` as the cluster lists it (JSON, keys in any order)."""
RELEASE = """\
---
apiVersion: v1
kind: Namespace
metadata:
  name: podinfo
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: checkout
  namespace: podinfo
spec:
  interval: 50m
  chart:
    spec:
      chart: ./charts/checkout
      reconcileStrategy: Revision
      sourceRef:
        kind: GitRepository
        name: checkout
  # Default values
  values:
    redis:
      enabled: true
      tag: 8.6.2
    replicaCount: 2
"""
"""A Namespace and the HelmRelease in one file, laid out as flux2-kustomize-helm-example's
``apps/base/podinfo/release.yaml`` (at commit 0adbf94404) is."""
PATCHES = [
    {
        "patch": "- op: replace\n  path: /spec/acme/server\n"
        "  value: https://acme-staging-v02.api.letsencrypt.org/directory\n",
        "target": {"kind": "ClusterIssuer", "name": "letsencrypt"},
    }
]
"""``spec.patches`` of flux2-kustomize-helm-example's ``infra-configs`` Kustomization, as
the cluster lists it."""
INFRASTRUCTURE = """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: infra-controllers
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./infrastructure/controllers
  prune: true
  wait: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: podinfo
  namespace: flux-system
spec:
  dependsOn:
    - name: infra-controllers
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./infrastructure/configs
  prune: true
  patches:
    - patch: |
        - op: replace
          path: /spec/acme/server
          value: https://acme-staging-v02.api.letsencrypt.org/directory
      target:
        kind: ClusterIssuer
        name: letsencrypt
"""
"""flux2-kustomize-helm-example's ``clusters/staging/infrastructure.yaml`` (at commit
96cbea6ffc), its second Kustomization named as the recorded one is."""


NAMESPACE = "podinfo"
"""Where fleet.yaml runs the service here: the namespace of the manifests in git (as
flux2-kustomize-helm-example's ``apps/base/podinfo/`` puts them), and of the HelmRelease."""


def helm_release(name: str, history: list[Released], **more: Any) -> dict[str, Any]:
    """The recorded HelmRelease (``k8s_recordings.helm_release``) in ``NAMESPACE``."""
    return k8s_recordings.helm_release(name, history, namespace=NAMESPACE, **more)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    made = Case(tmp_path)
    (made.evidence / "fleet.yaml").write_text(
        fleet_yaml().replace("namespace: shop", f"namespace: {NAMESPACE}")
    )
    return made


def _commit(case: Case, files: dict[str, str | None], date: str = "2024-06-05T09:00:00Z") -> str:
    return case.repo.commit("deploy", files, author=DEV, date=date, trailers=REVIEW)


APPLIED = (
    ("podinfo_checkout_helm.toolkit.fluxcd.io_HelmRelease", "v2"),
    ("flux-system_podinfo_kustomize.toolkit.fluxcd.io_Kustomization", "v1"),
)
"""The inventory ids of the HelmRelease ``podinfo/checkout`` and the Kustomization
``flux-system/podinfo`` the tests import (``NAMESPACE_NAME_GROUP_KIND``, as
tests/importers/fixtures/kubernetes/README.md cites fluxcd/cli-utils ``ObjMetadata.String``)."""


def parent(
    name: str,
    path: str | None,
    applied: str,
    applies: tuple[tuple[str, str], ...] = APPLIED,
    **spec: Any,
) -> dict[str, Any]:
    """The Kustomization ``flux-system/NAME`` that applies ``path`` of the repository, as
    flux2-kustomize-helm-example's ``clusters/production/apps.yaml`` (at commit 25c85ac168)
    writes ``apps``, listed as the cluster lists it, its ``status.lastAppliedRevision`` the
    commit ``applied`` and its ``status.inventory`` the objects ``applies`` (kustomize-controller
    lists each with the version it applied)."""
    entries = [{"id": ident, "v": version} for ident, version in applies]
    return {
        "status": {
            "lastAppliedRevision": f"main@sha1:{applied}",
            "inventory": {"entries": entries},
        },
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {
            "interval": "10m0s",
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "prune": True,
            **({"path": path} if path is not None else {}),
            **spec,
        },
    }


def applied_by(item: dict[str, Any], name: str) -> dict[str, Any]:
    """``item`` as kustomize-controller labels what the Kustomization ``flux-system/NAME``
    applied."""
    item["metadata"]["labels"] = {
        "kustomize.toolkit.fluxcd.io/name": name,
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
    }
    return item


def _release(case: Case, commit: str, folder: str | None = "./", **spec: Any) -> dict[str, Any]:
    """The one target of the import of a HelmRelease that deployed ``commit``'s chart, with
    ``spec`` set in its object, applied by the Kustomization ``apps`` of ``folder`` (the
    repository's root unless given), listed beside it."""
    release = helm_release("checkout", [Released(1, f"1.1.0+{commit[:12]}",
                                                 "2024-06-05T10:00:00Z")])  # fmt: skip
    release["spec"].update(spec)
    path = write_list(
        case.work / "helm.json", [applied_by(release, "apps"), parent("apps", folder, commit)]
    )
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    assert record["commit"] == commit
    (target,) = record["targets"]
    return dict(target)


def test_values_a_release_manifest_in_the_commit_sets_are_the_commits(case: Case) -> None:
    """The HelmRelease's manifest is in the commit deployed, beside a Namespace in one file,
    with the values the cluster lists (other order, YAML not JSON): no override."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    assert _release(case, commit, values=VALUES)["status"] == "succeeded"
    report = case.check()
    assert not [s for s in findings(report, "FLEET-001") if s.endswith(":eu-west-1")]


WORKFLOW = """\
name: flux diff
on: push
jobs:
  diff:
    runs-on: ubuntu-latest
    steps:
      - run: flux diff kustomization apps  # the HelmRelease checkout among them
"""
"""A CI workflow naming the kind and the object: ``on`` is ``true`` to YAML 1.1, but this
document is no manifest of the object, so how it reads does not matter."""


@pytest.mark.parametrize(
    "files",
    [
        {".github/workflows/diff.yaml": WORKFLOW},
        {
            "deploy/release.yaml": RELEASE.replace(
                "  name: podinfo\n", "  name: podinfo\n  x: yes\n"
            )
        },
    ],
)
def test_documents_that_are_not_the_objects_are_not_judged(
    case: Case, files: dict[str, str | None]
) -> None:
    commit = _commit(case, {"deploy/release.yaml": RELEASE, **files})
    assert _release(case, commit, values=VALUES)["status"] == "succeeded"


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({**VALUES, "replicaCount": 3}, "deploy/release.yaml in commit {c} sets spec.values "),
        ({**VALUES, "redis": {"tag": "8.6.2", "enabled": "true"}}, "sets spec.values "),
        ({**VALUES, "image": {"tag": "hotfix"}}, "sets spec.values otherwise"),
    ],
)
def test_values_other_than_the_manifests_are_an_override(
    case: Case, values: dict[str, Any], said: str
) -> None:
    """A value the manifest does not hold, or holds otherwise (``"true"`` is not ``true``)."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    target = _release(case, commit, values=values)
    assert target["status"] == "failed"
    assert target["reason"].startswith(f"{FLUX_OVERRIDDEN}: HelmRelease checkout sets spec.values")
    assert said.format(c=commit[:12]) in target["reason"]


@pytest.mark.parametrize(("written", "listed"), [("0o14", "0o14"), ("2024-06-05", "2024-06-05")])
def test_a_value_go_yaml_reads_otherwise_is_no_manifests(
    case: Case, written: str, listed: str
) -> None:
    """kustomize renders ``0o14`` as 12 and ``2024-06-05`` as ``2024-06-05T00:00:00Z``: an
    object listing the text was not rendered from the manifest, whatever PyYAML reads."""
    manifest = RELEASE.replace(
        "    replicaCount: 2\n", f"    replicaCount: 2\n    tag: {written}\n"
    )
    commit = _commit(case, {"deploy/release.yaml": manifest})
    target = _release(case, commit, values={**VALUES, "tag": listed})
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; deploy/release.yaml in commit {commit[:12]} names HelmRelease podinfo/checkout but "
        f"cannot be read (go-yaml reads {written!r} otherwise than as this text)"
    )


def _elsewhere(case: Case, where: str) -> str:
    """A commit that does not hold the manifest, which is ``where``: on another branch, in
    a later commit, or in the working tree only, untracked and ignored."""
    if where == "branch":
        case.repo.branch("values")
        _commit(case, {"deploy/release.yaml": RELEASE})
        case.repo.checkout("main")
        return _commit(case, {"app": "3"}, "2024-06-05T09:30:00Z")
    deployed = _commit(case, {"app": "3"})
    if where == "later":
        _commit(case, {"deploy/release.yaml": RELEASE}, "2024-06-05T09:30:00Z")
    else:
        _commit(case, {".gitignore": "deploy/\n"}, "2024-06-05T09:30:00Z")
        (case.repo.path / "deploy").mkdir()
        (case.repo.path / "deploy" / "release.yaml").write_text(RELEASE)
    return deployed


@pytest.mark.parametrize("where", ["branch", "later", "ignored"])
def test_a_manifest_the_deployed_commit_does_not_hold_does_not_count(
    case: Case, where: str
) -> None:
    deployed = _elsewhere(case, where)
    target = _release(case, deployed, values=VALUES)
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; commit {deployed[:12]} holds no manifest of HelmRelease podinfo/checkout"
    )


SECOND = RELEASE.replace("replicaCount: 2", "replicaCount: 5").split("---\n")[2]


@pytest.mark.parametrize(
    ("files", "said"),
    [
        (
            {"deploy/release.yaml": RELEASE, "deploy/production/values.yaml": SECOND},
            "2 manifests of HelmRelease podinfo/checkout in commit {c} set it differently "
            "(deploy/production/values.yaml, deploy/release.yaml)",
        ),
        (
            {"deploy/release.yaml": RELEASE.replace("  namespace: podinfo\nspec", "spec")},
            "commit {c} holds no manifest of HelmRelease podinfo/checkout (deploy/release.yaml "
            "holds one that names no metadata.namespace)",
        ),
        (
            {"deploy/release.yaml": RELEASE.replace("enabled: true", "enabled: yes")},
            "deploy/release.yaml in commit {c} names HelmRelease podinfo/checkout but cannot be "
            "read (YAML 1.1 and YAML 1.2 read a value of it differently (yes, 0755 ...))",
        ),
        (
            {"deploy/release.yaml": RELEASE + "  values:\n    replicaCount: 2\n"},
            "deploy/release.yaml in commit {c} names HelmRelease podinfo/checkout but cannot be "
            "read (line 27: a key given twice, or not text)",
        ),
        (
            {"deploy/release.yaml": RELEASE.replace("kind: GitRepository", "kind: {{ .Kind }}")},
            "deploy/release.yaml in commit {c} names HelmRelease podinfo/checkout but cannot be "
            "read (line 19: a key given twice, or not text)",
        ),
    ],
)
def test_manifests_that_do_not_show_the_values_do_not_count(
    case: Case, files: dict[str, str | None], said: str
) -> None:
    """Two manifests of the object that disagree (an overlay's patch beside its base: what
    kustomize merges of them is not read), one without a namespace (kustomize or kubectl may
    put it anywhere), one whose meaning depends on the YAML reader, one that does not parse."""
    commit = _commit(case, files)
    target = _release(case, commit, values=VALUES)
    assert target["status"] == "failed"
    assert target["reason"].endswith("; " + said.format(c=commit[:12]))


KUSTOMIZE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: podinfo
resources:
  - release.yaml
"""
"""The ``kustomization.yaml`` that puts the manifests beside it in the namespace podinfo."""
EXAMPLE = RELEASE.replace(
    "    replicaCount: 2\n", "    replicaCount: 2\n    image:\n      tag: hotfix\n"
)
"""A manifest of the object, with its namespace, that sets the cluster's values: in docs/."""


def test_a_manifest_without_a_namespace_that_sets_other_values_counts_against(case: Case) -> None:
    """The manifest kustomize renders names no namespace (kustomization.yaml gives it, so it
    is the object's) and sets no ``image``; a copy in docs/ names it and sets what the cluster
    lists. The one applied disagrees: the override stands, and both are named."""
    commit = _commit(
        case,
        {
            "deploy/release.yaml": RELEASE.replace("  namespace: podinfo\n", ""),
            "deploy/kustomization.yaml": KUSTOMIZE,
            "docs/examples/release.yaml": EXAMPLE,
        },
    )
    target = _release(case, commit, values={**VALUES, "image": {"tag": "hotfix"}})
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; 2 manifests of HelmRelease podinfo/checkout in commit {commit[:12]} set it "
        "differently (deploy/release.yaml, docs/examples/release.yaml)"
    )


def test_two_documents_of_the_object_in_one_file_are_two_manifests(case: Case) -> None:
    """The object's manifest, then a second document of it (an example, or what ``kubectl
    apply -f`` would apply last) setting what the cluster lists: the two disagree, though one
    file holds both."""
    example = EXAMPLE.split("---\n")[2]
    commit = _commit(case, {"deploy/release.yaml": RELEASE + "---\n# example\n" + example})
    target = _release(case, commit, values={**VALUES, "image": {"tag": "hotfix"}})
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; 2 manifests of HelmRelease podinfo/checkout in commit {commit[:12]} set it "
        "differently (deploy/release.yaml, deploy/release.yaml)"
    )


def test_a_manifest_without_a_namespace_that_sets_the_same_is_no_objection(case: Case) -> None:
    commit = _commit(
        case,
        {
            "deploy/release.yaml": RELEASE,
            "deploy/base/release.yaml": RELEASE.replace("  namespace: podinfo\n", ""),
        },
    )
    assert _release(case, commit, values=VALUES)["status"] == "succeeded"


def _listed(text: str) -> str:
    """``text``'s documents as the items of one ``kind: List`` (kubectl and kustomize apply
    each)."""
    items = list(yaml.safe_load_all(text))
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})


@pytest.mark.parametrize(
    "applied",
    [
        RELEASE.replace("kind: HelmRelease", 'kind: "Helm\\u0052elease"'),
        RELEASE.replace("kind: HelmRelease", 'kind: "Helm\\\n  Release"'),
        json.dumps(yaml.safe_load(RELEASE.split("---\n")[2]), indent=2).replace(
            '"HelmRelease"', '"Helm\\u0052elease"'
        ),
        _listed(RELEASE),
        "utf-16",
    ],
)
def test_a_manifest_spelt_otherwise_is_read(case: Case, applied: str) -> None:
    """The manifest applied sets no ``image``: its kind spelt with an escape (YAML, JSON), a
    line broken by a backslash, in a ``List``, in UTF-16; the copy in docs/ that sets what the
    cluster lists does not stand for it."""
    files = {"docs/examples/release.yaml": EXAMPLE}
    if applied == "utf-16":
        (case.repo.path / "deploy").mkdir()
        (case.repo.path / "deploy" / "release.yaml").write_bytes(RELEASE.encode("utf-16"))
        case.repo.git("add", "deploy/release.yaml")
    else:
        files["deploy/release.yaml"] = applied
    commit = _commit(case, files)
    target = _release(case, commit, values={**VALUES, "image": {"tag": "hotfix"}})
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; 2 manifests of HelmRelease podinfo/checkout in commit {commit[:12]} set it "
        "differently (deploy/release.yaml, docs/examples/release.yaml)"
    )


def test_a_byte_order_mark_after_a_separator_is_unreadable(case: Case) -> None:
    """kustomize skips a byte order mark at the start of a document, where PyYAML reads it
    into the first key (``\\ufeffapiVersion``): the manifest applied, which sets no
    ``image``, would be no HelmRelease to PyYAML, and the copy in docs/ would stand for it."""
    hidden = RELEASE.replace("---\napiVersion: helm", "---\n\ufeffapiVersion: helm")
    commit = _commit(case, {"deploy/release.yaml": hidden, "docs/examples/release.yaml": EXAMPLE})
    target = _release(case, commit, values={**VALUES, "image": {"tag": "hotfix"}})
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; deploy/release.yaml in commit {commit[:12]} names HelmRelease podinfo/checkout but "
        "cannot be read (line 7: a byte order mark within the file (kustomize skips one after "
        "---, PyYAML reads it into a key))"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_a_manifest_with_a_byte_order_mark_sets_its_values(case: Case, encoding: str) -> None:
    (case.repo.path / "deploy").mkdir()
    (case.repo.path / "deploy" / "release.yaml").write_bytes(RELEASE.encode(encoding))
    case.repo.git("add", "deploy/release.yaml")
    commit = _commit(case, {"deploy/list.yaml": _listed(RELEASE)})
    assert _release(case, commit, values=VALUES)["status"] == "succeeded"


DEBUG = RELEASE.replace("    replicaCount: 2\n", "    replicaCount: 2\n    debug: true\n")
"""The base's HelmRelease, with ``debug: true``, which production turns off."""
OFF = "- op: replace\n  path: /spec/values/debug\n  value: false\n"
"""A JSON 6902 patch that turns it off."""


BASE = {"deploy/base/kustomization.yaml": "resources:\n  - release.yaml\n"}
"""The base's kustomization, which an overlay's ``resources`` names."""


def _patched_by(where: str) -> dict[str, str]:
    """The files of a commit where ``where`` turns debug off in what kustomize renders."""
    patch = {"patch": OFF, "target": {"kind": "HelmRelease", "name": "check.*"}}
    if where == "kustomization":
        production = {"resources": ["../base"], "patches": [patch]}
        return {"deploy/production/kustomization.yaml": yaml.safe_dump(production), **BASE}
    if where == "flux":
        parent = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"path": "./deploy/base", "patches": [patch]},
        }
        return {"clusters/production/apps.yaml": yaml.safe_dump(parent)}
    inline = DEBUG.split("---\n")[2].replace("debug: true", "debug: false")
    production = {"resources": ["../base"], "patchesStrategicMerge": [inline]}
    return {"deploy/production/kustomization.yaml": yaml.safe_dump(production), **BASE}


@pytest.mark.parametrize("where", ["kustomization", "flux", "inline"])
def test_a_manifest_kustomize_patches_does_not_show_what_is_applied(case: Case, where: str) -> None:
    """The base sets ``debug: true``, as the cluster lists; production's kustomization (a JSON
    6902 patch, an inline strategic merge patch) or the parent Flux Kustomization turns it
    off in what kustomize renders: the manifest as written is not what was applied."""
    files = {"deploy/base/release.yaml": DEBUG, **_patched_by(where)}
    commit = _commit(case, files)
    target = _release(case, commit, values={**VALUES, "debug": True})
    assert target["status"] == "failed"
    patcher = next(iter(_patched_by(where)))
    assert target["reason"].endswith(
        f"; {patcher} in commit {commit[:12]} may patch HelmRelease podinfo/checkout: "
        "kustomize renders its manifest otherwise than deploy/base/release.yaml writes it"
    )


@pytest.mark.parametrize(
    "selector",
    [
        {"kind": "Deployment"},
        {"kind": "HelmRelease", "name": "payments"},
        {"kind": "HelmRelease", "namespace": "flux-system"},
    ],
)
def test_a_patch_of_other_objects_leaves_the_manifest_as_written(
    case: Case, selector: dict[str, str]
) -> None:
    production = {"resources": ["../base"], "patches": [{"patch": OFF, "target": selector}]}
    files = {"deploy/base/release.yaml": DEBUG, **BASE,
             "deploy/production/kustomization.yaml": yaml.safe_dump(production)}  # fmt: skip
    commit = _commit(case, files)
    assert _release(case, commit, values={**VALUES, "debug": True})["status"] == "succeeded"


def test_a_repository_with_submodules_may_hold_the_manifest_applied_elsewhere(
    case: Case, tmp_path: Path
) -> None:
    """The HelmRelease applied is in a submodule (Flux's ``recurseSubmodules``, Argo CD's
    default), setting no ``image``; the repository's own copy sets what the cluster lists.
    What the submodule holds is no object of this repository: the override stands."""
    vendored = ScriptedRepo(tmp_path / "vendored")
    vendored.commit("release", {"release.yaml": RELEASE}, author=DEV, date="2024-06-01T09:00:00Z")
    case.repo.git("-c", "protocol.file.allow=always", "submodule", "add", "--quiet",
                  str(vendored.path), "deploy/vendored")  # fmt: skip
    commit = _commit(case, {"docs/examples/release.yaml": EXAMPLE})
    target = _release(case, commit, values={**VALUES, "image": {"tag": "hotfix"}})
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; commit {commit[:12]} declares git submodules (.gitmodules), whose files are not "
        "read: one may hold another manifest of HelmRelease podinfo/checkout"
    )


def test_values_from_a_config_map_are_an_override_with_one_in_git(case: Case) -> None:
    """The manifest names the same ConfigMap, and git holds one of that name: what the
    cluster's holds, no listing shows."""
    values_from = [{"kind": "ConfigMap", "name": "checkout-values"}]
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout-values\n"
    release = RELEASE + "  valuesFrom:\n    - kind: ConfigMap\n      name: checkout-values\n"
    commit = _commit(case, {"deploy/release.yaml": release, "deploy/values.yaml": config})
    target = _release(case, commit, values=VALUES, valuesFrom=values_from)
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        "; ConfigMap/checkout-values: what a ConfigMap or Secret holds in the cluster is in no "
        "listing read, whether git holds one of that name or not"
    )


SOURCE = {
    "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
    "path": "./infrastructure/configs",
}
"""What the Kustomization renders, as its manifest (``INFRASTRUCTURE``) says."""


def _kustomization(case: Case, commits: list[str], **spec: Any) -> dict[str, str]:
    """Each snapshot's status, by commit, of the import of the recorded Kustomization that
    applied ``commits`` in turn, with ``spec`` set in its object."""
    snapshots = [
        Reconciled(commit, f"2024-06-0{5 + n}T10:05:00Z", f"2024-06-0{5 + n}T11:04:00Z")
        for n, commit in enumerate(commits)
    ]
    item = applied_by(kustomization("podinfo", snapshots[::-1]), "flux-system")
    item["spec"].update(SOURCE, **spec)
    listed = [item, parent("flux-system", "./clusters", commits[-1])]
    path = write_list(case.work / "kustomizations.json", listed)
    result = case.cli("flux", f"eu-west-1={path}", "--name", "podinfo", "--service", "checkout")
    assert result.code == 0, result.err
    return {r["commit"]: r["targets"][0]["status"] for r in case.records("deploys.jsonl")}


def test_patches_a_kustomization_manifest_in_the_commit_sets_are_the_commits(case: Case) -> None:
    """flux2-kustomize-helm-example's ``infra-configs`` patches, in a file of two
    Kustomizations: the commit that holds them deployed them; the commit before, which did
    not, is no deployment of what the cluster ran (the object as listed stands for every
    snapshot)."""
    before = _commit(case, {"app": "3"})
    held = _commit(case, {"clusters/staging/infrastructure.yaml": INFRASTRUCTURE},
                   "2024-06-06T09:00:00Z")  # fmt: skip
    assert _kustomization(case, [before, held], patches=PATCHES) == {
        before: "failed",
        held: "succeeded",
    }


def test_a_kustomize_kustomization_yaml_is_no_flux_kustomization(case: Case) -> None:
    """kustomize's own ``kustomization.yaml`` (``kustomize.config.k8s.io``) is of kind
    Kustomization too: images it sets are the overlay's, not the Flux object's."""
    images = [{"name": "podinfo", "newName": "my-registry/podinfo", "newTag": "v1"}]
    overlay = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n"
        "  name: podinfo\n  namespace: flux-system\nimages:\n  - name: podinfo\n"
        "    newName: my-registry/podinfo\n    newTag: v1\n"
    )
    commit = _commit(case, {"kustomization.yaml": overlay})
    assert _kustomization(case, [commit], images=images) == {commit: "failed"}


def test_a_manifest_rewritten_in_place_stops_the_import(case: Case) -> None:
    """The commit's manifest sets 3 replicas; its blob overwritten in the object store to say
    2, as the cluster lists: git would read the forged bytes unchecked. The import stops."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE.replace("Count: 2", "Count: 3")})
    blob = case.repo.git("rev-parse", f"{commit}:deploy/release.yaml")
    loose = case.repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"blob %d\0" % len(RELEASE) + RELEASE.encode()))
    release = helm_release("checkout", [Released(1, f"1.1.0+{commit[:12]}",
                                                 "2024-06-05T10:00:00Z")])  # fmt: skip
    release["spec"]["values"] = VALUES
    listed = [applied_by(release, "apps"), parent("apps", "./deploy", commit)]
    path = write_list(case.work / "helm.json", listed)
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2, result.err
    assert f"git object {blob} does not hash to its name" in result.err
    assert "Traceback" not in result.err and not (case.evidence / "deploys.jsonl").exists()


@pytest.mark.parametrize("listed", [True, False])
def test_a_json_manifest_holds_the_same_values(case: Case, listed: bool) -> None:
    """``kubectl apply -f`` and kustomize take JSON too: the same data, another syntax, where
    a kustomization lists the file; Flux generates one of ``.yaml`` and ``.yml`` files alone,
    so without it the JSON file is not applied."""
    document = yaml.safe_load(RELEASE.split("---\n")[2])
    files = {"deploy/release.json": json.dumps(document, indent=2)}
    if listed:
        files["deploy/kustomization.yaml"] = "resources:\n  - release.json\n"
    target = _release(case, _commit(case, files), values=VALUES)
    assert target["status"] == ("succeeded" if listed else "failed")
    assert listed or "holds no manifest of HelmRelease podinfo/checkout" in target["reason"]


@pytest.mark.parametrize(
    ("post_build", "status"),
    [
        ({"substitute": {"cluster_env": "prod", "replicas": "2"}}, "succeeded"),
        ({"substitute": {"cluster_env": "prod", "replicas": "3"}}, "failed"),
        (
            {
                "substitute": {"cluster_env": "prod", "replicas": "2"},
                "substituteFrom": [{"kind": "ConfigMap", "name": "cluster-vars"}],
            },
            "failed",
        ),
    ],
)
def test_variables_a_kustomization_manifest_sets_are_the_commits(
    case: Case, post_build: dict[str, Any], status: str
) -> None:
    """``postBuild.substitute`` as the manifest writes it; variables from a ConfigMap are never
    the commit's, the manifest naming the same ConfigMap or not."""
    manifest = INFRASTRUCTURE.split("---\n")[2].split("  patches:")[0] + (
        "  postBuild:\n    substitute:\n      cluster_env: prod\n      replicas: '2'\n"
        "    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n"
        if "substituteFrom" in post_build
        else "  postBuild:\n    substitute:\n      cluster_env: prod\n      replicas: '2'\n"
    )
    commit = _commit(case, {"clusters/production/apps.yaml": manifest})
    assert _kustomization(case, [commit], postBuild=post_build) == {commit: status}


def test_a_failure_stands_once_the_object_is_made_to_match_git(case: Case) -> None:
    """The release ran with an image tag set in the cluster only (recorded failed); the team
    then set the object's values back to what the commit's manifest holds. The listing now
    matches git, but says nothing of what that release was rendered with: before, it was
    rewritten succeeded and check found no FLEET-001."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    hotfix = _release(case, commit, values={**VALUES, "image": {"tag": "hotfix"}})
    assert hotfix["status"] == "failed"
    release = helm_release("checkout", [Released(1, f"1.1.0+{commit[:12]}",
                                                 "2024-06-05T10:00:00Z")])  # fmt: skip
    release["spec"]["values"] = VALUES
    path = write_list(case.work / "helm.json", [release])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    assert "eu-west-1 stays failed as recorded" in result.err
    (record,) = case.records("deploys.jsonl")
    assert record["targets"] == [hotfix]
    assert f"{record['id']}:eu-west-1" in findings(case.check(), "FLEET-001")


HOTFIX = {**VALUES, "image": {"tag": "hotfix"}}
"""Values set by hand in the cluster, with an image no commit names."""
REMOTE = "resources:\n  - https://github.com/example/fleet//apps/checkout?ref=main\n"
"""A kustomization whose one resource kustomize fetches from another repository."""


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({}, "Kustomization flux-system/apps applies HelmRelease podinfo/checkout from "
             "'./deploy', which cannot be followed in commit {c}: the commit holds no folder "
             "'./deploy'"),
        ({"deploy/kustomization.yaml": REMOTE, "deploy/example.yaml": EXAMPLE},
         "deploy/kustomization.yaml renders 'https://github.com/example/fleet//apps/checkout"
         "?ref=main', fetched from outside it"),
        ({"deploy/kustomization.yaml": "resources:\n  - other.yaml\n",
          "deploy/other.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
          "deploy/example.yaml": EXAMPLE},
         "holds no manifest of HelmRelease podinfo/checkout in what Kustomization "
         "flux-system/apps applies ('./deploy')"),
        ({"deploy/kustomization.yaml": "resources:\n  - /docs/example-helmrelease.yaml\n"},
         "deploy/kustomization.yaml renders '/docs/example-helmrelease.yaml', a path from the "
         "root of the machine that builds it"),
    ],
)  # fmt: skip
def test_a_copy_the_parent_does_not_apply_does_not_count(
    case: Case, files: dict[str, str], said: str
) -> None:
    """The HelmRelease's values were set by hand; a copy that sets them is written in docs/,
    or beside a kustomization that does not list it, or that names it by an absolute path
    (kustomize reads that from the machine's root, not the repository's, or refuses it). The
    Kustomization ``apps`` applies ``./deploy``: a file it does not render is no manifest of
    what it applied, though nothing in the tree disagrees with it. Before, the rollout was
    restored to succeeded."""
    commit = _commit(case, {"docs/example-helmrelease.yaml": EXAMPLE, **files})
    target = _release(case, commit, "./deploy", values=HOTFIX)
    assert target["status"] == "failed"
    assert said.format(c=commit[:12]) in target["reason"]


@pytest.mark.parametrize(
    ("folder", "files"),
    [
        ("./deploy", {"deploy/release.yaml": RELEASE}),
        ("./deploy", {"deploy/apps/release.yaml": RELEASE}),
        ("./deploy/production", {"deploy/base/release.yaml": RELEASE, **BASE,
                                 "deploy/production/kustomization.yaml": "bases:\n- ../base\n"}),
        (None, {"deploy/release.yaml": RELEASE}),
    ],
)  # fmt: skip
def test_the_manifest_the_parent_applies_counts(
    case: Case, folder: str | None, files: dict[str, str]
) -> None:
    """The manifest under the parent's ``spec.path`` (a subfolder of it too: Flux generates a
    kustomization of every YAML file under it), or one its kustomization names (``../base``
    of flux2-kustomize-helm-example's ``apps/production``), or anywhere with no
    ``spec.path`` (the source's root)."""
    commit = _commit(case, files)
    assert _release(case, commit, folder, values=VALUES)["status"] == "succeeded"


@pytest.mark.parametrize(
    ("labels", "listed", "said"),
    [
        ({}, True, "it carries no kustomize.toolkit.fluxcd.io/name and "
                   "kustomize.toolkit.fluxcd.io/namespace labels"),
        (None, False, "Kustomization flux-system/apps, which its labels say applied it, is not "
                      "in the listing read"),
        (None, True, "Kustomization flux-system/apps applies HelmRelease podinfo/checkout from "
                     "'../elsewhere', which cannot be followed"),
    ],
)  # fmt: skip
def test_a_parent_that_cannot_be_read_leaves_the_override(
    case: Case, labels: dict[str, str] | None, listed: bool, said: str
) -> None:
    """Which Kustomization applied the object, and from which folder, must be read from the
    listing: without its labels, without the parent beside it, or with a path that leaves the
    repository, no manifest counts."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = VALUES
    if labels is not None:
        release["metadata"]["labels"] = labels
    folder = "../elsewhere" if said.endswith("followed") else "./deploy"
    path = write_list(
        case.work / "helm.json", [release] + [parent("apps", folder, commit)] * listed
    )
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert said in target["reason"]


REMOTE = {"secretRef": {"name": "prod-kubeconfig", "key": "value"}}
"""``spec.kubeConfig`` as kustomize-controller's ``docs/spec/v1/kustomizations.md`` ("KubeConfig
(Remote clusters)") writes it: what the object renders is applied to the cluster of that
kubeconfig, not the one it is listed in."""
IDENTITY = {"configMapRef": {"name": "prod-eks"}}
"""``spec.kubeConfig`` of Flux 2.7's workload identity, as its documentation writes it
(``spec.kubeConfig.configMapRef.name``): a ConfigMap naming a cloud provider's cluster."""


@pytest.mark.parametrize("kind", ["HelmRelease", "Kustomization"])
@pytest.mark.parametrize(
    ("remote", "shown"),
    [(REMOTE, "secretRef prod-kubeconfig"), (IDENTITY, "configMapRef prod-eks")],
)
def test_an_object_that_applies_to_a_remote_cluster_is_refused(
    case: Case, kind: str, remote: dict[str, Any], shown: str
) -> None:
    """``spec.kubeConfig`` set by hand in eu-west-1 makes Flux apply the revision to the
    cluster of another kubeconfig (a scratch cluster), while eu-west-1 keeps what it ran: its
    history is that cluster's. Before, with nothing else set, the rollout was recorded
    succeeded on eu-west-1 (exit 0); it is now refused, naming the object and the field."""
    commit = _commit(case, {"app": "3"})
    if kind == "HelmRelease":
        item = helm_release("checkout", [Released(1, f"1.1.0+{commit[:12]}",
                                                  "2024-06-05T10:00:00Z")])  # fmt: skip
    else:
        snapshot = Reconciled(commit, "2024-06-05T10:05:00Z", "2024-06-05T11:04:00Z")
        item = kustomization("checkout", [snapshot])
        item["spec"].update(SOURCE)
    item["spec"]["kubeConfig"] = remote
    path = write_list(case.work / "objects.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{kind} checkout: spec.kubeConfig ({shown}) applies what it renders" in result.err
    assert "not to cluster eu-west-1" in result.err
    assert not case.records("deploys.jsonl")


def test_a_parent_that_applies_to_a_remote_cluster_is_no_parent_here(case: Case) -> None:
    """A Kustomization with ``spec.kubeConfig`` applies its folder to another cluster, and
    its inventory lists that cluster's objects, by namespace, name and kind alone: a
    HelmRelease of this cluster labelled with its name is not one it applied."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = VALUES
    listed = [release, parent("apps", "./deploy", commit, kubeConfig=REMOTE)]
    path = write_list(case.work / "helm.json", listed)
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert (
        "Kustomization flux-system/apps applies what it renders to the cluster of its "
        "spec.kubeConfig, not to this one" in target["reason"]
    )


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({"targetNamespace": "podinfo"}, "sets spec.targetNamespace otherwise"),
        ({"releaseName": "checkout-hotfix"}, "sets spec.releaseName otherwise"),
        ({"chart": {"spec": {"chart": "./charts/checkout", "version": "2.0.0",
                             "reconcileStrategy": "Revision",
                             "sourceRef": {"kind": "GitRepository", "name": "checkout"}}}},
         "sets spec.chart.spec.version otherwise"),
        ({"chart": {"spec": {"chart": "./charts/checkout-hotfix",
                             "reconcileStrategy": "Revision",
                             "sourceRef": {"kind": "GitRepository", "name": "checkout"}}}},
         "sets spec.chart.spec.chart otherwise"),
        ({"chart": {"spec": {"chart": "./charts/checkout", "version": "*",
                             "reconcileStrategy": "Revision",
                             "sourceRef": {"kind": "GitRepository", "name": "checkout"}}}},
         None),
    ],
)  # fmt: skip
def test_what_else_renders_the_release_is_compared_with_its_manifest(
    case: Case, spec: dict[str, Any], said: str | None
) -> None:
    """The values match the manifest applied, but the object renders them elsewhere or from
    another chart: its ``targetNamespace``, release name, chart or chart version set in the
    cluster only. Before, the manifest's values alone were compared and the rollout was
    restored to succeeded. ``version: "*"`` is what the API server writes where the manifest
    gives none."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    target = _release(case, commit, values=VALUES, **spec)
    assert target["status"] == ("failed" if said else "succeeded")
    assert said is None or target["reason"].endswith(
        f"deploy/release.yaml in commit {commit[:12]} {said}"
    )


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({"components": ["../components/hotfix"]}, "sets spec.components otherwise"),
        ({"targetNamespace": "podinfo"}, "sets spec.targetNamespace otherwise"),
        ({"path": "./infrastructure/hotfix"}, "sets spec.path otherwise"),
    ],
)
def test_what_else_renders_the_kustomization_is_compared_with_its_manifest(
    case: Case, spec: dict[str, Any], said: str
) -> None:
    """The patches match the manifest, but the object renders another folder, components or
    namespace, set in the cluster only."""
    held = _commit(case, {"clusters/staging/infrastructure.yaml": INFRASTRUCTURE})
    assert _kustomization(case, [held], patches=PATCHES, **spec) == {held: "failed"}
    (record,) = case.records("deploys.jsonl")
    assert record["targets"][0]["reason"].endswith(said)


def test_what_renders_the_commits_files_alone_is_no_override(case: Case) -> None:
    """A ``targetNamespace`` set in the cluster with no values, images or patches renders
    what the commit holds, and nothing else, into the namespace fleet.yaml runs the service
    in (``podinfo``): no override, as before."""
    commit = _commit(case, {"app": "3"})
    assert _release(case, commit, targetNamespace="podinfo")["status"] == "succeeded"


@pytest.mark.parametrize("kind", ["HelmRelease", "Kustomization"])
def test_an_object_that_deploys_to_another_namespace_is_left_out(case: Case, kind: str) -> None:
    """``spec.targetNamespace`` set by hand to ``staging``, where fleet.yaml runs the service
    in ``podinfo``: Flux renders the reviewed commit into ``staging``, and ``podinfo`` keeps what
    was set by hand there. Before, the rollout was recorded succeeded on eu-west-1 (exit 0).
    The object is now left out, as an Argo CD application of another namespace is, and
    FLEET-001 reports the cluster the rollout missed."""
    commit = _commit(case, {"app": "3"})
    if kind == "HelmRelease":
        item = helm_release("checkout", [Released(1, f"1.1.0+{commit[:12]}",
                                                  "2024-06-05T10:00:00Z")])  # fmt: skip
    else:
        snapshot = Reconciled(commit, "2024-06-05T10:05:00Z", "2024-06-05T11:04:00Z")
        item = kustomization("checkout", [snapshot])
        item["spec"].update(SOURCE)
    item["spec"]["targetNamespace"] = "staging"
    path = write_list(case.work / "objects.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    assert not case.records("deploys.jsonl")
    assert (
        f"{kind} checkout on eu-west-1 left out: it deploys to namespace staging "
        "(spec.targetNamespace), where fleet.yaml runs the service in namespace podinfo"
    ) in result.err
    item["spec"]["targetNamespace"] = ["staging"]
    write_list(case.work / "objects.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{kind} checkout: spec.targetNamespace is not a string" in result.err


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("metadata", "staging (metadata.namespace)"),
        ("history", "staging (status.history, release version 1)"),
        ("none", "none (no metadata.namespace)"),
        ("same", None),
        ("targeted", "staging (status.history, release version 1)"),
        ("targeted same", None),
    ],
)
def test_a_release_in_another_namespace_is_left_out(
    case: Case, where: str, said: str | None
) -> None:
    """A HelmRelease without ``spec.targetNamespace`` installs its release into its own
    namespace (helm-controller's ``GetReleaseNamespace``), and each ``status.history``
    snapshot records the release's ``namespace``. One in ``staging``, where fleet.yaml runs the
    service in ``podinfo``, deployed the reviewed commit there, and ``podinfo`` kept what it
    ran. Before, only ``targetNamespace`` was compared, and the rollout was recorded succeeded
    on eu-west-1 (exit 0). It is now left out, as with ``targetNamespace``. So is one whose
    ``targetNamespace`` is ``podinfo`` now but whose snapshot records a release into
    ``staging``: set back by hand while suspended, before helm-controller uninstalled that
    release and cleared the history. Before, only ``targetNamespace`` was read where it was
    set, and that release was recorded succeeded on eu-west-1 (exit 0)."""
    commit = _commit(case, {"app": "3"})
    item = helm_release("checkout", [Released(1, f"1.1.0+{commit[:12]}",
                                              "2024-06-05T10:00:00Z")])  # fmt: skip
    if where.startswith("targeted"):
        item["spec"]["targetNamespace"] = NAMESPACE
    if where == "metadata":
        item["metadata"]["namespace"] = "staging"
    elif where in ("history", "targeted"):
        item["status"]["history"][0]["namespace"] = "staging"
    elif where == "none":
        del item["metadata"]["namespace"]
    item["spec"]["storageNamespace"] = "helm-records"  # where Helm keeps records: not compared
    path = write_list(case.work / "objects.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    if said is None:
        (record,) = case.records("deploys.jsonl")
        assert record["targets"][0]["status"] == "succeeded"
        return
    assert not case.records("deploys.jsonl")
    assert (
        f"HelmRelease checkout on eu-west-1 left out: it deploys to namespace {said}, where "
        "fleet.yaml runs the service in namespace podinfo"
    ) in result.err
    field = "status.history[].namespace" if where == "targeted" else "metadata.namespace"
    if where == "targeted":
        item["status"]["history"][0]["namespace"] = ["podinfo"]
    else:
        item["metadata"]["namespace"] = ["podinfo"]
    write_list(case.work / "objects.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert f"HelmRelease checkout: {field} is not a string" in result.err


CLEAN = "b" * 64
"""The ``configDigest`` of a release rendered with the manifest's values."""


def _releases(case: Case, commit: str, generation: int = 1) -> str:
    """Import the HelmRelease of ``commit`` with two releases of its chart: the first of the
    recorded values (set by hand), the second of ``CLEAN`` once the object's values were set
    back to what the manifest applied holds, as the object now lists them; ``status.
    observedGeneration`` 1, ``metadata.generation`` ``generation``. Gives the import's
    messages."""
    chart = f"1.1.0+{commit[:12]}"
    release = helm_release("checkout", [Released(2, chart, "2024-06-05T12:00:00Z", values=CLEAN),
                                        Released(1, chart, "2024-06-05T10:00:00Z")])  # fmt: skip
    release["spec"]["values"] = VALUES
    release["metadata"]["generation"] = generation
    path = write_list(
        case.work / "helm.json", [applied_by(release, "apps"), parent("apps", "./", commit)]
    )
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    return result.err


def test_a_release_of_git_values_after_an_override_is_a_rollout_of_its_own(case: Case) -> None:
    """The first release ran with an image tag set by hand (recorded failed); the team set the
    values back to the manifest's, and helm-controller released the same commit again. That
    release's values are the ones the object lists (its ``configDigest`` is
    ``lastAttemptedConfigDigest``), which the manifest applied holds: a new rollout that
    succeeded, while the first stays failed. Before, the second release joined the first's
    rollout, which stayed failed for good."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    assert _release(case, commit, values=HOTFIX)["status"] == "failed"
    assert "stays failed as recorded" in _releases(case, commit)
    records = {r["id"]: r["targets"][0] for r in case.records("deploys.jsonl")}
    first = f"checkout-production-{commit[:12]}"
    assert [records[first]["status"], records[f"{first}-2"]["status"]] == ["failed", "succeeded"]
    report = findings(case.check(), "FLEET-001")
    assert f"{first}:eu-west-1" in report and f"{first}-2:eu-west-1" not in report


def test_a_release_of_values_the_object_no_longer_lists_is_never_restored(case: Case) -> None:
    """Imported for the first time after the values were set back: the first release's values
    are not those the object lists, so its manifest cannot stand for them, whatever it holds."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    _releases(case, commit)
    records = {r["id"]: r["targets"][0] for r in case.records("deploys.jsonl")}
    first = records[f"checkout-production-{commit[:12]}"]
    assert first["status"] == "failed"
    assert first["reason"].endswith(
        f"; its values (sha256:{Released(1, '', '').values}) are not those the object as listed "
        f"renders (sha256:{CLEAN}): it was rendered with values set otherwise, which no listing "
        "shows"
    )
    assert records[f"checkout-production-{commit[:12]}-2"]["status"] == "succeeded"


def test_a_spec_changed_since_the_last_release_stands_for_none(case: Case) -> None:
    """``metadata.generation`` 2, observed 1: the spec listed was changed after the last
    release, so it says nothing of what any release was rendered with."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    _releases(case, commit, generation=2)
    statuses = [r["targets"][0]["status"] for r in case.records("deploys.jsonl")]
    assert statuses == ["failed", "failed"]


@pytest.mark.parametrize(
    ("applied", "said"),
    [
        ("main@sha1:" + "0123456789" * 4, "it last applied revision " + "0123456789" * 4
         + ", which is no commit of this repository: it applies another repository's files"),
        ("latest@sha256:" + "ab" * 32, "Kustomization flux-system/apps names no commit it "
         "applied (status.lastAppliedRevision 'latest@sha256:"),
        (None, "Kustomization flux-system/apps names no commit it applied"),
    ],
)  # fmt: skip
def test_a_parent_that_applies_another_repository_stands_for_nothing(
    case: Case, applied: str | None, said: str
) -> None:
    """The parent applies its folder from a GitRepository of another repository (a fleet
    repository), or from an OCI artifact, or never applied anything: the file at that path
    in this repository is not what it applied, whatever it holds."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = VALUES
    apps = parent("apps", "./deploy", commit)
    if applied is None:
        del apps["status"]
    else:
        apps["status"]["lastAppliedRevision"] = applied
    path = write_list(case.work / "helm.json", [release, apps])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert said in target["reason"]


def test_a_parent_listed_twice_stands_for_neither(case: Case) -> None:
    """The listing holds the Kustomization ``flux-system/apps`` twice (two listings joined),
    one applying ``./docs``, where a copy sets the values set by hand, the other ``./deploy``.
    Before, the first listed was taken for the parent and the rollout restored to succeeded,
    though nothing says which of the two applied the object."""
    commit = _commit(case, {"docs/release.yaml": RELEASE, "deploy/other.yaml": "kind: List\n"})
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = VALUES
    parents = [parent("apps", "./docs", commit), parent("apps", "./deploy", commit)]
    path = write_list(case.work / "helm.json", [release, *parents])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    said = "Kustomization flux-system/apps, which its labels say applied it, is listed 2 times"
    assert said in target["reason"]


OFF_FILE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: checkout
  namespace: podinfo
spec:
  values:
    debug: false
"""
"""A strategic merge patch in a file of its own that turns debug off: kustomize chooses what
it patches by the kind, name and namespace it writes, without a target."""


@pytest.mark.parametrize(
    ("listed", "said"),
    [
        ("patchesStrategicMerge:\n  - off.yaml\n",
         "2 manifests of HelmRelease podinfo/checkout in commit {c} set it differently "
         "(deploy/base/release.yaml, deploy/production/off.yaml)"),
        ("patches:\n  - path: off.yaml\n",
         "2 manifests of HelmRelease podinfo/checkout in commit {c} set it differently"),
        ("replacements:\n  - path: off.yaml\n",
         "deploy/production/kustomization.yaml takes replacements from 'off.yaml', which are "
         "not read: they may rewrite the object"),
    ],
)  # fmt: skip
def test_a_patch_in_a_file_of_its_own_is_read_with_the_manifest(
    case: Case, listed: str, said: str
) -> None:
    """Production's kustomization patches the base's HelmRelease from a file beside it,
    which no ``resources`` lists: the base sets ``debug: true``, as the cluster lists, but
    kustomize renders it off. Before, only the files ``resources`` lists were read as the
    object's documents, the patch file was not, nor did its entry name the object, and the
    rollout was restored to succeeded."""
    overlay = "resources:\n  - ../base\n" + listed
    files = {"deploy/base/release.yaml": DEBUG, **BASE, "deploy/production/off.yaml": OFF_FILE,
             "deploy/production/kustomization.yaml": overlay}  # fmt: skip
    commit = _commit(case, files)
    target = _release(case, commit, "./deploy/production", values={**VALUES, "debug": True})
    assert target["status"] == "failed"
    assert said.format(c=commit[:12]) in target["reason"]


@pytest.mark.parametrize(
    ("overlay", "spec", "said"),
    [
        ("namespace: staging\n", {},
         "holds no manifest of HelmRelease podinfo/checkout in what Kustomization "
         "flux-system/apps applies"),
        ("namePrefix: prod-\n", {},
         "deploy/base/release.yaml in commit {c} names HelmRelease podinfo/checkout but cannot "
         "be read (deploy/production/kustomization.yaml sets namePrefix: its name is rendered "
         "otherwise)"),
        ("", {"targetNamespace": "staging"},
         "holds no manifest of HelmRelease podinfo/checkout in what Kustomization "
         "flux-system/apps applies"),
        ("", {"nameSuffix": "-eu"},
         "cannot be read (Kustomization flux-system/apps sets spec.nameSuffix: its name is "
         "rendered otherwise)"),
        ("namespace: podinfo\n", {}, None),
    ],
)  # fmt: skip
def test_a_manifest_rendered_under_another_name_is_not_the_objects(
    case: Case, overlay: str, spec: dict[str, str], said: str | None
) -> None:
    """The base's HelmRelease ``podinfo/checkout`` sets what the cluster lists, but the
    overlay (its ``namespace:``, ``namePrefix``) or the parent Kustomization (its
    ``targetNamespace``, ``nameSuffix``) renders it into ``staging``, or as ``prod-checkout``
    or ``checkout-eu``: the object listed, made by hand, is none that git renders. Before,
    the manifest counted as written and the rollout was restored to succeeded. An overlay
    that renders it into its own namespace leaves it the object's."""
    files = {
        "deploy/base/release.yaml": RELEASE,
        **BASE,
        "deploy/production/kustomization.yaml": overlay + "resources:\n  - ../base\n",
    }
    commit = _commit(case, files)
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = VALUES
    apps = parent("apps", "./deploy/production", commit, **spec)
    path = write_list(case.work / "helm.json", [release, apps])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == ("succeeded" if said is None else "failed")
    assert said is None or said.format(c=commit[:12]) in target["reason"]


@pytest.mark.parametrize(
    ("selector", "status"),
    [({"kind": "HelmRelease", "name": "check.*"}, "failed"),
     ({"kind": "HelmRelease", "name": "payments"}, "succeeded")],
)  # fmt: skip
def test_a_parent_that_patches_the_object_renders_it_otherwise(
    case: Case, selector: dict[str, str], status: str
) -> None:
    """The manifest sets ``debug: true``, as the cluster lists, but the parent Kustomization,
    as listed, patches what it renders (``kubectl patch`` of its ``spec.patches``) and turns
    it off: the object listed is not what the parent renders. Before, the rollout was restored
    to succeeded. A patch of another object leaves the manifest as written."""
    commit = _commit(case, {"deploy/release.yaml": DEBUG})
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = {**VALUES, "debug": True}
    apps = parent("apps", "./deploy", commit, patches=[{"patch": OFF, "target": selector}])
    path = write_list(case.work / "helm.json", [release, apps])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == status
    assert status == "succeeded" or target["reason"].endswith(
        "; Kustomization flux-system/apps patches what it renders (its spec.patches, as listed), "
        "and a patch may select HelmRelease checkout: the manifest is not rendered as written"
    )


OFF_PLUGIN = (
    "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: off\n"
    'patch: \'[{"op": "replace", "path": "/spec/values/debug", "value": false}]\'\n'
    "target:\n  kind: HelmRelease\n"
)
"""A kustomize plugin configuration that turns debug off in every HelmRelease."""
ESCAPED = (
    "  - patch: |\n      apiVersion: helm.toolkit.fluxcd.io/v2\n      kind: HelmRelease\n"
    '      metadata:\n        name: "\\x63heckout"\n        namespace: podinfo\n'
    "      spec:\n        values:\n          debug: false\n"
)
"""An inline strategic merge patch without a target whose quoted name is spelt by an escape:
kustomize reads ``checkout``."""


@pytest.mark.parametrize(
    ("listed", "files", "said"),
    [
        ("patchesStrategicMerge:\n  - off.txt\n", {"deploy/production/off.txt": OFF_FILE},
         "deploy/production/kustomization.yaml patches with 'off.txt', which the commit holds "
         "as no manifest file read"),
        ("transformers:\n  - off.txt\n", {"deploy/production/off.txt": OFF_PLUGIN},
         "deploy/production/kustomization.yaml lists transformers, which are not read"),
        ("transformers:\n  - |-\n" + "".join(f"    {line}\n" for line in OFF_PLUGIN.splitlines()),
         {}, "deploy/production/kustomization.yaml lists transformers, which are not read"),
        ("patches:\n" + ESCAPED, {},
         "deploy/production/kustomization.yaml in commit {c} may patch HelmRelease "
         "podinfo/checkout"),
    ],
    ids=["patch-file-txt", "transformers-file", "transformers-inline", "escaped-name"],
)  # fmt: skip
def test_a_patch_the_walk_cannot_read_is_not_passed_over(
    case: Case, listed: str, files: dict[str, str], said: str
) -> None:
    """The base sets ``debug: true``, as the cluster lists, and production turns it off in
    what kustomize renders: by a patch file not named ``.yaml`` (kustomize reads a patch of
    any name), by a ``PatchTransformer`` that ``transformers`` lists (from a file, or inline),
    or by an inline patch whose name an escape spells. Before, none was read: the patch file
    was left out as no manifest, the transformers unread, the escaped name not found in the
    patch's text, and the rollout was restored to succeeded."""
    overlay = "resources:\n  - ../base\n" + listed
    files = {"deploy/base/release.yaml": DEBUG, **BASE, **files,
             "deploy/production/kustomization.yaml": overlay}  # fmt: skip
    commit = _commit(case, files)
    target = _release(case, commit, "./deploy/production", values={**VALUES, "debug": True})
    assert target["status"] == "failed"
    assert said.format(c=commit[:12]) in target["reason"]


INIT = {"initContainers": [{"name": "wait", "image": "busybox:1.36"}]}
"""Values with an init container, as charts take them, whose image is ``busybox:1.36``."""


@pytest.mark.parametrize(
    ("overlay", "spec", "values", "said"),
    [
        ("images:\n  - name: busybox\n    newTag: '1.37'\n", {}, INIT,
         "deploy/production/kustomization.yaml sets images: kustomize rewrites the image"),
        ("", {"images": [{"name": "busybox", "newTag": "1.37"}]}, INIT,
         "Kustomization flux-system/apps sets spec.images: kustomize rewrites the image"),
        ("images:\n  - name: busybox\n    newTag: '1.37'\n", {}, {}, None),
    ],
    ids=["kustomization", "parent", "no-containers"],
)  # fmt: skip
def test_images_rewrite_the_containers_of_values(
    case: Case, overlay: str, spec: dict[str, Any], values: dict[str, Any], said: str | None
) -> None:
    """The base's HelmRelease runs ``busybox:1.36`` in an init container of its values, as
    the cluster lists; production's kustomization (or the parent's ``spec.images``) sets
    ``images``, which kustomize applies to the ``image`` of any ``containers`` or
    ``initContainers`` list at any depth: it renders ``busybox:1.37``. Before, the manifest
    counted as written and the rollout was restored to succeeded. Values without containers
    are left as written."""
    release_yaml = RELEASE.replace(
        "    replicaCount: 2\n",
        "    replicaCount: 2\n"
        + (
            "    initContainers:\n      - name: wait\n        image: busybox:1.36\n"
            if values
            else ""
        ),
    )
    files = {
        "deploy/base/release.yaml": release_yaml,
        **BASE,
        "deploy/production/kustomization.yaml": overlay + "resources:\n  - ../base\n",
    }
    commit = _commit(case, files)
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = {**VALUES, **values}
    apps = parent("apps", "./deploy/production", commit, **spec)
    path = write_list(case.work / "helm.json", [release, apps])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == ("succeeded" if said is None else "failed")
    assert said is None or said in target["reason"]


STAGING_OFF = [{"patch": OFF, "target": {"kind": "HelmRelease", "namespace": "staging"}}]
"""A patch turning debug off in the HelmReleases of ``staging``."""


@pytest.mark.parametrize(
    ("overlay", "spec", "status"),
    [
        ({"namespace": "podinfo", "patches": STAGING_OFF}, {}, "failed"),
        ({}, {"targetNamespace": "podinfo", "patches": STAGING_OFF}, "failed"),
        ({"patches": STAGING_OFF}, {}, "succeeded"),
    ],
    ids=["overlay", "parent", "not-placed"],
)  # fmt: skip
def test_a_patch_selects_by_the_namespace_written_before_it_is_placed(
    case: Case, overlay: dict[str, Any], spec: dict[str, Any], status: str
) -> None:
    """The base writes the HelmRelease into ``staging`` with ``debug: true``; production's
    kustomization (its ``namespace:``) or the parent (its ``targetNamespace``) places it in
    ``podinfo``, the object's, and patches the HelmReleases of ``staging``: kustomize applies
    a kustomization's patches before its namespace, so the patch selects it and turns debug
    off. Before, the patch's namespace was matched with the object's alone, and the rollout
    was restored to succeeded. A release of ``podinfo`` written so is no patch's."""
    written = DEBUG.replace("  namespace: podinfo\n", "  namespace: staging\n")
    if "namespace" not in overlay and "targetNamespace" not in spec:
        written = DEBUG
    files = {"deploy/base/release.yaml": written, **BASE,
             "deploy/production/kustomization.yaml":
             yaml.safe_dump({"resources": ["../base"], **overlay})}  # fmt: skip
    commit = _commit(case, files)
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = {**VALUES, "debug": True}
    apps = parent("apps", "./deploy/production", commit, **spec)
    path = write_list(case.work / "helm.json", [release, apps])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == status
    assert status == "succeeded" or "may" in target["reason"]


def test_a_file_a_kustomization_lists_as_crds_is_not_rendered(case: Case) -> None:
    """The only manifest of the HelmRelease, setting what the cluster lists, is a file that
    the kustomization lists in ``crds``: kustomize reads it as a schema of custom resources
    and renders nothing of it, so git renders no such object. Before, it counted as a
    resource and the rollout of the object made by hand was restored to succeeded."""
    files = {"deploy/production/checkout.yaml": DEBUG,
             "deploy/production/kustomization.yaml": "crds:\n  - checkout.yaml\n"}  # fmt: skip
    commit = _commit(case, files)
    target = _release(case, commit, "./deploy/production", values={**VALUES, "debug": True})
    assert target["status"] == "failed"
    assert (
        "holds no manifest of HelmRelease podinfo/checkout in what Kustomization"
        in (target["reason"])
    )


@pytest.mark.parametrize("directive", ["$patch: delete", "$patch: replace"])
def test_a_patch_directive_is_no_value_set(case: Case, directive: str) -> None:
    """Production's patch file writes the HelmRelease as the base does, ``debug: true`` as the
    cluster lists, with a strategic merge directive: ``$patch: delete`` renders nothing of
    it, so the object listed was made by hand. Before, the directive was not read, the two
    documents set the same, and the rollout was restored to succeeded."""
    patch = DEBUG.split("---\n")[2].replace(
        "kind: HelmRelease\n", f"kind: HelmRelease\n{directive}\n"
    )
    files = {"deploy/base/release.yaml": DEBUG, **BASE, "deploy/production/gone.yaml": patch,
             "deploy/production/kustomization.yaml":
             "resources:\n  - ../base\npatchesStrategicMerge:\n  - gone.yaml\n"}  # fmt: skip
    commit = _commit(case, files)
    target = _release(case, commit, "./deploy/production", values={**VALUES, "debug": True})
    assert target["status"] == "failed"
    assert "deploy/production/gone.yaml in commit" in target["reason"]
    assert "it holds $patch, a strategic merge patch's directive" in target["reason"]


@pytest.mark.parametrize(
    ("applies", "other", "said"),
    [
        ((), None, "Kustomization flux-system/apps, which its labels say applied it, does not "
                   "list it in its status.inventory (podinfo_checkout_helm.toolkit.fluxcd.io_"
                   "HelmRelease): that it applied it is not known"),
        (None, None, "Kustomization flux-system/apps, which its labels say applied it, lists "
                     "no status.inventory"),
        (APPLIED, "payments", "Kustomization flux-system/apps and Kustomization "
                              "flux-system/payments all list it in their status.inventory"),
    ],
)  # fmt: skip
def test_the_parent_its_labels_name_must_list_the_object(
    case: Case, applies: tuple[tuple[str, str], ...] | None, other: str | None, said: str
) -> None:
    """kustomize-controller's labels are the object's own metadata, as editable in the cluster
    as its spec: pointed at ``apps``, whose folder holds a manifest setting the values set by
    hand, though ``apps`` applied no such HelmRelease (its ``status.inventory``, which
    kustomize-controller writes on every apply, does not list it, or is not listed), or while
    another Kustomization lists it too. Before, the labels alone named the folder, and the
    rollout was restored to succeeded."""
    commit = _commit(case, {"deploy/release.yaml": RELEASE})
    released = [Released(1, f"1.1.0+{commit[:12]}", "2024-06-05T10:00:00Z")]
    release = applied_by(helm_release("checkout", released), "apps")
    release["spec"]["values"] = VALUES
    apps = parent("apps", "./deploy", commit, applies or ())
    if applies is None:
        del apps["status"]["inventory"]
    listed = [release, apps] + ([parent(other, "./other", commit)] if other else [])
    path = write_list(case.work / "helm.json", listed)
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert said in target["reason"]
    assert [s for s in findings(case.check(), "FLEET-001") if s.endswith(":eu-west-1")]
