"""The argument parser: every command, option and choice (the choices come from the registries
they name: renderers, severities, gate stages, engines, schemas)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias

from checker import __version__
from checker.cli.arguments import given, path, prefix
from checker.errors import UsageError
from checker.evidence.bundle import KINDS
from checker.report import RENDERERS
from checker.schemas import names as schema_names
from checker.vocabulary import ENGINE_NAMES, GATE_STAGES, SEVERITIES

if TYPE_CHECKING:
    Commands: TypeAlias = "argparse._SubParsersAction[Parser]"


class Parser(argparse.ArgumentParser):
    """argparse that raises a UsageError instead of exiting, so main() owns every exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


class _StoreOnce(argparse._StoreAction):
    """An option refused when given twice: argparse keeps the last, so ``audit --config
    auditor.yaml --config lax.yaml`` dropped the auditor's file unseen, and ``check
    --candidate pr-17 ... --candidate main`` (a ref pasted into a gate's arguments) judged
    main and passed, while the pipeline, which read the first, deployed pr-17. So are the
    gate's other subjects: ``--service``, ``--environment``, ``--stage``. (Other options keep
    the last as usual: a script's defaults followed by an override; the report shows the
    settings applied.)"""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string is not None:
            given: set[str] = namespace.__dict__.setdefault("_given_once", set())
            if self.dest in given:
                parser.error(f"{'/'.join(self.option_strings)} given twice: it takes one value")
            given.add(self.dest)
        super().__call__(parser, namespace, values, option_string)


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose what is checked, shared by every command that checks."""
    parser.add_argument("--repo", type=path, help="git repository (default: .)")
    parser.add_argument(
        "--evidence", type=path, help="evidence directory (default: compliance/ in the repository)"
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
        type=path,
        action=_StoreOnce,
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
        type=path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra policy directory (repeatable)",
    )
    _add_cache_options(parser)
    _add_engine_options(parser)


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    """Where facts of git objects are kept from one run to the next."""
    group = parser.add_argument_group("cache")
    group.add_argument(
        "--cache-dir",
        type=path,
        metavar="DIR",
        help="keep facts of git objects here across runs (default for check: "
        "$XDG_CACHE_HOME/knightwatch or ~/.cache/knightwatch; audit uses a cache only "
        "when given this option); safe to delete",
    )
    group.add_argument("--no-cache", action="store_true", help="neither read nor write a cache")


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
        "--opa-ca", type=path, metavar="FILE", help="CA bundle (PEM) for the server's certificate"
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


def _add_gate_options(check: argparse.ArgumentParser) -> None:
    """``--candidate`` and what goes with it."""
    gate = check.add_argument_group("gate: judge a deployment before it happens")
    gate.add_argument(
        "--candidate",
        action=_StoreOnce,
        metavar="REV",
        help="the revision that would be deployed",
    )
    gate.add_argument(
        "--service",
        action=_StoreOnce,
        help="the service it would be deployed to (with --candidate)",
    )
    gate.add_argument(
        "--environment", action=_StoreOnce, help="its environment (default: production)"
    )
    gate.add_argument(
        "--stage",
        action=_StoreOnce,
        choices=GATE_STAGES,
        help="merge: what the change adds to the protected branch; deploy (default): what it "
        "would ship to production",
    )
    gate.add_argument(
        "--with-reviews", action="store_true", help="at the merge gate, judge reviews too"
    )


def _check(commands: Commands) -> None:
    """``check``: evaluate, render, exit with the verdict."""
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
        type=path,
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
    _add_gate_options(check)
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


def _export(commands: Commands) -> None:
    """``export-input``: the documents the policies see."""
    export = commands.add_parser(
        "export-input", help="write the exact input and data documents the policies see"
    )
    _add_input_options(export)
    export.add_argument(
        "-o",
        "--output",
        type=path,
        required=True,
        metavar="DIR",
        help="directory for input.json and data.json (created if missing)",
    )


def _audit(commands: Commands) -> None:
    """``audit``: a month, signed."""
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
        type=given,
        metavar="KEY",
        help="private key file, or env:NAME (default: $KNIGHTWATCH_SIGNING_KEY)",
    )
    audit.add_argument("-o", "--output", type=path, required=True, help="the signed report")
    audit.add_argument(
        "--previous", type=path, metavar="FILE", help="last month's signed report, to chain to"
    )
    audit.add_argument(
        "--previous-key",
        type=path,
        metavar="PUB",
        help="the public key that signed --previous, where it is not --key's (a rotated key)",
    )
    audit.add_argument("--html", type=path, metavar="FILE", help="also write the report as HTML")
    audit.add_argument(
        "--markdown", type=path, metavar="FILE", help="also write the report as Markdown"
    )
    audit.add_argument(
        "--fail-on", choices=SEVERITIES, help="lowest severity that fails (default: high)"
    )
    _add_org_options(audit)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of workers: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (this process) or more")
    return value


def _add_org_options(audit: argparse.ArgumentParser) -> None:
    """``audit --org``: every system of an organisation, in one signed attestation."""
    org = audit.add_argument_group("organisation: one attestation for every system of org.yaml")
    org.add_argument(
        "--org", type=path, metavar="ORG_YAML", help="the organisation file: its systems in scope"
    )
    org.add_argument(
        "--from-attestations",
        type=path,
        metavar="DIR",
        help="federated: attest the systems' own signed audits (DIR/NAME.json), verified with "
        "the keys org.yaml names, instead of judging their repositories",
    )
    org.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="judge the systems on this existing Dask cluster (default: a local cluster)",
    )
    org.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="worker processes of the local cluster (default: one per core; 0: this process)",
    )


def _verify(commands: Commands) -> None:
    """``verify``: a signed report's signature, chain and (``--replay``) findings."""
    verify = commands.add_parser("verify", help="check a signed report's signature and chain")
    verify.add_argument("file", type=path, metavar="FILE", help="the signed report")
    verify.add_argument("--key", type=path, required=True, metavar="PUB", help="public key")
    verify.add_argument("--previous", type=path, metavar="FILE", help="the report it must link to")
    verify.add_argument(
        "--previous-key",
        type=path,
        metavar="PUB",
        help="the public key that signed --previous, where the report records a change of key",
    )
    verify.add_argument(
        "--replay",
        action="store_true",
        help="re-evaluate the recorded inputs (--repo, --evidence) and compare",
    )
    verify.add_argument("--repo", type=path, help="for --replay (default: .)")
    verify.add_argument("--evidence", type=path, help="for --replay")
    verify.add_argument(
        "--org",
        type=path,
        metavar="ORG_YAML",
        help="for --replay of an organisation's attestation: where its systems are",
    )
    verify.add_argument(
        "--system",
        action="append",
        default=[],
        metavar="NAME",
        help="for --replay of an organisation's attestation: replay this system (repeatable; "
        "default: every system judged)",
    )
    verify.add_argument("--policies", type=path, action="append", default=[], metavar="DIR")
    _add_engine_options(verify)


