"""Audit records: a Kubernetes Event on the object a mutating API call changed.

Argo CD records who did what as Events on the object (``kubectl describe`` shows
them): reason ``OperationStarted`` with "admin initiated sync to HEAD (abc1234)",
``ResourceUpdated`` with "admin updated application spec", and so on. Every mutating
route calls :func:`audit` after its change succeeded; the message says *what*, and the
principal's subject is put in front of it, so a route cannot forget who.

The message passes through :func:`~gitward._util.redact.redact` and must never carry
a token, password or other secret value; an Event that cannot be written never fails
the call it reports on (the change has happened).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from typing import Any

from gitward._util.redact import redact
from gitward.cluster import ClusterError, KubeClient
from gitward.server.auth import Principal

log = logging.getLogger(__name__)
COMPONENT = "gitward-server"
#: Events keep their message short (the API server caps it at 1 KiB).
MAX_MESSAGE = 1024


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_for(
    involved: dict[str, Any], principal: Principal, reason: str, message: str, namespace: str = ""
) -> dict[str, Any]:
    """The Event object :func:`audit` creates (pure, for tests and callers that batch)."""
    meta = involved.get("metadata") or {}
    name = str(meta.get("name") or "unknown")
    stamp = _now()
    text = redact(f"{principal.subject} {message}")[:MAX_MESSAGE]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{name[:200]}.",
            "namespace": meta.get("namespace") or namespace or "default",
            "labels": {"gitward.io/audit": "true"},
        },
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved.get("kind", ""),
            "name": name,
            "namespace": meta.get("namespace") or namespace or None,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": text,
        "type": "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def audit(
    client: KubeClient,
    involved: dict[str, Any],
    principal: Principal,
    reason: str,
    message: str,
    *,
    namespace: str = "",
) -> None:
    """Record that ``principal`` did ``message`` to ``involved`` (an object as read).

    ``namespace`` is where the Event goes when the object is cluster-scoped.
    """
    event = event_for(involved, principal, reason, message, namespace)
    with contextlib.suppress(ClusterError):
        await client.create(event)
        return
    log.warning("could not record audit event %s on %s", reason, event["involvedObject"]["name"])
