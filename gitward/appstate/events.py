"""Kubernetes Events on the Application for the start and end of an operation.

(The same writer records Events on ApplicationSets: the object's own kind is used.)

``kubectl describe application NAME -n argocd`` then shows what happened and
when, as with Argo CD (reasons ``OperationStarted`` and ``OperationCompleted``).
An Event that cannot be written never fails the sync it reports on.
"""

from __future__ import annotations

import contextlib
from typing import Any

from gitward._util.redact import redact
from gitward.appstate.status import now
from gitward.cluster import ClusterError, KubeClient
from gitward.model.kinds import API_VERSION, APPLICATION

Obj = dict[str, Any]


async def record(
    client: KubeClient, app: Obj, reason: str, message: str, warning: bool = False
) -> None:
    """Create one Event about ``app``; errors are swallowed (the sync matters, not its log)."""
    meta = app.get("metadata") or {}
    stamp = now()
    event = {
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
    with contextlib.suppress(ClusterError):
        await client.create(event)
