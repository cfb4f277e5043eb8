"""A client of gitward's (and Argo CD's) REST API, and the CLI's login configuration.

Layer: beside ``cluster`` — it speaks HTTP to an API server and knows nothing of
the packages above. The CLI uses it when a context is logged in or ``--server`` is
given; every answer other than success becomes one of the typed errors in
:mod:`gitward.apiclient.errors`, read from Argo CD's ``{"error","code","message"}``.
"""

from gitward.apiclient.client import ApiClient, server_url
from gitward.apiclient.config import ClientConfig, Context, config_path, load_config, save_config
from gitward.apiclient.errors import (
    AlreadyExists,
    ApiClientError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    Unauthenticated,
    Unavailable,
    error_from_answer,
)

__all__ = [
    "AlreadyExists",
    "ApiClient",
    "ApiClientError",
    "ClientConfig",
    "Context",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ServerUnreachable",
    "Unauthenticated",
    "Unavailable",
    "config_path",
    "error_from_answer",
    "load_config",
    "save_config",
    "server_url",
]
