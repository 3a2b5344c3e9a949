"""Policies: the shipped tests, user policy directories, the catalog, and the rule conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.rules.metadata import RULE_ID
from checker.rules.policyset import builtin_policy_dir, load_policy_set
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml

USER_RULE = """\
package acme.tickets

import rego.v1

# METADATA
# title: Deployment has a change ticket
# description: Every production deployment names its change ticket.
# custom:
#   id: ACME-001
#   severity: medium
#   controls: [ACME change policy 4.2]
#   requires: [deploys]
#   message: "Deployment {subject} of {service} names no change ticket."
missing_ticket contains {"subject": d.id, "service": d.service} if {
	some d in input.deployments
	not d.change_ticket
}

# METADATA
# title: Needs the fleet
# description: Only judged when fleet.yaml is present.
# custom:
#   id: ACME-002
#   severity: critical
#   controls: [ACME inventory]
#   requires: [fleet]
#   message: "{subject}"
fleet_rule contains "never" if { false }
"""


def _repo_with_deployment(tmp_path: Path) -> tuple[Path, Path]:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "one",
        {"a": "1\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=("Reviewed-by: lee@example.com",),
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
    return repo.path, tmp_path / "ev"


def test_shipped_policy_tests_pass() -> None:
    result = run_cli("policy", "test")
    assert result.code == 0, result.out + result.err
    passed = int(re.search(r"^(\d+) passed, 0 failed$", result.out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert passed >= 14
    assert "policies/review/review_test.rego" in result.out


def test_a_failing_rego_test_exits_1(tmp_path: Path) -> None:
    (tmp_path / "x.rego").write_text("package x\n\nimport rego.v1\n\nanswer := 41\n")
    (tmp_path / "x_test.rego").write_text(
        "package x_test\n\nimport rego.v1\n\nimport data.x\n\n"
        "test_right if x.answer == 41\n\ntest_wrong if x.answer == 42\n\n"
        "test_error if 1 / 0 == 1\n"
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 1
    assert "1 passed, 2 failed" in result.out
    assert re.search(r"^FAIL .*test_wrong \(result undefined\)$", result.out, re.MULTILINE)
    assert re.search(
        r"^ERROR .*test_error .*x_test\.rego:11:.*divide by zero", result.out, re.MULTILINE
    )


def test_no_tests_found_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "x.rego").write_text("package x\n\nanswer := 41\n")
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 1
    assert "no test_ rules" in result.err


def test_user_rules_join_check_and_catalog(tmp_path: Path) -> None:
    repo, evidence = _repo_with_deployment(tmp_path)
    policies = tmp_path / "acme"
    policies.mkdir()
    (policies / "tickets.rego").write_text(USER_RULE)
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--format", "json", "--policies", policies
    )
    assert result.code == 0, result.err  # medium is below the default fail-on
    report = result.json()
    assert [(f["rule"], f["subject"], f["message"]) for f in report["findings"]] == [
        ("ACME-001", "D1", "Deployment D1 of web names no change ticket.")
    ]
    statuses = {r["id"]: r for r in report["summary"]["rules"]}
    assert statuses["ACME-002"]["status"] == "not_evaluated"
    assert statuses["ACME-002"]["reason"] == "no fleet evidence"
    assert "ACME-002" in report["summary"]["not_evaluated"]
    assert "ACME-001" not in report["summary"]["not_evaluated"]
    assert any(f["path"].endswith("acme/tickets.rego") for f in report["inputs"]["files"])

    text = run_cli("check", "--repo", repo, "--evidence", evidence, "--policies", policies)
    assert "Not evaluated" in text.out and "ACME-002" in text.out

    listing = run_cli("policy", "list", "--format", "json", "--policies", policies)
    ids = [r["id"] for r in json.loads(listing.out)]
    assert ids == sorted(ids) and {"ACME-001", "REVIEW-001"} <= set(ids)


def _waived(
    repo: Path, evidence: Path, rule: str, waiver: dict[str, str], *extra: str
) -> CliResult:
    """``check`` with the added rule ``rule`` and the one waiver ``waiver`` (approved by
    cro@example.com until 2024-03-01), as of 2024-02-15."""
    policies = evidence.parent / "acme"
    policies.mkdir()
    (policies / "rule.rego").write_text(rule)
    approval = {"approved_by": "cro@example.com", "expires": "2024-03-01"}
    write_yaml(evidence / "waivers.yaml", [{**waiver, **approval}])
    return run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--policies", policies,
        "--as-of", "2024-02-15", *extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "code"),
    [("*1", 2), ("?1", 2), ("*D*", 2), ("D1", 0), ("D*", 0)],
)
def test_a_rule_without_a_subject_shape_is_waived_only_by_what_its_glob_names(
    tmp_path: Path, subject: str, code: int
) -> None:
    """ACME-001 declares no ``subject`` shape: a waiver of ``*1`` (every deployment whose id
    ends in 1, next month's too) was accepted and waived it, and the check passed at
    --fail-on medium."""
    repo, evidence = _repo_with_deployment(tmp_path)
    waiver = {"rule": "ACME-001", "subject": subject, "reason": "tickets kept elsewhere"}
    result = _waived(repo, evidence, USER_RULE, waiver, "--fail-on", "medium")
    assert result.code == code, result.err
    if code == 2:
        assert "waivers.yaml:1:" in result.err and "starts with a wildcard" in result.err


SHAPED_AS_STRINGS = """\
package acme.ports

import rego.v1

# METADATA
# title: Host port closed
# description: Every target's metrics port is closed.
# custom:
#   id: ACME-003
#   severity: high
#   controls: [ACME network policy 2.1]
#   requires: [deploys]
#   subject: "{deployment}:{host}"
#   message: "{subject} leaves its metrics port open."
open_port contains sprintf("%s:%s", [d.id, host]) if {
	some d in input.deployments
	some host, _ in d.target_status
}
"""


@pytest.mark.parametrize(("subject", "code"), [("*:9100", 1), ("D1:web-1:9100", 0)])
def test_a_shaped_subject_given_as_one_string_is_waived_only_by_its_name(
    tmp_path: Path, subject: str, code: int
) -> None:
    """A rule that declares ``{deployment}:{host}`` but emits its subjects as one string gives
    no parts to cut a glob into: ``*:9100`` reads as any deployment of host ``9100``, and was
    matched against the whole subject, covering host ``web-1:9100`` (exit 0). Only a waiver
    naming the subject exactly covers such a finding."""
    repo, evidence = _repo_with_deployment(tmp_path)
    records = yaml.safe_load((evidence / "deploys.yaml").read_text())
    records[0]["targets"] = [{"host": "web-1:9100", "status": "failed"}]
    write_yaml(evidence / "deploys.yaml", records)
    waiver = {"rule": "ACME-003", "subject": subject, "reason": "scraped inside the cluster"}
    result = _waived(repo, evidence, SHAPED_AS_STRINGS, waiver, "--format", "json")
    assert result.code == code, result.err
    (finding,) = [f for f in result.json()["findings"] if f["rule"] == "ACME-003"]
    assert finding["subject"] == "D1:web-1:9100" and finding["waived"] == (code == 0)


def _caused(cause: str, statement: str = "Deployments lack tickets") -> str:
    """USER_RULE with a cause and a statement in its METADATA."""
    return USER_RULE.replace(
        "#   severity: medium",
        f"#   cause: {cause}\n#   statement: {statement}\n#   severity: medium",
    )


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        (USER_RULE + "\nx if {\n  1 = \n}\n", f"u.rego:{USER_RULE.count(chr(10)) + 3}:"),
        (USER_RULE.replace("id: ACME-001", "id: REVIEW-001"), "rule id REVIEW-001 is already used"),
        (USER_RULE.replace("id: ACME-001", "id: acme1"), "u.rego:5: METADATA custom.id"),
        (USER_RULE.replace("{service}", "{svc}"), "emitted no svc for its message"),
        (
            USER_RULE.replace('{"subject": d.id, "service": d.service}', "d"),
            "each element must be a subject string",
        ),
        (_caused('"{svc}"'), "emitted no svc for its cause"),
        (_caused('"all"'), "custom.cause 'all' names no field"),
        (
            _caused('"{service}"', "Deployments of {service} by {subject}"),
            "custom.statement names {subject}, which custom.cause does not",
        ),
        (
            USER_RULE.replace("#   severity: medium", "#   statement: All\n#   severity: medium"),
            "custom.statement needs custom.cause",
        ),
        (
            USER_RULE.replace("#   severity: medium", "#   cuase: x\n#   severity: medium"),
            "did you mean 'cause'",
        ),
        (
            USER_RULE.replace("not d.change_ticket", "count(d.shipped) > 0"),
            "u.rego:16: d.shipped (no such field in Deployment): the input document has no such",
        ),
        (
            USER_RULE.replace("not d.change_ticket", 'd.change_tiket == ""'),
            "u.rego:16: d.change_tiket (no such field in Deployment)",
        ),
        (
            USER_RULE.replace(
                "#   severity: medium", "#   per_deployment: true\n#   severity: medium"
            ),
            "custom.per_deployment needs a custom.subject naming {deployment}",
        ),
        # A rule whose declaration is not read was never evaluated, and the run passed.
        (
            USER_RULE.replace("# METADATA\n# title: Deployment", "# metadata\n# title: Deployment"),
            "u.rego:5: '# metadata' is not the annotation marker",
        ),
        (
            USER_RULE.replace("# METADATA\n# title: Deployment", "#METADATA\n# title: Deployment"),
            "u.rego:5: '#METADATA' is not the annotation marker",
        ),
        (
            USER_RULE.replace("# custom:\n#   id: ACME-001", "# id: ACME-001\n# custom:"),
            "u.rego:5: METADATA id: is at the top level",
        ),
        (
            USER_RULE.replace("#   id: ACME-001\n", ""),
            "u.rego:5: METADATA custom: has severity, controls, message, requires but no id",
        ),
        (
            "package acme.tickets\n\nimport rego.v1\n\nmissing contains 1 if true\n",
            "declares no rule: no module below has a METADATA block with custom.id",
        ),
        # A declaration no block reads, beside one that is read: ACME-001 was never evaluated.
        (
            USER_RULE.replace("ticket.\n# custom:", "ticket.\n\n# custom:"),
            "u.rego:10: rule id ACME-001 is in a comment that no '# METADATA' block reads",
        ),
        (
            USER_RULE.replace(
                "# METADATA\n# title: Deployment", "## METADATA\n# title: Deployment"
            ),
            "u.rego:9: rule id ACME-001 is in a comment that no '# METADATA' block reads",
        ),
        (
            USER_RULE.replace(
                "# METADATA\n# title: Deployment", "# METADATA # ticket\n# title: Deployment"
            ),
            "u.rego:9: rule id ACME-001 is in a comment that no '# METADATA' block reads",
        ),
        # A block read as documentation alone, though it holds a rule id.
        (
            USER_RULE.replace(
                "#   id: ACME-001\n#   severity: medium",
                "#   - id: ACME-001\n#     severity: medium",
            )
            .replace(
                "#   controls: [ACME change policy 4.2]", "#     controls: [ACME change policy 4.2]"
            )
            .replace(
                '#   requires: [deploys]\n#   message: "Deployment',
                '#     requires: [deploys]\n#     message: "Deployment',
            ),
            "u.rego:5: METADATA holds rule id ACME-001 but declares no rule",
        ),
        (
            USER_RULE.replace('change ticket."\n', 'change ticket."\n# custom: {}\n', 1),
            "u.rego:5: METADATA holds rule id ACME-001 but declares no rule",
        ),
    ],
    ids=[
        "syntax",
        "duplicate-id",
        "bad-id",
        "message-field",
        "bad-shape",
        "cause-field",
        "cause-no-field",
        "statement-beyond-cause",
        "statement-alone",
        "cause-typo",
        "input-field-renamed",
        "input-field-misspelt",
        "per-deployment-without-deployment",
        "marker-in-lowercase",
        "marker-without-space",
        "id-outside-custom",
        "custom-without-id",
        "no-rule-declared",
        "blank-line-in-block",
        "marker-doubled",
        "marker-with-comment",
        "custom-as-a-list",
        "custom-given-again",
    ],
)
def test_broken_user_policy_exits_2(tmp_path: Path, source: str, needle: str) -> None:
    repo, evidence = _repo_with_deployment(tmp_path)
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "u.rego").write_text(source)
    out = tmp_path / "r.json"
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--policies", tmp_path / "pol", "-o", out
    )
    assert result.code == 2, result.err
    assert needle in result.err
    assert "Traceback" not in result.err
    assert not out.exists()


def test_conventions_every_rule_annotated_unique_and_tested() -> None:
    policies = load_policy_set()
    assert policies.rules, "no annotated rules found"
    tests = "\n".join(t.source for t in policies.tests)
    for rule in policies.rules:
        assert RULE_ID.match(rule.id), rule.id
        assert rule.severity in ("info", "low", "medium", "high", "critical")
        assert rule.controls and rule.title and rule.description and rule.message
        name = rule.path.rsplit(".", 1)[1]
        assert re.search(rf"\.{name}\b", tests), f"{rule.id} ({name}) is exercised by no Rego test"
    ids = [r.id for r in policies.rules]
    assert len(ids) == len(set(ids))
    # Every contract rule implemented so far lives in the shipped directory.
    assert {"REVIEW-001", "REVIEW-002", "REVIEW-003"} <= set(ids)
    assert builtin_policy_dir().is_dir()


def test_every_shipped_rule_head_is_annotated() -> None:
    """A finding-producing rule without metadata would be silently ignored by the runner."""
    for path in builtin_policy_dir().rglob("*.rego"):
        if path.name.endswith("_test.rego"):
            continue
        source = path.read_text()
        annotated = {
            r.path.rsplit(".", 1)[1] for r in load_policy_set().rules if r.file.endswith(path.name)
        }
        heads = set(re.findall(r"^(\w+) contains ", source, re.MULTILINE))
        # A set the module's own rules read (``overdue[x]``, ``x in overdue``) is a helper.
        helpers = {
            head
            for head in heads
            if len(re.findall(rf"\b{head}\b", source))
            > len(re.findall(rf"^{head} contains ", source, re.MULTILINE))
        }
        heads -= helpers | {"deny"}  # conftest's and opa eval's view of the findings, below
        assert heads <= annotated, f"{path}: unannotated set rules {heads - annotated}"


DENY = re.compile(
    r"^\tsome finding in (\w+)\n\tresult := lib\.result\(\"([^\"]+)\", finding\)$", re.M
)


def test_each_package_denies_exactly_its_own_rules_under_their_ids() -> None:
    """``deny`` names each rule's id again (the engines have no rego.metadata): it must be
    the id the rule's METADATA gives, for every annotated rule of the file and no other."""
    rules = load_policy_set().rules
    for path in sorted(builtin_policy_dir().rglob("*.rego")):
        if path.name.endswith("_test.rego") or path.parent.name == "lib":
            continue
        annotated = {(r.path.rsplit(".", 1)[1], r.id) for r in rules if r.file.endswith(path.name)}
        assert set(DENY.findall(path.read_text())) == annotated, path.name


def test_shipped_policies_are_formatted_as_opa_fmt_would_leave_them() -> None:
    """Tabs for indentation, no trailing space, lines of at most 100 columns (a tab as 4),
    the package first and Rego v1 declared."""
    for path in sorted(builtin_policy_dir().rglob("*.rego")):
        lines = path.read_text().splitlines()
        code = [line for line in lines if line and not line.startswith("#")]
        assert code[0].startswith("package "), f"{path.name}: the package comes first"
        assert code[1] == "import rego.v1", f"{path.name}: then import rego.v1"
        for number, line in enumerate(lines, start=1):
            where = f"{path.name}:{number}"
            assert line == line.rstrip(), f"{where}: trailing whitespace"
            assert not line.startswith(" "), f"{where}: indented with spaces"
            assert len(line.expandtabs(4)) <= 100, f"{where}: longer than 100 columns"


BANNED = [
    (r'\$"', 'template strings ($"...")'),
    (r"sprintf\(\"[^\"]*%[^sdv%]", "sprintf verbs other than %s %v %d"),
    (r"\brego\.metadata\.", "rego.metadata (the runner reads METADATA itself)"),
    (r"\b(crypto|io\.jwt)\.", "crypto and JWT builtins"),
    (r"\btime\.add_date\b", "time.add_date"),
    (r"\brender_template\b", "render_template"),
    (r"\bglob\.match\([^)]*\*\*", "** in globs"),
    (r"^import future\.keywords", "v0 keyword imports (Rego v1 syntax only)"),
]


def test_shipped_policies_keep_to_the_portability_rules() -> None:
    """Every shipped policy must give the same answer on real OPA and on the embedded engine."""
    for path in sorted(builtin_policy_dir().rglob("*.rego")):
        source = path.read_text()
        assert "import rego.v1" in source, f"{path.name}: Rego v1 syntax is declared explicitly"
        for number, line in enumerate(source.splitlines(), start=1):
            code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
            for pattern, what in BANNED:
                assert not re.search(pattern, code), f"{path.name}:{number}: {what}"


_RULE_HEAD = """package team.t
import rego.v1
{prelude}
# METADATA
# title: t
# description: d
# custom:
#   id: TEAM-001
#   subject: "{{deployment}}"
#   severity: high
#   controls: [X-1]
#   requires: [deploys]
#   message: "x {{deployment}}"
bad contains f if {{
{body}
	f := {{"subject": d.id, "deployment": d.id}}
}}
"""


@pytest.mark.parametrize(
    ("prelude", "body", "needle"),
    [
        ("deps := input.deployments", "\tsome d in deps\n\tcount(d.shipped) > 0", "d.shipped"),
        (
            "import input.deployments as deps",
            "\tsome d in deps\n\tcount(d.shipped) > 0",
            "d.shipped",
        ),
        (
            "",
            '\tsome d in input.deployments\n\tsome r in object.get(d, ["references"], {})',
            'object.get(d, ["references"], …)',
        ),
        (
            "prod contains d if {\n\tsome d in input.deployments\n"
            '\td.environment == "production"\n}',
            "\tsome d in prod\n\td.shipped",
            "d.shipped",
        ),
        (
            "helper(_) if {\n\tsome d in input.deployments\n\td.shipped\n}",
            "\tsome d in input.deployments\n\thelper(1)",
            "d.shipped",
        ),
        (
            "ds := {x.id: x | some x in input.deployments}",
            "\tsome d in ds\n\td.shipped",
            "d.shipped",
        ),
    ],
    ids=[
        "rule-alias",
        "import-alias",
        "object-get-path",
        "set-rule-elements",
        "function-reading-input",
        "object-comprehension",
    ],
)
def test_a_removed_field_read_through_an_alias_is_refused(
    tmp_path: Path, prelude: str, body: str, needle: str
) -> None:
    """The ordinary ways of writing Rego reach the field check too: a rule or an import
    naming ``input.deployments``, and ``object.get`` with a path of keys."""
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "t.rego").write_text(_RULE_HEAD.format(prelude=prelude, body=body))
    result = run_cli("policy", "list", "--policies", tmp_path / "pol")
    assert result.code == 2, result.out
    assert f"{needle} (no such field in Deployment)" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("prelude", "body"),
    [
        (
            "",
            '\tsome x in input.deployments\n\tevery x in input.commits { x.short != "" }\n\td := x',
        ),
        (
            "label(x) := x.short_commit if x.short_commit\nlabel(x) := x.short if x.short",
            "\tsome d in input.deployments\n\tsome c in input.commits\n\tlabel(d) != label(c)",
        ),
        ("depth := " + " +\n\t".join(["1"] * 600), "\tsome d in input.deployments\n\tdepth > 0"),
        ("", "\tsome d in input.deployments\n\tnot d.change_ticket"),
        (
            "first := input.deployments[0]",
            '\tsome d in input.deployments\n\t[first, _] := [{"ticket": "CHG-1"}, 2]\n'
            '\tfirst.ticket == "none"',
        ),
    ],
    ids=[
        "every-rebinds",
        "helper-on-two-kinds",
        "deeply-nested",
        "optional-field",
        "destructuring-shadows-alias",
    ],
)
def test_a_correct_policy_is_not_refused_by_the_field_check(
    tmp_path: Path, prelude: str, body: str
) -> None:
    """No read the schema declares is reported: a variable ``every`` binds afresh, a helper
    called on deployments and on commits (each definition guarding its own field), an
    expression nested 600 deep (not walked), an optional field."""
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "t.rego").write_text(_RULE_HEAD.format(prelude=prelude, body=body))
    result = run_cli("policy", "list", "--policies", tmp_path / "pol")
    assert result.code == 0, result.err
    assert "TEAM-001" in result.out


