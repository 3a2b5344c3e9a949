"""Repositories with an evidence directory, as the importer tests start from them, and what
the importer tests assert of an import."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from checker.demo.builder import ScriptedRepo
from checker.importers.common import read_list
from checker.importers.github_pages import HEAD_END
from checker.importers.github_pages import linked_pages as pages_read
from tests.conftest import CliResult, run_cli
from tests.importers.forge_server import Forge, serve


def dated_commits(tmp_path: Path, count: int) -> tuple[ScriptedRepo, Path, list[str]]:
    """``count`` commits by dana, a day apart from 2024-02-01, and an empty compliance/."""
    repo = ScriptedRepo(tmp_path / "smars")
    shas = [
        repo.commit(
            f"change {n}",
            {f"module{n}.py": f"VALUE = {n}\n"},
            author="Dana <dana@knight.example>",
            date=f"2024-02-{n + 1:02d}T10:00:00Z",
        )
        for n in range(count)
    ]
    evidence = repo.path / "compliance"
    evidence.mkdir()
    return repo, evidence, shas


def order_router(tmp_path: Path, hosts: int) -> tuple[ScriptedRepo, Path, str]:
    """The order router's reviewed release, and a fleet.yaml of smars-01 .. smars-0N."""
    repo = ScriptedRepo(tmp_path / "smars")
    sha = repo.commit(
        "Order router 4.1",
        {"router.py": "def route(order):\n    return order\n"},
        author="Dana <dana@knight.example>",
        date="2012-07-20T10:00:00Z",
        trailers=("Reviewed-by: Lee <lee@knight.example>",),
    )
    evidence = repo.path / "compliance"
    evidence.mkdir()
    fleet = {"services": {"smars": {"hosts": [f"smars-0{n}" for n in range(1, hosts + 1)]}}}
    (evidence / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    return repo, evidence, sha


def import_ansible(repo: ScriptedRepo, source: Path, *extra: str) -> CliResult:
    """``knightwatch import ansible`` of ``source`` as deployment D-2012-08-01 of smars."""
    return run_cli(
        "import", "ansible", source, "--repo", repo.path, "--deployment-id", "D-2012-08-01",
        "--service", "smars", "--commit", "main", "--deployer", "tech1@knight.example",
        "--approval", "lead@knight.example,2012-07-27T21:30:00Z", *extra,
    )  # fmt: skip


def named(flag: str, name: str, options: tuple[str, ...]) -> tuple[str, ...]:
    """``options``, led by ``flag name`` (``--project group/app``) unless they give ``flag``."""
    return options if flag in options else (flag, name, *options)


def check(repo: ScriptedRepo) -> CliResult:
    """``knightwatch check`` of ``repo`` as of 2018-01-01, after every recorded forge object."""
    return run_cli("check", "--repo", repo.path, "--as-of", "2018-01-01")


def review_imported(repo: ScriptedRepo, imported: Callable[[], CliResult], change: str) -> None:
    """Asserts check fails until ``imported`` records the one review ``change``, then passes."""
    assert check(repo).code == 1  # nothing reviewed the change yet
    result = imported()
    assert result.code == 0, result.err
    written = (repo.path / "compliance" / "reviews.jsonl").read_text()
    [record] = [json.loads(line) for line in written.splitlines()]
    assert record["change"] == change
    assert check(repo).code == 0


def unnamed_refused(repo: ScriptedRepo, result: CliResult, give: str) -> None:
    """Asserts saved reviews imported without the option ``give`` names were refused, unchecked."""
    refused(
        result, repo.path / "compliance" / "reviews.jsonl", give, "every saved record must be its"
    )
    assert check(repo).code == 1


def edit(path: Path, change: Callable[[Any], object]) -> None:
    """``path``'s JSON written again after ``change`` edits it in place; what comes before it
    (a saved page's status line and headers) and after it kept."""
    head, items, after = first_body(path.read_text())
    change(items)
    path.write_text(head + json.dumps(items) + after)


def first_body(text: str) -> tuple[str, Any, str]:
    """A saved file's text at its first JSON value: what comes before it (a page's status line
    and headers, as ``gh api --include`` and ``curl -i`` save them, or nothing), the value, and
    what follows it."""
    start = HEAD_END.search(text).end() if text.startswith("HTTP/") else 0  # type: ignore[union-attr]
    value, end = json.JSONDecoder().raw_decode(text, start)
    return text[:start], value, text[end:]


def refused(result: CliResult, written: Path, *said: str) -> None:
    """Asserts an import refused: exit 2 saying each of ``said``, no traceback, no ``written``."""
    assert result.code == 2, result.err
    for text in said:
        assert text in result.err, result.err
    assert "Traceback" not in result.err
    assert not written.exists()


def fetched_as_saved(written: Path, import_saved: Callable[[], CliResult]) -> None:
    """Asserts the fetched records in ``written`` are those ``import_saved`` writes again."""
    fetched = [json.loads(line) for line in written.read_text().splitlines()]
    written.unlink()
    assert import_saved().code == 0
    assert [json.loads(line) for line in written.read_text().splitlines()] == fetched


def read_against_api_url(imported: Callable[..., CliResult], written: Path) -> None:
    """Asserts GitHub Enterprise's saved output (ghe.example.com) imports with its --api-url."""
    refused(imported(), written, "is no address of the API at https://api.github.com", "--api-url")
    enterprise = imported("--api-url", "https://GHE.example.com/api/v3/")
    assert enterprise.code == 0, enterprise.err
    written.unlink()
    refused(imported("--api-url", "https://other.example.com/api/v3"), written,
            "is no address of the API at https://other.example.com/api/v3")  # fmt: skip


def fetched_gitlab_deployment(
    repo: ScriptedRepo, deployment: dict[str, Any], users: dict[int, Any] | None = None
) -> CliResult:
    """``import gitlab-deployments --fetch`` from a stand-in GitLab listing ``deployment``;
    ``users``: what it answers ``GET /users/ID`` with."""
    base = "/projects/group%2Fapp"
    listed = {k: v for k, v in deployment.items() if k != "approvals"}
    routes = {f"{base}/deployments": [[listed]], f"{base}/deployments/42": [deployment]}
    routes |= {f"/users/{ident}": [user] for ident, user in (users or {}).items()}
    with serve(Forge(routes)) as forge:
        return run_cli("import", "gitlab-deployments", "--fetch", "--project", "group/app",
                       "--service", "app", "--target", "app-1", "--api-url", forge.url,
                       "--repo", repo.path)  # fmt: skip


LIST = "https://forge.example/api/list"
"""The address ``saved_pages`` gives a list, which its ``link`` header names."""


def saved_pages(*pages: list[Any]) -> str:
    """A saved list, whole: every page with its headers, as GitLab answers it (``gitlab_pages``,
    whose ``link`` header numbers the pages as GitHub's ``Link`` does, and which the GitHub
    reader reads so); no page at all is an empty list, answered ``[]``."""
    return gitlab_pages(LIST, *(pages or ([],)))


def bare_pages(*pages: list[Any]) -> str:
    """A list saved without headers: each page a JSON array, then the empty page the forge
    answers past the last (as a loop of requests writes them)."""
    return "".join(json.dumps(page) + "\n" for page in [*pages, []])


def linked_pages(address: str, *pages: list[Any], per_page: int | None = None) -> str:
    """Every page of a GitHub list (``address``, its API address) as ``gh api --include
    --paginate`` saves them: each page's status line, its headers (``Link`` numbering it, as
    GitHub writes it, ``per_page`` the first page's size unless given) and its body."""
    size = per_page or len(pages[0])
    address += "&" if "?" in address else "?"  # after the list's own parameters, if it has any
    saved = []
    for number, page in enumerate(pages, start=1):
        at = {n: f"<{address}per_page={size}&page={n}>" for n in (1, number - 1, number + 1)}
        links = [f'{at[number - 1]}; rel="prev"'] if number > 1 else []
        if number < len(pages):
            links += [f'{at[number + 1]}; rel="next"',
                      f'<{address}per_page={size}&page={len(pages)}>; rel="last"']  # fmt: skip
        links += [f'{at[1]}; rel="first"'] if number > 1 else []
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Github-Api-Version-Selected": "2022-11-28",
                   **({"Link": ", ".join(links)} if links else {})}  # fmt: skip
        head = "".join(f"{name}: {value}\r\n" for name, value in sorted(headers.items()))
        saved.append(f"HTTP/2.0 200 OK\n{head}\r\n{json.dumps(page)}")
    return "\n".join(saved)


