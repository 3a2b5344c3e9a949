"""What files held at given commits: blobs, the registry's history, and whole trees.

Single blobs come through GitPython's persistent ``cat-file --batch`` process; whole trees
through a ``TreeIndex``, which keeps one ``cat-file --batch`` of its own and feeds it many
names at once. Either way a question costs no new process however many commits it covers.
Trees and blobs are read once each and their answers cached by object id: deployed commits
share almost all of their trees, so searching 10,000 deployed commits costs little more than
searching one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import functools
import hashlib
import json
import posixpath
import re
import subprocess
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from checker.cache import NO_CACHE, FactCache
from checker.errors import InputError
from checker.evidence.archives import REASONS, Unpacked, unpacked
from checker.evidence.endings import MARKERS
from checker.evidence.flagnames import AFFIXES
from checker.evidence.git import GitHistory, git_records
from checker.evidence.identifiers import Identifiers
from checker.evidence.likeness import TAGS, Likeness, own_readings, readable, readings_of
from checker.evidence.objectcheck import TREE_ENTRY as _TREE_ENTRY
from checker.evidence.objectcheck import (
    EntryKind,
    entry_kind,
    git_failed,
    missing_object,
    read_verified,
    unquote_c,
    verify_object,
)
from checker.evidence.registry_names import CONFIG_NAME, named
from checker.evidence.searched import BLOB_WORDS, ROOT_WORDS, SearchedWords
from checker.evidence.trailers import coauthor_lines, review_lines

_NULL_BLOB = "0" * 40


@dataclass(frozen=True)
class FileVersion:
    """One version of a file in history: the commit that wrote it, its path there, its blob."""

    commit: str
    path: str
    blob: str | None
    """``None`` where the commit deleted the file."""
    link: bool = dataclasses.field(default=False, compare=False)
    """Whether the file is a symbolic link there (its blob is where it leads)."""


class GitContent:
    """File contents across a repository's history."""

    def __init__(
        self,
        history: GitHistory,
        started: Callable[[subprocess.Popen[bytes]], object] | None = None,
    ) -> None:
        self._history = history
        self._git = history.repo.git
        self._started = started
        self._ahead: dict[str, bytes] = {}
        """Blobs read ahead (verified), by sha, each handed out once."""

    @property
    def root(self) -> Path:
        """The repository's working tree."""
        return self._history.root

    def blob(self, name: str) -> bytes | None:
        """The bytes of an object name (a blob sha or ``commit:path``), or None if absent."""
        ahead = self._ahead.pop(name, None)
        if ahead is not None:
            return ahead
        try:
            answer: tuple[object, ...] = tuple(self._git.get_object_data(name))
        except ValueError:
            return None
        except OSError as exc:  # git cat-file died (an object it could not read)
            raise missing_object(name, self._history.root) from exc
        sha, kind, data = answer[0], answer[1], answer[3]  # GitPython gives bytes
        if kind != b"blob" or not isinstance(data, bytes) or not isinstance(sha, bytes):
            return None
        verify_object(sha.decode(), kind, data, self._history.root)
        return data

    def read_ahead(self, blobs: list[str]) -> None:
        """Read ``blobs`` in one batch, for ``blob`` to hand out (one round trip instead of one
        each); a blob that cannot be read so is left to be read when asked for."""
        wanted = [b for b in dict.fromkeys(blobs) if b not in self._ahead]
        reader = BatchReader(self._history)
        held = 0
        try:
            for sha, kind, data in reader.read(wanted, missing_ok=True):
                if kind == b"blob":
                    self._ahead[sha] = data
                held += len(data)
                if held >= BLOBS_AHEAD:
                    break  # the rest are read when asked for
        except InputError:
            pass  # asked for again one by one, where its error is raised
        finally:
            reader.close()

    def blob_id(self, name: str) -> str | None:
        """The blob sha behind an object name, or None if absent."""
        try:
            answer: tuple[object, ...] = tuple(self._git.get_object_header(name))
        except ValueError:
            return None
        except OSError as exc:  # git cat-file died (an object it could not read)
            raise missing_object(name, self._history.root) from exc
        sha = answer[0]
        return sha.decode() if isinstance(sha, bytes) else None

    def versions(
        self, path: str, tips: list[str], each: Callable[[FileVersion], object] | None = None
    ) -> list[FileVersion]:
        """Every version of ``path`` reachable from ``tips``, oldest first, following renames.

        ``each`` is called with every version as git reports it (newest first), while git
        walks on: work on one version overlaps the search for the next. Where the same walk
        was begun ahead (``begin_versions``), its answer is taken (its blobs read in one
        batch, then ``each`` called); one begun for other tips is cancelled.
        """
        if not tips:
            return []
        early = self._history.early.pop(_versions_key(path, tips), None)
        if isinstance(early, EarlyVersions):
            return early.take(each, self)
        _cancel_others(self._history, path)  # their tips are not the run's: free the core
        return self._versions(path, tips, each)

    def _versions(
        self, path: str, tips: list[str], each: Callable[[FileVersion], object] | None
    ) -> list[FileVersion]:
        self._history.check_commits(tips, with_trees=True)
        # One walk over the registry and knightwatch.yaml together, without --follow: git then
        # reads the history once, not once per file. Where the walk shows the registry added,
        # ``_renamed_from`` asks git's --follow about that commit alone: a rename found there
        # is an older name, and every name is walked again, which finds where each of them
        # was added in turn.
        added: set[tuple[str, str]] = set()
        walked = self._walk([], [path, CONFIG_NAME], tips, _only(each, path), added)
        options = [v for v in walked if _under(v.path, CONFIG_NAME)]
        versions = [v for v in walked if _under(v.path, path)]
        # A registry moved without a rename git sees: every name knightwatch.yaml gave it.
        names = self._named_registries(tips, options) - {path}
        probed: set[tuple[str, str]] = set()
        followed: set[str] = set()
        names |= self._renamed_from(added, probed, followed) - {path}
        walked_names: set[str] = set()
        while names - walked_names:
            # Every name is walked without --follow, which sees all their versions: --follow
            # tracks one name for the whole walk, so once it has followed a rename back it
            # never returns to the older versions under the later name.
            walked_names = set(names)
            added = set()
            versions = self._walk([], [path, *sorted(names)], tips, each, added)
            names |= self._renamed_from(added, probed, followed) - {path}
        # What git read to find them is hashed beside the run's work on them; the run ends
        # (and writes its cache) only once it is (``GitHistory.checked``).
        every = [path, *sorted(names)]
        self._history.check_later(lambda: self._check_walked(every, followed))
        return versions

    def _renamed_from(
        self, added: set[tuple[str, str]], probed: set[tuple[str, str]], followed: set[str]
    ) -> set[str]:
        """The paths each of ``added`` (a commit, and a name of the registry that commit
        added) was renamed from, as git's ``--follow`` finds them: ``git log --no-walk
        --follow`` of those commits, which looks for a rename to the name in each one's whole
        diff (against each parent of a merge). Each pair is asked once (``probed``); every
        commit asked is added to ``followed``, whose diffs are hashed."""
        by_name: dict[str, list[str]] = {}
        for commit, name in sorted(added - probed):
            by_name.setdefault(name, []).append(commit)
        probed |= added
        sources: set[str] = set()
        for name, commits in sorted(by_name.items()):
            followed.update(commits)
            while commits:
                # Once --follow has found a rename it follows the older name: the commits
                # after that one are asked again, in a walk of their own.
                commits, found = self._follow(name, commits)
                sources |= found
        return sources

    def _follow(self, name: str, commits: list[str]) -> tuple[list[str], set[str]]:
        """Ask ``--follow`` about ``commits`` in turn, up to the first where it finds a rename
        to ``name``: the commits after that one, and the paths renamed to ``name`` there."""
        args = ["log", "--stdin", "--no-walk=unsorted", "--follow", "-m", "--raw", "--no-abbrev"]
        args += ["--format=%x00%H", "--", name]
        walk = git_records(self._git, args, commits, self._history.root, self._started)
        with contextlib.closing(walk) as records:  # stopped early: git is stopped too
            for record in records:
                found = _renamed(record, name)
                if found:
                    commit = next(_raw_lines(record))[0]
                    return commits[commits.index(commit) + 1 :], found
        return [], set()

    def _named_registries(self, tips: list[str], options: list[FileVersion]) -> set[str]:
        """Every path knightwatch.yaml named as the registry in its history, the default
        where a version named none (``checker.evidence.registry_names``), and, where it was a
        symbolic link, every path the file it led to named; so too where the configured path
        is in no commit: a ``knightwatch.yaml`` naming a path that never existed, in the
        commit that deleted ``flags.yaml``, left the DEAD rules without a registry and the
        check passed. The registry's first version being in a root commit proves nothing: a
        placeholder there, deleted since, or a second root merged in, would hide a move."""
        paths: set[str] = set()
        first: list[FileVersion] = []
        walked, pending = {CONFIG_NAME}, [CONFIG_NAME]
        links: dict[str, list[FileVersion]] = {}
        while pending and len(walked) <= _MAX_CONFIG_LINKS:
            config = pending.pop()
            versions_of = options if config == CONFIG_NAME else self._walk([], [config], tips, None)
            first = first or versions_of
            self._check_target(config, versions_of, links.get(config, []))
            contents = self._contents(versions_of)
            paths |= named((contents.get(v.blob or "") for v in versions_of if not v.link), False)
            for version, target in _link_targets(versions_of, contents, config):
                if target is None:  # settings from outside the repository: the default too
                    paths |= named([None], False)
                    self._unread([version], "a file outside the repository")
                elif target not in walked:
                    walked.add(target)
                    pending.append(target)
                links.setdefault(target or "", []).append(version)
        self._past_links(pending, links)
        if not first or _parents(self._history, first[0].commit):
            paths |= named([], before_first=True)
        return paths

    def _check_target(
        self, target: str, versions: list[FileVersion], linking: list[FileVersion]
    ) -> None:
        """Note the versions ``linking`` to ``target`` (links to it) as unread (``_unread``)
        where no commit holds ``target`` (``versions``: its history), and each commit that
        deleted ``target`` while one of those links still led to it: a run there read what
        the link led to through a folder linked in its place (``conf`` a link to
        ``settings``), or nothing, and that is in no history of ``target``. A
        knightwatch.yaml linked to ``conf/kw.yaml``, the folder ``conf`` moved to
        ``settings`` and linked in its place, hid the ``ops/flags.yaml`` that
        ``settings/kw.yaml`` named, and a flag retired there and written active into
        flags.yaml passed (exit 0)."""
        if not versions:
            self._unread(linking, f"{target}, which no commit holds")
        leads = {(v.path, v.blob) for v in linking}
        for version in versions:
            link = self._links_at(version.commit, leads) if version.blob is None else None
            if link is not None:
                held = FileVersion(version.commit, link, None)
                self._unread([held], f"{target}, which that commit deleted")

    def _links_at(self, commit: str, leads: set[tuple[str, str | None]]) -> str | None:
        """The path of the first of ``leads`` (a link's path and blob) ``commit`` holds as it
        was, if any."""
        if not leads:
            return None
        paths = sorted({path for path, _ in leads})
        check_paths(self._history, commit, paths)  # git believes the trees it reads
        proc = self._history.run_git(["ls-tree", "-z", commit, "--", *paths])
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace").strip()
            raise git_failed("ls-tree", stderr, self._history.root)
        for entry in proc.stdout.split(b"\0"):
            meta, _, name = entry.partition(b"\t")
            fields = meta.split()
            if len(fields) == 3 and fields[0] == b"120000":
                path = name.decode("utf-8", errors="surrogateescape")
                if (path, fields[2].decode("ascii")) in leads:
                    return path
        return None

    def _past_links(self, pending: list[str], links: dict[str, list[FileVersion]]) -> None:
        """Note the versions (``links``: by target) linked to each of ``pending``, past the
        files the walk follows (``_MAX_CONFIG_LINKS``), as unread (``_unread``)."""
        for target in pending:
            self._unread(links.get(target, []), f"{target}, past {_MAX_CONFIG_LINKS} links")

    def _unread(self, versions: list[FileVersion], where: str) -> None:
        """Note each of ``versions`` (of knightwatch.yaml, or of a file it led to) as a link
        to ``where``: the registry it named, if any, is in no commit, and its versions (the
        retirements they wrote) cannot be read. Read as naming the default, a knightwatch.yaml
        linked to ``../team.yaml``, which named ops/flags.yaml, hid that registry's history:
        a flag it retired, written active with a new purpose into a new flags.yaml, passed."""
        for version in versions:
            self._history.options_unread.setdefault(
                version.commit,
                f"{version.path} is a symbolic link to {where}: the flag registry it named "
                "there cannot be read from the history, nor the retirements its versions wrote "
                f"(keep {CONFIG_NAME} a file in the repository)",
            )

    def _contents(self, versions: list[FileVersion]) -> dict[str, bytes]:
        """The hashed bytes of each blob of ``versions``."""
        blobs = sorted({v.blob for v in versions if v.blob is not None})
        history = self._history
        return {sha: raw for sha, _, raw in read_verified(history.root, history.env, blobs)}

    def _check_walked(self, paths: list[str], followed: set[str]) -> None:
        """Hash what git read for itself to find the versions: every commit of the history,
        each one's root tree and the trees on the way to each of ``paths``, and both sides of
        every commit where --follow looked for a rename."""
        history = self._history
        trees = history.commits_checked()
        history.trees.paths(set(trees.values()), paths)
        pairs: list[tuple[str | None, str | None]] = []
        for commit, _, data in read_verified(history.root, history.env, sorted(followed)):
            parents = _raw_parents(data)  # -m: a merge is diffed against each of them
            pairs += [(trees[commit], trees[parent]) for parent in parents]
            if not parents:
                pairs.append((trees[commit], None))
        history.trees.diffs(pairs, with_blobs=True)

    def _walk(
        self,
        extra: list[str],
        paths: list[str],
        tips: list[str],
        each: Callable[[FileVersion], object] | None,
        added: set[tuple[str, str]] | None = None,
    ) -> list[FileVersion]:
        # --full-history: git's default simplification follows only the parent a merge took
        # the paths from, and never walks the other's history. A merge that kept a side
        # branch's registry hid the version before it on the branch merged into, and with it
        # the retirements it wrote (retired code still there passed DEAD-004). -m: a merge's
        # version against each parent it differs from; without it, git shows a merge no
        # diff, and a merge that took a side's registry, reviving a flag the other side had
        # retired, made no version at all (DEAD-002 passed).
        args = ["log", "--stdin", *extra, "--full-history", "-m", "--topo-order", "--raw"]
        args += ["--no-abbrev", "--format=%x00%H", "--", *paths]
        versions: list[FileVersion] = []
        seen: set[FileVersion] = set()  # a merge differing from two parents: one version
        records = git_records(self._git, args, sorted(set(tips)), self._history.root, self._started)
        for record in records:
            found = [v for v in _versions(record) if v not in seen]
            seen.update(found)
            for version in found:
                versions.append(version)
                if each is not None:
                    each(version)
            if added is not None:
                added.update(_added(record))
        versions.reverse()  # topological order lists children first
        return versions

    def object(self, sha: str) -> tuple[bytes, bytes]:
        """An object's type and raw bytes."""
        answer: tuple[object, ...] = tuple(self._git.get_object_data(sha))
        kind, data = answer[1], answer[3]
        if not isinstance(kind, bytes) or not isinstance(data, bytes):
            raise TypeError(f"unexpected answer for {sha}")
        return kind, data


