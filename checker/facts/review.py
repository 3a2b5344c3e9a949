"""Review facts: what each deployment shipped, who reviewed each shipped commit, and who
deployed and approved each deployment, as identities."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from checker.cache import NO_CACHE, FactCache
from checker.errors import InputError
from checker.evidence.bundle import Evidence, Shipment
from checker.evidence.git import Commit as GitCommit
from checker.evidence.git import GitHistory
from checker.evidence.git_content import BatchReader, commit_review_lines
from checker.evidence.identities import Identity, IdentityResolver, normalise, visible
from checker.evidence.models import Deployment, timestamp_ns
from checker.evidence.models import Review as ReviewRecord
from checker.evidence.trailers import COAUTHOR
from checker.facts.document import Approval, Commit, Review
from checker.facts.landing import landed
from checker.facts.streams import Streams, succeeded_anywhere
from checker.vocabulary import short

Shipped = Deployment | Shipment
"""A deployment that shipped a commit: a record the run judges, or (at a gate) another
stream's, of which only its id, commit and start are read."""

Late = tuple[int, Shipped | str]
"""From when an approval of a commit comes too late (nanoseconds), and why: the first
deployment that shipped the commit, or, for what a gate's candidate ships, what the gate's
moment is (``Gate.moment``)."""


def shipped_ranges(
    history: GitHistory, streams: Streams, deployed: dict[str, str], baseline: str | None
) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """The commits each deployment shipped, exactly as the contract defines it, and where
    each range starts (the commit it excludes, ``git rev-list COMMIT ^START``): ``None`` for
    a deployment whose range had no start (first of its stream, no baseline), which ships its
    own commit alone, what came before it never judged."""
    shipped: dict[str, list[str]] = {}
    starts: dict[str, str | None] = {}
    ranges: dict[tuple[str, str], list[str]] = {}  # services shipping the same range share it
    for stream in streams.by_key.values():
        previous: str | None = None
        for deployment in stream:
            sha = deployed[deployment.id]
            if previous is None and baseline is not None:
                check_baseline(history, baseline, sha, deployment.id)
            start = previous if previous is not None else baseline
            shipped[deployment.id] = [sha] if start is None else _range(history, ranges, sha, start)
            starts[deployment.id] = start
            if succeeded_anywhere(deployment):
                previous = sha
    return shipped, starts


def _range(
    history: GitHistory, ranges: dict[tuple[str, str], list[str]], tip: str, exclude: str
) -> list[str]:
    """``history.range(tip, exclude)``, walked once per distinct pair; the list is shared."""
    key = (tip, exclude)
    if key not in ranges:
        ranges[key] = history.range(tip, exclude)
    return ranges[key]


def check_baseline(history: GitHistory, baseline: str, sha: str, deployment: str) -> None:
    """The baseline starts a stream's first range, so it must lie in that deployment's
    history: a baseline past it (``main`` when an older commit was deployed) would make the
    deployment ship nothing, and nothing would be judged. So would the deployed commit itself
    (``baseline: main`` while ``main`` is the commit first deployed)."""
    if baseline == sha:
        raise InputError(
            f"baseline {short(baseline)} is the commit of deployment {deployment}, the first of "
            "its service and environment: that deployment would ship nothing, and its commit "
            "would never be judged",
            path=str(history.root),
            hint="set baseline to the last commit audited before knightwatch was adopted (a "
            "release tag, or the deployed commit's parent), or leave it out",
        )
    if not history.is_ancestor(baseline, sha):
        raise InputError(
            f"baseline {short(baseline)} is not an ancestor of {short(sha)}, the commit of "
            f"deployment {deployment}, the first of its service and environment: that "
            "deployment would ship nothing",
            path=str(history.root),
            hint="set baseline to a commit the first deployments descend from (a release "
            "tag audited before knightwatch was adopted), or leave it out",
        )


