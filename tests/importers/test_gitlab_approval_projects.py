"""Saved GitLab merge requests, approvals and notes are the project's that ``--project`` names.
GitLab gives every merge request its ``web_url`` (``https://HOST/GROUP/PROJECT/-/merge_requests/
IID``), its ``references.full`` (``GROUP/PROJECT!IID``), its ``project_id`` and
``target_project_id``; its ``/approvals`` and its notes give the ``project_id`` and its
instance-wide ``id`` (a note's ``noteable_id``). A sandbox copy's !5, approved, saved and
imported, was the audited project's review, and check passed on a commit nobody in it
reviewed. A record that names another project, or none, is refused; so is a saved file with
no ``--project``.

On merge request !5 of tests/importers/fixtures/forges/gitlab (sources in its README), as
tests/importers/test_landed_merges.py prepares it: merged by a merge commit, approved by root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers import workspaces
from tests.importers.forge_server import Forge, gitlab_merge_request_routes, serve
from tests.importers.test_landed_merges import _gitlab
from tests.importers.workspaces import check, edit, named

PROJECT = "group/app"
HOST = "https://gitlab.dev"


def _import(repo: ScriptedRepo, export: Path, *options: str) -> CliResult:
    options = named("--project", PROJECT, options)
    options += () if "--api-url" in options else ("--api-url", "http://gitlab.dev")
    return run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                   "--repo", repo.path, *options)  # fmt: skip


def _moved(export: Path, path: str, number: int = 77) -> None:
    """The saved output as GitLab gives it for another project, at ``path`` with id
    ``number``: its merge requests' addresses, references and ids, its approvals' and its
    notes' ids (a merge request's id is the instance's: another project's !5 has another)."""

    def requests(items: list[dict[str, Any]]) -> None:
        for mr in items:
            mr |= {"id": mr["id"] + 1000, "project_id": number, "target_project_id": number}
            mr |= {"source_project_id": number, "references": {"full": f"{path}!{mr['iid']}"}}
            mr["web_url"] = f"{HOST}/{path}/-/merge_requests/{mr['iid']}"

    edit(export / "merge_requests.json", requests)
    edit(export / "5" / "approvals.json", lambda a: a.update(id=1005, project_id=number))
    edit(
        export / "5" / "notes.json",
        lambda notes: [note.update(noteable_id=1005, project_id=number) for note in notes],
    )


def _refused(result: CliResult, repo: ScriptedRepo, *said: str) -> None:
    workspaces.refused(result, repo.path / "compliance" / "reviews.jsonl", *said)


def test_the_projects_own_merge_requests_are_imported(tmp_path: Path) -> None:
    repo, export, _ = _gitlab(tmp_path, "merge")
    workspaces.review_imported(repo, lambda: _import(repo, export), f"{PROJECT}!5")
    # GitLab's paths are one regardless of case, and the project is also named by its id.
    assert _import(repo, export, "--project", "Group/App").code == 0
    assert _import(repo, export, "--project", "1").code == 0


@pytest.mark.parametrize("path", ["group/app-sandbox", "sandbox/group/app", "group/ap"])
def test_another_projects_merge_requests_are_refused(tmp_path: Path, path: str) -> None:
    """A sandbox copy, a subgroup ending in the same path, a path the audited one begins
    with: !5 approved there, and check passed on it as the audited project's."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    _moved(export, path)
    said = f"item #1 (merge request !5) is, by its web_url, of project {path}, not {PROJECT}"
    _refused(_import(repo, export), repo, f"{export / 'merge_requests.json'}: {said}",
             "check --project")  # fmt: skip
    _refused(_import(repo, export, "--project", "1"), repo,
             "item #1 (merge request !5) is of project id 77, not 1")  # fmt: skip
    assert check(repo).code == 1


def test_a_saved_file_without_a_project_is_refused(tmp_path: Path) -> None:
    """Nothing on the command line said whose merge requests the file holds: a sandbox
    copy's were imported as the audited project's, and check passed."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    _moved(export, "group/app-sandbox")
    result = run_cli("import", "gitlab-approvals", export / "merge_requests.json", export,
                     "--repo", repo.path)  # fmt: skip
    workspaces.unnamed_refused(repo, result, "give --project PATH")
    half = run_cli("import", "gitlab-approvals", export / "merge_requests.json", "--project",
                   PROJECT, "--repo", repo.path)  # fmt: skip
    _refused(half, repo, "give MRS.json DIR and --project PATH")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"web_url": f"{HOST}/group/app-sandbox/-/merge_requests/5"},
            "is, by its web_url, of project group/app-sandbox",
        ),
        (
            {"references": {"full": "group/app-sandbox!5"}},
            "is, by its references.full, of project group/app-sandbox",
        ),
        ({"web_url": f"{HOST}/group/app/-/merge_requests/6"}, "is not merge request !5's"),
        ({"references": {"full": "group/app!6"}}, "is not merge request !5's"),
        ({"web_url": f"{HOST}/group/app/-/issues/5"}, "is no merge request's address"),
        ({"references": {"full": "!5"}}, "is no merge request's reference"),
        ({"target_project_id": 77}, "by its target_project_id, is of project id 77, but item #1"),
    ],
)
def test_addresses_that_disagree_are_refused(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    """Each address and id the merge request gives, not only one, must be the project's."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    edit(export / "merge_requests.json", lambda items: items[0].update(change))
    _refused(_import(repo, export), repo, f"{export / 'merge_requests.json'}: item #1", said)


