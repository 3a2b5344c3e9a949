"""DEAD-002 waivers name the repurposing they approve: a flag repurposed again after its waiver
was approved is a repurposing its approver never saw. A real repository, its registry's real
history and the real engine."""

from __future__ import annotations

from pathlib import Path

import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

CRO = "cro@example.com"
REVIEWED = (f"Reviewed-by: {LEAD}",)


def _registry(purpose: str, status: str = "active") -> dict[str, str]:
    entry = {"name": "power_peg", "purpose": purpose, "owner": "t", "status": status}
    return {"flags.yaml": yaml.safe_dump({"flags": [{**entry, "created": "2023-12-01"}]})}


def _repo(tmp_path: Path, *purposes: str) -> tuple[Path, Path]:
    """power_peg given each purpose in turn, a commit a day from 2024-01-01, the last one
    deployed with the lead's approval."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = ""
    for day, purpose in enumerate(purposes, start=1):
        when = f"2024-01-{day:02d}T00:00:00Z"
        sha = repo.commit(purpose, _registry(purpose), author=DEV, date=when, trailers=REVIEWED)
    approved = [{"by": "lee@example.com", "at": "2024-01-20T00:00:00Z"}]
    record = deployment("D1", sha, "2024-01-21T00:00:00Z", approvals=approved)
    write_yaml(tmp_path / "ev" / "deploys.yaml", [record])
    return repo.path, tmp_path / "ev"


def _waive(evidence: Path, **extra: str) -> None:
    waiver = {"rule": "DEAD-002", "subject": "power_peg", "reason": "RLP reuse approved CHG-1"}
    waiver |= {"approved_by": CRO, "expires": "2024-06-01", **extra}
    write_yaml(evidence / "waivers.yaml", [waiver])


def _check(case: tuple[Path, Path]) -> CliResult:
    return run_cli(
        "check", "--repo", case[0], "--evidence", case[1], "--format", "json",
        "--as-of", "2024-02-01",
    )  # fmt: skip


def _dead_002(result: CliResult) -> dict[str, object]:
    return next(f for f in result.json()["findings"] if f["rule"] == "DEAD-002")


def _refusals(result: CliResult) -> str:
    return " ".join(f["message"] for f in result.json()["findings"] if f["rule"] == "WAIVER-001")


def test_a_waiver_without_purpose_covers_a_flag_repurposed_once(tmp_path: Path) -> None:
    """What existing waivers meant: the one repurposing the history holds."""
    case = _repo(tmp_path, "Power Peg", "RLP routing")
    _waive(case[1])
    result = _check(case)
    assert result.code == 0, result.out
    assert _dead_002(result)["waived"] is True


def test_a_waiver_without_purpose_does_not_cover_a_later_repurposing(tmp_path: Path) -> None:
    """The CRO waived power_peg's reuse for RLP in January; in February the team gave it a
    new purpose and deployed it. The waiver covered the new repurposing too, unseen, and the
    check passed (exit 0)."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Market maker sweep")
    _waive(case[1])
    result = _check(case)
    assert result.code == 1, result.out
    assert _dead_002(result)["waived"] is False
    said = _refusals(result)
    assert "power_peg was repurposed more than once" in said, said
    assert '"RLP routing"' in said and '"Market maker sweep"' in said, said
    assert "purpose:" in said, said


def test_a_waiver_naming_the_purpose_covers_it(tmp_path: Path) -> None:
    case = _repo(tmp_path, "Power Peg", "Market maker sweep")
    _waive(case[1], purpose="Market maker sweep")
    result = _check(case)
    assert result.code == 0, result.out
    assert _dead_002(result)["waived"] is True
    waived_by = _dead_002(result)["waived_by"]
    assert isinstance(waived_by, list) and waived_by[0]["purpose"] == "Market maker sweep"
    text = run_cli("check", "--repo", case[0], "--evidence", case[1], "--as-of", "2024-02-01")
    assert 'DEAD-002 subject power_peg for "Market maker sweep" waived' in text.out, text.out


