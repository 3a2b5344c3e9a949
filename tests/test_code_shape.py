"""Functions that fit on a screen: none in checker/ over 50 lines or 15 decisions, unless its
docstring says why it is kept whole (a sentence starting "Kept whole:").

A decision is a point where the path through a function forks: ``if``, ``elif`` and a
conditional expression, a loop and each clause of a comprehension, an ``except``, a ``case``,
and each further operand of ``and``/``or``. Nested functions count for themselves.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "checker"
MAX_LINES = 50
MAX_DECISIONS = 15
REASON = "Kept whole:"
FORKS = (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.match_case)


def decisions(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """1 + the decision points of the function's own body (not of functions inside it)."""
    count = 1
    pending: list[ast.AST] = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, FORKS):
            count += 1
        elif isinstance(node, ast.comprehension):
            count += 1 + len(node.ifs)
        elif isinstance(node, ast.BoolOp):
            count += len(node.values) - 1
        pending.extend(ast.iter_child_nodes(node))
    return count


def functions() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for path in sorted(CHECKER.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{path.relative_to(CHECKER.parent)}:{node.lineno} {node.name}"
                yield where, node


def test_functions_fit_on_a_screen() -> None:
    too_big = []
    for where, function in functions():
        lines = (function.end_lineno or function.lineno) - function.lineno + 1
        forks = decisions(function)
        if (lines > MAX_LINES or forks > MAX_DECISIONS) and REASON not in (
            ast.get_docstring(function) or ""
        ):
            too_big.append(f"{where}: {lines} lines, {forks} decisions")
    assert too_big == []


def test_the_measure_counts_what_it_says() -> None:
    source = """
def f(a, b):
    if a and b or a:            # 1 + 2
        return [x for x in a if x]   # 2
    for item in b:              # 1
        try:
            pass
        except ValueError:      # 1
            pass
    def inner():                # not f's
        if a:
            pass
    return 1 if a else 2        # 1
"""
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert decisions(function) == 1 + 1 + 2 + 2 + 1 + 1 + 1


def test_the_tests_mirror_the_packages() -> None:
    """Each package of checker/ has its tests in the directory of the same name."""
    tests = Path(__file__).resolve().parent
    packages = {p.parent.name for p in CHECKER.glob("*/__init__.py")}
    missing = sorted(name for name in packages if not list((tests / name).glob("test_*.py")))
    assert missing == []
