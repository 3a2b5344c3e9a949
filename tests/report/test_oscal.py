"""OSCAL assessment results: valid against NIST's published schema, a round trip through
compliance-trestle's models, controls mapped to the catalog's ids, and never a control
claimed satisfied that a rule did not judge whole."""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from trestle.oscal import OSCAL_VERSION
from trestle.oscal.assessment_results import AssessmentResults

from checker.demo.knight import build_knight
from checker.report import RENDERERS
from checker.report.model import Finding, InputFile, RuleStatus
from checker.report.oscal import control_id
from checker.runner import CheckOptions, run_check
from tests.conftest import run_cli, write_yaml
from tests.report.oscal_schema import schema_errors
from tests.report.test_golden import GOLDEN
from tests.report.test_renderers import finding, make_report
from tests.test_examples import EXAMPLES, inputs


@pytest.fixture(scope="module")
def knight(tmp_path_factory: pytest.TempPathFactory) -> list[str | Path]:
    case = build_knight(tmp_path_factory.mktemp("knight"))
    return ["--repo", case.repo, "--evidence", case.evidence, "--as-of", "2012-08-01"]


def oscal(*argv: str | Path) -> dict[str, Any]:
    result = run_cli("check", *argv, "--format", "oscal")
    assert result.code in (0, 1), result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def report(*argv: str | Path) -> dict[str, Any]:
    result = run_cli("check", *argv, "--format", "json")
    return json.loads(result.out)  # type: ignore[no-any-return]


def test_the_knight_report_is_valid_oscal(knight: list[str | Path]) -> None:
    document = oscal(*knight)
    assert schema_errors(document) == []
    assert document["assessment-results"]["metadata"]["oscal-version"] == OSCAL_VERSION == "1.2.1"


def test_the_validator_rejects_what_nist_would(knight: list[str | Path]) -> None:
    """So that a pass above means something: a state OSCAL does not have, a property name
    that is not a token, a result with no start."""
    document = oscal(*knight)
    result = document["assessment-results"]["results"][0]
    result["findings"][0]["target"]["status"]["state"] = "mostly-satisfied"
    result["props"][0]["name"] = "not a token"
    del result["start"]
    assert len(schema_errors(document)) == 3


def test_a_round_trip_through_trestle_gives_the_same_document(knight: list[str | Path]) -> None:
    document = oscal(*knight)
    model = AssessmentResults.model_validate(document["assessment-results"])
    assert json.loads(model.oscal_serialize_json()) == document


@pytest.mark.parametrize(
    "golden", sorted(GOLDEN.glob("*/report.oscal.json")), ids=lambda p: p.parent.name
)
def test_every_golden_case_is_valid_and_round_trips(golden: Path) -> None:
    """Every case's document as the CLI writes it (test_golden keeps these files current)."""
    document = json.loads(golden.read_text(encoding="utf-8"))
    assert schema_errors(document) == []
    model = AssessmentResults.model_validate(document["assessment-results"])
    assert json.loads(model.oscal_serialize_json()) == document


def test_the_golden_cases_cover_every_example() -> None:
    cases = {p.parent.name for p in GOLDEN.glob("*/report.oscal.json")}
    assert {case.name for case in EXAMPLES} <= cases and "knight" in cases


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("NIST SP 800-53 CM-3", "cm-3"),
        ("NIST SP 800-53 CM-5(4)", "cm-5.4"),
        ("NIST SP 800-53 SI-7", "si-7"),
        ("NIST SP 800-53 AC-02(12)", "ac-2.12"),
        ("SEC Regulation SCI 1001(a)", None),
        ("SOX ITGC change management", None),
        ("NIST SP 800-171 3.4.3", None),
    ],
)
def test_control_references_map_to_catalog_ids(reference: str, expected: str | None) -> None:
    assert control_id(reference) == expected


