"""Outputs, tried as a careless user or an audited team would: only regular files are written,
never an input or a key, all of a run's outputs or none, nothing left behind on a signal, and
no secret repeated in a message."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, CliResult, deployment, run_cli, write_yaml
from tests.rules.test_policies import USER_RULE

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    """A repository with one reviewed commit and one approved deployment: a pass."""

    tmp: Path
    repo: Path
    evidence: Path
    key: Path
    pub: Path

    def check(self, *argv: str | Path) -> CliResult:
        return run_cli("check", "--repo", self.repo, "--evidence", self.evidence, *argv)

    def audit(self, *argv: str | Path) -> CliResult:
        return run_cli(
            "audit",
            "--repo",
            self.repo,
            "--evidence",
            self.evidence,
            "--period",
            "2024-02",
            "--as-of",
            "2024-03-01",
            *argv,
        )


@pytest.fixture
def case(tmp_path: Path) -> Case:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "one\n\nReviewed-by: Lee Lead <lee@example.com>",
        {"a": "1\n"},
        author=DEV,
        date="2024-01-01T00:00:00Z",
    )
    approvals = [{"by": "lee@example.com", "at": "2024-02-01T08:00:00Z"}]
    write_yaml(
        tmp_path / "ev" / "deploys.yaml",
        [deployment("D1", sha, "2024-02-01T09:00:00Z", approvals=approvals)],
    )
    assert run_cli("keygen", "--output", tmp_path / "signing").code == 0
    return Case(
        tmp_path,
        repo.path,
        tmp_path / "ev",
        tmp_path / "signing.key",
        tmp_path / "signing.pub",
    )


def _refused(result: CliResult, *needles: str) -> None:
    assert result.code == 2, result.err
    assert result.err.startswith("knightwatch: error: "), result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, result.err


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# -- only regular files ------------------------------------------------------------------


def test_a_fifo_is_not_replaced_by_a_report(case: Case) -> None:
    fifo = case.tmp / "pipe"
    os.mkfifo(fifo)
    _refused(case.check("-o", fifo), f"cannot write {fifo}: it is a FIFO")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_character_device_is_not_replaced_by_a_report(case: Case) -> None:
    device = case.tmp / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    _refused(case.check("--format", "json", "-o", device), "it is a character device")
    assert stat.S_ISCHR(device.lstat().st_mode)


@pytest.mark.skipif(
    os.access("/dev", os.W_OK),
    reason="/dev is writable here (root): a regression would replace the machine's /dev/null; "
    "the device node test above covers the same refusal",
)
def test_dev_null_is_refused_before_anything_runs(case: Case) -> None:
    _refused(case.check("-o", "/dev/null"), "cannot write /dev/null: it is a character device")
    assert stat.S_ISCHR(Path("/dev/null").lstat().st_mode)


def test_a_symbolic_link_is_not_followed_or_replaced(case: Case) -> None:
    elsewhere = case.tmp / "precious.txt"
    elsewhere.write_text("keep me\n")
    link = case.tmp / "report.json"
    link.symlink_to(elsewhere)
    _refused(case.check("-o", link), "it is a symbolic link")
    assert link.is_symlink() and elsewhere.read_text() == "keep me\n"
    stdout = case.tmp / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    _refused(case.check("-o", stdout), "it is a symbolic link")


def test_a_directory_is_not_an_output(case: Case) -> None:
    _refused(case.check("-o", case.tmp), "it is a directory")


def test_proc_is_an_input_error_not_a_crash(case: Case) -> None:
    _refused(case.check("-o", "/proc/version"), "cannot write /proc/version")


# -- never an input or a key -------------------------------------------------------------


def test_an_evidence_file_is_never_overwritten(case: Case) -> None:
    deploys = case.evidence / "deploys.yaml"
    before = deploys.read_bytes()
    _refused(case.check("--format", "json", "-o", deploys), "this run read it as an input")
    other_spelling = case.evidence / ".." / "ev" / "deploys.yaml"
    _refused(case.check("--format", "json", "-o", other_spelling), "read it as an input")
    assert deploys.read_bytes() == before


def test_knightwatch_yaml_and_policies_are_never_overwritten(case: Case) -> None:
    config = case.repo / "knightwatch.yaml"
    config.write_text("protected_branch: main\n")
    extra = case.tmp / "extra"
    extra.mkdir()
    policy = extra / "mine.rego"
    policy.write_text(USER_RULE.replace("acme.tickets", "mine"))
    _refused(case.check("--format", "json", "-o", config), "read it as an input")
    _refused(case.check("--policies", extra, "--format", "json", "-o", policy), "as an input")
    assert config.read_text() == "protected_branch: main\n"
    assert policy.read_text() == USER_RULE.replace("acme.tickets", "mine")


def test_audit_never_overwrites_its_signing_key(case: Case) -> None:
    before = case.key.read_bytes()
    _refused(case.audit("--key", case.key, "-o", case.key), "holds a PEM key")
    assert case.key.read_bytes() == before


def test_audit_never_overwrites_any_key_file(case: Case) -> None:
    public = case.pub.read_bytes()
    out = case.tmp / "audit.json"
    _refused(case.audit("--key", case.key, "-o", out, "--html", case.pub), "holds a PEM key")
    assert case.pub.read_bytes() == public and not out.exists()


def test_audit_never_overwrites_the_previous_report(case: Case) -> None:
    first = case.tmp / "audit-2024-01.json"
    january = run_cli(
        "audit",
        "--repo",
        case.repo,
        "--evidence",
        case.evidence,
        "--period",
        "2024-01",
        "--as-of",
        "2024-03-01",
        "--key",
        case.key,
        "-o",
        first,
    )
    assert january.code == 0, january.err
    before = first.read_bytes()
    result = case.audit("--key", case.key, "--previous", first, "-o", first)
    _refused(result, "read it as an input")
    assert first.read_bytes() == before


def test_the_same_output_twice_is_refused(case: Case) -> None:
    out = case.tmp / "r.json"
    _refused(case.check("-o", out, "-o", case.tmp / "." / "r.json"), "are the same file")
    assert not out.exists()


# -- all or nothing ----------------------------------------------------------------------


def test_a_second_output_that_fails_leaves_the_first_unwritten(case: Case) -> None:
    first = case.tmp / "report.json"
    fifo = case.tmp / "report.xml"
    os.mkfifo(fifo)
    _refused(case.check("-o", first, "-o", fifo), "it is a FIFO")
    assert not first.exists()


def test_an_output_whose_directory_goes_missing_leaves_nothing(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second output's directory disappears during the run (a cleanup job, a full disk):
    the first output must not appear without it."""
    first = case.tmp / "report.json"
    gone = case.tmp / "gone"
    gone.mkdir()
    from checker import runner

    real = runner.run_check

    def run_then_remove(options: runner.CheckOptions) -> runner.Report:
        report = real(options)
        gone.rmdir()
        return report

    monkeypatch.setattr(runner, "run_check", run_then_remove)
    _refused(case.check("-o", first, "-o", gone / "report.sarif"), "does not exist")
    assert not first.exists()
    assert _leftovers(case.tmp) == []


