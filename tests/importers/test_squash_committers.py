"""An approver who committed a commit of the change under its author's name (``git commit
--author``) wrote it: the review importers leave their approval out, as REVIEW-002 does when it
reads the commit in git. Once the change is squashed and its branch deleted, the check no longer
has the commit to read, and an approval given within a minute of the squash covers the squash
commit by its date alone: the importer's word is then all there is.

On the recorded objects of tests/importers/fixtures/forges (sources in its README), with their
shas replaced by those of repositories built here with fixed dates, and the committer fields
GitHub and GitLab give every commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import run_cli
from tests.importers.test_forges import BASE, DEV, FIXTURES, PR538, _copy
from tests.importers.test_landed_merges import MERGED, VINCENT, _deployment, _unreviewed
from tests.importers.workspaces import saved_items, saved_pages

JIMMY = "Jimmy <jimmy@coreos.example>"
LAPTOP = "Jimmy <jimmy@jimmy-laptop>"
"""git's default address on a machine without user.email: it names nobody."""
UNNAMED = "a commit of the change has a writer who is not an identity"
STEPS = ["2017-03-20T20:44:26Z", "2017-03-21T18:59:22Z", "2017-03-21T19:00:11Z",
         "2017-03-24T20:45:04Z"]  # fmt: skip


def _drop_branch(repo: ScriptedRepo) -> None:
    """Delete the merged branch and its objects, as a clone made after the merge lacks them."""
    repo.git("branch", "-D", "reviews")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "--quiet", "--prune=now")


