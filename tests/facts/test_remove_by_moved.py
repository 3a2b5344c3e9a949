"""A flag's remove_by moved later in the registry, or dropped from it, still holds: DEAD-003
applies the earliest date a version of the registry in the deployed commit's history gave
the flag. Before, writing a later date (or none) into the registry after the day had passed
held DEAD-003 off: the flag shipped active, past the day it was to be gone by, and the check
said nothing of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml
from tests.facts.test_deadcode import APPROVAL, REVIEWED, flag, registry

PURPOSE = "Holiday promotion banner"


def _commit(repo: ScriptedRepo, day: int, files: dict[str, str | None], author: str = DEV) -> str:
    trailers = REVIEWED if author == DEV else (f"Reviewed-by: {DEV}",)
    return repo.commit(
        f"day {day}", files, author=author, date=f"2024-01-{day:02}T00:00:00Z", trailers=trailers
    )


def _promo(**extra: str) -> str:
    return registry(flag("promo", PURPOSE, **extra))


def _check(tmp_path: Path, repo: ScriptedRepo, sha: str, *extra: str) -> CliResult:
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-20T00:00:00Z", approvals=APPROVAL)],
    )
    return run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--no-cache", "--as-of", "2024-02-01", *extra,
    )  # fmt: skip


def _overdue(result: CliResult) -> list[str]:
    assert result.code in (0, 1), result.err
    return [f["message"] for f in result.json()["findings"] if f["rule"] == "DEAD-003"]


@pytest.mark.parametrize("later", [{"remove_by": "2024-12-31"}, {}])
def test_a_remove_by_moved_later_or_dropped_still_applies(
    tmp_path: Path, later: dict[str, str]
) -> None:
    """promo was to be gone by 2024-01-05; on 2024-01-10, past that day, the registry gave it
    2024-12-31 (or no date at all), and D1 shipped it active on 2024-01-20."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": "promo\n"})
    moved = _commit(repo, 10, {"flags.yaml": _promo(**later)}, author=LEAD)
    sha = _commit(repo, 11, {"app.py": "promo()\n"})
    assert _overdue(_check(tmp_path, repo, sha)) == [
        "Flag promo was to be removed by 2024-01-05 but was still active when 1 deployments "
        f"started: D1; the registry gave 2024-01-05 at {first[:12]} and "
        + (f"moved it to 2024-12-31 at {moved[:12]}" if later else f"dropped it at {moved[:12]}")
        + ": the earliest date recorded applies."
    ]


def test_a_remove_by_moved_earlier_is_the_date_applied(tmp_path: Path) -> None:
    """A date brought forward is the registry's own: the finding names it, and nothing else."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-12-31"), "app.py": "promo\n"})
    sha = _commit(repo, 2, {"flags.yaml": _promo(remove_by="2024-01-05")})
    assert _overdue(_check(tmp_path, repo, sha)) == [
        "Flag promo was to be removed by 2024-01-05 but was still active when 1 deployments "
        "started: D1."
    ]


def test_a_date_on_a_line_never_merged_says_nothing(tmp_path: Path) -> None:
    """A branch that gave promo an earlier date and was never merged into the deployed commit
    sets no deadline for it."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-12-31"), "app.py": "promo\n"})
    repo.branch("side")
    other = _commit(repo, 2, {"flags.yaml": _promo(remove_by="2024-01-05")})
    repo.checkout("main")
    sha = _commit(repo, 3, {"app.py": "promo()\n"})
    both = [
        deployment("D1", sha, "2024-01-20T00:00:00Z", approvals=APPROVAL),
        deployment("D2", other, "2024-01-21T00:00:00Z", approvals=APPROVAL, service="api"),
    ]
    write_yaml(tmp_path / "ev" / "deploys.yaml", both)
    result = run_cli(
        "check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json",
        "--no-cache", "--as-of", "2024-02-01",
    )  # fmt: skip
    assert _overdue(result) == [
        "Flag promo was to be removed by 2024-01-05 but was still active when 1 deployments "
        "started: D2."
    ]


