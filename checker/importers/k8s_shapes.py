"""Shape checks the Kubernetes importers share: what the API documents as a list of objects
or a time is refused, naming the file and the object, when it is anything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.importers.common import expect, moment


def objects(value: Any, path: Path, what: str) -> list[dict[str, Any]]:
    """A list of objects (``ownerReferences``, ``conditions``), or none where it is absent."""
    if value is None:
        return []
    expect(
        isinstance(value, list) and all(isinstance(v, dict) for v in value),
        path,
        f"{what} is not a list of objects",
    )
    return list(value)


def time_text(value: Any, path: Path, what: str) -> tuple[str, int]:
    """An RFC 3339 time as written and in nanoseconds: a time that cannot be read dates
    nothing."""
    expect(isinstance(value, str) and bool(value), path, f"{what}: no time")
    return str(value), moment(value, path, what)
