"""The ``knightwatch`` command (and ``python -m checker``): it imports the command line's
modules itself, so that Ctrl-C while they load (a quarter of a second on a busy runner) stops
the run as Ctrl-C does anywhere else, with one line and exit code 3, not Python's traceback."""

from __future__ import annotations

import sys

from checker.errors import EXIT_INTERNAL


def main() -> int:
    """Import the command line and run it; ``checker.cli.main`` turns every later error into
    its exit code."""
    try:
        from checker.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("knightwatch: interrupted\n")
        return EXIT_INTERNAL
    return run()
