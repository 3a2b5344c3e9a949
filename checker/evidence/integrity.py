"""Referential integrity: every record names a service, environment, host and flag that the
other evidence knows, before any rule runs.

A record that does not join is not judged by the rules that look it up (a deployment of
``smars_prod`` is in no service's fleet, a flag event in ``prod`` follows no deployment in
``production``), so it would pass by being invisible. Here it is an input error instead,
naming its file, line and value, and the nearest known name.
"""

from __future__ import annotations

import difflib
import itertools
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass

from checker.errors import InputError, UsageError
from checker.evidence.bundle import Evidence, Shipment
from checker.evidence.messages import did_you_mean, shown
from checker.evidence.models import Deployment, host_key

_INVENTORY_HINT = (
    "add it to fleet.yaml, or, if its hosts are deliberately not inventoried, list it under "
    "unlisted_services in knightwatch.yaml"
)
NEAR = 0.8
"""How alike two names must be (difflib's ratio) for one to be taken as a misspelling of the
other where both could be real: ``prodcution``/``production`` (0.9), ``power_pg``/``power_peg``
(0.94), but not ``delta``/``beta`` (0.67) or ``prod``/``production`` (0.57)."""
_ENVIRONMENTS_HINT = "use one of them, or add it to environments: in fleet.yaml"


@dataclass(frozen=True)
class Vocabulary:
    """The names records may use."""

    services: frozenset[str]
    """Services the inventory lists or declares unlisted; empty when neither exists."""
    environments: frozenset[str]
    """fleet.yaml's ``environments``, else every environment a deployment names."""
    declared_environments: bool
    hosts: dict[str, frozenset[str]]
    """Each inventoried service's hosts."""


def vocabulary(evidence: Evidence, unlisted_services: Collection[str]) -> Vocabulary:
    """The names the evidence declares: the inventory's, else the deployment records'."""
    fleet = evidence.fleet
    hosts = (
        {name: frozenset(service.host_names()) for name, service in fleet.services.items()}
        if fleet is not None
        else {}
    )
    both = sorted(hosts.keys() & set(unlisted_services))
    if both:
        raise UsageError(
            f"service {both[0]!r} is both in fleet.yaml and in unlisted_services in "
            "knightwatch.yaml; keep it in one"
        )
    _check_unlisted_spellings(sorted(hosts), unlisted_services)
    _check_listed_spellings("service", sorted(hosts))
    if fleet is not None and fleet.environments is not None:
        _check_listed_spellings("environment", sorted(fleet.environments))
    declared = fleet is not None and fleet.environments is not None
    environments = (
        frozenset(fleet.environments or [])
        if declared and fleet is not None
        else frozenset(environment for _, environment in evidence.streams)
    )
    return Vocabulary(
        frozenset(hosts) | frozenset(unlisted_services), environments, declared, hosts
    )


def _check_unlisted_spellings(listed: list[str], unlisted: Collection[str]) -> None:
    """An unlisted service is not an inventoried one in another spelling: ``Web``, or ``web``
    with a look-alike letter from another script, would take the service's records out of
    the inventory (and a gate's history out of its stream) under a name that reads as the
    same. Names that differ only in case or width, or only where the unlisted one holds
    letters outside ASCII (or that are near and hold one), are refused."""
    for name in sorted(unlisted):
        for service in listed:
            if reads_as(name, service):
                raise UsageError(
                    f"unlisted_services names {name!r}, which reads as fleet.yaml's service "
                    f"{service!r} but is not it"
                    + ("" if name.isascii() else " (it holds letters outside ASCII)"),
                    hint="list the service under its own name in one place: fleet.yaml, or "
                    "unlisted_services",
                )


def _check_listed_spellings(field: str, names: list[str]) -> None:
    """fleet.yaml lists no two names of one kind that read as one (``web`` beside ``web``
    with a Cyrillic e): records under the second would be another service's, or another
    environment's, and the first's history would lose them."""
    for index, name in enumerate(names):
        other = next((o for o in names[index + 1 :] if reads_as(name, o)), None)
        if other is not None:
            raise UsageError(
                f"fleet.yaml lists the {field}s {name!r} and {other!r}, which read as one",
                hint=f"list each {field} once, under one spelling",
            )


def fold_name(name: str) -> str:
    """The form two spellings of one name share as a reader sees them: Unicode NFKC (width),
    case folded, without the characters that show nothing (format characters such as a
    zero-width space or a soft hyphen, the combining grapheme joiner) and without a final
    dot."""
    text = unicodedata.normalize("NFKC", name).casefold()
    shown = "".join(c for c in text if not _invisible(c))
    return shown.rstrip(".")


