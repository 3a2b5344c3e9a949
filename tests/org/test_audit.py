"""``audit --org`` of repositories: one signed attestation over every system, each system's
verdict and causes inside, a system that cannot be judged listed as such; ``verify`` and
``verify --replay`` of it, for one system or all."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.org.model import load_org
from checker.runner import CheckOptions
from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import DEV, run_cli
from tests.org.orgcase import Org, make_system, three_teams


def predicate(path: Path) -> dict[str, Any]:
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    assert statement["predicateType"] == "urn:knightwatch:predicate:organisation-audit:v1"
    return statement["predicate"]  # type: ignore[no-any-return]


def subjects(path: Path) -> dict[str, Any]:
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    return {s["name"]: s["digest"] for s in statement["subject"]}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = three_teams(tmp_path_factory.mktemp("org"), failing="payments")
    result = org.audit("mar.json", "--workers", "0")
    assert result.code == 1, result.err
    return org


def test_one_attestation_holds_every_system_and_the_organisations_verdict(org: Org) -> None:
    p = predicate(org.root / "mar.json")
    assert p["period"] == "2024-03" and p["mode"] == "repositories"
    assert p["verdict"] == "fail"
    assert p["summary"] == {"systems": 3, "judged": 3, "passed": 2, "failed": 1, "not_judged": 0}
    assert [(s["name"], s["status"], s["verdict"]) for s in p["systems"]] == [
        ("ledger", "judged", "pass"),
        ("payments", "judged", "fail"),
        ("web", "judged", "pass"),
    ]
    payments = p["systems"][1]
    assert payments["owner"] == "payments-team@example.com"
    assert payments["services"] == [{"name": "pay", "paths": []}]
    assert payments["audit"]["report"]["verdict"] == "fail"
    assert payments["audit"]["population"]["count"] == 1
    # The cause-level summary names the system each cause is in.
    assert [(g["system"], g["rule"]) for g in p["groups"]] == [("payments", "REVIEW-002")]


def test_the_subjects_are_each_systems_head_and_evidence(org: Org) -> None:
    found = subjects(org.root / "mar.json")
    p = predicate(org.root / "mar.json")
    for system in p["systems"]:
        name = system["name"]
        assert found[f"{name}/git:HEAD"] == {"gitCommit": system["head"]}
        for item in system["audit"]["report"]["inputs"]["files"]:
            assert found[f"{name}/{item['role']}:{item['path']}"] == {"sha256": item["sha256"]}
    assert "ledger/evidence:deploys.yaml" in found
    assert found["org:org.yaml"]["sha256"]


def test_the_stderr_names_each_system_that_did_not_pass(org: Org, tmp_path: Path) -> None:
    result = org.audit(tmp_path / "again.json", "--workers", "0")
    assert "system payments: fail, 1 finding at or above high" in result.err
    assert "ledger" not in result.err.split("organisation audit")[0]
    # The same inputs, the same bytes.
    assert (tmp_path / "again.json").read_bytes() == (org.root / "mar.json").read_bytes()


def test_verify_describes_every_system_and_replays_one_or_all(org: Org) -> None:
    _, pub = org.key("central")
    shown = run_cli("verify", org.root / "mar.json", "--key", pub)
    assert shown.code == 0, shown.err
    assert "organisation verdict fail; 3 systems: 2 passed, 1 failed, 0 not judged" in shown.out
    assert "system payments: fail, 1 finding (1 failing), HEAD " in shown.out
    # Each system's protected branch, as its audit judged it: the ref read and its tip.
    payments = next(
        s for s in predicate(org.root / "mar.json")["systems"] if s["name"] == "payments"
    )
    branch = payments["audit"]["report"]["inputs"]["repository"]["protected_branch"]
    assert branch["name"] == "main" and branch["ref"] == "refs/heads/main"
    assert f", main at {branch['commit']} (read from refs/heads/main)" in shown.out
    assert "; incomplete: 9 rules not evaluated" in shown.out
    one = run_cli(
        "verify", org.root / "mar.json", "--key", pub, "--replay", "--org", org.file,
        "--system", "payments",
    )  # fmt: skip
    assert one.code == 0, one.err
    assert "replay payments: replayed" in one.out and "replay ledger" not in one.out
    every = run_cli("verify", org.root / "mar.json", "--key", pub, "--replay", "--org", org.file)
    assert every.code == 0, every.err
    assert [line.split(":")[0] for line in every.out.splitlines() if line.startswith("replay")] == [
        "replay ledger",
        "replay payments",
        "replay web",
    ]


def test_a_replay_names_the_system_whose_evidence_changed(org: Org, tmp_path: Path) -> None:
    _, pub = org.key("central")
    deploys = org.root / "repos/web/compliance/deploys.yaml"
    kept = deploys.read_bytes()
    deploys.write_bytes(kept + b"\n# edited after the audit\n")
    try:
        result = run_cli(
            "verify", org.root / "mar.json", "--key", pub, "--replay", "--org", org.file
        )
    finally:
        deploys.write_bytes(kept)
    assert result.code == 1
    assert "system web: verification failed (replay): evidence input deploys.yaml differs" in (
        result.err
    )


def test_a_replay_fails_an_attestation_that_leaves_a_system_out(org: Org, tmp_path: Path) -> None:
    """The statement holds org.yaml's digest, not its list of systems: one that left out the
    failed system (its subjects too), its verdict and counts made to agree, verified as a pass
    of two systems, and replayed the two as confirmed (exit 0) under the very org.yaml that
    names three. Plain verify cannot see it; the replay, which reads org.yaml, now does."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    p = statement["predicate"]
    p["systems"] = [s for s in p["systems"] if s["name"] != "payments"]
    p["verdict"] = "pass"
    p["summary"].update(systems=2, judged=2, passed=2, failed=0)
    statement["subject"] = [
        s for s in statement["subject"] if not s["name"].startswith("payments/")
    ]
    forged = tmp_path / "org.json"
    forged.write_text(sign_statement(statement, load_private(str(private)))[0])
    assert run_cli("verify", forged, "--key", pub).code == 0  # consistent with itself
    result = run_cli("verify", forged, "--key", pub, "--replay", "--org", org.file)
    assert result.code == 1 and result.out == "", result.out
    assert (
        "verification failed (replay): system payments of org.yaml is not in the attestation"
    ) in result.err


