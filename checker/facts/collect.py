"""Collect the facts of one run: each area's module returns its part (``revisions``,
``review``, ``fleet``, ``deadcode``), and ``assemble`` builds the input document
(``document.InputDocument``) once from them; nothing changes it afterwards."""

from __future__ import annotations

import bisect
import hashlib
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from checker.cache import NO_CACHE, FactCache
from checker.errors import InputError, InternalError
from checker.evidence.bundle import Evidence
from checker.evidence.flagnames import flag_key
from checker.evidence.git import BranchTip, GitHistory
from checker.evidence.identities import IdentityResolver, visible
from checker.evidence.integrity import check_flag_names
from checker.evidence.models import Deployment as DeploymentRecord
from checker.evidence.models import timestamp_ns
from checker.facts import coverage, deadcode, fleet, review
from checker.facts.codewriters import code_writers
from checker.facts.coverage import Coverage
from checker.facts.deadcode import DeadCodeFacts
from checker.facts.document import (
    CarriedWindow,
    Commit,
    Deployment,
    DeploymentSummary,
    FlagEvent,
    InputDocument,
    Observation,
    Reference,
)
from checker.facts.fleet import FleetFacts
from checker.facts.population import Deployed
from checker.facts.revisions import (
    Revisions,
    check_plausible_times,
    check_switched_after_created,
    resolve_revisions,
)
from checker.facts.scopes import check_globs_match, narrow_ranges
from checker.facts.streams import Streams
from checker.gate import CANDIDATE_ID, Gate
from checker.parameters import NS_PER_SECOND, RuleParameters
from checker.paths import PathScope, path_scopes
from checker.timing import stage
from checker.vocabulary import short


@dataclass(frozen=True)
class Attested:
    """The month before a monthly audit's, as the signed attestation it is chained to
    (``--previous``) judged it: a deployment of that month recorded since, or changed since,
    was judged by no audit, and this one judges it."""

    period: str
    deployments: Mapping[str, tuple[str, str, str, str]] | None
    """Each deployment the attestation judged: (service, environment, commit, started_at), by
    id. None in a replay, which judges ``late`` as the report it replays recorded it."""
    late: frozenset[str] = frozenset()
    earlier: tuple[int, str] | None = None
    """The attestation's count and digest of the records that started before ``period``."""
    head: str | None = None
    """The repository HEAD the attestation recorded: a commit this repository holds."""


@dataclass(frozen=True)
class Parameters:
    """What one run judges with: the rules' parameters, and the span it judges."""

    rules: RuleParameters
    period: str | None = None
    """``YYYY-MM``: judge only the deployments (and flag events) that started in that month."""
    gate: Gate | None = None
    """A gate judges its candidate deployment alone."""
    attested: Attested | None = None
    """A monthly audit chained to the month before: what that month's attestation judged."""
    as_of: date | None = None
    """The run's as-of date (None: today, UTC): a gate judges its candidate as of its end."""

    @property
    def candidate(self) -> str | None:
        """The id of a gate's candidate deployment, or None."""
        return CANDIDATE_ID if self.gate is not None else None

    def gate_moment(self) -> tuple[str, tuple[int, str]] | None:
        """A gate's candidate: its id, and from when an approval has not yet been given for
        it (``Gate.moment``, now read off the clock); None for other runs."""
        if self.gate is None:
            return None
        as_of = self.as_of or datetime.now(UTC).date()
        return CANDIDATE_ID, self.gate.moment(as_of, time.time_ns())

    @cached_property
    def scopes(self) -> dict[str, PathScope]:
        """The path-scoped services' scopes, by service name."""
        return path_scopes(self.rules.service_paths)

    @property
    def monthly(self) -> bool:
        """A month's audit (a gate ignores the month)."""
        return self.period is not None and self.gate is None


@dataclass(frozen=True)
class Facts:
    """The engine's input document, the policies' parameters, and counts for the report."""

    input: InputDocument
    params: dict[str, Any]
    """``data.knightwatch.params``."""
    head: str
    baseline_sha: str | None
    shipped_count: int
    coverage: dict[str, Coverage]
    """What the judged evidence covers, by the evidence names rules require."""
    branch: BranchTip | None = None
    """The protected branch REVIEW-003 was judged against: the ref read, and its tip."""
    population: tuple[Deployed, ...] = ()
    """Every deployment judged, with the commits it shipped: the audit's population."""
    earlier: tuple[int, str] | None = None
    """A month's audit: the records that started before its month (``earlier_records``)."""
    coauthors: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """The co-authors of each shipped commit that names any (``review.coauthor_keys``)."""
    identities: IdentityResolver | None = None
    """The identities the rules judged by: identities.yaml with ``.mailmap`` merged in (None:
    identities.yaml alone)."""
    registry_writers: RegistryWriters = field(default_factory=lambda: RegistryWriters())
    """Who wrote the registry versions findings are about."""
    code_writers: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """By (rule, subject) of each DEAD-001, DEAD-004 and DEAD-005 finding a waiver could
    cover, who wrote or changed the files it names (``codewriters.code_writers``)."""
    off_branch: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By deployment REVIEW-003 may name (its commit not on the protected branch), who wrote
    the commits it shipped off the branch (``_off_branch_writers``)."""


@dataclass(frozen=True)
class Shipped:
    """What each deployment shipped, which deployed commits are on the protected branch, and
    where each range starts (``None``: no start, first of its stream and no baseline)."""

    ranges: dict[str, list[str]]
    on_branch: set[str]
    starts: dict[str, str | None]

    @property
    def unbounded(self) -> set[str]:
        """The deployments whose range had no start: they ship their own commit alone."""
        return {i for i, start in self.starts.items() if start is None}

    def keys(
        self, judged: list[str], deployed: dict[str, str], scoped: dict[str, PathScope]
    ) -> dict[str, str]:
        """Each judged deployment's ``shipped_range``: the range in git's notation, and the
        service whose paths narrowed it; ``none`` for a deployment with no range."""
        keys = {}
        for i in judged:
            if i not in self.ranges:
                keys[i] = "none"
                continue
            start = self.starts.get(i)
            key = f"{start}..{deployed[i]}" if start else deployed[i]
            keys[i] = f"{key} in {scoped[i].service}" if i in scoped else key
        return keys

    def table(self, keys: dict[str, str]) -> dict[str, list[str]]:
        """``shipped_ranges``: each distinct range once. Equal keys name equal ranges, by how
        they are made; a difference would be a defect, and is never passed over."""
        table: dict[str, list[str]] = {}
        for i, key in sorted(keys.items()):
            commits = self.ranges.get(i, [])
            if table.setdefault(key, commits) is not commits and table[key] != commits:
                raise InternalError(f"shipped range {key} differs between deployments")
        return table


def collect_facts(
    history: GitHistory, evidence: Evidence, params: Parameters, cache: FactCache = NO_CACHE
) -> Facts:
    """Resolve, walk and join everything the rules need, with one git log over the history;
    facts of git objects alone come from ``cache`` where it holds them."""
    streams = Streams(evidence.deployments)
    with stage("git read"):
        revisions = resolve_revisions(history, evidence, params.rules)
        candidate = _read_history(history, evidence, streams, params, (revisions, cache))
    with stage("facts: review"):
        shipped = whole = candidate or _shipped(history, streams, revisions)
        shipped, scoped = _narrowed(history, evidence, shipped, params.scopes, revisions)
        lines = (params.rules.review_bots, params.rules.review_lines)
        commits, identities, coauthors = review.commit_facts(history, evidence, shipped.ranges,
            revisions.resolved, lines, cache, params.gate_moment())  # fmt: skip
    records, hosts, judged = _fleet(history, evidence, streams, revisions, params)
    given = (judged, scoped, hosts, streams)
    code, hosts = _dead_code(history, evidence, params, revisions, given, cache)
    keys, sets = shipped.keys(judged, revisions.deployed, scoped), ReferenceSets()
    written = _written(history, revisions.deployed, shipped.ranges, keys)
    deployments = [deployment_facts(records[i], (revisions.deployed[i], written[i]), identities,
        (shipped, keys[i]), hosts, code, sets) for i in judged]  # fmt: skip
    document = assemble(
        deployments, (commits, shipped.table(keys)), hosts, (code, sets), _flag_span(params)
    )
    document = _carried(document, (records, revisions.deployed), hosts, judged, params)
    _wait_for_hashes(history)
    return Facts(
        input=document,
        params=_rule_data(params, revisions, identities),
        head=history.head(),
        branch=revisions.branch,
        baseline_sha=revisions.baseline,
        shipped_count=len(document["commits"]),
        coverage=_coverage(document, evidence, params, (shipped, code, hosts), judged),
        population=tuple(_deployed(records[i], revisions.deployed[i], shipped) for i in judged),
        earlier=_earlier(evidence, records, judged, params),
        coauthors=coauthors,
        identities=identities,
        registry_writers=_registry_writers(history, code, identities),
        code_writers=code_writers(
            history, evidence.waivers, document, identities, (code, _merging(params, revisions))
        ),
        off_branch=_off_branch_writers(history, evidence, (whole, revisions), judged, identities),
    )


def _off_branch_writers(
    history: GitHistory,
    evidence: Evidence,
    shipped: tuple[Shipped, Revisions],
    judged: list[str],
    identities: IdentityResolver,
) -> dict[str, frozenset[str]]:
    """By each judged deployment whose commit is not on the protected branch (a REVIEW-003
    finding), who wrote what it shipped off the branch: the author, committer and co-authors
    of each commit of its history the branch does not hold (``git rev-list SHA ^BRANCH``), as
    ``review.commit_writers`` reads them. Their waiver of its finding is their own exception:
    the commits skipped the branch's review and merge controls. Read only where a waiver of
    REVIEW-003 could cover it. Not its range alone: a commit an earlier deployment shipped
    first (in another period, or another environment) is still off the branch in this one,
    and its writer's waiver of this deployment's finding passed the audit (exit 0)."""
    if not any(w.rule == "REVIEW-003" for w in evidence.waivers):
        return {}
    found, revisions = shipped
    off: dict[str, set[str]] = {}
    for i in judged:
        sha = revisions.deployed[i]
        if sha in found.on_branch:
            continue
        off[i] = {sha, *history.beyond(sha, revisions.branch_tip)}
    writers = review.commit_writers(history, identities, set().union(*off.values()), True)
    return {i: frozenset().union(*(writers.get(c, ()) for c in shas)) for i, shas in off.items()}


def _read_history(
    history: GitHistory,
    evidence: Evidence,
    streams: Streams,
    params: Parameters,
    read: tuple[Revisions, FactCache],
) -> Shipped | None:
    """Load the history the run reads (``read``: its revisions, and the cache), while git
    walks the registry's history: at a gate, what its candidate ships, which is returned;
    else everything behind the run's tips (None: ``_shipped`` joins the ranges)."""
    revisions, cache = read
    deadcode.begin_registry_walk(history, params.rules.flags_file, revisions.tips, cache)
    shipped = None
    if params.gate is not None:
        shipped = _candidate_history(history, evidence, streams, params.gate, revisions)
    else:
        history.load(revisions.tips)
    check_plausible_times(history, evidence, revisions, params.candidate)
    return shipped


