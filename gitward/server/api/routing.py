"""One table of routes: what is mounted is what the OpenAPI document describes.

A route module lists its routes as :class:`Route` values and mounts them with
:func:`mount`, which adds them to aiohttp's router *and* to the table stored in
the application under :data:`ROUTES`. The OpenAPI document is generated from
that table, and a test compares the table with the router, so a route mounted
any other way (without a description) fails the test instead of going
undocumented.

Also here: reading a request body (size limit, JSON only, an object at the top),
boolean query parameters the way grpc-gateway reads them, and turning the lower
layers' errors into the API's own (:mod:`gitward.server.errors`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gitward._util import deepjson
from gitward.cluster.errors import ApiError as KubeApiError
from gitward.cluster.errors import ClusterUnreachable, Conflict, NotFound
from gitward.model.errors import ConfigError, GitwardError
from gitward.server.audit import audit as record
from gitward.server.auth import allowed, principal_of
from gitward.server.context import CONTEXT
from gitward.server.errors import (
    ApiError,
    FailedPrecondition,
    InvalidArgument,
    NotFoundError,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
)

Obj = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: A Kubernetes object name (DNS-1123 subdomain): nothing that could leave its URL path.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")

#: Request bodies above this are refused (an AppProject or a Cluster is a few KiB).
MAX_BODY_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class Route:
    """A mounted route and what the OpenAPI document says about it."""

    method: str
    path: str
    #: None for a route another module mounts itself and :mod:`described` describes.
    handler: Handler | None
    summary: str
    tag: str
    #: Argo CD's RBAC resource and action the route checks; None for a public route.
    rbac: tuple[str, str] | None
    #: Query parameters it reads (all optional strings unless named in ``flags``).
    query: tuple[str, ...] = ()
    #: Query parameters that are booleans (``true``/``false``).
    flags: tuple[str, ...] = ()
    #: What the request body is (a schema name), None when it takes none.
    body: str | None = None
    #: What a success answers (a schema name).
    answer: str = "object"
    #: The OpenAPI operationId (default: the handler's name).
    operation_id: str = ""

    @property
    def name(self) -> str:
        if self.operation_id:
            return self.operation_id
        return self.handler.__name__ if self.handler is not None else ""


ROUTES: web.AppKey[list[Route]] = web.AppKey("gitward.server.routes", list)


def mount(app: web.Application, routes: list[Route]) -> None:
    """Add ``routes`` to the router and to the table the OpenAPI document reads."""
    if ROUTES not in app:
        app[ROUTES] = []
    for route in routes:
        if route.handler is None:
            raise ValueError(f"{route.method} {route.path}: no handler to mount")
        app.router.add_route(route.method, route.path, translated(route.handler))
        app[ROUTES].append(route)


def api_error(exc: GitwardError) -> ApiError:
    """The API's answer to an error of a lower layer (its message is already redacted)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NotFound):
        return NotFoundError(str(exc))
    if isinstance(exc, Conflict):
        return FailedPrecondition(str(exc))
    if isinstance(exc, KubeApiError) and exc.status in (400, 422):
        return InvalidArgument(str(exc))
    if isinstance(exc, ClusterUnreachable):
        return Unavailable(str(exc))
    if isinstance(exc, ConfigError):
        return InvalidArgument(str(exc))
    return ApiError(str(exc))


def translated(handler: Handler) -> Handler:
    """``handler`` answering gitward's own errors in the API's shape, never as a traceback."""

    @functools.wraps(handler)
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except GitwardError as exc:
            raise api_error(exc) from None

    return run


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(obj), content_type="application/json")


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> Obj:
    """The request's JSON object; 413 past ``limit`` bytes, 400 for anything but an object."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body of {request.content_length} bytes exceeds {limit}")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    try:
        body = deepjson.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(f"request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidArgument("request body must be a JSON object")
    return body


def flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter: absent or ``false`` is False, ``true``/``1`` True."""
    value = request.query.get(name, "").strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise InvalidArgument(f"query parameter {name!r}: expected true or false, got {value[:40]!r}")


def field(obj: Obj, key: str, where: str) -> Obj:
    """``obj[key]`` when it is an object (absent: empty); 400 naming ``where.key`` otherwise."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where}.{key}: expected an object")
    return value


def text(obj: Obj, key: str, where: str) -> str:
    """``obj[key]`` when it is a string (absent: empty); 400 naming ``where.key`` otherwise."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{where}.{key}: expected a string")
    return value


def list_of(items: list[Obj], resource_version: str = "") -> Obj:
    """Argo CD's list shape: ``{"metadata": {...}, "items": [...]}`` (items never null)."""
    return {"metadata": {"resourceVersion": resource_version}, "items": items}


async def audit(request: web.Request, obj: Obj, reason: str, what: str) -> None:
    """A Kubernetes Event on ``obj`` saying the caller did ``what`` (``updated project``).

    Through :func:`gitward.server.audit.audit`: Argo CD's reasons
    (``ResourceCreated``/``Updated``/``Deleted``), the subject in front, redacted.
    """
    ctx = request.app[CONTEXT]
    await record(ctx.client, obj, principal_of(request), reason, what, namespace=ctx.namespace)


def object_name(value: str, where: str) -> str:
    """``value`` if it is a valid object name; 400 naming ``where`` otherwise.

    Names reach the API server's URL paths, so ``..`` or ``/`` must never pass.
    """
    if not _NAME.fullmatch(value) or ".." in value:
        raise InvalidArgument(f"{where}: {value[:64]!r} is not a valid object name")
    return value


def missing(request: web.Request, resource: str, action: str, obj: str, message: str) -> ApiError:
    """404 for a caller who may ``action`` ``obj``, else the 403 an existing one would get.

    So a caller without rights cannot probe which repositories or clusters exist.
    """
    if allowed(request, resource, action, obj):
        return NotFoundError(message)
    subject = principal_of(request).subject
    return PermissionDenied(f"permission denied: {resource}, {action}, {obj}, sub: {subject}")
