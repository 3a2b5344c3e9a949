"""What the GitOps importers share: each cluster's syncs as a GitOps tool recorded them, the
commit each names, and each cluster's moves from one commit to the next.

A move is a cluster's consecutive syncs of one commit (a re-sync, a retry after a failure):
what took the cluster to that commit. ``k8s_rollouts`` groups the moves of the clusters of a
service into rollouts, one deployment record each.

Revisions that are not commits (a Helm chart's version, say) are mapped with
``--revision-commit REV=SHA`` or refused: a deployment must name the commit it shipped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.errors import InputError, UsageError
from checker.evidence.git import GitHistory
from checker.evidence.manifest_scope import Folder
from checker.evidence.manifests import ManifestReader
from checker.evidence.models import DeployApproval, Status, timestamp_ns
from checker.importers.common import dig
from checker.vocabulary import short

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
UNNAMED = "unknown (the tool recorded no initiator)"
HEALTH = "Argo CD health "
"""How the reason of a cluster that synced but was not healthy begins (``Argo CD health
Degraded: ...``): a later import that no longer knows that sync's health keeps it."""
DRIFT = "Argo CD sync status "
"""How the reason of a cluster whose live state no longer matched its latest sync begins
(``Argo CD sync status OutOfSync ...``): a later import keeps it, as it keeps ``HEALTH``'s."""

LOCAL = "Argo CD synced manifests from a local directory"
"""How the reason of a cluster begins where the tool applied manifests that were not read from
git (``argocd app sync --local``): what ran there since is no commit's."""

OVERRIDDEN = "Argo CD rendered it with overrides set in the Application, not in git"
"""How the reason of a cluster begins where the tool rendered the revision with images,
parameters or values set in its own object (``argocd app set --kustomize-image``): what ran
there since is not what the commit holds."""

FLUX_OVERRIDDEN = "Flux rendered it with overrides set in the object, not in git"
"""How the reason of a cluster begins where Flux rendered the revision with images, patches,
variables or values its Kustomization or HelmRelease sets (``OVERRIDDEN``'s, for Flux)."""

UNRECONCILED = "Flux does not reconcile what the commit holds"
"""How the reason of a cluster begins where the commit's manifests carry
``kustomize.toolkit.fluxcd.io/reconcile: disabled`` (``flux_disabled``): the Kustomization's
success says nothing of those objects."""

UNASSESSED = "Flux assessed no health"
"""How the reason of a cluster begins where Flux reported a success without assessing the
workloads' health (a Kustomization without ``spec.wait`` or a ``spec.healthChecks`` entry
that is a workload it applied, a Helm action with ``disableWait`` or ``disableWaitForJobs``):
that success only says the manifests were applied."""


@dataclass(frozen=True)
class SetInObject:
    """What a GitOps tool's object sets over its revision (a Flux Kustomization's or
    HelmRelease's ``flux_overrides``, an Argo CD Application's sources), and the sync as it was
    before that made it ``failed``: restored where the commit deployed holds a manifest of the
    object that sets exactly the same (``in_git``)."""

    group: str
    """The API group of the object's kind (``helm.toolkit.fluxcd.io``, ``argoproj.io``)."""
    kind: str
    name: str
    namespace: str | None
    fields: tuple[tuple[str, str], ...]
    """Each field it sets over the revision, as its canonical value (``null`` unset), as
    ``reader`` reads them from a manifest."""
    reader: Callable[[dict[str, Any]], tuple[tuple[str, str], ...]]
    """The fields of a manifest of the object, as ``fields`` holds them."""
    barred: str | None
    """Why no manifest can make what it sets the commit's (values from a ConfigMap, a value
    file of another repository), or None."""
    recorded_only: bool
    """Only a manifest in the commit the sync's revision names itself counts, never one in a
    commit ``--revision-commit`` maps it to."""
    before: Sync | None
    """The sync as it was before what the object sets made it ``failed``."""
    folder: Folder | str
    """The folder of the commit its parent (a Flux Kustomization, an Argo CD app of apps)
    applies its manifest from: only a manifest there counts. A text says why that cannot be
    known from what was listed, and then none does."""