@dataclass(frozen=True)
class RegistryWriters:
    """Who wrote the registry's versions that findings are about (``review.commit_writers``):
    a waiver of such a finding is not theirs to approve."""

    repurposed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By flag DEAD-002 names: each version that changed its purpose (back to an earlier one
    too), and the one where it is active again after it was retired (at a merge gate, the
    candidate)."""
    postponed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By flag DEAD-003 may name: each version that moved its ``remove_by`` later, or dropped
    it, after an earlier version gave one (``Deadline.moved_at``)."""
    unreadable: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By commit DEAD-006 names, shipped or not."""
    owners: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By flag key, every ``owner`` the registry gave the flag since it was first given a
    ``remove_by`` (``DeadCodeFacts.dated_owners``), as written."""


def _registry_writers(
    history: GitHistory, code: DeadCodeFacts, identities: IdentityResolver
) -> RegistryWriters:
    """``RegistryWriters`` of the registry's history read for this run."""
    repurposed: dict[str, set[str]] = defaultdict(set)
    for name, record in code.flag_history.items():
        changes = record.get("changes", record["purposes"][1:])
        repurposed[name] |= {purpose["commit"] for purpose in changes}
        if "revived" in record:
            repurposed[name].add(record["revived"]["active"])
        repurposed[name] |= {again["active"] for again in record.get("revived_again", [])}
    postponed: dict[str, set[str]] = defaultdict(set)
    for deadlines in code.deadlines.values():
        for name, deadline in deadlines.items():
            moved = deadline["moved_at"]
            postponed[name] |= {moved} if moved is not None else set()
            if "renamed_from" in deadline:  # and each commit that renamed some of its reads
                postponed[name] |= code.renamed_by.get(flag_key(name), frozenset())
    unreadable = {error["commit"]: {error["commit"]} for error in code.registry_errors}
    every = set().union(*repurposed.values(), *postponed.values(), unreadable)
    writers = review.commit_writers(history, identities, every)

    def of(found: dict[str, set[str]]) -> dict[str, frozenset[str]]:
        return {k: frozenset().union(*map(writers.__getitem__, v)) for k, v in found.items() if v}

    return RegistryWriters(of(repurposed), of(postponed), of(unreadable), code.dated_owners)


def _rule_data(
    params: Parameters, revisions: Revisions, identities: IdentityResolver
) -> dict[str, Any]:
    """``data.knightwatch.params``: the rules' settings, the baseline, and the review bots."""
    bots = review.bot_identities(identities, params.rules.review_bots)
    return params.rules.rule_data(baseline_sha=revisions.baseline, bots=bots)


def _fleet(
    history: GitHistory,
    evidence: Evidence,
    streams: Streams,
    revisions: Revisions,
    params: Parameters,
) -> tuple[dict[str, DeploymentRecord], FleetFacts, list[str]]:
    """The deployments by id, the fleet's facts, and the ids of the deployments judged."""
    records = {d.id: d for d in evidence.deployments}
    with stage("facts: fleet"):
        summaries = {i: _summary(records[i], sha) for i, sha in revisions.deployed.items()}
        hosts = fleet.fleet_facts(
            evidence,
            streams,
            revisions.resolved,
            summaries,
            revisions.deployed,
            history.is_ancestor,
            params.rules.observation_grace_seconds * NS_PER_SECOND,
        )
    return records, hosts, _judged(evidence, params, records, revisions.deployed)


def _carried(
    document: InputDocument,
    deployments: tuple[dict[str, DeploymentRecord], dict[str, str]],
    hosts: FleetFacts,
    judged: list[str],
    params: Parameters,
) -> InputDocument:
    """``document`` with the windows of deployments of other months that hold observations
    made in the audit's month, with those alone (``carried_windows``): a host that drifts back
    in the month after its deployment's is judged by this month's audit (the month of the
    deployment was attested before they were made). Only a monthly audit carries any."""
    if not params.monthly or params.period is None:
        return document
    records, deployed = deployments
    start, end = period_bounds(params.period)
    judging = set(judged)
    carried = []
    for i, observed in sorted(hosts.windows.items()):
        record = records[i]
        if i in judging:  # one without finished_at has a window where targets give a finish
            continue
        within = {
            host: kept
            for host, observations in observed.items()
            if (kept := [o for o in observations if start <= o["observed_at_ns"] < end])
        }
        if not within:
            continue
        carried.append(_carried_window(record, deployed[i], within, hosts))
    return {**document, "carried_windows": carried} if carried else document


