"""Health of Jobs, CronJobs and HorizontalPodAutoscalers, as gitops-engine judges them."""

from __future__ import annotations

import json
from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]

#: ``autoscaling/v1`` has no conditions field; the HPA controller keeps them here as JSON.
HPA_V1_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"


def _conditions(obj: Obj) -> list[Obj]:
    return [c for c in (obj.get("status") or {}).get("conditions") or [] if isinstance(c, dict)]


def job(obj: Obj) -> Health:
    """Complete/Failed/Suspended conditions decide; a Job with none of them is still running."""
    failed = complete = suspended = False
    fail_message = message = ""
    for cond in _conditions(obj):
        kind = cond.get("type")
        if kind == "Failed":
            failed = complete = True
            fail_message = str(cond.get("message") or "")
        elif kind == "Complete":
            complete = True
            message = str(cond.get("message") or "")
        elif kind == "Suspended":
            complete = True
            message = str(cond.get("message") or "")
            suspended = suspended or cond.get("status") == "True"
    if not complete:
        return Health(HealthStatus.PROGRESSING, message)
    if failed:
        return Health(HealthStatus.DEGRADED, fail_message)
    if suspended:
        return Health(HealthStatus.SUSPENDED, message)
    return Health(HealthStatus.HEALTHY, message)


def cron_job(obj: Obj) -> Health:
    if (obj.get("spec") or {}).get("suspend"):
        return Health(HealthStatus.SUSPENDED, "CronJob is suspended")
    last = (obj.get("status") or {}).get("lastScheduleTime")
    return Health(HealthStatus.HEALTHY, f"last scheduled {last}" if last else "")


#: (condition type, reason) pairs with which an HPA cannot do its job.
_HPA_DEGRADED = frozenset(
    {
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "InvalidSelector"),
    }
)
#: Condition types whose ``True`` means the HPA is doing its job.
_HPA_HEALTHY_TYPES = frozenset({"AbleToScale", "ScalingLimited"})
_WAITING = Health(HealthStatus.PROGRESSING, "Waiting to Autoscale")


def _hpa_conditions(obj: Obj) -> list[Obj] | Health:
    if obj.get("apiVersion") != "autoscaling/v1":
        return _conditions(obj)
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(HPA_V1_CONDITIONS)
    if raw is None:
        return []
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return Health(
            HealthStatus.UNKNOWN, f"failed to convert conditions annotation to typed: {exc}"
        )
    if not isinstance(parsed, list):
        return Health(HealthStatus.UNKNOWN, "conditions annotation is not a list")
    return [c for c in parsed if isinstance(c, dict)]


def horizontal_pod_autoscaler(obj: Obj) -> Health:
    """Degraded on a known failure anywhere; Healthy when able to scale; else waiting.

    Every condition is looked at before Healthy is answered, so a failing
    metric after a ``AbleToScale: True`` still makes the HPA Degraded.
    """
    conditions = _hpa_conditions(obj)
    if isinstance(conditions, Health):
        return conditions
    healthy: Health | None = None
    for cond in conditions:
        message = str(cond.get("message") or "")
        if (cond.get("type"), cond.get("reason")) in _HPA_DEGRADED:
            return Health(HealthStatus.DEGRADED, message)
        if (
            healthy is None
            and cond.get("type") in _HPA_HEALTHY_TYPES
            and cond.get("status") == "True"
        ):
            healthy = Health(HealthStatus.HEALTHY, message)
    return healthy or _WAITING
