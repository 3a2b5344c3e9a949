"""Dead-code facts: the flag registry at each deployed commit and over its whole history,
which flag names each deployed commit's code still mentions, and which retired code it holds.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, TypedDict

import git

from checker.cache import NO_CACHE, FactCache
from checker.errors import InputError
from checker.evidence.bundle import Evidence
from checker.evidence.endings import Ended, Told, compared, ending, places, told
from checker.evidence.files import Located, parse_yaml, validate
from checker.evidence.flagnames import flag_key, flag_words, shown, spellings
from checker.evidence.git import GitHistory
from checker.evidence.git_content import (
    GIT_CRYPT,
    LFS_POINTER,
    UNPACKED_IN_PART,
    FileVersion,
    GitContent,
    TreeIndex,
    begin_versions,
    wildmatch_bracket,
)
from checker.evidence.models import Flag as FlagRecord
from checker.evidence.models import FlagRegistry, utc_day_start_ns
from checker.evidence.objectcheck import FSCK_HINT
from checker.evidence.registry_names import readings
from checker.evidence.shared import SharedEntries
from checker.evidence.yamlversions import VersionParser
from checker.facts.copied import copied_out
from checker.facts.document import (
    Deadline,
    Flag,
    FlagHistory,
    Purpose,
    Reference,
    Registry,
    RegistryError,
    RetiredCode,
    Revival,
    Spelling,
)
from checker.facts.misspelt import last_held, misspelt
from checker.facts.onto import Merged, Onto, branch_retired, merge_onto, merged
from checker.facts.renamed import CodeReads, Rename, renames
from checker.facts.retired import MAX_LISTED, RetiredCodeHistory
from checker.paths import PathScope
from checker.vocabulary import short

DAY_NS = 86_400 * 1_000_000_000


@dataclass
class _Registries:
    """Parsed registry blobs, each parsed once, and the versions that could not be read."""

    content: GitContent
    cache: FactCache = NO_CACHE
    parsed: dict[str, FlagRegistry | None] = field(default_factory=dict)
    errors: dict[str, RegistryError] = field(default_factory=dict)
    flags: SharedEntries[FlagRecord] = field(default_factory=lambda: SharedEntries(by_object=True))
    """Each distinct flag entry, validated once across the versions."""
    reader: VersionParser = field(default_factory=lambda: VersionParser("flags"))
    """Each distinct flag entry's text, parsed once across the versions."""
    merged: dict[str, Merged] = field(default_factory=dict)
    """At a merge gate, the candidate's registry with the protected branch's retirements,
    under a key of its own (in ``parsed`` too: ``_merge``)."""

    def prefetch(self, key: str) -> None:
        """Parse ahead of ``parse``; a version that does not parse is left for ``parse``,
        which reports it at its commit and path."""
        if key not in self.parsed:
            data = self.content.blob(key)
            if data is not None:
                with contextlib.suppress(InputError):
                    self.parsed[key] = _registry(data, PurePosixPath(key), self.flags, self.reader)

    def parse(self, key: str, commit: str, path: str) -> None:
        """Parse blob ``key`` unless it was. A blob that git cannot read (missing from the
        object store, or damaged) is an input error: read as no registry, it would drop the
        version that retired a flag, and with it the findings of its revival."""
        if key not in self.parsed:
            self._parse(key, commit, path)
        registry = self.parsed[key]
        contradiction = _contradiction(registry) if registry is not None else None
        if contradiction is not None and key not in self.errors:
            self.errors[key] = RegistryError(
                commit=commit, short=short(commit), path=path, error=contradiction
            )

    def _parse(self, key: str, commit: str, path: str) -> None:
        data = self.content.blob(key)
        if data is None:
            raise InputError(
                f"the flag registry {path} at {short(commit)} (git object {key}) cannot be read: "
                "the repository is incomplete or damaged, so its history cannot be trusted",
                path=str(self.content.root),
                hint=FSCK_HINT,
            )
        registry: FlagRegistry | None = None
        where = PurePosixPath(f"{short(commit)}:{path}")
        try:
            registry = _registry(data, where, self.flags, self.reader)
        except InputError as exc:
            self.errors[key] = RegistryError(
                commit=commit, short=short(commit), path=path, error=exc.message
            )
        self.parsed[key] = registry


# The registry's versions are not kept across runs: each is parsed from its blob in pieces
# (``VersionParser``) faster than a cached copy of it is read and validated again.


def _registry(
    data: bytes,
    where: PurePosixPath,
    known: SharedEntries[FlagRecord],
    reader: VersionParser,
) -> FlagRegistry:
    """One version of the registry, or an input error naming ``where``. A flag entry seen
    valid in another version (``known``) is not validated again, nor is an entry's text
    parsed again (``reader``): two hundred versions of a registry differ in a few entries."""
    try:
        return _validated_registry(reader.parse(data, where), where, known)
    except InputError:
        # An entry shared with an earlier version keeps that version's lines: the error is
        # found again on the version parsed whole, at its own line.
        return _validated_registry(parse_yaml(data, where), where, known)


def _contradiction(registry: FlagRegistry) -> str | None:
    """What a registry that parses says against itself: an ``active`` flag with a
    ``retired_at`` date both is and is not retired. Read as active, the code still reading it
    passed; the version is read as written (a status flipped back to active is still DEAD-002)
    and is also a DEAD-006 finding."""
    for flag in registry.flags:
        if flag.status == "active" and flag.retired_at is not None:
            return (
                f"flag {flag.name!r} is active but has retired_at {flag.retired_at}: a retired "
                "flag's status is 'retired'"
            )
    return None


def _validated_registry(
    document: Any, where: PurePosixPath, known: SharedEntries[FlagRecord]
) -> FlagRegistry:
    if document is None:
        # An emptied registry would retire nothing and list nothing: say so, do not read it
        # as a registry without flags (that is written flags: []).
        raise InputError(
            "the registry is empty; a registry without flags is written flags: []",
            path=str(where),
        )
    fresh = known.swap(document.get("flags") if isinstance(document, dict) else None)
    registry = validate(FlagRegistry, Located(document, 1), where, "registry")
    known.learn(registry.flags, fresh)
    twice = _listed_twice([flag.name for flag in registry.flags])
    if twice is not None:
        raise InputError(twice, path=str(where))
    return registry


def _listed_twice(names: list[str]) -> str | None:
    """What a registry listing one flag twice says: a second spelling of one name
    (``POWER_PEG`` beside ``power_peg``, ``flagnames.flag_key``) is that flag again."""
    first: dict[str, str] = {}
    for name in names:
        seen = first.get(flag_key(name))
        if seen is not None:
            also = "" if seen == name else f" (as {seen!r} and as {name!r})"
            return f"flag {name!r} is listed twice{also}"
        first[flag_key(name)] = name
    return None


def _flag_facts(registry: FlagRegistry | None) -> dict[str, Flag]:
    if registry is None:
        return {}
    return {
        flag.name: Flag(
            status=flag.status,
            purpose=flag.purpose,
            owner=flag.owner,
            remove_by=flag.remove_by.isoformat() if flag.remove_by else None,
            # "Past remove_by" starts when the remove_by day (UTC) is over.
            remove_by_end_ns=(
                utc_day_start_ns(flag.remove_by) + DAY_NS if flag.remove_by else None
            ),
        )
        for flag in registry.flags
    }


