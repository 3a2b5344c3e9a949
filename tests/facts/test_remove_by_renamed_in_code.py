"""DEAD-003: a flag renamed in two commits, the registry first and the code after, keeps its
remove_by. Commit A dropped promo, overdue, and added promo_banner with a purpose, an owner
and a later date of its own, while the code still read ``flags.promo``; commit B then changed
every read of ``flags.promo`` to ``flags.promo_banner``. Nothing carried promo's date over
(neither the fields, nor A's code), and the deployment of B passed (exit 0)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import LEAD, write_yaml
from tests.facts.test_deadcode import flag, registry
from tests.facts.test_remove_by_moved import PURPOSE, _check, _commit, _overdue, _promo

APP = "if flags.promo:\n    show_banner()\n"
LIB = "def banner_on():\n    return flags.promo\n"
NEW = {**flag("promo_banner", "Banner A/B test"), "owner": "web-team", "created": "2024-01-08"}


def _dropped(tmp_path: Path) -> tuple[ScriptedRepo, str]:
    """promo, due by 2024-01-05, read by app.py and lib.py; dropped on 2024-01-08 and
    promo_banner added, with a purpose, owner and later date of its own."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(
        repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP, "lib.py": LIB}
    )
    _commit(repo, 8, {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"})})
    return repo, first


def _message(first: str, renamed: str) -> list[str]:
    return [
        "Flag promo_banner was to be removed by 2024-01-05 but was still active when 1 "
        f"deployments started: D1; the registry gave 2024-01-05 at {first[:12]} and renamed "
        f"promo to promo_banner at {renamed[:12]}: the earliest date recorded applies."
    ]


def _renamed(code: str) -> str:
    return code.replace("flags.promo", "flags.promo_banner")


def test_a_flag_renamed_in_the_code_after_the_registry_keeps_its_remove_by(
    tmp_path: Path,
) -> None:
    repo, first = _dropped(tmp_path)
    renamed = _commit(repo, 9, {"app.py": _renamed(APP), "lib.py": _renamed(LIB)})
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert result.code == 1
    assert _overdue(result) == _message(first, renamed)


def test_reads_renamed_over_two_commits_keep_the_remove_by(tmp_path: Path) -> None:
    """app.py's read renamed on the 9th (promo still read by lib.py: promo's own finding),
    lib.py's on the 10th: the commit that renamed the last read renamed the flag."""
    repo, first = _dropped(tmp_path)
    half = _commit(repo, 9, {"app.py": _renamed(APP)})
    assert len(_overdue(_check(tmp_path, repo, half, "--fail-on", "medium"))) == 1
    renamed = _commit(repo, 10, {"lib.py": _renamed(LIB)})
    assert _overdue(_check(tmp_path, repo, renamed, "--fail-on", "medium")) == _message(
        first, renamed
    )


def test_whoever_renamed_the_reads_cannot_waive_the_finding(tmp_path: Path) -> None:
    """Lee changed the reads, not the registry: Lee renamed the flag all the same."""
    repo, _ = _dropped(tmp_path)
    code = {"app.py": _renamed(APP), "lib.py": _renamed(LIB)}
    renamed = _commit(repo, 9, code, author=LEAD)
    waiver = {"rule": "DEAD-003", "subject": "promo_banner", "reason": "later",
              "expires": "2024-06-01", "approved_by": "lee@example.com"}  # fmt: skip
    write_yaml(tmp_path / "ev" / "waivers.yaml", [waiver])
    said = {f["subject"]: f for f in _check(tmp_path, repo, renamed).json()["findings"]}
    assert said["promo_banner"]["waived"] is False


def test_a_new_flags_code_put_where_the_old_ones_was_is_no_rename(tmp_path: Path) -> None:
    """promo's reads removed, and checkout_v2's code written in their place (another body):
    checkout_v2 is a flag of its own."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP})
    new = {**flag("checkout_v2", "New checkout"), "created": "2024-01-08"}
    _commit(repo, 8, {"flags.yaml": registry(new)}, author=LEAD)
    code = "if flags.checkout_v2:\n    return new_checkout()\n"
    sha = _commit(repo, 9, {"app.py": code})
    result = _check(tmp_path, repo, sha, "--fail-on", "medium")
    assert result.code == 0, result.out
    assert _overdue(result) == []


def test_one_read_renamed_while_others_remain_is_no_rename(tmp_path: Path) -> None:
    """app.py's read of promo became a read of promo_banner, lib.py still reads promo: promo
    is overdue (dropped while still read), promo_banner is not renamed from it."""
    repo, _ = _dropped(tmp_path)
    sha = _commit(repo, 9, {"app.py": _renamed(APP)})
    messages = _overdue(_check(tmp_path, repo, sha, "--fail-on", "medium"))
    assert [m.split(" was ")[0] for m in messages] == ["Flag promo"]


def test_the_purpose_is_not_needed_for_the_rename_in_one_commit(tmp_path: Path) -> None:
    """Unchanged: the rename in the registry and the code together is told by the code."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP})
    both = {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"}), "app.py": _renamed(APP)}
    renamed = _commit(repo, 8, both, author=LEAD)
    assert NEW["purpose"] != PURPOSE
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert _overdue(result) == _message(first, renamed)


def test_a_mention_in_an_excluded_file_is_no_read_left(tmp_path: Path) -> None:
    """CHANGELOG.md, outside the references (``reference_exclude``), still names promo: no
    read of it is left, and the flag was renamed."""
    repo, first = _dropped(tmp_path)
    _commit(repo, 8, {"CHANGELOG.md": "- promo is now promo_banner\n"})
    renamed = _commit(repo, 9, {"app.py": _renamed(APP), "lib.py": _renamed(LIB)})
    (repo.path / "knightwatch.yaml").write_text("reference_exclude: ['CHANGELOG.md']\n")
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert _overdue(result) == _message(first, renamed)


def test_a_flag_renamed_in_the_code_before_the_registry_keeps_its_remove_by(
    tmp_path: Path,
) -> None:
    """The other order: every read of promo changed to promo_banner on the 6th, while the
    registry still listed promo alone; promo dropped and promo_banner added, with fields of its
    own, on the 8th. Nothing carried promo's date over, and the check passed (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(
        repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP, "lib.py": LIB}
    )
    _commit(repo, 6, {"app.py": _renamed(APP), "lib.py": _renamed(LIB)})
    renamed = _commit(repo, 8, {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"})})
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert result.code == 1
    assert _overdue(result) == _message(first, renamed)


def test_a_new_flag_whose_code_replaced_the_old_ones_before_is_no_rename(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP})
    _commit(repo, 6, {"app.py": "if flags.checkout_v2:\n    return new_checkout()\n"})
    new = {**flag("checkout_v2", "New checkout"), "created": "2024-01-08"}
    sha = _commit(repo, 8, {"flags.yaml": registry(new)})
    result = _check(tmp_path, repo, sha, "--fail-on", "medium")
    assert result.code == 0, result.out


def test_the_new_flag_listed_between_the_drop_and_the_code_is_a_rename_too(
    tmp_path: Path,
) -> None:
    """promo dropped alone on the 7th, promo_banner added on the 8th, the reads renamed on the
    9th."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(
        repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP, "lib.py": LIB}
    )
    _commit(repo, 7, {"flags.yaml": registry()})
    _commit(repo, 8, {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"})})
    renamed = _commit(repo, 9, {"app.py": _renamed(APP), "lib.py": _renamed(LIB)})
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert _overdue(result) == _message(first, renamed)


def test_reads_renamed_on_two_branches_and_merged_keep_the_remove_by(tmp_path: Path) -> None:
    """app.py's read renamed on one branch, lib.py's on another (each leaving promo read by
    the other file), and the two merged: no commit but the merge left promo unread, and a
    merge was never taken for a rename, so the merge's deployment passed (exit 0)."""
    repo, first = _dropped(tmp_path)
    main = repo.git("rev-parse", "--abbrev-ref", "HEAD")
    repo.branch("app", "HEAD")
    _commit(repo, 9, {"app.py": _renamed(APP)})
    repo.checkout(main)
    _commit(repo, 10, {"lib.py": _renamed(LIB)})
    merged = repo.merge("app", "Merge app", author=LEAD, date="2024-01-11T00:00:00Z")
    assert _overdue(_check(tmp_path, repo, merged, "--fail-on", "medium")) == _message(
        first, merged
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda code: code.replace("if flags", "if  flags"),
        lambda code: code.replace(":\n", ":  # the banner test\n", 1),
        lambda code: "# the banner test, renamed\n" + code,
        lambda code: code.replace("flags.promo_banner", "flags.get('promo_banner')"),
    ],
    ids=["spaced", "commented", "comment-line", "rewritten"],
)
def test_reads_renamed_with_the_line_spaced_or_commented_keep_the_remove_by(
    tmp_path: Path, edit: Callable[[str], str]
) -> None:
    """app.py's read renamed and spaced anew, given a comment in the same line or above it,
    or written another way (``flags.get('promo_banner')``): the hunk was not the same but for
    the name, and the deployment passed (exit 0)."""
    repo, first = _dropped(tmp_path)
    renamed = _commit(repo, 9, {"app.py": edit(_renamed(APP)), "lib.py": _renamed(LIB)})
    assert _overdue(_check(tmp_path, repo, renamed, "--fail-on", "medium")) == _message(
        first, renamed
    )


def _lees_waiver(tmp_path: Path) -> None:
    waiver = {"rule": "DEAD-003", "subject": "promo_banner", "reason": "later",
              "expires": "2024-06-01", "approved_by": "lee@example.com"}  # fmt: skip
    write_yaml(tmp_path / "ev" / "waivers.yaml", [waiver])


def test_whoever_renamed_some_of_the_reads_cannot_waive_the_finding(tmp_path: Path) -> None:
    """Lee renamed app.py's read, Dana lib.py's the next day: the finding named Dana's commit
    alone, and Lee's waiver of it was applied (exit 0 with --fail-on medium)."""
    repo, _ = _dropped(tmp_path)
    _commit(repo, 9, {"app.py": _renamed(APP)}, author=LEAD)
    renamed = _commit(repo, 10, {"lib.py": _renamed(LIB)})
    _lees_waiver(tmp_path)
    said = {f["subject"]: f for f in _check(tmp_path, repo, renamed).json()["findings"]}
    assert said["promo_banner"]["waived"] is False


def test_whoever_renamed_the_reads_before_the_registry_cannot_waive_the_finding(
    tmp_path: Path,
) -> None:
    """Lee renamed every read while the registry listed promo alone, Dana's version dropped
    promo and added promo_banner: the finding named Dana's version alone."""
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP, "lib.py": LIB}
    _commit(repo, 1, files)
    _commit(repo, 6, {"app.py": _renamed(APP), "lib.py": _renamed(LIB)}, author=LEAD)
    renamed = _commit(repo, 8, {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"})})
    _lees_waiver(tmp_path)
    said = {f["subject"]: f for f in _check(tmp_path, repo, renamed).json()["findings"]}
    assert said["promo_banner"]["waived"] is False


def test_a_read_renamed_with_the_code_under_it_edited_keeps_the_remove_by(
    tmp_path: Path,
) -> None:
    """promo dropped and promo_banner added (a purpose and date of its own) in one commit that
    renamed the read and edited the call under it in the same hunk (``show_banner()`` became
    ``show_banner(fast=True)``): the hunk's other lines were not back as they were, so no
    rename, and the flag shipped past promo's remove_by with no finding (exit 0). The other
    lines half alike, as git calls a file renamed with an edit, it is a rename."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP})
    code = _renamed(APP).replace("show_banner()", "show_banner(fast=True)")
    both = {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"}), "app.py": code}
    renamed = _commit(repo, 8, both, author=LEAD)
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert _overdue(result) == _message(first, renamed)
    assert result.code == 1


@pytest.mark.parametrize(
    "code",
    [
        'log.info("banner")\nif flags.promo_banner:\n    show_banner()\n',
        "ready = flags.promo_banner\nif flags.promo_banner:\n    show_banner()\n",
    ],
    ids=["a-line-added-above-the-read", "the-new-flag-read-twice"],
)
def test_a_read_renamed_with_lines_added_beside_it_keeps_the_remove_by(
    tmp_path: Path, code: str
) -> None:
    """promo renamed promo_banner in one commit whose hunk also added a line above the read,
    or read the new flag on two lines where the old one was read on one: the old flag's code
    stayed as it was under the new read, and the flag shipped past promo's remove_by (exit 0).
    Where every other line the hunk removed is back, the reads are renamed, whatever it adds."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = _commit(repo, 1, {"flags.yaml": _promo(remove_by="2024-01-05"), "app.py": APP})
    both = {"flags.yaml": registry({**NEW, "remove_by": "2024-12-31"}), "app.py": code}
    renamed = _commit(repo, 8, both, author=LEAD)
    result = _check(tmp_path, repo, renamed, "--fail-on", "medium")
    assert _overdue(result) == _message(first, renamed)
    assert result.code == 1
