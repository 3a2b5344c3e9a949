"""Federated mode with three teams' real Ed25519 keys: each team signs its own monthly audit;
the organisation verifies each against the key org.yaml names for it and signs over them
without the repositories. A tampered audit, one of another month, a missing one and one signed
by another team's key are each rejected by the system's name."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import CliResult, run_cli
from tests.org.orgcase import AS_OF, PERIOD, Org, three_teams
from tests.org.test_audit import predicate, subjects

TEAMS = ("ledger", "payments", "web")


def team_audit(org: Org, team: str, output: Path, *extra: str | Path, key: str = "") -> CliResult:
    """The team's own pipeline: ``audit`` of its repository, signed with its key."""
    private, _ = org.key(key or team)
    return run_cli(
        "audit", "--repo", org.root / "repos" / team, "--period", PERIOD, "--as-of", AS_OF,
        "--key", private, "-o", output, *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = three_teams(tmp_path_factory.mktemp("fed"), failing="payments")
    (org.root / "signed").mkdir()
    for team in TEAMS:
        result = team_audit(org, team, org.root / "signed" / f"{team}.json")
        assert result.code == (1 if team == "payments" else 0), result.err
    return org


def copy_of(org: Org, tmp_path: Path) -> Path:
    """A copy of the teams' signed audits, to spoil one of."""
    target = tmp_path / "signed"
    shutil.copytree(org.root / "signed", target)
    return target


def federated(org: Org, directory: Path, output: Path, *extra: str | Path) -> CliResult:
    return org.audit(output, "--from-attestations", directory, *extra)


def rejected(result: CliResult, output: Path) -> dict[str, str]:
    """The systems rejected, with their reasons, from the signed attestation."""
    assert result.code == 1, result.err
    p = predicate(output)
    assert p["verdict"] == "fail"
    return {s["name"]: s["reason"] for s in p["systems"] if s["status"] == "rejected"}


def test_the_organisation_signs_over_the_teams_audits(org: Org, tmp_path: Path) -> None:
    result = federated(org, org.root / "signed", tmp_path / "org.json")
    assert result.code == 1, result.err  # payments' own audit failed
    p = predicate(tmp_path / "org.json")
    assert p["mode"] == "attestations"
    assert [(s["name"], s["status"], s["verdict"]) for s in p["systems"]] == [
        ("ledger", "judged", "pass"),
        ("payments", "judged", "fail"),
        ("web", "judged", "pass"),
    ]
    found = subjects(tmp_path / "org.json")
    for system in p["systems"]:
        name = system["name"]
        assert found[f"{name}/attestation"] == {"sha256": system["attestation"]["sha256"]}
        assert found[f"{name}/git:HEAD"] == {"gitCommit": system["head"]}
        assert f"{name}/evidence:deploys.yaml" in found
    _, pub = org.key("central")
    shown = run_cli("verify", tmp_path / "org.json", "--key", pub)
    assert shown.code == 0 and "from attestations" in shown.out


def test_a_tampered_audit_is_rejected_by_name(org: Org, tmp_path: Path) -> None:
    directory = copy_of(org, tmp_path)
    path = directory / "payments.json"
    envelope = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["report"]["verdict"] = "pass"
    statement["predicate"]["report"]["findings"] = []
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(envelope))
    result = federated(org, directory, tmp_path / "org.json")
    reasons = rejected(result, tmp_path / "org.json")
    assert list(reasons) == ["payments"]
    assert "signature does not match the payload" in reasons["payments"]
    assert "system payments: rejected: " in result.err
    assert str(tmp_path) not in reasons["payments"]


def test_an_audit_of_another_month_is_rejected(org: Org, tmp_path: Path) -> None:
    directory = copy_of(org, tmp_path)
    private, _ = org.key("web")
    feb = run_cli(
        "audit", "--repo", org.root / "repos/web", "--period", "2024-02", "--as-of", AS_OF,
        "--key", private, "-o", directory / "web.json",
    )  # fmt: skip
    assert feb.code == 0, feb.err
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {"web": "it attests 2024-02, not 2024-03"}


