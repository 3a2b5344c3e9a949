"""``make bench``: two large organisations' month, generated once and cached, timed stage by stage.

    python -m tests.bench [--dir .bench] [--repeat N] [--small] [--org NAME]... [--no-storm]
                          [--no-fanout]

Each command runs in a fresh interpreter (start-up counted), as a user would run it; the
table gives the best of ``--repeat`` runs per command, stage by stage, with peak memory, next
to the physical floor: ``git log`` over the same history.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench import footprint, inventory, storm
from tests.bench.generate import Size, generate

SMALL = Size(commits=3_000, deployments=400, hosts_per_service=10, flags=60, registry_every=100)
SPREAD = Size(
    files_per_service=100,
    registry_every=500,
    registry_revisions=True,
    deployed_commits=500,
    delete_retiring=True,
)
"""The second shape: the same headline sizes, but every service deploys the same 500 commits
spread over the whole history, 2,000 files, 200 registry versions, retiring code deleted."""
SMALL_SPREAD = Size(
    commits=3_000,
    deployments=400,
    hosts_per_service=10,
    flags=60,
    files_per_service=10,
    registry_every=100,
    registry_revisions=True,
    deployed_commits=20,
    delete_retiring=True,
)
ORGANISATIONS = {
    "org": ("deployments over the newest commits", Size(), SMALL),
    "spread": ("the same commits deployed over the whole history", SPREAD, SMALL_SPREAD),
}
STAGES = [
    "start-up",
    "git read",
    "evidence load",
    "facts: review",
    "facts: fleet",
    "facts: dead code",
    "engine load",
    "evaluation",
    "rendering",
    "cache write",
]
AS_OF = "2026-11-01"
GATE_TARGET = 1.5
AUDIT_FACTOR = 3
WARM_FACTOR = 1.5
MEMORY_TARGET_MIB = 1024
INVENTORY_MB = 100.0
SMALL_INVENTORY_MB = 2.0


@dataclass
class Run:
    """One command's best run."""

    wall: float
    stages: dict[str, float]
    peak_mib: float
    git_peak_mib: float
    code: int
    footprint_mib: float | None = None
    """The most the command and its processes held at once (``footprint``), where known."""

    @property
    def memory_mib(self) -> float:
        """The figure the memory target is judged on: the footprint where it was sampled,
        else the largest single process."""
        single = max(self.peak_mib, self.git_peak_mib)
        return single if self.footprint_mib is None else max(single, self.footprint_mib)


def _run(argv: list[str], repeat: int, scratch: Path, cold: Path | None = None) -> Run:
    """The best of ``repeat`` runs; ``cold``: a cache directory emptied before each run."""
    best: Run | None = None
    for _ in range(repeat):
        if cold is not None:
            shutil.rmtree(cold, ignore_errors=True)
        result = scratch / "result.json"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.run", str(result), *argv],
            cwd=Path(__file__).resolve().parents[2],
        )
        sampler = footprint.Footprint(process.pid) if footprint.available() else None
        code = process.wait()
        wall = time.perf_counter() - started
        held = sampler.stop() if sampler is not None else None
        if code != 0:
            raise subprocess.CalledProcessError(code, process.args)
        data = json.loads(result.read_text())
        run = Run(wall, data["stages"], data["peak_mib"], data["git_peak_mib"], data["code"], held)
        if best is None or run.wall < best.wall:
            best = run
    assert best is not None
    return best


def _git_log(repo: Path, args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            ["git", "log", *args, "main"], cwd=repo, check=True, stdout=subprocess.DEVNULL
        )
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path(".bench"), help="the cache")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; best is shown")
    parser.add_argument("--small", action="store_true", help="small organisations (smoke)")
    parser.add_argument(
        "--org",
        choices=sorted(ORGANISATIONS),
        action="append",
        help="only this organisation (repeatable; default: all)",
    )
    parser.add_argument(
        "--inventory-mb",
        type=float,
        help=f"size of the large fleet.yaml (default {INVENTORY_MB:g}; {SMALL_INVENTORY_MB:g} "
        "with --small); a quarter of it is read too, to show the growth is linear",
    )
    parser.add_argument(
        "--no-storm", action="store_true", help="skip the storm month (every output format)"
    )
    parser.add_argument(
        "--no-fanout",
        action="store_true",
        help="skip the organisation of many repositories (one process against a Dask cluster)",
    )
    args = parser.parse_args(argv)
    _compile()
    for name in args.org or list(ORGANISATIONS):
        shape, size, small = ORGANISATIONS[name]
        directory = f"small-{name}" if args.small else name
        _organisation(shape, small if args.small else size, args.dir.resolve() / directory, args)
    megabytes = args.inventory_mb or (SMALL_INVENTORY_MB if args.small else INVENTORY_MB)
    _inventory(args.dir.resolve(), megabytes, args.repeat)
    if not args.no_storm:
        storm.report(args.dir.resolve(), args.small)
    if not args.no_fanout:
        from tests.bench import fanout

        fanout.report(args.dir.resolve(), args.small)
    return 0


def _compile() -> None:
    """Write knightwatch's byte code, as installing it from a wheel does: each command is timed
    as an installation runs it, not with its modules compiled again in every process (an
    editable install under ``PYTHONDONTWRITEBYTECODE`` never writes them)."""
    import checker

    compileall.compile_dir(Path(checker.__file__).parent, quiet=1)


