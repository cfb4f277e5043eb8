"""The ApplicationSet controller: watch the sets, reconcile each when something it reads changes.

It runs inside ``gitward controller`` beside the Application controller and
shares what that one has: the client, its watch of Applications (the index of
every Application of the namespace), the one GitSource, and the webhook. Its
own watches are small: ApplicationSets, cluster Secrets, AppProjects.

What wakes a set: the set itself changes (its generation or annotations, e.g.
an approval or Argo CD's refresh annotation); an Application it owns changes in
a part the set owns (spec, labels, annotations, finalizers), is deleted, or —
under RollingSync — changes sync, health or operation phase; a cluster Secret
changes (sets with a clusters generator); an AppProject changes; a git push
for a repository its last generation read (the webhook); and the git
generator's requeue time (3 minutes by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gitward._util.logcontext import log_context
from gitward._util.workqueue import WorkQueue
from gitward.appset.generators import Sources
from gitward.appset.gotemplate import GoTemplates
from gitward.appset.plan import controller_of
from gitward.appset.reconciler import AppSetReconciler
from gitward.appset.sources import AppSetSources
from gitward.appset.validate import ProjectRules
from gitward.cluster import KubeClient
from gitward.cluster.informer import Informer
from gitward.model.kinds import API_VERSION, APP_PROJECT, APPLICATION, APPLICATION_SET
from gitward.source import CredentialStore, GitSource, same_repo

Obj = dict[str, Any]
log = logging.getLogger("gitward.appset")

CLUSTER_SECRETS = "argocd.argoproj.io/secret-type=cluster"
SHUTDOWN_GRACE = 30.0


class AppIndex(Protocol):
    """Every Application of the namespace, by name, kept current by a watch."""

    ready: asyncio.Event

    def applications(self) -> Mapping[str, Obj]: ...

    def subscribe(self, callback: Callable[[str, Obj | None, Obj | None], None]) -> None:
        """``callback(name, old, new)`` on every change (``new`` None: deleted)."""
        ...


class InformerIndex:
    """An :class:`AppIndex` with a watch of its own (when no Application controller runs)."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self._callbacks: list[Callable[[str, Obj | None, Obj | None], None]] = []
        self._last: dict[str, Obj] = {}
        self.informer = Informer(
            client, API_VERSION, APPLICATION, namespace, on_change=self._changed
        )
        self.ready = self.informer.synced

    def _changed(self, name: str, obj: Obj | None) -> None:
        old = self._last.pop(name, None)
        if obj is not None:
            self._last[name] = obj
        for callback in self._callbacks:
            callback(name, old, obj)

    def applications(self) -> Mapping[str, Obj]:
        return self.informer.objects

    def subscribe(self, callback: Callable[[str, Obj | None, Obj | None], None]) -> None:
        self._callbacks.append(callback)
        self.informer.start()


def _owned_parts(app: Obj | None) -> Any:
    if app is None:
        return None
    meta = app.get("metadata") or {}
    return (
        app.get("spec"),
        meta.get("labels"),
        meta.get("annotations"),
        meta.get("finalizers"),
        meta.get("ownerReferences"),
        bool(meta.get("deletionTimestamp")),
    )


def _rollout_parts(app: Obj | None) -> Any:
    if app is None:
        return None
    status = app.get("status") or {}
    state = status.get("operationState") or {}
    return (
        (status.get("health") or {}).get("status"),
        (status.get("sync") or {}).get("status"),
        state.get("phase"),
        state.get("startedAt"),
        bool(app.get("operation")),
    )


