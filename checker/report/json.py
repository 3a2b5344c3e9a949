"""JSON: the report object, sorted keys, no clock time; identical inputs give identical bytes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from checker.report.escape import json_safe
from checker.report.model import Report

COMPACT_HINT_ABOVE = 25_000
"""Past this many findings the JSON report says on stderr that a compact form exists."""


class JsonRenderer:
    """``--format json``."""

    name = "json"
    media_type = "application/json"

    def render(self, report: Report, *, color: bool = False) -> str:
        """The report as canonical, indented JSON with a final newline."""
        return _canonical(report.to_dict())

    def pieces(self, report: Report) -> Iterator[str]:
        """``render``'s text in pieces: a storm's report is written without being held."""
        return canonical_pieces(report.to_dict())

    def notice(self, report: Report) -> str | None:
        """What the CLI says on stderr when the report lists a storm of instances."""
        if len(report.findings) <= COMPACT_HINT_ABOVE:
            return None
        return (
            f"JSON: {len(report.findings):,} findings in {len(report.groups):,} causes, each "
            "listed in full; --format json-compact states each cause once with its subjects"
        )


class CompactJsonRenderer:
    """``--format json-compact``: every instance by subject in its group, nothing repeated."""

    name = "json-compact"
    media_type = "application/json"

    def render(self, report: Report, *, color: bool = False) -> str:
        """The compact report as canonical, indented JSON with a final newline."""
        return _canonical(report.to_compact_dict())

    def pieces(self, report: Report) -> Iterator[str]:
        """``render``'s text in pieces."""
        return canonical_pieces(report.to_compact_dict())


_ENCODER = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)
_BATCH = 4096


def canonical_pieces(document: dict[str, Any]) -> Iterator[str]:
    """The canonical text of ``document`` (``_canonical``) in pieces, so that a caller can write
    or hash a findings storm's report without holding it, or a list of its 26 million parts,
    whole. Escaping is per character, so escaping each piece escapes the whole."""
    batch: list[str] = []
    for piece in _ENCODER.iterencode(document):
        batch.append(piece)
        if len(batch) >= _BATCH:
            yield json_safe("".join(batch))
            batch.clear()
    batch.append("\n")
    yield json_safe("".join(batch))


def _canonical(document: dict[str, Any]) -> str:
    """Sorted keys, two-space indent, non-ASCII kept and control characters escaped, and a
    final newline: the bytes of ``json.dumps(document, indent=2, sort_keys=True,
    ensure_ascii=False)`` made safe, written piece by piece into one buffer."""
    buffer = io.StringIO()
    for piece in canonical_pieces(document):
        buffer.write(piece)
    return buffer.getvalue()
