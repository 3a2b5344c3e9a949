"""Path-scoped services (``service_paths``): a deployment of one ships only the commits of its
range that changed its files, and its dead-code references are looked for in its files alone;
on real monorepos built commit by commit with fixed dates."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.errors import InputError
from checker.evidence.git import GitHistory
from checker.facts import scopes
from checker.paths import PathScope
from checker.report import RENDERERS
from tests.conftest import DEV, LEAD, CliResult, check_json, deployment, run_cli, write_yaml
from tests.test_examples import check_args

SAM = "Sam Solo <sam@example.com>"
REVIEWED = (f"Reviewed-by: {LEAD}",)
PATHS = "service_paths:\n  payments: ['services/payments/**']\n  orders: ['services/orders/**']\n"
FILES = {
    "services/payments/charge.py": "def charge(card):\n    return gateway.charge(card)\n",
    "services/payments/refund.py": "def refund(card):\n    return gateway.refund(card)\n",
    "services/orders/order.py": "def order(lines):\n    return sum(lines)\n",
    "services/orders/ship.py": "def ship(order):\n    return order\n",
    "docs/index.md": "# Services\n",
}


def _day(day: int, hour: int = 9) -> str:
    return f"2024-06-{day:02d}T{hour:02d}:00:00Z"


def _base(tmp_path: Path) -> tuple[ScriptedRepo, str]:
    repo = ScriptedRepo(tmp_path / "repo")
    return repo, repo.commit("base", FILES, author=DEV, date=_day(1), trailers=REVIEWED)


def _deploy(id_: str, commit: str, day: int, service: str = "payments") -> dict[str, Any]:
    host = "pay-1" if service == "payments" else "ord-1"
    return deployment(
        id_,
        commit,
        _day(day, 12),
        service=service,
        approvals=[{"by": "lee@example.com", "at": _day(day, 11)}],
        targets=[{"host": host, "status": "succeeded"}],
    )


def _evidence(tmp_path: Path, deploys: list[dict[str, Any]]) -> Path:
    evidence = tmp_path / "evidence"
    write_yaml(evidence / "deploys.yaml", deploys)
    write_yaml(
        evidence / "fleet.yaml",
        {"services": {"payments": {"hosts": ["pay-1"]}, "orders": {"hosts": ["ord-1"]}}},
    )
    return evidence


def _check(repo: ScriptedRepo, evidence: Path, paths: str | None, *extra: str) -> CliResult:
    """``check`` with ``paths`` (YAML) as an auditor's --config, or without any."""
    if paths is None:
        return check_json(repo.path, evidence, *extra)
    auditor = evidence.parent / "auditor.yaml"
    auditor.write_text(paths)
    return check_json(repo.path, evidence, "--config", auditor, *extra)


def _unreviewed(result: CliResult) -> set[str]:
    assert result.code in (0, 1), result.err
    return {f["subject"] for f in result.json()["findings"] if f["rule"] == "REVIEW-002"}


def _shipped(tmp_path: Path, repo: ScriptedRepo, tip: str, paths: str | None) -> set[str]:
    """What a scoped payments deployment of ``tip`` after one of the base commit ships: the
    commits REVIEW-002 names when none of the range is reviewed."""
    base = repo.git("rev-list", "--max-parents=0", "HEAD")
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2), _deploy("PAY-2", tip, 20)])
    return _unreviewed(_check(repo, evidence, paths))


def test_a_commit_in_another_services_paths_is_not_shipped_by_this_one(tmp_path: Path) -> None:
    repo, base = _base(tmp_path)
    orders = repo.commit(
        "orders: unreviewed", {"services/orders/order.py": "x = 1\n"}, author=SAM, date=_day(3)
    )
    tip = repo.commit(
        "payments: reviewed",
        {"services/payments/charge.py": "y = 2\n"},
        author=DEV,
        date=_day(4),
        trailers=REVIEWED,
    )
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2), _deploy("PAY-2", tip, 5)])
    assert _unreviewed(_check(repo, evidence, None)) == {orders}  # unscoped: as before
    scoped = _check(repo, evidence, PATHS)
    assert scoped.code == 0, scoped.out
    assert scoped.json()["parameters"]["service_paths"] == {
        "orders": ["services/orders/**"],
        "payments": ["services/payments/**"],
    }
    # The same unreviewed commit in its own paths fails it.
    mine = repo.commit(
        "payments: unreviewed", {"services/payments/charge.py": "z = 3\n"}, author=SAM, date=_day(6)
    )
    more = [_deploy("PAY-1", base, 2), _deploy("PAY-2", tip, 5), _deploy("PAY-3", mine, 7)]
    assert _unreviewed(_check(repo, _evidence(tmp_path, more), PATHS)) == {mine}


