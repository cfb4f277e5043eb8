"""Orphaned resources: top-level objects in an app's namespace that no Application tracks.

Argo CD's orphaned-resources monitoring, switched on per project
(``spec.orphanedResources``): an object is orphaned when it lives in the app's
destination namespace, has no ``ownerReferences`` (it is top-level), carries no
Application's tracking annotation or instance label, and is not exempt:

- kinds the project does not permit (an administrator's, not the team's);
- what Kubernetes makes in every namespace: the ``default`` ServiceAccount, the
  ``kube-root-ca.crt`` ConfigMap, the ``kubernetes`` Service of ``default``;
- kinds nobody writes by hand (Events, Endpoints, EndpointSlices, Leases), as Argo
  CD's default resource exclusions;
- entries of ``orphanedResources.ignore`` (``group``, ``kind``, ``name`` globs; empty
  matches any).

Finding them costs a LIST of every namespaced kind in the namespace, so the answer is
kept per (cluster, namespace) for :attr:`OrphanFinder.ttl` seconds and shared by every
app that deploys there. The finding is reported, never acted on: orphans are not
pruned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from gitward.cluster import ApiError, KubeClient, UnknownKind
from gitward.cluster.discovery import ResourceInfo
from gitward.model.project import OrphanedIgnore
from gitward.model.tracking import INSTANCE_LABEL, TRACKING_ANNOTATION, ResourceKey
from gitward.projects.fence import Fence
from gitward.projects.rules import match_glob

Obj = dict[str, Any]

#: Argo CD's condition type, and the words of its message.
ORPHANED_CONDITION = "OrphanedResourceWarning"
#: (group, kind, name or "" for any, namespace or "" for any) Kubernetes itself creates.
_EXEMPT = (
    ("", "ServiceAccount", "default", ""),
    ("", "ConfigMap", "kube-root-ca.crt", ""),
    ("", "Service", "kubernetes", "default"),
)
#: Kinds nobody writes by hand (Argo CD excludes them by default): never listed.
_UNWATCHED = {
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("", "Endpoints"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("coordination.k8s.io", "Lease"),
}
LIST_CONCURRENCY = 8


def _exempt(key: ResourceKey) -> bool:
    return any(
        (key.group, key.kind) == (group, kind)
        and key.name == name
        and (not namespace or key.namespace == namespace)
        for group, kind, name, namespace in _EXEMPT
    )


def _ignored(key: ResourceKey, ignore: tuple[OrphanedIgnore, ...]) -> bool:
    def matches(pattern: str, value: str) -> bool:
        return not pattern or match_glob(pattern, value, negation=False)

    return any(
        matches(i.group, key.group) and matches(i.kind, key.kind) and matches(i.name, key.name)
        for i in ignore
    )


def _tracked(obj: Obj) -> bool:
    meta = obj.get("metadata") or {}
    return bool(
        (meta.get("annotations") or {}).get(TRACKING_ANNOTATION)
        or (meta.get("labels") or {}).get(INSTANCE_LABEL)
    )


def untracked_top_level(objects: list[Obj]) -> list[ResourceKey]:
    """Keys of the objects that no app tracks and no owner holds, sorted."""
    found = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if meta.get("ownerReferences") or _tracked(obj):
            continue
        key = ResourceKey.of(obj)
        if not _exempt(key):
            found.append(key)
    return sorted(found)


class OrphanFinder:
    """Untracked top-level objects per (cluster, namespace), listed at most every ``ttl``."""

    def __init__(self, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._found: dict[tuple[str, str], tuple[float, list[ResourceKey]]] = {}
        self._kinds: dict[str, tuple[float, list[ResourceInfo]]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def orphans(self, client: KubeClient, namespace: str, fence: Fence) -> list[ResourceKey]:
        """The orphans an app of ``fence``'s project sees in ``namespace``."""
        settings = fence.project.orphaned_resources
        ignore = settings.ignore if settings is not None else ()
        return [
            key
            for key in await self._untracked(client, namespace)
            if fence.live_violation(key) is None and not _ignored(key, ignore)
        ]

    async def _untracked(self, client: KubeClient, namespace: str) -> list[ResourceKey]:
        place = (client.server, namespace)
        lock = self._locks.setdefault(place, asyncio.Lock())
        async with lock:  # one listing per namespace at a time, shared by its apps
            cached = self._found.get(place)
            if cached is not None and self.clock() < cached[0]:
                return cached[1]
            objects: list[Obj] = []
            gate = asyncio.Semaphore(LIST_CONCURRENCY)

            async def one(info: ResourceInfo) -> None:
                api_version = info.group_version
                async with gate:
                    try:
                        items = await client.list(api_version, info.kind, namespace)
                    except (ApiError, UnknownKind):
                        return  # a kind that went away, or one this client may not list
                for item in items:
                    objects.append({**item, "apiVersion": api_version, "kind": info.kind})

            await asyncio.gather(*(one(i) for i in await self._namespaced_kinds(client)))
            found = untracked_top_level(objects)
            self._found[place] = (self.clock() + self.ttl, found)
            return found

    async def _namespaced_kinds(self, client: KubeClient) -> list[ResourceInfo]:
        cached = self._kinds.get(client.server)
        if cached is not None and self.clock() < cached[0]:
            return cached[1]
        kinds = [
            info
            for info in await client.discovery.namespaced_kinds()
            if (info.group_version.rpartition("/")[0], info.kind) not in _UNWATCHED
        ]
        # Kinds change rarely (a CRD installed): read again every ten listings' time.
        self._kinds[client.server] = (self.clock() + 10 * self.ttl, kinds)
        return kinds


def orphaned_condition(orphans: list[ResourceKey]) -> Obj:
    """Argo CD's warning, with the first few orphans named."""
    shown = ", ".join(f"{k.kind}/{k.name}" for k in orphans[:5])
    more = f" and {len(orphans) - 5} more" if len(orphans) > 5 else ""
    return {
        "type": ORPHANED_CONDITION,
        "message": f"Application has {len(orphans)} orphaned resources ({shown}{more})",
    }
