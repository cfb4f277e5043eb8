"""The auth parts one server holds, built once and stored in the aiohttp application.

``gitward server`` (the application factory) calls :func:`build_auth` and
:func:`install_auth`, mounts :func:`~gitward.server.auth.middleware.auth_middleware`
with :func:`is_public`, adds the routes of :mod:`gitward.server.auth.routes`, and runs
:func:`~gitward.server.auth.loader.run_policy_loader` in the background.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from gitward.cluster import KubeClient
from gitward.server.auth import ENFORCER
from gitward.server.auth.authn import Authenticator, ProjectCache, ProjectLookup
from gitward.server.auth.ratelimit import LoginLimiter
from gitward.server.auth.rbac import RbacEnforcer
from gitward.server.auth.store import SettingsStore


@dataclasses.dataclass
class AuthService:
    client: KubeClient
    namespace: str
    store: SettingsStore
    authenticator: Authenticator
    limiter: LoginLimiter
    enforcer: RbacEnforcer
    #: Served over plain HTTP behind a proxy: the session cookie is not marked Secure.
    insecure: bool = False
    #: Dropped after a project's tokens change (None when lookups are the server's own).
    project_cache: ProjectCache | None = None


AUTH: web.AppKey[AuthService] = web.AppKey("gitward.server.auth", AuthService)

#: Paths served without a token (a token, when sent, is still read).
PUBLIC_PATHS = frozenset(
    {
        "/api/v1/session",
        "/api/v1/session/userinfo",
        "/api/version",
        "/api/v1/settings",
        "/api/openapi.json",
        "/api/webhook",
        "/auth/login",
        "/auth/callback",
        "/healthz",
    }
)


def is_public(request: web.Request) -> bool:
    """Whether ``request`` may be served without a token: login, version, settings, the UI.

    Everything under ``/api/`` needs a token except the paths above (login is only
    ``POST /api/v1/session``; logging out needs the session it ends).
    """
    path = request.path
    if path == "/api/v1/session":
        return request.method == "POST"
    if path in PUBLIC_PATHS or path.startswith("/swagger-ui"):
        return True
    return not (path.startswith("/api/") or path == "/api")


def build_auth(
    client: KubeClient,
    namespace: str,
    *,
    insecure: bool = False,
    projects: ProjectLookup | None = None,
    settings_ttl: float = 2.0,
) -> AuthService:
    """The auth parts for the control namespace ``namespace``.

    ``projects`` looks AppProjects up by name for project role tokens; by default they
    are read from the cluster with a short cache. Pass the server's informer instead.
    """
    store = SettingsStore(client, namespace, ttl=settings_ttl)
    cache = None
    if projects is None:
        cache = ProjectCache(client, namespace, ttl=settings_ttl)
        projects = cache
    return AuthService(
        client=client,
        namespace=namespace,
        store=store,
        authenticator=Authenticator(store, projects),
        limiter=LoginLimiter(),
        enforcer=RbacEnforcer(),
        insecure=insecure,
        project_cache=cache,
    )


def install_auth(app: web.Application, service: AuthService) -> None:
    """Store ``service`` and its enforcer in ``app`` (under AUTH and ENFORCER)."""
    app[AUTH] = service
    app[ENFORCER] = service.enforcer
