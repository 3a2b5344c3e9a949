"""The monthly attestation: an in-toto Statement v1 about one audit, in a signed DSSE envelope,
linked to the previous month's by the digest of its signed payload."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from checker import __version__
from checker.errors import InputError, UsageError, VerificationError
from checker.evidence import jsonread
from checker.evidence.files import read_text
from checker.facts.population import population_record
from checker.report.model import Report
from checker.settings import SettingNote
from checker.signing import dsse
from checker.signing.keys import key_id, load_public
from checker.vocabulary import counted

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:knightwatch:predicate:monthly-audit:v1"
ORG_PREDICATE_TYPE = "urn:knightwatch:predicate:organisation-audit:v1"
"""An organisation's month: every system's audit inside (``checker.org.attestation``)."""
PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])\Z")
"""A month, YYYY-MM, in ASCII digits and nothing after it (``\\d`` takes any script's digits,
and ``$`` a line break at the end)."""
FIRST_YEAR = 1970


def check_period(period: str, *, partial: bool = False, now: datetime | None = None) -> str:
    """``YYYY-MM`` of a month that has ended (or any past or current month, ``partial``);
    otherwise a usage error. A month still running, or not yet begun, attested as a plain
    pass would claim what nobody can know yet."""
    match = PERIOD.match(period)
    if not match:
        raise UsageError(f"--period takes a month as YYYY-MM, got {period!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if year < FIRST_YEAR:
        raise UsageError(
            f"--period {period}: git history and the evidence's timestamps begin in "
            f"{FIRST_YEAR}; no deployment can lie in that month"
        )
    moment = now or datetime.now(UTC)
    begun = (year, month) <= (moment.year, moment.month)
    ended = (year, month) < (moment.year, moment.month)
    if not begun:
        raise UsageError(f"--period {period} has not begun (today is {moment.date()} UTC)")
    if ended and partial:
        raise UsageError(
            f"--period {period} has ended: attest it whole, without --partial",
            hint="--partial is for the month still running",
        )
    if not ended and not partial:
        raise UsageError(
            f"--period {period} has not ended (today is {moment.date()} UTC): deployments may "
            "still come",
            hint="attest it after the month is over, or pass --partial to attest what there is "
            "so far (the attestation then says it is partial)",
        )
    return period


def check_as_of(
    period: str, as_of: date | None, *, partial: bool, today: date | None = None
) -> None:
    """An audit's as-of date is not before the month is over (or, for a partial month, before
    today), nor after today: waivers expire against it, and an as-of date in the past would
    revive them; one in the future would admit a waiver that runs years (a waiver may run a
    year past the as-of date), and nobody can judge as of a day that has not come."""
    if as_of is None:
        return
    now = today or datetime.now(UTC).date()
    if as_of > now:
        raise UsageError(
            f"--as-of {as_of} is after today ({now} UTC): an audit is judged as of a day that "
            "has come",
            hint="leave out --as-of (today)",
        )
    year, month = (int(part) for part in period.split("-"))
    after = date(year + month // 12, month % 12 + 1, 1)
    earliest = min(after, now) if partial else after
    if as_of < earliest:
        raise UsageError(
            f"--as-of {as_of} is before {earliest}: an audit of {period} is judged as of the "
            "end of the month or later",
            hint="leave out --as-of (today), or give a date after the month",
        )


def check_judged_as_of(signed: Signed, source: str, today: date | None = None) -> None:
    """A signed monthly audit was judged as of a day it could have been: not before its month
    was over (for a partial month, not before it began), and not after today. Versions that
    took an ``--as-of`` after today signed audits a waiver running years past today counted
    in; their signature holds, the date does not."""
    recorded = signed.predicate.get("as_of")
    try:
        as_of = date.fromisoformat(str(recorded))
    except ValueError:
        raise InputError(
            f"malformed attestation: as_of {recorded!r} is not a date", path=source
        ) from None
    year, month = (int(part) for part in signed.period.split("-"))
    earliest = (
        date(year, month, 1)
        if signed.predicate.get("partial")
        else date(year + month // 12, month % 12 + 1, 1)
    )
    now = today or datetime.now(UTC).date()
    if as_of < earliest:
        problem = f"before {earliest}: waivers that had expired by then would count"
    elif as_of > now:
        problem = f"a day that has not come (today is {now} UTC): a waiver may run a year past it"
    else:
        return
    raise VerificationError(
        "as-of", f"{source}: the audit of {signed.period} was judged as of {as_of}, {problem}"
    )


def month_before(period: str) -> str:
    """The month before ``YYYY-MM``."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


