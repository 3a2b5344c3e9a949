"""A signed audit records the protected branch it judged REVIEW-003 against: its name, the ref
it was read from and the commit it pointed to. The audited team runs the audit in its own CI,
so it controls its clone's local branches: a local ``main`` moved onto an unmerged deployed
commit passed REVIEW-003, and ``verify`` could not tell. The audit judges what the forge holds
(``origin/main`` over a local ``main``); ``verify`` prints the branch it judged, and a replay
in the forge's clone fails, naming the branch, where the recorded tip is not on its branch."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from checker.demo.builder import ScriptedRepo
from checker.signing.attestation import sign_statement
from checker.signing.keys import load_private
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

REVIEWED = (f"Reviewed-by: {LEAD}",)
APPROVAL = [{"by": "lee@example.com"}]


class Forge:
    """The forge's repository (``main``, and a ``hotfix`` branch never merged), the team's CI
    clone of it, and the evidence: one deployment, in March 2024, of the unmerged hotfix."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = ScriptedRepo(root / "forge")
        commit = self.repo.commit
        self.shas = {
            "base": commit("base", {"app.py": "0\n"}, author=DEV, date="2024-02-01T09:00:00Z",
                           trailers=REVIEWED),
            "main2": commit("main2", {"app.py": "1\n"}, author=DEV, date="2024-02-05T09:00:00Z",
                            trailers=REVIEWED),
        }  # fmt: skip
        self.repo.branch("hotfix", self.shas["base"])
        self.shas["hot"] = commit(
            "hot", {"hot.py": "1\n"}, author=DEV, date="2024-02-10T09:00:00Z", trailers=REVIEWED
        )
        self.repo.checkout("main")
        self.evidence = root / "ev"
        write_yaml(self.evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
        deployed = deployment("D1", self.shas["hot"], "2024-03-01T23:00:00Z", approvals=APPROVAL)
        write_yaml(self.evidence / "deploys.yaml", [deployed])
        self.ci = ScriptedRepo(root / "ci")
        self.ci.git("fetch", "--quiet", "--no-tags", str(self.repo.path),
                    "+refs/heads/*:refs/remotes/origin/*")  # fmt: skip
        self.ci.git("checkout", "--quiet", "--detach", self.shas["main2"])
        assert run_cli("keygen", "--output", root / "k").code == 0

    def audit(self, repo: Path, *extra: str | Path) -> CliResult:
        return run_cli(
            "audit", "--repo", repo, "--evidence", self.evidence, "--key", self.root / "k.key",
            "--period", "2024-03", "--as-of", "2024-04-01", "-o", self.root / "mar.json", *extra,
        )  # fmt: skip

    def verify(self, *extra: str | Path) -> CliResult:
        return run_cli("verify", self.root / "mar.json", "--key", self.root / "k.pub", *extra)

    def replay(self) -> CliResult:
        """``verify --replay`` in the forge's own repository, at the recorded HEAD."""
        return self.verify("--replay", "--repo", self.repo.path, "--evidence", self.evidence)

    def statement(self) -> dict[str, Any]:
        envelope = json.loads((self.root / "mar.json").read_text())
        return json.loads(base64.b64decode(envelope["payload"]))  # type: ignore[no-any-return]

    def report(self) -> dict[str, Any]:
        return self.statement()["predicate"]["report"]  # type: ignore[no-any-return]

    def sign(self, statement: dict[str, Any]) -> None:
        """``statement`` signed with the audit's key, in place of the audit's."""
        key = load_private(str(self.root / "k.key"))
        (self.root / "mar.json").write_text(sign_statement(statement, key)[0])


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    return Forge(tmp_path)


def _branch(report: dict[str, Any]) -> dict[str, str]:
    return report["inputs"]["repository"]["protected_branch"]  # type: ignore[no-any-return]


def test_a_local_main_moved_onto_the_deployed_commit_does_not_pass_review_003(
    forge: Forge,
) -> None:
    """The CI clone's ``main`` moved onto the unmerged hotfix (``git branch -f main``): the
    audit judged that local branch, found the hotfix "on main" and signed a pass (exit 0)
    that ``verify`` accepted. Where ``origin/main`` is there too, it is what is judged."""
    forge.ci.git("branch", "-f", "main", forge.shas["hot"])
    result = forge.audit(forge.ci.path, "--html", forge.root / "mar.html")
    assert result.code == 1, result.out + result.err
    page = (forge.root / "mar.html").read_text()
    assert f'main at <span class="mono">{forge.shas["main2"]}</span>' in page
    report = forge.report()
    assert [(f["rule"], f["subject"]) for f in report["findings"]] == [("REVIEW-003", "D1")]
    assert _branch(report) == {
        "name": "main",
        "ref": "refs/remotes/origin/main",
        "commit": forge.shas["main2"],
    }
    shown = forge.verify()
    assert shown.code == 0, shown.err
    assert (
        f"protected branch: main at {forge.shas['main2']} (read from refs/remotes/origin/main)"
        in shown.out
    )
    # The gate and a plain check judge the same branch.
    common = ("--repo", forge.ci.path, "--evidence", forge.evidence, "--format", "json")
    for extra in ((), ("--candidate", forge.shas["hot"], "--service", "web")):
        checked = run_cli("check", *common, "--as-of", "2024-04-01", *extra)
        assert checked.code == 1, checked.err
        assert "REVIEW-003" in {f["rule"] for f in checked.json()["findings"]}
        assert _branch(checked.json())["ref"] == "refs/remotes/origin/main"


def test_a_remote_tracking_main_moved_too_is_shown_by_verify_and_fails_the_replay(
    forge: Forge,
) -> None:
    """Moved as ``refs/remotes/origin/main`` too (or a fork's main fetched as origin's), the
    clone holds nothing else to judge: the audit passes, but its signed statement names the
    branch tip it judged, ``verify`` prints it, and a replay in the forge's repository fails
    (exit 1) naming the branch: the forge's ``main`` does not contain that tip."""
    forge.ci.git("update-ref", "refs/remotes/origin/main", forge.shas["hot"])
    assert forge.audit(forge.ci.path).code == 0
    assert _branch(forge.report())["commit"] == forge.shas["hot"]
    shown = forge.verify()
    assert f"protected branch: main at {forge.shas['hot']}" in shown.out
    replayed = forge.replay()
    assert replayed.code == 1, replayed.out
    assert (
        f"verification failed (replay): protected branch main: the audit judged it at "
        f"{forge.shas['hot']} (refs/remotes/origin/main), which main here "
        f"(refs/heads/main at {forge.shas['main2']}) does not contain"
    ) in replayed.err


def test_a_tip_the_forge_never_held_fails_the_replay(forge: Forge) -> None:
    """A merge of the hotfix made in the clone alone, never pushed, as origin's main."""
    forge.ci.git("checkout", "--quiet", "--detach", forge.shas["main2"])
    forge.ci.git("merge", "--quiet", "--no-ff", "-m", "local", forge.shas["hot"],
                 date="2024-02-11T09:00:00Z", author=DEV)  # fmt: skip
    merged = forge.ci.git("rev-parse", "HEAD")
    forge.ci.git("update-ref", "refs/remotes/origin/main", merged)
    forge.ci.git("checkout", "--quiet", "--detach", forge.shas["main2"])
    assert forge.audit(forge.ci.path).code == 0
    replayed = forge.replay()
    assert replayed.code == 1, replayed.out
    assert (
        f"protected branch main: the audit judged it at {merged} (refs/remotes/origin/main), "
        "which is not in this repository's history"
    ) in replayed.err


def test_a_branch_that_moved_on_since_the_audit_replays(forge: Forge) -> None:
    """The forge's main moved on after an honest audit: the tip the audit judged is in its
    history, so the replay confirms the audit."""
    deployed = deployment("D1", forge.shas["main2"], "2024-03-01T23:00:00Z", approvals=APPROVAL)
    write_yaml(forge.evidence / "deploys.yaml", [deployed])
    assert forge.audit(forge.ci.path).code == 0
    forge.repo.commit("main3", {"app.py": "3\n"}, author=DEV, date="2024-04-02T09:00:00Z")
    forge.repo.git("checkout", "--quiet", "--detach", forge.shas["main2"])
    replayed = forge.replay()
    assert replayed.code == 0, replayed.err
    assert "replay: replayed" in replayed.out


@pytest.mark.parametrize(
    ("branch", "said"),
    [
        ({"name": "main", "ref": "refs/heads/main"}, "is not a name, a ref and a commit"),
        ("main", "is not a name, a ref and a commit"),
    ],
)
def test_a_recorded_branch_that_names_no_commit_fails_the_replay(
    forge: Forge, branch: object, said: str
) -> None:
    """Whoever holds the key signs what they like: a record of another shape is never taken
    as confirmed, nor passed over as a report that records no branch. (A tip recorded as a
    ref name, which the replay's clone would resolve to its own branch, fails ``verify``
    itself: ``test_a_recorded_branch_edited_and_signed_again_fails_verify``.)"""
    forge.ci.git("update-ref", "refs/remotes/origin/main", forge.shas["hot"])
    assert forge.audit(forge.ci.path).code == 0
    statement = forge.statement()
    statement["predicate"]["report"]["inputs"]["repository"]["protected_branch"] = branch
    forge.sign(statement)
    shown = forge.verify()
    assert shown.code == 0 and "protected branch: " in shown.out
    replayed = forge.replay()
    assert replayed.code == 1, replayed.out
    assert "verification failed (replay): " in replayed.err and said in replayed.err


@pytest.mark.parametrize(
    ("branch", "symbolic", "target"),
    [
        ("main", "refs/remotes/origin/main", "refs/heads/x"),
        ("HEAD", "refs/remotes/origin/HEAD", "refs/remotes/origin/hotfix"),
    ],
)
def test_a_protected_branch_read_through_a_symbolic_ref_is_refused(
    forge: Forge, branch: str, symbolic: str, target: str
) -> None:
    """``refs/remotes/origin/main`` made a symbolic ref to a local branch on the unmerged
    hotfix: the audit judged the hotfix "on main" and signed a pass (exit 0) recording the
    branch as read from origin's ``refs/remotes/origin/main``. So did ``origin/HEAD`` pointed
    at the hotfix (``git remote set-head``) for a protected branch named ``HEAD``. Neither is
    read: the check, the gate and the audit stop (exit 2), naming the ref it points to, and
    the audit writes nothing."""
    forge.ci.git("branch", "x", forge.shas["hot"])
    forge.ci.git("symbolic-ref", symbolic, target)
    audited = forge.audit(forge.ci.path, "--protected-branch", branch)
    assert audited.code == 2, audited.out + audited.err
    assert not (forge.root / "mar.json").exists()
    said = (
        f"protected branch {branch!r} would be read from {symbolic}, which is a symbolic ref "
        f"to {target}: the commit judged would be {target}'s, recorded as {symbolic}'s"
    )
    assert said in audited.err
    assert f"--protected-branch {target}" in audited.err
    common = ("--repo", forge.ci.path, "--evidence", forge.evidence, "--as-of", "2024-04-01")
    for extra in ((), ("--candidate", forge.shas["hot"], "--service", "web")):
        checked = run_cli("check", *common, "--protected-branch", branch, *extra)
        assert checked.code == 2, checked.out + checked.err
        assert said in checked.err and "Traceback" not in checked.err


def _ci_checkout(forge: Forge, name: str, refspecs: list[str]) -> ScriptedRepo:
    """A CI job's clone of the forge, as its checkout fetches it: the change's own refs
    alone (``MAIN2`` in a refspec: the commit on main the job runs for), with full history,
    and HEAD detached at that commit."""
    clone = ScriptedRepo(forge.root / name)
    clone.git("remote", "add", "origin", str(forge.repo.path))
    wanted = [refspec.replace("MAIN2", forge.shas["main2"]) for refspec in refspecs]
    clone.git("fetch", "--quiet", "--no-tags", "origin", *wanted)
    clone.git("checkout", "--quiet", "--detach", forge.shas["main2"])
    return clone


@pytest.mark.parametrize(
    ("name", "refspecs"),
    [  # actions/checkout of a pull request; GitLab CI's runner on a branch pipeline
        ("gha", ["+MAIN2:refs/remotes/pull/7/merge"]),
        ("gitlab", ["+refs/heads/hotfix:refs/remotes/origin/hotfix", "+MAIN2:refs/pipelines/9"]),
    ],
)
def test_a_ci_clone_without_the_branch_is_told_what_to_fetch(
    forge: Forge, name: str, refspecs: list[str]
) -> None:
    """A CI checkout that fetched the change's own ref alone has no ``origin/main``: the
    check, the gate and the audit stop (exit 2) and say the fetch that gives the clone the
    branch (the hint said only to name another branch, the wrong way out). That fetch done,
    the audit judges origin's main and passes."""
    deployed = deployment("D1", forge.shas["main2"], "2024-03-01T23:00:00Z", approvals=APPROVAL)
    write_yaml(forge.evidence / "deploys.yaml", [deployed])
    clone = _ci_checkout(forge, name, refspecs)
    fetch = "git fetch origin +refs/heads/main:refs/remotes/origin/main"
    said = "protected branch 'main' not found (as refs/remotes/origin/main or refs/heads/main)"
    common = ("--repo", clone.path, "--evidence", forge.evidence, "--as-of", "2024-04-01")
    for extra in ((), ("--candidate", forge.shas["main2"], "--service", "web")):
        checked = run_cli("check", *common, *extra)
        assert checked.code == 2, checked.out + checked.err
        assert said in checked.err and f"fetch it: '{fetch}'" in checked.err
    assert forge.audit(clone.path).code == 2
    assert not (forge.root / "mar.json").exists()
    clone.git(*fetch.split()[1:])
    assert forge.audit(clone.path).code == 0
    assert _branch(forge.report())["ref"] == "refs/remotes/origin/main"


def test_a_protected_branch_named_by_a_ref_outside_the_branches_is_refused(
    forge: Forge,
) -> None:
    """A full name under ``refs/tags/`` (or any ref but a branch) is no branch: the run
    stops (exit 2) saying so, rather than that no branch it may be ("()") exists."""
    forge.ci.git("tag", "v1", forge.shas["hot"])
    audited = forge.audit(forge.ci.path, "--protected-branch", "refs/tags/v1")
    assert audited.code == 2
    assert "'refs/tags/v1' is a ref outside refs/heads/ and refs/remotes/" in audited.err


def test_a_mirror_clone_is_refused_with_the_clone_to_make(forge: Forge) -> None:
    """A mirror clone (``git clone --mirror``: the forge's refs/heads, no work tree) stopped
    with "bare repositories are not supported" and no word of what to do. The message names
    the clone to make; made, the audit judges the mirror's main as origin's."""
    mirror = forge.root / "mirror.git"
    forge.repo.git("clone", "--quiet", "--mirror", str(forge.repo.path), str(mirror))
    audited = forge.audit(mirror)
    assert audited.code == 2 and "Traceback" not in audited.err
    assert "bare repositories are not supported (a mirror clone is one)" in audited.err
    assert f"'git clone {mirror} DIR'" in audited.err
    forge.repo.git("clone", "--quiet", str(mirror), str(forge.root / "work"))
    work = ScriptedRepo(forge.root / "work")  # git init again leaves the clone as it is
    work.git("checkout", "--quiet", "--detach", forge.shas["main2"])
    assert forge.audit(work.path).code == 1  # the unmerged hotfix: REVIEW-003
    assert _branch(forge.report()) == {
        "name": "main",
        "ref": "refs/remotes/origin/main",
        "commit": forge.shas["main2"],
    }


def test_a_clone_fetched_before_the_deployment_is_told_to_fetch(forge: Forge) -> None:
    """A developer's clone fetched a week before the forge's main moved on to the commit
    deployed: the check and the audit stop (exit 2) on the deployment whose commit the clone
    has not got, and the hint says to fetch (it asked only whether --repo was the right
    repository). Fetched, the audit judges origin's main as it now is and passes."""
    main3 = forge.repo.commit(
        "main3", {"app.py": "3\n"}, author=DEV, date="2024-03-05T09:00:00Z", trailers=REVIEWED
    )
    deployed = deployment("D1", main3, "2024-03-06T23:00:00Z", approvals=APPROVAL)
    write_yaml(forge.evidence / "deploys.yaml", [deployed])
    forge.ci.git("remote", "add", "origin", str(forge.repo.path))
    checked = run_cli("check", "--repo", forge.ci.path, "--evidence", forge.evidence)
    audited = forge.audit(forge.ci.path)
    for result in (checked, audited):
        assert result.code == 2, result.out + result.err
        assert f"deployment D1: commit '{main3}' does not resolve" in result.err
        assert "fetch every branch ('git fetch origin'" in result.err
    forge.ci.git("fetch", "--quiet", "origin")
    assert forge.audit(forge.ci.path).code == 0
    assert _branch(forge.report())["commit"] == main3


@pytest.mark.parametrize("broken", ["garbage\n", "ref: refs/heads/nothere\n"])
def test_an_unreadable_origin_branch_is_not_passed_over_for_the_local_one(
    forge: Forge, broken: str
) -> None:
    """``refs/remotes/origin/main`` made a file that names no object id, or a symbolic ref to
    a ref that is not there: git lists no such ref, so the local ``main`` (moved onto the
    unmerged hotfix) was read in its place and the audit signed a pass (exit 0). The run
    stops (exit 2), naming the ref it cannot read and how to set it right."""
    forge.ci.git("branch", "-f", "main", forge.shas["hot"])
    (forge.ci.path / ".git/refs/remotes/origin/main").write_text(broken)
    audited = forge.audit(forge.ci.path)
    assert audited.code == 2, audited.out + audited.err
    assert not (forge.root / "mar.json").exists()
    assert (
        "protected branch 'main': refs/remotes/origin/main is in the repository, but git "
        "cannot read it as a ref"
    ) in audited.err
    assert "refs/heads/main is not read in its place" in audited.err
    checked = run_cli("check", "--repo", forge.ci.path, "--evidence", forge.evidence)
    assert checked.code == 2 and "cannot read it as a ref" in checked.err


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ({"name": "release"}, "is not the one its parameters name, 'main'"),
        ({"name": "ma\u200bin"}, "is not the one its parameters name, 'main'"),
        ({"ref": "refs/tags/v1"}, "is not read from a ref that branch is read from"),
        ({"ref": "refs/heads/release"}, "is not read from a ref that branch is read from"),
        ({"commit": "main"}, "does not name a commit by its full id"),
    ],
)
def test_a_recorded_branch_edited_and_signed_again_fails_verify(
    forge: Forge, edit: dict[str, str], said: str
) -> None:
    """The team signs its own audits: its protected branch edited to ``release`` (while the
    report's parameters name ``main``), read from a tag, or at no commit, and signed again,
    verified (exit 0), and ``verify`` printed the edited branch as the one judged. An audit
    writes the branch its parameters name, read from one of that name's refs, at a full
    commit id; ``verify`` and ``sample`` fail any other."""
    assert forge.audit(forge.ci.path).code == 1
    statement = forge.statement()
    _branch(statement["predicate"]["report"]).update(edit)
    forge.sign(statement)
    shown = forge.verify()
    assert shown.code == 1 and shown.out == "", shown.out
    assert "verification failed (verdict)" in shown.err
    assert said in shown.err
    sampled = run_cli(
        "sample", forge.root / "mar.json", "--key", forge.root / "k.pub", "--size", "1",
        "--seed", "s",
    )  # fmt: skip
    assert sampled.code == 2 and said in sampled.err, sampled.err


