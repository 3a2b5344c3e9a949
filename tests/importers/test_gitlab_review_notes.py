"""Which of a GitLab merge request's notes tell a push.

A push is told by the system note GitLab writes for it (``SystemNotes::CommitService#add_commits``:
the body begins ``added N commit(s)``, then the commits, then the "Compare with previous
version" link). A system note on another subject may quote a title or a branch that says
"added 2 commits" (``changed title from **...** to **...**``): it is no push.

On GitLab's !5 of tests/importers/test_retargeted_pulls.py, approved by root 5.3 s before the
push note of tests/importers/fixtures/forges/gitlab-push (sources in its README).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.test_gitlab_pushed_after_approval import APPROVED, PUSHED, _pushed
from tests.importers.test_retargeted_pulls import _check, _gitlab, _import_gitlab

TITLE_NOTE = "changed title from **{-Draft: added 2 commits-}** to **Added 2 commits**"
"""GitLab's system note of a changed title (``SystemNotes::IssuablesService#change_title``:
``changed title from **OLD** to **NEW**``, the changed words marked), quoting a title that
says "added 2 commits"; the other is its note of a changed milestone (``change_milestone``, the
milestone's reference, ``%"TITLE"`` for a title with spaces)."""


@pytest.mark.parametrize(
    "body",
    [
        TITLE_NOTE,
        'changed milestone to %"added 2 commits"',
    ],
)
def test_a_system_note_that_only_quotes_a_push_is_no_push(tmp_path: Path, body: str) -> None:
    """The note held "added 2 commits" and was read as a push after the approval: the
    approval was left out, and check failed !5's commits (exit 1)."""
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    _pushed(export, PUSHED, body)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert "push note" not in result.err
    check = _check(repo)
    assert check.code == 0, check.out


def test_a_push_note_of_older_gitlab_is_a_push(tmp_path: Path) -> None:
    """GitLab 8 wrote ``Added 1 commit:`` and the list: still a push after the approval."""
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    _pushed(export, PUSHED, "Added 1 commit:\n\n* d7c95a09 - head")
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err, result.err
    assert _check(repo).code == 1
