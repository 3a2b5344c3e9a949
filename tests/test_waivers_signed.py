"""Signed waivers: where the auditor's side holds an approver's key (``waiver_keys``), a
waiver naming that approver counts only with their signature over what it says. Real keys,
real signatures, a real repository and the real engine."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml

CRO = "cro@example.com"


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """One unapproved deployment of a reviewed commit (REVIEW-001, high), a waiver of it
    approved by the CRO, the CRO's key pair and the team's own, and an auditor's config
    naming the CRO as the one approver."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [deployment("hotfix-1", sha, "2024-02-01T00:00:00Z")])
    write_yaml(evidence / "reviews.yaml", [
        {"change": "1", "author": "dana@example.com", "commits": [sha],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-02T00:00:00Z"}]},
    ])  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "REVIEW-001", "subject": "hotfix-1", "reason": "INC-7781 emergency",
         "approved_by": CRO, "expires": "2024-06-01"},
    ])  # fmt: skip
    for name in ("cro", "team", "audit"):
        assert run_cli("keygen", "--output", tmp_path / name).code == 0
    return tmp_path


def waiver_key(case: Path, name: str) -> str:
    result = run_cli("waiver", "key", case / f"{name}.pub")
    assert result.code == 0, result.err
    return result.out.strip()


def auditor(case: Path, keys: dict[str, str] | None = None) -> Path:
    config = {"waiver_approvers": [CRO], **({"waiver_keys": keys} if keys else {})}
    return write_yaml(case / "auditor.yaml", config)


def audit(case: Path, *extra: str | Path) -> CliResult:
    return run_cli(
        "audit", "--repo", case / "repo", "--evidence", case / "ev", "--period", "2024-02",
        "--as-of", "2024-03-01", "--key", case / "audit.key", "-o", case / "feb.json", *extra,
    )  # fmt: skip


def sign(case: Path, key: str, approver: str = CRO) -> CliResult:
    waivers = case / "ev" / "waivers.yaml"
    return run_cli("waiver", "sign", waivers, "--key", case / key, "--approver", approver,
                   "--repo", case / "repo", "-o", waivers)  # fmt: skip


def refused(case: Path) -> str:
    envelope = json.loads((case / "feb.json").read_text())
    report = json.loads(base64.b64decode(envelope["payload"]))["predicate"]["report"]
    return " ".join(f["message"] for f in report["findings"] if f["rule"] == "WAIVER-001")


def test_without_a_key_an_approval_is_the_teams_word(case: Path) -> None:
    """The baseline: the team wrote the CRO's address under its own exception, and the
    audit applied it (exit 0). This is what ``waiver_keys`` exists to close."""
    result = audit(case, "--config", auditor(case))
    assert result.code == 0, result.err


def test_an_unsigned_waiver_of_an_approver_with_a_key_waives_nothing(case: Path) -> None:
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 1, result.err
    assert "it is not signed, and waiver_keys holds cro@example.com's key" in refused(case)


def test_the_approvers_signature_makes_the_waiver_count(case: Path) -> None:
    signed = sign(case, "cro.key")
    assert signed.code == 0, signed.err
    assert "signed: #1 REVIEW-001 hotfix-1 until 2024-06-01" in signed.err
    assert f"for the repository whose first commit is {first_commit(case / 'repo')}" in signed.err
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 0, result.err
    verified = run_cli("verify", case / "feb.json", "--key", case / "audit.pub", "--replay",
                       "--repo", case / "repo", "--evidence", case / "ev")  # fmt: skip
    assert verified.code == 0, verified.out + verified.err


@pytest.mark.parametrize(
    ("field", "value"),
    [("expires", "2024-12-01"), ("subject", "hotfix-*"), ("reason", "routine")],
)
def test_a_signed_waiver_changed_afterwards_waives_nothing(
    case: Path, field: str, value: str
) -> None:
    """Prolonged, widened or re-worded after the CRO signed it: the signature no longer
    covers what it says."""
    assert sign(case, "cro.key").code == 0
    path = case / "ev" / "waivers.yaml"
    waivers = yaml.safe_load(path.read_text())
    waivers[0][field] = value
    write_yaml(path, waivers)
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 1, result.err
    assert "its signature is not cro@example.com's over what it says" in refused(case)


