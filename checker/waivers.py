"""Waivers: time-boxed exceptions. Waived findings stay in the report, marked; expired waivers
waive nothing; both expired waivers and waivers that match nothing become WAIVER-001 findings.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from checker.evidence.bundle import Evidence
from checker.evidence.identities import IdentityResolver, normalise
from checker.evidence.messages import did_you_mean
from checker.evidence.models import Waiver
from checker.facts.document import FlagHistory, WaiverFacts
from checker.report.model import Finding, WaiverNote
from checker.rules.metadata import RuleMeta
from checker.signing.waivers import SIGNED_FIELDS, verified


def _matches(waiver: Waiver, finding: Finding) -> bool:
    """Same rule, and the subject glob matches its subject, or the cause is its cause, exactly
    (a finding of a rule without a cause template has none, so no cause waiver matches it)."""
    if waiver.rule != finding.rule:
        return False
    if waiver.cause is not None:
        return finding.cause == waiver.cause
    glob = waiver.subject or ""
    if finding.parts is None:  # its parts unknown: no glob can be cut into them
        return glob == finding.subject
    if not _WILD.search(glob) or not finding.parts:
        return fnmatch.fnmatchcase(finding.subject, glob)
    return _matches_parts(glob, finding.parts, finding.subject)


def _matches_parts(glob: str, parts: tuple[str, ...], subject: str) -> bool:
    """A glob matched part by part against the values the finding's subject was filled with:
    a wildcard covers characters of its own part only. Matched against the whole subject,
    ``*:9100`` covered every host ending in ``:9100`` (hosts written ``host:port``), and
    ``rel:*`` every deployment whose id starts ``rel:``, though each reads as naming one thing
    exactly. A glob that cannot be cut into the finding's parts matches nothing."""
    separators = _separators(parts, subject)
    cut = _split_outside_classes(glob, separators) if separators is not None else None
    if cut is None or len(cut) != len(parts):
        return False
    return all(fnmatch.fnmatchcase(v, g) for v, g in zip(parts, cut, strict=True))


covers = _matches
"""Whether a waiver covers a finding: its rule, and its subject glob or cause."""


def _separators(parts: tuple[str, ...], subject: str) -> list[str] | None:
    """What stands between the parts in ``subject`` (``[":"]`` for ``D1:web-1``), or None
    where the subject is not its parts joined (a template with text around its fields)."""
    separators: list[str] = []
    at = 0
    for index, part in enumerate(parts):
        found = subject.find(part, at) if part else at
        if found < 0 or (index == 0 and found != 0):
            return None
        if index:
            separators.append(subject[at:found])
        at = found + len(part)
    return separators if at == len(subject) and "" not in separators else None


def refusal(waiver: Waiver, identities: IdentityResolver, approvers: Approvers) -> str | None:
    """Why a waiver may not waive anything in this run, or None.

    ``approvers``: the identities who may approve waivers, or ``None`` where anyone may (a
    check); an audit without a list from the auditor's side applies no waiver, since the
    audited team writes waivers.yaml and could otherwise approve its own exceptions."""
    if approvers is None:
        return None
    if not approvers:
        return (
            "not applied: an audit applies waivers only from approvers the auditor names "
            "(waiver_approvers on the command line's --config)"
        )
    if identities.identify(waiver.approved_by).identity not in approvers:
        return f"not applied: {waiver.approved_by} is not among waiver_approvers"
    return None


def unsigned(
    waiver: Waiver, identities: IdentityResolver, keys: Keys, repository: str
) -> str | None:
    """Why a waiver's approval is not its approver's own, or None: where ``keys``
    (``waiver_keys``) holds a key of its approver, under any spelling ``identities`` joins,
    only that key's signature over the waiver's fields makes it theirs. Without one, the
    team that writes waivers.yaml could write any approver's name under any exception."""
    held = held_keys(identities, waiver.approved_by, keys)
    if not held:
        return None
    fields = waiver.model_dump(include=set(SIGNED_FIELDS))
    if any(verified(fields, waiver.signature, key, repository) for key in held):
        return None
    if waiver.signature is None:
        return (
            f"not applied: it is not signed, and waiver_keys holds {waiver.approved_by}'s key; "
            "an approval counts here only with its approver's signature"
        )
    return (
        f"not applied: its signature is not {waiver.approved_by}'s over what it says "
        "(waiver_keys) for this repository: it was changed after it was signed, signed with "
        "another key, or signed for another repository"
    )


