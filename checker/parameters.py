"""The rules' parameters, declared once.

One model is all three things a parameter is: its keys are knightwatch.yaml's (``Config``
extends it, so a repository, an auditor's ``--config`` and the command line set them the same
way), ``rule_data`` is the data document the policies read (``data.knightwatch.params``), and
``report_record`` is what the report records of them (``parameters``). The two resolved
values, the baseline's full sha and the review bots' identities, are established with the
facts and passed in.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from checker.paths import service_glob

NS_PER_SECOND = 1_000_000_000


DEFAULT_FLAGS_FILE = "flags.yaml"
"""The flag registry's path where no setting names one."""


def registry_path(path: str) -> str:
    """A path inside the repository: relative, and not climbing out of it. Not a pattern: git
    reads it literally, and a glob or pathspec magic (``*.yaml``, ``:(top)flags.yaml``) would
    name no file, leaving the dead-code rules without their registry."""
    parts = PurePosixPath(path).parts
    if path.startswith("/") or ".." in parts or not parts:
        raise ValueError(f"{path!r} is not a path inside the repository (relative, no '..')")
    pattern = next((c for c in "*?[" if c in path), ":" if path.startswith(":") else None)
    if pattern is not None:
        raise ValueError(
            f"{path!r} is a pattern ({pattern!r}), not the path of one file: name the registry"
        )
    return path


def _waiver_key(value: str) -> str:
    from checker.signing.waivers import parse_key

    parse_key(value)
    return value


WaiverKey = Annotated[str, AfterValidator(_waiver_key)]
"""An approver's Ed25519 public key, ``ed25519:`` and the base64 of its 32 bytes."""


def _one_key_each(keys: dict[str, str]) -> dict[str, str]:
    """Each approver named once, by a well-formed address (a key vouches for one mailbox's
    owner, never a name identities.yaml could give anyone). An audit joins a waiver's approver
    to a key under every spelling of its address, and any key held for them makes their
    waivers count: ``{cro@ex.com: CRO's key, cro+x@ex.com: another}`` let a waiver signed with
    the other count as the CRO's, while the report seemed to require the CRO's key."""
    from checker.evidence.identities import IdentityResolver

    people, seen = IdentityResolver(), dict[str, str]()
    for address in keys:
        found = people.identify(address)
        if found.identity is None:
            raise ValueError(f"{address!r} is not an address ({found.unresolved})")
        if found.identity in seen:
            raise ValueError(
                f"{seen[found.identity]!r} and {address!r} are one address, "
                f"{found.identity}: give each approver one key, once"
            )
        seen[found.identity] = address
    return keys


WaiverKeys = Annotated[dict[str, WaiverKey], AfterValidator(_one_key_each)]
"""Approvers' public keys by address (``waiver_keys``), each approver once."""

ServiceGlobs = Annotated[list[Annotated[str, AfterValidator(service_glob)]], Field(min_length=1)]
"""A path-scoped service's globs: at least one (an empty list would scope it to nothing)."""


class RuleParameters(BaseModel):
    """What the rules are judged with, beyond the evidence."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    protected_branch: str = Field(default="main", min_length=1)
    """The branch every deployed commit must be reachable from (REVIEW-003)."""
    baseline: str | None = None
    """Where the first deployment's shipped range starts; without it, the deployed commit alone."""
    flags_file: Annotated[str, AfterValidator(registry_path)] = Field(
        default=DEFAULT_FLAGS_FILE, min_length=1
    )
    """The flag registry's path inside the repository."""
    reference_exclude: list[str] = []
    """Globs of tracked files that do not count as references to a flag."""
    review_bots: list[str] = []
    """Addresses (or identities) whose reviews and approvals never count: bots."""
    review_lines: Literal["any", "committed", "none"] = "any"
    """Which ``Reviewed-by:``/``Approved-by:`` lines of a commit message count: ``any``;
    ``committed``, only in a commit that a person other than its author committed (in one its
    author committed, a line is the author's own word); ``none``, only review records count."""
    observation_grace_seconds: int = Field(default=0, ge=0)
    """How long after a deployment finished its hosts may still report the old version."""
    unlisted_services: list[str] = []
    """Services deliberately left out of fleet.yaml: their deployments are accepted, the fleet
    rules cannot judge them, and the report says so. Any other service not in fleet.yaml is an
    input error (a misspelt service name must never silently escape the fleet rules)."""
    waiver_approvers: list[str] | None = None
    """Who may approve a waiver (addresses or identities.yaml people). Without it, a check
    applies any waiver and an audit none: the audited team writes waivers.yaml, so an audit
    takes the approvers from the auditor's side."""
    waiver_keys: WaiverKeys = {}
    """Approvers' public keys, by address (``ed25519:BASE64``): a waiver approved by one of
    them counts only with that key's signature over it. Without a key, a waiver's
    ``approved_by`` is the audited team's word."""
    service_paths: dict[Annotated[str, Field(min_length=1)], ServiceGlobs] = {}
    """Path-scoped services of a monorepo: ``{SERVICE: [GLOB, ...]}``, gitignore-style globs of
    the files a service is built from. A deployment of such a service ships only the commits
    of its range that changed one of its files (REVIEW-002), and its dead-code references are
    looked for in its files alone. Services not named here are judged on the whole
    repository. It narrows an audit, so an audit takes it from the auditor's side alone."""

    def rule_data(self, *, baseline_sha: str | None, bots: list[str]) -> dict[str, Any]:
        """``data.knightwatch.params``: what the policies read, in the units they compare."""
        return {
            "protected_branch": self.protected_branch,
            "baseline": baseline_sha,
            "bots": bots,
            "observation_grace_ns": self.observation_grace_seconds * NS_PER_SECOND,
        }

    def report_record(self, *, baseline_sha: str | None) -> dict[str, Any]:
        """The report's ``parameters``: every parameter as applied, the baseline as the sha it
        resolved to; the five that are absent by default only when set."""
        optional = {
            "unlisted_services", "waiver_approvers", "waiver_keys", "service_paths", "review_lines"
        }  # fmt: skip
        names = set(RuleParameters.model_fields) - optional
        record = self.model_dump(include=names)
        record["baseline"] = baseline_sha
        if self.unlisted_services:
            record["unlisted_services"] = sorted(self.unlisted_services)
        if self.waiver_approvers is not None:
            record["waiver_approvers"] = list(self.waiver_approvers)
        if self.waiver_keys:
            record["waiver_keys"] = dict(sorted(self.waiver_keys.items()))
        if self.review_lines != "any":
            record["review_lines"] = self.review_lines
        if self.service_paths:
            record["service_paths"] = {k: list(v) for k, v in sorted(self.service_paths.items())}
        return record
