"""``knightwatch import TOOL ...``: the command line of the importers, part of the one CLI."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from checker.cli import import_forges as forge_cli
from checker.cli import import_k8s as k8s_cli
from checker.cli.arguments import path
from checker.config import Config, load_config
from checker.errors import EXIT_PASS, InputError, UsageError
from checker.evidence.bundle import KIND_BY_NAME, find_file, parse_document
from checker.evidence.files import Located, read_text, validate
from checker.evidence.git import GitHistory
from checker.evidence.identities import IdentityResolver
from checker.evidence.messages import did_you_mean
from checker.evidence.models import DeployApproval, Fleet, Identities
from checker.importers.common import (
    SUPERSEDED,
    Appended,
    Imported,
    Logins,
    append_records,
    recorded,
)
from checker.importers.forge_deploys import Deployments
from checker.importers.github import approval_returned, as_recorded
from checker.report.escape import shown, visible
from checker.vocabulary import DEFAULT_EVIDENCE


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """``import`` and its tools."""
    parser = commands.add_parser(
        "import", help="turn a deploy tool's or a forge's output into evidence records"
    )
    tools = parser.add_subparsers(dest="tool", metavar="TOOL", parser_class=type(parser))
    every = [
        _ansible_parser(tools),
        *_review_parsers(tools),
        *forge_cli.add_parsers(tools),
        *k8s_cli.add_parsers(tools),
    ]
    for tool in every:
        tool.add_argument("--repo", type=path, default=Path(), help="git repository (default: .)")
        tool.add_argument(
            "--evidence", type=path, help="evidence directory (default: compliance/ in the repo)"
        )


def _ansible_parser(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    ansible = tools.add_parser(
        "ansible",
        help="a deployment from an ansible-playbook run (json or jsonl callback, ansible-runner)",
    )
    ansible.add_argument(
        "result",
        type=path,
        metavar="RESULT",
        help="the json or jsonl callback's output, or an ansible-runner artifact directory",
    )
    ansible.add_argument(
        "--release-task",
        action="append",
        default=[],
        metavar="NAME",
        help="a task that releases (needed; repeatable): a host succeeded only where each ran",
    )
    ansible.add_argument(
        "--rollback-task",
        action="append",
        default=[],
        metavar="NAME",
        help="a task that undoes the release (repeatable): a host where it ran is failed",
    )
    ansible.add_argument(
        "--not-check-mode",
        action="store_true",
        help="the run was not ansible-playbook --check (the json and jsonl callbacks do not "
        "record it; ansible-runner's command file does)",
    )
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
    return ansible


def _review_parsers(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    github = tools.add_parser("github-reviews", help="reviews of merged GitHub pull requests")
    forge_cli.add_saved(
        github,
        ("pulls", "PULLS.json", ""),
        ("reviews_dir", "REVIEWS_DIR", "NUMBER/reviews.json, commits.json and events.json"),
    )
    github.add_argument(
        "--repository",
        metavar="OWNER/REPO",
        help="the repository: every record of saved output must be its (required with "
        "PULLS.json REVIEWS_DIR); given alone, its pull requests are fetched from the API",
    )
    forge_cli.add_fetch_options(github, "github")

    gerrit = tools.add_parser(
        "gerrit", help="Code-Review approvals of merged Gerrit changes (REST or gerrit query)"
    )
    gerrit.add_argument("changes", type=path, metavar="CHANGES.json")
    gerrit.add_argument(
        "--project",
        required=True,
        metavar="NAME",
        help="the Gerrit project the repository is (smars, group/smars): every merged change "
        "of the export must be its",
    )
    gerrit.add_argument(
        "--approving-value",
        type=int,
        metavar="N",
        help="the Code-Review value that approves, for gerrit query output (default: 2); "
        "REST output carries the label's own maximum",
    )
    return [github, gerrit]


def _identities(directory: Path) -> tuple[IdentityResolver, dict[str, list[str]]]:
    kind = KIND_BY_NAME["identities"]
    path = find_file(directory, kind)
    if path is None:
        return IdentityResolver(), {}
    document = parse_document(kind, path, read_text(path))
    people = document.root if isinstance(document, Identities) else {}
    return IdentityResolver(people, source=str(path)), people


def approval(text: str) -> DeployApproval:
    by, _, at = text.rpartition(",")
    if not by or not at:
        raise UsageError(f"--approval {text!r}: expected ADDRESS,TIMESTAMP")
    try:
        return validate(DeployApproval, Located({"by": by, "at": at}, 0), Path("--approval"), "")
    except InputError as exc:
        raise UsageError(f"--approval {text!r}: {exc.message.split(': ', 2)[-1]}") from None


@dataclass(frozen=True)
class _Where:
    """Where an import reads and writes: the repository, its options, the evidence directory,
    and the logins identities.yaml maps."""

    history: GitHistory
    config: Config
    evidence: Path
    logins: Logins


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Import, append, and say what was added and what was already there: on standard
    error, whose lines quote what was imported (a host, a task's name, a record's id), each
    shown, never obeyed by a terminal or a CI log (``shown``)."""
    err = shown(err)
    if args.tool is None:
        raise UsageError(
            "import needs a tool: ansible, github-reviews, gerrit, "
            + ", ".join([*forge_cli.TOOLS, *k8s_cli.TOOLS])
        )
    history = GitHistory(args.repo)
    try:
        config, _ = load_config(history.root, args.repo)  # as check reads it
        evidence = args.evidence or history.root / (config.evidence or DEFAULT_EVIDENCE)
        identities, people = _identities(evidence)
        where = _Where(history, config, evidence, Logins(identities, people))
        if args.tool == "ansible":
            _ansible(args, where, err)
        elif args.tool in k8s_cli.TOOLS:
            k8s_cli.run(args, history, config, evidence, err)
        elif args.tool in forge_cli.TOOLS:
            got = forge_cli.run(args, where.logins, config.review_bots, where.history)
            if isinstance(got, Deployments):
                _deployments(args, where, got, err)
            else:
                _reviews(args, where, got, "merged merge requests", err)
        else:
            found, what = _forge_reviews(args, where)
            _reviews(args, where, found, what, err)
        return EXIT_PASS
    finally:
        history.close()


