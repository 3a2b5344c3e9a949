"""An Argo CD Application that ignores the replica count (``/spec/replicas``, the
documentation's own example for an autoscaler) while git keeps a workload at ``replicas: 0``:
a ``kubectl scale`` by hand runs what was meant never to run, and ``Synced`` shows nothing.
Real git repositories, the real engine, the recorded Application of
tests/importers/fixtures/kubernetes/ rendering a folder of the repository judged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import directory_source, overridden
from tests.importers.k8s_scenario import CLUSTERS, applications
from tests.importers.test_argocd_values_in_git import REPO, _app, _commit, _target
from tests.importers.test_kubernetes import DEV, REVIEW, Case, findings, targets

URL = "https://github.com/example/checkout"
REPLICAS = {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
"""argoproj/argo-cd ``docs/user-guide/sync-options.md``'s entry: the replica count."""


def deployment(name: str, replicas: int | str) -> str:
    """argoproj/argocd-example-apps ``guestbook/guestbook-ui-deployment.yaml``, renamed, with
    ``replicas`` as given."""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - image: gcr.io/heptio-images/ks-guestbook-demo:0.2
        name: {name}
        ports:
        - containerPort: 80
"""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _imported(case: Case, files: dict[str, str | None], ignored: list[Any]) -> dict[str, Any]:
    """v3 (``files`` over v2) synced everywhere, eu-west-1's application ignoring
    ``ignored``; eu-west-1's target."""
    v3 = case.repo.commit("v3", files, author=DEV, date="2024-06-04T09:30:00Z", trailers=REVIEW)
    apps = applications(case.v1, v3, v2_on=CLUSTERS)
    for app in apps:
        directory_source(app, URL, "deploy")
    apps[0]["spec"]["ignoreDifferences"] = ignored
    result = case.argocd(apps, "--application-set", "checkout", "--revision", v3)
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert targets(record)["eu-central-1"] == "succeeded"
    return target


def _check(case: Case) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                     "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
    return result.code, result.json()


def test_a_workload_git_keeps_at_zero_is_not_vouched_for(case: Case) -> None:
    """Git keeps ``power-peg`` at ``replicas: 0``, a service meant to be off, beside
    ``checkout``; the Application ignores the replica count of every Deployment. A hand
    ``kubectl scale deployment power-peg --replicas=3`` runs it, and Argo CD stays ``Synced``
    and ``Healthy``. Before, eu-west-1 was recorded succeeded and check passed (exit 0)."""
    files = {
        "deploy/checkout.yaml": deployment("checkout", 3),
        "deploy/power-peg.yaml": deployment("power-peg", 0),
    }
    target = _imported(case, files, [REPLICAS])
    assert target["status"] == "failed", target
    assert target["reason"].startswith(
        "Argo CD sync status Synced does not cover spec.ignoreDifferences (apps/Deployment "
        "/spec/replicas): deploy/power-peg.yaml in commit "
    )
    assert "keeps Deployment power-peg at replicas: 0" in target["reason"]
    assert target["reason"].endswith(
        "name in the entry (name:) the workloads an autoscaler owns, or stop ignoring the "
        "replica count"
    )
    code, report = _check(case)
    assert code == 1, report
    assert any(s.endswith(":eu-west-1") for s in findings(report, "FLEET-001"))