def test_a_service_not_named_in_service_paths_is_judged_on_the_whole_repository(
    tmp_path: Path,
) -> None:
    repo, base = _base(tmp_path)
    docs = repo.commit("docs", {"docs/index.md": "# More\n"}, author=SAM, date=_day(3))
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2), _deploy("PAY-2", docs, 5)])
    only_orders = "service_paths:\n  orders: ['services/orders/**']\n"
    assert _unreviewed(_check(repo, evidence, only_orders)) == {docs}
    assert _unreviewed(_check(repo, evidence, PATHS)) == set()


def test_a_merge_counts_when_it_changed_the_paths_against_either_parent(tmp_path: Path) -> None:
    """The branch's commits count on their own, and so does the merge that brings their change
    in (it differs from main in the service's files); a merge of another service's branch
    does not."""
    repo, _ = _base(tmp_path)
    repo.branch("pay")
    feature = repo.commit(
        "payments feature", {"services/payments/charge.py": "a = 1\n"}, author=SAM, date=_day(3)
    )
    repo.checkout("main")
    pay_merge = repo.merge("pay", "merge payments", author=SAM, date=_day(4))
    repo.branch("ord")
    repo.commit("orders feature", {"services/orders/order.py": "b = 1\n"}, author=SAM, date=_day(5))
    repo.checkout("main")
    ord_merge = repo.merge("ord", "merge orders", author=SAM, date=_day(6))
    assert _shipped(tmp_path, repo, ord_merge, PATHS) == {feature, pay_merge}


def test_an_evil_merge_that_changes_the_paths_itself_counts(tmp_path: Path) -> None:
    """A merge of a docs branch that slips a change into the service's files while merging."""
    repo, _ = _base(tmp_path)
    repo.branch("docs")
    repo.commit("docs only", {"docs/index.md": "# Docs\n"}, author=SAM, date=_day(3))
    repo.checkout("main")
    repo.git("merge", "--no-ff", "--no-commit", "docs", date=_day(4), author=SAM)
    (repo.path / "services/payments/charge.py").write_text("evil = True\n")
    repo.git("add", "services/payments/charge.py")
    repo.git("commit", "--quiet", "-m", "merge docs", date=_day(4), author=SAM)
    evil = repo.git("rev-parse", "HEAD")
    assert _shipped(tmp_path, repo, evil, PATHS) == {evil}


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("services/payments/charge.py", "services/orders/charge.py"),  # out of the paths
        ("services/orders/order.py", "services/payments/order.py"),  # into them
    ],
)
def test_a_rename_changes_both_of_its_names(tmp_path: Path, source: str, target: str) -> None:
    repo, _ = _base(tmp_path)
    # A repository whose configuration asks for rename detection must not hide the old name.
    repo.git("config", "diff.renames", "true")
    moved = repo.move(source, target, author=SAM, date=_day(3), message="move")
    assert _shipped(tmp_path, repo, moved, PATHS) == {moved}


def test_dead_code_references_are_looked_for_in_the_services_paths(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    registry = (
        "flags:\n  - {name: old_tax, purpose: 2023 tax, owner: orders, status: retired, "
        "created: 2023-01-10, retired_at: 2024-05-01}\n"
    )
    files = {**FILES, "flags.yaml": registry, "services/orders/tax.py": "if old_tax:\n    pass\n"}
    base = repo.commit("base", files, author=DEV, date=_day(1), trailers=REVIEWED)
    evidence = _evidence(
        tmp_path, [_deploy("PAY-1", base, 2), _deploy("ORD-1", base, 2, service="orders")]
    )

    def dead(paths: str | None) -> set[str]:
        result = _check(repo, evidence, paths)
        return {f["subject"] for f in result.json()["findings"] if f["rule"] == "DEAD-001"}

    assert dead(None) == {"PAY-1:old_tax", "ORD-1:old_tax"}
    assert dead(PATHS) == {"ORD-1:old_tax"}


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ("service_paths:\n  payments: ['servics/payments/**']\n", "'servics/payments/**' matches"),
        ("service_paths:\n  paymnts: ['services/payments/**']\n", "did you mean 'payments'?"),
        ("service_paths:\n  payments: []\n", "service_paths"),
        ("service_paths:\n  payments: ['../payments/**']\n", "not a path inside"),
        ("service_paths:\n  payments: ['/services/payments/**']\n", "not a path inside"),
        ("service_paths:\n  payments: ['!services/orders/**']\n", "negation"),
        ("service_paths:\n  payments: ['']\n", "not a path glob"),
        ("service_paths:\n  payments: services/payments/**\n", "service_paths"),
    ],
)
def test_a_mistaken_service_path_is_an_input_error(
    tmp_path: Path, paths: str, message: str
) -> None:
    repo, base = _base(tmp_path)
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2)])
    out = tmp_path / "report.json"
    result = _check(repo, evidence, paths, "--output", str(out))
    assert result.code == 2, result.out
    assert message in result.err
    assert "Traceback" not in result.err
    assert not out.exists()


