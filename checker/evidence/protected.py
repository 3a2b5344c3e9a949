"""A gate's evidence as the protected branch has it.

A gate runs in CI on a checkout of the change it judges, so an evidence directory inside the
work tree is the change's own: a pull request could add a deployment record that shortens the
range its candidate ships, add a waiver, or edit fleet.yaml, and its gate would judge those.
There, each evidence file is read as the protected branch's tip has it (its blob, hashed, never
the work tree's copy or a filtered checkout of it); a file the branch does not have but the
checked-out commit or the candidate tracks (the change added it) is not read; a file neither
tracks (written by the CI job before the gate, say an export from the deploy tool) is read
from the work tree. The report lists each (``record``).
"""

from __future__ import annotations

import os
import unicodedata
import weakref
from pathlib import Path, PurePosixPath
from typing import Any

from checker.config import Config, parse_config
from checker.errors import InputError
from checker.evidence.bundle import Entry, EvidenceFiles, held_evidence, held_holding
from checker.evidence.git import GitHistory
from checker.evidence.objectcheck import EntryKind, entry_kind, read_verified, tree_entries
from checker.evidence.registry_names import CONFIG_NAME

Tree = dict[str, tuple[EntryKind, str]]
"""A directory of a commit: each entry's kind and object id, by name."""


def in_work_tree(root: Path, directory: Path) -> str | None:
    """The evidence directory's path inside the repository's work tree (``""`` for its root),
    or None when it lies outside. Where the directory really is decides (a link out of the
    work tree into it, ``--evidence /tmp/link``, is inside); where that is outside, the path as
    named (a directory the change replaced by a link out of the work tree is inside)."""
    for place in (_real(directory), Path(os.path.normpath(directory.absolute()))):
        inside = _inside(root, place)
        if inside is not None:
            return inside
    return None


LINK_HOPS = 40
"""Links followed on the way to the evidence directory before it is taken for a loop."""


def protected_files(
    history: GitHistory, directory: Path, branch: str, tip: str, checked_out: dict[str, str]
) -> ProtectedFiles | None:
    """The evidence directory read as ``branch`` (whose tip is ``tip``) has it, where it lies in
    the work tree; None where it lies outside (read as it is). ``checked_out``: the commits
    whose files the work tree may hold (HEAD, the candidate), by what a message calls them.
    A directory that is (or lies in) a submodule in any of them stops the gate: the change
    says which commit of it is checked out, and none of the repository's commits tracks its
    files, which would pass for files the CI job wrote. The directory is the one the branch
    has at the path named, through the branch's own symbolic links (``_followed``), not
    through the work tree's: a change that made ``compliance`` a link to another directory
    the branch keeps (fixtures, a sandbox) had its gate read that one."""
    named = _named_in_work_tree(history.root, directory)
    if named is None:
        return None
    path = _followed(history, (branch, tip), named, directory)
    on_branch = _tree_at(history, (branch, tip), path, directory)
    here = _real(directory) == history.root.resolve() / path
    if on_branch is None and not here:
        raise _redirected(history, directory, branch)
    tracked: set[str] = set()
    for commit in checked_out.items():
        _tree_at(history, commit, path, directory)  # a submodule there stops the gate
        tracked.update(_folded_names(history, commit[1], path))
    files = ProtectedFiles(directory, history, (branch, tip, path), on_branch, tracked)
    if not here:
        files.leads_elsewhere()
    return files


def _named_in_work_tree(root: Path, directory: Path) -> str | None:
    """The evidence directory's path in the work tree as named: the symbolic links on the way
    to the work tree are followed (``--evidence /tmp/link``, a link into it, is the
    platform's), those inside it are not (the work tree's links are the change's); None where
    the path does not lead into the work tree."""
    place = Path(os.path.normpath(directory.absolute()))
    for _ in range(LINK_HOPS):
        inside = _inside(root, place)
        if inside is not None:
            return inside
        parts = place.parts
        link = next((i for i in range(1, len(parts) + 1) if Path(*parts[:i]).is_symlink()), None)
        if link is None:
            return None
        target = Path(*parts[: link - 1], Path(*parts[:link]).readlink(), *parts[link:])
        place = Path(os.path.normpath(target))
    return None


def _inside(root: Path, place: Path) -> str | None:
    """``place``'s path in the work tree (``""`` for its root), its links unfollowed; None
    where it lies outside."""
    for base in (root.absolute(), root.resolve()):
        if place.is_relative_to(base):
            inside = place.relative_to(base).as_posix()
            return "" if inside == "." else inside
    return None