_K = TypeVar("_K")
Approvers = frozenset[str] | None
Keys = Mapping[str, Ed25519PublicKey]
"""Approvers' public keys by address (``waiver_keys``)."""


def held_keys(identities: IdentityResolver, approver: str, keys: Mapping[str, _K]) -> list[_K]:
    """The keys ``keys`` holds for ``approver``: under every address ``identities`` joins to
    it (``cro+sign@ex.com`` and ``CRO <cro@ex.com>`` are ``cro@ex.com``'s), any of which makes
    the approver's waivers count. Whoever compares the keys an audit required with their own
    must read them by this same join: by one spelling alone, ``{cro@ex.com: CRO's key,
    cro+x@ex.com: the team's}`` read as the CRO's key alone, while the audit applied waivers
    the team signed."""
    known = people_keys(identities, approver)
    return [key for address, key in keys.items() if people_keys(identities, address) & known]


_EVENT = ("flag", "at")
"""The subject fields of a finding about a flag event, ``{flag}@{at}``."""


@dataclass(frozen=True)
class Actors:
    """Who did what findings are about: each deployment's deployer and each shipped commit's
    author (``acted``, by the subject field and its value: ``("deployment", "D-1")``), as the
    keys ``people_keys`` gives, and each rule's subject fields in order (``fields``)."""

    people: IdentityResolver
    acted: Mapping[tuple[str, str], frozenset[str]] = dataclasses.field(default_factory=dict)
    fields: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    changed: Mapping[tuple[str, str], tuple[tuple[str, frozenset[str]], ...]] = dataclasses.field(
        default_factory=dict
    )
    """By rule and subject, what someone did to the registry that the finding is about, and
    who: DEAD-002's flag, repurposed by the writers of the versions it names, and DEAD-003's,
    whose remove_by the writers of later versions moved or dropped, and which its ``owner``
    (in the registry at a deployed commit, or in any version since it was given a
    ``remove_by``) was to remove; and DEAD-001's, DEAD-004's and DEAD-005's code, changed by
    the writers of the commits of the deployed commit's history that changed its files
    (``codewriters.code_writers``); and REVIEW-003's deployment, by the writers of what it
    shipped off the protected branch (``collect._off_branch_writers``)."""

    def of(self, finding: Finding) -> Iterator[tuple[str, str, frozenset[str]]]:
        """What the finding names that someone did: (field, value, who), for each; a subject
        that is a flag event (``{flag}@{at}``: FLEET-003, DEAD-007) names whoever switched it,
        and a flag DEAD-002 says was repurposed, whoever wrote the versions that did."""
        for did, by in self.changed.get((finding.rule, finding.subject), ()):
            yield did, finding.subject, by
        names = self.fields.get(finding.rule, ())
        switched = self.acted.get(("event", finding.subject)) if names == _EVENT else None
        if switched:
            yield "event", finding.subject, switched
        values = finding.parts or ((finding.subject,) if len(names) == 1 else ())
        for name, value in zip(names, values, strict=False):
            who = self.acted.get((name, value))
            if who:
                yield name, value, who


def unasked_key(
    keys: Iterable[str], listed: Sequence[str], approvers: frozenset[str], people: IdentityResolver
) -> str | None:
    """Why a key of ``waiver_keys`` is none of ``waiver_approvers``' (``listed``, read as
    ``approvers`` by ``people``), or None. A waiver counts only when one of them approved it,
    and then only signed with a key held for that approver's own address: a key under a
    misspelt address (``cro@exmaple.com``) was asked of no waiver, and the CRO's waivers
    counted unsigned, on the team's word, while the report said it required signatures."""
    for address in keys:
        if not people_keys(people, address) & approvers:
            return (
                f"{address} is not among waiver_approvers ({', '.join(listed)}), so its key "
                f"would be asked of no waiver{did_you_mean(address, listed)}"
            )
    return None


UNASKED_HINT = "give each approver's key under the address waiver_approvers names them by"


def people_keys(people: IdentityResolver, *values: str | None) -> frozenset[str]:
    """What a person is known by: the identity each value resolves to, and its address
    normalised. Every source only merges, so the widest reading only finds more matches."""
    keys = set()
    for value in values:
        if value:
            keys |= {normalise(value), people.identify(value).identity or ""}
    return frozenset(keys - {""})


