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

The apply method annotation ``SSA`` set to ``IfNotPresent`` or ``Ignore`` leaves the object as
it is live just the same, and counts as ``KEY`` does. So does either set on what a
kustomization renders rather than on the object (its ``commonAnnotations``, ``commonLabels``,
``labels``, a patch), or by the listed Kustomization's ``spec.commonMetadata`` or
``spec.patches`` (``_setting``).
"""

from __future__ import annotations

import glob
import posixpath
import re
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

from checker.evidence.git import GitHistory
from checker.evidence.manifest_patches import KUSTOMIZATION_FILES
from checker.evidence.manifest_scope import Folder, Scope, Unfollowed
from checker.evidence.manifests import Document, ManifestReader, Unreadable, documents
from checker.importers import flux_overrides
from checker.importers.common import dig
from checker.importers.gitops import UNRECONCILED, Sync, rejudged
from checker.vocabulary import short

KEY = "kustomize.toolkit.fluxcd.io/reconcile"
"""The annotation or label that stops kustomize-controller applying and pruning an object."""
DISABLED = "disabled"
SSA = "kustomize.toolkit.fluxcd.io/ssa"
"""The annotation or label choosing how kustomize-controller applies an object: ``IfNotPresent``
creates it where missing and never applies it again, ``Ignore`` never applies it (fluxcd/pkg
``ssa``: "skipped (kustomize.toolkit.fluxcd.io/ssa: IfNotPresent)")."""
SKIPPING = {KEY: (DISABLED,), SSA: ("ifnotpresent", "ignore")}
"""Each key, with the values (any case, spaces aside) that leave an object as it is live."""
PREFIX = b"kustomize.toolkit.fluxcd.io"
"""What a file that may set one of ``SKIPPING`` holds: a JSON patch's path spells ``/`` as
``~1`` (``/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile``)."""
SUBSTITUTION = re.compile(r"\$\{[^}]*\}?")
"""A variable Flux's ``postBuild`` substitutes in what a Kustomization applies (``${var}``,
``${var:=default}``), from values the listed object or a ConfigMap no commit holds gives."""
SPEC_FIELDS = ("commonMetadata", "patches", "patchesStrategicMerge", "patchesJson6902")
"""The fields of a Flux Kustomization's spec that set metadata on what it applies."""


def own(item: dict[str, Any], syncs: list[Sync]) -> list[Sync]:
    """The syncs of the Kustomization or HelmRelease ``item``, each succeeded one ``failed``
    where ``item`` itself carries ``KEY`` ``disabled``: the Kustomization that applies it from
    git no longer updates it, so its spec as listed (``path``, ``sourceRef``, values,
    ``suspend``) may be set by hand, and Flux keeps no spec per snapshot to show otherwise."""
    found = _unreconciled(Document(item, item, None))
    if found is not None:
        shown, setting = found
        reason = (
            f"{UNRECONCILED}: {shown} itself carries {setting}, so the Kustomization "
            "that applies it no longer updates it from git: its spec as listed (path, source, "
            "values) may be set by hand, and Flux keeps no spec per snapshot; remove the "
            "annotation"
        )
    elif item.get("kind") == "Kustomization" and _setting(
        {key: dig(item, "spec", key) for key in SPEC_FIELDS}
    ):
        reason = (
            f"{UNRECONCILED}: Kustomization {item['metadata']['name']} sets {KEY} or {SSA} on "
            "what it applies (its spec.commonMetadata or spec.patches), so kustomize-controller "
            "leaves those objects as they are live, and still reports ReconciliationSucceeded; "
            "remove it"
        )
    else:
        return syncs
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
    return rejudged(history, syncs, commits, _judged, lambda sync: sync.unreconciled is not None)


