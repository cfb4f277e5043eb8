"""``/api/v1/applications``: list, get, create, update, patch and delete, as Argo CD serves them.

Reads come from the server's in-memory :class:`~gitward.server.appstore.AppStore`;
writes go to the API server with the resourceVersion they were computed from,
and the store learns the result from its watch.

What a caller writes is taken field by field: ``metadata.name``, ``namespace``,
``labels``, ``annotations``, ``finalizers`` and ``spec``. ``status`` and
``operation`` never come from a create or update body: an operation is asked
for through ``sync`` and ``rollback``, which check the ``sync`` permission.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aiohttp import web

from gitward.cluster import Conflict, NotFound
from gitward.model.errors import GitwardError
from gitward.model.kinds import API_VERSION
from gitward.server.api import patching
from gitward.server.api.bodies import application_from, check_application
from gitward.server.api.common import (
    REFRESH_WAIT,
    REFRESHER,
    STORE,
    app_namespace,
    app_object,
    audit,
    find_app,
    json_response,
    project_of,
    raw_json_response,
    read_json,
)
from gitward.server.api.query import AppFilter, decode_continue, encode_continue, flag, limit
from gitward.server.auth import allowed, principal_of, require
from gitward.server.context import CONTEXT
from gitward.server.errors import FailedPrecondition, InvalidArgument
from gitward.sync.cascade import BACKGROUND_FINALIZER, RESOURCES_FINALIZER, RESOURCES_FINALIZERS

Obj = dict[str, Any]

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
WRITE_ATTEMPTS = 3


async def list_apps(request: web.Request) -> web.Response:
    """``GET /api/v1/applications``: the apps the caller may get, by name, optionally paged."""
    principal_of(request)  # 401 even when no app would be listed
    query = request.query
    wanted = AppFilter.from_query(query)
    if wanted.namespace:
        app_namespace(request, wanted.namespace)
    page = limit(query)
    start = decode_continue(query.get("continue", ""))
    store = request.app[STORE]
    items: list[Obj] = []
    token = ""
    for obj in store.after(start):
        if not wanted.matches(obj):
            continue
        if not allowed(request, "applications", "get", app_object(request, obj)):
            continue
        if page is not None and len(items) == page:
            token = encode_continue(common_key(items[-1]))
            break
        items.append(obj)
    metadata: Obj = {"resourceVersion": str(store.resource_version)}
    if token:
        metadata["continue"] = token
    # Each app's JSON is the store's, encoded once per version: a page is a join.
    body = b"".join(
        (
            b'{"metadata":',
            json.dumps(metadata, separators=(",", ":")).encode(),
            b',"items":[',
            b",".join(store.encoded(obj) for obj in items),
            b"]}",
        )
    )
    refresh = query.get("refresh", "")
    if refresh not in ("", "false", "normal", "hard", "true"):
        raise InvalidArgument("refresh: expected normal or hard")
    if refresh in ("normal", "hard", "true"):
        for obj in items:
            await _ask_refresh(request, obj, "hard" if refresh == "hard" else "normal")
    return raw_json_response(body)


def common_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("name", "")), str(meta.get("namespace") or "")


async def _ask_refresh(request: web.Request, obj: Obj, kind: str) -> Obj:
    meta = obj["metadata"]
    return await request.app[CONTEXT].client.patch(
        API_VERSION,
        "Application",
        meta["name"],
        meta["namespace"],
        {"metadata": {"annotations": {REFRESH_ANNOTATION: kind}}},
    )


async def get_app(request: web.Request) -> web.Response:
    """``GET /api/v1/applications/{name}``; ``refresh=normal|hard`` waits for the controller."""
    obj, _ = find_app(request, "get")
    refresh = request.query.get("refresh", "")
    if refresh:
        if refresh not in ("normal", "hard", "true"):
            raise InvalidArgument("refresh: expected normal or hard")
        asked = await _ask_refresh(request, obj, "hard" if refresh == "hard" else "normal")
        asked_version = int(asked["metadata"].get("resourceVersion") or 0)

        def processed(current: Obj | None) -> bool:
            if current is None:
                return True
            meta = current.get("metadata") or {}
            return int(meta.get("resourceVersion") or 0) > asked_version and (
                REFRESH_ANNOTATION not in (meta.get("annotations") or {})
            )

        key = common_key(obj)
        await request.app[STORE].wait_for(key, processed, request.app[REFRESH_WAIT])
        obj = request.app[STORE].get(*key) or obj
    return raw_json_response(request.app[STORE].encoded(obj))


# -- writes -------------------------------------------------------------------------------------


def _object_from(
    body: Any, request: web.Request, field: str = "body", *, parse: bool = True
) -> Obj:
    return application_from(body, lambda ns: app_namespace(request, ns), field, parse=parse)


async def _validate(request: web.Request, obj: Obj, validate: bool) -> None:
    """The app's project exists and (with ``validate``) permits its sources and destination."""
    refresher = request.app[REFRESHER]
    try:
        if validate:
            await refresher.fence(obj)
        else:
            await refresher.projects.get(project_of(obj), request.app[CONTEXT].namespace)
    except GitwardError as exc:
        name = obj["metadata"]["name"]
        raise InvalidArgument(f"application spec for {name} is invalid: {exc}") from None


