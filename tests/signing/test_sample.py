"""The population in a signed audit, checked against git itself, and ``knightwatch sample``
drawn from it: reproducible, refused on an audit that does not verify, and clear on every
size a user may type."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from checker.demo.builder import ScriptedRepo
from checker.signing import dsse
from checker.signing.keys import load_private
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

AS_OF = "2012-08-01"


@dataclass
class Org:
    repo: ScriptedRepo
    evidence: Path
    key: Path
    pub: Path
    audit: Path
    dir: Path

    def sample(self, *extra: str | Path, audit: Path | None = None) -> CliResult:
        return run_cli("sample", audit or self.audit, "--key", self.pub, *extra)

    def audit_to(self, output: Path, period: str, *extra: str | Path) -> CliResult:
        """Audit ``period`` of the organisation again, signed with its key, into ``output``."""
        result = run_cli(
            "audit", "--repo", self.repo.path, "--evidence", self.evidence, "--period", period,
            "--key", self.key, "-o", output, "--as-of", AS_OF, *extra,
        )  # fmt: skip
        assert result.code in (0, 1), result.err
        return result


def _history(repo: ScriptedRepo) -> dict[str, str]:
    """Two services' history on main, with a merged branch, dated in June and July 2012."""
    shas = {
        "base": repo.commit("base", {"app.py": "v0\n"}, author=DEV, date="2012-06-01T10:00:00Z")
    }
    shas["june"] = repo.commit("june", {"app.py": "v1\n"}, author=DEV, date="2012-06-10T10:00:00Z")
    repo.branch("feature")
    repo.commit("feature a", {"a.py": "a\n"}, author=DEV, date="2012-07-02T10:00:00Z")
    repo.commit("feature b", {"b.py": "b\n"}, author=LEAD, date="2012-07-03T10:00:00Z")
    repo.checkout("main")
    shas["fix"] = repo.commit("fix", {"app.py": "v2\n"}, author=DEV, date="2012-07-04T10:00:00Z")
    shas["merge"] = repo.merge("feature", "merge feature", author=LEAD, date="2012-07-05T10:00:00Z")
    shas["api"] = repo.commit("api", {"api.py": "x\n"}, author=LEAD, date="2012-07-06T10:00:00Z")
    shas["late"] = repo.commit("late", {"app.py": "v3\n"}, author=DEV, date="2012-07-20T10:00:00Z")
    return shas


