"""A large fleet: 10,000 deployments over 1,000 hosts give exactly the planted answer.

Speed belongs in ``make bench``; this test checks that the answer at this size is right.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.demo.builder import ScriptedRepo
from checker.evidence.models import Deployment, Observation
from checker.facts import fleet
from checker.facts.streams import Streams
from tests.conftest import DEV, LEAD, run_cli, write_yaml

SERVICES = 20
HOSTS_PER_SERVICE = 50
DEPLOYMENTS = 10_000
APPROVAL = [{"by": "lee@example.com", "at": "2024-02-02T00:00:00Z"}]
"""Given after the commits were written (1 February), before the first deployment (March)."""


def _at(minute: int) -> str:
    day, rest = divmod(minute, 24 * 60)
    return f"2024-03-{day + 1:02d}T{rest // 60:02d}:{rest % 60:02d}:00Z"


def test_ten_thousand_deployments_over_a_thousand_hosts(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    shas = [
        repo.commit(
            f"c{n}",
            {"app": str(n)},
            author=DEV,
            date=f"2024-02-01T00:00:{n:02d}Z",
            trailers=(f"Reviewed-by: {LEAD}",),
        )
        for n in range(10)
    ]
    services = {
        f"s{s:02d}": [f"s{s:02d}-h{h:02d}" for h in range(HOSTS_PER_SERVICE)]
        for s in range(SERVICES)
    }
    evidence = tmp_path / "evidence"
    write_yaml(
        evidence / "fleet.yaml", {"services": {k: {"hosts": v} for k, v in services.items()}}
    )
    lines = []
    per_service = DEPLOYMENTS // SERVICES
    for s, (service, hosts) in enumerate(services.items()):
        for n in range(per_service):
            minute = n * 4 + s  # streams interleave; each deployment finishes 2 minutes later
            targets = [{"host": h, "status": "succeeded"} for h in hosts]
            if (service, n) == ("s07", 300):
                targets[13]["status"] = "failed"
            if (service, n) == ("s11", 42):
                del targets[49]
            lines.append(
                json.dumps(
                    {
                        "id": f"{service}-{n:04d}",
                        "service": service,
                        "environment": "prod",
                        "commit": shas[n % len(shas)],
                        "started_at": _at(minute),
                        "finished_at": _at(minute + 2),
                        "deployer": "ops@example.com",
                        "approvals": APPROVAL,
                        "targets": targets,
                    }
                )
            )
    (evidence / "deploys.jsonl").write_text("\n".join(lines) + "\n")
    observations = [
        # Every host of s03 seen right after its deployment 100 finished; one runs the wrong commit.
        {
            "host": h,
            "service": "s03",
            "version": shas[(100 + (h == "s03-h07")) % len(shas)],
            "observed_at": _at(100 * 4 + 3 + 2),
        }
        for h in services["s03"]
    ]
    (evidence / "observations.jsonl").write_text(
        "".join(json.dumps(o) + "\n" for o in observations)
    )
    write_yaml(
        evidence / "flag_events.yaml",
        [
            {
                "flag": "f_ok",
                "service": "s07",
                "environment": "prod",
                "enabled": True,
                "at": _at(299 * 4 + 7 + 3),
                "by": "ops@example.com",
            },
            {
                "flag": "f_mixed",
                "service": "s07",
                "environment": "prod",
                "enabled": True,
                "at": _at(300 * 4 + 7 + 3),
                "by": "ops@example.com",
            },
        ],
    )
    result = run_cli("check", "--repo", repo.path, "--evidence", evidence, "--format", "json")
    assert result.code == 1, result.err
    report = result.json()
    assert report["summary"]["deployments"] == DEPLOYMENTS
    assert {(f["rule"], f["subject"]) for f in report["findings"]} == {
        ("FLEET-001", "s07-0300:s07-h13"),
        ("FLEET-001", "s11-0042:s11-h49"),
        ("FLEET-002", "s03-0100:s03-h07"),
        ("FLEET-003", f"f_mixed@{_at(300 * 4 + 7 + 3)}"),
    }


def test_a_long_run_of_rollouts_without_finished_at_is_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,000 GitOps rollouts in a row, each target giving its own finish and none the
    deployment's: each deployment walked every one after it (none said it had reached every
    host), reading their records again, and the windows took seconds at 1,000 and grew as
    the square. Now each record is read once, and every observation lands in its own
    deployment's window."""
    count = 2_000
    deployments = [
        Deployment.model_validate(
            {
                "id": f"D{n:05d}",
                "service": "web",
                "environment": "prod",
                "commit": f"c{n % 2}",
                "started_at": _at(n * 2),
                "deployer": "ops@example.com",
                "approvals": APPROVAL,
                "targets": [
                    {"host": f"h{h}", "status": "succeeded", "finished_at": _at(n * 2 + 1)}
                    for h in range(10)
                ],
            }
        )
        for n in range(count)
    ]
    seen = [
        Observation.model_validate(
            {
                "host": f"h{n % 10}",
                "service": "web",
                "version": f"c{n % 2}",
                "observed_at": _at(n * 2 + 1),
            }
        )
        for n in range(count)
    ]
    read: list[str] = []
    real = fleet.window_starts

    def counted(
        deployment: Deployment, finished_ns: int | None
    ) -> tuple[dict[str, int], int | None]:
        read.append(deployment.id)
        return real(deployment, finished_ns)

    monkeypatch.setattr(fleet, "window_starts", counted)
    by_service = fleet.observations_by_service(seen, {"c0": "c0", "c1": "c1"})
    found, *_ = fleet.windows(
        Streams(deployments), by_service, {d.id: d.commit for d in deployments}, lambda a, b: a == b
    )
    assert len(read) == count
    assert all(found[f"D{n:05d}"] == {f"h{n % 10}": [by_service["web"][n]]} for n in range(count))