def _carried_window(
    record: DeploymentRecord,
    sha: str,
    within: dict[str, list[Observation]],
    hosts: FleetFacts,
) -> CarriedWindow:
    """The window of ``record`` (deployed ``sha``) that holds ``within``, observations made
    in an audit's month."""
    i = record.id
    starts = hosts.window_starts.get(i, {})
    finished = timestamp_ns(record.finished_at) if record.finished_at else min(starts.values())
    window = CarriedWindow(
        id=i,
        service=record.service,
        environment=record.environment,
        commit=sha,
        short_commit=short(sha),
        started_at=record.started_at,
        started_at_ns=timestamp_ns(record.started_at),
        finished_at_ns=finished,
        window_observations=within,
        window_starts={host: starts[host] for host in within if host in starts},
    )
    words = {h: said for h, said in hosts.judged.get(i, {}).items() if h in within}
    return {**window, "window_judged": words} if words else window


def _unwindowed(hosts: FleetFacts, judged: list[str], params: Parameters) -> list[str]:
    """A monthly audit: the ids, sorted, of the deployments it does not judge that give no
    ``finished_at`` and whose service was observed in the month after them. They have no
    window to carry into the month (``_carried``), so those observations were judged by no
    rule: FLEET-002 is then judged on part of its evidence, and says which deployments."""
    if not params.monthly or params.period is None:
        return []
    start, end = period_bounds(params.period)
    judging = set(judged)
    return sorted(
        i
        for i, times in hosts.unwindowed.items()
        if i not in judging and bisect.bisect_left(times, start) < bisect.bisect_left(times, end)
    )


def _wait_for_hashes(history: GitHistory) -> None:
    """Every commit git walked hashed, on its thread (``checker.evidence.objectcheck``): no
    facts leave without it. What is left of that wait counts as reading git."""
    with stage("git read"):
        history.checked()


def _running(event: FlagEvent, known: tuple[dict[str, str], Streams]) -> dict[str, str]:
    """The code running where a flag was switched on, by commit, as messages show it: the
    commit of its stream's last deployment before it, of each that started in that same
    instant (its rollout may have reached a host already), and each commit its service's
    hosts were last observed running (``known``: every deployment's commit, and the streams)."""
    deployed, streams = known
    stream = (event["service"], event["environment"], event["at_ns"])
    last = streams.latest_succeeded_before(*stream)
    ids = [last.id] if last is not None else []
    ids += [d.id for d in streams.succeeded_starting_at(*stream)]
    said: dict[str, list[str]] = {}
    for deployment in reversed(ids):  # the latest named first
        said.setdefault(deployed[deployment], []).append(f"deployment {deployment}")
    for commit, hosts in event["observed_by_version"].items():
        said.setdefault(commit, []).append(f"observed on {', '.join(sorted(hosts))}")
    return {commit: f"{short(commit)} ({', '.join(parts)})" for commit, parts in said.items()}


def _retired_in(
    hosts: FleetFacts, code: deadcode.DeadCodeFacts, running: list[dict[str, str]]
) -> list[FlagEvent]:
    """Each flag event with ``retired_in`` and ``unreadable_in``: for one that switched a flag
    on, the code running there (``running``: by event, ``_running``'s, empty for the others)
    whose registry has it retired, and that whose registry cannot be read (DEAD-007)."""
    out = []
    for event, there in zip(hosts.flag_events, running, strict=True):
        key = flag_key(event["flag"])
        retired = [s for commit, s in there.items() if key in code.retired_running.get(commit, ())]
        unreadable = [
            f"{s}: {code.unreadable_running[commit]}"
            for commit, s in there.items()
            if commit in code.unreadable_running
        ]
        out.append(
            FlagEvent(
                **{**event, "retired_in": sorted(retired), "unreadable_in": sorted(unreadable)}
            )
        )
    return out


def _dead_code(
    history: GitHistory,
    evidence: Evidence,
    params: Parameters,
    revisions: Revisions,
    deployments: tuple[list[str], dict[str, PathScope], FleetFacts, Streams],
    cache: FactCache,
) -> tuple[deadcode.DeadCodeFacts, FleetFacts]:
    """The dead-code facts of the judged deployments' commits (scoped ones: their paths'), and
    the fleet's facts with each flag event's ``retired_in`` (the registries of the code
    running where it was switched on); a flag event naming a flag spelt like a registered one
    is an input error."""
    judged, scoped, hosts, streams = deployments
    known = (revisions.deployed, streams)
    # DEAD-007 judges flags switched on, never a gate's candidate: a gate reads no running code.
    by_event = [
        _running(e, known) if e["enabled"] and params.gate is None else {}
        for e in hosts.flag_events
    ]
    running = {commit for there in by_event for commit in there}
    with stage("facts: dead code"):
        code = deadcode.deadcode_facts(
            history,
            evidence,
            {i: revisions.deployed[i] for i in judged},
            revisions.tips,
            params.rules.flags_file,
            list(params.rules.reference_exclude),
            {i: scoped[i] for i in judged if i in scoped},
            cache,
            running,
            _merging(params, revisions),
        )
    check_flag_names(evidence, code.flag_names)
    check_switched_after_created(evidence, code.created)
    return code, replace(hosts, flag_events=_retired_in(hosts, code, by_event))


