"""Files that are an edited copy of another: most of their lines in common.

Retired code moved or copied with one comment line changed, or one function renamed, is not
the same blob, and DEAD-004 followed the exact bytes alone: ``legacy/power_peg.py`` moved to
``src/peg.py`` with its first comment reworded passed (exit 0). Git calls a file a copy of
another when they are at least half alike (``git diff -C``, whose default threshold is 50%);
so does this, counting lines rather than bytes: two files are alike when the distinct lines
they share (each in a normal form that cheap edits of a line do not change: ``normal_lines``;
lines without a letter or digit left out, as ``}`` and blank lines say nothing of where code
came from, and imports, comment lines and lines of bare keywords with them: ``_says``) are at
least half of the distinct lines of the larger one. A file of fewer than ``MIN_LINES`` such
lines is matched by its exact bytes alone: two short files share half their lines by chance;
unless it has ``MIN_LINES`` with its imports and bare keywords, when it is matched by all of
them (``Short``).

A file also holds a sought one where at least half the sought file's distinct lines, and at
least ``MIN_LINES`` of them, are among its own, however many lines it has besides: the copy
diluted with a comment after every line of it, or pasted whole into a large live module,
shares half of no larger file's lines, and passed (exit 0). Lines added around the code do
not change what it does; the lines it holds of the retired code do.

A file more than ``SIZE_RATIO`` times smaller than a sought one cannot hold half its lines
unless lines repeat, and is not compared with it so; a larger one is, once, whichever sought
files it is compared with.

Nor does splitting the code across files make it live: ``legacy/router.py``'s three functions
written into three new modules, each holding a third of its lines among lines of its own,
shared half of no file's lines, and DEAD-004 passed (exit 0). So each line a file holds of a
sought file of at least ``MIN_LINES`` distinct lines is found as one mark (``part_mark``);
the reader decides which files hold a *part* of it (``checker.facts.retired``: ``MIN_LINES``
of its lines, or ``SMALL_PART`` that no live code held where it was retired), and where the
parts one commit holds together hold half the sought file's lines, and ``MIN_LINES`` of them
(``whole``), each of them holds the code. Each file is split into lines once for this,
whatever its size, and each such sought file's lines are looked up among its own.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping

THRESHOLD = 0.5
"""The share of the larger file's distinct lines two alike files have in common: git's own
default for a copy (``-C50%``)."""
MIN_LINES = 5
"""The distinct lines a sought file must have to be matched by likeness, not bytes alone."""
SIZE_RATIO = 4
"""A file more than this many times larger or smaller than a sought one is not compared."""
LIKE_MARK = "\0like50 "
"""The word a file alike to a sought blob is found as, before that blob's id (the threshold
is in it, so that a cached answer for another one is not taken)."""

HOLD_MARK = "\0holds50 "
"""The word a file holding a sought blob's lines among more of its own (``holds``) is found
as, before that blob's id: told from ``LIKE_MARK``, as only a file alike to retired code, not
one holding it among more, is the code that replaced it (``RetiredCodeHistory``)."""

PART_MARK = "\0part "
"""The word a file holding a line of a sought blob is found as, once for each of those lines:
that blob's id, then the line's number among its distinct lines (sorted) and their count
(``part_mark``)."""
SMALL_PART = 1
"""The fewest lines of a sought blob a file holding fewer than ``MIN_LINES`` of them must hold,
none of them held by live code where the blob was retired, to hold a part of it: one, as a
retired file written out one line to a module, among lines of their own, passed (exit 0) when
it was two. Lines live code held are its project's common lines, and do not count; nor do
lines ``COMMON_FILES`` files hold, and small parts count where together they hold
``MIN_LINES`` lines (``checker.facts.retired``)."""
COMMON_FILES = 5
"""The files of a commit, outside the retired code, that hold a line of it that make it a
common line there (``@classmethod``, ``return value``, a key of a schema): it counts in parts
of ``MIN_LINES`` lines or more only."""
CHANCE_LINES = 4
"""The most lines of a retired file taken as common (``COMMON_FILES``) in a commit, those most
files hold: four lines in common are what files of one project share by chance, as a part of
fewer than ``MIN_LINES`` lines says. Without a bound, each line of a retired file copied into
throwaway files until five held it, and the code kept split four lines to a module, passed
(exit 0): every line was common."""

HASH = "hash"
"""Comments open with ``#`` outside a string, wherever it stands (Python, Ruby, Perl, R, TOML,
Makefiles)."""
SHELL = "shell"
"""Comments open with ``#`` at a word's start (the shells, YAML, Dockerfiles, Tcl, PowerShell,
files of settings): ``echo a#b`` prints ``a#b``."""
SLASH = "slash"
"""Comments open with ``//`` or ``/*``, ``'`` quotes strings (JavaScript, TypeScript, Dart,
Groovy, CSS)."""
CHAR = "char"
"""Comments open with ``//`` or ``/*``, ``'`` quotes one character alone (C, C++, C#, Java, Go,
Rust, Swift, Kotlin, Scala, Zig): ``'a`` is a Rust lifetime, ``1'000`` a number in C++."""
DASH = "dash"
"""Comments open with ``--`` or ``/*``, ``'`` quotes strings (SQL, Lua)."""
PRIME = "prime"
"""Comments open with ``--``, ``'`` quotes one character alone (Haskell, Elm, Ada, VHDL):
``foldl'`` is a name in Haskell, ``clk'event`` an attribute in VHDL."""
PERCENT = "percent"
"""Comments open with ``%`` (Erlang, MATLAB and Octave, TeX): ``$%`` is Erlang's character
``%``, ``\\%`` TeX's."""
READINGS = (HASH, SHELL, SLASH, CHAR, DASH, PRIME, PERCENT)
"""The ways a file's comments are read (``normal_readings``), each a syntax of comments."""

