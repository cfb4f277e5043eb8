"""One call that readies a server's auth: first-start secrets, the parts, the policy loop.

The application factory of ``gitward server`` does, in this order::

    svc = await setup_auth(app, ctx.client, ctx.namespace, insecure=insecure)
    app.middlewares.append(auth_middleware(svc.authenticator, is_public))
    auth.routes.add_routes(app)

(the middleware goes after any middleware that must see every request unauthenticated,
such as request logging). The policy loop starts and stops with the application.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from gitward.cluster import KubeClient
from gitward.server.auth.authn import ProjectLookup
from gitward.server.auth.bootstrap import ensure_initial_settings
from gitward.server.auth.loader import PolicyLoader
from gitward.server.auth.service import AuthService, build_auth, install_auth

POLICY_LOADER: web.AppKey[PolicyLoader] = web.AppKey("gitward.server.auth.loader", PolicyLoader)


async def setup_auth(
    app: web.Application,
    client: KubeClient,
    namespace: str,
    *,
    insecure: bool = False,
    projects: ProjectLookup | None = None,
    with_projects: bool = True,
    poll_interval: float = 2.0,
) -> AuthService:
    """Bootstrap the secrets, build and install the auth parts, load the policy once.

    ``with_projects=False`` when the server feeds ``svc.enforcer.set_projects`` from its
    own AppProject informer (then pass ``projects`` too, to look projects up by name).
    """
    await ensure_initial_settings(client, namespace)
    svc = build_auth(client, namespace, insecure=insecure, projects=projects)
    install_auth(app, svc)
    loader = PolicyLoader(client, namespace, svc.enforcer, with_projects=with_projects)
    await loader.refresh()
    app[POLICY_LOADER] = loader

    async def policy_loop(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(loader.run(poll_interval))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(policy_loop)
    return svc
