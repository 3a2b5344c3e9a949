"""Every user mistake: exit 2, one message naming the file and line, no traceback, no output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, run_cli, write_yaml

GOOD = """\
- id: D1
  service: web
  environment: production
  commit: main
  started_at: 2024-02-01T09:00:00Z
  deployer: ops@example.com
  targets:
    - {host: web-1, status: succeeded}
"""


def _deploys(text: str, name: str = "deploys.yaml") -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / name).write_text(text)

    return setup


def _extra(name: str, text: str) -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        (evidence / name).write_text(text)

    return setup


def _config(text: str) -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        (repo / "knightwatch.yaml").write_text(text)

    return setup


JSONL_GOOD = json.dumps(
    {
        "id": "D1",
        "service": "web",
        "environment": "production",
        "commit": "main",
        "started_at": "2024-02-01T09:00:00Z",
        "deployer": "ops@example.com",
    }
)

# (id, setup, the text the one message must contain)
CASES = [
    (
        "zoneless-timestamp",
        _deploys(GOOD.replace("09:00:00Z", "09:00:00")),
        ["deploys.yaml:5:", "started_at", "no time zone"],
    ),
    (
        "unknown-field",
        _deploys(GOOD + "  aprovals: []\n"),
        ["deploys.yaml:9:", "aprovals", "unknown field"],
    ),
    (
        "bad-status",
        _deploys(GOOD.replace("succeeded", "done")),
        [
            "deploys.yaml:8:",
            "targets.0.status",
            "'succeeded', 'failed', 'skipped' or 'unreachable'",
        ],
    ),
    (
        "unknown-field-in-a-target",
        _deploys(GOOD.replace("status: succeeded", "status: succeeded, rack: r1")),
        ["deploys.yaml:8:", "targets.0.rack", "unknown field"],
    ),
    (
        "host-not-a-string",
        _deploys(GOOD.replace("host: web-1", "host: 7")),
        ["deploys.yaml:8:", "targets.0.host", "valid string"],
    ),
    (
        "missing-field",
        _deploys(GOOD.replace("  deployer: ops@example.com\n", "")),
        ["deploys.yaml:1:", "deployer", "Field required"],
    ),
    (
        "duplicate-id",
        _deploys(GOOD + GOOD),
        ["deploys.yaml:9:", "duplicate deployment id 'D1'", "deploys.yaml:1"],
    ),
    (
        "unresolvable-commit",
        _deploys(GOOD.replace("commit: main", "commit: deadbeef")),
        ["deploys.yaml:1:", "deployment D1", "'deadbeef' does not resolve"],
    ),
    ("invalid-yaml", _deploys(GOOD + "- id: [unclosed\n"), ["deploys.yaml:", "invalid YAML"]),
    (
        "duplicate-key",
        _deploys(GOOD + "  deployer: other@example.com\n"),
        ["deploys.yaml:9:", "duplicate key 'deployer'"],
    ),
    ("not-a-list", _deploys("id: D1\n"), ["deploys.yaml:1:", "expected a list"]),
    (
        "record-not-mapping",
        _deploys("- just a string\n"),
        ["deploys.yaml:1:", "expected a mapping"],
    ),
    (
        "integer-commit",
        _deploys(GOOD.replace("commit: main", "commit: 1234567")),
        ["deploys.yaml:4:", "commit", "valid string"],
    ),
    (
        "jsonl-bad-json",
        _deploys(f"{JSONL_GOOD}\n\n{{oops\n", "deploys.jsonl"),
        ["deploys.jsonl:3:", "invalid JSON"],
    ),
    (
        "jsonl-unknown-field",
        _deploys(JSONL_GOOD[:-1] + ', "extra": 1}\n', "deploys.jsonl"),
        ["deploys.jsonl:1:", "extra", "unknown field"],
    ),
    (
        "jsonl-duplicate-id",
        _deploys(f"{JSONL_GOOD}\n{JSONL_GOOD}\n", "deploys.jsonl"),
        ["deploys.jsonl:2:", "duplicate deployment id"],
    ),
    (
        "two-deploys-files",
        lambda r, e: [_deploys(GOOD)(r, e), _deploys(JSONL_GOOD, "deploys.jsonl")(r, e)],
        ["more than one deploys file", "deploys.yaml, deploys.jsonl"],
    ),
    ("no-deploys-file", lambda r, e: None, ["required evidence file missing", "deploys.yaml"]),
    (
        "review-zoneless",
        _extra(
            "reviews.yaml",
            "- change: 1\n  author: a@x\n  commits: [main]\n  approvals:\n"
            "    - {by: b@x, at: '2024-01-01 10:00'}\n",
        ),
        ["reviews.yaml:5:", "approvals.0.at", "no time zone"],
    ),
    (
        "identity-two-owners",
        _extra("identities.yaml", "ann: [a@x]\nbob: [A@X]\n"),
        ["identities.yaml", "'A@X' is listed for both 'ann' and 'bob'"],
    ),
    (
        "waiver-bad-date",
        _extra(
            "waivers.yaml",
            "- {rule: REVIEW-001, subject: D1, reason: r, approved_by: x, expires: 2024-13-01}\n",
        ),
        ["waivers.yaml:1:", "expires", "not a valid date"],
    ),
    (
        "fleet-bad-shape",
        _extra("fleet.yaml", "services:\n  web:\n    hosts: web-1\n"),
        ["fleet.yaml:3:", "services.web.hosts"],
    ),
    (
        "observation-zoneless",
        _extra(
            "observations.jsonl",
            '{"host": "h", "service": "web", "version": "main", '
            '"observed_at": "2024-01-01T00:00:00"}\n',
        ),
        ["observations.jsonl:1:", "observed_at", "no time zone"],
    ),
    (
        "config-unknown-option",
        _config("protected_branch: main\nbasline: abc\n"),
        ["knightwatch.yaml:2:", "basline", "unknown field"],
    ),
    (
        "config-missing-branch",
        _config("protected_branch: release\n"),
        ["protected branch 'release' not found"],
    ),
    (
        "config-bad-baseline",
        _config("baseline: nosuchref\n"),
        ["baseline 'nosuchref' does not resolve"],
    ),
    (
        "yaml-nested-450-flow",
        _extra("fleet.yaml", "services: " + "[" * 450 + "]" * 450 + "\n"),
        ["fleet.yaml:1:", "nested more than 100 levels deep"],
    ),
    (
        "yaml-nested-450-block",
        _extra("fleet.yaml", "".join(f"{'  ' * n}k:\n" for n in range(450)) + "  " * 450 + "v\n"),
        ["fleet.yaml:101:", "nested more than 100 levels deep"],
    ),
    (
        "yaml-nested-450-with-an-anchor",
        _extra("fleet.yaml", "a: &x 1\nb: " + "[" * 450 + "]" * 450 + "\n"),
        ["fleet.yaml:", "nested too deeply"],
    ),
    (
        "yaml-5000-digit-integer",
        _deploys(GOOD + "  change_ticket: " + "7" * 5000 + "\n"),
        ["deploys.yaml:9:", "a number of 5000 digits"],
    ),
    (
        "yaml-5000-digit-integer-with-an-anchor",
        _deploys(GOOD.replace("id: D1", "id: &d D1") + "  change_ticket: " + "7" * 5000 + "\n"),
        ["deploys.yaml:1:", "5000 digits"],
    ),
    (
        "config-5000-digit-integer",
        _config("observation_grace_seconds: " + "9" * 5000 + "\n"),
        ["knightwatch.yaml:1:", "a number of 5000 digits"],
    ),
    (
        "config-nested-450",
        _config("reference_exclude: " + "[" * 450 + "]" * 450 + "\n"),
        ["knightwatch.yaml:1:", "nested more than 100 levels deep"],
    ),
    (
        "jsonl-nested-5000",
        _deploys(JSONL_GOOD + "\n" + '{"a": ' * 5000 + "1" + "}" * 5000 + "\n", "deploys.jsonl"),
        ["deploys.jsonl:2:", "invalid JSON: nested too deeply"],
    ),
    (
        "jsonl-5000-digit-integer",
        _deploys(JSONL_GOOD[:-1] + ', "change_ticket": ' + "7" * 5000 + "}\n", "deploys.jsonl"),
        ["deploys.jsonl:1:", "a number of 5000 digits"],
    ),
    (
        "jsonl-nan",
        _deploys(JSONL_GOOD[:-1] + ', "change_ticket": NaN}\n', "deploys.jsonl"),
        ["deploys.jsonl:1:", "NaN is not a JSON number"],
    ),
    (
        "jsonl-half-a-surrogate-pair",
        _deploys(JSONL_GOOD.replace('"D1"', '"D1\\ud800"') + "\n", "deploys.jsonl"),
        ["deploys.jsonl:1:", "half a surrogate pair"],
    ),
    (
        "not-utf8",
        lambda r, e: (e / "deploys.yaml").write_bytes(b"- id: \xff\n"),
        ["deploys.yaml:", "not UTF-8"],
    ),
]


@pytest.mark.parametrize(("setup", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_evidence_exits_2_with_one_clear_message(
    tmp_path: Path, setup: Callable[[Path, Path], None], needles: list[str]
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    setup(repo.path, evidence)
    out = tmp_path / "report.json"
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "-o", out)
    assert result.code == 2, result.err
    assert result.err.startswith("knightwatch: error: ")
    assert "Traceback" not in result.err
    first_line = result.err.splitlines()[0]
    for needle in needles:
        assert needle in first_line, first_line
    assert len([line for line in result.err.splitlines() if "error:" in line]) == 1
    assert not out.exists()
    assert result.out == ""


def test_shallow_clone_is_refused_with_advice(tmp_path: Path) -> None:
    origin = ScriptedRepo(tmp_path / "origin")
    for n in range(3):
        origin.commit(f"c{n}", {"a": f"{n}\n"}, author=DEV, date=f"2024-01-0{n + 1}T00:00:00Z")
    clone = tmp_path / "clone"
    origin.git("clone", "--quiet", "--depth", "1", f"file://{origin.path}", str(clone))
    write_yaml(tmp_path / "ev" / "deploys.yaml", [])
    result = run_cli("check", "--repo", clone, "--evidence", tmp_path / "ev")
    assert result.code == 2
    assert "shallow clone" in result.err
    assert "fetch-depth: 0" in result.err and "git fetch --unshallow" in result.err


def test_not_a_repository(tmp_path: Path) -> None:
    result = run_cli("check", "--repo", tmp_path, "--evidence", tmp_path)
    assert result.code == 2
    assert f"{tmp_path}: not a git repository" in result.err


def test_missing_evidence_directory(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    result = run_cli("check", "--repo", repo.path)
    assert result.code == 2
    assert "compliance: evidence directory not found" in result.err


def test_output_directory_missing(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    write_yaml(tmp_path / "ev" / "deploys.yaml", [])
    out = tmp_path / "nowhere" / "r.json"
    result = run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "-o", out)
    assert result.code == 2
    assert "does not exist" in result.err
    assert not out.parent.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--format", "pdf"],
        ["check", "--fail-on", "severe"],
        ["check", "--as-of", "yesterday"],
        ["frobnicate"],
        [],
        ["policy"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.code == 2
    assert result.err.startswith("knightwatch: error: ")
    assert "Traceback" not in result.err
