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
    replicas = spec.get("replicas")
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if replicas is not None and updated < replicas:
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
    replicas = obj.get("spec", {}).get("replicas")
    available = obj.get("status", {}).get("availableReplicas", 0)
    if replicas is not None and available < replicas:
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
    replicas = spec.get("replicas")
    ready = status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    if replicas is not None and ready < replicas:
        return Health(PROGRESSING, f"Waiting for {replicas - ready} pods to be ready...")
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if kind == "RollingUpdate" and rolling is not None:
        partition = rolling.get("partition")
        if replicas is not None and partition is not None and updated < replicas - partition:
            return Health(
                PROGRESSING,
                f"Waiting for partitioned roll out to finish: {updated} out of "
                f"{replicas - partition} new pods have been updated...",
            )
        return Health(
            HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if kind == "OnDelete":
        return Health(HEALTHY, f"statefulset has {ready} ready pods ({updated} updated)")
    current, update = status.get("currentRevision", ""), status.get("updateRevision", "")
    if update != current:
        return Health(
            PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at "
            f"revision {update}...",
        )
    return Health(
        HEALTHY,
        f"statefulset rolling update complete {status.get('currentReplicas', 0)} pods at "
        f"revision {current}...",
    )


def daemon_set(obj: Obj) -> Health:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    name = obj.get("metadata", {}).get("name", "")
    if not _observed(obj):
        return Health(PROGRESSING, "Waiting for daemon set spec update to be observed...")
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Health(HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated")
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
