"""``knightwatch demo``: rebuild the 2012 case in a new directory, audit it, tell the story."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from pathlib import Path

from checker.demo.knight import build_knight
from checker.demo.story import narrate
from checker.report import RENDERERS
from checker.runner import CheckOptions, run_check
from checker.signing.attestation import sign_report
from checker.signing.keys import generate, key_id, load_private
from checker.writer import write_atomic

AS_OF = date(2012, 8, 1)
PERIOD = "2012-07"


def run_demo(directory: Path | None = None) -> tuple[str, int]:
    """Build, check, sign July 2012's audit, and narrate; returns the text and the exit code."""
    target = directory or Path(tempfile.mkdtemp(prefix="knightwatch-demo-"))
    case = build_knight(target)
    options = CheckOptions(repo=case.repo, evidence=case.evidence, as_of=AS_OF)
    report = run_check(options)
    written = []
    for name, suffix in (("json", "json"), ("text", "txt"), ("html", "html")):
        path = target / f"report.{suffix}"
        write_atomic(path, RENDERERS[name].render(report))
        written.append(path)

    # July 2012's monthly audit, signed with a key made for the demo alone.
    private, public = generate(target / "demo-signing")
    key = load_private(str(private))
    audit = run_check(dataclasses.replace(options, period=PERIOD))
    envelope, digest = sign_report(audit, key, None)
    signed = target / f"audit-{PERIOD}.json"
    write_atomic(signed, envelope)
    signature = {"Signed by key": key_id(key.public_key()), "Signed payload sha256": digest}
    html = target / f"audit-{PERIOD}.html"
    write_atomic(html, RENDERERS["html"].render(dataclasses.replace(audit, signature=signature)))
    written += [signed, html]
    verify = f"knightwatch verify {signed} --key {public}"
    return narrate(report, written, verify), report.exit_code
