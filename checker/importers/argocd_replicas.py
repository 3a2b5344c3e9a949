"""The replica count an Argo CD Application ignores, against what git keeps it at.

An ``ignoreDifferences`` entry of ``/spec/replicas`` alone (``.spec.replicas``), the
documentation's own example for a Deployment an autoscaler scales, is passed over by
``argocd_ignored``: the count chooses nothing of what runs, so long as git runs the workload at
all. One git keeps at ``replicas: 0`` is a service meant to be off, code meant never to run; a
``kubectl scale --replicas=3`` by hand runs it, and Argo CD, which no longer compares the
count, reports the application ``Synced`` and ``Healthy``. Its latest sync, where it stands on
``Synced`` (``argocd_health``), is therefore judged against the commit synced: the files the
Application renders from it (its one source of the repository judged that names a ``path``,
followed as ``manifest_scope`` follows an app of apps' folder) are read, and a document of a
kind the entry covers (and of its name, where the entry names one) with ``spec.replicas: 0``
fails the sync. So does what cannot be read (a folder that cannot be followed, a plugin's or a
chart repository's source, a Helm template holding ``{{``, a file that does not parse): whether
git keeps such a workload at zero is then not known. The sources are those the sync recorded
(its history entry), else the spec's as listed. Naming in the entry the workloads an
autoscaler owns (``name:``) leaves out the others.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from checker.evidence.git import GitHistory
from checker.evidence.manifest_scope import Unfollowed
from checker.evidence.manifests import Document, ManifestReader, Unreadable
from checker.importers import argocd_ignored, argocd_parents
from checker.importers.common import dig
from checker.importers.gitops import DRIFT, IgnoredReplicas, Sync
from checker.vocabulary import short

DRIFTED = "OutOfSync"
"""What a sync's ``health`` says when nothing shows the cluster runs what it applied."""
REMEDY = (
    "name in the entry (name:) the workloads an autoscaler owns, or stop ignoring the replica count"
)


def marked(item: dict[str, Any], sync: Sync, repo: str | None, path: Path) -> Sync:
    """``sync``, the application's latest, with the replica count it ignores and the folder
    it renders, where it ignores it and the sync stands succeeded; else as it is."""
    if sync.status != "succeeded":
        return sync
    found = argocd_ignored.replicas(item, path)
    if found is None:
        return sync
    name = item["metadata"]["name"]
    history = dig(item, "status", "history")
    entry = history[-1] if isinstance(history, list) and history else None
    recorded = isinstance(entry, dict) and (entry.get("sources") or entry.get("source"))
    # The sources the sync recorded, else (an older Argo CD) the spec's as listed.
    rendered = {"spec": entry} if recorded else item
    folder = argocd_parents.source_folder(
        rendered, f"application {name}", repo or dig(item, "spec", "source", "repoURL")
    )
    if isinstance(folder, str):
        folder = (
            f"application {name} renders no one folder of the repository judged that is read "
            "(a source of another repository, a chart, a plugin, several, or files chosen by "
            "globs or patched in the Application)"
        )
    return replace(sync, replicas=IgnoredReplicas(found[0], found[1], folder))


def checked(
    history: GitHistory, syncs: list[Sync], commits: dict[Sync, str]
) -> tuple[list[Sync], dict[Sync, str]]:
    """``syncs`` and their commits, each succeeded sync that ignores the replica count
    ``failed`` where the commit keeps a workload it covers at zero replicas, or where that
    cannot be known."""
    if not any(sync.replicas is not None for sync in syncs):
        return syncs, commits
    out: list[Sync] = []
    with ManifestReader(history) as reader:
        for sync in syncs:
            ignored = sync.replicas
            if ignored is not None and sync.status == "succeeded":
                why = _kept_at_zero(ignored, commits[sync], reader)
                if why is not None:
                    sync = replace(
                        sync,
                        status="failed",
                        reason=f"{DRIFT}Synced does not cover {ignored.shown}: {why}",
                        health=DRIFTED,
                        applied_at=sync.finished_at,
                    )
            out.append(sync)
    return out, {sync: commits[old] for sync, old in zip(out, syncs, strict=True)}


def _kept_at_zero(ignored: IgnoredReplicas, commit: str, reader: ManifestReader) -> str | None:
    """Why the replica count ignored may leave a workload git keeps off running unseen: a
    document of the commit the application renders keeps one at zero, or what it renders
    cannot be read; None where none is kept at zero."""
    unknown = (
        f"whether commit {short(commit)} keeps a workload it covers at replicas: 0, which a "
        "kubectl scale would run with no drift shown, is not known: "
    )
    if isinstance(ignored.folder, str):
        return f"{unknown}{ignored.folder}; {REMEDY}"
    try:
        within = reader.applied(commit, ignored.folder)
    except Unfollowed as exc:
        folder = ignored.folder
        return f"{unknown}{folder.parent} renders {folder.path!r}, which cannot be followed: {exc}"
    for path, held in reader.holding(commit, b"replicas", within):
        if isinstance(held, Unreadable):
            return f"{unknown}{path} cannot be read ({held}); {REMEDY}"
        for document in held:
            shown = _at_zero(document, ignored.kinds)
            if shown is not None:
                return (
                    f"{path} in commit {short(commit)} keeps {shown} at replicas: 0, a workload "
                    "meant not to run: a kubectl scale runs it and Argo CD, which no longer "
                    f"compares the count, stays Synced; {REMEDY}"
                )
    return None


def _at_zero(document: Document, kinds: tuple[tuple[str | None, str | None], ...]) -> str | None:
    """The kind and name of ``document`` (either reading of it) where it is of one of
    ``kinds`` and keeps ``spec.replicas`` at zero, else None."""
    for data in (document.data, document.said):
        if not isinstance(data, dict):
            continue
        kind, name = data.get("kind"), dig(data, "metadata", "name")
        count = dig(data, "spec", "replicas")
        covered = any(k in (None, kind) and n in (None, name) for k, n in kinds)
        zero = isinstance(count, int | float) and not isinstance(count, bool) and count == 0
        if covered and zero:
            return f"{kind} {name}"
    return None
