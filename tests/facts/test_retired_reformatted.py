"""DEAD-004: retired code kept with every line edited cheaply is still retired code. The
registry listed ``legacy/peg.py``; one commit deleted it and wrote it to ``src/peg.py`` with
``# noqa`` after every line (or ``# type: ignore``, ``// nolint`` and ``;`` in JavaScript,
its spacing reformatted, its quotes swapped, its lines re-wrapped with ``\\``, SQL's keywords
written in small letters, its spaces no-break ones, its names in fullwidth letters or each
followed by a zero-width joiner): no line was
the same, half of none was shared, and the audit passed (exit 0). Lines are compared in a
normal form such edits do not change (``likeness.normal_lines``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.likeness import HASH, SLASH, lines, normal_lines, readings_of
from tests.facts.test_deadcode import registry
from tests.facts.test_retired_history import _check, _commit, _retired

PEG = {"path": "legacy/peg.py", "reason": "Power Peg retired", "retired_at": "2024-01-01"}
CODE = """\
def power_peg(parent, limit):
    sent = 0
    while parent.open_quantity > 0 and sent < limit:
        child = orders.child_of(parent, 'peg')
        child.price = parent.price + parent.tick
        child.send()
        parent.filled += child.quantity
        sent += 1
    audit.record(parent.id, sent)
    return parent


def cancel_peg(parent):
    for child in parent.children:
        child.cancel()
    parent.status = 'cancelled'
    audit.record(parent.id, 0)
