"""Health assessment: pure rules from a live object to Healthy / Progressing / ...

One module per family of kinds; this module maps (group, kind) to its rule.
No I/O and no knowledge of diff or sync: the caller passes live objects (plain
dicts) and gets :class:`~gitward.model.status.Health` back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gitward.health import batch, core, custom, pod, workloads
from gitward.model.status import Health, HealthStatus, worst

Obj = dict[str, Any]
Rule = Callable[[Obj], Health]

_RULES: dict[tuple[str, str], Rule] = {
    ("apps", "Deployment"): workloads.deployment,
    ("apps", "ReplicaSet"): workloads.replica_set,
    ("apps", "StatefulSet"): workloads.stateful_set,
    ("apps", "DaemonSet"): workloads.daemon_set,
    ("", "Pod"): pod.pod,
    ("", "Service"): core.service,
    ("", "PersistentVolumeClaim"): core.persistent_volume_claim,
    ("", "Namespace"): core.namespace,
    ("networking.k8s.io", "Ingress"): core.ingress,
    ("extensions", "Ingress"): core.ingress,
    ("apiregistration.k8s.io", "APIService"): core.api_service,
    ("batch", "Job"): batch.job,
    ("batch", "CronJob"): batch.cron_job,
    ("autoscaling", "HorizontalPodAutoscaler"): batch.horizontal_pod_autoscaler,
    ("argoproj.io", "Application"): custom.application,
}


def group_of(api_version: str) -> str:
    """``apps`` for ``apps/v1``; empty for the core group ``v1``."""
    return api_version.rpartition("/")[0]


def assess(obj: Obj) -> Health | None:
    """Health of one live object, or None when no rule applies (it then does not count)."""
    rule = _RULES.get((group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))))
    if rule is not None:
        return rule(obj)
    return custom.conditions(obj)


def missing() -> Health:
    """Health of a resource Git declares but the cluster does not have."""
    return Health(HealthStatus.MISSING, "Resource does not exist in the cluster")


def roll_up(healths: Iterable[Health | None]) -> Health:
    """An app's health: the worst of its resources' (those that have one)."""
    return worst(h for h in healths if h is not None)


__all__ = ["assess", "group_of", "missing", "roll_up"]
