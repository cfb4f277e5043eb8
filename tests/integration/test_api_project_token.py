"""Issue 14's acceptance with real accounts and RBAC: a project role token limited to
``team-a/*`` get and sync lists only team-a's apps, syncs a team-a app, and is refused
the sync of a team-b app and any delete. Apps of another namespace are named
``PROJECT/NAMESPACE/NAME`` in RBAC."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from gitward.server.app import server_app
from gitward.server.appstore import AppStore
from gitward.server.context import ServerContext
from gitward.services import Services
from tests.support.apps import unique
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
pytestmark = pytest.mark.cluster


def app(name: str, project: str, run: str, namespace: str = "argocd") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace, "labels": {"run": run}},
        "spec": {
            "project": project,
            "source": {"repoURL": "https://example.com/r.git", "path": "a"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
        },
    }


def project(name: str, run: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "sourceNamespaces": [f"{run}-apps"],
            "roles": [
                {
                    "name": "ci",
                    "policies": [
                        f"p, proj:{name}:ci, applications, get, {name}/*, allow",
                        f"p, proj:{name}:ci, applications, sync, {name}/*, allow",
                    ],
                }
            ],
        },
    }


@contextlib.asynccontextmanager
async def real_server(kube: KubeClient, others: tuple[str, ...]) -> AsyncIterator[str]:
    store = AppStore(kube, "argocd", others)
    refresher = (await Services.load(kube, "argocd")).refresher(projects=store.projects)
    application = await server_app(
        ServerContext(kube, "argocd", others), store=store, refresher=refresher, insecure=True
    )
    store.start()
    await store.ready()
    runner = web.AppRunner(application, access_log=None, shutdown_timeout=5)
    await runner.setup()
    port = free_ports(1)[0]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await store.stop()


async def test_a_project_role_token_reaches_its_project_only(
    installed: KubeClient,
) -> None:
    run = unique("acc")
    team_a, team_b = f"{run}-a", f"{run}-b"
    other_ns = f"{run}-apps"
    await installed.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other_ns}}
    )
    for name in (team_a, team_b):
        await installed.apply(project(name, run))
    names = {
        "a1": app(f"{run}-a1", team_a, run),
        "a2": app(f"{run}-a2", team_a, run, other_ns),
        "b1": app(f"{run}-b1", team_b, run),
    }
    for obj in names.values():
        await installed.create(obj)
    try:
        async with real_server(installed, (f"{run}-*",)) as base, aiohttp.ClientSession() as http:
            secret = await installed.get("v1", "Secret", "argocd-initial-admin-secret", "argocd")
            password = base64.b64decode(secret["data"]["password"]).decode()
            login = {"username": "admin", "password": password}
            async with http.post(f"{base}/api/v1/session", json=login) as resp:
                assert resp.status == 200, await resp.text()
                admin = {"Authorization": f"Bearer {(await resp.json())['token']}"}
            async with http.post(
                f"{base}/api/v1/projects/{team_a}/roles/ci/token", json={}, headers=admin
            ) as resp:
                assert resp.status == 200, await resp.text()
                ci = {"Authorization": f"Bearer {(await resp.json())['token']}"}

            apps = f"{base}/api/v1/applications"

            async def listed() -> list[str] | None:
                params = {"selector": f"run={run}"}
                async with http.get(apps, params=params, headers=ci) as resp:
                    assert resp.status == 200, await resp.text()
                    found = [i["metadata"]["name"] for i in (await resp.json())["items"]]
                return found if len(found) == 2 else None  # the role's policy is loaded

            assert sorted(await eventually(listed, "team-a's apps", timeout=30)) == [
                f"{run}-a1",
                f"{run}-a2",
            ]
            async with http.get(
                f"{apps}/{run}-a2", params={"appNamespace": other_ns}, headers=ci
            ) as resp:
                assert resp.status == 200
            async with http.post(f"{apps}/{run}-a1/sync", json={}, headers=ci) as resp:
                assert resp.status == 200, await resp.text()
            operation = (await installed.get(API, "Application", f"{run}-a1", "argocd"))[
                "operation"
            ]
            assert operation["initiatedBy"] == {"username": f"proj:{team_a}:ci"}
            async with http.post(f"{apps}/{run}-b1/sync", json={}, headers=ci) as resp:
                assert resp.status == 403
            async with http.delete(f"{apps}/{run}-a1", headers=ci) as resp:
                assert resp.status == 403
            async with http.get(f"{apps}/{run}-b1", headers=ci) as resp:
                assert resp.status == 403
            async with http.get(apps, headers={"Authorization": "Bearer nonsense"}) as resp:
                assert resp.status == 401
    finally:
        for obj in names.values():
            meta = obj["metadata"]
            with contextlib.suppress(NotFound):
                await delete_and_wait(
                    installed, API, "Application", meta["name"], meta["namespace"]
                )
        for name in (team_a, team_b):
            with contextlib.suppress(NotFound):
                await installed.delete(API, "AppProject", name, "argocd", propagation="Background")
        await installed.delete("v1", "Namespace", other_ns, propagation="Background")
