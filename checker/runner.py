"""The pipeline: evidence and history → engine input → findings → waivers → report."""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from checker import __version__
from checker.cache import FactCache
from checker.config import Config, load_config, option_examples
from checker.engine import Engine, EngineSettings, Limits, create_engine
from checker.engine.base import UNDEFINED
from checker.engine.isolated import DEFAULT_LIMITS
from checker.errors import InputError, PolicyError, UsageError
from checker.evidence.bundle import Evidence, FileDigest, load_evidence, recorded_commits
from checker.evidence.flagnames import flag_key
from checker.evidence.git import GitHistory
from checker.evidence.identities import IdentityResolver, normalise
from checker.evidence.integrity import (
    check_deployment_targets,
    check_gate_target,
    check_references,
    check_scoped_services,
)
from checker.evidence.protected import (
    ProtectedFiles,
    branch_config,
    in_work_tree,
    protected_files,
    refuse_tracked,
)
from checker.facts.collect import (
    Attested,
    Facts,
    Parameters,
    check_same_repository,
    collect_facts,
)
from checker.facts.coverage import Coverage
from checker.facts.deadcode import begin_registry_walk
from checker.facts.document import InputDocument, Registry
from checker.facts.revisions import protected_tip
from checker.gate import Gate
from checker.memory import paused_collection
from checker.report.model import Finding, InputFile, Report, RuleStatus
from checker.report.moments import Moments
from checker.rules.catalog import rule_data
from checker.rules.metadata import (
    RuleMeta,
    format_cause,
    format_message,
    format_statement,
    template_fields,
    template_order,
)
from checker.rules.policyset import PolicySet, load_policy_set
from checker.settings import SettingNote, Settings, linked_evidence, resolve
from checker.signing.waivers import parse_key, repository_of
from checker.timing import stage
from checker.vocabulary import DEFAULT_ENGINE, DEFAULT_EVIDENCE, DEFAULT_FAIL_ON
from checker.waivers import (
    UNASKED_HINT,
    Actors,
    apply_waivers,
    check_waivers,
    people_keys,
    repurposings,
    unasked_key,
)


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
    engine: str | None = None
    """``regorus`` (embedded) or ``opa``; None: knightwatch.yaml, then regorus."""
    opa_url: str | None = None
    opa_timeout: float | None = None
    opa_ca: Path | None = None
    policy_timeout: float | None = None
    """Seconds one rule may take on the embedded engine (None: the default)."""
    policy_memory: int | None = None
    """MiB the embedded engine's evaluation may add (None: the default)."""
    period: str | None = None
    """``YYYY-MM``: judge the deployments that started in that month (UTC)."""
    gate: Gate | None = None
    """``check --candidate``: judge a deployment of a revision before it happens."""
    require_all: bool | None = None
    """A pass with rules not evaluated fails; None: knightwatch.yaml, then no."""
    config_file: Path | None = None
    """An auditor's configuration file (``--config``): over knightwatch.yaml, under flags."""
    audit: bool = False
    """A signed audit: the repository's knightwatch.yaml may only make the rules stricter."""
    recorded: dict[str, Any] | None = None
    """A replay's recorded settings, applied as the command line's would be."""
    cache_dir: Path | None = None
    """Where facts of git objects are kept across runs (``checker.cache``); None: no cache."""
    attested: Attested | None = None
    """A monthly audit's ``--previous``: what the month before's attestation judged."""

    org_settings: dict[str, Any] = field(default_factory=dict)
    """What an organisation file sets for this system (its services' ``service_paths``),
    applied from the auditor's side like the command line's settings."""

    @property
    def auditors_side(self) -> bool:
        """Whether the auditor's side alone may weaken the rules: in an audit, and at a gate,
        which says what the audit will once its candidate is deployed. The repository's own
        knightwatch.yaml (the candidate's own, in its tree) then only makes the rules stricter,
        and a waiver counts only when the auditor's side names its approver."""
        return self.audit or self.gate is not None

    def overrides(self) -> dict[str, Any]:
        """The settings given on the command line (or recorded), by their config names."""
        if self.recorded is not None:
            return dict(self.recorded)
        given = {
            **self.org_settings,
            "fail_on": self.fail_on,
            "protected_branch": self.protected_branch,
            "baseline": self.baseline,
            "require_all": self.require_all,
        }
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class Prepared:
    """Everything collected before any policy runs."""

    settings: Settings
    evidence: Evidence
    policies: PolicySet
    params: Parameters
    facts: Facts
    as_of: date
    files: tuple[FileDigest, ...]
    root: Path
    repository: str = ""
    """What a signed waiver must be signed for (``repository_of``); read where there are keys."""

    @property
    def data(self) -> dict[str, Any]:
        """The data document the policies read: the rules' parameters, and the catalog's
        message templates (for the policies' own ``deny`` results)."""
        return {
            "knightwatch": {
                "params": self.facts.params,
                "rules": rule_data(self.policies.rules),
            }
        }


