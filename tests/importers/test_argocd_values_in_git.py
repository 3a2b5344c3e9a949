"""An Argo CD Application declared in git (the app-of-apps pattern: argoproj/argocd-example-apps'
``apps/``) sets its Helm parameters and values, images or plugin environment in a manifest of
the repository: where the commit its sync recorded holds that manifest, setting exactly what
the sync rendered, they were reviewed with the commit, and the sync is no override. Anything
else stays ``failed``, naming why: a manifest the commit does not hold, one that sets a field
otherwise, a Helm template, a commit the sync did not record (``--revision-commit``), what is
read from outside the repository. Real git repositories, the real engine, the recorded
Application of tests/importers/fixtures/kubernetes/ and a manifest laid out as Argo CD's own
``docs/operator-manual/application.yaml`` writes one (see that directory's README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.importers.k8s_recordings import Synced, application, of_applications, overridden
from tests.importers.k8s_scenario import OPS
from tests.importers.test_kubernetes import DEV, REVIEW, Case, findings

OVERRIDDEN = "Argo CD rendered it with overrides set in the Application, not in git"
PARAMETERS = [
    {
        "name": "nginx-ingress.controller.service.annotations.external-dns\\.alpha\\.kubernetes"
        "\\.io/hostname",
        "value": "mydomain.example.com",
    },
    {"name": "ingress.annotations.kubernetes\\.io/tls-acme", "value": "true", "forceString": True},
]
"""``spec.source.helm.parameters`` of Argo CD's ``docs/operator-manual/application.yaml``, as
the cluster lists them (JSON)."""
VALUES = """\
ingress:
  enabled: true
  path: /
  hosts:
    - mydomain.example.com
"""
"""``spec.source.helm.values``: a text, as the manifest's block scalar gives it."""
MANIFEST = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: checkout-eu-west-1
  # You'll usually want to add your resources to the argocd namespace.
  namespace: argo-cd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  # The project the application belongs to.
  project: sre

  # Source of the application manifests
  source:
    repoURL: https://github.com/foo/manifests-velero.git
    targetRevision: test-lla
    path: instances/test
    # plugin specific config
    plugin:
      name: cmp-helm-v2
    helm:
      # Extra parameters to set (same as setting through values.yaml, but these take precedence)
      parameters:
      - name: "HOSTNAME"
        value: mydomain.example.com
      - name: "ingress.annotations.kubernetes\\\\.io/tls-acme"
        value: "true"
        forceString: true # ensures that value is treated as a string

      # Values file as block file
      values: |
        ingress:
          enabled: true
          path: /
          hosts:
            - mydomain.example.com

  destination:
    name: eu-west-1
    namespace: shop
""".replace(
    "HOSTNAME",
    "nginx-ingress.controller.service.annotations.external-dns\\\\.alpha\\\\.kubernetes\\\\.io"
    "/hostname",
)
"""The Application's manifest in the repository, laid out as argoproj/argo-cd's
``docs/operator-manual/application.yaml`` (at commit 0327d2f95b) is, its source the
recorded application's."""
TEMPLATE = MANIFEST.replace(
    "    targetRevision: test-lla\n",
    "    targetRevision: {{ .Values.spec.source.targetRevision }}\n",
)
"""The manifest as a Helm template of an app of apps writes it (argoproj/argocd-example-apps'
``apps/templates/helm-guestbook.yaml``): what the parent renders of it is not read."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _commit(case: Case, files: dict[str, str | None], date: str = "2024-06-05T09:00:00Z") -> str:
    return case.repo.commit("deploy", files, author=DEV, date=date, trailers=REVIEW)


REPO = "https://github.com/foo/manifests-velero.git"
"""The repository the recorded application deploys, where its app of apps declares it."""
TRACKING = "argocd.argoproj.io/tracking-id"
OWNED = [
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "blockOwnerDeletion": True,
        "controller": True,
        "kind": "ApplicationSet",
        "name": "checkout",
        "uid": "86cdfba4-8697-47b3-8489-71fab7f4a805",
    }
]
"""``metadata.ownerReferences`` of an Application an ApplicationSet generates, as the recorded
application of tests/importers/fixtures/kubernetes/ lists them."""


def parent(
    path: str = "apps", name: str = "apps", lists: str | None = "checkout-eu-west-1", **source: Any
) -> dict[str, Any]:
    """The app of apps ``name`` that applies the folder ``path`` of the repository, as
    argoproj/argo-cd's ``docs/operator-manual/cluster-bootstrapping.md`` creates it (``argocd
    app create apps --dest-namespace argocd --dest-server https://kubernetes.default.svc
    --repo https://github.com/argoproj/argocd-example-apps.git --path apps``), its repository
    the recorded application's; its ``status.resources`` list the Application ``lists`` in
    ``argo-cd`` as an app of apps' do (tests/importers/k8s_recordings.py ``of_applications``)."""
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argo-cd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": REPO, "path": path, "targetRevision": "HEAD", **source},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "argo-cd"},
        },
        "status": {},
    }
    of_applications(app, [lists] if lists else [])
    for resource in app["status"]["resources"]:
        resource["namespace"] = "argo-cd"
    return app


