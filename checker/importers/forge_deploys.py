"""What the forges' deployment importers share: the command line's choices, and one contract
deployment record from what a forge knows of a deployment.

A forge knows that a job deployed a commit to an environment, when, who started it, who
approved it, and whether the job succeeded. It does not know which hosts received the commit:
that is the deploy tool's knowledge (``import ansible``). The hosts named with ``--target`` get
the job's outcome; with none named the record has no targets, and FLEET-001 reports every host
of the service as not deployed, rather than the import claiming what it cannot know.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.evidence.files import Located, validate
from checker.evidence.models import Deployment, Status, timestamp_ns
from checker.importers.common import once_each


@dataclass(frozen=True)
class Scope:
    """The command line's choices for a forge's deployments."""

    service: str
    environments: tuple[str, ...] = ()
    """Only deployments to these environments (all when empty)."""
    targets: tuple[str, ...] = ()
    created_since: int | None = None
    """Only deployments created at or after this instant (ns; all when None): GitHub's
    ``--since``, for a first import past deployments whose statuses GitHub deleted."""


@dataclass
class Deployments:
    """The records, and what was passed over and why."""

    records: list[Deployment] = field(default_factory=list)
    passed_over: Counter[str] = field(default_factory=Counter)
    approvals_left_out: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    """What the import decided that the forge's own word did not say, and why."""
    environments: set[str] = field(default_factory=set)
    """Every environment the forge listed a deployment to, chosen or not."""
    remarks: list[str] = field(default_factory=list)
    """What was said of deployments listed more than once (a list read while it changed)."""
    forgotten: dict[str, tuple[str, Path]] = field(default_factory=dict)
    """By record id: the deployments the forge lists with no status it still keeps (GitHub
    deletes them after 90 days), each with the forge's id and where its statuses were read.
    Whether they ran and how they ended cannot be told: an import refuses those no record
    holds yet."""

    def unmatched(self, scope: Scope) -> list[str]:
        """The ``--environment`` names that no listed deployment went to (a typo, often)."""
        return sorted(set(scope.environments) - self.environments)


@dataclass(frozen=True)
class Facts:
    """One finished deployment as a forge reports it."""

    ident: str
    environment: str
    commit: str
    started_at: str
    finished_at: str | None
    """None for a deployment that started and has not finished (its hosts are then
    ``failed``, with ``reason``)."""
    deployer: str
    status: Status
    approvals: tuple[tuple[str, str], ...]
    ref: str | None = None
    """The branch or tag the deployment was asked for, as the forge lists it."""
    reason: str | None = None
    """Why the hosts did not succeed, where the forge's outcome alone does not say it."""


def ended_earlier(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why ``new``, a forge's record of a deployment, is older than ``old``, the one an
    earlier import wrote; None when it is not. A forge only adds statuses to a deployment
    (GitHub) or ends its job once (GitLab), so a deployment recorded finished never ends
    earlier, nor is unfinished again, with other outcomes on its hosts: such a record was read
    from an export saved before the one imported earlier (a success saved before the failure
    that followed it), and replacing the record would undo what was seen since."""
    was, now = old.get("finished_at"), new.get("finished_at")
    if was is None or old.get("targets") == new.get("targets"):
        return None
    if now is None:
        return f"it is recorded finished at {was}, and this import shows it unfinished"
    if timestamp_ns(str(now)) < timestamp_ns(str(was)):
        return f"it is recorded finished at {was}, and this import shows it ended at {now}"
    return None


def record(facts: Facts, scope: Scope, source: Path) -> Deployment:
    """The contract record of one deployment."""
    reason = {"reason": facts.reason} if facts.reason else {}
    plain: dict[str, Any] = {
        "id": facts.ident,
        "service": scope.service,
        "environment": facts.environment,
        "commit": facts.commit,
        **({"ref": facts.ref} if facts.ref else {}),
        "started_at": facts.started_at,
        **({"finished_at": facts.finished_at} if facts.finished_at else {}),
        "deployer": facts.deployer,
        "approvals": [{"by": by, "at": at} for by, at in sorted(set(facts.approvals))],
        "targets": [
            {"host": host, "status": facts.status, **reason} for host in sorted(set(scope.targets))
        ],
    }
    return validate(Deployment, Located(plain, 0), source, f"deployment {facts.ident}")


def listed_once(items: list[Any], source: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Each deployment of a GitHub list once, and what was said of those listed twice: a list
    read page by page while it changes lists one again (GitHub lists the newest first, so one
    created meanwhile pushes the last of a page onto the next, and none is lost). Recorded
    twice, the import was refused naming the evidence file rather than the list. (GitLab's
    list by update loses one where it lists one twice: ``fetch.listed_whole``.)"""
    return once_each(items, "id", lambda ident: f"deployment {ident}", source)
