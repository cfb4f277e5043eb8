"""``/api/v1/clusters``: the clusters gitward deploys to, as Argo CD's ClusterService.

A cluster is named in the path by its server URL (percent-encoded) or, with
``id.type=name``, by its name. A body is checked by the same parser that reads
cluster Secrets (:func:`gitward.cluster.parse_cluster_secret`), so the API stores
nothing the controller would refuse to read. Answers never carry a credential:
``config`` shows ``hasBearerToken``/``hasKeyData``-style booleans. RBAC objects are
the server URL, or ``PROJECT/SERVER`` for a project-scoped cluster, as Argo CD's.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from gitward.appstate import clusters
from gitward.appstate.clusters import Registered
from gitward.cluster import IN_CLUSTER_SERVER, ClusterSpec, build_cluster_secret
from gitward.cluster.secrets import (
    CLUSTER_SECRET_TYPE,
    InvalidClusterSecret,
    argocd_secret,
    parse_cluster_secret,
)
from gitward.server.api.routing import (
    Route,
    audit,
    field,
    flag,
    json_response,
    list_of,
    missing,
    mount,
    read_body,
    text,
)
from gitward.server.auth import allowed, require
from gitward.server.context import CONTEXT
from gitward.server.errors import AlreadyExists, FailedPrecondition, InvalidArgument

Obj = dict[str, Any]

UNTESTED = clusters.ConnectionState("Unknown", "not tested", "", "")
#: The Cluster fields ``updatedFields`` may name.
UPDATABLE = ("name", "namespaces", "project", "config")


def rbac_object(spec: ClusterSpec) -> str:
    return f"{spec.project}/{spec.server}" if spec.project else spec.server


def spec_from_body(body: Obj, where: str = "cluster") -> ClusterSpec:
    """The cluster a request body describes, checked as a stored Secret would be."""
    server = text(body, "server", where).strip()
    try:
        parts = urlsplit(server)
        host = parts.hostname
    except ValueError:
        host = None
    if not host or parts.scheme not in ("https", "http"):
        raise InvalidArgument(f"{where}.server: expected an https:// URL")
    namespaces = body.get("namespaces") or []
    if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
        raise InvalidArgument(f"{where}.namespaces: expected a list of strings")
    fields = {
        "server": server,
        "name": text(body, "name", where),
        "config": json.dumps(field(body, "config", where)),
        "namespaces": ",".join(namespaces),
        "project": text(body, "project", where),
    }
    probe = argocd_secret("body", "", CLUSTER_SECRET_TYPE, fields)
    try:
        return dataclasses.replace(parse_cluster_secret(probe), secret_name="")
    except InvalidClusterSecret as exc:  # "Secret body: config.x: ..." names the body's field
        raise InvalidArgument(str(exc).replace("Secret body: ", f"{where}.", 1)) from None


async def _registered(request: web.Request) -> list[Registered]:
    ctx = request.app[CONTEXT]
    return await clusters.registered(ctx.client, ctx.namespace)


def _find(request: web.Request, found: list[Registered], action: str) -> Registered:
    ident = request.match_info["server"]
    by = request.query.get("id.type", "")
    if by in ("name", "name_escaped"):
        matches = [r for r in found if r.spec.display_name == ident]
    elif by in ("", "server"):
        matches = [r for r in found if r.spec.server == ident.rstrip("/")]
        if not matches and not by:
            matches = [r for r in found if r.spec.display_name == ident]
    else:
        raise InvalidArgument(f"id.type: expected server or name, got {by[:20]!r}")
    if not matches:
        message = f"cluster {ident[:200]!r} not found"
        raise missing(request, "clusters", action, ident, message)
    if len(matches) > 1:
        raise FailedPrecondition(f"cluster name {ident[:200]!r} is ambiguous: give the server URL")
    return matches[0]


def _secret(entry: Registered) -> Obj:
    if entry.secret is None:
        raise FailedPrecondition("in-cluster is implicit: it has no Secret to change")
    return {**entry.secret, "apiVersion": "v1", "kind": "Secret"}


async def list_clusters(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found = await _registered(request)
    server, name = request.query.get("server", ""), request.query.get("name", "")
    shown = [
        r
        for r in found
        if (not server or r.spec.server == server.rstrip("/"))
        and (not name or r.spec.display_name == name)
        and allowed(request, "clusters", "get", rbac_object(r.spec))
    ]
    states = await clusters.check_all(shown, ctx.client)
    views = [clusters.cluster_view(r, s) for r, s in zip(shown, states, strict=True)]
    return json_response(list_of(views))


async def get_cluster(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    entry = _find(request, await _registered(request), "get")
    require(request, "clusters", "get", rbac_object(entry.spec))
    state = await clusters.check_connection(entry, ctx.client)
    return json_response(clusters.cluster_view(entry, state))


async def create_cluster(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    spec = spec_from_body(await read_body(request))
    require(request, "clusters", "create", rbac_object(spec))
    found = await _registered(request)
    existing = next((r for r in found if r.spec.server == spec.server and r.secret), None)
    if existing is None:
        stored = await ctx.client.create(build_cluster_secret(spec, ctx.namespace))
        action = "added"
    elif clusters.same_secret_data(_secret(existing), spec, ctx.namespace):
        stored, action = _secret(existing), "unchanged"
    elif not flag(request, "upsert"):
        raise AlreadyExists(
            f"cluster {spec.server} already exists with different settings; use upsert"
        )
    else:
        require(request, "clusters", "update", rbac_object(existing.spec))
        stored = await _replace(request, existing, spec)
        action = "updated"
    if action != "unchanged":
        await audit(request, stored, "ResourceCreated", f"{action} cluster {spec.server}")
    return json_response(clusters.cluster_view(Registered(spec, stored), UNTESTED))


async def _replace(request: web.Request, existing: Registered, spec: ClusterSpec) -> Obj:
    ctx = request.app[CONTEXT]
    secret = _secret(existing)
    secret["data"] = build_cluster_secret(spec, ctx.namespace, existing.spec.secret_name)["data"]
    secret.pop("stringData", None)
    return await ctx.client.replace(secret)


async def update_cluster(request: web.Request) -> web.Response:
    entry = _find(request, await _registered(request), "update")
    require(request, "clusters", "update", rbac_object(entry.spec))
    body = await read_body(request)
    updated = request.query.getall("updatedFields", [])
    unknown = [f for f in updated if f not in UPDATABLE]
    if unknown:
        raise InvalidArgument(f"updatedFields: cannot update {unknown[0][:40]!r}")
    if updated:  # only the named fields change; the rest (and the credentials) stay
        current = {
            "server": entry.spec.server,
            "name": entry.spec.name,
            "namespaces": list(entry.spec.namespaces),
            "project": entry.spec.project,
            "config": entry.spec.config(),
        }
        body = {**current, **{f: body.get(f) for f in updated}}
    body.setdefault("server", entry.spec.server)
    spec = spec_from_body(body)
    if spec.server != entry.spec.server:
        raise InvalidArgument("cluster.server: differs from the cluster in the path")
    if spec.project != entry.spec.project:
        require(request, "clusters", "update", rbac_object(spec))
    stored = await _replace(request, entry, spec)
    await audit(request, stored, "ResourceUpdated", f"updated cluster {spec.server}")
    return json_response(clusters.cluster_view(Registered(spec, stored), UNTESTED))


async def delete_cluster(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    entry = _find(request, await _registered(request), "delete")
    require(request, "clusters", "delete", rbac_object(entry.spec))
    if entry.spec.server == IN_CLUSTER_SERVER and entry.secret is None:
        raise FailedPrecondition("in-cluster is implicit: it has no Secret to remove")
    secret = _secret(entry)
    await ctx.client.delete("v1", "Secret", entry.spec.secret_name, ctx.namespace, "Background")
    await audit(request, secret, "ResourceDeleted", f"deleted cluster {entry.spec.server}")
    return json_response({})


TAG = "ClusterService"
CLUSTER = "/api/v1/clusters/{server:.+}"
ROUTES = [
    Route(
        "GET",
        "/api/v1/clusters",
        list_clusters,
        "List clusters the caller may get, each tested now (GET /version).",
        TAG,
        ("clusters", "get"),
        query=("server", "name"),
        answer="ClusterList",
    ),
    Route(
        "POST",
        "/api/v1/clusters",
        create_cluster,
        "Register a cluster (upsert: replace different settings).",
        TAG,
        ("clusters", "create"),
        flags=("upsert",),
        body="Cluster",
        answer="Cluster",
    ),
    Route(
        "GET",
        CLUSTER,
        get_cluster,
        "Get a cluster by server URL (or name, id.type=name) and test it now.",
        TAG,
        ("clusters", "get"),
        query=("id.type",),
        answer="Cluster",
    ),
    Route(
        "PUT",
        CLUSTER,
        update_cluster,
        "Replace a cluster's settings, or only updatedFields.",
        TAG,
        ("clusters", "update"),
        query=("id.type", "updatedFields"),
        body="Cluster",
        answer="Cluster",
    ),
    Route(
        "DELETE",
        CLUSTER,
        delete_cluster,
        "Remove a cluster (deletes its Secret).",
        TAG,
        ("clusters", "delete"),
        query=("id.type",),
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