def test_whoever_moved_the_remove_by_cannot_waive_its_finding(tmp_path: Path) -> None:
    """Lee moved promo's remove_by later; Lee's waiver of the DEAD-003 finding was applied."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": "promo\n"})
    sha = _commit(repo, 10, {"flags.yaml": _promo(remove_by="2024-12-31")}, author=LEAD)
    waiver = {"rule": "DEAD-003", "subject": "promo", "reason": "extended", "expires": "2024-06-01"}
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "lee@example.com"}])
    result = _check(tmp_path, repo, sha)
    said = {f["subject"]: (f["message"], f["waived"]) for f in result.json()["findings"]}
    assert said["promo"][1] is False
    assert "not applied: lee@example.com moved the remove_by of promo" in said["DEAD-003:promo"][0]
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "cro@example.com"}])
    said = {f["subject"]: f["waived"] for f in _check(tmp_path, repo, sha).json()["findings"]}
    assert said["promo"] is True


def test_the_owner_of_an_overdue_flag_cannot_waive_its_finding(tmp_path: Path) -> None:
    """promo's owner, named by address, was to remove it by its remove_by day; their waiver of
    its DEAD-003 finding was applied, and the finding no longer counted."""
    repo = ScriptedRepo(tmp_path / "repo")
    owned = registry(
        {**flag("promo", PURPOSE, remove_by="2024-01-05"), "owner": "Lee+flags@Example.com"}
    )
    sha = _commit(repo, 1, {"flags.yaml": owned, "app.py": "promo\n"})
    waiver = {"rule": "DEAD-003", "subject": "promo", "reason": "later", "expires": "2024-06-01"}
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "lee@example.com"}])
    said = {f["subject"]: f for f in _check(tmp_path, repo, sha).json()["findings"]}
    assert said["promo"]["waived"] is False
    assert "not applied: lee@example.com owns promo" in said["DEAD-003:promo"]["message"]


def test_a_flag_dropped_from_the_registry_while_still_used_is_still_overdue(
    tmp_path: Path,
) -> None:
    """promo was to be gone by 2024-01-05; on 2024-01-10 Lee deleted its entry from the
    registry, and D1 shipped code still using it. The deployed registry had no active promo,
    so DEAD-003 said nothing and only the low DEAD-005 (an unregistered flag) was left: under
    --fail-on medium the check passed (exit 0). Whoever dropped it cannot waive the finding."""
    repo = ScriptedRepo(tmp_path / "repo")
    other = flag("banner", "Site banner")
    first = _commit(
        repo,
        1,
        {"flags.yaml": registry(flag("promo", PURPOSE, remove_by="2024-01-05"), other),
         "app.py": "promo\n"},
    )  # fmt: skip
    dropped = _commit(repo, 10, {"flags.yaml": registry(other)}, author=LEAD)
    sha = _commit(repo, 11, {"app.py": "promo()\n"})
    result = _check(tmp_path, repo, sha, "--fail-on", "medium")
    assert result.code == 1
    assert _overdue(result) == [
        "Flag promo was to be removed by 2024-01-05 but was still active when 1 deployments "
        f"started: D1; the registry gave 2024-01-05 at {first[:12]} and dropped it at "
        f"{dropped[:12]}: the earliest date recorded applies."
    ]
    waiver = {"rule": "DEAD-003", "subject": "promo", "reason": "later", "expires": "2024-06-01"}
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "lee@example.com"}])
    said = {f["subject"]: f["waived"] for f in _check(tmp_path, repo, sha).json()["findings"]}
    assert said["promo"] is False


def test_a_retired_flag_dropped_from_the_registry_is_not_overdue(tmp_path: Path) -> None:
    """A flag retired and then dropped while the code still names it is DEAD-001's, not
    DEAD-003's: it was not left active."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": "promo\n"})
    _commit(repo, 2, {"flags.yaml": registry(flag("promo", PURPOSE, "retired",
                                                   retired_at="2024-01-02"))})  # fmt: skip
    sha = _commit(repo, 10, {"flags.yaml": registry()}, author=LEAD)
    result = _check(tmp_path, repo, sha)
    assert _overdue(result) == []
    assert "DEAD-001" in {f["rule"] for f in result.json()["findings"]}


def test_an_owner_who_handed_the_flag_on_cannot_waive_its_finding(tmp_path: Path) -> None:
    """Lee owned promo when its remove_by was set, and handed it to a team name before the
    deployment; Lee's waiver of its DEAD-003 finding was applied, since only the deployed
    registry's owner was barred. Every owner since the date was set is."""
    repo = ScriptedRepo(tmp_path / "repo")
    dated = flag("promo", PURPOSE, remove_by="2024-01-05")
    _commit(repo, 1, {"flags.yaml": registry({**dated, "owner": "lee@example.com"}),
                      "app.py": "promo\n"})  # fmt: skip
    sha = _commit(repo, 2, {"flags.yaml": registry({**dated, "owner": "web-team"})})
    waiver = {"rule": "DEAD-003", "subject": "promo", "reason": "later", "expires": "2024-06-01"}
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "lee@example.com"}])
    said = {f["subject"]: f for f in _check(tmp_path, repo, sha).json()["findings"]}
    assert said["promo"]["waived"] is False
    assert "not applied: lee@example.com owned promo" in said["DEAD-003:promo"]["message"]


