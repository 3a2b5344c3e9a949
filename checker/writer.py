"""Output files: regular files only, never an input or a key, and all of a run's outputs
appear together, each whole, or none of them does.

Every output is first written to a temporary file beside its target (``.NAME.XXXX.tmp``) and
flushed to disk; only when every one of a run's outputs is staged are they renamed over their
targets, in the order given. A failure, SIGINT or SIGTERM before that removes every temporary.

A target must be a regular file or not exist yet: a device (``/dev/null``), a FIFO, a socket,
a directory or a symbolic link is refused, because renaming over it would replace it with a
file. A file this run read (evidence, configuration, a policy, a previous report, a key) and a
file holding a PEM key are never replaced.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

from checker.errors import UsageError

_READ: ContextVar[set[tuple[int, int]] | None] = ContextVar("knightwatch_read", default=None)
_PEM = b"-----BEGIN "
_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


@contextlib.contextmanager
def recording_inputs() -> Iterator[None]:
    """Within this block, every file noted as read is protected from being written."""
    token = _READ.set(set())
    try:
        yield
    finally:
        _READ.reset(token)


def note_input(path: Path) -> None:
    """Remember that this run read ``path``: no output of the run may replace it."""
    read = _READ.get()
    if read is None:
        return
    with contextlib.suppress(OSError):
        info = path.stat()
        read.add((info.st_dev, info.st_ino))


def check_target(path: Path, *, replacing_input: bool = False) -> None:
    """Refuse an output path that is not, or would not become, a regular file of our own.
    ``replacing_input``: the output is a new version of a file read (an import appending to
    an evidence file)."""
    directory = path.parent if str(path.parent) else Path()
    try:
        info = path.lstat()
    except FileNotFoundError:
        if not directory.is_dir():
            raise UsageError(f"cannot write {path}: directory {directory} does not exist") from None
        return
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(
            f"cannot write {path}: it is a symbolic link",
            hint="reports are written as regular files; give the path of the file itself",
        )
    for test, kind in _KINDS:
        if test(info.st_mode):
            raise UsageError(f"cannot write {path}: it is {kind}, not a regular file")
    read = _READ.get() or set()
    if (info.st_dev, info.st_ino) in read and not replacing_input:
        raise UsageError(
            f"cannot write {path}: this run read it as an input",
            hint="a report never replaces the evidence, policies, configuration or keys it "
            "was made from; choose another output path",
        )
    if _holds_pem(path):
        raise UsageError(f"cannot write {path}: it holds a PEM key or certificate")


def _holds_pem(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4096).lstrip().startswith(_PEM)
    except OSError:
        return False


def check_targets(paths: Sequence[Path], *, replacing_input: bool = False) -> None:
    """Each path must be a valid target, and no two may name the same file."""
    seen: dict[Path, Path] = {}
    for path in paths:
        check_target(path, replacing_input=replacing_input)
        where = Path(os.path.realpath(path.parent if str(path.parent) else Path())) / path.name
        if where in seen:
            raise UsageError(f"{seen[where]} and {path} are the same file; give each output once")
        seen[where] = path


def write_all(
    outputs: Sequence[tuple[Path, str | Iterable[str]]], *, replacing_input: bool = False
) -> None:
    """Write every output, or none: stage each beside its target, keep a link to each target
    that exists, then rename them in order; a rename that fails (or an interrupt) puts back
    the targets already replaced. An output is its text, or its text in pieces (written as
    they come: a failure while they are made leaves nothing behind)."""
    check_targets([path for path, _ in outputs], replacing_input=replacing_input)
    staged: list[tuple[Path, Path]] = []
    kept: dict[Path, Path | None] = {}
    replaced: list[Path] = []
    try:
        for path, text in outputs:
            staged.append((_stage(path, text), path))
        for _, path in staged:
            kept[path] = _keep(path)
        for temp, path in staged:
            # unchanged since it was checked, before anything is replaced
            check_target(path, replacing_input=replacing_input)
            try:
                temp.replace(path)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
            replaced.append(path)
    except BaseException:
        _put_back(replaced, kept)
        raise
    finally:
        for temp, path in staged:
            if path not in replaced:
                temp.unlink(missing_ok=True)
        for link in kept.values():
            if link is not None:
                link.unlink(missing_ok=True)


def _keep(path: Path) -> Path | None:
    """A second link to ``path``'s current file, beside it, to put back should a later output
    fail; None when there is no file yet. A file that cannot be linked (immutable, another
    user's) is refused before anything is replaced."""
    if not path.exists():
        return None
    directory = path.parent if str(path.parent) else Path()
    link = directory / f".{path.name}.{secrets.token_hex(6)}.kept"
    try:
        os.link(path, link)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror}",
            hint="knightwatch replaces every output or none, and keeps the current file "
            "until all are written: it must be able to link it in its directory",
        ) from None
    return link


def _put_back(replaced: list[Path], kept: dict[Path, Path | None]) -> None:
    """Each replaced target as it was: its kept link renamed back, or removed if it was new."""
    for path in reversed(replaced):
        with contextlib.suppress(OSError):
            link = kept.get(path)
            if link is not None:
                link.replace(path)
            else:
                path.unlink()


def write_atomic(path: Path, text: str, *, replacing_input: bool = False) -> None:
    """Write one file through a temporary file in the same directory and a rename."""
    write_all([(path, text)], replacing_input=replacing_input)


def _stage(path: Path, text: str | Iterable[str]) -> Path:
    """``text`` in a temporary file beside ``path``, on disk."""
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), 0o644)  # a report is for reading; 0600 is for secrets
            for piece in [text] if isinstance(text, str) else text:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp
