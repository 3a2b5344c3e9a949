"""A gate reads an evidence directory inside the work tree as the protected branch has it.

In CI the work tree is the change's own: a pull request that adds a deployment record of its
candidate's parent (so the candidate ships less), or a waiver, passed the gate that judged
it. Each case below gave a gate PASS on the checkout of such a change."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, deployment, run_cli

REVIEWED = (f"Reviewed-by: {LEAD}",)
FLEET = yaml.safe_dump({"services": {"web": {"hosts": ["web-1"]}}})
APPROVAL = [{"by": "lee@example.com", "at": "2024-03-01T11:00:00Z"}]


def _deploys(*records: dict[str, Any]) -> str:
    return yaml.safe_dump(list(records), sort_keys=False)


@pytest.fixture
def shop(tmp_path: Path) -> tuple[ScriptedRepo, list[str]]:
    """main: C0 (reviewed, deployed as D1, its records in compliance/), C1 (nobody reviewed
    it), C2 (reviewed). main's tip, C2, ships C1 and C2."""
    repo = ScriptedRepo(tmp_path / "repo")
    c0 = repo.commit("change 0", {"app.py": "0\n", "compliance/fleet.yaml": FLEET}, author=DEV,
                     date="2024-03-01T00:00:00Z", trailers=REVIEWED)  # fmt: skip
    d1 = deployment("D1", c0, "2024-03-01T12:00:00Z", approvals=APPROVAL)
    repo.commit("record D1", {"compliance/deploys.yaml": _deploys(d1)}, author=DEV,
                date="2024-03-01T13:00:00Z", trailers=REVIEWED)  # fmt: skip
    c1 = repo.commit("change 1", {"app.py": "1\n"}, author=DEV, date="2024-03-02T00:00:00Z")
    c2 = repo.commit("change 2", {"app.py": "2\n"}, author=DEV, date="2024-03-03T00:00:00Z",
                     trailers=REVIEWED)  # fmt: skip
    return repo, [c0, c1, c2]


def _change(repo: ScriptedRepo, files: dict[str, str | None]) -> str:
    """A pull request on main's tip that changes the evidence, checked out."""
    repo.branch("pr")
    return repo.commit("evidence", files, author=DEV, date="2024-03-03T01:00:00Z")


def _fake_deployment(shas: list[str]) -> dict[str, Any]:
    """D2: C1, the candidate's parent, deployed (so the candidate ships C2 alone)."""
    approvals = [{"by": "lee@example.com", "at": "2024-03-02T11:00:00Z"}]
    return deployment("D2", shas[1], "2024-03-02T12:00:00Z", approvals=approvals)


