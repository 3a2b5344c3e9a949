"""The text report in a GitHub Actions log, read as the runner reads it: evidence quoted in a
finding must not stop, forge or mask the workflow commands (the annotations) after it."""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from checker.cli import main
from checker.demo.builder import ScriptedRepo
from checker.report.escape import markup_safe
from tests.conftest import DEV, deployment, run_cli, write_yaml
from tests.report.storm import AS_OF

COMMANDS = {"error", "warning", "notice", "debug", "group", "endgroup", "add-mask", "echo"}
COMMANDS |= {"stop-commands", "set-output", "save-state", "add-matcher", "remove-matcher"}


@dataclass
class Runner:
    """The runner's reading of a step's output (actions/runner, ActionCommandManager and
    ActionCommand.TryParseV2/TryParse): ``::CMD ...::DATA`` at a line's start after leading
    spaces, else ``##[CMD ...]DATA`` anywhere in the line; after ``stop-commands`` nothing is
    a command until the token is."""

    commands: list[tuple[str, str]] = field(default_factory=list)
    stopped: str | None = None

    def _parse(self, line: str) -> tuple[str, str] | None:
        trimmed = line.lstrip()
        if trimmed.startswith("::") and "::" in trimmed[2:]:
            info, data = trimmed[2:].split("::", 1)
            name = info.split(" ", 1)[0]
            if name in COMMANDS or name == self.stopped:
                return name, data
        if "##[" in line and "]" in line[line.index("##[") :]:
            start = line.index("##[") + 3
            info, data = line[start:].split("]", 1)
            name = info.split(" ", 1)[0]
            if name in COMMANDS or name == self.stopped:
                return name, data
        return None

    def read(self, log: str) -> Runner:
        for line in log.splitlines():
            command = self._parse(line)
            if command is None:
                continue
            if self.stopped is not None:
                if command[0] == self.stopped:
                    self.stopped = None
                continue
            if command[0] == "stop-commands":
                self.stopped = command[1]
                continue
            self.commands.append(command)
        return self


FORGED = "##[stop-commands]zz"


@pytest.fixture
def forged(tmp_path: Path) -> tuple[Path, Path]:
    """A deployment whose deployer (quoted in its REVIEW-001 finding) carries a command."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment("D1", sha, "2024-02-01T09:00:00Z", deployer=FORGED),
            deployment("D2", sha, "2024-02-02T09:00:00Z"),
        ],
    )
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    return repo.path, evidence


def test_evidence_in_the_text_report_stops_no_annotation(forged: tuple[Path, Path]) -> None:
    """Before, the deployer's ``##[stop-commands]`` in the text report on standard output
    stopped the runner before it read any annotation: a failing check showed none."""
    repo, evidence = forged
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--github", "always",
    )  # fmt: skip
    assert result.code == 1, result.err
    assert FORGED in result.out  # the evidence is shown as written
    read = Runner().read(result.out)
    assert read.stopped is None
    errors = [data for name, data in read.commands if name == "error"]
    assert any("D1" in data for data in errors) and any("D2" in data for data in errors)
    assert {name for name, _ in read.commands} <= {"error", "warning", "notice"}


def test_the_report_between_the_markers_is_unchanged(forged: tuple[Path, Path]) -> None:
    repo, evidence = forged
    argv = ("check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01")
    plain = run_cli(*argv, "--github", "never").out
    lines = run_cli(*argv, "--github", "always").out.splitlines(keepends=True)
    token = lines[0].removeprefix("::stop-commands::").strip()
    assert token.startswith("knightwatch-") and token not in plain
    end = lines.index(f"::{token}::\n")
    assert "".join(lines[1:end]) == plain


def shown(commands: list[tuple[str, str]]) -> dict[str, list[str]]:
    """What GitHub shows of a step's annotations: the first ten of each kind, in order."""
    kinds: dict[str, list[str]] = {"error": [], "warning": [], "notice": []}
    for name, data in commands:
        if name in kinds and len(kinds[name]) < 10:
            kinds[name].append(data)
    return kinds


