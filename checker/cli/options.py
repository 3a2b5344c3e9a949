"""Parsed arguments as the options of a run: what the pipeline is asked, and the gate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from checker.cache import default_directory
from checker.errors import UsageError
from checker.gate import Gate
from checker.runner import CheckOptions


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """Where the policies are evaluated, as the command line says."""
    return {
        "engine": args.engine,
        "opa_url": args.opa_url,
        "opa_timeout": args.opa_timeout,
        "opa_ca": args.opa_ca,
        "policy_timeout": args.policy_timeout,
        "policy_memory": args.policy_memory,
    }


def gate(args: argparse.Namespace) -> Gate | None:
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
    if service is None:
        raise UsageError("--candidate needs --service: the service it would be deployed to")
    _refuse_empty(args)
    return Gate(
        revision=candidate,
        service=service,
        environment=args.environment or Gate.environment,
        stage=args.stage or Gate.stage,
        with_reviews=args.with_reviews,
    )


def _refuse_empty(args: argparse.Namespace) -> None:
    """An empty ``--service`` or ``--environment`` (an unset variable in a CI script,
    ``--environment "$DEPLOY_ENV"``) is a mistake, not the default: an empty environment was
    judged as production, whose last deployment is not the one the pipeline meant, so the
    candidate shipped other commits than it will."""
    for option, given in (("--service", args.service), ("--environment", args.environment)):
        if given is not None and not given.strip():
            raise UsageError(
                f"{option} is empty: name the {option.removeprefix('--')} the candidate "
                "would be deployed to",
                hint="a variable that was not set expands to nothing in a shell",
            )


def cache_dir(args: argparse.Namespace) -> Path | None:
    """Where this run keeps facts of git objects: ``--cache-dir``, else none with
    ``--no-cache`` or for an audit (whose cache is the auditor's to name), else the default."""
    if args.no_cache:
        if args.cache_dir is not None:
            raise UsageError("--no-cache and --cache-dir cannot go together")
        return None
    if args.cache_dir is not None:
        return Path(args.cache_dir)
    return None if args.command == "audit" else default_directory()


def check_options(args: argparse.Namespace) -> CheckOptions:
    """What a command that checks (``check``, ``export-input``, ``audit``) was asked."""
    return CheckOptions(
        gate=gate(args),
        repo=args.repo if args.repo is not None else Path(),
        evidence=args.evidence,
        fail_on=getattr(args, "fail_on", None),
        as_of=args.as_of,
        protected_branch=args.protected_branch,
        baseline=args.baseline,
        policy_dirs=args.policies,
        require_all=args.require_all,
        config_file=args.config,
        audit=args.command == "audit",
        cache_dir=cache_dir(args),
        **engine_options(args),
    )


def check_previous_key(args: argparse.Namespace) -> None:
    """``--previous-key`` names the key that signed ``--previous``: alone it is a mistake."""
    if args.previous_key is not None and args.previous is None:
        raise UsageError("--previous-key is the key that signed --previous: pass --previous too")
