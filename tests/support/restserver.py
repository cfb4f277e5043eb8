"""An API server for tests: the route modules on a real port, against the real cluster.

The application here mounts route modules the way ``gitward server`` does, with two
stand-ins of the server's own (not the API server's) making: a middleware that maps
a bearer token to a :class:`Principal` from a fixed table, and an enforcer that
answers from a list of ``(subject, resource, action, object glob)`` grants. What the
routes do with the control cluster is real.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from gitward.cluster import KubeClient
from gitward.server.auth import ENFORCER, PRINCIPAL_KEY, Principal
from gitward.server.context import CONTEXT, ServerContext
from gitward.server.errors import ApiError

Grant = tuple[str, str, str, str]  # subject, resource, action, object glob

#: The stand-in authenticator's tokens: ``NAME-token`` is the principal NAME.
TOKEN_SUFFIX = "-token"
ADMIN: list[Grant] = [("admin", "*", "*", "*")]
READER: list[Grant] = [("reader", "*", "get", "*")]


class GrantEnforcer:
    def __init__(self, grants: Iterable[Grant]) -> None:
        self.grants = list(grants)

    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        return any(
            sub == principal.subject
            and res in ("*", resource)
            and act in ("*", action)
            and fnmatch.fnmatchcase(obj, pattern)
            for sub, res, act, pattern in self.grants
        )


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except ApiError as exc:
        return exc.response()
    return response


@web.middleware
async def _tokens(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token.endswith(TOKEN_SUFFIX) and len(token) > len(TOKEN_SUFFIX):
        request[PRINCIPAL_KEY] = Principal(token.removesuffix(TOKEN_SUFFIX))
    response: web.StreamResponse = await handler(request)
    return response


def build_app(
    client: KubeClient,
    namespace: str,
    modules: Iterable[Callable[[web.Application], None]],
    grants: Iterable[Grant] = (),
) -> web.Application:
    app = web.Application(middlewares=[_errors, _tokens])
    app[CONTEXT] = ServerContext(client, namespace)
    app[ENFORCER] = GrantEnforcer([*ADMIN, *READER, *grants])
    for add_routes in modules:
        add_routes(app)
    return app


class Api:
    """A client of the test server: ``await api.get(path, token=...)`` → (status, JSON)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str = "admin-token",  # noqa: S107 - a test token
        params: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        async with self.session.request(
            method, self.base + path, data=data, headers=headers, params=params
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("PUT", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("DELETE", path, **kw)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[Api]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Api(session, str(server.make_url("")).rstrip("/"))
    finally:
        await server.close()
