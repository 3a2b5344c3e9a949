"""Reports: the model and one pure renderer per format, in the registry the CLI offers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from checker.report.html import HtmlRenderer
from checker.report.json import CompactJsonRenderer, JsonRenderer
from checker.report.junit import JunitRenderer
from checker.report.markdown import MarkdownRenderer
from checker.report.model import Report
from checker.report.oscal import OscalRenderer
from checker.report.sarif import SarifRenderer
from checker.report.text import TextRenderer


class Renderer(Protocol):
    """``Report -> str``, with no side effects."""

    name: str
    media_type: str

    def render(self, report: Report, *, color: bool = False) -> str:
        """The report in this format."""
        ...


RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        TextRenderer(),
        JsonRenderer(),
        CompactJsonRenderer(),
        MarkdownRenderer(),
        HtmlRenderer(),
        SarifRenderer(),
        JunitRenderer(),
        OscalRenderer(),
    )
}


def notice(name: str, report: Report) -> str | None:
    """What the format has to say about how it wrote this report (a SARIF log grouped to fit
    code scanning's limits), for the CLI to print on stderr; None when nothing."""
    say: Callable[[Report], str | None] | None = getattr(RENDERERS[name], "notice", None)
    return say(report) if say is not None else None


def pieces(name: str, report: Report) -> Iterable[str]:
    """Format ``name`` of the report as text in pieces, for a file: a format that can write
    itself piece by piece (JSON) is never held whole, the others are one piece. Rendered as
    the pieces are taken, so a failure surfaces while its output is being staged."""
    write: Callable[[Report], Iterable[str]] | None = getattr(RENDERERS[name], "pieces", None)
    if write is not None:
        yield from write(report)
    else:
        yield RENDERERS[name].render(report)


__all__ = ["RENDERERS", "Renderer", "Report", "notice", "pieces"]
