"""What every applications route shares: finding the app, checking RBAC, reading bodies.

An app is named by its path ``name`` and the ``appNamespace`` query (default: the
control namespace), as in Argo CD. Its RBAC object is ``PROJECT/NAME``, or
``PROJECT/NAMESPACE/NAME`` outside the control namespace.

A caller who may not ``get`` an app is told "permission denied" whether or not
it exists, so names cannot be probed; only a caller who could read it learns it
is missing.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gitward.appstate import Refresher
from gitward.model.kinds import API_VERSION
from gitward.server.api.bodies import check_name
from gitward.server.appstore import AppStore
from gitward.server.audit import audit as record_audit
from gitward.server.auth import Principal, allowed, principal_of, require
from gitward.server.context import CONTEXT
from gitward.server.errors import InvalidArgument, NotFoundError, PermissionDenied

Obj = dict[str, Any]

STORE: web.AppKey[AppStore] = web.AppKey("gitward.server.apps", AppStore)
REFRESHER: web.AppKey[Refresher] = web.AppKey("gitward.server.refresher", Refresher)
#: How long ``GET ?refresh=`` waits for the controller to process the refresh.
REFRESH_WAIT: web.AppKey[float] = web.AppKey("gitward.server.refresh_wait", float)


def project_of(obj: Obj) -> str:
    """The app's project (``default`` when unset); any value of a hostile body is a string."""
    spec = obj.get("spec")
    project = spec.get("project") if isinstance(spec, dict) else None
    return str(project or "default")


def rbac_object(control_namespace: str, project: str, namespace: str, name: str) -> str:
    if not namespace or namespace == control_namespace:
        return f"{project}/{name}"
    return f"{project}/{namespace}/{name}"


def app_object(request: web.Request, obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return rbac_object(
        request.app[CONTEXT].namespace,
        project_of(obj),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def app_namespace(request: web.Request, given: str | None = None) -> str:
    """The namespace the request's app lives in; 400 when the server does not serve it."""
    namespace = (given if given is not None else request.query.get("appNamespace", "")).strip()
    store = request.app[STORE]
    namespace = namespace or store.namespace
    if not store.serves(namespace):
        raise InvalidArgument(
            f"appNamespace: application namespace {namespace[:63]!r} is not permitted"
        )
    return namespace


def find_app(
    request: web.Request, action: str = "get", name: str | None = None
) -> tuple[Obj, Principal]:
    """The app the request names, if the caller may ``action`` it; else 403 (or 404)."""
    name = check_name(name if name is not None else request.match_info["name"])
    namespace = app_namespace(request)
    wanted_project = request.query.get("project", "").strip()
    obj = request.app[STORE].get(name, namespace)
    control = request.app[CONTEXT].namespace
    if obj is None or (wanted_project and project_of(obj) != wanted_project):
        probe = rbac_object(control, wanted_project or "*", namespace, name)
        if allowed(request, "applications", "get", probe):
            raise NotFoundError(f"applications.argoproj.io {name!r} not found")
        raise PermissionDenied(
            f"permission denied: applications, {action}, {probe}, sub: {request_subject(request)}"
        )
    principal = require(request, "applications", action, app_object(request, obj))
    return obj, principal


def request_subject(request: web.Request) -> str:
    return principal_of(request).subject


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; 400 naming the problem (413 comes from the size limit)."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"body: not valid JSON ({str(exc)[:80]})") from None


def raw_json_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json")


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json"
    )


async def audit(request: web.Request, obj: Obj, reason: str, message: str) -> None:
    """The audit record of a change: an Event on the Application naming who did what.

    Argo CD's reasons (``ResourceCreated``, ``ResourceUpdated``, ``ResourceDeleted``,
    ``OperationStarted``) and messages (``admin created application``).
    """
    target = {**obj, "apiVersion": obj.get("apiVersion") or API_VERSION, "kind": "Application"}
    await record_audit(request.app[CONTEXT].client, target, principal_of(request), reason, message)
