"""Rollouts of a service across its clusters, one deployment record each, reconciled with the
records earlier imports wrote.

A rollout is the n-th time the clusters moved to a commit: the n-th move of every cluster to a
commit belongs to the n-th rollout of that commit. A rollback to an earlier commit is a
rollout of its own, and a cluster that was not rolled back is absent from it. A cluster that
caught up late (its first move to the commit a day after the others) is in the rollout with
its own ``finished_at``: FLEET-003 judges it at the flag's time and FLEET-002 from that time,
so a slow cluster neither hides a mixed fleet nor moves the others' windows.

The tools keep a bounded history (Argo CD ``revisionHistoryLimit`` syncs, Flux a few
snapshots), so an import may no longer see what an earlier one recorded. The records already
in the evidence say where the history now starts: a cluster's moves are counted after the
rollouts of the commit that it finished before its first move still in the history. An update
adds what the old record did not know (a cluster it did not list, one that was failed or still
running); it never contradicts it. A cluster the record has as succeeded at a time must be the
same move here, a rollout's start never moves to a cluster the record already held, and its
deployer and sign-offs stay its own: an approval belongs to one rollout.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.bundle import KIND_BY_NAME, find_file
from checker.evidence.files import Located, parse_records, read_text, validate
from checker.evidence.identities import IdentityResolver
from checker.evidence.models import Deployment, Target, timestamp_ns
from checker.importers import argocd_ignored
from checker.importers.gitops import (
    DRIFT,
    FLUX_OVERRIDDEN,
    HEALTH,
    OVERRIDDEN,
    UNASSESSED,
    UNRECONCILED,
    Choices,
    Move,
)
from checker.vocabulary import short

HINT = (
    "import after every sync, so that the history read still holds what was recorded "
    "(docs/kubernetes.md, Scheduling); if the recorded deployment is wrong, correct it by hand"
)


def rollout_id(choices: Choices, commit: str, nth: int) -> str:
    """``SERVICE-ENVIRONMENT-<12 hex>``, and ``-N`` for the commit's n-th rollout."""
    base = f"{choices.service}-{choices.environment}-{short(commit)}"
    return base if nth == 1 else f"{base}-{nth}"


def recorded(directory: Path, choices: Choices) -> tuple[dict[str, Deployment], Path | None]:
    """The deployments of the service and environment already in the evidence, by id."""
    path = find_file(directory, KIND_BY_NAME["deploys"]) if directory.is_dir() else None
    if path is None:
        return {}, None
    found = {}
    for item in parse_records(read_text(path), path):
        record = validate(Deployment, item, path, "deployment")
        if record.service == choices.service and record.environment == choices.environment:
            found[record.id] = record
    return found, path


def _finish(record: Deployment, target: Target) -> str | None:
    """When a target of a record finished: its own time, else (a record written before
    targets had times, or by hand) the deployment's."""
    return target.finished_at or record.finished_at


def _earlier_rollouts(cluster: str, first: Move, records: list[Deployment]) -> int:
    """How many recorded rollouts of the commit the cluster finished before its first move
    still in the history started: moves the history no longer holds."""
    start = timestamp_ns(first.started_at)
    count = 0
    for record in records:
        target = next((t for t in record.targets if t.host == cluster), None)
        if target is None or target.status != "succeeded":
            continue
        done = _finish(record, target)
        if done is not None and timestamp_ns(done) < start:
            count += 1
    return count


def group(
    clusters: dict[str, list[Move]], choices: Choices, old: dict[str, Deployment]
) -> dict[tuple[str, int], list[Move]]:
    """The moves of each rollout, by (commit, n)."""
    by_commit: dict[str, list[Deployment]] = defaultdict(list)
    for record in old.values():
        base = rollout_id(choices, record.commit, 1)
        nth = record.id.removeprefix(base + "-")
        if record.id == base or (nth != record.id and nth.isdigit()):
            by_commit[record.commit].append(record)
    groups: dict[tuple[str, int], list[Move]] = defaultdict(list)
    for cluster, own in sorted(clusters.items()):
        seen: dict[str, int] = {}
        for move in own:
            if move.commit not in seen:
                seen[move.commit] = _earlier_rollouts(cluster, move, by_commit[move.commit])
            seen[move.commit] += 1
            groups[(move.commit, seen[move.commit])].append(move)
    return groups


def record(
    commit: str,
    nth: int,
    own: list[Move],
    choices: Choices,
    old: Deployment | None,
    signed: bool,
    notes: list[str] | None = None,
) -> Deployment:
    """The rollout's record: ``old`` brought up to date with ``own``, never contradicted.
    ``signed``: the command line's sign-off is for this rollout; ``notes`` is told of each
    failure kept though read otherwise now."""
    ident = rollout_id(choices, commit, nth)
    targets, finishes = _targets(ident, own, old, notes)
    first = min(own, key=_order)
    plain: dict[str, Any] = {
        "id": ident,
        "service": choices.service,
        "environment": choices.environment,
        "commit": commit,
        "started_at": _started(ident, first, old),
        "deployer": old.deployer if old else first.answerers(choices)[0],
        "approvals": [a.model_dump() for a in (old.approvals if old else [])],
        "targets": [
            {k: v for k, v in vars_of(t).items() if v is not None}
            for _, t in sorted(targets.items())
        ],
    }
    plain.update(_ref(own, old))
    if all(f is not None for f in finishes.values()):
        plain["finished_at"] = max((f for f in finishes.values() if f), key=timestamp_ns)
    plain.update(_sign_offs(old, choices, signed))
    return validate(Deployment, Located(plain, 0), Path(own[0].syncs[0].path or "-"), "deployment")


