"""Command line: argv → options → run → render → exit code. The only module that prints or exits."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from checker import __version__
from checker.errors import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_PASS, KnightwatchError, UsageError
from checker.evidence.bundle import KINDS
from checker.gate import Gate
from checker.report import RENDERERS
from checker.report.escape import json_safe, visible, without_key_material
from checker.runner import CheckOptions
from checker.schemas import names as schema_names
from checker.vocabulary import ENGINE_NAMES, GATE_STAGES, SEVERITIES
from checker.writer import check_targets, recording_inputs, write_all


class _Parser(argparse.ArgumentParser):
    """argparse that raises a UsageError instead of exiting, so main() owns every exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose what is checked, shared by every command that checks."""
    parser.add_argument("--repo", type=Path, default=Path(), help="git repository (default: .)")
    parser.add_argument(
        "--evidence", type=Path, help="evidence directory (default: compliance/ in the repository)"
    )
    parser.add_argument(
        "--as-of", type=_as_of, help="date waivers are judged on (default: today, UTC)"
    )
    parser.add_argument(
        "--protected-branch", help="branch deployed commits must be on (default: main)"
    )
    parser.add_argument("--baseline", help="where the first deployment's shipped range starts")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="an auditor's configuration file: over the repository's knightwatch.yaml, which "
        "for an audit may then only make the rules stricter",
    )
    parser.add_argument(
        "--require-all",
        action="store_true",
        default=None,
        help="fail when a rule could not be evaluated for want of evidence",
    )
    parser.add_argument(
        "--policies",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra policy directory (repeatable)",
    )
    _add_engine_options(parser)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Where the policies are evaluated."""
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        help="regorus: embedded (default); opa: an OPA server, at --opa-url",
    )
    group.add_argument("--opa-url", metavar="URL", help="the OPA server's root URL")
    group.add_argument(
        "--opa-timeout", type=_seconds, metavar="SECONDS", help="per request (default: 30)"
    )
    group.add_argument(
        "--opa-ca", type=Path, metavar="FILE", help="CA bundle (PEM) for the server's certificate"
    )
    _add_limit_options(group)


def _add_limit_options(group: argparse._ActionsContainer) -> None:
    """How long, and with how much memory, the embedded engine may evaluate."""
    group.add_argument(
        "--policy-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="embedded engine: stop a rule that takes longer (default: 120); no verdict",
    )
    group.add_argument(
        "--policy-memory",
        type=_mebibytes,
        metavar="MIB",
        help="embedded engine: stop an evaluation that adds more memory (default: 4096)",
    )


def _mebibytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of MiB: {text!r}") from None
    if value < 64:
        raise argparse.ArgumentTypeError("must be at least 64 MiB")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "engine": args.engine,
        "opa_url": args.opa_url,
        "opa_timeout": args.opa_timeout,
        "opa_ca": args.opa_ca,
        "policy_timeout": args.policy_timeout,
        "policy_memory": args.policy_memory,
    }


def _gate(args: argparse.Namespace) -> Gate | None:
    """``--candidate`` and its options as the gate they describe; without ``--candidate``,
    its options are refused rather than ignored."""
    candidate = getattr(args, "candidate", None)
    service = getattr(args, "service", None)
    if candidate is None:
        for option, given in (
            ("--service", service),
            ("--environment", getattr(args, "environment", None)),
            ("--stage", getattr(args, "stage", None)),
            ("--with-reviews", getattr(args, "with_reviews", False)),
        ):
            if given:
                raise UsageError(f"{option} goes with --candidate")
        return None
    if not service:
        raise UsageError("--candidate needs --service: the service it would be deployed to")
    return Gate(
        revision=candidate,
        service=service,
        environment=args.environment or Gate.environment,
        stage=args.stage or Gate.stage,
        with_reviews=args.with_reviews,
    )


def _options(args: argparse.Namespace) -> CheckOptions:
    return CheckOptions(
        gate=_gate(args),
        repo=args.repo,
        evidence=args.evidence,
        fail_on=getattr(args, "fail_on", None),
        as_of=args.as_of,
        protected_branch=args.protected_branch,
        baseline=args.baseline,
        policy_dirs=args.policies,
        require_all=args.require_all,
        config_file=args.config,
        audit=args.command == "audit",
        **_engine_options(args),
    )


