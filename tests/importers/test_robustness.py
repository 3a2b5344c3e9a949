"""Whatever a tool's JSON or an evidence file holds, knightwatch either does its work or
refuses the input (exit 2): never a traceback. Seeded mutations of real-shaped input: fields
dropped, nulled, retyped; and every plain field of the importers' fixtures made a list and an
object in turn."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.demo.knight import KnightCase, build_knight
from checker.errors import KnightwatchError
from checker.evidence.identities import IdentityResolver
from checker.importers import (
    ansible,
    gerrit,
    github,
    github_deployments,
    gitlab,
    gitlab_deployments,
)
from checker.importers.common import Logins
from checker.importers.forge_deploys import Scope
from checker.importers.forge_origins import Origin, Project
from tests.conftest import CliResult, run_cli
from tests.importers.workspaces import (
    GITLAB_DEPLOYMENTS,
    first_body,
    saved_items,
    saved_pages,
    with_headers,
)

ANSIBLE = Path(__file__).resolve().parent / "fixtures" / "ansible"
RESULT = ANSIBLE / "result.json"
KILLED = ANSIBLE / "rolling" / "killed.jsonl"
RUNNER = ANSIBLE / "knight" / "runner"
ROLLBACK = ANSIBLE / "outcomes" / "rollback.json"
RELEASE = ("--release-task", "Install the release")
GERRIT_REST = ANSIBLE.parent / "gerrit" / "rest-detailed.json"
GERRIT_SSH = ANSIBLE.parent / "gerrit" / "ssh-detailed.jsonl"
REPLACEMENTS: list[Any] = [None, 1, "x", [], {}, True, -1.5]


def mutate(value: Any, rng: random.Random) -> Any:
    """One to three changes inside ``value``: members dropped, or replaced by another type."""
    for _ in range(rng.randint(1, 3)):
        _change(value, rng)
    return value


def _change(value: Any, rng: random.Random) -> None:
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        roll = rng.random()
        if roll < 0.3:
            value[key] = rng.choice(REPLACEMENTS)
        elif roll < 0.5:
            del value[key]
        else:
            _change(value[key], rng)
    elif isinstance(value, list) and value:
        index = rng.randrange(len(value))
        if rng.random() < 0.3:
            value[index] = rng.choice(REPLACEMENTS)
        else:
            _change(value[index], rng)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScriptedRepo, str]:
    scripted = ScriptedRepo(tmp_path_factory.mktemp("robust") / "repo")
    sha = scripted.commit(
        "c", {"a": "1"}, author="dana@knight.example", date="2024-01-01T00:00:00Z"
    )
    (scripted.path / "compliance").mkdir()
    return scripted, sha


def _judged(result: CliResult) -> None:
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


def _import_ansible(path: Path, scripted: ScriptedRepo, seed: int, *extra: str) -> CliResult:
    return run_cli(
        "import", "ansible", path, "--repo", scripted.path, "--deployment-id", f"D{seed}",
        "--service", "smars", "--commit", "HEAD", "--deployer", "ops@knight.example",
        "--not-check-mode", *extra,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(80))
def test_mutated_ansible_output(seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path) -> None:
    scripted, _ = repo
    path = tmp_path / "run.json"
    rng = random.Random(seed)  # noqa: S311  (seeded mutations, not secrets)
    recording = ROLLBACK if seed % 2 else RESULT
    path.write_text(json.dumps(mutate(json.loads(recording.read_text()), rng)))
    _judged(_import_ansible(path, scripted, seed, *RELEASE))


@pytest.mark.parametrize("seed", range(40))
def test_mutated_ansible_event_streams(
    seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path
) -> None:
    """The jsonl callback's lines (a killed run's) and ansible-runner's job events, mutated."""
    scripted, _ = repo
    rng = random.Random(seed)  # noqa: S311
    extra = RELEASE if seed % 4 < 2 else ("--release-task", "Wait for the health check")
    if seed % 2:
        events = [json.loads(line) for line in KILLED.read_text().splitlines()]
        path = tmp_path / "run.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in mutate(events, rng)))
    else:
        path = tmp_path / "job_events"
        path.mkdir()
        files = sorted((RUNNER / "job_events").glob("*.json"))
        for file in files:
            shutil.copy(file, path / file.name)
        for file in rng.sample(files, 3):
            (path / file.name).write_text(json.dumps(mutate(json.loads(file.read_text()), rng)))
        path = tmp_path
    _judged(_import_ansible(path, scripted, seed, *extra))


