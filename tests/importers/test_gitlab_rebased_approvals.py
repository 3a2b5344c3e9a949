"""A GitLab merge request rebased after its approval: GitLab keeps the approval when the rebase
left the diff's patch id as it was (``MergeRequests::ResetApprovalsService``), as a project that
merges fast-forward needs (the Rebase button), and the import now keeps it too, where the merge
request's diff versions show it and git computes the same patch id for the merged head.

The repository: main at a base; !5's commit on a branch from it, approved; main moved on; !5
rebased onto it by GitLab (a new commit, committed after the approval, with the push note
gitlab.com writes) and merged fast-forward, deployed. Its diff versions are GitLab's documented
answer (tests/importers/fixtures/forges/gitlab-versions, source in the README) with this
repository's shas, dates and patch ids.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import run_cli
from tests.importers.forge_server import Forge, gitlab_merge_request_routes, serve
from tests.importers.test_forges import FIXTURES, _copy
from tests.importers.test_gitlab_pushed_after_approval import BEFORE_THE_PUSH, PUSHED, _pushed
from tests.importers.test_retargeted_pulls import (
    JOHN,
    _check,
    _deployed,
    _import_gitlab,
    _unreviewed,
)
from tests.importers.workspaces import saved_items, saved_pages

APPROVED = "2016-06-08T21:20:30.000Z"
OPENED = "2016-06-08T00:19:52.638Z"
KEPT = "an approval older than a push counts only where the merge request's diff versions show"


def _patch_id(repo: ScriptedRepo, base: str, head: str, mode: str = "--verbatim") -> str:
    """What Gitaly computes: ``git diff --full-index BASE HEAD | git patch-id MODE``."""
    diff = subprocess.run(["git", "diff", "--full-index", base, head], cwd=repo.path,
                          capture_output=True, check=True).stdout  # fmt: skip
    out = subprocess.run(["git", "patch-id", mode], input=diff, cwd=repo.path,
                         capture_output=True, check=True).stdout  # fmt: skip
    return out.decode().split()[0]


def _rebased(tmp_path: Path, rebased: str = "1\n") -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """The repository, !5's objects and the shas: ``first`` (the approved head, on ``base``),
    ``moved`` (main after it moved on) and ``head`` (the rebased head, ``rebased`` its api.py:
    as approved, a clean rebase), with two diff versions whose patch ids git computes."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    repo.branch("feature")
    first = repo.commit("Add the approvals API", {"api.py": "1\n"}, author=JOHN,
                        date="2016-06-08T00:10:00Z")  # fmt: skip
    repo.checkout("main")
    moved = repo.commit("Reword the README", {"README": "y\n"}, author=JOHN,
                        date="2016-06-08T12:00:00Z")  # fmt: skip
    head = repo.commit("Add the approvals API", {"api.py": rebased}, author=JOHN,
                       date="2016-06-08T00:10:00Z", committer=(JOHN, PUSHED))  # fmt: skip
    people = {"john": ["jdoe@example.com", "jdoe"], "root": ["root@example.com", "root"]}
    _deployed(repo, moved, people, ("app", head, "2016-06-09"))
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", {"8" * 40: head})
    mrs = json.loads((export / "merge_requests.json").read_text())
    mrs[0]["merge_commit_sha"] = None  # merged fast-forward: the head is what landed
    (export / "merge_requests.json").write_text(json.dumps(mrs))
    approvals = json.loads((export / "5" / "approvals.json").read_text())
    approvals["approved_by"][0]["approved_at"] = APPROVED
    (export / "5" / "approvals.json").write_text(json.dumps(approvals))
    _pushed(export, PUSHED)
    shas = {"base": base, "first": first, "moved": moved, "head": head}
    _versions(export, [(first, base, OPENED, _patch_id(repo, base, first)),
                       (head, moved, PUSHED, _patch_id(repo, moved, head))])  # fmt: skip
    return repo, export, shas


