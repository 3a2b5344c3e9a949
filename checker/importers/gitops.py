"""What the GitOps importers share: each cluster's syncs as a GitOps tool recorded them, turned
into one deployment record per rollout of a commit across the clusters of a service.

A rollout is the n-th time the clusters moved to a commit: on each cluster, consecutive syncs
of the same commit (a re-sync, a retry after a failure) are one move, and the n-th move of
every cluster to a commit belongs to the n-th rollout of that commit. A rollback to an earlier
commit is therefore a rollout of its own, and a cluster that was not rolled back is absent
from it (FLEET-001 names it). A cluster that never synced a commit is absent from its
rollout's targets; one whose sync of it failed is ``failed``, with the tool's message.

Revisions that are not commits (a Helm chart's version, say) are mapped with
``--revision-commit REV=SHA`` or refused: a deployment must name the commit it shipped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import InputError, UsageError
from checker.evidence.bundle import KIND_BY_NAME, find_file
from checker.evidence.files import Located, parse_records, read_text, validate
from checker.evidence.git import GitHistory
from checker.evidence.models import DeployApproval, Deployment, Status, timestamp_ns
from checker.vocabulary import short

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_RANK: dict[Status, int] = {"succeeded": 0, "skipped": 1, "unreachable": 2, "failed": 3}


@dataclass(frozen=True)
class Sync:
    """One cluster's sync of one revision."""

    cluster: str
    origin: str
    """What recorded it, for messages (``application guestbook-eu, history id 7``)."""
    revision: str
    """As the tool recorded it; ``commit_of`` maps it to a commit."""
    started_at: str
    finished_at: str | None
    """None while the sync was still running when the objects were listed."""
    status: Status
    reason: str | None = None
    initiator: str | None = None
    automated: bool = False
    """Started by the tool itself (an automated sync), not by a person."""
    commit: str | None = None
    """The commit the revision names where its form says so (``main@sha1:SHA``, a chart
    version's ``+SHA`` build metadata); None for a revision that must be a full sha itself."""


@dataclass(frozen=True)
class Choices:
    """The command line's choices for a GitOps import."""

    service: str
    environment: str
    revision_commits: dict[str, str] = field(default_factory=dict)
    """``--revision-commit REV=SHA``: the commit a revision that is not one was built from."""
    only: str | None = None
    """``--revision``: import the rollouts of this commit alone."""
    approvals: tuple[DeployApproval, ...] = ()
    change_ticket: str | None = None
    deployer: str | None = None
    """``--deployer``: who answers for syncs the tool started itself (automated), or whose
    initiator it did not record; a user who started a sync is the deployer regardless."""


def revision_commits(pairs: list[str]) -> dict[str, str]:
    """``--revision-commit REV=SHA`` arguments as a mapping."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        revision, _, commit = pair.partition("=")
        if not revision or not commit:
            raise UsageError(f"--revision-commit {pair!r}: expected REV=SHA")
        mapping[revision] = commit
    return mapping


def commit_of(sync: Sync, choices: Choices, hint: str) -> str:
    """The commit a sync's revision names: the revision itself when it is a full sha, else
    its ``--revision-commit`` mapping; anything else is refused."""
    if sync.revision in choices.revision_commits:
        return choices.revision_commits[sync.revision]
    if sync.commit is not None:
        return sync.commit
    if FULL_SHA.match(sync.revision):
        return sync.revision
    raise InputError(
        f"{sync.origin}: revision {sync.revision!r} on cluster {sync.cluster} is not a git "
        f"commit ({hint})",
        hint=f"map it to the commit it was built from with --revision-commit {sync.revision}=SHA",
    )


def resolve_commits(
    history: GitHistory, syncs: list[Sync], choices: Choices, hint: str
) -> dict[Sync, str]:
    """Each sync's commit as a full sha of ``history``; a commit not in it, or a name that is
    not an object id, is an input error naming the sync."""
    named = {sync: commit_of(sync, choices, hint) for sync in syncs}
    ids = history.resolve_ids(set(named.values()))
    out: dict[Sync, str] = {}
    for sync, name in named.items():
        found = ids[name]
        if found.sha is None:
            raise InputError(
                f"{sync.origin}: revision {sync.revision!r} on cluster {sync.cluster} names "
                f"{name!r}, which " + (found.refused or f"is not a commit of {history.root}"),
                hint="is --repo the repository the service is built from, with full history? "
                "(a separate configuration repository's commits are not the service's: map "
                "them with --revision-commit)",
            )
        out[sync] = found.sha
    return out


@dataclass
class _Move:
    """A cluster's consecutive syncs of one commit."""

    syncs: list[Sync]

    @property
    def status(self) -> Status:
        if any(s.status == "succeeded" for s in self.syncs):
            return "succeeded"
        return self.syncs[-1].status

    @property
    def reason(self) -> str | None:
        return None if self.status == "succeeded" else self.syncs[-1].reason

    @property
    def finished_at(self) -> str | None:
        done = [s for s in self.syncs if s.status == "succeeded"] or self.syncs[-1:]
        return done[0].finished_at


