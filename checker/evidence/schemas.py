"""JSON Schemas of every evidence file, generated from the models (evidence/schemas/ holds them)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter

from checker.config import Config
from checker.evidence.models import (
    Deployment,
    FlagEvent,
    FlagRegistry,
    Fleet,
    Identities,
    Observation,
    Review,
    Waiver,
)

LISTS: dict[str, type[BaseModel]] = {
    "deploys": Deployment,
    "reviews": Review,
    "flag_events": FlagEvent,
    "observations": Observation,
    "waivers": Waiver,
}
DOCUMENTS: dict[str, type[BaseModel]] = {
    "fleet": Fleet,
    "identities": Identities,
    "flags": FlagRegistry,
    "knightwatch": Config,
}
DESCRIPTIONS = {
    "deploys": "deploys.yaml / deploys.jsonl: the deployments (JSON Lines: one item a line).",
    "reviews": "reviews.yaml / reviews.jsonl: code-review records, one per merged change.",
    "flag_events": "flag_events.yaml / .jsonl: runtime flag changes.",
    "observations": "observations.jsonl / .yaml: what each host was seen running.",
    "waivers": "waivers.yaml: time-boxed exceptions.",
    "fleet": "fleet.yaml: each service's hosts.",
    "identities": "identities.yaml: each person's addresses.",
    "flags": "flags.yaml in the repository: the flag registry and retired code.",
    "knightwatch": "knightwatch.yaml at the repository root: options.",
}


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema by file name (without ``.schema.json``)."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in {**LISTS, **DOCUMENTS}.items():
        shape: Any = list[model] if name in LISTS else model  # type: ignore[valid-type]
        schema = TypeAdapter(shape).json_schema(mode="validation")
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:knightwatch:evidence:{name}:v1",
            "title": name,
            "description": DESCRIPTIONS[name],
            **schema,
        }
    return out


def render(schema: dict[str, Any]) -> str:
    """A schema file's text."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
