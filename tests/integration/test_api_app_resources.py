"""What an app deployed, through the API: a sync asked of the API and run by a real
controller, then the resource tree, managed resources, manifests, one resource, events,
sync windows and revision metadata."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from gitward.cluster import KubeClient, NotFound
from tests.support.apiserver import Served, call, serving
from tests.support.apps import configmap, deployment, unique, yaml_docs
from tests.support.controller import running_controller
from tests.support.git import GitRepo
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
pytestmark = pytest.mark.cluster
SECRET_VALUE = "hunter2-do-not-show"


def _secret(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {"password": SECRET_VALUE},
    }


async def _succeeded(served: Served, name: str) -> dict[str, Any] | None:
    obj = served.store.get(name, "argocd") or {}
    state = (obj.get("status") or {}).get("operationState") or {}
    if state.get("phase") == "Succeeded" and not obj.get("operation"):
        return obj
    return None


async def test_sync_through_the_api_then_read_what_was_deployed(
    installed: KubeClient,
    namespace: str,
    git_repo: Callable[[str], GitRepo],
) -> None:
    repo = git_repo("api-resources")
    sha = repo.commit(
        {
            "app/all.yaml": yaml_docs(
                configmap("one"), _secret("creds"), deployment("web", "nginx:1.25")
            )
        },
        "first release\n\nwith a body",
    )
    name = unique("api-res")
    body = {
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        },
    }
    apps = ""
    async with serving(installed) as served, running_controller(installed, 120.0):
        apps = f"{served.url}/api/v1/applications"
        try:
            status, created = await call("POST", apps, body=body)
            assert status == 200, created
            await eventually(lambda: asyncio.sleep(0, served.store.get(name, "argocd")), "the app")
            status, synced = await call("POST", f"{apps}/{name}/sync", body={"prune": True})
            assert status == 200, synced
            obj = await eventually(lambda: _succeeded(served, name), "the sync to succeed")
            assert obj["status"]["operationState"]["operation"]["initiatedBy"] == {
                "username": "admin"
            }
            await _read_everything(installed, served, apps, name, namespace, sha)
        finally:
            try:
                await installed.patch(
                    API, "Application", name, "argocd", {"metadata": {"finalizers": None}}
                )
                await delete_and_wait(installed, API, "Application", name, "argocd")
            except NotFound:
                pass


async def _read_everything(
    kube: KubeClient, served: Served, apps: str, name: str, namespace: str, sha: str
) -> None:
    url = f"{apps}/{name}"

    # get ?refresh waits for the controller to process the refresh.
    status, got = await call("GET", url, refresh="normal")
    assert status == 200
    assert "argocd.argoproj.io/refresh" not in (got["metadata"].get("annotations") or {})

    # The resource tree: Deployment -> ReplicaSet -> Pod, by ownerReferences.
    async def tree_with_pod() -> dict[str, Any] | None:
        _, tree = await call("GET", f"{url}/resource-tree")
        kinds = {n["kind"] for n in tree.get("nodes", [])}
        return tree if {"Deployment", "ReplicaSet", "Pod"} <= kinds else None

    tree = await eventually(tree_with_pod, "the Pod in the resource tree")
    by_kind = {n["kind"]: n for n in tree["nodes"]}
    assert by_kind["ReplicaSet"]["parentRefs"][0]["uid"] == by_kind["Deployment"]["uid"]
    assert by_kind["Pod"]["parentRefs"][0]["uid"] == by_kind["ReplicaSet"]["uid"]
    assert by_kind["Deployment"]["images"] == ["nginx:1.25"]
    assert by_kind["Deployment"]["health"]["status"] in ("Healthy", "Progressing")
    assert tree["orphanedNodes"] == []

    # Drift, then the managed resources show it; a Secret's value never leaves.
    await kube.patch("v1", "ConfigMap", "one", namespace, {"data": {"k": "drifted"}})
    status, managed = await call("GET", f"{url}/managed-resources")
    assert status == 200
    assert SECRET_VALUE not in json.dumps(managed)
    items = {(i["kind"], i["name"]): i for i in managed["items"]}
    one = items[("ConfigMap", "one")]
    assert json.loads(one["liveState"])["data"]["k"] == "drifted"
    assert json.loads(one["targetState"])["data"]["k"] == "one"
    assert one["modified"] is True
    assert "drifted" in one["diff"]
    assert json.loads(items[("Secret", "creds")]["liveState"])["data"]["password"] == "++++++++"

    status, manifests = await call("GET", f"{url}/manifests")
    assert status == 200
    assert manifests["revision"] == sha
    assert SECRET_VALUE not in json.dumps(manifests)
    assert {json.loads(m)["kind"] for m in manifests["manifests"]} == {
        "ConfigMap",
        "Secret",
        "Deployment",
    }

    # One resource: only what the app manages; patch and delete through the app.
    where = {"namespace": namespace, "version": "v1", "kind": "ConfigMap"}
    status, res = await call("GET", f"{url}/resource", resourceName="one", **where)
    assert status == 200
    assert json.loads(res["manifest"])["data"]["k"] == "drifted"
    status, _ = await call("GET", f"{url}/resource", resourceName="kube-root-ca.crt", **where)
    assert status == 404
    status, res = await call(
        "GET", f"{url}/resource", resourceName="creds", **{**where, "kind": "Secret"}
    )
    assert SECRET_VALUE not in res["manifest"]
    status, res = await call(
        "POST",
        f"{url}/resource",
        body=json.dumps({"data": {"k": "patched"}}),
        resourceName="one",
        patchType="merge",
        **where,
    )
    assert status == 200, res
    assert (await kube.get("v1", "ConfigMap", "one", namespace))["data"]["k"] == "patched"
    status, _ = await call("DELETE", f"{url}/resource", resourceName="one", **where)
    assert status == 200

    async def configmap_gone() -> bool:
        try:
            await kube.get("v1", "ConfigMap", "one", namespace)
        except NotFound:
            return True
        return False

    await eventually(configmap_gone, "the ConfigMap deleted")

    status, events = await call("GET", f"{url}/events")
    assert status == 200
    reasons = {e["reason"] for e in events["items"]}
    assert {"OperationStarted", "ResourceCreated"} <= reasons

    status, windows = await call("GET", f"{url}/syncwindows")
    assert status == 200
    assert windows == {"assignedWindows": [], "activeWindows": [], "canSync": True}

    status, meta = await call("GET", f"{url}/revisions/{sha}/metadata")
    assert status == 200, meta
    assert meta["message"] == "first release\n\nwith a body"
    assert meta["date"].endswith("Z")
    assert "@" in meta["author"]
    status, meta = await call("GET", f"{url}/revisions/main/metadata")
    assert status == 200
    for hostile in ("--upload-pack=touch", "a..b"):
        status, err = await call("GET", f"{url}/revisions/{hostile}/metadata")
        assert status == 400, err
