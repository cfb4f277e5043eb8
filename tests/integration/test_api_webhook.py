"""``POST /api/webhook`` on the API server: a verified push asks the controller to refresh
the apps it may change, through Argo CD's refresh annotation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

import aiohttp
import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.server.app import SERVER_ROUTES
from tests.support.apiserver import serving
from tests.support.apps import unique
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
SECRET = "api-webhook-s3cret"
pytestmark = pytest.mark.cluster


def app(name: str, repo: str, revision: str = "") -> dict[str, Any]:
    source = {"repoURL": repo, "path": "a"}
    if revision:
        source["targetRevision"] = revision
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
        },
    }


def push(repo: str) -> bytes:
    body = {"ref": "refs/heads/main", "repository": {"clone_url": repo, "default_branch": "main"}}
    return json.dumps(body).encode()


def signed(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


async def _set_secret(kube: KubeClient, value: str | None) -> None:
    data = {"webhook.github.secret": base64.b64encode(value.encode()).decode() if value else None}
    try:
        await kube.patch("v1", "Secret", "argocd-secret", "argocd", {"data": data})
    except NotFound:
        await kube.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "argocd-secret", "namespace": "argocd"},
                "data": {k: v for k, v in data.items() if v},
            }
        )


async def test_a_verified_push_asks_for_a_refresh_of_the_apps_it_changes(
    installed: KubeClient,
) -> None:
    run = unique("hook")
    repo = f"https://git.example.com/{run}.git"
    names = {"main": f"{run}-main", "tag": f"{run}-tag", "other": f"{run}-other"}
    await installed.create(app(names["main"], repo))
    await installed.create(app(names["tag"], repo, "v1.0.0"))
    await installed.create(app(names["other"], f"https://git.example.com/{run}-x.git"))
    await _set_secret(installed, SECRET)
    try:
        async with serving(installed, routes=SERVER_ROUTES) as served:
            await eventually(
                lambda: asyncio.sleep(0, served.store.get(names["other"], "argocd")),
                "the apps in the informer",
            )
            url = f"{served.url}/api/webhook"
            body = push(repo)
            async with aiohttp.ClientSession() as http:
                async with http.post(url, data=body, headers=signed(body, "wrong")) as resp:
                    assert resp.status == 401
                async with http.post(url, data=b"{", headers=signed(b"{", SECRET)) as resp:
                    assert resp.status == 400
                async with http.post(url, data=body, headers=signed(body, SECRET)) as resp:
                    assert resp.status == 200, await resp.text()
                    assert (await resp.json())["refreshed"] == [f"argocd/{names['main']}"]

            def annotations(obj: dict[str, Any]) -> dict[str, str]:
                return dict(obj["metadata"].get("annotations") or {})

            stored = await installed.get(API, "Application", names["main"], "argocd")
            assert annotations(stored)["argocd.argoproj.io/refresh"] == "normal"
            for other in ("tag", "other"):
                stored = await installed.get(API, "Application", names[other], "argocd")
                assert "argocd.argoproj.io/refresh" not in annotations(stored)
    finally:
        await _set_secret(installed, None)
        for name in names.values():
            await delete_and_wait(installed, API, "Application", name, "argocd")
