"""The GitHub and GitLab importers on recorded and published API responses
(tests/importers/fixtures/forges, sources in its README), from saved output and fetched through the
forges' clients from a stand-in server on 127.0.0.1, through to the rules in a check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.importers.common import named_ref
from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import Forge, gitlab_merge_request_routes, serve
from tests.importers.workspaces import GITLAB_DEPLOYMENTS, saved_items, saved_pages, with_headers

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "forges"
DEV = "allevin@sandia.gov"
# The real shas of PyGithub#538, in order: its four commits, then the merge commit.
PR538 = [
    "2f0e4e55fe87e38d26efc9aa1346f56abfbd6c52",
    "f383603f7d51f9e87ec18adf499ed3930d722cfe",
    "7a0fcb27b7cd6c346fc3f76216ccb6e0f4ca3bcc",
    "b6b127d732586df5dcf0444df73621f240ca4bb2",
    "2525515b094d7425f7018eb5b66171e21c5fbc10",
]
BASE = "414f6e648f4da87f10bae7d01948a63dc82b80f8"


def pr538_repo(
    tmp_path: Path, *, trailers: dict[int, str] | None = None, authors: dict[int, str] | None = None
) -> tuple[ScriptedRepo, dict[str, str]]:
    """A repository shaped like PyGithub#538: a base, four commits on a branch, a merge; and a
    deployment of the merge. ``trailers`` and ``authors`` change a commit of the four, by its
    place among them; the map gives the real sha of each commit ours stands for."""
    repo = ScriptedRepo(tmp_path / "pygithub")
    base = repo.commit("base", {"README": "x\n"}, author="Vincent <jacquev6@example.com>",
                       date="2017-03-01T00:00:00Z")  # fmt: skip
    repo.branch("reviews")
    repo.checkout("reviews")
    dates = ["2017-03-20T20:44:26Z", "2017-03-21T18:59:22Z", "2017-03-21T19:00:11Z",
             "2017-03-24T20:45:04Z"]  # fmt: skip
    ours = [
        repo.commit(
            f"step {n}",
            {f"f{n}.py": f"{n}\n"},
            author=(authors or {}).get(n, f"Alex <{DEV}>"),
            date=date,
            trailers=tuple(filter(None, [(trailers or {}).get(n)])),
        )
        for n, date in enumerate(dates)
    ]
    repo.checkout("main")
    merged = repo.merge(
        "reviews",
        "Merge #538",
        author="Vincent <jacquev6@example.com>",
        date="2017-03-25T16:52:49Z",
    )
    ours.append(merged)
    evidence = repo.path / "compliance"
    evidence.mkdir()
    deploys = [
        {
            "id": "D1",
            "service": "pygithub",
            "environment": "production",
            "commit": ours[-1],
            "started_at": "2017-03-26T09:00:00Z",
            "deployer": "ops@example.com",
            "approvals": [{"by": "lead@example.com", "at": "2017-03-26T08:00:00Z"}],
            "targets": [{"host": "web-1", "status": "succeeded"}],
        }
    ]
    (evidence / "deploys.yaml").write_text(yaml.safe_dump(deploys, sort_keys=False))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    return repo, dict(zip([*PR538, BASE], [*ours, base], strict=True))


def _copy(source: Path, target: Path, shas: dict[str, str]) -> Path:
    """A fixture folder, with the real shas replaced by the test repository's."""
    shutil.copytree(source, target)
    for path in target.rglob("*.json"):
        text = path.read_text()
        for real, ours in shas.items():
            text = text.replace(real, ours)
        path.write_text(text)
    return target