def commit_facts(
    history: GitHistory,
    evidence: Evidence,
    shipped: dict[str, list[str]],
    resolved: dict[str, str | None],
    settings: tuple[Sequence[str], str] = ((), "any"),
    cache: FactCache = NO_CACHE,
    gate: tuple[str, tuple[int, str]] | None = None,
) -> tuple[dict[str, Commit], IdentityResolver, Writers]:
    """Author, reviews and shipping deployments of every shipped commit; the identities the
    run judges by: identities.yaml with the repository's ``.mailmap`` merged in; and the
    co-authors of each shipped commit (``coauthor_keys``). ``settings``: ``review_bots`` and
    ``review_lines``. ``gate``: a gate's candidate, its id and its moment (``Gate.moment``)."""
    bots = settings[0]
    shipped_by = _shipped_commits(shipped)
    changes = _changes(history, evidence, shipped_by, resolved)
    authored = shipped_by.union(*changes.values())
    lines = commit_review_lines(history, sorted(authored), cache)
    identities = _with_mailmap(history, evidence, authored, lines, bots)
    coauthors, nameless = _coauthors(lines, identities)
    committed = _committers(history, identities, authored)
    unvouched = _unvouched(identities, shipped_by, (committed, coauthors), settings)
    first = _first_shipped(evidence, shipped, gate) if changes else {}
    if changes and gate is not None:
        first = _earlier(first, _recorded_first(history, evidence, shipped_by, resolved, gate[0]))
    reviews = _reviews(
        history, evidence, identities, (shipped_by, unvouched), lines, resolved, changes,
        (coauthors, nameless, committed), first,
    )  # fmt: skip
    commits: dict[str, Commit] = {}
    for sha in sorted(shipped_by):
        commit = history.commits[sha]
        author = identities.identify(commit.author_email)
        found = _judged(reviews.get(sha), sha, coauthors, nameless, committed)
        commits[sha] = Commit(
            short=short(sha),
            author=visible(commit.author_email),
            author_identity=author.identity,
            author_unresolved=author.unresolved,
            reviewer_identities=sorted(
                {r["identity"] for r in found if r["identity"] and not r["excluded"]}
            )
            if found
            else [],
            reviews=found,
            shipped_in=[],  # the judged deployments' ranges: collect's to name
        )
    return commits, identities, coauthor_keys(lines, identities, shipped_by, history)


Writers = dict[str, frozenset[str]]
"""Each commit's co-authors, by sha, as the keys they are known by."""


def _judged(
    reviews: list[Review] | None,
    sha: str,
    coauthors: dict[str, set[str]],
    nameless: dict[str, str],
    committed: Committed,
) -> list[Review]:
    """A commit's review lines, each excluded where one of its writers gave it, in order.
    Most shipped commits have none: nothing is sorted for them."""
    if not reviews:
        return []
    writers = (coauthors.get(sha, set()), nameless.get(sha), committed[0].get(sha))
    return sorted(
        (_by_writer(review, writers, committed[1].get(sha)) for review in reviews),
        key=lambda r: (r["line"], r["identity"] or ""),
    )


def coauthor_keys(
    lines: dict[str, list[tuple[str, str]]],
    identities: IdentityResolver,
    shas: set[str],
    history: GitHistory | None = None,
) -> Writers:
    """The co-authors (``Co-authored-by:``) of each of ``shas`` that has any, and its
    committer where another than its author committed it (a merge's too: whoever merged wrote
    the merge): each address normalised, and the identity it names. A co-author or a committer
    wrote the commit as its author did: their review of it does not count, nor does their
    waiver of its finding."""
    found: Writers = {}
    for sha in sorted(shas):
        values = [value for name, value in lines.get(sha, []) if name == COAUTHOR]
        commit = history.commits.get(sha) if history is not None else None
        if _committed_by_another(commit):
            values.append(commit.committer_email if commit else "")
        keys = {
            key
            for value in values
            for key in (normalise(value), identities.identify(value).identity)
            if key
        }
        if keys:
            found[sha] = frozenset(keys)
    return found


