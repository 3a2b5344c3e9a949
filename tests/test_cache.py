"""The cache across runs never changes a report: cached, warm and uncached runs write the same
bytes in every format, for check, gate and audit, on real repositories; a damaged, foreign or
forged cache is ignored where it must be; a changed history reuses only what is unchanged."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from checker import cache as cache_module
from checker import runner
from checker.cache import FILE_NAME, FactCache, code_fingerprint, default_directory, entry_digest
from checker.demo.builder import ScriptedRepo
from checker.demo.knight import build_knight
from checker.evidence.endings import ending
from checker.evidence.git import GitHistory
from checker.evidence.git_content import REVIEW_LINES, EarlyVersions, TreeIndex
from checker.evidence.seal import SEALED
from checker.evidence.searched import BLOB_WORDS, ROOT_WORDS, WORD_SET
from checker.facts.deadcode import REGISTRY_WALK
from tests.bench.generate import Size, generate
from tests.conftest import DEV, LEAD, run_cli
from tests.test_examples import EXAMPLES, build

SPREAD = Size(
    commits=600,
    deployments=60,
    services=2,
    hosts_per_service=2,
    flags=30,
    files_per_service=6,
    people=5,
    registry_every=40,
    registry_revisions=True,
    deployed_commits=30,
    delete_retiring=True,
)
"""The bench's second shape, small: both services deploy the same 30 commits spread over
the history, a registry version every 40 commits, retiring code deleted, one flag lingering."""
AS_OF = "2026-11-01"
REPORTS = (
    "report.json",
    "report.oscal.json",
    "report.sarif",
    "report.xml",
    "report.html",
    "report.md",
    "report.txt",
)


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = generate(tmp_path_factory.mktemp("spread"), SPREAD)
    return root / "repo", root / "evidence"


Reports = tuple[int, dict[str, bytes]]


@pytest.fixture(scope="module")
def uncached(spread: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """The spread month's reports in every format, without a cache."""
    return reports(spread, tmp_path_factory.mktemp("uncached") / "out", "--no-cache")


@pytest.fixture
def filled(spread: tuple[Path, Path], tmp_path: Path, uncached: Reports) -> Path:
    """A cache directory a cold run filled (its reports checked against the uncached)."""
    cache = tmp_path / "cache"
    assert reports(spread, tmp_path / "cold", "--cache-dir", cache) == uncached
    return cache


def reports(case: tuple[Path, Path], out: Path, *extra: str | Path, as_of: str = AS_OF) -> Reports:
    """``check`` of ``case`` written in every format at once: exit code and each file's bytes."""
    repo, evidence = case
    out.mkdir(parents=True)
    outputs = [arg for name in REPORTS for arg in ("-o", out / name)]
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--as-of", as_of, *outputs, *extra
    )
    assert result.code in (0, 1), result.err
    return result.code, {name: (out / name).read_bytes() for name in REPORTS}


def entries(cache: Path) -> dict[str, int]:
    """How many entries the cache holds, by kind."""
    with sqlite3.connect(cache / FILE_NAME) as db:
        rows = db.execute("SELECT kind, count(*) FROM entries GROUP BY kind").fetchall()
    return dict(rows)


