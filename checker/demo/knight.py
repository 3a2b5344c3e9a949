"""Knight Capital, 2003 to 2012, as a git repository and the evidence an auditor would hold.

The facts follow the SEC's order (Release 34-70694): Power Peg, a test-only routine, was
left in SMARS after it was retired; in 2012 new Retail Liquidity Program code reused the flag
that once switched Power Peg on; a technician deployed it to seven of eight servers with no
second review; on 1 August 2012 the flag was switched on while the eighth still ran the old
code, and Power Peg sent millions of orders in 45 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.demo.builder import ScriptedRepo

ALICE = "Alice Archer <alice@knight.example>"
BOB = "Bob Brandt <bob@knight.example>"
CAROL = "Carol Chen <carol@knight.example>"
TECH = "tech1@knight.example"
LEAD = "ops-lead@knight.example"
HOSTS = [f"smars-0{n}" for n in range(1, 9)]


@dataclass(frozen=True)
class KnightCase:
    """Where the reconstruction lives and the commits that matter in it."""

    repo: Path
    evidence: Path
    power_peg: str
    retired: str
    rlp: str
    rlp_flag: str


def _registry(
    purpose: str, status: str, retired_at: str | None = None, *, dead_code: bool = False
) -> str:
    flag: dict[str, object] = {
        "name": "power_peg",
        "purpose": purpose,
        "owner": "smars-team",
        "status": status,
        "created": "2003-06-02",
    }
    if retired_at:
        flag["retired_at"] = retired_at
    registry: dict[str, object] = {"flags": [flag]}
    if dead_code:
        # Retired on paper: the registry says Power Peg's code must be gone. It never was.
        registry["retired_code"] = [
            {
                "path": "smars/power_peg.py",
                "reason": "Power Peg retired",
                "retired_at": "2005-03-14",
            }
        ]
    return yaml.safe_dump(registry, sort_keys=False)


ROUTER_2003 = """\
def route(order, flags):
    if flags.enabled("power_peg"):
        return power_peg.send_child_orders(order)
    return send(order)
"""

POWER_PEG = """\
# Test-only: sends child orders until the parent's cumulative quantity is filled.
def send_child_orders(order):
    while not order.cumulative_quantity_filled():
        order.send_child()
"""

ROUTER_2012 = """\
def route(order, flags):
    if flags.enabled("power_peg"):  # now means: route through the Retail Liquidity Program
        return rlp.route(order)
    return send(order)
"""


def build_knight(directory: Path) -> KnightCase:
    """Write the repository and its ``compliance/`` evidence under ``directory``."""
    repo = ScriptedRepo(directory / "smars")
    repo.commit(
        "SMARS order router",
        {
            "smars/router.py": "def route(order, flags):\n    return send(order)\n",
            "flags.yaml": yaml.safe_dump({"flags": []}),
        },
        author=ALICE,
        date="2003-05-12T14:00:00Z",
        trailers=(f"Reviewed-by: {BOB}",),
    )
    power_peg = repo.commit(
        "Power Peg: test strategy that sends child orders until the parent fills",
        {
            "smars/power_peg.py": POWER_PEG,
            "smars/router.py": ROUTER_2003,
            "flags.yaml": _registry("Power Peg test strategy for the test environment", "active"),
        },
        author=ALICE,
        date="2003-06-02T14:00:00Z",
        trailers=(f"Reviewed-by: {BOB}",),
    )
    retired = repo.commit(
        "Move cumulative-quantity tracking out of Power Peg; retire Power Peg",
        {
            "flags.yaml": _registry(
                "Power Peg test strategy for the test environment",
                "retired",
                "2005-03-14",
                dead_code=True,
            )
        },
        author=ALICE,
        date="2005-03-14T14:00:00Z",
        trailers=(f"Reviewed-by: {BOB}",),
    )
    rlp = repo.commit(
        "RLP: Retail Liquidity Program order routing",
        {"smars/rlp.py": "def route(order):\n    return send(order, venue='RLP')\n"},
        author=CAROL,
        date="2012-06-20T15:00:00Z",
        trailers=(f"Reviewed-by: {BOB}",),
    )
    rlp_flag = repo.commit(
        "RLP: switch routing on with the existing power_peg flag",
        {
            "smars/router.py": ROUTER_2012,
            "flags.yaml": _registry("Retail Liquidity Program routing", "active", dead_code=True),
        },
        author=CAROL,
        date="2012-07-25T15:00:00Z",
    )
    evidence = repo.path / "compliance"
    evidence.mkdir()
    _write(evidence / "fleet.yaml", {"services": {"smars": {"hosts": HOSTS}}})
    _write(
        evidence / "deploys.yaml",
        [
            {
                "id": "D-2011-11-02",
                "service": "smars",
                "environment": "production",
                "commit": retired,
                "started_at": "2011-11-02T22:00:00Z",
                "finished_at": "2011-11-02T22:30:00Z",
                "deployer": TECH,
                "approvals": [{"by": LEAD, "at": "2011-11-02T21:00:00Z"}],
                "change_ticket": "CHG-0877",
                "targets": [{"host": h, "status": "succeeded"} for h in HOSTS],
            },
            {
                "id": "D-2012-07-27",
                "service": "smars",
                "environment": "production",
                "commit": rlp_flag,
                "started_at": "2012-07-27T22:00:00Z",
                "finished_at": "2012-07-31T23:00:00Z",
                "deployer": TECH,
                "approvals": [],
                "change_ticket": "CHG-1042",
                # The deploy script's summary left out the eighth server altogether.
                "targets": [{"host": h, "status": "succeeded"} for h in HOSTS[:7]],
            },
        ],
    )
    _write(
        evidence / "observations.yaml",
        [
            {
                "host": h,
                "service": "smars",
                "version": rlp_flag if h != "smars-08" else retired,
                "observed_at": "2012-08-01T13:25:00Z",
            }
            for h in HOSTS
        ],
    )
    _write(
        evidence / "flag_events.yaml",
        [
            {
                "flag": "power_peg",
                "service": "smars",
                "environment": "production",
                "enabled": True,
                "at": "2012-08-01T13:30:00Z",
                "by": "ops@knight.example",
            },
        ],
    )
    _write(
        evidence / "identities.yaml",
        {
            "alice": ["alice@knight.example"],
            "bob": ["bob@knight.example"],
            "carol": ["carol@knight.example"],
            "tech1": [TECH],
            "ops-lead": [LEAD],
        },
    )
    return KnightCase(repo.path, evidence, power_peg, retired, rlp, rlp_flag)


def _write(path: Path, document: object) -> None:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
