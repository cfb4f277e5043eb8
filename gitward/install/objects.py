"""Everything ``gitward install`` creates besides the CRDs.

The namespace, the ``default`` AppProject (any repository, any destination,
every kind — Argo CD's default), and the controller's identity: a
ServiceAccount bound to a ClusterRole that may manage any resource, since a
GitOps controller applies whatever Git declares. Projects restrict that per
app; Kubernetes RBAC is the outer fence.

The API server's identity is narrower, since it deploys nothing itself: it reads
and writes Applications and ApplicationSets (in any namespace it serves), AppProjects,
Secrets and ConfigMaps of its own namespace only (accounts, repositories, clusters,
settings), creates Events (audit), and reads everything else to draw resource
trees. Patching or deleting an app's live resources through the API (Argo CD's
default grant) is an opt-in rule.
"""

from __future__ import annotations

from typing import Any

from gitward.model.kinds import APP_PROJECT, GROUP, VERSION

Obj = dict[str, Any]

CONTROLLER = "gitward-application-controller"
SERVER = "gitward-server"
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


_ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
_READ = ["get", "list", "watch"]


def server_rbac(ns: str, resource_edits: bool = False) -> list[Obj]:
    """ServiceAccount, ClusterRole and Role (and their bindings) of ``gitward server``."""
    meta = {"name": SERVER, "labels": dict(PART_OF)}
    cluster_rules: list[Obj] = [
        # Resource trees, managed resources, events and logs of every app: read only.
        {"apiGroups": ["*"], "resources": ["*"], "verbs": _READ},
        # Applications may live in other namespaces (--application-namespaces).
        {
            "apiGroups": [GROUP],
            "resources": ["applications", "applicationsets"],
            "verbs": _ALL_VERBS,
        },
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    ]
    if resource_edits:
        cluster_rules.append(
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["update", "patch", "delete"]}
        )
    namespaced_rules: list[Obj] = [
        {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": _ALL_VERBS},
        {"apiGroups": [GROUP], "resources": ["appprojects"], "verbs": _ALL_VERBS},
    ]
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "name": SERVER}
    subjects = [{"kind": "ServiceAccount", "name": SERVER, "namespace": ns}]
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**meta, "namespace": ns}},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": dict(meta), "rules": cluster_rules},
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": dict(meta),
            "roleRef": {**role_ref, "kind": "ClusterRole"},
            "subjects": subjects,
        },
        {
            "apiVersion": rbac,
            "kind": "Role",
            "metadata": {**meta, "namespace": ns},
            "rules": namespaced_rules,
        },
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": {**meta, "namespace": ns},
            "roleRef": {**role_ref, "kind": "Role"},
            "subjects": subjects,
        },
    ]