def test_an_added_rule_may_not_be_judged_in_slices(tmp_path: Path) -> None:
    """per_deployment is for knightwatch's own rules, each read for it: an added rule that
    counts the month's deployments would answer differently past one slice."""
    source = _RULE_HEAD.format(prelude="", body="\tsome d in input.deployments").replace(
        "#   severity: high", "#   per_deployment: true\n#   severity: high"
    )
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "t.rego").write_text(source)
    result = run_cli("policy", "list", "--policies", tmp_path / "pol")
    assert result.code == 2
    assert "custom.per_deployment is for knightwatch's own rules" in result.err


@pytest.mark.parametrize(
    ("ticket", "found"),
    [
        ("CHG-1042", []),
        (" ", ["D1"]),
        ("\u200b", ["D1"]),
        ("\t", ["D1"]),
        ("\u3164", ["D1"]),
        ("\u2800", ["D1"]),
        ("\u034f\ufe0f", ["D1"]),
    ],
    ids=["a-ticket", "space", "zero-width", "tab", "hangul-filler", "braille-blank", "marks"],
)
def test_the_documented_ticket_rule_sees_a_ticket_only_where_one_is_written(
    tmp_path: Path, ticket: str, found: list[str]
) -> None:
    """docs/policies.md's example reads ``d.change_ticket``: the input carries it where the
    record names one, and leaves it out where it does not or where it is only white space or
    invisible characters (``not d.change_ticket`` holds there)."""
    repo, evidence = _repo_with_deployment(tmp_path)
    records = yaml.safe_load((evidence / "deploys.yaml").read_text())
    records[0]["change_ticket"] = ticket
    records.append({**records[0], "id": "D2", "change_ticket": "CHG-7"})
    write_yaml(evidence / "deploys.yaml", records)
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "tickets.rego").write_text(USER_RULE)
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--format", "json",
        "--policies", tmp_path / "acme",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [f["subject"] for f in result.json()["findings"] if f["rule"] == "ACME-001"] == found


