"""Discovery maps kinds to paths and refreshes once when a kind is new."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.cluster.discovery import Discovery
from gitward.cluster.errors import ApiError, Conflict, NotFound, UnknownKind, api_error

APPS = {
    "resources": [
        {"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["get"]},
        {"name": "deployments/status", "kind": "Deployment", "namespaced": True},
    ]
}
CORE = {"resources": [{"name": "namespaces", "kind": "Namespace", "namespaced": False}]}


class Docs:
    """Discovery documents served from a dict, counting fetches."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs
        self.fetched: list[str] = []

    async def __call__(self, path: str) -> dict[str, Any]:
        self.fetched.append(path)
        if path not in self.docs:
            raise NotFound(404, {"reason": "NotFound"}, path)
        return self.docs[path]


async def test_paths_for_namespaced_and_cluster_scoped_kinds() -> None:
    docs = Docs({"/apis/apps/v1": APPS, "/api/v1": CORE})
    discovery = Discovery(docs)
    deploy = await discovery.resource("apps/v1", "Deployment")
    assert deploy.item("web", "prod") == "/apis/apps/v1/namespaces/prod/deployments/web"
    ns = await discovery.resource("v1", "Namespace")
    assert ns.item("prod", "ignored") == "/api/v1/namespaces/prod"
    await discovery.resource("apps/v1", "Deployment")
    assert docs.fetched == ["/apis/apps/v1", "/api/v1"]


async def test_unknown_kind_refreshes_once_then_fails_clearly() -> None:
    docs = Docs({"/apis/apps/v1": APPS})
    discovery = Discovery(docs)
    await discovery.resource("apps/v1", "Deployment")
    with pytest.raises(UnknownKind, match="no kind 'Rollout' in 'apps/v1'"):
        await discovery.resource("apps/v1", "Rollout")
    assert docs.fetched == ["/apis/apps/v1", "/apis/apps/v1"]
    with pytest.raises(UnknownKind):
        await discovery.resource("example.com/v1", "Widget")


def test_api_errors_keep_the_servers_message() -> None:
    body = {"reason": "Conflict", "message": 'Apply failed with 1 conflict: "kubectl"'}
    err = api_error(409, body, "apply ConfigMap a/b")
    assert isinstance(err, Conflict)
    assert str(err) == 'apply ConfigMap a/b: HTTP 409: Apply failed with 1 conflict: "kubectl"'
    assert isinstance(api_error(404, "not found", "get x"), NotFound)
    plain = api_error(422, {"message": "spec.replicas: Invalid value"}, "apply")
    assert type(plain) is ApiError
    assert plain.status == 422