def today_utc() -> date:
    """The default as-of date: today, in UTC."""
    return datetime.now(UTC).date()


def prepare(options: CheckOptions) -> Prepared:
    """Read the repository, the configuration, the evidence and the policies; derive the facts."""
    with stage("git read"):
        history = GitHistory(options.repo)
    try:
        return _prepare(history, options)
    finally:
        history.close()


def _prepare(history: GitHistory, options: CheckOptions) -> Prepared:
    repo_config, config_digest = load_config(history.root, options.repo)
    settings = _settings(history, options, repo_config)
    _refuse_changes_own(history, options, settings, repo_config)
    config = settings.config
    as_of = options.as_of or today_utc()
    cache = FactCache(options.cache_dir)
    try:
        _begin_walks(history, options, config, cache)
        check_same_repository(history, options.attested)
        evidence = _evidence(history, options, settings, as_of)
        settings = _noted_links(history, options, settings, evidence)
        with stage("engine load"):
            policies = load_policy_set(
                [*settings.policy_dirs, *options.policy_dirs],
                repository=history.root,
                own=_own_policy_dirs(options, settings),
            )
        check_waivers(evidence, policies.rules, as_of)
        params = Parameters(
            rules=config,
            period=options.period,
            gate=options.gate,
            attested=options.attested,
            as_of=as_of,
        )
        facts = collect_facts(history, evidence, params, cache)
    except BaseException:
        cache.close(write=False)  # facts of a run that failed may rest on what failed it
        raise
    with stage("cache write"):
        history.keep_sealed(cache)
        cache.close()
    files = [*evidence.files, *policies.files, *([config_digest] if config_digest else [])]
    return Prepared(
        settings=settings,
        evidence=evidence,
        policies=policies,
        params=params,
        facts=facts,
        as_of=as_of,
        files=tuple(sorted(files, key=lambda f: (f.role, f.path))),
        root=history.root,
        repository=repository_of(history) if config.waiver_keys else "",
    )


def _settings(history: GitHistory, options: CheckOptions, repo: Config) -> Settings:
    """The run's settings. At a gate, the repository's ``evidence`` setting is the protected
    branch's knightwatch.yaml's: the work tree's is the change's own, and a change that named
    another directory (outside the work tree, a submodule, another directory of the branch)
    had its gate read records of its choosing. The work tree's is then noted as not applied."""
    settings = _resolve(history, options, repo)
    if options.gate is None or options.evidence is not None:
        return settings
    if settings.config.evidence != repo.evidence:  # the platform's --config names it
        return settings
    branch = settings.config.protected_branch
    kept = branch_config(history, branch, protected_tip(history, branch)).evidence
    if kept == repo.evidence:
        return settings
    settings = _resolve(history, options, repo.model_copy(update={"evidence": kept}))
    note = SettingNote("evidence", repo.evidence, kept, "knightwatch.yaml", "changed", False)
    notes = sorted([*settings.notes, note], key=lambda n: (n.name, n.applied))
    return replace(settings, notes=tuple(notes))


def _refuse_changes_own(
    history: GitHistory, options: CheckOptions, settings: Settings, repo: Config
) -> None:
    """At a gate, the platform's ``--config`` and policy directories (the command line's, and
    those its ``--config`` names) may not be files the change's commits track: the change
    could have edited them (``refuse_tracked``). The repository's own policy directories
    (``policies:`` in its knightwatch.yaml) are its own rules, in the change as in the audit."""
    if options.gate is None:
        return
    own = {history.root / entry for entry in repo.policies}
    paths = [
        *([options.config_file] if options.config_file is not None else []),
        *options.policy_dirs,
        *(directory for directory in settings.policy_dirs if directory not in own),
    ]
    if not paths:
        return
    candidate = _candidate_commit(history, options.gate)  # first: it names a damaged ref
    commits = {"HEAD": history.head(), "the candidate": candidate}
    for path in paths:
        refuse_tracked(history, path, commits)


