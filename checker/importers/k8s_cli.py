"""The command line of the Kubernetes importers: ``argocd``, ``flux`` and ``kubectl-pods``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from pydantic import TypeAdapter, ValidationError

from checker.config import Config, ImagesConfig
from checker.errors import InputError, UsageError
from checker.evidence.bundle import KIND_BY_NAME, find_file, parse_document
from checker.evidence.files import read_text
from checker.evidence.git import GitHistory
from checker.evidence.models import Cluster, DeployApproval, Fleet, Service, Timestamp
from checker.importers import argocd, flux, gitops, kubectl_pods
from checker.importers.common import append_records, append_series
from checker.report.escape import visible

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
        "--approval",
        action="append",
        default=[],
        metavar="ADDRESS,TIMESTAMP",
        help="a sign-off on the rollout of --revision (repeatable)",
    )
    parser.add_argument("--change-ticket", metavar="TICKET", help="of the rollout of --revision")
    parser.add_argument(
        "--deployer",
        metavar="ADDRESS",
        help="who answers for automated syncs (the tool names no person for them)",
    )


def add_parsers(tools: argparse._SubParsersAction[Any]) -> list[argparse.ArgumentParser]:
    """The Kubernetes importers' parsers."""
    argo = tools.add_parser(
        "argocd", help="deployments from Argo CD Application objects (sync history)"
    )
    argo.add_argument("applications", type=Path, metavar="APPLICATIONS.json")
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

    fx = tools.add_parser(
        "flux", help="deployments from Flux Kustomization or HelmRelease history, per cluster"
    )
    fx.add_argument(
        "listings",
        nargs="+",
        metavar="CLUSTER=FILE",
        help="each cluster's kubectl get kustomizations (or helmreleases) -o json",
    )
    fx.add_argument(
        "--name", required=True, metavar="[NAMESPACE/]NAME", help="the object that deploys it"
    )
    _rollout_options(fx)

    pods = tools.add_parser("kubectl-pods", help="observations of what a cluster's ready pods run")
    pods.add_argument("pods", type=Path, metavar="PODS.json")
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
        type=Path,
        metavar="FILE",
        help="skopeo inspect output or an OCI manifest of an image (repeatable)",
    )
    pods.add_argument("--tag-pattern", metavar="REGEX", help="overrides images.tag_pattern")
    pods.add_argument(
        "--commit-annotation", metavar="NAME", help="overrides images.commit_annotation"
    )
    return [argo, fx, pods]


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


def _choices(args: argparse.Namespace, history: GitHistory) -> gitops.Choices:
    from checker.importers.cli import approval

    only = None
    if args.revision:
        only = history.resolve([args.revision])[args.revision]
        if only is None:
            raise UsageError(f"--revision {args.revision!r} does not resolve in {history.root}")
    elif args.approval or args.change_ticket:
        raise UsageError(
            "--approval and --change-ticket sign off one rollout: name its commit with --revision"
        )
    approvals: tuple[DeployApproval, ...] = tuple(approval(a) for a in args.approval)
    return gitops.Choices(
        service=args.service,
        environment=args.environment,
        revision_commits=gitops.revision_commits(args.revision_commit),
        only=only,
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
    if args.tool == "argocd":
        clusters = service.clusters if service else []
        servers = tuple((c.server, c.name) for c in clusters if c.server)
        selection = argocd.Selection(
            tuple(args.application), args.application_set, args.cluster, args.source_repo, servers
        )
        items = argocd.read_applications(args.applications)
        syncs = argocd.syncs(items, selection, args.applications)
        hint = "a Helm chart's version, or another repository's revision"
        chosen = len(argocd.chosen(items, selection, args.applications))
        what = f"{chosen} applications"
    else:
        syncs = []
        for pair in args.listings:
            cluster, _, name = pair.partition("=")
            if not cluster or not name:
                raise UsageError(f"{pair!r}: expected CLUSTER=FILE")
            path = Path(name)
            item = flux.find_object(flux.read_objects(path), args.name, path)
            syncs += flux.syncs(item, cluster, path)
        hint = "an OCI artifact's digest or a chart version"
        what = f"{len(args.listings)} clusters"
    commits = gitops.resolve_commits(history, syncs, choices, hint)
    records = gitops.keep_sign_offs(evidence, gitops.rollouts(syncs, commits, choices))
    if choices.only and not records:
        raise InputError(f"no rollout of {args.revision} is recorded here", path=str(evidence))
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
    for record in records:
        missing = [t for t in record.targets if t.status != "succeeded"]
        for target in missing:
            err.write(
                f"knightwatch:   {record.id}: {visible(target.host)}: {target.status}"
                + (f" ({visible(target.reason)})" if target.reason else "")
                + "\n"
            )
    if not choices.approvals and records:
        err.write(
            "knightwatch: GitOps tools record no approvals: REVIEW-001 reports these rollouts "
            "until each is signed off (--revision SHA --approval ADDRESS,TIMESTAMP)\n"
        )


def _pods(
    args: argparse.Namespace,
    history: GitHistory,
    images: ImagesConfig,
    evidence: Path,
    service: Service | None,
    err: TextIO,
) -> None:
    where = Cluster(name=args.cluster)
    if service is not None:
        found = service.cluster(args.cluster)
        if found is None:
            listed = ", ".join(c.name for c in service.clusters) or "none"
            raise UsageError(
                f"--cluster {args.cluster!r} is not a cluster of {args.service} in fleet.yaml "
                f"(its clusters: {listed})",
                hint="fleet.yaml lists each service's clusters under clusters:",
            )
        where = found
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
    )
    observed = kubectl_pods.observe(listing, history)
    done = append_series(evidence, "observations", list(observed.records))
    pods = sum(r.pods or 0 for r in observed.records)
    versions = ", ".join(f"{r.version[:12]} on {r.pods} pods" for r in observed.records)
    err.write(
        f"knightwatch: imported {pods} ready pods of {args.cluster} ({versions}) into "
        f"{done.path}: {len(done.added)} added, {len(done.already)} already there"
        + (f"; {observed.not_ready} pods not ready, not counted" if observed.not_ready else "")
        + "\n"
    )
    if where.replicas and pods < where.replicas:
        err.write(
            f"knightwatch: {args.cluster}: {pods} ready pods of {where.replicas} expected; the "
            "check reports the observation as partial\n"
        )
