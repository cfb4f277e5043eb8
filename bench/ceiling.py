"""ceiling: the API server's raw server-side-apply throughput, the limit for any sync.

Run as ``.venv/bin/python -m bench.ceiling`` after ``bench.sync`` (it reads
``bench/results/sync-1k.json`` to state sync-1k's share of the ceiling). On a
fresh cluster of the same kind, a minimal client — one aiohttp session, bodies
serialised before the clock starts, no discovery, no parsing of responses —
applies sync-1k's N objects into a fresh namespace at concurrency 1..64.
Deployments have ``replicas: 0`` as in sync-1k: Pods would only add scheduler
and kwok load that has nothing to do with the apply path being measured.
Writes ``bench/results/ceiling.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from bench.common import QUICK, RESULTS, cluster, release, table, write
from bench.sync import manifests
from gitward.cluster import KubeClient
from gitward.cluster.kubeconfig import load

Obj = dict[str, Any]
LEVELS = (1, 4, 16, 64) if QUICK else (1, 2, 4, 8, 16, 32, 64)
PLURALS = {"ConfigMap": ("api/v1", "configmaps"), "Service": ("api/v1", "services")}
PLURALS["Deployment"] = ("apis/apps/v1", "deployments")


async def apply_all(
    session: aiohttp.ClientSession,
    server: str,
    headers: dict[str, str],
    bodies: list[tuple[str, bytes]],
    concurrency: int,
) -> float:
    """Seconds to apply every (path, body) with ``concurrency`` requests in flight."""
    queue = list(reversed(bodies))
    failures: list[str] = []

    async def worker() -> None:
        while queue:
            path, body = queue.pop()
            async with session.patch(server + path, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status >= 400:
                    failures.append(f"{path}: HTTP {resp.status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} applies failed, e.g. {failures[0]}")
    return elapsed


def requests_for(namespace: str, docs: list[Obj]) -> list[tuple[str, bytes]]:
    out = []
    for doc in docs:
        prefix, plural = PLURALS[doc["kind"]]
        name = doc["metadata"]["name"]
        path = f"/{prefix}/namespaces/{namespace}/{plural}/{name}?fieldManager=ceiling&force=true"
        body = {**doc, "metadata": {**doc["metadata"], "namespace": namespace}}
        out.append((path, json.dumps(body).encode()))
    return out


async def main() -> None:
    previous = json.loads((RESULTS / "sync-1k.json").read_text())
    n = int(previous["figures"]["resources"])
    sync_tput = float(previous["figures"]["gitward_full_sync_objects_per_s"])
    local = cluster("bench-ceiling", fresh=True)
    docs = manifests(n, replicas=0)
    credentials = load(str(local.kubeconfig), None)
    headers = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
    authorization = await credentials.authorization()
    if authorization:
        headers["Authorization"] = authorization
    server = credentials.server.rstrip("/")
    stamp = int(time.time())
    results: dict[int, float] = {}
    async with await KubeClient.from_kubeconfig(str(local.kubeconfig)) as kube:
        connector = aiohttp.TCPConnector(ssl=credentials.ssl_context(), limit=128)
        async with aiohttp.ClientSession(connector=connector) as session:
            # An untimed first round warms the fresh API server up, as bench.sync does.
            await kube.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "warm-up"}}
            )
            await apply_all(session, server, headers, requests_for("warm-up", docs), 16)
            for level in LEVELS:
                ns = f"ceiling-{stamp}-{level}"
                await kube.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                )
                seconds = await apply_all(session, server, headers, requests_for(ns, docs), level)
                results[level] = n / seconds
                print(f"concurrency {level:>2}: {n / seconds:7.1f} applies/s")
    release(local)
    best_level = max(results, key=lambda k: results[k])
    best = results[best_level]
    figures = {
        "objects": n,
        "applies_per_s_by_concurrency": {str(k): round(v, 1) for k, v in results.items()},
        "ceiling_applies_per_s": round(best, 1),
        "ceiling_at_concurrency": best_level,
        "sync_1k_objects_per_s": sync_tput,
        "sync_1k_share_of_ceiling": round(sync_tput / best, 2),
    }
    write("ceiling", figures, {"ceiling_applies_per_s": round(best, 1)})
    print(
        table(
            ["ceiling", "applies/s", "share"],
            [(f"raw SSA, concurrency {k}", v, v / best) for k, v in results.items()]
            + [("gitward sync-1k (full sync)", sync_tput, sync_tput / best)],
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
