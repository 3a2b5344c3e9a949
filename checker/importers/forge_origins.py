"""Whose saved forge output is: the repository that ``--repository`` names, which every record
read from a saved file must be of.

A fork's or a sandbox copy's pull requests, reviews and deployments hold the same commits as
the audited repository's, and their approvals and successes would count as its own: nothing
else in a saved file says whose it is than the addresses the forge gives each record. Fetched
records are not compared: the request names the repository (and a forge answers a renamed
repository's old name with the repository under its new one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from checker.errors import InputError
from checker.importers.common import dig, expect

GITHUB_API = "https://api.github.com"
REPOSITORY = re.compile(r"[^/\s]+/[^/\s]+")
"""A repository as GitHub names it: ``OWNER/REPO``."""


@dataclass(frozen=True)
class Origin:
    """The GitHub repository that saved output must be of, and the API whose addresses name
    it."""

    repository: str
    """``OWNER/REPO``."""
    api_url: str = GITHUB_API
    records: str = "deployments"
    """What the saved output holds, for messages."""

    def named(self, url: Any, field: str, where: str, source: Path) -> tuple[str, str]:
        """The repository an API address names, and what follows it (``/deployments/1``);
        an address that is not the API's is refused."""
        base, found = urlsplit(self.api_url.rstrip("/")), urlsplit(str(url))
        matched = re.fullmatch(
            re.escape(base.path.rstrip("/")) + r"/repos/([^/]+/[^/]+)(/.*)?", found.path
        )
        same_api = (found.scheme.lower(), found.netloc.lower()) == (
            base.scheme.lower(),
            base.netloc.lower(),
        )
        if not isinstance(url, str) or not same_api or matched is None:
            raise InputError(
                f"{where}: {field} {url!r} is no address of the API at {self.api_url} "
                f"({self.api_url.rstrip('/')}/repos/OWNER/REPO/...): the {self.records} of "
                "another GitHub (a GitHub Enterprise Server's, github.com's) are not its; check "
                "--api-url (GitHub Enterprise Server: https://HOST/api/v3)",
                path=str(source),
            )
        return unquote(matched[1]), matched[2] or ""

    def check(self, item: dict[str, Any], field: str, where: str, source: Path) -> str | None:
        """The rest of ``item[field]`` (a dotted path: ``base.repo.url``) after the
        repository's address, when given; refused when it names another repository."""
        url = dig(item, *field.split("."))
        if url is None:
            return None
        found, rest = self.named(url, field, where, source)
        self.same(found, f"{where} is, by its {field}", source)
        return rest

    def same(self, found: str, said: str, source: Path) -> None:
        """Refuse a repository name (``OWNER/REPO``, as a record gives it) other than this
        one's, compared regardless of case, as GitHub's names are."""
        expect(
            found.casefold() == self.repository.casefold(),
            source,
            f"{said}, of repository {found}, not {self.repository}: another repository's "
            f"{self.records} (a fork's, a sandbox copy's) are not its; check --repository",
        )
