"""Review lines read as Gerrit writes them: real golang/tools messages (tests/importers/fixtures/
gerrit-footers), where git's own trailer parser finds nothing, and the rule's edges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence.trailers import footers, review_lines
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
