"""The command line of the forges' importers: ``github-deployments``, ``gitlab-approvals``,
``gitlab-deployments``, and ``github-reviews``'s input (saved or fetched)."""

from __future__ import annotations

import argparse
from contextlib import closing
from pathlib import Path
from typing import Any, TextIO

from checker.cli.arguments import path
from checker.errors import InputError, UsageError
from checker.evidence.git import GitHistory
from checker.importers.common import (
    Imported,
    Logins,
    append_records,
    as_recorded,
    option_moment,
    recorded,
)
from checker.importers.forge_deploys import Deployments, Scope, ended_earlier
from checker.importers.forge_origins import REPOSITORY, Origin, Project

TOOLS = ("github-deployments", "gitlab-approvals", "gitlab-deployments")


def add_fetch_options(parser: argparse.ArgumentParser, forge: str, *, since: bool = True) -> None:
    """``--api-url`` and ``--since``, for fetching instead of reading saved output."""
    default = "https://api.github.com" if forge == "github" else "https://gitlab.com"
    parser.add_argument(
        "--api-url",
        default=default,
        metavar="URL",
        help=f"the API's base URL, for GitLab the instance's (default: {default}); the token is "
        "read from " + ("GITHUB_TOKEN or GH_TOKEN" if forge == "github" else "GITLAB_TOKEN"),
    )
    if not since:
        return
    parser.add_argument(
        "--since",
        metavar="TIMESTAMP",
        help="only what was updated at or after this RFC 3339 time (e.g. the last import's)",
    )


def add_saved(parser: argparse.ArgumentParser, *inputs: tuple[str, str, str]) -> None:
    """Positional saved-output inputs (``dest``, ``METAVAR``, help), optional because the
    same command can fetch from the API instead."""
    for dest, metavar, text in inputs:
        parser.add_argument(dest, type=path, nargs="?", metavar=metavar, help=text or None)


def _deploy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", required=True, metavar="NAME", help="a key of fleet.yaml")
    parser.add_argument(
        "--environment",
        action="append",
        default=[],
        metavar="NAME",
        help="only deployments to this environment (repeatable; default: all)",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="HOST",
        help="a host the deployment job deploys to; it gets the job's outcome (repeatable)",
    )