def test_a_recorded_branch_read_from_the_local_ref_verifies(forge: Forge) -> None:
    """``refs/heads/main`` is a ref ``main`` is read from (in a clone without origin's)."""
    assert forge.audit(forge.ci.path).code == 1
    statement = forge.statement()
    _branch(statement["predicate"]["report"])["ref"] = "refs/heads/main"
    forge.sign(statement)
    assert forge.verify().code == 0


def test_a_changed_protected_branch_with_its_note_taken_out_fails_verify(forge: Forge) -> None:
    """An audit judged against ``hotfix`` (an auditor's ``--config`` naming it), where the
    deployed commit is, passed; the statement records the changed setting, and ``verify``
    named it. With the note taken out and the statement signed again, ``verify`` passed it
    (exit 0) naming no changed setting. A ``protected_branch`` other than ``main`` must be
    recorded among the settings that changed the rules."""
    (forge.root / "c.yaml").write_text("protected_branch: hotfix\n")
    assert forge.audit(forge.ci.path, "--config", forge.root / "c.yaml").code == 0
    shown = forge.verify()
    assert shown.code == 0, shown.err
    assert "protected_branch: hotfix from --config c.yaml" in shown.out
    statement = forge.statement()
    settings = statement["predicate"]["settings"]
    settings["weakened"] = [n for n in settings["weakened"] if n["name"] != "protected_branch"]
    forge.sign(statement)
    shown = forge.verify()
    assert shown.code == 1 and shown.out == "", shown.out
    assert (
        "verification failed (verdict): " in shown.err
        and "its report was judged against protected branch 'hotfix', not main, and the "
        "statement does not record it among the settings that changed the rules"
        in shown.err
    )


