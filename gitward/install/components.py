"""gitward's own workloads in the cluster: what ``install --components`` applies and
``deploy/`` ships.

The controller runs as a StatefulSet, so each replica keeps its name across
restarts (``--replica-id`` is the pod name: Leases and operation locks survive a
restart) and the shard count follows the replica count. Every pod meets the
``restricted`` Pod Security level: non-root, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, a read-only root filesystem with
``emptyDir`` volumes for the repository cache and temporary files. Probes use
``/healthz`` and ``/readyz``; a PodDisruptionBudget keeps a voluntary eviction
from taking more than one replica; NetworkPolicies admit only the ports each
component serves; the metrics Service carries the ``prometheus.io`` annotations
(and a ServiceMonitor when asked for).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.install.objects import CONTROLLER, PART_OF

Obj = dict[str, Any]

COMPONENTS = ("controller",)
DEFAULT_IMAGE = "ghcr.io/gitward/gitward:0.1.0"
METRICS_PORT = 8082
UID = 999
#: Inside the pod: a private emptyDir each, never a shared host directory.
TMP_DIR = "/tmp"  # noqa: S108
CACHE_DIR = "/cache"


@dataclass(frozen=True)
class ComponentOptions:
    namespace: str = "argocd"
    image: str = DEFAULT_IMAGE
    replicas: int = 1
    service_monitor: bool = False
    image_pull_policy: str = "IfNotPresent"


def _labels(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": CONTROLLER if component == "controller" else component,
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


def controller_args(options: ComponentOptions) -> list[str]:
    args = ["--namespace", options.namespace, "controller", "--listen", f":{METRICS_PORT}"]
    args += ["--log-format", "json", "--replica-id", "$(POD_NAME)"]
    if options.replicas > 1:
        args += ["--shards", str(options.replicas)]
    return args


def controller_env() -> list[Obj]:
    return [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "HOME", "value": TMP_DIR},
        {"name": "GITWARD_CACHE", "value": CACHE_DIR},
    ]


def controller_objects(options: ComponentOptions) -> list[Obj]:
    """StatefulSet, its headless and metrics Services, PodDisruptionBudget, NetworkPolicy."""
    ns, labels = options.namespace, _labels("controller")
    selector = {"app.kubernetes.io/name": CONTROLLER}
    probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10}
    objs: list[Obj] = [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels},
            "spec": {
                "replicas": options.replicas,
                "serviceName": CONTROLLER,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": CONTROLLER,
                        "securityContext": pod_security_context(),
                        "terminationGracePeriodSeconds": 45,
                        "containers": [
                            {
                                "name": "controller",
                                "image": options.image,
                                "imagePullPolicy": options.image_pull_policy,
                                "args": controller_args(options),
                                "env": controller_env(),
                                "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                                "livenessProbe": {**probe, "initialDelaySeconds": 10},
                                "readinessProbe": {
                                    "httpGet": {"path": "/readyz", "port": "metrics"},
                                    "periodSeconds": 5,
                                },
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "256Mi"},
                                    "limits": {"memory": "1Gi"},
                                },
                                "securityContext": container_security_context(),
                                "volumeMounts": [
                                    {"name": "cache", "mountPath": CACHE_DIR},
                                    {"name": "tmp", "mountPath": TMP_DIR},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "cache", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels},
            "spec": {
                "clusterIP": "None",
                "selector": selector,
                "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"{CONTROLLER}-metrics",
                "namespace": ns,
                "labels": {**labels, "gitward.io/metrics": "true"},
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(METRICS_PORT),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": {
                "selector": selector,
                "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels},
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                # Webhooks, /metrics and probes: the controller serves nothing else.
                "ingress": [{"ports": [{"protocol": "TCP", "port": METRICS_PORT}]}],
            },
        },
    ]
    if options.service_monitor:
        objs.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels},
                "spec": {
                    "selector": {"matchLabels": {"gitward.io/metrics": "true"}},
                    "endpoints": [{"port": "metrics", "path": "/metrics"}],
                },
            }
        )
    return objs


def component_objects(components: tuple[str, ...], options: ComponentOptions) -> list[Obj]:
    out: list[Obj] = []
    for component in components:
        if component == "controller":
            out += controller_objects(options)
    return out
