"""An options file knightwatch would not read is refused, not passed over: its settings (a
``require_all`` that fails a pass with rules not evaluated, the team's own policies, its
review bots) would be silently dropped, and the check would pass where the team asked it to
fail. Each case passes (exit 0) without the file, so a run that ignores it passes too."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, check_json, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED

STRICT = "require_all: true\n"
"""A pass here has rules not evaluated (no observations, no flag events): this fails it."""


def _passing(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    """A reviewed commit, deployed with an approval to every host: PASS, incomplete."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "one", {"a": "1\n"}, author=DEV, date="2024-01-02T00:00:00Z", trailers=REVIEWED
    )
    evidence = tmp_path / "ev"
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", sha, "2024-01-08T00:00:00Z", approvals=APPROVAL)],
    )
    return repo, evidence


def _check(repo: Path, evidence: Path) -> CliResult:
    return run_cli("check", "--repo", repo, "--evidence", evidence)


def test_the_case_passes_and_the_options_file_fails_it(tmp_path: Path) -> None:
    repo, evidence = _passing(tmp_path)
    assert _check(repo.path, evidence).code == 0
    (repo.path / "knightwatch.yaml").write_text(STRICT)
    assert _check(repo.path, evidence).code == 1


@pytest.mark.parametrize("name", [".knightwatch.yaml", ".knightwatch.yml", ".Knightwatch.yaml"])
def test_a_hidden_options_file_is_refused(tmp_path: Path, name: str) -> None:
    """The dotfile spelling many tools' options files have (``.golangci.yml``)."""
    repo, evidence = _passing(tmp_path)
    (repo.path / name).write_text(STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 2, result.err
    assert f"{name} is not read: the options file is knightwatch.yaml" in result.err
    assert "rename it to knightwatch.yaml" in result.err


def test_a_hidden_backup_beside_the_options_file_is_allowed(tmp_path: Path) -> None:
    """What an editor leaves while knightwatch.yaml is open (vim's swap file)."""
    repo, evidence = _passing(tmp_path)
    (repo.path / "knightwatch.yaml").write_text(STRICT)
    (repo.path / ".knightwatch.yaml.swp").write_text("")
    assert _check(repo.path, evidence).code == 1


@pytest.mark.parametrize("depth", [["services", "web"], ["services", "web", "src"]])
def test_an_options_file_below_the_root_on_the_way_to_repo_is_refused(
    tmp_path: Path, depth: list[str]
) -> None:
    """``--repo services/web`` (or a run from inside it) reads the root's knightwatch.yaml:
    one beside the service, where a monorepo's team put it, was passed over."""
    repo, evidence = _passing(tmp_path)
    service = repo.path / "services" / "web"
    given = repo.path.joinpath(*depth)
    given.mkdir(parents=True)
    (service / "knightwatch.yaml").write_text(STRICT)
    result = _check(given, evidence)
    assert result.code == 2, result.err
    assert f"{service / 'knightwatch.yaml'}: " in result.err
    assert "is not read: the options file is read from the repository root" in result.err
    assert f"move it to {repo.path / 'knightwatch.yaml'}" in result.err


def test_an_options_file_elsewhere_in_the_repository_is_not_judged(tmp_path: Path) -> None:
    """One in a folder the run was not pointed at (a fixture, an example) is no mistake."""
    repo, evidence = _passing(tmp_path)
    (repo.path / "examples").mkdir()
    (repo.path / "examples" / "knightwatch.yaml").write_text(STRICT)
    assert _check(repo.path, evidence).code == 0


def test_an_import_refuses_the_options_file_its_check_refuses(tmp_path: Path) -> None:
    """``import ... --repo services/web`` read the root's options and wrote to the evidence
    directory they name, passing over the service's own knightwatch.yaml (its ``evidence:``,
    its ``review_bots``), which the following check refuses."""
    repo, _ = _passing(tmp_path)
    service = repo.path / "services" / "web"
    service.mkdir(parents=True)
    (service / "knightwatch.yaml").write_text("evidence: services/web/compliance\n")
    (repo.path / "compliance").mkdir()  # the root's evidence, where the import wrote
    run = Path(__file__).resolve().parent / "importers" / "fixtures" / "ansible" / "result.json"
    result = run_cli("import", "ansible", run, "--deployment-id", "D2", "--service", "web",
                     "--deployer", DEV, "--commit", "HEAD", "--release-task",
                     "Install the release", "--not-check-mode", "--repo", service)  # fmt: skip
    assert result.code == 2, result.err
    assert f"{service / 'knightwatch.yaml'}: " in result.err
    assert "is not read: the options file is read from the repository root" in result.err


@pytest.mark.parametrize(
    "name",
    [
        "knightwatch-config.yaml",
        "knightwatch_config.yml",
        "knightwatch.config.yaml",
        "knight-watch.yaml",
        "knightwatch.json",
        "knightwatch.toml",
        "knightwatch.yaml.txt",
        "Knightwatch.yaml",
        "KNIGHTWATCH.YML",
        ".knightwatchrc",
        "knightwach.yaml",
        "knigthwatch.yml",
        "nightwatch.yaml",
        "knightwatch.ymal",  # a typing mistake in YAML's suffix
        "knightwatch.yam",
        "knightwatch.ylm",
        "knightwatch.yamll",
        "Knightwatch.YMAL",
        "knightwatch..yaml",
        "nightwatch.ymal",  # one in the stem and one in the suffix
        "knightwatch.yaml.dist",  # what PHP's tools read in the file's absence
    ],
)
def test_a_name_meant_as_the_options_file_is_refused(tmp_path: Path, name: str) -> None:
    """Another spelling, another suffix, a word options files carry, or a typing mistake or
    two in a YAML file's stem: the team believed its settings were in force."""
    repo, evidence = _passing(tmp_path)
    (repo.path / name).write_text(STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 2, result.err
    assert f"{repo.path / name}: {name} is not read: the options file is knightwatch.yaml" in (
        result.err
    )
    assert "knightwatch.yaml; if it holds no options of knightwatch's" in result.err
    assert result.out == ""


def test_a_near_name_beside_the_options_file_is_refused(tmp_path: Path) -> None:
    """Two files, one read: the stricter settings of the other were dropped."""
    repo, evidence = _passing(tmp_path)
    (repo.path / "knightwatch.yaml").write_text("fail_on: high\n")
    (repo.path / "knightwatch-config.yaml").write_text(STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 2, result.err
    assert "knightwatch-config.yaml is not read: the options file is knightwatch.yaml" in (
        result.err
    )
    assert "remove it: knightwatch.yaml is the one read" in result.err


@pytest.mark.parametrize(
    "name", ["knightwatch.yaml~", "#knightwatch.yaml#", "knightwatch.yaml.bak"]
)
def test_an_editors_backup_beside_the_options_file_is_allowed(tmp_path: Path, name: str) -> None:
    repo, evidence = _passing(tmp_path)
    (repo.path / "knightwatch.yaml").write_text(STRICT)
    (repo.path / name).write_text("")
    assert _check(repo.path, evidence).code == 1


@pytest.mark.parametrize(
    "name",
    ["knightwatch.yaml~", "knightwatch.yaml.bak", "knightwatch.yaml.orig", "#knightwatch.yaml#"],
)
def test_an_editors_backup_without_the_options_file_is_refused(tmp_path: Path, name: str) -> None:
    """A backup is harmless beside the file it copies; alone, the file it copies is gone (moved
    aside, renamed by mistake) and the backup holds the settings the team believes in force."""
    repo, evidence = _passing(tmp_path)
    (repo.path / name).write_text(STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 2, result.err
    assert f"{name} is not read: the options file is knightwatch.yaml" in result.err


EXAMPLES = ["knightwatch.yaml.example", "knightwatch.yml.sample", "knightwatch.example.yaml"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_of_the_options_file_alone_is_noted_and_not_read(
    tmp_path: Path, name: str
) -> None:
    """An example kept to be copied is no options file: the run is on the defaults (its
    ``require_all`` not applied), and the report says the example was not read."""
    repo, evidence = _passing(tmp_path)
    (repo.path / name).write_text(STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 0, result.err
    assert f"Not read (examples of knightwatch.yaml): {name}; the options are the defaults" in (
        result.out
    )
    report = check_json(repo.path, evidence).json()
    assert report["inputs"]["examples"] == [name]
    assert [f["role"] for f in report["inputs"]["files"]].count("config") == 0


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_beside_the_options_file_changes_nothing(tmp_path: Path, name: str) -> None:
    repo, evidence = _passing(tmp_path)
    (repo.path / "knightwatch.yaml").write_text(STRICT)
    (repo.path / name).write_text("require_all: false\n")
    result = _check(repo.path, evidence)
    assert result.code == 1, result.err
    assert "examples of knightwatch.yaml" not in result.out
    assert "examples" not in check_json(repo.path, evidence).json()["inputs"]


@pytest.mark.parametrize(
    "where",
    [
        ".knightwatch/config.yaml",
        ".knightwatch/options.toml",
        ".github/knightwatch.yml",
        ".knightwatch/config.ymal",  # YAML's suffix misspelt
        ".github/knightwatch.ymal",
        ".Knightwatch/config.yaml",  # the folder, where letter case is ignored (macOS)
        ".GITHUB/knightwatch.yml",
        ".knightwatch.d/config.yaml",  # the conf.d convention
        ".config/knightwatch/config.yaml",  # a folder of its own there, as mise's
        ".config/Knightwatch/knightwatch.yml",
        ".github/knightwatch/config.yml",
        ".config/knightwatch.d/options.toml",
        ".knightwatch/ci/config.yaml",  # one a pipeline, a folder below
        ".knightwatch/prod/eu/knightwatch.yml",
    ],
)
def test_an_options_file_in_a_tools_options_folder_is_refused(tmp_path: Path, where: str) -> None:
    """Where other tools keep theirs (``.github/dependabot.yml``), or a folder named for
    knightwatch: nothing there is read."""
    repo, evidence = _passing(tmp_path)
    path = repo.path / where
    path.parent.mkdir(parents=True)
    path.write_text(STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 2, result.err
    assert f"{path}: {where} is not read: the options file is knightwatch.yaml at the " in (
        result.err
    )
    assert f"move it to {repo.path / 'knightwatch.yaml'}" in result.err


PYPROJECT = '[project]\nname = "web"\n\n[tool.knightwatch]\nrequire_all = true\n'


def test_a_pyproject_table_is_refused(tmp_path: Path) -> None:
    """``[tool.knightwatch]``, where ruff, mypy and pytest read theirs."""
    repo, evidence = _passing(tmp_path)
    (repo.path / "pyproject.toml").write_text(PYPROJECT)
    result = _check(repo.path, evidence)
    assert result.code == 2, result.err
    path = repo.path / "pyproject.toml"
    assert f"{path}: [tool.knightwatch] is not read: the options file is knightwatch.yaml" in (
        result.err
    )


def test_a_services_pyproject_table_is_refused(tmp_path: Path) -> None:
    """A monorepo's service keeps its own pyproject.toml: ``--repo services/web`` refuses the
    table there as it refuses a knightwatch.yaml there."""
    repo, evidence = _passing(tmp_path)
    service = repo.path / "services" / "web"
    service.mkdir(parents=True)
    (service / "pyproject.toml").write_text(PYPROJECT)
    result = _check(service, evidence)
    assert result.code == 2, result.err
    assert f"{service / 'pyproject.toml'}: [tool.knightwatch] is not read" in result.err
    assert f"move its settings to {repo.path / 'knightwatch.yaml'}" in result.err


@pytest.mark.parametrize("name", ["knightwatch-config.yaml", "knightwach.yml", ".knightwatchrc"])
def test_a_near_name_below_the_root_on_the_way_to_repo_is_refused(
    tmp_path: Path, name: str
) -> None:
    repo, evidence = _passing(tmp_path)
    service = repo.path / "services" / "web"
    service.mkdir(parents=True)
    (service / name).write_text(STRICT)
    result = _check(service, evidence)
    assert result.code == 2, result.err
    assert f"{name} is not read: the options file is read from the repository root" in (result.err)


@pytest.mark.parametrize(
    "where",
    [
        "knightwatch.md",  # documentation
        "knightwatch.sarif",  # the reports a CI job writes at the root (docs/ci.md)
        "knightwatch.xml",
        "knightwatch.iml",  # IntelliJ's module file: a letter from .yml, without its y
        "knightwatch.ml",
        "knightwatch.schema.json",  # `knightwatch schema config`, saved for an editor
        "knightwatch-ci.yml",  # a CI include
        "nightwatch.json",  # Nightwatch.js's options
        "knightwatch/__init__.py",  # a package
        "knightwatch/config.yaml",
        ".github/workflows/knightwatch.yml",  # a workflow
        "compliance/README.md",
        ".knightwatch/config.example.yaml",  # examples, kept to be copied
        ".config/knightwatch.yaml.example",
        ".config/knightwatch/config.example.yaml",
        ".config/knightwatch/README.md",
        ".github/knightwatch/workflows/deploy.yml",  # only the folder's own files
        "pyproject.toml",
    ],
)
def test_other_names_are_left_alone(tmp_path: Path, where: str) -> None:
    """Names no one would have meant as knightwatch's options file."""
    repo, evidence = _passing(tmp_path)
    path = repo.path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[tool.ruff]\nline-length = 100\n" if where == "pyproject.toml" else STRICT)
    result = _check(repo.path, evidence)
    assert result.code == 0, result.err
