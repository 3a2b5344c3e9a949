"""End to end: flags renamed, retired, revived and repurposed over many commits."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import tarfile
import zipfile
from pathlib import Path

import git
import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence.git import GitHistory
from checker.evidence.git_content import GitContent
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml
from tests.facts.scenario import Scenario, build_scenario

REVIEWED = (f"Reviewed-by: {LEAD}",)
APPROVAL = [{"by": "lee@example.com"}]
"""Lee's approval, dated an hour before each deployment starts (``tests.conftest.deployment``)."""


def registry(*flags: dict[str, object], retired_code: list[dict[str, str]] | None = None) -> str:
    document: dict[str, object] = {"flags": list(flags)}
    if retired_code:
        document["retired_code"] = retired_code
    return yaml.safe_dump(document, sort_keys=False)


def flag(name: str, purpose: str, status: str = "active", **extra: str) -> dict[str, object]:
    return {
        "name": name,
        "purpose": purpose,
        "owner": "team",
        "status": status,
        "created": "2023-12-01",
        **extra,
    }


Case = Scenario


def build(root: Path) -> Scenario:
    """The registry over seven commits (scenarios/deadcode), docs/ excluded from references."""
    case = build_scenario("deadcode", root)
    (case.repo.path / "knightwatch.yaml").write_text("reference_exclude: ['docs/*']\n")
    return case


def check(case: Case) -> CliResult:
    return run_cli(
        "check", "--repo", case.repo.path, "--evidence", case.evidence, "--format", "json"
    )


def dead(result: CliResult) -> set[tuple[str, str]]:
    return {
        (f["rule"], f["subject"]) for f in result.json()["findings"] if f["rule"].startswith("DEAD")
    }


def test_dead_code_rules_over_a_registry_that_moved(tmp_path: Path) -> None:
    case = build(tmp_path)
    result = check(case)
    assert result.code == 1, result.err
    assert dead(result) == {
        ("DEAD-001", "D2:alpha"),  # retired at c2, still in src/app.py
        ("DEAD-001", "D3:alpha"),  # the registry moved at c3: still read there
        ("DEAD-002", "alpha"),  # retired at c2, active again at c5
        ("DEAD-002", "gamma"),  # its purpose was reworded at c4
        ("DEAD-003", "beta"),  # remove_by 2024-02-01: D2 and D3 started after that day
        ("DEAD-004", "D2:legacy/"),
        ("DEAD-004", "D3:legacy/"),
        ("DEAD-005", "D5:delta"),  # a flag (it has events) the registry does not list
        ("DEAD-006", f"{case.shas['c6']}:flags.yaml"),  # unreadable, in the history D5 shipped
    }
    messages = {f["subject"]: f["message"] for f in result.json()["findings"]}
    c = case.shas
    assert messages["alpha"] == (
        f"Flag alpha was repurposed: retired at {c['c2'][:12]} and active again at {c['c5'][:12]}."
    )
    assert messages["gamma"] == (
        f'Flag gamma was repurposed: its purpose changed: "G" from {c["c1"][:12]}, then '
        f'"G, reworded" from {c["c4"][:12]}.'
    )
    assert messages["beta"] == (
        "Flag beta was to be removed by 2024-02-01 but was still active when 2 deployments "
        "started: D2, D3."
    )
    assert messages["D2:alpha"].endswith("in 1 file: src/app.py.")
    assert messages["D2:legacy/"].endswith("(replaced by v2) in 1 file: legacy/old.py.")
    assert "invalid YAML" in messages[f"{c['c6']}:flags.yaml"]


def test_reference_exclude_decides_what_counts(tmp_path: Path) -> None:
    case = build(tmp_path)
    (case.repo.path / "knightwatch.yaml").unlink()
    got = dead(check(case))
    # docs/flags.md mentions alpha from c2 on: without the exclusion D4 references it too.
    assert ("DEAD-001", "D4:alpha") in got
    assert ("DEAD-001", "D3:alpha") in got


