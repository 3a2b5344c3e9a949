"""Pydantic models of every evidence file in the contract; strict, unknown fields refused."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    Strict,
    WithJsonSchema,
    model_validator,
)

from checker.evidence.flagnames import second_script
from checker.evidence.yamlread import WrittenInt

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SCHEMA_TIMESTAMP = _RFC3339.pattern.replace(
    r"[+-]\d{2}:\d{2}", r"[+-](0\d|1[01]):(00|15|30|45)|[+-]12:00|\+1[23]:(00|15|30|45)|\+14:00"
)
"""The timestamp's pattern in the published schemas: offsets of time zones alone
(``_check_offset``)."""


@functools.lru_cache(maxsize=1 << 16)
def timestamp_ns(text: str) -> int:
    """Nanoseconds since the Unix epoch of an RFC 3339 timestamp (validated beforehand).
    Remembered: a deployment's times are read by its validation, its stream, its fleet
    facts and its record, forty thousand of each in a large month."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    day, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    moment = datetime.fromisoformat(f"{day}T{clock}{zone}")
    nanos = int((fraction or ".0")[1:].ljust(9, "0"))
    return int(moment.timestamp()) * 1_000_000_000 + nanos


@functools.lru_cache(maxsize=1 << 16)
def host_key(name: str) -> str:
    """The form two spellings of one host share, as DNS reads a name (UTS #46): Unicode
    NFKC (``pay-1`` in fullwidth letters is ``pay-1``), case folded, without the characters
    it ignores (a soft hyphen, a zero-width space), every full stop a dot (``。``), and
    without the dot of an absolute name (``pay-1.``). Remembered: a month's half a million
    targets name a thousand hosts."""
    text = unicodedata.normalize("NFKC", name).translate(_HOST_MAP).casefold()
    return text.rstrip(".")


_HOST_MAP = {
    **dict.fromkeys(map(ord, "\u00ad\u034f\u180b\u180c\u180d\u200b\u200c\u200d\u2060\ufeff")),
    **dict.fromkeys(map(ord, "\u3002\uff0e\uff61"), "."),
}
"""What a host name's spelling ignores (mapped to nothing) and its other full stops."""


def check_timestamp(value: str) -> str:
    """``value`` if it is an RFC 3339 timestamp with a zone, else a ValueError that says why."""
    if _RFC3339.match(value) is None:
        if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", value):
            raise ValueError(
                f"timestamp {value!r} has no time zone; add 'Z' for UTC or an offset like +01:00"
            )
        raise ValueError(f"not an RFC 3339 timestamp: {value!r} (e.g. 2012-07-27T22:00:00Z)")
    try:
        nanos = timestamp_ns(value)
    except ValueError:
        raise ValueError(
            f"not a valid timestamp: {value!r} (a day, hour or offset out of range)"
        ) from None
    if nanos < 0:
        raise ValueError(f"timestamp {value!r} is before 1970, when no commit or deployment lies")
    _check_offset(value)
    return value


_EARLIEST_OFFSET = -12 * 60
_LATEST_OFFSET = 14 * 60
_OFFSET_STEP = 15
"""UTC offsets in use run from -12:00 to +14:00, in whole quarter hours (+05:45 Nepal, +08:45
Eucla, +12:45 and +13:45 Chatham, -09:30 Marquesas)."""


def _check_offset(value: str) -> None:
    """A ValueError for an offset no time zone has: ``+23:59`` or ``-15:00`` is in range of
    RFC 3339's grammar, yet names no place's clock, and moves the instant by up to a day (a
    flag switched on after a deployment read as before it)."""
    zone = value[-6:]
    if value[-1] in "Zz":
        return
    minutes = int(zone[1:3]) * 60 + int(zone[4:6])
    minutes = -minutes if zone[0] == "-" else minutes
    if _EARLIEST_OFFSET <= minutes <= _LATEST_OFFSET and minutes % _OFFSET_STEP == 0:
        return
    raise ValueError(
        f"timestamp {value!r} has offset {zone}, which no time zone uses (offsets run from "
        "-12:00 to +14:00 in quarter hours); write the time in UTC with 'Z', or with the "
        "offset of the clock that recorded it"
    )


def _parse_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or _ISO_DATE.match(value) is None:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not a valid date: {value!r} ({exc})") from None


def _to_text(value: object) -> object:
    """Change ids are often numbers in YAML (``change: 1042``); they are names all the same.
    One that YAML 1.1 reads as another number than its digits show (``0042``, octal, is 34)
    is refused: taken as ``34`` it is another change than ``'0042'`` beside it."""
    if isinstance(value, WrittenInt):
        raise ValueError(
            f"{value.written} is read by YAML as the number {int(value)}, not as the name "
            f"written; quote it: '{value.written}'"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Timestamp = Annotated[
    str,
    AfterValidator(check_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _SCHEMA_TIMESTAMP}),
]
"""An RFC 3339 timestamp, kept exactly as given; ``timestamp_ns`` orders it."""

IsoDate = Annotated[
    date,
    BeforeValidator(_parse_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _ISO_DATE.pattern}),
]
"""A calendar day, ``YYYY-MM-DD``, read as a UTC day."""

Name = Annotated[str, Field(min_length=1)]

CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
"""C0 (tab and line breaks among them), DEL, C1, and the line and paragraph separators: a
name holding one could forge a line of a report, a log or ``sample``'s walkthrough."""
_CONTROL = re.compile(f"[{CONTROL}]")


def _plain_name(value: str) -> str:
    if value != value.strip():
        raise ValueError(
            f"{value!r} has white space at its start or end; names are compared exactly"
        )
    return _one_line(value)


def _one_line(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"{value[:80]!r} holds the control character {found.group()!r} at position "
            f"{found.start()}; a name is one line of visible text"
        )
    return value


IDENT_PATTERN = f"^[^\\s{CONTROL}](?:[^{CONTROL}]*[^\\s{CONTROL}])?$"

Ident = Annotated[
    str,
    Field(min_length=1),
    AfterValidator(_plain_name),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": IDENT_PATTERN}),
]
"""A name other records join on (a service, environment, host, flag, id): white space around
it would make ``production `` a second environment beside ``production``, and a control
character anywhere in it (a line break, an escape sequence) could forge lines of a report."""

Label = Annotated[
    str,
    Field(min_length=1),
    AfterValidator(_one_line),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": f"^[^{CONTROL}]+$"}),
]
"""A person, address, commit or version a record names: one line, no control character."""
Status = Literal["succeeded", "failed", "skipped", "unreachable"]


class Record(BaseModel):
    """Base of every evidence record: strict types, unknown fields refused, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# A plain dataclass, not a model: a month of a large fleet holds hundreds of thousands of
# targets, and pydantic builds these about three times faster. It is as strict as a model:
REF_NAME = re.compile(
    r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*[/.]\Z)[^\x00-\x20\x7f-\x9f\u2028\u2029~^:?*\[\\]+\Z"
)
"""Used with ``fullmatch``; ``\\Z``, not ``$``, which also matches before a final line feed."""


COMMIT_NAME = re.compile(r"[0-9a-fA-F]{7,64}")
"""What reads as a commit's object id, full or abbreviated: never a ``ref``."""


def _check_ref(value: str) -> str:
    """A branch or tag name as git allows it (``git check-ref-format``): no white space, no
    control character, none of ``~ ^ : ? * [ \\``, no ``..`` or ``@{``; and not shaped like a
    commit sha, which a report would print beside the deployed commit as if it were one."""
    if REF_NAME.fullmatch(value) is None:
        raise ValueError(
            f"ref {value!r} is not a branch or tag name git allows (no spaces, control "
            "characters, '..', '@{', or any of ~ ^ : ? * [ \\)"
        )
    if COMMIT_NAME.fullmatch(value):
        raise ValueError(
            f"ref {value!r} is shaped like a commit sha: ref names the branch or tag deployed, "
            "and the commit deployed is 'commit' (leave ref out where there is none)"
        )
    return value


RefName = Annotated[
    str,
    Strict(),
    AfterValidator(_check_ref),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "pattern": REF_NAME.pattern.replace("\\Z", "$")}
    ),
]
"""The branch or tag a deploy tool named (``v1.4``, ``release/2012-07``), as it recorded it."""


# its fields refuse other types, and unknown fields are refused.
@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One host's outcome in a deployment."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    host: Annotated[str, Strict(), Field(min_length=1), AfterValidator(_plain_name)]
    status: Status
    reason: Annotated[str, Strict(), Field(min_length=1)] | None = None
    """Why a host did not succeed, as the deploy tool showed it (e.g. the release step it
    skipped); FLEET findings quote it."""
    finished_at: Annotated[str, Strict(), AfterValidator(check_timestamp)] | None = None
    """When the deploy tool finished with this host, where it says so per host (a cluster's
    own sync): a succeeded host runs the deployed commit from then on, not from the
    deployment's ``finished_at``, which waits for the slowest."""
    sequence: Annotated[int, Strict(), Field(ge=0)] | None = None
    """The deploy tool's own number for its run on this host, where it keeps one that grows
    with each run there and that its controller sets, not the team (Argo CD's
    ``status.history`` id of the cluster's Application): of two deployments of one stream that
    start in one instant, the one with the higher number on the hosts both name ran last."""


class DeployApproval(Record):
    """A sign-off on a deployment."""

    by: Label
    at: Timestamp


class Deployment(Record):
    """One deployment of one commit of one service to one environment."""

    id: Ident
    service: Ident
    environment: Ident
    commit: Label
    ref: RefName | None = None
    """The branch or tag the deploy tool was asked for, as it recorded it: shown beside the
    commit in reports and the audit's population, never judged (the commit is what was
    deployed, and a ref moves)."""
    started_at: Timestamp
    finished_at: Timestamp | None = None
    deployer: Label
    approvals: list[DeployApproval] = []
    change_ticket: str | None = None
    artifact: str | None = None
    targets: Annotated[list[Target], Strict(False)] = []
    source: Ident | None = None
    """The importer that wrote the record (``ansible``, ``github-deployments``, ...); absent
    in a record written by hand. An import only ever brings its own records up to date."""
    """``Strict(False)`` lets the targets arrive as mappings; ``Target`` is strict itself."""

    @model_validator(mode="after")
    def _one_status_per_host(self) -> Deployment:
        folded = [host_key(target.host) for target in self.targets]
        if len(set(folded)) != len(folded):  # a host's name in another case is that host
            at = next(i for i, h in enumerate(folded) if h in folded[:i])
            first = self.targets[folded.index(folded[at])].host
            twice = self.targets[at].host
            also = "" if twice == first else f" (as {first!r} and as {twice!r})"
            raise ValueError(f"host {twice!r} is listed twice in targets{also}")
        return self

    @model_validator(mode="after")
    def _finished_after_it_started(self) -> Deployment:
        if self.finished_at is not None and timestamp_ns(self.finished_at) < timestamp_ns(
            self.started_at
        ):
            raise ValueError(
                f"finished_at {self.finished_at!r} is before started_at {self.started_at!r}"
            )
        start = timestamp_ns(self.started_at)
        end = timestamp_ns(self.finished_at) if self.finished_at is not None else None
        for target in self.targets:
            if target.finished_at is None:
                continue
            at = timestamp_ns(target.finished_at)
            # A host cannot finish before its deployment started, nor after it finished: such
            # a time would move the host's FLEET-002 window or its FLEET-003 answer.
            if at < start or (end is not None and at > end):
                raise ValueError(
                    f"target {target.host!r} finished_at {target.finished_at!r} is outside the "
                    f"deployment's started_at {self.started_at!r} .. finished_at "
                    f"{self.finished_at!r}"
                )
        return self


class ReviewApproval(Record):
    """An approval in the review system; ``commit`` is the head it was given on."""

    by: Label
    at: Timestamp
    commit: Label | None = None


class Review(Record):
    """One merged change as exported from the review system."""

    change: Annotated[
        Name,
        BeforeValidator(_to_text),
        WithJsonSchema({"type": ["string", "integer"], "minLength": 1}),
    ]
    author: Label
    commits: list[Label]
    approvals: list[ReviewApproval] = []
    source: Ident | None = None
    """The importer that wrote the record (``github-reviews``, ``gerrit``, ...); absent in a
    record written by hand."""


class FlagEvent(Record):
    """A runtime flag change."""

    flag: Ident
    service: Ident
    environment: Ident
    enabled: bool
    at: Timestamp
    by: Label


class Observation(Record):
    """What a host, or a cluster's workload, was seen running."""

    host: Ident
    """The host, or the cluster (a name fleet.yaml lists for the service)."""
    service: Ident
    version: Label
    observed_at: Timestamp
    pods: Annotated[int, Field(ge=1)] | None = None
    """For a cluster: how many running pods of the workload ran this version at the listing."""
    image: Annotated[str, Field(min_length=1)] | None = None
    """For a cluster: the image by digest (``REPOSITORY@sha256:...``) that was linked to
    ``version``; what was compared, never a tag."""
    pod_set: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = None
    """For a cluster: the sha256 of the counted pods' ``metadata.uid`` values (sorted, one a
    line), so that one set of pods is never recorded as two clusters."""


class Host(Record):
    """A fleet host with optional tags."""

    name: Ident
    tags: list[str] = []
    observed: bool = True
    """False where no observation stream covers the host: FLEET-001 then reads its deployments'
    records alone, and the report says so. Otherwise a host a finished deployment says it
    succeeded on, seen by no observation after it while the service's other hosts are, is a
    host it is not shown to have reached."""


