"""Signed monthly attestations with real Ed25519 keys: sign, verify, tamper, swap, chain, replay."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checker.demo.knight import KnightCase, build_knight
from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import CliResult, run_cli


@dataclass
class Setup:
    case: KnightCase
    key: Path
    pub: Path
    dir: Path

    def audit(self, period: str, name: str, *extra: str | Path) -> CliResult:
        return run_cli(
            "audit",
            "--repo",
            self.case.repo,
            "--period",
            period,
            "--key",
            self.key,
            "-o",
            self.dir / name,
            "--as-of",
            "2012-10-01",
            *extra,
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("attest")
    case = build_knight(root / "knight")
    result = run_cli("keygen", "--output", root / "signing")
    assert result.code == 0, result.err
    s = Setup(case, root / "signing.key", root / "signing.pub", root)
    assert s.audit("2012-07", "jul.json").code == 1  # findings: the audit still writes
    assert s.audit("2012-08", "aug.json", "--previous", root / "jul.json").code == 1
    # DEAD-002 stands every month: the flag stays repurposed until it is waived or renamed.
    assert s.audit("2012-09", "sep.json", "--previous", root / "aug.json").code == 1
    return s


def envelope(path: Path) -> dict[str, object]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def statement(path: Path) -> dict[str, object]:
    return json.loads(base64.b64decode(str(envelope(path)["payload"])))  # type: ignore[no-any-return]


def test_keygen_writes_a_private_key_only_its_owner_can_read(setup: Setup) -> None:
    assert stat.S_IMODE(setup.key.stat().st_mode) == 0o600
    assert setup.key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert setup.pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = run_cli("keygen", "--output", setup.dir / "signing")
    assert again.code == 2 and "never overwritten" in again.err


def test_the_envelope_is_dsse_with_an_in_toto_statement(setup: Setup) -> None:
    env = envelope(setup.dir / "jul.json")
    assert env["payloadType"] == "application/vnd.in-toto+json"
    st = statement(setup.dir / "jul.json")
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["predicateType"] == "urn:knightwatch:predicate:monthly-audit:v1"
    predicate = st["predicate"]
    assert isinstance(predicate, dict)
    report = predicate["report"]
    assert predicate["period"] == report["period"] == "2012-07"
    assert predicate["previous"] is None
    assert predicate["tool"]["name"] == "knightwatch"
    subjects = {s["name"]: s["digest"] for s in st["subject"]}  # type: ignore[union-attr]
    assert subjects["git:HEAD"] == {"gitCommit": report["inputs"]["repository"]["head"]}
    for f in report["inputs"]["files"]:
        assert subjects[f"{f['role']}:{f['path']}"] == {"sha256": f["sha256"]}
    # Only July's deployment is judged; the 2011 one is context for what July shipped.
    assert {f["subject"] for f in report["findings"] if f["rule"] == "REVIEW-001"} == {
        "D-2012-07-27"
    }
    assert report["summary"]["deployments"] == 1
    # RFC 8785 canonical JSON: compact, sorted keys.
    payload = base64.b64decode(str(env["payload"]))
    assert (
        payload
        == json.dumps(st, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_verify_accepts_a_valid_chain(setup: Setup) -> None:
    result = run_cli(
        "verify", setup.dir / "sep.json", "--key", setup.pub, "--previous", setup.dir / "aug.json"
    )
    assert result.code == 0, result.err
    digest = hashlib.sha256(base64.b64decode(str(envelope(setup.dir / "aug.json")["payload"])))
    assert f"chain: linked to 2012-08 (sha256 {digest.hexdigest()})" in result.out
    assert "signature: valid" in result.out


def test_one_altered_byte_of_payload_fails_the_signature(setup: Setup, tmp_path: Path) -> None:
    env = envelope(setup.dir / "jul.json")
    payload = bytearray(base64.b64decode(str(env["payload"])))
    index = payload.index(b'"verdict":"fail"') + len(b'"verdict":"')
    payload[index : index + 4] = b"pass"
    env["payload"] = base64.b64encode(bytes(payload)).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(env))
    result = run_cli("verify", forged, "--key", setup.pub)
    assert result.code == 1
    assert "verification failed (signature)" in result.err
    assert "Traceback" not in result.err


def test_another_key_fails_as_a_key_error(setup: Setup, tmp_path: Path) -> None:
    run_cli("keygen", "--output", tmp_path / "other")
    result = run_cli("verify", setup.dir / "jul.json", "--key", tmp_path / "other.pub")
    assert result.code == 1
    assert "verification failed (key)" in result.err


@pytest.mark.parametrize(
    ("parts", "said"),
    [
        (("signing.pub", "other.pub"), "holds 2 PEM blocks"),
        (("other.pub", "signing.pub"), "holds 2 PEM blocks"),
        (("signing.pub", "signing.key"), "holds a private key"),
        (("signing.key",), "holds a private key"),
    ],
)
def test_a_public_key_file_holds_one_public_key_alone(
    setup: Setup, tmp_path: Path, parts: tuple[str, ...], said: str
) -> None:
    """Of a file with two keys, the first was used and the rest ignored: a keyring that
    begins with the audited team's own key verified what that key signed, whatever keys
    followed. A private key after the public one was ignored too: the file handed to
    auditors let anyone holding it sign reports that verify."""
    run_cli("keygen", "--output", tmp_path / "other")
    keys = {"signing.pub": setup.pub, "signing.key": setup.key, "other.pub": tmp_path / "other.pub"}
    given = tmp_path / "given.pub"
    given.write_bytes(b"".join(keys[name].read_bytes() for name in parts))
    for command in ("verify", "sample"):
        extra = ("--size", "1", "--seed", "s") if command == "sample" else ()
        result = run_cli(command, setup.dir / "jul.json", "--key", given, *extra)
        assert result.code == 2, result.out + result.err
        assert f"{given}: {said}" in result.err
        assert "Traceback" not in result.err and result.out == ""


def test_a_signature_with_the_right_keyid_but_forged_bytes_fails(
    setup: Setup, tmp_path: Path
) -> None:
    env = envelope(setup.dir / "jul.json")
    signatures = env["signatures"]
    assert isinstance(signatures, list)
    signatures[0]["sig"] = base64.b64encode(b"\0" * 64).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(env))
    assert "verification failed (signature)" in run_cli("verify", forged, "--key", setup.pub).err


@pytest.mark.parametrize(
    ("current", "previous"),
    [("sep.json", "jul.json"), ("aug.json", "sep.json"), ("jul.json", "aug.json")],
    ids=["missing-month", "reordered", "first-has-no-link"],
)
def test_a_broken_chain_fails_as_a_link_error(setup: Setup, current: str, previous: str) -> None:
    result = run_cli(
        "verify", setup.dir / current, "--key", setup.pub, "--previous", setup.dir / previous
    )
    assert result.code == 1
    assert "verification failed (link)" in result.err


def test_a_replaced_previous_month_breaks_the_link(setup: Setup, tmp_path: Path) -> None:
    # August re-made (say, from altered evidence) signs fine, but September links to the old one.
    other = tmp_path / "aug2.json"
    result = run_cli(
        "audit",
        "--repo",
        setup.case.repo,
        "--period",
        "2012-08",
        "--key",
        setup.key,
        "-o",
        other,
        "--as-of",
        "2012-10-02",
        "--previous",
        setup.dir / "jul.json",
    )
    assert result.code == 1
    verdict = run_cli("verify", setup.dir / "sep.json", "--key", setup.pub, "--previous", other)
    assert verdict.code == 1 and "links to sha256" in verdict.err


def test_audit_refuses_a_previous_report_of_the_wrong_month(setup: Setup, tmp_path: Path) -> None:
    result = run_cli(
        "audit",
        "--repo",
        setup.case.repo,
        "--period",
        "2012-09",
        "--key",
        setup.key,
        "-o",
        tmp_path / "x.json",
        "--previous",
        setup.dir / "jul.json",
    )
    assert result.code == 2
    assert "must cover 2012-08" in result.err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"payloadType": "x"}',
        b'{"payloadType": "application/vnd.in-toto+json", '
        b'"payload": "%%%", "signatures": [{"keyid": "", "sig": "AA=="}]}',
    ],
    ids=["not-json", "no-signatures", "bad-base64"],
)
def test_a_malformed_envelope_is_exit_2(setup: Setup, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = run_cli("verify", path, "--key", setup.pub)
    assert result.code == 2
    assert "malformed envelope" in result.err
    assert "Traceback" not in result.err


def test_an_envelope_saved_with_a_byte_order_mark_is_named_as_such(
    setup: Setup, tmp_path: Path
) -> None:
    """An editor that saves with a BOM: the message said 'Expecting value: line 1 column 1'."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + (setup.dir / "jul.json").read_bytes())
    result = run_cli("verify", path, "--key", setup.pub)
    assert result.code == 2 and result.out == ""
    assert f"{path}: malformed envelope: starts with a UTF-8 byte-order mark" in result.err


