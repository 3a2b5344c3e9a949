"""Facts for the policies: evidence and git history turned into one plain input document.

Python establishes every fact here (identities, integer timestamps, resolved commits, the
commits each deployment shipped, who reviewed each commit, which observations fall in which
window); Rego only decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.git import GitHistory, ObjectId
from checker.evidence.integrity import check_flag_names
from checker.evidence.models import timestamp_ns
from checker.facts import coverage, deadcode, fleet, review
from checker.facts.coverage import Coverage
from checker.facts.streams import Streams
from checker.gate import CANDIDATE_ID, Gate
from checker.parameters import RuleParameters
from checker.timing import stage
from checker.vocabulary import short


@dataclass(frozen=True)
class Parameters:
    """What one run judges with: the rules' parameters, and the span it judges."""

    rules: RuleParameters
    period: str | None = None
    """``YYYY-MM``: judge only the deployments (and flag events) that started in that month."""
    gate: Gate | None = None
    """A gate judges its candidate deployment alone."""

    @property
    def candidate(self) -> str | None:
        """The id of a gate's candidate deployment, or None."""
        return CANDIDATE_ID if self.gate is not None else None

    @property
    def protected_branch(self) -> str:
        """The rules' protected branch."""
        return self.rules.protected_branch

    @property
    def baseline(self) -> str | None:
        """The baseline as configured (a rev)."""
        return self.rules.baseline


@dataclass(frozen=True)
class Facts:
    """The engine's input and data documents, and counts for the report."""

    input: dict[str, Any]
    data: dict[str, Any]
    head: str
    baseline_sha: str | None
    shipped_count: int
    coverage: dict[str, Coverage]
    """What the judged evidence covers, by the evidence names rules require."""


def _resolve_everything(
    history: GitHistory, evidence: Evidence, params: Parameters
) -> tuple[dict[str, str], str, str | None, dict[str, str | None]]:
    """Every rev the evidence names, in one git call; unresolvable ones are input errors."""
    branch_tip = history.resolve_branch(params.protected_branch)
    if branch_tip is None:
        raise InputError(
            f"protected branch {params.protected_branch!r} not found (as a local branch, as "
            f"origin/{params.protected_branch}, or as a rev)",
            path=str(history.root),
            hint="set protected_branch in knightwatch.yaml or pass --protected-branch",
        )
    named = [d.commit for d in evidence.deployments]
    named += [o.version for o in evidence.observations]
    named += [c for r in evidence.reviews for c in r.commits]
    named += [a.commit for r in evidence.reviews for a in r.approvals if a.commit]
    ids = history.resolve_ids(named)
    _refuse_refs(evidence, ids)
    resolved: dict[str, str | None] = {name: found.sha for name, found in ids.items()}
    baseline_sha = None
    if params.baseline:
        baseline_sha = history.resolve([params.baseline])[params.baseline]
        if baseline_sha is None:
            raise InputError(
                f"baseline {params.baseline!r} does not resolve to a commit",
                path=str(history.root),
                hint="set baseline in knightwatch.yaml (or --baseline) to a sha, tag or branch",
            )
    deployed: dict[str, str] = {}
    for index, deployment in enumerate(evidence.deployments):
        sha = resolved[deployment.commit]
        if sha is None:
            raise evidence.error(
                "deploys",
                index,
                f"deployment {deployment.id}: commit {deployment.commit!r} does not resolve in "
                f"the repository at {history.root}",
                hint="is --repo the repository this service is built from, with full history?",
            )
        deployed[deployment.id] = sha
    for index, observation in enumerate(evidence.observations):
        if resolved[observation.version] is None:
            raise evidence.error(
                "observations",
                index,
                f"observation of {observation.host}: version {observation.version!r} does not "
                f"resolve in the repository at {history.root}",
                hint="versions are compared by commit: record the commit's full sha",
            )
    return deployed, branch_tip, baseline_sha, resolved


