"""``knightwatch import github-reviews`` on the objects GitHub's REST API documents, through to
REVIEW-002 in a check (Gerrit: tests/importers/test_gerrit.py).

The JSON here has the documented shapes (pulls, reviews and commits endpoints), trimmed to the
fields the importer reads plus a few it must ignore.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import run_cli
from tests.importers.workspaces import (
    bare_pages,
    dated_commits,
    linked_pages,
    saved_items,
    saved_pages,
)

MERGED = "2024-03-01T12:00:00Z"
PULLS = "https://api.github.com/repos/knight/smars/pulls"
SAVED = ("--repository", "knight/smars")
"""Saved output names the repository it was saved from."""
PEOPLE = {
    "dana": ["dana@knight.example", "dana-gh"],
    "lee": ["lee@knight.example", "lee-gh"],
    "kim": ["kim@knight.example", "kim-gh"],
}


def _user(login: str, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10_000, "type": kind, "site_admin": False}


def _workspace(tmp_path: Path, count: int) -> tuple[ScriptedRepo, Path, list[str]]:
    repo, evidence, shas = dated_commits(tmp_path, count)
    (evidence / "identities.yaml").write_text(yaml.safe_dump(PEOPLE))
    deploys = [
        {
            "id": f"D{n}",
            "service": "smars",
            "environment": "production",
            "commit": sha,
            "started_at": f"2024-03-{n + 2:02d}T09:00:00Z",
            "deployer": "ops@knight.example",
            "approvals": [{"by": "lead@knight.example", "at": f"2024-03-{n + 2:02d}T08:00:00Z"}],
            "targets": [{"host": "smars-01", "status": "succeeded"}],
        }
        for n, sha in enumerate(shas)
    ]
    (evidence / "deploys.yaml").write_text(yaml.safe_dump(deploys, sort_keys=False))
    return repo, evidence, shas


def _unreviewed(repo: ScriptedRepo) -> set[str]:
    result = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2024-04-01")
    assert result.code in (0, 1), result.err
    return {f["subject"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"}


# -- GitHub -------------------------------------------------------------------------------------


NOT_FETCHED = "0" * 40
"""A base commit the repository lacks (a fork's branch never fetched): not checked."""


def _pull(
    number: int, head: str, merged_at: str | None = MERGED, base: str = NOT_FETCHED
) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/knight/smars/pulls/{number}",
        "number": number,
        "state": "closed",
        "title": f"Change {number}",
        "user": _user("dana-gh"),
        "head": {"ref": f"topic-{number}", "sha": head},
        "base": {"ref": "main", "sha": base, "repo": {"full_name": "knight/smars"}},
        "merged_at": merged_at,
        "merge_commit_sha": head,
    }


def _review(
    login: str, state: str, commit: str, at: str, kind: str = "User", number: int = 101
) -> dict[str, Any]:
    return {
        "id": abs(hash((login, state, at))) % 100_000,
        "pull_request_url": f"https://api.github.com/repos/knight/smars/pulls/{number}",
        "user": _user(login, kind),
        "body": "",
        "state": state,
        "commit_id": commit,
        "submitted_at": at,
        "author_association": "MEMBER",
    }


def _commit(sha: str, login: str = "dana-gh", email: str = "dana@knight.example") -> dict[str, Any]:
    return {
        "sha": sha,
        "commit": {"author": {"name": login, "email": email, "date": "2024-02-01T10:00:00Z"}},
        "author": _user(login),
    }


PR538_EVENTS = Path(__file__).parent / "fixtures" / "forges" / "github-pr538/538/events.json"


def _events(pull: dict[str, Any]) -> list[dict[str, Any]]:
    """The pull request's issue events: its merge (#538's recorded ``merged`` event, naming
    this one's head as what it merged, at its ``merged_at``, with an id of its own in this
    repository), where it was merged."""
    if not pull["merged_at"]:
        return []
    merged = saved_items(PR538_EVENTS)[-1]
    event = merged["id"] + pull["number"]
    url = pull["url"].replace(f"/pulls/{pull['number']}", f"/issues/events/{event}")
    at = {"commit_id": pull["merge_commit_sha"], "created_at": pull["merged_at"]}
    return [merged | {"id": event, "url": url} | at]


