"""Text from evidence, made safe to show: a terminal, a CI log, an XML or HTML reader shows
each control character as an escape instead of obeying it.

Evidence is written by the audited team. An ANSI sequence in a deployment id could paint a
fake green PASS on the auditor's terminal or in a CI log, a carriage return could overwrite a
line, a bidirectional override could reorder one, and a control character makes XML
ill-formed. Every character in those classes becomes ``\\xNN`` or ``\\uNNNN``.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0 (with tab and line breaks), DEL and C1 (CSI is \x9b)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks and overrides
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # half a surrogate pair (an undecodable byte in a file name)
    "\ufffe\uffff"  # not characters: XML forbids them
    "]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control, bidirectional and non-character as a visible escape."""
    return _UNSAFE.sub(_escape, text)


_KEY_MATERIAL = re.compile(r"-----BEGIN [^\n]*?-----.*?(?:-----END [^\n]*?-----|\Z)", re.DOTALL)


def without_key_material(text: str) -> str:
    """``text`` with every PEM block (a key pasted where a path belongs, say) replaced, so
    that no message repeats a secret; a block cut short is hidden to the end."""
    return _KEY_MATERIAL.sub("[key material not shown]", text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


_UNSAFE_IN_JSON = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", ""))
"""What ``json.dumps`` leaves raw (it escapes C0 in strings; its own line breaks stay)."""


def json_safe(text: str) -> str:
    """JSON text from ``json.dumps`` with every other character ``visible`` would escape
    written as ``\\uXXXX``: the same document to a parser, nothing a terminal would act on to
    a reader. (Such characters stand only inside strings, where the escape means the same.)"""
    return _UNSAFE_IN_JSON.sub(_json_escape, text)
