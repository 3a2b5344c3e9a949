"""The merge gate judges a pull request with what main retired after it branched off.

Main retires ``old_checkout`` (or lists ``legacy/x.py`` under ``retired_code``) after the pull
request branched. The pull request's head holds neither that version of the registry nor the
retirement in its history, and its gate judged it alone: a file it added that reads the flag
passed DEAD-001 (exit 0), and so did its change to the retired code (DEAD-004); once merged,
the same code failed both. Each case is a CI clone as the docs' examples run the gate in: the
pull request's head checked out detached, main only as ``origin/main``, the evidence in the
repository's ``compliance/``, read as main has it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, run_cli

REVIEWED = (f"Reviewed-by: {LEAD}",)
FLEET = {"services": {"web": {"hosts": ["web-1"]}}, "environments": ["production"]}
READS_BOTH = "if new_checkout or old_checkout:\n  go()\n"
READS_NEW = "if new_checkout:\n  go()\n"


def registry(
    old: str = "active",
    *,
    new: str = "active",
    owner: str = "shop",
    drop: bool = False,
    retired: tuple[str, ...] = (),
) -> str:
    """The registry: ``old_checkout`` with the status ``old`` and ``owner`` (left out with
    ``drop``), ``new_checkout`` with the status ``new``, and ``retired`` under
    ``retired_code``."""
    flags = [
        _flag("old_checkout", "the 2019 checkout", old, owner),
        _flag("new_checkout", "the 2024 checkout", new, "shop"),
    ]
    document: dict[str, Any] = {"flags": flags[1:] if drop else flags}
    if retired:
        document["retired_code"] = [
            {"path": path, "reason": "replaced", "retired_at": "2024-03-05"} for path in retired
        ]
    return yaml.safe_dump(document, sort_keys=False)


def _flag(name: str, purpose: str, status: str, owner: str) -> dict[str, str]:
    flag = {"name": name, "purpose": purpose, "owner": owner, "status": status,
            "created": "2019-01-01"}  # fmt: skip
    return {**flag, "retired_at": "2024-03-05"} if status == "retired" else flag


class Origin:
    """The hosted repository: ``base`` on main, where a pull request ``pr`` branches off."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = ScriptedRepo(root / "origin")
        self.day = iter(range(2, 28))
        self.base = self.commit(
            "base",
            {
                "flags.yaml": registry(),
                "shop.py": READS_BOTH,
                "legacy/x.py": "print('the old way')\n",
                "compliance/fleet.yaml": yaml.safe_dump(FLEET),
                "compliance/deploys.yaml": "[]\n",
            },
        )

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        day = next(self.day)
        return self.repo.commit(
            message, files, author=DEV, date=f"2024-03-{day:02d}T00:00:00Z", trailers=REVIEWED
        )

    def pull_request(self, files: dict[str, str | None]) -> str:
        """A pull request's head, one commit on ``base``."""
        self.repo.branch("pr", self.base)
        head = self.commit("the pull request", files)
        self.repo.checkout("main")
        return head

    def main(self, message: str, files: dict[str, str | None]) -> str:
        """A commit on main, after the pull request branched."""
        self.repo.checkout("main")
        return self.commit(message, files)

    def gate(self, candidate: str, stage: str = "merge", *more: str | Path) -> dict[str, Any]:
        """The gate in a CI clone: the candidate checked out detached, main as origin/main
        (``more``: further options)."""
        ci = ScriptedRepo(self.root / f"ci-{candidate[:8]}-{stage}")
        ci.git("fetch", "--quiet", "--no-tags", str(self.repo.path),
               "+refs/heads/*:refs/remotes/origin/*")  # fmt: skip
        ci.git("checkout", "--quiet", "--detach", candidate)
        result = run_cli(
            "check", "--repo", ci.path, "--candidate", candidate, "--service", "web",
            "--stage", stage, "--format", "json", "--as-of", "2024-03-28", *more,
        )  # fmt: skip
        assert result.code in (0, 1), result.err
        report: dict[str, Any] = json.loads(result.out)
        report["exit"] = result.code
        return report


def found(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Each finding's rule and subject, with its message."""
    return {(f["rule"], f["subject"]): f["message"] for f in report["findings"]}


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path)


def test_a_file_reading_a_flag_main_retired_since_fails_the_merge_gate(origin: Origin) -> None:
    """Main retires the flag and removes its references; the pull request, branched before,
    adds promo.py reading it. Its gate passed (exit 0); the merge fails DEAD-001. Now the
    flag is retired for the candidate too, and only what the merge will hold counts: the
    candidate's shop.py still reads the flag, but it left shop.py as the merge base had it and
    main has changed it, so the merge takes main's, which does not."""
    head = origin.pull_request({"promo.py": "if old_checkout:\n  promo()\n"})
    origin.main("retire old_checkout", {"flags.yaml": registry("retired"), "shop.py": READS_NEW})
    report = origin.gate(head)
    assert report["exit"] == 1
    assert found(report) == {
        ("DEAD-001", "candidate:old_checkout"): "Deployment candidate shipped code that still "
        "references retired flag old_checkout in 1 file: promo.py."
    }


