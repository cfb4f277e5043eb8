"""Health of CustomResourceDefinitions and Argo Workflows, as gitops-engine judges them."""

from __future__ import annotations

from typing import Any

from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]


def custom_resource_definition(obj: Obj) -> Health:
    conditions = (obj.get("status") or {}).get("conditions") or []
    if not conditions:
        return Health(HealthStatus.PROGRESSING, "Status conditions not found")
    established = terminating = names_refused = violations = False
    message = ""
    for cond in conditions:
        kind, status = cond.get("type"), cond.get("status")
        text = str(cond.get("message") or "")
        if kind == "Terminating" and status == "True":
            terminating, message = True, text
        elif kind == "NamesAccepted" and status == "False":
            names_refused, message = True, text
        elif kind == "Established":
            if status == "True":
                established = True
            else:
                message = text
        elif kind == "NonStructuralSchema" and status == "True":
            violations, message = True, text
    if terminating:
        return Health(HealthStatus.PROGRESSING, f"CRD is being terminated: {message}")
    if names_refused:
        return Health(HealthStatus.DEGRADED, f"CRD names have not been accepted: {message}")
    if not established:
        return Health(HealthStatus.DEGRADED, f"CRD is not established: {message}")
    if violations:
        return Health(HealthStatus.DEGRADED, f"Schema violations found: {message}")
    return Health(HealthStatus.HEALTHY, "CRD is healthy")


def workflow(obj: Obj) -> Health:
    status = obj.get("status") or {}
    phase, message = status.get("phase") or "", str(status.get("message") or "")
    if phase in ("", "Pending", "Running"):
        return Health(HealthStatus.PROGRESSING, message)
    if phase == "Succeeded":
        return Health(HealthStatus.HEALTHY, message)
    if phase in ("Failed", "Error"):
        return Health(HealthStatus.DEGRADED, message)
    return Health(HealthStatus.UNKNOWN, message)
