"""YAML loading: the direct builder for plain documents agrees with PyYAML's constructor."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
import yaml

from checker.errors import InputError
from checker.evidence import jsonread
from checker.evidence.files import LineDict, iter_records, parse_records, parse_yaml

PLAIN = """\
flags:
  - name: power_peg
    purpose: "Power Peg: test-only"
    status: retired
    created: 2003-06-02
    owner: 12
    ratio: 0.5
    enabled: yes
    note: ~
    tags: [a, 'b', "c d"]
  - {name: rlp, purpose: RLP, status: active, created: 2012-07-01}
0x10: hex key
"""


def _general(text: str) -> object:
    """PyYAML's own safe constructor, with timestamps kept as strings like ours."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(t, r) for t, r in resolvers if t != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    document = yaml.load(text, Loader=Loader)  # noqa: S506  (a SafeLoader subclass)
    return {str(k): v for k, v in document.items()}


def test_plain_documents_load_as_pyyaml_loads_them_with_lines() -> None:
    loaded = parse_yaml(PLAIN.encode(), PurePosixPath("flags.yaml"))
    assert loaded == _general(PLAIN)
    assert isinstance(loaded, LineDict)
    first = loaded["flags"][0]
    assert first.line == 2 and first.key_line("status") == 4 and first.key_line("tags") == 10
    assert loaded["flags"][1].line == 11
    assert isinstance(first["owner"], int) and first["enabled"] is True and first["note"] is None


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {status: active}\nflag: *b\n",  # an alias
        "base: &b {status: active}\nflag:\n  <<: *b\n  name: x\n",  # a merge key
        "flag: !!str 12\n",  # an explicit tag
    ],
)
def test_documents_that_are_not_plain_load_the_general_way(text: str) -> None:
    loaded = parse_yaml(text.encode(), PurePosixPath("x.yaml"))
    assert loaded == _general(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [("flags: !!map [a]\n", 1), ("flags:\n- !!map\n - name: x\n", 2), ("!!map [a]\n", 1)],
)
def test_an_explicit_mapping_tag_on_what_is_not_a_mapping_is_an_input_error(
    text: str, line: int
) -> None:
    with pytest.raises(InputError, match="expected a mapping node") as refused:
        parse_yaml(text.encode(), PurePosixPath("x.yaml"))
    assert refused.value.line == line


def test_a_duplicate_key_is_refused_at_its_line() -> None:
    with pytest.raises(InputError, match=r"x.yaml:3: invalid YAML: duplicate key 'name'"):
        parse_yaml(b"flags:\n  - name: a\n    name: b\n", PurePosixPath("x.yaml"))


MORE_PLAIN = [
    "",
    "---\n",
    "--- ~\n",
    "a: |\n  two\n  lines\nb: >-\n  folded\n  text\n",
    "1: one\nfalse: no\n~: nothing\n3.5: float key\n",
    "- [1, [2, [3, {a: b}]]]\n- {}\n- []\n- ''\n",
    "unicode: \"caf\\u00e9 \\U0001F600\"\nquoted: 'it''s'\nplain: it's\n",
    "n: [0o17, 0x1F, 1_000, -3, +4, .5, -.inf, .nan, 1e3]\n",
    "empty:\nlist:\n  -\n  - x\n",
]


@pytest.mark.parametrize("text", MORE_PLAIN)
def test_every_plain_construct_loads_as_pyyaml_loads_it(text: str) -> None:
    loaded = parse_yaml(text.encode(), PurePosixPath("x.yaml"))
    expected = yaml.load(text, Loader=type(_loader()))  # noqa: S506  (a SafeLoader subclass)
    if isinstance(expected, dict):
        expected = {str(k): v for k, v in expected.items()}
    assert repr(loaded) == repr(expected)  # repr: nan is not equal to itself


def _loader() -> yaml.SafeLoader:
    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(t, r) for t, r in resolvers if t != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader("")