@pytest.mark.parametrize("seed", range(30))
def test_mutated_github_objects(seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path) -> None:
    scripted, sha = repo
    rng = random.Random(seed)  # noqa: S311
    user = {"login": "dana-gh", "type": "User"}
    pulls = [
        {
            "number": 1,
            "user": user,
            "head": {"sha": sha},
            "base": {"repo": {"full_name": "knight/smars"}},
            "merged_at": "2024-02-01T00:00:00Z",
            "merge_commit_sha": sha,
        }
    ]
    reviews = [
        {
            "id": 1,
            "user": {"login": "lee-gh", "type": "User"},
            "state": "APPROVED",
            "commit_id": sha,
            "submitted_at": "2024-01-15T00:00:00Z",
        }
    ]
    commits = [{"sha": sha, "commit": {"author": {"email": "dana@knight.example"}}, "author": user}]
    folder = tmp_path / "github" / "1"
    folder.mkdir(parents=True)
    which = seed % 3
    (tmp_path / "pulls.json").write_text(json.dumps(mutate(pulls, rng) if which == 0 else pulls))
    (folder / "reviews.json").write_text(
        json.dumps(mutate(reviews, rng) if which == 1 else reviews)
    )
    (folder / "commits.json").write_text(
        json.dumps(mutate(commits, rng) if which == 2 else commits)
    )
    _judged(
        run_cli(
            "import",
            "github-reviews",
            tmp_path / "pulls.json",
            tmp_path / "github",
            "--repository",
            "knight/smars",
            "--repo",
            scripted.path,
            "--evidence",
            tmp_path,
        )
    )


@pytest.mark.parametrize("seed", range(40))
def test_mutated_gerrit_changes(seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path) -> None:
    """Both exports: REST change objects (pages) and gerrit query's lines."""
    scripted, _ = repo
    rng = random.Random(seed)  # noqa: S311
    if seed % 2:
        changes = json.loads(GERRIT_REST.read_text().split("\n", 1)[1])
        path = tmp_path / "changes.json"
        path.write_text(")]}'\n" + json.dumps(mutate(changes, rng)))
    else:
        lines = [json.loads(line) for line in GERRIT_SSH.read_text().splitlines()]
        path = tmp_path / "changes.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in mutate(lines, rng)))
    argv = ["import", "gerrit", path, "--project", "smars"]
    _judged(run_cli(*argv, "--repo", scripted.path, "--evidence", tmp_path))


@pytest.fixture(scope="module")
def knight(tmp_path_factory: pytest.TempPathFactory) -> KnightCase:
    return build_knight(tmp_path_factory.mktemp("knight"))


