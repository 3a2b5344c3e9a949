"""What every importer shares: reading a tool's JSON, and appending contract records to an
evidence file without duplicating what is there.

An evidence file is audit evidence: a record already in it is never rewritten. Importing the
same thing twice is a no-op; importing something else under an id already taken is an input
error naming both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from checker.errors import InputError, UsageError
from checker.evidence.bundle import KINDS, Kind
from checker.evidence.files import Located, parse_records, read_text, validate
from checker.writer import write_atomic


def read_json(path: Path, what: str) -> Any:
    """One JSON document, or several written back to back (``gh api --paginate`` writes one
    array per page), as one list. Gerrit's ``)]}'`` guard line is skipped."""
    data = read_text(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text; expected {what}", path=str(path)) from None
    if text.startswith(")]}'"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not JSON ({exc.msg}); expected {what}", path=str(path), line=exc.lineno
            ) from None
        values.append(value)
    if not values:
        raise InputError(f"empty; expected {what}", path=str(path))
    if len(values) == 1:
        return values[0]
    if all(isinstance(v, list) for v in values):
        return [item for page in values for item in page]
    raise InputError(f"several JSON documents; expected {what}", path=str(path))


def read_list(path: Path, what: str) -> list[Any]:
    """A JSON array of ``what`` (pages written back to back are joined)."""
    items = read_json(path, what)
    expect(isinstance(items, list), path, f"expected a JSON array of {what}")
    return list(items)


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a level is missing or not a mapping: tools' JSON
    leaves optional parts out, or null."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def expect(condition: bool, path: Path, message: str) -> None:
    """Refuse input that is not the tool's documented shape."""
    if not condition:
        raise InputError(message, path=str(path))


@dataclass(frozen=True)
class Appended:
    """What an import did to the evidence file."""

    path: Path
    added: list[str]
    already: list[str]


def _kind(name: str) -> Kind:
    return next(k for k in KINDS if k.name == name)


def _target(directory: Path, kind: Kind) -> Path:
    existing = [directory / f"{kind.name}{s}" for s in kind.suffixes]
    found = [p for p in existing if p.is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(
            f"more than one {kind.name} file ({names}); keep exactly one", path=str(directory)
        )
    return found[0] if found else directory / f"{kind.name}.jsonl"


def append_records(directory: Path, kind_name: str, key: str, records: list[BaseModel]) -> Appended:
    """Append ``records`` to the directory's file of that kind (``deploys.jsonl`` when there is
    none yet), skipping those already there, refusing those whose ``key`` is taken."""
    if not directory.is_dir():
        raise UsageError(
            f"evidence directory not found: {directory}",
            hint="create it, or pass --evidence DIR",
        )
    kind = _kind(kind_name)
    path = _target(directory, kind)
    data = read_text(path) if path.is_file() else b""
    existing = {}
    for item in parse_records(data, path) if data.strip() else []:
        if isinstance(item.value, dict) and key in item.value:
            existing[str(item.value[key])] = (item.value, item.line)
    added: list[str] = []
    already: list[str] = []
    fresh: list[dict[str, Any]] = []
    for record in records:
        plain = record.model_dump(mode="json", exclude_none=True)
        name = str(plain[key])
        if name in existing:
            old, line = existing[name]
            if validate(kind.model, Located(old, line), path, kind.what) == record:
                already.append(name)
                continue
            raise InputError(
                f"{kind.what} {name!r} is already recorded, differently; an import never "
                "rewrites evidence",
                path=str(path),
                line=line,
                hint="remove or correct the old record by hand if it is wrong",
            )
        if name in {str(f[key]) for f in fresh}:
            raise InputError(f"{kind.what} {name!r} appears twice in this import", path=str(path))
        fresh.append(plain)
        added.append(name)
    if fresh:
        write_atomic(path, _appended(data.decode("utf-8"), path, fresh, kind))
    return Appended(path, added, already)


def _appended(text: str, path: Path, records: list[dict[str, Any]], kind: Kind) -> str:
    if path.suffix == ".jsonl":
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        result = (text if not text or text.endswith("\n") else text + "\n") + lines
    else:
        block = yaml.safe_dump(records, sort_keys=False, allow_unicode=True)
        result = (text if not text or text.endswith("\n") else text + "\n") + block
    # What is written must read back as the old records followed by the new ones.
    try:
        items = parse_records(result.encode("utf-8"), path)
    except InputError as exc:
        raise InputError(
            f"cannot append to this file as written ({exc.message}); a YAML list must be a "
            "block sequence ('- ' items)",
            path=str(path),
        ) from None
    if [i.value for i in items[len(items) - len(records) :]] != records:
        raise InputError("cannot append to this file: it is not a plain list", path=str(path))
    for item in items[len(items) - len(records) :]:
        validate(kind.model, item, path, kind.what)
    return result
