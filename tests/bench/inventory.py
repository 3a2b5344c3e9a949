"""A large inventory: a ``fleet.yaml`` of a given size, with a one-commit repository and one
deployment, so that reading the inventory is what is timed.

Hosts are written as ``{name, tags}`` mappings (the heavier of the two host forms), twenty
services of equal size; cached under ``.bench/`` by size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

SERVICES = 20
TAGS = ("rack-{r}", "zone-{z}")


def host_line(service: int, number: int) -> str:
    """One host of the inventory, as a flow mapping on its own line."""
    tags = ", ".join(t.format(r=number % 40, z=number % 3) for t in TAGS)
    return f"      - {{name: svc{service:02d}-host-{number:07d}, tags: [{tags}]}}\n"


def generate(root: Path, megabytes: float) -> tuple[Path, int]:
    """The cached case under ``root``: its directory and how many hosts its inventory has."""
    stamp = root / "size.json"
    if stamp.is_file():
        recorded = json.loads(stamp.read_text())
        if recorded["megabytes"] == megabytes:
            return root, int(recorded["hosts"])
    if root.exists():
        shutil.rmtree(root)
    repo = root / "repo"
    repo.mkdir(parents=True)
    git = ["git", "-c", "init.defaultBranch=main", "-c", "user.name=Bench"]
    git += ["-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "--quiet"], cwd=repo, check=True)
    (repo / "README").write_text("inventory bench\n")
    subprocess.run([*git, "add", "README"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "one"], cwd=repo, check=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    evidence = root / "evidence"
    evidence.mkdir()
    per_service = int(megabytes * 1_000_000 / len(host_line(0, 0)) / SERVICES) + 1
    with (evidence / "fleet.yaml").open("w") as fleet:
        fleet.write("services:\n")
        for service in range(SERVICES):
            fleet.write(f"  svc{service:02d}:\n    hosts:\n")
            fleet.writelines(host_line(service, n) for n in range(per_service))
    deployment = {
        "id": "D1",
        "service": "svc00",
        "environment": "production",
        "commit": sha,
        "started_at": "2026-10-01T09:00:00Z",
        "deployer": "ops@example.com",
        "approvals": [{"by": "lead@example.com", "at": "2026-10-01T08:00:00Z"}],
        "targets": [{"host": f"svc00-host-{n:07d}", "status": "succeeded"} for n in range(3)],
    }
    (evidence / "deploys.jsonl").write_text(json.dumps(deployment) + "\n")
    hosts = per_service * SERVICES
    stamp.write_text(json.dumps({"megabytes": megabytes, "hosts": hosts}))
    return root, hosts
