"""Watch the kinds apps deploy, so drift wakes the app that owns the object.

One cluster-wide list+watch per kind in use (started when an app's status
first lists that kind), shared by every app. An event for an object carrying
an app's tracking metadata queues that app: a ``kubectl delete`` or ``kubectl
edit`` of a tracked resource is noticed in well under a second instead of at
the next poll, and self-heal follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from gitward.cluster import ClusterError, KubeClient
from gitward.model.tracking import TrackingMethod, owner_app

log = logging.getLogger("gitward.controller")

Kind = tuple[str, str]  # (apiVersion, kind)


class LiveWatcher:
    def __init__(
        self, client: KubeClient, tracking: TrackingMethod, on_owner: Callable[[str], None]
    ) -> None:
        self.client = client
        self.tracking = tracking
        self.on_owner = on_owner
        self._tasks: dict[Kind, asyncio.Task[None]] = {}
        self.events = 0

    @property
    def kinds(self) -> set[Kind]:
        return set(self._tasks)

    def ensure(self, kinds: Iterable[Kind]) -> None:
        """Start watching each of ``kinds`` not watched yet."""
        for kind in kinds:
            if kind not in self._tasks:
                self._tasks[kind] = asyncio.create_task(self._watch(*kind))

    async def _watch(self, api_version: str, kind: str) -> None:
        delay = 1.0
        while True:
            try:
                _items, version = await self.client.list_with_version(api_version, kind)
                delay = 1.0
                while True:
                    async for event in self.client.watch(api_version, kind, None, version, 240):
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            raise ClusterError(f"watch of {kind}: {obj.get('message')}")
                        version = str((obj.get("metadata") or {}).get("resourceVersion", version))
                        if event.get("type") == "BOOKMARK":
                            continue
                        obj.setdefault("apiVersion", api_version)
                        obj.setdefault("kind", kind)
                        owner = owner_app(obj, self.tracking)
                        if owner:
                            self.events += 1
                            self.on_owner(owner)
            except ClusterError as exc:
                log.debug("watch of %s %s: %s; relisting in %.0f s", api_version, kind, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
