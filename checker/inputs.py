"""Facts for the policies: evidence and git history turned into one plain input document.

Python establishes every fact here (identities, integer timestamps, the commits each
deployment shipped, who reviewed each commit); Rego only decides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.git import GitHistory
from checker.evidence.models import Deployment, timestamp_ns

SHORT = 12


@dataclass(frozen=True)
class Parameters:
    """Rule parameters as resolved for this run."""

    protected_branch: str
    baseline: str | None


@dataclass(frozen=True)
class Facts:
    """The engine's input and data documents, and counts for the report."""

    input: dict[str, Any]
    data: dict[str, Any]
    head: str
    baseline_sha: str | None
    shipped_count: int


def _resolve_deployments(
    history: GitHistory, evidence: Evidence, extra: list[str]
) -> dict[str, str | None]:
    revs = [d.commit for d in evidence.deployments] + extra
    return history.resolve(revs)


def collect_facts(history: GitHistory, evidence: Evidence, params: Parameters) -> Facts:
    """Resolve, walk and join everything the rules need, with one git log over the history."""
    branch_tip = history.resolve_branch(params.protected_branch)
    if branch_tip is None:
        raise InputError(
            f"protected branch {params.protected_branch!r} not found (as a local branch, as "
            "origin/" + params.protected_branch + ", or as a rev)",
            path=str(history.root),
            hint="set protected_branch in knightwatch.yaml or pass --protected-branch",
        )
    extra = [params.baseline] if params.baseline else []
    resolved = _resolve_deployments(history, evidence, extra)
    baseline_sha = None
    if params.baseline:
        baseline_sha = resolved[params.baseline]
        if baseline_sha is None:
            raise InputError(
                f"baseline {params.baseline!r} does not resolve to a commit",
                path=str(history.root),
                hint="set baseline in knightwatch.yaml (or --baseline) to a sha, tag or branch",
            )
    deployed: dict[str, str] = {}
    for deployment in evidence.deployments:
        sha = resolved[deployment.commit]
        if sha is None:
            origin = evidence.origins.get(deployment.id, "")
            path, _, line = origin.rpartition(":")
            raise InputError(
                f"deployment {deployment.id}: commit {deployment.commit!r} does not resolve in "
                f"the repository at {history.root}",
                path=str(evidence.directory / path) if path else str(evidence.directory),
                line=int(line) if line.isdigit() else None,
                hint="is --repo the repository this service is built from, with full history?",
            )
        deployed[deployment.id] = sha

    tips = [*deployed.values(), branch_tip, *([baseline_sha] if baseline_sha else [])]
    history.load(tips)
    on_branch = history.ancestors(branch_tip)

    shipped = _shipped_ranges(history, evidence.deployments, deployed, baseline_sha)
    shipped_by: dict[str, list[str]] = defaultdict(list)
    for deployment_id, shas in shipped.items():
        for sha in shas:
            shipped_by[sha].append(deployment_id)

    reviewers = _reviewers(history, evidence, set(shipped_by))
    resolve = evidence.identities.resolve
    commits: dict[str, Any] = {}
    for sha in sorted(shipped_by):
        commit = history.commits[sha]
        commits[sha] = {
            "author": commit.author_email,
            "author_identity": resolve(commit.author_email),
            "reviewer_identities": sorted(reviewers.get(sha, set())),
            "shipped_by": sorted(shipped_by[sha]),
        }

    deployments = []
    for deployment in sorted(evidence.deployments, key=lambda d: d.id):
        sha = deployed[deployment.id]
        deployments.append(
            {
                "id": deployment.id,
                "service": deployment.service,
                "environment": deployment.environment,
                "commit": sha,
                "short_commit": sha[:SHORT],
                "started_at": deployment.started_at,
                "started_at_ns": timestamp_ns(deployment.started_at),
                "finished_at_ns": (
                    timestamp_ns(deployment.finished_at) if deployment.finished_at else None
                ),
                "deployer": deployment.deployer,
                "deployer_identity": resolve(deployment.deployer),
                "approvals": [
                    {"by": a.by, "identity": resolve(a.by), "at_ns": timestamp_ns(a.at)}
                    for a in deployment.approvals
                ],
                "targets": [{"host": t.host, "status": t.status} for t in deployment.targets],
                "on_protected_branch": sha in on_branch,
                "shipped": shipped[deployment.id],
            }
        )
    data = {
        "knightwatch": {
            "params": {"protected_branch": params.protected_branch, "baseline": baseline_sha}
        }
    }
    return Facts(
        input={"deployments": deployments, "commits": commits},
        data=data,
        head=history.head(),
        baseline_sha=baseline_sha,
        shipped_count=len(commits),
    )


def _shipped_ranges(
    history: GitHistory,
    deployments: list[Deployment],
    deployed: dict[str, str],
    baseline: str | None,
) -> dict[str, list[str]]:
    """The commits each deployment shipped, exactly as the contract defines it."""
    streams: dict[tuple[str, str], list[Deployment]] = defaultdict(list)
    for deployment in deployments:
        streams[(deployment.service, deployment.environment)].append(deployment)
    shipped: dict[str, list[str]] = {}
    for stream in streams.values():
        # Ties on started_at are broken by id so that the answer never depends on file order.
        stream.sort(key=lambda d: (timestamp_ns(d.started_at), d.id))
        previous: str | None = None
        for deployment in stream:
            sha = deployed[deployment.id]
            if previous is not None:
                shipped[deployment.id] = history.range(sha, previous)
            elif baseline is not None:
                shipped[deployment.id] = history.range(sha, baseline)
            else:
                shipped[deployment.id] = [sha]
            if any(t.status == "succeeded" for t in deployment.targets):
                previous = sha
    return shipped


def _reviewers(history: GitHistory, evidence: Evidence, shipped: set[str]) -> dict[str, set[str]]:
    """Identities that reviewed each shipped commit, from trailers and review records.

    An approval covers its change's commits. When it names the commit it was given on and
    that commit is one of the change's, it covers that commit and the change's commits
    before it, not ones pushed later. Approvals by the change's own author do not count.
    """
    resolve = evidence.identities.resolve
    found: dict[str, set[str]] = defaultdict(set)
    for sha in shipped:
        for trailer in history.commits[sha].review_trailers:
            found[sha].add(resolve(trailer))
    names: list[str] = [c for r in evidence.reviews for c in r.commits]
    names += [a.commit for r in evidence.reviews for a in r.approvals if a.commit]
    resolved = history.resolve(names)
    for review in evidence.reviews:
        change_commits = {resolved[name] or "" for name in review.commits} - {""}
        if not change_commits & shipped:
            continue
        change_author = resolve(review.author)
        for approval in review.approvals:
            identity = resolve(approval.by)
            if identity == change_author:
                continue
            head = resolved[approval.commit] if approval.commit else None
            if head is not None and head in change_commits:
                covered = history.ancestors_among(head, change_commits)
            else:
                covered = change_commits
            for sha in covered & shipped:
                found[sha].add(identity)
    return found
