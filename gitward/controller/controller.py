"""The controller: watch Applications, reconcile each on change and on a timer.

Triggers: an Application appears or its spec changes (generation), someone
sets the refresh annotation, and the reconciliation timer
(``timeout.reconciliation`` in ``argocd-cm``, default 120 s, plus jitter).
Status writes by the controller itself change neither generation nor
annotations, so they do not wake it up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from gitward.cluster import ClusterError, KubeClient
from gitward.cluster.watchcache import ClusterCache
from gitward.controller.queue import WorkQueue
from gitward.controller.reconciler import REFRESH_ANNOTATION, Reconciler
from gitward.sync import Refresher
from gitward.sync.destinations import Destinations
from gitward.sync.status import APPLICATION_API

Obj = dict[str, Any]
log = logging.getLogger("gitward.controller")

#: A refresh that finds nothing new writes no status, unless reconciledAt is this old.
UNCHANGED_STATUS_SECONDS = 300.0


class Controller:
    def __init__(
        self, client: KubeClient, refresher: Refresher, namespace: str, workers: int = 4
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.refresher = refresher
        self.queue = WorkQueue()
        #: One watch-fed cache per destination cluster, by API server URL.
        self.caches: dict[str, ClusterCache] = {}
        refresher.destinations = Destinations(
            client, refresher.settings.tracking, live_for=self._cache_for
        )
        refresher.unchanged_status_for = UNCHANGED_STATUS_SECONDS
        #: Applications as the watch last delivered them, by name.
        self.app_objects: dict[str, Obj] = {}
        self.reconciler = Reconciler(client, refresher, namespace, read_app=self._read_app)
        self.reconciler.wake = self.queue.add_after
        self.workers = workers
        self._generations: dict[str, int] = {}
        self.reconciles = 0
        self.ready = asyncio.Event()  # set once the first list of Applications is queued
        self.observe_reconcile: Callable[[float], None] = lambda _seconds: None

    def _cache_for(self, client: KubeClient) -> ClusterCache:
        cache = ClusterCache(client, self.refresher.settings.tracking, self.queue.add)
        self.caches[client.server] = cache
        return cache

    @property
    def live(self) -> ClusterCache:
        """The cache of the cluster the controller runs against."""
        return self.caches[self.client.server]

    async def _read_app(self, name: str) -> Obj | None:
        """The newest copy of an Application this process has seen; None once deleted.

        The watch's copy and the one a status write returned are compared by
        resourceVersion, so a reconcile never acts on an older copy than it wrote.
        """
        watched = self.app_objects.get(name)
        written = self.reconciler.apps.get(name)
        if watched is None:
            if not self.ready.is_set():
                return await self.reconciler.get_app(name)
            return None
        if written is not None and _revision(written) > _revision(watched):
            return written
        return watched

    @property
    def apps(self) -> dict[str, Obj]:
        """The last stored state of every app reconciled."""
        return self.reconciler.apps

    def git_stats(self) -> dict[str, Any]:
        """Git statistics per repository, when the manifest source keeps them."""
        source = getattr(self.refresher.manifests, "source", None)
        return dict(getattr(source, "stats", {}) or {})

    def forget_revisions(self) -> None:
        """Drop cached ref listings, so the next resolve sees a just-pushed commit."""
        source = getattr(self.refresher.manifests, "source", None)
        forget = getattr(source, "forget_refs", None)
        if callable(forget):
            forget()

    def refresh_now(self, name: str) -> None:
        """Reconcile ``name`` as soon as a worker is free (webhooks, the refresh annotation)."""
        self.queue.add(name)

    def _interval(self) -> float:
        settings = self.refresher.settings
        jitter = random.uniform(0, settings.reconciliation_jitter_seconds)  # noqa: S311
        return max(settings.reconciliation_seconds + jitter, 0.5)

    def _forget(self, name: str) -> None:
        self.app_objects.pop(name, None)
        self._generations.pop(name, None)
        self.queue.forget(name)

    def _observe(self, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        self.app_objects[name] = obj
        generation = int(meta.get("generation") or 0)
        wants_refresh = bool((meta.get("annotations") or {}).get(REFRESH_ANNOTATION))
        if self._generations.get(name) != generation or wants_refresh:
            self._generations[name] = generation
            self.queue.add(name)

    async def _watch(self, stop: asyncio.Event) -> None:
        """List, then watch; relist when the watch expires or breaks."""
        delay = 1.0
        while not stop.is_set():
            try:
                items, version = await self.client.list_with_version(
                    APPLICATION_API, "Application", self.namespace
                )
                listed = {str(i["metadata"]["name"]): i for i in items}
                for gone in set(self.app_objects) - set(listed):
                    self._forget(gone)
                for item in items:
                    self._observe(item)
                self.ready.set()
                delay = 1.0
                while not stop.is_set():
                    async for event in self.client.watch(
                        APPLICATION_API, "Application", self.namespace, version, 240
                    ):
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            raise ClusterError(f"watch error: {obj.get('message')}")
                        version = str((obj.get("metadata") or {}).get("resourceVersion", version))
                        if kind == "DELETED":
                            self._forget(str(obj["metadata"]["name"]))
                        elif kind in ("ADDED", "MODIFIED"):
                            self._observe(obj)
            except ClusterError as exc:
                log.warning("watching Applications: %s; relisting in %.0f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 30.0)

    async def _work(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            name = await self.queue.get()
            started = time.monotonic()
            try:
                exists = await self.reconciler.reconcile(name)
                self.reconciles += 1
                self.observe_reconcile(time.monotonic() - started)
            except Exception:  # one app's failure must not stop the others
                log.exception("reconciling app %s failed", name)
                exists = True
            finally:
                self.queue.done(name)
            if exists:
                self.queue.add_after(name, self._interval())
            else:
                self._generations.pop(name, None)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; in-flight reconciles finish first."""
        tasks = [asyncio.create_task(self._watch(stop))]
        tasks += [asyncio.create_task(self._work(stop)) for _ in range(self.workers)]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.refresher.destinations.close()
        self.queue.close()


def _revision(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion", ""))
    except ValueError:
        return -1