def _refuse_refs(evidence: Evidence, ids: dict[str, ObjectId]) -> None:
    """A revision in the evidence that is not an object id is an input error at its record."""
    named: list[tuple[str, int, str, str]] = []
    for index, deployment in enumerate(evidence.deployments):
        named.append(("deploys", index, f"deployment {deployment.id}: commit", deployment.commit))
    for index, observation in enumerate(evidence.observations):
        what = f"observation of {observation.host}: version"
        named.append(("observations", index, what, observation.version))
    for index, record in enumerate(evidence.reviews):
        for name in [*record.commits, *(a.commit for a in record.approvals if a.commit)]:
            named.append(("reviews", index, f"review {record.change}: commit", name))
    for kind, index, what, name in named:
        if ids[name].refused:
            raise evidence.error(kind, index, f"{what} {name!r} {ids[name].refused}")


def collect_facts(history: GitHistory, evidence: Evidence, params: Parameters) -> Facts:
    """Resolve, walk and join everything the rules need, with one git log over the history."""
    streams = Streams(evidence.deployments)
    with stage("git read"):
        deployed, branch_tip, baseline_sha, resolved = _resolve_everything(
            history, evidence, params
        )
        tips = [*deployed.values(), branch_tip, *([baseline_sha] if baseline_sha else [])]
        if params.candidate:
            shipped, on_branch, unbounded = _candidate_history(
                history, evidence, streams, params, deployed, branch_tip, baseline_sha
            )
        else:
            history.load(tips)
        _check_plausible_starts(history, evidence, deployed, params.candidate)
    with stage("facts: review"):
        if not params.candidate:
            on_branch = history.ancestors(branch_tip)
            shipped, unbounded = review.shipped_ranges(history, streams, deployed, baseline_sha)
        commits, identities = review.commit_facts(
            history, evidence, shipped, resolved, params.rules.review_bots
        )

    deployments = []
    for deployment in sorted(evidence.deployments, key=lambda d: d.id):
        sha = deployed[deployment.id]
        deployments.append(
            {
                "id": deployment.id,
                "service": deployment.service,
                "environment": deployment.environment,
                "commit": sha,
                "short_commit": short(sha),
                "started_at": deployment.started_at,
                "started_at_ns": timestamp_ns(deployment.started_at),
                "finished_at": deployment.finished_at,
                "finished_at_ns": (
                    timestamp_ns(deployment.finished_at) if deployment.finished_at else None
                ),
                **review.deployment_identities(identities, deployment),
                "target_status": {
                    t.host: f"{t.status} ({t.reason})" if t.reason else t.status
                    for t in deployment.targets
                },
                "succeeded_hosts": sorted(
                    t.host for t in deployment.targets if t.status == "succeeded"
                ),
                "on_protected_branch": sha in on_branch,
                "shipped": shipped.get(deployment.id, []),
            }
        )
    document: dict[str, Any] = {"deployments": deployments, "commits": commits}
    with stage("facts: fleet"):
        fleet.add_fleet_facts(document, evidence, streams, deployed, resolved)
    keep = _judged(params)
    judged = {d["id"] for d in deployments if keep(d)}
    with stage("facts: dead code"):
        deadcode.add_deadcode_facts(
            document,
            history,
            evidence,
            {i: sha for i, sha in deployed.items() if i in judged},
            tips,
            params.rules.flags_file,
            list(params.rules.reference_exclude),
        )
    bots = review.bot_identities(identities, params.rules.review_bots)
    data = {"knightwatch": {"params": params.rules.rule_data(baseline_sha=baseline_sha, bots=bots)}}
    check_flag_names(evidence, _flag_names(document))
    if params.period or params.candidate:
        events = period_bounds(params.period) if params.period and not params.candidate else None
        _restrict(document, keep, events)
    return Facts(
        input=document,
        data=data,
        head=history.head(),
        baseline_sha=baseline_sha,
        shipped_count=len(document["commits"]),
        coverage=coverage.describe(
            document,
            evidence,
            scope=f" in {params.period}" if params.period and not params.candidate else "",
            registry_file=params.rules.flags_file,
            unbounded=unbounded,
        ),
    )


def _flag_names(document: dict[str, Any]) -> set[str]:
    """Every flag any version of the registry read for this run lists."""
    names = set(document["flag_history"])
    for registry in document["registries"].values():
        names.update(registry["flags"])
    return names


DAY_NS = 86_400 * 1_000_000_000
"""Clock skew allowed between a deploy tool and the machine a commit was made on."""


