"""``gitward server --disable-auth``: every caller is ``admin`` and may do everything.

Argo CD's ``--disable-auth`` for a server reachable only by trusted callers
(a local demo, a test, behind an authenticating proxy). Nothing else in the
server changes: routes still call :func:`gitward.server.auth.require`, which
this enforcer always allows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gitward.server.auth import PRINCIPAL_KEY, Principal

ADMIN = Principal("admin")


class AllowAll:
    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        del principal, resource, action, obj
        return True


@web.middleware
async def anonymous_admin(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    request[PRINCIPAL_KEY] = ADMIN
    return await handler(request)
