"""The words every layer shares, each declared once: severities, gate stages, engines, the
short form of a commit sha, and the OPA server's defaults.

The evidence kinds are declared once too, with everything else about each kind, in
``evidence/bundle.py`` (``KINDS``); the evidence names a rule may require are those kinds and
those ``facts/coverage.py`` derives (``DERIVED``: ``registry``, ``history``, ``windows``,
``code``, ``reach``).
"""

from __future__ import annotations

from typing import Literal, get_args

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
"""Lowest first."""
DEFAULT_FAIL_ON: Severity = "high"
DEFAULT_EVIDENCE = "compliance"
"""The evidence directory, relative to the repository's root, when nothing names one."""


def severity_rank(severity: str) -> int:
    """Position of a severity, lowest first."""
    return SEVERITIES.index(severity)


GateStage = Literal["merge", "deploy"]
GATE_STAGES: tuple[GateStage, ...] = get_args(GateStage)
"""``merge``: what a change adds to the protected branch; ``deploy``: what it would ship."""
GateTag = Literal[GateStage, "merge-with-reviews"]
"""What a rule's ``gate:`` metadata may list: the stages it judges a candidate at, and
``merge-with-reviews`` for a review rule judged at the merge gate only with ``--with-reviews``
(a change not merged yet usually has no review)."""

EngineName = Literal["regorus", "opa"]
ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)
"""``regorus``: embedded (the default); ``opa``: an OPA server."""
DEFAULT_ENGINE: EngineName = "regorus"

OPA_TIMEOUT_SECONDS = 30.0
"""How long one request to an OPA server may take, unless configured."""
OPA_TOKEN_ENV = "KNIGHTWATCH_OPA_TOKEN"  # noqa: S105  (the variable's name, not a token)
"""The environment variable holding the OPA server's bearer token, unless configured."""

SHORT_SHA = 12
"""Hex digits of a commit sha shown in messages; the full sha is every subject's."""


def short(sha: str) -> str:
    """A commit sha as messages show it."""
    return sha[:SHORT_SHA]


def counted(number: int, noun: str) -> str:
    """``1 deployment``, ``2 deployments``: a count and its noun, in the plural unless one."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