def _versions_key(path: str, tips: list[str]) -> tuple[str, ...]:
    return ("versions", path, *sorted(set(tips)))


def begin_versions(history: GitHistory, path: str, tips: list[str]) -> None:
    """Begin ``GitContent.versions(path, tips)`` on a thread, unless it is begun already:
    git walks the history while the run reads its evidence or joins its commits."""
    key = _versions_key(path, tips)
    _cancel_others(history, path, key)  # a guess the run's tips have proved wrong
    if tips and key not in history.early:
        history.early[key] = EarlyVersions(history, path, tips)


def _cancel_others(history: GitHistory, path: str, key: tuple[str, ...] = ()) -> None:
    """Cancel each walk of ``path`` begun ahead but the one of ``key``."""
    for other in [k for k in history.early if k[:2] == ("versions", path) and k != key]:
        history.early.pop(other).cancel()


class EarlyVersions:
    """``GitContent.versions`` of one path and set of tips, walked on a thread before the run
    asks. It is the same git command over the same tips as the walk it stands in for, so it
    answers the same; it is taken only when the run asks for exactly those tips (a run whose
    tips are other cancels it: its git process is killed and its answer never read)."""

    def __init__(self, history: GitHistory, path: str, tips: list[str]) -> None:
        self._processes: list[subprocess.Popen[bytes]] = []
        self._cancelled = False
        self._found: list[FileVersion] = []
        self._reported: list[FileVersion] = []
        self._error: BaseException | None = None
        self._done = threading.Event()
        content = GitContent(history, started=self._started)
        self._thread = threading.Thread(
            target=self._walk, args=(content, path, tips), name="git log (early)", daemon=True
        )
        self._thread.start()

    def _walk(self, content: GitContent, path: str, tips: list[str]) -> None:
        try:
            self._found = content._versions(path, tips, self._reported.append)
        except BaseException as exc:  # handed to the thread that takes the answer
            self._error = exc
        finally:
            self._done.set()

    def _started(self, process: subprocess.Popen[bytes]) -> None:
        self._processes.append(process)
        if self._cancelled:  # cancelled between two of its walks
            process.kill()

    def take(
        self, each: Callable[[FileVersion], object] | None, content: GitContent
    ) -> list[FileVersion]:
        """The versions, once git has found them all (the walk's error, if it failed); their
        blobs are read into ``content`` in one batch, then ``each`` is called with every
        version git reported, as ``versions`` calls it. (git writes a walk in topological
        order only once it has read the whole history: nothing comes sooner to work on.)"""
        try:
            self._done.wait()  # an event, not the thread's join, which a signal can cut short
        except BaseException:  # interrupted: no git process outlives the run
            self.cancel()
            raise
        self._thread.join()
        if self._error is not None:
            raise self._error
        content.read_ahead([v.blob for v in self._reported if v.blob is not None])
        if each is not None:
            for version in self._reported:
                each(version)
        return self._found

    def cancel(self) -> None:
        """Kill the walk's git process and wait for its thread."""
        self._cancelled = True
        for process in self._processes:
            if process.poll() is None:
                process.kill()
        self._done.wait()
        self._thread.join()


