"""What git reads for itself, hash-checked: every commit of the history a run walks, and the
trees the registry's walk compares.

git does not check an object's hash when it reads one, from a loose file or from a pack: a
commit or a tree rewritten in place (``.git/objects/xx/...`` overwritten with other bytes, a
pack whose index points an id at another object) is believed. knightwatch checks every object
it reads itself (``verify_object``), but the walks it asks git for (``git log`` over the
history, ``git log`` for the registry's versions, ``merge-base``) read commits and
trees inside git. A tree of the commit that retired a flag rewritten with its parent's bytes
would make that commit look as if it left the registry alone, hiding the retirement and the
findings of the flag's revival; a commit given other parents would move commits out of a
deployment's range.

So every commit reachable from the tips a run hands git is read again here, through one
``git rev-list | git cat-file --batch`` pipeline into a small hashing process of its own
(``_HASHER``: the run's interpreter reads its lines, one per commit, whole at the end); where
git walks the registry's history, so is every root tree of those commits (the commits' hasher
hands each to a second ``cat-file`` and hasher itself) and every tree on the way to the registry's
path (the trees git's path-limited diff reads), and, where ``--follow`` was asked for a rename,
both sides of that commit's whole diff; for path-scoped services, the trees ``diff-tree`` and
``ls-tree`` read. Because git looks an id up in the pack it used last first, a process hashing
an object could read another copy than git's walk did: every copy of an object stored more
than once is hashed too (``check_stored_copies``). An object that does not hash to its id
stops the run (exit 2) before it gives a verdict or writes its cache
(``GitHistory.checked``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from checker.errors import InputError

TREE_ENTRY = re.compile(rb"(\d+) ([^\0]*)\0(.{20})", re.DOTALL)
"""One entry of a raw tree object: its mode, its name, its 20-byte id."""


def verify_object(sha: str, kind: bytes, data: bytes, root: Path) -> None:
    """An object's bytes hash to its name, or the repository has been tampered with: git
    reads a loose object by its file name without checking it, so one rewritten in place (a
    commit given a Reviewed-by line, a tree without its retired code) would otherwise be
    believed. ``git fsck`` finds the same; this checks every object knightwatch reads."""
    algorithm = hashlib.sha1 if len(sha) == 40 else hashlib.sha256
    header = kind + b" " + str(len(data)).encode() + b"\0"
    if algorithm(header + data).hexdigest() != sha:
        raise _mismatch(sha, root)


FSCK_HINT = "run 'git fsck' on it; audit a fresh clone from the canonical remote"


def _mismatch(sha: str, root: Path) -> InputError:
    return _untrusted(f"git object {sha} does not hash to its name: the repository's objects "
                      "were altered (or are corrupt)", root)  # fmt: skip


def missing_object(name: str, root: Path) -> InputError:
    """The input error of an object git cannot read."""
    return _untrusted(f"git object {name} cannot be read: the repository is incomplete or "
                      "damaged", root)  # fmt: skip


_UNREADABLE = re.compile(
    r"(?:could not read|unable to read|bad object|unable to parse commit|"
    r"missing (?:blob|tree|commit|tag) object|object file|loose object|packed object|"
    r"bogus (?:blob|tree|commit|tag) object|^error: object"
    r")(?:\s+(?:blob|tree|commit|tag))?\W+([0-9a-f]{40}(?:[0-9a-f]{24})?)\b",
    re.IGNORECASE | re.MULTILINE,
)
"""How git names an object it could not read, in the messages of its commands."""
_HASH_MISMATCH = re.compile(r"\bhash mismatch ([0-9a-f]{40}(?:[0-9a-f]{24})?)\b")
"""How git says an object it read does not hash to its name (it checks some loose ones)."""
_PACK = re.compile(r"pack-[0-9a-f]{40}(?:[0-9a-f]{24})?\.(?:pack|idx|rev)\b")
"""A pack git names where it cannot read one (a damaged index, a truncated pack)."""
_MALFORMED = re.compile(r"\bmalformed (?:mode in )?tree entry\b|\btoo-short tree\b")
"""How git says a tree object it read cannot be parsed (an entry's mode is not a number)."""


def git_failed(command: str, stderr: str, root: Path) -> InputError:
    """The input error of a git command that failed: where git says it could not read an
    object (a commit deleted from the middle of the history, a damaged pack), that object,
    named as damage to the repository with the hint to run ``git fsck``."""
    mismatch = _HASH_MISMATCH.search(stderr)
    if mismatch is not None:  # git checked a loose object's hash itself
        return _mismatch(mismatch.group(1), root)
    found = _UNREADABLE.search(stderr)
    if found is not None:
        return missing_object(found.group(1), root)
    if _MALFORMED.search(stderr):
        said = stderr.strip().splitlines()[-1].removeprefix("fatal: ")
        return _untrusted(f"git cannot read the repository's objects ({said})", root)
    pack = _PACK.search(stderr)
    if pack is not None:
        said = stderr.strip().splitlines()[-1].removeprefix("fatal: ")
        return _untrusted(f"git objects stored in {pack.group(0)} cannot be read ({said}): the "
                          "repository is incomplete or damaged", root)  # fmt: skip
    return InputError(f"git {command} failed: {stderr}", path=str(root))


def _untrusted(why: str, root: Path) -> InputError:
    return InputError(f"{why}, so its history cannot be trusted", path=str(root), hint=FSCK_HINT)


class Background:
    """Work on a thread whose error is raised to the thread that waits for it."""

    def __init__(self, work: Callable[[], object], name: str) -> None:
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as exc:  # handed to the thread that waits for it
            self._error = exc
        finally:
            self._done.set()

    def join(self) -> None:
        """Wait for the work to end (an event, not the thread's join alone, which a signal
        can cut short)."""
        self._done.wait()
        self._thread.join()

    def wait(self) -> None:
        """Wait for the work; its error, if any, raised here."""
        self.join()
        if self._error is not None:
            raise self._error


class CommitCheck(Background):
    """Every commit reachable from ``tips`` and not from ``exclude`` (tips of checks begun
    before: their own checks cover them) read and hashed on a thread; with ``with_trees``,
    each one's root tree too, read by a second process as the commits name them. ``trees``
    gives each checked commit's root tree, as its verified bytes name it; ``checked_trees``
    the root trees hashed."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        tips: Iterable[str],
        exclude: Iterable[str],
        with_trees: bool = False,
    ) -> None:
        self.tips = frozenset(tips)
        self.with_trees = with_trees
        self.trees: dict[str, str] = {}
        self.checked_trees: set[str] = set()
        self._root, self._env = root, env
        self._request = [*sorted(self.tips), *(f"^{t}" for t in sorted(set(exclude)))]
        self._processes: list[subprocess.Popen[bytes]] = []
        super().__init__(self._check, "commit check")

    def _spawn(self, args: list[str], stdin: IO[bytes] | int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            ["git", *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self._root, env=self._env,
        )  # fmt: skip
        self._processes.append(process)
        return process

    def _check(self) -> None:
        walk = self._spawn(["rev-list", "--stdin"], subprocess.PIPE)
        stdin, stdout = _pipes(walk)
        reader = self._spawn(["cat-file", "--batch", "--buffer"], stdout)
        stdout.close()  # cat-file holds it now
        trees = None
        if self.with_trees:  # the hasher hands each root tree to a stream of their own
            trees = _HashStream(self._root, self._env, b"tree", self._processes.append)
        hasher = self._hasher(b"commit", _stdout(reader), trees)
        writer = _feed(stdin, "".join(f"{line}\n" for line in self._request).encode())
        complete = False
        try:
            # a line per commit, read whole: this thread holds the interpreter seldom
            words = _stdout(hasher).read().decode().split()
            self.trees = dict(zip(words[::2], words[1::2], strict=True))
            complete = True
        finally:
            writer.join()
            try:
                _hashed(hasher, self._root, complete)  # its error names the object
            finally:
                complete = complete and hasher.returncode == 0
                try:
                    _finish([walk, reader], self._root, ["rev-list", "cat-file"], complete)
                finally:
                    if trees is not None:
                        trees.finish(complete)
                        self.checked_trees = set(self.trees.values())

    def _hasher(
        self, kind: bytes, source: IO[bytes], trees: _HashStream | None
    ) -> subprocess.Popen[bytes]:
        process = _spawn_hasher(kind, source, trees.hand_over() if trees is not None else None)
        self._processes.append(process)
        return process

    def wait(self) -> None:
        """Wait for the check; its error, if any, raised here."""
        try:
            self._done.wait()
        except BaseException:  # interrupted: no git process outlives the run
            self.cancel()
            raise
        super().wait()

    def cancel(self) -> None:
        """Kill the check's git processes and wait for its thread."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
        self.join()


class _HashStream:
    """Objects of one kind fed to a ``cat-file --batch`` one by one, as they become known,
    and hashed by a process of their own; ``spawned`` is given each process (to kill)."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        kind: bytes,
        spawned: Callable[[subprocess.Popen[bytes]], object] = lambda _: None,
    ) -> None:
        self._root = root
        self._reader = subprocess.Popen(
            ["git", "cat-file", "--batch", "--buffer"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root, env=env,
        )  # fmt: skip
        self._hasher = _spawn_hasher(kind, _stdout(self._reader))
        spawned(self._reader)
        spawned(self._hasher)
        self._asked: set[str] = set()

    def ask(self, name: str) -> None:
        """Have ``name`` hashed (once, however often it is asked for)."""
        if name not in self._asked:
            self._asked.add(name)
            # its hasher failed and it stopped: finish says why
            with contextlib.suppress(OSError, ValueError):
                _pipes(self._reader)[0].write(f"{name}\n".encode())

    def hand_over(self) -> IO[bytes]:
        """The pipe that asks for objects, for another process to write to (this stream is
        then asked nothing more: ``finish`` waits for that process's end of the pipe)."""
        return _pipes(self._reader)[0]

    def finish(self, complete: bool) -> None:
        """Wait for the objects asked for to be hashed; the first error, if any, raised (where
        all were asked for)."""
        with contextlib.suppress(OSError, ValueError):
            _pipes(self._reader)[0].close()
        try:
            _hashed(self._hasher, self._root, complete)
        finally:
            complete = complete and self._hasher.returncode == 0
            _finish([self._reader], self._root, ["cat-file"], complete)


def _spawn_hasher(
    kind: bytes, source: IO[bytes], trees: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """A Python process of its own that hashes what ``source`` (a ``cat-file --batch``)
    writes (``_HASHER``): the run's own threads keep the interpreter's lock for their work.
    A commit hasher given ``trees`` writes each commit's root tree to it, once."""
    fds = () if trees is None else (trees.fileno(),)
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _HASHER, kind.decode(), *map(str, fds)],
        stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=fds,
    )  # fmt: skip
    source.close()
    if trees is not None:
        trees.close()  # the hasher's now: its end is the end of what is asked
    return process


def read_verified(
    root: Path, env: dict[str, str], names: list[str]
) -> Iterator[tuple[str, bytes, bytes]]:
    """(id, type, bytes) of each object id in ``names``, read by one ``cat-file --batch``
    and hashed; a missing object is an input error, as one that does not hash to its id."""
    if not names:
        return
    process = subprocess.Popen(
        ["git", "cat-file", "--batch", "--buffer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=root,
        env=env,
    )
    writer = _feed(_pipes(process)[0], "".join(f"{name}\n" for name in names).encode())
    complete = False
    try:
        yield from _answers(process, root)
        complete = True
    finally:
        writer.join()
        _finish([process], root, ["cat-file"], complete)


_HASHER = """
import hashlib, os, sys
source, sink, kind = sys.stdin.buffer, sys.stdout.buffer, sys.argv[1].encode()
trees = int(sys.argv[2]) if len(sys.argv) > 2 else None
asked, pending = set(), bytearray()
algorithms = {40: hashlib.sha1, 64: hashlib.sha256}
def send(least):
    global trees
    try:
        while len(pending) > least:
            del pending[: os.write(trees, pending)]
    except OSError:  # the trees' hasher stopped at one: it says why
        trees = None
while line := source.readline():
    head = line.split()
    if len(head) != 3:
        sys.exit("missing " + (head[0].decode(errors="replace") if head else "?"))
    name, got, size = head
    data = source.read(int(size))
    source.read(1)
    digest = algorithms.get(len(name), hashlib.sha1)(got + b" " + size + b"\\0")
    digest.update(data)
    if digest.hexdigest().encode() != name:
        sys.exit("mismatch " + name.decode(errors="replace"))
    if got != kind or kind == b"commit" and not data.startswith(b"tree "):
        sys.exit("kind " + name.decode(errors="replace"))
    if kind == b"commit":
        tree = data[5 : data.index(b"\\n")]
        sink.write(name + b" " + tree + b"\\n")
        if trees is not None and tree not in asked:
            asked.add(tree)
            pending += tree + b"\\n"
            send(1 << 16)
if trees is not None:
    send(0)
"""
"""Hashes each object a ``cat-file --batch`` writes on its standard input, as
``verify_object`` does; for commits, writes each one's id and root tree (and, given a file
descriptor, each root tree once to it: the ``cat-file`` of a tree stream). Exits at the first
object that is missing, does not hash to its id, or is not of the kind asked, naming it."""


def hash_only(root: Path, env: dict[str, str], names: list[str], kind: bytes) -> None:
    """Hash the objects ``names``, each of ``kind``, by a ``cat-file --batch`` and a hashing
    process of their own; an input error at the first that is missing, of another kind, or
    does not hash to its id."""
    stream = _HashStream(root, env, kind)
    complete = False
    try:
        for name in names:
            stream.ask(name)
        complete = True
    finally:
        stream.finish(complete)


def _hashed(process: subprocess.Popen[bytes], root: Path, complete: bool) -> None:
    """Wait for a hasher; where it stopped at an object, the input error that object is."""
    code, stderr = _ended(process, complete)
    if not complete or code == 0:
        return
    why, _, name = stderr.rpartition("\n")[2].partition(" ")
    if why == "missing":
        raise missing_object(name, root)
    if why == "mismatch":
        raise _mismatch(name, root)
    if why == "kind":
        raise _altered(name, root, "object")
    raise InputError(f"hashing git objects failed: {stderr}", path=str(root))


def _stdout(process: subprocess.Popen[bytes]) -> IO[bytes]:
    if process.stdout is None:
        raise RuntimeError(f"{process.args!r} did not start with a pipe out")
    return process.stdout


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if process.stdin is None or process.stdout is None:
        raise RuntimeError(f"{process.args!r} did not start with pipes")
    return process.stdin, process.stdout


def _answers(process: subprocess.Popen[bytes], root: Path) -> Iterator[tuple[str, bytes, bytes]]:
    """Each object a ``cat-file --batch`` writes, hashed: (id, type, bytes)."""
    stdout = process.stdout
    if stdout is None:
        raise RuntimeError("git cat-file did not start with pipes")
    while line := stdout.readline():
        header = line.split()
        if len(header) != 3:  # "<name> missing"
            raise missing_object(header[0].decode(errors="replace") if header else "?", root)
        data = stdout.read(int(header[2]))
        stdout.read(1)
        sha = header[0].decode()
        verify_object(sha, header[1], data, root)
        yield sha, header[1], data


def _feed(stdin: IO[bytes], data: bytes) -> threading.Thread:
    def write() -> None:
        try:
            stdin.write(data)
        except (OSError, ValueError):  # the process was killed, or ended early
            pass
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    writer = threading.Thread(target=write, name="git stdin", daemon=True)
    writer.start()
    return writer


def _finish(
    processes: list[subprocess.Popen[bytes]], root: Path, names: list[str], complete: bool
) -> None:
    """Wait for ``processes``, each killed first if its reader stopped early (an error is
    then on its way). Where their output was read to the end, a failure is an error: a walk
    that died part way has not listed every commit."""
    failed: InputError | None = None
    for process, name in zip(processes, names, strict=True):
        code, stderr = _ended(process, complete)
        if code != 0 and failed is None:
            failed = git_failed(name, stderr, root)
    if complete and failed is not None:
        raise failed


def _ended(process: subprocess.Popen[bytes], complete: bool) -> tuple[int, str]:
    """Wait for ``process`` (killed first unless its output was read to the end): its exit
    code and what it said on its standard error."""
    if not complete and process.poll() is None:
        process.kill()
    stderr = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    return process.wait(), stderr


def _altered(sha: str, root: Path, kind: str = "commit") -> InputError:
    return InputError(
        f"git object {sha} is not the {kind} git walked through: the repository's objects were "
        "altered (or are corrupt), so its history cannot be trusted",
        path=str(root),
        hint=FSCK_HINT,
    )


def tree_entries(data: bytes) -> Iterator[tuple[bytes, bytes, str]]:
    """A raw tree's entries, symbolic links and submodules included: (mode, name, id)."""
    for mode, name, sha in TREE_ENTRY.findall(data):
        yield mode, name, sha.hex()


EntryKind = Literal["tree", "blob", "link", "submodule"]
_FILE_TYPES: dict[int, EntryKind] = {0o040000: "tree", 0o100000: "blob", 0o120000: "link"}


def entry_kind(mode: bytes, name: bytes) -> EntryKind:
    """What git takes a tree entry for: the file type of its mode read as an octal number,
    however it is spelt (git's ``canon_mode``). A directory written ``040000``, as a tool
    other than git may write it, is a tree to git (``ls-tree``, checkout and clone read what
    is below it), as ``40000`` is; compared as text, it read as a file, and nothing below it
    was searched or matched by ``retired_code``. A type git does not know it takes for a
    submodule. A mode that is not an octal number git cannot read at all."""
    if not mode or mode.strip(b"01234567"):
        raise InputError(
            f"a git tree holds the entry {name.decode('utf-8', 'backslashreplace')!r} with the "
            f"mode {mode.decode('ascii', 'backslashreplace')!r}, which git cannot read: the "
            "repository's objects are damaged, so its history cannot be trusted",
            hint=FSCK_HINT,
        )
    return _FILE_TYPES.get(int(mode, 8) & 0o170000, "submodule")


class TreeCheck:
    """Trees read and hashed, each id once (``checked`` is kept across calls)."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self._root, self._env = root, env
        self.checked: set[str] = set()
        self.sealed: Collection[str] = frozenset()
        """Trees a run before this one hashed over the same object store (``GitHistory``)."""
        self._whole: set[str] = set()

    def _read(self, names: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        for sha, kind, data in read_verified(self._root, self._env, sorted(names)):
            if kind != b"tree":
                raise _altered(sha, self._root, "tree")
            self.checked.add(sha)
            yield sha, data

    def paths(self, roots: Iterable[str], paths: Iterable[str]) -> None:
        """Every tree of ``roots``, and every tree on the way from one to each of ``paths``:
        what git's diff limited to those paths reads."""
        folders = {tuple(p.encode("utf-8", "surrogateescape").split(b"/")[:-1]) for p in paths}
        wanted: dict[str, set[tuple[bytes, ...]]] = {root: folders for root in roots}
        while wanted:
            below: dict[str, set[tuple[bytes, ...]]] = {}
            bare = [
                t
                for t, rest in wanted.items()
                if t not in self.checked and t not in self.sealed and not any(rest)
            ]
            if bare:  # only to hash: by a process of its own, the bytes never come here
                hash_only(self._root, self._env, bare, b"tree")
                self.checked.update(bare)
            names = [t for t, rest in wanted.items() if any(rest)]
            for sha, data in self._read(names):
                _descend(_subtrees(data), [f for f in wanted[sha] if f], below)
            wanted = below

    def diffs(self, pairs: Iterable[tuple[str | None, str | None]], with_blobs: bool) -> None:
        """Both sides of each (tree, its parent's tree) whole diff where they differ: the
        trees, and ``with_blobs`` the blobs that differ (what git reads to look for a rename;
        a diff of names alone, ``diff-tree --name-only``, reads the trees)."""
        todo = set(pairs)
        blobs: set[str] = set()
        while todo:
            read = dict(self._read({t for pair in todo for t in pair if t is not None}))
            below: set[tuple[str | None, str | None]] = set()
            for a, b in todo:
                ours = _entries(read[a]) if a is not None else {}
                theirs = _entries(read[b]) if b is not None else {}
                _differing(ours, theirs, below, blobs if with_blobs else None)
            todo = below
        for _ in read_verified(self._root, self._env, sorted(blobs)):
            pass

    def whole(self, roots: Iterable[str]) -> None:
        """Every tree below ``roots``: what ``ls-tree -r`` reads."""
        fresh = set(roots) - self._whole
        self.diffs(((root, None) for root in fresh), with_blobs=False)
        self._whole |= fresh


def _differing(
    ours: dict[bytes, tuple[EntryKind, bytes, str]],
    theirs: dict[bytes, tuple[EntryKind, bytes, str]],
    below: set[tuple[str | None, str | None]],
    blobs: set[str] | None,
) -> None:
    """Add to ``below`` each pair of subtrees (either side may be absent) where two trees'
    entries differ, and to ``blobs`` (unless None) each blob that differs."""
    for name in ours.keys() | theirs.keys():
        x, y = ours.get(name), theirs.get(name)
        if x == y:
            continue
        trees = [e[2] if e is not None and e[0] == "tree" else None for e in (x, y)]
        if blobs is not None:
            blobs.update(e[2] for e in (x, y) if e is not None and e[0] in ("blob", "link"))
        if trees != [None, None]:
            below.add((trees[0], trees[1]))


def _descend(
    entries: dict[bytes, str],
    folders: list[tuple[bytes, ...]],
    below: dict[str, set[tuple[bytes, ...]]],
) -> None:
    """Add to ``below`` the subtree of ``entries`` each folder path leads into, with the rest
    of that path."""
    for folder in folders:
        if folder[0] in entries:
            below.setdefault(entries[folder[0]], set()).add(folder[1:])


def _entries(data: bytes) -> dict[bytes, tuple[EntryKind, bytes, str]]:
    """A tree's entries by name: what git takes each for, its mode as written, its id (two
    spellings of one mode differ in the tree's bytes, and so in what a diff compares)."""
    return {name: (entry_kind(mode, name), mode, sha) for mode, name, sha in tree_entries(data)}


def _subtrees(data: bytes) -> dict[bytes, str]:
    return {name: sha for mode, name, sha in tree_entries(data) if entry_kind(mode, name) == "tree"}


def check_stored_copies(root: Path, stores: list[Path], env: dict[str, str]) -> None:
    """Every copy of an object stored more than once hashes to its id.

    git looks an object up in its packs most recently used first, so where two packs (one of
    them perhaps in another object store, through ``objects/info/alternates``) hold different
    bytes under one id, which copy a process reads depends on what it read just before: git's
    walk and the hashing of the same objects could each read another. Each copy of such an
    object is read on its own (its pack alone as the object store; a loose copy from its file)
    and hashed, so that every copy of every object is the object its id names. ``stores``:
    the object stores git reads (``GitHistory.object_stores``).
    """
    held: dict[bytes, list[_Pack]] = {}
    try:
        packs, loose = _stored(stores)
        if len(packs) + bool(loose) < 2:
            return
        for pack in packs:
            for oid in _pack_ids(pack.idx, root):
                held.setdefault(oid, []).append(pack)
    except OSError as exc:
        raise InputError(
            f"the object store cannot be read: {exc}", path=str(root), hint=FSCK_HINT
        ) from exc
    twice = {oid: where for oid, where in held.items() if len(where) > 1 or oid in loose}
    for pack in sorted({p for where in twice.values() for p in where}):
        names = sorted(oid.hex() for oid, where in twice.items() if pack in where)
        _hash_alone(root, env, pack, names)
    for oid in sorted(twice.keys() & loose.keys()):
        _hash_loose(root, loose[oid], oid.hex())


@dataclass(frozen=True, order=True)
class _Pack:
    """A pack as git finds it: an index, and the pack of the same name beside it (each as the
    file it is, wherever a link leads: two names of one index may lead to two packs)."""

    idx: Path
    pack: Path


def _stored(stores: list[Path]) -> tuple[list[_Pack], dict[bytes, Path]]:
    """The pack indexes (of packs that are there: git skips an index alone) and the loose
    objects (by id) of ``stores``."""
    found = list(dict.fromkeys(store.resolve() for store in stores if store.is_dir()))
    listed = [idx for store in found for idx in (store / "pack").glob("*.idx")]
    pairs = {_Pack(i.resolve(), i.with_suffix(".pack").resolve()) for i in listed}
    packs = sorted(pair for pair in pairs if pair.pack.is_file())
    loose: dict[bytes, Path] = {}
    for store in found:
        for folder in store.glob("[0-9a-f][0-9a-f]"):
            for entry in folder.iterdir():
                if _HEX38.fullmatch(entry.name):
                    loose[bytes.fromhex(folder.name + entry.name)] = entry
    return packs, loose


_HEX38 = re.compile(r"[0-9a-f]{38}")
_C_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13}


def unquote_c(text: bytes) -> bytes:
    """A path as git writes it: as it is, or C-style quoted (``"a\\tb\\303\\251"``)."""
    if not (len(text) >= 2 and text.startswith(b'"') and text.endswith(b'"')):
        return text
    out = bytearray()
    body, at = text[1:-1], 0
    while at < len(body):
        char = body[at : at + 1]
        if char != b"\\":
            out += char
            at += 1
        elif body[at + 1 : at + 2].isdigit():
            out.append(int(body[at + 1 : at + 4], 8))
            at += 4
        else:
            following = body[at + 1 : at + 2]
            out.append(_C_ESCAPES.get(following, following[0] if following else 92))
            at += 2
    return bytes(out)


def _pack_ids(idx: Path, root: Path) -> list[bytes]:
    """The object ids a pack index lists (version 2, or the older version 1)."""
    data = idx.read_bytes()
    if data[:4] == b"\xfftOc":
        count, start, step, skip = int.from_bytes(data[1028:1032], "big"), 1032, 20, 0
    else:
        count, start, step, skip = int.from_bytes(data[1020:1024], "big"), 1024, 24, 4
    if len(data) < start + count * step:
        raise InputError(f"pack index {idx} is truncated", path=str(root), hint=FSCK_HINT)
    return [data[at + skip : at + skip + 20] for at in range(start, start + count * step, step)]


def _hash_alone(root: Path, env: dict[str, str], pack: _Pack, names: list[str]) -> None:
    """Hash ``names`` as ``pack`` alone holds them."""
    with tempfile.TemporaryDirectory(prefix="knightwatch-pack-") as alone:
        (Path(alone) / "pack").mkdir()
        (Path(alone) / "pack" / "pack-alone.idx").symlink_to(pack.idx)
        (Path(alone) / "pack" / "pack-alone.pack").symlink_to(pack.pack)
        only = {**env, "GIT_OBJECT_DIRECTORY": alone, "GIT_ALTERNATE_OBJECT_DIRECTORIES": ""}
        try:
            for _ in read_verified(root, only, names):
                pass
        except InputError as exc:
            why = str(exc).removeprefix(f"{root}: ")
            raise InputError(
                f"{why} (the copy in {pack.pack}: an object stored more than once is read "
                "from whichever copy git finds first)",
                path=str(root),
                hint=FSCK_HINT,
            ) from exc


def _hash_loose(root: Path, path: Path, name: str) -> None:
    """Hash the loose copy of ``name`` at ``path``."""
    try:
        raw = zlib.decompress(path.read_bytes())
    except (OSError, zlib.error) as exc:
        raise missing_object(name, root) from exc
    header, _, data = raw.partition(b"\0")
    kind, _, size = header.partition(b" ")
    if size != str(len(data)).encode():
        raise _mismatch(name, root)
    verify_object(name, kind, data, root)