def test_a_second_payload_key_is_refused_not_verified(setup: Setup, tmp_path: Path) -> None:
    """A reader that takes the first ``payload`` sees a forged pass; the verifier, taking the
    last, would confirm the genuine signature: the envelope must be refused instead."""
    forged = statement(setup.dir / "jul.json")
    report = forged["predicate"]["report"]  # type: ignore[index]
    report["verdict"], report["findings"] = "pass", []
    genuine = str(envelope(setup.dir / "jul.json")["payload"])
    forged_b64 = base64.b64encode(json.dumps(forged).encode()).decode()
    text = (setup.dir / "jul.json").read_text()
    two = text.replace('"payload": ', f'"payload": "{forged_b64}",\n  "payload": ', 1)
    assert two.count('"payload"') == 2 and genuine in two
    path = tmp_path / "two-payloads.json"
    path.write_text(two)
    result = run_cli("verify", path, "--key", setup.pub)
    assert result.code == 2, result.out
    assert "malformed envelope" in result.err and "duplicate key 'payload'" in result.err
    assert "signature: valid" not in result.out


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda env: {**env, "payloadtype": "x"}, "unknown field 'payloadtype'"),
        (
            lambda env: {**env, "signatures": [{**env["signatures"][0], "cert": "x"}]},
            "signature #1 has unknown field 'cert'",
        ),
        (lambda env: {**env, "signatures": [*env["signatures"], "sig"]}, "not an object"),
    ],
    ids=["envelope-field", "signature-field", "signature-not-object"],
)
def test_fields_dsse_does_not_have_are_refused(
    setup: Setup, tmp_path: Path, change: object, needle: str
) -> None:
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(change(envelope(setup.dir / "jul.json"))))  # type: ignore[operator]
    result = run_cli("verify", path, "--key", setup.pub)
    assert result.code == 2, result.out
    assert needle in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"payloadType": "x", "payload": "", "signatures": [], "n": ' + b"9" * 5000 + b"}",
        b'{"payloadType": "x", "payload": "", "signatures": [], "n": NaN}',
    ],
    ids=["nested-100000", "5000-digits", "nan"],
)
def test_json_python_cannot_take_is_a_malformed_envelope(
    setup: Setup, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(content)
    result = run_cli("verify", path, "--key", setup.pub)
    assert result.code == 2, result.err
    assert result.err.startswith(f"knightwatch: error: {path}: malformed envelope")
    assert "Traceback" not in result.err


def test_same_inputs_give_the_same_signed_bytes(setup: Setup, tmp_path: Path) -> None:
    again = run_cli(
        "audit",
        "--repo",
        setup.case.repo,
        "--period",
        "2012-07",
        "--key",
        setup.key,
        "-o",
        tmp_path / "jul.json",
        "--as-of",
        "2012-10-01",
    )
    assert again.code == 1
    assert (tmp_path / "jul.json").read_bytes() == (setup.dir / "jul.json").read_bytes()


def test_the_key_may_come_from_the_environment(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNIGHTWATCH_SIGNING_KEY", setup.key.read_text())
    result = run_cli(
        "audit",
        "--repo",
        setup.case.repo,
        "--period",
        "2012-07",
        "-o",
        tmp_path / "jul.json",
        "--as-of",
        "2012-10-01",
    )
    assert result.code == 1, result.err
    assert (tmp_path / "jul.json").read_bytes() == (setup.dir / "jul.json").read_bytes()
    monkeypatch.delenv("KNIGHTWATCH_SIGNING_KEY")
    missing = run_cli(
        "audit", "--repo", setup.case.repo, "--period", "2012-07", "-o", tmp_path / "x.json"
    )
    assert missing.code == 2 and "KNIGHTWATCH_SIGNING_KEY" in missing.err


def test_replay_confirms_the_same_findings(setup: Setup) -> None:
    result = run_cli(
        "verify", setup.dir / "jul.json", "--key", setup.pub, "--replay", "--repo", setup.case.repo
    )
    assert result.code == 0, result.err
    envelope = json.loads((setup.dir / "jul.json").read_text())
    recorded = json.loads(base64.b64decode(envelope["payload"]))["predicate"]["report"]
    inputs = len(recorded["inputs"]["files"])
    assert inputs > 5  # the evidence files and every policy file
    assert f"replay: replayed {inputs} inputs" in result.out
    assert "the same 6 findings and verdict fail" in result.out


def test_replay_names_the_input_that_changed(setup: Setup, tmp_path: Path) -> None:
    case = build_knight(tmp_path / "copy")
    (case.evidence / "fleet.yaml").write_text(
        (case.evidence / "fleet.yaml").read_text() + "# edited after the audit\n"
    )
    result = run_cli(
        "verify", setup.dir / "jul.json", "--key", setup.pub, "--replay", "--repo", case.repo
    )
    assert result.code == 1
    assert "verification failed (replay): evidence input fleet.yaml differs" in result.err


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (("--evidence", "{evidence}"), "--evidence goes with --replay"),
        (("--repo", "{repo}"), "--repo goes with --replay"),
        (("--repo", "{repo}", "--evidence", "{evidence}"), "--repo and --evidence go with"),
        (("--policies", "{repo}"), "--policies goes with --replay"),
        (("--engine", "opa", "--opa-url", "http://x"), "--engine and --opa-url go with"),
        (("--policy-timeout", "5"), "--policy-timeout goes with --replay"),
    ],
)
def test_what_a_replay_reads_is_refused_without_replay(
    setup: Setup, tmp_path: Path, given: tuple[str, ...], said: str
) -> None:
    """An auditor who names the evidence but forgets --replay: verify read none of it and
    passed (exit 0) an audit whose evidence had been edited since, as though compared."""
    case = build_knight(tmp_path / "copy")
    (case.evidence / "fleet.yaml").write_text(
        (case.evidence / "fleet.yaml").read_text() + "# edited after the audit\n"
    )
    argv = [a.format(repo=case.repo, evidence=case.evidence) for a in given]
    result = run_cli("verify", setup.dir / "jul.json", "--key", setup.pub, *argv)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"knightwatch: error: {said}")
    assert "without it the evidence is neither read nor compared" in result.err


def _claim_every_rule_evaluated(predicate: dict[str, Any]) -> str:
    summary = predicate["report"]["summary"]
    summary.update(incomplete=[], not_evaluated=[], complete=True)
    for rule in summary["rules"]:
        rule["status"] = "evaluated"
        rule.pop("reason", None)
    predicate["complete"] = True
    return "predicate.complete is true, and the replay gives false"


def _judge_waivers_earlier(predicate: dict[str, Any]) -> str:
    predicate["report"]["as_of"] = "2012-08-01"  # verify checks, and shows, 2012-10-01
    return 'predicate.as_of is "2012-10-01", and the replay gives "2012-08-01"'


@pytest.mark.parametrize("forge", [_claim_every_rule_evaluated, _judge_waivers_earlier])
def test_replay_confirms_every_claim_not_the_findings_alone(
    setup: Setup, tmp_path: Path, forge: Callable[[dict[str, Any]], str]
) -> None:
    """Whoever holds the key signs what they like; replay is how an auditor need not trust
    them. A statement with the findings, verdict and population the evidence gives, but that
    claimed every rule evaluated, hid the --fail-on it was judged at from `settings`, or had
    its waivers judged as of another day than the as-of date verify shows, replayed as
    confirmed: the replay compared the findings alone. (One that hid its --fail-on fails
    verify itself: ``test_a_verdict_its_findings_do_not_give_fails_verify_and_sample``.)"""
    forged = statement(setup.dir / "jul.json")
    said = forge(forged["predicate"])  # type: ignore[arg-type]
    path = tmp_path / "jul-forged.json"
    path.write_text(sign_statement(forged, load_private(str(setup.key)))[0])
    assert run_cli("verify", path, "--key", setup.pub).code == 0  # the signature holds
    result = run_cli("verify", path, "--key", setup.pub, "--replay", "--repo", setup.case.repo)
    assert result.code == 1, result.out + result.err
    assert f"verification failed (replay): the signed {said}" in result.err


def _say_pass(predicate: dict[str, Any]) -> str:
    report = predicate["report"]
    report["verdict"] = "pass"  # beside its unwaived critical and high findings
    return "its report says verdict 'pass', and its findings give 'fail' (6 unwaived at or"


def _waive_every_finding(predicate: dict[str, Any]) -> str:
    report = predicate["report"]
    for finding in report["findings"]:
        finding["waived"] = True  # no waiver anywhere; the summary left as it was
    report["verdict"] = "pass"
    return "its summary says 6 failing, and there are 0"


def _judge_at_critical_unsaid(predicate: dict[str, Any]) -> str:
    report = predicate["report"]
    report["fail_on"] = "critical"  # and no word of it under settings
    critical = [f for f in report["findings"] if f["severity"] == "critical"]
    report["summary"]["failing"] = len(critical)
    return "its report was judged with fail_on critical, weaker than high, and the statement"


def _claim_complete(predicate: dict[str, Any]) -> str:
    report = predicate["report"]
    report["summary"]["complete"] = True  # beside the rules it lists as not evaluated
    return "its summary says complete True, and its rules not judged whole are ['DEAD-007', 'FL"


def _claim_complete_in_the_statement(predicate: dict[str, Any]) -> str:
    predicate["complete"] = True  # what scripts read; the report inside left as it was
    return "the statement says complete True, and its report's summary False"


