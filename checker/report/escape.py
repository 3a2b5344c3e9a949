"""Text from evidence, made safe to show: a terminal, a CI log, an XML or HTML reader shows
each control character as an escape instead of obeying it.

Evidence is written by the audited team. An ANSI sequence in a deployment id could paint a
fake green PASS on the auditor's terminal or in a CI log, a carriage return could overwrite a
line, a bidirectional override could reorder one, and a control character makes XML
ill-formed. Every character in those classes becomes ``\\xNN`` or ``\\uNNNN``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import TextIO, cast

_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0 (with tab and line breaks), DEL and C1 (CSI is \x9b)
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # half a surrogate pair (an undecodable byte in a file name)
    "\ufffe\uffff"  # not characters: XML forbids them
    # Unicode's default ignorable code points (DerivedCoreProperties.txt): shown as nothing,
    # the bidirectional marks and overrides among them, and skipped by a culture-aware
    # comparison (.NET's string.IndexOf and StartsWith under ICU, as CI agents search a log
    # line for ``##vso[`` or ``::``), so ``##\u00advso[`` would read as ``##vso[`` there.
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
    "]"
)


def _table(pattern: re.Pattern[str], escape: Callable[[int], str]) -> dict[int, str]:
    """Every character ``pattern`` matches, mapped to its escape: ``str.translate`` writes
    the result in one buffer, where ``re.sub`` with a function holds a match object and a
    piece for each of a million line separators in one field (hundreds of megabytes)."""
    ranges = re.findall(r"(.)(?:-(.))?", pattern.pattern.strip("[]"), re.DOTALL)
    codes = (c for a, b in ranges for c in range(ord(a), ord(b or a) + 1))
    return {code: escape(code) for code in codes}


def _escaped(code: int) -> str:
    """A character as Python writes it escaped: ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``."""
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_escaped(code: int) -> str:
    """A character as JSON writes it escaped: ``\\uXXXX``, a surrogate pair past U+FFFF."""
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


_VISIBLE = _table(_UNSAFE, _escaped)


def visible(text: str) -> str:
    """``text`` with every control, bidirectional, default ignorable and non-character as a
    visible escape."""
    return text.translate(_VISIBLE) if _UNSAFE.search(text) else text


_KEY_MATERIAL = re.compile(r"-----BEGIN [^\n]*?-----.*?(?:-----END [^\n]*?-----|\Z)", re.DOTALL)


def without_key_material(text: str) -> str:
    """``text`` with every PEM block (a key pasted where a path belongs, say) replaced, so
    that no message repeats a secret; a block cut short is hidden to the end."""
    return _KEY_MATERIAL.sub("[key material not shown]", text)


_UNSAFE_IN_JSON = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", ""))
"""What ``json.dumps`` leaves raw (it escapes C0 in strings; its own line breaks stay)."""
_JSON_SAFE = _table(_UNSAFE_IN_JSON, _json_escaped)


def json_safe(text: str) -> str:
    """JSON text from ``json.dumps`` with every other character ``visible`` would escape
    written as ``\\uXXXX``: the same document to a parser, nothing a terminal would act on to
    a reader. (Such characters stand only inside strings, where the escape means the same.)
    Nor does any line of it read as a CI log's command (``_LOG_COMMAND``): the ``#`` that
    would open one is ``\\u0023``, inside the string where the sequence stands (``#`` is no
    JSON syntax), and no line of indented JSON starts with ``:`` outside a string."""
    if _UNSAFE_IN_JSON.search(text):
        text = text.translate(_JSON_SAFE)
    return _LOG_COMMAND.sub("\\\\u0023", text) if "#" in text else text


_LOG_COMMAND = re.compile(r"#(?=#\[|#vso\[|#teamcity\[)", re.IGNORECASE)
"""The first ``#`` of ``##[`` (GitHub Actions' runner), ``##vso[`` (Azure Pipelines' agent)
and ``##teamcity[`` (TeamCity's service messages): each reads the sequence anywhere in a line
of a job's log as the start of a command (add a mask, stop reading commands, set a variable
or the build's status, write an error annotation). Documents printed to a log carry text from
evidence verbatim, so a deployer written ``##[add-mask]lee`` would hide every later ``lee`` of
the job's log. (Matched in any case: no reader is trusted to compare case-sensitively.)"""
_LINE_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)
"""The first ``:`` of ``::`` where a line starts, after white space: GitHub's runner reads
``::error::...`` there as a command."""


def markup_safe(text: str) -> str:
    """XML or HTML text, its markup already escaped, in which no line reads as a CI log's
    command: the ``#`` of ``##[`` and ``##vso[``, and a line's leading ``:`` of ``::``, as the
    character references ``&#35;`` and ``&#58;``, which mean the same characters to every
    reader of the document. Such sequences stand only in text and attribute values (markup
    is ``<...>``, and a line of it starts with ``<``), where a reference is allowed."""
    return _inert(text, "&#35;", "&#58;")


def log_inert(text: str) -> str:
    """Text for a person (a report, a message), its control characters already ``visible``,
    in which no line reads as a CI log's command: the ``#`` that would open ``##[``,
    ``##vso[`` or ``##teamcity[`` written ``\\x23``, and a line's leading ``:`` of ``::``
    ``\\x3a``, the form ``visible`` gives a character it will not pass. Azure Pipelines'
    agent has no marker that pauses its reading, so text that quotes evidence cannot stand
    between markers there: a deployer written ``##vso[task.setvariable variable=X]v`` set a
    variable of the job, one written ``##vso[task.prependpath]/tmp/x`` chose what later
    steps run."""
    return _inert(text, r"\\x23", r"\\x3a")


def _inert(text: str, hash_as: str, colon_as: str) -> str:
    """``text`` with the ``#`` that opens a CI log's command (``_LOG_COMMAND``) written
    ``hash_as``, and a line's leading ``:`` of ``::`` (``_LINE_COMMAND``) ``colon_as``
    (replacement templates of ``re.sub``)."""
    if "#" in text:
        text = _LOG_COMMAND.sub(hash_as, text)
    return _LINE_COMMAND.sub(r"\1" + colon_as, text) if "::" in text else text


def yaml_safe(document: object) -> str:
    """``document`` as YAML (keys in order, Unicode as it is) in which no line reads as a CI
    log's command: a string that holds one, a line break or a control character is written
    double-quoted, on one line, where the ``#`` that opens the command is ``\\x23``, the same
    character to a YAML reader. No other line starts with anything but indentation, ``-`` or
    a key, so none starts with ``::``."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
        quoted = _LOG_COMMAND.search(text) or "::" in text or _UNSAFE.search(text)
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"' if quoted else None)

    Dumper.add_representer(str, string)
    text = yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=1 << 30)
    return _LOG_COMMAND.sub(r"\\x23", text) if "#" in text else text


class _Shown(io.TextIOBase):
    """``shown``'s stream."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        lines = (visible(line) for line in text.split("\n"))
        self._stream.write(log_inert("\n".join(lines)))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def shown(stream: TextIO) -> TextIO:
    """``stream``, every line written to it shown and never obeyed (``visible``,
    ``log_inert``): for the lines a command writes about what it read (an import's hosts,
    task names and records), which quote text the audited team wrote."""
    return cast(TextIO, _Shown(stream))
