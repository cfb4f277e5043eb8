"""The applications API on a real cluster: list, get, writes, RBAC, paging, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gitward.cluster import KubeClient, NotFound
from tests.support.apiserver import Served, call, serving
from tests.support.apps import unique
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
pytestmark = pytest.mark.cluster
STATUS: dict[str, Any] = {"subresource": "status"}


def app_body(name: str, project: str = "default", run: str = "", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "argocd", "labels": {"run": run or name}},
        "spec": {
            "project": project,
            "source": {"repoURL": "https://example.com/repo.git", "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
            **spec,
        },
    }


@pytest.fixture
async def served(installed: KubeClient) -> AsyncIterator[Served]:
    grants = {
        "team-a-reader": [("applications", "get", "team-a/*")],
        "team-a-syncer": [
            ("applications", "get", "team-a/*"),
            ("applications", "sync", "team-a/*"),
        ],
        "nobody": [],
    }
    async with serving(installed, grants) as served:
        yield served


@pytest.fixture
async def projects(installed: KubeClient) -> None:
    for name in ("team-a", "team-b"):
        await installed.apply(
            {
                "apiVersion": API,
                "kind": "AppProject",
                "metadata": {"name": name, "namespace": "argocd"},
                "spec": {
                    "sourceRepos": ["*"],
                    "destinations": [{"server": "*", "namespace": "*"}],
                },
            }
        )


async def _created(served: Served, body: dict[str, Any], **params: str) -> dict[str, Any]:
    status, created = await call("POST", f"{served.url}/api/v1/applications", body=body, **params)
    assert status == 200, created
    name = body["metadata"]["name"]
    await eventually(
        lambda: asyncio.sleep(0, served.store.get(name, "argocd")), f"{name} in the informer"
    )
    return dict(created)


async def _cleanup(kube: KubeClient, *names: str) -> None:
    for name in names:
        try:
            await kube.patch(API, "Application", name, "argocd", {"metadata": {"finalizers": None}})
        except NotFound:
            continue
        await delete_and_wait(kube, API, "Application", name, "argocd")


async def test_create_get_update_patch_delete(installed: KubeClient, served: Served) -> None:
    name = unique("api-crud")
    body = app_body(name)
    body["status"] = {"sync": {"status": "Synced"}}
    body["operation"] = {"sync": {}}
    created = await _created(served, body)
    assert "operation" not in created
    assert "status" not in created
    url = f"{served.url}/api/v1/applications/{name}"
    try:
        status, got = await call("GET", url)
        assert status == 200
        assert got["spec"]["source"]["path"] == "app"

        # The same spec again is fine; a different one needs upsert.
        status, _ = await call("POST", f"{served.url}/api/v1/applications", body=body)
        assert status == 200
        changed = app_body(name, source={"repoURL": "https://example.com/repo.git", "path": "b"})
        status, err = await call("POST", f"{served.url}/api/v1/applications", body=changed)
        assert status == 409
        assert "upsert" in err["message"]
        assert err["code"] == 9
        status, up = await call(
            "POST", f"{served.url}/api/v1/applications", body=changed, upsert="true"
        )
        assert status == 200
        assert up["spec"]["source"]["path"] == "b"

        status, put = await call("PUT", url, body=app_body(name, run="relabelled"))
        assert status == 200
        assert put["metadata"]["labels"]["run"] == "relabelled"

        spec = {
            **app_body(name)["spec"],
            "source": {"repoURL": "https://example.com/r", "path": "c"},
        }
        status, new_spec = await call("PUT", f"{url}/spec", body=spec)
        assert status == 200
        assert new_spec["source"]["path"] == "c"

        patch = {"patch": json.dumps({"spec": {"source": {"path": "d"}}}), "patchType": "merge"}
        status, patched = await call("PATCH", url, body=patch)
        assert status == 200
        assert patched["spec"]["source"]["path"] == "d"
        ops = [{"op": "replace", "path": "/spec/source/path", "value": "e"}]
        status, patched = await call(
            "PATCH", url, body={"patch": json.dumps(ops), "patchType": "json"}
        )
        assert status == 200
        assert patched["spec"]["source"]["path"] == "e"
        stored = await installed.get(API, "Application", name, "argocd")
        assert stored["spec"]["source"]["path"] == "e"

        # A patch cannot smuggle in an operation or rename the app.
        sneaky = {"patch": json.dumps({"operation": {"sync": {}}}), "patchType": "merge"}
        status, _ = await call("PATCH", url, body=sneaky)
        assert "operation" not in await installed.get(API, "Application", name, "argocd")
        rename = {"patch": json.dumps({"metadata": {"name": "other"}}), "patchType": "merge"}
        status, err = await call("PATCH", url, body=rename)
        assert status == 400
        assert "name" in err["message"]

        status, _ = await call("DELETE", url, cascade="false")
        assert status == 200

        async def gone() -> bool:
            try:
                await installed.get(API, "Application", name, "argocd")
            except NotFound:
                return True
            return False

        await eventually(gone, f"{name} deleted")
    finally:
        await _cleanup(installed, name)


async def test_bad_input_is_refused_naming_the_field(installed: KubeClient, served: Served) -> None:
    apps = f"{served.url}/api/v1/applications"
    cases: list[tuple[Any, str]] = [
        ({"metadata": {"name": "x/y"}, "spec": {}}, "metadata.name"),
        ({"spec": {}}, "metadata"),
        ([], "body"),
        ({"metadata": {"name": "ok", "labels": {"a": 1}}, "spec": {}}, "metadata.labels"),
        ({"metadata": {"name": "ok"}, "spec": {"source": "text"}}, "spec"),
        ({"metadata": {"name": "ok", "namespace": "kube-system"}, "spec": {}}, "appNamespace"),
    ]
    for body, field in cases:
        status, err = await call("POST", apps, body=body)
        assert status == 400, (body, err)
        assert field in err["message"]
        assert err["code"] == 3
        assert err["error"] == err["message"]
    status, err = await call("GET", apps, selector="a in (b")
    assert status == 400
    assert "selector" in err["message"]
    status, err = await call("GET", apps, limit="-3")
    assert status == 400
    assert "limit" in err["message"]
    status, err = await call("GET", apps, **{"continue": "garbage!"})
    assert status == 400
    assert "continue" in err["message"]
    status, err = await call("GET", f"{served.url}/api/v1/nothing-here")
    assert status == 404
    assert err["code"] == 5
    # An unknown project is refused before anything is written.
    body = app_body(unique("api-noproj"), project="no-such-project")
    status, err = await call("POST", apps, body=body)
    assert status == 400
    assert "no-such-project" in err["message"]


async def test_bodies_over_the_limit_are_refused(installed: KubeClient) -> None:
    async with serving(installed, max_body=4096) as served:
        big = app_body("big", description="x" * 10_000)
        status, err = await call("POST", f"{served.url}/api/v1/applications", body=big)
        assert status == 413
        assert err["code"] == 8


async def test_list_shows_only_what_the_caller_may_get_and_pages(
    installed: KubeClient, served: Served, projects: None
) -> None:
    run = unique("run")
    names = [f"{run}-{i:02d}" for i in range(7)]
    try:
        for i, name in enumerate(names):
            await _created(served, app_body(name, "team-a" if i % 2 == 0 else "team-b", run))
        apps = f"{served.url}/api/v1/applications"
        status, listed = await call("GET", apps, selector=f"run={run}")
        assert status == 200
        assert [a["metadata"]["name"] for a in listed["items"]] == names
        assert int(listed["metadata"]["resourceVersion"]) > 0
        assert "continue" not in listed["metadata"]

        status, mine = await call("GET", apps, user="team-a-reader", selector=f"run={run}")
        assert [a["metadata"]["name"] for a in mine["items"]] == names[0::2]
        status, none = await call("GET", apps, user="nobody", selector=f"run={run}")
        assert status == 200
        assert none["items"] == []
        status, _ = await call("GET", apps, user=None)
        assert status == 401

        status, proj = await call("GET", apps, selector=f"run={run}", projects="team-b")
        assert [a["metadata"]["name"] for a in proj["items"]] == names[1::2]

        seen: list[str] = []
        token = ""
        pages = 0
        while True:
            params = {"selector": f"run={run}", "limit": "3"}
            if token:
                params["continue"] = token
            status, page = await call("GET", apps, **params)
            assert status == 200
            assert len(page["items"]) <= 3
            seen += [a["metadata"]["name"] for a in page["items"]]
            pages += 1
            token = page["metadata"].get("continue", "")
            if not token:
                break
        assert seen == names
        assert pages == 3

        # get: the reader sees team-a apps; the rest is "permission denied", existing or not.
        status, _ = await call("GET", f"{apps}/{names[0]}", user="team-a-reader")
        assert status == 200
        status, err = await call("GET", f"{apps}/{names[1]}", user="team-a-reader")
        assert status == 403
        assert err["code"] == 7
        status, _ = await call("GET", f"{apps}/{run}-missing", user="team-a-reader")
        assert status == 403
        status, _ = await call("GET", f"{apps}/{run}-missing")
        assert status == 404
        status, _ = await call("GET", f"{apps}/{names[0]}", project="team-b")
        assert status == 404
        # Writes need their own permission.
        status, _ = await call("DELETE", f"{apps}/{names[0]}", user="team-a-reader")
        assert status == 403
        status, _ = await call(
            "PUT", f"{apps}/{names[0]}", user="team-a-reader", body=app_body(names[0], "team-a")
        )
        assert status == 403
        status, _ = await call(
            "POST", apps, user="team-a-syncer", body=app_body(f"{run}-new", "team-a")
        )
        assert status == 403
    finally:
        await _cleanup(installed, *names)


async def test_sync_rollback_and_terminate_write_the_operation(
    installed: KubeClient, served: Served, projects: None
) -> None:
    name = unique("api-op")
    other = unique("api-op-b")
    await _created(served, app_body(name, "team-a"))
    await _created(served, app_body(other, "team-b"))
    apps = f"{served.url}/api/v1/applications"
    try:
        status, err = await call(
            "POST",
            f"{apps}/{name}/sync",
            user="team-a-syncer",
            body={"syncOptions": {"items": ["Bogus=1"]}},
        )
        assert status == 400
        assert "syncOptions" in err["message"]
        body = {
            "revision": "main",
            "prune": True,
            "resources": [{"group": "", "kind": "ConfigMap", "name": "one"}],
            "syncOptions": {"items": ["ApplyOutOfSyncOnly=true"]},
            "strategy": {"apply": {"force": True}},
            "infos": [{"name": "reason", "value": "release"}],
            "retryStrategy": {"limit": 2},
        }
        status, synced = await call("POST", f"{apps}/{name}/sync", user="team-a-syncer", body=body)
        assert status == 200, synced
        operation = (await installed.get(API, "Application", name, "argocd"))["operation"]
        assert operation["initiatedBy"] == {"username": "team-a-syncer"}
        assert operation["sync"]["revision"] == "main"
        assert operation["sync"]["prune"] is True
        assert operation["sync"]["syncOptions"] == ["ApplyOutOfSyncOnly=true"]
        assert operation["sync"]["syncStrategy"] == {"apply": {"force": True}}
        assert operation["retry"] == {"limit": 2}

        await eventually(
            lambda: asyncio.sleep(0, (served.store.get(name, "argocd") or {}).get("operation")),
            "the operation in the informer",
        )
        status, err = await call("POST", f"{apps}/{name}/sync", user="team-a-syncer", body={})
        assert status == 409
        assert "in progress" in err["message"]
        status, _ = await call("POST", f"{apps}/{other}/sync", user="team-a-syncer", body={})
        assert status == 403
        status, _ = await call("DELETE", f"{apps}/{name}/operation", user="team-a-reader")
        assert status == 403
        status, _ = await call("DELETE", f"{apps}/{name}/operation", user="team-a-syncer")
        assert status == 200
        assert "operation" not in await installed.get(API, "Application", name, "argocd")

        # Rollback: to a history entry, refused while automated sync is on.
        history = [
            {"id": 0, "revision": "a" * 40, "deployedAt": "2026-01-01T00:00:00Z"},
            {"id": 1, "revision": "b" * 40, "deployedAt": "2026-01-02T00:00:00Z"},
        ]
        await installed.patch(
            API, "Application", name, "argocd", {"status": {"history": history}}, **STATUS
        )
        await eventually(
            lambda: asyncio.sleep(
                0,
                not (served.store.get(name, "argocd") or {}).get("operation")
                and ((served.store.get(name, "argocd") or {}).get("status") or {}).get("history"),
            ),
            "the history in the informer",
        )
        status, err = await call(
            "POST", f"{apps}/{name}/rollback", user="team-a-syncer", body={"id": 7}
        )
        assert status == 404
        status, _ = await call(
            "POST", f"{apps}/{name}/rollback", user="team-a-syncer", body={"id": 0}
        )
        assert status == 200
        operation = (await installed.get(API, "Application", name, "argocd"))["operation"]
        assert operation["sync"] == {"revision": "a" * 40}
        await installed.patch(API, "Application", name, "argocd", {"operation": None})

        await installed.patch(
            API, "Application", other, "argocd", {"spec": {"syncPolicy": {"automated": {}}}}
        )
        await eventually(
            lambda: asyncio.sleep(
                0, ((served.store.get(other, "argocd") or {}).get("spec") or {}).get("syncPolicy")
            ),
            "automated sync in the informer",
        )
        status, err = await call("POST", f"{apps}/{other}/rollback", body={"id": 0})
        assert status == 409
        assert "auto-sync" in err["message"]

        # Every change left an Event naming who made it.
        async def audited() -> list[str]:
            events = await installed.list(
                "v1", "Event", "argocd", field_selector=f"involvedObject.name={name}"
            )
            return [e["message"] for e in events if e.get("reason") == "OperationStarted"]

        messages = await eventually(audited, "audit events")
        assert any(m.startswith("team-a-syncer initiated sync") for m in messages)
    finally:
        await _cleanup(installed, name, other)
