"""``make bench`` at a small size: the generator, the timed commands and the table all work."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import footprint
from tests.bench.__main__ import STAGES, main


def test_bench_prints_every_stage_and_target_for_both_small_organisations(tmp_path: Path) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--small", "--dir", str(tmp_path), "--no-fanout"]) == 0
    lines = printed.getvalue().splitlines()
    inventory = lines.index("large inventory: fleet.yaml of hosts as {name, tags} mappings")
    heads = [n for n, line in enumerate(lines) if line.startswith("organisation (")]
    assert len(heads) == 2 and "over the whole history" in lines[heads[1]]
    for start, end in zip(heads, [*heads[1:], inventory], strict=True):
        rows = {line[:22].strip(): line[22:].split() for line in lines[start:end]}
        commands = ["check", "audit", "gate"]
        assert rows["stage (seconds)"] == [c + w for c in commands for w in ("", "-warm")]
        for stage in ("start-up", "git read", "evidence load", "evaluation"):
            assert stage in STAGES and len(rows[stage]) == 6, stage
        # Each synthetic month has unreviewed commits and failed hosts: every command finds
        # them, cold and warm.
        assert rows["exit code"] == ["1"] * 6
        if footprint.available():  # each run's processes, summed while they ran
            assert all(float(cell) > 0 for cell in rows["all at once (MiB)"]), rows
        # The cold check and audit write the cache (a small gate's few entries can take
        # under the 5 ms the table shows as 0.00 on an idle machine).
        written = rows["cache write"]
        assert float(written[0]) > 0 and float(written[2]) > 0, written
    assert sum(line.startswith("floor: git log") for line in lines) == 2
    assert sum(line.endswith(("  yes", "  no")) for line in lines[:inventory]) == 10
    # The large inventory at two sizes, a quarter and the whole, to show growth is linear.
    table = lines[inventory:]
    assert table[1].split()[:3] == ["size", "(MB)", "hosts"]
    sizes = [float(row.split()[0]) for row in table[2:4]]
    assert sizes[0] == pytest.approx(0.5, rel=0.05) and sizes[1] == pytest.approx(2, rel=0.05)
    # The storm month: every output format rendered from one check, with the targets.
    storm = lines[next(i for i, line in enumerate(lines) if line.startswith("storm month:")) :]
    assert "findings in" in storm[0] and "(exit code 1)" in storm[0]
    assert storm[2].startswith("  stages: git read")
    formats = {row.split()[0]: row.split()[1:] for row in storm[4:11]}
    assert set(formats) == {"json", "json-compact", "sarif", "junit", "text", "markdown", "html"}
    assert all(len(cells) == 4 for cells in formats.values())
    assert any(line.startswith("SARIF: ") and "schema: valid" in line for line in storm)
    assert sum(line.endswith(("  yes", "  no")) for line in storm) == 5
    assert any(line.startswith("json (the contract's, every finding") for line in storm)
    # The organisation is cached: a second run does not rebuild it.
    stamp = tmp_path / "small-spread" / "size.json"
    before = stamp.stat().st_mtime_ns
    with contextlib.redirect_stdout(io.StringIO()):
        main(["--small", "--dir", str(tmp_path), "--no-storm", "--no-fanout"])
    assert stamp.stat().st_mtime_ns == before


HOLD = """
import os, sys, time
held = bytearray(int(sys.argv[1]) << 20)
held[::4096] = b"x" * len(held[::4096])  # every page touched: resident
if os.fork() == 0:
    mine = bytearray(int(sys.argv[1]) << 20)
    mine[::4096] = b"y" * len(mine[::4096])
    time.sleep(1.0)
    os._exit(0)
os.wait()
"""


@pytest.mark.skipif(not footprint.available(), reason="no /proc/PID/smaps_rollup here")
def test_the_footprint_sums_a_command_and_its_children_counting_shared_pages_once() -> None:
    # A parent holding 100 MiB forks a child that holds 100 MiB of its own: 200 MiB at once
    # (the inherited 100 MiB shared, counted once), where each process alone holds ~100 MiB.
    process = subprocess.Popen([sys.executable, "-c", HOLD, "100"])
    sampler = footprint.Footprint(process.pid)
    assert process.wait() == 0
    held = sampler.stop()
    assert 190 < held < 280, held
