"""Federated mode: each system's own signed monthly audit (``DIR/NAME.json``), verified against
the key org.yaml names for it, for the month asked, linked to the audit the organisation
accepted the month before, its subjects those its report states; the central signer needs none
of the repositories. An audit that fails any check is rejected, by name, and never counts."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from checker import __version__
from checker.errors import InputError, UsageError, VerificationError
from checker.evidence.bundle import FileDigest
from checker.evidence.identities import IdentityResolver, normalise
from checker.org.attestation import ATTESTATIONS
from checker.org.judge import JUDGED, SystemResult
from checker.org.model import Organisation, System
from checker.org.scope import scope_problem, settings_problem
from checker.rules.policyset import load_policy_set
from checker.signing.attestation import (
    ORG_PREDICATE_TYPE,
    Signed,
    check_as_of,
    month_before,
    open_signed,
    subjects_problem,
)
from checker.signing.keys import load_public
from checker.signing.population import read_population
from checker.signing.verdict import check_verdict
from checker.vocabulary import DEFAULT_FAIL_ON, SEVERITIES, counted, severity_rank
from checker.waivers import held_keys

REJECTED = "rejected"


class Rejected(Exception):
    """Why a system's attestation is not accepted."""


@dataclass(frozen=True)
class Bar:
    """What the organisation asks of every system's findings, whatever the team judged with:
    none unwaived at or above ``fail_on``, and with ``require_all`` every rule evaluated. A
    waiver counts only when the organisation named its approver (``waiver_approvers``, by
    address): a team that signs its own audit also chose who approved its waivers there; and
    only when the team judged as of the organisation's ``as_of`` or later: a waiver expired by
    the day the organisation attests is no waiver there."""

    fail_on: str = DEFAULT_FAIL_ON
    require_all: bool = False
    waiver_approvers: tuple[str, ...] | None = None
    waiver_keys: Mapping[str, str] = field(default_factory=dict)
    as_of: date | None = None

    def unhonoured(self, report: dict[str, Any]) -> str | None:
        """Why the team's waived findings do not stand, or None when they do: its audit applied
        waivers from an approver the organisation does not name (a report does not say which
        approver waived which finding, so every one its audit accepted must be one of the
        organisation's), or it was judged as of a day before the organisation's."""
        listed = (report.get("parameters") or {}).get("waiver_approvers")
        ours = {normalise(a) for a in self.waiver_approvers or ()}
        if not (
            ours
            and isinstance(listed, list)
            and listed
            and all(isinstance(a, str) and normalise(a) in ours for a in listed)
        ):
            return "waived under waiver_approvers the organisation does not name"
        unsigned = self._unsigned(report, listed)
        if unsigned is not None:
            return unsigned
        judged = str(report.get("as_of"))
        if self.as_of is not None and judged < self.as_of.isoformat():
            return (
                f"waived as of {judged}, before the organisation's as-of date {self.as_of} "
                "(a waiver may have expired since)"
            )
        return None

    def _unsigned(self, report: dict[str, Any], listed: list[Any]) -> str | None:
        """Why the team's waivers were not held to the organisation's ``waiver_keys``, or
        None: for every approver its audit accepted that the organisation holds a key of, the
        audit must have required that key's signature (its ``parameters.waiver_keys``)."""
        keys = (report.get("parameters") or {}).get("waiver_keys")
        required = keys if isinstance(keys, dict) else {}
        ours = {normalise(a): k for a, k in self.waiver_keys.items()}
        # An audit joins a waiver's approver to a key under any spelling of the address (it
        # reads them with no identities.yaml): every key its audit held for the approver
        # must be the organisation's, or a waiver signed with another one counted there.
        people = IdentityResolver()
        missing = sorted(
            a
            for a in map(normalise, listed)
            if a in ours and set(map(str, held_keys(people, a, required))) != {ours[a]}
        )
        if missing:
            return (
                f"waived without the signatures of {', '.join(missing)} the organisation "
                "requires (waiver_keys): its audit did not require them with the same keys"
            )
        return None

    def verdict(self, report: dict[str, Any]) -> tuple[str, str | None]:
        """The system's verdict at this bar, and why it differs from its own, if it does."""
        own = report.get("verdict")
        unhonoured = self.unhonoured(report)
        failing = [
            f
            for f in report.get("findings") or []
            if not (unhonoured is None and _waived(f)) and _rank(f) >= severity_rank(self.fail_on)
        ]
        incomplete = self.require_all and (report.get("summary") or {}).get("complete") is not True
        if own == "pass" and failing:
            return "fail", (
                f"its own verdict is pass at --fail-on {report.get('fail_on')}; "
                f"{counted(len(failing), 'finding')} at or above {self.fail_on}"
                + _unnamed(failing, unhonoured)
            )
        if own == "pass" and incomplete:
            return "fail", "its own verdict is pass with rules not evaluated; --require-all"
        return ("pass", None) if own == "pass" else ("fail", None)