def _host_mapping(value: object) -> object:
    """A host written as its bare name stands for ``{name: NAME}``."""
    return {"name": value} if isinstance(value, str) else value


HostEntry = Annotated[Host, BeforeValidator(_host_mapping, json_schema_input_type=Name | Host)]
"""A host: its name, or ``{name, tags}``. One model, not a union of the two, so that an error
in either form is reported at the host and not at each alternative."""


class Cluster(Record):
    """A Kubernetes cluster a service runs on, and where its workload is there."""

    name: Ident
    """The cluster's name in findings (``DEPLOY:CLUSTER``); Argo CD's ``destination.name``
    matches it."""
    server: Annotated[str, Field(min_length=1)] | None = None
    """The cluster's API server URL, as an Argo CD application's ``destination.server``."""
    namespace: Ident | None = None
    """The namespace of the workload; any namespace when absent."""
    workload: Ident | list[Ident] | None = None
    """The Deployment, StatefulSet, DaemonSet or Argo Rollout whose pods run the service, or
    several (a Flagger canary's ``NAME`` and ``NAME-primary``); default: the service's name."""
    container: Ident | None = None
    """The pod's container that runs the service (default: the only one, else the one named
    like the workload)."""
    replicas: Annotated[int, Field(ge=1)] | None = None
    """Running pods expected: a listing that shows fewer covers only part of the workload."""
    tags: list[str] = []
    observed: bool = True
    """As a host's: False where no listing of the cluster's pods is exported."""

    @model_validator(mode="after")
    def _workloads_named_once(self) -> Cluster:
        if isinstance(self.workload, list) and (
            not self.workload or len(set(self.workload)) != len(self.workload)
        ):
            raise ValueError("workload: a list names each workload once, and at least one")
        return self

    def workloads(self, service: str) -> tuple[str, ...]:
        """The workloads whose pods run the service here (default: the service's name)."""
        if isinstance(self.workload, list):
            return tuple(self.workload)
        return (self.workload or service,)


def _cluster_mapping(value: object) -> object:
    """A cluster written as its bare name stands for ``{name: NAME}``."""
    return {"name": value} if isinstance(value, str) else value


ClusterEntry = Annotated[
    Cluster, BeforeValidator(_cluster_mapping, json_schema_input_type=Name | Cluster)
]


class Service(Record):
    """The hosts, or the Kubernetes clusters, a service runs on."""

    hosts: list[HostEntry] = []
    clusters: list[ClusterEntry] = []
    """Both are targets of its deployments alike: a cluster is judged as a host is."""

    @model_validator(mode="after")
    def _somewhere(self) -> Service:
        # A service of no hosts or clusters would make every fleet rule judge nothing.
        if not self.hosts and not self.clusters:
            raise ValueError("a service lists at least one host or cluster")
        hosts: set[str] = set()
        for host in self.hosts:  # two entries of one host: whose tags would it have?
            if host.name in hosts:
                raise ValueError(f"{host.name!r} is listed twice in hosts")
            hosts.add(host.name)
        clusters = [c.name for c in self.clusters]
        for index, name in enumerate(clusters):
            if name in hosts or name in clusters[:index]:
                where = "as a host and as a cluster" if name in hosts else "twice in clusters"
                raise ValueError(f"{name!r} is listed {where}: a target is one or the other")
        return self

    def host_names(self) -> list[str]:
        """Host and cluster names in the order given: the targets of its deployments."""
        return [h.name for h in self.hosts] + [c.name for c in self.clusters]

    def unobserved(self) -> list[str]:
        """The hosts and clusters fleet.yaml says no observation covers (``observed: false``)."""
        hosts = [h.name for h in self.hosts if not h.observed]
        return sorted(hosts + [c.name for c in self.clusters if not c.observed])

    def cluster(self, name: str) -> Cluster | None:
        """The cluster of that name, if the service lists one."""
        return next((c for c in self.clusters if c.name == name), None)


def _some_service(services: dict[str, Service]) -> dict[str, Service]:
    """An inventory of no services is what an export that found none leaves behind: every
    deployment's service would then be one outside the inventory, judged by no fleet rule."""
    if not services:
        raise ValueError(
            "fleet.yaml lists at least one service (without an inventory, remove the file: "
            "the fleet rules are then reported not evaluated)"
        )
    return services


class Fleet(Record):
    """``fleet.yaml``: the inventory of every service's hosts and, optionally, the
    environments they are deployed to."""

    services: Annotated[
        dict[Ident, Service],
        AfterValidator(_some_service),
        Field(json_schema_extra={"minProperties": 1}),
    ]
    environments: list[Ident] | None = None
    """Every environment a deployment, flag event or gate may name; without it, those of the
    deployments (where a near-miss spelling of another is an error)."""


class Identities(RootModel[dict[str, list[Name]]]):
    """``identities.yaml``: each person's addresses."""

    model_config = ConfigDict(strict=True, frozen=True)


class Waiver(Record):
    """A time-boxed exception to one rule for matching subjects, or for one cause of its
    findings (``cause``: every instance of a group)."""

    rule: Ident
    subject: Name | None = None
    """A glob over the rule's subjects."""
    cause: Name | None = None
    """Instead of ``subject``: a glob over the rule's causes (its METADATA ``cause``)."""
    purpose: Name | None = None
    """DEAD-002 alone: the purpose the flag was repurposed to that the approver approved, as
    the registry writes it. The waiver covers a flag only where every repurposing in its
    history gave a purpose it or another DEAD-002 waiver applied names; without it, only a
    flag repurposed once."""
    reason: Name
    approved_by: Label
    expires: IsoDate
    signature: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{86}==$")] | None = None
    """The approver's Ed25519 signature over the other fields, in base64: where the auditor's
    side gives the approver's key (``waiver_keys``), the waiver counts only with it."""

    @model_validator(mode="after")
    def _subject_or_cause(self) -> Waiver:
        if (self.subject is None) == (self.cause is None):
            raise ValueError(
                "a waiver names what it excuses by subject or by cause: one of them, not both"
            )
        return self

    @property
    def target(self) -> str:
        """The glob it matches with: its subject's, or its cause's."""
        return self.cause if self.cause is not None else self.subject or ""


def _one_script(value: str) -> str:
    reason = second_script(value)
    if reason is not None:
        raise ValueError(reason)
    return value


FlagName = Annotated[Ident, AfterValidator(_one_script)]
"""A flag's name in the registry: letters of one alphabet (``checker.evidence.flagnames``)."""


class Flag(Record):
    """A feature flag in the repository's registry."""

    name: FlagName
    purpose: Name
    owner: Name
    status: Literal["active", "retired"]
    created: IsoDate
    retired_at: IsoDate | None = None
    remove_by: IsoDate | None = None


def _tree_path(value: str) -> str:
    """A ``retired_code`` path as git names files. ``./legacy/peg.py``, ``legacy//peg.py``,
    ``legacy\\peg.py`` or ``"legacy/peg.py "`` named no file of any tree, so DEAD-004 passed
    with the retired code in place: a careless spelling is refused, not read as no code."""
    if value != value.strip():
        raise ValueError(f"path {value!r} has white space at its start or end")
    parts = value.strip("/").split("/")
    odd = next((part for part in parts if part in ("", ".", "..")), None)
    if odd is not None:
        plain = "/".join(part for part in parts if part not in ("", "."))
        hint = f" ({plain!r})" if ".." not in parts and plain else ""
        raise ValueError(
            f"path {value!r} has {f'a part {odd!r}' if odd else 'an empty part'}, which "
            f"names no file in git: write it from the repository's root, as git ls-files "
            f"shows it{hint}"
        )
    if _backslash_separated(value):
        raise ValueError(
            f"path {value!r} separates folders with a backslash: write them with '/' (a "
            "backslash only escapes a glob's special characters, as in '\\[')"
        )
    return value


def _backslash_separated(value: str) -> bool:
    """A backslash that escapes a letter, digit, ``_``, ``.`` or ``/``, or ends the path:
    a Windows folder separator (``legacy\\peg.py``), not a glob's escape (``\\[``, ``\\*``,
    ``\\\\``), which the character after it tells apart."""
    index = value.find("\\")
    while index != -1:
        following = value[index + 1 : index + 2]
        if not following or following.isalnum() or following in "_./":
            return True
        index = value.find("\\", index + 2)
    return False


class RetiredCode(Record):
    """Code that must be gone: a path or glob inside the repository."""

    path: Annotated[str, Field(min_length=1), AfterValidator(_tree_path)]
    reason: Name
    retired_at: IsoDate


class FlagRegistry(Record):
    """The flag registry file kept in the repository (``flags.yaml``)."""

    flags: list[Flag] = []
    retired_code: list[RetiredCode] = []


def utc_day_start_ns(day: date) -> int:
    """Nanoseconds at 00:00 UTC of a day."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000