@dataclass(frozen=True)
class Signed:
    """A verified attestation: its signed bytes, statement, and the key that signed it."""

    payload: bytes
    statement: dict[str, Any]
    keyid: str

    @property
    def digest(self) -> str:
        """sha256 of the signed payload: what the next month links to."""
        return hashlib.sha256(self.payload).hexdigest()

    @property
    def predicate(self) -> dict[str, Any]:
        """The statement's predicate."""
        value = self.statement["predicate"]
        return value if isinstance(value, dict) else {}

    @property
    def period(self) -> str:
        """The audited month."""
        return str(self.predicate["period"])

    @property
    def kind(self) -> str:
        """The predicate type: one repository's month, or an organisation's."""
        return str(self.statement["predicateType"])


def _settings(report: Report) -> dict[str, Any]:
    """The settings that weakened the rules, those not applied, and the auditor's file."""
    config = report.auditor_config
    return {
        "weakened": [n.to_dict() for n in report.weakening],
        "not_applied": [n.to_dict() for n in report.settings if not n.applied],
        **({"config_file": {"path": config.path, "sha256": config.sha256}} if config else {}),
    }


def weakened_line(predicate: dict[str, Any]) -> str | None:
    """What ``verify`` says of the settings a signed audit recorded as weakening or changing
    the rules (``settings.weakened``), each as the report describes it; None when there are
    none. Its verdict was given under them."""
    settings = predicate.get("settings")
    weakened = settings.get("weakened") if isinstance(settings, dict) else None
    if not weakened or not isinstance(weakened, list):
        return None
    shown = []
    for item in weakened:
        try:
            shown.append(SettingNote(**item).describe())
        except (TypeError, KeyError):
            shown.append(str(item))
    many = len(shown) > 1
    return (
        f"judged with {'settings that weaken' if many else 'a setting that weakens'} or "
        f"change{'' if many else 's'} the rules: " + "; ".join(shown)
    )


def waived_line(predicate: dict[str, Any]) -> str | None:
    """What ``verify`` says of a signed audit's waived findings: how many, and whose waivers
    the audit accepted (its ``waiver_approvers``, and where they came from); None when none
    was waived. Whoever runs the audit names the approvers: in a team's own pipeline, the
    team, so the count alone let a pass rest on the team's own list unseen."""
    report = predicate.get("report")
    if not isinstance(report, dict):
        return None
    summary = report.get("summary")
    waived = summary.get("waived") if isinstance(summary, dict) else None
    if not isinstance(waived, int) or waived <= 0:
        return None
    parameters = report.get("parameters")
    approvers = parameters.get("waiver_approvers") if isinstance(parameters, dict) else None
    source = next(
        (
            n.get("source")
            for n in report.get("settings") or []
            if isinstance(n, dict) and n.get("name") == "waiver_approvers"
        ),
        None,
    )
    whose = (
        f"under waiver_approvers {', '.join(map(str, approvers))}"
        if isinstance(approvers, list) and approvers
        else "its waiver_approvers not recorded"
    )
    where = f" (from {source})" if source else ""
    return f"{counted(waived, 'finding')} waived, {whose}{where}; {_signed_by(parameters)}"


