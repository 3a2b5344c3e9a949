"""Service paths: the gitignore-style globs of the files a path-scoped service of a monorepo is
built from (``service_paths`` in knightwatch.yaml), matched by ``pathspec``'s implementation
of git's own wildmatch rules, so a glob means here what it means in a ``.gitignore``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a glob is compiled: most repositories have no service_paths
    import pathspec


def service_glob(glob: str) -> str:
    """One service glob as knightwatch.yaml gives it: a pattern inside the repository that
    names files. Negation (``!``) and comments (``#``) are gitignore's, not a list of paths:
    a service is the union of its globs, and ``!services/**`` would make it nothing."""
    if not glob.strip() or glob != glob.strip():
        raise ValueError(f"{glob!r} is not a path glob (empty, or spaces around it)")
    if glob.startswith(("!", "#")):
        raise ValueError(
            f"{glob!r}: a service path cannot start with {glob[0]!r} (gitignore's "
            f"{'negation' if glob[0] == '!' else 'comment'}); list the paths the service is "
            "built from"
        )
    parts = PurePosixPath(glob).parts
    if glob.startswith("/") or ".." in parts:
        raise ValueError(f"{glob!r} is not a path inside the repository (relative, no '..')")
    try:
        _compiled([glob])
    except ValueError as exc:  # pathspec's pattern errors are ValueErrors
        raise ValueError(f"{glob!r} is not a glob pathspec can read ({exc})") from None
    return glob


@dataclass(frozen=True)
class PathScope:
    """One service's globs, compiled once."""

    service: str
    globs: tuple[str, ...]
    _spec: pathspec.GitIgnoreSpec = field(repr=False, compare=False)

    @classmethod
    def of(cls, service: str, globs: Sequence[str]) -> PathScope:
        """The scope of ``service``."""
        return cls(service, tuple(globs), _compiled(list(globs)))

    def __call__(self, path: str) -> bool:
        """Whether the file at ``path`` (relative, ``/``-separated) is one of the service's."""
        return bool(self._spec.match_file(path))

    def unmatched(self, paths: Iterable[str]) -> list[str]:
        """The globs that match none of ``paths``."""
        left = {glob: _compiled([glob]) for glob in self.globs}
        for path in paths:
            for glob in [g for g, spec in left.items() if spec.match_file(path)]:
                del left[glob]
            if not left:
                break
        return [g for g in self.globs if g in left]


def _compiled(globs: list[str]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(globs)


def path_scopes(service_paths: Mapping[str, Sequence[str]]) -> dict[str, PathScope]:
    """Each path-scoped service's scope, by service name."""
    return {name: PathScope.of(name, globs) for name, globs in sorted(service_paths.items())}
