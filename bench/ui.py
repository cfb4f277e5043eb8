"""Web UI benchmark ui-10k: the applications list of 10,000 apps, measured in the browser.

Run as ``.venv/bin/python -m bench.ui`` (``GITWARD_BENCH_QUICK=1`` for 1,000 apps;
``GITWARD_BENCH_UI_APPS`` for any size; ``GITWARD_BENCH_CLUSTER`` names the local
cluster, re-created fresh).

N Applications (spread over 20 projects' worth of labels, 3 clusters' worth of
destinations, with sync and health statuses written to their status subresource, as
a controller would) are created, then the whole server (API, auth, UI) starts and
Debian's chromium signs in. Measured, in the page:

* first render: from navigation start to the first page of tiles on screen (the
  list's first page of 500 drawn, the rest still arriving), median of 3 loads;
* all loaded: until every app is in the list;
* filter change: from a search keystroke, and from ticking a health filter, to the
  next painted frame (median and worst of 10 each);
* tab memory: the proportional set size (PSS) of the tab's renderer process (the
  largest renderer; chromium also keeps a spare one), and the JS heap.

Baseline, same run: the time the server takes to answer the whole list in one request
(``limit=0``), which any UI of these apps must at least wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page, async_playwright

from bench.common import QUICK, cluster, create_apps, release, table, write
from gitward.cluster import KubeClient
from gitward.install import install
from tests.support.uiserver import ADMIN_PASSWORD, ui_server

Obj = dict[str, Any]
API = "argoproj.io/v1alpha1"
APPS = int(os.environ.get("GITWARD_BENCH_UI_APPS", 1000 if QUICK else 10_000))
CLUSTER = os.environ.get("GITWARD_BENCH_CLUSTER", "bench-ui")
ROOT = Path(__file__).resolve().parents[1]
SYNC = ("Synced", "Synced", "Synced", "OutOfSync")
HEALTH = ("Healthy", "Healthy", "Healthy", "Progressing", "Degraded", "Missing")


def application(i: int) -> Obj:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {
            "name": f"app-{i:05d}",
            "namespace": "argocd",
            "labels": {"team": f"team-{i % 20:02d}", "tier": ("web", "api", "db")[i % 3]},
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": f"https://git.example.com/org/repo-{i % 50:02d}.git",
                "path": f"apps/app-{i:05d}",
                "targetRevision": "HEAD",
            },
            "destination": {
                "server": ("https://kubernetes.default.svc", "https://east", "https://west")[i % 3],
                "namespace": f"ns-{i % 200:03d}",
            },
            "syncPolicy": {"automated": {}} if i % 2 else {},
        },
    }


def status(i: int) -> Obj:
    return {
        "status": {
            "sync": {"status": SYNC[i % len(SYNC)], "revision": f"{i:040x}"},
            "health": {"status": HEALTH[i % len(HEALTH)]},
            "reconciledAt": "2026-01-01T00:00:00Z",
        }
    }


def _pss_bytes(pid: int) -> int:
    """Proportional set size: private pages plus a fair share of shared ones."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def renderer_memory_mb() -> tuple[float, float, int]:
    """PSS of the largest chromium renderer descending from this process (the tab's),
    of all of them together, and how many there are.

    PSS, not RSS: a renderer's RSS counts every shared library page in full, so summing
    RSS over processes counts chromium's code several times over.
    """
    parents: dict[int, int] = {}
    renderers: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            if b"--type=renderer" in (entry / "cmdline").read_bytes():
                renderers.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    me = os.getpid()

    def mine(pid: int) -> bool:
        for _ in range(64):
            if pid == me:
                return True
            if pid <= 1:
                return False
            pid = parents.get(pid, 0)
        return False

    sizes: list[int] = []
    for pid in renderers:
        if mine(pid):
            with contextlib.suppress(OSError):
                sizes.append(_pss_bytes(pid))
    return max(sizes, default=0) / 1e6, sum(sizes) / 1e6, len(sizes)


FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


async def timed_search(page: Page, text: str) -> float:
    ms: float = await page.evaluate(
        """async (text) => {
            const box = document.querySelector('input[type=search]');
            const t0 = performance.now();
            box.value = text;
            box.dispatchEvent(new Event('input'));
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return performance.now() - t0;
        }""",
        text,
    )
    return ms


async def timed_click(page: Page, selector: str) -> float:
    ms: float = await page.evaluate(
        """async (selector) => {
            const t0 = performance.now();
            document.querySelector(selector).click();
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return performance.now() - t0;
        }""",
        selector,
    )
    return ms