def _first_shipped(
    evidence: Evidence, shipped: dict[str, list[str]], gate: tuple[str, tuple[int, str]] | None
) -> dict[str, Late]:
    """Each shipped commit's first deployment: the one that started first of those whose range
    holds it (a range shared by many deployments is walked once). A gate's candidate (``gate``:
    its id and moment) is not one: it has not happened (it "starts" at midnight of the as-of
    date, and a review given since is given before it); but a review dated at or after the
    gate's moment (the end of the as-of date, or now) had not been given, and is too late for
    what it ships. A recorded deployment is one whatever its id."""
    by_id = {d.id: d for d in evidence.deployments}
    first_of_range: dict[int, Late] = {}
    ranges: dict[int, list[str]] = {}
    for deployment_id, shas in shipped.items():
        started: Late
        if gate is not None and deployment_id == gate[0]:
            started = gate[1]
        else:
            deployment = by_id[deployment_id]
            started = (timestamp_ns(deployment.started_at), deployment)
        known = first_of_range.get(id(shas))
        if known is None or started[0] < known[0]:
            first_of_range[id(shas)] = started
        ranges[id(shas)] = shas
    first: dict[str, Late] = {}
    for key, shas in ranges.items():
        earliest = first_of_range[key]
        for sha in shas:
            if sha not in first or earliest[0] < first[sha][0]:
                first[sha] = earliest
    return first


def _recorded_first(
    history: GitHistory,
    evidence: Evidence,
    shas: set[str],
    resolved: dict[str, str | None],
    candidate: str,
) -> dict[str, Late]:
    """At a gate: each of ``shas`` (what the candidate ships) that a recorded deployment of
    any stream already shipped, with the first that did (the one that started first of those
    whose commit holds it). A gate computes no other stream's range, and judges none of its
    records, but a commit another service runs was in production from then: an approval
    given since is late."""
    recorded: list[Shipped] = [d for d in evidence.deployments if d.id != candidate]
    recorded.extend(evidence.elsewhere)
    recorded.sort(key=lambda d: (timestamp_ns(d.started_at), d.id))
    reached = history.first_reaching([resolved[d.commit] or d.commit for d in recorded], shas)
    return {sha: (timestamp_ns(recorded[i].started_at), recorded[i]) for sha, i in reached.items()}


def _earlier(first: dict[str, Late], recorded: dict[str, Late]) -> dict[str, Late]:
    """``first``, with a recorded deployment of ``recorded`` where it started no later: at a
    gate, an approval is too late for a commit from whichever comes first, a recorded
    deployment that shipped it or the gate's moment (a record of another stream may start
    after the as-of date)."""
    merged = dict(first)
    for sha, late in recorded.items():
        if sha not in merged or late[0] <= merged[sha][0]:
            merged[sha] = late
    return merged


def _shipped_commits(shipped: dict[str, list[str]]) -> set[str]:
    """Every commit some deployment shipped. A range shared by many deployments (the same
    commits deployed to many services) is walked once."""
    ranges = {id(shas): shas for shas in shipped.values()}
    return set().union(*ranges.values())


def approvals(
    identities: IdentityResolver, deployment: Deployment, written: int | None
) -> list[Approval]:
    """The deployment's approvals, each with the identity it names, or why it names none.
    ``written``: when the deployed commit was written (``collect._written``, seconds), if
    known; an approval more than a day (the clock skew allowed) before it approved something
    else (an earlier deployment's sign-off copied forward, or a year typed wrong)."""
    earliest = (written * 1_000_000_000 - APPROVAL_SKEW_NS) if written is not None else None
    out = []
    for approval in deployment.approvals:
        found = identities.identify(approval.by)
        at_ns = timestamp_ns(approval.at)
        out.append(
            Approval(
                by=visible(approval.by),
                identity=found.identity,
                unresolved=found.unresolved,
                at_ns=at_ns,
                before_commit=earliest is not None and at_ns < earliest,
            )
        )
    return out


APPROVAL_SKEW_NS = 86_400 * 1_000_000_000
"""A day: how far an approval may precede its deployed commit's author time, for the clocks
of the machine that wrote the commit and of the tool that recorded the approval (the skew a
deployment's start is allowed before its commit, ``facts.revisions``)."""


