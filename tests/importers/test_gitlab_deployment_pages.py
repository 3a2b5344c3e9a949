"""A saved list of GitLab deployments is read only when its pages show it whole. Before, a
list was taken for whole unless its last page held 20 or 100 deployments, and each of these
passed check (exit 0) with a failed deployment missing from the evidence: pages 1 and 3 saved
and page 2 lost; the first page alone, asked with ``per_page=50``; pages read by update, where
a deployment that finished meanwhile moved to a later page and pushed another off the pages.

On the deployments of tests/importers/fixtures/forges/gitlab as test_saved_deployment_pages.py
copies them (sources in the fixtures' README): ids from 100, iids from 1, one a day.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.importers import test_gitlab_deployments as gitlab
from tests.importers.test_saved_deployment_pages import _gitlab_list
from tests.importers.workspaces import bare_pages


def _listed(tmp_path: Path, count: int, failed: int) -> tuple[ScriptedRepo, Path, list[Any]]:
    """``count`` deployments of group/app, oldest first, of which only the ``failed``-th
    (from 0) failed; and where the list is saved."""
    repo, export, deployment = gitlab._workspace(tmp_path)
    listed = _gitlab_list(deployment, count)
    for n, item in enumerate(listed):
        item["status"] = item["deployable"]["status"] = "failed" if n == failed else "success"
    return repo, export / "deployments.json", listed


def _refused(repo: ScriptedRepo, path: Path, said: str) -> None:
    result = gitlab._import_saved(repo, path)
    assert result.code == 2, result.err
    assert f"{path}: {said}" in result.err, result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "deploys.jsonl").exists()


def _whole(repo: ScriptedRepo, path: Path, finished: int) -> None:
    """Asserts ``path`` imports whole, ``finished`` deployments, and check finds the failure."""
    result = gitlab._import_saved(repo, path)
    assert result.code == 0, result.err
    assert f"imported {finished} finished deployments" in result.err
    checked = gitlab._check(repo)
    assert checked.code == 1, checked.err
    assert [f["rule"] for f in checked.json()["findings"]] == ["FLEET-001"]


def test_a_page_lost_between_two_saved_ones_is_refused(tmp_path: Path) -> None:
    """Pages 1 and 3 of 250 deployments, 100 a page: the failure was on page 2. Saved up to
    the empty page 4, nothing in the pages' sizes shows the loss; the project's numbers of its
    deployments (iid) do: 100 of them are missing where page 1 ends and page 3 begins."""
    repo, path, listed = _listed(tmp_path, 250, failed=150)
    path.write_text(bare_pages(listed[:100], listed[200:]))
    _refused(repo, path, "page 1 ends with deployment 199 (iid 100) and page 2 starts with "
             "deployment 300 (iid 201): the 100 deployments numbered between them could fill a "
             "page of 100, so a page may be missing there")  # fmt: skip
    path.write_text(json.dumps(listed[:100]) + json.dumps(listed[200:]))  # without page 4
    _refused(repo, path, "its last page holds 50 deployments and no empty page follows it")
    path.write_text(bare_pages(listed[:100], listed[100:200], listed[200:]))
    _whole(repo, path, 250)


def test_the_last_page_lost_before_the_empty_page_is_refused(tmp_path: Path) -> None:
    """Pages 1 and 2 of 250 deployments, 100 a page, then the empty page asked past them: page
    3, the newest 50 and the failure among them, was lost on the way, and nothing in the pages
    showed it (the import took 200, and check passed, exit 0). A last page as full as the pages
    before it, or a single page of 100, may be followed by a lost one, and is refused; a list
    that is a whole number of pages is imported with --fetch."""
    repo, path, listed = _listed(tmp_path, 250, failed=230)
    path.write_text(bare_pages(listed[:100], listed[100:200]))
    _refused(repo, path, "page 2, its last holding deployments, is full (100 deployments, as "
             "the pages before it), so nothing shows that the page after it was not")  # fmt: skip
    path.write_text(bare_pages(listed[:100]))
    _refused(repo, path, "page 1, its last holding deployments, is full (100 deployments, the "
             "most GitLab answers a page)")  # fmt: skip
    path.write_text(bare_pages(listed[:100], listed[100:200], listed[200:]))
    _whole(repo, path, 250)


def test_a_gap_narrower_than_a_page_between_pages_is_no_lost_page(tmp_path: Path) -> None:
    """GitLab deletes a deleted environment's deployments with it: their numbers are missing
    from the list. Fewer than a page of them, where one page ends and the next begins, leave no
    room for a lost page; a page's worth or more cannot be told from one."""
    repo, path, listed = _listed(tmp_path, 150, failed=149)
    for item in listed[100:]:
        item["iid"] += 99  # 99 deleted after the 100th
    path.write_text(bare_pages(listed[:100], listed[100:]))
    _whole(repo, path, 150)
    (repo.path / "compliance" / "deploys.jsonl").unlink()
    for item in listed[100:]:
        item["iid"] += 1
    path.write_text(bare_pages(listed[:100], listed[100:]))
    _refused(repo, path, "page 1 ends with deployment 199 (iid 100) and page 2 starts with "
             "deployment 200 (iid 201): the 100 deployments numbered between them")  # fmt: skip
    del listed[100]["iid"]
    path.write_text(bare_pages(listed[:100], listed[100:]))
    _refused(repo, path, "deployment 200 starts page 2 and names no iid")


