"""An approval that names no commit approves the change as it stood when it was given: Dana
pushes a commit onto her change after Lee approved it, and the approval does not cover it.
Before, REVIEW-002 passed (exit 0). What the forge makes at the merge, after the approval, is
still covered: a merge commit, a squash of what was approved (onto a base that moved or not), a
rebase of an approved commit; and a commit the approval names, whatever its date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, check_json, deployment, write_yaml

LEE = "lee@example.com"
GITHUB = ("GitHub <noreply@github.com>", "")
APPROVED = "2024-02-03T10:00:00Z"
LATE = "before the commit was committed"


def _at(day: int, second: int = 0) -> str:
    return f"2024-02-{day:02d}T10:00:{second:02d}Z"


def _forge(day: int) -> tuple[str, str]:
    return (GITHUB[0], _at(day))


class Case:
    """Lee's base on main; Dana's change on a branch; what landed on main."""

    def __init__(self, tmp_path: Path, base: str = "0", change: str = "1") -> None:
        """``base`` and ``change``: file a's text on main and in Dana's approved commit."""
        self.repo = ScriptedRepo(tmp_path / "repo")
        self.evidence = tmp_path / "evidence"
        self.base = self.repo.commit("base", {"a": base, "b": "0"}, author=LEAD, date=_at(1))
        self.repo.branch("change")
        self.dana = self.repo.commit("dana's change", {"a": change}, author=DEV, date=_at(2))
        self.other_records: list[dict[str, Any]] = []

    def check(
        self, deployed: str, commits: list[str], approval: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str]]:
        """Deploy ``deployed``; one review record of Dana's change: ``commits``, approved by
        Lee at ``APPROVED``."""
        given = approval or {"by": LEE, "at": APPROVED}
        if self.repo.git("branch", "--show-current") != "main":  # landed by a fast-forward
            self.repo.git("branch", "--force", "main", deployed)
        record: dict[str, Any] = {
            "change": 7, "author": DEV, "commits": commits, "approvals": [given]
        }  # fmt: skip
        write_yaml(self.evidence / "reviews.yaml", [record, *self.other_records])
        approvals = [{"by": LEE, "at": "2024-02-09T09:00:00Z"}]
        write_yaml(
            self.evidence / "deploys.yaml",
            [deployment("D1", deployed, "2024-02-09T12:00:00Z", approvals=approvals)],
        )
        write_yaml(self.evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
        result = check_json(self.repo.path, self.evidence, "--baseline", self.base,
                            "--as-of", "2024-03-01")  # fmt: skip
        assert result.code in (0, 1), result.err
        found = {
            f["subject"]: f["message"]
            for f in result.json()["findings"]
            if f["rule"] == "REVIEW-002"
        }
        return result.code, found

    def main_moves(self) -> str:
        """Lee's reviewed commit on main while the change waited, in another file."""
        self.repo.checkout("main")
        moved = self.repo.commit("lee's work", {"b": "1"}, author=LEAD, date=_at(2, 30))
        self.other_records = [
            {"change": 8, "author": LEAD, "commits": [moved],
             "approvals": [{"by": "dana@example.com", "at": _at(2, 40)}]}
        ]  # fmt: skip
        return moved


def test_a_commit_pushed_after_the_approval_is_not_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    pushed = case.repo.commit("after the approval", {"a": "2"}, author=DEV, date=_at(4))
    code, found = case.check(pushed, [case.dana, pushed])
    assert code == 1
    assert set(found) == {pushed}
    assert f"given at {APPROVED}, {LATE} (at 2024-02-04T10:00:00Z)" in found[pushed]


def test_a_few_seconds_of_clock_skew_are_not_late(tmp_path: Path) -> None:
    case = Case(tmp_path)
    pushed = case.repo.commit("just before", {"a": "2"}, author=DEV, date=_at(3, 45))
    assert case.check(pushed, [case.dana, pushed]) == (0, {})


def test_an_approval_naming_its_commit_covers_it_whatever_its_date(tmp_path: Path) -> None:
    """The record says which commit was approved: that is used, not the dates."""
    case = Case(tmp_path)
    pushed = case.repo.commit("clock ahead", {"a": "2"}, author=DEV, date=_at(4))
    approval = {"by": LEE, "at": APPROVED, "commit": pushed}
    assert case.check(pushed, [case.dana, pushed], approval) == (0, {})


def test_the_forges_merge_commit_after_the_approval_is_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.main_moves()
    merger = "Kim <kim@example.com>"
    merged = case.repo.merge("change", "Merge pull request #7", author=merger, date=_at(5))
    assert case.check(merged, [case.dana, merged]) == (0, {})


def test_a_squash_of_what_was_approved_is_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.repo.checkout("main")
    squash = case.repo.commit("Dana's change (#7)", {"a": "1"}, author=DEV, date=_at(5),
                              committer=_forge(5))  # fmt: skip
    assert case.check(squash, [case.dana, squash]) == (0, {})


def test_a_squash_onto_a_base_that_moved_is_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.main_moves()
    squash = case.repo.commit("Dana's change (#7)", {"a": "1"}, author=DEV, date=_at(5),
                              committer=_forge(5))  # fmt: skip
    assert case.check(squash, [case.dana, squash]) == (0, {})


def test_a_rebase_of_an_approved_commit_is_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.main_moves()
    rebased = case.repo.commit("dana's change", {"a": "1"}, author=DEV, date=_at(2),
                               committer=_forge(5))  # fmt: skip
    assert case.check(rebased, [case.dana, rebased]) == (0, {})


