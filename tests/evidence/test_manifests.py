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
    ],
)
def test_what_readers_read_differently_is_told_of_its_document(text: bytes, said: str) -> None:
    """Of its document alone: the other documents of the file are read."""
    first, second = documents(b"kind: Namespace\n---\n" + text)
    assert first.problem is None and said in (second.problem or "")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"a: 1\na: 2\n", "line 2: a key given twice, or not text"),
        (b"a: [" + b"[" * 3000 + b"]" * 3000 + b"]\n", "RecursionError"),
        (b"a: \xff\n", "UnicodeDecodeError"),
        (b"a: [\n", "line 2"),
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