def _app(revision: str, **fields: Any) -> dict[str, Any]:
    """The application of eu-west-1, its one sync of ``revision`` rendered with ``fields``
    (``helm.values``: a path under ``source``) set in the Application, which the app of apps
    ``apps`` applied (Argo CD's annotation tracking, ``APP:GROUP/KIND:NAMESPACE/NAME``)."""
    history = [Synced(revision, "2024-06-05T10:00:00Z", "2024-06-05T10:00:40Z", OPS)]
    app = application("checkout-eu-west-1", "eu-west-1", history)
    del app["metadata"]["ownerReferences"]  # the app of apps applies it, no ApplicationSet
    app["metadata"]["annotations"][TRACKING] = (
        "apps:argoproj.io/Application:argo-cd/checkout-eu-west-1"
    )
    for field, value in fields.items():
        overridden(app, field.replace("__", "."), value)
    return app


def _target(
    case: Case, app: dict[str, Any], *extra: str, apps: dict[str, Any] | None = None
) -> dict[str, Any]:
    result = case.argocd([app, apps or parent()], "--application", "checkout-*", *extra)
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    (target,) = record["targets"]
    assert isinstance(target.get("sequence"), int)  # Argo CD's history id of the sync
    return {k: v for k, v in target.items() if k != "sequence"}


def test_values_the_applications_manifest_in_the_commit_sets_are_the_commits(case: Case) -> None:
    """Before, the sync was recorded failed though the commit it deployed declares the
    Application with exactly these parameters and values."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    assert _target(case, app) == {
        "host": "eu-west-1",
        "status": "succeeded",
        "finished_at": "2024-06-05T10:00:40Z",
    }
    assert not [s for s in findings(case.check(), "FLEET-001") if s.endswith(":eu-west-1")]


def test_a_restored_sync_is_judged_by_the_applications_health(case: Case) -> None:
    """What git holds gives the sync back what it was: the last sync of a Degraded
    application is failed for its health all the same."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    app["status"]["health"] = {"status": "Degraded"}
    target = _target(case, app)
    assert target["status"] == "failed"
    assert target["reason"].startswith("Argo CD health Degraded")


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        (
            {"helm__parameters": PARAMETERS, "helm__values": VALUES.replace("/\n", "/hotfix\n")},
            "apps/checkout-eu-west-1.yaml in commit {c} sets source.helm.values otherwise",
        ),
        (
            {"helm__parameters": PARAMETERS[:1], "helm__values": VALUES},
            "apps/checkout-eu-west-1.yaml in commit {c} sets source.helm.parameters otherwise",
        ),
        (
            {
                "helm__parameters": PARAMETERS,
                "helm__values": VALUES,
                "kustomize__images": ["registry.example.com/shop/checkout:hotfix"],
            },
            "apps/checkout-eu-west-1.yaml in commit {c} sets source.kustomize.images otherwise",
        ),
    ],
)
def test_what_the_manifest_sets_otherwise_is_an_override(
    case: Case, fields: dict[str, Any], said: str
) -> None:
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    target = _target(case, _app(commit, **fields))
    assert target["status"] == "failed"
    assert target["reason"].startswith(f"{OVERRIDDEN}: source.")
    assert target["reason"].endswith("; " + said.format(c=commit[:12]))


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("later", "in commit {c}: the commit holds no folder 'apps'"),
        (
            "template",
            "apps/templates/checkout.yaml in commit {c} names Application "
            "argo-cd/checkout-eu-west-1 but cannot be read (line 16: a key given twice, or not "
            "text)",
        ),
        (
            "namespace",
            "commit {c} holds no manifest of Application argo-cd/checkout-eu-west-1 "
            "(apps/checkout-eu-west-1.yaml holds one that names no metadata.namespace) in what "
            "application apps applies ('apps')",
        ),
    ],
)
def test_a_manifest_the_synced_commit_does_not_show_does_not_count(
    case: Case, where: str, said: str
) -> None:
    """A manifest added by a later commit (the app of apps synced it before the service's
    source moved on); a Helm template; one without a namespace."""
    if where == "template":
        chart = "apiVersion: v2\nname: applications\nversion: 0.1.0\n"
        commit = _commit(case, {"apps/templates/checkout.yaml": TEMPLATE, "apps/Chart.yaml": chart})
    elif where == "namespace":
        unplaced = MANIFEST.replace("  namespace: argo-cd\n", "")
        commit = _commit(case, {"apps/checkout-eu-west-1.yaml": unplaced})
    else:
        commit = _commit(case, {"app": "3"})
        _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST}, "2024-06-05T09:30:00Z")
    target = _target(case, _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES))
    assert target["status"] == "failed"
    assert target["reason"].endswith(said.format(c=commit[:12]))