def bot_identities(identities: IdentityResolver, bots: Iterable[str]) -> list[str]:
    """The identities of ``review_bots``, and of every GitHub App's no-reply address the run
    met (called once every value naming a person has been identified); a bot that names
    nobody matches nothing anyway."""
    listed: set[str] = set()
    for bot in bots:
        found = identities.identify(bot)
        if found.identity is not None:
            listed.add(found.identity)
        elif not _PLAIN.fullmatch(bot):
            raise InputError(
                f"review_bots (knightwatch.yaml or --config): {visible(bot)!r} names nobody "
                f"({found.unresolved}), nor is it a login: it matches no review, and the bot's "
                "reviews and approvals under its address would count as a second person's",
                hint="list the bot's address as its reviews give it (renovate@example.com), "
                "or a person of identities.yaml that lists it",
            )
    return sorted(listed | identities.github_apps())


_PLAIN = re.compile(r"[!-~]+")
"""A ``review_bots`` entry that names nobody may still be a login the importers match
(``renovate-bot``): printable ASCII, no space. Anything else (``Renovate Bot``, an address
with a space or a look-alike letter) is a mistake that would leave the bot counting."""


def _with_mailmap(
    history: GitHistory,
    evidence: Evidence,
    shipped: set[str],
    lines: dict[str, list[tuple[str, str]]],
    bots: Sequence[str],
) -> IdentityResolver:
    """identities.yaml merged with ``.mailmap``: each author's and committer's address with
    the one git maps it to (``%aE``, ``%cE``, git's own rule, names included), and every other
    address the run meets (waivers' approvers and flag events' ``by`` too) with the one ``git
    check-mailmap`` gives for it. Merging only ever joins addresses."""
    # An address git maps to itself joins nothing: a hundred thousand commits have a few
    # hundred authors, and fewer mapped elsewhere.
    pairs = {
        (written, mapped)
        for commit in map(history.commits.__getitem__, shipped)
        for written, mapped in (
            (commit.author_email, commit.author_mapped),
            (commit.committer_email, commit.committer_mapped),
        )
        if mapped and mapped != written
    }
    values = [value for found in lines.values() for _, value in found]
    values += [d.deployer for d in evidence.deployments]
    values += [a.by for d in evidence.deployments for a in d.approvals]
    values += [r.author for r in evidence.reviews]
    values += [a.by for r in evidence.reviews for a in r.approvals]
    values += list(bots)
    # Who approved each waiver and who switched each flag: ``.mailmap`` joining one of them
    # to a deployer or an author made that waiver its approver's own exception all the same.
    values += [w.approved_by for w in evidence.waivers]
    values += [e.by for e in evidence.flag_events]
    return evidence.identities.merged([*pairs, *history.mailmap(values)])


def _changes(
    history: GitHistory,
    evidence: Evidence,
    shipped: set[str],
    resolved: dict[str, str | None],
) -> dict[int, set[str]]:
    """The commits of each review record (by its place in the evidence) that holds a shipped
    commit, loaded from the repository where they were not yet."""
    changes: dict[int, set[str]] = {}
    for index, record in enumerate(evidence.reviews):
        commits = {resolved[name] or "" for name in record.commits} - {""}
        if commits & shipped:
            changes[index] = commits
    missing = sorted(set().union(*changes.values()) - set(history.commits))
    if missing:
        history.load(missing)
    return changes


