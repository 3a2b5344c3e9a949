"""One system judged with the one-repository pipeline (``runner.prepare`` and ``evaluate``),
its result in plain data, so that a Dask worker can hand it back. A system that cannot be
judged (its repository missing, its evidence invalid) comes back as such, with the reason."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from checker.errors import InputError, KnightwatchError
from checker.facts.collect import Attested
from checker.org.model import System
from checker.org.scope import scope_problem
from checker.runner import CheckOptions, run_pipeline
from checker.signing.attestation import Signed, audit_predicate, audit_subjects
from checker.signing.population import attested

JUDGED = "judged"
NOT_JUDGED = "not judged"
CLONE_SECONDS = 600


class CloneError(InputError):
    """A repository's git URL could not be cloned."""


@dataclass(frozen=True)
class SystemResult:
    """What the organisation's attestation says of one system."""

    name: str
    entry: dict[str, Any]
    """Its record in the predicate's ``systems``."""
    subjects: list[dict[str, Any]]
    """Its subjects in the statement, each name prefixed with the system's."""

    @property
    def passed(self) -> bool:
        """Judged, and its verdict is a pass."""
        return self.entry["status"] == JUDGED and self.entry.get("verdict") == "pass"


def judge_system(
    system: System, attested: Attested | None, base: CheckOptions, partial: bool = False
) -> SystemResult:
    """Judge one system's month as ``knightwatch audit`` would judge its repository
    (``attested``: what its audit in the organisation's previous attestation judged)."""
    try:
        with checkout(system) as repo:
            options = replace(
                base,
                attested=attested,
                repo=repo,
                evidence=system.evidence_path,
                org_settings={
                    **base.org_settings,
                    **({"service_paths": system.service_paths} if system.service_paths else {}),
                },
            )
            report = replace(run_pipeline(options).report, partial=partial)
    except KnightwatchError as exc:
        return not_judged(system, _plain_reason(exc.message, system))
    audit = audit_predicate(report)
    problem = scope_problem(system, audit)
    if problem is not None:
        return not_judged(system, problem)
    subjects = [{**s, "name": f"{system.name}/{s['name']}"} for s in audit_subjects(report)]
    entry = {
        **system.record(),
        "status": JUDGED,
        "verdict": report.verdict,
        "head": report.head,
        "audit": audit,
    }
    return SystemResult(system.name, entry, subjects)


def attested_systems(chained: Signed | None) -> dict[str, Attested]:
    """What each system's audit in an organisation's attestation judged, by the system's name
    there (``continuity.predecessors`` finds a renamed system's); a system it could not
    judge is left out."""
    if chained is None:
        return {}
    found: dict[str, Attested] = {}
    for entry in chained.predicate.get("systems", []):
        audit = entry.get("audit") if isinstance(entry, dict) else None
        if entry.get("status") == JUDGED and isinstance(audit, dict):
            found[str(entry.get("name"))] = attested(audit, chained.period)
    return found


def not_judged(system: System, reason: str) -> SystemResult:
    """A system listed with why it could not be judged: never left out."""
    entry = {**system.record(), "status": NOT_JUDGED, "reason": reason}
    return SystemResult(system.name, entry, [])


def _plain_reason(message: str, system: System) -> str:
    """The error as the attestation keeps it: without the absolute directory the repository
    happened to be in here (a worker's clone, this machine's checkout)."""
    if not system.is_url:
        message = message.replace(system.location, system.repository)
    return message


@contextlib.contextmanager
def checkout(system: System) -> Iterator[Path]:
    """The system's repository: its directory, or a full clone of its URL for the run."""
    if not system.is_url:
        if not Path(system.location).is_dir():
            raise InputError(f"repository {system.repository} not found")
        yield Path(system.location)
        return
    with clone(system.location, system.repository, system.name) as target:
        yield target


@contextlib.contextmanager
def clone(url: str, label: str, name: str) -> Iterator[Path]:
    """A full clone of the git URL ``url`` in a temporary directory (as ``name``), removed
    afterwards; ``label`` names the repository in messages (as org.yaml writes it)."""
    with tempfile.TemporaryDirectory(prefix="knightwatch-clone-") as scratch:
        target = Path(scratch) / name
        try:
            done = subprocess.run(
                [
                    "git",
                    "-c",
                    "protocol.ext.allow=never",
                    "clone",
                    "--quiet",
                    "--no-hardlinks",
                    "--",
                    url,
                    str(target),
                ],
                # A worker has no one to answer a password prompt: fail instead of waiting.
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
                capture_output=True,
                text=True,
                timeout=CLONE_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CloneError(f"cloning {label} took over {CLONE_SECONDS} s") from None
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            # git's first fatal line says what failed; the lines after it are advice.
            fatal = [line for line in lines if line.startswith("fatal: ")]
            said = (fatal or lines or [f"git exited with {done.returncode}"])[0]
            raise CloneError(f"cannot clone {label}: {said.removeprefix('fatal: ')}")
        try:
            yield target
        except KnightwatchError as exc:
            exc.message = exc.message.replace(str(target), label)
            raise