def _resolve(history: GitHistory, options: CheckOptions, repo: Config) -> Settings:
    return resolve(
        history.root,
        repo,
        auditor=options.config_file,
        overrides=options.overrides(),
        overrides_source="replay" if options.recorded is not None else "command line",
        audit=options.auditors_side,
    )


def _begin_walks(
    history: GitHistory, options: CheckOptions, config: Config, cache: FactCache
) -> None:
    """Seal the object store (what runs before this one hashed under the same seal is not
    hashed again), then begin git's first walk while the evidence is read: most deployed
    commits lie on the protected branch, so git walks its history and the facts then read
    only what is left (often nothing); a gate, which reads only what its candidate ships,
    begins the registry's walk instead."""
    history.use_seal(cache)
    if options.gate is not None:
        _walk_ahead(history, options, options.gate, config, cache)
        return
    branch_tip = history.resolve_branch(config.protected_branch)
    if branch_tip is not None:
        history.load_in_background([branch_tip])


def _evidence(
    history: GitHistory, options: CheckOptions, settings: Settings, as_of: date
) -> Evidence:
    """The evidence directory read, its records joined up, and a gate's candidate added."""
    config = settings.config
    source = next((n.source for n in settings.weakening if n.name == "service_paths"), "")
    gate = options.gate
    directory = _evidence_directory(history, options, config)
    files = _gate_files(history, directory, gate, config) if gate is not None else None
    with stage("evidence load"):
        evidence = load_evidence(
            directory,
            scope=gate.scope if gate is not None else None,
            ignore=config.evidence_ignore,
            registry=config.flags_file,
            files=files,
        )
        if files is not None:
            evidence.read_as = files.record()
        names = check_references(evidence, config.unlisted_services)
        check_scoped_services(evidence, names, config.service_paths, source)
    if gate is not None:
        check_gate_target(names, evidence, gate.service, gate.environment)
        candidate = _candidate_commit(history, gate)
        if options.as_of is not None:
            written = history.committed_at(candidate)
            gate.check_as_of(options.as_of, written, evidence, today_utc())
        evidence.add_deployment(gate.record(evidence, candidate, as_of))
        # The candidate reaches every host of its service: none may run it in another
        # environment (records labelled prod beside the gate's production).
        check_deployment_targets(evidence, names)
    return evidence


def _own_policy_dirs(options: CheckOptions, settings: Settings) -> list[Path]:
    """The policy directories the repository's knightwatch.yaml alone names: one that the
    command line or an auditor's ``--config`` names too is theirs, so that a repository
    naming the auditor's directory does not take its rules to its own side."""
    theirs = {directory.resolve() for directory in options.policy_dirs}
    return [d for d in settings.own_policy_dirs if d.resolve() not in theirs]


def _noted_links(
    history: GitHistory, options: CheckOptions, settings: Settings, evidence: Evidence
) -> Settings:
    """``settings`` with a note for each link in the repository the evidence is read through
    (``linked_evidence``); a gate reads its evidence as the protected branch has it."""
    if evidence.read_as is not None:
        return settings
    directory = _evidence_directory(history, options, settings.config)
    names = [f.path for f in evidence.files if f.role == "evidence"]
    notes = linked_evidence(history.root, directory, names)
    if not notes:
        return settings
    ordered = sorted([*settings.notes, *notes], key=lambda n: (n.name, not n.applied))
    return replace(settings, notes=tuple(ordered))


def _gate_files(
    history: GitHistory, directory: Path, gate: Gate, config: Config
) -> ProtectedFiles | None:
    """Where a gate reads its evidence: an evidence directory in the work tree (the change's
    own tree, in CI) as the protected branch has it, and of the files the branch does not
    have, only those neither HEAD nor the candidate tracks; None for one outside it."""
    if in_work_tree(history.root, directory) is None:
        return None
    branch = config.protected_branch
    tip = protected_tip(history, branch)
    checked_out = {"HEAD": history.head(), "the candidate": _candidate_commit(history, gate)}
    return protected_files(history, directory, branch, tip, checked_out)


