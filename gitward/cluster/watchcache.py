"""A watch-fed cache of one cluster's live objects, shared by every app.

A refresh needs, for each desired object, its live counterpart, and for the
app, every live object carrying its tracking id. Reading those with GETs and
LISTs costs one request per resource per refresh; at 1,000 apps that is the
API server's whole budget. Instead each kind in use gets one cluster-wide
list+watch (started the first time a refresh asks for it), and the cache
answers from memory: a steady-state refresh sends no request at all.

Correctness rules:

* A kind answers from memory only while its watch is in sync. Before the first
  list completes, and while a broken watch is being re-established, readers
  fall back to the API (so an unreachable cluster surfaces as an error, never
  as "the object is gone", which could look like something to prune).
* Writes the process itself makes (an apply's response) are stored at once
  (:meth:`ClusterCache.observe`), so the refresh right after a sync sees them
  without waiting for the watch event; an older event can never overwrite a
  newer object (resourceVersions of one kind are compared as etcd revisions).
* An index from owning app to object keys is kept up to date on every event,
  so "what does app X track" is a dict lookup, not a scan.
* Objects no app tracks are kept as stubs (name, uid, resourceVersion): the
  cache holds other workloads' data (their Secrets above all) only as long as
  it must, and a refresh that needs one (adopting an existing object) reads it.
* ``410 Gone`` (the watch fell too far behind) relists the kind and reconciles
  the store with the list, notifying owners of whatever changed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from gitward._util.sharedkeys import share_keys
from gitward._util.versions import resource_version as _revision
from gitward.cluster.client import KubeClient
from gitward.cluster.errors import ClusterError, UnknownKind
from gitward.cluster.live import ApiLiveReader
from gitward.model.tracking import TrackingMethod, owner_app

Obj = dict[str, Any]
Kind = tuple[str, str]  # (apiVersion, kind)
ObjKey = tuple[str, str]  # (namespace, name)

log = logging.getLogger("gitward.cluster.cache")

WATCH_SECONDS = 240
#: How long a reader waits for a kind's first list before asking the API itself.
FIRST_LIST_WAIT = 30.0


def _key(obj: Obj) -> ObjKey:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name", ""))


def _stub(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in meta}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": kept}


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): relist at once."""


class KindCache:
    """Every live object of one kind, plus which app tracks which of them."""

    def __init__(self, api_version: str, kind: str, tracking: TrackingMethod) -> None:
        self.api_version = api_version
        self.kind = kind
        self.tracking = tracking
        self.objects: dict[ObjKey, Obj] = {}
        self.owner: dict[ObjKey, str] = {}
        self.by_owner: dict[str, set[ObjKey]] = {}
        #: Keys held as stubs (untracked objects: identity and version only).
        self.stubs: set[ObjKey] = set()
        self.synced = asyncio.Event()
        #: Set once the first list ended, well or not: readers stop waiting then.
        self.settled = asyncio.Event()
        self.failed: BaseException | None = None

    def _index(self, key: ObjKey, owner: str | None) -> None:
        previous = self.owner.get(key)
        if previous == owner:
            return
        if previous is not None:
            keys = self.by_owner.get(previous)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_owner[previous]
            del self.owner[key]
        if owner is not None:
            self.owner[key] = owner
            self.by_owner.setdefault(owner, set()).add(key)

    def put(self, obj: Obj) -> tuple[str | None, str | None]:
        """Store ``obj`` unless a newer version is held; (previous owner, new owner)."""
        obj.setdefault("apiVersion", self.api_version)
        obj.setdefault("kind", self.kind)
        key = _key(obj)
        current = self.objects.get(key)
        if current is not None and _revision(current) > _revision(obj) >= 0:
            return None, None  # an older event than what a write already stored
        previous = self.owner.get(key)
        owner = owner_app(obj, self.tracking)
        if owner is None:
            # Nobody tracks it: keep only that it exists. Its body is read from the API
            # the rare time a refresh needs it (adopting an existing object), so the
            # cache holds no other workload's data (no foreign Secrets) and stays small.
            self.objects[key] = _stub(obj)
            self.stubs.add(key)
        else:
            # Kept until its next version: with one copy of each key (a third smaller).
            self.objects[key] = share_keys(obj)
            self.stubs.discard(key)
        self._index(key, owner)
        return previous, owner

    def remove(self, obj: Obj) -> str | None:
        """Forget ``obj``; the app that tracked it, if any."""
        key = _key(obj)
        current = self.objects.get(key)
        if current is not None and _revision(current) > _revision(obj) >= 0:
            return None  # deleted and re-created since: keep the newer object
        previous = self.owner.get(key)
        self.objects.pop(key, None)
        self.stubs.discard(key)
        self._index(key, None)
        return previous

    def replace_all(self, items: Iterable[Obj]) -> set[str]:
        """Make the store equal to a fresh list; the owners whose objects changed."""
        fresh = {_key(o): o for o in items}
        touched: set[str] = set()
        for key in list(self.objects):
            if key not in fresh:
                owner = self.remove(self.objects[key])
                if owner:
                    touched.add(owner)
        for key, obj in fresh.items():
            if _revision(self.objects.get(key)) != _revision(obj):
                touched.update(o for o in self.put(obj) if o)
        return touched