def test_two_documents_are_refused() -> None:
    with pytest.raises(InputError, match=r"x.yaml:2: invalid YAML: but found another document"):
        parse_yaml(b"a: 1\n---\nb: 2\n", PurePosixPath("x.yaml"))


def test_records_keep_the_line_each_starts_on() -> None:
    text = b"# head\n- id: a\n  x: 1\n-\n  id: b\n- plain\n- [1, 2]\n"
    records = parse_records(text, PurePosixPath("r.yaml"))
    assert [
        (r.value if not isinstance(r.value, dict) else r.value["id"], r.line) for r in records
    ] == [
        ("a", 2),
        ("b", 5),
        ("plain", 6),
        ([1, 2], 7),
    ]


def test_json_lines_split_at_line_feeds_only() -> None:
    """U+2028 and U+0085 may stand unescaped inside a JSON string: they do not end a line."""
    text = '{"id": "a\u2028b\u0085c"}\r\n\n{"id": "d"}\n'.encode()
    records = parse_records(text, PurePosixPath("r.jsonl"))
    assert [(r.value["id"], r.line) for r in records] == [("a\u2028b\u0085c", 1), ("d", 3)]


@pytest.mark.parametrize("name", ["r.jsonl", "r.yaml"])
def test_a_byte_order_mark_is_named(name: str) -> None:
    text = b"\xef\xbb\xbf" + (b'{"id": "a"}\n' if name.endswith("jsonl") else b"- id: a\n")
    with pytest.raises(InputError, match=f"{name}:1: starts with a UTF-8 byte-order mark"):
        parse_records(text, PurePosixPath(name))
    with pytest.raises(InputError, match="byte-order mark"):
        parse_yaml(b"\xef\xbb\xbfa: 1\n", PurePosixPath("x.yaml"))


@pytest.mark.parametrize("name", ["deploys.yaml", "deploys.jsonl"])
def test_equal_targets_are_one_instance_and_a_bad_one_keeps_its_line(
    tmp_path: Path, name: str
) -> None:
    """10,000 deployments to the same hosts repeat the same targets: each distinct valid
    target is validated once and shared (targets are immutable). A target that is not valid
    is never shared: it is refused at its record's line, as before."""
    from checker.evidence.bundle import load_evidence

    def record(i: int, status: str = "succeeded") -> dict[str, object]:
        return {
            "id": f"D{i}", "service": "web", "environment": "production",
            "commit": "a" * 40, "started_at": f"2024-03-0{i}T10:00:00Z",
            "deployer": "ops@example.com",
            "targets": [{"host": "w1", "status": "succeeded"}, {"host": "w2", "status": status}],
        }  # fmt: skip

    def write(records: list[dict[str, object]]) -> None:
        target = tmp_path / name
        if name.endswith(".jsonl"):
            target.write_text("".join(json.dumps(r) + "\n" for r in records))
        else:
            target.write_text(yaml.safe_dump(records, sort_keys=False))

    write([record(1), record(2), record(3, "failed")])
    deployments = load_evidence(tmp_path).deployments
    first, second, third = (d.targets for d in deployments)
    assert first[0] is second[0] is third[0] and first[1] is second[1]
    assert third[1].status == "failed" and third[1] is not first[1]
    write([record(1), record(2, "succeded")])
    with pytest.raises(InputError) as refused:
        load_evidence(tmp_path)
    assert refused.value.line == (2 if name.endswith(".jsonl") else 22)  # its status line
    assert "succeded" in refused.value.message


LOOKED_AT_DOCUMENTS = [
    '{"id": "d1", "service": "svc", "targets": [{"host": "h1", "status": "failed"}]}',
    '{"id": "d1", "service": "svc", "service": "other"}',  # the last of a key twice
    '{"service": ["svc"], "commit": 7, "started_at": null}',
    '{"id": "d1", "targets": [{"weight": NaN}]}',
    '{"id": "d1", "note": "Infinity"}',  # the word in a string: looked at whole, same answer
    '{"id": "d1", "x": -Infinity}',
    '{"id": "d1\\ud800"}',
    '{"id": "d1", "x": "\\ud800"}',
    '{"id": "d1"} trailing',
    '{"id": ',
    '["svc"]',
    '"svc"',
    "7",
    '{"id": "d1", "n": ' + "7" * 5000 + "}",
    '{"id": "d1", "deep": ' + "[" * 5000 + "]" * 5000 + "}",
    ' {"id": "d1"} ',
]


