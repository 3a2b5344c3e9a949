"""A chained organisation audit answers for every system of last month's attestation: a system
left out of org.yaml stops it (exit 2, named) unless org.yaml retires it, with a date and a
reason the attestation records; ``verify --previous`` refuses an attestation that dropped one.
Before, March's failing payments was left out of April's org.yaml, and April signed a PASS
that ``verify --previous`` confirmed as March's sequel."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import DEV, CliResult, run_cli, write_yaml
from tests.org.orgcase import Org, three_teams
from tests.org.test_audit import predicate

RETIRED = {"name": "payments", "date": "2024-03-31", "reason": "decommissioned in CHG-77"}


@pytest.fixture(scope="module")
def march(tmp_path_factory: pytest.TempPathFactory) -> Org:
    """March attested with payments failing."""
    org = three_teams(tmp_path_factory.mktemp("retired"), failing="payments")
    result = org.audit("mar.json", "--workers", "0")
    assert result.code == 1, result.err
    return org


def april(org: Org, tmp_path: Path, systems: list[dict[str, Any]], **more: Any) -> CliResult:
    """April (nothing deployed: every service quiet), chained to March, with ``systems``."""
    quiet = Org(org.root, systems, "org-april.yaml").quiet("2024-04")
    document = {"systems": quiet.systems, **more}
    quiet.write(document)
    private, _ = org.key("central")
    return run_cli(
        "audit", "--org", quiet.file, "--period", "2024-04", "--as-of", "2024-05-01", "--key",
        private, "-o", tmp_path / "apr.json", "--workers", "0",
        "--previous", org.root / "mar.json",
    )  # fmt: skip


def without_payments(org: Org) -> list[dict[str, Any]]:
    return [s for s in org.systems if s["name"] != "payments"]


def verify_chain(org: Org, tmp_path: Path) -> CliResult:
    _, pub = org.key("central")
    return run_cli(
        "verify", tmp_path / "apr.json", "--key", pub, "--previous", org.root / "mar.json"
    )


def test_a_system_left_out_of_org_yaml_stops_the_chained_audit(march: Org, tmp_path: Path) -> None:
    result = april(march, tmp_path, without_payments(march))
    assert result.code == 2, result.err
    assert "system payments of the 2024-03 attestation is not in org-quiet.yaml" in result.err
    assert "add it under 'retired'" in result.err
    assert not (tmp_path / "apr.json").exists()


def test_a_retired_system_is_recorded_in_the_signed_attestation(march: Org, tmp_path: Path) -> None:
    result = april(march, tmp_path, without_payments(march), retired=[RETIRED])
    assert result.code == 0, result.err
    p = predicate(tmp_path / "apr.json")
    assert [s["name"] for s in p["systems"]] == ["ledger", "web"]
    assert p["retired"] == [
        {
            **RETIRED,
            "last_attested": {
                "period": "2024-03",
                "repository": "repos/payments",
                "evidence": None,
                "status": "judged",
                "verdict": "fail",
                "unjudged": "records of 2024-03 recorded after its attestation are judged by "
                "no audit",
                "evidence_checked": "yes: no deployment started on or after 2024-03-31",
                "evidence_read": {"directory": "compliance"},
            },
        }
    ]
    shown = verify_chain(march, tmp_path)
    assert shown.code == 0, shown.err
    assert (
        "system payments: retired 2024-03-31: decommissioned in CHG-77; last attested 2024-03 "
        "(fail); records of 2024-03 recorded after its attestation are judged by no audit"
    ) in shown.out


def test_verify_previous_refuses_an_attestation_that_dropped_a_system(
    march: Org, tmp_path: Path
) -> None:
    """An attestation that left payments out without retiring it (as one signed before this
    check was): ``verify --previous`` said the chain linked."""
    assert april(march, tmp_path, without_payments(march), retired=[RETIRED]).code == 0
    envelope = json.loads((tmp_path / "apr.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    del statement["predicate"]["retired"]
    private, _ = march.key("central")
    (tmp_path / "apr.json").write_text(sign_statement(statement, load_private(str(private)))[0])
    shown = verify_chain(march, tmp_path)
    assert shown.code == 1, shown.out
    assert "system payments of 2024-03 is neither in the attestation of 2024-04" in shown.err


@pytest.mark.parametrize(
    ("date", "said"),
    [
        ("2024-04-01", "retired on 2024-04-01, not before 2024-04 began"),
        ("2024-04-20", "a system retired during 2024-04 still deployed in it"),
    ],
)
def test_a_retirement_during_the_month_is_refused(
    march: Org, tmp_path: Path, date: str, said: str
) -> None:
    retired = [{**RETIRED, "date": date}]
    result = april(march, tmp_path, without_payments(march), retired=retired)
    assert result.code == 2 and said in result.err
    assert not (tmp_path / "apr.json").exists()


@pytest.mark.parametrize(
    ("retired", "said"),
    [
        ([{**RETIRED, "reason": "  "}], "reason"),
        ([{"name": "payments", "date": "2024-03-31"}], "reason"),
        ([RETIRED, RETIRED], "system payments is retired twice"),
    ],
)
def test_a_retirement_needs_its_date_and_reason_once(
    march: Org, tmp_path: Path, retired: list[dict[str, str]], said: str
) -> None:
    result = april(march, tmp_path, without_payments(march), retired=retired)
    assert result.code == 2 and said in result.err, result.err


def test_a_system_both_listed_and_retired_is_refused(march: Org, tmp_path: Path) -> None:
    result = april(march, tmp_path, march.systems, retired=[RETIRED])
    assert result.code == 2 and "system payments is both in 'systems' and in 'retired'" in (
        result.err
    )


@pytest.mark.parametrize("spelling", ["./repos/payments/", "repos/pay-link"])
def test_a_renamed_system_is_found_however_its_path_is_spelled(
    march: Org, tmp_path: Path, spelling: str
) -> None:
    """Renamed, and its repository written another way (or through a link to it): still
    March's payments, so it is judged against March's audit of it, and it cannot be retired
    while it is listed under its new name."""
    link = march.root / "repos" / "pay-link"
    if not link.exists():
        link.symlink_to(march.root / "repos" / "payments")
    systems = [
        {**s, "name": "pay2", "repository": spelling} if s["name"] == "payments" else s
        for s in march.systems
    ]
    result = april(march, tmp_path, systems)
    assert result.code == 0, result.err
    p = predicate(tmp_path / "apr.json")
    assert {s["name"]: s.get("renamed_from") for s in p["systems"]}["pay2"] == "payments"
    assert "retired" not in p
    assert verify_chain(march, tmp_path).code == 0
    both = april(march, tmp_path, systems, retired=[RETIRED])
    assert both.code == 2, both.err
    assert "system payments is retired, yet system pay2 has its repository and evidence" in (
        both.err
    )


def test_listed_but_pointed_at_empty_evidence_is_not_a_pass(march: Org, tmp_path: Path) -> None:
    """payments listed, its services quiet, its repository now another one, with no
    deployments: March's audit of payments was made of a HEAD this repository does not hold
    (and judged a deployment its evidence no longer holds)."""
    empty = ScriptedRepo(march.root / "repos" / "payments-empty")
    empty.commit("scaffold", {"README": "x\n"}, author=DEV, date="2024-02-01T09:00:00Z")
    write_yaml(march.root / "repos" / "payments-empty" / "compliance" / "deploys.yaml", [])
    write_yaml(
        march.root / "repos" / "payments-empty" / "compliance" / "fleet.yaml",
        {"services": {"pay": {"hosts": ["pay-1"]}}},
    )
    systems = [
        {**s, "repository": "repos/payments-empty"} if s["name"] == "payments" else s
        for s in march.systems
    ]
    result = april(march, tmp_path, systems)
    assert result.code == 1, result.err
    payments = {s["name"]: s for s in predicate(tmp_path / "apr.json")["systems"]}["payments"]
    assert payments["status"] == "not judged"
    assert (
        "the 2024-03 audit this one is chained to was made of repository HEAD"
        in (payments["reason"])
    )
    assert "which this repository does not hold" in payments["reason"]


def march_again(tmp_path: Path) -> Org:
    """March attested with payments failing, in an organisation of the test's own."""
    org = three_teams(tmp_path / "org", failing="payments")
    assert org.audit("mar.json", "--workers", "0").code == 1
    return org