class AppSetController:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        apps: AppIndex,
        *,
        git: GitSource | None,
        credentials: Callable[[], CredentialStore | None] = lambda: None,
        go: GoTemplates | None = None,
        workers: int = 4,
        rules: ProjectRules | None = None,
        active: Callable[[], bool] = lambda: True,
        projects: Informer | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.apps = apps
        self.queue = WorkQueue()
        self.workers = workers
        self.active = active
        self.appsets = Informer(
            client, API_VERSION, APPLICATION_SET, namespace, on_change=self._appset_changed
        )
        self.secrets = Informer(
            client, "v1", "Secret", namespace, CLUSTER_SECRETS, on_change=self._secret_changed
        )
        #: The installation's AppProjects: shared with the Application controller when the
        #: composition gives one (one watch per process), else this controller's own.
        self._owns_projects = projects is None
        self.projects = projects or Informer(client, API_VERSION, APP_PROJECT, namespace)
        self.projects.subscribe(self._project_changed)
        self.go = go or GoTemplates.find()
        sources: Sources = AppSetSources(git, self._cluster_secrets, credentials)
        self.reconciler = AppSetReconciler(
            client,
            namespace,
            sources,
            self.go,
            appset_of=self.appsets.objects.get,
            applications=apps.applications,
            projects=self._projects,
            clusters=self._cluster_secrets,
            rules=rules,
        )
        #: What of each set last woke it: (generation, annotations).
        self._seen: dict[str, Any] = {}
        self.reconciles = 0
        self.observe_reconcile: Callable[[float], None] = lambda _seconds: None
        apps.subscribe(self._app_changed)

    # -- what wakes a set --------------------------------------------------------------------

    def _appset_changed(self, name: str, obj: Obj | None) -> None:
        if obj is None:
            self._seen.pop(name, None)
            self.reconciler.forget(name)
            self.queue.forget(name)
            return
        meta = obj.get("metadata") or {}
        wanted = (
            meta.get("generation"),
            json.dumps(meta.get("annotations") or {}, sort_keys=True),
            bool(meta.get("deletionTimestamp")),
        )
        if self._seen.get(name) != wanted:
            self._seen[name] = wanted
            self.queue.add(name)

    def _app_changed(self, name: str, old: Obj | None, new: Obj | None) -> None:
        for app in (new, old):
            ref = controller_of(app) if app is not None else None
            if ref is None or ref.get("kind") != APPLICATION_SET:
                continue
            owner = str(ref.get("name"))
            appset = self.appsets.objects.get(owner)
            if appset is None:
                return
            if _owned_parts(old) != _owned_parts(new) or (
                "strategy" in (appset.get("spec") or {})
                and _rollout_parts(old) != _rollout_parts(new)
            ):
                self.queue.add(owner)
            return

    def _secret_changed(self, _name: str, _obj: Obj | None) -> None:
        for name, appset in self.appsets.objects.items():
            if '"clusters"' in json.dumps(appset.get("spec") or {}):
                self.queue.add(name)

    def _project_changed(self, _name: str, _obj: Obj | None) -> None:
        for name in self.appsets.objects:
            self.queue.add(name)

    def refresh_for_push(self, repo_urls: tuple[str, ...]) -> list[str]:
        """Queue every set whose last generation read one of ``repo_urls``; their names."""
        found = []
        for name, repos in self.reconciler.reads.items():
            if any(same_repo(read, url) for read in repos for url in repo_urls):
                self.queue.add(name)
                found.append(name)
        return sorted(found)

    # -- reads -----------------------------------------------------------------------------

    async def _cluster_secrets(self) -> list[Obj]:
        return list((await self.secrets.ready()).values())

    async def _projects(self) -> Mapping[str, Obj]:
        return await self.projects.ready()

    # -- loop ------------------------------------------------------------------------------

    async def _work(self, stop: asyncio.Event, busy: set[int], index: int) -> None:
        while not stop.is_set():
            name = await self.queue.get()
            if not self.active():
                self.queue.done(name)
                continue
            busy.add(index)
            started = time.monotonic()
            requeue = None
            with log_context(appset=f"{self.namespace}/{name}"):
                try:
                    outcome = await self.reconciler.reconcile(name)
                    self.reconciles += 1
                    self.observe_reconcile(time.monotonic() - started)
                    requeue = outcome.requeue_after if outcome is not None else None
                    if outcome is not None and (
                        outcome.created or outcome.deleted or outcome.updated
                    ):
                        log.info(
                            "ApplicationSet %s: created %d, updated %d, deleted %d application(s)",
                            name,
                            len(outcome.created),
                            len(outcome.updated),
                            len(outcome.deleted),
                        )
                except Exception:  # one set's failure must not stop the others
                    log.exception("reconciling ApplicationSet %s failed", name)
                    requeue = 30.0
                finally:
                    self.queue.done(name)
                    busy.discard(index)
            if requeue is not None:
                self.queue.add_after(name, requeue)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; reconciles start once every watch has listed."""
        for informer in (self.secrets, self.projects, self.appsets):
            informer.start()

        async def listed() -> None:
            for event in (self.apps.ready, self.secrets.synced, self.projects.synced):
                await event.wait()
            await self.appsets.synced.wait()

        waiting: asyncio.Future[Any] = asyncio.ensure_future(listed())
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
        busy: set[int] = set()
        workers: dict[int, asyncio.Task[None]] = {}
        if not stop.is_set():
            for name in self.appsets.objects:
                self.queue.add(name)
            workers = {
                i: asyncio.create_task(self._work(stop, busy, i)) for i in range(self.workers)
            }
            await stopping
        waiting.cancel()
        for i, task in workers.items():
            if i not in busy:
                task.cancel()
        running = [t for i, t in workers.items() if i in busy]
        if running:
            _done, late = await asyncio.wait(running, timeout=SHUTDOWN_GRACE)
            for task in late:
                task.cancel()
        await asyncio.gather(*workers.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            await waiting
        for informer in (self.appsets, self.secrets):
            await informer.stop()
        if self._owns_projects:
            await self.projects.stop()
        self.queue.close()
