"""``knightwatch import gitlab-approvals``: review records from GitLab's REST API objects,
saved or fetched directly (deployments: ``checker.importers.gitlab_deployments``).

Input: ``MRS.json`` (``GET /projects/:id/merge_requests?state=merged``),
and per merge request ``DIR/<iid>/approvals.json`` (``GET .../merge_requests/:iid/approvals``,
which names its merge request: ``.../approval_state`` names none, and is refused),
``DIR/<iid>/commits.json`` (``GET .../merge_requests/:iid/commits``), ``DIR/<iid>/notes.json``
(``GET .../merge_requests/:iid/notes``), ``DIR/<iid>/resource_state_events.json`` (``GET
.../merge_requests/:iid/resource_state_events``) and ``DIR/<iid>/versions.json`` (``GET
.../merge_requests/:iid/versions``; and, where saved, ``DIR/<iid>/versions/<id>.json``, each
version asked singly for its commits), every page of each, with the project's approval
settings in ``DIR/project-approvals.json`` (``GET /projects/:id/approvals``). Each list must
show itself whole (``gitlab_pages``): every page with its headers, which number it. GitLab lists
the commits newest first, so a list cut at a page (of any size: asked with ``per_page=50``, a
page of 50) keeps the head and loses the oldest commits, an approver's own among them. A body
saved without its headers is refused: pages 1 and 3, or page 1 then the empty page asked past
a lost page 2, look like a whole list, and the commits or notes of page 2 would be missing.
``MRS.json`` alone may be one body: a merge request missing from it has no review record, and
its commits are reported unreviewed.
GitLab's approvals name no commit: an approval given before a later push still stands unless
the project resets approvals on push, and even then GitLab resets it in a job run after the push
(the merge may come first) and not at all when the diff's ``git patch-id``, which ignores
whitespace, is unchanged. So approvals count only when ``reset_approvals_on_push`` is true and
they were given after the last push before the merge (a system note "added N commits", see
:func:`pushed`, or the last diff version, which a push that adds no commit writes alone), or
the merge request's diff versions (``DIR/<iid>/versions.json``, needed: GitLab records one at
every push, also one whose note notes saved before it lack) show that every
push after the approval kept the diff's patch id, as git computes it for the merged head (a
rebase: ``gitlab_versions``); such an approval was given on the final head, or on its diff,
and covers the change's commits and its ``merge_commit_sha`` and ``squash_commit_sha``, each
listed only where it holds git's own merge of what it merges (``checker.evidence.merges``).
Approvals by the merge request's author or by an author or committer of one of its commits
(whoever commits a commit wrote it as it stands, whatever author it names), by a bot, or dated
(``approved_at``, where GitLab gives it) after ``merged_at`` do not count. Nor does an approval
given before the merge request's target branch was changed (a system note "changed target
branch from ..." or older GitLab's "Target branch changed from ...", "deleted the ... branch.
This merge request now targets ...", or "deleted"/"restored target branch ...", dated before
the merge), nor an undated one when there is such a note: GitLab lists the commits against the
target branch as it is now, so after a change of target they can hold commits the approver
never saw (pushed straight to the old target), and which were in the merge request as approved
cannot be told. Nor does an approval given before the merge request was last closed or reopened
(its state events, ``DIR/<iid>/resource_state_events.json``, see :func:`reopened`): a push to a
closed merge request writes no note, and reopening it brings in what was pushed.

A saved file is read for the project ``--project`` names (its path, or its id;
:class:`checker.importers.forge_origins.Project`): GitLab gives every merge request its
``web_url`` (``https://HOST/GROUP/PROJECT/-/merge_requests/IID``), its ``references.full``
(``GROUP/PROJECT!IID``), its ``project_id`` and ``target_project_id``, and each one given must
name that project (paths regardless of case); all the merge requests of a file have one project
id, which their approvals (``project_id``) must give too, and every note names its merge request
(``noteable_id``, its id on the instance). A merge request or a note that names none is refused,
since nothing ties it to the project (fetched, the request names it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from checker.evidence.files import Located, validate
from checker.evidence.git import GitHistory
from checker.evidence.merges import Landing
from checker.evidence.models import Review
from checker.importers import gitlab_pages, gitlab_versions
from checker.importers.common import (
    Imported,
    Logins,
    check_change_commits,
    commit_writers,
    credited,
    dig,
    expect,
    moment,
    read_json,
)
from checker.importers.forge_origins import Address, Project
from checker.importers.gitlab_versions import Diffs

MRS = "GitLab merge request objects (GET /projects/:id/merge_requests?state=merged)"
APPROVALS = "GitLab merge request approvals (GET /projects/:id/merge_requests/:iid/approvals)"
COMMITS = "GitLab commit objects (GET /projects/:id/merge_requests/:iid/commits)"
SETTINGS = "GitLab project approval settings (GET /projects/:id/approvals)"
NOTES = "GitLab merge request notes (GET /projects/:id/merge_requests/:iid/notes)"
EVENTS = (
    "GitLab merge request state events "
    "(GET /projects/:id/merge_requests/:iid/resource_state_events)"
)
WHOLE_NOTES = (
    "save every page of .../merge_requests/IID/notes?sort=asc&per_page=100 with its headers "
    "(curl -i, page=1, 2, ... down to the page whose x-next-page is empty, whatever the pages "
    "before it hold: GitLab leaves out of a page the notes the token may not read), as the "
    "docs' whole does"
)
WHOLE_COMMITS = (
    "GitLab lists a merge request's commits newest first, so the oldest would be the ones "
    "missing, and with them an approver's own commit; save every page of "
    ".../merge_requests/IID/commits?per_page=100 with its headers (curl -i, page=1, 2, ... "
    "down to the page whose x-next-page is empty), as the docs' whole does"
)
WHOLE_EVENTS = (
    "save every page of .../merge_requests/IID/resource_state_events?per_page=100 with its "
    "headers (curl -i, page=1, 2, ... down to the page whose x-next-page is empty; a merge "
    "request never closed has none, and GitLab answers []), as the docs' whole does"
)
WHOLE_MRS = (
    "save every page of .../merge_requests?state=merged&per_page=100 with its headers (curl "
    "-i, page=1, 2, ... down to the page whose x-next-page is empty), as the docs' whole does"
)
MERGE_REQUEST_URL = Address(
    "web_url",
    "merge request",
    "-/merge_requests/IID",
    re.compile(r"/(?P<project>.+?)/(?:-/)?merge_requests/(?P<iid>\d+)/?"),
)
"""A merge request's ``web_url``: GitLab writes ``/GROUP/PROJECT/-/merge_requests/IID``, before
GitLab 12 ``/GROUP/PROJECT/merge_requests/IID``."""
REFERENCE = re.compile(r"(?P<project>[^!\s]+/[^!\s]+)!(?P<iid>\d+)")
"""A merge request's full reference (``references.full``): ``GROUP/PROJECT!IID``."""
PROJECT_IDS = ("project_id", "target_project_id")
"""The project a merge request is of, by id: the one it merges into. ``source_project_id`` (a
fork's, for a merge request from a fork) is not compared."""