@pytest.mark.parametrize(
    ("files", "referencing"),
    [
        ({"other.py": "x = 1\n"}, None),  # reads the flag nowhere of its own: passes
        ({"shop.py": READS_BOTH + "# and more\n"}, "shop.py"),  # its own edit still reads it
    ],
)
def test_only_the_files_the_merge_holds_as_the_candidate_has_them_count(
    origin: Origin, files: dict[str, str | None], referencing: str | None
) -> None:
    """A pull request branched before the retirement is not failed for the references main
    removed in files it did not touch: a flag retired and its code removed in one change
    would otherwise fail every open pull request. A file it changed is its own."""
    head = origin.pull_request(files)
    origin.main("retire old_checkout", {"flags.yaml": registry("retired"), "shop.py": READS_NEW})
    report = origin.gate(head)
    if referencing is None:
        assert (report["exit"], found(report)) == (0, {})
    else:
        assert report["exit"] == 1
        message = found(report)[("DEAD-001", "candidate:old_checkout")]
        assert message.endswith(f"in 1 file: {referencing}.")


def test_a_reference_main_left_in_place_counts(origin: Origin) -> None:
    """Main retires the flag and leaves shop.py reading it: the merge holds that reference
    whichever side it takes, and the gate says so, as the audit of the merge will."""
    head = origin.pull_request({"other.py": "x = 1\n"})
    origin.main("retire old_checkout", {"flags.yaml": registry("retired")})
    report = origin.gate(head)
    assert report["exit"] == 1
    assert found(report)[("DEAD-001", "candidate:old_checkout")].endswith("1 file: shop.py.")


def test_a_flag_main_retired_and_dropped_since_is_retired_for_the_candidate(
    origin: Origin,
) -> None:
    """Main retires the flag, then drops it from the registry: its tip no longer lists it,
    but a version of its history retired it, as DEAD-001 reads a registry that dropped one."""
    head = origin.pull_request({"promo.py": "if old_checkout:\n  promo()\n"})
    origin.main("retire old_checkout", {"flags.yaml": registry("retired"), "shop.py": READS_NEW})
    origin.main("drop old_checkout", {"flags.yaml": registry(drop=True)})
    report = origin.gate(head)
    assert report["exit"] == 1
    assert set(found(report)) == {("DEAD-001", "candidate:old_checkout")}


def test_a_candidate_writing_the_flag_active_itself_is_a_revival(origin: Origin) -> None:
    """The pull request rewrites the flag's entry (a new owner) while main retires it: a
    merge that keeps its entry brings the flag back from retirement (DEAD-002), as the audit
    of such a merge says. Its entry is its own, so the flag is active for it, as the merge
    would have it: no DEAD-001 beside."""
    head = origin.pull_request(
        {"flags.yaml": registry(owner="promotions"), "promo.py": "if old_checkout:\n  promo()\n"}
    )
    retiring = origin.main(
        "retire old_checkout", {"flags.yaml": registry("retired"), "shop.py": READS_NEW}
    )
    report = origin.gate(head)
    assert report["exit"] == 1
    assert found(report) == {
        ("DEAD-002", "old_checkout"): f"Flag old_checkout was repurposed: retired at "
        f"{retiring[:12]} on the protected branch and written active again by {head[:12]}, which "
        "branched off before it."
    }


def test_a_candidate_that_retires_a_flag_itself_is_judged_as_before(origin: Origin) -> None:
    """The candidate's own retirements still count, beside main's."""
    head = origin.pull_request(
        {
            "flags.yaml": registry(new="retired"),
            "promo.py": "if old_checkout and new_checkout:\n  promo()\n",
        }
    )
    origin.main("retire old_checkout", {"flags.yaml": registry("retired"), "shop.py": READS_NEW})
    report = origin.gate(head)
    assert set(found(report)) == {
        ("DEAD-001", "candidate:old_checkout"),
        ("DEAD-001", "candidate:new_checkout"),
    }
    own = found(report)[("DEAD-001", "candidate:new_checkout")]
    assert own.endswith("in 2 files: promo.py, shop.py.")  # its own: every file counts


@pytest.mark.parametrize(
    ("files", "finding"),
    [
        ({"legacy/x.py": "print('the old way, again')\n"}, "1 file: legacy/x.py."),
        (
            {"legacy/x.py": None, "src/y.py": "print('the old way')\n"},
            "1 file: src/y.py (the content of the retired code, at another path).",
        ),
        ({"other.py": "x = 1\n"}, None),  # main deleted it: the merge holds none of it
    ],
)
def test_code_main_retired_since_is_retired_for_the_candidate(
    origin: Origin, files: dict[str, str | None], finding: str | None
) -> None:
    """Main lists legacy/x.py under retired_code and deletes it; the pull request, branched
    before, edits it (or moves it). Its gate passed (exit 0); the merge fails DEAD-004. A pull
    request that left the file alone holds it only because it branched before: the merge
    takes main's deletion, and it passes."""
    head = origin.pull_request(files)
    origin.main(
        "retire legacy/x.py",
        {"flags.yaml": registry(retired=("legacy/x.py",)), "legacy/x.py": None},
    )
    report = origin.gate(head)
    if finding is None:
        assert (report["exit"], found(report)) == (0, {})
    else:
        assert report["exit"] == 1
        assert found(report) == {
            ("DEAD-004", "candidate:legacy/x.py"): "Deployment candidate shipped retired code "
            f"legacy/x.py (replaced) in {finding}"
        }


