"""What editors, file managers and file systems leave beside the evidence: passed over where it
holds nothing the check would read, refused (saying what it is) where it may."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from checker.demo.builder import ScriptedRepo
from checker.evidence import bundle
from tests.conftest import DEV, LEAD, CliResult, deployment, run_cli, write_yaml

APPROVAL = [{"by": "lee@example.com", "at": "2024-01-01T12:00:00Z"}]
OFFICE_LOCK = b"\x03ops" + b" " * 51 + b"\x03\x00o\x00p\x00s\x00" + b"\x00" * 100
LIBREOFFICE_LOCK = b"ops,ops,build-7,05.12.2026 09:00,file:///home/ops/.config/libreoffice/4;"


def vim_swap(*, unsaved: bool) -> bytes:
    """Block 0 of a swap file as vim writes it: its id and version, and the byte that says
    whether the buffer holds edits not written to the file (0x55 when it does)."""
    block = bytearray(b"b0VIM 9.0" + b"\0" * 4087)
    block[12:16] = (4096).to_bytes(4, "little")
    block[1007] = 0x55 if unsaved else 0
    return bytes(block)


def vim_swap_of(text: bytes, *, gap: bytes = b"") -> bytes:
    """A clean swap file as vim lays it out: block 0, a pointer block and a data block, whose
    text is ``text``'s lines, each ended by a NUL, last line first, at the block's end
    (``gap``: what lies before them, where vim leaves what it moved)."""
    body = b"".join(line + b"\0" for line in reversed(text.rstrip(b"\n").split(b"\n")))
    start = 4096 - len(body)
    data = b"ad\0\0" + struct.pack("<IIIQ", start - 24, start, 4096, text.count(b"\n"))
    data += gap + b"\0" * (start - len(data) - len(gap)) + body
    return vim_swap(unsaved=False) + b"tp" + b"\0" * 4094 + data


@pytest.fixture
def shop(tmp_path: Path) -> tuple[ScriptedRepo, Path]:
    """A reviewed commit, approved and deployed to its whole fleet."""
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "c",
        {"a.py": "print(1)\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
        trailers=(f"Reviewed-by: {LEAD}",),
    )
    evidence = tmp_path / "ev"
    record = deployment("D1", sha, "2024-01-02T00:00:00Z", approvals=APPROVAL)
    write_yaml(evidence / "deploys.yaml", [{**record, "finished_at": "2024-01-02T00:10:00Z"}])
    write_yaml(evidence / "fleet.yaml", {"services": {"web": {"hosts": ["web-1"]}}})
    return repo, evidence


def check(shop: tuple[ScriptedRepo, Path], *extra: str) -> CliResult:
    repo, evidence = shop
    return run_cli("check", "--repo", repo.path, "--evidence", evidence, *extra)


def stray_observation(repo: ScriptedRepo) -> str:
    """The observation of host web-1 on a commit never deployed: FLEET-002 fails on it."""
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    seen = {"host": "web-1", "service": "web", "version": other,
            "observed_at": "2024-01-04T00:00:00Z"}  # fmt: skip
    return json.dumps(seen) + "\n"


def _put(path: str, data: bytes = b"") -> Callable[[Path], None]:
    def put(evidence: Path) -> None:
        (evidence / path).parent.mkdir(parents=True, exist_ok=True)
        if not path.endswith("/"):
            (evidence / path).write_bytes(data)

    return put


def _copies(evidence: Path) -> None:
    """A filer's snapshot of the directory: a copy of each of its files."""
    (evidence / ".snapshot" / "hourly.0").mkdir(parents=True)
    for name in ("deploys.yaml", "fleet.yaml"):
        (evidence / ".snapshot" / "hourly.0" / name).write_bytes((evidence / name).read_bytes())


def _autosaved(evidence: Path) -> None:
    (evidence / "#deploys.yaml#").write_bytes((evidence / "deploys.yaml").read_bytes())