def _ansible(args: argparse.Namespace, where: _Where, err: TextIO) -> None:
    """``import ansible``: one deployment from a playbook run."""
    from checker.importers.ansible import Run, deployment

    sha = where.history.resolve_option("--commit", args.commit)
    if sha is None:
        raise UsageError(
            f"--commit {args.commit!r} does not resolve in {where.history.root}",
            hint="pass the sha or ref that was deployed, in the repository it came from",
        )
    _check_inventoried(where, args.service, args.environment)
    imported = deployment(
        args.result,
        Run(
            deployment_id=args.deployment_id,
            service=args.service,
            environment=args.environment,
            commit=sha,
            deployer=args.deployer,
            approvals=tuple(approval(a) for a in args.approval),
            change_ticket=args.change_ticket,
            artifact=args.artifact,
            release_tasks=tuple(args.release_task),
            rollback_tasks=tuple(args.rollback_task),
            not_check_mode=args.not_check_mode,
        ),
    )
    record = imported.deployment
    done = append_records(where.evidence, "deploys", "id", [record], source=args.tool)
    hosts = [t.status for t in record.targets]
    counts = ", ".join(f"{hosts.count(s)} {s}" for s in sorted(set(hosts)))
    unfinished = "" if record.finished_at else ", unfinished"
    _say(err, done, f"deployment {record.id} ({len(hosts)} hosts: {counts}{unfinished})")
    for target in record.targets:
        if target.status != "succeeded":
            why = f" ({target.reason})" if target.reason else ""
            err.write(f"knightwatch:   {target.host}: {target.status}{why}\n")
    for note in imported.notes:
        err.write(f"knightwatch: {args.result}: {note}\n")


def _check_inventoried(where: _Where, service: str, environment: str) -> None:
    """``--service`` is a service of fleet.yaml (or of ``unlisted_services``), and
    ``--environment`` one of its ``environments`` where it lists them: a misspelt name was
    appended to the evidence with exit 0, and the next check refused the whole directory."""
    kind = KIND_BY_NAME["fleet"]
    found = find_file(where.evidence, kind) if where.evidence.is_dir() else None
    if found is None:
        return
    fleet = cast(Fleet, parse_document(kind, found, read_text(found)))
    for option, value, known in (
        ("--service", service, [*fleet.services, *where.config.unlisted_services]),
        ("--environment", environment, fleet.environments),
    ):
        if known is not None and value not in known:
            raise UsageError(
                f"{option} {value!r} is not in {found}{did_you_mean(value, known)}; nothing "
                "was imported",
                hint="give the name as fleet.yaml spells it, or add it to fleet.yaml first",
            )