@pytest.mark.parametrize("forged", ["another digest", "no subjects"])
def test_subjects_other_than_the_systems_inputs_fail_verify_and_sample(
    org: Org, tmp_path: Path, forged: str
) -> None:
    """An organisation's subjects are its file and each judged system's HEAD and input files.
    Signed naming the deploy tool's export for a system whose report read an edited copy, or
    with no subjects at all, it verified (exit 0) and was sampled from: only a repository's own
    audit had its subjects checked."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    if forged == "no subjects":
        del statement["subject"]
        said = "its report read ledger/evidence:deploys.yaml (sha256 "
    else:
        deploys = next(s for s in statement["subject"] if s["name"] == "web/evidence:deploys.yaml")
        read = deploys["digest"]["sha256"]
        deploys["digest"] = {"sha256": "801cdd64" * 8}
        said = f"subject web/evidence:deploys.yaml is sha256 {'801cdd64' * 8}, and its report "
        said += f"read sha256 {read}"
    signed = tmp_path / "org.json"
    signed.write_text(sign_statement(statement, load_private(str(private)))[0])
    result = run_cli("verify", signed, "--key", pub)
    assert result.code == 1 and result.out == "", result.out
    assert f"verification failed (subjects): {signed}: {said}" in result.err
    sampled = run_cli(
        "sample", signed, "--key", pub, "--system", "web", "--size", "1", "--seed", "s"
    )
    assert sampled.code == 2 and "verification failed (subjects)" in sampled.err


@pytest.mark.parametrize(
    ("recorded", "said"),
    [
        (None, "not recorded"),
        ({"name": "main", "ref": "refs/heads/main"}, "recorded, but not whole"),
    ],
)
def test_a_system_whose_protected_branch_is_not_recorded_says_so(
    org: Org, tmp_path: Path, recorded: dict[str, str] | None, said: str
) -> None:
    """A system's audit signed without its protected branch (or with part of it) showed
    nothing where the branch goes, while one repository's ``verify`` says it is not recorded:
    an auditor comparing each system's branch with the forge's saw no gap. It says so, and
    every recorded tip is shown in full, as one repository's ``verify`` shows it."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    payments = next(s for s in statement["predicate"]["systems"] if s["name"] == "payments")
    repository = payments["audit"]["report"]["inputs"]["repository"]
    if recorded is None:
        del repository["protected_branch"]
    else:
        repository["protected_branch"] = recorded
    signed = tmp_path / "org.json"
    signed.write_text(sign_statement(statement, load_private(str(private)))[0])
    shown = run_cli("verify", signed, "--key", pub)
    assert shown.code == 0, shown.err
    line = next(line for line in shown.out.splitlines() if line.startswith("system payments:"))
    assert f", protected branch {said}: replay to judge it again" in line
    web = next(line for line in shown.out.splitlines() if line.startswith("system web:"))
    assert re.search(r", main at [0-9a-f]{40} \(read from refs/heads/main\)", web), web