async def measure(url: str, chromium: str, count: int) -> Obj:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        # The page's CSP forbids eval; the measuring probes below are the harness's own.
        ctx = await browser.new_context(
            base_url=url, viewport={"width": 1280, "height": 800}, bypass_csp=True
        )
        page = await ctx.new_page()
        await page.goto("/login")
        await page.fill("input[name=username]", "admin")
        await page.fill("input[name=password]", ADMIN_PASSWORD)
        await page.click("form.login button[type=submit]")
        await page.wait_for_selector(".tile")
        firsts: list[float] = []
        loaded: list[float] = []
        for _ in range(3):
            await page.goto("/applications")
            await page.wait_for_function("window.__gitwardFirstRender !== undefined")
            await page.wait_for_function(
                f"document.querySelector('[data-test=count]')?.textContent.includes('of {count} ')",
                timeout=120_000,
            )
            loaded.append(await page.evaluate("performance.now()"))
            firsts.append(await page.evaluate("window.__gitwardFirstRender"))
        searches = [await timed_search(page, f"app-0{i}") for i in range(10)]
        await timed_search(page, "")
        clicks = []
        for _ in range(5):
            clicks.append(await timed_click(page, "input[data-filter=health][value=Degraded]"))
            clicks.append(await timed_click(page, "input[data-filter=health][value=Degraded]"))
        await page.evaluate(FRAME)
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Performance.enable")
        metrics = {
            m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]
        }
        tab, renderers_all, renderers = renderer_memory_mb()
        await browser.close()
    return {
        "first_render_ms": round(statistics.median(firsts), 1),
        "first_render_ms_runs": [round(x, 1) for x in firsts],
        "all_loaded_ms": round(statistics.median(loaded), 1),
        "search_ms_median": round(statistics.median(searches), 1),
        "search_ms_max": round(max(searches), 1),
        "health_filter_ms_median": round(statistics.median(clicks), 1),
        "health_filter_ms_max": round(max(clicks), 1),
        "tab_pss_mb": round(tab, 1),
        "renderers_pss_mb": round(renderers_all, 1),
        "renderer_processes": renderers,
        "js_heap_used_mb": round(metrics.get("JSHeapUsedSize", 0) / 1e6, 1),
        "dom_nodes": int(metrics.get("Nodes", 0)),
    }


async def whole_list_seconds(url: str) -> float:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}
        ) as resp:
            token = (await resp.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        best = float("inf")
        for _ in range(3):
            started = time.monotonic()
            async with http.get(f"{url}/api/v1/applications", headers=headers) as resp:
                await resp.read()
            best = min(best, time.monotonic() - started)
        return best


async def run(kubeconfig: Path, chromium: str) -> tuple[Obj, Obj]:
    kube = await KubeClient.from_kubeconfig(str(kubeconfig))
    try:
        await install(kube, "argocd")
        create_s = await create_apps(kube, APPS, application, status)
        async with ui_server(kube) as server:
            baseline = await whole_list_seconds(server.url)
            figures = await measure(server.url, chromium, APPS)
    finally:
        await kube.close()
    figures["apps"] = APPS
    figures["create_apps_s"] = round(create_s, 1)
    return figures, {"api_whole_list_ms": round(baseline * 1000, 1)}


def main() -> None:
    os.environ.setdefault("GITWARD_LOCAL_REPOSITORIES", tempfile.gettempdir())
    chromium = subprocess.run(
        [str(ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    local = cluster(CLUSTER, fresh=True)
    try:
        figures, baselines = asyncio.run(run(local.kubeconfig, chromium))
    finally:
        release(local)
    write("ui", figures, baselines)
    print(
        table(
            ["figure", "value", "target"],
            [
                (f"first render ms ({APPS} apps)", figures["first_render_ms"], "< 1000"),
                ("all apps loaded ms", figures["all_loaded_ms"], ""),
                ("search keystroke to paint ms (median)", figures["search_ms_median"], "< 300"),
                ("health filter to paint ms (median)", figures["health_filter_ms_median"], "< 300"),
                ("tab memory MB (its renderer's PSS)", figures["tab_pss_mb"], "< 300"),
                ("all renderers' PSS MB", figures["renderers_pss_mb"], ""),
                ("JS heap MB", figures["js_heap_used_mb"], ""),
                ("API: whole list in one request ms", baselines["api_whole_list_ms"], ""),
            ],
        )
    )


if __name__ == "__main__":
    main()
