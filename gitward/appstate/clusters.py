"""Registered clusters: read, find by server URL or name, test, show.

A cluster is a Secret labelled ``argocd.argoproj.io/secret-type: cluster`` in
gitward's namespace; ``https://kubernetes.default.svc`` (where gitward runs) is
listed as ``in-cluster`` even without one. The CLI (``gitward cluster``) and the
REST API (``/api/v1/clusters``) both read them here, so a view never carries a
credential (``hasBearerToken``-style booleans) and a test means the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitward.appstate.repositories import NotRegistered
from gitward.appstate.status import now
from gitward.cluster import (
    IN_CLUSTER_SERVER,
    ClusterSpec,
    KubeClient,
    build_cluster_secret,
    client_for_cluster,
    parse_cluster_secret,
)
from gitward.cluster.secrets import CLUSTER_SECRET_TYPE, SECRET_TYPE_LABEL
from gitward.model.destination import IN_CLUSTER_NAME
from gitward.model.errors import ConfigError, GitwardError

Obj = dict[str, Any]

#: Seconds a connection test (``GET /version``) may take.
TEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Registered:
    """A cluster Secret (or the implicit in-cluster entry), parsed or with its parse error."""

    spec: ClusterSpec
    secret: Obj | None = None
    problem: str = ""


@dataclass(frozen=True)
class ConnectionState:
    status: str  # Successful or Failed
    message: str
    version: str
    attempted_at: str


async def registered(client: KubeClient, namespace: str) -> list[Registered]:
    secrets = await client.list(
        "v1", "Secret", namespace, f"{SECRET_TYPE_LABEL}={CLUSTER_SECRET_TYPE}"
    )
    found: list[Registered] = []
    for secret in secrets:
        try:
            found.append(Registered(parse_cluster_secret(secret), secret))
        except GitwardError as exc:  # one bad Secret must not hide the others
            meta = secret.get("metadata") or {}
            spec = ClusterSpec(server=f"<{meta.get('name')}>", secret_name=str(meta.get("name")))
            found.append(Registered(spec, secret, str(exc)))
    if not any(r.spec.server == IN_CLUSTER_SERVER for r in found):
        found.append(Registered(ClusterSpec(IN_CLUSTER_SERVER, name=IN_CLUSTER_NAME)))
    return sorted(found, key=lambda r: (r.spec.server != IN_CLUSTER_SERVER, r.spec.server))


def find(registered: Sequence[Registered], ident: str, namespace: str) -> Registered:
    """By server URL first (trailing slash ignored), else by name."""
    by_server = [r for r in registered if r.spec.server == ident.rstrip("/")]
    found = by_server or [r for r in registered if r.spec.display_name == ident]
    if not found:
        raise NotRegistered(f"cluster {ident!r} not found in namespace {namespace!r}")
    if len(found) > 1:
        servers = ", ".join(r.spec.server for r in found)
        raise ConfigError(f"cluster name {ident!r} is ambiguous ({servers}): give the server URL")
    return found[0]


async def check_connection(entry: Registered, management: KubeClient) -> ConnectionState:
    """``GET /version`` with the stored credentials: a wrong token answers 401."""
    if entry.problem:
        return ConnectionState("Failed", entry.problem, "", now())
    try:
        if entry.spec.server == IN_CLUSTER_SERVER:
            info = await management.get_path("/version")  # where gitward runs, seen from here
        else:
            async with await client_for_cluster(entry.spec, timeout=TEST_TIMEOUT) as client:
                info = await client.get_path("/version")
    except GitwardError as exc:
        return ConnectionState("Failed", str(exc), "", now())
    version = f"{info.get('major', '')}.{str(info.get('minor', '')).rstrip('+')}".strip(".")
    return ConnectionState("Successful", "", version, now())


async def check_all(entries: Sequence[Registered], management: KubeClient) -> list[ConnectionState]:
    return list(await asyncio.gather(*(check_connection(e, management) for e in entries)))


def cluster_view(entry: Registered, state: ConnectionState) -> Obj:
    """What ``-o json|yaml`` shows: Argo CD's Cluster fields, credentials as booleans."""
    spec = entry.spec
    return {
        "server": spec.server,
        "name": spec.display_name,
        "project": spec.project,
        "namespaces": list(spec.namespaces),
        "config": {
            "hasBearerToken": bool(spec.bearer_token),
            "tlsClientConfig": {
                "insecure": spec.tls.insecure,
                "serverName": spec.tls.server_name,
                "hasCaData": bool(spec.tls.ca_data),
                "hasCertData": bool(spec.tls.cert_data),
                "hasKeyData": bool(spec.tls.key_data),
            },
        },
        "serverVersion": state.version,
        "connectionState": {
            "status": state.status,
            "message": state.message,
            "attemptedAt": state.attempted_at,
        },
        "secretName": spec.secret_name,
    }


def same_secret_data(existing: Obj, new: ClusterSpec, namespace: str) -> bool:
    """Compare as parsed specs, so key order or spacing in ``config`` JSON is no difference."""
    name = str(existing["metadata"]["name"])
    try:
        old = build_cluster_secret(parse_cluster_secret(existing), namespace, name)
    except GitwardError:
        return False
    return bool(old["data"] == build_cluster_secret(new, namespace, name)["data"])