BLOBS_AHEAD = 64 << 20
"""How many bytes of blobs are read ahead of being asked for, at most (and one blob more)."""


_MAX_CONFIG_LINKS = 40
"""How many files knightwatch.yaml's symbolic links are followed to, at most: as many as the
system follows in one path (Linux's ``MAXSYMLINKS``). Stopped after eight, a chain of ten
links led to a file naming ops/flags.yaml that went unwalked, and a flag retired there and
written active into flags.yaml passed (exit 0); a link to a file past the last followed is an
unreadable version (``_unread``), not one naming the default."""


def _link_targets(
    versions: list[FileVersion], contents: dict[str, bytes], path: str
) -> Iterator[tuple[FileVersion, str | None]]:
    """Each version of ``path`` that is a symbolic link, and where it leads
    (``_link_target``)."""
    for version in versions:
        if version.link and version.blob is not None:
            yield version, _link_target(contents[version.blob], path)


def _link_target(data: bytes, path: str) -> str | None:
    """Where the symbolic link at ``path`` whose blob is ``data`` leads, as a path from the
    repository's root (None: outside the repository, which no commit holds)."""
    target = data.decode("utf-8", errors="surrogateescape")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return None if joined.startswith(("../", "/")) or joined in ("..", ".") else joined


def _versions(record: bytes) -> list[FileVersion]:
    """The versions one ``git log --raw`` record (a commit and its changes) shows, a byte of
    a path that is no UTF-8 written as its escape (a path that can be printed)."""
    found = []
    for commit, meta, paths in _raw_lines(record):
        _, new_mode, _, new_blob, status = meta[1:].split(" ")
        blob = None if status.startswith("D") or new_blob == _NULL_BLOB else new_blob
        path = paths[-1].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        found.append(FileVersion(commit, path, blob, link=new_mode == "120000"))
    return found


_ADDED = ("A", "R", "C")


def _raw_lines(record: bytes) -> Iterator[tuple[str, str, list[str]]]:
    """Each change one ``git log --raw`` record shows: its commit, its meta (modes, blobs,
    status), and its paths (the source first where it was renamed or copied) as they are
    named, not as git writes them: with core.quotePath, git quotes a path with a byte
    outside printable ASCII, a quote or a backslash (``"fl\\303\\244gs.yaml"``). Read as
    written, such a registry's versions were of no path it was asked about (all of its
    history, with the retirements it held, vanished), and a name it was renamed from was
    handed back to git as a name no commit holds. A byte that is no UTF-8 is kept as itself
    (``surrogateescape``), so that the name handed back to git is the one it wrote."""
    lines = record.strip(b"\n").split(b"\n")
    commit = lines[0].strip().decode("ascii", errors="replace")
    for line in lines[1:]:
        if line.startswith(b":"):
            meta, *paths = line.split(b"\t")
            names = [unquote_c(p).decode("utf-8", errors="surrogateescape") for p in paths]
            yield commit, meta.decode("ascii", errors="replace"), names


def _added(record: bytes) -> list[tuple[str, str]]:
    """Each path the record's commit added (shown as added, or as renamed or copied), with
    the commit: where git's --follow would look for a rename to it."""
    return [
        (commit, paths[-1]) for commit, meta, paths in _raw_lines(record) if _status(meta) in _ADDED
    ]


def _renamed(record: bytes, name: str) -> set[str]:
    """The paths the record shows renamed or copied to ``name``."""
    return {
        paths[0]
        for _, meta, paths in _raw_lines(record)
        if _status(meta) in ("R", "C") and len(paths) == 2 and paths[1] == name
    }


def _status(meta: str) -> str:
    """A raw line's status letter (``R`` of ``R087``)."""
    return meta.rsplit(" ", 1)[-1][:1]


def _under(path: str, name: str) -> bool:
    """Whether a walk limited to ``name`` shows ``path``: it or what lies below it. git
    writes the path it shows as it normalises the one it was given (``./flags.yaml``,
    ``ops//flags.yaml`` and ``ops/./flags.yaml`` are ``flags.yaml`` and ``ops/flags.yaml``),
    and so is ``name`` compared: taken as written, a registry so named had no versions, and
    its retirements vanished."""
    name = posixpath.normpath(name)
    return path == name or path.startswith(name + "/")


def _only(
    each: Callable[[FileVersion], object] | None, name: str
) -> Callable[[FileVersion], object] | None:
    """``each``, called only with the versions of ``name``."""
    if each is None:
        return None
    return lambda version: each(version) if _under(version.path, name) else None


def _raw_parents(commit: bytes) -> tuple[str, ...]:
    """The parents a commit's raw bytes name, in order."""
    head = commit.split(b"\n\n", 1)[0].split(b"\n")
    return tuple(line[7:].decode() for line in head if line.startswith(b"parent "))


def commit_review_lines(
    history: GitHistory, shas: list[str], cache: FactCache = NO_CACHE
) -> dict[str, list[tuple[str, str]]]:
    """The ``Reviewed-by:``/``Approved-by:`` footer lines of each commit's message, then its
    ``Co-authored-by:`` lines (the rules are in ``checker.evidence.trailers``), read from the
    commit objects in one batch; commits without any are left out. A commit's lines depend
    on its object alone, so ``cache`` keeps them by commit id across runs."""
    known = cache.get(REVIEW_LINES, shas, _is_lines)
    reader = BatchReader(history)
    computed: dict[str, list[tuple[str, str]]] = {}
    try:
        for sha, kind, data in reader.read(sorted(set(shas) - known.keys())):
            if kind != b"commit":
                raise InputError(f"commit {sha} cannot be read", path=str(history.root))
            message = data.partition(b"\n\n")[2].decode("utf-8", errors="replace")
            computed[sha] = review_lines(message) + coauthor_lines(message)
    finally:
        reader.close()
    cache.put(REVIEW_LINES, computed)
    found = {sha: [(key, value) for key, value in lines] for sha, lines in known.items()}
    found.update(computed)
    return {sha: found[sha] for sha in sorted(found) if found[sha]}


