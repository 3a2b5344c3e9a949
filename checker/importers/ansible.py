"""``knightwatch import ansible``: a deployment record from a run of ``ansible-playbook``,
as the ``ansible.posix.json`` or ``ansible.posix.jsonl`` callback or ansible-runner recorded it
(see :mod:`checker.importers.ansible_runs`).

Which hosts are targets: the hosts of the plays that hold a release task (``--release-task``,
by task name), or, when none is named, of every play that ran on more than the control node
(a play on ``localhost`` that builds the bundle is not a deployment to ``localhost``).

Each target's status comes from the release steps, not from the play's ``ok`` counts (fact
gathering alone makes a host ``ok``):

- an unreachable result: ``unreachable``;
- a failure the run counts (``stats``; in an unfinished run, any failed result): ``failed``;
- in a run that was killed, a task still running on the host: ``failed``;
- with release tasks named: each must have run on the host, and neither been skipped there
  (``skipped``) nor failed with its error ignored or rescued (``failed``);
- with none named: a run that did not finish succeeds nowhere (``failed``: nothing says which
  task released); a host that skipped a task, or failed one with its error ignored, while that
  task changed other hosts of the same play is ``skipped`` or ``failed``; a host on which every
  task was skipped is ``skipped``;
- otherwise ``succeeded``.

Every status but ``succeeded`` carries the reason, naming the task. A host the run never
reached is in no target, and FLEET-001 reports it as absent. ``started_at`` is the first play's
start; ``finished_at`` is the end of the run, and is left out when the run did not finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from checker.errors import InputError
from checker.evidence.files import Located, validate
from checker.evidence.models import DeployApproval, Deployment, Status, Target
from checker.importers.ansible_runs import WHAT, PlaybookRun, PlayRun, State, read_run

CONTROL_NODE = "localhost"


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
    release_tasks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Imported:
    """The record, and what the reader noticed on the way (a line cut off by a kill)."""

    deployment: Deployment
    notes: tuple[str, ...]


def is_task(name: str, wanted: str) -> bool:
    """A task's name as the callbacks write it (``ROLE : NAME`` inside a role) is ``wanted``."""
    return name == wanted or name.split(" : ", 1)[-1] == wanted


def deployment(path: Path, run: Run) -> Imported:
    """The deployment record the run at ``path`` shows."""
    played = read_run(path)
    finished = played.stats is not None
    plays = _deploying_plays(played, run.release_tasks, path)
    hosts = sorted({host for play in plays for host in play.hosts()})
    if not hosts:
        raise InputError("no host ran a task of the deployment's plays", path=str(path))
    judge = _Judge(played, plays, run.release_tasks)
    targets = [judge.target(host) for host in hosts]
    record: dict[str, object] = {
        "id": run.deployment_id,
        "service": run.service,
        "environment": run.environment,
        "commit": run.commit,
        "started_at": min(play.start for play in played.plays),
        "deployer": run.deployer,
        "approvals": [a.model_dump() for a in run.approvals],
        "targets": [
            {"host": t.host, "status": t.status, **({"reason": t.reason} if t.reason else {})}
            for t in targets
        ],
    }
    if finished and played.finished_at:
        record["finished_at"] = played.finished_at
    if run.change_ticket:
        record["change_ticket"] = run.change_ticket
    if run.artifact:
        record["artifact"] = run.artifact
    try:
        made = validate(Deployment, Located(record, 0), path, "deployment from this output")
    except InputError as exc:
        raise InputError(exc.message, hint=f"expected {WHAT}") from None
    return Imported(made, tuple(played.notes))


def _deploying_plays(played: PlaybookRun, release: tuple[str, ...], path: Path) -> list[PlayRun]:
    """The play runs whose hosts are the deployment's targets."""
    if played.stats is not None:
        _check_release_tasks(played, release, path)
    keys = _releasing(played, release)
    if not keys:  # none named, or none reached yet by a run that was killed
        keys = {play.key for play in played.plays if play.hosts() - {CONTROL_NODE}}
    if not keys:  # a deployment to the control node itself
        keys = {play.key for play in played.plays}
    return [play for play in played.plays if play.key in keys]


