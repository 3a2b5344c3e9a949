"""What files held at given commits: blobs, the registry's history, word search and trees.

Each question is one git process however many commits it covers (blobs through GitPython's
persistent ``cat-file --batch``), except word search and tree listing, which take one call per
distinct deployed commit.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from checker.errors import InputError
from checker.evidence.git import GitHistory

_NULL_BLOB = "0" * 40


@dataclass(frozen=True)
class FileVersion:
    """One version of a file in history: the commit that wrote it, its path there, its blob."""

    commit: str
    path: str
    blob: str | None
    """``None`` where the commit deleted the file."""


class GitContent:
    """File contents across a repository's history."""

    def __init__(self, history: GitHistory) -> None:
        self._history = history
        self._git = history.repo.git

    def blob(self, name: str) -> bytes | None:
        """The bytes of an object name (a blob sha or ``commit:path``), or None if absent."""
        try:
            answer: tuple[object, ...] = tuple(self._git.get_object_data(name))
        except ValueError:
            return None
        kind, data = answer[1], answer[3]  # GitPython gives bytes, whatever its hints say
        return data if kind == b"blob" and isinstance(data, bytes) else None

    def blob_id(self, name: str) -> str | None:
        """The blob sha behind an object name, or None if absent."""
        try:
            answer: tuple[object, ...] = tuple(self._git.get_object_header(name))
        except ValueError:
            return None
        sha = answer[0]
        return sha.decode() if isinstance(sha, bytes) else None

    def versions(self, path: str, tips: list[str]) -> list[FileVersion]:
        """Every version of ``path`` reachable from ``tips``, oldest first, following renames."""
        if not tips:
            return []
        output = self._run(
            [
                "log",
                "--stdin",
                "--follow",
                "--topo-order",
                "--raw",
                "--no-abbrev",
                "--format=%x00%H",
                "--",
                path,
            ],
            stdin="".join(f"{tip}\n" for tip in sorted(set(tips))),
        )
        versions: list[FileVersion] = []
        for record in output.split("\0")[1:]:
            lines = record.strip("\n").splitlines()
            commit = lines[0].strip()
            for line in lines[1:]:
                if not line.startswith(":"):
                    continue
                meta, *paths = line.split("\t")
                _, _, _, new_blob, status = meta[1:].split(" ")
                blob = None if status.startswith("D") or new_blob == _NULL_BLOB else new_blob
                versions.append(FileVersion(commit, paths[-1], blob))
        versions.reverse()  # topological order lists children first
        return versions

    def grep_words(
        self, commit: str, words: list[str], excludes: list[str]
    ) -> dict[str, list[str]]:
        """Tracked text files at ``commit`` holding each word as a whole word; one git call."""
        if not words:
            return {}
        args = ["grep", "-o", "-w", "-F", "-I", "-z", "--no-color"]
        for word in sorted(set(words)):
            args += ["-e", word]
        args += [commit, "--", ".", *(f":(exclude,glob){glob}" for glob in excludes)]
        output = self._run(args, ok_codes=(0, 1))
        found: dict[str, set[str]] = {}
        prefix = f"{commit}:"
        for line in output.splitlines():
            location, _, match = line.partition("\0")
            found.setdefault(match, set()).add(location.removeprefix(prefix))
        return {word: sorted(paths) for word, paths in sorted(found.items())}

    def tree(self, commit: str) -> list[str]:
        """Every tracked file path at ``commit``."""
        output = self._run(["ls-tree", "-r", "-z", "--name-only", commit])
        return [name for name in output.split("\0") if name]

    def _run(
        self, args: list[str], *, stdin: str | None = None, ok_codes: tuple[int, ...] = (0,)
    ) -> str:
        process = self._git.execute(
            ["git", *args], as_process=True, istream=subprocess.PIPE if stdin is not None else None
        )
        proc = process.proc
        if proc is None or proc.stdout is None:
            raise RuntimeError(f"git {args[0]} did not start with pipes")
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        data: bytes = proc.stdout.read()
        stderr = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        code = proc.wait()
        if code not in ok_codes:
            raise InputError(f"git {args[0]} failed: {stderr}", path=str(self._history.root))
        return data.decode("utf-8", errors="surrogateescape")
