"""The audited team cannot weaken its own audit: written as that team would try it, with its
own knightwatch.yaml, policies and dates, against the Knight case (9 findings, FAIL)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.demo.knight import KnightCase, build_knight
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

DEAD_SERVER = "http://127.0.0.1:9"  # nothing listens there: any request to it fails at once


@pytest.fixture
def knight(tmp_path: Path) -> KnightCase:
    case = build_knight(tmp_path / "knight")
    assert run_cli("keygen", "--output", case.repo.parent / "signing").code == 0
    return case


def config(knight: KnightCase, text: str) -> None:
    (knight.repo / "knightwatch.yaml").write_text(text)


def audit(knight: KnightCase, *extra: str | Path) -> tuple[CliResult, dict[str, object]]:
    """July 2012's signed audit; the result and the signed statement's predicate."""
    out = knight.repo.parent / "audit.json"
    key = knight.repo.parent / "signing.key"
    result = run_cli(
        "audit", "--repo", knight.repo, "--period", "2012-07", "--as-of", "2012-08-02",
        "--key", key, "-o", out, *extra,
    )  # fmt: skip
    if not out.exists():
        return result, {}
    payload = json.loads(base64.b64decode(json.loads(out.read_text())["payload"]))
    return result, payload["predicate"]


def found(predicate: dict[str, object]) -> set[str]:
    report = predicate["report"]
    assert isinstance(report, dict)
    return {f["rule"] for f in report["findings"]}


def test_the_repository_cannot_send_its_audit_to_a_server_of_its_choosing(
    knight: KnightCase,
) -> None:
    """Once: engine: opa at a server answering every rule with nothing signed a clean pass."""
    config(knight, f"engine: opa\nopa:\n  url: {DEAD_SERVER}\n")
    result, predicate = audit(knight)
    assert result.code == 1, result.err  # judged here, by the embedded engine
    assert {"FLEET-001", "REVIEW-001", "DEAD-004"} <= found(predicate)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    ignored = {n["name"]: n for n in settings["not_applied"]}
    assert ignored["engine"]["value"] == "opa" and ignored["engine"]["applied"] is False
    assert ignored["opa"]["value"]["url"] == DEAD_SERVER
    # The replay an auditor runs by default evaluates here too, not on that server.
    signed = knight.repo.parent / "audit.json"
    replay = run_cli(
        "verify", signed, "--key", knight.repo.parent / "signing.pub", "--replay",
        "--repo", knight.repo,
    )  # fmt: skip
    assert replay.code == 0, replay.err
    assert "replayed" in replay.out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("fail_on: critical\n", "fail_on"),
        ("observation_grace_seconds: 999999999\n", "observation_grace_seconds"),
        ("reference_exclude: ['smars/**']\n", "reference_exclude"),
        ("flags_file: nothing.yaml\n", "flags_file"),
        ("protected_branch: HEAD\n", "protected_branch"),
        ("unlisted_services: [smars]\n", "unlisted_services"),
        ("service_paths:\n  smars: ['docs/**']\n", "service_paths"),
    ],
)
def test_a_setting_that_weakens_the_audit_is_not_applied_and_is_recorded(
    knight: KnightCase, text: str, name: str
) -> None:
    _, honest = audit(knight)
    config(knight, text)
    readable = knight.repo.parent / "audit.md"
    result, predicate = audit(knight, "--markdown", readable)
    assert result.code == 1, result.err
    assert found(predicate) == found(honest)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    assert [n["name"] for n in settings["not_applied"]] == [name]
    shown = readable.read_text()
    assert "**Not applied:**" in shown and name.replace("_", "\\_") in shown


def _text(knight: KnightCase) -> str:
    return run_cli("check", "--repo", knight.repo, "--as-of", "2012-08-02").out


def test_the_check_applies_the_repository_settings_but_says_they_weaken_it(
    knight: KnightCase,
) -> None:
    config(knight, "fail_on: critical\nobservation_grace_seconds: 999999999\n")
    text = _text(knight)
    assert "Settings that weaken or change the rules:" in text
    assert "fail_on: critical from knightwatch.yaml (WEAKER; default high)" in text
    assert "observation_grace_seconds: 999999999 from knightwatch.yaml (WEAKER; default 0)" in text
    report = run_cli("check", "--repo", knight.repo, "--format", "json").json()
    assert {n["name"]: n["effect"] for n in report["settings"]} == {
        "fail_on": "weaker",
        "observation_grace_seconds": "weaker",
    }
    markdown = run_cli("check", "--repo", knight.repo, "--format", "markdown").out
    assert "fail\\_on: critical from knightwatch.yaml" in markdown


def test_an_evidence_directory_the_repository_names_is_in_the_signed_audit(
    knight: KnightCase,
) -> None:
    """The team writes knightwatch.yaml: ``evidence:`` naming a second, edited copy of the
    evidence gave a signed audit that recorded its files' names but never their directory, and
    the replay an auditor runs in the repository read the copy again and agreed."""
    copy = knight.repo / "compliance-final"
    copy.mkdir()
    for path in (knight.repo / "compliance").iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    config(knight, "evidence: compliance-final\n")
    result, predicate = audit(knight)
    assert result.code == 1, result.err
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    (note,) = settings["weakened"]
    assert note == {"name": "evidence", "value": "compliance-final", "default": "compliance",
                    "source": "knightwatch.yaml", "effect": "changed", "applied": True}  # fmt: skip
    shown = run_cli("verify", knight.repo.parent / "audit.json", "--key",
                    knight.repo.parent / "signing.pub")  # fmt: skip
    assert shown.code == 0, shown.err
    assert "evidence: compliance-final from knightwatch.yaml (changes what is judged" in shown.out
    # Named by whoever runs the check (the command line, an auditor's --config): no note.
    (knight.repo / "knightwatch.yaml").unlink()
    chosen = run_cli("check", "--repo", knight.repo, "--evidence", copy, "--format", "json")
    assert "settings" not in chosen.json(), chosen.json()["settings"]


def test_evidence_read_through_a_link_in_the_repository_is_in_the_signed_audit(
    knight: KnightCase,
) -> None:
    """The same edited copy, with no knightwatch.yaml: compliance/ a symbolic link to
    compliance-final/, or one file of it a link into the copy. The audit read the copy, its
    signed report named the files alone, and nothing showed it (settings.weakened empty)."""
    evidence = knight.repo / "compliance"
    copy = knight.repo / "compliance-final"
    shutil.copytree(evidence, copy)
    shutil.rmtree(evidence)
    evidence.symlink_to("compliance-final")
    _, predicate = audit(knight)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    assert settings["weakened"] == [
        {"name": "evidence", "value": "compliance-final", "default": "compliance",
         "source": "the link compliance", "effect": "changed", "applied": True}
    ]  # fmt: skip
    shown = run_cli("verify", knight.repo.parent / "audit.json", "--key",
                    knight.repo.parent / "signing.pub")  # fmt: skip
    assert "evidence: compliance-final from the link compliance (changes what is judged" in (
        shown.out
    )
    evidence.unlink()
    shutil.copytree(copy, evidence)
    (evidence / "deploys.yaml").unlink()
    (evidence / "deploys.yaml").symlink_to("../compliance-final/deploys.yaml")
    checked = run_cli("check", "--repo", knight.repo, "--format", "json")
    assert checked.json()["settings"] == [
        {"name": "evidence", "value": "compliance-final/deploys.yaml",
         "default": "compliance/deploys.yaml", "source": "the link compliance/deploys.yaml",
         "effect": "changed", "applied": True}
    ]  # fmt: skip
    # The directory named by whoever runs the check, outside the repository: no note.
    outside = knight.repo.parent / "export"
    shutil.copytree(copy, outside)
    chosen = run_cli("check", "--repo", knight.repo, "--evidence", outside, "--format", "json")
    assert "settings" not in chosen.json(), chosen.json()["settings"]


def test_a_stricter_repository_setting_applies_to_the_audit(knight: KnightCase) -> None:
    config(knight, "fail_on: medium\nrequire_all: true\nreview_bots: [bot@knight.example]\n")
    result, predicate = audit(knight)
    assert result.code == 1
    report = predicate["report"]
    assert isinstance(report, dict)
    assert report["fail_on"] == "medium" and report["summary"]["require_all"] is True
    assert report["parameters"]["review_bots"] == ["bot@knight.example"]


def test_the_auditor_decides_with_its_own_config_and_the_signature_names_it(
    knight: KnightCase, tmp_path: Path
) -> None:
    auditor = tmp_path / "auditor.yaml"
    auditor.write_text("fail_on: critical\n")
    config(knight, "fail_on: low\n")  # stricter than the auditor: applies
    _, predicate = audit(knight, "--config", auditor)
    report = predicate["report"]
    assert isinstance(report, dict)
    assert report["fail_on"] == "low"
    config(knight, "")
    _, predicate = audit(knight, "--config", auditor)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    weakened = settings["weakened"]
    assert [(n["name"], n["source"]) for n in weakened] == [("fail_on", "--config auditor.yaml")]
    assert settings["config_file"]["path"] == "auditor.yaml"


def test_a_token_variable_is_a_knightwatch_one(knight: KnightCase) -> None:
    config(
        knight, f"engine: opa\nopa:\n  url: {DEAD_SERVER}\n  token_env: KNIGHTWATCH_SIGNING_KEY\n"
    )
    result = run_cli("check", "--repo", knight.repo)
    assert result.code == 2
    assert "may name only a KNIGHTWATCH_OPA_* variable" in result.err


@pytest.mark.parametrize(
    "package",
    [
        "package knightwatch.review",
        "package # helpers\nknightwatch.review",  # a comment between keyword and name
        'package knightwatch["review"]',
    ],
)
def test_the_repository_cannot_extend_the_shipped_packages(
    knight: KnightCase, package: str
) -> None:
    policies = knight.repo / "our-rules"
    policies.mkdir()
    (policies / "approve.rego").write_text(
        f"{package}\n\nimport rego.v1\n\ndefault independently_approved(_) := true\n"
    )
    config(knight, "policies: [our-rules]\n")
    result = run_cli("check", "--repo", knight.repo)
    assert result.code == 2
    assert "package knightwatch.review is reserved for the shipped policies" in result.err


AUDITORS_RULE = """package acme.tickets

