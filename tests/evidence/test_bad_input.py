"""Every user mistake: exit 2, one message naming the file and line, no traceback, no output."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, run_cli, write_yaml

ONE = "990d0c815b000f05945b816234db898895308741"
"""The one commit of each test's repository (fixed author and date, so a fixed sha)."""

GOOD = f"""\
- id: D1
  service: web
  environment: production
  commit: {ONE}
  started_at: 2024-02-01T09:00:00Z
  deployer: ops@example.com
  targets:
    - {{host: web-1, status: succeeded}}
"""


def _deploys(text: str, name: str = "deploys.yaml") -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / name).write_text(text)

    return setup


def _extra(name: str, text: str) -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        (evidence / name).write_text(text)

    return setup


def _config(text: str) -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        (repo / "knightwatch.yaml").write_text(text)

    return setup


def _config_entry(how: str) -> Callable[[Path, Path], None]:
    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        if how == "directory":
            (repo / "knightwatch.yaml").mkdir()
        else:
            (repo / "knightwatch.yaml").symlink_to(repo / "gone.yaml")

    return setup


JSONL_GOOD = json.dumps(
    {
        "id": "D1",
        "service": "web",
        "environment": "production",
        "commit": ONE,
        "started_at": "2024-02-01T09:00:00Z",
        "deployer": "ops@example.com",
    }
)