def test_audit_never_leaves_html_without_its_signed_report(case: Case) -> None:
    html = case.tmp / "audit.html"
    markdown = case.tmp / "audit.md"
    signed = case.tmp / "missing" / "audit.json"
    result = case.audit("--key", case.key, "-o", signed, "--html", html, "--markdown", markdown)
    _refused(result, "does not exist")
    assert not html.exists() and not markdown.exists()


def test_audit_writes_all_three_when_all_can_be_written(case: Case) -> None:
    html, markdown, signed = (case.tmp / n for n in ("a.html", "a.md", "a.json"))
    result = case.audit("--key", case.key, "-o", signed, "--html", html, "--markdown", markdown)
    assert result.code == 0, result.err
    assert all(p.is_file() for p in (html, markdown, signed))
    assert _leftovers(case.tmp) == []


def test_export_input_writes_both_documents_or_neither(case: Case) -> None:
    target = case.tmp / "exported"
    target.mkdir()
    os.mkfifo(target / "data.json")
    result = run_cli("export-input", "--repo", case.repo, "--evidence", case.evidence, "-o", target)
    _refused(result, "data.json: it is a FIFO")
    assert not (target / "input.json").exists()
    assert _leftovers(target) == []


# -- signals -----------------------------------------------------------------------------

_INTERRUPTED_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from checker.cli import main

    real_fsync = os.fsync
    def fsync_then_signal(fd):
        real_fsync(fd)
        os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    os.fsync = fsync_then_signal
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_while_writing_leaves_no_temporary_and_no_report(case: Case, name: str) -> None:
    """The signal is real; only its moment is chosen: right after the first output is staged."""
    first, second = case.tmp / "r.json", case.tmp / "r.html"
    argv = ["check", "--repo", case.repo, "--evidence", case.evidence, "-o", first, "-o", second]
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_WRITE, name, *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "knightwatch: interrupted" in done.stderr
    assert _leftovers(case.tmp) == []
    assert not first.exists() and not second.exists()