_TEXT = re.compile(rb"[A-Za-z0-9\x80-\xff]")

_LANGUAGES = {
    "py pyi pyw pyx rb rake gemspec pl pm r toml mk cmake nix ex exs jl nim cr coffee": (HASH,),
    "sh bash zsh ksh fish yaml yml cfg conf tcl ps1 psm1 properties env": (SHELL,),
    "c h cc cpp cxx hh hpp hxx ino cu java go rs cs swift kt kts scala sc mm zig": (CHAR,),
    "js jsx mjs cjs ts tsx mts cts dart groovy gradle proto css scss less json5 jsonc": (SLASH,),
    "sol": (SLASH,),
    "php tf hcl": (HASH, SLASH),
    "sql lua": (DASH,),
    "hs lhs elm ada adb ads vhd vhdl": (PRIME,),
    "erl hrl tex sty cls": (PERCENT,),
    "m": (CHAR, PERCENT),
    "makefile gemfile rakefile vagrantfile": (HASH,),
    "dockerfile procfile .bashrc .profile .zshrc": (SHELL,),
}
"""The readings of the comments of files by their suffixes (in small letters), and of those
with no suffix by their whole names."""
_BY_SUFFIX = {end: readings for ends, readings in _LANGUAGES.items() for end in ends.split()}


@functools.lru_cache(maxsize=1 << 12)
def readings_of(name: str) -> tuple[str, ...]:
    """The readings of the comments of a file named ``name`` (a path or a name), by its
    suffix (``_BY_SUFFIX``): every one of them (``READINGS``) where it names no language
    known, as the one that cannot hide retired code is not known."""
    base = name.rpartition("/")[2].lower()
    stem, dot, suffix = base.rpartition(".")
    return _BY_SUFFIX.get(suffix if dot and stem else base, READINGS)


TAGS = tuple(f"\0{reading}\0" for reading in READINGS)
"""What a mark (``like_mark``, ``hold_mark``, ``part_mark``) found of a file in some readings
alone begins with (``tag``): only a file whose name those readings apply to has it."""


def tag(reading: str, mark: str) -> str:
    """``mark`` found of a file read as ``reading`` alone."""
    return f"\0{reading}{mark}"


def readable(
    words: Iterable[str], name: str | None, sought: Mapping[str, tuple[str, ...]] | None = None
) -> set[str]:
    """Of a file's ``words``, those a file named ``name`` has: a tagged mark (``tag``) stands
    for its mark where one of the file's readings (``readings_of``) is the one it was found in,
    or one of the readings of the sought blob it names (``sought``, by blob: ``own_readings``).
    Without a name, every reading applies."""
    own = TAGS if name is None else tuple(f"\0{r}\0" for r in readings_of(name))
    found = set()
    for word in words:
        if not word.startswith(TAGS):
            found.add(word)
        elif word.startswith(own):
            found.add(word[word.index("\0", 1) :])
        elif sought:
            reading, _, mark = word[1:].partition("\0")
            if reading in sought.get(mark.split(" ", 2)[1], ()):
                found.add(f"\0{mark}")
    return found


def own_readings(names: Iterable[str], data: bytes) -> tuple[str, ...]:
    """The readings of a sought blob's comments by the names it had (``readings_of``) and its
    launch line (``#!/usr/bin/env python``, ``_INTERPRETERS``): a copy of it is code of its
    language, whatever the copy is named. Retired Python kept as ``peg.sql`` with a ``#``
    comment after each line, read as SQL alone, shared no line with it and passed (exit 0).
    A name of no language known, and no launch line known, take every reading. A script
    launched by one interpreter that hands itself to another (``exec node "$0" "$@"`` under
    ``#!/bin/sh``, ``_EXEC``) is read as the other's too: a JavaScript one, read as a shell
    script alone, kept as ``peg.sql`` with ``//1`` glued to each line, passed (exit 0)."""
    found = {r for name in names for r in readings_of(name) if readings_of(name) != READINGS}
    launched = _LAUNCH.match(data)
    if launched:
        named = [launched[1], *_EXEC.findall(data[:_EXEC_BYTES])]
        for one in named:
            found.update(_INTERPRETERS.get(one.rstrip(b"0123456789.-").lower(), ()))
    return tuple(r for r in READINGS if r in found) if found else READINGS


