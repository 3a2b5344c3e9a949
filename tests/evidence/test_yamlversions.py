"""Versions of a YAML file parsed in pieces give exactly what parsing each whole gives: on
generated histories of edits, and on layouts written to make a cut between items unsafe."""

from __future__ import annotations

import random
from pathlib import PurePosixPath
from typing import Any

import pytest

from checker.errors import InputError
from checker.evidence.files import parse_yaml
from checker.evidence.yamlversions import _UNSAFE, VersionParser, _unsafe

PATH = PurePosixPath("flags.yaml")


def typed(value: Any) -> Any:
    """``value`` with each scalar's type beside it (``1 == True == 1.0`` in Python)."""
    if isinstance(value, dict):
        return ("map", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, value)


def outcome(parse: Any, text: str) -> Any:
    try:
        return typed(parse(text.encode(), PATH))
    except InputError as exc:
        return ("error", exc.message, exc.line)


def assert_same(texts: list[str]) -> VersionParser:
    """Every version, parsed in order by one parser, is what parsing it alone gives."""
    parser = VersionParser("flags")
    for number, text in enumerate(texts):
        expected = outcome(parse_yaml, text)
        assert outcome(parser.parse, text) == expected, f"version {number}:\n{text}"
    return parser


def entry(number: int, indent: str = "", **extra: str) -> str:
    fields = {"purpose": f"feature {number}", "owner": f"team-{number % 7}", "status": "active"}
    fields.update(extra)
    rest = "".join(f"{indent}  {key}: {value}\n" for key, value in fields.items())
    return f"{indent}- name: flag_{number:03d}\n{rest}"


def registry(entries: list[str], head: str = "# the registry\n", tail: str = "") -> str:
    return f"{head}flags:\n{''.join(entries)}{tail}"


def test_a_history_of_small_edits_is_parsed_in_pieces_and_equal() -> None:
    rng = random.Random(7)  # noqa: S311 - a fixed sequence of edits, not a secret
    entries = [entry(n) for n in range(80)]
    texts = []
    for version in range(60):
        place = rng.randrange(len(entries))
        move = rng.choice(["retire", "add", "drop", "comment", "purpose"])
        if move == "retire":
            entries[place] = entry(place, status="retired", retired_at="'2024-01-01'")
        elif move == "add":
            entries.insert(place, entry(100 + version))
        elif move == "drop":
            del entries[place]
        elif move == "comment":
            entries.insert(place, "  # a note between entries\n\n")
        else:
            entries[place] = entry(place, purpose=f"feature {place} v{version}")
        tail = "retired_code:\n- path: old/\n  reason: gone\n  retired_at: '2024-01-01'\n"
        texts.append(registry(entries, tail=tail if version % 2 else ""))
    parser = assert_same(texts)
    # Pieces were reused: the parser knows each distinct entry, not one per version.
    assert 80 <= len(parser.items[0]) < 200


def test_an_indented_list_and_a_change_of_indentation() -> None:
    flat = [entry(n) for n in range(20)]
    nested = [entry(n, indent="  ") for n in range(20)]
    # An item whose text is the same at both columns means something else at each.
    one_line = ["- name: flag_100\n", *flat[1:]]
    texts = [registry(flat), registry(nested), registry(one_line), registry(nested)]
    texts.append(registry(["  - name: flag_100\n  owner: x\n", *nested[1:]]))
    assert_same(texts)