def rewrite(cache: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(cache / FILE_NAME) as db:
        db.execute(sql, params)


def test_cold_warm_and_uncached_checks_write_the_same_bytes_in_every_format(
    spread: tuple[Path, Path], tmp_path: Path, uncached: Reports, filled: Path
) -> None:
    code, written = uncached
    assert code == 1  # the month has findings: the comparison is not of empty reports
    assert json.loads(written["report.json"])["findings"]
    before = entries(filled)
    assert set(before) == {REVIEW_LINES, BLOB_WORDS, ROOT_WORDS, WORD_SET, REGISTRY_WALK, SEALED}
    assert reports(spread, tmp_path / "warm", "--cache-dir", filled) == uncached
    assert entries(filled) == before  # the warm run found everything: nothing new written


def test_the_knight_case_with_its_retired_code_is_the_same_warm(tmp_path: Path) -> None:
    case = build_knight(tmp_path / "knight")
    cache = tmp_path / "cache"
    uncached = reports(
        (case.repo, case.evidence), tmp_path / "none", "--no-cache", as_of="2012-08-02"
    )
    for run in ("cold", "warm"):
        got = reports(
            (case.repo, case.evidence), tmp_path / run, "--cache-dir", cache, as_of="2012-08-02"
        )
        assert got == uncached


def test_a_gate_is_the_same_warm(spread: tuple[Path, Path], tmp_path: Path) -> None:
    repo, evidence = spread
    gate = ["--candidate", "main", "--service", "svc00", "--format", "json"]
    base = ["check", "--repo", repo, "--evidence", evidence, "--as-of", AS_OF, *gate]
    uncached = run_cli(*base, "--no-cache")
    assert uncached.code in (0, 1), uncached.err
    for _ in range(2):
        got = run_cli(*base, "--cache-dir", tmp_path / "cache")
        assert (got.code, got.out) == (uncached.code, uncached.out)


def test_a_gate_walks_the_registry_ahead_and_a_wrong_guess_changes_no_byte(
    spread: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate begins walking the registry's history while it reads its evidence, from the
    tips a quick look at the deployment records suggests. Where the records hide one of the
    service's deployments from that look (its service written with an escape), the walk is
    cancelled and the run walks its own tips: the report is the one a run that never
    guessed writes."""
    repo, evidence = spread
    lines = (evidence / "deploys.jsonl").read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if '"service": "svc00"' in line)
    lines[index] = lines[index].replace('"service": "svc00"', '"service": "svc\\u0030\\u0030"')
    hidden = tmp_path / "hidden"
    shutil.copytree(evidence, hidden)
    (hidden / "deploys.jsonl").write_text("".join(lines))
    events = early_walks(monkeypatch)
    gate = ["--candidate", "main", "--service", "svc00", "--format", "json", "--no-cache"]

    def run(directory: Path) -> tuple[int, str]:
        result = run_cli("check", "--repo", repo, "--evidence", directory, "--as-of", AS_OF, *gate)
        assert result.code in (0, 1), result.err
        return result.code, result.out

    guessed = run(evidence)
    assert events == ["taken"]  # the guess was right, and its walk used
    events.clear()
    missed = run(hidden)
    # Wrong: cancelled once the run's tips are known, before the run's own walk is taken.
    assert events == ["cancelled", "taken"]
    monkeypatch.setattr(runner, "_walk_ahead", lambda *args: None)
    assert run(evidence) == guessed
    assert run(hidden) == missed


def test_a_gate_whose_guess_git_cannot_read_reports_the_evidence_error(
    spread: tuple[Path, Path], tmp_path: Path
) -> None:
    """A record of the service naming its commit as git fails to read (``@{upstream}`` where
    there is none) and another record that is wrong: the run says what is wrong with the
    other record, as it would without a guess (the record's name is refused later)."""
    repo, evidence = spread
    lines = (evidence / "deploys.jsonl").read_text().splitlines(keepends=True)
    own = next(i for i, line in enumerate(lines) if '"service": "svc00"' in line)
    record = json.loads(lines[own])
    lines[own] = json.dumps({**record, "commit": "main@{upstream}"}) + "\n"
    lines[own + 1] = json.dumps({**json.loads(lines[own + 1]), "pad": 1}) + "\n"
    broken = tmp_path / "broken"
    shutil.copytree(evidence, broken)
    (broken / "deploys.jsonl").write_text("".join(lines))
    result = run_cli(
        "check", "--repo", repo, "--evidence", broken, "--as-of", AS_OF,
        "--candidate", "main", "--service", "svc00", "--no-cache",
    )  # fmt: skip
    assert result.code == 2
    assert f"deploys.jsonl:{own + 2}:" in result.err and "unknown field 'pad'" in result.err


def early_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that says each time a walk begun ahead is taken, or cancelled."""
    events: list[str] = []
    take, cancel = EarlyVersions.take, EarlyVersions.cancel

    def counted_take(self: EarlyVersions, *args: Any) -> Any:
        events.append("taken")
        return take(self, *args)

    def counted_cancel(self: EarlyVersions) -> None:
        events.append("cancelled")
        cancel(self)

    monkeypatch.setattr(EarlyVersions, "take", counted_take)
    monkeypatch.setattr(EarlyVersions, "cancel", counted_cancel)
    return events


def audit(spread: tuple[Path, Path], key: Path, out: Path, *extra: str | Path) -> bytes:
    repo, evidence = spread
    result = run_cli(
        "audit", "--repo", repo, "--evidence", evidence, "--as-of", AS_OF,
        "--period", SPREAD.period, "--key", key, "-o", out, *extra,
    )  # fmt: skip
    assert result.code in (0, 1), result.err
    return out.read_bytes()


@pytest.fixture
def key(tmp_path: Path) -> Path:
    assert run_cli("keygen", "--output", tmp_path / "auditor").code == 0
    return tmp_path / "auditor.key"


def test_a_signed_audit_is_the_same_bytes_with_the_auditors_cache(
    spread: tuple[Path, Path], key: Path, tmp_path: Path
) -> None:
    uncached = audit(spread, key, tmp_path / "none.json")
    cache = tmp_path / "auditor-cache"
    assert audit(spread, key, tmp_path / "cold.json", "--cache-dir", cache) == uncached
    assert entries(cache)
    assert audit(spread, key, tmp_path / "warm.json", "--cache-dir", cache) == uncached


def overwrite(cache: Path, kind: str, value: str) -> None:
    """Give every entry of ``kind`` this value, with a digest that matches: what anyone who
    can write the cache directory can do (the digest binds an entry, it does not
    authenticate it)."""
    with sqlite3.connect(cache / FILE_NAME) as db:
        rows = db.execute("SELECT fingerprint, key FROM entries WHERE kind = ?", (kind,))
        for fingerprint, name in rows.fetchall():
            db.execute(
                "UPDATE entries SET value = ?, digest = ? WHERE fingerprint = ? AND kind = ? "
                "AND key = ?",
                (value, entry_digest(fingerprint, kind, name, value), fingerprint, kind, name),
            )


def test_audit_ignores_the_default_cache_that_a_team_could_have_forged(
    spread: tuple[Path, Path],
    key: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uncached: Reports,
) -> None:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    reports(spread, tmp_path / "team", as_of=AS_OF)  # check fills the default cache
    cache = default_directory()
    assert cache == home / "knightwatch" and entries(cache)[REVIEW_LINES]
    overwrite(cache, REVIEW_LINES, json.dumps([["Reviewed-by", "Forged <forged@example.invalid>"]]))
    # The forged entries are read by a check that uses that cache (this proves the test
    # reaches the cache at all) ...
    _, forged = reports(spread, tmp_path / "forged")
    assert forged["report.json"] != uncached[1]["report.json"]
    # ... and never by an audit, unless its auditor names that directory.
    assert audit(spread, key, tmp_path / "audit.json") == audit(
        spread, key, tmp_path / "audit-none.json", "--no-cache"
    )


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE entries SET value = substr(value, 1, length(value) / 2)",  # truncated
        "UPDATE entries SET fingerprint = 'an older knightwatch'",  # another version's
        # damaged digest: its first digit changed (a digest already starting with 0 would
        # stay intact, and the entries it spares leave others unread, so never rewritten)
        "UPDATE entries SET digest = "
        "(CASE WHEN substr(digest, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(digest, 2)",
        "UPDATE entries SET value = '{}'",  # another shape (its digest no longer matches)
    ],
    ids=["truncated", "foreign-version", "digest", "shape"],
)
def test_damaged_entries_are_recomputed_and_written_again(
    spread: tuple[Path, Path], tmp_path: Path, damage: str, uncached: Reports, filled: Path
) -> None:
    cache = filled
    written = entries(cache)
    rewrite(cache, damage)
    assert reports(spread, tmp_path / "damaged", "--cache-dir", cache) == uncached
    with sqlite3.connect(cache / FILE_NAME) as db:
        current = db.execute(
            "SELECT kind, key, value, digest FROM entries WHERE fingerprint = ?",
            (code_fingerprint(),),
        ).fetchall()
    assert {k: sum(1 for row in current if row[0] == k) for k in written} == written
    bad = [row[:2] for row in current if entry_digest(code_fingerprint(), *row[:3]) != row[3]]
    assert bad == []


def test_an_entry_of_the_wrong_shape_with_a_valid_digest_is_a_miss(
    spread: tuple[Path, Path], tmp_path: Path, uncached: Reports, filled: Path
) -> None:
    for kind, value in [
        (REVIEW_LINES, '[["Reviewed-by"]]'),
        (BLOB_WORDS, '{"words": 1, "found": []}'),
        (WORD_SET, '["a", 2]'),
        (ROOT_WORDS, '{"words": "x", "found": {"flag": "a.py"}}'),
        (REGISTRY_WALK, '[["c0ffee", "flags.yaml"]]'),
    ]:
        overwrite(filled, kind, value)
    assert reports(spread, tmp_path / "reshaped", "--cache-dir", filled) == uncached


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "directory-is-a-file"])
def test_a_damaged_cache_file_is_set_aside_never_an_error(
    spread: tuple[Path, Path], tmp_path: Path, damage: str, uncached: Reports, filled: Path
) -> None:
    cache = filled
    path = cache / FILE_NAME
    data = path.read_bytes()
    for extra in cache.glob(FILE_NAME + "-*"):  # the write-ahead log, folded in on close
        extra.unlink()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        path.write_bytes(b"not a database\n" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        for child in cache.iterdir():
            child.unlink()
        cache.rmdir()
        cache.write_text("a file where the cache directory should be\n")
    assert reports(spread, tmp_path / "damaged", "--cache-dir", cache) == uncached
    if damage in ("truncated", "garbage"):
        # Set aside and started afresh: the next run finds the entries again.
        assert (cache / (FILE_NAME + ".damaged")).exists()
        assert entries(cache)
    assert reports(spread, tmp_path / "after", "--cache-dir", cache) == uncached


def test_a_cache_that_cannot_be_written_is_no_cache(
    spread: tuple[Path, Path], tmp_path: Path, uncached: Reports
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        got = reports(spread, tmp_path / "ro", "--cache-dir", locked / "cache")
    finally:
        locked.chmod(0o700)
    assert got == uncached


def test_a_changed_history_reuses_only_the_unchanged_facts(tmp_path: Path) -> None:
    """New commits (one naming the reused flag again), a registry rewritten to retire that
    flag a second time, and a deployment of them: the warm run writes entries for the new
    objects alone and reports exactly what a run without a cache does."""
    case = next(c for c in EXAMPLES if c.name == "zombie-flag")
    repo, _ = build(case, tmp_path / "repo")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "deploys.yaml").write_text((case / "evidence" / "deploys.yaml").read_text())
    cache = tmp_path / "cache"
    as_of = "2024-12-31"
    reports((repo.path, evidence), tmp_path / "first", "--cache-dir", cache, as_of=as_of)
    before = entries(cache)
    registry = (repo.path / "flags.yaml").read_text().replace("status: active", "status: retired")
    repo.commit(
        "holiday pricing",
        {"pricing/holiday.py": "if legacy_pricing:\n    pass\n"},
        author=DEV,
        date="2024-12-01T09:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    tip = repo.commit("retire the sale", {"flags.yaml": registry}, author=DEV,
                      date="2024-12-02T09:00:00Z")  # fmt: skip
    with (evidence / "deploys.yaml").open("a") as handle:
        handle.write(
            f"- id: PR-3\n  service: pricing\n  environment: production\n  commit: {tip}\n"
            "  started_at: 2024-12-03T10:00:00Z\n  deployer: ops@example.com\n"
            "  approvals: [{by: lee@example.com, at: 2024-12-03T09:00:00Z}]\n"
            "  targets: [{host: price-1, status: succeeded}]\n"
        )
    code, uncached = reports((repo.path, evidence), tmp_path / "none", "--no-cache", as_of=as_of)
    findings = {(f["rule"], f["subject"]) for f in json.loads(uncached["report.json"])["findings"]}
    assert ("DEAD-001", "PR-3:legacy_pricing") in findings
    assert ("REVIEW-002", tip) in findings
    got = reports((repo.path, evidence), tmp_path / "warm", "--cache-dir", cache, as_of=as_of)
    assert got == (code, uncached)
    after = entries(cache)
    assert after[REVIEW_LINES] == before[REVIEW_LINES] + 2  # the two new commits alone
    assert after[REGISTRY_WALK] == before[REGISTRY_WALK] + 1  # the new tips' walk alone
    # What was hashed is kept once for the repository's object store: the new commits made a
    # new seal, whose record replaced the old seal's (one a fetch would leave behind each time).
    assert before[SEALED] == after[SEALED] == 1


def test_concurrent_runs_sharing_a_cache_do_not_corrupt_it(
    spread: tuple[Path, Path], tmp_path: Path, uncached: Reports
) -> None:
    repo, evidence = spread
    cache = tmp_path / "cache"
    code, written = uncached
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "checker", "check", "--repo", str(repo), "--evidence",
             str(evidence), "--as-of", AS_OF, "--cache-dir", str(cache), "--format", "json",
             "-o", str(tmp_path / f"run{n}.json")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(3)
    ]  # fmt: skip
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == code, err
    for n in range(3):
        assert (tmp_path / f"run{n}.json").read_bytes() == written["report.json"]
    with sqlite3.connect(cache / FILE_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert reports(spread, tmp_path / "after", "--cache-dir", cache) == uncached


def test_no_cache_and_cache_dir_together_are_a_usage_error(
    spread: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, evidence = spread
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--no-cache", "--cache-dir", tmp_path
    )
    assert result.code == 2
    assert "--no-cache and --cache-dir" in result.err
    assert not list(tmp_path.iterdir())


def test_the_default_directory_follows_xdg_and_ignores_a_relative_one() -> None:
    assert default_directory({"XDG_CACHE_HOME": "/var/cache/ci"}) == Path(
        "/var/cache/ci/knightwatch"
    )
    home = Path.home() / ".cache" / "knightwatch"
    assert default_directory({"XDG_CACHE_HOME": "relative"}) == home
    assert default_directory({}) == home


def test_no_cache_reads_and_writes_nothing(tmp_path: Path) -> None:
    cache = FactCache(None)
    cache.put(REVIEW_LINES, {"a" * 40: []})
    assert cache.get(REVIEW_LINES, ["a" * 40], lambda v: True) == {}
    cache.close()
    assert not cache.enabled


def test_entries_are_read_back_only_for_their_own_kind(tmp_path: Path) -> None:
    with FactCache(tmp_path) as cache:
        cache.put(REVIEW_LINES, {"k": [["Reviewed-by", "a@b"]]})
    with FactCache(tmp_path) as cache:
        assert cache.get(REVIEW_LINES, ["k"], lambda v: True) == {"k": [["Reviewed-by", "a@b"]]}
        assert cache.get(REGISTRY_WALK, ["k"], lambda v: True) == {}
        assert cache.get(REVIEW_LINES, ["k"], lambda v: False) == {}


def test_blob_words_answer_a_subset_of_what_was_searched_and_miss_otherwise(
    tmp_path: Path,
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    tip = repo.commit(
        "code",
        {"a.py": "use(old_flag)\nif new-flag-x: pass\n", "b.py": "new-flag here\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
    )
    history = GitHistory(repo.path)
    history.load([tip])
    words = {"old_flag", "new-flag", "new-flag-x", "other"}

    def search(wanted: set[str], cache: FactCache) -> dict[str, list[str]]:
        with TreeIndex(history, cache) as trees:
            trees.load([tip])
            trees.search(wanted)
            return trees.references(tip)

    uncached = search(words, FactCache(None))
    # Each name is found on its own; one inside another (new-flag in new-flag-x) is not it.
    assert uncached == {"new-flag": ["b.py"], "new-flag-x": ["a.py"], "old_flag": ["a.py"]}
    with FactCache(tmp_path / "cache") as cache:
        assert search(words, cache) == uncached
    first = {BLOB_WORDS: 2, ROOT_WORDS: 1, WORD_SET: 1}
    assert entries(tmp_path / "cache") == first
    with FactCache(tmp_path / "cache") as cache:  # a subset: answered from the cache
        assert search({"old_flag", "other"}, cache) == {"old_flag": ["a.py"]}
    assert entries(tmp_path / "cache") == first
    with FactCache(tmp_path / "cache") as cache:  # a name not searched before: searched
        assert search({"old_flag", "use"}, cache) == {"old_flag": ["a.py"], "use": ["a.py"]}
    assert entries(tmp_path / "cache") == {**first, WORD_SET: 2}


def test_identifiers_ending_with_a_flags_words_are_answered_for_a_subset_too(
    tmp_path: Path,
) -> None:
    """What a blob holds of a flag's ``ending`` is the identifiers ending with its words, none
    of them a word of the set searched: an entry answers for a subset of its set all the same,
    each identifier kept where the subset holds one of its endings."""
    repo = ScriptedRepo(tmp_path / "repo")
    code = {"a.py": "SMARS_POWER_PEG = isHTTPServerEnabled()\n", "b.py": "HTTPServer\n"}
    tip = repo.commit("code", code, author=DEV, date="2024-01-01T00:00:00Z")
    history = GitHistory(repo.path)
    history.load([tip])
    peg, http = str(ending("power_peg")), str(ending("http_server"))

    def search(wanted: set[str], cache: FactCache) -> dict[str, list[str]]:
        with TreeIndex(history, cache) as trees:
            trees.load([tip])
            trees.search(wanted)
            return trees.references(tip)

    uncached = search({peg, http}, FactCache(None))
    assert uncached == {
        "HTTPServer": ["b.py"],
        "SMARS_POWER_PEG": ["a.py"],
        "isHTTPServerEnabled": ["a.py"],
    }
    with FactCache(tmp_path / "cache") as cache:
        assert search({peg, http}, cache) == uncached
    first = entries(tmp_path / "cache")
    with FactCache(tmp_path / "cache") as cache:  # a subset: answered from the cache
        assert search({peg}, cache) == {"SMARS_POWER_PEG": ["a.py"]}
    assert entries(tmp_path / "cache") == first


def test_registry_versions_read_in_pieces_give_the_reports_of_versions_read_whole(
    spread: tuple[Path, Path], tmp_path: Path, uncached: Reports, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry's history is read in pieces where a version allows (``yamlversions``):
    on the spread history most versions are, and the reports are those of every version
    parsed whole."""
    from checker.evidence import yamlversions

    assembled: list[bool] = []
    real = yamlversions.VersionParser._assembled

    def counting(self: yamlversions.VersionParser, *args: object) -> object:
        found = real(self, *args)  # type: ignore[arg-type]
        assembled.append(found is not None)
        return found

    monkeypatch.setattr(yamlversions.VersionParser, "_assembled", counting)
    assert reports(spread, tmp_path / "pieces", "--no-cache") == uncached
    assert sum(assembled) > len(assembled) / 2  # most versions were read in pieces
    monkeypatch.setattr(yamlversions, "WHOLE_AT", -1.0)  # every version parsed whole
    assembled.clear()
    assert reports(spread, tmp_path / "whole", "--no-cache") == uncached
    assert assembled and not any(assembled)


def test_only_the_two_versions_that_wrote_last_keep_their_entries(tmp_path: Path) -> None:
    # Each upgrade is a new fingerprint, whose runs read nothing an older version wrote: its
    # entries would only grow the file. The two versions that wrote last keep theirs.
    def write(version: str, key: str) -> None:
        with FactCache(tmp_path) as cache:
            cache._fingerprint = version
            cache.put(REVIEW_LINES, {key: [["Reviewed-by", "a@b"]]})

    def kept() -> list[tuple[str, str]]:
        with sqlite3.connect(tmp_path / FILE_NAME) as db:
            return sorted(db.execute("SELECT fingerprint, key FROM entries").fetchall())

    write("v1", "a")
    write("v2", "b")
    write("v1", "c")  # v1 again: it is one of the two that wrote last
    assert kept() == [("v1", "a"), ("v1", "c"), ("v2", "b")]
    write("v3", "d")  # v2 wrote longer ago than v1: its entries go
    assert kept() == [("v1", "a"), ("v1", "c"), ("v3", "d")]
    write("v3", "e")
    write("v4", "f")
    assert kept() == [("v3", "d"), ("v3", "e"), ("v4", "f")]
    with FactCache(tmp_path) as cache:  # what is kept is still read back
        cache._fingerprint = "v4"
        assert cache.get(REVIEW_LINES, ["f"], lambda v: True) == {"f": [["Reviewed-by", "a@b"]]}


def test_another_git_is_another_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The registry's cached versions are what git's walk and rename detection found: a walk
    # another git kept is not read. A stand-in named git, first on PATH, says another version.
    monkeypatch.setattr(cache_module, "_fingerprint", None)
    cache_module.git_version.cache_clear()  # asked once a process: a run is one process
    ours = code_fingerprint()
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "git").write_text("#!/bin/sh\necho git version 9.99.0\n")
    (shim / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(cache_module, "_fingerprint", None)
    cache_module.git_version.cache_clear()
    assert code_fingerprint() != ours
    monkeypatch.setattr(cache_module, "_fingerprint", None)
    monkeypatch.undo()
    cache_module.git_version.cache_clear()
    assert code_fingerprint() == ours


def test_entries_of_a_bounded_kind_make_a_fresh_start_past_their_bound(tmp_path: Path) -> None:
    # A walk of the registry is keyed by its tips: every new candidate's gate writes one, met
    # again only over the same tips. Past their bound, the walks kept so far are dropped.
    for run in range(5):
        with FactCache(tmp_path) as cache:
            cache.put(REGISTRY_WALK, {f"tips-{run}": []}, most=3)
            cache.put(REVIEW_LINES, {f"commit-{run}": []})  # not bounded
    assert entries(tmp_path) == {REGISTRY_WALK: 2, REVIEW_LINES: 5}  # 0, 1, 2; then 3, 4
    with FactCache(tmp_path) as cache:
        assert set(cache.get(REGISTRY_WALK, [f"tips-{n}" for n in range(5)], _walk)) == {
            "tips-3",
            "tips-4",
        }


def _walk(value: object) -> bool:
    return value == []
