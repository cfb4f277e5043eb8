"""API server benchmark api-10k: 10,000 Applications served from ``gitward server``'s informer.

Run as ``.venv/bin/python -m bench.api`` (``GITWARD_BENCH_QUICK=1``: 1,000 apps;
``GITWARD_BENCH_API_APPS=N`` for any size; ``GITWARD_BENCH_CLUSTER`` names the local
cluster, re-created fresh).

N Applications (each with a five-resource status, as a synced app has) are written
before ``gitward server`` starts as its own process, over HTTPS with real accounts
and RBAC (the admin's session token; every listed app passes the RBAC check).
Measured, one request at a time: the first page of the list (``limit=100``), an app
get, and the whole list unpaged; then requests/s for gets and for list pages with 16
requests in flight (the client shares the machine's cores with the server), and the
server's CPU time per request, which the machine's load does not change as it changes
latency; the server's RSS and the load average. Baseline, same run: the same GET and
first-page LIST asked of the kube-apiserver directly.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    QUICK,
    cluster,
    create_apps,
    percentile,
    process_cpu_seconds,
    release,
    table,
    write,
)
from gitward.cluster import KubeClient, NotFound
from gitward.install import install
from gitward.localkube.process import free_ports
from gitward.server.api.query import encode_continue

Obj = dict[str, Any]
API = "argoproj.io/v1alpha1"
APPS = int(os.environ.get("GITWARD_BENCH_API_APPS", 1_000 if QUICK else 10_000))
CLUSTER = os.environ.get("GITWARD_BENCH_CLUSTER", "bench-api")
SAMPLES = 100 if QUICK else 300
IN_FLIGHT = 16
#: Which apps are asked for: random, but the same in every run.
rng = random.Random(14)  # noqa: S311 - which app to ask for, not a secret
RATE_SECONDS = 5.0 if QUICK else 10.0


def application(i: int) -> Obj:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {
            "name": f"app-{i:05d}",
            "namespace": "argocd",
            "labels": {"team": f"t{i % 10}"},
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example.com/org/apps.git",
                "path": f"apps/app-{i:05d}",
                "targetRevision": "main",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"n{i}"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def status(i: int) -> Obj:
    resources = [
        {
            "group": "",
            "version": "v1",
            "kind": "ConfigMap",
            "namespace": f"n{i}",
            "name": f"cm-{k}",
            "status": "Synced",
            "health": {"status": "Healthy"},
        }
        for k in range(5)
    ]
    return {
        "status": {
            "sync": {"status": "Synced", "revision": "a" * 40},
            "health": {"status": "Healthy"},
            "resources": resources,
            "reconciledAt": "2026-01-01T00:00:00Z",
        }
    }


class ServerProcess:
    def __init__(self, kubeconfig: Path, log: Path) -> None:
        self.port = free_ports(1)[0]
        self.url = f"https://localhost:{self.port}"
        argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
        argv += ["--namespace", "argocd", "server", "--listen", f"127.0.0.1:{self.port}"]
        argv += ["--log-level", "warning"]
        self.log = log.open("w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


async def latencies(call: Callable[[], Awaitable[None]], samples: int) -> list[float]:
    found = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        found.append(time.perf_counter() - started)
    return found


async def rate(
    call: Callable[[], Awaitable[None]], seconds: float, server: ServerProcess
) -> tuple[float, float]:
    """Requests/s with IN_FLIGHT at once, and the server's CPU milliseconds per request
    (what the machine's load does not change, unlike latency)."""
    done = 0
    cpu = server.cpu_seconds()
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await call()
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    per_s = done / (time.monotonic() - started)
    return per_s, (server.cpu_seconds() - cpu) * 1000 / max(done, 1)


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2)