REVIEW_LINES = "commit-review-lines"
"""Cache entries: a commit's review and co-author lines, ``[[key, value], ...]``."""


def _is_lines(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
        for pair in value
    )


_CHANGED_PATHS = [
    "diff-tree",
    "--stdin",
    "-r",
    "-m",
    "--root",
    "--always",
    "--name-only",
    "--no-renames",
    "--no-ext-diff",
    "--ignore-submodules=none",
    "-z",
    "--format=%x00%H",
]
"""Each commit's changed paths against each of its parents (``-m``: a merge once per parent),
a root commit's against nothing (``--root``), a rename as both of its names (``--no-renames``:
git's rename detection would show only the new one), whatever the repository's diff
configuration says. ``--always`` gives every commit a header, changes or not."""


def changed_paths(history: GitHistory, shas: list[str]) -> dict[str, set[str]]:
    """The paths each commit changed, in one ``git diff-tree --stdin`` over all of them (given
    in history order: git then reads neighbouring trees one after another, several times
    faster than in sha order); a merge's are those it changed against any of its parents.

    With ``-z`` a header is a NUL, the sha, a NUL, and a newline before the first path; a
    path is never empty, so an empty field marks the next header whatever the paths hold."""
    found: dict[str, set[str]] = {}
    current: set[str] | None = None
    header = first = False
    check_diffs(history, shas)
    records = git_records(history.repo.git, _CHANGED_PATHS, list(dict.fromkeys(shas)), history.root)
    for field in records:
        if not field:
            header = True
        elif header:
            current = found.setdefault(field.decode("ascii", errors="replace"), set())
            header, first = False, True
        elif current is not None:
            path = field[1:] if first and field.startswith(b"\n") else field
            first = False
            if path:
                current.add(path.decode("utf-8", errors="surrogateescape"))
    return found


def check_diffs(history: GitHistory, shas: Iterable[str], *, with_blobs: bool = False) -> None:
    """Hash the trees ``diff-tree`` reads for each commit and each of its parents (a root
    commit: its whole tree), and ``with_blobs`` the blobs that differ (what its rename
    detection, ``-M``, reads)."""
    parents = {sha: _parents(history, sha) for sha in set(shas)}
    pairs = [(sha, p) for sha, ps in parents.items() for p in ps or (None,)]
    check_commit_diffs(history, pairs, with_blobs=with_blobs)


def check_copy_sources(history: GitHistory, shas: Iterable[str]) -> None:
    """Hash every tree and blob of each commit's parents, what ``diff-tree
    --find-copies-harder`` reads: a copy may come from any file of the parent, changed by
    the commit or not."""
    parents = {p for sha in set(shas) for p in _parents(history, sha)}
    history.trees.whole(_root_trees(history, parents).values())
    blobs: set[str] = set()
    for parent in sorted(parents):
        proc = history.run_git(["ls-tree", "-r", "-z", parent])
        if proc.returncode != 0:
            raise git_failed("ls-tree", proc.stderr.decode(errors="replace").strip(), history.root)
        for entry in proc.stdout.split(b"\0"):
            fields = entry.partition(b"\t")[0].split()
            if len(fields) == 3 and fields[1] == b"blob":
                blobs.add(fields[2].decode("ascii"))
    for _ in read_verified(history.root, history.env, sorted(blobs)):
        pass


def check_commit_diffs(
    history: GitHistory, pairs: Iterable[tuple[str, str | None]], *, with_blobs: bool = False
) -> None:
    """Hash the trees git's diff of each pair of commits reads (``diff-tree A B``; a commit
    against None: its whole tree), as their hashed bytes name their root trees."""
    pairs = list(pairs)
    trees = _root_trees(history, {c for pair in pairs for c in pair if c is not None})
    roots = [(trees[a], trees[b] if b is not None else None) for a, b in pairs]
    history.trees.diffs(roots, with_blobs=with_blobs)


def check_paths(history: GitHistory, commit: str, paths: Iterable[str]) -> None:
    """Hash the trees ``ls-tree COMMIT -- PATHS`` reads: the root tree and every tree on the
    way to each of ``paths``."""
    history.trees.paths(_root_trees(history, {commit}).values(), paths)


_OWN_CHANGE = [
    "diff-tree",
    "-p",
    "-U0",
    "--binary",
    "--full-index",
    "--no-renames",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--ignore-submodules=none",
]
"""A commit's patch against one tree, without context lines, whatever the repository's diff
configuration says."""


def own_change(history: GitHistory, sha: str) -> bytes:
    """The change commit ``sha`` makes to its first parent (a root commit: to nothing), as the
    lines it adds and removes in each file: line numbers and blob ids are left out, so that
    the same change rebased onto another parent reads the same. The trees and blobs read are
    hash-checked first."""
    parents = _parents(history, sha)
    base = parents[0] if parents else None
    check_commit_diffs(history, [(sha, base)], with_blobs=True)
    proc = history.run_git([*_OWN_CHANGE, *((base, sha) if base else ("--root", sha))])
    if proc.returncode != 0:
        raise git_failed("diff-tree", proc.stderr.decode(errors="replace").strip(), history.root)
    lines = proc.stdout.split(b"\n")
    return b"\n".join(line for line in lines if not line.startswith((b"@@", b"index ")))


def commit_parents(history: GitHistory, sha: str) -> tuple[str, ...]:
    """The parents of commit ``sha``, in order, as its hashed bytes name them."""
    return _parents(history, sha)


def _parents(history: GitHistory, sha: str) -> tuple[str, ...]:
    commit = history.commits.get(sha)
    if commit is not None:
        return commit.parents
    _, data = next(iter(read_verified(history.root, history.env, [sha])))[1:]
    return _raw_parents(data)


def _root_trees(history: GitHistory, commits: set[str]) -> dict[str, str]:
    """Each commit's root tree, as its hashed bytes name it."""
    checked = history.commits_checked()
    trees = {c: checked[c] for c in commits if c in checked}
    missing = sorted(commits - trees.keys())
    for sha, _, data in read_verified(history.root, history.env, missing):
        trees[sha] = data[5 : data.index(b"\n")].decode()
    return trees


def tracked_paths(history: GitHistory, commit: str) -> list[str]:
    """Every file in ``commit``'s tree (``git ls-tree -r``), as paths."""
    history.trees.whole(_root_trees(history, {commit}).values())
    proc = history.run_git(["ls-tree", "-r", "-z", "--name-only", commit])
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise git_failed("ls-tree", stderr, history.root)
    return [p.decode("utf-8", errors="surrogateescape") for p in proc.stdout.split(b"\0") if p]


def symbolic_links(history: GitHistory, commit: str) -> set[str]:
    """The paths in ``commit``'s tree that are symbolic links (mode 120000)."""
    history.trees.whole(_root_trees(history, {commit}).values())
    proc = history.run_git(["ls-tree", "-r", "-z", commit])
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise git_failed("ls-tree", stderr, history.root)
    links = set()
    for entry in proc.stdout.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        if meta.startswith(b"120000 "):
            links.add(name.decode("utf-8", errors="surrogateescape"))
    return links