_DID = {
    "deployment": "deployed",
    "commit": "wrote",
    "event": "switched",
    "repurposed": "repurposed",
    "postponed": "moved the remove_by of",
    "owns": "owns",
    "owned": "owned",
    "coded": "changed the files of",
    "off_branch": "wrote what shipped off the protected branch in",
}


def own_exception(waiver: Waiver, findings: list[Finding], actors: Actors) -> str | None:
    """Why a waiver is its approver's own exception, or None: it covers a finding about a
    deployment its approver deployed (REVIEW-001: deployed without another's approval), a
    commit its approver wrote (REVIEW-002: shipped without another's review) or a flag event
    its approver switched (FLEET-003: a flag switched on over a mixed fleet). The rules ask
    for a second person; an approver in the auditor's list who deploys passed their own
    unapproved deployment by approving its waiver themself."""
    approver = people_keys(actors.people, waiver.approved_by)
    for finding in findings:
        if not _matches(waiver, finding):
            continue
        for name, value, who in actors.of(finding):
            if approver & who:
                return (
                    f"not applied: {waiver.approved_by} {_DID.get(name, 'did')} {value}, which "
                    "it covers; an exception is approved by someone other than whom it excuses"
                )
    return None


REPURPOSED = "DEAD-002"
"""The rule whose findings are a flag's repurposings, which its waivers name (``purpose``)."""


@dataclass(frozen=True)
class Repurposing:
    """A registry version that gave a flag a new purpose, or wrote it active again after it
    was retired: the purpose it gave, and the version as messages show it."""

    purpose: str
    short: str


Repurposed = Mapping[str, tuple[Repurposing, ...]]
"""By flag, as DEAD-002 names it, each of its repurposings in the history read."""


def repurposings(flag_history: Mapping[str, FlagHistory]) -> dict[str, tuple[Repurposing, ...]]:
    """``Repurposed`` of the registry's history: each version that changed a flag's purpose
    (back to an earlier one too: Power Peg, RLP, then Power Peg again is two), and each
    version that wrote it active again after it was retired (every time it was). A version
    that did both for one purpose is one repurposing."""
    found: dict[str, tuple[Repurposing, ...]] = {}
    for name, record in flag_history.items():
        changes = record.get("changes", record["purposes"][1:])
        made = {(p["commit"], p["purpose"]): p["short"] for p in changes}
        for revived in [
            *([record["revived"]] if "revived" in record else []),
            *record.get("revived_again", []),
        ]:
            made.setdefault((revived["active"], revived["purpose"]), revived["active_short"])
        found[name] = tuple(Repurposing(purpose, at) for (_, purpose), at in made.items())
    return found


def unnamed_purpose(
    waiver: Waiver, findings: list[Finding], repurposed: Repurposed, others: Sequence[Waiver] = ()
) -> str | None:
    """Why a DEAD-002 waiver covers a repurposing no waiver names, or None. Its subject is
    the flag alone: a waiver of the flag's reuse for RLP covered every later repurposing of
    it too, for purposes its approver never saw, and the audit passed. A waiver with
    ``purpose`` names one of the flag's repurposings, and covers it only where every other
    repurposing's purpose is named by one of ``others`` (the DEAD-002 waivers applied here);
    one without (what waivers meant before they could name one) only a flag repurposed once."""
    if waiver.rule != REPURPOSED:
        return None
    for finding in findings:
        if not _matches(waiver, finding):
            continue
        made = repurposed.get(finding.subject, ())
        listed = _listed(made) or "which, not known"
        if waiver.purpose is None and len(made) != 1:
            return (
                f"not applied: {finding.subject} was repurposed more than once ({listed}), and "
                "a waiver without a purpose covers a flag repurposed once; add purpose: naming "
                "the purpose approved, as the registry writes it"
            )
        why = _purpose_unnamed(waiver, finding, made, others) if waiver.purpose else None
        if why is not None:
            return why
    return None


