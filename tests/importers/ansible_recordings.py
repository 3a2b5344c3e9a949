"""Real runs of the Ansible fixtures' playbooks on this machine, recorded as the users' tools
record them: the ``ansible.posix.json`` and ``ansible.posix.jsonl`` stdout callbacks, a jsonl
run killed part-way as a CI timeout kills it, and ansible-runner's artifact directory.

``make test`` installs ansible-core, the ansible.posix collection and ansible-runner into
``.venv/ansible`` ($KNIGHTWATCH_ANSIBLE). The recordings replace the temporary directory the
playbooks ran in with ``/srv/deploy``, and keep of ansible-runner's artifacts the job events,
``status``, ``rc`` and the ``command`` file without its ``env`` (which holds this machine's
environment).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from checker.importers.ansible_runs import PlaybookRun, read_run

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ansible"
PLAYBOOK_DIR = "/srv/deploy"  # where the recordings say the playbooks were
TIMEOUT = 300


def regenerating() -> bool:
    """Whether to rewrite the recordings (``KNIGHTWATCH_REGEN=1``) instead of comparing."""
    return bool(os.environ.get("KNIGHTWATCH_REGEN"))


def ansible_home() -> Path | None:
    """The virtual environment ``make test`` installs Ansible into, if it is there."""
    home = os.environ.get("KNIGHTWATCH_ANSIBLE")
    if not home or not Path(home, "bin", "ansible-playbook").is_file():
        return None
    return Path(home).resolve()


def _env(ansible: Path, work: Path, callback: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(ansible / "collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(work / ".ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{ansible / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if callback:
        env["ANSIBLE_STDOUT_CALLBACK"] = callback
    return env


def _copy(case: str, work: Path) -> Path:
    """The case's playbooks and inventories, without its recordings."""
    target = work / case
    recordings = ("*.json", "*.jsonl", "runner*", "killed*")
    shutil.copytree(FIXTURES / case, target, ignore=shutil.ignore_patterns(*recordings))
    return target


def record_callback(
    ansible: Path,
    case: str,
    playbook: str,
    callback: str,
    work: Path,
    *options: str,
    inventory: str = "inventory.ini",
    code: int = 0,
) -> str:
    """What ``ansible-playbook`` prints with that stdout callback, run to its end with its exit
    code ``code`` (2 when a host failed, 4 when one was unreachable)."""
    here = _copy(case, work)
    run = subprocess.run(
        [str(ansible / "bin" / "ansible-playbook"), "-i", inventory, *options, playbook],
        cwd=here,
        env=_env(ansible, work, callback),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert run.returncode == code, run.stdout[-2000:] + run.stderr
    return run.stdout.replace(str(here), PLAYBOOK_DIR)


def record_killed(ansible: Path, case: str, playbook: str, task: str, work: Path) -> str:
    """What the jsonl callback printed before the run was killed (SIGTERM to its process group,
    as a CI job's timeout does) while ``task`` ran for the second time."""
    here = _copy(case, work)
    lines: list[str] = []
    starts, deadline = 0, time.monotonic() + TIMEOUT
    with subprocess.Popen(
        [str(ansible / "bin" / "ansible-playbook"), "-i", "inventory.ini", playbook],
        cwd=here,
        env=_env(ansible, work, "ansible.posix.jsonl"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                lines.append(line)
                event = json.loads(line)
                if event["_event"] == "v2_playbook_on_task_start" and event["task"]["name"] == task:
                    starts += 1
                if starts == 2 or time.monotonic() > deadline:
                    time.sleep(1)  # the task is now running on the batch's hosts
                    os.killpg(process.pid, signal.SIGTERM)
                    break
            lines.extend(process.stdout)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert starts == 2, "".join(lines)
    return "".join(lines).replace(str(here), PLAYBOOK_DIR)


def record_runner(
    ansible: Path, case: str, playbook: str, work: Path, *options: str
) -> dict[str, str]:
    """ansible-runner's artifacts of the playbook (``options`` passed to ansible-playbook with
    ``--cmdline``): job event files by name, status, rc and command."""
    data = work / "runner"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    shutil.copy(FIXTURES / case / playbook, data / "project" / playbook)
    shutil.copy(FIXTURES / case / "inventory.ini", data / "inventory" / "hosts")
    cmdline = [f"--cmdline={' '.join(options)}"] if options else []
    run = subprocess.run(
        [str(ansible / "bin" / "ansible-runner"), "run", str(data), "-p", playbook,
         "--ident", case, *cmdline],
        env=_env(ansible, work, None),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return runner_artifacts(data / "artifacts" / case, data)


def runner_artifacts(artifacts: Path, data: Path) -> dict[str, str]:
    """What a recording keeps of an artifact directory: job events (``*-partial.json`` too),
    status and rc where written, and the command without its environment."""
    files = {name: artifacts / name for name in ("status", "rc") if (artifacts / name).is_file()}
    files.update({f"job_events/{p.name}": p for p in (artifacts / "job_events").glob("*.json")})
    texts = {name: path.read_text() for name, path in files.items()}
    command = json.loads((artifacts / "command").read_text())
    texts["command"] = json.dumps({k: v for k, v in command.items() if k != "env"}) + "\n"
    return {
        name: text.replace(str(data / "project"), PLAYBOOK_DIR).replace(str(data), PLAYBOOK_DIR)
        for name, text in texts.items()
    }


def side_by_side(jobs: dict[str, Callable[[Path], Any]], work: Path) -> dict[str, Any]:
    """Every recording job run at once, each in a folder of its own under ``work``."""
    for name in jobs:
        (work / name).mkdir()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job, work / name) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def write_runner(files: dict[str, str], directory: Path) -> None:
    """Replace a recorded artifact directory with ``files``."""
    shutil.rmtree(directory, ignore_errors=True)
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)


def summary(path: Path) -> dict[str, Any]:
    """What a recording shows, without times, ids, paths and the order of parallel hosts."""
    run: PlaybookRun = read_run(path)
    return {
        "plays": [
            [play.name, [[task.name, sorted(task.results.items())] for task in play.tasks]]
            for play in run.plays
        ],
        "stats": run.stats,
        "finished": run.finished_at is not None,
    }


def json_recordings(
    factory: pytest.TempPathFactory, case: str, playbooks: tuple[str, ...]
) -> dict[str, Any]:
    """Each playbook of ``case`` recorded again with the json callback, side by side, as
    ``NAME.json``; the test is skipped where Ansible is not installed."""
    ansible = ansible_home()
    if ansible is None:
        pytest.skip("Ansible is not installed ($KNIGHTWATCH_ANSIBLE; make test installs it)")
    work = factory.mktemp(case.replace("/", "-"))

    def job(playbook: str) -> Callable[[Path], Any]:
        return lambda w: record_callback(ansible, case, playbook, "ansible.posix.json", w)

    return side_by_side({f"{name}.json": job(f"{name}.yml") for name in playbooks}, work)
