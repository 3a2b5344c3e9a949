"""The git collector: one streaming ``git log`` and the questions the rules ask of history.

Git objects never leave this module; callers get shas and frozen records.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import re
import subprocess
import threading
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import git

from checker.cache import FactCache, git_version
from checker.errors import InputError, UsageError
from checker.evidence.objectcheck import (
    FSCK_HINT,
    Background,
    CommitCheck,
    TreeCheck,
    check_stored_copies,
    git_failed,
    unquote_c,
)
from checker.evidence.seal import SEALED, Layered, Seal, Sealed, is_sealed, seal
from checker.vocabulary import short

_FIELD = b"\x1f"
_LOG_FORMAT = "%H%x1f%P%x1f%at%x1f%ct%x1f%ae%x1f%aE%x1f%ce%x1f%cE"
"""Fixed-alphabet fields first; then the author's and the committer's addresses as written and
as ``.mailmap`` maps them, the only free text, so that a separator inside them shows as one
field too many."""
_FREE_FIELDS = 4
_HEX = re.compile(r"[0-9a-fA-F]{4,40}")
_DWIM = ("refs/{}", "refs/tags/{}", "refs/heads/{}", "refs/remotes/{}", "refs/remotes/{}/HEAD")
"""Where git looks for a ref by a short name (``git help revisions``), after ``$GIT_DIR/NAME``."""
_REV_SUFFIX = re.compile(r"[~^:]|@\{")
"""Where a revision's leading name ends (``release~1``, ``main^{}``, ``main@{1}``)."""
_PSEUDO_REF = re.compile(r"[A-Z_]+")
"""A file in the git directory git reads as a ref by its bare name (``HEAD``, ``FETCH_HEAD``)."""
_BRANCH_REFS = ("refs/heads/", "refs/remotes/")
"""Where branches and remote-tracking branches are: all a protected branch may be."""
_MAILMAP_BATCH = 500

_SETTINGS = (
    ("core.commitGraph", "false"),
    # Which bytes git reads for an object id must depend on the object stores' files alone,
    # which a run seals (``checker.evidence.seal``), never on the repository's configuration:
    # core.useReplaceRefs=true there outranks GIT_NO_REPLACE_OBJECTS, so git followed a
    # replace ref again; with core.multiPackIndex=false a multi-pack-index was skipped while
    # a run sealed the store, and read once the setting was turned back on.
    ("core.useReplaceRefs", "false"),
    ("core.multiPackIndex", "true"),
    ("protocol.allow", "never"),
    ("core.quotePath", "true"),
    ("log.showSignature", "false"),
    ("gpg.program", "false"),
    ("gpg.ssh.program", "false"),
    ("gpg.x509.program", "false"),
    ("core.fsmonitor", "false"),
    # What the history shows must not follow the repository's own configuration: with
    # log.showRoot=false, git log shows nothing of a root commit (the registry's first version
    # vanished, and a flag dropped from it then reused passed); with a lower diff.renameLimit,
    # --follow no longer finds the registry's rename (the versions under its old name, with
    # their retirements, vanished). The rest are git's defaults, pinned for the same reason.
    ("log.showRoot", "true"),
    ("diff.renameLimit", "1000"),
    ("log.follow", "false"),
    ("diff.renames", "true"),
    ("diff.relative", "false"),
    ("diff.ignoreSubmodules", "none"),
    ("diff.orderFile", os.devnull),
    ("i18n.logOutputEncoding", "UTF-8"),
    ("color.ui", "never"),
    ("color.diff", "never"),
    ("core.ignoreCase", "false"),
)
HISTORY_ENV = {
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_LITERAL_PATHSPECS": "1",
    "GIT_GRAFT_FILE": str(Path(os.devnull) / "no-grafts"),
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_CONFIG_COUNT": str(len(_SETTINGS)),
    **{f"GIT_CONFIG_KEY_{i}": key for i, (key, _) in enumerate(_SETTINGS)},
    **{f"GIT_CONFIG_VALUE_{i}": value for i, (_, value) in enumerate(_SETTINGS)},
}
"""Set for every git command knightwatch runs: history as its objects record it, without
``git replace`` objects or grafts, which could hide a commit or rewrite its parents or message
(the graft file is pointed at a path that cannot exist), and without the commit-graph file, a
cache of parents that git trusts over the commits themselves. git never fetches: a partial
clone's missing object would otherwise be fetched from whatever remote, by whatever command,
the repository's own configuration names (``remote.*.uploadpack``), on the auditor's machine;
it is a missing object instead (``GIT_NO_LAZY_FETCH`` where git knows it, and no transport
allowed where it does not). Nor does git run any other program the repository's configuration
names: a ``log.showSignature`` there made ``git log`` check each signed commit with the
``gpg.program`` the same configuration named; signatures are never shown, and the programs
that would check them are ``false``. Nor does the repository's configuration change what git
shows of the history (``log.showRoot``, ``diff.renameLimit`` and the other settings git reads
for ``log`` and ``diff-tree``, pinned to git's defaults). Paths git writes are quoted C-style,
never raw bytes. A path
knightwatch gives git (the registry's, from knightwatch.yaml) is a path, never a glob or
pathspec magic (``*.yml``, ``:(exclude)x``) that would make other files, or none, its
history."""
IGNORED_ENV = (
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_INDEX_FILE",
    "GIT_NAMESPACE",
    "GIT_REPLACE_REF_BASE",
)
"""Taken out of the environment git runs with (and of knightwatch's own, which GitPython hands
git), whatever the caller's holds: the repository is the one ``--repo`` names, with its own
object stores, and no setting of ``HISTORY_ENV`` can be taken back (``git -c
core.commitGraph=true``, as an alias or a hook runs knightwatch, reaches git through
``GIT_CONFIG_PARAMETERS``, which outranks ``GIT_CONFIG_COUNT``)."""
_SHALLOW_HINT = (
    "fetch full history first: 'git fetch --unshallow' (in GitHub Actions: "
    "actions/checkout with 'fetch-depth: 0'; in GitLab CI: GIT_DEPTH: 0)"
)


@dataclass(frozen=True)
class Commit:
    """One commit as the rules need it."""

    sha: str
    parents: tuple[str, ...]
    author_email: str
    """As written; with a control character in it, the raw field (which then names nobody)."""
    author_time: int
    author_mapped: str = ""
    """The address ``.mailmap`` maps the author to (git's ``%aE``); empty when unreadable."""
    committer_email: str = ""
    """As written (git's ``%ce``); the author's raw field too when the fields are unreadable."""
    committer_mapped: str = ""
    """The address ``.mailmap`` maps the committer to (git's ``%cE``); empty when unreadable."""
    committer_time: int = 0
    """When it was committed (git's ``%ct``), seconds since the epoch."""


