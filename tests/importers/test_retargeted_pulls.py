"""A change whose base was changed after its approval: the approval covers only what the
approver saw against the base of the time, never the commits the new base brings in.

The attack: a commit nobody reviewed is pushed to an unprotected branch ``dev``; a pull request
from ``feature`` to ``dev`` is approved on its head; then its base is changed to ``main``
(GitHub keeps the approval unless "dismiss stale approvals" is on). GitHub now lists ``dev``'s
commit among the pull request's, and one approval of the head covered it: REVIEW-002 passed a
deployment of a commit nobody reviewed.

On PyGithub#538's recorded objects (tests/importers/fixtures/forges, sources in its README), with
their shas replaced by those of a repository built here, and GitLab's recorded retarget probe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import (
    Forge,
    github_pull_routes,
    gitlab_merge_request_routes,
    serve,
)
from tests.importers.test_forges import BASE, DEV, FIXTURES, PR538, _copy
from tests.importers.test_landed_merges import pr538_steps
from tests.importers.workspaces import saved_items, saved_pages

VINCENT = "Vincent <jacquev6@example.com>"
APPROVED = "2017-03-25T10:00:00Z"
MERGED = "2017-03-25T16:52:49Z"
BEFORE_THE_BASE_CHANGED = "1 given before the pull request's base was changed"
BEFORE_THE_TARGET_CHANGED = "before the merge request's target branch was changed"
PEOPLE = {"jimmy": ["jimmy@coreos.example", "jzelinskie"], "alex": [DEV, "allevin"]}


def _repository(tmp_path: Path) -> tuple[ScriptedRepo, str, list[str], str]:
    """main at a base; ``dev`` one unreviewed commit ahead of it; #538's four commits on a
    branch from ``dev``; their merge into main, deployed. The base, the unreviewed commit,
    the four and the merge."""
    repo = ScriptedRepo(tmp_path / "pygithub")
    base = repo.commit("base", {"README": "x\n"}, author=VINCENT, date="2017-03-01T00:00:00Z")
    repo.branch("dev")
    repo.checkout("dev")
    unreviewed = repo.commit(
        "skip the risk checks", {"risk.py": "CHECK = False\n"}, author=f"Alex <{DEV}>",
        date="2017-03-19T09:00:00Z",
    )  # fmt: skip
    repo.branch("reviews")
    repo.checkout("reviews")
    steps = pr538_steps(repo)
    repo.checkout("main")
    merged = repo.merge("reviews", "Merge #538", author=VINCENT, date=MERGED)
    _deployed(repo, base, PEOPLE, ("pygithub", merged, "2017-03-26"))
    return repo, unreviewed, steps, merged


def _deployed(
    repo: ScriptedRepo, base: str, people: dict[str, list[str]], deployed: tuple[str, str, str]
) -> None:
    """The repository's own evidence: ``people``'s identities, and one approved deployment
    (a service, its commit, its day) to one host; knightwatch.yaml's baseline ``base``."""
    service, commit, day = deployed
    evidence = repo.path / "compliance"
    evidence.mkdir()
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    deploy = {
        "id": "D1", "service": service, "environment": "production", "commit": commit,
        "started_at": f"{day}T09:00:00Z", "deployer": "ops@example.com",
        "approvals": [{"by": "lead@example.com", "at": f"{day}T08:00:00Z"}],
        "targets": [{"host": "web-1", "status": "succeeded"}],
    }  # fmt: skip
    (evidence / "deploys.yaml").write_text(yaml.safe_dump([deploy], sort_keys=False))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")


