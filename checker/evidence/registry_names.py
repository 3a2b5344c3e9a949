"""Every path the repository's own options file ever named as its flag registry.

git's ``--follow`` finds the registry's versions under its earlier names only where git
sees a rename. A registry deleted in one commit and written under another name in a later one
(or renamed and rewritten past git's similarity threshold) is no rename: the versions under the
old name, with the retirements they hold, vanished, and a retired flag written into the new
registry as active, with a new purpose, passed (Knight Capital's Power Peg, exactly). Where
the registry's history begins after the history itself does, every path ``knightwatch.yaml``
named as ``flags_file`` in any of its versions, and the default path wherever a version did
not name one (or before there was a ``knightwatch.yaml``), is walked too. Names can only add
versions, and so findings: a path that holds no registry adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import yaml

from checker.errors import InputError
from checker.evidence.files import parse_yaml, parse_yaml_text
from checker.parameters import DEFAULT_FLAGS_FILE, registry_path

CONFIG_NAME = "knightwatch.yaml"
"""The options file at the repository's root."""


def named(versions: Iterable[bytes | None], before_first: bool) -> set[str]:
    """The registry paths named by ``versions`` (each version's bytes, None where the file
    was deleted), and the default where one names none; ``before_first``: the history has
    commits before the options file's first version (the default held there)."""
    paths = {DEFAULT_FLAGS_FILE} if before_first else set()
    for data in versions:
        paths |= _named(data) or {DEFAULT_FLAGS_FILE}
    return {path for path in paths if _plain_path(path)}


def _named(data: bytes | None) -> set[str]:
    """The ``flags_file`` one version names, read both ways (the module's rule): empty where
    it names none (or cannot be read: a file that does not parse configured nothing)."""
    if data is None:
        return set()
    found = set()
    for document in readings(data, CONFIG_NAME):
        value = document.get("flags_file") if isinstance(document, dict) else None
        if isinstance(value, str):
            found.add(value)
    return found


def readings(data: bytes | str, path: str) -> list[Any]:
    """The document ``data`` holds as a run reads a YAML file (``checker.evidence.files``: no
    implicit dates, so ``2024-02-30`` unquoted is a string) and as YAML's usual reader reads it
    (where a run refuses it: a key given twice, the last), each where it parses. Read the
    usual way alone, an unquoted date no calendar has hid what a run reads."""
    found = []
    for read in (_as_run_reads, _as_yaml_reads):
        try:
            found.append(read(data, path))
        except (yaml.YAMLError, InputError, ValueError):
            continue
    return found


def _as_run_reads(data: bytes | str, path: str) -> Any:
    where = PurePosixPath(path)
    return parse_yaml(data, where) if isinstance(data, bytes) else parse_yaml_text(data, where)


def _as_yaml_reads(data: bytes | str, path: str) -> Any:
    return yaml.safe_load(data)


def _plain_path(path: str) -> bool:
    """A path ``flags_file`` accepts (``checker.parameters.registry_path``: relative, no
    '..', no pattern or pathspec magic), and no NUL, which no argument to git can hold:
    anything else was never a registry knightwatch read."""
    try:
        registry_path(path)
    except ValueError:
        return False
    return "\0" not in path
