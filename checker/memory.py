"""Memory that Python has freed, handed back to the operating system.

glibc's allocator keeps the memory of freed objects for reuse rather than returning it: after
a stage that built and dropped hundreds of megabytes of temporary values (reading every tree
of a month's deployed commits), the process stays that large. That matters before the policy
engine's child is forked: the child's resident size starts from every page its parent holds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@functools.cache
def _libc() -> Any:
    """The C library, if it is glibc (the only one with ``malloc_trim``); else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> None:
    """Return the allocator's free memory to the operating system, where the C library can
    (glibc); elsewhere nothing. Never changes a value: it only unmaps free pages."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@contextmanager
def paused_collection() -> Iterator[None]:
    """The cyclic garbage collector paused for the block, then as it was. A run builds
    millions of objects that live to its end and hold no cycles (records, facts, the input
    document); every automatic collection of the oldest generation traverses all of them
    again (a third of a month's check on the spread organisation was spent there).
    Reference counting still frees everything that is not part of a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
