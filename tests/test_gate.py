"""CI use: the pre-merge and pre-deploy gate, several outputs at once, GitHub annotations."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence.models import timestamp_ns
from checker.gate import Gate
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml

REVIEWED = (f"Reviewed-by: {LEAD}",)
REGISTRY = yaml.safe_dump(
    {
        "flags": [
            {
                "name": "old_checkout",
                "purpose": "the 2019 checkout",
                "owner": "shop",
                "status": "retired",
                "created": "2019-01-01",
                "retired_at": "2023-01-01",
            },
            {
                "name": "new_checkout",
                "purpose": "the 2024 checkout",
                "owner": "shop",
                "status": "active",
                "created": "2024-01-01",
            },
        ]
    }
)


@pytest.fixture
def shop(tmp_path: Path) -> tuple[ScriptedRepo, dict[str, str]]:
    repo = ScriptedRepo(tmp_path / "repo")
    shas = {
        "base": repo.commit(
            "base",
            {"flags.yaml": REGISTRY, "shop.py": "if new_checkout:\n  go()\n"},
            author=DEV,
            date="2024-03-01T00:00:00Z",
            trailers=REVIEWED,
        ),
    }
    repo.branch("pr-17")
    shas["pr"] = repo.commit(
        "bring back the old checkout for one customer",
        {"shop.py": "if new_checkout or old_checkout:\n  go()\n"},
        author=DEV,
        date="2024-03-02T00:00:00Z",
    )
    repo.checkout("main")
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [
            deployment(
                "D1",
                shas["base"],
                "2024-03-01T12:00:00Z",
                approvals=[{"by": "lee@example.com", "at": "2024-03-01T11:00:00Z"}],
            ),
        ],
    )
    return repo, shas


def gate(repo: ScriptedRepo, revision: str, *extra: str | Path) -> dict[str, object]:
    result = run_cli(
        "check",
        "--repo",
        repo.path,
        "--evidence",
        repo.path.parent / "ev",
        "--candidate",
        revision,
        "--service",
        "web",
        "--format",
        "json",
        "--as-of",
        "2024-03-03",
        *extra,
    )
    assert result.code in (0, 1), result.err
    report = json.loads(result.out)
    report["exit"] = result.code
    return report  # type: ignore[no-any-return]


def pairs(report: dict[str, object]) -> set[tuple[str, str]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {(f["rule"], f["subject"]) for f in findings}


def test_the_merge_gate_stops_a_pr_that_brings_back_a_retired_flag(
    shop: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = shop
    report = gate(repo, "pr-17", "--stage", "merge")
    assert report["exit"] == 1
    assert pairs(report) == {("DEAD-001", "candidate:old_checkout")}
    assert report["gate"] == {
        "candidate": "pr-17",
        "commit": shas["pr"],
        "service": "web",
        "environment": "production",
        "stage": "merge",
    }
    statuses = {r["id"]: r for r in report["summary"]["rules"]}  # type: ignore[index]
    assert statuses["REVIEW-002"]["reason"] == "not judged at the merge gate"
    assert statuses["DEAD-001"]["status"] == "evaluated"


def test_the_merge_gate_stops_a_pr_that_revives_a_retired_flag_under_another_spelling(
    shop: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    """Respelt ``Old-Checkout``, made active for a new purpose, the retired flag passed."""
    repo, _ = shop
    revived = yaml.safe_load(REGISTRY)
    revived["flags"][0] = {**revived["flags"][0], "name": "Old-Checkout", "status": "active"}
    revived["flags"][0].pop("retired_at")
    repo.checkout("pr-17")
    repo.commit(
        "one customer",
        {"flags.yaml": yaml.safe_dump(revived), "shop.py": "if flags['Old-Checkout']:\n  go()\n"},
        author=DEV,
        date="2024-03-02T01:00:00Z",
    )
    repo.checkout("main")
    report = gate(repo, "pr-17", "--stage", "merge")
    assert report["exit"] == 1
    assert pairs(report) == {("DEAD-002", "old_checkout")}


def test_the_merge_gate_passes_main(shop: tuple[ScriptedRepo, dict[str, str]]) -> None:
    repo, _ = shop
    assert gate(repo, "main", "--stage", "merge")["exit"] == 0


def test_the_merge_gate_judges_the_prs_reviews_when_asked(
    shop: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = shop
    report = gate(repo, "pr-17", "--stage", "merge", "--with-reviews")
    assert ("REVIEW-002", shas["pr"]) in pairs(report)
    assert report["summary"]["commits_shipped"] == 1  # type: ignore[index]


def test_the_deploy_gate_judges_what_would_ship_since_the_last_deployment(
    shop: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = shop
    report = gate(repo, "pr-17")
    assert pairs(report) == {
        ("DEAD-001", "candidate:old_checkout"),
        ("REVIEW-002", shas["pr"]),  # nobody reviewed it
        ("REVIEW-003", "candidate"),  # and it is not on main
    }
    # The recorded deployment is history here, not judged again.
    assert report["summary"]["deployments"] == 1  # type: ignore[index]


def test_the_gate_needs_its_evidence_and_must_know_the_service(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = shop
    gate = ("check", "--repo", repo.path, "--candidate", "pr-17", "--service", "web")
    result = run_cli(*gate, "--evidence", tmp_path / "none", "--stage", "merge")
    # Nothing knows "web": a gate judging a service that may not exist would pass on nothing.
    assert result.code == 2
    assert "none: evidence directory not found" in result.err
    evidence = tmp_path / "new"
    write_yaml(
        evidence / "fleet.yaml",
        {"services": {"web": {"hosts": ["web-1"]}}, "environments": ["production"]},
    )
    # Without its records the candidate would ship its own commit alone: "none" is said.
    result = run_cli(*gate, "--evidence", evidence, "--stage", "merge")
    assert result.code == 2 and "required evidence file missing: deploys" in result.err
    write_yaml(evidence / "deploys.yaml", [])
    result = run_cli(*gate, "--evidence", evidence, "--stage", "merge")
    assert result.code == 1, result.err
    assert "DEAD-001" in result.out and "candidate:old_checkout" in result.out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--service", "wbe"], "--service 'wbe' is not a service the inventory or any deployment"),
        (["--service", "web", "--environment", "prod"], "(did you mean 'production'?)"),
        (["--service", "web", "--environment", "staging"], "known: production"),
    ],
)
def test_the_gate_refuses_a_service_or_environment_nothing_knows(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path, extra: list[str], needle: str
) -> None:
    repo, _ = shop  # its evidence: one deployment of web to production
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--candidate", "pr-17", *extra
    )
    assert result.code == 2
    assert needle in result.err, result.err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--candidate", "pr-17"], "--candidate needs --service"),
        (["--service", "web"], "--service goes with --candidate"),
        (["--candidate", "nope", "--service", "web"], "'nope' does not resolve"),
    ],
)
def test_gate_usage_errors(
    shop: tuple[ScriptedRepo, dict[str, str]], argv: list[str], needle: str
) -> None:
    repo, _ = shop
    result = run_cli("check", "--repo", repo.path, "--evidence", repo.path.parent / "ev", *argv)
    assert result.code == 2 and needle in result.err


@pytest.mark.parametrize(
    "twice",
    [
        ["--candidate", "main"],  # judged main and passed; the pipeline read pr-17 and shipped it
        ["--service", "api"],
        ["--environment", "staging"],
        ["--stage", "merge"],
    ],
)
def test_a_gate_subject_given_twice_is_refused(
    shop: tuple[ScriptedRepo, dict[str, str]], twice: list[str]
) -> None:
    """argparse keeps an option's last value: a ref pasted into a gate's arguments (``pr-17
    --candidate main``) had the gate judge another commit than the one the pipeline ships."""
    repo, _ = shop
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", repo.path.parent / "ev",
        "--candidate", "pr-17", "--service", "web", "--environment", "production",
        "--stage", "deploy", *twice,
    )  # fmt: skip
    assert result.code == 2
    assert f"{twice[0]} given twice: it takes one value" in result.err
    assert result.out == ""


@pytest.mark.parametrize("option", ["--service", "--environment"])
def test_an_empty_service_or_environment_is_refused(
    shop: tuple[ScriptedRepo, dict[str, str]], option: str
) -> None:
    """``--environment "$DEPLOY_ENV"`` with the variable unset: the gate judged production,
    another stream than the pipeline's, with another last deployment and so other commits
    shipped. Nothing is judged, and the message names the option."""
    repo, _ = shop
    given = {"--service": "web", "--environment": "production", option: ""}
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", repo.path.parent / "ev",
        "--candidate", "main", *(word for pair in given.items() for word in pair),
    )  # fmt: skip
    assert result.code == 2
    assert result.err.startswith(f"knightwatch: error: {option} is empty"), result.err
    assert result.out == ""


def test_text_on_the_terminal_and_files_for_upload(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = shop
    sarif, junit, md = tmp_path / "r.sarif", tmp_path / "r.xml", tmp_path / "r.md"
    result = run_cli(
        "check",
        "--repo",
        repo.path,
        "--evidence",
        repo.path.parent / "ev",
        "--candidate",
        "pr-17",
        "--service",
        "web",
        "--stage",
        "merge",
        "--print",
        "text",
        "-o",
        sarif,
        "-o",
        junit,
        "-o",
        md,
    )
    assert result.code == 1
    assert result.out.startswith("knightwatch ") and "DEAD-001" in result.out
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert junit.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    assert md.read_text().startswith("## knightwatch: FAIL")
    assert "report written to" in result.err
    bad = run_cli(
        "check",
        "--repo",
        repo.path,
        "--evidence",
        repo.path.parent / "ev",
        "-o",
        tmp_path / "a.json",
        "-o",
        tmp_path / "b.pdf",
    )
    assert bad.code == 2 and "cannot tell the format of" in bad.err
    assert not (tmp_path / "a.json").exists()
    # One --format cannot name the formats of several files: an error, not silently ignored.
    outputs = ("-o", tmp_path / "y.json", "-o", tmp_path / "y.sarif")
    evidence = repo.path.parent / "ev"
    both = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format",
                   "json-compact", *outputs)  # fmt: skip
    assert both.code == 2 and "--format json-compact with several -o" in both.err
    assert "extension" in both.err and not (tmp_path / "y.json").exists()
    # A format of another syntax than the one file's extension names: an HTML page saved as
    # report.json was read by the next step as a report it could not parse.
    html = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "html",
                   "-o", tmp_path / "z.json")  # fmt: skip
    assert html.code == 2 and "--format html with -o" in html.err and "names json" in html.err
    assert not (tmp_path / "z.json").exists()
    # A SARIF log is JSON: saved as .json, it is what it says.
    sarif_json = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format",
                         "sarif", "-o", tmp_path / "z.json")  # fmt: skip
    assert json.loads((tmp_path / "z.json").read_text())["version"] == "2.1.0", sarif_json.err


def test_github_actions_annotations_and_job_summary(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = shop
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_cli(
        "check",
        "--repo",
        repo.path,
        "--evidence",
        repo.path.parent / "ev",
        "--candidate",
        "pr-17",
        "--service",
        "web",
        "--stage",
        "merge",
    )
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if line.startswith("::")]
    token = lines[0].removeprefix("::stop-commands::")  # the text report stands between these
    assert lines[1:] == [
        f"::{token}::",
        "::error file=shop.py,title=DEAD-001 candidate%3Aold_checkout::Deployment candidate "
        "shipped code that still references retired flag old_checkout in 1 file: shop.py.",
    ]
    assert summary.read_text().startswith("## knightwatch: FAIL")
    monkeypatch.delenv("GITHUB_ACTIONS")
    quiet = run_cli(
        "check",
        "--repo",
        repo.path,
        "--evidence",
        repo.path.parent / "ev",
        "--candidate",
        "pr-17",
        "--service",
        "web",
        "--stage",
        "merge",
    )
    assert "::error" not in quiet.out


@pytest.mark.parametrize("stage", ["deploy", "merge"])
def test_the_gate_says_what_the_check_will_say_once_the_candidate_is_deployed(
    tmp_path: Path, stage: str
) -> None:
    """The gate reads only what the candidate ships; the check reads all of history. Over a
    history with merges, a revived flag, unreviewed commits and a commit off main, the gate's
    findings are the check's findings about the same deployment."""
    repo = ScriptedRepo(tmp_path / "repo")
    retired = REGISTRY
    document = yaml.safe_load(REGISTRY)
    document["flags"][0].update(status="active")
    del document["flags"][0]["retired_at"]  # an active flag has no retirement date (DEAD-006)
    revived = yaml.safe_dump(document, sort_keys=False)
    day = iter(range(1, 28))

    def commit(message: str, files: dict[str, str | None], reviewed: bool = True) -> str:
        return repo.commit(
            message,
            files,
            author=DEV,
            date=f"2024-03-{next(day):02d}T00:00:00Z",
            trailers=REVIEWED if reviewed else (),
        )

    first = commit("base", {"flags.yaml": retired, "shop.py": "if new_checkout:\n  go()\n"})
    repo.branch("topic")
    commit("topic work", {"topic.py": "x = 1\n"}, reviewed=False)
    commit("revive the old checkout", {"flags.yaml": revived})
    repo.checkout("main")
    commit("main work", {"main.py": "y = 2\n"})
    repo.merge("topic", "merge topic", author=LEAD, date="2024-03-20T00:00:00Z")
    candidate = commit("use it", {"shop.py": "if old_checkout:\n  go()\n"}, reviewed=False)
    if stage == "merge":
        repo.git("reset", "--hard", "HEAD~1")  # the candidate is a pull request's head
    evidence = tmp_path / "ev"
    records = [deployment("D1", first, "2024-03-01T12:00:00Z")]
    write_yaml(evidence / "deploys.yaml", records)

    report = gate(repo, candidate, "--stage", stage, "--with-reviews", "--as-of", "2024-03-21")
    predicted = {(rule, subject.replace("candidate", "D2")) for rule, subject in pairs(report)}
    assert ("REVIEW-002", candidate) in predicted and ("DEAD-002", "old_checkout") in predicted

    started = "2024-04-01T00:00:00Z"
    write_yaml(evidence / "deploys.yaml", [*records, deployment("D2", candidate, started)])
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--format", "json",
        "--as-of", "2024-03-03",
    )  # fmt: skip
    judged = set([r["id"] for r in report["summary"]["rules"]])  # type: ignore[index]
    judged -= set(report["summary"]["not_evaluated"])  # type: ignore[index]
    actual = {
        (f["rule"], f["subject"])
        for f in result.json()["findings"]
        if f["rule"] in judged
        and (f["subject"].startswith("D2") or f["rule"] in ("REVIEW-002", "DEAD-002"))
    }
    if stage == "merge":
        # Before merge the candidate ships what it adds to main, not what D2 will ship since
        # D1; and a pull request's head is not on main yet.
        ahead = set(repo.git("rev-list", candidate, "^main").split())
        actual = {
            (rule, subject)
            for rule, subject in actual
            if (rule, subject) != ("REVIEW-003", "D2")
            and (rule != "REVIEW-002" or subject in ahead)
        }
    assert predicted == actual