def _pass_without(predicate: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> None:
    """The report's findings those ``keep`` keeps, its counts and verdict made to agree."""
    report = predicate["report"]
    report["findings"] = [f for f in report["findings"] if keep(f)]
    failing = [f for f in report["findings"] if f["severity"] in ("high", "critical")]
    report["summary"].update(findings=len(report["findings"]), failing=len(failing))
    report["verdict"] = "fail" if failing else "pass"


def _drop_the_findings(predicate: dict[str, Any]) -> str:
    _pass_without(predicate, lambda f: False)  # the rules still count theirs
    return "rule DEAD-002: its summary says 1 findings, and there are 0"


def _lower_to_low(predicate: dict[str, Any]) -> str:
    for finding in predicate["report"]["findings"]:
        finding["severity"] = "low"  # the summary's rules still say critical and high
    _pass_without(predicate, lambda f: True)
    return "finding #1 of DEAD-002 is 'low', and its summary gives DEAD-002 severity 'critical'"


def _rename_the_rule(predicate: dict[str, Any]) -> str:
    for finding in predicate["report"]["findings"]:
        finding["rule"], finding["severity"] = "LOCAL-999", "info"  # a rule no policy has
    _pass_without(predicate, lambda f: True)
    return "finding #1 is of rule 'LOCAL-999', which its summary does not list"


def _count_by_severity_wrong(predicate: dict[str, Any]) -> str:
    summary = predicate["report"]["summary"]
    summary["by_severity"]["critical"] = 0  # beside three unwaived critical findings
    return "by_severity: its summary says 0 critical, and there are 3"


def _say_the_failing_rules_were_not_evaluated(predicate: dict[str, Any]) -> str:
    summary = predicate["report"]["summary"]
    failed = {f["rule"] for f in predicate["report"]["findings"]}
    for rule in summary["rules"]:
        if rule["id"] in failed:  # its lists of rules not evaluated left as they were
            rule.update(status="not_evaluated", findings=0)
    _pass_without(predicate, lambda f: False)
    summary["by_severity"] = dict.fromkeys(summary["by_severity"], 0)
    return "its summary's not_evaluated is ['DEAD-007', 'FLEET-003'], and its rules' statuses"


@pytest.mark.parametrize(
    "forge",
    [
        _say_the_failing_rules_were_not_evaluated,
        _say_pass,
        _waive_every_finding,
        _judge_at_critical_unsaid,
        _claim_complete,
        _claim_complete_in_the_statement,
        _drop_the_findings,
        _lower_to_low,
        _rename_the_rule,
        _count_by_severity_wrong,
    ],
)
def test_a_verdict_its_findings_do_not_give_fails_verify_and_sample(
    setup: Setup, tmp_path: Path, forge: Callable[[dict[str, Any]], str]
) -> None:
    """Whoever holds the key signs what they like. A statement whose report listed July's
    unwaived critical and high findings and said `pass` verified (exit 0, `verdict pass`),
    as did one whose findings were all marked waived under a summary still counting them
    failing, or one judged at `fail_on: critical` without a word of it among the settings
    (verify names those it finds there), or one that said it judged every rule whole beside
    the rule it listed as not evaluated: each was sampled from, and chained to. So did one
    whose findings were dropped, lowered to `low` or given a rule no policy has, its verdict
    and counts made to agree, beside a summary whose rules still counted and rated them."""
    st = statement(setup.dir / "jul.json")
    said = forge(st["predicate"])  # type: ignore[arg-type]
    signed = tmp_path / "verdict.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 1 and result.out == "", result.out + result.err
    assert f"verification failed (verdict): {signed}: {said}" in result.err
    assert "Traceback" not in result.err
    sampled = run_cli("sample", signed, "--key", setup.pub, "--size", "1", "--seed", "s")
    assert sampled.code == 2 and "verification failed (verdict)" in sampled.err
    assert sampled.out == ""
    chained = run_cli("verify", setup.dir / "aug.json", "--key", setup.pub, "--previous", signed)
    assert chained.code == 1 and "verification failed (verdict)" in chained.err
    assert run_cli("verify", setup.dir / "jul.json", "--key", setup.pub).code == 0


def _name_the_tools_export(subjects: list[dict[str, Any]], report: dict[str, Any]) -> str:
    deploys = next(s for s in subjects if s["name"] == "evidence:deploys.yaml")
    read = deploys["digest"]["sha256"]
    deploys["digest"] = {"sha256": "801cdd64" * 8}  # the deploy tool's own export, say
    said = f"subject evidence:deploys.yaml is sha256 {'801cdd64' * 8}"
    return f"{said}, and its report read sha256 {read}"


def _leave_out_a_file(subjects: list[dict[str, Any]], report: dict[str, Any]) -> str:
    subjects[:] = [s for s in subjects if s["name"] != "evidence:observations.yaml"]
    read = next(f["sha256"] for f in report["inputs"]["files"] if f["path"] == "observations.yaml")
    return f"its report read evidence:observations.yaml (sha256 {read}), which is not among"


def _name_another_head(subjects: list[dict[str, Any]], report: dict[str, Any]) -> str:
    subjects[0] = {"name": "git:HEAD", "digest": {"gitCommit": "0" * 40}}
    return f"subject git:HEAD is gitCommit {'0' * 40}, and its report read gitCommit"


def _add_a_file(subjects: list[dict[str, Any]], report: dict[str, Any]) -> str:
    subjects.append({"name": "evidence:reviews.yaml", "digest": {"sha256": "1" * 64}})
    return "subject evidence:reviews.yaml is not among the inputs its report states"


@pytest.mark.parametrize(
    "forge", [_name_the_tools_export, _leave_out_a_file, _name_another_head, _add_a_file]
)
def test_subjects_other_than_the_reports_inputs_fail_verify_and_sample(
    setup: Setup, tmp_path: Path, forge: Callable[[list[dict[str, Any]], dict[str, Any]], str]
) -> None:
    """The subjects are what in-toto tooling and an auditor comparing digests read; the
    report's inputs are what the audit read, and what a replay compares with the evidence. A
    statement whose subject named the deploy tool's export while its report had read an
    edited copy verified (exit 0), replayed as confirmed on the edited copy, and was sampled
    from; a federated organisation audit already rejected it."""
    st = statement(setup.dir / "jul.json")
    said = forge(st["subject"], st["predicate"]["report"])  # type: ignore[arg-type, index]
    signed = tmp_path / "subjects.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    for replay in ((), ("--replay", "--repo", setup.case.repo)):
        result = run_cli("verify", signed, "--key", setup.pub, *replay)
        assert result.code == 1 and result.out == "", result.out + result.err
        assert f"verification failed (subjects): {signed}: {said}" in result.err
    sampled = run_cli("sample", signed, "--key", setup.pub, "--size", "1", "--seed", "s")
    assert sampled.code == 2 and "verification failed (subjects)" in sampled.err
    assert sampled.out == ""
    chained = run_cli("verify", setup.dir / "aug.json", "--key", setup.pub, "--previous", signed)
    assert chained.code == 1 and "verification failed (subjects)" in chained.err


def test_a_statement_without_subjects_fails_verify_and_sample(setup: Setup, tmp_path: Path) -> None:
    """in-toto requires a statement's subjects; one signed without any was verified as valid
    (exit 0) and sampled from, its subjects never compared with its report's inputs."""
    st = statement(setup.dir / "jul.json")
    del st["subject"]
    signed = tmp_path / "bare.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 1 and result.out == "", result.out + result.err
    assert f"verification failed (subjects): {signed}: its report read " in result.err
    sampled = run_cli("sample", signed, "--key", setup.pub, "--size", "1", "--seed", "s")
    assert sampled.code == 2 and "verification failed (subjects)" in sampled.err


@pytest.mark.parametrize("period", ["2012-7", "2012-07\n", "\u0662\u0660\u0661\u0662-07"])
def test_period_must_be_a_month(setup: Setup, tmp_path: Path, period: str) -> None:
    """A month as YYYY-MM in ASCII digits, and nothing after it: a trailing line break and
    Arabic-Indic digits were taken, judged as July and signed as another month's name, which
    no next month's audit could chain to."""
    result = run_cli(
        "audit",
        "--repo",
        setup.case.repo,
        "--period",
        period,
        "--key",
        setup.key,
        "-o",
        tmp_path / "x.json",
    )
    assert result.code == 2 and "YYYY-MM" in result.err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("as_of", "said"),
    [
        ("2999-01-01", "judged as of 2999-01-01, a day that has not come"),
        ("2012-07-15", "judged as of 2012-07-15, before 2012-08-01"),
    ],
)
def test_an_audit_judged_as_of_a_day_it_could_not_be_fails_verify_and_sample(
    setup: Setup, tmp_path: Path, as_of: str, said: str
) -> None:
    """Versions before the audit refused an --as-of after today signed such audits: a waiver
    running years past today then counted. Their signature holds; the date they were judged
    as of cannot, and verify called them valid (exit 0), sample drew from them."""
    st = statement(setup.dir / "jul.json")
    st["predicate"]["as_of"] = as_of  # type: ignore[index]
    st["predicate"]["report"]["as_of"] = as_of  # type: ignore[index]
    signed = tmp_path / "as-of.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 1 and result.out == ""
    assert f"verification failed (as-of): {signed}: the audit of 2012-07 was {said}" in result.err
    sampled = run_cli("sample", signed, "--key", setup.pub, "--size", "1", "--seed", "s")
    assert sampled.code == 2 and "refusing to sample" in sampled.err and sampled.out == ""
    chained = run_cli("verify", setup.dir / "aug.json", "--key", setup.pub, "--previous", signed)
    assert chained.code == 1 and "verification failed (as-of)" in chained.err