def test_a_missing_audit_is_rejected(org: Org, tmp_path: Path) -> None:
    directory = copy_of(org, tmp_path)
    (directory / "ledger.json").unlink()
    result = federated(org, directory, tmp_path / "org.json")
    assert rejected(result, tmp_path / "org.json") == {
        "ledger": "no attestation ledger.json for 2024-03"
    }
    assert "system ledger: rejected: no attestation" in result.err


def test_an_audit_signed_with_another_teams_key_is_rejected(org: Org, tmp_path: Path) -> None:
    directory = copy_of(org, tmp_path)
    (directory / "web.json").unlink()
    made = team_audit(org, "web", directory / "web.json", key="ledger")
    assert made.code == 0, made.err
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert list(reasons) == ["web"]
    assert (
        "verification failed (key)" in reasons["web"] and "not by the given key" in reasons["web"]
    )


def test_an_audit_whose_subjects_are_not_its_reports_inputs_is_rejected(
    org: Org, tmp_path: Path
) -> None:
    """Signed by the right key, but naming other evidence than its report judged."""
    directory = copy_of(org, tmp_path)
    path = directory / "ledger.json"
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    for subject in statement["subject"]:
        if subject["name"] == "evidence:deploys.yaml":
            subject["digest"]["sha256"] = "0" * 64
    private, _ = org.key("ledger")
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {
        "ledger": "its subjects are not the repository HEAD and input digests its report states"
    }


def test_an_audit_whose_population_does_not_add_up_is_rejected(org: Org, tmp_path: Path) -> None:
    """The team signs its own population, which the organisation's scope check reads (which
    services deployed) and a sample draws from. One whose count is not its list's was
    accepted, and verify and sample each refuse it."""
    directory = copy_of(org, tmp_path)
    path = directory / "web.json"
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    statement["predicate"]["population"]["count"] = 5
    private, _ = org.key("web")
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {"web": "verification failed (population): count is 5, but the list gives 1"}


def _resigned_by_another_release(org: Org, path: Path, release: str, policy: str) -> None:
    """The team's audit as another release would have signed it: its tool's version
    ``release``, and the shipped ``policy`` another version (``changed``) or absent."""
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    predicate = statement["predicate"]
    predicate["tool"]["version"] = release
    name, _, how = policy.partition(" ")
    files = predicate["report"]["inputs"]["files"]
    kept = [f for f in files if not (f["path"] == name and how == "absent")]
    for item in kept:
        if item["path"] == name:
            item["sha256"] = "0" * 64
    predicate["report"]["inputs"]["files"] = kept
    subjects = [s for s in statement["subject"] if s["name"] != f"policy:{name}"]
    subjects += [
        {"name": f"policy:{f['path']}", "digest": {"sha256": f["sha256"]}}
        for f in kept
        if f["path"] == name
    ]
    statement["subject"] = sorted(subjects, key=lambda s: s["name"])
    private, _ = org.key(path.stem)
    path.write_text(sign_statement(statement, load_private(str(private)))[0])


@pytest.mark.parametrize(
    ("release", "policy", "reason"),
    [
        ("0.0.9", "-", "it was judged by knightwatch 0.0.9, not 0.1.0, the organisation's release"),
        (
            "0.1.0",
            "policies/review/review.rego changed",
            "it was judged with another version of the shipped policy policies/review/review.rego",
        ),
        (
            "0.1.0",
            "policies/fleet/fleet.rego absent",
            "it was judged without the shipped policy policies/fleet/fleet.rego",
        ),
    ],
)
def test_an_audit_by_another_release_is_rejected(
    org: Org, tmp_path: Path, release: str, policy: str, reason: str
) -> None:
    """A team could sign its month with an earlier release, with fewer rules or a defect fixed
    since: its signature holds, but the organisation's rules were not the ones that judged."""
    directory = copy_of(org, tmp_path)
    _resigned_by_another_release(org, directory / "ledger.json", release, policy)
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {"ledger": reason}