def test_a_recorded_branch_that_is_a_tag_fails_verify(forge: Forge) -> None:
    """An audit refuses a protected branch named by a ref outside the branches (a tag would
    make whatever it points at the branch). A statement edited to say it judged
    ``refs/tags/v1``, its parameters and changed setting edited to match, verified."""
    (forge.root / "c.yaml").write_text("protected_branch: refs/remotes/origin/main\n")
    assert forge.audit(forge.ci.path, "--config", forge.root / "c.yaml").code == 1
    assert forge.verify().code == 0
    statement = forge.statement()
    predicate = statement["predicate"]
    _branch(predicate["report"]).update(name="refs/tags/v1", ref="refs/tags/v1")
    predicate["report"]["parameters"]["protected_branch"] = "refs/tags/v1"
    for note in predicate["settings"]["weakened"]:
        if note["name"] == "protected_branch":
            note["value"] = "refs/tags/v1"
    forge.sign(statement)
    shown = forge.verify()
    assert shown.code == 1, shown.out
    assert "is not read from a ref that branch is read from" in shown.err


def test_a_recorded_branch_whose_parameter_was_taken_out_fails_verify(forge: Forge) -> None:
    """With ``parameters.protected_branch`` taken out, the recorded branch had nothing to be
    compared with: one edited to ``release`` verified. An audit that records the branch
    records the parameter too."""
    assert forge.audit(forge.ci.path).code == 1
    statement = forge.statement()
    report = statement["predicate"]["report"]
    del report["parameters"]["protected_branch"]
    _branch(report)["name"] = "release"
    forge.sign(statement)
    shown = forge.verify()
    assert shown.code == 1, shown.out
    assert "is not the one its parameters name, none" in shown.err
