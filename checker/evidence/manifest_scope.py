"""Which files of a commit's tree a GitOps tool applies from one folder: the folder a parent
Kustomization's ``spec.path`` names, or an Argo CD app of apps' ``spec.source.path``. Only a
manifest in one of them is what the tool applied; a copy elsewhere in the tree
(``docs/example-helmrelease.yaml``) is no one's.

A folder with a kustomization (``kustomization.yaml``, ``kustomization.yml``,
``Kustomization``) applies what its ``resources`` (and ``bases``, ``components``, ``crds``)
list, each a file or a folder with a kustomization of its own, followed as kustomize does,
``../base`` included. A folder without one is rendered as the tool does: Flux generates a
kustomization of every ``.yaml`` and ``.yml`` file under it, a subfolder with a kustomization
taken whole in its files' place (kustomize-controller's ``generator.go``); Argo CD applies the
``.yaml``, ``.yml`` and ``.json`` files of the folder itself, those of its subfolders too with
``directory.recurse``; a Helm chart (``Chart.yaml``) renders its ``templates/`` and the
subcharts of its ``charts/``, and one with a dependency fetched from a chart repository is not
followed. What cannot be
followed (a kustomization that cannot be read, a resource fetched from outside the repository
or that the commit does not hold, a folder that is not there) is told, and nothing counts.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checker.evidence.manifest_patches import KUSTOMIZATION_FILES

LISTED = ("resources", "bases", "components", "crds")
"""The fields of a kustomization whose entries are files or folders it renders."""


@dataclass(frozen=True)
class Folder:
    """Where a tool applies an object's manifest from."""

    path: str
    """The folder, as the parent gives it (``./apps/production``, ``apps``)."""
    parent: str
    """The parent that applies it, for messages (``Kustomization flux-system/apps``)."""
    tool: str
    """``flux`` or ``argocd``: how a folder without a kustomization is rendered."""
    recurse: bool = True
    """Argo CD's ``directory.recurse``: subfolders' files too (Flux's always are)."""
    components: tuple[str, ...] = ()
    """A Flux Kustomization's ``spec.components``, folders relative to ``path`` that it
    renders too."""
    revision: str | None = None
    """The commit a Flux parent last applied (its ``status.lastAppliedRevision``): it must be
    a commit of the repository judged, or the parent applies another repository's files."""


class Unfollowed(Exception):
    """What of a folder cannot be followed to the files it applies."""


def clean(path: str) -> str:
    """A folder or file of the tree as a path from its root (``""`` for the root): ``./a/``
    is ``a``; one that leads out of the tree is ``Unfollowed``."""
    cleaned = posixpath.normpath("/" + path.strip()).lstrip("/")
    if posixpath.normpath(path.strip() or ".").startswith(".."):
        raise Unfollowed(f"{path!r} leads out of the repository")
    return "" if cleaned == "." else cleaned


def applied(
    files: dict[str, str], folder: Folder, read: Callable[[str], list[Any]]
) -> frozenset[str]:
    """The files of ``files`` (path to blob) that ``folder`` applies; ``read`` gives the
    documents of a kustomization file (``Unfollowed`` where it cannot be read)."""
    walk = _Walk(files, read, folder.tool)
    start = clean(folder.path)
    if not walk.is_folder(start):
        raise Unfollowed(f"the commit holds no folder {folder.path!r}")
    walk.folder(start, folder.recurse)
    for component in folder.components:
        walk.entry(start, f"spec.components of {folder.parent}", component)
    return frozenset(walk.found)


class _Walk:
    def __init__(self, files: dict[str, str], read: Callable[[str], list[Any]], tool: str):
        self.files, self.read, self.tool = files, read, tool
        self.found: set[str] = set()
        self.seen: set[str] = set()

    def is_folder(self, path: str) -> bool:
        return not path or any(f.startswith(f"{path}/") for f in self.files)

    def folder(self, path: str, recurse: bool) -> None:
        """What the folder ``path`` renders: its kustomization's, else the tool's way."""
        if path in self.seen:
            return
        self.seen.add(path)
        own = self._kustomization(path)
        if own is not None:
            self._kustomize(path, own)
            return
        prefix = f"{path}/" if path else ""
        under = [f for f in self.files if f.startswith(prefix)]
        if self.tool == "argocd" and f"{prefix}Chart.yaml" in self.files:
            self._chart(prefix, under)
            return
        suffixes = (".yaml", ".yml") if self.tool == "flux" else (".yaml", ".yml", ".json")
        for name in under:
            rest = name[len(prefix) :]
            if "/" in rest and not recurse:
                continue
            sub = posixpath.dirname(name)
            if self.tool == "flux" and self._below_kustomization(path, sub):
                continue
            if rest.endswith(suffixes):
                self.found.add(name)

    def _below_kustomization(self, top: str, folder: str) -> bool:
        """Whether ``folder``, below ``top``, is in a subfolder with a kustomization: Flux
        takes that subfolder whole (``folder`` walks it), not its files one by one."""
        while folder != top and folder:
            if self._kustomization(folder) is not None:
                self.folder(folder, True)
                return True
            folder = posixpath.dirname(folder)
        return False

    def _chart(self, prefix: str, under: list[str]) -> None:
        """What a Helm chart renders: its ``templates/``, and those of the subcharts it holds
        (``charts/``); a dependency fetched from a chart repository is ``Unfollowed``."""
        documents = self.read(f"{prefix}Chart.yaml")
        chart = documents[0] if len(documents) == 1 and isinstance(documents[0], dict) else None
        dependencies = chart.get("dependencies") if chart is not None else None
        if chart is None or not isinstance(dependencies, list | None):
            raise Unfollowed(f"{prefix}Chart.yaml is not one chart")
        for dependency in dependencies or []:
            where = dependency.get("repository") if isinstance(dependency, dict) else None
            if where not in (None, "") and not str(where).startswith("file://"):
                raise Unfollowed(f"{prefix}Chart.yaml renders a dependency fetched from {where!r}")
        rendered = (f"{prefix}templates/", f"{prefix}charts/")
        self.found.update(name for name in under if name.startswith(rendered))

    def _kustomization(self, path: str) -> str | None:
        for name in KUSTOMIZATION_FILES:
            full = f"{path}/{name}" if path else name
            if full in self.files:
                return full
        return None

    def _kustomize(self, path: str, kustomization: str) -> None:
        """Each entry of ``LISTED`` of the kustomization, followed."""
        documents = self.read(kustomization)
        if len(documents) != 1 or not isinstance(documents[0], dict):
            raise Unfollowed(f"{kustomization} is not one kustomization")
        for key in LISTED:
            entries = documents[0].get(key) or []
            if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
                raise Unfollowed(f"{kustomization}: {key} is not a list of paths")
            for entry in entries:
                self.entry(path, kustomization, entry)

    def entry(self, path: str, kustomization: str, entry: str) -> None:
        if any(mark in entry for mark in ("://", "@", "?", "//")):
            raise Unfollowed(f"{kustomization} renders {entry!r}, fetched from outside it")
        try:
            target = clean(posixpath.join(path, entry))
        except Unfollowed:
            raise Unfollowed(f"{kustomization} renders {entry!r}, outside the repository") from None
        if target in self.files:
            self.found.add(target)
        elif self._kustomization(target) is not None:
            self.folder(target, True)
        else:
            raise Unfollowed(
                f"{kustomization} renders {entry!r}, which the commit holds as no manifest "
                "file nor folder with a kustomization (fetched from elsewhere?)"
            )
