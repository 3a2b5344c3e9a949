"""A GitLab diff version that no push note names, cut from the saved versions.

GitLab records a version without a push note when the target branch is pushed to and the merge
request's diff reloaded (``MergeRequests::RefreshService#reload_merge_requests``: a force push
of the target, or one that brings in some of the merge request's commits): its head is the head
before, so the next push note's ``start_sha`` names that head as it would the version before,
and a file with it cut looks whole. An approval given on it keeps that version's patch id, and
``MergeRequests::ResetApprovalsService`` deletes it at the next push when that patch id is not
the new one (in a job run after the push: the merge may come first).

The repository: main at ``old`` (a commit on ``root``); !5's commit ``first`` on it, opened (its
first version); main force-pushed to ``rewritten``, another commit on ``root``, which reloaded
!5's diff (a version of ``first`` on ``root``, its patch id another); the approval; !5 rebased
onto ``rewritten`` (``head``, the approved diff's patch id again, with its push note) and
merged fast-forward. Versions in GitLab's documented shape (``_versions``), the reloaded one
cut from the file.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from checker.demo.builder import ScriptedRepo
from checker.evidence.git import GitHistory
from checker.importers.gitlab_versions import Version, hidden
from tests.importers.test_forges import FIXTURES, _copy
from tests.importers.test_gitlab_pushed_after_approval import BEFORE_THE_PUSH, PUSHED, _pushed
from tests.importers.test_gitlab_rebased_approvals import KEPT, OPENED, _patch_id, _versions
from tests.importers.test_retargeted_pulls import (
    JOHN,
    _check,
    _deployed,
    _import_gitlab,
    _unreviewed,
)

RELOADED = "2016-06-08T12:00:00.000Z"


def _force_pushed_target(tmp_path: Path, cut: bool) -> tuple[ScriptedRepo, str, str]:
    repo = ScriptedRepo(tmp_path / "app")
    root = repo.commit("root", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    old = repo.commit("Reword the README", {"README": "y\n"}, author=JOHN,
                      date="2016-06-02T00:00:00Z")  # fmt: skip
    repo.branch("old-main")
    repo.branch("feature")
    repo.checkout("feature")
    first = repo.commit("Add the approvals API", {"api.py": "1\n"}, author=JOHN,
                        date="2016-06-08T00:10:00Z")  # fmt: skip
    repo.branch("rewritten", root)
    repo.checkout("rewritten")
    rewritten = repo.commit("Reword the README again", {"README": "z\n"}, author=JOHN,
                            date="2016-06-08T11:00:00Z")  # fmt: skip
    head = repo.commit("Add the approvals API", {"api.py": "1\n"}, author=JOHN,
                       date="2016-06-08T00:10:00Z", committer=(JOHN, PUSHED))  # fmt: skip
    repo.checkout("main")
    repo.git("reset", "-q", "--hard", head)
    people = {"john": ["jdoe@example.com", "jdoe"], "root": ["root@example.com", "root"]}
    _deployed(repo, rewritten, people, ("app", head, "2016-06-09"))
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", {"8" * 40: head})
    mrs = json.loads((export / "merge_requests.json").read_text())
    mrs[0]["merge_commit_sha"] = None
    (export / "merge_requests.json").write_text(json.dumps(mrs))
    approvals = json.loads((export / "5" / "approvals.json").read_text())
    approvals["approved_by"][0]["approved_at"] = "2016-06-08T21:20:30.000Z"
    (export / "5" / "approvals.json").write_text(json.dumps(approvals))
    _pushed(export, PUSHED)
    approved = _patch_id(repo, old, first)
    assert approved == _patch_id(repo, rewritten, head)
    assert approved != _patch_id(repo, root, first)
    _versions(export, [(first, old, OPENED, approved),
                       (first, root, RELOADED, _patch_id(repo, root, first)),
                       (head, rewritten, PUSHED, approved)], cut=102 if cut else None)  # fmt: skip
    return repo, export, head


def test_an_approval_after_a_cut_reloaded_version_counts_nothing(tmp_path: Path) -> None:
    """The approval, given on the reloaded diff (``first`` against ``root``), looked given on
    the opened one, whose patch id the merged head has: it counted, and check passed (exit 0).
    The target's head moved between the versions in the file other than forward (a force
    push): a version may be missing there, and the approval is left out, said so."""
    repo, export, head = _force_pushed_target(tmp_path, cut=True)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert f"merge request !5: {KEPT}" in result.err
    assert "between versions 101 and 103 the target branch was force-pushed" in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert head in _unreviewed(check)


def test_the_reloaded_version_saved_drops_the_approval_by_its_patch_id(tmp_path: Path) -> None:
    repo, export, head = _force_pushed_target(tmp_path, cut=False)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert head in _unreviewed(_check(repo))


def _version(number: int, head: str, base: str) -> Version:
    return Version(number, number, head, base, None, base)


def test_a_target_that_brought_in_the_merge_requests_commits_may_hide_a_version(
    tmp_path: Path,
) -> None:
    """main fast-forwarded to !5's first commit between two versions: GitLab reloaded the diff
    then (its head unchanged, its base that commit), a version no push note names. A target
    that moved forward by other commits only (the clean rebase) hides none."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    repo.branch("feature")
    repo.checkout("feature")
    one = repo.commit("one", {"a.py": "1\n"}, author=JOHN, date="2016-06-02T00:00:00Z")
    two = repo.commit("two", {"b.py": "2\n"}, author=JOHN, date="2016-06-03T00:00:00Z")
    repo.checkout("main")
    other = repo.commit("other", {"README": "y\n"}, author=JOHN, date="2016-06-04T00:00:00Z")
    repo.branch("absorbed", one)  # main as it was fast-forwarded to one
    history = GitHistory(repo.path)
    brought = hidden([_version(1, two, base), _version(2, two, one)], history, "versions.json")
    assert "the target branch brought in commits of head" in brought[0]
    forward = hidden([_version(1, two, base), _version(2, two, other)], history, "versions.json")
    assert forward == {}
    lost = hidden([_version(1, "1" * 40, base), _version(2, two, other)], history, "v.json")
    assert "the repository lacks head 1111111111" in lost[0]
    gone = hidden([_version(1, two, "2" * 40), _version(2, two, other)], history, "v.json")
    assert "the repository lacks it (2222222222" in gone[0]


def test_a_version_head_the_clone_lacks_is_judged_by_its_saved_commits(tmp_path: Path) -> None:
    """The earlier version's head rebased away (not in the repository), its commits saved (its
    single answer): main fast-forwarded to one of them still hides a version; main moved on
    by other commits (the Rebase button's case) hides none."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    repo.branch("absorbed")
    one = repo.commit("one", {"a.py": "1\n"}, author=JOHN, date="2016-06-02T00:00:00Z")
    repo.checkout("main")
    other = repo.commit("other", {"README": "y\n"}, author=JOHN, date="2016-06-04T00:00:00Z")
    history = GitHistory(repo.path)
    gone = "3" * 40
    earlier = replace(_version(1, gone, base), commits=frozenset({gone, one}))
    brought = hidden([earlier, _version(2, gone, one)], history, "versions.json")
    assert "the target branch brought in commits of version 1" in brought[0]
    assert hidden([earlier, _version(2, gone, other)], history, "versions.json") == {}
    unsaved = hidden([_version(1, gone, base), _version(2, gone, other)], history, "v.json")
    assert f"the repository lacks head {gone}" in unsaved[0]