def _followed(history: GitHistory, commit: tuple[str, str], named: str, directory: Path) -> str:
    """``named`` as ``commit``'s tree leads to it: each symbolic link the tree holds on the
    way replaced by where it points (its blob, hashed). A link of the tree out of the
    repository is an input error: the change judged may have pointed it anywhere."""
    parts, done, hops = list(PurePosixPath(named).parts), list[str](), 0
    while parts:
        part = parts.pop(0)
        entry = (_tree_at(history, commit, "/".join(done), directory) or {}).get(part)
        if entry is None or entry[0] != "link":
            done.append(part)
            continue
        hops += 1
        target = history.root.absolute().joinpath(*done, os.fsdecode(_object(history, entry[1])))
        landing = _inside(history.root, Path(os.path.normpath(target)))
        if landing is None:
            raise _redirected(history, directory, commit[0])
        if hops > LINK_HOPS:
            raise InputError(
                f"the evidence directory's path {named} loops through symbolic links in "
                f"{commit[0]}",
                path=str(directory),
                hint="pass the evidence directory itself with --evidence",
            )
        parts, done = [*PurePosixPath(landing).parts, *parts], []
    return "/".join(done)


def _redirected(history: GitHistory, directory: Path, branch: str) -> InputError:
    """The evidence directory leads, through a symbolic link, where the branch has none."""
    real = _real(directory)
    where = (
        "out of the work tree"
        if not real.is_relative_to(history.root.resolve())
        else f"to {real.relative_to(history.root.resolve()).as_posix() or '.'}"
    )
    return InputError(
        f"the evidence directory leads {where} through a symbolic link, and {branch} has no "
        "directory there: the change judged may have pointed the link anywhere, and a gate "
        "reads no evidence of the change's own",
        path=str(directory),
        hint=f"pass the directory it leads to with --evidence ({directory.resolve()})",
    )


def branch_config(history: GitHistory, branch: str, tip: str) -> Config:
    """The repository's knightwatch.yaml as ``branch`` (whose tip is ``tip``) has it (its blob,
    hashed); the defaults where the branch has none."""
    entry = (_tree_at(history, (branch, tip), "", history.root) or {}).get(CONFIG_NAME)
    if entry is None:
        return Config()
    where = PurePosixPath(f"{branch}:{CONFIG_NAME}")
    if entry[0] != "blob":
        raise InputError(
            f"is not a file on {branch}: a gate reads the repository's evidence setting as the "
            "protected branch has it",
            path=str(where),
            hint=f"commit {CONFIG_NAME} itself, or pass --evidence",
        )
    return parse_config(_object(history, entry[1]), where)


def refuse_tracked(history: GitHistory, path: Path, commits: dict[str, str]) -> None:
    """An input error where ``path`` (the platform's ``--config``, or a policy directory it
    names) lies in the work tree at a place one of ``commits`` (HEAD, the candidate) tracks:
    the file, a directory holding it, a link or submodule on the way. At a gate the work tree
    is the change's own, and the change could have edited what lies there. A path no commit
    tracks (a checkout of the compliance team's repository the CI job made there) is not."""
    inside = in_work_tree(history.root, path)
    if inside is None:
        return
    for label, commit in commits.items():
        if _tracks(history, commit, inside):
            raise InputError(
                f"is in the work tree, and {label} tracks it: at a gate the work tree is the "
                "change's own, and the change could have edited the platform's settings or "
                "rules there",
                path=str(path),
                hint="keep the platform's gate configuration and rules outside the checkout "
                "(in the CI system, or a checkout of the compliance team's repository)",
            )


def _tracks(history: GitHistory, commit: str, path: str) -> bool:
    """Whether ``commit``'s tree has ``path``, or anything but a directory on the way to it."""
    tree = _root_tree(history, commit)
    for part in PurePosixPath(path).parts:
        entry = _entries(_object(history, tree)).get(part)
        if entry is None:
            return False
        if entry[0] != "tree":
            return True
        tree = entry[1]
    return True


