"""Policy engines: one interface, one module per engine."""

from checker.engine.base import Engine, PolicyModule
from checker.engine.regorus_engine import RegorusEngine

ENGINES: dict[str, type[Engine]] = {"regorus": RegorusEngine}

__all__ = ["ENGINES", "Engine", "PolicyModule", "RegorusEngine"]
