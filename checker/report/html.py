"""HTML for auditors: one self-contained, printable page. Every value from evidence is escaped."""

from __future__ import annotations

import hashlib
import html
from typing import TYPE_CHECKING

from checker.report.deployments import Folded, shown
from checker.report.escape import markup_safe, visible
from checker.report.groups import Group
from checker.report.json import canonical_pieces
from checker.report.model import FOLD_ABOVE, Finding, Report, waived_by
from checker.vocabulary import SEVERITIES, short

if TYPE_CHECKING:
    from checker.evidence.git import BranchTip
    from checker.facts.population import Deployed

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2329;margin:2rem auto;
max-width:1100px;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px
solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}th,td{border:1px solid #d0d7de;
padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f5f7}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,monospace;font-size:12px;
overflow-wrap:anywhere;hyphens:none}
.nw{white-space:nowrap}
.verdict{display:inline-block;padding:.15rem .6rem;border-radius:4px;color:#fff;font-weight:700}
.pass{background:#1a7f37}.fail{background:#cf222e}.incomplete{background:#9a6700}
.sev{display:inline-block;min-width:4.5rem;text-align:center;border-radius:3px;padding:0 .3rem;
font-size:12px;font-weight:600;color:#fff}
.critical{background:#8b0000}.high{background:#cf222e}.medium{background:#bf8700}
.low{background:#0969da}.info{background:#6e7781}
.waived{opacity:.65}.tag{font-size:12px;border:1px solid #6e7781;border-radius:3px;padding:0 .3rem}
.meta td:first-child{width:12rem;color:#57606a}
@media print{body{margin:0;max-width:none;font-size:11px}code,.mono{font-size:9px}
h2{break-after:avoid}
tr{break-inside:avoid}.verdict,.sev{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

PAGE = """
@page{{size:A4;margin:16mm 12mm 16mm 12mm;
@top-left{{content:"{title}";font:9px system-ui,sans-serif;color:#57606a}}
@bottom-left{{content:"{digest}";font:8px ui-monospace,monospace;color:#57606a}}
@bottom-right{{content:"page " counter(page) " of " counter(pages);font:9px system-ui,
sans-serif;color:#57606a}}}}
"""
"""Every printed page carries the report's title, its digest and its page number, in the
page's margin boxes (CSS paged media, which Chromium renders since version 131)."""


def escape(text: str) -> str:
    """Markup escaped, and control characters shown rather than left in the page."""
    return html.escape(visible(text))


def _sev(severity: str) -> str:
    return f'<span class="sev {escape(severity)}">{escape(severity)}</span>'


UNBROKEN = 64
"""Identifiers up to this long (subjects, ids, paths, a sha256) are never broken across lines;
a longer one wraps where it must, at any character."""


def mono(text: str) -> str:
    """An identifier in monospace: kept whole on its line unless it is too long to fit."""
    css = "mono nw" if len(text) <= UNBROKEN else "mono"
    return f'<span class="{css}">{escape(text)}</span>'


def _finding_row(finding: Finding) -> str:
    waived = ' <span class="tag">waived</span>' if finding.waived else ""
    css = ' class="waived"' if finding.waived else ""
    return (
        f"<tr{css}><td>{_sev(finding.severity)}</td>"
        f"<td><b>{escape(finding.rule)}</b><br>{escape(finding.title)}</td>"
        f"<td>{mono(finding.subject)}{waived}</td>"
        f"<td>{escape(finding.message)}<br><small>{escape('; '.join(finding.controls))}</small>"
        f"{_waiver_line(finding)}</td></tr>"
    )


def _waiver_line(finding: Finding) -> str:
    """Under a waived finding, the waiver that covered it: its reason, approver, expiry."""
    return f"<br><small>{escape(waived_by([finding]))}</small>" if finding.waived else ""


def _group_row(group: Group) -> str:
    """A large group in one row: its cause and count, its statement and first subjects."""
    count, subjects = group.fold(FOLD_ABOVE)
    return (
        f"<tr><td>{_sev(group.severity)}</td>"
        f"<td><b>{escape(group.rule)}</b><br>{escape(group.first_finding.title)}</td>"
        f'<td class="mono">{escape(group.key)}: {escape(count)}</td>'
        f"<td>{escape(group.statement)}.<br><small>{escape(subjects)}</small><br>"
        f"<small>{escape('; '.join(group.first_finding.controls))}</small></td></tr>"
    )


class HtmlRenderer:
    """``--format html``."""

    name = "html"
    media_type = "text/html"

    def render(self, report: Report, *, color: bool = False) -> str:
        """A complete HTML document with its own styles and nothing loaded from elsewhere."""
        title = _title(report)
        digest = _digest(report)  # once: of a findings storm, the JSON it hashes is 185 MB
        page = PAGE.format(title=_css_string(title), digest=_css_string(digest))
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{STYLE}{page}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            '<table class="meta">',
            *(
                f"<tr><td>{label}</td><td>{value}</td></tr>"
                for label, value in _meta(report, digest)
            ),
            "</table>",
            *_by_severity(report),
            *_by_control(report),
            *_findings(report),
            *_deployments(report),
            *_rules(report),
            *_inputs(report),
        ]
        # Printed to a CI log, no line of it may read as a command there (``markup_safe``).
        return markup_safe("\n".join(parts) + "\n")


def _title(report: Report) -> str:
    """A signed audit and a check report never share a title: a printed page says which."""
    if report.signature is not None and report.period:
        partial = " (partial)" if report.partial else ""
        return f"knightwatch signed audit of {report.period}{partial}"
    if report.gate is not None:
        return "knightwatch gate check report"
    return "knightwatch check report" + (f" for {report.period}" if report.period else "")


def _digest(report: Report) -> str:
    """What identifies the printed report: the signed payload's sha256 for an audit, else the
    sha256 of the JSON report of the same run (``sha256sum report.json`` prints it)."""
    signed = (report.signature or {}).get("Signed payload sha256")
    if signed:
        return f"signed payload sha256 {signed}"
    digest = hashlib.sha256()
    for piece in canonical_pieces(report.to_dict()):  # never the whole text of a storm at once
        digest.update(piece.encode())
    return f"JSON report sha256 {digest.hexdigest()}"


def _css_string(text: str) -> str:
    """Text inside a CSS string: quotes, backslashes and line breaks escaped, and nothing
    that could close the style element."""
    safe = visible(text).replace("\\", "\\\\").replace('"', '\\"')
    return safe.replace("<", "\\3c ").replace(">", "\\3e ")


def _meta(report: Report, digest: str) -> list[tuple[str, str]]:
    """The report's header rows: its digest, verdict, notes, scope, and (signed) its
    signature."""
    summary = report.summary()
    meta = [
        ("Report", f'<span class="mono">{escape(digest)}</span>'),
        (
            "Verdict",
            f'<span class="verdict {_badge(report)}">{escape(report.verdict_line)}</span>'
            f" — fails on {escape(report.fail_on)} and above",
        ),
        *([("Note", f"<b>{escape(report.headline)}</b>")] if report.headline else []),
        *(
            [("Settings", "<br>".join(escape(line) for line in report.settings_lines))]
            if report.settings_lines
            else []
        ),
        ("Period", escape(report.period or "every deployment in the evidence")),
        ("As of", escape(report.as_of)),
        ("Repository HEAD", f'<span class="mono">{escape(report.head)}</span>'),
        *([("Protected branch", _branch(report.branch))] if report.branch else []),
        *[("Note", escape(note)) for note in [report.stale_branch_note] if note],
        ("Deployments", str(summary.get("deployments", 0))),
        ("Commits shipped", str(summary.get("commits_shipped", 0))),
        ("Tool", escape(f"knightwatch {report.tool_version} ({report.engine})")),
    ]
    for label, value in (report.signature or {}).items():
        meta.append((escape(label), f'<span class="mono">{escape(value)}</span>'))
    return meta


def _branch(branch: BranchTip) -> str:
    """The protected branch judged: its name, the commit it pointed to and the ref read."""
    return (
        f'{escape(branch.name)} at <span class="mono">{escape(branch.commit)}</span> (read '
        f'from <span class="mono">{escape(branch.ref)}</span>)'
    )


def _badge(report: Report) -> str:
    """The verdict's colour: green only for a pass on every rule judged on all its evidence;
    a pass with rules not judged, or judged in part, is amber, never the green of a full
    pass."""
    if report.verdict == "pass" and not report.complete:
        return "incomplete"
    return report.verdict


def _by_severity(report: Report) -> list[str]:
    summary = report.summary()
    return [
        "<h2>Summary by severity</h2><table><tr>",
        *(f"<th>{_sev(s)}</th>" for s in reversed(SEVERITIES)),
        "<th>waived</th></tr><tr>",
        *(f"<td>{summary['by_severity'][s]}</td>" for s in reversed(SEVERITIES)),
        f"<td>{summary['waived']}</td></tr></table>",
    ]


def _by_control(report: Report) -> list[str]:
    parts = [
        "<h2>Summary by control</h2>",
        "<table><tr><th>Control</th><th>Findings</th><th>Rules</th></tr>",
    ]
    for control, findings in report.by_control():
        live = [f for f in findings if not f.waived]
        rules = sorted({f.rule for f in findings})
        waived = f" (+{len(findings) - len(live)} waived)" if len(findings) > len(live) else ""
        parts.append(
            f"<tr><td>{escape(control)}</td><td>{len(live)}{waived}</td>"
            f"<td>{escape(', '.join(rules)) or '—'}</td></tr>"
        )
    return parts


def _findings(report: Report) -> list[str]:
    if not report.findings:
        return ["</table><h2>Findings</h2>", "<p>No findings.</p>"]
    return [
        "</table><h2>Findings</h2>",
        "<table><tr><th>Severity</th><th>Rule</th><th>Subject</th><th>Finding</th></tr>",
        *(_group_row(i) if isinstance(i, Group) else _finding_row(i) for i in report.folded()),
        "</table>",
    ]


def _deployments(report: Report) -> list[str]:
    """Every deployment judged, its commit beside the branch or tag the evidence named; past
    ``FOLD_DEPLOYMENTS_ABOVE``, those nothing names folded by service and environment."""
    if not report.population:
        return []
    listed, folded = shown(report)
    note = []
    if folded:
        rest = sum(f.count for f in folded)
        note = [
            f"<p>{len(report.population):,} deployments were judged. Listed here: the "
            f"{len(listed):,} that a finding shown in full names or a rule judged on part of "
            f"its evidence. The other {rest:,} are folded, one line per service and "
            "environment (a cause folded above lists the deployments it names among its "
            "subjects); a signed audit's JSON lists every one (<code>population</code>), and "
            "<code>knightwatch sample</code> draws from it.</p>"
        ]
    return [
        "<h2>Deployments judged</h2>",
        *note,
        "<table><tr><th>Deployment</th><th>Service / environment</th><th>Commit (ref)</th>"
        "<th>Started</th><th>Commits shipped</th></tr>",
        *(_deployment_row(item) for item in listed),
        *(_folded_row(line) for line in folded),
        "</table>",
    ]


def _deployment_row(item: Deployed) -> str:
    whole = " nw" if item.ref and len(item.ref) <= UNBROKEN else ""
    ref = f' <span class="tag{whole}">{escape(item.ref)}</span>' if item.ref else ""
    return (
        f"<tr><td>{mono(item.id)}</td>"
        f"<td>{escape(item.service)} / {escape(item.environment)}</td>"
        f'<td><span class="mono nw" title="{escape(item.commit)}">'
        f"{escape(short(item.commit))}</span>{ref}</td><td>{mono(item.started_at)}</td>"
        f"<td>{len(item.commits)}</td></tr>"
    )


def _folded_row(line: Folded) -> str:
    return (
        f"<tr><td><i>{line.count:,} deployments, not listed</i></td>"
        f"<td>{escape(line.service)} / {escape(line.environment)}</td><td>—</td>"
        f"<td>{mono(line.first)} to {mono(line.last)}</td><td>{line.commits:,}</td></tr>"
    )


def _rules(report: Report) -> list[str]:
    parts = [
        "<h2>Rules</h2><table><tr><th>Rule</th><th>Severity</th><th>Status</th>"
        "<th>Findings</th></tr>",
    ]
    for rule in report.summary()["rules"]:
        status = rule["status"].replace("_", " ") + (
            f" — {rule['reason']}" if "reason" in rule else ""
        )
        parts.append(
            f"<tr><td><b>{escape(rule['id'])}</b> {escape(rule['title'])}</td>"
            f"<td>{_sev(rule['severity'])}</td><td>{escape(status)}</td>"
            f"<td>{rule['findings']}</td></tr>"
        )
    return parts


def _inputs(report: Report) -> list[str]:
    return [
        "</table><h2>Inputs</h2>",
        "<p>The verdict rests on exactly these files; their sha256 digests let anyone check "
        "that the evidence is the evidence.</p>",
        "<table><tr><th>Role</th><th>File</th><th>sha256</th></tr>",
        *(
            f"<tr><td>{escape(f.role)}</td><td>{mono(f.path)}</td><td>{mono(f.sha256)}</td></tr>"
            for f in report.files
        ),
        "</table></body></html>",
    ]