@pytest.mark.parametrize("where", ["the organisation's", "one system's"])
def test_an_attestation_judged_as_of_a_day_that_has_not_come_fails_verify(
    org: Org, tmp_path: Path, where: str
) -> None:
    """Organisation audits took an --as-of after today before it was bounded above, so that a
    waiver running years counted. verify checked the date of a repository's audit alone and
    called such an organisation attestation valid (exit 0), while sample --system refused its
    system's audit."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    p = statement["predicate"]
    if where == "the organisation's":
        p["as_of"] = "2999-01-01"
        said = f"{tmp_path / 'org.json'}: the audit of 2024-03 was judged as of 2999-01-01"
    else:
        web = next(s for s in p["systems"] if s["name"] == "web")
        web["audit"]["as_of"] = web["audit"]["report"]["as_of"] = "2999-01-01"
        said = f"{tmp_path / 'org.json'}: system web: the audit of 2024-03 was judged as of 2999"
    (tmp_path / "org.json").write_text(sign_statement(statement, load_private(str(private)))[0])
    result = run_cli("verify", tmp_path / "org.json", "--key", pub)
    assert result.code == 1 and result.out == "", result.out
    assert f"verification failed (as-of): {said}" in result.err


def test_a_systems_population_that_does_not_add_up_fails_verify(org: Org, tmp_path: Path) -> None:
    """verify checks a repository audit's population (its count, commits and digest those of
    its list), and sample --system a system's; verify of the organisation's attestation
    checked none of its systems' and called it valid (exit 0)."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    web = next(s for s in statement["predicate"]["systems"] if s["name"] == "web")
    web["audit"]["population"]["count"] = 7
    (tmp_path / "org.json").write_text(sign_statement(statement, load_private(str(private)))[0])
    result = run_cli("verify", tmp_path / "org.json", "--key", pub)
    assert result.code == 1 and result.out == "", result.out
    assert (
        f"{tmp_path / 'org.json'}: system web: verification failed (population): count is 7, "
        "but the list gives 1"
    ) in result.err


def _org_says_pass(p: dict[str, Any]) -> str:
    p["verdict"] = "pass"  # beside payments, failed
    return "its organisation verdict is 'pass', and its systems give 'fail' (2 of 3 passed)"


def _payments_says_pass(p: dict[str, Any]) -> str:
    p["verdict"] = "pass"
    payments = next(s for s in p["systems"] if s["name"] == "payments")
    payments["verdict"] = "pass"  # its own audit inside still says fail
    p["summary"].update(passed=3, failed=0)
    return "system payments: its verdict is pass, and its audit's report says 'fail'"


def _summary_counts_a_pass(p: dict[str, Any]) -> str:
    p["summary"].update(passed=3, failed=0)  # the verdict left fail
    return "its summary says 3 passed, and there are 2"


def _web_in_payments_place(statement: dict[str, Any]) -> str:
    """The failed system's entry (and its subjects) replaced by a passing one's, again."""
    p = statement["predicate"]
    web = next(s for s in p["systems"] if s["name"] == "web")
    p["systems"] = [web if s["name"] == "payments" else s for s in p["systems"]]
    p["verdict"] = "pass"
    p["summary"].update(passed=3, failed=0)
    kept = [s for s in statement["subject"] if not s["name"].startswith("payments/")]
    statement["subject"] = kept + [s for s in kept if s["name"].startswith("web/")]
    return "system web is listed 2 times: org.yaml names each once"


