"""Every format says which protected branch tip REVIEW-003 judged the deployed commits
against: its name, the commit and the ref read. The JSON report recorded it and ``verify``
printed it, but the text, Markdown, SARIF and OSCAL reports did not: an auditor reading the
Markdown could not see which tip was judged."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, deployment, run_cli, write_yaml
from tests.report.oscal_schema import schema_errors

REVIEWED = (f"Reviewed-by: {LEAD}",)
SARIF_SCHEMA = Path(os.environ.get("KNIGHTWATCH_SARIF_SCHEMA", ".venv/schemas/sarif-2.1.0.json"))
REF = "refs/remotes/origin/main"


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

    def check(self, fmt: str) -> tuple[int, str]:
        result = run_cli(
            "check", "--repo", self.clone.path, "--evidence", self.evidence,
            "--as-of", "2024-04-01", "--format", fmt,
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


def test_every_format_names_the_branch_tip_judged(stale: Stale) -> None:
    code, text = stale.check("text")
    assert code == 1
    assert f"Protected branch: main at {stale.base} (read from {REF})" in text
    code, markdown = stale.check("markdown")
    assert f"- Protected branch: main at `{stale.base}` (read from {REF})" in markdown
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
    result = json.loads(stale.check("oscal")[1])["assessment-results"]["results"][0]
    props = {p["name"]: p["value"] for p in result["props"]}
    assert (props["protected-branch"], props["protected-branch-ref"]) == ("main", REF)
    assert props["protected-branch-commit"] == stale.base
    html = stale.check("html")[1]
    assert f'main at <span class="mono">{stale.base}</span>' in html


def test_the_reports_name_the_new_tip_once_fetched(stale: Stale) -> None:
    """Fetched, the clone's ``origin/main`` holds the deployed commit: REVIEW-003 passes,
    and the reports, valid SARIF and OSCAL, name the new tip."""
    stale.clone.git("fetch", "--quiet", "--no-tags", "origin")
    code, text = stale.check("text")
    assert code == 0, text
    assert f"Protected branch: main at {stale.main2} (read from {REF})" in text
    oscal = json.loads(stale.check("oscal")[1])
    assert schema_errors(oscal) == []
    log = json.loads(stale.check("sarif")[1])
    if SARIF_SCHEMA.is_file():
        schema = json.loads(SARIF_SCHEMA.read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(log)


def test_a_stale_clones_reports_are_valid(stale: Stale) -> None:
    assert schema_errors(json.loads(stale.check("oscal")[1])) == []
    if SARIF_SCHEMA.is_file():
        schema = json.loads(SARIF_SCHEMA.read_text())
        log = json.loads(stale.check("sarif")[1])
        jsonschema.validators.validator_for(schema)(schema).validate(log)
