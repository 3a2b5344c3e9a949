"""``knightwatch import github-deployments``: deployment records from GitHub's deployments,
their statuses, and the environment approvals of the workflow run that made them.

Input, as the API documents it (``gh api --include --paginate`` writes it), or fetched directly:

- ``DEPLOYMENTS.json``: ``GET /repos/{owner}/{repo}/deployments``;
- ``DIR/<id>/statuses.json``: ``GET .../deployments/{id}/statuses``;
- ``DIR/<id>/approvals.json`` (optional): ``GET .../actions/runs/{run_id}/approvals`` of the
  run named in the statuses' ``log_url`` or ``target_url`` (protected environments);
- ``DIR/<id>/run.json`` (needed when the statuses link a workflow run, or the deployment's
  creator is a bot): ``GET .../actions/runs/{run_id}``, whose ``triggering_actor`` is the
  deployer, whoever created the deployment (a machine user's token creates a pipeline's
  deployments).

Saved output is read for the repository ``--repository`` names (``OWNER/REPO``): GitHub gives
every deployment and every status the API's addresses of its repository (``url``,
``repository_url``), and each one given must name that repository (regardless of case, as
GitHub's names are), at the API of ``--api-url``; a deployment that gives none is refused, since
nothing ties it to the repository (fetched, the request names it).

A saved list of deployments or statuses must show itself whole (``github_pages``): every page
with its headers, whose ``Link`` numbers it. A body saved without its headers may have lost a
page (one page, then the empty page asked past a lost page 2, looks whole), and is refused: the
deployments on the lost page, a failure among them, would be missing.

A deployment's outcome is its last terminal status: ``success`` is ``succeeded``, ``failure``
or ``error`` is ``failed`` (``inactive``, set when a later deployment replaced it, changes
nothing). One that may have started (an ``in_progress``, ``pending`` or ``queued`` status) with
no terminal status yet, or with no status at all, is recorded unfinished (``failed``, no end)
until a later import sees it finish; one that never started (``waiting``, or a ``failure``
after ``waiting`` alone: rejected by its reviewers) is passed over. GitHub deletes statuses
after 90 days: a deployment with none left (or only ``inactive``), created more than 90 days
before the import, is refused unless the evidence holds its record already. It started at its
first ``in_progress`` status (else its creation) and finished at its terminal status. Statuses
are ordered by date, then id (GitHub dates them to the second). A status may move its
deployment to another environment (its ``environment``): the record's is the one in force at
the terminal status (for an unfinished one, its last status), and ``--environment`` chooses by
it. GitHub's environment names are the same in any case: ``--environment production`` chooses a
deployment to ``Production`` too, and records it under the name given; without
``--environment``, one environment spelt two ways is refused.

GitHub does not date environment approvals. GitHub moves a deployment to a protected
environment past ``waiting`` only once its required reviewers approved, so an approval is
recorded at the deployment's first status that is neither ``waiting`` nor ``pending``: no
earlier than the approval itself. Only ``approved`` entries naming the deployment's
environment count; rejections and pending reviews do not. GitHub lists a run's approvals
together, naming neither the deployment nor the attempt (a re-run) they approved, and gives the
run as of its last attempt: a deployment made by the first of two attempts is its ``actor``'s;
and where the run made another deployment that may have gone to the same environment (one
whose statuses GitHub deleted, and so name no run, counts when made within the 30 days a run
may be re-run), or the attempt that made it cannot be told, the run's approvals are left out.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.models import Deployment, Status
from checker.importers import github_pages
from checker.importers.common import (
    Logins,
    dig,
    expect,
    moment,
    named_ref,
    read_json,
    read_list,
)
from checker.importers.forge_deploys import Deployments, Facts, Scope, listed_once, record
from checker.importers.forge_origins import Origin
from checker.importers.github import login_of

DEPLOYMENTS = "GitHub deployment objects (GET /repos/{owner}/{repo}/deployments)"
STATUSES = "GitHub deployment status objects (GET .../deployments/{id}/statuses)"
APPROVALS = "GitHub environment approvals (GET .../actions/runs/{run_id}/approvals)"
RUN = "a GitHub workflow run object (GET .../actions/runs/{run_id})"
WHOLE = (
    "save every page with its headers, 'gh api --include --paginate ...{what}?per_page=100' "
    "(the docs' commands); or fetch with --repository alone"
)
RUN_URL = re.compile(r"/actions/runs/(\d+)")
DEPLOYMENT_ADDRESSES = (
    ("url", "/deployments/{id}"),
    ("repository_url", ""),
    ("statuses_url", "/deployments/{id}/statuses"),
)
"""The API addresses GitHub gives a deployment, each after its repository's
(``API/repos/OWNER/REPO``)."""
STATUS_ADDRESSES = ("url", "deployment_url", "repository_url")
"""The API addresses GitHub gives a deployment status; which deployment it is of is checked
apart (``_check_own``)."""
TERMINAL: dict[str, Status] = {"success": "succeeded", "failure": "failed", "error": "failed"}
STATES = frozenset({*TERMINAL, "inactive", "in_progress", "pending", "queued", "waiting"})
"""Every state GitHub gives a deployment status (its REST documentation of deployment
statuses: ``state``)."""
STARTED = frozenset({"in_progress", "pending", "queued"})
"""The states that say a deployment may have started. ``in_progress`` says it is running;
``pending`` is what a deploy tool that creates the deployment itself posts as it begins (the
API's first state, before ``in_progress`` existed: chrnorm/deployment-action's default), and
``queued`` what GitHub Actions posts once a job is released to its runner, and tools post
likewise. A job killed after either, before its outcome, leaves it so for ever, its commit on
some hosts. Only ``waiting`` (for the environment's reviewers) says no job has run."""


@dataclass(frozen=True)
class DeploymentData:
    """One deployment's objects, and the file (or URL) each came from."""

    deployment: dict[str, Any]
    statuses: list[Any]
    approvals: list[Any] | None
    run: dict[str, Any] | None
    source: Path


def run_id(statuses: list[Any]) -> str | None:
    """The workflow run a deployment's statuses link to, if any."""
    for status in statuses:
        for key in ("log_url", "target_url"):
            found = RUN_URL.search(str(dig(status, key) or ""))
            if found:
                return found.group(1)
    return None


def check_deployment(item: Any, index: int, source: Path) -> None:
    """Refuse an item that is not a deployment object."""
    expect(
        isinstance(item, dict)
        and isinstance(item.get("id"), int)
        and isinstance(item.get("sha"), str)
        and isinstance(item.get("environment"), str)
        and isinstance(item.get("created_at"), str),
        source,
        f"item #{index} is not a deployment object (id, sha, environment, created_at); "
        f"expected {DEPLOYMENTS}",
    )
    # Its start where no status says the run began: read here, naming this file, not later
    # as a record's started_at (which named the deployment's statuses.json).
    moment(item["created_at"], source, f"item #{index} (deployment {item['id']}) created_at")


def check_repository(item: dict[str, Any], index: int, origin: Origin, source: Path) -> None:
    """Refuse a saved deployment that is not ``origin``'s, or that names no repository: each
    address GitHub gives it must be of the repository, and its own must be this deployment's."""
    where = f"item #{index} (deployment {item['id']})"
    given = []
    for field, after in DEPLOYMENT_ADDRESSES:
        rest = origin.check(item, field, where, source)
        expect(
            rest is None or rest.rstrip("/") == after.format(id=item["id"]),
            source,
            f"{where}: {field} {item.get(field)!r} is not deployment {item['id']}'s address "
            f"(.../repos/OWNER/REPO{after.format(id=item['id'])}); expected {DEPLOYMENTS}",
        )
        given.append(rest is not None)
    expect(
        any(given),
        source,
        f"{where} names no repository (no url, repository_url or statuses_url: trimmed), so "
        f"nothing shows it is {origin.repository}'s; save it whole, or import with "
        f"--repository {origin.repository} alone, which fetches its deployments",
    )


def check_status_repositories(statuses: list[Any], origin: Origin, source: Path) -> None:
    """Refuse a saved status whose addresses name another repository than ``origin``'s."""
    for index, status in enumerate(statuses, start=1):
        if isinstance(status, dict):
            where = f"item #{index} (status {status.get('id')})"
            for field in STATUS_ADDRESSES:
                origin.check(status, field, where, source)


def import_saved(
    path: Path, folder: Path, scope: Scope, logins: Logins, origin: Origin
) -> Deployments:
    """Deployment records from saved API output, every one of it ``origin``'s."""
    items = github_pages.read_list(path, DEPLOYMENTS, WHOLE.format(what="deployments"))
    for index, item in enumerate(items, start=1):
        check_deployment(item, index, path)
        check_repository(item, index, origin, path)
    items, remarks = listed_once(items, path)
    found = []
    seen = set()
    for item in items:
        seen.add(item["environment"])
        here = folder / str(item["id"])
        statuses_path = here / "statuses.json"
        if not _chosen(item, statuses_path, scope, origin):
            continue
        expect(
            statuses_path.is_file(),
            statuses_path,
            f"missing for deployment {item['id']}: without its statuses its outcome is unknown "
            "(fetch it with gh api, see the docs)",
        )
        approvals_path, run_path = here / "approvals.json", here / "run.json"
        approvals = read_list(approvals_path, APPROVALS) if approvals_path.is_file() else None
        run = read_json(run_path, RUN) if run_path.is_file() else None
        expect(run is None or isinstance(run, dict), run_path, f"expected {RUN}")
        statuses = _statuses(statuses_path, origin)
        found.append(DeploymentData(item, statuses, approvals, run, statuses_path))
    result = deployments(found, scope, logins, seen)
    result.remarks.extend(remarks)
    return result


def _chosen(item: dict[str, Any], statuses_path: Path, scope: Scope, origin: Origin) -> bool:
    """Whether a listed deployment may have gone to a chosen environment: its own, or one
    that a status saved for it names (a status may move a deployment to another). Its
    statuses must be saved whatever it is listed for: left out, one that a status moved to a
    chosen environment, a failure perhaps, was passed over without a word."""
    if not scope.environments or named(item["environment"], scope.environments):
        return True
    expect(
        statuses_path.is_file(),
        statuses_path,
        f"missing for deployment {item['id']}, listed for {item['environment']!r}: a status "
        f"may move a deployment to another environment ({', '.join(scope.environments)} "
        "among them), and only its statuses say whether one did; save every listed "
        "deployment's statuses, as the docs' commands do, not only those of the environments "
        "imported",
    )
    statuses = _statuses(statuses_path, origin)
    return any(named(dig(status, "environment"), scope.environments) for status in statuses)


def named(environment: Any, chosen: tuple[str, ...]) -> str | None:
    """The name in ``chosen`` (``--environment``) of ``environment``: GitHub's environment
    names are the same in any case (a workflow's ``environment: Production`` deploys to the
    environment ``production``), so ``--environment production`` chooses it too."""
    if not isinstance(environment, str):
        return None
    return next((name for name in chosen if name.casefold() == environment.casefold()), None)


def _statuses(path: Path, origin: Origin) -> list[Any]:
    """A deployment's saved statuses, every page of them, each ``origin``'s."""
    statuses = github_pages.read_list(path, STATUSES, WHOLE.format(what="statuses"))
    check_status_repositories(statuses, origin, path)
    return statuses


def reached(item: dict[str, Any], statuses: list[Any], last: int) -> str:
    """The environment a deployment is in after its status at index ``last`` (date order):
    GitHub lets a status change it (its ``environment``); one that names none keeps the
    previous status's, else the deployment's own."""
    named = [dig(s, "environment") for s in statuses[: last + 1]]
    return next((e for e in reversed(named) if isinstance(e, str) and e), item["environment"])


def deployments(
    found: list[DeploymentData], scope: Scope, logins: Logins, seen: set[str]
) -> Deployments:
    """Records of the finished deployments among ``found``; ``seen``, the environments of
    every deployment listed."""
    result = Deployments(environments={named(e, scope.environments) or e for e in seen})
    spellings: dict[str, Deployment] = {}
    runs = _by_run(found)
    for data in found:
        # Checked with the listing (check_deployment), naming its file.
        created = moment(data.deployment["created_at"], data.source, "deployment created_at")
        if scope.created_since is not None and created < scope.created_since:
            result.passed_over["created before --since"] += 1
            continue
        if _forgotten(data, created):
            ident = f"{_repository(data.deployment)}/deployments/{data.deployment['id']}"
            result.forgotten[ident] = (str(data.deployment["id"]), data.source)
            continue
        facts = _facts(data, logins, result, runs.get(run_id(data.statuses) or "", []))
        if facts is None:
            continue
        chosen = named(facts.environment, scope.environments)
        result.environments.add(chosen or facts.environment)
        if scope.environments and chosen is None:
            result.passed_over[f"moved to {facts.environment} by a status"] += 1
            continue
        made = record(replace(facts, environment=chosen or facts.environment), scope, data.source)
        _refuse_two_spellings(made, spellings, data.source)
        result.records.append(made)
    return result


def _refuse_two_spellings(made: Deployment, spellings: dict[str, Deployment], source: Path) -> None:
    """Deployments to one GitHub environment spelt two ways (``Production``, ``production``:
    the same environment to GitHub) would be two environments to the checks, which judge each
    deployment against the others of its environment (a flag switched on in ``production``
    would not see a failed ``Production`` deployment): refused, unless ``--environment`` names
    it, and its every spelling is recorded under that name. ``spellings``: the first record
    of each environment, by its name case folded."""
    other = spellings.setdefault(made.environment.casefold(), made)
    if other.environment != made.environment:
        raise InputError(
            f"deployment {made.id} went to {made.environment!r}, and deployment {other.id} to "
            f"{other.environment!r}: one GitHub environment (its names are the same in any "
            "case), which the checks would take for two",
            path=str(source),
            hint="give --environment with the name the rest of the evidence uses (--environment "
            f"{other.environment.lower()}): every spelling of it is recorded under that name",
        )


def _forgotten(data: DeploymentData, created: int) -> bool:
    """Whether GitHub has deleted the statuses that said whether the deployment ran and how it
    ended: it keeps a deployment's statuses for 90 days and lists the deployment for ever, so
    an old deployment has none left, or only the ``inactive`` a later deployment added. One
    that has not finished still shows its ``queued``, ``pending`` or ``waiting``, and is
    judged by them: it lost nothing.

    Only a deployment created more than 90 days before the import can have lost them: the
    export was saved no later than now, so one younger than that had every status it was
    given: none means no status was posted (yet), and it is recorded unfinished (``_ending``).
    ``created``: when the deployment was created (ns)."""
    _check_own(data)
    for index, status in enumerate(data.statuses, start=1):
        _check_status(status, index, data.source)
    if not all(status["state"] == "inactive" for status in data.statuses):
        return False
    return created < time.time_ns() - KEPT_NS


KEPT_NS = 90 * 24 * 3600 * 1_000_000_000
"""How long GitHub keeps a deployment's statuses (its REST documentation: 90 days)."""


def _by_run(found: list[DeploymentData]) -> dict[str, list[DeploymentData]]:
    """The deployments each workflow run (its id) may have made: those whose statuses link it,
    and those whose statuses link no run, created within ``RERUN_NS`` of one of them. GitHub
    deletes a deployment's statuses after 90 days, the first attempt's before a re-run's made
    up to 30 days later: its deployment, its run no longer named, is still one of the run's,
    whose approvals GitHub lists with the re-run's."""
    runs: dict[str, list[DeploymentData]] = {}
    unlinked: list[tuple[int, int, DeploymentData]] = []
    for index, data in enumerate(found):
        linked = run_id(data.statuses)
        if linked is None:
            unlinked.append((_created(data), index, data))
        else:
            runs.setdefault(linked, []).append(data)
    unlinked.sort(key=lambda entry: entry[:2])
    times = [made for made, _, _ in unlinked]
    for made in runs.values():
        near: dict[int, DeploymentData] = {}
        for created in {_created(data) for data in made}:
            low = bisect_left(times, created - RERUN_NS)
            high = bisect_right(times, created + RERUN_NS)
            near.update((index, data) for _, index, data in unlinked[low:high])
        made.extend(near[index] for index in sorted(near))
    return runs


RERUN_NS = 30 * 24 * 3600 * 1_000_000_000
"""How long after it began GitHub lets a workflow run be re-run (its Actions documentation:
30 days), so how far apart two deployments of one run can be made."""


def _created(data: DeploymentData) -> int:
    """When a deployment was created (ns; checked with the listing, naming its file)."""
    return moment(data.deployment["created_at"], data.source, "deployment created_at")


def _facts(
    data: DeploymentData, logins: Logins, result: Deployments, siblings: list[DeploymentData]
) -> Facts | None:
    """What GitHub says of one deployment; ``siblings``, every deployment of its run (itself
    too), whose approvals GitHub lists together. None for one that never started."""
    item, source = data.deployment, data.source
    _check_own(data)
    dated = []
    for index, status in enumerate(data.statuses, start=1):
        _check_status(status, index, source)
        dated.append((moment(status["created_at"], source, "status created_at"), status))
    # GitHub dates statuses to the second: of two in the same second, the later id is later.
    dated.sort(key=lambda pair: (pair[0], pair[1]["id"]))
    statuses = [s for _, s in dated]
    if _stopped_waiting(statuses):
        result.passed_over["stopped while waiting for its reviewers"] += 1
        return None
    ending = _ending(statuses)
    if ending is None:
        result.passed_over["not started"] += 1
        return None
    last, outcome, finished_at, reason = ending
    environment = reached(item, statuses, last)
    running = [s for s in statuses if s["state"] == "in_progress"]
    started_at = running[0]["created_at"] if running else item["created_at"]
    released = [s for s in statuses if s["state"] not in ("waiting", "pending")]
    deployer = _deployer(data, logins)
    released_at = str(released[0]["created_at"]) if released else None
    shared = _shared(data, environment, siblings)
    approvals = _approvals(data, environment, released_at, logins, result, shared)
    full_name = _repository(item)
    return Facts(
        ident=f"{full_name}/deployments/{item['id']}",
        environment=environment,
        commit=item["sha"],
        started_at=str(started_at),
        finished_at=finished_at,
        deployer=deployer,
        status=outcome,
        approvals=tuple(approvals),
        ref=named_ref(item.get("ref"), item["sha"]),
        reason=reason,
    )


def _stopped_waiting(statuses: list[dict[str, Any]]) -> bool:
    """Whether a deployment ended while held ``waiting``, its job never released: a reviewer
    rejected it, its protection rules failed, or it waited past 30 days, and GitHub posted a
    ``failure`` (or ``error``) after its ``waiting`` alone. ``waiting`` is GitHub Actions' own
    (the API's create-status takes no such state), and a job it released shows ``queued``:
    recorded failed, the commit the environment's protection stopped was judged as deployed."""
    states = [s["state"] for s in statuses if s["state"] != "inactive"]
    return (
        len(states) >= 2 and states[-1] in ("failure", "error") and set(states[:-1]) == {"waiting"}
    )


def _ending(statuses: list[dict[str, Any]]) -> tuple[int, Status, str | None, str | None] | None:
    """How a deployment ended, from its statuses in date order: the index of the status that
    says so, the outcome, when it ended, and why its hosts failed where the outcome alone does
    not say it. A deployment ends at its last terminal status. One that may have started (an
    ``in_progress``, ``pending`` or ``queued`` status: see ``STARTED``) and has none is
    unfinished: ``failed``, with no end, until an import sees it finish. It may have put its
    commit on hosts already, or stopped for good (a job killed before it posted its outcome, a
    tool that marked it ``inactive``); passed over, its commit and its approvals would never be
    judged. So is one with no status (or only ``inactive``): a deploy tool that creates the
    deployment posts its first status once it began, or never, killed on the way. None for one
    that never started: held ``waiting`` for its reviewers, who never released the job."""
    terminal = [i for i, s in enumerate(statuses) if s["state"] in TERMINAL]
    if terminal:
        ended = statuses[terminal[-1]]
        return terminal[-1], TERMINAL[ended["state"]], str(ended["created_at"]), None
    states = {s["state"] for s in statuses}
    if "waiting" in states and not states & STARTED:
        return None
    if not statuses:
        reason = (
            "the deployment has not finished: GitHub holds no status of it, so whether it "
            "started, and how it ended, is unknown"
        )
        return -1, "failed", None, reason
    last = statuses[-1]
    reason = (
        f"the deployment has not finished: it may have started, and its last status is "
        f"{last['state']} ({last['created_at']}), with no success, failure or error status"
    )
    return len(statuses) - 1, "failed", None, reason


def _check_status(status: Any, index: int, source: Path) -> None:
    """Refuse an item that is not a deployment status; its id, an integer, orders the
    statuses GitHub dates in one second, and its state is one of GitHub's (``STATES``): read
    as none of them, a ``FAILURE`` after a success left the deployment succeeded."""
    expect(
        isinstance(status, dict)
        and isinstance(status.get("id"), int)
        and not isinstance(status["id"], bool)
        and isinstance(status.get("state"), str)
        and isinstance(status.get("created_at"), str),
        source,
        f"item #{index} is not a deployment status (id, state, created_at; the id an integer, "
        f"which orders statuses dated in one second); expected {STATUSES}",
    )
    expect(
        status["state"] in STATES,
        source,
        f"item #{index} (status {status['id']}) has the state {status['state']!r}, none of "
        f"GitHub's ({', '.join(sorted(STATES))}), so what it says of the deployment is "
        f"unknown; expected {STATUSES}",
    )


def _approvals(
    data: DeploymentData,
    environment: str,
    released_at: str | None,
    logins: Logins,
    result: Deployments,
    shared: str | None = None,
) -> list[tuple[str, str]]:
    """The environment approvals that approved this deployment's environment, each as who
    and when the deployment was released (the first status past waiting); the others are
    counted as left out, with why. ``shared``: why the run's approvals of the environment
    may be another deployment's (see :func:`_shared`), which leaves them all out."""
    source = data.source
    approvals = []
    for index, entry in enumerate(data.approvals or [], start=1):
        expect(
            isinstance(entry, dict)
            and isinstance(entry.get("state"), str)
            and isinstance(entry.get("environments"), list)
            and all(isinstance(dig(e, "name"), str) for e in entry["environments"]),
            source.parent / "approvals.json",
            f"item #{index} is not an environment approval (state, environments with their "
            f"names, user); expected {APPROVALS}",
        )
        names = {e["name"].casefold() for e in entry["environments"]}
        login, _ = login_of(entry.get("user"))
        if entry["state"] != "approved":
            result.approvals_left_out[f"{entry['state']}, not approved"] += 1
        elif environment.casefold() not in names:
            result.approvals_left_out["for another environment"] += 1
        elif shared:
            result.approvals_left_out[shared] += 1
        elif not login or released_at is None:
            result.approvals_left_out["without a user or a release status"] += 1
        else:
            approvals.append((logins.address(login), released_at))
    return approvals


def _deployer(data: DeploymentData, logins: Logins) -> str:
    """Who deployed: the person who started the attempt of the workflow run that made the
    deployment (see :func:`_starter`), where run.json is saved; else the deployment's creator,
    who must then not be a bot. A machine user's token (a ``User`` account) creates the
    deployments of a pipeline that people start: the creator alone would hide a
    self-approval."""
    item, source = data.deployment, data.source
    login, is_bot = login_of(item.get("creator"))
    actor, actor_is_bot = login_of(_starter(data))
    if actor and not actor_is_bot:
        return logins.address(actor)
    expect(
        bool(login) and not is_bot,
        source.parent / "run.json",
        f"deployment {item['id']} was created by {login or 'no user'}, a bot, and no workflow "
        "run names the person who started it: save the run (gh api "
        "repos/OWNER/REPO/actions/runs/RUN_ID) as run.json, or the deployer would be the bot "
        "and no approval could ever be a self-approval",
    )
    return logins.address(login)


def _attempts(data: DeploymentData) -> int | None:
    """How many attempts the deployment's workflow run has had (``run_attempt``: 2 once
    re-run); 1 without a run; None for a run that does not say (a server older than the field,
    or the field trimmed): it may have been re-run. A ``run_attempt`` in another shape than
    GitHub's (a positive integer) is refused: read as 1, a re-run's deployment was given the
    first attempt's starter, and approvals of another attempt."""
    if data.run is None:
        return 1
    if "run_attempt" not in data.run:
        return None
    attempts = data.run["run_attempt"]
    expect(
        type(attempts) is int and attempts >= 1,
        data.source.parent / "run.json",
        f"run_attempt {attempts!r} is not a number of attempts (1, 2, ...: GitHub's field, an "
        f"integer), so whether the run was re-run cannot be told; expected {RUN}",
    )
    return int(attempts)


def _attempt(data: DeploymentData) -> int | None:
    """The attempt of its workflow run that made the deployment, as far as the run object
    shows it, which GitHub gives as of the run's last attempt: that one when the deployment
    was made once it began (``run_started_at``), the first when the run had two and it was
    made before; None when it cannot be told (made before the last of three attempts or more,
    or a re-run whose object does not say when its last attempt began, or a run that does not
    say how many attempts it had)."""
    attempts = _attempts(data)
    began = dig(data.run, "run_started_at")
    if attempts == 1:
        return 1
    if attempts is None or not isinstance(began, str):
        return None
    where = data.source.parent / "run.json"
    made = moment(data.deployment["created_at"], data.source, "deployment created_at")
    if made >= moment(began, where, "run_started_at"):
        return attempts
    return 1 if attempts == 2 else None


def _starter(data: DeploymentData) -> Any:
    """The user who started the attempt of the run that made the deployment: the run's
    ``triggering_actor`` started its last attempt, and its ``actor`` the first (GitHub keeps
    no other). A deployment of an attempt that cannot be told is given the last one's, and no
    approval (:func:`_shared`)."""
    run = data.run
    if _attempt(data) == 1 and _attempts(data) != 1:
        return dig(run, "actor")
    return dig(run, "triggering_actor") or dig(run, "actor")


def _shared(data: DeploymentData, environment: str, siblings: list[DeploymentData]) -> str | None:
    """Why the run's approvals of ``environment`` may not be this deployment's: GitHub lists
    a run's approvals together, each naming environments and who approved, not the
    deployment nor the attempt it approved. A run that made another deployment that may have
    gone to the environment (a re-run's, or another job's) may hold its approvals alone (one
    the deployer gave himself would be credited with another's); and one whose attempt cannot
    be told has a deployer no approval can be compared with. ``siblings`` holds too the
    deployments near it whose statuses link no run (see :func:`_by_run`): GitHub deleted those
    of an earlier attempt's deployment, which may hold the approvals alone."""
    if _attempts(data) is None:
        return "of a run that does not say its attempts (no run_attempt)"
    if _attempt(data) is None:
        return "of a re-run, the attempt that deployed unknown"
    folded = environment.casefold()
    for other in siblings:
        if other.deployment["id"] == data.deployment["id"]:
            continue
        names = [other.deployment["environment"], *(dig(s, "environment") for s in other.statuses)]
        if not any(isinstance(name, str) and name.casefold() == folded for name in names):
            continue
        if run_id(other.statuses) is None:
            return "of a run that may have deployed there before (statuses naming no run)"
        return "of a run that deployed there more than once (they name no deployment)"
    return None


def _check_own(data: DeploymentData) -> None:
    """The statuses and the run saved for a deployment are its own: each status names its
    deployment (``deployment_url``, which GitHub gives every status: one without it could be
    any deployment's, a success saved for a failure), and the run is the one the statuses
    link to."""
    item, source = data.deployment, data.source
    for index, status in enumerate(data.statuses, start=1):
        url = dig(status, "deployment_url")
        expect(
            isinstance(url, str),
            source,
            f"item #{index} names no deployment_url (.../repos/OWNER/REPO/deployments/"
            f"{item['id']}), which ties it to its deployment: trimmed, it could be any "
            f"deployment's status; expected {STATUSES} of deployment {item['id']}, whole",
        )
        expect(
            url.rstrip("/").endswith(f"/deployments/{item['id']}"),
            source,
            f"item #{index} is a status of another deployment ({url}), saved for deployment "
            f"{item['id']}; expected {STATUSES} of deployment {item['id']}",
        )
    linked, saved = run_id(data.statuses), dig(data.run, "id")
    expect(
        data.run is not None or data.approvals is None,
        source.parent / "run.json",
        f"missing for deployment {item['id']}: approvals.json holds a workflow run's "
        "environment approvals, and without the run its triggering_actor (who deployed) is "
        "unknown: save the run as run.json beside them",
    )
    expect(
        data.run is not None or linked is None,
        source.parent / "run.json",
        f"missing for deployment {item['id']}: its statuses link workflow run {linked}, whose "
        "triggering_actor is who deployed (the creator may be the pipeline's machine user); "
        f"save it with 'gh api repos/OWNER/REPO/actions/runs/{linked}'",
    )
    expect(
        data.run is None or linked is None or str(saved) == linked,
        source.parent / "run.json",
        f"this is workflow run {saved}, but deployment {item['id']}'s statuses link to run "
        f"{linked}; expected {RUN} of run {linked}",
    )


def _repository(item: dict[str, Any]) -> str:
    url = str(item.get("repository_url") or item.get("url") or item.get("statuses_url") or "")
    match = re.search(r"/repos/([^/]+/[^/]+)", url)
    return match.group(1) if match else "github"