def test_the_gate_judges_its_candidate_at_the_end_of_its_as_of_date_or_now() -> None:
    """An approval dated at or after the gate's moment had not been given: the end of the
    as-of date (UTC) when that is past, else now. Never the candidate's start, midnight of
    the as-of date, after which an approval given earlier today is dated."""
    web = Gate(revision="main", service="web")
    noon = timestamp_ns("2024-03-04T12:00:00Z")
    end = timestamp_ns("2024-03-05T00:00:00Z")
    at, why = web.moment(date(2024, 3, 4), now_ns=noon)
    assert (at, why.split(":")[0]) == (noon, "in the future")
    at, why = web.moment(date(2024, 3, 4), now_ns=end)
    assert (at, why.split(":")[0]) == (end, "after the gate's as-of date (2024-03-04)")
    assert web.moment(date(2024, 3, 4), now_ns=end + 10**18)[0] == end


def test_a_tag_named_like_the_protected_branch_does_not_stand_in_for_it(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path
) -> None:
    """A CI clone with neither ``main`` nor ``origin/main``, and a tag ``main`` on the pull
    request's unmerged head: the tag was taken for the protected branch, so the head was "on
    main" (REVIEW-003 passed) and the merge gate judged nothing. Every run refuses it now."""
    repo, shas = shop
    ci = ScriptedRepo(tmp_path / "ci")  # beside the evidence, as ``gate`` wants it
    ci.git("fetch", "--quiet", "--no-tags", str(repo.path), "+refs/heads/*:refs/remotes/origin/*")
    ci.git("update-ref", "-d", "refs/remotes/origin/main")
    ci.git("checkout", "--quiet", "--detach", shas["pr"])
    ci.git("tag", "main", shas["pr"])
    common = ("--repo", ci.path, "--evidence", tmp_path / "ev", "--as-of", "2024-03-03")
    for run in (
        ("check", *common, "--candidate", shas["pr"], "--service", "web"),
        ("check", *common, "--candidate", shas["pr"], "--service", "web", "--stage", "merge"),
        ("check", *common),
    ):
        result = run_cli(*run)
        assert result.code == 2, (run, result.out)
        assert "protected branch 'main' is not a branch" in result.err
        assert "'main' names the tag refs/tags/main" in result.err
    ci.git("tag", "-d", "main")
    result = run_cli("check", *common, "--candidate", shas["pr"], "--service", "web")
    assert result.code == 2 and "protected branch 'main' not found" in result.err
    ci.git("update-ref", "refs/remotes/origin/main", shas["base"])  # as CI clones have it
    report = gate(ci, shas["pr"])
    assert ("REVIEW-003", "candidate") in pairs(report)


