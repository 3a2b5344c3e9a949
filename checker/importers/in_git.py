"""What a GitOps tool's object sets over the revision, found in the commit deployed: a sync
that its object's overrides made ``failed`` (``flux_overrides.applied``, Argo CD's
``argocd._overridden``) is given back what it was before where the tree of the commit it
deployed holds a manifest of that object (the same API group, kind, name and namespace)
setting exactly the same fields, compared as data, not text (``manifests.canonical``). Only a
manifest among the files the object's parent applies counts (``SetInObject.folder``: a Flux
Kustomization's ``spec.path``, an app of apps' source ``path``, followed by
``manifest_scope``): a copy elsewhere in the tree is no manifest of what the tool applied.

The object is then declared in the repository judged (flux bootstrap's ``clusters/<name>/``,
an Argo CD app of apps' ``apps/``), so what it set was reviewed with the commit. Anything else
keeps the sync ``failed``, its reason told why after the overrides it names: no manifest in
that commit, one that sets a field otherwise, two that disagree, one that cannot be read, or
what no manifest can make the commit's (``SetInObject.barred``). The commit, its trees and
each file are read from git's objects and hash-checked (``manifests.ManifestReader``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from checker.evidence.git import GitHistory
from checker.evidence.manifest_patches import Target
from checker.evidence.manifest_scope import Scope, Unfollowed, clean
from checker.evidence.manifests import ManifestReader
from checker.importers.gitops import FLUX_OVERRIDDEN, OVERRIDDEN, SetInObject, Sync
from checker.vocabulary import short


def restored(
    history: GitHistory, syncs: list[Sync], commits: dict[Sync, str]
) -> tuple[list[Sync], dict[Sync, str]]:
    """``syncs`` and their commits, each sync its object's overrides made ``failed`` given
    back what it was before where the commit it deployed holds that object's manifest setting
    exactly the same (its fields as data, not text), and else told why not."""
    said: dict[tuple[SetInObject, str], str | None] = {}
    out: list[Sync] = []
    with ManifestReader(history) as reader:
        for sync in syncs:
            setting, commit = sync.set_in_object, commits[sync]
            if setting is not None:
                why = _not_recorded(sync, setting, commit)
                if why is None:
                    key = (replace(setting, before=None), commit)
                    if key not in said:
                        said[key] = _why_not(setting, commit, reader)
                    why = said[key]
                sync = _judged(sync, setting, why)
            out.append(sync)
    return out, {sync: commits[old] for sync, old in zip(out, syncs, strict=True)}


def _not_recorded(sync: Sync, setting: SetInObject, commit: str) -> str | None:
    """Why the commit is not one whose manifests count for ``sync``: where only the commit the
    sync's revision names counts (``recorded_only``), one ``--revision-commit`` maps it to."""
    if not setting.recorded_only or sync.revision == commit:
        return None
    return (
        f"the sync recorded revision {sync.revision}, not commit {short(commit)}: only a manifest "
        "in the commit the sync recorded counts"
    )


def _judged(sync: Sync, setting: SetInObject, why: str | None) -> Sync:
    """The sync as it was before its object's overrides where git holds them (``why`` None),
    else with why not told after its reason."""
    if why is None:
        return setting.before or sync
    if (sync.reason or "").startswith((FLUX_OVERRIDDEN, OVERRIDDEN)):
        return replace(sync, reason=f"{sync.reason}; {why}")
    return sync


def _why_not(setting: SetInObject, commit: str, reader: ManifestReader) -> str | None:
    """Why the commit's tree does not show what the object sets, or None where it does."""
    kind, name = setting.kind, setting.name
    where = f"commit {short(commit)}"
    if setting.barred:
        return setting.barred
    shown = f"{kind} {setting.namespace}/{name}" if setting.namespace else f"{kind} {name}"
    within = _applied(setting, commit, reader, shown)
    if isinstance(within, str):
        return within
    target = Target(setting.group, kind, name, setting.namespace)
    found = reader.find(commit, target, within)
    if found.unreadable:
        path, problem = found.unreadable[0]
        return f"{path} in {where} names {shown} but cannot be read ({problem})"
    if not found.manifests:
        unplaced = (
            f" ({found.unplaced[0][0]} holds one that names no metadata.namespace)"
            if found.unplaced
            else ""
        )
        folder = setting.folder
        applies = (
            f" in what {folder.parent} applies ({folder.path!r})"
            if not isinstance(folder, str) and clean(folder.path)
            else ""
        )
        return f"{where} holds no manifest of {shown}{unplaced}{applies}"
    candidates = found.manifests + found.unplaced
    values = [(path, setting.reader(document)) for path, document in candidates]
    if len({held for _, held in values}) > 1:
        paths = [path for path, _ in found.manifests]
        paths += [f"{path} (no metadata.namespace)" for path, _ in found.unplaced]
        return (
            f"{len(values)} manifests of {shown} in {where} set it differently "
            f"({', '.join(sorted(paths))})"
        )
    path, held = values[0]
    differ = _differing(setting.fields, held)
    if differ:
        return f"{path} in {where} sets {', '.join(differ)} otherwise"
    return _unseen(setting, commit, reader, shown, path, _placed(within, candidates))


def _applied(setting: SetInObject, commit: str, reader: ManifestReader, shown: str) -> Scope | str:
    """The files of ``commit`` the object's parent applies it from (``manifest_scope``), where
    alone its manifest counts; else why that cannot be known."""
    folder = setting.folder
    if isinstance(folder, str):
        return folder
    try:
        return reader.applied(commit, folder)
    except Unfollowed as exc:
        return (
            f"{folder.parent} applies {shown} from {folder.path!r}, which cannot be followed in "
            f"commit {short(commit)}: {exc}"
        )


def _placed(within: Scope, manifests: list[tuple[str, Any]]) -> bool:
    """Whether a kustomization or the parent places one of ``manifests`` in a namespace."""
    return any(
        way.namespace is not None for path, _ in manifests for way in within.rendered.get(path, ())
    )


def _unseen(
    setting: SetInObject,
    commit: str,
    reader: ManifestReader,
    shown: str,
    path: str,
    placed: bool,
) -> str | None:
    """What of the commit may render the object otherwise than its manifest ``path`` is
    written, though it sets what the object does: a kustomize patch that may select it (by
    any namespace where a kustomization or the parent ``placed`` it in its namespace: the
    patch applies before), a submodule whose files are not read."""
    where = f"commit {short(commit)}"
    namespace = None if placed else setting.namespace
    target = Target(setting.group, setting.kind, setting.name, namespace)
    patches = reader.patching(commit, target)
    if patches:
        return (
            f"{', '.join(patches[:3])}{' ...' if patches[3:] else ''} in {where} may patch "
            f"{shown}: kustomize renders its manifest otherwise than {path} writes it"
        )
    if reader.submodules(commit):
        return (
            f"{where} declares git submodules (.gitmodules), whose files are not read: one may "
            f"hold another manifest of {shown}"
        )
    return None


def _differing(fields: tuple[tuple[str, str], ...], held: tuple[tuple[str, str], ...]) -> list[str]:
    """The fields the object sets other than the manifest ``held`` does, or that one of the two
    sets and the other lacks; a value that could not be read as data (``!...``) equals
    nothing, its like included."""
    mine, theirs = dict(fields), dict(held)
    order = [f for f, _ in fields] + [f for f, _ in held if f not in mine]
    return [f for f in order if mine.get(f) != theirs.get(f) or (mine.get(f) or "").startswith("!")]