_LAUNCH = re.compile(rb"#![ \t]*(?:\S*/)?(?:env[ \t]+(?:-\S+[ \t]+)*(?:\S*/)?)?([\w.-]+)")
"""A launch line (``#!``): the interpreter's name, after ``env`` and its options."""
_INTERPRETERS = {
    **dict.fromkeys(b"python pypy ruby perl Rscript php".lower().split(), (HASH,)),
    **dict.fromkeys(b"sh bash zsh ksh dash ash fish tclsh".split(), (SHELL,)),
    **dict.fromkeys(b"node nodejs deno bun ts-node tsx".split(), (SLASH,)),
    **dict.fromkeys(b"lua luajit psql".split(), (DASH,)),
    **dict.fromkeys(b"runghc runhaskell".split(), (PRIME,)),
    **dict.fromkeys(b"escript octave".split(), (PERCENT,)),
}
"""The readings of the comments of a script by the interpreter its launch line names."""
_EXEC = re.compile(
    rb"\bexec[ \t]+(?:\S*/)?(?:env[ \t]+(?:-\S+[ \t]+)*(?:\S*/)?)?([\w.-]+)[^\n]*\$\{?0\b"
)
"""A script handing itself to another interpreter (``exec node "$0" "$@"``, ``exec
/usr/bin/env python3 "$0"``): that interpreter's name."""
_EXEC_BYTES = 2048
"""How far into a launched script such a hand-over is looked for: its first lines."""


"""A letter or digit, ASCII or part of a character beyond it."""


def like_mark(blob: str) -> str:
    """The word under which files alike to ``blob`` are found."""
    return LIKE_MARK + blob


def hold_mark(blob: str) -> str:
    """The word under which files holding the lines of ``blob`` among more are found."""
    return HOLD_MARK + blob


def part_mark(blob: str, line: int, count: int) -> str:
    """The word under which a file holding line ``line`` of ``count`` of ``blob`` (its distinct
    lines, sorted) is found."""
    return f"{PART_MARK}{blob} {line}/{count}"


def split(marks: Iterable[str]) -> dict[str, tuple[int, set[int]]]:
    """By blob, of the ``part_mark`` words among ``marks`` (those a commit's files are found
    as), its count of distinct lines and those of them held."""
    found: dict[str, tuple[int, set[int]]] = {}
    for word in marks:
        if word.startswith(PART_MARK):
            blob, _, place = word.removeprefix(PART_MARK).partition(" ")
            line, _, count = place.partition("/")
            found.setdefault(blob, (int(count), set()))[1].add(int(line))
    return found


def whole(count: int, held: set[int]) -> bool:
    """Whether the parts found of a sought file of ``count`` distinct lines hold ``held`` of
    them, half of them at least (``THRESHOLD``), and ``MIN_LINES`` (as ``holds`` asks of one
    file)."""
    return len(held) >= max(THRESHOLD * count, MIN_LINES)


def lines(data: bytes) -> frozenset[bytes]:
    """The distinct lines of ``data`` that say something: in their normal form
    (``normal_lines``), holding a letter or digit, and neither an import (``_IMPORT``), nor a
    comment (``_COMMENT``), nor made of ``_PLAIN`` words alone."""
    return frozenset(s for s in text_lines(data) if _says(s))


def text_lines(data: bytes) -> frozenset[bytes]:
    """The distinct lines of ``data``, in their normal form (``normal_lines``), that hold a
    letter or digit: imports and lines of bare keywords too (``lines`` leaves them out)."""
    return _with_text(normal_lines(data))


def normal_lines(data: bytes, reading: str = HASH) -> frozenset[bytes]:
    """The distinct lines of ``data`` in their normal form, its comments read as in the
    languages of ``reading`` (``normal_readings``)."""
    return normal_readings(data, (reading,))[reading]


def normal_readings(
    data: bytes, readings: tuple[str, ...] = READINGS
) -> dict[str, frozenset[bytes]]:
    """By reading (``READINGS``), the distinct lines of ``data`` in a normal form that cheap
    edits of a line do not change (``_read_joined``), its lines ending in a backslash joined to
    the next but where the backslash ends a comment (``_joins``)."""
    found: dict[str, frozenset[bytes]] = {}
    for joined, group in _joins(_plain(data), readings).items():
        found.update(_read_joined(joined, group))
    return found


def _joins(plain: bytes, readings: tuple[str, ...]) -> dict[bytes, tuple[str, ...]]:
    """``plain`` with each line ending in a backslash joined to the next, as the compilers of
    Python and C and the shells join them, by the readings that join it so: a backslash ending
    a comment (``x = 1  # see \\``) joins nothing in Python, Ruby, the shells, JavaScript or
    SQL, whose comments end with their line. Joined, each line of a retired module kept with
    ``# \\`` after it took the next into its comment, the module read as one line, and its
    copy passed (exit 0)."""
    parts = _CONTINUED.split(plain)
    if len(parts) == 1:
        return {plain: readings}
    found: dict[bytes, tuple[str, ...]] = {}
    for reading in readings:
        joined = _joined(parts, reading)
        found[joined] = (*found.get(joined, ()), reading)
    return found


