"""Everything ``gitward install`` creates besides the CRDs.

The namespace, the ``default`` AppProject (any repository, any destination,
every kind — Argo CD's default), and the controller's identity: a
ServiceAccount bound to a ClusterRole that may manage any resource, since a
GitOps controller applies whatever Git declares. Projects restrict that per
app; Kubernetes RBAC is the outer fence.
"""

from __future__ import annotations

from typing import Any

from gitward.model.kinds import APP_PROJECT, GROUP, VERSION

Obj = dict[str, Any]

CONTROLLER = "gitward-application-controller"
PART_OF = {"app.kubernetes.io/part-of": "gitward"}


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def default_project(ns: str) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": APP_PROJECT,
        "metadata": {"name": "default", "namespace": ns, "labels": dict(PART_OF)},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*", "name": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }


def controller_rbac(ns: str) -> list[Obj]:
    meta = {"name": CONTROLLER, "labels": dict(PART_OF)}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {**meta, "namespace": ns},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": dict(meta),
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
                # Shard ownership between replicas (gitward.controller.sharding). The
                # wildcard above covers it; stated so it survives a narrower role.
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": dict(meta),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": CONTROLLER,
            },
            "subjects": [{"kind": "ServiceAccount", "name": CONTROLLER, "namespace": ns}],
        },
    ]