_INTERRUPTED_IMPORT = textwrap.dedent(
    """
    import os, signal, sys

    class SignalOnImport:
        def find_spec(self, name, path=None, target=None):
            if name == "checker.cli.commands":
                os.kill(os.getpid(), signal.SIGINT)
            return None
    sys.meta_path.insert(0, SignalOnImport())
    from checker.launch import main
    sys.exit(main())
    """
)


def test_ctrl_c_while_the_command_line_loads_is_one_line() -> None:
    """The signal is real; only its moment is chosen: while ``knightwatch`` imports its
    modules, before any command runs (Python printed its traceback there)."""
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_IMPORT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (3, "knightwatch: interrupted\n")


# -- secrets -----------------------------------------------------------------------------


def _pem_body(key: Path) -> str:
    return key.read_text().splitlines()[1]


def test_a_key_pasted_into_key_is_not_echoed(case: Case) -> None:
    pem = case.key.read_text()
    result = case.audit("--key", pem, "-o", case.tmp / "audit.json")
    _refused(result, "looks like key material", "not shown")
    assert _pem_body(case.key) not in result.err + result.out
    assert "PRIVATE KEY" not in result.err


def test_a_key_in_the_token_variable_is_not_echoed(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNIGHTWATCH_OPA_TOKEN", case.key.read_text())
    result = case.check("--engine", "opa", "--opa-url", "http://127.0.0.1:9")
    _refused(result, "KNIGHTWATCH_OPA_TOKEN does not hold a bearer token")
    assert _pem_body(case.key) not in result.err + result.out


class _EchoingProxy(BaseHTTPRequestHandler):
    """A FAKE failing proxy in front of OPA (none can run here) that, like some real ones,
    repeats the request's headers in its error page."""

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _echo(self) -> None:
        body = f"502 Bad Gateway (Authorization: {self.headers.get('Authorization')})".encode()
        self.send_response(502)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _echo


@pytest.fixture
def echoing_proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_token_echoed_by_a_proxy_is_not_repeated(
    case: Case, monkeypatch: pytest.MonkeyPatch, echoing_proxy: str
) -> None:
    token = "kw-opa-token-7f3a9c21e5d84b06"
    monkeypatch.setenv("KNIGHTWATCH_OPA_TOKEN", token)
    result = case.check("--engine", "opa", "--opa-url", echoing_proxy)
    assert result.code == 3, result.err
    assert "answered 502" in result.err and "[token not shown]" in result.err
    assert token not in result.err + result.out


def test_credentials_in_the_opa_url_are_not_echoed(case: Case) -> None:
    result = case.check("--engine", "opa", "--opa-url", "http://admin:hunter2@127.0.0.1:9")
    _refused(result, "carries credentials")
    assert "hunter2" not in result.err


def test_keygen_never_writes_through_a_dangling_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "planted"
    target.parent.mkdir()
    (tmp_path / "signing.pub").symlink_to(target)
    result = run_cli("keygen", "--output", tmp_path / "signing")
    _refused(result, "already exists")
    assert not target.exists() and not (tmp_path / "signing.key").exists()


@pytest.mark.parametrize("given", ["keys/", "keys"])
def test_keygen_refuses_a_directory_for_its_prefix(tmp_path: Path, given: str) -> None:
    """`--output keys/` wrote the private key beside the directory, as keys.key, not in it: the
    separator is dropped with the path, and a prefix names files, not where they go."""
    (tmp_path / "keys").mkdir()
    result = run_cli("keygen", "--output", f"{tmp_path}/{given}")
    _refused(result, "directory")
    assert f"{tmp_path}/keys/signing" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]
    assert list((tmp_path / "keys").iterdir()) == []
    missing = run_cli("keygen", "--output", f"{tmp_path}/new/")
    _refused(missing, "ends in a separator: it names a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--key", "{pem}"],  # check takes no --key: argparse repeats what it cannot place
        ["verify", "{signed}", "--key", "{pem}"],  # the private key where the public one belongs
    ],
    ids=["unknown-argument", "verify-key"],
)
def test_a_key_is_not_echoed_by_any_error(case: Case, argv: list[str]) -> None:
    pem = case.key.read_text()
    signed = case.tmp / "a.json"
    signed.write_text("{}")
    result = run_cli(*(a.format(pem=pem, signed=signed) for a in argv))
    assert result.code == 2, result.err
    assert _pem_body(case.key) not in result.err + result.out
    assert "Traceback" not in result.err


