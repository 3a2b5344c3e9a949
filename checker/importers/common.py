"""What every importer shares: reading a tool's JSON, logins as addresses, and appending
contract records to an evidence file without duplicating what is there.

An evidence file is audit evidence. Every record an import writes names the import
(``source``). Importing the same thing twice is a no-op. Importing something else under an id
already taken is an input error naming both, except for importers whose source legitimately
changes after the fact (a review dismissed after the merge, a login mapped in identities.yaml
since, a deployment that has finished since): those replace a record that they wrote
themselves in place and keep the old one, with what changed, in ``superseded.jsonl`` beside it.
A record another import wrote, or a person (no ``source``), is never replaced.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from checker.errors import InputError, UsageError
from checker.evidence import jsonread
from checker.evidence.bundle import KIND_BY_NAME, TRACE, Kind, find_file
from checker.evidence.files import Located, parse_records, read_text, validate
from checker.evidence.git import GitHistory
from checker.evidence.identities import IdentityResolver
from checker.evidence.merges import Landing, unmerged_landings
from checker.evidence.models import COMMIT_NAME, REF_NAME, Review, check_timestamp, timestamp_ns
from checker.evidence.trailers import coauthor_lines
from checker.writer import write_atomic

"""A name shaped like an object id, abbreviated or whole: a commit, not a branch or tag."""


def named_ref(value: object, commit: str = "") -> str | None:
    """The branch or tag a deploy tool names for a deployment, for the record's ``ref``: None
    when it names none, names a commit (the deployed one, or anything shaped like an object
    id: a deployment asked for by sha), names ``HEAD`` (no branch or tag at all), or is not a
    name git allows. Never an error: a ref is never judged, so the record stays importable."""
    if not isinstance(value, str) or not value or value == "HEAD" or commit.startswith(value):
        return None
    if COMMIT_NAME.fullmatch(value):
        return None
    return value if REF_NAME.fullmatch(value) else None


@dataclass
class Imported:
    """The records, and why the approvals left out were left out."""

    reviews: list[Review] = field(default_factory=list)
    skipped_unmerged: int = 0
    counted: int = 0
    left_out: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    """Approvals counted with a qualification worth saying (e.g. recorded with a commit)."""
    unmapped: set[str] = field(default_factory=set)
    remarks: list[str] = field(default_factory=list)
    """What the import noticed about its input and settled, each to be said on a line."""
    landings_left_out: Counter[str] = field(default_factory=Counter)
    """Merge and squash commits not credited to their change, by why (``credited``)."""


def once_each(
    items: list[dict[str, Any]], key: str, label: Callable[[Any], str], source: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """``items`` with each ``key`` once, and what was said about those listed more than once.

    A list read page by page while it changed (``gh api --paginate``, a page cursor) shows an
    item that moved on two pages: identical copies are one; of different ones, the one updated
    last (``updated_at``) is kept, where it was first listed. Different copies that do not say
    which is later are refused."""
    kept: dict[Any, dict[str, Any]] = {}
    times: dict[Any, int] = {}
    said: list[str] = []
    for item in items:
        name = item[key]
        what = label(name)
        times[name] = times.get(name, 0) + 1
        if name not in kept or kept[name] == item:
            kept.setdefault(name, item)
            continue
        old, new = str(kept[name].get("updated_at")), str(item.get("updated_at"))
        try:
            later = moment(new, source, "updated_at") - moment(old, source, "updated_at")
        except InputError:
            later = 0
        if later == 0:
            raise InputError(
                f"{what} is listed twice, differently, and neither copy says it was "
                "updated later: which one is current cannot be told",
                path=str(source),
                hint="fetch the list again",
            )
        if later > 0:
            kept[name] = item
        said.append(
            f"{source}: {what} is listed twice, differently: the one updated at "
            f"{kept[name].get('updated_at')} is kept"
        )
        times[name] = 0  # said
    for name, count in times.items():
        if count > 1:
            said.append(
                f"{source}: {label(name)} is listed {count} times (the list changed while its "
                "pages were read): imported once"
            )
    return list(kept.values()), said


class Logins:
    """GitHub logins to the addresses identities.yaml gives their people."""

    def __init__(self, identities: IdentityResolver, people: dict[str, list[str]]) -> None:
        self._identities = identities
        self._address: dict[str, str] = {}
        for names in people.values():
            email = next((n for n in names if "@" in n), None)
            for name in names:
                if email and "@" not in name:
                    self._address[name.lower()] = email
        self.unmapped: set[str] = set()

    def address(self, login: str) -> str:
        found = self._address.get(login.lower())
        if found is None:
            self.unmapped.add(login)
            return login
        return found

    def mapped(self, login: str) -> str | None:
        """The address identities.yaml gives ``login``'s person, or None; unlike ``address``,
        for a login that is never recorded, so it is not named as unmapped."""
        return self._address.get(login.lower())

    def person(self, name: str) -> str:
        return self._identities.resolve(name)

    def unnamed(self, writers: list[tuple[str, str, Any]]) -> str:
        """Why one of a change's writers names nobody, or empty when each names someone:
        ``writers`` are (commit, role, address) as the forge lists its commits (an address not
        given is skipped). A commit written from ``dana@laptop`` may be by any approver, so no
        approval of the change counts, as REVIEW-002 says when it reads the commit in git; it
        cannot once a squashed branch's commits are gone from the clone it reads."""
        for commit, role, value in writers:
            if not isinstance(value, str):
                continue
            found = self._identities.identify(value)
            if found.identity is None:
                return (
                    f"commit {commit[:12]} of the change has a {role} who is not an identity: "
                    f"{value!r} ({found.unresolved})"
                )
        return ""


