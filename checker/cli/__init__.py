"""Command line: argv → options → run → render → exit code. The only package that prints or
exits: ``parser`` builds the arguments, ``options`` turns them into a run's options,
``commands`` holds one function per command (``imports``, ``import_forges`` and
``import_k8s`` those of ``knightwatch import``), and ``main`` runs one and turns every error
into its exit code."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TextIO, cast

from checker.cli.commands import COMMANDS
from checker.cli.parser import build_parser
from checker.errors import EXIT_INTERNAL, KnightwatchError, UsageError
from checker.report.escape import log_inert, visible, without_key_material
from checker.writer import recording_inputs

__all__ = ["build_parser", "main"]


def _shown(message: str) -> str:
    """A message as printed: never a key (argparse repeats arguments it cannot place), the
    control characters of the evidence it quotes shown, not sent to the terminal, and no
    line of it read as a CI log's command (``log_inert``): a record named in a message may
    hold ``##vso[...]`` or ``##[add-mask]``, and standard error goes to the job's log."""
    lines = without_key_material(message).split("\n")
    return log_inert("".join(visible(line) + "\n" for line in lines))


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a run the way Ctrl-C does, so that every cleanup runs: staged
    outputs are removed and a policy evaluation in a child process is stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signals = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Output(io.TextIOBase):
    """Standard output, whose failures are the user's to fix, not a bug: ``> /dev/full``, a
    full disk or a closed descriptor were reported as an internal error of knightwatch
    (``OSError``, or ``AttributeError`` where Python has no stdout at all)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self._stream = stream

    def _target(self) -> TextIO:
        if self._stream is None:
            raise UsageError("cannot write to standard output: it is closed")
        return self._stream

    def write(self, text: str) -> int:
        try:
            self._target().write(text)
        except OSError as exc:
            raise UsageError(f"cannot write to standard output: {exc.strerror}") from None
        return len(text)

    def flush(self) -> None:
        try:
            self._target().flush()
        except OSError as exc:
            raise UsageError(f"cannot write to standard output: {exc.strerror}") from None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; return its exit code (0 pass, 1 findings, 2 input, 3 internal)."""
    out = cast(TextIO, _Output(out if out is not None else sys.stdout))
    err = err or sys.stderr
    try:
        with contextlib.redirect_stdout(out):  # --help and --version print to our stream
            args = build_parser().parse_args(list(argv) if argv is not None else None)
        if args.command not in COMMANDS:
            raise UsageError(f"a command is needed\n{build_parser().format_usage().strip()}")
        with recording_inputs(), _terminate_as_interrupt():
            code = COMMANDS[args.command](args, out, err)
            out.flush()  # what is still buffered fails here, not after the exit code is set
            return code
    except KnightwatchError as exc:
        err.write(_shown(exc.render()))
        return exc.exit_code
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        err.write("knightwatch: interrupted\n")
        return EXIT_INTERNAL
    except Exception as exc:
        return _bug(exc, err)


def _bug(exc: Exception, err: TextIO) -> int:
    """Anything else is a bug in knightwatch: say so, without a traceback unless asked."""
    import traceback

    err.write(
        _shown(
            "knightwatch: internal error (a bug in knightwatch, not in your input): "
            f"{type(exc).__name__}: {exc}"
        )
    )
    if os.environ.get("KNIGHTWATCH_DEBUG"):
        traceback.print_exc(file=err)
    else:
        err.write("  set KNIGHTWATCH_DEBUG=1 for the traceback\n")
    return EXIT_INTERNAL