def _checked_with_registry_path(tmp_path: Path, files: dict[str, str], path: str) -> CliResult:
    """``check`` of one deployment of a commit holding ``files``, knightwatch.yaml naming
    ``path`` as the registry."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-02T00:00:00Z", approvals=APPROVAL)],
    )
    (repo.path / "knightwatch.yaml").write_text(f"flags_file: {json.dumps(path)}\n")
    return run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json")


def test_registry_path_from_knightwatch_yaml(tmp_path: Path) -> None:
    files = {"ops/feature-flags.yml": registry(flag("old", "O", "retired")), "app.py": "old()\n"}
    result = _checked_with_registry_path(tmp_path, files, "ops/feature-flags.yml")
    assert {(f["rule"], f["subject"]) for f in result.json()["findings"]} == {
        ("DEAD-001", "D1:old")
    }
    assert result.json()["parameters"]["flags_file"] == "ops/feature-flags.yml"


_TWO_YAML_FILES = {
    "ops/feature-flags.yml": registry(flag("old", "O", "retired")),
    "ops/other.yml": "not: [a registry\n",
    "app.py": "old()\n",
}


@pytest.mark.parametrize(
    "path", ["*.yml", ":(glob)**/*.yml", ":(exclude)app.py", ":(top)ops/feature-flags.yml", "ops/?"]
)
def test_a_registry_path_written_as_a_pattern_is_refused(tmp_path: Path, path: str) -> None:
    """A pattern names no file: read as a path it would leave the dead-code rules without
    their registry, so it is refused where it is written."""
    result = _checked_with_registry_path(tmp_path, _TWO_YAML_FILES, path)
    assert result.code == 2, result.out
    assert "knightwatch.yaml" in result.err and "is a pattern" in result.err


def test_git_reads_the_registry_path_literally(tmp_path: Path) -> None:
    """git reads a path after ``--`` as a pattern unless told otherwise; knightwatch tells it
    otherwise, so no path it gives git makes other files (or none) the registry's history."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", _TWO_YAML_FILES, author=DEV, date="2024-01-01T00:00:00Z")
    content = GitContent(GitHistory(repo.path))
    assert content.versions("ops/*.yml", [sha]) == []
    assert content.versions(":(exclude)app.py", [sha]) == []
    found = content.versions("ops/feature-flags.yml", [sha])
    assert [v.path for v in found] == ["ops/feature-flags.yml"]


def test_no_registry_anywhere_means_no_flags(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "c", {"app.py": "x\n"}, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED
    )
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-02T00:00:00Z", approvals=APPROVAL)],
    )
    result = run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev")
    assert result.code == 0, result.out + result.err


