"""JSON: the report object, sorted keys, no clock time; identical inputs give identical bytes."""

from __future__ import annotations

import json

from checker.report.escape import json_safe
from checker.report.model import Report


class JsonRenderer:
    """``--format json``."""

    name = "json"
    media_type = "application/json"

    def render(self, report: Report, *, color: bool = False) -> str:
        """The report as canonical, indented JSON with a final newline."""
        text = json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
        return json_safe(text) + "\n"
