"""``/api/openapi.json`` and ``/swagger-ui``: the API described from the route table.

The document is generated from :data:`gitward.server.api.routing.ROUTES`, the table
every route module mounts through, so it lists exactly what the server serves (a
test compares it with aiohttp's router). Shapes are named after Argo CD's messages
(``AppProject``, ``Repository``, ``Cluster``...) and described, not re-declared
field by field: Argo CD's own swagger is the reference for their fields.

``/swagger-ui`` is a small renderer of gitward's own (``static/``), not the
swagger-ui bundle: it must work without reaching the internet, and vendoring a
megabyte of third-party JavaScript would be a dependency to audit and patch for a
page that lists routes. It is served with a Content-Security-Policy that allows
only the server's own scripts and requests.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from aiohttp import web

from gitward import __version__
from gitward.server.api.described import DESCRIBED
from gitward.server.api.routing import ROUTES, Route, json_response, mount

Obj = dict[str, Any]

_PARAM = re.compile(r"\{(\w[\w.]*)(?::[^}]*)?\}")
ERROR_SCHEMA: Obj = {
    "type": "object",
    "description": "Argo CD's gateway error: the message twice and the grpc status code.",
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "integer"},
        "message": {"type": "string"},
    },
}
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"


def openapi_path(path: str) -> str:
    """aiohttp's ``/x/{name:.+}`` as OpenAPI's ``/x/{name}``."""
    return _PARAM.sub(r"{\1}", path)


def _operation(route: Route) -> Obj:
    params: list[Obj] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(route.path)
    ]
    params += [{"name": q, "in": "query", "schema": {"type": "string"}} for q in route.query]
    params += [{"name": f, "in": "query", "schema": {"type": "boolean"}} for f in route.flags]
    op: Obj = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": params,
        "responses": {
            "200": {
                "description": "Success",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{route.answer}"}}
                },
            },
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{route.body}"}}
            },
        }
    if route.rbac is None:
        op["security"] = []
    else:
        resource, action = route.rbac
        op["x-rbac"] = {"resource": resource, "action": action}
    return op


def document(routes: list[Route]) -> Obj:
    """The OpenAPI 3 document of ``routes``."""
    paths: dict[str, Obj] = {}
    schemas: Obj = {"Error": ERROR_SCHEMA}
    for route in routes:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route)
        for name in (route.answer, route.body):
            if name and name not in schemas:
                schemas[name] = {"type": "object", "description": f"Argo CD's {name}."}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gitward API",
            "version": __version__,
            "description": "Argo CD's REST API paths and JSON shapes, served by gitward.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "argocd.token"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }


def _mounted(app: web.Application) -> list[tuple[str, str]]:
    return [
        (route.method, openapi_path(route.resource.canonical if route.resource else ""))
        for route in app.router.routes()
        if route.method != "HEAD"
    ]


def documented_routes(app: web.Application) -> list[Route]:
    """The route table, and the described routes that are mounted."""
    table: list[Route] = list(app.get(ROUTES) or ())
    mounted = set(_mounted(app))
    known = {(r.method, openapi_path(r.path)) for r in table}
    for route in DESCRIBED:
        key = (route.method, openapi_path(route.path))
        if key in mounted and key not in known:
            table.append(route)
    return table


def undocumented(app: web.Application) -> list[str]:
    """Routes aiohttp serves that the document does not describe (``GET /path``)."""
    described = {(r.method, openapi_path(r.path)) for r in documented_routes(app)}
    return [f"{m} {p}" for m, p in _mounted(app) if (m, p) not in described]


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(document(documented_routes(request.app)))


def _static(name: str) -> bytes:
    return resources.files("gitward.server.api").joinpath("static", name).read_bytes()


async def swagger_ui(request: web.Request) -> web.Response:
    del request
    return web.Response(
        body=_static("swagger.html"),
        content_type="text/html",
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
    )


async def swagger_asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    types = {"swagger.js": "application/javascript", "swagger.css": "text/css"}
    if name not in types:
        raise web.HTTPNotFound()
    return web.Response(
        body=_static(name),
        content_type=types[name],
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
    )


ROUTES_OF_DOCS = [
    Route(
        "GET",
        "/api/openapi.json",
        get_openapi,
        "This document.",
        "Documentation",
        rbac=None,
        answer="OpenAPI",
    ),
    Route(
        "GET",
        "/swagger-ui",
        swagger_ui,
        "A page that renders this document (no internet needed).",
        "Documentation",
        rbac=None,
        answer="HTML",
    ),
    Route(
        "GET",
        "/swagger-ui/{asset}",
        swagger_asset,
        "The page's script and style sheet.",
        "Documentation",
        rbac=None,
        answer="Asset",
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES_OF_DOCS)
