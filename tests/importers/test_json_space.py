"""Saved JSON written back to back is separated by JSON's white space alone (space, tab, line
feed, carriage return), as every JSON writer separates it: anything else between two values
(a no-break space, a form feed, a file separator, which ``str.isspace`` would pass) is no
file a tool wrote, and is refused as the file's one reader of JSON refuses it inside a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.errors import InputError
from checker.importers.common import read_documents
from checker.importers.github_pages import linked_pages

SEPARATORS = ["\u00a0", "\f", "\x1c", "\u2028"]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_values_back_to_back_take_json_white_space_alone(tmp_path: Path, separator: str) -> None:
    path = tmp_path / "changes.json"
    path.write_text('{"a": 1}\n \t\r\n{"a": 2}\n', encoding="utf-8")
    assert [value for value, _ in read_documents(path, "changes").values] == [{"a": 1}, {"a": 2}]
    path.write_text('{"a": 1}\n' + separator + '{"a": 2}\n{"a": 3}\n', encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_documents(path, "changes")
    assert "not JSON" in str(raised.value) and "changes.json" in str(raised.value)


@pytest.mark.parametrize("separator", SEPARATORS)
def test_saved_pages_take_json_white_space_alone(tmp_path: Path, separator: str) -> None:
    head = "HTTP/2.0 200 OK\r\ncontent-type: application/json\r\n\r\n"
    text = head + "[]\r\n" + separator + head + "[]\n"
    with pytest.raises(InputError):
        linked_pages(text, tmp_path / "reviews.json", "reviews")