def _retargeted(
    tmp_path: Path, changed_at: str | None, kind: str = "base_ref_changed"
) -> tuple[ScriptedRepo, Path, str]:
    """The repository, and #538's objects as GitHub gives them after its base was changed
    from ``dev`` to ``master`` at ``changed_at`` (None: never changed) by an event of ``kind``:
    approved on its final head at ``APPROVED``, its commits listed against master, ``dev``'s
    commit first; the unreviewed commit."""
    repo, unreviewed, steps, merged = _repository(tmp_path)
    base = repo.git("rev-parse", f"{merged}^1")
    shas = dict(zip([*PR538, BASE], [*steps, merged, base], strict=True))
    export = _copy(FIXTURES / "github-pr538", tmp_path / "export", shas)
    folder = export / "538"
    reviews = saved_items(folder / "reviews.json")
    reviews[0] |= {"commit_id": steps[-1], "submitted_at": APPROVED}
    (folder / "reviews.json").write_text(saved_pages(reviews))
    commits = saved_items(folder / "commits.json")
    added = json.loads(json.dumps(commits[0]))
    added["sha"] = unreviewed
    added["commit"] |= {"message": "skip the risk checks", "author": {
        "name": "Alex Levin", "email": DEV, "date": "2017-03-19T09:00:00Z"}}  # fmt: skip
    (folder / "commits.json").write_text(saved_pages([added, *commits]))
    if changed_at is not None:
        events = saved_items(folder / "events.json")
        changed = json.loads((FIXTURES / "github-events" / "base_ref_changed.json").read_text())
        events.append(changed | {"event": kind, "created_at": changed_at})
        events.sort(key=lambda event: event["created_at"])
        (folder / "events.json").write_text(saved_pages(events))
    return repo, export, unreviewed


def _check(repo: ScriptedRepo) -> CliResult:
    return run_cli("check", "--repo", repo.path, "--format", "json", "--as-of", "2018-01-01")