def test_a_secret_in_the_opa_urls_query_is_not_echoed(case: Case) -> None:
    result = case.check("--engine", "opa", "--opa-url", "http://127.0.0.1:9/?token=hunter2")
    _refused(result, "has a path or a query")
    assert "hunter2" not in result.err


def test_an_output_in_pieces_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    """A report written piece by piece (a storm's JSON, never held whole) is staged like any
    other: if making its pieces fails halfway, neither it nor the outputs staged before it
    appear, and no temporary is left."""
    from checker.writer import write_all

    def pieces() -> Iterator[str]:
        yield "{\n"
        raise RuntimeError("the renderer failed")

    first, second = tmp_path / "a.txt", tmp_path / "b.json"
    with pytest.raises(RuntimeError, match="the renderer failed"):
        write_all([(first, "whole"), (second, pieces())])
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    write_all([(first, "whole"), (second, iter(["{", "}\n"]))])
    assert first.read_text() == "whole" and second.read_text() == "{}\n"


@pytest.mark.parametrize(
    "failure", [PermissionError(1, "Operation not permitted"), KeyboardInterrupt()]
)
def test_a_rename_that_fails_after_another_puts_the_first_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    """``-o a.json -o b.sarif``: if b's rename fails after a's has replaced a.json (b.sarif
    immutable, or Ctrl-C between the two), a.json is put back as it was and a new c.md is
    removed: every output or none. The failing rename is a stand-in (``Path.replace``
    patched): an immutable file needs chattr, which this machine's file systems may lack."""
    from checker.errors import UsageError
    from checker.writer import write_all

    a, b, c = tmp_path / "a.json", tmp_path / "b.sarif", tmp_path / "c.md"
    a.write_text("OLD\n")
    b.write_text("")
    real = Path.replace

    def replace(self: Path, target: Path | str) -> Path:
        if Path(target) == b:
            raise failure
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    expected = UsageError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        write_all([(a, "NEW\n"), (c, iter(["new\n"])), (b, "sarif\n")])
    assert a.read_text() == "OLD\n" and b.read_text() == "" and not c.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.sarif"]


def test_a_target_that_cannot_be_kept_is_refused_before_anything_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be linked while the outputs are replaced (immutable, another
    user's in a sticky directory: ``os.link`` refuses; patched here as a stand-in) stops the
    run before any output is replaced."""
    from checker.errors import UsageError
    from checker.writer import write_all

    a, b = tmp_path / "a.json", tmp_path / "b.sarif"
    a.write_text("OLD\n")
    b.write_text("")
    real = os.link

    def link(source: str | Path, target: str | Path) -> None:
        if Path(source) == b:
            raise PermissionError(1, "Operation not permitted")
        real(source, target)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(UsageError, match=r"cannot write .*b\.sarif: Operation not permitted"):
        write_all([(a, "NEW\n"), (b, "sarif\n")])
    assert a.read_text() == "OLD\n" and b.read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.sarif"]
