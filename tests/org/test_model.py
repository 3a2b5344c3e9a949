"""org.yaml: every mistake is exit 2 naming the file and line, with nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.errors import InputError
from checker.org.model import load_org
from tests.org.orgcase import Org, three_teams


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return three_teams(tmp_path_factory.mktemp("org"))


def _system(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "repository": f"repos/{name}",
        "services": [name],
        "owner": "team@example.com",
        **fields,
    }


def _refused(org: Org, text: str, tmp_path: Path) -> str:
    """org.yaml of ``text``: the audit exits 2 and writes nothing; its message."""
    org.file.write_text(text)
    output = tmp_path / "org.json"
    result = org.audit(output)
    assert result.code == 2, result.err
    assert not output.exists()
    assert "Traceback" not in result.err
    return result.err


def test_a_valid_file_lists_every_system_sorted_with_its_paths_resolved(teams: Org) -> None:
    teams.write(
        {
            "organisation": "Example Bank",
            "systems": [
                _system("web", services=[{"name": "shop", "paths": ["shop/**"]}, "cart"]),
                _system("ledger", key="keys/ledger.pub", evidence="repos/ledger/compliance"),
            ],
        }
    )
    org = load_org(teams.file)
    assert org.name == "Example Bank"
    assert [s.name for s in org.systems] == ["ledger", "web"]
    ledger, web = org.systems
    assert ledger.location == str((teams.root / "repos/ledger").resolve())
    assert ledger.key == (teams.root / "keys/ledger.pub").resolve()
    assert ledger.evidence_path == (teams.root / "repos/ledger/compliance").resolve()
    assert web.service_paths == {"shop": ["shop/**"]}
    assert [s.name for s in web.services] == ["shop", "cart"]
    assert not web.is_url and web.key is None


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        (
            "systems:\n- name: a\n  repository: repos/a\n  services: [a]\n  owner: t\n"
            "- name: a\n  repository: repos/b\n  services: [b]\n  owner: t\n",
            6,
            "system a is listed twice (first at line 2)",
        ),
        (
            "systems:\n- name: a\n  repository: repos/a\n  services: [pay]\n  owner: t\n"
            "- name: b\n  repository: repos/b\n  services: [{name: pay}]\n  owner: t\n",
            6,
            "service pay is in system b and in system a",
        ),
        (
            "systems:\n- name: a\n  repository: repos/a\n  services: [pay, pay]\n  owner: t\n",
            2,
            "service pay is in system a and twice in it",
        ),
        (
            "systems:\n- name: a\n  services: [a]\n  owner: t\n",
            2,
            "repository",
        ),
        (
            "systems:\n- name: a\n  repository: repos/a\n  services: [a]\n  owner: t\n"
            "  repositry: repos/b\n",
            6,
            "repositry",
        ),
        ("sytems: []\n", 1, "sytems"),
        ("systems: []\n", 1, "systems"),
        (
            "systems:\n- name: a\n  repository: ../elsewhere/a\n  services: [a]\n  owner: t\n",
            3,
            "leaves the directory of org.yaml",
        ),
        (
            "systems:\n- name: a\n  repository: /srv/git/a\n  services: [a]\n  owner: t\n",
            3,
            "leaves the directory of org.yaml",
        ),
        (
            "systems:\n- name: a\n  repository: repos/a\n  services: [a]\n  owner: t\n"
            "  evidence: ../../etc\n",
            6,
            "leaves the directory of org.yaml",
        ),
        (
            "systems:\n- name: ../a\n  repository: repos/a\n  services: [a]\n  owner: t\n",
            2,
            "not a system name",
        ),
        (
            "systems:\n- name: a\n  repository: repos/a\n  services: []\n  owner: t\n",
            4,
            "services",
        ),
        (
            "systems:\n- name: a\n  repository: repos/a\n  owner: t\n"
            "  services: [{name: a, paths: [../b/**]}]\n",
            5,
            "not a path inside the repository",
        ),
    ],
    ids=[
        "system-twice",
        "service-in-two-systems",
        "service-twice-in-one",
        "no-repository",
        "unknown-key",
        "misspelt-systems",
        "zero-systems",
        "repository-climbs-out",
        "repository-absolute",
        "evidence-climbs-out",
        "system-name-a-path",
        "no-services",
        "service-path-climbs-out",
    ],
)
def test_mistakes_are_refused_at_their_line(
    teams: Org, tmp_path: Path, text: str, line: int, said: str
) -> None:
    err = _refused(teams, text, tmp_path)
    assert f"org.yaml:{line}:" in err
    assert said in err


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "- a list\n", "systems\n"])
def test_an_empty_or_shapeless_file_is_refused(teams: Org, tmp_path: Path, text: str) -> None:
    assert "org.yaml" in _refused(teams, text, tmp_path)


def test_a_missing_file_is_refused(teams: Org, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="organisation file not found"):
        load_org(tmp_path / "org.yaml")
    result = teams.audit(tmp_path / "x.json", "--org", tmp_path / "org.yaml")
    assert result.code == 2 and "org.yaml: organisation file not found" in result.err


def test_a_private_key_where_the_public_key_belongs_is_refused(teams: Org, tmp_path: Path) -> None:
    text = (
        "systems:\n- name: ledger\n  repository: repos/ledger\n  services: [ledger]\n"
        "  owner: t\n  key: keys/ledger.key\n"
    )
    err = _refused(teams, text, tmp_path)
    assert "org.yaml:2:" in err and "ledger.key is a private key" in err
    assert "PRIVATE" not in err.replace("private key", "")


def test_a_key_that_is_not_a_key_or_is_missing_is_refused(teams: Org, tmp_path: Path) -> None:
    base = (
        "systems:\n- name: ledger\n  repository: repos/ledger\n  services: [ledger]\n  owner: t\n"
    )
    err = _refused(teams, base + "  key: org.yaml\n", tmp_path)
    assert "org.yaml:2:" in err and "not a PEM public key" in err
    err = _refused(teams, base + "  key: keys/nobody.pub\n", tmp_path)
    assert "org.yaml:2:" in err and "cannot read its key nobody.pub" in err


def test_a_symbolic_link_out_of_the_directory_is_refused(teams: Org, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = teams.root / "repos" / "sneaky"
    link.symlink_to(outside)
    try:
        text = "systems:\n- name: s\n  repository: repos/sneaky\n  services: [s]\n  owner: t\n"
        err = _refused(teams, text, tmp_path)
        assert "org.yaml:2:" in err and "leads out of the directory" in err
    finally:
        link.unlink()


def test_a_git_url_is_a_repository_and_not_a_path(teams: Org) -> None:
    for url in ("https://git.example.com/a.git", "git@git.example.com:a.git", "file:///srv/a"):
        teams.write({"systems": [_system("a", repository=url)]})
        (system,) = load_org(teams.file).systems
        assert system.is_url and system.location == url
