"""What an Ansible run shows, read from any of the three records Ansible tools keep of it: the
``ansible.posix.json`` stdout callback (one document at the end of the run), the
``ansible.posix.jsonl`` callback (one event a line, as the run goes) and ansible-runner's
artifact directory (``job_events/*.json``, what AWX and Ansible Automation Platform keep).

Each becomes the same :class:`PlaybookRun`: the plays in the order they ran (a ``serial``
batch is a play run of its own, with its play's id), each task's result on each host, and the
``stats`` the run ends with, or None when it never got there (it was killed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from checker.errors import InputError
from checker.evidence import jsonread
from checker.evidence.files import read_text
from checker.importers.common import dig, expect, read_documents

State = Literal["ok", "changed", "skipped", "failed", "unreachable"]
COUNTS = ("ok", "changed", "failures", "unreachable", "skipped")
JSON = "the output of ansible-playbook with ANSIBLE_STDOUT_CALLBACK=ansible.posix.json"
JSONL = "the output of ansible-playbook with ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl"
RUNNER = "an ansible-runner artifact directory (job_events/*.json)"
WHAT = f"{JSON} or ansible.posix.jsonl, or {RUNNER}"


@dataclass
class TaskRun:
    """One task of a play run: its result on each host, and the hosts it started on."""

    key: str
    name: str
    results: dict[str, State] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)


@dataclass
class PlayRun:
    """One run of a play (one ``serial`` batch); ``key`` is the play's id, shared by batches."""

    key: str
    name: str
    start: str
    tasks: list[TaskRun] = field(default_factory=list)

    def hosts(self) -> set[str]:
        """Every host the play run reached."""
        return {h for task in self.tasks for h in (*task.results, *task.started)}

    def task(self, key: str, name: str) -> TaskRun:
        """The latest run of that task in this play run, started now if there is none."""
        for task in reversed(self.tasks):
            if task.key == key:
                return task
        self.tasks.append(TaskRun(key, name))
        return self.tasks[-1]


@dataclass
class PlaybookRun:
    """Everything a run's record shows; ``stats`` is None when the run did not finish."""

    plays: list[PlayRun]
    stats: dict[str, dict[str, int]] | None
    finished_at: str | None
    notes: list[str] = field(default_factory=list)


def read_run(path: Path) -> PlaybookRun:
    """The run recorded at ``path``: a json or jsonl callback file, or a runner directory."""
    if path.is_dir():
        return _from_job_events(path)
    documents = read_documents(path, WHAT)
    first = documents.values[0][0]
    single = len(documents.values) == 1 and documents.cut_at is None
    if single and isinstance(first, dict) and "_event" not in first:
        return _from_json_callback(first, path)
    if all(isinstance(v, dict) and "_event" in v for v, _ in documents.values):
        for value, line in documents.values:
            if not isinstance(value["_event"], str):
                raise InputError(
                    f"'_event' is not a name; expected {JSONL}", path=str(path), line=line
                )
        events = [Event(v["_event"], v, path, line) for v, line in documents.values]
        run = _from_events(events, _jsonl_event)
        if documents.cut_at is not None:
            run.notes.append(
                f"line {documents.cut_at} is cut off (the run was killed while writing it) "
                "and was left out"
            )
        return run
    expect(documents.cut_at is None, path, f"line {documents.cut_at} is cut off; expected {WHAT}")
    raise InputError(f"no 'plays' and 'stats' at the top level; expected {WHAT}", path=str(path))


def state(result: Any) -> State:
    """A host's result of a task, as the callbacks flag it."""
    if not isinstance(result, dict):
        return "failed"
    for flag in ("unreachable", "failed", "skipped"):
        if result.get(flag) is True:
            return flag
    return "changed" if result.get("changed") is True else "ok"


def _stats(stats: Any, path: Path) -> dict[str, dict[str, int]]:
    expect(isinstance(stats, dict), path, "'stats' is not a mapping of host to counts")
    for host, counts in stats.items():
        expect(
            isinstance(counts, dict)
            and all(isinstance(counts.get(c, 0), int) for c in COUNTS)
            and any(c in counts for c in COUNTS),
            path,
            f"stats of host {host!r} are not ansible's counts ({', '.join(COUNTS)})",
        )
    return dict(stats)


