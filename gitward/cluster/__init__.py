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
    NotFound,
    UnknownKind,
)

__all__ = [
    "FIELD_MANAGER",
    "ApiError",
    "ClusterError",
    "ClusterUnreachable",
    "Conflict",
    "KubeClient",
    "NotFound",
    "ResourceInfo",
    "UnknownKind",
    "describe",
]
