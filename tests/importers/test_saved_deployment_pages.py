"""Saved deployment lists of several pages. GitLab lists a project's deployments oldest first,
20 a page unless asked for up to 100: a ``deployments.json`` of the first page alone lost the
newest deployment, a failure, and check passed (exit 0). GitHub lists deployments newest first,
30 a page: the first page alone lost the older ones, a failure among them. Then only a last
page of 30 or 100 was refused, and one asked with ``per_page=50`` passed the same way. A saved
list of deployments, GitLab's or GitHub's, or of a GitHub deployment's statuses, must carry its
headers, as reviews, notes and commits must (test_saved_pages.py; GitLab's deployments:
test_gitlab_deployment_pages.py): one page then the empty page is also what a failed page 2
leaves.

On the recorded deployments of tests/importers/fixtures/forges (sources in its README), as
tests/importers/test_gitlab_deployments.py and test_deployment_statuses.py prepare them.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult
from tests.importers import test_deployment_statuses as github
from tests.importers import test_gitlab_deployments as gitlab
from tests.importers.workspaces import bare_pages, linked_pages, refused, saved_items, saved_pages

DEPLOYMENTS = "https://api.github.com/repos/PyGithub/PyGithub/deployments"
"""The list's address, which the ``Link`` header of each saved page names."""


def _first_page_alone(
    repo: ScriptedRepo, path: Path, first: list[dict[str, Any]], imported: Callable[[], CliResult]
) -> CliResult:
    """Asserts ``imported`` refuses ``path`` holding the full page ``first`` alone, saved
    without its headers; its refusal."""
    path.write_text(json.dumps(first))
    result = imported()
    assert result.code == 2, result.err
    assert f"{path}: it is a body saved without its headers (1 JSON array)" in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
    return result


