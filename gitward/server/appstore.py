"""The server's Applications and AppProjects, held in memory by watches.

Every list, get and stream of the API reads from here, never from the API
server: one LIST then one WATCH per kind (:class:`~gitward.cluster.informer.Informer`),
so 10,000 Applications cost the API server nothing per request, and a status
the controller writes reaches stream clients as the watch event arrives.

Applications of the control namespace are watched there; when other namespaces
are served (``--application-namespaces``, globs), Applications are watched in
every namespace and those of other namespaces dropped on arrival.

Keys are ``(name, namespace)`` tuples, kept sorted, because Argo CD lists
Applications by name and a page resumes after the last key it returned.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from gitward._util.glob import compile_glob
from gitward._util.versions import resource_version
from gitward.appstate.projects import Projects
from gitward.cluster import KubeClient
from gitward.cluster.informer import Informer
from gitward.model.kinds import API_VERSION

Obj = dict[str, Any]
Key = tuple[str, str]  # (name, namespace)
#: A change: ("ADDED" | "MODIFIED" | "DELETED", the object).
Listener = Callable[[str, Obj], None]


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("name", "")), str(meta.get("namespace") or "")


def _informer_key(obj: Obj) -> str:
    name, namespace = key_of(obj)
    return f"{namespace}/{name}"


class AppStore:
    """Applications of the served namespaces, sorted by name, and the control namespace's
    AppProjects; listeners hear every change."""

    def __init__(
        self, client: KubeClient, namespace: str, app_namespaces: tuple[str, ...] = ()
    ) -> None:
        self.namespace = namespace
        self.app_namespaces = app_namespaces
        self._globs = [compile_glob(p) for p in app_namespaces]
        self.apps: dict[Key, Obj] = {}
        #: Each app's JSON, encoded once per stored object (see :meth:`encoded`).
        self._encoded: dict[Key, tuple[Obj, bytes]] = {}
        self.keys: list[Key] = []
        #: The newest resourceVersion seen on an Application (Kubernetes' list metadata).
        self.resource_version = 0
        self._listeners: set[Listener] = set()
        self.informer = Informer(
            client,
            API_VERSION,
            "Application",
            None if app_namespaces else namespace,
            on_change=self._changed,
            key_of=_informer_key,
        )
        self.project_informer = Informer(client, API_VERSION, "AppProject", namespace)
        self.projects = Projects.from_informer(self.project_informer)

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.informer.start()
        self.project_informer.start()

    async def ready(self, timeout: float = 30.0) -> None:
        await self.informer.ready(timeout)
        await self.project_informer.ready(timeout)

    @property
    def synced(self) -> bool:
        return self.informer.synced.is_set() and self.project_informer.synced.is_set()

    async def stop(self) -> None:
        await self.informer.stop()
        await self.project_informer.stop()

    # -- reads ----------------------------------------------------------------------------------

    def serves(self, namespace: str) -> bool:
        """True for the control namespace and the namespaces ``--application-namespaces`` names."""
        return namespace == self.namespace or any(g.fullmatch(namespace) for g in self._globs)

    def get(self, name: str, namespace: str) -> Obj | None:
        return self.apps.get((name, namespace))

    def after(self, start: Key | None) -> Iterator[Obj]:
        """Applications in (name, namespace) order, beginning after ``start``."""
        index = 0 if start is None else bisect.bisect_right(self.keys, start)
        keys = self.keys
        apps = self.apps
        while index < len(keys):
            obj = apps.get(keys[index])
            index += 1
            if obj is not None:
                yield obj

    def encoded(self, obj: Obj) -> bytes:
        """``obj`` as JSON, encoded once for every reader of this version of it.

        Encoding is most of what serving an app costs (a list page of 100 apps spent
        6 of its 10 ms in ``json.dumps``), and every list, get and stream client asks
        for the same bytes until the app changes. Only the stored object's own encoding
        is kept, and only until it is replaced.
        """
        key = key_of(obj)
        found = self._encoded.get(key)
        if found is not None and found[0] is obj:
            return found[1]
        data = json.dumps(obj, separators=(",", ":")).encode()
        if self.apps.get(key) is obj:
            self._encoded[key] = (obj, data)
        return data

    def project(self, name: str) -> Obj | None:
        return self.project_informer.objects.get(name)

    # -- changes --------------------------------------------------------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change; returns the function that stops it."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    async def wait_for(self, key: Key, done: Callable[[Obj | None], bool], timeout: float) -> bool:
        """Wait until ``done`` holds for the stored app ``key`` (None: gone); False on timeout."""
        if done(self.apps.get(key)):
            return True
        loop = asyncio.get_running_loop()
        reached: asyncio.Future[None] = loop.create_future()

        def check(_kind: str, obj: Obj) -> None:
            if key_of(obj) == key and not reached.done() and done(self.apps.get(key)):
                reached.set_result(None)

        stop = self.listen(check)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reached, timeout)
            return reached.done()
        finally:
            stop()

    def _changed(self, _informer_key_: str, obj: Obj | None) -> None:
        if obj is None:
            namespace, _, name = _informer_key_.partition("/")
            key = (name, namespace)
            old = self.apps.pop(key, None)
            self._encoded.pop(key, None)
            if old is None:
                return
            index = bisect.bisect_left(self.keys, key)
            if index < len(self.keys) and self.keys[index] == key:
                del self.keys[index]
            self._tell("DELETED", old)
            return
        key = key_of(obj)
        if not self.serves(key[1]):
            return
        version = resource_version(obj)
        if version > self.resource_version:
            self.resource_version = version
        kind = "MODIFIED" if key in self.apps else "ADDED"
        if kind == "ADDED":
            bisect.insort(self.keys, key)
        self.apps[key] = obj
        self._encoded.pop(key, None)
        self._tell(kind, obj)

    def _tell(self, kind: str, obj: Obj) -> None:
        for listener in list(self._listeners):
            listener(kind, obj)