def rollouts(syncs: list[Sync], commits: dict[Sync, str], choices: Choices) -> list[Deployment]:
    """One deployment record per rollout, in order of start."""
    moves: dict[tuple[str, int], list[tuple[str, _Move]]] = defaultdict(list)
    by_cluster: dict[str, list[Sync]] = defaultdict(list)
    for sync in syncs:
        by_cluster[sync.cluster].append(sync)
    for cluster, own in sorted(by_cluster.items()):
        own.sort(key=lambda s: (timestamp_ns(s.started_at), s.origin))
        runs: list[tuple[str, _Move]] = []
        for sync in own:
            if runs and commits[runs[-1][1].syncs[-1]] == commits[sync]:
                runs[-1][1].syncs.append(sync)
            else:
                runs.append((cluster, _Move([sync])))
        seen: dict[str, int] = defaultdict(int)
        for entry in runs:
            commit = commits[entry[1].syncs[0]]
            seen[commit] += 1
            moves[(commit, seen[commit])].append(entry)
    records = []
    for (commit, nth), entries in moves.items():
        if choices.only is not None and commit != choices.only:
            continue
        records.append(_record(commit, nth, entries, choices))
    return sorted(records, key=lambda r: (timestamp_ns(r.started_at), r.id))


def _worst_by_cluster(entries: list[tuple[str, _Move]]) -> dict[str, tuple[Status, str | None]]:
    """Each cluster's worst status among its moves, with the reason."""
    targets: dict[str, tuple[Status, str | None]] = {}
    for cluster, move in entries:
        status, reason = move.status, move.reason
        if cluster not in targets or _RANK[status] > _RANK[targets[cluster][0]]:
            targets[cluster] = (status, reason)
    return targets


def _record(
    commit: str, nth: int, entries: list[tuple[str, _Move]], choices: Choices
) -> Deployment:
    first = min(
        (s for _, move in entries for s in move.syncs), key=lambda s: timestamp_ns(s.started_at)
    )
    targets = _worst_by_cluster(entries)
    finishes = [move.finished_at for _, move in entries]
    plain: dict[str, Any] = {
        "id": f"{choices.service}-{choices.environment}-{short(commit)}"
        + (f"-{nth}" if nth > 1 else ""),
        "service": choices.service,
        "environment": choices.environment,
        "commit": commit,
        "started_at": first.started_at,
        "deployer": _deployer(first, choices),
        "approvals": [a.model_dump() for a in choices.approvals],
        "targets": [
            {"host": cluster, "status": status, **({"reason": reason} if reason else {})}
            for cluster, (status, reason) in sorted(targets.items())
        ],
    }
    if all(f is not None for f in finishes):
        plain["finished_at"] = max((f for f in finishes if f), key=timestamp_ns)
    if choices.change_ticket:
        plain["change_ticket"] = choices.change_ticket
    return validate(Deployment, Located(plain, 0), Path(first.origin), "deployment")


def _deployer(sync: Sync, choices: Choices) -> str:
    """The person a rollout's first sync names, else ``--deployer``, else what the tool said
    (no identity: REVIEW-001 then finds no independent approval)."""
    if sync.initiator and not sync.automated:
        return sync.initiator
    return choices.deployer or sync.initiator or "unknown (the tool recorded no initiator)"


def keep_sign_offs(directory: Path, records: list[Deployment]) -> list[Deployment]:
    """Records brought up to date by a later import keep the approvals and change ticket that
    an earlier import recorded with ``--approval`` (the GitOps tools know of none)."""
    path = find_file(directory, KIND_BY_NAME["deploys"]) if directory.is_dir() else None
    if path is None:
        return records
    old: dict[str, dict[str, Any]] = {}
    for item in parse_records(read_text(path), path):
        if isinstance(item.value, dict) and isinstance(item.value.get("id"), str):
            old[item.value["id"]] = item.value
    kept = []
    for record in records:
        before = old.get(record.id, {})
        update: dict[str, Any] = {}
        if not record.approvals and before.get("approvals"):
            update["approvals"] = [
                validate(DeployApproval, Located(a, 0), path, f"deployment {record.id} approval")
                for a in before["approvals"]
            ]
        if record.change_ticket is None and isinstance(before.get("change_ticket"), str):
            update["change_ticket"] = before["change_ticket"]
        kept.append(record.model_copy(update=update) if update else record)
    return kept
