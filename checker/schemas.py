"""JSON Schemas generated from the models: every evidence file's, knightwatch.yaml's and the flag
registry's (``evidence/schemas/`` holds them; a test fails when they drift)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter

from checker.config import Config
from checker.evidence.bundle import KINDS
from checker.evidence.models import FlagRegistry

OTHER_DOCUMENTS: dict[str, tuple[type[BaseModel], str]] = {
    "flags": (FlagRegistry, "flags.yaml in the repository: the flag registry and retired code."),
    "knightwatch": (Config, "knightwatch.yaml at the repository root: options."),
}
"""Files that are not in the evidence directory, with their schema's description."""


def _schema(name: str, shape: Any, description: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:knightwatch:evidence:{name}:v1",
        "title": name,
        "description": description,
        **TypeAdapter(shape).json_schema(mode="validation"),
    }


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema by file name (without ``.schema.json``)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        shape: Any = list[kind.model] if kind.shape == "list" else kind.model  # type: ignore[name-defined]
        out[kind.name] = _schema(kind.name, shape, kind.description)
    for name, (model, description) in OTHER_DOCUMENTS.items():
        out[name] = _schema(name, model, description)
    return out


def render(schema: dict[str, Any]) -> str:
    """A schema file's text."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
