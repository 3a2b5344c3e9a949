"""``knightwatch import argocd``: deployment records from Argo CD Application objects, as
``kubectl get applications.argoproj.io -o json`` (a List), ``argocd app list -o json`` (an
array) or ``argocd app get -o json`` (one object) print them.

An application's ``status.history`` holds each successful sync: its ``revision`` (or, for an
application of several sources, ``revisions``), ``deployStartedAt``, ``deployedAt`` and
``initiatedBy``, appended in order (``id`` increasing; a history reordered, newest first, is
refused: the last entry is the one its health is judged for). Argo CD keeps no history of
failed syncs: only ``status.operationState``, the
latest operation, says that a sync ``Failed`` (or raised an ``Error``) or is still
``Running``; such a sync is recorded for its revision's rollout as ``failed``, with Argo CD's
message, and a running one leaves its rollout unfinished. An older failure that a later
operation replaced is not in the object, and cannot be imported.

Argo CD writes no history entry for a selective sync either (``argocd app sync --resource``:
``controller/sync.go`` records history only for a sync of the whole application that is no
dry run), though it changed the cluster: a selective sync that ``Succeeded`` is recorded as a
deployment of its revision, ``failed`` on its cluster with the resources it synced (the rest
of the application was not synced to that revision), so its commit is judged like any other
deployed commit. A dry run applied nothing and is left out with a note.

Nor does the history keep a sync of an application with ``spec.revisionHistoryLimit: 0``:
Argo CD appends the entry and cuts the history to the limit. A sync of the whole application
that ``Succeeded`` and that the history does not end with is read from the operation as the
entry it would have been, and judged as the last entry is (``_unrecorded_sync``).

A sync ``Succeeded`` once its manifests were applied; whether the workload then ran is the
application's ``status.health``, which describes what runs now, so only the latest sync's
(``argocd_health``): an older entry of the history keeps the tool's word that it succeeded.

The cluster of an application is ``--cluster`` when given (one Argo CD per cluster), else its
``spec.destination.name``, else the fleet.yaml cluster whose ``server`` is its
``spec.destination.server``, else that URL itself (which FLEET-004 then reports, being in no
inventory). Applications are chosen by ``--application`` (a name or glob, repeatable) or
``--application-set`` (those an ApplicationSet owns); with neither, every application read.
Two chosen applications on one cluster are refused: another service's sync of the same commit
(an ApplicationSet that makes ``checkout-CLUSTER`` and ``payments-CLUSTER``) must never count
as this service's.

When fleet.yaml gives the cluster a ``namespace``, an application whose
``spec.destination.namespace`` is another (or none) is left out with a note: it deploys
something else (``checkout-staging-*`` on the production cluster), and the cluster stays absent
from the rollout unless the service's own application synced it.

A sync of manifests from a local directory (``argocd app sync --local``: the CLI sends them in
``operation.sync.manifests``) applied what no commit holds. Argo CD 2.1 on writes its history
entry without a revision; 2.0 and before resolved the application's branch and wrote that
commit, as if the sync were from git. Either is recorded ``failed``, a move of its own, filed
under the revision its entry names, else the one synced from git before it
(``_locals_failed``); with none before it, refused.

A sync whose source the Application itself overrode (``argocd app set --kustomize-image`` or
``--helm-set``, Argo CD Image Updater's default ``argocd`` write-back, ``kubectl patch``:
``kustomize.images``, ``helm.parameters``, ``helm.values``, ``plugin.env`` and the others
``OVERRIDES`` names) deployed what the Application says over what git holds, in the cluster's
object and no commit: recorded ``failed``, a move of its own, under the revision it names, the
overrides in its reason (``_overrides``); so is one whose Helm value files are read from
another repository than ``--source-repo`` or a URL (``_value_files``), one whose kustomize
components are fetched from outside the repository (``_components``), and one of several
sources where another source renders manifests from another repository, a Helm chart
repository's chart included (``_another_repository``). Each history entry
records the source it synced; one that records none is read with the Application's ``spec``,
as it is now. An override is no override where the commit the sync recorded declares the
Application (an app of apps' manifests in the repository deployed) setting exactly the same
(``in_git``); what is read from outside the repository never is.

A failed or running operation whose revision names no commit (``HEAD``, a branch, none at
all: manifest generation failed before a revision was chosen) is left out with a note: its
cluster stays absent from the rollout it missed, which FLEET-001 reports.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence.manifest_scope import Folder
from checker.evidence.manifests import NOT_AN_OBJECT, field_value
from checker.evidence.models import Status
from checker.importers import (
    argocd_health,
    argocd_ignored,
    argocd_parents,
    argocd_replicas,
)
from checker.importers.common import dig, expect, moment, named_ref, read_objects
from checker.importers.gitops import LOCAL, OVERRIDDEN, SetInObject, Sync
from checker.importers.k8s_shapes import objects, time_text

WHAT = (
    "Argo CD Application objects (kubectl get applications.argoproj.io -o json, or argocd "
    "app get/list -o json)"
)
FAILED: dict[str, Status] = {"Failed": "failed", "Error": "failed"}
RUNNING = ("Running", "Terminating")
GROUP = "argoproj.io"
"""The API group of an Application: a manifest of it in git must name it (``in_git``)."""
IN_CLUSTER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"
"""How an application names the cluster its Argo CD runs on (Argo CD's default cluster)."""
OVERRIDES = (
    ("kustomize", "images"),
    ("kustomize", "patches"),
    ("kustomize", "replicas"),
    ("helm", "parameters"),
    ("helm", "fileParameters"),
    ("helm", "values"),
    ("helm", "valuesObject"),
    ("plugin", "env"),
    ("plugin", "parameters"),
    ("directory", "jsonnet", "extVars"),
    ("directory", "jsonnet", "tlas"),
)
"""The fields of an Application's source (``ApplicationSource`` in Argo CD's
``pkg/apis/application/v1alpha1/types.go``) that change what is rendered from the files git
holds: images, patches, replica counts, Helm parameters and values, a plugin's environment and
parameters, Jsonnet variables. Set in the Application, they are no commit's content."""


@dataclass(frozen=True)
class Selection:
    """Which applications are the service's, and where each runs."""

    applications: tuple[str, ...] = ()
    application_set: str | None = None
    cluster: str | None = None
    source_repo: str | None = None
    servers: tuple[tuple[str, str], ...] = ()
    """fleet.yaml's (server URL, cluster name) pairs for the service."""
    namespaces: tuple[tuple[str, str], ...] = ()
    """fleet.yaml's (cluster name, namespace) pairs for the service, where it gives one."""
    reconciliation: int = 180
    """How often Argo CD compares each application, in seconds: argocd-cm's
    ``timeout.reconciliation`` and its jitter (``argocd_health.newest_comparison``)."""


def read_applications(path: Path) -> list[dict[str, Any]]:
    """Every Application object in the file."""
    return read_objects(
        path,
        WHAT,
        "an Argo CD Application (metadata.name, spec)",
        lambda i: isinstance(i.get("spec"), dict) and i.get("kind", "Application") == "Application",
    )


def _owners(item: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    name = item["metadata"]["name"]
    return objects(
        dig(item, "metadata", "ownerReferences"),
        path,
        f"application {name}: metadata.ownerReferences",
    )


def chosen(items: list[dict[str, Any]], selection: Selection, path: Path) -> list[dict[str, Any]]:
    """The service's applications among ``items``; none at all is an error."""
    picked = []
    for item in items:
        name = item["metadata"]["name"]
        owners = _owners(item, path)
        if selection.applications and not any(
            fnmatch.fnmatchcase(name, glob) for glob in selection.applications
        ):
            continue
        if selection.application_set and not any(
            o.get("kind") == "ApplicationSet" and o.get("name") == selection.application_set
            for o in owners
        ):
            continue
        picked.append(item)
    if not picked:
        names = ", ".join(sorted(i["metadata"]["name"] for i in items)[:12]) or "none"
        raise InputError(
            "no application in this file matches "
            + (
                f"--application {', '.join(selection.applications)}"
                if selection.applications
                else f"--application-set {selection.application_set}"
            )
            + f" (applications here: {names})",
            path=str(path),
        )
    return picked


def syncs(
    items: list[dict[str, Any]], selection: Selection, path: Path, notes: list[str] | None = None
) -> list[Sync]:
    """Every sync the chosen applications record; two applications on one cluster are
    refused. An application that deploys to another namespace than fleet.yaml gives the
    service on its cluster is left out, and ``notes`` says so."""
    found: list[Sync] = []
    on: dict[str, str] = {}
    newest = argocd_health.newest_comparison(items, selection.reconciliation)
    for item in chosen(items, selection, path):
        name = item["metadata"]["name"]
        cluster = _cluster(item, selection, path)
        elsewhere = _other_namespace(item, cluster, selection, path)
        if elsewhere:
            if notes is not None:
                notes.append(f"application {name} left out: {elsewhere}")
            continue
        if cluster in on:
            raise InputError(
                f"applications {on[cluster]} and {name} both deploy to cluster {cluster}: "
                "another service's sync of a commit must never count as this one's, and one "
                "application's history is one cluster's",
                path=str(path),
                hint="choose the service's applications alone with --application NAME (a glob)",
            )
        on[cluster] = name
        _check_not_of_applications(item, path)
        own = _application_syncs(item, cluster, selection, path, notes, newest)
        found += _placed(own, argocd_parents.folder(item, items, selection.source_repo))
    return found


def _placed(syncs: list[Sync], folder: Folder | str) -> list[Sync]:
    """``syncs``, what each Application sets over its revision looked for only in ``folder``,
    the one its app of apps applies (``argocd_parents``)."""
    return [
        replace(sync, set_in_object=replace(sync.set_in_object, folder=folder))
        if sync.set_in_object is not None
        else sync
        for sync in syncs
    ]


def _check_not_of_applications(item: dict[str, Any], path: Path) -> None:
    """Refuse an application that deploys Argo CD applications (an app of apps): its sync
    applied the child Application objects, whose own syncs deploy the workloads, and Argo CD
    assesses no health of a child application (since 1.8), so its history and health say
    nothing of what any cluster runs."""
    name = item["metadata"]["name"]
    resources = objects(
        dig(item, "status", "resources"), path, f"application {name}: status.resources"
    )
    children = sorted(
        str(r.get("name"))
        for r in resources
        if r.get("group") == "argoproj.io" and r.get("kind") in ("Application", "ApplicationSet")
    )
    if children:
        shown = ", ".join(children[:3]) + (f" and {len(children) - 3} more" if children[3:] else "")
        raise InputError(
            f"application {name} deploys Argo CD applications ({shown}): its syncs applied "
            "those Application objects, not the service's workloads, so they say nothing of "
            "what the clusters run",
            path=str(path),
            hint="import the applications that deploy the service (--application NAME, or "
            "--application-set NAME)",
        )


def _other_namespace(
    item: dict[str, Any], cluster: str, selection: Selection, path: Path
) -> str | None:
    """Why the application does not deploy the service where fleet.yaml says it runs on its
    cluster, or None: another namespace (``checkout-staging-*`` on the production cluster), or
    none named (its manifests then choose, and nothing here says which)."""
    wanted = dict(selection.namespaces).get(cluster)
    if wanted is None:
        return None
    given = dig(item, "spec", "destination", "namespace")
    expect(
        given is None or isinstance(given, str),
        path,
        f"application {item['metadata']['name']}: spec.destination.namespace is not a string",
    )
    if given == wanted:
        return None
    where = f"namespace {given}" if given else "no namespace (spec.destination.namespace)"
    return (
        f"it deploys to {where} on cluster {cluster}, where fleet.yaml runs the service in "
        f"namespace {wanted}"
    )


def _cluster(item: dict[str, Any], selection: Selection, path: Path) -> str:
    name = item["metadata"]["name"]
    destination = dig(item, "spec", "destination")
    expect(
        destination is None or isinstance(destination, dict),
        path,
        f"application {name}: spec.destination is not an object",
    )
    destination = destination or {}
    for key in ("name", "server"):
        expect(
            destination.get(key) is None or isinstance(destination[key], str),
            path,
            f"application {name}: spec.destination.{key} is not a string",
        )
    if selection.cluster:
        _check_own_cluster(name, destination, selection, path)
        return selection.cluster
    if destination.get("name"):
        return str(destination["name"])
    server = destination.get("server")
    for url, cluster in selection.servers:
        if server == url:
            return cluster
    if server:
        return str(server)
    raise InputError(
        f"application {name}: spec.destination names no cluster",
        path=str(path),
        hint="pass --cluster NAME",
    )


def _check_own_cluster(
    name: str, destination: dict[str, Any], selection: Selection, path: Path
) -> None:
    """Refuse ``--cluster`` for an application whose destination names another cluster:
    ``--cluster`` is for an Argo CD that deploys to the cluster it runs on, and calling another
    cluster's sync this one's would hide the cluster the rollout missed."""
    wanted = selection.cluster
    named, server = destination.get("name"), destination.get("server")
    own_servers = {url for url, cluster in selection.servers if cluster == wanted}
    if named and named not in (IN_CLUSTER_NAME, wanted):
        other = f"cluster {named} (spec.destination.name)"
    elif server and server != IN_CLUSTER and server not in own_servers:
        other = f"{server} (spec.destination.server)"
    else:
        return
    raise InputError(
        f"application {name} deploys to {other}, not to --cluster {wanted}: its syncs are that "
        "cluster's, and must never count as this one's",
        path=str(path),
        hint=f"pass the applications of {wanted} alone, or leave out --cluster; where the URL "
        f"is {wanted}'s API server, give the cluster its server: in fleet.yaml",
    )


def _revision(
    entry: dict[str, Any], origin: str, selection: Selection, path: Path, *, required: bool
) -> str:
    """The revision of the service's source in a history entry or sync result ("" when it
    names none and none is ``required``)."""
    single = entry.get("revision")
    revisions = entry.get("revisions")
    expect(
        revisions is None
        or (isinstance(revisions, list) and all(isinstance(r, str) for r in revisions)),
        path,
        f"{origin}: revisions is not a list of revisions",
    )
    expect(single is None or isinstance(single, str), path, f"{origin}: revision is not text")
    if revisions:
        return _of_sources(entry, revisions, origin, selection, path)
    if not single:
        if not required:
            return ""
        raise InputError(f"{origin}: no revision recorded", path=str(path))
    repo = dig(entry, "source", "repoURL")
    if (
        selection.source_repo
        and isinstance(repo, str)
        and not same_repository(repo, selection.source_repo)
    ):
        raise InputError(
            f"{origin}: synced {repo}, not --source-repo {selection.source_repo}",
            path=str(path),
            hint="choose the applications that deploy the service's repository",
        )
    return str(single)


def _of_sources(
    entry: dict[str, Any], revisions: list[str], origin: str, selection: Selection, path: Path
) -> str:
    """The revision of the service's source in a multi-source entry: the one of
    ``--source-repo``, or the only one."""
    sources = entry.get("sources") or []
    expect(
        isinstance(sources, list) and all(isinstance(s, dict) for s in sources),
        path,
        f"{origin}: sources is not a list of sources",
    )
    repos = [dig(s, "repoURL") for s in sources]
    if selection.source_repo is None:
        if len(revisions) == 1:
            return str(revisions[0])
        raise InputError(
            f"{origin}: the application deploys {len(revisions)} sources "
            f"({', '.join(str(r) for r in repos)}); which is built from --repo?",
            path=str(path),
            hint="pass --source-repo URL",
        )
    ours = [
        number
        for number, repo in enumerate(repos)
        if isinstance(repo, str) and same_repository(repo, selection.source_repo)
    ]
    if len(repos) == len(revisions) and ours:
        return _one_revision([revisions[n] for n in ours], ours, origin, selection, path)
    raise InputError(
        f"{origin}: no source is --source-repo {selection.source_repo} "
        f"(sources: {', '.join(str(r) for r in repos)})",
        path=str(path),
    )


def _one_revision(
    found: list[str], numbers: list[int], origin: str, selection: Selection, path: Path
) -> str:
    """The revision of the sources ``numbers`` (those of ``--source-repo``): several are
    refused, since each source of the repository may deploy manifests, one revision cannot
    stand for the others, and which one Argo CD listed first proves nothing."""
    revisions = sorted(set(found))
    if len(revisions) > 1:
        raise InputError(
            f"{origin}: sources {', '.join(str(n + 1) for n in numbers)} are all "
            f"--source-repo {selection.source_repo}, at different revisions "
            f"({', '.join(revisions)}): one deployment record cannot name what the sync deployed",
            path=str(path),
            hint="deploy the repository from one revision in the application (a ref: source "
            "of it at the same targetRevision), or record these syncs by hand",
        )
    return str(revisions[0])


def same_repository(left: str, right: str) -> bool:
    """Whether two repository URLs name one repository, as Argo CD's ``git.SameURL`` compares
    them (``util/git/git.go``, ``NormalizeGitURL``): case, surrounding white space, a trailing
    ``.git`` (or slash) and the ``git@host:path`` form of an SSH URL aside."""
    return _normalized(left) == _normalized(right)


def _normalized(url: str) -> str:
    url = url.strip().lower()
    scp = re.fullmatch(r"([^/:@]+@[^/:]+):(?!//)(.*)", url)
    if scp:
        url = f"{scp.group(1)}/{scp.group(2)}"
    return url.removeprefix("ssh://").removesuffix("/").removesuffix(".git")


def _is_source_repo(source: dict[str, Any], selection: Selection) -> bool:
    repo = source.get("repoURL")
    return (
        isinstance(repo, str)
        and selection.source_repo is not None
        and same_repository(repo, selection.source_repo)
    )


def _target_ref(entry: dict[str, Any], selection: Selection) -> str | None:
    """The branch or tag the operator named for the service's source (its ``targetRevision``),
    for the record's ``ref``. A Helm chart's version, a sha, ``HEAD`` or a name git does not
    allow is no ref: left out, never refused (a ref is never judged)."""
    source = entry.get("source")
    sources = entry.get("sources")
    if isinstance(sources, list) and sources:
        chosen = [
            s
            for s in sources
            if isinstance(s, dict) and (_is_source_repo(s, selection) or len(sources) == 1)
        ]
        source = chosen[0] if len(chosen) == 1 else None
    if not isinstance(source, dict) or "chart" in source:
        return None
    return named_ref(source.get("targetRevision"))


def _initiator(entry: dict[str, Any], origin: str, path: Path) -> tuple[str | None, bool]:
    """Who started a sync, and whether the tool did (an automated sync)."""
    by = entry.get("initiatedBy")
    if by is None:
        return None, False
    expect(isinstance(by, dict), path, f"{origin}: initiatedBy is not an object")
    username, automated = by.get("username"), by.get("automated")
    expect(
        (username is None or isinstance(username, str))
        and (automated is None or isinstance(automated, bool)),
        path,
        f"{origin}: initiatedBy holds neither a username nor automated: true",
    )
    if username:
        expect(
            username.strip() == username and username.isprintable(),
            path,
            f"{origin}: initiatedBy.username {username!r} holds white space or control characters",
        )
        return str(username), automated is True
    if automated is True:
        return "argocd (automated sync)", True
    return None, False


def _time(value: Any, origin: str, field: str, path: Path) -> str:
    return time_text(value, path, f"{origin}: {field}")[0]


def _application_syncs(
    item: dict[str, Any],
    cluster: str,
    selection: Selection,
    path: Path,
    notes: list[str] | None = None,
    newest: argocd_health.Compared | None = None,
) -> list[Sync]:
    name = item["metadata"]["name"]
    status = item.get("status")
    expect(
        status is None or isinstance(status, dict),
        path,
        f"application {name}: status is not an object",
    )
    history = dig(item, "status", "history") or []
    expect(isinstance(history, list), path, f"application {name}: status.history is not a list")
    found = [
        _synced(entry, number, name, cluster, selection, path)
        for number, entry in enumerate(history, start=1)
    ]
    _check_order(history, found, name, path)
    unrecorded = _unrecorded_sync(item, history, path)
    if unrecorded is not None:
        entry, origin = unrecorded
        found.append(_synced(entry, len(history) + 1, name, cluster, selection, path, origin))
        item = {**item, "status": {**item["status"], "history": [*history, entry]}}
        if notes is not None:
            notes.append(f"{origin}: read from status.operationState")
    latest = _latest_operation(item, cluster, selection, path, notes)
    found, latest = _overrides_read(item, found, latest, selection.source_repo, path)
    local = _local_operation(item, path)
    if found and local is not None and latest is None and found[-1].started_at == local:
        found[-1] = replace(found[-1], local=True)  # the history entry of that operation
    if found and not found[-1].local:
        # The last history entry is the latest deployment of its revision: the sync status
        # judges it whatever came after; the health too, unless another revision's operation
        # came after it (a failed or running sync's health is that operation's).
        own = latest is None or latest.revision == found[-1].revision
        found[-1] = _health_judged(item, found[-1], path, (own, newest), selection.source_repo)
    if latest is not None:
        found.append(replace(latest, local=True) if local is not None else latest)
    # An application that never synced is in no rollout: FLEET-001 names its cluster.
    return _locals_failed(found, name, path)


def _health_judged(
    item: dict[str, Any],
    sync: Sync,
    path: Path,
    judging: tuple[bool, argocd_health.Compared | None],
    repo: str | None,
) -> Sync:
    """The last history entry as the application's health and sync status judge it
    (``argocd_health.judged``), with the replica count it ignores where it stands on them
    (``argocd_replicas.marked``). One its overrides made ``failed`` stays so; what it was
    before is judged instead, for ``in_git`` to give back where the commit's manifest sets
    them. ``judging`` says whether the health is the sync's own, and which application of the
    listing Argo CD compared last (``argocd_health.judged``)."""
    setting = sync.set_in_object
    own, newest = judging

    def judged(one: Sync) -> Sync:
        return argocd_replicas.marked(
            item, argocd_health.judged(item, one, path, health=own, newest=newest), repo, path
        )

    if sync.overrides is None:
        return judged(sync)
    if setting is None or setting.before is None:
        return sync
    before = judged(setting.before)
    return replace(sync, set_in_object=replace(setting, before=before))


def _overrides_read(
    item: dict[str, Any], found: list[Sync], latest: Sync | None, repo: str | None, path: Path
) -> tuple[list[Sync], Sync | None]:
    """The syncs of the history (``item``'s, each beside its entry) and the latest operation,
    each ``failed`` where the source it rendered overrides what git holds (``_overridden``)."""
    entries = item["status"]["history"] if found else []
    found = [
        _read(sync, entry, item, repo, path) for sync, entry in zip(found, entries, strict=True)
    ]
    if latest is not None:
        result = _object(dig(item, "status", "operationState", "syncResult"))
        latest = _read(latest, result, item, repo, path)
    return found, latest


def _read(
    sync: Sync, entry: dict[str, Any], item: dict[str, Any], repo: str | None, path: Path
) -> Sync:
    """``sync`` as what its history entry or sync result records of its sources makes it."""
    sources = _sources(entry, item, sync.origin, path)
    return _overridden(_as_listed(sync, entry), sources, item, repo, path)


def _as_listed(sync: Sync, entry: dict[str, Any]) -> Sync:
    """``sync``, marked ``as_listed`` where its entry records no source (an older Argo CD): its
    overrides are then read from the Application's ``spec`` as it is now (``_sources``)."""
    return replace(sync, as_listed=not (entry.get("sources") or entry.get("source") is not None))


def _sources(
    entry: dict[str, Any], item: dict[str, Any], origin: str, path: Path
) -> list[tuple[str, Any]]:
    """The sources a history entry or sync result records it synced, named as its fields are
    (``source``, ``sources[N]``); where it records none (an older Argo CD), the Application's
    ``spec`` ones, as they are now."""
    for where, what in ((entry, ""), (_object(item.get("spec")), "spec.")):
        if where.get("sources"):
            listed = where["sources"]
            expect(isinstance(listed, list), path, f"{origin}: {what}sources is not a list")
            return [(f"{what}sources[{n}]", s) for n, s in enumerate(listed)]
        if where.get("source") is not None:
            return [(f"{what}source", where["source"])]
    return []


def _overrides(
    sources: list[tuple[str, Any]], origin: str, repo: str | None, path: Path
) -> list[str]:
    """Each of ``OVERRIDES`` the sources set, as ``source.kustomize.images`` (with the images or
    the names it sets where it lists them), and value files from outside ``repo``
    (``_value_files``)."""
    found = []
    for field, source in sources:
        expect(isinstance(source, dict), path, f"{origin}: {field} is not an object")
        for keys in OVERRIDES:
            value: Any = source
            for depth, key in enumerate(keys[:-1]):
                value = value.get(key)
                where = f"{field}.{'.'.join(keys[: depth + 1])}"
                expect(value is None or isinstance(value, dict), path, f"{origin}: {where} "
                       "is not an object")  # fmt: skip
                value = value or {}
            value = value.get(keys[-1])
            if value in (None, "", [], {}):
                continue
            shown = [_named(v) for v in value] if isinstance(value, list) else []
            found.append(
                f"{field}.{'.'.join(keys)}"
                + (f" ({', '.join(shown[:3])}{' ...' if shown[3:] else ''})" if shown else "")
            )
    return found + _outside_git(sources, origin, repo, path)


def _outside_git(
    sources: list[tuple[str, Any]], origin: str, repo: str | None, path: Path
) -> list[str]:
    """What the sources read from outside ``repo``: value files (``_value_files``), kustomize
    components (``_components``), sources of another repository that render
    (``_another_repository``). No manifest in the repository makes them the commit's."""
    found = []
    for field, source in sources:
        found += _value_files(field, source, sources, repo, origin, path)
        found += _components(field, source, origin, path)
        found += _another_repository(field, source, sources, repo)
    return found


def _another_repository(
    field: str, source: dict[str, Any], sources: list[tuple[str, Any]], repo: str | None
) -> list[str]:
    """A source of a multi-source application that renders manifests (it names a ``path`` or
    a ``chart``) from another repository than ``--source-repo``: Argo CD applies what every
    source renders (the last one's where two render the same resource), so a second source
    from a hotfix repository deployed what the commit judged does not hold. A ``ref`` source
    alone (value files only) renders nothing (``_value_files`` judges what it gives)."""
    if len(sources) < 2 or repo is None:
        return []
    url = source.get("repoURL")
    renders = [key for key in ("path", "chart") if source.get(key) not in (None, "")]
    if not renders or (isinstance(url, str) and same_repository(url, repo)):
        return []
    what = ", ".join(f"{key} {source[key]!r}" for key in renders)
    return [f"{field} ({url!r}, {what}: another repository than --source-repo)"]


def _components(field: str, source: dict[str, Any], origin: str, path: Path) -> list[str]:
    """``kustomize.components`` that kustomize fetches from outside the repository as it
    renders (a URL, ``git@host:...``, ``github.com/org/repo//path?ref=...``). A component at a
    path of the repository (``../../components/tracing``) is read from the revision synced, as
    a value file of the chart's path is: the commit's."""
    listed = dig(source, "kustomize", "components")
    expect(
        listed is None or (isinstance(listed, list) and all(isinstance(c, str) for c in listed)),
        path,
        f"{origin}: {field}.kustomize.components is not a list of paths",
    )
    outside = [repr(name) for name in listed or [] if not _in_repository(name)]
    if not outside:
        return []
    more = " ..." if outside[3:] else ""
    return [f"{field}.kustomize.components ({', '.join(outside[:3])}{more})"]


def _in_repository(name: str) -> bool:
    """Whether a kustomize target is a path of the repository: no scheme, user, query or
    ``//`` (what marks a remote target), nor a host (a first folder named with a dot, as
    ``github.com`` is; ``.``, ``..`` and hidden folders aside)."""
    first = name.split("/", 1)[0]
    remote = any(mark in name for mark in (":", "@", "?", "//"))
    return not remote and ("." not in first or first.startswith("."))


def _value_files(
    field: str,
    source: dict[str, Any],
    sources: list[tuple[str, Any]],
    repo: str | None,
    origin: str,
    path: Path,
) -> list[str]:
    """``helm.valueFiles`` read from outside ``--source-repo`` (the repository judged): a URL,
    or a ``$REF/...`` file of a source (``ref: REF``) of another repository, or of none. A file
    of the chart's own path, or of a ``ref`` source of the repository, is the commit's."""
    files = dig(source, "helm", "valueFiles")
    expect(
        files is None or (isinstance(files, list) and all(isinstance(f, str) for f in files)),
        path,
        f"{origin}: {field}.helm.valueFiles is not a list of files",
    )
    refs = {s.get("ref"): s.get("repoURL") for _, s in sources if isinstance(s, dict)}
    outside = [repr(name) for name in files or [] if _outside(name, refs, repo)]
    if not outside:
        return []
    return [f"{field}.helm.valueFiles ({', '.join(outside[:3])}{' ...' if outside[3:] else ''})"]


def _named(value: Any) -> str:
    """An override as shown: an image as written, a parameter or variable by its name."""
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return repr(value["name"])
    return repr(value) if isinstance(value, str) else "..."


def _outside(name: str, refs: dict[Any, Any], repo: str | None) -> bool:
    """Whether a value file is read from outside ``repo``: a URL, or ``$REF/...`` where the
    source ``ref: REF`` is of another repository (or there is none)."""
    if "://" in name:
        return True
    if not name.startswith("$"):
        return False
    url = refs.get(name[1:].split("/", 1)[0])
    return not (isinstance(url, str) and repo is not None and same_repository(url, repo))


def _overridden(
    sync: Sync, sources: list[tuple[str, Any]], item: dict[str, Any], repo: str | None, path: Path
) -> Sync:
    """``sync`` as ``failed``, a move of its own, where the sources it synced override what git
    holds (``OVERRIDES``), or it left fields as they were live (``argocd_ignored``: read from
    the spec as listed, so ``as_listed``); as it is otherwise. What it was before is kept for
    ``in_git``: the Application's manifest in the commit synced may set the same."""
    left = argocd_ignored.left_live(item, path)
    found = _overrides(sources, sync.origin, repo, path) + left
    if not found:
        return sync
    outside = _outside_git(sources, sync.origin, repo, path)
    namespace = dig(item, "metadata", "namespace")
    barred = [f"{'; '.join(outside)}: read from outside the repository, which no manifest in "
              "it makes the commit's"] if outside else []  # fmt: skip
    barred += [argocd_ignored.BARRED] if left else []
    setting = SetInObject(
        group=GROUP,
        kind="Application",
        name=item["metadata"]["name"],
        namespace=namespace if isinstance(namespace, str) else None,
        fields=_fields(sources) + _destination(item.get("spec")),
        reader=_manifest_fields,
        barred="; ".join(barred) or None,
        recorded_only=True,
        before=sync,
        folder=argocd_parents.UNREAD,
    )
    return replace(
        sync,
        set_in_object=setting,
        status="failed",
        reason=f"{OVERRIDDEN}: {'; '.join(found)}: what the cluster runs since is not what "
        f"revision {sync.revision} holds",
        health=None,
        overrides="; ".join(found),
        applied_at=sync.finished_at if sync.status == "succeeded" else sync.applied_at,
        as_listed=sync.as_listed or bool(left),
    )


RENDERING = (
    ("repoURL",),
    ("path",),
    ("chart",),
    ("ref",),
    ("helm", "valueFiles"),
    ("helm", "releaseName"),
    ("helm", "version"),
    ("kustomize", "components"),
    ("kustomize", "namePrefix"),
    ("kustomize", "nameSuffix"),
    ("kustomize", "namespace"),
    ("kustomize", "commonLabels"),
    ("kustomize", "commonAnnotations"),
    ("directory", "recurse"),
    ("directory", "include"),
    ("directory", "exclude"),
    ("plugin", "name"),
)
"""The other fields of a source that choose what is rendered from the commit, or how (its
repository, folder, chart, value files, components, names and namespace, which files of a
directory): no override where the Application is not declared in git, since they render the
commit's files alone, but compared with its manifest where one is to stand for what the sync
rendered (``in_git``)."""


def _fields(sources: list[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Each of ``OVERRIDES`` and ``RENDERING`` of each source, named as in a manifest
    (``source.helm.values``, ``sources[1].kustomize.images``), as ``field_value`` reads it
    (``directory.recurse: false``, Argo CD's default, as unset)."""
    return tuple(
        (
            f"{field.removeprefix('spec.')}.{'.'.join(keys)}",
            field_value(None if dig(source, *keys) is False else source, keys),
        )
        for field, source in sources
        for keys in OVERRIDES + RENDERING
    )


DESTINATION = ("namespace", "name", "server")
"""The fields of an Application's ``spec.destination``: where what it renders is applied. One
pointed at another namespace or cluster by hand (``argocd app set --dest-namespace``) deploys
the commit elsewhere than its manifest says, and the namespace the service runs in keeps what
it ran; the history records no destination, so the Application's as listed is compared."""


def _destination(spec: Any) -> tuple[tuple[str, str], ...]:
    """Each of ``DESTINATION``, named as in a manifest (``destination.namespace``), as
    ``field_value`` reads it."""
    return tuple(
        (f"destination.{key}", field_value(spec, ("destination", key))) for key in DESTINATION
    )


def _manifest_fields(document: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``_fields`` of an Application manifest's ``spec.sources``, else its ``spec.source``,
    and its ``spec.destination``."""
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return (("spec", NOT_AN_OBJECT),)
    listed = spec.get("sources")
    if listed:
        if not isinstance(listed, list):
            return (("spec.sources", NOT_AN_OBJECT),)
        found = _fields([(f"sources[{n}]", s) for n, s in enumerate(listed)])
    else:
        found = _fields([("source", spec["source"])]) if spec.get("source") is not None else ()
    return found + _destination(spec)


def _local_operation(item: dict[str, Any], path: Path) -> str | None:
    """When the latest operation started, where it synced manifests from a local directory
    (``argocd app sync --local``: the CLI sends them in ``operation.sync.manifests``, and Argo
    CD applies them instead of what git holds); None otherwise."""
    operation, _ = argocd_health.status_part(item, "operationState", "phase", path)
    manifests = dig(operation or {}, "operation", "sync", "manifests")
    name = item["metadata"]["name"]
    expect(
        manifests is None
        or (isinstance(manifests, list) and all(isinstance(m, str) for m in manifests)),
        path,
        f"application {name}: operation.sync.manifests is not a list of manifests",
    )
    if not manifests:
        return None
    return _time((operation or {}).get("startedAt"), f"application {name}", "startedAt", path)


def _locals_failed(found: list[Sync], name: str, path: Path) -> list[Sync]:
    """Each sync of local manifests as ``failed``, filed under the revision it names, else
    (Argo CD 2.1 on records none) under the revision the application synced from git before
    it: a move of its own (``Sync.local``), so that the cluster is not taken to run that
    commit, or any, from then on."""
    out: list[Sync] = []
    for sync in found:
        if not sync.local:
            out.append(sync)
            continue
        before = next((s for s in reversed(out) if s.revision and not s.local), None)
        named = sync if sync.revision else before
        if named is None:
            raise InputError(
                f"{sync.origin}: {LOCAL} (argocd app sync --local; Argo CD records no revision "
                f"for one) and application {name} records no sync from git before it: what it "
                "deployed is no commit's",
                path=str(path),
                hint="record this deployment by hand, its cluster failed",
            )
        out.append(
            replace(
                sync,
                revision=named.revision,
                commit=named.commit,
                variant=named.variant,
                status="failed",
                reason=f"{LOCAL} (argocd app sync --local), not from git: what the cluster "
                "runs since is no commit's"
                + (f" (filed under {named.revision}, synced before it)" if named is before else ""),
                health=None,
                operation=False,
                ref=None,
                set_in_object=None,
            )
        )
    return out


def _check_order(history: list[Any], found: list[Sync], name: str, path: Path) -> None:
    """Refuse a history that is not in Argo CD's order: it appends each sync (``id`` one more
    than the last one's, ``deployedAt`` the time it ended), and the last entry is the one the
    health and sync status are judged for. A history sorted newest first, or otherwise
    reordered, would lend the application's health to an older sync and leave the latest one
    succeeded on Argo CD's word alone."""
    ids = [entry.get("id") for entry in history]
    if all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        expect(
            all(a < b for a, b in itertools.pairwise(ids)),
            path,
            f"application {name}: status.history ids {ids} are not increasing, as Argo CD "
            "appends them: the last entry must be the latest sync",
        )
    ended = [moment(sync.finished_at, path, sync.origin) for sync in found]
    expect(
        not ended or ended[-1] == max(ended),
        path,
        f"application {name}: status.history's last entry ({found[-1].origin if found else ''}) "
        "is not its latest sync (deployedAt): the last entry must be the latest sync, as Argo "
        "CD appends them",
    )


def _unrecorded_sync(
    item: dict[str, Any], history: list[Any], path: Path
) -> tuple[dict[str, Any], str] | None:
    """The latest operation as the history entry Argo CD did not keep, with where it was read,
    when it is a sync of the whole application that succeeded and the history does not end
    with its revision; None otherwise. Argo CD appends such a sync to the history and then cuts
    the history to ``spec.revisionHistoryLimit``, so with a limit of 0 it keeps none: the sync
    changed the cluster all the same, and its commit must be judged. The operation holds what
    the entry would (revision and sources, start, end, initiator)."""
    name = item["metadata"]["name"]
    operation, phase = argocd_health.status_part(item, "operationState", "phase", path)
    if phase != "Succeeded":
        return None
    dry_run, resources = _requested(operation, f"application {name}, operation {phase}", path)
    result = operation.get("syncResult")
    expect(
        result is None or isinstance(result, dict),
        path,
        f"application {name}, operation {phase}: syncResult is not an object",
    )
    result = result or {}
    if dry_run or resources or (history and _revisions(history[-1]) == _revisions(result)):
        return None
    entry = {
        key: result[key] for key in ("revision", "revisions", "source", "sources") if key in result
    }
    entry |= {
        "deployStartedAt": operation.get("startedAt"),
        "deployedAt": operation.get("finishedAt"),
        "initiatedBy": dig(operation, "operation", "initiatedBy"),
    }
    limit = dig(item, "spec", "revisionHistoryLimit")
    return entry, (
        f"application {name}, operation {phase} (a sync its status.history does not keep"
        + (f": spec.revisionHistoryLimit {limit}" if limit is not None else "")
        + ")"
    )


def _revisions(entry: Any) -> set[str]:
    """The revisions a history entry or sync result names (``revisions``, else ``revision``),
    whatever their order or form."""
    if not isinstance(entry, dict):
        return set()
    found = entry.get("revisions") or [entry.get("revision")]
    return {str(r) for r in (found if isinstance(found, list) else [found]) if r}


def _latest_operation(
    item: dict[str, Any],
    cluster: str,
    selection: Selection,
    path: Path,
    notes: list[str] | None,
) -> Sync | None:
    """The last operation, where the history does not hold it: one that failed or still runs,
    or a selective sync (Argo CD records history only for a sync of the whole application).
    None for a sync the history holds, a dry run (which applies nothing) or no operation."""
    name = item["metadata"]["name"]
    operation, phase = argocd_health.status_part(item, "operationState", "phase", path)
    if not operation or phase is None:
        return None
    if phase not in FAILED and phase not in RUNNING and phase != "Succeeded":
        raise InputError(f"application {name}: unknown operation phase {phase!r}", path=str(path))
    dry_run, resources = _requested(operation, f"application {name}, operation {phase}", path)
    if dry_run:
        if notes is not None:
            notes.append(f"application {name}: its last operation, a dry run, applied nothing")
        return None
    if phase == "Succeeded" and not resources:
        return None
    return _operation(operation, str(phase), name, cluster, selection, path, resources)


def _requested(operation: dict[str, Any], origin: str, path: Path) -> tuple[bool, list[str]]:
    """Whether the operation was a dry run, and the resources a selective sync named
    (``KIND NAME``; none for a sync of the whole application)."""
    sync = dig(operation, "operation", "sync")
    expect(
        sync is None or isinstance(sync, dict), path, f"{origin}: operation.sync is not an object"
    )
    dry_run = (sync or {}).get("dryRun")
    expect(
        dry_run is None or isinstance(dry_run, bool),
        path,
        f"{origin}: operation.sync.dryRun is not true or false",
    )
    named = objects((sync or {}).get("resources"), path, f"{origin}: operation.sync.resources")
    resources = []
    for resource in named:
        kind, name = resource.get("kind"), resource.get("name")
        expect(
            isinstance(kind, str) and bool(kind) and isinstance(name, str) and bool(name),
            path,
            f"{origin}: operation.sync.resources names a resource without kind and name",
        )
        resources.append(f"{kind} {name}")
    return dry_run is True, resources


def _operation_revision(
    operation: dict[str, Any],
    requested: dict[str, Any] | None,
    origin: str,
    selection: Selection,
    path: Path,
) -> str:
    """The revision an operation synced, else (manifest generation failed first) the one it
    was asked for."""
    result = operation.get("syncResult")
    expect(
        result is None or isinstance(result, dict), path, f"{origin}: syncResult is not an object"
    )
    sync = dig(requested, "sync")
    expect(
        sync is None or isinstance(sync, dict), path, f"{origin}: operation.sync is not an object"
    )
    return _revision(result or {}, origin, selection, path, required=False) or _revision(
        sync or {}, origin, selection, path, required=False
    )


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _synced(
    entry: Any,
    number: int,
    name: str,
    cluster: str,
    selection: Selection,
    path: Path,
    origin: str | None = None,
) -> Sync:
    """A sync the application's history keeps (or would have kept: ``origin`` says where it
    was read): one that succeeded."""
    expect(
        isinstance(entry, dict),
        path,
        f"application {name}, history entry #{number}: not a history entry",
    )
    origin = origin or f"application {name}, history id {entry.get('id')}"
    finished = _time(entry.get("deployedAt"), origin, "deployedAt", path)
    started = _time(entry.get("deployStartedAt") or finished, origin, "deployStartedAt", path)
    expect(
        moment(started, path, origin) <= moment(finished, path, origin),
        path,
        f"{origin}: deployStartedAt {started} is after deployedAt {finished}",
    )
    initiator, automated = _initiator(entry, origin, path)
    # Argo CD (2.1 on) records no revision only for a sync of local manifests.
    revision = _revision(entry, origin, selection, path, required=False)
    return Sync(
        cluster=cluster,
        origin=origin,
        revision=revision,
        local=not revision,
        ref=_target_ref(entry, selection) if revision else None,
        started_at=started,
        finished_at=finished,
        status="succeeded",
        initiator=initiator,
        automated=automated,
        path=str(path),
        sequence=_history_id(entry),
    )


def _history_id(entry: dict[str, Any]) -> int | None:
    """A history entry's ``id``, which Argo CD's controller sets one higher for each sync of
    the Application (``_check_order``); None where it gives none."""
    found = entry.get("id")
    return found if isinstance(found, int) and not isinstance(found, bool) and found >= 0 else None


def _operation(
    operation: dict[str, Any],
    phase: str,
    name: str,
    cluster: str,
    selection: Selection,
    path: Path,
    resources: list[str],
) -> Sync:
    """The last operation, which the history does not keep: failed, running, or a selective
    sync. A selective sync is a deployment of its revision on the cluster, ``failed`` with
    what it synced: the rest of the application still runs what it ran before."""
    origin = f"application {name}, operation {phase}" + (" (selective sync)" if resources else "")
    requested = operation.get("operation")
    expect(
        requested is None or isinstance(requested, dict),
        path,
        f"{origin}: operation is not an object",
    )
    revision = _operation_revision(operation, requested, origin, selection, path)
    started = _time(operation.get("startedAt"), origin, "startedAt", path)
    finished = None
    if phase not in RUNNING:
        finished = _time(operation.get("finishedAt") or started, origin, "finishedAt", path)
    initiator, automated = _initiator(requested or {}, origin, path)
    return Sync(
        cluster=cluster,
        origin=origin,
        revision=revision,
        ref=_target_ref(_object(operation.get("syncResult")), selection),
        started_at=started,
        finished_at=finished,
        status="failed",
        reason=_reason(operation, phase, resources),
        initiator=initiator,
        automated=automated,
        path=str(path),
        # A selective sync that succeeded changed the cluster: its revision must name a commit
        # (or be mapped to one), as a history entry's must.
        operation=phase != "Succeeded",
    )


def _reason(operation: dict[str, Any], phase: str, resources: list[str]) -> str:
    """Why the cluster did not reach the operation's revision."""
    message = operation.get("message")
    message = message.strip() if isinstance(message, str) else ""
    shown = ", ".join(resources[:3]) + (f" and {len(resources) - 3} more" if resources[3:] else "")
    if phase == "Succeeded":
        return (
            f"Argo CD synced only {shown} (a selective sync): the application's other "
            "resources were not synced to this revision"
        )
    if phase in RUNNING:
        how = "the sync was still running when the application was listed"
    else:
        how = f"Argo CD sync {phase}" + (f": {message}" if message else "")
    return how + (f" (a selective sync of {shown})" if resources else "")
