"""Health of Jobs, CronJobs and HorizontalPodAutoscalers."""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]


def _conditions(obj: Obj) -> list[Obj]:
    return list(obj.get("status", {}).get("conditions", []) or [])


def job(obj: Obj) -> Health:
    for cond in _conditions(obj):
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Failed":
            return Health(HealthStatus.DEGRADED, str(cond.get("message") or "Job failed"))
        if cond.get("type") == "Complete":
            return Health(HealthStatus.HEALTHY, str(cond.get("message") or ""))
    if obj.get("spec", {}).get("suspend"):
        return Health(HealthStatus.SUSPENDED, "Job is suspended")
    return Health(HealthStatus.PROGRESSING, "Job is running")


def cron_job(obj: Obj) -> Health:
    if obj.get("spec", {}).get("suspend"):
        return Health(HealthStatus.SUSPENDED, "CronJob is suspended")
    last = obj.get("status", {}).get("lastScheduleTime")
    return Health(HealthStatus.HEALTHY, f"last scheduled {last}" if last else "")


#: Condition reasons with which an HPA cannot do its job.
_HPA_FAILURES = frozenset(
    {
        "FailedGetScale",
        "FailedUpdateScale",
        "FailedGetResourceMetric",
        "InvalidSelector",
        "FailedGetObjectMetric",
        "FailedGetPodsMetric",
        "FailedGetExternalMetric",
        "FailedComputeMetricsReplicas",
        "InvalidMetricSourceType",
    }
)


def horizontal_pod_autoscaler(obj: Obj) -> Health:
    conditions = _conditions(obj)
    if not conditions:
        return Health(HealthStatus.PROGRESSING, "Waiting to autoscale")
    for cond in conditions:
        if cond.get("status") == "False" and cond.get("reason") in _HPA_FAILURES:
            return Health(HealthStatus.DEGRADED, str(cond.get("message") or cond.get("reason")))
    return Health(HealthStatus.HEALTHY)
