"""``waiver key`` and ``waiver sign``: an approver's key for ``waiver_keys``, and their
signature on the waivers they approve (``checker.signing.waivers``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from checker.cli.arguments import path
from checker.errors import InputError, UsageError
from checker.evidence.files import Located, iter_records, read_text, validate
from checker.evidence.identities import IdentityResolver, normalise
from checker.evidence.models import Waiver
from checker.report.escape import json_safe, log_inert, visible, yaml_safe

if TYPE_CHECKING:
    from checker.cli.parser import Commands, Parser

EXIT_PASS = 0


def add_parser(commands: Commands, parser_class: type[Parser]) -> None:
    """``waiver key`` and ``waiver sign``."""
    waiver = commands.add_parser("waiver", help="sign waivers with an approver's key")
    verbs = waiver.add_subparsers(
        dest="waiver_command", metavar="COMMAND", parser_class=parser_class
    )
    key = verbs.add_parser(
        "key", help="print a public key as waiver_keys takes it (ed25519:BASE64)"
    )
    key.add_argument("public", type=path, metavar="KEY.pub", help="from 'knightwatch keygen'")
    sign = verbs.add_parser(
        "sign",
        help="sign the waivers of waivers.yaml that an approver approved",
        description="Sign each waiver the approver approved, over every field it has (rule, "
        "subject or cause, purpose for DEAD-002, reason, approved_by, expires) and the "
        "repository; a field changed afterwards voids the signature.",
    )
    sign.add_argument("file", type=path, metavar="WAIVERS", help="the waivers file")
    sign.add_argument("--key", required=True, metavar="PATH", help="the approver's private key")
    sign.add_argument(
        "--approver",
        required=True,
        metavar="ADDRESS",
        help="the address the waivers name in approved_by: only those are signed",
    )
    sign.add_argument(
        "-o", "--output", type=path, metavar="FILE", help="write here (default: stdout)"
    )
    sign.add_argument(
        "--repo",
        type=path,
        metavar="PATH",
        help="the repository the waivers are for (default: the one holding WAIVERS)",
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``waiver key`` or ``waiver sign``."""
    from checker.signing.keys import load_private, load_public
    from checker.signing.waivers import key_text

    if args.waiver_command == "key":
        out.write(key_text(load_public(args.public)) + "\n")
        return EXIT_PASS
    if args.waiver_command != "sign":
        raise UsageError("say what to do: 'knightwatch waiver key' or 'knightwatch waiver sign'")
    if "@" not in args.approver:
        raise UsageError(f"--approver {args.approver!r} is not an address")
    key = load_private(args.key)
    repository = _repository(args.repo or args.file.parent)
    text, signed = signed_file(args.file, args.approver, key, repository)
    if not signed:
        raise InputError(
            f"no waiver names {args.approver} in approved_by, so none was signed",
            path=str(args.file),
        )
    if args.output is None:
        out.write(text)
    else:
        from checker.writer import write_atomic

        # The waivers file itself however it is spelt (./compliance/waivers.yaml, its absolute
        # path): a new version of the file read, not a report overwriting one of its inputs.
        same = args.output.is_file() and args.output.samefile(args.file)
        write_atomic(args.output, text, replacing_input=same)
    for line in signed:  # the waiver's own text: shown, never obeyed (``log_inert``)
        err.write(log_inert(f"signed: {visible(line)}\n"))
    err.write(f"for the repository whose first commit is {repository}\n")
    return EXIT_PASS


def _repository(where: Path) -> str:
    """The repository a signature is for (``repository_of``): an audit of another repository
    does not take it, however its deployments are named."""
    from checker.evidence.git import GitHistory
    from checker.signing.waivers import repository_of

    if not where.is_dir():
        raise UsageError(f"--repo {where}: not a directory")
    history = GitHistory(where)
    try:
        return repository_of(history)
    finally:
        history.close()


def signed_file(file: Path, approver: str, key: Any, repository: str) -> tuple[str, list[str]]:
    """The waivers file, in its own format, with ``approver``'s signature on each waiver they
    approved (any signature there before replaced), for ``repository``, and a line saying
    each one signed. Every waiver is validated first, as a check reads it: an approver signs
    only waivers a check can read."""
    from checker.signing.waivers import sign

    data = read_text(file)
    items: list[Located] = list(iter_records(data, file))
    records: list[dict[str, Any]] = []
    signed: list[str] = []
    signer = _signer(approver)
    for index, item in enumerate(items, start=1):
        waiver = validate(Waiver, item, file, f"waiver #{index}")
        record = {k: _plain(v) for k, v in dict(item.value).items()}
        if _approved_by(signer, waiver.approved_by, file, index, item.line):
            record["signature"] = sign(waiver.model_dump(exclude={"signature"}), key, repository)
            purpose = f' for "{waiver.purpose}"' if waiver.purpose is not None else ""
            signed.append(f"#{index} {waiver.rule} {waiver.target}{purpose} until {waiver.expires}")
        records.append(record)
    return _written(records, file.suffix), signed


_IDENTITIES = IdentityResolver()
"""How an audit reads an address where no identities.yaml joins it to others: the signing
reads ``approved_by`` the same way, so it signs only waivers an audit applies to the signer."""


def _signer(approver: str) -> str:
    """The identity ``--approver`` names, or a usage error saying why it names nobody."""
    found = _IDENTITIES.identify(approver)
    if found.identity is None:
        raise UsageError(f"--approver {approver!r} names nobody: {found.unresolved}")
    return found.identity


def _approved_by(signer: str, value: str, file: Path, index: int, line: int) -> bool:
    """Whether a waiver's ``approved_by`` names the signer, as an audit reads it. One that an
    audit reads as nobody (two addresses, an invisible character) but that holds the signer's
    address is an input error: signed, the audit would refuse it anyway (exit 2), and the
    approver would believe it in force."""
    found = _IDENTITIES.identify(value)
    if found.identity is not None:
        return found.identity == signer
    if normalise(value) == signer or signer in value.casefold():
        raise InputError(
            f"waiver #{index}: approved_by {value!r} names nobody ({found.unresolved}), so an "
            "audit would not apply it: nothing was signed",
            path=str(file),
            line=line or None,
            hint="write the one approver's address in approved_by, then sign again",
        )
    return False


def _written(records: list[dict[str, Any]], suffix: str) -> str:
    """The records in the file's own format: JSON Lines, JSON, or YAML, in which no line
    reads as a CI log's command (``json_safe``, ``yaml_safe``): printed without ``-o``, they
    are in the job's log, and a reason written ``##vso[task.setvariable ...]`` would set a
    variable there."""
    if suffix == ".jsonl":
        return json_safe("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    if suffix == ".json":
        return json_safe(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
    return yaml_safe(records)


def _plain(value: Any) -> Any:
    """A value as YAML writes it back: a date as YAML read it, text as text."""
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
