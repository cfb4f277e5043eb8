"""The server's auth against a real control plane: Secrets, ConfigMaps and AppProjects.

Each test gets its own control namespace, so argocd-secret, argocd-cm and
argocd-rbac-cm are fresh; HTTP goes through aiohttp's test server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gitward.cluster import KubeClient
from gitward.server.auth import require
from gitward.server.auth.bootstrap import INITIAL_SECRET, ensure_initial_settings
from gitward.server.auth.loader import PolicyLoader
from gitward.server.auth.middleware import auth_middleware
from gitward.server.auth.routes import add_routes
from gitward.server.auth.service import AuthService, build_auth, install_auth, is_public
from gitward.server.tls import TLS_SECRET, server_ssl_context

PROJECT_API = "argoproj.io/v1alpha1"


async def _probe(request: web.Request) -> web.Response:
    """Stands for an application route: checks RBAC like one."""
    project, name = request.match_info["project"], request.match_info["name"]
    action = request.match_info["action"]
    require(request, "applications", action, f"{project}/{name}")
    return web.json_response({"ok": True})


class Server:
    def __init__(self, svc: AuthService, client: TestClient, loader: PolicyLoader) -> None:
        self.svc, self.http, self.loader = svc, client, loader

    async def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await self.http.request(method, path, json=body, headers=headers)
        text = await resp.text()
        return resp.status, json.loads(text) if text else None

    async def login(self, username: str, password: str) -> str:
        status, body = await self.call(
            "POST", "/api/v1/session", body={"username": username, "password": password}
        )
        assert status == 200, body
        token: str = body["token"]
        return token


async def _secret(kube: KubeClient, name: str, ns: str) -> dict[str, str]:
    obj = await kube.get("v1", "Secret", name, ns)
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


async def _put_cm(kube: KubeClient, ns: str, name: str, data: dict[str, str]) -> None:
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns},
            "data": data,
        },
        force=True,
    )


@pytest.fixture
async def server(installed: KubeClient, namespace: str) -> AsyncIterator[Server]:
    kube = installed
    results = await asyncio.gather(
        ensure_initial_settings(kube, namespace), ensure_initial_settings(kube, namespace)
    )
    assert any(results)
    svc = build_auth(kube, namespace, settings_ttl=0.0)
    loader = PolicyLoader(kube, namespace, svc.enforcer)
    await loader.refresh()
    app = web.Application(middlewares=[auth_middleware(svc.authenticator, is_public)])
    install_auth(app, svc)
    add_routes(app)
    app.router.add_get("/api/v1/probe/{action}/{project}/{name:.+}", _probe)
    async with TestClient(TestServer(app)) as client:
        yield Server(svc, client, loader)


async def _admin(server: Server, kube: KubeClient, ns: str) -> str:
    password = (await _secret(kube, INITIAL_SECRET, ns))["password"]
    return await server.login("admin", password)


async def test_first_start_two_replicas_agree_and_admin_logs_in(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    stored = await _secret(installed, "argocd-secret", namespace)
    assert stored["server.secretkey"]
    assert stored["admin.password"].startswith("$2")
    assert stored["admin.passwordMtime"].endswith("Z")
    password = (await _secret(installed, INITIAL_SECRET, namespace))["password"]
    # the clear password is the one the hash was made of (both replicas agreed on it)
    resp = await server.http.post(
        "/api/v1/session", json={"username": "admin", "password": password}
    )
    assert resp.status == 200
    token = (await resp.json())["token"]
    cookie = resp.headers["Set-Cookie"]
    assert "argocd.token=" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie
    status, info = await server.call("GET", "/api/v1/session/userinfo", token)
    assert (status, info["loggedIn"], info["username"], info["iss"]) == (
        200,
        True,
        "admin",
        "argocd",
    )
    assert await ensure_initial_settings(installed, namespace) is False  # nothing left to do
    status, body = await server.call("GET", "/api/v1/account")
    assert status == 401
    assert body["code"] == 16
    status, body = await server.call(
        "POST", "/api/v1/session", body={"username": "admin", "password": "wrong-password"}
    )
    assert status == 401
    assert "wrong-password" not in json.dumps(body)


async def test_password_change_kills_older_sessions_and_is_audited(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    old_password = (await _secret(installed, INITIAL_SECRET, namespace))["password"]
    old = await server.login("admin", old_password)
    status, _ = await server.call(
        "PUT",
        "/api/v1/account/password",
        old,
        {"currentPassword": "not-it-at-all", "newPassword": "n3w-passw0rd"},
    )
    assert status == 401
    status, _ = await server.call(
        "PUT",
        "/api/v1/account/password",
        old,
        {"currentPassword": old_password, "newPassword": "n3w-passw0rd"},
    )
    assert status == 200
    status, body = await server.call("GET", "/api/v1/account", old)
    assert status == 401
    assert "password has changed" in body["message"]
    new = await server.login("admin", "n3w-passw0rd")
    status, body = await server.call("GET", "/api/v1/account/admin", new)
    assert status == 200
    assert body["name"] == "admin"
    events = await installed.list("v1", "Event", namespace)
    audit = [e for e in events if e["involvedObject"]["name"] == "argocd-secret"]
    assert [e["message"] for e in audit] == ["admin updated the password of account admin"]
    assert "n3w-passw0rd" not in json.dumps(events)


async def test_api_keys_are_recorded_revocable_and_die_with_their_account(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    await _put_cm(installed, namespace, "argocd-cm", {"accounts.ci": "apiKey"})
    await _put_cm(
        installed,
        namespace,
        "argocd-rbac-cm",
        {"policy.csv": "p, ci, applications, get, */*, allow\n"},
    )
    await server.loader.refresh()
    admin = await _admin(server, installed, namespace)
    status, body = await server.call(
        "POST", "/api/v1/account/ci/token", admin, {"id": "deploy-bot", "expiresIn": 3600}
    )
    assert status == 200
    key = body["token"]
    status, body = await server.call(
        "POST", "/api/v1/account/ci/token", admin, {"id": "deploy-bot"}
    )
    assert status == 409
    status, body = await server.call("POST", "/api/v1/account/admin/token", admin, {})
    assert status == 409  # admin has no apiKey capability
    assert "apiKey" in body["message"]
    tokens = json.loads(
        (await _secret(installed, "argocd-secret", namespace))["accounts.ci.tokens"]
    )
    assert [t["id"] for t in tokens] == ["deploy-bot"]
    assert tokens[0]["exp"] - tokens[0]["iat"] == 3600
    status, body = await server.call("GET", "/api/v1/account/can-i/applications/get/p%2Fa", key)
    assert (status, body) == (200, {"value": "yes"})
    status, body = await server.call("GET", "/api/v1/account/can-i/applications/delete/p/a", key)
    assert (status, body) == (200, {"value": "no"})
    status, body = await server.call("GET", "/api/v1/probe/get/p/a", key)
    assert status == 200
    status, body = await server.call("GET", "/api/v1/probe/sync/p/a", key)
    assert status == 403
    assert body["message"] == "permission denied: applications, sync, p/a, sub: ci"
    # an API key may not change passwords, and may not mint keys for others
    status, _ = await server.call(
        "PUT", "/api/v1/account/password", key, {"currentPassword": "x", "newPassword": "y" * 9}
    )
    assert status == 403
    status, _ = await server.call("POST", "/api/v1/account/admin/token", key, {})
    assert status == 403
    # revoked: the jti is no longer recorded
    status, _ = await server.call("DELETE", "/api/v1/account/ci/token/deploy-bot", admin)
    assert status == 200
    status, body = await server.call("GET", "/api/v1/account/ci", key)
    assert status == 401
    assert "does not have token" in body["message"]
    # a key of a disabled account dies too
    status, body = await server.call("POST", "/api/v1/account/ci/token", admin, {"id": "k2"})
    key2 = body["token"]
    assert (await server.call("GET", "/api/v1/account/ci", key2))[0] == 200
    await _put_cm(
        installed, namespace, "argocd-cm", {"accounts.ci": "apiKey", "accounts.ci.enabled": "false"}
    )
    status, body = await server.call("GET", "/api/v1/account/ci", key2)
    assert status == 401
    assert "disabled" in body["message"]
    events = await installed.list("v1", "Event", namespace)
    messages = sorted(e["message"] for e in events)
    assert "admin created token deploy-bot of account ci" in messages
    assert "admin deleted token deploy-bot of account ci" in messages
    assert key not in json.dumps(events)


def _project(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": PROJECT_API,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "roles": [
                {
                    "name": "ci",
                    "policies": [
                        f"p, proj:{name}:ci, applications, get, {name}/*, allow",
                        f"p, proj:{name}:ci, applications, sync, {name}/*, allow",
                    ],
                }
            ],
        },
    }


async def test_project_role_token_is_confined_to_its_project_and_revocable(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    for name in ("team-a", "team-b"):
        await installed.create(_project(name, namespace))
    await server.loader.refresh()
    admin = await _admin(server, installed, namespace)
    status, body = await server.call(
        "POST", "/api/v1/projects/team-a/roles/ci/token", admin, {"id": "pipeline"}
    )
    assert status == 200, body
    token = body["token"]
    status, _ = await server.call("POST", "/api/v1/projects/team-a/roles/nope/token", admin, {})
    assert status == 404
    project = await installed.get(PROJECT_API, "AppProject", "team-a", namespace)
    spec_tokens = project["spec"]["roles"][0]["jwtTokens"]
    assert [t["id"] for t in spec_tokens] == ["pipeline"]
    assert project["status"]["jwtTokensByRole"]["ci"]["items"] == spec_tokens
    assert (await server.call("GET", "/api/v1/probe/sync/team-a/web", token))[0] == 200
    assert (await server.call("GET", "/api/v1/probe/sync/team-b/web", token))[0] == 403
    assert (await server.call("GET", "/api/v1/probe/delete/team-a/web", token))[0] == 403
    assert (await server.call("GET", "/api/v1/probe/get/team-b/ns/web", token))[0] == 403
    status, info = await server.call("GET", "/api/v1/session/userinfo", token)
    assert info["username"] == "proj:team-a:ci"
    # a project token cannot mint more tokens (projects update is not its to do)
    status, _ = await server.call("POST", "/api/v1/projects/team-a/roles/ci/token", token, {})
    assert status == 403
    iat = spec_tokens[0]["iat"]
    status, _ = await server.call(
        "DELETE", f"/api/v1/projects/team-a/roles/ci/token/{iat}?id=pipeline", admin
    )
    assert status == 200
    status, body = await server.call("GET", "/api/v1/probe/get/team-a/web", token)
    assert status == 401
    assert "revoked" in body["message"]
    events = await installed.list("v1", "Event", namespace)
    on_project = [e["message"] for e in events if e["involvedObject"]["kind"] == "AppProject"]
    assert sorted(on_project) == [
        f"admin created token pipeline of role ci (issued at {iat})",
        "admin deleted token pipeline of role ci",
    ]


async def test_role_removed_kills_its_tokens(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    await installed.create(_project("team-a", namespace))
    admin = await _admin(server, installed, namespace)
    status, body = await server.call("POST", "/api/v1/projects/team-a/roles/ci/token", admin, {})
    token = body["token"]
    assert (await server.call("GET", "/api/v1/session/userinfo", token))[1]["loggedIn"]
    obj = await installed.get(PROJECT_API, "AppProject", "team-a", namespace)
    obj["spec"]["roles"] = []
    await installed.replace(obj)
    status, body = await server.call("GET", "/api/v1/probe/get/team-a/web", token)
    assert status == 401


async def test_failed_logins_are_limited_per_user(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    password = (await _secret(installed, INITIAL_SECRET, namespace))["password"]
    for _ in range(5):
        status, _ = await server.call(
            "POST", "/api/v1/session", body={"username": "admin", "password": "guess-guess"}
        )
        assert status == 401
    resp = await server.http.post(
        "/api/v1/session", json={"username": "admin", "password": password}
    )
    assert resp.status == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 300


async def test_readonly_account_changes_nothing(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    import bcrypt

    hashed = bcrypt.hashpw(b"readonly-pass", bcrypt.gensalt(4)).decode()
    await _put_cm(installed, namespace, "argocd-cm", {"accounts.viewer": "login, apiKey"})
    await _put_cm(installed, namespace, "argocd-rbac-cm", {"policy.default": "role:readonly"})
    await server.svc.store.edit_secret(
        lambda d: d.update({"accounts.viewer.password": hashed}) is None
    )
    await installed.create(_project("team-a", namespace))
    await server.loader.refresh()
    viewer = await server.login("viewer", "readonly-pass")
    reads = [
        ("GET", "/api/v1/account"),
        ("GET", "/api/v1/account/admin"),
        ("GET", "/api/v1/probe/get/team-a/web"),
        ("GET", "/api/v1/session/userinfo"),
    ]
    for method, path in reads:
        status, body = await server.call(method, path, viewer)
        assert status == 200, (path, body)
    writes = [
        ("POST", "/api/v1/account/admin/token", {}),
        ("DELETE", "/api/v1/account/admin/token/x", None),
        ("PUT", "/api/v1/account/password", {"name": "admin", "newPassword": "x" * 9}),
        ("POST", "/api/v1/projects/team-a/roles/ci/token", {}),
        ("DELETE", "/api/v1/projects/team-a/roles/ci/token/1", None),
        ("GET", "/api/v1/probe/sync/team-a/web", None),
        ("GET", "/api/v1/probe/delete/team-a/web", None),
    ]  # fmt: skip
    for method, path, body in writes:
        status, answer = await server.call(method, path, viewer, body)
        assert status == 403, (path, answer)
    # but its own keys and password are its own
    status, _ = await server.call("POST", "/api/v1/account/viewer/token", viewer, {})
    assert status == 200


async def test_rbac_policy_reloads_and_a_bad_policy_keeps_the_previous(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    from gitward.server.auth import Principal

    alice = Principal("alice")
    enforcer = server.svc.enforcer
    assert not enforcer.allowed(alice, "clusters", "get", "https://c")
    await _put_cm(installed, namespace, "argocd-rbac-cm", {"policy.csv": "g, alice, role:readonly"})
    assert await server.loader.refresh()
    assert enforcer.allowed(alice, "clusters", "get", "https://c")
    await _put_cm(installed, namespace, "argocd-rbac-cm", {"policy.csv": "g, alice"})
    await server.loader.refresh()
    assert "policy.csv line 1" in server.loader.error
    assert enforcer.allowed(alice, "clusters", "get", "https://c")


async def test_sso_attempts_get_a_clear_answer(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    await _put_cm(
        installed, namespace, "argocd-cm", {"oidc.config": "name: Okta\nissuer: https://okta\n"}
    )
    status, body = await server.call("GET", "/auth/login")
    assert status == 501
    assert "SSO login (Okta) is not supported yet" in body["message"]


async def test_tls_certificate_is_generated_once_and_served(
    installed: KubeClient, namespace: str
) -> None:
    first, second = await asyncio.gather(
        server_ssl_context(installed, namespace, ["gitward-server-0"]),
        server_ssl_context(installed, namespace),
    )
    stored = await _secret(installed, TLS_SECRET, namespace)
    assert stored["tls.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2
    app = web.Application()
    app.router.add_get("/", lambda _r: web.Response(text="ok"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=second)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client_ctx = ssl.create_default_context(cadata=stored["tls.crt"])
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://localhost:{port}/", ssl=client_ctx) as resp:
                assert await resp.text() == "ok"
            old = ssl.create_default_context(cadata=stored["tls.crt"])
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.minimum_version = ssl.TLSVersion.TLSv1
            with pytest.raises(aiohttp.ClientError):
                await session.get(f"https://localhost:{port}/", ssl=old)
    finally:
        await runner.cleanup()


async def test_logs_never_carry_tokens_or_passwords_and_bodies_are_bounded(
    server: Server, installed: KubeClient, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    password = (await _secret(installed, INITIAL_SECRET, namespace))["password"]
    token = await server.login("admin", password)
    await server.call(
        "POST", "/api/v1/session", body={"username": "admin", "password": "s3cr3t-guess"}
    )
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await server.call("GET", "/api/v1/account", forged))[0] == 401
    logged = caplog.text
    assert "admin logged in" in logged
    for secret in (password, "s3cr3t-guess", token, forged, token.split(".")[2]):
        assert secret not in logged
    resp = await server.http.post(
        "/api/v1/session", data=b"{" + b" " * (70 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert resp.status == 413
    status, body = await server.call("POST", "/api/v1/session", body=["admin"])
    assert status == 400
    assert "JSON object" in body["message"]


async def test_api_keys_survive_a_password_change(
    server: Server, installed: KubeClient, namespace: str
) -> None:
    await _put_cm(installed, namespace, "argocd-cm", {"accounts.admin": "apiKey"})
    password = (await _secret(installed, INITIAL_SECRET, namespace))["password"]
    admin = await server.login("admin", password)
    status, body = await server.call("POST", "/api/v1/account/admin/token", admin, {"id": "k"})
    assert status == 200, body
    key = body["token"]
    assert "admin.tokens" in await _secret(installed, "argocd-secret", namespace)
    status, _ = await server.call(
        "PUT",
        "/api/v1/account/password",
        admin,
        {"currentPassword": password, "newPassword": "an0ther-pass"},
    )
    assert status == 200
    assert (await server.call("GET", "/api/v1/account/admin", admin))[0] == 401
    status, body = await server.call("GET", "/api/v1/account/admin", key)
    assert status == 200
    assert [t["id"] for t in body["tokens"]] == ["k"]


async def test_setup_auth_keeps_the_policy_in_step_with_the_cluster(
    installed: KubeClient, namespace: str
) -> None:
    from gitward.server.auth import Principal
    from gitward.server.auth.setup import setup_auth
    from tests.support.poll import eventually

    app = web.Application()
    svc = await setup_auth(app, installed, namespace, poll_interval=0.2)
    app.middlewares.append(auth_middleware(svc.authenticator, is_public))
    add_routes(app)
    bot = Principal("proj:team-a:ci")
    async with TestClient(TestServer(app)) as client:
        status = (await client.get("/api/v1/session/userinfo")).status
        assert status == 200
        await installed.create(_project("team-a", namespace))

        async def granted() -> bool:
            return svc.enforcer.allowed(bot, "applications", "sync", "team-a/web")

        await eventually(granted, "the project's role policy to be loaded", timeout=30)
        obj = await installed.get(PROJECT_API, "AppProject", "team-a", namespace)
        obj["spec"]["roles"][0]["policies"] = []
        await installed.replace(obj)

        async def revoked() -> bool:
            return not svc.enforcer.allowed(bot, "applications", "sync", "team-a/web")

        await eventually(revoked, "the role's policy to be dropped", timeout=30)
        await _put_cm(installed, namespace, "argocd-rbac-cm", {"policy.default": "role:readonly"})

        async def readonly() -> bool:
            return svc.enforcer.allowed(Principal("x"), "clusters", "get", "https://c")

        await eventually(readonly, "policy.default to be loaded", timeout=30)