@pytest.mark.parametrize(
    ("name", "put"),
    [
        ("lost+found", _put("lost+found/")),
        ("lost+found", _put("lost+found/#131074", b"\x7fELF\x02\x01")),
        (".snapshot", _copies),
        ("Thumbs.db", _put("Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)),
        ("desktop.ini", _put("desktop.ini", b"[.ShellClassInfo]\r\nIconResource=x.ico,0\r\n")),
        ("~$deploys.yaml", _put("~$deploys.yaml", OFFICE_LOCK)),
        (".~lock.deploys.yaml#", _put(".~lock.deploys.yaml#", LIBREOFFICE_LOCK)),
        (".deploys.yaml.swp", _put(".deploys.yaml.swp", vim_swap(unsaved=False))),
        (".deploys.yaml.swo", _put(".deploys.yaml.swo", vim_swap(unsaved=False))),
        ("#deploys.yaml#", _autosaved),
    ],
)
def test_what_machines_leave_is_passed_over_where_it_holds_no_records(
    shop: tuple[ScriptedRepo, Path], name: str, put: Callable[[Path], None]
) -> None:
    """Each was refused (exit 2) until named in evidence_ignore: ext4's empty ``lost+found``,
    a filer's ``.snapshot``, Explorer's ``Thumbs.db``, an editor's lock, vim's swap file with
    nothing unsaved; ``~$deploys.yaml`` with the hint to rename it, a lock, to deploys.yaml."""
    _, evidence = shop
    put(evidence)
    result = check(shop, "--format", "json")
    assert result.code == 0, result.err
    assert "ignored" not in result.json()["inputs"]
    assert name not in {f["path"] for f in result.json()["inputs"]["files"]}


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("~$observations.yaml", "is named as the lock file an office editor keeps on"),
        (".~lock.observations.jsonl#", "is named as the lock file LibreOffice keeps on"),
        ("Thumbs.db", "is named as a file Windows Explorer keeps in a directory it shows"),
    ],
)
def test_a_lock_or_explorers_file_holding_records_is_refused(
    shop: tuple[ScriptedRepo, Path], name: str, said: str
) -> None:
    """A lock file is a few bytes naming a user: one that holds a kind's records is not one,
    and its records would go unjudged were it passed over."""
    repo, evidence = shop
    (evidence / name).write_text(stray_observation(repo))
    result = check(shop)
    assert result.code == 2, result.out
    assert f"{name} {said}" in result.err
    assert "but holds observation records, which are not read from there" in result.err
    assert "hint: if they are evidence, put them in observations.jsonl" in result.err
    if name.startswith("~$"):
        assert "close the editor that has observations.yaml open, or delete" in result.err
        assert "rename" not in result.err


def _hidden_deployment(repo: ScriptedRepo) -> dict[str, object]:
    """Deployment D2 of a commit no one reviewed: REVIEW-002 fails on it in deploys.yaml."""
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    return {**deployment("D2", other, "2024-01-04T00:00:00Z"), "deployer": "ops",
            "finished_at": "2024-01-04T00:10:00Z"}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "wrap"),
    [
        ("~$deploys.yaml", lambda d2: json.dumps(d2).encode() + b"\n# \xe9\n"),
        ("~$deploys.yaml", lambda d2: OFFICE_LOCK + json.dumps(d2).encode()),
        ("~$deploys.yaml", lambda d2: yaml.safe_dump_all([{"owner": "ops"}, d2]).encode()),
        ("~$deploys.yaml", lambda d2: yaml.safe_dump({"deploys": [d2]}).encode()),
        (".~lock.deploys.yaml#", lambda d2: b"--- !export\n" + yaml.safe_dump([d2]).encode()),
        ("Thumbs.db", lambda d2: b"\xd0\xcf\x11\xe0" + json.dumps(d2).encode("utf-16-le")),
        ("~$deploys.yaml", lambda d2: gzip.compress(yaml.safe_dump([d2]).encode(), mtime=0)),
    ],
)
def test_a_lock_holding_records_in_any_form_is_refused(
    shop: tuple[ScriptedRepo, Path], name: str, wrap: Callable[[dict[str, object]], bytes]
) -> None:
    """Only the form an evidence file takes was looked for: a lock holding D2 after a byte
    that is not UTF-8, after an office lock's own bytes, in a second YAML document, under a
    key or a YAML tag, or gzipped, or Thumbs.db holding it as UTF-16, was passed over (exit
    0)."""
    repo, evidence = shop
    (evidence / name).write_bytes(wrap(_hidden_deployment(repo)))
    result = check(shop)
    assert result.code == 2, result.out
    assert f"{name} is named as " in result.err
    assert "but holds deployment records, which are not read from there" in result.err


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        (".deploys.yaml.swp", vim_swap(unsaved=True), "it holds edits not saved to deploys.yaml"),
        (".deploys.yaml.swp", b"b0VIM 9.0", "it holds edits not saved to deploys.yaml"),
        (".deploys.yaml.swo", b"- id: D2\n", "it is not one vim wrote, and may hold records"),
        (".observations.jsonl.swp", vim_swap(unsaved=False), "observations.jsonl is not here"),
        ("#deploys.yaml#", b"[]\n", "it holds edits not saved to deploys.yaml"),
        ("#observations.jsonl#", b"{}\n", "observations.jsonl is not here"),
    ],
)
def test_an_editors_unsaved_edits_are_refused_saying_so(
    shop: tuple[ScriptedRepo, Path], name: str, data: bytes, said: str
) -> None:
    """A swap or autosave file holding edits not saved to its file, or of a file not here,
    may hold records the check does not read: refused, with what to do."""
    _, evidence = shop
    (evidence / name).write_bytes(data)
    result = check(shop)
    assert result.code == 2, result.out
    assert f"{name} is the " in result.err and said in result.err
    assert f"or delete {name} if the edits are not wanted" in result.err