def _github_export(tmp_path: Path, shas: list[str], older: str) -> tuple[Path, Path]:
    cases: list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = [
        # 101: approved by lee on the head, before the merge: counts.
        (_pull(101, shas[0]), [_review("lee-gh", "APPROVED", shas[0], "2024-03-01T11:00:00Z")], []),
        # 102: approved on a commit that is not the pull request's any more (force-pushed).
        (_pull(102, shas[1]), [_review("lee-gh", "APPROVED", older, "2024-03-01T11:00:00Z")], []),
        # 103: approved by kim, who wrote one of its commits.
        (
            _pull(103, shas[2]),
            [_review("kim-gh", "APPROVED", shas[2], "2024-03-01T11:00:00Z")],
            [_commit(shas[2], "kim-gh", "kim@knight.example")],
        ),
        # 104: approved by a bot.
        (
            _pull(104, shas[3]),
            [_review("dependabot[bot]", "APPROVED", shas[3], "2024-03-01T11:00:00Z", "Bot")],
            [],
        ),
        # 105: approved after the merge.
        (_pull(105, shas[4]), [_review("lee-gh", "APPROVED", shas[4], "2024-03-01T13:00:00Z")], []),
        # 106: approved, then changes requested: withdrawn.
        (
            _pull(106, shas[5]),
            [
                _review("lee-gh", "APPROVED", shas[5], "2024-03-01T10:00:00Z"),
                _review("lee-gh", "CHANGES_REQUESTED", shas[5], "2024-03-01T11:00:00Z"),
                _review("kim-gh", "COMMENTED", shas[5], "2024-03-01T11:30:00Z"),
            ],
            [],
        ),
        # 107: never merged.
        (_pull(107, older, merged_at=None), [], []),
    ]
    reviews_dir = tmp_path / "github"
    for pull, reviews, commits in cases:
        folder = reviews_dir / str(pull["number"])
        folder.mkdir(parents=True)
        reviews = [review | {"pull_request_url": pull["url"]} for review in reviews]
        (folder / "reviews.json").write_text(saved_pages(reviews))
        (folder / "commits.json").write_text(saved_pages(commits or [_commit(pull["head"]["sha"])]))
        (folder / "events.json").write_text(saved_pages(_events(pull)))
    pulls = tmp_path / "pulls.json"
    # gh api --include --paginate writes every page with its headers, which number it.
    pages = [[c[0] for c in cases[:4]], [c[0] for c in cases[4:]]]
    pulls.write_text(linked_pages(f"{PULLS}?state=closed", *pages))
    return pulls, reviews_dir


def test_github_reviews_count_only_standing_head_approvals_by_others(tmp_path: Path) -> None:
    repo, evidence, shas = _workspace(tmp_path, 6)
    older = repo.commit(
        "abandoned draft", {"draft.py": "x = 1\n"}, author="dana@knight.example",
        date="2024-02-20T10:00:00Z",
    )  # fmt: skip
    pulls, reviews_dir = _github_export(tmp_path, shas, older)
    assert _unreviewed(repo) == set(shas)
    result = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert result.code == 0, result.err
    assert "6 merged pull requests (1 not merged, skipped); 1 approvals counted" in result.err
    for reason in (
        "1 after the merge",
        "1 by a bot",
        "1 by an author of the change",
        "1 on a commit no longer in the pull request",
        "1 withdrawn before the merge",
    ):
        assert reason in result.err
    records = [json.loads(line) for line in (evidence / "reviews.jsonl").read_text().splitlines()]
    assert records[0] == {
        "change": "knight/smars#101",
        "author": "dana@knight.example",
        "commits": [shas[0]],
        "approvals": [{"by": "lee@knight.example", "at": "2024-03-01T11:00:00Z"}],
        "source": "github-reviews",
    }
    assert _unreviewed(repo) == set(shas[1:])
    again = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert again.code == 0 and "0 added, 6 already there" in again.err


