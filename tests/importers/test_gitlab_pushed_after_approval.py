"""A GitLab merge request pushed to after its approval: the approval did not see what was pushed,
and GitLab's "reset approvals on push" does not show that it was withdrawn before the merge.

GitLab resets the approvals in a job that runs after the push: on gitlab.com the approval given
at 08:05:01 was still listed 4 s after the push (08:05:06) and reset at 08:05:19, so a merge in
between kept it. Since GitLab 16.7 the reset is also skipped when the diff's ``git patch-id`` is
unchanged, and a patch-id ignores whitespace (a Python line indented out of its ``if``). The
approvals API names no commit, so only the notes' "added N commits" tell the approval is older.

On GitLab's !5 of tests/importers/test_retargeted_pulls.py, with the push note gitlab.com wrote
(tests/importers/fixtures/forges/gitlab-push, source in its README), dated as recorded: 5.3 s
after the approval and 7.2 s before the merge.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.importers.forge_server import Forge, gitlab_merge_request_routes, serve
from tests.importers.test_forges import FIXTURES
from tests.importers.test_retargeted_pulls import (
    _check,
    _covers_nothing,
    _gitlab,
    _import_gitlab,
)
from tests.importers.workspaces import saved_items, saved_pages

APPROVED = "2016-06-08T21:20:30.000Z"
PUSHED = "2016-06-08T21:20:35.317Z"
BEFORE_THE_PUSH = "given (or undated) before commits were pushed to the merge request"


def _pushed(export: Path, at: str, body: str | None = None, listed: str | None = None) -> None:
    """Adds GitLab's note of a push to !5's notes, at ``at``, listing the commit it pushed:
    ``listed``, or !5's head (the newest of its commits); and, for a note with GitLab's
    "Compare with previous version" link, the diff version GitLab records at the push
    (``_version``), which the link then names."""
    folder = export / "5"
    note = json.loads((FIXTURES / "gitlab-push" / "added-commit-note.json").read_text())
    note |= {"noteable_id": 5, "noteable_iid": 5, "project_id": 1, "created_at": at}
    if body is not None:
        note["body"] = body
    head = listed or saved_items(folder / "commits.json")[0]["id"]
    note["body"] = note["body"].replace("d7c95a09", head[:8])
    if "[Compare with previous version](" in note["body"]:
        number, previous = _version(folder, at, head)
        link = f"/group/app/-/merge_requests/5/diffs?diff_id={number}&start_sha={previous}"
        note["body"] = re.sub(r"\]\([^)]*\)", f"]({link})", note["body"])
    notes = sorted([*saved_items(folder / "notes.json"), note], key=lambda n: n["created_at"])
    (folder / "notes.json").write_text(saved_pages(notes))


def _version(folder: Path, at: str, head: str) -> tuple[int, str]:
    """Adds to !5's versions the one GitLab records at a push at ``at`` of ``head``: the
    newest's copy, with the next id; returns its id and the head before it."""
    versions = saved_items(folder / "versions.json")
    last = max(versions, key=lambda v: v["created_at"])
    before = [v for v in versions if v["created_at"] < at]
    previous = max(before, key=lambda v: v["created_at"])["head_commit_sha"] if before else "0" * 40
    number = max(v["id"] for v in versions) + 1
    added = last | {"id": number, "head_commit_sha": head, "created_at": at}
    newest_first = sorted([*versions, added], key=lambda v: v["created_at"], reverse=True)
    (folder / "versions.json").write_text(saved_pages(newest_first))
    return number, previous


@pytest.mark.parametrize("approved_at", [APPROVED, None])
def test_an_approval_older_than_a_push_covers_nothing(
    tmp_path: Path, approved_at: str | None
) -> None:
    """The import counted it for every commit, and check passed (exit 0)."""
    repo, export, unreviewed = _gitlab(tmp_path, approved_at, None)
    _pushed(export, PUSHED)
    _covers_nothing(repo, _import_gitlab(repo, export), BEFORE_THE_PUSH, unreviewed)


def test_a_push_of_several_commits_is_a_push(tmp_path: Path) -> None:
    repo, export, unreviewed = _gitlab(tmp_path, APPROVED, None)
    _pushed(export, PUSHED, "added 3 commits\n\n<ul><li>d7c95a09 - head</li></ul>")
    _covers_nothing(repo, _import_gitlab(repo, export), BEFORE_THE_PUSH, unreviewed)


@pytest.mark.parametrize(
    ("approved_at", "pushed_at"),
    [("2016-06-08T21:20:40.000Z", PUSHED), (APPROVED, "2016-06-08T21:30:00.000Z")],
)
def test_an_approval_after_the_last_push_before_the_merge_counts(
    tmp_path: Path, approved_at: str, pushed_at: str
) -> None:
    """Given after the push, or the push came after the merge."""
    repo, export, _ = _gitlab(tmp_path, approved_at, None)
    _pushed(export, pushed_at)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    check = _check(repo)
    assert check.code == 0, check.out


@pytest.mark.parametrize(
    "body",
    [
        " added 1 commit\n\n<ul><li>d7c95a09 - head</li></ul>",
        "<p>added 1 commit</p>\n\n<ul><li>d7c95a09 - head</li></ul>",
    ],
)
def test_a_push_note_not_at_the_start_of_its_text_is_a_push(tmp_path: Path, body: str) -> None:
    """The push note, its text after a space or a tag: before, only a note beginning with
    "added N commits" was read as a push, and the approval older than it counted (exit 0)."""
    repo, export, unreviewed = _gitlab(tmp_path, APPROVED, None)
    _pushed(export, PUSHED, body)
    _covers_nothing(repo, _import_gitlab(repo, export), BEFORE_THE_PUSH, unreviewed)