def _merging(params: Parameters, revisions: Revisions) -> tuple[str, str] | None:
    """At the merge gate, the candidate and the protected branch's tip it would merge onto:
    what the branch retired since the candidate branched off applies to it
    (``checker.facts.onto``)."""
    if params.gate is None or params.gate.stage != "merge":
        return None
    return revisions.deployed[CANDIDATE_ID], revisions.branch_tip


def _deployed(record: DeploymentRecord, sha: str, shipped: Shipped) -> Deployed:
    return Deployed(
        id=record.id,
        service=record.service,
        environment=record.environment,
        commit=sha,
        ref=record.ref,
        started_at=record.started_at,
        start=shipped.starts.get(record.id),
        commits=tuple(sorted(shipped.ranges.get(record.id, []))),
    )


def _coverage(
    document: InputDocument,
    evidence: Evidence,
    params: Parameters,
    facts: tuple[Shipped, deadcode.DeadCodeFacts, FleetFacts],
    judged: list[str],
) -> dict[str, Coverage]:
    """What the judged evidence covers."""
    shipped, code, hosts = facts
    unsearched = {}  # by deployment: the Git LFS pointers among the files its search read
    encrypted = {}  # and the files git-crypt encrypted
    in_part = {}  # and the compressed files not searched whole, by reason
    for d in document["deployments"]:
        at = code.at_deployment.get(d["id"]) or code.at_commit[d["commit"]]
        if at.lfs_pointers is not None:
            unsearched[d["id"]] = at.lfs_pointers
        if at.encrypted is not None:
            encrypted[d["id"]] = at.encrypted
        if at.unpacked_in_part:
            in_part[d["id"]] = at.unpacked_in_part
    return coverage.describe(
        document,
        evidence,
        scope=f" in {params.period}" if params.monthly else "",
        registry_file=params.rules.flags_file,
        unbounded=shipped.unbounded,
        unwindowed=_unwindowed(hosts, judged, params),
        unjudged={i: hosts.unjudged[i] for i in judged if i in hosts.unjudged},
        unsearched=unsearched,
        encrypted=encrypted,
        unpacked_in_part=in_part,
        grace_ns=params.rules.observation_grace_seconds * NS_PER_SECOND,
    )


def _shipped(history: GitHistory, streams: Streams, revisions: Revisions) -> Shipped:
    ranges, starts = review.shipped_ranges(history, streams, revisions.deployed, revisions.baseline)
    return Shipped(ranges, history.ancestors(revisions.branch_tip), starts)


def _narrowed(
    history: GitHistory,
    evidence: Evidence,
    shipped: Shipped,
    scopes: dict[str, PathScope],
    revisions: Revisions,
) -> tuple[Shipped, dict[str, PathScope]]:
    """``shipped`` with each deployment of a path-scoped service shipping only the commits
    that changed its files, after every glob was found to match a file; and the scope of
    each such deployment, by id."""
    scoped = {d.id: scopes[d.service] for d in evidence.deployments if d.service in scopes}
    if not scopes:
        return shipped, scoped
    deployed: dict[str, set[str]] = {}
    for d in evidence.deployments:
        if d.service in scopes and d.id in revisions.deployed:
            deployed.setdefault(d.service, set()).add(revisions.deployed[d.id])
    check_globs_match(history, scopes, deployed)
    return replace(shipped, ranges=narrow_ranges(history, shipped.ranges, scoped)), scoped


def _summary(record: DeploymentRecord, sha: str) -> DeploymentSummary:
    """What a flag event needs of a deployment, copied in: it may lie outside an audit period."""
    return DeploymentSummary(
        id=record.id,
        service=record.service,
        environment=record.environment,
        short_commit=short(sha),
        succeeded_everywhere=False,
        succeeded_hosts=_succeeded(record),
        target_status=_target_status(record),
        dropped_targets={},  # the fleet's part: ``fleet.fleet_facts``
    )


def _succeeded(record: DeploymentRecord) -> list[str]:
    return sorted(t.host for t in record.targets if t.status == "succeeded")


def _target_status(record: DeploymentRecord) -> dict[str, str]:
    return {t.host: f"{t.status} ({t.reason})" if t.reason else t.status for t in record.targets}


