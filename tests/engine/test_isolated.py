"""The embedded engine in a child process: a policy that loops or hoards memory is stopped
with a clear message and no verdict, a crash of the engine takes only the child, and the
answers are the in-process engine's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.engine import Limits, RegorusEngine, embedded_engine
from checker.engine.base import UNDEFINED, PolicyModule
from checker.engine.isolated import IsolatedEngine, can_isolate
from checker.errors import InternalError, PolicyError
from checker.rules.policyset import load_policy_set
from tests.conftest import DEV, deployment, run_cli, write_yaml

pytestmark = pytest.mark.skipif(not can_isolate(), reason="no fork on this platform")
ROOT = Path(__file__).resolve().parents[2]

HEADER = """package {package}

import rego.v1

# METADATA
# title: {title}
# description: A user's rule.
# custom:
#   id: {rule_id}
#   severity: high
#   controls: ["none"]
#   message: "{{subject}}"
"""
LOOP = HEADER.format(package="user.loop", title="Loops", rule_id="LOOP-001") + (
    # 10^10 iterations over two small arrays: hours of work in a few bytes of memory
    'spin contains "x" if {\n\tsome a in numbers.range(1, 100000)\n'
    "\tsome b in numbers.range(1, 100000)\n\ta + b < 0\n}\n"
)
HOG = HEADER.format(package="user.hog", title="Hoards memory", rule_id="HOG-001") + (
    'hog contains "x" if {\n\tbig := [x | some x in numbers.range(1, 500000000)]\n'
    "\tcount(big) < 0\n}\n"
)


def _policy(directory: Path, name: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(source)
    return directory


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit("one", {"a": "1\n"}, author=DEV, date="2024-01-01T00:00:00Z")
    write_yaml(tmp_path / "ev" / "deploys.yaml", [deployment("D1", sha, "2024-02-01T09:00:00Z")])
    return repo.path, tmp_path / "ev"


def test_a_policy_that_loops_is_stopped_with_no_verdict(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, evidence = case
    policies = _policy(tmp_path / "mine", "loop.rego", LOOP)
    out = tmp_path / "report.json"
    started = time.monotonic()
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--policies", policies,
        "--policy-timeout", "2", "-o", out,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert result.code == 2, result.err
    assert "policy evaluation stopped: evaluating data.user.loop.spin took longer than 2 s" in (
        result.err
    )
    assert "no verdict" in result.err and not out.exists()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the bound needs Linux")
def test_a_policy_that_hoards_memory_is_stopped_with_no_verdict(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, evidence = case
    policies = _policy(tmp_path / "mine", "hog.rego", HOG)
    result = run_cli(
        "check", "--repo", repo, "--evidence", evidence, "--policies", policies,
        "--policy-memory", "256",
    )  # fmt: skip
    assert result.code == 2, result.err
    assert "evaluating data.user.hog.hog needed more than its memory bound (256 MiB" in result.err
    assert result.out == ""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_an_engine_that_dies_takes_only_the_child() -> None:
    """The child killed from outside, as the kernel's out-of-memory killer would: the run
    ends as an internal error naming the rule, and this process goes on."""
    engine = embedded_engine(Limits(seconds=60))
    engine.load([PolicyModule("loop.rego", LOOP)])
    engine.set_data({})
    engine.set_input({})
    killed: list[int] = []

    def kill_the_child() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            for child in _forks(os.getpid()):
                os.kill(child, signal.SIGKILL)
                killed.append(child)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_child)
    killer.start()
    try:
        with pytest.raises(InternalError, match=r"crashed \(signal 9\) while evaluating data"):
            engine.evaluate("data.user.loop.spin")
    finally:
        killer.join()
    assert killed


def test_answers_are_the_in_process_engines() -> None:
    policies = load_policy_set()
    document = {
        "deployments": [],
        "commits": {},
        "waivers": [],
    }
    direct, isolated = RegorusEngine(), embedded_engine()
    assert isinstance(isolated, IsolatedEngine)
    for engine in (direct, isolated):
        engine.load(list(policies.modules))
        engine.set_data({})
        engine.set_input(document)
    paths = [rule.path for rule in policies.rules]
    isolated.prefetch(paths)
    for path in paths:
        try:
            want = direct.evaluate(path)
        except PolicyError as exc:
            with pytest.raises(PolicyError, match="evaluating"):
                isolated.evaluate(path)
            assert exc.message
            continue
        got = isolated.evaluate(path)
        assert got == want or (got is UNDEFINED and want is UNDEFINED), path


def test_an_answer_is_handed_over_and_asked_again_is_evaluated_again() -> None:
    """The caller owns a value (the runner consumes a storm's findings as it builds its own):
    asked twice, the second answer is evaluated afresh, not the first one emptied; a value
    with a line break inside a string, a large one, and an undefined rule cross the pipe."""
    engine = embedded_engine()
    assert isinstance(engine, IsolatedEngine)
    source = (
        "package big\n\n"
        'many contains {"subject": sprintf("s%d", [i]), "text": "a\\nb"} if {\n'
        "\tsome i in numbers.range(1, 20000)\n}\n"
        "never if false\n"
    )
    engine.load([PolicyModule("big.rego", source)])
    engine.set_data({})
    engine.set_input({})
    engine.prefetch(["data.big.many", "data.big.never"])
    first = engine.evaluate("data.big.many")
    assert len(first) == 20000 and all(item["text"] == "a\nb" for item in first)
    first.clear()
    again = engine.evaluate("data.big.many")
    assert len(again) == 20000
    assert engine.evaluate("data.big.never") is UNDEFINED


def test_a_syntax_error_is_reported_at_load_as_before() -> None:
    with pytest.raises(PolicyError, match=r"broken.rego:4:1: expecting expression"):
        embedded_engine().load([PolicyModule("broken.rego", "package b\n\nx := {\n")])


def test_policy_test_reports_a_looping_test_and_runs_the_rest(tmp_path: Path) -> None:
    directory = _policy(tmp_path / "p", "loop.rego", LOOP)
    (directory / "loop_test.rego").write_text(
        "package user.loop_test\n\nimport data.user.loop\nimport rego.v1\n\n"
        "test_a_quick_one if { 1 == 1 }\n\ntest_spins if { count(loop.spin) == 0 }\n\n"
        "test_z_after if { 2 == 2 }\n"
    )
    result = run_cli("policy", "test", directory, "--policy-timeout", "2")
    assert result.code == 1, result.out + result.err
    lines = result.out.splitlines()
    assert any(line.startswith("PASS") and "test_a_quick_one" in line for line in lines)
    assert any(
        line.startswith("ERROR") and "test_spins" in line and "took longer than 2 s" in line
        for line in lines
    ), result.out
    assert any(line.startswith("PASS") and "test_z_after" in line for line in lines)


_RUN_AND_REPORT_CHILDREN = """
import sys
from checker.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _forks(pid: int) -> set[int]:
    """Children of ``pid`` that are forks of it (same command line), not git processes."""
    own = Path(f"/proc/{pid}/cmdline").read_bytes()
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in (int(n) for n in task.read_text().split()):
            try:
                if Path(f"/proc/{child}/cmdline").read_bytes() == own:
                    found.add(child)
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_sigterm_during_evaluation_stops_the_child_too(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, evidence = case
    policies = _policy(tmp_path / "mine", "loop.rego", LOOP)
    argv = ["check", "--repo", repo, "--evidence", evidence, "--policies", policies]
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_AND_REPORT_CHILDREN, *map(str, argv)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    children: set[int] = set()
    while not children and time.monotonic() < deadline:
        time.sleep(0.1)
        # A git process between its fork and its exec has this command line too, for a
        # moment: a fork that still has it a little later is the engine's.
        found = _forks(process.pid)
        time.sleep(0.3)
        children = found & _forks(process.pid)
    assert children, "the evaluation never started"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 3 and "knightwatch: interrupted" in err
    for child in children:
        assert _gone(child), f"the engine's child {child} outlived the run"


def _gone(pid: int, seconds: float = 10) -> bool:
    """Whether ``pid`` has exited (gone, or a zombie nobody has reaped yet) within
    ``seconds``: a killed process takes a moment to die on a loaded machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


SLICED = """package sliced

import rego.v1

each contains {"subject": d.id, "of": count(input.deployments)} if some d in input.deployments

broken contains d.id if {
	some d in input.deployments
	d.id == "d7"
	1 / 0 == 1
}

whole := count(input.deployments)
"""


def _sliced_engine(monkeypatch: pytest.MonkeyPatch, deployments: int) -> IsolatedEngine:
    monkeypatch.setattr("checker.engine.isolated.SLICE", 3)
    engine = embedded_engine()
    assert isinstance(engine, IsolatedEngine)
    engine.load([PolicyModule("sliced.rego", SLICED)])
    engine.set_data({})
    engine.set_input({"deployments": [{"id": f"d{i}"} for i in range(deployments)]})
    engine.judge_in_slices(frozenset({"data.sliced.each", "data.sliced.broken"}))
    return engine


def test_a_rule_judged_per_deployment_is_evaluated_in_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 20: each slice of the deployments is judged alone (the rule sees only its slice:
    which is why only rules that judge each deployment alone are marked), and the slices'
    findings together are the rule's; a rule not marked sees every deployment."""
    engine = _sliced_engine(monkeypatch, 8)
    engine.prefetch(["data.sliced.each", "data.sliced.whole"])
    each = engine.evaluate("data.sliced.each")
    assert sorted(f["subject"] for f in each) == [f"d{i}" for i in range(8)]
    assert sorted({f["of"] for f in each}) == [2, 3]  # slices of 3, 3 and 2
    assert engine.evaluate("data.sliced.whole") == 8


def test_an_error_in_a_later_slice_fails_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """No finding of the slices before the failing one is kept as the rule's answer."""
    engine = _sliced_engine(monkeypatch, 9)
    with pytest.raises(PolicyError, match=r"evaluating data\.sliced\.broken"):
        engine.evaluate("data.sliced.broken")


def test_windows_carried_into_a_month_are_judged_once_in_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A monthly audit's carried windows (``carried_windows``) stand beside the deployments;
    judged in every slice they would be found once a slice: only the first slice sees them."""
    monkeypatch.setattr("checker.engine.isolated.SLICE", 3)
    engine = embedded_engine()
    assert isinstance(engine, IsolatedEngine)
    source = (
        "package w\n\nimport rego.v1\n\n"
        'windowed := array.concat(input.deployments, object.get(input, "carried_windows", []))'
        '\n\neach contains {"subject": d.id} if some d in windowed\n'
    )
    engine.load([PolicyModule("w.rego", source)])
    engine.set_data({})
    engine.set_input({
        "deployments": [{"id": f"d{i}"} for i in range(8)],
        "carried_windows": [{"id": "earlier"}],
    })  # fmt: skip
    engine.judge_in_slices(frozenset({"data.w.each"}))
    subjects = [f["subject"] for f in engine.evaluate("data.w.each")]
    assert sorted(subjects) == sorted(["earlier", *(f"d{i}" for i in range(8))])


def test_few_deployments_are_judged_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _sliced_engine(monkeypatch, 3)
    assert {f["of"] for f in engine.evaluate("data.sliced.each")} == {3}


@pytest.mark.parametrize(
    "case",
    sorted(p.parent for p in (ROOT / "evidence" / "examples").glob("*/history.yaml")),
    ids=lambda p: p.name,
)
def test_the_shipped_rules_marked_per_deployment_give_the_same_report_in_slices_of_one(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rule marked ``per_deployment`` judged one deployment at a time gives the same
    report, byte for byte, as judged whole: a rule that read another deployment would
    differ here."""
    from tests.test_examples import check_args

    args, _ = check_args(case, tmp_path)
    whole = run_cli(*args)
    monkeypatch.setattr("checker.engine.isolated.SLICE", 1)
    sliced = run_cli(*args)
    assert sliced.code == whole.code, sliced.err
    assert sliced.out == whole.out


def test_a_sliced_rule_that_is_not_a_set_is_handed_back_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rule judged in slices whose value is not a set of findings is passed on unjoined:
    the runner then names the rule and what it must be, as for a rule judged whole."""
    monkeypatch.setattr("checker.engine.isolated.SLICE", 2)
    engine = embedded_engine()
    assert isinstance(engine, IsolatedEngine)
    source = "package o\n\nimport rego.v1\n\nby_id[d.id] := 1 if some d in input.deployments\n"
    engine.load([PolicyModule("o.rego", source)])
    engine.set_data({})
    engine.set_input({"deployments": [{"id": f"d{i}"} for i in range(5)]})
    engine.judge_in_slices(frozenset({"data.o.by_id"}))
    assert engine.evaluate("data.o.by_id") == {"d0": 1, "d1": 1}
