"""Evidence that does not join up never ends in a pass: the realistic mistakes that once turned
a failing audit into a PASS, each now an input error naming the value, or a verdict that says
what it could not judge."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.demo.knight import KnightCase, build_knight
from checker.evidence import bundle
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

APPROVAL = [{"by": "lee@example.com", "at": "2024-01-01T12:00:00Z"}]


@pytest.fixture(scope="module")
def knight(tmp_path_factory: pytest.TempPathFactory) -> KnightCase:
    return build_knight(tmp_path_factory.mktemp("knight") / "knight")


def edited(knight: KnightCase, tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the Knight evidence with one text replaced in one file."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for path in knight.evidence.iterdir():
        text = path.read_text()
        (evidence / path.name).write_text(text.replace(old, new, 1) if path.name == name else text)
    return evidence


def knight_check(knight: KnightCase, evidence: Path, *extra: str) -> CliResult:
    return run_cli("check", "--repo", knight.repo, "--evidence", evidence, *extra)


def test_the_knight_case_with_a_one_letter_service_typo_is_refused(
    knight: KnightCase, tmp_path: Path
) -> None:
    """Once: FLEET-001 stopped judging the deployment, smars-08 vanished, verdict PASS."""
    evidence = edited(knight, tmp_path, "deploys.yaml", "service: smars", "service: smars_prod")
    result = knight_check(knight, evidence)
    assert result.code == 2
    assert "deploys.yaml:" in result.err
    assert "service 'smars_prod' is not in fleet.yaml (did you mean 'smars'?)" in result.err
    assert "unlisted_services" in result.err  # and how to say it is deliberate


def test_a_flag_event_in_another_environment_spelling_is_refused(
    knight: KnightCase, tmp_path: Path
) -> None:
    """Once: FLEET-003 judged no event, and the switch that cost $460 million passed."""
    evidence = edited(knight, tmp_path, "flag_events.yaml", "production", "prod")
    result = knight_check(knight, evidence)
    assert result.code == 2
    assert "flag_events.yaml:1: flag event power_peg@2012-08-01T13:30:00Z" in result.err
    assert "environment 'prod' is not an environment any deployment names" in result.err
    assert "(did you mean 'production'?)" in result.err


def test_a_flag_event_in_an_environment_its_service_is_not_deployed_to_is_refused(
    tmp_path: Path,
) -> None:
    """web is deployed to production alone; api, to staging. A flag switched on for web while
    D2 was still rolling out, labelled staging (a name api's deployments make known), found no
    deployment of web in staging to ask about, and passed on observations made before D2:
    exit 0, FLEET-003 evaluated and complete. Labelled production, it is a finding."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    v1 = repo.commit("v1", {"app": "1"}, author=DEV, date="2024-01-01T00:00:00Z",
                     trailers=reviewed)  # fmt: skip
    v2 = repo.commit("v2", {"app": "2"}, author=DEV, date="2024-01-02T00:00:00Z",
                     trailers=reviewed)  # fmt: skip
    targets = [{"host": h, "status": "succeeded"} for h in ("w1", "w2")]
    records = [
        deployment("D1", v1, "2024-01-03T10:00:00Z", approvals=APPROVAL, targets=targets),
        deployment("D2", v2, "2024-01-04T10:00:00Z", approvals=APPROVAL, targets=targets),
        deployment("A1", v2, "2024-01-04T10:00:00Z", approvals=APPROVAL, service="api",
                   environment="staging", targets=[{"host": "a1", "status": "succeeded"}]),
    ]  # fmt: skip
    for record in records:
        record["finished_at"] = record["started_at"].replace("T10:00", "T10:30")
    evidence = tmp_path / "evidence"
    write_yaml(evidence / "deploys.yaml", records)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["w1", "w2"]},
                                                      "api": {"hosts": ["a1"]}}})  # fmt: skip
    write_yaml(evidence / "observations.yaml", [
        {"host": h, "service": "web", "version": v1, "observed_at": "2024-01-03T11:00:00Z"}
        for h in ("w1", "w2")
    ])  # fmt: skip

    def switched_in(environment: str) -> CliResult:
        write_yaml(evidence / "flag_events.yaml", [{
            "flag": "new_mode", "service": "web", "environment": environment, "enabled": True,
            "at": "2024-01-04T10:15:00Z", "by": "ops@example.com",
        }])  # fmt: skip
        return run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "json")

    labelled = switched_in("production")
    assert labelled.code == 1, labelled.err
    assert [f["rule"] for f in labelled.json()["findings"]] == ["FLEET-003"]
    result = switched_in("staging")
    assert result.code == 2, result.out
    assert (
        "flag_events.yaml:1: flag event new_mode@2024-01-04T10:15:00Z: environment 'staging': "
        "no deployment of web names it (web is deployed to production)"
    ) in result.err


def test_a_flag_event_for_a_misspelt_flag_is_refused(knight: KnightCase, tmp_path: Path) -> None:
    evidence = edited(knight, tmp_path, "flag_events.yaml", "power_peg", "power_pg")
    result = knight_check(knight, evidence)
    assert result.code == 2
    assert "flag 'power_pg' is in no version of the flag registry" in result.err
    assert "(did you mean 'power_peg'?)" in result.err


