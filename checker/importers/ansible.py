"""``knightwatch import ansible``: a deployment record from ``ansible-playbook``'s ``json``
stdout callback (``ANSIBLE_STDOUT_CALLBACK=ansible.posix.json``).

The callback ends with ``stats``: for every host the play ran on, its counts of ``ok``,
``changed``, ``failures``, ``unreachable``, ``skipped``, ``rescued`` and ``ignored`` results.
Each host becomes one target:

- any unreachable result: ``unreachable``;
- else any failure (not rescued, not ignored): ``failed``;
- else no ``ok`` or ``changed`` result at all (every task skipped): ``skipped``;
- else ``succeeded``.

A host of the inventory that the play never reached (``--limit``, a host left out of the
group, a run stopped early) is in no ``stats`` entry and so in no target: FLEET-001 then reports
it as absent, exactly as the contract wants. The deployment's times are the first play's start
and the last play's end, as the callback recorded them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.files import Located, validate
from checker.evidence.models import DeployApproval, Deployment, Status, Target
from checker.importers.common import dig, expect, read_json

WHAT = "the output of ansible-playbook with ANSIBLE_STDOUT_CALLBACK=ansible.posix.json"
COUNTS = ("ok", "changed", "failures", "unreachable", "skipped")


@dataclass(frozen=True)
class Run:
    """What the deployment record takes from elsewhere than the playbook's output."""

    deployment_id: str
    service: str
    environment: str
    commit: str
    deployer: str
    approvals: tuple[DeployApproval, ...] = ()
    change_ticket: str | None = None
    artifact: str | None = None


def status(counts: dict[str, Any]) -> Status:
    """One host's outcome from its ``stats`` counts."""
    if counts.get("unreachable"):
        return "unreachable"
    if counts.get("failures"):
        return "failed"
    if not counts.get("ok") and not counts.get("changed"):
        return "skipped"
    return "succeeded"


def deployment(path: Path, run: Run) -> Deployment:
    """The deployment record the playbook's output shows."""
    document = read_json(path, WHAT)
    expect(
        isinstance(document, dict) and "stats" in document and "plays" in document,
        path,
        f"no 'plays' and 'stats' at the top level; expected {WHAT}",
    )
    stats, plays = document["stats"], document["plays"]
    expect(isinstance(stats, dict), path, "'stats' is not a mapping of host to counts")
    expect(isinstance(plays, list) and bool(plays), path, "'plays' is empty: nothing ran")
    targets = []
    for host, counts in sorted(stats.items()):
        expect(
            isinstance(counts, dict)
            and all(isinstance(counts.get(c, 0), int) for c in COUNTS)
            and any(c in counts for c in COUNTS),
            path,
            f"stats of host {host!r} are not ansible's counts ({', '.join(COUNTS)})",
        )
        targets.append(Target(host=host, status=status(counts)))
    expect(bool(targets), path, "'stats' names no host: the play reached none")
    starts, ends = [], []
    for index, play in enumerate(plays, start=1):
        duration = dig(play, "play", "duration")
        expect(
            isinstance(duration, dict) and "start" in duration,
            path,
            f"play #{index} has no play.duration.start",
        )
        starts.append(str(duration["start"]))
        if "end" in duration:
            ends.append(str(duration["end"]))
    record = {
        "id": run.deployment_id,
        "service": run.service,
        "environment": run.environment,
        "commit": run.commit,
        "started_at": min(starts),
        "deployer": run.deployer,
        "approvals": [a.model_dump() for a in run.approvals],
        "targets": [{"host": t.host, "status": t.status} for t in targets],
    }
    if len(ends) == len(plays):
        record["finished_at"] = max(ends)
    if run.change_ticket:
        record["change_ticket"] = run.change_ticket
    if run.artifact:
        record["artifact"] = run.artifact
    try:
        return validate(Deployment, Located(record, 0), path, "deployment from this output")
    except InputError as exc:
        raise InputError(exc.message, hint=f"expected {WHAT}") from None
