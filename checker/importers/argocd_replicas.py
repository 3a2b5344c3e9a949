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

import posixpath
import re
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from checker.evidence.git import GitHistory
from checker.evidence.manifest_scope import Scope, Unfollowed, clean
from checker.evidence.manifests import SUFFIXES, Document, ManifestReader, Unreadable, documents
from checker.importers import argocd_ignored, argocd_parents
from checker.importers.common import dig
from checker.importers.gitops import DRIFT, IgnoredReplicas, Sync, rejudged
from checker.vocabulary import short

PATCHES = ("patches", "patchesStrategicMerge", "patchesJson6902")
"""The fields of a kustomization whose patches (inline, or in a file it names) render what it
lists otherwise than written: one may set a replica count to zero."""
ZERO_TEXT = re.compile(r"[+-]?0+")
"""A count given as text that ``strconv.Atoi`` reads as zero."""
Kinds = tuple[tuple[str | None, str | None], ...]
DRIFTED = "OutOfSync"
"""What a sync's ``health`` says when nothing shows the cluster runs what it applied."""
REMEDY = (
    "name in the entry (name:) the workloads an autoscaler owns, or stop ignoring the replica count"
)
UNREAD = (
    "naming workloads in the entry does not help while this is not read: leave spec.replicas "
    "out of the manifests of what an autoscaler owns (Argo CD's best practices; a chart's "
    "autoscaling.enabled commonly does so) and stop ignoring the replica count"
)
"""The remedy where what the application renders is not read: a name in the entry leaves the
workloads it does not name compared, but which of them the unread files keep at zero is not
known, so the sync fails whatever the entry names."""


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
    zeroed = _zeroed(rendered, found[1], name)
    return replace(sync, replicas=IgnoredReplicas(found[0], found[1], folder, zeroed))


def _zeroed(app: dict[str, Any], kinds: Kinds, name: str) -> str | None:
    """The workloads ``kinds`` covers that the sources of ``app`` set to zero replicas in the
    Application itself (``source.kustomize.replicas``, whose ``count`` is a number or its
    text), as a reason names them; None where none. A source that renames what it renders
    (``kustomize.namePrefix``) leaves the entries' names, the rendered ones, unmatched."""
    spec = app.get("spec")
    sources = dig(app, "spec", "sources") or [
        spec.get("source") if isinstance(spec, dict) else None
    ]
    found = []
    for source in sources if isinstance(sources, list) else []:
        kustomize = dig({"x": source}, "x", "kustomize")
        if not isinstance(kustomize, dict):
            continue
        renamed = kustomize.get("namePrefix") or kustomize.get("nameSuffix")
        counts = kustomize.get("replicas")
        for item in counts if isinstance(counts, list) else []:
            workload, count = dig({"x": item}, "x", "name"), dig({"x": item}, "x", "count")
            if _count_zero(count) and (renamed or any(n in (None, workload) for _, n in kinds)):
                found.append(str(workload))
    if not found:
        return None
    return f"application {name} sets source.kustomize.replicas ({', '.join(found)}: count 0)"


def checked(
    history: GitHistory, syncs: list[Sync], commits: dict[Sync, str]
) -> tuple[list[Sync], dict[Sync, str]]:
    """``syncs`` and their commits, each succeeded sync that ignores the replica count
    ``failed`` where the commit keeps a workload it covers at zero replicas, or where that
    cannot be known."""
    return rejudged(history, syncs, commits, _judged, lambda sync: sync.replicas is not None)


def _judged(sync: Sync, commit: str, reader: ManifestReader) -> Sync | None:
    """``sync`` failed where the replica count it ignores may leave a workload of ``commit``
    kept at zero running unseen (``_kept_at_zero``); None where none is."""
    ignored = sync.replicas
    if ignored is None:
        return None
    why = _kept_at_zero(ignored, commit, reader)
    if why is None:
        return None
    return replace(
        sync,
        status="failed",
        reason=f"{DRIFT}Synced does not cover {ignored.shown}: {why}",
        health=DRIFTED,
        applied_at=sync.finished_at,
    )