class ProtectedFiles(EvidenceFiles):
    """The evidence directory as the protected branch has it, and the work tree's files that
    no commit of the change tracks."""

    def __init__(
        self,
        directory: Path,
        history: GitHistory,
        where: tuple[str, str, str],
        on_branch: Tree | None,
        tracked: set[str],
    ) -> None:
        """``where``: the branch, its tip, and the directory's path in the repository;
        ``on_branch``: the directory's entries at the tip (None: it has none there);
        ``tracked``: the names HEAD or the candidate has there, folded (``_fold``)."""
        super().__init__(directory)
        self.history = history
        self.branch, self.tip, self.path = where
        self.on_branch: Tree = on_branch or {}
        self.has_tree = on_branch is not None
        on_disk = super().entries() if super().exists() else []
        self.skipped = sorted(
            e.name for e in on_disk if e.name not in self.on_branch and _fold(e.name) in tracked
        )
        self.generated = {
            e.name: e
            for e in on_disk
            if e.name not in self.on_branch and _fold(e.name) not in tracked
        }
        self.read_from_branch: set[str] = set()
        self.read_from_work_tree: set[str] = set()
        self.elsewhere = False

    def leads_elsewhere(self) -> None:
        """The work tree's directory is not the branch's (a link of the change's leads
        elsewhere): none of its files is read, and those the branch does not have are listed
        as not read."""
        self.elsewhere = True
        self.skipped = sorted({*self.skipped, *self.generated})
        self.generated = {}

    def exists(self) -> bool:
        return self.has_tree or super().exists()

    def entries(self) -> list[Entry]:
        listed = {name: _entry(name, kind) for name, (kind, _) in self.on_branch.items()}
        listed.update(self.generated)
        return [listed[name] for name in sorted(listed)]

    def is_file(self, name: str) -> bool:
        if name in self.on_branch:
            return self.on_branch[name][0] in ("blob", "link")
        return name in self.generated and self.generated[name].is_file

    def held(self, name: str, expected: set[str], *, any_name: bool = False) -> list[str]:
        """The files named for evidence that the directory ``name`` holds, at any depth, as the
        branch has it (its trees; a link there is followed to nothing, as a gate follows no
        link); one the branch does not have, as the work tree has it. The work tree's was
        searched for a directory of the branch's: a change that deleted
        ``compliance/.kw/observations.jsonl`` had its gate pass over the branch's ``.kw``,
        which holds it, and judge on."""
        if name not in self.on_branch:
            return super().held(name, expected, any_name=any_name) if name in self.generated else []
        found: list[str] = []
        pending = [(PurePosixPath(), self.on_branch[name])]
        while pending:
            inside, (kind, sha) = pending.pop()
            if kind != "tree":
                continue
            for each, entry in _entries(_object(self.history, sha)).items():
                if entry[0] == "tree":
                    pending.append((inside / each, entry))
                elif _held_on_branch(self.history, each, entry, (expected, any_name)):
                    found.append((inside / each).as_posix())
        return sorted(found)

    def read(self, name: str) -> bytes:
        if name not in self.on_branch:
            self.read_from_work_tree.add(name)
            return super().read(name)
        kind, blob = self.on_branch[name]
        if kind != "blob":
            raise InputError(
                f"is a symbolic link on {self.branch}: a gate reads the evidence as the "
                "protected branch has it, and follows no link there",
                path=str(self.where(name)),
                hint="commit the file itself to the evidence directory",
            )
        self.read_from_branch.add(name)
        return _object(self.history, blob)

    def read_inside(self, name: str, inside: str) -> bytes:
        """The file at ``inside`` in the directory ``name``, as the branch has it."""
        if name not in self.on_branch:
            return super().read_inside(name, inside)
        entry: tuple[EntryKind, str] | None = self.on_branch[name]
        for part in PurePosixPath(inside).parts:
            tree = _entries(_object(self.history, entry[1])) if entry and entry[0] == "tree" else {}
            entry = tree.get(part)
        if entry is None or entry[0] != "blob":
            raise InputError(
                f"{name}/{inside} is not a file on {self.branch}: a gate reads the evidence as "
                "the protected branch has it, and follows no link there",
                path=str(self.where(name)),
            )
        return _object(self.history, entry[1])

    def listable(self, name: str) -> bool:
        return name in self.on_branch or super().listable(name)

    def where(self, name: str) -> Path:
        if name.partition("/")[0] in self.on_branch:
            return Path(f"{self.branch}:{PurePosixPath(self.path, name)}")
        return super().where(name)

    def not_read(self, name: str) -> str | None:
        if name not in self.skipped:
            return None
        if self.elsewhere:
            return (
                f"{name} is in the work tree, where a symbolic link leads away from "
                f"{self.branch}'s evidence directory, and a gate reads the evidence as "
                f"{self.branch} has it"
            )
        return (
            f"{name} is the change's own: {self.branch} does not have it, and a gate reads "
            f"the evidence as {self.branch} has it"
        )

    def record(self) -> dict[str, Any]:
        """What the report says of where the gate's evidence was read from."""
        return {
            "branch": self.branch,
            "commit": self.tip,
            "directory": self.path or ".",
            "read_from_branch": sorted(self.read_from_branch),
            "read_from_work_tree": sorted(self.read_from_work_tree),
            "not_read": list(self.skipped),
        }