class BatchReader:
    """One persistent ``git cat-file --batch`` process, fed many object names at once.

    Requests go in from a writer thread while answers are read, so thousands of objects cost
    one round trip instead of one each, and every batch shares the one process.
    """

    def __init__(self, history: GitHistory) -> None:
        self._root = history.root
        self._git = history.repo.git
        self._proc: subprocess.Popen[bytes] | None = None
        self._handle: object = None  # GitPython ends the process when its handle is dropped

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            process = self._git.execute(
                ["git", "cat-file", "--batch"], as_process=True, istream=subprocess.PIPE
            )
            proc = process.proc
            if proc is None or proc.stdin is None or proc.stdout is None:
                raise RuntimeError("git cat-file did not start with pipes")
            self._proc, self._handle = proc, process
        return self._proc

    def read(
        self, names: list[str], *, missing_ok: bool = False
    ) -> Iterator[tuple[str, bytes, bytes]]:
        """(name, type, bytes) for each name, in order. An object git cannot read (missing
        from the object store, or damaged) is an input error: every object asked for is named
        by a commit or tree of the history, so it must be there, and read as empty it would
        hide a file's flag names or a tree's files. With ``missing_ok`` (reading ahead, where
        the object is asked for again) it gives type ``b""``."""
        if not names:
            return
        proc = self._process()
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("git cat-file lost its pipes")
        request = "".join(f"{name}\n" for name in names).encode()

        def feed() -> None:
            with contextlib.suppress(OSError, ValueError):  # the process was killed, or closed
                stdin.write(request)
                stdin.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        answered = 0
        try:
            for name in names:
                answered += 1
                line = stdout.readline()
                if not line:
                    raise InputError("git cat-file stopped answering", path=str(self._root))
                header = line.split()
                if len(header) != 3:  # "<name> missing" or "<name> ambiguous"
                    if not missing_ok:
                        raise missing_object(name, self._root)
                    yield name, b"", b""
                    continue
                data = stdout.read(int(header[2]))
                stdout.read(1)
                verify_object(header[0].decode(), header[1], data, self._root)
                yield name, header[1], data
        finally:
            if answered < len(names):  # abandoned part way: the stream is out of step
                proc.kill()
                self._proc, self._handle = None, None
            writer.join()

    def close(self) -> None:
        """End the process; reading again starts a new one."""
        proc = self._proc
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            if proc.stdout is not None:
                proc.stdout.read()
            proc.wait()
        self._proc, self._handle = None, None


_WORD = re.compile(rb"[A-Za-z0-9_]+")
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


_KEBAB = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)+")
"""A kebab-case name (``power-peg``): words joined by single hyphens."""


@functools.lru_cache(maxsize=1 << 12)
def _word_pattern(word: str) -> re.Pattern[bytes]:
    """Where ``word``, which is not one ``_WORD`` token, stands as a whole word: no letter,
    digit or ``_`` on either side; and for a kebab-case name, no hyphen joining it to more of
    them either (``power-peg`` is not in ``power-peg-v2`` or ``x-power-peg``, as ``power_peg``
    is not in ``power_peg_v2``; it is in ``--power-peg`` and ``"power-peg-" + suffix``)."""
    body = re.escape(word.encode())
    if _KEBAB.fullmatch(word):
        return re.compile(
            rb"(?<![A-Za-z0-9_])(?<![A-Za-z0-9_]-)" + body + rb"(?![A-Za-z0-9_]|-[A-Za-z0-9_])"
        )
    return re.compile(rb"(?<![A-Za-z0-9_])" + body + rb"(?![A-Za-z0-9_])")


def _wide_text(data: bytes) -> list[bytes]:
    """``data`` as UTF-8, where it may be text in UTF-16 or UTF-32: by its byte-order mark, or
    (without one) wherever it holds a NUL byte, decoded in each of those encodings and both
    byte orders (what does not decode is dropped, not guessed). A file is not judged by its
    first bytes: white space or text that has no NUL byte in UTF-16 can come first."""
    for mark, codec in _WIDE_BOMS:
        if data.startswith(mark):
            return [data[len(mark) :].decode(codec, errors="ignore").encode()]
    if b"\0" not in data:
        return []
    codecs = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    return [data.decode(codec, errors="ignore").encode() for codec in codecs]


def _texts(files: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The texts ``files`` are read as: their bytes, their text where they are UTF-16 or UTF-32
    (``_wide_text``), and the code of a notebook's cells (``_notebook_code``)."""
    texts = (*files, *(wide for one in files for wide in _wide_text(one)))
    return (*texts, *(code for one in texts for code in _notebook_code(one)))


_JSON_OBJECT = re.compile(rb"[ \t\r\n]*\{")


def _notebook_code(data: bytes) -> list[bytes]:
    """The code of a Jupyter notebook (``.ipynb``, JSON holding ``cells``), its code cells'
    sources one after another, for ``data`` that is one; nothing otherwise. In the notebook's
    JSON each line of code is a quoted string (``"    qty = order.quantity\\n",``): retired
    code pasted into a notebook's cell shared no line with it, and passed (exit 0), while
    Jupyter, papermill or ``nbconvert --execute`` run it. Its keys are read as JSON reads them,
    escapes too (``"\\u0063ells"`` is ``cells``), and a notebook of format 3 (cells in
    ``worksheets``, code in ``input``), which Jupyter still opens and runs, as one of 4."""
    if not _JSON_OBJECT.match(data) or (b'"cells"' not in data and b"\\u" not in data):
        return []
    try:
        code = [_cell_code(cell) for cell in _notebook_cells(json.loads(data))]
    except (ValueError, RecursionError):
        return []
    found = [one for one in code if one is not None]
    return ["\n".join(found).encode("utf-8", "surrogatepass")] if found else []


def _notebook_cells(notebook: object) -> list[object]:
    """The cells of a notebook's JSON: its ``cells``, or (format 3) its worksheets'."""
    if not isinstance(notebook, dict):
        return []
    sheets = notebook.get("worksheets")
    if isinstance(sheets, list):
        return [
            cell
            for sheet in sheets
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list)
            for cell in sheet["cells"]
        ]
    cells = notebook.get("cells")
    return cells if isinstance(cells, list) else []


def _cell_code(cell: object) -> str | None:
    """The code of a notebook's code cell (its ``source``, or ``input`` in format 3), a string
    or a list of them; None for another cell."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    source = cell.get("source", cell.get("input"))
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else None


def _as_text(data: bytes) -> bytes:
    """``data`` as UTF-8 where a byte-order mark says it is UTF-16 or UTF-32 (``_wide_text``),
    as it is otherwise: the lines of retired code saved as "Unicode" are its text's."""
    if any(data.startswith(mark) for mark, _ in _WIDE_BOMS):
        return _wide_text(data)[0]
    return data


BLOB_MARK = "\0blob "
"""What ``TreeIndex.search`` finds in a file that is one of the blobs it was asked to find,
before the blob's id (``blob_mark``): as with ``LFS_POINTER``, no flag name can be it."""


def blob_mark(blob: str) -> str:
    """The word ``TreeIndex.search`` finds in a file whose blob is ``blob``."""
    return BLOB_MARK + blob


LFS_POINTER = "\0git-lfs pointer"
"""What ``TreeIndex.search`` finds in a Git LFS pointer, beside the words searched: no searched
word can be it (a flag name holds no control character), so a root tree's and a blob's answers
carry it, and are kept in the cache, like any word's."""
GIT_CRYPT = "\0git-crypt file"
"""What ``TreeIndex.search`` finds, as it finds ``LFS_POINTER``, in a file git-crypt encrypted:
its clean filter stores ``\\0GITCRYPT\\0``, a nonce and the ciphertext (git-crypt itself
knows its files by those ten bytes), and a checkout with the key decrypts the file in its
place, so the code it holds is not in the repository in a form that can be searched."""
_GIT_CRYPT_HEADER = b"\0GITCRYPT\0"
UNPACKED_IN_PART = {reason: "\0archive " + reason for reason in REASONS}
"""What ``TreeIndex.search`` finds, as it finds ``LFS_POINTER``, in a compressed file it could
not search whole, one word for each reason (``archives.REASONS``): past the unpacking budget,
nested too deeply, damaged, encrypted, or compressed by a method not read."""
_MARKS = frozenset({LFS_POINTER, GIT_CRYPT, *UNPACKED_IN_PART.values()})
"""The words every search finds beside those it was asked for."""
_LFS_VERSIONS = (
    b"https://git-lfs.github.com/spec/v1",
    b"https://hawser.github.com/spec/v1",
    b"http://git-media.io/v/2",
)
"""The version lines git-lfs reads as its pointer format v1 (the spec's, and its two older
names, which git-lfs still smudges)."""
_LFS_POINTER_MAX = 1024
"""How much of a blob git-lfs reads to decide whether it is a pointer."""
_LFS_FIRST_LINES = frozenset(b"version " + version for version in _LFS_VERSIONS)


