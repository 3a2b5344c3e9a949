"""A retirement is checked against the retired system's own evidence, where last month's
attestation said it was: a system that still deploys is not retired, whatever date org.yaml
states; and a system's history is not shed by listing its repository under another name."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import date as Day
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import InputError
from checker.org.model import URL, Organisation, Retired, System
from checker.vocabulary import DEFAULT_EVIDENCE

if TYPE_CHECKING:
    from checker.evidence.bundle import Evidence


def check_repository(
    org: Organisation, retired: Retired, entry: dict[str, Any], *, histories: bool = True
) -> None:
    """Refuse a retired system whose repository a listed system has, unless org.yaml says
    they are distinct systems of one repository (``repository_kept_by``). A listed system has
    it when org.yaml names the same repository, or (``histories``: the repositories are read
    here) when its repository holds the HEAD last month's audit of the retired one recorded:
    the same repository written as a git URL (``file:///.../repos/pay``, the remote of a
    local checkout) is the same history."""
    location = org.place_of(entry).split("\0")[0]
    head = entry.get("head") if histories else None
    sharing = [
        s.name
        for s in org.systems
        if s.location == location or (isinstance(head, str) and holds_commit(s, head))
    ]
    name, kept = retired.name, retired.kept_by
    if kept is not None and kept not in sharing:
        raise InputError(
            f"system {name} is retired with repository_kept_by {kept}, but {kept} is not a "
            f"listed system with {name}'s repository",
            path=str(org.path),
            line=retired.line,
        )
    if sharing and kept is None:
        raise InputError(
            f"system {name} is retired, yet system {sharing[0]} has its repository: a system's "
            "history is not shed by moving its evidence",
            path=str(org.path),
            line=retired.line,
            hint=f"if {sharing[0]} is {name} renamed, list it with {name}'s repository and "
            f"evidence as last month's attestation wrote them ({entry.get('repository')}, "
            f"{entry.get('evidence') or 'the evidence of its repository'}) and remove {name} "
            f"from 'retired'; if they are distinct systems of one repository, add "
            f"'repository_kept_by: {sharing[0]}' to the retirement",
        )


def holds_commit(system: System, sha: str) -> bool:
    """Whether the system's repository (its directory, or a clone of its URL) holds the
    commit ``sha``. A URL that does not clone holds nothing here; the system is then not
    judged either, and the organisation fails."""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):
        return False
    if not system.is_url:
        return _has_commit(Path(system.location), sha)
    from checker.org.judge import CloneError, clone

    try:
        with clone(system.location, system.repository, system.name) as repo:
            return _has_commit(repo, sha)
    except CloneError:
        return False


def _has_commit(repo: Path, sha: str) -> bool:
    if not repo.is_dir():
        return False
    done = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def check_quiet(
    org: Organisation, retired: Retired, entry: dict[str, Any], again: Again | None = None
) -> dict[str, Any]:
    """Read the retired system's evidence: a deployment started on or after the retirement
    date refuses it (exit 2). Evidence gone with its repository (decommissioned) is accepted,
    the absence recorded in the signed retirement; evidence gone while the repository is
    still there, or lives on in a listed system (``repository_kept_by``), is refused. A
    repository named by its git URL, its evidence in it, is cloned to be read: a URL is not
    a repository gone. ``again``: a retirement the previous attestation signed, checked again
    (``check_signed_retirement``)."""
    repository = str(entry.get("repository"))
    if URL.match(repository) and not isinstance(entry.get("evidence"), str):
        from checker.org.judge import CloneError, clone

        try:
            with clone(repository, repository, retired.name) as repo:
                evidence = _own_evidence(org, retired, entry, repo)
                return _checked(org, (retired, again), entry, evidence, present=True)
        except CloneError as exc:
            gone = f"no: {exc.message} (gone)"
            return _checked(org, (retired, again), entry, _Source(None), present=False, gone=gone)
    present = _repository_of(org, entry) is not None
    found = _evidence_of(org, retired, entry)
    return _checked(org, (retired, again), entry, found, present=present)


@dataclass(frozen=True)
class _Source:
    """Where a retired system's evidence is read: its directory (None: none is named), the
    files its repository's knightwatch.yaml says to ignore there, and, where that file named
    the directory (the repository's own evidence), the repository and the directory's path
    in it as named (``compliance``, or knightwatch.yaml's ``evidence``)."""

    directory: Path | None
    ignore: list[str] = field(default_factory=list)
    repo: Path | None = None
    named: str | None = None


def _checked(
    org: Organisation,
    retirement: tuple[Retired, Again | None],
    entry: dict[str, Any],
    source: _Source,
    *,
    present: bool,
    gone: str | None = None,
) -> dict[str, Any]:
    """The retired system's deployments read where ``source`` says; ``present``: whether its
    repository is still there. Read through its repository, the record says through which
    knightwatch.yaml and links (``evidence_read``), for next month's check of it again."""
    retired, again = retirement
    directory = source.directory
    if directory is None or not directory.is_dir():
        where = str(entry.get("evidence") or entry.get("repository"))
        kept = f"with its repository kept by {retired.kept_by}" if retired.kept_by else None
        if kept is None and present:
            kept = "and its repository is still there"
        if kept is not None:  # the evidence alone went: deleting it must not end the checks
            raise InputError(
                f"system {retired.name} is retired {kept}, but its evidence ({where}) can no "
                "longer be read: its deployments after the retirement cannot be checked",
                path=str(org.path),
                line=retired.line or None,
            )
        return {"evidence_checked": gone or f"no: {where} can no longer be read (gone)"}
    from checker.evidence.bundle import load_evidence

    evidence = load_evidence(directory, optional=True, ignore=source.ignore)
    read = _check_links(org, retired, entry, source, evidence)
    _refuse_deployed(org, retired, again, evidence)
    checked = f"yes: no deployment started on or after {retired.date}"
    return {"evidence_checked": checked, **({"evidence_read": read} if read else {})}


def _check_links(
    org: Organisation, retired: Retired, entry: dict[str, Any], source: _Source, evidence: Evidence
) -> dict[str, Any]:
    """Refuse evidence found through the repository's links other than those its last audit
    read it through (``settings.linked_evidence``: ``compliance`` made a link to an empty
    ``archive/``, knightwatch.yaml untouched, redirects the check as ``evidence: archive``
    did); what was read (``evidence_read``: knightwatch.yaml's digest, the links), or nothing
    where the repository did not name the directory."""
    if source.repo is None or source.directory is None:
        return {}
    from checker.settings import linked_evidence

    names = [f.path for f in evidence.files]
    notes = linked_evidence(source.repo, source.directory, names)
    now = sorted(f"{n.source.removeprefix(_LINK)} -> {n.value}" for n in notes)
    then = _links_read(entry)
    if then is not None and then != now:
        raise InputError(
            f"system {retired.name} is retired, but its evidence is not read through the links "
            f"it was last read through (then {', '.join(then) or 'none'}, now "
            f"{', '.join(now) or 'none'}): a link in the repository says where the evidence is, "
            "as knightwatch.yaml does, and a retirement is checked against the evidence last "
            "attested",
            path=str(org.path),
            line=retired.line or None,
            hint=f"restore the links as they were; or list {retired.name} for the month "
            "(every service quiet) and retire it the month after",
        )
    return {"directory": source.named, **({"links": now} if now else {})}


_LINK = "the link "
"""How a setting note names a link in the repository the evidence is read through."""


def _links_read(entry: dict[str, Any]) -> list[str] | None:
    """The links in the repository the system's last reading of its evidence went through
    (``LINK -> WHERE``): its last audit's settings notes, or the ``evidence_read`` of the
    retirement that checked it; None where neither says (not judged, or signed before)."""
    audit = entry.get("audit")
    if isinstance(audit, dict):
        weakened = (audit.get("settings") or {}).get("weakened") or []
        return sorted(
            f"{str(n.get('source')).removeprefix(_LINK)} -> {n.get('value')}"
            for n in weakened
            if isinstance(n, dict)
            and n.get("name") == "evidence"
            and str(n.get("source")).startswith(_LINK)
        )
    read = entry.get("evidence_read")
    if isinstance(read, dict):
        return sorted(str(link) for link in read.get("links") or [])
    return None


def _refuse_deployed(
    org: Organisation, retired: Retired, again: Again | None, evidence: Evidence
) -> None:
    """Refuse the retirement on a deployment started on or after its date (and, checked
    again, before ``again.until`` when the system is listed once more)."""
    from checker.evidence.models import timestamp_ns

    for deployment in evidence.deployments:
        started = datetime.fromtimestamp(timestamp_ns(deployment.started_at) // 10**9, UTC)
        if started.date() < retired.date or (again and again.until and started >= again.until):
            continue
        if again is None:
            raise InputError(
                f"system {retired.name} is retired on {retired.date}, yet its evidence records "
                f"deployment {deployment.id} started {deployment.started_at}: a system that "
                "still deploys is not retired",
                path=str(org.path),
                line=retired.line,
                hint=f"list {retired.name} for the month; retire it once it deploys no more",
            )
        raise InputError(
            f"system {retired.name} was retired on {retired.date} in the {again.period} "
            f"attestation, yet its evidence now records deployment {deployment.id} started "
            f"{deployment.started_at}: recorded since, it was judged by no audit, and the "
            "retirement did not hold",
            path=str(org.path),
            hint=f"audit {again.period} again with {retired.name} listed, and chain to that",
        )


@dataclass(frozen=True)
class Again:
    """A retirement the previous attestation signed, checked again this month."""

    period: str
    """The month of the attestation that signed it."""
    until: datetime | None
    """The start of this month when the system is listed again (its deployments from then
    on are this month's audit's to judge); None when it is not."""


def check_signed_retirement(org: Organisation, record: object, attested: str, period: str) -> None:
    """A retirement the previous attestation (of ``attested``) signed, checked again against
    the evidence where it was checked then: a deployment started on or after its date that
    was recorded after that attestation was signed (a deploy tool's late export) was judged
    by no audit, and the retirement it contradicts was signed as checked. A listed system's
    audit judges its deployments of ``period``; those before are looked for."""
    last = record.get("last_attested") if isinstance(record, dict) else None
    if not isinstance(record, dict) or not isinstance(last, dict):
        return  # a retirement of an earlier month, checked the month after it
    try:
        day = Day.fromisoformat(str(record.get("date")))
    except ValueError:
        return
    kept = record.get("repository_kept_by")
    retired = Retired(
        str(record.get("name")), day, str(record.get("reason")), 0, str(kept) if kept else None
    )
    entry = {key: last.get(key) for key in ("repository", "evidence", "evidence_read")}
    place = org.place_of(entry)
    listed = org.system(retired.name) is not None or any(s.place == place for s in org.systems)
    until = datetime.fromisoformat(f"{period}-01T00:00:00+00:00") if listed else None
    check_quiet(org, retired, entry, Again(attested, until))


def _repository_of(org: Organisation, entry: dict[str, Any]) -> Path | None:
    """The retired system's repository where it is still a directory here, else None."""
    repository = str(entry.get("repository"))
    if URL.match(repository):
        return None
    path = (org.path.parent.resolve() / repository).resolve()
    return path if path.is_dir() else None


def _evidence_of(org: Organisation, retired: Retired, entry: dict[str, Any]) -> _Source:
    """The retired system's evidence directory as last month's attestation recorded it (None
    when no evidence directory was named and its repository is gone), and the files its
    repository's knightwatch.yaml says to ignore there."""
    evidence = entry.get("evidence")
    repo = _repository_of(org, entry)
    if repo is not None:
        if isinstance(evidence, str):
            return _Source((org.path.parent.resolve() / evidence).resolve(), _evidence_in(repo)[1])
        return _own_evidence(org, retired, entry, repo)
    if isinstance(evidence, str):
        return _Source((org.path.parent.resolve() / evidence).resolve())
    return _Source(None)


def _own_evidence(
    org: Organisation, retired: Retired, entry: dict[str, Any], repo: Path
) -> _Source:
    """The repository's own evidence directory, where its knightwatch.yaml names it, that
    file being the one the system's last audit read: changed since, it could name another
    directory (an empty one, a copy of the old records) while the deployments after the
    retirement are recorded where they always were, and the check would read none of them."""
    from checker.config import load_config

    config, digest = load_config(repo)
    then, named = _config_read(entry), config.evidence or DEFAULT_EVIDENCE
    now = f"sha256 {digest.sha256}" if digest is not None else "none"
    read = entry.get("evidence_read")
    if isinstance(read, dict) and read.get("directory") != named:
        raise InputError(
            f"system {retired.name} is retired, but its repository's knightwatch.yaml now names "
            f"{named} as its evidence, not {read.get('directory')}, where the retirement's "
            "check read it: checked again, a retirement is read where it was checked",
            path=str(org.path),
            hint=f"restore knightwatch.yaml's evidence: {read.get('directory')}",
        )
    if then is not None and then != now:
        raise InputError(
            f"system {retired.name} is retired, but its repository's knightwatch.yaml is not "
            f"the one its last audit read (then {then}, now {now}): it says where the "
            "evidence is, and a retirement is checked against the evidence last attested",
            path=str(org.path),
            line=retired.line,
            hint=f"restore knightwatch.yaml as it was; or list {retired.name} for the month "
            "(every service quiet) and retire it the month after",
        )
    return _Source(repo / named, list(config.evidence_ignore), repo, named)


def _config_read(entry: dict[str, Any]) -> str | None:
    """The knightwatch.yaml the system's last audit read, as its report lists it (``sha256
    ...``, or ``none``); None when last month's attestation did not judge the system."""
    audit = entry.get("audit")
    if not isinstance(audit, dict):
        return None
    files = ((audit.get("report") or {}).get("inputs") or {}).get("files") or []
    found = [f.get("sha256") for f in files if isinstance(f, dict) and f.get("role") == "config"]
    return f"sha256 {found[0]}" if found else "none"


def _evidence_in(repo: Path) -> tuple[Path, list[str]]:
    """A repository's own evidence directory (``compliance/``, or its knightwatch.yaml's
    ``evidence``), and the files its knightwatch.yaml says to ignore there."""
    from checker.config import load_config

    config = load_config(repo)[0]
    return repo / (config.evidence or DEFAULT_EVIDENCE), list(config.evidence_ignore)