@pytest.mark.parametrize("kind", ["branch", "tag"])
def test_a_candidate_that_is_both_a_short_sha_and_a_ref_is_refused(
    shop: tuple[ScriptedRepo, dict[str, str]], kind: str
) -> None:
    """``--candidate 1a2b3c4d`` meant the pull request's commit, whose sha starts so; a branch
    of that name points at the deployed base. Git takes the ref, and the gate judged the base
    (and passed). The evidence refuses such a name as ambiguous; so does the gate, naming
    both. A full sha, or the ref by its full name, is not ambiguous."""
    repo, shas = shop
    prefix = shas["pr"][:8]
    repo.git(kind, prefix, shas["base"])
    ref = f"refs/{'heads' if kind == 'branch' else 'tags'}/{prefix}"
    for stage in ("deploy", "merge"):
        result = run_cli(
            "check", "--repo", repo.path, "--evidence", repo.path.parent / "ev",
            "--candidate", prefix, "--service", "web", "--stage", stage,
        )  # fmt: skip
        assert result.code == 2, (stage, result.out)
        assert (
            f"--candidate {prefix!r} is ambiguous: both a sha and the ref {ref} (at "
            f"{shas['base'][:12]})"
        ) in result.err
        assert "Traceback" not in result.err
    assert pairs(gate(repo, shas["pr"])) == pairs(gate(repo, "pr-17"))
    assert gate(repo, ref)["gate"]["commit"] == shas["base"]  # type: ignore[index]


