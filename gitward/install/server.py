"""``gitward server`` in the cluster: a Deployment, its Service, PodDisruptionBudget and
NetworkPolicy — Argo CD's ``argocd-server`` in shape.

The API is stateless (every read comes from its own watches, every write goes to the
API server), so it is a Deployment, not a StatefulSet: any replica answers any request.
The Service maps 80 and 443 to the one container port 8080, as Argo CD's does, so
clients and Ingresses written for ``argocd-server`` work unchanged. The process serves
HTTPS on 8080 unless ``--insecure`` (TLS ended by a proxy in front), and the probes
follow that scheme. Ingress to 8080 is open to anyone: the API authenticates every
caller itself.
"""

from __future__ import annotations

from typing import Any

from gitward.install.objects import SERVER
from gitward.install.pods import (
    ComponentOptions,
    container_security_context,
    labels,
    pod_security_context,
    scratch_env,
    scratch_mounts,
    scratch_volumes,
)

Obj = dict[str, Any]

API_PORT = 8080


def server_args(options: ComponentOptions) -> list[str]:
    args = ["--namespace", options.namespace, "server", "--listen", f":{API_PORT}"]
    if options.server_insecure:
        args.append("--insecure")
    return [*args, *options.server_extra_args]


def _probe(path: str, options: ComponentOptions, period: int) -> Obj:
    scheme = "HTTP" if options.server_insecure else "HTTPS"
    return {"httpGet": {"path": path, "port": "server", "scheme": scheme}, "periodSeconds": period}


def server_objects(options: ComponentOptions) -> list[Obj]:
    """Deployment, Service, PodDisruptionBudget, NetworkPolicy of ``gitward server``."""
    ns, labels_ = options.namespace, labels(SERVER, "server")
    selector = {"app.kubernetes.io/name": SERVER}
    meta = {"name": SERVER, "namespace": ns, "labels": labels_}
    container: Obj = {
        "name": "server",
        "image": options.image,
        "imagePullPolicy": options.image_pull_policy,
        "args": server_args(options),
        "env": scratch_env(),
        "ports": [{"name": "server", "containerPort": API_PORT}],
        "livenessProbe": {**_probe("/healthz", options, 10), "initialDelaySeconds": 10},
        "readinessProbe": _probe("/readyz", options, 5),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": container_security_context(),
        "volumeMounts": scratch_mounts(),
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": options.server_replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels_},
                    "spec": {
                        "serviceAccountName": SERVER,
                        "securityContext": pod_security_context(),
                        "terminationGracePeriodSeconds": 30,
                        "containers": [container],
                        "volumes": scratch_volumes(),
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": selector,
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": API_PORT},
                    {"name": "https", "protocol": "TCP", "port": 443, "targetPort": API_PORT},
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                # Browsers, the CLI, Ingresses and probes: the API authenticates callers.
                "ingress": [{"ports": [{"protocol": "TCP", "port": API_PORT}]}],
            },
        },
    ]
