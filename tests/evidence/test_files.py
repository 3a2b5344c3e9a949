"""YAML loading: the direct builder for plain documents agrees with PyYAML's constructor."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
import yaml

from checker.errors import InputError
from checker.evidence.files import LineDict, parse_yaml

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
    assert first.line == 2 and first.key_lines["status"] == 4 and first.key_lines["tags"] == 10
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


def test_a_duplicate_key_is_refused_at_its_line() -> None:
    with pytest.raises(InputError, match=r"x.yaml:3: invalid YAML: duplicate key 'name'"):
        parse_yaml(b"flags:\n  - name: a\n    name: b\n", PurePosixPath("x.yaml"))
