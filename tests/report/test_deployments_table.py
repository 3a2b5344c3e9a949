"""The printed report's deployments table at scale: every deployment while there are at most
``FOLD_DEPLOYMENTS_ABOVE``; past that, every one a finding (waived too) or a partly judged
rule names, and the rest folded by service and environment, never one left unaccounted."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from checker.facts.population import Deployed
from checker.report import RENDERERS
from checker.report.deployments import FOLD_DEPLOYMENTS_ABOVE, named, shown
from checker.report.model import FOLD_ABOVE, Finding, Report, RuleStatus
from tests.bench.generate import generate
from tests.conftest import run_cli
from tests.report.storm import AS_OF, SMALL_STORM
from tests.report.test_renderers import make_report

SHA = "c8023101345c039ce8d0dd334f6f80a8b7641c0e"


def deployed(ident: str, started_at: str, service: str = "shop", env: str = "prod") -> Deployed:
    return Deployed(ident, service, env, SHA, "main", started_at, None, (SHA, SHA[::-1]))


def population(count: int) -> tuple[Deployed, ...]:
    """``count`` deployments of two streams, one a minute from 2024-06-01T00:00:00Z."""
    return tuple(
        deployed(f"D{n:05d}", f"2024-06-01T{n // 60 % 24:02d}:{n % 60:02d}:00Z",
                 env="prod" if n % 2 else "stage")
        for n in range(count)
    )  # fmt: skip


def review(subject: str, message: str, waived: bool = False) -> Finding:
    return Finding("REVIEW-001", "high", subject, message, ("SOX",), "Approved", waived)


def report(deployments: tuple[Deployed, ...], *findings: Finding) -> Report:
    return replace(make_report(*findings), population=deployments)


def rows(html: str) -> list[str]:
    table = html.split("<h2>Deployments judged</h2>")[1].split("</table>")[0]
    return re.findall(r"<tr><td>.*?</tr>", table)


def test_up_to_the_threshold_every_deployment_is_a_row() -> None:
    every = population(FOLD_DEPLOYMENTS_ABOVE)
    html = RENDERERS["html"].render(report(every))
    assert len(rows(html)) == FOLD_DEPLOYMENTS_ABOVE
    assert "folded" not in html


def test_past_it_only_what_a_finding_names_is_listed() -> None:
    every = population(10_000)
    findings = (
        review("D00007", "Deployment D00007 of shop was not approved."),
        review("carol@example.com", "Commit 1a2b by carol was shipped by D00042 unreviewed."),
        review("D00099:smars/power_peg.py", "Retired code is present.", waived=True),
        review("D00100", "Deployment D00100.", waived=True),
    )
    html = RENDERERS["html"].render(report(every, *findings))
    listed = [r for r in rows(html) if "not listed" not in r]
    assert [re.search(r">(D\d{5})<", r).group(1) for r in listed] == [  # type: ignore[union-attr]
        "D00007", "D00042", "D00099", "D00100"
    ]  # fmt: skip
    folded = [r for r in rows(html) if "not listed" in r]
    assert len(folded) == 2  # shop / prod and shop / stage
    prod = next(r for r in folded if "shop / prod" in r)
    # 5,000 odd-numbered deployments, two of them listed (D00007, D00099); 2 commits each.
    assert "4,998 deployments, not listed" in prod and "<td>9,996</td>" in prod
    assert '>2024-06-01T00:01:00Z</span> to <span class="mono nw">2024-06-01T23:59:00Z<' in prod
    assert "10,000 deployments were judged" in html and "The other 9,996 are folded" in html
    assert len(html) < 60_000


def test_a_cause_folded_into_one_entry_lists_its_deployments_itself() -> None:
    """A findings storm names every deployment through causes of thousands of instances: their
    deployments are folded (the cause's entry lists its subjects), and the table stays a page;
    a finding shown in full still keeps its deployment a row."""
    every = population(FOLD_DEPLOYMENTS_ABOVE * 2)
    storm = [
        Finding("DEAD-001", "high", f"{d.id}:flag_x", f"Deployment {d.id} ships flag_x.",
                ("SOX",), "Retired flag", cause="flag_x", statement="flag_x is referenced")
        for d in every
    ]  # fmt: skip
    alone = review("D00007", "Deployment D00007 was not approved.")
    page = RENDERERS["html"].render(report(every, *storm, alone))
    listed = [r for r in rows(page) if "not listed" not in r]
    assert len(listed) == 1 and "D00007" in listed[0]
    assert "flag_x: 400 instances" in page
    folded = re.findall(r"<i>([\d,]+) deployments, not listed</i>", page)
    assert sum(int(n.replace(",", "")) for n in folded) == len(every) - 1


def test_a_partly_judged_rules_reason_keeps_its_deployments() -> None:
    every = population(FOLD_DEPLOYMENTS_ABOVE + 1)
    reason = "no flag registry at 1 of 201 deployed commits: D00150 (c80231)"
    partial = RuleStatus("DEAD-001", "Flags", "high", (), True, partial=True, reason=reason)
    unjudged = replace(make_report(), rules=(partial,), population=every)
    listed, folded = shown(unjudged)
    assert [d.id for d in listed] == ["D00150"]
    assert sum(f.count for f in folded) == FOLD_DEPLOYMENTS_ABOVE


@pytest.mark.parametrize(
    ("ident", "text"),
    [
        ("deploy 7", "Deployment deploy 7 of shop was not approved."),
        ("eu:42", "Deployment eu:42 of shop was not approved."),
        ("release/2024-06", "Shipped by release/2024-06 unreviewed."),
        ("v1.", "Deployment v1. was not approved."),
        ("D-1", "Deployment D-1, of shop (not approved)."),
    ],
)
def test_an_id_is_found_however_the_text_around_it_reads(ident: str, text: str) -> None:
    every = (*population(5), deployed(ident, "2024-06-02T00:00:00Z"))
    assert named(report(every, review("x", text)), {d.id for d in every}) == {ident}


def test_an_id_inside_another_word_is_not_a_mention() -> None:
    """D00001 named does not keep D0000 or D000010: a folded line never hides a deployment a
    finding names, and a listed one is listed for a reason."""
    every = (deployed("D0000", "2024-06-01T00:00:00Z"), deployed("D00001", "2024-06-01T00:01:00Z"))
    found = named(report(every, review("D00001", "Deployment D00001.")), {d.id for d in every})
    assert found == {"D00001"}


def test_first_and_last_are_by_instant_not_by_text() -> None:
    every = (
        *population(FOLD_DEPLOYMENTS_ABOVE),
        deployed("late", "2024-06-30T23:00:00-05:00", env="dr"),  # 2024-07-01T04:00Z
        deployed("early", "2024-07-01T01:00:00+00:00", env="dr"),
    )
    _, folded = shown(report(every))
    dr = next(f for f in folded if f.environment == "dr")
    assert (dr.first, dr.last, dr.count) == ("2024-07-01T01:00:00+00:00",
                                             "2024-06-30T23:00:00-05:00", 2)  # fmt: skip


def test_folded_text_from_evidence_is_escaped() -> None:
    hostile = deployed("x", "2024-06-02T00:00:00Z", service="<script>alert(1)</script>")
    every = (*population(FOLD_DEPLOYMENTS_ABOVE), hostile)
    html = RENDERERS["html"].render(report(every))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; / prod" in html


def test_a_month_of_the_generated_organisation_end_to_end(tmp_path: Path) -> None:
    """240 deployments of the bench's generator (a real repository, the real engine): every
    deployment a finding or a partly judged rule names is a row, the others are counted in a
    folded line of their service, and the JSON report judges the same."""
    org = generate(tmp_path, dataclasses.replace(SMALL_STORM, storm=False, deployments=240,
                                                 registry_every=50))  # fmt: skip
    argv = ("check", "--repo", org / "repo", "--evidence", org / "evidence", "--as-of", AS_OF)
    html = run_cli(*argv, "--format", "html")
    judged = json.loads(run_cli(*argv, "--format", "json").out)
    assert html.code == 1 and judged["summary"]["deployments"] == 240
    ids = [
        json.loads(line)["id"] for line in (org / "evidence/deploys.jsonl").read_text().splitlines()
    ]
    in_full = {(g["rule"], s) for g in judged["groups"] if g["count"] <= FOLD_ABOVE
               for s in g["subjects"]}  # fmt: skip
    shown_in_full = [f for f in judged["findings"] if (f["rule"], f["subject"]) in in_full]
    texts = [t for f in shown_in_full for t in (f["subject"], f["message"])]
    texts += [r["reason"] for r in judged["summary"]["rules"] if "reason" in r]
    mentioned = {i for i in ids if any(re.search(rf"\b{re.escape(i)}\b", t) for t in texts)}
    listed = {re.search(r'"mono nw">([^<]+)<', r).group(1) for r in rows(html.out)  # type: ignore[union-attr]
              if "not listed" not in r}  # fmt: skip
    assert listed == mentioned and 0 < len(listed) < 120
    # A deployment named only by a cause folded into one entry is among that cause's
    # subjects on the page, not a row of its own.
    folded_subjects = [s for g in judged["groups"] if g["count"] > FOLD_ABOVE
                       for s in g["subjects"]]  # fmt: skip
    only_folded = {
        i for i in ids if i not in mentioned
        and any(re.search(rf"\b{re.escape(i)}\b", s) for s in folded_subjects)
    }  # fmt: skip
    assert not only_folded & listed
    counts = re.findall(
        r"<i>([\d,]+) deployments, not listed</i></td><td>(\w+) / production", html.out
    )
    assert {service for _, service in counts} == {"svc00", "svc01"}
    assert sum(int(n.replace(",", "")) for n, _ in counts) == 240 - len(listed)
