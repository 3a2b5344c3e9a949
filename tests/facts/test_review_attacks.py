"""The review rules tried as the audited team would try them, wanting a pass: self-review and
self-approval under another spelling, a .mailmap'd old address, a forged author field, and
history rewritten by ``git replace`` or grafts. Each must fail and say what it found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, CliResult, check_json, deployment, write_yaml
from tests.engine import opa_standin

LEE = {"by": "lee@example.com", "at": "2024-03-01T08:00:00Z"}
SELF_REVIEWS = {
    "name": "Reviewed-by: Dana Doe",
    "me": "Reviewed-by: me",
    "tag": "Reviewed-by: Dana <dana+review@example.com>",
    "bracket": "Reviewed-by: dana@example.com>",
    "zero-width": "Reviewed-by: dana\u200b@example.com",
    "case-and-dot": "Approved-by: DANA@EXAMPLE.COM.",
}
SELF_APPROVALS = {
    "D-name": "Ops Person",
    "D-dot": "ops@example.com.",
    "D-comment": "ops@example.com (self)",
    "D-tag": "ops+approve@example.com",
}


@dataclass
class Case:
    repo: ScriptedRepo
    evidence: Path
    shas: dict[str, str]


def _date(day: int) -> str:
    return f"2024-02-{day:02d}T10:00:00Z"


def build(root: Path) -> Case:
    """Dana's commits, each "reviewed" under one spelling of her own address, then one that
    Lee reviewed; deployments of the tip, each "approved" under one spelling of Ops's."""
    repo = ScriptedRepo(root / "repo")
    base = repo.commit(
        "base", {"a": "0"}, author=LEAD, date=_date(1), trailers=(f"Reviewed-by: {DEV}",)
    )
    shas = {"base": base}
    for day, (label, trailer) in enumerate(SELF_REVIEWS.items(), start=2):
        shas[label] = repo.commit(
            label, {"a": label}, author=DEV, date=_date(day), trailers=(trailer,)
        )
    shas["reviewed"] = repo.commit(
        "reviewed", {"a": "ok"}, author=DEV, date=_date(20), trailers=(f"Reviewed-by: {LEAD}",)
    )
    tip = shas["reviewed"]
    deploys = [
        deployment("D0", shas["base"], "2024-03-01T09:00:00Z", approvals=[LEE]),
        deployment("D1", tip, "2024-03-02T09:00:00Z", approvals=[LEE]),
    ]
    for day, (name, by) in enumerate(SELF_APPROVALS.items(), start=3):
        at = f"2024-03-{day:02d}T08:00:00Z"
        deploys.append(
            deployment(name, tip, f"2024-03-{day:02d}T09:00:00Z", approvals=[{"by": by, "at": at}])
        )
    deploys.append(
        deployment(
            "D-deployer", tip, "2024-03-20T09:00:00Z", approvals=[LEE], deployer="Ops Person"
        )
    )
    evidence = root / "evidence"
    write_yaml(evidence / "deploys.yaml", deploys)
    return Case(repo, evidence, shas)


def check(case: Case, *extra: str | Path) -> CliResult:
    return check_json(case.repo.path, case.evidence, *extra)


def findings(result: CliResult) -> dict[tuple[str, str], str]:
    return {(f["rule"], f["subject"]): f["message"] for f in result.json()["findings"]}


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return build(tmp_path_factory.mktemp("attacks"))


@pytest.fixture
def server() -> Iterator[opa_standin.StandIn]:
    with opa_standin.running() as state:
        yield state


def test_self_review_under_another_spelling_fails_and_is_named(case: Case) -> None:
    result = check(case)
    assert result.code == 1, result.err
    got = findings(result)
    unreviewed = {subject for rule, subject in got if rule == "REVIEW-002"}
    assert unreviewed == {case.shas[label] for label in SELF_REVIEWS}
    message = {label: got[("REVIEW-002", case.shas[label])] for label in SELF_REVIEWS}
    assert message["name"].endswith(
        "other than its author (Reviewed-by: Dana Doe names nobody: a name, not an address)."
    )
    assert "(Reviewed-by: me names nobody: a name, not an address)" in message["me"]
    tag = "(Reviewed-by: Dana <dana+review@example.com> names its author)"
    assert tag in message["tag"]
    assert "(Reviewed-by: dana@example.com> names its author)" in message["bracket"]
    assert "(Approved-by: DANA@EXAMPLE.COM. names its author)" in message["case-and-dot"]
    # The invisible character is shown, escaped, and named.
    assert (
        "(Reviewed-by: dana\\u200b@example.com names nobody: it holds an invisible character, "
        "U+200B ZERO WIDTH SPACE)" in message["zero-width"]
    )
    assert "\u200b" not in result.out