@pytest.mark.parametrize(
    ("replicas", "ignored", "status"),
    [
        (3, [REPLICAS], "succeeded"),
        (0, [{**REPLICAS, "name": "checkout"}], "succeeded"),
        (0, [{**REPLICAS, "name": "power-peg"}], "failed"),
        (0, [{"kind": "Deployment", "jqPathExpressions": [".spec.replicas"]}], "failed"),
        (0, [{"group": "apps", "kind": "StatefulSet", "jsonPointers": ["/spec/replicas"]}],
         "succeeded"),
        (0, [], "succeeded"),
        ("0x0", [REPLICAS], "failed"),
        # Argo CD matches an entry's group and kind as globs (diff_normalizer.go glob.Match).
        (0, [{**REPLICAS, "kind": "*"}], "failed"),
        (0, [{**REPLICAS, "kind": "Deploy*"}], "failed"),
        (0, [{**REPLICAS, "kind": "State*"}], "succeeded"),
    ],
)  # fmt: skip
def test_only_the_workloads_the_entry_covers_count(
    case: Case, replicas: int | str, ignored: list[Any], status: str
) -> None:
    """An entry that names its workload (``name: checkout``, the one an autoscaler owns) or
    another kind leaves ``power-peg`` compared: a scale by hand shows as ``OutOfSync``. Hex
    ``0x0`` is zero to YAML 1.1 (kubectl's reader) and counts. A kind given as a glob
    (``*``, ``Deploy*``) covers the Deployment: before, it was compared as written, covered
    nothing, and the sync was recorded succeeded."""
    files = {
        "deploy/checkout.yaml": deployment("checkout", 3),
        "deploy/power-peg.yaml": deployment("power-peg", replicas),
    }
    target = _imported(case, files, ignored)
    assert target["status"] == status, target


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"deploy/power-peg.yaml": "kind: Deployment\nspec: {replicas: [\n"},
         "deploy/power-peg.yaml cannot be read"),
        ({"deploy/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 1.0.0\n",
          "deploy/templates/power-peg.yaml": deployment("power-peg", "{{ .Values.count }}")},
         "deploy/templates/power-peg.yaml cannot be read (a Helm template"),
        ({"elsewhere/power-peg.yaml": deployment("power-peg", 3)},
         "which cannot be followed: the commit holds no folder 'deploy'"),
    ],
)  # fmt: skip
def test_what_cannot_be_read_vouches_for_nothing(
    case: Case, files: dict[str, str | None], said: str
) -> None:
    """Whether git keeps a workload at zero is not known where the folder cannot be read."""
    target = _imported(case, files, [REPLICAS])
    assert target["status"] == "failed", target
    assert "is not known: " in target["reason"] and said in target["reason"], target


