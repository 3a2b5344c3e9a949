"""The embedded engine: regorus, in process, no server."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import metadata
from typing import Any

# Read by the Rust runtime when it first captures a backtrace: keep them out of messages.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
os.environ.setdefault("RUST_BACKTRACE", "0")

import regorus

from checker.engine.base import Engine, PolicyModule, answer_value, policy_error


def package_of(module: PolicyModule) -> str:
    """The package a module declares, as the engine's parser reads it (``data.a.b``): not as
    a pattern over its text would, which a comment between ``package`` and the name fools."""
    try:
        return str(regorus.Engine().add_policy(module.name, module.source))
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise policy_error(str(exc), context=f"loading {module.name}") from None


class RegorusEngine(Engine):
    """Evaluates Rego v1 with regorus through its JSON calls."""

    name = "regorus"

    def __init__(self) -> None:
        self._engine = regorus.Engine()

    def load(self, modules: list[PolicyModule]) -> None:
        """Add every module; the first one that fails to parse or compile is reported."""
        for module in modules:
            try:
                self._engine.add_policy(module.name, module.source)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                raise policy_error(str(exc), context=f"loading {module.name}") from None

    def set_data(self, data: dict[str, Any]) -> None:
        """Replace the data document."""
        self._engine.clear_data()
        self._engine.add_data_json(json.dumps(data))

    def set_input(self, document: Mapping[str, Any]) -> None:
        """Replace the input document, converted from Python values directly: a month's input
        is tens of megabytes, and going through JSON text would double its cost."""
        self._engine.set_input(document)

    def evaluate(self, path: str) -> Any:
        """One rule's value, UNDEFINED when it has none."""
        return answer_value(json.loads(self.evaluate_json(path)))

    def evaluate_json(self, path: str) -> str:
        """The query's answer as regorus writes it: compact JSON, one line."""
        try:
            raw: str = self._engine.eval_query_as_json(path)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise policy_error(str(exc), context=f"evaluating {path}") from None
        return raw

    def enable_coverage(self) -> bool:
        """regorus records coverage per line."""
        self._engine.set_enable_coverage(True)
        return True

    def covered_lines(self) -> dict[str, set[int]]:
        """From regorus's coverage report."""
        report = json.loads(self._engine.get_coverage_report_as_json())
        return {f["path"]: set(f["covered"]) for f in report.get("files", [])}

    def close(self) -> None:
        """Drop the engine here, on the thread that made it: regorus's engine may only be
        dropped there, and a profiler's thread (a Dask worker's) may hold this frame last."""
        self._engine = None

    def version(self) -> str:
        """``regorus X.Y.Z`` from the installed distribution."""
        return f"regorus {metadata.version('gordon-to-regorus')}"
