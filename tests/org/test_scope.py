"""A system is judged on what org.yaml says it is: every service it lists deployed in the
month (or stated quiet), none it does not list, each system its own repository, evidence and
key, and a team's own audit judged with the organisation's settings."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.org.model import load_org
from checker.org.scope import settings_problem
from tests.conftest import write_yaml
from tests.org.orgcase import Org, three_teams
from tests.org.test_audit import predicate
from tests.org.test_federated import TEAMS, federated, rejected, team_audit
from tests.org.test_model import _refused


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = three_teams(tmp_path_factory.mktemp("scope"))
    (org.root / "signed").mkdir()
    for team in TEAMS:
        assert team_audit(org, team, org.root / "signed" / f"{team}.json").code == 0
    return org


def _variant(org: Org, name: str, change: dict[str, dict[str, Any]]) -> Org:
    """org.yaml with some systems' fields changed, written beside it as ``NAME``."""
    systems = [{**s, **change.get(s["name"], {})} for s in org.systems]
    variant = Org(org.root, systems, name)
    variant.write()
    return variant


def _not_judged(org: Org, tmp_path: Path, *extra: str | Path) -> dict[str, str]:
    output = tmp_path / "org.json"
    result = org.audit(output, "--workers", "0", *extra)
    assert result.code == 1, result.err
    p = predicate(output)
    assert p["verdict"] == "fail"
    return {s["name"]: s["reason"] for s in p["systems"] if s["status"] != "judged"}


def test_a_listed_service_without_a_deployment_leaves_its_system_not_judged(
    org: Org, tmp_path: Path
) -> None:
    ghost = _variant(org, "ghost.yaml", {"ledger": {"services": ["ledger", "ghost"]}})
    reasons = _not_judged(ghost, tmp_path)
    assert list(reasons) == ["ledger"]
    assert reasons["ledger"].startswith("no deployment of service ghost in 2024-03")
    assert (
        "rejected: no deployment of service ghost"
        in federated(ghost, org.root / "signed", tmp_path / "fed.json").err
    )


def test_a_system_pointed_at_another_systems_repository_is_not_judged_on_its_deployments(
    org: Org, tmp_path: Path
) -> None:
    # Copy-paste: web's entry names ledger's repository; ledger's deployments are not web's.
    pasted = Org(org.root, [{**org.systems[2], "repository": "repos/ledger"}], "pasted.yaml")
    pasted.write()
    reasons = _not_judged(pasted, tmp_path)
    assert reasons["web"].startswith("its evidence deploys service ledger, which org.yaml")
    # Federated: payments hands in an audit of web's clean repository, signed with its key.
    directory = tmp_path / "signed"
    shutil.copytree(org.root / "signed", directory)
    (directory / "payments.json").unlink()
    made = team_audit(
        org, "payments", directory / "payments.json", "--repo", org.root / "repos/web"
    )
    assert made.code == 0, made.err
    output = tmp_path / "fed.json"
    reasons = rejected(federated(org, directory, output), output)
    assert reasons == {
        "payments": "its evidence deploys service shop, which org.yaml does not list for "
        "payments: its repository or evidence is not this system's"
    }


def test_two_systems_on_one_repository_and_evidence_or_one_key_are_refused(
    org: Org, tmp_path: Path
) -> None:
    same_repo = _variant(org, "same-repo.yaml", {"web": {"repository": "repos/ledger"}})
    err = _refused(same_repo, same_repo.file.read_text(), tmp_path)
    assert "system web has the repository and evidence of system ledger" in err
    shutil.copy(org.root / "keys/ledger.pub", org.root / "keys/copy.pub")
    same_key = _variant(org, "same-key.yaml", {"web": {"key": "keys/copy.pub"}})
    err = _refused(same_key, same_key.file.read_text(), tmp_path)
    assert "system web has the same public key as system ledger" in err
    # Two systems of one repository with their own evidence are two systems.
    (org.root / "web-evidence").mkdir(exist_ok=True)
    apart = _variant(
        org, "apart.yaml", {"web": {"repository": "repos/ledger", "evidence": "web-evidence"}}
    )
    assert [s.name for s in load_org(apart.file).systems] == ["ledger", "payments", "web"]


def test_a_month_without_deployments_is_not_judged_unless_org_yaml_says_it_was_quiet(
    tmp_path: Path,
) -> None:
    org = three_teams(tmp_path / "org")
    write_yaml(org.root / "repos/web/compliance/deploys.yaml", [])
    reasons = _not_judged(org, tmp_path)
    assert reasons == {
        "web": "no deployment of service shop in 2024-03: a service org.yaml lists is judged "
        "on its deployments, and has none (org.yaml's 'quiet' states a month without any)"
    }
    quiet = org.quiet("2024-03")
    reasons = _not_judged(quiet, tmp_path)
    assert set(reasons) == {"ledger", "payments"}
    assert (
        reasons["ledger"] == "org.yaml says service ledger deployed nothing in 2024-03, and it did"
    )


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--baseline", "adopted"], "the team set its own baseline"),
        (["--config", "weak.yaml"], "its service_paths are not those org.yaml gives"),
    ],
)
def test_a_team_audit_that_weakened_its_own_settings_is_rejected(
    org: Org, tmp_path: Path, extra: list[str], said: str
) -> None:
    (org.root / "weak.yaml").write_text("service_paths:\n  pay: [pay/app.py]\n")
    directory = tmp_path / "signed"
    shutil.copytree(org.root / "signed", directory)
    (directory / "payments.json").unlink()
    config = ["--config", str(org.root / "weak.yaml")] if "--config" in extra else extra
    made = team_audit(org, "payments", directory / "payments.json", *config)
    assert made.code == 0, made.err
    reasons = rejected(federated(org, directory, tmp_path / "org.json"), tmp_path / "org.json")
    assert list(reasons) == ["payments"]
    assert reasons["payments"].startswith(said)


def test_an_engine_the_organisation_did_not_choose_or_a_weakening_is_named(org: Org) -> None:
    (system,) = [s for s in load_org(org.file).systems if s.name == "payments"]
    clean: dict[str, Any] = {
        "tool": {},
        "settings": {"weakened": [], "not_applied": []},
        "report": {"parameters": {"baseline": None}},
    }
    assert settings_problem(system, clean) is None
    remote = {**clean, "tool": {"engine_url": "http://127.0.0.1:18181"}}
    assert settings_problem(system, remote) == (
        "it was judged by an engine the organisation did not choose (http://127.0.0.1:18181)"
    )
    weakened = {
        **clean,
        "settings": {
            "weakened": [{"name": "protected_branch", "effect": "changed", "source": "cli"}],
            "not_applied": [],
        },
    }
    assert settings_problem(system, weakened) == (
        "the team's setting protected_branch (cli) weakens the rules"
    )


def test_a_quiet_month_that_is_not_a_month_is_refused_at_its_line(org: Org, tmp_path: Path) -> None:
    typo = _variant(
        org, "typo.yaml", {"web": {"services": [{"name": "shop", "quiet": ["2024-3"]}]}}
    )
    err = _refused(typo, typo.file.read_text(), tmp_path)
    assert "'2024-3' is not a month: YYYY-MM" in err and "typo.yaml:" in err