def _versions(
    export: Path, versions: list[tuple[str, str, str, str | None]], cut: int | None = None
) -> None:
    """!5's diff versions, each (head, base, created_at, patch_id_sha), oldest first, numbered
    from 101, saved newest first as GitLab lists them, in the documented answer's shape; each
    push note of the same time links its version and the head before it, as GitLab's do.
    ``cut``: the number of a version left out of the file (its note kept)."""
    documented = json.loads((FIXTURES / "gitlab-versions" / "versions.json").read_text())
    items: list[dict[str, Any]] = []
    for number, (head, base, at, patch) in enumerate(versions, start=1):
        if 100 + number == cut:
            continue
        items.insert(0, documented[0] | {
            "id": 100 + number, "head_commit_sha": head, "base_commit_sha": base,
            "start_commit_sha": base, "created_at": at, "merge_request_id": 5,
            "patch_id_sha": patch,
        })  # fmt: skip
    (export / "5" / "versions.json").write_text(saved_pages(items))
    _link(export, versions)


def _link(export: Path, versions: list[tuple[str, str, str, str | None]]) -> None:
    """Points each push note of !5 made when a version was (``created_at``) at that version
    and the head before it: GitLab's ``diffs?diff_id=ID&start_sha=OLD``."""
    notes = saved_items(export / "5" / "notes.json")
    made = {at: number for number, (_, _, at, _) in enumerate(versions, start=1)}
    for note in notes:
        number = made.get(note["created_at"])
        if number is None or "[Compare with previous version](" not in note["body"]:
            continue
        previous = versions[number - 2][0] if number > 1 else "0" * 40
        link = f"/group/app/-/merge_requests/5/diffs?diff_id={100 + number}&start_sha={previous}"
        note["body"] = re.sub(r"\]\([^)]*\)", f"]({link})", note["body"])
    (export / "5" / "notes.json").write_text(saved_pages(notes))


def _counted(repo: ScriptedRepo, result: Any, head: str) -> None:
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    record = json.loads((repo.path / "compliance" / "reviews.jsonl").read_text().splitlines()[0])
    assert record["approvals"] == [{"by": "root@example.com", "at": APPROVED, "commit": head}]
    check = _check(repo)
    assert check.code == 0, check.out


def _left_out(repo: ScriptedRepo, result: Any, head: str, why: str) -> None:
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert BEFORE_THE_PUSH in result.err
    assert f"merge request !5: {KEPT}" in result.err
    assert why in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert head in _unreviewed(check)


def test_an_approval_kept_through_a_clean_rebase_counts(tmp_path: Path) -> None:
    """Approved, rebased by GitLab onto the moved main (the diff's patch id unchanged, so
    GitLab kept the approval), merged fast-forward: the approval was left out as older than
    the push, and check failed the rebased commit (exit 1). It now counts, as given on the
    merged head, whose diff it approved."""
    repo, export, shas = _rebased(tmp_path)
    _counted(repo, _import_gitlab(repo, export), shas["head"])


def test_a_fetched_merge_request_rebased_after_its_approval_is_judged_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch asks each merged merge request's diff versions, as the saved export holds."""
    repo, export, shas = _rebased(tmp_path)
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    routes = gitlab_merge_request_routes(export, 5, "/projects/group%2Fapp")
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-approvals", "--project", "group/app",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    _counted(repo, result, shas["head"])


def test_a_rebase_that_changed_the_diff_drops_the_approval(tmp_path: Path) -> None:
    """The rebase changed the code (a conflict resolved otherwise): GitLab's patch id changed,
    and the approval, which saw the first diff, does not count."""
    repo, export, shas = _rebased(tmp_path, rebased="2\n")
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert BEFORE_THE_PUSH in result.err
    assert KEPT not in result.err  # the versions were read, and show the diff changed
    assert shas["head"] in _unreviewed(_check(repo))


