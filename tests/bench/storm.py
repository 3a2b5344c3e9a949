"""The storm month of ``make bench``: an organisation whose modules keep referencing flags as
they retire, so that one month holds hundreds of thousands of findings and a few hundred
causes. Every output format is rendered from one check and timed, with its peak memory and
its size; the targets are those of issue 20 (docs/performance.md)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.generate import Size, generate

STORM = Size(storm=True, references=3)
"""100,000 commits, 10,000 deployments; each module references three flags, half of which
retire as the history goes on."""
SMALL_STORM = dataclasses.replace(
    STORM, commits=3_000, deployments=400, hosts_per_service=10, flags=60, registry_every=100
)
AS_OF = "2026-11-01"
JSON_TARGET_MB = 20.0
SARIF_RESULTS = 25_000
SARIF_GZIPPED_MB = 10.0
RENDER_TARGET_S = 60.0
MEMORY_TARGET_MIB = 1024.0
POLICY_TIMEOUT_S = 900
"""The storm's DEAD-001 emits hundreds of thousands of findings: on a shared two-core machine
the engine can take longer than the default 120 s a rule may run (docs/performance.md)."""
SCHEMA = Path(os.environ.get("KNIGHTWATCH_SARIF_SCHEMA", ".venv/schemas/sarif-2.1.0.json"))


def measure(root: Path, scratch: Path) -> dict[str, Any]:
    """One check of the storm, every format rendered from it (``tests.bench.render``)."""
    result = scratch / "storm-result.json"
    argv = [
        "--repo", str(root / "repo"), "--evidence", str(root / "evidence"), "--as-of", AS_OF,
        "--policy-timeout", str(POLICY_TIMEOUT_S), "--no-cache",
    ]  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "tests.bench.render", str(result), str(scratch), *argv],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    measured: dict[str, Any] = json.loads(result.read_text())
    return measured


def _sarif_facts(path: Path) -> tuple[int, float, str]:
    """Results in the log, its gzipped size in MB, and whether it validates."""
    text = path.read_bytes()
    log = json.loads(text)
    results = sum(len(run["results"]) for run in log["runs"])
    gzipped = len(gzip.compress(text, 6, mtime=0)) / 1e6
    if not SCHEMA.is_file():
        return results, gzipped, "not checked (no schema: run make test once)"
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(log))
    return results, gzipped, "valid" if not errors else f"{len(errors)} errors"


def report(cache: Path, small: bool) -> None:
    """Generate (or reuse) the storm month, measure it, print the table and the targets."""
    size = SMALL_STORM if small else STORM
    root = generate(cache / ("storm-small" if small else "storm"), size)
    with tempfile.TemporaryDirectory() as temp:
        data = measure(root, Path(temp))
        sarif = _sarif_facts(Path(data["formats"]["sarif"]["path"]))
    print()
    print(
        f"storm month: {size.commits:,} commits, {size.deployments:,} deployments, modules "
        f"referencing {size.references} flags each as they retire: {data['findings']:,} "
        f"findings in {data['groups']:,} groups (exit code {data['exit_code']})"
    )
    print(
        f"check (pipeline) {data['pipeline_seconds']:.2f} s, peak {data['pipeline_peak_mib']:.0f}"
        f" MiB (largest child: engine or git, {data['children_peak_mib']:.0f} MiB)"
    )
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in data["stages"].items())
    print(f"  stages: {stages}")
    print(f"{'format':<14}{'render (s)':>12}{'CPU (s)':>10}{'peak MiB':>10}{'size MB':>10}")
    for name, measured in data["formats"].items():
        print(
            f"{name:<14}{measured['seconds']:>12.2f}{measured['cpu_seconds']:>10.2f}"
            f"{measured['peak_mib']:>10.0f}"
            f"{measured['bytes'] / 1e6:>10.2f}"
        )
    results, gzipped, valid = sarif
    print(f"SARIF: {results:,} results, {gzipped:.2f} MB gzipped, schema: {valid}")
    # The contract's json keeps every finding with its message: it is not the storm's JSON
    # (json-compact is), and its size is shown, not judged.
    full = data["formats"]["json"]["bytes"] / 1e6
    print(f"json (the contract's, every finding with its message): {full:.2f} MB")
    formats = data["formats"].values()
    peak = max(
        [data["pipeline_peak_mib"], data["children_peak_mib"]] + [f["peak_mib"] for f in formats]
    )
    compact = data["formats"]["json-compact"]
    targets = [
        ("JSON (compact) under 20 MB", compact["bytes"] / 1e6, JSON_TARGET_MB, "MB"),
        ("SARIF results within 25,000", results, SARIF_RESULTS, ""),
        ("SARIF gzipped within 10 MB", gzipped, SARIF_GZIPPED_MB, "MB"),
        # CPU time: one format renders on one core, so on a machine of its own its time is its
        # CPU time; wall-clock time on a shared machine also counts everything else running.
        (
            "slowest format under 60 s (CPU)",
            max(f["cpu_seconds"] for f in formats),
            RENDER_TARGET_S,
            "s",
        ),
        ("peak memory under 1 GiB", peak, MEMORY_TARGET_MIB, "MiB"),
    ]
    print(f"{'storm target':<34}{'measured':>12}{'target':>12}  met")
    for label, measured_value, limit, unit in targets:
        verdict = "yes" if measured_value <= limit else "no"
        print(f"{label:<34}{measured_value:>8.2f} {unit:<3}{limit:>8.2f} {unit:<3}  {verdict}")
