"""One operation per Application at a time, with or without a controller.

The lock is Argo CD's own ``operation`` field on the Application: setting it
is an update guarded by resourceVersion, so of two writers racing, one gets a
409 Conflict and backs off. While an operation runs, ``status.operationState``
says Running and carries a heartbeat; a lock whose heartbeat is older than
:data:`STALE_AFTER` seconds belonged to a process that died and may be taken
over (its operation is then reported as interrupted).
"""

from __future__ import annotations

import datetime
from typing import Any

from gitward.cluster import Conflict, KubeClient
from gitward.model.errors import GitwardError
from gitward.sync.status import APPLICATION_API, now

Obj = dict[str, Any]

STALE_AFTER = 300.0
HEARTBEAT = "gitward.io/heartbeat"


class OperationInProgress(GitwardError):
    """Another sync (or rollback) of this Application is running."""


def _heartbeat(app: Obj) -> datetime.datetime | None:
    for item in (app.get("operation") or {}).get("info") or []:
        if item.get("name") == HEARTBEAT:
            try:
                return datetime.datetime.strptime(item["value"], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=datetime.UTC
                )
            except (KeyError, ValueError):
                return None
    return None


def held(app: Obj) -> bool:
    """True when a live (not stale) operation holds ``app``."""
    if not app.get("operation"):
        return False
    beat = _heartbeat(app)
    if beat is None:
        # Set by something else (Argo CD's CLI, a controller): honour it.
        return True
    age = (datetime.datetime.now(datetime.UTC) - beat).total_seconds()
    return age < STALE_AFTER


async def acquire(client: KubeClient, app: Obj, operation: Obj) -> Obj:
    """Set ``operation`` on ``app`` (as read); raise if another holds it or wins the race."""
    meta = app["metadata"]
    if held(app):
        phase = ((app.get("status") or {}).get("operationState") or {}).get("phase", "Running")
        raise OperationInProgress(
            f"another operation is in progress on application {meta['name']!r} ({phase}); "
            "wait for it, or end it with: gitward app terminate-op " + meta["name"]
        )
    info = [{"name": HEARTBEAT, "value": now()}]
    body = {**app, "operation": {**operation, "info": info}}
    try:
        return await client.replace(body)
    except Conflict:
        raise OperationInProgress(
            f"application {meta['name']!r} changed while starting the operation "
            "(another sync started at the same moment); try again"
        ) from None


async def heartbeat(client: KubeClient, app: Obj) -> None:
    meta = app["metadata"]
    await client.patch(
        APPLICATION_API,
        "Application",
        meta["name"],
        meta.get("namespace"),
        {"operation": {"info": [{"name": HEARTBEAT, "value": now()}]}},
    )


async def release(client: KubeClient, app: Obj) -> None:
    meta = app["metadata"]
    await client.patch(
        APPLICATION_API, "Application", meta["name"], meta.get("namespace"), {"operation": None}
    )