def _invisible(char: str) -> bool:
    """Whether a character shows nothing: a format character (Cf), or one of Unicode's other
    default ignorable code points (variation selectors, Hangul fillers, the combining
    grapheme joiner, tag characters)."""
    code = ord(char)
    return unicodedata.category(char) == "Cf" or any(
        low <= code <= high for low, high in _IGNORABLE
    )


_IGNORABLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
"""Default_Ignorable_Code_Point (DerivedCoreProperties.txt) beyond the format characters."""


def reads_as(name: str, other: str) -> bool:
    """Whether two different names read as one: the same folded (``fold_name``), or the one
    with letters outside ASCII a look-alike of the other (``_looks_like``)."""
    if name == other:
        return False
    folded, other_folded = fold_name(name), fold_name(other)
    return (
        folded == other_folded
        or _looks_like(folded, other_folded)
        or _looks_like(other_folded, folded)
    )


def _looks_like(name: str, service: str) -> bool:
    """Whether ``name``, holding a letter outside ASCII, could be ``service`` written with
    look-alike letters: the same length and the same letters wherever its own are ASCII, or
    a near spelling."""
    if name.isascii():
        return False
    if len(name) == len(service):
        return all(a == b or not a.isascii() for a, b in zip(name, service, strict=True))
    return difflib.SequenceMatcher(None, name, service).ratio() >= NEAR


def check_references(evidence: Evidence, unlisted_services: Collection[str]) -> Vocabulary:
    """Every deployment, observation and flag event joins the inventory and the deployments;
    the first one that does not is an input error."""
    names = vocabulary(evidence, unlisted_services)
    join = _Join(evidence, names)
    # The deployments, then the records a gate read only for what they shipped when: a gate's
    # own service misspelt there (Web, or with a Cyrillic letter) would be another's.
    records: list[Deployment | Shipment] = [*evidence.deployments, *evidence.elsewhere]
    for index, record in enumerate(records):
        join.deployment(index, record.service, record.environment)
    if not names.declared_environments:
        _check_spellings("environment", [r.environment for r in records], join.record_error)
    if not names.services:
        _check_spellings("service", [r.service for r in records], join.record_error)
    check_deployment_targets(evidence, names)
    deployed: dict[str, list[str]] = {}
    for service, environment in sorted(evidence.streams):
        deployed.setdefault(service, []).append(environment)
    for index, event in enumerate(evidence.flag_events):
        what = f"flag event {event.flag}@{event.at}"
        join.service("flag_events", index, what, event.service)
        join.environment("flag_events", index, what, event.environment)
        join.stream(
            index, what, (event.service, deployed.get(event.service, [])), event.environment
        )
    for index, observation in enumerate(evidence.observations):
        what = f"observation of {observation.host}"
        join.service("observations", index, what, observation.service)
        listed = names.hosts.get(observation.service)
        if listed is not None:
            join.require(
                ("observations", index, what, "host"),
                observation.host,
                listed,
                f"is not a host of {observation.service} in fleet.yaml",
                "observations are judged against the inventory: fix the host name, or "
                "add the host to fleet.yaml",
            )
    return names


def check_deployment_targets(evidence: Evidence, names: Vocabulary) -> None:
    """A deployment's target is not an inventoried host in another spelling (``PAY-1``,
    ``pay-1.``, ``pay-1.prod.example.com`` or fullwidth for ``pay-1``: a failure there would
    be no failure of ``pay-1``),
    and a host runs one environment of a service: a deployment labelled ``prod`` beside
    ``production`` to the same hosts starts a stream of its own and ships only its own
    commit, hiding the commits between. A list of targets many deployments share is looked
    at once."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    looked: set[tuple[int, str, str]] = set()
    for index, deployment in enumerate(evidence.deployments):
        service, environment = deployment.service, deployment.environment
        if (id(deployment.targets), service, environment) in looked:
            continue
        looked.add((id(deployment.targets), service, environment))
        listed = names.hosts.get(service, frozenset())
        for target in deployment.targets:
            folded = host_key(target.host)
            near = [] if target.host in listed else _spelt_like(target.host, listed)
            if near:
                raise evidence.error(
                    "deploys", index,
                    f"deployment {deployment.id}: target {target.host!r} is not a host of "
                    f"{service} in fleet.yaml (did you mean {near[0]!r}?)",
                    hint="host names are exact: write the host as fleet.yaml lists it",
                )  # fmt: skip
            other = seen.setdefault((service, folded), (environment, deployment.id))
            if other[0] != environment:
                raise evidence.error(
                    "deploys", index,
                    f"deployment {deployment.id} of {service} to {environment!r} targets "
                    f"{target.host!r}, which deployment {other[1]} of {service} reaches in "
                    f"{other[0]!r}: a host runs one environment of a service",
                    hint="if both are one environment, write one name; a service that runs in "
                    "two environments has a service per environment (fleet-rules.md)",
                )  # fmt: skip


def _spelt_like(host: str, listed: Collection[str]) -> list[str]:
    """The inventoried hosts ``host`` is another spelling of: the same name as DNS reads it,
    or one the first label of the other (``pay-1`` and ``pay-1.prod.example.com``)."""
    folded = host_key(host)
    return [
        h
        for h in sorted(listed)
        if folded in (key := host_key(h), key.split(".", 1)[0]) or key == folded.split(".", 1)[0]
    ]


Where = tuple[str, int, str, str]
"""A record's kind, index and name, and the field a value is in."""


@dataclass(frozen=True)
class _Join:
    """The checks of one evidence directory against its vocabulary."""

    evidence: Evidence
    names: Vocabulary

    def require(
        self, where: Where, value: str, known: Collection[str], problem: str, hint: str
    ) -> None:
        """``value`` is one of ``known``; else an input error at the record, with the
        nearest known name (or a few of them)."""
        if value in known:
            return
        kind, index, what, field = where
        choices = sorted(known)
        near = did_you_mean(value, choices)
        listing = f"; known: {', '.join(choices[:12])}{', ...' if len(choices) > 12 else ''}"
        raise self._error(
            kind,
            index,
            f"{what}: {field} {value!r} {problem}{near or (listing if choices else '')}",
            hint,
        )

    def _error(self, kind: str, index: int, message: str, hint: str) -> InputError:
        """An input error at record ``index`` of ``kind``; of the deployment records, past the
        deployments, at the records a gate passed over (``Evidence.elsewhere``)."""
        count = len(self.evidence.deployments)
        if kind == "deploys" and index >= count:
            shipment = self.evidence.elsewhere[index - count]
            return InputError(
                message, path=str(shipment.path), line=shipment.line or None, hint=hint
            )
        return self.evidence.error(kind, index, message, hint=hint)

    def _deployment(self, index: int) -> str:
        """How messages name deployment record ``index`` (the deployments, then the records
        a gate passed over)."""
        count = len(self.evidence.deployments)
        if index < count:
            return f"deployment {self.evidence.deployments[index].id}"
        return f"deployment {shown(self.evidence.elsewhere[index - count].id)} of another service"

    def record_error(self, index: int, message: str, hint: str) -> InputError:
        """An input error about deployment record ``index``, named (``RecordError``)."""
        return self._error("deploys", index, f"{self._deployment(index)}: {message}", hint)

    def deployment(self, index: int, service: str, environment: str) -> None:
        """A deployment record's service is inventoried (or declared unlisted), and its
        environment declared, where the evidence declares them."""
        names = self.names  # ten thousand records a month: named only where one fails
        if names.services and service not in names.services:
            declared = "fleet.yaml" if self.evidence.fleet is not None else "unlisted_services"
            where = ("deploys", index, self._deployment(index), "service")
            self.require(where, service, names.services, f"is not in {declared}", _INVENTORY_HINT)
        if names.declared_environments and environment not in names.environments:
            self.environment("deploys", index, self._deployment(index), environment)

    def service(self, kind: str, index: int, what: str, service: str) -> None:
        """A record's service is one the inventory or a deployment names."""
        known = self.names.services | {name for name, _ in self.evidence.streams}
        problem = "is not in the inventory and no deployment names it"
        self.require((kind, index, what, "service"), service, known, problem, _INVENTORY_HINT)

    def environment(self, kind: str, index: int, what: str, environment: str) -> None:
        """A record's environment is declared, or (without a declaration) one a deployment
        names."""
        problem = (
            "is not in fleet.yaml's environments"
            if self.names.declared_environments
            else "is not an environment any deployment names"
        )
        where = (kind, index, what, "environment")
        self.require(where, environment, self.names.environments, problem, _ENVIRONMENTS_HINT)

    def stream(
        self, index: int, what: str, deployed: tuple[str, list[str]], environment: str
    ) -> None:
        """A flag event of a service that deployments name is in an environment one of them
        names: FLEET-003 asks whether the latest deployment of the event's service and
        environment missed a host, and an event of ``smars`` labelled ``staging`` (a name
        another service's deployments use), where ``smars`` is deployed to ``production``
        alone, would find none and pass on observations alone. ``deployed``: the service, and
        the environments its deployments name, sorted."""
        service, environments = deployed
        if not environments or environment in environments:
            return
        raise self._error(
            "flag_events",
            index,
            f"{what}: environment {environment!r}: no deployment of {service} names it "
            f"({service} is deployed to {', '.join(environments)})",
            f"write the environment the flag was switched in, as {service}'s deployments name it",
        )


