"""One function per command: options in, exit code out, what it has to say written to
``out`` and ``err`` (the streams ``main`` was given)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from checker.cli.options import check_options, check_previous_key, engine_options
from checker.errors import EXIT_FINDINGS, EXIT_PASS, UsageError, VerificationError
from checker.memory import paused_collection
from checker.report import RENDERERS, Report, notice, pieces
from checker.report.escape import json_safe, log_inert, shown, visible
from checker.writer import check_targets, write_all

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from checker.signing.attestation import Signed

Command = Callable[[argparse.Namespace, TextIO, TextIO], int]


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and "NO_COLOR" not in os.environ


def _notices(report: Report, formats: list[str], err: TextIO) -> None:
    """What each format written has to say about how it wrote the report (a SARIF log
    grouped by cause to fit code scanning's limits), once a format."""
    for name in dict.fromkeys(formats):
        said = notice(name, report)
        if said:
            err.write(f"knightwatch: {said}\n")


def _collection_paused(
    command: Callable[[argparse.Namespace, TextIO, TextIO], int],
) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    """A command that runs one pipeline and renders it, with the cyclic garbage collector
    paused throughout (``checker.memory.paused_collection``): rendering a storm's report
    builds hundreds of thousands of values that the collector would traverse again and
    again."""

    @functools.wraps(command)
    def paused(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        with paused_collection():
            return command(args, out, err)

    return paused


@_collection_paused
def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.runner import run_check
    from checker.timing import stage

    files = _output_formats(args.output, args.format)
    check_targets([path for path, _ in files])  # before the run: a typo costs nothing
    report = run_check(check_options(args))
    stdout_format = args.print_format or (None if files else args.format or "text")
    with stage("rendering"):
        shown = (
            RENDERERS[stdout_format].render(report, color=_use_color(args.color, out))
            if stdout_format
            else ""
        )
        write_all([(path, pieces(fmt, report)) for path, fmt in files])
    _show(report, shown, stdout_format, _github_on(args.github), out, err)
    _notices(report, [fmt for _, fmt in files] + ([stdout_format] if stdout_format else []), err)
    if files:
        failing = len(report.failing)
        names = ", ".join(str(path) for path, _ in files)
        err.write(
            f"knightwatch: {report.verdict_line.lower()}: {len(report.findings)} findings, "
            f"{failing} at or above {report.fail_on}; report written to {names}\n"
        )
    return report.exit_code


def _show(
    report: Report, shown: str, stdout_format: str | None, github: bool, out: TextIO, err: TextIO
) -> None:
    """The report on standard output and, under GitHub Actions, the annotations: after the
    text report, which stands inert between markers (``_inert``); before a document in
    another format, on standard error (the runner reads both streams, and a
    ``##[stop-commands]`` quoted from evidence in a document printed to the log would stop
    it reading annotations written after). The text report stands between the markers in any
    GitHub Actions log, ``--github never`` too: the runner reads the commands it could quote
    whether or not knightwatch writes annotations."""
    text = stdout_format in (None, "text")
    if text and (github or os.environ.get("GITHUB_ACTIONS") == "true"):
        shown = _inert(shown)
    if not github:
        out.write(shown)
    elif text:
        out.write(shown)
        _github(report, stdout_format, out, err)
    else:
        _github(report, stdout_format, out, err)
        err.flush()
        out.write(shown)


def _github_on(when: str) -> bool:
    """Whether to write GitHub Actions' annotations and job summary: ``when`` asked, or
    under GitHub Actions."""
    return when == "always" or (when == "auto" and os.environ.get("GITHUB_ACTIONS") == "true")


def _inert(text: str) -> str:
    """The text report for a GitHub Actions log, where no line of it is read as a workflow
    command (``report.github.inert``)."""
    if not text:
        return text
    from checker.report.github import inert

    return inert(text)


def _in_log(text: str) -> str:
    """Text quoting evidence (``verify``'s and ``sample``'s lines), inert in a CI log as the
    text report is: no line read as a command (``log_inert``), and in a GitHub Actions log
    between markers too (``_inert``). A finding's message or a deployment's id read as a
    command there would mask, forge or stop lines of the log, or set a job's variable."""
    text = log_inert(text)
    return _inert(text) if os.environ.get("GITHUB_ACTIONS") == "true" else text


def _github(report: Report, stdout_format: str | None, out: TextIO, err: TextIO) -> None:
    """GitHub Actions' annotations and job summary."""
    from checker.report.github import workflow_commands

    # Beside a report on standard output (`check --format sarif > report.sarif`) the
    # annotations go to standard error, which the runner reads for them too: after the
    # document, they made the file one that no SARIF reader takes.
    (out if stdout_format in (None, "text") else err).write(workflow_commands(report))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from checker.report.markdown import within

        # GitHub refuses a step's summary past 1 MiB whole, the verdict with it: what this
        # step wrote there already counts.
        path = Path(summary)
        used = path.stat().st_size if path.is_file() else 0
        with path.open("a", encoding="utf-8") as handle:
            handle.write(within(report, STEP_SUMMARY_LIMIT - used))


STEP_SUMMARY_LIMIT = 1_048_576
"""The bytes GitHub takes in one step's job summary."""

EXTENSIONS = {
    ".json": "json",
    ".oscal.json": "oscal",
    ".compact.json": "json-compact",
    ".sarif": "sarif",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".txt": "text",
}


def _extension(path: Path) -> str:
    """The extension that names a format: the last suffix, or two (``.oscal.json``)."""
    two = "".join(path.suffixes[-2:]).lower()
    return two if two in EXTENSIONS else path.suffix.lower()


_SYNTAX = {"json-compact": "json", "oscal": "json", "sarif": "json"}
"""Formats written in another's syntax: a SARIF log or an OSCAL document is JSON, and may be
saved as ``.json``."""


def _check_extension_agrees(path: Path, fmt: str | None) -> None:
    """Refuse ``--format`` naming another syntax than the output's extension does (``--format
    html -o report.json``): a script reading the file by its name failed on it, or worse,
    took an HTML page for a report it could not parse and went on."""
    named = EXTENSIONS.get(_extension(path))
    if fmt is None or named is None or _SYNTAX.get(fmt, fmt) == _SYNTAX.get(named, named):
        return
    raise UsageError(
        f"--format {fmt} with -o {path}: its extension names {named}",
        hint=f"drop --format to write {named}, or name the file for {fmt}",
    )


def _output_formats(paths: list[Path], fmt: str | None) -> list[tuple[Path, str]]:
    """One output takes --format (else its extension, else json); several take their extension."""
    if len(paths) == 1:
        _check_extension_agrees(paths[0], fmt)
        return [(paths[0], fmt or EXTENSIONS.get(_extension(paths[0]), "json"))]
    if paths and fmt is not None:
        # One --format for several files would name the format of one of them at best.
        raise UsageError(
            f"--format {fmt} with several -o: each output's format comes from its extension "
            "(report.compact.json, report.sarif, ...); drop --format"
        )
    formats = []
    for path in paths:
        if _extension(path) not in EXTENSIONS:
            raise UsageError(
                f"cannot tell the format of {path} from its extension; use one of "
                + " ".join(sorted(EXTENSIONS))
            )
        formats.append((path, EXTENSIONS[_extension(path)]))
    return formats


def _policy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.policy_command == "test":
        # Each line names a policy file of the repository, whose path the team chose.
        out = shown(out)
        from checker.engine import Limits
        from checker.engine.isolated import DEFAULT_LIMITS
        from checker.rules.policyset import builtin_policy_dir
        from checker.rules.policytest import run_policy_tests

        run = run_policy_tests(
            args.dirs or [builtin_policy_dir()],
            limits=Limits(
                seconds=args.policy_timeout or DEFAULT_LIMITS.seconds,
                memory_mib=args.policy_memory or DEFAULT_LIMITS.memory_mib,
            ),
        )
        for result in run.results:
            line = f"{result.outcome.upper():<5} {result.file}: {result.path}"
            out.write(line + (f" ({result.detail})" if result.detail else "") + "\n")
        if run.unexercised:
            out.write("Rules no test exercised:\n")
            for rule in run.unexercised:
                out.write(f"  {rule.file}:{rule.first}: {rule.name}\n")
        passed = sum(1 for r in run.results if r.outcome == "pass")
        out.write(f"{passed} passed, {len(run.results) - passed} failed\n")
        if not run.results:
            err.write("knightwatch: no test_ rules found in *_test.rego files\n")
            return EXIT_FINDINGS
        return EXIT_PASS if passed == len(run.results) else EXIT_FINDINGS
    if args.policy_command == "list":
        from checker.rules.catalog import CATALOG_FORMATS
        from checker.rules.policyset import load_policy_set

        out.write(CATALOG_FORMATS[args.format](load_policy_set(args.policies).rules))
        return EXIT_PASS
    raise UsageError("policy needs a command: test or list")


@_collection_paused
def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.runner import run_pipeline

    options = check_options(args)
    directory: Path = args.output
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"cannot write into {directory}: it is not a directory")
    names = ("input.json", "data.json")
    if directory.is_dir():
        check_targets([directory / name for name in names])
    evaluation = run_pipeline(options)
    texts = [
        json_safe(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
        for document in (evaluation.input, evaluation.data)
    ]
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        write_all([(directory / name, text) for name, text in zip(names, texts, strict=True)])
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    err.write(f"knightwatch: wrote {args.output / 'input.json'} and {args.output / 'data.json'}\n")
    return EXIT_PASS


def _audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """One repository's month (``--repo``), or every system of an organisation (``--org``)."""
    from checker.cli.org import check_org_usage, run_org_audit

    if args.org is not None:
        return run_org_audit(args, out, err)
    check_org_usage(args)
    return _audit_repository(args, out, err)


@_collection_paused
def _audit_repository(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import dataclasses

    from checker.runner import run_pipeline
    from checker.signing.attestation import (
        chained_to,
        check_as_of,
        check_period,
        previous_shown,
        sign_report,
    )
    from checker.signing.keys import key_id, load_private
    from checker.signing.population import attested
    from checker.timing import stage

    period = check_period(args.period, partial=args.partial)
    check_as_of(period, args.as_of, partial=args.partial)
    check_previous_key(args)
    outputs = [args.output, *(p for p in (args.html, args.markdown) if p is not None)]
    check_targets(outputs)
    key = load_private(args.key)
    previous = chained_to(args.previous, args.previous_key, key, period)
    chained = attested(previous.predicate, previous.period) if previous is not None else None
    options = dataclasses.replace(check_options(args), period=period, attested=chained)
    report = dataclasses.replace(run_pipeline(options).report, partial=args.partial)
    with stage("rendering"):
        envelope, digest = sign_report(report, key, previous)
    signature = {
        "Signed by key": key_id(key.public_key()),
        "Signed payload sha256": digest,
        "Previous report": previous_shown(previous, key_id(key.public_key())),
    }
    shown = dataclasses.replace(report, signature=signature)
    # The signed report is renamed into place first: a readable copy never stands alone.
    files = [(args.output, envelope)] + [
        (path, RENDERERS[name].render(shown))
        for path, name in ((args.html, "html"), (args.markdown, "markdown"))
        if path is not None
    ]
    write_all(files)
    outcome = report.verdict_line.lower()
    if report.counts.get("deployments") == 0:
        outcome = f"no deployments in {period}, nothing judged; {outcome}"
    err.write(
        f"knightwatch: audit {period}{' (partial)' if args.partial else ''}: {outcome}, "
        f"{len(report.findings)} findings; signed report written to {args.output}\n"
    )
    return report.exit_code


def _previous(args: argparse.Namespace, current: Signed, public: Ed25519PublicKey) -> Signed | None:
    """``verify --previous``, opened with ``--previous-key`` where given, else ``--key``; where
    ``current`` records a change of key and ``--previous-key`` is not given, a usage error."""
    from checker.signing.attestation import open_signed, rotated_from
    from checker.signing.keys import load_public

    if args.previous is None:
        return None
    rotated = rotated_from(current)
    if rotated is not None and args.previous_key is None:
        raise UsageError(
            f"{args.file} records its previous report as signed by another key ({rotated}): "
            "the signing key was rotated",
            hint="pass that key's public key as --previous-key",
        )
    return open_signed(
        args.previous, load_public(args.previous_key) if args.previous_key else public
    )


def _verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.signing.attestation import (
        ORG_PREDICATE_TYPE,
        branch_line,
        check_link,
        open_signed,
        waived_line,
        weakened_line,
    )
    from checker.signing.keys import load_public
    from checker.signing.population import describe

    check_previous_key(args)
    public = load_public(args.key)
    current = open_signed(args.file, public)
    previous = _previous(args, current, public)
    for signed, path in ((current, args.file), (previous, args.previous)):
        if signed is not None:
            _check_judged_as_of(signed, str(path))
    link = check_link(current, previous)
    if current.kind == ORG_PREDICATE_TYPE:
        return _verify_org(args, (current, previous), link, out)
    from checker.cli.org import refuse_org_options

    refuse_org_options(args)
    _refuse_unused_replay_options(args)
    lines = [
        f"signature: valid, key {current.keyid}",
        _verdict_line(current),
        f"protected branch: {branch_line(current.predicate)}",
        *(f"settings: {said}" for said in [weakened_line(current.predicate)] if said),
        *(f"waivers: {said}" for said in [waived_line(current.predicate)] if said),
        f"chain: {link}",
        f"population: {describe(current.predicate)}",
    ]
    if args.replay:
        from checker.replay import replay
        from checker.runner import CheckOptions

        base = CheckOptions(
            repo=args.repo or Path(),
            evidence=args.evidence,
            policy_dirs=args.policies,
            **engine_options(args),
        )
        lines.append(f"replay: {replay(current, base)}")
    out.write(_in_log("".join(f"{visible(line)}\n" for line in lines)))
    return EXIT_PASS


def _refuse_unused_replay_options(args: argparse.Namespace, *, org: bool = False) -> None:
    """``--repo``, ``--evidence`` and ``--policies`` say what ``--replay`` judges again, and the
    engine's options where; they do nothing else: given without it, verify read none of them
    and passed an audit whose evidence had changed since, as though it had been compared.
    ``org``: of an organisation's attestation, whose replay judges the systems again (its
    ``--repo`` and ``--evidence`` are refused with ``--replay`` too, by ``_verify_org``)."""
    given = [
        option
        for option, value in (
            ("--repo", args.repo),
            ("--evidence", args.evidence),
            ("--policies", args.policies),
            *((f"--{key.replace('_', '-')}", value) for key, value in engine_options(args).items()),
        )
        if value
    ]
    if given and not args.replay:
        unread = (
            "verify judges no system again and reads none of them"
            if org
            else "the evidence is neither read nor compared with what the audit judged"
        )
        raise UsageError(
            f"{' and '.join(given)} {'go' if len(given) > 1 else 'goes'} with --replay: without "
            f"it {unread}",
            hint="add --replay to judge the evidence again, or leave "
            + ("them" if len(given) > 1 else "it")
            + " out to check the signature and chain alone",
        )


def _check_judged_as_of(signed: Signed, source: str) -> None:
    """``check_subjects`` and ``check_judged_as_of`` of a signed audit; of an organisation's
    attestation, of it and, as ``sample --system`` checks them, of every system's audit it
    accepted: its as-of date and its population (``read_population``). Organisation audits
    took an ``--as-of`` after today too, before it was bounded above, and a federated team
    signs its own population; ``verify`` called such an attestation valid while ``sample``
    refused the system."""
    from checker.org.attestation import system_audit
    from checker.org.judge import JUDGED
    from checker.signing.attestation import ORG_PREDICATE_TYPE, check_judged_as_of, check_subjects
    from checker.signing.population import read_population
    from checker.signing.verdict import check_org_verdict, check_verdict

    check_subjects(signed, source)
    check_judged_as_of(signed, source)
    if signed.kind != ORG_PREDICATE_TYPE:
        check_verdict(signed.predicate, source)
        return
    check_org_verdict(signed.predicate, source)
    for entry in signed.predicate["systems"]:
        if not isinstance(entry, dict) or entry.get("status") != JUDGED:
            continue
        where = f"{source}: system {entry['name']}"
        audit = system_audit(signed, entry)
        check_judged_as_of(audit, where)
        check_verdict(audit.predicate, where)
        if "population" in audit.predicate:  # else signed before audits listed it
            try:
                read_population(audit.predicate)
            except VerificationError as exc:
                exc.message = f"{where}: {exc.message}"
                raise


def _verdict_line(current: Signed) -> str:
    """``verify``'s line of a repository's audit: its month, verdict, findings, as-of date,
    and what the verdict does not rest on (a partial month, rules not evaluated, rules judged
    on part of their evidence)."""
    report = current.predicate["report"]
    summary = report.get("summary") or {}
    notes = [
        *(["partial: the month had not ended"] if current.predicate.get("partial") else []),
        *(
            [f"incomplete: {', '.join(map(str, summary['incomplete']))} not evaluated"]
            if summary.get("incomplete")
            else []
        ),
        *(
            [f"judged on part of their evidence: {', '.join(map(str, summary['partial']))}"]
            if summary.get("partial")
            else []
        ),
        *(["no deployments in the period"] if summary.get("deployments") == 0 else []),
    ]
    return (
        f"period: {current.period}; verdict {report.get('verdict')}; "
        f"{len(report.get('findings', []))} findings"
        + (f" ({summary['waived']} waived)" if summary.get("waived") else "")
        + f"; as of {current.predicate.get('as_of')}"
        + "".join(f"; {note}" for note in notes)
    )


def _verify_org(
    args: argparse.Namespace, chain: tuple[Signed, Signed | None], link: str, out: TextIO
) -> int:
    """``verify`` of an organisation's attestation: its systems, and replays of them; with
    ``--previous``, every system of last month's accounted for (listed or retired)."""
    from checker.cli.org import replay_systems
    from checker.org.attestation import describe
    from checker.org.continuity import check_accounted

    current, previous = chain
    if args.repo is not None or args.evidence is not None:
        raise UsageError(
            "--repo and --evidence go with --replay of a repository's audit: an organisation's "
            "attestation is replayed on the repositories and evidence its org.yaml names",
            hint="give the organisation file as --org ORG_YAML, with --replay",
        )
    if previous is not None:
        check_accounted(current, previous)

    lines = [f"signature: valid, key {current.keyid}", *describe(current), f"chain: {link}"]
    _refuse_unused_replay_options(args, org=True)
    if args.replay:
        lines += replay_systems(args, current)
    elif args.system or args.org is not None:
        raise UsageError("--org and --system go with --replay")
    out.write(_in_log("".join(f"{visible(line)}\n" for line in lines)))
    return EXIT_PASS


def _sample(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.errors import InputError
    from checker.signing.attestation import check_judged_as_of, check_subjects, open_signed
    from checker.signing.keys import load_public
    from checker.signing.sample import draw, render_json, render_text
    from checker.signing.verdict import check_verdict

    public = load_public(args.key)
    try:
        opened = open_signed(args.file, public)
        check_subjects(opened, str(args.file))
        signed = _one_system(opened, args.system)
        check_judged_as_of(signed, str(args.file))
        check_verdict(signed.predicate, str(args.file))
        sample = draw(signed, args.size, args.seed)
    except VerificationError as exc:
        # A sample drawn from an audit that does not verify would check nothing.
        raise InputError(f"refusing to sample: {exc}", path=str(args.file)) from exc
    text = render_json(sample) if args.format == "json" else render_text(sample)
    if args.format == "json":
        out.write(json_safe(text))
    else:
        out.write(_in_log("".join(f"{visible(line)}\n" for line in text.splitlines())))
    return EXIT_PASS


def _one_system(signed: Signed, system: str | None) -> Signed:
    """An organisation's attestation: the audit of the ``--system`` it names; else as it is."""
    from checker.org.attestation import system_audit, system_entry
    from checker.signing.attestation import ORG_PREDICATE_TYPE

    if signed.kind != ORG_PREDICATE_TYPE:
        if system is not None:
            raise UsageError("--system goes with an organisation's attestation")
        return signed
    if system is None:
        raise UsageError("an organisation's attestation: name the system to sample, --system NAME")
    entry = system_entry(signed, system)
    if entry.get("status") != "judged":
        raise UsageError(f"--system {system} was {entry.get('status')}: nothing to sample")
    return system_audit(signed, entry)


def _import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.cli.imports import run

    return run(args, out, err)


def _keygen(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.signing.keys import generate, key_id, load_public
    from checker.signing.waivers import key_text

    private, public = generate(args.output)
    out.write(f"wrote {private} (keep it secret) and {public}\n")
    out.write(f"key id {key_id(load_public(public))}\n")
    out.write(f"as a waiver key: {key_text(load_public(public))}\n")
    return EXIT_PASS


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.rules.catalog import explain
    from checker.rules.policyset import load_policy_set

    out.write(explain(load_policy_set(args.policies).rules, args.rule))
    return EXIT_PASS


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.schemas import markdown, render, schemas

    schema = schemas()[args.name]
    out.write(markdown(schema) if args.format == "markdown" else render(schema))
    return EXIT_PASS


def _waiver(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.cli.waivers import run

    return run(args, out, err)


def _demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.demo.run import run_demo

    text, _ = run_demo()
    out.write(text)
    return EXIT_PASS


COMMANDS: dict[str, Command] = {
    "check": _check,
    "audit": _audit,
    "verify": _verify,
    "sample": _sample,
    "keygen": _keygen,
    "export-input": _export,
    "explain": _explain,
    "policy": _policy,
    "schema": _schema,
    "waiver": _waiver,
    "demo": _demo,
    "import": _import,
}
"""Each command's function, by the name argparse gives it."""
