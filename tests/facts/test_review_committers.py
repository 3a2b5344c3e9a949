"""A committer is a writer: whoever commits a commit writes it as it stands, whatever author
it names (``git commit --author``). Lee adds a commit onto Dana's change under Dana's name and
then approves the change: the only second person reviewed code they wrote. Before, REVIEW-002
passed (exit 0). A forge's own committer identity (GitHub's ``noreply@github.com``, which
rebases and squashes) changes nothing: it never reviews, so counting it as a writer excludes
no review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, OPS, check_json, deployment, write_yaml

LEE = "lee@example.com"
GITHUB = "GitHub <noreply@github.com>"


def _day(day: int) -> str:
    return f"2024-02-{day:02d}T10:00:00Z"


def _case(
    tmp_path: Path, committer: str, *, trailers: tuple[str, ...] = (), record: bool = True
) -> tuple[Path, Path, dict[str, str]]:
    """Dana's change of two commits, the second committed by ``committer`` under Dana's
    name; approved by Lee (when ``record``) and deployed."""
    repo = ScriptedRepo(tmp_path / "repo")
    shas = {"base": repo.commit("base", {"a": "0"}, author=LEAD, date=_day(1))}
    shas["dana"] = repo.commit("dana's change", {"a": "1"}, author=DEV, date=_day(2))
    shas["added"] = repo.commit(
        "more of the change", {"a": "2"}, author=DEV, date=_day(3),
        committer=(committer, _day(3)), trailers=trailers,
    )  # fmt: skip
    evidence = tmp_path / "evidence"
    approval = {"by": LEE, "at": "2024-02-05T09:00:00Z"}
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", shas["added"], "2024-02-05T12:00:00Z", approvals=[approval])],
    )
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    reviews: list[dict[str, Any]] = []
    if record:
        reviews.append(
            {"change": 7, "author": DEV, "commits": [shas["dana"], shas["added"]],
             "approvals": [approval]}
        )  # fmt: skip
    write_yaml(evidence / "reviews.yaml", reviews)
    return repo.path, evidence, shas


def _review_002(repo: Path, evidence: Path, base: str) -> tuple[int, dict[str, str]]:
    result = check_json(repo, evidence, "--baseline", base, "--as-of", "2024-03-01")
    assert result.code in (0, 1), result.err
    found = {
        f["subject"]: f["message"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"
    }
    return result.code, found


def test_an_approval_by_a_committer_of_the_change_does_not_count(tmp_path: Path) -> None:
    repo, evidence, shas = _case(tmp_path, LEAD)
    code, found = _review_002(repo, evidence, shas["base"])
    assert code == 1
    assert set(found) == {shas["dana"], shas["added"]}
    for message in found.values():
        assert "by an author, co-author or committer of one of the change's commits" in message


def test_a_review_line_by_the_commits_committer_does_not_count(tmp_path: Path) -> None:
    repo, evidence, shas = _case(tmp_path, LEAD, trailers=(f"Reviewed-by: {LEAD}",), record=False)
    _, found = _review_002(repo, evidence, shas["base"])
    assert shas["added"] in found
    assert "did not count: by the commit's committer" in found[shas["added"]]


def test_a_commit_the_forge_committed_is_still_reviewed_by_the_approver(tmp_path: Path) -> None:
    """GitHub rebases and squashes as ``noreply@github.com``: no false refusal."""
    repo, evidence, shas = _case(tmp_path, GITHUB)
    code, found = _review_002(repo, evidence, shas["base"])
    assert (code, found) == (0, {})


def test_a_committer_who_names_nobody_may_be_the_approver(tmp_path: Path) -> None:
    repo, evidence, shas = _case(tmp_path, "Lee <lee@laptop>")
    code, found = _review_002(repo, evidence, shas["base"])
    assert code == 1
    assert set(found) == {shas["dana"], shas["added"]}
    assert "has a committer who is not an identity: lee@laptop" in found[shas["dana"]]
    assert "has a committer who is not an identity" in found[shas["added"]]


@pytest.mark.parametrize("committer", ["Lee <>", "Lee < >"])
def test_a_committer_with_an_empty_address_may_be_the_approver(
    tmp_path: Path, committer: str
) -> None:
    """git accepts an empty committer address (``GIT_COMMITTER_EMAIL=``). It was taken for no
    committer at all: Lee committed onto Dana's change as ``Lee <>``, approved it, and
    REVIEW-002 passed (exit 0). It names nobody, so it may be Lee, and fails closed."""
    repo, evidence, shas = _case(tmp_path, committer)
    code, found = _review_002(repo, evidence, shas["base"])
    assert code == 1
    assert set(found) == {shas["dana"], shas["added"]}
    assert "has a committer who is not an identity: <> (" in found[shas["dana"]]


def test_identities_join_a_committers_addresses(tmp_path: Path) -> None:
    """Lee commits from another address identities.yaml lists as Lee's."""
    repo, evidence, shas = _case(tmp_path, "Lee <lee@home.example>")
    (evidence / "identities.yaml").write_text(yaml.safe_dump({"lee": [LEE, "lee@home.example"]}))
    code, found = _review_002(repo, evidence, shas["base"])
    assert code == 1 and set(found) == {shas["dana"], shas["added"]}