def _joined(parts: list[bytes], reading: str) -> bytes:
    """The text of ``parts`` (parted where a line ended in a backslash), each joined to the
    one before it by a space, or by a line's end where that line ends in a comment of
    ``reading`` (``_ends_commented``)."""
    joined = [parts[0]]
    line = parts[0][max(parts[0].rfind(b"\n"), parts[0].rfind(b"\r")) + 1 :]
    for part in parts[1:]:
        cut = _ends_commented(line, reading)
        joined += [b"\n" if cut else b" ", part]
        end = max(part.rfind(b"\n"), part.rfind(b"\r"))
        line = part[end + 1 :] if end >= 0 or cut else line + b" " + part
    return b"".join(joined)


def _ends_commented(line: bytes, reading: str) -> bool:
    """Whether a line, read as ``reading``, ends inside a comment (``_TAILS``): one after code
    or a comment alone (``# see \\``), read after a space as a comment after code is."""
    line = b" " + line
    if not _HINTS[reading].search(line):
        return False
    return not _TAILS[reading].sub(rb"\g<string>", line + b"\\").endswith(b"\\")


def _read_joined(
    joined: bytes, readings: tuple[str, ...] = READINGS
) -> dict[str, frozenset[bytes]]:
    """By reading (``READINGS``), the distinct lines of ``joined`` (a file's text, read by
    ``_plain`` and its lines joined by ``_joins``) in a normal form that cheap edits of a line
    do not change, each step one pass over all of them (a line at a time was ten times slower),
    and the steps up to the comments taken once for every reading:

    - letters beyond ASCII are read in their compatibility form, characters that show nothing
      dropped, and other spaces read as spaces (``_plain``);
    - a line ending in a backslash is joined to the next, as the compilers of Python and C
      and the shells join them (code re-wrapped with ``\\`` is the same code), but where the
      backslash ends a comment (``_joins``);
    - each is stripped of the spaces around it (code indented anew, tabs for spaces);
    - a comment after code is cut where it starts outside the line's strings, in the syntax
      of the reading alone (``_TAILS``): ``# noqa``, ``# type: ignore`` read as ``HASH``,
      ``// nolint``, ``/* istanbul ignore next */`` as ``SLASH``, ``-- note`` as ``DASH``;
    - spaces inside it are kept only between two words, one each (``x = f(a, b)`` is
      ``x=f(a,b)``, ``return x`` keeps its space; ``# note`` and `` * note``, comments,
      keep theirs), ``'`` is read as ``"``, capitals as small letters, a comma before a
      closing bracket is cut (``_LAST_COMMA``), and a ``;`` ending it is
      cut (JavaScript written with or without them), and one starting it too, in a file of
      braces (``_CLOSERS``).

    Readings that read the same lines give the same set (the same object); the lines each
    marks for a comment are read by its own ``_TAILS``. Taken for one another where they
    marked the same lines, SQL's reading of ``-- 1 //`` after each line of a query was the
    ``//`` reading's, which keeps ``--1``: the copy of a retired query so kept shared no line
    with it and passed (exit 0), and a shell script's ``a#peg #c`` was read as Python's."""
    lines = {line.strip() for line in joined.splitlines()}
    joined = b"\n".join(lines)
    if (b"\n;" in joined or joined.startswith(b";")) and not _CLOSERS.isdisjoint(lines):
        lines = {line.lstrip(b"; \t") if line.startswith(b";") else line for line in lines}
        joined = b"\n".join(lines)
    hinted = b"\n".join(_commented(joined, _ANY_HINT))
    marked = {reading: frozenset(_commented(hinted, _HINTS[reading])) for reading in readings}
    cut = frozenset().union(*marked.values())
    if not cut:
        return dict.fromkeys(readings, _normal_form(joined))
    rest = lines - cut
    return _read_tails(_normal_form(b"\n".join(rest)) if rest else frozenset(), cut, marked)


def _read_tails(
    base: frozenset[bytes], cut: frozenset[bytes], marked: dict[str, frozenset[bytes]]
) -> dict[str, frozenset[bytes]]:
    """By reading, a file's normal lines: ``base`` (those no reading marked) and those of
    ``cut`` (those one marked), the lines it ``marked`` read by its own ``_TAILS``, readings
    that read them alike given the same set."""
    made: dict[tuple[bytes, frozenset[bytes]], frozenset[bytes]] = {}
    found = {}
    for reading, lines in marked.items():
        key = (_TAILS[reading].pattern if lines else b"", lines)
        if key not in made:
            tail = _TAILS[reading].sub(rb"\g<string>", b"\n".join(lines))
            normal = base | _normal_form(b"\n".join([*(cut - lines), tail] if lines else cut))
            made[key] = next((one for one in made.values() if one == normal), normal)
        found[reading] = made[key]
    return found


def _normal_form(joined: bytes) -> frozenset[bytes]:
    """Lines (one a line of ``joined``), their comments cut, with their spaces, quotes, capitals
    and closing commas and semicolons read alike."""
    spaced = _GAP.sub(b"", _RUNS.sub(b" ", joined.translate(_SPACES)))
    return frozenset(_END.sub(b"", _LAST_COMMA.sub(b"", spaced)).split(b"\n"))


