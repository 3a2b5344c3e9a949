"""A configuration key or a string holds a flag's words apart. Before, with ``power_peg``
retired, code reading ``config.get("smars.power.peg")``, ``features.power.peg.enabled``,
``flags/power/peg``, ``Features:Power:Peg`` or ``getFlag("power peg")`` passed DEAD-001
(exit 0): ``.``, ``/``, ``:`` and a space ended an identifier, and ``peg`` alone is no
flag's name."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from checker.evidence import identifiers
from checker.evidence.endings import Ended, ending
from checker.evidence.flagnames import SUFFIXES
from checker.evidence.identifiers import KEY_RUN, Apart, Identifiers
from tests.facts.test_deadcode import flag
from tests.facts.test_reference_spellings import RETIRED, _deployed, _findings
from tests.facts.test_registry_moved import NEW, OLD


@pytest.mark.parametrize(
    ("code", "spelling"),
    [
        ('on = config.get("smars.power.peg")\n', "smars.power.peg"),
        ("features.power.peg.enabled: true\n", "features.power.peg.enabled"),
        ("consul kv get flags/power/peg\n", "flags/power/peg"),
        ('Configuration["Features:Power:Peg"]\n', "Features:Power:Peg"),
        ('redis.get("flags:power:peg")\n', "flags:power:peg"),
        ('getFlag("power.peg")\n', "power.peg"),
        ("if smars::power::peg::on() {\n", "smars::power::peg::on"),
        ("smars.POWER.PEG = 1\n", "smars.POWER.PEG"),
        ('getFlag("power peg")\n', '"power peg"'),
        ("label = 'Power Peg'\n", "'Power Peg'"),
    ],
)
def test_a_retired_flag_in_a_key_or_a_string_is_referenced(
    tmp_path: Path, code: str, spelling: str
) -> None:
    result = _deployed(tmp_path, RETIRED, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")["D1:power_peg"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


@pytest.mark.parametrize(
    ("name", "code", "spelling"),
    [
        ("tls_13", "ssl.features.tls.1.3 = on\n", "ssl.features.tls.1.3"),
        ("checkout_2024", 'flag("web/checkout/2024")\n', "web/checkout/2024"),
        ("api_v2", "routes.API.V2 = []\n", "routes.API.V2"),
    ],
)
def test_a_key_holding_a_number_is_referenced(
    tmp_path: Path, name: str, code: str, spelling: str
) -> None:
    retired = flag(name, OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, retired, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")[f"D1:{name}"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


def test_a_key_holding_the_name_whole_is_named_so(tmp_path: Path) -> None:
    """``features.power_peg`` holds the word ``power_peg`` and is found as it (not as a key
    too), and ``server.isPowerPegEnabled`` as the identifier its last part is."""
    code = "features.power_peg = 1\nserver.isPowerPegEnabled()\n"
    result = _deployed(tmp_path, RETIRED, code=code)
    message = _findings(result, "DEAD-001")["D1:power_peg"]
    assert message.endswith("in 1 file: src/app.py (as isPowerPegEnabled and power_peg).")


@pytest.mark.parametrize(
    "code",
    [
        "flags.power.peg.v2 = 1\n",  # power_peg_v2's key
        "smars.power.peg.router = make()\n",  # the flag's words in the middle
        "from smars.power import peg\n",
        'flags["power"]["peg"]\n',
        "# the power peg was retired in 2005\n",  # prose, not a key
        'say("the power peg")\n',
        'say("power peg enabled")\n',
        'say("power  peg")\n',
        "smars.power.pegs = 1\n",
    ],
)
def test_a_key_or_string_of_other_words_is_not_the_flag(tmp_path: Path, code: str) -> None:
    result = _deployed(tmp_path, RETIRED, code=code)
    assert result.code == 0, result.json()["findings"]


@pytest.mark.parametrize(
    ("live", "code"),
    [
        ("new_power_peg", 'cfg("smars.new.power.peg")\n'),
        ("new_power_peg", 'cfg("new power peg")\n'),
        ("power_peg_enabled", 'cfg("power.peg.enabled")\n'),
    ],
)
def test_an_active_flag_in_a_key_or_a_string_is_that_flag(
    tmp_path: Path, live: str, code: str
) -> None:
    result = _deployed(tmp_path, RETIRED, flag(live, NEW), code=code)
    assert result.code == 0, result.json()["findings"]


def _keys_and_strings(text: bytes, ended: Ended, words: bytes) -> set[bytes]:
    """What a text holds of a flag's words apart, found the slow way: every key with a
    separator ending with them across one, every quoted string of them (``words``) alone."""
    found = set()
    for key in KEY_RUN.findall(text):
        parts = re.split(rb"::|[./:]", key)
        if len(parts) == 1 or not ended(key.decode()):
            continue
        alone = ended(parts[-1].decode())
        if parts[-1].decode().lower() in SUFFIXES:
            alone |= ended(parts[-2].decode())
        if ended(key.decode()) - alone:
            found.add(key)
    for match in re.finditer(rb"""(?=(["'`])((?:[A-Za-z0-9]+ )+[A-Za-z0-9]+)\1)""", text):
        if match[2].lower() == words:
            found.add(text[match.start() : match.start() + len(match[2]) + 2])
    return found


@pytest.mark.parametrize("remembered", [identifiers.REMEMBERED, 5])
def test_keys_and_strings_found_are_those_the_slow_way_finds(
    monkeypatch: pytest.MonkeyPatch, remembered: int
) -> None:
    """``Apart`` looks for keys and strings only where a piece that may end one stands after a
    separator or before a quote, in texts that also hold one where its words may start: on
    every text of up to five of these parts, it finds what judging every key and string
    finds, a second reading (from memory) too."""
    monkeypatch.setattr(identifiers, "REMEMBERED", remembered)
    marker = str(ending("abc_de"))
    reader, ended = Identifiers([marker]), Ended([marker])
    parts = [b"abc", b"xAbc", b"De", b"de", b"on", b".", b"::", b"/", b"-", b" ", b'"']
    for _reading in range(2):
        for size in range(6):
            for picked in itertools.product(parts, repeat=size):
                text = b"".join(picked)
                tokens, runs, ending_ = reader.read(text)
                apart = {w for w in ending_ if w not in tokens | runs}
                assert apart == _keys_and_strings(text, ended, b"abc de"), text


def test_a_text_without_where_a_flags_words_start_is_not_cut_into_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A text holding ``.peg`` but no ``power`` holds no key of ``power_peg``: it is not
    searched for one."""
    looked: list[int] = []
    real = Apart._keys

    def keys(self: Apart, text: bytes, cut: bytes, at: int) -> frozenset[bytes]:
        looked.append(at)
        return real(self, text, cut, at)

    monkeypatch.setattr(Apart, "_keys", keys)
    reader = Identifiers([str(ending("power_peg"))])
    reader.read(b"x.peg = 1\n")
    assert looked == []
    reader.read(b"x.peg = power\n")
    assert looked == [1]


def test_a_long_run_of_key_bytes_is_read_near_its_separators(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run of key bytes longer than the reach (base64 holds ``/``) is not read whole for
    each separator in it: a key at its end is read from a separator in reach, and is found
    as the run's last words are."""
    spans: list[int] = []
    real = KEY_RUN.findall

    class Counting:
        def findall(self, span: bytes) -> list[bytes]:
            spans.append(len(span))
            return real(span)

        def __getattr__(self, name: str) -> object:
            return getattr(KEY_RUN, name)

    monkeypatch.setattr(identifiers, "KEY_RUN", Counting())
    marker = str(ending("power_peg"))
    reader = Identifiers([marker, str(ending("new_power_peg"))])
    long = b"ab/" * 50_000
    _, _, found = reader.read(b"power = " + long + b"power.peg = 1\n" + long + b"peg+\n")
    [key] = found
    assert key.endswith(b"/ab/power.peg") and len(key) <= 2 * identifiers._REACH
    assert max(spans) <= 2 * identifiers._REACH
    _, _, found = reader.read(b"x" * 5_000 + b"new.power.peg\n")  # xxxnew is not new
    assert Ended([marker])(found.pop().decode()) == {marker}