RecordError = Callable[[int, str, str], InputError]
"""An input error about a deployment record, by its place among the deployments and then the
records a gate passed over: its message and hint (``_Join.record_error``)."""


def _check_spellings(field: str, values: list[str], error: RecordError) -> None:
    """Without a declared vocabulary, two names that read as one (``reads_as``: case, width,
    invisible characters, look-alike letters) are one name misspelt, and so is a name used
    once beside a near spelling: either would start a deployment stream of its own, whose
    first deployment ships only its own commit."""
    counts = Counter(values)
    first = {value: values.index(value) for value in counts}
    for value, other in itertools.permutations(sorted(counts), 2):
        same = reads_as(value, other)
        near = difflib.SequenceMatcher(None, value, other).ratio() >= NEAR
        # Report the rarer of the two (the later one on a tie), where the typo most likely is.
        rarer = (counts[value], -first[value]) < (counts[other], -first[other])
        if not rarer or not (same or (near and counts[value] == 1)):
            continue
        declare = (
            "list every environment under environments: in fleet.yaml"
            if field == "environment"
            else "list every service in fleet.yaml (or under unlisted_services in knightwatch.yaml)"
        )
        used = "once" if counts[value] == 1 else f"by {counts[value]} deployments"
        raise error(
            first[value],
            f"{field} {value!r} is used {used}, and {other!r} by {_times(counts[other])}: "
            + (
                "the same name in another case or with look-alike letters?"
                if same
                else "a misspelling?"
            ),
            "fix it" + ("" if same else f"; if both are real, {declare}"),
        )


def _times(count: int) -> str:
    return "1 deployment" if count == 1 else f"{count} deployments"


def check_gate_target(
    names: Vocabulary, evidence: Evidence, service: str, environment: str
) -> None:
    """A gate's service and environment must be ones the inventory or a deployment knows:
    a gate that judges a service that does not exist passes by judging nothing."""
    services = names.services | {s for s, _ in evidence.streams}
    if service not in services:
        raise UsageError(
            f"--service {service!r} is not a service the inventory or any deployment knows"
            + (did_you_mean(service, services) or f" (known: {', '.join(sorted(services))})"),
            hint=_INVENTORY_HINT,
        )
    environments = names.environments
    if environment not in environments:
        raise UsageError(
            f"--environment {environment!r} is not an environment "
            + ("fleet.yaml declares" if names.declared_environments else "any deployment names")
            + (
                did_you_mean(environment, environments)
                or f" (known: {', '.join(sorted(environments)) or 'none'})"
            ),
            hint="for a service's first deployment to a new environment, add it to "
            "environments: in fleet.yaml",
        )


def check_flag_names(evidence: Evidence, known: Collection[str]) -> None:
    """A flag event whose flag is in no version of the registry, but is a near spelling of
    one that is, is a misspelling: an error. A flag the registry has never heard of at all is
    a flag nobody registered, which DEAD-005 looks for in the code; not an input error."""
    for index, event in enumerate(evidence.flag_events):
        if event.flag in known:
            continue
        near = [
            name
            for name in known
            if name.casefold() == event.flag.casefold()
            or difflib.SequenceMatcher(None, name, event.flag).ratio() >= NEAR
        ]
        if near:
            raise evidence.error(
                "flag_events",
                index,
                f"flag event {event.flag}@{event.at}: flag {event.flag!r} is in no version of the "
                f"flag registry (did you mean {sorted(near)[0]!r}?)",
                hint="fix the flag's name, or add the flag to the registry",
            )


def check_scoped_services(
    evidence: Evidence, names: Vocabulary, scoped: Collection[str], source: str
) -> None:
    """Every service ``service_paths`` scopes is one the inventory or a deployment names: a
    misspelt name would scope nothing, and the service it meant would go on unscoped while
    the report shows the setting as applied."""
    known = names.services | {service for service, _ in evidence.streams}
    for service in sorted(scoped):
        if service not in known:
            near = did_you_mean(service, known)
            raise UsageError(
                f"service_paths (from {source}): service {service!r} is not in the inventory "
                f"and no deployment names it{near}",
                hint="name a service of fleet.yaml or of the deployments",
            )