@dataclass(frozen=True)
class IgnoredReplicas:
    """The replica count an Argo CD Application's ``ignoreDifferences`` passes over, to be
    looked for in the commit synced (``argocd_replicas``): a workload git keeps at zero
    replicas is run by a ``kubectl scale`` that ``Synced`` does not show."""

    shown: str
    """The entries, as a reason names them (``spec.ignoreDifferences (apps/Deployment
    /spec/replicas)``)."""
    kinds: tuple[tuple[str | None, str | None], ...]
    """The (kind, name) each entry covers, None where it names none (any)."""
    folder: Folder | str
    """The folder of the commit the Application renders; a text says why that is not
    known."""
    zeroed: str | None = None
    """The workloads the Application's own ``source.kustomize.replicas`` sets to zero, as a
    reason names them, where it sets any the entries cover."""


@dataclass(frozen=True)
class Sync:
    """One cluster's sync of one revision."""

    cluster: str
    origin: str
    """What recorded it, for messages (``application guestbook-eu, history id 7``)."""
    revision: str
    """As the tool recorded it; ``resolve_commits`` finds the commit it names."""
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
    variant: str | None = None
    """What else the revision stood for, where one revision can deploy different things: a
    Helm release's values (``configDigest``), which hold the image tag."""
    path: str | None = None
    """The file it was read from."""
    operation: bool = False
    """Read from the tool's last operation, which its history does not keep (a failed or
    running sync): one whose revision names no commit is left out, with a note."""
    ref: str | None = None
    """The branch or tag the tool was asked to follow (``main``, ``v1.2.3``), where it says so
    and the name is one git allows: shown beside the commit, never judged."""
    sequence: int | None = None
    """The tool's own number of the sync, where its controller keeps one that grows with each
    sync of the cluster's object (Argo CD's ``status.history`` id)."""
    health: str | None = None
    """What the tool said of the workload this sync left running, where it says so of this sync
    (Argo CD's application health, which describes only its latest sync): ``Healthy``,
    ``Degraded``, ``Progressing``...; None where nothing says (an older sync). A sync that is not
    ``Healthy`` is ``failed`` (unfinished while ``Progressing``), though the tool applied it;
    ``OutOfSync`` when the tool found the live state drifted from it since (failed too)."""
    applied_at: str | None = None
    """When the tool finished applying a sync whose health made it failed or unfinished, or
    that ran healthily only from a later time (its ``finished_at``)."""
    local: bool = False
    """Manifests the tool applied from a local directory, not from git (``argocd app sync
    --local``): ``failed``, and a move of its own, so that it never merges with a sync of the
    same commit from git before or after it (``LOCAL``)."""
    overrides: str | None = None
    """What the tool's own object set over what git holds (``kustomize.images``,
    ``helm.parameters`` ...): ``failed``, and a move of its own, as ``local`` is
    (``OVERRIDDEN``)."""
    claim: str | None = None
    """What the thing synced says of its own origin, where nothing the tool did proves it (a
    Flux OCI artifact's ``originRevision``, set by whoever pushed it; a chart version's build
    metadata that Flux did not write): shown, as a phrase, when the revision is refused as
    naming no commit, never taken as the commit."""
    set_in_object: SetInObject | None = None
    """What the tool's object sets over the revision, to be looked for in the commit deployed
    (``in_git``)."""
    as_listed: bool = False
    """What the tool's object sets over the revision was read from the object as listed, not
    from a record the tool kept of this sync (Flux keeps no spec per snapshot; an Argo CD
    history entry that records no source): it says nothing of what an earlier import saw, so a
    failure recorded for overrides stands (``k8s_rollouts``)."""
    claimed: str | None = None
    """The commit that claim names, where it names one (an OCI artifact's ``originRevision``,
    ``main@sha1:SHA``): never taken as the commit deployed, but a ``--revision-commit`` that
    maps the revision to another commit of the repository is refused (``_contradicted``)."""
    unreconciled: Folder | str | None = None
    """The folder a Flux Kustomization applies (or why it is not known), to be searched in the
    commit for objects Flux does not reconcile (``flux_disabled``); None for other syncs."""
    replicas: IgnoredReplicas | None = None
    """The replica count the Application ignores, where its latest sync stands on ``Synced``:
    judged against the commit synced (``argocd_replicas``)."""


