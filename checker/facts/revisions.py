"""Every revision the evidence names, resolved to a commit in one git call; what cannot be
resolved, or is a ref where a commit is due, or is implausible for its deployment, is an input
error at its record."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.git import BranchTip, Commit, GitHistory, ObjectId
from checker.evidence.models import Deployment, timestamp_ns, utc_day_start_ns
from checker.evidence.objectcheck import FSCK_HINT
from checker.facts.streams import (
    UNFINISHED,
    contradiction,
    finish_order,
    sequence_order,
    succeeded_anywhere,
)
from checker.parameters import RuleParameters
from checker.vocabulary import short

DAY_NS = 86_400 * 1_000_000_000
"""Clock skew allowed between a deploy tool and the machine a commit was made on."""


@dataclass(frozen=True)
class Revisions:
    """The commits the run's evidence and parameters name."""

    deployed: dict[str, str]
    """Each deployment's commit, by deployment id."""
    branch: BranchTip
    """The protected branch: the ref read, and its tip."""
    baseline: str | None
    """The baseline's commit, if one is configured."""
    resolved: dict[str, str | None]
    """Every revision named in the evidence, resolved (None: not in the repository)."""

    @property
    def branch_tip(self) -> str:
        """The protected branch's tip."""
        return self.branch.commit

    @property
    def tips(self) -> list[str]:
        """Where the history the run reads ends: the deployed commits, the branch, the baseline."""
        return [
            *self.deployed.values(),
            self.branch_tip,
            *([self.baseline] if self.baseline else []),
        ]


def resolve_revisions(history: GitHistory, evidence: Evidence, rules: RuleParameters) -> Revisions:
    """Every rev the evidence names, in one git call; unresolvable ones are input errors."""
    branch = protected_branch(history, rules.protected_branch)
    named = [d.commit for d in evidence.deployments]
    named += [o.version for o in evidence.observations]
    named += [c for r in evidence.reviews for c in r.commits]
    named += [a.commit for r in evidence.reviews for a in r.approvals if a.commit]
    named += [s.commit for s in evidence.elsewhere]
    ids = history.resolve_ids(named)
    _refuse_refs(evidence, ids)
    _refuse_elsewhere(history, evidence, ids)
    resolved: dict[str, str | None] = {name: found.sha for name, found in ids.items()}
    baseline = _baseline(history, rules.baseline)
    deployed: dict[str, str] = {}
    for index, deployment in enumerate(evidence.deployments):
        sha = resolved[deployment.commit]
        if sha is None:
            raise evidence.error(
                "deploys",
                index,
                f"deployment {deployment.id}: commit {deployment.commit!r} does not resolve in "
                f"the repository at {history.root}",
                hint="is --repo the repository this service is built from? A clone fetched "
                "before the deployment has not got its commit: fetch every branch ('git fetch "
                "origin'; in CI, a checkout with full history) and run again",
            )
        deployed[deployment.id] = sha
    _refuse_same_instant(evidence, deployed)
    for index, observation in enumerate(evidence.observations):
        if resolved[observation.version] is None:
            raise evidence.error(
                "observations",
                index,
                f"observation of {observation.host}: version {observation.version!r} does not "
                f"resolve in the repository at {history.root}",
                hint="versions are compared by commit: record the commit's full sha",
            )
    return Revisions(deployed, branch, baseline, resolved)


def _refuse_same_instant(evidence: Evidence, deployed: dict[str, str]) -> None:
    """Two deployments of one service and environment that start in one instant with different
    commits are an input error naming both, unless both finished, at different instants
    (``finish_order``): then the one that finished last is the newer. Otherwise which ran last
    cannot be told, and the order of their ids must not decide it. Without this, the one whose
    id sorted last was taken for the newer, so a team could name a deployment of the old
    commit to sort after the new one's, and hosts left on the old commit were judged against it
    and passed. Deploy tools that date to the second (GitHub) give two merges deployed at once
    one start, and their finishes tell them apart; Argo CD dates syncs to the second, and its
    controller's history ids tell them apart (``sequence_order``). Nor is a pair refused where
    one succeeded
    nowhere (``same_start_order``): the other ran last. GitHub's record of a run cancelled as
    the next began (failed on every host, with no finish or one in the same second) was refused
    with the next one's, and only editing the import let the check run."""
    same: dict[tuple[str, str, int], list[int]] = {}
    for index, deployment in enumerate(evidence.deployments):
        key = (deployment.service, deployment.environment, timestamp_ns(deployment.started_at))
        others = same.setdefault(key, [])
        for other in others:
            before = evidence.deployments[other]
            if deployed[before.id] == deployed[deployment.id]:
                continue
            if succeeded_anywhere(before) != succeeded_anywhere(deployment):
                continue
            if sequence_order(before, deployment) is not None:  # the tool's own numbers tell
                continue
            finishes = {finish_order(before), finish_order(deployment)}
            if len(finishes) == 2 and UNFINISHED not in finishes:
                continue
            raise _same_instant(evidence, (other, index), deployed)
        others.append(index)
    _refuse_circles(evidence, [group for group in same.values() if len(group) > 2])


