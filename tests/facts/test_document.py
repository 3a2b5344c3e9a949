"""The input document is a contract: the policies read only what its schema declares, and what
the facts produce matches the schema exactly (no field more, none missing, none mistyped)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checker.demo.knight import build_knight
from checker.parameters import RuleParameters
from checker.rules.input_refs import unknown_fields
from checker.rules.policyset import builtin_policy_dir
from checker.schemas import input_schema
from tests.conftest import run_cli
from tests.test_examples import EXAMPLES, inputs


def data_schema() -> dict[str, Any]:
    """The data document the policies read: the rules' parameters as ``rule_data`` gives
    them, and the catalog's messages."""
    params = RuleParameters().rule_data(baseline_sha=None, bots=[])
    rule = {"message": {}, "severity": {}, "title": {}}
    return {
        "type": "object",
        "additionalProperties": False,
        "title": "data",
        "properties": {
            "knightwatch": {
                "type": "object",
                "additionalProperties": False,
                "title": "data.knightwatch",
                "properties": {
                    "params": {
                        "type": "object",
                        "additionalProperties": False,
                        "title": "data.knightwatch.params",
                        "properties": {name: {} for name in params},
                    },
                    "rules": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": False,
                            "title": "a rule's catalog entry",
                            "properties": rule,
                        },
                    },
                },
            }
        },
    }


def shipped_modules() -> list[tuple[str, str]]:
    """Every shipped policy module (not the tests)."""
    root = builtin_policy_dir()
    return [
        (path.relative_to(root).as_posix(), path.read_text())
        for path in sorted(root.rglob("*.rego"))
        if not path.name.endswith("_test.rego")
    ]


def test_the_policies_read_only_fields_the_input_schema_declares() -> None:
    roots = {"input": input_schema(), "data": data_schema()}
    misses = unknown_fields(shipped_modules(), roots)
    assert [str(m) for m in misses] == []


BROKEN = """package knightwatch.broken

import rego.v1

late contains deployment.id if {
	some deployment in input.deployments
	deployment.finished_at_nanos > 0
}

drifted contains host if {
	some deployment in input.deployments
	some host, observations in deployment.window_observations
	considered := [o | some o in observations; o.observed_at_ns > 0]
	considered[0].sha != deployment.commit
}

summarised contains event.flag if {
	some event in input.flag_events
	reached(event.last_deployment)
}

reached(deployment) if count(deployment.shipped_range) > 0

grace := data.knightwatch.params.observation_grace_seconds

named := object.get(input.commits.abc, "reviewer", [])
"""


def test_the_walk_finds_every_kind_of_read_the_schema_lacks() -> None:
    """A field read directly, through a comprehension and an index, through a function's
    parameter (a flag event's deployment summary has no shipped range), in the data
    document, and through object.get: each is found, at its line."""
    roots = {"input": input_schema(), "data": data_schema()}
    misses = unknown_fields([("broken.rego", BROKEN)], roots)
    assert [(m.line, m.path, m.where) for m in misses] == [
        (7, "deployment.finished_at_nanos", "Deployment"),
        (14, "considered[0].sha", "Observation"),
        (22, "deployment.shipped_range", "DeploymentSummary"),
        (24, "data.knightwatch.params.observation_grace_seconds", "data.knightwatch.params"),
        (26, 'object.get(input.commits.abc, "reviewer", [])', "Commit"),
    ]


def _exported(args: list[str | Path], out: Path) -> dict[str, Any]:
    result = run_cli("export-input", *args, "-o", out)
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads((out / "input.json").read_text())
    return document


def test_the_knight_case_input_matches_the_schema(tmp_path: Path) -> None:
    case = build_knight(tmp_path / "knight")
    document = _exported(["--repo", case.repo, "--as-of", "2012-08-01"], tmp_path / "out")
    jsonschema.validate(document, input_schema())
    assert document["deployments"] and document["commits"] and document["flag_events"]


@pytest.mark.parametrize("case", EXAMPLES, ids=lambda p: p.name)
def test_every_example_input_matches_the_schema(case: Path, tmp_path: Path) -> None:
    jsonschema.validate(_exported(inputs(case, tmp_path), tmp_path / "out"), input_schema())


def test_the_schema_rejects_a_field_it_does_not_declare(tmp_path: Path) -> None:
    case = build_knight(tmp_path / "knight")
    document = _exported(["--repo", case.repo, "--as-of", "2012-08-01"], tmp_path / "out")
    document["deployments"][0]["shipd"] = []
    with pytest.raises(jsonschema.ValidationError, match="shipd"):
        jsonschema.validate(document, input_schema())


def test_a_field_the_policies_read_is_missed_when_the_schema_drops_it() -> None:
    """Fields read at every depth: a commit's short form (through ``some sha, commit in``), a
    registry's index (through an index by a deployment's key), a flag event's short forms
    (through a comprehension over its observations), and an observation's (through a list
    built by a comprehension, then indexed)."""
    schema = copy.deepcopy(input_schema())
    for definition, name in (
        ("Commit", "short"),
        ("Registry", "dated"),
        ("FlagEvent", "short_commits"),
        ("Observation", "short"),
    ):
        del schema["$defs"][definition]["properties"][name]
    misses = unknown_fields(shipped_modules(), {"input": schema, "data": data_schema()})
    assert {(m.file, m.path) for m in misses} == {
        ("review/review.rego", "commit.short"),
        ("deadcode/deadcode.rego", "registry.dated"),
        ("fleet/fleet.rego", "event.short_commits"),
        ("fleet/fleet.rego", "wrong[0].short"),
    }


def test_knightwatch_schema_input_prints_the_committed_schema() -> None:
    committed = Path(__file__).resolve().parents[2] / "evidence" / "schemas" / "input.schema.json"
    result = run_cli("schema", "input")
    assert result.code == 0, result.err
    assert result.out == committed.read_text()
    assert json.loads(result.out) == input_schema()
    page = run_cli("schema", "input", "--format", "markdown")
    assert page.code == 0 and page.out.startswith("# The input document")
    unknown = run_cli("schema", "inputs")
    assert unknown.code == 2 and "invalid choice: 'inputs'" in unknown.err
