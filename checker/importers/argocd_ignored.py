"""Fields an Argo CD sync leaves as they were live: with the sync option
``RespectIgnoreDifferences=true``, Argo CD applies the revision's manifests without the fields
the Application's ``spec.ignoreDifferences`` names (argoproj/argo-cd
``docs/user-guide/sync-options.md``, "Respect ignore difference configs"), so an image set by
hand with ``kubectl set image`` keeps running through the sync, which Argo CD reports
``Synced`` and ``Healthy``. What runs since is not what the commit holds, and no manifest makes
it so: such a sync is an override that git never gives back.

An entry whose only JSON pointer is ``/spec/replicas`` (the replica count an autoscaler owns,
the documentation's own example) changes nothing of what runs and is passed over; any other
(a pointer into the pod template, a ``jqPathExpressions`` entry, the fields of a
``managedFieldsManagers`` entry, whatever they are) is not. History entries record neither
the options nor the entries: the Application's spec as listed stands for every sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.importers.common import dig, expect
from checker.importers.k8s_shapes import objects

RESPECT = "RespectIgnoreDifferences=true"
REPLICAS = "/spec/replicas"
CHOOSERS = ("jsonPointers", "jqPathExpressions", "managedFieldsManagers")
"""The fields of an ``ignoreDifferences`` entry that choose what is ignored."""
BARRED = "what a sync leaves as it was live is no commit's, whatever a manifest says"


def left_live(item: dict[str, Any], path: Path) -> list[str]:
    """The ``spec.ignoreDifferences`` entries a sync of ``item`` leaves as they were live, as
    one override (``spec.ignoreDifferences (apps/Deployment /spec/template/...) ...``), where
    its sync options respect them; else none. The option is read as written, any case and
    spaces aside: reading it more widely can only find more."""
    name = item["metadata"]["name"]
    options = dig(item, "spec", "syncPolicy", "syncOptions")
    expect(
        options is None or (isinstance(options, list) and all(isinstance(o, str) for o in options)),
        path,
        f"application {name}: spec.syncPolicy.syncOptions is not a list of options",
    )
    wanted = RESPECT.lower()
    if not any("".join(o.split()).lower() == wanted for o in options or []):
        return []
    entries = objects(
        dig(item, "spec", "ignoreDifferences"), path, f"application {name}: spec.ignoreDifferences"
    )
    shown = [_shown(entry) for entry in entries if not _replicas_only(entry)]
    if not shown:
        return []
    more = " ..." if shown[3:] else ""
    return [
        f"spec.ignoreDifferences ({', '.join(shown[:3])}{more}) with syncOptions {RESPECT}: "
        "the sync left those fields as they were live"
    ]


def _replicas_only(entry: dict[str, Any]) -> bool:
    """Whether the entry ignores the replica count alone."""
    pointers = entry.get("jsonPointers")
    return (
        isinstance(pointers, list)
        and bool(pointers)
        and all(pointer == REPLICAS for pointer in pointers)
        and not any(entry.get(key) for key in CHOOSERS[1:])
    )


def _shown(entry: dict[str, Any]) -> str:
    """An entry as shown: its group and kind, and the first thing it ignores."""
    kind = "/".join(str(entry[key]) for key in ("group", "kind") if entry.get(key)) or "any kind"
    named = []
    for key in CHOOSERS:
        value = entry.get(key)
        listed = value if isinstance(value, list) else [value] if value else []
        named += [f"fields of {v}" if key == CHOOSERS[2] else str(v) for v in listed]
    return f"{kind} {named[0]}{' ...' if named[1:] else ''}" if named else f"{kind} (all)"
