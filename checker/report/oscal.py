"""OSCAL: the report as an OSCAL assessment-results document, built with compliance-trestle's
models (the ``oscal`` extra).

One result for the run (the audited month, or the check as of its date); an observation per
input the verdict rests on, its digest stated once (the back matter holds each file's sha256),
one per rule, and one per cause of findings (every instance's subject kept as a property); and
an OSCAL finding per NIST SP 800-53 control the rules evidence (``NIST SP 800-53 CM-5(4)``
becomes ``cm-5.4``), related to the observations of its rules, their causes and the inputs, so
the document grows with causes, not with instances times inputs; and an OSCAL finding per rule
citing no NIST control, its target in knightwatch's namespace, so that every finding of the
report is stated by one. A control is satisfied only when every rule evidencing it was
evaluated on all its evidence and has no unwaived finding; one satisfied by waivers says so.
Other references (``SEC Regulation SCI 1001(a)``) are kept as properties. Every UUID is
derived from the report's content and every time from its as-of date or period: the same
inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from checker.errors import UsageError
from checker.report.escape import json_safe, visible
from checker.report.groups import Group
from checker.report.model import Finding, Report, RuleStatus, covering, waived_by

if TYPE_CHECKING:
    from trestle.oscal import assessment_results as ar
    from trestle.oscal import common

PROPS_NS = "urn:knightwatch:oscal"
"""The namespace of knightwatch's own properties."""
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, PROPS_NS)
NIST = re.compile(r"^NIST SP 800-53 ([A-Z]{2})-(\d+)(?:\((\d+)\))?$")
EXTRA = "the oscal extra: pip install 'knightwatch[oscal]'"


def control_id(reference: str) -> str | None:
    """The NIST SP 800-53 catalog id of a control reference (``cm-3``, ``cm-5.4``), or None
    for a reference to another framework."""
    match = NIST.match(reference)
    if match is None:
        return None
    family, number, enhancement = match.groups()
    return f"{family.lower()}-{int(number)}" + (f".{int(enhancement)}" if enhancement else "")


def _text(value: str) -> str:
    """A one-line OSCAL string (no control characters, no white space at its ends)."""
    return visible(value).strip() or "-"