def _files(**files: str) -> Callable[[Path, Path], None]:
    """The good deployment and these evidence files (``name=text``; dots as ``__``, a leading
    dot as ``_``)."""

    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        for name, text in files.items():
            path = evidence / name.replace("__", ".").replace("_", ".", name.startswith("_"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    return setup


def _not_a_file(make: Callable[[Path], object]) -> Callable[[Path, Path], None]:
    """The good deployment, and observations.jsonl as ``make`` makes it."""

    def setup(repo: Path, evidence: Path) -> None:
        (evidence / "deploys.yaml").write_text(GOOD)
        make(evidence / "observations.jsonl")

    return setup


FLEET = "services:\n  web:\n    hosts: [web-1, web-2]\n"
SECOND = GOOD.replace("id: D1", "id: D2").replace("2024-02-01", "2024-02-02")
EVENT = (
    "- {flag: f, service: web, environment: production, enabled: true,"
    " at: 2024-02-03T00:00:00Z, by: ops@example.com}\n"
)
SEEN = (
    '{"host": "web-1", "service": "web", "version": "' + ONE + '", '
    '"observed_at": "2024-02-02T00:00:00Z"}\n'
)

# Mistakes that would otherwise end in a wrong pass: a record that does not join the others,
# a file under a name nobody reads, an empty file, a waiver that can never match.
FAIL_CLOSED = [
    (
        # A reader sees one line with a comment; YAML 1.1 ends the comment at U+2028 and reads
        # a second target that succeeded.
        "yaml-line-break-a-reader-cannot-see",
        _files(
            fleet__yaml=FLEET,
            deploys__yaml=GOOD.replace("service: web", "service: web  # see INC-7\u2028 "),
        ),
        ["deploys.yaml:2:", "holds U+2028, which YAML reads as a line break"],
    ),
    (
        "yaml-next-line-character",
        _files(fleet__yaml=FLEET.replace("web-2]", "web-2]  # spare\u0085")),
        ["fleet.yaml:3:", "holds U+0085"],
    ),
    (
        "yaml-carriage-return-alone",
        _files(fleet__yaml=FLEET.replace("\n  web:", "\r  web:")),
        ["fleet.yaml:1:", "holds a carriage return alone"],
    ),
    (
        "deployment-service-not-in-fleet",
        _files(fleet__yaml=FLEET, deploys__yaml=GOOD.replace("service: web", "service: web_prod")),
        ["deploys.yaml:1:", "service 'web_prod' is not in fleet.yaml (did you mean 'web'?)"],
    ),
    (
        "misspelt-environment-among-deployments",
        _files(
            deploys__yaml=GOOD
            + SECOND
            + GOOD.replace("id: D1", "id: D3").replace("production", "prodcution")
        ),
        ["deploys.yaml:17:", "environment 'prodcution' is used once, and 'production' by 2"],
    ),
    (
        "deployment-environment-not-declared",
        _files(fleet__yaml=FLEET + "environments: [prod, staging]\n"),
        ["deploys.yaml:1:", "environment 'production' is not in fleet.yaml's environments"],
    ),
    (
        "flag-event-environment-unknown",
        _files(flag_events__yaml=EVENT.replace("environment: production", "environment: prod")),
        [
            "flag_events.yaml:1:",
            "environment 'prod' is not an environment any deployment names",
            "(did you mean 'production'?)",
        ],
    ),
    (
        "flag-event-service-unknown",
        _files(fleet__yaml=FLEET, flag_events__yaml=EVENT.replace("service: web", "service: wbe")),
        ["flag_events.yaml:1:", "service 'wbe' is not in the inventory", "did you mean 'web'?"],
    ),
    (
        "observation-host-not-in-fleet",
        _files(fleet__yaml=FLEET, observations__jsonl=SEEN.replace("web-1", "web-01")),
        ["observations.jsonl:1:", "host 'web-01' is not a host of web in fleet.yaml"],
    ),
    (
        "observation-service-unknown",
        _files(observations__jsonl=SEEN.replace('"service": "web"', '"service": "webs"')),
        ["observations.jsonl:1:", "service 'webs' is not in the inventory", "'web'"],
    ),
    (
        "finished-before-started",
        _files(deploys__yaml=GOOD + "  finished_at: 2024-02-01T08:00:00Z\n"),
        ["deploys.yaml:1:", "finished_at '2024-02-01T08:00:00Z' is before started_at"],
    ),
    (
        # a year typo: FLEET-002's window would start after every observation
        "finished-in-the-future",
        _files(deploys__yaml=GOOD + SECOND + "  finished_at: 2042-02-02T09:10:00Z\n"),
        ["deploys.yaml:9:", "deployment D2: finished_at '2042-02-02T09:10:00Z' is in the future"],
    ),
    (
        "target-finished-in-the-future",
        _files(
            deploys__yaml=GOOD.replace(
                "status: succeeded}", "status: succeeded, finished_at: 2042-02-01T09:10:00Z}"
            )
        ),
        [
            "deploys.yaml:1:",
            "deployment D1: target 'web-1' finished_at '2042-02-01T09:10:00Z' is in the future",
        ],
    ),
    (
        "misspelt-status",
        _deploys(GOOD.replace("succeeded", "sucess")),
        ["deploys.yaml:8:", "got 'sucess'", "(did you mean 'succeeded'?)"],
    ),
    (
        "misspelt-key",
        _deploys(GOOD.replace(f"commit: {ONE}", f"sha: {ONE}")),
        ["deploys.yaml:4:", "unknown field 'sha'", "'commit'"],
    ),
    (
        "observations-as-json",
        _files(observations__json=SEEN),
        ["observations.json: observations.json is not read", "observations.jsonl"],
    ),
    (
        # Hidden, the observation of a host on old code was passed over and the run passed.
        "hidden-observations",
        _files(fleet__yaml=FLEET, **{"_observations.jsonl": SEEN}),
        [
            ".observations.jsonl: .observations.jsonl is not read: observation evidence is "
            "read from observations.jsonl",
            "(a hidden file named for evidence is refused, not passed over)",
        ],
    ),
    (
        "hidden-deploys-beside-deploys",
        _files(**{"_Deploys.jsonl": JSONL_GOOD}),
        [".Deploys.jsonl is not read", "and deploys.yaml is here already", "hidden"],
    ),
    (
        "hidden-directory-named-for-evidence",
        _files(**{"_flag_events/part-0.yaml": EVENT}),
        [".flag_events: a directory in the evidence directory is not read", "flag event"],
    ),
    (
        "directory-named-as-an-evidence-file",
        _files(**{"observations.jsonl/part-0.jsonl": SEEN}),
        [
            "observations.jsonl: a directory in the evidence directory is not read: "
            "observations.jsonl is named for observation evidence",
        ],
    ),
    (
        "near-miss-file-name",
        _files(deploy__yaml=GOOD),
        ["deploy.yaml: deploy.yaml is not an evidence file", "did you mean 'deploys'?"],
    ),
    (
        "config-in-the-evidence-directory",
        _files(knightwatch__yml="require_all: true\n"),
        ["knightwatch.yml is not read here", "repository root"],
    ),
    (
        "registry-in-the-evidence-directory",
        _files(flags__yaml="flags: []\n"),
        ["flags.yaml is not read here", "repository's history"],
    ),
    (
        "unknown-file",
        _files(notes__txt="hello\n"),
        ["notes.txt is not an evidence file knightwatch reads", "deploys"],
    ),
    (
        "a-subdirectory",
        lambda r, e: [_deploys(GOOD)(r, e), (e / "archive").mkdir()],
        ["archive: a directory in the evidence directory is not read"],
    ),
    (
        "misnamed-config-at-the-root",
        lambda r, e: [_deploys(GOOD)(r, e), (r / "knightwatch.yml").write_text("fail_on: low\n")],
        ["knightwatch.yml is not read: the options file is knightwatch.yaml"],
    ),
    ("empty-deploys", _deploys(""), ["deploys.yaml: deploys file is empty"]),
    (
        "comments-only-deploys",
        _deploys("# exported 2024-02-01\n---\n"),
        ["deploys.yaml: deploys file is empty"],
    ),
    ("empty-jsonl", _deploys("\n\n", "deploys.jsonl"), ["deploys.jsonl: deploys file is empty"]),
    ("empty-fleet", _files(fleet__yaml=""), ["fleet.yaml: fleet file is empty"]),
    (
        "environments-differing-only-in-case",
        _files(deploys__yaml=GOOD + SECOND.replace("production", "Production")),
        ["deploys.yaml:9:", "environment 'Production' is used once, and 'production' by 1"],
    ),
    (
        "environment-named-otherwise-on-the-same-host",
        _files(deploys__yaml=GOOD + SECOND.replace("production", "prod")),
        ["deploys.yaml:9:", "targets 'web-1', which deployment D1 of web reaches in 'production'"],
    ),
    (
        "target-host-in-another-case",
        _files(deploys__yaml=GOOD.replace("host: web-1", "host: WEB-1"), fleet__yaml=FLEET),
        ["deploys.yaml:1:", "target 'WEB-1' is not a host of web in fleet.yaml (did you mean"],
    ),
    (
        "target-host-as-an-absolute-name",
        _deploys(GOOD + "    - {host: 'web-1.', status: failed}\n"),
        [
            "deploys.yaml:1:",
            "host 'web-1.' is listed twice in targets (as 'web-1' and as 'web-1.')",
        ],
    ),
    (
        "target-host-in-fullwidth-letters",
        _deploys(GOOD + "    - {host: '\uff57\uff45\uff42-1', status: failed}\n"),
        ["deploys.yaml:1:", "is listed twice in targets (as 'web-1' and as"],
    ),
    (
        "target-host-by-its-domain-name",
        _files(
            deploys__yaml=GOOD.replace("host: web-1", "host: web-1.prod.example.com"),
            fleet__yaml=FLEET,
        ),
        ["deploys.yaml:1:", "target 'web-1.prod.example.com' is not a host of web", "'web-1'?"],
    ),
    (
        "target-host-with-a-soft-hyphen",
        _deploys(GOOD + "    - {host: 'web\u00ad-1', status: failed}\n"),
        ["deploys.yaml:1:", "is listed twice in targets (as 'web-1' and as"],
    ),
    (
        "target-host-short-for-the-inventorys-domain-name",
        _files(
            deploys__yaml=GOOD,
            fleet__yaml="services:\n  web:\n    hosts: [web-1.prod.example.com]\n",
        ),
        ["deploys.yaml:1:", "target 'web-1' is not a host of web", "'web-1.prod.example.com'?"],
    ),
    (
        "target-host-twice-in-two-cases",
        _deploys(GOOD + "    - {host: WEB-1, status: failed}\n"),
        ["deploys.yaml:1:", "host 'WEB-1' is listed twice in targets (as 'web-1' and as 'WEB-1')"],
    ),
    (
        "config-that-is-a-directory",
        _config_entry("directory"),
        ["knightwatch.yaml: knightwatch.yaml is not a file"],
    ),
    (
        "config-that-links-to-nothing",
        _config_entry("dangling link"),
        ["knightwatch.yaml: knightwatch.yaml is a link that leads to no file"],
    ),
    (
        "yes-as-a-key",
        _deploys(GOOD + "  yes: 1\n"),
        ["deploys.yaml:9:", "unknown field 'True' (a key written yes, no, on, off"],
    ),
    (
        "environment-with-trailing-space",
        _deploys(GOOD.replace("environment: production", "environment: 'production '")),
        ["deploys.yaml:3:", "'production ' has white space at its start or end"],
    ),
    (
        "service-without-hosts",
        _files(fleet__yaml="services:\n  web:\n    hosts: []\n"),
        ["fleet.yaml:3:", "services.web: a service lists at least one host or cluster"],
    ),
    (
        # An inventory of no services (an export that found none) would make every
        # deployment's service one "outside the inventory": the fleet rules judge nothing.
        "fleet-without-services",
        _files(fleet__yaml="services: {}\n"),
        ["fleet.yaml:1:", "services: fleet.yaml lists at least one service"],
    ),
    (
        "config-in-another-case",
        lambda r, e: [
            _deploys(GOOD)(r, e),
            (r / "Knightwatch.yaml").write_text("require_all: true\n"),
        ],
        ["Knightwatch.yaml is not read: the options file is knightwatch.yaml"],
    ),
    (
        "second-deploys-file-in-another-case",
        _files(Deploys__YAML=GOOD),
        ["Deploys.YAML is not read", "and deploys.yaml is here already"],
    ),
    (
        "readme-that-is-data",
        _files(README__yaml=GOOD),
        ["README.yaml is not an evidence file"],
    ),
    (
        "timestamp-before-1970",
        _deploys(GOOD.replace("2024-02-01T09:00:00Z", "1969-12-31T23:00:00Z")),
        ["deploys.yaml:5:", "is before 1970"],
    ),
    (
        "waiver-with-an-uppercase-sha",
        _files(
            waivers__yaml="- {rule: REVIEW-002, subject: '" + "3F9C2E1A" * 5 + "', reason: r, "
            "approved_by: c@x.io, expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "commit shas are lowercase"],
    ),
    (
        "waiver-with-an-unpaired-bracket",
        _files(
            waivers__yaml="- {rule: DEAD-002, subject: '[abc', reason: r, approved_by: c@x.io, "
            "expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "[ and ] do not pair up"],
    ),
    (
        "registry-path-climbing-out",
        _config("flags_file: ../flags.yaml\n"),
        ["knightwatch.yaml:1:", "is not a path inside the repository"],
    ),
    (
        "waiver-for-an-unknown-rule",
        _files(
            waivers__yaml="- {rule: REVIEW-01, subject: D1, reason: r, approved_by: c@x.io, "
            "expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "rule 'REVIEW-01' is no rule's id (did you mean 'REVIEW-001'?)"],
    ),
    (
        "waiver-with-a-short-sha",
        _files(
            waivers__yaml="- {rule: REVIEW-002, subject: 3f9c2e1, reason: r, approved_by: c@x.io, "
            "expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "full 40-character commit shas", "a shorter start (3f9c2e1*)"],
    ),
    (
        "waiver-of-a-commit-by-its-short-sha",  # 28 bits: an author grinds a commit to fit
        _files(
            waivers__yaml="- {rule: REVIEW-002, subject: '3f9c2e1*', reason: r, "
            "approved_by: c@x.io, expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "it must name its commit by its full sha", "in seconds"],
    ),
    (
        "waiver-of-commits-by-a-short-start",
        _files(
            waivers__yaml="- {rule: REVIEW-002, subject: '3f9c*', reason: r, approved_by: c@x.io, "
            "expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "it must name its commit by its full sha"],
    ),
    (
        "waiver-of-commits-by-a-class",
        _files(
            waivers__yaml="- {rule: DEAD-006, subject: '[0-9a-f]3f9c2e1*', reason: r, "
            "approved_by: c@x.io, expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "it must name its commit by its full sha"],
    ),
    (
        "waiver-of-the-wrong-shape",
        _files(
            waivers__yaml="- {rule: FLEET-001, subject: web-2, reason: r, approved_by: c@x.io, "
            "expires: 2024-12-01}\n"
        ),
        ["waivers.yaml:1:", "subjects of this rule look like DEPLOYMENT:HOST"],
    ),
]

# (id, setup, the text the one message must contain)
CASES = [
    (
        "zoneless-timestamp",
        _deploys(GOOD.replace("09:00:00Z", "09:00:00")),
        ["deploys.yaml:5:", "started_at", "no time zone"],
    ),
    (
        "unknown-field",
        _deploys(GOOD + "  aprovals: []\n"),
        ["deploys.yaml:9:", "aprovals", "unknown field"],
    ),
    (
        "bad-status",
        _deploys(GOOD.replace("succeeded", "done")),
        [
            "deploys.yaml:8:",
            "targets.0.status",
            "got 'done'; expected one of succeeded, failed, skipped, unreachable",
        ],
    ),
    (
        "unknown-field-in-a-target",
        _deploys(GOOD.replace("status: succeeded", "status: succeeded, rack: r1")),
        ["deploys.yaml:8:", "targets.0.rack", "unknown field"],
    ),
    (
        "host-not-a-string",
        _deploys(GOOD.replace("host: web-1", "host: 7")),
        ["deploys.yaml:8:", "targets.0.host", "expected text, got 7 (a number); quote it"],
    ),
    (
        "missing-field",
        _deploys(GOOD.replace("  deployer: ops@example.com\n", "")),
        ["deploys.yaml:1:", "deployer: required field missing"],
    ),
    (
        "duplicate-id",
        _deploys(GOOD + GOOD),
        ["deploys.yaml:9:", "duplicate deployment id 'D1'", "deploys.yaml:1"],
    ),
    (
        "unresolvable-commit",
        _deploys(GOOD.replace(f"commit: {ONE}", "commit: deadbeef")),
        ["deploys.yaml:1:", "deployment D1", "'deadbeef' does not resolve"],
    ),
    (
        "branch-as-commit",
        _deploys(GOOD.replace(f"commit: {ONE}", "commit: main")),
        [
            "deploys.yaml:1:",
            "deployment D1",
            f"'main' is a ref (a branch or tag), not a sha "
            f"(it points at {ONE} now); record the full commit sha",
        ],
    ),
    (
        "relative-commit",
        _deploys(GOOD.replace(f"commit: {ONE}", "commit: HEAD~0")),
        ["deploys.yaml:1:", "'HEAD~0' is a relative revision", "record the full commit sha"],
    ),
    (
        "observed-ref",
        _extra(
            "observations.jsonl",
            '{"host": "web-1", "service": "web", "version": "HEAD", '
            '"observed_at": "2024-02-01T10:00:00Z"}\n',
        ),
        ["observations.jsonl:1:", "observation of web-1: version 'HEAD' is HEAD, not a sha"],
    ),
    (
        "review-commit-ref",
        _extra(
            "reviews.yaml",
            "- change: 7\n  author: a@x.example\n  commits: ['main@{0}']\n  approvals: []\n",
        ),
        ["reviews.yaml:1:", "review 7: commit 'main@{0}' is a reflog entry, not a sha"],
    ),
    (
        # An export saved before an approval was dismissed, left beside the one saved after.
        "review-recorded-twice",
        _extra(
            "reviews.yaml",
            f"- {{change: 7, author: a@x.example, commits: [{ONE}], approvals: "
            "[{by: b@x.example, at: '2024-02-01T08:00:00Z'}]}\n"
            f"- {{change: 7, author: a@x.example, commits: [{ONE}]}}\n",
        ),
        ["reviews.yaml:2:", "change '7' is recorded twice: first at reviews.yaml:1"],
    ),
    (
        # YAML 1.1 reads 0007 as octal 7 and 0010 as 8: taken as "8", change 0010 was
        # another change than '0010' beside it, and the stale record's approval counted.
        "review-change-a-number-yaml-reads-otherwise",
        _extra(
            "reviews.yaml",
            f"- {{change: 0010, author: a@x.example, commits: [{ONE}], approvals: "
            "[{by: b@x.example, at: '2024-02-01T08:00:00Z'}]}\n"
            f"- {{change: '0010', author: a@x.example, commits: [{ONE}]}}\n",
        ),
        [
            "reviews.yaml:1:",
            "review #1: change: 0010 is read by YAML as the number 8, not as the name written;"
            " quote it: '0010'",
        ],
    ),
    (
        "review-change-in-base-60",
        _extra(
            "reviews.yaml",
            f"- &first\n  change: 1:30\n  author: a@x.example\n  commits: [{ONE}]\n",
        ),
        ["reviews.yaml:2:", "change: 1:30 is read by YAML as the number 90"],
    ),
    (
        "imported-review-recorded-twice-in-another-case",
        _extra(
            "reviews.jsonl",
            f'{{"change": "Org/Shop#7", "author": "a", "commits": ["{ONE}"], '
            '"source": "github-reviews"}\n'
            f'{{"change": "org/shop#7", "author": "a", "commits": ["{ONE}"], '
            '"source": "github-reviews"}\n',
        ),
        ["reviews.jsonl:2:", "'org/shop#7' is recorded twice", "(as 'Org/Shop#7')"],
    ),
    (
        # An import beside a hand-merged copy of the same change: one names its source, one
        # does not, and the withdrawn approval came back.
        "review-recorded-twice-by-an-import-and-by-hand",
        _extra(
            "reviews.jsonl",
            f'{{"change": "Org/Shop#7", "author": "a", "commits": ["{ONE}"], '
            '"approvals": [{"by": "b@x.example", "at": "2024-02-01T08:00:00Z"}]}\n'
            f'{{"change": "org/shop#7", "author": "a", "commits": ["{ONE}"], '
            '"source": "github-reviews"}\n',
        ),
        ["reviews.jsonl:2:", "'org/shop#7' is recorded twice", "(as 'Org/Shop#7')"],
    ),
    (
        "review-recorded-twice-with-white-space",
        _extra(
            "reviews.yaml",
            f"- {{change: PR-7, author: a@x.example, commits: [{ONE}], approvals: "
            "[{by: b@x.example, at: '2024-02-01T08:00:00Z'}]}\n"
            f"- {{change: 'pr-7 ', author: a@x.example, commits: [{ONE}]}}\n",
        ),
        ["reviews.yaml:2:", "change 'pr-7 ' is recorded twice", "(as 'PR-7')"],
    ),
    (
        # An import of a pull request saved without its base.repo names it #7.
        "pull-request-recorded-bare-and-named",
        _extra(
            "reviews.jsonl",
            f'{{"change": "#7", "author": "a", "commits": ["{ONE}"], '
            '"source": "github-reviews"}\n'
            f'{{"change": "org/shop#7", "author": "a", "commits": ["{ONE}"], '
            '"source": "github-reviews"}\n',
        ),
        ["reviews.jsonl:2:", "'org/shop#7' is recorded twice", "(as '#7')"],
    ),
    (
        "pull-request-recorded-named-and-bare",
        _extra(
            "reviews.jsonl",
            f'{{"change": "org/shop#7", "author": "a", "commits": ["{ONE}"]}}\n'
            f'{{"change": "#7", "author": "a", "commits": ["{ONE}"]}}\n',
        ),
        ["reviews.jsonl:2:", "'#7' is recorded twice", "(as 'org/shop#7')"],
    ),
    (
        # An import of a GitLab merge request saved without its references names it !7.
        "merge-request-recorded-bare-and-named",
        _extra(
            "reviews.jsonl",
            f'{{"change": "!7", "author": "a", "commits": ["{ONE}"]}}\n'
            f'{{"change": "group/sub/app!7", "author": "a", "commits": ["{ONE}"]}}\n',
        ),
        ["reviews.jsonl:2:", "'group/sub/app!7' is recorded twice", "(as '!7')"],
    ),
    ("invalid-yaml", _deploys(GOOD + "- id: [unclosed\n"), ["deploys.yaml:", "invalid YAML"]),
    (
        "duplicate-key",
        _deploys(GOOD + "  deployer: other@example.com\n"),
        ["deploys.yaml:9:", "duplicate key 'deployer'"],
    ),
    ("not-a-list", _deploys("id: D1\n"), ["deploys.yaml:1:", "expected a list"]),
    (
        "record-not-mapping",
        _deploys("- just a string\n"),
        ["deploys.yaml:1:", "expected a mapping"],
    ),
    (
        "integer-commit",
        _deploys(GOOD.replace(f"commit: {ONE}", "commit: 1234567")),
        ["deploys.yaml:4:", "commit: expected text, got 1234567 (a number); quote it"],
    ),
    (
        "jsonl-bad-json",
        _deploys(f"{JSONL_GOOD}\n\n{{oops\n", "deploys.jsonl"),
        ["deploys.jsonl:3:", "invalid JSON"],
    ),
    (
        "jsonl-unknown-field",
        _deploys(JSONL_GOOD[:-1] + ', "extra": 1}\n', "deploys.jsonl"),
        ["deploys.jsonl:1:", "extra", "unknown field"],
    ),
    (
        "jsonl-duplicate-id",
        _deploys(f"{JSONL_GOOD}\n{JSONL_GOOD}\n", "deploys.jsonl"),
        ["deploys.jsonl:2:", "duplicate deployment id"],
    ),
    (
        "two-deploys-files",
        lambda r, e: [_deploys(GOOD)(r, e), _deploys(JSONL_GOOD, "deploys.jsonl")(r, e)],
        ["more than one deploys file", "deploys.yaml, deploys.jsonl"],
    ),
    ("no-deploys-file", lambda r, e: None, ["required evidence file missing", "deploys.yaml"]),
    (
        "review-zoneless",
        _extra(
            "reviews.yaml",
            f"- change: 1\n  author: a@x\n  commits: [{ONE}]\n  approvals:\n"
            "    - {by: b@x, at: '2024-01-01 10:00'}\n",
        ),
        ["reviews.yaml:5:", "approvals.0.at", "no time zone"],
    ),
    (
        "identity-two-owners",
        _extra("identities.yaml", "ann: [a@x]\nbob: [A@X]\n"),
        ["identities.yaml", "'A@X' is listed for both 'ann' and 'bob'"],
    ),
    (
        "waiver-bad-date",
        _extra(
            "waivers.yaml",
            "- {rule: REVIEW-001, subject: D1, reason: r, approved_by: c@x.io,"
            " expires: 2024-13-01}\n",
        ),
        ["waivers.yaml:1:", "expires", "not a valid date"],
    ),
    (
        "fleet-bad-shape",
        _extra("fleet.yaml", "services:\n  web:\n    hosts: web-1\n"),
        ["fleet.yaml:3:", "services.web.hosts"],
    ),
    (
        "observation-zoneless",
        _extra(
            "observations.jsonl",
            '{"host": "h", "service": "web", "version": "' + ONE + '", '
            '"observed_at": "2024-01-01T00:00:00"}\n',
        ),
        ["observations.jsonl:1:", "observed_at", "no time zone"],
    ),
    (
        "config-unknown-option",
        _config("protected_branch: main\nbasline: abc\n"),
        ["knightwatch.yaml:2:", "basline", "unknown field"],
    ),
    (
        "config-missing-branch",
        _config("protected_branch: release\n"),
        ["protected branch 'release' not found"],
    ),
    (
        "config-bad-baseline",
        _config("baseline: nosuchref\n"),
        ["baseline 'nosuchref' does not resolve"],
    ),
    (
        "yaml-nested-450-flow",
        _extra("fleet.yaml", "services: " + "[" * 450 + "]" * 450 + "\n"),
        ["fleet.yaml:1:", "nested more than 100 levels deep"],
    ),
    (
        "yaml-nested-450-block",
        _extra("fleet.yaml", "".join(f"{'  ' * n}k:\n" for n in range(450)) + "  " * 450 + "v\n"),
        ["fleet.yaml:101:", "nested more than 100 levels deep"],
    ),
    (
        "yaml-nested-450-with-an-anchor",
        _extra("fleet.yaml", "a: &x 1\nb: " + "[" * 450 + "]" * 450 + "\n"),
        ["fleet.yaml:", "nested too deeply"],
    ),
    (
        "yaml-5000-digit-integer",
        _deploys(GOOD + "  change_ticket: " + "7" * 5000 + "\n"),
        ["deploys.yaml:9:", "a number of 5000 digits"],
    ),
    (
        "yaml-5000-digit-integer-with-an-anchor",
        _deploys(GOOD.replace("id: D1", "id: &d D1") + "  change_ticket: " + "7" * 5000 + "\n"),
        ["deploys.yaml:1:", "5000 digits"],
    ),
    (
        "config-5000-digit-integer",
        _config("observation_grace_seconds: " + "9" * 5000 + "\n"),
        ["knightwatch.yaml:1:", "a number of 5000 digits"],
    ),
    (
        "config-nested-450",
        _config("reference_exclude: " + "[" * 450 + "]" * 450 + "\n"),
        ["knightwatch.yaml:1:", "nested more than 100 levels deep"],
    ),
    (
        "jsonl-nested-5000",
        _deploys(JSONL_GOOD + "\n" + '{"a": ' * 5000 + "1" + "}" * 5000 + "\n", "deploys.jsonl"),
        ["deploys.jsonl:2:", "invalid JSON: nested too deeply"],
    ),
    (
        "jsonl-5000-digit-integer",
        _deploys(JSONL_GOOD[:-1] + ', "change_ticket": ' + "7" * 5000 + "}\n", "deploys.jsonl"),
        ["deploys.jsonl:1:", "a number of 5000 digits"],
    ),
    (
        "jsonl-nan",
        _deploys(JSONL_GOOD[:-1] + ', "change_ticket": NaN}\n', "deploys.jsonl"),
        ["deploys.jsonl:1:", "NaN is not a JSON number"],
    ),
    (
        "jsonl-half-a-surrogate-pair",
        _deploys(JSONL_GOOD.replace('"D1"', '"D1\\ud800"') + "\n", "deploys.jsonl"),
        ["deploys.jsonl:1:", "half a surrogate pair"],
    ),
    (
        "yaml-null",  # what jq writes for a key that is not there: not "no records"
        _deploys("~\n"),
        ["deploys.yaml:1:", "expected a list of records at the top level, got null"],
    ),
    (
        "jsonl-ideographic-space",  # white space to Python, not to JSON: no blank line
        _deploys("\u3000\n", "deploys.jsonl"),
        ["deploys.jsonl:1:", "invalid JSON"],
    ),
    (
        "not-utf8",
        lambda r, e: (e / "deploys.yaml").write_bytes(b"- id: \xff\n"),
        ["deploys.yaml:", "not UTF-8"],
    ),
    # An evidence file that is not a file: it was said to be "not read, and is here already",
    # naming itself as the file read in its place.
    (
        "evidence-file-a-link-to-nothing",
        _not_a_file(lambda path: path.symlink_to(path.parent / "gone.jsonl")),
        ["observations.jsonl: observations.jsonl is not a file: a link that leads nowhere"],
    ),
    (
        "evidence-file-a-pipe",
        _not_a_file(lambda path: os.mkfifo(path)),
        ["observations.jsonl: observations.jsonl is not a file"],
    ),
    (
        "evidence-file-a-device",
        _not_a_file(lambda path: path.symlink_to(os.devnull)),
        ["observations.jsonl: observations.jsonl is not a file"],
    ),
]


@pytest.mark.parametrize(
    ("setup", "needles"),
    [c[1:] for c in CASES + FAIL_CLOSED],
    ids=[c[0] for c in CASES + FAIL_CLOSED],
)
def test_bad_evidence_exits_2_with_one_clear_message(
    tmp_path: Path, setup: Callable[[Path, Path], None], needles: list[str]
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    setup(repo.path, evidence)
    out = tmp_path / "report.json"
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "-o", out)
    assert result.code == 2, result.err
    assert result.err.startswith("knightwatch: error: ")
    assert "Traceback" not in result.err
    first_line = result.err.splitlines()[0]
    for needle in needles:
        assert needle in first_line, first_line
    assert len([line for line in result.err.splitlines() if "error:" in line]) == 1
    assert not out.exists()
    assert result.out == ""
    for internal in (
        "instance of",
        "constrained-",
        "Input should",
        "Field required",
        "Extra inputs",
    ):
        assert internal not in result.err


def test_shallow_clone_is_refused_with_advice(tmp_path: Path) -> None:
    origin = ScriptedRepo(tmp_path / "origin")
    for n in range(3):
        origin.commit(f"c{n}", {"a": f"{n}\n"}, author=DEV, date=f"2024-01-0{n + 1}T00:00:00Z")
    clone = tmp_path / "clone"
    origin.git("clone", "--quiet", "--depth", "1", f"file://{origin.path}", str(clone))
    write_yaml(tmp_path / "ev" / "deploys.yaml", [])
    result = run_cli("check", "--repo", clone, "--evidence", tmp_path / "ev")
    assert result.code == 2
    assert "shallow clone" in result.err
    assert "fetch-depth: 0" in result.err and "git fetch --unshallow" in result.err


def test_not_a_repository(tmp_path: Path) -> None:
    result = run_cli("check", "--repo", tmp_path, "--evidence", tmp_path)
    assert result.code == 2
    assert f"{tmp_path}: not a git repository" in result.err


def test_missing_evidence_directory(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    result = run_cli("check", "--repo", repo.path)
    assert result.code == 2
    assert "compliance: evidence directory not found" in result.err


def test_a_file_given_as_the_evidence_directory_is_named_as_a_file(tmp_path: Path) -> None:
    """`--evidence compliance/deploys.yaml` was "evidence directory not found", though the path
    is there: the file meant is named, and the directory to give instead."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    deploys = tmp_path / "ev" / "deploys.yaml"
    deploys.parent.mkdir()
    deploys.write_text(GOOD)
    result = run_cli("check", "--repo", repo.path, "--evidence", deploys)
    assert result.code == 2
    assert result.err == (
        f"knightwatch: error: {deploys}: is a file, not an evidence directory\n"
        f"  hint: pass the directory that holds it: --evidence {deploys.parent}\n"
    )


def test_a_file_given_as_the_repository_is_refused(tmp_path: Path) -> None:
    """`--repo app.py` judged the repository around the file, and passed: a file is not the
    repository's directory, and which repository holds it is not what the user named."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    (repo.path / "compliance").mkdir()
    (repo.path / "compliance" / "deploys.yaml").write_text("[]\n")
    assert run_cli("check", "--repo", repo.path).code == 0
    result = run_cli("check", "--repo", repo.path / "a")
    assert result.code == 2
    assert result.err.startswith(f"knightwatch: error: {repo.path / 'a'}: is a file, not a repo")
    assert f"--repo {repo.path}" in result.err


def test_output_directory_missing(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    write_yaml(tmp_path / "ev" / "deploys.yaml", [])
    out = tmp_path / "nowhere" / "r.json"
    result = run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "-o", out)
    assert result.code == 2
    assert "does not exist" in result.err
    assert not out.parent.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--format", "pdf"],
        ["check", "--fail-on", "severe"],
        ["check", "--as-of", "yesterday"],
        ["audit", "--config", "auditor.yaml", "--config", "lax.yaml"],  # the first dropped
        ["frobnicate"],
        [],
        ["policy"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.code == 2
    assert result.err.startswith("knightwatch: error: ")
    assert "Traceback" not in result.err
    if len(argv) > 2 and argv.count(argv[-2]) == 2:
        assert f"{argv[-2]} given twice: it takes one value" in result.err


def test_pull_requests_of_two_repositories_are_two_changes(tmp_path: Path) -> None:
    """``a/x#7`` and ``b/y#7`` are two pull requests; ``#7`` beside either is one of them.
    ``a/x!7`` is a merge request, another change."""
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    records = "".join(
        f'{{"change": "{name}", "author": "a", "commits": ["{ONE}"]}}\n'
        for name in ("a/x#7", "b/y#7", "b/y#77", "a/x!7")
    )
    _extra("reviews.jsonl", records)(repo.path, evidence)
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence)
    assert result.code in (0, 1) and "recorded twice" not in result.err, result.err
