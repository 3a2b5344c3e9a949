"""Which files of a commit's tree a GitOps tool applies from one folder: the folder a parent
Kustomization's ``spec.path`` names, or an Argo CD app of apps' ``spec.source.path``. Only a
manifest in one of them is what the tool applied; a copy elsewhere in the tree
(``docs/example-helmrelease.yaml``) is no one's.

A folder with a kustomization (``kustomization.yaml``, ``kustomization.yml``,
``Kustomization``) applies what its ``resources`` (and ``bases``, ``components``) list (not
its ``crds``, schemas of custom resources that kustomize reads to transform them, never
renders), each a file or a folder with a kustomization of its own, followed as kustomize does,
``../base`` included. A folder without one is rendered as the tool does: Flux generates a
kustomization of every ``.yaml`` and ``.yml`` file under it, a subfolder with a kustomization
taken whole in its files' place (kustomize-controller's ``generator.go``); Argo CD applies the
``.yaml``, ``.yml`` and ``.json`` files of the folder itself, those of its subfolders too with
``directory.recurse``, and a folder of Argo CD's that holds a parameter override file
(``.argocd-source.yaml``), which Argo CD merges into the source as it renders, is not
followed. The files of a kustomization's patches (``patchesStrategicMerge``,
``patches`` given by ``path``) are applied with it as documents of what they patch;
replacements taken from a file are not followed, nor a kustomization that lists
``transformers`` or ``generators``. A Helm chart (``Chart.yaml``) renders its
``templates/`` and the subcharts of its ``charts/``, and one with a dependency fetched from a
chart repository is not followed. Helm renders no template whose name begins with ``_`` (a
partial), none a ``.helmignore`` leaves out, nothing of a library chart (``type: library``),
and a subchart a dependency's ``condition`` or ``tags`` names only as values say: none of these
counts (a ``.helmignore`` is read more widely than Helm reads it, its ``!`` exceptions not at
all, so that it can only leave out more). A template whose text holds ``{{`` is rendered as
values say, which may leave it out (``{{- if .Values.never }}`` in a YAML comment): its files
are told (``Scope.templates``) and no document of it counts as written
(``ManifestReader.find``). Each file is told with how it is rendered (``Rendering``): the
namespace a kustomization on the way or the parent sets, which overrides the one written, and
whether one renames what it renders. What cannot be followed (a kustomization that cannot be read, a
resource fetched from outside the repository or that the commit does not hold, one named by an
absolute path, a file above an Argo CD kustomization's folder, which its kustomize refuses by
default, a folder that is not there) is told, and nothing counts.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from checker.evidence.manifest_patches import KUSTOMIZATION_FILES

LISTED = ("resources", "bases", "components")
"""The fields of a kustomization whose entries are files or folders it renders."""
UNREAD = ("transformers", "generators")
"""The fields of a kustomization naming plugins (files, folders or inline configurations)
that render what it lists otherwise (a ``PatchTransformer``, ``PrefixSuffixTransformer``,
``NamespaceTransformer``) or add objects: not followed."""
JSONNET = ".jsonnet"
"""The files an Argo CD directory source renders as Jsonnet, beside its manifests."""
ARGOCD_SOURCE = ".argocd-source"
"""How the parameter override files Argo CD reads from a source's folder begin
(``.argocd-source.yaml``, ``.argocd-source-<appName>.yaml``: argoproj/argo-cd
``docs/user-guide/parameters.md``, "Store Overrides In Git")."""
HELMIGNORE = ".helmignore"
"""The file of a chart naming, as ``.gitignore`` does, files Helm leaves out of it."""


@dataclass(frozen=True)
class Rendering:
    """How the kustomizations (and the parent) on the way to a file render what it writes:
    the namespace the outermost sets (kustomize's ``namespace:`` overrides the manifest's),
    and which one renames it (``namePrefix``, ``nameSuffix``), if one does."""

    namespace: str | None = None
    renamed: str | None = None
    imaged: str | None = None
    """Which one sets ``images`` (or the parent's ``spec.images``), if one does: kustomize
    rewrites the ``image`` of every ``containers`` or ``initContainers`` list at any depth of
    what it renders (``imagetag.LegacyFilter``), a HelmRelease's values too."""

    def within(self, kustomization: dict[str, Any], path: str) -> Rendering:
        """How the kustomization ``path`` renders what it lists, this rendering around it."""
        namespace = kustomization.get("namespace")
        if not isinstance(namespace, str | None):
            raise Unfollowed(f"{path}: namespace is not a name")
        renames = [key for key in ("namePrefix", "nameSuffix") if kustomization.get(key)]
        return Rendering(
            self.namespace or namespace or None,
            self.renamed or (f"{path} sets {' and '.join(renames)}" if renames else None),
            self.imaged or (f"{path} sets images" if kustomization.get("images") else None),
        )


@dataclass(frozen=True)
class Scope:
    """The files a folder applies."""

    files: frozenset[str]
    templates: frozenset[str] = frozenset()
    """Those of ``files`` that are templates of a Helm chart, rendered through Helm's engine:
    one holding ``{{`` renders as values say, not as written."""
    rendered: dict[str, frozenset[Rendering]] = field(default_factory=dict)
    """How each of ``files`` is rendered, by each way the folder reaches it."""
    kustomizations: frozenset[str] = frozenset()
    """The kustomization files followed on the way to ``files``: their own fields
    (``replicas``, inline patches) render what they list otherwise than written."""


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
    namespace: str | None = None
    """The namespace the parent renders every object into (Flux's ``targetNamespace``, Argo
    CD's ``kustomize.namespace``), whatever its manifest writes."""
    renamed: str | None = None
    """Which of the parent's fields renames every object it renders (``namePrefix``), if
    one does."""
    imaged: str | None = None
    """Which of the parent's fields sets images in what it renders, if one does."""


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
    files: dict[str, str],
    folder: Folder,
    read: Callable[[str], list[Any]],
    text: Callable[[str], bytes],
) -> Scope:
    """The files of ``files`` (path to blob) that ``folder`` applies; ``read`` gives the
    documents of a kustomization or chart file (``Unfollowed`` where it cannot be read),
    ``text`` the bytes of a ``.helmignore``."""
    walk = _Walk(files, read, text, folder.tool)
    walk.rendering = Rendering(folder.namespace, folder.renamed, folder.imaged)
    start = clean(folder.path)
    if not walk.is_folder(start):
        raise Unfollowed(f"the commit holds no folder {folder.path!r}")
    if folder.tool == "argocd":
        _refuse_source_overrides(files, start, folder.parent)
    walk.folder(start, folder.recurse)
    for component in folder.components:
        walk.entry(start, f"spec.components of {folder.parent}", component)
    rendered = {name: frozenset(ways) for name, ways in walk.rendered.items()}
    return Scope(
        frozenset(walk.found), frozenset(walk.templates), rendered, frozenset(walk.kustomizations)
    )


