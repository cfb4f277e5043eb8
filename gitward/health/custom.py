"""Health of Argo CD Applications and of custom resources that report conditions.

Custom resources have no rule of their own; many (Flux, Crossplane, cert-manager,
External Secrets, Sealed Secrets) report standard conditions — ``Ready``,
``Available``, ``Synced``, ``Stalled``, ``Reconciling`` — and are judged by
them. A resource without such conditions has no health at all, as in Argo CD:
it does not count towards the app's health.
"""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]


def application(obj: Obj) -> Health:
    """A child Application is as healthy as it says it is (app of apps)."""
    health = obj.get("status", {}).get("health") or {}
    raw = health.get("status")
    try:
        status = HealthStatus(raw) if raw else HealthStatus.UNKNOWN
    except ValueError:
        status = HealthStatus.UNKNOWN
    return Health(status, str(health.get("message", "")))


def _message(cond: Obj) -> str:
    return str(cond.get("message") or cond.get("reason") or "")


def conditions(obj: Obj) -> Health | None:
    """Judge by standard conditions; None when the object reports none of them."""
    by_type = {c.get("type"): c for c in obj.get("status", {}).get("conditions", []) or []}
    stalled = by_type.get("Stalled")
    if stalled and stalled.get("status") == "True":
        return Health(HealthStatus.DEGRADED, _message(stalled))
    reconciling = by_type.get("Reconciling")
    if reconciling and reconciling.get("status") == "True":
        return Health(HealthStatus.PROGRESSING, _message(reconciling))
    for kind in ("Ready", "Available", "Synced"):
        cond = by_type.get(kind)
        if cond is None:
            continue
        if cond.get("status") == "True":
            return Health(HealthStatus.HEALTHY, _message(cond))
        if cond.get("status") == "False":
            return Health(HealthStatus.DEGRADED, _message(cond))
        return Health(HealthStatus.PROGRESSING, _message(cond))
    return None
