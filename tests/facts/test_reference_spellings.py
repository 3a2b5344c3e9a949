"""Code reading a flag under another spelling references it. Before, with ``power_peg`` retired,
code reading ``os.environ["POWER_PEG"]``, ``getFlag("power-peg")``, ``flags.PowerPeg`` or
``flags.powerPeg`` passed DEAD-001 (exit 0): references were searched for as the registry spelt
the name, and DEAD-005 could not fire either, as those spellings were flags nowhere."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence import identifiers
from checker.evidence.endings import Ended, ending
from checker.evidence.flagnames import spellings, words
from checker.evidence.git_content import _word_pattern
from checker.evidence.identifiers import KEBAB_RUN, Identifiers
from tests.conftest import CliResult
from tests.facts.test_deadcode import _deployed_once, flag, registry
from tests.facts.test_registry_moved import NEW, OLD, _commit

RETIRED = flag("power_peg", OLD, "retired", retired_at="2024-01-02")


def _findings(result: CliResult, rule: str) -> dict[str, str]:
    return {f["subject"]: f["message"] for f in result.json()["findings"] if f["rule"] == rule}


def _deployed(tmp_path: Path, *flags: dict[str, object], code: str) -> CliResult:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = _commit(repo, 1, {"flags.yaml": registry(*flags), "src/app.py": code})
    return _deployed_once(tmp_path, repo, sha)


@pytest.mark.parametrize(
    ("code", "spelling"),
    [
        ('os.environ["POWER_PEG"]\n', "POWER_PEG"),
        ('getFlag("power-peg")\n', "power-peg"),
        ("flags.PowerPeg\n", "PowerPeg"),
        ("flags.powerPeg\n", "powerPeg"),
        ("run --power-peg\n", "power-peg"),
        ('getFlag("power-peg-" + suffix)\n', "power-peg"),
    ],
)
def test_a_retired_flag_read_under_another_spelling_is_referenced(
    tmp_path: Path, code: str, spelling: str
) -> None:
    result = _deployed(tmp_path, RETIRED, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")["D1:power_peg"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


def test_each_file_names_the_spelling_it_holds(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    files = {"a.py": "power_peg\n", "b.go": "flags.PowerPeg\n", "c.sh": "$POWER_PEG power_peg\n"}
    sha = _commit(repo, 1, {"flags.yaml": registry(RETIRED), **files})
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    assert _findings(result, "DEAD-001")["D1:power_peg"].endswith(
        "in 3 files: a.py, b.go (as PowerPeg), c.sh (as POWER_PEG and power_peg)."
    )


def test_a_flag_no_registry_lists_read_under_another_spelling_is_unregistered(
    tmp_path: Path,
) -> None:
    """Listed at first, then dropped (not retired): code reading it as ``POWER_PEG`` is a flag
    the registry does not list (DEAD-005, low: not failing at the default ``--fail-on``)."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": registry(flag("power_peg", OLD), flag("other", NEW))})
    sha = _commit(repo, 2, {"flags.yaml": registry(flag("other", NEW)), "x.py": "POWER_PEG\n"})
    result = _deployed_once(tmp_path, repo, sha)
    assert "x.py (as POWER_PEG)" in _findings(result, "DEAD-005")["D1:power_peg"]


@pytest.mark.parametrize(
    "code",
    [
        'getFlag("power-peg-v2")\n',  # another flag's name, as power_peg_v2 is
        "POWER_PEG_V2\n",
        "flags.PowerPegV2\n",
        "power_pegs\n",
    ],
)
def test_a_longer_name_is_not_the_flag(tmp_path: Path, code: str) -> None:
    active = flag("power_peg_v2", NEW)
    result = _deployed(tmp_path, RETIRED, active, code=code)
    assert result.code == 0, result.json()["findings"]


def test_a_spelling_of_an_active_flag_is_that_flag(tmp_path: Path) -> None:
    """``power_peg`` retired earlier and written active as ``PowerPeg`` (DEAD-002): code
    reading ``PowerPeg`` or ``POWER_PEG`` reads the active flag, not the retired one."""
    repo = ScriptedRepo(tmp_path / "repo")
    _commit(repo, 1, {"flags.yaml": registry(RETIRED)})
    live = registry(flag("PowerPeg", OLD))
    sha = _commit(repo, 2, {"flags.yaml": live, "a.go": "flags.PowerPeg\n", "b.sh": "POWER_PEG\n"})
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    assert set(_findings(result, "DEAD-002")) == {"power_peg"}
    assert _findings(result, "DEAD-001") == {}
    assert _findings(result, "DEAD-005") == {}