def _organisation(shape: str, size: Size, cache: Path, args: argparse.Namespace) -> None:
    """Generate (or reuse) one organisation, time the three commands and print the table."""
    started = time.perf_counter()
    root = generate(cache, size)
    made = time.perf_counter() - started
    repo, evidence = root / "repo", root / "evidence"
    print(
        f"organisation ({shape}): {size.commits:,} commits, {size.deployments:,} deployments in "
        f"{size.period}, {size.services * size.hosts_per_service:,} hosts in {size.services} "
        f"services, {size.services * size.files_per_service:,} files, {size.flags} flags, "
        f"registry changed every {size.registry_every} commits ({root}, ready in {made:.1f} s)"
    )
    runs = _commands(repo, evidence, size, args.repeat)
    plain = _git_log(repo, [], args.repeat)
    collector = _git_log(
        repo, ["--topo-order", "-z", "--format=%H%x1f%P%x1f%ae%x1f%at%x1f%B"], args.repeat
    )
    _table(runs)
    print(f"floor: git log over the history {plain:.2f} s; with the fields knightwatch reads")
    print(f"       (topological order, bodies) {collector:.2f} s")
    print()
    audit, gate = runs["audit"], runs["gate"]
    peak = max(r.memory_mib for r in runs.values())
    targets = [
        (f"audit within {AUDIT_FACTOR}x git log", audit.wall, AUDIT_FACTOR * plain, "s"),
        (
            f"warm audit within {WARM_FACTOR}x git log",
            runs["audit-warm"].wall,
            WARM_FACTOR * plain,
            "s",
        ),
        ("memory under 1 GiB, all processes", peak, MEMORY_TARGET_MIB, "MiB"),
        (f"--candidate gate under {GATE_TARGET} s", gate.wall, GATE_TARGET, "s"),
        (f"warm gate under {GATE_TARGET} s", runs["gate-warm"].wall, GATE_TARGET, "s"),
    ]
    print(f"{'target':<34}{'measured':>12}{'target':>12}  met")
    for label, measured, limit, unit in targets:
        verdict = "yes" if measured <= limit else "no"
        print(f"{label:<34}{measured:>8.2f} {unit:<3}{limit:>8.2f} {unit:<3}  {verdict}")
    print()


def _commands(repo: Path, evidence: Path, size: Size, repeat: int) -> dict[str, Run]:
    """check, audit and gate, each the best of ``repeat`` runs: cold (a cache directory
    emptied before each run), then warm (the cache the cold runs filled)."""
    with tempfile.TemporaryDirectory() as temp:
        scratch = Path(temp)
        key = scratch / "bench"
        subprocess.run(
            [sys.executable, "-m", "checker", "keygen", "--output", str(key)],
            check=True,
            capture_output=True,
        )
        common = ["--repo", str(repo), "--evidence", str(evidence), "--as-of", AS_OF]
        commands = {
            "check": ["check", *common, "--format", "json", "-o", str(scratch / "check.json")],
            "audit": [
                "audit",
                *common,
                "--period",
                size.period,
                "--key",
                f"{key}.key",
                "-o",
                str(scratch / "audit.json"),
            ],
            "gate": ["check", *common, "--candidate", "main", "--service", "svc00"],
        }
        runs = {}
        for name, argv in commands.items():
            cache = scratch / f"cache-{name}"
            runs[name] = _run([*argv, "--cache-dir", str(cache)], repeat, scratch, cold=cache)
            runs[f"{name}-warm"] = _run([*argv, "--cache-dir", str(cache)], repeat, scratch)
        return runs


def _table(runs: dict[str, Run]) -> None:
    names = list(runs)
    print()
    print(f"{'stage (seconds)':<22}" + "".join(f"{n:>11}" for n in names))
    for stage in STAGES:
        cells = [runs[n].stages.get(stage) for n in names]
        if any(c is not None for c in cells):
            print(f"{stage:<22}" + "".join(f"{c:>11.2f}" if c else f"{'-':>11}" for c in cells))
    print(f"{'total (wall clock)':<22}" + "".join(f"{runs[n].wall:>11.2f}" for n in names))
    print(f"{'peak memory (MiB)':<22}" + "".join(f"{runs[n].peak_mib:>11.0f}" for n in names))
    print(f"{'largest child (MiB)':<22}" + "".join(f"{runs[n].git_peak_mib:>11.0f}" for n in names))
    held = [runs[n].footprint_mib for n in names]
    cells = "".join(f"{h:>11.0f}" if h else "-".rjust(11) for h in held)
    print(f"{'all at once (MiB)':<22}{cells}")
    print(f"{'exit code':<22}" + "".join(f"{runs[n].code:>11}" for n in names))
    print()


def _inventory(cache: Path, megabytes: float, repeat: int) -> None:
    """``check`` on a one-deployment case whose fleet.yaml is large: reading it is the work."""
    print()
    print("large inventory: fleet.yaml of hosts as {name, tags} mappings")
    print(
        f"{'size (MB)':>10}{'hosts':>12}{'evidence load':>15}{'total':>9}{'peak MiB':>10}"
        f"{'s/MB':>7}{'MiB/MB':>8}"
    )
    with tempfile.TemporaryDirectory() as temp:
        for size in (megabytes / 4, megabytes):
            root, hosts = inventory.generate(cache / f"inventory-{size:g}mb", size)
            actual = (root / "evidence" / "fleet.yaml").stat().st_size / 1e6
            run = _run(
                ["check", "--repo", str(root / "repo"), "--evidence", str(root / "evidence"),
                 "--as-of", AS_OF, "--format", "json", "-o", str(Path(temp) / "inv.json"),
                 "--no-cache"],
                repeat,
                Path(temp),
            )  # fmt: skip
            load = run.stages.get("evidence load", 0.0)
            print(
                f"{actual:>10.1f}{hosts:>12,}{load:>13.2f} s{run.wall:>7.2f} s{run.peak_mib:>10.0f}"
                f"{run.wall / actual:>7.2f}{run.peak_mib / actual:>8.1f}"
            )


if __name__ == "__main__":
    sys.exit(main())