def _candidate_commit(history: GitHistory, gate: Gate) -> str:
    """The commit ``--candidate`` names, which the candidate records by its full sha. It may
    be a ref; but a name shaped like a sha that is also a ref (a branch ``a966ec6b`` beside
    the commit ``a966ec6b...``) is refused, as it is in the evidence: git takes the ref, and
    the gate would judge whatever commit the ref points at. Resolved once a run: the files
    the candidate tracks and the deployment it is judged as are of the same commit, whatever
    the ref does meanwhile."""
    resolved = _CANDIDATES.setdefault(history, {})
    if gate.revision not in resolved:
        sha = history.resolve_option("--candidate", gate.revision)
        if sha is None:
            history.refuse_unreadable_ref(gate.revision)
            raise UsageError(f"--candidate {gate.revision!r} does not resolve to a commit")
        resolved[gate.revision] = sha
    return resolved[gate.revision]


_CANDIDATES: weakref.WeakKeyDictionary[GitHistory, dict[str, str]] = weakref.WeakKeyDictionary()
"""Each run's ``--candidate``, by the name given, as ``_candidate_commit`` resolved it."""


def _evidence_directory(history: GitHistory, options: CheckOptions, config: Config) -> Path:
    return options.evidence or history.root / (config.evidence or DEFAULT_EVIDENCE)


def _walk_ahead(
    history: GitHistory, options: CheckOptions, gate: Gate, config: Config, cache: FactCache
) -> None:
    """Begin a gate's walk of the registry's history while its evidence is read, from the
    tips the run will have if the evidence says what a quick look at it suggests (the
    commits of the candidate's stream, the candidate, the branch, the baseline). The run
    takes that walk only if its tips are exactly these; a wrong guess costs a walk, not a
    verdict, and never an error: whatever the run will refuse (a record naming a commit by
    anything but its id, a revision git cannot read) it refuses in its own order, with its
    own message."""
    needle = json.dumps(gate.service, ensure_ascii=False).encode()
    directory = _evidence_directory(history, options, config)
    commits = recorded_commits(directory, gate.stream, needle)
    if commits is None or not all(_OBJECT_ID.fullmatch(commit) for commit in commits):
        return
    names = [*commits, gate.revision, *([config.baseline] if config.baseline else [])]
    try:
        resolved = history.resolve(names)
        branch = history.resolve_branch(config.protected_branch)
    except InputError:
        return
    tips = [sha for sha in resolved.values() if sha is not None]
    if branch is not None and len(tips) == len(resolved):
        begin_registry_walk(history, config.flags_file, [*tips, branch], cache)


_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def run_check(options: CheckOptions) -> Report:
    """Collect, evaluate and report; raises KnightwatchError on anything the user must fix."""
    return run_pipeline(options).report


def run_pipeline(options: CheckOptions) -> Evaluation:
    """Collect and evaluate, with the cyclic garbage collector paused (``paused_collection``:
    the run's objects live to its end, and collections that traverse them all again cost a
    third of a large month's time); it is as it was afterwards, so that a process judging
    many systems in turn frees each one's cycles."""
    with paused_collection():
        return evaluate(prepare(options), options)


@dataclass(frozen=True)
class Evaluation:
    """A report, and the exact input and data documents its rules were evaluated on."""

    report: Report
    input: InputDocument
    data: dict[str, Any]


def evaluate(prepared: Prepared, options: CheckOptions) -> Evaluation:
    """Run every rule on the prepared facts: findings, then waivers, then waiver rules."""
    engine = create_engine(engine_settings(options, prepared.settings))
    try:
        return _evaluate(engine, prepared, options)
    finally:
        engine.close()


def engine_settings(options: CheckOptions, settings: Settings) -> EngineSettings:
    """The command line's choice of engine, else the configuration's, else the embedded one."""
    config = settings.config
    return EngineSettings(
        name=options.engine or config.engine or DEFAULT_ENGINE,
        opa_url=options.opa_url or config.opa.url,
        opa_timeout=options.opa_timeout or config.opa.timeout_seconds,
        opa_ca=options.opa_ca or settings.opa_ca,
        token_env=config.opa.token_env,
        limits=Limits(
            seconds=options.policy_timeout or DEFAULT_LIMITS.seconds,
            memory_mib=options.policy_memory or DEFAULT_LIMITS.memory_mib,
        ),
    )


