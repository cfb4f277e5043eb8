"""Lease objects (``coordination.k8s.io/v1``) as plain dicts: reading and writing them.

A Lease says who holds something (``holderIdentity``), since when (``acquireTime``),
when the holder last confirmed it (``renewTime``, a MicroTime) and for how long a
confirmation counts (``leaseDurationSeconds``). Expiry is judged by the reader's wall
clock against the holder's renewTime, so it tolerates clock skew only up to the
margin the caller leaves (see :mod:`gitward.controller.sharding`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

LEASE_API = "coordination.k8s.io/v1"
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"
LABELS = {"app.kubernetes.io/part-of": "gitward"}


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _parse_time(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@dataclass
class LeaseView:
    """One Lease as read: who holds it and until when (by the holder's own clock)."""

    obj: Obj
    holder: str
    expires: datetime.datetime | None

    @classmethod
    def of(cls, obj: Obj) -> LeaseView:
        spec = obj.get("spec") or {}
        renewed = _parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime"))
        duration = spec.get("leaseDurationSeconds")
        expires = None
        if renewed is not None and isinstance(duration, int):
            expires = renewed + datetime.timedelta(seconds=duration)
        return cls(obj, str(spec.get("holderIdentity") or ""), expires)

    def gone(self, now: datetime.datetime, for_longer_than: datetime.timedelta) -> bool:
        """Expired (or never renewed) more than ``for_longer_than`` ago."""
        return self.expires is None or self.expires < now - for_longer_than

    def live_holder(self, now: datetime.datetime) -> str:
        """The holder while the Lease is unexpired, else ``""`` (free to take)."""
        if not self.holder or self.expires is None or self.expires <= now:
            return ""
        return self.holder


def lease_body(
    name: str,
    namespace: str,
    holder: str | None,
    duration: int,
    now: datetime.datetime,
    previous: Obj | None = None,
) -> Obj:
    """The Lease to write: ``previous`` (as read) updated for ``holder``, or a new one.

    acquireTime and leaseTransitions change only when the holder does; ``holder=None``
    releases the Lease, keeping its history.
    """
    old_spec = dict((previous or {}).get("spec") or {})
    old_holder = old_spec.get("holderIdentity") or None
    stamp = now.strftime(MICROTIME)
    spec = {**old_spec, "leaseDurationSeconds": duration, "renewTime": stamp}
    if holder is None:
        spec.pop("holderIdentity", None)
    else:
        spec["holderIdentity"] = holder
        if holder != old_holder:
            spec["acquireTime"] = stamp
            if previous is not None:
                spec["leaseTransitions"] = int(old_spec.get("leaseTransitions") or 0) + 1
    meta: Obj = {"name": name, "namespace": namespace, "labels": dict(LABELS)}
    if previous is not None:
        old_meta = {
            k: v for k, v in (previous.get("metadata") or {}).items() if k != "managedFields"
        }
        meta = {**old_meta, "labels": {**(old_meta.get("labels") or {}), **LABELS}}
    return {"apiVersion": LEASE_API, "kind": "Lease", "metadata": meta, "spec": spec}
