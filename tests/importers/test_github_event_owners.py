"""A pull request's saved ``events.json`` must be its own: events saved from another pull
request, which never had its base changed, hide the change and let the approval given before
it cover the commits it brought in.

GitHub's answer to ``GET /repos/{owner}/{repo}/issues/{number}/events`` names no issue in its
events (PyGithub's recorded ``PullRequest.testGetIssueEvents.txt``: ``id``, ``url``, ``event``,
``commit_id``, ``created_at``, ...). What ties them to the pull request: each event's ``url``
(``.../repos/OWNER/REPO/issues/events/ID``, the repository), and its ``merged`` event, dated at
the pull request's ``merged_at`` and naming its ``merge_commit_sha`` (or its head, which GitHub's
documentation says ``commit_id`` is), as both recorded samples have it (#538's and #31's).

On PyGithub#538 retargeted from ``dev`` to ``master`` after its approval
(tests/importers/test_retargeted_pulls.py, sources in tests/importers/fixtures/forges/README.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.test_retargeted_pulls import MERGED, _check, _import, _retargeted, _unreviewed
from tests.importers.workspaces import saved_items, saved_pages

CHANGED = "2017-03-25T12:00:00Z"
"""When #538's base was changed from dev to master: after its approval, before its merge."""


def _others(events: list[dict[str, Any]], merged: dict[str, Any], host: str) -> list[Any]:
    """#538's recorded events without the change of base, as another pull request's: its
    ``merged`` event changed by ``merged``, each ``url`` in the repository ``host``."""
    kept = [dict(e) for e in events if e["event"] != "base_ref_changed"]
    for event in kept:
        event["url"] = f"https://api.github.com/repos/{host}/issues/events/{event['id']}"
        if event["event"] == "merged":
            event |= merged
    return kept


def _saved_as_538(tmp_path: Path, case: str) -> tuple[Any, Path, str, Path]:
    """#538's export with ``events.json`` replaced by another pull request's (``case``)."""
    repo, export, unreviewed = _retargeted(tmp_path, CHANGED)
    path = export / "538" / "events.json"
    events = saved_items(path)
    commits = [c["sha"] for c in saved_items(export / "538" / "commits.json")]
    pull = json.loads((export / "pulls.json").read_text())[0]
    head, merge = pull["head"]["sha"], pull["merge_commit_sha"]
    others = {
        # #537, the branch's first two commits into master: GitHub marks it merged when its
        # head lands with #538's merge, its merged event naming that head, one of #538's.
        "a stacked pull request merged with it": _others(
            events, {"commit_id": commits[2]}, "PyGithub/PyGithub"
        ),
        # #539, the same branch opened against release and fast-forwarded there two days on:
        # its merged event names #538's head, at another time.
        "the same head merged elsewhere later": _others(
            events, {"commit_id": head, "created_at": "2017-03-27T09:00:00Z"}, "PyGithub/PyGithub"
        ),
        # #538 of a mirror of the repository, landed by the same push.
        "the same number in another repository": _others(
            events, {"commit_id": merge}, "knight-mirror/PyGithub"
        ),
    }
    path.write_text(saved_pages(others[case]))
    return repo, export, unreviewed, path


@pytest.mark.parametrize(
    "case",
    [
        "a stacked pull request merged with it",
        "the same head merged elsewhere later",
        "the same number in another repository",
    ],
)
def test_events_of_another_pull_request_are_refused(tmp_path: Path, case: str) -> None:
    """The false pass: each of these held a merged event naming one of #538's commits, so the
    file was taken for #538's; without its base_ref_changed the approval given before it
    counted for dev's unreviewed commit, and the check passed (exit 0)."""
    repo, export, _, path = _saved_as_538(tmp_path, case)
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert str(path) in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_its_own_events_with_or_without_the_issue_are_accepted(tmp_path: Path) -> None:
    """The pull request's own answer, as the per-issue list gives it (no ``issue``) and as the
    repository's list or a single event gives it (with ``issue``), is read, and the change of
    base it holds leaves the approval out."""
    repo, export, unreviewed = _retargeted(tmp_path, CHANGED)
    path = export / "538" / "events.json"
    issue = {"number": 538, "url": "https://api.github.com/repos/PyGithub/PyGithub/issues/538"}
    path.write_text(saved_pages([e | {"issue": issue} for e in saved_items(path)]))
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "1 given before the pull request's base was changed" in result.err
    assert unreviewed in _unreviewed(_check(repo))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: {k: v for k, v in e.items() if k != "url"}, "names no issue event url"),
        (lambda e: e | {"url": "https://api.github.com/repos/PyGithub/PyGithub/issues/538"},
         "is not an issue event of PyGithub/PyGithub"),
    ],
)  # fmt: skip
def test_an_event_not_tied_to_the_repository_is_refused(
    tmp_path: Path, change: Any, message: str
) -> None:
    repo, export, _ = _retargeted(tmp_path, CHANGED)
    path = export / "538" / "events.json"
    events = saved_items(path)
    events[0] = change(events[0])
    path.write_text(saved_pages(events))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: item #1" in result.err and message in result.err
    assert "Traceback" not in result.err


def test_a_pull_request_object_without_its_url_is_refused(tmp_path: Path) -> None:
    """Without ``url`` nothing says which repository's events are its own."""
    repo, export, _ = _retargeted(tmp_path, CHANGED)
    pulls = json.loads((export / "pulls.json").read_text())
    del pulls[0]["url"]
    (export / "pulls.json").write_text(json.dumps(pulls))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert "merged pull request #538 has no url" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("written", ["as GitHub writes them", "ids as text in one file"])
def test_events_saved_for_two_pull_requests_are_refused(tmp_path: Path, written: str) -> None:
    """GitHub numbers issue events once per instance: one event in the events of two pull
    requests was copied from one folder to the other. #539, merged by the same push as #538,
    never retargeted nor approved: its events (a merged event naming the same merge commit at
    the same second) saved for #538 too hid #538's change of base, and the check passed. With
    the ids of one copy written as strings ("5", each url unchanged) it still passed."""
    repo, export, _ = _retargeted(tmp_path, CHANGED)
    pulls = json.loads((export / "pulls.json").read_text())
    pulls.append(json.loads(json.dumps(pulls[0]).replace("/538", "/539")) | {"number": 539})
    (export / "pulls.json").write_text(json.dumps(pulls))
    shutil.copytree(export / "538", export / "539")
    (export / "539" / "reviews.json").write_text(saved_pages())
    events = saved_items(export / "538" / "events.json")
    others = [e for e in events if e["event"] != "base_ref_changed"]
    for folder in ("538", "539"):
        (export / folder / "events.json").write_text(saved_pages(others))
    if written == "ids as text in one file":
        texts = [e | {"id": str(e["id"])} for e in others]
        (export / "538" / "events.json").write_text(saved_pages(texts))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert "also in the events saved for pull request #538" in result.err
    assert str(export / "539" / "events.json") in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_the_merged_event_at_another_time_is_refused_naming_both(tmp_path: Path) -> None:
    repo, export, _ = _retargeted(tmp_path, CHANGED)
    path = export / "538" / "events.json"
    events = saved_items(path)
    events[-1]["created_at"] = "2017-03-25T16:52:50Z"
    assert events[-1]["event"] == "merged"
    path.write_text(saved_pages(events))
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 2, result.err
    assert f"merged at {MERGED}" in result.err and str(path) in result.err