def _evaluate(engine: Engine, prepared: Prepared, options: CheckOptions) -> Evaluation:
    with stage("engine load"):
        engine.load(list(prepared.policies.modules))
        engine.set_data(prepared.data)
        engine.set_input(prepared.facts.input)
    rules, statuses = _gate_rules(prepared.policies.rules, options.gate)
    engine.judge_in_slices(frozenset(r.path for r in rules if r.per_deployment))
    first = [r for r in rules if r.stage == "findings"]
    moments = Moments(prepared.facts.input)
    with stage("evaluation"):
        more, findings = evaluate_rules(engine, first, prepared.facts.coverage, moments)
    statuses += more

    identities, approvers = _waiver_approvers(prepared, options)
    _unasked_keys(prepared, identities, approvers)
    findings, waiver_facts = apply_waivers(
        prepared.evidence.waivers,
        findings,
        prepared.as_of,
        identities,
        approvers,
        actors=_actors(prepared),
        keys={a: parse_key(k) for a, k in prepared.settings.config.waiver_keys.items()},
        repository=prepared.repository,
        repurposed=repurposings(prepared.facts.input["flag_history"]),
    )
    final_input: InputDocument = {**prepared.facts.input, "waivers": waiver_facts}
    later = [r for r in rules if r.stage == "waivers"]
    if later:
        with stage("evaluation"):
            # These rules judge the waivers alone; the whole document again would cost a
            # second serialisation of every deployment for nothing.
            engine.set_input({"waivers": waiver_facts})
            more_statuses, more_findings = evaluate_rules(
                engine, later, prepared.facts.coverage, moments
            )
        statuses += more_statuses
        findings += more_findings
    report = _report(prepared, options, engine, findings, statuses)
    return Evaluation(report, final_input, prepared.data)


def _actors(prepared: Prepared) -> Actors:
    """Who deployed each deployment of the evidence, who switched each flag event
    (``FLAG@AT``) and who wrote each shipped commit (its author and its co-authors), read with
    the identities the rules judged by (identities.yaml with the repository's ``.mailmap``),
    so that a waiver's approver is matched to them under every spelling: a join only finds
    more of them. With identities.yaml alone, a deployer whom ``.mailmap`` joined to the
    approver (REVIEW-001 refused that approval as the deployer's own) could waive it."""
    people = prepared.facts.identities or prepared.evidence.identities
    known: dict[tuple[str | None, ...], frozenset[str]] = {}

    def keys(*values: str | None) -> frozenset[str]:
        # A month names a few hundred people across 100,000 commits: each spelling once.
        found = known.get(values)
        if found is None:
            found = known[values] = people_keys(people, *values)
        return found

    acted = {("deployment", d.id): keys(d.deployer) for d in prepared.evidence.deployments}
    for event in prepared.evidence.flag_events:
        switched = ("event", f"{event.flag}@{event.at}")
        acted[switched] = acted.get(switched, frozenset()) | keys(event.by)
    coauthors = prepared.facts.coauthors
    for sha, commit in prepared.facts.input.get("commits", {}).items():
        wrote = keys(commit["author"], commit["author_identity"])
        acted[("commit", sha)] = wrote | coauthors.get(sha, frozenset())
    writers = prepared.facts.registry_writers
    for sha, who in writers.unreadable.items():  # DEAD-006's commit, shipped or not
        acted[("commit", sha)] = acted.get(("commit", sha), frozenset()) | who
    fields = {r.id: template_order(r.subject or "") for r in prepared.policies.rules}
    changed: dict[tuple[str, str], tuple[tuple[str, frozenset[str]], ...]] = {
        ("DEAD-002", flag): (("repurposed", w),) for flag, w in writers.repurposed.items()
    }
    owned = _owned(prepared.facts.input, writers.owners)
    for flag, owners in _owners(prepared.facts.input["registries"]).items():
        changed[("DEAD-003", flag)] = (("owns", people_keys(people, *owners)),)
    for flag, owners in owned.items():
        changed[("DEAD-003", flag)] = (
            *changed.get(("DEAD-003", flag), ()),
            ("owned", people_keys(people, *owners)),
        )
    for flag, w in writers.postponed.items():
        changed[("DEAD-003", flag)] = (*changed.get(("DEAD-003", flag), ()), ("postponed", w))
    for target, w in prepared.facts.code_writers.items():  # DEAD-001, DEAD-004, DEAD-005
        changed[target] = (*changed.get(target, ()), ("coded", w))
    for deployment, w in prepared.facts.off_branch.items():
        changed[("REVIEW-003", deployment)] = (("off_branch", w),)
    return Actors(people, acted, fields, changed)