import rego.v1

# METADATA
# title: Deployment has a change ticket
# description: Every deployment names an ACME change ticket.
# custom:
#   id: ACME-001
#   severity: high
#   controls: [ACME change policy 4.2]
#   requires: [deploys]
#   message: "Deployment {subject} names no change ticket."
missing_ticket contains d.id if {
	some d in input.deployments
	not d.id in ticketed
	not frozen
}

ticketed contains d.id if {
	some d in input.deployments
	startswith(object.get(d, "change_ticket", ""), "ACME-")
}

frozen if {
	some d in input.deployments
	d.environment == "frozen"
}
"""


@pytest.fixture
def auditors_rules(knight: KnightCase) -> Path:
    """The auditor's own rule, outside the repository: every Knight deployment breaks it."""
    rules = knight.repo.parent / "auditor-rules"
    rules.mkdir()
    (rules / "tickets.rego").write_text(AUDITORS_RULE)
    return rules


@pytest.mark.parametrize(
    "module",
    [
        "package acme.tickets\n\nimport rego.v1\n\n"
        "ticketed contains d.id if some d in input.deployments\n",
        'package acme["tickets"]\n\nimport rego.v1\n\nfrozen if true\n',
        "package acme\n\nimport rego.v1\n\ntickets.frozen if true\n",  # around it
    ],
)
def test_the_repository_cannot_extend_the_auditors_packages(
    knight: KnightCase, auditors_rules: Path, module: str
) -> None:
    """Rego merges a package's modules wherever their files are: the team's own policies,
    applied to an audit as more rules, added a body to the auditor's helper and the signed
    audit no longer held ACME-001, with no setting or finding to show it."""
    result, predicate = audit(knight, "--policies", auditors_rules)
    assert result.code == 1, result.err
    assert "ACME-001" in found(predicate)
    (knight.repo.parent / "audit.json").unlink()
    (knight.repo / "our-rules").mkdir()
    (knight.repo / "our-rules" / "ok.rego").write_text(module)
    config(knight, "policies: [our-rules]\n")
    result, predicate = audit(knight, "--policies", auditors_rules)
    assert result.code == 2, result.err
    assert predicate == {}
    assert "a file of another policy directory" in result.err
    assert "the rules of one would add to the other's and could empty them" in result.err
    assert "our-rules/ok.rego" in result.err and "tickets.rego" in result.err