def test_a_partial_audit_is_judged_as_of_a_day_of_its_month(setup: Setup, tmp_path: Path) -> None:
    st = statement(setup.dir / "jul.json")
    st["predicate"].update(partial=True, as_of="2012-07-20")  # type: ignore[attr-defined]
    signed = tmp_path / "partial.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 0, result.err
    st["predicate"]["as_of"] = "2012-06-30"  # type: ignore[index]
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 1 and "judged as of 2012-06-30, before 2012-07-01" in result.err


def test_a_statement_whose_period_is_not_a_month_is_malformed(setup: Setup, tmp_path: Path) -> None:
    st = statement(setup.dir / "jul.json")
    st["predicate"]["period"] = "2012-07\n"  # type: ignore[index]
    signed = tmp_path / "odd.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 2 and "malformed attestation" in result.err


def test_html_and_markdown_beside_the_signed_report(setup: Setup, tmp_path: Path) -> None:
    result = run_cli(
        "audit",
        "--repo",
        setup.case.repo,
        "--period",
        "2012-07",
        "--key",
        setup.key,
        "-o",
        tmp_path / "jul.json",
        "--as-of",
        "2012-10-01",
        "--html",
        tmp_path / "jul.html",
        "--markdown",
        tmp_path / "jul.md",
    )
    assert result.code == 1
    html = (tmp_path / "jul.html").read_text()
    keyid = envelope(tmp_path / "jul.json")["signatures"][0]["keyid"]  # type: ignore[index]
    assert keyid in html and keyid in (tmp_path / "jul.md").read_text()
    assert "Summary by control" in html and "SEC Rule 15c3-5(b)" in html
    assert (tmp_path / "jul.html").stat().st_size < 200_000


