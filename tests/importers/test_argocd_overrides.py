"""An Argo CD Application can render its revision with images, Helm parameters or values, or a
plugin's environment set in the Application itself (``argocd app set --kustomize-image``,
``--helm-set``; Argo CD Image Updater's ``argocd`` write-back): the cluster then runs what no
commit holds, while the history names the reviewed commit. Such a sync is recorded ``failed``,
a move of its own. Real git repositories, the real engine, the recorded Application of
tests/importers/fixtures/kubernetes/ changed only where the scenario needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import (
    FIXTURES,
    Synced,
    application,
    directory_source,
    overridden,
    several_sources,
)
from tests.importers.k8s_scenario import CLUSTERS, OPS, applications
from tests.importers.test_kubernetes import Case, findings, targets

OVERRIDDEN = "Argo CD rendered it with overrides set in the Application, not in git"
HOTFIX = ["registry.example.com/shop/checkout:hotfix"]
"""``spec.source.kustomize.images`` as ``argocd app set --kustomize-image`` (and Argo CD Image
Updater's ``argocd`` write-back) writes it: a list of images."""
IMAGE_TAG = [{"name": "image.tag", "value": "hotfix"}]
"""``spec.source.helm.parameters`` as ``argocd app set -p image.tag=hotfix`` writes it."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _import(case: Case, apps: list[dict[str, Any]], *extra: str) -> tuple[int, str]:
    result = case.argocd(apps, "--application-set", "checkout", *extra)
    return result.code, result.err


def _check(case: Case) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence,
                     "--format", "json", "--as-of", "2024-06-30")  # fmt: skip
    return result.code, result.json()


def _signed_off(case: Case, apps: list[dict[str, Any]]) -> dict[str, Any]:
    """Import v2's rollout and v1's, each signed off; v2's record."""
    code, err = _import(case, apps, "--revision", case.v2,
                        "--approval", "lee@example.com,2024-06-04T09:30:00Z")  # fmt: skip
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert _import(case, apps, "--revision", case.v1,
                   "--approval", "lee@example.com,2024-06-03T09:30:00Z")[0] == 0  # fmt: skip
    return record


def test_an_image_set_in_the_application_is_no_deployment_of_the_commit(case: Case) -> None:
    """ap-south-1's application synced v2 with ``kustomize.images`` set by ``argocd app set``:
    it ran an image no commit names, and was recorded as running v2, signed off; check
    passed."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    overridden(apps[3], "kustomize.images", HOTFIX)
    record = _signed_off(case, apps)
    assert record["commit"] == case.v2
    assert targets(record) == {"ap-south-1": "failed", "eu-central-1": "succeeded",
                               "eu-west-1": "succeeded", "us-east-1": "succeeded"}  # fmt: skip
    (local,) = [t for t in record["targets"] if t["host"] == "ap-south-1"]
    assert local["reason"] == (
        f"{OVERRIDDEN}: source.kustomize.images ('registry.example.com/shop/checkout:hotfix'): "
        f"what the cluster runs since is not what revision {case.v2} holds; ApplicationSet "
        "checkout generates it (metadata.ownerReferences): its spec is that ApplicationSet's "
        "template with its generators' parameters, which are not read, so no Application "
        "manifest in the commit is known to be what set it"
    )
    code, report = _check(case)
    assert code == 1 and report["verdict"] == "fail"
    assert f"{record['id']}:ap-south-1" in findings(report, "FLEET-001")


def test_a_helm_parameter_set_in_the_application_is_named(case: Case) -> None:
    """``argocd app set -p image.tag=hotfix``: the parameter's name is in the reason, its value
    is not (a value may be a secret)."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    overridden(apps[0], "helm.parameters", IMAGE_TAG)
    overridden(apps[0], "helm.valuesObject", {"image": {"tag": "hotfix"}})
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == "failed"
    assert "source.helm.parameters ('image.tag'); source.helm.valuesObject:" in target["reason"]
    assert "hotfix" not in target["reason"]


def test_the_recorded_plugin_environment_is_an_override(case: Case) -> None:
    """The recorded application, as it is: its plugin renders a chart from an OCI registry
    with Helm values given in the plugin's environment (``plugin.env``), set in the Application,
    not what the commit holds. Its ten re-syncs with the same environment are one rollout."""
    recorded = json.loads((FIXTURES / "argocd-applications.json").read_text())["items"][0]
    revision = recorded["status"]["history"][0]["revision"]
    result = case.argocd([recorded], "--revision-commit", f"{revision}={case.v2}")
    assert result.code == 0, result.err
    (record,) = case.records("deploys.jsonl")
    (target,) = record["targets"]
    assert target["status"] == "failed"
    assert target["reason"].startswith(
        f"{OVERRIDDEN}: source.plugin.env ('RELEASE_NAME', 'CHART_REPOSITORY', 'CHART_NAME' ...)"
    )
    assert "cluster_name" not in target["reason"]


def test_an_overridden_sync_is_a_rollout_of_its_own(case: Case) -> None:
    """v1 from git, then v1 with an image set in the application, then v1 from git again
    (the override removed): three rollouts, the middle one failed; it never merges with a sync
    of the same commit from git."""
    history = [
        Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS),
        Synced(case.v1, "2024-06-04T10:00:00Z", "2024-06-04T10:00:40Z", OPS),
    ]
    app = overridden(application("checkout-eu-west-1", "eu-west-1", history),
                     "kustomize.images", HOTFIX, spec=False)  # fmt: skip
    history.append(Synced(case.v1, "2024-06-04T11:00:00Z", "2024-06-04T11:00:40Z", OPS))
    later = application("checkout-eu-west-1", "eu-west-1", history)
    later["status"]["history"][1] = app["status"]["history"][1]  # the overridden sync, kept
    code, err = _import(case, [later])
    assert code == 0, err
    base = f"checkout-production-{case.v1[:12]}"
    got = {r["id"]: (targets(r), r["started_at"]) for r in case.records("deploys.jsonl")}
    assert got == {
        base: ({"eu-west-1": "succeeded"}, "2024-06-03T10:00:00Z"),
        f"{base}-2": ({"eu-west-1": "failed"}, "2024-06-04T10:00:00Z"),
        f"{base}-3": ({"eu-west-1": "succeeded"}, "2024-06-04T11:00:00Z"),
    }