def _moment(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T00:00:00+00:00").astimezone(UTC)


def span(report: Report) -> tuple[datetime, datetime | None]:
    """The result's start and end: the audited month, or the as-of day of a check."""
    if report.period is None:
        return _moment(report.as_of), None
    year, month = (int(part) for part in report.period.split("-"))
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"
    return _moment(f"{report.period}-01"), _moment(following)


@dataclass(frozen=True)
class Ids:
    """Deterministic UUIDs: version 5, from the report's content and the element's role."""

    digest: str

    def of(self, *parts: str) -> str:
        """The UUID of one element of the document."""
        return str(uuid.uuid5(NAMESPACE, "/".join((self.digest, *parts))))


def _prop(name: str, value: str) -> common.Property:
    from trestle.oscal import common

    return common.Property(name=name, ns=PROPS_NS, value=_text(value))


def _back_matter(report: Report, ids: Ids) -> common.BackMatter:
    """The assessment's inputs: the repository HEAD, every evidence, policy and
    configuration file with its sha256, and the policies as the plan it followed."""
    from trestle.oscal import common

    resources = [
        common.Resource(
            uuid=ids.of("plan"),
            title="knightwatch policies",
            description="The rules of this assessment: the policy files below, each with its "
            "sha256, evaluated on the repository and the evidence files.",
        ),
        common.Resource(
            uuid=ids.of("input", "git:HEAD"),
            title="repository HEAD",
            props=[_prop("git-commit", report.head)],
        ),
    ]
    if report.branch is not None:
        resources.append(
            common.Resource(
                uuid=ids.of("input", "git:protected-branch"),
                title=_text(f"protected branch {report.branch.name}"),
                description=_text(f"The protected branch {report.branch.describe()}."),
                props=[
                    _prop("git-branch", report.branch.name),
                    _prop("git-ref", report.branch.ref),
                    _prop("git-commit", report.branch.commit),
                ],
            )
        )
    for file in report.files:
        resources.append(
            common.Resource(
                uuid=ids.of("input", file.role, file.path),
                title=_text(f"{file.role} file {file.path}"),
                props=[_prop("role", file.role)],
                rlinks=[
                    common.Rlink(
                        href=_text(file.path),
                        hashes=[common.Hash(algorithm="SHA-256", value=file.sha256)],
                    )
                ],
            )
        )
    return common.BackMatter(resources=resources)


def _inputs(report: Report) -> list[tuple[str, str, str, str]]:
    """What the verdict rests on, each once: (role, path, title, description), the repository
    HEAD first, then every file but the policies (the plan's)."""
    head = [("git", "HEAD", "repository HEAD", f"repository HEAD {report.head}")]
    if report.branch is not None:
        said = f"protected branch {report.branch.describe()}"
        head.append(("git", "protected-branch", f"protected branch {report.branch.name}", said))
    return head + [
        (f.role, f.path, f"{f.role} file {f.path}", f"{f.role} file {f.path}, sha256 {f.sha256}")
        for f in report.files
        if f.role != "policy"
    ]


def _resource(ids: Ids, role: str, path: str) -> str:
    """The uuid of an input's back-matter resource (``git:HEAD``, ``git:protected-branch``)."""
    return ids.of("input", f"git:{path}") if role == "git" else ids.of("input", role, path)


def _evidence_observations(
    report: Report, ids: Ids, collected: datetime
) -> list[common.Observation]:
    """One observation per input, its digest stated once: every finding of a control points
    at these, however many instances it has."""
    from trestle.oscal import common

    return [
        common.Observation(
            uuid=ids.of("evidence", role, path),
            title=_text(f"input: {title}"),
            description=_text(description),
            props=[_prop("role", role)],
            methods=["EXAMINE"],
            relevant_evidence=[
                common.RelevantEvidence(
                    href=f"#{_resource(ids, role, path)}", description=_text(description)
                )
            ],
            collected=collected,
        )
        for role, path, title, description in _inputs(report)
    ]


def _evidence_ids(report: Report, ids: Ids) -> list[str]:
    return [ids.of("evidence", role, path) for role, path, _, _ in _inputs(report)]


def _references(controls: tuple[str, ...]) -> list[common.Property]:
    return [_prop("control-reference", c) for c in controls]


def _rule_observation(
    report: Report, rule: RuleStatus, ids: Ids, collected: datetime
) -> common.Observation:
    from trestle.oscal import common

    found = [f for f in report.findings if f.rule == rule.id]
    if not rule.evaluated:
        description = f"Not evaluated: {rule.reason or 'not asked'}."
    else:
        waived = sum(1 for f in found if f.waived)
        description = f"Evaluated: {len(found)} findings ({waived} waived)." + (
            f" Judged on part of its evidence: {rule.reason}." if rule.partial else ""
        )
    return common.Observation(
        uuid=ids.of("rule", rule.id),
        title=_text(f"{rule.id}: {rule.title}"),
        description=description,
        props=[
            _prop("rule", rule.id),
            _prop("severity", rule.severity),
            _prop("status", "evaluated" if rule.evaluated else "not-evaluated"),
            *_references(rule.controls),
        ],
        methods=["EXAMINE"],
        types=["control-objective"],
        collected=collected,
    )


def _cause_id(ids: Ids, group: Group) -> str:
    return ids.of("cause", group.rule, group.key)


def _group_observation(
    report: Report, group: Group, ids: Ids, collected: datetime
) -> common.Observation:
    """One observation per cause: its statement once, and every instance's subject; where
    some are waived, the waivers that covered them in its remarks."""
    from trestle.oscal import common

    first = group.first_finding
    description = visible(first.message)
    if group.count > 1:
        count, _ = group.fold(0)
        description = f"{visible(group.statement)} ({count})."
    return common.Observation(
        uuid=_cause_id(ids, group),
        title=_text(f"{group.rule} {group.key}"),
        description=description,
        props=[
            _prop("rule", group.rule),
            _prop("severity", group.severity),
            *([_prop("cause", group.key)] if group.caused else []),
            _prop("instances", str(group.count)),
            *(_prop("subject", subject) for subject in group.subjects),
            *(_prop("waived-subject", f.subject) for f in group.findings if f.waived),
            _prop("waived", "true" if group.waived == group.count else "false"),
            _prop("fails", "true" if group.failing(report.fails_at) else "false"),
            *_references(first.controls),
        ],
        methods=["EXAMINE"],
        types=["finding"],
        collected=collected,
        remarks=_text(waived_by(group.findings)) if group.waived else None,
    )


def _status(report: Report, rules: list[RuleStatus]) -> tuple[str, str, str]:
    """State, reason and remarks of one target (a control, or a rule citing none): satisfied
    only when every rule evidencing it was evaluated whole and has no unwaived finding; one
    whose findings are all waived says so, and why."""
    names = {r.id for r in rules}
    findings = [f for f in report.findings if f.rule in names]
    unjudged = [r.id for r in rules if not r.evaluated or r.partial]
    failed = sorted({f.rule for f in findings if not f.waived})
    if failed:
        return "not-satisfied", "fail", f"Unwaived findings of {', '.join(failed)}."
    if unjudged:
        return (
            "not-satisfied",
            "other",
            f"Not judged on all its evidence: {', '.join(unjudged)}; nothing may be claimed.",
        )
    if findings:
        return "satisfied", "pass", _waived(findings)
    return "satisfied", "pass", "Every rule evidencing it was evaluated and found nothing."


def _waived(findings: list[Finding]) -> str:
    """The remarks of a target whose findings are all waived: how many, and each waiver
    that covered one of them, with its reason."""
    rules = sorted({f.rule for f in findings})
    why = covering(findings)
    return (
        "Every rule evidencing it was evaluated; every finding is waived "
        f"({len(findings):,} of {', '.join(rules)}): "
        + ("; ".join(why) if why else "see the waivers file among the inputs")
        + "."
    )


@dataclass(frozen=True)
class Target:
    """What an OSCAL finding is about: a NIST control, or a rule citing none (knightwatch's
    own objective, so that its findings are stated too)."""

    key: str
    """``cm-5.4``, or ``knightwatch-acme-001``."""
    kind: str
    """``statement-id`` for a control, ``objective-id`` for a rule."""
    title: str
    references: tuple[str, ...]
    rules: tuple[RuleStatus, ...]


def _targets(report: Report) -> list[Target]:
    """One target per NIST control any rule cites, then one per rule citing none."""
    by_control: dict[str, tuple[str, list[RuleStatus]]] = {}
    for rule in report.rules:
        for reference in rule.controls:
            cid = control_id(reference)
            if cid is not None:
                by_control.setdefault(cid, (reference, []))[1].append(rule)
    targets = [
        Target(cid, "statement-id", f"{cid}: {reference}", (reference,), tuple(rules))
        for cid, (reference, rules) in sorted(by_control.items())
    ]
    return targets + [
        Target(
            f"knightwatch-{rule.id.lower()}",
            "objective-id",
            _text(f"{rule.id}: {rule.title}"),
            rule.controls,
            (rule,),
        )
        for rule in sorted(report.rules, key=lambda r: r.id)
        if not any(control_id(c) for c in rule.controls)
    ]


def _control_findings(report: Report, ids: Ids) -> list[common.Finding]:
    """One OSCAL finding per NIST control any rule evidences, and one per rule that cites
    no NIST control (its target in knightwatch's namespace, its references as properties):
    every finding of the report is stated by some OSCAL finding."""
    from trestle.oscal import common

    out = []
    for target in _targets(report):
        names = {r.id for r in target.rules}
        state, reason, remarks = _status(report, list(target.rules))
        observations = [ids.of("rule", r.id) for r in target.rules]
        observations += [_cause_id(ids, g) for g in report.groups if g.rule in names]
        observations += _evidence_ids(report, ids)
        own = target.kind == "objective-id"
        out.append(
            common.Finding(
                uuid=ids.of("control", target.key),
                title=target.title,
                description=_text(
                    f"{'; '.join(target.references) or 'No control reference'}, evidenced by "
                    f"{', '.join(sorted(names))}."
                    + (" It cites no NIST SP 800-53 control." if own else "")
                ),
                props=[
                    *_references(target.references),
                    *([_prop("rule", target.rules[0].id)] if own else []),
                ]
                or None,
                target=common.FindingTarget(
                    type=target.kind,
                    target_id=target.key if own else f"{target.key}_smt",
                    props=[_prop("target-namespace", PROPS_NS)] if own else None,
                    status=common.ObjectiveStatus(state=state, reason=reason, remarks=remarks),
                ),
                related_observations=[
                    common.RelatedObservation(observation_uuid=o) for o in observations
                ],
            )
        )
    return out


def _reviewed(cids: list[str]) -> common.ReviewedControls:
    """The NIST controls the rules cite. OSCAL needs at least one selection: with none cited
    (a policy set of its own), the selection is every control, and it says that none was
    judged; no finding then claims any control."""
    from trestle.oscal import common

    if cids:
        chosen = [common.SelectControlById(control_id=c) for c in cids]
        return common.ReviewedControls(
            control_selections=[common.ControlSelections(include_controls=chosen)]
        )
    return common.ReviewedControls(
        description="No rule of this assessment cites a NIST SP 800-53 control: no control "
        "is claimed satisfied or not; see the observations.",
        control_selections=[common.ControlSelectionsAll(include_all=common.IncludeAll())],
    )


def _result(report: Report, ids: Ids) -> ar.Result:
    from trestle.oscal import assessment_results as ar

    start, end = span(report)
    collected = end or start
    cids = sorted({c for r in report.rules for ref in r.controls if (c := control_id(ref))})
    observations = _evidence_observations(report, ids, collected)
    observations += [_rule_observation(report, r, ids, collected) for r in report.rules]
    observations += [_group_observation(report, g, ids, collected) for g in report.groups]
    return ar.Result(
        uuid=ids.of("result"),
        title=f"Audit of {report.period}" if report.period else f"Check as of {report.as_of}",
        description=" ".join(filter(None, [report.headline, f"Verdict: {report.verdict_line}."])),
        start=start,
        end=end,
        props=[
            _prop("verdict", report.verdict),
            _prop("fail-on", report.fail_on),
            _prop("complete", "true" if report.complete else "false"),
            *(_prop(name, str(count)) for name, count in sorted(report.counts.items())),
            *_setting_props(report),
            *_branch_props(report),
        ],
        remarks=report.stale_branch_note,
        reviewed_controls=_reviewed(cids),
        observations=observations,
        findings=_control_findings(report, ids) or None,
    )


def _branch_props(report: Report) -> list[common.Property]:
    """The protected branch REVIEW-003 was judged against: its name, the ref read, its tip."""
    if report.branch is None:
        return []
    return [
        _prop("protected-branch", report.branch.name),
        _prop("protected-branch-ref", report.branch.ref),
        _prop("protected-branch-commit", report.branch.commit),
    ]


def _setting_props(report: Report) -> list[common.Property]:
    """Each judging setting that weakens or changes the rules, and each the audit did not
    apply, as the human formats word it."""
    props = [_prop("weakening-setting", n.describe()) for n in report.weakening]
    return props + [
        _prop("setting-not-applied", n.describe()) for n in report.settings if not n.applied
    ]


def document(report: Report) -> ar.AssessmentResults:
    """The report as trestle's AssessmentResults model."""
    try:
        from trestle.oscal import OSCAL_VERSION, common
        from trestle.oscal import assessment_results as ar
    except ImportError as exc:
        raise UsageError(f"--format oscal needs {EXTRA}") from exc
    content = json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False)
    ids = Ids(hashlib.sha256(content.encode()).hexdigest())
    return ar.AssessmentResults(
        uuid=ids.of("assessment-results"),
        metadata=common.Metadata(
            title=f"knightwatch assessment results: {report.period or 'as of ' + report.as_of}",
            last_modified=_moment(report.as_of),
            version=report.as_of,
            oscal_version=OSCAL_VERSION,
            props=[_prop("tool-version", report.tool_version)],
        ),
        import_ap=ar.ImportAp(href=f"#{ids.of('plan')}"),
        results=[_result(report, ids)],
        back_matter=_back_matter(report, ids),
    )


class OscalRenderer:
    """``--format oscal``."""

    name = "oscal"
    media_type = "application/json"

    def render(self, report: Report, *, color: bool = False) -> str:
        """The OSCAL assessment-results document, indented JSON with a final newline."""
        model = document(report)
        text = json.dumps(json.loads(model.oscal_serialize_json()), indent=2, ensure_ascii=False)
        return json_safe(text) + "\n"