@dataclass(frozen=True)
class CodeAtCommit:
    """A deployed commit's part of its deployment's record."""

    registry: str
    """The key of its registry version in ``registries`` (``none`` without one)."""
    references: dict[str, Reference]
    retired_code: list[RetiredCode]
    lfs_pointers: Reference | None = None
    """The files searched for references (the same files, but for the registry and
    ``reference_exclude``) that are Git LFS pointers: their content is not in the repository,
    so it was not searched. Not part of the input document: the report says the rules that
    search file content were judged without it."""
    encrypted: Reference | None = None
    """The files searched for references that git-crypt encrypted: their code is not in the
    repository in a form that can be searched, and the report says so, as for ``lfs_pointers``."""
    unpacked_in_part: dict[str, Reference] = field(default_factory=dict)
    """By reason (``archives.REASONS``), the compressed files searched for references that
    could not be unpacked whole: what they hold was searched only in part, as the report says."""
    every_file: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """Every file of a reference (``("flag", NAME)``) or of a retired code entry
    (``("retired", PATH)``) whose record lists only the first ``MAX_LISTED``: not part of the
    input document, which lists the files for messages, but who wrote each of them is asked
    (``codewriters``)."""


@dataclass(frozen=True)
class DeadCodeFacts:
    """The registries' part of the input document."""

    at_commit: dict[str, CodeAtCommit]
    """By deployed commit."""
    registries: dict[str, Registry]
    flag_history: dict[str, FlagHistory]
    retired_in_history: list[str]
    registry_errors: list[RegistryError]
    at_deployment: dict[str, CodeAtCommit] = field(default_factory=dict)
    """By deployment id, for the deployments of path-scoped services: their commit's part
    with references looked for in the service's files alone."""
    retired_running: dict[str, frozenset[str]] = field(default_factory=dict)
    """By commit running where a flag was switched on: the keys (``flagnames.flag_key``) of
    the flags retired there, as DEAD-001 reads a deployed commit's (listed retired, or not
    listed and retired in some version)."""
    unreadable_running: dict[str, str] = field(default_factory=dict)
    """By commit running where a flag was switched on whose registry cannot be read (it does
    not parse, or contradicts itself): ``PATH: ERROR``, as DEAD-006 says it."""
    deadlines: dict[str, dict[str, Deadline]] = field(default_factory=dict)
    """By deployed commit, where there are any: ``Deployment.earlier_remove_by``."""
    dated_owners: dict[str, frozenset[str]] = field(default_factory=dict)
    """By flag key (``flagnames.flag_key``), every ``owner`` a version of the registry gave
    the flag from the first version that gave it a ``remove_by`` (``_dated_owners``)."""
    renamed_by: dict[str, frozenset[str]] = field(default_factory=dict)
    """By flag key of a flag renamed in the code, the commits that renamed reads of its old
    name into it but the one the finding names (``renamed.Rename.partly``)."""
    reference_exclude: tuple[str, ...] = ()
    """The ``reference_exclude`` globs: their files' mentions of a flag are no reads of it."""
    created: dict[str, date] = field(default_factory=dict)
    """By flag name, the earliest ``created`` day a version of the registry gives it: no flag
    event switches it before (``checker.facts.revisions.check_switched_after_created``)."""

    @property
    def flag_names(self) -> set[str]:
        """Every flag any version of the registry read for this run lists."""
        names = set(self.flag_history)
        for registry in self.registries.values():
            names.update(registry["flags"])
        return names


RegistryAt = tuple[str | None, str | None]
"""Where a deployed commit's registry is: its path and blob, or (None, None)."""


def deadcode_facts(
    history: GitHistory,
    evidence: Evidence,
    deployed: dict[str, str],
    tips: list[str],
    flags_file: str,
    reference_exclude: list[str],
    scoped: Mapping[str, PathScope] | None = None,
    cache: FactCache = NO_CACHE,
    running: Collection[str] = (),
    merging: tuple[str, str] | None = None,
) -> DeadCodeFacts:
    """The registry at each deployed commit (``deployed``: by judged deployment) and over its
    history, the flag names each deployed commit's code mentions, its retired code, the
    versions that could not be read; each path-scoped deployment's (``scoped``) references in
    its service's files alone; the flags retired at each commit of ``running``; at a merge
    gate (``merging``: candidate, branch tip), the branch's retirements (``facts.onto``)."""
    registries = _Registries(GitContent(history), cache)
    versions, parsed = registry_history(history, registries, flags_file, tips)
    retired = RetiredCodeHistory(history, parsed, onto := merge_onto(history, merging))
    paths = [flags_file, *sorted({v.path for v in versions} - {flags_file})]
    commits = sorted(set(deployed.values()))
    with TreeIndex(history, cache) as trees:
        trees.load(sorted({*commits, *running}))
        at_commit = {sha: registry_at(trees, registries, sha, paths) for sha in commits}
        running_code = _retired_running(trees, (registries, paths, at_commit), running, parsed)
        revived = _merge(history, trees, registries, (paths, at_commit, parsed), onto)
        excluded = [pathspec(glob) for glob in reference_exclude]
        read = (parsed, _renames(history, trees, (registries, paths, parsed), tips, excluded))
        table = _registry_table(history, registries, at_commit, (versions, flags_file))
        by_registry, searched = searched_words(table, flag_names(registries, evidence))
        trees.search(searched, *_retired_content(history, trees, retired, registries, cache))
        words = {sha: by_registry[where[1] or "none"] for sha, where in at_commit.items()}
        shared: SharedReferences = {}
        code = {
            sha: code_at(trees, (registries, retired), sha, where, words[sha], excluded, shared)
            for sha, where in at_commit.items()
        }
        by_scope = _scoped_code(
            trees, (registries, retired), at_commit, words, excluded, deployed, scoped or {}, shared
        )
    return DeadCodeFacts(
        at_deployment=by_scope,
        at_commit=code,
        reference_exclude=tuple(reference_exclude),
        registries=table,
        **_history_facts(history, read, revived, (registries, at_commit, _referenced(code))),
        **running_code,
        registry_errors=sorted(registries.errors.values(), key=lambda e: (e["commit"], e["path"])),
    )


def _created(parsed: list[tuple[FileVersion, FlagRegistry | None]]) -> dict[str, date]:
    """By flag name, the earliest ``created`` day any readable version of the registry gives
    it (an entry shared by versions is looked at once)."""
    created: dict[str, date] = {}
    seen: set[int] = set()
    for _, registry in parsed:
        for flag in registry.flags if registry is not None else ():
            if id(flag) in seen:
                continue
            seen.add(id(flag))
            if flag.name not in created or flag.created < created[flag.name]:
                created[flag.name] = flag.created
    return created


class _HistoryFacts(TypedDict):
    """``DeadCodeFacts``' part read from the registry's whole history."""

    flag_history: dict[str, FlagHistory]
    retired_in_history: list[str]
    deadlines: dict[str, dict[str, Deadline]]
    dated_owners: dict[str, frozenset[str]]
    renamed_by: dict[str, frozenset[str]]
    created: dict[str, date]