def test_self_approval_under_another_spelling_fails_and_is_named(case: Case) -> None:
    got = findings(check(case))
    unapproved = {subject for rule, subject in got if rule == "REVIEW-001"}
    assert unapproved == {*SELF_APPROVALS, "D-deployer"}
    assert got[("REVIEW-001", "D-name")].endswith(
        "was not independently approved: the approval by Ops Person names nobody "
        "(a name, not an address)."
    )
    for name in ("D-dot", "D-comment", "D-tag"):
        by = SELF_APPROVALS[name]
        assert f"the approval by {by} is by its deployer." in got[("REVIEW-001", name)]
    assert (
        "its deployer Ops Person names nobody (a name, not an address), so no approval can be "
        "shown to come from someone else" in got[("REVIEW-001", "D-deployer")]
    )


def test_opa_decides_the_same(case: Case, server: opa_standin.StandIn) -> None:
    embedded = check(case)
    remote = check(case, "--engine", "opa", "--opa-url", server.url)
    assert remote.code == embedded.code == 1, remote.err
    assert remote.json()["findings"] == embedded.json()["findings"]


def test_a_key_of_identities_yaml_names_its_person(tmp_path: Path) -> None:
    """``Reviewed-by: lee`` counts when identities.yaml lists a person ``lee``: the key names
    exactly one listed person. ``Reviewed-by: dana`` on Dana's own commit names its author."""
    repo = ScriptedRepo(tmp_path / "repo")
    by_lee = repo.commit("a", {"a": "1"}, author=DEV, date=_date(1), trailers=("Reviewed-by: lee",))
    by_dana = repo.commit(
        "b", {"a": "2"}, author=DEV, date=_date(2), trailers=("Reviewed-by: dana",)
    )
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "identities.yaml", {"dana": ["dana@example.com"], "lee": ["lee@example.com"]}
    )
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment("D1", by_lee, "2024-03-01T09:00:00Z", approvals=[LEE]),
            deployment("D2", by_dana, "2024-03-02T09:00:00Z", approvals=[LEE]),
        ],
    )
    result = check_json(repo.path, evidence)
    assert result.code == 1, result.err
    got = findings(result)
    assert set(got) == {("REVIEW-002", by_dana)}
    assert "(Reviewed-by: dana names its author)" in got[("REVIEW-002", by_dana)]


@pytest.mark.parametrize("mailmap", ["<alice@example.com> <dana@example.com>", "<dana> <x@ex.com>"])
def test_a_mailmap_joining_two_people_leaves_no_key_apart(tmp_path: Path, mailmap: str) -> None:
    """.mailmap maps Dana's address to Alice's: her address then named Alice (the group's first
    person) while the key ``dana`` still named Dana. Or it maps an address to the bare word
    ``dana``, which then named that address, not Dana. Either way a deployment by ``dana``
    that dana@example.com approved, of her own commit reviewed as ``dana``, passed both
    rules."""
    repo = ScriptedRepo(tmp_path / "repo")
    root = repo.commit("mailmap", {".mailmap": mailmap + "\n"}, author=LEAD, date=_date(1),
                       trailers=("Reviewed-by: dana",))  # fmt: skip
    repo.commit(
        "x", {"x": "1"}, author="X <x@ex.com>", date=_date(2), trailers=("Reviewed-by: lee",)
    )
    own = repo.commit("own", {"a": "1"}, author=DEV, date=_date(3), trailers=("Reviewed-by: dana",))
    evidence = tmp_path / "evidence"
    people = {"alice": ["alice@example.com"], "dana": ["dana@example.com"], "lee": [LEAD]}
    write_yaml(evidence / "identities.yaml", people)
    record = deployment("D1", own, "2024-03-01T09:00:00Z", approvals=[])
    approval = {"by": "dana@example.com", "at": "2024-03-01T08:00:00Z"}
    write_yaml(evidence / "deploys.yaml", [{**record, "deployer": "dana", "approvals": [approval]}])
    result = check_json(repo.path, evidence, "--baseline", root)
    assert result.code == 1, result.err
    assert set(findings(result)) == {("REVIEW-001", "D1"), ("REVIEW-002", own)}