def test_a_month_without_flag_events_does_not_judge_fleet_003(
    knight: KnightCase, tmp_path: Path
) -> None:
    run_cli("keygen", "--output", tmp_path / "k")
    args = ["--repo", knight.repo, "--key", tmp_path / "k.key", "--as-of", "2012-10-01"]
    result = run_cli("audit", *args, "--period", "2012-07", "-o", tmp_path / "jul.json")
    assert result.code == 1, result.err
    report = _signed_report(tmp_path / "jul.json")
    statuses = {r["id"]: r for r in report["summary"]["rules"]}
    assert statuses["FLEET-003"]["status"] == "not_evaluated"
    assert statuses["FLEET-003"]["reason"] == "no flag events in 2012-07"
    # August's audit holds the switch itself, and FLEET-003 judges it although the deployment
    # it follows started in July.
    result = run_cli("audit", *args, "--period", "2012-08", "-o", tmp_path / "aug.json")
    found = {(f["rule"], f["subject"]) for f in _signed_report(tmp_path / "aug.json")["findings"]}
    assert ("FLEET-003", "power_peg@2012-08-01T13:30:00Z") in found
    assert "no deployments in 2012-08" in result.err


def _signed_report(path: Path) -> dict[str, object]:
    envelope = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    return statement["predicate"]["report"]  # type: ignore[no-any-return]