@dataclass(frozen=True)
class Choices:
    """The command line's choices for a GitOps import."""

    service: str
    environment: str
    revision_commits: dict[str, str] = field(default_factory=dict)
    """``--revision-commit REV=SHA``: the commit a revision that is not one was built from."""
    only: str | None = None
    """``--revision``: import the rollouts of this commit alone."""
    rollout: str | None = None
    """``--rollout``: import this rollout alone (a deployment id)."""
    approvals: tuple[DeployApproval, ...] = ()
    change_ticket: str | None = None
    deployer: str | None = None
    """``--deployer``: who answers for syncs the tool started itself (automated), or whose
    initiator it did not record; a user who started a sync is the deployer regardless."""


def rejudged(
    history: GitHistory,
    syncs: list[Sync],
    commits: dict[Sync, str],
    judge: Callable[[Sync, str, ManifestReader], Sync | None],
    asked: Callable[[Sync], bool],
) -> tuple[list[Sync], dict[Sync, str]]:
    """``syncs`` and their commits, each succeeded one that ``asked`` names put to ``judge``
    with its commit and a reader of the repository's manifests, and replaced by the sync it
    gives (None: kept as it is). No reader is opened where no succeeded sync is asked."""
    if not any(sync.status == "succeeded" and asked(sync) for sync in syncs):
        return syncs, commits
    out: list[Sync] = []
    with ManifestReader(history) as reader:
        for sync in syncs:
            if sync.status == "succeeded" and asked(sync):
                sync = judge(sync, commits[sync], reader) or sync
            out.append(sync)
    return out, {sync: commits[old] for sync, old in zip(out, syncs, strict=True)}


