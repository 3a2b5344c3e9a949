"""A deployment of a month already attested, recorded (or changed) after its attestation was
signed, is judged by the next month's audit chained to it: no audit judged it before (the
month's audit had been signed, and the next judged only deployments that started in it)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL


def _case(tmp_path: Path) -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """A reviewed commit deployed on 1 March (D1), an unreviewed one after it."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    shas = {
        "base": repo.commit("base", {"flags.yaml": "flags: []\n", "app.py": "0\n"}, author=DEV,
                            date="2024-02-01T09:00:00Z", trailers=reviewed),
        "good": repo.commit("good", {"app.py": "1\n"}, author=DEV, date="2024-02-02T09:00:00Z",
                            trailers=reviewed),
        "bad": repo.commit("bad", {"app.py": "2\n"}, author=DEV, date="2024-03-30T09:00:00Z"),
    }  # fmt: skip
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [_deployed("D1", shas["good"], "2024-03-01")])
    run_cli("keygen", "--output", tmp_path / "k")
    return repo, evidence, shas


def _deployed(id: str, sha: str, day: str) -> dict[str, Any]:
    return deployment(id, sha, f"{day}T23:00:00Z", approvals=[APPROVAL[0]])


def _audit(repo: ScriptedRepo, evidence: Path, month: str, *extra: str | Path) -> CliResult:
    tmp = repo.path.parent
    following = {"2024-03": "2024-04-01", "2024-04": "2024-05-01"}[month]
    return run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--key", tmp / "k.key",
        "--period", month, "--as-of", following, "-o", tmp / f"{month}.json", *extra,
    )  # fmt: skip


def _population(path: Path) -> list[str]:
    payload = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    return [d["id"] for d in payload["predicate"]["population"]["deployments"]]


def test_a_deployment_of_an_attested_month_recorded_since_is_judged_next_month(
    tmp_path: Path,
) -> None:
    """March is attested with D1 alone; then D2, which shipped the unreviewed commit on 31
    March, is recorded (a deploy tool's export that came late). April's audit, chained to
    March, did not judge it: it passed."""
    repo, evidence, shas = _case(tmp_path)
    assert _audit(repo, evidence, "2024-03").code == 0
    records = [_deployed("D1", shas["good"], "2024-03-01")]
    records.append(_deployed("D2", shas["bad"], "2024-03-31"))
    write_yaml(evidence / "deploys.yaml", records)
    april = _audit(repo, evidence, "2024-04", "--previous", tmp_path / "2024-03.json")
    assert april.code == 1, april.err
    assert _population(tmp_path / "2024-04.json") == ["D2"]
    replay = run_cli("verify", tmp_path / "2024-04.json", "--key", tmp_path / "k.pub",
                     "--replay", "--repo", repo.path, "--evidence", evidence)  # fmt: skip
    assert replay.code == 0 and "the same 1 findings" in replay.out, replay.out + replay.err
    unchained = _audit(repo, evidence, "2024-04")  # nothing to compare March with
    assert unchained.code == 0 and _population(tmp_path / "2024-04.json") == []


def test_a_deployment_an_attestation_judged_cannot_vanish_from_the_evidence(
    tmp_path: Path,
) -> None:
    """March judged D1 and D2; D2's record is then removed (or moved into April): the chained
    April audit stops (exit 2) rather than judge a history that no longer holds it."""
    repo, evidence, shas = _case(tmp_path)
    both = [
        _deployed("D1", shas["good"], "2024-03-01"),
        _deployed("D2", shas["good"], "2024-03-02"),
    ]
    write_yaml(evidence / "deploys.yaml", both)
    assert _audit(repo, evidence, "2024-03").code == 0
    for records in ([both[0]], [both[0], _deployed("D2", shas["good"], "2024-04-02")]):
        write_yaml(evidence / "deploys.yaml", records)
        april = _audit(repo, evidence, "2024-04", "--previous", tmp_path / "2024-03.json")
        assert april.code == 2, april.err
        assert "deployment D2 was judged by the 2024-03 audit" in april.err
        assert not (tmp_path / "2024-04.json").exists()


