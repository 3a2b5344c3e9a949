"""``knightwatch import gerrit`` on Gerrit's REST and ssh exports: real ones from
review.openstack.org (what a user who forgets an option gets, a page cut at its limit, a 2011
``gerrit query --all-approvals`` export) and ones in Gerrit's documented shapes holding each case
the judgement must get right. ``fixtures/gerrit/README.md`` beside it says where each comes from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.workspaces import dated_commits, named

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gerrit"
REST = FIXTURES / "rest-detailed.json"
SSH = FIXTURES / "ssh-detailed.jsonl"
GUARD = ")]}'\n"


def _workspace(tmp_path: Path, commits: int = 1) -> tuple[ScriptedRepo, Path, list[str]]:
    return dated_commits(tmp_path, commits)


def _import(repo: ScriptedRepo, path: Path, *extra: str) -> CliResult:
    """``import gerrit`` of ``path``, of the project ``smars`` unless ``extra`` names one."""
    return run_cli(
        "import", "gerrit", path, "--repo", repo.path, *named("--project", "smars", extra)
    )


def _records(evidence: Path) -> dict[str, dict[str, Any]]:
    lines = (evidence / "reviews.jsonl").read_text().splitlines()
    return {r["change"]: r for r in map(json.loads, lines)}


def _approvers(evidence: Path) -> dict[str, list[str]]:
    return {name: [a["by"] for a in r["approvals"]] for name, r in _records(evidence).items()}


def _refused(result: CliResult, evidence: Path, *phrases: str) -> None:
    assert result.code == 2, result.err
    for phrase in phrases:
        assert phrase in result.err, result.err
    assert "Traceback" not in result.err and not (evidence / "reviews.jsonl").exists()


def _rest(changes: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(GUARD + json.dumps(changes))
    return path


def _ssh_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SSH.read_text().splitlines()]


def _ssh(lines: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _deployed_once(repo: ScriptedRepo, evidence: Path, commit: str, baseline: str) -> None:
    """One approved deployment, D1, of ``commit`` to smars-01 on 2 March 2024, the history
    judged from ``baseline`` on."""
    deploys = [
        {"id": "D1", "service": "smars", "environment": "production", "commit": commit,
         "started_at": "2024-03-02T09:00:00Z", "deployer": "ops@knight.example",
         "approvals": [{"by": "lead@knight.example", "at": "2024-03-02T08:00:00Z"}],
         "targets": [{"host": "smars-01", "status": "succeeded"}]}
    ]  # fmt: skip
    (evidence / "deploys.yaml").write_text(yaml.safe_dump(deploys))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {baseline}\n")


# -- real exports -------------------------------------------------------------------------------


def test_rest_output_fetched_without_detailed_accounts_is_refused_naming_the_options(
    tmp_path: Path,
) -> None:
    """review.openstack.org's answer, three pages written back to back: every account is a bare
    number and no vote is shown; the old importer wrote 'account 1000001' and exit 0."""
    repo, evidence, _ = _workspace(tmp_path)
    pages = tmp_path / "changes.json"
    pages.write_text(
        "".join((FIXTURES / f"openstack-2018-page{n}.json").read_text() for n in (1, 2, 3))
    )
    _refused(_import(repo, pages), evidence, "o=DETAILED_ACCOUNTS", "o=DETAILED_LABELS")


def test_a_page_that_says_more_changes_follow_is_refused(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    page = FIXTURES / "openstack-2018-page1.json"
    _refused(_import(repo, page), evidence, "_more_changes: true", "S=500")


def test_a_real_2011_gerrit_query_export_is_imported(tmp_path: Path) -> None:
    """Gerrit 2.1 named the label CRVW and recorded the submit as a SUBM approval."""
    repo, evidence, _ = _workspace(tmp_path)
    result = _import(repo, FIXTURES / "openstack-ssh-2011.jsonl", "--project", "openstack/nova")
    assert result.code == 0, result.err
    assert "2 merged changes (1 not merged, skipped); 2 approvals counted" in result.err
    records = _records(evidence)
    assert records["openstack/nova~635"] == {
        "change": "openstack/nova~635",
        "author": "mordred@inaugust.com",
        "commits": ["c586e4ed23846420177802c164f594e021cceea8"],
        "approvals": [{"by": "bcwaldon@gmail.com", "at": "2011-09-23T21:43:12Z"}],
        "source": "gerrit",
    }
    assert _approvers(evidence)["openstack/nova~630"] == ["brian.lamar@gmail.com"]


# -- the judgement, on both exports ---------------------------------------------------------------


EXPECTED = {
    # number: (approvers, why the others are left out)
    1: (["lee@knight.example"], None),
    2: ([], "by the uploader of the final patch set"),
    3: (["kim@knight.example"], None),  # given on patch set 1; patch set 2 a trivial rebase
    4: ([], "on an earlier patch set whose code was changed after it"),
}


@pytest.mark.parametrize(("source", "base"), [(REST, 3000), (SSH, 4000)], ids=["rest", "ssh"])
def test_votes_are_judged_against_the_patch_set_they_were_given_on(
    tmp_path: Path, source: Path, base: int
) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    result = _import(repo, source)
    assert result.code == 0, result.err
    approvers = _approvers(evidence)
    for number, (who, _) in EXPECTED.items():
        assert approvers[f"smars~{base + number}"] == who
    for _, why in EXPECTED.values():
        assert why is None or f"1 {why}" in result.err
    assert "1 after the submit" in result.err
    # A change merged without any vote is recorded, unapproved; it does not stop the import.
    assert approvers[f"smars~{base + 5 if source == REST else base + 7}"] == []


def test_rest_approvals_use_the_labels_own_maximum(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    result = _import(repo, REST)
    assert result.code == 0, result.err
    assert "9 merged changes (1 not merged, skipped); 3 approvals counted" in result.err
    assert "1 by a bot" in result.err and "1 by the change's owner" in result.err
    approvers = _approvers(evidence)
    assert approvers["smars~3006"] == ["kim@knight.example"]  # Code-Review stops at +1 there
    assert _records(evidence)["smars~3001"]["approvals"] == [
        {"by": "lee@knight.example", "at": "2024-03-01T11:00:00.000000000Z"}
    ]
    again = _import(repo, REST)
    assert again.code == 0 and "0 added, 9 already there" in again.err
    contradicted = _import(repo, REST, "--approving-value", "1")
    assert contradicted.code == 2 and "goes up to +2 there, not +1" in contradicted.err


def test_a_vote_replaced_by_a_later_one_does_not_count(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    assert _import(repo, SSH).code == 0
    assert _approvers(evidence)["smars~4006"] == []  # +2 on patch set 1, then -1 on 2


def _removed_after_rebase(lines: list[dict[str, Any]], revision: str) -> dict[str, Any]:
    """Change 4003 as it is left when Kim, whose +2 on patch set 1 Gerrit copied onto Dana's
    trivial rebase, removes it from patch set 2, and Dana, the owner, gives her own +2 and
    submits: --all-approvals still lists Kim's +2 under patch set 1, as for a copied vote."""
    change = next(line for line in lines if line.get("number") == 4003)
    dana = change["owner"]
    last = change["patchSets"][-1]
    last["revision"] = revision
    last["approvals"] = [
        {"type": "Code-Review", "description": "Code-Review", "value": "2",
         "grantedOn": 1709290000, "by": dana},
        {"type": "SUBM", "description": "SUBM", "value": "1", "grantedOn": 1709294400,
         "by": dana},
    ]  # fmt: skip
    change["currentPatchSet"] = dict(last)
    return change


