"""Review lines read as Gerrit writes them: real golang/tools messages (tests/importers/fixtures/
gerrit-footers), where git's own trailer parser finds nothing, and the rule's edges."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence.trailers import coauthor_lines, footers, review_lines
from tests.conftest import check_json, deployment, write_yaml

FIXTURES = Path(__file__).resolve().parents[1] / "importers" / "fixtures" / "gerrit-footers"
MESSAGES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "messages.yaml").read_text())


@pytest.mark.parametrize("sample", MESSAGES, ids=lambda m: m["commit"][:12])
def test_gerrit_footers_beside_other_lines_are_read_where_git_reads_none(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit(sample["message"], author=sample["author"], date="2024-01-01T00:00:00Z")
    by_git = repo.git("log", "-1", "--format=%(trailers:key=Reviewed-by)")
    assert by_git == ""  # why these commits were reported unreviewed
    message = repo.git("log", "-1", "--format=%B")
    assert review_lines(message) == [tuple(line) for line in sample["review_lines"]]


def test_the_footer_rule_at_its_edges() -> None:
    message = (
        "Reviewed-by: subject@example.com is the first line, never a footer\n"
        "\n"
        "Reviewed-by: an earlier paragraph does not count\n"
        "\n"
        "Fixes #1\n"
        "reviewed-BY:   lee@example.com  \n"
        "May fix: #2\n"
        "Approved-by: Kim Long-Name\n"
        "  <kim@example.com>\n"
        "Reviewed-by:\n"
        "Reviewed-by : spaced@example.com\n"
        " continued after a line that is no footer\n"
        "Signed-off-by: dana@example.com\n"
        "\n"
        "\n"
    )
    assert footers(message) == [
        ("reviewed-BY", "lee@example.com  "),
        ("Approved-by", "Kim Long-Name <kim@example.com>"),
        ("Reviewed-by", ""),
        ("Signed-off-by", "dana@example.com"),
    ]
    assert review_lines(message) == [
        ("reviewed-BY", "lee@example.com"),
        ("Approved-by", "Kim Long-Name <kim@example.com>"),
    ]
    assert review_lines("one paragraph\nReviewed-by: lee@example.com\n") == [
        ("Reviewed-by", "lee@example.com")
    ]
    assert review_lines("Reviewed-by: lee@example.com") == []


def test_gerrit_reviews_count_end_to_end_and_a_self_review_is_named(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit("base", author="Lee <lee@example.com>", date="2024-01-01T00:00:00Z")
    shas = [
        repo.commit(m["message"], author=m["author"], date=f"2024-01-0{n + 2}T00:00:00Z")
        for n, m in enumerate(MESSAGES)
    ]
    # Gerrit's footers again, where the only Reviewed-by is the author's own.
    self_reviewed = repo.commit(
        "gopls: a change its author approved\n\n"
        "Fixes golang/go#1\n"
        "Change-Id: I0000000000000000000000000000000000000000\n"
        "Reviewed-by: Pat Author <pat@example.com>\n",
        author="Pat Author <pat@example.com>",
        date="2024-01-09T00:00:00Z",
    )
    evidence = tmp_path / "evidence"
    approval = [{"by": "lee@example.com", "at": "2024-02-01T00:00:00Z"}]
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", self_reviewed, "2024-02-01T09:00:00Z", approvals=approval)],
    )
    result = check_json(repo.path, evidence, "--baseline", base)
    assert result.code == 1, result.err
    found = {f["subject"]: f["message"] for f in result.json()["findings"]}
    assert set(found) == {self_reviewed}  # every golang/tools commit counts as reviewed
    assert result.json()["summary"]["commits_shipped"] == len(shas) + 1
    assert found[self_reviewed].endswith(
        "(Reviewed-by: Pat Author <pat@example.com> names its author)."
    )


FOLDED = {
    "one continuation line": (
        "pair-programmed change\n\nCo-authored-by:\n Lee <lee@example.com>\n"
        "Reviewed-by: lee@example.com\n"
    ),
    "several continuation lines": (
        "pair-programmed change\n\nCo-authored-by:\n  Lee\n  Lead\n  <lee@example.com>\n"
        "Reviewed-by: kim@example.com\n"
    ),
    "tab-indented": (
        "pair-programmed change\n\nCo-authored-by:\n\tLee Lead <lee@example.com>\n"
        "Reviewed-by:\n\tkim@example.com\n"
    ),
    "name and address apart": (
        "pair-programmed change\n\nCo-authored-by: Lee Lead  \n\t  <lee@example.com>\n"
        "Co-authored-by: Kim <kim@example.com>\n"
        "Reviewed-by: Pat\n <pat@example.com>\n"
    ),
    "a folded review line, as before": (
        "change\n\nReviewed-by: Kim Long-Name\n  <kim@example.com>\nApproved-by: pat@example.com\n"
    ),
}


@pytest.mark.parametrize("message", FOLDED.values(), ids=list(FOLDED))
def test_a_folded_trailer_reads_as_git_reads_it(message: str, tmp_path: Path) -> None:
    """A line that begins with whitespace continues the trailer above it, for co-author lines
    as for review lines: ``Co-authored-by:`` alone on its line, the name below, once hid the
    co-author, and his own review counted as a second person's."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit(message, author="Dana <dana@example.com>", date="2024-01-01T00:00:00Z")
    stored = repo.git("log", "-1", "--format=%B")
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=stored, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    by_git: dict[str, list[str]] = {}
    for line in parsed.splitlines():
        key, _, value = line.partition(": ")
        by_git.setdefault(key.lower(), []).append(value.strip())
    assert [value for _, value in coauthor_lines(stored)] == by_git.get("co-authored-by", [])
    reviews = by_git.get("reviewed-by", []) + by_git.get("approved-by", [])
    assert sorted(value for _, value in review_lines(stored)) == sorted(reviews)
    assert by_git.get("co-authored-by") or by_git.get("reviewed-by")  # git read something