@dataclass(frozen=True)
class MergeRequestData:
    """One merged merge request's objects, and where they came from."""

    merge_request: dict[str, Any]
    approvals: Any
    commits: list[Any]
    source: Path
    notes: list[Any]
    notes_source: Path
    events: list[Any]
    """Its state events (``resource_state_events``): when it was closed and reopened."""
    events_source: Path
    saved: bool = False
    """Read from a saved file, which must name its merge request; fetched ones are tied to it
    by the request that got them."""
    versions: list[Any] | None = None
    """Its diff versions (``gitlab_versions``): every push, and whether it kept the diff."""
    versions_source: Path | None = None


BOT_NAMES = re.compile(
    r"(?:project|group)_\d+_bot(?:\d*|_[0-9a-f]+)|service_account_[a-z0-9_]+", re.IGNORECASE
)
"""The usernames GitLab gives the users it makes for access tokens: a project's or group's
(``project_42_bot``, ``project_42_bot1``; since GitLab 16 ``project_42_bot_`` and 32 hex
digits: ``ResourceAccessTokens::CreateService``, ``Gitlab::Utils::UsernameAndEmailGenerator``)
and a service account's (``service_account_``, ``service_account_group_42_``, then hex). The
approvals API names an approver as a ``UserBasic``, which has no ``bot`` field: there the name
is all it shows of one. Nothing stops a person choosing such a name, and a GitLab 16 service
account may be given any name: where the user object gives ``bot`` (GitLab's users API does),
that decides."""


def username(user: Any) -> tuple[str, bool]:
    """A GitLab user object's ``username`` ("" when it has none) and whether it is a bot: as
    it says (``bot``, which the users API and the merge request's ``author`` give and an
    approver's ``UserBasic`` does not), else whether its username is one GitLab gives a
    token's user (:data:`BOT_NAMES`)."""
    if not isinstance(user, dict) or not isinstance(user.get("username"), str):
        return "", False
    name, said = user["username"], user.get("bot")
    if isinstance(said, bool):
        return name, said
    return name, BOT_NAMES.fullmatch(name) is not None


def _check_bot(user: Any, index: int, source: Path) -> None:
    """Refuse an approver whose ``bot`` is given and is not true or false (``"true"``, 1): read
    as not given, the username decided, and a bot's approval under a username of its own
    counted as a person's."""
    said = user.get("bot") if isinstance(user, dict) else None
    expect(
        said is None or isinstance(said, bool),
        source,
        f"approval #{index}: the approver's bot is {said!r}, not true or false as GitLab's "
        f"users API gives it; expected {APPROVALS}, each user as GitLab answers it (with the "
        "bot of its GET /users/:id, where added)",
    )


def bot_by_name(user: Any) -> bool:
    """Whether :func:`username` reads ``user`` as a bot's by its username alone: it gives no
    ``bot``, and its username has the shape GitLab gives a token's user."""
    _, is_bot = username(user)
    return is_bot and not isinstance(user.get("bot"), bool)


def check_merge_request(item: Any, index: int, source: Path) -> None:
    """Refuse an item that is not a merge request object."""
    expect(
        isinstance(item, dict)
        and isinstance(item.get("iid"), int)
        and isinstance(item.get("state"), str)
        and isinstance(item.get("sha"), str),
        source,
        f"item #{index} is not a merge request object (iid, state, sha); expected {MRS}",
    )


def import_saved_approvals(
    path: Path,
    folder: Path,
    origin: Project,
    logins: Logins,
    bots: list[str],
    history: GitHistory | None = None,
) -> Imported:
    """Review records for every merged merge request in ``path``, every one of it (and
    the approvals and notes saved for it) ``origin``'s."""
    items = gitlab_pages.read_list(path, MRS, WHOLE_MRS, bodies=True)
    settings_path = folder / "project-approvals.json"
    expect(
        settings_path.is_file(),
        settings_path,
        "missing: without the project's approval settings (reset_approvals_on_push) it cannot "
        "be known whether an approval covers the last push; save them with "
        "'curl .../api/v4/projects/ID/approvals'",
    )
    settings = read_json(settings_path, SETTINGS)
    for index, item in enumerate(items, start=1):
        check_merge_request(item, index, path)
    check_projects(items, origin, path)
    found = [_saved(item, folder / str(item["iid"])) for item in items if item["state"] == "merged"]
    result = approval_records(found, settings, settings_path, logins, bots, history)
    result.skipped_unmerged += len(items) - len(found)
    return result


def check_projects(items: list[Any], origin: Project, source: Path) -> None:
    """Refuse a saved merge request that is not ``origin``'s, or that names no project: its
    ``web_url`` and ``references.full`` must name the project's path, and be its own ``iid``'s;
    its ``project_id`` and ``target_project_id`` one id for the whole file, the project's when
    ``--project`` is an id."""
    project, numbers = origin.project, []
    for index, item in enumerate(items, start=1):
        where = f"item #{index} (merge request !{item['iid']})"
        paths = _project_paths(item, origin, where, source)
        ids = _project_ids(item, where, source)
        expect(
            bool(paths) if not origin.by_id else bool(ids),
            source,
            f"{where} names no project (no web_url or references.full"
            + (", no project_id" if origin.by_id else "")
            + f": trimmed), so nothing shows it is {project}'s; save the list as GitLab "
            f"answers it, whole, or import with --project {project} alone, which fetches its "
            "merge requests",
        )
        for field, found in paths.items():
            origin.check_path(found, field, where, source)
        numbers += ids
    origin.check_ids(numbers, source)


def _project_paths(
    item: dict[str, Any], origin: Project, where: str, source: Path
) -> dict[str, str]:
    """The project path each of the merge request's ``web_url`` and ``references.full``
    names, by the field that gives it; each must name its own ``iid``."""
    found = {}
    reference = dig(item, "references", "full")
    named = REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
    expect(
        reference is None or named is not None,
        source,
        f"{where}: references.full {reference!r} is no merge request's reference "
        f"(GROUP/PROJECT!IID); expected {MRS}",
    )
    for field, matched in (
        ("web_url", origin.address(item, MERGE_REQUEST_URL, where, MRS, source)),
        ("references.full", named),
    ):
        if matched is None:
            continue
        expect(
            int(matched["iid"]) == item["iid"],
            source,
            f"{where}: {field} {dig(item, *field.split('.'))!r} is not merge request "
            f"!{item['iid']}'s; expected {MRS}",
        )
        found[field] = matched["project"]
    return found


def _project_ids(item: dict[str, Any], where: str, source: Path) -> list[tuple[int, str]]:
    """The project ids the merge request gives, each with where it was read."""
    ids = []
    for field in PROJECT_IDS:
        number = item.get(field)
        if number is None:
            continue
        expect(
            isinstance(number, int) and not isinstance(number, bool),
            source,
            f"{where}: {field} is not a project id; expected {MRS}",
        )
        ids.append((number, where if field == "project_id" else f"{where}, by its {field},"))
    return ids


def _saved(item: dict[str, Any], here: Path) -> MergeRequestData:
    """A merged merge request's saved approvals, commits, notes, state events and diff
    versions, each needed (:data:`NEEDED`)."""
    iid = item["iid"]
    for needed in ("approvals.json", "commits.json", *NEEDED):
        expect(
            (here / needed).is_file(),
            here / needed,
            f"missing for merged merge request !{iid}: without it its approvals cannot be "
            "judged (fetch it, see the docs)"
            + (NEEDED[needed].replace("IID", str(iid)) if needed in NEEDED else ""),
        )
    return MergeRequestData(
        item,
        read_json(here / "approvals.json", APPROVALS),
        gitlab_pages.read_list(here / "commits.json", COMMITS, WHOLE_COMMITS),
        here / "approvals.json",
        gitlab_pages.read_list(here / "notes.json", NOTES, WHOLE_NOTES),
        here / "notes.json",
        gitlab_pages.read_list(here / EVENTS_FILE, EVENTS, WHOLE_EVENTS),
        here / EVENTS_FILE,
        saved=True,
        versions=gitlab_versions.saved_commits(
            gitlab_pages.read_list(here / gitlab_versions.VERSIONS_FILE, gitlab_versions.VERSIONS,
                                   gitlab_versions.WHOLE_VERSIONS),
            here / gitlab_versions.VERSIONS_DIR),
        versions_source=here / gitlab_versions.VERSIONS_FILE,
    )  # fmt: skip


EVENTS_FILE = "resource_state_events.json"
NEEDED = {
    "notes.json": "; its notes (.../merge_requests/IID/notes?sort=asc&per_page=100, every page) "
    "show whether its target branch was changed after an approval",
    EVENTS_FILE: "; its state events (.../merge_requests/IID/resource_state_events, every page) "
    "show whether it was reopened after an approval",
    gitlab_versions.VERSIONS_FILE: "; its diff versions (.../merge_requests/IID/versions?"
    "per_page=100, every page) show every push, also one whose note the notes lack (saved "
    "before it) or that writes none",
}
"""What a merged merge request needs beyond its approvals and commits, with why."""
REOPENED = ("closed", "reopened")
"""The states of a state event that leave an approval given before it short of the merged code:
GitLab refreshes only open merge requests on a push (``RefreshService`` asks for ``opened``
ones), so a push to a closed merge request writes no "added N commits" note and resets no
approval; reopening it reloads its diff with what was pushed, and keeps its approvals."""
REOPEN_NOTES = ("reopened", "status changed to reopened")
"""The system notes older GitLab wrote where a merge request was reopened (before its state
changes became state events, which the notes API leaves out), compared in lower case."""


def reopened(data: MergeRequestData, merged_ns: int) -> int | None:
    """When the merge request was last closed or reopened before its merge (ns since the
    epoch), as its state events and older GitLab's system notes say, or None when it never
    was. An event of another merge request is refused."""
    found = []
    for index, event in enumerate(data.events, start=1):
        expect(
            isinstance(event, dict)
            and isinstance(event.get("state"), str)
            and isinstance(event.get("created_at"), str),
            data.events_source,
            f"item #{index} is not a state event (state, created_at); expected {EVENTS}",
        )
        _check_event_owner(data, index, event)
        if event["state"] in REOPENED:
            found.append(moment(event["created_at"], data.events_source, f"event {index}"))
    found += [
        moment(note.get("created_at"), data.notes_source, f"note {index}")
        for index, note in enumerate(data.notes, start=1)
        if isinstance(note, dict)
        and note.get("system") is True
        and str(note.get("body")).strip().lower() in REOPEN_NOTES
    ]
    return max((ns for ns in found if ns <= merged_ns), default=None)


def _check_event_owner(data: MergeRequestData, index: int, event: dict[str, Any]) -> None:
    """Refuse a state event of an issue, or of another merge request (``resource_id``); a
    saved one must name its merge request (``gitlab_pages.check_owner``)."""
    kind, theirs = event.get("resource_type"), event.get("resource_id")
    named = f"state event of {kind} {theirs}"
    listing = ("resource_id", "state event", EVENTS)
    gitlab_pages.check_owner(
        data.events_source, (index, theirs, named), data.merge_request, data.saved, listing
    )
    expect(
        kind in (None, "MergeRequest"),
        data.events_source,
        f"item #{index} is a {named}, saved for merge request !{data.merge_request['iid']}; "
        f"expected {EVENTS} of !{data.merge_request['iid']}",
    )


def retargeted(data: MergeRequestData, merged_ns: int) -> int | None:
    """When the merge request's target branch was last changed before its merge (ns since the
    epoch), as its system notes say, or None when it never was. Notes naming another merge
    request, or another project, are refused."""
    changes = []
    for index, note in enumerate(data.notes, start=1):
        expect(
            isinstance(note, dict) and isinstance(note.get("body"), str),
            data.notes_source,
            f"item #{index} is not a note object (body, system, created_at); expected {NOTES}",
        )
        expect(
            isinstance(note.get("system"), bool),
            data.notes_source,
            f"item #{index}: system is {note.get('system')!r}, not true or false as GitLab gives "
            f"every note (a push to the merge request is told by its system notes); expected "
            f"{NOTES}",
        )
        _check_note_owner(data, index, note)
        if note.get("system") is True and _target_changed(note["body"]):
            changes.append(moment(note.get("created_at"), data.notes_source, f"note {index}"))
    return max((ns for ns in changes if ns <= merged_ns), default=None)


TARGET_NOTES = (
    "changed target branch from ",
    "target branch changed from ",
    "deleted target branch ",
    "restored target branch ",
)
"""How GitLab's system notes begin where the target branch changed, compared in lower case:
by hand (``changed target branch from `dev` to `main```; older GitLab wrote ``Target branch
changed from ...``, and its notes are kept as written), or deleted and pushed again
(``deleted``/``restored target branch `dev```: the branch may come back at another commit)."""


PUSH_NOTE = re.compile(r"\s*(?:<p[^>]*>\s*)?added \d+ commits?\b")
"""How GitLab's system note of a push to the source branch begins (``added 1 commit``, then a
blank line, the commits and the "Compare with previous version" link;
``SystemNotes::CommitService#add_commits``; GitLab 8 wrote ``Added 1 commit:``), compared in
lower case at the note's start (after white space or a paragraph's tag, ``<p>added 1
commit``, as a saved note may hold it). A system note on another subject may quote a title or a
milestone that says it (``changed title from **added 2 commits** to ...``): read as a push, it
left an approval after the real last push out."""


def pushed(data: MergeRequestData, merged_ns: int) -> int | None:
    """When commits were last pushed to the merge request before its merge (ns since the
    epoch), as its system notes say (checked by :func:`retargeted`), or None when never after
    it was opened. GitLab resets approvals on such a push in a job that runs after it (seconds
    later: the merge may come first), and since GitLab 16.7 not at all when the diff's ``git
    patch-id`` is unchanged, which ignored whitespace before GitLab 17.7: an approval older
    than the push may stand at the merge without having seen what was pushed, unless the diff
    versions show the patch id unchanged (``gitlab_versions``)."""
    return max((at for _, at, _ in push_notes(data, merged_ns)), default=None)


def push_notes(data: MergeRequestData, merged_ns: int) -> list[tuple[int, int, dict[str, Any]]]:
    """The system notes of pushes (:data:`PUSH_NOTE`) dated at or before the merge, in the
    notes' order: each one's number in the notes, its time, and the note."""
    found = []
    for index, note in enumerate(data.notes, start=1):
        if not isinstance(note, dict) or note.get("system") is not True:
            continue
        if not PUSH_NOTE.match(str(note.get("body")).lower()):
            continue
        at = moment(note.get("created_at"), data.notes_source, f"note {index}")
        if at <= merged_ns:
            found.append((index, at, note))
    return found


LISTED = (
    re.compile(r"<li>(?P<short>[0-9a-f]{7,40}) - (?P<rest>.*?)</li>", re.DOTALL),
    re.compile(r"^\* (?P<short>[0-9a-f]{7,40}) - (?P<rest>[^\n]*)$", re.MULTILINE),
)
"""A commit a push note lists (``SystemNotes::CommitService#new_commit_summary``: its short id
and title, the title escaped; older GitLab wrote a Markdown list, ``* SHORT - title``), or the
one line that sums up the target branch's commits the push brought in (``... - N commits from
branch <code>main</code>``, before ``main`` in backquotes), which are not the merge request's."""
TARGET_COMMITS = re.compile(r"\d+ commits? from branch (?:<code>|`)")


def listed(body: str) -> list[str]:
    """The short ids of the merge request's own commits a push note lists (:data:`LISTED`).
    GitLab puts the target branch's line first: a later line of its shape is a commit's title
    (Markdown titles keep their backquotes)."""
    found = sorted(
        (m for pattern in LISTED for m in pattern.finditer(body)), key=lambda m: m.start()
    )
    return [
        match["short"]
        for index, match in enumerate(found)
        if index or not TARGET_COMMITS.match(match["rest"])
    ]


def dropped(data: MergeRequestData, merged_ns: int) -> str:
    """How the last push note before the merge shows a push after it ("" where it does not):
    it lists a commit the merge request's commits lack, or does not list the merged head.
    GitLab lists in a push note the pushed commits that its diff then holds, its new head
    among them (the newest ten, when it truncates the list). A later push that writes no note
    (a force push back to an earlier commit adds none) dropped that head; one whose note the
    notes lack (saved before it) brought the merged head. Either way the last push was after
    the note, at a time nothing says."""
    before = push_notes(data, merged_ns)
    if not before:
        return ""
    _, _, last = max(before, key=lambda found: found[1])
    shorts = listed(str(last.get("body")))
    ids = [str(c.get("id")) for c in data.commits if isinstance(c, dict)]
    for short in shorts:
        if not any(i.startswith(short) for i in ids):
            return (
                f"its last push note lists commit {short}, which it did not merge: a later push "
                "dropped it (a force push back to an earlier commit writes no note)"
            )
    head = str(data.merge_request.get("sha"))
    if not any(head.startswith(short) for short in shorts):
        return (
            f"its last push note does not list the merged head {head}: a later push brought "
            "it (the notes saved before that push, or its note written after the merge)"
        )
    return ""


COMPARE = re.compile(r"\[compare with previous version\]\((?P<link>[^)\s]*)\)")
"""The link GitLab ends every push note with (``SystemNotes::CommitService#add_commits``),
compared in lower case: ``.../diffs?diff_id=ID&start_sha=OLD``."""


def push_links(data: MergeRequestData, merged_ns: int) -> list[gitlab_versions.PushLink]:
    """What each push note before the merge says of the diff version its push made
    (``gitlab_versions.PushLink``), in the notes' order."""
    links = []
    for index, _, note in push_notes(data, merged_ns):
        found = COMPARE.search(str(note.get("body")).lower())
        query = parse_qs(urlsplit(found["link"]).query) if found else {}
        number = (query.get("diff_id") or [""])[0]
        start = (query.get("start_sha") or [""])[0]
        links.append(
            gitlab_versions.PushLink(
                index,
                int(number) if number.isdigit() else None,
                start if re.fullmatch(r"[0-9a-f]{40}", start) and start.strip("0") else None,
            )
        )
    return links


def _check_note_owner(data: MergeRequestData, index: int, note: dict[str, Any]) -> None:
    """Refuse a note of another merge request, of another kind of noteable (an issue's, a
    commit's: no ``noteable_iid`` of a merge request), or of another project's merge request
    of the same ``iid`` (iids are numbered per project): its ``project_id`` where the note
    gives one, and its ``noteable_id`` (the merge request's ``id``, unique on the instance),
    which older GitLab gives where it gives no ``project_id``."""
    iid, named, kind = (
        data.merge_request["iid"],
        note.get("noteable_iid"),
        note.get("noteable_type"),
    )
    expect(
        not data.saved or note.get("noteable_id") is not None,
        data.notes_source,
        f"item #{index} names no merge request (no noteable_id, which GitLab gives every note: "
        f"trimmed), so nothing shows it is a note of this project's !{iid}; expected {NOTES} "
        f"of !{iid} as GitLab answers them, whole",
    )
    expect(
        named in (None, iid) and (kind == "MergeRequest" or (kind is None and named is None)),
        data.notes_source,
        f"item #{index} is a note of {kind} {named}, saved for merge "
        f"request !{iid}; expected {NOTES} of !{iid}",
    )
    for key, field, what in (
        ("project_id", "project_id", "project"),
        ("id", "noteable_id", "merge request id"),
    ):
        theirs, own = note.get(field), data.merge_request.get(key)
        expect(
            theirs is None or own is None or theirs == own,
            data.notes_source,
            f"item #{index} is a note of {what} {theirs}, saved for merge request !{iid} "
            f"({what} {own}); expected {NOTES} of !{iid} of its own project",
        )


def _target_changed(body: str) -> bool:
    """Whether a system note's text is GitLab's for a change of target branch: by hand, when
    the target branch was deleted or restored, or when it was deleted and its merge requests
    moved to its own target."""
    text = body.lower()
    return text.startswith(TARGET_NOTES) or (
        text.startswith("deleted the `") and "this merge request now targets the `" in text
    )


def approval_records(
    found: list[MergeRequestData],
    settings: Any,
    settings_source: Path,
    logins: Logins,
    bots: list[str],
    history: GitHistory | None = None,
) -> Imported:
    """One review record per merged merge request; each one's approvals and commit list are
    checked to be its own (and, where ``history`` has them, against the repository)."""
    expect(
        isinstance(settings, dict) and isinstance(settings.get("reset_approvals_on_push"), bool),
        settings_source,
        f"no reset_approvals_on_push; expected {SETTINGS}",
    )
    resets = settings["reset_approvals_on_push"]
    result = Imported()
    bot_people = {logins.person(b) for b in bots}
    for data in found:
        _check_own(data, history)
    landed = credited(history, [each for data in found for each in _landings(data)], result)
    for data in found:
        review = _review(data, resets, logins, bot_people, result, landed, history)
        result.reviews.append(review)
    result.unmapped = logins.unmapped
    return result


def _landings(data: MergeRequestData) -> list[Landing]:
    """The commits that landed the merge request (``merge_commit_sha``, ``squash_commit_sha``),
    with the head approved, where its own commits do not hold them."""
    mr = data.merge_request
    listed = {str(commit.get("id")) for commit in data.commits if isinstance(commit, dict)}
    return [
        Landing(mr[key], mr["sha"])
        for key in ("merge_commit_sha", "squash_commit_sha")
        if isinstance(mr.get(key), str) and mr[key] not in listed
    ]


def _check_own(data: MergeRequestData, history: GitHistory | None) -> None:
    """The approvals and commits saved for a merge request are its own: ``/approvals`` names
    the merge request it answers for (``iid``), and its commit list holds its head. A saved
    answer that names none (``/approval_state``) is refused: nothing saved ties it to the
    merge request (the commit list names none either), and one saved in the wrong folder
    would lend one merge request's approvals to another."""
    mr, source = data.merge_request, data.source
    iid = mr["iid"]
    named = data.approvals.get("iid") if isinstance(data.approvals, dict) else None
    expect(
        named is not None or not data.saved,
        source,
        f"these approvals name no merge request (no iid: GitLab's /approval_state answer, or "
        f"/approvals trimmed), so nothing shows they are !{iid}'s; expected {APPROVALS} of "
        f"!{iid}, which names it",
    )
    expect(
        named is None or named == iid,
        source,
        f"these are the approvals of merge request !{named}, saved for !{iid}; expected "
        f"{APPROVALS} of !{iid}",
    )
    if data.saved:
        _check_same_merge_request(data.approvals, mr, source)
    ids = [c["id"] for c in data.commits if isinstance(c, dict) and isinstance(c.get("id"), str)]
    base = dig(mr, "diff_refs", "base_sha")
    if not isinstance(base, str):  # the list endpoint gives no diff_refs: the target branch
        landed = mr.get("merge_commit_sha") or mr.get("squash_commit_sha")  # before it landed
        base = f"{landed}^1" if isinstance(landed, str) else None
    check_change_commits(
        history,
        mr["sha"],
        ids,
        source.parent / "commits.json",
        f"merge request !{iid}",
        base if isinstance(base, str) else None,
    )


def _check_same_merge_request(approvals: Any, mr: dict[str, Any], source: Path) -> None:
    """Saved ``/approvals`` name their merge request by its ``iid``, which each project
    numbers from 1: another project's !42 saved under this one's 42/ named the same ``iid``
    and lent its approvals to this !42. The merge request's ``id`` (unique across the
    instance) and its ``project_id`` must be the ones the merge request list gives."""
    for key in ("project_id", "id"):
        theirs, ours = approvals.get(key), mr.get(key)
        expect(
            theirs is not None,
            source,
            f"these approvals give no {key}, so nothing shows they are of this project's "
            f"!{mr['iid']}; expected {APPROVALS} of it as GitLab answers, whole",
        )
        expect(
            ours is not None,
            source,
            f"the merge request list gives no {key} for !{mr['iid']}, so nothing shows these "
            "approvals are of this project's; save the list as GitLab answers, whole",
        )
        expect(
            theirs == ours,
            source,
            f"these are the approvals of another merge request ({key} {theirs}), saved for "
            f"!{mr['iid']} ({key} {ours}); expected {APPROVALS} of !{mr['iid']}",
        )


def _approvers(approvals: Any, source: Path) -> list[tuple[dict[str, Any], Any]]:
    """(user, approved_at) of each approval, from ``/approvals``."""
    if isinstance(approvals, dict) and isinstance(approvals.get("approved_by"), list):
        entries = approvals["approved_by"]
        return [(dig(e, "user"), dig(e, "approved_at")) for e in entries]
    expect(False, source, f"no approved_by; expected {APPROVALS}")
    return []


def _writers(commits: list[Any]) -> list[tuple[str, str, Any]]:
    """(commit, role, address) of each writer of a merge request's commits: the author and
    committer of each, and its co-authors (a ``Co-authored-by:`` line of its message, which a
    squash commit's message does not keep). A merge among them (the target merged into the
    source branch) is no exception: its resolution, and any code written in it, is merged."""
    return [
        writer
        for commit in commits
        for writer in commit_writers(
            str(commit.get("id")),
            {role: commit.get(f"{role}_email") for role in ("author", "committer")},
            commit.get("message"),
        )
    ]


NOREPLY = re.compile(r"[0-9]+-([^@]+)@users\.noreply\.[^@]+")
"""GitLab's private commit address, ``ID-USERNAME@users.noreply.HOST``: the username's."""


def _person(value: str, logins: Logins) -> str:
    """The person a writer's address names: a GitLab private commit address names its
    username's, as an approval by that username does (identities.yaml need not list the
    address). Read as an address alone, root's commit as ``1-root@users.noreply.gitlab.com``
    was a second person's, and root's approval of it counted."""
    address = value.rsplit("<", 1)[-1].strip().rstrip(">").strip().casefold()
    found = NOREPLY.fullmatch(address)
    if found is None:
        return logins.person(value)
    return logins.person(logins.mapped(found.group(1)) or found.group(1))


def _review(
    data: MergeRequestData,
    resets: bool,
    logins: Logins,
    bot_people: set[str],
    result: Imported,
    landed: set[Landing],
    history: GitHistory | None = None,
) -> Review:
    mr, source = data.merge_request, data.source
    iid = mr["iid"]
    expect(
        isinstance(mr.get("merged_at"), str),
        source,
        f"merge request !{iid} is merged but has no merged_at; expected {MRS}",
    )
    merged_ns = moment(mr["merged_at"], source, f"merge request !{iid} merged_at")
    author, _ = username(mr.get("author"))
    authors = {logins.person(logins.address(author))} if author else set()
    shas: list[str] = []
    for index, commit in enumerate(data.commits, start=1):
        expect(
            isinstance(commit, dict) and isinstance(commit.get("id"), str),
            source.parent / "commits.json",
            f"item #{index} is not a commit object with an id; expected {COMMITS}",
        )
        shas.append(commit["id"])
    writers = _writers(data.commits)
    authors |= {_person(value, logins) for _, _, value in writers if isinstance(value, str)}
    for landing in _landings(data):  # listed only where it holds only what was merged
        if landing in landed and landing.commit not in shas:
            shas.append(landing.commit)
    changed = retargeted(data, merged_ns)
    unnamed = logins.unnamed(writers)
    if unnamed:
        result.remarks.append(f"merge request !{iid}: {unnamed}: no approval of it counts")
    judge = _Approvals(
        mr["merged_at"], merged_ns, authors, bot_people, resets, logins, changed, unnamed,
        _last_push(data, merged_ns, result), reopened(data, merged_ns),
        _diffs(data, merged_ns, history), f"merge request !{iid}",
    )  # fmt: skip
    approvals = judge.counted(_approvers(data.approvals, source), source, result)
    reference = dig(mr, "references", "full")
    plain = {
        "change": reference if isinstance(reference, str) else f"!{iid}",
        "author": logins.address(author) if author else "unknown",
        "commits": shas,
        "approvals": approvals,
    }
    return validate(Review, Located(plain, 0), source, f"merge request !{iid}")


def _last_push(data: MergeRequestData, merged_ns: int, result: Imported) -> int | None:
    """When commits were last pushed before the merge, as the notes show: the last push note
    (:func:`pushed`), or, where that shows a later push (:func:`dropped`), the merge."""
    later = dropped(data, merged_ns)
    if not later:
        return pushed(data, merged_ns)
    result.remarks.append(
        f"merge request !{data.merge_request['iid']}: {later}, at a time nothing says, so no "
        "approval given before the merge counts unless its diff versions show that push kept "
        "the diff"
    )
    return merged_ns


def _diffs(data: MergeRequestData, merged_ns: int, history: GitHistory | None) -> Diffs:
    """What the merge request's diff versions show of the pushes before its merge."""
    where = data.versions_source or data.source.parent / gitlab_versions.VERSIONS_FILE
    versions = gitlab_versions.read_versions(
        data.versions, where, data.merge_request, merged_ns, data.saved
    )
    merged = (data.merge_request["sha"], merged_ns)
    links = push_links(data, merged_ns)
    return gitlab_versions.diffs(versions, merged, history, str(where), links)


@dataclass(frozen=True)
class _Approvals:
    """Which approvals of a merged merge request count, and which are left out, and why."""

    merged_at: str
    merged_ns: int
    authors: set[str]
    bot_people: set[str]
    resets: bool
    """Whether the project resets approvals on push (else an approval may predate a push)."""
    logins: Logins
    retargeted_ns: int | None = None
    """When the target branch was last changed before the merge, if it was."""
    unnamed: str = ""
    """Why a writer of one of its commits names nobody (``Logins.unnamed``), or empty."""
    pushed_ns: int | None = None
    """When commits were last pushed to it before the merge, if they were (:func:`pushed`)."""
    reopened_ns: int | None = None
    """When it was last closed or reopened before the merge, if it was (:func:`reopened`)."""
    diffs: Diffs = dataclasses.field(default_factory=Diffs)
    """Its diff versions: whether a push after an approval kept the diff it saw."""
    change: str = "the merge request"

    @property
    def last_push_ns(self) -> int | None:
        """When commits were last pushed before the merge: the last push note, or the last diff
        version, GitLab's record of every push, where saved (``Diffs.last_ns``)."""
        found = [ns for ns in (self.pushed_ns, self.diffs.last_ns) if ns is not None]
        return max(found, default=None)

    def counted(
        self, approvers: Iterable[tuple[Any, Any]], source: Path, result: Imported
    ) -> list[dict[str, str]]:
        """Each counting approval as ``{by, at}``; undated ones are recorded at the merge."""
        approvals, reasons = [], set()
        for index, (user, at) in enumerate(approvers, start=1):
            _check_bot(user, index, source)
            name, is_bot = username(user)
            if not name:
                result.left_out["without a user"] += 1
                continue
            address = self.logins.address(name)
            why = self._left_out(address, at, is_bot, source)
            if why:
                result.left_out[why] += 1
                reasons.add(why)
                self._said_bot(user, name, why, result)
                continue
            approvals.append(self._approval(address, at, source))
            result.counted += 1
            if not isinstance(at, str):
                result.notes["undated, recorded at the merge"] += 1
        why_not = self.diffs.why_not or next(iter(self.diffs.hidden.values()), "")
        if f"given (or undated) before {PUSHED_WHY}" in reasons and why_not:
            result.remarks.append(
                f"{self.change}: an approval older than a push counts only where the merge "
                f"request's diff versions show the push kept its diff: {why_not}"
            )
        return approvals

    def _said_bot(self, user: Any, name: str, why: str, result: Imported) -> None:
        """Names an approver left out as a bot's by its username alone, and what decided."""
        named = self.logins.person(self.logins.address(name)) in self.bot_people
        if why != "by a bot" or named or not bot_by_name(user):
            return
        result.remarks.append(
            f"{self.change}: the approval of {name} is left out as a bot's: its username has "
            "the shape GitLab gives an access token's user, and its user object has no bot "
            "field to say otherwise (GitLab's approvals give none; GET /users/ID does, and an "
            "approver saved with it is judged by it); review_bots does not name it, and no "
            "setting makes such a username a person's"
        )

    def _approval(self, address: str, at: Any, source: Path) -> dict[str, str]:
        """A counting approval as ``{by, at}``; one given before a push that kept its diff
        (``gitlab_versions``) as given on the merged head, whose diff it approved."""
        if not isinstance(at, str):
            return {"by": address, "at": self.merged_at}
        last = self.last_push_ns
        pushed = last is not None and moment(at, source, "approved_at") <= last
        if pushed and self.diffs.versions:
            return {"by": address, "at": at, "commit": self.diffs.versions[-1].head}
        return {"by": address, "at": at}

    def _left_out(self, address: str, at: Any, is_bot: bool, source: Path) -> str | None:
        if isinstance(at, str) and moment(at, source, "approved_at") > self.merged_ns:
            return "after the merge"
        if self.unnamed:
            return "a commit of the change has a writer who is not an identity"
        if self.logins.person(address) in self.authors:
            return "by an author of the change"
        if is_bot or self.logins.person(address) in self.bot_people:
            return "by a bot"
        if not self.resets:
            return "may predate the last push (approvals not reset on push)"
        given = moment(at, source, "approved_at") if isinstance(at, str) else None
        kept = self.diffs.unchanged_since(given)  # a rebase, or a push that kept the diff
        for since, why in (
            (self.retargeted_ns, "the merge request's target branch was changed"),
            (None if kept else self.last_push_ns, PUSHED_WHY),
            (self.reopened_ns, REOPENED_WHY),
        ):
            if since is not None and (given is None or given <= since):
                return f"given (or undated) before {why}"
        return None


PUSHED_WHY = "commits were pushed to the merge request"
REOPENED_WHY = (
    "the merge request was closed and reopened (a push while it was closed writes no note)"
)
