"""``retired_code`` entries that name no file: a misspelt entry retires nothing.

An entry covers the files it names (``git_content.covers``). One that named no file of any
tree in the history of a version listing it (``legacy/powerpg.py`` for ``legacy/powerpeg.py``,
a glob ``legacy/*.pyy``) covered nothing, so the code it was meant to retire shipped and
DEAD-004 passed. Such an entry is reported for the oldest version of the registry listing it,
as a version that cannot be read is (DEAD-006): the registry does not say what it means to.

An honest entry names code that was there. Most name a file of the commit of a version listing
them, or of its parent (listed as the code was deleted): those trees are read for the retired
code's content already (``RetiredCodeHistory.unnamed`` says which entries named none), and
nothing more is asked. A guard, listed years after its code was deleted so that the code never
comes back, named a file of an older tree: git walks the history of the versions listing the
entry, below the folder its path starts with, and stops at the first change to a file the
entry covers. That file is confirmed in the commit's own tree or its parent's, read hashed
(``TreeIndex``), before the entry counts as honest: an answer that lets the audit pass is
never git's word alone.

Each answer is kept in the cache by entry and version: the history of a commit never changes,
so a version that named no file still names none, and a new version of the registry listing
the entry is walked only for the commits its history adds (the versions known to name none
are excluded from the walk).
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.cache import NO_CACHE, FactCache
from checker.evidence.git import GitHistory
from checker.evidence.git_content import TreeIndex, covers
from checker.facts.document import RegistryError
from checker.facts.retired import held_around
from checker.vocabulary import short

NAMED = "retired-named"
"""Cache entries: whether a ``retired_code`` path covered a file of some tree in the history
of a version of the registry listing it, keyed by the path and the version's commit."""

_GLOB = frozenset("*?[\\")
"""Where an entry's literal start ends: a glob's characters, and a glob's escape."""


def misspelt(
    history: GitHistory,
    trees: TreeIndex,
    unnamed: Mapping[str, list[tuple[str, str]]],
    cache: FactCache = NO_CACHE,
) -> list[RegistryError]:
    """The versions of the registry listing an entry of ``unnamed`` (by path, the versions
    listing it, oldest first: their commits and the registry's paths) that named no file in
    their history: one error per version, the oldest listing each such entry, naming them."""
    never: dict[tuple[str, str], list[str]] = {}
    for path, listings in sorted(unnamed.items()):
        if not _named_before(history, trees, cache, path, [commit for commit, _ in listings]):
            never.setdefault(listings[0], []).append(path)
    return [
        RegistryError(commit=commit, short=short(commit), path=registry, error=_why(paths))
        for (commit, registry), paths in sorted(never.items())
    ]


HELD = "retired-held"
"""Cache entries: the last commit, in the history of the oldest version listing a
``retired_code`` path that covered no file of that version's commit or its parents, that
changed a file the path covers while its tree or its parent's held one (empty: none); keyed
by the path and that version's commit."""


def last_held(
    history: GitHistory,
    trees: TreeIndex,
    unnamed: Mapping[str, list[tuple[str, str]]],
    cache: FactCache = NO_CACHE,
) -> dict[str, str]:
    """By path of ``unnamed`` (entries covering no file where a version listing them was
    written, nor in its parents), the last commit of the oldest listing's history where the
    code it names was held: the commit that deleted or moved it (its parent held it), or last
    changed it. ``RetiredCodeHistory.content`` takes the retired code's content there: code
    moved in the commit before the one listing it (``git mv legacy/power_peg.py src/peg.py``,
    then ``legacy/power_peg.py`` listed) was never recognised at its new path, and DEAD-004
    passed. The commit is confirmed in the trees read hashed, as ``misspelt`` confirms one."""
    keys = {path: f"{path}\0{listings[0][0]}" for path, listings in unnamed.items()}
    known = cache.get(HELD, keys.values(), lambda value: isinstance(value, str))
    found: dict[str, str] = {}
    for path, listings in sorted(unnamed.items()):
        pattern = path.strip("/")
        holder = known.get(keys[path])
        if holder is None:
            holder = _last_change(history, trees, pattern, listings[0][0]) or ""
            cache.put(HELD, {keys[path]: holder})
        if holder and held_around(trees, holder, pattern):
            found[path] = holder
    return found


def _last_change(history: GitHistory, trees: TreeIndex, pattern: str, tip: str) -> str | None:
    """The newest commit of ``tip``'s history changing a file ``pattern`` covers, where that
    commit's tree or its parent's holds one."""
    for commit, _, changed in history.changes_below([tip], [], literal_folder(pattern)):
        if covers(pattern, changed) and held_around(trees, commit, pattern):
            return commit
    return None


def _why(paths: list[str]) -> str:
    entries = ", ".join(repr(path) for path in paths)
    which = f"entry {entries} names" if len(paths) == 1 else f"entries {entries} name"
    return (
        f"its retired_code {which} no file: no commit in the history of the versions listing "
        "it held one, so it retires nothing (a misspelt path?); write the path the retired "
        "code has, or had, in the repository"
    )


def _named_before(
    history: GitHistory, trees: TreeIndex, cache: FactCache, path: str, listings: list[str]
) -> bool:
    """Whether ``path`` covered a file of some tree in the history of one of ``listings``
    (commits of versions listing it, oldest first), from the cache where it knows."""
    keys = {commit: f"{path}\0{commit}" for commit in listings}
    known = cache.get(NAMED, keys.values(), lambda value: isinstance(value, bool))
    if any(known.values()):
        return True
    asked = [commit for commit in listings if keys[commit] not in known]
    if not asked:
        return False
    stops = [commit for commit in listings if keys[commit] in known]  # their history: none
    holder = _first_change(history, trees, path.strip("/"), asked, stops)
    if holder is None:
        cache.put(NAMED, {keys[commit]: False for commit in asked})
        return False
    if holder in keys:  # the version whose history holds it: git's word, checked below
        cache.put(NAMED, {keys[holder]: True})
    return True


def _first_change(
    history: GitHistory, trees: TreeIndex, pattern: str, tips: list[str], stops: list[str]
) -> str | None:
    """The first commit of the history of ``tips``, not of ``stops``, changing a file that
    ``pattern`` covers, where that commit's tree or its parent's holds one, and that commit
    is in the history of the tip git names for it: that tip; None without."""
    for commit, tip, changed in history.changes_below(tips, stops, literal_folder(pattern)):
        held = covers(pattern, changed) and held_around(trees, commit, pattern)
        if held and tip in tips and history.is_ancestor(commit, tip):
            return tip
    return None


def literal_folder(pattern: str) -> str:
    """Where every path ``pattern`` covers lies: the pattern itself, without a glob's
    characters; else the whole folders before the first of them (or before a letter outside
    ASCII, which git compares as written where ``covers`` ignores its case); "" for all
    (``**/peg.py``)."""
    cut = next((i for i, c in enumerate(pattern) if c in _GLOB or not c.isascii()), None)
    return pattern if cut is None else pattern[:cut].rpartition("/")[0]