"""
JS = """\
function powerPeg(parent, limit) {
  let sent = 0
  while (parent.openQuantity > 0 && sent < limit) {
    const child = orders.childOf(parent, 'peg')
    child.price = parent.price + parent.tick
    child.send()
    parent.filled += child.quantity
    sent += 1
  }
  audit.record(parent.id, sent)
  return parent
}
"""
ROUTES = """\
ROUTES = {
    'peg': 'smars.power_peg',
    'peg-test': 'smars.power_peg_test',
    'child': 'smars.child_orders',
    'cancel': 'smars.cancel_peg',
    'audit': 'smars.audit_trail',
}
log.info('routing %s by %s', order.id, ROUTES['peg'])
"""
SQL = """\
SELECT o.id, o.parent_id, o.quantity, o.price
FROM orders o
JOIN strategies s ON s.id = o.strategy_id
WHERE s.name = 'power_peg'
AND o.open_quantity > 0
AND o.sent_at IS NULL
ORDER BY o.parent_id, o.id
LIMIT 500
"""

CALLS = """\
router.add("peg", smars.power_peg, methods=["POST"])
router.add("peg-test", smars.power_peg_test, methods=["POST"])
router.add("child", smars.child_orders, methods=["GET", "POST"])
router.add("cancel", smars.cancel_peg, methods=["DELETE"])
router.add("audit", smars.audit_trail, methods=["GET"])
log.info("routes for %s", order.id)
"""


SUFFIXES = {CODE: "py", JS: "js", ROUTES: "py", SQL: "sql", CALLS: "py"}
"""The language each is written in, by the suffix of its files: their comments are read so."""


def _each(code: str, edit: Callable[[str], str]) -> str:
    return "".join(edit(line) + "\n" if line.strip() else "\n" for line in code.splitlines())


def _wrapped(line: str) -> str:
    """The line re-wrapped after each ``(``, before each `` = `` and each `` and ``."""
    indent = " " * (len(line) - len(line.lstrip()) + 8)
    for part in ("(", " = ", " += ", " and "):
        line = line.replace(part, f"{part}\\\n{indent}")
    return line


def _wide(name: str) -> str:
    """``name`` in fullwidth letters: Python reads them as the ASCII ones (NFKC)."""
    return "".join(chr(ord(c) + 0xFEE0) for c in name)


EDITS: dict[str, tuple[str, Callable[[str], str]]] = {
    "noqa": (CODE, lambda c: _each(c, lambda line: line + "  # noqa: E501")),
    "type ignore": (CODE, lambda c: _each(c, lambda line: line + "  # type: ignore[attr]")),
    "nolint": (JS, lambda c: _each(c, lambda line: line + " //nolint:errcheck")),
    "istanbul": (JS, lambda c: _each(c, lambda line: line + " /* istanbul ignore next */")),
    "semicolons": (JS, lambda c: _each(c, lambda line: line + ";")),
    "spacing": (
        CODE,
        lambda c: re.sub(r" ?([=+<>]+) ", r"\1", c).replace(", ", ",").replace("(", "( "),
    ),
    "quotes": (ROUTES, lambda c: c.replace("'", '"')),
    "re-wrapped": (CODE, lambda c: _each(c, _wrapped)),
    "re-wrapped with old Mac line ends": (CODE, lambda c: _each(c, _wrapped).replace("\n", "\r")),
    "keywords in small letters": (
        SQL,
        lambda c: re.sub(r"\b[A-Z]+\b", lambda m: m.group().lower(), c),
    ),
    "lines reordered": (CODE, lambda c: "".join(sorted(c.splitlines(keepends=True)))),
    "tabs and trailing spaces": (
        CODE,
        lambda c: _each(c, lambda line: line.replace("    ", "\t") + " \t "),
    ),
    "comments glued to code": (CODE, lambda c: _each(c, lambda line: line + "#c")),
    "form feed before comments": (CODE, lambda c: _each(c, lambda line: line + "\f# c")),
    "trailing commas": (CALLS, lambda c: re.sub(r"(?<=[^(\s])([)\]])", r",\1", c)),
    "leading semicolons": (
        JS,
        lambda c: _each(c, lambda line: line if line.strip() == "}" else ";" + line),
    ),
    "no-break spaces": (JS, lambda c: c.replace(" ", "\u00a0")),
    "ideographic spaces and line separators": (
        JS,
        lambda c: c.replace(" = ", "\u3000=\u3000").replace("\n", "\u2028").rstrip("\u2028"),
    ),
    "byte order marks": (JS, lambda c: _each(c, lambda line: line + "\ufeff")),
    "zero-width joiners in names": (
        JS,
        lambda c: re.sub(r"\b(parent|sent|child)\b", "\\1\u200d", c),
    ),
    "compatibility letters in names": (
        CODE,
        lambda c: re.sub(r"\b(parent|sent|child)\b", lambda m: _wide(m.group()), c),
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_retired_code_with_every_line_edited_cheaply_is_still_there(
    tmp_path: Path, edit: str
) -> None:
    code, edited = EDITS[edit]
    suffix = SUFFIXES[code]
    reading = readings_of(f"peg.{suffix}")[0]
    assert normal_lines(code.encode(), reading) == normal_lines(edited(code).encode(), reading)
    repo = ScriptedRepo(tmp_path / "repo")
    entry = {**PEG, "path": f"legacy/peg.{suffix}"}
    files = {"flags.yaml": registry(retired_code=[entry]), f"legacy/peg.{suffix}": code}
    _commit(repo, files, 1)
    sha = _commit(repo, {f"legacy/peg.{suffix}": None, f"src/peg.{suffix}": edited(code)}, 2)
    result = _check(tmp_path, repo, {"D1": sha})
    assert _retired(result) == {
        f"D1:legacy/peg.{suffix}": (
            f"Deployment D1 shipped retired code legacy/peg.{suffix} (Power Peg retired) in 1 "
            f"file: src/peg.{suffix} (the content of the retired code, at another path)."
        )
    }
    assert result.code == 1


LABELS = "".join(f'LABEL_{n} = "power peg #{n}: {word}"\n' for n, word in enumerate("abcdefgh"))


def test_a_hash_inside_a_string_is_no_comment(tmp_path: Path) -> None:
    """A module whose lines differ from the retired one's only after a ``#`` inside their
    strings shares none of them: cut there, every line would read ``LABEL_n="power peg`` and
    the live module would be named as the retired code."""
    live = LABELS.replace("power peg #", "smars router #")
    assert not normal_lines(LABELS.encode()) & normal_lines(live.encode())
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"flags.yaml": registry(retired_code=[PEG]), "legacy/peg.py": LABELS}
    _commit(repo, {**files, "src/labels.py": live}, 1)
    sha = _commit(repo, {"legacy/peg.py": None}, 2)
    assert _retired(_check(tmp_path, repo, {"D1": sha})) == {}


@pytest.mark.parametrize(
    ("one", "other", "reading"),
    [
        ("x=${path#*/}", "x=${path#src/}", HASH),
        ('echo "$#" $#', 'echo "$#" $@', HASH),
        ("div#main {", "div#side {", SLASH),
        ("a#link, b#other,", "a#link, b#more,", SLASH),
        ('let s = r#"peg"#;', 'let s = r#"router"#;', SLASH),
        ("#define CAT(a, b) a##b", "#define CAT(a, b) a##c", SLASH),
        ("this.#count += 1", "this.#total += 1", SLASH),
        ("color: red;#fff", "color: red;#000", SLASH),
        ("background: url(http://a/peg.png)", "background: url(http://a/router.png)", SLASH),
    ],
)
def test_a_hash_glued_to_code_that_starts_code_is_no_comment(
    one: str, other: str, reading: str
) -> None:
    """A ``#`` glued to the code before it starts a comment in Python and Ruby (``x = 1#c``),
    but not where it is code: a shell's ``${x#y}`` and ``$#``; in the languages of C's syntax a
    ``#`` is code (a CSS id, Rust's raw string, C's ``##``, a JavaScript private field), and a
    URL's ``//`` in CSS. Lines differing after such a ``#`` stay apart."""
    assert normal_lines(one.encode(), reading) != normal_lines(other.encode(), reading)


@pytest.mark.parametrize(
    ("one", "other", "reading"),
    [
        ("qty = order.quantity#{1}", "qty = order.quantity#{2}", HASH),
        ("qty = order.quantity#(1)", "qty = order.quantity#[2]", HASH),
        ("qty = order.quantity#add", "qty = order.quantity#fed", HASH),
        ('qty = order.quantity#"1"', "qty = order.quantity##2", HASH),
        ("qty = order.quantity#f(1)", "qty = order.quantity#a,", HASH),
        ("seen = {}#{1}", "seen = {}#2", HASH),
        ("const qty = order.quantity//1", "const qty = order.quantity//2", SLASH),
        ("send(order)//1", "send(order)//2", SLASH),
    ],
)
def test_a_comment_glued_to_code_is_cut_whatever_it_says(
    one: str, other: str, reading: str
) -> None:
    """Python reads any ``#`` outside a string as a comment, and the languages of C's syntax
    any ``//``: a retired module with ``#{1}``, ``#(1)``, ``#add1`` or ``#"1"`` glued to each
    line (taken for a CSS selector, a call, a colour or Rust's raw string) or a retired
    JavaScript module with ``//1`` glued after each line's code shared no line with its copy
    and passed (exit 0)."""
    assert normal_lines(one.encode(), reading) == normal_lines(other.encode(), reading)


def test_a_semicolon_opening_a_line_without_braces_is_a_comment() -> None:
    """In a file of no braces (Lisp, assembler, an INI file) a line opened by ``;`` is a
    comment, and says nothing (``lines``); in JavaScript it is an empty statement, cut."""
    assert lines(b"; Copyright 2024 the peg authors\n(defun peg (x) x)\n") == {b"(defun peg(x)x)"}
    assert lines(b";let sent = 0\nfunction f() {\n}\n") == {b"let sent=0", b"function f(){"}
