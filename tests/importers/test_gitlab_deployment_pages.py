"""A saved list of GitLab deployments is read only with its headers, which number its pages.
Before, the pages were read as bodies alone and judged by their sizes and the deployments'
numbers: 20 deployments asked 20 a page, saved by a loop of requests as page 1 then ``[]``
(page 2, the newest deployment and a failure, lost to a failed request), looked like a whole
list of 20, and the import and check both passed (exit 0). A body alone is refused now,
however many pages it holds; with its headers, a page lost, repeated or cut off is refused,
and the list in id order is read whole.

On the deployments of tests/importers/fixtures/forges/gitlab as test_saved_deployment_pages.py
copies them (sources in the fixtures' README): ids from 100, iids from 1, one a day.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from checker.demo.builder import ScriptedRepo
from tests.importers import test_gitlab_deployments as gitlab
from tests.importers.test_saved_deployment_pages import _gitlab_list
from tests.importers.workspaces import bare_pages, gitlab_pages, saved_pages

BODY = "it is a body saved without its headers"
LIST = "https://gitlab.example.com/api/v4/projects/group%2Fapp/deployments?order_by=id&sort=asc"


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


def test_one_page_then_the_empty_page_saved_without_headers_is_refused(tmp_path: Path) -> None:
    """21 deployments asked 20 a page by a loop of requests: page 1, page 2 (the newest, a
    failure) failed and wrote nothing, page 3 answered ``[]``. Read as a whole list of 20, it
    was imported and check passed (exit 0). Nothing in a body shows the ``per_page`` it was
    asked with: a body alone is refused, one page or several, and ``[]`` alone too."""
    repo, path, listed = _listed(tmp_path, 21, failed=20)
    pages = listed[:20], listed[20:]
    for saved, arrays in ((bare_pages(pages[0]), 2), (bare_pages(*pages), 3), ("[]\n", 1)):
        path.write_text(saved)
        _refused(repo, path, f"{BODY} ({arrays} JSON arra{'y' if arrays == 1 else 'ys'})")
    result = gitlab._import_saved(repo, path)
    assert "curl -i" in result.err and "singly" in result.err
    path.write_text(gitlab_pages(LIST, *pages))
    _whole(repo, path, 21)


def test_pages_saved_with_their_headers_must_all_be_there(tmp_path: Path) -> None:
    """Pages 1 and 3 of 250 deployments, 100 a page, or pages 1 and 2 alone: the failure on
    the page lost is missing, and GitLab's x-page and x-next-page headers show it."""
    repo, path, listed = _listed(tmp_path, 250, failed=150)
    pages = listed[:100], listed[100:200], listed[200:]
    first, second, third = [f"HTTP/2 {page}" for page in gitlab_pages(LIST, *pages).split(
        "HTTP/2 ")[1:]]  # fmt: skip
    path.write_text(first + third)
    _refused(repo, path, "page 2 saved is page 3 of the list")
    path.write_text(first + second)
    _refused(repo, path, "page 2 is the last saved, and its x-next-page header names page '3'")
    path.write_text(saved_pages(*pages))
    _whole(repo, path, 250)


def test_a_list_by_update_that_moved_a_deployment_is_refused(tmp_path: Path) -> None:
    """Listed by update, 100 a page: deployment 142 finished while page 1 was read, moved to
    the end of the list, and pushed deployment 200, which had been first on page 2, back onto
    page 1 as read already; 200 failed, and was never listed. The headers number the pages all
    the same; by id (``order_by=id&sort=asc``), no deployment moves."""
    repo, path, listed = _listed(tmp_path, 120, failed=100)
    running = copy.deepcopy(listed[42])
    running["status"] = running["deployable"]["status"] = "running"
    running["deployable"]["finished_at"] = None
    first = [*listed[:42], running, *listed[43:100]]
    second = [*listed[101:], listed[42]]
    path.write_text(saved_pages(first, second))
    _refused(repo, path, "item #120: deployment 142 is listed twice (items #43 and #120): a "
             "list read by update")  # fmt: skip
    path.write_text(saved_pages(listed[60:], listed[:60]))  # pages out of order
    _refused(repo, path, "item #61: deployment 100 is listed after deployment 219, not in id "
             "order")  # fmt: skip


def test_a_list_asked_with_a_filter_is_refused(tmp_path: Path) -> None:
    """Asked with ``status=success``, the list leaves the failure out, and GitLab numbers its
    pages as a whole list's: its headers showed it whole, and check passed (exit 0). The
    ``link`` header names the filter; the order asked and a token in the address are no
    filter."""
    repo, path, listed = _listed(tmp_path, 21, failed=20)
    for query in ("&status=success", "&environment=production&updated_after=2016-01-01"):
        path.write_text(gitlab_pages(LIST + query, listed[:20]))
        _refused(repo, path, f"its pages are of a list asked for {query[1:].replace('&', ', ')} "
                 "alone (their link header says so)")  # fmt: skip
    path.write_text(gitlab_pages(LIST + "&private_token=secret", listed[:20], listed[20:]))
    _whole(repo, path, 21)


STUB = """#!{python}
import json, os, re, sys
from urllib.parse import parse_qs, urlsplit
items = json.load(open(os.environ["SERVED"]))
address = urlsplit(sys.argv[-1])
single = re.search(r"/deployments/(\\d+)$", address.path)
if single:
    print(json.dumps(next(i for i in items if i["id"] == int(single.group(1)))))
    sys.exit(0)
query = parse_qs(address.query)
size = int(query["per_page"][0])
pages = [items[n : n + size] for n in range(0, len(items), size)] or [[]]
number = int(query["page"][0])
head = dict(page=number, next_page=number + 1 if number < len(pages) else "",
            per_page=size, total=len(items), total_pages=len(pages))
lines = "".join("x-%s: %s\\r\\n" % (k.replace("_", "-"), v) for k, v in head.items())
sys.stdout.write("HTTP/2 200 \\r\\n" + lines + "\\r\\n" + json.dumps(pages[number - 1]))
"""


def _docs_commands() -> str:
    """The GitLab deployments section's ``pages`` and ``singly``, as docs/importers.md gives
    them."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "importers.md").read_text()
    start = text.index("$ pages() {", text.index("\n## GitLab deployments"))
    end = text.index("\n  }\n", text.index("$ singly() {", start)) + 4
    return text[start:end].replace("\n$ ", "\n")[2:]


def test_a_list_saved_by_the_docs_commands_is_read_whole(tmp_path: Path) -> None:
    """The docs' ``pages`` and ``singly``, run against a stand-in for GitLab's API (curl),
    save 150 deployments as two pages with their headers, each deployment fetched singly: read
    whole, the failure on page 2 found."""
    repo, path, listed = _listed(tmp_path, 150, failed=149)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(STUB.format(python=sys.executable))
    (bin_dir / "curl").chmod(0o755)
    (tmp_path / "served.json").write_text(json.dumps(listed))
    script = (
        f"api=http://forge.invalid/api/v4/projects/group%2Fapp\n{_docs_commands()}\n"
        f'pages "$api/deployments?order_by=id&sort=asc" deployment-list.json &&\n'
        f'  singly deployment-list.json "{path}"\n'
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SERVED": str(tmp_path / "served.json"), "GITLAB_TOKEN": "t"}  # fmt: skip
    subprocess.run(["bash", "-ec", script], cwd=tmp_path, env=env, check=True)
    assert path.read_text().count("HTTP/2 200") == 2
    _whole(repo, path, 150)
