"""The systems judged side by side on a Dask cluster (``dask.distributed``): a local one sized
to this machine's cores by default, or an existing one (``--scheduler tcp://HOST:PORT``). The
results come back sorted by system name, so the attestation is the same bytes whatever the
number of workers and the order they finish in. One system, or ``--workers 0``, is judged in
this process: no cluster to start for nothing."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from checker.errors import KnightwatchError, UsageError
from checker.org.judge import SystemResult, attested_systems, judge_system
from checker.org.model import System
from checker.runner import CheckOptions

if TYPE_CHECKING:
    from dask.distributed import Client

    from checker.signing.attestation import Signed

CONNECT_SECONDS = 30
"""How long the client tries to reach an existing scheduler that answers."""


class ClusterUnavailable(KnightwatchError):
    """The Dask scheduler could not be reached, or its cluster failed: no verdict."""


@dataclass(frozen=True)
class Placement:
    """Where the systems are judged: ``scheduler`` (an existing cluster), else a local cluster
    of ``workers`` processes (None: one per core), or in this process (``workers`` 0)."""

    scheduler: str | None = None
    workers: int | None = None

    def in_process(self, systems: int) -> bool:
        """Whether to judge here, without a cluster."""
        return self.scheduler is None and (self.workers == 0 or systems <= 1)


def judge_all(
    systems: Sequence[System],
    base: CheckOptions,
    placement: Placement,
    *,
    partial: bool = False,
    chained: Signed | None = None,
    known_as: Mapping[str, str] | None = None,
) -> list[SystemResult]:
    """Every system's result, sorted by system name. ``chained``: the organisation's
    attestation of the month before, whose systems' audits say what each judged then;
    ``known_as``: each system's name there (``continuity.predecessors``), its own if absent."""
    earlier = attested_systems(chained)
    names = known_as or {}
    attested = [earlier.get(names.get(s.name, s.name)) for s in systems]
    results: list[SystemResult]
    if placement.in_process(len(systems)):
        results = [
            judge_system(s, a, base, partial) for s, a in zip(systems, attested, strict=True)
        ]
    else:
        with _client(placement) as client:
            futures = client.map(
                judge_system,
                list(systems),
                attested,
                base=base,
                partial=partial,
                key=[f"knightwatch-system-{s.name}" for s in systems],
                pure=False,
            )
            results = client.gather(futures)  # type: ignore[no-untyped-call]
    return sorted(results, key=lambda r: r.name)


@contextlib.contextmanager
def _client(placement: Placement) -> Iterator[Client]:
    """A client of the chosen cluster, closed (and a local cluster stopped) afterwards."""
    from dask.distributed import Client, LocalCluster

    if placement.scheduler is not None:
        try:
            _reachable(placement.scheduler)
            client = Client(placement.scheduler, timeout=CONNECT_SECONDS)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(
                f"cannot reach the Dask scheduler at {placement.scheduler}: {exc}",
                hint="start one with 'dask scheduler' and workers with 'dask worker "
                "tcp://HOST:8786', or leave out --scheduler for a local cluster",
            ) from None
        with client:
            yield client
        return
    import dask

    workers = placement.workers or os.cpu_count() or 1
    # The profiler's thread would hold the engine's frames, and the embedded engine may only
    # be dropped on the thread that made it.
    with (
        dask.config.set({"distributed.worker.profile.enabled": False}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def _reachable(address: str) -> None:
    """Refused at once when nothing listens there: the client would retry for its timeout."""
    host, _, port = address.partition("://")[2].rpartition(":")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS):
        pass


def check_scheduler(address: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``): a typo is a usage error before anything runs."""
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls") or not host or not port.isdigit():
        raise UsageError(
            f"--scheduler {address!r}: expected the scheduler's address, tcp://HOST:PORT"
        )
    return address