def _from_json_callback(document: dict[str, Any], path: Path) -> PlaybookRun:
    expect(
        "stats" in document and "plays" in document,
        path,
        f"no 'plays' and 'stats' at the top level; expected {JSON}",
    )
    stats, plays = _stats(document["stats"], path), document["plays"]
    expect(isinstance(plays, list) and bool(plays), path, "'plays' is empty: nothing ran")
    runs, ends = [], []
    for index, play in enumerate(plays, start=1):
        duration = dig(play, "play", "duration")
        expect(
            isinstance(duration, dict) and isinstance(duration.get("start"), str),
            path,
            f"play #{index} has no play.duration.start",
        )
        if isinstance(duration.get("end"), str):
            ends.append(duration["end"])
        key = dig(play, "play", "id")
        key = key if isinstance(key, str) else f"play #{index}"
        run = PlayRun(key, str(dig(play, "play", "name")), duration["start"])
        tasks = play.get("tasks")
        expect(isinstance(tasks, list), path, f"play #{index} has no list of tasks")
        for number, task in enumerate(tasks, start=1):
            hosts = dig(task, "hosts")
            name = dig(task, "task", "name")
            expect(
                isinstance(hosts, dict) and isinstance(name, str),
                path,
                f"task #{number} of play #{index} has no task.name and hosts",
            )
            entry = TaskRun(str(dig(task, "task", "id")), name)
            entry.results = {str(host): state(result) for host, result in hosts.items()}
            run.tasks.append(entry)
        runs.append(run)
    return PlaybookRun(runs, stats, max(ends) if ends else None)


@dataclass(frozen=True)
class Event:
    """One event of a run's stream, and where it was read (a file, and a line in it)."""

    name: str
    body: dict[str, Any]
    path: Path
    line: int | None = None

    def check(self, condition: bool, message: str) -> None:
        """Refuse the event when ``condition`` fails, naming the file and line."""
        if not condition:
            raise InputError(f"{self.name} event {message}", path=str(self.path), line=self.line)


def _from_events(events: list[Event], read: Any) -> PlaybookRun:
    """A run from its events in order; ``read`` turns one into (kind, play, task, host, data)."""
    plays: list[PlayRun] = []
    stats: dict[str, dict[str, int]] | None = None
    finished_at: str | None = None
    for event in events:
        kind, play, task, host, data = read(event.name, event.body)
        if kind == "play":
            event.check(
                all(isinstance(p, str) for p in play), "has no play name, id and start time"
            )
            plays.append(PlayRun(play[0], play[1], play[2]))
        elif kind in ("task", "start", "result"):
            event.check(bool(plays), "comes before any play started")
            event.check(all(isinstance(t, str) for t in task), "names no task")
            entry = plays[-1].task(task[0], task[1])
            if kind != "task":
                event.check(isinstance(host, str), "names no host")
            if kind == "start":
                entry.started.add(host)
            elif kind == "result":
                entry.results[host] = data
        elif kind == "stats":
            finished_at = event.body.get("_timestamp") or event.body.get("created")
            event.check(isinstance(finished_at, str), "has no time")
            stats = _stats(data, event.path)
    if not plays:
        raise InputError(f"no play started in this run; expected {WHAT}", path=str(events[0].path))
    return PlaybookRun(plays, stats, finished_at)


RESULTS = {"v2_runner_on_ok", "v2_runner_on_failed", "v2_runner_on_skipped",
           "v2_runner_on_unreachable"}  # fmt: skip
TASK_STARTS = {"v2_playbook_on_task_start", "v2_playbook_on_handler_task_start",
               "v2_runner_on_start"}  # fmt: skip