@pytest.mark.parametrize("suffix", ["", "~0", "^{}", "^{commit}"])
def test_a_candidate_that_names_both_a_branch_and_a_tag_is_refused(
    shop: tuple[ScriptedRepo, dict[str, str]], suffix: str
) -> None:
    """A branch ``release`` on the pull request's unreviewed head, a tag ``release`` on the
    deployed base. Git takes the tag for ``release`` (with only a warning), so the gate
    judged the base and passed, while ``git checkout release`` in the deploy job takes the
    branch and ships the unreviewed head. A name two refs answer to is refused, naming both;
    either ref by its full name is judged."""
    repo, shas = shop
    repo.git("branch", "release", shas["pr"])
    repo.git("tag", "release", shas["base"])
    for stage in ("deploy", "merge"):
        result = run_cli(
            "check", "--repo", repo.path, "--evidence", repo.path.parent / "ev",
            "--candidate", f"release{suffix}", "--service", "web", "--stage", stage,
        )  # fmt: skip
        assert result.code == 2, (stage, result.out)
        assert (
            f"--candidate 'release{suffix}' is ambiguous: 'release' is both the ref "
            f"refs/tags/release (at {shas['base'][:12]}) and the ref refs/heads/release (at "
            f"{shas['pr'][:12]}); git takes the first"
        ) in result.err, result.err
    assert gate(repo, "refs/heads/release")["exit"] == 1
    assert gate(repo, "refs/tags/release")["exit"] == 0