def test_a_squash_holding_a_push_after_the_approval_is_not_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    pushed = case.repo.commit("after the approval", {"a": "2"}, author=DEV, date=_at(4))
    case.repo.checkout("main")
    squash = case.repo.commit("Dana's change (#7)", {"a": "2"}, author=DEV, date=_at(5),
                              committer=_forge(5))  # fmt: skip
    code, found = case.check(squash, [case.dana, pushed, squash])
    assert code == 1
    assert set(found) == {squash}
    assert LATE in found[squash]


def _sync_merge(case: Case, extra: dict[str, str]) -> str:
    """Dana merges main into her change after the approval; ``extra`` is code of the merge's
    own (an "evil" merge), amended into it."""
    case.main_moves()
    case.repo.checkout("change")
    merged = case.repo.merge("main", "Merge main into change", author=DEV, date=_at(4))
    if not extra:
        return merged
    for name, text in extra.items():
        (case.repo.path / name).write_text(text)
        case.repo.git("add", name)
    case.repo.git("commit", "--quiet", "--amend", "--no-edit", date=_at(4), author=DEV)
    return case.repo.git("rev-parse", "HEAD")


def test_a_merge_of_main_into_the_change_after_the_approval_is_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    merged = _sync_merge(case, {})
    assert case.check(merged, [case.dana, merged]) == (0, {})


def test_a_merge_after_the_approval_with_code_of_its_own_is_not_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    merged = _sync_merge(case, {"backdoor": "1\n"})
    code, found = case.check(merged, [case.dana, merged])
    assert code == 1
    assert set(found) == {merged}
    assert LATE in found[merged]


GUARDED = "if test_only:\n    pass\nrun()\n"
"""File a on main: a block that runs in tests alone."""


def test_a_squash_that_moves_an_approved_line_is_not_covered(tmp_path: Path) -> None:
    """Lee approved ``wipe()`` inside the test-only block; what landed runs it everywhere. The
    added line is the same, white space and place aside, so git patch-id gave the same sum and
    the approval covered the squash (exit 0)."""
    case = Case(tmp_path, GUARDED, "if test_only:\n    pass\n    wipe()\nrun()\n")
    case.repo.checkout("main")
    squash = case.repo.commit("Dana's change (#7)", {"a": GUARDED + "wipe()\n"}, author=DEV,
                              date=_at(5), committer=_forge(5))  # fmt: skip
    code, found = case.check(squash, [case.dana, squash])
    assert code == 1
    assert set(found) == {squash}
    assert LATE in found[squash]


def test_a_merge_that_reindents_a_line_is_not_covered(tmp_path: Path) -> None:
    """A merge of main into the change, after the approval, that changes the white space of a
    line main brought: not git's own merge, though the lines differ in white space alone."""
    case = Case(tmp_path)
    merged = _sync_merge(case, {"b": "    1"})
    code, found = case.check(merged, [case.dana, merged])
    assert code == 1
    assert set(found) == {merged}


def test_a_squash_onto_a_change_nearby_in_the_same_file_is_covered(tmp_path: Path) -> None:
    """Main changed line 2 of the file while the change, which changed line 5, waited: the
    squash holds both, as git merges them, and is covered."""
    lines = [f"line {n}\n" for n in range(1, 8)]
    ours = [*lines[:4], "dana\n", *lines[5:]]
    case = Case(tmp_path, "".join(lines), "".join(ours))
    case.repo.checkout("main")
    theirs = [*lines[:1], "lee\n", *lines[2:]]
    moved = case.repo.commit("lee's work", {"a": "".join(theirs)}, author=LEAD, date=_at(2, 30))
    case.other_records = [
        {"change": 8, "author": LEAD, "commits": [moved],
         "approvals": [{"by": "dana@example.com", "at": _at(2, 40)}]}
    ]  # fmt: skip
    both = [*lines[:1], "lee\n", *lines[2:4], "dana\n", *lines[5:]]
    squash = case.repo.commit("Dana's change (#7)", {"a": "".join(both)}, author=DEV,
                              date=_at(5), committer=_forge(5))  # fmt: skip
    assert case.check(squash, [case.dana, squash]) == (0, {})


def _named(case: Case, commit: str) -> dict[str, str]:
    return {"by": LEE, "at": APPROVED, "commit": commit}


def test_a_squash_of_the_approved_head_named_by_the_record_is_covered(tmp_path: Path) -> None:
    """A record (written by hand, or by an exporter that names every approval's commit) names
    the approved head and lists the squash commit that landed it. The squash is no ancestor of
    the head, so the approval covered nothing of it: REVIEW-002 failed (exit 1) on the forge's
    own squash of exactly what was approved."""
    case = Case(tmp_path)
    case.main_moves()
    squash = case.repo.commit("Dana's change (#7)", {"a": "1"}, author=DEV, date=_at(5),
                              committer=_forge(5))  # fmt: skip
    assert case.check(squash, [case.dana, squash], _named(case, case.dana)) == (0, {})


def test_the_merge_of_the_approved_head_named_by_the_record_is_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.main_moves()
    merged = case.repo.merge("change", "Merge pull request #7", author="Kim <kim@example.com>",
                             date=_at(5))  # fmt: skip
    assert case.check(merged, [case.dana, merged], _named(case, case.dana)) == (0, {})


def test_a_squash_holding_a_push_after_the_named_head_is_not_covered(tmp_path: Path) -> None:
    case = Case(tmp_path)
    pushed = case.repo.commit("after the approval", {"a": "2"}, author=DEV, date=_at(4))
    case.repo.checkout("main")
    squash = case.repo.commit("Dana's change (#7)", {"a": "2"}, author=DEV, date=_at(5),
                              committer=_forge(5))  # fmt: skip
    code, found = case.check(squash, [case.dana, pushed, squash], _named(case, case.dana))
    assert code == 1
    assert set(found) == {squash}  # the branch's own commits never reached main
