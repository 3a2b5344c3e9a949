"""The rule catalog from the policies' METADATA: text, JSON, or the Markdown of docs/rules.md."""

from __future__ import annotations

import json
from collections.abc import Sequence

from checker.engine.metadata import RuleMeta


def catalog_text(rules: Sequence[RuleMeta]) -> str:
    """One rule a line, its controls below."""
    lines = []
    for rule in rules:
        lines.append(f"{rule.id:<11} {rule.severity:<8} {rule.title}")
        lines.append(f"{'':<20} controls: {', '.join(rule.controls)}")
    return "\n".join(lines) + "\n"


def catalog_json(rules: Sequence[RuleMeta]) -> str:
    """Every field of every rule."""
    return (
        json.dumps(
            [
                {
                    "id": r.id,
                    "severity": r.severity,
                    "title": r.title,
                    "description": r.description,
                    "controls": list(r.controls),
                    "requires": list(r.requires),
                    "optional": list(r.optional),
                    "file": r.file,
                    "rule": r.path,
                }
                for r in rules
            ],
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def catalog_markdown(rules: Sequence[RuleMeta]) -> str:
    """The rule catalog page; docs/rules.md is this output, and a test keeps it so."""
    lines = [
        "# Rule catalog",
        "",
        "Generated from the policies' METADATA by `knightwatch policy list --format markdown`;",
        "do not edit by hand.",
        "",
        "| id | severity | title | needs |",
        "|---|---|---|---|",
    ]
    for r in rules:
        needs = ", ".join(f"`{n}`" for n in r.requires) or "—"
        if r.optional:
            needs += " (" + ", ".join(f"`{n}`" for n in r.optional) + " if present)"
        lines.append(f"| [{r.id}](#{r.id.lower()}) | {r.severity} | {r.title} | {needs} |")
    for r in rules:
        lines += [
            "",
            f"## {r.id}",
            "",
            f"**{r.title}** — severity `{r.severity}`; rule `{r.path}` in `{r.file}`.",
            "",
            r.description,
            "",
            "Controls: " + "; ".join(r.controls) + ".",
            "",
            f"Message: {r.message}",
        ]
    return "\n".join(lines) + "\n"


CATALOG_FORMATS = {"text": catalog_text, "json": catalog_json, "markdown": catalog_markdown}
