"""A stored Kubernetes object's version, read the same way everywhere.

The API server changes an object's resourceVersion on every write and never
reuses a uid, so (uid, resourceVersion) names one immutable state of one
object: safe to key memos by. resourceVersions are opaque strings, but etcd's
are revision numbers, which lets a cache tell an older event from a newer
write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def resource_version(obj: Mapping[str, Any] | None) -> int:
    """An object's resourceVersion as a number (-1 when absent or not numeric)."""
    raw = ((obj or {}).get("metadata") or {}).get("resourceVersion", "")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def state_key(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(uid, resourceVersion) of a stored object; None for one never stored."""
    meta = obj.get("metadata") or {}
    uid, version = str(meta.get("uid") or ""), str(meta.get("resourceVersion") or "")
    return (uid, version) if uid and version else None