def _owners(registries: Mapping[str, Registry]) -> dict[str, set[str]]:
    """By flag, its ``owner`` in each registry of a deployed commit: whoever was to remove it
    by its ``remove_by`` day (DEAD-003), where the owner names a person."""
    owners: dict[str, set[str]] = {}
    for registry in registries.values():
        for name, flag in registry["flags"].items():
            owners.setdefault(name, set()).add(flag["owner"])
    return owners


def _owned(document: InputDocument, dated: Mapping[str, frozenset[str]]) -> dict[str, set[str]]:
    """By flag DEAD-003 may name (listed in a deployed commit's registry, or held to an
    earlier date there: ``earlier_remove_by``), each ``owner`` the registry's history gave it
    since it was first given a ``remove_by`` (``dated``, by flag key): an owner who handed the
    flag on before the deployment was still to remove it by its day."""
    names = {name for registry in document["registries"].values() for name in registry["flags"]}
    for deployment in document["deployments"]:
        names.update(deployment.get("earlier_remove_by", {}))
    return {name: set(dated[flag_key(name)]) for name in names if flag_key(name) in dated}


def _report(
    prepared: Prepared,
    options: CheckOptions,
    engine: Engine,
    findings: list[Finding],
    statuses: list[RuleStatus],
) -> Report:
    """The report of a run: its findings and rule statuses, and what it rests on."""
    config, facts = prepared.settings.config, prepared.facts
    return Report(
        evidence_location=_evidence_location(prepared),
        rule_docs={r.id: r.description for r in prepared.policies.rules},
        findings=tuple(sorted(findings, key=lambda f: (f.rule, f.subject))),
        rules=tuple(sorted(statuses, key=lambda s: s.id)),
        fail_on=config.fail_on or DEFAULT_FAIL_ON,
        require_all=config.require_all,
        settings=prepared.settings.notes,
        auditor_config=prepared.settings.config_file,
        ignored=tuple(prepared.evidence.ignored),
        examples=option_examples(prepared.root),
        as_of=prepared.as_of.isoformat(),
        head=facts.head,
        branch=facts.branch,
        files=tuple(InputFile(f.role, f.path, f.sha256) for f in prepared.files),
        tool_version=__version__,
        engine=engine.version(),
        engine_url=engine.location(),
        period=prepared.params.period,
        gate=(
            options.gate.report_record(
                facts.input["deployments"][0]["commit"], prepared.evidence.read_as
            )
            if options.gate is not None
            else None
        ),
        parameters=config.report_record(baseline_sha=facts.baseline_sha),
        counts={
            "deployments": len(facts.input["deployments"]),
            "commits_shipped": facts.shipped_count,
        },
        population=facts.population,
        earlier=facts.earlier,
    )


def _waiver_approvers(
    prepared: Prepared, options: CheckOptions
) -> tuple[IdentityResolver, frozenset[str] | None]:
    """Who may approve a waiver here, and the identities a waiver's approver is read with:
    ``None`` for anyone (a check without a list); for an audit or a gate, only those the
    auditor's side names (none when it names none), by address alone. The audited team writes
    identities.yaml and the repository's .mailmap: an entry joining the auditor's approver's
    address to a team member's made that member an approver of the team's own waivers."""
    listed = prepared.settings.config.waiver_approvers
    identities = prepared.evidence.identities
    if listed is None:
        return identities, frozenset() if options.auditors_side else None
    if not options.auditors_side:
        return identities, frozenset(
            found for a in listed if (found := identities.identify(a).identity) is not None
        )
    names = [a for a in listed if "@" not in a]
    if names:
        raise UsageError(
            f"waiver_approvers: {names[0]!r} is not an address: an audit names the approvers of "
            "waivers by address, since the audited team's identities.yaml says who a person is"
        )
    return IdentityResolver(), frozenset(normalise(a) for a in listed)


def _unasked_keys(
    prepared: Prepared, identities: IdentityResolver, approvers: frozenset[str] | None
) -> None:
    """Every key of ``waiver_keys`` is one of ``waiver_approvers``' (where there is a list)."""
    config = prepared.settings.config
    if config.waiver_approvers is None or approvers is None:
        return
    problem = unasked_key(config.waiver_keys, config.waiver_approvers, approvers, identities)
    if problem is not None:
        notes = prepared.settings.notes
        source = next((f" ({n.source})" for n in notes if n.name == "waiver_keys"), "")
        raise UsageError(f"waiver_keys{source}: {problem}", hint=UNASKED_HINT)


