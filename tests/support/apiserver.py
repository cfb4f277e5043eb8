"""The API server in the test process, with a stand-in for authentication.

Tests name the caller with the ``X-Test-User`` header and give each subject a
table of ``(resource, action, object glob)`` grants: the stand-in knows nothing
of tokens or policy files, which are not what these tests test. It is test-only
and never mounted by ``gitward server``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from gitward._util.glob import glob_match
from gitward.cluster import KubeClient
from gitward.localkube.process import free_ports
from gitward.server.app import Handler, build_app
from gitward.server.appstore import AppStore
from gitward.server.auth import PRINCIPAL_KEY, Principal
from gitward.server.context import ServerContext
from gitward.services import refresher_for
from gitward.sync import Refresher

USER_HEADER = "X-Test-User"
Grant = tuple[str, str, str]  # (resource, action, object glob)
ADMIN_GRANTS: tuple[Grant, ...] = (("*", "*", "*"),)


@dataclass
class TableEnforcer:
    """Grants by subject; ``*`` globs each part."""

    grants: dict[str, Sequence[Grant]] = field(default_factory=dict)

    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        return any(
            glob_match(r, resource) and glob_match(a, action) and glob_match(o, obj)
            for r, a, o in self.grants.get(principal.subject, ())
        )


@web.middleware
async def header_principal(request: web.Request, handler: Handler) -> web.StreamResponse:
    user = request.headers.get(USER_HEADER)
    if user:
        request[PRINCIPAL_KEY] = Principal(user)
    return await handler(request)


@dataclass
class Served:
    url: str
    store: AppStore
    enforcer: TableEnforcer
    app: web.Application

    def headers(self, user: str = "admin") -> dict[str, str]:
        return {USER_HEADER: user}


@contextlib.asynccontextmanager
async def serving(
    kube: KubeClient,
    grants: Mapping[str, Sequence[Grant]] | None = None,
    *,
    app_namespaces: tuple[str, ...] = (),
    max_body: int = 1 << 20,
    refresh_wait: float = 10.0,
) -> AsyncIterator[Served]:
    """``build_app`` on a free loopback port, its informers synced; stopped afterwards."""
    store = AppStore(kube, "argocd", app_namespaces)
    base = await refresher_for(kube, "argocd")
    refresher = Refresher(
        kube, base.settings, base.manifests, projects=store.projects, control_namespace="argocd"
    )
    enforcer = TableEnforcer({"admin": ADMIN_GRANTS, **(grants or {})})
    app = build_app(
        ServerContext(kube, "argocd", app_namespaces),
        store=store,
        refresher=refresher,
        enforcer=enforcer,
        auth=[header_principal],
        max_body=max_body,
        refresh_wait=refresh_wait,
    )
    store.start()
    await store.ready()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    port = free_ports(1)[0]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Served(f"http://127.0.0.1:{port}", store, enforcer, app)
    finally:
        await runner.cleanup()
        await store.stop()


async def call(
    method: str, url: str, user: str | None = "admin", body: Any = None, **params: str
) -> tuple[int, Any]:
    """One request; (status, decoded JSON body or text)."""
    headers = {USER_HEADER: user} if user else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, headers=headers, json=body, params=params or None) as resp,
    ):
        text = await resp.text()
        try:
            return resp.status, await resp.json(content_type=None)
        except ValueError:
            return resp.status, text