def test_the_check_shows_the_repositorys_service_paths_as_a_weakening_in_every_format(
    tmp_path: Path,
) -> None:
    repo, base = _base(tmp_path)
    repo.commit("config", {"knightwatch.yaml": PATHS}, author=DEV, date=_day(2), trailers=REVIEWED)
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 3)])
    for name in sorted(RENDERERS):
        result = run_cli(
            "check", "--repo", repo.path, "--evidence", evidence, "--format", name
        )  # fmt: skip
        assert result.code == 0, result.err
        shown = result.out.replace("\\", "")  # markdown escapes the underscore
        assert "service_paths" in shown and "services/payments/**" in shown, name
    report = check_json(repo.path, evidence).json()
    [note] = report["settings"]
    assert (note["name"], note["source"], note["effect"]) == (
        "service_paths",
        "knightwatch.yaml",
        "weaker",
    )


def test_a_shallow_clone_is_refused_before_any_path_is_read(tmp_path: Path) -> None:
    repo, base = _base(tmp_path)
    tip = repo.commit("more", {"services/orders/order.py": "c\n"}, author=SAM, date=_day(3))
    clone = tmp_path / "shallow"
    repo.git("clone", "--quiet", "--depth", "1", f"file://{repo.path}", str(clone))
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2), _deploy("PAY-2", tip, 4)])
    result = check_json(clone, evidence, "--config", _auditor(tmp_path))
    assert result.code == 2
    assert "shallow" in result.err


def _auditor(tmp_path: Path) -> Path:
    path = tmp_path / "auditor.yaml"
    path.write_text(PATHS)
    return path