def _elements(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    result = document["assessment-results"]["results"][0]
    return result, {o["uuid"]: o for o in result["observations"]}


def _states(argv: list[str | Path]) -> set[str]:
    """Each control's state, checked against the one recomputed from the JSON report: a
    control is satisfied only if every rule citing it was evaluated, on all its evidence,
    with no unwaived finding."""
    judged = report(*argv)
    rules = judged["summary"]["rules"]
    unjudged = {r["id"] for r in rules if r["status"] != "evaluated" or r.get("partial")}
    failing = {f["rule"] for f in judged["findings"] if not f["waived"]}
    result, observations = _elements(oscal(*argv))
    states = set()
    for control in result["findings"]:
        cited = {
            prop["value"]
            for related in control["related-observations"]
            for prop in observations[related["observation-uuid"]]["props"]
            if prop["name"] == "rule"
        }
        clean = not cited & (unjudged | failing)
        status = control["target"]["status"]
        assert status["state"] == ("satisfied" if clean else "not-satisfied"), control["title"]
        head = control["title"].split(":")[0]
        own = f"knightwatch-{head.lower()}"  # a rule citing no NIST control
        assert control["target"]["target-id"] in (f"{head}_smt", own)
        states.add(status["state"])
    return states


def test_controls_are_satisfied_only_when_judged_whole_and_clean(
    knight: list[str | Path], tmp_path: Path
) -> None:
    case = next(c for c in EXAMPLES if c.name == "waived-emergency")  # waived, partial, absent
    states = _states(inputs(case, tmp_path)) | _states(knight)
    assert states == {"satisfied", "not-satisfied"}


def test_other_frameworks_are_kept_as_properties(knight: list[str | Path]) -> None:
    result, observations = _elements(oscal(*knight))
    review = next(o for o in observations.values() if o["title"].startswith("REVIEW-001"))
    references = {p["value"] for p in review["props"] if p["name"] == "control-reference"}
    assert {"SOX ITGC change management", "SEC Rule 15c3-5(b)", "NIST SP 800-53 CM-3"} <= (
        references
    )
    ids = [c["control-id"] for c in result["reviewed-controls"]["control-selections"][0][
        "include-controls"]]  # fmt: skip
    assert "cm-5.4" in ids and all(i == i.lower() and " " not in i for i in ids)


def test_every_finding_is_a_subject_of_its_causes_observation(knight: list[str | Path]) -> None:
    document = oscal(*knight)
    findings = report(*knight)
    _, observations = _elements(document)
    per_cause = [o for o in observations.values() if "finding" in o.get("types", [])]
    assert len(per_cause) == len(findings["groups"]) < len(findings["findings"])
    listed = [
        (_props(o, "rule")[0], subject) for o in per_cause for subject in _props(o, "subject")
    ]
    assert sorted(listed) == sorted((f["rule"], f["subject"]) for f in findings["findings"])
    for group in findings["groups"]:
        (observation,) = (
            o for o in per_cause if _props(o, "rule") == [group["rule"]]
            and _props(o, "subject") == group["subjects"]
        )  # fmt: skip
        assert _props(observation, "instances") == [str(group["count"])]


def _props(observation: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in observation.get("props", []) if p["name"] == name]


def test_each_input_is_stated_once_and_related_to_every_control(
    knight: list[str | Path],
) -> None:
    document = oscal(*knight)
    findings = report(*knight)
    result, observations = _elements(document)
    resources = {r["uuid"]: r for r in document["assessment-results"]["back-matter"]["resources"]}
    inputs = [f for f in findings["inputs"]["files"] if f["role"] != "policy"]
    head = findings["inputs"]["repository"]["head"]
    evidence = [o for o in observations.values() if "relevant-evidence" in o]
    # Every input file, the repository HEAD and the protected branch's tip.
    assert len(evidence) == len(inputs) + 2
    assert all(o["title"].startswith("input: ") for o in evidence)
    (branch,) = (o for o in evidence if o["title"] == "input: protected branch main")
    assert branch["description"] == f"protected branch main at {head} (read from refs/heads/main)"
    evidence.remove(branch)  # the knight case's branch tip is its HEAD
    text = json.dumps(result["observations"])
    for digest in [f["sha256"] for f in inputs] + [head]:
        # Its observation's description and evidence; a finding may name HEAD in its message.
        assert text.count(digest) == 2 or digest == head, digest
        (stated,) = (o for o in evidence if digest in o["description"])
        (link,) = stated["relevant-evidence"]
        resource = resources[link["href"].removeprefix("#")]
        for rlink in resource.get("rlinks", []):
            assert rlink["hashes"] == [{"algorithm": "SHA-256", "value": digest}]
    for control in result["findings"]:
        related = {r["observation-uuid"] for r in control["related-observations"]}
        assert {o["uuid"] for o in [*evidence, branch]} <= related
        assert related <= set(observations)


def test_the_document_grows_with_causes_not_instances() -> None:
    """A thousand deployments shipping one retired flag are one observation with a thousand
    subjects: the evidence's digests are not repeated per instance."""
    files = tuple(InputFile("evidence", f"e{n}.jsonl", f"{n:064x}") for n in range(6))
    rule = RuleStatus("DEAD-001", "Retired flag", "high", ("NIST SP 800-53 CM-3",), True)

    def rendered(count: int) -> str:
        findings = tuple(
            Finding("DEAD-001", "high", f"D{n:04d}", f"D{n:04d} ships old_flag",
                    rule.controls, rule.title, cause="old_flag", statement="old_flag is retired")
            for n in range(count)
        )  # fmt: skip
        plain = make_report(*findings)
        return RENDERERS["oscal"].render(replace(plain, rules=(rule,), files=files))

    one, many = rendered(1), rendered(1000)
    assert schema_errors(json.loads(many)) == []
    assert len(_elements(json.loads(one))[1]) == len(_elements(json.loads(many))[1])
    assert one.count("0" * 63 + "5") == many.count("0" * 63 + "5") > 0
    assert len(many) - len(one) < 1000 * 150  # a subject property per instance, no more


def test_uuids_are_unique_and_derived_from_the_report(knight: list[str | Path]) -> None:
    text = json.dumps(oscal(*knight))
    found = [u for u in _uuids(json.loads(text)) if u]
    assert len(found) == len(set(found)) > 10
    assert all(uuid.UUID(u).version == 5 for u in found)
    assert json.dumps(oscal(*knight)) == text  # same inputs, same document
    later = oscal(*knight[:-1], "2012-09-01")
    assert later["assessment-results"]["uuid"] != json.loads(text)["assessment-results"]["uuid"]


def _uuids(node: object) -> list[str]:
    if isinstance(node, dict):
        return [
            *([node["uuid"]] if isinstance(node.get("uuid"), str) else []),
            *(u for value in node.values() for u in _uuids(value)),
        ]
    if isinstance(node, list):
        return [u for item in node for u in _uuids(item)]
    return []


def test_times_come_from_the_report_not_the_clock(knight: list[str | Path]) -> None:
    document = oscal(*knight)
    assert document["assessment-results"]["metadata"]["last-modified"].startswith("2012-08-01T00")
    result = document["assessment-results"]["results"][0]
    assert result["start"].startswith("2012-08-01T00:00:00")
    assert {o["collected"] for o in result["observations"]} == {result["start"]}


def test_an_audit_month_is_the_result_span(knight: list[str | Path], tmp_path: Path) -> None:
    """The period's rendering: an audit's readable copies use the same renderers."""
    repo, evidence = Path(knight[1]), Path(knight[3])
    audit = run_check(
        CheckOptions(repo=repo, evidence=evidence, as_of=date(2012, 8, 1), period="2012-07")
    )
    result = json.loads(RENDERERS["oscal"].render(audit))["assessment-results"]["results"][0]
    assert result["title"] == "Audit of 2012-07"
    assert result["start"].startswith("2012-07-01T00:00:00") and result["end"].startswith(
        "2012-08-01T00:00:00"
    )


def test_the_extension_names_the_format(knight: list[str | Path], tmp_path: Path) -> None:
    out = tmp_path / "report.oscal.json"
    plain = tmp_path / "report.json"
    result = run_cli("check", *knight, "-o", out, "-o", plain)
    assert result.code == 1, result.err
    assert "assessment-results" in json.loads(out.read_text())
    assert json.loads(plain.read_text())["schema"] == "knightwatch/report/v1"


def test_without_the_extra_it_says_which_to_install(
    knight: list[str | Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "trestle.oscal", None)  # as if not installed
    out = tmp_path / "report.oscal.json"
    result = run_cli("check", *knight, "-o", out)
    assert result.code == 2
    assert "pip install 'knightwatch[oscal]'" in result.err
    assert not out.exists()


def test_rules_that_cite_no_nist_control_claim_none() -> None:
    """A policy set of its own, citing no NIST control: still valid, no control is claimed
    either way, and each rule is stated by a finding of its own target."""
    document = json.loads(RENDERERS["oscal"].render(make_report(finding(subject="D1"))))
    assert schema_errors(document) == []
    result = document["assessment-results"]["results"][0]
    assert "cites a NIST SP 800-53 control" in result["reviewed-controls"]["description"]
    targets = {f["target"]["target-id"]: f["target"] for f in result["findings"]}
    assert set(targets) == {"knightwatch-review-001", "knightwatch-fleet-001"}
    assert {t["type"] for t in targets.values()} == {"objective-id"}
    assert targets["knightwatch-review-001"]["status"]["reason"] == "fail"


ACME = """package acme.tickets

import rego.v1

# METADATA
# title: Deployment has a change ticket
# description: Every production deployment names its change ticket.
# custom:
#   id: ACME-001
#   severity: critical
#   controls: [ACME change policy 4.2]
#   requires: [deploys]
#   message: "Deployment {subject} of {service} names no ACME change ticket."
missing_ticket contains {"subject": d.id, "service": d.service} if {
	some d in input.deployments
	not startswith(object.get(d, "change_ticket", ""), "ACME-")
}
"""


def _clean_release(tmp_path: Path) -> list[str | Path]:
    return inputs(next(c for c in EXAMPLES if c.name == "clean-release"), tmp_path)


def test_a_failing_rule_citing_no_nist_control_is_a_failed_finding(tmp_path: Path) -> None:
    """A team's own rule citing only its own policy fails the check: the document states that
    failure in a finding of its own (knightwatch's namespace), its references kept, not in
    an observation alone beside controls that all read satisfied."""
    policies = tmp_path / "acme"
    policies.mkdir()
    (policies / "tickets.rego").write_text(ACME)
    argv = [*_clean_release(tmp_path / "case"), "--policies", policies]
    assert report(*argv)["verdict"] == "fail"
    document = oscal(*argv)
    assert schema_errors(document) == []
    model = AssessmentResults.model_validate(document["assessment-results"])
    assert json.loads(model.oscal_serialize_json()) == document
    result = document["assessment-results"]["results"][0]
    (own,) = (f for f in result["findings"] if f["target"]["type"] == "objective-id")
    assert own["target"]["target-id"] == "knightwatch-acme-001"
    assert own["target"]["status"] == {
        "state": "not-satisfied",
        "reason": "fail",
        "remarks": "Unwaived findings of ACME-001.",
    }
    assert _props(own, "control-reference") == ["ACME change policy 4.2"]
    assert _props(own["target"], "target-namespace") == ["urn:knightwatch:oscal"]
    assert "fail" in {f["target"]["status"]["reason"] for f in result["findings"]}


def test_a_control_whose_findings_are_all_waived_says_so_and_why(tmp_path: Path) -> None:
    """Satisfied by a waiver is not "found nothing": the control's remarks say its findings
    are waived, by which waiver, and why."""
    argv = _clean_release(tmp_path)
    evidence = Path(argv[argv.index("--evidence") + 1])
    deploys = evidence / "deploys.yaml"
    shop = "    - {host: shop-2, status: succeeded}\n"
    deploys.write_text(deploys.read_text().replace(shop, shop + shop.replace("shop-2", "shop-9")))
    write_yaml(
        evidence / "waivers.yaml",
        [{"rule": "FLEET-004", "subject": "REL-1:shop-9", "reason": "temporary canary CHG-7",
          "approved_by": "cro@example.com", "expires": "2024-04-30"}],
    )  # fmt: skip
    judged = report(*argv)
    assert [(f["rule"], f["waived"]) for f in judged["findings"]] == [("FLEET-004", True)]
    result = oscal(*argv)["assessment-results"]["results"][0]
    (cm8,) = (f for f in result["findings"] if f["title"].startswith("cm-8:"))
    status = cm8["target"]["status"]
    assert (status["state"], status["reason"]) == ("satisfied", "pass")
    assert "found nothing" not in status["remarks"]
    assert "every finding is waived (1 of FLEET-004)" in status["remarks"]
    assert (
        "REL-1:shop-9 waived: temporary canary CHG-7 (approved by cro@example.com"
        in (status["remarks"])
    )
