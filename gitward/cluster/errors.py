"""The cluster layer's own error tree.

An :class:`ApiError` carries the API server's own ``Status`` (code, reason,
message), so callers report what the server decided — a validation message, a
field-manager conflict — rather than a paraphrase.
"""

from __future__ import annotations

from typing import Any

from gitward.model.errors import ConfigError, GitwardError


class ClusterError(GitwardError):
    """Talking to a Kubernetes cluster failed."""


class InvalidName(ConfigError):
    """A name or namespace that cannot be one path segment of an API URL.

    Names reach the client from Application fields, API requests and files in Git;
    ``..`` or ``a/b`` would address another resource than the one named.
    """


class ClusterUnreachable(ClusterError):
    """The API server could not be reached (connection refused, TLS failure, timeout)."""


class ApiError(ClusterError):
    """The API server answered with an error status."""

    def __init__(self, status: int, body: dict[str, Any] | str, what: str) -> None:
        self.status = status
        self.body = body
        if isinstance(body, dict):
            self.reason = str(body.get("reason", ""))
            detail = str(body.get("message", "")) or self.reason
        else:
            self.reason = ""
            detail = body.strip()[:500]
        super().__init__(f"{what}: HTTP {status}: {detail}")


class NotFound(ApiError):
    """HTTP 404: the object, or its kind, does not exist."""


class Conflict(ApiError):
    """HTTP 409: an apply conflict with another field manager, or a stale resourceVersion."""


class UnknownKind(ClusterError):
    """The cluster serves no resource for this apiVersion and kind."""


def api_error(status: int, body: dict[str, Any] | str, what: str) -> ApiError:
    """The most specific :class:`ApiError` for an HTTP status."""
    if status == 404:
        return NotFound(status, body, what)
    if status == 409:
        return Conflict(status, body, what)
    return ApiError(status, body, what)