def test_a_link_to_the_auditors_rule_does_not_take_it_to_the_repositorys_side(
    knight: KnightCase, auditors_rules: Path
) -> None:
    """The repository's own policy directory held a symbolic link to the auditor's rule file
    beside its own module of the same package: found first through the link, the auditor's
    file was the repository's, the two were of one side, and ``frozen if true`` emptied
    ACME-001 in the signed audit, which named the auditor's file as the repository's."""
    ours = knight.repo / "our-rules"
    ours.mkdir()
    (ours / "ok.rego").write_text("package acme.tickets\n\nimport rego.v1\n\nfrozen if true\n")
    (ours / "tickets.rego").symlink_to(Path("..", "..", "auditor-rules", "tickets.rego"))
    assert (ours / "tickets.rego").resolve() == (auditors_rules / "tickets.rego").resolve()
    config(knight, "policies: [our-rules]\n")
    result, predicate = audit(knight, "--policies", auditors_rules)
    assert result.code == 2, result.err
    assert predicate == {}
    assert "our-rules/ok.rego" in result.err and "a file of another policy directory" in result.err


def test_the_auditors_rules_inside_a_repository_directory_stay_the_auditors(
    knight: KnightCase,
) -> None:
    """The repository names its root as a policy directory, which holds the auditor's
    ``ci/rules``: the auditor's files are still of their own directory."""
    rules = knight.repo / "ci" / "rules"
    rules.mkdir(parents=True)
    (rules / "tickets.rego").write_text(AUDITORS_RULE)
    (knight.repo / "ours").mkdir()
    (knight.repo / "ours" / "ok.rego").write_text(
        "package acme.tickets\n\nimport rego.v1\n\nfrozen if true\n"
    )
    config(knight, "policies: ['.']\n")
    result, _ = audit(knight, "--policies", rules)
    assert result.code == 2, result.err
    assert "ours/ok.rego" in result.err and "a file of another policy directory" in result.err


