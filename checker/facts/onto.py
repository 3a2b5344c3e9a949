"""A merge gate's candidate judged with what the protected branch retired after it branched off.

A pull request branched before main retired a flag holds neither main's version of the
registry nor the retirement in its history: judged alone, its registry still says the flag is
active, and a file it added that reads the flag passed DEAD-001 at the merge gate; so did a
change to code main had listed under ``retired_code`` meanwhile (DEAD-004). Once merged, the
same code fails both. At the merge gate, where the candidate and the branch's tip have each
moved on from their merge base, the candidate is judged with the branch's retirements, as the
merge will bring them:

- a flag the branch's tip has retired (listed retired there, or retired by a version of the
  registry in its history and no longer listed there) that the candidate's registry lists
  active, with the entry the merge base had, is retired for the candidate;
- a flag whose active entry is the candidate's own (added, or changed since the merge base)
  is a retired flag written active again, DEAD-002, as the audit will say of it if the merge
  keeps that entry;
- the ``retired_code`` entries of the branch's tip, and of every version in its history,
  apply to the candidate.

What the branch retired is judged on the files the merge will hold. A file the candidate left
as the merge base had it, and the branch has changed or deleted since, is the branch's once
merged: it counts only where the branch's version still names the flag (for retired code,
where the branch still has it). A change branched before main retired a flag and removed its
references therefore still passes while it reads the flag nowhere itself, and one that adds
or edits a file reading it does not. The candidate's own retirements are judged as before.

Not a merge of the trees: git is asked once for the merge base, and the registry's versions
are those the gate walked already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from checker.evidence.flagnames import flag_key
from checker.evidence.git import GitHistory
from checker.evidence.git_content import FileVersion, TreeIndex
from checker.evidence.models import Flag, FlagRegistry
from checker.facts.document import Revival
from checker.vocabulary import short


@dataclass(frozen=True)
class Onto:
    """A merge gate's candidate and the protected branch's tip it would merge onto, where
    neither holds the other, with their merge bases (none for histories without a common
    commit)."""

    candidate: str
    tip: str
    bases: tuple[str, ...]

    def holds(
        self, trees: TreeIndex, path: str, still: Callable[[str], bool] = lambda _: True
    ) -> bool:
        """Whether the merge holds the file ``path`` as the candidate has it, or, where the
        merge takes the branch's version of it, whether that version is there and ``still``
        holds what counted (asked of its blob). The branch's version is taken where the
        candidate left the file as every merge base had it and the branch did not."""
        mine = trees.lookup(self.candidate, path)
        before = [trees.lookup(base, path) for base in self.bases] or [None]
        if any(blob != mine for blob in before):
            return True  # the candidate's own change (or a file it added)
        theirs = trees.lookup(self.tip, path)
        if all(blob == theirs for blob in before):
            return True  # neither side changed it
        return theirs is not None and still(theirs)


def merge_onto(history: GitHistory, merging: tuple[str, str] | None) -> Onto | None:
    """The merge of a merge gate's candidate onto the branch's tip (``merging``), where it
    has something to bring: not where the candidate holds the tip (every retirement of the
    branch is in its history) nor where the tip holds the candidate (the merge brings
    nothing)."""
    if merging is None:
        return None
    candidate, tip = merging
    bases = tuple(history.merge_bases(candidate, tip))
    if candidate == tip or tip in bases or candidate in bases:
        return None
    return Onto(candidate, tip, bases)


def branch_retired(
    history: GitHistory,
    parsed: list[tuple[FileVersion, FlagRegistry | None]],
    tip: str,
    registry: FlagRegistry | None,
) -> dict[str, str]:
    """By key (``flagnames.flag_key``), the flags the branch's tip has retired, as the audit
    of a deployment of it reads them: listed retired by its registry (``registry``), or not
    listed there and retired by a version in its history; each with the oldest version of
    its history that retired it (``parsed``: the registry's versions, oldest first)."""
    retiring = [
        (version.commit, flag_key(flag.name))
        for version, found in parsed
        for flag in (found.flags if found is not None else [])
        if flag.status == "retired"
    ]
    held = history.in_history_of({commit for commit, _ in retiring}, tip)
    listed = {flag_key(f.name): f.status for f in (registry.flags if registry else [])}
    found: dict[str, str] = {}
    for commit, key in retiring:
        if commit in held and listed.get(key, "retired") == "retired":
            found.setdefault(key, commit)
    return found


@dataclass(frozen=True)
class Merged:
    """The candidate's registry as the merge gate judges it (``merged``)."""

    registry: FlagRegistry
    turned: frozenset[str]
    """The flags it lists active that are retired for it by the branch alone."""
    revived: dict[str, Revival]
    """By key, the retired flags its own entries write active again."""
    onto: Onto
    changed: bool
    """Whether it differs from the candidate's own registry."""

    def keeps(
        self, trees: TreeIndex, named: Callable[[str], frozenset[str]]
    ) -> Callable[[str, str], bool]:
        """Whether the merge holds a file's reference to a flag (``named``: the flag names a
        word is a spelling of): always, but for a flag retired by the branch alone, whose
        references count in the files the merge holds as the candidate has them, and in
        those it takes from the branch where the branch's version still names the flag."""

        def keep(name: str, file: str) -> bool:
            if name not in self.turned:
                return True
            return self.onto.holds(
                trees, file, lambda blob: any(name in named(w) for w in trees.words(blob))
            )

        return keep


def merged(
    onto: Onto,
    registries: tuple[FlagRegistry, FlagRegistry | None, list[FlagRegistry | None]],
    retired: dict[str, str],
) -> Merged:
    """The candidate's registry with the branch's retirements (``registries``: the
    candidate's, the branch tip's, and the merge bases'; ``retired``: ``branch_retired``)."""
    mine, theirs, bases = registries
    before, at_tip = _entries(bases), _entries([theirs])
    flags, turned, revived = [], set(), {}
    for flag in mine.flags:
        key = flag_key(flag.name)
        if flag.status == "retired" or key not in retired:
            flags.append(flag)
        elif flag in before.get(key, []):  # as the merge base had it: the branch's entry wins
            flags.append(_retired_as(flag, at_tip.get(key, [])))
            turned.add(flag.name)
        else:
            flags.append(flag)
            revived[key] = _revival(retired[key], onto.candidate, flag.purpose)
    own = {entry.path for entry in mine.retired_code}
    added = [e for e in (theirs.retired_code if theirs else []) if e.path not in own]
    registry = mine.model_copy(
        update={"flags": flags, "retired_code": [*mine.retired_code, *added]}
    )
    return Merged(registry, frozenset(turned), revived, onto, bool(turned or added))


def _entries(registries: list[FlagRegistry | None]) -> dict[str, list[Flag]]:
    """The flag entries of ``registries``, by key."""
    found: dict[str, list[Flag]] = {}
    for registry in registries:
        for flag in registry.flags if registry is not None else []:
            found.setdefault(flag_key(flag.name), []).append(flag)
    return found


def _retired_as(flag: Flag, there: list[Flag]) -> Flag:
    """``flag`` retired, on the date the branch's entry (``there``) gives, if any."""
    when = next((f.retired_at for f in there if f.retired_at is not None), None)
    return flag.model_copy(update={"status": "retired", "retired_at": when})


def _revival(retired: str, candidate: str, purpose: str) -> Revival:
    return Revival(
        retired=retired,
        retired_short=short(retired),
        active=candidate,
        active_short=short(candidate),
        purpose=purpose,
        onto=True,
    )
