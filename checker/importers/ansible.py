"""``knightwatch import ansible``: a deployment record from a run of ``ansible-playbook``,
as the ``ansible.posix.json`` or ``ansible.posix.jsonl`` callback or ansible-runner recorded it
(see :mod:`checker.importers.ansible_runs`).

The release must be named (``--release-task``, by task name, repeatable). The output shows what
ran, not what the playbook meant to do: a release skipped on every host, tasks of an include
that ran nowhere, a play stopped early by ``any_errors_fatal`` or ``meta: end_play`` all leave
runs in which every host looks fine. Nothing is guessed.

A dry run (``ansible-playbook --check``) deploys nothing and is refused, unless a release task
ran for real in it (``check_mode: false`` on the task: a copy that names its ``dest``, a command
with an exit code), which makes it a deployment; a release task whose module cannot show it (the
git module) is refused as one that may have deployed. ansible-runner's
``command`` file, or a task that shows ``ansible_check_mode``, says whether the run was one;
the callbacks record nothing else of it, so for their output the user states it
(``--not-check-mode``), and the import is refused still when a task was skipped for check mode.

Which hosts are targets: the hosts of the plays that hold a release task, or, when the run
never reached one, of every play that ran on more than the control node (a play on
``localhost`` that builds the bundle is not a deployment to ``localhost``).

Each target's status comes from the release steps, not from the play's ``ok`` counts:

- an unreachable result: ``unreachable``;
- a failure the run counts (``stats``; in an unfinished run, any failed result): ``failed``;
- in a run that was killed, a task still running on the host, or a last play (a verification
  after the release) that shows no result on it: ``failed``;
- each release task must have run on the host, and neither been skipped there (``skipped``)
  nor failed with its error ignored or rescued (``failed``);
- nor may its result there show that it did not release, though Ansible counts it ``ok`` or
  ``changed``: a loop item skipped or failed, a non-zero ``rc``, ``failed_when`` overriding
  a module with no ``rc``, a job only started in the background (``async`` with ``poll: 0``),
  a result that changed nothing and does not show the release in place (a command that
  ``creates:`` kept from running, a copy that ``force: false`` kept from writing), a result
  ``delegate_to`` ran against another host, a copy made in check mode (see
  :func:`checker.importers.ansible_runs.shortfall`); a release task that is an include, or
  whose result ``no_log`` censored, is refused: its result cannot show the release;
- a ``--rollback-task`` that ran on the host: ``failed``;
- any task that failed on the host after the release, its error rescued or ignored (a
  rollback), or a rescued failure in the host's stats: ``failed``;
- otherwise ``succeeded``.

Every status but ``succeeded`` carries the reason, naming the task. A host the run never
reached is in no target, and FLEET-001 reports it as absent. ``started_at`` is the first play's
start; ``finished_at`` is the end of the run, and is left out when the run did not finish.

A release task named that matches no task is refused as a misspelling only when the run ran to
its end with no host failed or unreachable; otherwise the run stopped before it, and the hosts
it reached are recorded as not released.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from checker.errors import InputError
from checker.evidence.files import Located, validate
from checker.evidence.models import DeployApproval, Deployment, Status, Target
from checker.importers.ansible_runs import WHAT, PlaybookRun, PlayRun, State, read_run
from checker.importers.common import named_ref

CONTROL_NODE = "localhost"
NEAR = 0.8
"""How alike (:class:`difflib.SequenceMatcher` ratio) a rollback task's name and a task of
the run must be for the name to be refused as a misspelling of it."""


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
    rollback_tasks: tuple[str, ...] = ()
    """Tasks that undo the release where they run (``--rollback-task``)."""
    not_check_mode: bool = False
    """The user's word that the run was not ``--check``, for output that does not say."""


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
    forced = _refuse_dry_run(played, run.not_check_mode, path, run.release_tasks)
    notes = [*played.notes, *forced]
    plays = _deploying_plays(played, run.release_tasks, path, notes)
    _refuse_release_results_that_cannot_show(played, run.release_tasks, path)
    hosts = sorted({host for play in plays for host in play.hosts()})
    if not hosts:
        raise InputError("no host ran a task of the deployment's plays", path=str(path))
    _note_rollbacks_that_never_ran(played, run.rollback_tasks, notes, path)
    judge = _Judge(played, plays, run.release_tasks, run.rollback_tasks, run.commit)
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
    if played.stats is not None and played.finished_at:
        record["finished_at"] = played.finished_at
    record.update(_ref(plays, run))
    if run.change_ticket:
        record["change_ticket"] = run.change_ticket
    if run.artifact:
        record["artifact"] = run.artifact
    try:
        made = validate(Deployment, Located(record, 0), path, "deployment from this output")
    except InputError as exc:
        raise InputError(exc.message, hint=f"expected {WHAT}") from None
    return Imported(made, tuple(notes))