def test_an_old_address_mailmap_maps_to_the_author_is_the_author(tmp_path: Path) -> None:
    """Dana commits under an old address; .mailmap says it is hers. A review under her
    current address, or under the old one, is her own."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit(
        "mailmap",
        {".mailmap": "Dana Dev <dana@example.com> <dana@old.example>\n"},
        author=LEAD,
        date=_date(1),
        trailers=("Reviewed-by: dana@example.com",),
    )
    old = repo.commit(
        "by the old address",
        {"a": "1"},
        author="Dana Dev <dana@old.example>",
        date=_date(2),
        trailers=("Reviewed-by: Dana Dev <dana@example.com>",),
    )
    current = repo.commit(
        "reviewed by the old address",
        {"a": "2"},
        author=DEV,
        date=_date(3),
        trailers=("Reviewed-by: dana@old.example",),
    )
    evidence = tmp_path / "evidence"
    deploys = [deployment("D1", current, "2024-03-01T09:00:00Z", approvals=[LEE])]
    deploys[0]["approvals"] = [{"by": "Dana <dana@old.example>", "at": "2024-03-01T08:00:00Z"}]
    deploys[0]["deployer"] = "dana@example.com"
    write_yaml(evidence / "deploys.yaml", deploys)
    root = repo.git("rev-list", "--max-parents=0", "HEAD")
    result = check_json(repo.path, evidence, "--baseline", root)
    assert result.code == 1, result.err
    assert set(findings(result)) == {
        ("REVIEW-002", old),
        ("REVIEW-002", current),
        ("REVIEW-001", "D1"),
    }
    # Without the .mailmap the same history passes: it is the .mailmap that joins them.
    repo.commit("drop mailmap", {".mailmap": None}, author=LEAD, date=_date(4))
    unmapped = check_json(repo.path, evidence, "--baseline", root)
    assert findings(unmapped) == {}, unmapped.out


def test_a_separator_in_the_author_field_injects_no_reviewer(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    forged = "dana@example.com\x1f1700000000\x1f\x1eReviewed-by: lee@example.com"
    sha = repo.commit("unreviewed", {"a": "1"}, author=f"Dana <{forged}>", date=_date(1))
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "deploys.yaml", [deployment("D1", sha, "2024-03-01T09:00:00Z", approvals=[LEE])]
    )
    result = check_json(repo.path, evidence)
    assert result.code == 1, result.err
    got = findings(result)
    assert set(got) == {("REVIEW-002", sha)}
    assert (
        "its author's address names nobody: it holds an invisible character, U+001F"
        in got[("REVIEW-002", sha)]
    )
    assert "\x1f" not in result.out.replace("\\u001f", "")


@pytest.mark.parametrize("how", ["replace", "replace-graft", "graft-file"])
def test_history_rewritten_by_replace_or_grafts_is_not_believed(tmp_path: Path, how: str) -> None:
    """An unreviewed commit hidden by ``git replace --graft``, by a replacement that carries a
    review, or by ``.git/info/grafts``, is still judged as its objects record it."""
    repo = ScriptedRepo(tmp_path / "repo")
    review = (f"Reviewed-by: {LEAD}",)
    base = repo.commit("base", {"a": "0"}, author=DEV, date=_date(1), trailers=review)
    hidden = repo.commit("unreviewed", {"a": "1"}, author=DEV, date=_date(2))
    tip = repo.commit("tip", {"a": "2"}, author=DEV, date=_date(3), trailers=review)
    if how == "replace":  # the commit now reads as reviewed
        message = f"unreviewed\n\n{review[0]}"
        tree = f"{hidden}^{{tree}}"
        stand_in = repo.git(
            "commit-tree", tree, "-p", base, "-m", message, author=DEV, date=_date(2)
        )
        repo.git("replace", hidden, stand_in)
    elif how == "replace-graft":  # the commit is no longer in the tip's history
        repo.git("replace", "--graft", tip, base)
    else:
        (repo.path / ".git" / "info" / "grafts").write_text(f"{tip} {base}\n")
    # As plain git shows it now, every commit of the tip's history is reviewed.
    shown = repo.git("log", "--format=%(trailers:key=Reviewed-by,valueonly)%x00", tip)
    assert all(entry.strip() for entry in shown.split("\0")[:-1]), shown
    evidence = tmp_path / "evidence"
    deploys: list[dict[str, Any]] = [
        deployment("D1", base, "2024-03-01T09:00:00Z", approvals=[LEE]),
        deployment("D2", tip, "2024-03-02T09:00:00Z", approvals=[LEE]),
    ]
    write_yaml(evidence / "deploys.yaml", deploys)
    result = check_json(repo.path, evidence)
    assert result.code == 1, result.err
    assert set(findings(result)) == {("REVIEW-002", hidden)}


def _late_review_case(
    tmp_path: Path, deploys: list[tuple[str, str, str]], at: str
) -> tuple[ScriptedRepo, Path, str, str]:
    """A reviewed ``base`` and an unreviewed ``change`` on top, deployed as ``deploys`` says
    (id, ``base`` or ``change``, service: each a day apart from 2 March, 09:00), and a review
    record whose one approval of ``change`` is given ``at``: (repo, evidence, base, change)."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    shas = {"base": repo.commit("base", {"a": "0"}, author=DEV, date=_date(1), trailers=reviewed)}
    shas["change"] = repo.commit("change", {"a": "1"}, author=DEV, date=_date(1))
    evidence = tmp_path / "evidence"
    records = [
        deployment(i, shas[which], f"2024-03-0{2 + n}T09:00:00Z", approvals=[LEE], service=service)
        for n, (i, which, service) in enumerate(deploys)
    ]
    write_yaml(evidence / "deploys.yaml", records)
    approval = {"by": "lee@example.com", "at": at}
    write_yaml(
        evidence / "reviews.yaml",
        [{"change": 7, "author": "dana@example.com", "commits": [shas["change"]],
          "approvals": [approval]}],
    )  # fmt: skip
    return repo, evidence, shas["base"], shas["change"]


