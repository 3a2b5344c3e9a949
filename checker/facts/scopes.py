"""Path-scoped services: which commits of a deployment's range changed its service's files.

A deployment of a service that ``service_paths`` scopes ships the commits of its range (as
the contract defines it, the whole graph between the two deployed commits, no history
simplification) that changed a file its globs match. A commit counts when it changed such a
path against any of its parents: a merge counts when it differs in the service's files from
either side (bringing a branch's change in, or resolving a conflict there), and so do the
branch's own commits, each in the range on its own. A rename changes both of its names, so
moving a file into or out of the service's paths counts. Each commit's paths are read once,
in one ``git diff-tree`` over every commit any scoped range holds, however many deployments
share it; a commit git gives no paths for counts for every service (it fails closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from checker.errors import InputError
from checker.evidence.git import GitHistory
from checker.evidence.git_content import changed_paths, symbolic_links, tracked_paths
from checker.paths import PathScope
from checker.vocabulary import short


def check_globs_match(
    history: GitHistory,
    scopes: Mapping[str, PathScope],
    deployed: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Every glob of every scoped service matches a file of HEAD's tree and of the tree of
    each commit its deployments shipped (``deployed``: those commits, by service): a misspelt
    glob (``service/payments/**``) would match nothing there, and the service would ship
    nothing. A symbolic link among a scope's files is refused: the files it leads to change
    without any change to a path the globs match."""
    if not scopes:
        return
    head = history.head()
    trees: dict[str, tuple[list[str], set[str]]] = {}
    for name, scope in sorted(scopes.items()):
        for commit in sorted({head, *(deployed or {}).get(name, ())}):
            if commit not in trees:
                trees[commit] = tracked_paths(history, commit), symbolic_links(history, commit)
            files, links = trees[commit]
            where = "HEAD" if commit == head else "the deployed commit"
            unmatched = scope.unmatched(files)
            if unmatched:
                raise InputError(
                    f"service_paths: {name}: {unmatched[0]!r} matches no file at {where} "
                    f"({short(commit)}); a glob that matches nothing would leave the service's "
                    "deployments shipping nothing",
                    path=str(history.root),
                    hint="fix the glob (gitignore rules: 'services/payments/**'), or remove it",
                )
            _check_no_links(history, scope, commit, links)


def _check_no_links(history: GitHistory, scope: PathScope, commit: str, links: set[str]) -> None:
    """No file of the scope, nor a directory on the way to one, is a symbolic link."""
    for link in sorted(links):
        if scope(link) or any(scope(f"{link}/{p}") for p in ("x", "x/x")):
            raise InputError(
                f"service_paths: {scope.service}: {link!r} is a symbolic link in the "
                f"service's paths at {short(commit)}: the files it leads to can change with "
                "no change to the service's paths",
                path=str(history.root),
                hint="scope the files themselves, not a link to them",
            )


def narrow_ranges(
    history: GitHistory,
    ranges: dict[str, list[str]],
    scoped: Mapping[str, PathScope],
) -> dict[str, list[str]]:
    """``ranges`` (each deployment's shipped commits, by id) with each deployment of a scoped
    service (``scoped``: its scope, by deployment id) keeping only the commits that changed
    its files. Ranges that deployments share stay shared, per service."""
    wanted = {sha for i in scoped if i in ranges for sha in ranges[i]}
    if not wanted:
        return ranges
    # In the order git log read them (newest first), then any it did not.
    ordered = [sha for sha in history.commits if sha in wanted]
    ordered += sorted(wanted.difference(ordered))
    touched = _touched(changed_paths(history, ordered), scoped.values())
    narrowed = dict(ranges)
    shared: dict[tuple[int, str], list[str]] = {}
    for deployment_id, scope in sorted(scoped.items()):
        shas = ranges.get(deployment_id)
        if shas is None:
            continue
        key = (id(shas), scope.service)
        if key not in shared:
            shared[key] = [s for s in shas if _counts(touched.get(s), scope.service)]
        narrowed[deployment_id] = shared[key]
    return narrowed


def _counts(services: frozenset[str] | None, service: str) -> bool:
    """A commit counts for ``service`` when it changed one of its files, or when git gave no
    paths for it at all (``None``): what cannot be read is never left out."""
    return services is None or service in services


def _touched(paths: dict[str, set[str]], scopes: Iterable[PathScope]) -> dict[str, frozenset[str]]:
    """The scoped services whose files each commit changed; each distinct path is matched
    against the globs once, however many commits changed it."""
    unique = {scope.service: scope for scope in scopes}
    seen: dict[str, frozenset[str]] = {}
    touched: dict[str, frozenset[str]] = {}
    for sha, changed in paths.items():
        hit: set[str] = set()
        for path in changed:
            if path not in seen:
                seen[path] = frozenset(n for n, scope in unique.items() if scope(path))
            hit |= seen[path]
        touched[sha] = frozenset(hit)
    return touched
