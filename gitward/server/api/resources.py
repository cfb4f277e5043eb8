"""What an Application deployed: its resource tree, managed resources, manifests, events,
and one of its resources read, patched or deleted.

Every answer about a resource is limited to what the app manages (its
``status.resources``, plus the ReplicaSets and Pods those own in the tree), read
from the app's destination cluster. Secret values never leave: a Secret's
``data`` and ``stringData`` are masked (Argo CD's ``++++++++``), in manifests,
live and target states and diffs alike.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gitward import diff, health
from gitward.appstate.comparison import Comparison
from gitward.appstate.destinations import Target
from gitward.cluster import KubeClient, NotFound, UnknownKind
from gitward.model.errors import GitwardError
from gitward.server.api.common import (
    REFRESHER,
    app_object,
    audit,
    find_app,
    json_response,
    read_json,
)
from gitward.server.api.patching import apply as apply_patch
from gitward.server.auth import require
from gitward.server.context import CONTEXT
from gitward.server.errors import FailedPrecondition, InvalidArgument, NotFoundError

Obj = dict[str, Any]
MASK = "++++++++"
#: Children gitward adds to the tree under the kinds that own them.
CHILD_KINDS = (("apps/v1", "ReplicaSet"), ("v1", "Pod"))


def mask_secret(obj: Obj | None) -> Obj | None:
    """``obj`` with a Secret's values replaced by a mask (other kinds unchanged)."""
    if obj is None or obj.get("kind") != "Secret":
        return obj
    masked = dict(obj)
    for key in ("data", "stringData"):
        values = obj.get(key)
        if isinstance(values, dict):
            masked[key] = dict.fromkeys(values, MASK)
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if annotations:
        meta["annotations"] = annotations
    masked["metadata"] = meta
    return masked


def _text(obj: Obj | None) -> str:
    return json.dumps(mask_secret(obj), separators=(",", ":")) if obj is not None else ""


async def _compare(request: web.Request, obj: Obj, revision: str | None = None) -> Comparison:
    comparison = await request.app[REFRESHER].compare(obj, revision)
    if comparison.conditions and not comparison.resources and not comparison.spec_valid:
        raise FailedPrecondition("; ".join(str(c.get("message")) for c in comparison.conditions))
    return comparison


# -- tree -----------------------------------------------------------------------------------------


def _images(obj: Obj) -> list[str]:
    spec = obj.get("spec") or {}
    if obj.get("kind") != "Pod":
        spec = ((spec.get("template") or {}).get("spec")) or {}
    found = {
        str(c.get("image"))
        for key in ("containers", "initContainers")
        for c in spec.get(key) or []
        if isinstance(c, dict) and c.get("image")
    }
    return sorted(found)


def _node(obj: Obj, parents: list[Obj]) -> Obj:
    meta = obj.get("metadata") or {}
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    node: Obj = {
        "group": group,
        "version": version,
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace") or "",
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
        "createdAt": meta.get("creationTimestamp"),
    }
    if parents:
        node["parentRefs"] = parents
    verdict = health.assess(obj)
    if verdict is not None:
        node["health"] = verdict.as_dict()
    images = _images(obj)
    if images:
        node["images"] = images
    return node


async def tree(request: web.Request, obj: Obj) -> Obj:
    """Argo CD's ApplicationTree: managed resources and, under them, what they own."""
    refresher = request.app[REFRESHER]
    target = await refresher.target(obj)
    managed: list[Obj] = []
    for entry in (obj.get("status") or {}).get("resources") or []:
        api = "/".join(p for p in (entry.get("group"), entry.get("version")) if p)
        try:
            live = await target.live.get(
                api, str(entry.get("kind")), str(entry.get("name")), entry.get("namespace")
            )
        except (UnknownKind, NotFound):
            live = None
        if live is not None:
            managed.append(live)
    nodes = [_node(o, []) for o in managed]
    refs = {
        str(n["uid"]): {k: n[k] for k in ("group", "kind", "namespace", "name", "uid")}
        for n in nodes
    }
    namespaces = {str((o.get("metadata") or {}).get("namespace") or "") for o in managed}
    for api, kind in CHILD_KINDS:
        for namespace in sorted(n for n in namespaces if n):
            nodes.extend(await _children(target.client, api, kind, namespace, refs))
    return {"nodes": nodes, "orphanedNodes": await _orphans(request, obj, target), "hosts": []}


