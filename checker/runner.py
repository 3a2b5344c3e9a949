"""The pipeline: evidence and history → engine input → findings → waivers → report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from checker import __version__
from checker.config import Config, load_config
from checker.engine import ENGINES, Engine
from checker.engine.base import UNDEFINED
from checker.engine.metadata import RuleMeta, format_message
from checker.errors import PolicyError
from checker.evidence.bundle import Evidence, FileDigest, load_evidence
from checker.evidence.git import GitHistory
from checker.facts import Facts, Parameters, collect_facts
from checker.policyset import PolicySet, load_policy_set
from checker.report.model import DEFAULT_FAIL_ON, Finding, InputFile, Report, RuleStatus
from checker.waivers import apply_waivers

DEFAULT_EVIDENCE = "compliance"


@dataclass(frozen=True)
class CheckOptions:
    """What the user asked for; ``None`` means: knightwatch.yaml, then the default."""

    repo: Path = Path()
    evidence: Path | None = None
    fail_on: str | None = None
    as_of: date | None = None
    protected_branch: str | None = None
    baseline: str | None = None
    policy_dirs: list[Path] = field(default_factory=list)
    engine: str = "regorus"
    period: str | None = None
    """``YYYY-MM``: judge the deployments that started in that month (UTC)."""


@dataclass(frozen=True)
class Prepared:
    """Everything collected before any policy runs."""

    config: Config
    evidence: Evidence
    policies: PolicySet
    params: Parameters
    facts: Facts
    as_of: date
    files: tuple[FileDigest, ...]


def today_utc() -> date:
    """The default as-of date: today, in UTC."""
    return datetime.now(UTC).date()


def prepare(options: CheckOptions) -> Prepared:
    """Read the repository, the configuration, the evidence and the policies; derive the facts."""
    history = GitHistory(options.repo)
    config, config_digest = load_config(history.root)
    evidence_dir = options.evidence or history.root / (config.evidence or DEFAULT_EVIDENCE)
    evidence = load_evidence(evidence_dir)
    policy_dirs = [history.root / p for p in config.policies] + list(options.policy_dirs)
    policies = load_policy_set(policy_dirs)
    params = Parameters(
        protected_branch=options.protected_branch or config.protected_branch,
        baseline=options.baseline or config.baseline,
        flags_file=config.flags_file,
        reference_exclude=tuple(config.reference_exclude),
        review_bots=tuple(config.review_bots),
        observation_grace_seconds=config.observation_grace_seconds,
        period=options.period,
    )
    facts = collect_facts(history, evidence, params)
    files = [*evidence.files, *policies.files, *([config_digest] if config_digest else [])]
    return Prepared(
        config=config,
        evidence=evidence,
        policies=policies,
        params=params,
        facts=facts,
        as_of=options.as_of or today_utc(),
        files=tuple(sorted(files, key=lambda f: (f.role, f.path))),
    )


def run_check(options: CheckOptions) -> Report:
    """Collect, evaluate and report; raises KnightwatchError on anything the user must fix."""
    return evaluate(prepare(options), options).report


@dataclass(frozen=True)
class Evaluation:
    """A report, and the exact input and data documents its rules were evaluated on."""

    report: Report
    input: dict[str, Any]
    data: dict[str, Any]


def evaluate(prepared: Prepared, options: CheckOptions) -> Evaluation:
    """Run every rule on the prepared facts: findings, then waivers, then waiver rules."""
    engine = ENGINES[options.engine]()
    engine.load(list(prepared.policies.modules))
    engine.set_data(prepared.facts.data)
    engine.set_input(prepared.facts.input)
    first = [r for r in prepared.policies.rules if r.stage == "findings"]
    statuses, findings = evaluate_rules(engine, first, prepared.evidence)

    findings, waiver_facts = apply_waivers(prepared.evidence.waivers, findings, prepared.as_of)
    final_input = {**prepared.facts.input, "waivers": waiver_facts}
    later = [r for r in prepared.policies.rules if r.stage == "waivers"]
    if later:
        engine.set_input(final_input)
        more_statuses, more_findings = evaluate_rules(engine, later, prepared.evidence)
        statuses += more_statuses
        findings += more_findings

    params = prepared.params
    report = Report(
        findings=tuple(sorted(findings, key=lambda f: (f.rule, f.subject))),
        rules=tuple(sorted(statuses, key=lambda s: s.id)),
        fail_on=options.fail_on or prepared.config.fail_on or DEFAULT_FAIL_ON,
        as_of=prepared.as_of.isoformat(),
        head=prepared.facts.head,
        files=tuple(InputFile(f.role, f.path, f.sha256) for f in prepared.files),
        tool_version=__version__,
        engine=engine.version(),
        period=params.period,
        parameters={
            "protected_branch": params.protected_branch,
            "baseline": prepared.facts.baseline_sha,
            "flags_file": params.flags_file,
            "reference_exclude": list(params.reference_exclude),
            "review_bots": list(params.review_bots),
            "observation_grace_seconds": params.observation_grace_seconds,
        },
        counts={
            "deployments": len(prepared.facts.input["deployments"]),
            "commits_shipped": prepared.facts.shipped_count,
        },
    )
    return Evaluation(report, final_input, prepared.facts.data)


def evaluate_rules(
    engine: Engine, rules: list[RuleMeta], evidence: Evidence
) -> tuple[list[RuleStatus], list[Finding]]:
    """Evaluate every rule whose evidence is present; the rest are not evaluated."""
    statuses: list[RuleStatus] = []
    findings: list[Finding] = []
    for rule in rules:
        missing = [name for name in rule.requires if name not in evidence.present]
        if missing:
            reason = "no " + " or ".join(missing) + " evidence"
            statuses.append(_status(rule, evaluated=False, reason=reason))
            continue
        value = engine.evaluate(rule.path)
        findings.extend(_findings(rule, value))
        absent = [name for name in rule.optional if name not in evidence.present]
        partial = "judged without " + " or ".join(absent) + " evidence" if absent else None
        statuses.append(_status(rule, evaluated=True, reason=partial))
    return statuses, findings


def _status(rule: RuleMeta, *, evaluated: bool, reason: str | None = None) -> RuleStatus:
    return RuleStatus(rule.id, rule.title, rule.severity, rule.controls, evaluated, reason)


def _findings(rule: RuleMeta, value: Any) -> list[Finding]:
    if value is UNDEFINED:
        return []
    if not isinstance(value, list):
        raise PolicyError(
            f"{rule.file}:{rule.line}: rule {rule.id} ({rule.path}) must be a set of "
            f"subjects or of objects with a subject, not {type(value).__name__}"
        )
    out: dict[str, Finding] = {}
    for item in value:
        fields = {"subject": item} if isinstance(item, str) else item
        if not isinstance(fields, dict) or not isinstance(fields.get("subject"), str):
            raise PolicyError(
                f"{rule.file}:{rule.line}: rule {rule.id} emitted {item!r}; each element must "
                "be a subject string or an object with a string 'subject'"
            )
        subject = fields["subject"]
        finding = Finding(
            rule=rule.id,
            severity=rule.severity,
            subject=subject,
            message=format_message(rule, fields),
            controls=rule.controls,
            title=rule.title,
        )
        # One finding per subject: a rule emitting two objects for one subject keeps the first
        # in a stable order, so the report never depends on the engine's set ordering.
        if subject not in out or finding.message < out[subject].message:
            out[subject] = finding
    return list(out.values())