def _deployments(shas: dict[str, str]) -> list[dict[str, Any]]:
    failed = [{"host": "web-1", "status": "failed"}]
    api = {"service": "api", "targets": [{"host": "api-1", "status": "succeeded"}]}
    records = [
        deployment("W-06", shas["june"], "2012-06-11T10:00:00Z"),
        deployment("W-07-a", shas["fix"], "2012-07-04T12:00:00Z", targets=failed),
        deployment("W-07-b", shas["merge"], "2012-07-05T12:00:00Z"),
        deployment("W-07-c", shas["late"], "2012-07-21T12:00:00Z"),
        deployment("W-07-d", shas["late"], "2012-07-22T12:00:00Z"),  # the same commit again
        deployment("A-07", shas["api"], "2012-07-06T12:00:00Z", **api),  # type: ignore[arg-type]
        deployment("S-07", shas["merge"], "2012-07-05T13:00:00Z", environment="staging"),
    ]
    records[2]["ref"] = "release/2012-07"
    records[3]["ref"] = "v1.3"
    return records


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    root = tmp_path_factory.mktemp("sample")
    repo = ScriptedRepo(root / "repo")
    shas = _history(repo)
    evidence = root / "evidence"
    write_yaml(evidence / "deploys.yaml", _deployments(shas))
    write_yaml(
        evidence / "fleet.yaml",
        {"services": {"web": {"hosts": ["web-1"]}, "api": {"hosts": ["api-1"]}}},
    )
    assert run_cli("keygen", "--output", root / "signing").code == 0
    audit = root / "jul.json"
    result = run_cli(
        "audit", "--repo", repo.path, "--evidence", evidence, "--period", "2012-07",
        "--key", root / "signing.key", "-o", audit, "--as-of", AS_OF,
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    return Org(repo, evidence, root / "signing.key", root / "signing.pub", audit, root)


def statement(path: Path) -> dict[str, Any]:
    envelope = json.loads(path.read_text())
    return json.loads(base64.b64decode(envelope["payload"]))  # type: ignore[no-any-return]


def population(path: Path) -> dict[str, Any]:
    return statement(path)["predicate"]["population"]  # type: ignore[no-any-return]


def resign(org: Org, st: dict[str, Any], name: str) -> Path:
    """``st`` signed with the audit's own key: what a signer who added up wrong would write."""
    envelope = dsse.sign(rfc8785.dumps(st), load_private(str(org.key)))
    target = org.dir / name
    target.write_text(json.dumps(envelope))
    return target


def test_the_population_lists_every_deployment_of_the_month(org: Org) -> None:
    pop = population(org.audit)
    ids = [d["id"] for d in pop["deployments"]]
    assert ids == ["A-07", "S-07", "W-07-a", "W-07-b", "W-07-c", "W-07-d"]  # not June's
    assert pop["count"] == 6
    by_id = {d["id"]: d for d in pop["deployments"]}
    assert by_id["W-07-b"]["ref"] == "release/2012-07" and by_id["A-07"]["ref"] is None
    assert by_id["W-07-b"]["started_at"] == "2012-07-05T12:00:00Z"
    assert (by_id["A-07"]["service"], by_id["S-07"]["environment"]) == ("api", "staging")


def test_each_deployments_commits_are_what_git_rev_list_prints(org: Org) -> None:
    """The digest an auditor recomputes with git and sha256sum, deployment by deployment."""
    pop = population(org.audit)
    for entry in pop["deployments"]:
        start = entry["range_start"]
        args = [entry["commit"], f"^{start}"] if start else ["-1", entry["commit"]]
        listed = org.repo.git("rev-list", *args).split()
        text = "".join(f"{sha}\n" for sha in sorted(listed))
        assert entry["commits"] == {
            "count": len(listed),
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
        }, entry["id"]
    assert pop["commits"] == sum(d["commits"]["count"] for d in pop["deployments"])


def test_a_failed_deployment_does_not_start_the_next_range(org: Org) -> None:
    """W-07-a failed everywhere: W-07-b ships from June's deployment, fix and feature too."""
    by_id = {d["id"]: d for d in population(org.audit)["deployments"]}
    june = by_id["W-07-a"]["range_start"]
    assert by_id["W-07-b"]["range_start"] == june
    assert by_id["W-07-b"]["commits"]["count"] == 4  # fix, feature a and b, the merge
    assert by_id["A-07"]["range_start"] is None  # first of its stream, no baseline
    assert by_id["A-07"]["commits"]["count"] == 1
    # A redeployment of the deployed commit ships nothing: the digest of no lines at all.
    assert by_id["W-07-d"]["commits"] == {"count": 0, "sha256": hashlib.sha256(b"").hexdigest()}


def test_the_population_digest_is_canonical_json_as_jq_prints_it(org: Org) -> None:
    pop = population(org.audit)
    compact = json.dumps(pop["deployments"], sort_keys=True, separators=(",", ":"))
    assert pop["sha256"] == hashlib.sha256(compact.encode()).hexdigest()
    if shutil.which("jq") is None:
        return
    st = org.dir / "statement.json"
    st.write_text(json.dumps(statement(org.audit)))
    jq = subprocess.run(
        ["jq", "-jcS", ".predicate.population.deployments", str(st)],
        capture_output=True,
        check=True,
    )
    assert hashlib.sha256(jq.stdout).hexdigest() == pop["sha256"]


def test_verify_checks_the_population(org: Org) -> None:
    result = run_cli("verify", org.audit, "--key", org.pub)
    assert result.code == 0, result.err
    pop = population(org.audit)
    assert (
        f"population: 6 deployments, {pop['commits']} commits shipped, sha256 {pop['sha256']}"
        in (result.out)
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda p: p.update(count=4), "count is 4"),
        (lambda p: p.update(commits=p["commits"] + 1), "commits is"),
        (lambda p: p["deployments"].pop(), "count is 6"),
        (lambda p: p["deployments"][0]["commits"].update(count=-1), "count (0 or more)"),
        (lambda p: p["deployments"][0]["commits"].update(count=0), "a digest of some"),
        (lambda p: p["deployments"][0].update(commit="main"), "not a full sha"),
        (lambda p: p["deployments"].reverse(), "not sorted by id"),
        (lambda p: p["deployments"][0].update(service="other"), "sha256 is"),
    ],
)
def test_a_population_that_does_not_add_up_fails_verify_and_sample(
    org: Org, change: Any, named: str
) -> None:
    st = statement(org.audit)
    change(st["predicate"]["population"])
    forged = resign(org, st, "inconsistent.json")
    verified = run_cli("verify", forged, "--key", org.pub)
    assert verified.code == 1 and "verification failed (population)" in verified.err
    assert named in verified.err
    sampled = org.sample("--size", "2", "--seed", "s", audit=forged)
    assert sampled.code == 2 and "refusing to sample" in sampled.err and sampled.out == ""


