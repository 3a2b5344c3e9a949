"""The input document the policies read, as a typed contract: every field, once, with its meaning.

Python establishes these facts and Rego only decides. The document is assembled once from the
parts each facts module returns (``facts/__init__.py``), never changed afterwards: every item
is read-only to the type checker. ``knightwatch schema input`` and
``evidence/schemas/input.schema.json`` are generated from these types, and docs/input.md is
generated from that schema; a test fails when a policy reads a field that is not here, or when
a document the facts produce does not match it.

The areas: deployments (what was deployed, by whom, approved by whom, where it landed),
commits (what each deployment shipped, and who reviewed it), hosts (the inventory and what
each host was observed running), flags (flag events and the registry's history), registries
(the flag registry at each deployed commit, and what the code there still references), and
waivers (for the rules at ``stage: waivers``).
"""

from __future__ import annotations

from typing import Any, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import ReadOnly, TypedDict

_STRICT = ConfigDict(extra="forbid", use_attribute_docstrings=True)
"""Generated schemas allow no field beyond those declared, and take each one's docstring."""

Sha = str
"""A full commit sha, 40 (or 64) lowercase hex digits."""
Nanoseconds = int
"""A time as integer nanoseconds since the epoch (UTC): compared, never printed."""

# --- deployments ---------------------------------------------------------------------------


@with_config(_STRICT)
class Approval(TypedDict):
    """A sign-off on a deployment, with the identity it names."""

    by: ReadOnly[str]
    """As written in the evidence (invisible characters escaped)."""
    identity: ReadOnly[str | None]
    """A person's key or a normalised address; null when the value names nobody."""
    unresolved: ReadOnly[str]
    """Why ``identity`` is null; empty when it is not."""
    at_ns: ReadOnly[Nanoseconds]
    """When it was given."""
    before_commit: ReadOnly[bool]
    """Given more than a day (the clock skew allowed) before the deployed commit was written
    (the latest author or committer date of it and of the commits it ships): it cannot have
    approved deploying that commit."""


@with_config(_STRICT)
class Observation(TypedDict):
    """A host (or cluster) seen running a version."""

    host: ReadOnly[str]
    """The host, or the cluster, as fleet.yaml names it."""
    version: ReadOnly[str]
    """As recorded."""
    commit: ReadOnly[Sha]
    """The commit ``version`` resolves to: versions compare by commit."""
    short: ReadOnly[str]
    """``commit`` as messages show it."""
    observed_at: ReadOnly[str]
    """As recorded (RFC 3339)."""
    observed_at_ns: ReadOnly[Nanoseconds]
    """``observed_at``, to compare."""
    pods: ReadOnly[int | None]
    """For a cluster: running pods of the workload running this version at the listing."""
    count: ReadOnly[int]
    """What FLEET-002 counts this observation as: its pods for a cluster, else 1."""


@with_config(_STRICT)
class Reference(TypedDict):
    """The files of a deployed commit that name a flag, under any of its usual spellings, as a
    whole word."""

    files: ReadOnly[list[str]]
    """At most ten, sorted."""
    count: ReadOnly[int]
    """All of them."""
    shown: NotRequired[ReadOnly[list[str]]]
    """``files`` as a message names them, where one holds the flag under another spelling
    than the name it is searched for (``flagnames.spellings``): ``app.py (as POWER_PEG)``."""


@with_config(_STRICT)
class RetiredCode(TypedDict):
    """A ``retired_code`` entry of the registry at a deployed commit, or of an earlier version
    of the registry in its history, and what still matches."""

    path: ReadOnly[str]
    """The path or glob, as the registry gives it."""
    reason: ReadOnly[str]
    """Why the code was retired, as the registry gives it."""
    files: ReadOnly[list[str]]
    """Files of the deployed commit it matches, at most ten."""
    count: ReadOnly[int]
    """All of them: more than zero means the retired code is still there (DEAD-004)."""
    moved: ReadOnly[list[str]]
    """Of the files, those at a path the entry does not cover that hold the retired code's
    content (a blob of a file it covered when a version of the registry listed it, or a file
    alike to one: half its lines in common, or holding half its lines among more; or one of
    several files each holding five of its lines or more, and half of them together), at most
    ten: the code moved, not retired."""
    listed_in: ReadOnly[Sha | None]
    """Null for an entry of the registry at the deployed commit. For an entry that registry no
    longer lists, the commit that wrote the oldest version listing it among the deployed
    commit's ancestors (for a merge gate's candidate, or the protected branch tip's): retired
    code stays retired (such entries are here only where they still match files)."""
    listed_in_short: ReadOnly[str | None]
    """``listed_in`` as messages show it."""


@with_config(_STRICT)
class Deployment(TypedDict):
    """A deployment judged by this run (a month's, a gate's candidate, or every one)."""

    id: ReadOnly[str]
    """Its id in the evidence (``candidate`` for a gate's)."""
    service: ReadOnly[str]
    """A service of fleet.yaml (or of ``unlisted_services``)."""
    environment: ReadOnly[str]
    """With ``service``, the stream of deployments it belongs to."""
    commit: ReadOnly[Sha]
    """The deployed commit, resolved."""
    short_commit: ReadOnly[str]
    """``commit`` as messages show it."""
    started_at: ReadOnly[str]
    """As recorded (RFC 3339)."""
    started_at_ns: ReadOnly[Nanoseconds]
    """``started_at``, to compare."""
    finished_at: ReadOnly[str | None]
    """As recorded; null when the record has none (nothing after it is then judged)."""
    finished_at_ns: ReadOnly[Nanoseconds | None]
    """``finished_at``, to compare."""
    deployer: ReadOnly[str]
    """As recorded (invisible characters escaped)."""
    deployer_identity: ReadOnly[str | None]
    """Null when the deployer names nobody; ``deployer_unresolved`` says why."""
    deployer_unresolved: ReadOnly[str]
    """Why ``deployer_identity`` is null; empty when it is not."""
    approvals: ReadOnly[list[Approval]]
    """In the order recorded."""
    change_ticket: NotRequired[ReadOnly[str]]
    """As recorded; absent when the record names none, or only white space or invisible
    characters (so ``not d.change_ticket`` holds for a deployment without one)."""
    succeeded_everywhere: ReadOnly[bool]
    """Every host (or cluster) fleet.yaml lists for its service, and every target the
    deployment names, has the status ``succeeded``: the targets that did not matter are then
    summarised away (``target_status`` keeps only the targets fleet.yaml does not list, all
    succeeded, and ``succeeded_hosts`` is empty), so that the input grows with the hosts that
    need judging, not with every target of every deployment."""
    target_status: ReadOnly[dict[str, str]]
    """Each target's status, with the deploy tool's reason in parentheses where it gave one;
    where ``succeeded_everywhere``, only the targets fleet.yaml does not list."""
    succeeded_hosts: ReadOnly[list[str]]
    """The targets whose status is ``succeeded``, sorted; empty where
    ``succeeded_everywhere``."""
    dropped_targets: ReadOnly[dict[str, str]]
    """The targets of the deployment before it in its stream that it does not name and
    fleet.yaml does not list for its service, each with the status FLEET-001 reports: hosts
    that ran the service, which it did not reach. Never ``succeeded_everywhere`` with any."""
    on_protected_branch: ReadOnly[bool]
    """``commit`` is reachable from the protected branch."""
    shipped_range: ReadOnly[str]
    """The key in ``shipped_ranges`` of the commits it shipped: ``START..COMMIT`` (what ``git
    rev-list START..COMMIT`` lists), ``COMMIT`` for the first of its stream without a
    baseline, ``... in SERVICE`` where the service's paths narrow it, ``none`` where it
    shipped nothing that could be read. Deployments of different services that ship the
    same range share it."""
    window_observations: ReadOnly[dict[str, list[Observation]]]
    """By host, oldest first: the observations of its service from the instant it finished up
    to (not including) the start of the next deployment of its stream."""
    window_starts: ReadOnly[dict[str, Nanoseconds]]
    """By host of ``window_observations``: when its window starts, the host's own finish
    where the deployment gives one (a cluster's sync), else the first finish."""
    window_judged: NotRequired[ReadOnly[dict[str, str]]]
    """By host of ``window_observations`` judged on part of what was observed of it (a target
    of a deployment without ``finished_at`` that it reached at no time the evidence shows):
    which part, as FLEET-002's message says it. Absent where there is none."""
    registry: ReadOnly[str]
    """The key in ``registries`` of the flag registry at its commit (``none`` without one).
    At a merge gate, where the protected branch retired flags or code after the candidate
    branched off, the candidate's is its registry with those retirements, keyed
    ``BLOB+TIP`` (the blob, and the branch tip's commit)."""
    reference_set: ReadOnly[str]
    """The key in ``reference_sets`` of what its code references: for each flag name searched
    at its commit (the registry's retired flags, and the names it does not list), the files
    naming it, but for the registry and ``reference_exclude``."""
    retired_code: ReadOnly[list[RetiredCode]]
    """Each ``retired_code`` entry of its registry, with what still matches it; then each entry
    an earlier version of the registry in its history listed and its registry does not, where
    it still matches files."""
    earlier_remove_by: NotRequired[ReadOnly[dict[str, Deadline]]]
    """By active flag of its registry, the earliest ``remove_by`` a version of the registry in
    its commit's history recorded for it, where that is earlier than its registry's own (or
    its registry gives none): a deadline moved later, or dropped, still applies (DEAD-003).
    Absent where there is none."""


@with_config(_STRICT)
class Deadline(TypedDict):
    """The earliest ``remove_by`` recorded for a flag, and where the registry moved it."""

    remove_by: ReadOnly[str]
    """A date, ``YYYY-MM-DD``."""
    remove_by_end_ns: ReadOnly[Nanoseconds]
    """When the ``remove_by`` day (UTC) is over."""
    short: ReadOnly[str]
    """The commit of the first version that recorded it, as messages show it."""
    now: ReadOnly[str | None]
    """The ``remove_by`` of the deployed commit's registry: a later date, or null (dropped)."""
    moved_at: ReadOnly[Sha | None]
    """The first version after it, in its history, that gave another date or none; null
    where none was found (the date came from a line of history merged in)."""
    moved_short: ReadOnly[str | None]
    """``moved_at`` as messages show it."""
    renamed_from: NotRequired[ReadOnly[str]]
    """Where the date was the flag's under another name, that name: ``moved_at`` is then the
    commit that renamed the flag (a version that dropped or retired the old name and added
    this one, or a later commit that changed the code's reads of the old name into reads of
    this one)."""


@with_config(_STRICT)
class CarriedWindow(TypedDict):
    """A deployment of an earlier month whose observation window reaches into an audit's month:
    FLEET-002 judges the month's observations in it as it judges the month's own deployments'
    (a host that drifts back in the month after its deployment is judged by that month)."""

    id: ReadOnly[str]
    """As in ``Deployment``."""
    service: ReadOnly[str]
    """As in ``Deployment``."""
    environment: ReadOnly[str]
    """As in ``Deployment``."""
    commit: ReadOnly[Sha]
    """As in ``Deployment``."""
    short_commit: ReadOnly[str]
    """As in ``Deployment``."""
    started_at: ReadOnly[str]
    """As in ``Deployment``."""
    started_at_ns: ReadOnly[Nanoseconds]
    """As in ``Deployment``."""
    finished_at_ns: ReadOnly[Nanoseconds]
    """As in ``Deployment``; for a deployment without one, the first of its targets' own
    finishes (only they have a window)."""
    window_observations: ReadOnly[dict[str, list[Observation]]]
    """As in ``Deployment``, but only the observations made in the audit's month."""
    window_starts: ReadOnly[dict[str, Nanoseconds]]
    """As in ``Deployment``."""
    window_judged: NotRequired[ReadOnly[dict[str, str]]]
    """As in ``Deployment``."""


# --- commits ---------------------------------------------------------------------------------


@with_config(_STRICT)
class Review(TypedDict):
    """A review of a commit: a review line of its message, or an approval of a review record."""

    line: ReadOnly[str]
    """As found, e.g. ``Reviewed-by: Lee <lee@example.com>``."""
    identity: ReadOnly[str | None]
    """The identity it names; null when it names nobody."""
    unresolved: ReadOnly[str]
    """Why ``identity`` is null; empty when it is not."""
    excluded: ReadOnly[str]
    """Why Python left it out of ``reviewer_identities`` (an approval by the change's own
    author, by an author, co-author or committer of any of the change's commits, or of a change
    whose author names nobody, or one of whose commits names a co-author or has a committer who
    is not an identity; a review by a co-author or the committer of the commit, or of a commit
    that names a co-author or has a committer who is not an identity); empty when it did
    not."""


@with_config(_STRICT)
class Commit(TypedDict):
    """A commit some judged deployment shipped."""

    short: ReadOnly[str]
    """The sha as messages show it."""
    author: ReadOnly[str]
    """The author's address (invisible characters escaped)."""
    author_identity: ReadOnly[str | None]
    """Through identities.yaml and the repository's .mailmap; null when it names nobody."""
    author_unresolved: ReadOnly[str]
    """Why ``author_identity`` is null; empty when it is not."""
    reviewer_identities: ReadOnly[list[str]]
    """The identities of its reviews that were not excluded, sorted."""
    reviews: ReadOnly[list[Review]]
    """Every review found, counted or not, sorted by line."""
    shipped_in: ReadOnly[list[str]]
    """The keys of the ``shipped_ranges`` that hold it, sorted: the judged deployments that
    shipped it are those ``range_deployments`` gives for them (thousands of commits shipped
    by the same twenty deployments name one range, not twenty deployments each)."""


# --- flags -----------------------------------------------------------------------------------


@with_config(_STRICT)
class DeploymentSummary(TypedDict):
    """What a flag event needs of a deployment; it may lie outside the judged span."""

    id: ReadOnly[str]
    """As in ``Deployment``."""
    service: ReadOnly[str]
    """As in ``Deployment``."""
    environment: ReadOnly[str]
    """As in ``Deployment``."""
    short_commit: ReadOnly[str]
    """As in ``Deployment``."""
    succeeded_everywhere: ReadOnly[bool]
    """Always false here: a flag event's deployment lists every target."""
    succeeded_hosts: ReadOnly[list[str]]
    """As in ``Deployment``: every target whose status is ``succeeded``, sorted."""
    target_status: ReadOnly[dict[str, str]]
    """As in ``Deployment``: every target's status."""
    dropped_targets: ReadOnly[dict[str, str]]
    """As in ``Deployment``."""


@with_config(_STRICT)
class FlagEvent(TypedDict):
    """A runtime flag change in the judged span, in context."""

    flag: ReadOnly[str]
    """The flag's name."""
    service: ReadOnly[str]
    """Where it was switched."""
    environment: ReadOnly[str]
    """Where it was switched."""
    enabled: ReadOnly[bool]
    """Switched on (true) or off."""
    at: ReadOnly[str]
    """As recorded: the subject of FLEET-003 names it so."""
    at_ns: ReadOnly[Nanoseconds]
    """``at``, to compare."""
    by: ReadOnly[str]
    """Who switched it, as recorded."""
    last_deployment: ReadOnly[DeploymentSummary | None]
    """The latest deployment of its stream that started at or before it (one that started in
    its own instant was rolling out when it was switched) and succeeded anywhere."""
    observed_by_version: ReadOnly[dict[Sha, list[str]]]
    """The hosts of its service, by the commit each was last observed running at or before it."""
    short_commits: ReadOnly[dict[Sha, str]]
    """Each commit of ``observed_by_version`` as messages show it."""
    short_listings: ReadOnly[list[str]]
    """``CLUSTER@AT (N of M running pods)`` for each latest listing before it that counted fewer
    running pods than fleet.yaml's ``replicas``."""
    retired_in: ReadOnly[list[str]]
    """The code running where it was switched whose registry marks the flag retired (or no
    longer lists it, where an earlier version retired it), as messages show it: ``SHORT
    (deployment ID)`` for the commit of a deployment running there (the latest that started
    before it, and each that started in its own instant), ``SHORT (observed on HOSTS)`` for
    a commit of ``observed_by_version``. Empty for a flag switched off."""
    unreadable_in: ReadOnly[list[str]]
    """The code running where it was switched whose registry cannot be read, so that whether
    it retired the flag is not known: ``SHORT (deployment ID): PATH: ERROR`` or ``SHORT
    (observed on HOSTS): PATH: ERROR``. Empty for a flag switched off."""


@with_config(_STRICT)
class Purpose(TypedDict):
    """A flag's purpose, and the commit of the registry that first gave it."""

    purpose: ReadOnly[str]
    """As the registry gives it."""
    commit: ReadOnly[Sha]
    """The first registry commit (oldest first) that gave it."""
    short: ReadOnly[str]
    """``commit`` as messages show it."""


@with_config(_STRICT)
class Spelling(TypedDict):
    """A flag's name as the registry wrote it, and the commit of the registry that first did."""

    name: ReadOnly[str]
    """As the registry gives it."""
    shown: ReadOnly[str]
    """As messages show it: each invisible character (a zero-width space, a joiner, a
    combining mark) written as its code point, ``power\\u200b_peg``."""
    commit: ReadOnly[Sha]
    """The first registry commit (oldest first) that wrote it so."""
    short: ReadOnly[str]
    """``commit`` as messages show it."""


@with_config(_STRICT)
class Revival(TypedDict):
    """A retired flag active again: the first such pair of registry commits."""

    retired: ReadOnly[Sha]
    """A registry commit where the flag is retired."""
    retired_short: ReadOnly[str]
    """``retired`` as messages show it."""
    active: ReadOnly[Sha]
    """A later registry commit, descending from ``retired``, where it is active again; or,
    with ``onto``, a merge gate's candidate."""
    active_short: ReadOnly[str]
    """``active`` as messages show it."""
    purpose: ReadOnly[str]
    """The flag's purpose in ``active``'s entry: what it is active again for, which a
    DEAD-002 waiver names (``Waiver.purpose``)."""
    onto: NotRequired[ReadOnly[bool]]
    """Present only at a merge gate, where ``retired`` is in the protected branch's history
    alone and the candidate, branched off before it, writes the flag's entry active (added,
    or changed since the merge base): the merge would bring the retirement to it."""


@with_config(_STRICT)
class FlagHistory(TypedDict):
    """A flag over every version of the registry in the history read."""

    purposes: ReadOnly[list[Purpose]]
    """In order of first appearance."""
    revived: NotRequired[ReadOnly[Revival]]
    """Present only when the flag came back from retirement."""
    revived_again: NotRequired[ReadOnly[list[Revival]]]
    """Present only when it came back from retirement more than once: each later return, in
    history order, after a retirement later than the one before it."""
    changes: NotRequired[ReadOnly[list[Purpose]]]
    """Present only where its purpose changed more often than ``purposes`` shows, back to one
    it had before (``Power Peg``, then ``RLP``, then ``Power Peg`` again): each version, in
    history order, whose purpose differs from the one the version before it gave. Otherwise
    it is ``purposes`` after the first."""
    spellings: NotRequired[ReadOnly[list[Spelling]]]
    """Present only when the registry wrote its name in more than one way (``POWER_PEG``,
    ``power-peg`` for ``power_peg``: one flag, compared by its letters and digits, case
    folded), in order of first appearance; the flag is keyed by the first."""


# --- registries ------------------------------------------------------------------------------


@with_config(_STRICT)
class Flag(TypedDict):
    """A flag as one version of the registry lists it."""

    status: ReadOnly[str]
    """``active`` or ``retired``."""
    purpose: ReadOnly[str]
    """What it switches, as this version says."""
    owner: ReadOnly[str]
    """Who answers for it."""
    remove_by: ReadOnly[str | None]
    """A date, ``YYYY-MM-DD``."""
    remove_by_end_ns: ReadOnly[Nanoseconds | None]
    """When the ``remove_by`` day (UTC) is over."""


@with_config(_STRICT)
class Registry(TypedDict):
    """One version of the flag registry that some deployed commit has."""

    path: ReadOnly[str | None]
    """Where it is in the repository; null for the commits without one (key ``none``)."""
    readable: ReadOnly[bool]
    """False when this version does not parse (its error is in ``registry_errors``)."""
    flags: ReadOnly[dict[str, Flag]]
    """By name."""
    retired: ReadOnly[list[str]]
    """Its retired flags, an index."""
    dated: ReadOnly[list[str]]
    """Its flags with a ``remove_by`` date, an index."""


@with_config(_STRICT)
class RegistryError(TypedDict):
    """A version of the registry that cannot be read (DEAD-006)."""

    commit: ReadOnly[Sha]
    """A commit whose registry cannot be read."""
    short: ReadOnly[str]
    """``commit`` as messages show it."""
    path: ReadOnly[str]
    """Where the registry is (or should be) in that commit."""
    error: ReadOnly[str]
    """Why it cannot be read."""


# --- waivers ---------------------------------------------------------------------------------


@with_config(_STRICT)
class WaiverFacts(TypedDict):
    """A waiver, and what it did in this run."""

    rule: ReadOnly[str]
    """The rule it waives."""
    subject: ReadOnly[str]
    """A glob over that rule's subjects (or, with ``cause``, one of its causes, exactly)."""
    cause: ReadOnly[bool]
    """Whether it waives by cause (every instance of a group) rather than by subject."""
    reason: ReadOnly[str]
    """As written in waivers.yaml."""
    approved_by: ReadOnly[str]
    """As written in waivers.yaml."""
    expires: ReadOnly[str]
    """A date, ``YYYY-MM-DD``."""
    expired: ReadOnly[bool]
    """``expires`` is before the as-of date."""
    matches: ReadOnly[int]
    """The findings it matched."""
    refused: ReadOnly[str]
    """Why it waives nothing in this run (an audit without the auditor's approvers); or empty."""


# --- the document ----------------------------------------------------------------------------


@with_config(_STRICT)
class InputDocument(TypedDict):
    """The input document: ``input`` in every shipped and added policy."""

    deployments: ReadOnly[list[Deployment]]
    """Sorted by id."""
    commits: ReadOnly[dict[Sha, Commit]]
    """Every commit some judged deployment shipped."""
    shipped_ranges: ReadOnly[dict[str, list[Sha]]]
    """The commits each judged deployment shipped, once per distinct range (a deployment's
    ``shipped_range`` is the key): reachable from its commit and not from the commit of the
    previous deployment of its stream that succeeded anywhere (else the baseline)."""
    fleet: NotRequired[ReadOnly[dict[str, list[str]]]]
    """Each service's hosts (and clusters); present only when fleet.yaml is."""
    clusters: NotRequired[ReadOnly[dict[str, list[str]]]]
    """The services that run on clusters, and their clusters; present only with fleet.yaml."""
    flag_events: ReadOnly[list[FlagEvent]]
    """In order of time."""
    range_deployments: ReadOnly[dict[str, list[str]]]
    """The ids of the judged deployments that shipped each range of ``shipped_ranges``,
    sorted."""
    reference_sets: ReadOnly[dict[str, dict[str, Reference]]]
    """Each distinct ``reference_set`` of the judged deployments, once (``refs-N``, numbered in
    order of first use): thousands of deployed commits name the same files for the same
    flags."""
    registries: ReadOnly[dict[str, Registry]]
    """Each distinct registry version some judged deployed commit has, once, by blob sha
    (``none`` for commits without a registry)."""
    flag_history: ReadOnly[dict[str, FlagHistory]]
    """Every flag ever in the registry, in the history of the deployed commits and the
    protected branch."""
    retired_in_history: ReadOnly[list[str]]
    """Every flag some version of the registry marked retired."""
    registry_errors: ReadOnly[list[RegistryError]]
    """Every version of the registry that cannot be read, sorted by commit."""
    carried_windows: NotRequired[ReadOnly[list[CarriedWindow]]]
    """In a monthly audit only: each deployment of an earlier month whose observation window
    holds observations made in the month, with those alone, sorted by id. FLEET-002 judges
    them beside ``deployments``; no other rule does."""
    waivers: NotRequired[ReadOnly[list[WaiverFacts]]]
    """After waivers were applied: what the rules at ``stage: waivers`` judge (they see an
    input of this alone); export-input writes it beside the rest."""


def as_plain(document: InputDocument) -> dict[str, Any]:
    """The document as the plain mapping an engine takes (it is one already, at run time)."""
    return dict(document)
