"""The API server's aiohttp application: middleware, every route module, health and version.

One place decides how any failure looks to a caller: an
:class:`~gitward.server.errors.ApiError` answers with its own status and
Argo CD's ``{"error", "code", "message"}`` body; the cluster's errors are mapped
to the matching status (a validation message from the API server is the
caller's to read); a :class:`~gitward.model.errors.ConfigError` is a 400 with its
message; anything else is logged with its traceback and answered with a bare
500 that names nothing inside the server.

Bodies are limited (1 MiB by default): a larger Content-Length is refused before
a byte is read, and a body that grows past the limit while being read is too.

``/healthz``, ``/readyz`` (the informers have listed) and ``/api/version`` are
public; every other route calls :func:`gitward.server.auth.require`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from gitward import __version__
from gitward.appstate import Refresher
from gitward.cluster import ClusterUnreachable
from gitward.cluster.errors import ApiError as ClusterApiError
from gitward.model.errors import ConfigError, GitwardError
from gitward.server import ui
from gitward.server.anonymous import AllowAll, anonymous_admin
from gitward.server.api import (
    appinfo,
    applications,
    operations,
    resources,
    rest,
    streams,
    webhook,
)
from gitward.server.api.common import REFRESH_WAIT, REFRESHER, STORE, json_response
from gitward.server.appstore import AppStore
from gitward.server.auth import ENFORCER, Enforcer
from gitward.server.auth.middleware import auth_middleware
from gitward.server.auth.routes import add_routes as auth_routes
from gitward.server.auth.service import is_public
from gitward.server.auth.setup import setup_auth
from gitward.server.context import CONTEXT, ServerContext
from gitward.server.errors import (
    ApiError,
    FailedPrecondition,
    InvalidArgument,
    NotFoundError,
    PayloadTooLarge,
    Unavailable,
)

log = logging.getLogger("gitward.server.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: aiohttp's middleware: a coroutine function marked by ``@web.middleware``.
Middleware = Any
RouteModule = Callable[[web.Application], None]

MAX_BODY = 1 << 20
REFRESH_WAIT_SECONDS = 10.0

#: The applications API's route modules.
APPLICATION_ROUTES: tuple[RouteModule, ...] = (
    applications.add_routes,
    operations.add_routes,
    resources.add_routes,
    appinfo.add_routes,
    streams.add_routes,
)

#: Every route module ``gitward server`` mounts besides auth's own: the applications API,
#: the webhook, projects, repositories, repocreds, clusters, applicationsets, settings,
#: version and the OpenAPI document (``api/rest.py``), and the web UI.
SERVER_ROUTES: tuple[RouteModule, ...] = (
    *APPLICATION_ROUTES,
    webhook.add_routes,
    rest.add_routes,
    ui.add_routes,
)

_HTTP_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 9, 413: 8, 415: 3, 429: 8}


def _shaped(status: int, message: str) -> web.Response:
    body = {"error": message, "code": _HTTP_CODES.get(status, 13), "message": message}
    return json_response(body, status)


def _from_cluster(exc: ClusterApiError) -> ApiError:
    if exc.status == 404:
        return NotFoundError(str(exc))
    if exc.status == 409:
        return FailedPrecondition(str(exc))
    if exc.status in (400, 422):
        return InvalidArgument(str(exc))
    return Unavailable("the control cluster refused the request")


def error_middleware(max_body: int) -> Middleware:
    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.content_length is not None and request.content_length > max_body:
                raise PayloadTooLarge(f"request body larger than {max_body} bytes")
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except web.HTTPRequestEntityTooLarge:
            return PayloadTooLarge(f"request body larger than {max_body} bytes").response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _shaped(exc.status, exc.reason)
        except ClusterApiError as exc:
            return _from_cluster(exc).response()
        except ClusterUnreachable:
            return Unavailable("the control cluster is unreachable").response()
        except ConfigError as exc:
            return InvalidArgument(str(exc)).response()
        except (GitwardError, Exception):
            log.exception("%s %s failed", request.method, request.path)
            return _shaped(500, "internal error")

    return errors


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _readyz(request: web.Request) -> web.Response:
    if request.app[STORE].synced:
        return web.Response(text="ok")
    return web.Response(status=503, text="listing Applications and AppProjects")


async def _version(_request: web.Request) -> web.Response:
    return json_response({"Version": f"v{__version__}+gitward", "Platform": "gitward"})


def build_app(
    context: ServerContext,
    *,
    store: AppStore,
    refresher: Refresher,
    enforcer: Enforcer | None = None,
    auth: Sequence[Middleware] = (),
    routes: Sequence[RouteModule] = APPLICATION_ROUTES,
    max_body: int = MAX_BODY,
    refresh_wait: float = REFRESH_WAIT_SECONDS,
) -> web.Application:
    """The API's application. ``auth`` authenticates (it stores the caller's
    :class:`~gitward.server.auth.Principal`); ``routes`` are the route modules'
    ``add_routes``; ``store`` must be started by whoever runs the server.

    Without ``enforcer`` the caller installs one (and its middleware) before the
    application starts: :func:`server_app` does, with accounts and RBAC."""
    app = web.Application(client_max_size=max_body, middlewares=[error_middleware(max_body), *auth])
    app[CONTEXT] = context
    if enforcer is not None:
        app[ENFORCER] = enforcer
    app[STORE] = store
    app[REFRESHER] = refresher
    app[REFRESH_WAIT] = refresh_wait
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    for add_routes in routes:
        add_routes(app)
    if not any(
        r.method == "GET" and r.resource is not None and r.resource.canonical == "/api/version"
        for r in app.router.routes()
    ):
        app.router.add_get("/api/version", _version)
    return app


async def server_app(
    context: ServerContext,
    *,
    store: AppStore,
    refresher: Refresher,
    insecure: bool = False,
    disable_auth: bool = False,
    routes: Sequence[RouteModule] = SERVER_ROUTES,
    max_body: int = MAX_BODY,
) -> web.Application:
    """``gitward server``'s application: :func:`build_app` with accounts, tokens and RBAC
    from ``argocd-cm``/``argocd-secret``/``argocd-rbac-cm`` (first-start secrets created),
    or, with ``disable_auth``, every caller treated as admin."""
    if disable_auth:
        return build_app(
            context,
            store=store,
            refresher=refresher,
            enforcer=AllowAll(),
            auth=[anonymous_admin],
            routes=routes,
            max_body=max_body,
        )
    app = build_app(
        context, store=store, refresher=refresher, routes=(*routes, auth_routes), max_body=max_body
    )

    # Project role tokens are checked against the AppProject read afresh (auth's short
    # cache, dropped when a token is issued), not the informer: a token is usable the
    # moment its creation is answered, before the watch has brought the new record.
    svc = await setup_auth(app, context.client, context.namespace, insecure=insecure)
    authenticate: Middleware = auth_middleware(svc.authenticator, is_public)
    app.middlewares.append(authenticate)
    return app
