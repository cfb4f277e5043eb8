"""``make screenshots``: the web UI's main pages as PNGs in ``docs/images/``.

Brings up a local cluster of its own (``screenshots``), installs gitward, starts a
controller and the whole server, gives them a few Applications from a real Git
repository (one synced by auto-sync, one waiting for a sync, one of another team),
and photographs the pages with Debian's chromium at 1280x800 (and one on a phone).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from playwright.async_api import Page, async_playwright

from gitward import localkube
from gitward.cluster import KubeClient
from gitward.install import install
from gitward.localkube.process import free_ports
from gitward.source.policy import LOCAL_REPOSITORIES_ENV
from tests.support.controller import controller_process, wait_ready
from tests.support.git import GitRepo
from tests.support.poll import eventually
from tests.support.uiserver import ADMIN_PASSWORD, ui_server

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
API = "argoproj.io/v1alpha1"


def _manifests(replicas: int, greeting: str) -> str:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-config"},
        "data": {"greeting": greeting},
    }
    return yaml.safe_dump_all([deployment, service, config], sort_keys=False)


def _app(name: str, repo: GitRepo, path: str, team: str, automated: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
    if automated:
        policy["automated"] = {"prune": True, "selfHeal": True}
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": {"team": team}},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": policy,
        },
    }


async def _seed(kube: KubeClient, work: Path) -> None:
    repo = GitRepo(work / "platform")
    repo.commit({"web/all.yaml": _manifests(3, "hello"), "api/all.yaml": _manifests(1, "hi")})
    repo.commit({"web/all.yaml": _manifests(3, "bonjour")}, "web: say bonjour")
    apps = [
        _app("guestbook", repo, "web", "storefront", True),
        _app("checkout", repo, "api", "storefront", True),
        _app("billing", repo, "api", "payments", False),
        _app("search", repo, "web", "discovery", False),
    ]
    for app in apps:
        await kube.apply(app)

    async def settled() -> bool:
        found = await kube.list(API, "Application", "argocd")
        return all(
            ((a.get("status") or {}).get("health") or {}).get("status") == "Healthy"
            for a in found
            if (a["spec"].get("syncPolicy") or {}).get("automated") is not None
        ) and all((a.get("status") or {}).get("sync") for a in found)

    await eventually(settled, "the auto-synced apps to be Healthy", timeout=120)


async def _shoot(page: Page, name: str) -> None:
    await page.wait_for_timeout(300)  # let the last frame paint; nothing is waited for by it
    await page.screenshot(path=str(IMAGES / f"{name}.png"))
    print(f"docs/images/{name}.png")


async def _photograph(url: str, chromium: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        ctx = await browser.new_context(
            base_url=url, viewport={"width": 1280, "height": 800}, color_scheme="light"
        )
        page = await ctx.new_page()
        await page.goto("/login")
        await page.wait_for_selector("form.login")
        await _shoot(page, "sign-in")
        await page.fill("input[name=username]", "admin")
        await page.fill("input[name=password]", ADMIN_PASSWORD)
        await page.click("form.login button[type=submit]")
        await page.wait_for_selector(".tile[data-app=guestbook]")
        await _shoot(page, "applications")
        await page.goto("/applications?view=list&sync=Synced")
        await page.wait_for_selector(".row[data-app=guestbook]")
        await _shoot(page, "applications-list")
        await page.goto("/applications/argocd/guestbook")
        await page.wait_for_selector("[data-test=tree] .node[data-name^='web-']")
        await _shoot(page, "application-tree")
        await page.goto("/applications/argocd/search")
        await page.locator("[data-test=tree] .node[data-kind=Deployment]").click()
        await page.locator("[data-tab=desired]").click()
        await page.wait_for_selector("[data-test=desired]")
        await _shoot(page, "resource-panel")
        await page.goto("/applications/argocd/guestbook")
        await page.locator("[data-test=tree] .node[data-kind=ConfigMap]").click()
        await page.locator("[data-tab=diff]").click()
        await page.wait_for_selector("[data-test=diff]")
        await _shoot(page, "resource-diff")
        await page.goto("/applications/argocd/billing")
        await page.get_by_role("button", name="Sync", exact=True).click()
        await page.locator(".dialog input[name=prune]").check()
        await _shoot(page, "sync-dialog")
        await page.goto("/applications/argocd/guestbook?view=history")
        await page.wait_for_selector("[data-test=history]")
        await _shoot(page, "application-history")
        await page.goto("/settings")
        await page.wait_for_selector("[data-test=settings]")
        await _shoot(page, "settings")
        await page.emulate_media(color_scheme="dark")
        await page.evaluate("localStorage.setItem('gitward.theme', 'dark')")
        await page.goto("/applications")
        await page.wait_for_selector(".tile[data-app=guestbook]")
        await _shoot(page, "applications-dark")
        await ctx.close()
        phone = await browser.new_context(
            base_url=url, viewport={"width": 390, "height": 844}, device_scale_factor=1
        )
        page = await phone.new_page()
        await page.goto("/login")
        await page.fill("input[name=username]", "admin")
        await page.fill("input[name=password]", ADMIN_PASSWORD)
        await page.click("form.login button[type=submit]")
        await page.wait_for_selector(".tile[data-app=guestbook]")
        await _shoot(page, "applications-phone")
        await browser.close()


async def _run(cluster: localkube.LocalCluster, chromium: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="gitward-screenshots-"))
    kube = await KubeClient.from_kubeconfig(str(cluster.kubeconfig))
    try:
        await install(kube, "argocd")
        port = free_ports(1)[0]
        with controller_process(cluster.kubeconfig, work / "controller.log", port):
            await wait_ready(f"http://127.0.0.1:{port}")
            await _seed(kube, work)
            async with ui_server(kube) as server:
                await _photograph(server.url, chromium)
    finally:
        await kube.close()


def main() -> None:
    os.environ.setdefault(LOCAL_REPOSITORIES_ENV, tempfile.gettempdir())
    chromium = subprocess.run(
        [str(ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    IMAGES.mkdir(parents=True, exist_ok=True)
    cluster = localkube.LocalCluster("screenshots")
    cluster.up(localkube.ensure(), nodes=3)
    try:
        asyncio.run(_run(cluster, chromium))
    finally:
        cluster.down()


if __name__ == "__main__":
    main()