_CLOSERS = frozenset((b"}", b"};", b"})", b"});"))
"""A line's leading ``;`` is an empty statement in a language of braces (JavaScript, C,
Java, Go): in a file holding a line that closes a brace alone, it is cut, as a closing one
is. Elsewhere it opens a comment (Lisp, assembler, an INI file), and the line is one."""


def _plain(data: bytes) -> bytes:
    """``data`` with its letters in their compatibility form (NFKC: Python reads a name in
    fullwidth or mathematical bold letters as the name in ASCII), characters that show nothing
    dropped (a zero-width space or joiner, which JavaScript allows inside a name, a byte order
    mark), every other space a space and a line or paragraph separator a line's end
    (JavaScript and C# read them so). Text in ASCII alone is returned as it is, and bytes that
    are not UTF-8 are kept; a file holding a NUL byte is no UTF-8 text, and its letters are
    left as they are."""
    if data.isascii():
        return data
    data = _UNSEEN.sub(lambda found: _UNSEEN_AS.get(found[0], b""), data)
    if b"\0" in data:
        return data
    text = data.decode("utf-8", "surrogateescape")
    if unicodedata.is_normalized("NFKC", text):
        return data
    return unicodedata.normalize("NFKC", text).encode("utf-8", "surrogateescape")


_UNSEEN = re.compile(
    rb"\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8d\xa8\xa9\xaf]|\xe2\x81[\x9f\xa0]"
    rb"|\xe3\x80\x80|\xef\xbb\xbf"
)
"""In UTF-8, the characters beyond ASCII that are a space (``str.isspace``) or show nothing
(zero-width spaces and joiners, the word joiner, a byte order mark)."""
_UNSEEN_AS = {
    **{chr(c).encode(): b" " for c in range(0x80, 0x3001) if chr(c).isspace()},
    "\u2028".encode(): b"\n",
    "\u2029".encode(): b"\n",
}
"""What ``_plain`` makes of them: a space, a line's end (a line or paragraph separator), or
nothing."""


def _commented(joined: bytes, hint: re.Pattern[bytes]) -> set[bytes]:
    """The lines of ``joined`` (one a line) that may hold a comment after code (``hint``, one
    of ``_HINTS``)."""
    marked: set[bytes] = set()
    after = -1
    for found in hint.finditer(joined):
        if found.start() > after:
            end = joined.find(b"\n", found.start())
            after = len(joined) if end < 0 else end
            marked.add(joined[joined.rfind(b"\n", 0, found.start()) + 1 : after])
    return marked


