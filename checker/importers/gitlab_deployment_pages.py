"""A saved list of GitLab deployments, read only when it shows itself whole.

GitLab answers ``GET /projects/:id/deployments`` a page at a time, and says in its headers
(``x-next-page``, ``x-total``) whether more follow; a saved body keeps none of them. So the
importer reads the pages as they were saved, one JSON array each, and takes the list as whole
only when the pages themselves show it:

- it ends with the empty page GitLab answers past a list's last: a last page that holds
  deployments may be the first of several (asked with ``per_page=50``, a page of 50 is full,
  and nothing in it says so);
- its last page that holds deployments is not full (as the pages before it, or of 100 when it
  is the only one): pages 1 and 2 of three, both full, then the empty page asked past them,
  lost page 3, the newest deployments, and nothing in the pages shows it;
- its pages before the last are full, of one size (the ``per_page`` asked, at most 100): an
  empty page, a shorter or a longer one before the last is a page of another listing;
- its deployments come in rising ``id`` order (``order_by=id&sort=asc``), in which a deployment
  never moves: listed by update, one that finishes while the pages are read moves to a later
  page and pushes the one after it back onto the page already read, which then is never
  listed (a deployment listed twice is the sign of it);
- where one page ends and the next begins, the project's numbers of its deployments (``iid``:
  1, 2, 3, ... as they were created) leave no room for a whole page: a page missing between
  two saved ones (pages 1 and 3 saved, 2 lost) leaves a gap of more than a page there. GitLab
  also deletes a deleted environment's deployments with it, which can leave as wide a gap:
  such a list cannot show itself whole, and the direct fetch, which pages through GitLab's
  headers, reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.importers.common import expect

LARGEST_PAGE = 100
"""GitLab's largest page (``per_page`` up to 100)."""
SAVE = (
    "save every page of .../deployments?order_by=id&sort=asc&per_page=100 (page=1, 2, ...), "
    "one JSON array each, down to the empty page GitLab answers past the last, each deployment "
    "fetched singly, as the docs' commands do; or import with --fetch"
)


def check_whole(pages: list[list[Any]], path: Path, what: str) -> None:
    """Refuse saved pages (of ``what``, checked deployment objects) that do not show the list
    whole: see the module's docstring."""
    *listed, last = pages
    expect(
        not last,
        path,
        f"its last page holds {_deployments(len(last))} and no empty page follows it, so "
        "nothing shows it is the list's last: GitLab lists deployments oldest first, and a "
        "list cut at a page (of 100, or of 50 asked with per_page=50) lost the newest ones; "
        f"expected every page of {what}: {SAVE}",
    )
    size = len(listed[0]) if listed else 0
    for number, page in enumerate(listed, start=1):
        expect(
            bool(page),
            path,
            f"page {number} is empty and pages follow it: GitLab answers an empty page only past "
            f"a list's last, so pages of two listings were saved together; {SAVE}",
        )
        expect(
            len(page) <= LARGEST_PAGE,
            path,
            f"page {number} holds {_deployments(len(page))}, more than GitLab answers a page "
            f"({LARGEST_PAGE}): pages joined into one array lose where each ended, and with it "
            f"what shows none is missing; {SAVE}",
        )
        expect(
            len(page) == size or (number == len(listed) and len(page) < size),
            path,
            f"page {number} holds {_deployments(len(page))} and page 1 {size}: the pages of one "
            "listing before its last are full, of the size asked, so these are pages of two "
            f"listings or of two sizes, and deployments between them may be missing; {SAVE}",
        )
    items = [item for page in listed for item in page]
    _check_order(items, path)
    for number in range(1, len(listed)):
        _check_join(listed[number - 1][-1], listed[number][0], number, size, path)
    _check_not_full(listed, size, path)


def _check_not_full(listed: list[list[Any]], size: int, path: Path) -> None:
    """Refuse pages whose last is full: the size of the pages before it, or GitLab's largest
    page when it is the only one. The page after a full one may have been lost before the
    empty page was saved (pages 1 and 2 of three, then the empty page, look whole)."""
    if not listed:
        return
    full = size if len(listed) > 1 else LARGEST_PAGE
    held = len(listed[-1])
    expect(
        held < full,
        path,
        f"page {len(listed)}, its last holding deployments, is full ({_deployments(held)}, "
        f"{'as the pages before it' if len(listed) > 1 else 'the most GitLab answers a page'}"
        f"), so nothing shows that the page after it was not lost before the empty page was "
        "saved (pages 1 and 2 of three, then the empty page, look whole), and the newest "
        "deployments with it; a list of a whole number of full pages cannot show itself "
        "whole as saved: import with --fetch, which pages through GitLab's own headers",
    )


def _check_order(items: list[dict[str, Any]], path: Path) -> None:
    """Refuse deployments not in rising id order (``order_by=id&sort=asc``), or listed twice."""
    seen: dict[Any, int] = {}
    for index, item in enumerate(items, start=1):
        ident, before = item["id"], items[index - 2]["id"] if index > 1 else None
        said = (
            f"listed twice (items #{seen[ident]} and #{index})"
            if ident in seen
            else f"listed after deployment {before}, not in id order"
        )
        expect(
            ident not in seen and (before is None or ident > before),
            path,
            f"item #{index}: deployment {ident} is {said}: a list read by update (a deployment "
            "that finishes while the pages are read moves to a later page, and the one it "
            "pushes back onto the page already read is never listed), or pages saved twice or "
            f"out of order; expected the list by id (order_by=id&sort=asc), in which no "
            f"deployment moves: {SAVE}",
        )
        seen[ident] = index


def _check_join(before: dict[str, Any], after: dict[str, Any], number: int, size: int,
                path: Path) -> None:  # fmt: skip
    """Refuse a join of two pages between which a whole page of deployments may be missing:
    the deployments ``before`` (last of page ``number``) and ``after`` (first of the next)
    must be numbered (``iid``) no more than ``size`` apart."""
    for item, where in ((before, f"ends page {number}"), (after, f"starts page {number + 1}")):
        expect(
            type(item.get("iid")) is int,
            path,
            f"deployment {item['id']} {where} and names no iid (the project's number of it, "
            "which GitLab gives every deployment), so nothing shows that no page is missing "
            f"there; expected deployments as GitLab answers them, whole: {SAVE}",
        )
    last, first = before["iid"], after["iid"]
    expect(
        first - last <= size,
        path,
        f"page {number} ends with deployment {before['id']} (iid {last}) and page {number + 1} "
        f"starts with deployment {after['id']} (iid {first}): the {first - last - 1} "
        f"deployments numbered between them could fill a page of {size}, so a page may be "
        "missing there (pages saved apart, one lost). GitLab also deletes the deployments of "
        "a deleted environment, which leaves such a gap: then nothing saved shows the list "
        "whole; import with --fetch, which pages through GitLab's own headers",
    )


def _deployments(count: int) -> str:
    return f"{count} deployment" + ("" if count == 1 else "s")