def _ref(plays: list[PlayRun], run: Run) -> dict[str, str]:
    """The branch or tag the release tasks' ``git`` module checked out, when every host's
    result names the same one; else none (a sha, hosts that disagree, no git module). A ref is
    never judged: ``--commit`` is what was deployed."""
    versions = {
        version
        for play in plays
        for task in play.tasks
        if any(is_task(task.name, r) for r in run.release_tasks)
        for version in task.versions.values()
    }
    ref = named_ref(versions.pop()) if len(versions) == 1 else None
    return {"ref": ref} if ref else {}


def _refuse_dry_run(
    played: PlaybookRun, asserted: bool, path: Path, release: tuple[str, ...]
) -> list[str]:
    """A dry run deployed nothing, unless a release task ran for real in it (``check_mode:
    false`` on the task): then it is a deployment, and the note returned says so; output that
    cannot say whether the run was a dry run needs the user's word."""
    dry = [why for flag, why in played.check_mode if flag]
    if dry:
        return _forced_in_dry_run(played, release, f"{dry[0]}", path)
    if any(not flag for flag, _ in played.check_mode):
        return []
    if not asserted:
        silent = (
            "this artifact directory has no command file"
            if path.is_dir()
            else "the json and jsonl callbacks do not record it"
        )
        raise InputError(
            "this output does not say whether the run was a dry run (ansible-playbook --check): "
            + silent,
            path=str(path),
            hint="if it was not, pass --not-check-mode; or add a task that shows "
            "ansible_check_mode (ansible.builtin.debug: {var: ansible_check_mode}) to the "
            "playbook, and its output says so itself",
        )
    if played.check_skipped:
        raise InputError(
            f"task {played.check_skipped[0]!r} was skipped because it ran in check mode, so "
            "this looks like a dry run (ansible-playbook --check), not what --not-check-mode "
            "says",
            path=str(path),
            hint="if that task sets check_mode: true itself, add a task that shows "
            "ansible_check_mode (ansible.builtin.debug: {var: ansible_check_mode}) to the "
            "playbook, so that its output says whether the run was a dry run",
        )
    return []


def _forced_in_dry_run(
    played: PlaybookRun, release: tuple[str, ...], why: str, path: Path
) -> list[str]:
    """A dry run whose release task ran for real on some host (``check_mode: false`` on the
    task runs it in a dry run too) is a deployment: a note saying so. One whose release task's
    results cannot show whether it did (a git checkout) is refused, saying that it may have
    deployed; any other deployed nothing, and is refused as a dry run."""
    said = f"this run was a dry run (ansible-playbook --check): {why}"
    tasks = [
        task
        for play in played.plays
        for task in play.tasks
        if any(is_task(task.name, r) for r in release)
    ]
    real = sorted({host for task in tasks for host, did in task.acted.items() if did})
    if real:
        names = sorted({t.name for t in tasks if any(t.acted.values())})
        return [
            f"{said}, but release task {names[0]!r} ran for real on {', '.join(real)} "
            "(check_mode: false on the task runs it in a dry run too): recorded as a deployment"
        ]
    unknown = next((t.name for t in tasks if None in t.acted.values()), None)
    if unknown is not None:
        raise InputError(
            f"{said}, and whether release task {unknown!r} ran for real cannot be told: a task "
            "with check_mode: false runs in a dry run too, and its module's result looks the "
            "same either way, so this run may have deployed",
            path=str(path),
            hint="if the release task has check_mode: false, record this deployment by hand; "
            "name as release task one whose result shows a real run (a copy, a template, a "
            "command)",
        )
    raise InputError(f"{said}; it deployed nothing", path=str(path))


def _task_names(played: PlaybookRun) -> list[str]:
    return sorted({task.name for play in played.plays for task in play.tasks})


def _note_rollbacks_that_never_ran(
    played: PlaybookRun, rollback: tuple[str, ...], notes: list[str], path: Path
) -> None:
    """A rollback task that ran nowhere is what a healthy run looks like when the rollback is
    a rescue or a handler (their tasks appear only where they ran); but it is what a
    misspelt name looks like too, so say so rather than refuse."""
    names = _task_names(played)
    for name in rollback:
        if not any(is_task(task, name) for task in names):
            _refuse_near_name(name, names, path)
            notes.append(
                f"rollback task {name!r} is in no play of this run: it ran nowhere (if the "
                f"name is misspelt, its tasks are: {', '.join(repr(n) for n in names)})"
            )


