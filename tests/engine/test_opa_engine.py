"""The remote engine (``--engine opa``): same report as the embedded engine, exactly the shipped
policies uploaded, and every failure a clear error, never a pass.

Most tests talk to the STAND-IN server of ``tests/engine/opa_standin.py`` (an HTTP server on
127.0.0.1 speaking OPA's REST API, evaluating with OPA's Go engine when ``make test`` could
unpack it). ``test_a_real_opa_server`` talks to a real one when there is one.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from checker.demo.knight import KnightCase, build_knight
from checker.rules.policyset import builtin_policy_dir
from tests.conftest import CliResult, run_cli
from tests.engine import opa_standin
from tests.test_examples import EXAMPLES, check_args

AS_OF = "2012-08-31"


@pytest.fixture(scope="module")
def knight(tmp_path_factory: pytest.TempPathFactory) -> KnightCase:
    return build_knight(tmp_path_factory.mktemp("knight"))


@pytest.fixture
def server() -> Iterator[opa_standin.StandIn]:
    with opa_standin.running() as state:
        yield state


def check(case: KnightCase, *extra: str | Path) -> CliResult:
    return run_cli(
        "check",
        "--repo",
        case.repo,
        "--evidence",
        case.evidence,
        "--as-of",
        AS_OF,
        "--format",
        "json",
        *extra,
    )


def without_engine(report: dict[str, Any]) -> dict[str, Any]:
    tool = dict(report["tool"])
    del tool["engine"]
    tool.pop("engine_url", None)
    return {**report, "tool": tool}


def test_the_report_on_opa_is_the_embedded_report_but_for_the_engine_name(
    knight: KnightCase, server: opa_standin.StandIn
) -> None:
    embedded = check(knight)
    remote = check(knight, "--engine", "opa", "--opa-url", server.url)
    assert remote.code == embedded.code == 1, remote.err
    assert remote.json()["tool"]["engine_url"] == server.url  # where, not only what it claims
    assert without_engine(remote.json()) == without_engine(embedded.json())
    assert remote.json()["tool"]["engine"].startswith("opa")
    assert embedded.json()["tool"]["engine"].startswith("regorus")
    assert {f["rule"] for f in remote.json()["findings"]} >= {"FLEET-001", "FLEET-003"}
    # One query per stage of rules, the input sent once each, not once per rule.
    assert [r for r in server.requests if r[0] == "POST"].count(("POST", "/v1/query")) <= 3


@pytest.mark.parametrize("case", EXAMPLES, ids=lambda p: p.name)
def test_every_example_case_gives_the_same_findings_on_opa(
    case: Path, tmp_path: Path, server: opa_standin.StandIn
) -> None:
    args, _ = check_args(case, tmp_path)
    embedded = run_cli(*args)
    remote = run_cli(*args, "--engine", "opa", "--opa-url", server.url)
    assert remote.code == embedded.code, remote.err
    assert without_engine(remote.json()) == without_engine(embedded.json())


def test_the_uploaded_bundle_is_exactly_the_shipped_policies(
    knight: KnightCase, server: opa_standin.StandIn
) -> None:
    server.policies["knightwatch/policies/retired/old.rego"] = "package knightwatch.old\n"
    server.policies["team/authz.rego"] = "package team.authz\n"
    assert check(knight, "--engine", "opa", "--opa-url", server.url).code == 1
    shipped = {
        f"knightwatch/policies/{p.relative_to(builtin_policy_dir()).as_posix()}": p.read_text()
        for p in sorted(builtin_policy_dir().rglob("*.rego"))
        if not p.name.endswith("_test.rego")
    }
    ours = {pid: raw for pid, raw in server.policies.items() if pid.startswith("knightwatch/")}
    assert ours == shipped  # byte for byte; the stale module of an earlier run is gone
    assert server.policies["team/authz.rego"] == "package team.authz\n"  # others' untouched
    assert set(server.data) == {"knightwatch"}
    assert set(server.data["knightwatch"]) == {"params", "rules"}
    assert server.data["knightwatch"]["params"]["protected_branch"] == "main"
    assert server.data["knightwatch"]["rules"]["FLEET-003"]["severity"] == "critical"


def _rule(directory: Path, package: str, rule_id: str, body: str) -> Path:
    """A policy directory with one annotated rule."""
    directory.mkdir()
    (directory / f"{package.rsplit('.', 1)[1]}.rego").write_text(
        f"package {package}\n\nimport rego.v1\n\n"
        "# METADATA\n"
        f"# title: {rule_id} of the organisation\n"
        "# description: A rule of the organisation's own.\n"
        "# custom:\n"
        f"#   id: {rule_id}\n"
        "#   severity: low\n"
        "#   controls: [ORG change policy]\n"
        "#   message: Deployment {subject} breaks the organisation's rule.\n" + body
    )
    return directory


def test_a_user_rule_is_uploaded_and_reported_like_ours(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    rules = _rule(
        tmp_path / "my-rules",
        "org.tickets",
        "ORG-001",
        "missing contains d.id if {\n\tsome d in input.deployments\n"
        '\tnot startswith(object.get(d, "change_ticket", ""), "ORG-")\n}\n',
    )
    embedded = check(knight, "--policies", rules)
    remote = check(knight, "--policies", rules, "--engine", "opa", "--opa-url", server.url)
    assert without_engine(remote.json()) == without_engine(embedded.json())
    assert any(f["rule"] == "ORG-001" for f in remote.json()["findings"])
    assert any(pid.endswith("my-rules/tickets.rego") for pid in server.policies)


def test_engine_and_server_can_come_from_knightwatch_yaml(
    knight: KnightCase, server: opa_standin.StandIn
) -> None:
    config = knight.repo / "knightwatch.yaml"
    before = config.read_text() if config.exists() else None
    try:
        config.write_text(
            (before or "") + f"engine: opa\nopa:\n  url: {server.url}\n  timeout_seconds: 20\n"
        )
        result = check(knight)
        assert result.code == 1, result.err
        assert result.json()["tool"]["engine"].startswith("opa")
        assert any(method == "POST" for method, _ in server.requests)
        # The command line wins over the file.
        assert check(knight, "--engine", "regorus").json()["tool"]["engine"].startswith("regorus")
    finally:
        if before is None:
            config.unlink()
        else:
            config.write_text(before)


def test_a_token_is_sent_as_a_bearer_header_and_a_refusal_is_clear(
    knight: KnightCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.json"
    with opa_standin.running(token="s3cret") as server:
        monkeypatch.delenv("KNIGHTWATCH_OPA_TOKEN", raising=False)
        refused = check(knight, "--engine", "opa", "--opa-url", server.url, "-o", out)
        assert refused.code == 2
        assert "refused" in refused.err and "KNIGHTWATCH_OPA_TOKEN" in refused.err
        assert "Traceback" not in refused.err and not out.exists()
        monkeypatch.setenv("KNIGHTWATCH_OPA_TOKEN", "s3cret")
        accepted = check(knight, "--engine", "opa", "--opa-url", server.url)
        assert accepted.code == 1, accepted.err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_that_is_down_is_an_error_not_a_pass(knight: KnightCase, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    url = f"http://127.0.0.1:{_free_port()}"
    result = check(knight, "--engine", "opa", "--opa-url", url, "-o", out)
    assert result.code == 3
    assert f"cannot reach OPA at {url}" in result.err
    assert "Traceback" not in result.err and not out.exists()


def test_a_slow_server_times_out_with_a_clear_error(knight: KnightCase) -> None:
    with opa_standin.running(delay=1.5) as server:
        result = check(knight, "--engine", "opa", "--opa-url", server.url, "--opa-timeout", "0.3")
    assert result.code == 3
    assert "did not answer within 0.3 s" in result.err
    assert "--opa-timeout" in result.err


def test_a_module_opa_rejects_is_reported_at_its_file_and_line_in_opas_words(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    rules = _rule(tmp_path / "bad-rules", "org.broken", "ORG-009", "x contains y if {\n")
    result = check(knight, "--policies", rules, "--engine", "opa", "--opa-url", server.url)
    assert result.code == 2
    assert "bad-rules/broken.rego:" in result.err
    assert "OPA rejected the module" in result.err
    assert "Traceback" not in result.err


def test_a_rule_opa_cannot_evaluate_is_a_policy_error(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    rules = _rule(
        tmp_path / "conflict",
        "org.conflict",
        "ORG-002",
        "found contains one if one := single\n\n"
        "single := d.id if {\n\tsome d in input.deployments\n}\n",  # two deployments: conflict
    )
    result = check(knight, "--policies", rules, "--engine", "opa", "--opa-url", server.url)
    assert result.code == 2, result.err
    assert "OPA could not evaluate the policies" in result.err


FOREIGN_REVIEW = (
    "package knightwatch.review\n\nimport rego.v1\n\nindependently_approved(_) if true\n"
)


@pytest.mark.parametrize(
    "source",
    [
        FOREIGN_REVIEW,  # bodies added to a shipped helper: REVIEW-001 waived on the server
        "package knightwatch\n\nimport rego.v1\n\nreview.independently_approved(_) if true\n",
        "package knightwatch.extra\n\nimport rego.v1\n\nx := 1\n",  # under the reserved root
    ],
    ids=["a shipped package", "the root, with a ref head into a shipped one", "under the root"],
)
def test_a_module_of_someone_elses_in_our_packages_is_refused_and_left_alone(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path, source: str
) -> None:
    """OPA merges every module of a package: one left on a shared server by whoever can write
    to it, under an id outside knightwatch/, would change the shipped rules there and nowhere
    else. The run refuses the server (deleting the module is not ours to do)."""
    server.policies["team/legacy-review.rego"] = source
    server.policies["team/authz.rego"] = "package knightwatchers.authz\n"  # a neighbour only
    out = tmp_path / "report.json"
    result = check(knight, "--engine", "opa", "--opa-url", server.url, "-o", out)
    assert result.code == 2, result.err
    assert "holds module team/legacy-review.rego, which this run did not upload" in result.err
    assert "Traceback" not in result.err and not out.exists()
    assert server.policies["team/legacy-review.rego"] == source
    assert not [r for r in server.requests if r[0] == "POST"]  # nothing was evaluated


def test_a_module_in_a_package_around_an_added_one_is_refused(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    rules = _rule(
        tmp_path / "my-rules",
        "org.tickets",
        "ORG-001",
        "missing contains d.id if {\n\tsome d in input.deployments\n\tnot ticketed(d)\n}\n\n"
        'ticketed(d) if startswith(object.get(d, "change_ticket", ""), "ORG-")\n',
    )
    server.policies["team/org.rego"] = (
        "package org\n\nimport rego.v1\n\ntickets.ticketed(_) if true\n"  # waives ORG-001
    )
    result = check(knight, "--policies", rules, "--engine", "opa", "--opa-url", server.url)
    assert result.code == 2, result.err
    assert "in package org: OPA would merge its rules into this run's package org.tickets" in (
        result.err
    )


def _signed_audit(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> tuple[CliResult, Path]:
    """August 2012's audit of the Knight case on ``server``, and where it is written."""
    key, signed = tmp_path / "k", tmp_path / "2012-08.json"
    assert run_cli("keygen", "--output", key).code == 0
    audit = run_cli(
        "audit", "--repo", knight.repo, "--evidence", knight.evidence, "--period", "2012-08",
        "--as-of", "2012-09-01", "--key", f"{key}.key", "-o", signed,
        "--engine", "opa", "--opa-url", server.url,
    )  # fmt: skip
    return audit, signed