def _purpose_unnamed(
    waiver: Waiver, finding: Finding, made: tuple[Repurposing, ...], others: Sequence[Waiver]
) -> str | None:
    """Why a waiver naming a purpose does not cover ``finding``'s repurposings (``made``),
    with the purposes ``others`` name for it, or None."""
    listed = _listed(made) or "which, not known"
    approves = f"it approves {finding.subject} for {_quoted(waiver.purpose or '')}"
    if waiver.purpose not in {r.purpose for r in made}:
        return (
            f"not applied: {approves}, and the registry repurposed it: {listed}; none of "
            "them for that purpose, written as the registry writes it"
        )
    named = {w.purpose for w in others if w.purpose is not None and _matches(w, finding)}
    left = [r for r in made if r.purpose not in named | {waiver.purpose}]
    if left:
        return (
            f"not applied: {approves}, and the registry repurposed it: {listed}; no "
            f"waiver applied here names {_listed(left)}, and a flag is waived only where "
            "a waiver names each purpose its repurposings gave it"
        )
    return None


def _listed(made: Iterable[Repurposing]) -> str:
    """Repurposings as messages show them: each purpose quoted as Python writes a string (a
    newline or a look-alike space shows), and its version."""
    return ", ".join(f"{_quoted(r.purpose)} at {r.short}" for r in made)


def _quoted(purpose: str) -> str:
    return json.dumps(purpose, ensure_ascii=False)


def _purpose_refusals(
    waivers: list[Waiver],
    findings: list[Finding],
    as_of: date,
    refused: dict[int, str | None],
    repurposed: Repurposed,
) -> dict[int, str | None]:
    """``refused`` with each live DEAD-002 waiver refused that, with the others still live,
    leaves a repurposing of a flag it covers unnamed; again until none is (a waiver refused
    names nothing for the others)."""
    while True:
        live = [
            w
            for w in waivers
            if w.rule == REPURPOSED and w.expires >= as_of and refused[id(w)] is None
        ]
        more = {id(w): unnamed_purpose(w, findings, repurposed, live) for w in live}
        more = {k: v for k, v in more.items() if v is not None}
        if not more:
            return refused
        refused = {**refused, **more}


def _refused(
    waiver: Waiver,
    findings: list[Finding],
    identities: IdentityResolver,
    approvers: Approvers,
    actors: Actors | None,
    keys: Keys | None,
    repository: str,
) -> str | None:
    """Why a waiver waives nothing here, or None: its approver's, its signature's (for
    ``repository``), or its being its approver's own exception. Whether a DEAD-002 waiver
    names the repurposings it covers is asked after, of the waivers these leave
    (``_purpose_refusals``)."""
    return (
        refusal(waiver, identities, approvers)
        or unsigned(waiver, identities, keys or {}, repository)
        or (own_exception(waiver, findings, actors) if actors is not None else None)
    )


def apply_waivers(
    waivers: list[Waiver],
    findings: list[Finding],
    as_of: date,
    identities: IdentityResolver,
    approvers: Approvers = None,
    actors: Actors | None = None,
    keys: Keys | None = None,
    repository: str = "",
    repurposed: Repurposed | None = None,
) -> tuple[list[Finding], list[WaiverFacts]]:
    """Mark the findings live waivers cover; return them and each waiver's facts for WAIVER-001.
    ``identities`` reads a waiver's ``approved_by`` for the comparison with ``approvers``.

    A waiver is expired when ``expires`` is before the as-of date: it still holds on the day
    it expires. A waiver whose approver may not approve waivers here waives nothing, nor does
    one without its approver's signature for ``repository`` (``repository_of``) where ``keys``
    holds their key, nor one that covers a
    finding about its approver's own deployment or commit (``actors``), nor a DEAD-002 waiver
    that covers a repurposing (``repurposed``; none known where not given) it does not name.
    """
    refused = {
        id(w): _refused(w, findings, identities, approvers, actors, keys, repository)
        for w in waivers
    }
    refused = _purpose_refusals(waivers, findings, as_of, refused, repurposed or {})
    live = [w for w in waivers if w.expires >= as_of and refused[id(w)] is None]
    marked = [_covered(f, [w for w in live if _matches(w, f)]) for f in findings]
    facts = [
        WaiverFacts(
            rule=w.rule,
            subject=w.target,
            cause=w.cause is not None,
            reason=w.reason,
            approved_by=w.approved_by,
            expires=w.expires.isoformat(),
            expired=w.expires < as_of,
            matches=sum(1 for f in findings if _matches(w, f)),
            refused=refused[id(w)] or "",
        )
        for w in waivers
    ]
    return marked, facts