def test_only_the_commit_the_sync_recorded_counts(case: Case) -> None:
    """The sync recorded a chart version (or another repository's commit), mapped with
    ``--revision-commit`` to a commit that declares the Application: that commit is the
    mapping's word, not what the sync recorded, and its manifest does not count."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app("0.2.0", helm__parameters=PARAMETERS, helm__values=VALUES)
    target = _target(case, app, "--revision-commit", f"0.2.0={commit}")
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; the sync recorded revision 0.2.0, not commit {commit[:12]}: only a manifest in the "
        "commit the sync recorded counts"
    )


def test_what_is_read_from_outside_the_repository_is_never_the_commits(case: Case) -> None:
    """The manifest declares a kustomize component of another repository: what kustomize
    fetches from there is no commit's of this one, whatever the manifest says."""
    component = "https://github.com/example/hotfixes//components/checkout-image?ref=main"
    manifest = MANIFEST.replace(
        "    helm:\n", f"    kustomize:\n      components:\n      - {component}\n    helm:\n"
    )
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": manifest})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES,
               kustomize__components=[component])  # fmt: skip
    target = _target(case, app)
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"; source.kustomize.components ({component!r}): read from outside the repository, "
        "which no manifest in it makes the commit's"
    )


def test_a_failure_an_earlier_import_recorded_follows_the_history(case: Case) -> None:
    """A record of an earlier import that did not look for the manifest has the sync failed;
    the history entry records the source that sync rendered, and the commit declares it: read
    again, the cluster succeeded (the old record kept aside)."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    assert _target(case, app)["status"] == "succeeded"
    path = case.evidence / "deploys.jsonl"
    (record,) = case.records("deploys.jsonl")
    record["targets"][0] |= {"status": "failed", "reason": f"{OVERRIDDEN}: source.helm.values"}
    path.write_text(json.dumps(record) + "\n")
    assert _target(case, app)["status"] == "succeeded"
    assert len(case.records("superseded.jsonl")) == 1


def test_values_as_an_object_are_compared_as_data(case: Case) -> None:
    """``helm.valuesObject`` as the cluster lists it (JSON, keys in another order) and as the
    manifest writes it (YAML, a comment among them): the same data. ``"2"`` is not ``2``."""
    manifest = MANIFEST.replace(
        "      values: |\n",
        "      valuesObject:\n        # two replicas\n        replicaCount: 2\n"
        "        image: {tag: v2, repository: checkout}\n      values: |\n",
    )
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": manifest})
    listed = {"image": {"repository": "checkout", "tag": "v2"}, "replicaCount": 2}
    fields = {"helm__parameters": PARAMETERS, "helm__values": VALUES}
    assert _target(case, _app(commit, **fields, helm__valuesObject=listed))["status"] == (
        "succeeded"
    )
    (case.evidence / "deploys.jsonl").unlink()
    quoted = {**listed, "replicaCount": "2"}
    target = _target(case, _app(commit, **fields, helm__valuesObject=quoted))
    assert target["status"] == "failed"
    assert target["reason"].endswith("sets source.helm.valuesObject otherwise")


def test_images_the_app_of_apps_sets_rewrite_the_containers_a_manifest_holds(case: Case) -> None:
    """The Application's ``helm.valuesObject`` holds ``initContainers`` running busybox:1.36,
    as the cluster lists them; the app of apps sets ``source.kustomize.images`` busybox:1.37,
    and kustomize rewrites the ``image`` of every containers list at any depth of what it
    renders (``imagetag.LegacyFilter``), the Application's values too: what was applied is
    not what the manifest writes, and the sync was restored to succeeded."""
    manifest = MANIFEST.replace(
        "      values: |\n",
        "      valuesObject:\n        initContainers:\n          - name: wait\n"
        "            image: busybox:1.36\n      values: |\n",
    )
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": manifest})
    listed = {"initContainers": [{"name": "wait", "image": "busybox:1.36"}]}
    fields = {"helm__parameters": PARAMETERS, "helm__values": VALUES}
    app = _app(commit, **fields, helm__valuesObject=listed)
    assert _target(case, app, apps=parent())["status"] == "succeeded"
    (case.evidence / "deploys.jsonl").unlink()
    imaged = parent(kustomize={"images": ["busybox:1.37"]})
    target = _target(case, app, apps=imaged)
    assert target["status"] == "failed"
    assert (
        "application apps sets source.kustomize.images: kustomize rewrites the image"
        in (target["reason"])
    )


URL = "https://github.com/example/checkout"
SOURCES = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: checkout-eu-west-1
  namespace: argo-cd
spec:
  sources:
    - repoURL: https://github.com/example/checkout
      targetRevision: main
      ref: values
    - repoURL: https://github.com/example/checkout
      targetRevision: main
      path: deploy
      helm:
        valueFiles:
          - $values/production.yaml
        valuesObject:
          replicaCount: REPLICAS
  destination:
    name: eu-west-1
    namespace: shop
"""
"""An application of several sources declared in the repository, as argoproj/argo-cd
``docs/user-guide/multiple_sources.md`` writes one: a ``ref`` source for its value files and
the source that renders, with values of its own."""