def _deployments(args: argparse.Namespace, where: _Where, got: Deployments, err: TextIO) -> None:
    """A forge's deployments, their commits known to the repository, appended."""
    _known_commits(where.history, got)
    what, done = forge_cli.report_deployments(
        got, where.evidence, forge_cli.scope_of(args), args.tool, err
    )
    _say(err, done, what)
    _name_unmapped(err, where.logins)


def _forge_reviews(args: argparse.Namespace, where: _Where) -> tuple[Imported, str]:
    """``import github-reviews`` (saved or fetched) and ``import gerrit``: what they found,
    and what to call it."""
    bots = where.config.review_bots
    if args.tool == "github-reviews":
        found = forge_cli.github_reviews(args, where.logins, bots, where.history)
        return found, "merged pull requests"
    from checker.importers.gerrit import import_changes

    if args.approving_value is not None and args.approving_value < 1:
        raise UsageError("--approving-value must be a positive vote, such as 2")
    found = import_changes(
        args.changes, where.logins, bots, args.project, args.approving_value, where.history
    )
    return found, "merged changes"


def _reviews(
    args: argparse.Namespace, where: _Where, found: Imported, what: str, err: TextIO
) -> None:
    """Review records appended. A review system's answer changes after the fact (a dismissal,
    a login mapped since): the record is brought up to date and the old one kept in
    superseded.jsonl; never back to a GitHub approval withdrawn since (files saved before a
    dismissal, imported again), nor beside its record under another spelling of its name."""
    reviews, older = list(found.reviews), None
    if args.tool == "github-reviews":
        existing = recorded(where.evidence, "reviews", "change")
        reviews, older = as_recorded(reviews, existing, args.repository), approval_returned
    done = append_records(
        where.evidence, "reviews", "change", list(reviews), source=args.tool, update=True,
        older=older,
    )  # fmt: skip
    left = ", ".join(f"{n} {why}" for why, n in sorted(found.left_out.items()))
    notes = ", ".join(f"{n} {why}" for why, n in sorted(found.notes.items()))
    _say(
        err,
        done,
        f"{len(found.reviews)} {what} ({found.skipped_unmerged} not merged, skipped); "
        f"{found.counted} approvals counted"
        + (f" ({notes})" if notes else "")
        + (f"; left out: {left}" if left else ""),
    )
    for remark in found.remarks:
        err.write(f"knightwatch: {remark}\n")
    _name_landings_left_out(err, found)
    _name_unmapped(err, where.logins)


def _name_landings_left_out(err: TextIO, found: Imported) -> None:
    """Merge and squash commits not credited to their change: REVIEW-002 judges each as a
    commit of whoever made it, so a check may fail on them; say why each was left out."""
    total = sum(found.landings_left_out.values())
    if total:
        why = "; ".join(f"{n} {reason}" for reason, n in sorted(found.landings_left_out.items()))
        err.write(
            f"knightwatch: {total} merge or squash commits left out of their change's commits "
            f"(REVIEW-002 judges each as a commit of whoever made it): {why}\n"
        )


def _name_unmapped(err: TextIO, logins: Logins) -> None:
    unmapped = sorted(logins.unmapped)
    if unmapped:
        err.write(
            "knightwatch: these logins have no address in identities.yaml and are recorded "
            f"as they are, naming nobody until it maps them: {visible(', '.join(unmapped))}\n"
        )


def _known_commits(history: GitHistory, found: Deployments) -> None:
    """A deployment whose commit is not in the repository could not be checked: refuse now."""
    commits = sorted({r.commit for r in found.records})
    resolved = history.resolve(commits)
    missing = [r for r in found.records if resolved[r.commit] is None]
    if missing:
        raise UsageError(
            f"deployment {missing[0].id} deployed {missing[0].commit}, which is not in "
            f"{history.root}",
            hint="fetch the branches and tags it came from (git fetch --all --tags), "
            "or pass --repo for the repository that was deployed",
        )


def _say(err: TextIO, done: Appended, what: str) -> None:
    updated = (
        f", {len(done.updated)} updated (the old records kept in {SUPERSEDED}: "
        f"{', '.join(done.updated)})"
        if done.updated
        else ""
    )
    err.write(
        f"knightwatch: imported {what} into {done.path}: {len(done.added)} added, "
        f"{len(done.already)} already there{updated}\n"
    )
