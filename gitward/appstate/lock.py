"""One operation per Application at a time, with or without a controller.

The lock is Argo CD's own ``operation`` field on the Application: setting it
is an update guarded by resourceVersion, so of two writers racing, one gets a
409 Conflict and backs off. While an operation runs, ``status.operationState``
says Running and carries a heartbeat; a lock whose heartbeat is older than
:data:`STALE_AFTER` seconds belonged to a process that died and may be taken
over (its operation is then reported as interrupted).

Each lock also names its holder, ``<role>@<replica>/<process nonce>``. A
controller that restarts keeps its replica name (a Pod's name survives a
container restart) but not its nonce, so an operation its predecessor held is
known to be interrupted at once rather than after :data:`STALE_AFTER`.
"""

from __future__ import annotations

import math
import socket
import uuid
from typing import Any

from gitward.appstate.status import age_seconds, now, patch_status
from gitward.cluster import ClusterError, Conflict, KubeClient
from gitward.model.errors import GitwardError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.model.outcome import recorded_outcome
from gitward.model.phases import OperationPhase

Obj = dict[str, Any]

STALE_AFTER = 300.0
HEARTBEAT = "gitward.io/heartbeat"
HOLDER = "gitward.io/holder"
#: Names one operation from its lock to its end; the record carries it too, so a step
#: knows the record it reads is this operation's (and not an earlier one's).
OPERATION_ID = "gitward.io/operation-id"
#: Differs in every process: tells a restarted controller from the one before it.
PROCESS_NONCE = uuid.uuid4().hex[:8]


def holder_id(role: str, replica: str = "") -> str:
    """This process's holder name, e.g. ``controller@gitward-0/1a2b3c4d``."""
    return f"{role}@{replica or socket.gethostname()}/{PROCESS_NONCE}"