def _coauthors(
    lines: dict[str, list[tuple[str, str]]], identities: IdentityResolver
) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Each commit's co-authors as identities; and, for a commit with a co-author line that
    names nobody (a display name alone, an address without its angle brackets), that line's
    value and why: whoever it means may be any reviewer, so no review of it can count."""
    coauthors: dict[str, set[str]] = {}
    nameless: dict[str, str] = {}
    for sha, found in lines.items():
        for key, value in found:
            if key != COAUTHOR:
                continue
            who = identities.identify(value)
            if who.identity is not None:
                coauthors.setdefault(sha, set()).add(who.identity)
            elif sha not in nameless:
                nameless[sha] = f"{visible(value)} ({who.unresolved})"
    return coauthors, nameless


def _by_writer(
    review: Review,
    writers: tuple[set[str], str | None, str | None],
    nameless_committer: str | None = None,
) -> Review:
    """A review of a commit by one of its co-authors (``Co-authored-by:``), or by the committer
    who committed it under another's name, is by one who wrote it: it does not count as a
    second person. Nor does any review of a commit whose co-author line, or whose committer,
    names nobody (``nameless``): it may be by that co-author or committer. ``writers``: the
    commit's co-authors, why one names nobody (or None) and its committer (or None)."""
    coauthors, nameless, committer = writers
    if review["excluded"]:
        return review
    if nameless is not None:
        return {**review, "excluded": f"{NAMELESS}: {nameless}"}
    if nameless_committer is not None:
        return {**review, "excluded": f"{NAMELESS_COMMITTER}: {nameless_committer}"}
    if review["identity"] is not None and review["identity"] == committer:
        return {**review, "excluded": COMMITTED}
    if review["identity"] not in coauthors:
        return review
    return {**review, "excluded": "by a co-author of the commit (Co-authored-by)"}


NAMELESS = "the commit names a co-author who is not an identity"
NAMELESS_COMMITTER = "the commit's committer is not an identity"
COMMITTED = (
    "by the commit's committer, who committed it under its author's name and wrote it as "
    "much as its author did"
)


def _committed_by_another(commit: GitCommit | None) -> bool:
    """Whether a commit has a committer whose address is not its author's. An empty committer
    address (``Lee <>``, which git accepts) is not the author's: it names nobody, and may be
    any reviewer."""
    return commit is not None and (
        normalise(commit.committer_email) != normalise(commit.author_email)
    )


NOT_READ = "review lines do not count here (review_lines: none): only review records do"
FORGE_COMMITTERS = ("noreply@github.com",)
"""Committer identities of forges that commit on their users' behalf (GitHub's web-flow, for
its merge, squash and rebase buttons and web edits): such a commit's message is its author's."""
UNVOUCHED = (
    "the commit was committed by its author, so the line is its author's own "
    "word: a review line counts only in a commit that someone other than its author committed"
)
COPIED = (
    "the commit was committed by a bot or a forge on its author's behalf ({}), which copies "
    "the author's message: a review line counts only in a commit that a person other than its "
    "author committed"
)


def _unvouched(
    identities: IdentityResolver,
    shas: set[str],
    writers: tuple[Committed, dict[str, set[str]]],
    settings: tuple[Sequence[str], str],
) -> dict[str, str]:
    """Why the review lines (``Reviewed-by:``, ``Approved-by:``) of each of ``shas`` do not
    count, where they do not: with ``review_lines: none``, none counts; with ``committed``, a
    commit's message is taken as written by whoever committed it: in a commit its author
    committed, a review line is the author's own word (anyone can write ``Reviewed-by: Lee``),
    and one counts only where a person other than the author, and other than a co-author,
    committed the commit (whoever applied the review: a maintainer, a review system's submit).
    A bot or a forge that commits on the author's behalf (GitHub's squash button) copies the
    author's message, and vouches for nothing. A committer that names nobody already stops
    every review of the commit counting (``_by_writer``). ``writers``: who committed each
    commit, and its co-authors; ``settings``: ``review_bots`` and ``review_lines``."""
    (committers, nameless), coauthors = writers
    bots, review_lines = settings
    if review_lines == "none":
        return dict.fromkeys(shas, NOT_READ)
    if review_lines != "committed":
        return {}
    machines = {identities.identify(b).identity for b in (*bots, *FORGE_COMMITTERS)}
    machines |= identities.github_apps()
    found: dict[str, str] = {}
    for sha in shas:
        committer = committers.get(sha)
        if committer is None and sha not in nameless:
            found[sha] = UNVOUCHED
        elif committer in machines:
            found[sha] = COPIED.format(committer)
        elif committer in coauthors.get(sha, set()):
            found[sha] = f"{UNVOUCHED} (its committer is a co-author)"
    return found


Committed = tuple[dict[str, str], dict[str, str]]
"""The committer of each commit that another identity than its author committed, by sha; and,
for a commit whose committer names nobody, that value and why."""


def _committers(history: GitHistory, identities: IdentityResolver, shas: set[str]) -> Committed:
    """Who committed each of ``shas`` where it is not its author. Whoever commits a commit
    writes it as it stands, message and all, whatever author it gives (``git commit
    --author``): their review of it is no second person's. A merge commit's committer is
    whoever merged, as its author is: a writer of the merge (which may hold code of its own),
    not of its change (``_change_authors``). A committer that names nobody may be any
    reviewer."""
    committers: dict[str, str] = {}
    nameless: dict[str, str] = {}
    for sha in sorted(shas):
        commit = history.commits.get(sha)
        if commit is None or not _committed_by_another(commit):
            continue
        who = identities.identify(commit.committer_email)
        if who.identity is None:
            shown = visible(commit.committer_email) or "<>"
            nameless[sha] = f"{shown} ({who.unresolved})"
        elif who.identity != identities.identify(commit.author_email).identity:
            committers[sha] = who.identity
    return committers, nameless


def _change_committers(
    history: GitHistory, commits: set[str], committed: Committed
) -> tuple[set[str], str]:
    """The committers of a change's commits, merge commits aside (whoever merged); and, when
    one of them names nobody, which and why (empty otherwise)."""
    committers, nameless = committed
    own = sorted(
        sha for sha in commits if len(getattr(history.commits.get(sha), "parents", ())) <= 1
    )
    unnamed = next(
        (
            f"commit {short(sha)} of the change has a committer who is not an identity: "
            f"{nameless[sha]}"
            for sha in own
            if sha in nameless
        ),
        "",
    )
    return {committers[sha] for sha in own if sha in committers}, unnamed


def _change_authors(
    history: GitHistory,
    identities: IdentityResolver,
    commits: set[str],
    coauthored: tuple[dict[str, set[str]], dict[str, str], Committed],
) -> tuple[set[str], str]:
    """Who wrote a change: the author, co-authors and committer of each of its commits; and,
    when the author or committer of one of them names nobody, which and why (empty otherwise):
    they may be any approver, as a co-author line that names nobody may. A merge commit's
    author and committer are whoever merged (GitHub writes the merger there), not writers of
    the change. ``coauthored``: each commit's co-authors, why a co-author line names nobody,
    and who committed it."""
    coauthors, nameless_coauthors, committed = coauthored
    found, unnamed = _change_committers(history, commits, committed)
    for sha in sorted(commits):
        commit = history.commits.get(sha)
        if commit is not None and len(commit.parents) <= 1:
            who = identities.identify(commit.author_email)
            if who.identity is not None:
                found.add(who.identity)
            elif not unnamed:
                unnamed = (
                    f"commit {short(sha)} of the change has an author who is not an identity: "
                    f"{visible(commit.author_email)} ({who.unresolved})"
                )
        found.update(coauthors.get(sha, set()))
    coauthor = next((nameless_coauthors[s] for s in sorted(commits) if s in nameless_coauthors), "")
    if coauthor:
        unnamed = f"a commit of the change names a co-author who is not an identity: {coauthor}"
    return found, unnamed


def _reviews(
    history: GitHistory,
    evidence: Evidence,
    identities: IdentityResolver,
    shipping: tuple[set[str], dict[str, str]],
    lines: dict[str, list[tuple[str, str]]],
    resolved: dict[str, str | None],
    changes: dict[int, set[str]],
    coauthored: tuple[dict[str, set[str]], dict[str, str], Committed],
    first_shipped: dict[str, Late],
) -> dict[str, list[Review]]:
    """Every review of each shipped commit, from its review lines and the review records,
    with the identity it names (or why none) and why Python left it out, if it did.

    An approval covers its change's commits. When it names the commit it was given on, it
    covers that commit and the change's commits before it, not ones pushed later; when that
    commit is not one of the change's (or not in the repository), what it approved cannot be
    placed, and it covers nothing. Approvals by the change's own author do not count, nor do
    any approvals of a change whose author names nobody, nor approvals by an author or
    co-author of any of the change's commits: the rule the importers apply, applied again here
    so that it holds for records written before an identity was mapped. Nor do approvals of a
    change any of whose commits has an author, or a co-author line, that names nobody
    (``coauthored``: the co-authors of each commit, and the commits with such a line). Nor
    does an approval given at or after the start of the first deployment that shipped a
    commit count for that commit (``first_shipped``): it was in production unreviewed; nor,
    for what a gate's candidate ships, one dated at or after the gate's moment: it had not
    been given.
    """
    shipped, unvouched = shipping
    found: dict[str, list[Review]] = defaultdict(list)
    for sha in shipped:
        for key, value in lines.get(sha, []):
            if key != COAUTHOR:
                line = f"{key}: {visible(value)}"
                found[sha].append(_review(line, identities.identify(value), unvouched.get(sha, "")))
    for index, change_commits in sorted(changes.items()):
        record = evidence.reviews[index]
        writers, unnamed = _change_authors(history, identities, change_commits, coauthored)
        people = (identities, writers, unnamed)
        for sha, line, identity, excluded, at in _approvals(
            history, record, people, resolved, change_commits
        ):
            if sha not in shipped:
                continue
            late = "" if excluded else _after_shipping(at, first_shipped.get(sha))
            found[sha].append(_review(line, identity, excluded or late))
    return found


def _approvals(
    history: GitHistory,
    record: ReviewRecord,
    people: tuple[IdentityResolver, set[str], str],
    resolved: dict[str, str | None],
    change_commits: set[str],
) -> Iterator[tuple[str, str, Identity, str, str]]:
    """Each commit of the change a review record's approval covers: the commit, the approval
    as a review line, the identity it names, why Python leaves it out (or empty) and when it
    was given. ``people``: the identities, the writers of the change's commits, and why one of
    its commits has an author or a co-author who names nobody (or empty)."""
    identities, writers, unnamed = people
    author = identities.identify(record.author)
    for approval in record.approvals:
        identity = identities.identify(approval.by)
        excluded = _approval_excluded(record, author, identity, writers) or unnamed
        line = f"approval by {visible(approval.by)} in review {visible(record.change)}"
        covered = _covered(history, resolved, approval.commit, change_commits)
        if approval.commit is not None:
            covered |= _landings(history, covered, change_commits)
        unseen = _unseen(history, approval.at, covered) if approval.commit is None else {}
        for sha in sorted(covered):
            yield sha, line, identity, excluded or unseen.get(sha, ""), approval.at


SKEW_S = 60
"""How far a commit's date may lie after an approval that names no commit and still count as
committed before it (seconds): the clocks of the review system and of whoever committed."""


def _unseen(history: GitHistory, at: str, commits: set[str]) -> dict[str, str]:
    """Of an approval that names no commit, given at ``at``, on a change of ``commits``: why it
    does not cover each commit committed after it (the committer's date, more than ``SKEW_S``
    later), which it cannot have seen, unless the forge made it at the merge from what the
    approval saw (``landed``)."""
    limit = timestamp_ns(at) // 1_000_000_000 + SKEW_S
    seen = [sha for sha in sorted(commits) if history.commits[sha].committer_time <= limit]
    return {
        sha: (
            f"given at {visible(at)}, before the commit was committed (at "
            f"{_iso(history.commits[sha].committer_time)}): the approval names no commit, so it "
            "covers only what was committed when it was given"
        )
        for sha in sorted(commits)
        if sha not in seen and not landed(history, sha, seen)
    }


