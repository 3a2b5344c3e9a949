"""``knightwatch policy test``: run every ``test_`` rule, like ``opa test``, and say which
rules no test reached."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regorus

from checker.engine import Limits, embedded_engine
from checker.engine.base import UNDEFINED, Engine, PolicyModule, policy_error
from checker.engine.isolated import DEFAULT_LIMITS
from checker.errors import PolicyError
from checker.rules.policyset import load_policy_set

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


def _rule_head(rule: dict[str, Any]) -> tuple[str, int] | None:
    """A rule's name (the first part of its head) and its line, from the parser's tree; None
    for a function (``test_helper(x)``), which is no test: ``opa test`` runs rules alone."""
    kind, spec = next(iter(rule.items()))
    if kind != "Default" and "Func" in spec["head"]:
        return None
    ref = spec["refr"] if kind == "Default" else next(iter(spec["head"].values()))["refr"]
    while "Var" not in ref:  # a.b.c or a[b]: the name is the innermost part
        ref = next(iter(ref.values()))["refr"]
    return str(ref["Var"]["value"]), int(ref["Var"]["span"]["line"])


def _test_heads(module: PolicyModule) -> tuple[str, list[tuple[str, int]]]:
    """The module's package (``data.a.b``) and each definition of a ``test_`` rule in it,
    with its line, as the engine's parser reads them: an indented rule and a ``default`` are
    definitions too. Read from the text's first column alone, an indented test was never run,
    and ``default test_b := true`` turned a ``test_b`` that fails into a pass."""
    engine = regorus.Engine()
    try:
        package = str(engine.add_policy(module.name, module.source))
        rules = json.loads(engine.get_ast_as_json())[0]["ast"]["rules"]
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise policy_error(str(exc), context=f"loading {module.name}") from None
    try:
        heads = [head for rule in rules if (head := _rule_head(rule)) is not None]
    except (KeyError, IndexError, TypeError, ValueError, StopIteration):
        raise PolicyError(
            f"{module.name}: its rules could not be listed to find its tests"
        ) from None
    return package, [(name, line) for name, line in heads if name.startswith("test_")]


def _test_rules(
    modules: Sequence[PolicyModule],
) -> tuple[list[tuple[PolicyModule, str]], dict[str, list[str]]]:
    """Each test rule once, by its path, in the module that first defines it; and where each
    path is defined (``file:line``), in every module of its package."""
    tests: list[tuple[PolicyModule, str]] = []
    where: dict[str, list[str]] = {}
    for module in modules:
        package, heads = _test_heads(module)
        found: dict[str, list[str]] = {}
        for name, line in heads:
            found.setdefault(f"{package}.{name}", []).append(f"{module.name}:{line}")
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
    tests, where = _test_rules([*policies.tests, *policies.modules])
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
