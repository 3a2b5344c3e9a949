"""Text for people (the text report, ``verify``'s and ``sample``'s lines, error messages) in
an Azure Pipelines log, read as its agent reads it: evidence quoted there must not set a
variable, end the task or add a path. The agent has no marker that pauses its reading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, deployment, run_cli, write_yaml
from tests.report.test_github_log import Runner

_VSO = re.compile(r"##vso\[([^\]]*)\]", re.IGNORECASE)


_IGNORED = re.compile("[\u00ad\u034f\u180b-\u180f\u200b-\u200f\u2060-\u2064\ufeff]")
"""Characters a culture-aware comparison (.NET's ``string.IndexOf(string)`` under ICU, which
the agent's search for its prefix is) passes over as if absent."""


def agent_commands(log: str) -> list[str]:
    """What Azure Pipelines' agent reads as a logging command (Command.TryParse): ``##vso[``
    anywhere in a line, up to the first ``]`` on it, found as a culture-aware search finds
    it (ignorable characters inside the prefix skipped)."""
    lines = (_IGNORED.sub("", line) for line in log.splitlines())
    return [m.group(1) for line in lines for m in [_VSO.search(line)] if m]


def read_by_no_runner(log: str) -> None:
    """Neither Azure's agent nor GitHub's runner reads a command in ``log``."""
    assert agent_commands(log) == []
    read = Runner().read(log)
    assert (read.commands, read.stopped) == ([], None)


AZURE = [
    "##vso[task.prependpath]/tmp/x",
    "##vso[task.setvariable~variable=deploy]yes",
    "##VSO[task.complete~result=Succeeded;]",
    "##teamcity[buildStatus~status='SUCCESS']",
    "##\u00advso[task.setvariable~variable=soft]yes",
    "#\u200b#vso[task.setvariable~variable=zero]yes",
]
"""Deployers, without spaces so that a wrapped line never parts one."""


@pytest.fixture
def commanding(tmp_path: Path) -> tuple[Path, Path, str]:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    records = [
        deployment(f"D{n}", sha, f"2024-02-0{n}T09:00:00Z", deployer=who)
        for n, who in enumerate(AZURE, start=1)
    ]
    write_yaml(evidence / "deploys.yaml", records)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    return repo.path, evidence, sha


def test_the_text_report_sets_nothing_in_an_azure_log(
    commanding: tuple[Path, Path, str],
) -> None:
    """Before, the text report quoted each deployer verbatim: the agent prepended
    ``/tmp/x`` to the PATH of every later step and set the job's ``deploy`` variable. Now
    the ``#`` that opens each is shown as ``\\x23``, as a control character is."""
    repo, evidence, _ = commanding
    result = run_cli("check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01")
    assert result.code == 1, result.err
    read_by_no_runner(result.out)
    assert "\u00ad" not in result.out and "\u200b" not in result.out
    for who in AZURE:
        assert shown(who) in result.out


def shown(who: str) -> str:
    """What the text report shows of a deployer of ``AZURE``: the ``#`` that opens a command
    as ``\\x23``; where an ignorable character (a soft hyphen, a zero-width space) stands
    inside one, what follows its escape (the escape, as a control character's, parts the
    prefix; ``read_by_no_runner`` checks the whole)."""
    if "\u00ad" in who or "\u200b" in who:
        return who[who.index("vso[") :]
    return "\\x23" + who[1:]


@pytest.mark.parametrize(
    "named", ["##vso[task.setvariable variable=X]v", "##[stop-commands]t", "x ##[add-mask]x"]
)
def test_an_error_message_sets_nothing_in_a_log(tmp_path: Path, named: str) -> None:
    """An input error names the record: before, a duplicate deployment id
    ``##vso[task.setvariable variable=X]v`` set a variable of the job from standard error,
    and ``##[stop-commands]t`` stopped GitHub's runner reading the rest of the step."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    twice = [deployment(named, sha, "2024-02-01T09:00:00Z")] * 2
    write_yaml(evidence / "deploys.yaml", twice)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence)
    assert result.code == 2 and result.out == ""
    assert "duplicate deployment id" in result.err and "deploys.yaml:" in result.err
    read_by_no_runner(result.err)
    assert named.replace("##", "\\x23#") in result.err


def test_a_message_line_that_starts_a_command_is_shown(tmp_path: Path) -> None:
    """A line of a message that starts with ``::`` (evidence quoted where a hint begins)
    is a command to GitHub's runner; its first ``:`` is shown as ``\\x3a``."""
    from checker.errors import InputError

    rendered = InputError("bad", path="f.yaml", hint="::add-mask::x").render()
    from checker.cli import _shown

    shown = _shown(rendered)
    read_by_no_runner(shown)
    assert "  hint: ::add-mask" in shown  # not at a line's start: shown as written
    assert _shown("a\n  ::error::forged") == "a\n  \\x3a:error::forged\n"


def test_sample_and_verify_set_nothing_in_an_azure_log(
    commanding: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """``sample`` quotes findings and deployment records: before, their ids verbatim."""
    repo, evidence, sha = commanding
    records = [
        deployment(f"D{n}{who}", sha, f"2024-02-0{n}T09:00:00Z")
        for n, who in enumerate(AZURE, start=1)
    ]
    write_yaml(evidence / "deploys.yaml", records)
    assert run_cli("keygen", "--output", tmp_path / "k").code == 0
    audit = tmp_path / "feb.json"
    result = run_cli(
        "audit", "--repo", repo, "--evidence", evidence, "--period", "2024-02",
        "--key", tmp_path / "k.key", "-o", audit, "--as-of", "2024-03-01",
    )  # fmt: skip
    assert result.code == 1, result.err
    drawn = run_cli(
        "sample", audit, "--key", tmp_path / "k.pub", "--size", str(len(AZURE)), "--seed", "s"
    )
    assert drawn.code == 0, drawn.err
    assert all(shown(who) in drawn.out for who in AZURE)
    read_by_no_runner(drawn.out)
    verified = run_cli("verify", audit, "--key", tmp_path / "k.pub")
    assert verified.code == 0, verified.err
    read_by_no_runner(verified.out)


@pytest.mark.parametrize("suffix", [".yaml", ".jsonl", ".json"])
def test_waiver_sign_prints_no_command(tmp_path: Path, suffix: str) -> None:
    """``waiver sign`` without ``-o`` prints the signed file, and on standard error a line
    for each waiver signed: before, both quoted the waiver's subject and reason verbatim.
    The file printed is still the same waivers, the signature over what they say: a check
    reads it and applies the waiver."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    subject = "##vso[task.setvariable variable=X]v"
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [deployment(subject, sha, "2024-02-01T00:00:00Z")])
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    waiver = {
        "rule": "REVIEW-001", "subject": "##vso[[]task.setvariable variable=X]v",  # a glob
        "reason": "x\n::add-mask::x ##[stop-commands]t", "approved_by": "cro@example.com",
        "expires": "2024-06-01",
    }  # fmt: skip
    waivers = tmp_path / f"waivers{suffix}"
    waivers.write_text(json.dumps(waiver) + "\n" if suffix == ".jsonl" else json.dumps([waiver]))
    assert run_cli("keygen", "--output", tmp_path / "cro").code == 0
    result = run_cli(
        "waiver", "sign", waivers, "--key", tmp_path / "cro.key",
        "--approver", "cro@example.com", "--repo", repo.path,
    )  # fmt: skip
    assert result.code == 0, result.err
    read_by_no_runner(result.out)
    read_by_no_runner(result.err)
    assert "signed: #1 REVIEW-001 \\x23#vso[[]task.setvariable variable=X]v" in result.err
    (evidence / ("waivers.jsonl" if suffix == ".jsonl" else "waivers.yaml")).write_text(result.out)
    key = run_cli("waiver", "key", tmp_path / "cro.pub").out.strip()
    config = write_yaml(
        tmp_path / "auditor.yaml",
        {"waiver_approvers": ["cro@example.com"], "waiver_keys": {"cro@example.com": key}},
    )
    checked = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--as-of", "2024-03-01",
        "--config", config, "--format", "json",
    )  # fmt: skip
    assert checked.code == 1, checked.err  # REVIEW-002: its commit is unreviewed
    waived = [f for f in checked.json()["findings"] if f["rule"] == "REVIEW-001"]
    assert [f["waived"] for f in waived] == [True], checked.err


TITLE = "Ticket ##vso[task.setvariable variable=X]v"
POLICY = """package acme.tickets

import rego.v1

# METADATA
# title: "Ticket ##vso[task.setvariable variable=X]v"
# description: "Names its ticket.\\n::add-mask::x ##vso[task.complete result=Succeeded;]"
# custom:
#   id: ACME-001
#   severity: critical
#   controls: ["ACME ##[add-mask]lee"]
#   requires: [deploys]
#   message: "Deployment {subject} names no ticket."
missing_ticket contains {"subject": d.id} if {
	some d in input.deployments
	not startswith(object.get(d, "change_ticket", ""), "ACME-")
}
"""


@pytest.mark.parametrize(
    "argv",
    [
        ("policy", "list"),
        ("policy", "list", "--format", "json"),
        ("policy", "list", "--format", "markdown"),
        ("explain", "ACME-001"),
    ],
)
def test_a_policys_metadata_is_printed_as_no_command(tmp_path: Path, argv: tuple[str]) -> None:
    """An added policy's title, description and controls are its author's text: before,
    ``policy list`` and ``explain`` printed them verbatim."""
    (tmp_path / "acme.rego").write_text(POLICY)
    result = run_cli(*argv, "--policies", tmp_path)
    assert result.code == 0, result.err
    assert "ACME-001" in result.out
    read_by_no_runner(result.out)
    if "json" in argv:
        titles = [r["title"] for r in json.loads(result.out) if r["id"] == "ACME-001"]
        assert titles == [TITLE]
    else:
        assert "\\x23" + TITLE.split("#", 1)[1] in result.out


def test_an_imports_lines_quote_the_run_as_no_command(tmp_path: Path) -> None:
    """``import ansible`` names each host that did not succeed and why, quoting the release
    task's name from the playbook: before, verbatim on standard error, where a task named
    ``Install ##vso[task.setvariable variable=X]v`` set a variable of the job."""
    from tests.importers import ansible_recordings as rec
    from tests.importers.workspaces import import_ansible, order_router

    repo, evidence, _ = order_router(tmp_path, 4)
    task = "Install ##vso[task.setvariable variable=X]v"
    source = tmp_path / "ignored.json"
    recorded = (rec.FIXTURES / "outcomes" / "ignored.json").read_text()
    source.write_text(recorded.replace("Install the release", task))
    result = import_ansible(repo, source, "--release-task", task, "--not-check-mode")
    assert result.code == 0, result.err
    assert result.err.count("'Install \\x23#vso[task.setvariable variable=X]v'") == 4
    read_by_no_runner(result.err)
    record = json.loads((evidence / "deploys.jsonl").read_text())
    assert task in record["targets"][0]["reason"]  # the evidence keeps it as it was


def test_an_organisation_audit_quotes_a_systems_error_as_no_command(tmp_path: Path) -> None:
    """A system not judged is named on standard error with why: its own evidence's error,
    which quotes the record. Before, a team's duplicate deployment id
    ``##vso[task.setvariable variable=X]v`` set a variable of the organisation's job."""
    from tests.org.orgcase import three_teams

    org = three_teams(tmp_path)
    deploys = org.root / "repos/web/compliance/deploys.yaml"
    records = yaml.safe_load(deploys.read_text())
    records[0]["id"] = "##vso[task.setvariable variable=X]v"
    write_yaml(deploys, [records[0], records[0]])
    result = org.audit("org.json", "--workers", "0")
    assert result.code == 1, result.err
    assert "system web: not judged: " in result.err
    assert "\\x23#vso[task.setvariable variable=X]v" in result.err
    read_by_no_runner(result.err)


def test_policy_test_names_a_policy_file_as_no_command(tmp_path: Path) -> None:
    """``policy test`` names each test's file: a directory of the repository named
    ``##vso[task.prependpath]x`` chose, before, what every later step of the job ran."""
    where = tmp_path / "##vso[task.prependpath]x"
    where.mkdir()
    (where / "x_test.rego").write_text(
        "package x_test\n\nimport rego.v1\n\ntest_one if {\n\t1 == 2\n}\n"
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 1, result.err
    assert "\\x23#vso[task.prependpath]x/x_test.rego" in result.out
    read_by_no_runner(result.out)