@pytest.mark.parametrize(("written", "status"), [(2, "succeeded"), (3, "failed")])
def test_each_source_of_several_is_compared_in_order(case: Case, written: int, status: str) -> None:
    commit = _commit(case, {"apps/checkout.yaml": SOURCES.replace("REPLICAS", str(written))})
    history = [Synced(commit, "2024-06-05T10:00:00Z", "2024-06-05T10:00:40Z", OPS)]
    app = application("checkout-eu-west-1", "eu-west-1", history)
    del app["metadata"]["ownerReferences"]
    for entry in [app["status"]["history"][0], app["status"]["operationState"]["syncResult"]]:
        entry.pop("revision")
        entry.pop("source")
        entry["revisions"] = [commit, commit]
        entry["sources"] = [
            {"repoURL": URL, "targetRevision": "main", "ref": "values"},
            {"repoURL": URL, "targetRevision": "main", "path": "deploy",
             "helm": {"valueFiles": ["$values/production.yaml"],
                      "valuesObject": {"replicaCount": 2}}},
        ]  # fmt: skip
    app["status"]["sync"].pop("revision", None)
    app["status"]["sync"]["revisions"] = [commit, commit]
    app["status"]["sync"]["comparedTo"]["sources"] = app["status"]["history"][0]["sources"]
    app["status"]["sync"]["comparedTo"].pop("source")
    app["metadata"]["annotations"][TRACKING] = "apps:argoproj.io/Application:argo-cd/" + (
        "checkout-eu-west-1"
    )
    target = _target(case, app, "--source-repo", URL, apps=parent(repoURL=URL))
    assert target["status"] == status
    if status == "failed":
        assert target["reason"].endswith(
            f"; apps/checkout.yaml in commit {commit[:12]} sets "
            "sources[1].helm.valuesObject otherwise"
        )


