"""``gitward cluster add/rm`` through a gitward server, as ``argocd cluster add`` does it.

The server cannot reach a cluster it does not know yet, and must never be handed a
kubeconfig: the CLI reads the kubeconfig context of the cluster being added locally,
installs the ``argocd-manager`` account there with the user's own credentials, and
sends only the resulting cluster (server, CA, the manager's token) to
``POST /api/v1/clusters``. The token travels in that request body and nowhere else.

Argo CD's API answers with the stored cluster, not with what it did; the CLI tells
``added``/``unchanged``/``updated`` apart by asking without upsert first (the server
refuses a different existing entry with AlreadyExists) and looking for an entry for
the server before.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gitward.apiclient import ApiClient
from gitward.apiclient.errors import AlreadyExists, PermissionDenied
from gitward.cluster.secrets import ClusterSpec

Obj = dict[str, Any]


def cluster_body(spec: ClusterSpec) -> Obj:
    """Argo CD's ``Cluster`` for ``spec``, credentials included (for the request only)."""
    body: Obj = {"server": spec.server, "name": spec.name, "config": spec.config()}
    if spec.namespaces:
        body["namespaces"] = list(spec.namespaces)
    if spec.project:
        body["project"] = spec.project
    return body


def rbac_object(server: str, project: str) -> str:
    """The RBAC object of a cluster, as the server checks it."""
    return f"{project}/{server}" if project else server


async def may_add(client: ApiClient, server: str, project: str) -> None:
    """Refuse before anything is installed in the cluster when the server would refuse it.

    The manager account is created in the target with the caller's own kubeconfig
    credentials; asking ``can-i`` first keeps a caller without ``clusters, create``
    from leaving a ServiceAccount and a cluster-admin binding behind for nothing.
    """
    obj = rbac_object(server, project)
    answer = await client.get(f"/api/v1/account/can-i/clusters/create/{quote(obj, safe='')}")
    if answer.get("value") != "yes":
        raise PermissionDenied(f"permission denied: clusters, create, {obj}", 403)


async def add(client: ApiClient, spec: ClusterSpec, upsert: bool) -> str:
    """Register ``spec``; ``added``, ``unchanged`` or ``updated``."""
    listed = await client.get("/api/v1/clusters", server=spec.server)
    known = any(v.get("secretName") for v in listed.get("items") or [])
    body = cluster_body(spec)
    try:
        await client.post("/api/v1/clusters", body)
    except AlreadyExists:
        if not upsert:
            raise
        await client.post("/api/v1/clusters", body, upsert="true")
        return "updated"
    return "unchanged" if known else "added"


async def remove(client: ApiClient, ident: str) -> str:
    """Remove the cluster with server URL or name ``ident``; its server URL."""
    path = f"/api/v1/clusters/{quote(ident, safe='')}"
    view = await client.get(path)
    await client.delete(path)
    return str(view.get("server") or ident)