def _targets(record: DeploymentRecord, hosts: FleetFacts) -> tuple[bool, list[str], dict[str, str]]:
    """A judged deployment's ``succeeded_everywhere``, ``succeeded_hosts`` and
    ``target_status``: where every host fleet.yaml lists for its service and every target the
    deployment names succeeded, and it dropped no target of the deployment before it, only
    the targets it does not list (FLEET-004's) are kept. A target the record itself names as
    skipped or failed is a host it did not reach, listed or not (Knight's eighth server, left
    out of the inventory): it is never summarised away. Nor is a target it says succeeded that
    nothing shows it reached (``fleet.unreached``): it counts as not succeeded, with why."""
    listed = (hosts.fleet or {}).get(record.service)
    dropped = hosts.dropped.get(record.id, {})
    unreached = hosts.unreached.get(record.id, {})
    succeeded = [host for host in _succeeded(record) if host not in unreached]
    status = {**_target_status(record), **unreached}
    inventory = set(listed or ())
    if not inventory or dropped or not inventory.union(status.keys()).issubset(succeeded):
        return False, succeeded, status
    return True, [], {host: s for host, s in status.items() if host not in inventory}


def _written(
    history: GitHistory,
    deployed: Mapping[str, str],
    ranges: Mapping[str, list[str]],
    keys: Mapping[str, str],
) -> dict[str, int | None]:
    """When each judged deployment's commit (``keys``: the judged deployments' range keys) was
    written, in seconds, where the history read holds it: the latest author or committer time
    of it and of the commits it ships. An approval of a deployment is not older than its
    commit, and the commit is not older than any of these: ``git commit --amend``, a rebase or
    a cherry-pick keeps an old author time on new code, and a commit dated before a commit it
    holds was dated by hand. Each distinct range is read once (equal keys name equal ranges):
    twenty services shipping the same 200 commits read them once, not twenty times."""
    commits = history.commits
    latest: dict[tuple[str, str], int] = {}
    written: dict[str, int | None] = {}
    for i, key in keys.items():
        if deployed[i] not in commits:
            written[i] = None
            continue
        read = (key, deployed[i])  # "none", a deployment without a range, is no one range
        if read not in latest:
            latest[read] = max(
                (
                    max(commit.author_time, commit.committer_time)
                    for sha in (deployed[i], *ranges.get(i, ()))
                    if (commit := commits.get(sha)) is not None
                ),
            )
        written[i] = latest[read]
    return written


def deployment_facts(
    record: DeploymentRecord,
    commit: tuple[str, int | None],
    identities: IdentityResolver,
    shipped: tuple[Shipped, str],
    hosts: FleetFacts,
    code: DeadCodeFacts,
    sets: ReferenceSets,
) -> Deployment:
    """One judged deployment, from its record and each area's facts about it (``commit``: its
    sha, and when it was written, if known; ``shipped``: every range, and the key of its own)."""
    sha, written = commit
    deployer = identities.identify(record.deployer)
    dropped = hosts.dropped.get(record.id, {})
    everywhere, succeeded, status = _targets(record, hosts)
    at_commit = code.at_deployment.get(record.id) or code.at_commit[sha]
    deployment = Deployment(
        id=record.id,
        service=record.service,
        environment=record.environment,
        commit=sha,
        short_commit=short(sha),
        started_at=record.started_at,
        started_at_ns=timestamp_ns(record.started_at),
        finished_at=record.finished_at,
        finished_at_ns=timestamp_ns(record.finished_at) if record.finished_at else None,
        deployer=visible(record.deployer),
        deployer_identity=deployer.identity,
        deployer_unresolved=deployer.unresolved,
        approvals=review.approvals(identities, record, written),
        succeeded_everywhere=everywhere,
        target_status=status,
        succeeded_hosts=succeeded,
        dropped_targets=dropped,
        on_protected_branch=sha in shipped[0].on_branch,
        shipped_range=shipped[1],
        window_observations=hosts.windows.get(record.id, {}),
        window_starts=hosts.window_starts.get(record.id, {}),
        registry=at_commit.registry,
        reference_set=sets.key(at_commit.references),
        retired_code=at_commit.retired_code,
    )
    if record.id in hosts.judged:
        deployment = {**deployment, "window_judged": hosts.judged[record.id]}
    deadlines = code.deadlines.get(sha)
    if deadlines:
        deployment = {**deployment, "earlier_remove_by": deadlines}
    if _names_something(record.change_ticket):
        return {**deployment, "change_ticket": visible(record.change_ticket or "")}
    return deployment


def _names_something(text: str | None) -> bool:
    """Whether ``text`` holds a visible character: a ticket of white space, format or control
    characters, combining marks alone, private-use characters or the letters and symbols that
    draw nothing (Hangul fillers, the blank Braille pattern) is no ticket (``not
    d.change_ticket`` must hold for it). A character newer than Python's Unicode database
    (unassigned to it) counts as visible."""
    return any(
        unicodedata.category(c) not in _BLANK_CATEGORIES and c not in _BLANK_CHARACTERS
        for c in text or ""
    )


_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Mn", "Mc", "Me"})
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


