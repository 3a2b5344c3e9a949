"""Fields an Argo CD sync leaves as they were live. With the sync option
``RespectIgnoreDifferences=true``, Argo CD applies the revision's manifests without the fields
the Application's ``spec.ignoreDifferences`` names (argoproj/argo-cd
``docs/user-guide/sync-options.md``, "Respect ignore difference configs"), so an image set by
hand with ``kubectl set image`` keeps running through the sync, which Argo CD reports
``Synced`` and ``Healthy``. With ``ApplyOutOfSyncOnly=true`` it applies only the resources
that differ from the revision once those fields are ignored (``controller/sync.go``'s
``WithResourceModificationChecker``, gitops-engine's ``filterOutOfSyncTasks``): a Deployment
whose only difference is an ignored image, set by hand or changed by the commit, is not
applied at all. What runs since is not what the commit holds, and no manifest makes it so:
such a sync is an override that git never gives back.

The options a sync ran with are its operation's (``operation.sync.syncOptions``): Argo CD's
API server takes them from the sync request where it names any (``argocd app sync
--sync-option``, the UI's sync panel), else from ``spec.syncPolicy.syncOptions``, and an
automated sync takes the spec's. Both are read, the latest operation's and the spec's as
listed, for every sync: history entries record no options.

An entry whose only JSON pointer is ``/spec/replicas`` (the replica count an autoscaler owns,
the documentation's own example), or the jq path ``.spec.replicas``, or the pod template's
restart time (``UNCHOSEN_POINTERS``), changes nothing of what runs and is passed over (the
replica count so long as git keeps no workload it covers at zero: ``argocd_replicas``); any other
(another pointer into the pod template, another ``jqPathExpressions`` entry, the fields of
a ``managedFieldsManagers`` entry, whatever they are) is not. History entries record neither
the options nor the entries: the Application's spec as listed stands for every sync.

Without those options a sync applies the revision's values of the ignored fields, but Argo CD
no longer compares them (``docs/user-guide/diffing.md``): a container's image, environment,
command or arguments set by hand after the sync leave the Application ``Synced``. Its sync
status then vouches for nothing in them, and the latest sync is not taken to run as applied
(``unwatched``, read by ``argocd_health``). Argo CD's instance-wide
``resource.customizations.ignoreDifferences`` (in the ``argocd-cm`` ConfigMap) is in no
Application listing, and is not read. The entries the last comparison ran with
(``status.sync.comparedTo.ignoreDifferences``) are read beside the spec's (``IGNORED``): a
sync status computed without a field says nothing of it, whatever the spec says since.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checker.importers.common import dig, expect
from checker.importers.k8s_shapes import objects

RESPECT = "RespectIgnoreDifferences=true"
OUT_OF_SYNC_ONLY = "ApplyOutOfSyncOnly=true"
LEAVING = (RESPECT, OUT_OF_SYNC_ONLY)
"""The sync options that leave ignored fields as they are live."""
RESTARTED = "kubectl.kubernetes.io/restartedAt"
"""The pod template's annotation ``kubectl rollout restart`` (and Argo CD's ``restart`` action)
writes: a time, read by no one, whose change rolls the same pods out again."""
UNCHOSEN_POINTERS = frozenset(
    {"/spec/replicas", f"/spec/template/metadata/annotations/{RESTARTED.replace('/', '~1')}"}
)
UNCHOSEN_PATHS = frozenset(
    {
        ".spec.replicas",
        f'.spec.template.metadata.annotations."{RESTARTED}"',
        f'.spec.template.metadata.annotations["{RESTARTED}"]',
    }
)
"""The JSON pointers and jq paths (written so, spaces around aside) of fields that choose
nothing of what runs: the replica count an autoscaler owns, and the restart time."""
CERTIFIED = frozenset(
    {
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("apiregistration.k8s.io", "APIService"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
    }
)
"""The kinds whose ``caBundle`` a certificate manager injects (cert-manager's CA injector, a
webhook's own controller): the CA a call to a webhook or an API service is checked with, not
what runs. Argo CD's documentation ignores it in its own example (``diffing.md``)."""
CA_POINTER = re.compile(r"(/[A-Za-z0-9_]+)*/caBundle")
CA_PATH = re.compile(r"(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]*\])?\??)*\.caBundle")
"""A JSON pointer or a jq path to a ``caBundle`` field alone (no filter, no pipe)."""
IGNORED = (("spec", "ignoreDifferences"), ("status", "sync", "comparedTo", "ignoreDifferences"))
"""Where an Application lists the fields Argo CD does not compare: its spec, and the entries
its last comparison ran with (``status.sync.comparedTo``, ``controller/state.go``), which its
sync status was computed from. The two differ from a change to the spec until Argo CD compares
again (at once, unless the controller is stopped): a spec that dropped an entry since says
nothing of the status it left."""
CHOOSERS = ("jsonPointers", "jqPathExpressions", "managedFieldsManagers")
"""The fields of an ``ignoreDifferences`` entry that choose what is ignored."""
LEFT = "the sync left those fields as they were live"
"""What the reason of a sync failed by ``left_live`` says: read from the Application as listed,
since history entries record neither options nor entries, so a failure recorded so stays."""
BARRED = "what a sync leaves as it was live is no commit's, whatever a manifest says"


def left_live(item: dict[str, Any], path: Path) -> list[str]:
    """The ``spec.ignoreDifferences`` entries a sync of ``item`` leaves as they were live, as
    one override (``spec.ignoreDifferences (apps/Deployment /spec/template/...) ...``), where
    its sync options (``LEAVING``) leave them so; else none. An option is read as written, any
    case and spaces aside: reading it more widely can only find more."""
    options = _options(item, ("spec", "syncPolicy", "syncOptions"), path)
    options += _options(
        item, ("status", "operationState", "operation", "sync", "syncOptions"), path
    )
    written = {"".join(o.split()).lower() for o in options}
    leaving = [option for option in LEAVING if option.lower() in written]
    if not leaving:
        return []
    shown = unwatched(item, path)
    if shown is None:
        return []
    return [
        f"{shown} with syncOptions "
        f"{' and '.join(leaving)}: {LEFT}"
        + (
            f" ({OUT_OF_SYNC_ONLY} applies no resource that differs from the revision only there)"
            if OUT_OF_SYNC_ONLY in leaving
            else ""
        )
    ]


def unwatched(item: dict[str, Any], path: Path) -> str | None:
    """The ``IGNORED`` entries of ``item`` that can change what runs, as shown
    (``spec.ignoreDifferences (apps/Deployment /spec/template/...) ...``); None where there is
    none (no entry, or the replica count alone). Whatever the sync options, Argo CD no longer
    compares those fields with the revision, so its ``Synced`` says nothing of them. An entry
    of the comparison that the spec lists too is shown once, as the spec's."""
    found, seen = [], []
    for keys in IGNORED:
        entries = objects(
            dig(item, *keys), path, f"application {item['metadata']['name']}: {'.'.join(keys)}"
        )
        shown = [_shown(entry) for entry in entries if not _harmless(entry) and entry not in seen]
        seen += entries
        if shown:
            more = " ..." if shown[3:] else ""
            found.append(f"{'.'.join(keys)} ({', '.join(shown[:3])}{more})")
    return "; ".join(found) or None


def replicas(
    item: dict[str, Any], path: Path
) -> tuple[str, tuple[tuple[str | None, str | None], ...]] | None:
    """The ``IGNORED`` entries of ``item`` that ``_harmless`` passes over and that ignore the
    replica count, as shown (as ``unwatched`` shows entries) and as the (kind, name) each
    covers (None where it names none); None where there is none. Passed over as choosing
    nothing of what runs, they do choose it where git keeps a workload at zero replicas
    (``argocd_replicas``)."""
    shown, kinds = [], []
    for keys in IGNORED:
        entries = objects(
            dig(item, *keys), path, f"application {item['metadata']['name']}: {'.'.join(keys)}"
        )
        counted = [entry for entry in entries if _unchosen_only(entry) and _replicas(entry)]
        if counted:
            shown.append(f"{'.'.join(keys)} ({', '.join(_shown(e) for e in counted[:3])})")
            kinds += [(_text(e.get("kind")), _text(e.get("name"))) for e in counted]
    return ("; ".join(shown), tuple(dict.fromkeys(kinds))) if shown else None


def _replicas(entry: dict[str, Any]) -> bool:
    """Whether the entry (one ``_unchosen_only`` accepts) names the replica count."""
    pointers = entry.get("jsonPointers") or []
    paths = [p.strip() for p in entry.get("jqPathExpressions") or []]
    return "/spec/replicas" in pointers or ".spec.replicas" in paths


def _text(value: Any) -> str | None:
    """``value`` where it is a text that is not empty, else None."""
    return value if isinstance(value, str) and value else None


def _options(item: dict[str, Any], keys: tuple[str, ...], path: Path) -> list[str]:
    """The sync options at ``keys`` of ``item``, none where unset; another shape is refused."""
    options = dig(item, *keys)
    expect(
        options is None or (isinstance(options, list) and all(isinstance(o, str) for o in options)),
        path,
        f"application {item['metadata']['name']}: {'.'.join(keys)} is not a list of options",
    )
    return list(options or [])


def _harmless(entry: dict[str, Any]) -> bool:
    """Whether the entry ignores only what chooses nothing of what runs: the replica count or
    the restart time (``UNCHOSEN_POINTERS``), or the certificate a webhook or an API service is
    called with (``CERTIFIED``)."""
    return _unchosen_only(entry) or _ca_bundle_only(entry)


def _ca_bundle_only(entry: dict[str, Any]) -> bool:
    """Whether the entry is of a ``CERTIFIED`` kind and ignores its ``caBundle`` fields alone."""
    return (entry.get("group"), entry.get("kind")) in CERTIFIED and _ignores_only(
        entry, CA_POINTER.fullmatch, CA_PATH.fullmatch
    )


def _unchosen_only(entry: dict[str, Any]) -> bool:
    """Whether the entry ignores fields of ``UNCHOSEN_POINTERS`` or ``UNCHOSEN_PATHS`` alone,
    as written there: a pointer or path spelt otherwise (``/spec/replicas/``, ``..replicas``)
    counts, whatever Argo CD makes of it."""
    return _ignores_only(entry, UNCHOSEN_POINTERS.__contains__, UNCHOSEN_PATHS.__contains__)


def _ignores_only(
    entry: dict[str, Any], pointer: Callable[[str], object], path: Callable[[str], object]
) -> bool:
    """Whether the entry names fields by JSON pointers and jq paths alone, at least one, each
    one ``pointer`` or ``path`` (stripped) accepts: no ``managedFieldsManagers``."""
    pointers = entry.get("jsonPointers") or []
    paths = entry.get("jqPathExpressions") or []
    return (
        isinstance(pointers, list)
        and isinstance(paths, list)
        and bool(pointers or paths)
        and all(isinstance(p, str) and pointer(p) for p in pointers)
        and all(isinstance(p, str) and path(p.strip()) for p in paths)
        and not entry.get("managedFieldsManagers")
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
