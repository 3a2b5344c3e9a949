"""What an Ansible run shows, read from any of the three records Ansible tools keep of it: the
``ansible.posix.json`` stdout callback (one document at the end of the run), the
``ansible.posix.jsonl`` callback (one event a line, as the run goes) and ansible-runner's
artifact directory (``job_events/*.json``, what AWX and Ansible Automation Platform keep; see
:mod:`checker.importers.ansible_runner`).

Each becomes the same :class:`PlaybookRun`: the plays in the order they ran (a ``serial``
batch is a play run of its own, with its play's id), each task's result on each host, the
``stats`` the run ends with, or None when it never got there (it was killed), and what the
record says of check mode (``ansible-playbook --check``). One record holds one run: a stream
that goes on after its stats, or whose plays come from two ``ansible-playbook`` processes, is
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from checker.errors import InputError
from checker.evidence.files import read_text
from checker.importers.common import dig, expect, read_documents

State = Literal["ok", "changed", "skipped", "failed", "unreachable"]
Shortfall = tuple[Literal["failed", "skipped"], str]
"""What a release's result lacks, as the status that makes of the host and the reason."""
COUNTS = ("ok", "changed", "failures", "unreachable", "skipped")
JSON = "the output of ansible-playbook with ANSIBLE_STDOUT_CALLBACK=ansible.posix.json"
JSONL = "the output of ansible-playbook with ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl"
RUNNER = "an ansible-runner artifact directory (job_events/*.json)"
WHAT = f"{JSON} or ansible.posix.jsonl, or {RUNNER}"
SEVERAL_RUNS = "import each run on its own"
# Ansible's ids are PREFIX-COUNTER, the prefix drawn once per ansible-playbook process.
_ANSIBLE_ID = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})-[0-9a-f]{12}")


@dataclass
class TaskRun:
    """One task of a play run: its result on each host, and the hosts it started on."""

    key: str
    name: str
    results: dict[str, State] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    shortfalls: dict[str, Shortfall] = field(default_factory=dict)
    """Per host, why a result ansible counts ``ok`` or ``changed`` does not show the task done
    (see :func:`shortfall`), and the status that makes of a release."""
    include: bool = False
    """The task is an ``include_tasks`` or ``include_role``: its result says only that the
    include was read, not what the included tasks did."""
    censored: set[str] = field(default_factory=set)
    """Hosts whose ``ok`` or ``changed`` result ``no_log`` censored: it shows nothing else."""
    versions: dict[str, str] = field(default_factory=dict)
    """Per host, the ``version`` the ``git`` module was asked to check out (a branch, a tag
    or a sha), as its result's ``invocation.module_args`` shows it."""
    checked_out: dict[str, str] = field(default_factory=dict)
    """Per host, the commit a ``git`` module result says the checkout holds (``after``)."""
    acted: dict[str, bool | None] = field(default_factory=dict)
    """Per host whose result is ``ok`` or ``changed``, whether it shows the module acted on
    the host for real even in a dry run (see :func:`acted`); None where it cannot show."""

    def record(
        self, host: str, result: Any, action: Any = None, given: State | None = None
    ) -> None:
        """The host's result of this task; ``action`` the module, where the result omits it;
        ``given`` its state, where the record says it apart from the result's flags."""
        self.results[host] = given or state(result)
        self.include = self.include or module_of(result, action) in _INCLUDES
        if self.results[host] in ("ok", "changed") and _censored(result):
            self.censored.add(host)
        else:
            self.censored.discard(host)
        version = git_version(result, action)
        if version is None:
            self.versions.pop(host, None)
        else:
            self.versions[host] = version
        after = result.get("after") if module_of(result, action) == "git" else None
        if isinstance(after, str) and isinstance(result, dict):
            self.checked_out[host] = after
        else:
            self.checked_out.pop(host, None)
        done = self.results[host] in ("ok", "changed")
        if done:
            self.acted[host] = acted(result, action)
        else:
            self.acted.pop(host, None)
        found = shortfall(result, action, host) if done else None
        if found is None:
            self.shortfalls.pop(host, None)
        else:
            self.shortfalls[host] = found


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
    """Everything a run's record shows; ``stats`` is None when the run did not finish.

    ``check_mode`` holds what the record says of ``--check``: (True, why) for a dry run,
    (False, why) for a real one; nothing when it does not say. ``check_skipped`` names the
    tasks a host skipped because they ran in check mode."""

    plays: list[PlayRun]
    stats: dict[str, dict[str, int]] | None
    finished_at: str | None
    notes: list[str] = field(default_factory=list)
    check_mode: list[tuple[bool, str]] = field(default_factory=list)
    check_skipped: list[str] = field(default_factory=list)

    def observe(self, task: str, result: Any) -> None:
        """Note what one result says of check mode: ``ansible_check_mode`` (run-wide; a task
        that shows it), or a skip because the module ran in check mode (that task's alone:
        ``check_mode: true`` on a task does it in a real run too)."""
        if not isinstance(result, dict):
            return
        flag = result.get("ansible_check_mode")
        if isinstance(flag, bool) and not any(seen is flag for seen, _ in self.check_mode):
            self.check_mode.append((flag, f"task {task!r} shows ansible_check_mode: {flag}"))
        message = f"{result.get('msg', '')} {result.get('skip_reason', '')}".lower()
        skipped = result.get("skipped") is True and "check mode" in message
        if skipped and task not in self.check_skipped:
            self.check_skipped.append(task)