@pytest.mark.parametrize(
    "path", ["config/flags.yaml", "ops/flags.yml", "feature_flags.yaml", "conf/FeatureFlags.json"]
)
def test_a_registry_kept_in_another_folder_is_not_taken_for_none(tmp_path: Path, path: str) -> None:
    """With no flags_file, a registry at ``config/flags.yaml`` was no registry: every DEAD
    rule went unevaluated and the check passed (exit 0) with the retired flag still read."""
    repo = ScriptedRepo(tmp_path / "repo")
    files = {path: registry(flag("old", "O", "retired")), "app.py": "old()\n"}
    sha = repo.commit("c", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 2, result.out
    assert f"'flags.yaml' is in no commit, but '{path}' is in the repository and lists flags" in (
        result.err
    )
    # A file of that name that is no registry is not one: there is no registry, as before.
    other = {path: "dependencies: []\n"}
    sha = repo.commit("c", other, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    assert _deployed_once(tmp_path, repo, sha).code == 0


def test_a_registry_in_another_folder_holding_a_date_no_calendar_has_is_found(
    tmp_path: Path,
) -> None:
    """The registry kept elsewhere was looked for with YAML's usual reader, whose implicit
    dates a run switches off: an unquoted date that does not exist (``owner: 2024-02-30``, a
    string to a run) made the file no YAML, so no registry, and the check passed (exit 0) with
    every DEAD rule unevaluated and the retired flag still read."""
    repo = ScriptedRepo(tmp_path / "repo")
    text = "flags:\n  - {name: old, purpose: O, owner: 2024-02-30, status: retired}\n"
    files = {"config/feature_flags.yaml": text, "app.py": "old()\n"}
    sha = repo.commit("c", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 2, result.out
    assert "but 'config/feature_flags.yaml' is in the repository and lists flags" in result.err


def test_searching_a_large_tree_costs_the_same_processes_for_any_number_of_deployments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    files: dict[str, str | None] = {
        f"src/m{n // 100:02d}/f{n:04d}.py": f"value_{n} = {n}\n" for n in range(4000)
    }
    files["src/m07/f0777.py"] = "if legacy_mode:\n    pass\n"
    files["flags.yaml"] = registry(
        *(flag(f"flag_{n}", "P", "retired") for n in range(50)),
        flag("legacy_mode", "L", "retired"),
    )
    first = repo.commit("big", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    later = [
        repo.commit(
            f"more {n}",
            {f"README{n}": "x\n"},
            author=DEV,
            date=f"2024-01-02T00:00:{n:02d}Z",
            trailers=REVIEWED,
        )
        for n in range(5)
    ]
    spawned: list[str] = []
    real_popen = git.cmd.safer_popen

    def counting(command: list[str], *args: object, **kwargs: object) -> object:
        spawned.append(" ".join(command[:2]))
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr(git.cmd, "safer_popen", counting)
    counts = []
    for shas in ([first], [first, *later]):
        evidence = tmp_path / f"ev{len(shas)}"
        write_yaml(
            evidence / "deploys.yaml",
            [
                deployment(f"D{n}", sha, f"2024-01-03T00:00:{n:02d}Z", approvals=APPROVAL)
                for n, sha in enumerate(shas)
            ],
        )
        spawned.clear()
        result = run_cli(  # without a cache, which would spare the second run some reads
            "check", "--repo", repo.path, "--evidence", evidence, "--format", "json", "--no-cache"
        )
        assert {(f["rule"], f["subject"]) for f in result.json()["findings"]} == {
            ("DEAD-001", f"D{n}:legacy_mode") for n in range(len(shas))
        }
        counts.append(len(spawned))
    # One git log for the history, one for the registry's, persistent cat-file processes:
    # the same for one deployed commit as for six, whatever the number of flags and files.
    assert counts[0] == counts[1] <= 8, spawned


def _deployed_once(tmp_path: Path, repo: ScriptedRepo, sha: str) -> CliResult:
    """``check`` of ``sha`` deployed once, as D1."""
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-01-02T00:00:00Z", approvals=APPROVAL)],
    )
    return run_cli("check", "--repo", repo.path, "--evidence", tmp_path / "ev", "--format", "json")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("Orders.cs", '\ufeffFlags.On("old");\r\n'.encode("utf-16-le")),
        ("Orders.cs", 'Flags.On("old");\r\n'.encode("utf-16-le")),  # no byte-order mark
        ("Legacy.java", '\ufeffFlags.on("old");\n'.encode("utf-32")),
        ("run.sh", b"#!/bin/sh\n# \x00\nold --enable\n"),
        # no NUL byte in the first 8,000: white space, or text, that has none in UTF-16
        ("Orders.cs", ("\ufeff" + "\u2003" * 3999 + 'Flags.On("old");').encode("utf-16-le")),
        ("Orders.cs", ("// " + "\u6ce8\u91ca" * 3000 + '\nFlags.On("old");').encode("utf-16-le")),
    ],
    ids=[
        "UTF-16 with a mark",
        "UTF-16 without",
        "UTF-32",
        "a NUL byte in a comment",
        "UTF-16 opening with white space",
        "UTF-16 of Chinese text",
    ],
)
def test_a_file_git_calls_binary_is_searched_as_its_text(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """Files with a NUL byte near their start were skipped, as git grep -I skips them: a C#
    file saved as Visual Studio's "Unicode" (UTF-16), or one invisible byte in a script's
    comment, hid a retired flag's reference (DEAD-001 passed)."""
    repo = ScriptedRepo(tmp_path / "repo")
    (repo.path / "src").mkdir(parents=True)
    (repo.path / "src" / name).write_bytes(content)
    repo.git("add", "--", f"src/{name}")
    files = {"flags.yaml": registry(flag("old", "O", "retired"))}
    sha = repo.commit("c", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]): f["message"] for f in result.json()["findings"]}
    assert f"src/{name}" in found[("DEAD-001", "D1:old")]


