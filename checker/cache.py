"""A cache across runs of facts derived from git objects alone, keyed by their object ids.

What a commit's message says about its review, which flag names a blob holds, what a
registry blob parses to: each depends only on the object's bytes (which its id names) and on
knightwatch's own code. Entries live in one SQLite file in a directory the user may delete at
any time. Every entry is bound by a SHA-256 digest to the code's fingerprint, its kind, its key
and its value, and read back only when that digest matches and the value has the shape its
reader expects; anything else is a miss, recomputed and written again. The cache never
decides a verdict: a run without it computes exactly the same facts.

It is a cache of computations, not a trust anchor: whoever can write the directory can write
entries whose digests match. ``audit`` therefore uses a cache only when the auditor names one
(``--cache-dir``); see docs/security.md.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from checker import __version__

FILE_NAME = "facts-v1.sqlite"
_CHUNK = 500  # keys per query, well under SQLite's limit on bound parameters
_BUSY_MS = 10_000  # how long a run waits for another run's write before giving up on its own
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (fingerprint TEXT NOT NULL, kind TEXT NOT NULL, "
    "key TEXT NOT NULL, value TEXT NOT NULL, digest TEXT NOT NULL, "
    "PRIMARY KEY (fingerprint, kind, key)) WITHOUT ROWID"
)

_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS fingerprints (fingerprint TEXT PRIMARY KEY, "
    "written INTEGER NOT NULL) WITHOUT ROWID"
)
KEPT_VERSIONS = 2
"""How many versions of the code keep their entries: the two that wrote last (a machine
running two versions side by side, or a rollback, is still warm for both)."""

_fingerprint: str | None = None
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
"""One encoder for every entry: ``json.dumps`` with options builds a new one per call."""


def code_fingerprint() -> str:
    """The version and the bytes of every module of knightwatch, and git's version: any
    change to the code that computes a fact is a new fingerprint, so no entry it wrote is read
    by other code. git's own code is part of it: the registry's versions are what git's walk
    and its rename detection (``--follow``) find, which another git may find otherwise."""
    global _fingerprint
    if _fingerprint is None:
        root = Path(__file__).resolve().parent
        digest = hashlib.sha256(__version__.encode() + b"\0" + git_version() + b"\0")
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _fingerprint = digest.hexdigest()
    return _fingerprint


@functools.cache
def git_version() -> bytes:
    """What ``git version`` says, asked once a run (the cache's fingerprint, the object
    store's seal and the merge check each need it); nothing where git cannot run: the run
    then stops at its first git command."""
    try:
        done = subprocess.run(["git", "version"], capture_output=True, check=False)
    except OSError:
        return b""
    return done.stdout.strip()


def default_directory(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/knightwatch``, else ``~/.cache/knightwatch``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or ""
    root = Path(base) if Path(base).is_absolute() else Path.home() / ".cache"
    return root / "knightwatch"


def entry_digest(fingerprint: str, kind: str, key: str, value: str) -> str:
    """What binds an entry's value to its key, its kind and the code that computed it."""
    payload = "\0".join((fingerprint, kind, key, value)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()


class FactCache:
    """Entries by (kind, key), read in batches and written in one transaction on ``close``.

    ``FactCache(None)`` is no cache: every read misses and writes are dropped. Any failure of
    the cache itself (a directory that cannot be written, a file that is not a database,
    another run holding its lock too long) turns it off for the rest of the run, silently:
    the facts are then computed, as they would be without it.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._connection: sqlite3.Connection | None = None
        self._pending: dict[tuple[str, str], str] = {}
        self._bounded: dict[str, int] = {}
        self._opened = directory is None
        self._fingerprint = code_fingerprint() if directory is not None else ""

    @property
    def enabled(self) -> bool:
        """Whether entries are read and written (False once the cache has failed)."""
        return self.directory is not None and (not self._opened or self._connection is not None)

    def get(self, kind: str, keys: Iterable[str], check: Callable[[Any], bool]) -> dict[str, Any]:
        """The entries of ``keys`` found, intact and well formed (``check`` says which values
        have the expected shape), as parsed JSON."""
        connection = self._connect()
        if connection is None:
            return {}
        wanted = list(set(keys))
        found: dict[str, Any] = {}
        try:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                cursor = connection.execute(_select(len(chunk)), (self._fingerprint, kind, *chunk))
                intact = [row for row in cursor.fetchall() if self._bound(kind, row)]
                for (key, _, _), value in zip(intact, _decoded(intact), strict=True):
                    if value is not _DAMAGED and check(value):
                        found[key] = value
        except sqlite3.Error as exc:
            self._fail(exc)
            return {}
        return found

    def _bound(self, kind: str, row: tuple[object, ...]) -> bool:
        """Whether a row is an entry bound to its key, its kind and this code by its digest."""
        key, value, digest = row
        return (
            isinstance(key, str)
            and isinstance(value, str)
            and isinstance(digest, str)
            and entry_digest(self._fingerprint, kind, key, value) == digest
        )

    def put(self, kind: str, entries: dict[str, Any], *, most: int | None = None) -> None:
        """Keep entries to write when the run closes the cache. ``most``: where the file already
        holds that many entries of ``kind``, they are dropped and only those written now kept
        (for entries keyed by what a run seldom meets again, such as a set of tips)."""
        if self.enabled:
            for key, value in entries.items():
                self._pending[(kind, key)] = _ENCODE(value)
            if most is not None:
                self._bounded[kind] = most

    def close(self, *, write: bool = True) -> None:
        """Write what was kept (unless ``write`` is false), in one transaction, and let go of
        the file."""
        if not write:
            self._pending.clear()
        connection = self._connect() if self._pending else self._connection
        if connection is not None and self._pending:
            rows = [
                (self._fingerprint, kind, key, value,
                 entry_digest(self._fingerprint, kind, key, value))
                for (kind, key), value in self._pending.items()
            ]  # fmt: skip
            try:
                with connection:
                    for kind, most in sorted(self._bounded.items()):
                        _make_room(connection, self._fingerprint, kind, most)
                    connection.executemany(
                        "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", rows
                    )
                    _forget_older_versions(connection, self._fingerprint)
            except sqlite3.Error as exc:
                self._fail(exc)
        self._pending.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> FactCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._connection
        self._opened = True
        if self.directory is None:
            return None
        path = self.directory / FILE_NAME
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._connection = _open(path)
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError):
                # Not a database (truncated, overwritten): set it aside and start afresh.
                with contextlib.suppress(OSError, sqlite3.Error):
                    _set_aside(path)
                    self._connection = _open(path)
        except OSError:
            self._connection = None
        return self._connection

    def _fail(self, exc: sqlite3.Error) -> None:
        """Turn the cache off for this run; a damaged file is set aside for the next."""
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
        self._connection = None
        self._pending.clear()
        if self.directory is not None and not isinstance(exc, sqlite3.OperationalError):
            with contextlib.suppress(OSError):
                _set_aside(self.directory / FILE_NAME)


def _make_room(connection: sqlite3.Connection, fingerprint: str, kind: str, most: int) -> None:
    """Before this run's entries are written: where the file holds ``most`` entries of
    ``kind`` or more, drop them all (this run's own then make a fresh start)."""
    (count,) = connection.execute(
        "SELECT count(*) FROM entries WHERE fingerprint = ? AND kind = ?", (fingerprint, kind)
    ).fetchone()
    if count >= most:
        connection.execute(
            "DELETE FROM entries WHERE fingerprint = ? AND kind = ?", (fingerprint, kind)
        )


def _forget_older_versions(connection: sqlite3.Connection, fingerprint: str) -> None:
    """Record that ``fingerprint``'s code wrote last; the first time it writes, drop the
    entries of every version but the ``KEPT_VERSIONS`` that wrote last. No other code reads
    them (each entry is bound to its code's fingerprint), so without this the file would
    grow by a history's facts with every upgrade."""
    known = connection.execute(
        "SELECT 1 FROM fingerprints WHERE fingerprint = ?", (fingerprint,)
    ).fetchone()
    connection.execute(
        "INSERT OR REPLACE INTO fingerprints VALUES "
        "(?, (SELECT coalesce(max(written), 0) + 1 FROM fingerprints))",
        (fingerprint,),
    )
    if known is None:
        kept = "SELECT fingerprint FROM fingerprints ORDER BY written DESC LIMIT ?"
        for table in ("entries", "fingerprints"):
            connection.execute(
                f"DELETE FROM {table} WHERE fingerprint NOT IN ({kept})",  # noqa: S608
                (KEPT_VERSIONS,),
            )


_DAMAGED = object()


def _decoded(rows: list[tuple[Any, ...]]) -> list[Any]:
    """The JSON values of ``rows`` (key, value, digest), decoded in one call (one call is
    several times faster than one per entry), or one by one when any of them is not JSON."""
    values = [row[1] for row in rows]
    try:
        decoded = json.loads("[" + ",".join(values) + "]")
    except ValueError:
        decoded = None
    if isinstance(decoded, list) and len(decoded) == len(values):
        return decoded
    return [_one(value) for value in values]


def _one(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return _DAMAGED


def _select(count: int) -> str:
    """The query for ``count`` keys: placeholders only, every key is a bound parameter."""
    marks = ",".join("?" * count)
    return f"SELECT key, value, digest FROM entries WHERE fingerprint = ? AND kind = ? AND key IN ({marks})"  # noqa: S608, E501


def _set_aside(path: Path) -> None:
    """Move a damaged file out of the way (atomically: a run that has it open keeps it)."""
    path.replace(path.with_name(FILE_NAME + ".damaged"))


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=_BUSY_MS / 1000, isolation_level="DEFERRED")
    try:
        with contextlib.suppress(sqlite3.OperationalError):
            # Readers do not wait for a writer; where the file system cannot, the default
            # journal is just as safe, only slower.
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL still never corrupts the file; a crash may lose the last
            # transaction, which for a cache is a miss next time.
            connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(_SCHEMA)
        connection.execute(_VERSIONS)
        connection.execute("SELECT count(*) FROM entries WHERE 0").fetchall()
    except sqlite3.Error:
        connection.close()
        raise
    return connection


NO_CACHE = FactCache(None)
"""No cache: every read misses."""
