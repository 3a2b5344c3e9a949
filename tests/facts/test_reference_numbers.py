"""A number written in parts is the number written whole, and capitals run together hide where
words start. Before, with ``tls_1_3`` retired, ``smarsTls13``, ``TLS_13_ENABLED`` and
``tls_13`` passed DEAD-001 (exit 0), as did ``useAPIV2()`` and ``isAPIv2Enabled()`` with
``api_v2`` retired, and ``TLS_1_3`` with a one-word ``tls13``: an identifier's words were
compared with the flag's one by one, so ``13`` was not ``1``, ``3``, and ``APIV`` was one word,
not ``api``, ``v``."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.evidence.endings import Ended, ending, told
from tests.facts.test_deadcode import flag
from tests.facts.test_reference_spellings import _deployed, _findings
from tests.facts.test_registry_moved import NEW, OLD


def _retired(name: str) -> dict[str, object]:
    return flag(name, OLD, "retired", retired_at="2024-01-02")


@pytest.mark.parametrize(
    ("name", "code", "spelling"),
    [
        ("tls_1_3", "if (flags.smarsTls13) {\n", "smarsTls13"),
        ("tls_1_3", "TLS_13_ENABLED = True\n", "TLS_13_ENABLED"),
        ("tls_1_3", "tls_13 = load()\n", "tls_13"),
        ("tls_13", 'os.environ["SMARS_TLS_1_3"]\n', "SMARS_TLS_1_3"),
        ("api_v2", "if (useAPIV2()) {\n", "useAPIV2"),
        ("api_v2", "if (flags.isAPIv2Enabled()) {\n", "isAPIv2Enabled"),
        ("power_peg", "if (config.smarsPOWERPEG) {\n", "smarsPOWERPEG"),
        ("tls13", 'os.environ["TLS_1_3"]\n', "TLS_1_3"),
        ("tls13", "TLS_13 = 1\n", "TLS_13"),
    ],
)
def test_a_number_or_an_acronym_written_otherwise_is_the_flag(
    tmp_path: Path, name: str, code: str, spelling: str
) -> None:
    result = _deployed(tmp_path, _retired(name), code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")[f"D1:{name}"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("tls13", "if (flags.isTls13Enabled()) {\n"),  # a one-word name has no word around it
        ("tls13", "SMARS_TLS13 = 1\n"),
        ("v2", "if (isV2()) {\n"),
        ("pi_v2", "if (useAPIV2()) {\n"),  # a flag's words start where an acronym may end
        ("api_v2", "RAPIV2 = 1\n"),  # capitals alone: their words are as written
        ("power_peg", "SMARS_POWERPEG = 1\n"),
        ("http_server", "start(config.embeddedHTTP2Server)\n"),  # http2_server's
        ("tls_1_3", "ssl.PROTOCOL_TLSv1_3\n"),
    ],
)
def test_a_number_or_an_acronym_is_no_other_flag(tmp_path: Path, name: str, code: str) -> None:
    result = _deployed(tmp_path, _retired(name), code=code)
    assert result.code == 0, result.json()["findings"]


@pytest.mark.parametrize(
    ("live", "code"),
    [
        ("use_api_v2", "if (useAPIV2()) {\n"),
        ("new_api_v2", "if (isNEWAPIV2Enabled()) {\n"),
        ("tls_13_beta", "TLS_1_3_BETA = 1\n"),
    ],
)
def test_an_active_flag_written_so_is_that_flag(tmp_path: Path, live: str, code: str) -> None:
    retired = "tls_1_3" if live.startswith("tls") else "api_v2"
    result = _deployed(tmp_path, _retired(retired), flag(live, NEW), code=code)
    assert result.code == 0, result.json()["findings"]


def test_where_an_identifiers_words_may_start() -> None:
    assert told("useAPIV2").letters == "useapiv2"
    assert told("useAPIV2").heads == (0, 3, 7)  # not inside the acronym
    assert told("HTTPServer").heads == (0, 4, 5)  # HTTP|Server, or HTTPS|erver
    assert told("SMARS_POWERPEG").maybe == frozenset()  # capitals alone
    ended = Ended([str(ending("tls_1_3")), str(ending("http_server")), str(ending("tls13"))])
    assert ended("isHTTPServerEnabled") == {ending("http_server")}
    assert ended("features.tls.1.3") == {ending("tls_1_3")}
    assert ended("TLS_1_3") == {ending("tls_1_3"), ending("tls13")}
    assert ended("SMARS_TLS_1_3") == {ending("tls_1_3")}  # tls13 is one word: alone
    assert ending("tls_13") == ending("tls_1_3") == ending("TLS1_3")
