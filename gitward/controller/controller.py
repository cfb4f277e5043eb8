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

from gitward._util.glob import glob_match
from gitward._util.logcontext import log_context
from gitward._util.quiet import QuietGate
from gitward._util.sharedkeys import share_keys
from gitward._util.versions import resource_version
from gitward.appstate import Refresher
from gitward.appstate.events import EventWriter
from gitward.cluster import ClusterError, KubeClient
from gitward.cluster.informer import Informer
from gitward.cluster.watchcache import ClusterCache
from gitward.controller import dependencies
from gitward.controller.caches import LiveCaches
from gitward.controller.queue import WorkQueue
from gitward.controller.reconciler import REFRESH_ANNOTATION, Reconciler
from gitward.controller.sharding import NoSharding, Sharding
from gitward.model.application import qualified_name, split_qualified
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.model.project import DEFAULT_PROJECT

Obj = dict[str, Any]
log = logging.getLogger("gitward.controller")

#: A refresh that finds nothing new writes no status, unless reconciledAt is this old.
UNCHANGED_STATUS_SECONDS = 300.0
#: A status write that would change only health messages (a rollout's progress) waits
#: until this many seconds after the app's last write (appstate.status.message_hold).
HEALTH_MESSAGES_EVERY = 5.0
#: On shutdown, how long a running reconcile (a sync) may take to finish.
SHUTDOWN_GRACE = 30.0
#: How long after a sync an app still rolling out keeps its place at the head of the
#: queue (a rollout stuck for longer waits its turn like any other app).
ROLLOUT_PRIORITY_SECONDS = 120.0