@pytest.mark.parametrize(
    ("at", "counts"),
    [
        ("2024-03-02T08:59:59Z", True),
        ("2024-03-02T09:00:00Z", False),  # the instant the first deployment started
        ("2024-03-20T10:00:00Z", False),
        ("2099-01-01T00:00:00Z", False),
    ],
)
def test_an_approval_given_once_the_commit_was_in_production_does_not_count(
    tmp_path: Path, at: str, counts: bool
) -> None:
    """A review record can be written, or exported, after the fact: an approval given at or
    after the start of the first deployment that shipped a commit (the second shipped it
    again) does not review it, however it is dated (it passed REVIEW-002 before)."""
    deploys = [("D1", "change", "web"), ("D2", "change", "api")]
    repo, evidence, base, change = _late_review_case(tmp_path, deploys, at)
    result = check_json(repo.path, evidence, "--baseline", base, "--as-of", "2024-03-31")
    got = findings(result)
    if counts:
        assert result.code == 0, (result.err, got)
        return
    assert result.code == 1, result.err
    message = got[("REVIEW-002", change)]
    assert f"given at {at}, once the commit was in production (deployment D1 started at" in message


def test_an_approval_given_today_counts_at_the_gate(tmp_path: Path) -> None:
    """The gate's candidate has not been deployed: an approval given on the as-of date (after
    the midnight the candidate's record starts at) reviews the commit it is about to ship."""
    deploys = [("D1", "base", "web")]
    repo, evidence, _, _ = _late_review_case(tmp_path, deploys, "2024-03-05T10:00:00Z")
    gate = ["--candidate", "main", "--service", "web", "--with-reviews", "--as-of", "2024-03-05"]
    result = check_json(repo.path, evidence, *gate)
    assert result.code == 0, (result.err, findings(result))
    (evidence / "reviews.yaml").unlink()  # without the record, the change is unreviewed
    assert check_json(repo.path, evidence, *gate).code == 1


@pytest.mark.parametrize(
    ("at", "why"),
    [
        ("2024-03-05T23:59:59Z", ""),  # the last second of the as-of date counts
        ("2024-03-06T00:00:00Z", "after the gate's as-of date (2024-03-05)"),
        ("2031-01-01T00:00:00Z", "after the gate's as-of date (2024-03-05)"),
    ],
)
def test_an_approval_dated_after_the_as_of_date_does_not_count_at_the_gate(
    tmp_path: Path, at: str, why: str
) -> None:
    """The gate judges its candidate as of the end of its as-of date: an approval dated after
    it had not been given then (it passed the gate, while the check that records the same
    deployment on that date fails it). So at the merge gate, of a branch main has not merged."""
    deploys = [("D1", "base", "web")]
    repo, evidence, base, change = _late_review_case(tmp_path, deploys, at)
    deploy = ["--candidate", "main", "--service", "web", "--with-reviews"]
    merge = ["--candidate", change, "--service", "web", "--stage", "merge", "--with-reviews"]
    for stage, gate in (("deploy", deploy), ("merge", merge)):
        if stage == "merge":
            repo.git("branch", "feature", change)
            repo.git("reset", "--quiet", "--hard", base)
        result = check_json(repo.path, evidence, *gate, "--as-of", "2024-03-05")
        if not why:
            assert result.code == 0, (stage, result.err, findings(result))
            continue
        assert result.code == 1, (stage, result.err)
        message = findings(result)[("REVIEW-002", change)]
        assert f"approval by lee@example.com in review 7 did not count: given at {at}, {why}" in (
            message
        )


def test_at_the_gate_a_later_record_of_another_stream_does_not_move_its_moment(
    tmp_path: Path,
) -> None:
    """``api`` shipped the change after the as-of date (D2, 3 March 09:00); the approval came
    in between. As of 2 March it had not been given: the later record's start does not stand
    in for the gate's moment."""
    deploys = [("D1", "base", "web"), ("D2", "change", "api")]
    repo, evidence, _, change = _late_review_case(tmp_path, deploys, "2024-03-03T08:00:00Z")
    gate = ["--candidate", "main", "--service", "web", "--with-reviews", "--as-of", "2024-03-02"]
    result = check_json(repo.path, evidence, *gate)
    assert result.code == 1, result.err
    message = findings(result)[("REVIEW-002", change)]
    assert "given at 2024-03-03T08:00:00Z, after the gate's as-of date (2024-03-02)" in message


