"""A saved GitLab list of a merge request's commits or notes, of a project's deployments
(``gitlab_deployment_pages``), or of merge requests, read only when it shows itself whole.

GitLab answers a list a page at a time, and numbers the pages in its headers: ``x-page`` (this
page's number, from 1), ``x-next-page`` (the next one's, empty on the last), ``x-per-page``,
and, for lists of up to 10,000 items, ``x-total-pages`` (and ``Link``, as GitHub's). A body
saved alone keeps none of them. Only every page saved with its headers (``curl -i`` of each
page, or ``glab api --include --paginate``) shows a list whole: pages 1, 2, ... n are all
there, in order, each naming the next, and the last naming none.

A body saved alone is refused, however many pages it holds (``github_pages``): pages 1 and 3
of a merge request's commits, asked with ``per_page=100``, followed by the empty page, look
like a whole list, and the 100 commits of page 2, an approver's own among them, are missing;
one page followed by the empty page is what a loop of requests writes when page 2 failed and
page 3 answered ``[]``. A page of notes may hold fewer than asked and not be the last (GitLab
leaves out of a page, after cutting it, the notes the token may not read), so the size of a
page says nothing; its headers do. A list of merge requests alone may be saved as one body
(``bodies=True``): a merge request missing from it has no review record, and its commits are
reported unreviewed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.importers.common import expect
from checker.importers.github_pages import Page, bodies_alone, linked_pages, saved_text, unasked

FORM = (
    "every page with its headers (curl -i of each page, or glab api --include --paginate), "
    "whose x-page and x-next-page headers number it"
)


def read_list(
    path: Path, what: str, save: str, *, bodies: bool = False, asked: frozenset[str] | None = None
) -> list[Any]:
    """The items of a saved GitLab list that shows itself whole (see the module's docstring);
    ``save`` says how to save one. ``bodies``: one page saved without its headers is read too
    (a list of merge requests); ``asked``, where given: the only parameters its pages' ``link``
    addresses may name besides ``page`` and ``per_page``."""
    text = saved_text(path, what)
    if not text.lstrip().startswith("HTTP/"):
        return bodies_alone(path, what, save, bodies=bodies, form=FORM)
    pages = linked_pages(text, path, what)
    if asked is not None:
        _unfiltered(pages, path, what, save, asked)
    return _numbered(pages, path, what, save)


def _unfiltered(pages: list[Page], path: Path, what: str, save: str, asked: frozenset[str]) -> None:
    """Refuse pages whose ``link`` addresses name a parameter ``asked`` does not allow: a
    filter (``status=success``), whose pages are numbered as a whole list's are."""
    filters = unasked(pages, asked)
    expect(
        not filters,
        path,
        f"its pages are of a list asked for {', '.join(sorted(filters))} alone (their link "
        f"header says so), not of every one of {what}: what the filter left out (a failed "
        f"deployment, listed with status=success) is missing, and the pages are numbered as a "
        f"whole list's are; {save}",
    )


def _numbered(pages: list[Page], path: Path, what: str, save: str) -> list[Any]:
    """The items of ``pages``, refused unless their headers number them 1, 2, ... n, each
    naming the next and the last none, all asked with one ``x-per-page``."""
    sizes = {page.headers.get("x-per-page") for page in pages}
    expect(
        None not in sizes and len(sizes) == 1,
        path,
        f"its pages give x-per-page {', '.join(sorted(str(size) for size in sizes))}: pages "
        f"of two listings, or saved without GitLab's headers, between which items may be "
        f"missing; expected every page of {what} with its headers: {save}",
    )
    for number, page in enumerate(pages, start=1):
        said = page.headers.get("x-page")
        expect(
            said == str(number),
            path,
            f"page {number} saved is page {said or 'unnumbered (no x-page header)'} of the "
            f"list: GitLab's x-page header numbers every page, so a page is missing, repeated "
            f"or out of order; expected every page of {what}, in order: {save}",
        )
        following = page.headers.get("x-next-page")
        last = number == len(pages)
        expect(
            following == ("" if last else str(number + 1)),
            path,
            f"page {number} is the last saved, and its x-next-page header names page "
            f"{following!r}: the pages after it are missing; {save}"
            if last
            else f"page {number} names {following!r} as its next page (x-next-page), not "
            f"page {number + 1}, and pages follow it: pages of two listings; {save}",
        )
    total = pages[-1].headers.get("x-total-pages", "")
    expect(
        total in ("", str(len(pages))) or (total == "0" and not pages[-1].items),
        path,
        f"its last page says the list has {total} pages (x-total-pages), and {len(pages)} "
        f"are saved; expected every page of {what}: {save}",
    )
    return [item for page in pages for item in page.items]


def check_owner(
    source: Path,
    item: tuple[int, Any, str],
    merge_request: dict[str, Any],
    saved: bool,
    listing: tuple[str, str, str],
) -> None:
    """Refuse an item of a merge request's list that is another merge request's, and a saved
    one that names none. ``item``: its number in the list, the merge request id it gives (the
    merge request's ``id``, unique on the instance), and what it is, as a message names it
    (``state event of MergeRequest 6``); ``listing``: the field that gives that id, what one
    item is, and the list, as the messages name them. An item of another kind altogether (an
    issue's event) is the caller's to refuse."""
    index, theirs, named = item
    field, noun, what = listing
    iid, own = merge_request["iid"], merge_request.get("id")
    expect(
        not saved or theirs is not None,
        source,
        f"item #{index} names no merge request (no {field}, which GitLab gives every {noun}: "
        f"trimmed), so nothing shows it is a {noun} of !{iid}; expected {what} of !{iid} as "
        "GitLab answers them, whole",
    )
    expect(
        theirs is None or own is None or theirs == own,
        source,
        f"item #{index} is a {named}, saved for merge request !{iid} (id {own}); expected "
        f"{what} of !{iid}",
    )
