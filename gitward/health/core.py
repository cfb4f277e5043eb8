"""Health of simple core and networking kinds: Service, Ingress, PVC, Namespace, APIService."""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]


def _has_lb_ingress(obj: Obj) -> bool:
    return bool(((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"))


def service(obj: Obj) -> Health:
    if obj.get("spec", {}).get("type") != "LoadBalancer":
        return Health(HealthStatus.HEALTHY)
    if _has_lb_ingress(obj):
        return Health(HealthStatus.HEALTHY)
    return Health(HealthStatus.PROGRESSING, "Waiting for the load balancer to get an address")


def ingress(obj: Obj) -> Health:
    if _has_lb_ingress(obj):
        return Health(HealthStatus.HEALTHY)
    return Health(HealthStatus.PROGRESSING, "Waiting for the ingress to get an address")


def persistent_volume_claim(obj: Obj) -> Health:
    phase = obj.get("status", {}).get("phase", "")
    if phase == "Bound":
        return Health(HealthStatus.HEALTHY)
    if phase == "Pending":
        return Health(HealthStatus.PROGRESSING, "Waiting for the claim to be bound")
    if phase == "Lost":
        return Health(HealthStatus.DEGRADED, "The claim lost its volume")
    return Health(HealthStatus.UNKNOWN, f"Claim phase {phase or 'unset'}")


def namespace(obj: Obj) -> Health:
    phase = obj.get("status", {}).get("phase", "Active")
    if phase == "Terminating" or obj.get("metadata", {}).get("deletionTimestamp"):
        return Health(HealthStatus.PROGRESSING, "Namespace is terminating")
    return Health(HealthStatus.HEALTHY)


def api_service(obj: Obj) -> Health:
    for cond in obj.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Available":
            text = f"{cond.get('reason', '')}: {cond.get('message', '')}"
            if cond.get("status") == "True":
                return Health(HealthStatus.HEALTHY, text)
            return Health(HealthStatus.PROGRESSING, text)
    return Health(HealthStatus.PROGRESSING, "Waiting to be processed")
