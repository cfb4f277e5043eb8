"""``/api/v1/applicationsets``: ApplicationSets, as Argo CD's ApplicationSetService.

RBAC objects are Argo CD's: ``PROJECT/NAME`` with the project of the set's template
(``spec.template.spec.project``), or ``PROJECT/NAMESPACE/NAME`` for a set outside
the control namespace. A body is parsed as the ApplicationSet controller parses
sets (:func:`gitward.model.applicationset.parse_applicationset`) before anything is
written, so a set the controller would refuse is refused here, naming the field.
``dryRun`` asks the API server to store nothing (its own validation still runs).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gitward._util.glob import glob_match
from gitward.cluster import NotFound
from gitward.cluster.errors import Conflict
from gitward.model.applicationset import parse_applicationset
from gitward.model.kinds import API_VERSION, APPLICATION_SET
from gitward.server.api.routing import (
    Route,
    audit,
    field,
    flag,
    json_response,
    list_of,
    mount,
    object_name,
    read_body,
)
from gitward.server.auth import allowed, require
from gitward.server.context import CONTEXT
from gitward.server.errors import AlreadyExists, InvalidArgument, NotFoundError, PermissionDenied

Obj = dict[str, Any]


def project_of(appset: Obj) -> str:
    template = (appset.get("spec") or {}).get("template") or {}
    spec = template.get("spec") if isinstance(template, dict) else None
    project = spec.get("project") if isinstance(spec, dict) else None
    return str(project or "default")


def rbac_object(request: web.Request, appset: Obj) -> str:
    meta = appset.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    name = str(meta.get("name") or "")
    if namespace and namespace != request.app[CONTEXT].namespace:
        return f"{project_of(appset)}/{namespace}/{name}"
    return f"{project_of(appset)}/{name}"


def _namespace(request: web.Request, given: str) -> str:
    """The control namespace, or one of the namespaces the server serves sets in."""
    ctx = request.app[CONTEXT]
    if not given or given == ctx.namespace:
        return ctx.namespace
    object_name(given, "appsetNamespace")
    if not any(glob_match(p, given) for p in ctx.application_namespaces):
        raise PermissionDenied(f"namespace {given!r} is not permitted for ApplicationSets")
    return given


async def _read(request: web.Request) -> Obj:
    ctx = request.app[CONTEXT]
    name = object_name(request.match_info["name"], "name")
    namespace = _namespace(request, request.query.get("appsetNamespace", ""))
    try:
        obj = await ctx.client.get(API_VERSION, APPLICATION_SET, name, namespace)
    except NotFound:
        raise NotFoundError(f'applicationsets.argoproj.io "{name}" not found') from None
    obj.setdefault("apiVersion", API_VERSION)
    obj.setdefault("kind", APPLICATION_SET)
    return obj


async def list_appsets(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    namespace = _namespace(request, request.query.get("appsetNamespace", ""))
    selector = request.query.get("selector") or None
    items = await ctx.client.list(API_VERSION, APPLICATION_SET, namespace, label_selector=selector)
    projects = set(request.query.getall("projects", []))
    shown = []
    for obj in sorted(items, key=lambda o: str(o["metadata"]["name"])):
        obj.setdefault("apiVersion", API_VERSION)
        obj.setdefault("kind", APPLICATION_SET)
        if projects and project_of(obj) not in projects:
            continue
        if allowed(request, "applicationsets", "get", rbac_object(request, obj)):
            shown.append(obj)
    return json_response(list_of(shown))


async def get_appset(request: web.Request) -> web.Response:
    obj = await _read(request)
    require(request, "applicationsets", "get", rbac_object(request, obj))
    return json_response(obj)


def from_body(request: web.Request, body: Obj) -> Obj:
    meta = field(body, "metadata", "applicationset")
    name = meta.get("name")
    if not isinstance(name, str):
        raise InvalidArgument("applicationset.metadata.name: required")
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    clean_meta: Obj = {
        "name": object_name(name, "applicationset.metadata.name"),
        "namespace": _namespace(request, str(namespace)),
    }
    for key in ("labels", "annotations", "finalizers"):
        value = meta.get(key)
        if value:
            clean_meta[key] = value
    obj = {
        "apiVersion": API_VERSION,
        "kind": APPLICATION_SET,
        "metadata": clean_meta,
        "spec": field(body, "spec", "applicationset"),
    }
    parse_applicationset(obj, f"ApplicationSet {name}")
    return obj


async def create_appset(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    obj = from_body(request, await read_body(request))
    rbac = rbac_object(request, obj)
    require(request, "applicationsets", "create", rbac)
    upsert, dry_run = flag(request, "upsert"), flag(request, "dryRun")
    meta = obj["metadata"]
    try:
        existing = await ctx.client.get(
            API_VERSION, APPLICATION_SET, meta["name"], meta["namespace"]
        )
    except NotFound:
        existing = None
    if existing is None:
        if dry_run:
            return json_response(await ctx.client.apply(obj, dry_run=True))
        try:
            stored = await ctx.client.create(obj)
        except Conflict:
            raise AlreadyExists(f"applicationset {meta['name']!r} already exists") from None
        await audit(request, stored, "ResourceCreated", "created ApplicationSet")
        return json_response(stored)
    existing.setdefault("apiVersion", API_VERSION)
    existing.setdefault("kind", APPLICATION_SET)
    if existing.get("spec") == obj["spec"]:
        return json_response(existing)
    if not upsert:
        raise AlreadyExists(
            f"applicationset {meta['name']!r} already exists with a different spec; use upsert"
        )
    require(request, "applicationsets", "update", rbac_object(request, existing))
    require(request, "applicationsets", "update", rbac)
    new_meta = {**existing["metadata"], **{k: v for k, v in meta.items() if k != "finalizers"}}
    new = {**existing, "metadata": new_meta, "spec": obj["spec"]}
    if dry_run:
        return json_response(new)
    stored = await ctx.client.replace(new)
    await audit(request, stored, "ResourceUpdated", "updated ApplicationSet")
    return json_response(stored)


async def delete_appset(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    obj = await _read(request)
    require(request, "applicationsets", "delete", rbac_object(request, obj))
    meta = obj["metadata"]
    await ctx.client.delete(
        API_VERSION, APPLICATION_SET, meta["name"], meta["namespace"], "Background"
    )
    await audit(request, obj, "ResourceDeleted", "deleted ApplicationSet")
    return json_response({})


TAG = "ApplicationSetService"
ROUTES = [
    Route(
        "GET",
        "/api/v1/applicationsets",
        list_appsets,
        "List ApplicationSets the caller may get.",
        TAG,
        ("applicationsets", "get"),
        query=("projects", "selector", "appsetNamespace"),
        answer="ApplicationSetList",
    ),
    Route(
        "POST",
        "/api/v1/applicationsets",
        create_appset,
        "Create an ApplicationSet (upsert: replace a different spec; dryRun: store nothing).",
        TAG,
        ("applicationsets", "create"),
        flags=("upsert", "dryRun"),
        body="ApplicationSet",
        answer="ApplicationSet",
    ),
    Route(
        "GET",
        "/api/v1/applicationsets/{name}",
        get_appset,
        "Get an ApplicationSet.",
        TAG,
        ("applicationsets", "get"),
        query=("appsetNamespace",),
        answer="ApplicationSet",
    ),
    Route(
        "DELETE",
        "/api/v1/applicationsets/{name}",
        delete_appset,
        "Delete an ApplicationSet (its generated Applications follow, as their owner).",
        TAG,
        ("applicationsets", "delete"),
        query=("appsetNamespace",),
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