def test_an_entry_that_records_no_source_is_read_with_the_spec(case: Case) -> None:
    """An older Argo CD's history entry names no source: the application's spec, as it is
    now, is what it is judged by."""
    history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
    app = overridden(application("checkout-eu-west-1", "eu-west-1", history),
                     "kustomize.images", HOTFIX)  # fmt: skip
    del app["status"]["history"][0]["source"]
    code, err = _import(case, [app])
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert record["targets"][0]["status"] == "failed"
    assert "spec.source.kustomize.images" in record["targets"][0]["reason"]


def test_an_image_written_back_to_git_is_the_commits(case: Case) -> None:
    """Argo CD Image Updater's ``git`` write-back commits the image to the repository: the
    application sets nothing, and its sync is a deployment of that commit."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert set(targets(record).values()) == {"succeeded"}


def test_a_source_that_is_not_an_object_is_refused(case: Case) -> None:
    history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
    app = application("checkout-eu-west-1", "eu-west-1", history)
    app["status"]["history"][0]["source"] = ["kustomize"]
    code, err = _import(case, [app])
    assert code == 2
    assert "applications.json" in err
    assert "application checkout-eu-west-1, history id 14: source is not an object" in err
    assert "Traceback" not in err and not (case.evidence / "deploys.jsonl").exists()


def test_a_success_recorded_before_the_override_was_read_is_rewritten(case: Case) -> None:
    """A record written by an import that did not read overrides has the cluster succeeded: the
    same sync read now with its override makes it failed (the old record kept aside)."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    assert _import(case, apps, "--revision", case.v2)[0] == 0
    overridden(apps[3], "kustomize.images", HOTFIX)
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert targets(record)["ap-south-1"] == "failed"
    assert len(case.records("superseded.jsonl")) == 1


def test_a_source_field_that_is_not_an_object_is_refused(case: Case) -> None:
    """``kustomize`` as a list would hide its images: refused, naming the field."""
    history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
    app = application("checkout-eu-west-1", "eu-west-1", history)
    app["status"]["history"][0]["source"]["kustomize"] = [{"images": HOTFIX}]
    code, err = _import(case, [app])
    assert code == 2
    assert "history id 14: source.kustomize is not an object" in err
    assert "Traceback" not in err and not (case.evidence / "deploys.jsonl").exists()


