"""An approver that is a bot, as GitLab's user object says, or as its username shows.

An approver's username in the shape GitLab gives an access token's user is read as a bot's
only where its user object does not say otherwise: GitLab's users API gives ``bot``, and an
approver saved with it is judged by it. A GitLab 16 service account may have any username; its
user object says ``bot: true``.

On GitLab's !5 of tests/importers/test_retargeted_pulls.py, approved by root after its last push.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importers.forge_server import Forge, gitlab_merge_request_routes, serve
from tests.importers.test_gitlab_pushed_after_approval import APPROVED
from tests.importers.test_retargeted_pulls import _check, _gitlab, _import_gitlab


def _approved_by(tmp_path: Path, user: dict[str, Any]) -> tuple[Any, Any]:
    """!5 approved after its last push by ``user``, mapped in identities.yaml to ci@."""
    repo, export, _ = _gitlab(tmp_path, APPROVED, None)
    path = export / "5" / "approvals.json"
    approvals = json.loads(path.read_text())
    approvals["approved_by"][0]["user"] |= {"name": "Release", "id": 99, **user}
    path.write_text(json.dumps(approvals))
    identities = repo.path / "compliance" / "identities.yaml"
    identities.write_text(identities.read_text() + f"ci:\n- ci@example.com\n- {user['username']}\n")
    return repo, _import_gitlab(repo, export)


BOT_SHAPED = "project_1_bot_8e4f6b0c3a2d4e1f9a7b5c3d2e1f0a9b"


def test_a_person_whose_username_has_a_tokens_shape_counts_where_the_user_says_so(
    tmp_path: Path,
) -> None:
    """The approver's user object, as GitLab's users API gives it, says ``bot: false``: it was
    read as a bot's by its username alone, and check failed (exit 1)."""
    repo, result = _approved_by(tmp_path, {"username": BOT_SHAPED, "bot": False})
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert _check(repo).code == 0


def test_a_tokens_username_without_the_flag_is_a_bots_and_named(tmp_path: Path) -> None:
    """No ``bot`` field (the approvals API gives none): still a bot's, and the import names the
    user and what decided."""
    repo, result = _approved_by(tmp_path, {"username": BOT_SHAPED})
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by a bot" in result.err
    assert f"merge request !5: the approval of {BOT_SHAPED} is left out as a bot's" in result.err
    assert "review_bots" in result.err
    assert _check(repo).code == 1


def test_a_service_account_with_a_username_of_its_own_is_a_bot(tmp_path: Path) -> None:
    """GitLab 16 service accounts may be given any username; the users API says ``bot: true``."""
    repo, result = _approved_by(tmp_path, {"username": "release-deployer", "bot": True})
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by a bot" in result.err
    assert _check(repo).code == 1


@pytest.mark.parametrize("said", ["true", "false", 1])
def test_an_approver_whose_bot_is_not_true_or_false_is_refused(tmp_path: Path, said: Any) -> None:
    """``bot`` given as ``"true"`` (a converted export): read as not given, the username
    decided, a bot's approval counted as a person's, and check passed (exit 0)."""
    repo, result = _approved_by(tmp_path, {"username": "release-deployer", "bot": said})
    assert result.code == 2, result.err
    assert not (repo.path / "compliance" / "reviews.jsonl").exists()
    assert "approvals.json" in result.err and "approval #1: the approver's bot is" in result.err
    assert repr(said) in result.err and "Traceback" not in result.err


def _fetched(
    tmp_path: Path,
    bot: bool | None,
    monkeypatch: pytest.MonkeyPatch,
    name: str = BOT_SHAPED,
) -> tuple[Any, Any, Forge]:
    """!5 approved by the user ``name`` (a username of a token's shape unless told), fetched:
    the approvals give it as a ``UserBasic`` (no ``bot``), and ``GET /users/99`` answers
    ``bot`` (None: not found, HTTP 404)."""
    repo, _ = _approved_by(tmp_path, {"username": name})
    export = tmp_path / "export"
    monkeypatch.setenv("GITLAB_TOKEN", "test-token")
    routes = gitlab_merge_request_routes(export, 5, "/projects/group%2Fapp")
    approver = json.loads((export / "5" / "approvals.json").read_text())["approved_by"][0]
    if bot is not None:
        said = approver["user"] | {"bot": bot, "created_at": "2016-06-01T00:00:00Z"}
        routes["/users/99"] = [said]
    with serve(Forge(routes)) as forge:
        result = run_cli("import", "gitlab-approvals", "--project", "group/app",
                         "--api-url", forge.url, "--repo", repo.path)  # fmt: skip
    return repo, result, forge


def test_a_fetched_approver_with_a_tokens_username_is_asked_whether_it_is_a_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch took the approvals' user object, which has no ``bot``, so a person with such
    a username was left out as a bot and check failed (exit 1). It now asks the user, once."""
    repo, result, forge = _fetched(tmp_path, False, monkeypatch)
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert forge.requests.count("/users/99") == 1
    assert _check(repo).code == 0


def test_a_fetched_approver_the_users_api_calls_a_bot_stays_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, result, _ = _fetched(tmp_path, True, monkeypatch)
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by a bot" in result.err
    assert _check(repo).code == 1


def test_a_fetched_service_account_with_a_username_of_its_own_is_asked_and_a_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GitLab 16 service account given a username of its own (``release-deployer``): the
    fetch asked only token-shaped usernames, kept the approvals' ``UserBasic`` (no ``bot``),
    counted the bot's approval, and check passed (exit 0). Every approver whose user object
    does not say is asked now, once."""
    repo, result, forge = _fetched(tmp_path, True, monkeypatch, "release-deployer")
    assert result.code == 0, result.err
    assert "0 approvals counted" in result.err and "1 by a bot" in result.err, result.err
    assert forge.requests.count("/users/99") == 1
    assert _check(repo).code == 1


@pytest.mark.parametrize("bot", [False, None])
def test_a_fetched_person_is_judged_by_the_users_answer_or_its_username(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot: bool | None
) -> None:
    """A person's approval counts where the users API says ``bot: false``, and where it does
    not find the user (a blocked one, hidden from the token: HTTP 404), as before."""
    repo, result, _ = _fetched(tmp_path, bot, monkeypatch, "release-manager")
    assert result.code == 0, result.err
    assert "1 approvals counted" in result.err, result.err
    assert _check(repo).code == 0
