"""Session, account and project role token routes, shaped like Argo CD's REST API.

- ``POST /api/v1/session`` ``{"username", "password"}`` → ``{"token"}`` and the
  ``argocd.token`` cookie; ``DELETE /api/v1/session``; ``GET /api/v1/session/userinfo``.
- ``GET /api/v1/account``, ``GET /api/v1/account/{name}``,
  ``GET /api/v1/account/can-i/{resource}/{action}/{subresource}``,
  ``PUT /api/v1/account/password``, ``POST /api/v1/account/{name}/token``,
  ``DELETE /api/v1/account/{name}/token/{id}``.
- ``POST /api/v1/projects/{project}/roles/{role}/token``,
  ``DELETE /api/v1/projects/{project}/roles/{role}/token/{iat}``
  (handlers in :mod:`gitward.server.auth.project_routes`).
- ``GET /auth/login``: SSO, answered "not supported yet".

Access is checked as Argo CD checks it: an account may always read and change itself
(its password, its API keys); anyone else needs ``accounts get|update NAME``; project
tokens need ``projects update PROJECT``. Every change leaves an audit Event (on
``argocd-secret`` for accounts, on the AppProject for its tokens) that names who and
what, never a token or password.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from gitward.server.audit import audit
from gitward.server.auth import PRINCIPAL_KEY, Principal, allowed, principal_of, require
from gitward.server.auth.accounts import (
    API_KEY,
    SECRET_NAME,
    Account,
    TokenRecord,
    account_secret_keys,
    format_mtime,
    parse_tokens,
)
from gitward.server.auth.middleware import COOKIE
from gitward.server.auth.passwords import check_new_password, hash_password, password_matches
from gitward.server.auth.project_routes import create_project_token, delete_project_token
from gitward.server.auth.requests import (
    Unimplemented,
    json_response,
    read_json,
    seconds_field,
    service,
    string_field,
    token_id_field,
)
from gitward.server.auth.service import AuthService
from gitward.server.auth.tokens import ISSUER, issue
from gitward.server.errors import (
    AlreadyExists,
    ApiError,
    FailedPrecondition,
    InvalidArgument,
    NotFoundError,
    PermissionDenied,
    Unauthenticated,
)

log = logging.getLogger(__name__)
RESOURCES = (
    "applications", "applicationsets", "projects", "repositories", "write-repositories",
    "clusters", "accounts", "certificates", "gpgkeys", "logs", "exec", "extensions",
)  # fmt: skip
ACTIONS = ("get", "create", "update", "delete", "sync", "override", "rollback", "invoke", "debug")


# -- sessions ------------------------------------------------------------------------------


async def create_session(request: web.Request) -> web.Response:
    svc = service(request)
    body = await read_json(request)
    username, password = string_field(body, "username", max_len=253), string_field(body, "password")
    settings = await svc.store.settings()
    if not username and not password:
        raise _sso_error(settings.oidc.name if settings.oidc else "")
    address = request.remote or "unknown"
    svc.limiter.check(username, address)
    try:
        token, _claims, _account = await svc.authenticator.login(username, password)
    except Unauthenticated:
        svc.limiter.failed(username, address)
        log.info("failed login for %r from %s", username[:64], address)
        raise
    svc.limiter.succeeded(username)
    log.info("%s logged in from %s", username, address)
    resp = json_response({"token": token})
    resp.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.session_duration),
        path="/",
        httponly=True,
        secure=not svc.insecure,
        samesite="Lax",
    )
    return resp


def _sso_error(name: str) -> ApiError:
    if name:
        return Unimplemented(
            f"SSO login ({name}) is not supported yet; log in with a local account "
            "(username and password)"
        )
    return InvalidArgument("username and password are required (SSO is not configured)")


async def sso_login(request: web.Request) -> web.Response:
    settings = await service(request).store.settings()
    raise _sso_error(settings.oidc.name if settings.oidc else "")


async def delete_session(request: web.Request) -> web.Response:
    principal_of(request)
    resp = json_response({})
    resp.del_cookie(COOKIE, path="/")
    return resp


async def userinfo(request: web.Request) -> web.Response:
    principal = request.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        return json_response({"loggedIn": False})
    return json_response(
        {
            "loggedIn": True,
            "username": principal.subject,
            "iss": ISSUER,
            "groups": list(principal.groups),
        }
    )


# -- accounts ------------------------------------------------------------------------------


def _account_json(account: Account) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": account.name,
        "enabled": account.enabled,
        "capabilities": list(account.capabilities),
    }
    if account.tokens:
        out["tokens"] = [
            {"id": t.id, "issuedAt": str(t.issued_at), "expiresAt": str(t.expires_at)}
            for t in account.tokens
        ]
    return out


def _is_self(principal: Principal, name: str) -> bool:
    """An account acting on itself (a project token is never an account)."""
    return principal.subject == name and not principal.subject.startswith("proj:")


def _ensure_account_permission(request: web.Request, action: str, name: str) -> Principal:
    principal = principal_of(request)
    if _is_self(principal, name):
        return principal
    return require(request, "accounts", action, name)


async def _account(svc: AuthService, name: str) -> Account:
    account = (await svc.store.settings()).accounts.get(name)
    if account is None:
        raise NotFoundError(f"account '{name}' does not exist")
    return account


async def list_accounts(request: web.Request) -> web.Response:
    principal_of(request)
    accounts = (await service(request).store.settings()).accounts
    items = [
        _account_json(a)
        for name, a in sorted(accounts.items())
        if _is_self(principal_of(request), name) or allowed(request, "accounts", "get", name)
    ]
    return json_response({"items": items})


async def get_account(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    _ensure_account_permission(request, "get", name)
    return json_response(_account_json(await _account(service(request), name)))


async def can_i(request: web.Request) -> web.Response:
    resource, action = request.match_info["resource"], request.match_info["action"]
    subresource = request.match_info["subresource"]
    if resource not in RESOURCES:
        raise InvalidArgument(f"resource: {resource!r} is not one of {', '.join(RESOURCES)}")
    base = action.split("/", 1)[0]
    if base not in ACTIONS and base != "action":
        raise InvalidArgument(f"action: {action!r} is not one of {', '.join(ACTIONS)}, action/*")
    ok = allowed(request, resource, action, subresource)
    return json_response({"value": "yes" if ok else "no"})


async def update_password(request: web.Request) -> web.Response:
    svc = service(request)
    principal = principal_of(request)
    body = await read_json(request)
    current, new = string_field(body, "currentPassword"), string_field(body, "newPassword")
    name = string_field(body, "name", max_len=253) or principal.subject
    if principal.subject.startswith("proj:") or principal.token_id:
        raise PermissionDenied("password can only be changed with a login session of an account")
    if name != principal.subject:
        require(request, "accounts", "update", name)
    target = await _account(svc, name)
    check_new_password(new)
    caller = (await svc.store.settings()).accounts.get(principal.subject)
    address = request.remote or "unknown"
    svc.limiter.check(principal.subject, address)
    if caller is None or not await password_matches(current, caller.password_hash):
        svc.limiter.failed(principal.subject, address)
        raise Unauthenticated("currentPassword: current password does not match")
    svc.limiter.succeeded(principal.subject)
    hashed = hash_password(new)
    hash_key, mtime_key, _ = account_secret_keys(target.name)
    mtime = format_mtime(time.time())

    def change(data: dict[str, str]) -> bool:
        data[hash_key] = hashed
        data[mtime_key] = mtime
        return True

    await svc.store.edit_secret(change)
    await _audit_secret(svc, principal, "AccountUpdated", f"updated the password of account {name}")
    return json_response({})


async def _audit_secret(svc: AuthService, principal: Principal, reason: str, message: str) -> None:
    involved = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET_NAME, "namespace": svc.namespace},
    }
    await audit(svc.client, involved, principal, reason, message)


async def create_account_token(request: web.Request) -> web.Response:
    svc = service(request)
    name = request.match_info["name"]
    principal = _ensure_account_permission(request, "update", name)
    body = await read_json(request)
    expires_in, token_id = seconds_field(body, "expiresIn"), token_id_field(body)
    account = await _account(svc, name)
    if not account.can(API_KEY):
        raise FailedPrecondition(f"account '{name}' does not have apiKey capability")
    if account.token(token_id) is not None:
        raise AlreadyExists(f"account already has token with id '{token_id}'")
    key = await svc.authenticator.signing_key()
    token, claims = issue(key, f"{name}:{API_KEY}", expires_in=expires_in, token_id=token_id)
    record = TokenRecord(token_id, int(claims.issued_at), claims.expires_at)
    _, _, tokens_key = account_secret_keys(name)

    def add(data: dict[str, str]) -> bool:
        tokens = list(parse_tokens(data.get(tokens_key, ""), tokens_key))
        if any(t.id == token_id for t in tokens):
            raise AlreadyExists(f"account already has token with id '{token_id}'")
        data[tokens_key] = json.dumps([t.to_json() for t in [*tokens, record]])
        return True

    await svc.store.edit_secret(add)
    await _audit_secret(
        svc, principal, "TokenCreated", f"created token {token_id} of account {name}"
    )
    return json_response({"token": token})


async def delete_account_token(request: web.Request) -> web.Response:
    svc = service(request)
    name, token_id = request.match_info["name"], request.match_info["id"]
    principal = _ensure_account_permission(request, "update", name)
    await _account(svc, name)
    _, _, tokens_key = account_secret_keys(name)

    def remove(data: dict[str, str]) -> bool:
        tokens = parse_tokens(data.get(tokens_key, ""), tokens_key)
        kept = [t for t in tokens if t.id != token_id]
        if len(kept) == len(tokens):
            return False
        data[tokens_key] = json.dumps([t.to_json() for t in kept])
        return True

    if not await svc.store.edit_secret(remove):
        raise NotFoundError(f"account '{name}' does not have token with id '{token_id}'")
    await _audit_secret(
        svc, principal, "TokenDeleted", f"deleted token {token_id} of account {name}"
    )
    return json_response({})


def add_routes(app: web.Application) -> None:
    """Mount the session, account and project-token routes (needs AUTH and ENFORCER)."""
    app.router.add_post("/api/v1/session", create_session)
    app.router.add_delete("/api/v1/session", delete_session)
    app.router.add_get("/api/v1/session/userinfo", userinfo)
    app.router.add_get("/auth/login", sso_login)
    app.router.add_get("/api/v1/account", list_accounts)
    app.router.add_get("/api/v1/account/can-i/{resource}/{action}/{subresource:.+}", can_i)
    app.router.add_put("/api/v1/account/password", update_password)
    app.router.add_get("/api/v1/account/{name}", get_account)
    app.router.add_post("/api/v1/account/{name}/token", create_account_token)
    app.router.add_delete("/api/v1/account/{name}/token/{id}", delete_account_token)
    app.router.add_post("/api/v1/projects/{project}/roles/{role}/token", create_project_token)
    app.router.add_delete(
        "/api/v1/projects/{project}/roles/{role}/token/{iat}", delete_project_token
    )
