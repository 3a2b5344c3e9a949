"""A co-author is an author: GitHub's pull request #538 of PyGithub as recorded
(tests/importers/fixtures/forges/github-pr538, its README), with the approver made a
co-author or, under another address, an author of one of its commits; and REVIEW-002 applying
the importers' rule itself, so that an identity mapped after the import, or a record written
by hand, cannot make an author's approval count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence.trailers import coauthor_lines
from checker.importers.github import noreply_login
from tests.conftest import run_cli
from tests.importers.test_forges import DEV, FIXTURES, PR538, _copy, pr538_repo
from tests.importers.workspaces import saved_items, saved_pages

JIMMY = "jimmy@coreos.example"
"""jzelinskie, who approved #538 on its third commit, 7a0fcb27."""
PEOPLE = {"jimmy": [JIMMY, "jzelinskie"], "alex": [DEV, "allevin"]}
COAUTHOR = f"Co-authored-by: Jimmy Zelinskie <{JIMMY}>"


def _repo(
    tmp_path: Path, *, trailers: dict[int, str] | None = None, authors: dict[int, str] | None = None
) -> tuple[ScriptedRepo, dict[str, str]]:
    """#538's repository (``trailers`` and ``authors`` by the commit's place among its four),
    with identities.yaml."""
    repo, shas = pr538_repo(tmp_path, trailers=trailers, authors=authors)
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(PEOPLE))
    return repo, shas


def _export(tmp_path: Path, shas: dict[str, str], commit: int, **changes: Any) -> Path:
    """The recorded export with our shas, one commit object's ``commit`` fields changed."""
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    path = export / "538" / "commits.json"
    commits = saved_items(path)
    commits[commit]["commit"].update(changes)
    if "author" in changes:
        commits[commit]["author"] = None  # an address GitHub links to no account
    path.write_text(saved_pages(commits))
    return export


def _check(repo: ScriptedRepo) -> dict[str, str]:
    """REVIEW-002's findings: subject to message."""
    result = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2018-01-01")
    assert result.code in (0, 1), result.err
    return {
        f["subject"]: f["message"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"
    }


def _import(repo: ScriptedRepo, export: Path) -> str:
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    return result.err


def _approvals(repo: ScriptedRepo) -> list[Any]:
    [record] = [
        json.loads(line)
        for line in (repo.path / "compliance" / "reviews.jsonl").read_text().splitlines()
    ]
    return list(record["approvals"])


def test_the_import_leaves_out_an_approval_by_a_co_author(tmp_path: Path) -> None:
    repo, shas = _repo(tmp_path, trailers={1: COAUTHOR})
    message = f"Remove unnecessary lines\n\n{COAUTHOR}\n"
    said = _import(repo, _export(tmp_path, shas, 1, message=message))
    assert "1 by an author of the change" in said
    assert _approvals(repo) == []
    assert set(_check(repo)) == {shas[sha] for sha in PR538}


def test_review_002_does_not_count_a_co_authors_approval_written_by_hand(tmp_path: Path) -> None:
    """The record an importer that knew no better (or a hand) wrote: jzelinskie's approval of
    7a0fcb27, which Jimmy co-authored. Before, it covered the first three commits."""
    repo, shas = _repo(tmp_path, trailers={2: COAUTHOR})
    record = {
        "change": "PyGithub/PyGithub#538",
        "author": DEV,
        "commits": [shas[sha] for sha in PR538],
        "approvals": [{"by": JIMMY, "at": "2017-03-22T19:06:59Z", "commit": shas[PR538[2]]}],
    }
    (repo.path / "compliance" / "reviews.yaml").write_text(yaml.safe_dump([record]))
    found = _check(repo)
    assert set(found) == {shas[sha] for sha in PR538}
    assert "did not count: by an author, co-author or committer" in found[shas[PR538[2]]]
    writer = "did not count: by an author, co-author or committer of one of the change's commits"
    assert writer in found[shas[PR538[0]]]


def test_a_reviewed_by_line_naming_a_co_author_is_not_a_second_person(tmp_path: Path) -> None:
    """No review record: the commit's own lines say Jimmy co-wrote it and Jimmy reviewed it."""
    repo, shas = _repo(
        tmp_path, trailers={n: f"{COAUTHOR}\nReviewed-by: Jimmy <{JIMMY}>" for n in range(4)}
    )
    found = _check(repo)
    assert shas[PR538[0]] in found
    assert "Reviewed-by: Jimmy" in found[shas[PR538[0]]]
    assert "did not count: by a co-author of the commit" in found[shas[PR538[0]]]
    # The same lines with another reviewer count.
    other, other_shas = _repo(
        tmp_path / "other",
        trailers={n: f"{COAUTHOR}\nReviewed-by: Kim <kim@coreos.example>" for n in range(4)},
    )
    assert set(_check(other)) == {other_shas[PR538[4]]}  # the merge has no lines


def test_an_approval_by_an_author_mapped_after_the_import_stops_counting(tmp_path: Path) -> None:
    """f383603f was written from Jimmy's personal address, which identities.yaml did not yet
    list: the import counted his approval. Once it lists it, the check leaves the approval out
    for the whole change, without a new import (incremental imports never fetch it again)."""
    home = "jimmy.home@gmail.com"
    repo, shas = _repo(tmp_path, authors={1: f"Jimmy <{home}>"})
    author = {"name": "Jimmy", "email": home, "date": "2017-03-21T18:59:22Z"}
    said = _import(repo, _export(tmp_path, shas, 1, author=author))
    assert "1 approvals counted" in said
    assert _approvals(repo) == [
        {"by": JIMMY, "at": "2017-03-22T19:06:59Z", "commit": shas[PR538[2]]}
    ]
    # Until then jimmy.home@ is someone else, and his approval covers even his own commit.
    assert set(_check(repo)) == {shas[PR538[3]], shas[PR538[4]]}
    people = {**PEOPLE, "jimmy": [*PEOPLE["jimmy"], home]}
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(people))
    found = _check(repo)
    assert set(found) == {shas[sha] for sha in PR538}
    assert (
        "by an author, co-author or committer of one of the change's commits"
        in found[shas[PR538[0]]]
    )