def _covered(finding: Finding, waivers: list[Waiver]) -> Finding:
    """``finding``, waived and naming the waivers that cover it, if any do: a report says
    which waiver excused it, not every waiver of its rule."""
    if not waivers:
        return finding
    notes = tuple(
        WaiverNote(
            w.rule,
            w.target,
            w.cause is not None,
            w.reason,
            w.approved_by,
            w.expires.isoformat(),
            w.purpose,
        )
        for w in waivers
    )
    return dataclasses.replace(finding, waived=True, waivers=notes)


_WILD = re.compile(r"[*?\[]")
_PARTS = {
    "commit": r"[0-9a-f]{40}(?:[0-9a-f]{24})?",
    "rule": r"[A-Z][A-Z0-9]*-\d{3}",
    "at": r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
}
_TEMPLATE = re.compile(r"\{(\w+)\}")


def _shape(template: str) -> re.Pattern[str]:
    """The subjects a template such as ``{deployment}:{host}`` describes, as a pattern."""
    out, index = "", 0
    for match in _TEMPLATE.finditer(template):
        out += re.escape(template[index : match.start()])
        out += f"(?P<{match.group(1)}>{_PARTS.get(match.group(1), '.+')})"
        index = match.end()
    return re.compile(out + re.escape(template[index:]))


def literals(glob: str) -> str:
    """The characters of a glob that match only themselves, as ``fnmatch`` reads it: not
    ``*``, ``?`` nor a ``[...]`` class (whose ``]`` right after ``[`` or ``[!`` is a member:
    ``[]0-9a-f[]`` is one class of 12 characters). A ``[`` that no ``]`` closes is literal."""
    return "".join(_literal_parts(glob))


def literal_start(glob: str) -> str:
    """The literal characters a glob starts with, up to its first wildcard or class."""
    return next(_literal_parts(glob, stop=True), "")


def _literal_parts(glob: str, stop: bool = False) -> Iterator[str]:
    index, literal = 0, ""
    while index < len(glob):
        char, index = glob[index], index + 1
        end = _class_end(glob, index) if char == "[" else None
        if char in "*?" or end is not None:
            yield literal
            if stop:
                return
            literal, index = "", end if end is not None else index
        else:
            literal += char
    yield literal


def _class_end(glob: str, start: int) -> int | None:
    """Where the class a ``[`` at ``start - 1`` opens ends (just past its ``]``), or None."""
    at = start + (glob[start : start + 1] == "!")
    at += glob[at : at + 1] == "]"
    close = glob.find("]", at)
    return None if close < 0 else close + 1


def subject_problem(template: str | None, glob: str, rule_ids: Collection[str]) -> str | None:
    """Why a waiver's subject glob can match no subject of the rule's shape, or None.

    A glob without wildcards must be a subject of that shape; with wildcards, its literal
    characters must fit the parts they stand in: a commit is 40 (or 64) lowercase hex digits,
    and the rule of a WAIVER-001 subject is a rule id. A rule that declares no shape has
    subjects of one part, any text: a glob over them still starts with what it names."""
    template = template or "{subject}"
    if glob.count("[") != glob.count("]"):
        return "its [ and ] do not pair up, so it can only match itself literally"
    if not _WILD.search(glob):
        return _exact_problem(template, glob, rule_ids)
    return _glob_problem(template, glob, rule_ids)


def _exact_problem(template: str, subject: str, rule_ids: Collection[str]) -> str | None:
    """Why a subject without wildcards is not one of the template's shape, or None."""
    match = _shape(template).fullmatch(subject)
    if match is None:
        if template == "{commit}" and re.fullmatch(r"[0-9a-fA-F]{4,39}", subject):
            return f"subjects of this rule are full 40-character commit shas: {_WHOLE_COMMIT}"
        if _shape(template).fullmatch(subject.lower()):
            return f"commit shas are lowercase: write {subject.lower()}"
        example = template.replace("{", "").replace("}", "").upper()
        return f"subjects of this rule look like {example}, which {subject!r} cannot be"
    rule = match.groupdict().get("rule")
    if rule is not None and rule not in rule_ids:
        return f"{rule!r} is no rule's id{did_you_mean(rule, rule_ids)}"
    return None


