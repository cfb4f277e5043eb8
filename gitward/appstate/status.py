"""Write a comparison into the Application's status: Kubernetes is the database.

The status is patched through the ``status`` subresource with a JSON patch
that replaces each field a refresh owns (``sync``, ``health``, ``resources``,
``conditions``, ``reconciledAt``, ``sourceType``, ``summary``, and
``gitwardLayout``, the layout they are stored in); fields other writers own
(``operationState``, ``history``) are left as they are.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

from gitward._util.redact import redact
from gitward.appstate.comparison import Comparison
from gitward.appstate.layout import LAYOUT_FIELD, layout_to_write, upgrade
from gitward.cluster import KubeClient
from gitward.model.kinds import API_VERSION, APPLICATION

Obj = dict[str, Any]


_SOURCE_TYPES = {
    "directory": "Directory",
    "kustomize": "Kustomize",
    "helm": "Helm",
    "plugin": "Plugin",
}


_stamp: tuple[int, str] = (0, "")


def now() -> str:
    """The current time as Kubernetes writes it (seconds), formatted once per second."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]


def stamp_at(epoch: float) -> str:
    """``epoch`` as Kubernetes writes a time (seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


#: The spec fields a comparison depends on, recorded in ``status.sync.comparedTo``.
COMPARED_FIELDS = ("source", "sources", "destination", "ignoreDifferences")


def spec_changed_since_refresh(app_obj: Obj) -> bool:
    """True when the app was never refreshed or its spec changed what a refresh compares."""
    status = app_obj.get("status") or {}
    if not status.get("reconciledAt"):
        return True
    compared = (status.get("sync") or {}).get("comparedTo") or {}
    spec = app_obj.get("spec") or {}
    return any(compared.get(key) != spec.get(key) for key in COMPARED_FIELDS)


def _stamped(conditions: list[Obj], app_obj: Obj, at: str) -> list[Obj]:
    """``conditions`` with lastTransitionTime: kept from the status while the message is."""
    previous = {c.get("type"): c for c in (app_obj.get("status") or {}).get("conditions") or []}
    stamped = []
    for cond in conditions:
        old = previous.get(cond["type"])
        same = old is not None and old.get("message") == cond.get("message")
        stamp = old.get("lastTransitionTime", at) if same and old else at
        message = cond.get("message")
        if isinstance(message, str):
            cond = {**cond, "message": redact(message)}
        stamped.append({**cond, "lastTransitionTime": stamp})
    return stamped


async def set_conditions(
    client: KubeClient, app_obj: Obj, conditions: list[Obj], types: set[str]
) -> Obj:
    """Replace the conditions of ``types`` with ``conditions``, keeping all others."""
    current = (app_obj.get("status") or {}).get("conditions") or []
    kept = [c for c in current if c.get("type") not in types]
    merged = kept + _stamped(conditions, app_obj, now())
    return await patch_status(client, app_obj, {"conditions": merged or None})


def status_fields(comparison: Comparison, app_obj: Obj, at: str | None = None) -> Obj:
    """The status fields a refresh writes, in Argo CD's shape."""
    at = at or now()
    spec = app_obj.get("spec") or {}
    conditions = _stamped(comparison.conditions, app_obj, at)
    compared_to: Obj = {"destination": spec.get("destination") or {}}
    for key in COMPARED_FIELDS:
        if key != "destination" and spec.get(key):
            compared_to[key] = spec[key]
    sync: Obj = {"status": str(comparison.sync_status)}
    if comparison.spec_valid:  # an unreadable spec (perhaps nested 5,000 deep) is not copied
        sync["comparedTo"] = compared_to
    images = comparison.images
    if comparison.revision:
        sync["revision"] = comparison.revision
    if comparison.revisions:
        sync["revisions"] = list(comparison.revisions)
    fields: Obj = {
        "sync": sync,
        "health": comparison.health.as_dict(),
        "resources": [r.as_status() for r in comparison.resources],
        "conditions": conditions or None,
        "reconciledAt": at,
        "summary": {"images": images} if images else {},
        LAYOUT_FIELD: layout_to_write(app_obj.get("status")),
    }
    if comparison.source_type:
        fields["sourceType"] = _SOURCE_TYPES.get(comparison.source_type, comparison.source_type)
    return fields


def replace_status_ops(app_obj: Obj, fields: Obj) -> list[Obj]:
    """JSON Patch operations that set each of ``fields`` wholesale under ``/status``.

    A merge patch would merge nested maps, keeping keys the new value lacks
    (an old health message, a source field the spec no longer has); ``add``
    of a whole member replaces it.
    """
    ops: list[Obj] = []
    if not isinstance(app_obj.get("status"), dict):
        ops.append({"op": "add", "path": "/status", "value": {}})
    for key, value in fields.items():
        if value is None:
            if key in (app_obj.get("status") or {}):
                ops.append({"op": "remove", "path": f"/status/{key}"})
        else:
            ops.append({"op": "add", "path": f"/status/{key}", "value": value})
    return ops


