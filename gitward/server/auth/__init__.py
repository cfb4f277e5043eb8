"""Who is calling and what they may do: the seam every API route goes through.

A route never decides access itself: it calls :func:`require` with Argo CD's
RBAC resource, action and object (``applications``, ``sync``, ``team-a/web``).
The middleware that authenticates a request stores its :class:`Principal` in
``request["principal"]``; the enforcer stored in the aiohttp app under
:data:`ENFORCER` answers.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from aiohttp import web

from gitward.server.errors import PermissionDenied, Unauthenticated


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``subject`` is what RBAC policies name: a local account (``admin``), or a
    project role (``proj:team-a:ci``). ``groups`` are the policy subjects the
    caller also holds (SSO groups; none for local accounts and project role
    tokens: a role's ``groups`` are the groups *granted* the role, not held by
    its tokens).
    """

    subject: str
    groups: tuple[str, ...] = ()
    #: The token's ``jti`` (API keys and project role tokens), None for sessions.
    token_id: str | None = None
    #: Seconds since the epoch at which the token was issued.
    issued_at: float = 0.0


class Enforcer(Protocol):
    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool: ...


ENFORCER: web.AppKey[Enforcer] = web.AppKey("gitward.enforcer")
PRINCIPAL_KEY = "principal"


def principal_of(request: web.Request) -> Principal:
    principal = request.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise Unauthenticated("no session information")
    return principal


def allowed(request: web.Request, resource: str, action: str, obj: str) -> bool:
    return request.app[ENFORCER].allowed(principal_of(request), resource, action, obj)


def require(request: web.Request, resource: str, action: str, obj: str) -> Principal:
    """The caller, if RBAC lets them do ``action`` on ``resource`` ``obj``; else 403."""
    principal = principal_of(request)
    if not request.app[ENFORCER].allowed(principal, resource, action, obj):
        raise PermissionDenied(
            f"permission denied: {resource}, {action}, {obj}, sub: {principal.subject}"
        )
    return principal


__all__ = [
    "ENFORCER",
    "PRINCIPAL_KEY",
    "Enforcer",
    "Principal",
    "allowed",
    "principal_of",
    "require",
]