def _real(directory: Path) -> Path:
    """Where the directory really is; where links loop, the path as named."""
    try:
        return directory.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.normpath(directory.absolute()))


def _entry(name: str, kind: EntryKind) -> Entry:
    return Entry(name, is_file=kind in ("blob", "link"), is_dir=kind in ("tree", "submodule"))


def _tree_at(
    history: GitHistory, commit: tuple[str, str], path: str, directory: Path
) -> Tree | None:
    """The entries of ``path`` in the tree of ``commit`` (what a message calls it, its sha),
    each object read hashed; None where the commit has no directory there. A submodule on the
    way is an input error (``protected_files``)."""
    tree = _root_tree(history, commit[1])
    parts = PurePosixPath(path).parts
    for depth, part in enumerate(parts, start=1):
        entry = _entries(_object(history, tree)).get(part)
        if entry is not None and entry[0] == "submodule":
            where = f"lies in the submodule {PurePosixPath(*parts[:depth])}"
            raise InputError(
                f"the evidence directory {'is a submodule' if depth == len(parts) else where} "
                f"in {commit[0]}: which commit of it is checked out is the change's to say, "
                "and a gate reads no evidence of the change's own",
                path=str(directory),
                hint="pass it with --evidence from outside the work tree",
            )
        if entry is None or entry[0] != "tree":
            return None
        tree = entry[1]
    return _entries(_object(history, tree))


def _folded_names(history: GitHistory, commit: str, path: str) -> set[str]:
    """The names, folded, in every directory of ``commit`` whose path is ``path`` but for case
    and Unicode normalisation: a checkout on a file system that ignores them (macOS, Windows)
    writes the files of ``Compliance/`` into ``compliance/``."""
    trees = [_root_tree(history, commit)]
    for part in PurePosixPath(path).parts:
        trees = [
            sha
            for tree in trees
            for name, (kind, sha) in _entries(_object(history, tree)).items()
            if kind == "tree" and _fold(name) == _fold(part)
        ]
    return {_fold(name) for tree in trees for name in _entries(_object(history, tree))}


def _fold(name: str) -> str:
    """A name as a file system that ignores case and Unicode normalisation sees it (folding
    more than one does only leaves more files unread)."""
    return unicodedata.normalize("NFC", name).casefold()


def _held_on_branch(
    history: GitHistory,
    name: str,
    entry: tuple[EntryKind, str],
    looked_for: tuple[set[str], bool],
) -> bool:
    """Whether a file of a hidden directory on the branch is held as evidence (a link, which a
    gate follows to nothing, wherever it is named for evidence). ``looked_for``: the evidence
    files' names, and whether a file of any name holding records is held too."""
    expected, any_name = looked_for
    if entry[0] != "blob":
        return held_evidence(name, expected)
    return held_holding(name, expected, lambda: _object(history, entry[1]), any_name)


def _entries(data: bytes) -> Tree:
    return {
        name.decode("utf-8", "surrogateescape"): (entry_kind(mode, name), sha)
        for mode, name, sha in tree_entries(data)
    }


def _root_tree(history: GitHistory, commit: str) -> str:
    data = _object(history, commit)
    return data[5 : data.index(b"\n")].decode()


_READ: weakref.WeakKeyDictionary[GitHistory, dict[str, bytes]] = weakref.WeakKeyDictionary()
"""What a run read, by object id: a gate looks at the same commits and trees for its evidence,
its settings and the platform's files (an object's id names its bytes, and the run checks at
its end that the object store did not change while it read it)."""


def _object(history: GitHistory, sha: str) -> bytes:
    """One object's bytes as git stores them (a blob is never filtered), hashed; each read
    once a run."""
    read = _READ.setdefault(history, {})
    if sha not in read:
        [(_, _, read[sha])] = list(read_verified(history.root, history.env, [sha]))
    return read[sha]
