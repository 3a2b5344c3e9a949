"""Scripted git repositories with fixed identities and dates, so their shas never change.

Used by the demo and by the tests; it writes history, it never reads it (that is
``checker.evidence.git``'s job). ``build_history`` builds one from a ``history.yaml`` (the
format of ``evidence/examples/*/history.yaml`` and of the demo's Knight case).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_EMPTY_CONFIG = os.devnull


class ScriptedRepo:
    """A git repository whose every commit has a given author, date and content."""

    def __init__(self, path: Path, *, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")

    def git(
        self,
        *args: str,
        date: str = "2000-01-01T00:00:00Z",
        author: str = "",
        committer: tuple[str, str] | None = None,
    ) -> str:
        """Run git in the repository with a hermetic environment. The committer is the author,
        at ``date``, unless ``committer`` names another (``("Name <address>", date)``)."""
        name, _, email = (author or "Builder <builder@example.invalid>").partition(" <")
        by, _, address = (committer[0] if committer else "").partition(" <")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": _EMPTY_CONFIG,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email.rstrip(">"),
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": by if committer else name,
            "GIT_COMMITTER_EMAIL": (address if committer else email).rstrip(">"),
            "GIT_COMMITTER_DATE": committer[1] if committer else date,
            "LC_ALL": "C",
        }
        proc = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def commit(
        self,
        message: str,
        files: dict[str, str | None] | None = None,
        *,
        author: str,
        date: str,
        trailers: tuple[str, ...] = (),
        committer: tuple[str, str] | None = None,
    ) -> str:
        """Write ``files`` (``None`` deletes), commit them, and return the new sha; the
        committer is the author unless ``committer`` gives another and its date."""
        added: list[str] = []
        removed: list[str] = []
        for name, content in (files or {}).items():
            if content is None:
                removed.append(name)
                continue
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            added.append(name)
        if removed:
            self.git("rm", "--quiet", "-r", "--", *removed)
        if added:
            self.git("add", "--", *added)
        body = message + ("\n\n" + "\n".join(trailers) if trailers else "")
        self.git(
            "commit", "--quiet", "--allow-empty", "-m", body,
            date=date, author=author, committer=committer,
        )  # fmt: skip
        return self.git("rev-parse", "HEAD")

    def move(self, source: str, target: str, *, author: str, date: str, message: str) -> str:
        """Rename a tracked file in a commit of its own."""
        (self.path / target).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", source, target)
        return self.commit(message, author=author, date=date)

    def branch(self, name: str, start: str = "HEAD") -> None:
        """Create a branch at ``start`` and switch to it."""
        self.git("checkout", "--quiet", "-b", name, start)

    def checkout(self, name: str) -> None:
        """Switch to an existing branch or commit."""
        self.git("checkout", "--quiet", name)

    def merge(self, branch: str, message: str, *, author: str, date: str) -> str:
        """A merge commit of ``branch`` into the current branch; returns its sha."""
        self.git("merge", "--quiet", "--no-ff", "-m", message, branch, date=date, author=author)
        return self.git("rev-parse", "HEAD")


def build_history(history: Mapping[str, Any], target: Path) -> tuple[ScriptedRepo, dict[str, str]]:
    """The repository a ``history.yaml`` scripts, commit by commit, under ``target``; and the
    sha of each commit by its label. A commit is ``{label, message, author, date, branch?,
    from?, trailers?, files?, tag?}``; ``files`` maps a path to its new content (null deletes
    it); a commit on a new ``branch`` starts it at the commit labelled ``from`` (else at the
    current one)."""
    repo = ScriptedRepo(target)
    shas: dict[str, str] = {}
    current = "main"
    for commit in history["commits"]:
        branch = commit.get("branch", "main")
        if branch != current:
            if repo.git("branch", "--list", branch):
                repo.checkout(branch)
            else:
                repo.branch(branch, shas[commit["from"]] if "from" in commit else "HEAD")
            current = branch
        when = commit["date"]
        shas[commit["label"]] = repo.commit(
            commit["message"],
            commit.get("files", {}),
            author=commit["author"],
            date=when.isoformat() if hasattr(when, "isoformat") else str(when),
            trailers=tuple(commit.get("trailers", [])),
        )
        if "tag" in commit:
            repo.git("tag", commit["tag"])
    if current != "main":
        repo.checkout("main")
    return repo, shas