def test_the_repositorys_rules_in_packages_of_their_own_join_the_audit(
    knight: KnightCase, auditors_rules: Path
) -> None:
    (knight.repo / "our-rules").mkdir()
    (knight.repo / "our-rules" / "ok.rego").write_text(
        AUDITORS_RULE.replace("acme.tickets", "team.tickets").replace("ACME-001", "TEAM-001")
    )
    config(knight, "policies: [our-rules]\n")
    result, predicate = audit(knight, "--policies", auditors_rules)
    assert result.code == 1, result.err
    assert {"ACME-001", "TEAM-001"} <= found(predicate)


def test_the_repositorys_rules_may_share_a_package_across_its_own_directories(
    knight: KnightCase, auditors_rules: Path
) -> None:
    """A team's helpers in rules/common and its rule in rules/tickets, one package: whoever
    wrote one wrote the other. Refused as two policy directories (exit 2), the team's own
    check could not run, nor could ``policy test`` of the two."""
    rule = AUDITORS_RULE.replace("acme.tickets", "team.tickets").replace("ACME-001", "TEAM-001")
    body, helpers = rule.split("\nticketed contains", 1)
    common = f"package team.tickets\n\nimport rego.v1\n\nticketed contains{helpers}"
    for name, text in (("common", common), ("tickets", body)):
        (knight.repo / "rules" / name).mkdir(parents=True)
        (knight.repo / "rules" / name / f"{name}.rego").write_text(text)
    config(knight, "policies: [rules/common, rules/tickets]\n")
    result, predicate = audit(knight, "--policies", auditors_rules)
    assert result.code == 1, result.err
    assert {"ACME-001", "TEAM-001"} <= found(predicate)
    tested = run_cli("policy", "test", knight.repo / "rules" / "common",
                     knight.repo / "rules" / "tickets")  # fmt: skip
    assert "another policy directory" not in tested.err, tested.err


