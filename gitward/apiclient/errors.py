"""The API's answers other than success, as exceptions a caller can tell apart.

Argo CD's gateway (and gitward's server) answer ``{"error", "code", "message"}``
with a grpc status code; the code decides the class, the HTTP status is the
fallback when a proxy answered instead (HTML, or nothing). A message is cut to a
few hundred characters: it is printed on one line, and a hostile server must not
flood a terminal.
"""

from __future__ import annotations

import json
from typing import ClassVar

from gitward.model.errors import GitwardError

MAX_MESSAGE = 500


class ApiClientError(GitwardError):
    """The server refused or failed a request."""

    code: ClassVar[int] = 13

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class InvalidArgument(ApiClientError):
    code = 3


class NotFound(ApiClientError):
    code = 5


class AlreadyExists(ApiClientError):
    code = 6


class PermissionDenied(ApiClientError):
    code = 7


class FailedPrecondition(ApiClientError):
    code = 9


class Unavailable(ApiClientError):
    code = 14


class Unauthenticated(ApiClientError):
    code = 16


class ServerUnreachable(ApiClientError):
    """No answer at all: connection refused, TLS failure, timeout."""

    code = 14


_BY_CODE: dict[int, type[ApiClientError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        FailedPrecondition,
        Unavailable,
        Unauthenticated,
    )
}
_BY_STATUS: dict[int, type[ApiClientError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: FailedPrecondition,
    503: Unavailable,
}


def _printable(text: str) -> str:
    clean = "".join(c if c.isprintable() else " " for c in text)
    return clean[:MAX_MESSAGE] + ("…" if len(clean) > MAX_MESSAGE else "")


def error_from_answer(status: int, text: str) -> ApiClientError:
    """The error an answer with HTTP ``status`` and body ``text`` stands for."""
    message, code = "", None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        raw_code, raw_message = body.get("code"), body.get("message") or body.get("error")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        if isinstance(raw_message, str):
            message = raw_message
    cls = _BY_CODE.get(code) if code is not None else None
    cls = cls or _BY_STATUS.get(status, ApiClientError)
    message = _printable(message) or f"the server answered HTTP {status}"
    return cls(message, status)