def _kept_at_zero(ignored: IgnoredReplicas, commit: str, reader: ManifestReader) -> str | None:
    """Why the replica count ignored may leave a workload git keeps off running unseen: a
    document of the commit the application renders keeps one at zero, or what it renders
    cannot be read; None where none is kept at zero."""
    unknown = (
        f"whether commit {short(commit)} keeps a workload it covers at replicas: 0, which a "
        "kubectl scale would run with no drift shown, is not known: "
    )
    if ignored.zeroed is not None:
        return (
            f"{ignored.zeroed}, keeping a workload meant not to run at replicas: 0: a kubectl "
            f"scale runs it and Argo CD, which no longer compares the count, stays Synced; {REMEDY}"
        )
    if isinstance(ignored.folder, str):
        return f"{unknown}{ignored.folder}; {UNREAD}"
    try:
        within = reader.applied(commit, ignored.folder)
    except Unfollowed as exc:
        folder = ignored.folder
        return (
            f"{unknown}{folder.parent} renders {folder.path!r}, which cannot be followed: {exc}; "
            f"{UNREAD}"
        )
    links = reader.links(commit, ignored.folder.path, within)
    if links:
        return (
            f"{unknown}{links[0]} is a symbolic link, whose file Argo CD reads as a manifest "
            f"and which is not read here; {UNREAD}"
        )
    found = _written_at_zero(commit, ignored.kinds, within, reader)
    found = found or _overlaid(commit, _unnamed(ignored.kinds, within), within, reader)
    found = found or _templated(commit, within, reader)
    if found is None:
        return None
    path, shown = found
    if shown is None:
        return f"{unknown}{path}; {UNREAD}"
    return (
        f"{path} in commit {short(commit)} keeps {shown} at replicas: 0, a workload meant not "
        "to run: a kubectl scale runs it and Argo CD, which no longer compares the count, "
        f"stays Synced; {REMEDY}"
    )


def _written_at_zero(
    commit: str, kinds: Kinds, within: Scope, reader: ManifestReader
) -> tuple[str, str | None] | None:
    """The file of ``within`` with a document of ``kinds`` written at zero replicas and what
    it keeps there, or one that cannot be read (and None); None where there is neither. A
    kustomization that renames what it renders (``namePrefix``) leaves the names the
    entries give (the rendered ones) unmatched to those written: names then do not count."""
    for path, held in reader.holding(commit, b"replicas", within):
        if isinstance(held, Unreadable):
            return f"{path} cannot be read ({held})", None
        renamed = any(way.renamed for way in within.rendered.get(path, ()))
        for document in held:
            shown = _at_zero(document, tuple((k, None) for k, _ in kinds) if renamed else kinds)
            if shown is not None:
                return path, shown
    return None


def _templated(commit: str, within: Scope, reader: ManifestReader) -> tuple[str, None] | None:
    """A Helm template of ``within`` holding ``{{`` (and None), where there is one: what it
    renders is not known, though its text never spells ``replicas`` (``include`` of a partial,
    ``toYaml`` of values that set the count)."""
    templates = replace(within, files=within.templates)
    for path, held in reader.holding(commit, b"{{", templates):
        if isinstance(held, Unreadable):
            return f"{path} cannot be read ({held})", None
    return None


def _unnamed(kinds: Kinds, within: Scope) -> Kinds:
    """``kinds``, their names left out where a kustomization on the way renames what it
    renders: the names the entries give are then not those a kustomization writes."""
    renamed = any(way.renamed for ways in within.rendered.values() for way in ways)
    return tuple((k, None) for k, _ in kinds) if renamed else kinds


