"""Policy evaluation that can be stopped: the embedded engine, run in a child process with a
time limit per rule and a bound on memory.

The Rust engine knows execution and memory limits, but its Python binding (gordon-to-regorus
0.13.0) exposes none of them (only policy length limits and regex and glob cache sizes), and
a user's policy can ask for any amount of work (``some a in numbers.range(1, 100000); some b
in ...``) or memory. So the policies, data and input are loaded into the engine here, as
before (loading is linear work that cannot loop), and each batch of rules is evaluated in a
child process forked from this one: the child inherits the loaded engine as it stands in
memory (nothing is serialised to hand it over), evaluates the rules in order and writes each
rule's value back as one JSON line. The parent waits for each line at most ``seconds``; a
child that takes longer is killed, and the run ends with a policy error naming the rule. The
child's address space may grow by at most ``memory_mib`` over this process's
(``RLIMIT_AS``); an evaluation that needs more is stopped by the kernel and reported as such.
An engine that crashes while evaluating (a Rust abort, a segmentation fault) takes only the
child with it.

Where ``fork`` does not exist, the engine runs in process, without limits.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import json
import os
import selectors
import signal
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from checker.engine.base import UNDEFINED, Engine, PolicyModule, answer_value
from checker.errors import InternalError, KnightwatchError, PolicyError
from checker.memory import release_freed_memory

try:
    import resource
except ImportError:  # not on Windows: no memory bound there
    resource = None  # type: ignore[assignment]

DEFAULT_SECONDS = 120.0
DEFAULT_MEMORY_MIB = 4096
_ERRORS: dict[str, type[KnightwatchError]] = {"PolicyError": PolicyError}


@dataclass(frozen=True)
class Limits:
    """How long one rule may take, and how far the evaluation's memory may grow."""

    seconds: float = DEFAULT_SECONDS
    memory_mib: int = DEFAULT_MEMORY_MIB


DEFAULT_LIMITS = Limits()


def can_isolate() -> bool:
    """Whether this platform can fork (Linux, macOS, the BSDs)."""
    return hasattr(os, "fork")


