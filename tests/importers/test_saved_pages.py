"""Saved lists of several pages. A list saved without paging through (one page of GitHub's
30 or 100 reviews, of GitLab's 20 or 100 notes) lost the request for changes, or the change of
target branch, on the page after it, and the approval before it counted: the check passed
(exit 0; the import only warned). GitLab lists a merge request's commits newest first, so one
page of 20 of them kept the head and lost the oldest commit, the approver's own: the approval
counted for the squash commit, and the check passed (exit 0). Then only a last page of 20, 30
or 100 items was refused, and one asked with ``per_page=50`` passed the same way; then a list
had to end with the empty page the forge answers past its last, and several pages saved
without their headers were refused (pages 1 and 3 look whole). One page then the empty page
was still read as whole, and is what a loop of requests leaves when page 2 failed and page 3
answered ``[]``. A list must now be saved with its headers (``gh api --include --paginate``,
``curl -i``): their ``Link`` or ``x-page`` numbers the pages; a body alone is refused.

On PyGithub#538's recorded objects and GitLab's recorded retarget note
(tests/importers/fixtures/forges, sources in its README), as tests/importers/
test_retargeted_pulls.py builds them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult
from tests.importers.test_forges import FIXTURES, _copy
from tests.importers.test_landed_merges import _deployment
from tests.importers.test_retargeted_pulls import (
    BEFORE_THE_TARGET_CHANGED,
    JOHN,
    _check,
    _gitlab,
    _import,
    _import_gitlab,
    _retargeted,
)
from tests.importers.workspaces import (
    bare_pages,
    gitlab_pages,
    linked_pages,
    saved_items,
)

BODY = "it is a body saved without its headers"
WITHDRAWN_AT = "2017-03-25T15:00:00Z"
REVIEWS = "https://api.github.com/repos/PyGithub/PyGithub/pulls/538/reviews"
MERGE_REQUEST = "https://gitlab.example.com/api/v4/projects/3/merge_requests/5"


def _reviews(
    tmp_path: Path, count: int = 29
) -> tuple[Any, Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """#538 approved on its head; ``count`` comments after the approval (29 fill a first page
    of 30), and the approver requests changes before the merge on the next page."""
    repo, export, _ = _retargeted(tmp_path, None)
    [approval, comment, *_] = saved_items(export / "538" / "reviews.json")
    comments = [
        comment | {"id": 900 + n, "commit_id": approval["commit_id"],
                   "submitted_at": f"2017-03-25T11:{n:02d}:00Z"}
        for n in range(count)
    ]  # fmt: skip
    withdrawn = approval | {"id": 999, "state": "CHANGES_REQUESTED", "submitted_at": WITHDRAWN_AT}
    return repo, export, [approval, *comments], [withdrawn]


def test_the_first_page_of_reviews_alone_is_refused(tmp_path: Path) -> None:
    repo, export, first, _ = _reviews(tmp_path)
    path = export / "538" / "reviews.json"
    path.write_text(json.dumps(first))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (1 JSON array)" in result.err
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    assert _check(repo).code == 1


@pytest.mark.parametrize("layout", ["gh api --paginate", "gh api --paginate --slurp"])
def test_every_page_saved_withdraws_the_approval(tmp_path: Path, layout: str) -> None:
    """Two pages saved as bodies alone (written back to back by an older ``gh``, or slurped):
    refused, with the empty page past the last or without, since nothing shows no page is
    missing between them. Saved with their headers (``gh api
    --include --paginate``), the request for changes on page 2 withdraws the approval."""
    repo, export, first, second = _reviews(tmp_path)
    path = export / "538" / "reviews.json"
    if layout == "gh api --paginate":
        path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    else:
        path.write_text(json.dumps([first, second]))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY}" in result.err
    path.write_text(path.read_text() + "\n[]\n")  # the page past the last, appended
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY}" in result.err
    path.write_text(linked_pages(REVIEWS, first, second))
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 withdrawn before the merge" in result.err
    assert _check(repo).code == 1


def test_one_page_then_the_empty_page_is_refused(tmp_path: Path) -> None:
    """Reviews asked 30 a page by a loop of requests: page 1, page 2 (the request for changes)
    failed and written as nothing (``curl -sf``), page 3 answered ``[]``. The file was 30
    reviews then the empty page, read as a whole list: the approval counted and the check
    passed (exit 0). Nothing in a body says what ``per_page`` it was asked with: refused.
    Saved with its headers, one page (no ``Link``) is the whole list."""
    repo, export, first, _ = _reviews(tmp_path)
    path = export / "538" / "reviews.json"
    path.write_text(json.dumps(first) + "[]")
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (2 JSON arrays)" in result.err
    assert "page 2 failed and page 3 answered []" in result.err
    assert "gh api --include --paginate" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    path.write_text(linked_pages(REVIEWS, first))
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    assert _check(repo).code == 0


def _notes(tmp_path: Path, changed_at: str) -> tuple[Any, Path, list[dict[str, Any]]]:
    """!5 approved at 20:00, its target changed at 20:30 (the last note): 100 notes before
    the change fill a first page."""
    repo, export, _ = _gitlab(tmp_path, "2016-06-08T20:00:00.000Z", changed_at)
    notes = saved_items(export / "5" / "notes.json")
    filler = [
        notes[0] | {"id": 7000 + n, "system": False, "body": "LGTM",
                    "created_at": f"2016-06-08T20:10:{n % 60:02d}.000Z"}
        for n in range(99)
    ]  # fmt: skip
    return repo, export, [notes[0], *filler, *notes[1:]]


def test_the_first_page_of_notes_alone_is_refused(tmp_path: Path) -> None:
    repo, export, notes = _notes(tmp_path, "2016-06-08T20:30:00.000Z")
    path = export / "5" / "notes.json"
    path.write_text(json.dumps(notes[:100]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (1 JSON array)" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/notes?sort=asc", notes[:100], notes[100:]))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "before the merge request's target branch was changed" in result.err
    assert _check(repo).code == 1


def test_notes_filling_their_last_page_then_an_empty_one_are_refused(tmp_path: Path) -> None:
    """Exactly 100 notes, then the empty page: also what page 1, a failed page 2 and page 3
    leave. Refused without headers; with them, the one page is the whole list."""
    repo, export, notes = _notes(tmp_path, "2016-06-08T19:00:00.000Z")  # changed, then approved
    notes = [notes[0], *notes[2:]]  # exactly 100
    path = export / "5" / "notes.json"
    path.write_text(json.dumps(notes) + "\n[]\n")
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (2 JSON arrays)" in result.err and "curl -i" in result.err
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/notes?sort=asc", notes))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    assert _check(repo).code == 0


def _squashed(
    tmp_path: Path, *, roots: bool = True, steps: int = 20
) -> tuple[ScriptedRepo, Path, list[dict[str, Any]]]:
    """!5 of GitLab's example, approved by root, squashed into one commit by its author jdoe
    and deployed: ``steps`` commits of jdoe's, after one of root's own when ``roots``, and its
    commit list as GitLab gives it, newest first."""
    repo = ScriptedRepo(tmp_path / "app")
    base = repo.commit("base", {"README": "x\n"}, author=JOHN, date="2016-06-01T00:00:00Z")
    repo.branch("feature")
    repo.checkout("feature")
    root = "Admin <root@example.com>"
    shas = [
        repo.commit("relax", {"limits.py": "0\n"}, author=root, date="2016-06-02T00:00:00Z")
        for _ in range(roots)
    ]
    shas += [
        repo.commit(f"step {n}", {f"s{n}.py": "1\n"}, author=JOHN, date=f"2016-06-03T01:{n:02d}Z")
        for n in range(steps)
    ]
    repo.checkout("main")
    repo.git("merge", "--quiet", "--squash", "feature")
    squash = repo.commit("Approvals API (!5)", {}, author=JOHN, date="2016-06-08T21:20:42Z")
    evidence = repo.path / "compliance"
    evidence.mkdir()
    people = {"john": ["jdoe@example.com", "jdoe"], "root": ["root@example.com", "root"]}
    (evidence / "identities.yaml").write_text(yaml.safe_dump(people))
    (evidence / "deploys.yaml").write_text(yaml.safe_dump([_deployment(squash, "2016-06-09")]))
    (repo.path / "knightwatch.yaml").write_text(f"baseline: {base}\n")
    export = _copy(FIXTURES / "gitlab", tmp_path / "export", {"8" * 40: shas[-1]})
    requests = json.loads((export / "merge_requests.json").read_text())
    requests[0] |= {"merge_commit_sha": None, "squash_commit_sha": squash}
    (export / "merge_requests.json").write_text(json.dumps(requests))
    [template] = saved_items(export / "5" / "commits.json")
    commits = [
        template | {"id": sha, "short_id": sha[:8], "author_email": "jdoe@example.com"}
        for sha in reversed(shas)
    ]
    if roots:
        commits[-1] |= {"author_name": "Administrator", "author_email": "root@example.com"}
    return repo, export, commits


def test_the_first_page_of_a_merge_requests_commits_alone_is_refused(tmp_path: Path) -> None:
    repo, export, commits = _squashed(tmp_path)
    path = export / "5" / "commits.json"
    path.write_text(json.dumps(commits[:20]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (1 JSON array)" in result.err
    assert "newest first" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    assert _check(repo).code == 1
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/commits", commits[:20], commits[20:]))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by an author of the change" in result.err
    assert _check(repo).code == 1


def test_commits_filling_their_last_page_then_an_empty_one_are_refused(tmp_path: Path) -> None:
    """Exactly 20 commits, none of them root's, then the empty page: also what page 1, a failed
    page 2 (root's own commit) and page 3 leave. Refused without headers; with them, the one
    page is the whole list: root's approval counts for the squash commit and the check
    passes."""
    repo, export, commits = _squashed(tmp_path, roots=False)
    assert len(commits) == 20
    path = export / "5" / "commits.json"
    path.write_text(json.dumps(commits) + "\n[]\n")
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (2 JSON arrays)" in result.err
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/commits", commits))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    assert _check(repo).code == 0


STUB = """#!{python}
import json, os, sys
from urllib.parse import parse_qs, urlsplit
items = json.load(open(os.environ["SERVED"]))
query = parse_qs(urlsplit(sys.argv[-1]).query)
size = int(query.get("per_page", ["20" if "curl" in sys.argv[0] else "30"])[0])
pages = [items[n : n + size] for n in range(0, len(items), size)] or [[]]
number = int(query.get("page", ["1"])[0])
body = json.dumps(pages[number - 1] if number <= len(pages) else [])
if "--paginate" in sys.argv and "--include" in sys.argv:  # gh api --include --paginate
    for number, page in enumerate(pages, start=1):
        link = '<http://forge.invalid/list?page=%d&per_page=%d>; rel="next"' % (number + 1, size)
        head = "Link: " + link + "\\r\\n" if number < len(pages) else ""
        sys.stdout.write("HTTP/2.0 200 OK\\r\\n" + head + "\\r\\n" + json.dumps(page) + "\\n")
elif "--paginate" in sys.argv:
    print("".join(json.dumps(page) for page in pages))
elif any(a[:1] == "-" and a[1:2] != "-" and "i" in a for a in sys.argv[1:]):  # curl -i
    head = dict(page=number, next_page=number + 1 if number < len(pages) else "",
                per_page=size, total=len(items), total_pages=len(pages))
    lines = "".join("x-%s: %s\\r\\n" % (k.replace("_", "-"), v) for k, v in head.items())
    sys.stdout.write("HTTP/2 200 \\r\\n" + lines + "\\r\\n" + body)
else:
    print(body)
"""


def _docs_whole(tool: str) -> str:
    """The first ``whole`` function docs/importers.md gives that calls ``tool``, as written."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "importers.md").read_text()
    for start in [n for n in range(len(text)) if text.startswith("$ whole() {", n)]:
        body = text[start + 2 : text.index("\n  }\n", start) + 4]
        if f" {tool} " in body:
            return body
    raise AssertionError(f"no whole() calling {tool} in docs/importers.md")


def _saved_as_the_docs_say(tmp_path: Path, tool: str, items: list[Any], target: Path) -> None:
    """``items`` served page by page by a stand-in for ``tool`` (curl for GitLab's API, gh for
    GitHub's), saved into ``target`` by the docs' own ``whole``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / tool
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    served = tmp_path / "served.json"
    served.write_text(json.dumps(items))
    script = f'{_docs_whole(tool)}\nwhole "http://forge.invalid/list?x=1" "{target}"\n'
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SERVED": str(served)}
    subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, check=True)


def test_a_list_of_exactly_one_default_page_saved_as_the_docs_say_is_whole(
    tmp_path: Path,
) -> None:
    """A merge request of exactly 20 commits (GitLab's default page), or a pull request of
    exactly 30 reviews (GitHub's), saved with the docs' ``whole`` at per_page=100: one page,
    not full at that size, so ``whole`` stopped there, and the import refused the list as
    perhaps the first page of GitLab's default 20 (exit 2). ``whole`` now saves every page
    with its headers, which show that nothing is missing."""
    repo, export, commits = _squashed(tmp_path / "gitlab", roots=False)
    _saved_as_the_docs_say(tmp_path, "curl", commits, export / "5" / "commits.json")
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err
    repo, export, first, _ = _reviews(tmp_path / "github")
    _saved_as_the_docs_say(tmp_path, "gh", first, export / "538" / "reviews.json")
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err


def _one_page_refused(result: CliResult, path: Path, repo: ScriptedRepo, count: int) -> None:
    """Asserts ``result`` refused ``path``, one page of ``count`` items, writing nothing."""
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (1 JSON array)" in result.err and len(saved_items(path)) == count
    assert "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()


def test_a_first_page_of_fifty_reviews_alone_is_refused(tmp_path: Path) -> None:
    """Saved with ``per_page=50``, the first page held 50 reviews, no page size of GitHub's
    own (30, 100): it was taken for the whole list, the request for changes on the second
    page was missing, the approval counted and the check passed (exit 0). Only the empty page
    GitHub answers past a list's last shows that a page is the last."""
    repo, export, first, withdrawn = _reviews(tmp_path, count=49)
    path = export / "538" / "reviews.json"
    path.write_text(json.dumps(first))
    _one_page_refused(_import(repo, export), path, repo, 50)
    path.write_text(linked_pages(REVIEWS, first, withdrawn))
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 withdrawn before the merge" in result.err
    assert _check(repo).code == 1


def test_a_first_page_of_fifty_notes_alone_is_refused(tmp_path: Path) -> None:
    """Saved with ``per_page=50``: the change of target branch, the 51st note, was missing,
    the approval before it counted and the check passed (exit 0)."""
    repo, export, notes = _notes(tmp_path, "2016-06-08T20:30:00.000Z")
    path = export / "5" / "notes.json"
    path.write_text(json.dumps(notes[:50]))
    _one_page_refused(_import_gitlab(repo, export), path, repo, 50)
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/notes?sort=asc", notes[:50], notes[-1:]))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert BEFORE_THE_TARGET_CHANGED in result.err
    assert _check(repo).code == 1


def test_a_first_page_of_fifty_commits_alone_is_refused(tmp_path: Path) -> None:
    """Saved with ``per_page=50``, newest first: root's own commit, the 51st, was missing,
    root's approval counted for the squash commit and the check passed (exit 0)."""
    repo, export, commits = _squashed(tmp_path, steps=50)
    path = export / "5" / "commits.json"
    path.write_text(json.dumps(commits[:50]))
    _one_page_refused(_import_gitlab(repo, export), path, repo, 50)
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/commits", commits[:50], commits[50:]))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by an author of the change" in result.err
    assert _check(repo).code == 1


def test_an_empty_list_saved_as_a_body_alone_is_refused(tmp_path: Path) -> None:
    """``[]`` alone, or twice, is what a failed request written as the empty page leaves (a
    script that saves ``[]`` when its request fails): the whole list lost. Refused; a pull
    request without reviews saved with its headers is read as one."""
    repo, export, _, _ = _reviews(tmp_path)
    path = export / "538" / "reviews.json"
    for saved in ("[]\n", "[]\n[]\n"):
        path.write_text(saved)
        result = _import(repo, export)
        assert result.code == 2, result.err
        assert f"{path}: {BODY}" in result.err
    path.write_text(linked_pages(REVIEWS, []))
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err


def test_reviews_missing_a_page_between_two_saved_ones_are_refused(tmp_path: Path) -> None:
    """Saved a page at a time (``per_page=30``), pages 1 and 3 of three and the empty page
    past the last looked like a whole list of 31 reviews: the request for changes on page 2
    was missing, the approval on page 1 counted, and the check passed (exit 0). Several pages
    saved without their headers are refused; saved with them, their ``Link`` headers number
    them, and a page missing between two is refused too."""
    repo, export, first, [withdrawn] = _reviews(tmp_path)
    comment = first[1]
    later = [
        comment | {"id": 1900 + n, "submitted_at": f"2017-03-25T15:{n + 1:02d}:00Z"}
        for n in range(30)
    ]  # fmt: skip
    pages = [first, [withdrawn, *later[:29]], later[29:]]
    path = export / "538" / "reviews.json"
    path.write_text(bare_pages(pages[0], pages[2]))
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (3 JSON arrays)" in result.err
    assert "gh api --include --paginate" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    first_page, _, third_page = linked_pages(REVIEWS, *pages).split("\nHTTP/")
    path.write_text(f"{first_page}\nHTTP/{third_page}")
    result = _import(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: page 2 saved is page 3 of the list" in result.err
    path.write_text(linked_pages(REVIEWS, *pages))
    result = _import(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 withdrawn before the merge" in result.err
    assert _check(repo).code == 1


def test_notes_missing_a_page_between_two_saved_ones_are_refused(tmp_path: Path) -> None:
    """Saved a page at a time (``per_page=50``) without their headers, pages 1 and 3 of !5's
    notes and the empty page looked like a whole list: the change of target branch on page 2
    was missing, the approval before it counted, and the check passed (exit 0). Several pages
    saved without their headers are refused; saved with them (``curl -i``), GitLab's
    ``x-page`` numbers them, and a page missing between two is refused too."""
    repo, export, notes = _notes(tmp_path, "2016-06-08T20:30:00.000Z")
    *before, change = notes
    after = [
        before[1] | {"id": 8000 + n, "created_at": f"2016-06-08T20:40:{n:02d}.000Z"}
        for n in range(25)
    ]  # fmt: skip
    listed = [*before[:75], change, *after]
    pages = [listed[:50], listed[50:100], listed[100:]]
    path = export / "5" / "notes.json"
    path.write_text(bare_pages(pages[0], pages[2]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (3 JSON arrays)" in result.err
    assert "x-next-page" in result.err and "Traceback" not in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    first, _, third = gitlab_pages(f"{MERGE_REQUEST}/notes?sort=asc", *pages).split("HTTP/2 ")[1:]
    path.write_text(f"HTTP/2 {first}HTTP/2 {third}")
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: page 2 saved is page 3 of the list" in result.err
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/notes?sort=asc", *pages))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert BEFORE_THE_TARGET_CHANGED in result.err
    assert _check(repo).code == 1
    _saved_as_the_docs_say(tmp_path, "curl", listed, path)  # two pages of 100, with headers
    assert path.read_text().count("HTTP/2 200") == 2
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert BEFORE_THE_TARGET_CHANGED in result.err


def test_commits_saved_without_their_last_page_are_refused(tmp_path: Path) -> None:
    """!5's 21 commits saved a page at a time (``per_page=10``, newest first) without their
    headers: pages 1 and 2, both full, then the empty page asked past them, page 3 (root's own
    commit, the oldest) lost on the way. The list looked whole, root's approval counted for
    the squash commit, and the check passed (exit 0). Several pages saved without their
    headers are refused; saved with them, page 2's ``x-next-page`` names page 3."""
    repo, export, commits = _squashed(tmp_path)
    pages = [commits[:10], commits[10:20], commits[20:]]
    path = export / "5" / "commits.json"
    path.write_text(bare_pages(pages[0], pages[1]))
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: {BODY} (3 JSON arrays)" in result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/commits", *pages).rsplit("HTTP/2 ", 1)[0])
    result = _import_gitlab(repo, export)
    assert result.code == 2, result.err
    assert f"{path}: page 2 is the last saved, and its x-next-page header names page '3'" in (
        result.err
    )
    path.write_text(gitlab_pages(f"{MERGE_REQUEST}/commits", *pages))
    result = _import_gitlab(repo, export)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by an author of the change" in result.err
    assert _check(repo).code == 1