def test_a_retired_system_that_still_deploys_is_refused(tmp_path: Path) -> None:
    """payments retired on March 31st, yet its own evidence (where March's attestation found
    it) records a production deployment on April 10th: the retirement was signed as a PASS,
    only its stated date compared with the month."""
    org = march_again(tmp_path)
    deploys = org.root / "repos" / "payments" / "compliance" / "deploys.yaml"
    records = yaml.safe_load(deploys.read_text())
    records.append({**records[0], "id": "PAY-2", "started_at": "2024-04-10T10:00:00Z"})
    write_yaml(deploys, records)
    result = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert result.code == 2, result.err
    assert (
        "system payments is retired on 2024-03-31, yet its evidence records deployment PAY-2 "
        "started 2024-04-10T10:00:00Z"
    ) in result.err
    assert not (tmp_path / "apr.json").exists()


def test_a_retired_system_whose_evidence_is_gone_is_recorded_unchecked(tmp_path: Path) -> None:
    org = march_again(tmp_path)
    shutil.rmtree(org.root / "repos" / "payments")
    result = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert result.code == 0, result.err
    last = predicate(tmp_path / "apr.json")["retired"][0]["last_attested"]
    assert last["evidence_checked"] == "no: repos/payments can no longer be read (gone)"


@pytest.mark.parametrize("by_url", [False, True])
def test_a_retired_system_whose_repository_is_listed_under_another_name_is_refused(
    march: Org, tmp_path: Path, by_url: bool
) -> None:
    """payments retired, its repository listed as pay2 with a fresh evidence directory (not
    matched as a rename, which needs the evidence too): pay2 began with no history. Written
    as a git URL (``file:///.../repos/payments``), the same repository was not recognised,
    and April signed a PASS: its history is compared, not its spelling."""
    fresh = march.root / "ev-pay2"
    write_yaml(fresh / "fleet.yaml", {"services": {"pay": {"hosts": ["pay-1"]}}})
    write_yaml(fresh / "deploys.yaml", [])
    repository = (march.root / "repos" / "payments").as_uri() if by_url else "repos/payments"
    systems = [
        {**s, "name": "pay2", "repository": repository, "evidence": "ev-pay2"}
        if s["name"] == "payments"
        else s
        for s in march.systems
    ]
    result = april(march, tmp_path, systems, retired=[RETIRED])
    assert result.code == 2, result.err
    assert "system payments is retired, yet system pay2 has its repository" in result.err
    assert "repository_kept_by: pay2" in result.err
    kept = {**RETIRED, "repository_kept_by": "pay2"}
    stated = april(march, tmp_path, systems, retired=[kept])
    assert stated.code == 0, stated.err
    record = predicate(tmp_path / "apr.json")["retired"][0]
    assert record["repository_kept_by"] == "pay2"
    assert record["last_attested"]["evidence_checked"].startswith("yes: ")
    wrong = april(march, tmp_path, systems, retired=[{**kept, "repository_kept_by": "web"}])
    assert wrong.code == 2 and "web is not a listed system with payments's repository" in (
        wrong.err
    )