def _overlaid(
    commit: str, kinds: Kinds, within: Scope, reader: ManifestReader
) -> tuple[str, str | None] | None:
    """The kustomization followed that sets a workload ``kinds`` covers to zero replicas (its
    ``replicas`` field with ``count: 0``, a patch of it, inline or in a file it names, that sets
    a ``replicas`` to 0) and what it sets, or one whose patch cannot be read (and None); None
    where none does. What a patch selects is read from its text: one that names none of the
    entries' names counts for none of them."""
    for path, held in reader.holding(commit, b"", Scope(within.kustomizations)):
        if isinstance(held, Unreadable):
            return f"{path} cannot be read ({held})", None
        for document in held:
            for data in (document.data, document.said):
                found = _unrendered(data, path) or _kustomization_zero(
                    data, path, kinds, (commit, reader)
                )
                if found is not None:
                    return found
    return None


def _unrendered(data: Any, path: str) -> tuple[str, None] | None:
    """Why what the kustomization ``data`` (of ``path``) renders is not known (and None): it
    inflates Helm charts (``helmCharts``, which Argo CD renders with ``--enable-helm``), or an
    inline ``replacements`` entry copies into a ``replicas`` field (or a wildcard path) a value
    read elsewhere; None where neither."""
    if not isinstance(data, dict):
        return None
    if data.get("helmCharts"):
        return f"{path} inflates Helm charts (helmCharts), which are not read", None
    items = data.get("replacements")
    for item in items if isinstance(items, list) else []:
        targets = dig({"x": item}, "x", "targets")
        for target in targets if isinstance(targets, list) else []:
            paths = dig({"x": target}, "x", "fieldPaths")
            if any(
                not isinstance(field, str) or "*" in field or field.endswith("replicas")
                for field in (paths if isinstance(paths, list) else [paths])
            ):
                return f"{path} replaces a replicas field with a value it reads elsewhere", None
    return None


def _kustomization_zero(
    data: Any, path: str, kinds: Kinds, tree: tuple[str, ManifestReader]
) -> tuple[str, str | None] | None:
    """What the kustomization ``data`` (of ``path``) sets to zero replicas of ``kinds``, as
    ``_overlaid`` tells it."""
    if not isinstance(data, dict):
        return None
    counts = data.get("replicas")
    for item in counts if isinstance(counts, list) else []:
        name = dig({"x": item}, "x", "name")
        if _zero(dig({"x": item}, "x", "count")) and any(n in (None, name) for _, n in kinds):
            return path, f"the workload named {name} (its replicas field)"
    for key in PATCHES:
        items = data.get(key)
        for item in items if isinstance(items, list) else []:
            found = _patch_zero(item, (path, key), kinds, tree)
            if found is not None:
                return found
    return None


def _patch_zero(
    item: Any, where: tuple[str, str], kinds: Kinds, tree: tuple[str, ManifestReader]
) -> tuple[str, str | None] | None:
    """What the patch ``item`` of the kustomization ``where`` names (its file, and the field)
    sets to zero replicas, as ``_overlaid`` tells it."""
    path, key = where
    if isinstance(item, dict):
        inline, given = item.get("patch"), item.get("path")
        kinds = tuple((k, None) for k, _ in kinds) if _selects_any(item) else kinds
    else:  # a patchesStrategicMerge entry: a file (read as a document of the folder) or inline
        inline, given = (item if isinstance(item, str) and "\n" in item.strip() else None), None
    read: list[Any] = []
    if isinstance(inline, str):
        try:
            read = [d for doc in documents(inline.encode()) for d in (doc.data, doc.said)]
        except Unreadable as exc:
            return f"{path} {key} holds a patch that cannot be read ({exc})", None
    elif isinstance(given, str):
        return _patch_file(given, (path, key), kinds, tree, repr(item))
    text = repr([item, read])
    if any(_zero_in(data) for data in read) and _names_any(text, kinds):
        return path, f"the workload a {key} entry of it selects"
    return None