def info_entry(operation: object, name: str) -> Obj | None:
    """The entry ``name`` of an operation's ``info`` list (the lock's, or a record's copy).

    Anyone who may write the Application wrote it: an ``operation`` or an ``info``
    item that is not an object names nothing, rather than stopping the reconcile of
    that app with a TypeError.
    """
    info = operation.get("info") if isinstance(operation, dict) else None
    for item in info if isinstance(info, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def _info(app: Obj, name: str) -> str:
    """The lock's ``info`` entry ``name``; "" when absent."""
    entry = info_entry(app.get("operation"), name)
    return str(entry.get("value", "")) if entry is not None else ""


def holder_of(app: Obj) -> str:
    """Who holds ``app``'s operation ("" when unknown: set by another tool)."""
    return _info(app, HOLDER)


def requested(app: Obj) -> bool:
    """An operation someone asked for (Argo CD's CLI or UI, kubectl) that nobody runs yet."""
    return bool(app.get("operation")) and _beat_age(app) is None


def interrupted(app: Obj, holder: str) -> str:
    """Why ``app``'s operation is known to be abandoned ("" if it is not).

    Either its holder is an earlier process of the same replica as ``holder``,
    or its heartbeat stopped more than :data:`STALE_AFTER` seconds ago.
    """
    if not app.get("operation") or requested(app):
        return ""
    theirs = holder_of(app)
    if theirs and theirs != holder and theirs.rpartition("/")[0] == holder.rpartition("/")[0]:
        return f"{theirs} was restarted while running it"
    if not held(app):
        return f"{theirs or 'its holder'} stopped sending heartbeats"
    return ""


def _role(holder: str) -> str:
    return holder.partition("@")[0]


def resumable(app: Obj, holder: str) -> bool:
    """Whether ``holder`` may take the next step of ``app``'s operation.

    Its own operation, an abandoned one (:func:`interrupted`), and any
    controller's operation when ``holder`` is a controller too: the record is
    the operation's whole state, and the replica that owns the app's shard is
    the only one reconciling it, so it picks up what another replica (or its
    own predecessor) started. A CLI's live operation is the CLI's.
    """
    if not app.get("operation") or requested(app):
        return False
    theirs = holder_of(app)
    if theirs == holder or interrupted(app, holder):
        return True
    return _role(theirs) == "controller" and _role(holder) == "controller"


class OperationInProgress(GitwardError):
    """Another sync (or rollback) of this Application is running."""


class LockLost(GitwardError):
    """The lock of the operation this process runs was removed or taken by another."""


def still_held(app: Obj, holder: str, operation: str) -> None:
    """Raise :class:`LockLost` unless ``holder`` still holds ``app``'s operation ``operation``.

    Another tool may clear ``operation`` (``kubectl patch``) or a controller may take
    over a lock it found stale; the process that ran the operation then stops
    rather than applying beside the new owner.
    """
    name = (app.get("metadata") or {}).get("name", "?")
    if not app.get("operation"):
        raise LockLost(f"application {name}: its operation's lock was removed meanwhile")
    theirs = holder_of(app)
    if theirs != holder or operation_id(app) != operation:
        raise LockLost(
            f"application {name}: its operation's lock is now held by {theirs or 'someone else'}"
        )


def _beat_age(app: Obj) -> float | None:
    """Seconds since the operation's last heartbeat; None without a readable one."""
    stamp = _info(app, HEARTBEAT)
    age = age_seconds(stamp) if stamp else math.inf
    return None if math.isinf(age) else age


def held(app: Obj) -> bool:
    """True when a live (not stale) operation holds ``app``."""
    if not app.get("operation"):
        return False
    age = _beat_age(app)
    if age is None:
        # Set by something else (Argo CD's CLI, a controller): honour it.
        return True
    return age < STALE_AFTER


async def acquire(
    client: KubeClient, app: Obj, operation: Obj, holder: str, takeover: bool = False
) -> Obj:
    """Set ``operation`` on ``app`` (as read); raise if another holds it or wins the race.

    ``takeover`` runs an operation that is set but abandoned or only requested
    (see :func:`interrupted`, :func:`requested`); the resourceVersion guard
    still lets only one process win.
    """
    meta = app["metadata"]
    if held(app) and not (takeover and (requested(app) or interrupted(app, holder))):
        phase = ((app.get("status") or {}).get("operationState") or {}).get("phase", "Running")
        raise OperationInProgress(
            f"another operation is in progress on application {meta['name']!r} ({phase}); "
            "wait for it, or end it with: gitward app terminate-op " + meta["name"]
        )
    info = _lock_info(holder, uuid.uuid4().hex[:16])
    body = {**app, "operation": {**operation, "info": info}}
    try:
        return await client.replace(body)
    except Conflict:
        raise OperationInProgress(
            f"application {meta['name']!r} changed while starting the operation "
            "(another sync started at the same moment); try again"
        ) from None


def _lock_info(holder: str, operation_id: str = "") -> list[Obj]:
    info = [{"name": HEARTBEAT, "value": now()}, {"name": HOLDER, "value": holder}]
    if operation_id:
        info.append({"name": OPERATION_ID, "value": operation_id})
    return info


def operation_id(app: Obj) -> str:
    """The id the lock gave ``app``'s operation ("" for one gitward did not lock)."""
    return _info(app, OPERATION_ID)


def heartbeat_age(app: Obj) -> float | None:
    """Seconds since the lock's last heartbeat; None when the app has none."""
    return _beat_age(app)


async def heartbeat(client: KubeClient, app: Obj, holder: str) -> Obj:
    """Say the holder is alive; the stored Application."""
    meta = app["metadata"]
    return await client.patch(
        API_VERSION,
        APPLICATION,
        meta["name"],
        meta.get("namespace"),
        {"operation": {"info": _lock_info(holder, operation_id(app))}},
    )


async def release(client: KubeClient, app: Obj) -> Obj:
    """Clear the operation; the stored Application (a later pass must not see the lock)."""
    meta = app["metadata"]
    return await client.patch(
        API_VERSION, APPLICATION, meta["name"], meta.get("namespace"), {"operation": None}
    )


#: The message of an operation someone ended (Argo CD's words).
TERMINATED = "Operation terminated"


async def terminate(client: KubeClient, app: Obj) -> Obj:
    """End the app's operation: its record says Failed, "Operation terminated", and the
    lock goes; the stored Application.

    The record is written before the lock is cleared, so a controller resuming the
    operation in between finds it finished rather than running without a lock. A
    record that already ended is left as it is.
    """
    if recorded_outcome(app).in_progress:
        state = app["status"]["operationState"]
        ended = {**state, "phase": "Failed", "message": TERMINATED, "finishedAt": now()}
        app = await patch_status(client, app, {"operationState": ended})
    if app.get("operation"):
        app = await release(client, app)
    return app


def _running_hooks(state: object) -> bool:
    result = state.get("syncResult") if isinstance(state, dict) else None
    items = result.get("resources") if isinstance(result, dict) else None
    if not isinstance(items, list):
        return False
    return any(isinstance(r, dict) and r.get("hookPhase") == "Running" for r in items)


#: The message of an operation asked to end while its hooks run (Argo CD's words).
TERMINATING = "operation is terminating"


async def request_termination(client: KubeClient, app: Obj) -> Obj:
    """End the app's operation from a process that runs no sync (the API server).

    An operation with hooks running is marked ``Terminating``, as Argo CD's API
    server does: the process that runs it (a controller) deletes those hooks
    at its next step and ends it. One with nothing to stop ends here
    (:func:`terminate`). The mark is written guarded by the resourceVersion
    read, so an operation that ended meanwhile keeps its own record (the app
    is read again and judged again). One already marked is left as it is: ending
    it here would drop the lock and leave its hooks running with nobody to
    delete them. The stored Application; its record says which of these happened.
    """
    for _ in range(3):
        phase = recorded_outcome(app).phase
        if phase is OperationPhase.TERMINATING:
            return app
        if phase is not OperationPhase.RUNNING:
            return await terminate(client, app)
        state = app["status"]["operationState"]
        if not _running_hooks(state):
            return await terminate(client, app)
        asked = {**state, "phase": "Terminating", "message": TERMINATING}
        try:
            return await patch_status(client, app, {"operationState": asked}, guard=True)
        except ClusterError:
            meta = app["metadata"]
            app = await client.get(API_VERSION, APPLICATION, meta["name"], meta.get("namespace"))
    raise OperationInProgress(
        f"application {app['metadata']['name']!r} kept changing while its operation was being "
        "terminated; try again"
    )