def _ref(own: list[Move], old: Deployment | None) -> dict[str, str]:
    """The branch or tag the record keeps, else the first the rollout's syncs named."""
    named = (m.ref for m in sorted(own, key=_order) if m.ref)
    ref = (old.ref if old else None) or next(named, None)
    return {"ref": ref} if ref else {}


def _order(move: Move) -> tuple[int, str]:
    """Moves in order of start, then of cluster."""
    return timestamp_ns(move.started_at), move.cluster


def _sign_offs(old: Deployment | None, choices: Choices, signed: bool) -> dict[str, Any]:
    """The recorded change ticket and artifact, and the command line's sign-off when it is for
    this rollout (it replaces the recorded approvals)."""
    found: dict[str, Any] = {}
    if old is not None and old.change_ticket is not None:
        found["change_ticket"] = old.change_ticket
    if old is not None and old.artifact is not None:
        found["artifact"] = old.artifact
    if signed and choices.approvals:
        found["approvals"] = [a.model_dump() for a in choices.approvals]
    if signed and choices.change_ticket:
        found["change_ticket"] = choices.change_ticket
    return found


def _targets(
    ident: str, own: list[Move], old: Deployment | None, notes: list[str] | None
) -> tuple[dict[str, Target], dict[str, str | None]]:
    """The rollout's targets by cluster, and when each finished: the recorded ones, a cluster
    that had succeeded kept as it was (and checked against what is read now), every other one
    as read now."""
    targets: dict[str, Target] = {t.host: t for t in old.targets} if old else {}
    # When each target finished: a recorded one without a time of its own (a record written
    # before targets had times, or by hand) when its deployment did.
    finishes = {t.host: _finish(old, t) for t in old.targets} if old else {}
    for move in own:
        before = targets.get(move.cluster)
        # A success recorded before the health assessment was found missing, or before the
        # overrides of what git holds were read, is no success.
        if old is not None and before is not None and before.status == "succeeded":
            _same_move(ident, old, before, move)
            if not (move.reason or "").startswith(
                (UNASSESSED, OVERRIDDEN, FLUX_OVERRIDDEN, UNRECONCILED)
            ):
                continue
        if before is not None and _stands(ident, before, move, notes):
            continue
        targets[move.cluster] = Target(
            host=move.cluster,
            status=move.status,
            reason=move.reason,
            finished_at=move.finished_at,
            sequence=move.sequence,
        )
        finishes[move.cluster] = move.finished_at
    return targets, finishes


def _health_stands(before: Target, move: Move) -> bool:
    """A cluster recorded as synced but unhealthy (Degraded, still Progressing) or drifted
    (OutOfSync at that revision) stays so when the sync's health is no longer known here:
    Argo CD's health and sync status describe only the latest sync, and an older one's
    success says nothing of whether the commit ever ran healthy and as synced. So does one
    Flux applied without assessing health: its history does not say whether a snapshot was
    reconciled before or after ``spec.wait`` (or the Helm wait) was turned on. A drift
    recorded (``DRIFT``: the live state seen otherwise than the sync, or a sync status that
    covered none of the fields the application ignored) stays so when no sync of the move
    started after it was recorded (``_resynced``): a later ``Synced`` and ``Healthy`` of the
    same sync, the ignored entry dropped and the field set back by hand, says nothing of what
    ran between the two listings."""
    recorded = before.reason or ""
    return move.status == "succeeded" and (
        (recorded.startswith(DRIFT) and not _resynced(before, move))
        or (recorded.startswith((HEALTH, UNASSESSED)) and not move.health_known)
    )


def _resynced(before: Target, move: Move) -> bool:
    """Whether a sync of ``move`` started after the recorded cluster ``before`` finished: the
    commit applied again from git since, not the same sync listed again."""
    if before.finished_at is None:
        return False
    ended = timestamp_ns(before.finished_at)
    return any(timestamp_ns(sync.started_at) > ended for sync in move.syncs)


def _stands(ident: str, before: Target, move: Move, notes: list[str] | None) -> bool:
    """Whether a recorded cluster stays as it is (``_health_stands``, ``_override_stands``);
    ``notes`` is told of an override's failure kept though read otherwise now."""
    if _health_stands(before, move):
        return True
    if not _override_stands(before, move):
        return False
    if move.reason != before.reason and notes is not None:
        notes.append(
            f"{ident}: {move.cluster} stays failed as recorded, for what its object set over "
            "the revision: the object as listed now says nothing of what that rollout was "
            "rendered with (the tool kept no copy of it per sync)"
        )
    return True