def is_lfs_pointer(data: bytes) -> bool:
    """Whether git-lfs could take a blob for a pointer, and check out in its place a file
    whose content is not in the repository: read as git-lfs reads one (``DecodeFrom`` in its
    lfs/pointer.go), its first 1024 bytes, white space trimmed at both ends, with a first
    line (a carriage return before its line feed dropped; blank lines and extensions'
    ``ext-N-NAME`` lines skipped) that is ``version`` and one of the pointer format's URLs.
    Wider than git-lfs, which also wants an ``oid`` and a ``size``: taking a file for a
    pointer never stops its text being searched, it only says the rules could not see what a
    checkout may hold instead; narrower rules missed pointers with CRLF line ends, a blank
    first line, more than 1024 bytes, or an extension's line first, all of which git-lfs
    reads."""
    head = data[:_LFS_POINTER_MAX].decode("utf-8", errors="replace").strip()
    for line in head.split("\n"):
        line = line.removesuffix("\r")
        if line and not _LFS_EXTENSION.match(line):  # git-lfs skips blank and ext- lines
            return line.encode() in _LFS_FIRST_LINES
    return False


_LFS_EXTENSION = re.compile(r"ext-\d-\w+")
"""A pointer extension's key (git-lfs's ``extRE``): git-lfs reads such a line wherever it
stands, before ``version`` too, and then runs the extension's smudge on checkout."""


def _parse_tree(data: bytes) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """A raw tree object's entries, (name, object id, is a tree), and apart from them the
    names of its symbolic links and submodules (no code of ours to search, but a path all
    the same). What an entry is, its mode says as git reads it (``entry_kind``)."""
    entries, links = [], []
    for mode, raw, sha in _TREE_ENTRY.findall(data):
        name = raw.decode("utf-8", errors="backslashreplace")
        kind = _GIT_MODES.get(mode) or entry_kind(mode, raw)
        if kind in ("link", "submodule"):
            links.append(name)
        else:
            entries.append((name, sha.hex(), kind == "tree"))
    return entries, links


_GIT_MODES: dict[bytes, EntryKind] = {b"100644": "blob", b"100755": "blob", b"40000": "tree"}
"""The modes git writes for files and directories, known without reading them as numbers (a
month's trees hold millions of entries); any other spelling is read by ``entry_kind``."""


