"""What a Kustomization's status says of the revision Flux attempted last, where its history
does not record it yet.

kustomize-controller (``internal/controller/kustomization_controller.go``) sets
``status.lastAttemptedRevision`` once it has fetched a revision's artifact, before it builds
the manifests, and writes a history snapshot only when an attempt ends after applying them:
``ReconciliationFailed``, ``PruneFailed``, ``HealthCheckFailed`` or
``ReconciliationSucceeded`` (fluxcd/pkg ``History.Upsert`` puts that snapshot first, with the
revision in its ``metadata``). So a last attempted revision that is not the newest snapshot's
never succeeded, and its attempt is one of:

- still under way: each reconciliation begins by setting the ``Ready`` condition ``Unknown``,
  reason ``Progressing`` ("Reconciliation in progress"), and a Kustomization that applied the
  manifests and is running its health checks stays so until they end: the manifests may be
  live, the workloads half rolled out;
- ended before any snapshot was written: ``Ready`` ``False``, reason ``BuildFailed`` (nothing
  of that attempt was applied) or ``ReconciliationFailed`` (no client to apply with), or
  ``HealthCheckCanceled`` (applied, its health checks cancelled by a newer reconciliation);
  or a later reconciliation failed before it attempted anything (``ArtifactFailed``,
  ``DependencyNotReady``: a source fetch that fails leaves ``lastAttemptedRevision`` as it
  was), so what became of the attempted revision the object no longer says.

Each is recorded as a sync of that revision that did not succeed, unfinished while ``Ready``
is ``Unknown``: its commits are judged like any deployed commit, and no record claims the
cluster ran it. A ``Ready`` condition that is ``True``, missing, or dated before the newest
snapshot is not what kustomize-controller writes beside such an attempt: refused. An attempt
starts when ``Ready`` last changed; a return to the revision of an older snapshot (v2 failed,
v1 being applied again) when the newest snapshot was last reconciled, as the history dates it
once Flux moves the older snapshot to the front.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.importers.common import dig, expect
from checker.importers.k8s_shapes import objects, time_text

NOTHING_APPLIED = ("BuildFailed",)
"""``Ready`` reasons kustomize-controller sets only before it applies anything (``build``,
``generate`` or reading the built manifests failed)."""


@dataclass(frozen=True)
class Attempt:
    """The last attempted revision, which no history snapshot records."""

    revision: str
    started_at: str
    finished_at: str | None
    """None while the reconciliation was still under way (``Ready`` ``Unknown``)."""
    reason: str


def unrecorded(
    item: dict[str, Any], revisions: list[str], newest: tuple[str, int], origin: str, path: Path
) -> Attempt | None:
    """The Kustomization's last attempted revision where it is not the newest history
    snapshot's (``revisions``, newest first; ``newest``, that snapshot's ``lastReconciled`` as
    written and in nanoseconds); None where it is. A return to an older snapshot's revision
    starts at ``newest``, as the history dates it once that snapshot comes to the front."""
    attempted = dig(item, "status", "lastAttemptedRevision")
    if not isinstance(attempted, str) or not attempted:
        raise InputError(
            f"{origin} has a status.history but no status.lastAttemptedRevision, which "
            "kustomize-controller sets before it applies anything: which revision it attempted "
            "last cannot be told",
            path=str(path),
        )
    if attempted == revisions[0]:
        return None
    ready = _ready(item, origin, attempted, path)
    status, reason = ready["status"], ready.get("reason")
    message = ready.get("message")
    expect(
        isinstance(reason, str) and bool(reason) and isinstance(message, str | None),
        path,
        f"{origin}: the Ready condition has no reason",
    )
    at, at_ns = time_text(ready.get("lastTransitionTime"), path, f"{origin}: Ready condition")
    if at_ns < newest[1]:
        raise InputError(
            f"{origin}: status.lastAttemptedRevision is {attempted}, which no history entry "
            f"records, but the Ready condition last changed at {at}, before the newest entry "
            "was reconciled: when Flux attempted that revision cannot be told",
            path=str(path),
        )
    start = newest[0] if attempted in revisions else at
    said = f"Ready {status}, {reason}" + (f": {message.strip()}" if message else "")
    if status == "Unknown":
        why = f"Flux was still reconciling {attempted} when the object was listed ({said})"
        return Attempt(attempted, start, None, why + "; no history entry records its outcome yet")
    outcome = (
        "its manifests did not build, so this attempt applied nothing"
        if reason in NOTHING_APPLIED
        else "no history entry records whether it was applied"
    )
    return Attempt(attempted, start, at, f"Flux reconciliation {reason} ({said}): {outcome}")


def _ready(item: dict[str, Any], origin: str, attempted: str, path: Path) -> dict[str, Any]:
    """The ``Ready`` condition beside an attempt no snapshot records: ``Unknown`` (under way)
    or ``False`` (ended); anything else refused."""
    conditions = objects(dig(item, "status", "conditions"), path, f"{origin}: status.conditions")
    ready = [c for c in conditions if c.get("type") == "Ready"]
    if len(ready) != 1 or ready[0].get("status") not in ("Unknown", "False"):
        shown = "no Ready condition" if not ready else f"Ready {ready[0].get('status')!r}"
        if len(ready) > 1:
            shown = f"{len(ready)} Ready conditions"
        raise InputError(
            f"{origin}: status.lastAttemptedRevision is {attempted}, which no history entry "
            f"records, and its status has {shown} (Flux sets Ready Unknown while it "
            "reconciles, False when that fails): whether that revision is being applied, "
            "failed or ran cannot be told",
            path=str(path),
            hint="list the object again, or record this deployment by hand",
        )
    return ready[0]
