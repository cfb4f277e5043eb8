"""The aiohttp middleware that authenticates every request.

It reads the token from ``Authorization: Bearer`` or the ``argocd.token`` cookie,
turns it into a :class:`~gitward.server.auth.Principal` stored in
``request["principal"]``, and answers 401 in Argo CD's error shape when a non-public
path has no valid token. A public path (login, version, the UI's files) is served
without one, but still gets a principal when a valid token is sent, so ``userinfo``
can say who is logged in.

Any :class:`~gitward.server.errors.ApiError` a handler raises becomes its
``response()``. Tokens and passwords are never logged: the log line of a refusal
names the path and the reason only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from gitward.server.auth import PRINCIPAL_KEY, Principal
from gitward.server.auth.tokens import token_from_headers
from gitward.server.errors import ApiError, Unauthenticated

log = logging.getLogger(__name__)
COOKIE = "argocd.token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenAuthenticator(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


def auth_middleware(
    authenticator: TokenAuthenticator, public: Callable[[web.Request], bool]
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware authenticating with ``authenticator``; ``public`` paths need no token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        is_public = public(request)
        try:
            token = token_from_headers(
                request.headers.get("Authorization"), request.cookies.get(COOKIE)
            )
            if token is not None:
                try:
                    request[PRINCIPAL_KEY] = await authenticator.authenticate(token)
                except Unauthenticated as exc:
                    if not is_public:
                        log.info("refused %s %s: %s", request.method, request.path, exc)
                        raise
            elif not is_public:
                raise Unauthenticated("no session information")
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    return middleware