def test_a_vote_removed_after_a_trivial_rebase_does_not_count(tmp_path: Path) -> None:
    repo, evidence, shas = _workspace(tmp_path, 2)
    lines = _ssh_lines()
    change = _removed_after_rebase(lines, shas[1])
    result = _import(repo, _ssh([change, lines[-1]], tmp_path / "q.jsonl"))
    assert result.code == 0, result.err
    assert "1 on an earlier patch set, and removed or changed before the last" in result.err
    assert _approvers(evidence)["smars~4003"] == []
    _deployed_once(repo, evidence, shas[1], baseline=shas[0])
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2024-04-01")
    assert check.code == 1, check.err
    findings = check.json()["findings"]
    assert {f["subject"] for f in findings if f["rule"] == "REVIEW-002"} == {shas[1]}


def test_a_vote_on_an_earlier_patch_set_needs_the_current_patch_set_shown(
    tmp_path: Path,
) -> None:
    """Without --current-patch-set, a +2 listed under patch set 1 alone may have been copied
    onto patch set 2 or removed from it: it is left out, and the summary says what to add."""
    repo, evidence, _ = _workspace(tmp_path)
    lines = _ssh_lines()
    for line in lines:
        line.pop("currentPatchSet", None)
    result = _import(repo, _ssh(lines, tmp_path / "q.jsonl"))
    assert result.code == 0, result.err
    assert "does not show that it still stood on the last (query with --current-patch-set)" in (
        result.err
    )
    assert _approvers(evidence)["smars~4003"] == []
    assert _approvers(evidence)["smars~4001"] == ["lee@knight.example"]  # on the last one


@pytest.mark.parametrize("source", [REST, SSH], ids=["rest", "ssh"])
def test_a_change_of_another_project_is_refused(tmp_path: Path, source: Path) -> None:
    """A sandbox project holding the same commits: its +2s are not reviews in smars."""
    repo, evidence, _ = _workspace(tmp_path)
    _refused(
        _import(repo, source, "--project", "smars-production"),
        evidence,
        "change smars~",
        "of project 'smars', not of 'smars-production' (--project)",
    )
    trimmed = tmp_path / "trimmed.jsonl"
    lines = _ssh_lines()
    lines[0].pop("project")
    _refused(_import(repo, _ssh(lines, trimmed)), evidence, "change 4001 is of no project named")
    without = run_cli("import", "gerrit", source, "--repo", repo.path)
    assert without.code == 2 and "--project" in without.err, without.err