def test_the_candidates_own_settings_do_not_weaken_its_gate(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path
) -> None:
    """The pull request brings back a retired flag and, in the same change, excludes the file
    that references it from the search. Its gate read the settings of the tree it ran in, the
    pull request's, and passed; the monthly audit, which applies no weakening setting of the
    repository's, then reports the flag. A gate is judged as the audit will be: the
    repository's knightwatch.yaml only makes it stricter; the platform's ``--config`` (or the
    command line) may weaken it, and the report says so."""
    repo, _ = shop
    repo.checkout("pr-17")
    repo.commit(
        "settings",
        {"knightwatch.yaml": "reference_exclude: [shop.py]\nprotected_branch: pr-17\n"},
        author=DEV,
        date="2024-03-02T01:00:00Z",
        trailers=REVIEWED,
    )
    for stage in ("merge", "deploy"):
        report = gate(repo, "pr-17", "--stage", stage)
        assert report["exit"] == 1, stage
        assert ("DEAD-001", "candidate:old_checkout") in pairs(report)
        notes = {(n["name"], n["applied"]) for n in report["settings"]}  # type: ignore[attr-defined]
        assert notes == {("reference_exclude", False), ("protected_branch", False)}
    assert ("REVIEW-003", "candidate") in pairs(gate(repo, "pr-17"))
    platform = tmp_path / "platform.yaml"
    platform.write_text("reference_exclude: [shop.py]\n")
    report = gate(repo, "pr-17", "--stage", "merge", "--config", platform)
    assert report["exit"] == 0
    assert [(n["name"], n["source"]) for n in report["settings"]] == [  # type: ignore[attr-defined]
        ("protected_branch", "knightwatch.yaml"),
        ("reference_exclude", "--config platform.yaml"),
    ]


