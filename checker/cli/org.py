"""``audit --org``: every system of org.yaml judged (or, federated, its own signed audit
verified) and one attestation signed; and ``verify --replay`` of an organisation's systems."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from checker.cli.options import check_options, check_previous_key, engine_options
from checker.errors import EXIT_FINDINGS, EXIT_PASS, UsageError, VerificationError
from checker.org.attestation import (
    ATTESTATIONS,
    REPOSITORIES,
    OrgRun,
    build_org_statement,
    system_audit,
    system_entry,
)
from checker.org.continuity import predecessors, retirements
from checker.org.judge import JUDGED, SystemResult
from checker.org.model import Organisation, load_org
from checker.report.escape import log_inert, visible
from checker.runner import CheckOptions
from checker.signing.attestation import Signed
from checker.vocabulary import counted
from checker.writer import check_targets, write_all

if TYPE_CHECKING:
    from checker.config import Config

SINGLE_REPOSITORY = (
    ("repo", "--repo"),
    ("evidence", "--evidence"),
    ("baseline", "--baseline"),
    ("html", "--html"),
    ("markdown", "--markdown"),
)
"""Options of a one-repository audit that an organisation audit refuses: org.yaml says where
each system's repository and evidence are, and a baseline is one repository's commit."""

JUDGING_HERE = (
    ("config", "--config"),
    ("policies", "--policies"),
    ("protected_branch", "--protected-branch"),
    ("engine", "--engine"),
    ("scheduler", "--scheduler"),
    ("workers", "--workers"),
)
"""Options that judge: federated mode judges no repository itself (each system's audit records
the settings it was judged with), so they would be silently without effect there. ``--fail-on``
and ``--require-all`` do apply: every system's findings are held to them, whatever threshold
the team judged with."""


def _refuse(args: argparse.Namespace, options: tuple[tuple[str, str], ...], why: str) -> None:
    for name, flag in options:
        if getattr(args, name, None) not in (None, False, []):
            raise UsageError(f"{flag} does not go with {why}")


def check_org_usage(args: argparse.Namespace) -> None:
    """The options an organisation audit takes, before anything is read."""
    if args.org is None:
        for flag, given in (
            ("--from-attestations", args.from_attestations),
            ("--scheduler", args.scheduler),
            ("--workers", args.workers),
        ):
            if given is not None:
                raise UsageError(f"{flag} goes with --org ORG_YAML")
        return
    _refuse(args, SINGLE_REPOSITORY, "--org: org.yaml names each system's repository and evidence")
    if args.from_attestations is not None:
        _refuse(args, JUDGING_HERE, "--from-attestations: each system's own audit was judged")
    if args.scheduler is not None:
        from checker.org.fanout import check_scheduler

        check_scheduler(args.scheduler)
        if args.workers is not None:
            raise UsageError("--workers sizes the local cluster; it does not go with --scheduler")


def check_output(org: Organisation, output: Path) -> None:
    """The attestation is never written into a system's repository or evidence, nor over a
    key or org.yaml: the systems may be read on other machines, where this run cannot see
    what they read."""
    target = output.resolve()
    for system in org.systems:
        places = [system.evidence_path, None if system.is_url else Path(system.location)]
        for place in (p for p in places if p is not None):
            if target.is_relative_to(place):
                raise UsageError(
                    f"cannot write {output}: it is inside system {system.name}'s "
                    f"{'evidence' if place == system.evidence_path else 'repository'}"
                )
        if system.key is not None and target == system.key:
            raise UsageError(f"cannot write {output}: it is system {system.name}'s key")


def run_org_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Judge or collect every system, sign one attestation, say what did not pass."""
    from checker.runner import today_utc
    from checker.signing.attestation import (
        ORG_PREDICATE_TYPE,
        chained_to,
        check_as_of,
        check_period,
        sign_statement,
    )
    from checker.signing.keys import key_id, load_private

    check_org_usage(args)
    check_previous_key(args)
    period = check_period(args.period, partial=args.partial)
    check_as_of(period, args.as_of, partial=args.partial)
    check_targets([args.output])
    key = load_private(args.key)
    org = load_org(args.org)
    check_targets([args.output])  # again, now that org.yaml and the key have been read
    check_output(org, args.output)
    previous = chained_to(args.previous, args.previous_key, key, period, ORG_PREDICATE_TYPE)
    mode = ATTESTATIONS if args.from_attestations is not None else REPOSITORIES
    retired = retirements(org, previous, period, judging=mode == REPOSITORIES)
    as_of = args.as_of or today_utc()
    results = _results(args, org, period, as_of, previous)
    run = OrgRun(org, period, as_of, args.partial, mode, predecessors(org, previous), retired)
    statement = build_org_statement(run, results, previous, key_id(key.public_key()))
    envelope, digest = sign_statement(statement, key)
    write_all([(args.output, envelope)])
    for result in results:  # a reason quotes a system's own evidence: shown, never obeyed
        if not result.passed:
            err.write(log_inert(f"knightwatch: {visible(_shortfall(result))}\n"))
    counts = statement["predicate"]["summary"]
    err.write(
        f"knightwatch: organisation audit {period}{' (partial)' if args.partial else ''}: "
        f"{statement['predicate']['verdict'].upper()}: {counted(counts['systems'], 'system')}, "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['not_judged']} not "
        f"judged; signed by key {key_id(key.public_key())}, sha256 {digest}; "
        f"attestation written to {args.output}\n"
    )
    return EXIT_PASS if statement["predicate"]["verdict"] == "pass" else EXIT_FINDINGS