def test_the_spellings_of_a_name() -> None:
    usual = {"power_peg", "POWER_PEG", "power-peg", "powerPeg", "PowerPeg", "powerpeg", "POWERPEG"}
    affixed = {"isPowerPegEnabled", "FLAG_POWER_PEG", "enable-power-peg", "kPowerPeg"}
    for name in ["power_peg", "PowerPeg", "power-peg", "power\u200b_peg", "power.peg"]:
        assert spellings(name) >= usual | affixed | {name, "FLAGS_power_peg"}
        assert spellings(name) == spellings("power_peg") | {name}
    assert words("HTTPServer") == ["HTTP", "Server"]
    assert words("v2Router_2fa") == ["v2", "Router", "2fa"]
    assert spellings("alpha") == {"alpha", "ALPHA", "Alpha", "FLAGS_alpha"}  # no isAlpha
    assert spellings("gr\u00f6\u00dfe_x") == {"gr\u00f6\u00dfe_x"}  # only as the registry has it


@pytest.mark.parametrize(
    ("code", "spelling"),
    [
        ("if (flags.isPowerPegEnabled()) {\n", "isPowerPegEnabled"),
        ("static final String FLAG_POWER_PEG = load();\n", "FLAG_POWER_PEG"),
        ('os.environ["POWER_PEG_ENABLED"]\n', "POWER_PEG_ENABLED"),
        ("smars --enable-power-peg\n", "enable-power-peg"),
        ("base::FeatureList::IsEnabled(features::kPowerPeg)\n", "kPowerPeg"),
        ("if (FLAGS_power_peg) {\n", "FLAGS_power_peg"),
        ("const on = usePowerPeg();\n", "usePowerPeg"),
        ("#define POWERPEG 1\n", "POWERPEG"),
        ("smars --no-power-peg\n", "no-power-peg"),
        ("if (config.getPowerPeg()) {\n", "getPowerPeg"),
    ],
)
def test_a_retired_flag_inside_the_identifier_that_tests_it_is_referenced(
    tmp_path: Path, code: str, spelling: str
) -> None:
    """Before, ``power_peg`` retired, code testing it as ``isPowerPegEnabled()`` or
    ``FLAG_POWER_PEG`` passed DEAD-001 (exit 0): the name was searched for as a whole word
    alone, and these hold it inside a longer one."""
    result = _deployed(tmp_path, RETIRED, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")["D1:power_peg"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


@pytest.mark.parametrize(
    "code",
    [
        "POWER_PEG_ENABLED\n",  # the active flag power_peg_enabled's own name
        "isPowerPegV2Enabled()\n",  # power_peg_v2's
        "PowerPegasus\n",
        "isPowerPegsEnabled()\n",
    ],
)
def test_an_identifier_of_another_name_is_not_the_flag(tmp_path: Path, code: str) -> None:
    live = [flag("power_peg_enabled", NEW), flag("power_peg_v2", NEW)]
    result = _deployed(tmp_path, RETIRED, *live, code=code)
    assert result.code == 0, result.json()["findings"]


def test_a_one_word_flag_is_not_searched_inside_identifiers(tmp_path: Path) -> None:
    """``isAlpha()`` is a character test in many languages: a retired flag ``alpha`` is not
    searched with words around it."""
    alpha = flag("alpha", OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, alpha, code="if c.isAlpha() or ALPHA_ENABLED:\n")
    assert result.code == 0, result.json()["findings"]


def test_a_one_word_gflags_flag_is_referenced(tmp_path: Path) -> None:
    """Before, ``turbo`` retired, C++ reading it as gflags' ``FLAGS_turbo`` (declared in a
    header of another repository) passed DEAD-001 (exit 0): ``FLAGS_`` was added to names of
    two words or more alone, and ``FLAGS_turbo`` is one token that is not ``turbo``."""
    turbo = flag("turbo", OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, turbo, code="if (absl::GetFlag(FLAGS_turbo)) {\n")
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")["D1:turbo"]
    assert "in 1 file: src/app.py (as FLAGS_turbo)." in message


@pytest.mark.parametrize(
    ("live", "code"),
    [
        ("power_peg_enabled", "if (flags.isPowerPegEnabled()) {\n"),  # its Java getter
        ("power_peg_enabled", "base::FeatureList::IsEnabled(features::kPowerPegEnabled)\n"),
        ("power_peg_enabled", 'os.environ["FF_POWER_PEG_ENABLED"]\n'),
        ("enable_power_peg", "ENABLE_POWER_PEG_ON = True\n"),
    ],
)
def test_an_active_flag_with_a_word_around_it_is_that_flag(
    tmp_path: Path, live: str, code: str
) -> None:
    """Before, with ``power_peg`` retired and ``power_peg_enabled`` active, the active flag's
    own getter ``isPowerPegEnabled()`` was DEAD-001 of the retired flag (exit 1): it is also
    ``power_peg`` with ``is`` before and ``enabled`` after it, and only a spelling whose key an
    active flag has was taken for that flag."""
    result = _deployed(tmp_path, RETIRED, flag(live, NEW), code=code)
    assert result.code == 0, result.json()["findings"]


@pytest.mark.parametrize(
    ("flags", "code", "spelling"),
    [
        # the retired flag with one word around it, beside an active one with a word more
        ((RETIRED, flag("power_peg_enabled", NEW)), "kPowerPeg\n", "kPowerPeg"),
        ((RETIRED, flag("power_peg_enabled", NEW)), "isPowerPegOn()\n", "isPowerPegOn"),
        ((RETIRED, flag("enable_power_peg", NEW)), "FLAG_POWER_PEG_ON\n", "FLAG_POWER_PEG_ON"),
        # the retired name holds the word: it is the retired flag, not the active power_peg
        (
            (
                flag("enable_power_peg", OLD, "retired", retired_at="2024-01-02"),
                flag("power_peg", NEW),
            ),
            "ENABLE_POWER_PEG = 1\n",
            "ENABLE_POWER_PEG",
        ),
    ],
)
def test_a_retired_flag_beside_a_longer_active_one_is_still_found(
    tmp_path: Path, flags: tuple[dict[str, object], ...], code: str, spelling: str
) -> None:
    result = _deployed(tmp_path, *flags, code=code)
    assert result.code == 1, result.err
    [message] = _findings(result, "DEAD-001").values()
    assert f"in 1 file: src/app.py (as {spelling})." in message


def test_a_kebab_name_is_one_of_the_runs_its_pattern_finds() -> None:
    """A kebab-case word is looked up among a text's runs (``KEBAB_RUN``) rather than searched
    with its pattern: the two agree on every text of up to five characters around it."""
    for word in ["a-b", "b-a-b", "a_b-a", "ab-b"]:
        for size in range(6):
            for chars in itertools.product(["a", "b", "-", "_", " ", "\u00e9"], repeat=size):
                for cut in range(size + 1):
                    text = ("".join(chars[:cut]) + word + "".join(chars[cut:])).encode()
                    found = bool(_word_pattern(word).search(text))
                    assert (word.encode() in KEBAB_RUN.findall(text)) == found, text


def test_a_file_holding_a_flags_words_costs_no_pattern_per_spelling(tmp_path: Path) -> None:
    """Before, a file holding ``power`` and ``peg`` and the words code puts around a flag
    (``is``, ``on``, ``enable``: most code) was searched with one pattern per kebab-case
    spelling of it, sixty-odd, and with 300 flags of everyday words 3,000 source files took
    130 s against 3.7 s before those spellings: each is now looked up among the file's runs."""
    code = "is on enable disable use has should flag feature ff k enabled disabled active\n"
    _word_pattern.cache_clear()
    result = _deployed(tmp_path, RETIRED, code=code + "power = peg\nrun --enable-power-peg-on\n")
    assert result.code == 1, result.err
    assert "(as enable-power-peg-on)" in _findings(result, "DEAD-001")["D1:power_peg"]
    assert _word_pattern.cache_info().misses == 0


@pytest.mark.parametrize(
    ("code", "spelling"),
    [
        ('if os.environ.get("SMARS_POWER_PEG"):\n', "SMARS_POWER_PEG"),
        ("const on = process.env.REACT_APP_POWER_PEG;\n", "REACT_APP_POWER_PEG"),
        ("const on = import.meta.env.VITE_POWER_PEG;\n", "VITE_POWER_PEG"),
        ("const on = process.env.NEXT_PUBLIC_POWER_PEG;\n", "NEXT_PUBLIC_POWER_PEG"),
        ('flag = getenv("APP_FEATURE_POWER_PEG")\n', "APP_FEATURE_POWER_PEG"),
        ("REACT_APP_POWER_PEG_ENABLED=true\n", "REACT_APP_POWER_PEG_ENABLED"),
        ("if (config.smarsPowerPeg) {\n", "smarsPowerPeg"),
        ("flags.SmarsPowerPeg\n", "SmarsPowerPeg"),
        ('getFlag("smars-power-peg")\n', "smars-power-peg"),
        ("smars_power_peg = load()\n", "smars_power_peg"),
        ("if (shouldUsePowerPeg()) {\n", "shouldUsePowerPeg"),
        ("self._power_peg = True\n", "_power_peg"),
        ("Power_Peg = 1\n", "Power_Peg"),
        ('getFlag("SMARS-POWER-PEG")\n', "SMARS-POWER-PEG"),
    ],
)
def test_a_retired_flag_at_the_end_of_any_identifier_is_referenced(
    tmp_path: Path, code: str, spelling: str
) -> None:
    """Before, ``power_peg`` retired, code reading it as ``SMARS_POWER_PEG``, Create React
    App's ``REACT_APP_POWER_PEG``, Vite's ``VITE_POWER_PEG`` or ``config.smarsPowerPeg``
    passed DEAD-001 (exit 0): a word in front of the flag's was searched for only from a
    fixed list (``is``, ``enable``, ``k``, ...). Any words in front now, in any case."""
    result = _deployed(tmp_path, RETIRED, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")["D1:power_peg"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


@pytest.mark.parametrize(
    ("code", "spelling"),
    [
        ("if (server.isHTTPServerEnabled()) {\n", "isHTTPServerEnabled"),
        ("srv = HTTPServer(('', 8000), Handler)\n", "HTTPServer"),
        ("start(config.embeddedHTTPServer)\n", "embeddedHTTPServer"),
    ],
)
def test_a_retired_flag_under_an_acronym_in_capitals_is_referenced(
    tmp_path: Path, code: str, spelling: str
) -> None:
    """Before, ``http_server`` retired, ``isHTTPServerEnabled()`` and ``HTTPServer`` passed
    DEAD-001 (exit 0): the spellings wrote each word capitalised (``isHttpServerEnabled``),
    and camel case writes an acronym in capitals."""
    retired = flag("http_server", OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, retired, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")["D1:http_server"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


@pytest.mark.parametrize(
    ("name", "code", "spelling"),
    [
        ("checkout_2024", "if (flags.smarsCheckout2024) {\n", "smarsCheckout2024"),
        ("checkout_2024", "if (smarsCheckout2024Enabled()) {\n", "smarsCheckout2024Enabled"),
        ("power_peg_v2", "if (config.smarsPowerPegV2) {\n", "smarsPowerPegV2"),
        ("http2_server", "start(config.embeddedHTTP2Server)\n", "embeddedHTTP2Server"),
    ],
)
def test_a_retired_flag_with_a_number_at_the_end_of_any_identifier_is_referenced(
    tmp_path: Path, name: str, code: str, spelling: str
) -> None:
    """Before, ``checkout_2024`` retired, ``flags.smarsCheckout2024`` passed DEAD-001 (exit
    0) while ``REACT_APP_CHECKOUT_2024`` and ``isCheckout2024Enabled`` were found: camel case
    writes a number against the word before it (``Checkout2024``, as the flag's own camel
    spelling does), and an identifier's words were never split there, so its last word
    ``checkout2024`` was not the flag's ``checkout``, ``2024``."""
    retired = flag(name, OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, retired, code=code)
    assert result.code == 1, result.err
    message = _findings(result, "DEAD-001")[f"D1:{name}"]
    assert f"in 1 file: src/app.py (as {spelling})." in message


@pytest.mark.parametrize(
    ("live", "code"),
    [
        ("new_checkout_2024", "if (flags.smarsNewCheckout2024) {\n"),
        ("checkout_2024_beta", "if (flags.smarsCheckout2024Beta) {\n"),
    ],
)
def test_an_active_flag_with_a_number_ending_the_identifier_is_that_flag(
    tmp_path: Path, live: str, code: str
) -> None:
    """Words split at a number must split the active flag's words alike: with
    ``new_checkout_2024`` active, ``smarsNewCheckout2024`` is not the retired
    ``checkout_2024``; and a word after the number makes a name of its own."""
    retired = flag("checkout_2024", OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, retired, flag(live, NEW), code=code)
    assert result.code == 0, result.json()["findings"]


@pytest.mark.parametrize(
    ("live", "code"),
    [
        ("new_power_peg", 'os.environ["NEW_POWER_PEG"]\n'),
        ("new_power_peg", 'os.environ["SMARS_NEW_POWER_PEG_ENABLED"]\n'),
        ("new_power_peg", "if (flags.isNewPowerPegEnabled()) {\n"),
        ("new_power_peg", 'getFlag("smars-new-power-peg")\n'),
        ("power_peg_enabled", "REACT_APP_POWER_PEG_ENABLED=1\n"),
        ("smars_power_peg", "SMARS_POWER_PEG=1\n"),
    ],
)
def test_an_active_flag_ending_with_the_retired_flags_words_is_that_flag(
    tmp_path: Path, live: str, code: str
) -> None:
    """An identifier ending with an active flag's words, which hold the retired flag's, reads
    the active flag: ``new_power_peg`` active, ``NEW_POWER_PEG`` is not the retired
    ``power_peg``."""
    result = _deployed(tmp_path, RETIRED, flag(live, NEW), code=code)
    assert result.code == 0, result.json()["findings"]


@pytest.mark.parametrize(
    "code",
    [
        "SMARS_POWER_PEG_ROUTER = 1\n",  # the flag's words in the middle
        "powerPegRolloutPercent = 10\n",
        "SMARS_POWER_PEGASUS = 1\n",
        "smars_power_pegs = []\n",
        "isSmarsPowerPegV2Enabled()\n",
        "SMARS_POWERPEG = 1\n",  # run together after another word
    ],
)
def test_an_identifier_holding_the_flags_words_elsewhere_than_at_its_end_is_not_the_flag(
    tmp_path: Path, code: str
) -> None:
    result = _deployed(tmp_path, RETIRED, code=code)
    assert result.code == 0, result.json()["findings"]


def test_a_one_word_flag_is_not_searched_at_the_end_of_identifiers(tmp_path: Path) -> None:
    alpha = flag("alpha", OLD, "retired", retired_at="2024-01-02")
    result = _deployed(tmp_path, alpha, code="SMARS_ALPHA = isAlpha(c) and useAlpha\n")
    assert result.code == 0, result.json()["findings"]


def _ends(identifier: str, name: str) -> bool:
    return bool(Ended([str(ending(name))])(identifier))


def test_the_endings_of_an_identifier() -> None:
    assert ending("power_peg") == ending("PowerPeg") == ending("POWER-PEG")
    assert ending("alpha") is None and ending("gr\u00f6\u00dfe_x") is None
    assert _ends("REACT_APP_POWER_PEG_ENABLED", "power_peg")
    assert _ends("isHTTPServerEnabled", "http_server")
    assert not _ends("SMARS_POWER_PEG_ROUTER", "power_peg")
    assert not _ends("isPowerPegV2Enabled", "power_peg")
    assert _ends("smarsCheckout2024Enabled", "checkout_2024")
    assert not _ends("use2faLogin", "fa_login")  # 2fa is one word


@pytest.mark.parametrize("remembered", [identifiers.REMEMBERED, 3])
def test_a_texts_pieces_are_its_tokens_and_runs(
    monkeypatch: pytest.MonkeyPatch, remembered: int
) -> None:
    """``Identifiers`` cuts a text with ``bytes.translate`` rather than patterns, and judges
    each piece once: its tokens and hyphenated runs are the patterns', on every text of up to
    five characters, a second reading of each text (from memory) too, and where it starts
    afresh after a few pieces."""
    monkeypatch.setattr(identifiers, "REMEMBERED", remembered)
    marker = str(ending("a_b"))
    reader, ended = Identifiers([marker]), Ended([marker])
    chars = [b"a", b"B", b"-", b"_", b" ", b"\xc3\xa9", b"\0"]
    for _reading in range(2):
        for size in range(6):
            for picked in itertools.product(chars, repeat=size):
                text = b"".join(picked)
                tokens, runs, ending_ = reader.read(text)
                assert tokens == set(re.findall(rb"[A-Za-z0-9_]+", text)), text
                assert runs == {r for r in KEBAB_RUN.findall(text) if b"-" in r}, text
                assert ending_ == {w for w in tokens | runs if ended(w.decode())}, text
