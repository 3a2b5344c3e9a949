"""The synthetic organisation: 100,000 commits, 10,000 deployments, 1,000 hosts, 500 flags.

The repository is written with one ``git fast-import`` stream, so generating it takes seconds;
it is cached under ``.bench/`` and rebuilt only when this generator's parameters change.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import yaml


@dataclass(frozen=True)
class Size:
    """How big the organisation is."""

    commits: int = 100_000
    deployments: int = 10_000
    services: int = 20
    hosts_per_service: int = 50
    flags: int = 500
    files_per_service: int = 25
    people: int = 200
    registry_every: int = 250
    """Commits between two changes of the flag registry."""
    registry_revisions: bool = False
    """Every change of the registry is a new version (it carries its revision), not only the
    changes that retire or repurpose a flag."""
    deployed_commits: int = 0
    """0: each deployment ships its own commit among the newest. N: every service deploys the
    same N commits, spread evenly over the whole history (each ships ``commits / N`` commits)."""
    delete_retiring: bool = False
    """Code stops using a flag before it retires: in the commit before a registry change, the
    modules naming a flag that change retires are deleted, all but one, which lingers until
    its module is next rewritten."""
    period: str = "2026-10"
    seed: int = 2
    storm: bool = False
    """A findings storm: code never moves off a flag, half the flags retire as the history
    goes on, and each module references ``references`` flags, so every deployment ships code
    that references dozens of retired flags (one DEAD-001 finding per deployment and flag)."""
    references: int = 1
    """Flags each module's code references."""
    retire_one_in: int = 16
    """In a storm, one flag in this many retires as the history goes on (every deployment
    ships the whole monorepo, so each retired flag referenced anywhere is a finding of every
    deployment)."""


EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
COMMIT_SECONDS = 900


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _retired(n: int, version: int, size: Size) -> bool:
    if size.storm:
        return n % size.retire_one_in == 1 and n < version * 5 // 4
    return n < version // 3 and n % 7 == 0


def _registry(size: Size, version: int) -> str:
    """The registry after ``version`` changes: flags retire, appear, and a few get repurposed."""
    flags = []
    for n in range(size.flags):
        status = "retired" if _retired(n, version, size) else "active"
        purpose = f"feature {n}" if not (n % 97 == 0 and version > 200) else f"feature {n}, reused"
        flag = {
            "name": f"flag_{n:03d}",
            "purpose": purpose,
            "owner": f"team-{n % 20}",
            "status": status,
            "created": "2023-01-01",
        }
        if status == "retired":
            flag["retired_at"] = "2024-01-01"
        flags.append(flag)
    text = yaml.safe_dump({"flags": flags}, sort_keys=False)
    return f"# revision {version}\n{text}" if size.registry_revisions else text


LINGERING_VERSION = 108
"""The registry version before which one module naming a retiring flag (flag_035, the fifth of
ten to retire over 200 versions) is not deleted."""


def _delete_retiring(
    size: Size, i: int, version: int, modules: dict[str, bytes], write: Callable[[bytes], object]
) -> None:
    """In the commit before registry version ``version`` is written, delete the modules that
    name a flag it retires (but not the first of them before ``LINGERING_VERSION``)."""
    if i == 0 or (i + 1) % size.registry_every:
        return
    retiring = [
        f"'flag_{n:03d}'".encode()
        for n in range(size.flags)
        if _retired(n, version, size) and not _retired(n, version - 1, size)
    ]
    doomed = sorted(p for p, text in modules.items() if any(r in text for r in retiring))
    for path in doomed[1:] if version == LINGERING_VERSION else doomed:
        write(f"D {path}\n".encode())
        del modules[path]


def _flags(rng: random.Random, size: Size, version: int) -> list[int]:
    """The flags a module's new version references: in a storm, any; otherwise, as code moves
    off a flag before it retires, one that stays active."""
    chosen = []
    for _ in range(size.references):
        flag = rng.randrange(size.flags)
        while not size.storm and _retired(flag, version + 1, size):
            flag = rng.randrange(size.flags)
        chosen.append(flag)
    return chosen


def _module(service: int, module: int, change: int, flags: list[int]) -> str:
    """A module's source: one branch per flag it references."""
    checks = "".join(
        f"    if flags.enabled('flag_{flag:03d}'):\n        return fast_path(request)\n"
        for flag in flags
    )
    return (
        f"# service {service} module {module}, change {change}\n"
        f"def handle(request, flags):\n{checks}    return slow_path(request)\n"
    )