_CONTINUED = re.compile(rb"\\[ \t]*(?:\r\n?|\n)")
"""A backslash ending a line, whatever ends it: ``\\n``, ``\\r\\n`` or ``\\r`` alone, as Python
reads a file of old Mac line ends (and ``splitlines`` parts it). Read with ``\\n`` alone, a copy
of a retired module re-wrapped with ``\\`` and saved with ``\\r`` ends ran as the retired code,
its lines read parted, and passed (exit 0)."""
_STRING = rb"(?P<string>\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?|`(?:\\.|[^`\\\n])*`?)"
"""A string, its quotes paired and escapes read: kept, so that a ``#`` inside one is no
comment."""
_CHARACTER = (
    rb"(?P<string>\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.[^'\\\n]{0,9}|[^'\\\n][\x80-\xbf]{0,3})'"
    rb"|`(?:\\.|[^`\\\n])*`?)"
)
"""A string in a language where ``'`` quotes one character alone (``'a'``, ``'\\n'``,
``'\\u{1F600}'``): another ``'`` is no string (a Rust lifetime, ``&'a str``; a Haskell name,
``foldl'``; a VHDL attribute, ``clk'event``). Read as opening a string to the line's end, it
kept the comment after it: a retired Rust module kept with ``// note`` after each line of a
lifetime passed (exit 0)."""
_BLOCK = rb"|/\*.*?(?:\*/|$)"
_HINTS = {
    HASH: re.compile(rb"#(?<=[^\n$#]#)"),
    SHELL: re.compile(rb"#(?<=[ \t\f\v;|&()<>]#)"),
    SLASH: re.compile(rb"//(?<![\\/]//)|/\*|<!--"),
    CHAR: re.compile(rb"//(?<![\\/]//)|/\*|<!--"),
    DASH: re.compile(rb"--(?<=.--)|/\*"),
    PRIME: re.compile(rb"--(?<=.--)|/\*"),
    PERCENT: re.compile(rb"%(?<=[^\n$\\%]%)"),
}
"""By reading, what may start a comment after code: only a line holding one is read for it
(``_TAILS``). Each opens with its own characters, the look-behind after them: a pattern opening
with a look-behind is tried at every byte of a file, and took twice as long."""
_ANY_HINT = re.compile(b"|".join(dict.fromkeys(hint.pattern for hint in _HINTS.values())))
"""What may start a comment after code in one reading or another: the lines holding one are
found in one pass, and read for each reading's alone (most files hold none)."""
_TAILS = {
    HASH: re.compile(_STRING[:-1] + rb"|\$\{[^}\n]*\}?)|#(?<=[^\n$#]#).*", re.M),
    SHELL: re.compile(_STRING[:-1] + rb"|\$\{[^}\n]*\}?)|#(?<=[ \t\f\v;|&()<>]#).*", re.M),
    SLASH: re.compile(
        _STRING[:-1] + rb"|\burl\([^)\n]*\))" + _BLOCK + rb"|(?://(?<![\\/]//)|<!--).*", re.M
    ),
    CHAR: re.compile(
        _CHARACTER[:-1] + rb"|\burl\([^)\n]*\))" + _BLOCK + rb"|(?://(?<![\\/]//)|<!--).*", re.M
    ),
    DASH: re.compile(_STRING + _BLOCK + rb"|--(?<=.--).*", re.M),
    PRIME: re.compile(_CHARACTER + _BLOCK + rb"|--(?<=.--).*", re.M),
    PERCENT: re.compile(
        rb"(?P<string>\"(?:\\.|[^\"\\\n])*\"?|'(?:''|[^'\n])*'|[$\\].)|%(?<=[^\n$\\%]%).*", re.M
    ),
}
"""By reading, a string (kept), or a comment within a line of code (cut), running to the
line's end but for ``/* ... */``:

- ``HASH`` (Python, Ruby, Perl, R, TOML): ``#`` outside a string, wherever it stands and
  whatever follows it (``x = 1#c``, ``x = 1#{c}``, ``power_peg(#keep``, ``x = {#old``,
  ``parent.#old``), but after a ``$`` (Perl's ``$#list``) or a ``#``, and inside ``${x#y}``
  (kept as a string is). Kept as code after a ``(``, ``[``, ``{`` or ``.`` for the shells'
  sake, a retired Python module broken after its brackets and dots, ``#keep`` glued to each
  line, passed (exit 0);
- ``SHELL`` (the shells, YAML, Dockerfiles): ``#`` where a word starts alone, after a space or
  one of ``;|&()<>``: ``echo a#b`` prints ``a#b``, and ``$#`` and ``${x#y}`` are code;
- ``SLASH`` and ``CHAR`` (C and the languages of its syntax, CSS; in ``CHAR``'s, C, Java, Go,
  Rust and the like, ``'`` quotes one character alone, ``_CHARACTER``): ``//`` outside a
  string, glued to code
  or not, after a ``:`` too (``case 1://x``, ``a ? b ://x``: kept as a URL's, a retired
  chain of ``? :`` with ``//1`` glued to each line passed, exit 0), but after a ``/`` or
  ``\\`` (a regular expression's ``/\\//``) and inside CSS's ``url(http://a)`` (kept as a
  string is); and ``/* ... */``; and ``<!--``, which JavaScript outside a module reads as
  ``//`` (a retired script with ``<!--1`` glued to each line ran under node and passed, exit
  0); a ``#`` is code there (a CSS colour ``#add8e6``, C's
  ``#define``, Rust's ``#[``), and ``--`` too (``i--``);
- ``DASH`` and ``PRIME`` (SQL, Lua; in ``PRIME``'s, Haskell, Ada and VHDL, ``'`` quotes one
  character alone): ``--`` after code, glued to it or not (``a --c`` and ``a--c`` are
  comments in SQL), and ``/* ... */``;
- ``PERCENT`` (Erlang, MATLAB, TeX): ``%`` after code, outside a string (``"..."``, and
  ``'...'`` closed on its line: MATLAB's transpose ``a'`` is no string), but Erlang's ``$%``
  and TeX's ``\\%``. Read in no language's syntax, a retired Erlang module with ``% step 1``
  after each line passed (exit 0).

Python's floor division (``n // 2``) is no comment, nor a shell's ``--`` ending its options
(``git log -- path``): read all together, ``mid = n // 2`` and ``mid = n // 3`` were one line,
and two deploy scripts differing after ``--`` were alike."""
_SPACES = bytes.maketrans(b"\t\f\v'ABCDEFGHIJKLMNOPQRSTUVWXYZ", b'   "abcdefghijklmnopqrstuvwxyz')
"""Tabs as spaces, ``'`` as ``"``, and capitals as small letters: ``SELECT`` is ``select`` (SQL's
keywords, HTML's tags, hex digits ``0xFF`` have no case)."""
_RUNS = re.compile(rb"  +")
_GAP = re.compile(rb" (?<!^# )(?<!^\* )(?<!^-- )(?:(?!\w)|(?<=\W ))", re.M)
"""A space that parts no two words, but the one after a line's ``#``, ``*`` or ``--`` that
tells a comment (``_COMMENT``) from code (``#define``, ``*ptr``, ``--n``)."""
_END = re.compile(rb";(?=;*(?:\n|\Z))")
_LAST_COMMA = re.compile(rb",(?=[)\]])")
"""A comma closing a list of arguments or items (``f(a, b,)``): Python, JavaScript, Go and
Rust read the list as without it."""


def _line_sets(normal: frozenset[bytes]) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """A file's ``lines`` and ``text_lines``, from its distinct lines in their normal form."""
    text = _with_text(normal)
    return frozenset(filter(_says, text)), text


def _with_text(normal: frozenset[bytes]) -> frozenset[bytes]:
    """Of a file's distinct lines in their normal form, those holding a letter or digit
    (``text_lines``)."""
    return frozenset(s for s in normal if _TEXT.search(s))