_FULL_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?(?![0-9a-f])")
_WHOLE_COMMIT = (
    "a shorter start (3f9c2e1*) covers every commit made to start with it, and whoever "
    "commits can make one in seconds"
)
"""A commit in a waiver's subject is named whole: seven hex digits are 28 bits, which a
commit's author finds for an unreviewed commit by varying its message, and the waiver of an
emergency fix then covered it."""


def _glob_problem(template: str, glob: str, rule_ids: Collection[str]) -> str | None:
    """Why a glob's literal start cannot be the template's first part, or None."""
    separators = [s for s in _TEMPLATE.split(template)[::2] if s]
    first = template.split("}", 1)[0].lstrip("{")
    head = glob.split(separators[0], 1)[0] if separators and separators[0] in glob else glob
    not_hex = re.compile(r"[^0-9a-f*?\[\]!-]")
    if first == "commit" and not_hex.search(head):
        lowered = " (write it in lowercase)" if not not_hex.search(head.lower()) else ""
        return (
            f"subjects of this rule start with a commit sha, in lowercase hex; {head!r} "
            f"cannot match one{lowered}"
        )
    if first == "commit" and not _FULL_COMMIT.match(literal_start(glob)):
        return f"it must name its commit by its full sha, before any wildcard: {_WHOLE_COMMIT}"
    if first == "rule" and not _WILD.search(head) and head != glob and head not in rule_ids:
        return f"{head!r} is no rule's id{did_you_mean(head, rule_ids)}"
    return _parts_problem(template, glob)


def _parts_problem(template: str, glob: str) -> str | None:
    """Why a glob does not name what it covers part by part, or None. Each part of the
    template (``{deployment}``, ``{host}``) must be written exactly, be ``*`` alone, or start
    with what it names (``D-2012-08-*``, ``smars-*``); the template's separators must be
    written out, outside any ``[...]`` class, so the parts can be told apart; and of several
    parts one is exact (a commit: named by its full sha). A part that starts with a
    wildcard (``*2*``: every deployment with a 2 in its id; ``*a*`` over ``DEPLOYMENT:HOST``:
    every host with an a) matches by incidental characters, and ``D*:*`` every finding of a
    month whose ids all start with D: each covers subjects no one has seen yet."""
    if not re.search(r"[A-Za-z0-9]", literals(glob)):
        return None  # it names nothing at all: check_waivers says so
    pieces = _TEMPLATE.split(template)
    names, separators = pieces[1::2], pieces[2:-1:2]
    shape = template.replace("{", "").replace("}", "").upper()
    parts = _split_outside_classes(glob.removeprefix(pieces[0]), separators)
    if parts is None:
        where = " outside any [...] class" if "[" in glob else ""
        return f"it must keep the shape {shape}, with its separators written out{where}"
    parts[-1] = parts[-1].removesuffix(pieces[-1])
    # A {subject} beside an exact part (WAIVER-001's {rule}:{subject}) may be any glob; alone
    # (a rule's whole subject), ``*l*`` covered every subject with an l in it.
    free = {"commit", *(["subject"] if len(names) > 1 else [])}
    for name, part in zip(names, parts, strict=True):
        if name not in free and part != "*" and not literal_start(part):
            return (
                f"its {name} {part!r} starts with a wildcard, so it matches {name}s by any "
                f"characters they hold, ones no one has seen yet too; write the {name} "
                "exactly, start it with what it names, or write * alone"
            )
    named = [
        not _WILD.search(part) or (name == "commit" and _FULL_COMMIT.match(part))
        for name, part in zip(names, parts, strict=True)
    ]
    if len(parts) > 1 and not any(named):
        return (
            f"of its parts ({', '.join(names)}) none is exact, so it covers whatever comes "
            "next under its prefixes; write one of them exactly (a deployment, or a host)"
        )
    return None


def _split_outside_classes(glob: str, separators: list[str]) -> list[str] | None:
    """``glob`` cut at each of ``separators`` in turn, where it stands outside a ``[...]``
    class (``[!:]`` is a character, not the ``:`` between two parts), or None where one is
    missing."""
    parts: list[str] = []
    start = index = 0
    pending = list(separators)
    while pending and index < len(glob):
        end = _class_end(glob, index + 1) if glob[index] == "[" else None
        if end is not None:
            index = end
        elif glob.startswith(pending[0], index):
            parts.append(glob[start:index])
            index = start = index + len(pending.pop(0))
        else:
            index += 1
    if pending:
        return None
    return [*parts, glob[start:]]