def _history_facts(
    history: GitHistory,
    read: tuple[list[tuple[FileVersion, FlagRegistry | None]], list[Rename]],
    revived: dict[str, Revival],
    deployed: tuple[_Registries, dict[str, RegistryAt], dict[str, set[str]]],
) -> _HistoryFacts:
    """Each flag's history (with a merge gate's revivals, ``revived``), the flags ever
    retired, the deadlines the registry moved at each deployed commit (``deployed``), the
    owners of each flag since it was given a date (``read``: the versions, and the flags they
    renamed, which keep the old name's dates and owners), and each flag's ``created`` day."""
    parsed, renamed = read
    return _HistoryFacts(
        flag_history=_revived_onto(_flag_history(history, parsed), revived),
        retired_in_history=_retired_in_history(parsed),
        deadlines=_deadlines(history, (parsed, renamed), *deployed),
        dated_owners=_dated_owners(parsed, renamed),
        renamed_by=_renamed_by(renamed),
        created=_created(parsed),
    )


def _renamed_by(renamed: list[Rename]) -> dict[str, frozenset[str]]:
    """By flag key of a new name, the commits that renamed reads of an old name into it, but
    the one a finding names (``Rename.partly``)."""
    found: dict[str, set[str]] = defaultdict(set)
    for rename in renamed:
        found[flag_key(rename.new)].update(rename.partly)
    return {key: frozenset(commits) for key, commits in found.items() if commits}


def _dated_owners(
    parsed: list[tuple[FileVersion, FlagRegistry | None]], renamed: list[Rename]
) -> dict[str, frozenset[str]]:
    """By flag key, each ``owner`` the versions of the registry (``parsed``, ancestors first)
    gave the flag from the first one that gave it a ``remove_by`` on: whoever was to remove it
    by then. Only the deployed registry's owner was barred from waiving DEAD-003, so an owner
    who handed the flag to a team name before the deployment waived its finding. A flag
    ``renamed`` has its old name's owners too."""
    owners: dict[str, set[str]] = {}
    for _, registry in parsed:
        for flag in registry.flags if registry is not None else []:
            key = flag_key(flag.name)
            if key in owners or flag.remove_by is not None:
                owners.setdefault(key, set()).add(flag.owner)
    for rename in renamed:
        old = owners.get(flag_key(rename.old), set())
        owners.setdefault(flag_key(rename.new), set()).update(old)
    return {key: frozenset(names) for key, names in owners.items() if names}


def _renames(
    history: GitHistory,
    trees: TreeIndex,
    read: tuple[_Registries, list[str], list[tuple[FileVersion, FlagRegistry | None]]],
    tips: list[str],
    excluded: list[Callable[[str], bool]],
) -> list[Rename]:
    """``renamed.renames`` of the registry's versions, in the registry and in the code of the
    history of ``tips`` (a read in a file of ``reference_exclude``, ``excluded``, is none)."""
    registries, paths, parsed = read
    at = _parsed_at(trees, registries, paths)
    code = CodeReads(at, tips, lambda path: any(x(path) for x in excluded))
    return renames(history, trees, parsed, at, code)


def _parsed_at(
    trees: TreeIndex, registries: _Registries, paths: list[str]
) -> Callable[[str], tuple[str | None, FlagRegistry | None]]:
    """The registry at a commit, as ``renamed.renames`` asks for a version's parents'."""

    def at(sha: str) -> tuple[str | None, FlagRegistry | None]:
        path, blob = registry_at(trees, registries, sha, paths)
        return path, registries.parsed.get(blob or "")

    return at


Recorded = dict[str, list[tuple[date | None, int]]]
"""By flag key, the ``remove_by`` each version of the registry listing it gave it (None: none),
with that version's index among the parsed versions (ancestors first)."""

Dated = tuple[date, int, str | None, str | None]
"""A ``remove_by`` recorded for a flag: the date, the index of the version that gave it, and,
where the flag had another name then, the commit that renamed it (a version of the registry,
or a commit that renamed the code's reads of it) and that name (``renamed.Rename``)."""
Known = tuple[list[tuple[FileVersion, FlagRegistry | None]], Recorded]


def _deadlines(
    history: GitHistory,
    read: tuple[list[tuple[FileVersion, FlagRegistry | None]], list[Rename]],
    registries: _Registries,
    at_commit: dict[str, RegistryAt],
    referenced: dict[str, set[str]],
) -> dict[str, dict[str, Deadline]]:
    """By deployed commit, ``Deployment.earlier_remove_by``: for each active flag of its
    registry, the earliest ``remove_by`` a version of the registry in its history recorded,
    where its registry gives a later one or none; and for each flag its code references
    (``referenced``) that its registry no longer lists and that no version retired, the
    earliest such date. A deadline moved later in the registry, dropped from it, or dropped
    with the flag's entry while the code still uses the flag, held DEAD-003 off: the day a
    flag was to be gone by stands, and an extension is a waiver, on record with its reason and
    expiry. A flag renamed (``read``: the versions, and the renames among them) keeps the
    dates its old name had."""
    parsed, renamed = read
    recorded: Recorded = defaultdict(list)
    retired: set[str] = set()
    for index, (_, registry) in enumerate(parsed):
        for flag in registry.flags if registry is not None else []:
            recorded[flag_key(flag.name)].append((flag.remove_by, index))
            retired |= {flag_key(flag.name)} if flag.status == "retired" else set()
    dated = any(day is not None for dates in recorded.values() for day, _ in dates)
    carried = _carried(recorded, renamed)
    out = {}
    for sha, (_, blob) in sorted(at_commit.items()) if dated else ():
        registry = registries.parsed.get(blob or "")
        dropped = _dropped(registry, referenced.get(sha, set()), retired)
        found = _earlier_dates(history, (parsed, recorded), (registry, dropped, carried), sha)
        if found:
            out[sha] = found
    return out


def _carried(recorded: Recorded, renamed: list[Rename]) -> dict[str, list[Dated]]:
    """By flag key, the dates the flag's old names had before a version renamed it (each
    rename's own and those its old name carried), with that version: a flag renamed past its
    ``remove_by`` (``promo`` dropped, ``promo_banner`` added with a later date or none) shipped
    under its new name with no finding."""
    carried: dict[str, list[Dated]] = defaultdict(list)
    for rename in renamed:
        old, at = flag_key(rename.old), rename.index
        own = [(d, i, rename.commit, rename.old) for d, i in recorded.get(old, []) if d and i < at]
        further = [(d, i, rename.commit, name) for d, i, _, name in carried.get(old, [])]
        carried[flag_key(rename.new)] += [*own, *further]
    return carried


def _earlier_dates(
    history: GitHistory,
    known: Known,
    listing: tuple[FlagRegistry | None, list[str], dict[str, list[Dated]]],
    sha: str,
) -> dict[str, Deadline]:
    """``_deadlines`` for one deployed commit ``sha``, its registry, the flags its code
    references that the registry dropped, and the dates renamed flags carry (``listing``):
    git is asked which versions are in its history only where a flag has an earlier date
    somewhere. A date a flag carries from its old name counts where the version that gave it
    and the one that renamed the flag are both in that history."""
    parsed, recorded = known
    registry, dropped, carried = listing
    wanted = _wanted_dates(registry, recorded, carried)
    for name in dropped:
        dates = _dates(recorded, carried, name)
        if dates:
            wanted[name] = (None, dates)
    every = [e for _, earlier in wanted.values() for e in earlier]
    asked = {parsed[i][0].commit for _, i, _, _ in every} | {c for _, _, c, _ in every if c}
    inside = history.in_history_of(asked, sha) if asked else set()

    def held(commit: str | None) -> bool:
        return commit is None or commit in inside

    out = {}
    for name, (now, earlier) in wanted.items():
        first = next((e for e in earlier if held(parsed[e[1]][0].commit) and held(e[2])), None)
        if first is not None:
            out[name] = _deadline(history, known, (name, now, first), sha)
    return out