def test_versions_whose_last_patch_id_git_contradicts_count_nothing(tmp_path: Path) -> None:
    """The rebase changed the code, and the saved versions claim the first diff's patch id for
    the merged head: git computes another, so the approval is left out, said so."""
    repo, export, shas = _rebased(tmp_path, rebased="2\n")
    claimed = _patch_id(repo, shas["base"], shas["first"])
    _versions(export, [(shas["first"], shas["base"], OPENED, claimed),
                       (shas["head"], shas["moved"], PUSHED, claimed)])  # fmt: skip
    why = f"version 102's patch_id_sha {claimed}, not the patch id git computes for"
    _left_out(repo, _import_gitlab(repo, export), shas["head"], why)


def test_a_patch_id_that_ignores_white_space_counts_nothing(tmp_path: Path) -> None:
    """GitLab before 17.7 computed patch ids with --stable, white space ignored: a rebase that
    indented a line kept the approval there. Such patch ids do not show the merged code."""
    repo, export, shas = _rebased(tmp_path, rebased="  1\n")
    stable = _patch_id(repo, shas["base"], shas["first"], "--stable")
    assert stable == _patch_id(repo, shas["moved"], shas["head"], "--stable")
    _versions(export, [(shas["first"], shas["base"], OPENED, stable),
                       (shas["head"], shas["moved"], PUSHED, stable)])  # fmt: skip
    _left_out(repo, _import_gitlab(repo, export), shas["head"], "white space ignored")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("no patch ids", "version 102 has no patch_id_sha"),
        ("stale", "its last version before the merge is of head"),
    ],
)
def test_versions_that_cannot_show_the_diff_kept_count_nothing(
    tmp_path: Path, change: str, why: str
) -> None:
    """Without patch ids (GitLab before 16.7), or with versions saved before the last push:
    the rule before (an approval older than a push is left out), said so. Without the versions
    the import is refused (test_gitlab_versions_required.py)."""
    repo, export, shas = _rebased(tmp_path)
    if change == "no patch ids":
        _versions(export, [(shas["first"], shas["base"], OPENED, None),
                           (shas["head"], shas["moved"], PUSHED, None)])  # fmt: skip
    else:
        _versions(export, [(shas["first"], shas["base"], OPENED, "0" * 40)])
    _left_out(repo, _import_gitlab(repo, export), shas["head"], why)


def test_versions_of_another_merge_request_are_refused(tmp_path: Path) -> None:
    repo, export, _ = _rebased(tmp_path)
    path = export / "5" / "versions.json"
    text = path.read_text().replace('"merge_request_id": 5', '"merge_request_id": 6')
    path.write_text(text)
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert "5/versions.json: item #1 is a version of merge request id 6" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_push_that_changed_the_diff_then_one_that_restored_it_drops_the_approval(
    tmp_path: Path,
) -> None:
    """Approved, then a push that changed the diff (GitLab's reset job may not have run before
    the next push), then a rebase back to the approved diff: the approval did not stand
    through every push, and is left out."""
    repo, export, shas = _rebased(tmp_path)
    approved = _patch_id(repo, shas["base"], shas["first"])
    _versions(export, [(shas["first"], shas["base"], OPENED, approved),
                       (shas["first"], shas["base"], "2016-06-08T21:20:32.000Z", "1" * 40),
                       (shas["head"], shas["moved"], PUSHED, approved)])  # fmt: skip
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert BEFORE_THE_PUSH in result.err
    assert shas["head"] in _unreviewed(_check(repo))