@pytest.mark.parametrize("applied", ["patched", "unplaced"])
def test_the_application_the_app_of_apps_applies_otherwise_does_not_count(
    case: Case, applied: str
) -> None:
    """The Application's manifest sets what the sync rendered, but the parent renders it
    otherwise: its kustomization patches the values, or the manifest it applies names no
    namespace (kustomization.yaml's ``namespace:`` gives it) and sets another ingress path,
    while the copy that sets what the cluster lists is an example in docs/, which the app of
    apps does not apply."""
    files = {"docs/examples/application.yaml": MANIFEST}
    if applied == "patched":
        files["apps/checkout-eu-west-1.yaml"] = MANIFEST
        files["apps/kustomization.yaml"] = (
            "resources:\n  - checkout-eu-west-1.yaml\npatches:\n  - target:\n"
            "      kind: Application\n    patch: |-\n      - op: replace\n"
            "        path: /spec/source/helm/values\n        value: 'ingress: {enabled: false}'\n"
        )
    else:
        files["apps/checkout-eu-west-1.yaml"] = MANIFEST.replace(
            "  namespace: argo-cd\n", ""
        ).replace("path: /\n", "path: /internal\n")
    commit = _commit(case, files)
    target = _target(case, _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES))
    assert target["status"] == "failed"
    said = {
        "patched": "apps/kustomization.yaml in commit {c} may patch Application "
        "argo-cd/checkout-eu-west-1: kustomize renders its manifest otherwise than "
        "apps/checkout-eu-west-1.yaml writes it",
        "unplaced": "commit {c} holds no manifest of Application argo-cd/checkout-eu-west-1 "
        "(apps/checkout-eu-west-1.yaml holds one that names no metadata.namespace) in what "
        "application apps applies ('apps')",
    }[applied]
    assert target["reason"].endswith("; " + said.format(c=commit[:12]))


@pytest.mark.parametrize(
    ("files", "apps", "said"),
    [
        ({"docs/examples/application.yaml": MANIFEST}, parent(),
         "the commit holds no folder 'apps'"),
        ({"docs/examples/application.yaml": MANIFEST, "apps/other.yaml": "kind: ConfigMap\n"},
         parent(), "holds no manifest of Application argo-cd/checkout-eu-west-1 in what "
                   "application apps applies ('apps')"),
        ({"apps/examples/checkout.yaml": MANIFEST, "apps/other.yaml": "kind: ConfigMap\n"},
         parent(), "holds no manifest of Application argo-cd/checkout-eu-west-1 in what "
                   "application apps applies ('apps')"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST},
         parent(repoURL="https://github.com/example/fleet.git"),
         "application apps applies it from no one folder of the repository judged"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST}, None,
         "application apps, which its tracking says applied it, is not application of the "
         "listing read"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST},
         parent(directory={"exclude": "checkout-*.yaml"}),
         "application apps applies only the files of 'apps' that its directory.exclude glob "
         "chooses, which is not read"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST, "apps/other.yaml": "kind: ConfigMap\n"},
         parent(directory={"include": "other.yaml", "recurse": True}),
         "its directory.include glob chooses"),
        ({"apps/kustomization.yaml": "resources:\n- ../docs/checkout.yaml\n",
          "docs/checkout.yaml": MANIFEST}, parent(),
         "apps/kustomization.yaml renders the file '../docs/checkout.yaml', outside its own "
         "folder: the kustomize Argo CD runs refuses it"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST}, parent(kustomize={"namespace": "staging"}),
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application apps "
         "applies"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST}, parent(kustomize={"namePrefix": "eu-"}),
         "cannot be read (application apps sets spec.source.kustomize.namePrefix: its name is "
         "rendered otherwise)"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST},
         parent(kustomize={"patches": [{"target": {"kind": "Application"},
                                        "patch": "- op: remove\n  path: /spec/source/helm\n"}]}),
         "application apps patches what it renders (its source.kustomize.patches, set in the "
         "Application)"),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST, "apps/checkout.jsonnet": "{}\n"}, parent(),
         "apps/checkout.jsonnet is Jsonnet, which Argo CD renders beside the folder's "
         "manifests and which is not read here"),
    ],
)  # fmt: skip
def test_a_copy_the_app_of_apps_does_not_apply_does_not_count(
    case: Case, files: dict[str, str], apps: dict[str, Any] | None, said: str
) -> None:
    """The parameters and values were set by hand with ``argocd app set``; a copy of the
    Application that sets them is written in docs/, or in a subfolder of ``apps/`` that Argo
    CD does not read (a directory source reads its subfolders only with ``recurse``), or the
    app of apps deploys another repository, or is not listed. Only the manifest the app of
    apps applies counts: before, any copy in the commit restored the sync to succeeded.
    Argo CD leaves out a file its ``directory.exclude`` glob matches, or its ``include`` glob
    does not, and the kustomize it runs refuses a file above the kustomization's folder; the
    app of apps renders the manifest into another namespace or under another name, or
    patches what it renders: before, such a file counted as applied, as written."""
    commit = _commit(case, files)
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    listed = [app] if apps is None else [app, apps]
    result = case.argocd(listed, "--application", "checkout-*")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert said in target["reason"]