def _on_predicate(forge: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    return lambda statement: forge(statement["predicate"])


@pytest.mark.parametrize(
    "forge",
    [
        _on_predicate(_org_says_pass),
        _on_predicate(_payments_says_pass),
        _on_predicate(_summary_counts_a_pass),
        _web_in_payments_place,
    ],
)
def test_an_organisation_verdict_its_systems_do_not_give_fails_verify(
    org: Org, tmp_path: Path, forge: Callable[[dict[str, Any]], str]
) -> None:
    """The organisation passes only when every system was judged and passed. A statement that
    said `pass` beside a failed system verified (exit 0, `organisation verdict pass`), as did
    one that called the failed system's verdict a pass over its own failing audit, and one
    that listed a passing system twice, the failed system gone (`3 passed`)."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    said = forge(statement)
    (tmp_path / "org.json").write_text(sign_statement(statement, load_private(str(private)))[0])
    result = run_cli("verify", tmp_path / "org.json", "--key", pub)
    assert result.code == 1 and result.out == "", result.out
    assert f"verification failed (verdict): {tmp_path / 'org.json'}: {said}" in result.err
    assert run_cli("verify", org.root / "mar.json", "--key", pub).code == 0


def test_replay_needs_the_organisation_file_and_a_known_system(org: Org) -> None:
    _, pub = org.key("central")
    no_org = run_cli("verify", org.root / "mar.json", "--key", pub, "--replay")
    assert no_org.code == 2 and "needs --org" in no_org.err
    unknown = run_cli(
        "verify", org.root / "mar.json", "--key", pub, "--replay", "--org", org.file,
        "--system", "payroll",
    )  # fmt: skip
    assert unknown.code == 2 and "--system payroll: no such system" in unknown.err


def test_a_repository_and_evidence_given_to_an_organisations_replay_are_refused(
    org: Org, tmp_path: Path
) -> None:
    """An organisation's systems are replayed where org.yaml places them: a --repo and
    --evidence were passed over, and the replay confirmed the attestation on other files than
    the ones the auditor named."""
    _, pub = org.key("central")
    for replay in ((), ("--replay", "--org", org.file)):
        result = run_cli(
            "verify", org.root / "mar.json", "--key", pub, *replay, "--repo", tmp_path,
            "--evidence", tmp_path,
        )  # fmt: skip
        assert result.code == 2 and result.out == ""
        assert "--repo and --evidence go with --replay of a repository's audit" in result.err


def test_policies_given_to_an_organisations_verify_without_replay_are_refused(
    org: Org, tmp_path: Path
) -> None:
    """``--policies`` says what a replay judges with, and without ``--replay`` nothing is
    judged: verify printed every system's verdict and exited 0, as though they had been."""
    _, pub = org.key("central")
    (tmp_path / "rules").mkdir()
    result = run_cli(
        "verify", org.root / "mar.json", "--key", pub, "--policies", tmp_path / "rules"
    )
    assert result.code == 2 and result.out == ""
    assert "--policies goes with --replay" in result.err
    engine = run_cli("verify", org.root / "mar.json", "--key", pub, "--policy-timeout", "5")
    assert engine.code == 2 and engine.out == ""
    assert "--policy-timeout goes with --replay: without it verify judges no system" in engine.err


def test_a_system_that_cannot_be_judged_is_listed_and_fails_the_organisation(
    tmp_path: Path,
) -> None:
    org = three_teams(tmp_path)
    shutil.rmtree(org.root / "repos/ledger")
    (org.root / "repos/web/compliance/deploys.yaml").write_text("- id: [not, a, name]\n")
    (org.root / "repos/payments/compliance/deploys.yaml").unlink()
    (org.root / "repos/payments/compliance/fleet.yaml").unlink()
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 1, result.err
    p = predicate(org.root / "org.json")
    assert p["verdict"] == "fail"
    assert p["summary"]["not_judged"] == 3 and p["summary"]["passed"] == 0
    reasons = {s["name"]: s["reason"] for s in p["systems"]}
    assert reasons["ledger"] == "repository repos/ledger not found"
    assert "deploys.yaml:1" in reasons["web"]
    assert "deploys" in reasons["payments"]
    for name in reasons:
        assert f"system {name}: not judged: " in result.err
    # Nothing of this machine's directories in what is signed.
    assert str(tmp_path) not in json.dumps(p)


def test_every_system_passing_is_an_organisation_pass(tmp_path: Path) -> None:
    org = three_teams(tmp_path)
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 0, result.err
    assert predicate(org.root / "org.json")["verdict"] == "pass"
    assert "PASS: 3 systems, 3 passed, 0 failed, 0 not judged" in result.err


def test_a_repository_given_by_git_url_is_cloned_and_judged(tmp_path: Path) -> None:
    org = Org(tmp_path / "org")
    org.root.mkdir()
    make_system(tmp_path / "elsewhere", "ledger", "ledger")
    source = tmp_path / "elsewhere/ledger"
    evidence = {f"compliance/{p.name}": p.read_text() for p in (source / "compliance").iterdir()}
    ScriptedRepo(source).commit("evidence", evidence, author=DEV, date="2024-04-01T00:00:00Z")
    url = source.as_uri()
    org.systems = [{"name": "ledger", "repository": url, "services": ["ledger"], "owner": "t"}]
    org.write()
    result = org.audit("org.json")
    assert result.code == 0, result.err
    (system,) = predicate(org.root / "org.json")["systems"]
    assert system["repository"] == url and system["status"] == "judged"
    org.systems[0]["repository"] = url + "-missing"
    org.write()
    missing = org.audit("org2.json")
    assert missing.code == 1
    (system,) = predicate(org.root / "org2.json")["systems"]
    assert system["status"] == "not judged" and "cannot clone" in system["reason"]


def test_evidence_kept_beside_the_repositories_is_read_from_there(tmp_path: Path) -> None:
    org = Org(tmp_path)
    make_system(tmp_path / "repos", "ledger", "ledger", evidence_in_repo=False)
    org.systems = [
        {
            "name": "ledger",
            "repository": "repos/ledger",
            "evidence": "repos/ledger-evidence",
            "services": [{"name": "ledger", "paths": ["ledger/**"]}],
            "owner": "t",
        }
    ]
    org.write()
    result = org.audit("org.json")
    assert result.code == 0, result.err
    (system,) = predicate(org.root / "org.json")["systems"]
    assert system["evidence"] == "repos/ledger-evidence"
    assert system["services"] == [{"name": "ledger", "paths": ["ledger/**"]}]


def test_the_attestation_chains_to_last_months(org: Org, tmp_path: Path) -> None:
    # No deployment in February: not judged, unless org.yaml states the month was quiet.
    unsaid = org.audit(tmp_path / "unsaid.json", "--period", "2024-02", "--workers", "0")
    assert unsaid.code == 1 and "no deployment of service ledger in 2024-02" in unsaid.err
    feb = org.quiet("2024-02").audit(tmp_path / "feb.json", "--period", "2024-02", "--workers", "0")
    assert feb.code == 0, feb.err
    assert {s["audit"]["deployments"] for s in predicate(tmp_path / "feb.json")["systems"]} == {0}
    mar = org.audit(tmp_path / "mar.json", "--previous", tmp_path / "feb.json", "--workers", "0")
    assert mar.code == 1, mar.err
    _, pub = org.key("central")
    linked = run_cli(
        "verify", tmp_path / "mar.json", "--key", pub, "--previous", tmp_path / "feb.json"
    )
    assert linked.code == 0 and "chain: linked to 2024-02" in linked.out
    # The organisation's key rotated in March: chained with the old key's public file.
    rotated, rotated_pub = org.key("central-2025")
    extra = ("--previous", tmp_path / "feb.json", "--workers", "0", "--key", rotated)
    refused = org.audit(tmp_path / "mar2.json", *extra)
    assert refused.code == 2 and "--previous-key" in refused.err, refused.err
    assert org.audit(tmp_path / "mar2.json", *extra, "--previous-key", pub).code == 1
    chained = run_cli(
        "verify", tmp_path / "mar2.json", "--key", rotated_pub, "--previous", tmp_path / "feb.json",
        "--previous-key", pub,
    )  # fmt: skip
    assert chained.code == 0, chained.err
    assert "chain: linked to 2024-02" in chained.out and ", signed by key" in chained.out
    # A one-repository audit is not an organisation's previous month.
    private, _ = org.key("central")
    single = run_cli(
        "audit", "--repo", org.root / "repos/ledger", "--period", "2024-02", "--as-of",
        "2024-04-30", "--key", private, "-o", tmp_path / "single.json",
    )  # fmt: skip
    assert single.code == 0, single.err
    wrong = org.audit(tmp_path / "x.json", "--previous", tmp_path / "single.json")
    assert wrong.code == 2 and "same kind" in wrong.err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--repo", "."], "--repo does not go with --org"),
        (["--evidence", "ev"], "--evidence does not go with --org"),
        (["--baseline", "HEAD"], "--baseline does not go with --org"),
        (["--scheduler", "localhost:8786"], "expected the scheduler's address"),
        (["--scheduler", "tcp://h:1", "--workers", "2"], "--workers sizes the local cluster"),
        (["--workers", "-1"], "must be 0"),
    ],
)
def test_options_that_make_no_sense_with_an_organisation_are_refused(
    org: Org, tmp_path: Path, extra: list[str], said: str
) -> None:
    result = org.audit(tmp_path / "x.json", *extra)
    assert result.code == 2 and said in result.err
    assert not (tmp_path / "x.json").exists()