def test_the_repository_naming_the_auditors_directory_does_not_take_it_to_its_side(
    knight: KnightCase, auditors_rules: Path
) -> None:
    """Directories of one side may share a package; a directory the auditor names is the
    auditor's, even when knightwatch.yaml names it too beside the team's own."""
    (knight.repo / "our-rules").mkdir()
    (knight.repo / "our-rules" / "ok.rego").write_text(
        "package acme.tickets\n\nimport rego.v1\n\nfrozen if true\n"
    )
    config(knight, f"policies: ['{auditors_rules}', our-rules]\n")
    result, predicate = audit(knight, "--policies", auditors_rules)
    assert result.code == 2, result.err
    assert "a file of another policy directory" in result.err and predicate == {}
    auditor = knight.repo.parent / "auditor.yaml"
    auditor.write_text("policies: [auditor-rules]\n")
    result, predicate = audit(knight, "--config", auditor)
    assert result.code == 2, result.err
    assert "a file of another policy directory" in result.err and predicate == {}


def test_an_as_of_date_before_the_month_ended_is_refused(knight: KnightCase) -> None:
    """Once: --as-of 1900-01-01 made expired waivers valid again, in a signed pass."""
    out = knight.repo.parent / "old.json"
    result = run_cli(
        "audit", "--repo", knight.repo, "--period", "2012-07", "--as-of", "1900-01-01",
        "--key", knight.repo.parent / "signing.key", "-o", out,
    )  # fmt: skip
    assert result.code == 2
    assert "--as-of 1900-01-01 is before 2012-08-01" in result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("old", "typo", "needle"),
    [
        ("2012-07-", "2102-07-", "started_at '2102-07-27T22:00:00Z' is in the future"),
        ("2012-07-27T", "2002-07-27T", "is before its commit 7a082e589e01 was written"),
        ("'2012-07-31T", "'2102-07-31T", "finished_at '2102-07-31T23:00:00Z' is in the future"),
    ],
)
def test_a_deployment_start_outside_its_history_is_refused(
    knight: KnightCase, old: str, typo: str, needle: str
) -> None:
    """Once: a year typo silently moved the Knight deployment out of July 2012; one in its
    finish started its FLEET-002 window after every observation, so none was judged."""
    deploys = knight.evidence / "deploys.yaml"
    deploys.write_text(deploys.read_text().replace(old, typo))
    result = run_cli("check", "--repo", knight.repo)
    assert result.code == 2
    assert "deploys.yaml:" in result.err and needle in result.err


def test_a_rename_dance_does_not_erase_the_registry_history(tmp_path: Path) -> None:
    """Once: seed a registry under another name, delete flags.yaml, rename the seed into its
    place: git log --follow then followed the seed back and never saw the purpose change."""

    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)

    def registry(purpose: str) -> str:
        return (
            "flags:\n- {name: fast_path, purpose: " + purpose + ", owner: team, status: active,"
            " created: 2024-01-01}\n"
        )

    first = repo.commit("one", {"flags.yaml": registry("test only"), "a.py": "fast_path\n"},
                        author=DEV, date="2024-04-01T09:00:00Z", trailers=reviewed)  # fmt: skip
    second = repo.commit("two", {"flags.yaml": registry("production routing")}, author=DEV,
                         date="2024-04-03T09:00:00Z", trailers=reviewed)  # fmt: skip
    approvals = [{"by": "lee@example.com", "at": "2024-04-01T10:00:00Z"}]
    write_yaml(tmp_path / "ev" / "deploys.yaml", [
        deployment("D1", first, "2024-04-01T12:00:00Z", approvals=approvals),
        deployment("D2", second, "2024-04-03T12:00:00Z", approvals=approvals),
    ])  # fmt: skip
    args = ("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json")
    assert "DEAD-002" in {f["rule"] for f in run_cli(*args).json()["findings"]}
    repo.commit("seed", {"seed.yaml": "flags: []\n"}, author=DEV, date="2024-04-05T00:00:00Z")
    repo.git("rm", "-q", "flags.yaml")
    repo.commit("drop", {}, author=DEV, date="2024-04-05T00:01:00Z")
    repo.move("seed.yaml", "flags.yaml", author=DEV, date="2024-04-05T00:02:00Z", message="mv")
    assert "DEAD-002" in {f["rule"] for f in run_cli(*args).json()["findings"]}