async def measure(kube: KubeClient, server: ServerProcess) -> tuple[Obj, Obj]:
    secret = None
    while secret is None:
        try:
            secret = await kube.get("v1", "Secret", "argocd-server-tls", "argocd")
        except NotFound:
            await asyncio.sleep(0.2)
    tls = ssl.create_default_context(cadata=base64.b64decode(secret["data"]["tls.crt"]).decode())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls, limit=0)) as http:
        deadline = time.monotonic() + 600
        while True:
            try:
                async with http.get(f"{server.url}/readyz") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or server.proc.poll() is not None:
                raise SystemExit(f"the server did not become ready; see {server.log.name}")
            await asyncio.sleep(0.2)
        ready_s = time.monotonic() - server.started
        admin = await kube.get("v1", "Secret", "argocd-initial-admin-secret", "argocd")
        password = base64.b64decode(admin["data"]["password"]).decode()
        login = {"username": "admin", "password": password}
        async with http.post(f"{server.url}/api/v1/session", json=login) as resp:
            token = (await resp.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        names = [f"app-{i:05d}" for i in range(APPS)]

        async def get_json(url: str, params: dict[str, str] | None = None) -> Obj:
            async with http.get(url, headers=headers, params=params) as resp:
                assert resp.status == 200, await resp.text()
                body: Obj = await resp.json()
                return body

        async def first_page() -> None:
            page = await get_json(f"{server.url}/api/v1/applications", {"limit": "100"})
            assert len(page["items"]) == min(100, APPS)

        async def one_app() -> None:
            await get_json(f"{server.url}/api/v1/applications/{rng.choice(names)}")

        async def a_page() -> None:
            token = encode_continue((rng.choice(names), "argocd"))
            await get_json(f"{server.url}/api/v1/applications", {"limit": "100", "continue": token})

        async def whole_list() -> None:
            body = await get_json(f"{server.url}/api/v1/applications")
            assert len(body["items"]) == APPS

        await first_page()  # warm: connections, the TLS session
        page_s = await latencies(first_page, SAMPLES)
        get_s = await latencies(one_app, SAMPLES)
        full_s = await latencies(whole_list, 3 if QUICK else 5)
        get_rate, get_cpu = await rate(one_app, RATE_SECONDS, server)
        page_rate, page_cpu = await rate(a_page, RATE_SECONDS, server)

    async def kube_get() -> None:
        await kube.get(API, "Application", rng.choice(names), "argocd")

    async def kube_page() -> None:
        await kube.request(
            "GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications",
            params={"limit": "100"},
        )  # fmt: skip

    base_get = await latencies(kube_get, SAMPLES)
    base_page = await latencies(kube_page, SAMPLES)
    figures = {
        "apps": APPS,
        "server_ready_s": round(ready_s, 2),
        "server_rss_mb": round(server.rss_mb(), 1),
        "list_first_page_p50_ms": ms(page_s, 50),
        "list_first_page_p95_ms": ms(page_s, 95),
        "get_p50_ms": ms(get_s, 50),
        "get_p95_ms": ms(get_s, 95),
        "list_all_p50_ms": ms(full_s, 50),
        "get_per_s": round(get_rate, 1),
        "list_page_per_s": round(page_rate, 1),
        "server_cpu_ms_per_get": round(get_cpu, 2),
        "server_cpu_ms_per_list_page": round(page_cpu, 2),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "in_flight": IN_FLIGHT,
    }
    baselines = {
        "kube_get_p50_ms": ms(base_get, 50),
        "kube_get_p95_ms": ms(base_get, 95),
        "kube_list_page_p50_ms": ms(base_page, 50),
        "kube_list_page_p95_ms": ms(base_page, 95),
    }
    return figures, baselines


async def main() -> None:
    local = cluster(CLUSTER, fresh=True, nodes=1)
    try:
        async with await KubeClient.from_kubeconfig(str(local.kubeconfig)) as kube:
            await install(kube, "argocd")
            created_s = await create_apps(kube, APPS, application, status)
            with tempfile.TemporaryDirectory() as tmp:
                server = ServerProcess(local.kubeconfig, Path(tmp) / "server.log")
                try:
                    figures, baselines = await measure(kube, server)
                finally:
                    server.stop()
            figures["create_apps_s"] = round(created_s, 1)
    finally:
        release(local)
    path = write("api-10k", figures, baselines)
    rows = [(k, v) for k, v in {**figures, **baselines}.items()]
    print(table(["figure", "value"], rows))
    print(f"written to {path}")


if __name__ == "__main__":
    asyncio.run(main())