@pytest.mark.parametrize(
    ("files", "apps"),
    [
        ({"apps/checkout-eu-west-1.yaml": MANIFEST}, parent()),
        ({"apps/checkout-eu-west-1.yaml": MANIFEST, "apps/lib/other.jsonnet": "{}\n"},
         parent()),
        ({"apps/examples/checkout.yaml": MANIFEST}, parent(directory={"recurse": True})),
        ({"apps/kustomization.yaml": "resources:\n- ../envs/eu\n",
          "envs/eu/kustomization.yaml": "resources:\n- checkout.yaml\n",
          "envs/eu/checkout.yaml": MANIFEST}, parent()),
    ],
)  # fmt: skip
def test_the_manifest_the_app_of_apps_applies_counts(
    case: Case, files: dict[str, str], apps: dict[str, Any]
) -> None:
    commit = _commit(case, files)
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    assert _target(case, app, apps=apps)["status"] == "succeeded"


def test_label_tracking_names_the_app_of_apps(case: Case) -> None:
    """Argo CD before 3.0 tracks what an application applies by the label
    ``app.kubernetes.io/instance``."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    del app["metadata"]["annotations"][TRACKING]
    app["metadata"]["labels"]["app.kubernetes.io/instance"] = "apps"
    assert _target(case, app)["status"] == "succeeded"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("helm__valueFiles", ["values-hotfix.yaml"]),
        ("kustomize__namespace", "staging"),
        ("path", "instances/hotfix"),
        ("helm__releaseName", "checkout-hotfix"),
    ],
)
def test_what_else_the_sync_rendered_is_compared_with_the_manifest(
    case: Case, field: str, value: Any
) -> None:
    """The parameters and values match the manifest the app of apps applies, but the sync
    rendered another value file of the chart, namespace, folder or release name, set in the
    Application only. Before, only the overriding fields were compared and the sync was
    restored to succeeded."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES, **{field: value})
    target = _target(case, app)
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"apps/checkout-eu-west-1.yaml in commit {commit[:12]} sets "
        f"source.{field.replace('__', '.')} otherwise"
    )