def test_an_approval_dated_in_the_future_does_not_count_at_the_gate(tmp_path: Path) -> None:
    """An approval dated after the moment the gate runs has not been given; one given earlier
    today has. (A gate's as-of date is not after today, so the moment is now.)"""
    deploys = [("D1", "base", "web")]
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    repo, evidence, _, change = _late_review_case(
        tmp_path, deploys, earlier.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    gate = ["--candidate", "main", "--service", "web", "--with-reviews"]
    result = check_json(repo.path, evidence, *gate)  # as of today
    assert result.code == 0, (result.err, findings(result))
    repo, evidence, _, change = _late_review_case(
        tmp_path / "later", deploys, "2999-06-01T00:00:00Z"
    )
    result = check_json(repo.path, evidence, *gate)
    assert result.code == 1, result.err
    message = findings(result)[("REVIEW-002", change)]
    assert "did not count: given at 2999-06-01T00:00:00Z, in the future" in message


def test_a_recorded_deployment_named_candidate_is_a_deployment(tmp_path: Path) -> None:
    """Only a gate's own candidate is passed over as not yet deployed: a recorded deployment
    whose id is ``candidate`` still came first, and an approval after it does not count."""
    deploys = [("candidate", "change", "web")]
    repo, evidence, base, change = _late_review_case(tmp_path, deploys, "2024-03-20T10:00:00Z")
    result = check_json(repo.path, evidence, "--baseline", base, "--as-of", "2024-03-31")
    assert result.code == 1, result.err
    assert "once the commit was in production" in findings(result)[("REVIEW-002", change)]


def test_at_the_merge_gate_an_approval_after_a_recorded_deployment_does_not_count(
    tmp_path: Path,
) -> None:
    """The change was deployed from its branch (D2) before anyone approved it; the merge gate
    asks about it later. The gate computes only its candidate's range, so no recorded
    deployment was taken as the first to ship the commit, and the late approval counted."""
    deploys = [("D1", "base", "web"), ("D2", "change", "web")]
    repo, evidence, base, change = _late_review_case(tmp_path, deploys, "2024-03-20T10:00:00Z")
    repo.git("branch", "feature", change)
    repo.git("reset", "--quiet", "--hard", base)  # main has not merged it
    gate = ["--candidate", change, "--service", "web", "--stage", "merge", "--with-reviews"]
    result = check_json(repo.path, evidence, *gate, "--as-of", "2024-03-31")
    assert result.code == 1, result.err
    message = findings(result)[("REVIEW-002", change)]
    assert "once the commit was in production (deployment D2 started at" in message


def test_at_the_merge_gate_a_late_approval_below_the_branch_tip_does_not_count(
    tmp_path: Path,
) -> None:
    """Two commits on a branch, deployed from it (D2) before the first was approved; the second
    is reviewed. The gate's question, which of the candidate's commits a recorded deployment
    already shipped, stopped its walk at the second commit's parent, the first itself: the
    first's late approval counted and the merge gate passed."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    base = repo.commit("base", {"a": "0"}, author=DEV, date=_date(1), trailers=reviewed)
    first = repo.commit("first", {"a": "1"}, author=DEV, date=_date(1))
    second = repo.commit("second", {"a": "2"}, author=DEV, date=_date(1), trailers=reviewed)
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment("D1", base, "2024-03-02T09:00:00Z", approvals=[LEE]),
            deployment("D2", second, "2024-03-03T09:00:00Z", approvals=[LEE]),
        ],
    )
    late = {"by": "lee@example.com", "at": "2024-03-20T10:00:00Z"}
    write_yaml(
        evidence / "reviews.yaml",
        [{"change": 7, "author": "dana@example.com", "commits": [first], "approvals": [late]}],
    )
    repo.git("branch", "feature", second)
    repo.git("reset", "--quiet", "--hard", base)  # main has not merged it
    gate = ["--candidate", second, "--service", "web", "--stage", "merge", "--with-reviews"]
    result = check_json(repo.path, evidence, *gate, "--as-of", "2024-03-31")
    assert result.code == 1, result.err
    assert set(findings(result)) == {("REVIEW-002", first)}
    assert (
        "once the commit was in production (deployment D2"
        in findings(result)[("REVIEW-002", first)]
    )


def test_at_the_deploy_gate_another_services_earlier_deployment_makes_an_approval_late(
    tmp_path: Path,
) -> None:
    """``api`` runs the unreviewed change since 3 March; it was approved on the 20th, and
    ``web`` asks the gate on the 31st. The gate read only web's records, so the approval
    counted and the gate passed while the full check fails web's deployment of it."""
    deploys = [("D1", "base", "web"), ("D2", "change", "api")]
    repo, evidence, _, change = _late_review_case(tmp_path, deploys, "2024-03-20T10:00:00Z")
    gate = ["--candidate", "main", "--service", "web", "--with-reviews", "--as-of", "2024-03-31"]
    result = check_json(repo.path, evidence, *gate)
    assert result.code == 1, result.err
    message = findings(result)[("REVIEW-002", change)]
    assert "once the commit was in production (deployment D2 started at" in message
    early = {"by": "lee@example.com", "at": "2024-03-03T08:00:00Z"}  # before D2 started
    write_yaml(
        evidence / "reviews.yaml",
        [{"change": 7, "author": "dana@example.com", "commits": [change], "approvals": [early]}],
    )
    assert check_json(repo.path, evidence, *gate).code == 0


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("started_at", "2024-03-03 09:00", "has no time zone"),
        ("commit", "main", "not a sha"),
        ("commit", "f" * 40, "does not resolve in the repository"),
        ("id", None, "id null cannot be read"),
    ],
)
def test_at_a_gate_another_streams_record_it_cannot_read_stops_it(
    tmp_path: Path, field: str, value: str | None, said: str
) -> None:
    """A gate does not judge other streams' records, but reads when each shipped what: one
    whose commit or start it cannot read might have shipped the candidate's commits first."""
    deploys = [("D1", "base", "web"), ("D2", "change", "api")]
    repo, evidence, _, _ = _late_review_case(tmp_path, deploys, "2024-03-02T08:00:00Z")
    records = yaml.safe_load((evidence / "deploys.yaml").read_text())
    records[1][field] = value
    write_yaml(evidence / "deploys.yaml", records)
    gate = ["--candidate", "main", "--service", "web", "--with-reviews", "--as-of", "2024-03-31"]
    result = check_json(repo.path, evidence, *gate)
    assert result.code == 2, (result.err, result.out)
    assert said in result.err
    assert "deploys.yaml:" in result.err and "of another service" in result.err
    assert "Traceback" not in result.err