def _jsonl_event(name: str, event: dict[str, Any]) -> tuple[str, Any, Any, Any, Any]:
    """One line of the jsonl callback."""
    task = (str(dig(event, "task", "id")), dig(event, "task", "name"))
    if name == "v2_playbook_on_play_start":
        play = (str(dig(event, "play", "id")), dig(event, "play", "name"),
                dig(event, "play", "duration", "start"))  # fmt: skip
        return "play", play, None, None, None
    if name in TASK_STARTS:
        # v2_runner_on_start (free strategy) names no host: it only says the task began.
        return "task", None, task, None, None
    hosts = event.get("hosts")
    if name in RESULTS:
        if isinstance(hosts, dict) and len(hosts) == 1:
            host, result = next(iter(hosts.items()))
            return "result", None, task, host, state(result)
        return "result", None, task, None, None
    if name == "v2_playbook_on_stats":
        return "stats", None, None, None, event.get("stats")
    return "other", None, None, None, None


RUNNER_RESULTS: dict[str, State] = {
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
RUNNER_COUNTS = {"ok": "ok", "changed": "changed", "failures": "failures",
                 "dark": "unreachable", "skipped": "skipped", "rescued": "rescued",
                 "ignored": "ignored"}  # fmt: skip


def _runner_event(name: str, event: dict[str, Any]) -> tuple[str, Any, Any, Any, Any]:
    """One ansible-runner job event."""
    data = event.get("event_data")
    data = data if isinstance(data, dict) else {}
    task = (str(data.get("task_uuid")), data.get("task"))
    host = data.get("host")
    if name == "playbook_on_play_start":
        return (
            "play",
            (str(data.get("play_uuid")), data.get("play"), event.get("created")),
            None,
            None,
            None,
        )
    if name in ("playbook_on_task_start", "playbook_on_handler_task_start"):
        return "task", None, task, None, None
    if name == "runner_on_start":
        return "start", None, task, host, None
    if name == "runner_on_ok":
        changed = dig(data, "res", "changed") is True
        return "result", None, task, host, "changed" if changed else "ok"
    if name in RUNNER_RESULTS:
        return "result", None, task, host, RUNNER_RESULTS[name]
    if name == "playbook_on_stats":
        stats: dict[str, dict[str, int]] = {}
        for key, count in RUNNER_COUNTS.items():
            per_host = data.get(key)
            for target, value in per_host.items() if isinstance(per_host, dict) else ():
                stats.setdefault(str(target), dict.fromkeys(RUNNER_COUNTS.values(), 0))[count] = (
                    value
                )
        return "stats", None, None, None, stats
    return "other", None, None, None, None


def _from_job_events(directory: Path) -> PlaybookRun:
    """ansible-runner's ``job_events``: in the artifact directory, or the only one under
    ``artifacts/`` of a private data directory."""
    found = directory / "job_events"
    if not found.is_dir():
        candidates = sorted(directory.glob("artifacts/*/job_events"))
        several = " (several runs under artifacts/: name one)" if candidates else ""
        expect(
            len(candidates) == 1, directory, f"no job_events directory{several}; expected {RUNNER}"
        )
        found = candidates[0]
    files = sorted(found.glob("*.json"), key=_counter)
    expect(bool(files), found, f"no job events; expected {RUNNER}")
    events: list[Event] = []
    notes = []
    for index, file in enumerate(files):
        try:
            event = jsonread.loads(read_text(file).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if index == len(files) - 1:
                notes.append(
                    f"{file.name} is cut off (the run was killed while writing it) and was left out"
                )
                continue
            raise InputError(
                f"not a JSON job event ({exc}); expected {RUNNER}", path=str(file)
            ) from None
        except ValueError as exc:
            raise InputError(f"not a JSON job event ({exc})", path=str(file)) from None
        expect(
            isinstance(event, dict) and isinstance(event.get("event"), str),
            file,
            f"not a job event (no 'event'); expected {RUNNER}",
        )
        events.append(Event(event["event"], event, file))
    run = _from_events(events, _runner_event)
    run.notes.extend(notes)
    return run


def _counter(file: Path) -> tuple[int, str]:
    """Job event files are named COUNTER-UUID.json; the counter orders them."""
    head = file.name.split("-", 1)[0]
    return (int(head) if head.isdigit() else -1, file.name)