def _deadline(
    history: GitHistory, known: Known, found: tuple[str, date | None, Dated], sha: str
) -> Deadline:
    """The ``Deadline`` of flag ``name`` at ``sha`` (``found``: its name, its registry's own
    date, and the earliest date recorded): moved by the version after the one that gave it
    that gave another date, dropped it, or renamed the flag."""
    parsed = known[0]
    name, now, (day, index, renamed_at, old) = found
    if renamed_at is not None:
        moved: str | None = renamed_at
    else:
        moved = _moved_at(history, known, (flag_key(name), (day, index)), sha)
    deadline = Deadline(
        remove_by=day.isoformat(),
        remove_by_end_ns=utc_day_start_ns(day) + DAY_NS,
        short=short(parsed[index][0].commit),
        now=now.isoformat() if now is not None else None,
        moved_at=moved,
        moved_short=short(moved) if moved is not None else None,
    )
    return Deadline(**deadline, renamed_from=old) if old is not None else deadline


def _dates(recorded: Recorded, carried: dict[str, list[Dated]], name: str) -> list[Dated]:
    """The dates recorded for flag ``name``, its own and those its old names carried,
    earliest first."""
    own: list[Dated] = [(d, i, None, None) for d, i in recorded.get(flag_key(name), []) if d]
    return sorted([*own, *carried.get(flag_key(name), [])], key=lambda e: (e[0], e[1]))


def _referenced(code: Mapping[str, CodeAtCommit]) -> dict[str, set[str]]:
    """The flag names each deployed commit's code references."""
    return {sha: set(at.references) for sha, at in code.items()}


def _dropped(registry: FlagRegistry | None, referenced: set[str], retired: set[str]) -> list[str]:
    """The flags of ``referenced`` that a readable ``registry`` does not list under any
    spelling, and that no version retired (DEAD-001's, once dropped): still in use, with no
    entry to say so."""
    if registry is None:
        return []
    listed = {flag_key(flag.name) for flag in registry.flags}
    return sorted(n for n in referenced if flag_key(n) not in listed | retired)


def _wanted_dates(
    registry: FlagRegistry | None, recorded: Recorded, carried: dict[str, list[Dated]]
) -> dict[str, tuple[date | None, list[Dated]]]:
    """By active flag of ``registry``, its own ``remove_by`` and the earlier dates versions
    recorded for it (``recorded``) or for its old names (``carried``), earliest first; the
    flags without any are left out."""
    wanted = {}
    for flag in registry.flags if registry is not None else []:
        now = flag.remove_by
        dates = _dates(recorded, carried, flag.name) if flag.status == "active" else []
        earlier = [e for e in dates if now is None or e[0] < now]
        if earlier:
            wanted[flag.name] = (now, earlier)
    return wanted


def _moved_at(
    history: GitHistory,
    known: Known,
    flag: tuple[str, tuple[date, int]],
    sha: str,
) -> str | None:
    """The commit of the first version after the one that recorded the date (``flag``: its
    key, the date and that version's index), in the history of ``sha`` and descending from it,
    that gives the flag another date or none, or that no longer lists the flag: who moved the
    deadline, or dropped it with the flag's entry."""
    (parsed, recorded), (key, (day, index)) = known, flag
    since = parsed[index][0].commit
    gave = {i: d for d, i in recorded[key]}
    later = [
        parsed[i][0].commit
        for i in range(index + 1, len(parsed))
        if (gave[i] != day if i in gave else parsed[i][1] is not None)
    ]
    inside = history.in_history_of(later, sha) if later else set()
    return next((c for c in later if c in inside and history.is_ancestor(since, c)), None)


def _retired_content(
    history: GitHistory,
    trees: TreeIndex,
    retired: RetiredCodeHistory,
    registries: _Registries,
    cache: FactCache,
) -> tuple[set[str], dict[str, set[str]]]:
    """The retired code's content (``RetiredCodeHistory.content``), and the names it had
    (``RetiredCodeHistory.names``), learnt where each entry
    covered files when a version listed it, or, for one that covered none there, where its
    code was last held before (``misspelt.last_held``); and the versions with an entry that
    named no file anywhere in their history added to ``registries``' errors (DEAD-006)."""
    unnamed = retired.unnamed(trees)
    held = last_held(history, trees, unnamed, cache)
    unheld = {path: listed for path, listed in unnamed.items() if path not in held}
    _add_errors(registries.errors, misspelt(history, trees, unheld, cache))
    copied = copied_out(history, trees, retired.first_listed(skip=unnamed), cache)
    content = retired.content(trees, held, copied)
    trees.load(retired.learnt_in())  # searched too: what live code there was alike to it
    return content, retired.names()


def _add_errors(errors: dict[str, RegistryError], found: list[RegistryError]) -> None:
    """Add ``found`` (versions whose ``retired_code`` entries name no file) to ``errors``,
    joined to the error of the same version and path where there is one: one DEAD-006
    finding per subject."""
    for error in found:
        where = (error["commit"], error["path"])
        same = next((k for k, e in errors.items() if (e["commit"], e["path"]) == where), None)
        if same is None:
            errors[f"misspelt:{error['commit']}:{error['path']}"] = error
        else:
            joined = f"{errors[same]['error']}; and {error['error']}"
            errors[same] = RegistryError(**{**errors[same], "error": joined})


def _registry_table(
    history: GitHistory,
    registries: _Registries,
    at_commit: dict[str, RegistryAt],
    walked: tuple[list[FileVersion], str],
) -> dict[str, Registry]:
    """Each distinct registry version of the deployed commits, as the rules see it, by blob
    (``none`` for the commits without one); a deployed commit the registry was deleted from,
    though its history (``walked``: the versions, and the configured path) has it, is an
    unreadable registry."""
    versions, flags_file = walked
    _registry_removed(history, at_commit, versions, flags_file, registries.errors)
    return {
        blob or "none": _registry_facts(path, blob, registries.parsed.get(blob or ""))
        for path, blob in set(at_commit.values())
    }


def _scoped_code(
    trees: TreeIndex,
    registries: tuple[_Registries, RetiredCodeHistory],
    at_commit: dict[str, RegistryAt],
    words: dict[str, Searched],
    excluded: list[Callable[[str], bool]],
    deployed: dict[str, str],
    scoped: Mapping[str, PathScope],
    shared: SharedReferences,
) -> dict[str, CodeAtCommit]:
    """Each scoped deployment's code: its commit's, with every file outside its service's
    paths left out of the references; once per commit and service."""
    found: dict[tuple[str, str], CodeAtCommit] = {}
    by_deployment: dict[str, CodeAtCommit] = {}
    for deployment_id, scope in sorted(scoped.items()):
        sha = deployed[deployment_id]
        key = (sha, scope.service)
        if key not in found:
            outside = [*excluded, _outside(scope)]
            found[key] = code_at(
                trees, registries, sha, at_commit[sha], words[sha], outside, shared
            )
        by_deployment[deployment_id] = found[key]
    return by_deployment


