"""``sync``, ``rollback`` and ``DELETE operation``: asking the controller, never syncing here.

Like Argo CD's API server, this one only writes the Application's ``operation``
field (with ``initiatedBy.username``); ``gitward controller`` sees it through its
watch and runs it. The field is written with the resourceVersion it was checked
against, so two requests racing for one app give one operation and one 409.

The operation is read back with the controller's own parser
(:func:`gitward.sync.requested.request_from_operation`) before it is written:
what the controller would refuse is refused here, naming the field.

``DELETE operation`` ends an operation with nothing running at once; one whose
hooks run is marked ``Terminating`` and the controller deletes those hooks and
ends it at its next step, as Argo CD does (this server may delete nothing). Its
answer and audit Event say which of the two happened.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gitward.appstate import history
from gitward.appstate.lock import request_termination
from gitward.cluster import Conflict
from gitward.model.errors import GitwardError
from gitward.model.outcome import recorded_outcome
from gitward.model.phases import OperationPhase
from gitward.server.api.common import (
    REFRESHER,
    audit,
    find_app,
    json_response,
    read_json,
)
from gitward.server.context import CONTEXT
from gitward.server.errors import FailedPrecondition, InvalidArgument, NotFoundError
from gitward.sync.requested import request_from_operation

Obj = dict[str, Any]

MAX_INFOS = 32


def _body(raw: Any) -> Obj:
    if not isinstance(raw, dict):
        raise InvalidArgument("body: expected a JSON object")
    return raw


def _bool(body: Obj, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidArgument(f"{key}: expected true or false")
    return value


def _infos(body: Obj) -> list[Obj]:
    infos = body.get("infos") or []
    if not isinstance(infos, list) or len(infos) > MAX_INFOS:
        raise InvalidArgument(f"infos: expected a list of at most {MAX_INFOS} name/value pairs")
    kept = []
    for i, item in enumerate(infos):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("value", ""), str)
        ):
            raise InvalidArgument(f"infos[{i}]: expected {{name, value}} strings")
        if item["name"].startswith("gitward.io/"):
            raise InvalidArgument(f"infos[{i}].name: gitward.io/ names are reserved")
        kept.append({"name": item["name"], "value": item.get("value", "")})
    return kept


def sync_operation(body: Obj, username: str) -> Obj:
    """The ``operation`` a sync request body asks for (Argo CD's SyncRequest fields)."""
    sync: Obj = {}
    for key in ("revision",):
        if body.get(key) not in (None, ""):
            if not isinstance(body[key], str):
                raise InvalidArgument(f"{key}: expected a string")
            sync[key] = body[key]
    if body.get("revisions"):
        sync["revisions"] = body["revisions"]
    for key in ("prune", "dryRun"):
        if _bool(body, key):
            sync[key] = True
    if body.get("strategy") is not None:
        sync["syncStrategy"] = body["strategy"]
    if body.get("resources") is not None:
        sync["resources"] = body["resources"]
    options = body.get("syncOptions")
    if options is not None:
        if not isinstance(options, dict):
            raise InvalidArgument("syncOptions: expected {items: [...]}")
        sync["syncOptions"] = options.get("items") or []
    for refused in ("manifests", "sourcePositions"):
        if body.get(refused):
            raise InvalidArgument(f"{refused}: not supported by gitward")
    operation: Obj = {"sync": sync, "initiatedBy": {"username": username}}
    if body.get("retryStrategy") is not None:
        operation["retry"] = body["retryStrategy"]
    infos = _infos(body)
    if infos:
        operation["info"] = infos
    try:
        request_from_operation(operation, "")
    except GitwardError as exc:
        raise InvalidArgument(str(exc).removeprefix(": ")) from None
    return operation


async def _start(request: web.Request, obj: Obj, operation: Obj, what: str) -> Obj:
    """Write ``operation`` on ``obj`` as read; 409 when one runs or the app changed meanwhile."""
    name = obj["metadata"]["name"]
    if obj.get("operation"):
        raise FailedPrecondition("another operation is already in progress")
    if (obj["metadata"].get("deletionTimestamp")) is not None:
        raise FailedPrecondition(f"application {name!r} is being deleted")
    try:
        stored = await request.app[CONTEXT].client.replace({**obj, "operation": operation})
    except Conflict:
        raise FailedPrecondition(
            f"application {name!r} changed while the operation was being started; try again"
        ) from None
    await audit(request, stored, "OperationStarted", what)
    return stored


async def _window_allows(request: web.Request, obj: Obj) -> None:
    refresher = request.app[REFRESHER]
    try:
        fence = await refresher.fence(obj)
    except GitwardError as exc:
        raise FailedPrecondition(str(exc)) from None
    spec = obj.get("spec") or {}
    namespace = str((spec.get("destination") or {}).get("namespace") or "")
    verdict = fence.window_verdict(obj["metadata"]["name"], namespace, manual=True)
    if not verdict.allowed:
        raise FailedPrecondition(f"cannot sync: blocked by sync window ({verdict.reason})")


async def sync_app(request: web.Request) -> web.Response:
    """``POST /api/v1/applications/{name}/sync``."""
    body = _body(await read_json(request))
    obj, principal = find_app(request, "sync")
    operation = sync_operation(body, principal.subject)
    await _window_allows(request, obj)
    revision = operation["sync"].get("revision") or "the target revision"
    stored = await _start(request, obj, operation, f"initiated sync to {revision}")
    return json_response(stored)


async def rollback_app(request: web.Request) -> web.Response:
    """``POST /api/v1/applications/{name}/rollback``: body ``{id, prune, dryRun}``.

    Refused while automated sync is on, like Argo CD: the controller would sync the
    target revision again at once.
    """
    body = _body(await read_json(request))
    obj, principal = find_app(request, "sync")
    entry_id = body.get("id")
    if isinstance(entry_id, str) and entry_id.isascii() and entry_id.isdigit():
        entry_id = int(entry_id)
    if not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise InvalidArgument("id: expected the ID of a history entry")
    if ((obj.get("spec") or {}).get("syncPolicy") or {}).get("automated") is not None:
        raise FailedPrecondition("rollback cannot be initiated when auto-sync is enabled")
    entries = list((obj.get("status") or {}).get("history") or [])
    entry = history.find(entries, entry_id)
    if entry is None:
        raise NotFoundError(f"application {obj['metadata']['name']!r} has no history ID {entry_id}")
    sync: Obj = {}
    if entry.get("revisions"):
        sync["revisions"] = [str(r) for r in entry["revisions"]]
    else:
        sync["revision"] = str(entry.get("revision") or "")
    for key in ("prune", "dryRun"):
        if _bool(body, key):
            sync[key] = True
    operation = {"sync": sync, "initiatedBy": {"username": principal.subject}}
    stored = await _start(request, obj, operation, f"initiated rollback to {entry_id}")
    return json_response(stored)


#: What the answer and the audit Event say of an operation marked for the controller to end.
TERMINATING_MESSAGE = (
    "operation is terminating: the controller deletes its running hooks and ends it "
    "at its next step"
)


async def terminate_operation(request: web.Request) -> web.Response:
    """``DELETE /api/v1/applications/{name}/operation``: end the running operation.

    The answer says what happened, as the record does: ``phase`` ``Terminating``
    when the operation was only marked for the controller to end (Argo CD's CLI
    prints "operation terminating" then), else the phase and message it ended
    with. Argo CD answers ``{}``; these two fields are gitward's own.
    """
    obj, _ = find_app(request, "sync")
    if not obj.get("operation"):
        raise FailedPrecondition("Unable to terminate operation. No operation is in progress")
    stored = await request_termination(request.app[CONTEXT].client, obj)
    ended = recorded_outcome(stored)
    phase = str(ended.phase or "")
    if ended.phase is OperationPhase.TERMINATING:
        await audit(
            request,
            stored,
            "OperationTerminating",
            "asked the controller to terminate the running operation (its hooks are running)",
        )
        return json_response({"phase": phase, "message": TERMINATING_MESSAGE})
    await audit(request, stored, "OperationTerminated", "terminated running operation")
    return json_response({"phase": phase, "message": ended.message or "operation terminated"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/applications/{name}/sync", sync_app)
    app.router.add_post("/api/v1/applications/{name}/rollback", rollback_app)
    app.router.add_delete("/api/v1/applications/{name}/operation", terminate_operation)