class IsolatedEngine(Engine):
    """An engine whose evaluations run in a child process under ``Limits``.

    Policies, data and input are loaded here, into ``engine``, as they would be in process
    (a syntax error is reported at once; converting the input is linear work that cannot
    loop); each batch of rules is then evaluated in a child forked from this process, which
    inherits the loaded engine as it stands in memory."""

    def __init__(self, engine: Engine, limits: Limits = DEFAULT_LIMITS) -> None:
        self._engine = engine
        self._limits = limits
        self.name = engine.name
        self._covered: dict[str, set[int]] = {}
        self._outcomes: dict[str, tuple[bool, Any]] = {}
        """Each rule evaluated for this input: (True, value) or (False, the error)."""
        self._pending: list[str] = []
        self._sliced: frozenset[str] = frozenset()
        self._deployments = 0
        """How many deployments the input holds: the rules in ``_sliced`` judge them in
        slices of ``SLICE`` when there are more."""

    def judge_in_slices(self, paths: frozenset[str]) -> None:
        """Evaluate these rules (each judges every deployment alone) over slices of the
        deployments in the child, each slice's findings passed on and let go before the next:
        a storm's rule holds one slice's findings, not hundreds of thousands."""
        self._sliced = paths

    def close(self) -> None:
        """Close the engine it wraps."""
        self._engine.close()

    def load(self, modules: list[PolicyModule]) -> None:
        """Load the modules into the engine."""
        self._engine.load(modules)
        self._outcomes = {}

    def set_data(self, data: dict[str, Any]) -> None:
        """Replace the data document."""
        self._engine.set_data(data)
        self._outcomes = {}

    def set_input(self, document: Mapping[str, Any]) -> None:
        """Replace the input document; answers for the previous one are dropped."""
        self._engine.set_input(document)
        deployments = document.get("deployments")
        self._deployments = len(deployments) if isinstance(deployments, list) else 0
        self._outcomes = {}
        self._pending = []

    def enable_coverage(self) -> bool:
        """Record coverage in each child, to be collected here."""
        return self._engine.enable_coverage()

    def covered_lines(self) -> dict[str, set[int]]:
        """Lines reached in every child so far."""
        return {name: set(lines) for name, lines in self._covered.items()}

    def version(self) -> str:
        """The engine's version."""
        return self._engine.version()

    def prefetch(self, paths: list[str]) -> None:
        """Evaluate every rule not answered yet, in order, in one child."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._outcomes]
        if wanted:
            self._pending = wanted
            self._run(wanted)

    def evaluate(self, path: str) -> Any:
        """One rule's value; its error, if evaluating it failed or was stopped."""
        if path not in self._outcomes:
            rest = self._pending[self._pending.index(path) :] if path in self._pending else []
            self.prefetch(rest or [path])
        ok, value = self._outcomes[path]
        if not ok:
            raise value
        # Handed over, not kept: a storm's answer is hundreds of megabytes of findings, and
        # the caller turns it into its own. Asked again, the rule is evaluated again.
        del self._outcomes[path]
        return value

    def _run(self, paths: list[str]) -> None:
        release_freed_memory()  # the child starts from every page this process holds
        reader, writer = os.pipe()
        errors_reader, errors_writer = os.pipe()
        # An interrupt (Ctrl-C, SIGTERM) during the fork would be raised inside the fork's
        # own hooks, where Python ignores it, and the run would wait on a child nobody stops:
        # it is held until the child exists and this process knows to stop it.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
        try:
            with warnings.catch_warnings():
                # The child only runs the engine and writes to its pipes: no lock another
                # thread might hold at the fork is ever taken in it.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            raise
        if pid == 0:  # pragma: no cover - the child; its results are what the tests check
            os.close(reader)
            os.close(errors_reader)
            _child(self, paths, writer, errors_writer, held)
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held interrupt is raised here
            os.close(writer)
            os.close(errors_writer)
            self._collect(pid, paths, reader, errors_reader)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            os.close(reader)
            os.close(errors_reader)

    def _collect(self, pid: int, paths: list[str], reader: int, errors_reader: int) -> None:
        """Read the child's answers as they come, each within the time limit."""
        answered = 0
        parts: list[Any] = []
        channel = _Channel(reader, errors_reader, self._limits.seconds)
        for line in channel.lines():
            message = json.loads(line)
            if "coverage" in message:
                for name, lines in message["coverage"].items():
                    self._covered.setdefault(name, set()).update(lines)
                continue
            if "part" in message:  # a slice of a rule judged in slices; the rest follows
                parts.append(answer_value(message.pop("part")))
                continue
            path = paths[answered]
            answered += 1
            if "error" in message:
                self._outcomes[path] = (False, _error(message["error"]))
            else:
                value = answer_value(message.pop("answer"))
                self._outcomes[path] = (True, _joined([*parts, value]) if parts else value)
            parts = []
        if answered == len(paths):
            self._pending = []
            return
        path = paths[answered]
        self._pending = paths[answered + 1 :]
        error = self._stopped(pid, f"evaluating {path}", channel)
        self._outcomes[path] = (False, error)  # asked again, the same error without a wait
        raise error

    def _stopped(self, pid: int, what: str, channel: _Channel) -> KnightwatchError:
        if not channel.closed:
            return PolicyError(
                f"policy evaluation stopped: {what} took longer than "
                f"{self._limits.seconds:g} s; no verdict",
                hint="a rule that iterates over everything for every item takes hours on a "
                "large input: join through an index prepared in Python; if the work is meant, "
                "raise --policy-timeout",
            )
        _, status = os.waitpid(pid, 0)
        return self._crashed(what, status, channel.stderr.decode("utf-8", "replace"))

    def _crashed(self, what: str, status: int, stderr: str) -> KnightwatchError:
        if "memory allocation of" in stderr or "MemoryError" in stderr:
            return PolicyError(
                f"policy evaluation stopped: {what} needed more than its memory bound "
                f"({self._limits.memory_mib} MiB more than knightwatch held); no verdict",
                hint="if the memory is meant, raise --policy-memory",
            )
        if os.WIFSIGNALED(status):
            cause = f"signal {os.WTERMSIG(status)}"
        else:
            cause = f"exit status {os.WEXITSTATUS(status)}"
        last = stderr.strip().splitlines()[-1:] or ["no message"]
        return InternalError(f"the policy engine crashed ({cause}) while {what}: {last[0]}")


