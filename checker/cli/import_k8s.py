"""The command line of the Kubernetes importers: ``argocd``, ``flux`` and ``kubectl-pods``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pydantic import TypeAdapter, ValidationError

from checker.cli.arguments import path
from checker.config import Config, ImagesConfig
from checker.errors import InputError, UsageError
from checker.evidence.bundle import KIND_BY_NAME, find_file, parse_document
from checker.evidence.files import read_text
from checker.evidence.git import GitHistory
from checker.evidence.identities import IdentityResolver
from checker.evidence.models import (
    Cluster,
    DeployApproval,
    Deployment,
    Fleet,
    Service,
    Timestamp,
    timestamp_ns,
)
from checker.importers import (
    argocd,
    argocd_health,
    argocd_replicas,
    flux,
    flux_disabled,
    gitops,
    in_git,
    k8s_rollouts,
    kubectl_pods,
)
from checker.importers.common import append_records, append_series
from checker.report.escape import visible
from checker.vocabulary import short

TOOLS = ("argocd", "flux", "kubectl-pods")


def _rollout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", required=True, metavar="NAME", help="a key of fleet.yaml")
    parser.add_argument("--environment", default="production")
    parser.add_argument(
        "--revision-commit",
        action="append",
        default=[],
        metavar="REV=SHA",
        help="the commit a revision that is not one (a chart version) was built from (repeatable)",
    )
    parser.add_argument("--revision", metavar="SHA", help="import only the rollouts of this commit")
    parser.add_argument(
        "--rollout",
        metavar="ID",
        help="import only this rollout (its deployment id: a commit rolled out twice has two)",
    )
    parser.add_argument(
        "--approval",
        action="append",
        default=[],
        metavar="ADDRESS,TIMESTAMP",
        help="a sign-off on the one rollout of --revision or --rollout (repeatable)",
    )
    parser.add_argument(
        "--change-ticket", metavar="TICKET", help="of the rollout of --revision or --rollout"
    )
    parser.add_argument(
        "--deployer",
        metavar="ADDRESS",
        help="who answers for automated syncs (the tool names no person for them)",
    )


def add_parsers(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """The Kubernetes importers' parsers."""
    return [_argocd_parser(tools), _flux_parser(tools), _pods_parser(tools)]