def _judged(sync: Sync, commit: str, reader: ManifestReader) -> Sync | None:
    """``sync`` failed where ``commit`` holds, in the folder it applies, an object Flux does
    not reconcile (``_disabled``); None where it holds none."""
    folder = sync.unreconciled
    why = _disabled(folder, commit, reader) if folder is not None else None
    return None if why is None else replace(sync, status="failed", reason=f"{UNRECONCILED}: {why}")


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
    if within is not None:
        within = replace(within, files=within.files | within.kustomizations)
    for path, held in reader.holding(commit, PREFIX, within):
        if isinstance(held, Unreadable):
            return (
                f"{path} in {where} names {KEY} but cannot be read ({held}): whether Flux "
                "reconciles what it holds is not known"
            )
        for document in held:
            found = _unreconciled(document)
            if found is not None:
                return (
                    f"{path} in {where} sets {found[1]} on {found[0]}: "
                    "kustomize-controller does not apply the revision to it, and still reports "
                    "ReconciliationSucceeded, so the sync says nothing of it running what the "
                    "commit holds; remove the annotation from the service's objects"
                )
            if posixpath.basename(path) in KUSTOMIZATION_FILES and _setting(document.data):
                return (
                    f"{path} in {where} sets {KEY} or {SSA} on what it renders (its common "
                    "annotations or labels, or a patch): kustomize-controller does not apply "
                    "the revision to those objects, and still reports ReconciliationSucceeded; "
                    "remove it"
                )
    return None


def _skips(key: Any, value: Any) -> bool:
    """Whether ``key`` set to ``value`` leaves an object as it is live (``SKIPPING``), or may
    once Flux's ``postBuild`` substitutes the ``${var}`` either holds (from a ConfigMap or
    Secret no commit holds: each substitution may spell anything)."""
    if not isinstance(key, str) or not isinstance(value, str):
        return False
    key_shape, value_shape = _shape(key), _shape(value.strip().lower())
    return any(
        fnmatchcase(name, key_shape) and any(fnmatchcase(v, value_shape) for v in values)
        for name, values in SKIPPING.items()
    )


def _shape(text: str) -> str:
    """``text`` as a glob matching what it may read after substitution: each ``${...}`` (an
    unclosed one to the end) any text, the rest as written."""
    parts = SUBSTITUTION.split(text)
    return "*".join(glob.escape(part) for part in parts)


def _setting(data: Any, depth: int = 0) -> bool:
    """Whether a kustomization, or a Flux Kustomization's spec fields, may set one of
    ``SKIPPING`` on what it renders, anywhere in it: a key of a map (common annotations,
    labels, a strategic merge patch), a JSON patch adding it, or an inline patch (a text
    holding the key) that does or cannot be read."""
    if depth > 50:
        return True
    if isinstance(data, list):
        return any(_setting(item, depth + 1) for item in data)
    if isinstance(data, str):
        if PREFIX.decode() not in data:
            return False
        try:
            read = documents(data.encode())
        except Unreadable:
            return True
        return any(_setting([doc.data, doc.said], depth + 1) for doc in read)
    if not isinstance(data, dict):
        return False
    pointer = data.get("path")
    if isinstance(pointer, str) and _skips(pointer.split("/")[-1].replace("~1", "/"),
                                           data.get("value")):  # fmt: skip
        return True
    return any(_skips(k, v) or _setting(v, depth + 1) for k, v in data.items())


def _unreconciled(document: Document) -> tuple[str, str] | None:
    """The kind and name of ``document`` (either reading of it), and the key and value, where
    its annotations or labels set one of ``SKIPPING`` (``KEY`` to ``disabled``, ``SSA`` to
    ``IfNotPresent``), else None."""
    for data in (document.data, document.said):
        for field in ("annotations", "labels"):
            pairs = dig(data, "metadata", field)
            for key, value in pairs.items() if isinstance(pairs, dict) else ():
                if _skips(key, value):
                    return f"{data.get('kind')} {dig(data, 'metadata', 'name')}", f"{key}: {value}"
    return None
