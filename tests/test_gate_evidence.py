"""A gate reads its own service's records whole and every other record for what it shipped
when: no record of the gated stream can pass as another's, and none a full check refuses is
passed over (each case below gave a gate PASS on the history it hid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.report.escape import visible
from tests.conftest import DEV, LEAD, run_cli

REVIEWED = (f"Reviewed-by: {LEAD}",)
FLEET = {"services": {"web": {"hosts": ["web-1"]}, "api": {"hosts": ["api-1"]}}}


@pytest.fixture
def history(tmp_path: Path) -> tuple[ScriptedRepo, list[str]]:
    """C0 reviewed and deployed; C1 nobody reviewed; C2, the candidate, reviewed."""
    repo = ScriptedRepo(tmp_path / "repo")
    shas = [
        repo.commit(f"change {n}", {"app.py": f"{n}\n"}, author=DEV,
                    date=f"2024-03-0{n + 1}T00:00:00Z", trailers=() if n == 1 else REVIEWED)
        for n in range(3)
    ]  # fmt: skip
    return repo, shas


def _record(shas: list[str], **fields: Any) -> dict[str, Any]:
    record = {
        "id": "D1", "service": "web", "environment": "production", "commit": shas[0],
        "started_at": "2024-03-01T12:00:00Z", "deployer": "ops@example.com",
        "approvals": [{"by": LEAD, "at": "2024-03-01T11:00:00Z"}],
        "targets": [{"host": "web-1", "status": "succeeded"}],
    }  # fmt: skip
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def _api(shas: list[str], **fields: Any) -> dict[str, Any]:
    """A1, a deployment of another service (api) to its own host."""
    return _record(shas, id="A1", service="api", targets=[{"host": "api-1", "status": "succeeded"}],
                   **fields)  # fmt: skip


def _gate(
    repo: ScriptedRepo, evidence: Path, lines: list[str], *extra: str | Path, **fleet: Any
) -> Any:
    evidence.mkdir(exist_ok=True)
    (evidence / "fleet.yaml").write_text(yaml.safe_dump({**FLEET, **fleet}))
    (evidence / "deploys.jsonl").write_text("".join(line + "\n" for line in lines))
    return run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--candidate", "main",
        "--service", "web", "--as-of", "2024-03-04", *extra,
    )  # fmt: skip


DECLARED = {"environments": ["production", "staging"]}


def test_the_gate_judges_what_the_recorded_history_leaves(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    repo, shas = history
    result = _gate(repo, tmp_path / "ev", [json.dumps(_record(shas))], **DECLARED)
    assert result.code == 1 and "REVIEW-002" in result.out, result.err


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"environment": "Production"}, "environment 'Production' is not in fleet.yaml's"),
        ({"environment": None}, "environment: required field missing"),
        ({"service": "Web"}, "of another service: service 'Web' is not in fleet.yaml"),
        ({"service": "w\u0435b"}, "(did you mean 'web'?)"),
        ({"service": None}, "service null cannot be read"),
    ],
)
def test_a_record_of_the_gated_service_cannot_pass_as_another(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path, fields: dict[str, Any], needle: str
) -> None:
    repo, shas = history
    result = _gate(repo, tmp_path / "ev", [json.dumps(_record(shas, **fields))], **DECLARED)
    assert result.code == 2, result.out
    assert needle in result.err


@pytest.mark.parametrize(
    "line",
    [
        '{"service": "web", "service": "api", ',  # the last of a key twice is another's
        '{"serv\\u0069ce": "web", "service": "api", ',
        '{"service": "api", "commit": "C1", "commit": "C0", ',
    ],
)
def test_a_key_read_of_a_passed_over_record_is_never_one_of_two(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path, line: str
) -> None:
    repo, shas = history
    rest = _record(shas)
    rest.pop("service")
    rest.pop("commit") if '"commit"' in line else None
    text = line.replace("C1", shas[1]).replace("C0", shas[0]) + json.dumps(rest)[1:]
    result = _gate(repo, tmp_path / "ev", [text], **DECLARED)
    assert result.code == 2, result.out
    assert "duplicate key" in result.err


def test_another_services_start_in_the_future_is_refused(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    """A1 of api shipped C1: its start (a year typo) decides whether C1's approval was late."""
    repo, shas = history
    other = _api(shas, commit=shas[1], started_at="2042-03-02T12:00:00Z")
    lines = [json.dumps(_record(shas, commit=shas[1])), json.dumps(other)]
    result = _gate(repo, tmp_path / "ev", lines, **DECLARED)
    assert result.code == 2, result.out
    assert (
        "deployment 'A1' of another service: started_at '2042-03-02T12:00:00Z' is in the future"
        in result.err
    )


