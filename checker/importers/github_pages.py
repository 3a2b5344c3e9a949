"""A saved GitHub list of deployments or statuses, read only when it shows itself whole.

GitHub answers a list a page at a time, and numbers the pages only in its ``Link`` header
(``<...?per_page=100&page=2>; rel="next", <...&page=3>; rel="last"``). Two saved forms show a
list whole:

- one page of items (``gh api --paginate`` writes every page of a list as one array, following
  ``Link`` itself), followed by the empty page GitHub answers past the last
  (``common.read_whole_list``): without it, a page of 50 may be the first of several;
- every page with its headers (``gh api --include --paginate``): each page's ``Link`` gives its
  number, so pages 1, 2, ... n are all there, in order, and the last is the one without
  ``rel="next"``.

Several pages saved as bodies alone (arrays written back to back by a loop of requests, or an
older ``gh``) do not: pages 1 and 3 of a list asked with ``per_page=100``, 100 deployments and
37, look like a list of 137 followed by its empty page, and the 100 of page 2, a failure among
them, are missing. Such a file is refused.

What no saved list shows is a deployment deleted while the pages were read: the ones after it
move back a place, and the first of the next page, on the page already read, is never read.
Nothing in the list differs (ids are GitHub's, across all repositories, and leave gaps anyway).
The deleted deployment is listed, though, and its statuses, saved after the list, are GitHub's
404 answer, which ``common.refuse_api_error`` refuses. The direct fetch reads the list twice
(``fetch.github_listed_whole``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from checker.errors import InputError
from checker.evidence import jsonread
from checker.evidence.files import read_text
from checker.importers.common import expect, read_pages, refuse_api_error, whole_items

STATUS_LINE = re.compile(r"HTTP/[0-9.]+ (\d{3})[^\n]*\n")
LINK = re.compile(r'<([^>]*)>;\s*rel="([a-z]+)"')
HEAD_END = re.compile(r"\r?\n\r?\n|^\r?\n", re.MULTILINE)


@dataclass(frozen=True)
class Page:
    """One saved page with its headers: its items, and what its ``Link`` header says."""

    items: list[Any]
    links: dict[str, str]
    """By relation (``next``, ``prev``, ``last``, ``first``): the page number named."""
    per_page: set[str]
    """The ``per_page`` of every address its ``Link`` names."""
    filters: set[str]
    """The other parameters those addresses give (``environment=production``, ...)."""


def read_list(path: Path, what: str, save: str) -> list[Any]:
    """The items of a saved GitHub list that shows itself whole (see the module's docstring);
    ``save`` says how to save one."""
    try:
        text = read_text(path).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text; expected {what}", path=str(path)) from None
    if text.lstrip().startswith("HTTP/"):
        return _numbered(_linked_pages(text, path, what), path, what, save)
    pages = read_pages(path, what)
    items = whole_items(pages, path, what, save)
    held = [len(page) for page in pages if page]
    expect(
        len(held) <= 1,
        path,
        f"it holds {len(held)} pages of {what} (of {', '.join(map(str, held))} items) saved "
        "without their headers, so nothing shows that no page is missing between them (pages "
        "1 and 3 of a list look like a whole one); expected the list as one array (gh api "
        "--paginate), then the empty page past its last, or every page with its headers "
        f"(gh api --include --paginate), whose Link header numbers it: {save}",
    )
    return items


def _linked_pages(text: str, path: Path, what: str) -> list[Page]:
    """The pages of ``gh api --include`` output: each a status line, headers, a blank line and
    the body."""
    pages: list[Page] = []
    position = _skip_space(text, 0)
    while position < len(text):
        number = len(pages) + 1
        status = STATUS_LINE.match(text, position)
        if status is None:
            raise InputError(
                f"page {number} does not start with its HTTP status line, as gh api --include "
                f"writes each page; expected every page of {what} with its headers",
                path=str(path),
            )
        expect(
            status.group(1) == "200",
            path,
            f"page {number} answered HTTP {status.group(1)}, not 200: the request failed while "
            "the list was saved; save it again",
        )
        head_end = _blank_line(text, status.end(), path, number)
        links, per_page, filters = _links(text[status.end() : head_end])
        try:
            body, position = jsonread.raw_decode(text, _skip_space(text, head_end))
        except ValueError as exc:
            raise InputError(
                f"page {number}'s body is not JSON ({exc}); expected {what}", path=str(path)
            ) from None
        refuse_api_error(body, path, what)
        expect(isinstance(body, list), path, f"page {number}'s body is not a JSON array of {what}")
        pages.append(Page(body, links, per_page, filters))
        position = _skip_space(text, position)
    return pages


def _blank_line(text: str, start: int, path: Path, number: int) -> int:
    """Where the headers that begin at ``start`` end: past the blank line after them."""
    found = HEAD_END.search(text, start)
    if found is None:
        raise InputError(f"page {number}'s headers have no end (a blank line)", path=str(path))
    return found.end()


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _links(head: str) -> tuple[dict[str, str], set[str], set[str]]:
    """The page number of each relation the ``Link`` header names, its ``per_page``s, and
    the other parameters of its addresses (``name=value``)."""
    links: dict[str, str] = {}
    per_page: set[str] = set()
    filters: set[str] = set()
    for line in head.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() != "link":
            continue
        for address, relation in LINK.findall(value):
            query = parse_qs(urlsplit(address).query)
            links[relation] = (query.get("page") or [""])[0]
            per_page.update(query.get("per_page") or [])
            filters.update(
                f"{key}={value}"
                for key, values in query.items()
                if key not in ("page", "per_page")
                for value in values
            )
    return links, per_page, filters


def _numbered(pages: list[Page], path: Path, what: str, save: str) -> list[Any]:
    """The items of ``pages``, refused unless their ``Link`` headers number them 1, 2, ... n,
    the last without a next page, all asked with one ``per_page``."""
    sizes = set().union(*(page.per_page for page in pages))
    expect(
        len(sizes) <= 1,
        path,
        f"its pages were asked with per_page {', '.join(sorted(sizes))}: pages of two "
        f"listings, between which items may be missing; {save}",
    )
    filters = set().union(*(page.filters for page in pages))
    expect(
        not filters,
        path,
        f"its pages are of a list asked for {', '.join(sorted(filters))} alone (their Link "
        f"header says so), not of every one of {what}: a deployment listed elsewhere that a "
        f"status moved, or another environment's, is missing; {save}",
    )
    for number, page in enumerate(pages, start=1):
        said = _number(page)
        last = number == len(pages)
        expect(
            said == str(number) or (said is None and len(pages) == 1),
            path,
            f"page {number} saved is page {said or 'unnumbered (no Link header)'} of the "
            f"list: its Link header numbers every page, so a page is missing, repeated or out "
            f"of order; expected every page of {what}, in order: {save}",
        )
        expect(
            ("next" in page.links) != last,
            path,
            f"page {number} is the last saved, and its Link header names a next page "
            f"({page.links.get('next')}): the pages after it are missing; {save}"
            if last
            else f"page {number} names no next page, and pages follow it: pages of two "
            f"listings; {save}",
        )
    return [item for page in pages for item in page.items]


def _number(page: Page) -> str | None:
    """The page's own number, from the next (its number plus one) or previous page's; None
    for a page whose ``Link`` names neither (a list of one page has no ``Link``)."""
    if page.links.get("next", "").isdigit():
        return str(int(page.links["next"]) - 1)
    if page.links.get("prev", "").isdigit():
        return str(int(page.links["prev"]) + 1)
    return None
