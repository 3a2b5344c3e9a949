"""Review lines in a commit message, read as Gerrit reads a commit's footer lines.

The footer lines are those of the message's last paragraph: the lines after its last empty
line (trailing empty lines and spaces ignored), never the message's first line. A footer line
is ``KEY: VALUE`` with a key of ASCII letters, digits and hyphens and the colon right after it;
a line that begins with a space continues the value above it. Other lines of the paragraph are
skipped. This is JGit's rule (``FooterLine.fromMessage``), which Gerrit uses when it writes
``Reviewed-by:`` footers on submit, often into a paragraph that also holds a line like
``Fixes golang/go#76343``; git's own trailer parser gives up on such a paragraph.
"""

from __future__ import annotations

import re

REVIEW_KEYS = frozenset({"reviewed-by", "approved-by"})
COAUTHOR = "Co-authored-by"
_FOOTER = re.compile(r"([A-Za-z0-9-]+):[ ]*(.*)")
_COAUTHOR = re.compile(r"[ \t]*co-(?:authored|developed)-by[ \t]*:[ \t]*(.*)", re.IGNORECASE)


def footers(message: str) -> list[tuple[str, str]]:
    """(key as written, value) of each footer line of ``message``, in order."""
    lines = message.rstrip("\n ").split("\n")
    start = 1  # the first line is never a footer
    for index in range(len(lines) - 1, 0, -1):
        if lines[index] == "":
            start = index + 1
            break
    found: list[tuple[str, str]] = []
    continues = False  # whether the line above was a footer line or its continuation
    for line in lines[start:]:
        if continues and line.startswith(" "):
            key, value = found[-1]
            found[-1] = (key, f"{value} {line.lstrip(' ')}")
            continue
        match = _FOOTER.fullmatch(line)
        continues = match is not None
        if match is not None:
            found.append((match.group(1), match.group(2)))
    return found


def review_lines(message: str) -> list[tuple[str, str]]:
    """The ``Reviewed-by:`` and ``Approved-by:`` footers (any letter case) with a value."""
    return [
        (key, value.strip())
        for key, value in footers(message)
        if key.lower() in REVIEW_KEYS and value.strip()
    ]


def coauthor_lines(message: str) -> list[tuple[str, str]]:
    """``(COAUTHOR, value)`` for each ``Co-authored-by:`` or ``Co-developed-by:`` line (the
    Linux kernel's) of ``message`` but its first, wherever it stands. Wider than git's trailer
    rule (which reads only a last paragraph made mostly of trailers) on purpose: a co-author
    only ever stops a review counting, so a line git would not parse still says who wrote the
    commit, and a message cannot hide one by where it puts it."""
    found = []
    for line in message.split("\n")[1:]:
        match = _COAUTHOR.fullmatch(line.rstrip(" \t\r"))
        if match is not None and match.group(1).strip():
            found.append((COAUTHOR, match.group(1).strip()))
    return found
