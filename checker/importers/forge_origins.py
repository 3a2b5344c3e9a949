"""Whose saved forge output is: the repository that ``--repository`` names (GitHub), or the
project that ``--project`` names (GitLab), which every record read from a saved file must be of.

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
GITLAB_URL = "https://gitlab.com"
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


def instance_root(api_url: str) -> str:
    """The path a GitLab instance lives under (``/gitlab`` of ``https://HOST/gitlab/api/v4``),
    or "" at the root of its host."""
    return urlsplit(api_url).path.rstrip("/").removesuffix("/api/v4").rstrip("/")


@dataclass(frozen=True)
class Address:
    """Where a GitLab record gives the web address of something of its project (``field``, a
    dotted path), what that is (``kind``), how GitLab writes it after the project's path
    (``shape``), and the pattern that reads the project's path (``project``) from it, after the
    instance's own path."""

    field: str
    kind: str
    shape: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Project:
    """The GitLab project that a saved file's records must be of: its path (``group/name``,
    compared regardless of case, as GitLab's paths are) or its id, on the instance at
    ``api_url`` (whose own path, ``https://HOST/gitlab``, the addresses begin with, on its
    host: the same project path on another instance, a staging GitLab's copy, is another
    project; so are the project ids, which every record of a file must share)."""

    project: str
    api_url: str = GITLAB_URL
    records: str = "deployments"
    """What the saved output holds, for messages."""

    @property
    def by_id(self) -> bool:
        """Whether ``project`` is the project's id rather than its path."""
        return self.project.isdigit()

    def address(
        self, item: dict[str, Any], at: Address, where: str, expected: str, source: Path
    ) -> re.Match[str] | None:
        """What ``at`` reads from the record's address, when it gives one; an address of
        another shape (or not under the instance's path) is refused."""
        url = dig(item, *at.field.split("."))
        if url is None:
            return None
        instance = urlsplit(self.api_url).netloc
        host = urlsplit(url).netloc if isinstance(url, str) else ""
        if host.lower() != instance.lower():
            raise InputError(
                f"{where}: {at.field} {url!r} is on {host or 'no host'}, not on the instance "
                f"--api-url names ({instance}): the same project path on another GitLab (a "
                "staging instance's copy) is another project; check --api-url (a self-managed "
                "instance: https://HOST, or https://HOST/PATH)",
                path=str(source),
            )
        root = instance_root(self.api_url)
        path = unquote(urlsplit(url).path) if isinstance(url, str) else ""
        matched = (
            at.pattern.fullmatch(path.removeprefix(root)) if path.startswith(root + "/") else None
        )
        if matched is None:
            raise InputError(
                f"{where}: {at.field} {url!r} is no {at.kind}'s address "
                f"(https://HOST{root}/GROUP/PROJECT/{at.shape}); expected {expected}",
                path=str(source),
            )
        return matched

    def check_path(self, found: str, field: str, where: str, source: Path) -> None:
        """Refuse a project path that a record gives (by ``field``) other than this one's."""
        expect(
            self.by_id or found.casefold() == self.project.strip("/").casefold(),
            source,
            f"{where} is, by its {field}, of project {found}, not {self.project}: another "
            f"project's {self.records} (a sandbox copy's, a fork's) are not its; check "
            "--project (and --api-url, for an instance under a path: https://HOST/PATH)",
        )

    def check_ids(self, numbers: list[tuple[int, str]], source: Path) -> None:
        """Refuse project ids (each with where it was read) other than this project's, when
        ``project`` is its id, or than one another's: one project's records have one id."""
        for number, where in numbers:
            expect(
                not self.by_id or number == int(self.project),
                source,
                f"{where} is of project id {number}, not {self.project}; check --project",
            )
            first, said = numbers[0]
            expect(
                number == first,
                source,
                f"{where} is of project id {number}, but {said} of project id {first}: one "
                f"project's {self.records} have one id (the same path on another instance is "
                "another project)",
            )