async def patch_status(client: KubeClient, app_obj: Obj, fields: Obj, guard: bool = False) -> Obj:
    """Replace ``fields`` of ``app_obj``'s status; return the stored Application.

    With ``guard``, the write fails (a ClusterError) unless the Application is
    still at the resourceVersion ``app_obj`` was read at: nobody wrote it since.

    When ``app_obj`` (as read) has no status yet, a merge patch adds the fields
    instead: the JSON patch would start with ``add /status {}``, which replaces a
    whole status someone else wrote since the read (a sync's ``operationState``
    and ``history``, written while this process compared a just-created app).

    Every write names the layout it is in (:mod:`gitward.appstate.layout`); the first write
    to a status of an older layout also writes the fields that layout kept elsewhere.
    """
    meta = app_obj["metadata"]
    status = app_obj.get("status")
    fields = {**(upgrade(status) or {}), **fields}
    fields[LAYOUT_FIELD] = layout_to_write(status)
    if not isinstance(app_obj.get("status"), dict) and not guard:
        added = {key: value for key, value in fields.items() if value is not None}
        return await client.patch(
            API_VERSION,
            APPLICATION,
            meta["name"],
            meta.get("namespace"),
            {"status": added},
            subresource="status",
        )
    return await client.patch(
        API_VERSION,
        APPLICATION,
        meta["name"],
        meta.get("namespace"),
        {"ops": _guard(app_obj, guard) + replace_status_ops(app_obj, fields)},
        patch_type="json",
        subresource="status",
    )


def _guard(app_obj: Obj, guard: bool) -> list[Obj]:
    version = app_obj["metadata"].get("resourceVersion")
    if not guard or not version:
        return []
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": version}]


@functools.lru_cache(maxsize=4096)
def _epoch(stamp: str) -> float:
    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return float("-inf")
    return then.replace(tzinfo=datetime.UTC).timestamp()


def age_seconds(stamp: str) -> float:
    """Seconds since a Kubernetes timestamp (``...T...Z``); infinite when unreadable."""
    return time.time() - _epoch(stamp)


def _status_of(app_obj: Obj) -> Obj:
    status = app_obj.get("status")
    return status if isinstance(status, dict) else {}


def _changed_keys(status: Obj, fields: Obj) -> Iterator[str]:
    """The keys of ``fields`` whose writing would change ``status``, ``reconciledAt`` aside
    (a None or empty value for a key the status lacks changes nothing)."""
    for key, value in fields.items():
        if key == "reconciledAt" or status.get(key) == value:
            continue
        if not (value in (None, {}) and key not in status):
            yield key


def only_timestamp_changed(app_obj: Obj, fields: Obj, max_age: float) -> bool:
    """True when writing ``fields`` would change nothing but a recent ``reconciledAt``."""
    status = _status_of(app_obj)
    if age_seconds(str(status.get("reconciledAt", ""))) >= max_age:
        return False
    return next(_changed_keys(status, fields), None) is None


def _without_message(health: object) -> object:
    if isinstance(health, dict) and "message" in health:
        return {k: v for k, v in health.items() if k != "message"}
    return health


def _resources_without_messages(resources: object) -> object:
    if not isinstance(resources, list):
        return resources
    return [
        {**r, "health": _without_message(r["health"])}
        if isinstance(r, dict) and "health" in r
        else r
        for r in resources
    ]


def message_hold(app_obj: Obj, fields: Obj, every: float) -> float:
    """Seconds to hold a write of ``fields`` that would change only health messages (0: none).

    A Deployment's message changes two or three times in a rollout of a second
    ("0 out of 1 new replicas have been updated", "0 of 1 updated replicas are
    available"): at a cold start of 1,000 apps that was 0.8 status writes per app
    between the sync's write and Healthy's. Within ``every`` seconds of the last
    write (``reconciledAt``), such a write waits; any other change (a health or sync
    status, a condition, a resource) goes at once and carries the newest messages.
    """
    status = _status_of(app_obj)
    if every <= 0:
        return 0.0
    age = age_seconds(str(status.get("reconciledAt", "")))
    if age >= every:
        return 0.0
    for key in _changed_keys(status, fields):
        old, value = status.get(key), fields[key]
        if key == "health" and _without_message(old) == _without_message(value):
            continue
        if key == "resources" and _resources_without_messages(old) == _resources_without_messages(
            value
        ):
            continue
        return 0.0
    return max(every - age, 0.1)


class Written(NamedTuple):
    """What :func:`write_status` did: the Application as stored, and how long a write
    of changed health messages only was held (0: nothing held)."""

    app: Obj
    held_for: float = 0.0


async def write_status(
    client: KubeClient,
    app_obj: Obj,
    comparison: Comparison,
    unchanged_for: float = 0.0,
    messages_every: float = 0.0,
) -> Written:
    """Store the refresh's fields in ``app_obj``'s status.

    With ``unchanged_for`` (the controller's setting), a refresh that found
    exactly what the status already says writes nothing, unless ``reconciledAt``
    is older than that many seconds: a steady-state refresh cycle then costs the
    API server no request at all. With ``messages_every``, one that changed only
    health messages waits that long after the last write (:func:`message_hold`):
    the caller looks again when :attr:`Written.held_for` has passed.
    """
    fields = status_fields(comparison, app_obj)
    if unchanged_for > 0 and only_timestamp_changed(app_obj, fields, unchanged_for):
        return Written(app_obj)
    hold = message_hold(app_obj, fields, messages_every)
    if hold > 0:
        return Written(app_obj, hold)
    return Written(await patch_status(client, app_obj, fields))
