"""Review facts: what each deployment shipped, and who reviewed each shipped commit."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.git import GitHistory
from checker.facts.streams import Streams, succeeded_anywhere


def shipped_ranges(
    history: GitHistory, streams: Streams, deployed: dict[str, str], baseline: str | None
) -> tuple[dict[str, list[str]], set[str]]:
    """The commits each deployment shipped, exactly as the contract defines it, and the
    deployments whose range had no start (first of their stream, no baseline): they ship
    their own commit alone, and what came before it was never judged."""
    shipped: dict[str, list[str]] = {}
    unbounded: set[str] = set()
    for stream in streams.by_key.values():
        previous: str | None = None
        for deployment in stream:
            sha = deployed[deployment.id]
            if previous is not None:
                shipped[deployment.id] = history.range(sha, previous)
            elif baseline is not None:
                check_baseline(history, baseline, sha, deployment.id)
                shipped[deployment.id] = history.range(sha, baseline)
            else:
                shipped[deployment.id] = [sha]
                unbounded.add(deployment.id)
            if succeeded_anywhere(deployment):
                previous = sha
    return shipped, unbounded


def check_baseline(history: GitHistory, baseline: str, sha: str, deployment: str) -> None:
    """The baseline starts a stream's first range, so it must lie in that deployment's
    history: a baseline past it (``main`` when an older commit was deployed) would make the
    deployment ship nothing, and nothing would be judged."""
    if not history.is_ancestor(baseline, sha):
        raise InputError(
            f"baseline {baseline[:12]} is not an ancestor of {sha[:12]}, the commit of "
            f"deployment {deployment}, the first of its service and environment: that "
            "deployment would ship nothing",
            path=str(history.root),
            hint="set baseline to a commit the first deployments descend from (a release "
            "tag audited before knightwatch was adopted), or leave it out",
        )


def commit_facts(
    history: GitHistory,
    evidence: Evidence,
    shipped: dict[str, list[str]],
    resolved: dict[str, str | None],
) -> dict[str, Any]:
    """Author, reviewers and shipping deployments of every shipped commit."""
    shipped_by: dict[str, list[str]] = defaultdict(list)
    for deployment_id, shas in shipped.items():
        for sha in shas:
            shipped_by[sha].append(deployment_id)
    reviewers = _reviewers(history, evidence, set(shipped_by), resolved)
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
    return commits


def _reviewers(
    history: GitHistory, evidence: Evidence, shipped: set[str], resolved: dict[str, str | None]
) -> dict[str, set[str]]:
    """Identities that reviewed each shipped commit, from trailers and review records.

    An approval covers its change's commits. When it names the commit it was given on, it
    covers that commit and the change's commits before it, not ones pushed later; when that
    commit is not one of the change's (or not in the repository), what it approved cannot be
    placed, and it covers nothing. Approvals by the change's own author do not count.
    """
    resolve = evidence.identities.resolve
    found: dict[str, set[str]] = defaultdict(set)
    for sha in shipped:
        for trailer in history.commits[sha].review_trailers:
            found[sha].add(resolve(trailer))
    for record in evidence.reviews:
        change_commits = {resolved[name] or "" for name in record.commits} - {""}
        if not change_commits & shipped:
            continue
        change_author = resolve(record.author)
        for approval in record.approvals:
            identity = resolve(approval.by)
            if identity == change_author:
                continue
            if approval.commit is None:
                covered = change_commits
            else:
                head = resolved[approval.commit]
                covered = (
                    history.ancestors_among(head, change_commits)
                    if head is not None and head in change_commits
                    else set()
                )
            for sha in covered & shipped:
                found[sha].add(identity)
    return found
