"""The Kubernetes manifests a commit's tree holds: every YAML or JSON document of one kind, name
and namespace, read from git's objects with each commit, tree and blob hash-checked
(``git_content.TreeIndex`` and ``BatchReader``), never from the working tree: a file git does
not track (ignored, or never added), one on another branch or added by a later commit is not
in the commit's tree.

A document is read as data, twice: as YAML 1.1 reads it (PyYAML, go-yaml v2, which
``kubectl`` uses) and as YAML 1.2's core schema does (go-yaml v3, which kustomize uses). A
document the two read differently (``enabled: yes``, ``mode: 0755``) means one thing to one
tool and another to the next, so it is told as unreadable where it is of the object looked
for, as is one with a plain scalar go-yaml reads otherwise than PyYAML does (``GoScalar``:
``0o14`` and ``1_000`` are numbers to kustomize, ``n`` a boolean to ``kubectl``), one with a
value that JSON cannot hold (a ``!!binary`` or ``!!set``), or one nested or aliased beyond
any manifest's size; a file that does not parse, or gives a key twice, is
unreadable whole.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from checker.evidence import manifest_scope
from checker.evidence.git import GitHistory
from checker.evidence.git_content import BatchReader, TreeIndex, symbolic_links
from checker.evidence.manifest_patches import KUSTOMIZATION_FILES, Target, patching, selects
from checker.evidence.manifest_scope import (
    HELMIGNORE,
    JSONNET,
    Folder,
    Rendering,
    Scope,
    Unfollowed,
)

SUFFIXES = (".yaml", ".yml", ".json")
"""The files a manifest is looked for in (kustomize's and ``kubectl apply -f``'s), and
kustomize's ``Kustomization`` file."""
MAX_NODES = 200_000
"""More values than any manifest holds: a document of aliases that expand beyond it is
refused rather than expanded."""
MAX_DEPTH = 100
SPELT = re.compile(rb"\\[xuU]|\\\r?\n|\x00")
"""What may spell a kind or a name in other bytes than its own: an escape in a double-quoted
YAML or JSON string (``"Helm\\u0052elease"``), a line broken by a backslash in one (``"pod\\``
then ``info"`` is ``podinfo``), UTF-16 (a zero byte beside each letter). A file holding one is
read, as every file that holds the words is."""


TEMPLATED = (
    "a Helm template holding {{ ... }}: Helm renders it as values say (or not at all, "
    "{{- if ... }} in a comment), not as written"
)
"""Why a document of a chart's template is no manifest of what was applied."""


class Unreadable(Exception):
    """A document that is not plain data every YAML reader reads alike."""