def test_a_partial_month_or_one_judged_too_early_is_rejected(org: Org, tmp_path: Path) -> None:
    directory = copy_of(org, tmp_path)
    path = directory / "web.json"
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    statement["predicate"]["as_of"] = "2024-03-15"
    private, _ = org.key("web")
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {"web": "it was judged as of 2024-03-15, before 2024-03 was over"}
    # A day that has not come: a waiver may run a year past it (the team's own audit of it
    # is refused; signed all the same, it is rejected here).
    statement["predicate"]["as_of"] = "2999-01-01"
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {"web": "it was judged as of 2999-01-01, a day that has not come"}
    statement["predicate"]["as_of"] = AS_OF
    statement["predicate"]["partial"] = True
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons == {"web": "it attests 2024-03 only in part (--partial)"}


def test_the_chain_each_team_keeps_is_checked_against_last_months(org: Org, tmp_path: Path) -> None:
    feb, mar = tmp_path / "feb", tmp_path / "mar"
    feb.mkdir()
    mar.mkdir()
    for team in TEAMS:
        made = team_audit(org, team, feb / f"{team}.json", "--period", "2024-02")
        assert made.code == 0, made.err
        linked = team_audit(org, team, mar / f"{team}.json", "--previous", feb / f"{team}.json")
        assert linked.code in (0, 1), linked.err
    quiet = org.quiet("2024-02")
    assert federated(quiet, feb, tmp_path / "org-feb.json", "--period", "2024-02").code == 0
    chained = federated(
        org, mar, tmp_path / "org-mar.json", "--previous", tmp_path / "org-feb.json"
    )
    assert chained.code == 1, chained.err  # payments fails on its findings, not its chain
    systems = predicate(tmp_path / "org-mar.json")["systems"]
    assert all(s["status"] == "judged" for s in systems)
    assert all(s["chain"].startswith("linked to 2024-02") for s in systems)
    # A team that starts its chain afresh (no --previous) breaks it.
    (mar / "web.json").unlink()
    assert team_audit(org, "web", mar / "web.json").code == 0
    broken = federated(
        org, mar, tmp_path / "org-mar2.json", "--previous", tmp_path / "org-feb.json"
    )
    reasons = rejected(broken, tmp_path / "org-mar2.json")
    assert list(reasons) == ["web"]
    assert reasons["web"].startswith("it does not link to the audit of 2024-02 the organisation")
    # Renamed in org.yaml, the same repository and evidence is the same system: its fresh
    # chain was "not accepted last month: link not checked", and passed.
    renamed = Org(org.root, [{**s, "name": "web2"} if s["name"] == "web" else s
                             for s in org.systems], "org-renamed.yaml")  # fmt: skip
    renamed.write()
    (mar / "web.json").rename(mar / "web2.json")
    again = federated(
        renamed, mar, tmp_path / "org-mar3.json", "--previous", tmp_path / "org-feb.json"
    )
    reasons = rejected(again, tmp_path / "org-mar3.json")
    assert list(reasons) == ["web2"]
    assert reasons["web2"].startswith("it does not link to the audit of 2024-02")
    (mar / "web2.json").rename(mar / "web.json")


def test_a_team_that_rotates_its_key_keeps_its_chain(org: Org, tmp_path: Path) -> None:
    """A team's February signed with its old key, March with a new one chained to it by
    ``--previous-key``, and org.yaml naming the new key from March: the organisation's chain
    check finds March linked to the February it accepted."""
    feb, mar = tmp_path / "feb", tmp_path / "mar"
    shutil.copytree(org.root / "signed", mar)
    feb.mkdir()
    for team in TEAMS:
        assert team_audit(org, team, feb / f"{team}.json", "--period", "2024-02").code == 0
    quiet = org.quiet("2024-02")
    assert federated(quiet, feb, tmp_path / "org-feb.json", "--period", "2024-02").code == 0
    _, old = org.key("web")
    (mar / "web.json").unlink()
    linked = team_audit(
        org, "web", mar / "web.json", "--previous", feb / "web.json", "--previous-key", old,
        key="web-new",
    )  # fmt: skip
    assert linked.code == 0, linked.err
    rotated = Org(org.root, [{**s, "key": "keys/web-new.pub"} if s["name"] == "web" else s
                             for s in org.systems], "org-rotated.yaml")  # fmt: skip
    rotated.write()
    result = federated(
        rotated, mar, tmp_path / "org-mar.json", "--previous", tmp_path / "org-feb.json"
    )
    assert result.code == 1, result.err  # payments fails on its findings
    (web,) = [s for s in predicate(tmp_path / "org-mar.json")["systems"] if s["name"] == "web"]
    assert web["status"] == "judged" and web["chain"].startswith("linked to 2024-02"), web


