"""The GitOps importers tried as the audited team would try them, wanting a pass: a cluster
that catches up after the flag, another service's application on the same cluster, a Flux
rollback the history folds away, a truncated history that moves old approvals onto new
rollouts, a remapped commit, a rollout started by several people, a chart version that stood
for different releases, and per-cluster imports. Real git repositories, the real engine, the
recorded objects of tests/importers/fixtures/kubernetes/ changed only where the scenario needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.k8s_recordings import (
    Reconciled,
    Released,
    Synced,
    application,
    helm_release,
    kustomization,
    of_applications,
    several_sources,
    write_list,
)
from tests.importers.k8s_scenario import (
    APPROVER,
    CLUSTERS,
    DIGEST_V1,
    DIGEST_V2,
    FLAG_EVENTS,
    OPS,
    TAG_PATTERN,
    applications,
    listed_together,
    listing,
)
from tests.importers.test_kubernetes import DEV, Case, findings, targets

DANA = "dana@example.com"
IN_CLUSTER = "https://kubernetes.default.svc"
"""The API server of the cluster Argo CD itself runs on."""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def _apps(v1: str, v2: str, late: str | None = None) -> list[dict[str, Any]]:
    """v1 everywhere on the 3rd; v2 on the 4th on three clusters, and on ap-south-1 at
    ``late`` (never, without it)."""
    apps = []
    for index, cluster in enumerate(CLUSTERS):
        history = [Synced(v1, f"2024-06-03T10:0{index}:00Z", f"2024-06-03T10:0{index}:40Z", OPS)]
        if cluster != "ap-south-1":
            history.append(
                Synced(v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z", OPS)
            )
        elif late:
            history.append(Synced(v2, late, late.replace(":00Z", ":40Z"), OPS))
        apps.append(application(f"checkout-{cluster}", cluster, history))
    return listed_together(apps)


def _sign_off(case: Case, apps: list[dict[str, Any]]) -> None:
    for commit, day in ((case.v1, "03"), (case.v2, "04")):
        result = case.argocd(apps, "--application-set", "checkout", "--revision", commit,
                             "--approval", f"{APPROVER},2024-06-{day}T09:30:00Z")  # fmt: skip
        assert result.code == 0, result.err


def _v2(case: Case) -> dict[str, Any]:
    return next(r for r in case.records("deploys.jsonl") if r["commit"] == case.v2)


# --- a cluster that catches up --------------------------------------------------------------


def test_a_cluster_that_caught_up_after_the_flag_is_judged_at_the_flag(case: Case) -> None:
    (case.evidence / "flag_events.yaml").write_text(FLAG_EVENTS)
    _sign_off(case, _apps(case.v1, case.v2))  # imported at 12:30: ap-south-1 still on v1
    before = case.check()
    v2 = f"checkout-production-{case.v2[:12]}"
    assert set(findings(before, "FLEET-001")) == {f"{v2}:ap-south-1"}
    assert set(findings(before, "FLEET-003")) == {"new_checkout@2024-06-04T12:00:00Z"}

    # The next day ap-south-1 synced v2, and the scheduled import ran again.
    _sign_off(case, _apps(case.v1, case.v2, late="2024-06-05T09:00:00Z"))
    record = _v2(case)
    assert targets(record)["ap-south-1"] == "succeeded"
    when = {t["host"]: t.get("finished_at") for t in record["targets"]}
    assert when["ap-south-1"] == "2024-06-05T09:00:40Z"
    assert when["eu-west-1"] == "2024-06-04T10:00:40Z"
    assert record["started_at"] == "2024-06-04T10:00:00Z"
    after = case.check()
    (message,) = findings(after, "FLEET-003").values()
    assert "did not succeed on ap-south-1 (succeeded only at 2024-06-05T09:00:40Z" in message
    assert "while its clusters ran different versions" in message


def test_a_late_cluster_does_not_push_the_others_windows(case: Case) -> None:
    """One import after the late sync gives the same record as two, and the clusters that
    synced on time are judged from their own sync: us-east-1's old pods at 11:00 are found."""
    assert case.argocd(_apps(case.v1, case.v2, late="2024-06-05T09:00:00Z")).code == 0
    (case.evidence.parent / "twice").mkdir()
    other = Case(case.evidence.parent / "twice")
    assert other.argocd(_apps(other.v1, other.v2)).code == 0
    assert other.argocd(_apps(other.v1, other.v2, late="2024-06-05T09:00:00Z")).code == 0
    assert other.records("deploys.jsonl") == case.records("deploys.jsonl")
    old, new = (case.v1, DIGEST_V1), (case.v2, DIGEST_V2)
    pods = listing("us-east-1", [new, old, old])
    assert case.pods("us-east-1", pods, "--tag-pattern", TAG_PATTERN).code == 0
    drift = findings(case.check(), "FLEET-002")
    assert set(drift) == {f"checkout-production-{case.v2[:12]}:us-east-1"}
    assert "(2 of 3 pods observed between that deployment and the next disagree)" in next(
        iter(drift.values())
    )


