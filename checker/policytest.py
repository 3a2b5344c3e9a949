"""``knightwatch policy test``: run the ``test_`` rules of ``*_test.rego``, like ``opa test``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from checker.engine import ENGINES
from checker.engine.base import UNDEFINED
from checker.errors import PolicyError
from checker.policyset import load_policy_set

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)


@dataclass(frozen=True)
class TestResult:
    """One test rule's outcome."""

    file: str
    path: str
    outcome: str  # "pass", "fail" or "error"
    detail: str = ""


def run_policy_tests(directories: list[Path], *, engine: str = "regorus") -> list[TestResult]:
    """Load every module below ``directories`` and evaluate each test rule once."""
    policies = load_policy_set(directories, include_builtin=False)
    evaluator = ENGINES[engine]()
    evaluator.load([*policies.modules, *policies.tests])
    evaluator.set_data({})
    evaluator.set_input({})
    results: list[TestResult] = []
    for module in policies.tests:
        package = _PACKAGE.search(module.source)
        if package is None:
            raise PolicyError(f"{module.name}: no package declaration")
        names = sorted(set(_TEST_RULE.findall(module.source)))
        for name in names:
            path = f"data.{package.group(1)}.{name}"
            try:
                value = evaluator.evaluate(path)
            except PolicyError as exc:
                results.append(TestResult(module.name, path, "error", exc.message))
                continue
            if value is True:
                results.append(TestResult(module.name, path, "pass"))
            else:
                shown = "undefined" if value is UNDEFINED else repr(value)
                results.append(TestResult(module.name, path, "fail", f"result {shown}"))
    return results