_IMPORT = re.compile(
    rb"(?:import\b|from\b.*?\bimport\b|#[ \t]*include\b|using[ \t]|use[ \t]|package[ \t]"
    rb"|require(?:_relative)?\b|(?:const|let|var)\b[\w{}, ]*=require\()"
)
"""A line that imports (Python, Java, JavaScript, Go, C, C#, Rust, PHP, Ruby): what the modules
of one project share by the dozen, and says nothing of where code came from. A retired module
of ten lines, five of them imports, was held (half its lines) by every module importing the
same, and DEAD-004 named them all."""
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN = frozenset(
    b"else try pass return none true false null nil break continue finally except exception "
    b"end do begin self this super raise throw default".split()
)
"""Words a line may be made of alone (``else:``, ``return None``, ``} finally {``, ``end``) and
say nothing: a line of them counts as a ``}`` does. In small letters, as lines are compared
(``normal_lines``)."""


_COMMENT = re.compile(rb"(?:#(?=[\s#!]|$)|//|/\*|\*(?=[\s/]|$)|--\s|<!--|;)")
"""A line that is a comment alone (``# ...``, ``// ...``, ``/* ...``, `` * ...`` inside one,
``-- ...``, ``<!-- ...``, ``; ...``), but a ``#define``: the licence header every module of a
project opens with (thirteen lines of Apache's) is shared by all of them, and a retired module
of twenty lines was held (half its lines) by each, every one named as the retired code."""


def _says(line: bytes) -> bool:
    """Whether a line in its normal form says something of where code came from (``lines``)."""
    if _IMPORT.match(line) or _COMMENT.match(line):
        return False
    words = _WORD.findall(line)
    return any(word not in _PLAIN for word in words) or bool(_TEXT.search(_WORD.sub(b"", line)))


def alike(one: frozenset[bytes], other: frozenset[bytes]) -> bool:
    """Whether two files' ``lines`` share at least ``THRESHOLD`` of the larger set."""
    larger = max(len(one), len(other))
    return larger > 0 and len(one & other) >= THRESHOLD * larger


def holds(mine: frozenset[bytes], sought: frozenset[bytes]) -> bool:
    """Whether a file's normal lines (``mine``) hold at least ``THRESHOLD`` of a sought
    file's ``lines``, and ``MIN_LINES`` of them: the sought code with lines added around it."""
    shared = len(mine & sought)
    return shared >= MIN_LINES and shared >= THRESHOLD * len(sought)


class Short:
    """A sought file of fewer than ``MIN_LINES`` lines that say something (``lines``), and
    ``MIN_LINES`` or more with its imports and bare keywords (``text_lines``): a module of
    three lines of logic under four imports and an ``else:``. Once imports said nothing, it
    was matched by its bytes alone, and its copy with a comment added passed (exit 0). It is
    matched by all its lines, as it was before, where the other file also holds half of the
    lines of it that say something: imports alone make no copy of it."""

    def __init__(self, says: frozenset[bytes], text: frozenset[bytes]) -> None:
        self.says = says
        self.text = text

    def alike(self, mine: frozenset[bytes]) -> bool:
        """Whether a file of ``text_lines`` ``mine`` is alike to it."""
        return alike(mine, self.text) and self._logic(mine)

    def held(self, normal: frozenset[bytes]) -> bool:
        """Whether a file of normal lines ``normal`` holds it among more."""
        return holds(normal, self.text) and self._logic(normal)

    def _logic(self, mine: frozenset[bytes]) -> bool:
        return len(mine & self.says) >= THRESHOLD * len(self.says)


class Likeness:
    """The sought blobs long enough to be matched by likeness, and the files alike to them, in
    each reading of their comments (``READINGS``): a file is alike to a sought one where it is
    so read as its name's language reads comments (``readings_of``, ``readable``)."""

    def __init__(self, sought: Mapping[str, bytes] | None = None) -> None:
        read = {blob: (len(data), normal_readings(data)) for blob, data in (sought or {}).items()}
        made: dict[tuple[int, ...], _Reading] = {}
        self._readings: dict[str, _Reading] = {}
        """By reading, the sought blobs so read; one for readings that read them alike."""
        for reading in READINGS:
            key = tuple(id(normals[reading]) for _, normals in read.values())
            if key not in made:
                made[key] = _Reading({b: (n, ls[reading]) for b, (n, ls) in read.items()})
            self._readings[reading] = made[key]

    @property
    def blobs(self) -> list[str]:
        """The blobs sought by likeness (in one reading at least)."""
        return sorted({blob for one in self._readings.values() for blob in one.blobs})

    def words(self) -> set[str]:
        """The marks a file alike to, or holding, one of the blobs sought may be found as, or
        holding a part of it, in every reading (``tag``) and in all of them."""
        words = set().union(*(one.words() for one in self._readings.values()))
        return words | {tag(reading, word) for reading in READINGS for word in words}

    def marks(self, files: Iterable[bytes], parts: bool = False, tagged: bool = False) -> set[str]:
        """The ``like_mark`` of each sought blob one of ``files`` (a file's bytes, and those
        of the files a compressed one holds) is alike to, the ``hold_mark`` of each it holds
        among more lines of its own; with ``parts``, the ``part_mark`` of each line it holds
        of one, where it holds a part of it (``parts``). A mark found in some readings alone
        is found in any of them (the larger likeness), or ``tagged`` with each (``tag``): the
        reader keeps those of the readings of the file's name (``readable``)."""
        found: set[str] = set()
        unique = {id(one): one for one in self._readings.values()}.values()
        parted = parts and any(one.parts_sought for one in unique)
        for data in files:
            if not parted and not any(one.compared(len(data)) for one in unique):
                continue
            normals = normal_readings(data)
            done: dict[tuple[int, int], set[str]] = {}
            each = {}
            for reading, one in self._readings.items():
                key = (id(one), id(normals[reading]))
                if key not in done:
                    done[key] = one.marks(len(data), normals[reading], parted)
                each[reading] = done[key]
            common = set.intersection(*each.values())
            found |= common
            for reading, marks in each.items():
                found.update(tag(reading, m) if tagged else m for m in marks - common)
        return found


