"""Saved GitHub pull requests, reviews and events are the repository's that ``--repository``
names. GitHub gives every pull request its API addresses (``url``, ``https://api.github.com/
repos/OWNER/REPO/pulls/NUMBER``, ``issue_url``, ``commits_url``, ..., its base's ``repo``),
every review its ``pull_request_url`` and every issue event its ``url``. A fork's or a sandbox
copy's #538, approving the same commits, saved and imported, was the audited repository's
review and check passed on commits nobody in it reviewed. A record that names another
repository, or none, is refused; so is saved output with no ``--repository``.

On PyGithub#538's recorded objects (tests/importers/fixtures/forges, sources in its README),
as tests/importers/test_landed_merges.py prepares them: a merge commit, approved on its head.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import CliResult, run_cli
from tests.importers import workspaces
from tests.importers.forge_server import Forge, github_pull_routes, serve
from tests.importers.test_landed_merges import _pr538
from tests.importers.workspaces import check, edit, named

REPOSITORY = "PyGithub/PyGithub"
API = "https://api.github.com"


def _import(repo: ScriptedRepo, export: Path, *options: str) -> CliResult:
    return run_cli("import", "github-reviews", export / "pulls.json", export, "--repo", repo.path,
                   *named("--repository", REPOSITORY, options))  # fmt: skip


def _moved(export: Path, repository: str, api: str = API) -> None:
    """The saved output as GitHub gives it for ``repository`` at ``api``: every API address
    of the pull request, its reviews and its events, and its base's name, name it."""
    for path in export.rglob("*.json"):
        text = path.read_text().replace(f"{API}/repos/{REPOSITORY}/", f"{api}/repos/{repository}/")
        text = text.replace(f'"{API}/repos/{REPOSITORY}"', f'"{api}/repos/{repository}"')
        text = text.replace(f'"full_name": "{REPOSITORY}"', f'"full_name": "{repository}"')
        path.write_text(text)


def _refused(result: CliResult, repo: ScriptedRepo, *said: str) -> None:
    workspaces.refused(result, repo.path / "compliance" / "reviews.jsonl", *said)


def test_the_repositorys_own_pull_requests_are_imported(tmp_path: Path) -> None:
    """#538 came from a fork (its ``head.repo`` is allevin/PyGithub, as recorded): a pull
    request into the repository is the repository's, wherever its branch lives."""
    repo, export, _ = _pr538(tmp_path, "merge")
    workspaces.review_imported(repo, lambda: _import(repo, export), f"{REPOSITORY}#538")
    # GitHub's names are one regardless of case: pygithub/PYGITHUB is PyGithub/PyGithub.
    assert _import(repo, export, "--repository", "pygithub/PYGITHUB").code == 0


@pytest.mark.parametrize("other", ["mallory/PyGithub", "PyGithub/PyGithub-sandbox", "PyGithub/Py"])
def test_another_repositorys_pull_requests_are_refused(tmp_path: Path, other: str) -> None:
    """A fork, a sandbox copy with the same commits, a name that the audited one begins with:
    #538 approved on its head there, and check passed on it as the audited repository's."""
    repo, export, _ = _pr538(tmp_path, "merge")
    _moved(export, other)
    result = _import(repo, export)
    said = f"item #1 (pull request #538) is, by its url, of repository {other}, not {REPOSITORY}"
    _refused(result, repo, f"{export / 'pulls.json'}: {said}", "check --repository")
    assert check(repo).code == 1


def test_saved_output_without_a_repository_is_refused(tmp_path: Path) -> None:
    """Nothing on the command line said whose pull requests the file holds: a fork's were
    imported as the audited repository's, and check passed."""
    repo, export, _ = _pr538(tmp_path, "merge")
    _moved(export, "mallory/PyGithub")
    result = run_cli("import", "github-reviews", export / "pulls.json", export,
                     "--repo", repo.path)  # fmt: skip
    workspaces.unnamed_refused(repo, result, "give --repository OWNER/REPO")
    half = run_cli("import", "github-reviews", export / "pulls.json", "--repository", REPOSITORY,
                   "--repo", repo.path)  # fmt: skip
    _refused(half, repo, "give PULLS.json REVIEWS_DIR and --repository OWNER/REPO")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issue_url", f"{API}/repos/mallory/PyGithub/issues/538"),
        ("statuses_url", f"{API}/repos/mallory/PyGithub/statuses/0"),
        ("base.repo.url", f"{API}/repos/mallory/PyGithub"),
        ("base.repo.full_name", "mallory/PyGithub"),
        ("_links.self.href", f"{API}/repos/mallory/PyGithub/pulls/538"),
    ],
)
def test_addresses_that_disagree_are_refused(tmp_path: Path, field: str, value: str) -> None:
    """Each address the pull request gives, not only its ``url``, must name the repository."""
    repo, export, _ = _pr538(tmp_path, "merge")

    def change(pulls: list[dict[str, Any]]) -> None:
        *parents, last = field.split(".")
        target = pulls[0]
        for key in parents:
            target = target[key]
        target[last] = value

    edit(export / "pulls.json", change)
    said = f"item #1 (pull request #538) is, by its {field}, of repository mallory/PyGithub"
    _refused(_import(repo, export), repo, said)