def test_a_team_that_judged_with_a_weaker_threshold_is_held_to_the_organisations(
    org: Org, tmp_path: Path
) -> None:
    directory = copy_of(org, tmp_path)
    (directory / "payments.json").unlink()
    lenient = team_audit(org, "payments", directory / "payments.json", "--fail-on", "critical")
    assert lenient.code == 0, lenient.err  # its own verdict: pass
    result = federated(org, directory, tmp_path / "org.json")
    assert result.code == 1
    (payments,) = [
        s for s in predicate(tmp_path / "org.json")["systems"] if s["name"] == "payments"
    ]
    assert payments["status"] == "judged" and payments["verdict"] == "fail"
    assert payments["audit"]["report"]["verdict"] == "pass"
    said = "its own verdict is pass at --fail-on critical; 1 finding at or above high"
    assert payments["verdict_note"] == said
    assert f"system payments: fail: {said}" in result.err
    _, pub = org.key("central")
    shown = run_cli("verify", tmp_path / "org.json", "--key", pub)
    assert "judged with weakened settings: fail_on" in shown.out
    # At the organisation's own --fail-on critical, the team's pass stands.
    relaxed = federated(org, directory, tmp_path / "org2.json", "--fail-on", "critical")
    assert relaxed.code == 0, relaxed.err


def _with(org: Org, change: dict[str, Any]) -> None:
    systems = [dict(s) for s in org.systems]
    systems[0].update(change)
    systems[0] = {k: v for k, v in systems[0].items() if v is not None}
    org.write({"systems": systems})


def test_mistakes_of_the_setup_are_usage_errors(org: Org, tmp_path: Path) -> None:
    directory = copy_of(org, tmp_path)
    (directory / "payroll.json").write_text("{}")
    stray = federated(org, directory, tmp_path / "org.json")
    assert stray.code == 2 and "payroll.json: not the attestation of any system" in stray.err
    (directory / "payroll.json").unlink()
    try:
        _with(org, {"key": None})
        keyless = federated(org, directory, tmp_path / "org.json")
        assert keyless.code == 2 and "org.yaml:2: system ledger names no key" in keyless.err
    finally:
        org.write()
    for extra in (["--workers", "2"], ["--config", "x.yaml"], ["--policies", "rules"]):
        refused = federated(org, directory, tmp_path / "org.json", *extra)
        assert refused.code == 2 and "does not go with --from-attestations" in refused.err
    missing = federated(org, tmp_path / "nowhere", tmp_path / "org.json")
    assert missing.code == 2 and "not a directory" in missing.err
    assert not (tmp_path / "org.json").exists()


def test_a_team_left_out_of_org_yaml_stops_the_chained_audit_unless_retired(
    org: Org, tmp_path: Path
) -> None:
    """Federated as from repositories: February's payments, left out of March's org.yaml
    (and its audit out of DIR), passed March unnoticed; now it must be retired, and is
    recorded so."""
    feb = tmp_path / "feb"
    feb.mkdir()
    for team in TEAMS:
        assert team_audit(org, team, feb / f"{team}.json", "--period", "2024-02").code == 0
    quiet = org.quiet("2024-02")
    assert federated(quiet, feb, tmp_path / "org-feb.json", "--period", "2024-02").code == 0
    directory = copy_of(org, tmp_path)
    (directory / "payments.json").unlink()
    kept = [s for s in org.systems if s["name"] != "payments"]
    smaller = Org(org.root, kept, "org-smaller.yaml")
    smaller.write()
    previous = ("--previous", tmp_path / "org-feb.json")
    dropped = federated(smaller, directory, tmp_path / "org.json", *previous)
    assert dropped.code == 2 and "system payments of the 2024-02 attestation" in dropped.err
    retired = {"name": "payments", "date": "2024-02-29", "reason": "merged into ledger"}
    smaller.write({"systems": kept, "retired": [retired]})
    deploying = federated(smaller, directory, tmp_path / "org.json", *previous)
    assert deploying.code == 2, deploying.err  # its evidence holds PAY-1, of 2024-03-02
    assert "yet its evidence records deployment PAY-1 started 2024-03-02" in deploying.err
    repository = org.root / "repos" / "payments"
    repository.rename(tmp_path / "payments-archived")  # decommissioned: its repository gone
    try:
        result = federated(smaller, directory, tmp_path / "org.json", *previous)
    finally:
        (tmp_path / "payments-archived").rename(repository)
    assert result.code == 1, result.err  # ledger and web are not chained to February's
    (record,) = predicate(tmp_path / "org.json")["retired"]
    assert record["last_attested"]["verdict"] == "pass"
    assert record["last_attested"]["evidence_checked"].startswith("no: repos/payments")


