"""Health assessment: pure rules from a live object to Healthy / Progressing / ...

One module per family of kinds; this module maps (group, kind) to its rule,
as gitops-engine's ``GetHealthCheckFunc`` does. Before the built-in rule,
an installation's own health for the kind is asked: a Lua script or CEL
expressions from ``argocd-cm`` (:class:`~gitward.model.overrides.ResourceOverrides`),
or CEL expressions in the object's ``gitward.io/health-cel`` annotation. No
I/O and no knowledge of diff or sync: the caller passes live objects (plain
dicts) and gets :class:`~gitward.model.status.Health` back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from gitward.health import batch, cel, core, custom, extensions, pod, workloads
from gitward.health.lua import HealthScriptError, LuaHealth
from gitward.model.kinds import APPLICATION, GROUP
from gitward.model.overrides import ResourceOverrides
from gitward.model.status import Health, HealthStatus, worst

Obj = dict[str, Any]
Rule = Callable[[Obj], Health]

#: A Pod or Job with this finalizer is a hook gitward is still watching: not "being deleted".
HOOK_FINALIZER = "argocd.argoproj.io/hook-finalizer"

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
    ("apiextensions.k8s.io", "CustomResourceDefinition"): extensions.custom_resource_definition,
    ("batch", "Job"): batch.job,
    ("batch", "CronJob"): batch.cron_job,
    ("autoscaling", "HorizontalPodAutoscaler"): batch.horizontal_pod_autoscaler,
    (GROUP, APPLICATION): custom.application,
    (GROUP, "Workflow"): extensions.workflow,
}


def group_of(api_version: str) -> str:
    """``apps`` for ``apps/v1``; empty for the core group ``v1``."""
    return api_version.rpartition("/")[0]


@functools.cache
def _lua() -> LuaHealth:
    return LuaHealth()


def _custom(obj: Obj, group: str, kind: str, overrides: ResourceOverrides | None) -> Health | None:
    """The installation's or the object's own verdict; raises on a failing script."""
    override = overrides.lookup(group, kind) if overrides else None
    what = f"argocd-cm health of {group or 'core'}/{kind}"
    if override is not None and override.health_lua:
        return _lua().evaluate(override.health_lua, obj, f"{what} (Lua)")
    rules = override.health_cel if override is not None else None
    try:
        if rules is None:
            rules = cel.from_annotation(obj)
            what = f"{cel.ANNOTATION} of {kind}"
        return cel.evaluate(rules, obj) if rules is not None else None
    except cel.CelError as exc:
        raise HealthScriptError(f"{what} (CEL): {exc}") from None


def assess(
    obj: Obj, overrides: ResourceOverrides | None = None, errors: list[str] | None = None
) -> Health | None:
    """Health of one live object, or None when no rule applies (it then does not count).

    A custom check that fails makes the object Unknown with the reason, and
    the reason (naming the object) is appended to ``errors`` when given, so the
    caller can raise it as a condition.
    """
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp") and HOOK_FINALIZER not in (meta.get("finalizers") or []):
        return Health(HealthStatus.PROGRESSING, "Pending deletion")
    group, kind = group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))
    try:
        found = _custom(obj, group, kind, overrides)
    except HealthScriptError as exc:
        if errors is not None:
            name = (
                f"{meta.get('namespace')}/{meta.get('name')}"
                if meta.get("namespace")
                else meta.get("name")
            )
            errors.append(f"{kind} {name}: {exc}")
        return Health(HealthStatus.UNKNOWN, str(exc))
    if found is not None:
        return found
    rule = _RULES.get((group, kind))
    if rule is not None:
        return rule(obj)
    return custom.conditions(obj)


def missing() -> Health:
    """Health of a resource Git declares but the cluster does not have."""
    return Health(HealthStatus.MISSING, "Resource does not exist in the cluster")


def roll_up(healths: Iterable[Health | None]) -> Health:
    """An app's health: the worst of its resources' (those that have one)."""
    return worst(h for h in healths if h is not None)


__all__ = ["HealthScriptError", "assess", "group_of", "missing", "roll_up"]