class ReferenceSets:
    """``reference_sets``: each distinct map of references once, keyed ``refs-N`` in order of
    first use. References are shared records (one object per distinct reference), so two
    maps are equal exactly when they name the same objects for the same flags."""

    def __init__(self) -> None:
        self.table: dict[str, dict[str, Reference]] = {}
        self._keys: dict[tuple[tuple[str, int], ...], str] = {}
        self._held: list[dict[str, Reference]] = []
        """Every map keyed, kept alive: an identity is only unique while its object lives."""

    def key(self, references: dict[str, Reference]) -> str:
        """The key of ``references``, added to the table if it is new."""
        identity = tuple((name, id(reference)) for name, reference in sorted(references.items()))
        key = self._keys.get(identity)
        if key is None:
            key = self._keys[identity] = f"refs-{len(self._keys) + 1}"
            self.table[key] = references
        self._held.append(references)
        return key


def assemble(
    deployments: list[Deployment],
    shipped: tuple[dict[str, Commit], dict[str, list[str]]],
    hosts: FleetFacts,
    dead_code: tuple[DeadCodeFacts, ReferenceSets],
    flag_span: tuple[int, int] | None,
) -> InputDocument:
    """The input document, from the judged deployments (sorted by id) and each area's part.

    Ranges, windows and each flag event's last deployment were computed over all deployments
    first, so that the first deployment judged still ships exactly what it shipped. Of the
    commits, those the judged deployments shipped (``shipped``: the commits, and the judged
    deployments' ranges); of the flag events, those within ``flag_span`` (every one when it
    is None)."""
    commits, ranges = shipped
    code, sets = dead_code
    by_range: dict[str, list[str]] = {}
    for deployment in deployments:  # sorted by id
        by_range.setdefault(deployment["shipped_range"], []).append(deployment["id"])
    document = InputDocument(
        deployments=deployments,
        commits=_shipped_in(commits, ranges),
        shipped_ranges=ranges,
        range_deployments=by_range,
        reference_sets=sets.table,
        flag_events=_within(hosts.flag_events, flag_span),
        registries=code.registries,
        flag_history=code.flag_history,
        retired_in_history=code.retired_in_history,
        registry_errors=code.registry_errors,
    )
    if hosts.fleet is None or hosts.clusters is None:
        return document
    return {**document, "fleet": hosts.fleet, "clusters": hosts.clusters}


def _shipped_in(commits: dict[str, Commit], ranges: dict[str, list[str]]) -> dict[str, Commit]:
    """The commits the judged deployments shipped (``ranges``: theirs, by key), each naming
    the ranges that hold it."""
    holding: dict[str, list[str]] = {}
    for key in sorted(ranges):
        for sha in ranges[key]:
            holding.setdefault(sha, []).append(key)
    return {sha: {**commits[sha], "shipped_in": holding[sha]} for sha in sorted(holding)}


def _within(events: list[FlagEvent], span: tuple[int, int] | None) -> list[FlagEvent]:
    if span is None:
        return events
    start, end = span
    return [e for e in events if start <= e["at_ns"] < end]


def _flag_span(params: Parameters) -> tuple[int, int] | None:
    """The flag events a run judges: a month's, none at a gate, or all of them (None)."""
    if params.gate is not None:
        return (0, 0)
    return period_bounds(params.period) if params.period else None


def _judged(
    evidence: Evidence,
    params: Parameters,
    records: dict[str, DeploymentRecord],
    deployed: dict[str, str],
) -> list[str]:
    """The ids of the deployments this run judges, sorted."""
    judge = _judge(params, _late(evidence, params, records, deployed))
    return sorted(i for i in records if judge(records[i]))


def _judge(params: Parameters, late: frozenset[str]) -> Callable[[DeploymentRecord], bool]:
    """Which deployments this run judges: a gate's candidate, a month's (and those of the
    month before that its attestation did not judge as they stand: ``late``), or all."""
    if params.gate is not None:
        return lambda d: d.id == CANDIDATE_ID
    if params.period:
        start, end = period_bounds(params.period)
        return lambda d: start <= timestamp_ns(d.started_at) < end or d.id in late
    return lambda d: True


def _earlier(
    evidence: Evidence,
    records: dict[str, DeploymentRecord],
    judged: list[str],
    params: Parameters,
) -> tuple[int, str] | None:
    """A month's audit: what the next month's audit chained to it must find unchanged
    (``earlier_records``); None for other runs."""
    if not params.monthly or params.period is None:
        return None
    return earlier_records(evidence, records, set(judged), period_bounds(params.period))


def earlier_records(
    evidence: Evidence,
    records: dict[str, DeploymentRecord],
    judged: Collection[str],
    month: tuple[int, int],
) -> tuple[int, str]:
    """How many records a month's attestation rests on, and the sha256 of a line for each,
    sorted (a kind, a tab, the record's JSON): every deployment that started before the month
    or that it judged, and every observation and flag event made before the month's end. A
    record changed since (a target's status, an approval, a late observation of an attested
    window) would otherwise be judged by no audit; a deployment of the month that it did not
    judge (recorded since) is the next audit's to judge, and not in it."""
    start, end = month
    lines = [
        f"deployment\t{r.model_dump_json()}\n"
        for i, r in records.items()
        if i in judged or timestamp_ns(r.started_at) < start
    ]
    lines += [
        f"observation\t{o.model_dump_json()}\n"
        for o in evidence.observations
        if timestamp_ns(o.observed_at) < end
    ]
    lines += [
        f"flag event\t{e.model_dump_json()}\n"
        for e in evidence.flag_events
        if timestamp_ns(e.at) < end
    ]
    lines.sort()
    return len(lines), hashlib.sha256("".join(lines).encode()).hexdigest()