def read_run(path: Path) -> PlaybookRun:
    """The run recorded at ``path``: a json or jsonl callback file, or a runner directory."""
    if path.is_dir():
        from checker.importers.ansible_runner import read_artifacts

        return read_artifacts(path)
    _refuse_leading_text(path)
    documents = read_documents(path, WHAT)
    first = documents.values[0][0]
    single = len(documents.values) == 1 and documents.cut_at is None
    if single and isinstance(first, dict) and "_event" not in first:
        return _from_json_callback(first, path)
    if all(isinstance(v, dict) and "plays" in v for v, _ in documents.values):
        raise InputError(
            f"{len(documents.values)} JSON documents, each a run's output: this file holds more "
            f"than one run; {SEVERAL_RUNS}",
            path=str(path),
        )
    if all(isinstance(v, dict) and "_event" in v for v, _ in documents.values):
        return _from_jsonl(documents.values, documents.cut_at, path)
    expect(documents.cut_at is None, path, f"line {documents.cut_at} is cut off; expected {WHAT}")
    raise InputError(f"no 'plays' and 'stats' at the top level; expected {WHAT}", path=str(path))


def _from_jsonl(values: list[tuple[Any, int]], cut_at: int | None, path: Path) -> PlaybookRun:
    """A run from the jsonl callback's events; a last line cut off is told in its notes."""
    for value, line in values:
        if not isinstance(value["_event"], str):
            raise InputError(f"'_event' is not a name; expected {JSONL}", path=str(path), line=line)
    run = from_events([Event(v["_event"], v, path, line) for v, line in values], _jsonl_event)
    if cut_at is not None:
        run.notes.append(
            f"line {cut_at} is cut off (the run was killed while writing it) and was left out"
        )
    return run


