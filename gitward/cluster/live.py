"""Where a comparison reads live objects from: the API, or a watch-fed cache.

The CLI compares once and exits, so it asks the API directly
(:class:`ApiLiveReader`). The controller compares every app every few minutes
and hands in :class:`gitward.cluster.watchcache.ClusterCache` instead, which
answers from memory. Both satisfy :class:`LiveReader`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from gitward.cluster.client import KubeClient
from gitward.cluster.errors import NotFound, UnknownKind
from gitward.model.tracking import TrackingMethod, owner_app

Obj = dict[str, Any]
Kind = tuple[str, str]  # (apiVersion, kind)


class LiveReader(Protocol):
    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> Obj | None: ...

    async def tracked(self, app_name: str, kinds: Iterable[Kind]) -> list[Obj]:
        """Every live object of ``kinds`` (in any namespace) that ``app_name`` tracks."""
        ...

    def observe(self, obj: Obj) -> None:
        """An object a write of this process returned (a cache stores it at once)."""
        ...

    async def for_objects(self, objects: Iterable[Obj]) -> LiveReader:
        """A reader for one comparison of ``objects`` (it may read them in bulk first)."""
        ...


class ApiLiveReader:
    """Reads every object from the API server: one GET or LIST per question."""

    def __init__(self, client: KubeClient, tracking: TrackingMethod) -> None:
        self.client = client
        self.tracking = tracking

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> Obj | None:
        try:
            return await self.client.get(api_version, kind, name, namespace)
        except (NotFound, UnknownKind):
            return None

    async def tracked(self, app_name: str, kinds: Iterable[Kind]) -> list[Obj]:
        found: list[Obj] = []
        for api_version, kind in sorted(set(kinds)):
            try:
                items = await self.client.list(api_version, kind)
            except (UnknownKind, NotFound):
                continue
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                if owner_app(item, self.tracking) == app_name:
                    found.append(item)
        return found

    def observe(self, obj: Obj) -> None:
        """Nothing to remember: the next read asks the server again."""

    async def for_objects(self, objects: Iterable[Obj]) -> LiveReader:
        """A reader that LISTs each kind and namespace holding many of ``objects`` once.

        One LIST of 300 ConfigMaps costs far less than 300 GETs; a kind with
        few objects in a namespace is still read object by object, so a big
        cluster is never listed for the sake of one object. The snapshot lives
        for one comparison only: the next one reads afresh.
        """
        counts: dict[tuple[str, str, str], int] = {}
        for obj in objects:
            meta = obj.get("metadata") or {}
            if meta.get("name"):
                where = (str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""))
                counts[where] = counts.get(where, 0) + 1
        listed: dict[tuple[str, str, str], dict[str, Obj]] = {}
        for (api_version, kind, namespace), count in counts.items():
            if count < LIST_FROM or not namespace:
                continue
            try:
                items = await self.client.list(api_version, kind, namespace)
            except (NotFound, UnknownKind):
                continue
            listed[(api_version, kind, namespace)] = {
                str(item["metadata"]["name"]): {**item, "apiVersion": api_version, "kind": kind}
                for item in items
            }
        return _Snapshot(self, listed) if listed else self


#: Objects of one kind in one namespace from which a comparison LISTs instead of GETs.
LIST_FROM = 8


class _Snapshot(ApiLiveReader):
    """An :class:`ApiLiveReader` that answers some kinds from lists made just before."""

    def __init__(
        self, parent: ApiLiveReader, listed: dict[tuple[str, str, str], dict[str, Obj]]
    ) -> None:
        super().__init__(parent.client, parent.tracking)
        self.listed = listed

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> Obj | None:
        found = self.listed.get((api_version, kind, namespace or ""))
        if found is None:
            return await super().get(api_version, kind, name, namespace)
        return found.get(name)