def _unreviewed_between(tmp_path: Path) -> tuple[ScriptedRepo, list[str | Path], str, str, str]:
    """A reviewed base, an unreviewed commit U, a reviewed B; B deployed after the base."""

    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    base = repo.commit("base", {"a": "1\n"}, author=DEV, date="2024-04-01T09:00:00Z",
                       trailers=reviewed)  # fmt: skip
    sneaky = repo.commit("sneaky", {"a": "2\n"}, author=DEV, date="2024-04-02T09:00:00Z")
    feature = repo.commit("feature", {"a": "3\n"}, author=DEV, date="2024-04-03T09:00:00Z",
                          trailers=reviewed)  # fmt: skip
    approvals = [{"by": "lee@example.com", "at": "2024-04-01T10:00:00Z"}]
    write_yaml(tmp_path / "ev" / "deploys.yaml", [
        deployment("D1", base, "2024-04-01T12:00:00Z", approvals=approvals),
        deployment("D2", feature, "2024-04-03T12:00:00Z", approvals=approvals),
    ])  # fmt: skip
    args: list[str | Path] = ["check", "--repo", repo.path, "--evidence", tmp_path / "ev"]
    return repo, args, base, sneaky, feature


def test_a_commit_rewritten_in_place_is_refused(tmp_path: Path) -> None:
    """Once: a loose object overwritten with a Reviewed-by line, under its old name, counted."""
    import zlib

    repo, args, _, sneaky, _ = _unreviewed_between(tmp_path)
    assert run_cli(*args).code == 1  # REVIEW-002 for the sneaky commit
    body = (
        repo.git("cat-file", "commit", sneaky).rstrip("\n")
        + "\n\nReviewed-by: Lee <lee@example.com>\n"
    )
    raw = body.encode()
    loose = repo.path / ".git" / "objects" / sneaky[:2] / sneaky[2:]
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"commit %d\0" % len(raw) + raw))
    result = run_cli(*args, "--no-cache")
    assert result.code == 2
    assert f"git object {sneaky} does not hash to its name" in result.err
    # The first run cached the commit's review lines by its id, as its true bytes gave them;
    # a warm run does not read them again, but every commit git walks is hashed in every run.
    warm = run_cli(*args, "--format", "json")
    assert warm.code == 2
    assert f"git object {sneaky} does not hash to its name" in warm.err


@pytest.mark.parametrize(
    "caller", ["", "'core.commitgraph'='true'", "'core.commitGraph=true'"], ids=repr
)
def test_a_rewritten_commit_graph_is_not_believed(
    tmp_path: Path, caller: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once: a commit-graph file giving the feature the base as parent hid the sneaky commit.
    Nor when the caller's environment turns the commit-graph on (``git -c`` sets
    ``GIT_CONFIG_PARAMETERS`` for what it runs, a hook or an alias running knightwatch)."""
    if caller:
        monkeypatch.setenv("GIT_CONFIG_PARAMETERS", caller)
    import hashlib
    import struct

    repo, args, base, sneaky, feature = _unreviewed_between(tmp_path)
    repo.git("commit-graph", "write", "--reachable")
    graph = repo.path / ".git" / "objects" / "info" / "commit-graph"
    data = bytearray(graph.read_bytes())
    chunks = {}
    for index in range(data[6] + 1):
        key, offset = struct.unpack(">4sQ", data[8 + 12 * index : 20 + 12 * index])
        chunks[key] = offset
    count = struct.unpack(">I", data[chunks[b"OIDF"] + 1020 : chunks[b"OIDF"] + 1024])[0]
    oids = [bytes(data[chunks[b"OIDL"] + 20 * i : chunks[b"OIDL"] + 20 * i + 20]).hex()
            for i in range(count)]  # fmt: skip
    struct.pack_into(">I", data, chunks[b"CDAT"] + 36 * oids.index(feature) + 20, oids.index(base))
    data[-20:] = hashlib.sha1(bytes(data[:-20])).digest()  # noqa: S324 (git's own checksum)
    graph.chmod(0o644)
    graph.write_bytes(bytes(data))
    assert (
        repo.git("-c", "core.commitGraph=true", "log", "--format=%P", "-1", feature).strip() == base
    )
    found = {f["subject"] for f in run_cli(*args, "--format", "json").json()["findings"]}
    assert sneaky in found


_EVERY_RULE = ("REVIEW-001", "REVIEW-002", "FLEET-001", "FLEET-002", "FLEET-003", "DEAD-001",
               "DEAD-002", "DEAD-004")  # fmt: skip


_BROAD = {"DEAD-002": "power*", "FLEET-003": "power_peg@*", "DEAD-001": "*:power_peg",
          "DEAD-004": "*:smars/power_peg.py", "FLEET-001": "*:smars-08",
          "FLEET-002": "*:smars-08"}  # fmt: skip
"""Each rule's subject that covers every finding of the Knight case: ``"broad"``."""