@pytest.mark.parametrize(
    "late",
    [
        "a February deployment",
        "a March observation",
        "March's deployment given another commit",
        "March's deployment given a failed target",
    ],
)
def test_a_record_no_later_audit_judges_stops_the_chain(tmp_path: Path, late: str) -> None:
    """March is attested; then a deployment of 28 February, or an observation of 31 March
    showing the host on the old commit (FLEET-002 of March's window), is recorded. April's
    audit judges only March's late deployments, so March's attestation holds the count and
    digest of every record no later audit judges again: the chain stops (exit 2) rather
    than leave the record judged by no audit (it passed)."""
    repo, evidence, shas = _case(tmp_path)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    assert _audit(repo, evidence, "2024-03").code == 0
    if late == "a February deployment":
        february = deployment("D0", shas["base"], "2024-02-28T23:00:00Z", approvals=[APPROVAL[0]])
        write_yaml(
            evidence / "deploys.yaml", [february, _deployed("D1", shas["good"], "2024-03-01")]
        )
    elif late.startswith("March's deployment"):
        changed = _deployed("D1", shas["good"], "2024-03-01")
        if late.endswith("another commit"):
            changed = {**changed, "commit": shas["base"]}
        else:
            changed["targets"].append({"host": "web-2", "status": "failed"})
        write_yaml(evidence / "deploys.yaml", [changed])
    else:
        seen = {"host": "web-1", "service": "web", "version": shas["base"],
                "observed_at": "2024-03-31T12:00:00Z"}  # fmt: skip
        write_yaml(evidence / "observations.yaml", [seen])
    april = _audit(repo, evidence, "2024-04", "--previous", tmp_path / "2024-03.json")
    assert april.code == 2, april.err
    assert "the records the 2024-03 audit this one is chained to rests on are not" in april.err
    assert "then," in april.err and "now" in april.err
    assert not (tmp_path / "2024-04.json").exists()


@pytest.mark.parametrize("missing", [("earlier",), ("earlier", "population")])
def test_a_chain_to_an_attestation_without_the_digest_is_refused(
    tmp_path: Path, missing: tuple[str, ...]
) -> None:
    """March's attestation as an earlier version signed it (no ``earlier``; an earlier one
    still listed no ``population`` either): whether its records changed since cannot be
    known, so April is not chained to it. It was, silently; without a population, even after
    March's deployment was recorded as failed on its one host (FLEET-001, critical), which
    no audit then judged: April passed."""
    repo, evidence, shas = _case(tmp_path)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    assert _audit(repo, evidence, "2024-03").code == 0
    envelope = json.loads((tmp_path / "2024-03.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    for name in missing:
        del statement["predicate"][name]
    changed = _deployed("D1", shas["good"], "2024-03-01")
    changed["targets"] = [{"host": "web-1", "status": "failed"}]
    write_yaml(evidence / "deploys.yaml", [changed])
    key = load_private(str(tmp_path / "k.key"))
    (tmp_path / "2024-03.json").write_text(sign_statement(statement, key)[0])
    april = _audit(repo, evidence, "2024-04", "--previous", tmp_path / "2024-03.json")
    assert april.code == 2, april.err
    assert "records no digest of the records it rests on" in april.err
    assert "audit 2024-03 again with this version" in april.err


def test_a_chain_to_another_repositorys_attestation_is_refused(tmp_path: Path) -> None:
    """Two repositories signed with one key, neither with a record before April: the second's
    April audit took the first's March as its previous month (nothing to compare differed),
    and ``verify --previous`` called the chain valid, though the second repository's March
    was never attested. A previous month's audit is of a HEAD this repository holds."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for root, text in ((ours, "ours\n"), (theirs, "theirs\n")):
        repo = ScriptedRepo(root / "repo")
        files = {"flags.yaml": "flags: []\n", "app.py": text}
        reviewed = (f"Reviewed-by: {LEAD}",)
        sha = repo.commit("app", files, author=DEV, date="2024-02-01T09:00:00Z", trailers=reviewed)
        write_yaml(root / "ev" / "deploys.yaml", [_deployed("D1", sha, "2024-04-02")])
    run_cli("keygen", "--output", tmp_path / "k")

    def audit(root: Path, month: str, *extra: str | Path) -> CliResult:
        following = {"2024-03": "2024-04-01", "2024-04": "2024-05-01"}[month]
        return run_cli(
            "audit", "--repo", root / "repo", "--evidence", root / "ev", "--period", month,
            "--key", tmp_path / "k.key", "--as-of", following, "-o", root / f"{month}.json",
            *extra,
        )  # fmt: skip

    assert audit(theirs, "2024-03").code == 0
    april = audit(ours, "2024-04", "--previous", theirs / "2024-03.json")
    assert april.code == 2, april.err
    assert "the 2024-03 audit this one is chained to was made of repository HEAD" in april.err
    assert "which this repository does not hold" in april.err
    assert not (ours / "2024-04.json").exists()
    assert audit(ours, "2024-03").code == 0
    assert audit(ours, "2024-04", "--previous", ours / "2024-03.json").code == 0
