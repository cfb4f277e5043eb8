"""``gitward controller`` sends Argo CD Notifications: fed by its own watch of Applications,
once per state change across restarts, counted in /metrics under Argo CD's metric name, and
not at all with ``--no-notifications``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import application, controller_process, wait_ready
from tests.support.git import GitRepo
from tests.support.poll import eventually
from tests.support.receivers import delivered, deliveries, notifications_config, webhook_receiver

API = "argoproj.io/v1alpha1"
CM = "argocd-notifications-cm"


async def get_text(url: str) -> tuple[int, str]:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status, await resp.text()
    except aiohttp.ClientError:
        return 0, ""


async def push(base: str, repo: GitRepo) -> None:
    body = {"ref": "refs/heads/main", "repository": {"clone_url": repo.url}}
    async with aiohttp.ClientSession() as http:
        headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
        async with http.post(f"{base}/api/webhook", data=json.dumps(body), headers=headers) as r:
            assert r.status == 200, await r.text()


async def test_the_controller_notifies_once_per_deployment(
    installed: KubeClient,
    kubeconfig: Path,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    name, ns = unique("notified"), unique("notified")
    repo = git_repo("notified")
    first = repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    port = free_ports(1)[0]
    base = f"http://127.0.0.1:{port}"
    async with webhook_receiver() as receiver:
        await kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": CM, "namespace": "argocd"},
                          "data": notifications_config(receiver)})  # fmt: skip
        app = application(name, repo, ns, {"prune": True})
        app["metadata"]["annotations"] = {
            "notifications.argoproj.io/subscribe.on-deployed.receiver": "ops",
            "notifications.argoproj.io/subscribe.on-deployed.broken": "ops",
        }
        await kube.create(app)
        try:
            with controller_process(kubeconfig, tmp_path / "controller-1.log", port):
                await wait_ready(base)
                started = time.monotonic()
                await deliveries(receiver, name, 1)
                print(f"created -> on-deployed received: {time.monotonic() - started:.2f} s")
                # More events for the app (a hard refresh: two annotation writes and a
                # status write): the state did not change, so nothing more is sent.
                await kube.patch(API, "Application", name, "argocd",
                                 {"metadata": {"annotations": {
                                     "argocd.argoproj.io/refresh": "hard"}}})  # fmt: skip
                await asyncio.sleep(4)
                assert delivered(receiver, name) == [first]

                async def counted() -> str | None:
                    text = (await get_text(f"{base}/metrics"))[1]
                    return text if 'service="broken"' in text else None

                text = await eventually(counted, "failed deliveries in /metrics")
                assert (
                    'argocd_notifications_deliveries_total{service="receiver",succeeded="true",'
                    'trigger="on-deployed"} 1.0' in text
                )
                failed = next(
                    line for line in text.splitlines()
                    if line.startswith("argocd_notifications_deliveries_total")
                    and 'service="broken"' in line
                )  # fmt: skip
                assert 'succeeded="false"' in failed
                assert float(failed.rsplit(" ", 1)[1]) >= 1
                assert "gitward_app_info" in text  # beside gitward's own metrics

            # Off: a new commit is deployed, and nobody hears of it.
            second = repo.commit({"app/cm.yaml": yaml_docs(configmap("two"))})
            with controller_process(
                kubeconfig, tmp_path / "controller-2.log", port, "--no-notifications"
            ):
                await wait_ready(base)
                await push(base, repo)

                async def synced_second() -> bool:
                    current = await kube.get(API, "Application", name, "argocd")
                    status = current.get("status") or {}
                    return (status.get("sync") or {}).get("revision") == second and (
                        status.get("health") or {}
                    ).get("status") == "Healthy"

                await eventually(synced_second, "the second commit synced", 60)
                await asyncio.sleep(2)
                assert delivered(receiver, name) == [first]
                assert "argocd_notifications" not in (await get_text(f"{base}/metrics"))[1]

            # On again: the second deployment is announced once; the first is not repeated.
            with controller_process(kubeconfig, tmp_path / "controller-3.log", port):
                await wait_ready(base)
                await deliveries(receiver, name, 2)
                await asyncio.sleep(3)
                assert delivered(receiver, name) == [first, second]
        finally:
            for api, kind, obj, where in ((API, "Application", name, "argocd"),
                                          ("v1", "ConfigMap", CM, "argocd")):  # fmt: skip
                with contextlib.suppress(NotFound):
                    await kube.delete(api, kind, obj, where)