def test_replay_recomputes_the_population(org: Org) -> None:
    """A population consistent in itself but not what the inputs give: only a replay sees it."""
    st = statement(org.audit)
    pop = st["predicate"]["population"]
    entry = pop["deployments"][1]
    entry["commits"]["sha256"] = hashlib.sha256(b"not what it shipped\n").hexdigest()
    pop["sha256"] = hashlib.sha256(rfc8785.dumps(pop["deployments"])).hexdigest()
    forged = resign(org, st, "consistent-but-wrong.json")
    assert run_cli("verify", forged, "--key", org.pub).code == 0
    replayed = run_cli(
        "verify", forged, "--key", org.pub, "--replay", "--repo", org.repo.path,
        "--evidence", org.evidence,
    )  # fmt: skip
    assert replayed.code == 1
    assert f"population: deployment {entry['id']} differs in commits" in replayed.err
    honest = run_cli(
        "verify", org.audit, "--key", org.pub, "--replay", "--repo", org.repo.path,
        "--evidence", org.evidence,
    )  # fmt: skip
    assert honest.code == 0 and "the same population of 6 deployments" in honest.out


def _expected_order(org: Org, seed: str) -> list[str]:
    """The documented draw, computed here from the signed population alone."""
    pop = population(org.audit)
    ranks = {
        d["id"]: hashlib.sha256(f"{seed}:{pop['sha256']}:{d['id']}".encode()).hexdigest()
        for d in pop["deployments"]
    }
    return sorted(ranks, key=lambda i: (ranks[i], i))


def test_the_sample_is_the_documented_draw(org: Org) -> None:
    result = org.sample("--size", "3", "--seed", "2012-Q3", "--format", "json")
    assert result.code == 0, result.err
    drawn = result.json()
    assert [i["id"] for i in drawn["items"]] == _expected_order(org, "2012-Q3")[:3]
    assert drawn["drawn"] == 3 and drawn["population"]["count"] == 6
    again = org.sample("--size", "3", "--seed", "2012-Q3", "--format", "json")
    assert again.out == result.out
    orders = {tuple(_expected_order(org, seed)) for seed in ("a", "b", "c", "d")}
    assert len(orders) > 1  # the seed matters


def test_each_item_says_what_to_check_with_git(org: Org) -> None:
    result = org.sample("--size", "6", "--seed", "x", "--format", "json")
    items = {i["id"]: i for i in result.json()["items"]}
    merge = items["W-07-b"]
    start = merge["range_start"]
    assert f"git rev-list --count {merge['commit']} ^{start}   # prints 4" in merge["checks"]
    assert any(c.startswith("git rev-parse 'release/2012-07^{commit}'") for c in merge["checks"])
    assert items["A-07"]["checks"][0].startswith(
        f"git rev-list --count -1 {items['A-07']['commit']}"
    )
    assert {f["rule"] for f in items["W-07-a"]["findings"]} >= {"FLEET-001", "REVIEW-001"}
    for item in items.values():  # the commands print what the audit says
        count = item["checks"][0].split("#")[0].split()[3:]
        assert org.repo.git("rev-list", "--count", *count) == str(item["commits"]["count"])


def test_the_text_sample_reads_as_a_checklist(org: Org) -> None:
    result = org.sample("--size", "2", "--seed", "2012-Q3")
    assert result.code == 0, result.err
    first, second = _expected_order(org, "2012-Q3")[:2]
    assert 'Sample: 2 of 6, seed "2012-Q3"' in result.out
    assert result.out.index(f"1. {first} ") < result.out.index(f"2. {second} ")
    assert "Records: deploys.yaml (sha256 " in result.out