@pytest.mark.parametrize("text", LOOKED_AT_DOCUMENTS)
def test_looking_at_some_keys_refuses_and_reads_as_looking_at_all(text: str) -> None:
    """``look_at`` builds only the keys it is asked for, but every document ``look`` refuses
    it refuses with the same message, as it does one that gives a key it reads twice; of the
    others it reads those keys as ``look`` does: a gate passes over no record a run judging
    every record would refuse for what it reads."""
    fields = jsonread.looked_at("id", "service", "commit", "started_at")
    try:
        whole = jsonread.loads(text, jsonread.LENIENT_KEYS)
        if any(text.count(f'"{key}"') > 1 for key in ("id", "service", "commit", "started_at")):
            whole = jsonread.loads(text)  # a key read twice is refused, not read as one of two
    except ValueError as exc:
        with pytest.raises(ValueError) as raised:
            jsonread.look_at(text, fields)
        assert str(raised.value) == str(exc)
        return
    part = jsonread.look_at(text, fields)
    if not isinstance(whole, dict):
        assert part == whole
        return
    keys = ("id", "service", "commit", "started_at")
    assert {k: part[k] for k in keys if k in part} == {k: whole[k] for k in keys if k in whole}


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "d2", "service": "web", "\\u0073ervice": "api", "commit": "c", "started_at": "t"}',
        '{"id": "d2", "service": "web", "commit": "c", "started_at": "t", "x": NaN}',
    ],
)
def test_a_line_looked_at_is_screened_with_its_file(line: str) -> None:
    """The file is searched once for what makes a line be read whole (``\\u``, ``NaN``); a
    file that holds one reads that line whole, and refuses it, among clean lines."""
    clean = '{"id": "d1", "service": "api", "commit": "c", "started_at": "t"}'
    data = f"{clean}\n{line}\n{clean}\n".encode()
    fields = jsonread.looked_at("id", "service", "commit", "started_at")
    with pytest.raises(InputError) as raised:
        list(iter_records(data, PurePosixPath("deploys.jsonl"), lambda raw, n: False, fields))
    assert raised.value.line == 2


_CLEAN = '{"id": "d1", "service": "api", "commit": "c", "started_at": "t"}'
_NESTED = '{"id": "d3", "service": "api", "meta": {"service": "x"}, "commit": "c"}'


@pytest.mark.parametrize(
    ("lines", "line"),
    [
        ([_CLEAN, _CLEAN, '{"id": "d2", "service": "web", "service": "api"}', _CLEAN], 3),
        ([_NESTED, _CLEAN, '{"id": "d2", "commit": "a", "commit": "b"}'], 3),
        (['{"id": "d2", "id": "d9", "meta": {"id": 1}}', _NESTED], 1),
    ],
)
def test_a_key_given_twice_in_a_record_passed_over_is_refused(lines: list[str], line: int) -> None:
    """A record only looked at (another service's, at a gate) that gives a looked-at key twice
    is refused, naming its line, whatever else names the key (a nested object); one whose
    name stands twice only because a nested object holds it is read as it is."""
    fields = jsonread.looked_at("id", "service", "commit", "started_at")
    data = "".join(f"{text}\n" for text in lines).encode()
    with pytest.raises(InputError, match="duplicate key") as raised:
        list(iter_records(data, PurePosixPath("deploys.jsonl"), lambda raw, n: False, fields))
    assert raised.value.line == line
    nested = f"{_NESTED}\n{_CLEAN}\n".encode()
    seen: list[dict[str, str]] = []
    list(
        iter_records(nested, PurePosixPath("d.jsonl"), lambda r, n: seen.append(r) or False, fields)
    )
    assert [r["service"] for r in seen] == ["api", "api"]