class _Walk:
    def __init__(
        self,
        files: dict[str, str],
        read: Callable[[str], list[Any]],
        text: Callable[[str], bytes],
        tool: str,
    ):
        self.jsonnet = frozenset(f for f in files if f.lower().endswith(JSONNET))
        self.files = {f: blob for f, blob in files.items() if f not in self.jsonnet}
        self.read, self.text, self.tool = read, text, tool
        self.found: set[str] = set()
        self.templates: set[str] = set()
        self.seen: set[tuple[str, Rendering]] = set()
        self.rendering = Rendering()
        """How the kustomizations on the way to what is walked now render it."""
        self.rendered: dict[str, set[Rendering]] = {}
        self.kustomizations: set[str] = set()

    def _add(self, name: str) -> None:
        self.found.add(name)
        self.rendered.setdefault(name, set()).add(self.rendering)

    def is_folder(self, path: str) -> bool:
        return not path or any(f.startswith(f"{path}/") for f in self.files)

    def folder(self, path: str, recurse: bool) -> None:
        """What the folder ``path`` renders: its kustomization's, else the tool's way."""
        if (path, self.rendering) in self.seen:
            return
        self.seen.add((path, self.rendering))
        own = self._kustomization(path)
        if own is not None:
            self._kustomize(path, own)
            return
        prefix = f"{path}/" if path else ""
        under = [f for f in self.files if f.startswith(prefix)]
        if self.tool == "argocd" and f"{prefix}Chart.yaml" in self.files:
            self._chart(prefix, under)
            return
        self._refuse_jsonnet(prefix, recurse)
        suffixes = (".yaml", ".yml") if self.tool == "flux" else (".yaml", ".yml", ".json")
        for name in under:
            rest = name[len(prefix) :]
            if "/" in rest and not recurse:
                continue
            sub = posixpath.dirname(name)
            if self.tool == "flux" and self._below_kustomization(path, sub):
                continue
            if rest.endswith(suffixes):
                self._add(name)

    def _refuse_jsonnet(self, prefix: str, recurse: bool) -> None:
        """``Unfollowed`` where an Argo CD directory source holds a ``.jsonnet`` file (below
        ``prefix``, in subfolders with ``recurse``): Argo CD renders it beside the manifests,
        and what it renders is not read. Flux's generator takes YAML alone."""
        for name in sorted(self.jsonnet) if self.tool == "argocd" else ():
            rest = name[len(prefix) :] if name.startswith(prefix) else None
            if rest is not None and (recurse or "/" not in rest):
                raise Unfollowed(
                    f"{name} is Jsonnet, which Argo CD renders beside the folder's manifests "
                    "and which is not read here: it may render the object otherwise"
                )

    def _below_kustomization(self, top: str, folder: str) -> bool:
        """Whether ``folder``, below ``top``, is in a subfolder with a kustomization: Flux
        takes that subfolder whole (``folder`` walks it), not its files one by one."""
        while folder != top and folder:
            if self._kustomization(folder) is not None:
                self.folder(folder, True)
                return True
            folder = posixpath.dirname(folder)
        return False

    def _chart(
        self, prefix: str, under: list[str], ignore: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """What a Helm chart renders: its ``templates/`` but partials and what its
        ``.helmignore`` (or its parent chart's, ``ignore``) leaves out, nothing of a library
        chart, and the subcharts it holds in ``charts/`` that no ``condition`` or ``tags``
        may turn off; a dependency fetched from a chart repository is ``Unfollowed``."""
        chart, gated = self._chart_file(prefix)
        ignore += _ignored_patterns(self.text, prefix, self.files)
        if chart.get("type") == "library":
            return
        for name in under:
            rest = name[len(prefix) :]
            if (
                rest.startswith("templates/")
                and not posixpath.basename(rest).startswith("_")
                and not _ignores(ignore, name)
            ):
                self._add(name)
                self.templates.add(name)
        self._subcharts(prefix, under, ignore, gated)

    def _subcharts(
        self, prefix: str, under: list[str], ignore: tuple[tuple[str, str], ...], gated: set[str]
    ) -> None:
        """The subcharts of the chart ``prefix``'s ``charts/`` (each a folder with a
        ``Chart.yaml``), but those ``gated`` names (by folder or chart name) or ``ignore``
        leaves out."""
        subcharts = {rest.split("/")[1] for rest in (n[len(prefix) :] for n in under)
                     if rest.startswith("charts/") and rest.count("/") >= 2}  # fmt: skip
        for sub in sorted(subcharts):
            where = f"{prefix}charts/{sub}/"
            if f"{where}Chart.yaml" not in self.files or _ignores(ignore, where):
                continue
            own = self.read(f"{where}Chart.yaml")
            named = own[0].get("name") if len(own) == 1 and isinstance(own[0], dict) else sub
            if not {sub, str(named)} & gated:
                self._chart(where, [n for n in under if n.startswith(where)], ignore)

    def _chart_file(self, prefix: str) -> tuple[dict[str, Any], set[str]]:
        """The chart's ``Chart.yaml``, and the names (and aliases) of the dependencies it (or
        a v1 chart's ``requirements.yaml``) renders only as a ``condition`` or ``tags`` say;
        ``Unfollowed`` where one is fetched from a chart repository."""
        chart = self._one(f"{prefix}Chart.yaml", "is not one chart")
        gated: set[str] = set()
        for dependency in self._dependencies(prefix, chart):
            dependency = dependency if isinstance(dependency, dict) else {}
            where = dependency.get("repository")
            if where not in (None, "") and not str(where).startswith("file://"):
                raise Unfollowed(f"{prefix}Chart.yaml renders a dependency fetched from {where!r}")
            if dependency.get("condition") or dependency.get("tags"):
                gated |= {str(dependency.get(key)) for key in ("name", "alias")}
        return chart, gated

    def _dependencies(self, prefix: str, chart: dict[str, Any]) -> list[Any]:
        """The dependencies ``Chart.yaml`` lists, and a v1 chart's ``requirements.yaml``."""
        listed = [chart.get("dependencies")]
        if f"{prefix}requirements.yaml" in self.files:
            required = self._one(f"{prefix}requirements.yaml", "is not one list of dependencies")
            listed.append(required.get("dependencies"))
        if not all(isinstance(entries, list | None) for entries in listed):
            raise Unfollowed(f"{prefix}Chart.yaml or requirements.yaml lists no dependencies")
        return [entry for entries in listed for entry in entries or []]

    def _one(self, path: str, otherwise: str) -> dict[str, Any]:
        """The one object the file ``path`` holds, else ``Unfollowed`` saying it ``otherwise``."""
        documents = self.read(path)
        if len(documents) != 1 or not isinstance(documents[0], dict):
            raise Unfollowed(f"{path} {otherwise}")
        return documents[0]

    def _kustomization(self, path: str) -> str | None:
        for name in KUSTOMIZATION_FILES:
            full = f"{path}/{name}" if path else name
            if full in self.files:
                return full
        return None

    def _kustomize(self, path: str, kustomization: str) -> None:
        """Each entry of ``LISTED`` of the kustomization, followed, rendered as it says."""
        documents = self.read(kustomization)
        if len(documents) != 1 or not isinstance(documents[0], dict):
            raise Unfollowed(f"{kustomization} is not one kustomization")
        self.kustomizations.add(kustomization)
        outer = self.rendering
        self.rendering = outer.within(documents[0], kustomization)
        try:
            self._listed_entries(path, kustomization, documents[0])
        finally:
            self.rendering = outer

    def _listed_entries(self, path: str, kustomization: str, document: dict[str, Any]) -> None:
        """Each entry of ``LISTED`` of the kustomization ``document``, and its patch files."""
        for key in LISTED:
            entries = document.get(key) or []
            if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
                raise Unfollowed(f"{kustomization}: {key} is not a list of paths")
            for entry in entries:
                self.entry(path, kustomization, entry)
        self._patch_files(path, kustomization, document)

    def _patch_files(self, path: str, kustomization: str, document: dict[str, Any]) -> None:
        """The files of the kustomization's patches (``patchesStrategicMerge`` entries that
        name a file, ``patches`` given by ``path``), which a target need not choose: each a
        document of what it patches, read as one (``ManifestReader.find``); one of another
        name (``off.txt``) is ``Unfollowed``, as are replacements taken from a file and
        ``UNREAD``: what they select and rewrite is not read."""
        _refuse_unread(document, kustomization)
        named = [
            (item, False) for item in _listed(document, "patchesStrategicMerge", kustomization)
        ] + [(item.get("path"), True) for item in _listed(document, "patches", kustomization)
             if isinstance(item, dict) and item.get("path") is not None]  # fmt: skip
        for entry, given in named:
            if not isinstance(entry, str) or (not given and "\n" in entry.strip()):
                continue  # an inline patch: manifest_patches reads it
            try:
                target = clean(posixpath.join(path, entry))
            except Unfollowed:
                raise Unfollowed(f"{kustomization} patches with {entry!r}, outside it") from None
            if target not in self.files:
                raise Unfollowed(
                    f"{kustomization} patches with {entry!r}, which the commit holds as no "
                    "manifest file read (.yaml, .yml, .json): kustomize reads a patch file of "
                    "any name"
                )
            self._add(target)

    def entry(self, path: str, kustomization: str, entry: str) -> None:
        """What the kustomization (or ``spec.components``) of the folder ``path`` renders of
        ``entry``: a file, or a folder with a kustomization of its own."""
        if any(mark in entry for mark in ("://", "@", "?", "//")):
            raise Unfollowed(f"{kustomization} renders {entry!r}, fetched from outside it")
        if entry.strip().startswith("/"):
            raise Unfollowed(
                f"{kustomization} renders {entry!r}, a path from the root of the machine that "
                "builds it, not of the repository: kustomize refuses it or reads another file"
            )
        try:
            target = clean(posixpath.join(path, entry))
        except Unfollowed:
            raise Unfollowed(f"{kustomization} renders {entry!r}, outside the repository") from None
        if target in self.files and self.tool == "argocd" and not _below(target, path):
            raise Unfollowed(
                f"{kustomization} renders the file {entry!r}, outside its own folder: the "
                "kustomize Argo CD runs refuses it unless built with --load-restrictor "
                "LoadRestrictionsNone, which is not read"
            )
        if target in self.files:
            self._add(target)
        elif self._kustomization(target) is not None:
            self.folder(target, True)
        else:
            raise Unfollowed(
                f"{kustomization} renders {entry!r}, which the commit holds as no manifest "
                "file nor folder with a kustomization (fetched from elsewhere?)"
            )


def _refuse_source_overrides(files: dict[str, str], start: str, parent: str) -> None:
    """``Unfollowed`` where the folder ``start`` of an Argo CD source holds a parameter
    override file (``ARGOCD_SOURCE``): Argo CD merges it into the source as it renders (its
    images, patches, names, namespace, which files of a directory), which is not read."""
    prefix = f"{start}/" if start else ""
    for name in sorted(files):
        rest = name[len(prefix) :] if name.startswith(prefix) else ""
        if "/" not in rest and rest.startswith(ARGOCD_SOURCE) and rest.endswith(".yaml"):
            raise Unfollowed(
                f"{name} is a parameter override file Argo CD merges into the source of "
                f"{parent} as it renders, which is not read: it may render the object otherwise"
            )


def _refuse_unread(document: dict[str, Any], kustomization: str) -> None:
    """``Unfollowed`` where the kustomization lists ``UNREAD`` or takes replacements from a
    file: what they select and rewrite is not read."""
    for key in UNREAD:
        if document.get(key):
            raise Unfollowed(
                f"{kustomization} lists {key}, which are not read: they may rewrite, "
                "rename or add the object"
            )
    for item in _listed(document, "replacements", kustomization):
        if isinstance(item, dict) and item.get("path") is not None:
            raise Unfollowed(
                f"{kustomization} takes replacements from {item.get('path')!r}, which are "
                "not read: they may rewrite the object"
            )


def _listed(document: dict[str, Any], key: str, kustomization: str) -> list[Any]:
    """The kustomization's list ``key`` (empty where unset), or ``Unfollowed``."""
    value = document.get(key) or []
    if not isinstance(value, list):
        raise Unfollowed(f"{kustomization}: {key} is not a list")
    return value


def _below(path: str, folder: str) -> bool:
    """Whether the file ``path`` is in ``folder`` or one of its subfolders."""
    return not folder or path.startswith(f"{folder}/")


def _ignored_patterns(
    text: Callable[[str], bytes], prefix: str, files: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """The patterns of the chart ``prefix``'s ``.helmignore``, if the commit holds one, each
    with the chart it is relative to: every line but comments and ``!`` exceptions, which
    are not read (they could only leave out less)."""
    path = f"{prefix}{HELMIGNORE}"
    if path not in files:
        return ()
    lines = [line.strip() for line in text(path).decode("utf-8", "replace").splitlines()]
    return tuple(
        (prefix, line.strip("/"))
        for line in lines
        if line.strip("/") and not line.startswith(("#", "!"))
    )


def _ignores(patterns: tuple[tuple[str, str], ...], path: str) -> bool:
    """Whether a ``.helmignore`` pattern may leave out ``path``: it matches any run of the
    leading or trailing parts of the path relative to its chart, ``*`` across ``/`` too, more
    widely than Helm's ``.gitignore`` rules."""
    for prefix, pattern in patterns:
        parts = path[len(prefix) :].strip("/").split("/")
        runs = {"/".join(parts[i:]) for i in range(len(parts))}
        runs |= {"/".join(parts[:i]) for i in range(1, len(parts) + 1)}
        if any(fnmatchcase(run, pattern) for run in runs):
            return True
    return False