def recorded_branch(report: object) -> dict[str, str] | None:
    """The protected branch a signed report records it judged (``inputs.repository.
    protected_branch``: its name, the ref read and its tip), where it records one whole; None
    for a report signed before reports recorded it."""
    inputs = report.get("inputs") if isinstance(report, dict) else None
    repository = inputs.get("repository") if isinstance(inputs, dict) else None
    branch = repository.get("protected_branch") if isinstance(repository, dict) else None
    if not isinstance(branch, dict) or set(branch) != {"name", "ref", "commit"}:
        return None
    return branch if all(isinstance(v, str) for v in branch.values()) else None


def recorded_branch_given(report: object) -> bool:
    """Whether a signed report has a ``protected_branch`` among its repository's inputs, of
    whatever shape."""
    inputs = report.get("inputs") if isinstance(report, dict) else None
    repository = inputs.get("repository") if isinstance(inputs, dict) else None
    return isinstance(repository, dict) and "protected_branch" in repository


def branch_line(predicate: dict[str, Any]) -> str:
    """What ``verify`` says of the protected branch an audit judged REVIEW-003 against: its
    name, the commit it pointed to and the ref it was read from. The audit ran in a clone
    whoever ran it controls; compare the commit with the forge's branch (``--replay`` in the
    forge's clone does)."""
    report = predicate.get("report")
    branch = recorded_branch(report)
    if branch is None and recorded_branch_given(report):
        return "recorded, but not as a name, a ref and a commit: replay to judge it again"
    if branch is None:
        return "not recorded (signed before audits recorded it): replay to judge it again"
    return f"{branch['name']} at {branch['commit']} (read from {branch['ref']})"


def _signed_by(parameters: object) -> str:
    """Whose signatures the audit required of its waivers (``waiver_keys``), if anyone's."""
    keys = parameters.get("waiver_keys") if isinstance(parameters, dict) else None
    if isinstance(keys, dict) and keys:
        return f"signatures required of {', '.join(sorted(map(str, keys)))} (waiver_keys)"
    return "no approver's signature required (no waiver_keys): approved_by is the team's word"


def audit_subjects(report: Report) -> list[dict[str, Any]]:
    """What an audit is about: the repository HEAD and every input file, by digest."""
    subjects: list[dict[str, Any]] = [{"name": "git:HEAD", "digest": {"gitCommit": report.head}}]
    subjects += [
        {"name": f"{f.role}:{f.path}", "digest": {"sha256": f.sha256}} for f in report.files
    ]
    return subjects


def subjects_problem(statement: dict[str, Any]) -> str | None:
    """Why a monthly audit's subjects are not exactly the repository HEAD and the input files
    its report states, each by the digest it states, or None. The subjects are what in-toto
    tooling, and an auditor comparing digests with the deploy tool's own export, read; the
    report's inputs are what the audit read and what a replay compares with the evidence. A
    statement whose subjects named the tool's export while its report read an edited copy
    verified, and replayed as confirmed on the edited copy. An organisation's attestation:
    its file and each judged system's subjects (``_org_subjects``)."""
    predicate = statement.get("predicate", {})
    if statement.get("predicateType") == ORG_PREDICATE_TYPE:
        stated = _org_subjects(predicate)
    else:
        stated = _stated_subjects(predicate.get("report"))
    if stated is None:
        return "its report does not state its inputs (the repository HEAD and the input files)"
    signed: Counter[tuple[str, str]] = Counter()
    for subject in statement.get("subject") or []:
        if not isinstance(subject, dict):
            return f"subject {subject!r} is not a name and a digest"
        signed[(str(subject.get("name")), _digest_text(subject.get("digest")))] += 1
    differ = sorted((signed - stated) + (stated - signed))
    return _subject_difference(differ[0], signed, stated) if differ else None


def _subject_difference(
    pair: tuple[str, str], signed: Counter[tuple[str, str]], stated: Counter[tuple[str, str]]
) -> str:
    """How one subject differs between the statement (``signed``) and its report (``stated``)."""
    name, digest = pair
    if signed[pair] and stated[pair]:
        return f"subject {name} is listed {signed[pair]} times, its report states it {stated[pair]}"
    ours, theirs = ([d for (n, d) in s if n == name and d != digest] for s in (signed, stated))
    if signed[pair] and theirs:
        return f"subject {name} is {digest}, and its report read {min(theirs)}"
    if ours:
        return f"subject {name} is {min(ours)}, and its report read {digest}"
    if signed[pair]:
        return f"subject {name} is not among the inputs its report states"
    return f"its report read {name} ({digest}), which is not among its subjects"