def _github(tmp_path: Path, writer: str) -> tuple[ScriptedRepo, Path, str]:
    """PyGithub#538 squashed by GitHub, approved by Jimmy 30 seconds before the merge, its last
    commit written by ``writer`` (``JIMMY`` as committer under Alex's name, or ``LAPTOP`` from
    a machine whose default address GitHub links to no account); the squash commit."""
    repo = ScriptedRepo(tmp_path / "gh")
    author = (lambda n: writer if n == 3 else f"Alex <{DEV}>") if writer == LAPTOP else None
    base = repo.commit("base", {"README": "x\n"}, author=VINCENT, date="2017-03-01T00:00:00Z")
    repo.branch("reviews")
    steps = [
        repo.commit(
            f"step {n}",
            {f"f{n}.py": f"{n}\n"},
            author=author(n) if author else f"Alex <{DEV}>",
            date=date,
            committer=(writer, date) if n == 3 else None,
        )
        for n, date in enumerate(STEPS)
    ]
    repo.checkout("main")
    repo.git("merge", "--quiet", "--squash", "reviews")
    squash = repo.commit("Reviews (#538)", {}, author=f"Alex <{DEV}>", date=MERGED,
                         committer=("GitHub <noreply@github.com>", MERGED))  # fmt: skip
    evidence = repo.path / "compliance"
    evidence.mkdir()
    people = {"jimmy": ["jimmy@coreos.example", "jzelinskie"], "alex": [DEV, "allevin"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    (evidence / "deploys.yaml").write_text(yaml.safe_dump([_deployment(squash)]))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    shas = dict(zip([*PR538, BASE], [*steps, squash, base], strict=True))
    export = _copy(FIXTURES / "github-pr538", tmp_path / "gh-export", shas)
    reviews = saved_items(export / "538" / "reviews.json")
    reviews[0] |= {"commit_id": steps[-1], "submitted_at": "2017-03-25T16:52:19Z"}
    (export / "538" / "reviews.json").write_text(saved_pages(reviews))
    commits = saved_items(export / "538" / "commits.json")
    for commit, date in zip(commits, STEPS, strict=True):
        commit["commit"]["committer"] = {"name": "Alex Levin", "email": DEV, "date": date}
        commit["committer"] = {"login": "allevin", "id": 13543471, "type": "User"}
    address = writer.partition("<")[2].rstrip(">")
    commits[3]["commit"]["committer"] = {"name": "Jimmy", "email": address}
    commits[3]["committer"] = {"login": "jzelinskie", "id": 343539, "type": "User"}
    if writer == LAPTOP:
        commits[3]["commit"]["author"]["email"] = address
        commits[3]["author"] = commits[3]["committer"] = None
    (export / "538" / "commits.json").write_text(saved_pages(commits))
    return repo, export, squash


@pytest.mark.parametrize(
    ("writer", "said"),
    [(JIMMY, "1 by an author of the change"), (LAPTOP, f"1 {UNNAMED}")],
)
def test_github_leaves_out_the_approval_of_a_change_its_approver_may_have_written(
    tmp_path: Path, writer: str, said: str
) -> None:
    repo, export, squash = _github(tmp_path, writer)
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and said in result.err
    _drop_branch(repo)
    assert _unreviewed(repo) == {squash}


GITLAB_WRITERS = {
    "committer": ("John Doe <jdoe@example.com>", "Administrator <root@example.com>", ()),
    "co-author": (
        "John Doe <jdoe@example.com>",
        None,
        ("Co-authored-by: Admin <root@example.com>",),
    ),
    "nameless": ("John Doe <jdoe@jdoe-laptop>", None, ()),
    "private": ("John Doe <jdoe@example.com>", "Admin <1-root@users.noreply.gitlab.example>", ()),
}
"""How root, the approver, may have written !5's commit: (author, committer, trailers)."""


def _gitlab(tmp_path: Path, how: str) -> tuple[ScriptedRepo, Path, str]:
    """Merge request !5 of GitLab's example squashed, its one commit written as ``how`` says
    (the approval by root undated, so recorded at the merge); the squash commit."""
    author, committer, trailers = GITLAB_WRITERS[how]
    repo = ScriptedRepo(tmp_path / "gl")
    base = repo.commit("base", {"README": "x\n"}, author=VINCENT, date="2016-06-01T00:00:00Z")
    repo.branch("reviews")
    date = "2016-06-08T00:10:00Z"
    head = repo.commit("Add the approvals API", {"api.py": "1\n"}, author=author, date=date,
                       committer=(committer, date) if committer else None,
                       trailers=trailers)  # fmt: skip
    repo.checkout("main")
    repo.git("merge", "--quiet", "--squash", "reviews")
    squash = repo.commit("Merge !5", {}, author="John Doe <jdoe@example.com>",
                         date="2016-06-08T21:20:42Z")  # fmt: skip
    export = _copy(FIXTURES / "gitlab", tmp_path / "gl-export",
                   {"8888888888888888888888888888888888888888": head})  # fmt: skip
    requests = json.loads((export / "merge_requests.json").read_text())
    requests[0] |= {"merge_commit_sha": None, "squash_commit_sha": squash}
    (export / "merge_requests.json").write_text(json.dumps(requests))
    saved = export / "5" / "commits.json"
    text, [commit] = saved.read_text(), saved_items(saved)
    address = (committer or author).partition("<")[2].rstrip(">")
    message = repo.git("log", "-1", "--format=%B", head)
    changed = commit | {"committer_email": address, "message": message}
    if how == "nameless":
        changed["author_email"] = address
    saved.write_text(text.replace(json.dumps(commit), json.dumps(changed)))
    assert address in saved.read_text()
    evidence = repo.path / "compliance"
    evidence.mkdir()
    people = {"admin": ["root@example.com", "root"], "john": ["jdoe@example.com", "jdoe"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    (evidence / "deploys.yaml").write_text(yaml.safe_dump([_deployment(squash, "2016-06-09")]))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    return repo, export, squash


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("committer", "1 by an author of the change"),
        ("co-author", "1 by an author of the change"),
        ("nameless", f"1 {UNNAMED}"),
        # GitLab's private commit address names root: read as an address alone, it was a
        # second person's, and root's approval counted (exit 0)
        ("private", "1 by an author of the change"),
    ],
)
def test_gitlab_leaves_out_the_approval_of_a_change_its_approver_may_have_written(
    tmp_path: Path, how: str, said: str
) -> None:
    repo, export, squash = _gitlab(tmp_path, how)
    result = run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                     "--project", "group/app", "--api-url", "http://gitlab.dev",
                     "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and said in result.err
    _drop_branch(repo)
    assert _unreviewed(repo) == {squash}


def test_github_leaves_out_the_approvals_of_a_change_whose_merge_names_nobody(
    tmp_path: Path,
) -> None:
    """The commit written from Jimmy's laptop is a merge of the base into the branch (as
    ``git merge`` writes it where user.email is unset), which can hold code of its own that
    the squash lands. Merges were passed over, so Jimmy's approval counted, and once the
    branch was deleted check passed (exit 0)."""
    repo, export, squash = _github(tmp_path, LAPTOP)
    commits = saved_items(export / "538" / "commits.json")
    commits[3]["parents"] = [{"sha": commits[2]["sha"]}, {"sha": commits[0]["sha"]}]
    (export / "538" / "commits.json").write_text(saved_pages(commits))
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and f"1 {UNNAMED}" in result.err
    _drop_branch(repo)
    assert _unreviewed(repo) == {squash}


@pytest.mark.parametrize(
    ("how", "said"),
    [("committer", "1 by an author of the change"), ("nameless", f"1 {UNNAMED}")],
)
def test_gitlab_leaves_out_the_approval_of_a_change_whose_merge_its_approver_may_have_written(
    tmp_path: Path, how: str, said: str
) -> None:
    """!5's commit is a merge of the target into the source branch, committed by root or from
    a laptop: merges were passed over, so root's approval counted and check passed."""
    repo, export, squash = _gitlab(tmp_path, how)
    saved = export / "5" / "commits.json"
    text, [commit] = saved.read_text(), saved_items(saved)
    merge = commit | {"parent_ids": [commit["id"], "1" * 40]}
    saved.write_text(text.replace(json.dumps(commit), json.dumps(merge)))
    assert "1" * 40 in saved.read_text()
    result = run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                     "--project", "group/app", "--api-url", "http://gitlab.dev",
                     "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and said in result.err
    _drop_branch(repo)
    assert _unreviewed(repo) == {squash}


def test_github_leaves_out_the_approval_of_a_committer_named_by_a_no_reply_address(
    tmp_path: Path,
) -> None:
    """Jimmy committed the last commit as 343539+jzelinskie@users.noreply.github.com, and the
    export links it to no account (``committer`` null). The no-reply address was read as a
    login only in a co-author line, so Jimmy's approval counted and check passed (exit 0)."""
    repo, export, squash = _github(tmp_path, JIMMY)
    commits = saved_items(export / "538" / "commits.json")
    commits[3]["commit"]["committer"]["email"] = "343539+jzelinskie@users.noreply.github.com"
    commits[3]["committer"] = None
    (export / "538" / "commits.json").write_text(saved_pages(commits))
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by an author of the change" in result.err
    _drop_branch(repo)
    assert _unreviewed(repo) == {squash}


def test_github_leaves_out_the_approval_of_a_committer_by_another_login_of_theirs(
    tmp_path: Path,
) -> None:
    """Jimmy committed the last commit from his other account, jimmy-home, with an address
    identities.yaml does not list; identities.yaml lists jimmy-home as Jimmy. A committer's
    login was compared as it is spelt, never resolved to its person as an author's is, so
    Jimmy's approval as jzelinskie counted and check passed (exit 0)."""
    repo, export, squash = _github(tmp_path, JIMMY)
    commits = saved_items(export / "538" / "commits.json")
    commits[3]["commit"]["committer"]["email"] = "jimmy@personal.example"
    commits[3]["committer"] = {"login": "jimmy-home", "id": 999001, "type": "User"}
    (export / "538" / "commits.json").write_text(saved_pages(commits))
    people = {"jimmy": ["jimmy@coreos.example", "jzelinskie", "jimmy-home"], "alex": [DEV]}
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(people))
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by an author of the change" in result.err
    _drop_branch(repo)
    assert _unreviewed(repo) == {squash}
