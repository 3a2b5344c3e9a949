"""The HTML report as an auditor sees it: rendered by a real headless Chromium.

Skipped, with that reason, where Debian's chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

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
    # July holds no flag event, so FLEET-003 is not evaluated and the verdict line says so.
    assert '<span class="verdict fail">FAIL (incomplete: 1 rule not evaluated)</span>' in text
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