def test_organisation_options_without_an_organisation_are_refused(org: Org, tmp_path: Path) -> None:
    private, _ = org.key("central")
    result = run_cli(
        "audit", "--repo", org.root / "repos/ledger", "--period", "2024-03", "--key", private,
        "-o", tmp_path / "x.json", "--workers", "2",
    )  # fmt: skip
    assert result.code == 2 and "--workers goes with --org" in result.err


def test_a_sample_is_drawn_from_one_systems_audit(org: Org) -> None:
    _, pub = org.key("central")
    drawn = run_cli(
        "sample", org.root / "mar.json", "--key", pub, "--size", "1", "--seed", "s",
        "--system", "payments", "--format", "json",
    )  # fmt: skip
    assert drawn.code == 0, drawn.err
    (item,) = drawn.json()["items"]
    assert item["id"] == "PAY-1" and item["service"] == "pay"
    unnamed = run_cli("sample", org.root / "mar.json", "--key", pub, "--size", "1", "--seed", "s")
    assert unnamed.code == 2 and "--system NAME" in unnamed.err


def test_the_attestation_is_never_written_into_a_system(org: Org, tmp_path: Path) -> None:
    for target in ("repos/web/compliance/deploys.yaml", "repos/ledger/out.json"):
        before = (org.root / target).read_bytes() if (org.root / target).exists() else None
        result = org.audit(org.root / target, "--workers", "0")
        assert result.code == 2 and "cannot write" in result.err and "inside system" in result.err
        after = (org.root / target).read_bytes() if (org.root / target).exists() else None
        assert before == after
    own = org.audit(org.file)
    assert own.code == 2 and "this run read it as an input" in own.err


