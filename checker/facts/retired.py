"""Retired code at a deployed commit: the ``retired_code`` entries of its registry, and those
of every earlier version of the registry in its history, with the files each still matches.

Retired code stays retired, as a retired flag does: a commit that drops an entry from the
registry while the code stays in place must not make DEAD-004 pass. An entry counts at a
deployed commit when a version of the registry that lists it was written in that commit's
history (the commit that wrote it is the deployed commit or one of its ancestors); a version
on another line of history, never merged into it, says nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from checker.evidence.git import GitHistory
from checker.evidence.git_content import FileVersion, TreeIndex
from checker.evidence.models import FlagRegistry
from checker.facts.document import RetiredCode
from checker.vocabulary import short

MAX_LISTED = 10
"""Files named per entry (and per flag's references); all of them are counted."""


@dataclass(frozen=True)
class _Listing:
    """A version of the registry that lists a path under ``retired_code``."""

    commit: str
    reason: str


class RetiredCodeHistory:
    """Every ``retired_code`` entry of every readable version of the registry, by path, and
    which of those versions lie in a deployed commit's history (git is asked once per pair)."""

    def __init__(
        self, history: GitHistory, parsed: list[tuple[FileVersion, FlagRegistry | None]]
    ) -> None:
        self._history = history
        self._listed: dict[str, list[_Listing]] = {}
        """By path, the versions listing it, in the order of the registry's history (oldest
        first)."""
        for version, registry in parsed:
            for entry in registry.retired_code if registry is not None else []:
                listings = self._listed.setdefault(entry.path, [])
                if not any(listing.commit == version.commit for listing in listings):
                    listings.append(_Listing(version.commit, entry.reason))
        self._ancestry: dict[tuple[str, str], bool] = {}

    def code_at(
        self, trees: TreeIndex, sha: str, registry: FlagRegistry | None
    ) -> list[RetiredCode]:
        """Each ``retired_code`` entry of the commit's registry (``registry``), with the files it
        still matches; then each path an earlier version in the commit's history listed and
        ``registry`` does not, where it still matches files, naming that version's commit."""
        entries = registry.retired_code if registry is not None else []
        out = [_retired(trees.matching(sha, e.path), e.path, e.reason, None) for e in entries]
        current = {entry.path for entry in entries}
        for path in sorted(self._listed.keys() - current):
            matches = trees.matching(sha, path)
            if not matches:  # gone: nothing to ask of history
                continue
            listing = self._listing_in_history(path, sha)
            if listing is not None:
                out.append(_retired(matches, path, listing.reason, listing.commit))
        return out

    def _listing_in_history(self, path: str, sha: str) -> _Listing | None:
        """The oldest version listing ``path`` that is ``sha`` or one of its ancestors."""
        for listing in self._listed[path]:
            key = (listing.commit, sha)
            if key not in self._ancestry:
                self._ancestry[key] = self._history.is_ancestor(listing.commit, sha)
            if self._ancestry[key]:
                return listing
        return None


def _retired(matches: list[str], path: str, reason: str, listed_in: str | None) -> RetiredCode:
    return RetiredCode(
        path=path,
        reason=reason,
        files=matches[:MAX_LISTED],
        count=len(matches),
        listed_in=listed_in,
        listed_in_short=short(listed_in) if listed_in is not None else None,
    )