async def create_app(request: web.Request) -> web.Response:
    """``POST /api/v1/applications?upsert=&validate=``."""
    obj = _object_from(await read_json(request), request, parse=False)
    upsert = flag(request.query, "upsert")
    validate = flag(request.query, "validate", True)
    require(request, "applications", "create", app_object(request, obj))
    check_application(obj)
    await _validate(request, obj, validate)
    client = request.app[CONTEXT].client
    meta = obj["metadata"]
    try:
        existing: Obj | None = await client.get(
            API_VERSION, "Application", meta["name"], meta["namespace"]
        )
    except NotFound:
        existing = None
    if existing is None:
        created = await client.create(obj)
        await audit(request, created, "ResourceCreated", "created application")
        return json_response(created)
    if existing.get("spec") == obj["spec"] and not upsert:
        return json_response(existing)
    if not upsert:
        raise FailedPrecondition(
            "existing application spec is different, use upsert flag to force update"
        )
    require(request, "applications", "update", app_object(request, existing))
    updated = await _replace(request, existing, obj)
    return json_response(updated)


async def _replace(request: web.Request, current: Obj, wanted: Obj) -> Obj:
    """Store ``wanted``'s spec and metadata on the app, retrying on a concurrent change."""
    client = request.app[CONTEXT].client
    meta = current["metadata"]
    for attempt in range(WRITE_ATTEMPTS):
        body = {**current, "spec": wanted["spec"]}
        body["metadata"] = {**current["metadata"]}
        for key in ("labels", "annotations", "finalizers"):
            if key in wanted["metadata"]:
                body["metadata"][key] = wanted["metadata"][key]
        try:
            stored = await client.replace(body)
        except Conflict:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            current = await client.get(API_VERSION, "Application", meta["name"], meta["namespace"])
            continue
        await audit(request, stored, "ResourceUpdated", "updated application")
        return stored
    raise AssertionError("unreachable")


def _spec_update_checks(request: web.Request, current: Obj, wanted: Obj) -> None:
    """Update needs ``update`` on the app as it is, and as it will be (a project move)."""
    require(request, "applications", "update", app_object(request, current))
    if project_of(wanted) != project_of(current):
        require(request, "applications", "update", app_object(request, wanted))


async def update_app(request: web.Request) -> web.Response:
    """``PUT /api/v1/applications/{name}?validate=``: replace spec, labels, annotations."""
    body = await read_json(request)
    current, _ = find_app(request, "update")
    wanted = _object_from(body, request)
    if wanted["metadata"]["name"] != request.match_info["name"]:
        raise InvalidArgument("metadata.name: does not match the name in the path")
    _spec_update_checks(request, current, wanted)
    await _validate(request, wanted, flag(request.query, "validate", True))
    return json_response(await _replace(request, current, wanted))


async def update_spec(request: web.Request) -> web.Response:
    """``PUT /api/v1/applications/{name}/spec``: the body is the new spec."""
    spec = await read_json(request)
    current, _ = find_app(request, "update")
    wanted = {**current, "metadata": dict(current["metadata"]), "spec": spec}
    check_application(wanted)
    _spec_update_checks(request, current, wanted)
    await _validate(request, wanted, flag(request.query, "validate", True))
    stored = await _replace(request, current, wanted)
    return json_response(stored.get("spec") or {})


async def patch_app(request: web.Request) -> web.Response:
    """``PATCH /api/v1/applications/{name}``: body ``{"patch": TEXT, "patchType": "merge"}``."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidArgument("body: expected an object with patch and patchType")
    current, _ = find_app(request, "update")
    patched = patching.apply(current, body.get("patch"), body.get("patchType"))
    wanted = _object_from(patched, request, "patch")
    if common_key(wanted) != common_key(current):
        raise InvalidArgument("patch: an application's name and namespace cannot change")
    _spec_update_checks(request, current, wanted)
    await _validate(request, wanted, flag(request.query, "validate", True))
    return json_response(await _replace(request, current, wanted))


async def delete_app(request: web.Request) -> web.Response:
    """``DELETE /api/v1/applications/{name}?cascade=&propagationPolicy=``.

    The controller deletes the resources: a cascading delete puts Argo CD's
    resources finalizer (foreground, or ``/background``) on the app before deleting
    it; a non-cascading one takes those finalizers off. Other finalizers stay.
    """
    current, _ = find_app(request, "delete")
    cascade = flag(request.query, "cascade", True)
    policy = (request.query.get("propagationPolicy") or "foreground").lower()
    if policy not in ("foreground", "background"):
        raise InvalidArgument("propagationPolicy: expected foreground or background")
    client = request.app[CONTEXT].client
    meta = current["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    wanted_finalizer = BACKGROUND_FINALIZER if policy == "background" else RESOURCES_FINALIZER
    for attempt in range(WRITE_ATTEMPTS):
        finalizers = [str(f) for f in current["metadata"].get("finalizers") or []]
        keep = [f for f in finalizers if f not in RESOURCES_FINALIZERS]
        if cascade:
            keep.append(wanted_finalizer)
        if keep != finalizers:
            patch = {
                "metadata": {
                    "finalizers": keep,
                    "resourceVersion": current["metadata"].get("resourceVersion"),
                }
            }
            try:
                current = await client.patch(API_VERSION, "Application", name, namespace, patch)
            except Conflict:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                current = await client.get(API_VERSION, "Application", name, namespace)
                continue
        break
    with contextlib.suppress(NotFound):
        await client.delete(API_VERSION, "Application", name, namespace, propagation="Background")
    await audit(request, current, "ResourceDeleted", "deleted application")
    return json_response({})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/applications", list_apps)
    app.router.add_post("/api/v1/applications", create_app)
    app.router.add_get("/api/v1/applications/{name}", get_app)
    app.router.add_put("/api/v1/applications/{name}", update_app)
    app.router.add_patch("/api/v1/applications/{name}", patch_app)
    app.router.add_delete("/api/v1/applications/{name}", delete_app)
    app.router.add_put("/api/v1/applications/{name}/spec", update_spec)