@pytest.fixture(scope="module")
def rotated(setup: Setup) -> tuple[Path, Path]:
    """August signed with a new key, chained to July signed with the old one: the new key's
    public file and August's report."""
    assert run_cli("keygen", "--output", setup.dir / "new").code == 0
    new = Setup(setup.case, setup.dir / "new.key", setup.dir / "new.pub", setup.dir)
    refused = new.audit("2012-08", "aug-new.json", "--previous", setup.dir / "jul.json")
    assert refused.code == 2, refused.err
    assert "--previous-key" in refused.err and not (setup.dir / "aug-new.json").exists()
    result = new.audit(
        "2012-08", "aug-new.json", "--previous", setup.dir / "jul.json", "--previous-key", setup.pub
    )
    assert result.code == 1, result.err  # findings: written
    return new.pub, setup.dir / "aug-new.json"


def test_a_rotated_key_chains_to_the_month_the_old_key_signed(
    setup: Setup, rotated: tuple[Path, Path]
) -> None:
    """A team that rotates its signing key keeps its chain: the month after the rotation
    records the old key's id beside last month's digest, and verify holds last month's report
    to that key, given its public key by the auditor."""
    pub, august = rotated
    old = hashlib.sha256(load_private(str(setup.key)).public_key().public_bytes_raw()).hexdigest()
    link = statement(august)["predicate"]["previous"]  # type: ignore[index]
    assert link["keyid"] == old  # type: ignore[index]
    verified = run_cli(
        "verify", august, "--key", pub, "--previous", setup.dir / "jul.json",
        "--previous-key", setup.pub,
    )  # fmt: skip
    assert verified.code == 0, verified.err
    assert f"), signed by key {old}" in verified.out
    asked = run_cli("verify", august, "--key", pub, "--previous", setup.dir / "jul.json")
    assert asked.code == 2 and "--previous-key" in asked.err
    unchecked = run_cli("verify", august, "--key", pub)  # the link shown, and the key it names
    assert unchecked.code == 0, unchecked.err
    assert f", signed by key {old}; pass --previous and --previous-key" in unchecked.out
    alone = run_cli("verify", august, "--key", pub, "--previous-key", setup.pub)
    assert alone.code == 2 and "pass --previous too" in alone.err


