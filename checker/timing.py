"""Stage timings for ``make bench``: recorded in memory, never written into a report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_recorded: dict[str, float] = {}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time spent inside the block to ``name``'s total."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _recorded[name] = _recorded.get(name, 0.0) + time.perf_counter() - started


def take() -> dict[str, float]:
    """The totals since the last call, in seconds, and start afresh."""
    result = dict(_recorded)
    _recorded.clear()
    return result