def _outside(scope: PathScope) -> Callable[[str], bool]:
    return lambda path: not scope(path)


def code_at(
    trees: TreeIndex,
    registries: tuple[_Registries, RetiredCodeHistory],
    sha: str,
    where: RegistryAt,
    wanted: Searched,
    excluded: list[Callable[[str], bool]],
    shared: SharedReferences,
) -> CodeAtCommit:
    """A deployed commit's registry key, references, retired code (its registry's entries
    and those of the earlier versions in its history: ``registries``' second part) and the
    files searched for references that are Git LFS pointers, git-crypt's, or compressed files
    not searched whole."""
    path, blob = where
    parsed, retired = registries
    view = parsed.merged.get(blob or "")
    kept = view.keeps(trees, wanted.get) if view is not None else None
    found, every = references_for(trees, sha, path, wanted, excluded, shared, kept)
    pointers = found.pop(LFS_POINTER, None)
    encrypted = found.pop(GIT_CRYPT, None)
    in_part = {r: found.pop(m) for r, m in UNPACKED_IN_PART.items() if m in found}
    retired_code, every_retired = retired.code_at(trees, sha, parsed.parsed.get(blob or ""))
    return CodeAtCommit(
        registry=blob or "none",
        references=found,
        retired_code=retired_code,
        lfs_pointers=pointers,
        encrypted=encrypted,
        unpacked_in_part=in_part,
        every_file={
            **{("flag", name): files for name, files in every.items() if name in found},
            **{("retired", entry): files for entry, files in every_retired.items()},
        },
    )


class _RunningCode(TypedDict):
    """``DeadCodeFacts``' part for the code running where flags were switched on."""

    retired_running: dict[str, frozenset[str]]
    unreadable_running: dict[str, str]


def _retired_running(
    trees: TreeIndex,
    registry: tuple[_Registries, list[str], dict[str, RegistryAt]],
    running: Collection[str],
    parsed: list[tuple[FileVersion, FlagRegistry | None]],
) -> _RunningCode:
    """The keys (``flagnames.flag_key``) of the flags retired at each commit of ``running``
    (``registry``: the parsed versions, the registry's paths, and where each deployed commit
    holds it, as most running commits are), as ``retired_at`` in the rules reads them: listed
    retired, or not listed and retired in some version of the history (``parsed``); and, with
    why, each of them whose registry cannot be read. By key: a flag event's ``POWER-PEG``
    switches the ``power_peg`` a registry retired, and a registry that respelled a retired flag
    still lists it."""
    registries, paths, deployed = registry
    retired_ever = {flag_key(name) for name in _retired_in_history(parsed)} if running else set()
    out = {}
    unreadable = {}
    by_blob: dict[str | None, frozenset[str]] = {}  # hundreds of commits, a few versions
    for sha in sorted(running):
        path, blob = deployed.get(sha) or registry_at(trees, registries, sha, paths)
        if blob not in by_blob:
            version = registries.parsed.get(blob or "")
            listed = {flag_key(f.name): f.status for f in (version.flags if version else [])}
            retired = {key for key, status in listed.items() if status == "retired"}
            by_blob[blob] = frozenset(retired | (retired_ever - listed.keys()))
        out[sha] = by_blob[blob]
        # Read as no registry, it would retire only what other versions retired: the one
        # version the running code holds may be the only one that retires the flag.
        if blob is not None and blob in registries.errors:
            unreadable[sha] = f"{path}: {registries.errors[blob]['error']}"
    return _RunningCode(retired_running=out, unreadable_running=unreadable)


def _retired_in_history(parsed: list[tuple[FileVersion, FlagRegistry | None]]) -> list[str]:
    """A flag once retired stays retired where a later registry no longer lists it: dropping
    a retired flag from the registry must not make its references pass."""
    return sorted(
        {f.name for _, r in parsed if r is not None for f in r.flags if f.status == "retired"}
    )


def _merge(
    history: GitHistory,
    trees: TreeIndex,
    registries: _Registries,
    where: tuple[list[str], dict[str, RegistryAt], list[tuple[FileVersion, FlagRegistry | None]]],
    onto: Onto | None,
) -> dict[str, Revival]:
    """At a merge gate (``onto``), the candidate's registry with the protected branch's
    retirements (``checker.facts.onto.merged``), where they change it, under a key of its own in
    ``registries`` and in ``at_commit`` (``where``: the registry's paths, where each deployed
    commit has it, and its parsed versions); by key, the retired flags the candidate's own
    entries write active again. A candidate without a readable registry is left as it is: it
    is judged unreadable (DEAD-006), or without a registry, where every flag retired in some
    version counts."""
    paths, at_commit, parsed = where
    if onto is None:
        return {}
    path, blob = at_commit[onto.candidate]
    mine = registries.parsed.get(blob or "")
    if mine is None:
        return {}

    def registry_of(commit: str) -> FlagRegistry | None:
        return registries.parsed.get(registry_at(trees, registries, commit, paths)[1] or "")

    theirs = registry_of(onto.tip)
    retired = branch_retired(history, parsed, onto.tip, theirs)
    bases = [registry_of(base) for base in onto.bases]
    view = merged(onto, (mine, theirs, bases), retired)
    if view.changed:
        key = f"{blob}+{onto.tip}"
        registries.parsed[key] = view.registry
        registries.merged[key] = view
        at_commit[onto.candidate] = (path, key)
    return view.revived


def _revived_onto(
    flags: dict[str, FlagHistory], revived: dict[str, Revival]
) -> dict[str, FlagHistory]:
    """``flags`` with the revivals of a merge gate's candidate (``revived``, by key), for the
    flags that were not revived already in its history."""
    out = dict(flags)
    for name, record in flags.items():
        found = revived.get(flag_key(name))
        if found is not None and "revived" not in record:
            out[name] = FlagHistory(**record, revived=found)
    return out


def registry_history(
    history: GitHistory, registries: _Registries, flags_file: str, tips: list[str]
) -> tuple[list[FileVersion], list[tuple[FileVersion, FlagRegistry | None]]]:
    """Every version of the registry in the history of ``tips``, oldest first, and each one
    that git can read, parsed (None where it does not parse: its error is kept)."""

    def prefetch(version: FileVersion) -> None:
        if version.blob is not None:
            registries.prefetch(version.blob)

    versions = _walked(registries, flags_file, tips, prefetch, history)
    _check_registry_path(history, flags_file, versions)
    for commit, why in sorted(history.options_unread.items()):
        registries.errors[f"options:{commit}"] = RegistryError(
            commit=commit, short=short(commit), path=flags_file, error=why
        )
    parsed = []
    for version in versions:
        if version.blob is not None:
            registries.parse(version.blob, version.commit, version.path)
            parsed.append((version, registries.parsed[version.blob]))
    return versions, parsed