def _sample(commands: Commands) -> None:
    """``sample``: a reproducible sample of a verified audit's population."""
    sample = commands.add_parser(
        "sample", help="draw a reproducible sample of the deployments a signed audit judged"
    )
    sample.add_argument("file", type=path, metavar="AUDIT", help="the signed audit")
    sample.add_argument(
        "--key", type=path, required=True, metavar="PUB", help="public key it must verify with"
    )
    sample.add_argument("--size", type=int, required=True, metavar="N", help="how many to draw")
    sample.add_argument(
        "--seed",
        required=True,
        metavar="S",
        help="any text the audited team could not know when it signed (choose it after the "
        "signed audit is delivered); the same seed draws the same sample",
    )
    sample.add_argument("--format", choices=("text", "json"), default="text")
    sample.add_argument(
        "--system", metavar="NAME", help="of an organisation's attestation: the system to sample"
    )


def _keygen(commands: Commands) -> None:
    """``keygen``."""
    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair for signing reports")
    keygen.add_argument(
        "--output",
        type=prefix,
        required=True,
        metavar="PREFIX",
        help="writes PREFIX.key (mode 0600) and PREFIX.pub",
    )


def _explain(commands: Commands) -> None:
    """``explain RULE``."""
    explain = commands.add_parser("explain", help="what a rule checks, and why")
    explain.add_argument("rule", metavar="RULE", help="a rule id, e.g. FLEET-003")
    explain.add_argument("--policies", type=path, action="append", default=[], metavar="DIR")


def _policy(commands: Commands) -> None:
    """``policy test`` and ``policy list``."""
    policy = commands.add_parser("policy", help="work with Rego policies")
    policy_commands = policy.add_subparsers(
        dest="policy_command", metavar="COMMAND", parser_class=Parser
    )
    ptest = policy_commands.add_parser("test", help="run the test_ rules of *_test.rego files")
    ptest.add_argument(
        "dirs", nargs="*", type=path, metavar="DIR", help="default: the shipped policies"
    )
    _add_limit_options(ptest)
    plist = policy_commands.add_parser("list", help="the rule catalog from the policies' metadata")
    plist.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plist.add_argument("--policies", type=path, action="append", default=[], metavar="DIR")


def _schema(commands: Commands) -> None:
    """``schema NAME``."""
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


def build_parser() -> argparse.ArgumentParser:
    """Every command and option."""
    from checker.cli.imports import add_parser as add_import_parser
    from checker.cli.waivers import add_parser as add_waiver_parser

    parser = Parser(
        prog="knightwatch",
        description="Policy-as-code checks for how code reaches production.",
    )
    parser.add_argument("--version", action="version", version=f"knightwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in (_check, _export, _audit, _verify, _sample, _keygen, _explain, _policy, _schema):
        add(commands)
    add_waiver_parser(commands, Parser)
    commands.add_parser("demo", help="the Knight Capital 2012 reconstruction, end to end")
    add_import_parser(commands)
    return parser