def _check_release_tasks(played: PlaybookRun, release: tuple[str, ...], path: Path) -> None:
    """Every release task named is a task of the (finished) run."""
    names = sorted({task.name for play in played.plays for task in play.tasks})
    missing = [r for r in release if not any(is_task(name, r) for name in names)]
    if missing:
        raise InputError(
            f"release task {missing[0]!r} is in no play of this run; its tasks are: "
            + ", ".join(repr(n) for n in names),
            path=str(path),
            hint="--release-task takes a task's name as the run shows it",
        )


def _releasing(played: PlaybookRun, release: tuple[str, ...]) -> set[str]:
    """The keys of the plays that ran a release task."""
    return {
        play.key
        for play in played.plays
        for task in play.tasks
        if any(is_task(task.name, r) for r in release)
    }


class _Judge:
    """Each host's status, from its results in the deploying plays."""

    def __init__(self, played: PlaybookRun, plays: list[PlayRun], release: tuple[str, ...]):
        self.finished = played.stats is not None
        self.stats = played.stats or {}
        self.plays = plays
        self.release = release
        self.last = played.plays[-1]
        self.changed: dict[tuple[str, str], set[str]] = {}
        for play in plays:
            for task in play.tasks:
                done = {h for h, s in task.results.items() if s == "changed"}
                self.changed.setdefault((play.key, task.name), set()).update(done)

    def target(self, host: str) -> Target:
        """The host's target: its status, and why when it did not succeed."""
        status, reason = self._status(host)
        return Target(host=host, status=status, reason=reason)

    def _status(self, host: str) -> tuple[Status, str | None]:
        results = [
            (play, task.name, task.results[host])
            for play in self.plays
            for task in play.tasks
            if host in task.results
        ]
        stopped = self._stopped(host, results)
        if stopped is not None:
            return stopped
        if self.release:
            return self._released(host, results)
        if not self.finished:
            return "failed", (
                "the run did not finish, and no release task was named to show what it "
                "had done on this host"
            )
        return self._by_results(host, results)

    def _stopped(
        self, host: str, results: list[tuple[PlayRun, str, State]]
    ) -> tuple[Status, str | None] | None:
        """Unreachable, failed, or still running a task when the run was killed; else None."""
        counts = self.stats.get(host, {})
        for _, name, state in results:
            if state == "unreachable":
                return "unreachable", f"unreachable at task {name!r}"
        if counts.get("unreachable"):
            return "unreachable", None
        failed = [name for _, name, state in results if state == "failed"]
        if self.finished and counts.get("failures"):
            return "failed", f"task {failed[0]!r} failed" if failed else None
        if not self.finished and failed:
            return "failed", f"task {failed[0]!r} failed"
        running = self._running(host)
        if running:
            return "failed", f"the run was killed while task {running!r} was running on it"
        return None

    def _by_results(
        self, host: str, results: list[tuple[PlayRun, str, State]]
    ) -> tuple[Status, str | None]:
        """A finished run without release tasks: what the host's results say."""
        for play, name, state in results:
            others = self.changed.get((play.key, name), set()) - {host}
            if state == "skipped" and others:
                return "skipped", f"task {name!r} was skipped here but changed other hosts"
            if state == "failed" and others:
                return "failed", (
                    f"task {name!r} failed here (its error ignored or rescued) but changed "
                    "other hosts"
                )
        if not any(state in ("ok", "changed") for _, _, state in results):
            return "skipped", "every task was skipped"
        return "succeeded", None

    def _running(self, host: str) -> str | None:
        """The task a killed run was running on the host, if it was running one."""
        if self.finished or self.last not in self.plays:
            return None
        tasks = self.last.tasks
        for index, task in enumerate(tasks):
            if host in task.results:
                continue
            lockstep_last = index == len(tasks) - 1 and host in self.last.hosts()
            if host in task.started or lockstep_last:
                return task.name
        return None

    def _released(
        self, host: str, results: list[tuple[PlayRun, str, State]]
    ) -> tuple[Status, str | None]:
        for wanted in self.release:
            states = [state for _, name, state in results if is_task(name, wanted)]
            if not states:
                if self.finished:
                    return "skipped", f"release task {wanted!r} did not run on it"
                return "skipped", f"the run was killed before release task {wanted!r} ran on it"
            if "skipped" in states:
                return "skipped", f"release task {wanted!r} was skipped"
            if "failed" in states:
                return "failed", f"release task {wanted!r} failed (its error ignored or rescued)"
        return "succeeded", None
