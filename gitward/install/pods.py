"""What every gitward pod shares: the install's options, labels, and the restricted-level
security settings and scratch volumes of its containers.

One place, so the controller and the API server cannot drift apart on what the
``restricted`` Pod Security level demands: non-root, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, a read-only root filesystem with
``emptyDir`` volumes for the repository cache and temporary files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.install.objects import PART_OF

Obj = dict[str, Any]

DEFAULT_IMAGE = "ghcr.io/gitward/gitward:0.1.0"
UID = 999
#: Inside the pod: a private emptyDir each, never a shared host directory.
TMP_DIR = "/tmp"  # noqa: S108
CACHE_DIR = "/cache"


@dataclass(frozen=True)
class ComponentOptions:
    """How ``install --components`` and ``deploy/`` shape gitward's workloads.

    ``server_insecure`` serves the API over plain HTTP (TLS ends at a proxy in
    front of it); ``server_extra_args`` are appended to ``gitward server``'s
    arguments; ``server_resource_edits`` lets the API patch and delete the live
    resources of apps (Argo CD's default), which read-only RBAC otherwise refuses.
    """

    namespace: str = "argocd"
    image: str = DEFAULT_IMAGE
    replicas: int = 1
    service_monitor: bool = False
    image_pull_policy: str = "IfNotPresent"
    server_replicas: int = 1
    server_insecure: bool = False
    server_extra_args: tuple[str, ...] = ()
    server_resource_edits: bool = False


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        **PART_OF,
    }


def pod_security_context() -> Obj:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }


def scratch_env() -> list[Obj]:
    """``HOME`` and the repository cache on the pod's emptyDir volumes."""
    return [{"name": "HOME", "value": TMP_DIR}, {"name": "GITWARD_CACHE", "value": CACHE_DIR}]


def scratch_mounts() -> list[Obj]:
    return [{"name": "cache", "mountPath": CACHE_DIR}, {"name": "tmp", "mountPath": TMP_DIR}]


def scratch_volumes() -> list[Obj]:
    return [{"name": "cache", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]


def pod_name_env() -> Obj:
    return {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
