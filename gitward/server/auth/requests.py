"""Reading request bodies of the auth routes: bounded, typed, errors naming the field.

Every body is hostile: at most :data:`MAX_BODY` bytes are read, it must be a JSON
object, and each field is checked for its type and length before use; a bad field is
400 with a message naming it, never a 500.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from aiohttp import web

from gitward.server.auth.service import AUTH, AuthService
from gitward.server.errors import ApiError, InvalidArgument, PayloadTooLarge

#: Largest request body these routes read.
MAX_BODY = 64 * 1024
MAX_ID = 253


class Unimplemented(ApiError):
    """501: what Argo CD serves and gitward does not yet (SSO)."""

    status = 501
    code = 12


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body (``{}`` when empty), at most MAX_BODY bytes."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise PayloadTooLarge(f"request body larger than {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"request body larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidArgument("request body: not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidArgument("request body: expected a JSON object")
    return body


def string_field(body: dict[str, Any], key: str, *, max_len: int = 1024) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{key}: expected a string")
    if len(value) > max_len:
        raise InvalidArgument(f"{key}: longer than {max_len} characters")
    return value


def seconds_field(body: dict[str, Any], key: str) -> int:
    """A count of seconds, as a JSON number or Argo CD's int64-as-string."""
    value = body.get(key, 0)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100 * 365 * 86400:
        raise InvalidArgument(f"{key}: expected a number of seconds between 0 and 100 years")
    return value


def service(request: web.Request) -> AuthService:
    """The auth parts stored in the application by ``install_auth``."""
    return request.app[AUTH]


def json_response(body: Any) -> web.Response:
    """A JSON answer (every route answers JSON, errors included)."""
    return web.json_response(body)


def token_id_field(body: dict[str, Any]) -> str:
    """The ``id`` a caller chose for a token (a fresh UUID when none): printable, no spaces."""
    token_id = string_field(body, "id", max_len=MAX_ID) or str(uuid.uuid4())
    if any(c.isspace() or not c.isprintable() for c in token_id):
        raise InvalidArgument("id: must be printable and without spaces")
    return token_id