def _zipped(name: str, content: bytes) -> bytes:
    """A zip archive (a ``.jar``) of one compressed member, with fixed dates."""
    out = io.BytesIO()
    member = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    member.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(member, content)
    return out.getvalue()


def _tarred(name: str, content: bytes) -> bytes:
    """A tar archive of one member, stored as it is (a ``.tar``; gzip it for a ``.tar.gz``)."""
    out = io.BytesIO()
    member = tarfile.TarInfo(name)
    member.size = len(content)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(member, io.BytesIO(content))
    return out.getvalue()


def v7_tarred(name: str, content: bytes) -> bytes:
    """A tar of one member as Seventh Edition Unix wrote it (``tar --format=v7``): no magic
    (bytes 257 on blank), the checksum its own."""
    data = bytearray(_tarred(name, content))
    data[257:265] = bytes(8)
    data[265:345] = bytes(80)  # user and group names, which V7 has not
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:512])
    return bytes(data)


def ar_archive(*members: tuple[str, bytes]) -> bytes:
    """An ``ar`` archive (a ``.deb``) of ``members``, each padded to an even length."""
    out = b"!<arch>\n"
    for name, content in members:
        out += b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 0, 0, 0, b"100644", len(content))
        out += content + b"\n" * (len(content) & 1)
    return out