def test_versions_saved_without_their_headers_are_refused(tmp_path: Path) -> None:
    """One body alone does not show the list whole: a version missing from it is a push
    whose diff nobody compared."""
    repo, export, _ = _rebased(tmp_path)
    path = export / "5" / "versions.json"
    path.write_text(json.dumps(saved_items(path)))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert "5/versions.json: " in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def _pushed_back(tmp_path: Path) -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """!5's first commit (which ran its input) on ``base``, then its fix, approved at
    ``APPROVED``; main fast-forwarded to the first commit, which was deployed."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    repo.branch("feature")
    first = repo.commit("Add the approvals API", {"api.py": "exec(input())\n"}, author=JOHN,
                        date="2016-06-08T00:10:00Z")  # fmt: skip
    fixed = repo.commit("Read the input safely", {"api.py": "1\n"}, author=JOHN,
                        date="2016-06-08T12:00:00Z")  # fmt: skip
    repo.checkout("main")
    repo.git("merge", "--quiet", "--ff-only", first)
    people = {"john": ["jdoe@example.com", "jdoe"], "root": ["root@example.com", "root"]}
    _deployed(repo, base, people, ("app", first, "2016-06-09"))
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", {"8" * 40: first})
    mrs = json.loads((export / "merge_requests.json").read_text())
    mrs[0]["merge_commit_sha"] = None
    (export / "merge_requests.json").write_text(json.dumps(mrs))
    approvals = json.loads((export / "5" / "approvals.json").read_text())
    approvals["approved_by"][0]["approved_at"] = APPROVED
    (export / "5" / "approvals.json").write_text(json.dumps(approvals))
    return repo, export, {"base": base, "first": first, "fixed": fixed}


@pytest.mark.parametrize("pushed_back", [True, False])
def test_a_force_push_back_to_an_earlier_commit_after_the_approval_drops_it(
    tmp_path: Path, pushed_back: bool
) -> None:
    """!5's first commit ran its input; a second push fixed that, and the approval was given
    on the fix. Then the branch was force-pushed back to the first commit, which was merged.
    That push lists no new commit, so GitLab wrote no "added N commits" note
    (``RefreshService`` notes only the commits a push adds), and the approval, younger than
    the last note, counted for the first commit: check passed (exit 0). GitLab recorded a
    diff version at that push, whose patch id is not the one approved. Without the push (the
    first commit merged as opened, one version), an undated approval still counts: the
    version GitLab records at the opening is no push."""
    repo, export, shas = _pushed_back(tmp_path)
    base, first, fixed = shas["base"], shas["first"], shas["fixed"]
    approvals = json.loads((export / "5" / "approvals.json").read_text())
    opened = (first, base, OPENED, _patch_id(repo, base, first))
    if not pushed_back:
        del approvals["approved_by"][0]["approved_at"]
        (export / "5" / "approvals.json").write_text(json.dumps(approvals))
        _versions(export, [opened])
        result = _import_gitlab(repo, export)
        assert "1 approvals counted" in result.err, result.err
        assert _check(repo).code == 0
        return
    _pushed(export, "2016-06-08T12:00:00.000Z", listed=fixed)  # the push back writes none
    _versions(export, [opened,
                       (fixed, base, "2016-06-08T12:00:00.000Z", _patch_id(repo, base, fixed)),
                       (first, base, PUSHED, _patch_id(repo, base, first))])  # fmt: skip
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert BEFORE_THE_PUSH in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert first in _unreviewed(check)


def test_versions_saved_before_the_last_push_show_one_after_them(tmp_path: Path) -> None:
    """The force-push back of the test above, its versions.json saved before that push (while
    the merge request was open): its last version, the fix's, is older than the approval, and
    the approval counted for the first commit merged: check passed (exit 0). A last version
    of another head than the one merged shows a push after it, at a time the file does not
    say, before the merge: an approval older than the merge is left out."""
    repo, export, shas = _pushed_back(tmp_path)
    base, first, fixed = shas["base"], shas["first"], shas["fixed"]
    _pushed(export, "2016-06-08T12:00:00.000Z", listed=fixed)  # the push back writes none
    fix = (fixed, base, "2016-06-08T12:00:00.000Z", _patch_id(repo, base, fixed))
    _versions(export, [(first, base, OPENED, _patch_id(repo, base, first)), fix])
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert BEFORE_THE_PUSH in result.err
    assert "its last version before the merge is of head" in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert first in _unreviewed(check)


REWORKED = "2016-06-08T21:20:20.000Z"


def _reworked(tmp_path: Path) -> tuple[ScriptedRepo, Path, dict[str, str], list[Any]]:
    """!5 opened, reworked (a push that changed the diff: GitLab's reset job may not have run
    before the next push), approved on the rework, then rebased back to the opened diff and
    merged; its three versions, each push with its note."""
    repo, export, shas = _rebased(tmp_path)
    reworked = repo.git("commit-tree", f"{shas['first']}^{{tree}}", "-p", shas["first"], "-m",
                        "Rework the approvals API", date=REWORKED, author=JOHN)  # fmt: skip
    _pushed(export, REWORKED, listed=reworked)
    approved = _patch_id(repo, shas["base"], shas["first"])
    versions = [(shas["first"], shas["base"], OPENED, approved),
                (reworked, shas["base"], REWORKED, "1" * 40),
                (shas["head"], shas["moved"], PUSHED, approved)]  # fmt: skip
    _versions(export, versions)
    return repo, export, shas, versions


def test_a_version_cut_from_the_middle_is_seen_by_the_push_notes(tmp_path: Path) -> None:
    """The approval saw the rework, whose version is cut from the saved file (101, 103): the
    approval looked given on the opened diff, which the merged head kept, and counted; check
    passed (exit 0). Version ids are numbered across the instance, so the gap says nothing,
    but GitLab's push notes name the version each push made and the head before it: the
    rework's note names a version the file lacks."""
    repo, export, shas, versions = _reworked(tmp_path)
    _versions(export, versions, cut=102)
    why = "push note 2 names diff version 102, which the file lacks"
    _left_out(repo, _import_gitlab(repo, export), shas["head"], why)


