"""A signed audit's population, read back: every entry well formed, its counts and digest
those of its list, and the same deployments as the report inside it judged.

A signature proves who wrote the population, not that its writer added up right: ``verify``
and ``sample`` check it before anyone draws from it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from checker.errors import VerificationError
from checker.evidence.models import timestamp_ns
from checker.facts.collect import Attested
from checker.facts.population import population_digest
from checker.signing.attestation import month_before
from checker.vocabulary import counted

SHA256 = re.compile(r"^[0-9a-f]{64}$")
OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
TEXT_FIELDS = ("id", "service", "environment", "started_at")
EMPTY = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Population:
    """The deployments an audit judged, as it signed them, and their digest."""

    deployments: tuple[dict[str, Any], ...]
    sha256: str
    commits: int

    @property
    def count(self) -> int:
        """How many deployments it holds."""
        return len(self.deployments)


def _fail(message: str) -> VerificationError:
    return VerificationError("population", message)


def _check_entry(index: int, entry: object) -> str:
    """The entry's id, once every field has its shape; else what is wrong with it."""
    where = f"population entry #{index + 1}"
    if not isinstance(entry, dict):
        raise _fail(f"{where} is not an object")
    for name in TEXT_FIELDS:
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise _fail(f"{where} has no {name}")
    where = f"population entry {entry['id']!r}"
    if not isinstance(entry.get("commit"), str) or not OBJECT_ID.match(entry["commit"]):
        raise _fail(f"{where}: commit is not a full sha")
    start = entry.get("range_start")
    if start is not None and (not isinstance(start, str) or not OBJECT_ID.match(start)):
        raise _fail(f"{where}: range_start is neither null nor a full sha")
    if entry.get("ref") is not None and not isinstance(entry["ref"], str):
        raise _fail(f"{where}: ref is neither null nor text")
    _check_commits(where, entry.get("commits"))
    return str(entry["id"])


def _check_commits(where: str, commits: object) -> None:
    """A count (zero for a deployment of a commit already deployed, or of an older one) and
    a digest; no commits at all has the digest of nothing."""
    if (
        not isinstance(commits, dict)
        or type(commits.get("count")) is not int
        or commits["count"] < 0
        or not isinstance(commits.get("sha256"), str)
        or not SHA256.match(commits["sha256"])
    ):
        raise _fail(f"{where}: commits needs a count (0 or more) and a sha256")
    if commits["count"] == 0 and commits["sha256"] != EMPTY:
        raise _fail(f"{where}: no commits shipped, but a digest of some")


def read_population(predicate: dict[str, Any]) -> Population:
    """The predicate's population, checked: each entry's shape, ids unique and sorted, the
    count, the sum of commits and the digest those of the list, and as many deployments as
    the report judged. Raises VerificationError naming the first thing that does not hold."""
    record = predicate.get("population")
    if record is None:
        raise _fail(
            "the audit records no population (it was signed before audits listed the "
            "deployments they judged); audit the month again to sample from it"
        )
    if not isinstance(record, dict) or not isinstance(record.get("deployments"), list):
        raise _fail("population is not an object with a deployments list")
    deployments = record["deployments"]
    ids = [_check_entry(i, entry) for i, entry in enumerate(deployments)]
    if ids != sorted(set(ids)):
        raise _fail("the deployments are not sorted by id, or an id appears twice")
    total = sum(int(d["commits"]["count"]) for d in deployments)
    report = predicate.get("report") or {}
    judged = (report.get("summary") or {}).get("deployments")
    checks = [
        ("count", record.get("count"), len(deployments)),
        ("commits", record.get("commits"), total),
        ("sha256", record.get("sha256"), population_digest(deployments)),
        ("the report's deployments", judged, len(deployments)),
        ("the statement's deployments", predicate.get("deployments"), len(deployments)),
    ]
    for name, recorded, actual in checks:
        if recorded != actual:
            raise _fail(f"{name} is {recorded!r}, but the list gives {actual!r}")
    return Population(tuple(deployments), str(record["sha256"]), total)


def compare(recorded: Population, now: dict[str, Any]) -> None:
    """The population recomputed by a replay is the one signed; else the first difference."""
    before = {str(d["id"]): d for d in recorded.deployments}
    after = {str(d["id"]): d for d in now["deployments"]}
    for ident in sorted(before.keys() | after.keys()):
        if ident not in after:
            raise VerificationError("replay", f"population: deployment {ident} is no longer judged")
        if ident not in before:
            raise VerificationError("replay", f"population: deployment {ident} is newly judged")
        fields = before[ident].keys() | after[ident].keys()
        changed = sorted(k for k in fields if before[ident].get(k) != after[ident].get(k))
        if changed:
            raise VerificationError(
                "replay", f"population: deployment {ident} differs in {', '.join(changed)}"
            )


def describe(predicate: dict[str, Any]) -> str:
    """What ``verify`` says of the population: consistent, or not recorded (an audit signed
    before audits listed it); an inconsistent one raises."""
    if "population" not in predicate:
        return "not recorded (signed before audits listed the deployments they judged)"
    population = read_population(predicate)
    return (
        f"{counted(population.count, 'deployment')}, "
        f"{counted(population.commits, 'commit')} shipped, sha256 "
        f"{population.sha256}: counts and digest consistent"
    )


def attested(predicate: dict[str, Any], period: str) -> Attested:
    """What a signed monthly audit of ``period`` judged, for the next month's audit chained
    to it. One signed before audits listed their population holds no digest of its records
    either (``earlier``), and the audit chained to it stops: whether those records changed
    since it was signed cannot be known."""
    inputs = (predicate.get("report") or {}).get("inputs") or {}
    head = (inputs.get("repository") or {}).get("head")
    head = head if isinstance(head, str) and OBJECT_ID.match(head) else None
    if predicate.get("population") is None:
        return Attested(period, {}, head=head)
    population = read_population(predicate)
    earlier = predicate.get("earlier")
    return Attested(
        period,
        {
            d["id"]: (d["service"], d["environment"], d["commit"], d["started_at"])
            for d in population.deployments
        },
        earlier=(earlier["count"], earlier["sha256"])
        if isinstance(earlier, dict)
        and type(earlier.get("count")) is int
        and isinstance(earlier.get("sha256"), str)
        else None,
        head=head,
    )


def replayed_late(predicate: dict[str, Any], period: str) -> Attested | None:
    """For a replay of an audit of ``period``: the deployments of the month before it that it
    judged because its chain's attestation had not (its population's entries that started
    before ``period``). A system's audit inside an organisation's attestation records no link
    of its own (the organisation's chain is the link) yet judges such records too: without
    them its replay judged the month without the late record, and an honest audit failed.
    An audit that judged none replays as one without a chain."""
    if predicate.get("population") is None:
        return None
    start = timestamp_ns(f"{period}-01T00:00:00Z")
    population = read_population(predicate)
    late = {d["id"] for d in population.deployments if timestamp_ns(d["started_at"]) < start}
    if predicate.get("previous") is None and not late:
        return None
    return Attested(month_before(period), None, frozenset(late))