def test_an_owner_before_the_remove_by_was_set_may_waive(tmp_path: Path) -> None:
    """Lee owned promo before it had a remove_by, and handed it on; the date was set under
    its new owner, so Lee was never the one to remove it by then."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": registry({**flag("promo", PURPOSE),
                                              "owner": "lee@example.com"}),
                      "app.py": "promo\n"})  # fmt: skip
    sha = _commit(repo, 2, {"flags.yaml": _promo(remove_by="2024-01-05")})
    waiver = {"rule": "DEAD-003", "subject": "promo", "reason": "later", "expires": "2024-06-01"}
    write_yaml(tmp_path / "ev" / "waivers.yaml", [{**waiver, "approved_by": "lee@example.com"}])
    said = {f["subject"]: f["waived"] for f in _check(tmp_path, repo, sha).json()["findings"]}
    assert said["promo"] is True


def _renamed(tmp_path: Path, new: dict[str, object], code: str) -> tuple[str, str, CliResult]:
    """promo, due by 2024-01-05, is dropped from the registry on 2024-01-10 by Lee, and
    ``new`` added; ``app.py``, which read promo, is then ``code``. D1 ships it on 2024-01-20."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(
        repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"),
                  "app.py": "if flags.promo:\n    show_banner()\n", "lib.py": "x = 1\n"},
    )  # fmt: skip
    renamed = _commit(repo, 10, {"flags.yaml": registry(new), "app.py": code}, author=LEAD)
    return first, renamed, _check(tmp_path, repo, renamed, "--fail-on", "medium")


@pytest.mark.parametrize(
    "new",
    [
        {**flag("promo_banner", PURPOSE), "created": "2024-01-10"},
        {**flag("promo_banner", "Banner"), "remove_by": "2024-12-31"},
        flag("promo_banner", "Banner"),
    ],
    ids=["purpose kept", "code renamed, later date", "code renamed, created kept"],
)
def test_a_flag_renamed_with_its_code_keeps_its_remove_by(
    tmp_path: Path, new: dict[str, object]
) -> None:
    """promo was dropped and promo_banner added in its place, every read of promo now reading
    promo_banner: the flag shipped past its day under its new name, and the check passed
    (exit 0), with no DEAD-003 finding. Whoever renamed it cannot waive the finding."""
    code = "if flags.promo_banner:\n    show_banner()\n"
    if new["purpose"] == PURPOSE:
        code = "if flags.promo_banner and flags.promo_banner.ready:\n    show_banner()\n"
    first, renamed, result = _renamed(tmp_path, new, code)
    assert result.code == 1
    assert _overdue(result) == [
        "Flag promo_banner was to be removed by 2024-01-05 but was still active when 1 "
        f"deployments started: D1; the registry gave 2024-01-05 at {first[:12]} and renamed "
        f"promo to promo_banner at {renamed[:12]}: the earliest date recorded applies."
    ]
    waiver = {"rule": "DEAD-003", "subject": "promo_banner", "reason": "later",
              "expires": "2024-06-01", "approved_by": "lee@example.com"}  # fmt: skip
    write_yaml(tmp_path / "ev" / "waivers.yaml", [waiver])
    said = {f["subject"]: f for f in _check(tmp_path, ScriptedRepo(tmp_path / "repo"),
                                            renamed).json()["findings"]}  # fmt: skip
    assert said["promo_banner"]["waived"] is False
    assert "lee@example.com moved the remove_by of promo_banner" in said[
        "DEAD-003:promo_banner"]["message"]  # fmt: skip


def test_a_new_flag_added_as_another_is_dropped_is_no_rename(tmp_path: Path) -> None:
    """The same commit drops promo with its code and adds checkout_v2, a flag of its own
    (another purpose, created that day), read by new code: checkout_v2 has no deadline."""
    new = {**flag("checkout_v2", "New checkout"), "created": "2024-01-10"}
    code = "def checkout():\n    if flags.checkout_v2:\n        return new_checkout()\n"
    _, _, result = _renamed(tmp_path, new, code)
    assert result.code == 0, result.out
    assert _overdue(result) == []


