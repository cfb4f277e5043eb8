"""Issue 17's acceptance, end to end with real parts: ``gitward init`` a repository; push an
image 1.0.0 to a real registry; ``gitward image set ... --push`` as CI would; the push webhook
reaches ``gitward controller``; the controller syncs; ``app get`` shows the new image;
``gitward stats`` counts the deployment with its lead time; a webhook receiver got
``on-deployed``."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from tests.support.apps import app_json, ok_json
from tests.support.brief import gitward
from tests.support.controller import controller_process, wait_ready
from tests.support.git import GitRepo, git
from tests.support.poll import eventually
from tests.support.receivers import delivered, deliveries, notifications_config, webhook_receiver
from tests.support.registry import Registry

API = "argoproj.io/v1alpha1"
CM = "argocd-notifications-cm"


async def test_commit_to_running_image_with_stats_and_notification(
    installed: KubeClient, kubeconfig: Path, tmp_path: Path, registry: Registry
) -> None:
    kube = installed
    service = f"shop-{uuid.uuid4().hex[:6]}"
    app, image = f"{service}-dev", f"{registry.host}/{service}"
    origin = GitRepo(tmp_path / "git" / service)  # the "GitHub" repository (a file:// remote)
    done = gitward(kubeconfig, "init", str(origin.path), "--name", service,
                   "--repo-url", origin.url, "--image", image)  # fmt: skip
    assert done.returncode == 0, done.stderr
    origin.commit({}, "gitward init")
    port = free_ports(1)[0]
    base = f"http://127.0.0.1:{port}"
    async with webhook_receiver() as receiver:
        await kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": CM, "namespace": "argocd"},
                          "data": notifications_config(receiver)})  # fmt: skip
        manifest: dict[str, Any] = yaml.safe_load(
            (origin.path / "argocd" / "application-dev.yaml").read_text()
        )
        manifest["metadata"]["annotations"] = {
            "notifications.argoproj.io/subscribe.on-deployed.receiver": "team"
        }
        app_file = tmp_path / "application-dev.yaml"
        app_file.write_text(yaml.safe_dump(manifest))
        try:
            with controller_process(kubeconfig, tmp_path / "controller.log", port):
                await wait_ready(base)
                created = gitward(kubeconfig, "app", "create", "-f", str(app_file))
                assert created.returncode == 0, created.stderr
                await deliveries(receiver, app, 1)  # the scaffold's 0.1.0 is deployed
                first_done = time.time()

                # CI: build and push the image, then "update the manifest with the new tag".
                digest = registry.push(service, "1.0.0")
                assert digest.startswith("sha256:")
                ci = tmp_path / "ci"
                git("clone", "--quiet", origin.url, str(ci))
                pushed = gitward(kubeconfig, "image", "set", "--path", str(ci / "dev"),
                                 f"{image}:1.0.0", "--push", "-o", "json")  # fmt: skip
                result = ok_json(pushed)
                assert result["pushed"] is True
                commit = result["commit"]
                assert origin.head("main") == commit

                # The Git host's push webhook; the controller's timer (120 s) is far off.
                started = time.monotonic()
                body = json.dumps({"ref": "refs/heads/main",
                                   "repository": {"clone_url": origin.url}})  # fmt: skip
                headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(f"{base}/api/webhook", data=body, headers=headers) as resp,
                ):
                    assert resp.status == 200
                    assert app in (await resp.json())["refreshed"]

                async def running_new_image() -> dict[str, Any] | None:
                    got = app_json(kubeconfig, app)
                    status = got.get("status") or {}
                    healthy = (status.get("health") or {}).get("status") == "Healthy"
                    images = (status.get("summary") or {}).get("images") or []
                    new = (
                        f"{image}:1.0.0" in images
                        and (status.get("sync") or {}).get("revision") == commit
                    )
                    return got if new and healthy else None

                got = await eventually(running_new_image, "app get to show 1.0.0", 60)
                print(f"webhook -> app get shows 1.0.0: {time.monotonic() - started:.2f} s")
                assert got["status"]["sync"]["status"] == "Synced"
                deploy = await kube.get("apps/v1", "Deployment", service, f"{service}-dev")
                container = deploy["spec"]["template"]["spec"]["containers"][0]
                assert container["image"] == f"{image}:1.0.0"

                await deliveries(receiver, app, 2)
                assert delivered(receiver, app)[-1] == commit

                # stats: the CI deployment, with its lead time from the image set commit.
                # (The controller stores a record a few seconds after what it records.)
                async def recorded() -> dict[str, Any] | None:
                    window = f"{int(time.time() - first_done) + 1}s"
                    done = gitward(kubeconfig, "stats", app, "--since", window, "-o", "json")
                    if "no deliveries recorded yet" in done.stderr:
                        return None
                    figures = ok_json(done)
                    return figures if figures["lead_time_median"] is not None else None

                figures = await eventually(recorded, "stats to show the CI deployment", 30)
                assert figures["deployments"] == 1
                assert figures["failed"] == 0
                assert 0 <= figures["lead_time_median"] < 60
                everything = ok_json(gitward(kubeconfig, "stats", app, "-o", "json"))
                assert everything["deployments"] == 2  # the scaffold's first deploy, and CI's
                text = gitward(kubeconfig, "stats", app).stdout
                assert "lead time for changes" in text
        finally:
            with contextlib.suppress(NotFound):
                await kube.patch(API, "Application", app, "argocd",
                                 {"metadata": {"finalizers": None}})  # fmt: skip
                await kube.delete(API, "Application", app, "argocd")
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "ConfigMap", CM, "argocd")
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "Namespace", f"{service}-dev", None)
