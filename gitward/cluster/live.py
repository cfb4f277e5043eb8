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