CLASS = b"\xca\xfe\xba\xbe\x00\x00\x00\x34\x01\x00\x03old" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("lib/strategy.jar", _zipped("com/x/Strategy.class", CLASS)),
        ("lib/app.war", _zipped("WEB-INF/lib/strategy.jar", _zipped("Strategy.class", CLASS))),
        ("conf/flags.json.gz", gzip.compress(b'{"old": true}', mtime=0)),
        ("vendor/peg.tar.xz", lzma.compress(b"peg.py\0" + b"\0" * 500 + b"if old: run()\n")),
        ("vendor/peg.py.bz2", bz2.compress(b"if old: run()\n")),
        ("dist/app.tar.gz", gzip.compress(_tarred("lib/x.jar", _zipped("X.class", CLASS)))),
        ("vendor/peg.tar", _tarred("peg.py.gz", gzip.compress(b"if old: run()\n"))),
        ("conf/flags.gz", gzip.compress(b"{}", mtime=0) + gzip.compress(b"old", mtime=0)),
        ("bin/app.jar", b"#!/bin/sh\nexec java -jar $0\n" + _zipped("X.class", CLASS)),
    ],
    ids=[
        "a jar",
        "a jar in a war",
        "gzip",
        "xz",
        "bzip2",
        "a jar in a tar.gz",
        "a tar",
        "cat",
        "a jar with a launch script",
    ],
)
def test_a_compressed_file_is_searched_as_what_it_holds(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """A vendored ``.jar`` (a zip of compiled classes) or a compressed file holding a retired
    flag's name was searched as its compressed bytes alone, and DEAD-001 passed (exit 0); so
    did a ``.jar`` inside a tar (whose members were not unpacked) and the second stream of a
    gzip file made of two (``cat a.gz b.gz``, which ``gunzip`` reads whole), and a jar made
    executable (a launch script in front of the zip, as Spring Boot writes them)."""
    repo = ScriptedRepo(tmp_path / "repo")
    (repo.path / name).parent.mkdir(parents=True)
    (repo.path / name).write_bytes(content)
    repo.git("add", "--", name)
    files = {"flags.yaml": registry(flag("old", "O", "retired"))}
    sha = repo.commit("c", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code == 1, result.err
    found = {(f["rule"], f["subject"]): f["message"] for f in result.json()["findings"]}
    assert found[("DEAD-001", "D1:old")].endswith(f"in 1 file: {name}.")


def test_an_active_flag_with_a_retirement_date_is_an_unreadable_registry(tmp_path: Path) -> None:
    """``status: active`` beside ``retired_at``: read as active, the code still reading the
    flag passed. The version is refused as unreadable (DEAD-006, high), saying why."""
    files = {
        "flags.yaml": registry(flag("power_peg", "P", "active", retired_at="2005-03-14")),
        "app.py": "power_peg()\n",
    }
    result = _checked_with_registry_path(tmp_path, files, "flags.yaml")
    assert result.code == 1, result.err
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "DEAD-006"]
    assert "is active but has retired_at 2005-03-14" in finding["message"]


@pytest.mark.parametrize(
    ("glob", "excluded"),
    [("docs/[z-a].md", False), ("docs/[]]x.md", True), ("docs/[\\]]x.md", True)],
)
def test_reference_exclude_brackets_are_read_as_git_reads_them(
    tmp_path: Path, glob: str, excluded: bool
) -> None:
    """Each of these globs was a regular expression Python refused: every run of a repository
    whose knightwatch.yaml held one stopped with an internal error (exit 3)."""
    files = {"flags.yaml": registry(flag("old", "O", "retired")), "docs/]x.md": "old\n"}
    files["knightwatch.yaml"] = f"reference_exclude: [{json.dumps(glob)}]\n"
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("c", files, author=DEV, date="2024-01-01T00:00:00Z", trailers=REVIEWED)
    result = _deployed_once(tmp_path, repo, sha)
    assert result.code in (0, 1), result.err
    found = [f["subject"] for f in result.json()["findings"] if f["rule"] == "DEAD-001"]
    assert found == ([] if excluded else ["D1:old"])


def _switched(
    tmp_path: Path, registries: tuple[str, str], event: dict[str, object], hosts: list[str]
) -> tuple[ScriptedRepo, Path, str, str]:
    """Deployments D0 (2024-01-01) and D1 (2024-01-02) of web to ``hosts``, of commits whose
    registries are ``registries`` (old, new), and the one flag event ``event`` (on web in
    production, by ops@example.com): the repository, the evidence, the two commits."""
    repo = ScriptedRepo(tmp_path / "repo")
    old, new = (
        repo.commit(label, {"flags.yaml": text, "a.py": f"{label}\n"}, author=DEV,
                    date=date, trailers=REVIEWED)
        for label, text, date in zip(
            ("old", "new"), registries, ("2023-12-01T00:00:00Z", "2023-12-10T00:00:00Z"),
            strict=True,
        )
    )  # fmt: skip
    targets = [{"host": host, "status": "succeeded"} for host in hosts]
    evidence = tmp_path / "ev"
    write_yaml(evidence / "deploys.yaml", [
        {**deployment("D0", old, "2024-01-01T01:00:00Z", approvals=APPROVAL, targets=targets),
         "finished_at": "2024-01-01T01:10:00Z"},
        {**deployment("D1", new, "2024-01-02T00:00:00Z", approvals=APPROVAL, targets=targets),
         "finished_at": "2024-01-02T00:10:00Z"},
    ])  # fmt: skip
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": hosts}}})
    switched = {"service": "web", "environment": "production", "by": "ops@example.com"}
    write_yaml(evidence / "flag_events.yaml", [{**switched, **event}])
    return repo, evidence, old, new


@pytest.mark.parametrize(
    ("running", "enabled", "found"),
    [
        ("retired", True, "(deployment D1)"),
        ("dropped", True, "(deployment D1)"),
        ("repurposed", True, "(observed on web-2)"),
        ("retired", False, None),
        ("active", True, None),
    ],
)
def test_a_retired_flag_switched_on_fails(
    tmp_path: Path, running: str, enabled: bool, found: str | None
) -> None:
    """A flag event switching on a flag the running code's registry marks retired passed
    every rule (exit 0): DEAD-001 looks at references and DEAD-002 at the registry's history,
    not at the switch. Each commit running there is judged by its own registry: the last
    deployment's, and one a host was last observed running (Knight's eighth server, on the
    code whose registry had retired the flag the new code repurposed)."""
    flags = {
        "retired": registry(flag("power_peg", "PP", "retired")),
        "dropped": registry(flag("rlp", "retail liquidity")),
        "repurposed": registry(flag("power_peg", "retail liquidity")),
        "active": registry(flag("power_peg", "PP")),
    }[running]
    event = {"flag": "power_peg", "enabled": enabled, "at": "2024-01-03T00:00:00Z"}
    retired = registry(flag("power_peg", "PP", "retired"))
    repo, evidence, old, new = _switched(tmp_path, (retired, flags), event, ["web-1", "web-2"])
    if running == "repurposed":  # web-2 still runs the old code
        at = "2024-01-02T01:00:00Z"
        write_yaml(evidence / "observations.yaml", [
            {"host": "web-1", "service": "web", "version": new, "observed_at": at},
            {"host": "web-2", "service": "web", "version": old, "observed_at": at},
        ])  # fmt: skip
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "json")
    assert result.code in (0, 1), result.err
    got = [f for f in result.json()["findings"] if f["rule"] == "DEAD-007"]
    if found is None:
        assert got == [], got
        return
    assert result.code == 1, result.err
    (finding,) = got
    assert finding["subject"] == "power_peg@2024-01-03T00:00:00Z"
    assert found in finding["message"] and "marks it retired" in finding["message"]


