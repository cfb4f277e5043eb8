"""Every applications route checks RBAC: a table over the routes the app factory mounts.

The table is the router itself, so a route added without a check fails here: a caller
with no policy is refused everywhere (lists and streams answer, but empty), and a
read-only caller can read everything and change nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gitward.cluster import KubeClient
from tests.support.apiserver import USER_HEADER, Served, serving
from tests.support.apps import unique
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
pytestmark = pytest.mark.cluster
#: Routes that answer a caller with no policy with an empty result, not a refusal.
FILTERED = {("GET", "/api/v1/applications"), ("GET", "/api/v1/stream/applications")}
PUBLIC = {"/healthz", "/readyz", "/api/version", "/api/webhook"}


@pytest.fixture
async def served(installed: KubeClient) -> AsyncIterator[tuple[Served, str]]:
    name = unique("rbac")
    await installed.create(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.com/r.git", "path": "a"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
            },
        }
    )
    grants = {"nobody": [], "readonly": [("*", "get", "*")]}
    async with serving(installed, grants) as served:
        await eventually(
            lambda: asyncio.sleep(0, served.store.get(name, "argocd")), "the app in the informer"
        )
        yield served, name
    await delete_and_wait(installed, API, "Application", name, "argocd")


def routes(served: Served) -> list[tuple[str, str]]:
    found = []
    for route in served.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("path") or info.get("formatter") or "")
        if route.method == "HEAD" or path in PUBLIC or not path.startswith("/api/v1/"):
            continue
        if path.startswith(("/api/v1/session", "/api/v1/account", "/api/v1/projects")):
            continue  # auth's own routes, tested with auth
        found.append((route.method, path))
    return sorted(set(found))


def concrete(path: str, name: str) -> str:
    return path.replace("{name}", name).replace("{revision}", "main")


async def _status(
    http: aiohttp.ClientSession, method: str, url: str, user: str
) -> tuple[int, bytes]:
    params = {"resourceName": "x", "kind": "ConfigMap", "version": "v1"}
    body = json.dumps({"metadata": {"name": "x"}, "spec": {}, "id": 0, "patch": "{}"})
    async with http.request(
        method, url, params=params, data=body, headers={USER_HEADER: user}
    ) as resp:
        if method == "GET" and "/stream/" in url and resp.status == 200:
            try:
                first = await asyncio.wait_for(resp.content.readline(), 2)
            except TimeoutError:
                first = b""
            return resp.status, first
        return resp.status, await resp.read()


async def test_every_route_refuses_a_caller_without_the_right_policy(
    served: tuple[Served, str],
) -> None:
    server, name = served
    table = routes(server)
    assert len(table) >= 20, table  # the whole applications API is mounted
    async with aiohttp.ClientSession() as http:
        for method, path in table:
            url = server.url + concrete(path, name)
            status, body = await _status(http, method, url, "nobody")
            if (method, path) in FILTERED:
                assert status == 200, (method, path, status)
                assert name.encode() not in body, (method, path)
            else:
                assert status == 403, (method, path, status, body[:200])
            status, _ = await _status(http, method, url, "")
            assert status == 401, (method, path, status)


async def test_a_readonly_caller_reads_everything_and_changes_nothing(
    installed: KubeClient, served: tuple[Served, str]
) -> None:
    server, name = served
    before = await installed.get(API, "Application", name, "argocd")
    async with aiohttp.ClientSession() as http:
        for method, path in routes(server):
            url = server.url + concrete(path, name)
            status, body = await _status(http, method, url, "readonly")
            if method == "GET":
                assert status != 403, (method, path, body[:200])
            else:
                assert status == 403, (method, path, status, body[:200])
    after = await installed.get(API, "Application", name, "argocd")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
