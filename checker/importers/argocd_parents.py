"""The folder an app of apps applies an Application's manifest from: only a manifest of the
Application there, in the commit its sync recorded, was what Argo CD applied (``in_git``); a
copy elsewhere in the tree (an example in ``docs/``) is no one's.

Argo CD marks what an application applies with its tracking: the annotation
``argocd.argoproj.io/tracking-id`` (``PARENT:argoproj.io/Application:NAMESPACE/NAME``, the
parent written ``NAMESPACE_NAME`` where applications live in several namespaces; Argo CD 3.0's
default) or the label ``app.kubernetes.io/instance`` (the parent's name; the default before).
The parent must be among the applications listed, list the Application among its
``status.resources`` as one it renders (``Synced`` or ``OutOfSync``, not ``requiresPruning``:
Argo CD lists there too a live object its tracking names though the parent renders none such),
no other application listed may list it (``_unclaimed``), and it must have one source
of the repository judged that names a ``path``: that folder of the commit, as Argo CD renders
it (``manifest_scope``).
Anything else (no tracking, a parent not listed, one of another repository, a plugin's, a
chart's of a Helm repository, one that chooses files by ``directory.include`` or ``exclude``
globs) is told, and no manifest counts. Nor does one of an Application an ApplicationSet owns:
its spec is the ApplicationSet's template, its generators' parameters filled in
(``_generated``).
"""

from __future__ import annotations

from typing import Any

from checker.evidence.manifest_scope import Folder
from checker.importers.common import dig
from checker.importers.gitops import renders

TRACKING_ID = "argocd.argoproj.io/tracking-id"
INSTANCE = "app.kubernetes.io/instance"
GROUP = "argoproj.io"
UNREAD = "its parent application was not read"
"""What an override's folder says until ``folder`` has read it: no manifest counts."""


def folder(item: dict[str, Any], items: list[dict[str, Any]], repo: str | None) -> Folder | str:
    """The folder the application that applied ``item`` renders, where ``item``'s manifest
    counts; else why that is not known. ``repo`` is the repository judged (``--source-repo``,
    else ``item``'s own source's)."""
    generated = _generated(item)
    if generated is not None:
        return generated
    named = _parent(item)
    if named is None:
        return (
            f"it carries no {TRACKING_ID} annotation nor {INSTANCE} label: no application is "
            "known to apply it from the commit, so no manifest there is known to be the one "
            "applied"
        )
    namespace, name = named
    found = [
        other
        for other in items
        if dig(other, "metadata", "name") == name
        and namespace in (None, dig(other, "metadata", "namespace"))
    ]
    parent = f"application {name}"
    if len(found) != 1:
        return (
            f"{parent}, which its tracking says applied it, is "
            f"{'not' if not found else 'not one'} application of the listing read: which folder "
            "it applies is not known (list the parent beside it)"
        )
    unclaimed = _unclaimed(item, found[0], items, parent)
    if unclaimed is not None:
        return unclaimed
    return source_folder(found[0], parent, repo or dig(item, "spec", "source", "repoURL"))


def _unclaimed(
    item: dict[str, Any], parent: dict[str, Any], items: list[dict[str, Any]], shown: str
) -> str | None:
    """Why the application ``parent`` that ``item``'s tracking names is not known to apply it,
    or None: it must list ``item`` among its resources (``status.resources``, which Argo CD
    writes from what the parent renders and finds live), and no other application listed may.
    The tracking is a label or annotation of ``item``, as editable in the cluster as its
    spec: pointed at another app of apps whose folder holds a manifest that agrees, it would
    stand for values set by hand."""
    claiming = [other for other in items if _lists(other, item)]
    if not _lists(parent, item, rendered=True):
        return (
            f"{shown}, which its tracking says applied it, does not list it among its resources "
            "(status.resources) as one it renders (compared, Synced or OutOfSync, and not to "
            "be pruned): that it applies it is not known, and the tracking, a label or "
            "annotation, is as editable in the cluster as the spec"
        )
    others = sorted(str(dig(o, "metadata", "name")) for o in claiming if o is not parent)
    if others:
        return (
            f"{shown} and application {', '.join(others)} all list it among their resources "
            "(status.resources): which one's manifest set it is not known"
        )
    return None