def _gate_rules(
    rules: tuple[RuleMeta, ...], gate: Gate | None
) -> tuple[list[RuleMeta], list[RuleStatus]]:
    """At a gate, the rules that judge a candidate there; the rest are not evaluated."""
    if gate is None:
        return list(rules), []
    chosen, skipped = gate.select(rules)
    return chosen, [
        _status(rule, evaluated=False, reason=gate.not_asked, not_asked=True) for rule in skipped
    ]


def _evidence_location(prepared: Prepared) -> str | None:
    """The deployment records' path relative to the repository, if they live inside it."""
    names = [f.path for f in prepared.evidence.files if f.path.startswith("deploys.")]
    if not names:
        return None
    try:
        path = (prepared.evidence.directory / names[0]).resolve()
        return path.relative_to(prepared.root.resolve()).as_posix()
    except ValueError:
        return None


def evaluate_rules(
    engine: Engine,
    rules: list[RuleMeta],
    coverage: dict[str, Coverage],
    moments: Moments | None = None,
) -> tuple[list[RuleStatus], list[Finding]]:
    """Evaluate every rule whose evidence the judged records hold; the rest are not evaluated,
    with the reason. A rule judged on part of its evidence says what part it lacked."""
    statuses: list[RuleStatus] = []
    findings: list[Finding] = []

    def known(name: str) -> Coverage:
        return coverage.get(name) or Coverage(False, f"no {name} evidence", read=False)

    missing = {r.id: [n for n in r.requires if not known(n).present] for r in rules}
    engine.prefetch([r.path for r in rules if not missing[r.id]])
    for rule in rules:
        if missing[rule.id]:
            reasons = dict.fromkeys(
                known(name).note or f"no {name} evidence" for name in missing[rule.id]
            )
            statuses.append(_status(rule, evaluated=False, reason="; ".join(reasons)))
            continue
        value = engine.evaluate(rule.path)
        if value is UNDEFINED:  # never "no findings": see Engine.no_value
            raise engine.no_value(rule.path)
        findings.extend(_findings(rule, value, moments))
        reason = _partly(rule, known)
        statuses.append(_status(rule, evaluated=True, reason=reason, partial=reason is not None))
    return statuses, findings


def _partly(rule: RuleMeta, known: Callable[[str], Coverage]) -> str | None:
    """What part of its evidence a rule evaluated was judged without, or None."""
    notes = [known(name).note for name in rule.requires if known(name).note]
    absent = [name for name in rule.optional if not known(name).read]
    if absent:
        notes.append("judged without " + " or ".join(absent) + " evidence")
    return "; ".join(n for n in notes if n) or None


def _status(
    rule: RuleMeta,
    *,
    evaluated: bool,
    reason: str | None = None,
    not_asked: bool = False,
    partial: bool = False,
) -> RuleStatus:
    return RuleStatus(
        rule.id, rule.title, rule.severity, rule.controls, evaluated, reason, not_asked, partial
    )


def _findings(rule: RuleMeta, value: Any, moments: Moments | None = None) -> list[Finding]:
    if not isinstance(value, list):
        raise PolicyError(
            f"{rule.file}:{rule.line}: rule {rule.id} ({rule.path}) must be a set of "
            f"subjects or of objects with a subject, not {type(value).__name__}"
        )
    distinct = _Distinct(rule)
    subject_parts = template_order(rule.subject or "")
    shared: dict[str, str] = {}
    """One string per distinct statement: a storm's 300,000 instances share a few hundred."""
    # Consumed as it is read: a storm's answer is hundreds of thousands of objects, each freed
    # once its finding is built rather than all held until the last (the order is immaterial:
    # one finding per subject is chosen by its message, and the report sorts them).
    while value:
        item = value.pop()
        fields = {"subject": item} if isinstance(item, str) else item
        if not isinstance(fields, dict) or not isinstance(fields.get("subject"), str):
            raise PolicyError(
                f"{rule.file}:{rule.line}: rule {rule.id} emitted {item!r}; each element must "
                "be a subject string or an object with a string 'subject'"
            )
        statement = format_statement(rule, fields)
        distinct.add(
            Finding(
                rule=rule.id,
                severity=rule.severity,
                subject=fields["subject"],
                message=format_message(rule, fields),
                controls=rule.controls,
                title=rule.title,
                location=fields["location"] if isinstance(fields.get("location"), str) else None,
                cause=format_cause(rule, fields),
                statement=shared.setdefault(statement, statement),
                when=moments.of(fields) if moments is not None else None,
                parts=_filled(subject_parts, fields),
            ),
            fields,
        )
    return distinct.findings()


