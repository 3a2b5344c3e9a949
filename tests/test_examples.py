"""Every case in evidence/examples/ gives exactly its expected findings, and its evidence
files validate against the published JSON Schemas (so models and schemas agree)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from checker.demo.builder import ScriptedRepo, build_history
from checker.evidence.files import parse_records, parse_yaml
from checker.schemas import render, schemas
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent for p in (ROOT / "evidence" / "examples").glob("*/history.yaml"))
SCHEMAS = ROOT / "evidence" / "schemas"


def build(case: Path, target: Path) -> tuple[ScriptedRepo, dict[str, str]]:
    """The case's repository, commit by commit, as its history.yaml says."""
    return build_history(yaml.safe_load((case / "history.yaml").read_text()), target)


def check_args(case: Path, target: Path) -> tuple[list[str | Path], dict[str, str]]:
    """The case built under ``target``: the ``check`` command line for it, and its shas."""
    repo, shas = build(case, target / "repo")
    evidence = target / "evidence"
    shutil.copytree(case / "evidence", evidence)
    expected = yaml.safe_load((case / "expected.yaml").read_text())
    args = ["check", "--repo", repo.path, "--evidence", evidence, "--format", "json"]
    return [*args, *expected.get("args", [])], shas


def inputs(case: Path, target: Path) -> list[str | Path]:
    """The case built under ``target``: the options that choose what a command judges
    (``--repo``, ``--evidence`` and the case's own), for any command that checks."""
    args, _ = check_args(case, target)
    return [a for a in args[1:] if a not in ("--format", "json")]


@pytest.mark.parametrize("case", EXAMPLES, ids=lambda p: p.name)
def test_example_gives_its_expected_findings(case: Path, tmp_path: Path) -> None:
    args, shas = check_args(case, tmp_path)
    expected = yaml.safe_load((case / "expected.yaml").read_text())
    result = run_cli(*args)
    assert result.code == expected["exit"], result.err + result.out
    got = {(f["rule"], f["subject"]) for f in json.loads(result.out)["findings"]}
    want = {
        (rule, shas[subject[1:]] if subject.startswith("@") else subject)
        for rule, subject in expected["findings"]
    }
    assert got == want


def test_there_are_examples_of_every_rule_area() -> None:
    rules = {
        rule.split("-")[0]
        for case in EXAMPLES
        for rule, _ in yaml.safe_load((case / "expected.yaml").read_text())["findings"]
    }
    assert rules == {"REVIEW", "FLEET", "DEAD", "WAIVER"}
    assert any(not yaml.safe_load((c / "expected.yaml").read_text())["findings"] for c in EXAMPLES)


def _documents(path: Path) -> Any:
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        return [r.value for r in parse_records(data, path)]
    return parse_yaml(data, path)


@pytest.mark.parametrize("case", EXAMPLES, ids=lambda p: p.name)
def test_example_evidence_validates_against_the_schemas(case: Path) -> None:
    for path in sorted((case / "evidence").iterdir()):
        name = path.name.split(".")[0]
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        jsonschema.validate(
            _documents(path), schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )


def test_schemas_are_generated_from_the_models() -> None:
    regenerate = os.environ.get("KNIGHTWATCH_REGEN") == "1"
    for name, schema in schemas().items():
        path = SCHEMAS / f"{name}.schema.json"
        if regenerate:
            path.write_text(render(schema))
        assert path.read_text() == render(schema), (
            f"{path.name} drifted from the models: regenerate with KNIGHTWATCH_REGEN=1"
        )
    assert {p.name for p in SCHEMAS.glob("*.json")} == {f"{n}.schema.json" for n in schemas()}


def test_the_schemas_reject_what_the_models_reject() -> None:
    deploys = json.loads((SCHEMAS / "deploys.schema.json").read_text())
    record = {
        "id": "D1",
        "service": "s",
        "environment": "e",
        "commit": "abc",
        "started_at": "2024-01-01T00:00:00Z",
        "deployer": "x",
    }
    jsonschema.validate([record], deploys)
    for bad in (
        {"started_at": "2024-01-01T00:00:00"},
        {"aprovals": []},
        {"targets": [{"host": "h", "status": "done"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([{**record, **bad}], deploys)
