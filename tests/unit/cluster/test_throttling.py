"""The client sends a request again when the server asks it to wait (429, Retry-After),
as client-go does — checked against a real HTTP server on loopback that throttles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gitward.cluster import ApiError, KubeClient
from gitward.cluster.client import THROTTLE_RETRIES, _throttled, resource_of_path
from gitward.cluster.kubeconfig import Credentials


@pytest.fixture
async def throttling() -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP server answering 429 to the first N calls of /api/v1/n/N, then 200."""
    seen: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        refusals = int(request.match_info["n"])
        seen.append(len(seen))
        if len(seen) <= refusals:
            return web.json_response(
                {"kind": "Status", "code": 429, "message": "storage is (re)initializing"},
                status=429,
                headers={"Retry-After": "0"},
            )
        return web.json_response({"kind": "Thing", "ok": True})

    app = web.Application()
    app.router.add_get("/api/v1/n/{n}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_a_throttled_request_is_sent_again_until_it_succeeds(
    throttling: tuple[str, list[int]],
) -> None:
    server, seen = throttling
    async with KubeClient(Credentials(server=server)) as client:
        assert (await client.request("GET", "/api/v1/n/3"))["ok"] is True
        assert len(seen) == 4
        assert client.responses[("GET", "n", 429)] == 3


async def test_retries_stop_and_the_refusal_is_an_api_error(
    throttling: tuple[str, list[int]],
) -> None:
    server, seen = throttling
    async with KubeClient(Credentials(server=server)) as client:
        with pytest.raises(ApiError, match="storage is"):
            await client.request("GET", f"/api/v1/n/{THROTTLE_RETRIES + 5}")
        assert len(seen) == THROTTLE_RETRIES + 1


def test_only_throttling_answers_are_retried() -> None:
    assert _throttled(429, None) == 1.0
    assert _throttled(429, "3") == 3.0
    assert _throttled(429, "9999") == 10.0
    assert _throttled(503, "2") == 2.0
    assert _throttled(503, None) is None
    assert _throttled(409, "1") is None
    assert _throttled(429, "soon") == 1.0


def test_requests_are_counted_by_the_resource_their_path_names() -> None:
    assert resource_of_path("/api/v1/namespaces/ns/configmaps/cm") == "configmaps"
    assert resource_of_path("/api/v1/namespaces/ns") == "namespaces"
    assert resource_of_path("/api/v1/namespaces") == "namespaces"
    assert resource_of_path("/apis/apps/v1/namespaces/a/deployments") == "deployments"
    path = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/web/status?x=1"
    assert resource_of_path(path) == "applications/status"
    assert resource_of_path("/apis/rbac.authorization.k8s.io/v1/clusterroles/x") == "clusterroles"
    assert resource_of_path("/api/v1") == "discovery"
    assert resource_of_path("/apis/apps/v1") == "discovery"
    assert resource_of_path("/version") == "discovery"