def test_a_waiver_naming_one_purpose_does_not_cover_a_later_one(tmp_path: Path) -> None:
    """The January waiver names RLP; February's repurposing is another purpose."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Market maker sweep")
    _waive(case[1], purpose="RLP routing")
    result = _check(case)
    assert result.code == 1, result.out
    assert _dead_002(result)["waived"] is False
    said = _refusals(result)
    assert 'it approves power_peg for "RLP routing"' in said, said
    assert '"Market maker sweep" at' in said, said


def test_a_waiver_naming_another_purpose_covers_nothing(tmp_path: Path) -> None:
    case = _repo(tmp_path, "Power Peg", "Market maker sweep")
    _waive(case[1], purpose="RLP routing")
    result = _check(case)
    assert result.code == 1, result.out
    assert _dead_002(result)["waived"] is False


def _revived(tmp_path: Path, purpose: str) -> tuple[Path, Path]:
    """power_peg repurposed for RLP, retired, then written active again for ``purpose``."""
    case = _repo(tmp_path, "Power Peg", "RLP routing")
    repo = ScriptedRepo(case[0])
    retired = _registry("RLP routing", "retired")
    repo.commit("retire", retired, author=DEV, date="2024-01-10T00:00:00Z", trailers=REVIEWED)
    sha = repo.commit(
        "again", _registry(purpose), author=DEV, date="2024-01-11T00:00:00Z", trailers=REVIEWED
    )
    approved = [{"by": "lee@example.com", "at": "2024-01-20T00:00:00Z"}]
    write_yaml(
        case[1] / "deploys.yaml",
        [deployment("D1", sha, "2024-01-21T00:00:00Z", approvals=approved)],
    )
    return case


def test_a_revival_is_a_repurposing_of_its_own(tmp_path: Path) -> None:
    """Written active again after it was retired: a second repurposing, which a waiver without
    purpose, approved for the first, did not see. Named, its purpose is the one it came back
    for."""
    case = _revived(tmp_path, "RLP routing")
    _waive(case[1])
    result = _check(case)
    assert result.code == 1, result.out
    assert "power_peg was repurposed more than once" in _refusals(result)
    _waive(case[1], purpose="RLP routing")
    assert _check(case).code == 0
    case = _revived(tmp_path / "other", "Market maker sweep")
    _waive(case[1], purpose="RLP routing")
    assert _check(case).code == 1


def test_a_purpose_on_another_rule_is_an_input_error(tmp_path: Path) -> None:
    case = _repo(tmp_path, "Power Peg", "RLP routing")
    write_yaml(case[1] / "waivers.yaml", [{
        "rule": "REVIEW-001", "subject": "D1", "purpose": "RLP routing", "reason": "r",
        "approved_by": CRO, "expires": "2024-06-01",
    }])  # fmt: skip
    result = _check(case)
    assert result.code == 2, result.out
    assert "waivers.yaml" in result.err and "only DEAD-002 findings have" in result.err
    assert "Traceback" not in result.err


def test_a_cause_waiver_of_dead_002_is_an_input_error(tmp_path: Path) -> None:
    """DEAD-002 has no cause of its own, so no cause waiver can widen what it covers."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Market maker sweep")
    write_yaml(case[1] / "waivers.yaml", [{
        "rule": "DEAD-002", "cause": "power_peg", "reason": "r", "approved_by": CRO,
        "expires": "2024-06-01",
    }])  # fmt: skip
    result = _check(case)
    assert result.code == 2, result.out
    assert "the rule has no cause" in result.err


def test_a_signature_covers_the_purpose(tmp_path: Path) -> None:
    """Signed for RLP, the purpose rewritten afterwards: the signature no longer verifies."""
    case = _repo(tmp_path, "Power Peg", "Market maker sweep")
    assert run_cli("keygen", "--output", tmp_path / "cro").code == 0
    key = run_cli("waiver", "key", tmp_path / "cro.pub").out.strip()
    config = write_yaml(
        tmp_path / "auditor.yaml", {"waiver_approvers": [CRO], "waiver_keys": {CRO: key}}
    )
    _waive(case[1], purpose="Market maker sweep")
    waivers = case[1] / "waivers.yaml"
    signed = run_cli("waiver", "sign", waivers, "--key", tmp_path / "cro.key",
                     "--approver", CRO, "--repo", case[0], "-o", waivers)  # fmt: skip
    assert signed.code == 0, signed.err
    assert _check_with(case, config).code == 0
    written = yaml.safe_load(waivers.read_text())
    written[0]["purpose"] = "RLP routing"
    write_yaml(waivers, written)
    result = _check_with(case, config)
    assert result.code == 1, result.out
    assert "it was changed after it was signed" in _refusals(result)
    del written[0]["purpose"]  # what was signed, less its purpose: not what was signed
    write_yaml(waivers, written)
    assert "it was changed after it was signed" in _refusals(_check_with(case, config))