def _waived(finding: object) -> bool:
    return isinstance(finding, dict) and finding.get("waived") is True


def _unnamed(failing: list[Any], unhonoured: str | None) -> str:
    """What the failing findings owe to waivers the organisation did not honour."""
    unnamed = sum(1 for f in failing if _waived(f))
    if not unnamed:
        return ""
    return f", {unnamed} of them {unhonoured}"


def _rank(finding: object) -> int:
    """A finding's severity rank; one that is not a severity counts as the worst."""
    severity = finding.get("severity") if isinstance(finding, dict) else None
    return severity_rank(severity) if severity in SEVERITIES else len(SEVERITIES)


def collect(
    org: Organisation,
    directory: Path,
    period: str,
    *,
    partial: bool,
    previous: Signed | None,
    bar: Bar | None = None,
) -> list[SystemResult]:
    """Every system's attestation checked: accepted, or rejected with the reason."""
    from checker.org.continuity import predecessors

    _check_directory(org, directory)
    _check_previous_mode(previous, period)
    earlier = _accepted_last_month(previous)
    known_as = predecessors(org, previous)
    return [
        _one(
            system, directory, (period, partial), _known_as(system, known_as, earlier), bar or Bar()
        )
        for system in org.systems
    ]


def _check_directory(org: Organisation, directory: Path) -> None:
    """Every system names its key; every file in the directory is a system's attestation."""
    if not directory.is_dir():
        raise UsageError(f"--from-attestations {directory}: not a directory")
    for system in org.systems:
        if system.key is None:
            raise InputError(
                f"system {system.name} names no key: --from-attestations verifies each "
                "system's audit with the public key org.yaml gives it",
                path=str(org.path),
                line=system.line,
            )
    names = {f"{s.name}.json" for s in org.systems}
    for entry in sorted(directory.iterdir()):
        if entry.name not in names:
            raise InputError(
                "not the attestation of any system in "
                f"{org.path.name} (each is NAME.json, NAME a system's name)",
                path=str(entry),
                hint="remove it, or add its system to the organisation file",
            )


def _check_previous_mode(previous: Signed | None, period: str) -> None:
    """A federated audit links each team's audit to the one the organisation accepted last
    month. An attestation that judged the repositories accepted none: every team's chain
    would go unchecked, and the deployments of last month recorded after it (which the
    repositories' next audit judges) would be judged by none."""
    if previous is None or previous.predicate.get("mode") == ATTESTATIONS:
        return
    systems = previous.predicate.get("systems") or []
    if any(isinstance(e, dict) and e.get("status") == JUDGED for e in systems):
        raise UsageError(
            f"--previous: the {previous.period} attestation judged the systems' repositories; "
            "a federated audit links each team's audit to the one the organisation accepted, "
            f"and it accepted none (the records of {previous.period} recorded after it would "
            "be judged by no audit)",
            hint=f"judge {period} from the repositories, chained; or start the federated "
            "chain afresh, without --previous (verify then shows the chain starts there)",
        )


def _accepted_last_month(previous: Signed | None) -> dict[str, str] | None:
    """The digest of each system's audit the previous organisation attestation accepted."""
    if previous is None:
        return None
    accepted = {}
    for entry in previous.predicate.get("systems", []):
        attestation = entry.get("attestation") if isinstance(entry, dict) else None
        if entry.get("status") == JUDGED and isinstance(attestation, dict):
            accepted[str(entry["name"])] = str(attestation.get("sha256"))
    return accepted


def _one(
    system: System,
    directory: Path,
    month: tuple[str, bool],
    earlier: tuple[str, dict[str, str] | None],
    bar: Bar,
) -> SystemResult:
    period, partial = month
    path = directory / f"{system.name}.json"
    try:
        if not path.is_file():
            raise Rejected(f"no attestation {path.name} for {period}")
        signed = _open(path, system)
        _check(signed, (period, partial), path.name)
        _check_scope(system, signed.predicate)
        chain = _chain(signed, *earlier)
    except Rejected as exc:
        entry = {**system.record(), "status": REJECTED, "reason": str(exc)}
        return SystemResult(system.name, entry, [])
    report = signed.predicate["report"]
    verdict, differs = bar.verdict(report)
    entry = {
        **system.record(),
        "status": JUDGED,
        "verdict": verdict,
        **({"verdict_note": differs} if differs else {}),
        "head": report["inputs"]["repository"]["head"],
        "attestation": {"file": path.name, "sha256": signed.digest, "keyid": signed.keyid},
        "chain": chain,
        "audit": signed.predicate,
    }
    subjects = [{**s, "name": f"{system.name}/{s['name']}"} for s in signed.statement["subject"]]
    subjects.append({"name": f"{system.name}/attestation", "digest": {"sha256": signed.digest}})
    return SystemResult(system.name, entry, subjects)


