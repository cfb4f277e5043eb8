"""Every route: described in the OpenAPI document, and refused without the right policy.

Two tables over the mounted routes. A route mounted outside the route table is not
in the document and fails the first; a route without a sample request here, or that
answers a caller without rights, fails the second — so a new route cannot go
undocumented or unchecked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web

from gitward.cluster import KubeClient
from gitward.cluster.secrets import (
    argocd_secret,
    cluster_secret_name,
    creds_secret_name,
    repo_secret_name,
)
from gitward.server.api import openapi, rest
from gitward.server.api.routing import ROUTES
from tests.support import gwserver
from tests.support.restserver import Api, build_app, serve

pytestmark = pytest.mark.cluster

REPO = "https://git.example/team/apps"
PREFIX = "https://git.example/team/"
SERVER = "https://target.example"
APPSET = {
    "metadata": {"name": "set"},
    "spec": {
        "generators": [{"list": {"elements": [{"env": "dev"}]}}],
        "template": {
            "metadata": {"name": "set-{{env}}"},
            "spec": {
                "project": "p",
                "source": {"repoURL": REPO, "path": "{{env}}"},
                "destination": {"server": SERVER, "namespace": "x"},
            },
        },
    },
}

#: (method, route path) -> (request path, body): one request per route that would pass RBAC.
SAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/api/v1/projects"): ("/api/v1/projects", None),
    ("POST", "/api/v1/projects"): ("/api/v1/projects", {"project": {"metadata": {"name": "q"}}}),
    ("GET", "/api/v1/projects/{name}"): ("/api/v1/projects/p", None),
    ("PUT", "/api/v1/projects/{name}"): ("/api/v1/projects/p", {"project": {"spec": {}}}),
    ("DELETE", "/api/v1/projects/{name}"): ("/api/v1/projects/p", None),
    ("GET", "/api/v1/projects/{name}/detailed"): ("/api/v1/projects/p/detailed", None),
    ("GET", "/api/v1/projects/{name}/syncwindows"): ("/api/v1/projects/p/syncwindows", None),
    ("GET", "/api/v1/projects/{name}/events"): ("/api/v1/projects/p/events", None),
    ("GET", "/api/v1/projects/{name}/globalprojects"): ("/api/v1/projects/p/globalprojects", None),
    ("GET", "/api/v1/repositories"): ("/api/v1/repositories", None),
    ("POST", "/api/v1/repositories"): ("/api/v1/repositories", {"repo": REPO + "2"}),
    ("POST", "/api/v1/repositories/{repo}/validate"): (
        f"/api/v1/repositories/{quote(REPO, safe='')}/validate",
        {},
    ),
    ("GET", "/api/v1/repositories/{repo}"): (f"/api/v1/repositories/{quote(REPO, safe='')}", None),
    ("PUT", "/api/v1/repositories/{repo}"): (
        f"/api/v1/repositories/{quote(REPO, safe='')}",
        {"repo": REPO},
    ),
    ("DELETE", "/api/v1/repositories/{repo}"): (
        f"/api/v1/repositories/{quote(REPO, safe='')}",
        None,
    ),
    ("GET", "/api/v1/repocreds"): ("/api/v1/repocreds", None),
    ("POST", "/api/v1/repocreds"): ("/api/v1/repocreds", {"url": PREFIX + "x/", "password": "p"}),
    ("PUT", "/api/v1/repocreds/{url}"): (
        f"/api/v1/repocreds/{quote(PREFIX, safe='')}",
        {"password": "p"},
    ),
    ("DELETE", "/api/v1/repocreds/{url}"): (f"/api/v1/repocreds/{quote(PREFIX, safe='')}", None),
    ("GET", "/api/v1/clusters"): ("/api/v1/clusters", None),
    ("POST", "/api/v1/clusters"): ("/api/v1/clusters", {"server": "https://other.example"}),
    ("GET", "/api/v1/clusters/{server}"): (f"/api/v1/clusters/{quote(SERVER, safe='')}", None),
    ("PUT", "/api/v1/clusters/{server}"): (
        f"/api/v1/clusters/{quote(SERVER, safe='')}",
        {"name": "t"},
    ),
    ("DELETE", "/api/v1/clusters/{server}"): (f"/api/v1/clusters/{quote(SERVER, safe='')}", None),
    ("GET", "/api/v1/applicationsets"): ("/api/v1/applicationsets", None),
    ("POST", "/api/v1/applicationsets"): ("/api/v1/applicationsets", APPSET),
    ("GET", "/api/v1/applicationsets/{name}"): ("/api/v1/applicationsets/set", None),
    ("DELETE", "/api/v1/applicationsets/{name}"): ("/api/v1/applicationsets/set", None),
    ("POST", "/api/v1/applicationsets/generate"): (
        "/api/v1/applicationsets/generate",
        {"applicationSet": APPSET},
    ),
}
#: Routes anyone may call, and the request that shows it.
PUBLIC = {
    ("GET", "/api/version"): "/api/version",
    ("GET", "/api/v1/settings"): "/api/v1/settings",
    ("GET", "/api/openapi.json"): "/api/openapi.json",
    ("GET", "/swagger-ui"): "/swagger-ui",
    ("GET", "/swagger-ui/{asset}"): "/swagger-ui/swagger.js",
}


async def _seed(kube: KubeClient, namespace: str) -> None:
    """One object of every kind the routes name, made directly in the cluster."""
    api = "argoproj.io/v1alpha1"
    meta = {"name": "p", "namespace": namespace}
    await kube.create({"apiVersion": api, "kind": "AppProject", "metadata": meta, "spec": {}})
    appset = {"apiVersion": api, "kind": "ApplicationSet", **APPSET}
    await kube.create({**appset, "metadata": {"name": "set", "namespace": namespace}})
    for secret in (
        argocd_secret(repo_secret_name(REPO), namespace, "repository", {"url": REPO}),
        argocd_secret(
            creds_secret_name(PREFIX), namespace, "repo-creds", {"url": PREFIX, "password": "x"}
        ),
        argocd_secret(
            cluster_secret_name(SERVER), namespace, "cluster", {"server": SERVER, "config": "{}"}
        ),
    ):
        await kube.create(secret)


@pytest.fixture
async def served(
    installed: KubeClient, namespace: str
) -> AsyncIterator[tuple[web.Application, Api]]:
    await _seed(installed, namespace)
    app = build_app(installed, namespace, [rest.add_routes])
    async with serve(app) as client:
        yield app, client


async def test_every_mounted_route_is_in_the_document(
    served: tuple[web.Application, Api],
) -> None:
    app, api = served
    assert openapi.undocumented(app) == []
    status, doc = await api.get("/api/openapi.json", token="")
    assert (status, doc["openapi"]) == (200, "3.0.3")
    mounted = {(r.method, openapi.openapi_path(r.resource.canonical)) for r in app.router.routes()}
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == mounted


def test_a_route_mounted_around_the_table_is_reported() -> None:
    app = web.Application()
    rest.add_routes(app)

    async def sneaky(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_route("POST", "/api/v1/sneaky/{name}", sneaky)
    assert openapi.undocumented(app) == ["POST /api/v1/sneaky/{name}"]


async def test_every_route_has_a_sample(served: tuple[web.Application, Api]) -> None:
    app, _ = served
    table = {(r.method, openapi.openapi_path(r.path)) for r in app[ROUTES]}
    assert table == set(SAMPLES) | set(PUBLIC)


async def test_a_caller_without_policy_is_refused_everywhere(
    served: tuple[web.Application, Api],
) -> None:
    app, api = served
    for route in app[ROUTES]:
        if route.rbac is None:
            continue
        key = (route.method, openapi.openapi_path(route.path))
        path, body = SAMPLES[key]
        status, answer = await api.call(route.method, path, body, token="nobody-token")
        if route.method == "GET" and "{" not in route.path:  # a list: filtered, not refused
            assert (status, answer["items"]) == (200, []), key
        else:
            assert status == 403, (key, answer)
            assert answer["code"] == 7
        assert (await api.call(route.method, path, body, token=""))[0] == 401, key


async def test_a_readonly_caller_gets_everything_and_changes_nothing(
    served: tuple[web.Application, Api],
) -> None:
    app, api = served
    for route in app[ROUTES]:
        if route.rbac is None:
            continue
        key = (route.method, openapi.openapi_path(route.path))
        path, body = SAMPLES[key]
        status, answer = await api.call(route.method, path, body, token="reader-token")
        if route.method == "GET":
            assert status == 200, (key, answer)
            if "{" not in route.path:
                assert answer["items"], key
        else:
            assert status == 403, (key, answer)


async def test_public_routes_answer_without_a_token(served: tuple[web.Application, Api]) -> None:
    _, api = served
    for path in PUBLIC.values():
        status, _ = await api.get(path, token="")
        assert status == 200, path
    status, version = await api.get("/api/version", token="")
    assert set(version) == {"Version"}
    status, version = await api.get("/api/version")
    assert {"Version", "BuildDate", "GitCommit", "Platform", "KustomizeVersion"} <= set(version)


async def test_the_whole_server_is_documented(installed: KubeClient, namespace: str) -> None:
    async with gwserver.running(installed, namespace) as server:
        assert openapi.undocumented(server.app) == []
        async with aiohttp.ClientSession() as http, http.get(server.url + "/api/openapi.json") as r:
            doc = await r.json()
        assert "/api/v1/applications/{name}/sync" in doc["paths"]
        assert "/api/v1/session" in doc["paths"]
        assert "/api/v1/clusters/{server}" in doc["paths"]