def _check_target(
    evidence: Evidence, index: int, waiver: Waiver, rule: RuleMeta, rules: Collection[str]
) -> None:
    """The waiver's subject glob fits the rule's subjects, or its cause is one the rule could
    have (and the rule has causes, and may be waived by them); a purpose is DEAD-002's alone."""
    if waiver.purpose is not None and waiver.rule != REPURPOSED:
        raise evidence.error(
            "waivers",
            index,
            f"waiver for {waiver.rule}: purpose names the purpose a flag was repurposed to, "
            f"which only {REPURPOSED} findings have, so it would match nothing",
            hint=f"drop purpose, or write the waiver for {REPURPOSED}",
        )
    if waiver.cause is not None:
        problem = _cause_problem(waiver.cause, rule)
        if problem is not None:
            raise evidence.error(
                "waivers",
                index,
                f"waiver for {waiver.rule}: {problem}",
                hint=f"waive its findings by subject; see 'knightwatch explain {waiver.rule}'",
            )
    template = rule.cause if waiver.cause is not None else rule.subject
    problem = subject_problem(template, waiver.target, rules)
    if problem is not None:
        what = "cause" if waiver.cause is not None else "subject"
        problem = problem.replace("subjects of this rule", f"{what}s of this rule")
        raise evidence.error(
            "waivers",
            index,
            f"waiver for {waiver.rule}: {what} {waiver.target!r}: {problem}",
            hint=f"see 'knightwatch explain {waiver.rule}' for its {what}s",
        )


def _cause_problem(cause: str, rule: RuleMeta) -> str | None:
    """Why a waiver may not name this cause of this rule, or None.

    A cause waiver names one cause exactly: a cause is already every instance of one thing (a
    flag, a service's host), and a glob over causes (``*g*``, ``?*``) covers causes not yet
    seen, as good as switching the rule off."""
    if rule.cause is None:
        return "the rule has no cause (each of its findings is its own), so a cause cannot name any"
    if not rule.cause_waivers:
        return (
            f"its findings may not be waived by cause: the cause ({rule.cause}) is chosen by "
            "whoever the rule judges, so a waiver of it would cover whatever comes next under it"
        )
    if _WILD.search(cause):
        return (
            f"cause {cause!r} is a glob: a cause waiver names one cause exactly, as the report "
            "shows it (one waiver a cause), so that it cannot cover causes no one has seen"
        )
    return None


LONGEST = timedelta(days=366)
"""How far past the as-of date a waiver may run: an exception is renewed, not granted for ever."""


def check_waivers(evidence: Evidence, rules: Collection[RuleMeta], as_of: date) -> None:
    """Every waiver names a rule that exists and a subject that rule could ever have, names
    something (not only wildcards), is approved by someone, and ends within a year: a waiver
    that can never match, or that would switch a rule off, is an error in the waiver, not an
    exception granted."""
    by_id = {rule.id: rule for rule in rules}
    for index, waiver in enumerate(evidence.waivers):
        rule = by_id.get(waiver.rule)
        if rule is None:
            raise evidence.error(
                "waivers",
                index,
                f"waiver: rule {waiver.rule!r} is no rule's id{did_you_mean(waiver.rule, by_id)}",
                hint="the rule ids are listed by 'knightwatch policy list'",
            )
        _check_target(evidence, index, waiver, rule, by_id)
        if not re.search(r"[A-Za-z0-9]", literals(waiver.target)):
            what = "cause" if waiver.cause is not None else "subject"
            raise evidence.error(
                "waivers",
                index,
                f"waiver for {waiver.rule}: {what} {waiver.target!r} names nothing, so it "
                "would waive the rule for everything",
                hint="name what it excuses: a deployment, commit, host or flag (globs allowed)",
            )
        approver = evidence.identities.identify(waiver.approved_by)
        if approver.identity is None:
            raise evidence.error(
                "waivers",
                index,
                f"waiver for {waiver.rule}: approved_by {waiver.approved_by!r} names nobody "
                f"({approver.unresolved})",
                hint="approved_by is the address (or identities.yaml person) who approved it",
            )
        if waiver.expires > as_of + LONGEST:
            raise evidence.error(
                "waivers",
                index,
                f"waiver for {waiver.rule}: expires {waiver.expires} is more than a year after "
                f"{as_of}",
                hint="a waiver runs a year at most; renew it when it ends",
            )
