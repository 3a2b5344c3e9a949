"""Policy authoring: parameters from knightwatch.yaml, export-input, explain, test coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.demo.knight import build_knight
from checker.engine import RegorusEngine
from checker.engine.base import UNDEFINED, PolicyModule
from checker.errors import InternalError, PolicyError
from checker.rules.policyset import load_policy_set
from checker.runner import evaluate_rules
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml
from tests.rules.test_policies import USER_RULE


def test_export_input_reproduces_every_finding_in_a_fresh_engine(tmp_path: Path) -> None:
    """What a user would do with `opa eval -d policies -d data.json -i input.json`; here the
    evaluator is a second, independent regorus engine, as no OPA binary is on this machine."""
    case = build_knight(tmp_path / "knight")
    out = tmp_path / "exported"
    result = run_cli("export-input", "--repo", case.repo, "--as-of", "2012-08-01", "-o", out)
    assert result.code == 0, result.err
    report = run_cli("check", "--repo", case.repo, "--as-of", "2012-08-01", "--format", "json")
    policies = load_policy_set()
    engine = RegorusEngine()
    engine.load(list(policies.modules))
    engine.set_data(json.loads((out / "data.json").read_text()))
    engine.set_input(json.loads((out / "input.json").read_text()))
    found = set()
    for rule in policies.rules:
        value = engine.evaluate(rule.path)
        assert value is not UNDEFINED
        found |= {(rule.id, item["subject"] if isinstance(item, dict) else item) for item in value}
    assert found == {(f["rule"], f["subject"]) for f in report.json()["findings"]}
    again = tmp_path / "again"
    result = run_cli("export-input", "--repo", case.repo, "--as-of", "2012-08-01", "-o", again)
    assert result.code == 0, result.err
    for name in ("input.json", "data.json"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_explain_names_everything_about_a_rule() -> None:
    result = run_cli("explain", "dead-002")
    assert result.code == 0
    assert result.out.startswith("DEAD-002 (critical): Flag never repurposed")
    assert "policies/deadcode/deadcode.rego:" in result.out
    assert "docs/deadcode-rules.md" in result.out
    missing = run_cli("explain", "DEAD-02")
    assert missing.code == 2 and "did you mean DEAD-002" in missing.err


def test_policies_and_parameters_from_knightwatch_yaml(tmp_path: Path) -> None:
    from checker.demo.builder import ScriptedRepo

    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "c",
        {"a": "1\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=("Reviewed-by: Dependabot <bot@example.com>",),
    )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment(
                "D1",
                sha,
                "2024-02-01T00:00:00Z",
                approvals=[{"by": "lee@example.com", "at": "2024-01-31T00:00:00Z"}],
            ),
        ],
    )
    (repo.path / "rules").mkdir()
    (repo.path / "rules" / "tickets.rego").write_text(USER_RULE)
    (repo.path / "knightwatch.yaml").write_text(
        "policies: [rules]\nreview_bots: [bot@example.com]\n"
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json"
    )
    got = {(f["rule"], f["subject"]) for f in result.json()["findings"]}
    assert got == {("ACME-001", "D1"), ("REVIEW-002", sha)}  # the bot's review does not count
    assert result.json()["parameters"]["review_bots"] == ["bot@example.com"]
    listing = run_cli("policy", "list", "--policies", repo.path / "rules")
    assert "ACME-001" in listing.out


def test_observation_grace_from_knightwatch_yaml(tmp_path: Path) -> None:
    from checker.demo.builder import ScriptedRepo

    repo = ScriptedRepo(tmp_path / "repo")
    v1 = repo.commit(
        "v1",
        {"a": "1"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    v2 = repo.commit(
        "v2",
        {"a": "2"},
        author=DEV,
        date="2024-01-02T00:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    record = deployment(
        "D1",
        v2,
        "2024-02-01T00:00:00Z",
        approvals=[{"by": "lee@example.com", "at": "2024-01-31T00:00:00Z"}],
    )
    record["finished_at"] = "2024-02-01T00:10:00Z"
    write_yaml(tmp_path / "ev" / "deploys.yaml", [record])
    write_yaml(
        tmp_path / "ev" / "observations.yaml",
        [
            {
                "host": "web-1",
                "service": "web",
                "version": v1,
                "observed_at": "2024-02-01T00:10:30Z",
            },
        ],
    )
    args = ("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json")
    assert run_cli(*args).code == 1
    (repo.path / "knightwatch.yaml").write_text("observation_grace_seconds: 60\n")
    assert run_cli(*args).code == 0


def test_policy_test_reports_rules_no_test_exercised(tmp_path: Path) -> None:
    (tmp_path / "u.rego").write_text(
        "package u\n\nimport rego.v1\n\ntested if input.x == 1\n\n"
        "untested contains y if {\n\tsome y in input.l\n}\n"
    )
    (tmp_path / "u_test.rego").write_text(
        "package u_test\n\nimport rego.v1\n\nimport data.u\n\n"
        'test_tested if u.tested with input as {"x": 1}\n'
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 0
    assert f"Rules no test exercised:\n  {tmp_path}/u.rego:7: untested\n" in result.out


def test_policy_test_refuses_a_test_defined_twice(tmp_path: Path) -> None:
    """`opa test` runs each definition of a test as a test of its own (`test_b#01`); the engine
    joins them into one rule, true when any is, so a second definition that fails passed."""
    (tmp_path / "u_test.rego").write_text(
        "package u_test\n\nimport rego.v1\n\n"
        "test_b if 1 == 1\n\ntest_b if 1 == 2\n\ntest_c if true\n"
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 1
    assert (
        f"ERROR {tmp_path}/u_test.rego: data.u_test.test_b (defined 2 times "
        f"({tmp_path}/u_test.rego:5, {tmp_path}/u_test.rego:7): opa test runs each definition"
    ) in result.out
    assert f"PASS  {tmp_path}/u_test.rego: data.u_test.test_c\n" in result.out
    assert result.out.endswith("1 passed, 1 failed\n")


def test_policy_test_refuses_a_test_defined_again_in_another_file(tmp_path: Path) -> None:
    (tmp_path / "a_test.rego").write_text("package u_test\n\nimport rego.v1\n\ntest_b if true\n")
    (tmp_path / "b_test.rego").write_text("package u_test\n\nimport rego.v1\n\ntest_b if false\n")
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 1
    assert "data.u_test.test_b (defined 2 times" in result.out
    assert result.out.endswith("0 passed, 1 failed\n")


def test_policy_test_finds_every_test_the_parser_reads(tmp_path: Path) -> None:
    """Tests were found by a pattern over the text's first column: an indented test was never
    run, ``default test_b := true`` beside a ``test_b`` that fails made it pass, and so did a
    ``default`` in the package's module beside the test file. Each is read by the engine's
    parser now."""
    (tmp_path / "u.rego").write_text(
        "package u_test\n\nimport rego.v1\n\ndefault test_c := true\n\ntest_m if false\n"
    )
    (tmp_path / "u_test.rego").write_text(
        "package u_test\n\nimport rego.v1\n\n"
        "test_ok if true\n\n  test_indented if {\n\tfalse\n}\n\n"
        "default test_b := true\n\ntest_b if false\n\ntest_c if false\n"
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 1, result.out + result.err
    assert f"FAIL  {tmp_path}/u_test.rego: data.u_test.test_indented (result undefined)" in (
        result.out
    )
    test = f"{tmp_path}/u_test.rego"
    assert f"data.u_test.test_b (defined 2 times ({test}:11, {test}:13)" in result.out
    assert f"data.u_test.test_c (defined 2 times ({test}:15, {tmp_path}/u.rego:5)" in result.out
    assert f"FAIL  {tmp_path}/u.rego: data.u_test.test_m (result undefined)" in result.out
    assert result.out.endswith("1 passed, 4 failed\n")


def test_a_test_helper_function_is_no_test(tmp_path: Path) -> None:
    """A function named ``test_`` (a helper with an argument) is no test, as ``opa test``
    runs rules alone: read as one, it failed as undefined and so did ``policy test``."""
    (tmp_path / "h_test.rego").write_text(
        "package h_test\n\nimport rego.v1\n\ntest_helper(x) := x + 1\n\n"
        "test_ok if test_helper(1) == 2\n"
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 0, result.out + result.err
    assert result.out.endswith("1 passed, 0 failed\n")


def test_every_shipped_rule_is_exercised_by_a_rego_test() -> None:
    result = run_cli("policy", "test")
    assert result.code == 0
    assert "Rules no test exercised" not in result.out


def test_a_finding_rule_that_is_not_a_set_is_refused_at_load(tmp_path: Path) -> None:
    """A complete rule is undefined where its body fails, and undefined would read as no
    findings: a rule that stopped matching its input would pass silently."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "found.rego").write_text(
        "package org.found\n\nimport rego.v1\n\n"
        "# METADATA\n# title: Found\n# description: Found.\n# custom:\n#   id: ORG-001\n"
        "#   severity: high\n#   controls: [ORG]\n#   message: Deployment {subject}.\n"
        "found := {d.id | some d in input.deployments} if input.flagged\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policy_set([rules], include_builtin=False)
    assert caught.value.message.endswith(
        "rules/found.rego:13: the rule found that a METADATA block with a custom.id annotates "
        "must be a set (found contains ... if ...), which is empty, never undefined, when it "
        "finds nothing"
    )


def test_an_engine_that_answers_undefined_for_a_finding_rule_gives_no_verdict() -> None:
    """Every finding rule is a set, defined once its module is loaded: an engine that answers
    undefined did not evaluate the policies, and that is no verdict, never zero findings."""
    rules = [r for r in load_policy_set().rules if not r.requires]  # WAIVER-001
    engine = RegorusEngine()
    engine.load([PolicyModule("other.rego", "package other\n")])  # not the rules' modules
    engine.set_data({})
    engine.set_input({})
    assert rules
    with pytest.raises(InternalError) as caught:
        evaluate_rules(engine, rules, {})
    assert f"gave no value for {rules[0].path}" in caught.value.message
    assert caught.value.exit_code == 3