def test_a_version_cut_with_its_note_is_seen_by_the_next_note(tmp_path: Path) -> None:
    """The rework's note cut too: the rebase's note says its push came after the rework's
    head, and the version before it in the file is the opened one."""
    repo, export, shas, versions = _reworked(tmp_path)
    notes = [n for n in saved_items(export / "5" / "notes.json") if n["created_at"] != REWORKED]
    (export / "5" / "notes.json").write_text(saved_pages(notes))
    _versions(export, versions, cut=102)
    why = f"push note 2 says version 103 followed head {versions[1][0]}"
    _left_out(repo, _import_gitlab(repo, export), shas["head"], why)


def test_every_version_saved_drops_the_approval_given_on_the_rework(tmp_path: Path) -> None:
    repo, export, shas, _ = _reworked(tmp_path)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert KEPT not in result.err  # the versions were read, and show the diff changed
    assert shas["head"] in _unreviewed(_check(repo))


def test_a_push_note_without_its_link_leaves_the_versions_unread(tmp_path: Path) -> None:
    """Every push note GitLab writes links its version; one without names none the versions
    can be checked against."""
    repo, export, shas = _rebased(tmp_path)
    notes = saved_items(export / "5" / "notes.json")
    for note in notes:
        note["body"] = note["body"].split("\n\n[Compare")[0]
    (export / "5" / "notes.json").write_text(saved_pages(notes))
    why = "push note 2 names no diff version"
    _left_out(repo, _import_gitlab(repo, export), shas["head"], why)


def test_an_approval_after_an_older_gitlabs_unlinked_push_note_counts(tmp_path: Path) -> None:
    """GitLab 8 wrote its push notes with no link (``Added 1 commit:`` and a Markdown list):
    an approval given after the last push, on the merged head, was left out as older than a
    push at the merge, and check failed the reviewed change (exit 1). A note without a link
    shows no push the versions lack; it dates its push, as before the versions were read."""
    repo, export, shas = _rebased(tmp_path)
    approvals = json.loads((export / "5" / "approvals.json").read_text())
    approvals["approved_by"][0]["approved_at"] = "2016-06-08T21:20:40.000Z"
    (export / "5" / "approvals.json").write_text(json.dumps(approvals))
    notes = saved_items(export / "5" / "notes.json")
    for note in notes:
        if note["body"].startswith("added 1 commit"):
            note["body"] = f"Added 1 commit:\n\n* {shas['head'][:8]} - Add the approvals API"
    (export / "5" / "notes.json").write_text(saved_pages(notes))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert _check(repo).code == 0


