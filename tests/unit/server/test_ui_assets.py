"""The web UI's static files: served from the package, never shadowing the API."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.server import ui


async def _api(_request: web.Request) -> web.Response:
    return web.json_response({"api": True})


def build() -> web.Application:
    app = web.Application()
    # The UI first: its routes must not shadow what is registered after it.
    ui.add_routes(app)
    app.router.add_get("/api/v1/applications", _api)
    app.router.add_get("/api/v1/{tail:.*}", _api)
    app.router.add_get("/healthz", _api)
    app.router.add_get("/metrics", _api)
    return app


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(build())) as c:
        yield c


def test_assets_ship_in_the_package() -> None:
    assets = ui.load_assets()
    assert {"index.html", "css/app.css", "js/main.js", "js/apps.js", "js/app.js"} <= set(assets)
    index = assets["index.html"].body.decode()
    # No inline script or style: everything the page runs comes from /assets/.
    assert "<script>" not in index
    assert "style=" not in index
    assert "onload" not in index
    for src in re.findall(r'(?:src|href)="([^"]+)"', index):
        assert src.startswith(("/assets/", "#")), src


def test_every_module_import_resolves() -> None:
    """A relative import of a missing module would break the page only at run time."""
    assets = ui.load_assets()
    for name, asset in assets.items():
        if not name.endswith(".js"):
            continue
        for target in re.findall(r"""(?:from|import)\s*\(?\s*'(\./[^']+)'""", asset.body.decode()):
            assert f"js/{target[2:]}" in assets, f"{name} imports {target}"


async def test_index_for_client_routes(client: TestClient[web.Request, web.Application]) -> None:
    for path in (
        "/",
        "/applications",
        "/applications/argocd/web",
        "/login",
        "/settings",
        "/clusters",
    ):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.headers["Content-Type"].startswith("text/html")
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert '<script type="module" src="/assets/js/main.js">' in await response.text()


async def test_api_health_and_metrics_are_not_shadowed(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path in ("/api/v1/applications", "/api/v1/session/userinfo", "/healthz", "/metrics"):
        response = await client.get(path)
        assert response.status == 200, path
        assert await response.json() == {"api": True}


async def test_unknown_paths_are_404_not_index(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path in ("/nothing", "/assets/js/none.js", "/assets/../pyproject.toml", "/api"):
        response = await client.get(path)
        assert response.status == 404, path


async def test_asset_types_caching_and_compression(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/assets/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    etag = response.headers["ETag"]
    body = await response.read()  # aiohttp decodes gzip for us
    assert body == ui.load_assets()["js/main.js"].body
    again = await client.get("/assets/js/main.js", headers={"If-None-Match": etag})
    assert again.status == 304
    raw = await client.get(
        "/assets/css/app.css", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await raw.read()) == ui.load_assets()["css/app.css"].body


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60))
def test_asset_lookup_is_by_exact_name(name: str) -> None:
    """Whatever the path, an asset answer is one of the package's files, by its own name."""
    assets = ui.load_assets()
    found = assets.get(name)
    assert found is None or name in assets
    if ".." in name.split("/") or name.startswith("/"):
        assert found is None