def commit_writers(sha: str, addresses: dict[str, Any], message: Any) -> list[tuple[str, str, Any]]:
    """(commit, role, address) of each writer of one commit of a change, for
    ``Logins.unnamed``: ``addresses`` by role (its author's and committer's, as the forge
    lists them), and each co-author a ``Co-authored-by:`` line of its ``message`` names."""
    lines = coauthor_lines(message if isinstance(message, str) else "")
    return [(sha, role, value) for role, value in addresses.items()] + [
        (sha, "co-author", value) for _, value in lines
    ]


def _read_values(path: Path, what: str) -> list[Any]:
    """The JSON values of a file, written back to back; Gerrit's ``)]}'`` guard line is
    skipped."""
    data = read_text(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text; expected {what}", path=str(path)) from None
    if text.startswith(")]}'"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    values = _json_values(text, path, what)
    if not values:
        raise InputError(f"empty; expected {what}", path=str(path))
    return values


def read_json(path: Path, what: str) -> Any:
    """One JSON document, or several written back to back (``gh api --paginate`` writes one
    array per page), as one list. Gerrit's ``)]}'`` guard line is skipped."""
    values = _read_values(path, what)
    if len(values) == 1:
        refuse_api_error(values[0], path, what)
        return values[0]
    if all(isinstance(v, list) for v in values):
        return [item for page in values for item in page]
    raise InputError(f"several JSON documents; expected {what}", path=str(path))


def refuse_api_error(value: Any, path: Path, what: str) -> None:
    """A forge's error body saved in place of the answer (``gh api`` and ``curl`` write it
    to the file as they would the answer): GitHub's ``{"message": "Not Found",
    "documentation_url": ...}``, GitLab's ``{"message": "404 Not Found"}`` or ``{"error":
    ..., "error_description": ...}``. Named as what it is, rather than read as an answer
    that lacks every field."""
    if not isinstance(value, dict) or not value:
        return
    github = {"message", "documentation_url"} <= value.keys() <= _GITHUB_ERROR
    gitlab = value.keys() <= _GITLAB_ERROR and ("message" in value or "error" in value)
    if github or gitlab:
        said = value.get("message") or value.get("error_description") or value.get("error")
        raise InputError(
            f"holds an API error, not {what}: {str(said)[:200]!r}; the request failed when "
            "the file was saved: save it again",
            path=str(path),
        )


_GITHUB_ERROR = frozenset({"message", "documentation_url", "status", "errors"})
_GITLAB_ERROR = frozenset({"message", "error", "error_description", "scope"})


def _json_values(text: str, path: Path, what: str) -> list[Any]:
    """The JSON values of a text, written back to back."""
    values: list[Any] = []
    position = 0
    while True:
        position = jsonread.skip_space(text, position)
        if position == len(text):
            return values
        try:
            value, position = jsonread.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not JSON ({exc.msg}); expected {what}", path=str(path), line=exc.lineno
            ) from None
        except ValueError as exc:
            line = text.count("\n", 0, position) + 1
            raise InputError(
                f"not JSON ({exc}); expected {what}", path=str(path), line=line
            ) from None
        values.append(value)


@dataclass(frozen=True)
class Documents:
    """Every JSON value of a file, with the line each starts on, and where a last value was cut
    off part-way (a run killed while it wrote its last line), if one was."""

    values: list[tuple[Any, int]]
    cut_at: int | None


def read_documents(path: Path, what: str) -> Documents:
    """The JSON values of ``path`` written back to back: one a line (an event stream, ``gerrit
    query --format=JSON``) or one a page (``curl`` of several pages). A ``)]}'`` guard line
    before a value is skipped. Only the last value may be cut off; the caller decides whether
    that is acceptable."""
    data = read_text(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text; expected {what}", path=str(path)) from None
    values: list[tuple[Any, int]] = []
    position, line = 0, 1
    while True:
        start, position = position, jsonread.skip_space(text, position)
        line += text.count("\n", start, position)
        if text.startswith(")]}'", position):
            position = text.find("\n", position)
            if position < 0:
                break
            continue
        if position == len(text):
            break
        try:
            value, end = jsonread.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            if values and "\n" not in text[position:].rstrip("\n"):
                return Documents(values, line)
            raise InputError(
                f"not JSON ({exc.msg}); expected {what}", path=str(path), line=exc.lineno
            ) from None
        except ValueError as exc:
            raise InputError(
                f"not JSON ({exc}); expected {what}", path=str(path), line=line
            ) from None
        values.append((value, line))
        line += text.count("\n", position, end)
        position = end
    if not values:
        raise InputError(f"empty; expected {what}", path=str(path))
    return Documents(values, None)


def read_pages(path: Path, what: str) -> list[list[Any]]:
    """The pages of a saved list of ``what``: one JSON array, several written back to back
    (``gh api --paginate``, pages appended by ``curl``), or arrays of them (``gh api
    --paginate --slurp``), pages appended after them too."""
    values = _read_values(path, what)
    expect(all(isinstance(v, list) for v in values), path, f"expected a JSON array of {what}")
    pages: list[list[Any]] = []
    for value in values:
        slurped = bool(value) and all(isinstance(page, list) for page in value)
        pages.extend(value if slurped else [value])
    return pages


def read_list(path: Path, what: str) -> list[Any]:
    """A JSON array of ``what`` (pages written back to back, or slurped, are joined)."""
    return [item for page in read_pages(path, what) for item in page]


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a level is missing or not a mapping: tools' JSON
    leaves optional parts out, or null."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def moment(value: Any, path: Path, what: str) -> int:
    """An RFC 3339 timestamp from the tool's output, or an input error naming the field."""
    try:
        return timestamp_ns(check_timestamp(str(value)))
    except ValueError as exc:  # why: no zone, out of range, not a timestamp at all
        raise InputError(f"{what}: {exc}", path=str(path)) from None


def option_moment(value: str, option: str) -> int:
    """An RFC 3339 timestamp given on the command line, or a usage error naming the option
    once (``moment`` named it as a file too: ``--since: --since: ...``)."""
    try:
        return timestamp_ns(check_timestamp(value))
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def expect(condition: bool, path: Path, message: str) -> None:
    """Refuse input that is not the tool's documented shape."""
    if not condition:
        raise InputError(message, path=str(path))


def optional(value: Any, kind: type | tuple[type, ...], path: Path, message: str) -> Any:
    """``value``, when it is None or of ``kind``; else the input error ``message``: a field
    a tool may leave out, but never writes in another shape."""
    expect(value is None or isinstance(value, kind), path, message)
    return value


def check_change_commits(
    history: GitHistory | None,
    head: str,
    listed: list[str],
    source: Path,
    what: str,
    base: str | None = None,
) -> None:
    """A change's commit list, as a forge lists it, holds the change's head, and every commit
    in it that the repository has is that head or an ancestor of it, and no ancestor of the
    change's ``base`` (the branch it was opened on): a list saved from another change, or from
    the branch, would have one approval cover commits nobody reviewed. Commits the repository
    lacks (a squashed branch never fetched) are not checked; nor is the base, where it holds
    the head (a base recorded after the merge)."""
    expect(
        head in listed,
        source,
        f"{what}'s head {head[:12]} is not among the commits listed: this is not {what}'s "
        "commit list",
    )
    if history is None:
        return
    resolved = history.resolve([*listed, *([base] if base else [])])
    tip = resolved.get(head)
    if tip is None:
        return
    known = {found for sha in listed if (found := resolved.get(sha))}
    stray = known - history.first_reaching([tip], known).keys()
    below = resolved.get(base) if base else None
    if below is not None and tip not in history.first_reaching([below], {tip}):
        stray |= history.first_reaching([below], known).keys()
    expect(
        not stray,
        source,
        f"commit {min(stray)[:12] if stray else ''} is listed, but it is not in {what}'s own "
        f"history (its head {head[:12]} and the ancestors of it that its base does not hold): "
        f"this is not {what}'s commit list",
    )


def credited(history: GitHistory | None, landings: list[Landing], result: Imported) -> set[Landing]:
    """The landings whose commit a change's approvals may cover: those that hold git's own
    merge of what they merge (``checker.evidence.merges``). The rest are counted, by why, in
    ``result.landings_left_out``; left out of the record, each is judged as a commit of
    whoever made it."""
    verdicts = unmerged_landings(history, landings)
    for why in verdicts.values():
        if why:
            result.landings_left_out[why] += 1
    return {landing for landing, why in verdicts.items() if not why}


@dataclass(frozen=True)
class Appended:
    """What an import did to the evidence file."""

    path: Path
    added: list[str]
    already: list[str]
    updated: list[str] = field(default_factory=list)


SUPERSEDED = TRACE
"""Records an import replaced, oldest first, in the evidence directory; no check reads it."""


def _evidence_file(directory: Path, kind_name: str) -> tuple[Kind, Path, bytes]:
    """The kind, the directory's file of it (``KIND.jsonl`` when there is none yet), and its
    bytes (none for a new file)."""
    if not directory.is_dir():
        raise UsageError(
            f"evidence directory not found: {directory}",
            hint="create it, or pass --evidence DIR",
        )
    kind = KIND_BY_NAME[kind_name]
    path = find_file(directory, kind) or directory / f"{kind.name}.jsonl"
    return kind, path, read_text(path) if path.is_file() else b""


def read_objects(
    path: Path,
    what: str,
    kind: str,
    fits: Callable[[dict[str, Any]], bool],
    *,
    listing: str | None = None,
) -> list[dict[str, Any]]:
    """The Kubernetes objects in a file as ``kubectl get -o json`` prints them (a ``List``), as
    a JSON array, or one object alone; an item that does not ``fit`` is refused, naming it.
    With ``listing`` (what a whole listing holds), only a list is accepted: one object alone
    (``kubectl get pod NAME``) or an array (a ``jq`` filter's) says nothing of the objects left
    out of it. One page of a longer list (the API's ``metadata.continue`` set) is refused
    either way."""
    document = read_json(path, what)
    items = document.get("items") if isinstance(document, dict) else None
    if isinstance(items, list):
        _whole_list(document, path, what)
    elif listing is not None:
        shown = "a JSON array" if isinstance(document, list) else "one object alone"
        raise InputError(
            f"{shown} is not a listing of {listing}: what was left out of it is not seen; "
            f"expected {what}",
            path=str(path),
        )
    else:
        items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items, start=1):
        expect(
            isinstance(item, dict)
            and isinstance(dig(item, "metadata", "name"), str)
            and fits(item),
            path,
            f"item #{index} is not {kind}; expected {what}",
        )
    return list(items)


def _whole_list(document: dict[str, Any], path: Path, what: str) -> None:
    """Refuse one page of a list the API served in chunks (``GET ...?limit=N``): its
    ``metadata.continue`` says more objects follow (``remainingItemCount`` how many, where
    the request had no selector). kubectl follows every page itself and prints no
    ``continue``."""
    meta = document.get("metadata")
    token = meta.get("continue") if isinstance(meta, dict) else None
    left = meta.get("remainingItemCount") if isinstance(meta, dict) else None
    if not token and not left:
        return
    more = f"{left} more objects" if isinstance(left, int) and left > 0 else "more objects"
    raise InputError(
        f"one page of a longer list: metadata.continue is set, so {more} were not in it and "
        f"nothing here says what they are; expected {what}",
        path=str(path),
        hint="list with kubectl get (it fetches every page), or follow continue until the "
        "API returns none and merge the items into one list",
    )


def append_records(
    directory: Path,
    kind_name: str,
    key: str,
    records: list[BaseModel],
    *,
    source: str,
    update: bool = False,
    older: Callable[[dict[str, Any], dict[str, Any]], str | None] | None = None,
) -> Appended:
    """Append ``records``, each marked as written by import ``source``, to the directory's file
    of that kind (``deploys.jsonl`` when there is none yet), skipping those already there. A
    record whose ``key`` is taken by another is refused, or with ``update`` replaces it in place
    when the same import wrote it, the old one kept in ``superseded.jsonl``; unless ``older``
    says why the new record is older than the one it would replace (read from a source saved
    before the one imported earlier), which is refused: an update never goes back."""
    kind, path, data = _evidence_file(directory, kind_name)
    plan = _Plan(kind, path, _by_key(data, path, key), source, update, older)
    for record in records:
        plan.take(record.model_copy(update={"source": source}), key)
    added, already, fresh, replaced = plan.added, plan.already, plan.fresh, plan.replaced
    text = data.decode("utf-8")
    if replaced:
        text = _replaced(text, path, replaced, kind)
    if fresh:
        text = _appended(text, path, fresh, kind)
    # Only once the new file is known good: the trace first, so that no replaced record is
    # ever lost, then the evidence file.
    if replaced:
        _keep_superseded(directory, kind_name, key, list(replaced.values()))
    if fresh or replaced:
        write_atomic(path, text, replacing_input=True)
    updated = sorted(str(new[key]) for _, new in replaced.values())
    return Appended(path, added, already, updated)


@dataclass
class _Plan:
    """What an import does with each record: add it, find it already there, or replace the
    record under its id that the same import wrote (``update``); anything else is refused."""

    kind: Kind
    path: Path
    existing: dict[str, tuple[dict[str, Any], int]]
    source: str
    update: bool
    older: Callable[[dict[str, Any], dict[str, Any]], str | None] | None = None
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    fresh: list[dict[str, Any]] = field(default_factory=list)
    replaced: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    _taken: set[str] = field(default_factory=set)
    """The names of ``fresh``, to find a second record of one without a pass over them."""

    def take(self, record: BaseModel, key: str) -> None:
        plain = record.model_dump(mode="json", exclude_none=True)
        name = str(plain[key])
        if name in self.existing:
            self._over(record, plain, name)
            return
        if name in self._taken:
            raise InputError(
                f"{self.kind.what} {name!r} appears twice in this import", path=str(self.path)
            )
        self._taken.add(name)
        self.fresh.append(plain)
        self.added.append(name)

    def _over(self, record: BaseModel, plain: dict[str, Any], name: str) -> None:
        """``record`` where the file already holds one under its id."""
        old, line = self.existing[name]
        was = validate(self.kind.model, Located(old, line), self.path, self.kind.what)
        theirs = getattr(was, "source", None)
        # A record written before imports named themselves, the same but for that, is there.
        if was in (record, record.model_copy(update={"source": theirs})):
            self.already.append(name)
        elif self.update and theirs == self.source and line not in self.replaced:
            self._refuse_older(old, plain, name, line)
            self.replaced[line] = (dict(old), plain)
        else:
            raise _clash(self.kind, name, theirs, self.source, self.path, line)

    def _refuse_older(self, old: dict[str, Any], new: dict[str, Any], name: str, line: int) -> None:
        """Refuse to replace ``old`` by ``new`` when ``new`` is older: re-importing an export
        saved earlier would undo, say, a failure recorded since, and the check would pass."""
        why = self.older(old, new) if self.older else None
        if why:
            raise InputError(
                f"{self.kind.what} {name!r}: {why}, so what this import read is older than what "
                f"an earlier import recorded; import {self.source} brings a record up to date, "
                "never back",
                path=str(self.path),
                line=line,
                hint="import what the tool shows now (save its output again, or fetch it)",
            )


def recorded(directory: Path, kind_name: str, key: str) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The directory's file of that kind, and every record in it by its ``key``."""
    _, path, data = _evidence_file(directory, kind_name)
    return path, {name: record for name, (record, _) in _by_key(data, path, key).items()}


_Record = TypeVar("_Record", bound=BaseModel)


def as_recorded(
    new: list[_Record],
    key: str,
    existing: tuple[Path, dict[str, dict[str, Any]]],
    source: str,
    same: Callable[[str], Hashable],
    what: str,
) -> list[_Record]:
    """``new`` records, each under the ``key`` of the record ``source`` (an importer) wrote
    earlier of the same thing: ``same`` gives what every spelling of its name shares (a forge
    gives a repository's name as it is spelt now, and a name spelt otherwise went in beside its
    record, past the check that an import never goes back). ``existing``: the evidence file
    and its records by ``key``; ``what``, what a record is of. Two such records already there
    (written before records were matched so) are refused: which is up to date cannot be
    told."""
    path, records = existing
    spelt: dict[Hashable, list[str]] = {}
    for name, record in records.items():
        if record.get("source") == source:
            spelt.setdefault(same(name), []).append(name)
    result = []
    for item in new:
        name = getattr(item, key)
        names = spelt.get(same(name), [])
        if len(names) > 1:
            raise InputError(
                f"{what} {name} is recorded more than once, as {' and '.join(sorted(names))}: "
                "which record is up to date cannot be told",
                path=str(path),
                hint="remove all but the latest by hand, then import again",
            )
        result.append(item.model_copy(update={key: names[0]}) if names else item)
    return result


def _by_key(data: bytes, path: Path, key: str) -> dict[str, tuple[dict[str, Any], int]]:
    """The file's records by their ``key``, each with its line."""
    existing = {}
    for item in parse_records(data, path) if data.strip() else []:
        if isinstance(item.value, dict) and key in item.value:
            existing[str(item.value[key])] = (item.value, item.line)
    return existing


def _clash(
    kind: Kind, name: str, theirs: str | None, source: str, path: Path, line: int
) -> InputError:
    """Why a record cannot take the place of the one already under its id."""
    if theirs == source:
        return InputError(
            f"{kind.what} {name!r} is already recorded, differently; an import never "
            "rewrites evidence",
            path=str(path),
            line=line,
            hint="remove or correct the old record by hand if it is wrong",
        )
    by = (
        f"was recorded by import {theirs}"
        if theirs
        else "is already recorded by hand or by an earlier import (it names no source)"
    )
    return InputError(
        f"{kind.what} {name!r} {by}, differently; import {source} never replaces a record "
        "that it did not write itself",
        path=str(path),
        line=line,
        hint=f"if both are right, they are two records: give them different ids; if import "
        f"{source} wrote the old one before imports named themselves, add 'source: {source}' "
        "to it",
    )


def append_series(directory: Path, kind_name: str, records: list[BaseModel]) -> Appended:
    """Append records that have no id (observations: a time series), skipping those already
    there exactly; importing the same listing twice adds nothing."""
    kind, path, data = _evidence_file(directory, kind_name)
    existing = [
        validate(kind.model, item, path, kind.what)
        for item in (parse_records(data, path) if data.strip() else [])
    ]
    fresh = [r.model_dump(mode="json", exclude_none=True) for r in records if r not in existing]
    if fresh:
        write_atomic(path, _appended(data.decode("utf-8"), path, fresh, kind), replacing_input=True)
    names = [f"{r.get('host')}@{r.get('observed_at')}" for r in fresh]
    return Appended(path, names, [str(i) for i in range(len(records) - len(fresh))])


def _replaced(
    text: str, path: Path, replaced: dict[int, tuple[dict[str, Any], dict[str, Any]]], kind: Kind
) -> str:
    """``text`` with the records starting at the given lines replaced, the rest byte for byte."""
    lines = text.splitlines(keepends=True)
    items = parse_records(text.encode("utf-8"), path)
    starts = [item.line for item in items]
    expected = [replaced[item.line][1] if item.line in replaced else item.value for item in items]
    # Each record runs from its first line to the next record's (YAML) or is one line (JSONL).
    for index in sorted(range(len(items)), reverse=True):
        line = starts[index]
        if line not in replaced:
            continue
        new = replaced[line][1]
        if path.suffix == ".jsonl":
            end = line
            block = json.dumps(new, ensure_ascii=False) + "\n"
        else:
            end = starts[index + 1] - 1 if index + 1 < len(starts) else len(lines)
            block = yaml.safe_dump([new], sort_keys=False, allow_unicode=True)
        lines[line - 1 : end] = [block]
    result = "".join(lines)
    try:
        after = parse_records(result.encode("utf-8"), path)
    except InputError:
        after = []
    if [i.value for i in after] != expected:
        raise InputError(
            f"cannot update a {kind.what} in this file as written; a YAML list must be a block "
            "sequence ('- ' items at the left margin)",
            path=str(path),
            hint="or convert the file to JSON Lines",
        )
    return result


def _keep_superseded(
    directory: Path,
    kind_name: str,
    key: str,
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """Append each replaced record, with the names of the fields that changed, to the
    directory's ``superseded.jsonl``: the trace of what an import rewrote."""
    path = directory / SUPERSEDED
    old_text = read_text(path).decode("utf-8") if path.is_file() else ""
    if old_text and not old_text.endswith("\n"):
        old_text += "\n"
    lines = []
    for old, new in sorted(pairs, key=lambda pair: str(pair[1][key])):
        changed = sorted(f for f in set(old) | set(new) if old.get(f) != new.get(f))
        entry = {"kind": kind_name, "id": str(new[key]), "changed": changed, "was": old}
        lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    write_atomic(path, old_text + "".join(lines), replacing_input=True)


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
