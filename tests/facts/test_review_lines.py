"""Which review lines count (``review_lines``): Dana writes ``Reviewed-by: Lee`` in her own
commit and commits it herself; at a deploy gate that passed (exit 0). With ``review_lines:
committed`` from the platform's side, a review line counts only in a commit that a person other
than its author committed (a maintainer who applied the review, a review system's submit); with
``none``, only review records count. The repository's own knightwatch.yaml may make it stricter
at a gate, never weaker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

KIM = "Kim Maintainer <kim@example.com>"
GITHUB = "GitHub <noreply@github.com>"
FORGED = f"Reviewed-by: {LEAD}"
SELF = "the commit was committed by its author"


def _case(
    tmp_path: Path, committer: str | None = None, *, reviews: list[dict[str, object]] = ()
) -> tuple[ScriptedRepo, Path, str]:
    """A deployed base, and Dana's commit on main carrying Lee's review line, committed by
    ``committer`` (Dana herself by default)."""
    repo = ScriptedRepo(tmp_path / "repo")
    base = repo.commit("base", {"a": "0"}, author=LEAD, date="2024-02-01T10:00:00Z")
    when = "2024-02-02T10:00:00Z"
    sha = repo.commit("dana's change", {"a": "1"}, author=DEV, date=when, trailers=(FORGED,),
                      committer=(committer, when) if committer else None)  # fmt: skip
    evidence = tmp_path / "evidence"
    approvals = [{"by": "lee@example.com", "at": "2024-02-01T11:00:00Z"}]
    write_yaml(evidence / "deploys.yaml",
               [deployment("D0", base, "2024-02-01T12:00:00Z", approvals=approvals)])  # fmt: skip
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    write_yaml(evidence / "reviews.yaml", list(reviews))
    return repo, evidence, sha


def _gate(repo: ScriptedRepo, evidence: Path, platform: dict[str, str] | None) -> CliResult:
    extra: list[str | Path] = []
    if platform is not None:
        extra = ["--config", write_yaml(evidence.parent / "platform.yaml", platform)]
    return run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "json",
                   "--candidate", "main", "--service", "web", "--stage", "deploy",
                   "--as-of", "2024-03-01", *extra)  # fmt: skip


def _review_002(result: CliResult) -> dict[str, str]:
    assert result.code in (0, 1), result.err
    return {f["subject"]: f["message"] for f in result.json()["findings"]
            if f["rule"] == "REVIEW-002"}  # fmt: skip


def test_a_self_committed_review_line_passes_by_default(tmp_path: Path) -> None:
    """Unchanged without the setting: the line is the committer's statement."""
    repo, evidence, _ = _case(tmp_path)
    assert _gate(repo, evidence, None).code == 0


@pytest.mark.parametrize("mode", ["committed", "none"])
def test_the_platform_refuses_a_line_the_author_wrote(tmp_path: Path, mode: str) -> None:
    repo, evidence, sha = _case(tmp_path)
    result = _gate(repo, evidence, {"review_lines": mode})
    assert result.code == 1
    found = _review_002(result)
    assert set(found) == {sha}
    assert (SELF if mode == "committed" else "review_lines: none") in found[sha]


def test_a_line_a_maintainer_committed_counts(tmp_path: Path) -> None:
    """Kim applied Dana's commit with Lee's review: a person other than the author vouches."""
    repo, evidence, _ = _case(tmp_path, KIM)
    result = _gate(repo, evidence, {"review_lines": "committed"})
    assert (result.code, _review_002(result)) == (0, {})


def test_a_line_the_forge_copied_does_not_count(tmp_path: Path) -> None:
    """GitHub's squash button copies the author's message: it vouches for nothing."""
    repo, evidence, sha = _case(tmp_path, GITHUB)
    found = _review_002(_gate(repo, evidence, {"review_lines": "committed"}))
    assert "committed by a bot or a forge on its author's behalf" in found[sha]


def test_review_records_still_count_with_none(tmp_path: Path) -> None:
    record = {"change": 1, "author": DEV, "commits": [], "approvals": [
        {"by": "lee@example.com", "at": "2024-02-03T10:00:00Z"}]}  # fmt: skip
    repo, evidence, sha = _case(tmp_path)
    write_yaml(evidence / "reviews.yaml", [{**record, "commits": [sha]}])
    result = _gate(repo, evidence, {"review_lines": "none"})
    assert (result.code, _review_002(result)) == (0, {})


def test_the_repository_may_make_it_stricter_at_a_gate_never_weaker(tmp_path: Path) -> None:
    repo, evidence, sha = _case(tmp_path)
    (repo.path / "knightwatch.yaml").write_text(yaml.safe_dump({"review_lines": "committed"}))
    assert set(_review_002(_gate(repo, evidence, None))) == {sha}
    (repo.path / "knightwatch.yaml").write_text(yaml.safe_dump({"review_lines": "any"}))
    result = _gate(repo, evidence, {"review_lines": "committed"})
    assert set(_review_002(result)) == {sha}
    ignored = [s for s in result.json()["settings"] if not s["applied"]]
    assert [(s["name"], s["value"]) for s in ignored] == [("review_lines", "any")]


def test_an_unknown_value_is_an_input_error(tmp_path: Path) -> None:
    repo, evidence, _ = _case(tmp_path)
    result = _gate(repo, evidence, {"review_lines": "some"})
    assert result.code == 2 and "review_lines" in result.err and "Traceback" not in result.err
