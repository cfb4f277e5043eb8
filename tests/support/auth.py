"""An authenticating API app for route tests, and tokens of accounts with chosen policies.

Route modules test that every route refuses a caller without the right policy::

    app = web.Application()
    svc = await auth_app(
        app, kube, namespace, rbac={"policy.csv": "g, viewer, role:readonly"},
        accounts={"viewer": "login"},
    )
    add_my_routes(app)
    viewer = await login_token(svc, "viewer")
    admin = await admin_token(svc, kube, namespace)

Everything is real: the accounts and policy are written to the namespace's
``argocd-cm``, ``argocd-secret`` and ``argocd-rbac-cm``, and tokens come from a real login.
"""

from __future__ import annotations

import base64

import bcrypt
from aiohttp import web

from gitward.cluster import KubeClient
from gitward.server.auth.bootstrap import INITIAL_SECRET
from gitward.server.auth.middleware import auth_middleware
from gitward.server.auth.routes import add_routes
from gitward.server.auth.service import AuthService, is_public
from gitward.server.auth.setup import POLICY_LOADER, setup_auth

TEST_PASSWORD = "test-passw0rd"


async def _apply_cm(kube: KubeClient, namespace: str, name: str, data: dict[str, str]) -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }
    await kube.apply(obj, force=True)


async def auth_app(
    app: web.Application,
    kube: KubeClient,
    namespace: str,
    *,
    rbac: dict[str, str] | None = None,
    accounts: dict[str, str] | None = None,
) -> AuthService:
    """Ready ``app``'s auth (middleware, session/account routes) on ``namespace``.

    ``rbac`` is ``argocd-rbac-cm``'s data; ``accounts`` maps account names to their
    capabilities (``login``, ``apiKey``) in ``argocd-cm``; each gets :data:`TEST_PASSWORD`.
    """
    if accounts:
        await _apply_cm(
            kube, namespace, "argocd-cm", {f"accounts.{n}": c for n, c in accounts.items()}
        )
    if rbac is not None:
        await _apply_cm(kube, namespace, "argocd-rbac-cm", rbac)
    svc = await setup_auth(app, kube, namespace, poll_interval=0.5)
    svc.store.ttl = 0.0
    hashed = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(4)).decode()

    def passwords(data: dict[str, str]) -> bool:
        for name in accounts or {}:
            data[f"accounts.{name}.password"] = hashed
        return bool(accounts)

    await svc.store.edit_secret(passwords)
    await app[POLICY_LOADER].refresh()
    app.middlewares.append(auth_middleware(svc.authenticator, is_public))
    add_routes(app)
    return svc


async def login_token(svc: AuthService, name: str, password: str = TEST_PASSWORD) -> str:
    """A login session of account ``name`` (from a real password check)."""
    token, _claims, _account = await svc.authenticator.login(name, password)
    return token


async def admin_token(svc: AuthService, kube: KubeClient, namespace: str) -> str:
    """A login session of ``admin`` with the generated initial password."""
    secret = await kube.get("v1", "Secret", INITIAL_SECRET, namespace)
    password = base64.b64decode(secret["data"]["password"]).decode()
    return await login_token(svc, "admin", password)