def revision_commits(pairs: list[str]) -> dict[str, str]:
    """``--revision-commit REV=SHA`` arguments as a mapping."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        revision, _, commit = pair.partition("=")
        if not revision or not commit:
            raise UsageError(f"--revision-commit {pair!r}: expected REV=SHA")
        if mapping.get(revision, commit) != commit:
            raise UsageError(f"--revision-commit {revision} is given twice, differently")
        mapping[revision] = commit
    return mapping


def _named(sync: Sync) -> str | None:
    """The commit a revision names in its own form, if it does (it may be another
    repository's: a configuration repository's commit)."""
    return sync.commit or (sync.revision if FULL_SHA.match(sync.revision) else None)


def _mapping_key(sync: Sync, choices: Choices) -> str | None:
    """The ``--revision-commit`` key that maps this sync, if one does."""
    named = _named(sync)
    for key in (
        f"{sync.revision}@{sync.variant}" if sync.variant else None,
        sync.revision,
        named,
    ):
        if key is not None and key in choices.revision_commits:
            return key
    return None


def usable(syncs: list[Sync], choices: Choices) -> tuple[list[Sync], list[str]]:
    """The syncs that can be dated to a commit, and a note for each failed or running
    operation that names none (``HEAD``, a branch, no revision at all): the cluster stays
    absent from the rollout it missed, which FLEET-001 reports all the same."""
    kept, notes = [], []
    for sync in syncs:
        names_one = _named(sync) is not None or _mapping_key(sync, choices) is not None
        if sync.operation and not names_one:
            what = f"revision {sync.revision!r}" if sync.revision else "no revision"
            notes.append(
                f"{sync.origin} ({sync.path}) names {what}, no commit: left out, so "
                f"{sync.cluster} is absent from the rollout it missed"
                + (
                    f" (if it is a build, map it: --revision-commit {sync.revision}=SHA)"
                    if sync.revision
                    else ""
                )
            )
            continue
        kept.append(sync)
    return kept, notes


def _ambiguous(syncs: list[Sync], choices: Choices) -> None:
    """A mapping of a revision that stood for different releases (a chart version deployed
    with different values) cannot say which was built from its commit."""
    variants: dict[str, set[str]] = defaultdict(set)
    for sync in syncs:
        if sync.variant and _mapping_key(sync, choices) == sync.revision:
            variants[sync.revision].add(sync.variant)
    for revision, seen in sorted(variants.items()):
        if len(seen) > 1:
            shown = ", ".join(sorted(v[:19] for v in seen))
            raise InputError(
                f"--revision-commit {revision} maps {len(seen)} different releases of that "
                f"chart version (values {shown}): one chart version stood for different "
                "deployments, so it cannot name the commit of each",
                path=next(s.path for s in syncs if s.revision == revision),
                hint=f"map each release by its values: --revision-commit {revision}@DIGEST=SHA "
                "(DIGEST is the history entry's configDigest)",
            )


def resolve_commits(
    history: GitHistory, syncs: list[Sync], choices: Choices, hint: str
) -> dict[Sync, str]:
    """Each sync's commit as a full sha of ``history``: the commit its revision names, or its
    ``--revision-commit`` mapping. A revision that is a commit of ``history`` is never mapped
    to another (what the tool recorded stands); a commit not in it, or a name that is not an
    object id, is an input error naming the sync."""
    _ambiguous(syncs, choices)
    own = history.resolve_ids({n for n in map(_named, syncs) if n is not None})
    named: dict[Sync, str] = {}
    for sync in syncs:
        key, commit = _mapping_key(sync, choices), _named(sync)
        if key is not None and commit is not None and own[commit].sha is not None:
            raise InputError(
                f"{sync.origin}: --revision-commit maps {key!r}, but that revision is commit "
                f"{short(commit)} of {history.root} itself: what the tool recorded is never "
                "replaced by another commit",
                path=sync.path,
                hint=f"drop --revision-commit {key}=...",
            )
        if key is not None:
            named[sync] = choices.revision_commits[key]
        elif commit is not None:
            named[sync] = commit
        else:
            raise _not_a_commit(sync, hint)
    ids = history.resolve_ids(set(named.values()))
    out: dict[Sync, str] = {}
    for sync, name in named.items():
        found = ids[name]
        if found.sha is None:
            raise InputError(
                f"{sync.origin}: revision {sync.revision!r} on cluster {sync.cluster} names "
                f"{name!r}, which " + (found.refused or f"is not a commit of {history.root}"),
                path=sync.path,
                hint="is --repo the repository the service is built from, with full history? "
                "(a separate configuration repository's commits are not the service's: map "
                "them with --revision-commit REV=SHA)",
            )
        out[sync] = found.sha
    _contradicted(history, out, choices)
    return out


def _contradicted(history: GitHistory, commits: dict[Sync, str], choices: Choices) -> None:
    """Refuse a ``--revision-commit`` that maps a revision to one commit where the thing
    deployed says it was built from another commit of ``history``. The claim proves nothing
    (whoever pushed the artifact wrote it), but it is the build's own word: mapping the digest
    of an artifact that says it holds an unreviewed hotfix to a reviewed commit recorded the
    hotfix's rollout as the reviewed commit's, and ``check`` passed."""
    claimed = history.resolve_ids({s.claimed for s in commits if s.claimed is not None})
    for sync, commit in commits.items():
        key = _mapping_key(sync, choices)
        said = claimed[sync.claimed].sha if sync.claimed is not None else None
        if key is None or said is None or said == commit:
            continue
        raise InputError(
            f"{sync.origin}: --revision-commit maps {key!r} to {short(commit)}, but the "
            f"artifact cluster {sync.cluster} ran says it was built from commit {short(said)} "
            f"of {history.root} (its originRevision): whoever pushed it and the mapping "
            "disagree on what was deployed",
            path=sync.path,
            hint="check which commit it was built from in your build pipeline's record of "
            "what it pushed; where the originRevision is right, map the digest to that commit, "
            "and where it is wrong, record the rollout by hand",
        )


def _not_a_commit(sync: Sync, hint: str) -> InputError:
    """The refusal of a revision that names no commit; one whose artifact claims an origin
    says so, and that the claim is no proof."""
    claimed = f"; {sync.claim}" if sync.claim else ""
    return InputError(
        f"{sync.origin}: revision {sync.revision!r} on cluster {sync.cluster} is not a "
        f"git commit ({hint}){claimed}",
        path=sync.path,
        hint="map it to the commit it was built from with --revision-commit "
        f"{sync.revision}=SHA" + (", once you have checked that it was" if sync.claim else ""),
    )


@dataclass
class Move:
    """A cluster's consecutive syncs of one commit: what took it to that commit."""

    cluster: str
    commit: str
    syncs: list[Sync]

    @property
    def status(self) -> Status:
        """Succeeded when a sync of the commit succeeded, unless the latest is one the tool
        found unhealthy: then whether the commit ever ran healthy is not known."""
        if self.syncs[-1].health not in (None, "Healthy"):
            return self.syncs[-1].status
        if any(s.status == "succeeded" for s in self.syncs):
            return "succeeded"
        return self.syncs[-1].status

    @property
    def reason(self) -> str | None:
        return None if self.status == "succeeded" else self.syncs[-1].reason

    @property
    def started_at(self) -> str:
        return self.syncs[0].started_at

    @property
    def sequence(self) -> int | None:
        """The tool's number of its first sync that has one: every sync of a move comes
        before those of the cluster's next move."""
        return next((s.sequence for s in self.syncs if s.sequence is not None), None)

    @property
    def ref(self) -> str | None:
        """The branch or tag its first sync that names one was asked for."""
        return next((s.ref for s in self.syncs if s.ref), None)

    @property
    def finished_at(self) -> str | None:
        """When the cluster first ran the commit; for a move that never succeeded, when its
        last attempt ended (None while it runs)."""
        if self.status != "succeeded":
            return self.syncs[-1].finished_at
        return next(s.finished_at for s in self.syncs if s.status == "succeeded")

    @property
    def applied_at(self) -> str | None:
        """When the tool first finished applying the commit, healthy or not: what a recorded
        success is compared with (the workload may have degraded since)."""
        for sync in self.syncs:
            if sync.applied_at is not None:
                return sync.applied_at
            if sync.status == "succeeded":
                return sync.finished_at
        return None

    @property
    def health_known(self) -> bool:
        """Whether the tool said that a sync of the move left a healthy workload."""
        return any(s.health == "Healthy" for s in self.syncs)

    def answerers(self, choices: Choices) -> list[str]:
        """Who answers for the syncs that took the cluster to the commit (up to the first that
        succeeded): the person who started each, or ``--deployer`` for the tool's own."""
        found: list[str] = []
        for sync in self.syncs:
            person = answerer(sync, choices)
            if person not in found:
                found.append(person)
            if sync.status == "succeeded":
                break
        return found