def test_a_signed_waiver_copied_into_another_repository_waives_nothing(case: Path) -> None:
    """Another team copies the CRO's signed waiver of ``hotfix-1`` into its own evidence and
    names its own unapproved deployment ``hotfix-1``: the signature covered the waiver's
    words alone, and that team's audit passed (exit 0)."""
    assert sign(case, "cro.key").code == 0
    other = ScriptedRepo(case / "other")
    sha = other.commit("other system", {"b": "1\n"}, author=DEV, date="2024-01-05T00:00:00Z")
    evidence = case / "other-ev"
    write_yaml(evidence / "deploys.yaml", [deployment("hotfix-1", sha, "2024-02-10T00:00:00Z")])
    write_yaml(evidence / "reviews.yaml", [
        {"change": "9", "author": "dana@example.com", "commits": [sha],
         "approvals": [{"by": "lee@example.com", "at": "2024-01-06T00:00:00Z"}]},
    ])  # fmt: skip
    (evidence / "waivers.yaml").write_text((case / "ev" / "waivers.yaml").read_text())
    result = run_cli(
        "audit", "--repo", case / "other", "--evidence", evidence, "--period", "2024-02",
        "--as-of", "2024-03-01", "--key", case / "audit.key", "-o", case / "feb.json",
        "--config", auditor(case, {CRO: waiver_key(case, "cro")}),
    )  # fmt: skip
    assert result.code == 1, result.err
    assert "or signed for another repository" in refused(case)
    assert audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")})).code == 0


def test_signing_a_file_outside_a_repository_asks_which_repository(case: Path) -> None:
    waivers = case / "ev" / "waivers.yaml"
    result = run_cli("waiver", "sign", waivers, "--key", case / "cro.key", "--approver", CRO)
    assert result.code == 2, result.err
    assert "not a git repository" in result.err and "--repo" in result.err
    assert "signature" not in waivers.read_text()


def test_a_waiver_signed_with_the_teams_own_key_waives_nothing(case: Path) -> None:
    assert sign(case, "team.key").code == 0
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 1, result.err
    assert "signed with another key" in refused(case)


def test_the_repositorys_own_waiver_keys_are_not_an_audits(case: Path) -> None:
    """The team names its own key as the CRO's in knightwatch.yaml and signs with it: an
    audit takes waiver_keys from the auditor's side alone, which has the CRO's real key."""
    assert sign(case, "team.key").code == 0
    write_yaml(case / "repo" / "knightwatch.yaml", {"waiver_keys": {CRO: waiver_key(case, "team")}})
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 1, result.err


def test_a_key_that_is_not_one_is_refused(case: Path) -> None:
    result = audit(case, "--config", auditor(case, {CRO: "ed25519:bm90IGEga2V5"}))
    assert result.code == 2
    assert "waiver_keys" in result.err and "32 bytes" in result.err
    result = audit(case, "--config", auditor(case, {CRO: str(case / "cro.pub")}))
    assert result.code == 2
    # The hint is a command that runs: 'waiver key' takes the file, not a --key option.
    hint = "('knightwatch waiver key APPROVER.pub' prints it)"
    assert hint in result.err
    assert run_cli("waiver", "key", case / "cro.pub").code == 0
    result = audit(case, "--config", auditor(case, {"cro": waiver_key(case, "cro")}))
    assert result.code == 2
    assert "'cro' is not an address" in result.err


@pytest.mark.parametrize("other", ["cro+x@example.com", "CRO <cro@example.com>"])
def test_an_approver_given_two_keys_under_two_spellings_is_refused(case: Path, other: str) -> None:
    """An audit joins a waiver's approver to a key under every spelling of the address, and
    any key held for them makes the waiver count: with the team's key given as ``cro+x@``'s
    beside the CRO's, a waiver the team signed counted as the CRO's."""
    assert sign(case, "team.key").code == 0
    keys = {CRO: waiver_key(case, "cro"), other: waiver_key(case, "team")}
    result = audit(case, "--config", auditor(case, keys))
    assert result.code == 2, result.err
    assert f"'cro@example.com' and '{other}' are one address" in result.err
    assert "auditor.yaml" in result.err and not (case / "feb.json").exists()