def test_a_candidate_up_to_date_with_main_is_judged_on_its_own_history(origin: Origin) -> None:
    """Once the pull request merges main in, the retirement is in its history: judged as
    before, on every file of its tree."""
    origin.pull_request({"promo.py": "if old_checkout:\n  promo()\n"})
    origin.main("retire old_checkout", {"flags.yaml": registry("retired")})
    origin.repo.checkout("pr")
    head = origin.repo.merge("main", "update", author=DEV, date="2024-03-20T00:00:00Z")
    origin.repo.checkout("main")
    report = origin.gate(head)
    message = found(report)[("DEAD-001", "candidate:old_checkout")]
    assert message.endswith("in 2 files: promo.py, shop.py.")


def test_the_deploy_gate_judges_the_code_it_ships_with_its_own_registry(origin: Origin) -> None:
    """A deployment ships the candidate's code and registry as they are, whatever main did
    since: the deploy gate judges them so, as the audit of that deployment will."""
    head = origin.pull_request({"promo.py": "if old_checkout:\n  promo()\n"})
    origin.main("retire old_checkout", {"flags.yaml": registry("retired"), "shop.py": READS_NEW})
    report = origin.gate(head, stage="deploy")
    assert not [key for key in found(report) if key[0].startswith("DEAD")]
    assert ("REVIEW-003", "candidate") in found(report)  # not on main


@pytest.mark.parametrize("retired", ["flag", "code"])
def test_whoever_changed_the_code_on_mains_side_cannot_waive_it(
    origin: Origin, tmp_path: Path, retired: str
) -> None:
    """Lee changed shop.py (or legacy/x.py) on main, keeping the reference to old_checkout
    (the retired code), and main retired it since; the pull request left the file alone, so
    the merge takes Lee's version, and the merge gate's finding names it. Only the
    candidate's history was followed to the writers of its files: Dana's, and Lee's waiver of
    the finding was applied (exit 0). The merge holds main's history too."""
    head = origin.pull_request({"other.py": "x = 1\n"})
    if retired == "flag":
        changed = {"shop.py": READS_BOTH + "go(2)\n"}
        retiring = {"flags.yaml": registry("retired")}
        subject = ("DEAD-001", "candidate:old_checkout")
    else:
        changed = {"legacy/x.py": "print('the old way, still')\n"}
        retiring = {"flags.yaml": registry(retired=("legacy/x.py",))}
        subject = ("DEAD-004", "candidate:legacy/x.py")
    origin.repo.checkout("main")
    origin.repo.commit(
        "keep it", changed, author=LEAD, date="2024-03-20T00:00:00Z", trailers=REVIEWED
    )
    waiver = {"rule": subject[0], "subject": subject[1], "reason": "later",
              "approved_by": "lee@example.com", "expires": "2024-04-30"}  # fmt: skip
    origin.main("retire", {**retiring, "compliance/waivers.yaml": yaml.safe_dump([waiver])})
    platform = tmp_path / "platform.yaml"
    platform.write_text("waiver_approvers: [lee@example.com, cro@example.com]\n")
    report = origin.gate(head, "merge", "--config", platform)
    assert [(f["rule"], f["subject"], f["waived"]) for f in report["findings"]] == [
        (*subject, False)
    ]
    assert report["exit"] == 1


@pytest.mark.parametrize(("purpose", "waived"), [("the 2019 checkout", True), ("promos", False)])
def test_a_waiver_of_a_revival_at_the_merge_gate_names_its_purpose(
    origin: Origin, tmp_path: Path, purpose: str, waived: bool
) -> None:
    """The pull request writes old_checkout's entry active while main retires it: the
    revival's purpose is the one the candidate's entry gives, which a DEAD-002 waiver that
    names a purpose must name."""
    head = origin.pull_request({"flags.yaml": registry(owner="promotions")})
    waiver = {"rule": "DEAD-002", "subject": "old_checkout", "purpose": purpose,
              "reason": "CHG-9", "approved_by": "cro@example.com",
              "expires": "2024-04-30"}  # fmt: skip
    origin.main(
        "retire",
        {"flags.yaml": registry("retired"), "compliance/waivers.yaml": yaml.safe_dump([waiver])},
    )
    platform = tmp_path / "platform.yaml"
    platform.write_text("waiver_approvers: [cro@example.com]\n")
    report = origin.gate(head, "merge", "--config", platform)
    dead = [f["waived"] for f in report["findings"] if f["rule"] == "DEAD-002"]
    assert dead == [waived], report["findings"]
    assert report["exit"] == (0 if waived else 1)