def _refuse_circles(evidence: Evidence, groups: list[list[int]]) -> None:
    """Deployments of one stream that start in one instant, each pair told apart, but in a
    circle (``contradiction``), are an input error naming two of them: which ran last cannot
    be told. Without this, three syncs dated in one second, two pairs ordered by the deploy
    tool's numbers and the third by the finish, were sorted as the file listed them: one line
    order judged the hosts against the old commit's deployment and passed, another against the
    new one's and failed."""
    for group in groups:
        pair = contradiction([evidence.deployments[i] for i in group])
        if pair is None:
            continue
        first, second = (next(i for i in group if evidence.deployments[i] is d) for d in pair)
        names = ", ".join(evidence.deployments[i].id for i in group)
        path, line = evidence.locations["deploys"][first]
        raise evidence.error(
            "deploys",
            second,
            f"deployment {pair[1].id} starts in the same instant as deployment {pair[0].id} "
            f"({path.name}:{line}) and {len(group) - 2} more of its stream ({names}), and "
            "what tells them apart (the deploy tool's sequence numbers, then the finishes) "
            "orders them in a circle: which of them ran last cannot be told",
            hint="give each target the deploy tool's own sequence number of its run, or record "
            "each start and finish as precisely as the deploy tool gives them",
        )


def _same_instant(
    evidence: Evidence, indices: tuple[int, int], deployed: dict[str, str]
) -> InputError:
    """The error of ``_refuse_same_instant`` for two deployments, by index."""
    before, deployment = (evidence.deployments[i] for i in indices)
    path, line = evidence.locations["deploys"][indices[0]]
    return evidence.error(
        "deploys",
        indices[1],
        f"deployment {deployment.id} of {deployment.service} to {deployment.environment} "
        f"starts in the same instant as deployment {before.id} ({path.name}:{line}), with "
        f"another commit ({short(deployed[deployment.id])}, not "
        f"{short(deployed[before.id])}), and they do not finish at different instants: which "
        "of them ran last cannot be told",
        hint="record each start and finish as precisely as the deploy tool gives them, or "
        "leave out the record of the one that never ran",
    )


_FULL_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


def protected_tip(history: GitHistory, branch: str) -> str:
    """The protected branch's tip commit, or an input error saying why there is none."""
    return protected_branch(history, branch).commit


def protected_branch(history: GitHistory, branch: str) -> BranchTip:
    """The protected branch: the ref read and its tip, or an input error saying why there is
    none."""
    forms = history.branch_forms(branch)
    if not forms:
        raise InputError(
            f"protected branch {branch!r} is a ref outside refs/heads/ and refs/remotes/, so it "
            "is no branch, and what it names cannot stand in for one",
            path=str(history.root),
            hint="pass --protected-branch BRANCH (a branch's name, or its full name: "
            "refs/remotes/origin/main, refs/heads/main)",
        )
    tip = history.branch_tip(branch)
    if tip is None:
        history.refuse_non_branch(branch)
        history.refuse_unreadable_ref(branch)
        raise InputError(
            f"protected branch {branch!r} not found (as {' or '.join(forms)}): this clone "
            "has not fetched it",
            path=str(history.root),
            hint=f"{history.fetch_hint(branch)}; or, where the protected branch has another "
            "name, pass --protected-branch BRANCH (a check also applies protected_branch from "
            "knightwatch.yaml; a gate or an audit takes it from --config only)",
        )
    return tip


