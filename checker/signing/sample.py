"""``knightwatch sample``: a reproducible sample of a verified audit's population, and what
to check for each deployment drawn.

The draw depends on the seed and the population's digest alone: each deployment is ranked by
``sha256("SEED:POPULATION_SHA256:ID")`` (lowercase hex), and the sample is the ``size``
lowest ranks. Anyone can draw it again with ``sha256sum`` (docs/attestation.md)."""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from typing import Any

from checker.errors import UsageError
from checker.report.escape import json_safe, visible
from checker.signing.attestation import Signed
from checker.signing.population import Population, read_population
from checker.vocabulary import counted, short


def rank(seed: str, population_sha256: str, ident: str) -> str:
    """A deployment's place in the draw: lower is drawn first."""
    return hashlib.sha256(f"{seed}:{population_sha256}:{ident}".encode()).hexdigest()


@dataclass(frozen=True)
class Item:
    """One deployment drawn: its signed entry, its rank, and the audit's findings about it."""

    entry: dict[str, Any]
    rank: str
    findings: tuple[dict[str, str], ...]

    @property
    def range(self) -> str:
        """The range of commits it shipped, as git's revision arguments."""
        start = self.entry["range_start"]
        return f"{self.entry['commit']} ^{start}" if start else f"-1 {self.entry['commit']}"

    def checks(self) -> list[str]:
        """Commands that show, in the repository, what the audit says it shipped."""
        commits = self.entry["commits"]
        out = [
            f"git rev-list --count {self.range}   # prints {commits['count']}",
            f"git rev-list {self.range} | LC_ALL=C sort | sha256sum   # prints {commits['sha256']}",
            f"git log --format='%H %ae %ce%n%(trailers:key=Reviewed-by,key=Approved-by)' "
            f"{self.range}   # authors, committers and review lines",
        ]
        ref = self.entry.get("ref")
        if ref:
            out.append(
                f"git rev-parse {shlex.quote(ref + '^{commit}')}   # prints "
                f"{self.entry['commit']} unless {ref} has moved since"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """As ``--format json`` lists it."""
        return {
            **self.entry,
            "rank": self.rank,
            "findings": list(self.findings),
            "checks": self.checks(),
        }


@dataclass(frozen=True)
class Sample:
    """The deployments drawn from one audit, and what the draw rests on."""

    signed: Signed
    population: Population
    seed: str
    size: int
    items: tuple[Item, ...]

    @property
    def partial(self) -> bool:
        """Whether the audit covers its month only up to the day it was signed."""
        return bool(self.signed.predicate.get("partial"))

    @property
    def records(self) -> list[dict[str, str]]:
        """The deployment files the audit read, with their recorded digests."""
        files = (self.signed.predicate["report"].get("inputs") or {}).get("files") or []
        return [f for f in files if str(f.get("path", "")).split("/")[-1].startswith("deploys.")]


def _owner(subject: str, ids: frozenset[str]) -> str | None:
    """The deployment a ``DEPLOY`` or ``DEPLOY:...`` subject names: the longest id it is or
    starts with followed by ``:`` (``RT-2:z:r-4`` is ``RT-2:z``'s when both are judged)."""
    if subject in ids:
        return subject
    cuts = [i for i, char in enumerate(subject) if char == ":"]
    return next((subject[:i] for i in reversed(cuts) if subject[:i] in ids), None)


def _shipped_by(finding: dict[str, Any]) -> list[str]:
    """The deployments a REVIEW-002 finding says shipped its commit (its message's
    ``was shipped by A, B with no review``: the report keeps no other trace of them)."""
    message = str(finding.get("message", ""))
    if finding.get("rule") != "REVIEW-002" or SHIPPED_BY not in message:
        return []
    return message.split(SHIPPED_BY, 1)[1].rsplit(" with no review", 1)[0].split(", ")


SHIPPED_BY = " was shipped by "


def _about(
    findings: list[dict[str, Any]], entry: dict[str, Any], ids: frozenset[str]
) -> tuple[dict[str, str], ...]:
    """The findings about a deployment: those whose subject is it or one of its
    ``DEPLOY:...`` pairs, its commit, or a commit it shipped (REVIEW-002)."""
    ident = str(entry["id"])
    return tuple(
        {k: str(f[k]) for k in ("rule", "severity", "subject")}
        | ({"waived": "yes"} if f.get("waived") else {})
        for f in findings
        if _owner(str(f.get("subject", "")), ids) == ident
        or f.get("subject") == entry["commit"]
        or ident in _shipped_by(f)
    )


def draw(signed: Signed, size: int, seed: str) -> Sample:
    """The ``size`` deployments of lowest rank (all of them when there are fewer)."""
    if size < 1:
        raise UsageError(f"--size takes a number of deployments, at least 1; got {size}")
    if not seed:
        raise UsageError("--seed must not be empty: the draw is reproducible from it")
    population = read_population(signed.predicate)
    findings = signed.predicate["report"].get("findings") or []
    ranked = sorted(
        (rank(seed, population.sha256, str(e["id"])), str(e["id"]), e)
        for e in population.deployments
    )
    ids = frozenset(str(e["id"]) for e in population.deployments)
    items = tuple(Item(e, r, _about(findings, e, ids)) for r, _, e in ranked[:size])
    return Sample(signed, population, seed, size, items)


def heading(sample: Sample) -> list[str]:
    """What the sample was drawn from, and how, before its items."""
    population, period = sample.population, sample.signed.period
    partial = (
        f" so far (partial: signed before the month ended, as of "
        f"{sample.signed.predicate.get('as_of')}; the deployments after it are in no "
        "population yet)"
        if sample.partial
        else ""
    )
    lines = [
        f"Audit of {period}{partial}, signed by key {sample.signed.keyid} (signature valid), "
        f"payload sha256 {sample.signed.digest}",
        f"Population: {counted(population.count, 'deployment')}, "
        f"{counted(population.commits, 'commit')} shipped, sha256 {population.sha256}",
    ]
    if not population.count:
        return [*lines, f"No deployment was judged in {period}: there is nothing to sample."]
    drawn = len(sample.items)
    lines.append(
        f"Sample: {drawn} of {population.count}, seed {json.dumps(sample.seed)}; each deployment "
        'ranked by sha256("SEED:POPULATION_SHA256:ID"), lowest first'
    )
    if sample.size > population.count:
        lines.append(
            f"--size {sample.size} is more than the population holds: the sample is all of it."
        )
    lines += [
        f"Records: {f['path']} (sha256 {f['sha256']} when the audit read it; check with "
        "sha256sum before you read it)"
        for f in sample.records
    ]
    return lines


def _item_lines(number: int, item: Item) -> list[str]:
    entry = item.entry
    ref = f" (ref {entry['ref']})" if entry.get("ref") else ""
    start = entry["range_start"]
    lines = [
        "",
        f"{number}. {entry['id']}   rank {item.rank[:16]}",
        f"   {entry['service']} / {entry['environment']}, started {entry['started_at']}",
        f"   commit {entry['commit']}{ref}",
        "   Record: its deployer; approvals by someone other than the deployer, given before "
        "it started; each target's status",
        (
            f"   Shipped {counted(entry['commits']['count'], 'commit')} since {short(start)} "
            "(the previous deployment of its service and environment that succeeded on a host, "
            "else the baseline):"
            if start
            else "   Shipped its own commit alone (first of its service and environment, no "
            "baseline): what came before it was never judged"
        ),
        *(f"     {command}" for command in item.checks()),
        "   Review: each commit's author, and a review by someone else (a review line above, "
        "or a record in the reviews file)",
    ]
    if item.findings:
        lines.append("   Findings about it in the audit:")
        lines += [
            f"     {f['rule']} {f['severity']} {f['subject']}"
            + (" (waived)" if f.get("waived") else "")
            for f in item.findings
        ]
    else:
        lines.append("   Findings about it in the audit: none")
    return lines


def render_text(sample: Sample) -> str:
    """The sample for a reader, one block per deployment drawn."""
    lines = heading(sample)
    for number, item in enumerate(sample.items, start=1):
        lines += _item_lines(number, item)
    # Every value in it comes from evidence: a control character in one is shown, not obeyed.
    return "\n".join(visible(line) for line in lines) + "\n"


def render_json(sample: Sample) -> str:
    """The sample for a script: sorted keys, the items in the order drawn."""
    document = {
        "period": sample.signed.period,
        **({"partial": True} if sample.partial else {}),
        "audit": {"keyid": sample.signed.keyid, "payload_sha256": sample.signed.digest},
        "population": {
            "count": sample.population.count,
            "commits": sample.population.commits,
            "sha256": sample.population.sha256,
        },
        "seed": sample.seed,
        "size": sample.size,
        "drawn": len(sample.items),
        "method": 'sha256("SEED:POPULATION_SHA256:ID"), lowest first',
        "records": sample.records,
        "items": [item.to_dict() for item in sample.items],
    }
    return json_safe(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
