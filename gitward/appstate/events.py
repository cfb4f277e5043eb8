"""Kubernetes Events on the Application for the start and end of an operation.

(The same writer records Events on ApplicationSets: the object's own kind is used.)

``kubectl describe application NAME -n argocd`` then shows what happened and
when, as with Argo CD (reasons ``OperationStarted`` and ``OperationCompleted``).
An Event that cannot be written never fails the sync it reports on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from gitward._util.quiet import QuietGate
from gitward._util.redact import redact
from gitward.appstate.status import now
from gitward.cluster import ClusterError, KubeClient
from gitward.model.kinds import API_VERSION, APPLICATION

Obj = dict[str, Any]
log = logging.getLogger("gitward.events")


def event_body(app: Obj, reason: str, message: str, warning: bool = False) -> Obj:
    """The Event about ``app``, stamped now (a deferred write keeps the moment it happened)."""
    meta = app.get("metadata") or {}
    stamp = now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta.get('name')}.", "namespace": meta.get("namespace")},
        "involvedObject": {
            "apiVersion": app.get("apiVersion", API_VERSION),
            "kind": app.get("kind", APPLICATION),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": redact(message),
        "type": "Warning" if warning else "Normal",
        "source": {"component": "gitward"},
        "reportingComponent": "gitward",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def record(
    client: KubeClient, app: Obj, reason: str, message: str, warning: bool = False
) -> None:
    """Create one Event about ``app``; errors are swallowed (the sync matters, not its log)."""
    with contextlib.suppress(ClusterError):
        await client.create(event_body(app, reason, message, warning))


class EventWriter:
    """The controller's Events, written in the background behind the work they report on.

    :meth:`emit` returns at once; one task writes the Events in order, each when the
    ``gate`` finds the controller without urgent work (see :mod:`gitward._util.quiet`).
    At most ``limit`` wait: beyond that the oldest are dropped and counted, so a cluster
    that refuses Events never makes the controller hold memory without bound.
    """

    def __init__(self, client: KubeClient, gate: QuietGate | None = None, limit: int = 10_000):
        self.client = client
        self.gate = gate
        self.limit = limit
        #: Events dropped because ``limit`` were waiting.
        self.dropped = 0
        self._waiting: deque[Obj] = deque()
        self._writer: asyncio.Task[None] | None = None

    def emit(self, app: Obj, reason: str, message: str, warning: bool = False) -> None:
        if len(self._waiting) >= self.limit:
            self._waiting.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning("more than %d Events waiting to be written: dropping", self.limit)
        self._waiting.append(event_body(app, reason, message, warning))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())

    async def _write_all(self) -> None:
        while self._waiting:
            if self.gate is not None:
                await self.gate.wait()
            await self._write_one()

    async def _write_one(self) -> None:
        if self._waiting:
            with contextlib.suppress(ClusterError):
                await self.client.create(self._waiting.popleft())

    async def flush(self) -> None:
        """Write every waiting Event now, without waiting for the gate (at shutdown)."""
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        while self._waiting:
            await self._write_one()