REGISTRY_WALK = "registry-walk"
"""Cache entries: the registry's versions in the history of a set of tips (commit ids fix
that history: knightwatch reads it without replace objects or grafts)."""
WALKS_KEPT = 1024
"""At most this many walks are kept: each set of tips is a walk of its own (every gate of a
new candidate), met again only by a run over the same tips, so the oldest would otherwise
pile up; past it, the walks kept so far are dropped and a fresh start made."""


def _walked(
    registries: _Registries,
    flags_file: str,
    tips: list[str],
    prefetch: Callable[[FileVersion], None],
    history: GitHistory,
) -> list[FileVersion]:
    """Every version of the registry in the history of ``tips``, from the cache where a run
    walked the same tips; else walked, each version parsed as git finds it while git goes on
    walking the history (the oldest-first pass then only attributes the versions that do not
    parse). A walk that met a knightwatch.yaml linked to a file no commit holds
    (``history.options_unread``) is not kept: a run from the cache would not know of it."""
    key = _walk_key(flags_file, tips)
    for value in registries.cache.get(REGISTRY_WALK, [key], _is_walk).values():
        versions = [FileVersion(commit, path, blob) for commit, path, blob in value]
        registries.content.read_ahead([v.blob for v in versions if v.blob is not None])
        for version in versions:
            prefetch(version)
        return versions
    versions = registries.content.versions(flags_file, tips, each=prefetch)
    _check_not_linked(registries.content.root, versions)  # before the walk is kept
    if not history.options_unread:
        kept = {key: [[v.commit, v.path, v.blob] for v in versions]}
        registries.cache.put(REGISTRY_WALK, kept, most=WALKS_KEPT)
    return versions


def _walk_key(flags_file: str, tips: list[str]) -> str:
    walked = hashlib.sha256("\n".join(sorted(set(tips))).encode()).hexdigest()
    return f"{flags_file}\0{walked}"


def begin_registry_walk(
    history: GitHistory, flags_file: str, tips: list[str], cache: FactCache = NO_CACHE
) -> None:
    """Begin walking the registry's history from ``tips`` on a thread (unless the cache holds
    that walk: then only the check of the commits git will walk): ``registry_history`` takes
    its answer if the run's tips are these, and a run whose tips are other walks again."""
    if not cache.get(REGISTRY_WALK, [_walk_key(flags_file, tips)], _is_walk):
        begin_versions(history, flags_file, tips)
    else:
        history.check_commits(tips)


def _is_walk(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, list)
        and len(v) == 3
        and isinstance(v[0], str)
        and isinstance(v[1], str)
        and (v[2] is None or isinstance(v[2], str))
        for v in value
    )


def registry_at(
    trees: TreeIndex, registries: _Registries, sha: str, paths: list[str]
) -> RegistryAt:
    """The registry of a deployed commit: the first of ``paths`` (the configured one, then the
    others it has had) that the commit's tree holds, parsed; (None, None) without one."""
    for path in paths:
        blob = trees.lookup(sha, path)
        if blob is not None:
            registries.parse(blob, sha, path)
            return path, blob
    return None, None


def flag_names(registries: _Registries, evidence: Evidence) -> set[str]:
    """Every name that is a flag somewhere: in some version of the registry, or an event's."""
    names = {flag.name for r in registries.parsed.values() if r for flag in r.flags}
    return names | {event.flag for event in evidence.flag_events}


_MARKS = frozenset({LFS_POINTER, GIT_CRYPT, *UNPACKED_IN_PART.values()})
"""What the search finds that is no flag's name: each stands for itself."""


def searched_words(
    table: Mapping[str, Registry], names: set[str]
) -> tuple[dict[str, Searched], set[str]]:
    """What to look for at each registry of ``table`` (``names``: every flag name), and every
    word to search the code for: the spellings of every name some registry looks for, and the
    ``ending`` of each of two words or more (a registry's ``Searched`` then keeps those that
    are its own)."""
    sought = {
        key: frozenset(registry["retired"]) | (names - registry["flags"].keys())
        for key, registry in table.items()
    }
    spelled = Spelled(frozenset().union(*sought.values()))
    searched = {key: Searched(spelled, table[key], sought[key]) for key in table}
    return searched, {*spelled.names, *spelled.ended}


class Spelled:
    """By word, the flag names of ``names`` it is a spelling of (``flagnames.spellings``), and
    by ``endings.ending``, the names of two words or more it stands for: made once a run
    for every name, and read through each registry's ``Searched``. A flag's spellings are a
    few hundred words; made again for each version of the registry at the deployed commits
    (two hundred of them on a long history), they cost seconds."""

    def __init__(self, names: Collection[str]) -> None:
        by_word: dict[str, set[str]] = defaultdict(set)
        by_ending: dict[str, set[str]] = defaultdict(set)
        for name in sorted(names):
            for word in spellings(name):
                by_word[word].add(name)
            marker = ending(name)
            if marker is not None:
                by_ending[marker].add(name)
        self.names: Mapping[str, frozenset[str]] = {
            word: frozenset(named) for word, named in by_word.items()
        }
        self.ended: Mapping[str, frozenset[str]] = {
            marker: frozenset(named) for marker, named in by_ending.items()
        }
        self._ends = Ended(self.ended.keys())

    def get(self, word: str) -> frozenset[str]:
        """The names ``word`` is a spelling of, or ends with (``endings.Ended``)."""
        named = self.names.get(word, frozenset())
        for marker in self._ends(word) if self._ends else ():
            named |= self.ended[marker]
        return named


class Searched:
    """What to look for in the code of a commit with one registry: its retired flags, and the
    flag names it does not list (DEAD-001 and DEAD-005), not its active flags; each as it is
    named, as code usually spells it (``flagnames.spellings``: ``POWER_PEG``, ``powerPeg``,
    ``isPowerPegEnabled`` for ``power_peg``), and in any identifier ending with its words
    (``endings.Ended``: ``SMARS_POWER_PEG``, ``REACT_APP_POWER_PEG_ENABLED``). But a flag
    whose key (``flagnames.flag_key``) the registry lists active under another name is looked
    for only as it is named, and no spelling is looked for whose own key an active flag has,
    or that ends with an active flag's words where those hold the flag's own: code spelling
    the active flag's name (``PowerPeg`` for an active ``PowerPeg``, ``POWER_PEG_ENABLED`` for
    an active ``power_peg_enabled``), or with words around it (``isPowerPegEnabled``,
    ``SMARS_NEW_POWER_PEG`` for an active ``new_power_peg``), is the active flag, not the
    retired one."""

    def __init__(self, spelled: Spelled, registry: Registry, sought: frozenset[str]) -> None:
        self._spelled = spelled
        flags = registry["flags"]
        self._live = frozenset(flag_key(n) for n, f in flags.items() if f["status"] != "retired")
        self._sought = sought
        self._memo: dict[str, frozenset[str]] = {}

    def get(self, word: str) -> frozenset[str]:
        """The names ``word`` is a spelling of here (none: not looked for)."""
        if word in _MARKS:
            return frozenset({word})
        found = self._memo.get(word)
        if found is None:
            named = self._spelled.get(word) & self._sought
            found = self._memo[word] = frozenset(n for n in named if self._spells(word, n))
        return found

    def _spells(self, word: str, name: str) -> bool:
        if word == name:
            return True
        key, spelt = flag_key(name), flag_key(word)
        if key in self._live or spelt in self._live:
            return False
        return not self._within_live(word, name)

    def _within_live(self, word: str, name: str) -> bool:
        """Whether ``word`` holds ``name``'s words at its end (or before one of ``SUFFIXES``)
        only inside an active flag's, also at its end or before a suffix word: ``ispowerpeg
        enabled`` is the active ``power_peg_enabled`` with ``is`` before it (as a Java getter
        of it is spelt), ``SMARS_NEW_POWER_PEG`` the active ``new_power_peg``, not the retired
        ``power_peg``. An active name holding fewer words does not take it: where
        ``power_peg`` is active, ``ENABLE_POWER_PEG`` still spells a retired
        ``enable_power_peg``, whose name holds all of it. False where ``word`` does not end
        with ``name``'s words (``kPowerPeg`` and ``powerpeg`` are spellings of their own)."""
        said = told(word)
        ways = places(said, compared(flag_words(name)).split(" "))
        return bool(ways) and all(self._live_around(said, start, stop) for start, stop in ways)

    def _live_around(self, said: Told, start: int, stop: int) -> bool:
        """Whether ``said.letters[start:stop]`` lies inside an active flag's words that end
        ``said``, or end it before a suffix word."""
        return any(
            said.letters[first:last] in self._live
            for last in said.stops
            if last >= stop
            for first in said.heads
            if first <= start
        )