class _Reading:
    """The sought blobs long enough to be matched by likeness in one reading of their comments
    (``READINGS``), and the files alike to them in that reading."""

    def __init__(self, sought: Mapping[str, tuple[int, frozenset[bytes]]]) -> None:
        self._sought: list[tuple[str, int, frozenset[bytes]]] = []
        self._short: dict[str, Short] = {}
        """The sought blobs of fewer than ``MIN_LINES`` lines that say something (``Short``)."""
        self._parted: list[tuple[str, dict[bytes, int]]] = []
        """The sought blobs of ``MIN_LINES`` lines or more, each line's number among them."""
        for blob, (size, normal) in sorted(sought.items()):
            text = _with_text(normal)
            held = frozenset(filter(_says, text))
            if held and len(held) < MIN_LINES <= len(text):
                self._short[blob] = Short(held, text)
                self._sought.append((blob, size, text))
            elif len(held) >= MIN_LINES:
                self._sought.append((blob, size, held))
            if len(held) >= MIN_LINES:
                self._parted.append((blob, {line: n for n, line in enumerate(sorted(held))}))

    @property
    def blobs(self) -> list[str]:
        """The blobs sought by likeness."""
        return [blob for blob, _, _ in self._sought]

    def words(self) -> set[str]:
        """The marks a file alike to, or holding, one of the blobs sought may be found as, or
        holding a part of it."""
        parts = {
            part_mark(blob, n, len(held)) for blob, held in self._parted for n in held.values()
        }
        return parts | {mark(blob) for blob in self.blobs for mark in (like_mark, hold_mark)}

    @property
    def parts_sought(self) -> bool:
        """Whether a sought blob has ``MIN_LINES`` lines or more, whose parts are found."""
        return bool(self._parted)

    def parts(self, normal: frozenset[bytes], wanted: bool = True) -> set[str]:
        """The ``part_mark`` of each line of a sought blob a file holds (``normal``: its
        normal lines); none unless ``wanted``."""
        found: set[str] = set()
        for blob, held in self._parted if wanted else ():
            shared = normal & held.keys()
            found.update(part_mark(blob, held[line], len(held)) for line in shared)
        return found

    def compared(self, size: int) -> list[tuple[str, int, frozenset[bytes]]]:
        """The sought blobs a file of ``size`` bytes may be alike to or hold."""
        return [one for one in self._sought if size * SIZE_RATIO >= one[1]]

    def marks(self, size: int, normal: frozenset[bytes], parted: bool) -> set[str]:
        """The ``like_mark`` of each sought blob a file of ``size`` bytes and normal lines
        ``normal`` is alike to, the ``hold_mark`` of each it holds among more lines of its own;
        with ``parted``, the ``part_mark`` of each line it holds of one (``parts``)."""
        compared = self.compared(size)
        found = self.parts(normal, parted and bool(self._parted))
        near = any(size <= s * SIZE_RATIO for _, s, _ in compared)
        mine = _line_sets(normal) if near else None
        for blob, sought_size, held in compared:
            close = size <= sought_size * SIZE_RATIO
            if mine is not None and close and self._alike(mine, (blob, held)):
                found.add(like_mark(blob))
            elif self._holds(normal, (blob, held)):
                found.add(hold_mark(blob))
        return found

    def _alike(
        self, mine: tuple[frozenset[bytes], frozenset[bytes]], sought: tuple[str, frozenset[bytes]]
    ) -> bool:
        """Whether a file of ``lines`` and ``text_lines`` ``mine`` is alike to the sought blob
        (its id and its lines)."""
        short = self._short.get(sought[0])
        return short.alike(mine[1]) if short is not None else alike(mine[0], sought[1])

    def _holds(self, normal: frozenset[bytes], sought: tuple[str, frozenset[bytes]]) -> bool:
        """Whether a file of normal lines ``normal`` holds the sought blob (its id and
        its lines) among more of its own."""
        short = self._short.get(sought[0])
        return short.held(normal) if short is not None else holds(normal, sought[1])