def test_a_retired_system_whose_evidence_alone_is_gone_is_refused(tmp_path: Path) -> None:
    """Deleting the evidence directory while the repository stays is no way round the
    check of the retired system's deployments."""
    org = march_again(tmp_path)
    shutil.rmtree(org.root / "repos" / "payments" / "compliance")
    result = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert result.code == 2, result.out
    assert "its repository is still there" in result.err
    assert not (tmp_path / "apr.json").exists()


def test_a_retired_system_whose_knightwatch_yaml_names_other_evidence_is_refused(
    tmp_path: Path,
) -> None:
    """payments records a deployment on April 10th in its compliance/, and its knightwatch.yaml
    (none in March) now names an empty archive/ as its evidence: the retirement was checked
    against archive/ and April signed a PASS."""
    org = march_again(tmp_path)
    repo = org.root / "repos" / "payments"
    records = yaml.safe_load((repo / "compliance" / "deploys.yaml").read_text())
    later = {**records[0], "id": "PAY-2", "started_at": "2024-04-10T10:00:00Z"}
    write_yaml(repo / "compliance" / "deploys.yaml", [*records, later])
    (repo / "archive").mkdir()
    (repo / "knightwatch.yaml").write_text("evidence: archive\n")
    result = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert result.code == 2, result.err
    assert (
        "system payments is retired, but its repository's knightwatch.yaml is not the one its "
        "last audit read (then none, now sha256 "
    ) in result.err
    assert not (tmp_path / "apr.json").exists()
    (repo / "knightwatch.yaml").unlink()
    assert (
        "deployment PAY-2 started"
        in april(org, tmp_path, without_payments(org), retired=[RETIRED]).err
    )