def _check_with(case: tuple[Path, Path], config: Path) -> CliResult:
    return run_cli(
        "check", "--repo", case[0], "--evidence", case[1], "--format", "json",
        "--as-of", "2024-02-01", "--config", config,
    )  # fmt: skip


def test_signing_shows_the_purpose_signed(tmp_path: Path) -> None:
    case = _repo(tmp_path, "Power Peg", "RLP routing")
    assert run_cli("keygen", "--output", tmp_path / "cro").code == 0
    _waive(case[1], purpose="RLP routing")
    signed = run_cli("waiver", "sign", case[1] / "waivers.yaml", "--key", tmp_path / "cro.key",
                     "--approver", CRO, "--repo", case[0])  # fmt: skip
    assert signed.code == 0, signed.err
    assert '#1 DEAD-002 power_peg for "RLP routing" until 2024-06-01' in signed.err + signed.out
    assert "purpose: RLP routing" in signed.out


def test_a_purpose_given_back_is_a_repurposing(tmp_path: Path) -> None:
    """Power Peg, then RLP, then Power Peg again: the registry's purposes in order of first
    appearance read as the one repurposing, for RLP, that the January waiver approved, and
    the waiver, with its purpose or without, covered the flag's old meaning come back
    (exit 0)."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Power Peg")
    _waive(case[1], purpose="RLP routing")
    result = _check(case)
    assert result.code == 1, result.out
    said = _refusals(result)
    assert '"RLP routing" at' in said and '"Power Peg" at' in said, said
    _waive(case[1])
    result = _check(case)
    assert result.code == 1, result.out
    assert "power_peg was repurposed more than once" in _refusals(result)


def test_whoever_gave_a_purpose_back_cannot_waive_it(tmp_path: Path) -> None:
    """Lee wrote the version that gave power_peg its first purpose back: Lee repurposed it."""
    case = _repo(tmp_path, "Power Peg")
    repo = ScriptedRepo(case[0])
    repo.commit("rlp", _registry("RLP routing"), author=DEV, date="2024-01-05T00:00:00Z",
                trailers=REVIEWED)  # fmt: skip
    sha = repo.commit("back", _registry("Power Peg"), author=LEAD,
                      date="2024-01-06T00:00:00Z", trailers=(f"Reviewed-by: {DEV}",))  # fmt: skip
    approved = [{"by": "kim@example.com", "at": "2024-01-20T00:00:00Z"}]
    write_yaml(
        case[1] / "deploys.yaml",
        [deployment("D1", sha, "2024-01-21T00:00:00Z", approvals=approved)],
    )
    write_yaml(case[1] / "waivers.yaml", [{
        "rule": "DEAD-002", "subject": "power_peg", "reason": "r",
        "approved_by": "lee@example.com", "expires": "2024-06-01",
    }])  # fmt: skip
    result = _check(case)
    assert result.code == 1, result.out
    assert "lee@example.com repurposed power_peg" in _refusals(result)


def _waive_each(evidence: Path, *waived: tuple[str, str]) -> None:
    """A DEAD-002 waiver of power_peg for each (purpose, approver)."""
    write_yaml(evidence / "waivers.yaml", [
        {"rule": "DEAD-002", "subject": "power_peg", "purpose": purpose, "reason": "approved",
         "approved_by": by, "expires": "2024-06-01"}
        for purpose, by in waived
    ])  # fmt: skip


def test_a_waiver_for_each_repurposing_covers_them_together(tmp_path: Path) -> None:
    """The CRO approved RLP in January and the sweep in February, a waiver each. Each waiver
    was judged alone, each found a repurposing it did not name, and neither applied (exit 1):
    a flag repurposed for two purposes could not be waived at all, every approval given."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Market maker sweep")
    _waive_each(case[1], ("RLP routing", CRO), ("Market maker sweep", CRO))
    result = _check(case)
    assert result.code == 0, result.out
    waived_by = _dead_002(result)["waived_by"]
    assert isinstance(waived_by, list)
    assert [w["purpose"] for w in waived_by] == ["RLP routing", "Market maker sweep"]


