"""The OpenAPI document and its page: built from the route table, nothing from outside."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from gitward.server.api import openapi, rest
from gitward.server.api.routing import ROUTES
from gitward.server.api.settings import public_settings


def test_paths_drop_aiohttp_patterns() -> None:
    assert openapi.openapi_path("/api/v1/repositories/{repo:.+}/validate") == (
        "/api/v1/repositories/{repo}/validate"
    )


def test_the_document_describes_each_route_once_with_its_rbac() -> None:
    app = web.Application()
    rest.add_routes(app)
    doc = openapi.document(app[ROUTES])
    ops = [op for methods in doc["paths"].values() for op in methods.values()]
    assert len(ops) == len(app[ROUTES])
    ids = [op["operationId"] for op in ops]
    assert len(ids) == len(set(ids))
    sync = doc["paths"]["/api/v1/projects/{name}"]["delete"]
    assert sync["x-rbac"] == {"resource": "projects", "action": "delete"}
    assert doc["paths"]["/api/v1/settings"]["get"]["security"] == []
    for op in ops:
        for ref in (op["responses"]["200"], op.get("requestBody")):
            if ref:
                name = ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert name in doc["components"]["schemas"]


def test_the_page_reaches_nothing_outside_the_server() -> None:
    static = resources.files("gitward.server.api").joinpath("static")
    for name in ("swagger.html", "swagger.js", "swagger.css"):
        text = static.joinpath(name).read_text()
        assert "http://" not in text
        assert "https://" not in text
        assert "innerHTML" not in text


def test_settings_show_oidc_without_its_secret() -> None:
    data = {
        "url": "https://cd.example",
        "oidc.config": "name: Okta\nissuer: https://idp\nclientID: gw\nclientSecret: s3\n"
        "requestedScopes: [openid, email]\n",
        "statusbadge.enabled": "true",
    }
    answer = public_settings(data, "argocd")
    assert answer["oidcConfig"] == {
        "name": "Okta",
        "issuer": "https://idp",
        "clientID": "gw",
        "scopes": ["openid", "email"],
    }
    assert answer["statusBadgeEnabled"] is True
    assert answer["url"] == "https://cd.example"