def test_what_github_shows_of_many_annotations_says_what_it_does_not(
    storm: tuple[Path, Path], tmp_path: Path
) -> None:
    """GitHub shows ten annotations of each kind per step, the first printed. Before, with
    fail_on weakened to critical, the storm's 428 high findings came first as warnings, and
    the warning that fail_on was weakened, and those of the rules judged on part of their
    evidence, were printed after them: never shown. The errors were in rule order, a high
    before a critical, and nothing said that more than ten existed."""
    repo, evidence = storm
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", AS_OF,
        "--fail-on", "critical", "--github", "always", "-o", tmp_path / "r.sarif",
    )  # fmt: skip
    commands = Runner().read(result.out).commands
    seen = shown(commands)
    warnings = seen["warning"]
    assert warnings[0].startswith("fail_on: critical from command line (WEAKER")
    assert sum("no observations" in w or "no baseline" in w for w in warnings) == 2
    more = sum(1 for name, _ in commands if name == "warning") - 10  # and the line saying so
    assert warnings[9].startswith(f"{more:,} more warning annotations follow")
    errors = seen["error"]
    assert all(e.startswith(("Retired flag", "Flag")) for e in errors[:9])  # critical rules
    assert "more error annotations follow" in errors[9]
    titles = [line for line in result.out.splitlines() if line.startswith("::error ")]
    assert len(titles) == sum(1 for name, _ in commands if name == "error")  # all in the log


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_a_document_on_standard_output_comes_after_the_annotations(
    forged: tuple[Path, Path], fmt: str
) -> None:
    """Beside a document printed to the log (``--format sarif`` not redirected), the
    annotations go to standard error. Before, they were written after the document, whose
    deployer's ``##[stop-commands]`` stopped the runner reading them. The runner reads both
    streams as they come: one buffer stands for both here."""
    repo, evidence = forged
    log = io.StringIO()
    code = main(
        ["check", "--repo", str(repo), "--evidence", str(evidence), "--as-of", "2024-03-01",
         "--github", "always", "--format", fmt],
        out=log, err=log,
    )  # fmt: skip
    assert code == 1
    errors = [data for name, data in Runner().read(log.getvalue()).commands if name == "error"]
    assert any("D1" in data for data in errors) and any("D2" in data for data in errors)


DEPLOYERS = ["##[add-mask]lee", "x ##[error]forged", "###[warning]w", "##vso[task.complete]"]
DEPLOYERS += ["##VSO[task.prependpath]/x", "##teamcity[buildStatus status='SUCCESS']"]


@pytest.fixture
def commanding(tmp_path: Path) -> tuple[Path, Path]:
    """Deployments whose deployers (quoted in their REVIEW-001 findings) each carry a command
    a runner reads anywhere in a line."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    records = [
        deployment(f"D{n}", sha, f"2024-02-0{n}T09:00:00Z", deployer=who)
        for n, who in enumerate(DEPLOYERS, start=1)
    ]
    write_yaml(evidence / "deploys.yaml", records)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    return repo.path, evidence


def _read_back(fmt: str, text: str) -> str:
    """Every string the document holds, as a reader of its format reads them."""
    if fmt == "junit":
        root = ET.fromstring(text.encode())  # noqa: S314  (our own output)
        values = [v for e in root.iter() for v in (e.text or "", *e.attrib.values())]
        return "\n".join(values)
    if fmt == "html":
        return html.unescape(text)
    return json.dumps(json.loads(text), ensure_ascii=False)


@pytest.mark.parametrize("fmt", ["json", "json-compact", "sarif", "junit", "html", "oscal"])
def test_a_document_printed_to_the_log_holds_no_command(
    commanding: tuple[Path, Path], fmt: str
) -> None:
    """A document printed to the log (not written with -o) quoted each deployer verbatim:
    the runner read ``##[add-mask]lee`` (every later ``lee`` of the job's log hidden) and
    ``##[error]forged`` (an annotation no rule wrote). Now the ``#`` that opens each is a
    character escape of the format: the same value to its readers, no command to the log."""
    repo, evidence = commanding
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--github", "never", "--format", fmt,
    )  # fmt: skip
    assert result.code == 1, result.err
    read = Runner().read(result.out)
    assert (read.commands, read.stopped) == ([], None)
    assert "##vso[" not in result.out.lower() and "##teamcity[" not in result.out
    values = _read_back(fmt, result.out)
    assert all(who in values for who in DEPLOYERS)


def test_a_line_of_markup_never_starts_a_command() -> None:
    """A line of XML or HTML text that starts with ``::`` (a rule's title on a line of a
    failure's text) is a command to the runner; its first ``:`` becomes ``&#58;``."""
    text = "<a>t\n  ::error::forged\n::warning x::y ##[debug]z</a>\n"
    safe = markup_safe(text)
    assert Runner().read(text).commands != []
    assert Runner().read(safe).commands == []
    assert html.unescape(safe) == text
    parsed = [ET.fromstring(t.encode()).text for t in (safe, text)]  # noqa: S314  (ours)
    assert parsed[0] == parsed[1]


def test_the_text_report_is_inert_in_an_actions_log_without_annotations(
    forged: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--github never`` turns off the annotations, not the runner: before, under GitHub
    Actions the text report was then printed bare, and the deployer's ``##[stop-commands]``
    stopped the runner reading every command the rest of the step wrote."""
    repo, evidence = forged
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", "2024-03-01",
        "--github", "never",
    )  # fmt: skip
    assert result.code == 1, result.err
    assert "\\x23" + FORGED[1:] in result.out  # shown, in its visible form
    read = Runner().read(result.out + "::error::a later command's own annotation\n")
    assert read.stopped is None
    assert read.commands == [("error", "a later command's own annotation")]
