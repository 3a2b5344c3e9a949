"""A saved GitHub list, read only when it shows itself whole: deployments and their statuses,
pull requests, a pull request's reviews, commits and issue events.

GitHub answers a list a page at a time, and numbers the pages only in its ``Link`` header
(``<...?per_page=100&page=2>; rel="next", <...&page=3>; rel="last"``). Only every page saved
with its headers (``gh api --include --paginate``) shows a list whole: each page's ``Link``
gives its number, so pages 1, 2, ... n are all there, in order, and the last is the one without
``rel="next"``; a list of one page has no ``Link``, and its status line shows it was answered.

A body saved without its headers shows none of it, however many pages it holds. Pages 1 and 3
of a list asked with ``per_page=100``, 100 deployments and 37, look like a list of 137; and one
page followed by the empty page ``[]`` is also what a loop of requests writes when page 2
failed (``curl -sf`` writes nothing for a failed request) and page 3, past the last, answered
empty: nothing in a body says it was asked with ``per_page=2``. The deployments of the lost
page, a failure among them, would be missing. A body alone is refused, ``[]`` alone too: a
failed request written as the empty page is a whole list lost. An empty list saved with its
headers (``HTTP/2.0 200 OK`` and ``[]``) is read as empty.

A list of pull requests alone may be saved as one body (``bodies=True``), which ``jq`` reads
to tell what else to save: a pull request missing from it has no review record, and its
commits are reported unreviewed. Several bodies are refused all the same.

A list's ``Link`` addresses must name no filter, only the parameters ``asked`` allows (a pull
request list's ``state``, ``sort`` and ``direction``): pages of a filtered list are numbered as
a whole one's are, and lack what the filter left out.

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
from checker.importers.common import expect, read_pages, refuse_api_error

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
    headers: dict[str, str]
    """Every header, by its name in lower case (GitLab's ``x-page``, ``x-next-page``, ...)."""


GITHUB_FORM = (
    "every page with its headers (gh api --include --paginate), whose Link header numbers it"
)


def read_list(
    path: Path, what: str, save: str, *, bodies: bool = False, asked: frozenset[str] = frozenset()
) -> list[Any]:
    """The items of a saved GitHub list that shows itself whole (see the module's docstring);
    ``save`` says how to save one. ``bodies``: one page saved without its headers is read too
    (a list of pull requests); ``asked``: the parameters its pages' addresses may name."""
    text = saved_text(path, what)
    if text.lstrip().startswith("HTTP/"):
        return _numbered(linked_pages(text, path, what), path, what, save, asked)
    return bodies_alone(path, what, save, bodies=bodies, form=GITHUB_FORM)


def saved_text(path: Path, what: str) -> str:
    """A saved file's text."""
    try:
        return read_text(path).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text; expected {what}", path=str(path)) from None


def bodies_alone(path: Path, what: str, save: str, *, bodies: bool, form: str) -> list[Any]:
    """The items of a list saved without headers, where ``bodies`` allows it: one page of them;
    otherwise refused, as nothing shows which page it is, nor that none is missing. ``form``
    says what shows a list whole, ``save`` how to save one."""
    pages = read_pages(path, what)
    expect(
        bodies,
        path,
        f"it is a body saved without its headers ({len(pages)} JSON "
        f"arra{'y' if len(pages) == 1 else 'ys'}), so nothing shows which pages of the list "
        "it holds, nor that none is missing: one page then the empty page is also what a loop "
        "of requests writes when page 2 failed and page 3 answered [], and an empty array "
        f"alone what a failed request written as [] leaves; expected {form}: {save}",
    )
    held = [len(page) for page in pages if page]
    expect(
        len(held) <= 1,
        path,
        f"it holds {len(held)} pages of {what} (of {', '.join(map(str, held))} items) saved "
        "without their headers, so nothing shows that no page is missing between them (pages "
        f"1 and 3 of a list look like a whole one); expected {form}: {save}",
    )
    return [item for page in pages for item in page]


def linked_pages(text: str, path: Path, what: str) -> list[Page]:
    """The pages of ``gh api --include`` output (or of ``curl -i``, ``glab api --include``):
    each a status line, headers, a blank line and the body."""
    pages: list[Page] = []
    position = jsonread.skip_space(text, 0)
    while position < len(text):
        number = len(pages) + 1
        status = STATUS_LINE.match(text, position)
        if status is None:
            raise InputError(
                f"page {number} does not start with its HTTP status line, as gh api --include "
                f"(or curl -i) writes each page; expected every page of {what} with its headers",
                path=str(path),
            )
        expect(
            status.group(1) == "200",
            path,
            f"page {number} answered HTTP {status.group(1)}, not 200: the request failed while "
            "the list was saved; save it again",
        )
        head_end = _blank_line(text, status.end(), path, number)
        head = text[status.end() : head_end]
        links, per_page, filters = _links(head)
        try:
            body, position = jsonread.raw_decode(text, jsonread.skip_space(text, head_end))
        except ValueError as exc:
            raise InputError(
                f"page {number}'s body is not JSON ({exc}); expected {what}", path=str(path)
            ) from None
        refuse_api_error(body, path, what)
        expect(isinstance(body, list), path, f"page {number}'s body is not a JSON array of {what}")
        pages.append(Page(body, links, per_page, filters, _headers(head)))
        position = jsonread.skip_space(text, position)
    return pages


def _blank_line(text: str, start: int, path: Path, number: int) -> int:
    """Where the headers that begin at ``start`` end: past the blank line after them."""
    found = HEAD_END.search(text, start)
    if found is None:
        raise InputError(f"page {number}'s headers have no end (a blank line)", path=str(path))
    return found.end()


def _headers(head: str) -> dict[str, str]:
    """A page's headers, by name in lower case; the value the last one of a name gives."""
    headers = {}
    for line in head.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


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


def _numbered(
    pages: list[Page], path: Path, what: str, save: str, asked: frozenset[str]
) -> list[Any]:
    """The items of ``pages``, refused unless their ``Link`` headers number them 1, 2, ... n,
    the last without a next page, all asked with one ``per_page`` and no filter but those
    ``asked`` names."""
    sizes = set().union(*(page.per_page for page in pages))
    expect(
        len(sizes) <= 1,
        path,
        f"its pages were asked with per_page {', '.join(sorted(sizes))}: pages of two "
        f"listings, between which items may be missing; {save}",
    )
    filters = unasked(pages, asked)
    expect(
        not filters,
        path,
        f"its pages are of a list asked for {', '.join(sorted(filters))} alone (their Link "
        f"header says so), not of every one of {what}: what it leaves out (a deployment "
        f"listed for another environment, that a status moved to this one) is missing; {save}",
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


def unasked(pages: list[Page], asked: frozenset[str]) -> set[str]:
    """The parameters (``status=success``) the pages' ``Link`` addresses name that ``asked``
    does not allow: a filter, whose pages are numbered as a whole list's are."""
    return {
        given for page in pages for given in page.filters if given.partition("=")[0] not in asked
    }


def _number(page: Page) -> str | None:
    """The page's own number, from the next (its number plus one) or previous page's; None
    for a page whose ``Link`` names neither (a list of one page has no ``Link``)."""
    if page.links.get("next", "").isdigit():
        return str(int(page.links["next"]) - 1)
    if page.links.get("prev", "").isdigit():
        return str(int(page.links["prev"]) + 1)
    return None
