"""Objects of a commit that Flux does not reconcile. kustomize-controller neither applies
changes from the source to an object annotated (or labelled)
``kustomize.toolkit.fluxcd.io/reconcile: disabled`` in the cluster, nor prunes it
(fluxcd/kustomize-controller#484, "Allow disabling the reconciliation of in-cluster
resources"): the Kustomization still reports ``ReconciliationSucceeded`` for the revision, and
its history records the snapshot as any other. A manifest of the commit that carries the
annotation puts it on the live object once applied, and from then on that object keeps
whatever it was, hand edits included, whatever later commits hold.

So each successful snapshot of a Kustomization is judged against its commit: the files its
``spec.path`` (with ``spec.components``) applies, followed as ``manifest_scope`` follows them,
else (a folder that cannot be followed, a Kustomization whose last applied revision names no
commit) every file of the commit. A document that carries the annotation or the label as
``disabled`` (any case, spaces aside: read more widely, it can only find more), or a file that
names the key and cannot be read, fails the snapshot. So does the annotation on the listed
Kustomization or HelmRelease itself (``own``): its parent no longer applies it from git. The
annotation set by hand on a live workload is in no listing read here, and is not judged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from checker.evidence.git import GitHistory
from checker.evidence.manifest_scope import Folder, Scope, Unfollowed
from checker.evidence.manifests import Document, ManifestReader, Unreadable
from checker.importers import flux_overrides
from checker.importers.common import dig
from checker.importers.gitops import UNRECONCILED, Sync
from checker.vocabulary import short

KEY = "kustomize.toolkit.fluxcd.io/reconcile"
"""The annotation or label that stops kustomize-controller applying and pruning an object."""
DISABLED = "disabled"


def own(item: dict[str, Any], syncs: list[Sync]) -> list[Sync]:
    """The syncs of the Kustomization or HelmRelease ``item``, each succeeded one ``failed``
    where ``item`` itself carries ``KEY`` ``disabled``: the Kustomization that applies it from
    git no longer updates it, so its spec as listed (``path``, ``sourceRef``, values,
    ``suspend``) may be set by hand, and Flux keeps no spec per snapshot to show otherwise."""
    shown = _unreconciled(Document(item, item, None))
    if shown is None:
        return syncs
    reason = (
        f"{UNRECONCILED}: {shown} itself carries {KEY}: disabled, so the Kustomization that "
        "applies it no longer updates it from git: its spec as listed (path, source, values) "
        "may be set by hand, and Flux keeps no spec per snapshot; remove the annotation"
    )
    return [
        replace(sync, status="failed", reason=reason) if sync.status == "succeeded" else sync
        for sync in syncs
    ]


def marked(item: dict[str, Any], syncs: list[Sync]) -> list[Sync]:
    """The Kustomization ``item``'s ``syncs``, each succeeded one with the folder it applies
    (``Sync.unreconciled``), to be searched in its commit (``checked``)."""
    namespace, name = dig(item, "metadata", "namespace"), item["metadata"]["name"]
    shown = f"Kustomization {namespace}/{name}" if namespace else f"Kustomization {name}"
    folder = flux_overrides.spec_folder(shown, item)
    return [
        replace(sync, unreconciled=folder) if sync.status == "succeeded" else sync for sync in syncs
    ]


def checked(
    history: GitHistory, syncs: list[Sync], commits: dict[Sync, str]
) -> tuple[list[Sync], dict[Sync, str]]:
    """``syncs`` and their commits, each succeeded sync whose commit holds an object Flux does
    not reconcile, or a file naming ``KEY`` that cannot be read, ``failed``."""
    if not any(sync.unreconciled is not None for sync in syncs):
        return syncs, commits
    out: list[Sync] = []
    with ManifestReader(history) as reader:
        for sync in syncs:
            folder = sync.unreconciled
            if folder is not None and sync.status == "succeeded":
                why = _disabled(folder, commits[sync], reader)
                if why is not None:
                    sync = replace(sync, status="failed", reason=f"{UNRECONCILED}: {why}")
            out.append(sync)
    return out, {sync: commits[old] for sync, old in zip(out, syncs, strict=True)}


def _disabled(folder: Folder | str, commit: str, reader: ManifestReader) -> str | None:
    """Why the commit holds an object kustomize-controller does not reconcile (``KEY``
    ``disabled``), or a file naming ``KEY`` that cannot be read; None where it holds none."""
    within: Scope | None = None
    where = f"commit {short(commit)}"
    if isinstance(folder, Folder):
        try:
            within = reader.applied(commit, folder)
            where = f"what {folder.parent} applies of commit {short(commit)} ({folder.path!r})"
        except Unfollowed:
            within = None
    for path, held in reader.holding(commit, KEY.encode(), within):
        if isinstance(held, Unreadable):
            return (
                f"{path} in {where} names {KEY} but cannot be read ({held}): whether Flux "
                "reconciles what it holds is not known"
            )
        for document in held:
            shown = _unreconciled(document)
            if shown is not None:
                return (
                    f"{path} in {where} sets {KEY}: disabled on {shown}: kustomize-controller "
                    "neither applies the revision to it nor prunes it once the live object "
                    "carries it, and still reports ReconciliationSucceeded, so the sync says "
                    "nothing of it running what the commit holds; remove the annotation from "
                    "the service's objects"
                )
    return None


def _unreconciled(document: Document) -> str | None:
    """The kind and name of ``document`` (either reading of it) where its annotations or
    labels set ``KEY`` to ``disabled``, else None."""
    for data in (document.data, document.said):
        for field in ("annotations", "labels"):
            value = dig(data, "metadata", field, KEY)
            if isinstance(value, str) and value.strip().lower() == DISABLED:
                return f"{data.get('kind')} {dig(data, 'metadata', 'name')}"
    return None
