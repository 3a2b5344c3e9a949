"""The organisation: 200 generated repositories of mixed sizes, one of them a monorepo whose
services are path-scoped, audited as one organisation in one process (``--workers 0``) and on
a local Dask cluster of two worker processes; the wall clock of each, the peak memory of the
process and of each worker, and whether the two signed the same bytes.

The cluster is started here, so that its workers can be asked their peak memory afterwards;
its start-up is timed apart and added to the cluster's total.
"""

from __future__ import annotations

import dataclasses
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.bench.__main__ import AS_OF, _run
from tests.bench.generate import Size, generate

SHAPES = (
    Size(commits=150, deployments=15, services=2, hosts_per_service=3, flags=10,
         files_per_service=4, people=10, registry_every=50),
    Size(commits=500, deployments=50, services=3, hosts_per_service=5, flags=20,
         files_per_service=6, people=20, registry_every=100),
    Size(commits=2_000, deployments=150, services=4, hosts_per_service=8, flags=40,
         files_per_service=8, people=40, registry_every=200),
)  # fmt: skip
"""Small, medium and large, in turn: two thirds of the systems are small or medium."""
MONOREPO = Size(commits=2_000, deployments=300, services=10, hosts_per_service=5, flags=40,
                files_per_service=8, people=40, registry_every=200)  # fmt: skip
"""System 000: ten services in one repository, each scoped to its ``services/svcNN/`` paths."""
SMALL_MONOREPO = dataclasses.replace(SHAPES[0], services=3, deployments=30)
SYSTEMS = 200
SMALL_SYSTEMS = 3
WORKERS = 2


def build(cache: Path, systems: int, *, small: bool = False) -> Path:
    """The organisation's directory (cached): ``repos/sNNN/{repo,evidence}`` and org.yaml;
    ``small``: every repository of the small shape."""
    entries = []
    for index in range(systems):
        name = f"s{index:03d}"
        if small:
            shape = SMALL_MONOREPO if index == 0 else SHAPES[0]
        else:
            shape = MONOREPO if index == 0 else SHAPES[index % len(SHAPES)]
        generate(cache / "repos" / name, dataclasses.replace(shape, seed=index))
        services: list[object] = [
            {"name": f"{name}/svc{s:02d}", "paths": [f"services/svc{s:02d}/**"]}
            if index == 0
            else f"{name}/svc{s:02d}"
            for s in range(shape.services)
        ]
        entries.append(
            {
                "name": name,
                "repository": f"repos/{name}/repo",
                "evidence": f"repos/{name}/evidence",
                "owner": f"team-{index % 17:02d}@example.com",
                "services": services,
            }
        )
    (cache / "org.yaml").write_text(yaml.safe_dump({"systems": entries}, sort_keys=False))
    return cache


def report(cache: Path, small: bool) -> None:
    """Time the organisation in one process and on a two-worker cluster; print the table."""
    from dask.distributed import Client, LocalCluster

    systems = SMALL_SYSTEMS if small else SYSTEMS
    started = time.perf_counter()
    root = build(cache / ("small-fanout" if small else "fanout"), systems, small=small)
    made = time.perf_counter() - started
    monorepo = (SMALL_MONOREPO if small else MONOREPO).services
    print(
        f"organisation of {systems} repositories, one a monorepo of {monorepo} path-scoped services"
    )
    print(f"  ({root}, ready in {made:.1f} s)")
    key = root / "bench"
    if not key.with_suffix(".key").exists():
        subprocess.run(
            [sys.executable, "-m", "checker", "keygen", "--output", str(key)],
            check=True,
            capture_output=True,
        )
    common = ["audit", "--org", str(root / "org.yaml"), "--period", "2026-10", "--as-of", AS_OF,
              "--key", f"{key}.key"]  # fmt: skip
    alone = _run([*common, "-o", str(root / "alone.json"), "--workers", "0"], 1, root)
    begun = time.perf_counter()
    with (
        LocalCluster(n_workers=WORKERS, threads_per_worker=1, host="127.0.0.1",
                     dashboard_address="127.0.0.1:0", silence_logs=50) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        start_up = time.perf_counter() - begun
        fanned = _run(
            [*common, "-o", str(root / "fanned.json"), "--scheduler", cluster.scheduler_address],
            1,
            root,
        )
        peaks = client.run(_peak_mib)
    same = (root / "alone.json").read_bytes() == (root / "fanned.json").read_bytes()
    print()
    print(f"{'':<34}{'one process':>14}{f'{WORKERS} workers':>14}")
    print(f"{'cluster start-up (s)':<34}{'-':>14}{start_up:>14.2f}")
    print(f"{'audit (s, wall clock)':<34}{alone.wall:>14.2f}{fanned.wall:>14.2f}")
    print(f"{'total (s)':<34}{alone.wall:>14.2f}{start_up + fanned.wall:>14.2f}")
    print(f"{'peak memory, the command (MiB)':<34}{alone.peak_mib:>14.0f}{fanned.peak_mib:>14.0f}")
    for number, (address, (own, children)) in enumerate(sorted(peaks.items()), start=1):
        print(f"{f'peak memory, worker {number} (MiB)':<34}{'-':>14}{own:>14.0f}  {address}")
        print(f"{'  its largest evaluation (MiB)':<34}{'-':>14}{children:>14.0f}")
    print(f"{'exit code':<34}{alone.code:>14}{fanned.code:>14}")
    print(f"the same signed bytes in one process and on the cluster: {'yes' if same else 'NO'}")
    print()


def _peak_mib() -> tuple[float, float]:
    """A worker's own peak memory, and that of the largest process it forked."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )
