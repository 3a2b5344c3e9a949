"""The gate: judge a prospective deployment of a revision to a service's whole fleet, now.

One value, ``Gate``, owns everything a gate changes about a run: which evidence records it
reads (``scope``), the synthetic deployment record its candidate becomes (``record``), which
rules judge the candidate (``select``, from each rule's ``gate:`` metadata), and what the
report says of it (``report_record``). The candidate is a deployment, ``candidate``, that
reached every host fleet.yaml lists (or none, without a fleet); the recorded deployments are
only its history, so the gate runs the same pipeline as a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from checker.errors import UsageError
from checker.evidence.bundle import Evidence
from checker.evidence.models import Deployment, Target, timestamp_ns
from checker.vocabulary import GateStage

if TYPE_CHECKING:
    from checker.rules.metadata import RuleMeta

CANDIDATE_ID = "candidate"
NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class Gate:
    """``check --candidate REV --service NAME``: a deployment of REV judged before it happens."""

    revision: str
    """The revision as given on the command line (a sha, or a ref)."""
    service: str
    environment: str = "production"
    stage: GateStage = "deploy"
    """``merge``: the candidate ships what it adds to the protected branch, not to production."""
    with_reviews: bool = False
    """At the merge gate, judge review rules too (``merge-with-reviews`` in their ``gate:``)."""

    def scope(self, kind: str, raw: dict[str, Any]) -> bool:
        """Whether a raw evidence record bears on the candidate: the deployments of its service
        (in its environment, its history; in another, the hosts that environment holds, which
        the candidate's may not share), and its service's observations and flag events. A
        record of another service is read for what it shipped when (``Shipment``)."""
        if kind in ("deploys", "observations", "flag_events"):
            return raw.get("service") == self.service
        return True

    def stream(self, kind: str, raw: dict[str, Any]) -> bool:
        """Whether a raw evidence record is of the candidate's history: of its scope, and a
        deployment of its environment."""
        in_environment = kind != "deploys" or raw.get("environment") == self.environment
        return in_environment and self.scope(kind, raw)

    def record(self, evidence: Evidence, sha: str, as_of: date) -> Deployment:
        """The candidate's deployment record: it starts on the as-of date, after every recorded
        deployment of its stream, and reached every host of its service."""
        if any(d.id == CANDIDATE_ID for d in evidence.deployments):
            raise UsageError(f"the evidence already has a deployment with the id {CANDIDATE_ID!r}")
        start = max(
            [
                timestamp_ns(f"{as_of.isoformat()}T00:00:00Z"),
                *(
                    timestamp_ns(d.started_at) + NS_PER_SECOND
                    for d in evidence.deployments
                    if d.service == self.service and d.environment == self.environment
                ),
            ]
        )
        started_at = datetime.fromtimestamp(start // NS_PER_SECOND, tz=UTC)
        hosts = (
            evidence.fleet.services[self.service].host_names()
            if evidence.fleet is not None and self.service in evidence.fleet.services
            else []
        )
        return Deployment(
            id=CANDIDATE_ID,
            service=self.service,
            environment=self.environment,
            commit=sha,
            started_at=started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            deployer="candidate",
            targets=[Target(host=host, status="succeeded") for host in hosts],
        )

    def check_as_of(self, as_of: date, committed_s: int, evidence: Evidence, today: date) -> None:
        """Refuse an ``--as-of`` before a day that had provably come: the day before the
        candidate's commit was committed (a day allowed for the clock of the machine that
        wrote it), or the day the latest deployment of the candidate's service started. A gate
        judges its candidate now; a stale date left on a pipeline's command line had it judge
        a day when expired waivers still waived and remove_by dates had not passed. Nor after
        ``today``, as an audit's: a waiver may run a year past the as-of date, so a date years
        ahead admitted a waiver running years."""
        if as_of > today:
            raise UsageError(
                f"--as-of {as_of} is after today ({today} UTC): a gate judges its candidate "
                "as of a day that has come",
                hint="leave --as-of out (the default is today, UTC)",
            )
        committed = datetime.fromtimestamp(committed_s, tz=UTC).date() - timedelta(days=1)
        started = [d.started_at for d in evidence.deployments if d.service == self.service]
        deployed = max(started, key=timestamp_ns, default=None)
        if as_of < committed:
            why = f"its commit was committed on {committed + timedelta(days=1)}"
        elif deployed is not None and as_of.isoformat() < _utc_day(deployed):
            why = f"a deployment of {self.service} started at {deployed}"
        else:
            return
        raise UsageError(
            f"--as-of {as_of} is before the gate's candidate could be judged: {why}. A gate "
            "judges its candidate now; an earlier date would count waivers that have expired "
            "since and flags' remove_by dates that have passed",
            hint="leave --as-of out (the default is today, UTC), or give today's date",
        )

    def moment(self, as_of: date, now_ns: int) -> tuple[int, str]:
        """When the gate judges its candidate, in nanoseconds, and what an approval dated at or
        after it is, as a finding says it: the end of the as-of date (UTC), or now if that is
        sooner. An approval dated then or later had not been given, and reviews nothing the
        candidate ships. Not the candidate's start (midnight of the as-of date): the gate runs
        during that day, and an approval given earlier today was given before it."""
        end = timestamp_ns(f"{(as_of + timedelta(days=1)).isoformat()}T00:00:00Z")
        if now_ns < end:
            return now_ns, "in the future: not yet given when the gate judged the candidate"
        return end, (
            f"after the gate's as-of date ({as_of.isoformat()}): not yet given when the gate "
            "judged the candidate"
        )

    @property
    def tags(self) -> tuple[str, ...]:
        """The ``gate:`` metadata values that select a rule at this gate."""
        if self.stage == "merge" and self.with_reviews:
            return ("merge", "merge-with-reviews")
        return (self.stage,)

    def judges(self, rule: RuleMeta) -> bool:
        """Whether the rule's ``gate:`` metadata has it judge a candidate at this gate."""
        return any(tag in rule.gate for tag in self.tags)

    def select(self, rules: tuple[RuleMeta, ...]) -> tuple[list[RuleMeta], list[RuleMeta]]:
        """The rules that judge the candidate here, and those the gate does not ask."""
        return [r for r in rules if self.judges(r)], [r for r in rules if not self.judges(r)]

    @property
    def not_asked(self) -> str:
        """Why a rule the gate does not ask was not evaluated."""
        return f"not judged at the {self.stage} gate"

    def report_record(self, commit: str, evidence: dict[str, Any] | None) -> dict[str, Any]:
        """The report's ``gate``: the candidate as given, the commit it resolved to, where;
        and, where the evidence lay in the work tree, which of its files were read as the
        protected branch has them, which from the work tree, and which were not read."""
        return {
            "candidate": self.revision,
            "commit": commit,
            "service": self.service,
            "environment": self.environment,
            "stage": self.stage,
            **({"evidence": evidence} if evidence is not None else {}),
        }


def _utc_day(timestamp: str) -> str:
    """The UTC day of an RFC 3339 timestamp, ``YYYY-MM-DD``."""
    seconds = timestamp_ns(timestamp) // NS_PER_SECOND
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()