FOLDED_COAUTHOR = {
    "one continuation line": "Co-authored-by:\n Lee Lead <lee@example.com>",
    "several": "Co-authored-by:\n  Lee\n  Lead\n  <lee@example.com>",
    "tab-indented": "Co-authored-by:\n\tLee Lead <lee@example.com>",
}


@pytest.mark.parametrize("trailer", FOLDED_COAUTHOR.values(), ids=list(FOLDED_COAUTHOR))
def test_a_co_author_folded_over_lines_is_still_a_co_author(tmp_path: Path, trailer: str) -> None:
    """Once: ``Co-authored-by:`` with Lee on the line below hid him (git's trailer parser
    reads him as co-author): his own ``Reviewed-by:`` counted as a second person, and so did
    his approval in a review record, a signed pass. A folded ``Reviewed-by:`` of someone else
    still counts."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {DEV}",)
    base = repo.commit("base", {"a": "0"}, author=LEAD, date=_date(1), trailers=reviewed)
    own_line = repo.commit(
        "pair-programmed change", {"a": "1"}, author=DEV, date=_date(2),
        trailers=(trailer, "Reviewed-by: lee@example.com"),
    )  # fmt: skip
    unfolded = "--format=%(trailers:key=Co-authored-by,valueonly,unfold)"
    assert repo.git("log", "-1", unfolded) == "Lee Lead <lee@example.com>"
    approved = repo.commit(
        "pair-programmed again", {"a": "2"}, author=DEV, date=_date(3),
        trailers=(trailer, "", "Signed-off-by: dana@example.com"),
    )  # fmt: skip
    by_kim = repo.commit(
        "pair-programmed, reviewed by Kim", {"a": "3"}, author=DEV, date=_date(4),
        trailers=(trailer, "Reviewed-by:\n Kim <kim@example.com>"),
    )  # fmt: skip
    evidence = tmp_path / "evidence"
    kim = [{"by": "kim@example.com", "at": "2024-03-01T08:00:00Z"}]
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", by_kim, "2024-03-01T09:00:00Z", approvals=kim)],
    )
    write_yaml(
        evidence / "reviews.yaml",
        [{"change": 17, "author": "dana@example.com", "commits": [approved],
          "approvals": [{"by": "lee@example.com", "at": _date(3), "commit": approved}]}],
    )  # fmt: skip
    result = check_json(repo.path, evidence, "--baseline", base)
    assert result.code == 1, result.err
    got = findings(result)
    assert set(got) == {("REVIEW-002", own_line), ("REVIEW-002", approved)}
    assert (
        "(Reviewed-by: lee@example.com did not count: by a co-author of the commit "
        "(Co-authored-by))" in got[("REVIEW-002", own_line)]
    )
    assert (
        "(approval by lee@example.com in review 17 did not count: by an author, co-author or "
        "committer of one of the change's commits)" in got[("REVIEW-002", approved)]
    )


ACTIONS = "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
"""GitHub Actions' own identity, as GitHub writes it on a workflow's commits."""


def test_a_github_apps_address_is_a_bot(tmp_path: Path) -> None:
    """A GitHub App's no-reply address without its tag is ``41898282@users.noreply.github.com``,
    a well-formed address: a workflow the team triggers "approved" its deployment and
    "reviewed" Dana's commit, and both rules passed. The App's own commit, reviewed by Lee,
    still passes: a bot may write a commit, never be the second person."""
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit("base", {"a": "0"}, author=LEAD, date=_date(1))
    by_app = repo.commit(
        "by a workflow", {"a": "1"}, author=DEV, date=_date(2),
        trailers=(f"Reviewed-by: {ACTIONS}",),
    )  # fmt: skip
    app_commit = repo.commit(
        "bump", {"b": "1"}, author=ACTIONS, date=_date(3), trailers=(f"Reviewed-by: {LEAD}",)
    )
    evidence = tmp_path / "evidence"
    app = {"by": ACTIONS.split("<")[1].rstrip(">"), "at": "2024-03-01T08:00:00Z"}
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", app_commit, "2024-03-01T09:00:00Z", approvals=[app])],
    )
    result = check_json(repo.path, evidence, "--baseline", base)
    assert result.code == 1, result.err
    got = findings(result)
    assert set(got) == {("REVIEW-001", "D1"), ("REVIEW-002", by_app)}
    assert f"the approval by {app['by']} is by a bot." in got[("REVIEW-001", "D1")]
    assert f"(Reviewed-by: {ACTIONS} is by a bot)" in got[("REVIEW-002", by_app)]


@pytest.mark.parametrize(
    ("bots", "code"),
    [
        ("['Renovate Bot']", 2),  # its display name: matched nothing, and the bot counted
        ("['renovate @example.com']", 2),
        ("['renov\u0430te@example.com']", 2),  # a Cyrillic a
        ("['renovate@example.com']", 1),
        ("[renovate-bot, renovate@example.com]", 1),  # a login, for the importers
    ],
)
def test_a_review_bot_that_can_match_nothing_is_an_input_error(
    tmp_path: Path, bots: str, code: int
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    config = {"knightwatch.yaml": f"review_bots: {bots}\n"}
    base = repo.commit("base", config, author=LEAD, date=_date(1))
    sha = repo.commit(
        "bump", {"a": "1"}, author=DEV, date=_date(2),
        trailers=("Reviewed-by: Renovate Bot <renovate@example.com>",),
    )  # fmt: skip
    evidence = tmp_path / "evidence"
    bot = {"by": "renovate@example.com", "at": "2024-03-01T08:00:00Z"}
    write_yaml(
        evidence / "deploys.yaml", [deployment("D1", sha, "2024-03-01T09:00:00Z", approvals=[bot])]
    )
    result = check_json(repo.path, evidence, "--baseline", base)
    assert result.code == code, result.err
    if code == 2:
        assert "review_bots (knightwatch.yaml or --config): " in result.err
        assert "nor is it a login" in result.err
        assert result.out == ""
    else:
        assert set(findings(result)) == {("REVIEW-001", "D1"), ("REVIEW-002", sha)}


@pytest.mark.parametrize(
    ("author", "reviewer"),
    [
        ("dana@users.noreply.github.com", "4242+dana@users.noreply.github.com"),
        ("4242+Dana@users.noreply.github.com", "dana@users.noreply.github.com"),
    ],
)
def test_one_github_account_under_both_its_no_reply_forms_is_one_person(
    tmp_path: Path, author: str, reviewer: str
) -> None:
    """GitHub writes one account's no-reply address as ``LOGIN@`` and (accounts since 2017) as
    ``ID+LOGIN@``. With the ``+`` part dropped as a tag, ``4242+dana@`` was ``4242@``, another
    address than ``dana@``: Dana's own Reviewed-by under the other form counted (exit 0)."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "change", {"a": "1"}, author=f"Dana <{author}>", date=_date(2),
        trailers=(f"Reviewed-by: Dana <{reviewer}>",),
    )  # fmt: skip
    write_yaml(tmp_path / "ev" / "deploys.yaml", [deployment("D1", sha, _date(3), approvals=[LEE])])
    result = check_json(repo.path, tmp_path / "ev")
    assert result.code == 1, result.err
    assert (
        f"(Reviewed-by: Dana <{reviewer}> names its author)"
        in findings(result)[("REVIEW-002", sha)]
    )