def _stated_subjects(report: Any) -> Counter[tuple[str, str]] | None:
    """The subjects a report's inputs give, as (name, digest) pairs; None where its inputs are
    not a HEAD and a list of files with digests."""
    try:
        inputs = report["inputs"]
        pairs = [("git:HEAD", _digest_text({"gitCommit": inputs["repository"]["head"]}))]
        pairs += [
            (f"{f['role']}:{f['path']}", _digest_text({"sha256": f["sha256"]}))
            for f in inputs["files"]
        ]
    except (KeyError, TypeError):
        return None
    return Counter(pairs)


def _org_subjects(predicate: Any) -> Counter[tuple[str, str]] | None:
    """The subjects an organisation's attestation states: its file, and for each system it
    judged, the subjects its report's inputs give (``_stated_subjects``) under the system's
    name, with the team's own attestation where it was accepted from one; None where any of
    them is not stated."""
    try:
        org = predicate["organisation"]["file"]
        pairs = Counter([(f"org:{org['path']}", _digest_text({"sha256": org["sha256"]}))])
        for entry in predicate["systems"]:
            if entry.get("status") != "judged":
                continue
            name, attested = entry["name"], entry.get("attestation")
            stated = _stated_subjects(entry["audit"]["report"])
            if stated is None:
                return None
            pairs.update({(f"{name}/{n}", d): count for (n, d), count in stated.items()})
            if attested is not None:
                pairs[(f"{name}/attestation", _digest_text({"sha256": attested["sha256"]}))] += 1
    except (KeyError, TypeError, AttributeError):
        return None
    return pairs


def _digest_text(digest: Any) -> str:
    """A subject's digest as one comparable text (``sha256 0eea76a7...``)."""
    if not isinstance(digest, dict):
        return repr(digest)
    return ", ".join(f"{k} {v}" for k, v in sorted(digest.items(), key=lambda kv: str(kv[0])))


def check_subjects(signed: Signed, source: str) -> None:
    """A signed audit's or organisation's attestation's subjects are those its report states
    (``subjects_problem``); else it fails as ``subjects``. A statement with no subjects at all
    fails too: in-toto requires them, and one left without them was verified as valid."""
    problem = subjects_problem(signed.statement)
    if problem is not None:
        raise VerificationError(
            "subjects",
            f"{source}: {problem}: the statement names other inputs than the audit read",
        )


def audit_predicate(report: Report) -> dict[str, Any]:
    """What an audit says, without its link to the month before: the report inside."""
    if report.period is None:
        raise ValueError("an attestation covers a period")
    policy_digest = hashlib.sha256(
        "".join(f"{f.path}\0{f.sha256}\n" for f in report.files if f.role == "policy").encode()
    ).hexdigest()
    return {
        "period": report.period,
        **({"partial": True} if report.partial else {}),
        "complete": report.complete,
        "deployments": report.counts.get("deployments", 0),
        "as_of": report.as_of,
        "tool": {
            "name": "knightwatch",
            "version": __version__,
            "engine": report.engine,
            **({"engine_url": report.engine_url} if report.engine_url else {}),
        },
        "settings": _settings(report),
        "policies": {"sha256": policy_digest},
        "population": population_record(report.population),
        **(
            {"earlier": {"count": report.earlier[0], "sha256": report.earlier[1]}}
            if report.earlier is not None
            else {}
        ),
        "report": report.to_dict(),
    }


def previous_link(previous: Signed | None, signer: str) -> dict[str, Any] | None:
    """The predicate's ``previous``: last month's period and the digest of its payload, and,
    where another key than ``signer`` (this attestation's key id) signed it, that key's id: a
    rotated key, which ``check_link`` holds the previous report to."""
    if previous is None:
        return None
    link: dict[str, Any] = {"period": previous.period, "digest": {"sha256": previous.digest}}
    if previous.keyid != signer:
        link["keyid"] = previous.keyid
    return link