def _unreviewed(result: CliResult) -> set[str]:
    return {f["subject"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"}


def _covers_nothing(repo: ScriptedRepo, result: CliResult, said: str, unreviewed: str) -> None:
    """Asserts the import counted no approval, saying ``said``, and check finds ``unreviewed``."""
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert said in result.err
    check = _check(repo)
    assert check.code == 1, check.out
    assert unreviewed in _unreviewed(check)


def _import(repo: ScriptedRepo, export: Path) -> CliResult:
    return run_cli("import", "github-reviews", export / "pulls.json", export,
                   "--repository", "PyGithub/PyGithub", "--repo", repo.path)  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    [
        "base_ref_changed",
        "automatic_base_change_succeeded",
        "base_ref_force_pushed",
        "automatic_base_change_failed",
    ],
)
def test_an_approval_given_before_the_base_was_changed_covers_nothing(
    tmp_path: Path, kind: str
) -> None:
    """The false pass: the approval of the head covered ``dev``'s commit, listed since the
    base was changed, and the check passed (exit 0) a deployment holding it. GitHub moves a
    stacked pull request's base itself when the branch below it is deleted
    (``automatic_base_change_succeeded``); a force-push of the base
    (``base_ref_force_pushed``) brings the commits it dropped into the list just the same. When
    it fails to (``automatic_base_change_failed``), the base branch is deleted under it."""
    repo, export, unreviewed = _retargeted(tmp_path, "2017-03-25T12:00:00Z", kind)
    _covers_nothing(repo, _import(repo, export), BEFORE_THE_BASE_CHANGED, unreviewed)


@pytest.mark.parametrize("changed_at", [None, "2017-03-25T09:00:00Z", "2017-03-26T09:00:00Z"])
def test_an_approval_given_on_the_base_it_merged_into_counts(
    tmp_path: Path, changed_at: str | None
) -> None:
    """Approved after the change of base (or with none, or one after the merge, which changed
    nothing that was merged), the approver saw the pull request against master, ``dev``'s
    commit among its changes: it covers it."""
    repo, export, _ = _retargeted(tmp_path, changed_at)
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    check = _check(repo)
    assert check.code == 0, check.out
    assert _unreviewed(check) == set()


def _base_pushed_again(tmp_path: Path, recorded: tuple[str, ...], approved: str) -> tuple[Any, ...]:
    """#538 approved on its head at ``approved``; then its base ``dev`` deleted (GitHub closes
    the pull request), pushed again where master is, and the pull request reopened: GitHub now
    lists it against the new ``dev``, the old ``dev``'s unreviewed commit among its commits.
    ``recorded``: which of ``base_ref_deleted``, ``closed`` and ``reopened`` its events hold."""
    repo, export, unreviewed = _retargeted(tmp_path, None)
    folder = export / "538"
    reviews = saved_items(folder / "reviews.json")
    reviews[0]["submitted_at"] = approved
    (folder / "reviews.json").write_text(saved_pages(reviews))
    samples = FIXTURES / "github-events"
    changed = json.loads((samples / "base_ref_changed.json").read_text())
    ours = changed["id"] + 1
    url = changed["url"].replace(str(changed["id"]), str(ours))
    deleted = changed | {"id": ours, "event": "base_ref_deleted", "url": url}
    made = {
        "base_ref_deleted": deleted | {"created_at": "2017-03-25T11:00:00Z"},
        "closed": json.loads((samples / "closed.json").read_text())
        | {"created_at": "2017-03-25T11:00:01Z"},
        "reopened": json.loads((samples / "reopened.json").read_text())
        | {"created_at": "2017-03-25T12:00:00Z"},
    }
    events = saved_items(folder / "events.json") + [made[k] for k in recorded]
    events.sort(key=lambda event: event["created_at"])
    (folder / "events.json").write_text(saved_pages(events))
    return repo, export, unreviewed


@pytest.mark.parametrize(
    "recorded", [("base_ref_deleted", "closed", "reopened"), ("closed", "reopened")]
)
def test_an_approval_given_before_the_base_was_deleted_covers_nothing(
    tmp_path: Path, recorded: tuple[str, ...]
) -> None:
    """The false pass: the approval given before ``dev`` was deleted and pushed again counted
    for the old ``dev``'s unreviewed commit, listed since the reopening, and the check passed
    (exit 0). GitHub records the deletion (``base_ref_deleted``, then ``closed``), but not
    the push of a branch of that name, nor any change of the base while the pull request is
    closed: a reopening is a new start whether or not the deletion is recorded."""
    repo, export, unreviewed = _base_pushed_again(tmp_path, recorded, APPROVED)
    _covers_nothing(repo, _import(repo, export), BEFORE_THE_BASE_CHANGED, unreviewed)


def test_an_approval_given_after_the_reopening_counts(tmp_path: Path) -> None:
    repo, export, _ = _base_pushed_again(
        tmp_path, ("base_ref_deleted", "closed", "reopened"), "2017-03-25T13:00:00Z"
    )
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    assert _check(repo).code == 0


def test_without_the_events_the_import_is_refused_naming_the_file(tmp_path: Path) -> None:
    """An export saved before events.json was needed: exit 2, naming the file to fetch."""
    repo, export, _ = _retargeted(tmp_path, "2017-03-25T12:00:00Z")
    (export / "538" / "events.json").unlink()
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{export / '538' / 'events.json'}: missing for merged pull request #538" in result.err
    assert "repos/OWNER/REPO/issues/538/events" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


@pytest.mark.parametrize("saved", ["another pull request's", "its first page only", "not events"])
def test_events_that_are_not_the_pull_requests_own_are_refused(tmp_path: Path, saved: str) -> None:
    """Events saved from another pull request (its merge names other commits), or cut before
    the merge, could leave out the change of base: refused, naming the file."""
    repo, export, _ = _retargeted(tmp_path, "2017-03-25T12:00:00Z")
    path = export / "538" / "events.json"
    events = saved_items(path)
    if saved == "another pull request's":
        events = [e | {"commit_id": "0" * 40} if e["event"] == "merged" else e for e in events]
    elif saved == "its first page only":
        events = [e for e in events if e["event"] != "merged"]
    else:
        events = [{"id": 1}]
    path.write_text(saved_pages(events))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert str(path) in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_fetched_pull_request_is_judged_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, export, unreviewed = _retargeted(tmp_path, "2017-03-25T12:00:00Z")
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    base = "/repos/PyGithub/PyGithub"
    routes = github_pull_routes(export, 538, base)
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "github-reviews", "--repository", "PyGithub/PyGithub",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert f"{base}/issues/538/events" in forge.requests
    assert BEFORE_THE_BASE_CHANGED in result.err
    assert unreviewed in _unreviewed(_check(repo))


# -- GitLab -------------------------------------------------------------------------------------
#
# GitLab's !5 of its API documentation (tests/importers/fixtures/forges/gitlab), in a repository
# of the attack's shape, and the system note gitlab.com left when a merge request approved on its
# head was retargeted from dev to main (gitlab-retarget/, source in the README).

GL_MERGED = "2016-06-08T21:20:42.470Z"
JOHN = "John Doe <jdoe@example.com>"


def _gitlab(tmp_path: Path, approved_at: str | None, changed_at: str | None) -> tuple[Any, ...]:
    """The repository (main, ``dev`` one unreviewed commit ahead, !5's head on a branch from
    ``dev``, merged into main and deployed) and !5's objects with our shas: approved by root at
    ``approved_at`` (None: undated, as the documentation's example), its target changed from
    ``dev`` to ``main`` at ``changed_at`` (None: never)."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    repo.branch("dev")
    repo.checkout("dev")
    unreviewed = repo.commit("skip the risk checks", {"risk.py": "CHECK = False\n"},
                             author=JOHN, date="2016-06-07T09:00:00Z")  # fmt: skip
    repo.branch("feature")
    repo.checkout("feature")
    head = repo.commit("Add the approvals API", {"api.py": "1\n"}, author=JOHN,
                       date="2016-06-08T00:10:00Z")  # fmt: skip
    repo.checkout("main")
    merged = repo.merge("feature", "Merge !5", author=JOHN, date=GL_MERGED)
    people = {"john": ["jdoe@example.com", "jdoe"], "root": ["root@example.com", "root"]}
    _deployed(repo, base, people, ("app", merged, "2016-06-09"))
    shas = {"8" * 40: head, "9" * 40: merged}
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", shas)
    folder = export / "5"
    commits = saved_items(folder / "commits.json")
    added = commits[0] | {
        "id": unreviewed,
        "short_id": unreviewed[:8],
        "title": "skip the risk checks",
        "message": "skip the risk checks",
    }
    (folder / "commits.json").write_text(saved_pages([*commits, added]))  # newest first
    approvals = json.loads((folder / "approvals.json").read_text())
    if approved_at is not None:
        approvals["approved_by"][0]["approved_at"] = approved_at
    (folder / "approvals.json").write_text(json.dumps(approvals))
    if changed_at is not None:
        notes = saved_items(folder / "notes.json")
        note = json.loads((FIXTURES / "gitlab-retarget" / "target-changed-note.json").read_text())
        note |= {"noteable_id": 5, "noteable_iid": 5, "project_id": 1, "created_at": changed_at}
        (folder / "notes.json").write_text(saved_pages([*notes, note]))
    return repo, export, unreviewed


def _import_gitlab(repo: ScriptedRepo, export: Path) -> CliResult:
    return run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                   "--project", "group/app", "--api-url", "http://gitlab.dev",
                   "--repo", repo.path)  # fmt: skip


@pytest.mark.parametrize("approved_at", [None, "2016-06-08T20:00:00.000Z"])
def test_a_gitlab_approval_before_the_target_branch_changed_covers_nothing(
    tmp_path: Path, approved_at: str | None
) -> None:
    """The same attack on GitLab, where approvals name no commit: one given (or undated, so
    perhaps given) before the target changed covered ``dev``'s commit, and the check passed."""
    repo, export, unreviewed = _gitlab(tmp_path, approved_at, "2016-06-08T20:30:00.000Z")
    _covers_nothing(repo, _import_gitlab(repo, export), BEFORE_THE_TARGET_CHANGED, unreviewed)


@pytest.mark.parametrize(
    ("approved_at", "changed_at"),
    [(None, None), ("2016-06-08T21:00:00.000Z", "2016-06-08T20:30:00.000Z")],
)
def test_a_gitlab_approval_on_the_target_it_merged_into_counts(
    tmp_path: Path, approved_at: str | None, changed_at: str | None
) -> None:
    repo, export, _ = _gitlab(tmp_path, approved_at, changed_at)
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    check = _check(repo)
    assert check.code == 0, check.out


def test_gitlab_without_the_notes_the_import_is_refused_naming_the_file(tmp_path: Path) -> None:
    repo, export, _ = _gitlab(tmp_path, None, None)
    (export / "5" / "notes.json").unlink()
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{export / '5' / 'notes.json'}: missing for merged merge request !5" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_gitlab_notes_of_another_merge_request_are_refused(tmp_path: Path) -> None:
    repo, export, _ = _gitlab(tmp_path, None, None)
    path = export / "5" / "notes.json"
    path.write_text(saved_pages([n | {"noteable_iid": 4} for n in saved_items(path)]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert str(path) in result.err and "saved for merge request !5" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_fetched_gitlab_merge_request_is_judged_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, export, unreviewed = _gitlab(tmp_path, None, "2016-06-08T20:30:00.000Z")
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    base = "/projects/group%2Fapp"
    routes = gitlab_merge_request_routes(export, 5, base)
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-approvals", "--project", "group/app",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    assert result.code == 0, result.err
    assert BEFORE_THE_TARGET_CHANGED in result.err
    assert unreviewed in _unreviewed(_check(repo))


@pytest.mark.parametrize(
    "body",
    [
        "Target branch changed from `dev` to `main`",  # older GitLab's wording, kept as written
        "restored target branch `main`",  # deleted and pushed again, perhaps elsewhere
        "deleted target branch `main`",
    ],
)
def test_every_gitlab_wording_of_a_target_change_counts(tmp_path: Path, body: str) -> None:
    """GitLab keeps a note as it was written: a merge request retargeted under an older
    GitLab says so in its old words, and a target branch deleted and pushed again is a new
    target. An approval before any of them covered ``dev``'s commit, and the check passed."""
    repo, export, unreviewed = _gitlab(tmp_path, "2016-06-08T20:00:00.000Z",
                                       "2016-06-08T20:30:00.000Z")  # fmt: skip
    path = export / "5" / "notes.json"
    notes = saved_items(path)
    notes[-1]["body"] = body
    path.write_text(saved_pages(notes))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err
    assert unreviewed in _unreviewed(_check(repo))


def test_gitlab_notes_of_another_projects_merge_request_are_refused(tmp_path: Path) -> None:
    """iids are numbered per project: !5 of another project, never retargeted, would hide
    this one's change of target."""
    repo, export, _ = _gitlab(tmp_path, "2016-06-08T20:00:00.000Z", "2016-06-08T20:30:00.000Z")
    path = export / "5" / "notes.json"
    notes = saved_items(path)
    path.write_text(saved_pages([n | {"project_id": 2} for n in notes[:-1]]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert str(path) in result.err and "a note of project 2" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # GitLab 13's notes give no project_id (lib/api/entities/note.rb), but every GitLab
        # gives noteable_id, the merge request's id, unique on the instance.
        (lambda n: {k: v for k, v in n.items() if k != "project_id"} | {"noteable_id": 777},
         "a note of merge request id 777"),
        (lambda n: n | {"noteable_type": "Commit", "noteable_iid": None}, "a note of Commit"),
        (lambda n: n | {"noteable_type": "Issue", "noteable_iid": None}, "a note of Issue"),
    ],
)  # fmt: skip
def test_gitlab_notes_that_name_another_noteable_otherwise_are_refused(
    tmp_path: Path, change: Any, message: str
) -> None:
    """Notes of another project's !5 as an older GitLab saved them (no project_id), or of
    another kind of noteable (no noteable_iid), never retargeted, hid this one's change of
    target: the approval given before it counted, and the check passed."""
    repo, export, _ = _gitlab(tmp_path, "2016-06-08T20:00:00.000Z", "2016-06-08T20:30:00.000Z")
    path = export / "5" / "notes.json"
    path.write_text(saved_pages([change(n) for n in saved_items(path)[:-1]]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert str(path) in result.err and message in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