def test_github_logins_without_an_address_are_named(tmp_path: Path) -> None:
    repo, evidence, shas = _workspace(tmp_path, 1)
    (evidence / "identities.yaml").unlink()
    pulls, reviews_dir = _github_export(tmp_path, shas * 6, shas[0])
    result = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert result.code == 0, result.err
    assert "no address in identities.yaml" in result.err and "lee-gh" in result.err


@pytest.mark.parametrize(
    ("pulls", "message"),
    [
        ({"message": "Not Found"}, "expected a JSON array of GitHub pull request objects"),
        ([{"number": 1}], "item #1 is not a pull request object"),
        (
            [
                {
                    "number": 1,
                    "url": "https://api.github.com/repos/knight/smars/pulls/1",
                    "head": {"sha": "abc"},
                    "base": {"sha": "def"},
                    "merged_at": MERGED,
                }
            ],
            "missing for merged",
        ),
        ([{"number": 1, "head": {"sha": "abc"}, "merged_at": MERGED}], "base.sha"),
    ],
)
def test_github_input_of_another_shape_is_refused(tmp_path: Path, pulls: Any, message: str) -> None:
    repo, evidence, _ = _workspace(tmp_path, 1)
    path = tmp_path / "pulls.json"
    path.write_text(json.dumps(pulls))
    result = run_cli("import", "github-reviews", path, tmp_path / "none", *SAVED,
                     "--repo", repo.path)  # fmt: skip
    assert result.code == 2 and message in result.err, result.err
    assert "Traceback" not in result.err and not (evidence / "reviews.jsonl").exists()


@pytest.mark.parametrize(
    "listed", ["the branch's commits", "the head's whole history", "without its head"]
)
def test_a_commit_list_that_is_not_the_pull_requests_is_refused(
    tmp_path: Path, listed: str
) -> None:
    """commits.json saved from the branch (``GET /repos/.../commits``: the same objects, newest
    first) instead of the pull request's: one approval of its head covered every commit listed,
    a hotfix pushed straight to main among them, and REVIEW-002 passed. Saved from the head's
    history, it lists commits its base (main when it was opened) already held."""
    repo, evidence, shas = _workspace(tmp_path, 3)
    pulls, reviews_dir = _github_export(tmp_path, shas * 2, shas[0])
    wrong = {
        "the branch's commits": [shas[2], shas[1], shas[0]],
        "the head's whole history": [shas[2], shas[1], shas[0]],
        "without its head": [shas[1]],
    }[listed]
    if listed == "the head's whole history":  # #101 opened on shas[1], its head shas[2]
        pulls.write_text(json.dumps([_pull(101, shas[2], base=shas[1])]))
    (reviews_dir / "101" / "commits.json").write_text(saved_pages([_commit(s) for s in wrong]))
    result = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert result.code == 2, result.err
    assert "101/commits.json" in result.err
    assert "this is not pull request #101's commit list" in result.err
    assert "Traceback" not in result.err and not (evidence / "reviews.jsonl").exists()