def _refuse_near_name(name: str, names: list[str], path: Path) -> None:
    """A rollback task named as no task of the run, but near one (equal but for case, or
    close by :mod:`difflib`), is a misspelling: noting it would let the rollback go unseen."""
    wanted = name.casefold()
    near = [
        task
        for task in names
        for short in {task, task.split(" : ", 1)[-1]}
        if short.casefold() == wanted
        or difflib.SequenceMatcher(None, wanted, short.casefold()).ratio() >= NEAR
    ]
    if near:
        raise InputError(
            f"rollback task {name!r} is in no play of this run; did you mean {near[0]!r}?",
            path=str(path),
            hint="--rollback-task takes a task's name exactly as the run shows it; "
            f"the run's tasks are: {', '.join(repr(n) for n in names)}",
        )


def _refuse_release_results_that_cannot_show(
    played: PlaybookRun, release: tuple[str, ...], path: Path
) -> None:
    """An include's result says only that the include was read, and a result ``no_log``
    censored hides what the release did (a skipped loop item, an exit code, a copy in check
    mode): neither can show that a host was released."""
    for play in played.plays:
        for task in play.tasks:
            if not any(is_task(task.name, r) for r in release):
                continue
            if task.include:
                raise InputError(
                    f"release task {task.name!r} is an include (include_tasks or include_role): "
                    "its result says only that the include was read, not what the included "
                    "tasks did on each host",
                    path=str(path),
                    hint="name the included tasks with --release-task, as the run shows them "
                    "('ROLE : NAME' inside a role)",
                )
            if task.censored:
                raise InputError(
                    f"release task {task.name!r} has no_log: its result on "
                    f"{sorted(task.censored)[0]} is censored, so it cannot show that it "
                    "released (a skipped loop item, an exit code, a copy made in check mode)",
                    path=str(path),
                    hint="drop no_log from the release task, or name as release task one "
                    "whose result shows the release",
                )


def _ran_to_its_end(played: PlaybookRun) -> bool:
    """The run finished with no host failed or unreachable: every play it has ran."""
    return played.stats is not None and not any(
        counts.get("failures") or counts.get("unreachable") for counts in played.stats.values()
    )


def _deploying_plays(
    played: PlaybookRun, release: tuple[str, ...], path: Path, notes: list[str]
) -> list[PlayRun]:
    """The play runs whose hosts are the deployment's targets."""
    _check_release_tasks(played, release, path, notes)
    keys = {
        play.key
        for play in played.plays
        for task in play.tasks
        if any(is_task(task.name, r) for r in release)
    }
    if not keys:  # none reached yet by a run that stopped early
        keys = {play.key for play in played.plays if play.hosts() - {CONTROL_NODE}}
    if not keys:  # a deployment to the control node itself
        keys = {play.key for play in played.plays}
    return [play for play in played.plays if play.key in keys]


def _check_release_tasks(
    played: PlaybookRun, release: tuple[str, ...], path: Path, notes: list[str]
) -> None:
    """Release tasks are named, and each is a task of the run; one that a run stopped early
    never reached is told in ``notes``."""
    names = _task_names(played)
    tasks = ", ".join(repr(n) for n in names)
    if not release:
        raise InputError(
            f"name the task or tasks that release with --release-task; its tasks are: {tasks}",
            path=str(path),
            hint="the output shows what ran, not what the playbook was meant to do: a release "
            "skipped everywhere, an include that ran nowhere or a play stopped early leave every "
            "host looking fine, so the importer does not guess",
        )
    missing = [r for r in release if not any(is_task(name, r) for name in names)]
    if missing and _ran_to_its_end(played):
        raise InputError(
            f"release task {missing[0]!r} is in no play of this run; its tasks are: {tasks}",
            path=str(path),
            hint="--release-task takes a task's name as the run shows it",
        )
    for name in missing:
        notes.append(
            f"release task {name!r} ran nowhere: the run stopped before it (if the name is "
            f"misspelt, its tasks are: {tasks})"
        )


