"""JWT issue/verify, the login limiter, and the middleware's answers."""

from __future__ import annotations

import time

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.server.auth import PRINCIPAL_KEY, Principal
from gitward.server.auth.middleware import auth_middleware
from gitward.server.auth.ratelimit import LoginLimiter, LoginThrottled
from gitward.server.auth.tokens import issue, token_from_headers, verify
from gitward.server.errors import Unauthenticated

KEY = b"0123456789abcdef0123456789abcdef"


def test_login_token_claims() -> None:
    token, claims = issue(KEY, "alice:login", expires_in=3600, precise=True)
    raw = jwt.decode(token, KEY, algorithms=["HS256"], issuer="argocd")
    assert raw["sub"] == "alice:login"
    assert raw["iss"] == "argocd"
    assert raw["jti"]
    assert raw["exp"] - int(raw["iat"]) in (3599, 3600)
    assert raw["nbf"] == raw["iat"]
    back = verify(KEY, token)
    assert back.kind == "login"
    assert back.account == "alice"
    assert back.issued_at == claims.issued_at


def test_api_key_and_project_token_kinds() -> None:
    key_token, _ = issue(KEY, "ci:apiKey", token_id="k1")
    assert verify(KEY, key_token).kind == "apiKey"
    assert verify(KEY, key_token).token_id == "k1"
    proj, _ = issue(KEY, "proj:team-a:ci")
    assert verify(KEY, proj).project_role() == ("team-a", "ci")
    assert "exp" not in jwt.decode(proj, KEY, algorithms=["HS256"], issuer="argocd")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (issue(b"another-key-another-key-another!", "admin:login")[0], "InvalidSignatureError"),
        (issue(KEY, "admin:login", expires_in=10, now=time.time() - 100)[0], "expired"),
        (jwt.encode({"sub": "admin", "iat": 1, "iss": "dex"}, KEY, algorithm="HS256"), "Issuer"),
        (
            jwt.encode({"sub": "admin", "iat": 1, "iss": "argocd"}, KEY, algorithm="HS512"),
            "Algorithm",
        ),
        (jwt.encode({"iat": 1, "iss": "argocd"}, KEY, algorithm="HS256"), "MissingRequiredClaim"),
        ("not.a.token", "DecodeError"),
        ("x" * 9000, "too long"),
    ],
)
def test_bad_tokens_are_refused_without_echoing_them(token: str, reason: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        verify(KEY, token)
    assert reason in str(info.value)
    assert token not in str(info.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_verify_never_raises_anything_but_unauthenticated(text: str) -> None:
    with pytest.raises(Unauthenticated):
        verify(KEY, text)


def test_token_from_headers() -> None:
    assert token_from_headers("Bearer abc", "cookie") == "abc"
    assert token_from_headers("Basic abc", "cookie") == "cookie"
    assert token_from_headers(None, None) is None


def test_limiter_refuses_after_five_failures_then_forgives() -> None:
    now = [1000.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for _ in range(5):
        limiter.check("admin", "10.0.0.1")
        limiter.failed("admin", "10.0.0.1")
    with pytest.raises(LoginThrottled) as info:
        limiter.check("admin", "10.0.0.2")  # per username, whatever the address
    assert info.value.retry_after == 300
    with pytest.raises(LoginThrottled):
        limiter.check("bob", "10.0.0.1")  # per address, whatever the username
    limiter.check("bob", "10.0.0.3")
    now[0] += 301
    limiter.check("admin", "10.0.0.1")


def test_limiter_memory_is_bounded_under_a_flood_of_usernames() -> None:
    limiter = LoginLimiter(max_keys=100)
    for i in range(10_000):
        limiter.failed(f"user-{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(limiter) <= 200


class _Tokens:
    async def authenticate(self, token: str) -> Principal:
        if token != "good":
            raise Unauthenticated("invalid session: bad")
        return Principal("alice")


async def test_middleware_sets_principal_and_refuses_without_token() -> None:
    async def handler(request: web.Request) -> web.Response:
        principal = request.get(PRINCIPAL_KEY)
        return web.json_response({"who": principal.subject if principal else None})

    app = web.Application(
        middlewares=[auth_middleware(_Tokens(), lambda r: r.path.startswith("/public"))]
    )
    app.router.add_get("/api/x", handler)
    app.router.add_get("/public", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/api/x")
        assert resp.status == 401
        assert (await resp.json())["code"] == 16
        resp = await client.get("/api/x", headers={"Authorization": "Bearer bad"})
        assert resp.status == 401
        resp = await client.get("/api/x", headers={"Authorization": "Bearer good"})
        assert (await resp.json()) == {"who": "alice"}
        resp = await client.get("/api/x", cookies={"argocd.token": "good"})
        assert (await resp.json()) == {"who": "alice"}
        resp = await client.get("/public", headers={"Authorization": "Bearer bad"})
        assert (await resp.json()) == {"who": None}