def test_a_folded_co_author_line_is_read_outside_the_last_paragraph_too() -> None:
    """Where git reads no trailer at all (the line is not in the last paragraph), the co-author
    line still names Lee, folded or not."""
    message = (
        "pair-programmed change\n\nCo-authored-by:\n Lee <lee@example.com>\n"
        "Co-authored-by:\n\tKim\n\t<kim@example.com>\n\nSigned-off-by: dana@example.com\n"
    )
    assert coauthor_lines(message) == [
        ("Co-authored-by", "Lee <lee@example.com>"),
        ("Co-authored-by", "Kim <kim@example.com>"),
    ]
    # An indented co-author line continues the line above and is read on its own as well.
    assert coauthor_lines("s\n\nReviewed-by: kim@example.com\n Co-authored-by: Lee <l@e.com>") == [
        ("Co-authored-by", "Lee <l@e.com>")
    ]
    assert review_lines("s\n\nReviewed-by: kim@example.com\n\tmore\nAcked-by: x\n\tlee@x.com") == [
        ("Reviewed-by", "kim@example.com more")
    ]


def test_a_co_author_line_naming_several_names_each_of_them() -> None:
    """Read as one value, ``Sam <sam@...>, Kim <kim@...>`` named its last address alone: Sam,
    a co-author, approved the change as a second person. A line that writes one address twice,
    or one with an invisible character (which names nobody, whole), is left as it is."""
    message = (
        "change\n\nCo-authored-by: Sam <sam@example.com>, Kim <kim@example.com>\n"
        "Co-authored-by: pat@example.com <Pat+git@example.com>\n"
        "Co-authored-by: Sam <sam@example.com>\u200b, Kim <kim@example.com>\n"
    )
    assert coauthor_lines(message) == [
        ("Co-authored-by", "sam@example.com"),
        ("Co-authored-by", "kim@example.com"),
        ("Co-authored-by", "pat@example.com <Pat+git@example.com>"),
        ("Co-authored-by", "Sam <sam@example.com>\u200b, Kim <kim@example.com>"),
    ]