def test_a_size_larger_than_the_population_draws_all_and_says_so(org: Org) -> None:
    result = org.sample("--size", "50", "--seed", "s")
    assert result.code == 0
    assert "Sample: 6 of 6" in result.out
    assert "--size 50 is more than the population holds: the sample is all of it." in result.out


@pytest.mark.parametrize(("size", "seed"), [("0", "s"), ("-3", "s"), ("2", "")])
def test_a_size_below_one_or_an_empty_seed_is_a_usage_error(org: Org, size: str, seed: str) -> None:
    result = org.sample("--size", size, "--seed", seed)
    assert result.code == 2 and result.out == ""
    assert ("--size takes a number of deployments, at least 1" in result.err) or (
        "--seed must not be empty" in result.err
    )


def test_a_month_with_no_deployments_has_nothing_to_sample(org: Org) -> None:
    empty = org.dir / "may.json"
    org.audit_to(empty, "2012-05")
    text = org.sample("--size", "3", "--seed", "s", audit=empty)
    assert text.code == 0
    assert "No deployment was judged in 2012-05: there is nothing to sample." in text.out
    data = org.sample("--size", "3", "--seed", "s", "--format", "json", audit=empty).json()
    assert data["items"] == [] and data["population"]["count"] == 0


def test_a_sample_of_a_partial_month_says_so(org: Org) -> None:
    """An audit of the month so far (``--partial``): its population holds the deployments up
    to the day it was signed. The sample said 'Audit of 2012-07' and 'Sample: 2 of 6', as of
    a whole month, and nothing in its JSON said otherwise."""
    st = statement(org.audit)
    st["predicate"]["partial"] = True
    st["predicate"]["report"]["partial"] = True
    partial = resign(org, st, "partial.json")
    text = org.sample("--size", "2", "--seed", "s", audit=partial)
    assert text.code == 0, text.err
    assert text.out.startswith(
        f"Audit of 2012-07 so far (partial: signed before the month ended, as of {AS_OF}; "
        "the deployments after it are in no population yet), signed by key"
    )
    data = org.sample("--size", "2", "--seed", "s", "--format", "json", audit=partial).json()
    assert data["partial"] is True
    whole = org.sample("--size", "2", "--seed", "s", "--format", "json").json()
    assert "partial" not in whole
    assert org.sample("--size", "2", "--seed", "s").out.startswith("Audit of 2012-07, signed")


def test_a_tampered_or_foreign_audit_is_refused(org: Org, tmp_path: Path) -> None:
    envelope = json.loads(org.audit.read_text())
    st = statement(org.audit)
    st["predicate"]["population"]["deployments"][0]["id"] = "A-00"
    envelope["payload"] = base64.b64encode(rfc8785.dumps(st)).decode()
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(envelope))
    result = org.sample("--size", "1", "--seed", "s", audit=tampered)
    assert result.code == 2 and result.out == ""
    assert "refusing to sample" in result.err and "signature does not match" in result.err
    assert run_cli("keygen", "--output", tmp_path / "other").code == 0
    foreign = run_cli(
        "sample", org.audit, "--key", tmp_path / "other.pub", "--size", "1", "--seed", "s"
    )
    assert foreign.code == 2 and "not by the given key" in foreign.err


def test_an_unsigned_report_is_refused(org: Org, tmp_path: Path) -> None:
    plain = tmp_path / "report.json"
    plain.write_text(json.dumps(statement(org.audit)["predicate"]["report"]))
    result = org.sample("--size", "1", "--seed", "s", audit=plain)
    assert result.code == 2 and "malformed envelope" in result.err and result.out == ""


def test_an_audit_signed_before_populations_is_refused_by_sample_only(org: Org) -> None:
    st = statement(org.audit)
    del st["predicate"]["population"]
    older = resign(org, st, "older.json")
    verified = run_cli("verify", older, "--key", org.pub)
    assert verified.code == 0 and "population: not recorded" in verified.out
    sampled = org.sample("--size", "1", "--seed", "s", audit=older)
    assert sampled.code == 2 and "records no population" in sampled.err


