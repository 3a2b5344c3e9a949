"""JSON Schemas generated from the models: every evidence file's, knightwatch.yaml's, the flag
registry's, and the input document's that the policies read (``evidence/schemas/`` holds them;
a test fails when they drift)."""

from __future__ import annotations

import json
import warnings
from typing import Any

from pydantic import BaseModel, TypeAdapter

from checker.config import Config
from checker.evidence.bundle import KINDS
from checker.evidence.models import FlagRegistry
from checker.facts.document import InputDocument

INPUT = "input"
INPUT_DESCRIPTION = (
    "What every policy reads as `input`: the facts Python established from the evidence and "
    "the repository's history, joined through indexes so that a rule only looks things up. "
    "Times come as RFC 3339 text as recorded and as integer nanoseconds (`_ns`) to compare; "
    "shas in full, with their short form for messages; identities as a person's key or a "
    "normalised address, or null with the reason (`*unresolved`): a rule that compares "
    'identities must require them to be strings, since `null != "lee"` holds in Rego.'
)

OTHER_DOCUMENTS: dict[str, str] = {
    "flags": "flags.yaml in the repository: the flag registry and retired code.",
    "knightwatch": "knightwatch.yaml at the repository root: options.",
    "org": "org.yaml: the systems one organisation's monthly attestation covers (audit --org).",
}
"""Files that are not in the evidence directory, with their schema's description."""


def _other_model(name: str) -> type[BaseModel]:
    """The model of one of ``OTHER_DOCUMENTS``, imported only when a schema is generated:
    every command's start-up reads this module for the names alone."""
    from checker.org.model import OrgFile

    models: dict[str, type[BaseModel]] = {
        "flags": FlagRegistry,
        "knightwatch": Config,
        "org": OrgFile,
    }
    return models[name]


def _schema(name: str, shape: Any, description: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:knightwatch:evidence:{name}:v1",
        "title": name,
        "description": description,
        **TypeAdapter(shape).json_schema(mode="validation"),
    }


def input_schema() -> dict[str, Any]:
    """The input document's schema, from ``facts.document``."""
    with warnings.catch_warnings():
        # Read-only items are read-only to the type checker; a schema has nothing to protect.
        warnings.filterwarnings("ignore", message=".*ReadOnly.*", category=UserWarning)
        schema = TypeAdapter(InputDocument).json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:knightwatch:input:v1",
        **schema,
        "title": INPUT,
        "description": INPUT_DESCRIPTION,
    }


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema by file name (without ``.schema.json``)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        shape: Any = list[kind.model] if kind.shape == "list" else kind.model  # type: ignore[name-defined]
        out[kind.name] = _schema(kind.name, shape, kind.description)
    for name, description in OTHER_DOCUMENTS.items():
        out[name] = _schema(name, _other_model(name), description)
    out[INPUT] = input_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    """A schema file's text."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def names() -> list[str]:
    """The name of every schema, without generating any."""
    return sorted([*(kind.name for kind in KINDS), *OTHER_DOCUMENTS, INPUT])


def markdown(schema: dict[str, Any]) -> str:
    """A schema as one page: a table of fields per object type, the root first, then each
    type in the order the page first links to it. docs/input.md is this, for ``input``."""
    definitions: dict[str, dict[str, Any]] = schema.get("$defs", {})
    lines = [
        f"# The {schema['title']} document",
        "",
        "Generated from the models by `knightwatch schema "
        f"{schema['title']} --format markdown`; do not edit by hand.",
        "",
        _prose(schema.get("description", "")),
    ]
    queue, seen = [(str(schema["title"]), schema)], {str(schema["title"])}
    while queue:
        name, node = queue.pop(0)
        about = [] if node is schema else [_prose(node.get("description", "")), ""]
        lines += ["", f"## {name}", "", *about]
        lines += ["| field | type | always there | meaning |", "|---|---|---|---|"]
        required = set(node.get("required", []))
        for field, spec in node.get("properties", {}).items():
            for ref in sorted(_refs(spec)):
                if ref not in seen:
                    seen.add(ref)
                    queue.append((ref, definitions[ref]))
            lines.append(
                f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | "
                f"{_prose(spec.get('description', ''))} |"
            )
    return "\n".join(lines) + "\n"


def _prose(text: str) -> str:
    """A docstring as Markdown on one line: ``code`` as `code`."""
    return " ".join(text.replace("``", "`").split())


def _refs(spec: Any) -> set[str]:
    """The definitions a property's type names, at any depth."""
    if isinstance(spec, dict):
        found = {spec["$ref"].rsplit("/", 1)[1]} if "$ref" in spec else set()
        return found.union(*(_refs(value) for value in spec.values()))
    if isinstance(spec, list):
        return set().union(*(_refs(value) for value in spec))
    return set()


def _type(spec: dict[str, Any]) -> str:
    """A property's type in words: `string`, list of [Approval](#approval), map of ..."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in spec:
        return " or ".join(_type(branch) for branch in spec["anyOf"])
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"map of {_type(spec['additionalProperties'])}"
    return f"`{kind}`" if kind else "any"