def test_a_plugin_source_vouches_for_nothing(case: Case) -> None:
    """The recorded Application renders through a plugin (``cmp-helm-v2``): what it renders
    is not read, so whether it keeps a workload at zero is not known."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    apps[0]["spec"]["ignoreDifferences"] = [REPLICAS]
    result = case.argocd(apps, "--application-set", "checkout", "--revision", case.v2)
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == "failed", target
    assert (
        "application checkout-eu-west-1 renders no one folder of the repository judged"
        in target["reason"]
    )


KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
BASE = {
    "deploy/base/power-peg.yaml": deployment("power-peg", 3),
    "deploy/base/kustomization.yaml": KUSTOMIZATION + "resources:\n- power-peg.yaml\n",
}
"""A base that runs ``power-peg``, which an overlay in ``deploy`` renders."""
ZERO_OP = "- op: replace\n  path: /spec/replicas\n  value: 0\n"
"""A JSON patch (kustomize's ``patchesJson6902``) setting the replica count to zero."""


@pytest.mark.parametrize(
    ("overlay", "ignored", "status"),
    [
        ("replicas:\n- name: power-peg\n  count: 0\n", [REPLICAS], "failed"),
        ("replicas:\n- name: power-peg\n  count: 0\n", [{**REPLICAS, "name": "checkout"}],
         "succeeded"),
        ("replicas:\n- name: power-peg\n  count: 5\n", [REPLICAS], "succeeded"),
        ("patches:\n- target: {kind: Deployment, name: power-peg}\n  patch: |-\n"
         + "".join(f"    {line}\n" for line in ZERO_OP.splitlines()), [REPLICAS], "failed"),
        ("patches:\n- patch: '[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 0}]'"
         "\n  target: {kind: Deployment}\n", [REPLICAS], "failed"),
        ("patchesJson6902:\n- target: {group: apps, version: v1, kind: Deployment, "
         "name: power-peg}\n  path: zero.yaml\n", [REPLICAS], "failed"),
        ("namePrefix: prod-\n", [{**REPLICAS, "name": "prod-power-peg"}], "succeeded"),
        # A patch target's name is a regular expression; a patch file's target names it.
        ("patches:\n- target: {kind: Deployment, name: 'power-p.*'}\n  patch: |-\n"
         + "".join(f"    {line}\n" for line in ZERO_OP.splitlines()),
         [{**REPLICAS, "name": "power-peg"}], "failed"),
        ("patchesJson6902:\n- target: {group: apps, version: v1, kind: Deployment, "
         "name: power-peg}\n  path: zero.yaml\n", [{**REPLICAS, "name": "power-peg"}],
         "failed"),
        ("patches:\n- target: {kind: Deployment, name: checkout}\n  path: zero.yaml\n",
         [{**REPLICAS, "name": "power-peg"}], "succeeded"),
    ],
)  # fmt: skip
def test_an_overlay_that_sets_zero_replicas_counts(
    case: Case, overlay: str, ignored: list[Any], status: str
) -> None:
    """An overlay's kustomization keeps the base's ``power-peg`` at zero through its
    ``replicas`` field or a JSON patch (inline or in ``zero.yaml``): Argo CD renders it at
    zero, and a hand scale runs it unseen. Before, each was recorded succeeded (check exit 0):
    only documents written at zero counted. A count of five, or an entry naming another
    workload, leaves it compared."""
    files = {
        **BASE,
        "deploy/kustomization.yaml": KUSTOMIZATION + "resources:\n- base\n" + overlay,
        "deploy/zero.yaml": ZERO_OP,
    }
    target = _imported(case, files, ignored)
    assert target["status"] == status, target
    if status == "failed":
        assert "keeps the workload " in target["reason"], target


def test_a_renamed_workload_at_zero_counts(case: Case) -> None:
    """The entry names the workload as rendered (``prod-power-peg``: Argo CD matches the live
    object), the base writes it ``power-peg`` at zero and the overlay's ``namePrefix: prod-``
    renames it. Before, the names did not match and the sync was recorded succeeded."""
    files = {
        **BASE,
        "deploy/base/power-peg.yaml": deployment("power-peg", 0),
        "deploy/kustomization.yaml": KUSTOMIZATION + "namePrefix: prod-\nresources:\n- base\n",
    }
    target = _imported(case, files, [{**REPLICAS, "name": "prod-power-peg"}])
    assert target["status"] == "failed", target
    assert "keeps Deployment power-peg at replicas: 0" in target["reason"], target


DECLARED = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: checkout-eu-west-1
  namespace: argo-cd
spec:
  project: sre
  source:
    repoURL: https://github.com/foo/manifests-velero.git
    targetRevision: main
    path: deploy
    kustomize:
      replicas:
      - name: power-peg
        count: 0
  destination:
    name: eu-west-1
    namespace: shop
"""
"""The Application as its app of apps declares it in git, setting ``kustomize.replicas``
(argoproj/argo-cd ``docs/user-guide/kustomize.md``) to keep ``power-peg`` off."""


@pytest.mark.parametrize(
    ("count", "status"), [(0, "failed"), ("00", "failed"), ("-000", "failed"), ("10", "succeeded")]
)
def test_replicas_the_application_sets_to_zero_count(
    case: Case, count: int | str, status: str
) -> None:
    """The commit's Application keeps ``power-peg`` at zero through ``kustomize.replicas``, so
    the setting is the commit's, and the folder writes it at three. Before, the folder alone
    was read and the sync was recorded succeeded (check exit 0) while a hand scale ran it. A
    count given as text is read as Argo CD reads it (``GetIntCount``: ``strconv.Atoi``), for
    which ``00`` is zero; before, only ``0`` and its signed forms were."""
    commit = _commit(case, {
        "apps/checkout-eu-west-1.yaml": DECLARED.replace("count: 0", f"count: {json.dumps(count)}"),
        "deploy/power-peg.yaml": deployment("power-peg", 3),
        "deploy/kustomization.yaml": "resources:\n- power-peg.yaml\n",
    })  # fmt: skip
    app = directory_source(_app(commit), REPO, "deploy")
    overridden(app, "kustomize.replicas", [{"name": "power-peg", "count": count}])
    app["spec"]["ignoreDifferences"] = [REPLICAS]
    target = _target(case, app)
    assert target["status"] == status, target
    if status == "failed":
        assert "sets source.kustomize.replicas (power-peg: count 0)" in target["reason"], target


def test_a_linked_manifest_vouches_for_nothing(case: Case) -> None:
    """``deploy/power-peg.yaml`` is a symbolic link to ``off/power-peg.yaml``, which keeps
    the workload at zero: Argo CD's directory source reads the file a link inside the
    repository names (reposerver ``getPotentiallyValidManifestFile``), while the trees read
    here leave links out. Before, the folder read as holding only ``checkout`` and the sync
    was recorded succeeded (check exit 0)."""
    (case.repo.path / "deploy").mkdir(parents=True, exist_ok=True)
    (case.repo.path / "deploy" / "power-peg.yaml").symlink_to("../off/power-peg.yaml")
    case.repo.git("add", "--", "deploy/power-peg.yaml")
    files = {
        "deploy/checkout.yaml": deployment("checkout", 3),
        "off/power-peg.yaml": deployment("power-peg", 0),
    }
    target = _imported(case, files, [REPLICAS])
    assert target["status"] == "failed", target
    assert "deploy/power-peg.yaml is a symbolic link" in target["reason"], target


CHART = {
    "deploy/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "deploy/templates/checkout.yaml": deployment("checkout", 3),
}
"""A Helm chart in the folder the Application renders, its one template written out."""
PARTIAL = '{{- define "shop.count" -}}\nreplicas: 0\n{{- end }}\n'
"""A partial (``templates/_helpers.tpl``) that renders a replica count of zero."""


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"deploy/templates/_helpers.tpl": PARTIAL,
          "deploy/templates/power-peg.yaml": deployment("power-peg", 3).replace(
              "  replicas: 3\n", '  {{- include "shop.count" . | nindent 2 }}\n')},
         "failed"),
        ({"deploy/values.yaml": "powerPeg:\n  spec:\n    replicas: 0\n",
          "deploy/templates/power-peg.yaml": "{{ toYaml .Values.powerPeg }}\n"}, "failed"),
        ({"deploy/templates/power-peg.yaml": deployment("power-peg", 3)}, "succeeded"),
    ],
)  # fmt: skip
def test_a_chart_template_that_never_spells_replicas_counts(
    case: Case, files: dict[str, str], status: str
) -> None:
    """A template of the chart holding ``{{`` renders what its values and partials say: one
    that includes a partial setting ``replicas: 0``, or renders values holding it, keeps
    ``power-peg`` off though its own text never spells ``replicas``. Before, only files
    holding that word were read: the sync was recorded succeeded and check passed (exit 0).
    A chart whose templates are written out is read as written."""
    target = _imported(case, {**CHART, **files}, [REPLICAS])
    assert target["status"] == status, target
    if status == "failed":
        assert "deploy/templates/power-peg.yaml cannot be read (a Helm template" in target["reason"]
        code, _ = _check(case)
        assert code == 1


HELM_GUESTBOOK = {
    "deploy/Chart.yaml": "apiVersion: v2\nname: helm-guestbook\nversion: 0.1.0\n",
    "deploy/values.yaml": "replicaCount: 1\n",
    "deploy/templates/deployment.yaml": deployment("checkout", "{{ .Values.replicaCount }}"),
}
"""argoproj/argocd-example-apps ``helm-guestbook``, its count templated as there."""


def test_naming_the_autoscaled_workload_is_not_advised_where_it_cannot_help(case: Case) -> None:
    """The chart's template is not read, so the sync fails whatever the entry names: an entry
    naming ``checkout``, as Argo CD's documentation advises, still fails it. Before, the reason
    advised naming the workloads in the entry, which the team had done; it now says what
    does pass: leave the count out of what an autoscaler owns and stop ignoring it."""
    target = _imported(case, HELM_GUESTBOOK, [{**REPLICAS, "name": "checkout"}])
    assert target["status"] == "failed", target
    assert "deploy/templates/deployment.yaml cannot be read" in target["reason"]
    assert "name in the entry (name:)" not in target["reason"]
    assert target["reason"].endswith(
        "naming workloads in the entry does not help while this is not read: leave "
        "spec.replicas out of the manifests of what an autoscaler owns (Argo CD's best "
        "practices; a chart's autoscaling.enabled commonly does so) and stop ignoring the "
        "replica count"
    )


def test_a_patch_selecting_by_label_counts_for_every_name(case: Case) -> None:
    """The overlay's patch selects by label (``tier in (off)``) the base's ``power-peg``,
    labelled so, and sets its count to zero; the entry names ``power-peg``. The selector
    spells no name: before, the patch counted for none, and the sync was recorded succeeded."""
    labelled = deployment("power-peg", 3).replace(
        "  name: power-peg\n", '  name: power-peg\n  labels:\n    tier: "off"\n', 1
    )
    files = {
        **BASE,
        "deploy/base/power-peg.yaml": labelled,
        "deploy/kustomization.yaml": KUSTOMIZATION
        + "resources:\n- base\npatches:\n- target: {labelSelector: 'tier in (off)'}\n"
        + "  path: zero.yaml\n",
        "deploy/zero.yaml": ZERO_OP,
    }
    target = _imported(case, files, [{**REPLICAS, "name": "power-peg"}])
    assert target["status"] == "failed", target
    assert (
        "keeps the workload a patches entry of deploy/kustomization.yaml selects"
        in target["reason"]
    ), target


SETTINGS = (
    "apiVersion: example.com/v1\nkind: Settings\nmetadata:\n  name: s\nspec:\n  replicas: 0\n"
)
"""A custom resource holding a count of zero, of a kind no entry covers."""


@pytest.mark.parametrize(
    ("overlay", "said"),
    [
        ("- settings.yaml\nreplacements:\n- source: {kind: Settings, name: s, fieldPath: "
         "spec.replicas}\n  targets:\n  - select: {kind: Deployment, name: power-peg}\n"
         "    fieldPaths: [spec.replicas]\n",
         "deploy/kustomization.yaml replaces a replicas field with a value it reads elsewhere"),
        ("helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n"
         "  version: 6.5.0\n  valuesInline: {replicaCount: 0}\n",
         "deploy/kustomization.yaml inflates Helm charts (helmCharts), which are not read"),
    ],
)  # fmt: skip
def test_what_a_kustomization_renders_elsewhere_vouches_for_nothing(
    case: Case, overlay: str, said: str
) -> None:
    """The overlay copies a zero into ``power-peg``'s count from a resource of another kind
    (inline ``replacements``), or inflates a chart of a Helm repository with a count of zero
    (``helmCharts``, which Argo CD renders where its kustomize build options enable Helm).
    Before, neither was read and the sync was recorded succeeded (check exit 0)."""
    files = {
        **BASE,
        "deploy/settings.yaml": SETTINGS,
        "deploy/kustomization.yaml": KUSTOMIZATION + "resources:\n- base\n" + overlay,
    }
    target = _imported(case, files, [REPLICAS])
    assert target["status"] == "failed", target
    assert f"is not known: {said}; naming workloads" in target["reason"], target