@pytest.mark.parametrize("system", ["true", 1, None])
def test_a_note_that_does_not_say_whether_it_is_a_systems_is_refused(
    tmp_path: Path, system: object
) -> None:
    """The push note with ``system`` as a text, a number or left out: before, it was read as
    a comment, not as a push, the approval older than it counted, and check passed (exit 0)."""
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    _pushed(export, PUSHED)
    notes = saved_items(export / "5" / "notes.json")
    for note in notes:
        if str(note["body"]).startswith("added 1 commit"):
            note.pop("system")
            if system is not None:
                note["system"] = system
    (export / "5" / "notes.json").write_text(saved_pages(notes))
    result = _import_gitlab(repo, export)
    assert result.code == 2
    assert "5/notes.json: item #" in result.err
    assert f"system is {system!r}, not true or false as GitLab gives every note" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


# -- closed, pushed to while closed, reopened ------------------------------------------------------

CLOSED = "2016-06-08T21:20:33.000Z"
REOPENED = "2016-06-08T21:20:38.000Z"
BEFORE_THE_REOPEN = "given (or undated) before the merge request was closed and reopened"


def _state_events(closed: str, reopened: str) -> list[dict[str, object]]:
    """GitLab's documented state events, moved to !5: closed at ``closed`` and reopened at
    ``reopened``; a push between them wrote no note."""
    documented = json.loads((FIXTURES / "gitlab-reopen" / "state-events.json").read_text())
    close = documented[1] | {"resource_id": 5, "created_at": closed}
    return [close, close | {"id": 144, "state": "reopened", "created_at": reopened}]


def _reopened(export: Path, events: list[dict[str, object]]) -> None:
    (export / "5" / "resource_state_events.json").write_text(saved_pages(events))


@pytest.mark.parametrize("approved_at", [APPROVED, None])
def test_an_approval_older_than_a_reopen_covers_nothing(
    tmp_path: Path, approved_at: str | None
) -> None:
    """Approved, closed, pushed to while closed (no "added N commits" note: GitLab refreshes
    open merge requests alone), reopened with what was pushed, and merged: the approval
    counted for the commit pushed, and check passed (exit 0)."""
    repo, export, unreviewed = _gitlab(tmp_path, approved_at, None)
    _reopened(export, _state_events(CLOSED, REOPENED))
    _covers_nothing(repo, _import_gitlab(repo, export), BEFORE_THE_REOPEN, unreviewed)


def test_an_older_gitlabs_reopened_note_is_a_reopen(tmp_path: Path) -> None:
    """Before state events, GitLab wrote the reopen as a system note "reopened"."""
    repo, export, unreviewed = _gitlab(tmp_path, APPROVED, None)
    _pushed(export, REOPENED, "reopened")
    _covers_nothing(repo, _import_gitlab(repo, export), BEFORE_THE_REOPEN, unreviewed)


def test_an_approval_after_the_reopen_counts(tmp_path: Path) -> None:
    repo, export, _ = _gitlab(tmp_path, "2016-06-08T21:20:40.000Z", None)
    _reopened(export, _state_events(CLOSED, REOPENED))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    assert _check(repo).code == 0


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"resource_id": 6}, "item #1 is a state event of MergeRequest 6"),
        ({"resource_type": "Issue"}, "item #1 is a state event of Issue 5"),
        ({"resource_id": None}, "item #1 names no merge request (no resource_id"),
        ({"state": None}, "item #1 is not a state event (state, created_at)"),
    ],
)
def test_state_events_not_of_the_merge_request_are_refused(
    tmp_path: Path, change: dict[str, object], said: str
) -> None:
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    events = _state_events(CLOSED, REOPENED)
    events[0] = {k: v for k, v in (events[0] | change).items() if v is not None}
    _reopened(export, events)
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert "5/resource_state_events.json: " + said in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_state_events_not_saved_are_refused(tmp_path: Path) -> None:
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    (export / "5" / "resource_state_events.json").unlink()
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert "resource_state_events.json: missing for merged merge request !5" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_fetched_merge_request_reopened_after_its_approval_is_judged_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch asks each merged merge request's state events, as the saved export holds."""
    repo, export, unreviewed = _gitlab(tmp_path, None, None)
    _reopened(export, _state_events(CLOSED, REOPENED))
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    routes = gitlab_merge_request_routes(export, 5, "/projects/group%2Fapp")
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-approvals", "--project", "group/app",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    _covers_nothing(repo, result, BEFORE_THE_REOPEN, unreviewed)


@pytest.mark.parametrize(
    "bot",
    [
        "project_1_bot_8e4f6b0c3a2d4e1f9a7b5c3d2e1f0a9b",  # GitLab 16 and later
        "project_1_bot",  # before: the project's first token
        "group_7_bot3",
        "service_account_group_7_0d6e3c1f2b9a8e7d6c5b4a3f2e1d0c9b",
    ],
)
def test_an_approval_by_an_access_tokens_user_is_a_bots(tmp_path: Path, bot: str) -> None:
    """GitLab names an approver as a ``UserBasic``, without the ``bot`` field its merge request
    authors have: a project access token's approval, its user mapped in identities.yaml to the
    team's CI address, counted as a reviewer's, and check passed (exit 0). Its username is
    the one GitLab gives a token's user: it is a bot's."""
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    path = export / "5" / "approvals.json"
    approvals = json.loads(path.read_text())
    approvals["approved_by"][0]["user"] |= {"username": bot, "name": "app bot", "id": 99}
    path.write_text(json.dumps(approvals))
    identities = repo.path / "compliance" / "identities.yaml"
    identities.write_text(identities.read_text() + f"ci:\n- ci@example.com\n- {bot}\n")
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by a bot" in result.err
    assert _check(repo).code == 1
