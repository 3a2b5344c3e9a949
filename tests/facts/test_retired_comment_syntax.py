"""DEAD-004: a file's comments are read in its own language's syntax (``likeness.readings_of``).

Every syntax was read in every file: Python's floor division ``n // 2`` was cut as a ``//``
comment, a shell's ``--`` ending its options (``git log -- path``) as SQL's, and SQL's
``a --c`` was no comment while a Python ``# add`` was read as a CSS colour. Retired Python
whose lines differed after ``//`` alone shrank to a few lines, matched by their bytes alone,
and its copy with a line added passed (exit 0); two deploy scripts differing after ``--`` were
alike, and the live one was named as the retired code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.likeness import (
    CHAR,
    DASH,
    HASH,
    PERCENT,
    PRIME,
    READINGS,
    SHELL,
    SLASH,
    Likeness,
    like_mark,
    normal_lines,
    own_readings,
    readable,
    readings_of,
)
from tests.facts.test_deadcode import registry
from tests.facts.test_retired_history import _check, _commit, _retired

TICKS = """\
def tick_sizes(price):
    ticks = [price // 100]
    ticks.append(price // 50)
    ticks.append(price // 20)
    ticks.append(price // 10)
    ticks.append(price // 5)
    return ticks
"""

PEG_SH = """\
#!/bin/sh
set -eu
git log --format=%H -- smars/power_peg.py
rm -f -- "$BUILD/power_peg.pyc"
cp -- "$SRC/power_peg.py" "$DEST/power_peg.py"
chmod 0755 -- "$DEST/power_peg.py"
git add -- "$DEST/power_peg.py"
"""

PEG_SQL = """\
SELECT o.id, o.parent_id, o.quantity --peg orders
FROM orders o --all of them
JOIN strategies s ON s.id = o.strategy_id --by strategy
WHERE s.name = 'power_peg' --the retired one
AND o.open_quantity > 0 --still open
AND o.sent_at IS NULL --not sent
ORDER BY o.parent_id, o.id --parents first
"""


def _entry(path: str) -> dict[str, str]:
    return {"path": path, "reason": "Power Peg retired", "retired_at": "2024-01-01"}


def _moved(tmp_path: Path, old: tuple[str, str], new: tuple[str, str]) -> dict[str, str]:
    """DEAD-004's findings where ``old`` (path, content) was retired and one commit deleted it
    and wrote ``new``."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, {"flags.yaml": registry(retired_code=[_entry(old[0])]), old[0]: old[1]}, 1)
    sha = _commit(repo, {old[0]: None, new[0]: new[1]}, 2)
    return _retired(_check(tmp_path, repo, {"D1": sha}))


def test_floor_division_is_no_comment_in_python(tmp_path: Path) -> None:
    """Read as comments, the retired module's ``// n`` went and its lines were four, too few
    to be matched but by bytes: its copy with a docstring added passed."""
    assert len(normal_lines(TICKS.encode(), HASH)) == 7
    copy = '"""Tick sizes by price band."""\n' + TICKS
    found = _moved(tmp_path, ("legacy/ticks.py", TICKS), ("src/ticks.py", copy))
    assert found == {
        "D1:legacy/ticks.py": (
            "Deployment D1 shipped retired code legacy/ticks.py (Power Peg retired) in 1 file: "
            "src/ticks.py (the content of the retired code, at another path)."
        )
    }


def test_a_shell_double_dash_is_no_comment(tmp_path: Path) -> None:
    """Two deploy scripts differing after each ``--`` alone were alike: the live one was named
    as the retired code."""
    live = PEG_SH.replace("power_peg", "router")
    assert _moved(tmp_path, ("deploy/peg.sh", PEG_SH), ("deploy/router.sh", live)) == {}


def test_sql_comments_glued_to_code_are_comments(tmp_path: Path) -> None:
    """SQL reads ``a --c`` as a comment: the query kept with each comment reworded passed."""
    copy = PEG_SQL.replace(" --", " --note: ")
    found = _moved(tmp_path, ("legacy/peg.sql", PEG_SQL), ("src/orders.sql", copy))
    assert list(found) == ["D1:legacy/peg.sql"]


@pytest.mark.parametrize(
    ("reading", "one", "other", "same"),
    [
        (HASH, "mid = n // 2", "mid = n // 3", False),
        (SLASH, "mid = n // 2", "mid = n // 3", True),
        (SHELL, 'rm -- "$f"', 'rm -- "$g"', False),
        (DASH, "select a --c", "select a --d", True),
        (HASH, "x = 1  #add", "x = 1  #sub", True),
        (SLASH, "color: #add8e6;", "color: #bee;", False),
        (SLASH, "i--; // count", "i--; // counted", True),
        (DASH, "x = 1  # a", "x = 1  # b", False),
    ],
)
def test_each_reading_cuts_its_own_comments(reading: str, one: str, other: str, same: bool) -> None:
    assert (normal_lines(one.encode(), reading) == normal_lines(other.encode(), reading)) is same


def test_a_name_says_the_reading() -> None:
    assert readings_of("src/peg.py") == (HASH,)
    assert readings_of("web/Peg.TSX") == (SLASH,)
    assert readings_of("db/peg.sql") == (DASH,)
    assert readings_of("deploy/Dockerfile") == (SHELL,)
    assert readings_of("index.php") == (HASH, SLASH)
    assert readings_of("notes/peg.txt") == READINGS
    assert readings_of(".peg") == READINGS


def test_an_unknown_language_takes_the_larger_likeness() -> None:
    """Where no name says the language, a file alike to the retired code in one reading is
    alike: the reading that cannot hide it."""
    sought = Likeness({"a" * 40: PEG_SQL.encode()})
    copy = PEG_SQL.replace(" --", " --note: ").encode()
    marks = sought.marks([copy], tagged=True)
    assert readable(marks, "src/orders.sql") == {like_mark("a" * 40)}
    assert readable(marks, "src/orders.py") == set()
    assert readable(marks, "src/orders.txt") == {like_mark("a" * 40)}
    assert sought.marks([copy]) == {like_mark("a" * 40)}


FIRE = """\
def fire(order, parent):
    qty = order.quantity - parent.filled
    price = parent.limit_price
    venue = parent.venue_for(order)
    child = venue.send(order.symbol, qty, price)
    parent.children.append(child)
    parent.filled += child.quantity
    return child
"""


def _noted(code: str) -> str:
    """``code`` run by ``python``, with a ``#`` comment of its own after each line."""
    lines = code.splitlines()
    return "#!/usr/bin/env python\n" + "".join(
        f"{line}  # step {n}\n" for n, line in enumerate(lines)
    )


@pytest.mark.parametrize("name", ["src/peg.sql", "src/peg.c", "src/peg.lua", "src/peg.js"])
def test_retired_python_named_as_another_language_is_read_as_python(
    tmp_path: Path, name: str
) -> None:
    """Retired Python kept under a name of another language, a ``#`` comment after each line:
    read as that language alone, no line was the retired code's, and it passed (exit 0), while
    ``python src/peg.sql`` runs it. A copy of retired code is read as its language too."""
    found = _moved(tmp_path, ("legacy/peg.py", FIRE), (name, _noted(FIRE)))
    assert list(found) == ["D1:legacy/peg.py"]


def test_a_retired_script_without_suffix_is_read_by_its_launch_line(tmp_path: Path) -> None:
    """An extensionless script is read by its ``#!`` line: a Python one kept as ``.sql``."""
    script = "#!/usr/bin/env python3\n" + FIRE
    found = _moved(tmp_path, ("bin/peg", script), ("db/peg.sql", _noted(FIRE)))
    assert list(found) == ["D1:bin/peg"]


def test_a_blobs_own_readings() -> None:
    assert own_readings(["legacy/peg.py"], b"") == (HASH,)
    assert own_readings(["bin/peg"], b"#!/usr/bin/env -S python3 -u\n") == (HASH,)
    assert own_readings(["bin/peg"], b"#!/bin/sh\n") == (SHELL,)
    assert own_readings(["bin/peg"], b"#!/usr/bin/env node\n") == (SLASH,)
    assert own_readings(["db/peg.sql", "legacy/peg.py"], b"") == (HASH, DASH)
    assert own_readings(["notes/peg.txt"], b"") == READINGS


def test_a_mark_in_the_sought_blobs_own_reading_is_kept() -> None:
    blob = "a" * 40
    marks = Likeness({blob: FIRE.encode()}).marks([_noted(FIRE).encode()], tagged=True)
    assert readable(marks, "src/peg.sql") == set()
    assert readable(marks, "src/peg.sql", {blob: (HASH,)}) == {like_mark(blob)}
    assert readable(marks, "src/peg.sql", {"b" * 40: (HASH,)}) == set()


def _notebook(*cells: tuple[str, str]) -> str:
    """A Jupyter notebook of ``cells`` (kind, source), as Jupyter writes one."""
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
                | ({"execution_count": 1, "outputs": []} if kind == "code" else {})
                for kind, text in cells
            ],
            "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


def test_retired_code_in_a_notebooks_cell_is_still_there(tmp_path: Path) -> None:
    """Retired Python pasted into a Jupyter notebook's cell: in the notebook's JSON each line
    is a quoted string, so no line was the retired module's, and it passed (exit 0), while
    Jupyter or papermill run it. A notebook is read as its code cells too."""
    notebook = _notebook(("markdown", "# Pegging\n"), ("code", "import orders\n"), ("code", FIRE))
    found = _moved(tmp_path, ("legacy/peg.py", FIRE), ("notebooks/peg.ipynb", notebook))
    assert list(found) == ["D1:legacy/peg.py"]


def test_a_notebook_without_the_retired_code_is_live(tmp_path: Path) -> None:
    notebook = _notebook(("markdown", FIRE), ("code", "print(1)\n"))
    assert _moved(tmp_path, ("legacy/peg.py", FIRE), ("notebooks/peg.ipynb", notebook)) == {}


@pytest.mark.parametrize("glued", ["#{%d}", "#(%d)", "#add%d", '#"%d"', "##%d"])
def test_retired_python_with_a_comment_glued_to_each_line_is_still_there(
    tmp_path: Path, glued: str
) -> None:
    """Python reads any ``#`` outside a string as a comment: a copy with ``#{1}``, ``#add1`` or
    ``#"1"`` glued to each line, read as a CSS selector, a colour or Rust's raw string, shared
    no line with the retired module and passed (exit 0)."""
    copy = "".join(line + glued % n + "\n" for n, line in enumerate(FIRE.splitlines()))
    assert list(_moved(tmp_path, ("legacy/peg.py", FIRE), ("src/peg.py", copy))) == [
        "D1:legacy/peg.py"
    ]


def test_retired_javascript_with_a_comment_glued_to_each_line_is_still_there(
    tmp_path: Path,
) -> None:
    """JavaScript reads ``//`` glued to code as a comment: ``send(order)//1``."""
    code = "".join(f"const leg{n} = orders.send(parent, {n});\n" for n in range(8))
    copy = "".join(line + f"//{n}\n" for n, line in enumerate(code.splitlines()))
    found = _moved(tmp_path, ("legacy/peg.js", code), ("src/peg.js", copy))
    assert list(found) == ["D1:legacy/peg.js"]


def test_retired_python_with_a_comment_glued_after_a_semicolon_is_still_there(
    tmp_path: Path,
) -> None:
    """Python, Ruby and the shells read ``;#`` as a statement's end and a comment: a copy with
    ``;#1`` glued to each statement (``#1`` to each ``def`` line) ran as the retired module,
    shared no line with it and passed (exit 0)."""
    copy = "".join(
        line + ("#%d" if line.endswith(":") else ";#%d") % n + "\n"
        for n, line in enumerate(FIRE.splitlines())
    )
    compile(copy, "src/peg.py", "exec")
    assert list(_moved(tmp_path, ("legacy/peg.py", FIRE), ("src/peg.py", copy))) == [
        "D1:legacy/peg.py"
    ]


def test_a_notebooks_keys_are_read_as_json_reads_them(tmp_path: Path) -> None:
    """JSON reads ``"\\u0063ells"`` as ``cells``, and so do Jupyter and papermill: a notebook
    with its keys so written was not read as its cells, and retired Python in one passed."""
    notebook = _notebook(("code", FIRE))
    escaped = notebook.replace('"cells"', '"\\u0063ells"').replace('"source"', '"\\u0073ource"')
    found = _moved(tmp_path, ("legacy/peg.py", FIRE), ("notebooks/peg.ipynb", escaped))
    assert list(found) == ["D1:legacy/peg.py"]


def _notebook_v3(*cells: tuple[str, str]) -> str:
    """A notebook of format 3 (cells in ``worksheets``, a code cell's code in ``input``)."""
    return json.dumps(
        {
            "metadata": {"name": ""},
            "nbformat": 3,
            "nbformat_minor": 0,
            "worksheets": [
                {
                    "cells": [
                        {"cell_type": kind, "metadata": {}}
                        | (
                            {"input": text.splitlines(keepends=True), "outputs": []}
                            if kind == "code"
                            else {"source": text.splitlines(keepends=True)}
                        )
                        for kind, text in cells
                    ],
                    "metadata": {},
                }
            ],
        },
        indent=1,
    )


def test_a_notebook_of_format_3_is_read_as_its_cells(tmp_path: Path) -> None:
    """Jupyter opens a notebook of format 3 (cells in ``worksheets``) and runs it as one of 4:
    retired Python in one of its code cells was not read as code, and passed (exit 0)."""
    notebook = _notebook_v3(("markdown", "# Pegging\n"), ("code", FIRE))
    found = _moved(tmp_path, ("legacy/peg.py", FIRE), ("notebooks/peg.ipynb", notebook))
    assert list(found) == ["D1:legacy/peg.py"]


def test_a_notebook_of_format_3_without_the_retired_code_is_live(tmp_path: Path) -> None:
    notebook = _notebook_v3(("markdown", FIRE), ("code", "print(1)\n"))
    assert _moved(tmp_path, ("legacy/peg.py", FIRE), ("notebooks/peg.ipynb", notebook)) == {}


LEGS_JS = "".join(f"const leg{n} = orders.send(parent, {n});\n" for n in range(8))


def test_a_script_handing_itself_to_another_interpreter_is_read_as_its_language(
    tmp_path: Path,
) -> None:
    """``#!/bin/sh`` then ``exec node "$0"``: JavaScript run by node, read as a shell script
    alone; kept as ``db/peg.sql`` with ``//1`` glued to each line, it passed (exit 0)."""
    retired = '#!/bin/sh\n":" //; exec /usr/bin/env node "$0" "$@"\n' + LEGS_JS
    copy = "".join(line + f"//{n}\n" for n, line in enumerate(LEGS_JS.splitlines()))
    assert list(_moved(tmp_path, ("bin/peg", retired), ("db/peg.sql", copy))) == ["D1:bin/peg"]
    assert own_readings(["bin/peg"], retired.encode()) == (SHELL, SLASH)
    assert own_readings(["bin/peg"], b'#!/bin/sh\nexec python3 "${0}" "$@"\n') == (HASH, SHELL)
    assert own_readings(["bin/peg"], b"#!/bin/sh\nexec node server.js\n") == (SHELL,)


CHAINED = """\
def fire(order, parent):
    return dict(
        child=parent.venue_for(order).
        send(order.symbol, order.quantity - parent.filled).
        with_limit(parent.limit_price),
        legs=[
            parent.filled, order.quantity],
        book={
            "peg": parent.peg_id},
    )
"""

VENUES_JS = """\
export const venueFor = (market, routes) =>
  market === "nyse" ? routes.primary(market) :
  market === "arca" ? routes.arca(market) :
  market === "bats" ? routes.bats(market) :
  market === "iex" ? routes.iex(market) :
  routes.fallback(market);
"""


def _glued(code: str, comment: str) -> str:
    """``code`` with ``comment`` (numbered) glued to the end of each line."""
    return "".join(line + comment % n + "\n" for n, line in enumerate(code.splitlines()))


def test_retired_python_with_a_comment_glued_after_a_bracket_or_dot_is_still_there(
    tmp_path: Path,
) -> None:
    """Python reads a ``#`` outside a string as a comment wherever it stands: glued after a
    ``(``, ``[``, ``{`` or ``.`` it was kept as code (a shell's ``$#``, Ruby's ``#{``), and a
    copy with ``#keep`` glued to each line shared too few lines with the retired module and
    passed (exit 0)."""
    copy = _glued(CHAINED, "#keep%d")
    compile(copy, "src/peg.py", "exec")
    assert list(_moved(tmp_path, ("legacy/peg.py", CHAINED), ("src/peg.py", copy))) == [
        "D1:legacy/peg.py"
    ]


def test_retired_javascript_with_a_comment_glued_after_a_colon_is_still_there(
    tmp_path: Path,
) -> None:
    """JavaScript reads ``//`` outside a string as a comment after a ``:`` too: kept as a URL's
    ``http://``, a copy with ``//1`` glued to each line of a chain of ``? :`` passed (exit 0)."""
    copy = _glued(VENUES_JS, "//%d")
    found = _moved(tmp_path, ("legacy/venues.js", VENUES_JS), ("src/venues.js", copy))
    assert list(found) == ["D1:legacy/venues.js"]


@pytest.mark.parametrize(
    ("reading", "one", "other", "same"),
    [
        (HASH, "power_peg(# keep", "power_peg(", True),
        (HASH, "x = {# old", "x = {", True),
        (HASH, "x = [# old", "x = [", True),
        (HASH, "parent.# old", "parent.", True),
        (HASH, "n = a +# old", "n = a +", True),
        (HASH, "my $n = $#list;", "my $n = $#rest;", False),
        (HASH, 'x = "a#b"', 'x = "a#c"', False),
        (SHELL, "echo a#b", "echo a#c", False),
        (SHELL, "echo $# x", "echo $# y", False),
        (SHELL, 'echo "${x#a}"', 'echo "${x#b}"', False),
        (SHELL, "echo ${x#a}", "echo ${x#b}", False),
        (SHELL, "echo a #b", "echo a", True),
        (SHELL, "(cd src;# old", "(cd src;", True),
        (SHELL, "run |# old", "run |", True),
        (SHELL, "url: http://a/#top", "url: http://a/#end", False),
        (SLASH, "case 1://x", "case 1:", True),
        (SLASH, "a = {x://y", "a = {x:", True),
        (SLASH, 'go("http://a")', 'go("http://b")', False),
        (SLASH, "background: url(http://a/b.png)", "background: url(http://c/d.png)", False),
        (SLASH, "r = /\\//; // c", "r = /\\//;", True),
    ],
)
def test_a_comment_is_read_where_its_language_reads_one(
    reading: str, one: str, other: str, same: bool
) -> None:
    assert (normal_lines(one.encode(), reading) == normal_lines(other.encode(), reading)) is same


def test_the_shells_read_a_hash_at_a_words_start_alone(tmp_path: Path) -> None:
    """``echo a#b`` prints ``a#b``: two deploy scripts differing after a ``#`` inside their
    words alone are not alike."""
    script = "".join(f"tag v{n}#peg --push origin#main{n}\n" for n in range(8))
    live = script.replace("#peg", "#router").replace("#main", "#live")
    assert _moved(tmp_path, ("deploy/peg.sh", script), ("deploy/router.sh", live)) == {}


@pytest.mark.parametrize(
    ("retired", "copy"),
    [
        (("legacy/peg.py", FIRE), ("src/peg.py", _glued(FIRE, "  # step %d \\"))),
        (("legacy/peg.py", FIRE), ("src/peg.py", _glued(FIRE, "\n# step %d \\"))),
        (("legacy/peg.js", LEGS_JS), ("src/peg.js", _glued(LEGS_JS, " // leg %d \\"))),
        (("deploy/peg.sh", PEG_SH), ("deploy/copy.sh", _glued(PEG_SH, " # step %d \\"))),
        (("legacy/peg.sql", PEG_SQL), ("src/orders.sql", _glued(PEG_SQL, " %d \\"))),
    ],
)
def test_a_backslash_ending_a_comment_joins_no_line(
    tmp_path: Path, retired: tuple[str, str], copy: tuple[str, str]
) -> None:
    """A backslash ending a comment continues no line in Python, JavaScript, the shells or
    SQL, whose comments end with their line: read as joining the next line into the comment,
    a copy with ``# \\`` after each line read as one line, and passed (exit 0)."""
    if copy[0].endswith(".py"):
        compile(copy[1], copy[0], "exec")
    assert list(_moved(tmp_path, retired, copy)) == [f"D1:{retired[0]}"]


@pytest.mark.parametrize(
    ("reading", "text", "lines"),
    [
        (HASH, "x = f(a, \\\n  b)  # c \\\ny = 2\n", {b"x=f(a,b)", b"y=2"}),
        (HASH, 's = "a # \\\nb"\n', {b's="a#b"'}),
        (SHELL, "echo a \\\n  b # c \\\necho d\n", {b"echo a b", b"echo d"}),
        (SLASH, "#define TWICE(a) \\\n  (a + a)\n", {b"#define twice(a)(a+a)"}),
        (DASH, "select 1 -- c \\\nfrom t\n", {b"select 1", b"from t"}),
    ],
)
def test_a_backslash_joins_lines_outside_comments(
    reading: str, text: str, lines: set[bytes]
) -> None:
    assert normal_lines(text.encode(), reading) == lines


def test_retired_javascript_with_an_html_comment_glued_to_each_line_is_still_there(
    tmp_path: Path,
) -> None:
    """JavaScript outside a module reads ``<!--`` as it reads ``//`` (node runs a script so
    written): a copy with ``<!--1`` glued to each line shared no line with the retired script
    and passed (exit 0)."""
    copy = _glued(LEGS_JS, " <!--%d")
    found = _moved(tmp_path, ("legacy/peg.js", LEGS_JS), ("src/peg.js", copy))
    assert list(found) == ["D1:legacy/peg.js"]
    assert normal_lines(b"if (a < !--b) go();", SLASH) == {b"if(a<!--b)go()"}


FETCH_SH = "".join(
    f"curl -fsSL -o /tmp/tool{n} https://dl.example/tools.html#power_peg_{n} # step {n}\n"
    for n in range(7)
)


def test_each_reading_reads_the_lines_it_marks_in_its_own_syntax(tmp_path: Path) -> None:
    """A reading that marked the same lines as another took that one's reading of them: SQL's
    ``-- 1 //`` after each line of a query read as the ``//`` reading reads it, ``--1`` kept,
    so a copy of the retired query so kept passed (exit 0); and a deploy script's ``a#peg #c``
    read as Python reads it, so a live script differing after a ``#`` inside its words alone
    was named as the retired one."""
    copy = _glued(PEG_SQL, " -- %d //")
    found = _moved(tmp_path / "sql", ("legacy/peg.sql", PEG_SQL), ("src/orders.sql", copy))
    assert list(found) == ["D1:legacy/peg.sql"]
    live = FETCH_SH.replace("#power_peg_", "#router_")
    assert _moved(tmp_path / "sh", ("deploy/peg.sh", FETCH_SH), ("deploy/tools.sh", live)) == {}


FIRE_RS = """\
pub fn fire<'a>(book: &'a Book, parent: &Order) -> Legs<'a> {
    let venue: &'a Venue = book.venue_for(parent);
    let limit: &'a Price = parent.limit_price();
    let filled: &'a Fill = parent.filled();
    let child: Child<'a> = venue.send(parent.symbol(), parent.quantity() - filled.qty, limit);
    let legs: Legs<'a> = parent.children().chain(Some(child)).collect();
    book.record(&legs as &[Child<'a>]);
    legs
}
"""


def test_a_rust_lifetime_opens_no_string(tmp_path: Path) -> None:
    """``'`` quotes one character alone in Rust: a lifetime (``&'a Book``) read as opening a
    string to the line's end kept the comment after it, and a copy of a retired module with
    ``// step 1`` after each line shared one line with it and passed (exit 0)."""
    copy = _glued(FIRE_RS, " // step %d")
    found = _moved(tmp_path, ("legacy/fire.rs", FIRE_RS), ("src/fire.rs", copy))
    assert list(found) == ["D1:legacy/fire.rs"]


@pytest.mark.parametrize(
    ("reading", "one", "other", "same"),
    [
        (
            CHAR,
            "fn f<'a>(x: &'a str) -> &'a str { x } // it's",
            "fn f<'a>(x: &'a str) -> &'a str { x }",
            True,
        ),
        (CHAR, "int n = 1'000; // old", "int n = 1'000;", True),
        (CHAR, "let c = '/'; // old", "let c = '/';", True),
        (CHAR, "let c = '\\''; // old", "let c = '\\'';", True),
        (CHAR, 'let s = "a // b";', 'let s = "a // c";', False),
        (SLASH, "const s = 'a // b';", "const s = 'a // c';", False),
        (PRIME, "go' acc x = foldl' f acc x -- old", "go' acc x = foldl' f acc x", True),
        (PRIME, "if clk'event and clk = '1' then -- old", "if clk'event and clk = '1' then", True),
        (PRIME, "c = '-' -- old", "c = '-'", True),
        (DASH, "where s = 'a -- b'", "where s = 'a -- c'", False),
    ],
)
def test_a_quote_is_read_as_each_language_reads_it(
    reading: str, one: str, other: str, same: bool
) -> None:
    assert (normal_lines(one.encode(), reading) == normal_lines(other.encode(), reading)) is same


def test_languages_quoting_characters_alone() -> None:
    assert readings_of("src/fire.rs") == (CHAR,)
    assert readings_of("src/Peg.java") == (CHAR,)
    assert readings_of("web/peg.ts") == (SLASH,)
    assert readings_of("src/Peg.hs") == (PRIME,)
    assert readings_of("db/peg.sql") == (DASH,)
    assert own_readings(["bin/peg"], b"#!/usr/bin/env runghc\n") == (PRIME,)


FIRE_ERL = """\
-module(peg).
-export([fire/2]).
fire(Order, Parent) ->
    Qty = maps:get(quantity, Order) - maps:get(filled, Parent),
    Venue = venues:for(Parent, Order),
    Child = venues:send(Venue, maps:get(symbol, Order), Qty, maps:get(limit, Parent)),
    audit:record(maps:get(id, Parent), Child),
    {ok, Child}.
"""


def test_a_percent_comment_is_read_in_erlang(tmp_path: Path) -> None:
    """Erlang, MATLAB and TeX open a comment with ``%``, read in no language's syntax: a copy
    of a retired Erlang module with ``% step 1`` after each line passed (exit 0)."""
    copy = _glued(FIRE_ERL, " %% step %d")
    found = _moved(tmp_path, ("legacy/peg.erl", FIRE_ERL), ("src/peg.erl", copy))
    assert list(found) == ["D1:legacy/peg.erl"]
    assert readings_of("lib/peg.m") == (CHAR, PERCENT)


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("C = $%, % old", "C = $%,", True),
        ('io:format("~p%~n", [X])', 'io:format("~p%~s", [X])', False),
        ("fprintf('%d%%', x);", "fprintf('%s%%', x);", False),
        ("y = a' * b; % old", "y = a' * b;", True),
        ("50\\% of orders % old", "50\\% of orders", True),
        ("50\\% of orders", "50\\% of trades", False),
    ],
)
def test_percent_comments_outside_strings(one: str, other: str, same: bool) -> None:
    assert (normal_lines(one.encode(), PERCENT) == normal_lines(other.encode(), PERCENT)) is same
