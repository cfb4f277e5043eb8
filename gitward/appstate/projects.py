"""Where an installation's AppProjects come from, parsed once per resourceVersion.

The CLI reads a project with one GET when it needs it; the controller keeps every
project of its namespace current with an informer and reads from memory, so a
steady-state refresh still sends no request. Both go through :class:`Projects`,
which owns the parsed copies (a project is parsed again only when it changes).

A missing ``default`` project is Argo CD's built-in one (Argo CD recreates it when it
is deleted); any other missing project is :class:`ProjectNotFound`, and an invalid
one is the :class:`~gitward.model.errors.ConfigError` its parser raised — both
refuse the app, never widen what it may do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gitward._util.lru import BoundedLRU
from gitward.cluster import KubeClient, NotFound
from gitward.cluster.informer import Informer
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APP_PROJECT
from gitward.model.project import DEFAULT_PROJECT, AppProject, parse_project
from gitward.projects.fence import BUILT_IN_DEFAULT

Obj = dict[str, Any]
#: (namespace, name) -> the AppProject object, or None when there is none.
ProjectRead = Callable[[str, str], Awaitable[Obj | None]]


class ProjectNotFound(ConfigError):
    """The Application names a project that does not exist."""


class Projects:
    """AppProjects by name, read through ``read`` and parsed once per version."""

    def __init__(self, read: ProjectRead) -> None:
        self._read = read
        self._parsed: BoundedLRU[tuple[str, str, str], AppProject] = BoundedLRU(1_000)

    @classmethod
    def from_api(cls, client: KubeClient) -> Projects:
        """One GET per lookup (the CLI)."""

        async def read(namespace: str, name: str) -> Obj | None:
            try:
                return await client.get(API_VERSION, APP_PROJECT, name, namespace)
            except NotFound:
                return None

        return cls(read)

    @classmethod
    def from_informer(cls, informer: Informer) -> Projects:
        """From an informer of the installation's namespace (the controller): no request."""

        async def read(_namespace: str, name: str) -> Obj | None:
            if informer.synced.is_set():  # the common case: no timer, no task
                return informer.objects.get(name)
            return (await informer.ready()).get(name)

        return cls(read)

    async def get(self, name: str, namespace: str) -> AppProject:
        """The project ``name`` in ``namespace``; raises ProjectNotFound or ConfigError."""
        obj = await self._read(namespace, name)
        if obj is None:
            if name == DEFAULT_PROJECT:
                return BUILT_IN_DEFAULT
            raise ProjectNotFound(
                f"application references project {name} which does not exist "
                f"in namespace {namespace}"
            )
        meta = obj.get("metadata") or {}
        key = (namespace, name, str(meta.get("resourceVersion") or ""))
        found = self._parsed.get(key) if key[2] else None
        if found is None:
            found = parse_project(obj, f"AppProject {namespace}/{name}")
            if key[2]:
                self._parsed.put(key, found)
        return found