def test_a_commit_list_missing_a_page_between_two_saved_ones_is_refused(tmp_path: Path) -> None:
    """#101's commits saved a page at a time (``per_page=1``): pages 1 and 3 of three, back to
    back, held its head and looked whole, but page 2, lee's own commit, was missing: lee's
    approval counted for a change lee wrote part of, and the check passed (exit 0). Several
    pages saved without their headers are refused (as is one: ``test_saved_pages.py``); saved with
    them (``gh api --include --paginate``), every page is there, and the approval is left out."""
    repo, _, shas = _workspace(tmp_path, 6)
    pulls, reviews_dir = _github_export(tmp_path, shas, shas[5])
    path = reviews_dir / "101" / "commits.json"
    lees = _commit("1" * 40, "lee-gh", "lee@knight.example")  # a commit the clone lacks
    pages = [[_commit("2" * 40)], [lees], [_commit(shas[0])]]
    path.write_text(json.dumps(pages[0]) + "\n" + json.dumps(pages[2]) + "\n")
    imported = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert imported.code == 2, imported.err
    assert f"{path}: it is a body saved without its headers (2 JSON arrays)" in imported.err
    assert "Traceback" not in imported.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    first, _, third = linked_pages(f"{PULLS}/101/commits", *pages).split("\nHTTP/")
    path.write_text(f"{first}\nHTTP/{third}")
    imported = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert imported.code == 2, imported.err
    assert f"{path}: page 2 saved is page 3 of the list" in imported.err
    path.write_text(linked_pages(f"{PULLS}/101/commits", *pages))
    imported = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert imported.code == 0, imported.err
    assert "0 approvals counted" in imported.err and "2 by an author of the change" in imported.err
    assert shas[0] in _unreviewed(repo)


def test_a_review_list_of_one_full_page_is_refused(tmp_path: Path) -> None:
    """30 reviews, GitHub's default page: saved without --paginate, the withdrawal on the
    second page is missing and the approval before it counted (exit 0, with a warning): a
    false pass. Refused, naming the file. Then the empty page after it was read as the end;
    but page 1 then the empty page is also what is left when page 2 failed and page 3 answered
    ``[]``. Saved without headers, refused either way; with them, the first page names the
    next, and is refused alone; every page saved, the withdrawal counts."""
    repo, _, shas = _workspace(tmp_path, 1)
    pulls, reviews_dir = _github_export(tmp_path, shas * 6, shas[0])
    page = [
        _review("kim-gh", "COMMENTED", shas[0], f"2024-03-01T10:{m:02d}:00Z") for m in range(29)
    ]
    page.append(_review("lee-gh", "APPROVED", shas[0], "2024-03-01T11:00:00Z"))
    withdrawn = [_review("lee-gh", "CHANGES_REQUESTED", shas[0], "2024-03-01T12:00:00Z")]
    path = reviews_dir / "101" / "reviews.json"
    for saved, said in ((json.dumps(page), "1 JSON array"), (bare_pages(page), "2 JSON arrays")):
        path.write_text(saved)
        result = run_cli(
            "import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path
        )
        assert result.code == 2, result.err
        assert f"{path}: it is a body saved without its headers ({said})" in result.err
        assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    first, _ = linked_pages(f"{PULLS}/101/reviews", page, withdrawn).split("\nHTTP/")
    path.write_text(first)
    cut = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert cut.code == 2 and "its Link header names a next page" in cut.err, cut.err
    path.write_text(linked_pages(f"{PULLS}/101/reviews", page, withdrawn))
    whole = run_cli("import", "github-reviews", pulls, reviews_dir, *SAVED, "--repo", repo.path)
    assert whole.code == 0, whole.err
    assert "2 withdrawn before the merge" in whole.err, whole.err  # lee's, and one before


@pytest.mark.parametrize(
    ("tool", "since", "said"),
    [
        ("github-reviews", "2024-01-01", "not an RFC 3339 timestamp: '2024-01-01'"),
        ("github-deployments", "2024-01-01T00:00:00", "timestamp '2024-01-01T00:00:00' has no"),
    ],
)
def test_a_since_that_is_no_timestamp_names_the_option_once(
    tmp_path: Path, tool: str, since: str, said: str
) -> None:
    """It said "--since: --since: ...": the option was named as though it were a file too."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit(
        "one", {"a": "1\n"}, author="Dana Dev <dana@example.com>", date="2024-01-01T00:00:00Z"
    )
    service = ["--service", "web"] if tool == "github-deployments" else []
    result = run_cli(
        "import", tool, "--repository", "o/r", "--since", since, "--repo", repo.path, *service
    )
    assert result.code == 2, result.err
    assert result.err.startswith(f"knightwatch: error: --since: {said}"), result.err