def answerer(sync: Sync, choices: Choices) -> str:
    """The person who started a sync, else ``--deployer``, else what the tool said (no
    identity: REVIEW-001 then finds no independent approval)."""
    if sync.initiator and not sync.automated:
        return sync.initiator
    return choices.deployer or sync.initiator or UNNAMED


def _joins(run: Move, sync: Sync, commit: str) -> bool:
    """Whether ``sync`` continues ``run``: the same commit, applied the same way. A sync of
    local manifests never joins another; one the tool's object overrode joins only a re-sync
    with the same overrides, never a sync from git, and of the same values (a Helm release's
    ``configDigest``): a release of the same commit once its values were set back to git's is
    a rollout of its own, which may succeed where the earlier one stays failed."""
    last = run.syncs[-1]
    return (
        run.commit == commit
        and not (sync.local or last.local)
        and sync.overrides == last.overrides
        and (sync.variant == last.variant or not (sync.set_in_object or last.set_in_object))
    )


def moves(syncs: list[Sync], commits: dict[Sync, str]) -> dict[str, list[Move]]:
    """Each cluster's moves, in order of start."""
    by_cluster: dict[str, list[Sync]] = defaultdict(list)
    for sync in syncs:
        by_cluster[sync.cluster].append(sync)
    found: dict[str, list[Move]] = {}
    for cluster, own in sorted(by_cluster.items()):
        own.sort(key=lambda s: (timestamp_ns(s.started_at), s.origin))
        runs: list[Move] = []
        for sync in own:
            if runs and _joins(runs[-1], sync, commits[sync]):
                runs[-1].syncs.append(sync)
            else:
                runs.append(Move(cluster, commits[sync], [sync]))
        found[cluster] = runs
    return found


def renders(
    parent: dict[str, Any], shown: str, namespace: tuple[str, ...], *names: tuple[str, ...]
) -> tuple[str | None, str | None]:
    """The namespace the parent object renders every object into (its spec's field
    ``namespace``), and which of its ``names`` fields renames them, if one does."""
    into = dig(parent, "spec", *namespace)
    renamed = [".".join(keys) for keys in names if dig(parent, "spec", *keys)]
    return (
        into if isinstance(into, str) and into else None,
        f"{shown} sets spec.{' and '.join(renamed)}" if renamed else None,
    )