def _waive_everything(
    knight: KnightCase, subject: str = "*", rules: tuple[str, ...] = _EVERY_RULE, **extra: str
) -> None:
    waivers = [
        {"rule": rule, "subject": _BROAD.get(rule, "D-*") if subject == "broad" else subject,
         "reason": "ok", "approved_by": "tech1@knight.example", "expires": "2012-12-31", **extra}
        for rule in rules
    ]  # fmt: skip
    write_yaml(knight.evidence / "waivers.yaml", waivers)


@pytest.mark.parametrize(
    ("subject", "extra", "needle"),
    [
        ("*", {}, "names nothing, so it would waive the rule for everything"),
        ("[]0-9a-f[]*", {}, "names nothing, so it would waive the rule for everything"),
        ("[]A-Za-z0-9[]*", {}, "names nothing, so it would waive the rule for everything"),
        # every deployment with a 2 in its id: a part that starts with a wildcard
        ("*2*", {}, "its deployment '*2*' starts with a wildcard"),
        ("D-*", {"approved_by": "me"}, "approved_by 'me' names nobody"),
        ("D-*", {"expires": "9999-12-31"}, "is more than a year after"),
    ],
)
def test_a_waiver_cannot_switch_a_rule_off(
    knight: KnightCase, subject: str, extra: dict[str, str], needle: str
) -> None:
    """Once: one waiver a rule, subject '*', approved by 'me', expiring 9999, signed a pass."""
    _waive_everything(knight, subject, **extra)
    result = run_cli("check", "--repo", knight.repo, "--as-of", "2012-08-02")
    assert result.code == 2
    assert "waivers.yaml:" in result.err and needle in result.err


@pytest.mark.parametrize(
    ("subject", "needle"),
    [
        ("*a*", "it must keep the shape DEPLOYMENT:HOST, with its separators written out"),
        ("*:*a*", "its host '*a*' starts with a wildcard"),
        ("*2*:*", "its deployment '*2*' starts with a wildcard"),
        ("[!:]*a*", "with its separators written out outside any [...] class"),
        ("D*:*", "of its parts (deployment, host) none is exact"),
    ],
)
def test_a_waiver_names_what_it_covers_part_by_part(
    knight: KnightCase, subject: str, needle: str
) -> None:
    """``*a*`` waived FLEET-001 for every host with an a, at every deployment to come."""
    _waive_everything(knight, subject, ("FLEET-001",))
    result = run_cli("check", "--repo", knight.repo, "--as-of", "2012-08-02")
    assert result.code == 2
    assert "waivers.yaml:" in result.err and needle in result.err
    _waive_everything(knight, "*:smars-08", ("FLEET-001",))  # one host, every deployment
    assert run_cli("check", "--repo", knight.repo, "--as-of", "2012-08-02").code == 1


