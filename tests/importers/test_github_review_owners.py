"""A pull request's saved ``reviews.json`` must be its own, and not older than its events.

GitHub's review objects name their pull request: ``pull_request_url``, the pull request's own
``url`` (PyGithub's recorded ``PullRequestReview.testAttributes.txt``: ``GET
/repos/PyGithub/PyGithub/pulls/538/reviews`` gives ``https://api.github.com/repos/PyGithub/
PyGithub/pulls/538`` on each). An approval saved from another pull request of the same head
covered commits its reviewer never saw.

On PyGithub#538 (tests/importers/test_retargeted_pulls.py, sources in
tests/importers/fixtures/forges/README.md): its branch made from ``dev``, one unreviewed commit
ahead of master, and merged into master; GitHub lists that commit among #538's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.importers.test_forges import FIXTURES
from tests.importers.test_retargeted_pulls import _check, _import, _retargeted, _unreviewed
from tests.importers.workspaces import saved_items, saved_pages

URL = "https://api.github.com/repos/PyGithub/PyGithub/pulls/538"


def _reviews(export: Path, change: Any) -> Path:
    path = export / "538" / "reviews.json"
    path.write_text(saved_pages([change(r) for r in saved_items(path)]))
    return path


def test_its_own_reviews_are_read(tmp_path: Path) -> None:
    """#538's own approval of its head, given with dev's commit listed: it covers it."""
    repo, export, _ = _retargeted(tmp_path, None)
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    assert _check(repo).code == 0


def test_reviews_of_another_pull_request_are_refused(tmp_path: Path) -> None:
    """The false pass: #537, the same branch opened against dev, approved on the same head
    (its reviewer saw only the branch's commits, dev's among its base), saved as #538's
    reviews (#538, against master, approved by nobody). Its approval counted for #538 and
    covered dev's unreviewed commit, and the check passed (exit 0)."""
    repo, export, _ = _retargeted(tmp_path, None)
    other = URL.replace("/538", "/537")
    path = _reviews(export, lambda r: r | {"pull_request_url": other})
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: item #1 is a review of {other}, saved for pull request #538" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


@pytest.mark.parametrize("url", [None, URL.replace("PyGithub/PyGithub", "knight/PyGithub")])
def test_a_review_not_naming_this_pull_request_is_refused(tmp_path: Path, url: Any) -> None:
    """No ``pull_request_url``, or another repository's pull request of the same number."""
    repo, export, _ = _retargeted(tmp_path, None)
    path = _reviews(export, lambda r: {**r, "pull_request_url": url})
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: item #1" in result.err and "Traceback" not in result.err


def _dismissed(tmp_path: Path, state: str) -> tuple[Any, Path, str, Path]:
    """#538, its approval of the head dismissed before the merge (PyGithub's recorded
    review_dismissed event, naming it, in its events), the saved reviews showing it ``state``."""
    repo, export, unreviewed = _retargeted(tmp_path, None)
    path = export / "538" / "reviews.json"
    reviews = saved_items(path)
    reviews[0]["state"] = state
    path.write_text(saved_pages(reviews))
    events_path = export / "538" / "events.json"
    events = saved_items(events_path)
    sample = FIXTURES / "github-events" / "review_dismissed.json"
    dismissal = json.loads(sample.read_text()) | {"created_at": "2017-03-25T14:00:00Z"}
    dismissal["dismissed_review"] |= {"state": "approved", "review_id": reviews[0]["id"]}
    events_path.write_text(saved_pages(sorted([*events, dismissal], key=lambda e: e["created_at"])))
    return repo, export, unreviewed, path


def test_reviews_saved_before_a_dismissal_the_events_record_are_refused(tmp_path: Path) -> None:
    """The false pass: reviews.json saved while the approval stood, events.json after the
    merge, which records its dismissal (review_dismissed naming the review). The approval
    counted, covered every commit, dev's unreviewed one among them, and the check passed."""
    repo, export, _, path = _dismissed(tmp_path, "APPROVED")
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: item #1, review 28482091, is APPROVED" in result.err
    assert "review_dismissed" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_dismissed_review_saved_as_dismissed_counts_for_nothing(tmp_path: Path) -> None:
    repo, export, unreviewed, _ = _dismissed(tmp_path, "DISMISSED")
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    check = _check(repo)
    assert check.code == 1 and unreviewed in _unreviewed(check)


def test_reviews_saved_before_the_dismissed_review_are_refused(tmp_path: Path) -> None:
    """The events record the dismissal of a review the saved reviews do not hold: they were
    saved before it was submitted, and miss whatever came after it too."""
    repo, export, _, path = _dismissed(tmp_path, "DISMISSED")
    reviews = saved_items(path)
    path.write_text(saved_pages(reviews[1:]))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: " in result.err and "dismissal of review 28482091" in result.err
    assert "Traceback" not in result.err