def march_by_url(tmp_path: Path) -> Org:
    """March attested with payments failing, its repository named by its git URL and its
    evidence committed in it (no ``evidence`` in org.yaml)."""
    org = three_teams(tmp_path / "org", failing="payments")
    repo = ScriptedRepo(org.root / "repos" / "payments")
    repo.git("add", "compliance", date="2024-03-05T09:00:00Z")
    repo.git("commit", "-q", "-m", "evidence of March", date="2024-03-05T09:00:00Z", author=DEV)
    url = (org.root / "repos" / "payments").as_uri()
    org.systems = [{**s, "repository": url} if s["name"] == "payments" else s for s in org.systems]
    org.write()
    assert org.audit("mar.json", "--workers", "0").code == 1
    return org


def test_a_retired_system_named_by_url_is_cloned_and_still_deploying_is_refused(
    tmp_path: Path,
) -> None:
    """payments, named by its git URL, retired on March 31st while its repository (reachable)
    records a deployment on April 10th: the retirement was accepted as 'gone' without the
    URL being tried, and April signed a PASS."""
    org = march_by_url(tmp_path)
    repo = ScriptedRepo(org.root / "repos" / "payments")
    deploys = org.root / "repos" / "payments" / "compliance" / "deploys.yaml"
    records = yaml.safe_load(deploys.read_text())
    write_yaml(
        deploys, [*records, {**records[0], "id": "PAY-2", "started_at": "2024-04-10T10:00:00Z"}]
    )
    repo.git("commit", "-q", "-am", "PAY-2", date="2024-04-10T11:00:00Z", author=DEV)
    result = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert result.code == 2, result.err
    assert "yet its evidence records deployment PAY-2 started 2024-04-10T10:00:00Z" in result.err
    assert not (tmp_path / "apr.json").exists()


def test_a_retired_system_whose_url_no_longer_clones_is_recorded_unchecked(tmp_path: Path) -> None:
    org = march_by_url(tmp_path)
    quiet = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert quiet.code == 0, quiet.err
    checked = predicate(tmp_path / "apr.json")["retired"][0]["last_attested"]["evidence_checked"]
    assert checked == "yes: no deployment started on or after 2024-03-31"
    shutil.rmtree(org.root / "repos" / "payments")
    gone = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert gone.code == 0, gone.err
    checked = predicate(tmp_path / "apr.json")["retired"][0]["last_attested"]["evidence_checked"]
    assert checked.startswith(f"no: cannot clone {(org.root / 'repos' / 'payments').as_uri()}: ")
    assert checked.endswith("(gone)")


def test_a_deployment_after_the_retirement_recorded_late_stops_the_next_month(
    tmp_path: Path,
) -> None:
    """payments retired on March 31st, April signed with its evidence holding nothing after
    it; then its deploy tool's export recorded PAY-2, an unreviewed deployment of April 10th.
    May listed payments again (quiet) and signed a PASS: PAY-2 was judged by no audit."""
    org = march_again(tmp_path)
    assert april(org, tmp_path, without_payments(org), retired=[RETIRED]).code == 0
    repo = ScriptedRepo(org.root / "repos" / "payments")
    sha = repo.commit("pay: more", {"pay/app.py": "2\n"}, author=DEV, date="2024-04-09T09:00:00Z")
    deploys = org.root / "repos" / "payments" / "compliance" / "deploys.yaml"
    records = yaml.safe_load(deploys.read_text())
    late = {**records[0], "id": "PAY-2", "commit": sha, "started_at": "2024-04-10T10:00:00Z"}
    write_yaml(deploys, [*records, late])
    private, _ = org.key("central")
    for systems in (org.systems, without_payments(org)):
        may = Org(org.root, systems, "org-may.yaml").quiet("2024-05")
        result = run_cli(
            "audit", "--org", may.file, "--period", "2024-05", "--as-of", "2024-06-01",
            "--key", private, "-o", tmp_path / "may.json", "--workers", "0",
            "--previous", tmp_path / "apr.json",
        )  # fmt: skip
        assert result.code == 2, result.err
        assert (
            "system payments was retired on 2024-03-31 in the 2024-04 attestation, yet its "
            "evidence now records deployment PAY-2 started 2024-04-10T10:00:00Z"
        ) in result.err
        assert "audit 2024-04 again with payments listed" in result.err
        assert not (tmp_path / "may.json").exists()