def build_parser() -> argparse.ArgumentParser:
    """Every command and option."""
    parser = _Parser(
        prog="knightwatch",
        description="Policy-as-code checks for how code reaches production.",
    )
    parser.add_argument("--version", action="version", version=f"knightwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check", help="evaluate the policies against a repository and its evidence"
    )
    _add_input_options(check)
    check.add_argument(
        "--format", choices=sorted(RENDERERS), help="text on a terminal, json with --output"
    )
    check.add_argument(
        "-o",
        "--output",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="write the report here (atomically); repeat for several formats, chosen by "
        "extension (.json .sarif .xml .html .md .txt)",
    )
    check.add_argument(
        "--print",
        dest="print_format",
        choices=sorted(RENDERERS),
        metavar="FMT",
        help="also print this format on stdout when writing files (e.g. --print text)",
    )
    gate = check.add_argument_group("gate: judge a deployment before it happens")
    gate.add_argument("--candidate", metavar="REV", help="the revision that would be deployed")
    gate.add_argument("--service", help="the service it would be deployed to (with --candidate)")
    gate.add_argument("--environment", help="its environment (default: production)")
    gate.add_argument(
        "--stage",
        choices=GATE_STAGES,
        help="merge: what the change adds to the protected branch; deploy (default): what it "
        "would ship to production",
    )
    gate.add_argument(
        "--with-reviews", action="store_true", help="at the merge gate, judge reviews too"
    )
    check.add_argument(
        "--github",
        choices=("auto", "always", "never"),
        default="auto",
        help="GitHub Actions annotations and job summary (default: when GITHUB_ACTIONS=true)",
    )
    check.add_argument(
        "--fail-on", choices=SEVERITIES, help="lowest severity that fails (default: high)"
    )
    check.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour in text output (default: auto, on a terminal without NO_COLOR)",
    )

    export = commands.add_parser(
        "export-input", help="write the exact input and data documents the policies see"
    )
    _add_input_options(export)
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory for input.json and data.json (created if missing)",
    )

    audit = commands.add_parser(
        "audit", help="a signed report of the deployments that started in one month"
    )
    _add_input_options(audit)
    audit.add_argument("--period", required=True, metavar="YYYY-MM", help="the month (UTC)")
    audit.add_argument(
        "--partial",
        action="store_true",
        help="attest a month that has not ended yet (the attestation says it is partial)",
    )
    audit.add_argument(
        "--key",
        metavar="KEY",
        help="private key file, or env:NAME (default: $KNIGHTWATCH_SIGNING_KEY)",
    )
    audit.add_argument("-o", "--output", type=Path, required=True, help="the signed report")
    audit.add_argument(
        "--previous", type=Path, metavar="FILE", help="last month's signed report, to chain to"
    )
    audit.add_argument("--html", type=Path, metavar="FILE", help="also write the report as HTML")
    audit.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the report as Markdown"
    )
    audit.add_argument(
        "--fail-on", choices=SEVERITIES, help="lowest severity that fails (default: high)"
    )

    verify = commands.add_parser("verify", help="check a signed report's signature and chain")
    verify.add_argument("file", type=Path, metavar="FILE", help="the signed report")
    verify.add_argument("--key", type=Path, required=True, metavar="PUB", help="public key")
    verify.add_argument("--previous", type=Path, metavar="FILE", help="the report it must link to")
    verify.add_argument(
        "--replay",
        action="store_true",
        help="re-evaluate the recorded inputs (--repo, --evidence) and compare",
    )
    verify.add_argument("--repo", type=Path, default=Path(), help="for --replay (default: .)")
    verify.add_argument("--evidence", type=Path, help="for --replay")
    verify.add_argument("--policies", type=Path, action="append", default=[], metavar="DIR")
    _add_engine_options(verify)

    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair for signing reports")
    keygen.add_argument(
        "--output",
        type=Path,
        required=True,
        metavar="PREFIX",
        help="writes PREFIX.key (mode 0600) and PREFIX.pub",
    )

    explain = commands.add_parser("explain", help="what a rule checks, and why")
    explain.add_argument("rule", metavar="RULE", help="a rule id, e.g. FLEET-003")
    explain.add_argument("--policies", type=Path, action="append", default=[], metavar="DIR")

    policy = commands.add_parser("policy", help="work with Rego policies")
    policy_commands = policy.add_subparsers(
        dest="policy_command", metavar="COMMAND", parser_class=_Parser
    )
    ptest = policy_commands.add_parser("test", help="run the test_ rules of *_test.rego files")
    ptest.add_argument(
        "dirs", nargs="*", type=Path, metavar="DIR", help="default: the shipped policies"
    )
    _add_limit_options(ptest)
    plist = policy_commands.add_parser("list", help="the rule catalog from the policies' metadata")
    plist.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plist.add_argument("--policies", type=Path, action="append", default=[], metavar="DIR")

    schema = commands.add_parser(
        "schema", help="the JSON Schema of the policies' input document, or of an evidence file"
    )
    schema.add_argument(
        "name",
        choices=schema_names(),
        metavar="NAME",
        help="input (what the policies read), knightwatch (the options file), flags (the "
        "registry), or an evidence file: " + ", ".join(k.name for k in KINDS),
    )
    schema.add_argument(
        "--format", choices=("json", "markdown"), default="json", help="markdown: one page"
    )

    commands.add_parser("demo", help="the Knight Capital 2012 reconstruction, end to end")
    from checker.cli.imports import add_parser as add_import_parser

    add_import_parser(commands)
    return parser


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and "NO_COLOR" not in os.environ


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.runner import run_check
    from checker.timing import stage

    files = _output_formats(args.output, args.format)
    check_targets([path for path, _ in files])  # before the run: a typo costs nothing
    report = run_check(_options(args))
    stdout_format = args.print_format or (None if files else args.format or "text")
    with stage("rendering"):
        rendered = [(path, RENDERERS[fmt].render(report)) for path, fmt in files]
        shown = (
            RENDERERS[stdout_format].render(report, color=_use_color(args.color, out))
            if stdout_format
            else ""
        )
    write_all(rendered)
    out.write(shown)
    if files:
        failing = len(report.failing)
        names = ", ".join(str(path) for path, _ in files)
        err.write(
            f"knightwatch: {report.verdict_line.lower()}: {len(report.findings)} findings, "
            f"{failing} at or above {report.fail_on}; report written to {names}\n"
        )
    on_github = os.environ.get("GITHUB_ACTIONS") == "true"
    if args.github == "always" or (args.github == "auto" and on_github):
        from checker.report.github import workflow_commands

        out.write(workflow_commands(report))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(RENDERERS["markdown"].render(report))
    return report.exit_code