def test_a_key_of_a_value_that_names_no_address_is_refused(case: Path) -> None:
    result = audit(case, "--config", auditor(case, {"cro@localhost": waiver_key(case, "cro")}))
    assert result.code == 2, result.err
    assert "'cro@localhost' is not an address (not a well-formed address)" in result.err


def test_a_key_under_an_address_no_approver_has_is_refused(case: Path) -> None:
    """A misspelt address in waiver_keys: the CRO's key was asked of no waiver, the team's
    unsigned waiver counted on its word (exit 0), and the report said signatures were
    required."""
    result = audit(case, "--config", auditor(case, {"cro@exmaple.com": waiver_key(case, "cro")}))
    assert result.code == 2, result.err
    assert (
        "waiver_keys (--config auditor.yaml): cro@exmaple.com is not among waiver_approvers "
        "(cro@example.com), so its key would be asked of no waiver (did you mean "
        "'cro@example.com'?)"
    ) in result.err
    assert not (case / "feb.json").exists()


ZERO_KEY = "ed25519:" + base64.b64encode(bytes(32)).decode()
"""The all-zero placeholder: a point of order 4."""


def forged(fields: dict[str, str], repository: str) -> dict[str, str]:
    """The waiver, its reason varied until a signature made without any private key verifies
    under ``ZERO_KEY``: R a point of small order, S zero."""
    from cryptography.exceptions import InvalidSignature

    from checker.signing.waivers import payload

    key = Ed25519PublicKey.from_public_bytes(bytes(32))
    small = [bytes(32), bytes([0] * 31 + [0x80]), bytes([1] + [0] * 31)]
    for attempt in range(64):
        waiver = {**fields, "reason": f"{fields['reason']} ({attempt})"}
        for point in small:
            try:
                key.verify(point + bytes(32), payload(waiver, repository))
            except InvalidSignature:
                continue
            return {**waiver, "signature": base64.b64encode(point + bytes(32)).decode()}
    raise AssertionError("no forgery found")