def test_a_directory_that_is_not_a_git_repository_is_not_judged(tmp_path: Path) -> None:
    org = three_teams(tmp_path)
    shutil.rmtree(org.root / "repos/web/.git")
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 1
    assert "system web: not judged: repos/web: not a git repository" in result.err


def test_a_services_paths_reach_its_judging_as_the_auditors_service_paths(tmp_path: Path) -> None:
    """org.yaml's ``paths`` are handed to the system's judging from the auditor's side (the
    command line's layer), as the rules' ``service_paths`` parameter."""
    org = Org(tmp_path)
    make_system(tmp_path / "repos", "mono", "pay")
    org.systems = [
        {
            "name": "mono",
            "repository": "repos/mono",
            "owner": "t",
            "services": [{"name": "pay", "paths": ["pay/**"]}, "other"],
        }
    ]
    (system,) = load_org(org.write()).systems
    assert system.service_paths == {"pay": ["pay/**"]}
    options = CheckOptions(org_settings={"service_paths": system.service_paths}, fail_on="low")
    assert options.overrides() == {"service_paths": {"pay": ["pay/**"]}, "fail_on": "low"}
    # A replay applies exactly what the report recorded, never org.yaml of today.
    replayed = CheckOptions(org_settings={"service_paths": {}}, recorded={"fail_on": "high"})
    assert replayed.overrides() == {"fail_on": "high"}