def test_a_gate_applies_waivers_as_the_audit_will(
    shop: tuple[ScriptedRepo, dict[str, str]], tmp_path: Path
) -> None:
    """The team waives its own retired flag in waivers.yaml. The gate applied every waiver and
    passed; the audit applies only waivers whose approver the auditor's side names, and
    reports the flag. A gate applies a waiver only when ``--config`` names its approver, and
    never one approved by whoever wrote the reference (Dana, in pr-17)."""
    repo, _ = shop
    waiver = {
        "rule": "DEAD-001",
        "subject": "candidate:old_checkout",
        "reason": "one customer needs it back",
        "approved_by": "cro@example.com",
        "expires": "2024-04-01",
    }
    write_yaml(tmp_path / "ev" / "waivers.yaml", [waiver])
    report = gate(repo, "pr-17", "--stage", "merge")
    assert report["exit"] == 1
    assert [f["waived"] for f in report["findings"]] == [False]  # type: ignore[attr-defined]
    platform = tmp_path / "platform.yaml"
    platform.write_text("waiver_approvers: [cro@example.com, dana@example.com]\n")
    report = gate(repo, "pr-17", "--stage", "merge", "--config", platform)
    assert report["exit"] == 0
    assert [f["waived"] for f in report["findings"]] == [True]  # type: ignore[attr-defined]
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "dana@example.com"}])
    report = gate(repo, "pr-17", "--stage", "merge", "--config", platform)
    assert report["exit"] == 1
    assert [f["waived"] for f in report["findings"]] == [False]  # type: ignore[attr-defined]