async def _children(
    client: KubeClient, api: str, kind: str, namespace: str, refs: dict[str, Obj]
) -> list[Obj]:
    try:
        items = await client.list(api, kind, namespace)
    except (UnknownKind, NotFound):
        return []
    found = []
    for item in items:
        item.setdefault("apiVersion", api)  # a list's items carry neither
        item.setdefault("kind", kind)
        owners = (item.get("metadata") or {}).get("ownerReferences") or []
        parents = [refs[str(o.get("uid"))] for o in owners if str(o.get("uid")) in refs]
        if parents:
            node = _node(item, parents)
            refs[str(node["uid"])] = {
                k: node[k] for k in ("group", "kind", "namespace", "name", "uid")
            }
            found.append(node)
    return found


async def _orphans(request: web.Request, obj: Obj, target: Target) -> list[Obj]:
    """Resources of the app's namespace nobody tracks, when its project monitors them."""
    refresher = request.app[REFRESHER]
    namespace = str(((obj.get("spec") or {}).get("destination") or {}).get("namespace") or "")
    try:
        fence = await refresher.fence(obj, target)
        if fence.project.orphaned_resources is None or not namespace:
            return []
        keys = await refresher.orphans.orphans(target.client, namespace, fence)
    except GitwardError:
        return []
    return [
        {"group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name} for k in keys
    ]


async def resource_tree(request: web.Request) -> web.Response:
    obj, _ = find_app(request, "get")
    return json_response(await tree(request, obj))


# -- managed resources, manifests ------------------------------------------------------------------


async def managed_resources(request: web.Request) -> web.Response:
    """Per resource: live, target, normalized live and predicted states, and the diff."""
    obj, _ = find_app(request, "get")
    comparison = await _compare(request, obj)
    items = []
    for state in comparison.resources:
        key = state.key
        normalized = diff.normalize_live(state.live) if state.live is not None else None
        text = ""
        if state.difference is not None and state.difference.modified:
            text = diff.unified(
                diff.ResourceDiff(
                    True,
                    live=mask_secret(state.difference.live),
                    target=mask_secret(state.difference.target),
                ),
                f"{key.group}/{key.kind} {key.namespace}/{key.name}",
            )
        items.append(
            {
                "group": key.group,
                "kind": key.kind,
                "namespace": key.namespace,
                "name": key.name,
                "liveState": _text(state.live),
                "targetState": _text(state.desired),
                "normalizedLiveState": _text(normalized),
                "predictedLiveState": _text(
                    state.difference.target if state.difference is not None else state.desired
                ),
                "diff": text,
                "hook": state.hook,
                "modified": bool(state.difference is not None and state.difference.modified),
            }
        )
    return json_response({"items": items})


async def manifests(request: web.Request) -> web.Response:
    """The rendered manifests (``revision``: of another revision than the target)."""
    obj, _ = find_app(request, "get")
    revision = request.query.get("revision", "").strip() or None
    if revision is not None and (len(revision) > 255 or revision.startswith("-")):
        raise InvalidArgument("revision: not a valid revision")
    comparison = await _compare(request, obj, revision)
    return json_response(
        {
            "manifests": [_text(r.desired) for r in comparison.resources if r.desired],
            "revision": comparison.revision,
            "sourceType": comparison.source_type,
            "namespace": comparison.app.destination.namespace,
            "server": comparison.fence.server if comparison.fence else "",
        }
    )


# -- one resource ---------------------------------------------------------------------------------


def _wanted(request: web.Request) -> tuple[str, str, str, str, str]:
    q = request.query
    name, kind = q.get("resourceName", ""), q.get("kind", "")
    if not name or not kind:
        raise InvalidArgument("resourceName and kind: required")
    return q.get("group", ""), q.get("version", ""), kind, q.get("namespace", ""), name


def _managed_entry(obj: Obj, group: str, kind: str, namespace: str, name: str) -> Obj:
    for entry in (obj.get("status") or {}).get("resources") or []:
        if (
            str(entry.get("group") or "") == group
            and entry.get("kind") == kind
            and entry.get("name") == name
            and str(entry.get("namespace") or "") == namespace
        ):
            return dict(entry)
    raise NotFoundError(f"{kind} {namespace}/{name} is not managed by this application")


async def _live_resource(request: web.Request, obj: Obj) -> tuple[Obj, KubeClient, Obj]:
    group, version, kind, namespace, name = _wanted(request)
    entry = _managed_entry(obj, group, kind, namespace, name)
    version = version or str(entry.get("version") or "")
    api = f"{group}/{version}" if group else version
    target = await request.app[REFRESHER].target(obj)
    try:
        live = await target.client.get(api, kind, name, namespace or None)
    except (NotFound, UnknownKind):
        raise NotFoundError(f"{kind} {namespace}/{name} not found") from None
    return live, target.client, entry


async def get_resource(request: web.Request) -> web.Response:
    obj, _ = find_app(request, "get")
    live, _, _ = await _live_resource(request, obj)
    return json_response({"manifest": _text(live)})


async def patch_resource(request: web.Request) -> web.Response:
    """``POST .../resource?patchType=``: body is the patch text; needs ``update``."""
    obj, _ = find_app(request, "get")
    require(request, "applications", "update", app_object(request, obj))
    raw = await read_json(request)
    patch = raw if isinstance(raw, str) else json.dumps(raw)
    live, client, _ = await _live_resource(request, obj)
    patch_type = request.query.get("patchType", "merge").rpartition("/")[2]
    patch_type = {"merge-patch+json": "merge", "json-patch+json": "json"}.get(
        patch_type, patch_type
    )
    patched = apply_patch(live, patch, patch_type)
    if not isinstance(patched, dict) or _identity(patched) != _identity(live):
        raise InvalidArgument(
            "patch: a resource's apiVersion, kind, name and namespace cannot change"
        )
    try:
        stored = await client.replace(patched)
    except GitwardError as exc:
        raise InvalidArgument(f"patch: {exc}") from None
    await audit(request, obj, "ResourceUpdated", f"patched resource {live.get('kind')}")
    return json_response({"manifest": _text(stored)})


def _identity(obj: Obj) -> tuple[Any, ...]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return obj.get("apiVersion"), obj.get("kind"), meta.get("name"), meta.get("namespace")


async def delete_resource(request: web.Request) -> web.Response:
    """``DELETE .../resource``: needs ``delete``; ``orphan=true`` leaves dependents."""
    obj, _ = find_app(request, "get")
    require(request, "applications", "delete", app_object(request, obj))
    live, client, _ = await _live_resource(request, obj)
    meta = live.get("metadata") or {}
    orphan = request.query.get("orphan", "") == "true"
    await client.delete(
        str(live.get("apiVersion")),
        str(live.get("kind")),
        str(meta.get("name")),
        meta.get("namespace"),
        propagation="Orphan" if orphan else "Foreground",
    )
    await audit(request, obj, "ResourceDeleted", f"deleted resource {live.get('kind')}")
    return json_response({})


# -- events ---------------------------------------------------------------------------------------


async def events(request: web.Request) -> web.Response:
    """Events of the app, or (``resourceName``, ``resourceNamespace``) of one of its resources."""
    obj, _ = find_app(request, "get")
    q = request.query
    name, namespace = q.get("resourceName", ""), q.get("resourceNamespace", "")
    meta = obj["metadata"]
    if name:
        managed = {
            (str(e.get("namespace") or ""), str(e.get("name")))
            for e in (obj.get("status") or {}).get("resources") or []
        }
        if (namespace, name) not in managed:
            raise NotFoundError(f"{namespace}/{name} is not managed by this application")
        client = (await request.app[REFRESHER].target(obj)).client
        selector = f"involvedObject.name={name}"
        where = namespace or None
    else:
        client = request.app[CONTEXT].client
        selector = f"involvedObject.name={meta['name']},involvedObject.uid={meta.get('uid')}"
        where = meta["namespace"]
    items = await client.list("v1", "Event", where, field_selector=selector)
    return json_response({"metadata": {}, "items": items})


def add_routes(app: web.Application) -> None:
    base = "/api/v1/applications/{name}"
    app.router.add_get(f"{base}/resource-tree", resource_tree)
    app.router.add_get(f"{base}/managed-resources", managed_resources)
    app.router.add_get(f"{base}/manifests", manifests)
    app.router.add_get(f"{base}/events", events)
    app.router.add_get(f"{base}/resource", get_resource)
    app.router.add_post(f"{base}/resource", patch_resource)
    app.router.add_delete(f"{base}/resource", delete_resource)
