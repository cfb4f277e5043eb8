"""The controller's webhook, metrics and health endpoints, on a real controller."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.controller import Controller
from gitward.localkube.process import free_ports
from gitward.server import ControllerServer
from gitward.services import Services, build_controller
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import application
from tests.support.git import GitRepo
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
SECRET = "webhook-s3cret"


@pytest.fixture
async def served(installed: KubeClient) -> AsyncIterator[tuple[Controller, str]]:
    """Controller + HTTP server; polling every 120 s, so only webhooks bring changes fast."""
    kube = installed
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "argocd-secret", "namespace": "argocd"},
            "stringData": {"webhook.github.secret": SECRET},
        }
    )
    ctl = build_controller(await Services.load(kube, "argocd", long_lived=True))
    server = ControllerServer(ctl, kube, "argocd", max_payload=64 * 1024)
    port = free_ports(1)[0]
    await server.start("127.0.0.1", port)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    yield ctl, f"http://127.0.0.1:{port}"
    stop.set()
    await asyncio.wait_for(task, 30)
    await server.stop()
    await delete_and_wait(kube, "v1", "Secret", "argocd-secret", "argocd")


def push_body(repo: GitRepo) -> bytes:
    return json.dumps(
        {"ref": "refs/heads/main", "repository": {"clone_url": repo.url, "default_branch": "main"}}
    ).encode()


def signed(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


async def _data(kube: KubeClient, ns: str) -> dict[str, Any] | None:
    try:
        return dict((await kube.get("v1", "ConfigMap", "one", ns)).get("data") or {})
    except NotFound:
        return None


async def test_push_webhook_refreshes_and_syncs_matching_apps(
    installed: KubeClient,
    served: tuple[Controller, str],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    _ctl, base = served
    name, ns = unique("hook"), unique("hook")
    repo = git_repo("hook")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    await kube.create(application(name, repo, ns, {"prune": True}))
    await eventually(lambda: _data(kube, ns), "the first automated sync")
    changed = configmap("one")
    changed["data"] = {"k": "pushed"}
    repo.commit({"app/cm.yaml": yaml_docs(changed)})
    body = push_body(repo)

    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/api/webhook", data=body, headers=signed(body, "wrong")
        ) as resp:
            assert resp.status == 401
        big = b"{" + b" " * (70 * 1024) + b"}"
        async with http.post(f"{base}/api/webhook", data=big, headers=signed(big, SECRET)) as resp:
            assert resp.status == 413
        started = time.monotonic()
        async with http.post(
            f"{base}/api/webhook", data=body, headers=signed(body, SECRET)
        ) as resp:
            assert resp.status == 200
            assert name in (await resp.json())["refreshed"]

        async def pushed() -> bool:
            return await _data(kube, ns) == {"k": "pushed"}

        await eventually(pushed, "the pushed commit to be synced after the webhook", timeout=30)
        print(f"push -> synced via webhook: {time.monotonic() - started:.2f} s")

        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/readyz") as resp:
            assert resp.status == 200

        async def metrics_show_synced() -> str | None:
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
            line = next(
                (
                    x
                    for x in text.splitlines()
                    if f'name="{name}"' in x and x.startswith("gitward_app_info")
                ),
                "",
            )
            return text if 'sync_status="Synced"' in line else None

        text = await eventually(metrics_show_synced, "/metrics to show the app Synced")
        assert (
            'gitward_app_sync_total{name="' + name + '",namespace="argocd",phase="Succeeded"}'
            in text
        )
        assert 'verb="APPLY"' in text
        assert 'status="200"' in text
        objects = next(
            x for x in text.splitlines() if x.startswith("gitward_cluster_cache_objects")
        )
        assert float(objects.rsplit(" ", 1)[1]) >= 1  # at least the app's ConfigMap
        assert "gitward_controller_shards_owned 1.0" in text
        assert "gitward_app_reconcile_seconds_bucket" in text


async def test_metrics_show_a_manual_app_out_of_sync_and_nothing_synced(
    installed: KubeClient,
    served: tuple[Controller, str],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    _ctl, base = served
    name, ns = unique("manual-metrics"), unique("manual-metrics")
    repo = git_repo("manual-metrics")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    await kube.create(application(name, repo, ns, None))
    try:
        async with aiohttp.ClientSession() as http:

            async def info_line() -> str | None:
                async with http.get(f"{base}/metrics") as resp:
                    text = await resp.text()
                for line in text.splitlines():
                    if line.startswith("gitward_app_info") and f'name="{name}"' in line:
                        return line + "\n" + text
                return None

            found = await eventually(info_line, "the manual app in /metrics")
        line, text = found.split("\n", 1)
        assert 'sync_status="OutOfSync"' in line
        assert 'health_status="Missing"' in line
        assert 'autosync_enabled="false"' in line
        assert f'gitward_app_sync_total{{name="{name}"' not in text  # nothing was synced
        assert await _data(kube, ns) is None
    finally:
        await kube.delete(API, "Application", name, "argocd")