def test_another_committer_leaves_the_approval_counting(tmp_path: Path) -> None:
    """Ops committed part of the change, and Lee, who wrote none of it, approved it."""
    repo, evidence, shas = _case(tmp_path, f"Ops <{OPS}>")
    code, found = _review_002(repo, evidence, shas["base"])
    assert (code, found) == (0, {})


def test_the_committer_of_a_merge_does_not_review_it(tmp_path: Path) -> None:
    """Lee merges Dana's change under Kim's name, with code of the merge's own, and approves
    the change: the approval counts for Dana's commit, not for Lee's merge."""
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit("base", {"a": "0"}, author=LEAD, date=_day(1))
    repo.branch("change")
    dana = repo.commit("dana's change", {"a": "1"}, author=DEV, date=_day(2))
    repo.checkout("main")
    repo.commit("lee's work", {"b": "1"}, author=LEAD, date=_day(2),
                trailers=(f"Reviewed-by: {DEV}",))  # fmt: skip
    kim = "Kim <kim@example.com>"
    repo.git("merge", "--quiet", "--no-ff", "--no-commit", "change", date=_day(3), author=kim)
    (repo.path / "extra").write_text("merged in\n")
    repo.git("add", "extra")
    repo.git("commit", "--quiet", "-m", "Merge change", date=_day(3), author=kim,
             committer=(LEAD, _day(3)))  # fmt: skip
    merged = repo.git("rev-parse", "HEAD")
    evidence = tmp_path / "evidence"
    approval = {"by": LEE, "at": "2024-02-04T09:00:00Z"}
    deploys = [deployment("D1", merged, "2024-02-05T12:00:00Z", approvals=[approval])]
    write_yaml(evidence / "deploys.yaml", deploys)
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    record = {"change": 7, "author": DEV, "commits": [dana, merged], "approvals": [approval]}
    write_yaml(evidence / "reviews.yaml", [record])
    code, found = _review_002(repo.path, evidence, base)
    assert code == 1
    assert set(found) == {merged}
    assert "did not count: by the commit's committer" in found[merged]


def test_a_committer_cannot_waive_the_finding_of_what_they_committed(tmp_path: Path) -> None:
    repo, evidence, shas = _case(tmp_path, LEAD, record=False)
    waiver = {"rule": "REVIEW-002", "subject": shas["added"], "reason": "hotfix",
              "approved_by": LEE, "expires": "2024-12-31"}  # fmt: skip
    write_yaml(evidence / "waivers.yaml", [waiver])
    result = check_json(repo, evidence, "--baseline", shas["base"], "--as-of", "2024-03-01")
    assert result.code == 1, result.err
    added = [f for f in result.json()["findings"] if f["subject"] == shas["added"]]
    assert [f["waived"] for f in added] == [False]


def test_a_mailmap_joins_a_committers_old_address(tmp_path: Path) -> None:
    """The repository's .mailmap maps Lee's laptop address to his own (git's %cE)."""
    repo, evidence, shas = _case(tmp_path, "Lee <lee@laptop.example>")
    (repo / ".mailmap").write_text(f"Lee Lead <{LEE}> <lee@laptop.example>\n")
    code, found = _review_002(repo, evidence, shas["base"])
    assert code == 1 and set(found) == {shas["dana"], shas["added"]}