def test_the_audit_refuses_a_server_with_a_module_in_a_shipped_package(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    server.policies["team/legacy-review.rego"] = FOREIGN_REVIEW
    audit, signed = _signed_audit(knight, server, tmp_path)
    assert audit.code == 2, audit.err
    assert "package knightwatch.review" in audit.err and not signed.exists()


def test_the_shipped_policies_read_no_data_a_server_could_hold_beside_theirs() -> None:
    """Why a server's data documents under data.knightwatch are not refused: the shipped rules
    read data only at data.knightwatch.params and data.knightwatch.rules, which every run
    writes whole, and the rules of their own packages by name (``import data.knightwatch.lib``
    and then ``lib.result...``); OPA refuses a data document at a rule's path ("conflicting
    rule for data path"), so one beside the rules is read by none of them. A shipped rule that
    read data elsewhere (a whole package, a document of its own) would need that refusal."""
    packages = set()
    reads = []
    for path in sorted(builtin_policy_dir().rglob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        code = re.sub(r'#[^\n]*|"(?:[^"\\]|\\.)*"|`[^`]*`', "", path.read_text())
        package = re.search(r"^package (\S+)", code, re.MULTILINE)
        assert package, path
        packages.add(package.group(1))
        reads += re.findall(r"(?<![\w.])data\b[\w.\[]*", code)
    allowed = ("data.knightwatch.params.", "data.knightwatch.rules[")
    imports = {f"data.{p}" for p in packages}
    assert reads and all(r.startswith(allowed) or r in imports for r in reads), reads


def _without_asts(listing: dict[str, Any]) -> Any:
    return {"result": [{k: v for k, v in e.items() if k != "ast"} for e in listing["result"]]}


def _other_text(listing: dict[str, Any]) -> Any:
    return {"result": [{**e, "raw": e["raw"] + "\n"} for e in listing["result"]]}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_without_asts, "without a package this run can read"),
        (_other_text, "as this run uploaded it"),
        (lambda listing: {"result": []}, "as this run uploaded it"),
    ],
    ids=["no ast", "other text", "nothing listed"],
)
def test_a_listing_that_cannot_show_the_uploads_gives_no_verdict(
    knight: KnightCase, server: opa_standin.StandIn, change: Any, words: str
) -> None:
    server.rewrite_listing = change
    result = check(knight, "--engine", "opa", "--opa-url", server.url)
    assert result.code == 3, result.err
    assert words in result.err