def test_the_merger_of_a_merge_commit_is_not_an_author_of_the_change(tmp_path: Path) -> None:
    """Vincent merged #538: his approval would still count for Alex's commits."""
    repo, shas = _repo(tmp_path)
    record = {
        "change": "PyGithub/PyGithub#538",
        "author": DEV,
        "commits": [shas[sha] for sha in PR538],
        "approvals": [{"by": "jacquev6@example.com", "at": "2017-03-25T16:00:00Z"}],
    }
    (repo.path / "compliance" / "reviews.yaml").write_text(yaml.safe_dump([record]))
    # The merge commit is Vincent's own, so his approval does not cover it; the rest it does.
    assert set(_check(repo)) == {shas[PR538[4]]}


def test_co_author_lines_are_read_wherever_they_stand() -> None:
    message = (
        "Fix the router\n\nCo-authored-by: Lee <lee@knight.example>\nSee the ticket.\n\n"
        "  co-authored-by :  Kim <kim@knight.example>\nSigned-off-by: Dana <dana@knight.example>"
    )
    assert [value for _, value in coauthor_lines(message)] == [
        "Lee <lee@knight.example>",
        "Kim <kim@knight.example>",
    ]
    assert coauthor_lines("Co-authored-by: Lee <lee@knight.example>") == []  # a subject line
    assert noreply_login("Lee <12345+lee-gh@users.noreply.github.com>") == "lee-gh"
    assert noreply_login("lee-gh@users.noreply.github.com") == "lee-gh"
    assert noreply_login("Lee <lee@knight.example>") is None


def _approved_by_jimmy(
    tmp_path: Path, trailer: str = "", author: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """#538 with ``trailer`` in 7a0fcb27's message (or ``author`` writing f383603f), and
    jzelinskie's approval of 7a0fcb27 written by hand: REVIEW-002's findings, and the shas."""
    repo, shas = _repo(
        tmp_path,
        trailers={2: trailer} if trailer else None,
        authors={1: author} if author else None,
    )
    record = {
        "change": "PyGithub/PyGithub#538",
        "author": DEV,
        "commits": [shas[sha] for sha in PR538],
        "approvals": [{"by": JIMMY, "at": "2017-03-22T19:06:59Z", "commit": shas[PR538[2]]}],
    }
    (repo.path / "compliance" / "reviews.yaml").write_text(yaml.safe_dump([record]))
    return _check(repo), shas


NAMELESS = "names a co-author who is not an identity"


@pytest.mark.parametrize(
    ("trailer", "reason"),
    [
        ("Co-authored-by: Lee Example", NAMELESS),
        ("Co-authored-by: Lee lee@knight.example", NAMELESS),
        ("Squash of three commits\n\n* Fix it\n\nCo-authored-by: Lee Example", NAMELESS),
        (f"Co-authored-by:\tJimmy\t<{JIMMY}>", "did not count"),
        (f"Co-developed-by: Jimmy Zelinskie <{JIMMY}>", "by an author, co-author or committer"),
    ],
)
def test_an_approval_of_a_change_whose_co_author_names_nobody_does_not_count(
    tmp_path: Path, trailer: str, reason: str
) -> None:
    """A co-author line that names nobody may name the approver: it would have been dropped,
    and jzelinskie's approval counted for the change's first three commits."""
    found, shas = _approved_by_jimmy(tmp_path, trailer)
    assert set(found) == {shas[sha] for sha in PR538}
    for sha in PR538[:3]:
        assert reason in found[shas[sha]], found[shas[sha]]


def test_a_reviewed_by_line_of_a_commit_whose_co_author_names_nobody_does_not_count(
    tmp_path: Path,
) -> None:
    repo, shas = _repo(
        tmp_path,
        trailers={
            n: "Co-authored-by: Kim\nReviewed-by: Kim <kim@coreos.example>" for n in range(4)
        },
    )
    found = _check(repo)
    assert shas[PR538[0]] in found
    assert "the commit names a co-author who is not an identity: Kim" in found[shas[PR538[0]]]


def test_co_developed_by_lines_name_co_authors() -> None:
    message = "Fix the router\n\nCo-developed-by: Lee <lee@knight.example>\n"
    assert [value for _, value in coauthor_lines(message)] == ["Lee <lee@knight.example>"]


def test_an_approval_of_a_change_whose_author_names_nobody_does_not_count(tmp_path: Path) -> None:
    """f383603f written as jimmy@localhost, which names nobody: Jimmy may have written it, as a
    co-author line that names nobody may be him. Before, his approval still counted for the
    change's other commits (and, where a path-scoped service shipped only those, passed)."""
    found, shas = _approved_by_jimmy(tmp_path, author="Jimmy <jimmy@localhost>")
    assert set(found) == {shas[sha] for sha in PR538}
    for sha in (PR538[0], PR538[2]):
        assert (
            f"did not count: commit {shas[PR538[1]][:12]} of the change has an author who is not "
            "an identity: jimmy@localhost (not a well-formed address)" in found[shas[sha]]
        ), found[shas[sha]]
