"""Manifests read as data: what every YAML reader reads alike, and nothing else."""

from __future__ import annotations

import re

import pytest

from checker.evidence.manifests import Unreadable, canonical, documents


def test_a_file_of_several_documents_is_read_as_data() -> None:
    read = documents(b"---\nkind: Namespace\n---\n# values\n{b: 1.0, a: [x, 'true']}\n")
    assert [canonical(d.data) for d in read] == ['{"kind":"Namespace"}', '{"a":["x","true"],"b":1}']
    assert [d.problem for d in read] == [None, None]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"enabled: yes\n", "YAML 1.1 and YAML 1.2 read a value of it differently"),
        (b"mode: 0755\n", "YAML 1.1 and YAML 1.2 read a value of it differently"),
        (b"on: push\n", "a key that is not text"),
        (b"a: !!binary aGk=\n", "a value JSON cannot hold (bytes)"),
        (b"a: 0o14\n", "go-yaml reads '0o14' otherwise than as this text"),
        (b"a: 0X1F\n", "go-yaml reads '0X1F' otherwise"),
        (b"a: [1_000]\n", "go-yaml reads '1_000' otherwise"),
        (b"a: {debug: n}\n", "go-yaml reads 'n' otherwise"),
        (b"a: 2024-1-2\n", "go-yaml reads '2024-1-2' otherwise"),
        (b"y: 1\n", "a key that is not text"),
    ],
)
def test_what_readers_read_differently_is_told_of_its_document(text: bytes, said: str) -> None:
    """Of its document alone: the other documents of the file are read."""
    first, second = documents(b"kind: Namespace\n---\n" + text)
    assert first.problem is None and said in (second.problem or "")


@pytest.mark.parametrize(
    "text", [b"a: '0o14'\n", b"a: 0x1p-2\n", b"a: v1_2\n", b"a: n1\n", b"a: '2024-01-02'\n"]
)
def test_text_every_reader_reads_as_text_is_read(text: bytes) -> None:
    """kustomize renders these as the text they are (a hexadecimal float is no number to
    go-yaml)."""
    (document,) = documents(text)
    assert document.problem is None and isinstance(document.data["a"], str)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"a: 1\na: 2\n", "line 2: a key given twice, or not text"),
        (b"a: [" + b"[" * 3000 + b"]" * 3000 + b"]\n", "RecursionError"),
        (b"a: \xff\n", "UnicodeDecodeError"),
        (b"a: [\n", "line 2"),
        (b"a: 1\n---\n\xef\xbb\xbfkind: B\n", "line 3: a byte order mark within the file"),
    ],
)
def test_a_file_that_does_not_parse_is_unreadable_whole(text: bytes, said: str) -> None:
    with pytest.raises(Unreadable, match=re.escape(said)):
        documents(text)


def test_aliases_are_not_expanded_beyond_any_manifests_size() -> None:
    """Nine levels of nine aliases each: 387 million values, refused, not built."""
    lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 10):
        lines.append(b"a%d: &a%d [%s]" % (n, n, b", ".join([b"*a%d" % (n - 1)] * 9)))
    (document,) = documents(b"\n".join(lines) + b"\n")
    assert document.problem == "nested or aliased beyond any manifest's size"


def test_the_items_of_a_list_are_documents() -> None:
    """A ``List`` (one within it too) is its items, as ``kubectl apply`` and kustomize read
    it; UTF-16 with its byte order mark is read."""
    text = "kind: List\nitems:\n- {kind: A}\n- kind: ConfigMapList\n  items: [{kind: B}]\n"
    for data in (text.encode(), text.encode("utf-16")):
        assert [canonical(d.data) for d in documents(data)] == ['{"kind":"A"}', '{"kind":"B"}']


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"kind: List\nitems:\n- {kind: A, on: true}\n", "a List: a key that is not text"),
        (b"kind: List\nitems:\n- {kind: A, a: 0755}\n", "a List: YAML 1.1 and YAML 1.2 read"),
    ],
)
def test_a_list_read_otherwise_is_unreadable_whole(text: bytes, said: str) -> None:
    """Which of its items is the object's is not told where it cannot be read alike."""
    with pytest.raises(Unreadable, match=re.escape(said)):
        documents(text)


def test_a_list_of_aliases_is_not_expanded_beyond_any_manifests_size() -> None:
    lines = [b"kind: List", b"a0: &a0 {kind: List, items: [{kind: A}, {kind: A}, {kind: A}]}"]
    for n in range(1, 12):
        lines.append(b"a%d: &a%d {kind: List, items: [*a%d, *a%d, *a%d]}" % (n, n, *[n - 1] * 3))
    lines.append(b"items: [*a11, *a11, *a11]")
    with pytest.raises(Unreadable, match="beyond any manifest's size"):
        documents(b"\n".join(lines) + b"\n")