def test_the_first_page_asked_in_another_size_alone_is_refused(tmp_path: Path) -> None:
    """Asked with ``per_page=50``, the first page holds 50 deployments, as a whole list of 50
    does: nothing in it shows the 51st, a failure. The empty page past the last shows it."""
    repo, path, listed = _listed(tmp_path, 51, failed=50)
    path.write_text(json.dumps(listed[:50]))
    _refused(repo, path, "its last page holds 50 deployments and no empty page follows it, so "
             "nothing shows it is the list's last")  # fmt: skip
    path.write_text(bare_pages(listed[:50], listed[50:]))
    _whole(repo, path, 51)


@pytest.mark.parametrize(
    ("pages", "said"),
    [
        ([[0, 50], [50, 100], [0, 0], [100, 120]], "page 3 is empty and pages follow it"),
        ([[0, 50], [50, 70], [70, 120]], "page 2 holds 20 deployments and page 1 50"),
        ([[0, 50], [50, 120]], "page 2 holds 70 deployments and page 1 50"),
        ([[0, 101], [101, 120]], "page 1 holds 101 deployments, more than GitLab answers"),
    ],
    ids=["an empty page between", "a short page between", "a longer last page", "joined pages"],
)
def test_pages_of_two_listings_are_refused(tmp_path: Path, pages: list[list[int]],
                                           said: str) -> None:  # fmt: skip
    """Before its last, a listing's pages are full, of the size asked, and only past its last
    is a page empty: pages otherwise are of two listings (or joined), and may have lost
    deployments between them."""
    repo, path, listed = _listed(tmp_path, 120, failed=119)
    path.write_text(bare_pages(*(listed[start:end] for start, end in pages)))
    _refused(repo, path, said)


def test_a_list_by_update_that_moved_a_deployment_is_refused(tmp_path: Path) -> None:
    """Listed by update, 100 a page: deployment 142 finished while page 1 was read, moved to
    the end of the list, and pushed deployment 200, which had been first on page 2, back onto
    page 1 as read already; 200 failed, and was never listed. It was imported once and check
    passed. By id (``order_by=id&sort=asc``), no deployment moves."""
    repo, path, listed = _listed(tmp_path, 120, failed=100)
    running = copy.deepcopy(listed[42])
    running["status"] = running["deployable"]["status"] = "running"
    running["deployable"]["finished_at"] = None
    first = [*listed[:42], running, *listed[43:100]]
    second = [*listed[101:], listed[42]]
    path.write_text(bare_pages(first, second))
    _refused(repo, path, "item #120: deployment 142 is listed twice (items #43 and #120): a "
             "list read by update")  # fmt: skip
    path.write_text(bare_pages(listed[60:], listed[:60]))  # pages out of order
    _refused(repo, path, "item #61: deployment 100 is listed after deployment 219, not in id "
             "order")  # fmt: skip