def test_a_value_naming_two_people_is_neither_of_them(tmp_path: Path) -> None:
    """A value was read as its last address: a co-author line naming Sam and then Kim named
    Kim alone, so Sam's approval of the change he co-wrote counted; a deployer written
    ``Ops <ops@...>, Lee <lee@...>`` (two people, from an export that joins them) was Lee, so
    Ops's own approval counted. Both passed (exit 0). Sam now co-authored it, and the
    deployer names nobody; Pat's approval, a third person's, still counts."""
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit(
        "base", {"a": "0"}, author=LEAD, date=_date(1), trailers=(f"Reviewed-by: {DEV}",)
    )
    pair = "Co-authored-by: Sam <sam@example.com>, Kim <kim@example.com>"
    by_sam = repo.commit("pair one", {"a": "1"}, author=DEV, date=_date(2), trailers=(pair,))
    by_pat = repo.commit("pair two", {"a": "2"}, author=DEV, date=_date(3), trailers=(pair,))
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "reviews.yaml",
        [{"change": 1, "author": "dana@example.com", "commits": [by_sam],
          "approvals": [{"by": "sam@example.com", "at": _date(2)}]},
         {"change": 2, "author": "dana@example.com", "commits": [by_pat],
          "approvals": [{"by": "pat@example.com", "at": _date(3)}]}],
    )  # fmt: skip
    ops = {"by": "ops@example.com", "at": "2024-03-01T08:00:00Z"}
    two = "Ops <ops@example.com>, Lee <lee@example.com>"
    write_yaml(
        evidence / "deploys.yaml",
        [deployment("D1", by_pat, "2024-03-01T09:00:00Z", approvals=[ops], deployer=two)],
    )
    result = check_json(repo.path, evidence, "--baseline", base)
    assert result.code == 1, result.err
    got = findings(result)
    assert set(got) == {("REVIEW-001", "D1"), ("REVIEW-002", by_sam)}
    assert (
        "(approval by sam@example.com in review 1 did not count: by an author, co-author or "
        "committer of one of the change's commits)" in got[("REVIEW-002", by_sam)]
    )
    assert (
        f"its deployer {two} names nobody (it holds more than one address: ops@example.com, "
        "lee@example.com)" in got[("REVIEW-001", "D1")]
    )


