"""``/api/v1/projects``: AppProjects, as Argo CD's ProjectService answers them.

Writes go through :mod:`gitward.appstate.project_writes`, so the API and ``gitward proj``
check a project the same way (every glob, cron and time zone, before anything is
written) and refuse the same things (deleting ``default``, or a project an
Application still uses). RBAC objects are the project's name (``projects, get,
team-a``); a list shows only the projects the caller may get.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from gitward.appstate import clusters, project_writes, repositories
from gitward.cluster import NotFound
from gitward.model.errors import GitwardError
from gitward.model.kinds import API_VERSION, APP_PROJECT
from gitward.model.project import parse_project
from gitward.projects.validate import validate_project
from gitward.projects.windows import window_states
from gitward.server.api.routing import (
    Route,
    audit,
    field,
    json_response,
    list_of,
    mount,
    object_name,
    read_body,
)
from gitward.server.auth import allowed, require
from gitward.server.context import CONTEXT
from gitward.server.errors import AlreadyExists, InvalidArgument, NotFoundError
from gitward.source.credentials import REPO_CREDS, REPOSITORY

Obj = dict[str, Any]


def _name(request: web.Request) -> str:
    return object_name(request.match_info["name"], "name")


async def _read(request: web.Request, name: str) -> Obj:
    ctx = request.app[CONTEXT]
    try:
        obj = await ctx.client.get(API_VERSION, APP_PROJECT, name, ctx.namespace)
    except NotFound:
        raise NotFoundError(f'appprojects.argoproj.io "{name}" not found') from None
    obj.setdefault("apiVersion", API_VERSION)
    obj.setdefault("kind", APP_PROJECT)
    return obj


def _from_body(body: Obj, namespace: str, name: str | None = None) -> Obj:
    """The AppProject a create or update request carries (``{"project": {...}}``)."""
    project = field(body, "project", "body")
    meta = field(project, "metadata", "project")
    given = meta.get("name")
    if name is not None and given not in (None, "", name):
        raise InvalidArgument(f"project.metadata.name: {given!r} differs from the URL's {name!r}")
    if not isinstance(given, str) and name is None:
        raise InvalidArgument("project.metadata.name: required")
    obj_name = object_name(name or str(given), "project.metadata.name")
    clean_meta: Obj = {"name": obj_name, "namespace": namespace}
    for key in ("labels", "annotations"):
        value = field(meta, key, "project.metadata")
        if value:
            clean_meta[key] = value
    if isinstance(meta.get("resourceVersion"), str) and meta["resourceVersion"]:
        clean_meta["resourceVersion"] = meta["resourceVersion"]
    return {
        "apiVersion": API_VERSION,
        "kind": APP_PROJECT,
        "metadata": clean_meta,
        "spec": field(project, "spec", "project"),
    }


async def list_projects(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    items = await ctx.client.list(API_VERSION, APP_PROJECT, ctx.namespace)
    wanted = request.query.get("name", "")
    shown = []
    for obj in sorted(items, key=lambda o: str(o["metadata"]["name"])):
        name = str(obj["metadata"]["name"])
        if (not wanted or name == wanted) and allowed(request, "projects", "get", name):
            shown.append(obj)
    return json_response(list_of(shown))


async def create_project(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await read_body(request)
    obj = _from_body(body, ctx.namespace)
    name = obj["metadata"]["name"]
    require(request, "projects", "create", name)
    upsert = body.get("upsert") is True
    if upsert:
        require(request, "projects", "update", name)
    obj["metadata"].pop("resourceVersion", None)
    try:
        action = await project_writes.create_project(ctx.client, obj, upsert=upsert)
    except GitwardError as exc:
        if "already exists" in str(exc):
            raise AlreadyExists(str(exc)) from None
        raise
    stored = await _read(request, name)
    if action != "unchanged":
        await audit(request, stored, "ResourceCreated", f"{action} project")
    return json_response(stored)


async def get_project(request: web.Request) -> web.Response:
    name = _name(request)
    require(request, "projects", "get", name)
    return json_response(await _read(request, name))


async def update_project(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    name = _name(request)
    require(request, "projects", "update", name)
    new = _from_body(await read_body(request), ctx.namespace, name)
    existing = await _read(request, name)
    meta = {**existing["metadata"], **new["metadata"]}
    if "resourceVersion" not in new["metadata"]:
        meta["resourceVersion"] = existing["metadata"].get("resourceVersion")
    obj = {**existing, "metadata": meta, "spec": new["spec"]}
    validate_project(obj)
    stored = await ctx.client.replace(obj)
    await audit(request, stored, "ResourceUpdated", "updated project")
    return json_response(stored)


async def delete_project(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    name = _name(request)
    require(request, "projects", "delete", name)
    existing = await _read(request, name)
    await project_writes.delete_project(ctx.client, name, ctx.namespace)
    await audit(request, existing, "ResourceDeleted", "deleted project")
    return json_response({})


async def project_detailed(request: web.Request) -> web.Response:
    """The project, and the repositories and clusters scoped to it (credentials as booleans)."""
    ctx = request.app[CONTEXT]
    name = _name(request)
    require(request, "projects", "get", name)
    obj = await _read(request, name)
    repos = await repositories.entries(ctx.client, ctx.namespace, REPOSITORY)
    creds = await repositories.entries(ctx.client, ctx.namespace, REPO_CREDS)
    store = repositories.store_of(repos + creds)
    scoped = [
        repositories.repo_view(e, repositories.UNTESTED, store) for e in repos if e.project == name
    ]
    untested = clusters.ConnectionState("Unknown", "not tested", "", "")
    found = await clusters.registered(ctx.client, ctx.namespace)
    views = [clusters.cluster_view(c, untested) for c in found if c.spec.project == name]
    return json_response(
        {"project": obj, "globalProjects": [], "repositories": scoped, "clusters": views}
    )


async def project_syncwindows(request: web.Request) -> web.Response:
    """The windows open now (Argo CD's ``SyncWindowsResponse``)."""
    name = _name(request)
    require(request, "projects", "get", name)
    obj = await _read(request, name)
    project = parse_project(obj)
    raw = (obj.get("spec") or {}).get("syncWindows") or []
    now = dt.datetime.now(dt.UTC)
    active = [raw[s.index] for s in window_states(project.sync_windows, now) if s.active]
    return json_response({"windows": active})


async def project_events(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    name = _name(request)
    require(request, "projects", "get", name)
    obj = await _read(request, name)
    selector = (
        f"involvedObject.name={name},involvedObject.kind={APP_PROJECT},"
        f"involvedObject.uid={obj['metadata'].get('uid', '')}"
    )
    events = await ctx.client.list("v1", "Event", ctx.namespace, field_selector=selector)
    return json_response(list_of(events))


async def global_projects(request: web.Request) -> web.Response:
    """Argo CD's global projects (argocd-cm ``globalProjects``) are not supported: none."""
    name = _name(request)
    require(request, "projects", "get", name)
    await _read(request, name)
    return json_response({"items": []})


TAG = "ProjectService"
ROUTES = [
    Route(
        "GET",
        "/api/v1/projects",
        list_projects,
        "List the projects the caller may get.",
        TAG,
        ("projects", "get"),
        query=("name",),
        answer="AppProjectList",
    ),
    Route(
        "POST",
        "/api/v1/projects",
        create_project,
        "Create a project (upsert: replace a different spec).",
        TAG,
        ("projects", "create"),
        body="ProjectCreateRequest",
        answer="AppProject",
    ),
    Route(
        "GET",
        "/api/v1/projects/{name}",
        get_project,
        "Get a project.",
        TAG,
        ("projects", "get"),
        answer="AppProject",
    ),
    Route(
        "PUT",
        "/api/v1/projects/{name}",
        update_project,
        "Replace a project's spec, labels and annotations.",
        TAG,
        ("projects", "update"),
        body="ProjectUpdateRequest",
        answer="AppProject",
    ),
    Route(
        "DELETE",
        "/api/v1/projects/{name}",
        delete_project,
        "Delete a project no Application uses (never 'default').",
        TAG,
        ("projects", "delete"),
    ),
    Route(
        "GET",
        "/api/v1/projects/{name}/detailed",
        project_detailed,
        "A project with its project-scoped repositories and clusters.",
        TAG,
        ("projects", "get"),
        answer="DetailedProjectsResponse",
    ),
    Route(
        "GET",
        "/api/v1/projects/{name}/syncwindows",
        project_syncwindows,
        "The project's sync windows open now.",
        TAG,
        ("projects", "get"),
        answer="SyncWindowsResponse",
    ),
    Route(
        "GET",
        "/api/v1/projects/{name}/events",
        project_events,
        "Kubernetes Events about the project (its audit trail).",
        TAG,
        ("projects", "get"),
        answer="EventList",
    ),
    Route(
        "GET",
        "/api/v1/projects/{name}/globalprojects",
        global_projects,
        "Global projects that apply to the project (none: not supported).",
        TAG,
        ("projects", "get"),
        answer="GlobalProjectsResponse",
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
