"""Output files appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from checker.errors import UsageError


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    directory = path.parent if str(path.parent) else Path()
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o644)  # a report is for reading; mkstemp's 0600 is for secrets
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).replace(path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
