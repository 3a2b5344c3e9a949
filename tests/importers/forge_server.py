"""A stand-in forge API on 127.0.0.1 that replays recorded responses (the forges themselves
cannot be reached from the tests): each route answers its pages in turn, with GitHub's
``Link`` header or GitLab's ``X-Next-Page``/``Link`` pagination, and every request is logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from checker.importers.common import read_json
from checker.importers.github_pages import linked_pages

RATE_LIMITED = {"message": "API Rate Limit Exceeded for 92.104.200.119"}
"""The body of a real primary rate limit answer (PyGithub's replay data,
SpecificExceptions.testRateLimitExceeded.txt)."""


@dataclass
class Forge:
    """Routes (path → pages of JSON), the requests seen, and rate limit answers to give."""

    routes: dict[str, list[Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    rate_limited: set[str] = field(default_factory=set)
    """Paths whose first request is answered 403, rate limit exceeded, reset in a second."""
    relisted: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Later listings of a route (its pages each): once a listing's last page is answered,
    the next one answers the route, as a list that changed between two readings."""
    url: str = ""


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path.removeprefix("/api/v4")
            forge.requests.append(path)
            if path in forge.rate_limited:
                forge.rate_limited.discard(path)
                self._answer(
                    403,
                    RATE_LIMITED,
                    {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()))},
                )
                return
            pages = forge.routes.get(path)
            if pages is None:
                self._answer(404, {"message": "Not Found"}, {})
                return
            page = int(parse_qs(parts.query).get("page", ["1"])[0])
            headers = {}
            if page < len(pages):
                prefix = "/api/v4" if self.path.startswith("/api/v4") else ""
                following = f"{forge.url}{prefix}{path}?page={page + 1}&per_page=100"
                headers = {"Link": f'<{following}>; rel="next"', "X-Next-Page": str(page + 1)}
            if page >= len(pages) and forge.relisted.get(path):
                # Before the answer is sent: the client's next reading may arrive before this
                # thread runs again.
                forge.routes[path] = forge.relisted[path].pop(0)
            self._answer(200, pages[page - 1], headers)

        def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(forge: Forge) -> Iterator[Forge]:
    """Serve ``forge`` on a free port of 127.0.0.1 for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forge))
    forge.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _saved(path: Path) -> Any:
    """A saved answer: an object, or a list's items, its pages joined (saved with their
    headers or without)."""
    if path.read_text().startswith("HTTP/"):
        pages = linked_pages(path.read_text(), path, "a saved answer")
        return [item for page in pages for item in page.items]
    return read_json(path, "a saved answer")


def github_pull_routes(export: Path, number: int, base: str) -> dict[str, list[Any]]:
    """The forge's answers for one pull request, as the ``github-reviews`` export ``export``
    saved them (``base``: the repository's API path)."""
    saved = export / str(number)
    return {
        f"{base}/pulls": [_saved(export / "pulls.json")],
        f"{base}/pulls/{number}/reviews": [_saved(saved / "reviews.json")],
        f"{base}/pulls/{number}/commits": [_saved(saved / "commits.json")],
        f"{base}/issues/{number}/events": [_saved(saved / "events.json")],
    }


def gitlab_merge_request_routes(export: Path, iid: int, base: str) -> dict[str, list[Any]]:
    """The forge's answers for the first merge request of the ``gitlab-approvals`` export
    ``export`` (``base``: the project's API path)."""
    saved = export / str(iid)
    listed = saved / "versions.json"
    versions = _saved(listed) if listed.is_file() else []
    return {
        f"{base}/approvals": [_saved(export / "project-approvals.json")],
        f"{base}/merge_requests": [_saved(export / "merge_requests.json")[:1]],
        f"{base}/merge_requests/{iid}/approvals": [_saved(saved / "approvals.json")],
        f"{base}/merge_requests/{iid}/commits": [_saved(saved / "commits.json")],
        f"{base}/merge_requests/{iid}/notes": [_saved(saved / "notes.json")],
        f"{base}/merge_requests/{iid}/resource_state_events": [
            _saved(saved / "resource_state_events.json")
        ],
        f"{base}/merge_requests/{iid}/versions": [versions],
        **{
            f"{base}/merge_requests/{iid}/versions/{item['id']}": [_single(saved, item)]
            for item in versions
        },
    }


def _single(saved: Path, item: dict[str, Any]) -> dict[str, Any]:
    """A version's single answer (``GET .../versions/ID``): the one saved as
    ``versions/ID.json``, else the listed version with its head as its one commit (a test
    whose repository has every head needs no more)."""
    path = saved / "versions" / f"{item['id']}.json"
    if path.is_file():
        answer: dict[str, Any] = _saved(path)
        return answer
    return item | {"commits": [{"id": item["head_commit_sha"]}], "diffs": []}
