"""``/api/v1/projects`` against the real control plane: Argo CD's shapes, RBAC, checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gitward.cluster import KubeClient
from gitward.server.api import projects
from tests.support.restserver import Api, build_app, serve

pytestmark = pytest.mark.cluster

TEAM_A = [("team-a-ci", "projects", "get", "team-a")]


@pytest.fixture
async def api(installed: KubeClient, namespace: str) -> AsyncIterator[Api]:
    app = build_app(installed, namespace, [projects.add_routes], TEAM_A)
    async with serve(app) as client:
        yield client


def _project(name: str, **spec: object) -> dict[str, object]:
    return {"project": {"metadata": {"name": name}, "spec": spec}}


async def test_create_get_list_update_delete(api: Api, kube: KubeClient, namespace: str) -> None:
    status, created = await api.post(
        "/api/v1/projects", _project("team-a", sourceRepos=["https://git.example/*"])
    )
    assert status == 200, created
    assert created["metadata"]["name"] == "team-a"
    assert created["spec"]["sourceRepos"] == ["https://git.example/*"]
    stored = await kube.get("argoproj.io/v1alpha1", "AppProject", "team-a", namespace)
    assert stored["spec"]["sourceRepos"] == ["https://git.example/*"]

    status, got = await api.get("/api/v1/projects/team-a")
    assert (status, got["metadata"]["uid"]) == (200, stored["metadata"]["uid"])

    status, listed = await api.get("/api/v1/projects")
    assert status == 200
    assert [p["metadata"]["name"] for p in listed["items"]] == ["team-a"]

    body = _project("team-a", sourceRepos=["*"], description="all")
    status, updated = await api.put("/api/v1/projects/team-a", body)
    assert status == 200, updated
    stored = await kube.get("argoproj.io/v1alpha1", "AppProject", "team-a", namespace)
    assert stored["spec"] == {"sourceRepos": ["*"], "description": "all"}

    status, events = await api.get("/api/v1/projects/team-a/events")
    assert status == 200
    reasons = {(e["reason"], e["message"]) for e in events["items"]}
    assert ("ResourceUpdated", "admin updated project") in reasons

    status, _ = await api.delete("/api/v1/projects/team-a")
    assert status == 200
    status, answer = await api.get("/api/v1/projects/team-a")
    assert status == 404
    assert answer["code"] == 5


async def test_create_twice_needs_upsert(api: Api) -> None:
    assert (await api.post("/api/v1/projects", _project("p", sourceRepos=["a"])))[0] == 200
    same = await api.post("/api/v1/projects", _project("p", sourceRepos=["a"]))
    assert same[0] == 200
    status, answer = await api.post("/api/v1/projects", _project("p", sourceRepos=["b"]))
    assert status == 409
    assert "upsert" in answer["message"]
    body = {**_project("p", sourceRepos=["b"]), "upsert": True}
    status, answer = await api.post("/api/v1/projects", body)
    assert (status, answer["spec"]["sourceRepos"]) == (200, ["b"])


async def test_a_bad_spec_is_refused_naming_the_field(api: Api, kube: KubeClient) -> None:
    bad = _project("p", syncWindows=[{"kind": "allow", "schedule": "61 * * * *", "duration": "1h"}])
    status, answer = await api.post("/api/v1/projects", bad)
    assert status == 400
    assert "syncWindows" in answer["message"]
    assert (await api.get("/api/v1/projects/p"))[0] == 404


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"project": []}', b'{"project": {"metadata": {"name": "../x"}}}'],
)
async def test_hostile_bodies_are_400(api: Api, raw: bytes) -> None:
    status, answer = await api.call("POST", "/api/v1/projects", raw=raw)
    assert status == 400, answer
    assert answer["code"] == 3


async def test_a_body_over_the_limit_is_413(api: Api) -> None:
    raw = (
        b'{"project": {"metadata": {"name": "p"}, "spec": {"description": "'
        + b"x" * (2 << 20)
        + b'"}}}'
    )
    status, _ = await api.call("POST", "/api/v1/projects", raw=raw)
    assert status == 413


async def test_rbac_limits_what_is_listed_and_done(api: Api) -> None:
    for name in ("team-a", "team-b"):
        assert (await api.post("/api/v1/projects", _project(name)))[0] == 200
    status, listed = await api.get("/api/v1/projects", token="team-a-ci-token")
    assert [p["metadata"]["name"] for p in listed["items"]] == ["team-a"]
    assert (await api.get("/api/v1/projects/team-b", token="team-a-ci-token"))[0] == 403
    status, listed = await api.get("/api/v1/projects", token="reader-token")
    assert [p["metadata"]["name"] for p in listed["items"]] == ["team-a", "team-b"]
    status, answer = await api.delete("/api/v1/projects/team-a", token="reader-token")
    assert status == 403
    assert answer["code"] == 7
    status, listed = await api.get("/api/v1/projects", token="nobody-token")
    assert (status, listed["items"]) == (200, [])
    assert (await api.get("/api/v1/projects/team-a", token="nobody-token"))[0] == 403
    assert (await api.get("/api/v1/projects", token=""))[0] == 401


async def test_default_and_used_projects_are_not_deleted(
    api: Api, kube: KubeClient, namespace: str
) -> None:
    assert (await api.post("/api/v1/projects", _project("default", sourceRepos=["*"])))[0] == 200
    status, answer = await api.delete("/api/v1/projects/default")
    assert status == 400
    assert "default" in answer["message"]


async def test_syncwindows_answers_the_open_ones(api: Api) -> None:
    windows = [
        {"kind": "allow", "schedule": "* * * * *", "duration": "1h", "applications": ["*"]},
        {"kind": "deny", "schedule": "0 0 1 1 *", "duration": "1m", "namespaces": ["x"]},
    ]
    status, answer = await api.post("/api/v1/projects", _project("w", syncWindows=windows))
    assert status == 200, answer
    status, answer = await api.get("/api/v1/projects/w/syncwindows")
    assert status == 200
    assert answer["windows"] == [windows[0]]


async def test_detailed_and_globalprojects(api: Api) -> None:
    assert (await api.post("/api/v1/projects", _project("d")))[0] == 200
    status, answer = await api.get("/api/v1/projects/d/detailed")
    assert status == 200
    assert answer["project"]["metadata"]["name"] == "d"
    assert (answer["repositories"], answer["clusters"]) == ([], [])
    status, answer = await api.get("/api/v1/projects/d/globalprojects")
    assert (status, answer) == (200, {"items": []})