def _refuse_leading_text(path: Path) -> None:
    """ansible-playbook run with ``-v`` prints its own lines ("No config file found; using
    defaults", "Using FILE as config file") before the callback's JSON: say so, quoting it."""
    head = read_text(path)[:4096].decode("utf-8", "replace")
    for number, line in enumerate(head.splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if text[0] not in "{[" and not text.startswith(")]}'"):
            raise InputError(
                f"the output starts with a line that is not the callback's JSON: {text[:120]!r}; "
                "ansible-playbook prints lines like it when run with -v (or when something else "
                f"writes to its standard output); expected {WHAT}",
                path=str(path),
                line=number,
                hint="run ansible-playbook without -v, or keep only what the stdout callback "
                "writes (ansible-playbook's own messages go to the same output)",
            )
        return


def state(result: Any) -> State:
    """A host's result of a task, as the callbacks flag it."""
    if not isinstance(result, dict):
        return "failed"
    for flag in ("unreachable", "failed", "skipped"):
        if result.get(flag) is True:
            return flag
    return "changed" if result.get("changed") is True else "ok"


_COPIERS = frozenset({"copy", "template"})
_INCLUDES = frozenset({"include_tasks", "include_role", "include"})
_CORE = ("", "ansible.builtin", "ansible.legacy")


def module_of(result: Any, action: Any = None) -> str | None:
    """The short name of the core module that gave ``result`` (``copy`` for
    ``ansible.builtin.copy``), or None for another collection's or one not said."""
    module = result.get("action", action) if isinstance(result, dict) else action
    if not isinstance(module, str):
        return None
    prefix, _, short = module.rpartition(".")
    return short if prefix in _CORE else None


def git_version(result: Any, action: Any = None) -> str | None:
    """The ``version`` a ``git`` module result was asked for, or None (another module, or a
    result that does not show its arguments: ``no_log``, a skip)."""
    if module_of(result, action) != "git" or not isinstance(result, dict):
        return None
    version = dig(result, "invocation", "module_args", "version")
    return version if isinstance(version, str) else None


def _censored(result: Any) -> bool:
    """``no_log: true`` replaced the result (or one of its loop items) by ``censored``."""
    if not isinstance(result, dict):
        return False
    items = result.get("results")
    return "censored" in result or any(
        isinstance(item, dict) and "censored" in item
        for item in (items if isinstance(items, list) else [])
    )


def shortfall(result: Any, action: Any = None, host: str | None = None) -> Shortfall | None:
    """Why a result Ansible counts ``ok`` or ``changed`` does not show its task done, and the
    status that makes of a release: an item of its loop skipped or failed (its error ignored),
    a non-zero exit code let through (``failed_when: false``), a job only started in the
    background (``async`` with ``poll: 0``), a result that changed nothing and does not show
    the release in place (see :func:`_unchanged`), or a copy made in check mode
    (``check_mode:`` on the task, which no record of the run keeps): the copy and template
    actions then return without a ``dest``, which they always name when they write. A result
    that ``delegate_to`` ran against another host than ``host`` is no release to ``host``."""
    if not isinstance(result, dict):
        return None
    elsewhere = _delegated_elsewhere(result, host)
    if elsewhere is not None:
        return elsewhere
    module = module_of(result, action)
    items = result.get("results")
    for item in items if isinstance(items, list) else []:
        found = _item_shortfall(item, module, host)
        if found is not None:
            return found
    code = result.get("rc")
    if _nonzero(code):
        return "failed", f"it exited with rc {code} (its failure let through by failed_when)"
    if _overridden(result):
        return "failed", _OVERRIDDEN
    return _in_background(result) or _in_check_mode(result, module) or _unchanged(result, module)


_RAN = frozenset({"command", "shell", "script", "raw"})
"""Modules that check mode skips altogether ("Command would have run if not in check mode"):
a result with an exit code ran the command."""


def acted(result: Any, action: Any = None) -> bool | None:
    """Whether an ``ok`` or ``changed`` result shows its module acted on the host for real,
    as a task with ``check_mode: false`` does in a dry run: a copy or template that names its
    ``dest`` (in check mode they return before they write, naming none), a command that has
    an exit code (check mode skips it). False for a copy without one; None for any other
    module, whose check-mode result looks like a real one (the git module's names the commit
    it would check out as ``after``, as a real checkout names the one it made)."""
    if not isinstance(result, dict):
        return None
    module = module_of(result, action)
    items = result.get("results")
    parts = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else [result]
    if module in _COPIERS:
        return any("dest" in part for part in parts)
    if module in _RAN:
        return any(isinstance(part.get("rc"), int) for part in parts)
    return None


def _delegated_elsewhere(result: dict[str, Any], host: str | None) -> Shortfall | None:
    """A result of a task ``delegate_to`` ran against another host: Ansible records it under
    ``host`` with ``_ansible_delegated_vars``, whose ``ansible_host`` is the host it ran on
    (the callbacks keep no other name of it). A release delegated to ``host`` itself shows its
    name there, unless the inventory gives the host another address: the result then cannot
    show that it is the same machine."""
    if host is None or "_ansible_delegated_vars" not in result:
        return None
    delegated = result["_ansible_delegated_vars"]
    target = delegated.get("ansible_host") if isinstance(delegated, dict) else None
    if target == host:
        return None
    if not isinstance(target, str):
        return "skipped", "it was delegated (delegate_to) to a host its result does not name"
    return "skipped", (
        f"it ran against {target[:100]!r} (delegate_to), not against this host's name: "
        "nothing shows the release put on it"
    )


def _nonzero(code: Any) -> bool:
    return isinstance(code, int) and not isinstance(code, bool) and code != 0


_OVERRIDDEN = (
    "failed_when decided that it did not fail (failed_when_result: false): what its module "
    "did cannot be told"
)


def _overridden(result: dict[str, Any]) -> bool:
    """``failed_when`` judged a result with no exit code to tell (a module other than command
    or shell): whatever the module did, the result says only that it was let through."""
    return result.get("failed_when_result") is False and not isinstance(result.get("rc"), int)


def _item_shortfall(item: Any, module: str | None, host: str | None) -> Shortfall | None:
    """Why one item of a loop's results does not show it done; ``module`` the loop's."""
    label = _item_label(item)
    if not isinstance(item, dict) or item.get("unreachable") is True:
        return "failed", f"its loop item {label} did not run"
    elsewhere = _delegated_elsewhere(item, host)
    if elsewhere is not None:
        return elsewhere[0], f"its loop item {label}: {elsewhere[1]}"
    if item.get("failed") is True:
        return "failed", f"its loop item {label} failed (its error ignored)"
    if item.get("skipped") is True:
        return "skipped", f"its loop item {label} was skipped"
    if _nonzero(item.get("rc")):
        return "failed", f"its loop item {label} exited with rc {item['rc']}"
    if _overridden(item):
        return "failed", f"its loop item {label}: {_OVERRIDDEN}"
    found = _in_background(item) or _in_check_mode(item, module) or _unchanged(item, module)
    if found is not None:
        return found[0], f"its loop item {label}: {found[1]}"
    return None


def _in_background(result: dict[str, Any]) -> Shortfall | None:
    """A task run with ``async`` and ``poll: 0``: its result says only that the job started
    (``started: 1``, ``finished: 0``, an ``ansible_job_id``); the run did not wait for its end,
    and the job may fail after it."""
    if "ansible_job_id" in result and not result.get("finished"):
        return "failed", (
            "it was only started in the background (async with poll: 0; finished: 0): the run "
            "did not wait for its end, so whether it released cannot be told"
        )
    return None


_COMMANDS = frozenset({"command", "shell"})
_NOT_RUN = "Did not run command since"
"""How the command and shell modules begin their ``msg`` when ``creates:`` or ``removes:``
kept them from running the command."""


def _unchanged(result: dict[str, Any], module: str | None) -> Shortfall | None:
    """A result (or loop item) that changed nothing on the host (``changed`` not true) and
    does not show the release in place already: only the copy and template modules (which
    name the ``checksum`` of the file they compared with the release's, and name none when
    ``force: false`` kept a file there unread) and the git module (``before`` and ``after``
    the same commit) show that. The command and shell modules guarded by ``creates:`` or
    ``removes:`` say that they did not run."""
    message = result.get("msg")
    if module in _COMMANDS and isinstance(message, str) and message.startswith(_NOT_RUN):
        # Said whatever ``changed`` claims: ``changed_when: true`` overrides the flag only.
        return "skipped", f"its command did not run (creates or removes): {message[:200]}"
    if result.get("changed") is True or isinstance(result.get("results"), list):
        return None
    if module in _COPIERS:
        if isinstance(result.get("checksum"), str):
            return None
        return "skipped", (
            f"its {module} changed nothing and names no checksum: a file already at its dest "
            "was kept unread (force: false), whatever it holds"
        )
    if module == "git":
        return _checkout_in_place(result)
    return "skipped", (
        "it changed nothing on the host (changed: false), and its result does not show the "
        "release in place already"
    )


_SHA = re.compile(r"[0-9a-f]{7,64}")


def _checkout_in_place(result: dict[str, Any]) -> Shortfall | None:
    """An unchanged git checkout shows the release in place only when it was asked for a
    commit by its sha and holds that commit (``before`` and ``after`` it): asked for a branch
    (``update: false`` keeps an old clone), what it holds is not known to be the release."""
    after, asked = result.get("after"), dig(result, "invocation", "module_args", "version")
    if (
        isinstance(after, str)
        and result.get("before") == after
        and isinstance(asked, str)
        and _SHA.fullmatch(asked.lower())
        and after.lower().startswith(asked.lower())
    ):
        return None
    return "skipped", (
        f"its git checkout changed nothing and holds {str(after)[:12]!r}, asked for {asked!r}: "
        "what it holds is not known to be the release"
    )


def _in_check_mode(result: dict[str, Any], module: str | None) -> Shortfall | None:
    """A copy or template result (or loop item) without a ``dest``: it ran in check mode."""
    if module in _COPIERS and "dest" not in result and "results" not in result:
        return "skipped", (
            f"its {module} result names no dest: it ran in check mode (check_mode on the "
            "task) and wrote nothing"
        )
    return None


def _item_label(item: Any) -> str:
    """A loop item as Ansible labels it, for messages."""
    if isinstance(item, dict):
        label = item.get("_ansible_item_label", item.get("item"))
        text = label if isinstance(label, str) else repr(label)
        return repr(text[:80])
    return "?"


def stats_of(stats: Any, path: Path) -> dict[str, dict[str, int]]:
    """The run's per-host counts, checked."""
    expect(isinstance(stats, dict), path, "'stats' is not a mapping of host to counts")
    for host, counts in stats.items():
        expect(
            isinstance(counts, dict)
            and all(isinstance(counts.get(c, 0), int) for c in (*COUNTS, "rescued", "ignored"))
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
    stats, plays = stats_of(document["stats"], path), document["plays"]
    expect(isinstance(plays, list) and bool(plays), path, "'plays' is empty: nothing ran")
    run = PlaybookRun([], stats, None)
    ends = []
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
        played = PlayRun(key, str(dig(play, "play", "name")), duration["start"])
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
            for host, result in hosts.items():
                entry.record(str(host), result)
            for result in hosts.values():
                run.observe(name, result)
            played.tasks.append(entry)
        run.plays.append(played)
    run.finished_at = max(ends) if ends else None
    return run


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


def from_events(events: list[Event], read: Any) -> PlaybookRun:
    """A run from its events in order; ``read`` turns one into (kind, play, task, host, data),
    ``data`` a result's (the result itself, the module that gave it or None, and its state
    where the record gives it apart from the result's flags)."""
    run = PlaybookRun([], None, None)
    prefix = None
    for event in events:
        kind, play, task, host, data = read(event.name, event.body)
        if kind != "other":
            event.check(
                run.stats is None,
                f"comes after the run's stats: this record holds more than one run; {SEVERAL_RUNS}",
            )
        if kind == "play":
            prefix = _play(run, event, play, prefix)
        elif kind in ("task", "start", "result"):
            _task_event(run, event, kind, task, host, data)
        elif kind == "stats":
            finished_at = event.body.get("_timestamp") or event.body.get("created")
            event.check(isinstance(finished_at, str), "has no time")
            run.stats, run.finished_at = stats_of(data, event.path), finished_at
    if not run.plays:
        raise InputError(f"no play started in this run; expected {WHAT}", path=str(events[0].path))
    return run


def _play(run: PlaybookRun, event: Event, play: Any, prefix: str | None) -> str | None:
    """A play started: it must be of the same ansible-playbook process as those before it.
    Returns the process's id prefix."""
    event.check(all(isinstance(p, str) for p in play), "has no play name, id and start time")
    found = _ANSIBLE_ID.match(play[0])
    event.check(
        prefix is None or found is None or found.group(1) == prefix,
        f"starts play {play[0]} of another ansible-playbook process than the plays before "
        f"it: this record holds more than one run; {SEVERAL_RUNS}",
    )
    run.plays.append(PlayRun(play[0], play[1], play[2]))
    return prefix or (found.group(1) if found else None)


def _task_event(run: PlaybookRun, event: Event, kind: str, task: Any, host: Any, data: Any) -> None:
    """A task started, a host started it, or a host's result, in the current play."""
    event.check(bool(run.plays), "comes before any play started")
    event.check(all(isinstance(t, str) for t in task), "names no task")
    entry = run.plays[-1].task(task[0], task[1])
    if kind != "task":
        event.check(isinstance(host, str), "names no host")
    if kind == "start":
        entry.started.add(host)
    elif kind == "result":
        entry.record(host, *data)
        run.observe(task[1], data[0])


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
            return "result", None, task, host, (result, None, None)
        return "result", None, task, None, None
    if name == "v2_playbook_on_stats":
        return "stats", None, None, None, event.get("stats")
    return "other", None, None, None, None