def build_statement(report: Report, previous: Signed | None, signer: str) -> dict[str, Any]:
    """The statement: the repository HEAD and every input file as subjects, the report inside."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": audit_subjects(report),
        "predicateType": PREDICATE_TYPE,
        "predicate": {**audit_predicate(report), "previous": previous_link(previous, signer)},
    }


def sign_report(report: Report, key: Ed25519PrivateKey, previous: Signed | None) -> tuple[str, str]:
    """The envelope's text, canonical JSON (RFC 8785) signed, and the payload's sha256."""
    return sign_statement(build_statement(report, previous, key_id(key.public_key())), key)


def sign_statement(statement: dict[str, Any], key: Ed25519PrivateKey) -> tuple[str, str]:
    """A statement serialised once as canonical JSON (RFC 8785), signed in a DSSE envelope:
    the envelope's text and the payload's sha256."""
    payload = rfc8785.dumps(statement)
    envelope = dsse.sign(payload, key)
    text = json.dumps(envelope, indent=2, sort_keys=True) + "\n"
    return text, hashlib.sha256(payload).hexdigest()


def _statement(payload: bytes, source: str) -> dict[str, Any]:
    try:
        statement = jsonread.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"malformed attestation: payload is not JSON ({exc})", path=source
        ) from exc
    kind = statement.get("predicateType") if isinstance(statement, dict) else None
    body = {PREDICATE_TYPE: ("report", dict), ORG_PREDICATE_TYPE: ("systems", list)}.get(str(kind))
    if (
        not isinstance(statement, dict)
        or statement.get("_type") != STATEMENT_TYPE
        or body is None
        or not isinstance(statement.get("predicate"), dict)
        or not PERIOD.match(str(statement["predicate"].get("period")))
        or not isinstance(statement["predicate"].get(body[0]), body[1])
    ):
        raise InputError(
            f"malformed attestation: not an in-toto Statement v1 with a {PREDICATE_TYPE} or "
            f"{ORG_PREDICATE_TYPE} predicate",
            path=source,
        )
    if not _link_shaped(statement["predicate"].get("previous")):
        raise InputError(
            "malformed attestation: its previous link is neither null nor a month's period "
            "with the sha256 digest of its payload (and, after a rotation, a key id)",
            path=source,
        )
    return statement


def _link_shaped(link: object) -> bool:
    """A predicate's ``previous``: none, or ``{period, digest: {sha256}, keyid?}``; what
    ``verify`` and a chained audit read of it (a link of another shape stopped them with an
    internal error)."""
    if not link:
        return True
    if not isinstance(link, dict) or not set(link) <= {"period", "digest", "keyid"}:
        return False
    digest = link.get("digest")
    return (
        isinstance(link.get("period"), str)
        and PERIOD.match(link["period"]) is not None
        and isinstance(digest, dict)
        and isinstance(digest.get("sha256"), str)
        and isinstance(link.get("keyid", ""), str)
    )


def open_signed(path: Path, public: Ed25519PublicKey) -> Signed:
    """Read, check and verify one attestation file."""
    source = str(path)
    opened = dsse.open_envelope(read_text(path), source)
    if opened.payload_type != dsse.IN_TOTO:
        raise InputError(f"malformed envelope: payloadType {opened.payload_type!r}", path=source)
    keyid = dsse.verify(opened, public, source)
    return Signed(opened.payload, _statement(opened.payload, source), keyid)


def read_previous(
    path: Path, public: Ed25519PublicKey, period: str, kind: str = PREDICATE_TYPE
) -> Signed:
    """Last month's attestation of the same kind, verified with ``public`` (``previous_key``),
    to chain to."""
    try:
        previous = open_signed(path, public)
    except VerificationError as exc:
        if exc.what != "key":
            raise
        raise UsageError(
            f"{path} is signed by another key than the one it is checked with: "
            + str(exc).partition(f"{path}: ")[2],
            hint="where the signing key was rotated since that month, pass the public key "
            "that signed it as --previous-key",
        ) from exc
    if previous.kind != kind:
        what = "an organisation's" if previous.kind == ORG_PREDICATE_TYPE else "one repository's"
        raise UsageError(
            f"{path} is {what} monthly attestation; the report before this one must be of "
            "the same kind"
        )
    if previous.predicate.get("partial"):
        raise UsageError(
            f"{path} attests {previous.period} only in part (--partial); chain to the "
            f"attestation of the whole month",
            hint=f"audit {previous.period} again now that it has ended, and pass that",
        )
    if previous.period != month_before(period):
        raise UsageError(
            f"{path} covers {previous.period}; the report before {period} must cover "
            f"{month_before(period)}"
        )
    return previous


def chained_to(
    path: Path | None,
    given: Path | None,
    key: Ed25519PrivateKey,
    period: str,
    kind: str = PREDICATE_TYPE,
) -> Signed | None:
    """``read_previous`` of ``--previous``, if given, verified with ``--previous-key`` where
    given (the signing key was rotated since), else with the signing key's own."""
    if path is None:
        return None
    public = load_public(given) if given is not None else key.public_key()
    return read_previous(path, public, period, kind)


