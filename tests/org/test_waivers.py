"""Waivers in an organisation audit count only when the organisation named their approver.
Federated, a team signs its own audit and its own ``--config`` is the auditor's side there:
it named its own lead in ``waiver_approvers``, the lead waived the team's failing finding, and
the organisation signed a PASS. Now the organisation's bar counts a waived finding as a
finding unless every approver the team's audit accepted is one org.yaml's
``waiver_approvers`` names; judging repositories, org.yaml's list is applied to every system."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import CliResult, run_cli, write_yaml
from tests.org.orgcase import AS_OF, PERIOD, Org, three_teams
from tests.org.test_audit import predicate

CRO = "cro@example.com"
LEAD = "teamlead@example.com"


@pytest.fixture
def org(tmp_path: Path) -> Org:
    """payments ships an unreviewed commit (REVIEW-002, high); its waivers.yaml waives it,
    approved by ``LEAD`` (the team's) and nothing else."""
    org = three_teams(tmp_path, failing="payments")
    waive(org, LEAD)
    return org


def waive(org: Org, approver: str, expires: str = "2024-12-31") -> None:
    repo = org.root / "repos" / "payments"
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    waiver = {
        "rule": "REVIEW-002",
        "subject": sha,
        "reason": "hotfix INC-1, reviewed after the fact",
        "approved_by": approver,
        "expires": expires,
    }
    write_yaml(repo / "compliance" / "waivers.yaml", [waiver])


def team_audits(org: Org, approvers: list[str], as_of: str = AS_OF) -> Path:
    """Each team's own signed audit, payments' with its own --config naming ``approvers``,
    judged as of ``as_of``."""
    directory = org.root / "signed"
    directory.mkdir(exist_ok=True)
    config = write_yaml(org.root / "team-config.yaml", {"waiver_approvers": approvers})
    for team in ("ledger", "payments", "web"):
        private, _ = org.key(team)
        extra = ["--config", config] if team == "payments" else []
        result = run_cli(
            "audit", "--repo", org.root / "repos" / team, "--period", PERIOD, "--as-of", as_of,
            "--key", private, "-o", directory / f"{team}.json", *extra,
        )  # fmt: skip
        assert result.code == 0, result.err  # payments' own verdict: pass, its finding waived
    return directory


def with_approvers(org: Org, approvers: list[str] | None) -> None:
    document = {"systems": org.systems}
    org.write(document if approvers is None else {**document, "waiver_approvers": approvers})


def federated(org: Org, directory: Path) -> CliResult:
    return org.audit("org.json", "--from-attestations", directory)


def payments(org: Org) -> dict[str, object]:
    systems = {s["name"]: s for s in predicate(org.root / "org.json")["systems"]}
    return systems["payments"]


@pytest.mark.parametrize("named", [None, [CRO]])
def test_a_waiver_the_team_approved_itself_counts_against_the_organisations_bar(
    org: Org, named: list[str] | None
) -> None:
    directory = team_audits(org, [LEAD])
    with_approvers(org, named)
    result = federated(org, directory)
    assert result.code == 1, result.err
    record = payments(org)
    assert record["status"] == "judged" and record["verdict"] == "fail"
    assert record["verdict_note"] == (
        "its own verdict is pass at --fail-on high; 1 finding at or above high, 1 of them "
        "waived under waiver_approvers the organisation does not name"
    )
    assert "system payments: fail: its own verdict is pass" in result.err


def test_a_waiver_approved_by_the_organisations_approver_stands(org: Org) -> None:
    waive(org, CRO)
    directory = team_audits(org, ["CRO <cro@example.com>"])
    with_approvers(org, [CRO])
    result = federated(org, directory)
    assert result.code == 0, result.err
    assert payments(org)["verdict"] == "pass"
    assert predicate(org.root / "org.json")["organisation"]["waiver_approvers"] == [CRO]


def test_a_team_list_wider_than_the_organisations_honours_no_waiver(org: Org) -> None:
    """The report does not say which approver waived which finding: with the team's lead
    beside the organisation's approver, every waived finding counts."""
    waive(org, CRO)
    directory = team_audits(org, [CRO, LEAD])
    with_approvers(org, [CRO])
    assert federated(org, directory).code == 1
    assert payments(org)["verdict"] == "fail"


def test_a_waiver_judged_as_of_an_earlier_day_than_the_organisations_does_not_stand(
    org: Org,
) -> None:
    """payments' waiver, approved by the organisation's approver, expired on April 10th; the
    team judged itself as of April 1st, where it still held, and the organisation signed a
    PASS as of April 30th, where judging the repository fails."""
    waive(org, CRO, expires="2024-04-10")
    directory = team_audits(org, [CRO], as_of="2024-04-01")
    with_approvers(org, [CRO])
    result = federated(org, directory)
    assert result.code == 1, result.err
    assert payments(org)["verdict_note"] == (
        "its own verdict is pass at --fail-on high; 1 finding at or above high, 1 of them "
        "waived as of 2024-04-01, before the organisation's as-of date 2024-04-30 (a waiver "
        "may have expired since)"
    )
    assert org.audit("repo.json", "--workers", "0").code == 1  # judged from the repository
    private, _ = org.key("central")
    same_day = run_cli(
        "audit", "--org", org.file, "--period", PERIOD, "--as-of", "2024-04-01", "--key",
        private, "-o", org.root / "org.json", "--from-attestations", directory,
    )  # fmt: skip
    assert same_day.code == 0, same_day.err


def test_the_organisations_approvers_are_addresses(org: Org) -> None:
    with_approvers(org, ["cro"])
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 2 and "'cro' is not an address" in result.err


def test_judging_repositories_org_yamls_approvers_are_every_systems(org: Org) -> None:
    with_approvers(org, None)
    assert org.audit("org.json", "--workers", "0").code == 1  # no list: no waiver applies
    waive(org, CRO)
    with_approvers(org, [CRO])
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 0, result.err
    assert payments(org)["audit"]["report"]["parameters"]["waiver_approvers"] == [CRO]
    config = write_yaml(org.root / "auditor.yaml", {"waiver_approvers": [CRO]})
    both = org.audit("org2.json", "--workers", "0", "--config", config)
    assert both.code == 2 and "waiver_approvers are in both org.yaml and --config" in both.err


def signed_by_cro(org: Org) -> str:
    """The CRO's key pair made, payments' waiver signed with it; the key as org.yaml takes it."""
    assert run_cli("keygen", "--output", org.root / "cro").code == 0
    waivers = org.root / "repos" / "payments" / "compliance" / "waivers.yaml"
    signed = run_cli("waiver", "sign", waivers, "--key", org.root / "cro.key",
                     "--approver", CRO, "-o", waivers)  # fmt: skip
    assert signed.code == 0, signed.err
    return run_cli("waiver", "key", org.root / "cro.pub").out.strip()


def with_keys(org: Org, keys: dict[str, str]) -> None:
    org.write({"systems": org.systems, "waiver_approvers": [CRO], "waiver_keys": keys})


def test_judging_repositories_org_yamls_keys_are_every_systems(org: Org) -> None:
    """The team wrote the CRO under its own waiver: with the CRO's key in org.yaml, the
    unsigned waiver waives nothing; signed by the CRO, it does."""
    waive(org, CRO)
    assert run_cli("keygen", "--output", org.root / "other").code == 0
    with_keys(org, {CRO: run_cli("waiver", "key", org.root / "other.pub").out.strip()})
    assert org.audit("org.json", "--workers", "0").code == 1  # unsigned
    key = signed_by_cro(org)
    with_keys(org, {CRO: key})
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 0, result.err
    assert payments(org)["audit"]["report"]["parameters"]["waiver_keys"] == {CRO: key}
    assert predicate(org.root / "org.json")["organisation"]["waiver_keys"] == {CRO: key}


def test_federated_a_team_audit_that_did_not_require_the_keys_honours_no_waiver(
    org: Org,
) -> None:
    """The team's own --config named the CRO but no key, so its audit applied the waiver on
    the team's word: the organisation holds the CRO's key, and the waiver does not stand."""
    waive(org, CRO)
    key = signed_by_cro(org)
    directory = team_audits(org, [CRO])
    with_keys(org, {CRO: key})
    result = federated(org, directory)
    assert result.code == 1, result.err
    assert "waived without the signatures of cro@example.com the organisation requires" in str(
        payments(org)["verdict_note"]
    )
    config = write_yaml(
        org.root / "team-config.yaml", {"waiver_approvers": [CRO], "waiver_keys": {CRO: key}}
    )
    private, _ = org.key("payments")
    signed = run_cli(
        "audit", "--repo", org.root / "repos" / "payments", "--period", PERIOD, "--as-of", AS_OF,
        "--key", private, "-o", directory / "payments.json", "--config", config,
    )  # fmt: skip
    assert signed.code == 0, signed.err
    assert federated(org, directory).code == 0


def test_federated_a_second_spelling_of_the_approver_with_the_teams_key_honours_no_waiver(
    org: Org,
) -> None:
    """The team signed the CRO's waiver with a key of its own, given in its --config as
    ``cro+x@``'s: its audit joins that spelling to the CRO, and the team's signature made the
    waiver count. Its report also names the CRO's real key, under ``cro@`` (a --config that
    gives both is refused now; the organisation reads what the signed report says). Read by
    the one spelling ``cro@``, the report required the CRO's key, and the organisation
    signed a PASS."""
    waive(org, CRO)
    key = signed_by_cro(org)
    assert run_cli("keygen", "--output", org.root / "forged").code == 0
    waivers = org.root / "repos" / "payments" / "compliance" / "waivers.yaml"
    forged = run_cli("waiver", "sign", waivers, "--key", org.root / "forged.key",
                     "--approver", CRO, "-o", waivers)  # fmt: skip
    assert forged.code == 0, forged.err
    directory = team_audits(org, [CRO])
    team_key = run_cli("waiver", "key", org.root / "forged.pub").out.strip()
    config = {"waiver_approvers": [CRO], "waiver_keys": {"cro+x@example.com": team_key}}
    report = _team_audit(org, directory, write_yaml(org.root / "team-config.yaml", config))
    assert report.code == 0, report.err  # the team's signature counted as the CRO's
    _also_required(org, directory / "payments.json", {CRO: key})
    with_keys(org, {CRO: key})
    result = federated(org, directory)
    assert result.code == 1, result.err
    assert "waived without the signatures of cro@example.com the organisation requires" in str(
        payments(org)["verdict_note"]
    )


def _team_audit(org: Org, directory: Path, config: Path) -> CliResult:
    private, _ = org.key("payments")
    return run_cli(
        "audit", "--repo", org.root / "repos" / "payments", "--period", PERIOD, "--as-of", AS_OF,
        "--key", private, "-o", directory / "payments.json", "--config", config,
    )  # fmt: skip


def _also_required(org: Org, path: Path, keys: dict[str, str]) -> None:
    """The team's signed audit, its ``parameters.waiver_keys`` also naming ``keys``, signed
    again with the team's key."""
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    parameters = statement["predicate"]["report"]["parameters"]
    parameters["waiver_keys"] = dict(sorted({**parameters["waiver_keys"], **keys}.items()))
    private, _ = org.key(path.stem)
    path.write_text(sign_statement(statement, load_private(str(private)))[0])


def test_org_yamls_keys_name_each_approver_once(org: Org) -> None:
    assert run_cli("keygen", "--output", org.root / "cro").code == 0
    key = run_cli("waiver", "key", org.root / "cro.pub").out.strip()
    with_keys(org, {CRO: key, "cro+x@example.com": key})
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 2, result.err
    assert "'cro+x@example.com' and 'cro@example.com' are one address" in result.err
    assert "org.yaml" in result.err and not (org.root / "org.json").exists()


def test_org_yamls_keys_are_its_approvers(org: Org) -> None:
    """A key under a misspelt address was asked of no waiver, and the CRO's waivers counted
    unsigned in every system."""
    waive(org, CRO)
    assert run_cli("keygen", "--output", org.root / "cro").code == 0
    with_keys(org, {"cro@exmaple.com": run_cli("waiver", "key", org.root / "cro.pub").out.strip()})
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 2, result.err
    assert "waiver_keys: cro@exmaple.com is not among waiver_approvers (cro@example.com)" in (
        result.err
    )
    assert "org.yaml" in result.err and not (org.root / "org.json").exists()


def test_org_yamls_keys_and_the_auditors_approvers_are_checked_together(org: Org) -> None:
    """The keys in org.yaml, the approvers in --config: a key none of theirs is one mistake,
    said once (exit 2), not every system not judged."""
    assert run_cli("keygen", "--output", org.root / "cro").code == 0
    key = run_cli("waiver", "key", org.root / "cro.pub").out.strip()
    org.write({"systems": org.systems, "waiver_keys": {"cro@exmaple.com": key}})
    config = write_yaml(org.root / "auditor.yaml", {"waiver_approvers": [CRO]})
    result = org.audit("org.json", "--workers", "0", "--config", config)
    assert result.code == 2, result.err
    assert result.err.startswith(
        "knightwatch: error: waiver_keys (org.yaml): cro@exmaple.com is not among "
        "waiver_approvers (cro@example.com)"
    )
    assert "not judged" not in result.err and not (org.root / "org.json").exists()