def _github_deployments_parser(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """``import github-deployments``: saved output or a fetch, and ``--since``."""
    ghd = tools.add_parser(
        "github-deployments", help="GitHub deployments, their statuses and environment approvals"
    )
    add_saved(
        ghd,
        ("deployments", "DEPLOYMENTS.json", ""),
        ("folder", "DIR", "ID/statuses.json, approvals.json and run.json"),
    )
    ghd.add_argument(
        "--repository",
        metavar="OWNER/REPO",
        help="the repository: every record of saved output must be its (required with "
        "DEPLOYMENTS.json DIR); given alone, its deployments are fetched from the API",
    )
    _deploy_options(ghd)
    add_fetch_options(ghd, "github", since=False)
    ghd.add_argument(
        "--since",
        metavar="TIMESTAMP",
        help="only deployments created at or after this RFC 3339 time; older ones are passed "
        "over and counted (GitHub deletes a deployment's statuses after 90 days: a first import "
        "starts where the evidence should)",
    )
    return ghd


def add_parsers(
    tools: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """The new tools' parsers."""
    ghd = _github_deployments_parser(tools)

    gla = tools.add_parser("gitlab-approvals", help="approvals of merged GitLab merge requests")
    add_saved(
        gla,
        ("merge_requests", "MRS.json", ""),
        ("folder", "DIR", "IID/approvals.json, IID/commits.json and project-approvals.json"),
    )
    gla.add_argument(
        "--project",
        metavar="PATH",
        help="the project's path (group/name), or its id: every record of saved output must be "
        "its (required with MRS.json DIR); given alone, its merge requests are fetched from the "
        "API",
    )
    add_fetch_options(gla, "gitlab")

    gld = tools.add_parser("gitlab-deployments", help="GitLab deployments and their approvals")
    add_saved(gld, ("deployments", "DEPLOYMENTS.json", ""))
    gld.add_argument(
        "--project",
        required=True,
        metavar="PATH",
        help="the project's path (group/name), or its id: names the records, every saved one "
        "must be its, and with --fetch is fetched",
    )
    gld.add_argument("--fetch", action="store_true", help="fetch from the API instead")
    _deploy_options(gld)
    add_fetch_options(gld, "gitlab")
    return [ghd, gla, gld]


def _saved_or_fetched(args: argparse.Namespace, saved: list[str], fetched: bool) -> bool:
    """True to fetch; refuse a mix, or neither."""
    given = [getattr(args, name) for name in saved]
    if fetched and any(given):
        raise UsageError(f"import {args.tool}: read saved output or fetch from the API, not both")
    if not fetched and not all(given):
        names = " ".join(name.upper() for name in saved)
        raise UsageError(f"import {args.tool}: give {names}, or fetch from the API (see --help)")
    return fetched


_NAMED = {"--repository": ("repository", "OWNER/REPO"), "--project": ("project", "PATH")}
"""The option naming a forge's repository or project: its attribute, and its metavar."""


def _fetching(args: argparse.Namespace, saved: list[str], files: str, option: str) -> bool:
    """True to fetch: ``option`` given without saved output; False to read the saved output
    (``saved``, the arguments ``files`` names), which must be given whole."""
    given = [getattr(args, name) is not None for name in saved]
    attribute, metavar = _NAMED[option]
    if not any(given) and getattr(args, attribute):
        return True
    if not all(given):
        raise UsageError(
            f"import {args.tool}: give {files} and {option} {metavar}, or {option} {metavar} "
            "alone to fetch from the API (see --help)"
        )
    return False


def scope_of(args: argparse.Namespace) -> Scope:
    """The deployment importers' choices from the command line."""
    since = None
    if args.tool == "github-deployments" and args.since is not None:
        since = option_moment(args.since, "--since")
    return Scope(args.service, tuple(args.environment), tuple(args.target), since)


def github_reviews(
    args: argparse.Namespace, logins: Logins, bots: list[str], history: GitHistory | None = None
) -> Imported:
    """``import github-reviews``: from saved output, every record of which must be
    ``--repository``'s, or, with ``--repository`` alone, fetched."""
    from checker.importers import fetch, github

    if _fetching(args, ["pulls", "reviews_dir"], "PULLS.json REVIEWS_DIR", "--repository"):
        with closing(fetch.GitHubApi(args.api_url)) as api:
            found, skipped, remarks = fetch.github_pulls(api, args.repository, args.since)
        result = github.records(found, logins, bots, history)
        result.skipped_unmerged += skipped
        result.remarks.extend(remarks)
        return result
    origin = github_origin(args, args.pulls, "pull requests")
    return github.import_reviews(args.pulls, args.reviews_dir, origin, logins, bots, history)


def github_origin(args: argparse.Namespace, saved: Path, records: str) -> Origin:
    """The repository that ``--repository`` names, which every record of saved output must be
    of; saved output without it is refused."""
    if not REPOSITORY.fullmatch(args.repository or ""):
        given = f", not {args.repository!r}" if args.repository else ""
        raise UsageError(
            f"import {args.tool}: give --repository OWNER/REPO, the repository whose "
            f"{records} {saved} holds{given}: every saved record must be its, as a fork's or "
            f"a sandbox copy's {records} are not"
        )
    return Origin(args.repository, args.api_url, records)


def run(
    args: argparse.Namespace, logins: Logins, bots: list[str], history: GitHistory | None = None
) -> Imported | Deployments:
    """Run one of ``TOOLS``; what it found, for the caller to report."""
    from checker.importers import gitlab_deployments

    if args.tool == "gitlab-approvals":
        return _gitlab_approvals(args, logins, bots, history)
    scope = scope_of(args)
    if args.tool == "github-deployments":
        done, source = _github_deployments(args, scope, logins)
    elif _saved_or_fetched(args, ["deployments"], args.fetch):
        done, source = _gitlab_fetched(args, scope, logins)
    else:
        done = gitlab_deployments.import_saved_deployments(
            args.deployments, args.project, scope, logins, args.api_url
        )
        source = args.deployments
    _refuse_unmatched(done, scope, source)
    return done


def _gitlab_approvals(
    args: argparse.Namespace, logins: Logins, bots: list[str], history: GitHistory | None
) -> Imported:
    """``import gitlab-approvals``: from saved output, every record of which must be
    ``--project``'s, or, with ``--project`` alone, fetched."""
    from checker.importers import fetch, gitlab

    if _fetching(args, ["merge_requests", "folder"], "MRS.json DIR", "--project"):
        with closing(fetch.GitLabApi(args.api_url)) as api:
            found, settings = fetch.gitlab_merge_requests(api, args.project, args.since)
        source = api.source / "approvals"
        return gitlab.approval_records(found, settings, source, logins, bots, history)
    if not (args.project or "").strip("/ "):
        raise UsageError(
            "import gitlab-approvals: give --project PATH (group/name, or the project's id), "
            f"the project whose merge requests {args.merge_requests} holds: every saved record "
            "must be its, as a sandbox copy's or a fork's merge requests are not"
        )
    origin = Project(args.project, args.api_url, "merge requests")
    return gitlab.import_saved_approvals(
        args.merge_requests, args.folder, origin, logins, bots, history
    )


def _github_deployments(
    args: argparse.Namespace, scope: Scope, logins: Logins
) -> tuple[Deployments, Path]:
    """``import github-deployments``: from saved output, every record of which must be
    ``--repository``'s, or, with ``--repository`` alone, fetched. The records, and where they
    were read."""
    from checker.importers import fetch, github_deployments

    if _fetching(args, ["deployments", "folder"], "DEPLOYMENTS.json DIR", "--repository"):
        with closing(fetch.GitHubApi(args.api_url)) as api:
            data, seen, remarks = fetch.github_deployment_data(
                api, args.repository, scope.environments
            )
        done = github_deployments.deployments(data, scope, logins, seen)
        done.remarks.extend(remarks)
        return done, api.source / f"/repos/{args.repository}/deployments"
    origin = github_origin(args, args.deployments, "deployments")
    done = github_deployments.import_saved(args.deployments, args.folder, scope, logins, origin)
    return done, args.deployments


def _gitlab_fetched(
    args: argparse.Namespace, scope: Scope, logins: Logins
) -> tuple[Deployments, Path]:
    """``import gitlab-deployments --fetch``: the records, and where they were read. With
    ``--since`` the listing holds only the window's deployments, so an ``--environment`` that
    none of them went to is looked up among the project's environments: one that exists had
    no deployment in the window, which is no mistake."""
    from checker.importers import fetch, gitlab_deployments

    with closing(fetch.GitLabApi(args.api_url)) as api:
        items, remarks = fetch.gitlab_deployments(api, args.project, args.since)
        source = api.source / "deployments"
        done = gitlab_deployments.deployment_records(items, args.project, scope, logins, source)
        done.remarks.extend(remarks)
        if args.since:
            done.environments |= fetch.gitlab_environments(api, args.project, done.unmatched(scope))
    return done, source


def _refuse_unmatched(done: Deployments, scope: Scope, source: Path) -> None:
    """An ``--environment`` that no listed deployment went to is a mistake (``prod`` for
    ``production``): importing nothing and passing would hide every deployment it meant."""
    unmatched = done.unmatched(scope)
    if unmatched:
        raise InputError(
            f"no deployment to {', '.join(unmatched)} was listed (environments listed: "
            f"{', '.join(sorted(done.environments)) or 'none'}); check --environment",
            path=str(source),
        )


def _as_recorded(done: Deployments, evidence: Path, tool: str) -> set[str]:
    """Put each record under the id of the record ``tool`` wrote earlier of the same
    deployment, whatever the case of its repository's name (GitHub gives it as the repository
    is spelt now: after a rename in case, an older export's record went in beside the first,
    past the check that an import never goes back); return every recorded id, case folded."""
    existing = recorded(evidence, "deploys", "id")
    done.records = as_recorded(done.records, "id", existing, tool, str.casefold, "deployment")
    return {name.casefold() for name in existing[1]}


def _refuse_forgotten(done: Deployments, recorded_ids: set[str]) -> None:
    """A deployment whose statuses GitHub deleted (after 90 days) is passed over when a record
    of it was written while they were kept; one that no record holds is refused. Passed over
    as never started, its deployed commit was never judged, and a failure it ended in was lost:
    check passed."""
    for ident, (number, source) in sorted(done.forgotten.items()):
        if ident.casefold() not in recorded_ids:
            raise InputError(
                f"deployment {number}: GitHub lists no status of it (none at all, or only "
                "inactive), so whether it ran and how it ended cannot be told, and no record "
                f"of it ({ident}) is in the evidence; GitHub deletes deployment statuses after "
                "90 days",
                path=str(source),
                hint="import deployments daily, so that each is recorded while GitHub keeps "
                "its statuses; record this one by hand, under that id, from its deploy job's "
                "log, and imports keep that record",
            )
    if done.forgotten:
        done.passed_over["recorded already, their statuses since deleted by GitHub"] += len(
            done.forgotten
        )


def report_deployments(
    done: Deployments, evidence: Path, scope: Scope, tool: str, err: TextIO
) -> tuple[str, Any]:
    """Append deployment records (a finished deployment's record that ``tool`` wrote is
    brought up to date when its source changed) and say what was passed over."""
    _refuse_forgotten(done, _as_recorded(done, evidence, tool))
    appended = append_records(
        evidence, "deploys", "id", list(done.records), source=tool, update=True, older=ended_earlier
    )
    passed = ", ".join(f"{n} {why}" for why, n in sorted(done.passed_over.items()))
    left = ", ".join(f"{n} {why}" for why, n in sorted(done.approvals_left_out.items()))
    notes = ", ".join(f"{n} {why}" for why, n in sorted(done.notes.items()))
    approvals = sum(len(r.approvals) for r in done.records)
    unfinished = sum(1 for r in done.records if r.finished_at is None)
    what = (
        f"{len(done.records) - unfinished} finished deployments"
        + (f" and {unfinished} unfinished (started, no outcome yet: failed)" if unfinished else "")
        + (f" ({passed}, passed over)" if passed else "")
        + (f" ({notes})" if notes else "")
        + f"; {approvals} approvals"
        + (f"; approvals left out: {left}" if left else "")
    )
    for remark in done.remarks:
        err.write(f"knightwatch: {remark}\n")
    if not scope.targets and done.records:
        err.write(
            "knightwatch: no --target named: the records list no hosts, so FLEET-001 reports "
            "every host of the service; name the hosts the job deploys to, or import the deploy "
            "tool's own output\n"
        )
    return what, appended