class _Loader11(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, a key given twice refused, a timestamp left as text."""


class _Loader12(yaml.SafeLoader):
    """YAML 1.2's core schema (booleans ``true``/``false``, decimal numbers), a key given
    twice refused."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | GoScalar) or key in seen:
            raise Unreadable(f"line {key_node.start_mark.line + 1}: a key given twice, or not text")
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Loader11.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader12.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^[-+]?[0-9]+$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
        r"|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    _Loader12.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


@dataclass(frozen=True)
class GoScalar:
    """A plain scalar go-yaml reads otherwise than PyYAML does as YAML 1.1 and as YAML 1.2,
    which read text: Go's ``strconv.ParseInt`` with base 0, which go-yaml v2 and v3 call,
    takes ``0o14``, ``0X1F``, ``0B101`` and ``1_000`` as numbers (kustomize renders 12, 31, 5,
    1000); go-yaml v2 (``kubectl``) takes ``y`` and ``n`` as booleans; kustomize takes a date
    (``2024-01-01``, ``2024-1-2 10:00:00``) as a time, rendered ``2024-01-01T00:00:00Z``."""

    text: str


_GO_SCALAR = "tag:yaml.org,2002:go-scalar"
_Loader12.add_implicit_resolver(
    _GO_SCALAR,
    re.compile(
        r"^(?:[-+]?(?:0[bBoOxX][0-9a-fA-F_]*|[0-9.][0-9._]*_[0-9._]*(?:[eE][-+]?[0-9_]+)?)"
        r"|[yYnN]|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?)$"
    ),
    list("-+.0123456789yYnN"),  # a date's first character is a digit
)
_Loader12.add_constructor(_GO_SCALAR, lambda loader, node: GoScalar(node.value))


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """An integer as YAML 1.2 reads it: decimal digits (``0755`` is 755, not octal)."""
    return int(loader.construct_scalar(node))


_Loader12.add_constructor("tag:yaml.org,2002:int", _decimal)
for _loader in (_Loader11, _Loader12):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def canonical(value: Any) -> str:
    """``value`` as JSON with sorted keys, a whole float as an integer (Kubernetes and Helm
    hold every number as one JSON number), and nothing JSON cannot hold."""
    budget = [MAX_NODES]
    return json.dumps(_plain(value, 0, budget), sort_keys=True, separators=(",", ":"))


def _plain(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise Unreadable("nested or aliased beyond any manifest's size")
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Unreadable("a key that is not text")
        return {k: _plain(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1, budget) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unreadable("a number JSON cannot hold")
        return int(value) if value.is_integer() else value
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, GoScalar):
        raise Unreadable(f"go-yaml reads {value.text!r} otherwise than as this text")
    raise Unreadable(f"a value JSON cannot hold ({type(value).__name__})")


NOT_AN_OBJECT = "!not an object"
"""A field's value where an object on the way to it is no object: never the canonical value
of anything."""


def field_value(start: Any, keys: tuple[str, ...]) -> str:
    """The field ``keys`` lead to from ``start``, as its canonical value: ``null`` where unset
    or empty (an empty value sets nothing), ``NOT_AN_OBJECT`` where an object on the way is
    not one, and a text that is no JSON (``!`` and why) where it cannot be read as plain
    data. The fields a GitOps object sets over git are compared so, object and manifest."""
    value: Any = start
    for key in keys:
        if not isinstance(value, dict):
            return NOT_AN_OBJECT if value else canonical(None)
        value = value.get(key)
    try:
        return canonical(None if value in (None, "", [], {}) else value)
    except Unreadable as exc:
        return f"!{exc}"


@dataclass(frozen=True)
class Document:
    """One document of a file."""

    data: Any
    """As YAML 1.2 reads it."""
    said: Any
    """As YAML 1.1 reads it."""
    problem: str | None
    """Why it is not plain data every reader reads alike, or None."""

    def names(self, group: str, kind: str, name: str) -> bool:
        """Whether either reading is of ``group``'s ``kind`` named ``name``."""
        return any(
            isinstance(doc, dict)
            and doc.get("kind") == kind
            and isinstance(doc.get("apiVersion"), str)
            and doc["apiVersion"].startswith(f"{group}/")
            and isinstance(doc.get("metadata"), dict)
            and doc["metadata"].get("name") == name
            for doc in (self.data, self.said)
        )


def documents(data: bytes) -> list[Document]:
    """The documents of a file, each with what keeps it from being read alike by every YAML
    reader, the items of a ``List`` each a document (``kubectl apply`` and kustomize apply them
    one by one); a file that does not parse, or gives a key twice, is ``Unreadable`` whole. A
    byte order mark says the encoding, as it does to go-yaml: UTF-16 is read; one further on
    makes the file unreadable."""
    try:
        text = data.decode(_encoding(data))
        if "\ufeff" in text:
            raise Unreadable(
                f"line {text[: text.index(chr(0xFEFF))].count(chr(10)) + 1}: a byte order mark "
                "within the file (kustomize skips one after ---, PyYAML reads it into a key)"
            )
        old, new = (list(yaml.load_all(text, Loader)) for Loader in (_Loader11, _Loader12))
    except (UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        raise Unreadable(f"line {mark.line + 1}: {problem}" if mark else str(problem)) from None
    if len(old) != len(new):
        raise Unreadable("YAML 1.1 and YAML 1.2 find different documents in it")
    return [doc for a, b in zip(old, new, strict=True) for doc in _expanded(a, b)]


def _encoding(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"


def _items(document: Any) -> list[Any] | None:
    """The items of a ``List`` (``v1`` ``List``, ``ConfigMapList``: a kind that ends so, with
    ``items``), or None."""
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return None
    kind = document.get("kind")
    return document["items"] if isinstance(kind, str) and kind.endswith("List") else None


def _expanded(old: Any, new: Any) -> list[Document]:
    """The document as YAML 1.1 (``old``) and YAML 1.2 (``new``) read it, or each of its
    items where it is a ``List`` (a list of lists too). A ``List`` the two read differently,
    or that holds what JSON cannot, is ``Unreadable``: which of its items are what is not
    told."""
    problem = _problem(old, new)
    if _items(old) is None and _items(new) is None:
        return [Document(new, old, problem)]
    if problem is not None:
        raise Unreadable(f"a List: {problem}")
    return [Document(item, item, None) for item in _flat(new)]


def _flat(document: Any) -> list[Any]:
    """A ``List``'s items, those of a ``List`` among them in its place; no deeper, nor more,
    than ``canonical`` allows, which read it."""
    items = _items(document)
    return [document] if items is None else [flat for item in items for flat in _flat(item)]


def _problem(old: Any, new: Any) -> str | None:
    try:
        if canonical(old) == canonical(new):
            return None
    except Unreadable as exc:
        return str(exc)
    return "YAML 1.1 and YAML 1.2 read a value of it differently (yes, 0755 ...)"


@dataclass
class Found:
    """The documents of one kind, name and namespace in a commit's tree."""

    manifests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(path, document) of each."""
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) of each file naming the kind and name that could not be read."""
    unplaced: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(path, document) of each document of the kind and name without ``metadata.namespace``:
    kustomize's ``namespace:`` or ``kubectl apply -n`` may make it the object's, or another's."""


def _place(
    found: Found,
    path: str,
    doc: Document,
    namespace: str | None,
    ways: frozenset[Rendering] | None,
) -> None:
    """``doc``, of the object looked for in the file ``path``, among ``found``'s manifests,
    those without a namespace, or those that cannot be read: a Helm template's (``ways``
    None), or one a kustomization on the way renames. Where a kustomization or the parent
    sets the namespace (``ways``), that is the document's, whatever it writes."""
    meta = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    otherwise = _rendered_otherwise(doc.data, ways or frozenset())
    ways = None if ways is None else frozenset(replace(way, imaged=None) for way in ways)
    if ways is None:
        found.unreadable.append((path, TEMPLATED))
    elif doc.problem is not None or not isinstance(meta, dict):
        found.unreadable.append((path, doc.problem or "read otherwise by YAML 1.1"))
    elif otherwise is not None:
        found.unreadable.append((path, otherwise))
    elif namespace in {way.namespace for way in ways if way.namespace is not None}:
        found.manifests.append((path, doc.data))
    elif Rendering() in ways:  # as written, by one way at least
        _as_written(found, path, doc.data, meta, namespace)


IMAGED = (
    "kustomize rewrites the image of any containers or initContainers it holds, at any depth, "
    "its values too"
)
"""Why a document a kustomization with ``images`` renders is not read as written."""


def _rendered_otherwise(data: Any, ways: frozenset[Rendering]) -> str | None:
    """Why the document ``data`` is rendered otherwise than written by one of ``ways``: a
    kustomization that renames it, or sets images where it holds containers; or by a
    directive it holds as a patch (``$patch: delete``); else None."""
    renamed = sorted(way.renamed for way in ways if way.renamed)
    if renamed:
        return f"{renamed[0]}: its name is rendered otherwise"
    imaged = sorted(way.imaged for way in ways if way.imaged)
    if imaged and _holds_containers(data):
        return f"{imaged[0]}: {IMAGED}"
    directive = _directive(data)
    if directive is not None:
        return (
            f"it holds {directive}, a strategic merge patch's directive: kustomize renders what "
            "it patches otherwise ($patch: delete renders nothing of it)"
        )
    return None


DIRECTIVES = ("$patch", "$retainKeys", "$deleteFromPrimitiveList/", "$setElementOrder/")
"""The keys (or their beginnings) by which a strategic merge patch says how to merge, not what
to set."""


def _directive(data: Any) -> str | None:
    """The first key of ``DIRECTIVES`` ``data`` holds at any depth, or None."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key in value:
                if isinstance(key, str) and key.startswith(DIRECTIVES):
                    return key
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _holds_containers(data: Any) -> bool:
    """Whether ``data`` holds a ``containers`` or ``initContainers`` field at any depth, where
    kustomize's ``images`` rewrites an ``image`` (``imagetag.LegacyFilter``)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "containers" in value or "initContainers" in value:
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _as_written(
    found: Found, path: str, data: Any, meta: dict[str, Any], namespace: str | None
) -> None:
    """A document of the object rendered in the namespace it writes, if it writes one."""
    if "namespace" not in meta and namespace is not None:
        found.unplaced.append((path, data))
    elif meta.get("namespace") == namespace:
        found.manifests.append((path, data))


class ManifestReader:
    """The manifests of commits' trees; trees and files read once each."""

    def __init__(self, history: GitHistory) -> None:
        self._history = history
        self._index = TreeIndex(history)
        self._reader = BatchReader(history)
        self._files: dict[str, list[tuple[str, str]]] = {}
        self._blobs: dict[tuple[str, tuple[bytes, ...]], bytes | None] = {}
        self._read: dict[bytes, list[Document] | Unreadable] = {}

    def __enter__(self) -> ManifestReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._index.close()
        self._reader.close()

    def find(
        self,
        commit: str,
        target: Target,
        within: Scope | None = None,
    ) -> Found:
        """The documents of ``target`` (its group's kind, name and namespace) that
        ``commit``'s tree holds in ``SUFFIXES`` files; only in the files ``within`` names,
        where given (those a tool applies: ``applied``). One in a Helm template holding
        ``{{`` is unreadable: Helm renders it as values say, or not at all."""
        group, kind, name, namespace = target.group, target.kind, target.name, target.namespace
        found = Found()
        words = (kind.encode(), name.encode())
        files = None if within is None else within.files
        templated = set() if within is None else within.templates
        rendered = {} if within is None else within.rendered
        for path, data in self._mentioning(commit, words, files):
            try:
                docs = self._documents(data)
            except Unreadable as exc:
                spelt = "" if all(w in data for w in words) else "escapes or UTF-16 may spell it: "
                found.unreadable.append((path, f"{spelt}{exc}"))
                continue
            template = path in templated and b"{{" in data
            ways = rendered.get(path, frozenset({Rendering()}))
            for doc in docs:
                if doc.names(group, kind, name):
                    _place(found, path, doc, namespace, ways if not template else None)
        return found

    def applied(self, commit: str, folder: Folder) -> Scope:
        """The files of ``commit``'s tree that ``folder`` applies (``manifest_scope``);
        ``Unfollowed`` where that cannot be known."""
        revision = folder.revision
        if revision is not None and self._history.resolve([revision]).get(revision) is None:
            raise Unfollowed(
                f"it last applied revision {revision}, which is no commit of this repository: "
                "it applies another repository's files"
            )
        files = dict(self._tree_files(commit))

        def text(path: str) -> bytes:
            (_, _, data), *_ = self._reader.read([files[path]])
            return data

        def read(path: str) -> list[Any]:
            try:
                return [doc.data for doc in self._documents(text(path))]
            except Unreadable as exc:
                raise Unfollowed(f"{path} cannot be read ({exc})") from None

        return manifest_scope.applied(files, folder, read, text)

    def holding(
        self, commit: str, word: bytes, within: Scope | None
    ) -> Iterator[tuple[str, list[Document] | Unreadable]]:
        """Each file ``within`` names (every one, where None) in ``commit``'s tree that may
        hold ``word``, with its documents, or why it cannot be read: a Helm template holding
        ``{{`` (``TEMPLATED``) renders as values say."""
        files = None if within is None else within.files
        templates = frozenset() if within is None else within.templates
        for path, data in self._mentioning(commit, (word,), files):
            if path in templates and b"{{" in data:
                yield path, Unreadable(TEMPLATED)
                continue
            try:
                yield path, self._documents(data)
            except Unreadable as exc:
                yield path, exc

    def links(self, commit: str, folder: str, within: Scope) -> list[str]:
        """The symbolic links of ``commit``'s tree below ``folder`` or beside a file of
        ``within``: Argo CD's directory source and kustomize read the file a link inside the
        repository names, which the trees read here leave out."""
        start = manifest_scope.clean(folder)
        beside = {p.rpartition("/")[0] for p in within.files | within.kustomizations}
        return sorted(
            link
            for link in symbolic_links(self._history, commit)
            if link.rpartition("/")[0] in beside or not start or link.startswith(f"{start}/")
        )

    def patching(self, commit: str, target: Target) -> list[str]:
        """The files of ``commit``'s tree with a kustomization, a patch transformer or a Flux
        Kustomization whose patches or replacements may select ``target``
        (``manifest_patches``), or that cannot be read and name its kind: kustomize renders
        its manifest otherwise than written."""
        found = []
        seen: dict[str, bytes] = {}
        for words in ((b"patch",), (b"Patch",), (b"eplacement",)):
            seen.update(self._mentioning(commit, words))
        for path, data in sorted(seen.items()):
            try:
                docs = self._documents(data)
            except Unreadable:
                if target.kind.encode() in data:
                    found.append(path)
                continue
            if any(patching(d.data, path) and selects(d.data, target) for d in docs):
                found.append(path)
        return found

    def submodules(self, commit: str) -> bool:
        """Whether ``commit``'s tree declares git submodules (``.gitmodules``): Argo CD
        checks them out, as Flux does with ``recurseSubmodules``, and what they hold is in
        no object of this repository."""
        return any(
            name == ".gitmodules" and not is_tree
            for name, _, is_tree in self._index.entries(self._index.root(commit))
        )

    def _documents(self, data: bytes) -> list[Document]:
        """``documents(data)``, each file's read once however many commits hold it."""
        if data not in self._read:
            try:
                self._read[data] = documents(data)
            except Unreadable as exc:
                self._read[data] = exc
        held = self._read[data]
        if isinstance(held, Unreadable):
            raise held
        return held

    def _mentioning(
        self, commit: str, words: tuple[bytes, ...], within: frozenset[str] | None = None
    ) -> Iterator[tuple[str, bytes]]:
        """Each ``SUFFIXES`` file of ``commit`` (of those ``within`` names, where given) whose
        bytes may hold every one of ``words``: they do, or the file may spell them otherwise
        (``SPELT``); of the others nothing is kept (a tree's ``package-lock.json``)."""
        files = [
            f
            for f in self._tree_files(commit)
            if (f[0] in within if within is not None else not f[0].endswith(HELMIGNORE))
            and not f[0].lower().endswith(JSONNET)
        ]
        wanted = sorted({blob for _, blob in files if (blob, words) not in self._blobs})
        for blob, _, data in self._reader.read(wanted):
            read = all(w in data for w in words) or SPELT.search(data) is not None
            self._blobs[blob, words] = data if read else None
        for path, blob in files:
            held = self._blobs[blob, words]
            if held is not None:
                yield path, held

    def _tree_files(self, commit: str) -> list[tuple[str, str]]:
        if commit not in self._files:
            files, stack = [], [("", self._index.root(commit))]
            while stack:
                prefix, tree = stack.pop()
                for entry, sha, is_tree in self._index.entries(tree):
                    if is_tree:
                        stack.append((f"{prefix}{entry}/", sha))
                    elif entry.lower().endswith((*SUFFIXES, JSONNET)) or entry in (
                        *KUSTOMIZATION_FILES,
                        HELMIGNORE,
                    ):
                        files.append((f"{prefix}{entry}", sha))
            self._files[commit] = sorted(files)
        return self._files[commit]