def _check_plausible_starts(
    history: GitHistory, evidence: Evidence, deployed: dict[str, str], candidate: str | None
) -> None:
    """A deployment cannot start before the commit it deployed was written, nor after now: a
    start outside that range is a typo (2102 for 2012) that would move the deployment out of
    the month it belongs to, or out of order in its stream."""
    now = time.time_ns()
    for index, deployment in enumerate(evidence.deployments):
        if deployment.id == candidate:
            continue  # the gate's: it starts on the as-of date by construction
        start = timestamp_ns(deployment.started_at)
        if start > now + DAY_NS:
            raise evidence.error(
                "deploys",
                index,
                f"deployment {deployment.id}: started_at {deployment.started_at!r} is in the "
                "future",
                hint="a typo in the year? deployments are recorded after they start",
            )
        commit = history.commits.get(deployed[deployment.id])
        if commit is not None and start < commit.author_time * 1_000_000_000 - DAY_NS:
            written = datetime.fromtimestamp(commit.author_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise evidence.error(
                "deploys",
                index,
                f"deployment {deployment.id}: started_at {deployment.started_at!r} is before "
                f"its commit {short(commit.sha)} was written ({written})",
                hint="a typo in the date, or the wrong commit?",
            )


def _candidate_history(
    history: GitHistory,
    evidence: Evidence,
    streams: Streams,
    params: Parameters,
    deployed: dict[str, str],
    branch_tip: str,
    baseline: str | None,
) -> tuple[dict[str, list[str]], set[str], set[str]]:
    """What a gate's candidate ships, whether it is on the protected branch, and whether its
    range had no start, reading only the commits it ships: at the merge gate what it adds to
    the branch, at the deploy gate what it adds to the last deployment of its stream that
    succeeded anywhere (else to the baseline, else the commit alone), exactly as
    ``shipped_ranges`` defines it."""
    candidate = params.candidate or ""
    sha = deployed[candidate]
    boundary: str | None
    if params.gate is not None and params.gate.stage == "merge":
        boundary = branch_tip
    else:
        record = next(d for d in evidence.deployments if d.id == candidate)
        previous = streams.latest_succeeded_before(
            record.service, record.environment, timestamp_ns(record.started_at)
        )
        boundary = deployed[previous.id] if previous is not None else baseline
        if previous is None and baseline is not None:
            review.check_baseline(history, baseline, sha, candidate)
    history.load_between(sha, boundary)
    shipped = sorted(history.ancestors(sha)) if sha in history.commits else []
    on_branch = {sha} if history.is_ancestor(sha, branch_tip) else set()
    return {candidate: shipped}, on_branch, set() if boundary else {candidate}


def _judged(params: Parameters) -> Callable[[dict[str, Any]], bool]:
    """Which deployments this run judges: a gate's candidate, a month's, or all of them."""
    if params.candidate:
        return lambda d: d["id"] == params.candidate
    if params.period:
        start, end = period_bounds(params.period)
        return lambda d: start <= d["started_at_ns"] < end
    return lambda d: True


def period_bounds(period: str) -> tuple[int, int]:
    """Nanoseconds at the start of the month ``YYYY-MM`` (UTC) and of the month after it."""
    year, month = (int(part) for part in period.split("-"))
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return (
        timestamp_ns(f"{year:04d}-{month:02d}-01T00:00:00Z"),
        timestamp_ns(f"{following}-01T00:00:00Z"),
    )


def _restrict(
    document: dict[str, Any],
    keep: Callable[[dict[str, Any]], bool],
    events: tuple[int, int] | None,
) -> None:
    """Keep the deployments judged (a month's, or a gate's candidate) and what they shipped;
    keep flag events within ``events`` (none without it). Ranges, windows and each flag event's
    last deployment were computed over all deployments first, so the first deployment kept
    still ships exactly what it shipped."""
    kept = [d for d in document["deployments"] if keep(d)]
    ids = {d["id"] for d in kept}
    commits = {}
    for sha, commit in document["commits"].items():
        shipped_by = [i for i in commit["shipped_by"] if i in ids]
        if shipped_by:
            commits[sha] = {**commit, "shipped_by": shipped_by}
    document["deployments"] = kept
    document["commits"] = commits
    start, end = events or (0, 0)
    document["flag_events"] = [e for e in document["flag_events"] if start <= e["at_ns"] < end]
