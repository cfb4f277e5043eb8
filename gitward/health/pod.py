"""Health of a bare Pod (and of hook Pods), as gitops-engine judges it.

A Pod that runs to completion (``restartPolicy`` OnFailure or Never) is
usually a hook: while it runs it is Progressing, never Healthy, and a waiting
container (an image still being pulled) does not make it Degraded, or a hook
would fail before its image arrived. ``argocd.argoproj.io/ignore-restart-policy``
makes such a Pod judged like a long-running one (operators that start Pods
with ``restartPolicy: Never``).
"""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]

IGNORE_RESTART_POLICY = "argocd.argoproj.io/ignore-restart-policy"


def _broken_waiting(reason: str) -> bool:
    """Waiting reasons that will not fix themselves: ``Err*``, ``*Error``, ``*BackOff``."""
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _fail_message(container: Obj) -> str:
    terminated = (container.get("state") or {}).get("terminated") or {}
    if not terminated:
        return ""
    if terminated.get("message"):
        return str(terminated["message"])
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled"
    code = terminated.get("exitCode") or 0
    if code != 0:
        return f"container {container.get('name', '')!r} failed with exit code {code}"
    return ""


def _ready(status: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _running(status: Obj, message: str) -> Health:
    if _ready(status):
        return Health(HealthStatus.HEALTHY, message)
    for container in status.get("containerStatuses") or []:
        if ((container.get("lastState") or {}).get("terminated")) is not None:
            return Health(HealthStatus.DEGRADED, message)
    return Health(HealthStatus.PROGRESSING, message)


def pod(obj: Obj) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    restart = spec.get("restartPolicy") or "Always"
    message = str(status.get("message") or "")
    if restart == "Always":
        broken = [
            str(waiting.get("message") or "")
            for container in status.get("containerStatuses") or []
            if (waiting := (container.get("state") or {}).get("waiting") or {})
            and _broken_waiting(str(waiting.get("reason") or ""))
        ]
        if broken:
            return Health(HealthStatus.DEGRADED, ", ".join(broken))
    phase = status.get("phase", "")
    if phase == "Pending":
        return Health(HealthStatus.PROGRESSING, message)
    if phase == "Succeeded":
        return Health(HealthStatus.HEALTHY, message)
    if phase == "Failed":
        if message:
            return Health(HealthStatus.DEGRADED, message)
        containers = (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        )
        for container in containers:
            text = _fail_message(container)
            if text:
                return Health(HealthStatus.DEGRADED, text)
        return Health(HealthStatus.DEGRADED, "")
    if phase == "Running":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if IGNORE_RESTART_POLICY in annotations or restart == "Always":
            return _running(status, message)
        return Health(HealthStatus.PROGRESSING, message)
    return Health(HealthStatus.UNKNOWN, message)
