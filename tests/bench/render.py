"""Every output format of one check, timed: ``python -m tests.bench.render RESULT DIR ARGV...``.

Runs the pipeline of ``knightwatch check ARGV...`` once, in this fresh interpreter, then
renders and writes each format in a child forked from it, so that each format's time and peak
memory are its own: a child's peak resident size counts the report it inherited (what a run
that writes that format holds), not the other formats'. Writes to RESULT, as JSON, the
pipeline's time, peak memory and findings, and per format its seconds, peak MiB and file.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

EXTENSIONS = {
    "json": ".json",
    "json-compact": ".compact.json",
    "sarif": ".sarif",
    "junit": ".xml",
    "text": ".txt",
    "markdown": ".md",
    "html": ".html",
}


def _peak_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _render_in_child(report: Any, name: str, path: Path) -> dict[str, Any]:
    """Fork; the child renders ``name`` to ``path`` as the CLI writes a file (in pieces where
    the format writes itself so) and reports its time and peak memory through a pipe."""
    from checker.report import pieces
    from checker.writer import write_all

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, write, report, and leave without cleanup
        os.close(read)
        started, cpu = time.perf_counter(), time.process_time()
        write_all([(path, pieces(name, report))])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        measured = {"seconds": seconds, "cpu_seconds": cpu, "peak_mib": _peak_mib()}
        os.write(write, json.dumps(measured).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        measured = json.loads(pipe.read() or "{}")
    _, status = os.waitpid(pid, 0)
    if status != 0 or not measured:
        raise RuntimeError(f"rendering {name} failed (status {status})")
    return {**measured, "path": str(path), "bytes": path.stat().st_size}


def main() -> int:
    result, directory, argv = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    from checker import timing
    from checker.cli.options import check_options
    from checker.cli.parser import build_parser
    from checker.runner import run_check

    started = time.perf_counter()
    report = run_check(check_options(build_parser().parse_args(["check", *argv])))
    pipeline = time.perf_counter() - started
    pipeline_peak, children_peak = _peak_mib(), _peak_mib(resource.RUSAGE_CHILDREN)
    stages = timing.take()
    formats = {
        name: _render_in_child(report, name, directory / f"storm{extension}")
        for name, extension in EXTENSIONS.items()
    }
    result.write_text(
        json.dumps(
            {
                "pipeline_seconds": pipeline,
                "stages": stages,
                "pipeline_peak_mib": pipeline_peak,
                "children_peak_mib": children_peak,
                "findings": len(report.findings),
                "groups": len(report.groups),
                "exit_code": report.exit_code,
                "formats": formats,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