URL = "https://github.com/example/checkout"
CONFIG = "https://github.com/example/config"


@pytest.mark.parametrize(
    ("value_file", "outside"),
    [
        ("$values/production.yaml", False),  # a ref source of the repository judged
        ("production.yaml", False),  # of the chart's own path
        ("$config/production.yaml", True),  # a ref source of another repository
        ("https://example.com/values.yaml", True),
    ],
)
def test_value_files_from_outside_the_repository_are_an_override(
    case: Case, value_file: str, outside: bool
) -> None:
    """An application of several sources (argoproj/argo-cd ``docs/user-guide/
    multiple_sources.md``: a ``ref`` source whose files another source's ``helm.valueFiles``
    name as ``$REF/...``): values from another repository, or a URL, are no commit's of
    ``--source-repo``."""

    def edit(sources: list[dict[str, Any]]) -> None:
        values, deploy, config = sources
        values["ref"], config["ref"] = "values", "config"
        del values["path"], config["path"]  # ref sources only give files: they render none
        deploy["helm"] = {"valueFiles": [value_file]}

    listed = [(URL, "values", case.v2), (URL, "deploy", case.v2), (CONFIG, "config", "c" * 40)]
    apps = _several_sources(case, listed, edit)
    code, err = _import(case, apps, "--source-repo", URL)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert set(targets(record).values()) == {"failed" if outside else "succeeded"}
    if outside:
        assert f"sources[1].helm.valueFiles ('{value_file}')" in record["targets"][0]["reason"]


@pytest.mark.parametrize(
    "component",
    [
        "https://github.com/example/hotfixes//components/checkout-image?ref=main",
        "github.com/example/hotfixes/components/checkout-image?ref=main",
        "git@github.com:example/hotfixes.git//components/checkout-image",
    ],
)
def test_a_component_from_another_repository_is_an_override(case: Case, component: str) -> None:
    """``kustomize.components`` in the Application naming a remote target, which kustomize
    fetches as it renders: a component of another repository (setting the image, say) ran in
    ap-south-1, recorded as running v2, signed off, and check passed (exit 0)."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    overridden(apps[3], "kustomize.components", [component])
    record = _signed_off(case, apps)
    (target,) = [t for t in record["targets"] if t["host"] == "ap-south-1"]
    assert target["status"] == "failed"
    assert target["reason"].startswith(
        f"{OVERRIDDEN}: source.kustomize.components ({component!r}): "
    )
    code, report = _check(case)
    assert code == 1 and report["verdict"] == "fail"
    assert f"{record['id']}:ap-south-1" in findings(report, "FLEET-001")


def test_a_component_of_the_repository_is_the_commits(case: Case) -> None:
    """A component at a path of the repository is read from the revision synced, as a value
    file of the chart's path is: the commit's."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    overridden(apps[3], "kustomize.components", ["../../components/tracing", "components/x"])
    record = _signed_off(case, apps)
    assert targets(record) == dict.fromkeys(CLUSTERS, "succeeded")


@pytest.mark.parametrize(
    ("other", "said"),
    [
        ({"repoURL": CONFIG, "path": "hotfix"}, "path 'hotfix'"),
        ({"repoURL": "https://helm.elastic.co", "chart": "checkout"}, "chart 'checkout'"),
        ({"repoURL": CONFIG, "ref": "config"}, None),  # a ref source alone renders nothing
    ],
)
def test_a_source_of_another_repository_that_renders_is_an_override(
    case: Case, other: dict[str, str], said: str | None
) -> None:
    """Argo CD applies what every source of an application renders, the last source's where
    two render one resource (argoproj/argo-cd ``docs/user-guide/multiple_sources.md``): a
    second source of a hotfix repository, or a chart of a Helm repository, deployed what the
    commit of ``--source-repo`` does not hold, and the sync was recorded ``succeeded``."""

    def edit(sources: list[dict[str, Any]]) -> None:
        sources[1] = {"targetRevision": "main", **other}

    apps = _several_sources(case, [(URL, "deploy", case.v2), (CONFIG, "x", "c" * 40)], edit)
    code, err = _import(case, apps, "--source-repo", URL)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert set(targets(record).values()) == {"failed" if said else "succeeded"}
    if said:
        reason = record["targets"][0]["reason"]
        assert f"sources[1] ('{other['repoURL']}', {said}: another repository" in reason


