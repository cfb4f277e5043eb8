"""The API client against a real HTTPS server on loopback: certificates, errors, redirects."""

from __future__ import annotations

import pytest
from aiohttp import web

from gitward.apiclient import ApiClient, ApiClientError, PermissionDenied, ServerUnreachable
from gitward.server.tls import context_from_pem, self_signed


async def _whoami(request: web.Request) -> web.Response:
    return web.json_response({"auth": request.headers.get("Authorization", "")})


async def _denied(_request: web.Request) -> web.Response:
    body = {"error": "permission denied", "code": 7, "message": "permission denied"}
    return web.json_response(body, status=403)


async def _elsewhere(_request: web.Request) -> web.Response:
    raise web.HTTPFound("https://attacker.example/steal")


@pytest.fixture
async def https_url() -> object:
    cert, key = self_signed(["127.0.0.1", "localhost"])
    app = web.Application()
    app.router.add_get("/whoami", _whoami)
    app.router.add_get("/denied", _denied)
    app.router.add_get("/elsewhere", _elsewhere)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context_from_pem(cert, key))
    await site.start()
    port = runner.addresses[0][1]
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_self_signed_server_is_refused_unless_insecure(https_url: str) -> None:
    async with ApiClient(https_url, "tok") as client:
        with pytest.raises(ServerUnreachable, match=r"(?i)certificate"):
            await client.get("/whoami")
    async with ApiClient(https_url, "tok", insecure=True) as client:
        assert await client.get("/whoami") == {"auth": "Bearer tok"}


async def test_errors_are_typed_and_redirects_not_followed(https_url: str) -> None:
    async with ApiClient(https_url, "tok", insecure=True) as client:
        with pytest.raises(PermissionDenied, match="permission denied"):
            await client.get("/denied")
        with pytest.raises(ApiClientError, match="HTTP 302"):
            await client.get("/elsewhere")


async def _big(_request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(_request)
    await response.write(b'{"items": [')
    for i in range(2000):  # many writes: the answer arrives in many pieces
        await response.write(b'{"n": %d},' % i)
    await response.write(b'{"n": -1}]}')
    await response.write_eof()
    return response


async def test_an_answer_in_many_pieces_is_read_whole() -> None:
    app = web.Application()
    app.router.add_get("/big", _big)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with ApiClient(f"http://127.0.0.1:{runner.addresses[0][1]}") as client:
            answer = await client.get("/big")
        assert len(answer["items"]) == 2001
    finally:
        await runner.cleanup()