def test_each_commits_paths_are_read_once_in_one_git_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty deployments of two services over the same range: one diff-tree, each commit in
    it once."""
    repo, base = _base(tmp_path)
    shas = [
        repo.commit(f"c{n}", {f"services/orders/f{n}.py": "x\n"}, author=SAM, date=_day(2 + n))
        for n in range(5)
    ]
    calls: list[list[str]] = []
    real = scopes.changed_paths

    def spy(history: GitHistory, asked: list[str]) -> dict[str, set[str]]:
        calls.append(list(asked))
        return real(history, asked)

    monkeypatch.setattr(scopes, "changed_paths", spy)
    deploys = [_deploy("PAY-0", base, 8), _deploy("ORD-0", base, 8, service="orders")]
    for n in range(10):
        deploys.append(_deploy(f"PAY-{n + 1}", shas[-1], 9 + n))
        deploys.append(_deploy(f"ORD-{n + 1}", shas[-1], 9 + n, service="orders"))
    assert _unreviewed(_check(repo, _evidence(tmp_path, deploys), PATHS)) == set(shas)
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(set(calls[0])) == sorted([base, *shas])


def test_a_commit_git_cannot_read_stops_a_scoped_range(tmp_path: Path) -> None:
    """git diff-tree skips an object it cannot read without failing, which would leave the
    commit out of a scoped range; each commit and tree it would read is read and hashed
    first, so such a commit stops the run, named."""
    repo, base = _base(tmp_path)
    unreadable = "f" * 40
    history = GitHistory(repo.path)
    try:
        with pytest.raises(InputError, match=f"{unreadable} cannot be read"):
            scopes.narrow_ranges(
                history,
                {"PAY-1": [base, unreadable], "ORD-1": [base]},
                {"PAY-1": PathScope.of("payments", ["docs/**"])},
            )
    finally:
        history.close()


def test_an_audit_takes_service_paths_from_the_auditor_alone(tmp_path: Path) -> None:
    """The monorepo example's own knightwatch.yaml scopes both services: its audit does not
    apply that, and judges every deployment on the whole repository; the auditor's --config
    does, the signed report names it with its source, and a replay gives the same report."""
    case = Path(__file__).resolve().parents[2] / "evidence" / "examples" / "monorepo-services"
    args, shas = check_args(case, tmp_path)
    repo, evidence = args[2], args[4]
    assert run_cli("keygen", "--output", tmp_path / "signing").code == 0

    def audit(*extra: str | Path) -> tuple[dict[str, Any], Path]:
        out = tmp_path / f"audit{len(extra)}.json"
        result = run_cli(
            "audit", "--repo", repo, "--evidence", evidence, "--period", "2024-06",
            "--as-of", "2024-07-02", "--key", tmp_path / "signing.key", "-o", out, *extra,
        )  # fmt: skip
        assert result.code == 1, result.err
        payload = json.loads(base64.b64decode(json.loads(out.read_text())["payload"]))
        return payload["predicate"], out

    def findings(predicate: dict[str, Any]) -> set[str]:
        return {f"{f['rule']} {f['subject']}" for f in predicate["report"]["findings"]}

    repository, _ = audit()
    assert [n["name"] for n in repository["settings"]["not_applied"]] == ["service_paths"]
    assert "service_paths" not in repository["report"]["parameters"]
    assert {"DEAD-001 PAY-1:legacy_pricing", "DEAD-001 PAY-2:legacy_pricing"} <= findings(
        repository
    )
    auditor = tmp_path / "auditor.yaml"
    auditor.write_text((Path(repo) / "knightwatch.yaml").read_text())
    audited, signed = audit("--config", auditor)
    assert findings(audited) == {
        f"REVIEW-002 {shas['orders-fix']}",
        "DEAD-001 ORD-1:legacy_pricing",
        "DEAD-001 ORD-2:legacy_pricing",
    }
    weakened = audited["settings"]["weakened"]
    assert [(n["name"], n["source"]) for n in weakened] == [
        ("service_paths", "--config auditor.yaml")
    ]
    replay = run_cli(
        "verify", signed, "--key", tmp_path / "signing.pub", "--replay",
        "--repo", repo, "--evidence", evidence,
    )  # fmt: skip
    assert replay.code == 0, replay.err + replay.out


def test_a_deploy_gate_judges_a_scoped_candidate_on_its_paths(tmp_path: Path) -> None:
    repo, base = _base(tmp_path)
    orders = repo.commit("orders", {"services/orders/order.py": "o\n"}, author=SAM, date=_day(3))
    repo.commit(
        "payments",
        {"services/payments/charge.py": "p\n"},
        author=DEV,
        date=_day(4),
        trailers=REVIEWED,
    )
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2)])
    gate = ("--candidate", "main", "--service", "payments")
    assert _unreviewed(_check(repo, evidence, None, *gate)) == {orders}
    assert _unreviewed(_check(repo, evidence, PATHS, *gate)) == set()


def test_a_glob_that_matches_only_at_head_is_refused_at_the_deployed_commit(
    tmp_path: Path,
) -> None:
    # The typo'd directory exists at HEAD only, added after the deployment: at the deployed
    # commit the glob matched nothing, and payments would have shipped nothing.
    repo, base = _base(tmp_path)
    tip = repo.commit(
        "payments: unreviewed", {"services/payments/charge.py": "z = 3\n"}, author=SAM, date=_day(3)
    )
    repo.commit("later", {"services/paymnts/x.py": "x\n"}, author=DEV, date=_day(25))
    evidence = _evidence(tmp_path, [_deploy("PAY-1", base, 2), _deploy("PAY-2", tip, 5)])
    typo = "service_paths:\n  payments: ['services/paymnts/**']\n"
    result = _check(repo, evidence, typo)
    assert result.code == 2, result.out
    assert "'services/paymnts/**' matches no file at the deployed commit" in result.err


def test_a_symbolic_link_in_a_services_paths_is_refused(tmp_path: Path) -> None:
    # services/payments/impl -> ../../impl: changes to impl/ change payments' code without
    # touching a path its globs match.
    repo, base = _base(tmp_path)
    (repo.path / "impl").mkdir()
    (repo.path / "impl/core.py").write_text("c = 1\n")
    (repo.path / "services/payments/impl").symlink_to("../../impl")
    repo.git("add", "-A")
    linked = repo.commit("link", author=DEV, date=_day(3), trailers=REVIEWED)
    tip = repo.commit("impl: unreviewed", {"impl/core.py": "c = 2\n"}, author=SAM, date=_day(4))
    evidence = _evidence(
        tmp_path, [_deploy("PAY-1", base, 2), _deploy("PAY-2", linked, 3), _deploy("PAY-3", tip, 5)]
    )
    out = tmp_path / "report.json"
    result = _check(repo, evidence, PATHS, "--output", str(out))
    assert result.code == 2, result.out
    assert "'services/payments/impl' is a symbolic link in the service's paths" in result.err
    assert not out.exists()