# --- another application on the cluster ----------------------------------------------------


def test_another_services_application_on_the_cluster_is_refused(case: Case) -> None:
    apps = []
    for cluster in CLUSTERS:
        history = [Synced(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T10:00:40Z", OPS)]
        if cluster != "ap-south-1":
            history.append(Synced(case.v2, "2024-06-04T10:00:00Z", "2024-06-04T10:00:40Z", OPS))
        apps.append(application(f"checkout-{cluster}", cluster, history, application_set="web"))
        both = [*history[:1], Synced(case.v2, "2024-06-04T10:10:00Z", "2024-06-04T10:10:40Z", OPS)]
        apps.append(application(f"payments-{cluster}", cluster, both, application_set="web"))
    mixed = case.argocd(apps, "--application-set", "web")
    assert mixed.code == 2
    assert "applications checkout-eu-west-1 and payments-eu-west-1 both deploy to" in mixed.err
    assert "--application" in mixed.err
    assert not (case.evidence / "deploys.jsonl").exists()
    # One Argo CD per cluster, --cluster, every application of the file: refused alike.
    for app in apps:
        app["spec"]["destination"] = {"server": IN_CLUSTER, "namespace": "shop"}
    forced = case.argocd(apps[6:], "--cluster", "ap-south-1")
    assert forced.code == 2 and "both deploy to cluster ap-south-1" in forced.err
    # The service's own application alone: ap-south-1 never synced v2.
    assert case.argocd(apps[6:7], "--cluster", "ap-south-1").code == 0
    assert [r["commit"] for r in case.records("deploys.jsonl")] == [case.v1]


def test_an_app_of_apps_is_refused(case: Case) -> None:
    """The application that deploys the service's applications (an app of apps) synced v2
    everywhere once it wrote their Application objects; whether ap-south-1's own application
    ever synced it, its history does not say."""
    (case.evidence / "fleet.yaml").write_text(
        "services:\n  checkout:\n    clusters: [" + ", ".join(CLUSTERS) + "]\n"
    )
    roots = []
    for index, cluster in enumerate(CLUSTERS):
        synced = Synced(case.v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z")
        root = application(f"checkout-root-{cluster}", cluster, [synced], namespace="argocd")
        roots.append(of_applications(root, [f"checkout-{cluster}"]))
    refused = case.argocd(roots, "--application", "checkout-*")
    assert refused.code == 2
    assert (
        "application checkout-root-eu-west-1 deploys Argo CD applications (checkout-eu-west-1)"
    ) in refused.err
    assert not (case.evidence / "deploys.jsonl").exists()


# --- Flux history --------------------------------------------------------------------------


def _flux(case: Case, histories: dict[str, list[Reconciled]], *extra: str) -> Any:
    files = []
    for cluster, history in histories.items():
        path = write_list(case.work / f"flux-{cluster}.json", [kustomization("checkout", history)])
        files.append(f"{cluster}={path}")
    return case.cli("flux", *files, "--name", "flux-system/checkout", "--service", "checkout",
                    "--deployer", "release@example.com", *extra)  # fmt: skip


def test_a_flux_rollback_is_a_rollout_of_its_own(case: Case) -> None:
    """Flux updates a snapshot in place when the same manifests come back: ap-south-1's v1
    snapshot keeps its firstReconciled of the 3rd and moves to the front."""
    histories = {}
    for index, cluster in enumerate(CLUSTERS):
        v1_first = f"2024-06-03T10:0{index}:00Z"
        if cluster == "ap-south-1":
            histories[cluster] = [
                Reconciled(case.v1, v1_first, "2024-06-04T11:40:00Z"),
                Reconciled(case.v2, f"2024-06-04T10:0{index}:00Z", "2024-06-04T10:50:00Z"),
            ]
        else:
            histories[cluster] = [
                Reconciled(case.v2, f"2024-06-04T10:0{index}:00Z", "2024-06-04T11:40:00Z"),
                Reconciled(case.v1, v1_first, f"2024-06-04T09:5{index}:00Z"),
            ]
    result = _flux(case, histories)
    assert result.code == 0, result.err
    ids = [r["id"] for r in case.records("deploys.jsonl")]
    rollback = f"checkout-production-{case.v1[:12]}-2"
    assert ids[-1] == rollback
    record = case.records("deploys.jsonl")[-1]
    # Back on v1 after v2 was last reconciled (10:50), within one interval (10m).
    assert record["targets"] == [
        {"host": "ap-south-1", "status": "succeeded", "finished_at": "2024-06-04T11:00:00Z"}
    ]
    (case.evidence / "flag_events.yaml").write_text(FLAG_EVENTS)
    report = case.check()
    assert f"{rollback}:eu-west-1" in findings(report, "FLEET-001")
    (message,) = findings(report, "FLEET-003").values()
    assert f"deployment {rollback}" in message


def test_a_flux_history_that_does_not_end_where_the_object_says_is_refused(case: Case) -> None:
    item = kustomization(
        "checkout", [Reconciled(case.v2, "2024-06-04T10:00:00Z", "2024-06-04T11:00:00Z")]
    )
    item["status"]["lastAppliedRevision"] = f"main@sha1:{case.v1}"
    path = write_list(case.work / "flux.json", [item])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2 and "status.lastAppliedRevision is main@sha1:" in result.err
    swapped = kustomization("checkout", [
        Reconciled(case.v1, "2024-06-03T10:00:00Z", "2024-06-03T11:00:00Z"),
        Reconciled(case.v2, "2024-06-04T10:00:00Z", "2024-06-04T11:00:00Z"),
    ])  # fmt: skip
    path = write_list(case.work / "flux.json", [swapped])
    result = case.cli("flux", f"eu-west-1={path}", "--name", "checkout", "--service", "checkout")
    assert result.code == 2 and "newest first" in result.err


# --- truncated history, approvals ----------------------------------------------------------


def _history(case: Case, entries: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Every cluster synced each (commit, day, by), minutes apart."""
    return [
        application(
            f"checkout-{cluster}",
            cluster,
            [
                Synced(commit, f"2024-06-{day}T10:0{i}:00Z", f"2024-06-{day}T10:0{i}:40Z", by)
                for commit, day, by in entries
            ],
        )
        for i, cluster in enumerate(CLUSTERS)
    ]


def test_a_truncated_history_never_moves_a_recorded_rollout(case: Case) -> None:
    full = _history(case, [(case.v1, "03", OPS), (case.v2, "04", OPS)])
    _sign_off(case, full)
    before = case.records("deploys.jsonl")
    # revisionHistoryLimit has since dropped both: a rollback to v1 on the 5th, and v2 rolled
    # out again on the 10th by someone else, without a sign-off.
    later = _history(case, [(case.v1, "05", OPS), (case.v2, "10", DANA)])
    result = case.argocd(later, "--application-set", "checkout")
    assert result.code == 0, result.err
    after = case.records("deploys.jsonl")
    assert after[:2] == before  # untouched: no id moved, no approval carried
    rollback, again = after[2:]
    assert rollback["id"] == f"checkout-production-{case.v1[:12]}-2"
    assert again["id"] == f"checkout-production-{case.v2[:12]}-2"
    assert again["deployer"] == DANA and again["approvals"] == []
    assert again["started_at"] == "2024-06-10T10:00:00Z"
    review = findings(case.check(), "REVIEW-001")
    assert again["id"] in review and before[1]["id"] not in review


def test_a_history_that_contradicts_the_record_is_refused(case: Case) -> None:
    _sign_off(case, _history(case, [(case.v1, "03", OPS), (case.v2, "04", OPS)]))
    # The same rollout, its times rewritten (or another Argo CD's objects passed by mistake).
    moved = _history(case, [(case.v1, "03", OPS), (case.v2, "04", OPS)])
    moved[0]["status"]["history"][1]["deployedAt"] = "2024-06-04T10:00:50Z"
    result = case.argocd(moved, "--application-set", "checkout")
    assert result.code == 2
    assert "the recorded deployment has cluster eu-west-1 succeeded at 2024-06-04T10:00:40Z" in (
        result.err
    )
    assert "revisionHistoryLimit" in result.err


def test_an_approval_signs_off_one_rollout(case: Case) -> None:
    apps = _history(
        case,
        [(case.v1, "03", OPS), (case.v2, "04", OPS), (case.v1, "05", OPS), (case.v2, "10", DANA)],
    )
    approval = ("--approval", f"{APPROVER},2024-06-04T09:30:00Z")
    both = case.argocd(apps, "--revision", case.v2, *approval)
    assert both.code == 2 and "--revision names 2 rollouts here" in both.err
    assert "--rollout ID" in both.err
    assert not (case.evidence / "deploys.jsonl").exists()
    first = f"checkout-production-{case.v2[:12]}"
    assert case.argocd(apps, "--rollout", first, *approval).code == 0
    assert case.argocd(apps).code == 0
    records = {r["id"]: r for r in case.records("deploys.jsonl")}
    assert records[first]["approvals"] and not records[f"{first}-2"]["approvals"]
    assert f"{first}-2" in findings(case.check(), "REVIEW-001")
    unknown = case.argocd(apps, "--rollout", f"{first}-3", *approval)
    assert unknown.code == 2 and f"{first}-2" in unknown.err


# --- deployers, revisions --------------------------------------------------------------------


def test_every_person_who_synced_a_rollout_is_its_deployer(case: Case) -> None:
    apps = []
    for index, cluster in enumerate(CLUSTERS):
        by = DANA if index == 0 else APPROVER  # the approver synced three clusters himself
        history = [
            Synced(case.v1, f"2024-06-03T10:0{index}:00Z", f"2024-06-03T10:0{index}:40Z", OPS),
            Synced(case.v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z", by),
        ]
        apps.append(application(f"checkout-{cluster}", cluster, history))
    signed = case.argocd(apps, "--revision", case.v2, "--approval",
                         f"{APPROVER},2024-06-04T09:30:00Z")  # fmt: skip
    assert signed.code == 2
    assert f"the approval by {APPROVER} is by someone who deployed it" in signed.err
    assert "synced ap-south-1, eu-central-1, us-east-1" in signed.err
    independent = case.argocd(apps, "--revision", case.v2, "--approval",
                              "sam@example.com,2024-06-04T09:30:00Z")  # fmt: skip
    assert independent.code == 0, independent.err
    assert f"started by {DANA} and by {APPROVER}" in independent.err
    assert _v2(case)["deployer"] == DANA


def test_a_commit_is_never_mapped_to_another(case: Case) -> None:
    apps = applications(case.v1, case.v2)
    remapped = case.argocd(apps, "--revision-commit", f"{case.v1}={case.v2}")
    assert remapped.code == 2
    assert f"that revision is commit {case.v1[:12]}" in remapped.err
    assert not (case.evidence / "deploys.jsonl").exists()


def test_a_chart_version_of_different_releases_is_mapped_per_release(case: Case) -> None:
    values_v1, values_v2 = "a" * 64, "b" * 64
    eu = helm_release("checkout", [
        Released(3, "1.2.0", "2024-06-04T10:00:00Z", values=values_v2),
        Released(2, "1.2.0", "2024-06-03T10:00:00Z", "superseded", values=values_v1),
    ])  # fmt: skip
    ap = helm_release("checkout", [Released(2, "1.2.0", "2024-06-03T10:01:00Z", values=values_v1)])
    files = [
        f"eu-west-1={write_list(case.work / 'eu.json', [eu])}",
        f"ap-south-1={write_list(case.work / 'ap.json', [ap])}",
    ]
    args = ("--name", "checkout", "--service", "checkout", "--deployer", "r@example.com")
    one = case.cli("flux", *files, *args, "--revision-commit", f"1.2.0={case.v2}")
    assert one.code == 2 and "maps 2 different releases of that chart version" in one.err
    assert not (case.evidence / "deploys.jsonl").exists()
    each = case.cli(
        "flux", *files, *args,
        "--revision-commit", f"1.2.0@sha256:{values_v2}={case.v2}",
        "--revision-commit", f"1.2.0@sha256:{values_v1}={case.v1}",
    )  # fmt: skip
    assert each.code == 0, each.err
    v1, v2 = case.records("deploys.jsonl")
    assert targets(v1) == {"eu-west-1": "succeeded", "ap-south-1": "succeeded"}
    assert targets(v2) == {"eu-west-1": "succeeded"}  # ap-south-1 still runs v1's release
    # An upgrade that failed, and that Flux's remediation uninstalled: one entry refuses
    # nothing else, and the cluster is failed in its rollout.
    uninstalled = helm_release("checkout", [
        Released(4, "1.2.0", "2024-06-04T10:00:00Z", "uninstalled", values=values_v2),
        Released(3, "1.2.0", "2024-06-03T10:00:00Z", "superseded", values=values_v1),
    ])  # fmt: skip
    files[0] = f"eu-west-1={write_list(case.work / 'eu.json', [uninstalled])}"
    result = case.cli(
        "flux", files[0], *args,
        "--revision-commit", f"1.2.0@sha256:{values_v2}={case.v2}",
        "--revision-commit", f"1.2.0@sha256:{values_v1}={case.v1}",
    )  # fmt: skip
    assert result.code == 2  # the recorded rollout had eu-west-1 succeeded: not rewritten
    assert "the recorded deployment has cluster eu-west-1 succeeded" in result.err
    (case.evidence / "deploys.jsonl").unlink()
    result = case.cli(
        "flux", files[0], *args,
        "--revision-commit", f"1.2.0@sha256:{values_v2}={case.v2}",
        "--revision-commit", f"1.2.0@sha256:{values_v1}={case.v1}",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "eu-west-1: failed (Helm release uninstalled)" in result.err


def test_a_repository_deployed_at_two_revisions_by_one_application_is_refused(case: Case) -> None:
    """An application of several sources may take the service's repository twice (a ``ref:
    values`` source and its manifests), spelled alike or not (``.git``): the revision of the
    one listed first named the deployment, and an unreviewed commit in the other shipped
    unseen."""
    unreviewed = case.repo.commit("v3", {"app": "3"}, author=DEV, date="2024-06-04T09:30:00Z")
    url = "https://github.com/example/checkout"

    def apps(values: str, manifests: str) -> list[dict[str, Any]]:
        found = []
        for index, cluster in enumerate(CLUSTERS):
            synced = Synced(case.v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z")
            app = application(f"checkout-{cluster}", cluster, [synced])
            sources = [(url, "values", values), (f"{url}.git", "deploy", manifests)]
            found.append(several_sources(app, sources))
        return found

    hidden = case.argocd(apps(case.v2, unreviewed), "--source-repo", url, "--revision", case.v2,
                         "--approval", f"{APPROVER},2024-06-04T09:45:00Z")  # fmt: skip
    assert hidden.code == 2
    assert "application checkout-eu-west-1, history id 14: sources 1, 2 are all" in hidden.err
    assert f"at different revisions ({', '.join(sorted((case.v2, unreviewed)))})" in hidden.err
    assert not (case.evidence / "deploys.jsonl").exists()
    # One revision for both sources is one deployment of it.
    alike = case.argocd(apps(case.v2, case.v2), "--source-repo", f"{url}.git")
    assert alike.code == 0, alike.err
    assert targets(_v2(case)) == dict.fromkeys(CLUSTERS, "succeeded")


# --- per-cluster imports, failed operations --------------------------------------------------


def test_per_cluster_argocd_imports_add_up(case: Case) -> None:
    for index, cluster in enumerate(CLUSTERS):
        history = [
            Synced(case.v1, f"2024-06-03T10:0{index}:00Z", f"2024-06-03T10:0{index}:40Z", OPS),
            Synced(case.v2, f"2024-06-04T10:0{index}:00Z", f"2024-06-04T10:0{index}:40Z", OPS),
        ]
        app = application("checkout", "ignored", history)
        app["spec"]["destination"] = {"server": IN_CLUSTER, "namespace": "shop"}
        result = case.argocd([app], "--cluster", cluster)
        assert result.code == 0, result.err
    v1, v2 = case.records("deploys.jsonl")
    assert targets(v1) == targets(v2) == dict.fromkeys(CLUSTERS, "succeeded")
    assert v2["started_at"] == "2024-06-04T10:00:00Z"
    assert v2["finished_at"] == "2024-06-04T10:03:40Z"
    assert not findings(case.check(), "FLEET-001")


def test_cluster_is_refused_for_an_application_of_another_cluster(case: Case) -> None:
    """``--cluster`` names the cluster an Argo CD deploys to itself; given another cluster's
    application (us-east-1's, by a hub Argo CD, on the ap-south-1 run), its sync of v2 would be
    ap-south-1's, and FLEET-001 would no longer see that ap-south-1 never synced it."""
    us_east = applications(case.v1, case.v2)[2]
    mislabelled = case.argocd([us_east], "--cluster", "ap-south-1")
    assert mislabelled.code == 2
    assert (
        "application checkout-us-east-1 deploys to cluster us-east-1 (spec.destination.name), "
        "not to --cluster ap-south-1"
    ) in mislabelled.err
    assert not (case.evidence / "deploys.jsonl").exists()
    us_east["spec"]["destination"] = {"server": "https://10.0.0.9:6443", "namespace": "shop"}
    by_url = case.argocd([us_east], "--cluster", "ap-south-1")
    assert by_url.code == 2 and "https://10.0.0.9:6443 (spec.destination.server)" in by_url.err
    # Argo CD's own cluster, by name or URL, is the one --cluster names.
    for own in ({"name": "in-cluster"}, {"server": IN_CLUSTER}):
        us_east["spec"]["destination"] = {**own, "namespace": "shop"}
        assert case.argocd([us_east], "--cluster", "us-east-1").code == 0


def test_a_failed_operation_with_no_commit_is_left_out_with_a_note(case: Case) -> None:
    apps = applications(case.v1, case.v2)
    state = apps[3]["status"]["operationState"]
    state.update(
        phase="Error",
        message="rpc error: code = Unknown desc = Manifest generation error (cached)",
        startedAt="2024-06-04T10:05:00Z",
        finishedAt="2024-06-04T10:05:03Z",
    )
    del state["syncResult"]
    state["operation"]["sync"]["revision"] = "HEAD"
    result = case.argocd(apps)
    assert result.code == 0, result.err
    assert "operation Error" in result.err and "names revision 'HEAD', no commit" in result.err
    assert "ap-south-1 is absent from the rollout it missed" in result.err
    assert "ap-south-1" not in targets(_v2(case))
    del state["operation"]["sync"]["revision"]
    again = case.argocd(apps)
    assert again.code == 0 and "names no revision" in again.err
    assert str(case.work / "applications.json") in again.err


def test_a_target_time_outside_its_deployment_is_an_input_error(case: Case) -> None:
    """Moving a cluster's finish before its rollout started would move its FLEET-002 window
    and its FLEET-003 answer: refused, naming the file and record."""
    assert case.argocd(applications(case.v1, case.v2)).code == 0
    path = case.evidence / "deploys.jsonl"
    edited = path.read_text().replace(
        '"finished_at": "2024-06-04T10:00:40Z",', '"finished_at": "2024-06-04T09:00:00Z",'
    )
    assert edited != path.read_text()
    path.write_text(edited)
    result = run_cli("check", "--repo", case.repo.path, "--evidence", case.evidence)
    assert result.code == 2
    assert "deploys.jsonl" in result.err and "outside the deployment's started_at" in result.err


# --- namespaces --------------------------------------------------------------------------------


def test_an_application_deploying_to_another_namespace_is_left_out(case: Case) -> None:
    """--application 'checkout-*' also matches checkout-staging-ap-south-1, which syncs v2 into
    namespace staging on ap-south-1; the production application there never synced v2."""
    apps = applications(case.v1, case.v2)
    history = [Synced(case.v2, "2024-06-04T10:09:00Z", "2024-06-04T10:09:40Z", OPS)]
    staging = application("checkout-staging-ap-south-1", "ap-south-1", history, namespace="staging")
    result = case.argocd([*apps, staging], "--application", "checkout-*", "--revision", case.v2)
    assert result.code == 0, result.err
    assert (
        "application checkout-staging-ap-south-1 left out: it deploys to namespace staging on "
        "cluster ap-south-1, where fleet.yaml runs the service in namespace shop"
    ) in result.err
    [record] = case.records("deploys.jsonl")
    assert targets(record) == dict.fromkeys(CLUSTERS[:3], "succeeded")
    assert set(findings(case.check(), "FLEET-001")) == {f"{record['id']}:ap-south-1"}


def test_an_application_that_names_no_namespace_is_left_out(case: Case) -> None:
    """Without spec.destination.namespace its manifests choose, and nothing here says which."""
    apps = applications(case.v1, case.v2)
    del apps[0]["spec"]["destination"]["namespace"]
    result = case.argocd(apps, "--revision", case.v2)
    assert result.code == 0, result.err
    assert "application checkout-eu-west-1 left out: it deploys to no namespace" in result.err
    [record] = case.records("deploys.jsonl")
    assert "eu-west-1" not in targets(record)
