"""Dead-code facts: the flag registry at each deployed commit and over its whole history,
which flag names each deployed commit's code still mentions, and which retired code it holds.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.files import Located, parse_yaml, validate
from checker.evidence.git import GitHistory
from checker.evidence.git_content import GitContent
from checker.evidence.models import FlagRegistry, utc_day_start_ns
from checker.facts.streams import SHORT

DAY_NS = 86_400 * 1_000_000_000
MAX_LISTED = 10


@dataclass
class _Registries:
    """Parsed registry blobs, each parsed once, and the versions that could not be read."""

    content: GitContent
    parsed: dict[str, FlagRegistry | None] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def parse(self, key: str, data: bytes, commit: str, path: str) -> FlagRegistry | None:
        if key in self.parsed:
            return self.parsed[key]
        where = PurePosixPath(f"{commit[:SHORT]}:{path}")
        registry: FlagRegistry | None = None
        try:
            document = parse_yaml(data, where)
            registry = validate(FlagRegistry, Located(document or {}, 1), where, "registry")
            names = [flag.name for flag in registry.flags]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise InputError(f"flag {duplicates[0]!r} is listed twice", path=str(where))
        except InputError as exc:
            registry = None
            self.errors[key] = {
                "commit": commit,
                "short": commit[:SHORT],
                "path": path,
                "error": exc.message,
            }
        self.parsed[key] = registry
        return registry


def _flag_facts(registry: FlagRegistry | None) -> dict[str, Any]:
    if registry is None:
        return {}
    return {
        flag.name: {
            "status": flag.status,
            "purpose": flag.purpose,
            "owner": flag.owner,
            "remove_by": flag.remove_by.isoformat() if flag.remove_by else None,
            # "Past remove_by" starts when the remove_by day (UTC) is over.
            "remove_by_end_ns": utc_day_start_ns(flag.remove_by) + DAY_NS
            if flag.remove_by
            else None,
        }
        for flag in registry.flags
    }


def _matching(pattern: str, files: list[str]) -> list[str]:
    """Files a ``retired_code`` path or glob covers: the file itself, or all under a directory."""
    pattern = pattern.strip("/")
    return [
        f
        for f in files
        if fnmatch.fnmatchcase(f, pattern)
        or f.startswith(pattern + "/")
        or fnmatch.fnmatchcase(f, pattern + "/*")
    ]


def add_deadcode_facts(
    document: dict[str, Any],
    history: GitHistory,
    evidence: Evidence,
    deployed: dict[str, str],
    tips: list[str],
    flags_file: str,
    reference_exclude: list[str],
) -> None:
    """Add each deployment's ``registry``, ``references`` and ``retired_code``, the registry's
    ``flag_history`` and the ``registry_errors`` of versions that could not be read."""
    content = GitContent(history)
    registries = _Registries(content)
    versions = content.versions(flags_file, tips)
    paths = [flags_file, *sorted({v.path for v in versions} - {flags_file})]

    history_parsed = []
    for version in versions:
        if version.blob is None:
            continue
        data = content.blob(version.blob)
        if data is not None:
            parsed = registries.parse(version.blob, data, version.commit, version.path)
            history_parsed.append((version, parsed))

    at_commit: dict[str, tuple[str | None, FlagRegistry | None]] = {}
    for sha in sorted(set(deployed.values())):
        at_commit[sha] = (None, None)
        for candidate in paths:
            data = content.blob(f"{sha}:{candidate}")
            if data is not None:
                key = _blob_key(content, sha, candidate)
                at_commit[sha] = (candidate, registries.parse(key, data, sha, candidate))
                break

    candidates = {flag.name for _, r in history_parsed if r for flag in r.flags}
    candidates |= {flag.name for _, r in at_commit.values() if r for flag in r.flags}
    candidates |= {event.flag for event in evidence.flag_events}

    facts_by_commit: dict[str, dict[str, Any]] = {}
    for sha, (path, registry) in at_commit.items():
        flags = _flag_facts(registry)
        retired = {n for n, f in flags.items() if f["status"] == "retired"}
        words = sorted(retired | (candidates - flags.keys()))
        excludes = [*([path] if path else []), *reference_exclude]
        references = content.grep_words(sha, words, excludes)
        retired_code: list[dict[str, Any]] = []
        if registry is not None and registry.retired_code:
            files = content.tree(sha)
            for entry in registry.retired_code:
                matches = _matching(entry.path, files)
                retired_code.append(
                    {
                        "path": entry.path,
                        "reason": entry.reason,
                        "files": matches[:MAX_LISTED],
                        "count": len(matches),
                    }
                )
        facts_by_commit[sha] = {
            "registry": {
                "path": path,
                "readable": registry is not None or path is None,
                "flags": flags,
            },
            "references": {
                word: {"files": files[:MAX_LISTED], "count": len(files)}
                for word, files in references.items()
            },
            "retired_code": retired_code,
        }
    for entry in document["deployments"]:
        entry.update(facts_by_commit[deployed[entry["id"]]])

    document["flag_history"] = _flag_history(history, history_parsed)
    document["registry_errors"] = sorted(
        registries.errors.values(), key=lambda e: (e["commit"], e["path"])
    )


def _blob_key(content: GitContent, sha: str, path: str) -> str:
    """Registries are cached by blob, so a version parsed in history is not parsed again."""
    header = content.blob_id(f"{sha}:{path}")
    return header or f"{sha}:{path}"


def _flag_history(
    history: GitHistory, versions: list[tuple[Any, FlagRegistry | None]]
) -> dict[str, Any]:
    """Per flag: its purposes in order of first appearance, and the first revival, if any."""
    purposes: dict[str, list[dict[str, str]]] = {}
    retired_at: dict[str, list[str]] = {}
    active_at: dict[str, list[str]] = {}
    for version, registry in versions:
        if registry is None:
            continue
        for flag in registry.flags:
            stood = purposes.setdefault(flag.name, [])
            if all(p["purpose"] != flag.purpose for p in stood):
                stood.append(
                    {
                        "purpose": flag.purpose,
                        "commit": version.commit,
                        "short": version.commit[:SHORT],
                    }
                )
            (retired_at if flag.status == "retired" else active_at).setdefault(
                flag.name, []
            ).append(version.commit)
    result: dict[str, Any] = {}
    for name in sorted(purposes):
        entry: dict[str, Any] = {"purposes": purposes[name]}
        retired = set(retired_at.get(name, []))
        for commit in active_at.get(name, []) if retired else []:
            earlier = history.ancestors_among(commit, retired) - {commit}
            if earlier:
                first = next(c for c in retired_at[name] if c in earlier)
                entry["revived"] = {
                    "retired": first,
                    "retired_short": first[:SHORT],
                    "active": commit,
                    "active_short": commit[:SHORT],
                }
                break
        result[name] = entry
    return result