@pytest.mark.parametrize("saved", ["none", "the opening's"])
def test_a_push_back_seen_by_the_commits_its_last_note_lists(tmp_path: Path, saved: str) -> None:
    """The force push back of the tests above, without versions.json, or with one saved before
    the fix's push: the approval, younger than the fix's note, counted for the first commit,
    which it never saw, and check passed (exit 0). The fix's note lists the fix, which the
    merge request does not merge: a later push dropped it, at a time nothing says."""
    repo, export, shas = _pushed_back(tmp_path)
    base, first, fixed = shas["base"], shas["first"], shas["fixed"]
    _pushed(export, "2016-06-08T12:00:00.000Z", listed=fixed)
    opened = (first, base, OPENED, _patch_id(repo, base, first))
    fix = (fixed, base, "2016-06-08T12:00:00.000Z", _patch_id(repo, base, fixed))
    if saved == "none":
        _link(export, [opened, fix])
    else:
        _versions(export, [opened, fix], cut=102)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert f"its last push note lists commit {fixed[:8]}, which it did not merge" in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert first in _unreviewed(check)


def test_a_push_note_listing_the_merged_head_leaves_a_later_approval_counted(
    tmp_path: Path,
) -> None:
    """The note lists the target branch's commits it brought in on one line of their own
    (``... - 2 commits from branch <code>main</code>``), which the merge request does not
    merge: only its own commits are compared."""
    repo, export, shas = _pushed_back(tmp_path)
    body = (
        "added 3 commits\n\n<ul><li>0123abcd...4567cdef - 2 commits from branch "
        f"<code>main</code></li><li>{shas['first'][:8]} - Add the approvals API</li></ul>"
        "\n\n[Compare with previous version](x)"
    )
    _pushed(export, "2016-06-08T12:00:00.000Z", body)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert _check(repo).code == 0


def test_notes_saved_before_the_last_push_are_seen_by_the_merged_head(tmp_path: Path) -> None:
    """notes.json saved while the merge request was open, before its last push: the fix
    pushed and approved, then another commit pushed on it, merged at once (GitLab's reset job
    had not run). The notes' last push note, the fix's, is older than the approval, and lists
    nothing the merge request lacks: the approval counted for the commit pushed after it, and
    check passed (exit 0). GitLab lists the new head in every push note, so a last push note
    that does not list the merged head shows a push after it, at a time nothing says."""
    repo, export, shas = _pushed_back(tmp_path)
    first, fixed = shas["first"], shas["fixed"]
    repo.checkout("feature")
    later = repo.commit("Read more input", {"api.py": "exec(input())\n"}, author=JOHN,
                        date="2016-06-08T21:20:33Z")  # fmt: skip
    repo.checkout("main")
    repo.git("merge", "--quiet", "--ff-only", later)
    mrs = json.loads((export / "merge_requests.json").read_text())
    mrs[0]["sha"] = later
    (export / "merge_requests.json").write_text(json.dumps(mrs))
    [commit, *_] = saved_items(export / "5" / "commits.json")
    newest_first = [commit | {"id": sha, "short_id": sha[:8]} for sha in (later, fixed, first)]
    (export / "5" / "commits.json").write_text(saved_pages(newest_first))
    deploys = repo.path / "compliance" / "deploys.yaml"
    deploys.write_text(deploys.read_text().replace(first, later))
    _pushed(export, "2016-06-08T12:00:00.000Z", listed=fixed)  # the later push's note unsaved
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert f"its last push note does not list the merged head {later}" in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert later in _unreviewed(check)