def _fast_import_stream(size: Size, handle: BinaryIO) -> None:
    """Write the fast-import stream: commit ``i`` gets mark ``i + 1``."""
    write = handle.write
    rng = random.Random(size.seed)
    people = [f"Dev {n} <dev{n}@example.com>" for n in range(size.people)]
    registry_version = 0
    modules: dict[str, bytes] = {}

    def blob(data: bytes) -> None:
        write(b"data %d\n" % len(data))
        write(data)
        write(b"\n")

    for i in range(size.commits):
        when = EPOCH + timedelta(seconds=i * COMMIT_SECONDS)
        author = people[rng.randrange(size.people)]
        reviewer = people[(people.index(author) + 1 + rng.randrange(size.people - 1)) % size.people]
        trailer = f"\n\nReviewed-by: {reviewer}" if rng.random() < 0.97 else ""
        message = f"change {i}{trailer}\n".encode()
        seconds = int(when.timestamp())
        write(b"commit refs/heads/main\n")
        write(b"mark :%d\n" % (i + 1))
        write(f"author {author} {seconds} +0000\n".encode())
        write(f"committer {author} {seconds} +0000\n".encode())
        write(b"data %d\n" % len(message))
        write(message)
        if i:
            write(b"from :%d\n" % i)
        service = rng.randrange(size.services)
        module = rng.randrange(size.files_per_service)
        content = _module(service, module, i, _flags(rng, size, registry_version)).encode()
        if i == 0:
            for s in range(size.services):
                for m in range(size.files_per_service):
                    write(f"M 100644 inline services/svc{s:02d}/mod{m:02d}.py\n".encode())
                    header = f"# service {s} module {m}\n"
                    blob(f"{header}def handle(request, flags):\n    return 0\n".encode())
        write(f"M 100644 inline services/svc{service:02d}/mod{module:02d}.py\n".encode())
        blob(content)
        if size.delete_retiring:
            modules[f"services/svc{service:02d}/mod{module:02d}.py"] = content
            _delete_retiring(size, i, registry_version, modules, write)
        if i % size.registry_every == 0:
            write(b"M 100644 inline flags.yaml\n")
            blob(_registry(size, registry_version).encode())
            registry_version += 1
        write(b"\n")


def generate(root: Path, size: Size = Size()) -> Path:
    """The cached organisation under ``root``; built if missing or made with other parameters."""
    stamp = root / "size.json"
    wanted = json.dumps(asdict(size), sort_keys=True)
    if stamp.is_file() and stamp.read_text() == wanted:
        return root
    if root.exists():
        shutil.rmtree(root)
    repo = root / "repo"
    repo.mkdir(parents=True)
    env_args = ["-c", "init.defaultBranch=main"]
    subprocess.run(["git", *env_args, "init", "--quiet"], cwd=repo, check=True)
    process = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--export-marks=../marks"],
        cwd=repo,
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    _fast_import_stream(size, process.stdin)
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "checkout", "--quiet", "-f", "main"], cwd=repo, check=True)
    subprocess.run(["git", "commit-graph", "write", "--reachable"], cwd=repo, check=True)
    marks = dict(line.split() for line in (root / "marks").read_text().splitlines())
    shas = [marks[f":{i + 1}"] for i in range(size.commits)]
    _evidence(root / "evidence", size, shas)
    stamp.write_text(wanted)
    return root


def _deployed(size: Size, shas: list[str]) -> list[str]:
    """The commits deployed: the newest, one a deployment, or the same few spread evenly over
    the whole history, the newest half a step behind the branch (so a gate on it ships some)."""
    if not size.deployed_commits:
        return shas[-size.deployments :]
    step = len(shas) // size.deployed_commits
    newest = len(shas) - 1 - step // 2
    return shas[newest - step * (size.deployed_commits - 1) : newest + 1 : step]


def _evidence(directory: Path, size: Size, shas: list[str]) -> None:
    """10,000 deployments in the period over the last commits, with fleet, observations, events."""
    rng = random.Random(size.seed + 1)
    directory.mkdir(parents=True)
    services = {
        f"svc{s:02d}": [f"svc{s:02d}-h{h:02d}" for h in range(size.hosts_per_service)]
        for s in range(size.services)
    }
    (directory / "fleet.yaml").write_text(
        yaml.safe_dump({"services": {k: {"hosts": v} for k, v in services.items()}})
    )
    year, month = (int(p) for p in size.period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    span = 30 * 24 * 3600
    per_service = size.deployments // size.services
    window = _deployed(size, shas)
    deploys, observations = [], []
    for s, (service, hosts) in enumerate(services.items()):
        for k in range(per_service):
            at = start + timedelta(seconds=(k * span) // per_service + s * 7)
            commit = window[k] if size.deployed_commits else window[k * size.services + s]
            targets = [{"host": h, "status": "succeeded"} for h in hosts]
            if rng.random() < 0.01:
                targets[rng.randrange(len(targets))]["status"] = "failed"
            deploys.append(
                {
                    "id": f"{service}-{k:04d}",
                    "service": service,
                    "environment": "production",
                    "commit": commit,
                    "started_at": _stamp(at),
                    "finished_at": _stamp(at + timedelta(minutes=10)),
                    "deployer": f"dev{rng.randrange(size.people)}@example.com",
                    "approvals": [
                        {
                            "by": "release-manager@example.com",
                            "at": _stamp(at - timedelta(minutes=5)),
                        }
                    ],
                    "targets": targets,
                }
            )
            if k % 25 == 0:
                for h in hosts:
                    observations.append(
                        {
                            "host": h,
                            "service": service,
                            "version": commit,
                            "observed_at": _stamp(at + timedelta(minutes=20)),
                        }
                    )
    (directory / "deploys.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deploys))
    (directory / "observations.jsonl").write_text(
        "".join(json.dumps(o) + "\n" for o in observations)
    )
    events = [
        {
            "flag": f"flag_{rng.randrange(size.flags):03d}",
            "service": f"svc{n % size.services:02d}",
            "environment": "production",
            "enabled": rng.random() < 0.7,
            "at": _stamp(start + timedelta(seconds=rng.randrange(span))),
            "by": "ops@example.com",
        }
        for n in range(500)
    ]
    (directory / "flag_events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
