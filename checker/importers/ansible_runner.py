"""ansible-runner's artifact directory (``artifacts/IDENT/``), what AWX and Ansible Automation
Platform keep of a run: ``job_events/COUNTER-UUID.json``, one event a file, with ``status``
(``successful``, ``failed``, ``canceled``, ``timeout``, ...) and ``command`` beside them.

- A ``status`` other than ``successful`` or ``failed`` says the run did not end on its own: it
  is read as unfinished, whatever events it wrote.
- ``command`` is the ``ansible-playbook`` command line: with ``--check`` (or ``-C``) the run was
  a dry run.
- ``UUID-partial.json`` files are events ansible-runner had not finished writing when it was
  killed: they are left out, and the import says so.
- ansible-runner writes every run with the same ``--ident`` into the same directory: two
  events with one counter, or events of two playbook runs, are refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence import jsonread
from checker.evidence.files import read_text
from checker.importers.ansible_runs import (
    RUNNER,
    Event,
    PlaybookRun,
    State,
    from_events,
)
from checker.importers.common import dig, expect

RUNNER_RESULTS: dict[str, State] = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
RUNNER_COUNTS = {"ok": "ok", "changed": "changed", "failures": "failures",
                 "dark": "unreachable", "skipped": "skipped", "rescued": "rescued",
                 "ignored": "ignored"}  # fmt: skip
ENDED = ("successful", "failed")
"""The statuses of a run that ended on its own (``failed``: ansible-playbook exited non-zero)."""
PARTIAL = "-partial.json"
# ansible-playbook's options that take no value, and those that take one (so that a cluster
# like -vC is read as -v -C, and -iC as an inventory named C).
_REPEATED = re.compile(r"_[0-9]+$")
"""The counter ansible-runner appends to a play's id each time the play starts again (every
``serial`` batch after the first: ``...-000000000006_2``); Ansible's own ids hold no ``_``."""

_FLAGS = set("CDKJbkhv")
_WITH_VALUE = set("ceifltMTu")


def read_artifacts(directory: Path) -> PlaybookRun:
    """The run in an artifact directory, or in the only one under ``artifacts/`` of a private
    data directory."""
    found = directory
    if not (directory / "job_events").is_dir():
        candidates = sorted(directory.glob("artifacts/*/job_events"))
        several = " (several runs under artifacts/: name one)" if candidates else ""
        expect(
            len(candidates) == 1, directory, f"no job_events directory{several}; expected {RUNNER}"
        )
        found = candidates[0].parent
    events, notes = _job_events(found / "job_events")
    run = from_events(events, _runner_event)
    run.notes.extend(notes)
    _status(found, run)
    _command(found, run)
    return run


def _job_events(folder: Path) -> tuple[list[Event], list[str]]:
    """The events in counter order, and what was left out."""
    partial = sorted(folder.glob(f"*{PARTIAL}"))
    files = sorted((f for f in folder.glob("*.json") if f not in partial), key=_counter)
    expect(bool(files), folder, f"no job events; expected {RUNNER}")
    notes = []
    if partial:
        notes.append(
            f"left out {len(partial)} partial job events (*{PARTIAL}: ansible-runner was killed "
            "before it finished writing them)"
        )
    counters: dict[int, Path] = {}
    events: list[Event] = []
    for index, file in enumerate(files):
        event = _event(file, last=index == len(files) - 1)
        if event is None:
            notes.append(
                f"{file.name} is cut off (the run was killed while writing it) and was left out"
            )
            continue
        counter = _counter(file)[0]
        if counter in counters:
            raise InputError(
                f"job event counter {counter} is used twice ({counters[counter].name} and "
                f"{file.name}): this directory holds more than one run",
                path=str(folder),
                hint="ansible-runner writes every run with the same --ident into one artifact "
                "directory: give each run its own --ident (its default is a fresh one)",
            )
        counters[counter] = file
        events.append(event)
    playbooks = {dig(e.body, "event_data", "playbook_uuid") for e in events} - {None}
    expect(
        len(playbooks) <= 1,
        folder,
        f"job events of {len(playbooks)} playbook runs: this directory holds more than one run "
        "(ansible-runner reuses the directory of a repeated --ident); give each run its own",
    )
    return events, notes


def _event(file: Path, *, last: bool) -> Event | None:
    """One job event file; None for the last one when it is cut off."""
    try:
        event = jsonread.loads(read_text(file).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if last:
            return None
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
    return Event(event["event"], event, file)


def _status(folder: Path, run: PlaybookRun) -> None:
    """A run ansible-runner says it cancelled (or that timed out, or is still running) did not
    finish, whatever its events say."""
    path = folder / "status"
    if not path.is_file():
        return
    status = read_text(path).decode("utf-8", "replace").strip()
    if status not in ENDED:
        run.stats, run.finished_at = None, None
        run.notes.append(f"ansible-runner's status is {status!r}: the run did not finish")


def _command(folder: Path, run: PlaybookRun) -> None:
    """``--check`` on the command line that ran the playbook makes it a dry run."""
    path = folder / "command"
    if not path.is_file():
        return
    try:
        document = jsonread.loads(read_text(path).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError("not ansible-runner's command file (JSON)", path=str(path)) from None
    argv = dig(document, "command")
    expect(
        isinstance(argv, list) and all(isinstance(a, str) for a in argv),
        path,
        "not ansible-runner's command file (a 'command' list of strings)",
    )
    if any(_is_check(arg) for arg in argv[1:]):
        run.check_mode.append((True, "ansible-runner's command file runs it with --check"))
    else:
        run.check_mode.append((False, "ansible-runner's command file runs it without --check"))


def _is_check(arg: str) -> bool:
    """``--check`` (or a prefix argparse accepts), or ``-C`` alone or in a cluster."""
    if arg.startswith("--"):
        return len(arg) >= 4 and "--check".startswith(arg)
    if not arg.startswith("-") or len(arg) < 2:
        return False
    for letter in arg[1:]:
        if letter == "C":
            return True
        if letter in _WITH_VALUE or letter not in _FLAGS:
            return False
    return False


def _runner_event(name: str, event: dict[str, Any]) -> tuple[str, Any, Any, Any, Any]:
    """One ansible-runner job event."""
    data = event.get("event_data")
    data = data if isinstance(data, dict) else {}
    task = (str(data.get("task_uuid")), data.get("task"))
    host = data.get("host")
    if name == "playbook_on_play_start":  # each batch of one play under one id, as Ansible's
        return (
            "play",
            (_REPEATED.sub("", str(data.get("play_uuid"))), data.get("play"), event.get("created")),
            None,
            None,
            None,
        )
    if name in ("playbook_on_task_start", "playbook_on_handler_task_start"):
        return "task", None, task, None, None
    if name == "runner_on_start":
        return "start", None, task, host, None
    if name in RUNNER_RESULTS:
        result, action = data.get("res"), data.get("resolved_action")
        given = RUNNER_RESULTS[name]
        if given == "ok" and dig(data, "res", "changed") is True:
            given = "changed"
        return "result", None, task, host, (result, action, given)
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


def _counter(file: Path) -> tuple[int, str]:
    """Job event files are named COUNTER-UUID.json; the counter orders them."""
    head = file.name.split("-", 1)[0]
    return (int(head) if head.isdigit() else -1, file.name)
