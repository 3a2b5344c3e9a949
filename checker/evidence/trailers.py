"""Review lines in a commit message, read as Gerrit reads a commit's footer lines.

The footer lines are those of the message's last paragraph: the lines after its last empty
line (trailing empty lines and spaces ignored), never the message's first line. A footer line
is ``KEY: VALUE`` with a key of ASCII letters, digits and hyphens and the colon right after it.
Other lines of the paragraph are skipped. This is JGit's rule (``FooterLine.fromMessage``),
which Gerrit uses when it writes ``Reviewed-by:`` footers on submit, often into a paragraph that
also holds a line like ``Fixes golang/go#76343``; git's own trailer parser gives up on such a
paragraph.

A line that begins with whitespace (a space, a tab) continues the value above it, as git's
trailer parser folds a trailer (``git interpret-trailers --parse``, ``%(trailers:unfold)``;
JGit folds on a space alone, and Gerrit writes no tabs). One fold, :func:`_unfold`, serves the
review lines and the co-author lines alike: a line folded over several reads as the same line
written on one.
"""

from __future__ import annotations

import re

from checker.evidence.identities import addresses, invisible

REVIEW_KEYS = frozenset({"reviewed-by", "approved-by"})
COAUTHOR = "Co-authored-by"
_FOOTER = re.compile(r"([A-Za-z0-9-]+):[ ]*(.*)")
_COAUTHOR = re.compile(r"[ \t]*co-(?:authored|developed)-by[ \t]*:[ \t]*(.*)", re.IGNORECASE)
_CONTINUES = (" ", "\t", "\r")
"""What a line that continues the trailer above it begins with."""
_WHITESPACE = "".join(_CONTINUES)


def footers(message: str) -> list[tuple[str, str]]:
    """(key as written, value) of each footer line of ``message``, in order."""
    lines = message.rstrip("\n ").split("\n")
    start = 1  # the first line is never a footer
    for index in range(len(lines) - 1, 0, -1):
        if lines[index] == "":
            start = index + 1
            break
    found: list[tuple[str, str]] = []
    for index in range(start, len(lines)):
        # A continuation line begins with whitespace, so it never matches as a footer itself.
        match = _FOOTER.fullmatch(lines[index])
        if match is not None:
            found.append((match.group(1), _unfold(match.group(2), lines, index)))
    return found


def _unfold(value: str, lines: list[str], index: int) -> str:
    """``value``, the value of the trailer on ``lines[index]``, with the lines after it that
    continue it joined on: each line that begins with whitespace (git's ``isspace``: a space, a
    tab, a carriage return), after one space, without its leading whitespace."""
    index += 1
    while index < len(lines) and lines[index].startswith(_CONTINUES):
        value = f"{value} {lines[index].lstrip(_WHITESPACE)}"
        index += 1
    return value


def review_lines(message: str) -> list[tuple[str, str]]:
    """The ``Reviewed-by:`` and ``Approved-by:`` footers (any letter case) with a value."""
    return [
        (key, value.strip())
        for key, value in footers(message)
        if key.lower() in REVIEW_KEYS and value.strip()
    ]


def coauthor_lines(message: str) -> list[tuple[str, str]]:
    """``(COAUTHOR, value)`` for each ``Co-authored-by:`` or ``Co-developed-by:`` line (the
    Linux kernel's) of ``message`` but its first, wherever it stands, with the lines that
    continue it (:func:`_unfold`, as for review lines): ``Co-authored-by:`` alone, then
    `` Lee <lee@example.com>``, names Lee, as git reads it. Wider than git's trailer rule
    (which reads only a last paragraph made mostly of trailers) on purpose: a co-author only
    ever stops a review counting, so a line git would not parse still says who wrote the
    commit, and a message cannot hide one by where it puts it, nor by folding it. A line that
    names several (``Sam <sam@ex.com>, Kim <kim@ex.com>``) gives each of their addresses: read
    as one value, it named the last alone, and Sam's approval counted."""
    lines = message.split("\n")
    found: list[tuple[str, str]] = []
    for index in range(1, len(lines)):
        match = _COAUTHOR.fullmatch(lines[index].rstrip(" \t\r"))
        if match is None:
            continue
        value = _unfold(match.group(1), lines, index).strip()
        found.extend((COAUTHOR, one) for one in _named(value))
    return found


def _named(value: str) -> list[str]:
    """Whom a co-author line's value names: each address of a value that writes several, else
    the value itself (nothing when it is empty). A value with an invisible character is kept
    whole, and names nobody (``checker.evidence.identities``)."""
    if not value:
        return []
    several = addresses(value) if invisible(value) is None else []
    return several if len(several) > 1 else [value]
