"""``/api/v1/applicationsets`` against the real control plane: shapes, RBAC by project, checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.server.api import applicationsets
from tests.support.restserver import Api, build_app, serve

pytestmark = pytest.mark.cluster

API = "argoproj.io/v1alpha1"
TEAM_A = [("team-a-ci", "applicationsets", "*", "team-a/*")]


@pytest.fixture
async def api(installed: KubeClient, namespace: str) -> AsyncIterator[Api]:
    app = build_app(installed, namespace, [applicationsets.add_routes], TEAM_A)
    async with serve(app) as client:
        yield client


def appset(name: str, project: str = "team-a", **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}]}}],
            "template": {
                "metadata": {"name": f"{name}-{{{{env}}}}"},
                "spec": {
                    "project": project,
                    "source": {"repoURL": "https://git.example/apps", "path": "{{env}}"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                },
            },
            **extra,
        },
    }


async def test_create_get_list_delete(api: Api, kube: KubeClient, namespace: str) -> None:
    status, answer = await api.post("/api/v1/applicationsets", appset("web"))
    assert status == 200, answer
    stored = await kube.get(API, "ApplicationSet", "web", namespace)
    assert stored["metadata"]["uid"] == answer["metadata"]["uid"]

    status, got = await api.get("/api/v1/applicationsets/web")
    assert (status, got["spec"]["generators"]) == (200, appset("web")["spec"]["generators"])
    status, listed = await api.get("/api/v1/applicationsets")
    assert [a["metadata"]["name"] for a in listed["items"]] == ["web"]

    changed = appset("web", goTemplate=True)
    status, answer = await api.post("/api/v1/applicationsets", changed)
    assert status == 409, answer
    status, answer = await api.post("/api/v1/applicationsets", changed, params={"upsert": "true"})
    assert (status, answer["spec"].get("goTemplate")) == (200, True)

    assert (await api.delete("/api/v1/applicationsets/web"))[0] == 200
    with pytest.raises(NotFound):
        await kube.get(API, "ApplicationSet", "web", namespace)
    assert (await api.get("/api/v1/applicationsets/web"))[0] == 404


async def test_dry_run_stores_nothing(api: Api, kube: KubeClient, namespace: str) -> None:
    status, answer = await api.post(
        "/api/v1/applicationsets", appset("dry"), params={"dryRun": "true"}
    )
    assert status == 200, answer
    assert answer["metadata"]["name"] == "dry"
    with pytest.raises(NotFound):
        await kube.get(API, "ApplicationSet", "dry", namespace)


async def test_rbac_follows_the_templates_project(api: Api) -> None:
    assert (await api.post("/api/v1/applicationsets", appset("a", "team-a")))[0] == 200
    assert (await api.post("/api/v1/applicationsets", appset("b", "team-b")))[0] == 200
    status, listed = await api.get("/api/v1/applicationsets", token="team-a-ci-token")
    assert [a["metadata"]["name"] for a in listed["items"]] == ["a"]
    status, listed = await api.get("/api/v1/applicationsets", params={"projects": "team-b"})
    assert [a["metadata"]["name"] for a in listed["items"]] == ["b"]
    assert (await api.get("/api/v1/applicationsets/b", token="team-a-ci-token"))[0] == 403
    status, _ = await api.post(
        "/api/v1/applicationsets", appset("c", "team-b"), token="team-a-ci-token"
    )
    assert status == 403
    assert (await api.delete("/api/v1/applicationsets/a", token="reader-token"))[0] == 403
    assert (await api.delete("/api/v1/applicationsets/a", token="team-a-ci-token"))[0] == 200


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"metadata": {"name": "x"}, "spec": {"generators": "no"}}, "generators"),
        ({"metadata": {"name": "../x"}, "spec": {}}, "metadata.name"),
        ({"metadata": {}, "spec": {}}, "metadata.name"),
        ({"metadata": {"name": "x"}, "spec": []}, "applicationset.spec"),
    ],
)
async def test_bad_sets_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], named: str
) -> None:
    status, answer = await api.post("/api/v1/applicationsets", body)
    assert status == 400, answer
    assert named in answer["message"]


async def test_other_namespaces_need_permission(api: Api) -> None:
    status, answer = await api.get(
        "/api/v1/applicationsets", params={"appsetNamespace": "kube-system"}
    )
    assert status == 403, answer
