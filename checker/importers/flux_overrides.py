"""What a Flux object sets over the revision it applies: a Kustomization's ``spec.images``,
``spec.patches`` and ``spec.postBuild`` variables, a HelmRelease's ``spec.values``,
``spec.valuesFrom`` and ``spec.postRenderers``. Flux renders the revision's files with them,
so the cluster runs what the object says over what the commit holds.

The object is read from the cluster, as listed: ``kubectl patch`` or ``kubectl edit`` changes
it in the cluster all the same (with its parent Kustomization suspended, Flux leaves the
change in place). A ConfigMap or Secret that
``postBuild.substituteFrom`` or ``valuesFrom`` names holds values no listing here shows. Flux
keeps no copy of the spec per snapshot, so the object's spec as listed stands for every
snapshot of its history, as it does for the health assessment (``spec.wait``).

Where the commit deployed holds the object's own manifest (flux bootstrap's
``clusters/<name>/``, an app's ``deploy/``), setting exactly what the object as listed sets,
what it sets was reviewed with the commit: ``in_git.restored`` then gives the snapshot back its
own status. A ConfigMap or Secret it names is never so (its data in the cluster is not read).
The spec as listed stands only for a HelmRelease's releases of the values it renders now
(``_rendered_now``: their ``configDigest`` is ``status.lastAttemptedConfigDigest``, the spec
observed); a release of other values was rendered with a spec no listing shows, and no manifest
stands for it. A release of the same commit whose values differ is a rollout of its own
(``gitops._joins``), so setting the values back to git's clears nothing recorded, but the next
release succeeds where it is clean.

What git holds is not an override: a Kustomization's ``kustomization.yaml`` at the revision
(``images:`` written there by Flux's image automation, which commits the tag), a HelmRelease's
``spec.chart.spec.valuesFiles`` (files of the chart's source at the revision), its chart's own
``values.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from checker.evidence.manifest_patches import Target, selects
from checker.evidence.manifest_scope import Folder
from checker.evidence.manifests import field_value
from checker.importers.common import dig, expect
from checker.importers.gitops import FLUX_OVERRIDDEN, SetInObject, Sync, renders

OVERRIDES: dict[str, tuple[tuple[str, ...], ...]] = {
    "Kustomization": (
        ("images",),
        ("patches",),
        ("patchesStrategicMerge",),
        ("patchesJson6902",),
        ("postBuild", "substitute"),
        ("postBuild", "substituteFrom"),
    ),
    "HelmRelease": (("values",), ("valuesFrom",), ("postRenderers",)),
}
"""The fields of each kind's ``spec`` that change what is rendered from the revision's files
(kustomize-controller's ``docs/spec/v1/kustomizations.md``: "Patches", "Images", "Post build
variable substitution"; ``patchesStrategicMerge`` and ``patchesJson6902`` of v1beta2;
helm-controller's ``docs/spec/v2/helmreleases.md``: "Values", "Values references", "Post
renderers")."""


def found(item: dict[str, Any], path: Path) -> list[str]:
    """Each of ``OVERRIDES`` the object's spec sets, as ``spec.images (podinfo=my-registry/
    podinfo:v1)``: images as set, variables by name, ConfigMaps and Secrets by kind and name;
    a patch, values or a post renderer by its field alone (a value may be a secret)."""
    kind, name = item["kind"], item["metadata"]["name"]
    spec = item.get("spec")
    expect(spec is None or isinstance(spec, dict), path, f"{kind} {name}: spec is not an object")
    shown = []
    for keys in OVERRIDES.get(kind, ()):
        value: Any = spec or {}
        for depth, key in enumerate(keys[:-1]):
            value = value.get(key)
            where = "spec." + ".".join(keys[: depth + 1])
            expect(
                value is None or isinstance(value, dict),
                path,
                f"{kind} {name}: {where} is not an object",
            )
            value = value or {}
        value = value.get(keys[-1])
        if value in (None, "", [], {}):
            continue
        field = "spec." + ".".join(keys)
        named = _named(keys[-1], value)
        shown.append(
            field + (f" ({', '.join(named[:3])}{' ...' if named[3:] else ''})" if named else "")
        )
    return shown


def _named(key: str, value: Any) -> list[str]:
    """What an override names, where it is safe to show: an image as set, a variable's name,
    a ConfigMap's or Secret's kind and name."""
    if key == "substitute" and isinstance(value, dict):
        return [str(k) for k in value]
    if not isinstance(value, list) or key not in ("images", "substituteFrom", "valuesFrom"):
        return []
    out = []
    for entry in value:
        entry = entry if isinstance(entry, dict) else {}
        if key == "images":
            image = f"{entry.get('newName') or entry.get('name')}"
            image += f":{entry['newTag']}" if entry.get("newTag") else ""
            image += f"@{entry['digest']}" if entry.get("digest") else ""
            out.append(f"{entry.get('name')}={image}")
        else:
            out.append(f"{entry.get('kind')}/{entry.get('name')}")
    return out


def applied(
    item: dict[str, Any], syncs: list[Sync], path: Path, listed: list[dict[str, Any]]
) -> list[Sync]:
    """``syncs`` as the object's overrides leave them: each success ``failed``, naming them,
    and every sync apart from any sync of the same commit without them (``Sync.overrides``);
    each keeps what it was before, for ``in_git``. Every one is read ``as_listed``: Flux keeps
    no spec per snapshot."""
    overrides = found(item, path)
    syncs = [replace(sync, as_listed=True) for sync in syncs]
    if not overrides:
        return syncs
    kind, name = item["kind"], item["metadata"]["name"]
    text = "; ".join(overrides)
    reason = (
        f"{FLUX_OVERRIDDEN}: {kind} {name} sets {text}: what the cluster runs is not what the "
        "revision holds (the object as listed; Flux keeps no spec per snapshot)"
    )
    namespace = dig(item, "metadata", "namespace")
    references = _references(item)
    setting = SetInObject(
        group=GROUPS[kind],
        kind=kind,
        name=name,
        namespace=namespace if isinstance(namespace, str) else None,
        fields=fields(kind, item),
        reader=_READERS[kind],
        barred=(
            f"{', '.join(references)}: what a ConfigMap or Secret holds in the cluster is in no "
            "listing read, whether git holds one of that name or not"
            if references
            else None
        ),
        recorded_only=False,
        before=None,
        folder=parent_folder(item, listed),
    )
    current = _rendered_now(item)
    out = []
    for sync in syncs:
        own = replace(setting, before=sync)
        if kind == "HelmRelease" and own.barred is None and sync.variant != current:
            own = replace(own, barred=_other_values(sync, current))
        failed = replace(sync, overrides=text, set_in_object=own)
        if sync.status == "succeeded":
            failed = replace(failed, status="failed", reason=reason, applied_at=sync.finished_at)
        out.append(failed)
    return out


def _rendered_now(item: dict[str, Any]) -> str | None:
    """The values digest a HelmRelease's releases have where they were rendered with its spec
    as listed: ``status.lastAttemptedConfigDigest``, which helm-controller sets from the spec
    before each Helm action, where ``status.observedGeneration`` shows it read this spec
    (``metadata.generation``); None where it may not have."""
    generation = dig(item, "metadata", "generation")
    observed = dig(item, "status", "observedGeneration")
    digest = dig(item, "status", "lastAttemptedConfigDigest")
    if not isinstance(generation, int) or observed != generation or not isinstance(digest, str):
        return None
    return digest or None


def _other_values(sync: Sync, current: str | None) -> str:
    """Why the spec as listed cannot stand for ``sync``, a release of other values."""
    if current is None:
        return (
            "the object's spec as listed is not known to be the one its last release was "
            "rendered with (status.observedGeneration is not metadata.generation, or no "
            "status.lastAttemptedConfigDigest): no manifest can stand for what it set"
        )
    return (
        f"its values ({sync.variant or 'none'}) are not those the object as listed renders "
        f"({current}): it was rendered with values set otherwise, which no listing shows"
    )


_APPLIED = re.compile(r"(?:^|@sha1:|/)([0-9a-f]{40})$")
"""The commit of a Kustomization's ``lastAppliedRevision`` (``main@sha1:SHA``, ``main/SHA``
before Flux 2.0); an OCI artifact's digest names none."""
PARENT_LABELS = ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace")
"""The labels kustomize-controller gives every object it applies: the name and namespace of
the Kustomization that applied it (its ``spec.path``, a folder of its source)."""


def parent_folder(item: dict[str, Any], listed: list[dict[str, Any]]) -> Folder | str:
    """The folder of the revision the Kustomization that applied ``item`` renders, where only
    a manifest of it counts (``in_git``): the one its ``PARENT_LABELS`` name, among the objects
    ``listed`` beside it, that alone lists it in its inventory (``_unclaimed``), at its
    ``spec.path`` (the source's root where unset) with its ``spec.components``; else why that
    is not known."""
    labels = dig(item, "metadata", "labels")
    name, namespace = (labels.get(k) if isinstance(labels, dict) else None for k in PARENT_LABELS)
    if not isinstance(name, str) or not isinstance(namespace, str):
        return (
            f"it carries no {PARENT_LABELS[0]} and {PARENT_LABELS[1]} labels: no Kustomization "
            "is known to apply it from the commit, so no manifest there is known to be the one "
            "applied"
        )
    shown = f"Kustomization {namespace}/{name}"
    found = _listed_parent(shown, name, namespace, listed)
    if isinstance(found, str):
        return found
    own = dig(item, "metadata", "namespace")
    if dig(found, "spec", "targetNamespace"):
        own = None  # its patches apply before its targetNamespace: any namespace may be selected
    target = Target(
        GROUPS[item["kind"]], item["kind"], item["metadata"]["name"], own if own else None
    )
    patches = {key: dig(found, "spec", key) for key in _PATCHES}
    if selects(patches, target):
        return (
            f"{shown} patches what it renders (its spec.patches, as listed), and a patch may "
            f"select {item['kind']} {item['metadata']['name']}: the manifest is not rendered as "
            "written"
        )
    if dig(found, "spec", "kubeConfig") not in (None, {}):
        return (
            f"{shown} applies what it renders to the cluster of its spec.kubeConfig, not to "
            "this one: its inventory is of that cluster's objects, and it is not known to "
            f"apply {item['kind']} {item['metadata']['name']} here"
        )
    folder = spec_folder(shown, found)
    return folder if isinstance(folder, str) else _unclaimed(item, found, listed, shown) or folder


def inventory_id(item: dict[str, Any]) -> str:
    """The object's id in a Kustomization's ``status.inventory.entries``
    (``NAMESPACE_NAME_GROUP_KIND``, fluxcd/cli-utils' ``ObjMetadata.String``: a name's ``:``
    written ``__``)."""
    kind, namespace = item["kind"], dig(item, "metadata", "namespace")
    name = str(item["metadata"]["name"]).replace(":", "__")
    return f"{namespace if isinstance(namespace, str) else ''}_{name}_{GROUPS[kind]}_{kind}"


def _inventory(kustomization: dict[str, Any]) -> set[str] | None:
    """The ids ``status.inventory.entries`` lists, or None where there is no inventory that
    can be read."""
    entries = dig(kustomization, "status", "inventory", "entries")
    if not isinstance(entries, list):
        return None
    return {str(e.get("id")) for e in entries if isinstance(e, dict)}


def _unclaimed(
    item: dict[str, Any], parent: dict[str, Any], listed: list[dict[str, Any]], shown: str
) -> str | None:
    """Why the Kustomization ``parent`` that ``item``'s labels name is not known to have
    applied it, or None: it must list ``item`` in its ``status.inventory`` (which
    kustomize-controller writes on every apply, through the status subresource), and no other
    Kustomization listed may. The labels are ``item``'s own metadata, as editable in the
    cluster as its spec: pointed at another Kustomization whose folder holds a manifest that
    agrees, they would stand for values set by hand."""
    ident = inventory_id(item)
    own = _inventory(parent)
    if own is None or ident not in own:
        held = (
            "lists no status.inventory"
            if own is None
            else f"does not list it in its status.inventory ({ident})"
        )
        return (
            f"{shown}, which its labels say applied it, {held}: that it applied it is not "
            "known, and the labels are as editable in the cluster as the spec"
        )
    others = sorted(
        f"{dig(k, 'metadata', 'namespace')}/{dig(k, 'metadata', 'name')}"
        for k in listed
        if k is not parent and k.get("kind") == "Kustomization" and ident in (_inventory(k) or ())
    )
    if others:
        return (
            f"{shown} and Kustomization {', '.join(others)} all list it in their "
            "status.inventory: which one's manifest set it is not known"
        )
    return None


_PATCHES = ("patches", "patchesStrategicMerge", "patchesJson6902")
"""A Kustomization's fields that patch what it renders."""


def spec_folder(parent: str, found: dict[str, Any]) -> Folder | str:
    """The folder the Kustomization ``found`` renders, or why not."""
    folder, components = dig(found, "spec", "path"), dig(found, "spec", "components")
    if not isinstance(folder, str | None) or not (
        components is None
        or (isinstance(components, list) and all(isinstance(c, str) for c in components))
    ):
        return f"{parent}: its spec.path or spec.components cannot be read"
    applied = dig(found, "status", "lastAppliedRevision")
    commit = _APPLIED.search(applied) if isinstance(applied, str) else None
    if commit is None:
        return (
            f"{parent} names no commit it applied (status.lastAppliedRevision "
            f"{applied!r}): the files it applies are not known to be this repository's"
        )
    return Folder(
        folder or "./",
        parent,
        "flux",
        True,
        tuple(components or ()),
        commit.group(1),
        *renders(found, parent, ("targetNamespace",), ("namePrefix",), ("nameSuffix",)),
        imaged=f"{parent} sets spec.images" if dig(found, "spec", "images") else None,
    )


def _listed_parent(
    parent: str, name: str, namespace: str, listed: list[dict[str, Any]]
) -> dict[str, Any] | str:
    """The one Kustomization ``namespace/name`` of ``listed``, or why there is not one."""
    found = [
        other
        for other in listed
        if other.get("kind") == "Kustomization"
        and dig(other, "metadata", "name") == name
        and dig(other, "metadata", "namespace") == namespace
    ]
    if not found:
        return (
            f"{parent}, which its labels say applied it, is not in the listing read: which "
            "folder it applies is not known (list both kinds in one file: kubectl get "
            "kustomizations,helmreleases -A -o json)"
        )
    if len(found) > 1:
        return (
            f"{parent}, which its labels say applied it, is listed {len(found)} times: which "
            "of them applied it, and so which folder, is not known"
        )
    return found[0]


RENDERING: dict[str, tuple[tuple[str, ...], ...]] = {
    "Kustomization": (
        ("sourceRef",),
        ("path",),
        ("components",),
        ("targetNamespace",),
        ("namePrefix",),
        ("nameSuffix",),
        ("commonMetadata",),
        ("kubeConfig",),
    ),
    "HelmRelease": (
        ("chart", "spec", "chart"),
        ("chart", "spec", "version"),
        ("chart", "spec", "sourceRef"),
        ("chart", "spec", "valuesFiles"),
        ("chartRef",),
        ("releaseName",),
        ("targetNamespace",),
        ("kubeConfig",),
    ),
}
"""The other fields of each kind's ``spec`` that choose what is rendered, or where (the
source, folder, components, chart and its version, value files, names and namespace, and the
cluster a ``kubeConfig`` names, where one applies it to a remote cluster): the
commit's files alone, so no override where the object is not declared in git, but compared
with its manifest where one is to stand for what the object sets (``in_git``): a manifest
whose values match but whose ``targetNamespace`` or chart version is not the object's is no
manifest of what was rendered."""
DEFAULTS = {("chart", "spec", "version"): "*"}
"""A field's value the API server writes where the manifest gives none (helm-controller's
CRD: ``version`` defaults to ``*``), read as unset."""


def fields(kind: str, document: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Each of ``OVERRIDES`` and ``RENDERING`` of ``kind`` in ``document``'s spec, as
    ``field_value`` reads it (``null`` where unset or empty, as ``found`` reads it, or set to
    its default)."""
    spec = document.get("spec")
    return tuple(
        ("spec." + ".".join(keys), _value(spec, keys))
        for keys in OVERRIDES.get(kind, ()) + RENDERING.get(kind, ())
    )


def _value(spec: Any, keys: tuple[str, ...]) -> str:
    value = field_value(spec, keys)
    return field_value(None, keys) if keys in DEFAULTS and value == f'"{DEFAULTS[keys]}"' else value


def _kustomization_fields(document: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return fields("Kustomization", document)


def _helm_release_fields(document: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return fields("HelmRelease", document)


_READERS = {"Kustomization": _kustomization_fields, "HelmRelease": _helm_release_fields}
"""How ``in_git`` reads each kind's fields from a manifest."""


def _references(item: dict[str, Any]) -> list[str]:
    """The ConfigMaps and Secrets the object takes values or variables from."""
    listed = []
    for keys in (("valuesFrom",), ("postBuild", "substituteFrom")):
        value = dig(item, "spec", *keys)
        listed += value if isinstance(value, list) else [value] if value else []
    return [_named("valuesFrom", [entry])[0] for entry in listed]


GROUPS = {"Kustomization": "kustomize.toolkit.fluxcd.io", "HelmRelease": "helm.toolkit.fluxcd.io"}
"""The API group of each kind: a ``kustomization.yaml`` of kustomize's own
(``kustomize.config.k8s.io``) is no Flux Kustomization."""