def _filled(names: tuple[str, ...], fields: dict[str, Any]) -> tuple[str, ...] | None:
    """The values a subject template's fields were filled with, in order (``Finding.parts``).
    Where a rule gave its subject without them: none for a template of one field (a waiver's
    glob is matched against the subject), None for one of several. Matched against the whole
    subject, ``*:9100`` covered every host written ``host:9100`` of a rule whose subjects are
    ``{deployment}:{host}``, which part by part names one host exactly."""
    values = tuple(fields.get(name) for name in names)
    if not all(isinstance(v, str | int) and str(v) for v in values):
        return None if len(names) > 1 else ()
    return tuple(str(v) for v in values)


class _Distinct:
    """One rule's findings, one per subject, and what each subject and cause stands for.

    A subject or a cause is a template filled in (``{deployment}:{host}``, ``{service}/{host}``):
    where a name holds the separator, two different things can read the same (deployment
    ``RT-2`` and host ``z:r-4``, deployment ``RT-2:z`` and host ``r-4``). Keeping one of them
    would drop a finding, and a waiver of one would cover the other: that is an input error,
    never a silent merge. Two objects for one subject and the same parts are one finding, that
    says what each says: FLEET-003's subject is the flag event (``{flag}@{at}``), and a flag
    switched on for two services at one instant, their fleets both mixed, is one subject whose
    message must name both (keeping one message dropped the other service from the report, and
    a waiver written for the one named covered both unseen). Its messages are in a stable
    order, so the report never depends on the engine's set ordering."""

    def __init__(self, rule: RuleMeta) -> None:
        self.rule = rule
        self.subject_parts = sorted(template_fields(rule.subject or ""))
        self.cause_parts = sorted(template_fields(rule.cause or ""))
        self.subjects: dict[str, tuple[Finding, tuple[str, ...]]] = {}
        self.messages: dict[str, set[str]] = {}
        """Of the subjects met more than once, every message said of each."""
        self.causes: dict[str, tuple[str, ...]] = {}

    def add(self, finding: Finding, fields: dict[str, Any]) -> None:
        parts = self._parts(self.subject_parts, fields, finding.cause)
        earlier = self.subjects.get(finding.subject)
        if earlier is not None:
            self._same("subject", finding.subject, self.subject_parts, earlier[1], parts)
            said = self.messages.setdefault(finding.subject, {earlier[0].message})
            said.add(finding.message)
            if earlier[0].message <= finding.message:
                return
        self.subjects[finding.subject] = (finding, parts)
        if finding.cause is not None:
            cause = self._parts(self.cause_parts, fields, None)
            seen = self.causes.setdefault(finding.cause, cause)
            self._same("cause", finding.cause, self.cause_parts, seen, cause)

    def findings(self) -> list[Finding]:
        return [
            replace(finding, message=" ".join(sorted(self.messages[subject])))
            if len(self.messages.get(subject, ())) > 1
            else finding
            for subject, (finding, _) in self.subjects.items()
        ]

    @staticmethod
    def _parts(names: list[str], fields: dict[str, Any], cause: str | None) -> tuple[str, ...]:
        return (*(str(fields.get(name, "")) for name in names), cause or "")

    def _same(
        self, what: str, name: str, names: list[str], one: tuple[str, ...], other: tuple[str, ...]
    ) -> None:
        if one == other:
            return
        labels = [*names, "cause"]

        def said(parts: tuple[str, ...]) -> str:
            return ", ".join(f"{k} {v!r}" for k, v in zip(labels, parts, strict=True) if v)

        raise InputError(
            f"rule {self.rule.id}: two different findings read as the one {what} {name!r} "
            f"({said(min(one, other))}; and {said(max(one, other))}): a name holding the "
            f"separator makes them one, so keeping either would drop the other",
            hint="rename one of them (a deployment id, host, service or flag) so that no "
            "':' or '/' inside it joins it to another",
        )
