"""What ``sample`` stands on, written by someone who wants it to mislead: names holding line
breaks or other control characters (refused at input, and shown as escapes if they reach a
sample anyway), findings matched to the deployment they are about and no other, and the
population digest recomputed exactly as docs/attestation.md says, for any id."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.signing.attestation import Signed, open_signed
from checker.signing.keys import load_public
from checker.signing.sample import draw, render_text
from tests.conftest import DEV, run_cli, write_yaml

AS_OF = "2012-08-01"


def _jq_jcs(value: Any) -> bytes:
    """What ``jq -jcS`` prints for a JSON value (jq 1.6 and 1.7): keys sorted, no spaces, no
    final newline, ``"`` ``\\`` and the short escapes, ``\\u00XX`` for every other character
    below U+0020 and for DEL, every other character as raw UTF-8."""
    if isinstance(value, dict):
        members = (f"{_jq_jcs(k).decode()}:{_jq_jcs(value[k]).decode()}" for k in sorted(value))
        return ("{" + ",".join(members) + "}").encode()
    if isinstance(value, list):
        return ("[" + ",".join(_jq_jcs(v).decode() for v in value) + "]").encode()
    if isinstance(value, str):
        short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
        short["\t"] = "\\t"
        text = "".join(
            short.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or c == "\x7f" else c)
            for c in value
        )
        return f'"{text}"'.encode()
    return json.dumps(value).encode()


def _audit(tmp_path: Path, records: list[dict[str, Any]], hosts: list[str]) -> Path:
    evidence = tmp_path / "evidence"
    write_yaml(evidence / "deploys.yaml", records)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": hosts}}})
    assert run_cli("keygen", "--output", tmp_path / "k").code == 0
    audit = tmp_path / "a.json"
    result = run_cli(
        "audit", "--repo", tmp_path / "repo", "--evidence", evidence, "--period", "2012-07",
        "--key", tmp_path / "k.key", "-o", audit, "--as-of", AS_OF,
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    return audit


def _signed(tmp_path: Path, audit: Path) -> Signed:
    return open_signed(audit, load_public(tmp_path / "k.pub"))


def _record(ident: str, sha: str, day: int, hosts: list[str]) -> dict[str, Any]:
    return {
        "id": ident, "service": "web", "environment": "production", "commit": sha,
        "started_at": f"2012-07-{day:02d}T12:00:00Z", "deployer": "ops@example.com",
        "targets": [{"host": h, "status": "succeeded"} for h in hosts],
    }  # fmt: skip


def _sample_json(tmp_path: Path, audit: Path) -> dict[str, dict[str, Any]]:
    result = run_cli("sample", audit, "--key", tmp_path / "k.pub", "--size", "99", "--seed", "s",
                     "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    return {item["id"]: item for item in json.loads(result.out)["items"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "RT-2\n   Findings about it in the audit: none"),
        ("id", "RT-\x7f2"),
        ("id", "RT-\x9b2"),
        ("id", "RT-2\u2028x"),
        ("service", "web\rX"),
        ("deployer", "ops\x1b[32m"),
        ("ref", "main\n"),
        ("ref", "main\x85"),
    ],
)
def test_a_control_character_anywhere_in_a_name_is_an_input_error(
    tmp_path: Path, field: str, value: str
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("a", {"a": "1\n"}, author=DEV, date="2012-07-01T10:00:00Z")
    records = [_record("RT-1", sha, 2, ["web-1"]), _record("RT-2", sha, 3, ["web-1"])]
    records[1][field] = value
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "deploys.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    out = tmp_path / "r.json"
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "-o", out)
    assert result.code == 2, result.out
    assert "deploys.jsonl:2: deployment #2" in result.err and f"{field}:" in result.err
    assert not out.exists()
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028]", result.err)


def test_a_host_with_a_line_break_in_the_fleet_is_an_input_error(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("a", {"a": "1\n"}, author=DEV, date="2012-07-01T10:00:00Z")
    write_yaml(tmp_path / "ev" / "deploys.yaml", [_record("RT-1", sha, 2, ["web-1"])])
    write_yaml(tmp_path / "ev" / "fleet.yaml", {"services": {"web": {"hosts": ["web-1\nPASS"]}}})
    result = run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev")
    assert result.code == 2 and "fleet.yaml" in result.err and "control character" in result.err


def test_the_documented_jq_recomputes_the_digest_of_non_ascii_ids(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("a", {"a": "1\n"}, author=DEV, date="2012-07-01T10:00:00Z")
    ids = ["Zürich-1", "東京-2", "\U0001f680-3", "a\u00a0b", 'q"\\-5', "\ufb01-6"]
    audit = _audit(tmp_path, [_record(i, sha, n + 2, ["web-1"]) for n, i in enumerate(ids)],
                   ["web-1"])  # fmt: skip
    predicate = _signed(tmp_path, audit).predicate
    deployments = predicate["population"]["deployments"]
    assert {d["id"] for d in deployments} == set(ids)
    signed = predicate["population"]["sha256"]
    # docs/attestation.md: jq -jcS .predicate.population.deployments statement.json | sha256sum
    assert hashlib.sha256(_jq_jcs(deployments)).hexdigest() == signed
    if shutil.which("jq") is not None:
        st = tmp_path / "statement.json"
        st.write_text(json.dumps({"predicate": predicate}))
        jq = subprocess.run(["jq", "-jcS", ".predicate.population.deployments", str(st)],
                            capture_output=True, check=True)  # fmt: skip
        assert hashlib.sha256(jq.stdout).hexdigest() == signed


def test_the_jq_equivalent_escapes_as_jq_does() -> None:
    """The Python equivalent above is itself checked against jq, where jq is installed."""
    value = [{"b": "x\x7f\x01\n\u2028é\U0001f680", "a": 1}]
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    jq = subprocess.run(["jq", "-jcS", "."], input=json.dumps(value).encode(),
                        capture_output=True, check=True)  # fmt: skip
    assert jq.stdout == _jq_jcs(value)


def test_sample_lists_review_002_under_each_deployment_that_shipped_the_commit(
    tmp_path: Path,
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    one = repo.commit("one", {"a": "1\n"}, author=DEV, date="2012-07-01T10:00:00Z")
    two = repo.commit("two", {"a": "2\n"}, author=DEV, date="2012-07-02T10:00:00Z")
    three = repo.commit("three", {"a": "3\n"}, author=DEV, date="2012-07-03T10:00:00Z")
    records = [_record("D-1", one, 4, ["web-1"]), _record("D-2", three, 5, ["web-1"])]
    items = _sample_json(tmp_path, _audit(tmp_path, records, ["web-1"]))
    review = {i: {f["subject"] for f in it["findings"] if f["rule"] == "REVIEW-002"}
              for i, it in items.items()}  # fmt: skip
    assert review == {"D-1": {one}, "D-2": {two, three}}  # two is inside D-2's range


def test_sample_matches_findings_to_the_deployment_exactly(tmp_path: Path) -> None:
    """``RT-2-b:r-4`` is RT-2-b's miss of r-4: RT-2 (which reached every host, and whose id
    starts RT-2-b's) has none. (An id that is another's and ``:``, which would make a subject
    name two deployments, is refused at input: tests/test_fleet_causes.py.)"""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("a", {"a": "1\n"}, author=DEV, date="2012-07-01T10:00:00Z")
    records = [_record("RT-2", sha, 2, ["r-1", "r-4"]), _record("RT-2-b", sha, 3, ["r-1"])]
    items = _sample_json(tmp_path, _audit(tmp_path, records, ["r-1", "r-4"]))
    fleet = {i: [f["subject"] for f in it["findings"] if f["rule"].startswith("FLEET")]
             for i, it in items.items()}  # fmt: skip
    assert fleet["RT-2"] == [] and "RT-2-b:r-4" in fleet["RT-2-b"]


def test_the_text_sample_shows_every_value_as_an_escape(tmp_path: Path) -> None:
    """Should a control character reach a population (an audit signed before they were
    refused), the walkthrough shows it and forges no line."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("a", {"a": "1\n"}, author=DEV, date="2012-07-01T10:00:00Z")
    audit = _audit(tmp_path, [_record("RT-1", sha, 2, ["web-1"])], ["web-1"])
    sample = draw(_signed(tmp_path, audit), 1, "s")
    forged = "RT-1\n   Findings about it in the audit: none\x1b[32m"
    item = dataclasses.replace(sample.items[0], entry={**sample.items[0].entry, "id": forged})
    text = render_text(dataclasses.replace(sample, items=(item,)))
    assert "RT-1\\x0a   Findings about it in the audit: none\\x1b[32m" in text
    lines = text.splitlines()
    assert "\x1b" not in text and sum(ln.startswith("   Findings") for ln in lines) == 1
