"""A saved list of GitLab deployments, read only when it shows itself whole.

GitLab answers ``GET /projects/:id/deployments`` a page at a time, and numbers the pages in its
headers (``x-page``, ``x-next-page``, ``x-per-page``, ``x-total-pages``), which a body saved
alone does not keep. So the list is read as the other GitLab lists are (``gitlab_pages``): every
page with its status line and headers (``curl -i`` of each page, or ``glab api --include
--paginate``), pages 1, 2, ... n in order, each naming the next and the last none. A body saved
alone is refused, however many pages it holds: 20 deployments asked 20 a page, saved by a loop
of requests as page 1 then ``[]`` (page 2 failed and wrote nothing, page 3 answered empty), look
like a whole list of 20, and the newest deployment, a failure, is missing. Nothing in the bodies
shows the ``per_page`` they were asked with; the headers do.

Its deployments must also come in rising ``id`` order (``order_by=id&sort=asc``), in which a
deployment never moves: listed by update, one that finishes while the pages are read moves to a
later page and pushes the one after it back onto the page already read, which then is never
listed, and the headers number the pages all the same (a deployment listed twice is the sign of
it). A list asked with a filter (``status=success``) is numbered as a whole one is, and lacks
what it left out: the parameters its ``link`` header names must be the order alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.importers import gitlab_pages
from checker.importers.common import expect

SAVE = (
    "save every page of .../deployments?order_by=id&sort=asc&per_page=100 with its headers "
    "(curl -i), each deployment on it fetched singly, as the docs' commands (pages, then "
    "singly) do; or import with --fetch"
)

ASKED = frozenset({"order_by", "sort", "private_token", "access_token"})
"""The parameters a saved list's ``link`` addresses may name besides its page and size: the
order asked, and a token given in the address (never named back). A filter
(``status=success``, ``environment=...``, ``updated_after=...``) lists only some deployments,
and its pages are numbered as the whole list's are."""


def read_deployments(path: Path, what: str) -> list[Any]:
    """The items of a saved list of deployments (``what``) that shows itself whole by its
    headers (see the module's docstring); a body saved alone is refused."""
    return gitlab_pages.read_list(path, what, SAVE, asked=ASKED)


def check_order(items: list[dict[str, Any]], path: Path) -> None:
    """Refuse deployments (checked deployment objects) not in rising id order
    (``order_by=id&sort=asc``), or listed twice."""
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