def _overdue_flag(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    """A flag to be removed by 2024-03-10, still active in a commit written on the 20th: a
    deployment of it is late (DEAD-003), and D1 was deployed on the 12th."""
    registry = {
        "flags": [
            {
                "name": "new_checkout",
                "purpose": "the 2024 checkout",
                "owner": "shop",
                "status": "active",
                "created": "2024-01-01",
                "remove_by": "2024-03-10",
            }
        ]
    }
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit(
        "base",
        {"flags.yaml": yaml.safe_dump(registry), "shop.py": "if new_checkout:\n  go()\n"},
        author=DEV,
        date="2024-03-01T00:00:00Z",
        trailers=REVIEWED,
    )
    repo.commit(
        "next",
        {"shop.py": "if new_checkout:\n  go2()\n"},
        author=DEV,
        date="2024-03-20T00:00:00Z",
        trailers=REVIEWED,
    )
    evidence = tmp_path / "ev"
    approval = [{"by": "lee@example.com", "at": "2024-03-12T11:00:00Z"}]
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", base, "2024-03-12T12:00:00Z", approvals=approval)],
    )
    return repo, evidence


def _gate_as_of(repo: ScriptedRepo, evidence: Path, as_of: str) -> tuple[int, str, str]:
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", evidence, "--candidate", "main",
        "--service", "web", "--fail-on", "medium", "--format", "json", "--as-of", as_of,
    )  # fmt: skip
    return result.code, result.out, result.err


def test_a_gate_refuses_an_as_of_before_its_candidate_was_committed(tmp_path: Path) -> None:
    """A date left on a pipeline's command line judged the candidate as of a day before the
    flag's remove_by: DEAD-003 was not found and the gate passed (exit 0). Its commit shows
    that day was past."""
    repo, evidence = _overdue_flag(tmp_path)
    code, out, _ = _gate_as_of(repo, evidence, "2024-03-25")
    assert code == 1
    assert {(f["rule"], f["subject"]) for f in json.loads(out)["findings"]} == {
        ("DEAD-003", "new_checkout")
    }
    code, out, err = _gate_as_of(repo, evidence, "2024-03-13")
    assert (code, out) == (2, "")
    assert err.startswith(
        "knightwatch: error: --as-of 2024-03-13 is before the gate's candidate could be judged: "
        "its commit was committed on 2024-03-20. A gate judges its candidate now"
    )
    assert "hint: leave --as-of out (the default is today, UTC)" in err


def test_a_gate_allows_an_as_of_a_day_before_its_commit(tmp_path: Path) -> None:
    """The clock of the machine that wrote the commit may run ahead of the platform's."""
    repo, evidence = _overdue_flag(tmp_path)
    code, _, err = _gate_as_of(repo, evidence, "2024-03-19")
    assert code == 1, err


def test_a_gate_refuses_an_as_of_before_its_services_latest_deployment(tmp_path: Path) -> None:
    repo, evidence = _overdue_flag(tmp_path)
    repo.git("reset", "--hard", "HEAD~1")  # the candidate is the commit of 2024-03-01
    code, out, err = _gate_as_of(repo, evidence, "2024-03-05")
    assert (code, out) == (2, "")
    assert (
        "--as-of 2024-03-05 is before the gate's candidate could be judged: a deployment of web "
        "started at 2024-03-12T12:00:00Z"
    ) in err


def test_a_gate_refuses_an_as_of_after_today(tmp_path: Path) -> None:
    """A waiver may run a year past the as-of date: as of a day years ahead, a waiver running
    years was admitted at the gate, as it was at an audit before it was bounded."""
    repo, evidence = _overdue_flag(tmp_path)
    future = (date.today() + timedelta(days=3 * 366)).isoformat()
    code, out, err = _gate_as_of(repo, evidence, future)
    assert (code, out) == (2, "")
    assert f"--as-of {future} is after today (" in err
