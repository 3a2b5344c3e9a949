"""A GitLab merge request's diff versions are needed, as its state events are: GitLab records a
version at every push, also one whose note the saved notes lack, and without them nothing
showed a push after notes saved while the merge request was open.

On !5 of tests/importers/test_gitlab_rebased_approvals.py (its first commit, a fix, approved
on the fix), then one more commit pushed after the approval and merged at once (GitLab's reset
job had not run), its notes saved before that push, with no push note at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checker.demo.builder import ScriptedRepo
from tests.importers.test_gitlab_pushed_after_approval import BEFORE_THE_PUSH
from tests.importers.test_gitlab_rebased_approvals import (
    OPENED,
    _patch_id,
    _pushed_back,
    _versions,
)
from tests.importers.test_retargeted_pulls import JOHN, _check, _import_gitlab, _unreviewed
from tests.importers.workspaces import saved_items, saved_pages

LATER = "2016-06-08T21:20:33Z"


def _pushed_after_the_notes(tmp_path: Path) -> tuple[ScriptedRepo, Path, dict[str, str]]:
    """!5 opened with ``first``, ``fixed`` pushed, approved at ``APPROVED``, ``later`` pushed
    at ``LATER`` and merged fast-forward; its notes hold no push note."""
    repo, export, shas = _pushed_back(tmp_path)
    first, fixed = shas["first"], shas["fixed"]
    repo.checkout("feature")
    later = repo.commit("Read more input", {"api.py": "exec(input())\n"}, author=JOHN,
                        date=LATER)  # fmt: skip
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
    return repo, export, shas | {"later": later}


def test_a_merge_request_without_its_versions_is_refused(tmp_path: Path) -> None:
    """Without versions.json the approval, younger than every note, counted for the commit
    pushed after it, and check passed (exit 0). The versions are now needed, as the state
    events are: the import is refused, naming the merge request and the command."""
    repo, export, _ = _pushed_after_the_notes(tmp_path)
    (export / "5" / "versions.json").unlink(missing_ok=True)
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert "5/versions.json: missing for merged merge request !5" in result.err
    assert ".../merge_requests/5/versions?per_page=100" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def _saved_versions(repo: ScriptedRepo, shas: dict[str, str]) -> list[Any]:
    base = shas["base"]
    return [
        (shas["first"], base, OPENED, _patch_id(repo, base, shas["first"])),
        (shas["fixed"], base, "2016-06-08T12:00:00.000Z", _patch_id(repo, base, shas["fixed"])),
        (shas["later"], base, "2016-06-08T21:20:35.000Z", _patch_id(repo, base, shas["later"])),
    ]


def test_the_versions_show_the_push_the_notes_lack(tmp_path: Path) -> None:
    repo, export, shas = _pushed_after_the_notes(tmp_path)
    _versions(export, _saved_versions(repo, shas))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert shas["later"] in _unreviewed(check)


def test_versions_saved_as_an_empty_list_show_no_diff(tmp_path: Path) -> None:
    """GitLab records a version when a merge request is opened, so a merged one has one at
    least: ``[]`` saved (a failed request written as the empty page, with headers) says
    nothing of its pushes, and no approval given before the merge counts."""
    repo, export, shas = _pushed_after_the_notes(tmp_path)
    (export / "5" / "versions.json").write_text(saved_pages([]))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and BEFORE_THE_PUSH in result.err
    assert shas["later"] in _unreviewed(_check(repo))


def test_an_approval_after_the_last_version_counts(tmp_path: Path) -> None:
    repo, export, shas = _pushed_after_the_notes(tmp_path)
    approvals = json.loads((export / "5" / "approvals.json").read_text())
    approvals["approved_by"][0]["approved_at"] = "2016-06-08T21:20:40.000Z"
    (export / "5" / "approvals.json").write_text(json.dumps(approvals))
    _versions(export, _saved_versions(repo, shas))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert _check(repo).code == 0