def _lists(app: dict[str, Any], item: dict[str, Any], rendered: bool = False) -> bool:
    """Whether ``app`` lists the Application ``item`` among its ``status.resources``; with
    ``rendered``, as one it renders. Argo CD lists there too a live object whose tracking names
    the application though it renders none such (``controller/state.go``): with
    ``requiresPruning`` where the tracking is the object's own, with no sync status where it
    is not; an object it renders has one, ``Synced`` or ``OutOfSync``."""
    resources = dig(app, "status", "resources")
    namespace = dig(item, "metadata", "namespace")
    return any(
        isinstance(entry, dict)
        and entry.get("group") == GROUP
        and entry.get("kind") == "Application"
        and entry.get("name") == dig(item, "metadata", "name")
        and entry.get("namespace") in ({namespace} if namespace else {None, ""})
        and (not rendered or _rendered(entry))
        for entry in (resources if isinstance(resources, list) else [])
    )


def _rendered(entry: dict[str, Any]) -> bool:
    """Whether a ``status.resources`` entry is of an object the application renders."""
    return entry.get("requiresPruning") is not True and entry.get("status") in RENDERED


RENDERED = ("Synced", "OutOfSync")
"""The sync status Argo CD gives an object its application renders, compared with it live."""


def _generated(item: dict[str, Any]) -> str | None:
    """Why no manifest of ``item`` counts where an ApplicationSet owns it (``ownerReferences``
    kind ``ApplicationSet``, as its controller writes them), else None. Its controller writes
    the Application's spec from the ApplicationSet's template, its generators' parameters
    filled in, and writes it back on every reconcile: an Application manifest of that name in
    the commit is not what set it, and the template and generators are not read."""
    owners = dig(item, "metadata", "ownerReferences")
    sets = sorted(
        str(owner.get("name"))
        for owner in (owners if isinstance(owners, list) else [])
        if isinstance(owner, dict) and owner.get("kind") == "ApplicationSet"
    )
    if not sets:
        return None
    return (
        f"ApplicationSet {', '.join(sets)} generates it (metadata.ownerReferences): its spec is "
        "that ApplicationSet's template with its generators' parameters, which are not read, "
        "so no Application manifest in the commit is known to be what set it"
    )


def source_folder(app: dict[str, Any], parent: str, repo: Any) -> Folder | str:
    """The folder of ``repo`` the application ``app`` renders: its one source of that
    repository that names a ``path`` and no plugin; else why not."""
    from checker.importers.argocd import same_repository

    spec = app.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    ours = [
        s
        for s in sources if isinstance(s, dict)
        and isinstance(s.get("repoURL"), str) and isinstance(repo, str)
        and same_repository(s["repoURL"], repo)
        and isinstance(s.get("path"), str)
    ]  # fmt: skip
    if len(ours) != 1 or ours[0].get("plugin") is not None:
        return (
            f"{parent} applies it from no one folder of the repository judged (a source of "
            "another repository, a chart, a plugin, or several): its manifest there is not "
            "known to be the one applied"
        )
    return _directory(ours[0], parent)


def _directory(source: dict[str, Any], parent: str) -> Folder | str:
    """The folder a directory ``source`` renders, its subfolders with ``recurse``; where an
    ``include`` or ``exclude`` glob chooses its files, why it is not followed."""
    if dig(source, "kustomize", "patches"):
        return (
            f"{parent} patches what it renders (its source.kustomize.patches, set in the "
            "Application): its manifest there is not rendered as written"
        )
    chosen = [key for key in ("include", "exclude") if dig(source, "directory", key)]
    if chosen:
        return (
            f"{parent} applies only the files of {source['path']!r} that its "
            f"{' and '.join('directory.' + key for key in chosen)} glob chooses, which is not "
            "read: its manifest there is not known to be one applied"
        )
    recurse = dig(source, "directory", "recurse") is True
    namespace, renamed = renders(
        {"spec": {"source": source}},
        parent,
        ("source", "kustomize", "namespace"),
        ("source", "kustomize", "namePrefix"),
        ("source", "kustomize", "nameSuffix"),
    )
    imaged = dig(source, "kustomize", "images") and f"{parent} sets source.kustomize.images"
    return Folder(
        source["path"], parent, "argocd", recurse,
        namespace=namespace, renamed=renamed, imaged=imaged or None,
    )  # fmt: skip


def _parent(item: dict[str, Any]) -> tuple[str | None, str] | None:
    """The (namespace or None, name) of the application its tracking names."""
    annotation = dig(item, "metadata", "annotations", TRACKING_ID)
    if isinstance(annotation, str) and ":" in annotation:
        app = annotation.split(":", 1)[0]
        namespace, _, name = app.rpartition("_")
        return (namespace or None, name) if name else None
    label = dig(item, "metadata", "labels", INSTANCE)
    return (None, label) if isinstance(label, str) and label else None