class TreeIndex:
    """The files of many commits, read breadth first in batches, every answer cached by id.

    ``load`` reads the commits and their root trees; ``search`` every tree below them not seen
    before, then every blob not seen before, keeping of a blob only the searched words it
    holds, never its bytes. What a blob or a root tree holds of the words searched is kept
    in the cache across runs (``checker.evidence.searched``).
    """

    def __init__(self, history: GitHistory, cache: FactCache = NO_CACHE) -> None:
        self._reader = BatchReader(history)
        self._cache = cache
        self._trees: dict[str, list[tuple[str, str, bool]]] = {}
        self._links: dict[str, list[str]] = {}
        """Each tree's symbolic links and submodules, by name (``entries`` leaves them out)."""
        self._roots: dict[str, str] = {}
        self._parents: dict[str, tuple[str, ...]] = {}
        self._loaded: set[str] = set()
        """The commits ``search`` walks (``load``)."""
        self._words_in_blob: dict[str, frozenset[str]] = {}
        self._words_in_tree: dict[str, dict[str, list[str]]] = {}
        self._prefixed_words: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._globbed: dict[tuple[str, str, str], list[str]] = {}
        self._names: dict[bytes, str] = {}
        """The words searched that are one ``_WORD`` token each, by their bytes."""
        self._tokens: frozenset[bytes] = frozenset()
        """Those and every token of the other words searched: all a file's tokens told apart."""
        self._joined: dict[bytes, list[tuple[str, frozenset[bytes], bytes | None]]] = {}
        """The other words searched, each under one of its tokens (the first of the flag's own),
        with all its tokens and, for a kebab-case word, its bytes: only a file that holds all
        its tokens can hold it, and only such a file is searched for it, a kebab-case word
        among the file's runs (``identifiers.KEBAB_RUN``), any other with its pattern (one
        pattern per word and file was too slow for 100,000 files; each is compiled when first
        needed)."""
        self._tokenless: list[tuple[str, re.Pattern[bytes]]] = []
        """The words searched that hold no ``_WORD`` token: every file is searched for each."""
        self._identifiers = Identifiers(())
        """A file's tokens, its runs of them joined by hyphens, and those ending with a flag's
        words (``endings.ending``)."""
        self._sought: frozenset[str] = frozenset()
        """The blobs searched for by id (``search``'s ``blobs``)."""
        self._held: dict[frozenset[str], dict[str, list[tuple[str, str]]]] = {}
        self._likeness = Likeness()
        """The blobs sought that are sought by likeness too (``search``)."""
        self._own: dict[str, tuple[str, ...]] = {}
        """By blob sought, the readings of its own comments (``likeness.own_readings``)."""
        self._read_as: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}
        """By blob and readings of its comments, the words it holds so read (``_named_words``)."""
        """By set of blobs, the files below each tree walked that hold one (``holding``)."""

    def __enter__(self) -> TreeIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the git process behind the index; its answers stay cached."""
        self._reader.close()

    def search(
        self,
        words: set[str],
        blobs: Collection[str] = (),
        names: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Search every file below the loaded commits for ``words``, as whole words (like
        ``git grep -w``), reading each blob once in one batch; find the Git LFS pointers
        among them (``LFS_POINTER``: their content is not in the repository to search); and
        the files that are one of ``blobs``, each found as the word ``blob_mark(blob)``, and
        those alike to one (an edited copy, ``likeness``), as ``like_mark(blob)``. Where
        ``names`` gives, by blob, the paths it had, a file is alike to it read as its own
        name's language reads comments or as the blob's does (``likeness.own_readings``)."""
        read = {b: _as_text(data) for b, _, data in self._reader.read(sorted(blobs))}
        self._likeness = Likeness(read)
        words = self._looking_for(words, blobs) | self._likeness.words() | self._owning(read, names)
        self._words_in_blob.clear()
        self._read_as.clear()
        self._words_in_tree.clear()
        self._prefixed_words.clear()
        # A root tree the cache knows for these words is not walked at all; below the others,
        # a blob the cache knows is not read.
        searched = {self._roots[commit] for commit in self._loaded}
        in_roots = SearchedWords(self._cache, words, ROOT_WORDS)
        self._words_in_tree.update(in_roots.known(sorted(searched)))
        walked = self._subtrees({r for r in searched if r not in in_roots.found})
        unread = sorted({sha for t in walked for _, sha, is_tree in self._trees[t] if not is_tree})
        in_blobs = SearchedWords(self._cache, words, BLOB_WORDS)
        self._words_in_blob.update(in_blobs.known(unread))
        computed: dict[str, frozenset[str]] = {}
        for blob, _, data in self._reader.read([b for b in unread if b not in in_blobs.found]):
            computed[blob] = self._words(blob, data)
        in_blobs.keep(computed)
        self._words_in_blob.update(computed)
        roots = {r for r in searched if r not in in_roots.found}
        in_roots.keep({root: self._tree_words(root) for root in sorted(roots)})

    def _owning(
        self, read: dict[str, bytes], names: Mapping[str, Collection[str]] | None
    ) -> set[str]:
        """Set up the readings of each sought blob's own comments (``likeness.own_readings``),
        where ``names`` are given; a word for each, so that a cached answer found with others
        is not taken."""
        self._own = {}
        if names is not None:
            self._own = {b: own_readings(names.get(b, ()), data) for b, data in read.items()}
        return {f"\0reads {b} {','.join(r)}" for b, r in self._own.items()}

    def _looking_for(self, words: set[str], blobs: Collection[str]) -> set[str]:
        """Set up the search for ``words`` and ``blobs``; every word it finds."""
        self._sought = frozenset(blobs)
        others = sorted(w for w in words - _MARKS if not w.startswith(MARKERS))
        self._identifiers = Identifiers([w for w in words if w.startswith(MARKERS)])
        self._names = {w.encode(): w for w in others if _WORD.fullmatch(w.encode())}
        self._joined, self._tokenless = {}, []
        tokens = set(self._names)
        # Each other word is looked for on its own, so that what a blob holds of a set of
        # words is the union of what it holds of each: the cache may then answer for any
        # subset it searched.
        for word in (w for w in others if w.encode() not in self._names):
            parts = _WORD.findall(word.encode())
            if parts:
                tokens.update(parts)
                # Filed under a part of the flag's own (``power``, not ``enable`` of
                # ``enable-power-peg``): a file holding ``enable`` is not then tried against
                # every flag's ``enable-`` spelling.
                key = next((p for p in parts if p.decode().lower() not in AFFIXES), parts[0])
                kebab = word.encode() if _KEBAB.fullmatch(word) else None
                self._joined.setdefault(key, []).append((word, frozenset(parts), kebab))
            else:
                self._tokenless.append((word, _word_pattern(word)))
        self._tokens = frozenset(tokens)
        return words | _MARKS | {blob_mark(blob) for blob in blobs}

    def load(self, commits: list[str]) -> None:
        """Read ``commits`` and their root trees, in batches; ``search`` reads the trees below
        the roots it must walk (those of the commits loaded so, not of those only looked at)."""
        self._loaded.update(commits)
        self._read_roots(commits)

    def _read_roots(self, commits: list[str]) -> None:
        wanted = sorted({c for c in commits if c not in self._roots})
        for commit, _, data in self._reader.read(wanted):
            self._roots[commit] = data.split(b"\n", 1)[0].removeprefix(b"tree ").decode()
            self._parents[commit] = _raw_parents(data)
        self._read_trees({self._roots[c] for c in commits})

    def _read_trees(self, trees: set[str]) -> None:
        for tree, _, data in self._reader.read(sorted(trees - self._trees.keys())):
            self._trees[tree], self._links[tree] = _parse_tree(data)

    def _subtrees(self, roots: set[str]) -> set[str]:
        """Every tree below ``roots`` (and they), reading those not read yet, breadth first,
        one batch a level."""
        seen: set[str] = set()
        level = roots
        while level:
            seen |= level
            self._read_trees(level)
            level = {sha for t in level for _, sha, is_tree in self._trees[t] if is_tree} - seen
        return seen

    def _words(self, blob: str, data: bytes) -> frozenset[str]:
        """The names searched for that ``data`` (the bytes of ``blob``) holds, and the blob's
        mark where it is sought by id. Every file is searched, a file git would call binary too
        (a NUL byte in a comment hid a reference from ``git grep -I``), text in UTF-16 or
        UTF-32 (Visual Studio's "Unicode") as its text, and a compressed file (a ``.jar``, a
        ``.tar.gz``) as what it holds too (``archives.unpacked``), marked where that could not
        all be read (``UNPACKED_IN_PART``)."""
        tokens: set[str] = {LFS_POINTER} if is_lfs_pointer(data) else set()
        if data.startswith(_GIT_CRYPT_HEADER):
            tokens.add(GIT_CRYPT)
        if blob in self._sought:
            tokens.add(blob_mark(blob))
        inner = unpacked(data, tar_files=bool(self._sought))
        tokens.update(UNPACKED_IN_PART[reason] for reason in inner.unsearched)
        tokens.update(self._sought_within(inner))
        files = (data, *inner.contents)
        texts = _texts(files)
        tokens.update(self._likeness.marks(texts, parts=True, tagged=True))  # in UTF-16 too
        for text in texts:
            found, hyphenated, ending = self._identifiers.read(text)
            held = self._tokens.intersection(found)
            for token in held:
                if token in self._names:
                    tokens.add(self._names[token])
            if not self._joined.keys().isdisjoint(held):
                tokens.update(self._joined_in(text, held, hyphenated))
            if ending:
                tokens.update(word.decode() for word in ending)
            tokens.update(word for word, pattern in self._tokenless if pattern.search(text))
        return frozenset(tokens)

    def _sought_within(self, inner: Unpacked) -> set[str]:
        """The marks of the blobs sought (``blob_mark``) that a compressed file holds as one of
        its files: a zip's member, a gzip's stream (``peg.py.gz``), a tar's file, at any level
        unpacked. Retired code vendored as ``vendor/peg.zip`` is still the retired code, whose
        blob was sought at its path alone, and DEAD-004 passed."""
        if not self._sought or not (inner.contents or inner.tar_files):
            return set()
        algorithm = "sha1" if len(next(iter(self._sought))) == 40 else "sha256"
        ids = (
            hashlib.new(algorithm, b"blob %d\0" % len(held) + held).hexdigest()
            for held in (*inner.contents, *inner.tar_files)
        )
        return {blob_mark(blob) for blob in ids if blob in self._sought}

    def _joined_in(self, text: bytes, held: frozenset[bytes], runs: set[bytes]) -> Iterator[str]:
        """The words of ``_joined`` that ``text`` holds (``held``: its tokens searched). A
        kebab-case word is looked up among the text's runs (``runs``: those with a hyphen),
        found once for all of them: a flag's affixed spellings (``enable-power-peg``,
        ``is-power-peg-on``) are sixty-odd kebab words, whose tokens (``is``, ``on``,
        ``enable``) most code holds, and a pattern searched for each made a file holding a
        flag's words cost ten to forty times more."""
        for token in held:
            for word, parts, kebab in self._joined.get(token, ()):
                if not parts <= held:
                    continue
                if kebab is None:
                    if _word_pattern(word).search(text):
                        yield word
                    continue
                if kebab in runs:
                    yield word

    def root(self, commit: str) -> str:
        """The commit's root tree."""
        if commit not in self._roots:
            self._read_roots([commit])
        return self._roots[commit]

    def parents(self, commit: str) -> tuple[str, ...]:
        """The commit's parents, in order."""
        if commit not in self._parents:
            self._read_roots([commit])
        return self._parents[commit]

    def entries(self, tree: str) -> list[tuple[str, str, bool]]:
        """A tree's entries: (name, object id, is a tree), symlinks and submodules left out."""
        if tree not in self._trees:
            for _, _, data in self._reader.read([tree]):
                self._trees[tree], self._links[tree] = _parse_tree(data)
        return self._trees[tree]

    def contents(self, blobs: Collection[str]) -> dict[str, bytes]:
        """The bytes of ``blobs``, read in one batch (kept by no one: read them once)."""
        return {blob: data for blob, _, data in self._reader.read(sorted(set(blobs)))}

    def words(self, blob: str) -> frozenset[str]:
        """The words searched for (``search``) that ``blob`` holds, read now if no loaded
        commit's tree holds it: the marks of likeness found in any reading of its comments
        (``likeness.readable``), as no name says which."""
        return frozenset(readable(self._blob_words(blob), None))

    def _blob_words(self, blob: str) -> frozenset[str]:
        if blob not in self._words_in_blob:
            for _, _, data in self._reader.read([blob]):
                self._words_in_blob[blob] = self._words(blob, data)
        return self._words_in_blob[blob]

    def _named_words(self, blob: str, name: str) -> Collection[str]:
        """The words ``blob`` holds as a file named ``name``: the marks of likeness found in
        the readings of its comments that its name's language makes (``likeness.readable``):
        Python's ``n // 2`` is no comment, C's is."""
        key = (blob, readings_of(name))
        found = self._read_as.get(key)
        if found is None:
            words = self._blob_words(blob)
            tagged = any(word.startswith(TAGS) for word in words)
            own = readable(words, name, self._own) if tagged else words
            found = self._read_as[key] = frozenset(own)
        return found

    def _tree_words(self, tree: str) -> dict[str, list[str]]:
        if tree not in self._words_in_tree:
            found: dict[str, list[str]] = {}
            for name, sha, is_tree in self.entries(tree):
                if is_tree:
                    for word, paths in self._prefixed(name, sha).items():
                        found.setdefault(word, []).extend(paths)
                else:
                    for word in self._named_words(sha, name):
                        found.setdefault(word, []).append(name)
            self._words_in_tree[tree] = found
        return self._words_in_tree[tree]

    def _prefixed(self, name: str, tree: str) -> dict[str, list[str]]:
        """A subtree's word lists with its name in front of each path, made once per name and
        tree: the trees of a long history differ in a few entries, and the paths below the
        unchanged ones are the same strings in every commit, not new ones each time."""
        key = (name, tree)
        if key not in self._prefixed_words:
            self._prefixed_words[key] = {
                word: [f"{name}/{p}" for p in paths]
                for word, paths in self._tree_words(tree).items()
            }
        return self._prefixed_words[key]

    def references(self, commit: str) -> dict[str, list[str]]:
        """The files of ``commit`` naming each searched word, sorted; under ``LFS_POINTER``,
        those that are Git LFS pointers, under ``GIT_CRYPT`` those git-crypt encrypted, and
        under each of ``UNPACKED_IN_PART`` the compressed files not searched whole.

        The lists come out sorted already: trees are walked in git's entry order, which for
        whole paths is the order of their bytes. They are shared: do not change them.
        """
        return dict(sorted(self._tree_words(self.root(commit)).items()))

    def lookup(self, commit: str, path: str) -> str | None:
        """The blob at ``path`` in ``commit``, or None."""
        tree = self.root(commit)
        parts = path.strip("/").split("/")
        for index, part in enumerate(parts):
            match = next((e for e in self.entries(tree) if e[0] == part), None)
            if match is None:
                return None
            if index == len(parts) - 1:
                return None if match[2] else match[1]
            if not match[2]:
                return None
            tree = match[1]
        return None

    def matching(self, commit: str, pattern: str) -> list[str]:
        """Files of ``commit`` a ``retired_code`` entry covers (``covers``): the path itself,
        everything under it if it is a directory, or what it matches as a glob."""
        return sorted(self._glob(self.root(commit), "", pattern.strip("/")))

    def blobs_matching(self, commit: str, pattern: str) -> dict[str, str]:
        """The files of ``commit`` a ``retired_code`` entry covers that are files (no link or
        submodule), with their blobs, by path."""
        found = {path: self.lookup(commit, path) for path in self.matching(commit, pattern)}
        return {path: blob for path, blob in found.items() if blob is not None}

    def holding(self, commit: str, blobs: frozenset[str]) -> list[tuple[str, str]]:
        """Every file of ``commit`` whose blob is one of ``blobs``: (path, blob). Each tree is
        walked once for the same ``blobs``, its trees not read yet read in batches first: a
        history's commits share most of their trees."""
        self._subtrees({self.root(commit)})  # the trees not read yet, in batches
        return self._holding(self.root(commit), blobs, self._held.setdefault(blobs, {}))

    def _holding(
        self, tree: str, blobs: frozenset[str], held: dict[str, list[tuple[str, str]]]
    ) -> list[tuple[str, str]]:
        if tree not in held:
            found: list[tuple[str, str]] = []
            for name, sha, is_tree in self.entries(tree):
                if is_tree:
                    below = self._holding(sha, blobs, held)
                    found.extend((f"{name}/{path}", blob) for path, blob in below)
                elif sha in blobs:
                    found.append((name, sha))
            held[tree] = found
        return held[tree]

    def _glob(self, tree: str, prefix: str, pattern: str) -> list[str]:
        key = (tree, prefix, pattern)
        if key not in self._globbed:
            found: list[str] = []
            for name, sha, is_tree in self.entries(tree):
                path = f"{prefix}{name}"
                if is_tree and covers(pattern, path):
                    found.extend(self._below(sha, path + "/"))
                elif is_tree and _may_match(pattern, path):
                    found.extend(self._glob(sha, path + "/", pattern))
                elif not is_tree and covers(pattern, path):
                    found.append(path)
            found.extend(_links_matching(self._links[tree], prefix, pattern))
            self._globbed[key] = found
        return self._globbed[key]

    def _below(self, tree: str, prefix: str) -> list[str]:
        """Every file, symbolic link and submodule below ``tree``, as paths under ``prefix``
        (walked, not globbed: a folder named ``[old]`` is a class to a glob)."""
        key = (tree, prefix, "")
        if key not in self._globbed:
            entries = self.entries(tree)  # read first: it also reads the links
            found = [f"{prefix}{name}" for name in self._links[tree]]
            for name, sha, is_tree in entries:
                if is_tree:
                    found.extend(self._below(sha, f"{prefix}{name}/"))
                else:
                    found.append(f"{prefix}{name}")
            self._globbed[key] = found
        return self._globbed[key]


