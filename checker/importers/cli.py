"""``knightwatch import TOOL ...``: the command line of the importers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from checker.config import load_config
from checker.errors import EXIT_PASS, InputError, UsageError
from checker.evidence.bundle import KIND_BY_NAME, find_file, parse_document
from checker.evidence.files import Located, read_text, validate
from checker.evidence.git import GitHistory
from checker.evidence.identities import IdentityResolver
from checker.evidence.models import DeployApproval, Identities
from checker.importers.common import Appended, Logins, append_records
from checker.report.escape import visible
from checker.runner import DEFAULT_EVIDENCE


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """``import`` and its tools."""
    parser = commands.add_parser(
        "import", help="turn a deploy tool's or a forge's output into evidence records"
    )
    tools = parser.add_subparsers(dest="tool", metavar="TOOL", parser_class=type(parser))

    ansible = tools.add_parser(
        "ansible", help="a deployment from ansible-playbook's json callback output"
    )
    ansible.add_argument("result", type=Path, metavar="RESULT.json")
    ansible.add_argument("--deployment-id", required=True, metavar="ID")
    ansible.add_argument("--service", required=True, metavar="NAME", help="a key of fleet.yaml")
    ansible.add_argument(
        "--commit", required=True, metavar="REV", help="what was deployed; recorded as a full sha"
    )
    ansible.add_argument("--deployer", required=True, metavar="ADDRESS", help="who ran it")
    ansible.add_argument("--environment", default="production")
    ansible.add_argument(
        "--approval",
        action="append",
        default=[],
        metavar="ADDRESS,TIMESTAMP",
        help="a sign-off on the deployment, e.g. lead@example.com,2024-02-01T09:00:00Z",
    )
    ansible.add_argument("--change-ticket", metavar="TICKET")
    ansible.add_argument("--artifact", metavar="DIGEST")

    github = tools.add_parser("github-reviews", help="reviews of merged GitHub pull requests")
    github.add_argument("pulls", type=Path, metavar="PULLS.json")
    github.add_argument(
        "reviews_dir", type=Path, metavar="REVIEWS_DIR", help="NUMBER/reviews.json and commits.json"
    )

    gerrit = tools.add_parser("gerrit", help="Code-Review +2 votes of merged Gerrit changes")
    gerrit.add_argument("changes", type=Path, metavar="CHANGES.json")

    for tool in (ansible, github, gerrit):
        tool.add_argument("--repo", type=Path, default=Path(), help="git repository (default: .)")
        tool.add_argument(
            "--evidence", type=Path, help="evidence directory (default: compliance/ in the repo)"
        )


def _identities(directory: Path) -> tuple[IdentityResolver, dict[str, list[str]]]:
    kind = KIND_BY_NAME["identities"]
    path = find_file(directory, kind)
    if path is None:
        return IdentityResolver(), {}
    document = parse_document(kind, path, read_text(path))
    people = document.root if isinstance(document, Identities) else {}
    return IdentityResolver(people, source=str(path)), people


def _approval(text: str) -> DeployApproval:
    by, _, at = text.rpartition(",")
    if not by or not at:
        raise UsageError(f"--approval {text!r}: expected ADDRESS,TIMESTAMP")
    try:
        return validate(DeployApproval, Located({"by": by, "at": at}, 0), Path("--approval"), "")
    except InputError as exc:
        raise UsageError(f"--approval {text!r}: {exc.message.split(': ', 2)[-1]}") from None


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Import, append, and say what was added and what was already there."""
    if args.tool is None:
        raise UsageError("import needs a tool: ansible, github-reviews or gerrit")
    history = GitHistory(args.repo)
    try:
        config, _ = load_config(history.root)
        evidence = args.evidence or history.root / (config.evidence or DEFAULT_EVIDENCE)
        identities, people = _identities(evidence)
        logins = Logins(identities, people)
        if args.tool == "ansible":
            from checker.importers.ansible import Run, deployment

            sha = history.resolve([args.commit])[args.commit]
            if sha is None:
                raise UsageError(
                    f"--commit {args.commit!r} does not resolve in {history.root}",
                    hint="pass the sha or ref that was deployed, in the repository it came from",
                )
            record = deployment(
                args.result,
                Run(
                    deployment_id=args.deployment_id,
                    service=args.service,
                    environment=args.environment,
                    commit=sha,
                    deployer=args.deployer,
                    approvals=tuple(_approval(a) for a in args.approval),
                    change_ticket=args.change_ticket,
                    artifact=args.artifact,
                ),
            )
            done = append_records(evidence, "deploys", "id", [record])
            hosts = [t.status for t in record.targets]
            counts = ", ".join(f"{hosts.count(s)} {s}" for s in sorted(set(hosts)))
            _say(err, done, f"deployment {record.id} ({len(hosts)} hosts: {counts})")
            return EXIT_PASS
        if args.tool == "github-reviews":
            from checker.importers.github import import_reviews

            found = import_reviews(args.pulls, args.reviews_dir, logins, config.review_bots)
            skipped = found.skipped_unmerged
            what = "merged pull requests"
        else:
            from checker.importers.gerrit import import_changes

            found = import_changes(args.changes, logins, config.review_bots)
            skipped = found.skipped_unmerged
            what = "merged changes"
        done = append_records(evidence, "reviews", "change", list(found.reviews))
        left = ", ".join(f"{n} {why}" for why, n in sorted(found.left_out.items()))
        _say(
            err,
            done,
            f"{len(found.reviews)} {what} ({skipped} not merged, skipped); "
            f"{found.counted} approvals counted" + (f"; left out: {left}" if left else ""),
        )
        unmapped = sorted(logins.unmapped)
        if unmapped:
            err.write(
                "knightwatch: these logins have no address in identities.yaml and are recorded "
                f"as they are: {visible(', '.join(unmapped))}\n"
            )
        return EXIT_PASS
    finally:
        history.close()


def _say(err: TextIO, done: Appended, what: str) -> None:
    err.write(
        f"knightwatch: imported {what} into {done.path}: {len(done.added)} added, "
        f"{len(done.already)} already there\n"
    )
