"""Every format says which protected branch tip REVIEW-003 judged the deployed commits
against: its name, the commit and the ref read. The JSON report recorded it and ``verify``
printed it, but the text, Markdown, SARIF and OSCAL reports did not: an auditor reading the
Markdown could not see which tip was judged. Where REVIEW-003 fails against a
remote-tracking ref, the reports say the ref is only as new as the clone's last fetch."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path

import jsonschema
import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml
from tests.report.oscal_schema import schema_errors

REVIEWED = (f"Reviewed-by: {LEAD}",)
SARIF_SCHEMA = Path(os.environ.get("KNIGHTWATCH_SARIF_SCHEMA", ".venv/schemas/sarif-2.1.0.json"))
REF = "refs/remotes/origin/main"
FETCH = "'git fetch origin' refreshes the ref"


@dataclass
class Stale:
    """A clone that fetched the forge's ``main`` at ``base``, and the commit deployed later,
    ``main2`` (merged on the forge's main since), through a pipeline's own ref alone: its
    ``origin/main`` is behind the forge's."""

    forge: ScriptedRepo
    clone: ScriptedRepo
    evidence: Path
    base: str
    main2: str

    def check(self, fmt: str, *extra: str) -> tuple[int, str]:
        result = run_cli(
            "check", "--repo", self.clone.path, "--evidence", self.evidence,
            "--as-of", "2024-04-01", "--format", fmt, *extra,
        )  # fmt: skip
        assert result.code in (0, 1), result.err
        return result.code, result.out


@pytest.fixture
def stale(tmp_path: Path) -> Stale:
    forge = ScriptedRepo(tmp_path / "forge")
    base = forge.commit("base", {"app.py": "0\n"}, author=DEV, date="2024-02-01T09:00:00Z",
                        trailers=REVIEWED)  # fmt: skip
    clone = ScriptedRepo(tmp_path / "ci")
    clone.git("remote", "add", "origin", str(forge.path))
    clone.git("fetch", "--quiet", "--no-tags", "origin")
    main2 = forge.commit("main2", {"app.py": "1\n"}, author=DEV, date="2024-03-05T09:00:00Z",
                         trailers=REVIEWED)  # fmt: skip
    clone.git("fetch", "--quiet", "--no-tags", "origin", f"+{main2}:refs/pipelines/9")
    clone.git("checkout", "--quiet", "--detach", main2)
    evidence = tmp_path / "ev"
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    deployed = deployment(
        "D1", main2, "2024-03-06T23:00:00Z", approvals=[{"by": "lee@example.com"}]
    )
    write_yaml(evidence / "deploys.yaml", [deployed])
    return Stale(forge, clone, evidence, base, main2)


def test_every_format_names_the_branch_tip_judged_and_how_to_refresh_it(stale: Stale) -> None:
    """The deployed commit is on the forge's main, not on the clone's stale ``origin/main``:
    REVIEW-003 failed saying only that the commit is not reachable from ``main``, a false
    failure that sent users to waive the rule. The reports name the ref read, its tip, and
    the fetch that refreshes it."""
    code, text = stale.check("text")
    assert code == 1
    assert f"Protected branch: main at {stale.base} (read from {REF})" in text
    assert f"against {REF} as this clone last fetched it ({stale.base[:12]})" in text
    assert FETCH in text
    code, markdown = stale.check("markdown")
    assert f"- Protected branch: main at `{stale.base}` (read from {REF})" in markdown
    assert FETCH in markdown
    run = json.loads(stale.check("sarif")[1])["runs"][0]
    assert run["versionControlProvenance"][1] == {
        "repositoryUri": "file:.",
        "revisionId": stale.base,
        "branch": "main",
        "properties": {"role": "protected_branch", "ref": REF},
    }
    assert run["properties"]["protected_branch"] == {
        "name": "main",
        "ref": REF,
        "commit": stale.base,
    }
    assert any(FETCH in note for note in run["properties"]["notes"])
    result = json.loads(stale.check("oscal")[1])["assessment-results"]["results"][0]
    props = {p["name"]: p["value"] for p in result["props"]}
    assert (props["protected-branch"], props["protected-branch-ref"]) == ("main", REF)
    assert props["protected-branch-commit"] == stale.base
    assert FETCH in result["remarks"]
    html = stale.check("html")[1]
    assert f'main at <span class="mono">{stale.base}</span>' in html
    assert html_escape(FETCH) in html


def test_the_reports_are_valid_and_say_nothing_of_a_fetch_once_review_003_passes(
    stale: Stale,
) -> None:
    """Fetched as the note says, the clone's ``origin/main`` holds the deployed commit:
    REVIEW-003 passes, and the reports name the new tip and no fetch."""
    stale.clone.git("fetch", "--quiet", "--no-tags", "origin")
    code, text = stale.check("text")
    assert code == 0, text
    assert f"Protected branch: main at {stale.main2} (read from {REF})" in text
    assert "git fetch" not in text
    oscal = json.loads(stale.check("oscal")[1])
    assert schema_errors(oscal) == []
    assert "remarks" not in oscal["assessment-results"]["results"][0]
    log = json.loads(stale.check("sarif")[1])
    assert "notes" not in log["runs"][0]["properties"]
    if SARIF_SCHEMA.is_file():
        schema = json.loads(SARIF_SCHEMA.read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(log)


def test_a_stale_clones_reports_are_valid(stale: Stale) -> None:
    assert schema_errors(json.loads(stale.check("oscal")[1])) == []
    if SARIF_SCHEMA.is_file():
        schema = json.loads(SARIF_SCHEMA.read_text())
        log = json.loads(stale.check("sarif")[1])
        jsonschema.validators.validator_for(schema)(schema).validate(log)


@pytest.mark.parametrize("named", ["origin/main", REF])
def test_the_note_names_the_remotes_own_branch_however_the_setting_names_it(
    stale: Stale, named: str
) -> None:
    """``--protected-branch origin/main`` (or its full name) reads the same ref as ``main``:
    the note said a commit merged on "origin's origin/main" (or "origin's
    refs/remotes/origin/main"), a branch the forge does not have. It names origin's
    ``main``, the branch a fetch refreshes the ref from."""
    code, text = stale.check("text", "--protected-branch", named)
    assert code == 1
    assert "a commit merged on origin's main since then is not on it" in text
    assert FETCH in text