def _results(
    args: argparse.Namespace,
    org: Organisation,
    period: str,
    as_of: date,
    previous: Signed | None,
) -> list[SystemResult]:
    from checker.org import federated
    from checker.org.fanout import Placement, judge_all

    if args.from_attestations is not None:
        bar = federated.Bar(
            fail_on=args.fail_on or federated.Bar.fail_on,
            require_all=bool(args.require_all),
            waiver_approvers=org.waiver_approvers,
            waiver_keys=org.waiver_keys,
            as_of=as_of,
        )
        return federated.collect(
            org, args.from_attestations, period, partial=args.partial, previous=previous, bar=bar
        )
    base = _preflight(dataclasses.replace(check_options(args), period=period, as_of=as_of), org)
    placement = Placement(scheduler=args.scheduler, workers=args.workers)
    return judge_all(
        org.systems,
        base,
        placement,
        partial=args.partial,
        chained=previous,
        known_as=predecessors(org, previous),
    )


def _preflight(options: CheckOptions, org: Organisation) -> CheckOptions:
    """The auditor's configuration and policies read once here, so that a mistake in them is
    one error (exit 2) rather than every system not judged; and every path made absolute, as
    a worker in another directory or on another machine must read it. org.yaml's
    ``waiver_approvers`` and ``waiver_keys`` are the auditor's, for every system."""
    from checker.config import load_config_file
    from checker.rules.policyset import load_policy_set

    config = options.config_file.resolve() if options.config_file else None
    auditor = load_config_file(config, role="auditor-config")[0] if config is not None else None
    held: dict[str, object] = {}
    if org.waiver_approvers is not None:
        held["waiver_approvers"] = list(org.waiver_approvers)
    if org.waiver_keys:
        held["waiver_keys"] = dict(org.waiver_keys)
    for name in held:
        if auditor is not None and name in auditor.model_fields_set:
            raise UsageError(
                f"{name} are in both {org.path.name} and --config {config}: the "
                "organisation names them once"
            )
    if held:
        options = dataclasses.replace(options, org_settings=held)
    _keys_of_approvers(org, auditor, config)
    policy_dirs = [directory.resolve() for directory in options.policy_dirs]
    if policy_dirs:
        from checker.engine import RegorusEngine

        engine = RegorusEngine()  # parses every module: a syntax error is said here, once
        try:
            engine.load(list(load_policy_set(policy_dirs).modules))
        finally:
            engine.close()
    opa_ca = options.opa_ca.resolve() if options.opa_ca else None
    return dataclasses.replace(options, config_file=config, policy_dirs=policy_dirs, opa_ca=opa_ca)


def _keys_of_approvers(org: Organisation, auditor: Config | None, config: Path | None) -> None:
    """org.yaml's keys and --config's approvers, or the reverse, checked together once here:
    a key that is none of the approvers' is one mistake (exit 2), not every system not
    judged (``checker.waivers.unasked_key``)."""
    from checker.evidence.identities import IdentityResolver, normalise
    from checker.waivers import UNASKED_HINT, unasked_key

    listed = org.waiver_approvers
    if listed is None and auditor is not None:
        listed = tuple(auditor.waiver_approvers) if auditor.waiver_approvers is not None else None
    keys = org.waiver_keys or (auditor.waiver_keys if auditor is not None else {})
    if listed is None or not keys:
        return
    approvers = frozenset(normalise(a) for a in listed)
    problem = unasked_key(keys, listed, approvers, IdentityResolver())
    if problem is not None:
        source = org.path.name if org.waiver_keys else f"--config {config}"
        raise UsageError(f"waiver_keys ({source}): {problem}", hint=UNASKED_HINT)