def check_same_repository(history: GitHistory, attested: Attested | None) -> None:
    """The attestation a monthly audit is chained to was made of this repository: its HEAD
    is a commit here. Another repository's month, with no records to compare, would
    otherwise stand in for a month of this one that was never attested."""
    if attested is None or attested.head is None:
        return
    if history.resolve([attested.head]).get(attested.head) is None:
        raise InputError(
            f"the {attested.period} audit this one is chained to was made of repository HEAD "
            f"{attested.head}, which this repository does not hold: it is another "
            "repository's audit, or the history it was made of is gone",
            path=str(history.root),
            hint=f"chain to this repository's audit of {attested.period}",
        )


def _late(
    evidence: Evidence,
    params: Parameters,
    records: dict[str, DeploymentRecord],
    deployed: dict[str, str],
) -> frozenset[str]:
    """The deployments of the month before a chained audit's that its attestation did not
    judge as they stand now: recorded after it was signed (a deploy tool's export that came
    late), or changed since (another commit, start, service or environment). A deployment it
    judged that the evidence no longer holds in that month is an input error: an attested
    month's records are only ever added to."""
    attested = params.attested
    if attested is None or not params.monthly:
        return frozenset()
    start, end = period_bounds(attested.period)
    earlier = {i: r for i, r in records.items() if start <= timestamp_ns(r.started_at) < end}
    if attested.deployments is None:
        return attested.late & earlier.keys()
    judged = {i for i, v in attested.deployments.items() if start <= timestamp_ns(v[3]) < end}
    gone = sorted(judged - earlier.keys())
    if gone:
        raise InputError(
            f"deployment {gone[0]} was judged by the {attested.period} audit this one is "
            f"chained to, and the evidence holds no deployment {gone[0]} of {attested.period} "
            "now: records of an attested month were removed, renamed or moved",
            path=str(evidence.directory),
            hint="restore the record as it was; an attested month's records are only added to",
        )
    _check_earlier(evidence, records, attested, (start, end))
    return frozenset(
        i
        for i, r in earlier.items()
        if attested.deployments.get(i) != (r.service, r.environment, deployed[i], r.started_at)
    )


def _check_earlier(
    evidence: Evidence,
    records: dict[str, DeploymentRecord],
    attested: Attested,
    month: tuple[int, int],
) -> None:
    """The records the month before's attestation rests on are those it was made over."""
    if attested.earlier is None:
        raise InputError(
            f"the {attested.period} audit this one is chained to records no digest of the "
            "records it rests on (it was signed by an earlier version): whether a record of an "
            "attested month changed since cannot be known",
            path=str(evidence.directory),
            hint=f"audit {attested.period} again with this version, and chain to that",
        )
    now = earlier_records(evidence, records, set(attested.deployments or ()), month)
    if now != attested.earlier:
        raise InputError(
            f"the records the {attested.period} audit this one is chained to rests on are not "
            f"those it was made over ({attested.earlier[0]} then, {now[0]} now: its "
            "deployments and those before it, observations and flag events until its end): a "
            "record was added to, changed in or removed from a month already attested",
            path=str(evidence.directory),
            hint="audit the months whose records changed again, and chain from them",
        )


def period_bounds(period: str) -> tuple[int, int]:
    """Nanoseconds at the start of the month ``YYYY-MM`` (UTC) and of the month after it."""
    year, month = (int(part) for part in period.split("-"))
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return (
        timestamp_ns(f"{year:04d}-{month:02d}-01T00:00:00Z"),
        timestamp_ns(f"{following}-01T00:00:00Z"),
    )


def _candidate_history(
    history: GitHistory,
    evidence: Evidence,
    streams: Streams,
    gate: Gate,
    revisions: Revisions,
) -> Shipped:
    """What a gate's candidate ships, whether it is on the protected branch, and whether its
    range had no start, reading only the commits it ships: at the merge gate what it adds to
    the branch, at the deploy gate what it adds to the last deployment of its stream that
    succeeded anywhere (else to the baseline, else the commit alone), exactly as
    ``shipped_ranges`` defines it."""
    sha = revisions.deployed[CANDIDATE_ID]
    boundary: str | None
    if gate.stage == "merge":
        boundary = revisions.branch_tip
    else:
        record = next(d for d in evidence.deployments if d.id == CANDIDATE_ID)
        previous = streams.latest_succeeded_before(
            record.service, record.environment, timestamp_ns(record.started_at)
        )
        boundary = revisions.deployed[previous.id] if previous is not None else revisions.baseline
        if previous is None and revisions.baseline is not None:
            review.check_baseline(history, revisions.baseline, sha, CANDIDATE_ID)
    history.load_between(sha, boundary)
    shipped = sorted(history.ancestors(sha)) if sha in history.commits else []
    on_branch = {sha} if history.is_ancestor(sha, revisions.branch_tip) else set()
    return Shipped({CANDIDATE_ID: shipped}, on_branch, {CANDIDATE_ID: boundary})