def test_gerrit_approvals_satisfy_review_002(tmp_path: Path) -> None:
    """The REST fixture's merged revisions made commits of a repository that was deployed."""
    repo, evidence, shas = _workspace(tmp_path, 10)
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    merged = [c for c in changes if c["status"] == "MERGED"]
    for change, sha in zip(merged, shas[1:], strict=True):
        current = change["current_revision"]
        change["revisions"][sha] = change["revisions"].pop(current)
        change["current_revision"] = sha
    _deployed_once(repo, evidence, shas[-1], baseline=shas[0])
    result = _import(repo, _rest(changes, tmp_path / "changes.json"))
    assert result.code == 0, result.err
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2024-04-01")
    assert check.code == 1, check.err
    unreviewed = {f["subject"] for f in check.json()["findings"] if f["rule"] == "REVIEW-002"}
    approved = {c["current_revision"] for c in merged if c["_number"] in (3001, 3003, 3006)}
    assert len(approved) == 3 and unreviewed == set(shas[1:]) - approved


# -- what is refused ------------------------------------------------------------------------------


def test_a_copied_vote_without_the_earlier_patch_sets_is_refused(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    rebased = next(c for c in changes if c["_number"] == 3003)
    rebased["revisions"] = {
        rebased["current_revision"]: rebased["revisions"][rebased["current_revision"]]
    }
    _refused(_import(repo, _rest(changes, tmp_path / "c.json")), evidence, "o=ALL_REVISIONS")


def test_an_account_without_email_or_username_is_refused(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    vote = changes[0]["labels"]["Code-Review"]["all"][0]
    del vote["email"], vote["username"]
    _refused(
        _import(repo, _rest(changes, tmp_path / "c.json")),
        evidence,
        "account 1000002",
        "o=DETAILED_ACCOUNTS",
    )


def _edited(edit: Any) -> list[dict[str, Any]]:
    lines = _ssh_lines()
    edit(lines)
    return lines


def _drop_submits(lines: list[dict[str, Any]]) -> None:
    for line in lines[:-1]:
        for patch_set in line["patchSets"]:
            patch_set["approvals"] = [
                a for a in patch_set.get("approvals", []) if a["type"] != "SUBM"
            ]


@pytest.mark.parametrize(
    ("edit", "phrases"),
    [
        (lambda ls: ls[-1].update(moreChanges=True), ("moreChanges: true", "--start")),
        (lambda ls: ls.pop(), ("no stats line at the end",)),
        (lambda ls: ls.append({"type": "error", "message": "Unsupported query"}),
         ("Unsupported query",)),
        (lambda ls: [p.pop("approvals", None) for line in ls[:-1] for p in line["patchSets"]],
         ("--all-approvals",)),
        (lambda ls: [line.pop("patchSets") for line in ls[:-1]], ("--patch-sets",)),
        (_drop_submits, ("no submit time", "--comments")),
        (lambda ls: ls[0]["patchSets"][0]["approvals"][1].update(value="3"),
         ("vote of +3", "--approving-value")),
    ],
    ids=["more", "cut", "error", "no-approvals", "no-patch-sets", "no-submit", "plus-three"],
)  # fmt: skip
def test_gerrit_query_output_that_cannot_be_judged_is_refused(
    tmp_path: Path, edit: Any, phrases: tuple[str, ...]
) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    _refused(_import(repo, _ssh(_edited(edit), tmp_path / "q.jsonl")), evidence, *phrases)


def test_a_change_merged_without_votes_needs_no_submit_time(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    lines = _ssh_lines()
    pushed = next(line for line in lines if line.get("number") == 4007)
    pushed["patchSets"][0].pop("approvals")
    result = _import(repo, _ssh(lines, tmp_path / "q.jsonl"))
    assert result.code == 0, result.err
    assert _approvers(evidence)["smars~4007"] == []


def test_a_label_going_to_plus_three_counts_with_the_approving_value_given(tmp_path: Path) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    lines = _ssh_lines()
    lines[0]["patchSets"][0]["approvals"][1].update(value="3")
    result = _import(repo, _ssh(lines, tmp_path / "q.jsonl"), "--approving-value", "3")
    assert result.code == 0, result.err
    assert _approvers(evidence)["smars~4001"] == ["lee@knight.example"]
    assert _import(repo, SSH, "--approving-value", "0").code == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"message": "Not Found"}', "no stats line at the end"),
        ('{"message": "Not Found"}\n{"type": "stats", "rowCount": 1}', "line #1 is not a change"),
        ("[1, 2]", "item #1 is not a change object"),
        ('[1]\n{"a": 1}', "neither JSON arrays nor one JSON object a line"),
        (GUARD + "[{", "not JSON"),
    ],
)
def test_gerrit_input_of_another_shape_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    path = tmp_path / "changes.json"
    path.write_text(content)
    _refused(_import(repo, path), evidence, message, str(path))


def _trace(evidence: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (evidence / "superseded.jsonl").read_text().splitlines()]


def test_a_reimport_after_review_bots_changed_brings_the_record_up_to_date(
    tmp_path: Path,
) -> None:
    """Nightly re-imports overlap: a bot listed since must not make them fail."""
    repo, evidence, _ = _workspace(tmp_path)
    assert _import(repo, REST).code == 0
    (repo.path / "knightwatch.yaml").write_text("review_bots: [lee@knight.example]\n")
    again = _import(repo, REST)
    assert again.code == 0, again.err
    assert "1 updated" in again.err and "smars~3001" in again.err
    assert _approvers(evidence)["smars~3001"] == []
    [trace] = _trace(evidence)
    assert trace["id"] == "smars~3001" and trace["changed"] == ["approvals"]
    assert trace["was"]["approvals"][0]["by"] == "lee@knight.example"