def references_for(
    trees: TreeIndex,
    sha: str,
    registry_path: str | None,
    wanted: Searched,
    excluded: list[Callable[[str], bool]],
    shared: SharedReferences,
    kept: Callable[[str, str], bool] | None = None,
) -> tuple[dict[str, Reference], dict[str, tuple[str, ...]]]:
    """The files of ``sha`` that name each wanted flag, under any of its spellings, but for
    the registry itself and the ``reference_exclude`` globs: at most ten listed, all counted;
    and, with ``kept``, only the files it keeps of each flag (``Merged.keeps``). With them,
    every file of each flag that names more than ``MAX_LISTED``."""
    spelled: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for word, found in trees.references(sha).items():
        named = wanted.get(word)
        if not named:
            continue
        files = [f for f in found if f != registry_path and not any(x(f) for x in excluded)]
        for name in named if files else ():
            own = files if kept is None else [f for f in files if kept(name, f)]
            if own:
                spelled[name][word] = own
    references = {name: _reference(shared, name, found) for name, found in spelled.items()}
    return references, _every_file(spelled)


def _every_file(spelled: Mapping[str, dict[str, list[str]]]) -> dict[str, tuple[str, ...]]:
    """By flag, every file holding one of its spellings (``spelled``), where there are more
    than a record lists (``MAX_LISTED``)."""
    every = {}
    for name, found in spelled.items():
        files = sorted({file for held in found.values() for file in held})
        if len(files) > MAX_LISTED:
            every[name] = tuple(files)
    return every


def _reference(shared: SharedReferences, name: str, found: dict[str, list[str]]) -> Reference:
    """The reference to ``name`` of the files holding each of its spellings (``found``), each
    file that holds another spelling than ``name`` shown with the spellings it holds."""
    if list(found) == [name]:
        files = found[name]
        return _shared_reference(shared, (tuple(files[:MAX_LISTED]), len(files), ()))
    held: dict[str, list[str]] = defaultdict(list)
    for word, files in sorted(found.items()):
        for file in files:
            held[file].append(word)
    listed = sorted(held)[:MAX_LISTED]
    shown_files = tuple(
        f if held[f] == [name] else f"{f} (as {' and '.join(map(shown, held[f]))})" for f in listed
    )
    return _shared_reference(shared, (tuple(listed), len(held), shown_files))


SharedReferences = dict[tuple[tuple[str, ...], int, tuple[str, ...]], Reference]
"""One record per distinct reference: a flag's files are the same in thousands of deployed
commits, and each deployment's record holds the one object rather than a copy of it (the
records are read-only, so sharing them is safe)."""


def _shared_reference(
    shared: SharedReferences, key: tuple[tuple[str, ...], int, tuple[str, ...]]
) -> Reference:
    found = shared.get(key)
    if found is None:
        files, count, shown_files = key
        found = shared[key] = (
            Reference(files=list(files), count=count, shown=list(shown_files))
            if shown_files
            else Reference(files=list(files), count=count)
        )
    return found


def _check_registry_path(history: GitHistory, flags_file: str, versions: list[FileVersion]) -> None:
    """The registry path names one file: a directory is an error, and so is a path in no
    commit when a file of a near name is in the repository (``flag.yaml`` for ``flags.yaml``):
    a misspelt path would leave every dead-code rule without its registry. ``versions`` may
    hold those of other paths the registry had (``GitContent.versions``): the configured
    path's own decide."""
    if any(v.path.startswith(flags_file.rstrip("/") + "/") for v in versions):
        raise InputError(
            f"the flag registry path {flags_file!r} is a directory; name the registry file",
            path=str(history.root),
        )
    if any(v.path == posixpath.normpath(flags_file) for v in versions):
        return
    tracked = str(history.repo.git.ls_files()).splitlines()
    near = difflib.get_close_matches(flags_file, tracked, n=1, cutoff=0.8)
    also = ""
    if not near:
        near, also = _registry_elsewhere(history, flags_file, tracked), " and lists flags"
    if near:
        raise InputError(
            f"the flag registry {flags_file!r} is in no commit, but {near[0]!r} is in the "
            f"repository{also}: did you mean it?",
            path=str(history.root),
            hint="set flags_file to the registry's path",
        )


def _registry_elsewhere(history: GitHistory, flags_file: str, tracked: list[str]) -> list[str]:
    """A tracked file whose name is the registry's, or near it (``config/flags.yaml``,
    ``ops/flags.yml`` for ``flags.yaml``), or a YAML or JSON file named for flags
    (``feature_flags.yaml``, ``toggles/flags-prod.yml``), that holds a mapping with ``flags``:
    the registry, kept where the default does not look. Read as no registry, every dead-code
    rule went unevaluated and the check passed (exit 0)."""
    names = {PurePosixPath(path).name for path in tracked}
    near = set(difflib.get_close_matches(PurePosixPath(flags_file).name, names, cutoff=0.8))
    near |= {name for name in names if _named_for_flags(name)}
    candidates = [path for path in tracked if PurePosixPath(path).name in near]
    for path in sorted(candidates, key=lambda p: (p.count("/"), p)):
        with contextlib.suppress(git.GitCommandError):
            documents = readings(history.repo.git.show(f":{path}"), path)
            if any(isinstance(document, dict) and "flags" in document for document in documents):
                return [path]
    return []


def _named_for_flags(name: str) -> bool:
    """Whether a file's name says it holds flags: a YAML or JSON file with ``flag`` in it."""
    folded = name.casefold()
    return "flag" in folded and folded.endswith((".yaml", ".yml", ".json"))


