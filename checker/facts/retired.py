"""Retired code at a deployed commit: the ``retired_code`` entries of its registry, and those
of every earlier version of the registry in its history, with the files each still matches.

Retired code stays retired, as a retired flag does: a commit that drops an entry from the
registry while the code stays in place must not make DEAD-004 pass. An entry counts at a
deployed commit when a version of the registry that lists it was written in that commit's
history (the commit that wrote it is the deployed commit or one of its ancestors); a version
on another line of history, never merged into it, says nothing about it. But for a merge
gate's candidate, the protected branch's history is the merge's too: the versions in it count
(``checker.facts.onto``), on the files the merge will hold.

Nor does moving the code retire it: ``git mv legacy/power_peg.py src/peg.py`` after the
registry listed it left the code in every deployment, at a path the entry does not name. The
files an entry covered at a version that listed it, and in that version's parent commit (a
commit that lists the code and moves or deletes it at once retires what its parent held), are
the retired code's content (their blobs), and a deployed commit holding one of those blobs at
any other path holds the retired code, and so does one holding such a blob compressed (a
member of a zip, a gzip's stream, a tar's file: ``TreeIndex.search``). A blob the same
tree also held outside all retired code (an empty ``__init__.py``, a copy of live code) is
no sign of it, and is left out, but where it began as retired code and the copy outside was
written later (``_copied_out``: copied beside it before it was listed); one held by two
retired folders is kept, in both. An empty
file is no code, and never counts. Content edited as it moved is recognised where it is alike
to a blob of the retired code (``checker.evidence.likeness``: half its lines in common, or
half its lines held among more), but
where live code was alike to that blob in every tree it was learnt from, and there before the
blob was first written (the code that replaced it, begun beside it): that blob is matched by
its bytes alone. An entry that
covered nothing where it was first listed (its code moved or deleted in an earlier commit)
takes its content from where its code was last held (``misspelt.last_held``): moved the
commit before, it lived on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from checker.evidence.git import GitHistory
from checker.evidence.git_content import BLOB_MARK, FileVersion, TreeIndex, blob_mark, covers
from checker.evidence.likeness import (
    CHANCE_LINES,
    COMMON_FILES,
    HOLD_MARK,
    LIKE_MARK,
    MIN_LINES,
    SMALL_PART,
    like_mark,
    split,
    whole,
)
from checker.evidence.models import FlagRegistry
from checker.facts.document import RetiredCode
from checker.facts.onto import Onto
from checker.vocabulary import short

Parts = tuple[int, dict[str, set[int]]]
"""A blob of retired code's count of distinct lines, and by file, those of them the file holds
(``likeness.part_mark``)."""

MAX_LISTED = 10
"""Files named per entry (and per flag's references); all of them are counted."""


_LIKENESS = (LIKE_MARK, HOLD_MARK)
"""The marks of a file alike to a blob of retired code, or holding its lines among more."""


def _blob_of(word: str) -> str:
    """The blob a ``_LIKENESS`` mark names."""
    return word.removeprefix(LIKE_MARK).removeprefix(HOLD_MARK)


def held_around(trees: TreeIndex, commit: str, pattern: str) -> bool:
    """Whether the tree of ``commit`` or of one of its parents holds a file ``pattern`` (a
    ``retired_code`` entry) covers: a commit that adds or changes it holds it, one that
    deletes it, its parent."""
    return any(trees.matching(source, pattern) for source in (commit, *trees.parents(commit)))


@dataclass(frozen=True)
class _Listing:
    """A version of the registry that lists a path under ``retired_code``."""

    commit: str
    reason: str
    registry: str
    """The registry's path at ``commit``."""


class RetiredCodeHistory:
    """Every ``retired_code`` entry of every readable version of the registry, by path, and
    which of those versions lie in a deployed commit's history (git is asked once per
    deployed commit)."""

    def __init__(
        self,
        history: GitHistory,
        parsed: list[tuple[FileVersion, FlagRegistry | None]],
        onto: Onto | None = None,
    ) -> None:
        self._history = history
        self._onto = onto
        """At a merge gate, the candidate's merge onto the protected branch's tip."""
        self._listed: dict[str, list[_Listing]] = {}
        """By path, the versions listing it, in the order of the registry's history (oldest
        first)."""
        self._versions: list[tuple[str, list[str], list[str]]] = []
        """Each version listing retired code, oldest first: its commit, the paths it lists,
        and every path listed by it or an earlier version (retired code stays retired)."""
        for version, registry in parsed:
            paths = []
            for entry in registry.retired_code if registry is not None else []:
                listings = self._listed.setdefault(entry.path, [])
                if not any(listing.commit == version.commit for listing in listings):
                    listings.append(_Listing(version.commit, entry.reason, version.path))
                    paths.append(entry.path)
            if paths:
                self._versions.append((version.commit, paths, sorted(self._listed)))
        self._ancestry: dict[str, frozenset[str]] = {}
        """By commit, the versions listing retired code that are in its history."""
        self._content: dict[tuple[str, str], frozenset[str]] = {}
        """By version commit and path, the blobs of the retired code it covered there."""
        self._found: dict[str, dict[str, list[str]]] = {}
        """By deployed commit, ``_held``."""
        self._split: dict[str, dict[str, Parts]] = {}
        """By deployed commit, ``_parts``."""
        self._live: dict[str, set[int]] | None = None
        """``_live_lines``, once known."""
        self._learnt: dict[str, set[str]] = {}
        """By blob of retired code learnt from a tree (not copied out), the commits whose
        trees it was learnt from: where each of them held live code alike to it, it is
        matched by its exact bytes alone (``_exact_only``)."""
        self._exact: frozenset[str] | None = None
        self._names: dict[str, set[str]] = {}
        """By blob of retired code, the paths it had where it was learnt (``names``)."""
        self._began: dict[str, str | None] = {}
        """By blob of retired code asked about, the oldest commit to write it where that
        commit held it at retired paths alone, else None (``_copied_out``)."""

    def names(self) -> dict[str, set[str]]:
        """By blob of the retired code's content (``content``), the paths it had where it was
        learnt: a copy of it is read as their language reads comments too
        (``likeness.own_readings``)."""
        return self._names

    def first_listed(self, skip: Collection[str] = ()) -> dict[str, str]:
        """By path listed, but for those of ``skip``, the commit of the oldest version listing
        it."""
        return {path: found[0].commit for path, found in self._listed.items() if path not in skip}

    def content(
        self,
        trees: TreeIndex,
        held: Mapping[str, str] | None = None,
        copied: Mapping[str, frozenset[str]] | None = None,
    ) -> set[str]:
        """Learn the retired code's content at each version listing it: the blobs of the
        files the entry covered in that version's commit, and in each of its parents (a
        commit that lists the code and deletes or moves it at once retires what its parent
        held), but those the same tree also held outside all retired code (listed by that
        version or an earlier one). Where an entry covered no file there, its content is
        what it covered where the code was last held before (``held``: by path, that commit,
        ``misspelt.last_held``; and its parents), for the oldest version listing it: code
        moved in an earlier commit than the one listing it is still the retired code. Returns
        all of them, for ``trees`` to search for. ``copied`` adds, by path, the content copied
        out of the files it covered, with a stub left in their place, before the oldest
        version listing it (``copied.copied_out``): live code's by its path, but retired.

        Every tree is walked once for all versions (``TreeIndex.holding`` of every blob
        covered anywhere): the versions' commits share most of their trees."""
        sources = self._sources(trees, held or {})
        matching = {
            (source, path): trees.blobs_matching(source, path)
            for (_, path), around in sources.items()
            for source in around
        }
        for files in matching.values():
            for file, blob in files.items():
                self._names.setdefault(blob, set()).add(file)
        covered = {
            key: frozenset(files.values()) - {_empty_blob(key[0])}  # no code: a new __init__.py
            for key, files in matching.items()
        }
        every = frozenset().union(*covered.values())
        for commit, paths, retired in self._versions:
            patterns = [path.strip("/") for path in retired]
            for source in {s for path in paths for s in sources[(commit, path)]}:
                mine = frozenset().union(*(covered.get((source, path), ()) for path in paths))
                shared = self._shared(trees, (source, every), mine, patterns)
                for path in paths:
                    self._learn(
                        (commit, path), source, covered.get((source, path), frozenset()) - shared
                    )
        self._add_copied(copied)
        return set().union(*self._content.values())

    def _shared(
        self,
        trees: TreeIndex,
        around: tuple[str, frozenset[str]],
        mine: frozenset[str],
        patterns: list[str],
    ) -> set[str]:
        """The blobs of ``mine`` (retired code's, in the tree of ``around``'s commit) that
        the tree also holds outside all retired code, where the copy outside is not one made
        of the retired code (``_copied_out``). ``around`` gives the blobs of all versions, for
        one walk of the tree (``TreeIndex.holding``)."""
        source, every = around
        outside: dict[str, list[str]] = {}
        for file, blob in trees.holding(source, every):
            if blob in mine and not any(covers(p, file) for p in patterns):
                outside.setdefault(blob, []).append(file)
        return {
            blob
            for blob, files in outside.items()
            if not self._copied_out(trees, (source, blob), files, patterns)
        }

    def _learn(self, key: tuple[str, str], source: str, blobs: frozenset[str]) -> None:
        """``blobs`` as the content of ``key`` (a version's commit and a path it lists),
        learnt from the tree of ``source``."""
        self._content[key] = self._content.get(key, frozenset()) | blobs
        for blob in blobs:
            self._learnt.setdefault(blob, set()).add(source)

    def _add_copied(self, copied: Mapping[str, frozenset[str]] | None) -> None:
        """``copied`` (by path, content copied out of it) as the content of the oldest
        version listing each path."""
        for path, blobs in (copied or {}).items():
            key = (self._listed[path][0].commit, path)
            for blob in blobs:
                self._names.setdefault(blob, set()).add(path)
            self._content[key] = self._content.get(key, frozenset()) | blobs

    def _sources(
        self, trees: TreeIndex, held: Mapping[str, str]
    ) -> dict[tuple[str, str], tuple[str, ...]]:
        """By version commit and path it lists, the commits whose trees hold its content:
        the version's commit and its parents; and, for the oldest version listing a path of
        ``held``, the commit where its code was last held and that commit's parents."""
        earlier = {
            (self._listed[path][0].commit, path): (commit, *trees.parents(commit))
            for path, commit in held.items()
        }
        return {
            (commit, path): (commit, *trees.parents(commit), *earlier.get((commit, path), ()))
            for commit, paths, _ in self._versions
            for path in paths
        }

    def unnamed(self, trees: TreeIndex) -> dict[str, list[tuple[str, str]]]:
        """Each listed path that covers no file of the commit of any version listing it, nor
        of that commit's parents (the trees ``content`` read): by path, each version listing
        it (its commit, and the registry's path there), oldest first. Such an entry is
        misspelt, or retired code deleted before it was listed (``checker.facts.misspelt``)."""
        named: set[str] = set()
        for commit, paths, _ in self._versions:
            named.update(p for p in paths if p not in named and held_around(trees, commit, p))
        return {
            path: [(listing.commit, listing.registry) for listing in listings]
            for path, listings in self._listed.items()
            if path not in named
        }

    def code_at(
        self, trees: TreeIndex, sha: str, registry: FlagRegistry | None
    ) -> tuple[list[RetiredCode], dict[str, tuple[str, ...]]]:
        """Each ``retired_code`` entry of the commit's registry (``registry``), with the files it
        still matches; then each path an earlier version in the commit's history listed and
        ``registry`` does not, where it still matches files, naming that version's commit.
        Files holding the retired code's content at another path count as matches. With them,
        by path, every file of an entry that matches more than the record lists
        (``MAX_LISTED``): the files a waiver's approver may have written."""
        entries = registry.retired_code if registry is not None else []
        found: list[tuple[list[str], list[str], tuple[str, str], str | None]] = []
        for entry in entries:
            matches, moved = self._files(trees, sha, entry.path)
            found.append((matches, moved, (entry.path, entry.reason), None))
        current = {entry.path for entry in entries}
        for path in sorted(self._listed.keys() - current):
            matches, moved = self._files(trees, sha, path)
            if not matches and not moved:  # gone: nothing to ask of history
                continue
            listing = self._listing_in_history(path, sha)
            if listing is not None:
                found.append((matches, moved, (path, listing.reason), listing.commit))
        every = {
            entry[0]: tuple(files)
            for matches, moved, entry, _ in found
            if len(files := sorted(set(matches) | set(moved))) > MAX_LISTED
        }
        return [_retired(*one) for one in found], every

    def _files(self, trees: TreeIndex, sha: str, path: str) -> tuple[list[str], list[str]]:
        """The files of ``sha`` ``path`` covers, and those holding its content elsewhere
        (``_moved``); of a merge gate's candidate, where only the protected branch retired
        ``path``, those the merge will hold (``Onto.holds``)."""
        matches = trees.matching(sha, path)
        moved = self._moved(trees, sha, path)
        onto = self._onto
        if onto is None or sha != onto.candidate or self._listed_own(path, sha):
            return matches, moved
        return (
            [file for file in matches if onto.holds(trees, file)],
            [file for file in moved if onto.holds(trees, file)],
        )

    def _listed_own(self, path: str, sha: str) -> bool:
        """Whether a version in ``sha``'s own history lists ``path``."""
        return any(
            listing.commit in self._ancestry_of(sha) for listing in self._listed.get(path, [])
        )

    def _moved(self, trees: TreeIndex, sha: str, path: str) -> list[str]:
        """The files of ``sha`` outside ``path`` holding the retired code's content as a version
        in ``sha``'s history listing ``path`` had it."""
        held, parts = self._held(trees, sha), self._parts(trees, sha)
        moved: set[str] = set()
        if not held and not parts:  # no retired content at all: nothing to ask of history
            return []
        pattern = path.strip("/")
        retired = [listed.strip("/") for listed in self._listed]
        for listing in self._listed.get(path, []):
            content = self._content.get((listing.commit, path), frozenset())
            files = {f for b in held.keys() & content for f in held[b] if not covers(pattern, f)}
            files |= _split_files(parts, content, (pattern, retired), self._live_lines(trees))
            if files - moved and self._in_history(listing.commit, sha):
                moved |= files
        return sorted(moved)

    def learnt_in(self) -> list[str]:
        """The commits whose trees the retired code's content was learnt from (``content``):
        for ``trees`` to search too, so that ``_exact_only`` knows what live code there was
        alike to it."""
        return sorted({source for sources in self._learnt.values() for source in sources})

    def _held(self, trees: TreeIndex, sha: str) -> dict[str, list[str]]:
        """The files of ``sha`` holding each blob of retired code it holds, or a file alike
        to it (an edited copy, ``likeness``) or holding its lines among more, by blob."""
        if sha not in self._found:
            found: dict[str, set[str]] = {}
            exact = self._exact_only(trees)
            for word, files in trees.references(sha).items():
                if word.startswith(BLOB_MARK):
                    found.setdefault(word.removeprefix(BLOB_MARK), set()).update(files)
                elif word.startswith(_LIKENESS) and _blob_of(word) not in exact:
                    found.setdefault(_blob_of(word), set()).update(files)
            self._found[sha] = {blob: sorted(files) for blob, files in found.items()}
        return self._found[sha]

    def _live_lines(self, trees: TreeIndex) -> dict[str, set[int]]:
        """By blob of retired code, its lines (``likeness.part_mark``) that live code held,
        outside all retired code, in a tree it was learnt from that held the blob itself:
        what the project's files shared with it by chance (a ``return self.name``), no sign
        of it in a file holding few of its lines (``_split_files``)."""
        if self._live is None:
            patterns = [path.strip("/") for path in self._listed]
            live: dict[str, set[int]] = {}
            for source in sorted({s for sources in self._learnt.values() for s in sources}):
                references = trees.references(source)
                for word, files in references.items():
                    for blob, (_, lines) in split([word]).items():
                        if blob_mark(blob) in references and _outside(files, patterns):
                            live.setdefault(blob, set()).update(lines)
            self._live = live
        return self._live

    def _parts(self, trees: TreeIndex, sha: str) -> dict[str, Parts]:
        """By blob of retired code (but those matched by their bytes alone, ``_exact_only``),
        the files of ``sha`` holding lines of it (``likeness.part_mark``), with the lines of
        it each holds, and its count of distinct lines."""
        if sha not in self._split:
            exact = self._exact_only(trees)
            found: dict[str, Parts] = {}
            for word, files in trees.references(sha).items():
                for blob, (count, lines) in split([word]).items():
                    if blob in exact:
                        continue
                    by_file = found.setdefault(blob, (count, {}))[1]
                    for file in files:
                        by_file.setdefault(file, set()).update(lines)
            self._split[sha] = found
        return self._split[sha]

    def _exact_only(self, trees: TreeIndex) -> frozenset[str]:
        """The blobs of retired code that every tree they were learnt from (``_learnt``) held
        live code alike to, outside all retired code: the code that replaced it (``v2``,
        begun as its copy), not the retired code. They are matched by their bytes alone. A
        live file holding its lines among many more (``HOLD_MARK``) is no such code: a large
        module holding half a short retired file's lines would take the likeness off every
        later copy of it."""
        if self._exact is None:
            patterns = [path.strip("/") for path in self._listed]
            self._exact = frozenset(
                blob
                for blob, sources in self._learnt.items()
                if all(self._replaced(trees, (source, blob), patterns) for source in sources)
            )
        return self._exact

    def _replaced(self, trees: TreeIndex, held: tuple[str, str], patterns: list[str]) -> bool:
        """Whether the tree of ``held``'s commit holds live code alike to its blob of retired
        code, outside all retired code, that is not a copy of it (``_copied_out``)."""
        source, blob = held
        live = [
            file
            for file in trees.references(source).get(like_mark(blob), [])
            if not any(covers(p, file) for p in patterns)
        ]
        return bool(live) and not self._copied_out(trees, held, live, patterns)

    def _copied_out(
        self, trees: TreeIndex, held: tuple[str, str], live: list[str], patterns: list[str]
    ) -> bool:
        """Whether ``live`` (files outside all retired code in the tree of ``held``'s commit,
        holding its blob of retired code or a file alike to it) were copied out of the
        retired code: the blob began as retired code (``began_retired``: its oldest writer
        held it at retired paths alone), and none of ``live`` was in that writer's tree. A
        copy made beside the retired file before it was listed, exact or edited, is the
        retired code; a live module the retired file began as a copy of is not."""
        source, blob = held
        if blob not in self._began:
            writer = first_writer(self._history, source, blob)
            began = began_retired(trees, writer, blob, patterns)
            self._began[blob] = writer if began else None
        writer = self._began[blob]
        return writer is not None and all(trees.lookup(writer, file) is None for file in live)

    def _listing_in_history(self, path: str, sha: str) -> _Listing | None:
        """The oldest version listing ``path`` that is ``sha`` or one of its ancestors."""
        for listing in self._listed[path]:
            if self._in_history(listing.commit, sha):
                return listing
        return None

    def _in_history(self, commit: str, sha: str) -> bool:
        """Whether the version ``commit`` is in ``sha``'s history, or, for a merge gate's
        candidate, in the protected branch tip's, which the merge brings."""
        if commit in self._ancestry_of(sha):
            return True
        onto = self._onto
        return onto is not None and sha == onto.candidate and commit in self._ancestry_of(onto.tip)

    def _ancestry_of(self, sha: str) -> frozenset[str]:
        """The versions listing retired code that are in ``sha``'s history: git is asked once
        per commit, about every version listing retired code together."""
        if sha not in self._ancestry:
            versions = [commit for commit, _, _ in self._versions]
            self._ancestry[sha] = frozenset(self._history.in_history_of(versions, sha))
        return self._ancestry[sha]


def _outside(files: list[str], patterns: list[str]) -> bool:
    """Whether one of ``files`` is outside all retired code (``patterns``)."""
    return any(not any(covers(p, f) for p in patterns) for f in files)


def _split_files(
    parts: dict[str, Parts],
    content: frozenset[str],
    patterns: tuple[str, list[str]],
    live: dict[str, set[int]],
) -> set[str]:
    """The files outside ``pattern`` holding parts of a blob of ``content`` (the retired code's)
    that together hold half its distinct lines, and ``MIN_LINES`` (``likeness.whole``): the
    code split across them, each holding less than half of it. A file holds a part where it
    holds ``MIN_LINES`` of the blob's lines, or ``SMALL_PART`` of them that no live code held
    where the blob was retired (``live``, by blob: ``_live_lines``), which alone count then:
    four lines in common are what files of one project share by chance, but not lines the
    retired code alone held. Small parts count where together they hold ``MIN_LINES`` such
    lines, as one part must (``_small_parts``). ``patterns`` are the retired code's, then
    those of all retired code: a line is common where live files hold it alone."""
    pattern, retired = patterns
    found: set[str] = set()
    for blob in sorted(content & parts.keys()):
        count, by_file = parts[blob]
        outside = {file: lines for file, lines in by_file.items() if not covers(pattern, file)}
        large = {file: lines for file, lines in outside.items() if len(lines) >= MIN_LINES}
        counted = {file for file in outside if not any(covers(p, file) for p in retired)}
        held = {**large, **_small_parts(outside, live.get(blob, set()), counted)}
        if held and whole(count, set().union(*held.values())):
            found |= held.keys()
    return found


def _small_parts(
    by_file: dict[str, set[int]], shared: set[int], counted: Collection[str]
) -> dict[str, set[int]]:
    """Of files holding lines of a blob of retired code (``by_file``, outside it), those
    holding fewer than ``MIN_LINES`` of them, ``SMALL_PART`` at least that live code did not
    hold where it was retired (``shared``) nor ``COMMON_FILES`` files hold now, with those
    lines; none where they hold fewer than ``MIN_LINES`` such lines together, as one part
    must. A line or two of a retired file in files written later are what files of one kind
    share by chance: a retired evidence example, an example of its schema holding six of its
    fourteen lines and two others a line of it each (a date, a label), was named as split
    across them (exit 1); and a retired module by thirty files holding an ``@classmethod``,
    a ``return value`` or a ``self.name = name`` of it. Chance explains ``CHANCE_LINES`` of
    them at most, those most files hold: each line of a retired file copied into throwaway
    files until five held it, and the code kept split four lines to a module, passed (exit 0).
    Only live files (``counted``) make a line common: copies kept under retired code's paths
    are no chance of the project's live code."""
    held: dict[int, int] = {}
    for file, lines in by_file.items():
        for line in lines if file in counted else ():
            held[line] = held.get(line, 0) + 1
    many = [line for line, files in held.items() if files >= COMMON_FILES and line not in shared]
    common = set(sorted(many, key=lambda line: (-held[line], line))[:CHANCE_LINES]) | shared
    small = {
        file: lines - common
        for file, lines in by_file.items()
        if len(lines) < MIN_LINES and len(lines - common) >= SMALL_PART
    }
    together = set().union(*small.values()) if small else set()
    return small if len(together) >= MIN_LINES else {}


def first_writer(history: GitHistory, commit: str, blob: str) -> str | None:
    """The oldest commit in ``commit``'s history to write ``blob`` (``git log
    --find-object``), or None."""
    args = ["log", "--format=%H", "--topo-order", "--no-renames", f"--find-object={blob}", commit]
    writers = history.git_output(args).split()
    return writers[-1].decode("ascii") if writers else None


def began_retired(trees: TreeIndex, writer: str | None, blob: str, patterns: list[str]) -> bool:
    """Whether ``blob`` began as retired code: ``writer``, the oldest commit to write it
    (``first_writer``), held it at paths retired code covers alone."""
    if writer is None:
        return False
    first = trees.holding(writer, frozenset({blob}))
    return bool(first) and all(any(covers(p, f) for p in patterns) for f, _ in first)


def _empty_blob(commit: str) -> str:
    """The id of an empty file, in the object format of ``commit``'s id (SHA-1 or SHA-256)."""
    return hashlib.new("sha1" if len(commit) == 40 else "sha256", b"blob 0\0").hexdigest()


def _retired(
    matches: list[str], moved: list[str], entry: tuple[str, str], listed_in: str | None
) -> RetiredCode:
    path, reason = entry
    files = sorted(set(matches) | set(moved))
    return RetiredCode(
        path=path,
        reason=reason,
        files=files[:MAX_LISTED],
        count=len(files),
        moved=moved[:MAX_LISTED],
        listed_in=listed_in,
        listed_in_short=short(listed_in) if listed_in is not None else None,
    )
