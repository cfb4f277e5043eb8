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

The API server (``gitward server``) is a Deployment of its own (:mod:`gitward.install.server`);
what both pods share is in :mod:`gitward.install.pods`.
"""

from __future__ import annotations

from typing import Any

from gitward.install.objects import CONTROLLER, server_rbac
from gitward.install.pods import (
    ComponentOptions,
    container_security_context,
    labels,
    pod_name_env,
    pod_security_context,
    scratch_env,
    scratch_mounts,
    scratch_volumes,
)
from gitward.install.server import server_objects

Obj = dict[str, Any]

COMPONENTS = ("controller", "server")
METRICS_PORT = 8082


def controller_args(options: ComponentOptions) -> list[str]:
    args = ["--namespace", options.namespace, "controller", "--listen", f":{METRICS_PORT}"]
    args += ["--log-format", "json", "--replica-id", "$(POD_NAME)"]
    if options.replicas > 1:
        args += ["--shards", str(options.replicas)]
    return args


def controller_env() -> list[Obj]:
    return [pod_name_env(), *scratch_env()]


def controller_objects(options: ComponentOptions) -> list[Obj]:
    """StatefulSet, its headless and metrics Services, PodDisruptionBudget, NetworkPolicy."""
    ns, labels_ = options.namespace, labels(CONTROLLER, "controller")
    selector = {"app.kubernetes.io/name": CONTROLLER}
    probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10}
    objs: list[Obj] = [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels_},
            "spec": {
                "replicas": options.replicas,
                "serviceName": CONTROLLER,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels_},
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
                                "volumeMounts": scratch_mounts(),
                            }
                        ],
                        "volumes": scratch_volumes(),
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels_},
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
                "labels": {**labels_, "gitward.io/metrics": "true"},
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
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels_},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels_},
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
                "metadata": {"name": CONTROLLER, "namespace": ns, "labels": labels_},
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
        elif component == "server":
            rbac = server_rbac(options.namespace, options.server_resource_edits)
            out += [*rbac, *server_objects(options)]
    return out
