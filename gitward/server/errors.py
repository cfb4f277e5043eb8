"""Errors the REST API answers with, in Argo CD's gateway shape.

Argo CD's grpc-gateway answers ``{"error": msg, "code": grpc_code, "message": msg}``
with the HTTP status that grpc code maps to; scripts written against it read
``code`` and ``message``, so every API error here carries both.
"""

from __future__ import annotations

import json
from typing import ClassVar

from aiohttp import web

from gitward.model.errors import GitwardError


class ApiError(GitwardError):
    """An answer other than success, with its HTTP status and grpc code."""

    status: ClassVar[int] = 500
    code: ClassVar[int] = 13  # grpc Internal

    def response(self) -> web.Response:
        message = str(self)
        body = {"error": message, "code": self.code, "message": message}
        return web.Response(
            status=self.status, text=json.dumps(body), content_type="application/json"
        )


class InvalidArgument(ApiError):
    status = 400
    code = 3


class Unauthenticated(ApiError):
    status = 401
    code = 16


class PermissionDenied(ApiError):
    status = 403
    code = 7


class NotFoundError(ApiError):
    status = 404
    code = 5


class AlreadyExists(ApiError):
    status = 409
    code = 6


class FailedPrecondition(ApiError):
    status = 409
    code = 9


class PayloadTooLarge(ApiError):
    status = 413
    code = 8  # ResourceExhausted


class TooManyRequests(ApiError):
    status = 429
    code = 8


class Unavailable(ApiError):
    status = 503
    code = 14
