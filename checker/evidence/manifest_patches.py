"""Whether a document of a commit's tree patches an object as kustomize renders it: a
kustomization (``kustomization.yaml``, kustomize's ``Kustomization`` or ``Component``), one of
kustomize's patch or replacement transformers, or a Flux Kustomization whose ``spec.patches``
target it. The object's manifest is then not what is applied: kustomize renders it otherwise
than written, and what the object sets is not shown by the manifest's text.

A target selects by API group, version, kind, name and namespace, each a regular expression
kustomize matches whole, and by label or annotation selectors, which are not read here: a
target that names nothing the object's values rule out may select it. A patch without a target
(an inline strategic merge patch) selects what it names: it may select the object where its
text holds the kind and the name, as written or as YAML reads it (an escape in a quoted
name). A patch in a file of its own is a document of the object
(``ManifestReader.find`` reads it as one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names kustomize reads a directory's kustomization from."""
_PATCHING_KINDS = (
    "Kustomization",
    "Component",
    "PatchTransformer",
    "PatchJson6902Transformer",
    "PatchStrategicMergeTransformer",
    "ReplacementTransformer",
)
_SELECTORS = ("target", "select")
_INLINE = ("patch", "patches", "patchesStrategicMerge")


@dataclass(frozen=True)
class Target:
    """The object a patch may select."""

    group: str
    kind: str
    name: str
    namespace: str | None
    """None where any namespace may be the one a patch selects it by: kustomize applies a
    kustomization's patches before its ``namespace:`` (and Flux a parent's before its
    ``targetNamespace``), so a patch selects by the namespace the manifest had before."""


def patching(document: Any, path: str) -> bool:
    """Whether ``document``, of the file ``path``, is one whose patches kustomize or Flux
    applies to other documents."""
    if path.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES:
        return isinstance(document, dict)
    return isinstance(document, dict) and document.get("kind") in _PATCHING_KINDS


def selects(document: Any, target: Target) -> bool:
    """Whether a patch or replacement anywhere in ``document`` may select ``target``."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
            continue
        if not isinstance(value, dict):
            continue
        chosen = [value[key] for key in _SELECTORS if isinstance(value.get(key), dict)]
        if any(_may_select(selector, target) for selector in chosen):
            return True
        if not chosen and any(_names(value.get(key), target) for key in _INLINE):
            return True
        stack.extend(value.values())
    return False


def _may_select(selector: dict[str, Any], target: Target) -> bool:
    """Whether a kustomize selector may select ``target``: each of group, kind, name and
    namespace (where ``target`` has one) it gives matches whole (a version, labels,
    annotations may match too)."""
    given = {"group": target.group, "kind": target.kind, "name": target.name}
    if target.namespace is not None:
        given["namespace"] = target.namespace
    for key, value in given.items():
        pattern = selector.get(key)
        if pattern in (None, ""):
            continue
        if not isinstance(pattern, str):
            return True
        try:
            if re.fullmatch(pattern, value) is None:
                return False
        except re.error:
            return True
    return True


def _names(value: Any, target: Target) -> bool:
    """Whether an inline patch (or a list of them) holds the object's kind and name."""
    texts = value if isinstance(value, list) else [value]
    return any(isinstance(text, str) and _inline_names(text, target) for text in texts)


def _inline_names(text: str, target: Target) -> bool:
    """Whether an inline patch's text holds the object's kind and name as written, or as
    YAML reads it (an escape spells them otherwise: ``"\\x63heckout"``); one YAML cannot
    read, or that gives a kind or name that is no text, may too."""
    if target.kind in text and target.name in text:
        return True
    try:
        documents = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, ValueError, RecursionError):
        return True
    for document in documents:
        meta = document.get("metadata") if isinstance(document, dict) else None
        if not isinstance(document, dict) or not isinstance(meta, dict):
            continue
        kind, name = document.get("kind"), meta.get("name")
        kind_may = kind == target.kind or not isinstance(kind, str)
        if kind_may and (name == target.name or not isinstance(name, str)):
            return True
    return False
