"""Golden files: every output format of the Knight case and of each example case, compared byte
for byte with the files under ``tests/report/golden/``.

A change to a renderer, a message or a fact that moves one byte of a report fails here, and the
diff of the golden files is the review of that change. Regenerate them with
``KNIGHTWATCH_REGEN=1 .venv/bin/pytest tests/report/test_golden.py``, then read the diff.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checker.cli.commands import EXTENSIONS
from checker.demo.knight import build_knight
from checker.report import RENDERERS
from tests.conftest import run_cli
from tests.test_examples import EXAMPLES, inputs

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("KNIGHTWATCH_REGEN") == "1"


def _report_names() -> tuple[str, ...]:
    """One file per renderer, named with its extension, so that the CLI picks the format by
    its extension: a new renderer has a golden file here as soon as it is registered."""
    first = {}
    for extension, name in EXTENSIONS.items():
        first.setdefault(name, extension)
    assert set(first) == set(RENDERERS), "every renderer needs an extension in EXTENSIONS"
    return tuple(f"report{first[name]}" for name in sorted(RENDERERS))


REPORTS = _report_names()
ANNOTATIONS = "github-annotations.txt"
AUDIT = ("audit.envelope.json", "audit.statement.json")


@dataclass(frozen=True)
class Case:
    """A case whose outputs have golden files: how to build it and what to run on it."""

    name: str
    period: str | None
    """The month its signed audit covers; None: no audit golden for it."""
    gate: tuple[str, ...] = ()
    """``check --candidate`` options: the case judged as a gate."""


CASES = (
    Case("knight", "2012-07"),
    Case("knight-deploy-gate", None, ("--candidate", "main", "--service", "smars")),
    Case(
        "knight-merge-gate",
        None,
        ("--candidate", "main", "--service", "smars", "--stage", "merge", "--with-reviews"),
    ),
    *(Case(p.name, "2024-05" if p.name == "waived-emergency" else None) for p in EXAMPLES),
)


def signing_key(directory: Path) -> Path:
    """A fixed Ed25519 key (Ed25519 signatures are deterministic), so the envelope's bytes are."""
    seed = hashlib.sha256(b"knightwatch golden files").digest()
    key = Ed25519PrivateKey.from_private_bytes(seed)
    path = directory / "golden.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _inputs(case: Case, directory: Path) -> list[str | Path]:
    """``--repo``, ``--evidence`` and ``--as-of`` of the case, built under ``directory``."""
    if case.name.startswith("knight"):
        knight = build_knight(directory / "knight")
        return ["--repo", knight.repo, "--evidence", knight.evidence, "--as-of", "2012-08-01"]
    example = next(p for p in EXAMPLES if p.name == case.name)
    return inputs(example, directory)


def render(case: Case, directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every output of the case, by golden file name, as the CLI writes them."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    inputs = _inputs(case, directory)
    out = directory / "out"
    out.mkdir()
    outputs = [arg for name in REPORTS for arg in ("-o", out / name)]
    checked = run_cli("check", *inputs, *case.gate, *outputs, "--github", "always")
    assert checked.code in (0, 1), checked.err
    files = {name: (out / name).read_bytes() for name in REPORTS}
    files[ANNOTATIONS] = checked.out.encode()
    if case.period is not None:
        key = signing_key(directory)
        envelope = out / "audit.json"
        audited = run_cli("audit", *inputs, "--period", case.period, "--key", key, "-o", envelope)
        assert audited.code in (0, 1), audited.err
        files[AUDIT[0]] = envelope.read_bytes()
        payload = base64.b64decode(json.loads(envelope.read_bytes())["payload"])
        statement = json.dumps(json.loads(payload), indent=2, sort_keys=True, ensure_ascii=False)
        files[AUDIT[1]] = (statement + "\n").encode()
    return files


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Each case rendered once for all its golden comparisons."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {
            case.name: render(case, tmp_path_factory.mktemp(case.name), monkeypatch)
            for case in CASES
        }


def _expected_files(case: Case) -> list[str]:
    return [*REPORTS, ANNOTATIONS, *(AUDIT if case.period else ())]


@pytest.mark.parametrize(
    ("case", "name"),
    [(case, name) for case in CASES for name in _expected_files(case)],
    ids=lambda value: value.name if isinstance(value, Case) else value,
)
def test_output_matches_its_golden_file(
    case: Case, name: str, rendered: dict[str, dict[str, bytes]]
) -> None:
    got = rendered[case.name][name]
    path = GOLDEN / case.name / name
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(got)
    assert path.is_file(), f"{path} is missing: regenerate with KNIGHTWATCH_REGEN=1"
    want = path.read_bytes()
    if got != want:
        diff = difflib.unified_diff(
            want.decode().splitlines(),
            got.decode().splitlines(),
            f"golden/{case.name}/{name}",
            "rendered now",
            lineterm="",
            n=1,
        )
        pytest.fail("\n".join([*list(diff)[:60], "(regenerate with KNIGHTWATCH_REGEN=1)"]))


def test_every_golden_file_belongs_to_a_case() -> None:
    """A golden file no case renders any more is removed, not left to look like a check."""
    present = {
        p.relative_to(GOLDEN).as_posix()
        for p in GOLDEN.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    expected = {f"{case.name}/{name}" for case in CASES for name in _expected_files(case)}
    assert present == expected


def test_the_golden_cases_cover_waivers_and_rules_not_evaluated() -> None:
    """The goldens show the parts of a report most likely to regress unseen."""
    report = json.loads((GOLDEN / "waived-emergency" / "report.json").read_text())
    assert any(f["waived"] for f in report["findings"])
    assert report["summary"]["incomplete"] and report["summary"]["partial"]
    assert any(f["rule"] == "WAIVER-001" for f in report["findings"])
    knight = json.loads((GOLDEN / "knight" / "report.json").read_text())
    assert knight["verdict"] == "fail" and len({f["rule"] for f in knight["findings"]}) >= 6