def _with_ref(org: Org, tmp_path: Path, ref: str) -> Path:
    """Evidence of one deployment of HEAD whose record names ``ref``."""
    records = [deployment("W-1", org.repo.git("rev-parse", "HEAD"), "2012-07-21T12:00:00Z")]
    records[0]["ref"] = ref
    evidence = tmp_path / "evidence"
    write_yaml(evidence / "deploys.yaml", records)
    shutil.copy(org.evidence / "fleet.yaml", evidence / "fleet.yaml")
    return evidence


def test_a_ref_that_git_would_not_allow_is_an_input_error(org: Org, tmp_path: Path) -> None:
    evidence = _with_ref(org, tmp_path, "release 2012..07")
    result = run_cli("check", "--repo", org.repo.path, "--evidence", evidence)
    assert result.code == 2 and "deploys.yaml" in result.err
    assert "is not a branch or tag name git allows" in result.err


@pytest.mark.parametrize(
    ("option", "name", "kind"),
    [("--html", "jul.html", "HTML"), ("--markdown", "jul.md", "Markdown")],
)
def test_verify_and_sample_of_a_readable_copy_point_to_the_signed_report(
    org: Org, tmp_path: Path, option: str, name: str, kind: str
) -> None:
    copy = tmp_path / name
    org.audit_to(tmp_path / "jul.json", "2012-07", option, copy)
    for argv in (("verify", copy), ("sample", copy, "--size", "1", "--seed", "s")):
        refused = run_cli(*argv, "--key", org.pub)
        assert refused.code == 2 and refused.out == ""
        assert f"this is the {kind} copy of a report, for reading" in refused.err
        assert "verify the signed report, the JSON envelope" in refused.err


def test_the_html_copy_is_titled_as_the_signed_audit(org: Org, tmp_path: Path) -> None:
    copy = tmp_path / "jul.html"
    org.audit_to(tmp_path / "jul.json", "2012-07", "--html", copy)
    page = copy.read_text()
    assert "<title>knightwatch signed audit of 2012-07</title>" in page
    checked = run_cli(
        "check", "--repo", org.repo.path, "--evidence", org.evidence, "--format", "html"
    )
    assert "<title>knightwatch check report</title>" in checked.out
    # Each deployment's short sha with the ref its record named
    assert '<span class="tag nw">release/2012-07</span>' in page


@pytest.mark.parametrize("ref", ["7bef6e7", "7bef6e7b0668940b42f021f61d8c708f6f7d157a", "DEADBEEF"])
def test_a_ref_shaped_like_a_commit_sha_is_an_input_error(
    org: Org, tmp_path: Path, ref: str
) -> None:
    # Printed beside the deployed commit's short sha, it would read as another commit.
    evidence = _with_ref(org, tmp_path, ref)
    result = run_cli("check", "--repo", org.repo.path, "--evidence", evidence)
    assert result.code == 2 and result.out == "" and "deploys.yaml:" in result.err
    assert "is shaped like a commit sha" in result.err and repr(ref) in result.err


def test_a_ref_of_hex_and_other_characters_is_a_name(org: Org, tmp_path: Path) -> None:
    evidence = _with_ref(org, tmp_path, "release-cafe123")
    html = tmp_path / "r.html"
    result = run_cli("check", "--repo", org.repo.path, "--evidence", evidence, "-o", html)
    assert result.code in (0, 1), result.err
    assert "release-cafe123" in html.read_text()


@pytest.mark.parametrize("command", ["sample", "verify"])
def test_in_a_github_actions_log_the_lines_stand_between_markers(
    org: Org, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sample`` quotes findings and deployment records, ``verify`` what the audit recorded:
    in a GitHub Actions log the runner would read ``##[COMMAND]`` in any of them. Under it the
    text stands between ``::stop-commands::TOKEN`` and ``::TOKEN::``, unchanged."""
    extra = ("--size", "2", "--seed", "2012-Q3") if command == "sample" else ()
    argv = (command, org.audit, "--key", org.pub, *extra)
    plain = run_cli(*argv)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    lines = run_cli(*argv).out.splitlines(keepends=True)
    assert plain.code == 0, plain.err
    token = lines[0].removeprefix("::stop-commands::").strip()
    assert token.startswith("knightwatch-") and lines[-1] == f"::{token}::\n"
    assert "".join(lines[1:-1]) == plain.out