class Controller:
    """Watches Applications and reconciles each on change and on a timer.

    Built by the composition root (:mod:`gitward.services`), which gives it the parts
    it shares with the refresher: the work ``queue`` the live caches wake, the
    ``caches`` of every destination cluster, and the ``projects`` informer; and the
    ``quiet`` gate it shares with the writers behind its work.
    """

    def __init__(
        self,
        client: KubeClient,
        refresher: Refresher,
        namespace: str,
        *,
        queue: WorkQueue,
        caches: LiveCaches,
        projects: Informer,
        workers: int = 4,
        sharding: Sharding | None = None,
        application_namespaces: tuple[str, ...] = (),
        forget_revisions: Callable[[bool], None] = lambda _hard: None,
        git_stats: Callable[[], dict[str, Any]] = dict,
        sync_timeout: float = 0.0,
        events: EventWriter | None = None,
        quiet: QuietGate | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        #: The operations' Events, written in the background behind the queue's work.
        self.events = events
        #: Open while ``queue`` holds no urgent work: the writes that can wait go through it
        #: (the Events above, the delivery records of the loops beside this controller).
        #: Made once by the composition root and handed to each of them.
        self.quiet = quiet
        #: Globs of other namespaces whose Applications this controller reconciles too
        #: (Argo CD's ``application.namespaces``); empty: only ``namespace``.
        self.application_namespaces = application_namespaces
        self.refresher = refresher
        self.queue = queue
        self._caches = caches
        #: The installation's AppProjects, kept current: a refresh reads its project from
        #: memory, and a changed project re-reconciles the apps that use it.
        self.projects = projects
        projects.subscribe(self._project_changed)
        self._forget_revisions = forget_revisions
        self._git_stats = git_stats
        #: Applications as the watch last delivered them, by qualified name (``NAME`` in
        #: the control namespace, ``NS/NAME`` elsewhere): the queue's keys too.
        self.app_objects: dict[str, Obj] = {}
        #: The same objects by namespace, then plain name (depends-on names a sibling).
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        self.reconciler = Reconciler(
            client,
            refresher,
            namespace,
            read_app=self._read_app,
            index=lambda ns: self._by_namespace.get(ns, {}),
            forget_revisions=self.forget_revisions,
            wake=self.queue.add_after,
            wake_first=self.queue.add_first,
            sync_timeout=sync_timeout,
            events=events,
        )
        #: Which apps this replica reconciles (all, unless --shards splits them).
        self.sharding: Sharding = sharding or NoSharding()
        self.sharding.subscribe(self._shards_changed)
        #: Whether each app was Synced and Healthy at its last event: apps that depend on
        #: it are woken when that changes (status writes do not change its generation).
        self._ready: dict[str, bool] = {}
        #: Apps that carry gitward.io/depends-on (only they can be woken by others).
        self._declaring: set[str] = set()
        self.workers = workers
        self._generations: dict[str, tuple[int, str, bool]] = {}
        #: Apps rolling out what their last operation applied, since when (monotonic).
        self._rolling_out: dict[str, float] = {}
        self.reconciles = 0
        self.ready = asyncio.Event()  # set once the first list of Applications is queued
        #: Called after each reconcile with its seconds and the app's name (metrics).
        self.observe_reconcile: Callable[[float, str], None] = lambda _seconds, _name: None
        #: Called as ``listener(name, old, new)`` on every Application change (new None: gone).
        self._listeners: list[Callable[[str, Obj | None, Obj | None], None]] = []

    def applications(self) -> dict[str, Obj]:
        """Every Application of the namespace as the watch last delivered it, by name."""
        return self.app_objects

    def subscribe(self, listener: Callable[[str, Obj | None, Obj | None], None]) -> None:
        """Share this controller's watch of Applications (the ApplicationSet controller does)."""
        self._listeners.append(listener)

    @property
    def caches(self) -> dict[str, ClusterCache]:
        """One watch-fed cache per destination cluster, by API server URL."""
        return self._caches.by_server

    def clients(self) -> list[KubeClient]:
        """The control cluster's client and every destination's (for metrics)."""
        found = {self.client.server: self.client}
        for target in self.refresher.destinations.targets:
            found.setdefault(target.client.server, target.client)
        return list(found.values())

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
        if written is not None and resource_version(written) > resource_version(watched):
            return written
        return watched

    @property
    def apps(self) -> dict[str, Obj]:
        """The last stored state of every app reconciled."""
        return self.reconciler.apps

    def git_stats(self) -> dict[str, Any]:
        """Git statistics per repository, when the manifest source keeps them."""
        return self._git_stats()

    def forget_revisions(self, hard: bool = False) -> None:
        """Drop cached ref listings, so the next resolve sees a just-pushed commit.

        ``hard`` (the ``hard`` refresh annotation) also drops every cached render.
        """
        self._forget_revisions(hard)

    def refresh_now(self, name: str) -> None:
        """Reconcile ``name`` as soon as a worker is free (webhooks, the refresh annotation)."""
        self.queue.add(name)

    def _interval(self) -> float:
        settings = self.refresher.settings
        jitter = random.uniform(0, settings.reconciliation_jitter_seconds)  # noqa: S311
        return max(settings.reconciliation_seconds + jitter, 0.5)

    def _project_changed(self, project: str, _obj: Obj | None) -> None:
        """Re-reconcile every app of ``project``: what it may deploy has changed."""
        if not self.ready.is_set():
            return  # the first list of projects: every app is queued anyway
        for key, app in self.app_objects.items():
            if str((app.get("spec") or {}).get("project") or DEFAULT_PROJECT) == project:
                self.queue.add(key)

    def key(self, obj: Obj) -> str:
        """An Application's qualified name: ``NAME`` here, ``NS/NAME`` in other namespaces."""
        meta = obj.get("metadata") or {}
        return qualified_name(
            str(meta.get("namespace") or ""), str(meta.get("name", "")), self.namespace
        )

    def watches(self, namespace: str) -> bool:
        """Whether Applications in ``namespace`` are this controller's."""
        return namespace == self.namespace or any(
            glob_match(pattern, namespace) for pattern in self.application_namespaces
        )

    def _forget(self, name: str) -> None:
        old = self.app_objects.pop(name, None)
        namespace, plain = split_qualified(name, self.namespace)
        self._by_namespace.get(namespace, {}).pop(plain, None)
        for listener in self._listeners:
            listener(name, old, None)
        self._declaring.discard(name)
        self._generations.pop(name, None)
        self._rolling_out.pop(name, None)
        self.queue.forget(name)
        self._readiness_changed(name, False)

    def _readiness_changed(self, name: str, ready: bool) -> None:
        previous = self._ready.pop(name, None)
        if name in self.app_objects:
            self._ready[name] = ready  # a deleted app is forgotten, not remembered as not ready
        if previous == ready:
            return
        if not self._declaring:
            return  # nobody declares depends-on: nothing to wake (the common case)
        # depends-on names siblings in the same namespace, by their plain names.
        namespace, plain = split_qualified(name, self.namespace)
        siblings = self._by_namespace.get(namespace, {})
        declaring = {
            n: obj
            for n, obj in siblings.items()
            if qualified_name(namespace, n, self.namespace) in self._declaring
        }
        for dependent in dependencies.dependents_of(plain, declaring, transitive=True):
            self.queue.add(qualified_name(namespace, dependent, self.namespace))

    def _observe(self, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        # Nothing here reads an Application's managedFields: with 10,000 apps they would
        # be a large share of the memory the watch holds.
        meta.pop("managedFields", None)
        obj = share_keys(obj)  # kept until the next event: one copy of each key
        meta = obj.get("metadata") or {}
        name = self.key(obj)
        old = self.app_objects.get(name)
        self.app_objects[name] = obj
        self._share_copy(name)  # the watch caught up with this process's last write
        namespace = str(meta.get("namespace") or self.namespace)
        self._by_namespace.setdefault(namespace, {})[str(meta.get("name", ""))] = obj
        for listener in self._listeners:
            listener(name, old, obj)
        annotations = meta.get("annotations") or {}
        if annotations.get(dependencies.DEPENDS_ON):
            self._declaring.add(name)
        else:
            self._declaring.discard(name)
        # What a pass must follow: the spec (generation), the depends-on list, a deletion.
        wanted = (
            int(meta.get("generation") or 0),
            str(annotations.get(dependencies.DEPENDS_ON, "")),
            bool(meta.get("deletionTimestamp")),
        )
        if self._generations.get(name) != wanted or annotations.get(REFRESH_ANNOTATION):
            self._generations[name] = wanted
            self.queue.add(name)
        self._readiness_changed(name, dependencies.not_ready_reason(obj) is None)

    @property
    def _watched_namespace(self) -> str | None:
        """The namespace to list and watch: all of them when others are allowed."""
        return None if self.application_namespaces else self.namespace

    def _is_mine(self, obj: Obj) -> bool:
        return self.watches(str((obj.get("metadata") or {}).get("namespace") or ""))

    async def _watch(self, stop: asyncio.Event) -> None:
        """List, then watch; relist when the watch expires or breaks."""
        delay = 1.0
        while not stop.is_set():
            try:
                items, version = await self.client.list_with_version(
                    API_VERSION, APPLICATION, self._watched_namespace
                )
                items = [i for i in items if self._is_mine(i)]
                listed = {self.key(i): i for i in items}
                for gone in set(self.app_objects) - set(listed):
                    self._forget(gone)
                for item in items:
                    self._observe(item)
                self.ready.set()
                delay = 1.0
                while not stop.is_set():
                    async for event in self.client.watch(
                        API_VERSION, APPLICATION, self._watched_namespace, version, 240
                    ):
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            raise ClusterError(f"watch error: {obj.get('message')}")
                        version = str((obj.get("metadata") or {}).get("resourceVersion", version))
                        if kind in ("ADDED", "MODIFIED", "DELETED") and not self._is_mine(obj):
                            continue
                        if kind == "DELETED":
                            self._forget(self.key(obj))
                        elif kind in ("ADDED", "MODIFIED"):
                            self._observe(obj)
            except ClusterError as exc:
                log.warning("watching Applications: %s; relisting in %.0f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 30.0)

    async def _work(self, stop: asyncio.Event, busy: set[int], index: int) -> None:
        while not stop.is_set():
            name = await self.queue.get()
            obj = self.app_objects.get(name)
            if obj is not None and not self.sharding.owns(obj):
                self.queue.done(name)  # another replica's app; gaining its shard requeues it
                continue
            busy.add(index)
            started = time.monotonic()
            namespace, plain = split_qualified(name, self.namespace)
            with log_context(app=f"{namespace}/{plain}"):
                try:
                    exists = await self.reconciler.reconcile(name)
                    self.reconciles += 1
                    self.observe_reconcile(time.monotonic() - started, name)
                except Exception:  # one app's failure must not stop the others
                    log.exception("reconciling app %s failed", name)
                    exists = True
                finally:
                    self.queue.done(name)
                    busy.discard(index)
            if exists:
                self._share_copy(name)
                self._prefer_rollouts(name)
                self.queue.add_after(name, self._interval())
            else:
                self._generations.pop(name, None)
                self._rolling_out.pop(name, None)

    def _share_copy(self, name: str) -> None:
        """Keep one copy of an app once the watch delivered what this process wrote.

        Called on each watch event and after each pass: the event of a status write often
        arrives before the write's answer is stored, so the event alone cannot replace
        that answer; the watch's copy of the same or a newer version takes its place
        (with 10,000 apps, two copies of every Application are a quarter of the
        controller's memory).
        """
        written = self.reconciler.apps.get(name)
        watched = self.app_objects.get(name)
        if (
            written is not None
            and watched is not None
            and written is not watched
            and resource_version(watched) >= resource_version(written)
        ):
            self.reconciler.apps[name] = watched

    def _prefer_rollouts(self, name: str) -> None:
        """Put an app that is rolling out what it just synced ahead of apps not started.

        At a cold start every app waits in the queue; the change of a Deployment that
        finished its rollout would otherwise wake its app behind all of them, and every
        app would turn Healthy at the end. Bounded by :data:`ROLLOUT_PRIORITY_SECONDS`.
        """
        status = (self.reconciler.apps.get(name) or {}).get("status") or {}
        operation = status.get("operationState") or {}
        rolling = (status.get("health") or {}).get("status") == "Progressing" and operation.get(
            "phase"
        ) == "Succeeded"
        if not rolling:
            if self._rolling_out.pop(name, None) is not None:
                self.queue.prefer(name, False)
            return
        since = self._rolling_out.setdefault(name, time.monotonic())
        self.queue.prefer(name, time.monotonic() - since < ROLLOUT_PRIORITY_SECONDS)

    def _shards_changed(self, owned: set[int]) -> None:
        log.info("shards owned: %s", sorted(owned) or "none")
        for name, obj in list(self.app_objects.items()):
            if self.sharding.owns(obj):
                self.queue.add(name)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set.

        On stop, idle workers end at once and busy ones finish their reconcile
        (a sync completes and releases its lock) for up to :data:`SHUTDOWN_GRACE`
        seconds; then the shard leases are released, so another replica takes
        over at once instead of after the lease duration.
        """
        shard_stop = asyncio.Event()
        shard_task = asyncio.create_task(self.sharding.run(shard_stop))
        self.projects.start()
        watch = asyncio.create_task(self._watch(stop))
        busy: set[int] = set()
        workers = {i: asyncio.create_task(self._work(stop, busy, i)) for i in range(self.workers)}
        await stop.wait()
        watch.cancel()
        for i, task in workers.items():
            if i not in busy:
                task.cancel()
        running = [t for i, t in workers.items() if i in busy]
        if running:
            log.info("waiting for %d reconcile(s) to finish", len(running))
            _done, late = await asyncio.wait(running, timeout=SHUTDOWN_GRACE)
            for task in late:
                task.cancel()
        await asyncio.gather(watch, *workers.values(), return_exceptions=True)
        shard_stop.set()
        await asyncio.gather(shard_task, return_exceptions=True)
        await self.projects.stop()
        if self.events is not None:
            await self.events.flush()
        await self.refresher.destinations.close()
        self.queue.close()
