"""Health of a bare Pod (and of hook Pods): phase first, then container states."""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]

#: Waiting reasons that will not fix themselves without a change.
_BROKEN_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def pod(obj: Obj) -> Health:
    status = obj.get("status", {})
    phase = status.get("phase", "")
    message = status.get("message", "") or ""
    if obj.get("metadata", {}).get("deletionTimestamp"):
        return Health(HealthStatus.PROGRESSING, "Pending deletion")
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _BROKEN_WAITING:
            text = waiting.get("message") or waiting.get("reason")
            return Health(HealthStatus.DEGRADED, f"container {container.get('name')}: {text}")
    if phase == "Succeeded":
        return Health(HealthStatus.HEALTHY, message)
    if phase == "Failed":
        return Health(HealthStatus.DEGRADED, message or "Pod failed")
    if phase == "Running":
        if obj.get("spec", {}).get("restartPolicy", "Always") != "Always":
            return Health(HealthStatus.PROGRESSING, message)  # runs to completion
        if statuses and all(c.get("ready") for c in status.get("containerStatuses") or []):
            return Health(HealthStatus.HEALTHY, message)
        return Health(HealthStatus.PROGRESSING, message or "Waiting for containers to be ready")
    if phase == "Pending":
        return Health(HealthStatus.PROGRESSING, message)
    return Health(HealthStatus.UNKNOWN, message or f"Pod phase {phase or 'unset'}")