def _gitlab_list(deployment: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` deployments of group/app in GitLab's order (oldest first), one a day from
    deployment 42's; the newest one's job failed."""
    found = []
    for n in range(count):
        item = copy.deepcopy(deployment)
        job = item["deployable"]
        item["id"], item["iid"], job["id"] = 100 + n, 1 + n, 700 + n
        job["web_url"] = f"http://gitlab.dev/group/app/-/jobs/{700 + n}"
        day = f"2016-09-{1 + n % 28:02d}T{n // 28:02d}"
        job["created_at"], job["finished_at"] = f"{day}:10:00.000Z", f"{day}:20:00.000Z"
        item["created_at"] = item["updated_at"] = f"{day}:20:01.000Z"
        item["approvals"][0]["created_at"] = f"{day}:00:00.000Z"
        found.append(item)
    found[-1]["status"] = found[-1]["deployable"]["status"] = "failed"
    return found


@pytest.mark.parametrize("page", [20, 100])
def test_the_first_page_of_gitlab_deployments_alone_is_refused(tmp_path: Path, page: int) -> None:
    repo, export, deployment = gitlab._workspace(tmp_path)
    path = export / "deployments.json"
    listed = _gitlab_list(deployment, page + 1)
    path.write_text(json.dumps(listed[:page]))
    refused = gitlab._import_saved(repo, path)
    assert refused.code == 2, refused.err
    assert f"{path}: it is a body saved without its headers (1 JSON array)" in refused.err
    assert "Traceback" not in refused.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
    path.write_text(saved_pages(listed[:page], listed[page:]))
    both = gitlab._import_saved(repo, path)
    assert both.code == 0, both.err
    assert gitlab._check(repo).code == 1  # the newest deployment failed


def test_gitlab_deployments_filling_their_last_page_then_an_empty_one_are_refused(
    tmp_path: Path,
) -> None:
    """Twenty deployments then the empty page: also what page 1, a failed page 2 and page 3
    leave, asked 20 a page. Refused without headers; with them, the one page is the whole
    list."""
    repo, export, deployment = gitlab._workspace(tmp_path)
    listed = _gitlab_list(deployment, 21)[:20]  # twenty successes, and nothing after them
    path = export / "deployments.json"
    path.write_text(json.dumps(listed) + "\n[]\n")
    result = gitlab._import_saved(repo, path)
    assert result.code == 2, result.err
    assert f"{path}: it is a body saved without its headers (2 JSON arrays)" in result.err
    path.write_text(saved_pages(listed))
    result = gitlab._import_saved(repo, path)
    assert result.code == 0, result.err
    assert "20 finished deployments" in result.err
    assert gitlab._check(repo).code == 0


def _github_list(export: Path, count: int) -> list[dict[str, Any]]:
    """``count`` deployments to production, newest first as GitHub lists them, each a copy of
    262350588 with its statuses, approvals and run, an hour apart; the oldest one failed."""
    listed = saved_items(export / "deployments.json")
    [template] = [item for item in listed if str(item["id"]) == github.DEPLOYMENT]
    found = []
    for n in range(count):
        ident = 262350000 + count - n
        url = f"{template['url'].rsplit('/', 1)[0]}/{ident}"
        item = template | {"id": ident, "url": url, "statuses_url": f"{url}/statuses"}
        shutil.copytree(export / github.DEPLOYMENT, export / str(ident))
        statuses = saved_items(export / str(ident) / "statuses.json")
        hour = f"2020-08-{25 - n // 24:02d}T{23 - n % 24:02d}"
        for status in statuses:
            status["created_at"] = hour + status["created_at"][13:]
            status["deployment_url"] = url
            status["url"] = f"{url}/statuses/{status['id']}"
        if n == count - 1:
            statuses[0]["state"] = "failure"
        (export / str(ident) / "statuses.json").write_text(saved_pages(statuses))
        item["created_at"] = f"{hour}:40:41Z"
        found.append(item)
    return found


@pytest.mark.parametrize("page", [30, 100])
def test_the_first_page_of_github_deployments_alone_is_refused(tmp_path: Path, page: int) -> None:
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, page + 1)
    path = export / "deployments.json"
    _first_page_alone(repo, path, listed[:page], lambda: github._import_saved(repo, export))
    path.write_text(json.dumps([listed[:page], listed[page:]]))  # gh api --paginate --slurp
    cut = github._import_saved(repo, export)  # the last page may be full: asked per_page=1
    assert cut.code == 2 and "it is a body saved without its headers" in cut.err, cut.err
    path.write_text(path.read_text() + "\n[]\n")  # and the page past the last
    bodies = github._import_saved(repo, export)  # two pages: was one between them lost?
    assert bodies.code == 2 and "it is a body saved without its headers" in bodies.err, bodies.err
    path.write_text(linked_pages(DEPLOYMENTS, listed[:page], listed[page:]))
    both = github._import_saved(repo, export)
    assert both.code == 0, both.err
    assert github._check(repo).code == 1  # the oldest deployment failed


def test_pages_of_another_size_cut_after_a_full_one_are_refused(tmp_path: Path) -> None:
    """Saved with ``per_page=50`` and cut after the second page: no page held 30 or 100
    items, so the list was taken for whole, the deployment on the third page, a failure, was
    missing, and check passed (exit 0). Every page saved, then the empty one past the last,
    the list is whole. (GitLab's pages: test_gitlab_deployment_pages.py.)"""
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, 101)
    path = export / "deployments.json"
    path.write_text(json.dumps(listed[:50]) + json.dumps(listed[50:100]))
    result = github._import_saved(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: it is a body saved without its headers" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
    path.write_text(linked_pages(DEPLOYMENTS, listed[:50], listed[50:100], listed[100:]))
    whole = github._import_saved(repo, export)
    assert whole.code == 0, whole.err
    assert github._check(repo).code == 1  # the deployment of the third page failed


def test_a_full_page_of_github_statuses_alone_is_refused(tmp_path: Path) -> None:
    """30 statuses, GitHub's default page, newest first: the oldest, past it, are missing
    (where the deployment started, when it was released, which environment it went to)."""
    repo, export, statuses = github._export(tmp_path)
    success, running, queued = statuses
    waiting = [queued | {"id": 388460000 - n, "state": "waiting"} for n in range(27)]
    path = export / github.DEPLOYMENT / "statuses.json"
    path.write_text(json.dumps([success, running, queued, *waiting]))
    result = github._import_saved(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: it is a body saved without its headers" in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
    path.write_text(json.dumps([success, running, queued, *waiting]) + "[]")
    assert "it is a body saved" in github._import_saved(repo, export).err  # page 2 lost?
    address = f"{DEPLOYMENTS}/{github.DEPLOYMENT}/statuses"
    path.write_text(linked_pages(address, [success, running, queued, *waiting]))
    whole = github._import_saved(repo, export)
    assert whole.code == 0, whole.err
    assert github._check(repo).code == 0


def test_a_github_deployment_listed_on_two_pages_is_imported_once(tmp_path: Path) -> None:
    """GitHub lists deployments newest first: one created while the pages are read pushes the
    last of a page onto the next, and it is listed twice. Recorded twice, the import was
    refused naming deploys.jsonl, which held nothing wrong, rather than the list."""
    repo, export, _ = github._export(tmp_path)
    listed = saved_items(export / "deployments.json")
    two = linked_pages(DEPLOYMENTS, listed, listed[1:], per_page=len(listed))
    (export / "deployments.json").write_text(two)
    result = github._import_saved(repo, export)
    assert result.code == 0, result.err
    assert (
        f"{export / 'deployments.json'}: deployment {github.DEPLOYMENT} is listed 2 times "
        "(the list changed while its pages were read): imported once"
    ) in result.err
    [record] = github._records(repo.path / "compliance" / "deploys.jsonl")
    assert record["id"] == f"PyGithub/PyGithub/deployments/{github.DEPLOYMENT}"


def test_a_first_page_of_fifty_github_deployments_alone_is_refused(tmp_path: Path) -> None:
    """Saved with ``per_page=50``, newest first, the first page held 50 deployments, no page
    size of GitHub's own (30, 100): it was taken for the whole list, the oldest deployment, a
    failure, was missing and the check passed (exit 0). Only the empty page GitHub answers
    past a list's last shows that a page is the last."""
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, 51)
    path = export / "deployments.json"
    path.write_text(json.dumps(listed[:50]))
    refused = github._import_saved(repo, export)
    assert refused.code == 2, refused.err
    assert f"{path}: it is a body saved without its headers" in refused.err
    assert "Traceback" not in refused.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()
    path.write_text(linked_pages(DEPLOYMENTS, listed[:50], listed[50:]))
    whole = github._import_saved(repo, export)
    assert whole.code == 0, whole.err
    assert github._check(repo).code == 1  # the oldest deployment failed


def test_a_first_page_of_fifty_github_statuses_alone_is_refused(tmp_path: Path) -> None:
    """Saved with ``per_page=50``, newest first: 50 ``waiting`` statuses (a job run again
    after the deployment of an unreviewed hotfix, left waiting for a reviewer), without the
    older ones, its start and its success. The deployment was passed over as never started,
    and the check passed (exit 0)."""
    repo, export, statuses, _ = github._hotfix(tmp_path)
    success, running, queued = statuses
    waiting = [
        queued | {"id": 388470050 - n, "state": "waiting",
                  "created_at": f"2020-08-26T12:{59 - n:02d}:00Z"}
        for n in range(50)
    ]  # fmt: skip
    path = export / github.DEPLOYMENT / "statuses.json"
    path.write_text(json.dumps(waiting))
    refused = github._import_saved(repo, export)
    assert refused.code == 2, refused.err
    assert f"{path}: it is a body saved without its headers" in refused.err
    assert "Traceback" not in refused.err
    address = f"{DEPLOYMENTS}/{github.DEPLOYMENT}/statuses"
    path.write_text(linked_pages(address, waiting, [success, running, queued]))
    whole = github._import_saved(repo, export)
    assert whole.code == 0, whole.err
    assert github._check(repo).code == 1  # the unreviewed hotfix was deployed


def _outcome(export: Path, item: dict[str, Any], state: str) -> None:
    """Gives the copy ``item`` of 262350588 the last status ``state``."""
    path = export / str(item["id"]) / "statuses.json"
    statuses = saved_items(path)
    statuses[0]["state"] = state
    path.write_text(saved_pages(statuses))


def _own_runs(export: Path, listed: list[dict[str, Any]]) -> None:
    """Each copy of 262350588 made by a run of its own (run 30433642 plus its place), as
    nightly deployments are, so that each keeps the run's approval."""
    for n, item in enumerate(listed):
        for name in ("statuses.json", "run.json"):
            path = export / str(item["id"]) / name
            text = path.read_text().replace("/runs/30433642/", f"/runs/{30433642 + n}/")
            path.write_text(text.replace('"id": 30433642,', f'"id": {30433642 + n},'))


def test_a_github_list_missing_a_page_between_two_saved_ones_is_refused(tmp_path: Path) -> None:
    """Saved a page at a time with ``per_page=2``: pages 1 and 3 of 3, and the empty page past
    the last. Page 3 holds one deployment, so the file looked like a whole list of three; the
    deployment on page 2, a failed unreviewed hotfix, was missing, and check passed (exit 0).
    Pages saved without
    their headers cannot show that none is missing between them; with them, each page's Link
    header numbers it."""
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, 5)
    _own_runs(export, listed)
    _outcome(export, listed[2], "failure")
    _outcome(export, listed[4], "success")
    hotfix = repo.commit("hotfix", {"app.py": "2\n"}, author="Dev <dev@example.com>",
                         date="2016-01-02T00:00:00Z")  # fmt: skip
    listed[2] |= {"sha": hotfix, "ref": hotfix}
    pages = [listed[:2], listed[2:4], listed[4:]]
    path = export / "deployments.json"
    deploys = repo.path / "compliance" / "deploys.jsonl"
    path.write_text(bare_pages(pages[0], pages[2]))
    refused(github._import_saved(repo, export), deploys, f"{path}: it is a body saved without "
            "its headers (3 JSON arrays)")  # fmt: skip
    first, second, third = linked_pages(DEPLOYMENTS, *pages).split("\nHTTP/")
    path.write_text(f"{first}\nHTTP/{third}")
    refused(github._import_saved(repo, export), deploys,
            f"{path}: page 2 saved is page 3 of the list")  # fmt: skip
    path.write_text(f"{first}\nHTTP/{second}")
    refused(github._import_saved(repo, export), deploys, f"{path}: page 2 is the last saved, "
            "and its Link header names a next page")  # fmt: skip
    path.write_text(linked_pages(DEPLOYMENTS, *pages))
    whole = github._import_saved(repo, export)
    assert whole.code == 0, whole.err
    checked = github._check(repo)
    assert checked.code == 1, checked.err
    found = {(f["rule"], f["subject"]) for f in checked.json()["findings"]}
    assert ("REVIEW-002", hotfix) in found  # page 2's deployment, a failed unreviewed hotfix


def test_github_pages_saved_with_their_headers_must_be_of_one_listing(tmp_path: Path) -> None:
    """A page that failed (its status line is not 200), pages asked with two page sizes, of a
    list asked for one environment (``?environment=production``: a deployment listed for
    staging that a status moved to production is not on it), or a page without its headers:
    none shows the list whole."""
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, 3)
    path = export / "deployments.json"
    deploys = repo.path / "compliance" / "deploys.jsonl"
    first, second = linked_pages(DEPLOYMENTS, listed[:2], listed[2:]).split("\nHTTP/")
    path.write_text(f"{first}\nHTTP/{second.replace('2.0 200 OK', '2.0 502 Bad Gateway')}")
    refused(github._import_saved(repo, export), deploys, "page 2 answered HTTP 502, not 200")
    path.write_text(f"{first}\nHTTP/{second.replace('per_page=2', 'per_page=1')}")
    refused(github._import_saved(repo, export), deploys, "were asked with per_page 1, 2")
    path.write_text(linked_pages(f"{DEPLOYMENTS}?environment=production", listed[:2], listed[2:]))
    refused(github._import_saved(repo, export), deploys,
            "its pages are of a list asked for environment=production alone")  # fmt: skip
    path.write_text(f"{first}\n{json.dumps(listed[2:])}")
    refused(github._import_saved(repo, export), deploys,
            "page 2 does not start with its HTTP status line")  # fmt: skip


def test_one_page_saved_without_its_headers_is_refused(tmp_path: Path) -> None:
    """Pages asked with ``per_page=2`` by a loop of requests (``curl -sf`` writes nothing when
    a request fails): page 1, page 2 failed and written as nothing, page 3 answered ``[]``. The
    file was one page then the empty page, read as a whole list of two; the deployment on page
    2, a failed unreviewed hotfix, was missing, and check passed (exit 0). Nothing in a body
    says what ``per_page`` it was asked with, so a list saved without its headers is refused,
    however many pages it holds; so is a body of ``[]`` alone, what a failed request written
    as the empty page leaves. Saved with its headers, the list is read, empty or not."""
    repo, export, _ = github._export(tmp_path)
    listed = _github_list(export, 3)
    _own_runs(export, listed)
    _outcome(export, listed[2], "success")
    _outcome(export, listed[1], "failure")
    hotfix = repo.commit("hotfix", {"app.py": "2\n"}, author="Dev <dev@example.com>",
                         date="2016-01-02T00:00:00Z")  # fmt: skip
    listed[1] |= {"sha": hotfix, "ref": hotfix}
    path = export / "deployments.json"
    deploys = repo.path / "compliance" / "deploys.jsonl"
    for saved in (bare_pages(listed[:1]), json.dumps(listed[:1]), "[]\n"):
        path.write_text(saved)
        refused(github._import_saved(repo, export), deploys, f"{path}: it is a body saved "
                "without its headers", "gh api --include --paginate")  # fmt: skip
    path.write_text(linked_pages(DEPLOYMENTS, []))  # read: an empty list, answered 200
    refused(github._import_saved(repo, export), deploys, "no deployment to production was listed")
    path.write_text(linked_pages(DEPLOYMENTS, listed[:1], listed[1:2], listed[2:]))
    whole = github._import_saved(repo, export)
    assert whole.code == 0, whole.err
    found = {(f["rule"], f["subject"]) for f in github._check(repo).json()["findings"]}
    assert ("REVIEW-002", hotfix) in found  # page 2's deployment, a failed unreviewed hotfix