class _Judge:
    """Each host's status, from its results in the deploying plays."""

    def __init__(
        self,
        played: PlaybookRun,
        plays: list[PlayRun],
        release: tuple[str, ...],
        rollback: tuple[str, ...] = (),
        commit: str = "",
    ):
        self.finished = played.stats is not None
        self.stats = played.stats or {}
        self.played = played
        self.plays = plays
        self.release = release
        self.rollback = rollback
        self.commit = commit
        self.last = played.plays[-1]

    def target(self, host: str) -> Target:
        """The host's target: its status, and why when it did not succeed."""
        status, reason = self._status(host)
        return Target(host=host, status=status, reason=reason)

    def _status(self, host: str) -> tuple[Status, str | None]:
        results = [
            (task.name, task.results[host])
            for play in self.plays
            for task in play.tasks
            if host in task.results
        ]
        counts = self.stats.get(host, {})
        for name, state in results:
            if state == "unreachable":
                return "unreachable", f"unreachable at task {name!r}"
        if counts.get("unreachable"):
            return "unreachable", None
        failed = [name for name, state in results if state == "failed"]
        if self.finished and counts.get("failures"):
            return "failed", f"task {failed[0]!r} failed" if failed else None
        if not self.finished and failed:
            return "failed", f"task {failed[0]!r} failed"
        killed = self._killed(host)
        if killed:
            return "failed", killed
        return self._released(host, results)

    def _killed(self, host: str) -> str | None:
        """Why a killed run leaves the host unfinished: it was running a task of the run's last
        play, or that play (a verification after the release, say) shows nothing of it yet."""
        if self.finished:
            return None
        running = self._running(host)
        if running:
            return f"the run was killed while task {running!r} was running on it"
        if self._unseen_in_last_play(host):
            where = f" at task {self.last.tasks[-1].name!r}" if self.last.tasks else ""
            return (
                f"the run was killed in play {self.last.name!r}{where} before that play showed "
                "a result on it: it may have been running there"
            )
        return None

    def _running(self, host: str) -> str | None:
        """The task a killed run was running on the host, if it was running one."""
        if host not in self.last.hosts():
            return None
        tasks = self.last.tasks
        for index, task in enumerate(tasks):
            if host in task.results:
                continue
            if host in task.started or index == len(tasks) - 1:
                return task.name
        return None

    def _unseen_in_last_play(self, host: str) -> bool:
        """The killed run's last play shows no result on the host, which no earlier batch of
        that play (``serial``) took through it either: the run may have been killed while the
        play ran on it. The play's hosts are not recorded, so only a play that shows results on
        the control node alone is taken as not the host's."""
        if host in self.last.hosts():
            return False
        if any(play.key == self.last.key and host in play.hosts() for play in self.played.plays):
            return False
        shown = self.last.hosts()
        return not shown or bool(shown - {CONTROL_NODE})

    def _released(self, host: str, results: list[tuple[str, State]]) -> tuple[Status, str | None]:
        for wanted in self.release:
            states = [state for name, state in results if is_task(name, wanted)]
            if not states:
                if self.finished:
                    return "skipped", f"release task {wanted!r} did not run on it"
                return "skipped", f"the run was killed before release task {wanted!r} ran on it"
            if "skipped" in states:
                return "skipped", f"release task {wanted!r} was skipped"
            if "failed" in states:
                return "failed", f"release task {wanted!r} failed (its error ignored or rescued)"
            flaws = [
                task.shortfalls[host]
                for play in self.plays
                for task in play.tasks
                if host in task.shortfalls and is_task(task.name, wanted)
            ] + self._elsewhere(host, wanted)
            if flaws:
                status, why = min(flaws, key=lambda flaw: flaw[0] != "failed")
                return status, f"release task {wanted!r} did not release: {why}"
        return self._undone(host)

    def _elsewhere(self, host: str, wanted: str) -> list[tuple[Status, str]]:
        """A git checkout of the release task that holds another commit than ``--commit``
        (asked for an older sha, or a branch an old clone kept): it did not release."""
        return [
            ("skipped", f"its git checkout holds {after[:12]}, not the deployed commit")
            for play in self.plays
            for task in play.tasks
            if is_task(task.name, wanted)
            and (after := task.checked_out.get(host)) is not None
            and self.commit
            and not after.lower().startswith(self.commit.lower()[:40])
            and not self.commit.lower().startswith(after.lower())
        ]

    def _rolled_back(self, timeline: list[tuple[str, State]]) -> str | None:
        """The first rollback task that ran (ok or changed) in the host's ``timeline``."""
        return next(
            (
                name
                for name, state in timeline
                if state in ("ok", "changed") and any(is_task(name, r) for r in self.rollback)
            ),
            None,
        )

    def _undone(self, host: str) -> tuple[Status, str | None]:
        """A failure after the release (a health check, say), its error rescued by a rollback
        or ignored, in any play of the run; or a rescue the host's stats count."""
        timeline = [
            (task.name, task.results[host])
            for play in self.played.plays
            for task in play.tasks
            if host in task.results
        ]
        rolled = self._rolled_back(timeline)
        if rolled:
            return "failed", f"rollback task {rolled!r} ran on it"
        first = next(
            i for i, (name, _) in enumerate(timeline) if any(is_task(name, r) for r in self.release)
        )
        after = [name for name, state in timeline[first:] if state == "failed"]
        if after:
            return "failed", (
                f"task {after[0]!r} failed after the release (its error rescued or ignored: "
                "a rollback may have undone it)"
            )
        if self.stats.get(host, {}).get("rescued"):
            return "failed", (
                "a failed task was rescued on it (block/rescue): the rescue may have undone the "
                "release"
            )
        return "succeeded", None