def _override_stands(before: Target, move: Move) -> bool:
    """A cluster recorded as failed for what the tool's object set over the revision stays so
    when that was read from the object as listed (``Sync.as_listed``): Flux keeps no spec per
    snapshot, nor does an older Argo CD's history, so a listing from after the override was
    removed (or made to match git) says nothing of what this rollout was rendered with. So
    does one for fields an Argo CD sync left live (``argocd_ignored.LEFT``): no history entry
    records the options or entries it ran with, so a listing without them says nothing."""
    recorded = before.reason or ""
    return recorded.startswith((OVERRIDDEN, FLUX_OVERRIDDEN)) and (
        any(sync.as_listed for sync in move.syncs) or argocd_ignored.LEFT in recorded
    )


def _started(ident: str, first: Move, old: Deployment | None) -> str:
    """When the rollout started: the earlier of the recorded start and the first sync read
    now; a history that no longer holds the recorded start is refused."""
    if old is None or timestamp_ns(old.started_at) <= timestamp_ns(first.started_at):
        return old.started_at if old is not None else first.started_at
    if first.cluster in {t.host for t in old.targets} or all(
        t.finished_at is None for t in old.targets
    ):
        raise InputError(
            f"rollout {ident}: the history read here starts it at {first.started_at} on "
            f"{first.cluster}, the recorded deployment at {old.started_at}: the history no "
            "longer holds the syncs recorded, or was rewritten",
            hint=HINT,
        )
    return first.started_at


def vars_of(target: Target) -> dict[str, Any]:
    """A target's fields, as written."""
    return {
        "host": target.host,
        "status": target.status,
        "reason": target.reason,
        "finished_at": target.finished_at,
        "sequence": target.sequence,
    }


def _same_move(ident: str, old: Deployment, before: Target, move: Move) -> None:
    """A cluster the record has as succeeded must be the same move in the history read."""
    recorded_at = before.finished_at
    if recorded_at is not None:
        # The same sync as recorded: a workload that degraded since rewrites no success, nor
        # does one that turned healthy again later (its health's time moved on).
        agrees = move.applied_at == recorded_at or _healthy_in(move, recorded_at)
    else:  # a record without times per cluster: the move must lie inside the recorded span
        applied = move.applied_at
        agrees = (
            old.finished_at is not None
            and applied is not None
            and timestamp_ns(old.started_at)
            <= timestamp_ns(move.started_at)
            <= timestamp_ns(applied)
            <= timestamp_ns(old.finished_at)
        )
    if not agrees:
        said = f"succeeded at {recorded_at}" if recorded_at else "succeeded"
        here = (
            f"{move.status} at {move.finished_at}" if move.finished_at else f"{move.status}"
        ) + f" ({move.syncs[0].origin})"
        raise InputError(
            f"rollout {ident}: the recorded deployment has cluster {move.cluster} {said}, the "
            f"history read here {here}: the history no longer holds the sync recorded "
            "(Argo CD keeps revisionHistoryLimit syncs, Flux a few snapshots), or was rewritten",
            path=move.syncs[0].path,
            hint=HINT,
        )


def _healthy_in(move: Move, recorded_at: str) -> bool:
    """Whether a success recorded at ``recorded_at`` is this move's, recorded when the tool
    said its workload had become healthy after it was applied: after it was applied, and, for
    a move that succeeded, no later than it says the workload became healthy now."""
    applied = move.applied_at
    if applied is None or timestamp_ns(recorded_at) <= timestamp_ns(applied):
        return False
    return move.status != "succeeded" or timestamp_ns(recorded_at) <= timestamp_ns(
        move.finished_at or recorded_at
    )


def several_deployers(
    deployment: Deployment,
    own: list[Move],
    choices: Choices,
    identities: IdentityResolver,
) -> list[str]:
    """Everyone who answers for the rollout's syncs besides its recorded deployer; an approval
    by any of them is refused (each deployed it: REVIEW-001 asks for an approval by someone
    other than each)."""
    others: list[str] = []
    deployer = _person(identities, deployment.deployer)
    for move in own:
        for person in move.answerers(choices):
            if _person(identities, person) != deployer and person not in others:
                others.append(person)
    for approval in deployment.approvals:
        by = _person(identities, approval.by)
        clash = next((p for p in others if _person(identities, p) == by), None)
        if clash is not None:
            clusters = sorted(m.cluster for m in own if clash in m.answerers(choices))
            raise InputError(
                f"rollout {deployment.id}: the approval by {approval.by} is by someone who "
                f"deployed it ({clash} synced {', '.join(clusters)}): an approval must come "
                "from someone other than each person who started its syncs",
                hint="sign it off with an approval by someone who took no part in the rollout",
            )
    return others


def _person(identities: IdentityResolver, value: str) -> str:
    return identities.resolve(value)
