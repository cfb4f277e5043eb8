"""One kind of object, listed once and then followed by a watch: a small informer.

For the few kinds a controller reads on every pass but that change rarely
(ApplicationSets, cluster Secrets, AppProjects): one LIST, then one WATCH
(resumed from the last resourceVersion, relisted on 410 Gone or a broken
stream), and the objects by name in memory. ``on_change(name, obj)`` is called
for every add, change and delete (``obj`` None); readers never send a request.
Until the first list has arrived, :attr:`synced` is unset, and a reader that
needs the truth waits for it rather than reading an empty cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from gitward.cluster.client import KubeClient
from gitward.cluster.errors import ApiError, ClusterError

Obj = dict[str, Any]
log = logging.getLogger("gitward.cluster")

WATCH_SECONDS = 240
MAX_BACKOFF = 30.0


def _name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


class Informer:
    """Objects of one kind in one namespace (optionally by label selector), kept current."""

    def __init__(
        self,
        client: KubeClient,
        api_version: str,
        kind: str,
        namespace: str | None,
        label_selector: str | None = None,
        on_change: Callable[[str, Obj | None], None] | None = None,
        key_of: Callable[[Obj], str] | None = None,
    ) -> None:
        self.client = client
        self.api_version = api_version
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self._listeners: list[Callable[[str, Obj | None], None]] = []
        if on_change is not None:
            self._listeners.append(on_change)
        #: The key objects are stored under: the name (one namespace), or e.g. ``ns/name``
        #: for an informer of every namespace.
        self.key_of = key_of or _name_of
        self.objects: dict[str, Obj] = {}
        self.synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def subscribe(self, listener: Callable[[str, Obj | None], None]) -> None:
        """Call ``listener(name, obj)`` on every later add, change and delete (``obj`` None).

        One informer can feed several readers (the Application and ApplicationSet
        controllers share the AppProjects'), so each subscribes rather than replacing.
        """
        self._listeners.append(listener)

    def on_change(self, name: str, obj: Obj | None) -> None:
        for listener in self._listeners:
            listener(name, obj)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def ready(self, timeout: float = 30.0) -> dict[str, Obj]:
        """The objects, once listed; raises ``ClusterError`` if the list does not come in time."""
        self.start()
        try:
            await asyncio.wait_for(self.synced.wait(), timeout)
        except TimeoutError:
            raise ClusterError(
                f"{self.kind} objects could not be listed from {self.client.server} "
                f"within {timeout:.0f} s"
            ) from None
        return self.objects

    def _put(self, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        name = self.key_of(obj)
        old = self.objects.get(name)
        if old is not None and (old.get("metadata") or {}).get("resourceVersion") == meta.get(
            "resourceVersion"
        ):
            return
        obj.setdefault("apiVersion", self.api_version)
        obj.setdefault("kind", self.kind)
        self.objects[name] = obj
        self.on_change(name, obj)

    def _remove(self, name: str) -> None:
        if self.objects.pop(name, None) is not None:
            self.on_change(name, None)

    async def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                items, version = await self.client.list_with_version(
                    self.api_version, self.kind, self.namespace, self.label_selector
                )
                listed = {self.key_of(i): i for i in items}
                for gone in set(self.objects) - set(listed):
                    self._remove(gone)
                for item in items:
                    self._put(item)
                self.synced.set()
                delay = 1.0
                while not self._stop.is_set():
                    async for event in self.client.watch(
                        self.api_version,
                        self.kind,
                        self.namespace,
                        version,
                        WATCH_SECONDS,
                        label_selector=self.label_selector,
                    ):
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            raise ClusterError(f"watch of {self.kind}: {obj.get('message')}")
                        version = str((obj.get("metadata") or {}).get("resourceVersion", version))
                        if kind == "DELETED":
                            self._remove(self.key_of(obj))
                        elif kind in ("ADDED", "MODIFIED"):
                            self._put(obj)
            except (ClusterError, ApiError) as exc:
                log.warning("watching %s: %s; listing again in %.0f s", self.kind, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, MAX_BACKOFF)