def covers(pattern: str, path: str) -> bool:
    """Whether a ``retired_code`` entry names ``path`` (or a folder above it): as written
    (``legacy/peg[1].py`` is that file, brackets and all), as a glob whose ``*`` crosses
    ``/``, or as git reads a ``:(glob)`` pathspec, where ``**/`` also matches no folder at
    all (``**/power_peg.py`` covers ``power_peg.py`` at the root, ``legacy/**/peg.py`` covers
    ``legacy/peg.py``); and each of those with letter case ignored: on the file systems that
    ignore it (macOS's, Windows'), ``Legacy/Power_Peg.py`` is the file a checkout writes at
    ``legacy/power_peg.py``, and an entry written so matched nothing while the code stayed.
    Each reading can only add what an entry covers."""
    return _covers(pattern, path) or _covers(pattern.casefold(), path.casefold())


def _covers(pattern: str, path: str) -> bool:
    if path == pattern or path.startswith(pattern + "/"):
        return True
    if not any(c in pattern for c in "*?["):
        return False
    if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*"):
        return True
    return _git_glob(pattern).match(path) is not None


@functools.lru_cache(maxsize=1024)
def _git_glob(pattern: str) -> re.Pattern[str]:
    """A glob as git reads a ``:(glob)`` pathspec: ``*`` and ``?`` stay within one folder,
    ``**/`` is any number of folders, none included, a trailing ``**`` everything below, a
    backslash makes the character after it a literal one (``peg\\[1\\].py``: read as its
    characters, that entry named no file); the path may also lie below what it matches."""
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] in "*?":
            out, index = out + ("[^/]*" if pattern[index] == "*" else "[^/]"), index + 1
        elif pattern[index] == "[" and (bracket := wildmatch_bracket(pattern, index)) is not None:
            out, index = out + bracket[0], bracket[1]
        elif pattern.startswith("\\", index) and index + 1 < len(pattern):
            out, index = out + re.escape(pattern[index + 1]), index + 2  # \[ is a [
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out + r"(?:/.*)?\Z", re.DOTALL)


def wildmatch_bracket(pattern: str, index: int) -> tuple[str, int] | None:
    """The bracket expression opening at ``pattern[index]``, as git's wildmatch reads one: a
    regular expression for it and the index after it, or None where it never closes (read
    as a ``[`` then). ``!`` or ``^`` first negates; the first member may be ``]``; ``\\``
    escapes the next character; ``a-z`` is a range, matching nothing where it runs backwards.
    (``[!]``, ``[z-a]`` and ``[a-\\]`` were regular expressions Python refused: exit 3.)"""
    at = index + 1
    negated = pattern[at : at + 1] in ("!", "^")
    at += negated
    members: list[str] = []
    start = at
    while at < len(pattern) and (pattern[at] != "]" or at == start):
        low, at = _member(pattern, at)
        if pattern[at : at + 1] == "-" and at + 1 < len(pattern) and pattern[at + 1] != "]":
            high, at = _member(pattern, at + 1)
            members.append(f"{re.escape(low)}-{re.escape(high)}" if low <= high else "")
        else:
            members.append(re.escape(low))
    if at >= len(pattern):
        return None
    body = "".join(members)
    if not body:  # only backward ranges: matches nothing, or anything but them
        return ("[^/]" if negated else "(?!)"), at + 1
    return f"[{'^' if negated else ''}{body}]", at + 1


def _member(pattern: str, at: int) -> tuple[str, int]:
    """One character of a bracket expression at ``at`` (``\\x`` is ``x``), and the index
    after it."""
    if pattern[at] == "\\" and at + 1 < len(pattern):
        return pattern[at + 1], at + 2
    return pattern[at], at + 1


def _links_matching(links: list[str], prefix: str, pattern: str) -> list[str]:
    """The symbolic links and submodules a ``retired_code`` entry covers: where the retired
    code was, or on the way to it (a link to where the code went, a submodule that holds
    it, still answer at the retired path), or where a glob could match something below it
    (``services/*/power_peg.py`` and a link ``services/smars``): what is behind a link is not
    in this tree, so a link that could hold the retired code is taken to."""
    return [
        path
        for path in (f"{prefix}{name}" for name in links)
        if covers(pattern, path)
        or _may_match(pattern, path)  # what the link leads to may hold what it matches
    ]


def _may_match(pattern: str, directory: str) -> bool:
    """Whether a glob could match something below ``directory``: its literal start agrees."""
    literal = re.split(r"[*?\[\\]", pattern, maxsplit=1)[0].casefold()
    folded = directory.casefold() + "/"
    return literal.startswith(folded) or folded.startswith(literal)