def test_the_old_names_owner_cannot_waive_the_renamed_flags_finding(tmp_path: Path) -> None:
    """Lee owned promo when it was given its date; promo became promo_banner, owned by a
    team: Lee still owned it when its day came."""
    repo = ScriptedRepo(tmp_path / "repo")
    dated = {**flag("promo", PURPOSE, remove_by="2024-01-05"), "owner": "lee@example.com"}
    _commit(repo, 1, {"flags.yaml": registry(dated), "app.py": "promo\n"})
    new = {**flag("promo_banner", PURPOSE), "owner": "web-team"}
    sha = _commit(repo, 2, {"flags.yaml": registry(new), "app.py": "promo_banner\n"})
    waiver = {"rule": "DEAD-003", "subject": "promo_banner", "reason": "later",
              "expires": "2024-06-01", "approved_by": "lee@example.com"}  # fmt: skip
    write_yaml(tmp_path / "ev" / "waivers.yaml", [waiver])
    said = {f["subject"]: f for f in _check(tmp_path, repo, sha).json()["findings"]}
    assert said["promo_banner"]["waived"] is False
    assert "lee@example.com owned promo_banner" in said["DEAD-003:promo_banner"]["message"]


@pytest.mark.parametrize("between", ["dropped", "retired"])
def test_a_flag_renamed_in_two_commits_keeps_its_remove_by(tmp_path: Path, between: str) -> None:
    """promo, due by 2024-01-05, is dropped from the registry (or retired) on 2024-01-10 as
    the code's reads of it become reads of promo_banner; promo_banner is added the next day
    with promo's purpose. Before, no version both dropped the one and added the other: D1
    shipped the flag past its day, and the check passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    code = "if flags.promo:\n    show_banner()\n"
    first = _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": code})
    old = [flag("promo", PURPOSE, status="retired", retired_at="2024-01-10")]
    old = old if between == "retired" else []
    code = code.replace("promo", "promo_banner")
    _commit(repo, 10, {"flags.yaml": registry(*old), "app.py": code}, author=LEAD)
    renamed = _commit(repo, 11, {"flags.yaml": registry(*old, flag("promo_banner", PURPOSE))})
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert result.code == 1
    assert _overdue(result) == [
        "Flag promo_banner was to be removed by 2024-01-05 but was still active when 1 "
        f"deployments started: D1; the registry gave 2024-01-05 at {first[:12]} and renamed "
        f"promo to promo_banner at {renamed[:12]}: the earliest date recorded applies."
    ]


@pytest.mark.parametrize(
    "code_with", ["new entry", "old entry dropped"], ids=["purpose kept", "code renamed"]
)
def test_a_flag_renamed_registry_first_keeps_its_remove_by(tmp_path: Path, code_with: str) -> None:
    """promo_banner is added to the registry on 2024-01-09 beside promo (due by 2024-01-05),
    and promo dropped the next day: promo_banner took promo's purpose (and its code then), or
    a purpose of its own while the commit dropping promo changed every read of it to
    promo_banner. No version both dropped the one and added the other, and D1 shipped the flag
    past its day with no finding (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    code = "if flags.promo:\n    show_banner()\n"
    first = _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": code})
    renamed_code = {"app.py": code.replace("promo", "promo_banner")}
    new = flag("promo_banner", PURPOSE if code_with == "new entry" else "Banner")
    both = registry(flag("promo", PURPOSE, remove_by="2024-01-05"), new)
    added = {"flags.yaml": both, **(renamed_code if code_with == "new entry" else {})}
    _commit(repo, 9, added, author=LEAD)
    dropped = {"flags.yaml": registry(new), **(renamed_code if code_with != "new entry" else {})}
    renamed = _commit(repo, 10, dropped, author=LEAD)
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert result.code == 1
    assert _overdue(result) == [
        "Flag promo_banner was to be removed by 2024-01-05 but was still active when 1 "
        f"deployments started: D1; the registry gave 2024-01-05 at {first[:12]} and renamed "
        f"promo to promo_banner at {renamed[:12]}: the earliest date recorded applies."
    ]


def test_a_flag_created_with_the_dropped_one_is_no_rename(tmp_path: Path) -> None:
    """promo and checkout_v2 were added the same day by the same team; promo, due by
    2024-01-05, is dropped with its code: checkout_v2, with a purpose of its own, keeps no
    date of promo's."""
    repo = ScriptedRepo(tmp_path / "repo")
    both = registry(flag("promo", PURPOSE, remove_by="2024-01-05"), flag("checkout_v2", "New"))
    code = "if flags.promo:\n    show_banner()\nif flags.checkout_v2:\n    new_checkout()\n"
    _commit(repo, 1, {"flags.yaml": both, "app.py": code})
    kept = "if flags.checkout_v2:\n    new_checkout()\n"
    sha = _commit(repo, 10, {"flags.yaml": registry(flag("checkout_v2", "New")), "app.py": kept})
    result = _check(tmp_path, repo, sha, "--fail-on", "medium")
    assert result.code == 0, result.out
    assert _overdue(result) == []
