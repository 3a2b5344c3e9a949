"""Organisations built for the tests: real git repositories with fixed dates, their evidence,
an org.yaml naming them, and each team's real Ed25519 key pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from checker.demo.builder import ScriptedRepo
from tests.conftest import DEV, LEAD, OPS, CliResult, deployment, run_cli, write_yaml

PERIOD = "2024-03"
AS_OF = "2024-04-30"


def make_system(
    root: Path, name: str, service: str, *, reviewed: bool = True, evidence_in_repo: bool = True
) -> str:
    """A repository ``root/name`` with one commit deployed to ``service`` in March 2024, on a
    scaffold commit tagged ``adopted``; the deployed commit reviewed by someone other than its
    author, or (``reviewed=False``) not. Returns the deployed sha."""
    repo = ScriptedRepo(root / name)
    trailers = (f"Reviewed-by: {LEAD}",) if reviewed else ()
    repo.commit("scaffold", {"README": "x\n"}, author=DEV, date="2024-02-01T09:00:00Z",
                trailers=(f"Reviewed-by: {LEAD}",))  # fmt: skip
    repo.git("tag", "adopted")  # a baseline a team could set (an org rejects it)
    sha = repo.commit(
        f"{service}: first release",
        {f"{service}/app.py": f"print('{service}')\n"},
        author=DEV,
        date="2024-03-01T09:00:00Z",
        trailers=trailers,
    )
    evidence = root / name / "compliance" if evidence_in_repo else root / f"{name}-evidence"
    host = f"{service}-1"
    write_yaml(evidence / "fleet.yaml", {"services": {service: {"hosts": [host]}}})
    write_yaml(
        evidence / "deploys.yaml",
        [
            deployment(
                f"{service.upper()}-1",
                sha,
                "2024-03-02T10:00:00Z",
                approvals=[{"by": "lee@example.com", "at": "2024-03-02T09:00:00Z"}],
                deployer=OPS,
                service=service,
                targets=[{"host": host, "status": "succeeded"}],
            )
        ],
    )
    return sha


@dataclass
class Org:
    """An organisation's directory: org.yaml, its systems, the central key and team keys."""

    root: Path
    systems: list[dict[str, Any]] = field(default_factory=list)
    name: str = "org.yaml"

    @property
    def file(self) -> Path:
        return self.root / self.name

    def quiet(self, month: str) -> Org:
        """The same organisation, its file stating every service deployed nothing in
        ``month`` (written beside org.yaml as ``org-quiet.yaml``)."""
        systems = [
            {
                **system,
                "services": [
                    {"name": s, "quiet": [month]} if isinstance(s, str) else {**s, "quiet": [month]}
                    for s in system["services"]
                ],
            }
            for system in self.systems
        ]
        quiet = Org(self.root, systems, "org-quiet.yaml")
        quiet.write()
        return quiet

    def write(self, document: Any = None) -> Path:
        """org.yaml, from ``systems`` unless a document is given."""
        self.file.write_text(
            yaml.safe_dump({"systems": self.systems} if document is None else document)
        )
        return self.file

    def key(self, name: str) -> tuple[Path, Path]:
        """A key pair under ``keys/``: (private, public)."""
        (self.root / "keys").mkdir(exist_ok=True)
        prefix = self.root / "keys" / name
        if not prefix.with_suffix(".key").exists():
            result = run_cli("keygen", "--output", prefix)
            assert result.code == 0, result.err
        return prefix.with_name(name + ".key"), prefix.with_name(name + ".pub")

    def audit(self, output: str | Path, *extra: str | Path) -> CliResult:
        """``audit --org`` of March 2024, signed with the central key."""
        private, _ = self.key("central")
        return run_cli(
            "audit",
            "--org",
            self.file,
            "--period",
            PERIOD,
            "--as-of",
            AS_OF,
            "--key",
            private,
            "-o",
            self.root / output,
            *extra,
        )


def three_teams(root: Path, *, failing: str | None = None) -> Org:
    """Three systems, each its own repository, team and key; ``failing`` ships unreviewed."""
    org = Org(root)
    for name, service in (("ledger", "ledger"), ("payments", "pay"), ("web", "shop")):
        make_system(root / "repos", name, service, reviewed=name != failing)
        org.key(name)
        org.systems.append(
            {
                "name": name,
                "repository": f"repos/{name}",
                "services": [service],
                "owner": f"{name}-team@example.com",
                "key": f"keys/{name}.pub",
            }
        )
    org.write()
    return org