@pytest.mark.parametrize("listed", ["fixed", "first", "titled"])
def test_an_older_gitlabs_markdown_push_note_lists_its_commits(tmp_path: Path, listed: str) -> None:
    """Before GitLab listed a push's commits in HTML it wrote a Markdown list (``* SHORT -
    title``), which was not read: a push back after the approval (the fix listed, not merged)
    counted the approval, and check passed (exit 0). A note listing the merged head leaves the
    approval after it counted. Only the first line may sum up the target branch's commits: a
    commit titled like it (Markdown keeps a title's backquotes) is a commit all the same."""
    repo, export, shas = _pushed_back(tmp_path)
    first, fixed = shas["first"][:8], shas["fixed"][:8]
    lines = {
        "fixed": [f"* {fixed} - Read the input safely"],
        "first": [f"* {first} - Add the approvals API"],
        "titled": [
            f"* {first} - Add the approvals API",
            f"* {fixed} - 1 commit from branch `main`",
        ],
    }[listed]
    body = "\n".join(["added 3 commits\n", "* 0123abcd - 1 commit from branch `main`", *lines])
    _pushed(export, "2016-06-08T12:00:00.000Z", body + "\n\n[Compare with previous version](x)")
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    if listed == "first":
        assert "1 approvals counted" in result.err, result.err
        assert _check(repo).code == 0
        return
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert f"its last push note lists commit {fixed}" in result.err
    assert _check(repo).code == 1


def _rebased_away(tmp_path: Path, commits: bool) -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """``_rebased`` as a CI clone has it after the Rebase button: the approved head ``first``
    gone (its branch replaced by the rebased one, nothing left pointing at it). ``commits``:
    the opened version's single answer saved as ``5/versions/101.json``, GitLab's documented
    answer (tests/importers/fixtures/forges/gitlab-versions/version.json) with its commits."""
    repo, export, shas = _rebased(tmp_path)
    repo.git("branch", "-D", "feature")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "--quiet", "--prune=now")
    gone = subprocess.run(["git", "cat-file", "-e", f"{shas['first']}^{{commit}}"],
                          cwd=repo.path, capture_output=True)  # fmt: skip
    assert gone.returncode != 0
    if commits:
        documented = json.loads((FIXTURES / "gitlab-versions" / "version.json").read_text())
        listed = next(v for v in saved_items(export / "5" / "versions.json") if v["id"] == 101)
        first = shas["first"]
        one = documented["commits"][0] | {
            "id": first,
            "short_id": first[:8],
            "web_url": f"https://gitlab.dev/group/app/-/commit/{first}",
        }
        (export / "5" / "versions").mkdir()
        (export / "5" / "versions" / "101.json").write_text(
            json.dumps(documented | listed | {"commits": [one], "diffs": []})
        )  # fmt: skip
    return repo, export, shas


def test_an_approval_before_a_rebase_whose_old_head_the_clone_lacks_counts(
    tmp_path: Path,
) -> None:
    """Approved, rebased with the Rebase button onto main moved on by others, merged: the
    clone lacks the approved head, so git could not show that main brought in none of its
    commits, the approval was left out and check failed the reviewed change (exit 1). The
    opened version's commits, saved with its single answer, show it: main brought in only
    ``moved``."""
    repo, export, shas = _rebased_away(tmp_path, commits=True)
    _counted(repo, _import_gitlab(repo, export), shas["head"])


def test_a_fetched_rebase_is_judged_by_each_versions_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch asks each version singly, and keeps its commits' ids."""
    repo, export, shas = _rebased_away(tmp_path, commits=True)
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    routes = gitlab_merge_request_routes(export, 5, "/projects/group%2Fapp")
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-approvals", "--project", "group/app",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    _counted(repo, result, shas["head"])


def test_neither_the_old_head_nor_its_commits_leaves_the_approval_out(tmp_path: Path) -> None:
    """Without the approved head in the clone or its version's commits saved, what main
    brought in cannot be told: the approval is left out, and the import says how to have
    either."""
    repo, export, shas = _rebased_away(tmp_path, commits=False)
    _left_out(repo, _import_gitlab(repo, export), shas["head"],
              f"the repository lacks head {shas['first']}")  # fmt: skip
    said = _import_gitlab(repo, export).err
    assert "import with --api-url" in said and "versions/101.json" in said
    assert f"git fetch origin {shas['first']}" in said


def test_a_single_answer_of_another_version_is_refused(tmp_path: Path) -> None:
    repo, export, shas = _rebased_away(tmp_path, commits=True)
    path = export / "5" / "versions" / "101.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"head_commit_sha": shas["head"]}))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert "not the single answer of version 101" in result.err and "Traceback" not in result.err