def test_an_address_of_another_pull_request_is_refused(tmp_path: Path) -> None:
    repo, export, _ = _pr538(tmp_path, "merge")
    edit(
        export / "pulls.json", lambda p: p[0].update(issue_url=f"{API}/repos/{REPOSITORY}/issues/1")
    )
    _refused(_import(repo, export), repo, "issue_url", "is not pull request #538's address")


def test_an_unmerged_pull_request_of_another_repository_or_of_none_is_refused(
    tmp_path: Path,
) -> None:
    """A closed, unmerged pull request imports nothing, but one of another repository shows the
    file is not (only) the repository's; one trimmed of its addresses shows nothing."""
    repo, export, _ = _pr538(tmp_path, "merge")
    [pull] = json.loads((export / "pulls.json").read_text())
    fork = {
        **pull,
        "number": 537,
        "merged_at": None,
        "url": f"{API}/repos/mallory/PyGithub/pulls/537",
    }
    trimmed = {k: v for k, v in fork.items() if not k.endswith("url") and k != "_links"}
    (export / "pulls.json").write_text(json.dumps([pull, fork]))
    _refused(_import(repo, export), repo, "item #2 (pull request #537) is, by its url, of "
             "repository mallory/PyGithub")  # fmt: skip
    trimmed["base"] = {k: v for k, v in pull["base"].items() if k != "repo"}
    (export / "pulls.json").write_text(json.dumps([pull, trimmed]))
    _refused(_import(repo, export), repo, "item #2 (pull request #537) names no repository")


def test_a_review_or_an_event_of_another_repository_is_refused(tmp_path: Path) -> None:
    """Each review names its pull request (``pull_request_url``, and ``_links.pull_request``),
    each event its repository (``url``): one of another repository is refused by name."""
    repo, export, _ = _pr538(tmp_path, "merge")
    fork = f"{API}/repos/mallory/PyGithub"
    reviews = export / "538" / "reviews.json"
    original = reviews.read_text()
    edit(reviews, lambda r: r[0].update(_links={"pull_request": {"href": f"{fork}/pulls/538"}}))
    _refused(_import(repo, export), repo, f"{reviews}: item #1 (review 28482091) is, by its "
             "_links.pull_request.href, of repository mallory/PyGithub")  # fmt: skip
    reviews.write_text(original)
    events = export / "538" / "events.json"
    edit(events, lambda e: e[0].update(url=f"{fork}/issues/events/{e[0]['id']}"))
    _refused(_import(repo, export), repo, f"{events}: item #1 (event 1009034767) is, by its url, "
             "of repository mallory/PyGithub")  # fmt: skip


def test_github_enterprise_addresses_are_read_against_api_url(tmp_path: Path) -> None:
    """GitHub Enterprise Server writes its API's addresses, ``https://HOST/api/v3/repos/...``:
    they are read against ``--api-url``, and the same repository on another host is another
    repository."""
    repo, export, _ = _pr538(tmp_path, "merge")
    _moved(export, REPOSITORY, "https://ghe.example.com/api/v3")
    written = repo.path / "compliance" / "reviews.jsonl"
    workspaces.read_against_api_url(lambda *options: _import(repo, export, *options), written)


def test_a_repository_that_is_no_owner_and_name_is_refused(tmp_path: Path) -> None:
    repo, export, _ = _pr538(tmp_path, "merge")
    _refused(_import(repo, export, "--repository", "PyGithub"), repo, "OWNER/REPO")


def test_the_repository_alone_is_fetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--repository`` alone fetches, as before: the request names the repository, its
    answers are not compared (they name api.github.com, the stand-in server is another host),
    and the records are those the saved output of the same answers gives."""
    repo, export, _ = _pr538(tmp_path, "merge")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    base = f"/repos/{REPOSITORY}"
    with serve(Forge(github_pull_routes(export, 538, base))) as forge:
        fetched = run_cli("import", "github-reviews", "--repository", REPOSITORY,
                          "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    assert fetched.code == 0, fetched.err
    workspaces.fetched_as_saved(
        repo.path / "compliance" / "reviews.jsonl", lambda: _import(repo, export)
    )