EXTENSIONS = {
    ".json": "json",
    ".sarif": "sarif",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".txt": "text",
}


def _output_formats(paths: list[Path], fmt: str | None) -> list[tuple[Path, str]]:
    """One output takes --format (else its extension, else json); several take their extension."""
    if len(paths) == 1:
        return [(paths[0], fmt or EXTENSIONS.get(paths[0].suffix.lower(), "json"))]
    formats = []
    for path in paths:
        if path.suffix.lower() not in EXTENSIONS:
            raise UsageError(
                f"cannot tell the format of {path} from its extension; use one of "
                + " ".join(sorted(EXTENSIONS))
            )
        formats.append((path, EXTENSIONS[path.suffix.lower()]))
    return formats


def _policy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.policy_command == "test":
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


def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.runner import evaluate, prepare

    options = _options(args)
    directory: Path = args.output
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"cannot write into {directory}: it is not a directory")
    names = ("input.json", "data.json")
    if directory.is_dir():
        check_targets([directory / name for name in names])
    evaluation = evaluate(prepare(options), options)
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
    import dataclasses

    from checker.runner import evaluate, prepare
    from checker.signing.attestation import (
        check_as_of,
        check_period,
        read_previous,
        sign_report,
    )
    from checker.signing.keys import key_id, load_private
    from checker.timing import stage

    period = check_period(args.period, partial=args.partial)
    check_as_of(period, args.as_of, partial=args.partial)
    outputs = [args.output, *(p for p in (args.html, args.markdown) if p is not None)]
    check_targets(outputs)
    key = load_private(args.key)
    previous = read_previous(args.previous, key, period) if args.previous else None
    options = dataclasses.replace(_options(args), period=period)
    report = dataclasses.replace(evaluate(prepare(options), options).report, partial=args.partial)
    with stage("rendering"):
        envelope, digest = sign_report(report, key, previous)
    signature = {
        "Signed by key": key_id(key.public_key()),
        "Signed payload sha256": digest,
        "Previous report": (
            f"{previous.period} sha256 {previous.digest}" if previous else "none (first in chain)"
        ),
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


def _verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.signing.attestation import check_link, open_signed
    from checker.signing.keys import load_public

    public = load_public(args.key)
    current = open_signed(args.file, public)
    previous = open_signed(args.previous, public) if args.previous else None
    link = check_link(current, previous)
    report = current.predicate["report"]
    summary = report.get("summary") or {}
    notes = [
        *(["partial: the month had not ended"] if current.predicate.get("partial") else []),
        *(
            [f"incomplete: {', '.join(map(str, summary['incomplete']))} not evaluated"]
            if summary.get("incomplete")
            else []
        ),
        *(["no deployments in the period"] if summary.get("deployments") == 0 else []),
    ]
    lines = [
        f"signature: valid, key {current.keyid}",
        f"period: {current.period}; verdict {report.get('verdict')}; "
        f"{len(report.get('findings', []))} findings"
        + (f" ({summary['waived']} waived)" if summary.get("waived") else "")
        + f"; as of {current.predicate.get('as_of')}"
        + "".join(f"; {note}" for note in notes),
        f"chain: {link}",
    ]
    if args.replay:
        from checker.replay import replay
        from checker.runner import CheckOptions

        base = CheckOptions(
            repo=args.repo,
            evidence=args.evidence,
            policy_dirs=args.policies,
            **_engine_options(args),
        )
        lines.append(f"replay: {replay(current, base)}")
    out.write("".join(f"{visible(line)}\n" for line in lines))
    return EXIT_PASS


def _import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.cli.imports import run

    return run(args, out, err)


def _keygen(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.signing.keys import generate, key_id, load_public

    private, public = generate(args.output)
    out.write(f"wrote {private} (keep it secret) and {public}\n")
    out.write(f"key id {key_id(load_public(public))}\n")
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


def _demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from checker.demo.run import run_demo

    text, _ = run_demo()
    out.write(text)
    return EXIT_PASS


def _shown(message: str) -> str:
    """A message as printed: never a key (argparse repeats arguments it cannot place), and
    the control characters of the evidence it quotes shown, not sent to the terminal."""
    return "".join(visible(line) + "\n" for line in without_key_material(message).split("\n"))


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a run the way Ctrl-C does, so that every cleanup runs: staged
    outputs are removed and a policy evaluation in a child process is stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signals = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; return its exit code (0 pass, 1 findings, 2 input, 3 internal)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with contextlib.redirect_stdout(out):  # --help and --version print to our stream
            args = build_parser().parse_args(list(argv) if argv is not None else None)
        handlers = {
            "check": _check,
            "audit": _audit,
            "verify": _verify,
            "keygen": _keygen,
            "export-input": _export,
            "explain": _explain,
            "policy": _policy,
            "schema": _schema,
            "demo": _demo,
            "import": _import,
        }
        if args.command not in handlers:
            raise UsageError(f"a command is needed\n{build_parser().format_usage().strip()}")
        with recording_inputs(), _terminate_as_interrupt():
            return handlers[args.command](args, out, err)
    except KnightwatchError as exc:
        err.write(_shown(exc.render()))
        return exc.exit_code
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        err.write("knightwatch: interrupted\n")
        return EXIT_INTERNAL
    except Exception as exc:
        import traceback

        err.write(
            _shown(
                "knightwatch: internal error (a bug in knightwatch, not in your input): "
                f"{type(exc).__name__}: {exc}"
            )
        )
        if os.environ.get("KNIGHTWATCH_DEBUG"):
            traceback.print_exc(file=err)
        else:
            err.write("  set KNIGHTWATCH_DEBUG=1 for the traceback\n")
        return EXIT_INTERNAL