def test_an_audit_applies_only_waivers_the_auditor_accepts(
    knight: KnightCase, tmp_path: Path
) -> None:
    """The team writes waivers.yaml: an audit applies a waiver only from an approver the
    auditor names; the team's own knightwatch.yaml cannot name them."""
    # approved by the deployer himself (REVIEW-002 names commits by their full sha)
    _waive_everything(knight, "broad", tuple(r for r in _EVERY_RULE if r != "REVIEW-002"))
    result, predicate = audit(knight)
    assert result.code == 1
    report = predicate["report"]
    assert isinstance(report, dict)
    assert not any(f["waived"] for f in report["findings"])
    refused = [f for f in report["findings"] if f["rule"] == "WAIVER-001"]
    assert refused and all("an audit applies waivers only from approvers" in f["message"]
                           for f in refused)  # fmt: skip
    config(knight, "waiver_approvers: [tech1@knight.example]\n")
    result, predicate = audit(knight)
    settings = predicate["settings"]
    assert isinstance(settings, dict)
    assert [n["name"] for n in settings["not_applied"]] == ["waiver_approvers"]
    auditor = tmp_path / "auditor.yaml"
    auditor.write_text("waiver_approvers: [cro@knight.example]\n")
    config(knight, "")
    _, predicate = audit(knight, "--config", auditor)
    report = predicate["report"]
    assert isinstance(report, dict)
    assert not any(f["waived"] for f in report["findings"])  # tech1 is not the auditor's choice
    auditor.write_text("waiver_approvers: [tech1@knight.example]\n")
    _, predicate = audit(knight, "--config", auditor)
    report = predicate["report"]
    assert isinstance(report, dict)
    assert any(f["waived"] for f in report["findings"])


def test_the_teams_identities_cannot_make_one_of_them_the_auditors_approver(
    knight: KnightCase, tmp_path: Path
) -> None:
    """The auditor names cro@ as the approver; the team's identities.yaml joins cro@ to
    tech1, who approves the waivers of his own findings: an audit compares the waiver's
    approver with the auditor's list by address alone (it applied them, and signed a pass)."""
    _waive_everything(knight, "broad", tuple(r for r in _EVERY_RULE if r != "REVIEW-002"))
    write_yaml(knight.evidence / "identities.yaml", {"tech1": ["tech1@knight.example",
                                                              "cro@knight.example"]})  # fmt: skip
    auditor = tmp_path / "auditor.yaml"
    auditor.write_text("waiver_approvers: [cro@knight.example]\n")
    result, predicate = audit(knight, "--config", auditor)
    assert result.code == 1, result.err
    report = predicate["report"]
    assert isinstance(report, dict)
    assert not any(f["waived"] for f in report["findings"])
    auditor.write_text("waiver_approvers: [tech1]\n")  # a person of the team's identities.yaml
    result, _ = audit(knight, "--config", auditor)
    assert result.code == 2
    assert "'tech1' is not an address" in result.err


def test_a_folded_non_ascii_address_names_nobody(tmp_path: Path) -> None:
    """'ßam@…' case-folds to 'ssam@…', an ASCII address someone else may hold."""
    from checker.evidence.identities import IdentityResolver

    found = IdentityResolver().identify("ßam@example.com")
    assert found.identity is None and "outside ASCII" in found.unresolved
    assert IdentityResolver().identify("Sam@Example.com").identity == "sam@example.com"


def test_a_policy_title_cannot_paint_the_terminal(knight: KnightCase) -> None:
    policies = knight.repo / "acme"
    policies.mkdir()
    (policies / "t.rego").write_text(
        "package acme.tickets\n\nimport rego.v1\n\n# METADATA\n"
        '# title: "Ticket \\e[2J\\e[1;32mALL RULES PASS\\e[0m"\n'
        "# description: d\n# custom:\n#   id: ACME-001\n#   severity: low\n"
        '#   controls: [c]\n#   message: m\nx contains "s" if false\n'
    )
    shown = run_cli("explain", "ACME-001", "--policies", policies).out
    listed = run_cli("policy", "list", "--policies", policies).out
    assert "\x1b" not in shown + listed and "\\x1b[2J" in shown