@pytest.mark.parametrize("months", ["rotated", "same key"])
def test_last_month_signed_again_by_another_key_breaks_the_link(
    setup: Setup, rotated: tuple[Path, Path], tmp_path: Path, months: str
) -> None:
    """Last month's exact payload, signed again by a key the auditor is handed, has the digest
    the link records but not its signer: the report records which key signed the month before
    it (its own, where it records none), and the link fails on any other."""
    pub, current = rotated if months == "rotated" else (setup.pub, setup.dir / "aug.json")
    assert run_cli("keygen", "--output", tmp_path / "third").code == 0
    earlier = setup.dir / "jul.json"
    resigned = tmp_path / "jul-resigned.json"
    resigned.write_text(
        sign_statement(statement(earlier), load_private(str(tmp_path / "third.key")))[0]
    )
    result = run_cli(
        "verify", current, "--key", pub, "--previous", resigned,
        "--previous-key", tmp_path / "third.pub",
    )  # fmt: skip
    assert result.code == 1, result.out + result.err
    assert "verification failed (link)" in result.err
    assert "but the given previous report is signed by key" in result.err


@pytest.mark.parametrize(
    ("change", "code", "said"),
    [
        ({"previous": "2012-06"}, 2, "malformed attestation: its previous link is neither null"),
        ({"previous": {"period": "2012-06", "digest": "ab"}}, 2, "malformed attestation: its"),
        ({"previous": {"period": "2012-06"}}, 2, "malformed attestation: its previous link"),
        ({"summary": "none"}, 1, "verification failed (verdict): SRC: its report's summary is"),
    ],
)
def test_a_signed_statement_of_another_shape_is_named_not_an_internal_error(
    setup: Setup, tmp_path: Path, change: dict[str, Any], code: int, said: str
) -> None:
    """A previous link or a summary of another shape than the ones audit writes stopped
    verify with an internal error (exit 3), the statement's signature valid."""
    st = statement(setup.dir / "jul.json")
    predicate: dict[str, Any] = st["predicate"]  # type: ignore[assignment]
    for name, value in change.items():
        (predicate["report"] if name == "summary" else predicate)[name] = value
    signed = tmp_path / "shape.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == code and result.out == "", result.err
    assert said.replace("SRC", str(signed)) in result.err
    assert "internal error" not in result.err and "Traceback" not in result.err
    sampled = run_cli("sample", signed, "--key", setup.pub, "--size", "1", "--seed", "s")
    assert sampled.code == 2 and "Traceback" not in sampled.err


@pytest.mark.parametrize("value", ["yes", 1, None, "false"])
def test_a_require_all_that_is_not_true_or_false_fails_verify(
    setup: Setup, tmp_path: Path, value: object
) -> None:
    """``summary.require_all`` says whether a rule not judged fails the verdict; verify read
    it as set only when it was ``true``, and a replay as set whenever it was truthy. A
    statement whose report said ``"yes"``, 1 or null there verified (exit 0): its verdict was
    checked against a reading of the flag the audit never made. It is true or false."""
    st = statement(setup.dir / "jul.json")
    st["predicate"]["report"]["summary"]["require_all"] = value  # type: ignore[index]
    signed = tmp_path / "require-all.json"
    signed.write_text(sign_statement(st, load_private(str(setup.key)))[0])
    result = run_cli("verify", signed, "--key", setup.pub)
    assert result.code == 1 and result.out == "", result.out + result.err
    said = f"its report's summary.require_all is {value!r}, not true or false"
    assert f"verification failed (verdict): {signed}: {said}" in result.err
    assert "Traceback" not in result.err
