"""``knightwatch policy test``: run the ``test_`` rules of ``*_test.rego``, like ``opa test``,
and say which rules no test reached."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.engine import Limits, embedded_engine
from checker.engine.base import UNDEFINED, Engine, PolicyModule
from checker.engine.isolated import DEFAULT_LIMITS
from checker.errors import PolicyError
from checker.rules.policyset import load_policy_set

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_RULE_HEAD = re.compile(r"^([A-Za-z_]\w*)\b(?!\.)")
_NOT_RULES = {"package", "import", "default"}


@dataclass(frozen=True)
class TestResult:
    """One test rule's outcome."""

    file: str
    path: str
    outcome: str  # "pass", "fail" or "error"
    detail: str = ""


@dataclass(frozen=True)
class RuleDefinition:
    """One definition of a rule in a policy module: where it starts and ends."""

    file: str
    name: str
    first: int
    last: int
    function: bool


def _exercised(definition: RuleDefinition, reached: set[int]) -> bool:
    """A rule counts once some test made it produce a value: the engine marks its head line only
    then (its body may be entered when a whole package is evaluated, which proves nothing). A
    function's body runs only when called, and its head line is not marked: any line counts."""
    if definition.function:
        return any(definition.first <= line <= definition.last for line in reached)
    return definition.first in reached


@dataclass(frozen=True)
class TestRun:
    """Every test's result, and the rule definitions no test reached."""

    results: list[TestResult]
    unexercised: list[RuleDefinition]
    coverage_known: bool


def rule_definitions(module: PolicyModule) -> list[RuleDefinition]:
    """Top-level rule definitions and the lines each spans (up to the next one)."""
    lines = module.source.splitlines()
    heads: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        match = _RULE_HEAD.match(line)
        if match and match.group(1) not in _NOT_RULES:
            heads.append((number, match.group(1)))
    spans = []
    for index, (first, name) in enumerate(heads):
        last = heads[index + 1][0] - 1 if index + 1 < len(heads) else len(lines)
        function = lines[first - 1][len(name) :].lstrip().startswith("(")
        spans.append(RuleDefinition(module.name, name, first, last, function))
    return spans


def _test_rules(
    modules: Sequence[PolicyModule],
) -> tuple[list[tuple[PolicyModule, str]], dict[str, list[str]]]:
    """Each test rule once, by its path, in the module that first defines it; and where each
    path is defined (``file:line``), in every module of its package."""
    tests: list[tuple[PolicyModule, str]] = []
    where: dict[str, list[str]] = {}
    for module in modules:
        package = _PACKAGE.search(module.source)
        if package is None:
            raise PolicyError(f"{module.name}: no package declaration")
        found: dict[str, list[str]] = {}
        for match in _TEST_RULE.finditer(module.source):
            line = module.source.count("\n", 0, match.start()) + 1
            path = f"data.{package.group(1)}.{match.group(1)}"
            found.setdefault(path, []).append(f"{module.name}:{line}")
        tests += [(module, path) for path in sorted(found) if path not in where]
        for path, lines in found.items():
            where.setdefault(path, []).extend(lines)
    return tests, where


def _run_test(evaluator: Engine, module: PolicyModule, path: str, where: list[str]) -> TestResult:
    """One test's outcome. A test defined more than once is an error, not evaluated: the
    engine joins a rule's definitions, so the whole is true when any one is, while ``opa
    test`` runs each definition as a test of its own; joined, a test that fails would pass."""
    if len(where) > 1:
        return TestResult(
            module.name,
            path,
            "error",
            f"defined {len(where)} times ({', '.join(where)}): opa test runs each definition "
            "as a test of its own, and here one that fails would pass with the others; give "
            "each its own name",
        )
    try:
        value = evaluator.evaluate(path)
    except PolicyError as exc:
        return TestResult(module.name, path, "error", exc.message)
    if value is True:
        return TestResult(module.name, path, "pass")
    shown = "undefined" if value is UNDEFINED else repr(value)
    return TestResult(module.name, path, "fail", f"result {shown}")


def run_policy_tests(directories: list[Path], *, limits: Limits = DEFAULT_LIMITS) -> TestRun:
    """Load every module below ``directories`` and evaluate each test rule once, on the
    embedded engine under ``limits`` (a test that loops is stopped and reported as an
    error)."""
    policies = load_policy_set(directories, include_builtin=False)
    evaluator = embedded_engine(limits)
    evaluator.load([*policies.modules, *policies.tests])
    evaluator.set_data({})
    evaluator.set_input({})
    coverage_known = evaluator.enable_coverage()
    tests, where = _test_rules(policies.tests)
    with contextlib.suppress(PolicyError):  # a test that fails to run: reported below
        evaluator.prefetch([path for _, path in tests if len(where[path]) == 1])
    results = [_run_test(evaluator, module, path, where[path]) for module, path in tests]
    unexercised: list[RuleDefinition] = []
    if coverage_known:
        covered = evaluator.covered_lines()
        for module in policies.modules:
            reached = covered.get(module.name, set())
            unexercised.extend(d for d in rule_definitions(module) if not _exercised(d, reached))
    return TestRun(results, unexercised, coverage_known)
