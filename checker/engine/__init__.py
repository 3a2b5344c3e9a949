"""Policy engines: one interface, one module per engine, and the choice between them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from checker.engine.base import Engine, PolicyModule
from checker.engine.isolated import DEFAULT_LIMITS, IsolatedEngine, Limits, can_isolate
from checker.engine.regorus_engine import RegorusEngine
from checker.errors import UsageError
from checker.vocabulary import DEFAULT_ENGINE, OPA_TIMEOUT_SECONDS, OPA_TOKEN_ENV


@dataclass(frozen=True)
class EngineSettings:
    """Which engine evaluates, and how to reach it when it is a server."""

    name: str = DEFAULT_ENGINE
    opa_url: str | None = None
    opa_timeout: float = OPA_TIMEOUT_SECONDS
    opa_ca: Path | None = None
    token_env: str = OPA_TOKEN_ENV
    """The environment variable holding the bearer token; a token never sits in a file."""
    limits: Limits = DEFAULT_LIMITS
    """For the embedded engine: how long a rule may take and how much memory it may add."""


def create_engine(settings: EngineSettings) -> Engine:
    """The engine the settings name, ready to load policies."""
    if settings.name == "regorus":
        return embedded_engine(settings.limits)
    if settings.name != "opa":
        raise UsageError(f"unknown engine {settings.name!r}; choose regorus or opa")
    if not settings.opa_url:
        raise UsageError(
            "--engine opa needs the server's address",
            hint="pass --opa-url URL, or set opa.url in knightwatch.yaml",
        )
    from checker.engine.opa_engine import OpaServerEngine  # requests loads only when used

    return OpaServerEngine(
        settings.opa_url,
        token=os.environ.get(settings.token_env) or None,
        timeout=settings.opa_timeout,
        ca_file=settings.opa_ca,
        token_env=settings.token_env,
    )


def embedded_engine(limits: Limits = DEFAULT_LIMITS) -> Engine:
    """regorus, in a child process under ``limits`` where the platform can fork."""
    return IsolatedEngine(RegorusEngine(), limits) if can_isolate() else RegorusEngine()


__all__ = [
    "Engine",
    "EngineSettings",
    "Limits",
    "PolicyModule",
    "RegorusEngine",
    "create_engine",
    "embedded_engine",
]
