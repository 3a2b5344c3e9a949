"""Reports: the model and one pure renderer per format, in the registry the CLI offers."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from checker.report.model import Report


class Renderer(Protocol):
    """``Report -> str``, with no side effects."""

    name: str
    media_type: str

    def render(self, report: Report, *, color: bool = False) -> str:
        """The report in this format."""
        ...


_FORMATS = {
    "text": ("checker.report.text", "TextRenderer"),
    "json": ("checker.report.json", "JsonRenderer"),
    "json-compact": ("checker.report.json", "CompactJsonRenderer"),
    "markdown": ("checker.report.markdown", "MarkdownRenderer"),
    "html": ("checker.report.html", "HtmlRenderer"),
    "sarif": ("checker.report.sarif", "SarifRenderer"),
    "junit": ("checker.report.junit", "JunitRenderer"),
    "oscal": ("checker.report.oscal", "OscalRenderer"),
}


class _Renderers(Mapping[str, Renderer]):
    """The formats by name; a renderer's module is imported when it is first asked for, so a
    run that prints text does not load the HTML, SARIF, JUnit and OSCAL writers."""

    def __init__(self) -> None:
        self._made: dict[str, Renderer] = {}

    def __getitem__(self, name: str) -> Renderer:
        if name not in self._made:
            module, kind = _FORMATS[name]
            self._made[name] = getattr(importlib.import_module(module), kind)()
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_FORMATS)

    def __len__(self) -> int:
        return len(_FORMATS)


RENDERERS: Mapping[str, Renderer] = _Renderers()


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