def test_a_purpose_given_back_is_waived_by_naming_it_too(tmp_path: Path) -> None:
    """Power Peg, RLP, Power Peg again: approved for RLP and for the purpose given back."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Power Peg")
    _waive_each(case[1], ("RLP routing", CRO), ("Power Peg", CRO))
    assert _check(case).code == 0


def test_together_they_still_name_every_repurposing(tmp_path: Path) -> None:
    """A waiver for each of two of three repurposings covers nothing; nor does one naming no
    repurposing at all, which names nothing for the others."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Market maker sweep", "Sweep two")
    _waive_each(case[1], ("RLP routing", CRO), ("Market maker sweep", CRO), ("Other", CRO))
    result = _check(case)
    assert result.code == 1, result.out
    said = _refusals(result)
    assert 'no waiver applied here names "Sweep two" at' in said, said
    assert 'for "Other", and the registry repurposed it' in said, said
    assert "none of them for that purpose" in said, said


def test_a_refused_waiver_names_nothing_for_the_others(tmp_path: Path) -> None:
    """The team's own waiver for the sweep, approved by someone the auditor does not name,
    does not complete the CRO's waiver for RLP."""
    case = _repo(tmp_path, "Power Peg", "RLP routing", "Market maker sweep")
    _waive_each(case[1], ("RLP routing", CRO), ("Market maker sweep", "kim@example.com"))
    config = write_yaml(tmp_path / "auditor.yaml", {"waiver_approvers": [CRO]})
    result = _check_with(case, config)
    assert result.code == 1, result.out
    assert _dead_002(result)["waived"] is False
    assert 'no waiver applied here names "Market maker sweep" at' in _refusals(result)


def test_a_purpose_folded_by_yaml_is_shown_as_written(tmp_path: Path) -> None:
    """A registry purpose written with ``>`` ends in a newline: the refusal shows it, and a
    waiver naming it so applies."""
    case = _repo(tmp_path, "Power Peg", "RLP routing\n")
    _waive(case[1], purpose="RLP routing")
    said = _refusals(_check(case))
    assert '"RLP routing\\n" at' in said, said
    _waive(case[1], purpose="RLP routing\n")
    assert _check(case).code == 0


def test_a_second_return_from_retirement_is_a_repurposing_of_its_own(tmp_path: Path) -> None:
    """Power Peg retired, active again (the one repurposing the CRO approved, without a
    purpose), retired again, and active again. Only the first return was read: the waiver
    covered the second too, unseen, and the check passed (exit 0); the finding did not show
    it, nor was its writer barred from waiving it."""
    repo = ScriptedRepo(tmp_path / "repo")
    states = ["active", "retired", "active", "retired", "active"]
    writers = [DEV, DEV, DEV, DEV, LEAD]
    shas = [
        repo.commit(f"v{day}", _registry("Power Peg", state), author=by,
                    date=f"2024-01-0{day}T00:00:00Z", trailers=(f"Reviewed-by: {DEV}",))
        for day, (state, by) in enumerate(zip(states, writers, strict=True), start=1)
    ]  # fmt: skip
    approved = [{"by": "kim@example.com", "at": "2024-01-20T00:00:00Z"}]
    evidence = tmp_path / "ev"
    deployed = deployment("D1", shas[-1], "2024-01-21T00:00:00Z", approvals=approved)
    write_yaml(evidence / "deploys.yaml", [deployed])
    _waive(evidence)
    result = _check((repo.path, evidence))
    assert result.code == 1, result.out
    assert f"active again at {shas[-1][:12]}" in str(_dead_002(result)["message"])
    assert "power_peg was repurposed more than once" in _refusals(result)
    _waive(evidence, purpose="Power Peg", approved_by="lee@example.com")
    result = _check((repo.path, evidence))
    assert result.code == 1, result.out
    assert "lee@example.com repurposed power_peg" in _refusals(result)
    _waive(evidence, purpose="Power Peg")
    assert _check((repo.path, evidence)).code == 0
