"""The HTML report as an auditor sees it: rendered by a real headless Chromium.

Skipped, with that reason, where Debian's chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from checker.demo.knight import build_knight
from tests.conftest import run_cli

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_the_audit_report_renders_in_chromium(tmp_path: Path) -> None:
    case = build_knight(tmp_path / "knight")
    run_cli("keygen", "--output", tmp_path / "k")
    run_cli(
        "audit",
        "--repo",
        case.repo,
        "--period",
        "2012-07",
        "--key",
        tmp_path / "k.key",
        "-o",
        tmp_path / "jul.json",
        "--html",
        tmp_path / "jul.html",
        "--as-of",
        "2012-08-01",
    )
    url = (tmp_path / "jul.html").as_uri()

    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout.decode()
    # July holds no flag event, so FLEET-003 and DEAD-007 are not evaluated and the verdict
    # line says so.
    assert '<span class="verdict fail">FAIL (incomplete: 2 rules not evaluated)</span>' in text
    assert text.count('<span class="sev critical">critical</span>') >= 3
    assert "D-2012-07-27:smars-08" in text

    shot = tmp_path / "report.png"
    result = chromium(tmp_path, "--window-size=1200,1800", f"--screenshot={shot}", url)
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 1800)
    assert len(data) > 100_000  # a page of tables and text, not a blank screen


def print_to_pdf(tmp_path: Path, html: Path) -> list[str]:
    """The page as Chromium prints it, without Chromium's own header and footer: the text of
    each printed page."""
    pdf = tmp_path / f"{html.stem}.pdf"
    result = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    return [page.extract_text() for page in PdfReader(pdf).pages]


def test_every_printed_page_of_the_audit_carries_its_digest_and_number(tmp_path: Path) -> None:
    case = build_knight(tmp_path / "knight")
    run_cli("keygen", "--output", tmp_path / "k")
    audited = run_cli(
        "audit", "--repo", case.repo, "--period", "2012-07", "--key", tmp_path / "k.key",
        "-o", tmp_path / "jul.json", "--html", tmp_path / "jul.html", "--as-of", "2012-08-01",
    )  # fmt: skip
    assert audited.code == 1, audited.err
    envelope = json.loads((tmp_path / "jul.json").read_text())
    digest = hashlib.sha256(base64.b64decode(envelope["payload"])).hexdigest()
    pages = print_to_pdf(tmp_path, tmp_path / "jul.html")
    assert len(pages) >= 2  # so that "every page" means more than one
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"signed payload sha256 {digest}" in flat, f"page {number}"
        assert f"page {number} of {len(pages)}" in flat, f"page {number}"
        assert "knightwatch signed audit of 2012-07" in flat, f"page {number}"
    everything = "\n".join(pages)
    # Subjects stay whole on their line; the deployment shows its tag beside the short sha.
    for whole in ("D-2012-07-27:smars-08", "D-2012-07-27:smars/power_peg.py", digest):
        assert whole in everything.split(), whole
    assert "policies/waiver/waiver.rego" in everything.split()
    assert "7a082e589e01 smars-2012.07-rlp" in " ".join(everything.split())


def test_a_printed_check_report_is_titled_apart_and_names_its_json(tmp_path: Path) -> None:
    case = build_knight(tmp_path / "knight")
    html, report = tmp_path / "report.html", tmp_path / "report.json"
    checked = run_cli(
        "check", "--repo", case.repo, "--as-of", "2012-08-01", "-o", html, "-o", report
    )
    assert checked.code == 1, checked.err
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    pages = print_to_pdf(tmp_path, html)
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert "knightwatch check report" in flat and "signed audit" not in flat
        assert f"JSON report sha256 {digest}" in flat, f"page {number}"
        assert f"page {number} of {len(pages)}" in flat, f"page {number}"