class ClusterCache:
    """Live objects of the kinds in use on one cluster, kept current by watches.

    ``on_owner(app)`` is called for every change of an object an app tracks
    (before and after the change, so moving an object between apps wakes
    both): the controller queues that app, which is how drift is noticed
    within a second.
    """

    def __init__(
        self,
        client: KubeClient,
        tracking: TrackingMethod,
        on_owner: Callable[[str], None] = lambda _app: None,
    ) -> None:
        self.client = client
        self.tracking = tracking
        self.on_owner = on_owner
        self._api = ApiLiveReader(client, tracking)
        self._kinds: dict[Kind, KindCache] = {}
        self._tasks: dict[Kind, asyncio.Task[None]] = {}
        #: Watch events handled, and reads answered from memory vs from the API: for metrics.
        self.events = 0
        self.hits = 0
        self.misses = 0

    @property
    def kinds(self) -> set[Kind]:
        return set(self._kinds)

    def kind_cache(self, api_version: str, kind: str) -> KindCache | None:
        """The store of one kind, if it is watched (for metrics and tests)."""
        return self._kinds.get((api_version, kind))

    @property
    def object_count(self) -> int:
        return sum(len(k.objects) for k in self._kinds.values())

    def _start(self, api_version: str, kind: str) -> KindCache:
        cache = self._kinds.get((api_version, kind))
        if cache is None:
            cache = KindCache(api_version, kind, self.tracking)
            self._kinds[(api_version, kind)] = cache
            self._tasks[(api_version, kind)] = asyncio.create_task(self._run(cache))
        return cache

    async def _synced(self, api_version: str, kind: str) -> KindCache | None:
        """The kind's cache once in sync; None if it is not (yet): ask the API then."""
        cache = self._start(api_version, kind)
        if not cache.settled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cache.settled.wait(), FIRST_LIST_WAIT)
        if cache.synced.is_set():
            self.hits += 1
            return cache
        self.misses += 1
        if isinstance(cache.failed, UnknownKind):
            self._drop(api_version, kind)  # maybe its CRD comes later: try again next time
        return None

    def _drop(self, api_version: str, kind: str) -> None:
        self._kinds.pop((api_version, kind), None)
        task = self._tasks.pop((api_version, kind), None)
        if task is not None:
            task.cancel()

    # -- reads (the compare's LiveReader interface) ---------------------------------------------

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> Obj | None:
        cache = await self._synced(api_version, kind)
        key = (namespace or "", name)
        if cache is None or key in cache.stubs:
            return await self._api.get(api_version, kind, name, namespace)
        return cache.objects.get(key)

    async def tracked(self, app_name: str, kinds: Iterable[Kind]) -> list[Obj]:
        found: list[Obj] = []
        for api_version, kind in sorted(set(kinds)):
            cache = await self._synced(api_version, kind)
            if cache is None:
                found.extend(await self._api.tracked(app_name, [(api_version, kind)]))
            else:
                found.extend(cache.objects[k] for k in cache.by_owner.get(app_name, ()))
        return found

    async def for_objects(self, objects: Iterable[Obj]) -> ClusterCache:
        """The cache itself: it needs no preparation to answer a comparison."""
        return self

    # -- writes this process made ---------------------------------------------------------------

    def observe(self, obj: Obj) -> None:
        """Store an object a write returned, so the next read sees it at once."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        cache = self._kinds.get((api_version, kind))
        if cache is not None and cache.synced.is_set():
            cache.put(obj)

    # -- the watch loop ---------------------------------------------------------------------------

    def _notify(self, owners: Iterable[str | None]) -> None:
        for owner in set(owners):
            if owner:
                self.on_owner(owner)

    async def _run(self, cache: KindCache) -> None:
        delay = 1.0
        first = True
        api_version, kind = cache.api_version, cache.kind
        while True:
            try:
                items, version = await self.client.list_with_version(api_version, kind)
                touched = cache.replace_all(items)
                if not first:
                    self._notify(touched)  # what changed while the watch was down
                first = False
                cache.failed = None
                cache.synced.set()
                cache.settled.set()
                delay = 1.0
                while True:
                    version = await self._follow(cache, version)
            except _Gone:
                log.debug("watch of %s %s expired (410 Gone); relisting", api_version, kind)
            except UnknownKind as exc:
                cache.failed = exc
                cache.synced.clear()
                cache.settled.set()
                return
            except ClusterError as exc:
                cache.failed = exc
                cache.synced.clear()
                cache.settled.set()
                log.debug("watch of %s %s: %s; relisting in %.0f s", api_version, kind, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _follow(self, cache: KindCache, version: str) -> str:
        """One watch request, applied to the cache; the resourceVersion to resume from."""
        async for event in self.client.watch(
            cache.api_version, cache.kind, None, version, WATCH_SECONDS
        ):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise _Gone
                raise ClusterError(f"watch of {cache.kind}: {obj.get('message')}")
            version = str((obj.get("metadata") or {}).get("resourceVersion", version))
            if kind == "BOOKMARK":
                continue
            self.events += 1
            if kind == "DELETED":
                self._notify([cache.remove(obj)])
            else:
                self._notify(cache.put(obj))
        return version

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._kinds.clear()