def _gate(repo: ScriptedRepo, *extra: str | Path) -> dict[str, Any]:
    result = run_cli(
        "check", "--repo", repo.path, "--candidate", "main", "--service", "web",
        "--as-of", "2024-03-04", "--format", "json", *extra,
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    report: dict[str, Any] = json.loads(result.out)
    report["exit"] = result.code
    return report


def _review_findings(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(f["rule"], f["subject"], f["waived"]) for f in report["findings"]]


def test_a_changes_own_deployment_record_does_not_shorten_what_its_candidate_ships(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    repo, shas = shop
    d1 = deployment("D1", shas[0], "2024-03-01T12:00:00Z", approvals=APPROVAL)
    _change(repo, {"compliance/deploys.yaml": _deploys(d1, _fake_deployment(shas))})
    report = _gate(repo)
    assert report["exit"] == 1
    assert _review_findings(report) == [("REVIEW-002", shas[1], False)]
    assert report["gate"]["evidence"] == {
        "branch": "main",
        "commit": shas[2],
        "directory": "compliance",
        "read_from_branch": ["deploys.yaml", "fleet.yaml"],
        "read_from_work_tree": [],
        "not_read": [],
    }
    # The blob's bytes as main has them, not the work tree's copy.
    blob = repo.git("cat-file", "blob", "main:compliance/deploys.yaml") + "\n"
    digests = {f["path"]: f["sha256"] for f in report["inputs"]["files"]}
    assert digests["deploys.yaml"] == hashlib.sha256(blob.encode()).hexdigest()


def test_a_waiver_the_change_adds_is_not_read(
    shop: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    """The platform names Lee as an approver of waivers; the change writes Lee's waiver."""
    repo, shas = shop
    waiver = {"rule": "REVIEW-002", "subject": shas[1], "reason": "hotfix",
              "approved_by": "lee@example.com", "expires": "2024-04-01"}  # fmt: skip
    _change(repo, {"compliance/waivers.yaml": yaml.safe_dump([waiver])})
    platform = tmp_path / "platform.yaml"
    platform.write_text("waiver_approvers: [lee@example.com]\n")
    report = _gate(repo, "--config", platform)
    assert report["exit"] == 1
    assert _review_findings(report) == [("REVIEW-002", shas[1], False)]
    assert report["gate"]["evidence"]["not_read"] == ["waivers.yaml"]
    text = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                   "--as-of", "2024-03-04", "--config", platform)  # fmt: skip
    assert text.code == 1
    assert "Evidence not read (the change's own: main has none): waivers.yaml" in text.out
    assert "has it, not the work tree: deploys.yaml, fleet.yaml" in text.out


def test_a_file_the_change_deletes_is_read_as_the_branch_has_it(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    repo, shas = shop
    _change(repo, {"compliance/deploys.yaml": None})
    report = _gate(repo)
    assert report["exit"] == 1
    assert _review_findings(report) == [("REVIEW-002", shas[1], False)]


def test_a_file_no_commit_tracks_is_read_from_the_work_tree(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    """Written by the CI job before the gate (an export from the deploy tool): read, and
    listed as read from the work tree."""
    repo, shas = shop
    observed = {"host": "web-1", "service": "web", "version": shas[0],
                "observed_at": "2024-03-01T13:00:00Z"}  # fmt: skip
    (repo.path / "compliance" / "observations.jsonl").write_text(json.dumps(observed) + "\n")
    report = _gate(repo)
    assert report["exit"] == 1
    assert report["gate"]["evidence"]["read_from_work_tree"] == ["observations.jsonl"]
    assert "observations.jsonl" in {f["path"] for f in report["inputs"]["files"]}


def test_a_file_the_change_adds_and_main_lacks_is_named_when_it_is_needed(
    tmp_path: Path,
) -> None:
    """A service whose deployment records the change adds: the gate has no history to judge."""
    repo = ScriptedRepo(tmp_path / "repo")
    c0 = repo.commit("change 0", {"app.py": "0\n", "compliance/fleet.yaml": FLEET}, author=DEV,
                     date="2024-03-01T00:00:00Z", trailers=REVIEWED)  # fmt: skip
    d1 = deployment("D1", c0, "2024-03-01T12:00:00Z")
    _change(repo, {"compliance/deploys.yaml": _deploys(d1)})
    result = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                     "--as-of", "2024-03-04")  # fmt: skip
    assert result.code == 2, result.out
    assert (
        "required evidence file missing: deploys.yaml or deploys.yml or deploys.jsonl "
        "(deploys.yaml is the change's own: main does not have it" in result.err
    )


@pytest.mark.parametrize("form", ["relative", "dot-dot", "link-into", "replaced-by-link-out"])
def test_the_evidence_directory_however_named_is_read_as_main_has_it(
    shop: tuple[ScriptedRepo, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    repo, shas = shop
    d1 = deployment("D1", shas[0], "2024-03-01T12:00:00Z", approvals=APPROVAL)
    fake = _deploys(d1, _fake_deployment(shas))
    _change(repo, {"compliance/deploys.yaml": fake})
    monkeypatch.chdir(repo.path)
    evidence: Path = Path("compliance")
    if form == "dot-dot":
        evidence = Path("../repo/.git/../compliance")
    elif form == "link-into":
        evidence = tmp_path / "link"
        evidence.symlink_to(repo.path / "compliance")
    elif form == "replaced-by-link-out":  # the change swaps the directory for a link out
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "deploys.yaml").write_text(fake)
        (outside / "fleet.yaml").write_text(FLEET)
        repo.git("rm", "-q", "-r", "compliance")
        (repo.path / "compliance").symlink_to(outside)
        repo.git("add", "compliance")
        repo.commit("link", author=DEV, date="2024-03-03T02:00:00Z")
        evidence = repo.path / "compliance"
    report = _gate(repo, "--evidence", evidence)
    assert report["exit"] == 1, form
    assert report["gate"]["evidence"]["read_from_branch"] == ["deploys.yaml", "fleet.yaml"]


def test_an_evidence_directory_outside_the_work_tree_is_read_as_it_is(
    shop: tuple[ScriptedRepo, list[str]], tmp_path: Path
) -> None:
    """The platform's own directory (``--evidence`` outside the checkout) is not the change's."""
    repo, shas = shop
    outside = tmp_path / "platform-evidence"
    outside.mkdir()
    d1 = deployment("D1", shas[0], "2024-03-01T12:00:00Z", approvals=APPROVAL)
    (outside / "deploys.yaml").write_text(_deploys(d1, _fake_deployment(shas)))
    (outside / "fleet.yaml").write_text(FLEET)
    report = _gate(repo, "--evidence", outside)
    assert report["exit"] == 0
    assert "evidence" not in report["gate"]


def test_a_gate_whose_protected_branch_does_not_resolve_stops(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    repo, _ = shop
    result = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                     "--as-of", "2024-03-04", "--protected-branch", "trunk")  # fmt: skip
    assert result.code == 2, result.out
    assert "protected branch 'trunk' not found" in result.err


def test_the_blob_is_read_not_a_checkout_that_gitattributes_converted(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    repo, _ = shop
    _change(repo, {".gitattributes": "compliance/* text eol=crlf\n"})
    (repo.path / "compliance" / "deploys.yaml").unlink()
    repo.git("checkout", "--", "compliance/deploys.yaml")
    on_disk = (repo.path / "compliance" / "deploys.yaml").read_bytes()
    blob = (repo.git("cat-file", "blob", "main:compliance/deploys.yaml") + "\n").encode()
    assert b"\r\n" in on_disk and b"\r\n" not in blob
    digests = {f["path"]: f["sha256"] for f in _gate(repo)["inputs"]["files"]}
    assert digests["deploys.yaml"] == hashlib.sha256(blob).hexdigest()


def test_an_evidence_directory_the_branch_keeps_as_a_link_out_is_given_by_the_platform(
    tmp_path: Path,
) -> None:
    """main's compliance/ is a link out of the repository: the change could point it at any
    directory, so the gate does not follow it; ``--evidence`` names the directory itself."""
    outside = tmp_path / "platform-evidence"
    outside.mkdir()
    (outside / "fleet.yaml").write_text(FLEET)
    repo = ScriptedRepo(tmp_path / "repo")
    (repo.path / "compliance").symlink_to(outside)
    repo.git("add", "compliance")
    c0 = repo.commit("change 0", {"app.py": "0\n"}, author=DEV, date="2024-03-01T00:00:00Z",
                     trailers=REVIEWED)  # fmt: skip
    (outside / "deploys.yaml").write_text(_deploys(deployment("D1", c0, "2024-03-01T12:00:00Z")))
    argv = ("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
            "--as-of", "2024-03-04")  # fmt: skip
    result = run_cli(*argv)
    assert result.code == 2, result.out
    assert "leads out of the work tree through a symbolic link" in result.err
    assert f"pass the directory it leads to with --evidence ({outside.resolve()})" in result.err
    assert run_cli(*argv, "--evidence", outside).code == 0


def _submodule(repo: ScriptedRepo, path: str, files: dict[str, str]) -> None:
    """Check out at ``path`` a repository of the change's own making, as a submodule."""
    sub = ScriptedRepo(repo.path.parent / f"sub-{path.replace('/', '-')}")
    sub.commit("records", files, author=DEV, date="2024-03-03T00:30:00Z")
    if (repo.path / path).exists():
        repo.git("rm", "-q", "-r", path)
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), path)
    repo.commit("records as a submodule", author=DEV, date="2024-03-03T02:00:00Z")


def test_an_evidence_directory_the_change_makes_a_submodule_stops_the_gate(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    """The change swaps compliance/ for a submodule: main's files in it, and a review of C1 the
    change wrote. No commit of the repository tracks the review, so it looked written by the
    CI job, and the gate read it and passed."""
    repo, shas = shop
    review = {"change": "PR-1", "author": "dana@example.com", "commits": [shas[1]],
              "approvals": [{"by": "lee@example.com", "at": "2024-03-02T10:00:00Z"}]}  # fmt: skip
    on_main = {name: repo.git("show", f"main:compliance/{name}") + "\n"
               for name in ("deploys.yaml", "fleet.yaml")}  # fmt: skip
    repo.branch("pr")
    _submodule(repo, "compliance", {**on_main, "reviews.yaml": yaml.safe_dump([review])})
    result = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                     "--as-of", "2024-03-04")  # fmt: skip
    assert result.code == 2, result.out
    assert "compliance: the evidence directory is a submodule in HEAD" in result.err
    assert "pass it with --evidence from outside the work tree" in result.err


@pytest.mark.parametrize("where", ["outside", "submodule", "main's other directory"])
def test_the_changes_own_evidence_setting_is_not_applied(
    shop: tuple[ScriptedRepo, list[str]], tmp_path: Path, where: str
) -> None:
    """The change's knightwatch.yaml names another evidence directory, holding a deployment of
    C1 (so the candidate ships C2 alone): the gate reads the directory main's names."""
    repo, shas = shop
    d1 = deployment("D1", shas[0], "2024-03-01T12:00:00Z", approvals=APPROVAL)
    fake = {"deploys.yaml": _deploys(d1, _fake_deployment(shas)), "fleet.yaml": FLEET}
    if where == "main's other directory":  # an example kept on main, say
        repo.commit("example", {f"docs/example/{n}": text for n, text in fake.items()},
                    author=DEV, date="2024-03-03T00:10:00Z", trailers=REVIEWED)  # fmt: skip
    repo.branch("pr")
    named = {"outside": "../outside", "submodule": "records"}.get(where, "docs/example")
    if where == "outside":
        for name, text in fake.items():
            (tmp_path / "outside").mkdir(exist_ok=True)
            (tmp_path / "outside" / name).write_text(text)
    elif where == "submodule":
        _submodule(repo, "records", fake)
    repo.commit("elsewhere", {"knightwatch.yaml": f"evidence: {named}\n"}, author=DEV,
                date="2024-03-03T03:00:00Z")  # fmt: skip
    report = _gate(repo)
    assert report["exit"] == 1, where
    assert _review_findings(report) == [("REVIEW-002", shas[1], False)]
    assert report["gate"]["evidence"]["directory"] == "compliance"
    [note] = [n for n in report["settings"] if n["name"] == "evidence"]
    assert (note["value"], note["default"], note["source"]) == (named, None, "knightwatch.yaml")
    assert (note["effect"], note["applied"]) == ("changed", False)


def _link(repo: ScriptedRepo, path: str, target: str) -> None:
    """Make ``path`` a symbolic link to ``target`` in the work tree, staged."""
    if (repo.path / path).exists() or (repo.path / path).is_symlink():
        repo.git("rm", "-q", "-r", path)
    (repo.path / path).symlink_to(target)
    repo.git("add", path)


@pytest.mark.parametrize("main_keeps", ["a directory", "a link to records"])
def test_a_link_the_change_makes_does_not_lead_its_gate_to_another_directory(
    shop: tuple[ScriptedRepo, list[str]], main_keeps: str
) -> None:
    """main keeps a sandbox of evidence (a deployment of C1 in it, so a candidate ships C2
    alone); the change makes compliance/ a link to it. The gate followed the work tree's link
    and read main's sandbox/: it passed."""
    repo, shas = shop
    d1 = deployment("D1", shas[0], "2024-03-01T12:00:00Z", approvals=APPROVAL)
    fake = {"deploys.yaml": _deploys(d1, _fake_deployment(shas)), "fleet.yaml": FLEET}
    repo.commit("sandbox", {f"sandbox/{n}": text for n, text in fake.items()}, author=DEV,
                date="2024-03-03T00:10:00Z", trailers=REVIEWED)  # fmt: skip
    if main_keeps == "a link to records":  # main's own link is main's: it is followed
        repo.git("mv", "compliance", "records")
        _link(repo, "compliance", "records")
        repo.commit("records", author=DEV, date="2024-03-03T00:20:00Z", trailers=REVIEWED)
    repo.branch("pr")
    _link(repo, "compliance", "sandbox")
    repo.commit("link", author=DEV, date="2024-03-03T02:00:00Z")
    # A file no commit tracks, written through the link: not main's directory, so not read.
    (repo.path / "compliance" / "observations.jsonl").write_text("not JSON\n")
    report = _gate(repo)
    assert report["exit"] == 1, main_keeps
    assert _review_findings(report) == [("REVIEW-002", shas[1], False)]
    expected = "compliance" if main_keeps == "a directory" else "records"
    assert report["gate"]["evidence"]["directory"] == expected
    assert report["gate"]["evidence"]["read_from_branch"] == ["deploys.yaml", "fleet.yaml"]
    assert report["gate"]["evidence"]["not_read"] == ["observations.jsonl"]
    platforms = repo.path.parent / "platform-link"  # the platform's link into the work tree
    platforms.symlink_to(repo.path / "compliance")
    assert _gate(repo, "--evidence", platforms)["exit"] == 1


def test_a_link_the_change_makes_where_main_has_no_evidence_directory_stops_the_gate(
    tmp_path: Path,
) -> None:
    """main keeps no compliance/ (its CI job exports the records there); the change makes it a
    link to a directory of records main keeps for something else."""
    repo = ScriptedRepo(tmp_path / "repo")
    c0 = repo.commit("change 0", {"app.py": "0\n", "sandbox/fleet.yaml": FLEET}, author=DEV,
                     date="2024-03-01T00:00:00Z", trailers=REVIEWED)  # fmt: skip
    repo.commit("record", {"sandbox/deploys.yaml": _deploys(deployment("D1", c0,
                "2024-03-01T12:00:00Z"))}, author=DEV, date="2024-03-01T13:00:00Z",
                trailers=REVIEWED)  # fmt: skip
    repo.branch("pr")
    _link(repo, "compliance", "sandbox")
    repo.commit("link", author=DEV, date="2024-03-03T02:00:00Z")
    result = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                     "--as-of", "2024-03-04")  # fmt: skip
    assert result.code == 2, result.out
    assert (
        "the evidence directory leads to sandbox through a symbolic link, and main has no "
        "directory there" in result.err
    )


PLATFORM_RULE = """package platform.tickets

import rego.v1

# METADATA
# title: Deployment has a change ticket
# description: Every deployment names its change ticket.
# custom:
#   id: PLAT-001
#   severity: high
#   controls: [platform change policy]
#   requires: [deploys]
#   gate: [deploy]
#   message: "Deployment {subject} names no change ticket."
missing_ticket contains {"subject": d.id} if {
\tsome d in input.deployments
\tnot d.change_ticket
}
"""


@pytest.mark.parametrize("given", ["--config", "--policies", "--config's policies"])
def test_the_platforms_files_in_the_changes_tree_stop_the_gate(
    shop: tuple[ScriptedRepo, list[str]], tmp_path: Path, given: str
) -> None:
    """The platform keeps its gate's configuration or rules in the repository (``ci/``), and
    the change edits them: a --config that stops failing on high findings, a rule that finds
    nothing. The gate read the change's copy, and passed."""
    repo, _ = shop
    repo.commit("platform", {"ci/platform.yaml": "waiver_approvers: [lee@example.com]\n",
                             "ci/rules/tickets.rego": PLATFORM_RULE}, author=LEAD,
                date="2024-03-03T00:10:00Z")  # fmt: skip
    _change(repo, {"ci/platform.yaml": "fail_on: critical\n",
                   "ci/rules/tickets.rego": PLATFORM_RULE.replace("not d.change_ticket",
                                                                  'd.id == "nobody"')})  # fmt: skip
    outside = tmp_path / "platform.yaml"
    outside.write_text(f"policies: [{repo.path / 'ci' / 'rules'}]\n")
    extra = {
        "--config": ("--config", repo.path / "ci" / "platform.yaml"),
        "--policies": ("--policies", repo.path / "ci" / "rules", "--fail-on", "critical"),
        "--config's policies": ("--config", outside, "--fail-on", "critical"),
    }[given]
    result = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                     "--as-of", "2024-03-04", *extra)  # fmt: skip
    assert result.code == 2, (given, result.out)
    named = "platform.yaml" if given == "--config" else "rules"
    assert f"ci/{named}: is in the work tree, and HEAD tracks it" in result.err
    assert "keep the platform's gate configuration and rules outside the checkout" in result.err
    # Outside the work tree, or written by the CI job (no commit tracks it), it is the platform's.
    repo.git("mv", "ci", "platform-ci")
    repo.git("rm", "-q", "--cached", "-r", "platform-ci")
    repo.commit("untrack", author=DEV, date="2024-03-03T04:00:00Z")
    (repo.path / "platform-ci" / "rules" / "tickets.rego").write_text(PLATFORM_RULE)
    rules = ("--policies", repo.path / "platform-ci" / "rules")
    kept = run_cli("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
                   "--as-of", "2024-03-04", "--format", "json", *rules)  # fmt: skip
    assert kept.code == 1, kept.err
    assert "PLAT-001" in {f["rule"] for f in kept.json()["findings"]}


def test_a_file_the_change_tracks_under_another_case_is_not_read(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    """The change commits ``Compliance/reviews.yaml``. A checkout on a file system that ignores
    case (macOS, Windows runners) writes it into ``compliance/``, where no commit tracks a
    ``reviews.yaml``: the gate took it for a file the CI job wrote, and passed."""
    repo, shas = shop
    review = {"change": "PR-1", "author": "dana@example.com", "commits": [shas[1]],
              "approvals": [{"by": "lee@example.com", "at": "2024-03-02T10:00:00Z"}]}  # fmt: skip
    _change(repo, {"Compliance/Reviews.YAML": yaml.safe_dump([review])})
    # What that checkout leaves on disk, on this case-sensitive file system.
    (repo.path / "Compliance" / "Reviews.YAML").rename(repo.path / "compliance" / "reviews.yaml")
    (repo.path / "Compliance").rmdir()
    report = _gate(repo)
    assert report["exit"] == 1
    assert _review_findings(report) == [("REVIEW-002", shas[1], False)]
    assert report["gate"]["evidence"]["not_read"] == ["reviews.yaml"]


def test_a_hidden_directory_the_change_deletes_is_searched_as_the_branch_has_it(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    """main holds ``compliance/.kw/may/observations.jsonl``, the only observation of web-1,
    on C1; a gate refuses it as a hidden directory holding evidence. A change that deletes it
    had its gate search the work tree's ``.kw`` (gone), pass the branch's over, and judge
    on: what main holds is what the gate reads, whatever the change removed."""
    repo, shas = shop
    seen = {"host": "web-1", "service": "web", "version": shas[1],
            "observed_at": "2024-03-02T13:00:00Z"}  # fmt: skip
    held = "compliance/.kw/may/observations.jsonl"
    repo.commit("keep", {held: json.dumps(seen) + "\n"}, author=DEV, date="2024-03-03T00:30:00Z")
    args = ("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
            "--as-of", "2024-03-04")  # fmt: skip
    assert run_cli(*args).code == 2
    _change(repo, {held: None})
    result = run_cli(*args)
    assert result.code == 2, result.out
    assert (
        "main:compliance/.kw: a directory in the evidence directory is not read (hidden, it "
        in (result.err)
    )
    assert "holds may/observations.jsonl" in result.err


def test_records_in_an_ignored_directory_are_looked_for_as_the_branch_has_them(
    shop: tuple[ScriptedRepo, list[str]],
) -> None:
    """main ignores ``compliance/archive``, which holds D2, a deployment of C1 (nobody
    reviewed it) that deploys.yaml does not: refused, read from main's trees, even where the
    change deletes it."""
    repo, shas = shop
    d2 = deployment("D2", shas[1], "2024-03-02T12:00:00Z")
    held = "compliance/archive/d2.yaml"
    repo.commit("keep", {held: _deploys(d2), "knightwatch.yaml": "evidence_ignore: [archive]\n"},
                author=DEV, date="2024-03-03T00:30:00Z")  # fmt: skip
    args = ("check", "--repo", repo.path, "--candidate", "main", "--service", "web",
            "--as-of", "2024-03-04")  # fmt: skip
    _change(repo, {held: None})
    result = run_cli(*args)
    assert result.code == 2, result.out
    assert "main:compliance/archive/d2.yaml: archive/d2.yaml matches evidence_ignore" in result.err
    assert "holds 1 deployment record(s) that deploys.yaml does not hold" in result.err