def test_an_approval_older_than_the_deployed_commit_does_not_count(tmp_path: Path) -> None:
    """A sign-off copied forward from last month's deployment, or dated a year wrong, is
    dated before the commit it would approve was written: it approved something else, and
    REVIEW-001 passed on it. A day of clock skew is allowed, as for a deployment's start."""
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit(
        "base",
        {"a": "0"},
        author=DEV,
        date="2024-01-02T10:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    tip = repo.commit(
        "tip",
        {"a": "1"},
        author=DEV,
        date="2024-02-02T10:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    january = {"by": "lee@example.com", "at": "2024-01-10T08:00:00Z"}
    typo = {"by": "lee@example.com", "at": "2014-02-09T08:00:00Z"}
    skewed = {"by": "lee@example.com", "at": "2024-02-01T11:00:00Z"}
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment("D1", base, "2024-01-10T09:00:00Z", approvals=[january]),
            deployment("D2", tip, "2024-02-10T09:00:00Z", approvals=[january]),
            deployment("D3", tip, "2024-02-11T09:00:00Z", approvals=[typo]),
            deployment("D4", tip, "2024-02-12T09:00:00Z", approvals=[skewed]),
        ],
    )
    result = check_json(repo.path, evidence)
    assert result.code == 1, result.err
    got = findings(result)
    assert {subject for rule, subject in got if rule == "REVIEW-001"} == {"D2", "D3"}
    assert got[("REVIEW-001", "D2")].endswith(
        "was not independently approved: the approval by lee@example.com came more than a day "
        f"before its commit {tip[:12]} was written."
    )


def test_an_approval_older_than_new_code_under_an_old_date_does_not_count(
    tmp_path: Path,
) -> None:
    """``git commit --amend``, a rebase or a cherry-pick keeps a commit's author date on new
    code; a commit's dates can be set by hand. January's sign-off, copied forward, passed
    February's deployment of a commit amended on 2 February (author date 2 January), and of
    one dated 3 January on top of Lee's commit of 1 February. The commit is written no
    earlier than it was committed, nor than any commit it ships."""
    repo = ScriptedRepo(tmp_path / "repo")
    reviewed = (f"Reviewed-by: {LEAD}",)
    old = "2024-01-02T10:00:00Z"
    base = repo.commit("base", {"a": "0"}, author=DEV, date=old, trailers=reviewed)
    amended = repo.commit(
        "amended", {"a": "1"}, author=DEV, date=old, trailers=reviewed,
        committer=(DEV, "2024-02-02T10:00:00Z"),
    )  # fmt: skip
    repo.commit("lee's", {"b": "1"}, author=LEAD, date="2024-02-01T10:00:00Z",
        trailers=(f"Reviewed-by: {DEV}",))  # fmt: skip
    forged = repo.commit("forged", {"a": "2"}, author=DEV, date="2024-01-03T10:00:00Z",
        trailers=reviewed)  # fmt: skip
    january = {"by": "lee@example.com", "at": "2024-01-10T08:00:00Z"}
    february = {"by": "lee@example.com", "at": "2024-02-05T08:00:00Z"}
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment("D1", base, "2024-01-10T09:00:00Z", approvals=[january]),
            deployment("D2", amended, "2024-02-10T09:00:00Z", approvals=[january]),
            deployment("D3", forged, "2024-02-11T09:00:00Z", approvals=[january]),
            deployment("D4", forged, "2024-02-12T09:00:00Z", approvals=[february]),
        ],
    )
    result = check_json(repo.path, evidence)
    assert result.code == 1, result.err
    got = findings(result)
    assert {subject for rule, subject in got if rule == "REVIEW-001"} == {"D2", "D3"}
    assert got[("REVIEW-001", "D3")].endswith(
        "was not independently approved: the approval by lee@example.com came more than a day "
        f"before its commit {forged[:12]} was written."
    )