def previous_shown(previous: Signed | None, signer: str) -> str:
    """The previous report as a rendered report's signature block names it."""
    if previous is None:
        return "none (first in chain)"
    rotated = f", signed by key {previous.keyid}" if previous.keyid != signer else ""
    return f"{previous.period} sha256 {previous.digest}{rotated}"


def check_link(current: Signed, previous: Signed | None) -> str:
    """Confirm ``current`` links to exactly ``previous``, signed by the key it records (its own
    where it records none); describe the link either way."""
    link = current.predicate.get("previous")
    if previous is not None and previous.kind != current.kind:
        raise VerificationError(
            "link",
            "the previous report is not of the same kind (one repository's or an "
            "organisation's month)",
        )
    if previous is None:
        return _unchecked(link)
    if not link:
        raise VerificationError(
            "link", f"the report for {current.period} records no previous report"
        )
    expected_period = month_before(current.period)
    if previous.period != expected_period:
        raise VerificationError(
            "link", f"the previous report covers {previous.period}, expected {expected_period}"
        )
    recorded = (link.get("digest") or {}).get("sha256")
    if link.get("period") != previous.period or recorded != previous.digest:
        raise VerificationError(
            "link",
            f"the report for {current.period} links to sha256 {recorded}, but the given "
            f"previous report is sha256 {previous.digest}",
        )
    rotated = link.get("keyid")
    if previous.keyid != (rotated or current.keyid):
        said = f"by key {rotated}" if rotated else f"by its own key {current.keyid}"
        raise VerificationError(
            "link",
            f"the report for {current.period} records its previous report as signed {said}, "
            f"but the given previous report is signed by key {previous.keyid}",
        )
    if rotated:
        return f"linked to {previous.period} (sha256 {previous.digest}), signed by key {rotated}"
    return f"linked to {previous.period} (sha256 {previous.digest})"


def _unchecked(link: Any) -> str:
    """A report's link as ``verify`` shows it without the previous report to check it."""
    if not link:
        return "first in its chain (no previous report recorded)"
    rotated = f", signed by key {link['keyid']}" if link.get("keyid") else ""
    check = " and --previous-key" if rotated else ""
    return (
        f"linked to {link['period']} (sha256 {link['digest']['sha256']}){rotated}; "
        f"pass --previous{check} to check that link"
    )


def rotated_from(current: Signed) -> str | None:
    """The key id that signed the report ``current`` links to, where ``current`` records a
    change of key; None otherwise."""
    link = current.predicate.get("previous")
    rotated = link.get("keyid") if isinstance(link, dict) else None
    return rotated if isinstance(rotated, str) else None
