"""What a Flux object sets over the revision it applies: a Kustomization's ``spec.images``,
``spec.patches`` and ``spec.postBuild`` variables, a HelmRelease's ``spec.values``,
``spec.valuesFrom`` and ``spec.postRenderers``. Flux renders the revision's files with them,
so the cluster runs what the object says over what the commit holds.

The object is read from the cluster, as listed: where it usually comes from git (a
configuration repository Flux applies itself), that repository's commit is not the one judged,
and ``kubectl patch`` or ``kubectl edit`` changes it in the cluster all the same (with its
parent Kustomization suspended, Flux leaves the change in place). A ConfigMap or Secret that
``postBuild.substituteFrom`` or ``valuesFrom`` names holds values no listing here shows. Flux
keeps no copy of the spec per snapshot, so the object's spec as listed stands for every
snapshot of its history, as it does for the health assessment (``spec.wait``).

What git holds is not an override: a Kustomization's ``kustomization.yaml`` at the revision
(``images:`` written there by Flux's image automation, which commits the tag), a HelmRelease's
``spec.chart.spec.valuesFiles`` (files of the chart's source at the revision), its chart's own
``values.yaml``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from checker.importers.common import expect
from checker.importers.gitops import FLUX_OVERRIDDEN, Sync

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


def applied(item: dict[str, Any], syncs: list[Sync], path: Path) -> list[Sync]:
    """``syncs`` as the object's overrides leave them: each success ``failed``, naming them,
    and every sync apart from any sync of the same commit without them (``Sync.overrides``)."""
    overrides = found(item, path)
    if not overrides:
        return syncs
    kind, name = item["kind"], item["metadata"]["name"]
    text = "; ".join(overrides)
    reason = (
        f"{FLUX_OVERRIDDEN}: {kind} {name} sets {text}: what the cluster runs is not what the "
        "revision holds (the object as listed; Flux keeps no spec per snapshot)"
    )
    return [
        replace(sync, overrides=text)
        if sync.status != "succeeded"
        else replace(
            sync, status="failed", reason=reason, overrides=text, applied_at=sync.finished_at
        )
        for sync in syncs
    ]