def _several_sources(
    case: Case,
    listed: list[tuple[str, str, str]],
    edit: Callable[[list[dict[str, Any]]], None],
) -> list[dict[str, Any]]:
    """v2 synced to every cluster by an application of the sources ``listed`` (``repoURL``,
    ``path``, revision), without the recorded plugin, each history entry's sources then
    changed by ``edit``, and the last sync's result recording them as that entry does."""
    apps = []
    for index, cluster in enumerate(CLUSTERS):
        synced = Synced(case.v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z")
        app = application(f"checkout-{cluster}", cluster, [synced])
        several_sources(app, listed)
        for entry in app["status"]["history"]:
            for source in entry["sources"]:
                del source["plugin"]
            edit(entry["sources"])
        result = app["status"]["operationState"]["syncResult"]  # as the last entry records it
        del result["source"], result["revision"]
        last = app["status"]["history"][-1]
        result.update(sources=last["sources"], revisions=last["revisions"])
        app["status"]["sync"]["comparedTo"]["sources"] = last["sources"]  # the spec compared
        apps.append(app)
    return apps


def test_a_failure_read_with_the_spec_stands_once_the_spec_drops_it(case: Case) -> None:
    """An older Argo CD's history entry names no source, so the spec as listed judged it:
    failed for the image set there. The image was then removed from the application: the
    spec now says nothing of what that sync rendered. Before, the rollout was rewritten
    succeeded (and check passed once signed off)."""
    history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
    app = overridden(application("checkout-eu-west-1", "eu-west-1", history),
                     "kustomize.images", HOTFIX)  # fmt: skip
    del app["status"]["history"][0]["source"]
    assert _import(case, [app])[0] == 0
    recorded = case.records("deploys.jsonl")
    del app["spec"]["source"]["kustomize"]
    code, err = _import(case, [app])
    assert code == 0, err
    assert "eu-west-1 stays failed as recorded" in err
    assert case.records("deploys.jsonl") == recorded
    assert recorded[0]["targets"][0]["status"] == "failed"


def test_a_failure_its_history_entry_shows_is_read_again_from_it(case: Case) -> None:
    """Argo CD's history keeps the source each sync rendered: a failure recorded from it is
    what the entry says, whatever the spec says now (``argocd app unset`` since)."""
    history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
    app = overridden(application("checkout-eu-west-1", "eu-west-1", history),
                     "kustomize.images", HOTFIX)  # fmt: skip
    assert _import(case, [app])[0] == 0
    del app["spec"]["source"]["kustomize"]
    code, err = _import(case, [app])
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    assert record["targets"][0]["status"] == "failed"
    assert "stays failed as recorded" not in err


REPLICAS = {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
"""``spec.ignoreDifferences`` as argoproj/argo-cd ``docs/user-guide/sync-options.md``
("Respect ignore difference configs") writes it: the replica count an autoscaler owns."""
WEBHOOK_CA = {
    "group": "admissionregistration.k8s.io",
    "kind": "MutatingWebhookConfiguration",
    "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle"],
}
"""argoproj/argo-cd docs/user-guide/diffing.md's own example entry."""
IMAGE = {"group": "apps", "kind": "Deployment",
         "jsonPointers": ["/spec/template/spec/containers/0/image"]}  # fmt: skip
"""The same, of the container's image (``docs/user-guide/diffing.md`` writes entries of any
JSON pointer, ``jqPathExpressions`` or ``managedFieldsManagers``)."""


@pytest.mark.parametrize(
    ("ignored", "option", "status"),
    [
        ([IMAGE], "RespectIgnoreDifferences=true", "failed"),
        ([{"kind": "Deployment", "managedFieldsManagers": ["kubectl-edit"]}],
         "RespectIgnoreDifferences=true", "failed"),
        ([REPLICAS], "RespectIgnoreDifferences=true", "succeeded"),
        ([IMAGE], "RespectIgnoreDifferences=false", "unwatched"),
        ([IMAGE], "ApplyOutOfSyncOnly=true", "failed"),
        ([{"group": "apps", "kind": "Deployment",
           "jqPathExpressions": [".spec.template.spec.containers[].image"]}],
         "ApplyOutOfSyncOnly=true", "failed"),
        ([REPLICAS], "ApplyOutOfSyncOnly=true", "succeeded"),
        ([IMAGE], "ApplyOutOfSyncOnly=false", "unwatched"),
    ],
)  # fmt: skip
def test_fields_a_sync_leaves_as_they_were_live_are_an_override(
    case: Case, ignored: list[dict[str, Any]], option: str, status: str
) -> None:
    """With ``RespectIgnoreDifferences=true`` Argo CD syncs without the fields the
    Application's ``spec.ignoreDifferences`` names, leaving them as they were live: an image
    set by hand with ``kubectl set image`` keeps running through the sync of v2, which Argo CD
    reports ``Synced`` and ``Healthy``. Before, that sync was recorded succeeded. With
    ``ApplyOutOfSyncOnly=true`` (the recording's own option) Argo CD applies no resource whose
    only difference from the revision is in those fields: the Deployment is not applied at
    all, and the sync was recorded succeeded too. The replica count alone (an autoscaler's)
    changes nothing of what runs. Without either option the sync applied git's image, but
    ``Synced`` vouches for nothing in the field ignored (``unwatched``: below)."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    directory_source(apps[0], URL, ".")  # no workload kept at zero: none at all
    spec = apps[0]["spec"]
    spec["ignoreDifferences"] = ignored
    spec["syncPolicy"]["syncOptions"] = [
        o
        for o in spec["syncPolicy"]["syncOptions"]
        if not o.startswith(("RespectIgnore", "ApplyOutOfSyncOnly"))
    ] + [option]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    if status == "unwatched":
        assert target["status"] == "failed"
        assert target["reason"].startswith("Argo CD sync status Synced does not cover")
        return
    assert target["status"] == status
    if status == "failed":
        assert target["reason"].startswith(
            f"{OVERRIDDEN}: spec.ignoreDifferences (apps/Deployment"
            if "group" in ignored[0]
            else f"{OVERRIDDEN}: spec.ignoreDifferences (Deployment"
        )
        assert f"with syncOptions {option}: the sync left" in target["reason"]
        assert target["reason"].endswith(
            "; what a sync leaves as it was live is no commit's, whatever a manifest says"
        )


def test_the_options_of_the_sync_itself_are_read(case: Case) -> None:
    """``argocd app sync --sync-option RespectIgnoreDifferences=true`` (or the UI's sync panel)
    runs the sync with the options it names, whatever the Application's
    ``spec.syncPolicy.syncOptions`` say: Argo CD's API server writes them into the operation
    (``operation.sync.syncOptions``), and the controller reads them there. Before, only the
    spec's were read, and the sync that left the image set by hand running was recorded
    succeeded."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    spec = apps[0]["spec"]
    spec["ignoreDifferences"] = [IMAGE]
    spec["syncPolicy"]["syncOptions"] = ["CreateNamespace=true", "ServerSideApply=true"]
    sync = apps[0]["status"]["operationState"]["operation"]["sync"]
    sync["syncOptions"] = ["ServerSideApply=true", "RespectIgnoreDifferences=true"]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == "failed"
    assert target["reason"].startswith(
        f"{OVERRIDDEN}: spec.ignoreDifferences (apps/Deployment "
        "/spec/template/spec/containers/0/image) with syncOptions RespectIgnoreDifferences=true"
    )
    sync["syncOptions"] = "RespectIgnoreDifferences=true"
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 2 and "Traceback" not in err
    assert (
        "application checkout-eu-west-1: status.operationState.operation.sync.syncOptions is "
        "not a list of options" in err
    )


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("ignoreDifferences", "apps/Deployment", "spec.ignoreDifferences"),
        ("syncPolicy", {"syncOptions": "RespectIgnoreDifferences=true"},
         "spec.syncPolicy.syncOptions is not a list of options"),
    ],
)  # fmt: skip
def test_ignored_fields_that_cannot_be_read_are_refused(
    case: Case, field: str, value: Any, said: str
) -> None:
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    apps[0]["spec"][field] = value
    if field == "ignoreDifferences":
        apps[0]["spec"]["syncPolicy"]["syncOptions"] = ["RespectIgnoreDifferences=true"]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 2 and said in err and "Traceback" not in err
    assert not case.records("deploys.jsonl")