def test_a_package_split_across_files_is_checked_in_every_file(tmp_path: Path) -> None:
    """A rule declared with METADATA in one file may take more bodies in another file of
    the same package, without METADATA: that file is held to the input's fields too."""
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "t.rego").write_text(
        _RULE_HEAD.format(prelude="", body='\tsome d in input.deployments\n\td.deployer == "x"')
    )
    (tmp_path / "pol" / "more.rego").write_text(
        "package team.t\n\nimport rego.v1\n\nbad contains f if {\n\tsome d in input.deployments\n"
        '\td.shipped\n\tf := {"subject": d.id, "deployment": d.id}\n}\n'
    )
    result = run_cli("policy", "list", "--policies", tmp_path / "pol")
    assert result.code == 2
    assert "more.rego:7: d.shipped (no such field in Deployment)" in result.err


def test_brackets_nested_past_the_limit_are_refused_before_the_engine_parses_them(
    tmp_path: Path,
) -> None:
    """The engine's parser takes time exponential in bracket depth, in native code that no
    signal stops: 300 nested brackets would hang the run. Refused at the line of the 33rd;
    brackets inside strings and comments do not count."""
    (tmp_path / "pol").mkdir()
    quoted = '"' + "[" * 100 + '"  # ' + "{" * 100
    (tmp_path / "pol" / "t.rego").write_text(
        "package team.t\n\nimport rego.v1\n\n"
        f"text := {quoted}\n\nunused := " + "[\n" * 300 + "1\n" + "]\n" * 300
    )
    result = run_cli("policy", "list", "--policies", tmp_path / "pol")
    assert result.code == 2
    assert "t.rego:39: brackets nested more than 32 deep" in result.err


def test_a_rule_declared_in_a_test_file_is_refused(tmp_path: Path) -> None:
    """ACME-002, which finds every run, declared in ``fleet_test.rego`` beside ``u.rego``'s
    ACME-001: only ``policy test`` loads a test file, so ACME-002 was never evaluated, was
    in no catalog, and the check passed."""
    repo, evidence = _repo_with_deployment(tmp_path)
    rules, fleet = USER_RULE.split("# METADATA\n# title: Needs the fleet")
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "u.rego").write_text(rules)
    (tmp_path / "pol" / "fleet_test.rego").write_text(
        "package acme.fleetrules\n\nimport rego.v1\n\n# METADATA\n# title: Needs the fleet"
        + fleet.replace("requires: [fleet]", "requires: [deploys]").replace("false", "true")
    )
    out = tmp_path / "r.json"
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--policies", tmp_path / "pol", "-o", out
    )
    assert result.code == 2, result.err
    assert "fleet_test.rego:14: rule ACME-002 is declared in a test file" in result.err
    assert "Traceback" not in result.err
    assert not out.exists()