def _pay_2(org: Org) -> Path:
    """payments' repository, its compliance/ recording PAY-2, a deployment of April 10th."""
    repo = org.root / "repos" / "payments"
    records = yaml.safe_load((repo / "compliance" / "deploys.yaml").read_text())
    later = {**records[0], "id": "PAY-2", "started_at": "2024-04-10T10:00:00Z"}
    write_yaml(repo / "compliance" / "deploys.yaml", [*records, later])
    return repo


def _linked_away(repo: Path) -> None:
    """compliance/ kept as compliance-real/, compliance a link to an empty archive/."""
    (repo / "compliance").rename(repo / "compliance-real")
    (repo / "archive").mkdir()
    (repo / "compliance").symlink_to("archive")


def test_a_retired_system_whose_evidence_a_link_now_leads_away_is_refused(
    tmp_path: Path,
) -> None:
    """payments records PAY-2 (April 10th), and compliance is now a link to an empty archive/,
    knightwatch.yaml untouched: the retirement was checked in archive/ and April signed a PASS,
    as with knightwatch.yaml's `evidence: archive`. A link its last audit read through stands."""
    org = march_again(tmp_path)
    _linked_away(_pay_2(org))
    result = april(org, tmp_path, without_payments(org), retired=[RETIRED])
    assert result.code == 2, result.err
    assert (
        "system payments is retired, but its evidence is not read through the links it was "
        "last read through (then none, now compliance -> archive)"
    ) in result.err
    assert not (tmp_path / "apr.json").exists()
    linked = three_teams(tmp_path / "linked", failing="payments")
    repo = linked.root / "repos" / "payments"
    (repo / "compliance").rename(repo / "records")
    (repo / "compliance").symlink_to("records")
    assert linked.audit("mar.json", "--workers", "0").code == 1
    result = april(linked, tmp_path, without_payments(linked), retired=[RETIRED])
    assert result.code == 0, result.err
    read = predicate(tmp_path / "apr.json")["retired"][0]["last_attested"]["evidence_read"]
    assert read == {"directory": "compliance", "links": ["compliance -> records"]}


@pytest.mark.parametrize("moved", ["knightwatch.yaml", "link"])
def test_a_retirement_checked_again_is_read_where_it_was_checked(
    tmp_path: Path, moved: str
) -> None:
    """April retired payments, its evidence read in compliance/; then PAY-2 (April 10th) was
    recorded there, and knightwatch.yaml named an empty archive/ (or compliance became a link
    to it). May, checking the retirement again, read archive/ and signed a PASS (exit 0)."""
    org = march_again(tmp_path)
    assert april(org, tmp_path, without_payments(org), retired=[RETIRED]).code == 0
    repo = _pay_2(org)
    if moved == "link":
        _linked_away(repo)
    else:
        (repo / "archive").mkdir()
        (repo / "knightwatch.yaml").write_text("evidence: archive\n")
    private, _ = org.key("central")
    may = Org(org.root, without_payments(org), "org-may.yaml").quiet("2024-05")
    result = run_cli(
        "audit", "--org", may.file, "--period", "2024-05", "--as-of", "2024-06-01",
        "--key", private, "-o", tmp_path / "may.json", "--workers", "0",
        "--previous", tmp_path / "apr.json",
    )  # fmt: skip
    assert result.code == 2, result.err
    said = (
        "its evidence is not read through the links it was last read through (then none, now "
        "compliance -> archive)"
        if moved == "link"
        else "its repository's knightwatch.yaml now names archive as its evidence, not "
        "compliance, where the retirement's check read it"
    )
    assert f"system payments is retired, but {said}" in result.err
    assert not (tmp_path / "may.json").exists()