def _each_rule(change: Any) -> Any:
    """A rewriting of the stand-in's answers that changes the batch of rules (r0, r1, ...) and
    leaves other queries (the version) as they are."""

    def rewrite(answer: dict[str, Any]) -> Any:
        bindings = answer["result"][0] if answer.get("result") else {}
        if not any(name.startswith("r") for name in bindings):
            return answer
        return change({"result": [dict(bindings)]})

    return rewrite


def _undefined(answer: dict[str, Any]) -> Any:
    return {"result": [{name: [] for name in answer["result"][0]}]}


def _no_result(answer: dict[str, Any]) -> Any:
    return {}


def _one_rule_short(answer: dict[str, Any]) -> Any:
    bindings = answer["result"][0]
    bindings.pop(max(bindings, key=lambda name: int(name[1:])))
    return answer


def _two_values(answer: dict[str, Any]) -> Any:
    return {"result": [{name: [[], []] for name in answer["result"][0]}]}


@pytest.mark.parametrize(
    "change",
    [_undefined, _no_result, _one_rule_short, _two_values],
    ids=["every rule undefined", "no result", "a rule missing", "two values for a rule"],
)
def test_a_server_that_answers_no_value_for_a_rule_gives_no_verdict(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path, change: Any
) -> None:
    """A finding rule is a set, defined (empty when nothing is found) once its policy is
    loaded: a server that accepted the uploads but answers a rule undefined (a replica behind a
    load balancer that never received them, a proxy answering from elsewhere), or answers for
    fewer rules than asked, did not evaluate them. That is no verdict, never zero findings."""
    server.rewrite = _each_rule(change)
    out = tmp_path / "report.json"
    result = check(knight, "--engine", "opa", "--opa-url", server.url, "-o", out)
    assert result.code == 3, result.err
    assert f"OPA at {server.url}" in result.err
    assert "Traceback" not in result.err and not out.exists()


