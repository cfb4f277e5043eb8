"""The order a sync applies things in: phase > wave > kind > name.

Argo CD's order, kept so that repositories written for it sync the same way:
hooks run in their phase (PreSync before anything, PostSync after everything
is healthy, SyncFail only on failure); within a phase, lower
``argocd.argoproj.io/sync-wave`` first; within a wave, kinds that others
depend on first (Namespaces before what lives in them, CRDs before their
custom resources, ServiceAccounts and RBAC before workloads); then by name.
"""

from __future__ import annotations

from typing import Any

from gitward.model.errors import ConfigError
from gitward.model.phases import SyncPhase

Obj = dict[str, Any]

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
HOOK_DELETE_POLICY_ANNOTATION = "argocd.argoproj.io/hook-delete-policy"
HELM_HOOK_ANNOTATION = "helm.sh/hook"
HELM_HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"


_PHASES = {phase.value: phase for phase in SyncPhase}
_HELM_PHASES = {
    "pre-install": SyncPhase.PRE_SYNC,
    "pre-upgrade": SyncPhase.PRE_SYNC,
    "post-install": SyncPhase.POST_SYNC,
    "post-upgrade": SyncPhase.POST_SYNC,
}

KIND_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


def _annotations(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def kind_rank(kind: str) -> int:
    """Position of ``kind`` in the apply order; unknown kinds (custom resources) last."""
    return _KIND_RANK.get(kind, len(KIND_ORDER))


def wave(obj: Obj) -> int:
    annotations = _annotations(obj)
    raw = annotations.get(WAVE_ANNOTATION)
    if raw is None and annotations.get(HELM_HOOK_ANNOTATION):
        raw = annotations.get(HELM_HOOK_WEIGHT_ANNOTATION)
    if raw is None or str(raw).strip() == "":
        return 0
    try:
        return int(str(raw).strip())
    except ValueError:
        name = (obj.get("metadata") or {}).get("name")
        raise ConfigError(
            f"{obj.get('kind')} {name}: annotation {WAVE_ANNOTATION}: not an integer: {raw!r}"
        ) from None


def hook_phases(obj: Obj) -> list[SyncPhase] | None:
    """The phases ``obj`` runs in as a hook; None when it is not a hook.

    ``Skip`` is not a hook: it is a resource that is never applied (the
    caller checks :func:`is_skipped`).
    """
    annotations = _annotations(obj)
    raw = annotations.get(HOOK_ANNOTATION)
    if raw:
        phases = []
        for part in raw.split(","):
            part = part.strip()
            if part == "Skip":
                continue
            if part not in _PHASES:
                name = (obj.get("metadata") or {}).get("name")
                raise ConfigError(f"{obj.get('kind')} {name}: unknown hook {part!r}")
            phases.append(_PHASES[part])
        return phases or None
    helm = annotations.get(HELM_HOOK_ANNOTATION)
    if helm:
        phases = sorted(
            {_HELM_PHASES[p.strip()] for p in helm.split(",") if p.strip() in _HELM_PHASES}
        )
        return phases or None
    return None


def is_hook(obj: Obj) -> bool:
    """True for a hook (any value but ``Skip``, or a Helm hook): it does not count
    towards sync status. Unlike :func:`hook_phases` it never raises, so a comparison
    can report an app whose hook annotation the sync will refuse."""
    annotations = _annotations(obj)
    hook = annotations.get(HOOK_ANNOTATION)
    if hook and hook != "Skip":
        return True
    return bool(annotations.get(HELM_HOOK_ANNOTATION)) and not hook


def is_skipped(obj: Obj) -> bool:
    raw = _annotations(obj).get(HOOK_ANNOTATION, "")
    return "Skip" in [p.strip() for p in raw.split(",")]


def hook_delete_policies(obj: Obj) -> set[str]:
    """Delete policies of a hook; BeforeHookCreation when none is given (as Argo CD)."""
    annotations = _annotations(obj)
    raw = annotations.get(HOOK_DELETE_POLICY_ANNOTATION)
    if raw is None:
        helm = annotations.get(HELM_HOOK_DELETE_POLICY_ANNOTATION)
        mapping = {
            "before-hook-creation": "BeforeHookCreation",
            "hook-succeeded": "HookSucceeded",
            "hook-failed": "HookFailed",
        }
        raw = ",".join(mapping.get(p.strip(), "") for p in (helm or "").split(","))
    policies = {p.strip() for p in raw.split(",") if p.strip()}
    return policies or {"BeforeHookCreation"}
