"""AppProject (``argoproj.io/v1alpha1``) as gitward reads it: the fence around applications.

A typed, validated view of the fields Argo CD defines. Two distinctions Argo CD
makes are kept exactly, because they decide what may be deployed:

- ``namespaceResourceWhitelist`` absent (None) allows every namespaced kind, while
  an empty list allows none; ``clusterResourceWhitelist`` absent or empty allows
  no cluster-scoped kind at all;
- ``sourceRepos`` and ``destinations`` entries starting with ``!`` deny.

Parsing is pure: every problem is a :class:`~gitward.model.errors.ConfigError`
naming the field (``AppProject team-a: spec.destinations[2].namespace``).
``signatureKeys`` (GnuPG commit verification) is refused with a clear error
rather than accepted and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from gitward.model.durations import DurationError, parse_duration
from gitward.model.errors import ConfigError
from gitward.model.source_spec import FieldReader

DEFAULT_PROJECT = "default"
MAX_ENTRIES = 1000
WINDOW_KINDS = ("allow", "deny")


@dataclass(frozen=True)
class GroupKind:
    group: str
    kind: str


@dataclass(frozen=True)
class ProjectDestination:
    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class OrphanedIgnore:
    group: str = ""
    kind: str = ""
    name: str = ""


@dataclass(frozen=True)
class OrphanedResources:
    warn: bool = False
    ignore: tuple[OrphanedIgnore, ...] = ()


@dataclass(frozen=True)
class SyncWindow:
    kind: str
    schedule: str
    duration_seconds: float
    duration: str
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    time_zone: str = ""
    and_operator: bool = False


@dataclass(frozen=True)
class JWTToken:
    issued_at: int
    expires_at: int = 0
    id: str = ""


@dataclass(frozen=True)
class ProjectRole:
    name: str
    description: str = ""
    policies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    jwt_tokens: tuple[JWTToken, ...] = ()


@dataclass(frozen=True)
class DestinationServiceAccount:
    server: str
    namespace: str
    default_service_account: str


@dataclass(frozen=True)
class AppProject:
    """One AppProject's rules; ``namespace`` is where it lives (gitward's namespace)."""

    name: str
    namespace: str = ""
    description: str = ""
    source_repos: tuple[str, ...] = ()
    source_namespaces: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    cluster_resource_whitelist: tuple[GroupKind, ...] = ()
    cluster_resource_blacklist: tuple[GroupKind, ...] = ()
    namespace_resource_whitelist: tuple[GroupKind, ...] | None = None
    namespace_resource_blacklist: tuple[GroupKind, ...] = ()
    orphaned_resources: OrphanedResources | None = None
    sync_windows: tuple[SyncWindow, ...] = ()
    roles: tuple[ProjectRole, ...] = ()
    permit_only_project_scoped_clusters: bool = False
    destination_service_accounts: tuple[DestinationServiceAccount, ...] = ()
    tokens_by_role: dict[str, tuple[JWTToken, ...]] = field(default_factory=dict)

    def role(self, name: str) -> ProjectRole | None:
        return next((r for r in self.roles if r.name == name), None)


def _bounded(r: FieldReader, key: str) -> list[tuple[Any, str]]:
    items = r.items(key)
    if len(items) > MAX_ENTRIES:
        raise r.error(key, f"more than {MAX_ENTRIES} entries")
    return items


def _group_kinds(r: FieldReader, key: str) -> tuple[GroupKind, ...]:
    out = []
    for item, path in _bounded(r, key):
        entry = r.item_obj(item, path)
        out.append(GroupKind(entry.string("group"), entry.string("kind", required=True)))
    return tuple(out)


def _window(r: FieldReader) -> SyncWindow:
    kind = r.string("kind", required=True)
    if kind not in WINDOW_KINDS:
        raise r.error("kind", f"expected allow or deny, got {kind!r}")
    schedule = r.string("schedule", required=True)
    check_schedule(schedule, r.sub("schedule"), r.where)
    duration = r.string("duration", required=True)
    try:
        seconds = parse_duration(duration)
    except DurationError as exc:
        raise r.error("duration", str(exc)) from None
    if seconds <= 0:
        raise r.error("duration", "must be longer than 0")
    time_zone = r.string("timeZone")
    if time_zone:
        check_time_zone(time_zone, r.sub("timeZone"), r.where)
    window = SyncWindow(
        kind=kind,
        schedule=schedule,
        duration_seconds=seconds,
        duration=duration,
        applications=r.str_list("applications"),
        namespaces=r.str_list("namespaces"),
        clusters=r.str_list("clusters"),
        manual_sync=r.flag("manualSync"),
        time_zone=time_zone,
        and_operator=r.flag("andOperator"),
    )
    if not (window.applications or window.namespaces or window.clusters):
        raise r.error(None, "a sync window needs applications, namespaces or clusters")
    return window


def check_schedule(schedule: str, path: str, where: str = "") -> None:
    """A five-field cron schedule (minute hour day-of-month month day-of-week), or an error."""
    if len(schedule) > 200:
        raise ConfigError(f"{where + ': ' if where else ''}{path}: longer than 200 characters")
    try:
        CronSim(schedule, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ConfigError(
            f"{where + ': ' if where else ''}{path}: {schedule!r} is not a cron schedule ({exc})"
        ) from None


def check_time_zone(name: str, path: str, where: str = "") -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where + ': ' if where else ''}{path}: {name!r} is not a time zone name"
        ) from None


def _tokens(r: FieldReader, key: str) -> tuple[JWTToken, ...]:
    out = []
    for item, path in _bounded(r, key):
        t = r.item_obj(item, path)
        out.append(JWTToken(t.integer("iat", 0), t.integer("exp", 0), t.string("id")))
    return tuple(out)


def parse_project(obj: Any, where: str = "") -> AppProject:
    """An AppProject object (a dict, as the API server sends it) to :class:`AppProject`."""
    top = FieldReader(obj, "", where)
    meta = top.obj("metadata")
    if meta is None:
        raise top.error("metadata", "required")
    name = meta.string("name", required=True)
    where = where or f"AppProject {name}"
    r = FieldReader(obj.get("spec") or {}, "spec", where)
    if r.items("signatureKeys"):
        raise r.error(
            "signatureKeys",
            "GnuPG signature verification is not supported by gitward yet; remove the keys "
            "(gitward will not pretend to verify commits)",
        )
    destinations = []
    for item, path in _bounded(r, "destinations"):
        d = r.item_obj(item, path)
        dest = ProjectDestination(d.string("server"), d.string("name"), d.string("namespace"))
        if not (dest.server or dest.name):
            raise d.error(None, "a destination needs a server or a name")
        destinations.append(dest)
    orphaned = None
    orphan_r = r.obj("orphanedResources")
    if orphan_r is not None:
        ignore = []
        for item, path in _bounded(orphan_r, "ignore"):
            i = orphan_r.item_obj(item, path)
            ignore.append(OrphanedIgnore(i.string("group"), i.string("kind"), i.string("name")))
        orphaned = OrphanedResources(orphan_r.flag("warn"), tuple(ignore))
    roles = []
    seen: set[str] = set()
    for item, path in _bounded(r, "roles"):
        role_r = r.item_obj(item, path)
        role_name = role_r.string("name", required=True)
        if role_name in seen:
            raise role_r.error("name", f"role {role_name!r} is defined twice")
        seen.add(role_name)
        roles.append(
            ProjectRole(
                role_name,
                role_r.string("description"),
                role_r.str_list("policies"),
                role_r.str_list("groups"),
                _tokens(role_r, "jwtTokens"),
            )
        )
    accounts = []
    for item, path in _bounded(r, "destinationServiceAccounts"):
        a = r.item_obj(item, path)
        accounts.append(
            DestinationServiceAccount(
                a.string("server", required=True),
                a.string("namespace"),
                a.string("defaultServiceAccount", required=True),
            )
        )
    namespace_whitelist = (
        _group_kinds(r, "namespaceResourceWhitelist")
        if isinstance(r.data.get("namespaceResourceWhitelist"), list)
        else None
    )
    if r.data.get("namespaceResourceWhitelist") is not None and namespace_whitelist is None:
        raise r.error("namespaceResourceWhitelist", "expected a list")
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    tokens_by_role: dict[str, tuple[JWTToken, ...]] = {}
    by_role = status.get("jwtTokensByRole") if isinstance(status, dict) else None
    if isinstance(by_role, dict):
        status_r = FieldReader(by_role, "status.jwtTokensByRole", where)
        for role_name in list(by_role)[:MAX_ENTRIES]:
            entry = status_r.obj(str(role_name))
            if entry is not None:
                tokens_by_role[str(role_name)] = _tokens(entry, "items")
    return AppProject(
        name=name,
        namespace=meta.string("namespace"),
        description=r.string("description"),
        source_repos=r.str_list("sourceRepos"),
        source_namespaces=r.str_list("sourceNamespaces"),
        destinations=tuple(destinations),
        cluster_resource_whitelist=_group_kinds(r, "clusterResourceWhitelist"),
        cluster_resource_blacklist=_group_kinds(r, "clusterResourceBlacklist"),
        namespace_resource_whitelist=namespace_whitelist,
        namespace_resource_blacklist=_group_kinds(r, "namespaceResourceBlacklist"),
        orphaned_resources=orphaned,
        sync_windows=tuple(_window(r.item_obj(i, p)) for i, p in _bounded(r, "syncWindows")),
        roles=tuple(roles),
        permit_only_project_scoped_clusters=r.flag("permitOnlyProjectScopedClusters"),
        destination_service_accounts=tuple(accounts),
        tokens_by_role=tokens_by_role,
    )