def _patch_file(
    given: str,
    where: tuple[str, str],
    kinds: Kinds,
    tree: tuple[str, ManifestReader],
    entry: str,
) -> tuple[str, str | None] | None:
    """What the patch file ``given`` of the kustomization ``where`` sets to zero replicas; the
    kustomization's entry (``entry``, as text) may name what it selects, as its file may."""
    path, key = where
    commit, reader = tree
    try:
        file = clean(posixpath.join(posixpath.dirname(path), given))
    except Unfollowed:
        return f"{path} {key} patches with {given!r}, outside the repository", None
    if not file.lower().endswith(SUFFIXES):
        return f"{path} {key} patches with {given!r}, which is not read", None
    for _, held in reader.holding(commit, b"replicas", Scope(frozenset({file}))):
        if isinstance(held, Unreadable):
            return f"{file} cannot be read ({held})", None
        read = [d for doc in held for d in (doc.data, doc.said)]
        if any(_zero_in(data) for data in read) and _names_any(repr(read) + entry, kinds):
            return file, f"the workload a {key} entry of {path} selects"
    return None


def _selects_any(item: dict[str, Any]) -> bool:
    """Whether the patch entry ``item``'s ``target`` may select a workload whatever its name:
    by a label or annotation selector, or by a name kustomize reads as a regular expression
    (any character but those of a name with no dot: ``power-p.*``, ``power.peg``)."""
    target = item.get("target")
    if not isinstance(target, dict):
        return False
    if target.get("labelSelector") or target.get("annotationSelector"):
        return True
    name = target.get("name")
    return name is not None and not (
        isinstance(name, str) and name and all(c.isalnum() or c == "-" for c in name)
    )


def _names_any(text: str, kinds: Kinds) -> bool:
    """Whether a patch whose text is ``text`` may select a workload of ``kinds``: an entry
    names no workload, or the text holds its name."""
    return any(name is None or name in text for _, name in kinds)


def _zero(value: Any) -> bool:
    """Whether ``value`` is a replica count of zero."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _kind_covers(pattern: str | None, kind: Any) -> bool:
    """Whether an entry's ``kind`` covers a document's: Argo CD matches it as a glob
    (``diff_normalizer.go``: ``glob.Match``), ``*`` and ``Deploy*`` covering a Deployment; one
    with alternatives (``{a,b}``) is taken to cover any kind, and none given covers any."""
    if pattern is None or "{" in pattern:
        return True
    return isinstance(kind, str) and fnmatchcase(kind, pattern)


def _count_zero(count: Any) -> bool:
    """Whether an Argo CD ``kustomize.replicas`` count (a number, or its text) is zero: Argo CD
    reads the text with ``strconv.Atoi`` (``GetIntCount``), a sign and any run of zeros."""
    return _zero(count) or (
        isinstance(count, str) and ZERO_TEXT.fullmatch(count.strip()) is not None
    )


def _zero_in(data: Any) -> bool:
    """Whether the patch ``data`` sets a ``replicas`` to zero anywhere: a field of that name,
    or a JSON patch operation adding or replacing a path that ends in it."""
    if isinstance(data, list):
        return any(_zero_in(item) for item in data)
    if not isinstance(data, dict):
        return False
    pointer = data.get("path")
    if (
        data.get("op") in ("add", "replace")
        and isinstance(pointer, str)
        and pointer.rstrip("/").endswith("replicas")
        and _zero(data.get("value"))
    ):
        return True
    return _zero(data.get("replicas")) or any(_zero_in(value) for value in data.values())


def _at_zero(document: Document, kinds: Kinds) -> str | None:
    """The kind and name of ``document`` (either reading of it) where it is of one of
    ``kinds`` and keeps ``spec.replicas`` at zero, else None."""
    for data in (document.data, document.said):
        if not isinstance(data, dict):
            continue
        kind, name = data.get("kind"), dig(data, "metadata", "name")
        covered = any(_kind_covers(k, kind) and n in (None, name) for k, n in kinds)
        if covered and _zero(dig(data, "spec", "replicas")):
            return f"{kind} {name}"
    return None