HOSTILE = [
    # A quoted scalar left open in one entry runs into the next.
    '- name: flag_001\n  purpose: "open\n',
    "- name: flag_001\n  purpose: 'open\n",
    # Block scalars and flow collections cross lines.
    "- name: flag_001\n  purpose: |\n",
    "- name: flag_001\n  purpose: >-\n",
    "- name: flag_001\n  purpose: [a,\n",
    "- name: flag_001\n  purpose: {a: 1,\n",
    # A plain scalar continued on the next line.
    "- name: flag_001\n  purpose: feature\n   continued here\n",
    # Anchors, aliases, tags and merge keys.
    "- &first name: flag_001\n",
    "- name: flag_001\n  purpose: &p feature\n",
    "- name: flag_001\n  purpose: *p\n",
    "- name: flag_001\n  purpose: !!str 1\n",
    "- name: flag_001\n  <<: {status: retired}\n",
    # Line breaks YAML counts that a line feed does not: NEL, LINE SEPARATOR, CR.
    "- name: flag_001\n  purpose: a\x85- name: flag_009\n",
    "- name: flag_001\n  purpose: a\u2028- name: flag_009\n",
    "- name: flag_001\r\n  purpose: a\r\n",
    # Tabs, a key given twice, a mapping indented wrongly, an item that is not a mapping.
    "- name: flag_001\n\tpurpose: a\n",
    "- name: flag_001\n  name: flag_009\n",
    "- name: flag_001\n   purpose: a\n",
    "- flag_001\n",
    "- - name: flag_001\n",
    # Scalars Python sees as equal to others of another type.
    "- name: flag_001\n  purpose: 1\n  owner: true\n  status: 1.0\n",
    "- name: flag_001\n  purpose: yes\n  owner: ~\n  status: 0x10\n",
    # An entry that ends the list early, and text that is not the list.
    "--- \n- name: flag_001\n",
    "- name: flag_001\nflags:\n- name: flag_002\n",
    "- name: flag_001\n...\n",
    "- name: flag_001\n  # - name: hidden\n  purpose: x #- name: y\n",
    "- name: flag_001\n- name: flag_001\n",
]