def _check_not_linked(root: Path, versions: list[FileVersion]) -> None:
    """A registry that was ever a symbolic link is refused: its history is that of the link
    (where it leads), not of the file it led to, so a flag retired in that file and later made
    active again for a new purpose left no version behind, and DEAD-002 passed."""
    linked = next((v for v in versions if v.link), None)
    if linked is not None:
        raise InputError(
            f"the flag registry {linked.path!r} is a symbolic link at {short(linked.commit)}: "
            "its history would be the link's, not the registry's",
            path=str(root),
            hint="keep the registry itself at flags_file (replace the link with the file)",
        )


def _registry_removed(
    history: GitHistory,
    at_commit: dict[str, RegistryAt],
    versions: list[FileVersion],
    flags_file: str,
    errors: dict[str, RegistryError],
) -> None:
    """A deployed commit without the registry, though the registry is in its history, cannot
    be judged: deleting the registry does not retire its flags. Such a commit is reported as
    an unreadable registry (DEAD-006), like a version that does not parse."""
    written = [v.commit for v in reversed(versions) if v.blob is not None]  # newest first
    for sha, (path, _) in sorted(at_commit.items()):
        if path is not None or not written:
            continue
        if history.in_history_of(written, sha):
            errors[f"absent:{sha}"] = RegistryError(
                commit=sha,
                short=short(sha),
                path=flags_file,
                error="it is absent at this deployed commit, though earlier commits of its "
                "history have it; deleting the registry does not retire its flags (keep it, "
                "with flags: [] once every flag is gone)",
            )


def _registry_facts(path: str | None, blob: str | None, registry: FlagRegistry | None) -> Registry:
    """One registry version as the rules see it, with indexes of its retired and dated flags."""
    flags = _flag_facts(registry)
    return Registry(
        path=path,
        readable=registry is not None or blob is None,
        flags=flags,
        retired=sorted(n for n, f in flags.items() if f["status"] == "retired"),
        dated=sorted(n for n, f in flags.items() if f["remove_by"] is not None),
    )


def pathspec(glob: str) -> Callable[[str], bool]:
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
        elif glob[index] == "[" and (bracket := wildmatch_bracket(glob, index)) is not None:
            out, index = out + bracket[0], bracket[1]  # not as written: `[z-a]` was exit 3
        else:
            out, index = out + re.escape(glob[index]), index + 1
    pattern = re.compile(out + r"\Z")
    return lambda path: pattern.match(path) is not None


@dataclass
class _Seen:
    """What ``_flag_history`` gathers of each flag (by key) over the registry's versions."""

    retired_at: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    active_at: defaultdict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Each version where it is active, and the purpose it gives there."""
    last: dict[str, str] = field(default_factory=dict)
    changes: defaultdict[str, list[Purpose]] = field(default_factory=lambda: defaultdict(list))
    """Each version whose purpose differs from the one the version before it gave."""

    def version(self, key: str, flag: FlagRecord, commit: str) -> None:
        """Note the flag's entry in the version of ``commit``."""
        if flag.status == "retired":
            self.retired_at[key].append(commit)
        else:
            self.active_at[key].append((commit, flag.purpose))
        if self.last.get(key, flag.purpose) != flag.purpose:
            self.changes[key].append(
                Purpose(purpose=flag.purpose, commit=commit, short=short(commit))
            )
        self.last[key] = flag.purpose


def _flag_history(
    history: GitHistory, versions: list[tuple[FileVersion, FlagRegistry | None]]
) -> dict[str, FlagHistory]:
    """Per flag: its purposes in order of first appearance, each change of its purpose where
    it changed back to one it had, its spellings where it had several, and the first
    revival, if any. A flag is known by its key (``flagnames.flag_key``), under the name it
    first had: ``POWER_PEG`` written active after ``power_peg`` was retired is ``power_peg``
    revived, not a new flag."""
    purposes: dict[str, list[Purpose]] = {}
    spellings: dict[str, list[Spelling]] = {}
    seen = _Seen()
    met: set[int] = set()
    """The flag entries already looked at: versions share the instances of equal entries."""
    for version, registry in versions:
        commit = version.commit
        for flag in registry.flags if registry is not None else []:
            key = flag_key(flag.name)
            seen.version(key, flag, commit)
            if id(flag) in met:
                continue
            met.add(id(flag))
            stood = purposes.setdefault(key, [])
            if all(p["purpose"] != flag.purpose for p in stood):
                stood.append(Purpose(purpose=flag.purpose, commit=commit, short=short(commit)))
            names = spellings.setdefault(key, [])
            if all(n["name"] != flag.name for n in names):
                names.append(_spelling(flag.name, commit))
    position = {version.commit: index for index, (version, _) in enumerate(versions)}
    result: dict[str, FlagHistory] = {}
    for key in purposes:
        revived = _revival(
            history, position, seen.retired_at.get(key, []), seen.active_at.get(key, [])
        )
        record = _history_record(purposes[key], spellings[key], revived)
        again = _revived_again(history, position, seen, key, revived)
        if again:
            record = FlagHistory(**record, revived_again=again)
        if seen.changes[key] != purposes[key][1:]:
            record = FlagHistory(**record, changes=seen.changes[key])
        result[spellings[key][0]["name"]] = record
    return dict(sorted(result.items()))


def _revived_again(
    history: GitHistory, position: dict[str, int], seen: _Seen, key: str, first: Revival | None
) -> list[Revival]:
    """Each return from retirement after ``first``: the first active version descending from
    a version that retired the flag after the return before it. Retired, active again, retired
    and active again is two revivals; a waiver without a purpose, approved for the first, saw
    one repurposing and covered the second too."""
    found: list[Revival] = []
    last = first
    while last is not None:
        after = position[last["active"]]
        retired = [c for c in seen.retired_at.get(key, []) if position[c] > after]
        active = [(c, p) for c, p in seen.active_at.get(key, []) if position[c] > after]
        last = _revival(history, position, retired, active) if retired else None
        if last is not None:
            found.append(last)
    return found


def _spelling(name: str, commit: str) -> Spelling:
    return Spelling(name=name, shown=shown(name), commit=commit, short=short(commit))


def _history_record(
    purposes: list[Purpose], spellings: list[Spelling], revived: Revival | None
) -> FlagHistory:
    record = FlagHistory(purposes=purposes)
    if revived is not None:
        record = FlagHistory(purposes=purposes, revived=revived)
    if len(spellings) > 1:
        record = FlagHistory(**record, spellings=spellings)
    return record


def _revival(
    history: GitHistory,
    position: dict[str, int],
    retired: list[str],
    active: list[tuple[str, str]],
) -> Revival | None:
    """The first version where the flag is active (``active``: each version and the purpose
    it gives) with a version that retired it among its ancestors. The versions are in
    topological order, ancestors first: a retired version can precede an active one in
    history only if it comes earlier in the list. Usually none does (a flag is active, then
    retired), and git is asked about the few pairs that remain."""
    if not retired:
        return None
    earliest = min(position[commit] for commit in retired)
    for commit, purpose in active:
        if position[commit] <= earliest:  # no version that retired it comes before this one
            continue
        first = next(
            (
                earlier
                for earlier in retired
                if position[earlier] < position[commit]
                and earlier != commit
                and history.is_ancestor(earlier, commit)
            ),
            None,
        )
        if first is not None:
            return Revival(
                retired=first,
                retired_short=short(first),
                active=commit,
                active_short=short(commit),
                purpose=purpose,
            )
    return None
