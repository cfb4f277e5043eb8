"""Project role token routes: issue and revoke ``proj:PROJECT:ROLE`` tokens.

``POST /api/v1/projects/{project}/roles/{role}/token`` and
``DELETE /api/v1/projects/{project}/roles/{role}/token/{iat}`` (``?id=`` when the token
has one), both needing ``projects update PROJECT`` as in Argo CD. The token is recorded
in the AppProject (see :mod:`gitward.server.auth.project_tokens`) and each change leaves
an audit Event on the AppProject.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gitward.server.audit import audit
from gitward.server.auth import require
from gitward.server.auth.project_tokens import ensure_role, record_token, revoke_token
from gitward.server.auth.requests import (
    MAX_ID,
    json_response,
    read_json,
    seconds_field,
    service,
    token_id_field,
)
from gitward.server.auth.tokens import issue
from gitward.server.errors import InvalidArgument, NotFoundError


async def create_project_token(request: web.Request) -> web.Response:
    svc = service(request)
    project, role = request.match_info["project"], request.match_info["role"]
    principal = require(request, "projects", "update", project)
    body = await read_json(request)
    expires_in, token_id = seconds_field(body, "expiresIn"), token_id_field(body)
    obj = await ensure_role(svc.client, svc.namespace, project, role)
    key = await svc.authenticator.signing_key()
    token, claims = issue(key, f"proj:{project}:{role}", expires_in=expires_in, token_id=token_id)
    record: dict[str, Any] = {"iat": int(claims.issued_at), "id": token_id}
    if claims.expires_at:
        record["exp"] = claims.expires_at
    await record_token(svc.client, svc.namespace, project, role, record)
    if svc.project_cache is not None:
        svc.project_cache.invalidate(project)
    await audit(
        svc.client, obj, principal, "ResourceUpdated",
        f"created token {token_id} of role {role} (issued at {int(claims.issued_at)})",
    )  # fmt: skip
    return json_response({"token": token})


async def delete_project_token(request: web.Request) -> web.Response:
    svc = service(request)
    project, role = request.match_info["project"], request.match_info["role"]
    principal = require(request, "projects", "update", project)
    try:
        iat = int(request.match_info["iat"])
    except ValueError:
        raise InvalidArgument("iat: expected the token's issue time in seconds") from None
    token_id = request.query.get("id", "")[:MAX_ID]
    obj = await ensure_role(svc.client, svc.namespace, project, role)
    if not await revoke_token(svc.client, svc.namespace, project, role, iat, token_id):
        raise NotFoundError(f"role '{role}' of project '{project}' has no such token")
    if svc.project_cache is not None:
        svc.project_cache.invalidate(project)
    await audit(
        svc.client, obj, principal, "ResourceUpdated",
        f"deleted token {token_id or iat} of role {role}",
    )  # fmt: skip
    return json_response({})
