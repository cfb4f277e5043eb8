"""Health of controllers that roll out Pods: Deployment, ReplicaSet, StatefulSet, DaemonSet.

Each rule first asks whether the controller has observed the latest spec
(``observedGeneration``); until it has, nothing in ``status`` describes the
current spec, so the answer is Progressing whatever the counts say.
"""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]

HEALTHY = HealthStatus.HEALTHY
PROGRESSING = HealthStatus.PROGRESSING
DEGRADED = HealthStatus.DEGRADED
SUSPENDED = HealthStatus.SUSPENDED


def _observed(obj: Obj) -> bool:
    generation = obj.get("metadata", {}).get("generation", 0)
    return bool(generation <= obj.get("status", {}).get("observedGeneration", 0))


def _condition(obj: Obj, kind: str) -> Obj | None:
    for cond in obj.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def deployment(obj: Obj) -> Health:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    name = obj.get("metadata", {}).get("name", "")
    if spec.get("paused"):
        return Health(SUSPENDED, "Deployment is paused")
    if not _observed(obj):
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired",
        )
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(DEGRADED, f"Deployment {name!r} exceeded its progress deadline")
    replicas = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < replicas:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {replicas} new replicas "
            "have been updated...",
        )
    if total > updated:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {total - updated} old replicas are pending "
            "termination...",
        )
    if available < updated:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas "
            "are available...",
        )
    return Health(HEALTHY)


def replica_set(obj: Obj) -> Health:
    if not _observed(obj):
        return Health(PROGRESSING, "Waiting for rollout to finish: observed generation is stale")
    failure = _condition(obj, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return Health(DEGRADED, str(failure.get("message", "ReplicaFailure")))
    replicas = obj.get("spec", {}).get("replicas", 1)
    available = obj.get("status", {}).get("availableReplicas", 0)
    if available < replicas:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {replicas} new replicas "
            "are available...",
        )
    return Health(HEALTHY)


def stateful_set(obj: Obj) -> Health:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    if status.get("observedGeneration", 0) == 0 or not _observed(obj):
        return Health(PROGRESSING, "Waiting for statefulset spec update to be observed...")
    replicas = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    if ready < replicas:
        return Health(PROGRESSING, f"Waiting for {replicas - ready} pods to be ready...")
    strategy = spec.get("updateStrategy", {}) or {}
    if strategy.get("type") == "OnDelete":
        return Health(HEALTHY, f"statefulset has {ready} ready pods")
    partition = (strategy.get("rollingUpdate") or {}).get("partition", 0) or 0
    if partition:
        if status.get("updatedReplicas", 0) < replicas - partition:
            return Health(PROGRESSING, "Waiting for partitioned roll out to finish...")
        return Health(HEALTHY, "partitioned roll out complete")
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if update and current != update:
        return Health(
            PROGRESSING,
            f"waiting for statefulset rolling update to complete "
            f"{status.get('updatedReplicas', 0)} pods at revision {update}...",
        )
    return Health(
        HEALTHY, f"statefulset rolling update complete {ready} pods at revision {current}"
    )


def daemon_set(obj: Obj) -> Health:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    name = obj.get("metadata", {}).get("name", "")
    if not _observed(obj):
        return Health(PROGRESSING, "Waiting for daemon set spec update to be observed...")
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Health(HEALTHY, f"daemon set {name!r} uses the OnDelete update strategy")
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    if updated < desired:
        return Health(
            PROGRESSING,
            f"Waiting for daemon set {name!r} rollout to finish: {updated} out of {desired} "
            "new pods have been updated...",
        )
    if available < desired:
        return Health(
            PROGRESSING,
            f"Waiting for daemon set {name!r} rollout to finish: {available} of {desired} "
            "updated pods are available...",
        )
    return Health(HEALTHY)