def gitlab_pages(address: str, *pages: list[Any], per_page: int | None = None) -> str:
    """Every page of a GitLab list (``address``, its API address) as ``curl -i`` saves each,
    one after the other: its status line, its headers as GitLab's REST documentation shows them
    ("Pagination Link header": ``x-page``, ``x-next-page``, empty on the last page,
    ``x-per-page``, ``x-prev-page``, ``x-total``, ``x-total-pages`` and ``link``), a blank line
    and its body, which ends without a newline. ``per_page`` is the first page's size unless
    given."""
    size = per_page or len(pages[0]) or 20
    address += "&" if "?" in address else "?"
    total, saved = sum(len(page) for page in pages), []
    for number, page in enumerate(pages, start=1):
        named = {"prev": number - 1, "next": number + 1, "first": 1, "last": len(pages)}
        links = [f'<{address}page={n}&per_page={size}>; rel="{relation}"'
                 for relation, n in named.items() if 1 <= n <= len(pages)]  # fmt: skip
        headers = {"cache-control": "no-cache", "content-type": "application/json",
                   "link": ", ".join(links), "vary": "Origin",
                   "x-next-page": str(number + 1) if number < len(pages) else "",
                   "x-page": str(number), "x-per-page": str(size),
                   "x-prev-page": str(number - 1) if number > 1 else "",
                   "x-total": str(total), "x-total-pages": str(len(pages))}  # fmt: skip
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        saved.append(f"HTTP/2 200 \r\n{head}\r\n{json.dumps(page)}")
    return "".join(saved)


GITLAB_DEPLOYMENTS = (
    "http://gitlab.dev/api/v4/projects/group%2Fapp/deployments?order_by=id&sort=asc"
)
"""The address of group/app's deployment list, as the docs' commands ask it, on the instance of
GitLab's documented examples."""


def saved_items(path: Path) -> list[Any]:
    """The items of the saved list ``path``, its pages joined, whether saved with their
    headers or without (the empty page past the last too)."""
    text = path.read_text()
    if not text.startswith("HTTP/"):
        return read_list(path, "a saved list")
    return [item for page in pages_read(text, path, "a saved list") for item in page.items]


def with_headers(path: Path, address: str) -> None:
    """Writes the list saved at ``path`` without headers (its pages, the empty one past the
    last) again as one page with its headers, as the docs' commands save it: GitHub's form
    (``linked_pages``) where ``address`` is GitHub's API, else GitLab's (``gitlab_pages``)."""
    text = path.read_text()
    head, items, after = first_body(text)
    assert not head and after.strip() in ("", "[]"), f"{path}: not one page without headers"
    saved = (linked_pages if "api.github.com" in address else gitlab_pages)(
        address, items, per_page=100
    )
    path.write_text(saved[: -len(json.dumps(items))] + text[: len(text) - len(after)] + "\n")
