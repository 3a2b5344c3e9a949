"""The policies under plain OPA and conftest: each package's ``deny`` holds every finding of
the report, with the report's own message, on the input and data ``export-input`` writes.

Evaluated by OPA's own Go engine (the opa-golib-python-bindings wheel ``make test`` unpacks,
named by ``KNIGHTWATCH_OPA_BINDINGS``), loaded as ``opa eval -d policies/`` and ``conftest
test --policy policies/ --all-namespaces`` load it: every ``.rego`` file below the directory,
the tests included, and the exported data at the root of ``data``. conftest then reads each
package's ``deny``; an element must be a string or an object with a string ``msg``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from checker.demo.knight import build_knight
from checker.rules.policyset import builtin_policy_dir
from tests.conftest import run_cli
from tests.engine import opa_standin
from tests.test_examples import EXAMPLES, inputs

PACKAGE = re.compile(r"^package\s+(\S+)", re.MULTILINE)
TEST = re.compile(r"^(test_\w+)\b", re.MULTILINE)


def opa() -> Any:
    """OPA's Go engine; outside ``make test`` (no bindings) the test is skipped, and says so."""
    module = opa_standin.opa_bindings()
    if module is None:
        pytest.skip("OPA's Go engine is not unpacked here (KNIGHTWATCH_OPA_BINDINGS): make test")
    return module


def denied(exported: Path) -> set[tuple[str, str, str]]:
    """``conftest test --all-namespaces``: the ``deny`` of every package, by OPA's engine."""
    engine = opa().OpaEngine()
    try:
        namespaces = set()
        for path in sorted(builtin_policy_dir().rglob("*.rego")):
            source = path.read_text()
            engine.add_policy(path.relative_to(builtin_policy_dir()).as_posix(), source)
            namespaces.update(PACKAGE.findall(source))
        engine.add_data(json.loads((exported / "data.json").read_text()))
        document = json.loads((exported / "input.json").read_text())
        results: set[tuple[str, str, str]] = set()
        for namespace in sorted(namespaces):
            answer = list(engine.eval_query(f"x := data.{namespace}.deny", input=document))
            for entry in answer[0]["x"] if answer else []:
                assert isinstance(entry, dict) and isinstance(entry.get("msg"), str), entry
                results.add((entry["rule"], entry["subject"], entry["msg"]))
        return results
    finally:
        engine.close()


def exported(repo_args: list[str | Path], out: Path) -> set[tuple[str, str, str]]:
    """Export the input of a check into ``out``; the check's findings, with their messages."""
    run = run_cli("export-input", *repo_args, "-o", out)
    assert run.code == 0, run.err
    report = run_cli("check", *repo_args, "--format", "json")
    assert report.code in (0, 1), report.err
    findings = {(f["rule"], f["subject"], f["message"]) for f in report.json()["findings"]}
    assert findings, "a case with no findings would show nothing"
    return findings


@pytest.fixture(scope="module")
def knight(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[tuple[str, str, str]]]:
    """The Knight case exported once: the directory, and the report's findings."""
    opa()
    root = tmp_path_factory.mktemp("knight")
    case = build_knight(root / "case")
    findings = exported(["--repo", case.repo, "--as-of", "2012-08-01"], root / "exported")
    return root / "exported", findings


def test_deny_on_exported_input_is_the_report_of_the_knight_case(
    knight: tuple[Path, set[tuple[str, str, str]]],
) -> None:
    out, findings = knight
    assert denied(out) == findings


def test_deny_on_exported_input_is_the_report_with_waivers(tmp_path: Path) -> None:
    opa()
    example = next(p for p in EXAMPLES if p.name == "waived-emergency")
    findings = exported(inputs(example, tmp_path), tmp_path / "exported")
    assert denied(tmp_path / "exported") == findings


def test_without_the_data_document_a_result_still_names_rule_and_subject(
    knight: tuple[Path, set[tuple[str, str, str]]], tmp_path: Path
) -> None:
    """conftest run without ``--data`` must not pass everything: the results stay, with a
    message that says where the real one is."""
    out = tmp_path / "exported"
    out.mkdir()
    (out / "input.json").write_bytes((knight[0] / "input.json").read_bytes())
    (out / "data.json").write_text(json.dumps({"knightwatch": {"params": {}}}))
    results = denied(out)
    assert {rule for rule, _, _ in results} >= {"REVIEW-001", "FLEET-001", "DEAD-002"}
    assert all("failed for" in msg for _, _, msg in results)


def test_every_rego_test_passes_on_opas_engine_too() -> None:
    """``knightwatch policy test`` runs the tests on regorus; these are OPA's answers."""
    engine = opa().OpaEngine()
    try:
        tests: dict[str, list[str]] = {}
        for path in sorted(builtin_policy_dir().rglob("*.rego")):
            source = path.read_text()
            engine.add_policy(path.relative_to(builtin_policy_dir()).as_posix(), source)
            if path.name.endswith("_test.rego"):
                tests[PACKAGE.findall(source)[0]] = TEST.findall(source)
        # A package's document holds the value of each of its rules; an undefined test is
        # absent from it, and so fails like a false one.
        failed = []
        for package, names in sorted(tests.items()):
            answer = list(engine.eval_query(f"x := data.{package}"))
            values = answer[0]["x"] if answer else {}
            failed += [f"{package}.{name}" for name in names if values.get(name) is not True]
    finally:
        engine.close()
    assert sum(len(names) for names in tests.values()) > 60
    assert failed == []