def _landings(history: GitHistory, covered: set[str], commits: set[str]) -> set[str]:
    """Of the change's ``commits``, those an approval naming its commit does not reach as that
    commit's ancestors but that land what it covered (``covered``), as ``landed`` judges them:
    the merge commit that lands the change, a squash or a rebase of the approved commits,
    listed in the record as its merge commit. A merge lands what was approved only when each
    of its parents among the change's commits is covered: one that merges a commit pushed
    after the approved one is that commit's landing, not the approval's. Without them, a
    record naming the approved head left its own squash or merge commit unreviewed."""
    if not covered:
        return set()
    seen = sorted(covered)
    found = set()
    for sha in sorted(commits - covered):
        parents = set(history.commits[sha].parents)
        if len(parents) > 1 and not (parents & covered and parents & commits <= covered):
            continue
        if landed(history, sha, seen):
            found.add(sha)
    return found


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _after_shipping(at: str, first: Late | None) -> str:
    """Why an approval given at ``at`` comes too late for a commit first shipped by ``first``,
    or shipped by a gate's candidate after whose moment it is dated (empty when it came
    before)."""
    if first is None or timestamp_ns(at) < first[0]:
        return ""
    deployment = first[1]
    if isinstance(deployment, str):
        return f"given at {visible(at)}, {deployment}"
    return (
        f"given at {visible(at)}, once the commit was in production (deployment "
        f"{visible(deployment.id)} started at {visible(deployment.started_at)})"
    )


def _covered(
    history: GitHistory, resolved: dict[str, str | None], commit: str | None, commits: set[str]
) -> set[str]:
    """The change's commits an approval covers: all of them when it names no commit; when it
    does, that commit and those before it, or none when the commit is not one of them."""
    if commit is None:
        return commits
    head = resolved[commit]
    return history.ancestors_among(head, commits) if head is not None and head in commits else set()


def _review(line: str, found: Identity, excluded: str) -> Review:
    return Review(
        line=line, identity=found.identity, unresolved=found.unresolved, excluded=excluded
    )


def _approval_excluded(
    record: ReviewRecord, author: Identity, identity: Identity, writers: set[str]
) -> str:
    """Why Python leaves an approval out, or empty."""
    if author.identity is None:
        return f"the change's author {visible(record.author)} is not an identity"
    if identity.identity == author.identity:
        return "by the change's own author"
    if identity.identity in writers:
        return "by an author, co-author or committer of one of the change's commits"
    return ""


def commit_writers(
    history: GitHistory,
    identities: IdentityResolver,
    shas: Iterable[str],
    committers: bool = False,
) -> dict[str, frozenset[str]]:
    """Who wrote each of ``shas``, any commit of the history (not only shipped ones): its
    author's address normalised, the identity it names, the address ``.mailmap`` maps it to,
    and each co-author its message names (``Co-authored-by:``), as ``waivers.people_keys``
    reads a person; with ``committers``, its committer too, read the same way. A finding
    about a change is its writers' own: their waiver of it is refused
    (``waivers.own_exception``)."""
    wanted = sorted(set(shas))
    authors = _authors(history, wanted, committers)
    every = [value for values in authors.values() for value in values]
    mapped = dict(history.mailmap(every)) if authors else {}
    lines = commit_review_lines(history, wanted) if authors else {}
    found = {}
    for sha, people in authors.items():
        values = [*people]
        for person in people:
            values.append(mapped.get(person.rpartition("<")[2].rstrip(">"), ""))
        values += [value for key, value in lines.get(sha, []) if key == COAUTHOR]
        keys = {normalise(v) for v in values if v}
        keys |= {identities.identify(v).identity or "" for v in values if v}
        found[sha] = frozenset(keys - {""})
    return found


def _authors(history: GitHistory, shas: list[str], committers: bool) -> dict[str, list[str]]:
    """The author (``Name <address>``) of each commit of ``shas``, from its object, and with
    ``committers`` its committer after it."""
    roles = ("author ", "committer ") if committers else ("author ",)
    authors: dict[str, list[str]] = {}
    reader = BatchReader(history)
    try:
        for sha, kind, data in reader.read(shas):
            if kind != b"commit":
                raise InputError(f"commit {sha} cannot be read", path=str(history.root))
            header = data.partition(b"\n\n")[0].decode("utf-8", errors="replace")
            lines = header.splitlines()
            found = (next((x for x in lines if x.startswith(role)), "") for role in roles)
            authors[sha] = [
                line.split(" ", 1)[-1].rsplit(">", 1)[0] + ">" if line else ">" for line in found
            ]
    finally:
        reader.close()
    return authors