def test_merge_requests_of_two_project_ids_are_refused(tmp_path: Path) -> None:
    """The same path on another instance is another project, with its own id: a file holds
    one project's merge requests, the open ones too."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    edit(export / "merge_requests.json", lambda items: items[1].update(project_id=77))
    _refused(_import(repo, export), repo, "item #2 (merge request !6) is of project id 77, but "
             "item #1 (merge request !5) of project id 1")  # fmt: skip


def test_a_merge_request_that_names_no_project_is_refused(tmp_path: Path) -> None:
    """Trimmed of its addresses (by path) or of its ids (by id), nothing shows it is the
    project's; GitLab gives every merge request all of them."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    path = export / "merge_requests.json"
    listed = path.read_text()
    edit(path, lambda items: [mr.pop(key) for mr in items for key in ("web_url", "references")])
    _refused(_import(repo, export), repo, "item #1 (merge request !5) names no project",
             "--project group/app alone")  # fmt: skip
    path.write_text(listed)
    ids = ("project_id", "target_project_id", "source_project_id")
    edit(path, lambda items: [mr.pop(key) for mr in items for key in ids])
    _refused(_import(repo, export, "--project", "1"), repo,
             "item #1 (merge request !5) names no project")  # fmt: skip


def test_approvals_or_notes_of_another_project_or_of_none_are_refused(tmp_path: Path) -> None:
    """The sandbox's !5's approvals or notes saved under the audited project's !5; a note
    trimmed of its ``noteable_id`` (which GitLab gives every note) names no merge request."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    approvals, notes = export / "5" / "approvals.json", export / "5" / "notes.json"
    saved = approvals.read_text(), notes.read_text()
    edit(approvals, lambda a: a.update(id=1005, project_id=77))
    _refused(_import(repo, export), repo, f"{approvals}: these are the approvals of another "
             "merge request (project_id 77)")  # fmt: skip
    approvals.write_text(saved[0])
    edit(notes, lambda n: n[0].update(noteable_id=1005, project_id=77))
    _refused(_import(repo, export), repo, f"{notes}: item #1 is a note of project 77")
    edit(notes, lambda n: [n[0].pop(key) for key in ("noteable_id", "project_id")])
    _refused(_import(repo, export), repo, f"{notes}: item #1 names no merge request")


def test_an_instance_under_a_path_is_read_after_it(tmp_path: Path) -> None:
    """A self-managed instance at ``https://HOST/gitlab`` writes its addresses under that
    path: given as ``--api-url``, the project's path is read after it. GitLab before 12 wrote
    ``/GROUP/PROJECT/merge_requests/IID``."""
    repo, export, _ = _gitlab(tmp_path, "merge")

    def written(form: str) -> None:
        def change(items: list[dict[str, Any]]) -> None:
            for mr in items:
                mr["web_url"] = form.format(iid=mr["iid"])

        edit(export / "merge_requests.json", change)

    written(HOST + "/gitlab/group/app/-/merge_requests/{iid}")
    _refused(_import(repo, export), repo, "is, by its web_url, of project gitlab/group/app")
    assert _import(repo, export, "--api-url", f"{HOST}/gitlab").code == 0
    written(HOST + "/group/app/merge_requests/{iid}")
    assert _import(repo, export).code == 0


def test_the_project_alone_is_fetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--project`` alone fetches, as before: the request names the project, its answers
    are not compared, and the records are those the saved output of the same answers gives."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    with serve(Forge(gitlab_merge_request_routes(export, 5, "/projects/group%2Fapp"))) as forge:
        fetched = run_cli("import", "gitlab-approvals", "--project", PROJECT,
                          "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    assert fetched.code == 0, fetched.err
    workspaces.fetched_as_saved(
        repo.path / "compliance" / "reviews.jsonl", lambda: _import(repo, export)
    )


@pytest.mark.parametrize("api", ["https://gitlab.example.com/api/v4", "https://gitlab.com"])
def test_the_same_path_on_another_instance_is_refused(tmp_path: Path, api: str) -> None:
    """!5 of group/app on a staging instance (the fixture's gitlab.dev), read as the
    group/app of another instance: its approvals counted for the audited project's commits."""
    repo, export, _ = _gitlab(tmp_path, "merge")
    host = api.split("/")[2]
    _refused(_import(repo, export, "--api-url", api), repo,
             f"web_url '{HOST}/{PROJECT}/-/merge_requests/5' is on gitlab.dev, not on the "
             f"instance --api-url names ({host})")  # fmt: skip