def _open(path: Path, system: System) -> Signed:
    """Verified with the system's own key; what failed, said without this machine's paths."""
    key = system.key
    if key is None:  # checked with the directory
        raise Rejected("org.yaml names no key for it")
    try:
        signed = open_signed(path, load_public(key))
    except (InputError, VerificationError) as exc:
        said = exc.message.replace(str(path), path.name).replace(str(key), system.key_name)
        raise Rejected(said) from None
    if signed.kind == ORG_PREDICATE_TYPE:
        raise Rejected("it is an organisation's attestation, not the system's own audit")
    return signed


def _check(signed: Signed, month: tuple[str, bool], source: str) -> None:
    """The month asked, whole unless the organisation's is partial, judged after it ended,
    its population and verdict consistent, and its subjects exactly the inputs its report
    states."""
    predicate = signed.predicate
    period, partial = month
    if signed.period != period:
        raise Rejected(f"it attests {signed.period}, not {period}")
    if predicate.get("partial") and not partial:
        raise Rejected(f"it attests {period} only in part (--partial)")
    _check_as_of(period, predicate.get("as_of"), partial)
    try:
        # The team signs its own population, which the scope check reads and a sample draws
        # from, and its own verdict and completeness, which the organisation's bar reads:
        # one that does not add up is refused, as verify and sample refuse it.
        read_population(predicate)
        check_verdict(predicate, source)
    except VerificationError as exc:
        raise Rejected(exc.message) from None
    if subjects_problem(signed.statement) is not None:
        raise Rejected(
            "its subjects are not the repository HEAD and input digests its report states"
        )


def _check_as_of(period: str, recorded: object, partial: bool) -> None:
    """Judged as of a day after the month (for a partial month, up to today), not later than
    today: the rules a repository's own audit follows (``check_as_of``)."""
    try:
        as_of = date.fromisoformat(str(recorded))
    except ValueError:
        raise Rejected(f"its as-of date {recorded!r} is not a date") from None
    if as_of > datetime.now(UTC).date():
        raise Rejected(f"it was judged as of {as_of}, a day that has not come")
    try:
        check_as_of(period, as_of, partial=partial)
    except UsageError:
        raise Rejected(f"it was judged as of {as_of}, before {period} was over") from None


def _check_scope(system: System, audit: dict[str, Any]) -> None:
    """The system org.yaml describes, judged with the organisation's settings and rules."""
    problem = (
        settings_problem(system, audit) or scope_problem(system, audit) or _rules_problem(audit)
    )
    if problem is not None:
        raise Rejected(problem)


def _rules_problem(audit: dict[str, Any]) -> str | None:
    """Why the audit was not judged by the organisation's own release: another version of
    knightwatch, or shipped policies other than its own (each by its digest; a team's added
    policies aside). An earlier release, with fewer rules or a defect fixed since, signs as
    well as this one: a team that audits itself with it must not pass where this one fails."""
    tool = audit.get("tool") or {}
    if tool.get("version") != __version__:
        return (
            f"it was judged by knightwatch {tool.get('version')}, not {__version__}, the "
            "organisation's release"
        )
    report = audit.get("report") or {}
    theirs = {
        f.get("path"): f.get("sha256")
        for f in (report.get("inputs") or {}).get("files") or []
        if isinstance(f, dict) and f.get("role") == "policy"
    }
    for shipped in _shipped_policies():
        if theirs.get(shipped.path) != shipped.sha256:
            said = "with another version of" if shipped.path in theirs else "without"
            return f"it was judged {said} the shipped policy {shipped.path}"
    return None


@functools.cache
def _shipped_policies() -> tuple[FileDigest, ...]:
    return load_policy_set().files


def _known_as(
    system: System, known_as: dict[str, str], earlier: dict[str, str] | None
) -> tuple[str, dict[str, str] | None]:
    """The name the organisation accepted the system's audit under last month (renamed
    since: that of the system with its repository and evidence), with what it accepted."""
    return known_as.get(system.name, system.name), earlier


def _chain(signed: Signed, name: str, earlier: dict[str, str] | None) -> str:
    """Its link to the audit the organisation accepted last month, when that is known."""
    link = signed.predicate.get("previous")
    recorded = (link.get("digest") or {}).get("sha256") if isinstance(link, dict) else None
    if earlier is None:
        if recorded is None:
            return "first in its chain"
        return f"links to sha256 {recorded} (not checked: no previous organisation attestation)"
    if name not in earlier:
        return "not accepted last month: link not checked"
    before = month_before(signed.period)
    if not isinstance(link, dict) or link.get("period") != before or recorded != earlier[name]:
        raise Rejected(
            f"it does not link to the audit of {before} the organisation accepted "
            f"(sha256 {earlier[name]})"
        )
    return f"linked to {before} (sha256 {recorded})"
