"""``/api/v1/repositories`` and ``/api/v1/repocreds``: real git behind a token, real Secrets.

Credentials go in and never come out: every answer of every test is searched for the
token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

import pytest

from gitward.cluster import KubeClient
from gitward.server.api import repocreds, repositories
from tests.support.git import GitRepo, SmartHttpServer
from tests.support.restserver import Api, build_app, serve

pytestmark = pytest.mark.cluster

TOKEN = "api-repo-tok-5e1f0c-secret"
LABEL = "argocd.argoproj.io/secret-type"
TEAM_A = [("team-a-ci", "repositories", "*", "team-a/*")]


class Watched(Api):
    """An Api client that remembers every answer, to check none holds the token."""

    answers: list[str]

    async def call(self, *args: object, **kw: object) -> tuple[int, object]:
        status, body = await super().call(*args, **kw)  # type: ignore[arg-type]
        self.answers.append(json.dumps(body))
        return status, body


@pytest.fixture
async def api(installed: KubeClient, namespace: str) -> AsyncIterator[Watched]:
    app = build_app(installed, namespace, [repositories.add_routes, repocreds.add_routes], TEAM_A)
    async with serve(app) as client:
        watched = Watched(client.session, client.base)
        watched.answers = []
        yield watched
        for text in watched.answers:
            assert TOKEN not in text


@pytest.fixture
def server(git_http: Callable[[str | None], SmartHttpServer]) -> SmartHttpServer:
    return git_http(TOKEN)


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("private")
    r.commit({"app/cm.yaml": "kind: ConfigMap\n"}, "first")
    return r


def path(url: str) -> str:
    return "/api/v1/repositories/" + quote(url, safe="")


async def test_create_tests_access_and_never_answers_the_token(
    api: Watched, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    status, answer = await api.post(
        "/api/v1/repositories", {"repo": url, "username": "git", "password": "wrong"}
    )
    assert status == 400, answer
    assert await kube.list("v1", "Secret", namespace, f"{LABEL}=repository") == []

    body = {"repo": url, "username": "git", "password": TOKEN}
    status, answer = await api.post("/api/v1/repositories", body)
    assert status == 200, answer
    assert answer["connectionState"]["status"] == "Successful"
    assert (answer["hasPassword"], answer["username"]) == (True, "git")
    [secret] = await kube.list("v1", "Secret", namespace, f"{LABEL}=repository")
    assert secret["metadata"]["name"] == answer["secretName"]

    status, got = await api.get(path(url), params={"forceRefresh": "true"})
    assert (status, got["connectionState"]["status"]) == (200, "Successful")
    status, listed = await api.get("/api/v1/repositories")
    assert [r["repo"] for r in listed["items"]] == [url]
    assert listed["items"][0]["connectionState"]["status"] == "Unknown"

    status, answer = await api.post("/api/v1/repositories", {**body, "name": "renamed"})
    assert status == 409, answer
    status, answer = await api.post(
        "/api/v1/repositories", {**body, "name": "renamed"}, params={"upsert": "true"}
    )
    assert (status, answer["name"]) == (200, "renamed")

    status, answer = await api.put(path(url), {"repo": url, "name": "again", "password": TOKEN})
    assert (status, answer["name"]) == (200, "again")

    status, events = 0, await kube.list("v1", "Event", namespace)
    messages = [e["message"] for e in events]
    assert any(m.startswith("admin added repository") for m in messages), messages
    assert all(TOKEN not in m for m in messages)

    status, _ = await api.delete(path(url))
    assert status == 200
    assert (await api.get(path(url)))[0] == 404


async def test_a_password_in_the_url_moves_into_the_secret(
    api: Watched, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    with_token = url.replace("http://", f"http://git:{TOKEN}@")
    status, answer = await api.post("/api/v1/repositories", {"repo": with_token})
    assert status == 200, answer
    assert answer["repo"] == url
    [secret] = await kube.list("v1", "Secret", namespace, f"{LABEL}=repository")
    assert TOKEN not in json.dumps(secret.get("metadata"))


async def test_validate_stores_nothing(
    api: Watched, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    ok = await api.post(path(url) + "/validate", {"username": "git", "password": TOKEN})
    assert ok == (200, {})
    status, answer = await api.post(path(url) + "/validate", {"password": "nope"})
    assert status == 400
    assert answer["code"] == 3
    assert await kube.list("v1", "Secret", namespace, f"{LABEL}=repository") == []


@pytest.mark.parametrize(
    "body",
    [
        {"repo": "--upload-pack=touch /tmp/pwned"},
        {"repo": "file:///etc"},
        {"repo": "/etc"},
        {"repo": "https://host/x\n"},
        {"repo": ""},
        {"repo": 5},
        {"repo": "https://host/x", "type": "svn"},
        {"repo": "https://host/x", "sshPrivateKey": "not a key"},
    ],
)
async def test_hostile_repositories_are_400(api: Watched, body: dict[str, object]) -> None:
    status, answer = await api.post("/api/v1/repositories", body)
    assert status == 400, answer
    assert answer["code"] == 3


async def test_project_scoped_rbac(
    api: Watched, server: SmartHttpServer, repo: GitRepo, git_repo: Callable[[str], GitRepo]
) -> None:
    url = server.url(repo)
    other = git_repo("other")
    other.commit({"a.yaml": "kind: ConfigMap\n"}, "first")
    body = {"username": "git", "password": TOKEN}
    assert (await api.post("/api/v1/repositories", {**body, "repo": url, "project": "team-a"}))[
        0
    ] == 200
    assert (await api.post("/api/v1/repositories", {**body, "repo": server.url(other)}))[0] == 200
    status, listed = await api.get("/api/v1/repositories", token="team-a-ci-token")
    assert [r["repo"] for r in listed["items"]] == [url]
    status, _ = await api.delete(path(server.url(other)), token="team-a-ci-token")
    assert status == 403
    status, _ = await api.delete(path(url), token="reader-token")
    assert status == 403
    status, _ = await api.delete(path(url), token="team-a-ci-token")
    assert status == 200


async def test_repocreds_lifecycle(api: Watched, kube: KubeClient, namespace: str) -> None:
    prefix = "https://git.example/team-a/"
    assert (await api.post("/api/v1/repocreds", {"url": prefix}))[0] == 400  # no secret
    status, answer = await api.post(
        "/api/v1/repocreds", {"url": prefix, "username": "ci", "password": TOKEN}
    )
    assert status == 200, answer
    assert (answer["url"], answer["hasPassword"]) == (prefix, True)
    status, listed = await api.get("/api/v1/repocreds")
    assert [c["url"] for c in listed["items"]] == [prefix]
    creds_path = "/api/v1/repocreds/" + quote(prefix, safe="")
    status, answer = await api.put(creds_path, {"username": "bot", "password": TOKEN})
    assert (status, answer["username"]) == (200, "bot")
    assert (await api.delete(creds_path, token="reader-token"))[0] == 403
    assert (await api.delete(creds_path))[0] == 200
    assert await kube.list("v1", "Secret", namespace, f"{LABEL}=repo-creds") == []
    assert (await api.delete(creds_path))[0] == 404