def test_the_candidate_shares_no_host_with_its_service_in_another_environment(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    """The service's records say prod, the gate production, which api's records name (no
    declared environments)."""
    repo, shas = history
    lines = [json.dumps(_record(shas, environment="prod")), json.dumps(_api(shas))]
    result = _gate(repo, tmp_path / "ev", lines)
    assert result.code == 2, result.out
    assert (
        "deployment candidate of web to 'production' targets 'web-1', which deployment D1"
        in result.err
    )


def test_a_gate_needs_its_deployment_records(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    repo, _ = history
    evidence = tmp_path / "ev"
    _gate(repo, evidence, [], **DECLARED)
    (evidence / "deploys.jsonl").unlink()
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--candidate", "main",
                     "--service", "web")  # fmt: skip
    assert result.code == 2 and "required evidence file missing: deploys" in result.err
    assert "write [] in deploys.yaml" in result.err
    (evidence / "deploys.yaml").write_text("[]\n")  # a service not deployed yet says so
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--candidate", "main",
                     "--service", "web")  # fmt: skip
    assert result.code in (0, 1), result.err


@pytest.mark.parametrize(
    "unlisted",
    [
        "Web",
        "w\u0435b",
        "\uff57eb",
        "w\u200b\u200beb",
        "we\u034f\u034fb",
        "web\u00ad\u00ad",
        "web\ufe0f\ufe0f",
        "web\u3164\u3164",
        "web.",
    ],
)
def test_an_unlisted_service_is_no_inventoried_one_in_another_spelling(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path, unlisted: str
) -> None:
    """web's history recorded under an unlisted look-alike (a Cyrillic e, fullwidth w, a
    capital) left the stream empty: the gate judged a first deployment, the check passed."""
    repo, shas = history
    # A gate takes a weakening setting from the platform's --config, as an audit does.
    platform = tmp_path / "platform.yaml"
    platform.write_text(yaml.safe_dump({"unlisted_services": [unlisted]}))
    line = json.dumps(_record(shas, service=unlisted))
    result = _gate(repo, tmp_path / "ev", [line], "--config", platform, **DECLARED)
    assert result.code == 2, result.out
    named = visible(repr(unlisted))  # an ignorable character shown as its escape
    assert f"unlisted_services names {named}, which reads as fleet.yaml's service" in result.err
    platform.write_text(yaml.safe_dump({"unlisted_services": ["web2"]}))
    line = json.dumps(_record(shas, service="web2"))
    result = _gate(repo, tmp_path / "ev", [line], "--config", platform, **DECLARED)
    assert result.code in (0, 1), result.err  # its own name


def test_without_an_inventory_two_spellings_of_one_service_are_refused(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    """No fleet.yaml: the services are the records'. web's history under a Cyrillic e made
    the next deployment of web its first, shipping its own commit alone."""
    repo, shas = history
    evidence = tmp_path / "ev"
    evidence.mkdir()
    lines = [
        json.dumps(_record(shas, service="w\u0435b")),
        json.dumps(_record(shas, id="D2", commit=shas[2], started_at="2024-03-04T00:00:00Z")),
    ]
    (evidence / "deploys.jsonl").write_text("".join(line + "\n" for line in lines))
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence)
    assert result.code == 2, result.out
    assert "with look-alike letters?" in result.err


def test_fleet_lists_no_two_services_that_read_as_one(
    history: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    """fleet.yaml listing web and web with a Cyrillic e, web's history recorded under the
    second: the gate judged a first deployment of web, and the full check passed."""
    repo, shas = history
    services = {"web": {"hosts": ["web-1"]}, "w\u0435b": {"hosts": ["web-1"]}}
    line = json.dumps(_record(shas, service="w\u0435b"))
    result = _gate(repo, tmp_path / "ev", [line], services=services, **DECLARED)
    assert result.code == 2, result.out
    assert "fleet.yaml lists the services 'web' and 'w\u0435b', which read as one" in result.err
