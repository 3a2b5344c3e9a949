"""One timed command in a fresh interpreter: ``python -m tests.bench.run RESULT ARGV...``.

Runs ``knightwatch ARGV...`` exactly as the console script does and writes to RESULT, as
JSON, the exit code, the time spent in each stage, and the peak memory of this process and of
the largest child process it waited for (a git process, or the policy evaluation's forked
child, whose resident size counts the pages it shares with this process). The parent times
the whole process, start-up included.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import time
from pathlib import Path


def main() -> int:
    started = time.perf_counter()
    result, argv = Path(sys.argv[1]), sys.argv[2:]
    from checker import timing
    from checker.cli import main as knightwatch

    imported = time.perf_counter()
    code = knightwatch(argv, out=io.StringIO(), err=io.StringIO())
    stages = {"start-up": imported - started, **timing.take()}
    result.write_text(
        json.dumps(
            {
                "code": code,
                "stages": stages,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "git_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