def test_a_federated_audit_is_not_chained_to_one_that_judged_the_repositories(
    org: Org, tmp_path: Path
) -> None:
    """February judged from the repositories accepted no team audit; March federated, chained
    to it, checked no team's chain ("not accepted last month"), so a deployment of February
    recorded after it was judged by no audit, and March said it was linked to February."""
    feb = org.quiet("2024-02").audit(
        tmp_path / "org-feb.json", "--period", "2024-02", "--workers", "0"
    )
    assert feb.code == 0, feb.err
    chained = federated(
        org, org.root / "signed", tmp_path / "org-mar.json", "--previous", tmp_path / "org-feb.json"
    )
    assert chained.code == 2, chained.err
    assert "--previous: the 2024-02 attestation judged the systems' repositories" in chained.err
    assert "start the federated chain afresh" in chained.err
    assert not (tmp_path / "org-mar.json").exists()
    fresh = federated(org, org.root / "signed", tmp_path / "org-mar.json")
    assert fresh.code == 1, fresh.err  # payments fails on its findings


def test_an_audit_whose_verdict_is_not_its_findings_is_rejected(org: Org, tmp_path: Path) -> None:
    """The team signs its own report. One that said it judged every rule whole beside the
    rules it listed as not evaluated was taken at its word: under the organisation's
    --require-all its pass stood, while verify of the team's audit refuses it."""
    directory = copy_of(org, tmp_path)
    path = directory / "web.json"
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    assert statement["predicate"]["report"]["summary"]["incomplete"]  # rules not evaluated
    statement["predicate"]["report"]["summary"]["complete"] = True
    statement["predicate"]["complete"] = True
    private, public = org.key("web")
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    assert run_cli("verify", path, "--key", public).code == 1
    result = federated(org, directory, tmp_path / "org.json", "--require-all")
    reasons = rejected(result, tmp_path / "org.json")
    assert reasons["web"].startswith(
        "verification failed (verdict): web.json: its summary says complete True, and its "
        "rules not judged whole are"
    ), reasons


def test_an_audit_judged_against_another_branch_with_its_note_taken_out_is_rejected(
    org: Org, tmp_path: Path
) -> None:
    """A team's audit judged against a protected branch of its own choosing records the
    changed setting, and the organisation rejects it. With that note taken out and the
    statement signed again with the team's key, the system was judged (its branch shown
    only on its line); the statement's settings must record the branch its parameters
    name."""
    directory = copy_of(org, tmp_path)
    path = directory / "web.json"
    config = tmp_path / "c.yaml"
    config.write_text("protected_branch: refs/heads/main\n")
    assert team_audit(org, "web", path, "--config", config).code == 0
    assert "protected_branch" in rejected(federated(org, directory, tmp_path / "o1.json"),
                                          tmp_path / "o1.json")["web"]  # fmt: skip
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    statement["predicate"]["settings"]["weakened"] = []
    private, _ = org.key("web")
    path.write_text(sign_statement(statement, load_private(str(private)))[0])
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert reasons["web"].startswith(
        "verification failed (verdict): web.json: its report was judged against protected "
        "branch 'refs/heads/main', not main"
    ), reasons