def _shortfall(result: SystemResult) -> str:
    """Why a system did not pass, in one line that names it."""
    entry = result.entry
    if entry["status"] != JUDGED:
        return f"system {result.name}: {entry['status']}: {entry['reason']}"
    if entry.get("verdict_note"):
        return f"system {result.name}: {entry['verdict']}: {entry['verdict_note']}"
    report = entry["audit"]["report"]
    failing = (report.get("summary") or {}).get("failing", 0)
    return (
        f"system {result.name}: {entry['verdict']}, {counted(failing, 'finding')} at or above "
        f"{report.get('fail_on')}"
    )


def replay_systems(args: argparse.Namespace, signed: Signed) -> list[str]:
    """``verify --replay`` of an organisation attestation: each system chosen (every judged
    one by default) judged again from the repositories org.yaml names."""
    from checker.org.judge import checkout
    from checker.replay import replay

    if args.org is None:
        raise UsageError("--replay of an organisation's attestation needs --org ORG_YAML")
    org = load_org(args.org)
    _check_attested_org(org, signed)
    chosen = args.system or sorted(str(e["name"]) for e in signed.predicate["systems"])
    lines = []
    for name in chosen:
        entry, system = system_entry(signed, name), org.system(name)
        if system is None:
            raise UsageError(f"--system {name}: no such system in {args.org}")
        if entry["status"] != JUDGED:
            lines.append(f"replay {name}: {entry['status']} in the attestation; nothing to replay")
            continue
        with checkout(system) as repo:
            base = CheckOptions(
                repo=repo,
                evidence=system.evidence_path,
                policy_dirs=args.policies,
                **engine_options(args),
            )
            try:
                lines.append(f"replay {name}: {replay(system_audit(signed, entry), base)}")
            except VerificationError as exc:
                exc.message = f"system {name}: {exc.message}"
                raise
    return lines


def _check_every_system_listed(org: Organisation, signed: Signed) -> None:
    """Every system org.yaml names is in the attestation, judged or not: a statement that
    left out the failed one, its verdict and counts made to agree, replayed the others as
    confirmed (exit 0), org.yaml's digest its own."""
    listed = {
        str(entry.get("name"))
        for entry in signed.predicate.get("systems") or []
        if isinstance(entry, dict)
    }
    missing = [system.name for system in org.systems if system.name not in listed]
    if missing:
        raise VerificationError(
            "replay",
            f"system {missing[0]} of {org.path.name} is not in the attestation: every system "
            "it names is listed, judged or not",
        )


def _check_attested_org(org: Organisation, signed: Signed) -> None:
    """A replay judges the systems of the org.yaml attested, byte for byte: another file
    would replay other repositories, services or paths under the attestation's name."""
    for entry in signed.predicate.get("systems") or []:
        system = org.system(str(entry.get("name"))) if isinstance(entry, dict) else None
        attested = {key: entry.get(key) for key in ("repository", "evidence", "services")}
        if system is not None and attested != {
            key: system.record()[key] for key in ("repository", "evidence", "services")
        }:
            raise VerificationError(
                "replay",
                f"system {system.name}: its repository, evidence, services or paths in "
                f"{org.path.name} differ from those attested",
            )
    _check_every_system_listed(org, signed)
    digests = [
        (s.get("digest") or {}).get("sha256")
        for s in signed.statement.get("subject") or []
        if isinstance(s, dict) and str(s.get("name", "")).startswith("org:")
    ]
    if digests != [org.sha256]:
        raise VerificationError(
            "replay",
            f"{org.path.name} (sha256 {org.sha256}) is not the organisation file attested "
            f"(sha256 {', '.join(map(str, digests)) or 'none'})",
        )


def refuse_org_options(args: argparse.Namespace) -> None:
    """``--org`` and ``--system`` replay an organisation's attestation, and nothing else."""
    if args.org is not None or args.system:
        raise UsageError("--org and --system go with --replay of an organisation's attestation")