def test_a_signed_audit_is_not_written_when_the_server_answers_undefined(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    server.rewrite = _each_rule(_undefined)
    audit, signed = _signed_audit(knight, server, tmp_path)
    assert audit.code == 3, audit.err
    assert "gave no value for data.knightwatch." in audit.err
    assert not signed.exists()


def test_bad_engine_options_are_usage_errors(knight: KnightCase) -> None:
    assert "needs the server's address" in check(knight, "--engine", "opa").err
    assert check(knight, "--engine", "opa").code == 2
    bad = check(knight, "--engine", "opa", "--opa-url", "opa.internal:8181")
    assert bad.code == 2 and "not an http:// or https:// URL" in bad.err
    path = check(knight, "--engine", "opa", "--opa-url", "http://opa.internal:8181/v1/data")
    assert path.code == 2 and "has a path" in path.err


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "opa.pem", directory / "opa-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_is_verified_by_default_and_a_ca_bundle_can_be_given(
    knight: KnightCase, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    with opa_standin.running(tls=(cert, key)) as server:
        assert server.url.startswith("https://")
        untrusted = check(knight, "--engine", "opa", "--opa-url", server.url)
        assert untrusted.code == 3
        assert "TLS with OPA" in untrusted.err and "--opa-ca" in untrusted.err
        assert not server.policies  # nothing was sent to a server we could not verify
        trusted = check(knight, "--engine", "opa", "--opa-url", server.url, "--opa-ca", cert)
        assert trusted.code == 1, trusted.err
        assert without_engine(trusted.json()) == without_engine(check(knight).json())


def test_the_audit_and_its_replay_run_on_opa(
    knight: KnightCase, server: opa_standin.StandIn, tmp_path: Path
) -> None:
    key = tmp_path / "k"
    assert run_cli("keygen", "--output", key).code == 0
    signed = tmp_path / "2012-08.json"
    common = ["--repo", knight.repo, "--evidence", knight.evidence]
    audit = run_cli(
        "audit", *common, "--period", "2012-08", "--as-of", "2012-09-01", "--key", f"{key}.key",
        "-o", signed, "--engine", "opa", "--opa-url", server.url,
    )  # fmt: skip
    assert audit.code in (0, 1), audit.err
    replayed = run_cli(
        "verify", signed, "--key", f"{key}.pub", "--replay", *common,
        "--engine", "opa", "--opa-url", server.url,
    )  # fmt: skip
    assert replayed.code == 0, replayed.err
    assert "same findings" in replayed.out or "replay" in replayed.out


def _real_opa() -> Iterator[str]:
    """A real OPA server: $KNIGHTWATCH_OPA_URL, or an ``opa`` binary started here."""
    if os.environ.get("KNIGHTWATCH_OPA_URL"):
        yield os.environ["KNIGHTWATCH_OPA_URL"]
        return
    binary = shutil.which("opa")
    if binary is None:
        pytest.skip("no real OPA here: set KNIGHTWATCH_OPA_URL or put an opa binary on PATH")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "run", "--server", "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_real_opa_server(knight: KnightCase) -> None:
    for url in _real_opa():
        remote = check(knight, "--engine", "opa", "--opa-url", url)
        embedded = check(knight)
        assert remote.code == embedded.code, remote.err
        assert without_engine(remote.json()) == without_engine(embedded.json())
        assert json.loads(remote.out)["tool"]["engine"].startswith("opa")


def test_the_stand_in_evaluates_with_opas_own_engine_when_make_test_provides_it() -> None:
    """Where the Go engine is unpacked the stand-in uses it; otherwise say so, as a skip."""
    if opa_standin.opa_bindings() is None:
        pytest.skip(f"OPA's Go engine not unpacked (${opa_standin.BINDINGS_ENV} unset)")
    assert isinstance(opa_standin.default_backend(), opa_standin.GoOpaBackend)