@pytest.mark.parametrize("change", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("indent", ["", "  "])
def test_an_entry_written_to_make_a_cut_unsafe(change: str, indent: str) -> None:
    entries = [entry(n, indent=indent) for n in range(12)]
    changed = "".join(f"{indent}{line}" for line in change.splitlines(keepends=True))
    texts = [registry(entries)]
    for place in (0, 5, 11):
        texts.append(registry([*entries[:place], changed, *entries[place + 1 :]]))
        texts.append(registry([*entries[:place], changed, *entries[place:]], tail="x: 1\n"))
    texts.append(registry(entries))
    assert_same(texts)


@pytest.mark.parametrize(
    "text",
    [
        "flags:\n- name: a\n",  # the first version
        "flags:\n- name: a\n- name: b",  # no line feed at the end
        "flags:\n# only a comment\n",
        "flags:\n",
        "flags: []\n",
        "other: 1\n",
        "flags:\n- name: a\nflags:\n- name: b\n",
        "# head\n%TAG ! tag:example.com,2000:\n---\nflags:\n- name: a\n",
        "flags:\n  - name: a\n- name: b\n",
        "flags:\n- name: a\n  owner: b\n  - name: c\n",
        "a: |\n  flags:\n  - name: x\nflags:\n- name: a\n",
        "flags:\n- name: a\n",
    ],
)
def test_documents_around_the_list(text: str) -> None:
    base = registry([entry(n) for n in range(10)])
    assert_same([base, text, base, text])


def test_an_error_is_named_at_its_own_line_in_every_version() -> None:
    entries = [entry(n) for n in range(10)]
    bad = "- name: flag_050\n  name: flag_051\n"
    first = registry([*entries[:5], bad, *entries[5:]])
    moved = registry(["# two\n# lines\n", *entries[:5], bad, *entries[5:]])
    parser = assert_same([registry(entries), first, moved])
    with pytest.raises(InputError) as raised:
        parser.parse(moved.encode(), PATH)
    assert raised.value.line == first.splitlines().index("  name: flag_051") + 3


def test_a_version_parsed_in_pieces_skips_the_parser_for_known_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The point of the parser: a version differing in one entry parses one entry and the
    frame, not the whole text (so this test fails if the pieces are never used)."""
    import checker.evidence.yamlversions as module

    entries = [entry(n) for n in range(100)]
    parser = VersionParser("flags")
    parser.parse(registry(entries).encode(), PATH)
    parsed: list[int] = []
    real = module.parse_yaml_text

    def counting(text: str, path: PurePosixPath) -> Any:
        parsed.append(len(text.strip()))
        return real(text, path)

    monkeypatch.setattr(module, "parse_yaml_text", counting)
    entries[40] = entry(40, status="retired")
    parser.parse(registry(entries).encode(), PATH)
    assert len(parsed) == 2  # the frame and the one new entry
    assert max(parsed) < 200


def test_an_item_known_from_a_whole_version_is_never_read_out_of_its_context() -> None:
    """An alias's value is its anchor's, elsewhere in the document: an item holding one is
    never kept, so a later version that changes the anchor is not read with the old value."""
    entries = [entry(n) for n in range(20)]
    anchored = "- name: flag_100\n  purpose: &p first\n"
    alias = "- name: flag_101\n  purpose: *p\n"
    texts = [registry([anchored, alias, *entries])]
    texts.append(registry([anchored.replace("first", "second"), alias, *entries]))
    texts.append(registry([anchored.replace("first", "third"), alias, *entries[1:]]))
    assert_same(texts)


ITEMS = "".join(entry(n) for n in range(4))
FOUR = registry([entry(n) for n in range(4)], head="")


@pytest.mark.parametrize(
    "second",
    [
        # A line break YAML reads inside what looks like a comment: it would hide an item,
        # a key after the list, or an error.
        f"flags:\n# x\r- name: hidden\n{ITEMS}",
        f"flags:\n# x\x85- name: hidden\n{ITEMS}",
        f"flags:\n# x\u2028- name: hidden\n{ITEMS}",
        f"flags:\n# \x01\n{ITEMS}",
        f"flags:\n# \x7f\n{ITEMS}",
        f"flags:\n# \ufffe\n{ITEMS}",
        f"{FOUR}  # x\rretired_code:\r- path: src/old.py\n",
        f"flags:\n{entry(0)}{entry(1)}  # x\rtail: 1\n{entry(2)}{entry(3)}",
        # The list's key found inside a quoted scalar that spans lines.
        f'retired_code:\n- path: src/x\n  reason: "t\nflags:\n{ITEMS}end: x"\n'
        "  retired_at: 2024-01-01\nflags:\n",
    ],
    ids=range(9),
)
def test_a_cut_is_never_made_across_a_line_break_yaml_reads_or_a_multi_line_scalar(
    second: str,
) -> None:
    assert_same([FOUR, second, FOUR])


def test_items_of_a_version_parsed_whole_are_kept_only_if_every_line_is_laid_out_so() -> None:
    """A quoted scalar and items written ``-`` then a line break shift which text is which
    item: pairing a whole parse's items with the text's pieces by their place must not
    teach the parser that ``flag_b``'s retired text is active."""

    def item(name: str, status: str, extra: str = "") -> str:
        return f"  - name: {name}\n    status: {status}{extra}\n"

    first = (
        "flags:\n"
        + item("z", "active", '\n    purpose: "notes')
        + item("b", "retired")
        + '  - end"\n  -\n    name: b\n    status: active\n  -\n    name: w\n    status: active\n'
        + "".join(item(f"x{n}", "active") for n in range(3))
    )
    second = "flags:\n" + item("b", "retired") + "".join(item(f"x{n}", "active") for n in range(3))
    assert_same([first, second])


def test_the_ascii_test_for_unsafe_characters_agrees_with_the_search_on_every_character() -> None:
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # no UTF-8 text holds a surrogate
        text = f"flags:\n- name: a{chr(code)}\n"
        assert _unsafe(text) == (_UNSAFE.search(text) is not None), hex(code)
