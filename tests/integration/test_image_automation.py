"""Image update automation in the controller, against a real registry with token auth and
real git: a new tag pushed to the registry is committed to the app's repository by the
controller's polling loop, and the app syncs it; a registry that refuses the credentials
is a counted, backed-off failure that commits nothing."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.images.automation import PREFIX
from gitward.images.updater import CONFIGMAP, INTERVAL_ANNOTATION, next_delay
from gitward.localkube.process import free_ports
from tests.support.apps import deployment, unique
from tests.support.controller import application, running_loops
from tests.support.git import GitRepo, git
from tests.support.poll import eventually
from tests.support.registry import Registry

API = "argoproj.io/v1alpha1"


def kustomize_app(image: str) -> dict[str, str]:
    return {
        "app/kustomization.yaml": "resources:\n- deploy.yaml\n",
        "app/deploy.yaml": yaml.safe_dump(deployment("shop", image)),
    }


def pull_secret(name: str, registry: Registry, user: str, password: str) -> dict[str, Any]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry.host: {"auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": "argocd"},
        "stringData": {".dockerconfigjson": json.dumps(config)},
    }


def automated(name: str, repo: GitRepo, ns: str, image: str, secret: str) -> dict[str, Any]:
    app = application(name, repo, ns, {"prune": True})
    app["metadata"]["annotations"] = {
        PREFIX + "image-list": f"shop={image}",
        PREFIX + "shop.update-strategy": "semver",
        PREFIX + "shop.allow-tags": "regexp:^[0-9.]+$",
        PREFIX + "shop.pull-secret": f"pullsecret:argocd/{secret}",
        PREFIX + "write-back-method": "git",
        INTERVAL_ANNOTATION: "1s",
    }
    return app


async def live_image(kube: KubeClient, ns: str) -> str:
    try:
        deploy = await kube.get("apps/v1", "Deployment", "shop", ns)
    except NotFound:
        return ""
    return str(deploy["spec"]["template"]["spec"]["containers"][0]["image"])


def test_backoff_doubles_and_is_capped() -> None:
    assert [next_delay(60, n) for n in range(4)] == [60, 120, 240, 480]
    assert next_delay(60, 10) == 1800
    assert next_delay(3600, 3) == 3600  # an interval longer than the cap is kept
    assert next_delay(1, 1000) == 1800


async def test_a_pushed_tag_is_committed_and_synced(
    installed: KubeClient, registry: Registry, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns, bad = unique("imgauto"), unique("imgauto"), unique("imgauto-bad")
    image = f"{registry.host}/org/shop"
    registry.push("org/shop", "1.0.0")
    registry.push("org/shop", "latest")
    repo = git_repo("imgauto")
    repo.commit(kustomize_app(f"{image}:1.0.0"), "the shop at 1.0.0")
    other = git_repo("imgauto-bad")
    other.commit(kustomize_app(f"{image}:1.0.0"), "another shop")
    secrets = {"regcred": ("ci", "ci-password"), "wrongcred": ("ci", "not-the-password")}
    for secret, (user, password) in secrets.items():
        await kube.apply(pull_secret(secret, registry, user, password))
    registries = {"registries": [{"name": "local", "prefix": registry.host,
                                  "api_url": f"http://{registry.host}"}]}  # fmt: skip
    await kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": CONFIGMAP, "namespace": "argocd"},
                      "data": {"registries.conf": yaml.safe_dump(registries)}})  # fmt: skip
    port = free_ports(1)[0]
    try:
        async with running_loops(kube, port, images=True, notify=False, dora=False) as loops:
            await kube.create(automated(name, repo, ns, image, "regcred"))
            await kube.create(automated(bad, other, unique("imgauto-bad"), image, "wrongcred"))
            created = time.monotonic()

            async def running(tag: str) -> bool:
                return await live_image(kube, ns) == f"{image}:{tag}"

            await eventually(lambda: running("1.0.0"), "the first sync at 1.0.0")
            head = repo.head()
            await eventually(lambda: _polled(loops.images, name), "a poll that finds nothing newer")
            assert repo.head() == head  # nothing newer than what runs: nothing committed

            registry.push("org/shop", "1.1.0")
            registry.push("org/shop", "1.2.0-rc1")  # not allowed by the tag filter
            started = time.monotonic()
            await eventually(lambda: running("1.1.0"), "1.1.0 committed and synced", 90)
            print(f"registry push -> running 1.1.0: {time.monotonic() - started:.2f} s")
            log = git("log", "--format=%s", "-n", "2", cwd=repo.path).splitlines()
            assert log[0] == f"gitward image update {name}: {image}:1.1.0"
            written = git("show", f"HEAD:app/.argocd-source-{name}.yaml", cwd=repo.path)
            assert yaml.safe_load(written) == {"kustomize": {"images": [f"{image}:1.1.0"]}}
            events = await kube.list("v1", "Event", "argocd")
            assert any(e.get("reason") == "ImagesUpdated"
                       and e["involvedObject"]["name"] == name for e in events)  # fmt: skip

            # The refused credentials: failures counted, polls backed off, nothing committed.
            assert loops.images is not None
            updater = loops.images

            async def failed_three_times() -> bool:
                return updater.failures[bad] >= 3

            await eventually(failed_three_times, "three failed polls", 60)
            # Polls 1 s apart would fail three times in 2 s; backing off 2 s, then 4 s, in 6 s.
            assert time.monotonic() - created >= 5.5
            async with aiohttp.ClientSession() as http, http.get(f"{loops.url}/metrics") as resp:
                text = await resp.text()
            assert (
                f'gitward_image_updates_total{{image="{image}",name="{name}",'
                'namespace="argocd"} 1.0' in text
            )
            assert f'gitward_image_update_failures_total{{name="{bad}",namespace="argocd"}}' in text
            events = await kube.list("v1", "Event", "argocd")
            assert any(e.get("reason") == "ImageUpdateFailed" and e.get("type") == "Warning"
                       and e["involvedObject"]["name"] == bad for e in events)  # fmt: skip
            assert len(git("log", "--format=%H", cwd=other.path).split()) == 1
    finally:
        for api, kind, obj in ((API, "Application", name), (API, "Application", bad),
                               ("v1", "ConfigMap", CONFIGMAP), ("v1", "Secret", "regcred"),
                               ("v1", "Secret", "wrongcred")):  # fmt: skip
            with contextlib.suppress(NotFound):
                await kube.delete(api, kind, obj, "argocd")


async def _polled(updater: Any, name: str) -> bool:
    return name in updater.memory