@dataclass(frozen=True)
class BranchTip:
    """The protected branch as a run judged it: its name as configured, the ref it was read
    from, and the commit that ref pointed to."""

    name: str
    ref: str
    commit: str

    def to_dict(self) -> dict[str, str]:
        """As a report's ``inputs.repository.protected_branch`` records it."""
        return {"name": self.name, "ref": self.ref, "commit": self.commit}

    def describe(self) -> str:
        """As every format and ``verify`` word it: ``main at <commit> (read from <ref>)``."""
        return f"{self.name} at {self.commit} (read from {self.ref})"


@dataclass(frozen=True)
class ObjectId:
    """What an evidence revision names: a commit by its full sha, or why it names none."""

    sha: str | None
    refused: str = ""
    """Why the name is refused (a ref, ambiguous); empty when it is only absent."""


class Early(Protocol):
    """Work begun on a thread before the question it answers is asked."""

    def cancel(self) -> None:
        """Stop the work and its git processes, and wait for its thread."""


def _open_repository(path: Path) -> git.Repo:
    """The repository at ``path``, or one clear message why there is none."""
    if path.is_file():  # git would take the repository around it, and judge that
        raise InputError(
            "is a file, not a repository",
            path=str(path),
            hint=f"pass --repo with the repository's directory, e.g. --repo {path.parent}",
        )
    try:
        return git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError as exc:
        raise InputError("repository not found", path=str(path)) from exc
    except git.InvalidGitRepositoryError as exc:
        raise InputError(
            "not a git repository", path=str(path), hint="pass --repo PATH to a git checkout"
        ) from exc