@pytest.mark.parametrize(
    ("before", "running", "spelt", "at"),
    [
        ("power_peg", "power_peg", "POWER-PEG", "2024-01-03T00:00:00Z"),
        ("power_peg", "power_peg", "PowerPeg", "2024-01-03T00:00:00Z"),
        (
            "power_peg",
            "power_peg",
            "\uff30\uff4f\uff57\uff45\uff52_\uff50\uff45\uff47",
            "2024-01-03T00:00:00Z",
        ),
        # the registry respelled it as it retired it
        ("power_peg", "POWER_PEG", "power_peg", "2024-01-03T00:00:00Z"),
        # switched on in the very instant the deployment retiring it started
        ("power_peg", "power_peg", "power_peg", "2024-01-02T00:00:00Z"),
    ],
)
def test_a_retired_flag_switched_on_under_another_spelling_or_at_once_fails(
    tmp_path: Path, before: str, running: str, spelt: str, at: str
) -> None:
    """A flag event naming the flag a registry retired in another spelling (case, separators,
    fullwidth letters) passed (exit 0): flags were matched by exact name, and the flag event
    check only refuses spellings near one the registry lists. One flag is one key
    (``flagnames.flag_key``), as DEAD-002 reads the registry's history. A flag switched on in
    the instant a deployment started passed too: only deployments started strictly before it
    were running code, though that rollout may have reached a host already."""
    registries = (registry(flag(before, "PP")), registry(flag(running, "PP", "retired")))
    event = {"flag": spelt, "enabled": True, "at": at}
    repo, evidence, _, _ = _switched(tmp_path, registries, event, ["web-1"])
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "json")
    assert result.code == 1, result.err
    found = [f["subject"] for f in result.json()["findings"] if f["rule"] == "DEAD-007"]
    assert found == [f"{spelt}@{at}"]


def test_a_flag_switched_on_where_the_running_registry_cannot_be_read_fails(
    tmp_path: Path,
) -> None:
    """A month's audit passed (exit 0) a flag switched on where the code running, deployed in
    an earlier month, holds a registry that does not parse: DEAD-006 is not evaluated without
    a deployment in the month, and DEAD-007 read the running code as having no registry, so it
    retired only what other versions retired. Whether it retired the flag is not known: the
    switch does not pass on it."""
    broken = registry(flag("power_peg", "PP", "retired")) + "  bad: [\n"
    event = {"flag": "power_peg", "enabled": True, "at": "2024-03-03T00:00:00Z"}
    registries = (registry(flag("power_peg", "PP")), broken)
    repo, evidence, _, new = _switched(tmp_path, registries, event, ["web-1"])
    run_cli("keygen", "--output", tmp_path / "k")
    out = tmp_path / "march.json"
    result = run_cli("audit", "--repo", repo.path, "--evidence", evidence, "--period", "2024-03",
                     "--as-of", "2024-04-01", "--key", tmp_path / "k.key", "-o", out)  # fmt: skip
    assert result.code == 1, result.err
    report = json.loads(base64.b64decode(json.loads(out.read_text())["payload"]))
    (finding,) = [f for f in report["predicate"]["report"]["findings"] if f["rule"] == "DEAD-007"]
    assert finding["subject"] == "power_peg@2024-03-03T00:00:00Z"
    assert "cannot be read, so whether it retired the flag is not known" in finding["message"]
    assert f"{new[:12]} (deployment D1): flags.yaml: " in finding["message"]