def first_commit(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--first-parent", "--max-parents=0", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.split()[-1]  # fmt: skip


def test_a_key_of_small_order_is_refused(case: Path) -> None:
    """The all-zero placeholder left in waiver_keys for the CRO: the team forged a signature
    without any key, its waiver counted, and the audit passed (exit 0)."""
    path = case / "ev" / "waivers.yaml"
    write_yaml(path, [forged(yaml.safe_load(path.read_text())[0], first_commit(case / "repo"))])
    result = audit(case, "--config", auditor(case, {CRO: ZERO_KEY}))
    assert result.code == 2, result.err
    assert "auditor.yaml" in result.err and "no key pair's public key" in result.err
    assert not (case / "feb.json").exists()
    identity = "ed25519:" + base64.b64encode(bytes([1] + [0] * 31)).decode()
    assert audit(case, "--config", auditor(case, {CRO: identity})).code == 2


def test_a_key_that_is_no_point_of_the_curve_is_refused(case: Path) -> None:
    """Thirty-two bytes that are no point (half of all): no signature could verify under them."""
    key = "ed25519:" + base64.b64encode(bytes([2] + [0] * 31)).decode()
    result = audit(case, "--config", auditor(case, {CRO: key}))
    assert result.code == 2, result.err
    assert "no key pair's public key: not a point of Ed25519" in result.err


def test_a_key_with_a_small_order_part_is_refused(case: Path) -> None:
    """An approver's key plus the point of order two: a point of the curve, not of small order
    (eight times it is not the identity), but outside the subgroup every key pair's public
    key lies in, so no key pair has it; libsodium's check refuses it."""
    raw = base64.b64decode(waiver_key(case, "cro").removeprefix("ed25519:"))
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    moved = ((2**255 - 19 - y) | ((raw[31] >> 7 ^ 1) << 255)).to_bytes(32, "little")
    key = "ed25519:" + base64.b64encode(moved).decode()
    result = audit(case, "--config", auditor(case, {CRO: key}))
    assert result.code == 2, result.err
    assert "no key pair's public key" in result.err


def test_a_malformed_signature_is_an_input_error_naming_the_file(case: Path) -> None:
    path = case / "ev" / "waivers.yaml"
    waivers = yaml.safe_load(path.read_text())
    waivers[0]["signature"] = "signed-by-the-cro"
    write_yaml(path, waivers)
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 2
    assert "waivers.yaml" in result.err and "signature" in result.err


def test_the_file_signed_in_place_under_another_spelling_of_its_path(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``waiver sign waivers.yaml -o /abs/.../waivers.yaml`` is the file signed in place, as
    with the same spelling twice; it was refused as a report overwriting its own input."""
    monkeypatch.chdir(case / "ev")
    result = run_cli("waiver", "sign", "waivers.yaml", "--key", case / "cro.key", "--approver",
                     CRO, "--repo", case / "repo", "-o", case / "ev" / "waivers.yaml")  # fmt: skip
    assert result.code == 0, result.err
    assert "signature" in (case / "ev" / "waivers.yaml").read_text()
    other = run_cli("waiver", "sign", "waivers.yaml", "--key", case / "cro.key", "--approver",
                    CRO, "--repo", case / "repo", "-o", case / "cro.key")  # fmt: skip
    assert other.code == 2 and "this run read it as an input" in other.err


def test_signing_names_only_the_approvers_waivers(case: Path) -> None:
    result = sign(case, "cro.key", approver="ciso@example.com")
    assert result.code == 2
    assert "no waiver names ciso@example.com in approved_by" in result.err
    assert "signature" not in (case / "ev" / "waivers.yaml").read_text()


def test_a_json_lines_file_is_signed_as_json_lines(case: Path) -> None:
    evidence = case / "ev"
    waivers = yaml.safe_load((evidence / "waivers.yaml").read_text())
    (evidence / "waivers.yaml").unlink()
    (evidence / "waivers.jsonl").write_text("".join(json.dumps(w) + "\n" for w in waivers))
    signed = run_cli("waiver", "sign", evidence / "waivers.jsonl", "--key", case / "cro.key",
                     "--approver", "CRO@example.com", "--repo", case / "repo",
                     "-o", evidence / "waivers.jsonl")  # fmt: skip
    assert signed.code == 0, signed.err
    assert "signature" in json.loads((evidence / "waivers.jsonl").read_text())
    result = audit(case, "--config", auditor(case, {CRO: waiver_key(case, "cro")}))
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    "approved_by",
    [f"CRO <{CRO}>, Lee <lee@example.com>", f"{CRO}\u200b"],
)
def test_a_waiver_an_audit_reads_as_nobody_is_not_signed(case: Path, approved_by: str) -> None:
    """Signing matched ``approved_by`` by its last address alone, where an audit refuses a
    value naming two people or holding an invisible character: the approver signed a waiver
    (exit 0) the audit then refused (exit 2). Now the signing refuses it, naming the record."""
    waivers = case / "ev" / "waivers.yaml"
    records = yaml.safe_load(waivers.read_text())
    records[0]["approved_by"] = approved_by
    waivers.write_text(yaml.safe_dump(records, allow_unicode=True))
    result = sign(case, "cro.key")
    assert result.code == 2, result.err
    assert "waiver #1: approved_by" in result.err and "names nobody" in result.err
    assert "waivers.yaml" in result.err
    assert "signature" not in waivers.read_text()


def test_an_approver_given_as_a_display_name_with_an_address_signs(case: Path) -> None:
    result = sign(case, "cro.key", approver=f"Chief Risk Officer <{CRO.upper()}>")
    assert result.code == 0, result.err
    assert "signed: #1 REVIEW-001 hotfix-1" in result.err
