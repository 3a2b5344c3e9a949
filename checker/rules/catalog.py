"""The rule catalog from the policies' METADATA: text, JSON, or the Markdown of docs/rules.md."""

from __future__ import annotations

import difflib
import json
import textwrap
from collections.abc import Sequence

from checker.errors import UsageError
from checker.report.escape import json_safe, log_inert, visible
from checker.rules.metadata import RuleMeta


def catalog_text(rules: Sequence[RuleMeta]) -> str:
    """One rule a line, its controls below."""
    lines = []
    for rule in rules:
        lines.append(f"{rule.id:<11} {rule.severity:<8} {rule.title}")
        lines.append(f"{'':<20} controls: {', '.join(rule.controls)}")
    return _shown(lines)


def _shown(lines: list[str]) -> str:
    """Lines for a terminal or a CI log. Added policies' METADATA is the policy author's
    text: each control character shown as an escape, and no line read as a log's command
    (``log_inert``): a title written ``##vso[task.setvariable ...]`` set a job's variable."""
    return log_inert("".join(visible(line) + "\n" for line in "\n".join(lines).split("\n")))


def catalog_json(rules: Sequence[RuleMeta]) -> str:
    """Every field of every rule (``json_safe``: printed, no line of it a log's command)."""
    return json_safe(
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
                    "gate": list(r.gate),
                    "subject": r.subject,
                    "cause": r.cause,
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
            *([f"Subject: `{r.subject}`.", ""] if r.subject else []),
            *([f"Cause: `{r.cause}` ({r.statement}).", ""] if r.cause else []),
            "Gates: "
            + (", ".join(r.gate) if r.gate else "none (full checks and audits only)")
            + ".",
            "",
            f"Message: {r.message}",
        ]
    return _shown(lines)


def rule_data(rules: Sequence[RuleMeta]) -> dict[str, dict[str, str]]:
    """``data.knightwatch.rules``: each rule's message template, title and severity by id, so
    that the policies' ``deny`` results carry messages under plain OPA and conftest too."""
    return {r.id: {"message": r.message, "severity": r.severity, "title": r.title} for r in rules}


CATALOG_FORMATS = {"text": catalog_text, "json": catalog_json, "markdown": catalog_markdown}


DOCS = {
    "REVIEW": "docs/review-rules.md",
    "FLEET": "docs/fleet-rules.md",
    "DEAD": "docs/deadcode-rules.md",
    "WAIVER": "docs/waivers.md",
}


def explain(rules: Sequence[RuleMeta], rule_id: str) -> str:
    """Everything the catalog knows about one rule, for ``knightwatch explain``."""
    wanted = rule_id.strip().upper()
    by_id = {r.id: r for r in rules}
    if wanted not in by_id:
        close = difflib.get_close_matches(wanted, list(by_id), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"no rule {rule_id!r} in the catalog{hint}; see 'knightwatch policy list'")
    r = by_id[wanted]
    needs = ", ".join(r.requires) or "nothing beyond the repository"
    if r.optional:
        needs += f" ({', '.join(r.optional)} if present)"
    lines = [
        f"{r.id} ({r.severity}): {r.title}",
        "",
        *textwrap.wrap(r.description, 88),
        "",
        f"Controls: {'; '.join(r.controls)}",
        f"Needs:    {needs}",
        f"Subject:  {r.subject or 'not declared'}",
        f"Cause:    {r.cause or 'its subject (each finding its own group)'}",
        f"Gates:    {', '.join(r.gate) or 'none'}",
        f"Rule:     {r.path} ({r.file}:{r.line})",
        f"Message:  {r.message}",
    ]
    area = r.id.split("-")[0]
    if area in DOCS:
        lines.append(f"Docs:     {DOCS[area]}")
    return _shown(lines)