CHART = "apiVersion: v2\nname: applications\nversion: 0.1.0\n"
"""The app of apps as a Helm chart, as argoproj/argocd-example-apps' ``apps/Chart.yaml``."""
SUBCHART = "apiVersion: v2\nname: fleet\nversion: 1.0.0\n"
GATED = "# {{- if .Values.checkout.enabled }}\n" + MANIFEST + "# {{- end }}\n"
"""The manifest with the Go template actions in YAML comments: YAML reads the Application as
written, but Helm renders nothing of it unless ``checkout.enabled`` is set."""


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"apps/templates/checkout.yaml": MANIFEST}, None),
        ({"apps/examples/checkout.yaml": MANIFEST, "apps/templates/other.yaml": "kind: List\n"},
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application "
         "apps applies ('apps')"),
        ({"apps/templates/checkout.yaml": MANIFEST,
          "apps/Chart.yaml": CHART + "dependencies:\n  - name: fleet\n    version: 1.0.0\n"
                             "    repository: https://charts.example.com\n"},
         "apps/Chart.yaml renders a dependency fetched from 'https://charts.example.com'"),
        ({"apps/templates/checkout.yaml": MANIFEST, "apps/charts/fleet/Chart.yaml": SUBCHART,
          "apps/charts/fleet/templates/other.yaml": "kind: List\n"}, None),
        ({"apps/charts/fleet/Chart.yaml": SUBCHART,
          "apps/charts/fleet/templates/checkout.yaml": MANIFEST}, None),
    ],
)  # fmt: skip
def test_an_app_of_apps_chart_applies_its_templates(
    case: Case, files: dict[str, str], said: str | None
) -> None:
    """A parent that is a Helm chart renders its ``templates/`` (a manifest there without
    templating is applied as written), not an example beside them; a dependency from a chart
    repository may render the Application itself, and no file of the commit stands for it."""
    commit = _commit(case, {"apps/Chart.yaml": CHART, **files})
    target = _target(case, _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES))
    assert target["status"] == ("failed" if said else "succeeded")
    assert said is None or said in target["reason"]


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"apps/templates/_checkout.yaml": MANIFEST, "apps/templates/other.yaml": "kind: List\n"},
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application "
         "apps applies"),
        ({"apps/templates/checkout.yaml": GATED},
         "apps/templates/checkout.yaml in commit {c} names Application argo-cd/"
         "checkout-eu-west-1 but cannot be read (a Helm template holding {{{{ ... }}}}: Helm "
         "renders it as values say"),
        ({"apps/templates/checkout.yaml": MANIFEST, "apps/templates/other.yaml": "kind: List\n",
          "apps/.helmignore": "# Patterns to ignore when building packages.\n*.orig\n"
                              "templates/check*\n"},
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application"),
        ({"apps/templates/other.yaml": "kind: List\n", "apps/charts/fleet/Chart.yaml": SUBCHART,
          "apps/charts/fleet/examples/checkout.yaml": MANIFEST},
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application"),
        ({"apps/Chart.yaml": CHART + "dependencies:\n  - name: fleet\n    version: 1.0.0\n"
                             "    condition: fleet.enabled\n",
          "apps/templates/other.yaml": "kind: List\n", "apps/charts/fleet/Chart.yaml": SUBCHART,
          "apps/charts/fleet/templates/checkout.yaml": MANIFEST},
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application"),
        ({"apps/templates/other.yaml": "kind: List\n",
          "apps/charts/fleet/Chart.yaml": SUBCHART + "type: library\n",
          "apps/charts/fleet/templates/checkout.yaml": MANIFEST},
         "holds no manifest of Application argo-cd/checkout-eu-west-1 in what application"),
    ],
)  # fmt: skip
def test_what_a_chart_does_not_render_does_not_count(
    case: Case, files: dict[str, str], said: str
) -> None:
    """A copy of the Application, setting the values set by hand, that Helm never renders: a
    partial (``_checkout.yaml``), a template values turn off (its ``{{- if }}`` in YAML
    comments), one the chart's ``.helmignore`` leaves out, a file of a subchart outside its
    ``templates/``, the templates of a subchart a ``condition`` turns off or of a library
    chart. Before, each restored the sync to succeeded."""
    commit = _commit(case, {"apps/Chart.yaml": CHART, **files})
    target = _target(case, _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES))
    assert target["status"] == "failed"
    assert said.format(c=commit[:12]) in target["reason"]


@pytest.mark.parametrize(
    ("destination", "cluster", "said"),
    [
        ({"name": "eu-west-1", "namespace": "shop-hotfix"}, [], "destination.namespace"),
        ({"server": "https://kubernetes.default.svc", "namespace": "shop"},
         ["--cluster", "eu-west-1"], "destination.name, destination.server"),
    ],
)  # fmt: skip
def test_where_the_application_deploys_is_compared_with_the_manifest(
    case: Case, destination: dict[str, str], cluster: list[str], said: str
) -> None:
    """The values match the manifest the app of apps applies, but the Application was pointed
    at another namespace or cluster by hand (``argocd app set --dest-namespace``): the manifest
    names its ``destination`` otherwise. Before, the destination was not compared and the sync
    was restored to succeeded. (fleet.yaml names no namespace the service runs in, which would
    leave an application of another namespace out.)"""
    fleet = case.evidence / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("namespace: shop, ", ""))
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    app["spec"]["destination"] = destination
    result = case.argocd([app, parent()], "--application", "checkout-*", *cluster)
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        f"apps/checkout-eu-west-1.yaml in commit {commit[:12]} sets {said} otherwise"
    )
    assert [s for s in findings(case.check(), "FLEET-001") if s.endswith(":" + target["host"])]