def test_a_reimport_after_identities_mapped_a_username_brings_the_record_up_to_date(
    tmp_path: Path,
) -> None:
    """A voter shown by username alone (as Gerrit shows accounts without a visible email; made
    here from the ssh export's change 4001): recorded as the login, then as the address."""
    repo, evidence, _ = _workspace(tmp_path)
    lines = _ssh_lines()
    vote = next(a for a in lines[0]["patchSets"][0]["approvals"] if a["type"] == "Code-Review")
    del vote["by"]["email"]
    path = _ssh(lines, tmp_path / "q.jsonl")
    assert _import(repo, path).code == 0
    assert _approvers(evidence)["smars~4001"] == [vote["by"]["username"]]
    people = {"lee": ["lee@knight.example", vote["by"]["username"]]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    again = _import(repo, path)
    assert again.code == 0 and "1 updated" in again.err, again.err
    assert _approvers(evidence)["smars~4001"] == ["lee@knight.example"]
    assert [t["id"] for t in _trace(evidence)] == ["smars~4001"]


LEE = {"_account_id": 1000002, "name": "Lee Example", "email": "lee@knight.example",
       "username": "lee"}  # fmt: skip
SUBMIT_MADE = {
    # variant: (patch set 2's kind, its upload relative to the submit, the submitter)
    "cherry-pick": ("TRIVIAL_REBASE_WITH_MESSAGE_UPDATE", 0, "lee"),
    "rebase-always": ("NO_CODE_CHANGE", 0, "lee"),
    "uploaded-before-the-submit": ("TRIVIAL_REBASE", -1800, "lee"),
    "code-changed": ("REWORK", 0, "lee"),
    "submitted-by-another": ("TRIVIAL_REBASE_WITH_MESSAGE_UPDATE", 0, "kim"),
}


def _submit_made_rest(kind: str, offset: int, submitter: str, path: Path) -> Path:
    """Change 3001 as Gerrit leaves it when Lee, who gave the +2, clicks Submit on a project
    that cherry-picks (or always rebases): a patch set 2 created by the submit, uploaded by
    the submitter at the submit time (Gerrit's CherryPick / RebaseAlways strategies insert it
    in the submit's own update)."""
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    change = next(c for c in changes if c["_number"] == 3001)
    change["submit_type"] = "CHERRY_PICK"
    people = {"lee": LEE, "kim": change["submitter"]}
    change["submitter"] = people[submitter]
    created = 1709294400 + offset  # 2024-03-01 12:00:00 is the submit
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d %H:%M:%S.000000000")
    # The new commit keeps its author, Dana; its committer is whoever uploaded it.
    commit = change["revisions"]["1" * 40]["commit"]
    committer = {"name": LEE["name"], "email": LEE["email"], "date": stamp, "tz": 0}
    change["revisions"]["2" * 40] = {
        "kind": kind, "_number": 2, "created": stamp, "uploader": LEE,
        "ref": "refs/changes/01/3001/2", "commit": {**commit, "committer": committer},
    }  # fmt: skip
    change["current_revision"] = "2" * 40
    return _rest(changes, path)


def _submit_made_ssh(kind: str, offset: int, submitter: str, path: Path) -> Path:
    """The same of change 4001 over ssh: the SUBM approval and patch set 2 by the submitter."""
    lines = _ssh_lines()
    first = lines[0]["patchSets"][0]
    submit = next(a for a in first["approvals"] if a["type"] == "SUBM")
    first["approvals"].remove(submit)
    lee = {k: LEE[k] for k in ("name", "email", "username")}
    if submitter == "lee":
        submit["by"] = lee
    lines[0]["patchSets"].append(
        {"number": 2, "revision": "2" * 40, "parents": ["0" * 40], "ref": "refs/changes/01/4001/2",
         "uploader": lee, "createdOn": submit["grantedOn"] + offset, "author": first["author"],
         "kind": kind, "approvals": [submit]}
    )  # fmt: skip
    # --current-patch-set shows the +2 Gerrit copied onto the patch set the submit made.
    lee_vote = next(a for a in first["approvals"] if a["by"].get("username") == "lee")
    lines[0]["currentPatchSet"] = {**lines[0]["patchSets"][-1], "approvals": [lee_vote, submit]}
    return _ssh(lines, path)


@pytest.mark.parametrize("variant", sorted(SUBMIT_MADE))
@pytest.mark.parametrize("export", ["rest", "ssh"])
def test_a_patch_set_the_submit_made_does_not_make_the_submitter_its_author(
    tmp_path: Path, export: str, variant: str
) -> None:
    repo, evidence, _ = _workspace(tmp_path)
    make = _submit_made_rest if export == "rest" else _submit_made_ssh
    result = _import(repo, make(*SUBMIT_MADE[variant], tmp_path / f"{export}.json"))
    assert result.code == 0, result.err
    name = "smars~3001" if export == "rest" else "smars~4001"
    counted = variant in ("cherry-pick", "rebase-always")
    assert _approvers(evidence)[name] == (["lee@knight.example"] if counted else [])
    if not counted:
        assert "by the uploader of the final patch set" in result.err or (
            "whose code was changed after it" in result.err
        )


# -- every patch set's uploader -----------------------------------------------------------------


def _reworked_ssh(path: Path) -> Path:
    """Change 4001 over ssh as rest-coupload.json has change 3001: Dana's patch set 1, Lee's
    reworked patch set 2, Dana's trivial rebase as patch set 3, and Lee's +2 moved onto it
    (given after it was uploaded, before the submit)."""
    lines = _ssh_lines()
    first = lines[0]["patchSets"][0]
    votes = first["approvals"]
    lee_vote = next(a for a in votes if a["by"].get("username") == "lee")
    submit = next(a for a in votes if a["type"] == "SUBM")
    first["approvals"] = [a for a in votes if a not in (lee_vote, submit)]
    lee = {k: LEE[k] for k in ("name", "email", "username")}
    lee_vote["grantedOn"] = first["createdOn"] + 3 * 3600
    for number, uploader, kind in ((2, lee, "REWORK"), (3, first["uploader"], "TRIVIAL_REBASE")):
        lines[0]["patchSets"].append(
            {**first, "number": number, "revision": str(number) * 40, "uploader": uploader,
             "createdOn": first["createdOn"] + number * 3600, "kind": kind,
             "ref": f"refs/changes/01/4001/{number}",
             "approvals": [lee_vote, submit] if number == 3 else []}
        )  # fmt: skip
    return _ssh(lines, path)


@pytest.mark.parametrize("export", ["rest", "ssh"])
def test_a_vote_by_the_uploader_of_an_earlier_reworked_patch_set_does_not_count(
    tmp_path: Path, export: str
) -> None:
    """Lee rewrote the code in patch set 2; Dana's trivial rebase made patch set 3, on which
    Lee's +2 was given: Lee approved code he wrote."""
    repo, evidence, _ = _workspace(tmp_path)
    source = FIXTURES / "rest-coupload.json" if export == "rest" else _reworked_ssh(tmp_path / "s")
    result = _import(repo, source)
    assert result.code == 0, result.err
    name = "smars~3001" if export == "rest" else "smars~4001"
    assert _approvers(evidence)[name] == []
    assert "1 by the uploader of a patch set that changed the code" in result.err


def _coupload(change: Any) -> list[dict[str, Any]]:
    """rest-coupload.json, its change 3001 handed to ``change`` to alter."""
    changes = json.loads((FIXTURES / "rest-coupload.json").read_text().split("\n", 1)[1])
    change(changes[0])
    return changes


PS2 = "2222222222222222222222222222222222222222"


@pytest.mark.parametrize("kept", [{3}, {2, 3}])
def test_rest_output_without_the_earlier_patch_sets_is_refused(
    tmp_path: Path, kept: set[int]
) -> None:
    """Queried with o=CURRENT_REVISION, change 3001 lists patch set 3 alone: Lee's rework of
    patch set 2 is not in it, and Lee's +2 would count."""
    repo, evidence, _ = _workspace(tmp_path)
    changes = _coupload(
        lambda c: c.__setitem__(
            "revisions", {k: v for k, v in c["revisions"].items() if v["_number"] in kept}
        )
    )
    result = _import(repo, _rest(changes, tmp_path / "c.json"))
    _refused(result, evidence, "o=ALL_REVISIONS")


@pytest.mark.parametrize("uploader", [None, {"_account_id": 1000002}])
def test_a_code_changing_patch_set_whose_uploader_is_not_shown_is_refused(
    tmp_path: Path, uploader: dict[str, Any] | None
) -> None:
    """Patch set 2 (a rework, Lee's) without its uploader, or with an account id alone."""
    repo, evidence, _ = _workspace(tmp_path)

    def alter(change: dict[str, Any]) -> None:
        revision = change["revisions"][PS2]
        revision.pop("uploader")
        if uploader is not None:
            revision["uploader"] = uploader

    result = _import(repo, _rest(_coupload(alter), tmp_path / "c.json"))
    _refused(result, evidence, "patch set 2 changed the code", "o=DETAILED_ACCOUNTS")


@pytest.mark.parametrize("merge", [False, True])
def test_a_patch_set_marked_a_merge_must_be_one_in_the_repository(
    tmp_path: Path, merge: bool
) -> None:
    """Change 3003's final patch set, which Kim's +2 on patch set 1 is carried over, is marked
    MERGE_FIRST_PARENT_UPDATE (a merge whose first parent moved: the change's code as it
    was), but the repository holds its commit with one parent. The vote counted, the commit
    passed REVIEW-002, and nothing asked git. A real merge so marked imports as before."""
    repo, evidence, shas = _workspace(tmp_path, 3)
    final = shas[-1]
    if merge:
        repo.branch("side", shas[0])
        repo.commit("side", {"side.py": "1\n"}, author="Dana <dana@knight.example>",
                    date="2024-02-05T10:00:00Z")  # fmt: skip
        repo.checkout("main")
        final = repo.merge("side", "merge side", author="Dana <dana@knight.example>",
                           date="2024-02-06T10:00:00Z")  # fmt: skip
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    change = next(c for c in changes if c["_number"] == 3003)
    revision = change["revisions"].pop(change["current_revision"])
    change["revisions"][final] = {**revision, "kind": "MERGE_FIRST_PARENT_UPDATE"}
    change["current_revision"] = final
    result = _import(repo, _rest([change], tmp_path / "changes.json"))
    if merge:
        assert result.code == 0, result.err
        assert _approvers(evidence) == {"smars~3003": ["kim@knight.example"]}
        return
    _refused(
        result,
        evidence,
        "changes.json: change smars~3003: patch set 2 is marked MERGE_FIRST_PARENT_UPDATE",
        f"its commit {final} has 1 parent in the repository",
    )


@pytest.mark.parametrize("kind", ["TRIVIAL_REBASE", "NO_CODE_CHANGE"])
@pytest.mark.parametrize("changed", [False, True])
def test_a_patch_set_marked_a_rebase_must_change_what_the_one_before_did(
    tmp_path: Path, kind: str, changed: bool
) -> None:
    """Change 3003's patch set 1 adds router.py to the first commit, and Kim's +2 on it is
    carried over patch set 2, marked ``kind``, which adds it to the second, with one more
    line. The export's word was taken: the vote counted for a line nobody reviewed, and the
    commit passed REVIEW-002. The same lines rebased import as before."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    dana = "Dana <dana@knight.example>"
    repo.branch("ps1", shas[0])
    first = repo.commit("fast path", {"router.py": "fast = True\n"}, author=dana,
                        date="2024-02-28T09:00:00Z")  # fmt: skip
    repo.checkout("main")
    code = "fast = True\n" + ("send_all()\n" if changed else "")
    final = repo.commit("fast path", {"router.py": code}, author=dana,
                        date="2024-03-01T10:00:00Z")  # fmt: skip
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    change = next(c for c in changes if c["_number"] == 3003)
    ps1, ps2 = (change["revisions"].pop(r) for r in sorted(change["revisions"]))
    change["revisions"] = {first: ps1, final: {**ps2, "kind": kind}}
    change["current_revision"] = final
    result = _import(repo, _rest([change], tmp_path / "changes.json"))
    if not changed:
        assert result.code == 0, result.err
        assert _approvers(evidence) == {"smars~3003": ["kim@knight.example"]}
        return
    _refused(
        result,
        evidence,
        f"changes.json: change smars~3003: patch set 2 is marked {kind}",
        f"its commit {final} adds or removes other lines than {first}",
    )


# -- who wrote each patch set's commit ------------------------------------------------------------

KIM_AUTHOR = {"name": "Kim Example", "email": "kim@knight.example"}


def _kim_wrote_rest(final: str, path: Path, address: str = "kim@knight.example") -> Path:
    """Change 3003 with patch set 1's commit written by Kim (Dana uploaded it), and patch set
    2, ``final``, Dana's amend of it under her own name, the code as it was
    (``NO_CODE_CHANGE``): Gerrit carried Kim's +2 on patch set 1 over it."""
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    change = next(c for c in changes if c["_number"] == 3003)
    ps1, ps2 = (change["revisions"].pop(r) for r in sorted(change["revisions"]))
    ps1["commit"]["author"] = {**ps1["commit"]["author"], **KIM_AUTHOR, "email": address}
    change["revisions"] = {"3" * 40: ps1, final: {**ps2, "kind": "NO_CODE_CHANGE"}}
    change["current_revision"] = final
    return _rest([change], path)


def _kim_wrote_ssh(final: str, path: Path, address: str = "kim@knight.example") -> Path:
    """The same of change 4003 over ssh, whose patch sets show their commits' authors."""
    lines = _ssh_lines()
    change = next(line for line in lines if line.get("number") == 4003)
    ps1, ps2 = change["patchSets"]
    ps1["author"] = {**KIM_AUTHOR, "email": address, "username": ""}
    ps2.update(revision=final, kind="NO_CODE_CHANGE")
    change["currentPatchSet"].update(revision=final, kind="NO_CODE_CHANGE")
    return _ssh([change, lines[-1]], path)


@pytest.mark.parametrize("export", ["rest", "ssh"])
def test_a_vote_by_the_author_of_a_patch_sets_commit_does_not_count(
    tmp_path: Path, export: str
) -> None:
    """Kim wrote patch set 1 and Dana uploaded it; Kim's +2 on it was carried over Dana's
    amend, whose commit, the one merged, names Dana alone. The +2 counted as a second
    person's, and check passed: git could not tell that Kim wrote the code."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    make = _kim_wrote_rest if export == "rest" else _kim_wrote_ssh
    result = _import(repo, make(shas[1], tmp_path / "changes.json"))
    assert result.code == 0, result.err
    assert "1 by the author, committer or a co-author of a patch set's commit" in result.err
    assert list(_approvers(evidence).values()) == [[]]
    _deployed_once(repo, evidence, shas[1], baseline=shas[0])
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2024-04-01")
    assert check.code == 1, check.err
    findings = check.json()["findings"]
    assert {f["subject"] for f in findings if f["rule"] == "REVIEW-002"} == {shas[1]}


@pytest.mark.parametrize("export", ["rest", "ssh"])
def test_a_patch_set_commit_whose_author_names_nobody_stops_every_vote(
    tmp_path: Path, export: str
) -> None:
    """Patch set 1's commit written from an address without its domain: it may be Kim's."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    make = _kim_wrote_rest if export == "rest" else _kim_wrote_ssh
    result = _import(repo, make(shas[1], tmp_path / "changes.json", "kim@"))
    assert result.code == 0, result.err
    unnamed = "a patch set's commit has a writer (author, committer, co-author) naming nobody"
    assert unnamed in result.err
    assert list(_approvers(evidence).values()) == [[]]


def test_patch_sets_that_do_not_show_their_commits_are_refused(tmp_path: Path) -> None:
    """REST fetched without o=ALL_COMMITS; gerrit query output without each patch set's
    author: who wrote an earlier patch set cannot be read."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    rest = _kim_wrote_rest(shas[1], tmp_path / "changes.json")
    changes = json.loads(rest.read_text().split("\n", 1)[1])
    for revision in changes[0]["revisions"].values():
        revision.pop("commit")
    _refused(
        _import(repo, _rest(changes, rest)),
        evidence,
        "fetched without o=ALL_COMMITS (change 3003 the first)",
    )
    lines = [
        json.loads(line)
        for line in _kim_wrote_ssh(shas[1], tmp_path / "q").read_text().splitlines()
    ]
    lines[0]["patchSets"][0].pop("author")
    _refused(
        _import(repo, _ssh(lines, tmp_path / "q.jsonl")),
        evidence,
        "change 4003: patch set 1 does not show its commit's author",
    )


@pytest.mark.parametrize("export", ["rest", "ssh"])
def test_a_vote_by_the_author_of_the_one_patch_set_is_left_out_of_the_record(
    tmp_path: Path, export: str
) -> None:
    """Lee wrote change 3001 (4001 over ssh), Dana uploaded it, and Lee gave the +2: the record
    counted it, and only the check, reading Lee as the merged commit's author, left it out."""
    repo, evidence, _ = _workspace(tmp_path)
    lee = {"name": "Lee Example", "email": "lee@knight.example"}
    if export == "rest":
        changes = json.loads(REST.read_text().split("\n", 1)[1])
        for revision in changes[0]["revisions"].values():
            revision["commit"]["author"] |= lee
        source = _rest(changes[:1], tmp_path / "changes.json")
    else:
        lines = _ssh_lines()
        lines[0]["patchSets"][0]["author"] = {**lee, "username": "lee"}
        source = _ssh([lines[0], lines[-1]], tmp_path / "q.jsonl")
    result = _import(repo, source)
    assert result.code == 0, result.err
    assert "1 by the author, committer or a co-author of a patch set's commit" in result.err
    assert list(_approvers(evidence).values()) == [[]]


def test_a_vote_by_a_co_author_of_a_patch_sets_commit_does_not_count(tmp_path: Path) -> None:
    """Dana and Kim wrote patch set 1 together, its message naming Kim on a Co-authored-by
    line; Dana dropped the line in patch set 2 (a new message: NO_CODE_CHANGE, over which
    Gerrit carries Kim's +2). The merged commit names Dana alone, and the +2 counted: check
    passed (exit 0), git holding nothing of Kim's part."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    rest = _kim_wrote_rest(shas[1], tmp_path / "changes.json")
    changes = json.loads(rest.read_text().split("\n", 1)[1])
    first = changes[0]["revisions"]["3" * 40]["commit"]
    first["author"] = changes[0]["revisions"][shas[1]]["commit"]["author"]
    first["message"] = (
        "Approved, then rebased\n\nCo-authored-by: Kim Example <kim@knight.example>\n"
        "Change-Id: I0000000000000000000000000000000000000bbb\n"
    )
    result = _import(repo, _rest(changes, rest))
    assert result.code == 0, result.err
    assert "1 by the author, committer or a co-author of a patch set's commit" in result.err
    assert list(_approvers(evidence).values()) == [[]]
    _deployed_once(repo, evidence, shas[1], baseline=shas[0])
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2024-04-01")
    assert check.code == 1, check.err


@pytest.mark.parametrize("dropped", ["message", "committer"])
def test_a_patch_set_commit_saved_without_its_message_or_committer_is_refused(
    tmp_path: Path, dropped: str
) -> None:
    """Kim co-wrote patch set 1 (Co-authored-by: Kim), or committed it; Dana uploaded it and
    amended it under her name in patch set 2, over which Kim's +2 was carried. An export whose
    commits were trimmed of their message or committer (jq, to keep the file small) hid Kim's
    part, and her +2 counted: check passed (exit 0). o=ALL_COMMITS gives every commit all
    three, so a commit without one is refused, naming the change and the patch set."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    rest = _kim_wrote_rest(shas[1], tmp_path / "changes.json")
    changes = json.loads(rest.read_text().split("\n", 1)[1])
    first = changes[0]["revisions"]["3" * 40]["commit"]
    first["author"] = changes[0]["revisions"][shas[1]]["commit"]["author"]
    if dropped == "message":
        first["message"] = "Approved\n\nCo-authored-by: Kim Example <kim@knight.example>\n"
    else:
        first["committer"] = {**first["committer"], "email": "kim@knight.example"}
    counted = _import(repo, _rest(changes, tmp_path / "whole.json"))
    assert "1 by the author, committer or a co-author of a patch set's commit" in counted.err
    for written in evidence.glob("*.jsonl"):
        written.unlink()
    first.pop(dropped)
    _refused(
        _import(repo, _rest(changes, tmp_path / "trimmed.json")),
        evidence,
        f"change 3003: patch set 1's commit has no {dropped}",
        "o=ALL_COMMITS",
    )


KIM = {"_account_id": 1000003, "name": "Kim Example", "email": "kim@knight.example",
       "username": "kim"}  # fmt: skip


def _kim_rebased(repo: ScriptedRepo, shas: list[str]) -> tuple[str, str]:
    """Patch sets 1 and 2 of ``_kim_rebased_rest`` as commits: ``shas[1]``'s line written by
    Dana on another parent, and written again on ``shas[0]`` with Kim as its committer (Gerrit's
    Rebase button), the same line as the final patch set's."""
    dana, kim = "Dana <dana@knight.example>", "Kim Example <kim@knight.example>"
    repo.branch("ps1", shas[0])
    repo.commit("other", {"other.py": "1\n"}, author=dana, date="2024-02-27T09:00:00Z")
    first = repo.commit("change 1", {"module1.py": "VALUE = 1\n"}, author=dana,
                        date="2024-02-28T09:00:00Z")  # fmt: skip
    repo.branch("ps2", shas[0])
    rebased = repo.commit("change 1", {"module1.py": "VALUE = 1\n"}, author=dana,
                          date="2024-02-28T09:00:00Z",
                          committer=(kim, "2024-02-29T12:00:00Z"))  # fmt: skip
    repo.checkout("main")
    return first, rebased


def _kim_rebased_rest(
    final: str, kind: str, path: Path, revisions: tuple[str, str] = ("3" * 40, "3" * 39 + "b")
) -> Path:
    """Change 3003 with Kim's Rebase button between Dana's patch sets: patch set 1 Dana's;
    patch set 2 Kim's rebase of it (``kind``; Gerrit commits a rebase as whoever clicks the
    button, and keeps the author), Kim's +2 on it; patch set 3, ``final``, Dana's new commit
    message (``NO_CODE_CHANGE``), over which the +2 is carried. ``revisions``: patch sets 1
    and 2's commits."""
    changes = json.loads(REST.read_text().split("\n", 1)[1])
    change = next(c for c in changes if c["_number"] == 3003)
    ps1, ps3 = (change["revisions"].pop(r) for r in sorted(change["revisions"]))
    ps2 = json.loads(json.dumps(ps3))
    kim = {k: v for k, v in KIM.items() if k in ("name", "email")}
    ps2 |= {"kind": kind, "_number": 2, "created": "2024-02-29 12:00:00.000000000",
            "uploader": KIM, "ref": "refs/changes/03/3003/2"}  # fmt: skip
    ps2["commit"]["committer"] = {**ps2["commit"]["committer"], **kim}
    ps3 |= {"kind": "NO_CODE_CHANGE", "_number": 3, "ref": "refs/changes/03/3003/3"}
    change["revisions"] = {revisions[0]: ps1, revisions[1]: ps2, final: ps3}
    change["current_revision"] = final
    return _rest([change], path)


@pytest.mark.parametrize(
    ("kind", "held", "counted"),
    [("TRIVIAL_REBASE", True, True), ("REWORK", True, False), ("TRIVIAL_REBASE", False, False)],
)
def test_a_reviewer_who_rebased_an_earlier_patch_set_may_approve(
    tmp_path: Path, kind: str, held: bool, counted: bool
) -> None:
    """Kim clicked Rebase on Dana's patch set, which made Kim the committer of patch set 2;
    Dana then uploaded patch set 3, the code as it was, and Kim's +2 was carried over it. The
    +2 was left out as by a committer of a patch set's commit, and the change failed review
    though Kim wrote none of it. Kim's rebase was a trivial one, Kim its uploader, and the
    repository holds both commits and shows the same line: the +2 counts. A rebase that
    changed the code (a conflict resolved) leaves it out as before; so does one whose commits
    the repository does not hold (Gerrit's ``refs/changes``, seldom fetched), since the export
    alone could call Kim's own rework a trivial rebase."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    revisions = _kim_rebased(repo, shas) if held else ("3" * 40, "3" * 39 + "b")
    result = _import(repo, _kim_rebased_rest(shas[1], kind, tmp_path / "changes.json", revisions))
    assert result.code == 0, result.err
    assert list(_approvers(evidence).values()) == [["kim@knight.example"] if counted else []]
    if not counted:
        assert (
            "1 by the uploader of a patch set that changed the code"
            if kind == "REWORK"
            else "1 by the author, committer or a co-author of a patch set's commit"
        ) in result.err
        return
    _deployed_once(repo, evidence, shas[1], baseline=shas[0])
    check = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2024-04-01")
    assert check.code == 0, check.out


def test_a_reviewer_who_rebased_and_wrote_the_commit_may_not_approve(tmp_path: Path) -> None:
    """The trivial rebase's commit names Kim as its author too: Kim wrote it as git holds it."""
    repo, evidence, shas = _workspace(tmp_path, 2)
    path = _kim_rebased_rest(shas[1], "TRIVIAL_REBASE", tmp_path / "changes.json")
    changes = json.loads(path.read_text().split("\n", 1)[1])
    commit = changes[0]["revisions"]["3" * 39 + "b"]["commit"]
    commit["author"] = {**commit["author"], "name": "Kim Example", "email": "kim@knight.example"}
    result = _import(repo, _rest(changes, path))
    assert result.code == 0, result.err
    assert "1 by the author, committer or a co-author of a patch set's commit" in result.err
    assert list(_approvers(evidence).values()) == [[]]