class GitHistory:
    """A repository's commit graph over the tips the audit needs, read in one git call."""

    def __init__(self, path: Path) -> None:
        for key in IGNORED_ENV:  # GitPython runs git with this process's environment
            os.environ.pop(key, None)
        self._repo = _open_repository(path)
        if self._repo.bare or self._repo.working_tree_dir is None:
            raise InputError(
                "bare repositories are not supported (a mirror clone is one): the check reads "
                "files of the work tree",
                path=str(path),
                hint=f"clone it with a work tree ('git clone {path} DIR': its branches are "
                "then that clone's origin/*, read as the forge's) and pass --repo DIR",
            )
        self._repo.git.update_environment(**HISTORY_ENV)
        self.root = Path(self._repo.working_tree_dir)
        if self._git("rev-parse", "--is-shallow-repository").strip() == "true":
            raise InputError(
                "repository is a shallow clone: its history cannot show what a deployment shipped",
                path=str(self.root),
                hint=_SHALLOW_HINT,
            )
        self.repo = self._repo
        self.commits: dict[str, Commit] = {}
        self._generation: dict[str, int] = {}
        self._loaded_tips: set[str] = set()
        self._background: threading.Thread | None = None
        self._background_error: BaseException | None = None
        self.early: dict[tuple[str, ...], Early] = {}
        """Work begun ahead, by the question it answers (``begin_versions``); ``close``
        cancels whatever no one asked for."""
        self.options_unread: dict[str, str] = {}
        """By commit, why the registry a version of knightwatch.yaml named cannot be read
        from the history: the version is a link to a file no commit holds
        (``GitContent._named_registries``)."""
        self._checks: list[CommitCheck] = []
        self._checks_lock = threading.Lock()
        self._later: list[Background] = []
        self._copies_begun = False
        self.trees = TreeCheck(self.root, self.env)
        """The trees of this history hashed so far (``checker.evidence.objectcheck``)."""
        self._seal: Seal | None = None
        self._seal_confirmed = False
        """Whether ``checked`` found the stores' files as the seal names them."""
        self._stores: list[Path] | None = None
        self._sealed = Sealed()
        """What runs before this one hashed under the store's seal (``use_seal``)."""
        self._refs: frozenset[str] | None = None
        """``_ref_names``, listed once: a run reads one state of the refs."""
        self._symbolic: dict[str, str] = {}
        """The symbolic refs among ``_ref_names``, and the ref each points to."""

    def _git(self, *args: str) -> str:
        try:
            return str(self._repo.git.execute(["git", *args]))
        except git.GitCommandError as exc:
            stderr = str(exc.stderr).strip().removeprefix("stderr: ").strip("'\n ")
            raise git_failed(args[0], stderr, self.root) from exc

    def committed_at(self, sha: str) -> int:
        """When commit ``sha`` was committed (its committer date), in seconds since 1970."""
        return int(self._git("show", "-s", "--format=%ct", sha).strip() or "0")

    def head(self) -> str:
        """The sha of HEAD."""
        resolved = self.resolve(["HEAD"])
        if resolved["HEAD"] is None:
            raise InputError("repository has no commits", path=str(self.root))
        return str(resolved["HEAD"])

    def resolve(self, revs: Iterable[str]) -> dict[str, str | None]:
        """Each rev (full or abbreviated sha, branch, tag) to its commit sha, in one git call."""
        result: dict[str, str | None] = {}
        names = []
        for name in sorted(set(revs)):
            if name.strip() and not any(c.isspace() for c in name):
                names.append(name)
            else:
                result[name] = None  # cat-file reads one name per line; such a name is no rev
        if not names:
            return result
        answers = self._check_objects([f"{name}^{{commit}}" for name in names])
        for name, (sha, kind) in zip(names, answers, strict=True):
            result[name] = sha if kind == "commit" else None
        return result

    def resolve_ids(self, names: Iterable[str]) -> dict[str, ObjectId]:
        """Each name from the evidence to the commit it names as an object id: a full sha, or
        an abbreviated one that no ref shares and that only one commit starts with.

        The sha form is the only one taken: a branch, tag, ``HEAD``, reflog (``@{...}``) or
        relative form (``~``, ``^``) names whatever it points at when the check runs, so it is
        refused, as is a short sha that is also the name of a ref.
        """
        unique = sorted(set(names))
        result: dict[str, ObjectId] = {}
        hexes = [name for name in unique if _HEX.fullmatch(name)]
        wanted: list[str] = []
        for name in hexes:
            clash = self.ref_clash(name)
            if clash is not None:
                result[name] = ObjectId(None, f"{ambiguous(clash)}; record the full sha")
            else:
                wanted.append(name)
        result.update(self._hex_ids(wanted))
        others = [name for name in unique if name not in result]
        try:  # what each points at now, for the message alone
            today = self.resolve(others)
        except InputError:  # a form git dies on (``@{upstream}`` without one)
            today = {}
        for name in others:
            why = "is not a sha"
            if today.get(name):
                why = f"{_form(name)}, not a sha (it points at {today[name]} now)"
            result[name] = ObjectId(None, f"{why}; record the full commit sha")
        return result

    def ref_clash(self, name: str) -> str | None:
        """The ref that a name shaped like a sha (4 to 40 hex digits) also is, as git looks a
        short name up (a branch or tag called ``3f9c2e1``), or None. Git takes the ref, which
        may point at any commit: the name is ambiguous (``ambiguous`` says so)."""
        if not _HEX.fullmatch(name):
            return None
        refs = self._ref_names()
        return next((ref for ref in _ref_forms(name) if ref in refs), None)

    def resolve_option(self, option: str, name: str) -> str | None:
        """The commit a revision given on the command line (``option``) names, or None; a name
        shaped like a sha that is also a ref (``ref_clash``) is a usage error naming both:
        git takes the ref, which may point at any commit. So is a name two refs answer to
        (``ref_twins``): git takes one, and a tool given the same name may take the other."""
        clash = self.ref_clash(name)
        if clash is not None:
            at = self.resolve([clash])[clash]
            raise UsageError(
                f"{option} {name!r} {ambiguous(clash)}"
                + (f" (at {short(at)})" if at else "")
                + ", which git would take",
                hint=f"pass the full sha of the commit meant, or the ref by its full name "
                f"({clash})",
            )
        self._refuse_twins(option, name)
        return self.resolve([name])[name]

    def ref_twins(self, name: str) -> list[str]:
        """The refs a revision's leading name answers to as git looks a short name up
        (``release`` in ``release~1``: the branch ``refs/heads/release`` and the tag
        ``refs/tags/release``), when more than one does. Git takes the first with only a
        warning; ``git checkout release`` takes the branch."""
        base = _REV_SUFFIX.split(name, maxsplit=1)[0]
        if not base:
            return []
        refs = self._ref_names()
        found = [
            ref
            for ref in dict.fromkeys(_ref_forms(base))
            if ref in refs and (ref.startswith("refs/") or _PSEUDO_REF.fullmatch(ref))
        ]
        return found if len(found) > 1 else []

    def _refuse_twins(self, option: str, name: str) -> None:
        twins = self.ref_twins(name)
        if not twins:
            return
        at = self.resolve(twins)
        base = _REV_SUFFIX.split(name, maxsplit=1)[0]
        both = " and ".join(
            f"the ref {ref}" + (f" (at {short(sha)})" if (sha := at[ref]) else "") for ref in twins
        )
        raise UsageError(
            f"{option} {name!r} is ambiguous: {base!r} is both {both}; git takes the first, "
            "and a deployment given the same name may take another",
            hint=f"pass the full sha of the commit meant, or the ref by its full name "
            f"({' or '.join(twins)})",
        )

    def _hex_ids(self, names: list[str]) -> dict[str, ObjectId]:
        """Names of hex digits that no ref shares: what commit each is, if it is one."""
        answers = self._check_objects([name.lower() for name in names])
        tags = [name for name, (_, kind) in zip(names, answers, strict=True) if kind == "tag"]
        peeled = dict(
            zip(tags, self._check_objects([f"{t.lower()}^{{commit}}" for t in tags]), strict=True)
        )
        result: dict[str, ObjectId] = {}
        for name, (named, kind) in zip(names, answers, strict=True):
            commit, commit_kind = peeled.get(name, (named, kind))
            if kind == "ambiguous":
                result[name] = ObjectId(
                    None, "is ambiguous: more than one object starts with it; record the full sha"
                )
            elif kind == "missing":
                result[name] = ObjectId(None)
            elif not named.startswith(name.lower()):  # a ref answered, not the sha
                result[name] = ObjectId(None, "is a ref, not a sha; record the full sha")
            else:
                result[name] = ObjectId(commit if commit_kind == "commit" else None)
        return result

    def _ref_names(self) -> frozenset[str]:
        """Every ref's full name, and the pseudo-refs in the git directory, as they were when
        the history first asked (the protected branch, then the evidence's revisions)."""
        if self._refs is None:
            listing = self._git("for-each-ref", "--format=%(refname) %(symref)")
            pairs = [line.partition(" ") for line in listing.splitlines()]
            self._symbolic = {name: target for name, _, target in pairs if target}
            names = {name for name, _, _ in pairs}
            git_dirs = {Path(self._repo.git_dir), Path(self._repo.common_dir)}
            names.update(p.name for d in git_dirs if d.is_dir() for p in d.iterdir() if p.is_file())
            self._refs = frozenset(names)
        return self._refs

    def _check_objects(self, lines: list[str]) -> list[tuple[str, str]]:
        """``git cat-file --batch-check`` for each line: (object id, type), or ("", "missing")
        and ("", "ambiguous")."""
        if not lines:
            return []
        listed = self.git_output(
            ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            stdin="".join(f"{line}\n" for line in lines).encode(),
        )
        answers = []
        for answer in listed.decode(errors="replace").splitlines():
            first, _, second = answer.rpartition(" ")
            if second in ("missing", "ambiguous"):
                answers.append(("", second))
            else:
                answers.append((first, second))
        if len(answers) != len(lines):
            raise InputError(
                "git cat-file gave an answer per line it was not asked", path=str(self.root)
            )
        return answers

    def mailmap(self, values: Iterable[str]) -> list[tuple[str, str]]:
        """(address, canonical address) for each value's address that ``.mailmap`` maps
        elsewhere (``git check-mailmap``, asked with the value's name where it has one, and
        without). Values with ``@`` only; a value that cannot be asked about (a control
        character, a stray ``<`` or ``>``) is left out: it names nobody anyway."""
        queries: set[tuple[str, str]] = set()
        for value in set(values):
            name, _, rest = value.rpartition("<") if "<" in value else ("", "", value)
            address = rest.split(">", 1)[0].strip() if "<" in value else rest.strip()
            name = name.strip()
            if "@" not in address or not (value.isprintable() and address.isprintable()):
                continue
            if any(mark in f"{name}{address}" for mark in "<>"):
                continue
            queries.add((address, f"<{address}>"))
            if name:
                queries.add((address, f"{name} <{address}>"))
        asked = sorted(queries)
        pairs: set[tuple[str, str]] = set()
        for start in range(0, len(asked), _MAILMAP_BATCH):
            batch = asked[start : start + _MAILMAP_BATCH]
            mapped = self.git_output(["check-mailmap", *(contact for _, contact in batch)])
            lines = mapped.decode(errors="replace").splitlines()
            for (address, _), line in zip(batch, lines, strict=True):
                canonical = line.rsplit("<", 1)[-1].rstrip(">")
                if canonical.casefold() != address.casefold():
                    pairs.add((address, canonical))
        return sorted(pairs)

    def run_git(
        self, args: list[str], *, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run one git command in the repository with ``HISTORY_ENV``; the caller reads its
        exit code."""
        return subprocess.run(
            ["git", *args],
            input=stdin,
            capture_output=True,
            cwd=self.root,
            env=self.env,
            check=False,
        )

    def git_output(self, args: list[str], *, stdin: bytes | None = None) -> bytes:
        """``run_git``'s standard output; a failure is an input error (``git_failed``: damage
        to the repository where git names what it could not read)."""
        proc = self.run_git(args, stdin=stdin)
        if proc.returncode != 0:
            raise git_failed(args[0], proc.stderr.decode(errors="replace").strip(), self.root)
        return proc.stdout

    def resolve_branch(self, branch: str) -> str | None:
        """The protected branch's tip commit (``branch_tip``), or None."""
        tip = self.branch_tip(branch)
        return tip.commit if tip is not None else None

    def branch_tip(self, branch: str) -> BranchTip | None:
        """A branch's tip, and the ref it was read from: ``origin/BRANCH`` where the clone
        has it (what the forge holds), else the local branch; a name with a remote's prefix
        (``upstream/main``) is that remote-tracking branch alone, and a full name
        (``refs/heads/main``) that ref alone (``branch_forms``). Never another ref or a rev: a
        tag named ``main``, in a clone without the branch, would make whatever it points at
        the protected branch. None when no branch has that name (``refuse_non_branch`` then
        says what else it is), or when the first ref there is names no commit git can read
        (``refuse_unreadable_ref`` says so): the next one never stands in for it."""
        forms = self.branch_forms(branch)
        ref = next((f for f in forms if f in self._ref_names()), None)
        for passed in forms[: forms.index(ref)] if ref is not None else forms:
            self._refuse_broken(branch, passed, ref)
        if ref is None:
            return None
        self._refuse_symbolic(branch, ref)
        commit = self.resolve([ref])[ref]
        return BranchTip(branch, ref, commit) if commit is not None else None

    def _refuse_broken(self, branch: str, form: str, next_ref: str | None) -> None:
        """Where ``form``, a ref the protected branch is read from before ``next_ref`` (or
        before finding none), is in the repository but git lists no such ref, an input error:
        git passes over a ref file that holds no object id, and a symbolic ref to a ref that
        is not there, and the next ref would be read in its place (a local ``main`` on an
        unmerged commit, behind an ``origin/main`` made unreadable). Loose and packed refs;
        a repository that keeps its refs otherwise lists every ref it has."""
        common = Path(self._repo.common_dir)
        try:
            packed = (common / "packed-refs").read_text(errors="replace").splitlines()
        except OSError:
            packed = []
        listed = any(line.partition(" ")[2] == form for line in packed if line[:1] not in "#^")
        if not (common / form).is_file() and not listed:
            return
        instead = f", and {next_ref} is not read in its place" if next_ref else ""
        raise InputError(
            f"protected branch {branch!r}: {form} is in the repository, but git cannot read "
            f"it as a ref (it names no object id, or is a symbolic ref to a ref that is not "
            f"there){instead}",
            path=str(self.root),
            hint=f"remove it (git update-ref -d --no-deref {form}, or delete the file "
            f"{common / form}), then {self.fetch_hint(branch)}",
        )

    def _refuse_symbolic(self, branch: str, ref: str) -> None:
        """Where the ref a protected branch is read from is a symbolic ref, an input error
        naming the ref it points to. The commit judged would be that other ref's, and the
        report would record it as read from ``ref``: ``refs/remotes/origin/main`` made to
        point at a local ``refs/heads/x`` was recorded as origin's branch. No fetch writes a
        symbolic remote-tracking branch but ``origin/HEAD``, which points at whichever branch
        the clone's own configuration says (``git remote set-head``)."""
        target = self._symbolic.get(ref)
        if target is None:
            return
        raise InputError(
            f"protected branch {branch!r} would be read from {ref}, which is a symbolic ref to "
            f"{target}: the commit judged would be {target}'s, recorded as {ref}'s",
            path=str(self.root),
            hint=f"name the branch it points to (--protected-branch {target}) if that is the "
            f"protected branch; else delete the symbolic ref (git symbolic-ref --delete {ref}) "
            "and fetch the branch",
        )

    def branch_forms(self, branch: str) -> list[str]:
        """The refs a protected branch's name may be, in order. A full name (``refs/...``) is
        that ref alone. A name whose first part is a remote of the clone (``origin/main``,
        ``upstream/main``: a remote in its configuration or with remote-tracking branches) is
        that remote-tracking branch alone: a local branch of that name is whatever a CI
        checkout of a pushed branch so named created, and ``origin/`` put before it would be a
        branch anyone can push (``refs/remotes/origin/origin/main``). Another name with a
        ``/`` is refused as ambiguous (``upstream/main`` where the clone has no remote
        ``upstream`` could only be a pushed branch of that name); a name without one is
        origin's branch, else the local one. Origin's first: whoever runs the audit in their
        own clone moves its local branches at will (``git branch -f main`` onto an unmerged
        commit put it "on main"), while origin's is what the last fetch found on the forge."""
        if branch.startswith("refs/"):
            return [branch] if branch.startswith(_BRANCH_REFS) else []
        if "/" not in branch:
            return [f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"]
        remote = branch.split("/", 1)[0]
        if remote in self._remote_names():
            return [f"refs/remotes/{branch}"]
        raise InputError(
            f"protected branch {branch!r} is ambiguous: {remote!r} is no remote of this clone, "
            f"so {branch!r} could only be a branch of that name (origin's, or a local one a "
            "checkout made), which anyone who may push a branch can create",
            path=str(self.root),
            hint=f"write origin/{branch} (or refs/heads/{branch}) for a branch of that name, "
            f"or add and fetch the remote {remote!r}",
        )

    def fetch_hint(self, branch: str) -> str:
        """How to fetch the protected branch into the ref it is first read from
        (``branch_forms``): CI checkouts fetch the change's own ref alone (GitHub's
        actions/checkout unless ``fetch-depth: 0``, GitLab CI's runner always)."""
        ref = self.branch_forms(branch)[0]
        if ref.startswith("refs/remotes/"):
            remote, name = ref.removeprefix("refs/remotes/").split("/", 1)
            command = f"git fetch {remote} +refs/heads/{name}:{ref}"
        else:
            command = f"git fetch origin +{ref}:{ref}"
        return (
            f"fetch it: '{command}' (in GitHub Actions, actions/checkout with 'fetch-depth: 0' "
            "fetches every branch; in GitLab CI, run that fetch in the job's script)"
        )

    def _remote_names(self) -> set[str]:
        """The clone's remotes: those its configuration names, and those it has
        remote-tracking branches of."""
        names = {
            ref.split("/", 3)[2] for ref in self._ref_names() if ref.startswith("refs/remotes/")
        }
        # a configuration GitPython cannot read: the refs alone
        with contextlib.suppress(ValueError, OSError):
            names.update(remote.name for remote in self.repo.remotes)
        return names

    def refuse_non_branch(self, branch: str) -> None:
        """Where ``branch`` (which names no branch: ``resolve_branch``) is another ref (a tag,
        ``HEAD``) or a rev git reads (a sha, ``main~1``), an input error naming it: the
        protected branch is a branch, and what else bears its name does not stand in for it."""
        refs = self._ref_names()
        if any(form in refs for form in self.branch_forms(branch)):
            return  # a branch git cannot read: ``refuse_unreadable_ref`` says so
        other = next((form for form in _ref_forms(branch) if form in refs), None)
        if other is None and not self._names_commit(branch):
            return
        what = "is a commit sha" if _HEX.fullmatch(branch) else _form(branch)
        if other is not None:
            kind = "the tag" if other.startswith("refs/tags/") else "the ref"
            what = f"names {kind} {other}" if other != branch else f"is the ref {other}"
        raise InputError(
            f"protected branch {branch!r} is not a branch: no branch it may be "
            f"({', '.join(self.branch_forms(branch))}) exists, and {branch!r} {what}, which "
            "cannot stand in for the branch",
            path=str(self.root),
            hint=f"{self.fetch_hint(branch)}, "
            "or pass --protected-branch BRANCH (knightwatch.yaml's protected_branch is applied "
            "by a check only; a gate or an audit takes it from --config)",
        )

    def _names_commit(self, name: str) -> bool:
        """Whether git reads ``name`` as a commit (a form git dies on names none)."""
        try:
            return self.resolve([name]).get(name) is not None
        except InputError:
            return False

    def refuse_unreadable_ref(self, name: str) -> None:
        """Where ``name`` (which resolved to no commit) is a ref of this repository, it names
        an object git could not read as a commit: rewritten in place (git hashes a tip when
        it reads it), or deleted. That is an input error about the repository, not the name."""
        forms = {name, *(form.format(name) for form in _DWIM), f"refs/remotes/origin/{name}"}
        listing = self.run_git(["for-each-ref", "--format=%(refname) %(objectname)"])
        for line in listing.stdout.decode(errors="replace").splitlines():
            ref, _, target = line.rpartition(" ")
            if ref in forms:
                raise InputError(
                    f"{ref} names git object {target}, which git cannot read as a commit (it "
                    "does not hash to its name, or is missing): the repository's objects were "
                    "altered (or are damaged), so its history cannot be trusted",
                    path=str(self.root),
                    hint=FSCK_HINT,
                )

    def close(self) -> None:
        """End the git processes GitPython keeps open for this repository (waiting for a
        background load first; its error, if any, no longer matters), and cancel the work
        begun ahead that no one asked for, and the checks of its objects."""
        self._join_background()
        while self.early:
            self.early.popitem()[1].cancel()
        with self._checks_lock:
            checks, self._checks = self._checks, []
        for check in checks:
            check.cancel()
        for later in self._later:
            later.join()  # its processes end with the checks it waits for
        self._repo.close()

    @property
    def env(self) -> dict[str, str]:
        """The environment every git command of this history runs with."""
        kept = {key: value for key, value in os.environ.items() if key not in IGNORED_ENV}
        return {**kept, **HISTORY_ENV}

    def check_commits(self, tips: Iterable[str], *, with_trees: bool = False) -> None:
        """Begin hashing, on a thread, every commit reachable from ``tips`` that no check begun
        before covers (and, ``with_trees``, each one's root tree): git is about to walk them,
        and git believes whatever bytes it reads (``checker.evidence.objectcheck``). Commits
        a run before this one hashed under the same seal (``use_seal``) are not hashed again.
        ``checked`` waits for every check."""
        with self._checks_lock:
            if not self._copies_begun:  # the first walk: every copy of an object stored twice
                self._copies_begun = True
                if self._seal is None or not self._sealed.tips:
                    self.check_later(self._check_copies)
            sealed = self._sealed
            covered = {tip for check in self._checks for tip in check.tips} | sealed.tips
            fresh = {tip for tip in tips if tip and tip not in sealed.commits} - covered
            if fresh:
                check = CommitCheck(self.root, self.env, fresh, covered, with_trees)
                self._checks.append(check)

    def use_seal(self, cache: FactCache) -> None:
        """Seal the object stores as they stand (``checker.evidence.seal``; ``checked`` looks
        at them again once git's walks are done) and take from ``cache`` what runs before this
        one hashed under that seal: those commits and trees are not hashed again. Call before
        the first walk; ``keep_sealed`` adds this run's."""
        self._seal = seal(self.object_stores(), git_version().decode(errors="replace"))
        if self._seal is None or not cache.enabled:
            return
        for value in cache.get(SEALED, [self._seal.place], is_sealed).values():
            found = Sealed.of(value, self._seal.digest)
            if found is not None:
                self._sealed = found
                self.trees.sealed = found.trees

    def keep_sealed(self, cache: FactCache) -> None:
        """Put in ``cache`` every commit and tree this run hashed, with those of the runs
        before it, under the seal ``use_seal`` found, if every file of the stores still
        stands as it did (call once every check has ended: ``checked``)."""
        if self._seal is None or not cache.enabled:
            return
        with self._checks_lock:
            checks = list(self._checks)
        sealed = self._sealed
        tips = sealed.tips.union(*(check.tips for check in checks))
        trees = {tree for tree in self.trees.checked if tree not in sealed.trees}
        if tips == sealed.tips and not trees:
            return  # nothing new
        if self._seal_confirmed or self._seal.intact():
            commits = dict(sealed.commits.items())  # read in order, not looked up one by one
            for check in checks:
                commits.update(check.trees)
            trees.update(sealed.trees)
            width = len(next(iter(commits), "x" * 40))
            kept = Sealed(tips, commits, trees).value(width, self._seal.digest)
            cache.put(SEALED, {self._seal.place: kept})  # the place's earlier record replaced

    def _check_copies(self) -> None:
        check_stored_copies(self.root, self.object_stores(), self.env)

    def object_stores(self) -> list[Path]:
        """The repository's object store and every one it borrows from, as git itself finds
        them (``git count-objects -v``: alternates files, however written, and nested); asked
        of git once a run (the seal and the search for copies stored twice both need them)."""
        if self._stores is None:
            self._stores = self._find_stores()
        return list(self._stores)

    def _find_stores(self) -> list[Path]:
        own = self.run_git(["rev-parse", "--git-path", "objects"])
        counted = self.run_git(["count-objects", "-v"])
        if own.returncode != 0 or counted.returncode != 0:
            stderr = (own.stderr + counted.stderr).decode(errors="replace").strip()
            raise git_failed("count-objects", stderr, self.root)
        stores = [self.root / os.fsdecode(own.stdout.rstrip(b"\n"))]
        for line in counted.stdout.splitlines():
            if line.startswith(b"alternate: "):
                stores.append(Path(os.fsdecode(unquote_c(line.removeprefix(b"alternate: ")))))
        return stores

    def commits_checked(self) -> Mapping[str, str]:
        """Wait for every commit check begun (raising the first one's error): each commit
        checked, with its root tree."""
        with self._checks_lock:
            checks = list(self._checks)
        for check in checks:
            check.wait()
            self.trees.checked |= check.checked_trees
        return Layered(*(check.trees for check in checks), self._sealed.commits)

    def check_later(self, work: Callable[[], object]) -> None:
        """Run ``work`` (hashing what a walk of git's read) on a thread; ``checked`` waits
        for it, and raises its error."""
        self._later.append(Background(work, "later check"))

    def checked(self) -> Mapping[str, str]:
        """``commits_checked``, and every check run later; and, where the run took what runs
        before it hashed under the store's seal, that seal still holds (``_confirm_seal``)."""
        trees = self.commits_checked()
        while self._later:
            self._later.pop(0).wait()
        self._confirm_seal()
        return trees

    def _confirm_seal(self) -> None:
        """Every file of the stores stands as it did when the run sealed them. A run hashes
        what git walks beside git's walks, not inside them, and one under an earlier run's
        seal hashes none of what that run hashed: a file that came, went or was written to
        meanwhile (a pack holding a forged copy of a commit, moved in once the hashing had
        read the true one) may have given git's walks bytes no one hashed. That is an input
        error, not a verdict."""
        if self._seal is None or self._seal.intact():
            self._seal_confirmed = self._seal is not None
            return
        raise InputError(
            "the repository's object store changed while knightwatch read it (a file of "
            f"{', '.join(map(str, self._seal.stores))} came, went or was written to), so what "
            "git read of its history cannot be trusted",
            path=str(self.root),
            hint="run again once nothing writes to the repository; if nothing should have, "
            + FSCK_HINT,
        )

    def load(self, tips: Sequence[str]) -> None:
        """Read every commit reachable from ``tips`` (full shas) in one streaming git log.

        Loads add up: a later call reads only what the earlier ones did not (their tips are
        excluded), so a load begun early in the background is finished, not repeated.
        """
        self._finish_background()
        fresh = sorted({tip for tip in tips if tip not in self.commits})
        if fresh:
            self.check_commits(fresh)
            self._load(fresh)

    def load_between(self, tip: str, boundary: str | None) -> None:
        """Read only the commits reachable from ``tip`` and not from ``boundary`` (``git log
        tip ^boundary``), or ``tip`` alone without a boundary: what one candidate ships.
        Other questions about this history then need git itself (``is_ancestor``)."""
        self._finish_background()
        self.check_commits([tip, *([boundary] if boundary else [])])
        if boundary is None:
            self._load([tip], extra=["--no-walk"], remember=False)
        else:
            self._load([tip, f"^{boundary}"], remember=False)

    def load_in_background(self, tips: Sequence[str]) -> None:
        """Start ``load(tips)`` on a thread: git walks the history while the caller reads
        evidence. The next ``load``, or ``close``, waits for it."""
        self._finish_background()
        self.check_commits(tips)

        def run() -> None:
            try:
                self._load(sorted(set(tips)))
            except BaseException as exc:  # handed to the thread that waits for it
                self._background_error = exc

        self._background = threading.Thread(target=run, name="git log", daemon=True)
        self._background.start()

    def _finish_background(self) -> None:
        error = self._join_background()
        if error is not None:
            raise error

    def _join_background(self) -> BaseException | None:
        thread, self._background = self._background, None
        if thread is not None:
            thread.join()
        error, self._background_error = self._background_error, None
        return error

    def _load(self, tips: list[str], *, extra: Sequence[str] = (), remember: bool = True) -> None:
        request = [*tips, *(f"^{done}" for done in sorted(self._loaded_tips))]
        args = ["log", "--stdin", "--topo-order", "-z", f"--format={_LOG_FORMAT}", *extra]
        order: list[str] = []
        for record in git_records(self._repo.git, args, request, self.root):
            commit = _parse_commit(record)
            self.commits[commit.sha] = commit
            order.append(commit.sha)
        if remember:  # later loads can stop where this one's history is complete
            self._loaded_tips.update(tips)
        # Topological order lists children first; parents-first gives each commit's generation.
        # A parent read by an earlier load has its generation already.
        generation = self._generation
        for sha in reversed(order):
            parents = [generation[p] for p in self.commits[sha].parents if p in generation]
            generation[sha] = 1 + max(parents, default=0)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or reachable from it, asked of git itself
        (``merge-base --is-ancestor``), so it holds whatever part of history is loaded."""
        if ancestor == descendant:
            return True
        self.check_commits([ancestor, descendant])
        process = self.run_git(["merge-base", "--is-ancestor", ancestor, descendant])
        if process.returncode not in (0, 1):
            stderr = process.stderr.decode(errors="replace").strip()
            raise git_failed("merge-base", stderr, self.root)
        return process.returncode == 0

    def merge_bases(self, one: str, other: str) -> list[str]:
        """The best common ancestors of two commits (``merge-base --all``), sorted; none for
        histories that share no commit."""
        self.check_commits([one, other])
        process = self.run_git(["merge-base", "--all", one, other])
        if process.returncode == 1 and not process.stdout.strip() and not process.stderr.strip():
            return []
        if process.returncode != 0:
            stderr = process.stderr.decode(errors="replace").strip()
            raise git_failed("merge-base", stderr, self.root)
        return sorted(process.stdout.decode().split())

    def in_history_of(self, commits: Iterable[str], descendant: str) -> set[str]:
        """Those of ``commits`` that are ``descendant`` or reachable from it, asked of git in one
        walk (``git rev-list COMMITS ^DESCENDANT`` lists every commit reachable from them that
        is not in its history): one process, however many are asked about."""
        asked = sorted(set(commits) - {descendant})
        found = {descendant} & set(commits)
        if not asked:
            return found
        self.check_commits([*asked, descendant])
        request = "".join(f"{sha}\n" for sha in asked) + f"^{descendant}\n"
        listed = self.git_output(["rev-list", "--stdin"], stdin=request.encode())
        outside = set(listed.decode().split())
        return found | {sha for sha in asked if sha not in outside}

    def changes_below(
        self,
        tips: Sequence[str],
        stops: Sequence[str],
        under: str | Sequence[str],
        added: bool = False,
        merges: bool = False,
    ) -> Generator[tuple[str, str, str], None, None]:
        """Each (commit, tip, path) a walk of the history of ``tips``, but not of ``stops``,
        shows a commit changing below ``under`` (a path: that file, or all below that folder,
        letter case ignored as git ignores it, ASCII's; "" for every path), with the tip whose
        history holds that commit (``--source``): so every path any tree of that history
        held, where it was added or deleted. Every line of history is walked
        (``--full-history``), a rename is both of its paths (``--no-renames``); a merge shows
        none (its side's commits do), but ``merges`` shows each path a merge holds unlike every
        parent (``-c``): a file no side's commit holds as the merge does (both sides' changes
        joined, or what its resolution wrote). Close the generator to stop early: git is
        stopped too.

        ``under`` is given git as a literal path, the only pathspec magic ``icase``: that
        needs ``GIT_LITERAL_PATHSPECS`` off for this walk, and ``:(literal)`` keeps the path
        itself from being read as a glob. Several paths walk the history once for all; with
        ``added``, only the commits that added a path are shown (a rename's new path too)."""
        self.check_commits(tips)
        paths = [under] if isinstance(under, str) else list(under)
        args = ["log", "--stdin", "--full-history", "--no-renames", "--name-only", "-z"]
        header = "--format=%x00%H %S %P" if merges else "--format=%x00%H %S"
        args += ["--source", header, *(["--diff-filter=A"] if added else [])]
        args += ["-c"] if merges else []
        args += ["--", *(f":(literal,icase){p}" for p in paths)] if all(paths) else []
        request = [*sorted(set(tips)), *(f"^{stop}" for stop in sorted(set(stops)))]
        env = {"GIT_LITERAL_PATHSPECS": "0"}
        walk = git_records(self._repo.git, args, request, self.root, env=env)
        with contextlib.closing(walk) as records:
            yield from _changed_paths(records, merges)

    def ancestors(self, tip: str) -> set[str]:
        """``tip`` and every commit reachable from it."""
        seen = {tip}
        stack = [tip]
        while stack:
            for parent in self.commits[stack.pop()].parents:
                if parent not in seen and parent in self.commits:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def range(self, tip: str, exclude: str) -> list[str]:
        """Commits reachable from ``tip`` and not from ``exclude`` (``git rev-list tip ^exclude``).

        Walks newest generation first and stops once only excluded commits are left, so the
        cost follows the size of the range, not of the history.
        """
        generation = self._generation
        excluded: dict[str, bool] = {tip: False, exclude: True}
        heap = [(-generation[tip], tip), (-generation[exclude], exclude)] if tip != exclude else []
        pending = 1 if tip != exclude else 0
        shipped: list[str] = []
        heapq.heapify(heap)
        while heap and pending:
            _, sha = heapq.heappop(heap)
            is_excluded = excluded[sha]
            if not is_excluded:
                shipped.append(sha)
                pending -= 1
            for parent in self.commits[sha].parents:
                if parent not in generation:
                    continue
                if parent not in excluded:
                    excluded[parent] = is_excluded
                    heapq.heappush(heap, (-generation[parent], parent))
                    pending += 0 if is_excluded else 1
                elif is_excluded and not excluded[parent]:
                    excluded[parent] = True
                    pending -= 1
        return sorted(shipped)

    def beyond(self, tip: str, boundary: str) -> set[str]:
        """Commits reachable from ``tip`` and not from ``boundary`` (``git rev-list tip
        ^boundary``), asked of git: nothing needs loading first."""
        return set(self._rev_list([tip], [f"^{boundary}"]))

    def first_reaching(self, tips: Sequence[str], wanted: set[str]) -> dict[str, int]:
        """Each of ``wanted`` that is reachable from (or is) one of ``tips``, with the index of
        the first tip in ``tips`` it is reachable from: one ``git rev-list --parents`` of the
        tips that stops at the wanted commits' parents outside ``wanted``, then a walk of
        that part of the graph, tip by tip, that never walks a commit twice. The commits git
        walks are hashed as every walk's are. Nothing needs loading first.

        Such a parent can itself descend from a wanted commit (two ranges with a gap between
        them, the older range's commits below the gap's), and stopping there would hide the
        older commit: each round answers only for the wanted commits no stop hides (those the
        same stops leave reachable from ``wanted`` itself; the newest always are), and asks
        again of the rest."""
        if not tips or not wanted:
            return {}
        self.check_commits([*tips, *wanted])
        found: dict[str, int] = {}
        pending = set(wanted)
        while pending:
            listed = self.git_output(
                ["rev-list", "--parents", "--no-walk", "--stdin"],
                stdin="".join(f"{sha}\n" for sha in sorted(pending)).encode(),
            )
            parents = {p for line in listed.decode().splitlines() for p in line.split()[1:]}
            stops = [f"^{p}" for p in sorted(parents - pending)]
            exact = pending if len(pending) == 1 else pending & set(self._rev_list(pending, stops))
            graph = self._rev_list(tips, stops, "--parents")
            found.update(_first_reaching(tips, graph, exact))
            pending -= exact
        return found

    def _rev_list(self, tips: Iterable[str], stops: list[str], *flags: str) -> dict[str, list[str]]:
        """``git rev-list TIPS ^STOP...``: each commit reachable from a tip and from no stop,
        with its parents where ``--parents`` asks for them."""
        request = "".join(f"{line}\n" for line in [*sorted(set(tips)), *stops]).encode()
        listed = self.git_output(["rev-list", *flags, "--stdin"], stdin=request).decode()
        return {words[0]: words[1:] for words in map(str.split, listed.splitlines())}

    def reaching(self, tips: Iterable[str], wanted: set[str]) -> dict[str, set[str]] | None:
        """By each of ``tips``, those of ``wanted`` it is or descends from: one walk of the
        loaded history between them, each commit's share carried to its children (as bits),
        oldest first; a commit older than every wanted one holds none. None where a tip or a
        wanted commit was not loaded (a gate's candidate's history): ask ``in_history_of``."""
        generation, tips = self._generation, set(tips)
        if not all(sha in generation for sha in (*tips, *wanted)):
            return None
        floor = min((generation[sha] for sha in wanted), default=0)
        seen, stack = set(tips), list(tips)
        while stack:
            for parent in self.commits[stack.pop()].parents:
                if parent in generation and parent not in seen and generation[parent] >= floor:
                    seen.add(parent)
                    stack.append(parent)
        names = sorted(wanted)
        bit = {sha: 1 << index for index, sha in enumerate(names)}
        bits: dict[str, int] = {}
        for sha in sorted(seen, key=generation.__getitem__):  # parents before children
            value = bit.get(sha, 0)
            for parent in self.commits[sha].parents:
                value |= bits.get(parent, 0)
            bits[sha] = value
        return {
            tip: {name for index, name in enumerate(names) if bits[tip] >> index & 1}
            for tip in tips
        }

    def ancestors_among(self, tip: str, candidates: set[str]) -> set[str]:
        """Which of ``candidates`` are ``tip`` or its ancestors, walking no deeper than they lie."""
        generation = self._generation
        if tip not in generation:
            return {tip} & candidates
        floor = min((generation[c] for c in candidates if c in generation), default=0)
        seen = {tip}
        stack = [tip]
        while stack:
            for parent in self.commits[stack.pop()].parents:
                if parent in generation and parent not in seen and generation[parent] >= floor:
                    seen.add(parent)
                    stack.append(parent)
        return seen & candidates


def _first_reaching(
    tips: Sequence[str], graph: dict[str, list[str]], wanted: set[str]
) -> dict[str, int]:
    """Each of ``wanted`` in ``graph`` (commit to parents), with the index of the first of
    ``tips`` it is reachable from there: each tip walks only what no earlier tip walked."""
    found: dict[str, int] = {}
    seen: set[str] = set()
    for index, tip in enumerate(tips):
        stack = [tip] if tip in graph and tip not in seen else []
        seen.update(stack)
        while stack:
            sha = stack.pop()
            if sha in wanted:
                found[sha] = index
            for parent in graph[sha]:
                if parent in graph and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    return found


def git_records(
    git_: git.Git,
    args: list[str],
    lines: list[str],
    root: Path,
    started: Callable[[subprocess.Popen[bytes]], object] | None = None,
    env: Mapping[str, str] | None = None,
) -> Generator[bytes, None, None]:
    """Run ``git ARGS`` with ``lines`` on its standard input and yield its NUL-separated
    records as they arrive, so the caller works while git goes on; an input error naming
    ``root`` if git fails. ``started`` is given the process (to stop it from elsewhere);
    ``env`` adds to (or overrides) the environment git runs with."""
    process = git_.execute(["git", *args], as_process=True, istream=subprocess.PIPE, env=env)
    proc = process.proc
    if proc is None or proc.stdin is None or proc.stdout is None:
        raise RuntimeError(f"git {args[0]} did not start with pipes")
    if started is not None:
        started(proc)
    # git log --stdin reads all of its input before it writes anything, but diff-tree --stdin
    # answers line by line: fed from a thread, neither waits on a full pipe.
    writer = _feed(proc.stdin, "".join(f"{line}\n" for line in lines).encode())
    try:
        pending = b""
        while chunk := os.read(proc.stdout.fileno(), 1 << 16):
            *records, pending = (pending + chunk).split(b"\0")
            yield from records
        if pending.strip():
            yield pending
        stderr = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        code = proc.wait()
    finally:
        if proc.poll() is None:  # the caller stopped early
            proc.kill()
            proc.wait()
        writer.join()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    if code != 0:
        raise git_failed(args[0], stderr, root)


def _feed(stdin: IO[bytes], data: bytes) -> threading.Thread:
    """Write ``data`` to a process's standard input on a thread, then close it; a process that
    ended early (killed when its reader stopped) only ends the writing."""

    def write() -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):  # ValueError: already closed
            stdin.write(data)
        with contextlib.suppress(BrokenPipeError, ValueError):
            stdin.close()

    writer = threading.Thread(target=write, name="git stdin", daemon=True)
    writer.start()
    return writer


def _parse_commit(record: bytes) -> Commit:
    """One ``git log`` record. The author's and the committer's addresses are the only free
    text: a separator too many means a control character inside one of them, and which cannot
    be told, so both are kept as the whole raw text, which then names nobody; it never moves
    another field."""
    sha, parents, author_time, commit_time, emails = record.strip(b"\n").split(_FIELD, 4)
    fields = emails.split(_FIELD)
    if len(fields) != _FREE_FIELDS:
        fields = [emails, b"", emails, b""]
    email, mapped, committer, committer_mapped = (
        f.decode("utf-8", errors="replace") for f in fields
    )
    return Commit(
        sha=sha.decode(),
        parents=tuple(p.decode() for p in parents.split()),
        author_email=email,
        author_time=int(author_time or b"0"),
        author_mapped=mapped,
        committer_email=committer,
        committer_mapped=committer_mapped,
        committer_time=int(commit_time or b"0"),
    )


def ambiguous(ref: str) -> str:
    """What a name shaped like a sha that is also ``ref`` (``GitHistory.ref_clash``) is."""
    return f"is ambiguous: both a sha and the ref {ref}"


def _ref_forms(name: str) -> list[str]:
    """The refs a short name could mean, as git looks them up."""
    return [name, *(form.format(name) for form in _DWIM)]


def _form(name: str) -> str:
    """What kind of revision a name that is no sha is, in words."""
    if "@{" in name:
        return "is a reflog entry"
    if any(mark in name for mark in ("~", "^", ":")):
        return "is a relative revision"
    if name.upper() in ("HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD"):
        return f"is {name}"
    return "is a ref (a branch or tag)"


def _changed_paths(
    records: Iterable[bytes], merges: bool
) -> Generator[tuple[str, str, str], None, None]:
    """Each (commit, tip, path) of ``GitHistory.changes_below``'s ``git log -z`` fields: each
    commit's header (``SHA TIP``, and with ``merges`` its parents) after an empty field, its
    first path after a newline; with ``merges``, a merge's paths (``-c``) after an empty
    field instead, which only a merge's header is followed by there."""
    commit, tip, header, first, merge = "", "", False, False, False
    for field in records:
        if not field and merge:  # the paths ``-c`` shows of a merge follow
            merge, first = False, False
        elif not field:  # a path is never empty: a commit's header follows
            header = True
        elif header:
            commit, tip, *parents = field.decode("ascii", errors="replace").split(" ")
            header, first = False, True
            merge = merges and len([p for p in parents if p]) > 1
        else:  # a commit's first path follows a newline
            path = field[1:] if first and field.startswith(b"\n") else field
            first = merge = False
            yield commit, tip, path.decode("utf-8", errors="surrogateescape")
