"""The memory of a command and of every process it starts, together, sampled from outside it.

A run's own peak (``ru_maxrss``) and its largest child's say how large one process grew, not
how much memory the run held at once: git's walks and the hashers run beside the
interpreter, and the policy evaluation's forked child shares most of its pages with its
parent. So the bench also samples, every ``INTERVAL`` seconds, the proportional set size
(``Pss`` in ``/proc/PID/smaps_rollup``: each shared page divided among the processes that map
it, so the forked child's shared pages are counted once) of the command and all its
descendants, summed; the largest sum is the run's footprint. A peak shorter than the
interval can be missed, so the footprint is a lower bound, as every sampled figure is; where
``/proc`` has no ``smaps_rollup`` (not Linux) there is none.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

INTERVAL = 0.05
PROC = Path("/proc")


def available() -> bool:
    """Whether this system gives a process's proportional set size."""
    return (PROC / "self" / "smaps_rollup").is_file()


class Footprint:
    """Samples the process ``pid`` and its descendants on a thread until ``stop``."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stopped = threading.Event()
        self.peak_kib = 0
        self._thread = threading.Thread(target=self._sample, name="footprint", daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the largest sum seen, in MiB."""
        self._stopped.set()
        self._thread.join()
        return self.peak_kib / 1024

    def _sample(self) -> None:
        while not self._stopped.is_set():
            total = sum(_pss_kib(pid) for pid in _tree(self._pid))
            self.peak_kib = max(self.peak_kib, total)
            self._stopped.wait(INTERVAL)


def _tree(root: int) -> list[int]:
    """``root`` and every process descending from it, as ``/proc`` has them now."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                parents.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(parents.get(pid, ()))
    return found


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:  # it ended
        return None
    # "pid (name) state ppid ...": the name may hold spaces and parentheses
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _pss_kib(pid: int) -> int:
    try:
        text = (PROC / str(pid) / "smaps_rollup").read_text()
    except OSError:  # it ended, or is not ours to read
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0