def _baseline(history: GitHistory, baseline: str | None) -> str | None:
    if not baseline:
        return None
    sha = history.resolve([baseline])[baseline]
    if sha is None:
        history.refuse_unreadable_ref(baseline)
        hint = "set baseline in knightwatch.yaml (or --baseline) to a sha, tag or branch"
        if _FULL_ID.fullmatch(baseline):  # mistyped, or the history's commit is gone
            hint += f"; if that commit is in the history, the repository is damaged: {FSCK_HINT}"
        raise InputError(
            f"baseline {baseline!r} does not resolve to a commit", path=str(history.root), hint=hint
        )
    return sha


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


def _refuse_elsewhere(history: GitHistory, evidence: Evidence, ids: dict[str, ObjectId]) -> None:
    """A gate reads other streams' commits too: one that names no commit is an input error."""
    for shipment in evidence.elsewhere:
        found = ids[shipment.commit]
        if found.sha is None:
            why = found.refused or f"does not resolve in the repository at {history.root}"
            raise shipment.error(f"commit {shipment.commit!r} {why}")


_FUTURE_HINT = "a typo in the year? deployments are recorded after they start"


def check_plausible_times(
    history: GitHistory, evidence: Evidence, revisions: Revisions, candidate: str | None
) -> None:
    """A deployment cannot start before the commit it deployed was written, nor after now: a
    start outside that range is a typo (2102 for 2012) that would move the deployment out of
    the month it belongs to, or out of order in its stream. Nor can it, or one of its targets,
    finish after now (:func:`_check_finishes`), nor a host be seen running a commit before it
    was written (:func:`_check_observed_after_written`)."""
    latest = time.time_ns() + DAY_NS  # "the future": after now, with the skew allowed
    _check_seen_times(evidence, latest)
    if candidate is None:  # a gate reads only what its candidate ships, not the first commit
        _check_switched_after_first_commit(history, evidence)
    _check_observed_after_written(history, evidence, revisions.resolved)
    deployed = revisions.deployed
    for shipment in evidence.elsewhere:  # a gate's other services: a later start is no start
        if timestamp_ns(shipment.started_at) > latest:
            raise shipment.error(
                f"started_at {shipment.started_at!r} is in the future", _FUTURE_HINT
            )
    for index, deployment in enumerate(evidence.deployments):
        if deployment.id == candidate:
            continue  # the gate's: it starts on the as-of date by construction
        start = timestamp_ns(deployment.started_at)
        if start > latest:
            raise evidence.error(
                "deploys",
                index,
                f"deployment {deployment.id}: started_at {deployment.started_at!r} is in the "
                "future",
                hint=_FUTURE_HINT,
            )
        _check_finishes(evidence, index, deployment, latest)
        commit = history.commits.get(deployed[deployment.id])
        what = f"deployment {deployment.id}: started_at"
        _refuse_before_written(evidence, ("deploys", index), what, deployment.started_at, commit)


def _check_seen_times(evidence: Evidence, latest: int) -> None:
    """No flag event or observation lies after ``latest`` (now, with the skew allowed): a year
    typo (2042 for 2024) would move a flag switched on over a mixed fleet past the rollout
    that mixed it, and an observation out of the FLEET-002 window it belongs to."""
    late = [
        ("flag_events", i, f"flag event {e.flag}@{e.at}: at", e.at)
        for i, e in enumerate(evidence.flag_events)
        if timestamp_ns(e.at) > latest
    ]
    late += [
        ("observations", i, f"observation of {o.host}: observed_at", o.observed_at)
        for i, o in enumerate(evidence.observations)
        if timestamp_ns(o.observed_at) > latest
    ]
    if late:
        kind, index, what, at = late[0]
        raise evidence.error(
            kind,
            index,
            f"{what} {at!r} is in the future",
            hint="a typo in the year? only what has happened is evidence",
        )