def _unreviewed(repo: ScriptedRepo) -> set[str]:
    result = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2018-01-01")
    assert result.code in (0, 1), result.err
    return {f["subject"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"}


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _import_538(repo: ScriptedRepo, export: Path) -> CliResult:
    return run_cli("import", "github-reviews", export / "pulls.json", export,
                   "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip


def test_approval_of_an_earlier_head_is_judged_by_range(tmp_path: Path) -> None:
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    result = _import_538(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted (1 of an earlier head, recorded with its commit)" in result.err
    assert "1 pending, never submitted" in result.err
    [record] = _records(repo.path / "compliance" / "reviews.jsonl")
    assert record == {
        "change": "PyGithub/PyGithub#538",
        "author": "allevin",
        "commits": [shas[s] for s in PR538],
        "approvals": [{"by": "jzelinskie", "at": "2017-03-22T19:06:59Z", "commit": shas[PR538[2]]}],
        "source": "github-reviews",
    }
    # Until identities.yaml maps the logins, they name nobody and nothing counts.
    assert _unreviewed(repo) == {shas[s] for s in PR538}
    people = {"jimmy": ["jimmy@coreos.example", "jzelinskie"], "alex": [DEV, "allevin"]}
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(people))
    # What was pushed after the approval, and the merge, are not covered by it.
    assert _unreviewed(repo) == {shas[PR538[3]], shas[PR538[4]]}


def test_reimport_updates_a_changed_record_and_keeps_the_old_one(tmp_path: Path) -> None:
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    assert _import_538(repo, export).code == 0
    # A login mapped since: the same source now gives an address.
    people = {"jimmy": ["jimmy@coreos.example", "jzelinskie"], "alex": [DEV, "allevin"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    again = _import_538(repo, export)
    assert again.code == 0, again.err
    assert "0 added, 0 already there, 1 updated" in again.err
    assert "superseded.jsonl: PyGithub/PyGithub#538" in again.err
    [record] = _records(evidence / "reviews.jsonl")
    assert record["author"] == DEV
    assert record["approvals"][0]["by"] == "jimmy@coreos.example"
    [trace] = _records(evidence / "superseded.jsonl")
    assert trace["id"] == "PyGithub/PyGithub#538" and trace["changed"] == ["approvals", "author"]
    assert trace["was"]["approvals"][0]["by"] == "jzelinskie"
    # The approval dismissed after the merge: the record loses it, the trace grows.
    reviews = saved_items(export / "538" / "reviews.json")
    reviews[0]["state"] = "DISMISSED"
    (export / "538" / "reviews.json").write_text(saved_pages(reviews))
    dismissed = _import_538(repo, export)
    assert dismissed.code == 0 and "1 updated" in dismissed.err
    assert _records(evidence / "reviews.jsonl")[0]["approvals"] == []
    assert len(_records(evidence / "superseded.jsonl")) == 2
    assert set(shas[s] for s in PR538) <= _unreviewed(repo)
    # The same again changes nothing.
    before = (evidence / "superseded.jsonl").read_bytes()
    same = _import_538(repo, export)
    assert same.code == 0 and "0 added, 1 already there" in same.err
    assert (evidence / "superseded.jsonl").read_bytes() == before


def _since_then_before(
    repo: ScriptedRepo, since: Path, before: Path
) -> tuple[CliResult, Path, bytes]:
    """#538's files saved since its dismissal imported, then those saved before: the second
    import refused (exit 2); with the evidence and the record the first wrote."""
    evidence = repo.path / "compliance"
    people = {"jimmy": ["jimmy@coreos.example", "jzelinskie"], "alex": [DEV, "allevin"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    assert _import_538(repo, since).code == 0
    recorded = (evidence / "reviews.jsonl").read_bytes()
    old = _import_538(repo, before)
    assert old.code == 2, old.err
    return old, evidence, recorded


def test_files_saved_before_a_dismissal_never_bring_the_approval_back(tmp_path: Path) -> None:
    """#538's files saved before its approval was dismissed after the merge, imported again
    after the files saved since: they replaced the record, the withdrawn approval counted
    again, and check passed. An update never adds an approval to a GitHub record."""
    repo, shas = pr538_repo(tmp_path)
    before = _copy(FIXTURES / "github-pr538", tmp_path / "before", shas)
    since = _copy(FIXTURES / "github-pr538", tmp_path / "since", shas)
    reviews = saved_items(since / "538" / "reviews.json")
    reviews[0]["state"] = "DISMISSED"
    (since / "538" / "reviews.json").write_text(saved_pages(reviews))
    old, evidence, recorded = _since_then_before(repo, since, before)
    assert (
        "reviews.jsonl:1: review 'PyGithub/PyGithub#538': this import counts the approval by "
        "jimmy@coreos.example given at 2017-03-22T19:06:59Z, which the record imported earlier "
        "does not" in old.err
    )
    assert (evidence / "reviews.jsonl").read_bytes() == recorded
    assert not (evidence / "superseded.jsonl").exists()
    assert {shas[s] for s in PR538} <= _unreviewed(repo)


@pytest.mark.parametrize(
    "respell",
    [
        pytest.param(lambda pull: pull["base"]["repo"].update(full_name="pygithub/pygithub"),
                     id="full_name-in-another-case"),
        pytest.param(lambda pull: pull["base"].pop("repo"), id="base-repo-trimmed"),
    ],
)  # fmt: skip
def test_files_saved_before_a_dismissal_under_another_name_are_refused_too(
    tmp_path: Path, respell: Any
) -> None:
    """The same attack, the older files' pull request named otherwise (its base.repo's
    full_name in another case, as GitHub gives it after a rename in case, or trimmed: change
    '#538'): their record was added beside the one without the approval, past the guard, the
    two counted together and check passed (exit 0). A pull request's record is now matched
    regardless of case, and '#538' as --repository's."""
    repo, shas = pr538_repo(tmp_path)
    before = _copy(FIXTURES / "github-pr538", tmp_path / "before", shas)
    since = _copy(FIXTURES / "github-pr538", tmp_path / "since", shas)
    for export, state in ((before, "APPROVED"), (since, "DISMISSED")):
        reviews = saved_items(export / "538" / "reviews.json")
        reviews[0].update(state=state, commit_id=shas[PR538[3]])  # approves the final head
        (export / "538" / "reviews.json").write_text(saved_pages(reviews))
    pulls = json.loads((before / "pulls.json").read_text())
    respell(pulls[0])
    (before / "pulls.json").write_text(json.dumps(pulls))
    old, evidence, recorded = _since_then_before(repo, since, before)
    assert "review 'PyGithub/PyGithub#538': this import counts the approval by" in old.err
    assert (evidence / "reviews.jsonl").read_bytes() == recorded
    assert {shas[s] for s in PR538} <= _unreviewed(repo)


def test_a_pull_request_named_otherwise_brings_its_record_up_to_date(tmp_path: Path) -> None:
    """Files saved since, naming the pull request in another case, replace its record rather
    than adding one beside it (which kept a withdrawn approval counted); a second record of
    one pull request, which an import made before, is named rather than picked from."""
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    assert _import_538(repo, export).code == 0
    reviews = saved_items(export / "538" / "reviews.json")
    reviews[0]["state"] = "DISMISSED"
    (export / "538" / "reviews.json").write_text(saved_pages(reviews))
    pulls = json.loads((export / "pulls.json").read_text())
    pulls[0]["base"]["repo"]["full_name"] = "pygithub/pygithub"
    (export / "pulls.json").write_text(json.dumps(pulls))
    result = _import_538(repo, export)
    assert result.code == 0, result.err
    records = _records(evidence / "reviews.jsonl")
    assert [(r["change"], r["approvals"]) for r in records] == [("PyGithub/PyGithub#538", [])]
    twice = [records[0], {**records[0], "change": "#538"}]
    (evidence / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in twice))
    again = _import_538(repo, export)
    assert again.code == 2, again.err
    assert "reviews.jsonl: pull request pygithub/pygithub#538 is recorded more than once" in (
        again.err
    )


def test_reimport_updates_a_yaml_evidence_file_in_place(tmp_path: Path) -> None:
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    other = {"change": "other#1", "author": "a@example.com", "commits": [shas[BASE]]}
    head = "# exported by hand\n" + yaml.safe_dump([other], sort_keys=False)
    (evidence / "reviews.yaml").write_text(head)
    assert _import_538(repo, export).code == 0
    (evidence / "identities.yaml").write_text(yaml.safe_dump({"j": ["j@x.example", "jzelinskie"]}))
    assert _import_538(repo, export).code == 0
    text = (evidence / "reviews.yaml").read_text()
    assert text.startswith(head) and "j@x.example" in text and "by: jzelinskie" not in text


def test_a_commit_list_at_githubs_limit_is_refused(tmp_path: Path) -> None:
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    commits = saved_items(export / "538" / "commits.json")
    (export / "538" / "commits.json").write_text(saved_pages(commits * 63))
    result = _import_538(repo, export)
    assert result.code == 2 and "lists 252 commits: GitHub lists no more than 250" in result.err
    assert "--repository" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def _github_routes(export: Path) -> dict[str, list[Any]]:
    base = "/repos/PyGithub/PyGithub"
    pull = json.loads((export / "pulls.json").read_text())[0]
    older = {**pull, "number": 400, "url": pull["url"].replace("/538", "/400"),
             "updated_at": "2016-01-01T00:00:00Z"}  # fmt: skip
    reviews = saved_items(export / "538" / "reviews.json")
    return {
        f"{base}/pulls": [[pull, older]],
        f"{base}/pulls/538/reviews": [reviews[:2], reviews[2:]],
        f"{base}/pulls/538/commits": [saved_items(export / "538" / "commits.json")],
        f"{base}/issues/538/events": [saved_items(export / "538" / "events.json")],
    }


def _anonymous_pr538(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ScriptedRepo, dict[str, str], dict[str, list[Any]]]:
    """#538's repository, and its routes for a stand-in GitHub fetched from without a token."""
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    return repo, shas, _github_routes(export)


def test_fetched_reviews_are_paged_incremental_and_wait_out_the_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    forge = Forge(_github_routes(export), rate_limited={"/repos/PyGithub/PyGithub/pulls"})
    with serve(forge):
        result = run_cli(
            "import", "github-reviews", "--repository", "PyGithub/PyGithub",
            "--api-url", forge.url, "--since", "2017-01-01T00:00:00Z", "--repo", repo.path,
        )  # fmt: skip
    assert result.code == 0, result.err
    assert forge.requests.count("/repos/PyGithub/PyGithub/pulls") == 2  # waited, then asked again
    assert forge.requests.count("/repos/PyGithub/PyGithub/pulls/538/reviews") == 2  # two pages
    assert not [r for r in forge.requests if "/pulls/400" in r]  # older than --since
    fetched = _records(repo.path / "compliance" / "reviews.jsonl")
    (repo.path / "compliance" / "reviews.jsonl").unlink()
    assert _import_538(repo, export).code == 0
    assert _records(repo.path / "compliance" / "reviews.jsonl") == fetched


def test_a_long_pull_request_is_fetched_through_the_compare_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, shas, routes = _anonymous_pr538(tmp_path, monkeypatch)
    base = "/repos/PyGithub/PyGithub"
    commits = routes[f"{base}/pulls/538/commits"][0]
    routes[f"{base}/pulls/538/commits"] = [commits * 63]  # cut at the limit, as GitHub does
    pull = {**routes[f"{base}/pulls"][0][0], "commits": 4}
    routes[f"{base}/pulls"] = [[routes[f"{base}/pulls"][0][0]]]
    routes[f"{base}/pulls/538"] = [pull]
    compare = f"{base}/compare/{pull['base']['sha']}...{pull['head']['sha']}"
    routes[compare] = [{"commits": commits[:3]}, {"commits": commits[3:]}]
    with serve(Forge(routes)) as forge:
        result = run_cli(
            "import", "github-reviews", "--repository", "PyGithub/PyGithub",
            "--api-url", forge.url, "--repo", repo.path,
        )  # fmt: skip
    assert result.code == 0, result.err
    [record] = _records(repo.path / "compliance" / "reviews.jsonl")
    assert record["commits"] == [shas[s] for s in PR538]


def test_fetch_failures_are_input_errors(tmp_path: Path) -> None:
    repo, _ = pr538_repo(tmp_path)
    with serve(Forge()) as forge:
        result = run_cli(
            "import", "github-reviews", "--repository", "no/such", "--api-url", forge.url,
            "--repo", repo.path,
        )  # fmt: skip
    assert result.code == 2 and "HTTP 404" in result.err and "Traceback" not in result.err
    # Saved output with --repository is read as that repository's; half of it is refused.
    saved = run_cli("import", "github-reviews", "p.json", "d", "--repository", "a/b")
    assert saved.code == 2 and "p.json" in saved.err and "Traceback" not in saved.err
    half = run_cli("import", "github-reviews", "p.json", "--repository", "a/b")
    assert half.code == 2 and "give PULLS.json REVIEWS_DIR and --repository" in half.err


# -- deployments --------------------------------------------------------------------------------


def _deploy_repo(tmp_path: Path, real: str) -> tuple[ScriptedRepo, dict[str, str]]:
    repo = ScriptedRepo(tmp_path / "app")
    sha = repo.commit("release", {"app.py": "1\n"}, author="dev@example.com",
                      date="2016-01-01T00:00:00Z")  # fmt: skip
    (repo.path / "compliance").mkdir()
    return repo, {real: sha}


def test_github_deployments_with_environment_approvals(tmp_path: Path) -> None:
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    people = {"pascal": ["pascal@example.com", "jacquev6"], "mona": ["octo@example.com", "octocat"]}
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(people))
    argv = ["import", "github-deployments", export / "deployments.json", export,
            "--repository", "PyGithub/PyGithub",
            "--service", "pygithub", "--target", "web-1", "--repo", repo.path]  # fmt: skip
    result = run_cli(*argv)
    assert result.code == 0, result.err
    assert "1 finished deployments and 1 unfinished (started, no outcome yet: failed)" in result.err
    assert "1 for another environment" in result.err and "1 rejected, not approved" in result.err
    queued, record = _records(repo.path / "compliance" / "deploys.jsonl")
    # 263877258, as recorded: three queued statuses and no outcome. A job killed after one
    # (or a tool that posts queued, then deploys) may have put its commit on hosts: it was
    # passed over as never started, and a deployment that reached hosts was never judged.
    assert queued["id"] == "PyGithub/PyGithub/deployments/263877258"
    assert (queued["environment"], queued["started_at"]) == ("test", "2020-08-26T11:44:53Z")
    assert "finished_at" not in queued
    assert queued["targets"] == [{"host": "web-1", "status": "failed", "reason": (
        "the deployment has not finished: it may have started, and its last status is queued "
        "(2020-08-26T14:32:51Z), with no success, failure or error status")}]  # fmt: skip
    assert record == {
        "id": "PyGithub/PyGithub/deployments/262350588",
        "service": "pygithub",
        "environment": "production",
        "commit": shas["743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5"],
        "started_at": "2020-08-26T11:47:30Z",
        "finished_at": "2020-08-26T11:52:10Z",
        "deployer": "pascal@example.com",
        "approvals": [{"by": "octo@example.com", "at": "2020-08-26T11:45:02Z"}],
        "targets": [{"host": "web-1", "status": "succeeded"}],
        "source": "github-deployments",
    }
    # The statuses link a run, and no run.json names who started it: the deployer cannot be
    # known (a bot, or a machine user, created the deployment).
    (export / "262350588" / "run.json").unlink()
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    refused = run_cli(*argv)
    assert refused.code == 2 and "run.json" in refused.err and "missing" in refused.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_github_deployment_of_a_commit_not_in_the_repository_is_refused(tmp_path: Path) -> None:
    repo, _ = _deploy_repo(tmp_path, "unused")
    export = FIXTURES / "github-deployments"
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", "PyGithub/PyGithub",
                     "--service", "pygithub", "--repo", repo.path)  # fmt: skip
    assert result.code == 2 and "which is not in" in result.err


def test_gitlab_deployments_and_their_approvals(tmp_path: Path) -> None:
    repo, shas = _deploy_repo(tmp_path, "a91957a858320c0e17f3a0eca7cfacbff50ea29a")
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", shas)
    with_headers(export / "deployments.json", GITLAB_DEPLOYMENTS)
    result = run_cli("import", "gitlab-deployments", export / "deployments.json",
                     "--project", "group/app", "--service", "app", "--api-url", "http://gitlab.dev",
                     "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert "1 blocked, not a finished run" in result.err and "no --target named" in result.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["id"] == "group/app/deployments/42" and record["targets"] == []
    assert record["ref"] == "main"  # the branch GitLab deployed, beside the commit
    typo = run_cli("import", "gitlab-deployments", export / "deployments.json", "--project",
                   "group/app", "--service", "app", "--environment", "prodution",
                   "--api-url", "http://gitlab.dev", "--repo", repo.path)  # fmt: skip
    assert typo.code == 2, typo.err  # a typo imports nothing, and must not pass (below)
    assert "no deployment to prodution was listed (environments listed: production)" in typo.err
    # the job's creation: the deployment record itself was created after its job finished
    assert record["started_at"] == "2016-08-11T11:32:24.456Z"
    assert record["approvals"] == [{"by": "security-user-1", "at": "2022-02-24T20:22:30.097Z"}]


def _gitlab_repo(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    repo, shas = _deploy_repo(tmp_path, "8888888888888888888888888888888888888888")
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", shas)
    return repo, export


def test_gitlab_approvals_count_only_where_approvals_reset_on_push(tmp_path: Path) -> None:
    repo, export = _gitlab_repo(tmp_path)
    argv = ["import", "gitlab-approvals", export / "merge_requests.json", export,
            "--project", "group/app", "--api-url", "http://gitlab.dev",
            "--repo", repo.path]  # fmt: skip
    settings = json.loads((export / "project-approvals.json").read_text())
    settings["reset_approvals_on_push"] = False
    (export / "project-approvals.json").write_text(json.dumps(settings))
    kept = run_cli(*argv)
    assert kept.code == 0, kept.err
    assert "0 approvals counted" in kept.err and "1 may predate the last push" in kept.err
    settings["reset_approvals_on_push"] = True
    (export / "project-approvals.json").write_text(json.dumps(settings))
    reset = run_cli(*argv)
    assert reset.code == 0 and "1 updated" in reset.err, reset.err
    assert "1 merged merge requests (1 not merged, skipped)" in reset.err
    [record] = _records(repo.path / "compliance" / "reviews.jsonl")
    assert record["change"] == "group/app!5"
    assert record["approvals"] == [{"by": "root", "at": "2016-06-08T21:20:42.470Z"}]
    # The example's merge commit is not in the repository: nothing shows what it holds, so it
    # is not credited to the merge request (tests/importers/test_landed_merges.py).
    assert record["commits"] == [repo.git("rev-parse", "HEAD")]
    assert (
        "1 merge or squash commits left out" in reset.err and "1 not in the repository" in reset.err
    )
    (export / "project-approvals.json").unlink()
    missing = run_cli(*argv)
    assert missing.code == 2 and "reset_approvals_on_push" in missing.err


def test_gitlab_fetched_through_python_gitlab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, export = _gitlab_repo(tmp_path)
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    base = "/projects/group%2Fapp"
    sha = saved_items(export / "5" / "commits.json")[0]["id"]
    saved = (FIXTURES / "gitlab" / "deployments.json").read_text()
    deployments = json.loads(saved.replace("a91957a858320c0e17f3a0eca7cfacbff50ea29a", sha))
    listed = [{k: v for k, v in d.items() if k != "approvals"} for d in deployments]
    routes = {
        **gitlab_merge_request_routes(export, 5, base),
        f"{base}/deployments": [listed[:1], listed[1:]],
        f"{base}/deployments/42": [deployments[0]],
    }
    with serve(Forge(routes)) as forge:
        api = forge.url  # python-gitlab adds /api/v4
        approvals = run_cli("import", "gitlab-approvals", "--project", "group/app",
                            "--api-url", api, "--repo", repo.path)  # fmt: skip
        deploys = run_cli("import", "gitlab-deployments", "--fetch", "--project", "group/app",
                          "--service", "app", "--target", "app-1", "--api-url", api,
                          "--repo", repo.path)  # fmt: skip
    assert approvals.code == 0, approvals.err
    assert deploys.code == 0, deploys.err
    assert forge.requests.count(f"{base}/deployments") == 2  # two pages
    [review] = _records(repo.path / "compliance" / "reviews.jsonl")
    assert review["approvals"] == [{"by": "root", "at": "2016-06-08T21:20:42.470Z"}]
    [deployment] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert deployment["approvals"][0]["by"] == "security-user-1"
    assert deployment["targets"] == [{"host": "app-1", "status": "succeeded"}]


def test_a_gitlab_without_state_events_is_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitLab before 13.2 has no resource_state_events, and a token that may not read them is
    answered 404 too: the import stops, saying what is missing and what to do, and writes
    nothing (an empty list would say the merge request was never reopened)."""
    repo, export = _gitlab_repo(tmp_path)
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    base = "/projects/group%2Fapp"
    routes = gitlab_merge_request_routes(export, 5, base)
    del routes[f"{base}/merge_requests/5/resource_state_events"]
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-approvals", "--project", "group/app",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    assert result.code == 2, result.err
    assert "merge_requests/5/resource_state_events: HTTP 404" in result.err
    assert "no state events" in result.err and "GitLab 13.2 or later" in result.err
    assert "Traceback" not in result.err and "check --project" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_an_approval_naming_a_commit_outside_its_change_covers_nothing(tmp_path: Path) -> None:
    """A squash-merged branch never fetched, or a force-pushed head: the approval's commit
    cannot be placed, so it must not cover the change's commits as if it named none."""
    repo, shas = pr538_repo(tmp_path)
    ours = [shas[s] for s in PR538]
    approval = {"by": "jimmy@example.com", "at": "2017-03-22T19:06:59Z"}
    # Naming none, it covers what was committed by then: not the fourth, pushed on the 24th.
    pushed_after = {shas[PR538[3]]}
    cases = ((None, pushed_after), ("0" * 40, set(ours)), (shas[BASE], set(ours)))
    for commit, unreviewed in cases:
        record = {
            "change": "PyGithub/PyGithub#538",
            "author": DEV,
            "commits": ours,
            "approvals": [approval if commit is None else {**approval, "commit": commit}],
        }
        (repo.path / "compliance" / "reviews.jsonl").write_text(json.dumps(record) + "\n")
        assert _unreviewed(repo) == unreviewed, commit


def test_imported_github_deployment_is_judged_by_the_rules(tmp_path: Path) -> None:
    """The environment approval counts for REVIEW-001 unless the deployer gave it; a host of
    the service that the job does not deploy to is FLEET-001."""
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    (evidence / "fleet.yaml").write_text(
        yaml.safe_dump({"services": {"pygithub": {"hosts": ["web-1", "web-2"]}}})
    )
    deployment = "PyGithub/PyGithub/deployments/262350588"
    for octocat_is_the_deployer, review_001 in ((False, set()), (True, {deployment})):
        people = {"pascal": ["pascal@example.com", "jacquev6"], "mona": ["octo@example.com"]}
        people["pascal" if octocat_is_the_deployer else "mona"].append("octocat")
        (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
        (evidence / "deploys.jsonl").unlink(missing_ok=True)
        imported = run_cli("import", "github-deployments", export / "deployments.json", export,
                           "--repository", "PyGithub/PyGithub",
                           "--service", "pygithub", "--environment", "production",
                           "--target", "web-1", "--repo", repo.path)  # fmt: skip
        assert imported.code == 0, imported.err
        result = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2021-01-01")
        assert result.code == 1, result.err
        found = {(f["rule"], f["subject"]) for f in result.json()["findings"]}
        assert {s for r, s in found if r == "REVIEW-001"} == review_001
        assert ("FLEET-001", f"{deployment}:web-2") in found
        assert ("FLEET-001", f"{deployment}:web-1") not in found


def test_a_forge_import_never_replaces_a_record_another_importer_or_a_person_wrote(
    tmp_path: Path,
) -> None:
    """A real Ansible run recorded under the GitHub deployment's id (the deploy job runs the
    playbook): the forge's "success" must not overwrite smars-03's skipped release."""
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    deployment = "PyGithub/PyGithub/deployments/262350588"
    knight = FIXTURES.parent / "ansible" / "knight" / "result.json"
    ansible = run_cli("import", "ansible", knight, "--repo", repo.path, "--deployment-id",
                      deployment, "--service", "pygithub", "--commit", "main", "--deployer",
                      "pascal@example.com", "--release-task", "Install the release",
                      "--not-check-mode")  # fmt: skip
    assert ansible.code == 0, ansible.err
    before = (evidence / "deploys.jsonl").read_bytes()
    assert _records(evidence / "deploys.jsonl")[0]["source"] == "ansible"
    argv = ["import", "github-deployments", export / "deployments.json", export,
            "--repository", "PyGithub/PyGithub", "--service",
            "pygithub", "--repo", repo.path]  # fmt: skip
    for host in ("smars-01", "smars-02", "smars-03", "smars-04"):
        argv += ["--target", host]
    forge = run_cli(*argv)
    assert forge.code == 2, forge.err
    assert f"deployment {deployment!r} was recorded by import ansible" in forge.err
    assert (evidence / "deploys.jsonl").read_bytes() == before
    assert not (evidence / "superseded.jsonl").exists()
    # Written by hand (no source): the same.
    record = _records(evidence / "deploys.jsonl")[0]
    del record["source"]
    (evidence / "deploys.jsonl").write_text(json.dumps(record) + "\n")
    by_hand = run_cli(*argv)
    assert by_hand.code == 2 and "recorded by hand or by an earlier import" in by_hand.err
    assert not (evidence / "superseded.jsonl").exists()


def test_a_forge_record_is_brought_up_to_date_by_its_own_importer(tmp_path: Path) -> None:
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    argv = ["import", "github-deployments", export / "deployments.json", export,
            "--repository", "PyGithub/PyGithub", "--service", "pygithub",
            "--environment", "production", "--target", "web-1", "--repo", repo.path]  # fmt: skip
    assert run_cli(*argv).code == 0
    assert _records(evidence / "deploys.jsonl")[0]["source"] == "github-deployments"
    (evidence / "identities.yaml").write_text(
        yaml.safe_dump({"mona": ["octo@x.example", "octocat"]})
    )
    again = run_cli(*argv)
    assert again.code == 0 and "1 updated" in again.err, again.err
    assert _records(evidence / "deploys.jsonl")[0]["approvals"][0]["by"] == "octo@x.example"


def test_a_pull_request_listed_twice_is_imported_once(tmp_path: Path) -> None:
    """A list read page by page while a pull request moved (``gh api --paginate``): the same
    pull request on two pages. Made here from #538's recorded object."""
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    evidence = repo.path / "compliance"
    [pull] = json.loads((export / "pulls.json").read_text())
    (export / "pulls.json").write_text(json.dumps([pull, pull]))
    same = _import_538(repo, export)
    assert same.code == 0, same.err
    assert f"{export / 'pulls.json'}: pull request #538 is listed 2 times" in same.err
    assert len(_records(evidence / "reviews.jsonl")) == 1


@pytest.mark.parametrize("stale_first", [True, False])
def test_of_a_pull_request_listed_twice_differently_the_later_is_kept(
    tmp_path: Path, stale_first: bool
) -> None:
    """Listed first while still closed unmerged, then merged and listed again."""
    repo, shas = pr538_repo(tmp_path)
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    [pull] = json.loads((export / "pulls.json").read_text())
    stale = {**pull, "merged_at": None, "updated_at": "2017-03-25T16:00:00Z"}
    listed = [stale, pull] if stale_first else [pull, stale]
    (export / "pulls.json").write_text(json.dumps(listed))
    result = _import_538(repo, export)
    assert result.code == 0, result.err
    assert "1 merged pull requests (0 not merged, skipped)" in result.err
    assert "differently: the one updated at 2018-03-20T14:15:45Z is kept" in result.err
    # The same time on both, and different contents: which is current cannot be told.
    (export / "pulls.json").write_text(
        json.dumps([pull, {**stale, "updated_at": pull["updated_at"]}])
    )
    (repo.path / "compliance" / "reviews.jsonl").unlink()
    ambiguous = _import_538(repo, export)
    assert ambiguous.code == 2 and f"{export / 'pulls.json'}: pull request #538" in ambiguous.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_pull_request_on_two_fetched_pages_is_fetched_and_imported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _, routes = _anonymous_pr538(tmp_path, monkeypatch)
    base = "/repos/PyGithub/PyGithub"
    [[pull, older]] = routes[f"{base}/pulls"]
    routes[f"{base}/pulls"] = [[pull], [pull, older]]  # shifted down a place between pages
    with serve(Forge(routes)) as forge:
        result = run_cli(
            "import", "github-reviews", "--repository", "PyGithub/PyGithub",
            "--api-url", forge.url, "--since", "2017-01-01T00:00:00Z", "--repo", repo.path,
        )  # fmt: skip
    assert result.code == 0, result.err
    assert "pull request #538 is listed 2 times" in result.err
    assert forge.requests.count(f"{base}/pulls/538/reviews") == 2  # its two pages, once
    assert len(_records(repo.path / "compliance" / "reviews.jsonl")) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("main", "main"),
        ("v1.4", "v1.4"),
        ("release/2012-07", "release/2012-07"),
        ("743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5", None),  # GitHub's ref when asked by sha
        ("743f5a58", None),
        ("bad ref\x1b[31m", None),  # not a name git allows: left out, never judged anyway
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_a_forges_ref_is_recorded_only_as_a_branch_or_tag(
    value: object, expected: str | None
) -> None:
    assert named_ref(value, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5") == expected


@pytest.mark.parametrize(
    "saved",
    [
        "approvals of !7",
        "approval_state",
        "approvals without iid",
        "approvals of another project's !5",
        "approvals without project_id",
        "a merge request list without ids",
        "commits without the head",
    ],
)
def test_gitlab_objects_saved_for_another_merge_request_are_refused(
    tmp_path: Path, saved: str
) -> None:
    """GitLab's documented ``/approvals`` answer names its merge request (``iid``): one saved
    under 5/ that answers for !7 counted for !5; ``/approval_state`` names none, so nothing
    shows it is !5's (saved under 5/, !7's would count for !5); a commit list without !5's
    head is not !5's."""
    repo, export = _gitlab_repo(tmp_path)
    settings = json.loads((export / "project-approvals.json").read_text())
    (export / "project-approvals.json").write_text(
        json.dumps({**settings, "reset_approvals_on_push": True})
    )
    if saved == "approvals of !7":
        approvals = json.loads((export / "5" / "approvals.json").read_text())
        (export / "5" / "approvals.json").write_text(json.dumps({**approvals, "iid": 7}))
        said = "these are the approvals of merge request !7, saved for !5"
    elif saved == "approval_state":
        shutil.copy(FIXTURES / "gitlab" / "approval_state.json", export / "5" / "approvals.json")
        said = "approvals.json: these approvals name no merge request (no iid: GitLab's"
    elif saved == "approvals without iid":
        approvals = json.loads((export / "5" / "approvals.json").read_text())
        del approvals["iid"]
        (export / "5" / "approvals.json").write_text(json.dumps(approvals))
        said = "so nothing shows they are !5's"
    elif saved == "approvals of another project's !5":  # iids are numbered per project
        approvals = json.loads((export / "5" / "approvals.json").read_text())
        other = {**approvals, "project_id": 555, "id": 7777}
        (export / "5" / "approvals.json").write_text(json.dumps(other))
        said = "these are the approvals of another merge request (project_id 555), saved for !5"
    elif saved == "a merge request list without ids":  # trimmed with jq: nothing to compare
        listed = json.loads((export / "merge_requests.json").read_text())
        trimmed = [{k: v for k, v in mr.items() if k not in ("id", "project_id")} for mr in listed]
        (export / "merge_requests.json").write_text(json.dumps(trimmed))
        said = "the merge request list gives no project_id for !5"
    elif saved == "approvals without project_id":
        approvals = json.loads((export / "5" / "approvals.json").read_text())
        del approvals["project_id"]
        (export / "5" / "approvals.json").write_text(json.dumps(approvals))
        said = "these approvals give no project_id, so nothing shows they are of this project's !5"
    else:
        (export / "5" / "commits.json").write_text(saved_pages())
        said = "this is not merge request !5's commit list"
    result = run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                     "--project", "group/app", "--api-url", "http://gitlab.dev",
                     "--repo", repo.path)  # fmt: skip
    assert result.code == 2, result.err
    assert said in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def _machine_user_export(tmp_path: Path) -> tuple[ScriptedRepo, Path, list[str]]:
    """PyGithub's deployment as a pipeline's machine user (a ``User`` account) creates it,
    its run started by octocat, who also approves the environment."""
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    items = saved_items(export / "deployments.json")
    for item in items:
        item["creator"] = {**item["creator"], "login": "deploy-svc", "type": "User"}
    (export / "deployments.json").write_text(saved_pages(items))
    run = json.loads((export / "262350588" / "run.json").read_text())
    octocat = {**run["triggering_actor"], "login": "octocat"}
    (export / "262350588" / "run.json").write_text(json.dumps({**run, "triggering_actor": octocat}))
    people = {"svc": ["svc@example.com", "deploy-svc"], "mona": ["octo@example.com", "octocat"]}
    (repo.path / "compliance" / "identities.yaml").write_text(yaml.safe_dump(people))
    argv = ["import", "github-deployments", export / "deployments.json", export,
            "--repository", "PyGithub/PyGithub",
            "--service", "pygithub", "--environment", "production", "--target", "web-1",
            "--repo", repo.path]  # fmt: skip
    return repo, export, argv


def test_the_deployer_is_who_started_the_run_whoever_created_the_deployment(
    tmp_path: Path,
) -> None:
    """The creator is a machine user, not a bot: run.json was read only for bots, so the
    deployer was the machine user and octocat's approval of his own deployment counted."""
    repo, _, argv = _machine_user_export(tmp_path)
    imported = run_cli(*argv)
    assert imported.code == 0, imported.err
    [record] = _records(repo.path / "compliance" / "deploys.jsonl")
    assert record["deployer"] == "octo@example.com"
    result = run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2021-01-01")
    found = {(f["rule"], f["subject"]) for f in result.json()["findings"]}
    assert ("REVIEW-001", "PyGithub/PyGithub/deployments/262350588") in found


@pytest.mark.parametrize(
    "saved",
    ["no run at all", "no run, no link", "a run of another deployment", "statuses of another"],
)
def test_objects_saved_for_another_github_deployment_are_refused(
    tmp_path: Path, saved: str
) -> None:
    """Statuses name their deployment (``deployment_url``) and link their run: a run.json or
    statuses.json saved in the wrong folder is refused, not read as this deployment's."""
    repo, export, argv = _machine_user_export(tmp_path)
    folder = export / "262350588"
    if saved == "no run at all":  # the machine user would be the deployer
        (folder / "run.json").unlink()
        said = "missing for deployment 262350588: approvals.json holds a workflow run's"
    elif saved == "no run, no link":  # statuses without their run's URL: approvals still say
        (folder / "run.json").unlink()
        statuses = saved_items(folder / "statuses.json")
        (folder / "statuses.json").write_text(
            saved_pages([{**s, "log_url": "", "target_url": ""} for s in statuses])
        )
        said = "missing for deployment 262350588: approvals.json holds a workflow run's"
    elif saved == "a run of another deployment":
        run = json.loads((folder / "run.json").read_text())
        (folder / "run.json").write_text(json.dumps({**run, "id": 31000000}))
        said = "this is workflow run 31000000, but deployment 262350588's statuses link to run"
    else:
        statuses = saved_items(folder / "statuses.json")
        url = "https://api.github.com/repos/PyGithub/PyGithub/deployments/263877258"
        (folder / "statuses.json").write_text(
            saved_pages([{**s, "deployment_url": url} for s in statuses])
        )
        said = "is a status of another deployment"
    result = run_cli(*argv)
    assert result.code == 2 and said in result.err, result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_gitlab_commit_list_holding_the_target_branchs_commits_is_refused(
    tmp_path: Path,
) -> None:
    """The merge request list (what the docs save) gives no ``diff_refs``: a commit list saved
    from the head's whole history covered a hotfix pushed to main before the branch was
    opened. The target branch before the merge (the merge commit's first parent) bounds it."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"a": "0"}, author="dev@example.com", date="2024-05-01T09:00:00Z")
    hot = repo.commit("hotfix", {"h": "1"}, author="dev@example.com", date="2024-05-01T12:00:00Z")
    repo.branch("feature")
    head = repo.commit("part 1", {"f": "1"}, author="dev@example.com", date="2024-05-02T09:00:00Z")
    repo.checkout("main")
    merge = repo.merge("feature", "Merge !1", author="dev@example.com", date="2024-05-03T09:00:00Z")
    export = tmp_path / "gl"
    (export / "1").mkdir(parents=True)
    mr = {"id": 101, "iid": 1, "project_id": 7, "state": "merged", "sha": head,
          "merge_commit_sha": merge, "merged_at": "2024-05-03T09:00:00Z",
          "author": {"username": "dana"}}  # fmt: skip
    (export / "merge_requests.json").write_text(json.dumps([mr]))
    (export / "project-approvals.json").write_text(json.dumps({"reset_approvals_on_push": True}))
    approvals = {
        "id": 101,
        "iid": 1,
        "project_id": 7,
        "approved_by": [{"user": {"username": "lee"}}],
    }
    (export / "1" / "approvals.json").write_text(json.dumps(approvals))
    (export / "1" / "commits.json").write_text(saved_pages([{"id": s} for s in (head, hot, base)]))
    (export / "1" / "notes.json").write_text(saved_pages())
    (export / "1" / "resource_state_events.json").write_text(saved_pages())
    opened = {"id": 1, "head_commit_sha": head, "base_commit_sha": base,
              "created_at": "2024-05-02T09:00:00Z", "merge_request_id": 101,
              "patch_id_sha": None}  # fmt: skip
    (export / "1" / "versions.json").write_text(saved_pages([opened]))
    result = run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                     "--project", "7", "--api-url", "http://gitlab.dev",
                     "--repo", repo.path)  # fmt: skip
    assert result.code == 2, result.err
    assert f"commit {base[:12]} is listed" in result.err or f"commit {hot[:12]}" in result.err
    assert "this is not merge request !1's commit list" in result.err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["github-reviews", "pulls.json"], "give PULLS.json REVIEWS_DIR and --repository "
         "OWNER/REPO, or --repository OWNER/REPO alone"),
        (["gitlab-approvals", "--project", "group/app", "mrs.json"], "give MRS.json DIR and "
         "--project PATH, or --project PATH alone"),
        (["github-deployments", "deployments.json", "--service", "s", "--target", "t"],
         "give DEPLOYMENTS.json DIR and --repository OWNER/REPO, or --repository OWNER/REPO "
         "alone"),
    ],
)  # fmt: skip
def test_saved_output_given_in_part_is_refused(tmp_path: Path, argv: list[str], said: str) -> None:
    """A saved file without its folder is neither saved output nor a fetch."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("c", {"f": "1"}, author=DEV, date="2024-01-01T00:00:00Z")
    result = run_cli("import", *argv, "--repo", repo.path)
    assert result.code == 2 and said in result.err, result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("body", "said"),
    [
        # GitHub's error body as `gh api` writes it to the file (status added in 2024).
        ({"message": "Not Found", "status": "404", "documentation_url":
          "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run"}, "Not Found"),
        # GitLab's, for a token without access.
        ({"error": "insufficient_scope", "error_description": "The request requires higher "
          "privileges than provided by the access token.", "scope": "read_api"}, "higher"),
    ],
)  # fmt: skip
def test_a_saved_api_error_is_named_as_one(tmp_path: Path, body: dict[str, str], said: str) -> None:
    """A request that failed when the export was saved leaves the forge's error body in the
    file: it was read as a workflow run without an id ("this is workflow run None")."""
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    (export / "262350588" / "run.json").write_text(json.dumps(body))
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", "PyGithub/PyGithub",
                     "--service", "pygithub", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    assert result.code == 2, result.err
    assert "run.json" in result.err and "holds an API error" in result.err and said in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def test_a_deployment_created_at_without_a_zone_names_the_deployments_file(
    tmp_path: Path,
) -> None:
    """A deployment whose statuses never say ``in_progress`` starts at its ``created_at``,
    which was read unchecked and refused later, as a record's start, naming statuses.json."""
    repo, shas = _deploy_repo(tmp_path, "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5")
    export = _copy(FIXTURES / "github-deployments", tmp_path / "export", shas)
    listed = saved_items(export / "deployments.json")
    for item in listed:
        item["created_at"] = item["created_at"].rstrip("Z")
    (export / "deployments.json").write_text(saved_pages(listed))
    statuses = export / "262350588" / "statuses.json"
    kept = [s for s in saved_items(statuses) if s["state"] != "in_progress"]
    statuses.write_text(saved_pages(kept))
    result = run_cli("import", "github-deployments", export / "deployments.json", export,
                     "--repository", "PyGithub/PyGithub",
                     "--service", "pygithub", "--target", "web-1", "--repo", repo.path)  # fmt: skip
    assert result.code == 2, result.err
    assert "deployments.json" in result.err and "statuses.json" not in result.err
    assert "created_at" in result.err and "has no time zone" in result.err
