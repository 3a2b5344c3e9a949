"""Dead-code facts: the flag registry at each deployed commit and over its whole history,
which flag names each deployed commit's code still mentions, and which retired code it holds.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.files import Located, parse_yaml, validate
from checker.evidence.git import GitHistory
from checker.evidence.git_content import FileVersion, GitContent, TreeIndex
from checker.evidence.models import FlagRegistry, utc_day_start_ns
from checker.vocabulary import short

DAY_NS = 86_400 * 1_000_000_000
MAX_LISTED = 10


@dataclass
class _Registries:
    """Parsed registry blobs, each parsed once, and the versions that could not be read."""

    content: GitContent
    parsed: dict[str, FlagRegistry | None] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def prefetch(self, key: str) -> None:
        """Parse ahead of ``parse``; a version that does not parse is left for ``parse``,
        which reports it at its commit and path."""
        if key not in self.parsed:
            data = self.content.blob(key)
            if data is not None:
                with contextlib.suppress(InputError):
                    self.parsed[key] = _registry(data, PurePosixPath(key))

    def parse(self, key: str, commit: str, path: str) -> bool:
        """Parse blob ``key`` unless it was; False when git cannot read it."""
        if key in self.parsed:
            return True
        data = self.content.blob(key)
        if data is None:
            return False
        registry: FlagRegistry | None = None
        where = PurePosixPath(f"{short(commit)}:{path}")
        try:
            registry = _registry(data, where)
        except InputError as exc:
            self.errors[key] = {
                "commit": commit,
                "short": short(commit),
                "path": path,
                "error": exc.message,
            }
        self.parsed[key] = registry
        return True


def _registry(data: bytes, where: PurePosixPath) -> FlagRegistry:
    """One version of the registry, or an input error naming ``where``."""
    document = parse_yaml(data, where)
    if document is None:
        # An emptied registry would retire nothing and list nothing: say so, do not read it
        # as a registry without flags (that is written flags: []).
        raise InputError(
            "the registry is empty; a registry without flags is written flags: []",
            path=str(where),
        )
    registry = validate(FlagRegistry, Located(document, 1), where, "registry")
    names = [flag.name for flag in registry.flags]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"flag {duplicates[0]!r} is listed twice", path=str(where))
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


def add_deadcode_facts(
    document: dict[str, Any],
    history: GitHistory,
    evidence: Evidence,
    deployed: dict[str, str],
    tips: list[str],
    flags_file: str,
    reference_exclude: list[str],
) -> None:
    """Add ``registries`` (each distinct registry version once), each judged deployment's
    ``registry`` key, ``references`` and ``retired_code``, the registry's ``flag_history``, and
    the ``registry_errors`` of versions that could not be read."""
    content = GitContent(history)
    registries = _Registries(content)

    def prefetch(version: FileVersion) -> None:
        if version.blob is not None:
            registries.prefetch(version.blob)

    # Each version is parsed as git finds it, while git goes on walking the history; the
    # oldest-first pass then only attributes the versions that do not parse.
    versions = content.versions(flags_file, tips, each=prefetch)
    _check_registry_path(history, flags_file, versions)
    paths = [flags_file, *sorted({v.path for v in versions} - {flags_file})]
    history_parsed = [
        (version, registries.parsed[version.blob])
        for version in versions
        if version.blob is not None and registries.parse(version.blob, version.commit, version.path)
    ]

    # First the registry at each deployed commit (trees only), then the words to look for:
    # only names that some deployed commit's registry retired or does not list.
    commits = sorted(set(deployed.values()))
    with TreeIndex(history) as trees:
        trees.load(commits)
        at_commit: dict[str, tuple[str | None, str | None]] = {}
        for sha in commits:
            at_commit[sha] = (None, None)
            for candidate in paths:
                blob = trees.lookup(sha, candidate)
                if blob is not None:
                    registries.parse(blob, sha, candidate)
                    at_commit[sha] = (candidate, blob)
                    break

        _registry_removed(history, at_commit, versions, flags_file, registries.errors)
        candidates = {flag.name for r in registries.parsed.values() if r for flag in r.flags}
        candidates |= {event.flag for event in evidence.flag_events}
        table: dict[str, dict[str, Any]] = {}
        for path, blob in set(at_commit.values()):
            table[blob or "none"] = _registry_facts(path, blob, registries.parsed.get(blob or ""))
        searched = set().union(
            *(set(r["retired"]) | (candidates - r["flags"].keys()) for r in table.values())
        )
        trees.search(searched)
        excluded = [_pathspec(glob) for glob in reference_exclude]

        facts_by_commit: dict[str, dict[str, Any]] = {}
        for sha, (path, blob) in at_commit.items():
            registry = registries.parsed.get(blob) if blob else None
            key = blob or "none"
            flags = table[key]["flags"]
            wanted = set(table[key]["retired"]) | (candidates - flags.keys())
            references = {
                word: files
                for word, found in trees.references(sha).items()
                if word in wanted
                and (files := [f for f in found if f != path and not any(x(f) for x in excluded)])
            }
            retired_code: list[dict[str, Any]] = []
            for entry in registry.retired_code if registry is not None else []:
                matches = trees.matching(sha, entry.path)
                retired_code.append(
                    {
                        "path": entry.path,
                        "reason": entry.reason,
                        "files": matches[:MAX_LISTED],
                        "count": len(matches),
                    }
                )
            facts_by_commit[sha] = {
                "registry": key,
                "references": {
                    word: {"files": files[:MAX_LISTED], "count": len(files)}
                    for word, files in references.items()
                },
                "retired_code": retired_code,
            }
    for entry in document["deployments"]:
        if entry["id"] in deployed:  # the deployments judged; the rest are dropped later
            entry.update(facts_by_commit[deployed[entry["id"]]])

    document["registries"] = table
    document["flag_history"] = _flag_history(history, history_parsed)
    # A flag once retired stays retired where a later registry no longer lists it: dropping a
    # retired flag from the registry must not make its lingering references pass.
    document["retired_in_history"] = sorted(
        {
            flag.name
            for _, registry in history_parsed
            if registry is not None
            for flag in registry.flags
            if flag.status == "retired"
        }
    )
    document["registry_errors"] = sorted(
        registries.errors.values(), key=lambda e: (e["commit"], e["path"])
    )


def _check_registry_path(history: GitHistory, flags_file: str, versions: list[FileVersion]) -> None:
    """The registry path names one file: a directory is an error, and so is a path in no
    commit when a file of a near name is in the repository (``flag.yaml`` for ``flags.yaml``):
    a misspelt path would leave every dead-code rule without its registry."""
    if any(v.path.startswith(flags_file.rstrip("/") + "/") for v in versions):
        raise InputError(
            f"the flag registry path {flags_file!r} is a directory; name the registry file",
            path=str(history.root),
        )
    if versions:
        return
    tracked = str(history.repo.git.ls_files()).splitlines()
    near = difflib.get_close_matches(flags_file, tracked, n=1, cutoff=0.8)
    if near:
        raise InputError(
            f"the flag registry {flags_file!r} is in no commit, but {near[0]!r} is in the "
            "repository: did you mean it?",
            path=str(history.root),
            hint="set flags_file to the registry's path",
        )


def _registry_removed(
    history: GitHistory,
    at_commit: dict[str, tuple[str | None, str | None]],
    versions: list[FileVersion],
    flags_file: str,
    errors: dict[str, dict[str, str]],
) -> None:
    """A deployed commit without the registry, though the registry is in its history, cannot
    be judged: deleting the registry does not retire its flags. Such a commit is reported as
    an unreadable registry (DEAD-006), like a version that does not parse."""
    written = [v.commit for v in reversed(versions) if v.blob is not None]  # newest first
    for sha, (path, _) in sorted(at_commit.items()):
        if path is not None or not written:
            continue
        if any(history.is_ancestor(commit, sha) for commit in written):
            errors[f"absent:{sha}"] = {
                "commit": sha,
                "short": short(sha),
                "path": flags_file,
                "error": "it is absent at this deployed commit, though earlier commits of its "
                "history have it; deleting the registry does not retire its flags (keep it, "
                "with flags: [] once every flag is gone)",
            }


def _registry_facts(
    path: str | None, blob: str | None, registry: FlagRegistry | None
) -> dict[str, Any]:
    """One registry version as the rules see it, with indexes of its retired and dated flags."""
    flags = _flag_facts(registry)
    return {
        "path": path,
        "readable": registry is not None or blob is None,
        "flags": flags,
        "retired": sorted(n for n, f in flags.items() if f["status"] == "retired"),
        "dated": sorted(n for n, f in flags.items() if f["remove_by"] is not None),
    }


def _pathspec(glob: str) -> Callable[[str], bool]:
    """A ``reference_exclude`` entry as git reads a ``:(glob)`` pathspec: ``*`` and ``?`` stay
    within one directory, ``**`` crosses them, and a plain path covers what lies below it."""
    if not any(c in glob for c in "*?["):
        plain = glob.strip("/")
        return lambda path: path == plain or path.startswith(plain + "/")
    out, index = "", 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif glob.startswith("**", index):
            out, index = out + ".*", index + 2
        elif glob[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif glob[index] == "?":
            out, index = out + "[^/]", index + 1
        elif glob[index] == "[" and "]" in glob[index + 1 :]:
            end = glob.index("]", index + 1)
            out, index = out + glob[index : end + 1], end + 1
        else:
            out, index = out + re.escape(glob[index]), index + 1
    pattern = re.compile(out + r"\Z")
    return lambda path: pattern.match(path) is not None


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
                        "short": short(version.commit),
                    }
                )
            (retired_at if flag.status == "retired" else active_at).setdefault(
                flag.name, []
            ).append(version.commit)
    # The versions are in topological order, ancestors first: a retired version can precede
    # an active one in history only if it comes earlier in the list. Usually none does (a flag
    # is active, then retired), and git is asked about the few pairs that remain.
    position = {version.commit: index for index, (version, _) in enumerate(versions)}
    result: dict[str, Any] = {}
    for name in sorted(purposes):
        entry: dict[str, Any] = {"purposes": purposes[name]}
        for commit in active_at.get(name, []):
            first = next(
                (
                    retired
                    for retired in retired_at.get(name, [])
                    if position[retired] < position[commit]
                    and retired != commit
                    and history.is_ancestor(retired, commit)
                ),
                None,
            )
            if first is not None:
                entry["revived"] = {
                    "retired": first,
                    "retired_short": short(first),
                    "active": commit,
                    "active_short": short(commit),
                }
                break
        result[name] = entry
    return result