@pytest.mark.parametrize("seed", range(30))
def test_mutated_evidence_is_judged_or_refused(
    seed: int, knight: KnightCase, tmp_path: Path
) -> None:
    """The same for the evidence a check reads: a verdict, or exit 2 naming the file."""
    rng = random.Random(seed)  # noqa: S311
    evidence = tmp_path / "evidence"
    shutil.copytree(knight.evidence, evidence)
    names = ["deploys", "flag_events", "observations", "fleet", "identities"]
    path = evidence / f"{names[seed % len(names)]}.yaml"
    document = mutate(yaml.safe_load(path.read_text()), rng)
    if seed % 2:  # the same records as JSON Lines
        path.unlink()
        if isinstance(document, list) and path.stem != "fleet":
            lines = "".join(json.dumps(record) + "\n" for record in document)
            path.with_suffix(".jsonl").write_text(lines)
            document = None
    if document is not None:
        path.write_text(yaml.safe_dump(document))
    result = run_cli(
        "check", "--repo", knight.repo, "--evidence", evidence, "--as-of", "2012-08-31",
        "--format", "json",
    )  # fmt: skip
    assert result.code in (0, 1, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    if result.code == 2:
        assert str(evidence) in result.err


FORGES = Path(__file__).resolve().parent / "fixtures" / "forges"


def _forge_export(source: Path, target: Path, real: str, sha: str) -> list[Path]:
    """A copy of a forge fixture with the repository's commit for ``real``; its JSON files."""
    shutil.copytree(source, target)
    files = sorted(target.rglob("*.json"))
    for path in files:
        path.write_text(path.read_text().replace(real, sha))
    return files


def _mutate_one(files: list[Path], seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311
    path = files[seed % len(files)]
    head, document, after = first_body(path.read_text())
    path.write_text(head + json.dumps(mutate(document, rng)) + after)


@pytest.mark.parametrize("seed", range(30))
def test_mutated_github_deployments(
    seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path
) -> None:
    scripted, sha = repo
    export = tmp_path / "export"
    real = "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5"
    _mutate_one(_forge_export(FORGES / "github-deployments", export, real, sha), seed)
    _judged(
        run_cli(
            "import",
            "github-deployments",
            export / "deployments.json",
            export,
            "--repository",
            "PyGithub/PyGithub",
            "--service",
            "smars",
            "--target",
            "smars-01",
            "--repo",
            scripted.path,
            "--evidence",
            tmp_path,
        )
    )


@pytest.mark.parametrize("seed", range(30))
def test_mutated_gitlab_objects(seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path) -> None:
    scripted, sha = repo
    export = tmp_path / "export"
    real = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"
    _mutate_one(_forge_export(FORGES / "gitlab", export, real, sha), seed)
    common = ["--repo", scripted.path, "--evidence", tmp_path]
    _judged(
        run_cli(
            "import",
            "gitlab-approvals",
            export / "merge_requests.json",
            export,
            "--project",
            "group/app",
            "--api-url",
            "http://gitlab.dev",
            *common,
        )
    )
    with_headers(export / "deployments.json", GITLAB_DEPLOYMENTS)
    _judged(
        run_cli(
            "import",
            "gitlab-deployments",
            export / "deployments.json",
            "--project",
            "group/app",
            "--service",
            "smars",
            *common,
        )
    )


@pytest.mark.parametrize("approvals", [1, "x", {}, True, -1.5])
def test_gitlab_deployment_approvals_that_are_no_list_are_refused(
    approvals: Any, repo: tuple[ScriptedRepo, str], tmp_path: Path
) -> None:
    scripted, sha = repo
    export = tmp_path / "export"
    _forge_export(FORGES / "gitlab", export, "a91957a858320c0e17f3a0eca7cfacbff50ea29a", sha)
    items = saved_items(export / "deployments.json")
    items[0]["approvals"] = approvals
    (export / "deployments.json").write_text(saved_pages(items))
    result = run_cli("import", "gitlab-deployments", export / "deployments.json", "--project",
                     "group/app", "--service", "smars", "--repo", scripted.path,
                     "--evidence", tmp_path)  # fmt: skip
    assert result.code == 2, result.err
    assert "item #1 (deployment 42): approvals is not a list of approvals" in result.err
    assert not (tmp_path / "deploys.jsonl").exists()


@pytest.mark.parametrize("seed", range(20))
def test_mutated_github_review_sample(
    seed: int, repo: tuple[ScriptedRepo, str], tmp_path: Path
) -> None:
    scripted, _ = repo
    export = tmp_path / "export"
    shutil.copytree(FORGES / "github-pr538", export)
    _mutate_one(sorted(export.rglob("*.json")), seed)
    _judged(
        run_cli(
            "import",
            "github-reviews",
            export / "pulls.json",
            export,
            "--repository",
            "PyGithub/PyGithub",
            "--repo",
            scripted.path,
            "--evidence",
            tmp_path,
        )
    )


HOSTILE_JSON = {
    "nested-100000": "[" * 100_000 + "]" * 100_000,
    "5000-digit-number": '[{"number": ' + "7" * 5000 + "}]",
    "nan": '[{"number": NaN}]',
    "duplicate-key": '[{"number": 1, "number": 2}]',
    "half-a-surrogate-pair": '[{"title": "\\ud800"}]',
}


@pytest.mark.parametrize("content", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
@pytest.mark.parametrize("tool", ["ansible", "github-reviews", "gerrit"])
def test_json_python_cannot_take_is_refused_naming_the_file(
    tool: str, content: str, repo: tuple[ScriptedRepo, str], tmp_path: Path
) -> None:
    scripted, _ = repo
    path = tmp_path / "tool-output.json"
    path.write_text(content)
    argv: list[str | Path] = ["import", tool, path]
    if tool == "ansible":
        argv += ["--deployment-id", "D1", "--service", "smars", "--commit", "HEAD"]
        argv += ["--deployer", "ops@knight.example"]
    if tool == "github-reviews":
        argv += [tmp_path, "--repository", "knight/smars"]
    if tool == "gerrit":
        argv += ["--project", "smars"]
    result = run_cli(*argv, "--repo", scripted.path, "--evidence", tmp_path)
    assert result.code == 2, result.err
    assert result.err.startswith(f"knightwatch: error: {path}:"), result.err
    assert "Traceback" not in result.err


# -- every field retyped ---------------------------------------------------------------------------
#
# Seeded mutations hit a field now and then; a name that arrives as a list or an object (used as
# a key, it is unhashable) must be refused wherever it is. Every key of every forge and Gerrit
# fixture whose value is a plain value is given a list and an object in its place, all its
# occurrences at once, and the importer is called on the result: it reads it or refuses it.


def _leaf_keys(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(inner, (dict, list)):
                found.add(key)
            _leaf_keys(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _leaf_keys(inner, found)
    return found


def _retyped(value: Any, key: str, new: Any) -> Any:
    if isinstance(value, dict):
        return {k: new if k == key else _retyped(v, key, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_retyped(v, key, new) for v in value]
    return value


def _logins() -> Logins:
    return Logins(IdentityResolver(), {})


SCOPE = Scope("smars", (), ("smars-01",))
RUN = ansible.Run(
    "D1", "smars", "production", "0" * 40, "ops@knight.example",
    release_tasks=("Install the release",), not_check_mode=True,
)  # fmt: skip
RETYPED_IMPORTS: dict[str, tuple[Path, Callable[[Path], Any]]] = {
    "github-deployments": (
        FORGES / "github-deployments",
        lambda d: github_deployments.import_saved(
            d / "deployments.json",
            d,
            SCOPE,
            _logins(),
            Origin("PyGithub/PyGithub"),
        ),
    ),
    "github-reviews": (
        FORGES / "github-pr538",
        lambda d: github.import_reviews(
            d / "pulls.json", d, Origin("PyGithub/PyGithub", records="pull requests"), _logins(), []
        ),
    ),
    "gitlab-approvals": (
        FORGES / "gitlab",
        lambda d: gitlab.import_saved_approvals(
            d / "merge_requests.json",
            d,
            Project("group/app", "http://gitlab.dev", records="merge requests"),
            _logins(),
            [],
        ),
    ),
    "gitlab-deployments": (
        FORGES / "gitlab",
        lambda d: gitlab_deployments.import_saved_deployments(
            _paged(d / "deployments.json"), "group/app", SCOPE, _logins()
        ),
    ),
    "gerrit-rest": (
        GERRIT_REST.parent,
        lambda d: gerrit.import_changes(d / GERRIT_REST.name, _logins(), [], "smars"),
    ),
    "gerrit-ssh": (
        GERRIT_SSH.parent,
        lambda d: gerrit.import_changes(d / GERRIT_SSH.name, _logins(), [], "smars"),
    ),
    "ansible-json": (ROLLBACK.parent, lambda d: ansible.deployment(d / ROLLBACK.name, RUN)),
    "ansible-jsonl": (KILLED.parent, lambda d: ansible.deployment(d / KILLED.name, RUN)),
}
SINGLE_FILE = {"gerrit-rest": GERRIT_REST, "gerrit-ssh": GERRIT_SSH, "ansible-json": ROLLBACK,
               "ansible-jsonl": KILLED}  # fmt: skip


def _paged(path: Path) -> Path:
    """A copy of the saved GitLab deployment list ``path`` with its headers, as the docs'
    commands save it."""
    paged = path.with_name(f"paged-{path.name}")
    paged.write_text(path.read_text())
    with_headers(paged, GITLAB_DEPLOYMENTS)
    return paged


def _read_fixture(path: Path) -> tuple[str, Any, str]:
    """What precedes a fixture's JSON (Gerrit's ``)]}'`` guard line, a saved page's status line
    and headers), its JSON (one value, or one a line), and what follows its value (a saved
    list's empty page past its last)."""
    text = path.read_text()
    if text.startswith(")]}'"):
        guard, text = text.split("\n", 1)
        return guard + "\n", json.loads(text), ""
    if path.suffix == ".jsonl":
        return "", [json.loads(line) for line in text.splitlines()], ""
    return first_body(text)


def _write_fixture(path: Path, guard: str, value: Any, after: str) -> None:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(line) + "\n" for line in value))
    else:
        path.write_text(guard + json.dumps(value) + after)


@pytest.mark.parametrize("tool", sorted(RETYPED_IMPORTS))
def test_every_field_retyped_as_a_list_or_an_object_is_read_or_refused(
    tool: str, tmp_path: Path
) -> None:
    source, run = RETYPED_IMPORTS[tool]
    export = tmp_path / "export"
    shutil.copytree(source, export)
    single = SINGLE_FILE.get(tool)
    files = [export / single.name] if single else sorted(export.rglob("*.json"))
    crashed = []
    for path in files:
        original = path.read_text()
        guard, document, after = _read_fixture(path)
        for key in sorted(_leaf_keys(document, set())):
            for new in ([1], {"a": 1}):
                _write_fixture(path, guard, _retyped(document, key, new), after)
                try:
                    run(export)
                except KnightwatchError as exc:
                    assert exc.exit_code == 2, exc.message
                except Exception as exc:  # what a user would see as exit 3
                    crashed.append(f"{path.name}: {key} = {new!r}: {exc!r}")
        path.write_text(original)
    assert not crashed, "\n".join(crashed)