def test_a_swap_file_said_clean_is_passed_over_only_holding_its_files_lines(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """vim's swap file was passed over wherever its block 0 said nothing was unsaved: a clean
    block 0 followed by D2, a deployment of a commit no one reviewed, passed (exit 0), D2
    judged by no rule; so did a data block holding D2's lines."""
    repo, evidence = shop
    swap = evidence / ".deploys.yaml.swp"
    saved = (evidence / "deploys.yaml").read_bytes()
    swap.write_bytes(vim_swap_of(saved, gap=b"  commit: 0ld\0- id: D0\0"))
    assert check(shop).code == 0
    d2 = yaml.safe_dump([_hidden_deployment(repo)]).encode()
    for data, said in [
        (vim_swap(unsaved=False) + d2, "past its block 0 it is not laid out as vim's"),
        (vim_swap_of(saved + d2), "it holds lines of text deploys.yaml does not"),
        (vim_swap_of(b"\n".join(sorted(saved.split(b"\n")))), "lines of text deploys.yaml"),
        (vim_swap_of(saved, gap=json.dumps(_hidden_deployment(repo)).encode()), "outside"),
    ]:
        swap.write_bytes(data)
        result = check(shop)
        assert result.code == 2, result.out
        assert ".deploys.yaml.swp is the swap file vim keeps" in result.err and said in result.err


def test_an_editors_backup_is_refused_with_the_hint_to_delete_it(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """``deploys.yaml~`` is a whole copy of an older deploys.yaml; ``observations.jsonl~``
    alone was said to be renamed to observations.jsonl, an older version judged as current."""
    repo, evidence = shop
    (evidence / "deploys.yaml~").write_text("[]\n")
    result = check(shop)
    assert result.code == 2, result.out
    assert "deploys.yaml~ is an editor's copy of deploys.yaml as it was before" in result.err
    assert "hint: delete deploys.yaml~" in result.err
    (evidence / "deploys.yaml~").unlink()
    (evidence / "observations.jsonl~").write_text(stray_observation(repo))
    result = check(shop)
    assert result.code == 2, result.out
    assert "and observations.jsonl is not here" in result.err
    assert "rename" not in result.err


def test_lost_found_or_a_snapshot_holding_evidence_not_read_here_is_refused(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """A snapshot holding observations where no observations file is read keeps evidence this
    directory no longer has; ``lost+found`` holding a file named for evidence was put there."""
    repo, evidence = shop
    seen = stray_observation(repo)
    (evidence / ".snapshot" / "hourly.0").mkdir(parents=True)
    (evidence / ".snapshot" / "hourly.0" / "observations.jsonl").write_text(seen)
    result = check(shop)
    assert result.code == 2, result.out
    assert "(hidden, it holds hourly.0/observations.jsonl, which is not read" in result.err
    (evidence / "observations.jsonl").write_text(seen)
    assert check(shop).code == 1  # beside the file, the snapshot's copy is passed over
    (evidence / "observations.jsonl").unlink()
    (evidence / ".snapshot" / "hourly.0" / "observations.jsonl").unlink()
    (evidence / "lost+found").mkdir()
    (evidence / "lost+found" / "observations.jsonl").write_text(seen)
    result = check(shop)
    assert result.code == 2, result.out
    assert "lost+found is the directory fsck puts what it recovers in, and holds" in result.err


def test_a_snapshot_holding_a_record_no_file_read_holds_is_refused(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """A filer's snapshot keeps older copies of the directory's files. One holding D2, of a
    commit no one reviewed, that deploys.yaml does not hold (in its deploys.yaml, or in a file
    of any name) was passed over, and the check passed (exit 0). An older copy of D1, from
    before it finished, is the same record, and still passed over."""
    repo, evidence = shop
    [d1] = yaml.safe_load((evidence / "deploys.yaml").read_text())
    d2 = _hidden_deployment(repo)
    kept = evidence / ".snapshot" / "hourly.0"
    kept.mkdir(parents=True)
    people = {"lee@example.com": ["lee@corp.example.com"]}
    for name, records, said in [
        ("deploys.yaml", [d1, d2], "holds deployment D2, which no file read holds"),
        ("export-7", [d2], "holds deployment D2, which no file read holds"),
        ("people", people, "holds identities records, which no file read holds"),
    ]:
        (kept / name).write_text(yaml.safe_dump(records))
        result = check(shop)
        assert result.code == 2, result.out
        assert f".snapshot is a filer's snapshots of this directory, and hourly.0/{name} there" in (
            result.err
        )
        assert said in result.err
        (kept / name).unlink()
    (kept / "deploys.yaml").write_text(yaml.safe_dump([{**d1, "finished_at": None}]))
    assert check(shop).code == 0


def test_lost_found_holding_records_under_an_inode_number_is_refused(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """fsck names what it recovers by inode number: ``lost+found/#12345`` holding D2, of a
    commit no one reviewed, was passed over as a name never read, and the check passed."""
    repo, evidence = shop
    (evidence / "lost+found" / "#131074").mkdir(parents=True)
    (evidence / "lost+found" / "#131074" / "#12345").write_text(
        yaml.safe_dump([_hidden_deployment(repo)])
    )
    result = check(shop)
    assert result.code == 2, result.out
    assert "and holds #131074/#12345, named for evidence or holding records" in result.err
    (evidence / "lost+found" / "#131074" / "#12345").write_bytes(b"\x7fELF\x02\x01")
    assert check(shop).code == 0


def test_a_lost_found_that_cannot_be_listed_is_passed_over_only_at_a_file_systems_root(
    shop: tuple[ScriptedRepo, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ext4's ``lost+found`` is root's own (mode 0700), at a file system's root: only fsck
    writes there, naming what it recovers by inode number, a name the check never reads. A
    ``lost+found`` the team made and left unreadable, holding D2, was passed over as well,
    and the check passed (exit 0)."""
    repo, evidence = shop
    (evidence / "lost+found").mkdir()
    (evidence / "lost+found" / "#131074").write_text(yaml.safe_dump([_hidden_deployment(repo)]))
    monkeypatch.setattr(bundle.EvidenceFiles, "listable", lambda self, name: False)
    result = check(shop)
    assert result.code == 2, result.out
    assert "lost+found cannot be listed, and is not the one ext4 keeps at a file system's root" in (
        result.err
    )
    monkeypatch.setattr(bundle.EvidenceFiles, "file_system_own", lambda self, name: True)
    assert check(shop).code == 0


@pytest.mark.parametrize(
    ("name", "where"),
    [
        (".DS_Store", ".DS_Store"),
        (".nfs0000000000012345", ".nfs0000000000012345"),
        (".notes.swp", ".notes.swp"),
        (".syncthing.notes.tmp", ".syncthing.notes.tmp"),
        (".snapshot", ".snapshot"),
        (".Trashes/501/export-7", "501/export-7 there"),
        (".dropbox.cache/2024-01-04/abc", "2024-01-04/abc there"),
        ("..2024_01_04_00_00_00.123/d2", "d2 there"),
        (".git/d2", "d2 there"),
    ],
)
def test_a_hidden_entry_named_for_no_evidence_holding_records_is_refused(
    shop: tuple[ScriptedRepo, Path], name: str, where: str
) -> None:
    """A hidden file or directory whose name is no kind's was passed over whatever it held:
    each holding deployment D2, of a commit no one reviewed, passed (exit 0, "No findings"),
    D2 judged by no rule."""
    repo, evidence = shop
    path = evidence / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump([_hidden_deployment(repo)]))
    result = check(shop)
    assert result.code == 2, result.out
    top = name.split("/")[0]
    said = "it" if where == name else where
    assert f"{top} is hidden, and {said} holds deployment D2, which no file read holds" in (
        result.err
    )
    assert "hint: put it in deploys.yaml if it is evidence, else remove" in result.err


@pytest.mark.parametrize(
    "put",
    [
        _put(".DS_Store", b"\0\0\0\1Bud1" + b"\0" * 64 + b"Iloc\0blob"),
        _put("._.DS_Store", b"\0\x05\x16\x07\0\x02\0\0Mac OS X        " + b"\0" * 32),
        _put(".Trashes/501/"),
        _put(".stfolder/"),
        _put(".gitattributes", b"*.jsonl text eol=lf\n"),
        lambda ev: _put(".dropbox.cache/x", (ev / "deploys.yaml").read_bytes())(ev),
    ],
)
def test_a_hidden_entry_holding_no_record_unread_is_passed_over(
    shop: tuple[ScriptedRepo, Path], put: Callable[[Path], None]
) -> None:
    """What a Mac, a sync tool or git leaves is passed over, and so is a copy a sync tool
    keeps of a record still read."""
    _, evidence = shop
    put(evidence)
    result = check(shop)
    assert result.code == 0, result.err


def test_a_git_directory_in_the_evidence_is_passed_over(shop: tuple[ScriptedRepo, Path]) -> None:
    """The evidence directory kept as its own repository: git's objects are compressed, and
    hold nothing read as records."""
    _, evidence = shop
    git = ScriptedRepo(evidence)
    git.commit("evidence", {"deploys.yaml": (evidence / "deploys.yaml").read_text()},
               author=DEV, date="2024-01-03T00:00:00Z")  # fmt: skip
    assert (evidence / ".git").is_dir()
    result = check(shop)
    assert result.code == 0, result.err


def _in_a_string(d2: dict[str, object]) -> bytes:
    return yaml.safe_dump({"note": json.dumps(d2)}).encode()


def _in_a_block(d2: dict[str, object]) -> bytes:
    lines = yaml.safe_dump([d2]).splitlines()
    return ("note: |\n" + "".join(f"  {line}\n" for line in lines)).encode()


def _in_a_comment(d2: dict[str, object]) -> bytes:
    return ("[]\n" + "".join(f"# {line}\n" for line in yaml.safe_dump([d2]).splitlines())).encode()


@pytest.mark.parametrize("where", [".DS_Store", ".snapshot/hourly.0/export-7"])
@pytest.mark.parametrize("wrap", [_in_a_string, _in_a_block, _in_a_comment])
def test_a_record_written_in_a_string_or_comment_of_a_hidden_file_is_refused(
    shop: tuple[ScriptedRepo, Path], where: str, wrap: Callable[[dict[str, object]], bytes]
) -> None:
    """A hidden file's or a snapshot's records were held by a file read where each mapping
    read as one was: D2 as JSON in a YAML string, as YAML in a block scalar or in comments
    read as no mapping, and the file was passed over (exit 0, "No findings")."""
    repo, evidence = shop
    path = evidence / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wrap(_hidden_deployment(repo)))
    result = check(shop)
    assert result.code == 2, result.out
    assert "holds a record (its 'commit') written in a string or a comment" in result.err


APPLE_DOUBLE = (
    b"\0\x05\x16\x07\0\x02\0\0Mac OS X        \0\x02" + b"\0\0\0\x09\0\0\0\x32\0\0\x0e\xb0"
)


@pytest.mark.parametrize("name", ["._deploys.yaml", "._observations.jsonl", "._.DS_Store"])
def test_a_macs_appledouble_file_is_passed_over(shop: tuple[ScriptedRepo, Path], name: str) -> None:
    """A Mac writing to a share keeps each file's Finder data in ``._`` beside it:
    ``._deploys.yaml`` was refused (exit 2) as a misnamed file, with the hint to rename it
    ("did you mean 'deploys'?"), over the deploys.yaml it describes."""
    _, evidence = shop
    (evidence / name).write_bytes(APPLE_DOUBLE + b"\0" * 3800)
    result = check(shop)
    assert result.code == 0, result.err


def test_an_appledouble_file_holding_records_is_refused(shop: tuple[ScriptedRepo, Path]) -> None:
    """An AppleDouble file holds a few bytes of Finder data: one holding records is not
    one, and is refused, as a lock holding them is."""
    repo, evidence = shop
    (evidence / "._deploys.yaml").write_bytes(
        APPLE_DOUBLE + yaml.safe_dump([_hidden_deployment(repo)]).encode()
    )
    result = check(shop)
    assert result.code == 2, result.out
    assert "._deploys.yaml is named as the file a Mac keeps deploys.yaml's Finder data" in (
        result.err
    )
    assert "but holds deployment records, which are not read from there" in result.err
    assert "hint: if they are evidence, put them in deploys.yaml; else delete" in result.err


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        (".observations.jsonl.AbC123", "rsync"),
        (".syncthing.observations.jsonl.tmp", "Syncthing"),
        ("observations.jsonl___jb_tmp___", "a JetBrains IDE"),
    ],
)
def test_a_copys_temporary_file_is_not_to_be_renamed_into_place(
    shop: tuple[ScriptedRepo, Path], name: str, tool: str
) -> None:
    """What rsync, Syncthing or a JetBrains IDE writes a file through, left by a copy cut
    short, holds part of its records: it was refused with the hint to rename it to
    observations.jsonl (or to move it out), and renamed, the part would be judged as all."""
    _, evidence = shop
    (evidence / name).write_bytes(b'{"host": "web-1", "service": "web"}\n{"ho')
    result = check(shop)
    assert result.code == 2, result.out
    assert f"{name} is the temporary file {tool} writes observations.jsonl through" in result.err
    assert "it may hold only part of the records" in result.err
    assert "hint: remove it, and copy observations.jsonl again if it is not here" in result.err
    assert "rename" not in result.err


def test_a_jetbrains_ides_old_copy_is_a_backup(shop: tuple[ScriptedRepo, Path]) -> None:
    """A JetBrains IDE keeps the file as it was before a save in ``___jb_old___``: it was
    refused with the hint to rename it to observations.jsonl, older records judged as
    current."""
    _, evidence = shop
    (evidence / "observations.jsonl___jb_old___").write_bytes(b"")
    result = check(shop)
    assert result.code == 2, result.out
    assert "is an editor's copy of observations.jsonl as it was before it was last saved" in (
        result.err
    )
    assert "rename" not in result.err


def _escaped_in_a_string(d2: dict[str, object]) -> bytes:
    d2 = {key: value for key, value in d2.items() if key != "targets"}
    escaped = json.dumps(d2).replace('"id"', '"\\u0069d"')
    return yaml.safe_dump({"note": escaped}).encode()


def _escaped_in_a_block(d2: dict[str, object]) -> bytes:
    d2 = {key: value for key, value in d2.items() if key != "targets"}
    lines = yaml.safe_dump([d2], sort_keys=False).replace("- id:", '- "\\x69d":').splitlines()
    return ("note: |\n" + "".join(f"  {line}\n" for line in lines)).encode()


@pytest.mark.parametrize("where", [".DS_Store", ".snapshot/hourly.0/export-7"])
@pytest.mark.parametrize("wrap", [_escaped_in_a_string, _escaped_in_a_block])
def test_a_record_whose_id_is_escaped_in_a_string_is_refused(
    shop: tuple[ScriptedRepo, Path], where: str, wrap: Callable[[dict[str, object]], bytes]
) -> None:
    """D2 in a string, its ``id`` spelt with an escape (and no target's ``host``), was read as
    records and then as none of them (exit 0)."""
    repo, evidence = shop
    path = evidence / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wrap(_hidden_deployment(repo)))
    result = check(shop)
    assert result.code == 2, result.out
    assert "holds deployment D2" in result.err or "written in a string or a comment" in (result.err)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("#README.md#", b"# Evidence\n\nEdits not yet saved.\n"),
        ("README.md~", b"# Evidence\n"),
        ("notes.txt~", b"call ops\n"),
        ("README.md___jb_old___", b"# Evidence\n"),
    ],
)
def test_an_editors_file_of_what_is_not_evidence_is_passed_over(
    shop: tuple[ScriptedRepo, Path], name: str, data: bytes
) -> None:
    """Emacs's autosave of README.md while it is edited, or an editor's backup of it, was
    refused (exit 2) as holding edits to a file read, or as an older copy of one: neither can
    hold records the check reads unless it holds records."""
    _, evidence = shop
    (evidence / "README.md").write_bytes(b"# Evidence\n")
    (evidence / name).write_bytes(data)
    result = check(shop)
    assert result.code == 0, result.err


@pytest.mark.parametrize("name", ["#README.md#", "README.md~"])
def test_an_editors_file_of_what_is_not_evidence_holding_records_is_refused(
    shop: tuple[ScriptedRepo, Path], name: str
) -> None:
    repo, evidence = shop
    (evidence / "README.md").write_bytes(b"# Evidence\n")
    (evidence / name).write_text(yaml.safe_dump([_hidden_deployment(repo)]))
    result = check(shop)
    assert result.code == 2, result.out
    assert "but holds deployment records, which are not read from there" in result.err


def test_a_git_directory_whose_history_held_a_record_is_passed_over(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """An evidence repository's object store is git's (packed or loose): its objects are read
    by name, not as text, so a record the history held and a later commit removed (the
    audit judges the files as they are; ``--previous`` chains the months) stops nothing, and
    the store is not read whole at every run (a minute for 57 MB of packs)."""
    repo, evidence = shop
    git = ScriptedRepo(evidence)
    kept = (evidence / "deploys.yaml").read_text()
    with_d2 = kept + yaml.safe_dump([_hidden_deployment(repo)])
    git.commit("d2", {"deploys.yaml": with_d2}, author=DEV, date="2024-01-03T00:00:00Z")
    git.commit("undo", {"deploys.yaml": kept}, author=DEV, date="2024-01-03T01:00:00Z")
    git.git("-c", "core.compression=0", "gc", "-q")  # its objects stored, not compressed
    git.commit("loose", {"notes.txt": with_d2}, author=DEV, date="2024-01-03T02:00:00Z")
    (evidence / "notes.txt").unlink()
    result = check(shop)
    assert result.code == 0, result.err


def test_a_file_in_a_git_directory_git_did_not_name_is_read(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """Only the names git gives its objects are passed over: a record put beside them under
    another name is refused."""
    repo, evidence = shop
    git = ScriptedRepo(evidence)
    git.commit("evidence", {"deploys.yaml": (evidence / "deploys.yaml").read_text()},
               author=DEV, date="2024-01-03T00:00:00Z")  # fmt: skip
    (evidence / ".git/objects/pack/d2.yaml").write_text(yaml.safe_dump([_hidden_deployment(repo)]))
    result = check(shop)
    assert result.code == 2, result.out
    assert "holds deployment D2, which no file read holds" in result.err


def _sealed(data: bytes) -> bytes:
    """``data`` ending in the SHA-1 of its bytes, as git's tables and packs end."""
    return data + hashlib.sha1(data, usedforsecurity=False).digest()


_HEX = "c" * 38
_PACK = f"objects/pack/pack-{'d' * 40}"


@pytest.mark.parametrize(
    ("where", "lay"),
    [
        (f"objects/ab/{_HEX}", lambda d2: d2),
        (f"objects/ab/{_HEX}", lambda d2: zlib.compress(b"blob 3\0abc") + d2),
        (f"{_PACK}.keep", lambda d2: d2),
        (f"{_PACK}.promisor", lambda d2: d2),
        ("objects/info/packs", lambda d2: d2),
        (f"{_PACK}.pack", lambda d2: _sealed(b"PACK\0\0\0\2\0\0\0\0" + d2)),
        (f"{_PACK}.idx", lambda d2: _sealed(b"\xfftOc\0\0\0\2" + d2)),
        ("objects/info/commit-graph", lambda d2: _sealed(b"CGPH" + d2)),
        ("index", lambda d2: b"DIRC" + d2),
    ],
)
def test_a_file_named_as_git_names_its_objects_holding_text_is_read(
    shop: tuple[ScriptedRepo, Path], where: str, lay: Callable[[bytes], bytes]
) -> None:
    """A file of a git directory is passed over only where it is laid out as git writes it,
    not by its name alone: deployment D2 as plain YAML in a file named as a loose object, a
    pack's ``.keep``, or a pack (beginning ``PACK``, ending in its checksum) passed (exit 0).
    A pack's ``.keep`` and ``.promisor`` and ``objects/info/packs`` are text, read as any
    other file is."""
    repo, evidence = shop
    git = ScriptedRepo(evidence)
    git.commit("evidence", {"deploys.yaml": (evidence / "deploys.yaml").read_text()},
               author=DEV, date="2024-01-03T00:00:00Z")  # fmt: skip
    path = evidence / ".git" / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lay(yaml.safe_dump([_hidden_deployment(repo)]).encode()))
    result = check(shop)
    assert result.code == 2, result.out
    assert f".git is hidden, and {where} there holds " in result.err


def test_a_directory_laid_out_as_git_s_holding_text_is_read(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """A hidden directory holding ``HEAD``, ``objects`` and ``refs`` is a git directory to the
    check; a file in it named as a loose object is still read where it holds text."""
    repo, evidence = shop
    _put(".cache/HEAD", b"ref: refs/heads/main\n")(evidence)
    (evidence / ".cache/refs/heads").mkdir(parents=True)
    _put(f".cache/objects/ab/{_HEX}", yaml.safe_dump([_hidden_deployment(repo)]).encode())(evidence)
    result = check(shop)
    assert result.code == 2, result.out
    assert "holds deployment D2, which no file read holds" in result.err


@pytest.mark.parametrize("at", [0, 200_000, 262_144 - 100, 400_000])
def test_a_large_file_of_a_hidden_directory_is_looked_at_a_window_at_a_time(
    shop: tuple[ScriptedRepo, Path], monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    """A file larger than a window (a disk image in ``.Trashes``) is looked at a window at a
    time, not read whole: a record anywhere in it, across two windows too, is found."""
    repo, evidence = shop
    monkeypatch.setattr(bundle, "WINDOW", 65_536)
    noise = bytes(range(128, 256)) * 4_000
    d2 = yaml.safe_dump([_hidden_deployment(repo)]).encode()
    _put(".Trashes/501/disk.img", noise[:at] + b"\n" + d2 + noise[at:])(evidence)
    result = check(shop)
    assert result.code == 2, result.out
    assert ".Trashes is hidden, and 501/disk.img there holds " in result.err


def test_a_large_file_holding_no_records_is_passed_over(
    shop: tuple[ScriptedRepo, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Looked at a window at a time, a large file holding no records is passed over."""
    _, evidence = shop
    monkeypatch.setattr(bundle, "WINDOW", 65_536)
    _put(".Trashes/501/disk.img", bytes(range(128, 256)) * 4_000)(evidence)
    result = check(shop)
    assert result.code == 0, result.err


def test_a_hidden_copy_of_a_deployment_that_shipped_another_commit_is_refused(
    shop: tuple[ScriptedRepo, Path],
) -> None:
    """A copy of deployment D1 in a hidden directory, of another commit (no one reviewed), is
    another account of it, not an older copy: it is refused."""
    repo, evidence = shop
    other = repo.commit("d", {"a.py": "print(2)\n"}, author=DEV, date="2024-01-03T00:00:00Z")
    d1 = yaml.safe_load((evidence / "deploys.yaml").read_text())
    d1[0]["commit"] = other
    _put(".Trashes/501/x", yaml.safe_dump(d1).encode())(evidence)
    result = check(shop)
    assert result.code == 2, result.out
    assert f"501/x there holds deployment D1 (commit '{other}')" in result.err
