"""``/api/v1/clusters`` against the real control plane, with a real service-account token."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster
from gitward.server.api import clusters
from tests.support.restserver import Api, build_app, serve

pytestmark = pytest.mark.cluster

LABEL = "argocd.argoproj.io/secret-type"
TEAM_A = [("team-a-ci", "clusters", "*", "team-a/*")]


@pytest.fixture
async def api(installed: KubeClient, namespace: str) -> AsyncIterator[Api]:
    app = build_app(installed, namespace, [clusters.add_routes], TEAM_A)
    async with serve(app) as client:
        yield client


async def _token(kube: KubeClient, namespace: str) -> str:
    """A real token of a real ServiceAccount (TokenRequest), which the API server checks."""
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}}
    await kube.create({**account, "metadata": {"name": "deployer", "namespace": namespace}})
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/deployer/token"
    answer = await kube.request(
        "POST",
        path,
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    return str(answer["status"]["token"])


def _target(cluster: LocalCluster) -> tuple[str, str]:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    entry = config["clusters"][0]["cluster"]
    return str(entry["server"]), str(entry["certificate-authority-data"])


def path(server: str) -> str:
    return "/api/v1/clusters/" + quote(server, safe="")


async def test_register_test_update_delete(
    api: Api, kube: KubeClient, namespace: str, cluster: LocalCluster
) -> None:
    server, ca = _target(cluster)
    token = await _token(kube, namespace)
    body: dict[str, Any] = {
        "server": server,
        "name": "local",
        "config": {"bearerToken": token, "tlsClientConfig": {"caData": ca}},
    }
    status, answer = await api.post("/api/v1/clusters", body)
    assert status == 200, answer
    assert token not in json.dumps(answer)
    assert answer["config"]["hasBearerToken"] is True
    [secret] = await kube.list("v1", "Secret", namespace, f"{LABEL}=cluster")
    stored = json.loads(base64.b64decode(secret["data"]["config"]))
    assert stored["bearerToken"] == token

    status, got = await api.get(path(server))
    assert status == 200, got
    assert got["connectionState"]["status"] == "Successful", got
    assert got["serverVersion"]
    assert token not in json.dumps(got)
    status, by_name = await api.get("/api/v1/clusters/local", params={"id.type": "name"})
    assert (status, by_name["server"]) == (200, server)

    status, listed = await api.get("/api/v1/clusters")
    servers = [c["server"] for c in listed["items"]]
    assert servers == ["https://kubernetes.default.svc", server]

    status, answer = await api.put(
        path(server), {"name": "renamed"}, params={"updatedFields": "name"}
    )
    assert (status, answer["name"]) == (200, "renamed")
    status, got = await api.get(path(server))
    assert got["connectionState"]["status"] == "Successful"  # the token stayed

    status, answer = await api.post("/api/v1/clusters", {**body, "name": "other"})
    assert status == 409, answer
    events = await kube.list("v1", "Event", namespace)
    assert any(e["message"] == f"admin added cluster {server}" for e in events)
    assert all(token not in e["message"] for e in events)

    assert (await api.delete(path(server), token="reader-token"))[0] == 403
    assert (await api.delete(path(server)))[0] == 200
    assert await kube.list("v1", "Secret", namespace, f"{LABEL}=cluster") == []
    assert (await api.get(path(server)))[0] == 404
    status, answer = await api.delete(path("https://kubernetes.default.svc"))
    assert status == 409, answer


async def test_a_wrong_token_fails_the_test_not_the_request(
    api: Api, cluster: LocalCluster
) -> None:
    server, ca = _target(cluster)
    body = {"server": server, "config": {"bearerToken": "not-a-token"}}
    body["config"]["tlsClientConfig"] = {"caData": ca}  # type: ignore[index]
    assert (await api.post("/api/v1/clusters", body))[0] == 200
    status, got = await api.get(path(server))
    assert status == 200
    assert got["connectionState"]["status"] == "Failed"
    assert "not-a-token" not in json.dumps(got)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"server": "file:///etc/passwd"}, "cluster.server"),
        ({"server": "https://h", "config": {"tlsClientConfig": {"caData": "%%%"}}}, "caData"),
        ({"server": "https://h", "config": {"password": "x"}}, "config.password"),
        ({"server": "https://h", "config": []}, "cluster.config"),
        ({"server": "https://h", "namespaces": "a"}, "cluster.namespaces"),
    ],
)
async def test_bad_clusters_are_refused_naming_the_field(
    api: Api, body: dict[str, object], named: str
) -> None:
    status, answer = await api.post("/api/v1/clusters", body)
    assert status == 400, answer
    assert named in answer["message"]


async def test_project_scoped_rbac(api: Api) -> None:
    for server, project in (("https://a.example", "team-a"), ("https://b.example", "team-b")):
        body = {"server": server, "project": project, "config": {"bearerToken": "t"}}
        status, answer = await api.post("/api/v1/clusters", body)
        assert status == 200, answer
    status, listed = await api.get("/api/v1/clusters", token="team-a-ci-token")
    assert [c["server"] for c in listed["items"]] == ["https://a.example"]
    assert (await api.delete(path("https://b.example"), token="team-a-ci-token"))[0] == 403
    assert (await api.delete(path("https://a.example"), token="team-a-ci-token"))[0] == 200