class _Channel:
    """The child's two pipes: answers, one JSON line each, and its stderr on the side."""

    def __init__(self, reader: int, errors: int, seconds: float) -> None:
        self._reader = reader
        self._errors = errors
        self._seconds = seconds
        self.closed = False
        """The answers' pipe reached its end (the child exited), rather than time running out."""
        self.stderr = bytearray()

    def _keep(self, chunk: bytes) -> None:
        self.stderr += chunk[: max(0, 8192 - len(self.stderr))]

    def lines(self) -> Iterator[bytes]:
        """Complete lines until the pipe closes, or until none comes within the limit."""
        buffer = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self._reader, selectors.EVENT_READ)
            selector.register(self._errors, selectors.EVENT_READ)
            deadline = time.monotonic() + self._seconds
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                for key, _ in selector.select(remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if key.fd == self._errors:
                        if not chunk:
                            selector.unregister(key.fd)
                        self._keep(chunk)
                    elif not chunk:
                        self.closed = True
                    else:
                        # Only the new chunk is searched for the line's end: an answer of a
                        # storm of findings is one line of many megabytes.
                        start = len(buffer)
                        buffer += chunk
                        while (end := buffer.find(b"\n", start)) >= 0:
                            with memoryview(buffer) as view:
                                line = bytes(view[:end])
                            del buffer[: end + 1]
                            start = 0
                            deadline = time.monotonic() + self._seconds
                            yield line
            # what the child wrote to stderr as it ended
            while self._errors in selector.get_map() and selector.select(0.1):
                chunk = os.read(self._errors, 1 << 16)
                if not chunk:
                    break
                self._keep(chunk)


def _error(fields: dict[str, Any]) -> KnightwatchError:
    kind = _ERRORS.get(str(fields.get("type")), InternalError)
    return kind(str(fields.get("message")), hint=fields.get("hint"))


def _child(
    owner: IsolatedEngine, paths: list[str], out: int, errors: int, held: set[int | signal.Signals]
) -> None:  # pragma: no cover
    """Evaluate in the child and leave with ``os._exit``: nothing of the parent's (its
    ``finally`` blocks, atexit handlers, buffered output) may run twice."""
    code = 0
    try:
        for sig in _INTERRUPTS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.dup2(errors, 2)
        faulthandler.disable()  # a crash is the parent's to report, from the exit status
        gc.disable()  # a collection would touch, and so copy, every page of the parent's
        if resource is not None:
            _bound(owner._limits, len(paths))
        engine = owner._engine
        with os.fdopen(out, "w", encoding="utf-8") as stream:
            for path in paths:
                sliced = path in owner._sliced and owner._deployments > SLICE
                _answer(stream, engine, path, owner._deployments if sliced else 0)
            covered = engine.covered_lines()
            if covered:
                lines = {name: sorted(found) for name, found in covered.items()}
                stream.write(json.dumps({"coverage": lines}) + "\n")
    except MemoryError:
        os.write(2, b"MemoryError\n")
        code = 70
    except BaseException as exc:
        os.write(2, f"{type(exc).__name__}: {exc}\n".encode("utf-8", "replace"))
        code = 70
    os._exit(code)


def _answer(
    stream: TextIO, engine: Engine, path: str, deployments: int
) -> None:  # pragma: no cover - child
    """One line for one rule: the engine's answer as it wrote it (no Python values are built
    of a storm of findings here, nor copies of its text), or the error. A rule judged in
    slices (``deployments``: how many there are, 0 for a rule judged whole) is a ``part``
    line for each slice but the last, which is the answer."""
    queries = [path]
    if deployments:
        # the windows a monthly audit carries from earlier months are judged in the first
        # slice alone: in every slice they would be found again
        queries = [
            f"{path} with input.deployments as array.slice(input.deployments, {at}, {at + SLICE})"
            + (" with input.carried_windows as []" if at else "")
            for at in range(0, deployments, SLICE)
        ]
    for number, query in enumerate(queries, 1):
        if not _one(stream, engine, query, "answer" if number == len(queries) else "part"):
            return


def _one(stream: TextIO, engine: Engine, query: str, kind: str) -> bool:  # pragma: no cover
    """One line: the query's answer as ``kind``, or the error (False)."""
    try:
        raw = engine.evaluate_json(query)
    except KnightwatchError as exc:
        stream.write(json.dumps({"error": _fields(exc)}) + "\n")
        stream.flush()
        return False
    else:
        # One line per answer: the parent reads lines. The engine writes its JSON indented;
        # a line feed in JSON text is only ever white space between tokens (inside a string
        # it is escaped), so dropping them keeps the same value without parsing it.
        raw = raw.replace("\n", "")
        stream.write(f'{{"{kind}":')
        # In slices: a text stream encodes what it is given whole, and a storm's answer is a
        # hundred megabytes that would be held twice.
        for start in range(0, len(raw), _WRITE_CHUNK):
            stream.write(raw[start : start + _WRITE_CHUNK])
        stream.write("}\n")
    stream.flush()
    return True


_WRITE_CHUNK = 1 << 20
SLICE = 1000
"""Deployments per slice of a rule judged in slices."""


def _joined(values: list[Any]) -> Any:
    """A rule's value from its slices' values: the findings of every slice (a set's are a
    list); undefined only when every slice's is."""
    found = [v for v in values if v is not UNDEFINED]
    if not found:
        return UNDEFINED
    other = next((v for v in found if not isinstance(v, list)), None)
    if other is not None:
        return other  # not a set of findings: the runner says so, naming the rule
    return [item for value in found for item in value]


_INTERRUPTS = {
    signal.SIGINT,
    signal.SIGTERM,
    *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []),
}
"""What stops a run the way Ctrl-C does (``cli`` turns SIGTERM and SIGHUP into it)."""


def _fields(exc: KnightwatchError) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}


def _bound(limits: Limits, rules: int) -> None:  # pragma: no cover - runs in the child
    """The memory bound, on top of the address space this process already has (Linux: other
    kernels do not enforce it); and a CPU limit as a backstop, should the parent die and
    leave the child running."""
    cpu = int(limits.seconds * (rules + 1)) + 1
    with contextlib.suppress(ValueError, OSError):  # a lower hard limit set by the system
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    try:
        with open("/proc/self/statm") as statm:  # noqa: PTH123
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return
    bound = size + limits.memory_mib * 2**20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (bound, bound))