def _check_switched_after_first_commit(history: GitHistory, evidence: Evidence) -> None:
    """No flag event lies more than the skew allowed (a day) before the first commit of the
    history read (every commit a deployed commit descends from): before it there was no code
    to switch. Such an event is a typo in its year (2014 for 2024) that put it before every
    deployment of its stream and every observation, where FLEET-003 judged nothing of it and
    the run passed. A flag the registry lists is held to its ``created`` day too
    (``check_switched_after_created``). Only an event switching a flag on is held to it: one
    switching a flag off is judged by no rule (FLEET-003 and DEAD-007 judge what was switched
    on), and a history imported from another system, or squashed, keeps no commit as old as
    the flag history it was exported with; such events were refused (exit 2)."""
    if not evidence.flag_events or not history.commits:
        return
    first = min(history.commits.values(), key=lambda commit: commit.author_time)
    earliest = first.author_time * 1_000_000_000 - DAY_NS
    for index, event in enumerate(evidence.flag_events):
        if not event.enabled or timestamp_ns(event.at) >= earliest:
            continue
        written = datetime.fromtimestamp(first.author_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise evidence.error(
            "flag_events",
            index,
            f"flag event {event.flag}@{event.at}: at {event.at!r} is before the repository's "
            f"first commit {short(first.sha)} was written ({written})",
            hint="a typo in the year? a flag is switched on only once there is code to "
            f"switch; if the history was imported or squashed, it holds no code before "
            f"{written[:10]} for the event to be judged against: leave out of flag_events the "
            "events switching flags on before it (those switching flags off are accepted)",
        )


def check_switched_after_created(evidence: Evidence, created: dict[str, date]) -> None:
    """No flag event lies more than the skew allowed (a day) before the day the registry says
    its flag was created (the earliest ``created`` any version gives it): a flag is switched
    only once it exists. Such an event is a typo in its year (2014 for 2024) that put it before
    every deployment of its stream and every observation, where FLEET-003 judged nothing of
    it and the run passed, the event reported only as judged on part of its evidence."""
    for index, event in enumerate(evidence.flag_events):
        day = created.get(event.flag)
        if day is None or timestamp_ns(event.at) >= utc_day_start_ns(day) - DAY_NS:
            continue
        raise evidence.error(
            "flag_events",
            index,
            f"flag event {event.flag}@{event.at}: at {event.at!r} is before flag "
            f"{event.flag!r} was created ({day.isoformat()}, as the flag registry says)",
            hint="a typo in the year? a flag is switched only once it exists (or the "
            "registry's created date is wrong)",
        )


def _check_observed_after_written(
    history: GitHistory, evidence: Evidence, resolved: dict[str, str | None]
) -> None:
    """No host is observed running a commit before the commit was written (with the skew
    allowed): such an observation is a typo in its date (2014 for 2024) that puts it before
    every deployment, in no FLEET-002 window, so the old version it shows would be judged by
    no rule. A commit outside the history read (on no deployed commit's ancestry) is not
    looked at."""
    for index, observation in enumerate(evidence.observations):
        commit = history.commits.get(resolved[observation.version] or "")
        what = f"observation of {observation.host}: observed_at"
        record = ("observations", index)
        _refuse_before_written(evidence, record, what, observation.observed_at, commit, "version")


def _refuse_before_written(
    evidence: Evidence,
    record: tuple[str, int],
    what: str,
    at: str,
    commit: Commit | None,
    noun: str = "commit",
) -> None:
    """``at`` (``what`` of the ``record``, a kind and index) is not more than the skew allowed
    (a day) before ``commit`` was written: nothing is deployed or seen running before it was
    written, so such a time is a typo in its date, or names the wrong commit."""
    if commit is None or timestamp_ns(at) >= commit.author_time * 1_000_000_000 - DAY_NS:
        return
    written = datetime.fromtimestamp(commit.author_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise evidence.error(
        *record,
        f"{what} {at!r} is before its {noun} {short(commit.sha)} was written ({written})",
        hint=f"a typo in the date, or the wrong {noun}?",
    )


def _check_finishes(evidence: Evidence, index: int, deployment: Deployment, latest: int) -> None:
    """Neither a deployment nor one of its targets finishes after ``latest`` (now, with the
    skew allowed): a finish in the future is a typo (2042 for 2024) that would start the
    deployment's FLEET-002 window after every observation, so that none is judged. Where the
    deployment has a finish, its targets' lie within it (``Deployment`` validates that), so
    only a deployment without one has its targets read: a month holds half a million."""
    finishes: list[tuple[str, str | None]]
    if deployment.finished_at is not None:
        finishes = [("", deployment.finished_at)]
    else:
        finishes = [(f"target {t.host!r} ", t.finished_at) for t in deployment.targets]
    for what, finished_at in finishes:
        if finished_at is not None and timestamp_ns(finished_at) > latest:
            raise evidence.error(
                "deploys",
                index,
                f"deployment {deployment.id}: {what}finished_at {finished_at!r} is in the future",
                hint="a typo in the year? a deployment still running is recorded without "
                "finished_at",
            )