def test_an_application_an_application_set_generates_is_not_restored(case: Case) -> None:
    """The recorded Application is owned by the ApplicationSet ``checkout``
    (``metadata.ownerReferences``, as its controller writes them): its spec is the
    ApplicationSet's template with its generators' parameters, written back on every reconcile,
    not the Application manifest the app of apps applies. Before, a manifest of that name
    setting what was set by hand restored the sync to succeeded."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    app["metadata"]["ownerReferences"] = OWNED
    result = case.argocd([app, parent()], "--application-set", "checkout")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert target["reason"].endswith(
        "; ApplicationSet checkout generates it (metadata.ownerReferences): its spec is that "
        "ApplicationSet's template with its generators' parameters, which are not read, so no "
        "Application manifest in the commit is known to be what set it"
    )
    assert [s for s in findings(case.check(), "FLEET-001") if s.endswith(":eu-west-1")]


def _listed(**entry: Any) -> dict[str, Any]:
    """``parent()``, its entry of the Application as Argo CD's ``controller/state.go`` writes
    one of a live object whose tracking names it though it renders none such: with
    ``requiresPruning: true`` and ``status: OutOfSync`` where the tracking is the object's own,
    with no sync status where it is not."""
    app = parent()
    (resource,) = app["status"]["resources"]
    resource.update(entry)
    for key in [key for key, value in resource.items() if value is None]:
        del resource[key]
    return app


@pytest.mark.parametrize(
    ("apps", "said"),
    [
        ([parent(lists="payments-eu-west-1")],
         "application apps, which its tracking says applied it, does not list it among its "
         "resources (status.resources)"),
        ([parent(lists=None)], "does not list it among its resources (status.resources)"),
        ([_listed(status="OutOfSync", requiresPruning=True)],
         "does not list it among its resources (status.resources) as one it renders"),
        ([_listed(status=None)],
         "does not list it among its resources (status.resources) as one it renders"),
        ([parent(), parent("fleet", name="fleet")],
         "application apps and application fleet all list it among their resources "
         "(status.resources): which one's manifest set it is not known"),
    ],
)  # fmt: skip
def test_the_parent_its_tracking_names_must_list_the_application(
    case: Case, apps: list[dict[str, Any]], said: str
) -> None:
    """The tracking annotation is the child's own metadata, as editable in the cluster as its
    spec: pointed at ``apps``, whose folder holds a manifest setting what was set by hand,
    though ``apps`` does not apply it (its ``status.resources`` list another application, or
    none, or list it only as a live object its tracking names that ``apps`` renders none such
    of: to be pruned, or with no sync status), or while another app of apps lists it too.
    Before, the tracking alone named the folder, and then an entry of it to be pruned did, and
    the sync was restored to succeeded."""
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST})
    app = _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES)
    result = case.argocd([app, *apps], "--application", "checkout-*")
    assert result.code == 0, result.err
    ((target,),) = [r["targets"] for r in case.records("deploys.jsonl")]
    assert target["status"] == "failed"
    assert said in target["reason"]
    assert [s for s in findings(case.check(), "FLEET-001") if s.endswith(":eu-west-1")]


SOURCE_OVERRIDE = """\
kustomize:
  patches:
    - target:
        kind: Application
      patch: |-
        - op: replace
          path: /spec/source/helm/values
          value: "ingress: {enabled: false}"
"""
"""A parameter override file Argo CD reads from the app of apps' folder and merges into its
source as it renders (argoproj/argo-cd ``docs/user-guide/parameters.md``, "Store Overrides In
Git": ``.argocd-source.yaml``, ``.argocd-source-<appName>.yaml``), setting a ``kustomize``
field as that page's example sets ``kustomize.images``: the patch of the Application's values
that the kustomization test above writes."""


@pytest.mark.parametrize("name", [".argocd-source.yaml", ".argocd-source-apps.yaml"])
def test_a_parameter_file_the_app_of_apps_reads_is_not_passed_over(case: Case, name: str) -> None:
    """The app of apps' folder holds an override file that Argo CD merges into its source:
    what the parent renders of the Application is not the manifest as written (here its values
    patched). Before, the file was not read and the manifest as written, setting the values
    set by hand, restored the sync to succeeded."""
    kustomization = "resources:\n  - checkout-eu-west-1.yaml\n"
    commit = _commit(case, {"apps/checkout-eu-west-1.yaml": MANIFEST,
                            "apps/kustomization.yaml": kustomization,
                            f"apps/{name}": SOURCE_OVERRIDE})  # fmt: skip
    target = _target(case, _app(commit, helm__parameters=PARAMETERS, helm__values=VALUES))
    assert target["status"] == "failed"
    assert (
        f"apps/{name} is a parameter override file Argo CD merges into the source of "
        "application apps as it renders, which is not read"
    ) in target["reason"]