def _argocd_parser(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    argo = tools.add_parser(
        "argocd", help="deployments from Argo CD Application objects (sync history)"
    )
    argo.add_argument("applications", type=path, metavar="APPLICATIONS.json")
    _rollout_options(argo)
    argo.add_argument(
        "--application",
        action="append",
        default=[],
        metavar="NAME",
        help="an application of the service, or a glob of them (repeatable; default: all)",
    )
    argo.add_argument(
        "--application-set", metavar="NAME", help="the applications this ApplicationSet owns"
    )
    argo.add_argument(
        "--cluster", metavar="NAME", help="the cluster every application here deploys to"
    )
    argo.add_argument("--source-repo", metavar="URL", help="the source (repoURL) built from --repo")
    argo.add_argument(
        "--reconciliation-timeout",
        type=_reconciliation,
        default=argocd_health.RECONCILIATION_S,
        metavar="SECONDS",
        help="argocd-cm's timeout.reconciliation plus its jitter, where raised (default: 180)",
    )
    return argo


def _reconciliation(text: str) -> int:
    """A ``--reconciliation-timeout``: whole seconds, from one to an hour."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if not 0 < value <= argocd_health.RECONCILIATION_MAX_S:
        raise argparse.ArgumentTypeError(
            f"must be 1 to {argocd_health.RECONCILIATION_MAX_S} seconds"
        )
    return value


def _flux_parser(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    fx = tools.add_parser(
        "flux", help="deployments from Flux Kustomization or HelmRelease history, per cluster"
    )
    fx.add_argument(
        "listings",
        nargs="+",
        metavar="CLUSTER=FILE",
        help="each cluster's kubectl get kustomizations,helmreleases -A -o json (both kinds in "
        "one file: a parent Kustomization names the folder its objects are applied from)",
    )
    fx.add_argument(
        "--name", required=True, metavar="[NAMESPACE/]NAME", help="the object that deploys it"
    )
    _rollout_options(fx)
    return fx


def _pods_parser(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    pods = tools.add_parser(
        "kubectl-pods", help="observations of what a cluster's running pods run"
    )
    pods.add_argument("pods", type=path, metavar="PODS.json")
    pods.add_argument("--cluster", required=True, metavar="NAME", help="the cluster listed")
    pods.add_argument("--service", required=True, metavar="NAME", help="a key of fleet.yaml")
    pods.add_argument(
        "--observed-at",
        required=True,
        metavar="TIMESTAMP",
        help="when the listing was made (RFC 3339)",
    )
    pods.add_argument(
        "--image-metadata",
        action="append",
        default=[],
        type=path,
        metavar="FILE",
        help="skopeo inspect output or an OCI manifest of an image (repeatable)",
    )
    pods.add_argument("--tag-pattern", metavar="REGEX", help="overrides images.tag_pattern")
    pods.add_argument(
        "--commit-annotation", metavar="NAME", help="overrides images.commit_annotation"
    )
    return pods


def _fleet_service(evidence: Path, service: str) -> Service | None:
    """The service's entry in fleet.yaml, if the directory has one; a service it does not
    list is refused."""
    kind = KIND_BY_NAME["fleet"]
    path = find_file(evidence, kind) if evidence.is_dir() else None
    if path is None:
        return None
    fleet = parse_document(kind, path, read_text(path))
    if not isinstance(fleet, Fleet):  # parse_document gives the kind's model
        return None
    if service not in fleet.services:
        raise UsageError(
            f"--service {service!r} is not in {path}",
            hint=f"services there: {', '.join(sorted(fleet.services))}",
        )
    return fleet.services[service]


def _timestamp(text: str, option: str) -> str:
    try:
        return TypeAdapter(Timestamp).validate_python(text)
    except ValidationError as exc:
        raise UsageError(f"{option} {text!r}: {exc.errors()[0]['msg']}") from None


def _identities(evidence: Path) -> tuple[IdentityResolver, dict[str, list[str]]]:
    from checker.cli.imports import _identities as read

    return read(evidence)


def _choices(args: argparse.Namespace, history: GitHistory) -> gitops.Choices:
    from checker.cli.imports import approval

    only = None
    if args.revision:
        only = history.resolve_option("--revision", args.revision)
        if only is None:
            raise UsageError(f"--revision {args.revision!r} does not resolve in {history.root}")
    elif (args.approval or args.change_ticket) and not args.rollout:
        raise UsageError(
            "--approval and --change-ticket sign off one rollout: name it with --revision SHA "
            "or --rollout ID"
        )
    approvals: tuple[DeployApproval, ...] = tuple(approval(a) for a in args.approval)
    return gitops.Choices(
        service=args.service,
        environment=args.environment,
        revision_commits=gitops.revision_commits(args.revision_commit),
        only=only,
        rollout=args.rollout,
        approvals=approvals,
        change_ticket=args.change_ticket,
        deployer=args.deployer,
    )


def run(
    args: argparse.Namespace, history: GitHistory, config: Config, evidence: Path, err: TextIO
) -> None:
    """Run one of ``TOOLS`` and append what it found."""
    service = _fleet_service(evidence, args.service)
    if args.tool == "kubectl-pods":
        _pods(args, history, config.images, evidence, service, err)
        return
    choices = _choices(args, history)
    left_out: list[str] = []
    syncs, hint, what = (
        _argocd(args, service, left_out)
        if args.tool == "argocd"
        else _flux(args, service, left_out)
    )
    syncs, notes = gitops.usable(syncs, choices)
    notes[:0] = left_out
    commits = gitops.resolve_commits(history, syncs, choices, hint)
    syncs, commits = in_git.restored(history, syncs, commits)
    syncs, commits = argocd_replicas.checked(history, syncs, commits)
    syncs, commits = flux_disabled.checked(history, syncs, commits)
    records = _records(evidence, gitops.moves(syncs, commits), choices, notes)
    done = append_records(evidence, "deploys", "id", list(records), source=args.tool, update=True)
    err.write(
        f"knightwatch: imported {len(records)} rollouts from {what} into {done.path}: "
        f"{len(done.added)} added, {len(done.already)} already there"
        + (
            f", {len(done.updated)} updated (old records kept in superseded.jsonl)"
            if done.updated
            else ""
        )
        + "\n"
    )
    _name_missed(records, err)
    for note in notes:
        err.write(f"knightwatch: {visible(note)}\n")
    if not choices.approvals and any(not r.approvals for r in records):
        err.write(
            "knightwatch: GitOps tools record no approvals: REVIEW-001 reports these rollouts "
            "until each is signed off (--rollout ID --approval ADDRESS,TIMESTAMP)\n"
        )


Syncs = tuple[list[gitops.Sync], str, str]
"""A GitOps tool's syncs, what a revision that is not a commit would be, and what was read."""


def _argocd(args: argparse.Namespace, service: Service | None, left_out: list[str]) -> Syncs:
    """Argo CD's syncs; an application left out (another namespace) is told in ``left_out``."""
    clusters = service.clusters if service else []
    servers = tuple((c.server, c.name) for c in clusters if c.server)
    namespaces = tuple((c.name, c.namespace) for c in clusters if c.namespace)
    selection = argocd.Selection(
        tuple(args.application),
        args.application_set,
        args.cluster,
        args.source_repo,
        servers,
        namespaces,
        args.reconciliation_timeout,
    )
    items = argocd.read_applications(args.applications)
    syncs = argocd.syncs(items, selection, args.applications, left_out)
    chosen = len(argocd.chosen(items, selection, args.applications))
    hint = "a Helm chart's version, or another repository's revision"
    return syncs, hint, f"{chosen} applications"


def _flux(args: argparse.Namespace, service: Service | None, left_out: list[str]) -> Syncs:
    """Flux's syncs; an object left out (another namespace) is told in ``left_out``."""
    namespaces = {c.name: c.namespace for c in (service.clusters if service else [])}
    syncs = []
    for pair in args.listings:
        cluster, _, name = pair.partition("=")
        if not cluster or not name:
            raise UsageError(f"{pair!r}: expected CLUSTER=FILE")
        path = Path(name)
        listed = flux.read_objects(path)
        item = flux.find_object(listed, args.name, path)
        elsewhere = flux.other_namespace(item, cluster, namespaces.get(cluster), path)
        if elsewhere:
            left_out.append(elsewhere)
            continue
        syncs += flux.syncs(item, cluster, path, listed)
    return syncs, "an OCI artifact's digest or a chart version", f"{len(args.listings)} clusters"


def _records(
    evidence: Path,
    moves: dict[str, list[gitops.Move]],
    choices: gitops.Choices,
    notes: list[str],
) -> list[Deployment]:
    """The chosen rollouts as deployment records, oldest first; a rollout started by more
    than one person is told in ``notes``."""
    old, _ = k8s_rollouts.recorded(evidence, choices)
    groups = k8s_rollouts.group(moves, choices, old)
    identities, _ = _identities(evidence)
    records: list[Deployment] = []
    chosen = _chosen(groups, choices, evidence)
    left = [k for k in groups if k not in chosen]
    left.sort(key=lambda k: (min(timestamp_ns(m.started_at) for m in groups[k]), k))
    _name_unrecorded(left, old, choices, notes)
    for commit, nth in chosen:
        ident = k8s_rollouts.rollout_id(choices, commit, nth)
        own = groups[(commit, nth)]
        record = k8s_rollouts.record(commit, nth, own, choices, old.get(ident), True, notes)
        others = k8s_rollouts.several_deployers(record, own, choices, identities)
        if others:
            notes.append(
                f"{ident}: started by {record.deployer} and by {', '.join(others)}; an "
                "approval by any of them is refused"
            )
        records.append(record)
    return sorted(records, key=lambda r: (timestamp_ns(r.started_at), r.id))


def _name_unrecorded(
    left: list[tuple[str, int]],
    old: dict[str, Deployment],
    choices: gitops.Choices,
    notes: list[str],
) -> None:
    """Rollouts ``--revision`` or ``--rollout`` left out that no record holds yet: each
    shipped a commit that no check judges until an import records it."""
    ids = [k8s_rollouts.rollout_id(choices, *key) for key in left]
    missing = [ident for ident in ids if ident not in old]
    if missing:
        notes.append(
            f"{len(missing)} rollouts these objects hold are in no record and were not "
            f"imported ({', '.join(missing)}): import without --revision or --rollout to "
            "record them, or their commits are never judged"
        )


def _name_missed(records: Sequence[Deployment], err: TextIO) -> None:
    """Each target a rollout did not reach, and why."""
    for record in records:
        for target in (t for t in record.targets if t.status != "succeeded"):
            err.write(
                f"knightwatch:   {record.id}: {visible(target.host)}: {target.status}"
                + (f" ({visible(target.reason)})" if target.reason else "")
                + "\n"
            )


def _cluster(args: argparse.Namespace, service: Service | None) -> Cluster:
    """The listed cluster as fleet.yaml knows it; one it does not list is refused."""
    if service is None:
        return Cluster(name=args.cluster)
    found = service.cluster(args.cluster)
    if found is None:
        listed = ", ".join(c.name for c in service.clusters) or "none"
        raise UsageError(
            f"--cluster {args.cluster!r} is not a cluster of {args.service} in fleet.yaml "
            f"(its clusters: {listed})",
            hint="fleet.yaml lists each service's clusters under clusters:",
        )
    return found


def _namespaced(where: Cluster, args: argparse.Namespace, service: Service | None) -> Cluster:
    """The cluster, which fleet.yaml must give a namespace for a listing of pods: without one,
    a listing of any namespace (staging's pods, a developer's copy of the workload) would stand
    for the service's, and an observation never says which namespace it saw."""
    if where.namespace:
        return where
    said = "names no clusters of" if service is None else f"gives cluster {args.cluster!r} of"
    raise UsageError(
        f"the evidence's fleet.yaml {said} {args.service} no namespace: a listing of another "
        "namespace's pods would be taken for the service's",
        hint=f"give {args.cluster} a namespace under {args.service}'s clusters in fleet.yaml: "
        "{name: CLUSTER, namespace: NAMESPACE}, the -n of kubectl get pods -n NAMESPACE -o json",
    )


def _chosen(
    groups: dict[tuple[str, int], list[gitops.Move]], choices: gitops.Choices, evidence: Path
) -> list[tuple[str, int]]:
    """The rollouts to write: those of ``--revision``, or ``--rollout``; a sign-off needs
    exactly one."""
    keys = sorted(groups)
    if choices.only is not None:
        keys = [k for k in keys if k[0] == choices.only]
    if choices.rollout is not None:
        keys = [_rollout(keys, choices)]
    if (choices.only or choices.rollout) and not keys:
        raise InputError("no rollout of --revision is recorded here", path=str(evidence))
    if (choices.approvals or choices.change_ticket) and len(keys) > 1:
        listed = "; ".join(
            f"{k8s_rollouts.rollout_id(choices, *k)} (started "
            f"{min(m.started_at for m in groups[k])})"
            for k in keys
        )
        raise UsageError(
            f"--revision names {len(keys)} rollouts here ({listed}): an approval signs off one",
            hint="name it with --rollout ID",
        )
    return keys


def _rollout(keys: list[tuple[str, int]], choices: gitops.Choices) -> tuple[str, int]:
    """The rollout ``--rollout`` names, among ``keys``."""
    ids = [k8s_rollouts.rollout_id(choices, *k) for k in keys]
    if choices.rollout not in ids:
        raise UsageError(
            f"--rollout {choices.rollout}: no such rollout in the history read",
            hint=f"rollouts here: {', '.join(sorted(ids)[:12]) or 'none'}",
        )
    return keys[ids.index(choices.rollout)]


def _passed_over(observed: kubectl_pods.Observed) -> str:
    """What the note says of the pods counted though not ready or terminating, and of those
    left out."""
    return "".join(
        f"; {n} {what}"
        for n, what in (
            (observed.not_ready, "not ready (they run: counted)"),
            (observed.terminating, "terminating (they run until stopped: counted)"),
            (observed.not_running, "not running (Pending, Succeeded or Failed), left out"),
            (observed.ended, "of them ended: observed when they stopped"),
        )
        if n
    )


def _pods(
    args: argparse.Namespace,
    history: GitHistory,
    images: ImagesConfig,
    evidence: Path,
    service: Service | None,
    err: TextIO,
) -> None:
    where = _namespaced(_cluster(args, service), args, service)
    overrides = {
        "tag_pattern": args.tag_pattern or images.tag_pattern,
        "commit_annotation": args.commit_annotation or images.commit_annotation,
    }
    try:
        images = ImagesConfig.model_validate(overrides)
    except ValueError as exc:
        raise UsageError(f"--tag-pattern: {str(exc).splitlines()[-1].strip()}") from None
    listing = kubectl_pods.Listing(
        path=args.pods,
        cluster=args.cluster,
        service=args.service,
        observed_at=_timestamp(args.observed_at, "--observed-at"),
        where=where,
        images=images,
        metadata=tuple(args.image_metadata),
        recorded=kubectl_pods.recorded(evidence),
    )
    observed = kubectl_pods.observe(listing, history)
    done = append_series(evidence, "observations", list(observed.records))
    pods = observed.pods
    versions = ", ".join(f"{short(r.version)} on {r.pods} pods" for r in observed.records)
    err.write(
        f"knightwatch: imported {pods} running pods of {args.cluster} ({versions}) into "
        f"{done.path}: {len(done.added)} added, {len(done.already)} already there"
        + _passed_over(observed)
        + "\n"
    )
    if where.replicas and pods < where.replicas:
        err.write(
            f"knightwatch: {args.cluster}: {pods} running pods of {where.replicas} expected; "
            "the check reports the observation as partial\n"
        )