@pytest.fixture
def shop(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    """A reviewed commit, approved and deployed to its whole fleet; no flag registry."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "c",
        {"a.py": "print(1)\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    evidence = tmp_path / "ev"
    write_yaml(
        evidence / "deploys.yaml",
        [
            {
                **deployment("D1", sha, "2024-01-02T00:00:00Z", approvals=APPROVAL),
                "finished_at": "2024-01-02T00:10:00Z",
            }
        ],
    )
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    return repo, evidence


def check(shop: tuple[ScriptedRepo, Path], *extra: str) -> CliResult:
    repo, evidence = shop
    return run_cli("check", "--repo", repo.path, "--evidence", evidence, *extra)


def test_rules_without_evidence_make_a_visibly_incomplete_pass(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """No registry in the repository: the dead-code rules were once "evaluated" and passed."""
    result = check(shop)
    assert result.code == 0
    verdict = result.out.splitlines()[-1]
    assert verdict.startswith(
        "PASS (incomplete: 9 rules not evaluated, 1 judged on part of its evidence): no findings;"
    )
    assert "DEAD-001    no flag registry (flags.yaml) in the repository" in result.out
    report = check(shop, "--format", "json").json()
    assert report["verdict"] == "pass"
    assert report["summary"]["complete"] is False
    assert report["summary"]["incomplete"] == [
        *(f"DEAD-00{n}" for n in range(1, 8)),
        "FLEET-002",
        "FLEET-003",
    ]


def test_require_all_turns_an_incomplete_pass_into_a_failure(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    result = check(shop, "--require-all", "--format", "json")
    assert result.code == 1
    report = result.json()
    assert report["verdict"] == "fail" and report["summary"]["require_all"] is True
    assert report["summary"]["failing"] == 0  # no finding: the gaps alone fail it
    text = check(shop, "--require-all").out.splitlines()[-1]
    assert text.startswith("FAIL (incomplete: ")
    assert "and --require-all is set" in text
    repo, _ = shop
    (repo.path / "knightwatch.yaml").write_text("require_all: true\n")
    assert check(shop).code == 1
    junit = check(shop, "--format", "junit").out
    assert 'type="incomplete"' in junit


def test_observations_that_cover_no_deployment_do_not_judge_fleet_002(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    repo, evidence = shop
    sha = repo.git("rev-parse", "HEAD").strip()
    (evidence / "observations.jsonl").write_text(
        json.dumps(
            # seen before the deployment finished: in no deployment's window
            {
                "host": "web-1",
                "service": "web",
                "version": sha,
                "observed_at": "2024-01-01T00:00:00Z",
            }
        )
        + "\n"
    )
    statuses = {r["id"]: r for r in check(shop, "--format", "json").json()["summary"]["rules"]}
    assert statuses["FLEET-002"]["status"] == "not_evaluated"
    assert statuses["FLEET-002"]["reason"] == "no observations after any deployment"


def test_a_registry_deleted_before_the_deployed_commit_is_not_a_pass(tmp_path: Path) -> None:
    """Deleting flags.yaml once made every dead-code rule pass on the next deployment."""
    repo = ScriptedRepo(tmp_path / "repo")
    registry = yaml.safe_dump(
        {
            "flags": [
                {
                    "name": "power_peg",
                    "purpose": "test strategy",
                    "owner": "smars",
                    "status": "retired",
                    "created": "2003-06-02",
                    "retired_at": "2005-03-14",
                }
            ]
        }
    )
    reviewed = (f"Reviewed-by: {LEAD}",)
    repo.commit(
        "flags",
        {"flags.yaml": registry, "a.py": "power_peg = 1\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=reviewed,
    )
    repo.git("rm", "-q", "flags.yaml")
    sha = repo.commit(
        "drop the registry", {}, author=DEV, date="2024-01-02T00:00:00Z", trailers=reviewed
    )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-03T00:00:00Z", approvals=APPROVAL)],
    )
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json"
    )
    assert result.code == 1, result.err
    found = {f["rule"]: f for f in result.json()["findings"]}
    assert found["DEAD-006"]["subject"] == f"{sha}:flags.yaml"
    assert "deleting the registry does not retire its flags" in found["DEAD-006"]["message"]


def test_unlisted_services_are_accepted_and_said(shop: tuple[ScriptedRepo, Path]) -> None:
    repo, evidence = shop
    sha = repo.git("rev-parse", "HEAD").strip()
    records = yaml.safe_load((evidence / "deploys.yaml").read_text())
    batch = deployment(
        "B1",
        sha,
        "2024-01-03T00:00:00Z",
        approvals=APPROVAL,
        service="batch",
        targets=[{"host": "batch-1", "status": "succeeded"}],
    )
    write_yaml(evidence / "deploys.yaml", [*records, batch])
    assert check(shop).code == 2  # batch is in no inventory
    (repo.path / "knightwatch.yaml").write_text("unlisted_services: [batch]\n")
    report = check(shop, "--format", "json").json()
    assert report["verdict"] == "pass"
    assert report["parameters"]["unlisted_services"] == ["batch"]
    statuses = {r["id"]: r for r in report["summary"]["rules"]}
    assert statuses["FLEET-001"]["reason"] == (
        "services outside the inventory (unlisted_services) not judged: batch"
    )
    assert not [f for f in report["findings"] if f["rule"] == "FLEET-004"]
    (repo.path / "knightwatch.yaml").write_text("unlisted_services: [batch, web]\n")
    result = check(shop)
    assert result.code == 2
    assert "service 'web' is both in fleet.yaml and in unlisted_services" in result.err


def test_files_that_are_not_evidence_are_named_or_refused(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    repo, evidence = shop
    (evidence / "README.md").write_text("Exported nightly by ops.\n")
    (evidence / ".gitkeep").write_text("")
    (evidence / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden, and named for no evidence
    (evidence / ".git").mkdir()
    (evidence / "superseded.jsonl").write_text('{"kind": "reviews", "id": "1"}\n')
    assert check(shop).code == 0
    roles = {
        f["path"]: f["role"] for f in check(shop, "--format", "json").json()["inputs"]["files"]
    }
    assert roles["superseded.jsonl"] == "trace"  # the importers' trace: digested, not judged
    (evidence / "export.log").write_text("ok\n")
    result = check(shop)
    assert result.code == 2 and "export.log is not an evidence file" in result.err
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: ['*.log']\n")
    report = check(shop, "--format", "json").json()
    assert report["inputs"]["ignored"] == ["export.log"]
    assert "Not evidence (evidence_ignore): export.log" in check(shop).out


def test_evidence_ignore_does_not_pass_over_a_kinds_only_file(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """``*.json``, meant for an export's leftovers, also took ``observations.json``: host web-1
    seen running a commit never deployed went unjudged, and the check passed."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / "observations.json").write_text(json.dumps([seen]))
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: ['*.json']\n")
    result = check(shop)
    assert result.code == 2
    assert "observations.json matches evidence_ignore '*.json'" in result.err
    assert "rename it to observations.yaml" in result.err
    (evidence / "observations.json").rename(evidence / "observations.yaml")
    assert "FLEET-002" in check(shop).out and check(shop).code == 1
    (evidence / "observations.json").write_text("[]")  # beside the real one: not evidence
    report = check(shop, "--format", "json").json()
    assert report["inputs"]["ignored"] == ["observations.json"]


@pytest.mark.parametrize("name", ["deploy.yaml", "deploys.yaml~", "notes.yaml"])
def test_evidence_ignore_does_not_pass_over_records_no_file_read_holds(
    shop: tuple[ScriptedRepo, Path], name: str
) -> None:
    """``deploy.yaml`` held deployment D2, of a commit no one reviewed, beside deploys.yaml;
    ``evidence_ignore: [deploy.yaml]`` passed it over, and the check passed (exit 0): D2 was
    judged by no rule. A copy of records deploys.yaml holds (a backup), or a file holding
    none, may still be ignored: ignoring is for what is not evidence."""
    repo, evidence = shop
    unreviewed = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV,
                             date="2024-01-03T00:00:00Z")  # fmt: skip
    records = yaml.safe_load((evidence / "deploys.yaml").read_text())
    d2 = {**deployment("D2", unreviewed, "2024-01-04T00:00:00Z", approvals=APPROVAL),
          "finished_at": "2024-01-04T00:10:00Z"}  # fmt: skip
    write_yaml(evidence / name, [d2])
    (repo.path / "knightwatch.yaml").write_text(f"evidence_ignore: [{name!r}]\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert f"{name} matches evidence_ignore {name!r}, but holds 1 deployment record(s) that " in (
        result.err
    )
    assert "deploys.yaml does not hold: ignored, they would be judged by no rule" in result.err
    write_yaml(evidence / "deploys.yaml", [*records, d2])
    assert "REVIEW-002" in check(shop).out  # where it belongs, D2 fails
    write_yaml(evidence / "deploys.yaml", records)
    (evidence / name).write_text((evidence / "deploys.yaml").read_text())  # a copy
    assert check(shop, "--format", "json").json()["inputs"]["ignored"] == [name]
    (evidence / name).write_text("# exported by hand, see the ticket\n")
    assert check(shop, "--format", "json").json()["inputs"]["ignored"] == [name]


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ("multi", "holds 1 deployment record(s) that deploys.yaml does not hold"),
        ("latin1", "in what does not read whole as UTF-8 YAML or JSON Lines"),
        ("nested", "holds 2 observation record(s) that no file read holds"),
        ("lists", "holds 1 observation record(s) that no file read holds"),
    ],
)
def test_evidence_ignore_looks_for_records_in_any_form(
    shop: tuple[ScriptedRepo, Path], form: str, said: str
) -> None:
    """A deployment of a commit no one reviewed in a second YAML document, or after a byte
    that is not UTF-8, an observation under a key or in a list of lists: each was ignored by
    ``evidence_ignore: [notes.yaml]``, and the check passed (exit 0)."""
    repo, evidence = shop
    unreviewed = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV,
                             date="2024-01-03T00:00:00Z")  # fmt: skip
    [d1] = yaml.safe_load((evidence / "deploys.yaml").read_text())
    d2 = {**deployment("D2", unreviewed, "2024-01-04T00:00:00Z", approvals=APPROVAL),
          "finished_at": "2024-01-04T00:10:00Z"}  # fmt: skip
    seen = {"host": "web-1", "service": "web", "version": unreviewed,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    data = {
        "multi": yaml.safe_dump_all([d1, d2]).encode(),
        "latin1": json.dumps(d2).encode() + b"\n# caf\xe9\n",
        "nested": yaml.safe_dump({"items": [seen]}).encode(),
        "lists": yaml.safe_dump([[seen]]).encode(),
    }[form]
    (evidence / "notes.yaml").write_bytes(data)
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: [notes.yaml]\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert "notes.yaml matches evidence_ignore 'notes.yaml', but " in result.err
    assert said in result.err
    (evidence / "notes.yaml").write_bytes(yaml.safe_dump_all([d1, d1]).encode())
    assert check(shop).code == 0  # what deploys.yaml holds, in two documents, may be ignored


def test_evidence_ignore_does_not_pass_over_records_inside_a_directory_it_takes(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """``evidence_ignore: [archive]`` took ``archive/d2.yaml``, holding a deployment of a
    commit no one reviewed that deploys.yaml does not: only files named for evidence were
    looked for inside, and the check passed (exit 0), the deployment judged by no rule."""
    repo, evidence = shop
    unreviewed = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV,
                             date="2024-01-03T00:00:00Z")  # fmt: skip
    [d1] = yaml.safe_load((evidence / "deploys.yaml").read_text())
    d2 = {**deployment("D2", unreviewed, "2024-01-04T00:00:00Z"),
          "finished_at": "2024-01-04T00:10:00Z"}  # fmt: skip
    write_yaml(evidence / "archive" / "2024" / "d2.yaml", [d1, d2])
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: [archive]\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert "archive/2024/d2.yaml matches evidence_ignore 'archive', but holds 1 deployment " in (
        result.err
    )
    write_yaml(evidence / "archive" / "2024" / "d2.yaml", [d1])
    assert check(shop).code == 0  # an older export, of what deploys.yaml holds


def test_a_hidden_evidence_file_is_neither_passed_over_nor_ignored_alone(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """Saved hidden, ``.observations.jsonl`` was passed over without a word: host web-1 seen
    running a commit never deployed went unjudged, and the check passed. Nor may ``.*`` in
    evidence_ignore take it while no observations file is read; beside one, it may."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / ".observations.jsonl").write_text(json.dumps(seen) + "\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert ".observations.jsonl is not read" in result.err
    assert "rename it to observations.jsonl" in result.err
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: ['.*']\n")
    result = check(shop)
    assert result.code == 2
    assert ".observations.jsonl matches evidence_ignore '.*'" in result.err
    (evidence / ".observations.jsonl").rename(evidence / "observations.jsonl")
    assert "FLEET-002" in check(shop).out and check(shop).code == 1
    (evidence / ".observations.jsonl.swp").write_bytes(b"b0VIM 9.0")  # an editor's, beside it
    report = check(shop, "--format", "json").json()
    assert report["inputs"]["ignored"] == [".observations.jsonl.swp"]


@pytest.mark.parametrize(
    "name",
    [".prod.observations.jsonl", ".export_observations_2024-05.jsonl", "prod.observations.jsonl"],
)
def test_evidence_under_a_name_that_holds_a_kinds_is_neither_passed_over_nor_ignored_alone(
    shop: tuple[ScriptedRepo, Path], name: str
) -> None:
    """Hidden under a name whose stem is no kind's (``.prod.observations.jsonl``: ``prod``), the
    observation of host web-1 on a commit never deployed was passed over, and the check passed
    (exit 0); so it did when ``prod.*`` or ``.*`` in evidence_ignore took it while no
    observations file was read."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / name).write_text(json.dumps(seen) + "\n")
    if name.startswith("."):
        result = check(shop)
        assert result.code == 2, result.out
        assert f"{name} is not an evidence file knightwatch reads" in result.err
    glob = ".*" if name.startswith(".") else "prod.*"
    (repo.path / "knightwatch.yaml").write_text(f"evidence_ignore: ['{glob}']\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert f"{name} matches evidence_ignore {glob!r}, but it is named for observation" in result.err
    (evidence / name).rename(evidence / "observations.jsonl")
    assert check(shop).code == 1
    (evidence / name).write_text("")  # beside the real one: not evidence
    assert check(shop, "--format", "json").json()["inputs"]["ignored"] == [name]


def test_an_editors_lock_on_an_evidence_file_is_passed_over(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """Emacs links ``.#deploys.yaml`` to ``user@host.pid`` while the file is edited: a link
    that leads nowhere and holds no records. Named for evidence, it was refused (exit 2) while
    anyone had the file open. A file of that name, which could hold records, still is."""
    _, evidence = shop
    (evidence / ".#deploys.yaml").symlink_to("ops@build-7.41230:1733389200")
    assert check(shop).code == 0
    (evidence / ".#deploys.yaml").unlink()
    (evidence / ".#deploys.yaml").write_text("[]\n")
    result = check(shop)
    assert result.code == 2 and ".#deploys.yaml is not read" in result.err


def test_what_an_interrupted_write_left_is_not_to_be_renamed_into_place(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """An import killed while it wrote observations.jsonl leaves the temporary file it writes
    through (``.observations.jsonl.XXXXXXXX.tmp``). The check said to rename it to
    observations.jsonl: done, the part of the records it held would be judged as all of them."""
    _, evidence = shop
    fd, name = tempfile.mkstemp(prefix=".observations.jsonl.", suffix=".tmp", dir=evidence)
    os.close(fd)
    result = check(shop)
    assert result.code == 2
    left = Path(name).name
    assert f"{left} is what an interrupted write of observations.jsonl left behind" in result.err
    assert "hint: remove it, and import again if observations.jsonl is not here" in result.err
    assert "rename" not in result.err


def test_evidence_in_a_hidden_directory_is_neither_passed_over_nor_ignored_alone(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """An export saved into ``.kw/observations.jsonl``, the only observation of host web-1, on
    a commit never deployed, was passed over with its hidden directory, and the check passed
    (exit 0); nor may ``.kw`` in evidence_ignore take it while no observations file is read.
    Beside the real one, a copy there may be ignored."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / ".kw").mkdir()
    (evidence / ".kw" / "observations.jsonl").write_text(json.dumps(seen) + "\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert ".kw: a directory in the evidence directory is not read (hidden, it holds " in result.err
    assert "hint: move observations.jsonl up into the evidence directory" in result.err
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: ['.kw']\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert ".kw matches evidence_ignore '.kw', but .kw holds observations.jsonl" in result.err
    (evidence / "observations.jsonl").write_text(json.dumps(seen) + "\n")
    assert check(shop).code == 1
    assert check(shop, "--format", "json").json()["inputs"]["ignored"] == [".kw"]


@pytest.mark.parametrize(
    "held",
    [
        "prod.observations.jsonl",
        "observations.jsonl.1",
        "export_observations_2024-05.jsonl",
        "Observations.JSONL",
        "may/observations.jsonl",
        "observations.ndjson",
    ],
)
def test_a_hidden_directory_holding_a_name_named_for_evidence_is_refused(
    shop: tuple[ScriptedRepo, Path], held: str
) -> None:
    """The only observation of host web-1, on a commit never deployed, saved in ``.kw`` under
    a name that holds the kind's but is not an evidence file's own, or one level down: the
    hidden directory was passed over with it, and the check passed (exit 0), as it did for
    ``.kw/observations.jsonl`` before that was refused."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / ".kw" / held).parent.mkdir(parents=True)
    (evidence / ".kw" / held).write_text(json.dumps(seen) + "\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert f".kw: a directory in the evidence directory is not read (hidden, it holds {held}," in (
        result.err
    )
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: ['.kw']\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert f".kw matches evidence_ignore '.kw', but .kw holds {held}" in result.err


@pytest.mark.parametrize(
    "held", ["observatons.jsonl", "Obsevations.yaml", "may/observations.jsonl"]
)
def test_a_hidden_directory_holding_misspelt_or_linked_evidence_is_refused(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path, held: str
) -> None:
    """The only observation of host web-1, on a commit never deployed, in ``.kw`` under a
    kind's name misspelt, or behind ``.kw/may``, a link to a directory elsewhere that holds
    it: the hidden directory was passed over, and the check passed (exit 0); so was a
    misspelt file at the top taken by ``evidence_ignore``."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / ".kw").mkdir()
    if held.startswith("may/"):
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "observations.jsonl").write_text(json.dumps(seen) + "\n")
        (evidence / ".kw" / "may").symlink_to(tmp_path / "outside", target_is_directory=True)
    else:
        (evidence / ".kw" / held).write_text(json.dumps(seen) + "\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert f".kw: a directory in the evidence directory is not read (hidden, it holds {held}," in (
        result.err
    )
    (repo.path / "knightwatch.yaml").write_text("evidence_ignore: ['.kw', 'obs*']\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert f".kw matches evidence_ignore '.kw', but .kw holds {held}" in result.err
    if held == "observatons.jsonl":
        (evidence / ".kw" / held).rename(evidence / held)
        result = check(shop)
        assert result.code == 2, result.out
        assert f"{held} matches evidence_ignore 'obs*', but it is named for" in result.err


def test_a_hidden_directory_holding_a_name_near_a_kinds_and_no_records_is_passed_over(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """``.kw/entities.json``, a tool's own file (``entities`` is near ``identities``), had the
    check refuse its directory (exit 2). Named near a kind's only, a file there is evidence
    when it holds records: a person's addresses in it still are refused."""
    _, evidence = shop
    (evidence / ".kw").mkdir()
    (evidence / ".kw" / "entities.json").write_text('{"version": 3, "entities": ["web"]}\n')
    result = check(shop)
    assert result.code == 0, result.err
    addresses = {"lee": ["lee@example.com", "lee@old.example.com"]}
    (evidence / ".kw" / "entities.json").write_text(json.dumps(addresses) + "\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert ".kw: a directory in the evidence directory is not read (hidden, it holds " in (
        result.err
    )
    assert "entities.json, which is not read from there" in result.err


@pytest.mark.parametrize("glob", ["archive", "*"])
def test_an_ignored_directory_does_not_take_the_only_evidence_of_a_kind(
    shop: tuple[ScriptedRepo, Path], glob: str
) -> None:
    """``archive/observations.jsonl`` holds the only observation of host web-1, on a commit
    never deployed. evidence_ignore ``archive`` (or ``*``) took the directory and the file with
    it, no observations file was read, and the check passed (exit 0). Beside the real one, a
    copy there may be ignored."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    (evidence / "archive").mkdir()
    (evidence / "archive" / "observations.jsonl").write_text(json.dumps(seen) + "\n")
    (repo.path / "knightwatch.yaml").write_text(f"evidence_ignore: ['{glob}']\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert (
        f"archive matches evidence_ignore '{glob}', but archive holds observations.jsonl"
        in result.err
    )
    (evidence / "observations.jsonl").write_text(json.dumps(seen) + "\n")
    assert check(shop).code == 1


def test_a_mounted_configmap_is_read_as_evidence(shop: tuple[ScriptedRepo, Path]) -> None:
    """Kubernetes mounts a ConfigMap as a ``..2026_12_05_...`` directory, a ``..data`` link to
    it, and each key a link through ``..data``: hidden, and named for no evidence, its
    directory and link are passed over, and the files read through the links."""
    _, evidence = shop
    stamped = evidence / "..2026_12_05_09_00_00.123456789"
    stamped.mkdir()
    for path in sorted(p for p in evidence.iterdir() if p.is_file()):
        path.rename(stamped / path.name)
        path.symlink_to(Path("..data") / path.name)
    (evidence / "..data").symlink_to(stamped.name)
    result = check(shop, "--format", "json")
    assert result.code == 0, result.err
    assert {f["path"] for f in result.json()["inputs"]["files"]} >= {"deploys.yaml", "fleet.yaml"}


def _this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def audit(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path, period: str, *extra: str | Path
) -> tuple[CliResult, Path]:
    """The shop's audit of ``period``, signed by a fresh key; the result and the output path."""
    repo, evidence = shop
    if not (tmp_path / "k.key").exists():
        run_cli("keygen", "--output", tmp_path / "k")
    out = tmp_path / "audit.json"
    args = ["--repo", repo.path, "--evidence", evidence, "--key", tmp_path / "k.key", "-o", out]
    return run_cli("audit", *args, "--period", period, *extra), out


def predicate(path: Path) -> dict[str, object]:
    envelope = json.loads(path.read_text())
    return json.loads(base64.b64decode(envelope["payload"]))["predicate"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("period", "needle"),
    [
        ("2099-01", "--period 2099-01 has not begun"),
        ("0000-01", "git history and the evidence's timestamps begin in 1970"),
        (_this_month(), f"--period {_this_month()} has not ended"),
    ],
)
def test_audit_refuses_a_month_that_has_not_ended(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path, period: str, needle: str
) -> None:
    result, out = audit(shop, tmp_path, period)
    assert result.code == 2
    assert needle in result.err
    assert not out.exists()


def test_a_partial_month_says_so_in_its_attestation(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path
) -> None:
    result, out = audit(shop, tmp_path, _this_month(), "--partial")
    assert result.code == 0, result.err
    assert f"audit {_this_month()} (partial)" in result.err
    signed = predicate(out)
    assert signed["partial"] is True
    assert signed["report"]["partial"] is True  # type: ignore[index]
    verified = run_cli("verify", out, "--key", tmp_path / "k.pub")
    assert "partial: the month had not ended" in verified.out


def test_a_month_without_deployments_is_attested_as_exactly_that(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path
) -> None:
    result, out = audit(shop, tmp_path, "2024-05", "--markdown", tmp_path / "a.md")
    assert result.code == 0, result.err
    assert "audit 2024-05: no deployments in 2024-05, nothing judged; pass (incomplete:" in (
        result.err
    )
    signed = predicate(out)
    assert signed["deployments"] == 0 and signed["complete"] is False
    summary = signed["report"]["summary"]  # type: ignore[index]
    assert "REVIEW-001" in summary["incomplete"]
    statuses = {r["id"]: r for r in summary["rules"]}
    assert statuses["REVIEW-001"]["reason"] == "no deployments in 2024-05"
    assert "No deployments in 2024-05: no deployment was judged." in (tmp_path / "a.md").read_text()
    verified = run_cli("verify", out, "--key", tmp_path / "k.pub")
    assert "no deployments in the period" in verified.out
    strict, _ = audit(shop, tmp_path, "2024-05", "--require-all")
    assert strict.code == 1, strict.err


def test_a_deployment_without_finished_at_is_not_a_complete_judgement(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """Once: the drift after an unfinished deployment went unjudged in a signed complete pass.
    web-1 seen on another commit than D1's, before it is seen on D1's (when D1 had reached it):
    no window holds the first observation, and the report names the deployment and host."""
    repo, evidence = shop
    sha = repo.git("rev-parse", "HEAD").strip()
    other = repo.commit("b", {"b.py": "print(2)\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    records = yaml.safe_load((evidence / "deploys.yaml").read_text())
    del records[0]["finished_at"]
    write_yaml(evidence / "deploys.yaml", records)
    (evidence / "observations.jsonl").write_text("".join(
        json.dumps({"host": "web-1", "service": "web", "version": version,
                    "observed_at": at}) + "\n"
        for version, at in ((sha, "2024-01-03T00:00:00Z"), (other, "2024-01-02T00:05:00Z"))
    ))  # fmt: skip
    report = check(shop, "--format", "json").json()
    statuses = {r["id"]: r for r in report["summary"]["rules"]}
    assert statuses["FLEET-002"]["status"] == "evaluated"
    assert (
        "observations after deployments that give no finished_at were judged by no window: "
        "D1 (web-1)" in statuses["FLEET-002"]["reason"]
    )
    assert check(shop, "--require-all").code == 1


def test_a_partly_covered_rule_fails_require_all(shop: tuple[ScriptedRepo, Path]) -> None:
    repo, _ = shop
    result = check(shop, "--require-all", "-o", repo.path.parent / "r.json")
    assert result.code == 1
    # The one-line summary of a run that writes files says it too.
    assert "knightwatch: fail (incomplete: " in result.err
    report = json.loads((repo.path.parent / "r.json").read_text())
    assert report["summary"]["partial"] == ["REVIEW-002"]  # the first deployment: no baseline
    statuses = {r["id"]: r for r in report["summary"]["rules"]}
    assert statuses["REVIEW-002"]["partial"] is True
    assert "the commits before it were not judged: D1" in statuses["REVIEW-002"]["reason"]


def test_a_baseline_past_the_first_deployment_is_refused(shop: tuple[ScriptedRepo, Path]) -> None:
    """Once: --baseline at a later commit made the first deployment ship nothing, a pass."""
    repo, _ = shop
    later = repo.commit("later", {"b.py": "2\n"}, author=DEV, date="2024-01-05T00:00:00Z")
    result = check(shop, "--baseline", later)
    assert result.code == 2
    assert "is not an ancestor of" in result.err and "would ship nothing" in result.err


@pytest.mark.parametrize("how", ["its id", "a branch at it"])
def test_a_baseline_at_the_first_deployed_commit_is_refused(
    shop: tuple[ScriptedRepo, Path], how: str
) -> None:
    """``baseline: main`` while main is the commit first deployed: that deployment shipped
    nothing and its commit was never judged, a quieter pass than having no baseline."""
    repo, evidence = shop
    first = yaml.safe_load((evidence / "deploys.yaml").read_text())[0]["commit"]
    repo.git("branch", "-f", "adopted", first)
    result = check(shop, "--baseline", first if how == "its id" else "adopted")
    assert result.code == 2, result.out
    assert f"baseline {first[:12]} is the commit of deployment" in result.err
    assert "would ship nothing" in result.err


def _zombie(tmp_path: Path, last: dict[str, str]) -> CliResult:
    """A retired flag still referenced; then ``last`` changes the registry; deployed there."""
    repo = ScriptedRepo(tmp_path / "repo")
    retired = yaml.safe_dump(
        {"flags": [{"name": "power_peg", "purpose": "p", "owner": "o", "status": "retired",
                    "created": "2003-06-02", "retired_at": "2005-03-14"}]}
    )  # fmt: skip
    reviewed = (f"Reviewed-by: {LEAD}",)
    repo.commit("retire", {"flags.yaml": retired, "a.py": "if power_peg: go()\n"}, author=DEV,
                date="2024-01-01T00:00:00Z", trailers=reviewed)  # fmt: skip
    sha = repo.commit("tidy", last, author=DEV, date="2024-01-02T00:00:00Z", trailers=reviewed)
    write_yaml(tmp_path / "ev" / "deploys.yaml",
               [deployment("D1", sha, "2024-01-03T00:00:00Z", approvals=APPROVAL)])  # fmt: skip
    return run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json")


@pytest.mark.parametrize(
    ("registry", "rule"),
    [
        ("", "DEAD-006"),  # emptied
        ("# nothing here\n", "DEAD-006"),
        ("[]\n", "DEAD-006"),
        ("flags: []\n", "DEAD-001"),  # the retired flag dropped, its reference left behind
    ],
)
def test_emptying_the_registry_does_not_retire_its_flags(
    tmp_path: Path, registry: str, rule: str
) -> None:
    result = _zombie(tmp_path, {"flags.yaml": registry})
    assert result.code == 1, result.err
    assert rule in {f["rule"] for f in result.json()["findings"]}


def test_a_misspelt_registry_path_is_refused(tmp_path: Path) -> None:
    result = _zombie(tmp_path, {"b.py": "1\n"})
    assert result.code == 1
    (tmp_path / "repo" / "knightwatch.yaml").write_text("flags_file: flag.yaml\n")
    result = run_cli("check", "--repo", tmp_path / "repo", "--evidence", tmp_path / "ev")
    assert result.code == 2
    assert "'flag.yaml' is in no commit, but 'flags.yaml' is in the repository" in result.err


def test_partial_attestations_are_for_the_running_month_and_never_chained(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path
) -> None:
    result, _ = audit(shop, tmp_path, "2024-01", "--partial")
    assert result.code == 2 and "--period 2024-01 has ended" in result.err
    partial, out = audit(shop, tmp_path, _this_month(), "--partial")
    assert partial.code == 0, partial.err
    repo, evidence = shop
    chained = run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2024-02",
        "--key", tmp_path / "k.key", "-o", tmp_path / "next.json", "--previous", out,
    )  # fmt: skip
    assert chained.code == 2
    assert "only in part (--partial)" in chained.err


@pytest.mark.parametrize("option", [["--environment", "staging"], ["--stage", "merge"]])
def test_gate_options_without_a_candidate_are_refused(
    shop: tuple[ScriptedRepo, Path], option: list[str]
) -> None:
    result = check(shop, *option)
    assert result.code == 2 and f"{option[0]} goes with --candidate" in result.err


def test_a_hidden_directory_too_large_to_search_is_refused(
    shop: tuple[ScriptedRepo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``.kw/disk``, a link to a directory of more entries than are searched (a link to ``/``
    walked the whole machine): refused, naming ``.kw``, rather than searched for hours or
    passed over. The limit is lowered to 50 here so that a small directory stands for a disk."""
    evidence = shop[1]
    monkeypatch.setattr(bundle, "HELD_AT_MOST", 50)
    disk = tmp_path / "disk"
    for n in range(60):
        (disk / f"d{n // 10}").mkdir(parents=True, exist_ok=True)
        (disk / f"d{n // 10}" / f"f{n}.txt").write_text("x\n")
    (evidence / ".kw").mkdir()
    (evidence / ".kw" / "disk").symlink_to(disk, target_is_directory=True)
    result = check(shop)
    assert result.code == 2, result.out
    assert ".kw holds more than 50 files and directories" in result.err
    assert "move .kw out of the evidence directory" in result.err
    monkeypatch.setattr(bundle, "HELD_AT_MOST", 100_000)
    assert check(shop).code == 0  # the same directory searched whole: it holds no evidence


def test_a_directory_in_a_hidden_one_that_cannot_be_listed_is_refused(
    shop: tuple[ScriptedRepo, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory of ``.kw`` that cannot be listed may hold the only observations: refused,
    naming it, where it was passed over. The tests run as root, whom no mode keeps out, so a
    stand-in for the operating system refuses to list that one directory."""
    evidence = shop[1]
    (evidence / ".kw" / "locked").mkdir(parents=True)
    scandir = os.scandir

    def refusing(path: str | os.PathLike[str] = ".") -> Iterator[os.DirEntry[str]]:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    result = check(shop)
    assert result.code == 2, result.out
    assert "locked: cannot be read (Permission denied)" in result.err
    assert "Traceback" not in result.err