@pytest.mark.parametrize(
    ("ignored", "status"),
    [
        ([IMAGE], "failed"),
        ([{"kind": "Deployment", "jqPathExpressions": [".spec.template.spec.containers[].env"]}],
         "failed"),
        ([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kubectl-edit"]}],
         "failed"),
        ([REPLICAS], "succeeded"),
        ([], "succeeded"),
        ([WEBHOOK_CA, {**WEBHOOK_CA, "jqPathExpressions": [], "jsonPointers": [
            "/webhooks/0/clientConfig/caBundle"]}, REPLICAS], "succeeded"),
        ([{**WEBHOOK_CA, "jqPathExpressions": [".webhooks[]?.clientConfig.url"]}], "failed"),
        ([{**WEBHOOK_CA, "kind": "Deployment"}], "failed"),
    ],
)  # fmt: skip
def test_synced_does_not_vouch_for_fields_the_application_ignores(
    case: Case, ignored: list[dict[str, Any]], status: str
) -> None:
    """Without ``RespectIgnoreDifferences`` or ``ApplyOutOfSyncOnly`` a sync applies git's
    values of the fields ``spec.ignoreDifferences`` names, but Argo CD no longer compares them
    (argoproj/argo-cd ``docs/user-guide/diffing.md``): an image or environment set by hand
    after the sync (``kubectl set image``) leaves the application ``Synced`` and ``Healthy``.
    Before, eu-west-1's sync of v2 was recorded succeeded and check passed (exit 0) whatever
    ran there since. ``Synced`` now vouches for no such field: the latest sync is failed,
    naming the entries. The replica count alone (an autoscaler's), and a webhook's
    ``caBundle`` (a certificate manager's, ignored in the documentation's own example), change
    nothing of what runs; a webhook's address, or ``caBundle`` of a Deployment, does."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    directory_source(apps[0], URL, ".")  # no workload kept at zero: none at all
    spec = apps[0]["spec"]
    spec["ignoreDifferences"] = ignored
    spec["syncPolicy"]["syncOptions"] = [
        o for o in spec["syncPolicy"]["syncOptions"] if not o.startswith("ApplyOutOfSyncOnly")
    ]
    record = _signed_off(case, apps)
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == status, target
    code, report = _check(case)
    assert code == (1 if status == "failed" else 0), report
    if status == "succeeded":
        return
    kind = "/".join(ignored[0][key] for key in ("group", "kind") if key in ignored[0])
    assert target["reason"].startswith(
        f"Argo CD sync status Synced does not cover spec.ignoreDifferences ({kind} "
    )
    assert target["reason"].endswith(
        ": Argo CD no longer compares those fields, so a change made by hand there after the "
        "sync would show no drift: nothing shows the cluster still runs what it applied"
    )


@pytest.mark.parametrize(
    ("compared", "status"),
    [([IMAGE], "failed"), ([REPLICAS, WEBHOOK_CA], "succeeded"), ([], "succeeded")],
)
def test_synced_vouches_for_nothing_its_comparison_ignored(
    case: Case, compared: list[dict[str, Any]], status: str
) -> None:
    """Argo CD writes the entries a comparison ran with beside its sync status
    (``status.sync.comparedTo.ignoreDifferences``, ``controller/state.go``). An entry dropped
    from the spec since (``kubectl patch`` while the controller is stopped, or before it
    compares again) leaves a ``Synced`` computed without the image: the image set by hand runs,
    unseen. Before, the spec alone was read, and v2 was recorded succeeded and check passed
    (exit 0). It is now failed, naming the comparison's entries."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    directory_source(apps[0], URL, ".")  # no workload kept at zero: none at all
    spec = apps[0]["spec"]
    spec["syncPolicy"]["syncOptions"] = [
        o for o in spec["syncPolicy"]["syncOptions"] if not o.startswith("ApplyOutOfSyncOnly")
    ]
    assert "ignoreDifferences" not in spec
    apps[0]["status"]["sync"]["comparedTo"]["ignoreDifferences"] = compared
    record = _signed_off(case, apps)
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == status, target
    code, report = _check(case)
    assert code == (1 if status == "failed" else 0), report
    if status == "failed":
        assert target["reason"] == (
            "Argo CD sync status Synced does not cover status.sync.comparedTo.ignoreDifferences "
            "(apps/Deployment /spec/template/spec/containers/0/image): Argo CD no longer "
            "compares those fields, so a change made by hand there after the sync would show "
            "no drift: nothing shows the cluster still runs what it applied"
        )


def test_an_entry_both_the_spec_and_its_comparison_list_is_named_once(case: Case) -> None:
    """As Argo CD lists an application it has compared: the same entries in both places."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    apps[0]["spec"]["ignoreDifferences"] = [IMAGE]
    apps[0]["status"]["sync"]["comparedTo"]["ignoreDifferences"] = [IMAGE]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (record,) = case.records("deploys.jsonl")
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert "comparedTo" not in target["reason"]
    apps[0]["status"]["sync"]["comparedTo"]["ignoreDifferences"] = {"kind": "Deployment"}
    case.evidence.joinpath("deploys.jsonl").unlink()
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 2 and "Traceback" not in err
    assert (
        "application checkout-eu-west-1: status.sync.comparedTo.ignoreDifferences is not a "
        "list of objects" in err
    )
    assert not case.evidence.joinpath("deploys.jsonl").exists()


@pytest.mark.parametrize(
    ("changed", "status"),
    [
        ({"kustomize": {"images": HOTFIX}}, "failed"),
        ({"helm": {"parameters": IMAGE_TAG}}, "failed"),
        ({"targetRevision": "release-2024-06"}, "succeeded"),
    ],
)
def test_synced_with_sources_set_since_the_sync_vouches_for_nothing(
    case: Case, changed: dict[str, Any], status: str
) -> None:
    """Argo CD compares the live objects with the revision rendered from the Application's
    sources as they are when it compares (``status.sync.comparedTo``), not as the sync
    rendered them. ``argocd app set --kustomize-image`` after the sync of v2 from git, and
    ``kubectl set image`` to match: ``Synced`` and ``Healthy`` at v2, the hotfix image running
    in eu-west-1, and no sync of it to read. Before, v2 was recorded succeeded and check
    passed (exit 0). It is now failed, naming the fields compared otherwise; a branch renamed
    in ``targetRevision`` (the revision is compared on its own) still stands."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    for where in (apps[0]["spec"], apps[0]["status"]["sync"]["comparedTo"]):
        where["source"].update(changed)
    assert apps[0]["status"]["history"][-1]["source"].keys() == {
        "path", "plugin", "repoURL", "targetRevision"
    }  # fmt: skip
    record = _signed_off(case, apps)
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == status, target
    code, report = _check(case)
    assert code == (1 if status == "failed" else 0), report
    if status == "failed":
        assert target["reason"] == (
            "Argo CD sync status Synced compares the live objects with manifests rendered "
            f"otherwise (source.{next(iter(changed))}) than the synced ones: the Application's "
            "sources changed since the sync, so nothing shows the cluster still runs what the "
            "sync applied"
        )


def test_a_comparison_that_is_not_an_object_is_refused(case: Case) -> None:
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    apps[0]["status"]["sync"]["comparedTo"] = ["source"]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 2 and "Traceback" not in err
    assert "application checkout-eu-west-1: status.sync.comparedTo is not an object" in err
    assert not case.records("deploys.jsonl")


RESTARTED = "kubectl.kubernetes.io/restartedAt"


@pytest.mark.parametrize(
    ("pointers", "paths", "status"),
    [
        ([], [".spec.replicas"], "succeeded"),
        ([], [" .spec.replicas "], "succeeded"),
        ([f"/spec/template/metadata/annotations/{RESTARTED.replace('/', '~1')}"], [],
         "succeeded"),
        ([], [f'.spec.template.metadata.annotations."{RESTARTED}"'], "succeeded"),
        (["/spec/replicas"], [f'.spec.template.metadata.annotations["{RESTARTED}"]'],
         "succeeded"),
        # Spelt otherwise, or more: counted, whatever Argo CD makes of them.
        (["/spec/replicas/"], [], "failed"),
        (["/spec/replicas~1x"], [], "failed"),
        ([f"/spec/template/metadata/annotations/{RESTARTED}"], [], "failed"),
        (["/spec/template/metadata/annotations"], [], "failed"),
        ([], ["..replicas"], "failed"),
        ([], [".spec.replicas, .spec.template.spec.containers"], "failed"),
        ([], [".spec.template.metadata.annotations"], "failed"),
    ],
)  # fmt: skip
def test_the_replica_count_and_restart_time_as_real_charts_ignore_them(
    case: Case, pointers: list[str], paths: list[str], status: str
) -> None:
    """Real Applications ignore an autoscaler's replica count by jq path as often as by
    pointer (``jqPathExpressions: [.spec.replicas]``), and the restart time ``kubectl rollout
    restart`` and Argo CD's ``restart`` action write into the pod template: neither chooses
    what runs, yet each failed the latest sync of v2 in eu-west-1 (a refusal on every
    import). The whole annotations map counts (``sidecar.istio.io/proxyImage`` chooses an
    image), as does any other spelling: ``/spec/replicas/``, an unescaped ``/``, ``..``."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    directory_source(apps[0], URL, ".")  # no workload kept at zero: none at all
    spec = apps[0]["spec"]
    entry: dict[str, Any] = {"group": "apps", "kind": "StatefulSet"}
    entry.update({"jsonPointers": pointers} if pointers else {})
    entry.update({"jqPathExpressions": paths} if paths else {})
    spec["ignoreDifferences"] = [entry]
    record = _signed_off(case, apps)
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == status, target
    # The recording syncs with ApplyOutOfSyncOnly=true: what is left live is judged alike.
    assert "ApplyOutOfSyncOnly=true" in spec["syncPolicy"]["syncOptions"]
    if status == "failed":
        assert "spec.ignoreDifferences (apps/StatefulSet" in target["reason"]


def test_a_failure_for_fields_left_live_stands_once_the_spec_drops_them(case: Case) -> None:
    """v2 synced with ``ApplyOutOfSyncOnly=true`` (the recording's option) while the image
    was ignored: the Deployment set by hand was not applied, and the sync was recorded failed.
    The entry was then removed, and the image set back by hand: a later listing shows no
    entry, ``Synced``. No history entry records the entries or options a sync ran with, so
    that listing says nothing of what the sync left live; the docs said the failure stays.
    Before, the later import rewrote eu-west-1 succeeded (exit 0), as if v2 ran since its
    sync."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    spec = apps[0]["spec"]
    assert "ApplyOutOfSyncOnly=true" in spec["syncPolicy"]["syncOptions"]
    spec["ignoreDifferences"] = [IMAGE]
    record = _signed_off(case, apps)
    assert targets(record)["eu-west-1"] == "failed"
    del spec["ignoreDifferences"]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    assert "eu-west-1 stays failed as recorded" in err
    (later,) = [r for r in case.records("deploys.jsonl") if r["id"] == record["id"]]
    assert later["targets"] == record["targets"]
    code, report = _check(case)
    assert code == 1, report
    assert f"{record['id']}:eu-west-1" in findings(report, "FLEET-001")


def test_a_drift_failure_for_an_ignored_field_stands_once_the_entry_is_gone(
    case: Case,
) -> None:
    """v2 synced while the Application ignored the image: its ``Synced`` vouched for nothing
    there, and the sync was recorded failed. The entry was then removed (and the image set back
    by hand): a later listing of the same sync shows no entry, ``Synced`` and ``Healthy``. That
    listing says nothing of what ran between the two; before, the later import rewrote
    eu-west-1 succeeded and check passed (exit 0)."""
    apps = applications(case.v1, case.v2, v2_on=CLUSTERS)
    spec = apps[0]["spec"]
    spec["syncPolicy"]["syncOptions"] = [
        o for o in spec["syncPolicy"]["syncOptions"] if not o.startswith("ApplyOutOfSyncOnly")
    ]
    spec["ignoreDifferences"] = [IMAGE]
    record = _signed_off(case, apps)
    (target,) = [t for t in record["targets"] if t["host"] == "eu-west-1"]
    assert target["status"] == "failed"
    assert target["reason"].startswith("Argo CD sync status Synced does not cover")
    del spec["ignoreDifferences"]
    code, err = _import(case, apps, "--revision", case.v2)
    assert code == 0, err
    (later,) = [r for r in case.records("deploys.jsonl") if r["id"] == record["id"]]
    assert later["targets"] == record["targets"]
    code, report = _check(case)
    assert code == 1, report
    assert f"{record['id']}:eu-west-1" in findings(report, "FLEET-001")
