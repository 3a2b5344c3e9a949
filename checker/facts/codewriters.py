"""Who wrote the code a DEAD-001, DEAD-004 or DEAD-005 finding is about: a waiver of such a
finding is not theirs to approve (``waivers.own_exception``).

Only the findings a waiver of the evidence could cover are asked about, so a run without
such waivers walks nothing more. For those, one ``git log`` over the deployed commits walks
the history of every file the findings name (``GitHistory.changes_below``), and one walk of
the loaded history keeps the commits each deployed commit holds (``GitHistory.reaching``;
at a gate, whose history is not all loaded, one ``git rev-list`` a finding).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from checker.evidence.git import GitHistory
from checker.evidence.git_content import check_diffs
from checker.evidence.identities import IdentityResolver
from checker.evidence.models import Waiver
from checker.facts import review
from checker.facts.document import InputDocument
from checker.report.model import Finding
from checker.waivers import covers

REFERENCE_RULES = ("DEAD-001", "DEAD-005")
"""The rules whose findings name a flag the deployed code references, and its files."""
RETIRED_CODE_RULE = "DEAD-004"
"""The rule whose findings name retired code the deployed commit holds, and its files."""

Target = tuple[str, str]
"""A finding a waiver could cover, by (rule, subject)."""


def code_writers(
    history: GitHistory,
    waivers: Iterable[Waiver],
    document: InputDocument,
    identities: IdentityResolver,
) -> dict[Target, frozenset[str]]:
    """By (rule, subject) of each DEAD-001, DEAD-004 and DEAD-005 finding one of ``waivers``
    could cover, whoever authored, co-authored or committed a commit of the deployed commit's
    history that changed a file the finding names (one holding the reference, or the retired
    code, at the deployed commit): they wrote it there, or kept it as they changed the file.
    Read as ``review.commit_writers`` reads a person (``.mailmap`` and identities.yaml)."""
    wanted = dict(_targets(list(waivers), document))
    if not wanted:
        return {}
    touched = _touched(history, wanted)
    found = _in_history(history, {t: wanted[t][0] for t in wanted}, touched)
    writers = review.commit_writers(
        history, identities, set().union(*found.values()), committers=True
    )
    return {
        target: frozenset().union(*(writers[sha] for sha in shas))
        for target, shas in found.items()
        if shas
    }


def _touched(
    history: GitHistory, wanted: dict[Target, tuple[str, tuple[str, ...]]]
) -> dict[Target, set[str]]:
    """By target, the commits of its deployed commit's history or another's that changed one
    of its files (under any path it had before a rename: ``_renamed_from``)."""
    paths = sorted({path for _, held in wanted.values() for path in held})
    tips = sorted({commit for commit, _ in wanted.values()})
    older = _renamed_from(history, tips, paths)
    changed: dict[str, set[str]] = defaultdict(set)
    for commit, _, path in history.changes_below(tips, [], [*paths, *sorted(older)]):
        changed[commit].add(path.casefold())
    by_paths: dict[tuple[str, ...], set[str]] = {}  # targets naming the same files share
    for _, held in wanted.values():
        every = (*held, *(old for old, root in older.items() if root in held))
        if held not in by_paths:
            by_paths[held] = {sha for sha, files in changed.items() if _any_under(files, every)}
    return {target: by_paths[held] for target, (_, held) in wanted.items()}


def _in_history(
    history: GitHistory, commits: dict[Target, str], touched: dict[Target, set[str]]
) -> dict[Target, set[str]]:
    """By target, those of its ``touched`` commits its deployed commit (``commits``) is or
    descends from: in one walk of the loaded history (``GitHistory.reaching``), or, where it
    was not all loaded (a gate's), asked of git, one ``rev-list`` a target."""
    reached = history.reaching(set(commits.values()), set().union(*touched.values()))
    if reached is not None:
        return {target: reached[commits[target]] & shas for target, shas in touched.items()}
    return {
        target: history.in_history_of(shas, commits[target]) if shas else set()
        for target, shas in touched.items()
    }


RENAME_ROUNDS = 16
"""How many renames back a path's history is followed (a rename of a rename ...)."""


def _renamed_from(history: GitHistory, tips: list[str], paths: list[str]) -> dict[str, str]:
    """Each path a file of ``paths`` had before a rename git sees (``diff-tree -M``) in the
    history of ``tips``, back through a chain of renames, with the path of ``paths`` it became:
    a reference written in ``old.py`` is its writer's, though another renamed it ``app.py``.
    Only the commits that added a file at one of the paths are asked about."""
    older: dict[str, str] = {}
    frontier = {path: path for path in paths}
    for _ in range(RENAME_ROUNDS):
        if not frontier:
            break
        walk = history.changes_below(tips, [], sorted(frontier), added=True)
        adding = sorted({commit for commit, _, _ in walk})
        found: dict[str, str] = {}
        for old, new in _renames(history, adding):
            root = next(
                (r for p, r in frontier.items() if _any_under({new.casefold()}, (p,))), None
            )
            if root is not None and old not in older and old not in paths:
                found[old] = root
        older.update(found)
        frontier = found
    return older


def _renames(history: GitHistory, commits: list[str]) -> Iterator[tuple[str, str]]:
    """Each (old path, new path) a rename of one of ``commits`` (none a merge) shows."""
    if not commits:
        return
    check_diffs(history, commits, with_blobs=True)  # -M reads the blobs that differ too
    args = ["diff-tree", "--stdin", "-r", "-M", "-z", "--name-status", "--no-ext-diff"]
    fields = history.git_output(args, stdin="".join(f"{c}\n" for c in commits).encode())
    tokens = iter(fields.decode("utf-8", errors="surrogateescape").split("\0"))
    for token in tokens:
        if token[:1] in ("R", "C") and not _is_sha(token):
            old, new = next(tokens, ""), next(tokens, "")
            if token[:1] == "R" and old and new:
                yield old, new
        elif token[:1].isalpha() and not _is_sha(token):
            next(tokens, "")  # the path of an addition, change or deletion


def _is_sha(token: str) -> bool:
    return len(token) in (40, 64) and all(c in "0123456789abcdef" for c in token)


def _any_under(files: set[str], held: tuple[str, ...]) -> bool:
    """Whether any of ``files`` (case folded) is one of ``held`` or below it, as git's
    ``:(icase)`` pathspec of it reads it."""
    for path in held:
        own = path.casefold().rstrip("/")
        if own in files or any(f.startswith(own + "/") for f in files):
            return True
    return False


def _targets(
    waivers: list[Waiver], document: InputDocument
) -> Iterator[tuple[Target, tuple[str, tuple[str, ...]]]]:
    """Each finding of DEAD-001, DEAD-004 or DEAD-005 the document could give that one of
    ``waivers`` covers, with its deployed commit and the paths it names."""
    rules = {w.rule for w in waivers}
    if not rules & {*REFERENCE_RULES, RETIRED_CODE_RULE}:
        return
    sets = document["reference_sets"]
    for deployment in document["deployments"]:
        commit, id_ = deployment["commit"], deployment["id"]
        for name, reference in sorted(sets.get(deployment["reference_set"], {}).items()):
            for rule in REFERENCE_RULES:
                if _waived(waivers, rule, (id_, name), name):
                    yield (rule, f"{id_}:{name}"), (commit, tuple(reference["files"]))
        for entry in deployment["retired_code"]:
            if entry["count"] > 0 and _waived(
                waivers, RETIRED_CODE_RULE, (id_, entry["path"]), entry["path"]
            ):
                held = (*entry["files"], *([entry["path"]] if _literal(entry["path"]) else []))
                yield (RETIRED_CODE_RULE, f"{id_}:{entry['path']}"), (commit, held)


def _literal(path: str) -> bool:
    """Whether a ``retired_code`` path names a file or folder, not a glob."""
    return not any(mark in path for mark in "*?[")


def _waived(waivers: list[Waiver], rule: str, parts: tuple[str, str], cause: str) -> bool:
    """Whether one of ``waivers`` covers the finding of ``rule`` with these parts."""
    finding = Finding(
        rule=rule,
        severity="",
        subject=":".join(parts),
        message="",
        controls=(),
        title="",
        cause=cause,
        parts=parts,
    )
    return any(covers(w, finding) for w in waivers)