def test_the_month_still_running_is_attested_partial_in_every_system(
    org: Org, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    month = f"{now.year:04d}-{now.month:02d}"
    refused = org.audit(tmp_path / "x.json", "--period", month, "--as-of", now.date().isoformat())
    assert refused.code == 2 and "has not ended" in refused.err
    result = org.quiet(month).audit(
        tmp_path / "now.json", "--period", month, "--as-of", now.date().isoformat(),
        "--partial", "--workers", "0",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "organisation audit " + month + " (partial)" in result.err
    p = predicate(tmp_path / "now.json")
    assert p["partial"] is True
    assert all(s["audit"]["partial"] is True for s in p["systems"])


def test_a_mistake_in_the_auditors_settings_is_one_error_not_every_system(
    org: Org, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.rego").write_text(
        "package broken\n\n# METADATA\n# title: t\n# description: d\n# custom:\n"
        "#   id: ORG-009\n#   severity: low\n#   controls: [c]\n#   message: m\n"
        "this is not rego\n"
    )
    broken = org.audit(tmp_path / "x.json", "--policies", rules)
    assert broken.code == 2 and "broken.rego" in broken.err
    missing = org.audit(tmp_path / "x.json", "--config", tmp_path / "auditor.yaml")
    assert missing.code == 2 and "auditor.yaml: configuration file not found" in missing.err
    (tmp_path / "auditor.yaml").write_text("fail_onn: low\n")
    typo = org.audit(tmp_path / "x.json", "--config", tmp_path / "auditor.yaml")
    assert typo.code == 2 and "auditor.yaml:1:" in typo.err and "fail_onn" in typo.err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("scoped", [True, False], ids=["paths", "no-paths"])
def test_a_monorepos_path_scoped_services_are_judged_on_their_own_files(
    tmp_path: Path, scoped: bool
) -> None:
    """The monorepo example audited as one system of an organisation: org.yaml's paths scope
    each service (the orders commit nobody reviewed fails the orders deployment that shipped
    it, not the payments deployment of the same commit); without paths, it fails both (the
    repository's own knightwatch.yaml never scopes an audit)."""
    from tests.test_examples import EXAMPLES, check_args

    case = next(c for c in EXAMPLES if c.name == "monorepo-services")
    _, shas = check_args(case, tmp_path / "mono")
    org = Org(tmp_path)
    services: list[Any] = [
        {"name": "payments", "paths": ["services/payments/**", "libs/money/**"]},
        {"name": "orders", "paths": ["services/orders/**"]},
    ]
    org.systems = [
        {
            "name": "mono",
            "repository": "mono/repo",
            "evidence": "mono/evidence",
            "owner": "platform",
            "services": services if scoped else ["payments", "orders"],
        }
    ]
    org.write()
    private, _ = org.key("central")
    result = run_cli(
        "audit", "--org", org.file, "--period", "2024-06", "--as-of", "2024-07-01",
        "--key", private, "-o", tmp_path / "org.json", "--workers", "0",
    )  # fmt: skip
    assert result.code == 1, result.err
    (system,) = predicate(tmp_path / "org.json")["systems"]
    findings = system["audit"]["report"]["findings"]
    review = {f["subject"] for f in findings if f["rule"] == "REVIEW-002"}
    assert review == {shas["orders-fix"]}
    message = next(f["message"] for f in findings if f["rule"] == "REVIEW-002")
    assert "ORD-2" in message
    assert ("PAY-2" in message) is not scoped


def test_a_replay_with_another_org_yaml_than_the_one_attested_fails(
    org: Org, tmp_path: Path
) -> None:
    _, pub = org.key("central")
    kept = org.file.read_bytes()
    try:
        # The same systems, a byte apart: not the file attested.
        org.file.write_bytes(kept + b"# edited after the audit\n")
        edited = run_cli(
            "verify", org.root / "mar.json", "--key", pub, "--replay", "--org", org.file
        )
        assert edited.code == 1, edited.err
        assert "org.yaml (sha256 " in edited.err and "is not the organisation file attested" in (
            edited.err
        )
        # A system's service paths changed: named.
        org.write(
            {
                "systems": [
                    {**s, "services": [{"name": s["services"][0], "paths": ["pay/**"]}]}
                    if s["name"] == "payments"
                    else s
                    for s in org.systems
                ]
            }
        )
        scoped = run_cli(
            "verify", org.root / "mar.json", "--key", pub, "--replay", "--org", org.file
        )
        assert scoped.code == 1, scoped.err
        assert "system payments: its repository, evidence, services or paths in org.yaml" in (
            scoped.err
        )
    finally:
        org.file.write_bytes(kept)


@pytest.mark.parametrize("renamed", [False, True])
def test_a_deployment_recorded_after_its_month_was_attested_is_judged_next_month(
    tmp_path: Path, renamed: bool
) -> None:
    """March is attested for the organisation; then ledger's deploy tool records a deployment
    of an unreviewed commit on 31 March. April's organisation audit, chained to March, judges
    it in ledger's audit (April is otherwise quiet): ledger fails, and the organisation. A
    system renamed in org.yaml is found by its repository and evidence (by its name alone,
    the late record passed)."""
    org = three_teams(tmp_path)
    mar = org.audit("mar.json", "--workers", "0")
    assert mar.code == 0, mar.err
    ledger = ScriptedRepo(tmp_path / "repos" / "ledger")
    late = ledger.commit("hotfix", {"ledger/app.py": "print(2)\n"}, author=DEV,
                         date="2024-03-30T09:00:00Z")  # fmt: skip
    deploys = tmp_path / "repos" / "ledger" / "compliance" / "deploys.yaml"
    records = yaml.safe_load(deploys.read_text())
    extra = {**records[0], "id": "LEDGER-2", "commit": late, "started_at": "2024-03-31T23:00:00Z"}
    deploys.write_text(yaml.safe_dump([*records, extra]))
    if renamed:
        org.systems[0] = {**org.systems[0], "name": "ledger-v2"}
        org.write()
    quiet = org.quiet("2024-04")
    private, _ = org.key("central")
    april = run_cli(
        "audit", "--org", quiet.file, "--period", "2024-04", "--as-of", "2024-05-01", "--key",
        private, "-o", tmp_path / "apr.json", "--workers", "0", "--previous", tmp_path / "mar.json",
    )  # fmt: skip
    assert april.code == 1, april.err
    systems = {s["name"]: s for s in predicate(tmp_path / "apr.json")["systems"]}
    ledger = systems["ledger-v2" if renamed else "ledger"]
    assert ledger["status"] == "judged" and ledger["verdict"] == "fail"
    judged = ledger["audit"]["population"]["deployments"]
    assert [d["id"] for d in judged] == ["LEDGER-2"]
    assert systems["payments"]["verdict"] == systems["web"]["verdict"] == "pass"
    # Its replay judges the late record again, as the audit did (before, it left it out, and
    # an honest month failed: "no longer found: REVIEW-002 ...").
    _, public = org.key("central")
    replayed = run_cli(
        "verify", tmp_path / "apr.json", "--key", public, "--replay", "--org", quiet.file,
        "--system", ledger["name"],
    )  # fmt: skip
    assert replayed.code == 0, replayed.out + replayed.err
    assert f"replay {ledger['name']}: replayed" in replayed.out


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ({"name": "release"}, "is not the one its parameters name, 'main'"),
        ({"ref": "refs/tags/main"}, "is not read from a ref that branch is read from"),
    ],
)
def test_a_system_whose_recorded_branch_was_edited_fails_verify(
    org: Org, tmp_path: Path, edit: dict[str, str], said: str
) -> None:
    """A system's protected branch edited (named ``release`` under ``protected_branch:
    main``, or read from a tag) and the attestation signed again verified, its line naming
    the edited branch; ``verify`` and ``sample --system`` fail it as one repository's."""
    private, pub = org.key("central")
    statement = json.loads(
        base64.b64decode(json.loads((org.root / "mar.json").read_text())["payload"])
    )
    web = next(s for s in statement["predicate"]["systems"] if s["name"] == "web")
    web["audit"]["report"]["inputs"]["repository"]["protected_branch"].update(edit)
    signed = tmp_path / "org.json"
    signed.write_text(sign_statement(statement, load_private(str(private)))[0])
    shown = run_cli("verify", signed, "--key", pub)
    assert shown.code == 1 and shown.out == "", shown.out
    assert f"verification failed (verdict): {signed}: system web: its report's protected " in (
        shown.err
    )
    assert said in shown.err
    sampled = run_cli(
        "sample", signed, "--key", pub, "--system", "web", "--size", "1", "--seed", "s"
    )
    assert sampled.code == 2 and said in sampled.err, sampled.err
