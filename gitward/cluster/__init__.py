"""Talking to Kubernetes: client, discovery, apply and dry-run, and its own errors.

Objects cross this boundary as plain dicts. This layer knows nothing of git,
rendering, Applications or sync ordering; it imports only :mod:`gitward.model`
and :mod:`gitward._util`.
"""

from gitward.cluster.client import FIELD_MANAGER, KubeClient, describe
from gitward.cluster.discovery import ResourceInfo
from gitward.cluster.errors import (
    ApiError,
    ClusterError,
    ClusterUnreachable,
    Conflict,
    InvalidName,
    NotFound,
    UnknownKind,
)
from gitward.cluster.secrets import (
    ClusterSpec,
    InvalidClusterSecret,
    TLSClientConfig,
    build_cluster_secret,
    client_for_cluster,
    client_for_cluster_secret,
    parse_cluster_secret,
)
from gitward.model.destination import IN_CLUSTER_SERVER

__all__ = [
    "FIELD_MANAGER",
    "IN_CLUSTER_SERVER",
    "ApiError",
    "ClusterError",
    "ClusterSpec",
    "ClusterUnreachable",
    "Conflict",
    "InvalidClusterSecret",
    "InvalidName",
    "KubeClient",
    "NotFound",
    "ResourceInfo",
    "TLSClientConfig",
    "UnknownKind",
    "build_cluster_secret",
    "client_for_cluster",
    "client_for_cluster_secret",
    "describe",
    "parse_cluster_secret",
]
